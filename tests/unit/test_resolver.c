/* Unit tests for engine/dns/resolver.c: the fixture backend behind the
 * resolver interface, question counting and the per-message time budget. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "dns/resolver.h"

static const char zone[] =
	"example.com. 300 IN TXT \"v=spf1 -all\"\n"
	"mail.example.com. 300 IN A 192.0.2.10\n"
	"$SERVFAIL broken.example.com.\n"
	"$TIMEOUT slow.example.com.\n";

static pst_dnsfix *load(void)
{
	pst_dnsfix *fix = NULL;
	assert_int_equal(pst_dnsfix_load_text("t.zone", zone, strlen(zone), &fix, NULL), 0);
	return fix;
}

static void fixture_answers_through_a_session(void **state)
{
	(void)state;
	pst_dnsfix *fix = load();
	pst_resolver *r = NULL;
	assert_int_equal(pst_resolver_new_fixture(fix, &r), 0);
	assert_string_equal(pst_resolver_kind(r), "fixture");
	pst_arena *a = pst_arena_new();
	pst_dns_session s;
	pst_dns_session_init(&s, r, a, 0, 0);
	pst_dns_answer ans;
	static const struct { const char *name; int type; pst_dns_status want; } cases[] = {
		{ "example.com", ns_t_txt, PST_DNS_NOERROR },
		{ "EXAMPLE.com.", ns_t_txt, PST_DNS_NOERROR },
		{ "example.com", ns_t_a, PST_DNS_NODATA },
		{ "nothing.example.com", ns_t_txt, PST_DNS_NXDOMAIN },
		{ "broken.example.com", ns_t_txt, PST_DNS_SERVFAIL },
		{ "slow.example.com", ns_t_a, PST_DNS_TIMEOUT },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_dns_status st = pst_dns_session_query(&s, cases[i].name, cases[i].type, &ans);
		if (st != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].name, pst_dns_status_name(st),
			         pst_dns_status_name(cases[i].want));
	}
	assert_int_equal(s.queries, 6);
	assert_int_equal(s.refused, 0);
	assert_int_equal(pst_dns_session_query(&s, "mail.example.com", ns_t_a, &ans), PST_DNS_NOERROR);
	assert_int_equal(ans.count, 1);
	assert_int_equal(ans.rrs[0].addr.family, 4);
	pst_arena_free(&a);
	pst_resolver_free(&r);
	assert_null(r);
	pst_dnsfix_free(&fix);
}

/* A backend that takes 30 ms a question, to spend a budget. */
static int slow_calls;
static pst_dns_status slow_query(void *impl, pst_arena *arena, const char *name, int rrtype,
                                 unsigned timeout_ms, pst_dns_answer *ans)
{
	(void)impl; (void)arena; (void)name; (void)timeout_ms;
	slow_calls++;
	struct timespec ts = { 0, 30 * 1000000L };
	nanosleep(&ts, NULL);
	memset(ans, 0, sizeof *ans);
	ans->rrtype = rrtype;
	ans->status = PST_DNS_NXDOMAIN;
	return ans->status;
}

static const pst_resolver_ops slow_ops = { slow_query, NULL, "slow" };

static void budget_bounds_a_message(void **state)
{
	(void)state;
	pst_resolver *r = NULL;
	assert_int_equal(pst_resolver_new(&slow_ops, NULL, &r), 0);
	pst_dns_session s;
	pst_dns_session_init(&s, r, NULL, 1000, 70);   /* 70 ms in all */
	pst_dns_answer ans;
	pst_dns_status st = PST_DNS_NXDOMAIN;
	int asked = 0;
	while (asked < 10 && (st = pst_dns_session_query(&s, "x.example.com", ns_t_a, &ans)) == PST_DNS_NXDOMAIN)
		asked++;
	assert_int_equal(st, PST_DNS_TIMEOUT);          /* the budget ran out */
	assert_in_range(slow_calls, 1, 3);        /* each takes >= 30 ms of the 70 */
	assert_int_equal(s.queries, (unsigned)slow_calls);
	assert_int_equal(s.refused, 1);
	pst_resolver_free(&r);
}

static void question_count_bounds_a_message(void **state)
{
	(void)state;
	pst_resolver *r = NULL;
	assert_int_equal(pst_resolver_new(&slow_ops, NULL, &r), 0);
	pst_dns_session s;
	pst_dns_session_init(&s, r, NULL, 1000, 0);
	assert_int_equal(s.max_queries, PST_DEFAULT_DNS_MAX_QUESTIONS);
	s.max_queries = 2;
	slow_calls = 0;
	pst_dns_answer ans;
	assert_int_equal(pst_dns_session_query(&s, "a.example.com", ns_t_a, &ans), PST_DNS_NXDOMAIN);
	assert_int_equal(pst_dns_session_query(&s, "b.example.com", ns_t_a, &ans), PST_DNS_NXDOMAIN);
	assert_int_equal(pst_dns_session_query(&s, "c.example.com", ns_t_a, &ans), PST_DNS_TIMEOUT);
	assert_int_equal(pst_dns_session_query(&s, "d.example.com", ns_t_a, &ans), PST_DNS_TIMEOUT);
	assert_int_equal(slow_calls, 2);          /* the backend saw only two */
	assert_int_equal(s.queries, 2);
	assert_int_equal(s.refused, 2);
	pst_resolver_free(&r);
}

static void no_resolver_is_servfail(void **state)
{
	(void)state;
	pst_dns_session s;
	pst_dns_session_init(&s, NULL, NULL, 0, 0);
	pst_dns_answer ans;
	assert_int_equal(pst_dns_session_query(&s, "example.com", ns_t_txt, &ans), PST_DNS_SERVFAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixture_answers_through_a_session),
		cmocka_unit_test(budget_bounds_a_message),
		cmocka_unit_test(question_count_bounds_a_message),
		cmocka_unit_test(no_resolver_is_servfail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
