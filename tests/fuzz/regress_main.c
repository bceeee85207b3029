/*
 * regress_main.c: the make-check driver of the fuzz regression inputs.
 *
 * Linked with one fuzz target's source instead of libFuzzer, it feeds every
 * file under $top_srcdir/tests/fuzz/regress/<target>/ to that target's
 * LLVMFuzzerTestOneInput (after LLVMFuzzerInitialize, when the target has
 * one) and prints one TAP line per file. A regression crashes (an abort, or
 * a sanitizer report in the sanitizer build), which the TAP driver counts
 * as a failure; an input that returns is "ok".
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int pst_regress_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned char *pst_regress_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);
	while (buf != NULL) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		unsigned char *nb = realloc(buf, cap * 2);
		if (nb == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/fuzz/regress/%s", top ? top : ".", PST_FUZZ_TARGET);
	DIR *d = opendir(dir);
	if (d == NULL) {
		printf("1..0 # SKIP no directory %s\n", dir);
		return 0;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *names);
		if (nn == NULL || (nn[n] = strdup(e->d_name)) == NULL) {
			printf("Bail out! out of memory\n");
			return 1;
		}
		names = nn;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, pst_regress_cmp);

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	printf("1..%zu\n", n);
	fflush(stdout);
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		size_t len = 0;
		unsigned char *buf = pst_regress_read(path, &len);
		if (buf == NULL) {
			printf("not ok %zu - %s/%s: cannot read\n", i + 1, PST_FUZZ_TARGET, names[i]);
			failed = 1;
		} else {
			LLVMFuzzerTestOneInput(buf, len);
			free(buf);
			printf("ok %zu - %s/%s\n", i + 1, PST_FUZZ_TARGET, names[i]);
		}
		fflush(stdout);
		free(names[i]);
	}
	free(names);
	return failed;
}
