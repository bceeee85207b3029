/*
 * Unit tests for engine/lmtp/proto: LMTP sessions as scripts of lines the
 * client sends ("C: ") and reply lines expected ("S: ", a prefix of the
 * reply line). Every script runs three ways: a line at a time, all input in
 * one chunk (pipelined), and one byte at a time; the replies must be the
 * same each way. The owner used here accepts every recipient except those
 * whose local part is "unknown" (550 5.1.1) and answers 250 at the end of
 * DATA, or 451 for a local part "tempfail"; it records the last message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/proto.h"
#include "util/limits.h"
#include "util/buf.h"

struct owner {
	pst_buf out;
	pst_buf msg;
	char mail_from[256];
	char rcpts[1024];
	char xfwd[PST_XF_COUNT][300];
	int have_xfwd[PST_XF_COUNT];
	int body_8bit, smtputf8;
	int deliveries;
	char refused[1024];     /* "address|code|reason|nrcpts;" per refused RCPT */
};

static void o_write(void *ctx, const char *b, size_t n)
{
	struct owner *o = ctx;
	assert_int_equal(pst_buf_append(&o->out, b, n), 0);
}

static void o_rcpt(void *ctx, const char *addr, pst_lmtp_reply *r)
{
	(void)ctx;
	if (strncmp(addr, "unknown@", 8) == 0)
		pst_lmtp_reply_set(r, 550, "5.1.1", "User unknown");
}

static void o_data(void *ctx, const pst_lmtp_txn *t, pst_lmtp_reply *rs)
{
	struct owner *o = ctx;
	o->deliveries++;
	pst_buf_clear(&o->msg);
	assert_int_equal(pst_buf_append(&o->msg, t->data, t->len), 0);
	snprintf(o->mail_from, sizeof o->mail_from, "%s", t->mail_from);
	o->rcpts[0] = '\0';
	for (size_t i = 0; i < t->nrcpts; i++) {
		strncat(o->rcpts, t->rcpts[i], sizeof o->rcpts - strlen(o->rcpts) - 2);
		strcat(o->rcpts, ",");
		if (strncmp(t->rcpts[i], "tempfail@", 9) == 0)
			pst_lmtp_reply_set(&rs[i], 451, "4.3.0", "try later");
		else
			pst_lmtp_reply_set(&rs[i], 250, "2.0.0", "delivered");
	}
	for (int i = 0; i < PST_XF_COUNT; i++) {
		o->have_xfwd[i] = t->xfwd[i] != NULL;
		snprintf(o->xfwd[i], sizeof o->xfwd[i], "%s", t->xfwd[i] ? t->xfwd[i] : "");
	}
	o->body_8bit = t->body_8bit;
	o->smtputf8 = t->smtputf8;
}

static void o_refused(void *ctx, const pst_lmtp_txn *t, const char *addr,
                      const pst_lmtp_reply *r, const char *reason)
{
	struct owner *o = ctx;
	size_t n = strlen(o->refused);
	snprintf(o->refused + n, sizeof o->refused - n, "%s|%d|%s|%zu|%s;", addr, r->code, reason,
	         t->nrcpts, t->mail_from);
}

static const pst_lmtp_ops ops = { o_write, o_rcpt, o_data, o_refused };

enum mode { LINES, CHUNK, BYTES };

struct session {
	struct owner o;
	pst_lmtp *p;
};

static void start(struct session *s, const pst_lmtp_limits *lim)
{
	memset(&s->o, 0, sizeof s->o);
	pst_lmtp_limits def = { .hostname = "mx.test", .max_size = 10000, .xforward_allowed = 1 };
	s->p = pst_lmtp_new(&ops, lim ? lim : &def, &s->o);
	assert_non_null(s->p);
	pst_lmtp_greet(s->p);
}

static void stop(struct session *s)
{
	pst_lmtp_free(&s->p);
	assert_null(s->p);
	pst_buf_free(&s->o.out);
	pst_buf_free(&s->o.msg);
}

/* Feed n bytes in the given mode; returns the last feed's result. */
static int feed(pst_lmtp *p, const char *b, size_t n, enum mode m)
{
	int rc = PST_LMTP_OPEN;
	if (m == BYTES) {
		for (size_t i = 0; i < n; i++)
			rc = pst_lmtp_feed(p, b + i, 1);
		return rc;
	}
	return pst_lmtp_feed(p, b, n);
}

/* Check the reply lines in out against the S: lines of script. */
static void expect_replies(const char *name, enum mode m, const char *out, const char *const *script)
{
	const char *pos = out;
	/* The greeting comes first. */
	assert_true(strncmp(pos, "220 mx.test", 11) == 0);
	pos = strchr(pos, '\n') + 1;
	for (size_t i = 0; script[i]; i++) {
		if (strncmp(script[i], "S: ", 3) != 0)
			continue;
		const char *want = script[i] + 3;
		const char *eol = strstr(pos, "\r\n");
		char got[1100];
		snprintf(got, sizeof got, "%.*s", eol ? (int)(eol - pos) : (int)strlen(pos), pos);
		if (strncmp(got, want, strlen(want)) != 0) {
			print_error("%s (mode %d), script line %zu: got \"%s\", want \"%s...\"\n",
			            name, (int)m, i + 1, got, want);
			fail();
		}
		pos = eol ? eol + 2 : pos + strlen(pos);
	}
	if (*pos) {
		print_error("%s (mode %d): unexpected replies left: \"%s\"\n", name, (int)m, pos);
		fail();
	}
}

static void run_script_mode(const char *name, const char *const *script, enum mode m,
                            const pst_lmtp_limits *lim, struct owner *keep)
{
	struct session s;
	start(&s, lim);
	pst_buf all = PST_BUF_INIT;
	for (size_t i = 0; script[i]; i++) {
		if (strncmp(script[i], "C: ", 3) != 0)
			continue;
		if (m == CHUNK) {
			assert_int_equal(pst_buf_printf(&all, "%s\r\n", script[i] + 3), 0);
			continue;
		}
		char line[4096];
		int n = snprintf(line, sizeof line, "%s\r\n", script[i] + 3);
		feed(s.p, line, (size_t)n, m);
	}
	if (m == CHUNK)
		feed(s.p, all.data, all.len, m);
	pst_buf_free(&all);
	expect_replies(name, m, pst_buf_str(&s.o.out), script);
	if (keep) {
		pst_buf_free(&keep->out);
		pst_buf_free(&keep->msg);
		*keep = s.o;
		memset(&s.o.out, 0, sizeof s.o.out);
		memset(&s.o.msg, 0, sizeof s.o.msg);
	}
	stop(&s);
}

/* Run one script in every mode; keep the owner of the last run. */
static void run_script(const char *name, const char *const *script, const pst_lmtp_limits *lim,
                       struct owner *keep)
{
	run_script_mode(name, script, LINES, lim, NULL);
	run_script_mode(name, script, CHUNK, lim, NULL);
	run_script_mode(name, script, BYTES, lim, keep);
}

/* ---- The scripts ------------------------------------------------------ */

static const char *const s_basic[] = {
	"C: LHLO client.test",
	"S: 250-mx.test", "S: 250-PIPELINING", "S: 250-SIZE 10000", "S: 250-ENHANCEDSTATUSCODES",
	"S: 250-8BITMIME", "S: 250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE",
	"S: 250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT",
	"S: 250 SMTPUTF8",
	"C: MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME SMTPUTF8", "S: 250 2.1.0",
	"C: RCPT TO:<bob@example.net>", "S: 250 2.1.5",
	"C: RCPT TO:<unknown@example.net>", "S: 550 5.1.1",
	"C: RCPT TO:<carol@example.net>", "S: 250 2.1.5",
	"C: RCPT TO:<tempfail@example.net>", "S: 250 2.1.5",
	"C: DATA", "S: 354 ",
	"C: Subject: hi",
	"C: ",
	"C: ..leading dot",
	"C: .",
	"S: 250 2.0.0 delivered", "S: 250 2.0.0 delivered", "S: 451 4.3.0 try later",
	"C: NOOP", "S: 250 2.0.0",
	"C: VRFY bob", "S: 252 2.0.0",
	"C: QUIT", "S: 221 2.0.0",
	NULL
};

static void basic_session(void **state)
{
	(void)state;
	struct owner o = { 0 };
	run_script("basic", s_basic, NULL, &o);
	assert_int_equal(o.deliveries, 1);
	assert_string_equal(pst_buf_str(&o.msg), "Subject: hi\r\n\r\n.leading dot\r\n");
	assert_string_equal(o.mail_from, "alice@example.org");
	assert_string_equal(o.rcpts, "bob@example.net,carol@example.net,tempfail@example.net,");
	assert_int_equal(o.body_8bit, 1);
	assert_int_equal(o.smtputf8, 1);
	for (int i = 0; i < PST_XF_COUNT; i++)
		assert_false(o.have_xfwd[i]);
	pst_buf_free(&o.out);
	pst_buf_free(&o.msg);
}

static const char *const s_order[] = {
	"C: MAIL FROM:<a@example.org>", "S: 503 5.5.1",
	"C: HELO client.test", "S: 500 5.5.1",
	"C: EHLO client.test", "S: 500 5.5.1",
	"C: LHLO", "S: 501 5.5.4",
	"C: LHLO client.test", "S: 250-mx.test", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-",
	"S: 250-", "S: 250 SMTPUTF8",
	"C: RCPT TO:<b@example.net>", "S: 503 5.5.1",
	"C: DATA", "S: 503 5.5.1",
	"C: MAIL FROM:<a@example.org>", "S: 250 2.1.0",
	"C: MAIL FROM:<a@example.org>", "S: 503 5.5.1",
	"C: DATA", "S: 503 5.5.1 Error: need RCPT",
	"C: RCPT TO:<unknown@example.net>", "S: 550 5.1.1",
	"C: DATA", "S: 503 5.5.1 Error: need RCPT",
	"C: BOGUS", "S: 500 5.5.2",
	"C: ", "S: 500 5.5.2",
	"C: RSET", "S: 250 2.0.0",
	"C: RCPT TO:<b@example.net>", "S: 503 5.5.1",
	NULL
};

static const char *const s_syntax[] = {
	"C: LHLO client.test", "S: 250-mx.test", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-",
	"S: 250-", "S: 250 SMTPUTF8",
	"C: MAIL FROM:alice@example.org", "S: 501 5.1.7",
	"C: MAIL TO:<a@example.org>", "S: 501 5.5.4",
	"C: MAIL FROM:<a@example.org> SIZE=20000", "S: 552 5.3.4",
	"C: MAIL FROM:<a@example.org> SIZE=x", "S: 501 5.5.4",
	"C: MAIL FROM:<a@example.org> BODY=BINARYMIME", "S: 501 5.5.4",
	"C: MAIL FROM:<a@example.org> AUTH=<>", "S: 555 5.5.4",
	"C: mail from:<>", "S: 250 2.1.0",
	"C: RCPT TO:<>", "S: 501 5.1.3",
	"C: RCPT TO:<b@example.net> NOTIFY=NEVER", "S: 555 5.5.4",
	"C: RCPT TO:<@relay.example:b@example.net>", "S: 250 2.1.5",
	"C: RCPT TO:<\"quoted >\"@example.net>", "S: 250 2.1.5",
	"C: RCPT TO:<c\x01@example.net>", "S: 550 5.1.3",
	"C: RCPT TO: <spaced@example.net>  ", "S: 250 2.1.5",
	"C: DATA extra", "S: 501 5.5.4",
	"C: RSET extra", "S: 501 5.5.4",
	"C: VRFY", "S: 501 5.5.4",
	NULL
};

static void order_and_syntax(void **state)
{
	(void)state;
	run_script("order", s_order, NULL, NULL);
	struct owner o = { 0 };
	run_script("syntax", s_syntax, NULL, NULL);
	pst_buf_free(&o.out);
}

static const char *const s_xforward[] = {
	"C: LHLO client.test", "S: 250-mx.test", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-",
	"S: 250-", "S: 250 SMTPUTF8",
	"C: XFORWARD NAME=mail.example.org ADDR=192.0.2.1 HELO=[UNAVAILABLE]", "S: 250 2.0.0",
	"C: XFORWARD PROTO=ESMTP IDENT=ABC+2B1 SOURCE=REMOTE PORT=25", "S: 250 2.0.0",
	"C: XFORWARD BOGUS=1", "S: 501 5.5.4",
	"C: XFORWARD ADDR=300.1.1.1", "S: 501 5.5.4",
	"C: XFORWARD NAME=bad+2", "S: 501 5.5.4",
	"C: XFORWARD NAME=ctl+0A", "S: 501 5.5.4",
	"C: XFORWARD", "S: 501 5.5.4",
	"C: MAIL FROM:<a@example.org>", "S: 250 2.1.0",
	"C: XFORWARD ADDR=192.0.2.2", "S: 503 5.5.1",
	"C: RCPT TO:<b@example.net>", "S: 250 2.1.5",
	"C: DATA", "S: 354 ",
	"C: x",
	"C: .", "S: 250 2.0.0",
	NULL
};

static void xforward_attributes(void **state)
{
	(void)state;
	struct owner o = { 0 };
	run_script("xforward", s_xforward, NULL, &o);
	assert_string_equal(o.xfwd[PST_XF_NAME], "mail.example.org");
	assert_string_equal(o.xfwd[PST_XF_ADDR], "192.0.2.1");
	assert_false(o.have_xfwd[PST_XF_HELO]);
	assert_string_equal(o.xfwd[PST_XF_IDENT], "ABC+1");
	assert_string_equal(o.xfwd[PST_XF_PROTO], "ESMTP");
	assert_string_equal(o.xfwd[PST_XF_PORT], "25");
	assert_string_equal(o.xfwd[PST_XF_SOURCE], "REMOTE");
	pst_buf_free(&o.out);
	pst_buf_free(&o.msg);
}

/* After a transaction, RSET, and LHLO, the attributes are gone. */
static const char *const s_xforward_reset[] = {
	"C: LHLO c", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250 ",
	"C: XFORWARD ADDR=IPV6:2001:DB8::0:1 HELO=h.example", "S: 250 2.0.0",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: .", "S: 250 2.0.0",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: .", "S: 250 2.0.0",
	NULL
};

static const char *const s_xforward_bare6[] = {
	"C: LHLO c", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250 ",
	"C: XFORWARD ADDR=2001:db8::2", "S: 250 2.0.0",
	"C: XFORWARD ADDR=192.0.2.9", "S: 250 2.0.0",
	"C: RSET", "S: 250 2.0.0",
	"C: XFORWARD ADDR=2001:db8::2", "S: 250 2.0.0",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: .", "S: 250 2.0.0",
	NULL
};

static const char *const s_xforward_rset[] = {
	"C: LHLO c", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250 ",
	"C: XFORWARD ADDR=192.0.2.9 NAME=n.example", "S: 250 2.0.0",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RSET", "S: 250 2.0.0",
	"C: XFORWARD NAME=m.example", "S: 250 2.0.0",
	"C: LHLO again", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250 ",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: .", "S: 250 2.0.0",
	NULL
};

static void xforward_resets(void **state)
{
	(void)state;
	struct owner o = { 0 };
	run_script("xforward reset", s_xforward_reset, NULL, &o);
	assert_int_equal(o.deliveries, 2);
	for (int i = 0; i < PST_XF_COUNT; i++)
		assert_false(o.have_xfwd[i]);
	run_script("xforward bare v6", s_xforward_bare6, NULL, &o);
	assert_string_equal(o.xfwd[PST_XF_ADDR], "2001:db8::2");
	run_script("xforward rset", s_xforward_rset, NULL, &o);
	for (int i = 0; i < PST_XF_COUNT; i++)
		assert_false(o.have_xfwd[i]);
	pst_buf_free(&o.out);
	pst_buf_free(&o.msg);
}

static const char *const s_xforward_denied[] = {
	"C: LHLO c", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250 SMTPUTF8",
	"C: XFORWARD ADDR=192.0.2.1", "S: 550 5.7.0",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: .", "S: 250 2.0.0",
	NULL
};

static void xforward_denied(void **state)
{
	(void)state;
	pst_lmtp_limits lim = { .hostname = "mx.test", .max_size = 10000, .xforward_allowed = 0 };
	struct owner o = { 0 };
	run_script("xforward denied", s_xforward_denied, &lim, &o);
	assert_false(o.have_xfwd[PST_XF_ADDR]);
	pst_buf_free(&o.out);
	pst_buf_free(&o.msg);
}

#define LHLO_ALLOWED "S: 250-mx.test", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-XFORWARD", \
	"S: 250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT", "S: 250 SMTPUTF8"

/* XCLIENT (swaks --xclient-addr): a new 220 greeting, LHLO again, and the
 * client facts stay for the session; XFORWARD in a transaction wins. */
static const char *const s_xclient[] = {
	"C: LHLO client.test", LHLO_ALLOWED,
	"C: XCLIENT NAME=mail.example.org ADDR=IPV6:2001:DB8::0:1 PORT=4711 PROTO=ESMTP "
	"HELO=helo.example LOGIN=[UNAVAILABLE] DESTADDR=192.0.2.25 DESTPORT=25", "S: 220 mx.test",
	"C: MAIL FROM:<a@example.org>", "S: 503 5.5.1",
	"C: LHLO client.test", LHLO_ALLOWED,
	"C: MAIL FROM:<a@example.org>", "S: 250 2.1.0",
	"C: RCPT TO:<b@example.net>", "S: 250 2.1.5",
	"C: DATA", "S: 354 ",
	"C: x",
	"C: .", "S: 250 2.0.0",
	NULL
};

static const char *const s_xclient_override[] = {
	"C: LHLO client.test", LHLO_ALLOWED,
	"C: xclient addr=192.0.2.1 helo=h1.example", "S: 220 mx.test",
	"C: LHLO client.test", LHLO_ALLOWED,
	"C: MAIL FROM:<a@example.org>", "S: 250 2.1.0",
	"C: RCPT TO:<b@example.net>", "S: 250 2.1.5",
	"C: DATA", "S: 354 ",
	"C: .", "S: 250 2.0.0",
	"C: XFORWARD ADDR=198.51.100.7 NAME=[UNAVAILABLE]", "S: 250 2.0.0",
	"C: MAIL FROM:<a@example.org>", "S: 250 2.1.0",
	"C: RCPT TO:<b@example.net>", "S: 250 2.1.5",
	"C: DATA", "S: 354 ",
	"C: .", "S: 250 2.0.0",
	NULL
};

/* Bad XCLIENT commands change nothing (all pairs or none). */
static const char *const s_xclient_bad[] = {
	"C: LHLO client.test", LHLO_ALLOWED,
	"C: XCLIENT BOGUS=1", "S: 501 5.5.4",
	"C: XCLIENT IDENT=abc", "S: 501 5.5.4",
	"C: XCLIENT NAME=ctl+0A", "S: 501 5.5.4",
	"C: XCLIENT HELO=nul+00cut", "S: 501 5.5.4",
	"C: XCLIENT ADDR=192.0.2.1 LOGIN=del+7F", "S: 501 5.5.4",
	"C: XCLIENT ADDR=300.1.1.1", "S: 501 5.5.4",
	"C: XCLIENT PORT=65536", "S: 501 5.5.4",
	"C: XCLIENT DESTPORT=x", "S: 501 5.5.4",
	"C: XCLIENT DESTADDR=not-an-ip", "S: 501 5.5.4",
	"C: XCLIENT", "S: 501 5.5.4",
	"C: XCLIENT ADDR=192.0.2.1 NAME=bad+0D", "S: 501 5.5.4",
	"C: MAIL FROM:<a@example.org>", "S: 250 2.1.0",
	"C: XCLIENT ADDR=192.0.2.2", "S: 503 5.5.1",
	"C: RCPT TO:<b@example.net>", "S: 250 2.1.5",
	"C: DATA", "S: 354 ",
	"C: .", "S: 250 2.0.0",
	NULL
};

static const char *const s_xclient_denied[] = {
	"C: LHLO c", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-8BITMIME", "S: 250 SMTPUTF8",
	"C: XCLIENT ADDR=192.0.2.1", "S: 550 5.7.0",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: .", "S: 250 2.0.0",
	NULL
};

static void check_fact(struct owner *o, int i, const char *want)
{
	const char *got = o->have_xfwd[i] ? o->xfwd[i] : "(unknown)";
	if (strcmp(got, want) != 0) {
		print_error("client fact %d: got \"%s\", want \"%s\"\n", i, got, want);
		fail();
	}
}

static void xclient(void **state)
{
	(void)state;
	struct owner o = { 0 };
	run_script("xclient", s_xclient, NULL, &o);
	assert_int_equal(o.deliveries, 1);
	check_fact(&o, PST_XF_NAME, "mail.example.org");
	check_fact(&o, PST_XF_ADDR, "2001:db8::1");
	check_fact(&o, PST_XF_PORT, "4711");
	check_fact(&o, PST_XF_PROTO, "ESMTP");
	check_fact(&o, PST_XF_HELO, "helo.example");
	check_fact(&o, PST_XF_IDENT, "(unknown)");
	run_script("xclient override", s_xclient_override, NULL, &o);
	assert_int_equal(o.deliveries, 2);
	check_fact(&o, PST_XF_ADDR, "198.51.100.7");
	check_fact(&o, PST_XF_NAME, "(unknown)");
	check_fact(&o, PST_XF_HELO, "h1.example");
	run_script("xclient bad", s_xclient_bad, NULL, &o);
	for (int i = 0; i < PST_XF_COUNT; i++)
		check_fact(&o, i, "(unknown)");
	pst_lmtp_limits lim = { .hostname = "mx.test", .max_size = 10000, .xforward_allowed = 0 };
	run_script("xclient denied", s_xclient_denied, &lim, &o);
	check_fact(&o, PST_XF_ADDR, "(unknown)");
	pst_buf_free(&o.out);
	pst_buf_free(&o.msg);
}

static const char *const s_limits[] = {
	"C: LHLO c", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250-", "S: 250 ",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: RCPT TO:<c@example.net>", "S: 250",
	"C: RCPT TO:<d@example.net>", "S: 452 4.5.3",
	"C: DATA", "S: 354",
	"C: Subject: a header line that takes the message over 64 bytes in all, surely",
	"C: ",
	"C: body",
	"C: .", "S: 552 5.3.4", "S: 552 5.3.4",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: A: 1", "C: B: 2", "C: C: 3", "C: D: 4",
	"C: ",
	"C: .", "S: 554 5.6.0",
	"C: MAIL FROM:<a@example.org>", "S: 250",
	"C: RCPT TO:<b@example.net>", "S: 250",
	"C: DATA", "S: 354",
	"C: A: 1", "C: B: 2", "C:  continued",
	"C: ",
	"C: .", "S: 250 2.0.0",
	NULL
};

static void limits_size_rcpts_headers(void **state)
{
	(void)state;
	pst_lmtp_limits lim = { .hostname = "mx.test", .max_size = 64, .max_rcpts = 2,
	                        .max_header_fields = 3, .header_reply_554 = 1 };
	struct owner o = { 0 };
	run_script("limits", s_limits, &lim, &o);
	assert_int_equal(o.deliveries, 1);
	assert_string_equal(pst_buf_str(&o.msg), "A: 1\r\nB: 2\r\n continued\r\n\r\n");
	pst_buf_free(&o.out);
	pst_buf_free(&o.msg);
}

/* A line over 1,000 octets: 500 5.5.2, and the session goes on. */
static void long_line(void **state)
{
	(void)state;
	for (int m = LINES; m <= BYTES; m++) {
		struct session s;
		start(&s, NULL);
		pst_buf in = PST_BUF_INIT;
		assert_int_equal(pst_buf_puts(&in, "LHLO c\r\nNOOP "), 0);
		for (int i = 0; i < 2000; i++)
			assert_int_equal(pst_buf_putc(&in, 'x'), 0);
		assert_int_equal(pst_buf_puts(&in, "\r\nNOOP "), 0);
		for (int i = 0; i < 1000 - 7; i++)     /* "NOOP " + 993 + CRLF = 1000 */
			assert_int_equal(pst_buf_putc(&in, 'y'), 0);
		assert_int_equal(pst_buf_puts(&in, "\r\nNOOP\r\n"), 0);
		feed(s.p, in.data, in.len, (enum mode)m);
		const char *out = pst_buf_str(&s.o.out);
		const char *last = strstr(out, "250 SMTPUTF8\r\n");
		assert_non_null(last);
		assert_string_equal(last + 14, "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
		pst_buf_free(&in);
		stop(&s);
	}
}

/* NUL bytes, bare CR and bare LF in the message are kept as they came;
 * a NUL in a recipient is 550 5.1.3. */
static void raw_bytes(void **state)
{
	(void)state;
	static const char in[] =
	    "LHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x\0y@example.net>\r\n"
	    "RCPT TO:<b@example.net>\r\nDATA\r\n"
	    "Subject: \xff\xfe\r\nX: a\rb\nY: \0z\r\n\r\n.\rstill\r\n.\r\n";
	static const char want[] = "Subject: \xff\xfe\r\nX: a\rb\nY: \0z\r\n\r\n\rstill\r\n";
	for (int m = LINES; m <= BYTES; m++) {
		struct session s;
		start(&s, NULL);
		feed(s.p, in, sizeof in - 1, m == LINES ? CHUNK : (enum mode)m);
		assert_int_equal(s.o.msg.len, sizeof want - 1);
		assert_memory_equal(s.o.msg.data, want, sizeof want - 1);
		assert_non_null(strstr(pst_buf_str(&s.o.out), "550 5.1.3"));
		assert_string_equal(s.o.rcpts, "b@example.net,");
		stop(&s);
	}
}

/* Only CRLF "." CRLF ends DATA; QUIT closes and later input is ignored. */
static void quit_closes(void **state)
{
	(void)state;
	struct session s;
	start(&s, NULL);
	static const char in[] = "LHLO c\nMAIL FROM:<a@e.org>\nRCPT TO:<b@e.net>\nDATA\nhi\r\n.\r\nQUIT\nNOOP\n";
	assert_int_equal(pst_lmtp_feed(s.p, in, sizeof in - 1), PST_LMTP_CLOSE);
	assert_string_equal(pst_buf_str(&s.o.msg), "hi\r\n");
	const char *out = pst_buf_str(&s.o.out);
	assert_non_null(strstr(out, "221 2.0.0 Bye\r\n"));
	assert_null(strstr(out, "221 2.0.0 Bye\r\n250"));
	stop(&s);
}

/* A "." line after a bare LF, or ended by a bare LF, does not end DATA
 * (SMTP smuggling): it is message text, its dot kept; CRLF . CRLF ends
 * it, in any split of the input. */
static void bare_lf_dot(void **state)
{
	(void)state;
	static const char in[] =
	    "LHLO c\r\nMAIL FROM:<a@e.org>\r\nRCPT TO:<b@e.net>\r\nDATA\r\n"
	    "S: x\r\n\r\na\n.\nMAIL FROM:<e@v.il>\nb\n.\r\nc\r\n.\nd\r\n..e\r\n.\r\nNOOP\r\n";
	static const char want[] = "S: x\r\n\r\na\n.\nMAIL FROM:<e@v.il>\nb\n.\r\nc\r\n\nd\r\n.e\r\n";
	for (int m = LINES; m <= BYTES; m++) {
		struct session s;
		start(&s, NULL);
		feed(s.p, in, sizeof in - 1, m == LINES ? CHUNK : (enum mode)m);
		if (s.o.msg.len != sizeof want - 1 || memcmp(s.o.msg.data, want, sizeof want - 1)) {
			print_error("mode %d: got \"%s\", want \"%s\"\n", m, pst_buf_str(&s.o.msg), want);
			fail();
		}
		assert_int_equal(s.o.deliveries, 1);
		assert_non_null(strstr(pst_buf_str(&s.o.out), "250 2.0.0 Ok\r\n"));
		stop(&s);
	}
}

static void timeout_and_errors(void **state)
{
	(void)state;
	struct session s;
	start(&s, NULL);
	const char *t = "LHLO c\r\nMAIL FROM:<a@e.org>\r\nRCPT TO:<b@e.net>\r\nDATA\r\npart";
	pst_lmtp_feed(s.p, t, strlen(t));
	assert_true(pst_lmtp_in_data(s.p));
	pst_lmtp_timeout(s.p);
	assert_int_equal(pst_lmtp_feed(s.p, "\r\n.\r\n", 5), PST_LMTP_CLOSE);
	assert_non_null(strstr(pst_buf_str(&s.o.out), "421 4.4.2"));
	assert_int_equal(s.o.deliveries, 0);
	stop(&s);

	start(&s, NULL);
	int rc = PST_LMTP_OPEN;
	for (int i = 0; i < PST_LMTP_MAX_ERRORS + 5 && rc == PST_LMTP_OPEN; i++)
		rc = pst_lmtp_feed(s.p, "BOGUS\r\n", 7);
	assert_int_equal(rc, PST_LMTP_CLOSE);
	assert_non_null(strstr(pst_buf_str(&s.o.out), "421 4.7.0"));
	stop(&s);
}

/* Every RCPT refused inside a transaction reaches refused() with the reply
 * sent and a reason; an accepted one, or one outside a transaction, does
 * not. */
static void refused_recipients(void **state)
{
	(void)state;
	static const struct { const char *cmd; const char *want; } cases[] = {
		{ "RCPT TO:<bob@example.net>", "" },
		{ "RCPT TO:<unknown@example.net>", "unknown@example.net|550|unknown user|1|a@example.org;" },
		{ "RCPT TO:<a b@example.net>", "a b@example.net|501|bad address syntax|1|a@example.org;" },
		{ "RCPT TO:bob", "bob|501|bad address syntax|1|a@example.org;" },
		{ "RCPT TO:<c@example.net> FOO=1", "c@example.net|555|bad parameter|1|a@example.org;" },
		{ "RCPT TO:<e@example.net>", "" },
		{ "RCPT TO:<d@example.net>", "d@example.net|452|too many recipients|2|a@example.org;" },
	};
	pst_lmtp_limits lim = { .hostname = "mx.test", .max_size = 10000, .max_rcpts = 2 };
	struct session s;
	start(&s, &lim);
	const char *pre = "LHLO c\r\nRCPT TO:<x@example.net>\r\nMAIL FROM:<a@example.org>\r\n";
	pst_lmtp_feed(s.p, pre, strlen(pre));
	if (strcmp(s.o.refused, "") != 0) {
		print_error("RCPT before MAIL: got \"%s\", want \"\"\n", s.o.refused);
		fail();
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char line[300];
		s.o.refused[0] = '\0';
		int n = snprintf(line, sizeof line, "%s\r\n", cases[i].cmd);
		pst_lmtp_feed(s.p, line, (size_t)n);
		if (strcmp(s.o.refused, cases[i].want) != 0) {
			print_error("%s: got \"%s\", want \"%s\"\n", cases[i].cmd, s.o.refused, cases[i].want);
			fail();
		}
	}
	stop(&s);
}

static void xtext(void **state)
{
	(void)state;
	static const struct { const char *in; int rc; const char *out; } cases[] = {
		{ "plain", 0, "plain" }, { "a+2Bb", 0, "a+b" }, { "+3D", 0, "=" },
		{ "a+2", -1, NULL }, { "a+", -1, NULL }, { "a+GG", -1, NULL }, { "a=b", -1, NULL },
		{ "", 0, "" }, { "abc+00def", -1, NULL }, { "x+0Ay", -1, NULL }, { "x+7F", -1, NULL },
		{ "x+1F", -1, NULL }, { "x+20y", 0, "x y" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[32];
		int rc = pst_lmtp_xtext_decode(cases[i].in, strlen(cases[i].in), out, sizeof out);
		if (rc != cases[i].rc) {
			print_error("xtext \"%s\": got %d, want %d\n", cases[i].in, rc, cases[i].rc);
			fail();
		}
		if (rc == 0)
			assert_string_equal(out, cases[i].out);
	}
	char small[4];
	assert_int_equal(pst_lmtp_xtext_decode("abcd", 4, small, sizeof small), -1);
}

static void reply_format(void **state)
{
	(void)state;
	pst_lmtp_reply r;
	char buf[64];
	pst_lmtp_reply_set(&r, 550, "5.7.1", "bad\r\nthing");
	pst_lmtp_reply_format(&r, buf, sizeof buf);
	assert_string_equal(buf, "550 5.7.1 bad  thing\r\n");
	pst_lmtp_reply_set(&r, 42, "", "x");
	pst_lmtp_reply_format(&r, buf, sizeof buf);
	assert_string_equal(buf, "451 x\r\n");
}

/* A reply carries every byte of text a rule file may write
 * (PST_MAX_REPLY_TEXT); a longer text is cut at a character boundary and
 * says so. */
static void reply_text_limit(void **state)
{
	(void)state;
	pst_lmtp_reply r;
	char text[PST_MAX_REPLY_TEXT + 8], line[PST_MAX_REPLY_TEXT + 64];
	memset(text, 'x', PST_MAX_REPLY_TEXT);
	text[PST_MAX_REPLY_TEXT] = '\0';
	assert_int_equal(pst_lmtp_reply_set(&r, 550, "5.7.1", text), 0);
	assert_int_equal(strlen(r.text), PST_MAX_REPLY_TEXT);
	size_t n = pst_lmtp_reply_format(&r, line, sizeof line);
	assert_int_equal(n, 10 + PST_MAX_REPLY_TEXT + 2);
	assert_memory_equal(line + 10, text, PST_MAX_REPLY_TEXT);
	/* "\xc3\xa9" (e-acute) straddling the limit: cut before it, whole */
	text[PST_MAX_REPLY_TEXT - 1] = '\xc3';
	text[PST_MAX_REPLY_TEXT] = '\xa9';
	text[PST_MAX_REPLY_TEXT + 1] = '\0';
	assert_int_equal(pst_lmtp_reply_set(&r, 550, "5.7.1", text), 1);
	assert_int_equal(r.cut, 1);
	assert_int_equal(strlen(r.text), PST_MAX_REPLY_TEXT - 1);
	assert_int_equal((unsigned char)r.text[PST_MAX_REPLY_TEXT - 2], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basic_session),
		cmocka_unit_test(order_and_syntax),
		cmocka_unit_test(xforward_attributes),
		cmocka_unit_test(xforward_resets),
		cmocka_unit_test(xforward_denied),
		cmocka_unit_test(xclient),
		cmocka_unit_test(limits_size_rcpts_headers),
		cmocka_unit_test(long_line),
		cmocka_unit_test(raw_bytes),
		cmocka_unit_test(quit_closes),
		cmocka_unit_test(bare_lf_dot),
		cmocka_unit_test(timeout_and_errors),
		cmocka_unit_test(refused_recipients),
		cmocka_unit_test(xtext),
		cmocka_unit_test(reply_format),
		cmocka_unit_test(reply_text_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
