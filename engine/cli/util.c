/*
 * util.c: what the postern subcommands share: compiling a rule file with
 * its diagnostics on stderr, reading a message, writing a file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "postern.h"
#include "cli/cli.h"
#include "util/buf.h"
#include "util/fdio.h"

int pst_cli_compile(const char *path, pst_policy **out)
{
	pst_compile_report rep = { 0, 0, NULL };
	int rc = pst_policy_compile_file(path, out, &rep);
	if (rep.text && *rep.text)
		fputs(rep.text, stderr);
	if (rc < 0)
		fprintf(stderr, "postern: %s: %zu error%s, %zu warning%s\n", path,
		        rep.errors, rep.errors == 1 ? "" : "s", rep.warnings, rep.warnings == 1 ? "" : "s");
	pst_report_clear(&rep);
	return rc;
}

int pst_cli_read_message(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "postern: cannot open %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "postern: %s is a directory, not a message; postern replay reads "
		        "every message of a Maildir or a folder\n", path);
		if (f != stdin)
			fclose(f);
		return EX_NOINPUT;
	}
	pst_buf b = PST_BUF_INIT;
	char chunk[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + n > max) {
			fprintf(stderr, "postern: %s: message larger than %zu bytes\n", path, max);
			rc = EX_DATAERR;
			break;
		}
		if (pst_buf_append(&b, chunk, n) < 0) {
			fprintf(stderr, "postern: out of memory reading %s\n", path);
			rc = EX_OSERR;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "postern: cannot read %s: %s\n", path, strerror(errno));
		rc = EX_IOERR;
	}
	if (f != stdin)
		fclose(f);
	if (rc != 0) {
		pst_buf_free(&b);
		return rc;
	}
	*out = pst_buf_steal(&b, len);
	if (*out == NULL) {
		fprintf(stderr, "postern: out of memory reading %s\n", path);
		return EX_OSERR;
	}
	return 0;
}

int pst_cli_write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "postern: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (pst_write_all(fd, data, len) < 0) {
		fprintf(stderr, "postern: cannot write %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "postern: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}
