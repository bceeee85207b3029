/* The facts registry (lang/facts/registry.h) and its providers: every
 * fact named, found by its name, of a known type, and computed by exactly
 * whom its registry line says (the message layer's table for MESSAGE
 * facts, the auth layer's for AUTH facts, none for the evaluator's RCPT
 * facts); and every provider, read through a real message (with auth
 * results given, then computed over a DNS fixture), succeeds, gives the
 * type its registry line declares, and is known when the message says. */
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
#include "lang/facts.h"
#include "message_auth.h"
#include "message_facts.h"

static const char *const origin_names[] = { "message", "auth", "rcpt" };

/* Names, lookup, types and who provides each fact. */
static void registry(void **state)
{
	(void)state;
	char upper[64];

	for (int f = 0; f < PST_F__COUNT; f++) {
		const char *name = pst_fact_name((pst_fact)f);
		pst_fact_origin o = pst_fact_origin_of((pst_fact)f);
		assert_non_null(name);
		if (*name == '\0' || strcmp(name, "?") == 0)
			fail_msg("fact %d: got name \"%s\", want a name", f, name);
		int got = pst_fact_lookup(name, strlen(name));
		if (got != f)
			fail_msg("fact %s: lookup got %d, want %d (a name given twice?)", name, got, f);
		assert_true(strlen(name) < sizeof upper);
		for (size_t i = 0; name[i]; i++)
			upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		assert_int_equal(pst_fact_lookup(upper, strlen(name)), f);
		if (strcmp(pst_type_name(pst_fact_type((pst_fact)f)), "?") == 0)
			fail_msg("fact %s: got no type name, want one", name);
		assert_true((unsigned)o <= PST_ORIGIN_RCPT);
		if (pst_fact_is_auth((pst_fact)f) != (o == PST_ORIGIN_AUTH))
			fail_msg("fact %s: got is_auth %d, want %d (origin %s)", name,
			         pst_fact_is_auth((pst_fact)f), o == PST_ORIGIN_AUTH, origin_names[o]);
		int provided = pst_message_fact_provided((pst_fact)f);
		if (provided != (o != PST_ORIGIN_RCPT))
			fail_msg("fact %s (origin %s): got provided %d, want %d", name, origin_names[o],
			         provided, o != PST_ORIGIN_RCPT);
		int by_auth = pst_auth_fact_provided((pst_fact)f);
		if (by_auth != (o == PST_ORIGIN_AUTH))
			fail_msg("fact %s (origin %s): got an auth provider %d, want %d", name,
			         origin_names[o], by_auth, o == PST_ORIGIN_AUTH);
	}
	/* The evaluator's own facts are the two rcpt ones. */
	assert_int_equal(pst_fact_origin_of(PST_F_RCPT), PST_ORIGIN_RCPT);
	assert_int_equal(pst_fact_origin_of(PST_F_RCPT_DOMAIN), PST_ORIGIN_RCPT);
	/* What is no fact. */
	assert_string_equal(pst_fact_name(PST_F__COUNT), "?");
	assert_int_equal(pst_fact_lookup("client.ipx", 10), -1);
	assert_int_equal(pst_fact_lookup("client.ip", 8), -1);
	assert_false(pst_fact_is_auth(PST_F__COUNT));
	assert_false(pst_message_fact_provided(PST_F__COUNT));
	assert_false(pst_auth_fact_provided(PST_F__COUNT));
}

static const char message[] =
	"From: Ann <ann@example.net>\r\n"
	"To: bob@example.org\r\n"
	"Sender: list@lists.example.net\r\n"
	"Reply-To: <ann@example.net>\r\n"
	"Subject: =?UTF-8?Q?caf=C3=A9?=\r\n"
	"Authentication-Results: gw.example.org; spf=pass; dkim=fail; dmarc=pass\r\n"
	"\r\n"
	"body\r\n";

static const char policy_text[] =
	"trusted-authserv-id \"gw.example.org\";\n"
	"rule r { when true then accept; }\n";

static const char zone[] =
	"example.net. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	"_dmarc.example.net. 300 IN TXT \"v=DMARC1; p=reject\"\n";

static pst_dns *fixture(void)
{
	char path[] = "/tmp/postern-facts-XXXXXX";
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

/* Whether fact f is among the n facts of list. */
static int listed(pst_fact f, const pst_fact *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == f)
			return 1;
	return 0;
}

/* Read every fact but the evaluator's through m's fact source: each
 * provider succeeds, gives its registry type, and is known unless it is
 * one of the n facts of unknown. */
static void read_every_fact(const char *run, pst_message *m, const pst_fact *unknown, size_t n)
{
	pst_fact_source src;

	pst_message_fact_source(m, &src);
	for (int i = 0; i < PST_F__COUNT; i++) {
		pst_fact f = (pst_fact)i;
		pst_value v;
		if (pst_fact_origin_of(f) == PST_ORIGIN_RCPT)
			continue;
		int rc = src.fact(src.ctx, f, &v);
		if (rc != 0)
			fail_msg("%s: fact %s: got rc %d, want 0", run, pst_fact_name(f), rc);
		if (v.type != pst_fact_type(f))
			fail_msg("%s: fact %s: got type %s, want %s", run, pst_fact_name(f),
			         pst_type_name(v.type), pst_type_name(pst_fact_type(f)));
		if (v.known != !listed(f, unknown, n))
			fail_msg("%s: fact %s: got known %d, want %d", run, pst_fact_name(f), v.known,
			         !listed(f, unknown, n));
	}
}

static void providers_give_their_types(void **state)
{
	(void)state;
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	if (pst_policy_compile_text("t.rules", policy_text, strlen(policy_text), NULL, &p, &rep) < 0)
		fail_msg("compile: %s", rep.text ? rep.text : "?");
	pst_report_clear(&rep);
	pst_dns *dns = fixture();
	const char *rcpts[] = { "bob@example.org" };
	pst_envelope env = { .client_ip = "192.0.2.7", .client_name = "mail.example.net",
	                     .helo = "mail.example.net",
	                     .mail_from = "ann@example.net", .rcpts = rcpts, .nrcpts = 1 };
	const char *dkim_domains[] = { "example.net" };
	pst_auth_given given = { .spf = "pass", .spf_domain = "example.net", .helo_spf = "none",
	                         .dkim = "pass", .dkim_domains = dkim_domains, .ndkim_domains = 1,
	                         .dmarc = "pass", .dmarc_policy = "reject",
	                         .dmarc_domain = "example.net" };
	pst_message_opts with_given = { .dns = dns, .auth = &given };
	pst_message_opts computed = { .dns = dns };
	/* No error (From, MIME), no duplicate field, nothing a signature leaves uncovered;
	 * given results say nothing of an l= either. */
	static const pst_fact unknown_given[] = {
		PST_F_FROM_ERROR, PST_F_HEADER_DUPLICATE, PST_F_DKIM_UNSIGNED_HEADER,
		PST_F_DKIM_UNSIGNED_BODY, PST_F_MIME_ERROR,
	};
	static const pst_fact unknown_computed[] = {
		PST_F_FROM_ERROR, PST_F_HEADER_DUPLICATE, PST_F_DKIM_UNSIGNED_HEADER,
		PST_F_MIME_ERROR,
	};
	const struct {
		const char *name;
		const pst_message_opts *opts;
		const pst_fact *unknown;
		size_t nunknown;
	} runs[] = {
		{ "given", &with_given, unknown_given, sizeof unknown_given / sizeof unknown_given[0] },
		{ "computed", &computed, unknown_computed,
		  sizeof unknown_computed / sizeof unknown_computed[0] },
	};
	char err[256] = "";

	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		pst_message *m = NULL;
		if (pst_message_new(p, message, strlen(message), &env, runs[i].opts, &m, err,
		                    sizeof err) < 0)
			fail_msg("%s: pst_message_new: %s", runs[i].name, err);
		read_every_fact(runs[i].name, m, runs[i].unknown, runs[i].nunknown);
		pst_message_free(&m);
	}
	pst_dns_free(&dns);
	pst_policy_free(&p);
}

/* The text of fact f of m, or NULL when unknown. */
static const char *fact_text(pst_message *m, pst_fact f, char *buf, size_t len)
{
	pst_fact_source src;
	pst_value v;

	pst_message_fact_source(m, &src);
	assert_int_equal(src.fact(src.ctx, f, &v), 0);
	assert_int_equal(v.type, pst_fact_type(f));
	if (!v.known)
		return NULL;
	snprintf(buf, len, "%.*s", (int)v.u.s.len, v.u.s.p);
	return buf;
}

static void expect_text(const char *run, pst_message *m, pst_fact f, const char *want)
{
	char buf[256];
	const char *got = fact_text(m, f, buf, sizeof buf);

	if (got == NULL && want == NULL)
		return;
	if (got == NULL || want == NULL || strcmp(got, want) != 0)
		fail_msg("%s: %s: got %s%s%s, want %s%s%s", run, pst_fact_name(f), got ? "\"" : "",
		         got ? got : "unknown", got ? "\"" : "", want ? "\"" : "",
		         want ? want : "unknown", want ? "\"" : "");
}

/* sender.* and reply_to.*: read as from.* is (one field, one mailbox, a
 * valid dotted domain, normalised), unknown otherwise. */
static void sender_and_reply_to(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *fields;       /* after From, before the blank line */
		const char *sender, *sender_domain, *reply_to, *reply_to_domain;
	} cases[] = {
		{ "none", "", NULL, NULL, NULL, NULL },
		{ "plain", "Sender: Lists <owner@Lists.Example.NET>\r\nReply-To: bob@example.org\r\n",
		  "owner@Lists.Example.NET", "lists.example.net", "bob@example.org", "example.org" },
		{ "trailing dot", "Reply-To: bob@example.org.\r\n", NULL, NULL, "bob@example.org.",
		  "example.org" },
		{ "U-label", "Reply-To: x@b\xc3\xbc" "cher.example\r\n", NULL, NULL,
		  "x@b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
		{ "encoded display name",
		  "Reply-To: =?UTF-8?Q?Caf=C3=A9?= <cafe@example.org>\r\n", NULL, NULL,
		  "cafe@example.org", "example.org" },
		{ "two addresses", "Reply-To: a@example.org, b@example.org\r\n", NULL, NULL, NULL, NULL },
		{ "two fields", "Reply-To: a@example.org\r\nReply-To: a@example.org\r\n", NULL, NULL,
		  NULL, NULL },
		{ "group", "Reply-To: team: a@example.org;\r\n", NULL, NULL, NULL, NULL },
		{ "empty group", "Sender: undisclosed:;\r\n", NULL, NULL, NULL, NULL },
		{ "no domain", "Sender: owner\r\nReply-To: <>\r\n", NULL, NULL, NULL, NULL },
		{ "undotted domain", "Reply-To: root@localhost\r\n", NULL, NULL, NULL, NULL },
		{ "invalid domain", "Reply-To: a@exa mple..org\r\n", NULL, NULL, NULL, NULL },
		{ "route", "Reply-To: <@relay.example:a@example.org>\r\n", NULL, NULL, NULL, NULL },
		{ "encoded-word in the address",
		  "Reply-To: =?UTF-8?Q?a=40evil.example?=@example.org\r\n", NULL, NULL, NULL, NULL },
		{ "mixed scripts", "Reply-To: a@b\xd0\xb0nk.example\r\n", NULL, NULL, NULL, NULL },
		{ "empty", "Reply-To:\r\n", NULL, NULL, NULL, NULL },
		{ "unparsable", "Sender: <<<\r\nReply-To: a@example.org\r\n", NULL, NULL,
		  "a@example.org", "example.org" },
	};
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	if (pst_policy_compile_text("t.rules", policy_text, strlen(policy_text), NULL, &p, &rep) < 0)
		fail_msg("compile: %s", rep.text ? rep.text : "?");
	pst_report_clear(&rep);
	const char *rcpts[] = { "bob@example.org" };
	pst_envelope env = { .rcpts = rcpts, .nrcpts = 1 };

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[1024], err[256] = "";
		pst_message *m = NULL;
		snprintf(text, sizeof text, "From: ann@example.net\r\n%s\r\nbody\r\n", cases[i].fields);
		if (pst_message_new(p, text, strlen(text), &env, NULL, &m, err, sizeof err) < 0)
			fail_msg("%s: pst_message_new: %s", cases[i].name, err);
		/* Twice: the second read comes from what the first kept. */
		for (int k = 0; k < 2; k++) {
			expect_text(cases[i].name, m, PST_F_SENDER_ADDRESS, cases[i].sender);
			expect_text(cases[i].name, m, PST_F_SENDER_DOMAIN, cases[i].sender_domain);
			expect_text(cases[i].name, m, PST_F_REPLY_TO_ADDRESS, cases[i].reply_to);
			expect_text(cases[i].name, m, PST_F_REPLY_TO_DOMAIN, cases[i].reply_to_domain);
		}
		pst_message_free(&m);
	}
	pst_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registry),
		cmocka_unit_test(providers_give_their_types),
		cmocka_unit_test(sender_and_reply_to),
	};

	return cmocka_run_group_tests_name("facts", tests, NULL, NULL);
}
