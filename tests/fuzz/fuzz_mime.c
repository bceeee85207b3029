/*
 * fuzz_mime.c: libFuzzer target for the MIME structure walk
 * (engine/msg/mime.c).
 *
 * The input is a whole message. It is walked with the default limits and
 * again with tiny ones (so the limit paths run too). Invariants checked:
 * the walk returns 0 (no ENOMEM here); parts and attachments are within
 * the limits (an attachment is a part); every name is non-empty, valid
 * UTF-8 without control characters, and does not end in a dot or white
 * space; every type is "type/subtype" in lower case; neither set holds a
 * member twice; a walk that hit a limit says so; a message without
 * attachments lists no name and no type.
 */
#include "config.h"

#include <string.h>

#include "fuzz_common.h"
#include "msg/mime.h"
#include "util/arena.h"
#include "util/limits.h"

static void pst_fuzz_check_name(const char *s)
{
	size_t n = strlen(s);
	PST_FUZZ_CHECK(n > 0, "a name is not empty");
	PST_FUZZ_CHECK(pst_fuzz_utf8_ok((const unsigned char *)s, n), "a name is UTF-8");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		PST_FUZZ_CHECK(c >= 0x20 && c != 0x7f, "no control byte in a name");
		PST_FUZZ_CHECK(!(c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0),
		               "no C1 control in a name");
	}
	PST_FUZZ_CHECK(s[n - 1] != '.' && s[n - 1] != ' ' && s[n - 1] != '\t',
	               "a name does not end in a dot or white space");
}

static void pst_fuzz_check_type(const char *s)
{
	const char *slash = strchr(s, '/');
	PST_FUZZ_CHECK(slash != NULL && slash > s && slash[1] != '\0', "type/subtype");
	PST_FUZZ_CHECK(strchr(slash + 1, '/') == NULL, "one slash in a type");
	for (const char *p = s; *p; p++)
		PST_FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z') && (unsigned char)*p > 0x20 &&
		               (unsigned char)*p < 0x7f, "a type is lower-case ASCII");
}

static void pst_fuzz_check_distinct(const char **items, size_t n)
{
	if (n > 200)
		return;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			PST_FUZZ_CHECK(strcmp(items[i], items[j]) != 0, "set members distinct");
}

static void pst_fuzz_walk(const uint8_t *data, size_t size, const pst_mime_limits *lim,
                          size_t max_parts)
{
	pst_arena *arena = pst_arena_new();
	if (arena == NULL)
		return;
	pst_mime_result r;
	PST_FUZZ_CHECK(pst_mime_scan((const char *)data, size, lim, arena, &r) == 0, "walk");
	PST_FUZZ_CHECK(r.nparts >= 1 && r.nparts <= max_parts, "parts within the limit");
	PST_FUZZ_CHECK(r.count <= r.nparts, "an attachment is a part");
	PST_FUZZ_CHECK(r.ntypes <= r.count, "a type per attachment at most");
	PST_FUZZ_CHECK(r.error == NULL || *r.error, "an error has a reason");
	if (r.count == 0)
		PST_FUZZ_CHECK(r.nnames == 0 && r.ntypes == 0, "no attachment, no name, no type");
	for (size_t i = 0; i < r.nnames; i++)
		pst_fuzz_check_name(r.names[i]);
	for (size_t i = 0; i < r.ntypes; i++)
		pst_fuzz_check_type(r.types[i]);
	pst_fuzz_check_distinct(r.names, r.nnames);
	pst_fuzz_check_distinct(r.types, r.ntypes);
	pst_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pst_fuzz_walk(data, size, NULL, PST_MIME_MAX_PARTS);
	pst_mime_limits tiny = { .max_depth = 3, .max_parts = 8, .max_header_bytes = 200,
	                         .max_scan_bytes = 4096 };
	pst_fuzz_walk(data, size, &tiny, 8);
	return 0;
}
