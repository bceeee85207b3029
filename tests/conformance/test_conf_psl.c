/* Conformance: the PSL project's test vectors ($POSTERN_CORPORA/psl/
 * test_psl.tsv, checkPublicSuffix(input, registrable domain)) against our
 * reader over the installed list (Debian publicsuffix, the same version
 * as the corpus copy). Expected U-labels are compared in
 * A-label form, which is the form our organizational domains take.
 * Run "psl" (case: the input) of the harness in conf.h: prints
 * "# psl: N/M agree (K listed divergences)", fails on a disagreement not
 * in tests/conformance/divergences.txt and on a stale listing; skipped,
 * and saying so, without the corpus. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/psl.h"
#include "util/domain.h"
#include "util/limits.h"
#include "conf.h"

/* One vector: 1 when our answer matches. */
static int check_vector(const pst_psl *p, const char *in, const char *want, char *got_text,
                        size_t got_len)
{
	char buf[PST_MAX_DOMAIN_BYTES + 1];
	const char *got = strcmp(in, "(null)") == 0 ? NULL
	                  : pst_psl_org_domain(p, in, buf, sizeof buf);
	char *want_norm = NULL;
	int ok;

	snprintf(got_text, got_len, "%s", got ? got : "(null)");
	if (strcmp(want, "(null)") == 0)
		return got == NULL;
	want_norm = pst_domain_normalize(want, strlen(want), NULL);
	ok = got != NULL && want_norm != NULL && strcmp(got, want_norm) == 0;
	free(want_norm);
	return ok;
}

static void psl_vectors(void **state)
{
	(void)state;
	char dir[4096], path[4200];
	size_t total, failures;
	pst_psl *p = NULL;
	pst_buf err = PST_BUF_INIT;
	conf_run *run;
	char *text, *save = NULL;

	conf_corpus_require("psl", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/test_psl.tsv", dir);
	text = conf_read_file(path, NULL);
	assert_non_null(text);
	if (pst_psl_load_file(NULL, &p, &err) != 0)
		fail_msg("%s", pst_buf_str(&err));
	pst_buf_free(&err);
	run = conf_run_begin("psl");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[2], got[PST_MAX_DOMAIN_BYTES + 8], detail[PST_MAX_DOMAIN_BYTES * 2 + 32];
		if (line[0] == '#' || conf_split_tabs(line, f, 2) != 2)
			continue;
		int ok = check_vector(p, f[0], f[1], got, sizeof got);
		snprintf(detail, sizeof detail, "got %s, want %s", got, f[1]);
		conf_case(run, f[0], ok, detail);
	}
	printf("# psl: list rules %zu, skipped %zu\n", pst_psl_rule_count(p), pst_psl_skipped(p));
	total = conf_run_total(run);
	failures = conf_run_end(run);
	pst_psl_free(&p);
	free(text);
	assert_true(total > 0);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(psl_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
