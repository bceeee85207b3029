/* Unit tests for engine/cli/suite.c (the "postern test" suite parser) and
 * engine/cli/json.c (the report reader). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/suite.h"
#include "cli/json.h"

static const char good[] =
	"# a suite\n"
	"rules \"policy.rules\"\n"
	"now 2026-11-24T12:00:00Z\n"
	"dns none\n"
	"client-ip 192.0.2.1\n"
	"\n"
	"case \"inline\" {\n"
	"  mail-from <>\n"
	"  rcpt a@example.org b@example.org\n"
	"  message <<EOF\n"
	"    From: x@example.com\n"
	"\n"
	"    body\n"
	"    EOF\n"
	"  expect a@example.org reject\n"
	"  expect b@example.org {\n"
	"    smtp 550 5.7.1 \"go \\\"away\\\"\"\n"
	"    header \"X-Tag\" equals \"yes\"\n"
	"  }\n"
	"  dmarc fail reject spf-unaligned\n"
	"  rule none\n"
	"}\n"
	"case \"file\" {\n"
	"  message \"m.eml\"\n"
	"  dns <<Z\n"
	"  a.example. 300 IN A 192.0.2.9\n"
	"  Z\n"
	"  now 100\n"
	"  spf pass aligned\n"
	"}\n";

static pst_suite *parse_ok(const char *text)
{
	pst_suite *s = NULL;
	char *errors = NULL;
	int rc = pst_suite_parse("dir/t.test", text, strlen(text), &s, &errors);
	if (rc < 0)
		fprintf(stderr, "%s", errors ? errors : "(no text)\n");
	assert_int_equal(rc, 0);
	assert_null(errors);
	return s;
}

/* The error text of a suite that must not parse. Caller frees. */
static char *parse_bad(const char *text)
{
	pst_suite *s = NULL;
	char *errors = NULL;
	assert_int_equal(pst_suite_parse("t.test", text, strlen(text), &s, &errors), -1);
	assert_null(s);
	assert_non_null(errors);
	return errors;
}

static void expect_error(const char *text, const char *want)
{
	char *e = parse_bad(text);
	if (strstr(e, want) == NULL)
		fail_msg("wanted \"%s\" in:\n%s", want, e);
	free(e);
}

static void parses_a_suite(void **state)
{
	(void)state;
	pst_suite *s = parse_ok(good);
	assert_string_equal(s->rules, "policy.rules");
	assert_string_equal(s->dir, "dir");
	assert_int_equal(s->ncases, 2);
	pst_suite_case *c = &s->cases[0];
	assert_string_equal(c->name, "inline");
	assert_int_equal(c->pos.line, 7);
	assert_int_equal(c->now, 1795521600);
	assert_true(c->dns.none);
	assert_string_equal(c->client_ip, "192.0.2.1");
	assert_string_equal(c->mail_from, "");
	assert_int_equal(c->nrcpts, 2);
	assert_string_equal(c->message.text, "From: x@example.com\n\nbody\n");
	assert_int_equal(c->message.text_line, 11);
	assert_int_equal(c->message.indent, 4);
	assert_int_equal(c->nexpects, 5);
	assert_string_equal(c->expects[0].rcpt, "a@example.org");
	assert_string_equal(c->expects[0].word, "decision");
	assert_string_equal(c->expects[0].args[0], "reject");
	assert_string_equal(c->expects[1].word, "smtp");
	assert_string_equal(c->expects[1].args[2], "go \"away\"");
	assert_int_equal(c->expects[1].pos.line, 17);
	assert_int_equal(c->expects[1].pos.col, 5);
	assert_string_equal(c->expects[2].args[0], "X-Tag");
	assert_null(c->expects[3].rcpt);
	assert_string_equal(c->expects[4].rcpt, "*");
	c = &s->cases[1];
	assert_string_equal(c->message.path, "m.eml");
	assert_string_equal(c->dns.text, "a.example. 300 IN A 192.0.2.9\n");
	assert_int_equal(c->now, 100);
	assert_string_equal(c->client_ip, "192.0.2.1");
	char *p = pst_suite_path(s, c->message.path);
	assert_string_equal(p, "dir/m.eml");
	free(p);
	pst_suite_free(&s);
	assert_null(s);
}

#define HEAD "rules \"r.rules\"\nnow 1\ndns none\nmessage \"m.eml\"\n"

static void reports_line_and_column(void **state)
{
	(void)state;
	expect_error(HEAD "case \"x\" {\n  decision rejected\n}\n",
	             "t.test:6:12: error: 'rejected' is not a decision");
	expect_error(HEAD "case \"x\" {\n  smtp 55 5.7.1\n}\n", "t.test:6:8: error: '55' is not an SMTP reply code");
	expect_error(HEAD "case \"x\" {\n  smtp 550 4.7.1\n}\n", "t.test:6:12: error: '4.7.1' is not an enhanced status code");
	expect_error(HEAD "case \"x\" {\n  frobnicate 1\n}\n", "t.test:6:3: error: unknown statement 'frobnicate'");
	expect_error(HEAD "case \"x\" {\n  rule \"unterminated\n}\n", "t.test:6:8: error: the string has no closing quote");
	expect_error(HEAD "case \"x\" {\n  header X-A shows\n}\n", "t.test:6:14: error: 'shows' is not present, absent");
	expect_error(HEAD "case \"x\" {\n  spf maybe\n}\n", "t.test:6:7: error: 'maybe' is not an SPF result");
	expect_error(HEAD "case \"x\" {\n  expect a@b {\n    spf pass\n  }\n}\n",
	             "t.test:7:5: error: 'spf' is about the message");
	expect_error(HEAD "case \"x\" {\n  now yesterday\n}\n", "t.test:6:7: error: 'yesterday' is not a time");
	expect_error(HEAD "case \"x\" {\n  now 0\n}\n", "t.test:6:7: error: now 0 would mean the clock");
	expect_error(HEAD "case \"x\" {\n  message <<EOF\n  From: a\n}\n", "t.test:6:11: error: no line 'EOF' ends");
	expect_error(HEAD "}\n", "t.test:5:1: error: '}' closes nothing");
	expect_error(HEAD "frob\n", "t.test:5:1: error: unknown statement 'frob' at the top");
}

static void reports_structure(void **state)
{
	(void)state;
	expect_error("now 1\ndns none\nmessage \"m\"\ncase \"x\" {\n  rule none\n}\n",
	             "t.test:1:1: error: the suite names no rule file");
	expect_error(HEAD, "error: the suite has no case");
	expect_error(HEAD "case \"x\" {\n  rule none\n", "t.test:5:1: error: case \"x\" is not closed");
	expect_error(HEAD "case \"x\" {\n}\n", "t.test:5:1: error: case \"x\" expects nothing");
	expect_error("rules \"r\"\nnow 1\nmessage \"m\"\ncase \"x\" {\n  rule none\n}\n",
	             "t.test:4:1: error: case \"x\" has no DNS fixture");
	expect_error("rules \"r\"\ndns none\nmessage \"m\"\ncase \"x\" {\n  rule none\n}\n",
	             "t.test:4:1: error: case \"x\" has no time");
	expect_error("rules \"r\"\nnow 1\ndns none\ncase \"x\" {\n  rule none\n}\n",
	             "t.test:4:1: error: case \"x\" has no message");
	expect_error(HEAD "case \"x\" {\n  rule none\n}\ncase \"x\" {\n  rule none\n}\n",
	             "t.test:8:6: error: a case named \"x\" is already at line 5");
	expect_error(HEAD "rules \"again\"\ncase \"x\" {\n  rule none\n}\n",
	             "t.test:5:1: error: the suite already names a rule file");
	expect_error(HEAD "case \"x\" {\n  case \"y\" {\n", "t.test:6:3: error: case \"x\" (line 5) is not closed");
	expect_error(HEAD "case x {\n  rule none\n}\n", "t.test:5:1: error: malformed case");
}

static void several_errors_are_all_reported(void **state)
{
	(void)state;
	char *e = parse_bad(HEAD "case \"x\" {\n  decision maybe\n  applied perhaps\n  rule a b\n}\n");
	assert_non_null(strstr(e, "t.test:6:"));
	assert_non_null(strstr(e, "t.test:7:"));
	assert_non_null(strstr(e, "t.test:8:10: error: too many words"));
	/* The source line and a caret, as the rule compiler shows them. */
	assert_non_null(strstr(e, "\n    8 |   rule a b\n      |          ^\n"));
	free(e);
}

static void parses_matched(void **state)
{
	(void)state;
	pst_suite *s = parse_ok(HEAD "case \"x\" {\n  matched scrub_internal tag_it\n  expect a@b {\n"
	                        "    not matched dmarc_reject\n    matched none\n  }\n}\n");
	const pst_suite_case *c = &s->cases[0];
	assert_int_equal(c->nexpects, 3);
	const pst_suite_expect *e = &c->expects[0];
	assert_string_equal(e->rcpt, "*");
	assert_string_equal(e->word, "matched");
	assert_int_equal(e->nargs, 2);
	assert_string_equal(e->args[1], "tag_it");
	assert_int_equal(e->arg_cols[0], 11);
	assert_int_equal(e->arg_cols[1], 26);
	e = &c->expects[1];
	assert_string_equal(e->rcpt, "a@b");
	assert_string_equal(e->word, "not matched");
	assert_int_equal(e->nargs, 1);
	assert_string_equal(e->args[0], "dmarc_reject");
	assert_int_equal(e->pos.line, 8);
	assert_int_equal(e->pos.col, 5);
	assert_int_equal(e->arg_cols[0], 17);
	assert_string_equal(c->expects[2].args[0], "none");
	pst_suite_free(&s);
}

static void reports_malformed_matched(void **state)
{
	(void)state;
	expect_error(HEAD "case \"x\" {\n  matched\n}\n", "t.test:6:3: error: missing words (usage: matched RULE...");
	expect_error(HEAD "case \"x\" {\n  not matched\n}\n",
	             "t.test:6:3: error: missing words (usage: not matched RULE...)");
	expect_error(HEAD "case \"x\" {\n  not rule x\n}\n", "t.test:6:7: error: 'not' goes only before matched");
	expect_error(HEAD "case \"x\" {\n  not\n}\n", "t.test:6:3: error: 'not' goes only before matched");
	expect_error(HEAD "case \"x\" {\n  not matched none\n}\n", "t.test:6:15: error: not matched names rules");
	expect_error(HEAD "case \"x\" {\n  matched a none\n}\n", "t.test:6:13: error: matched none stands alone");
	expect_error(HEAD "case \"x\" {\n  matched a b c d e f g\n}\n", "t.test:6:23: error: too many words");
}

/* pst_suite_check_rules(): the names of matched expectations against a
 * rule file of three rules, one of them in audit mode. */
static void checks_matched_rule_names(void **state)
{
	(void)state;
	static const char *const names[] = { "scrub_internal", "external_banner", "dmarc_reject" };
	static const unsigned char audit[] = { 0, 1, 0 };
	static const struct {
		const char *stmt;
		const char *want;          /* NULL: no error */
	} cases[] = {
		{ "matched scrub_internal", NULL },
		{ "not matched dmarc_reject scrub_internal", NULL },
		{ "matched none", NULL },
		{ "matched scrub_internl", "r.test:6:11: error: 'scrub_internl' names no rule of r.rules; "
		  "did you mean 'scrub_internal'?\n" },
		{ "not matched dmarc_rejct", "r.test:6:15: error: 'dmarc_rejct' names no rule of r.rules; "
		  "did you mean 'dmarc_reject'?\n" },
		{ "matched scrub_internal nothing_like_it", "r.test:6:26: error: 'nothing_like_it' names no "
		  "rule of r.rules\n" },
		{ "matched external_banner", "r.test:6:11: error: 'external_banner' is an audit-mode rule: "
		  "matched covers the enforced rules; an audit rule's match is expected with audit "
		  "external_banner\n" },
		{ "audit external_banner", NULL },
		{ "rule no_such_rule", NULL },  /* only matched names are checked */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512];
		snprintf(text, sizeof text, HEAD "case \"x\" {\n  %s\n}\n", cases[i].stmt);
		pst_suite *s = NULL;
		char *errors = NULL;
		assert_int_equal(pst_suite_parse("r.test", text, strlen(text), &s, &errors), 0);
		int rc = pst_suite_check_rules(s, names, audit, 3, &errors);
		const char *got = errors ? errors : "(no error)";
		const char *want = cases[i].want ? cases[i].want : "(no error)";
		if (strcmp(got, want) != 0 || rc != (cases[i].want ? -1 : 0))
			fail_msg("%s: got rc %d \"%s\", want \"%s\"", cases[i].stmt, rc, got, want);
		free(errors);
		pst_suite_free(&s);
	}
}

static void loads_files(void **state)
{
	(void)state;
	pst_suite *s = NULL;
	char *errors = NULL;
	assert_int_equal(pst_suite_load("/nonexistent/x.test", &s, &errors), -1);
	assert_non_null(strstr(errors, "/nonexistent/x.test: error: cannot open the suite"));
	free(errors);
}

static void parses_times(void **state)
{
	(void)state;
	long long t;
	assert_int_equal(pst_suite_parse_time("1795424700", &t), 0);
	assert_int_equal(t, 1795424700);
	assert_int_equal(pst_suite_parse_time("1970-01-01T00:01:00Z", &t), 0);
	assert_int_equal(t, 60);
	assert_int_equal(pst_suite_parse_time("1970-01-01T00:01:00", &t), -1);
	assert_int_equal(pst_suite_parse_time("2026-13-01T00:00:00Z", &t), -1);
	assert_int_equal(pst_suite_parse_time("-5", &t), -1);
}

static void reads_json(void **state)
{
	(void)state;
	const char *j = "{\"a\": {\"b\": [1, {\"c\": \"x\\u00e9\\\"\"}, true, null]}, \"d\": -2.5e1}";
	pst_jval *v = NULL;
	assert_int_equal(pst_json_parse(j, strlen(j), &v), 0);
	assert_string_equal(pst_json_text(pst_json_path(v, "a.b[0]")), "1");
	assert_string_equal(pst_json_text(pst_json_path(v, "a.b[1].c")), "x\xc3\xa9\"");
	assert_string_equal(pst_json_text(pst_json_path(v, "a.b[2]")), "true");
	assert_string_equal(pst_json_text(pst_json_path(v, "a.b[3]")), "null");
	assert_string_equal(pst_json_text(pst_json_path(v, "d")), "-2.5e1");
	assert_null(pst_json_path(v, "a.b[9]"));
	assert_null(pst_json_text(pst_json_path(v, "a.b")));
	assert_int_equal(pst_json_path(v, "a.b[1].c")->len, 4);
	assert_int_equal(pst_json_path(v, "d")->len, 6);
	pst_json_free(&v);
	/* A string holding NUL keeps its length (the corpus tests need it). */
	const char *z = "[\"a\\u0000b\", \"\"]";
	assert_int_equal(pst_json_parse(z, strlen(z), &v), 0);
	const pst_jval *s0 = pst_json_at(v, 0), *s1 = pst_json_at(v, 1);
	assert_int_equal(s0->len, 3);
	assert_memory_equal(s0->text, "a\0b", 4);
	assert_int_equal(s1->len, 0);
	assert_string_equal(s1->text, "");
	pst_json_free(&v);
	assert_int_equal(pst_json_parse("{\"a\":}", 6, &v), -1);
	assert_int_equal(pst_json_parse("[1,", 3, &v), -1);
	assert_int_equal(pst_json_parse("\"\\u12\"", 6, &v), -1);
	assert_int_equal(pst_json_parse("[1] x", 5, &v), -1);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_a_suite),
		cmocka_unit_test(reports_line_and_column),
		cmocka_unit_test(reports_structure),
		cmocka_unit_test(several_errors_are_all_reported),
		cmocka_unit_test(parses_matched),
		cmocka_unit_test(reports_malformed_matched),
		cmocka_unit_test(checks_matched_rule_names),
		cmocka_unit_test(loads_files),
		cmocka_unit_test(parses_times),
		cmocka_unit_test(reads_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
