/* Unit tests for the public API (postern.h): policies from text, messages,
 * verdicts, rendering and reports, with ownership and error paths. */
#include <errno.h>
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
#include "util/buf.h"

static const char rules[] =
	"list inside = ips { 192.0.2.0/24, 2001:db8::/32 };\n"
	"tenant \"agency.example\" {\n"
	"  rule allowlist { when not client.ip in inside then reject 550 5.7.1 \"no: ${client.ip}\"; }\n"
	"}\n"
	"rule tag_all { when true then add header \"X-Seen\" \"${rcpt.domain}\"; }\n"
	"rule audit_me mode audit { when subject contains \"hello\" then reject; }\n";

static const char message[] =
	"From: Ann <ann@example.net>\r\n"
	"To: bob@example.org\r\n"
	"Subject: hello there\r\n"
	"\r\n"
	"body\r\n";

/* A DNS fixture written to a temporary file: no test asks live DNS. */
static pst_dns *fixture(const char *zone)
{
	char path[] = "/tmp/postern-api-XXXXXX";
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

static const char zone[] =
	"example.net. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	"_dmarc.example.net. 300 IN TXT \"v=DMARC1; p=reject\"\n";

static pst_policy *compile(const char *text)
{
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	int rc = pst_policy_compile_text("t.rules", text, strlen(text), NULL, &p, &rep);
	if (rc < 0)
		print_error("unexpected diagnostics:\n%s", rep.text ? rep.text : "(none)");
	pst_report_clear(&rep);
	assert_int_equal(rc, 0);
	assert_non_null(p);
	return p;
}

static void decides_each_recipient(void **state)
{
	(void)state;
	pst_policy *p = compile(rules);
	assert_int_equal(pst_policy_rule_count(p), 3);
	pst_rule_info info;
	assert_int_equal(pst_policy_rule(p, 0, &info), 0);
	assert_string_equal(info.name, "allowlist");
	assert_string_equal(info.tenant, "agency.example");
	assert_int_equal(pst_policy_rule(p, 2, &info), 0);
	assert_true(info.audit);
	assert_int_equal(pst_policy_rule(p, 3, &info), -1);

	const char *rcpts[] = { "alice@agency.example", "bob@example.org" };
	pst_envelope env = { .client_ip = "203.0.113.9", .mail_from = "ann@example.net",
	                     .rcpts = rcpts, .nrcpts = 2 };
	pst_message *m = NULL;
	char err[256] = "";
	pst_dns *dns = fixture("");
	pst_message_opts opts = { .dns = dns };
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, &opts, &m, err, sizeof err), 0);
	assert_null(pst_message_verdict(m, 0));           /* not evaluated yet */
	assert_int_equal(pst_message_evaluate(m), 0);
	assert_int_equal(pst_message_rcpt_count(m), 2);

	const pst_verdict *v = pst_message_verdict(m, 0);
	assert_non_null(v);
	assert_string_equal(v->address, "alice@agency.example");
	assert_int_equal(v->action, PST_REJECT);
	assert_int_equal(v->code, 550);
	assert_string_equal(v->enhanced, "5.7.1");
	assert_string_equal(v->text, "no: 203.0.113.9");
	assert_string_equal(v->rule, "allowlist");
	assert_int_equal(v->nedits, 0);                    /* tag_all not reached */
	assert_int_equal(v->naudit, 0);

	v = pst_message_verdict(m, 1);
	assert_int_equal(v->action, PST_ACCEPT);
	assert_int_equal(v->code, 250);
	assert_null(v->rule);
	assert_int_equal(v->nedits, 1);
	assert_string_equal(v->edits[0].op, "add-header");
	assert_string_equal(v->edits[0].name, "X-Seen");
	assert_string_equal(v->edits[0].value, "example.org");
	assert_int_equal(v->naudit, 1);
	assert_string_equal(v->audit[0], "audit_me");
	assert_null(pst_message_verdict(m, 2));

	char *out = NULL;
	size_t len = 0;
	assert_int_equal(pst_message_render(m, 1, &out, &len, err, sizeof err), 0);
	const char *want = "X-Seen: example.org\r\n";
	assert_true(len == strlen(message) + strlen(want));
	assert_memory_equal(out, want, strlen(want));
	assert_memory_equal(out + strlen(want), message, strlen(message));
	free(out);
	assert_int_equal(pst_message_render(m, 0, &out, &len, err, sizeof err), 0);
	assert_true(len == strlen(message));
	assert_memory_equal(out, message, len);            /* no edits: the same bytes */
	free(out);
	assert_int_equal(pst_message_render(m, 5, &out, &len, err, sizeof err), -1);
	assert_null(out);

	char *json = NULL;
	assert_int_equal(pst_message_json(m, &json), 0);
	assert_non_null(strstr(json, "\"decision\":\"mixed\""));
	free(json);
	pst_message_free(&m);
	assert_null(m);
	pst_message_free(&m);                              /* NULL-safe */
	pst_policy_free(&p);
	assert_null(p);
	pst_dns_free(&dns);
}

/* Auth facts are lazy: a policy that reads none, with A-R off, asks no
 * DNS question, even when its message is rendered; reading spf asks. */
static void no_auth_fact_means_no_dns(void **state)
{
	(void)state;
	pst_dns *dns = fixture(zone);
	pst_message_opts opts = { .dns = dns };
	const char *rcpts[] = { "bob@example.org" };
	pst_envelope env = { .client_ip = "203.0.113.9", .mail_from = "ann@example.net",
	                     .rcpts = rcpts, .nrcpts = 1 };
	static const struct { const char *rules; int asks; } cases[] = {
		{ "rule r { when subject contains \"hello\" then add header \"X-A\" \"1\"; }\n", 0 },
		{ "rule r { when client.ip in { 192.0.2.0/24 } then reject; }\n", 0 },
		{ "rule r { when spf == fail then add header \"X-SPF\" \"fail\"; }\n", 1 },
		{ "rule r { when dmarc == fail then reject; }\n", 1 },
		{ "authserv-id \"mx.example.org\";\nrule r { when true then accept; }\n", 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_policy *p = compile(cases[i].rules);
		pst_message *m = NULL;
		char err[256] = "", *out = NULL;
		size_t len;
		assert_int_equal(pst_message_new(p, message, strlen(message), &env, &opts, &m, err, sizeof err), 0);
		assert_int_equal(pst_message_evaluate(m), 0);
		assert_int_equal(pst_message_render(m, 0, &out, &len, err, sizeof err), 0);
		unsigned q = pst_message_dns_queries(m);
		if ((q > 0) != cases[i].asks)
			fail_msg("case %zu: got %u DNS questions, want %s", i, q, cases[i].asks ? "some" : "none");
		if (i == 4)   /* our A-R field, with SPF failing for 203.0.113.9 */
			assert_non_null(strstr(out, "Authentication-Results: mx.example.org; spf=fail"));
		free(out);
		pst_message_free(&m);
		pst_policy_free(&p);
	}
	pst_dns_free(&dns);
}

/* For mail from the network, leading X-Postern-Envelope fields are not
 * read (a sender could forge the client IP) and are delivered as they are. */
static void envelope_fields_can_be_ignored(void **state)
{
	(void)state;
	pst_policy *p = compile("rule r { when client.ip in { 192.0.2.0/24 } then tag \"in\"; }\n");
	static const char forged[] = "X-Postern-Envelope: client-ip=192.0.2.1; rcpt=x@example.org\r\n"
	                             "Subject: s\r\n\r\nb\r\n";
	pst_dns *dns = fixture("");
	const char *rcpts[] = { "bob@example.org" };
	pst_envelope env = { .rcpts = rcpts, .nrcpts = 1 };
	for (int ignore = 0; ignore <= 1; ignore++) {
		pst_message_opts opts = { .dns = dns, .no_envelope_fields = ignore };
		pst_message *m = NULL;
		char err[256] = "", *out = NULL, *json = NULL;
		size_t len;
		assert_int_equal(pst_message_new(p, forged, strlen(forged), &env, &opts, &m, err, sizeof err), 0);
		assert_int_equal(pst_message_evaluate(m), 0);
		assert_int_equal(pst_message_json(m, &json), 0);
		int tagged = strstr(json, "\"tags\":[\"in\"]") != NULL;
		assert_int_equal(tagged, !ignore);             /* the forged IP counts only when read */
		assert_int_equal(pst_message_render(m, 0, &out, &len, err, sizeof err), 0);
		int kept = strncmp(out, "X-Postern-Envelope:", 19) == 0;
		assert_int_equal(kept, ignore);                /* read fields are stripped */
		free(out);
		free(json);
		pst_message_free(&m);
	}
	pst_dns_free(&dns);
	pst_policy_free(&p);
}

/* A file of the source tree, read whole (caller frees). */
static char *slurp_src(const char *rel, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", top ? top : ".", rel);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* spf.aligned reads the DMARC record (strict or relaxed) but never makes
 * DKIM verify: no key is asked for. dkim.aligned does verify. */
static void spf_aligned_alone_does_not_verify_dkim(void **state)
{
	(void)state;
	size_t zlen, mlen;
	char *keys = slurp_src("tests/fixtures/dkim/keys.zone", &zlen);
	char *msg = slurp_src("tests/fixtures/dkim/rsa2048.eml", &mlen);
	pst_buf zb = PST_BUF_INIT;
	assert_int_equal(pst_buf_printf(&zb, "%s\nexample.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	                                "_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=reject; aspf=s\"\n",
	                                keys), 0);
	pst_dns *dns = fixture(pst_buf_str(&zb));
	const char *rcpts[] = { "bob@example.net" };
	pst_envelope env = { .client_ip = "192.0.2.7", .mail_from = "alice@example.com",
	                     .rcpts = rcpts, .nrcpts = 1 };
	pst_message_opts opts = { .dns = dns, .now = 1700000100 };
	static const char *const policies[] = {
		"rule r { when spf.aligned then tag \"spf\"; }\n",
		"rule r { when dkim.aligned then tag \"dkim\"; }\n",
	};
	unsigned asked[2];
	for (int i = 0; i < 2; i++) {
		pst_policy *p = compile(policies[i]);
		pst_message *m = NULL;
		char err[256] = "", *json = NULL;
		assert_int_equal(pst_message_new(p, msg, mlen, &env, &opts, &m, err, sizeof err), 0);
		assert_int_equal(pst_message_evaluate(m), 0);
		asked[i] = pst_message_dns_queries(m);
		assert_int_equal(pst_message_json(m, &json), 0);
		assert_non_null(strstr(json, i == 0 ? "\"tags\":[\"spf\"]" : "\"tags\":[\"dkim\"]"));
		free(json);
		pst_message_free(&m);
		pst_policy_free(&p);
	}
	/* SPF: the TXT of example.com; DMARC: the RFC 9989 tree walk,
	 * _dmarc.example.com then _dmarc.com (no psd= stopped it). No key. */
	if (asked[0] != 3)
		fail_msg("spf.aligned alone: got %u DNS questions, want 3 (SPF record, DMARC tree walk of 2)",
		         asked[0]);
	if (asked[1] <= asked[0] - 1)
		fail_msg("dkim.aligned: got %u DNS questions, want the key and the DMARC record", asked[1]);
	pst_buf_free(&zb);
	free(keys);
	free(msg);
	pst_dns_free(&dns);
}

static void refuses_bad_input(void **state)
{
	(void)state;
	pst_policy *p = compile(rules);
	pst_message *m = NULL;
	char err[256] = "";
	pst_envelope env = { .client_ip = "300.1.2.3" };
	errno = 0;
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, NULL, &m, err, sizeof err), -1);
	assert_null(m);
	assert_non_null(strstr(err, "300.1.2.3"));
	assert_int_equal(errno, EINVAL);

	pst_auth_given given = { .spf = "passed" };
	pst_message_opts opts = { .auth = &given };
	errno = 0;
	assert_int_equal(pst_message_new(p, message, strlen(message), NULL, &opts, &m, err, sizeof err), -1);
	assert_non_null(strstr(err, "RFC 8601"));
	assert_int_equal(errno, EINVAL);

	/* A header section over the limit is a typed error, not a crash. */
	size_t big = 300 * 1024;
	char *huge = malloc(big + 16);
	assert_non_null(huge);
	memcpy(huge, "X-Big: ", 7);
	memset(huge + 7, 'a', big);
	memcpy(huge + 7 + big, "\r\n\r\nb\r\n", 7);
	errno = 0;
	assert_int_equal(pst_message_new(p, huge, big + 14, NULL, NULL, &m, err, sizeof err), -1);
	assert_true(strlen(err) > 0);
	assert_int_equal(errno, EINVAL);      /* refused, not out of memory */
	free(huge);
	pst_policy_free(&p);
}

static void given_auth_results_are_used(void **state)
{
	(void)state;
	pst_policy *p = compile("rule r { when dmarc == fail and dmarc.policy == reject "
	                        "then reject 550 5.7.1 \"dmarc\"; }\n");
	const char *rcpts[] = { "bob@example.org" };
	pst_envelope env = { .rcpts = rcpts, .nrcpts = 1 };
	pst_auth_given given = { .dmarc = "fail", .dmarc_policy = "reject", .dmarc_domain = "example.net" };
	pst_message_opts opts = { .auth = &given };
	pst_message *m = NULL;
	char err[256] = "";
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, &opts, &m, err, sizeof err), 0);
	assert_int_equal(pst_message_evaluate(m), 0);
	assert_int_equal(pst_message_verdict(m, 0)->action, PST_REJECT);
	pst_message_free(&m);
	given.dmarc = "pass";
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, &opts, &m, err, sizeof err), 0);
	assert_int_equal(pst_message_evaluate(m), 0);
	assert_int_equal(pst_message_verdict(m, 0)->action, PST_ACCEPT);
	pst_message_free(&m);
	pst_policy_free(&p);
}

/* pst_message_auth_result: the overall result a rule read, and nothing
 * for what no rule computed (it never asks DNS itself). */
static void auth_results_as_read(void **state)
{
	(void)state;
	pst_dns *dns = fixture(zone);
	pst_message_opts opts = { .dns = dns };
	const char *rcpts[] = { "bob@example.org" };
	pst_envelope env = { .client_ip = "203.0.113.9", .mail_from = "ann@example.net",
	                     .rcpts = rcpts, .nrcpts = 1 };
	pst_policy *p = compile("rule r { when spf == fail then add header \"X-SPF\" \"fail\"; }\n");
	pst_message *m = NULL;
	char err[256] = "";
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, &opts, &m, err, sizeof err), 0);
	assert_null(pst_message_auth_result(m, "spf"));       /* not computed yet */
	assert_int_equal(pst_message_evaluate(m), 0);
	unsigned q = pst_message_dns_queries(m);
	assert_string_equal(pst_message_auth_result(m, "spf"), "fail");
	assert_null(pst_message_auth_result(m, "dkim"));      /* no rule read it */
	assert_null(pst_message_auth_result(m, "dmarc"));
	assert_null(pst_message_auth_result(m, "arc"));       /* no such method */
	assert_int_equal(pst_message_dns_queries(m), q);      /* and nothing asked */
	pst_message_free(&m);
	pst_policy_free(&p);
	/* given results count as computed */
	p = compile("rule r { when dkim == pass then accept; }\n");
	pst_auth_given given = { .dkim = "pass" };
	pst_message_opts gopts = { .auth = &given };
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, &gopts, &m, err, sizeof err), 0);
	assert_int_equal(pst_message_evaluate(m), 0);
	assert_string_equal(pst_message_auth_result(m, "dkim"), "pass");
	pst_message_free(&m);
	pst_policy_free(&p);
	pst_dns_free(&dns);
}

/* pst_message_rule_time: only with opts.time_rules, after evaluation; the
 * evaluations count the recipients that reached each rule. */
static void times_each_rule(void **state)
{
	(void)state;
	static const char text[] =
	    "rule first { when size > 0 then tag \"t\"; }\n"
	    "tenant \"agency.example\" { rule stop { when true then reject; } }\n"
	    "rule later { when true then accept; }\n";
	pst_policy *p = compile(text);
	const char *rcpts[] = { "alice@agency.example", "bob@example.org", "carol@example.org" };
	pst_envelope env = { .client_ip = "192.0.2.1", .mail_from = "ann@example.net",
	                     .rcpts = rcpts, .nrcpts = 3 };
	pst_dns *dns = fixture("");
	char err[256] = "";
	unsigned long long ns = 1;
	unsigned evals = 1;

	pst_message_opts opts = { .dns = dns };
	pst_message *m = NULL;
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, &opts, &m, err, sizeof err), 0);
	assert_int_equal(pst_message_evaluate(m), 0);
	assert_int_equal(pst_message_rule_time(m, 0, &ns, &evals), -1);   /* not asked for */
	pst_message_free(&m);

	opts.time_rules = 1;
	assert_int_equal(pst_message_new(p, message, strlen(message), &env, &opts, &m, err, sizeof err), 0);
	assert_int_equal(pst_message_rule_time(m, 0, &ns, &evals), -1);   /* not evaluated yet */
	assert_int_equal(pst_message_evaluate(m), 0);
	unsigned want[] = { 3, 3, 2 };          /* stop decides for alice only */
	unsigned long long total = 0;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(pst_message_rule_time(m, i, &ns, &evals), 0);
		assert_int_equal(evals, want[i]);
		total += ns;
	}
	assert_true(total > 0);
	assert_int_equal(pst_message_rule_time(m, 3, &ns, &evals), -1);   /* out of range */
	assert_int_equal(pst_message_rule_time(m, 1, NULL, NULL), 0);

	/* The verdicts list the rules that matched (a tag-only one too) and the tags. */
	const pst_verdict *v = pst_message_verdict(m, 0);
	assert_int_equal(v->nmatched, 2);
	assert_string_equal(v->matched[0], "first");
	assert_string_equal(v->matched[1], "stop");
	assert_int_equal(v->ntags, 1);
	assert_string_equal(v->tags[0], "t");
	v = pst_message_verdict(m, 1);
	assert_int_equal(v->nmatched, 2);
	assert_string_equal(v->matched[0], "first");
	assert_string_equal(v->matched[1], "later");
	assert_string_equal(v->rule, "later");
	pst_message_free(&m);
	pst_dns_free(&dns);
	pst_policy_free(&p);
}

static void compile_errors_are_reported(void **state)
{
	(void)state;
	pst_policy *p = (pst_policy *)1;
	pst_compile_report rep = { 0, 0, NULL };
	const char *bad = "rule a { when client.ipp == 1.2.3.4 then accept; }\n";
	assert_int_equal(pst_policy_compile_text("bad.rules", bad, strlen(bad), NULL, &p, &rep), -1);
	assert_null(p);
	assert_true(rep.errors >= 1);
	assert_non_null(rep.text);
	assert_non_null(strstr(rep.text, "bad.rules:1:"));
	pst_report_clear(&rep);
	assert_null(rep.text);
	assert_int_equal(pst_policy_compile_file("/nonexistent/x.rules", &p, &rep), -1);
	assert_true(rep.errors >= 1);
	pst_report_clear(&rep);
}

/* pst_policy_get_stats: what a policy was written with (postern lint's
 * summary), table-driven over rule texts. */
static void stats_count_what_was_written(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		pst_policy_stats want;
	} cases[] = {
		{ "rule a { when true then accept; }\n", { 1, 0, 0, 0, 0 } },
		{ "authserv-id \"mx.test\";\nafter-queue-reject reject;\n"
		  "list l = domains { \"a.example\" };\nlist m = ips { 192.0.2.1 };\n"
		  "rule a { when from.domain in l or from.domain in { \"b.example\" } then accept; }\n",
		  { 1, 0, 0, 2, 2 } },
		{ "tenant \"a.example\" { rule a { when size > 1M then reject; } }\n"
		  "tenant \"b.example\" { rule b { when size > 1M then reject; } }\n"
		  "tenant \"A.example\" { rule c { when size > 2M then reject; } }\n"
		  "rule d { when true then accept; }\n",
		  { 4, 2, 0, 0, 0 } },
		{ "", { 0, 0, 0, 0, 0 } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_policy *p = NULL;
		pst_policy_stats got;
		memset(&got, 0xff, sizeof got);
		assert_int_equal(pst_policy_compile_text("s.rules", cases[i].text, strlen(cases[i].text),
		                                         NULL, &p, NULL), 0);
		pst_policy_get_stats(p, &got);
		const pst_policy_stats *w = &cases[i].want;
		if (got.rules != w->rules || got.tenants != w->tenants || got.includes != w->includes ||
		    got.lists != w->lists || got.settings != w->settings)
			fail_msg("case %zu: got %zu rules, %zu tenants, %zu includes, %zu lists, %zu settings; "
			         "want %zu, %zu, %zu, %zu, %zu", i, got.rules, got.tenants, got.includes,
			         got.lists, got.settings, w->rules, w->tenants, w->includes, w->lists,
			         w->settings);
		pst_policy_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decides_each_recipient),
		cmocka_unit_test(no_auth_fact_means_no_dns),
		cmocka_unit_test(envelope_fields_can_be_ignored),
		cmocka_unit_test(spf_aligned_alone_does_not_verify_dkim),
		cmocka_unit_test(refuses_bad_input),
		cmocka_unit_test(given_auth_results_are_used),
		cmocka_unit_test(auth_results_as_read),
		cmocka_unit_test(compile_errors_are_reported),
		cmocka_unit_test(times_each_rule),
		cmocka_unit_test(stats_count_what_was_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
