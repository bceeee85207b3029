/* Unit tests for the milter front end's RCPT-time decision
 * (engine/milter/rcpt.c): envelope rejects and tempfails with the rule's
 * reply, undecided recipients kept, the tenant split and its state, and
 * errors answered 451 4.3.0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "postern.h"
#include "milter/rcpt.h"

static const char rules[] =
	"list relays = ips { 192.0.2.0/24 };\n"
	"tenant \"a.example\" {\n"
	"  rule a_relays { when not client.ip in relays then reject 550 5.7.1 \"a: not ${client.ip}\"; }\n"
	"}\n"
	"tenant \"b.example\" {\n"
	"  rule b_header { when header \"X-B\" exists then reject; }\n"
	"}\n"
	"rule slow { when rcpt == \"slow@c.example\" then tempfail 451 4.7.1 \"slow down\"; }\n"
	"rule hold { when rcpt == \"hold@c.example\" then quarantine; }\n";

static pst_policy *compile(const char *text)
{
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	int rc = pst_policy_compile_text("t.rules", text, strlen(text), NULL, &p, &rep);
	if (rc < 0)
		print_error("%s", rep.text ? rep.text : "");
	pst_report_clear(&rep);
	assert_int_equal(rc, 0);
	return p;
}

static pst_milter_rcpt_outcome decide(const pst_policy *p, const char *ip, const char *rcpt,
                                      int split, pst_milter_rcpt_state *st)
{
	pst_milter_rcpt_in in = { .client_ip = ip, .helo = "mx.example.net",
	                          .mail_from = "ann@example.net", .rcpt = rcpt, .tenant_split = split };
	pst_milter_rcpt_outcome out;
	pst_milter_rcpt_decide(p, NULL, &in, st, &out);
	return out;
}

static void envelope_decisions(void **state)
{
	(void)state;
	pst_policy *p = compile(rules);
	pst_milter_rcpt_state st = { 0 };
	pst_milter_rcpt_outcome o = decide(p, "203.0.113.1", "x@a.example", 1, &st);
	assert_false(o.keep);
	assert_int_equal(o.o.action, PST_REJECT);
	assert_int_equal(o.o.code, 550);
	assert_string_equal(o.o.enhanced, "5.7.1");
	assert_string_equal(o.o.text, "a: not 203.0.113.1");
	assert_string_equal(o.o.rule, "a_relays");
	assert_string_equal(o.decision, "reject");
	assert_string_equal(o.tenant, "a.example");
	assert_string_equal(o.o.why, "");
	assert_false(st.fixed);                 /* a refused recipient fixes nothing */

	o = decide(p, "203.0.113.1", "slow@c.example", 1, &st);
	assert_false(o.keep);
	assert_int_equal(o.o.action, PST_TEMPFAIL);
	assert_int_equal(o.o.code, 451);
	assert_string_equal(o.o.enhanced, "4.7.1");
	assert_string_equal(o.o.text, "slow down");
	assert_false(st.fixed);

	/* quarantine and accept are kept: the end of the message answers. */
	o = decide(p, "203.0.113.1", "hold@c.example", 1, &st);
	assert_true(o.keep);
	assert_string_equal(o.decision, "quarantine");
	assert_true(st.fixed);
	assert_string_equal(st.tenant, "");
	pst_policy_free(&p);
}

static void undecided_kept(void **state)
{
	(void)state;
	pst_policy *p = compile(rules);
	pst_milter_rcpt_state st = { 0 };
	pst_milter_rcpt_outcome o = decide(p, "203.0.113.1", "x@B.Example", 1, &st);
	assert_true(o.keep);
	assert_string_equal(o.decision, "undecided");
	assert_string_equal(o.o.rule, "");
	assert_true(st.fixed);
	assert_string_equal(st.tenant, "b.example");
	pst_policy_free(&p);
}

static void tenant_split(void **state)
{
	(void)state;
	pst_policy *p = compile(rules);
	pst_milter_rcpt_state st = { 0 };
	/* refused first (a.example from outside): nothing fixed */
	assert_false(decide(p, "203.0.113.1", "x@a.example", 1, &st).keep);
	assert_true(decide(p, "203.0.113.1", "y@b.example", 1, &st).keep);
	pst_milter_rcpt_outcome o = decide(p, "192.0.2.1", "z@a.example", 1, &st);
	assert_false(o.keep);
	assert_int_equal(o.o.action, PST_TEMPFAIL);
	assert_int_equal(o.o.code, PST_MILTER_SPLIT_CODE);
	assert_string_equal(o.o.enhanced, "4.5.3");
	assert_string_equal(o.o.text, PST_MILTER_SPLIT_TEXT);
	assert_string_equal(o.decision, "tempfail");
	assert_string_equal(o.o.rule, "");
	assert_string_equal(o.o.why,
	                    "tenant split: the transaction's tenant is b.example, this recipient's a.example");
	assert_string_equal(st.tenant, "b.example");
	/* no tenant differs from b.example too; a subdomain of it does not */
	assert_false(decide(p, "192.0.2.1", "w@c.example", 1, &st).keep);
	assert_true(decide(p, "192.0.2.1", "v@mail.b.example", 1, &st).keep);
	/* off: kept whatever the tenant */
	assert_true(decide(p, "192.0.2.1", "z@a.example", 0, &st).keep);
	assert_true(decide(p, "192.0.2.1", "w@c.example", 0, &st).keep);
	/* a new transaction: the state zeroed */
	memset(&st, 0, sizeof st);
	assert_true(decide(p, "192.0.2.1", "w@c.example", 1, &st).keep);
	assert_false(decide(p, "192.0.2.1", "z@a.example", 1, &st).keep);
	pst_policy_free(&p);
}

static void errors_tempfail(void **state)
{
	(void)state;
	pst_policy *p = compile(rules);
	pst_milter_rcpt_state st = { 0 };
	pst_milter_rcpt_outcome o = decide(p, "not-an-ip", "w@c.example", 1, &st);
	assert_false(o.keep);
	assert_int_equal(o.o.action, PST_TEMPFAIL);
	assert_int_equal(o.o.code, 451);
	assert_string_equal(o.o.enhanced, "4.3.0");
	assert_non_null(strstr(o.o.why, "the recipient cannot be processed: client IP"));
	assert_false(st.fixed);
	pst_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope_decisions),
		cmocka_unit_test(undecided_kept),
		cmocka_unit_test(tenant_split),
		cmocka_unit_test(errors_tempfail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
