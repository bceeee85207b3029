/*
 * Unit tests for engine/milter/hdrdiff.c and decide.c: the header
 * operations, applied as an MTA applies them (a change or deletion names
 * the Nth field of its name, an insertion a 0-based position, an add the
 * end), turn the original header section into the rendered one for added
 * fields at the top, in-place changes, deletions, an insertion in the
 * middle, repeated names, LF endings and folded values; identical sections
 * give no operation. decide.c, over a policy compiled from text: the
 * strictest decision of the recipients with its reply, and for an accept
 * the edits as delivered (the rules' added fields, then
 * Authentication-Results: at index 0 when no rule adds one), a tempfail
 * without a recipient.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "postern.h"
#include "milter/decide.h"
#include "milter/hdrdiff.h"

#define MAXF 64

/* A header list as an MTA holds it: "Name: value" strings, folds as \n. */
struct list {
	char *f[MAXF];
	size_t n;
};

static void parse(const char *text, struct list *l)
{
	l->n = 0;
	const char *p = text;
	while (*p && *p != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
		const char *e = p;
		for (;;) {
			const char *nl = strchr(e, '\n');
			e = nl ? nl + 1 : e + strlen(e);
			if (*e != ' ' && *e != '\t')
				break;
		}
		size_t len = (size_t)(e - p);
		char *s = malloc(len + 1), *o = s;
		for (size_t i = 0; i < len; i++)
			if (p[i] != '\r')
				*o++ = p[i];
		if (o > s && o[-1] == '\n')
			o--;
		*o = '\0';
		l->f[l->n++] = s;
		p = e;
	}
}

static void free_list(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->f[i]);
	l->n = 0;
}

static char *field(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	char *s = malloc(n);
	snprintf(s, n, "%s: %s", name, value);
	return s;
}

static void apply(struct list *l, const pst_hdrop *op)
{
	size_t nl = strlen(op->name);
	if (op->kind == PST_HDROP_CHANGE) {
		int seen = 0;
		for (size_t i = 0; i < l->n; i++)
			if (strncasecmp(l->f[i], op->name, nl) == 0 && l->f[i][nl] == ':' &&
			    ++seen == op->index) {
				free(l->f[i]);
				if (op->value)
					l->f[i] = field(op->name, op->value);
				else {
					memmove(&l->f[i], &l->f[i + 1], (l->n - i - 1) * sizeof l->f[0]);
					l->n--;
				}
				return;
			}
		fail_msg("no field %s #%d", op->name, op->index);
	}
	size_t at = op->kind == PST_HDROP_ADD ? l->n : (size_t)op->index;
	assert_true(at <= l->n);
	memmove(&l->f[at + 1], &l->f[at], (l->n - at) * sizeof l->f[0]);
	l->f[at] = field(op->name, op->value);
	l->n++;
}

/* Apply the diff of orig to rend and compare with rend; the op count. */
static size_t check(const char *orig, const char *rend)
{
	pst_hdrop *ops = NULL;
	size_t nops = 0;
	assert_int_equal(pst_hdrdiff(orig, strlen(orig), rend, strlen(rend), &ops, &nops), 0);
	struct list got, want;
	parse(orig, &got);
	parse(rend, &want);
	for (size_t i = 0; i < nops; i++)
		apply(&got, &ops[i]);
	assert_int_equal(got.n, want.n);
	for (size_t i = 0; i < got.n; i++)
		assert_string_equal(got.f[i], want.f[i]);
	free_list(&got);
	free_list(&want);
	pst_hdrops_free(ops, nops);
	return nops;
}

static void test_identical(void **state)
{
	(void)state;
	assert_int_equal(check("A: 1\r\nB: 2\r\n\r\nbody", "A: 1\r\nB: 2\r\n\r\nbody"), 0);
	assert_int_equal(check("\r\nbody", "\r\nbody"), 0);
}

static void test_top_insert(void **state)
{
	(void)state;
	const char *o = "Received: x\r\nFrom: a@b\r\nSubject: s\r\n\r\nbody\r\n";
	const char *r = "Authentication-Results: mx; spf=pass\r\nX-Tag: 1\r\n"
	                "Received: x\r\nFrom: a@b\r\nSubject: s\r\n\r\nbody\r\n";
	pst_hdrop *ops = NULL;
	size_t n = 0;
	assert_int_equal(pst_hdrdiff(o, strlen(o), r, strlen(r), &ops, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ops[0].kind, PST_HDROP_INSERT);
	assert_int_equal(ops[0].index, 0);
	assert_string_equal(ops[0].name, "Authentication-Results");
	assert_string_equal(ops[0].value, "mx; spf=pass");
	assert_int_equal(ops[1].index, 1);
	pst_hdrops_free(ops, n);
	assert_int_equal(check(o, r), 2);
}

static void test_change_delete_middle(void **state)
{
	(void)state;
	/* a forged AR deleted, the subject changed in place, X-Original-From
	 * inserted above a rewritten From, the second X-A deleted */
	const char *o = "Authentication-Results: mx; dmarc=pass\r\nReceived: x\r\n"
	                "From: \"Bank\" <a@evil>\r\nX-A: 1\r\nSubject: hi\r\nX-A: 2\r\n\r\nb";
	const char *r = "Authentication-Results: mx; dmarc=fail\r\nReceived: x\r\n"
	                "X-Original-From: \"Bank\" <a@evil>\r\nFrom: <a@evil>\r\nX-A: 1\r\n"
	                "Subject: [EXT] hi\r\n\r\nb";
	/* the forged AR deleted and ours inserted (never one changed into the
	 * other), From and Subject changed, X-Original-From inserted, X-A #2
	 * deleted */
	assert_int_equal(check(o, r), 6);
	/* the end: added */
	assert_int_equal(check("A: 1\r\n\r\n", "A: 1\r\nZ: 9\r\n\r\n"), 1);
}

static void test_repeated_names(void **state)
{
	(void)state;
	assert_int_equal(check("X: 1\r\nX: 2\r\nX: 3\r\nX: 4\r\n\r\n", "X: 1\r\nX: 3\r\n\r\n"), 2);
	check("X: 1\r\nX: 2\r\nX: 3\r\n\r\n", "X: 0\r\nX: 2\r\nY: 1\r\nX: 5\r\n\r\n");
	check("A: 1\nB: 2\nA: 3\n\nbody\n", "A: 3\nB: 2\nA: 1\n\nbody\n");
}

static void test_folded(void **state)
{
	(void)state;
	const char *o = "Subject: a\r\n long\r\nTo: x\r\n\r\n";
	const char *r = "Subject: [EXT] a\r\n long\r\nTo: x\r\n\r\n";
	pst_hdrop *ops = NULL;
	size_t n = 0;
	assert_int_equal(pst_hdrdiff(o, strlen(o), r, strlen(r), &ops, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].kind, PST_HDROP_CHANGE);
	assert_int_equal(ops[0].index, 1);
	assert_string_equal(ops[0].value, "[EXT] a\n long");
	pst_hdrops_free(ops, n);
	check(o, r);
}

/* ---- decide.c ---- */

static const char rules[] =
	"authserv-id \"mx.test\";\n"
	"rule no_bad { when envelope.from == \"bad@example.net\" then reject 550 5.7.1 \"go away\"; }\n"
	"rule later { when rcpt == \"slow@example.org\" then tempfail 451 4.7.1 \"later\"; }\n"
	"rule tagit { when rcpt == \"tag@example.org\" then add header \"X-Tag\" \"yes\"; }\n";

static pst_policy *policy(void)
{
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	int rc = pst_policy_compile_text("t.rules", rules, strlen(rules), NULL, &p, &rep);
	if (rc < 0)
		fail_msg("%s", rep.text ? rep.text : "compile");
	pst_report_clear(&rep);
	return p;
}

static void decide(const pst_policy *p, const char *from, const char *const *rcpts, size_t n,
                   const char *data, pst_milter_outcome *o)
{
	pst_milter_txn t = { .client_ip = "192.0.2.1", .helo = "h.example.net", .mail_from = from,
	                     .rcpts = rcpts, .nrcpts = n, .data = data, .len = strlen(data) };
	pst_milter_decide(p, NULL, &t, o);
}

static void test_decide(void **state)
{
	(void)state;
	pst_policy *p = policy();
	const char *msg = "From: a@example.net\r\nSubject: s\r\n\r\nhello\r\n";
	pst_milter_outcome o;
	const char *r1[] = { "tag@example.org" };
	decide(p, "", r1, 1, msg, &o);
	/* as delivered: the rules' added fields, then Authentication-Results */
	assert_int_equal(o.action, PST_ACCEPT);
	assert_int_equal(o.nops, 2);
	assert_int_equal(o.ops[0].kind, PST_HDROP_INSERT);
	assert_int_equal(o.ops[0].index, 0);
	assert_string_equal(o.ops[0].name, "X-Tag");
	assert_string_equal(o.ops[0].value, "yes");
	assert_int_equal(o.ops[1].kind, PST_HDROP_INSERT);
	assert_int_equal(o.ops[1].index, 1);
	assert_string_equal(o.ops[1].name, "Authentication-Results");
	assert_true(strncmp(o.ops[1].value, "mx.test;", 8) == 0);
	pst_milter_outcome_free(&o);

	const char *r0[] = { "plain@example.org" };
	decide(p, "", r0, 1, msg, &o);
	assert_int_equal(o.action, PST_ACCEPT);
	assert_int_equal(o.nops, 1);
	assert_int_equal(o.ops[0].index, 0);
	assert_string_equal(o.ops[0].name, "Authentication-Results");
	pst_milter_outcome_free(&o);

	const char *r2[] = { "ok@example.org", "slow@example.org" };
	decide(p, "x@example.net", r2, 2, msg, &o);
	assert_int_equal(o.action, PST_TEMPFAIL);
	assert_int_equal(o.code, 451);
	assert_string_equal(o.text, "later");
	assert_int_equal(o.mixed, 1);
	assert_string_equal(o.rule, "later");
	pst_milter_outcome_free(&o);

	decide(p, "bad@example.net", r2, 2, msg, &o);
	assert_int_equal(o.action, PST_REJECT);
	assert_int_equal(o.code, 550);
	assert_string_equal(o.enhanced, "5.7.1");
	assert_string_equal(o.text, "go away");
	assert_int_equal(o.mixed, 0);
	pst_milter_outcome_free(&o);

	decide(p, "x@example.net", r2, 0, msg, &o);
	assert_int_equal(o.action, PST_TEMPFAIL);
	assert_string_equal(o.why, "no recipient");
	pst_milter_outcome_free(&o);
	pst_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_top_insert),
		cmocka_unit_test(test_change_delete_middle),
		cmocka_unit_test(test_repeated_names),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
