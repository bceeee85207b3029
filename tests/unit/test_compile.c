/* Unit tests for lang/compile.c: rule texts compiled through
 * pst_program_compile_text, with assertions on the program's structure. */
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

#include "lang/diag.h"
#include "lang/program.h"
#include "util/buf.h"
#include "util/domain.h"
#include "util/ip.h"
#include "util/limits.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Compile text, failing the test (with the diagnostics) unless it compiles. */
static pst_program *compile_ok(const char *text)
{
	pst_diags *d = pst_diags_new();
	pst_program *p = NULL;
	assert_non_null(d);
	int rc = pst_program_compile_text("t.rules", text, strlen(text), NULL, d, &p);
	if (rc != 0 || pst_diags_errors(d) != 0) {
		pst_buf b = PST_BUF_INIT;
		pst_diags_render(d, &b);
		fail_msg("got rc %d with:\n%s\nwant a program", rc, pst_buf_str(&b));
	}
	assert_non_null(p);
	pst_diags_free(&d);
	return p;
}

/* Compile text that must fail; returns the rendered diagnostics (free). */
static char *compile_fails(const char *text, size_t *errors)
{
	pst_diags *d = pst_diags_new();
	pst_program *p = (pst_program *)&p;
	assert_non_null(d);
	int rc = pst_program_compile_text("t.rules", text, strlen(text), NULL, d, &p);
	assert_int_equal(rc, -1);
	assert_null(p);
	*errors = pst_diags_errors(d);
	pst_buf b = PST_BUF_INIT;
	assert_int_equal(pst_diags_render(d, &b), 0);
	pst_diags_free(&d);
	return pst_buf_steal(&b, NULL);
}

static const pst_program_rule *rule(const pst_program *p, size_t i)
{
	const pst_program_rule *r = pst_program_rule_at(p, i);
	if (r == NULL)
		fail_msg("got no rule %zu, want one (of %zu)", i, pst_program_rule_count(p));
	return r;
}

static void settings_defaults(void **state)
{
	(void)state;
	pst_program *p = compile_ok("rule r { when true then accept; }");
	const pst_settings *s = pst_program_settings(p);
	assert_null(s->authserv_id);
	assert_int_equal(s->ntrusted, 0);
	assert_int_equal(s->after_queue_reject, PST_AQR_REJECT_IF_SPF_PASS);
	assert_int_equal(s->dkim_max_signatures, PST_DEFAULT_MAX_DKIM_SIGS);
	assert_int_equal(s->match_limit, PST_DEFAULT_MATCH_LIMIT);
	assert_int_equal(s->dns_budget_ms, PST_DEFAULT_DNS_BUDGET_MS);
	pst_program_free(&p);
	assert_null(p);
}

static void settings_given(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "authserv-id \"mx.example.net\";\n"
	    "trusted-authserv-id \"gw1.example.net\"; trusted-authserv-id \"gw2.example.net\";\n"
	    "after-queue-reject discard; dkim-max-signatures 3; regex-match-limit 777;\n"
	    "dns-budget 1500;\n");
	const pst_settings *s = pst_program_settings(p);
	assert_string_equal(s->authserv_id, "mx.example.net");
	assert_int_equal(s->ntrusted, 2);
	assert_string_equal(s->trusted_authserv_ids[0], "gw1.example.net");
	assert_string_equal(s->trusted_authserv_ids[1], "gw2.example.net");
	assert_int_equal(pst_program_after_queue_reject(p), PST_AQR_DISCARD);
	assert_int_equal(s->dkim_max_signatures, 3);
	assert_int_equal(s->match_limit, 777);
	assert_int_equal(s->dns_budget_ms, 1500);
	assert_int_equal(pst_program_rule_count(p), 0);
	pst_program_free(&p);
}

/* pct-seed outlived DMARC's pct (RFC 9989): it compiles, with one
 * warning that names the setting and says it does nothing. */
static void pct_seed_is_obsolete(void **state)
{
	(void)state;
	static const char text[] = "dns-budget 1500;\npct-seed 42;\nrule r { when true then accept; }\n";
	pst_diags *d = pst_diags_new();
	pst_program *p = NULL;
	pst_buf b = PST_BUF_INIT;
	assert_non_null(d);
	int rc = pst_program_compile_text("t.rules", text, strlen(text), NULL, d, &p);
	pst_diags_render(d, &b);
	if (rc != 0 || pst_diags_errors(d) != 0 || pst_diags_warnings(d) != 1)
		fail_msg("got rc %d, %zu errors, %zu warnings:\n%s\nwant a program and one warning",
		         rc, pst_diags_errors(d), pst_diags_warnings(d), pst_buf_str(&b));
	if (strstr(pst_buf_str(&b), "t.rules:2:1: warning: pct-seed has no effect: RFC 9989") == NULL)
		fail_msg("got:\n%s\nwant a warning at t.rules:2:1 naming pct-seed and RFC 9989",
		         pst_buf_str(&b));
	assert_int_equal(pst_program_settings(p)->dns_budget_ms, 1500);
	pst_buf_free(&b);
	pst_program_free(&p);
	pst_diags_free(&d);
}

static void after_queue_words(void **state)
{
	(void)state;
	static const struct { const char *w; pst_aqr want; } t[] = {
		{ "reject", PST_AQR_REJECT }, { "quarantine", PST_AQR_QUARANTINE },
		{ "discard", PST_AQR_DISCARD }, { "reject-if-spf-pass", PST_AQR_REJECT_IF_SPF_PASS },
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char text[128];
		snprintf(text, sizeof text, "after-queue-reject %s;", t[i].w);
		pst_program *p = compile_ok(text);
		if (pst_program_after_queue_reject(p) != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].w, pst_program_after_queue_reject(p), t[i].want);
		pst_program_free(&p);
	}
}

static void rules_in_file_order_with_tenants(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "rule first { when true then log \"1\"; }\n"
	    "tenant \"Agency.EXAMPLE\" mode audit {\n"
	    "  rule t_one { when true then tag \"a\"; }\n"
	    "  rule t_two mode enforce { when false then discard; }\n"
	    "}\n"
	    "tenant \"bücher.example\" { rule t_three { when true then log \"3\"; } }\n"
	    "rule last mode audit { when false then reject; }\n");
	static const struct { const char *name; const char *tenant; int audit; unsigned line; } want[] = {
		{ "first", NULL, 0, 1 },
		{ "t_one", "agency.example", 1, 3 },
		{ "t_two", "agency.example", 1, 4 },
		{ "t_three", "xn--bcher-kva.example", 0, 6 },
		{ "last", NULL, 1, 7 },
	};
	assert_int_equal(pst_program_rule_count(p), N_ELEMS(want));
	for (size_t i = 0; i < N_ELEMS(want); i++) {
		const pst_program_rule *r = rule(p, i);
		assert_string_equal(r->name, want[i].name);
		if (want[i].tenant)
			assert_string_equal(r->tenant, want[i].tenant);
		else
			assert_null(r->tenant);
		if (r->audit != want[i].audit)
			fail_msg("%s: got audit %d, want %d", r->name, r->audit, want[i].audit);
		assert_int_equal(r->line, want[i].line);
		assert_string_equal(r->file, "t.rules");
	}
	assert_null(pst_program_rule_at(p, N_ELEMS(want)));
	pst_program_free(&p);
}

static void condition_tree(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "rule r { when dmarc == fail and dmarc.policy == reject or not spf.aligned\n"
	    "  then accept; }\n");
	const pst_expr *e = rule(p, 0)->when;
	/* or(and(dmarc == fail, dmarc.policy == reject), not(spf.aligned)) */
	assert_int_equal(e->kind, PST_EXPR_OR);
	assert_int_equal(e->a->kind, PST_EXPR_AND);
	const pst_expr *t = e->a->a;
	assert_int_equal(t->kind, PST_EXPR_TEST);
	assert_int_equal(t->lhs.kind, PST_OPND_FACT);
	assert_int_equal(t->lhs.fact, PST_F_DMARC);
	assert_int_equal(t->lhs.type, PST_T_RESULT);
	assert_string_equal(t->lhs.text, "dmarc");
	assert_int_equal(t->cmp, PST_CMP_EQ);
	assert_int_equal(t->rhs.type, PST_T_RESULT);
	assert_int_equal(t->rhs.result, PST_AR_FAIL);
	assert_int_equal(t->line, 1);
	assert_int_equal(t->col, 15);
	t = e->a->b;
	assert_int_equal(t->lhs.fact, PST_F_DMARC_POLICY);
	assert_int_equal(t->rhs.type, PST_T_POLICY);
	assert_int_equal(t->rhs.policy, PST_POLICY_REJECT);
	assert_int_equal(e->b->kind, PST_EXPR_NOT);
	t = e->b->a;
	assert_int_equal(t->cmp, PST_CMP_TRUTH);
	assert_int_equal(t->lhs.fact, PST_F_SPF_ALIGNED);
	uint64_t want = (UINT64_C(1) << PST_F_DMARC) | (UINT64_C(1) << PST_F_DMARC_POLICY) |
	                (UINT64_C(1) << PST_F_SPF_ALIGNED);
	assert_true(pst_program_facts_read(p) == want);
	pst_program_free(&p);
}

static void negated_spellings(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "list d = domains { \"example.org\" };\n"
	    "rule r { when client.helo not in d and spf not in { pass, neutral } then accept; }\n");
	const pst_expr *e = rule(p, 0)->when;
	assert_int_equal(e->kind, PST_EXPR_AND);
	assert_int_equal(e->a->kind, PST_EXPR_NOT);
	assert_int_equal(e->a->a->kind, PST_EXPR_TEST);
	assert_int_equal(e->a->a->cmp, PST_CMP_IN);
	assert_int_equal(e->a->a->list->kind, PST_LIST_DOMAINS);
	assert_int_equal(e->b->kind, PST_EXPR_NOT);
	const pst_list *words = e->b->a->list;
	assert_int_equal(words->kind, PST_LIST_STRINGS);
	assert_int_equal(words->nstrings, 2);
	assert_string_equal(words->strings[0], "neutral");
	assert_string_equal(words->strings[1], "pass");
	pst_program_free(&p);
}

static void literal_types(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "rule r { when client.ip == 192.0.2.1 or size > 100 or from.domain == \"BÜCHER.Example\"\n"
	    "  or subject contains \"Hi\" or spf.aligned == true or from.domain ends-with \".EXAMPLE\"\n"
	    "  or client.ip == ::ffff:198.51.100.1 or count(header \"Received\") >= 3 or size < 10M\n"
	    "  then accept; }\n");
	const pst_expr *e = rule(p, 0)->when;
	const pst_expr *t[9];
	size_t n = 0;
	/* Left-associative ors: walk down the left spine. */
	while (e->kind == PST_EXPR_OR) {
		t[n++] = e->b;
		e = e->a;
	}
	t[n++] = e;
	assert_int_equal(n, 9);
	/* t[] runs from the last test to the first. */
	const pst_expr *ip = t[8], *sz = t[7], *dom = t[6], *sub = t[5], *b = t[4], *ends = t[3],
	               *mapped = t[2], *cnt = t[1], *mega = t[0];
	assert_int_equal(mega->cmp, PST_CMP_LT);
	assert_int_equal(mega->rhs.n, 10 * 1024 * 1024);
	assert_int_equal(ip->rhs.type, PST_T_IP);
	pst_ip want;
	assert_int_equal(pst_ip_parse("192.0.2.1", 9, &want), 0);
	assert_true(pst_ip_equal(&ip->rhs.ip, &want));
	assert_int_equal(sz->cmp, PST_CMP_GT);
	assert_int_equal(sz->rhs.type, PST_T_NUMBER);
	assert_int_equal(sz->rhs.n, 100);
	assert_int_equal(dom->rhs.type, PST_T_STRING);
	assert_string_equal(dom->rhs.s, "xn--bcher-kva.example");
	assert_int_equal(dom->rhs.len, strlen("xn--bcher-kva.example"));
	assert_int_equal(sub->cmp, PST_CMP_CONTAINS);
	assert_string_equal(sub->rhs.s, "Hi");
	assert_int_equal(b->rhs.type, PST_T_BOOL);
	assert_int_equal(b->rhs.b, 1);
	assert_string_equal(ends->rhs.s, ".example");
	assert_int_equal(mapped->rhs.ip.family, 4);
	assert_int_equal(cnt->lhs.kind, PST_OPND_COUNT);
	assert_string_equal(cnt->lhs.header, "Received");
	assert_int_equal(cnt->lhs.type, PST_T_NUMBER);
	assert_string_equal(cnt->lhs.text, "count(header \"Received\")");
	pst_program_free(&p);
}

/* A bare word naming a fact, on the right of a test, is that fact: the
 * program carries it as an operand of its own (never as a literal, never
 * as a list) and facts_read has both sides. */
static void facts_on_the_right(void **state)
{
	(void)state;
	static const struct {
		const char *cond;
		pst_cmp cmp;
		pst_fact lhs, rhs;
		pst_type rtype;
	} t[] = {
		{ "from.domain != envelope.from.domain", PST_CMP_NE, PST_F_FROM_DOMAIN,
		  PST_F_ENVELOPE_FROM_DOMAIN, PST_T_DOMAIN },
		{ "from.address == envelope.from", PST_CMP_EQ, PST_F_FROM_ADDRESS,
		  PST_F_ENVELOPE_FROM, PST_T_ADDRESS },
		{ "client.helo == client.ptr", PST_CMP_EQ, PST_F_CLIENT_HELO, PST_F_CLIENT_PTR,
		  PST_T_STRING },
		{ "from.count > from.fields", PST_CMP_GT, PST_F_FROM_COUNT, PST_F_FROM_FIELDS,
		  PST_T_NUMBER },
		{ "size <= from.count", PST_CMP_LE, PST_F_SIZE, PST_F_FROM_COUNT, PST_T_NUMBER },
		{ "spf == helo.spf", PST_CMP_EQ, PST_F_SPF, PST_F_HELO_SPF, PST_T_RESULT },
		{ "from.domain in dkim.domains", PST_CMP_IN, PST_F_FROM_DOMAIN, PST_F_DKIM_DOMAINS,
		  PST_T_DOMAINSET },
		{ "envelope.from in dkim.domains", PST_CMP_IN, PST_F_ENVELOPE_FROM,
		  PST_F_DKIM_DOMAINS, PST_T_DOMAINSET },
		{ "dkim.domains == from.domain", PST_CMP_EQ, PST_F_DKIM_DOMAINS, PST_F_FROM_DOMAIN,
		  PST_T_DOMAIN },
		{ "from.address ends-with from.domain", PST_CMP_ENDS_WITH, PST_F_FROM_ADDRESS,
		  PST_F_FROM_DOMAIN, PST_T_DOMAIN },
		{ "client.helo == From.Domain", PST_CMP_EQ, PST_F_CLIENT_HELO, PST_F_FROM_DOMAIN,
		  PST_T_DOMAIN },
		{ "spf.aligned == dkim.aligned", PST_CMP_EQ, PST_F_SPF_ALIGNED, PST_F_DKIM_ALIGNED,
		  PST_T_BOOL },
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char text[256];
		snprintf(text, sizeof text, "rule r { when %s then accept; }", t[i].cond);
		pst_program *p = compile_ok(text);
		const pst_expr *e = rule(p, 0)->when;
		uint64_t want = (UINT64_C(1) << t[i].lhs) | (UINT64_C(1) << t[i].rhs);
		if (e->kind != PST_EXPR_TEST || e->cmp != t[i].cmp || e->lhs.fact != t[i].lhs)
			fail_msg("%s: got kind %d cmp %d lhs %d, want a test %d on %s", t[i].cond,
			         e->kind, e->cmp, e->lhs.fact, t[i].cmp, pst_fact_name(t[i].lhs));
		if (e->rfact == NULL)
			fail_msg("%s: got no fact on the right, want %s", t[i].cond,
			         pst_fact_name(t[i].rhs));
		if (e->rfact->kind != PST_OPND_FACT || e->rfact->fact != t[i].rhs ||
		    e->rfact->type != t[i].rtype || strcmp(e->rfact->text, pst_fact_name(t[i].rhs)) != 0)
			fail_msg("%s: got right fact %d type %d \"%s\", want %s of type %s", t[i].cond,
			         e->rfact->fact, e->rfact->type, e->rfact->text,
			         pst_fact_name(t[i].rhs), pst_type_name(t[i].rtype));
		if (e->rhs.s != NULL || e->list != NULL)
			fail_msg("%s: got a literal or a list besides the fact, want neither", t[i].cond);
		if (pst_program_facts_read(p) != want)
			fail_msg("%s: got facts_read %#llx, want %#llx", t[i].cond,
			         (unsigned long long)pst_program_facts_read(p), (unsigned long long)want);
		pst_program_free(&p);
	}
}

/* Bare words that cannot be fact names stay literals; a declared list
 * wins over a fact of the same name after 'in'. */
static void bare_words_stay_literals(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "list dkim.domains = domains { \"partner.example\" };\n"
	    "rule r { when from.domain == Mail.Example or rcpt.domain in { a.example, clients.example }\n"
	    "  or from.domain in dkim.domains or dmarc.policy == reject then accept; }\n");
	const pst_expr *e = rule(p, 0)->when;
	const pst_expr *t[4];
	size_t n = 0;
	while (e->kind == PST_EXPR_OR) {
		t[n++] = e->b;
		e = e->a;
	}
	t[n++] = e;
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		if (t[i]->rfact != NULL)
			fail_msg("test %zu: got a fact on the right (%s), want none", i, t[i]->rfact->text);
	assert_string_equal(t[3]->rhs.s, "mail.example");
	assert_int_equal(t[2]->list->kind, PST_LIST_DOMAINS);
	assert_int_equal(t[2]->list->count, 2);
	assert_string_equal(t[1]->list->name, "dkim.domains");
	assert_int_equal(t[0]->rhs.policy, PST_POLICY_REJECT);
	pst_program_free(&p);
}

/* What cannot be compared, and dotted words that name no fact. */
static void fact_comparison_errors(void **state)
{
	(void)state;
	static const struct { const char *cond; const char *want; } t[] = {
		{ "from.domain != envelope.from.domian",
		  "t.rules:1:30: error: unknown fact 'envelope.from.domian'; did you mean "
		  "'envelope.from.domain'?" },
		{ "from.domain == spf.example.net",
		  "t.rules:1:30: error: unknown fact 'spf.example.net'; to compare with the text, "
		  "quote it: \"spf.example.net\"" },
		{ "from.address == envelope.from.domain",
		  "t.rules:1:31: error: type mismatch: from.address is an address, envelope.from.domain "
		  "is a domain; did you mean 'from.domain == envelope.from.domain'?" },
		{ "from.domain != rcpt",
		  "t.rules:1:30: error: type mismatch: from.domain is a domain, rcpt is an address; "
		  "did you mean 'from.domain != rcpt.domain'?" },
		{ "client.ip == client.helo",
		  "t.rules:1:28: error: type mismatch: client.ip is an ip, client.helo is a string" },
		{ "size > subject",
		  "t.rules:1:22: error: type mismatch: size is a number, subject is a string" },
		{ "spf < helo.spf",
		  "t.rules:1:19: error: type mismatch: '<' needs a number, but spf is a result" },
		{ "dkim.domains == dkim.domains",
		  "t.rules:1:31: error: type mismatch: dkim.domains is a set of domains, dkim.domains "
		  "is a set of domains" },
		{ "from.domain in from.address",
		  "t.rules:1:30: error: type mismatch: 'in' needs a list or a set of domains, but "
		  "from.address is an address" },
		{ "client.ip in dkim.domains",
		  "t.rules:1:28: error: type mismatch: client.ip is an ip, dkim.domains is a set of "
		  "domains" },
		{ "from.domain in dkim.domain",
		  "t.rules:1:30: error: unknown fact 'dkim.domain'; did you mean 'dkim.domains'?" },
		{ "from.domain in { a.example, from.domain }",
		  "t.rules:1:43: error: 'from.domain' is a fact, but a list holds only literal values" },
		{ "rcpt.domain in { header.example }",
		  "t.rules:1:32: error: unknown fact 'header.example'; to compare with the text" },
		{ "client.ip contains client.helo",
		  "t.rules:1:25: error: type mismatch: 'contains' needs text, but client.ip is an ip" },
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char text[256];
		size_t errors;
		snprintf(text, sizeof text, "rule r { when %s then accept; }", t[i].cond);
		char *out = compile_fails(text, &errors);
		if (errors != 1 || strstr(out, t[i].want) == NULL)
			fail_msg("%s: got %zu errors:\n%s\nwant 1 containing\n%s", t[i].cond, errors, out,
			         t[i].want);
		free(out);
	}
}

static void headers_and_regexes(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "rule r { when any header \"X-A\" matches /^ab+c$/i and all header \"X-B\" exists\n"
	    "  and header \"X-C\" starts-with \"q\"\n"
	    "  then remove header \"X-D\" matching /^on$/, remove header \"X-E\"; }\n");
	const pst_program_rule *r = rule(p, 0);
	const pst_expr *m = r->when->a->a, *ex = r->when->a->b, *st = r->when->b;
	assert_int_equal(m->lhs.kind, PST_OPND_HEADER);
	assert_int_equal(m->lhs.quant, PST_Q_ANY);
	assert_string_equal(m->lhs.header, "X-A");
	assert_string_equal(m->lhs.text, "any header \"X-A\"");
	assert_int_equal(m->cmp, PST_CMP_MATCHES);
	assert_non_null(m->re);
	assert_string_equal(m->re->source, "^ab+c$");
	assert_string_equal(m->re->flags, "i");
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	assert_true(pcre2_match(m->re->code, (PCRE2_SPTR)"ABBC", 4, 0, 0, md, NULL) > 0);
	assert_true(pcre2_match(m->re->code, (PCRE2_SPTR)"abd", 3, 0, 0, md, NULL) < 0);
	assert_int_equal(ex->lhs.quant, PST_Q_ALL);
	assert_int_equal(ex->cmp, PST_CMP_EXISTS);
	assert_int_equal(st->lhs.quant, PST_Q_FIRST);
	assert_int_equal(r->nactions, 2);
	assert_int_equal(r->actions[0].kind, PST_ACT_REMOVE_HEADER);
	assert_string_equal(r->actions[0].name, "X-D");
	assert_non_null(r->actions[0].re);
	assert_true(pcre2_match(r->actions[0].re->code, (PCRE2_SPTR)"on", 2, 0, 0, md, NULL) > 0);
	assert_null(r->actions[1].re);
	pcre2_match_data_free(md);
	pst_program_free(&p);
}

static void lists_of_each_kind(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "list d = domains { \"Example.NET\", bücher.example };\n"
	    "list n = ips { 192.0.2.0/24, 2001:db8::/32, ::ffff:203.0.113.7 };\n"
	    "list s = strings { \"b\", \"A\", \"ab\", \"a\" };\n"
	    "rule r { when from.domain in d or client.ip in n or subject in s or envelope.from in d\n"
	    "  or rcpt.domain in { \"x.example\" } then accept; }\n");
	const pst_expr *e = rule(p, 0)->when;
	const pst_list *ld = e->a->a->a->a->list, *ln = e->a->a->a->b->list;
	const pst_list *ls = e->a->a->b->list, *ld2 = e->a->b->list, *inl = e->b->list;
	assert_int_equal(ld->kind, PST_LIST_DOMAINS);
	assert_string_equal(ld->name, "d");
	assert_int_equal(ld->count, 2);
	assert_true(pst_domainset_contains(ld->domains, "mail.example.net"));
	assert_true(pst_domainset_contains(ld->domains, "xn--bcher-kva.example"));
	assert_false(pst_domainset_contains(ld->domains, "badexample.net"));
	assert_ptr_equal(ld, ld2);    /* a named list is built once */
	assert_int_equal(ln->kind, PST_LIST_IPS);
	assert_int_equal(ln->count, 3);
	pst_ip ip;
	assert_int_equal(pst_ip_parse("192.0.2.200", 11, &ip), 0);
	assert_true(pst_ipset_contains(ln->ips, &ip));
	assert_int_equal(pst_ip_parse("203.0.113.7", 11, &ip), 0);
	assert_true(pst_ipset_contains(ln->ips, &ip));
	assert_int_equal(pst_ip_parse("198.51.100.1", 12, &ip), 0);
	assert_false(pst_ipset_contains(ln->ips, &ip));
	assert_int_equal(ls->kind, PST_LIST_STRINGS);
	assert_int_equal(ls->nstrings, 4);
	static const char *const order[] = { "A", "a", "ab", "b" };
	for (size_t i = 0; i < 4; i++) {
		if (pst_list_strcmp(ls->strings[i], ls->string_lens[i], order[i],
		                           strlen(order[i])) != 0)
			fail_msg("strings[%zu]: got %s, want %s", i, ls->strings[i], order[i]);
	}
	assert_null(inl->name);
	assert_int_equal(inl->kind, PST_LIST_DOMAINS);
	assert_true(pst_domainset_contains(inl->domains, "a.x.example"));
	pst_program_free(&p);
}

static void inline_address_list_of_addresses_is_strings(void **state)
{
	(void)state;
	pst_program *p = compile_ok("rule r { when envelope.from in { \"a@b.example\" } then accept; }");
	assert_int_equal(rule(p, 0)->when->list->kind, PST_LIST_STRINGS);
	pst_program_free(&p);
}

static void actions_and_defaults(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
	    "rule a { when true then reject; }\n"
	    "rule b { when false then tempfail; }\n"
	    "rule c { when false then reject 554 5.7.0 \"no ${from.domain}!\"; }\n"
	    "rule d { when false then tempfail 421 4.4.5 \"later\"; }\n"
	    "rule e { when false then quarantine; }\n"
	    "rule f { when false then quarantine \"Junk\", tag \"t-1\", log \"l\"; }\n"
	    "rule g { when false then add header \"X-A\" \"v ${client.ip}\", replace header \"X-B\" \"w\",\n"
	    "  set from.display \"D\", set from.address \"a@b.example\", prepend subject \"[x] \", accept; }\n");
	const pst_rule_action *a = rule(p, 0)->actions;
	assert_int_equal(a->kind, PST_ACT_REJECT);
	assert_int_equal(a->code, 550);
	assert_string_equal(a->enhanced, "5.7.1");
	assert_null(a->text);
	a = rule(p, 1)->actions;
	assert_int_equal(a->kind, PST_ACT_TEMPFAIL);
	assert_int_equal(a->code, 451);
	assert_string_equal(a->enhanced, "4.7.1");
	a = rule(p, 2)->actions;
	assert_int_equal(a->code, 554);
	assert_string_equal(a->enhanced, "5.7.0");
	assert_non_null(a->text);
	assert_int_equal(a->text->nparts, 3);
	assert_string_equal(a->text->parts[0].lit, "no ");
	assert_int_equal(a->text->parts[0].len, 3);
	assert_int_equal(a->text->parts[0].is_fact, 0);
	assert_int_equal(a->text->parts[1].is_fact, 1);
	assert_int_equal(a->text->parts[1].fact, PST_F_FROM_DOMAIN);
	assert_null(a->text->parts[1].lit);
	assert_string_equal(a->text->parts[2].lit, "!");
	assert_string_equal(a->text->source, "no ${from.domain}!");
	a = rule(p, 3)->actions;
	assert_int_equal(a->code, 421);
	assert_string_equal(a->text->parts[0].lit, "later");
	a = rule(p, 4)->actions;
	assert_int_equal(a->kind, PST_ACT_QUARANTINE);
	assert_null(a->name);
	const pst_program_rule *r = rule(p, 5);
	assert_int_equal(r->nactions, 3);
	assert_string_equal(r->actions[0].name, "Junk");
	assert_int_equal(r->actions[1].kind, PST_ACT_TAG);
	assert_string_equal(r->actions[1].name, "t-1");
	assert_int_equal(r->actions[2].kind, PST_ACT_LOG);
	assert_string_equal(r->actions[2].value->parts[0].lit, "l");
	r = rule(p, 6);
	static const pst_action_kind kinds[] = {
		PST_ACT_ADD_HEADER, PST_ACT_REPLACE_HEADER, PST_ACT_SET_FROM_DISPLAY,
		PST_ACT_SET_FROM_ADDRESS, PST_ACT_PREPEND_SUBJECT, PST_ACT_ACCEPT,
	};
	assert_int_equal(r->nactions, N_ELEMS(kinds));
	for (size_t i = 0; i < N_ELEMS(kinds); i++)
		if (r->actions[i].kind != kinds[i])
			fail_msg("action %zu: got kind %d, want %d", i, r->actions[i].kind, kinds[i]);
	assert_string_equal(r->actions[0].name, "X-A");
	assert_int_equal(r->actions[0].value->nparts, 2);
	assert_int_equal(r->actions[0].value->parts[1].fact, PST_F_CLIENT_IP);
	assert_string_equal(r->actions[4].value->parts[0].lit, "[x] ");
	assert_true(pst_action_terminal(r->actions[5].kind));
	assert_false(pst_action_terminal(r->actions[4].kind));
	uint64_t fr = pst_program_facts_read(p);
	assert_true(fr & (UINT64_C(1) << PST_F_FROM_DOMAIN));
	assert_true(fr & (UINT64_C(1) << PST_F_CLIENT_IP));
	assert_false(fr & (UINT64_C(1) << PST_F_DKIM));
	pst_program_free(&p);
}

static void errors_give_no_program(void **state)
{
	(void)state;
	static const struct { const char *text; size_t errors; const char *want; } t[] = {
		{ "rule r { when client.ip == \"abc\" then accept; }", 1,
		  "t.rules:1:28: error: type mismatch: client.ip is an ip, \"abc\" is a string" },
		{ "rule r { when true then quarantine, discard; }", 1,
		  "t.rules:1:37: error: a rule ends evaluation once: 'discard' after 'quarantine'" },
		{ "rule r { when x then accept; } rule r { when y then accept; }", 3,
		  "duplicate rule name 'r'; the first is at t.rules:1:6" },
		{ "list l = domains file \"nonexistent-list.txt\";", 1,
		  "cannot read list file 'nonexistent-list.txt'" },
		{ "include \"nonexistent.rules\";", 1,
		  "t.rules:1:9: error: cannot read included file 'nonexistent.rules'" },
		{ "rule r { when header \"a\" == \"${x}\" then accept; }", 1,
		  "takes no ${...} interpolation" },
		{ "rule r { when subject == \"x\" then reject 550 5.7.1 \"a\\rb\"; }", 1,
		  "t.rules:1:54: error: an SMTP reply text cannot contain CR or LF" },
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		size_t errors;
		char *out = compile_fails(t[i].text, &errors);
		if (errors != t[i].errors)
			fail_msg("case %zu: got %zu errors, want %zu:\n%s", i, errors, t[i].errors, out);
		if (strstr(out, t[i].want) == NULL)
			fail_msg("case %zu: got\n%s\nwant it to contain\n%s", i, out, t[i].want);
		free(out);
	}
}

static void text_need_not_be_terminated(void **state)
{
	(void)state;
	const char text[] = "rule r { when true then accept; }XXXX";
	pst_diags *d = pst_diags_new();
	pst_program *p = NULL;
	assert_int_equal(pst_program_compile_text("t", text, sizeof text - 5, NULL, d, &p), 0);
	assert_int_equal(pst_program_rule_count(p), 1);
	pst_program_free(&p);
	pst_diags_free(&d);
}

static void diagnostics_render(void **state)
{
	(void)state;
	pst_diags *d = pst_diags_new();
	const char *src = "one\n\ttwo three\n";
	assert_int_equal(pst_diags_add_source(d, "f", src, strlen(src)), 0);
	pst_diags_report(d, PST_SEV_ERROR, "f", 2, 6, 3, "bad %s", "two");
	pst_diags_report(d, PST_SEV_WARNING, "f", 1, 1, 0, "w");
	pst_diags_report(d, PST_SEV_ERROR, "g", 0, 0, 0, "whole file");
	assert_int_equal(pst_diags_errors(d), 2);
	assert_int_equal(pst_diags_warnings(d), 1);
	pst_buf b = PST_BUF_INIT;
	assert_int_equal(pst_diags_render(d, &b), 0);
	assert_string_equal(pst_buf_str(&b),
	    "f:2:6: error: bad two\n"
	    "    2 | \ttwo three\n"
	    "      | \t    ^~~\n"
	    "f:1:1: warning: w\n"
	    "    1 | one\n"
	    "      | ^\n"
	    "g: error: whole file\n");
	pst_buf_free(&b);
	pst_diags_free(&d);
	assert_null(d);
}

static void diagnostics_are_bounded(void **state)
{
	(void)state;
	pst_diags *d = pst_diags_new();
	for (int i = 0; i < PST_MAX_DIAGNOSTICS + 5; i++)
		pst_diags_report(d, PST_SEV_ERROR, "f", 1, 1, 1, "e%d", i);
	assert_int_equal(pst_diags_errors(d), PST_MAX_DIAGNOSTICS + 5);
	pst_buf b = PST_BUF_INIT;
	assert_int_equal(pst_diags_render(d, &b), 0);
	assert_non_null(strstr(pst_buf_str(&b), "too many diagnostics, 5 more not shown"));
	pst_buf_free(&b);
	pst_diags_free(&d);
}

/* Seeded random mutations of a valid policy: compiling must never crash or
 * leak (run under the sanitizers), and must fail exactly when it reports
 * an error. */
static void random_mutations_are_diagnosed(void **state)
{
	(void)state;
	static const char base[] =
	    "authserv-id \"mx.example.net\";\n"
	    "list internal = domains { \"example.net\", b\xc3\xbc" "cher.example };\n"
	    "list nets = ips { 192.0.2.0/24, 2001:db8::/32 };\n"
	    "rule a { when dmarc == fail and not (client.ip in nets or from.domain in internal)\n"
	    "  then reject 550 5.7.1 \"no ${from.domain}\"; }\n"
	    "tenant \"agency.example\" mode audit {\n"
	    "  rule b { when header \"X-C\" matches /^(A|B)$/i then add header \"X-D\" \"v\"; }\n"
	    "}\n"
	    "rule c { when count(header \"Received\") > 3 then tempfail \"later\", log \"x\"; }\n";
	static const char *const frags[] = {
		"{", "}", "(", ")", ";", ",", "\"", "/", "${", "not ", "and ", "in ", "\\", "\n",
		"#", "::", "1.2.3.4/", "rule ", "tenant ", "\xff", "==", "5.7.", "mode ",
	};
	unsigned seed = 12345;
	char buf[2048];
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = sizeof base - 1;
		memcpy(buf, base, n);
		int edits = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 5;
		for (int k = 0; k < edits; k++) {
			seed = seed * 1103515245 + 12345;
			size_t pos = (seed >> 8) % (n + 1);
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 2 == 0) {
				const char *f = frags[(seed >> 4) % N_ELEMS(frags)];
				size_t fl = strlen(f);
				if (n + fl >= sizeof buf)
					continue;
				memmove(buf + pos + fl, buf + pos, n - pos);
				memcpy(buf + pos, f, fl);
				n += fl;
			} else {
				size_t del = 1 + (seed >> 20) % 8;
				if (pos + del > n)
					del = n - pos;
				memmove(buf + pos, buf + pos + del, n - pos - del);
				n -= del;
			}
		}
		pst_diags *d = pst_diags_new();
		pst_program *p = NULL;
		int rc = pst_program_compile_text("m.rules", buf, n, NULL, d, &p);
		if ((rc == 0) != (pst_diags_errors(d) == 0) || (rc == 0) != (p != NULL))
			fail_msg("iteration %d: rc %d with %zu errors", iter, rc, pst_diags_errors(d));
		pst_buf b = PST_BUF_INIT;
		assert_int_equal(pst_diags_render(d, &b), 0);
		pst_buf_free(&b);
		pst_program_free(&p);
		pst_diags_free(&d);
	}
}

/* envelope_only: the condition (both sides) and every action text read
 * envelope facts only, and no substitute reads the message. */
static void envelope_only_rules(void **state)
{
	(void)state;
	pst_program *p = compile_ok(
		"rule e0 { when client.ip == 192.0.2.1 and not (rcpt.domain == \"a.example\" or spf == fail)"
		" then reject \"${client.ptr} ${envelope.from.domain} ${spf.domain}\"; }\n"
		"rule e1 { when true then add header \"X-Helo\" \"${client.helo} ${helo.spf}\", log \"${rcpt}\"; }\n"
		"rule e2 { when envelope.from.domain == rcpt.domain then tag \"self\"; }\n"
		"rule e3 { when client.helo matches /^(mx)\\./ then reject \"$1\"; }\n"
		"rule m0 { when subject contains \"x\" then reject; }\n"
		"rule m1 { when client.ip == 192.0.2.1 and header \"X-A\" exists then reject; }\n"
		"rule m2 { when count(header \"Received\") > 30 then reject; }\n"
		"rule m3 { when envelope.from.domain != from.domain then reject; }\n"
		"rule m4 { when spf == fail then reject \"${from.address}\"; }\n"
		"rule m5 { when true then add header \"X-Size\" \"${size}\"; }\n"
		"rule m6 { when true then substitute header \"Subject\" /a/ \"b\"; }\n"
		"rule m7 { when not dmarc == pass then reject; }\n");
	for (size_t i = 0; i < pst_program_rule_count(p); i++) {
		const pst_program_rule *r = rule(p, i);
		if (r->envelope_only != (r->name[0] == 'e'))
			fail_msg("rule %s: envelope_only %d", r->name, r->envelope_only);
	}
	pst_program_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(settings_defaults),
		cmocka_unit_test(envelope_only_rules),
		cmocka_unit_test(settings_given),
		cmocka_unit_test(pct_seed_is_obsolete),
		cmocka_unit_test(after_queue_words),
		cmocka_unit_test(rules_in_file_order_with_tenants),
		cmocka_unit_test(condition_tree),
		cmocka_unit_test(negated_spellings),
		cmocka_unit_test(literal_types),
		cmocka_unit_test(facts_on_the_right),
		cmocka_unit_test(bare_words_stay_literals),
		cmocka_unit_test(fact_comparison_errors),
		cmocka_unit_test(headers_and_regexes),
		cmocka_unit_test(lists_of_each_kind),
		cmocka_unit_test(inline_address_list_of_addresses_is_strings),
		cmocka_unit_test(actions_and_defaults),
		cmocka_unit_test(errors_give_no_program),
		cmocka_unit_test(text_need_not_be_terminated),
		cmocka_unit_test(diagnostics_render),
		cmocka_unit_test(diagnostics_are_bounded),
		cmocka_unit_test(random_mutations_are_diagnosed),
	};
	return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
