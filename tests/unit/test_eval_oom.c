/* Allocation failure in engine/eval: every malloc, calloc and realloc made
 * by the library code is failed in turn (the program is linked with
 * ld --wrap), and each evaluation must either return -1 or give exactly
 * the outcome of a run without failures; nothing may leak (run it under
 * the sanitizers). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "eval/eval.h"
#include "lang/program.h"
#include "failalloc.h"
#include "util/arena.h"
#include "util/domain.h"
#include "util/ip.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))


/* ---- Facts ------------------------------------------------------------------ */

static const char *const hdr_names[] = { "X-M", "X-M", "Subject" };
static const char *const hdr_values[] = { "one", "two", "hello" };

static int fact(void *ctx, pst_fact f, pst_value *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	out->type = pst_fact_type(f);
	switch (f) {
	case PST_F_FROM_DISPLAY:
		out->known = 1;
		out->u.s.p = "Evil\r\nBcc: x";
		out->u.s.len = strlen(out->u.s.p);
		break;
	case PST_F_FROM_ADDRESS:
		out->known = 1;
		out->u.s.p = "alice@mail.example.org";
		out->u.s.len = strlen(out->u.s.p);
		break;
	case PST_F_CLIENT_IP:
		out->known = 1;
		pst_ip_parse("192.0.2.1", 9, &out->u.ip);
		break;
	case PST_F_SIZE:
		out->known = 1;
		out->u.n = 1234;
		break;
	default:
		break;
	}
	return 0;
}

static size_t hcount(void *ctx, const char *name)
{
	size_t n = 0;

	(void)ctx;
	for (size_t i = 0; i < N_ELEMS(hdr_names); i++)
		n += strcasecmp(hdr_names[i], name) == 0;
	return n;
}

static int hvalue(void *ctx, const char *name, size_t nth, const char **v, size_t *len)
{
	(void)ctx;
	for (size_t i = 0; i < N_ELEMS(hdr_names); i++)
		if (strcasecmp(hdr_names[i], name) == 0 && nth-- == 0) {
			*v = hdr_values[i];
			*len = strlen(*v);
			return 0;
		}
	return -1;
}

/* ---- The program ------------------------------------------------------------ */

static void allocation_failures(void **state)
{
	(void)state;
	int err;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)"^t", PCRE2_ZERO_TERMINATED, 0, &err, &off,
	                                 NULL);
	pst_regex re = { code, "^t", "", 0 };   /* interpreted (test_eval JITs) */
	pst_domainset *ds = pst_domainset_new();
	pst_list dl = { .kind = PST_LIST_DOMAINS };
	static const pst_tpl_part parts[] = {
		{ "from ", 5, 0, 0, 0, 0 }, { NULL, 0, 1, PST_F_FROM_DISPLAY, 0, 0 },
		{ " ip ", 4, 0, 0, 0, 0 }, { NULL, 0, 1, PST_F_CLIENT_IP, 0, 0 },
		{ " to ", 4, 0, 0, 0, 0 }, { NULL, 0, 1, PST_F_RCPT_DOMAIN, 0, 0 },
	};
	static const pst_template tpl = { parts, N_ELEMS(parts), "..." };
	pst_expr any_m = { .kind = PST_EXPR_TEST, .cmp = PST_CMP_MATCHES, .re = &re,
	                   .lhs = { .kind = PST_OPND_HEADER, .header = "X-M", .quant = PST_Q_ANY,
	                            .type = PST_T_STRING } };
	pst_expr addr_in = { .kind = PST_EXPR_TEST, .cmp = PST_CMP_IN, .list = &dl,
	                     .lhs = { .kind = PST_OPND_FACT, .fact = PST_F_FROM_ADDRESS,
	                              .type = PST_T_ADDRESS } };
	pst_expr size_gt = { .kind = PST_EXPR_TEST, .cmp = PST_CMP_GT,
	                     .lhs = { .kind = PST_OPND_FACT, .fact = PST_F_SIZE, .type = PST_T_NUMBER },
	                     .rhs = { .type = PST_T_NUMBER, .n = 10 } };
	pst_expr both = { .kind = PST_EXPR_AND, .a = &any_m, .b = &addr_in };
	pst_expr all3 = { .kind = PST_EXPR_AND, .a = &both, .b = &size_gt };
	pst_rule_action acts[] = {
		{ .kind = PST_ACT_ADD_HEADER, .name = "X-A", .value = &tpl },
		{ .kind = PST_ACT_REMOVE_HEADER, .name = "X-B", .re = &re },
		{ .kind = PST_ACT_LOG, .value = &tpl },
		{ .kind = PST_ACT_TAG, .name = "tagged" },
		{ .kind = PST_ACT_SET_FROM_DISPLAY, .value = &tpl },
		{ .kind = PST_ACT_PREPEND_SUBJECT, .value = &tpl },
		{ .kind = PST_ACT_QUARANTINE, .name = "Junk" },
	};
	pst_rule_action reject = { .kind = PST_ACT_REJECT, .text = &tpl };
	pst_program_rule rules[] = {
		{ .name = "audited", .file = "f", .line = 1, .audit = 1, .when = &all3,
		  .actions = acts, .nactions = N_ELEMS(acts) },
		{ .name = "tenant", .file = "f", .line = 2, .tenant = "other.test", .when = &all3,
		  .actions = &reject, .nactions = 1 },
		{ .name = "edits", .file = "f", .line = 3, .when = &all3, .actions = acts,
		  .nactions = 6 },
		{ .name = "decides", .file = "f", .line = 4, .when = &all3, .actions = acts + 3,
		  .nactions = 4 },
		{ .name = "late", .file = "f", .line = 5, .when = &all3, .actions = &reject,
		  .nactions = 1 },
	};
	pst_program prog = { .rules = rules, .nrules = N_ELEMS(rules) };
	pst_fact_source src = { fact, hcount, hvalue, NULL };
	pst_eval_opts opts = { .trace = 1 };
	pst_outcome want, o;
	pst_arena *wa = pst_arena_new();
	long n;

	assert_non_null(code);
	assert_non_null(ds);
	assert_int_equal(pst_domainset_add(ds, "example.org"), 0);
	dl.domains = ds;
	assert_non_null(wa);
	assert_int_equal(pst_eval_recipient(&prog, &src, "Bob@Example.NET", &opts, wa, &want), 0);
	assert_int_equal(want.decision, PST_DECIDE_QUARANTINE);
	assert_int_equal(want.nedits, 6);
	assert_int_equal(want.naudit, 1);
	assert_true(want.nwarnings >= 1);

	for (n = 1; n < 100000; n++) {
		pst_arena *a = pst_arena_new();
		int rc;

		assert_non_null(a);
		pst_failalloc_failed = 0;
		pst_failalloc_countdown = n;
		rc = pst_eval_recipient(&prog, &src, "Bob@Example.NET", &opts, a, &o);
		pst_failalloc_countdown = 0;
		if (rc != 0 && !pst_failalloc_failed)
			fail_msg("allocation %ld: got -1 without a failed allocation", n);
		if (rc == 0 && (o.decision != want.decision || o.nedits != want.nedits ||
		                o.naudit != want.naudit || o.nlogs != want.nlogs ||
		                o.ntags != want.ntags || o.nwarnings != want.nwarnings ||
		                o.ntrace != want.ntrace || strcmp(o.text, want.text) != 0 ||
		                strcmp(o.edits[0].value, want.edits[0].value) != 0))
			fail_msg("allocation %ld failed: got a different outcome (%s, %zu edits), "
			         "want -1 or the same (%s, %zu edits)", n, pst_decision_name(o.decision),
			         o.nedits, pst_decision_name(want.decision), want.nedits);
		pst_arena_free(&a);
		if (!pst_failalloc_failed)
			break;
	}
	print_message("allocation failures: %ld points tried\n", n - 1);
	assert_true(n > 10);
	pst_arena_free(&wa);
	pst_domainset_free(&ds);
	pcre2_code_free(code);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests_name("eval_oom", tests, NULL, NULL);
}
