/*
 * folder.c: the quarantine folder name rule (folder.h).
 */
#include "config.h"

#include <string.h>

#include "util/folder.h"
#include "util/limits.h"

static int folder_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	       || c == '-' || c == '_' || c == '.';
}

const char *pst_folder_name_problem(const char *folder)
{
	const char *f = folder[0] == '.' ? folder + 1 : folder;
	size_t n = strlen(f);

	if (n == 0)
		return "an empty name";
	if (n > PST_DELIVER_MAX_FOLDER)
		return "longer than 100 octets";
	if (f[0] == '.' || f[n - 1] == '.')
		return "a leading or trailing '.'";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c == '.' && f[i + 1] == '.')
			return "\"..\"";
		if (c == '/')
			return "a '/'";
		if (c == ' ' || c == '\t')
			return "white space";
		if (!folder_char(c))
			return "a character not allowed";
	}
	return NULL;
}
