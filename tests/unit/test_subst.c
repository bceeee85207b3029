/* Unit tests for engine/eval/subst.c: a substitute's regex match replaced
 * by its replacement, with the match's groups as $0-$9. Table-driven. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "eval/subst.h"

/* A replacement written as the tests read it: "$N" a group, the rest
 * literal (the evaluator builds pieces from the rule's template). */
static size_t pieces_of(const char *r, pst_subst_piece *pc, size_t max)
{
	size_t n = 0;
	while (*r && n < max) {
		if (r[0] == '$' && r[1] >= '0' && r[1] <= '9') {
			pc[n++] = (pst_subst_piece){ NULL, 0, r[1] - '0' };
			r += 2;
			continue;
		}
		size_t k = strcspn(r + 1, "$") + 1;
		pc[n++] = (pst_subst_piece){ r, k, -1 };
		r += k;
	}
	return n;
}

static const struct subst_case {
	const char *pattern;
	uint32_t opts;
	int global;
	const char *replacement;
	const char *in;
	int rc;                       /* 1 substituted, 0 no match, -1 error */
	const char *out;
} cases[] = {
	{ ",?\\s*Acme Corp", PCRE2_CASELESS, 0, "", "Jane Roe, ACME corp", 1, "Jane Roe" },
	{ "^\\[EXT\\]\\s*", 0, 0, "", "[EXT]  Invoice", 1, "Invoice" },
	{ "^\\[EXT\\]\\s*", 0, 0, "", "Invoice [EXT]", 0, NULL },
	{ "o", 0, 0, "0", "foo", 1, "f0o" },                   /* first match only */
	{ "o", 0, 1, "0", "foo", 1, "f00" },                   /* g: every match */
	{ "(\\w+)@(\\w+)", 0, 0, "$2 at $1 ($0)", "x ann@ex y", 1, "x ex at ann (ann@ex) y" },
	{ "a(x)?b", 0, 0, "[$1]", "cab", 1, "c[]" },           /* unset group: empty */
	{ "a", 0, 0, "[$7]", "a", 1, "[]" },                   /* a group the regex lacks */
	{ "^(.*)$", 0, 0, "<$1>", "a\x07" "b\x7f", 1, "<a?b?>" }, /* control bytes: '?' */
	{ "x*", 0, 1, "-", "abc", 1, "-a-b-c-" },              /* empty matches, g */
	{ "x*", 0, 1, "-", "\xc3\xa9", 1, "-\xc3\xa9-" },      /* one character on, not a byte */
	{ "", 0, 0, "$$", "", 1, "$$" },                       /* literal pieces as given */
	{ "(a)", 0, 1, "$1$1$1$1$1$1$1$1", "aaaaaaaaaaaa", -1, NULL }, /* over max bytes */
};

static void table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct subst_case *t = &cases[i];
		int ecode;
		PCRE2_SIZE eoff;
		pcre2_code *code = pcre2_compile((PCRE2_SPTR)t->pattern, PCRE2_ZERO_TERMINATED,
		                                 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | t->opts, &ecode,
		                                 &eoff, NULL);
		assert_non_null(code);
		pst_regex re = { code, t->pattern, t->global ? "g" : "", 0 };
		pst_subst_piece pc[16];
		pst_subst s = { &re, 100000, t->global, pc, pieces_of(t->replacement, pc, 16) };
		pst_buf out = PST_BUF_INIT;
		int err = 99;
		int rc = pst_subst_apply(&s, t->in, strlen(t->in), 64, &out, &err);
		if (rc != t->rc)
			fail_msg("case %zu /%s/ on \"%s\": got rc %d, want %d", i, t->pattern, t->in, rc, t->rc);
		if (t->out && strcmp(pst_buf_str(&out), t->out) != 0)
			fail_msg("case %zu /%s/ on \"%s\": got \"%s\", want \"%s\"", i, t->pattern, t->in,
			         pst_buf_str(&out), t->out);
		if (rc != 1 && out.len != 0)
			fail_msg("case %zu: got %zu bytes out, want none (rc %d)", i, out.len, rc);
		if (rc == -1 && err != 0)
			fail_msg("case %zu: got err %d, want 0 (too long)", i, err);
		pst_buf_free(&out);
		pcre2_code_free(code);
	}
}

/* The output is appended: what out held stays, and stays on failure. */
static void appends(void **state)
{
	(void)state;
	int ecode;
	PCRE2_SIZE eoff;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)"b", 1, PCRE2_UTF, &ecode, &eoff, NULL);
	pst_regex re = { code, "b", "", 0 };
	pst_subst_piece pc = { "X", 1, -1 };
	pst_subst s = { &re, 100000, 0, &pc, 1 };
	pst_buf out = PST_BUF_INIT;
	int err;
	assert_int_equal(pst_buf_puts(&out, "keep:"), 0);
	assert_int_equal(pst_subst_apply(&s, "abc", 3, 64, &out, &err), 1);
	assert_string_equal(pst_buf_str(&out), "keep:aXc");
	assert_int_equal(pst_subst_apply(&s, "abcbbbbb", 8, 2, &out, &err), -1);
	assert_string_equal(pst_buf_str(&out), "keep:aXc");
	pst_buf_free(&out);
	pcre2_code_free(code);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
