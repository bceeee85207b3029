/* Unit tests for deciding from the envelope alone through the public API
 * (postern.h): pst_message_evaluate_envelope() on a message made from no
 * bytes, pst_verdict.undecided, and pst_policy_tenant_of(). Every decided
 * verdict is checked against pst_message_evaluate() on a whole message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "postern.h"

static const char message[] =
	"From: Ann <ann@example.net>\r\n"
	"To: bob@agency.example\r\n"
	"Subject: hello there\r\n"
	"\r\n"
	"body\r\n";

static pst_policy *compile(const char *text)
{
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	int rc = pst_policy_compile_text("t.rules", text, strlen(text), NULL, &p, &rep);
	if (rc < 0)
		print_error("unexpected diagnostics:\n%s", rep.text ? rep.text : "(none)");
	pst_report_clear(&rep);
	assert_int_equal(rc, 0);
	return p;
}

/* A DNS fixture written to a temporary file: no test asks live DNS. */
static pst_dns *fixture(const char *zone)
{
	char path[] = "/tmp/postern-envapi-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zone, strlen(zone)), (ssize_t)strlen(zone));
	close(fd);
	pst_dns *dns = NULL;
	char *errors = NULL;
	int rc = pst_dns_load_fixture(path, &dns, &errors);
	unlink(path);
	if (rc < 0)
		fail_msg("fixture: %s", errors ? errors : "?");
	return dns;
}

typedef struct run {
	pst_message *env;       /* made from 0 bytes, evaluated from the envelope */
	pst_message *full;      /* the whole message, evaluated */
} run;

/* Evaluate rcpt both ways under p, with the client ip and MAIL FROM. */
static run both(const pst_policy *p, const pst_dns *dns, const char *ip, const char *rcpt)
{
	const char *rcpts[] = { rcpt };
	pst_envelope env = { .client_ip = ip, .helo = "mx.example.net", .mail_from = "ann@example.net",
	                     .rcpts = rcpts, .nrcpts = 1 };
	pst_message_opts opts = { .dns = dns, .no_envelope_fields = 1 };
	run r = { NULL, NULL };
	char err[256] = "";
	assert_int_equal(pst_message_new(p, "", 0, &env, &opts, &r.env, err, sizeof err), 0);
	assert_int_equal(pst_message_evaluate_envelope(r.env), 0);
	assert_int_equal(pst_message_new(p, message, sizeof message - 1, &env, &opts, &r.full, err,
	                                 sizeof err), 0);
	assert_int_equal(pst_message_evaluate(r.full), 0);
	return r;
}

static void run_free(run *r)
{
	pst_message_free(&r->env);
	pst_message_free(&r->full);
}

/* A decided envelope verdict is the full evaluation's: rule and reply. */
static void assert_same(const run *r)
{
	const pst_verdict *e = pst_message_verdict(r->env, 0);
	const pst_verdict *f = pst_message_verdict(r->full, 0);
	assert_non_null(e);
	assert_non_null(f);
	assert_false(e->undecided);
	assert_false(f->undecided);
	assert_int_equal(e->action, f->action);
	assert_int_equal(e->code, f->code);
	assert_string_equal(e->enhanced, f->enhanced);
	assert_string_equal(e->text, f->text);
	if (f->rule)
		assert_string_equal(e->rule, f->rule);
	else
		assert_null(e->rule);
}

static const char tenant_rules[] =
	"list inside = ips { 192.0.2.0/24 };\n"
	"tenant \"agency.example\" {\n"
	"  rule allowlist { when not client.ip in inside then reject 550 5.7.1 \"no: ${client.ip} for ${rcpt}\"; }\n"
	"}\n"
	"rule tag_all { when true then add header \"X-Seen\" \"${rcpt.domain}\"; }\n";

static void envelope_reject_with_reply(void **state)
{
	(void)state;
	pst_policy *p = compile(tenant_rules);
	run r = both(p, NULL, "203.0.113.9", "bob@agency.example");
	const pst_verdict *v = pst_message_verdict(r.env, 0);
	assert_int_equal(v->action, PST_REJECT);
	assert_int_equal(v->code, 550);
	assert_string_equal(v->enhanced, "5.7.1");
	assert_string_equal(v->text, "no: 203.0.113.9 for bob@agency.example");
	assert_string_equal(v->rule, "allowlist");
	assert_same(&r);
	/* Rendering needs the whole message. */
	char *out = NULL, err[128] = "";
	size_t len = 0;
	assert_int_equal(pst_message_render(r.env, 0, &out, &len, err, sizeof err), -1);
	assert_null(out);
	run_free(&r);

	/* Inside the list, and outside the tenant: accepted, decided. */
	r = both(p, NULL, "192.0.2.7", "bob@agency.example");
	assert_int_equal(pst_message_verdict(r.env, 0)->action, PST_ACCEPT);
	assert_same(&r);
	run_free(&r);
	r = both(p, NULL, "203.0.113.9", "carol@example.org");
	assert_int_equal(pst_message_verdict(r.env, 0)->action, PST_ACCEPT);
	assert_same(&r);
	run_free(&r);
	pst_policy_free(&p);
}

/* A header rule that may decide, before the envelope rule: undecided,
 * unless the recipient is outside its tenant. */
static void stops_at_header_rule(void **state)
{
	(void)state;
	pst_policy *p = compile(
		"tenant \"agency.example\" {\n"
		"  rule subj { when subject contains \"hello\" then quarantine; }\n"
		"}\n"
		"rule ip { when client.ip == 203.0.113.9 then reject 554 5.7.1 \"go away\"; }\n");
	run r = both(p, NULL, "203.0.113.9", "bob@agency.example");
	const pst_verdict *v = pst_message_verdict(r.env, 0);
	assert_true(v->undecided);
	/* The message decides otherwise: the header rule quarantines. */
	assert_int_equal(pst_message_verdict(r.full, 0)->action, PST_QUARANTINE);
	/* The whole evaluation replaces the envelope's verdicts. */
	pst_message *m = r.env;
	assert_int_equal(pst_message_evaluate(m), 0);
	v = pst_message_verdict(m, 0);
	assert_false(v->undecided);
	assert_int_equal(v->action, PST_REJECT);    /* no Subject in 0 bytes */
	run_free(&r);

	r = both(p, NULL, "203.0.113.9", "carol@example.org");
	v = pst_message_verdict(r.env, 0);
	assert_int_equal(v->action, PST_REJECT);
	assert_string_equal(v->text, "go away");
	assert_same(&r);
	run_free(&r);
	pst_policy_free(&p);
}

/* Edit-only and audit header rules cannot decide: passed over. */
static void skips_edit_and_audit_rules(void **state)
{
	(void)state;
	pst_policy *p = compile(
		"rule mark { when subject contains \"hello\" then add header \"X-Hello\" \"yes\", log \"hi\"; }\n"
		"rule watch mode audit { when header \"From\" contains \"ann\" then reject; }\n"
		"rule ip { when client.ip == 203.0.113.9 then tempfail 451 4.7.1 \"later\"; }\n");
	run r = both(p, NULL, "203.0.113.9", "bob@agency.example");
	const pst_verdict *v = pst_message_verdict(r.env, 0);
	assert_int_equal(v->action, PST_TEMPFAIL);
	assert_string_equal(v->text, "later");
	assert_same(&r);
	/* The full evaluation has the edit and the audit hit; the envelope's not. */
	assert_int_equal(pst_message_verdict(r.full, 0)->nedits, 1);
	assert_int_equal(pst_message_verdict(r.full, 0)->naudit, 1);
	assert_int_equal(v->nedits, 0);
	run_free(&r);
	pst_policy_free(&p);
}

/* A text or a right-hand fact that reads the message: not envelope-only. */
static void message_facts_in_texts_and_right_sides(void **state)
{
	(void)state;
	pst_policy *p = compile(
		"rule ip { when client.ip == 203.0.113.9 then reject \"from ${from.domain}\"; }\n");
	run r = both(p, NULL, "203.0.113.9", "bob@agency.example");
	assert_true(pst_message_verdict(r.env, 0)->undecided);
	assert_string_equal(pst_message_verdict(r.full, 0)->text, "from example.net");
	run_free(&r);
	pst_policy_free(&p);

	p = compile("rule align { when envelope.from.domain != from.domain then reject; }\n");
	r = both(p, NULL, "203.0.113.9", "bob@agency.example");
	assert_true(pst_message_verdict(r.env, 0)->undecided);
	run_free(&r);
	pst_policy_free(&p);

	p = compile("rule all_of_them { when true then reject 550 5.7.1 \"${client.helo} ${envelope.from}\"; }\n");
	r = both(p, NULL, "203.0.113.9", "bob@agency.example");
	assert_int_equal(pst_message_verdict(r.env, 0)->action, PST_REJECT);
	assert_string_equal(pst_message_verdict(r.env, 0)->text, "mx.example.net ann@example.net");
	assert_same(&r);
	run_free(&r);
	pst_policy_free(&p);
}

static const char spf_zone[] =
	"example.net. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n";

/* SPF is an envelope fact: decided at RCPT time with the DNS fixture. */
static void spf_decided_from_envelope(void **state)
{
	(void)state;
	pst_dns *dns = fixture(spf_zone);
	pst_policy *p = compile(
		"rule spf_fail { when spf == fail then reject 550 5.7.23 \"SPF ${spf} for ${spf.domain}\"; }\n");
	run r = both(p, dns, "203.0.113.9", "bob@agency.example");
	const pst_verdict *v = pst_message_verdict(r.env, 0);
	assert_int_equal(v->action, PST_REJECT);
	assert_string_equal(v->enhanced, "5.7.23");
	assert_string_equal(v->text, "SPF fail for example.net");
	assert_true(pst_message_dns_queries(r.env) > 0);
	assert_string_equal(pst_message_auth_result(r.env, "spf"), "fail");
	assert_same(&r);
	run_free(&r);

	r = both(p, dns, "192.0.2.1", "bob@agency.example");
	assert_int_equal(pst_message_verdict(r.env, 0)->action, PST_ACCEPT);
	assert_same(&r);
	run_free(&r);
	pst_policy_free(&p);
	pst_dns_free(&dns);
}

/* Several recipients: each decided on its own, in the envelope's order. */
static void every_recipient(void **state)
{
	(void)state;
	pst_policy *p = compile(
		"tenant \"a.example\" { rule hdr { when header \"X-A\" exists then reject; } }\n"
		"tenant \"b.example\" { rule ip { when client.ip == 203.0.113.9 then reject; } }\n");
	const char *rcpts[] = { "x@a.example", "y@b.example", "z@c.example" };
	pst_envelope env = { .client_ip = "203.0.113.9", .mail_from = "", .rcpts = rcpts, .nrcpts = 3 };
	pst_message *m = NULL;
	assert_int_equal(pst_message_new(p, NULL, 0, &env, NULL, &m, NULL, 0), 0);
	assert_null(pst_message_verdict(m, 0));
	assert_int_equal(pst_message_evaluate_envelope(m), 0);
	assert_int_equal(pst_message_rcpt_count(m), 3);
	assert_true(pst_message_verdict(m, 0)->undecided);
	assert_false(pst_message_verdict(m, 1)->undecided);
	assert_int_equal(pst_message_verdict(m, 1)->action, PST_REJECT);
	assert_false(pst_message_verdict(m, 2)->undecided);
	assert_int_equal(pst_message_verdict(m, 2)->action, PST_ACCEPT);
	assert_null(pst_message_verdict(m, 2)->rule);
	pst_message_free(&m);
	pst_policy_free(&p);
}

static void tenant_of(void **state)
{
	(void)state;
	pst_policy *p = compile(
		"tenant \"example.com\" { rule a { when true then tag \"a\"; } }\n"
		"tenant \"Sub.Example.com\" { rule b { when true then tag \"b\"; } }\n"
		"tenant \"bücher.example\" { rule c { when true then tag \"c\"; } }\n"
		"rule d { when true then tag \"d\"; }\n");
	const char *t = "x";
	assert_int_equal(pst_policy_tenant_of(p, "a@x.SUB.example.COM.", &t), 0);
	assert_string_equal(t, "sub.example.com");
	assert_int_equal(pst_policy_tenant_of(p, "a@sub.example.com", &t), 0);
	assert_string_equal(t, "sub.example.com");
	assert_int_equal(pst_policy_tenant_of(p, "a@other.example.com", &t), 0);
	assert_string_equal(t, "example.com");
	assert_int_equal(pst_policy_tenant_of(p, "a@Example.Com", &t), 0);
	assert_string_equal(t, "example.com");
	assert_int_equal(pst_policy_tenant_of(p, "a@BÜCHER.example", &t), 0);
	assert_string_equal(t, "xn--bcher-kva.example");
	assert_int_equal(pst_policy_tenant_of(p, "a@xn--bcher-kva.example", &t), 0);
	assert_string_equal(t, "xn--bcher-kva.example");
	/* The last '@' counts, as for rcpt.domain. */
	assert_int_equal(pst_policy_tenant_of(p, "\"a@example.com\"@example.org", &t), 0);
	assert_null(t);
	t = "x";
	assert_int_equal(pst_policy_tenant_of(p, "a@notexample.com", &t), 0);
	assert_null(t);
	t = "x";
	assert_int_equal(pst_policy_tenant_of(p, "postmaster", &t), 0);
	assert_null(t);
	t = "x";
	assert_int_equal(pst_policy_tenant_of(p, "", &t), 0);
	assert_null(t);
	pst_policy_free(&p);

	p = compile("rule d { when true then tag \"d\"; }\n");
	t = "x";
	assert_int_equal(pst_policy_tenant_of(p, "a@example.com", &t), 0);
	assert_null(t);
	pst_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope_reject_with_reply),
		cmocka_unit_test(stops_at_header_rule),
		cmocka_unit_test(skips_edit_and_audit_rules),
		cmocka_unit_test(message_facts_in_texts_and_right_sides),
		cmocka_unit_test(spf_decided_from_envelope),
		cmocka_unit_test(every_recipient),
		cmocka_unit_test(tenant_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
