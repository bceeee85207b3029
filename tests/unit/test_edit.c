/* Unit tests for engine/msg/edit.c: header edits and the delivered message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "msg/edit.h"

static pst_msg *parse(const char *s)
{
	pst_msg *m = NULL;
	assert_int_equal(pst_msg_parse(s, strlen(s), NULL, &m, NULL), 0);
	return m;
}

/* Render s with the edits and compare with want (NULL: want == s). */
static void check_render(const char *s, const pst_msg_edit *edits, size_t n,
                         const pst_render_opts *opts, const char *want, const char *want_err)
{
	pst_msg *m = parse(s);
	pst_buf out = PST_BUF_INIT;
	char err[200] = "junk";
	int rc = pst_msg_render(m, edits, n, opts, &out, err, sizeof err);
	if (rc != 0)
		fail_msg("render failed: %s", err);
	if (want == NULL)
		want = s;
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("got\n----\n%s----\nwant\n----\n%s----", pst_buf_str(&out), want);
	if (want_err)
		assert_string_equal(err, want_err);
	else
		assert_string_equal(err, "");
	pst_buf_free(&out);
	pst_msg_free(&m);
}

static const char scenario8[] =
	"Received: from mta.example.net by mx.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	"From: \"Jane Roe, Acme Corp\" <jane@example.net>\r\n"
	"To: bob@example.org\r\n"
	"X-Internal-Route: hop1\r\n"
	"\thop2\r\n"
	"Subject: Quarterly offer\r\n"
	"\r\n"
	"Body line one\r\n"
	"\r\n"
	"Body line three\r\n";

/* The product's scenario 8, byte for byte. */
static void scenario_8(void **state)
{
	(void)state;
	const pst_msg_edit edits[] = {
		{ .op = PST_MSG_EDIT_SET_FROM_DISPLAY, .value = "" },
		{ .op = PST_MSG_EDIT_PREPEND_SUBJECT, .value = "[EXTERNAL] " },
		{ .op = PST_MSG_EDIT_REMOVE, .name = "X-Internal-Route" },
		{ .op = PST_MSG_EDIT_ADD, .name = "X-Postern", .value = "external sender" },
		{ .op = PST_MSG_EDIT_ADD, .name = "X-Second", .value = "2" },
	};
	check_render(scenario8, edits, 5, NULL,
	             "X-Postern: external sender\r\n"
	             "X-Second: 2\r\n"
	             "Received: from mta.example.net by mx.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	             "X-Original-From: \"Jane Roe, Acme Corp\" <jane@example.net>\r\n"
	             "From: jane@example.net\r\n"
	             "To: bob@example.org\r\n"
	             "Subject: [EXTERNAL] Quarterly offer\r\n"
	             "\r\n"
	             "Body line one\r\n"
	             "\r\n"
	             "Body line three\r\n", NULL);
}

/* No edits: the input exactly, minus the skipped fields. */
static void no_edits_is_identity(void **state)
{
	(void)state;
	static const char *const msgs[] = {
		scenario8,
		"A: 1\nB: 2\n",
		"A: 1\nB: 2",
		"A: 1\nnot a field\nbody\n",
		"Subject: caf\xc3\xa9\r\nX: \r\n\r\n",
		"",
		"\n\n\n",
	};
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
		check_render(msgs[i], NULL, 0, NULL, NULL, NULL);

	const char *env = "From sender@example.org Mon Jan  1 00:00:00 2024\n"
	                  "X-Postern-Envelope: client-ip=192.0.2.1\n"
	                  "From: a@example.org\n\nbody\n";
	/* skip_before 0 keeps everything, the mbox line too */
	check_render(env, NULL, 0, &(pst_render_opts){ .skip_before = 0 }, NULL, NULL);
	check_render(env, NULL, 0, &(pst_render_opts){ .skip_before = 2 },
	             "From: a@example.org\n\nbody\n", NULL);
	check_render(env, NULL, 0, &(pst_render_opts){ .skip_before = 99 }, "\nbody\n", NULL);
	/* prepended trace fields use the message's line ending */
	const char *const pre[] = { "Received: by postern", "Authentication-Results: mx; none" };
	check_render(env, NULL, 0, &(pst_render_opts){ .skip_before = 2, .prepend = pre, .nprepend = 2 },
	             "Received: by postern\nAuthentication-Results: mx; none\n"
	             "From: a@example.org\n\nbody\n", NULL);
}

static int match_internal(void *ctx, const char *value, size_t len)
{
	(void)ctx;
	return len >= 8 && memcmp(value, "internal", 8) == 0;
}

static void remove_and_received(void **state)
{
	(void)state;
	const char *s = "Received: a\nX-Tag: internal one\nReceived: b\nX-Tag: public\nx-tag: internal\n two\n\nb";
	pst_msg_edit rm = { .op = PST_MSG_EDIT_REMOVE, .name = "x-TAG" };
	check_render(s, &rm, 1, NULL, "Received: a\nReceived: b\n\nb", NULL);
	rm.match = match_internal;
	check_render(s, &rm, 1, NULL, "Received: a\nReceived: b\nX-Tag: public\n\nb", NULL);
	pst_msg_edit rr = { .op = PST_MSG_EDIT_REMOVE, .name = "Received" };
	check_render(s, &rr, 1, NULL, NULL, "Received fields are never removed; edit ignored");
	pst_msg_edit rp = { .op = PST_MSG_EDIT_REPLACE, .name = "RECEIVED", .value = "x" };
	check_render(s, &rp, 1, NULL, NULL, "Received fields are never replaced; edit ignored");
	/* removing a field that is not there changes nothing */
	pst_msg_edit none = { .op = PST_MSG_EDIT_REMOVE, .name = "X-Absent" };
	check_render(s, &none, 1, NULL, NULL, NULL);
}

static void replace(void **state)
{
	(void)state;
	const char *s = "A: 1\nX-Score: 1\nB: 2\nX-Score: 2\n\nbody";
	pst_msg_edit e = { .op = PST_MSG_EDIT_REPLACE, .name = "X-Score", .value = "7" };
	check_render(s, &e, 1, NULL, "A: 1\nX-Score: 7\nB: 2\n\nbody", NULL);
	e.name = "X-New";
	check_render(s, &e, 1, NULL, "X-New: 7\nA: 1\nX-Score: 1\nB: 2\nX-Score: 2\n\nbody", NULL);
	/* replacing a field added earlier in the same edit list */
	const pst_msg_edit two[] = {
		{ .op = PST_MSG_EDIT_ADD, .name = "X-New", .value = "1" },
		{ .op = PST_MSG_EDIT_REPLACE, .name = "X-New", .value = "2" },
	};
	check_render(s, two, 2, NULL, "X-New: 2\nA: 1\nX-Score: 1\nB: 2\nX-Score: 2\n\nbody", NULL);
}

static void prepend_subject(void **state)
{
	(void)state;
	const pst_msg_edit once = { .op = PST_MSG_EDIT_PREPEND_SUBJECT, .value = "[EXT] " };
	const pst_msg_edit twice[] = { once, once };
	check_render("Subject: hi\n\n", &once, 1, NULL, "Subject: [EXT] hi\n\n", NULL);
	/* idempotent: within one list, and on a subject that already has it */
	check_render("Subject: hi\n\n", twice, 2, NULL, "Subject: [EXT] hi\n\n", NULL);
	check_render("Subject: [EXT] hi\n\n", &once, 1, NULL, NULL, NULL);
	check_render("Subject: [EXT]\n\n", &once, 1, NULL, NULL, NULL);
	check_render("Subject: =?UTF-8?Q?=5BEXT=5D_hi?=\n\n", &once, 1, NULL, NULL, NULL);
	/* only the first Subject; encoded words are kept as they are */
	check_render("Subject: =?UTF-8?B?Y2Fmw6k=?=\nSubject: two\n\n", &once, 1, NULL,
	             "Subject: [EXT] =?UTF-8?B?Y2Fmw6k=?=\nSubject: two\n\n", NULL);
	/* no Subject: one is added */
	check_render("To: x@y.test\n\nb", &once, 1, NULL, "Subject: [EXT]\nTo: x@y.test\n\nb", NULL);
	/* a non-ASCII prefix: the whole value is encoded */
	const pst_msg_edit ext = { .op = PST_MSG_EDIT_PREPEND_SUBJECT, .value = "[EXT\xc3\x89RIEUR] " };
	check_render("Subject: hi\r\n\r\n", &ext, 1, NULL,
	             "Subject: =?UTF-8?B?W0VYVMOJUklFVVJdIGhp?=\r\n\r\n", NULL);
}

static void from_edits(void **state)
{
	(void)state;
	const char *s = "To: t@example.org\nFrom: Jane Roe <jane@example.net>\n\nb";
	pst_msg_edit addr = { .op = PST_MSG_EDIT_SET_FROM_ADDRESS, .value = "jane@relay.example.org" };
	check_render(s, &addr, 1, NULL,
	             "To: t@example.org\nX-Original-From: Jane Roe <jane@example.net>\n"
	             "From: \"Jane Roe\" <jane@relay.example.org>\n\nb", NULL);
	/* two From edits: X-Original-From once, with the original bytes */
	const pst_msg_edit both[] = {
		addr, { .op = PST_MSG_EDIT_SET_FROM_DISPLAY, .value = "J\xc3\xb6rg via list" },
	};
	check_render(s, both, 2, NULL,
	             "To: t@example.org\nX-Original-From: Jane Roe <jane@example.net>\n"
	             "From: =?UTF-8?B?SsO2cmcgdmlhIGxpc3Q=?= <jane@relay.example.org>\n\nb", NULL);
	/* no From field, or no address: ignored and reported */
	pst_msg_edit disp = { .op = PST_MSG_EDIT_SET_FROM_DISPLAY, .value = "x" };
	check_render("To: t@example.org\n\n", &disp, 1, NULL, NULL, "no From field; From edit ignored");
	check_render("From: undisclosed:;\n\n", &disp, 1, NULL, NULL,
	             "no address in the From field; display name edit ignored");
	check_render("From: a@example.net, b@example.org\n\n", &addr, 1, NULL, NULL,
	             "several addresses in the From field; From edit ignored");
	/* SET_FROM_ADDRESS on a From without a parsable address still writes one */
	check_render("From: Jane Roe\n\n", &addr, 1, NULL,
	             "X-Original-From: Jane Roe\nFrom: jane@relay.example.org\n\n", NULL);
	/* a folded From keeps its folding in X-Original-From */
	check_render("From: Jane\r\n <jane@example.net>\r\n\r\n", &disp, 1, NULL,
	             "X-Original-From: Jane\r\n <jane@example.net>\r\n"
	             "From: \"x\" <jane@example.net>\r\n\r\n", NULL);
	/* the last field without a line ending */
	check_render("From: a@example.net", &disp, 1, NULL,
	             "X-Original-From: a@example.net\r\nFrom: \"x\" <a@example.net>\r\n", NULL);
}

static void non_ascii_and_folding(void **state)
{
	(void)state;
	pst_msg_edit add = { .op = PST_MSG_EDIT_ADD, .name = "X-Note", .value = "caf\xc3\xa9" };
	check_render("A: 1\n\n", &add, 1, NULL, "X-Note: =?UTF-8?B?Y2Fmw6k=?=\nA: 1\n\n", NULL);
	/* a long value folds before white space, under 78 characters a line */
	char longv[400] = "";
	for (int i = 0; i < 40; i++)
		strcat(longv, "word1234 ");
	strcat(longv, "end");
	add.value = longv;
	pst_msg *m = parse("A: 1\n\n");
	pst_buf out = PST_BUF_INIT;
	assert_int_equal(pst_msg_render(m, &add, 1, NULL, &out, NULL, 0), 0);
	size_t lines = 0, col = 0;
	for (size_t i = 0; i < out.len; i++) {
		if (out.data[i] == '\n') {
			if (col > 78)
				fail_msg("line %zu: got %zu characters, want at most 78", lines, col);
			lines++;
			col = 0;
		} else {
			col++;
		}
	}
	assert_true(lines > 4);
	/* it parses back to the same value */
	pst_msg *back = NULL;
	assert_int_equal(pst_msg_parse(out.data, out.len, NULL, &back, NULL), 0);
	assert_string_equal(pst_msg_value(back, pst_msg_find(back, "X-Note", 6, 0), NULL), longv);
	pst_msg_free(&back);
	pst_buf_free(&out);
	pst_msg_free(&m);
}

static void refused_edits(void **state)
{
	(void)state;
	static const struct { pst_msg_edit e; const char *why; } cases[] = {
		{ { .op = PST_MSG_EDIT_ADD, .name = "X-A", .value = "a\r\nBcc: x@y.test" },
		  "value holds CR or LF: X-A" },
		{ { .op = PST_MSG_EDIT_ADD, .name = "X-A", .value = "a\nb" }, "value holds CR or LF: X-A" },
		{ { .op = PST_MSG_EDIT_ADD, .name = "Bad Name", .value = "a" }, "invalid field name: Bad Name" },
		{ { .op = PST_MSG_EDIT_ADD, .name = "X:", .value = "a" }, "invalid field name: X:" },
		{ { .op = PST_MSG_EDIT_ADD, .name = "", .value = "a" }, "invalid field name: " },
		{ { .op = PST_MSG_EDIT_REPLACE, .name = "X-A", .value = NULL }, "missing value: X-A" },
		{ { .op = PST_MSG_EDIT_SET_FROM_ADDRESS, .value = "a b@c" }, "not an address: a b@c" },
		{ { .op = PST_MSG_EDIT_SET_FROM_ADDRESS, .value = "" }, "not an address: " },
		{ { .op = PST_MSG_EDIT_SET_FROM_ADDRESS, .value = "(unknown)" }, "not an address: (unknown)" },
		{ { .op = PST_MSG_EDIT_SET_FROM_ADDRESS, .value = "a(b)@c" }, "not an address: a(b)@c" },
		{ { .op = PST_MSG_EDIT_PREPEND_SUBJECT, .value = "x\r" }, "value holds CR or LF" },
	};
	pst_msg *m = parse("From: a@b.test\nSubject: s\n\n");
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		pst_buf out = PST_BUF_INIT;
		assert_int_equal(pst_buf_puts(&out, "keep"), 0);
		char err[200] = "";
		assert_int_equal(pst_msg_render(m, &cases[c].e, 1, NULL, &out, err, sizeof err), -1);
		if (strcmp(err, cases[c].why) != 0)
			fail_msg("case %zu: got '%s', want '%s'", c, err, cases[c].why);
		assert_string_equal(pst_buf_str(&out), "keep");   /* nothing appended */
		pst_buf_free(&out);
	}
	/* a word that cannot be folded under 998 characters */
	static char huge[1200];
	memset(huge, 'x', sizeof huge - 1);
	pst_msg_edit big = { .op = PST_MSG_EDIT_ADD, .name = "X-Big", .value = huge };
	pst_buf out = PST_BUF_INIT;
	char err[200];
	assert_int_equal(pst_msg_render(m, &big, 1, NULL, &out, err, sizeof err), -1);
	assert_string_equal(err, "a word of the value makes a line over 998 characters");
	assert_int_equal(out.len, 0);
	huge[990] = ' ';   /* now it folds */
	assert_int_equal(pst_msg_render(m, &big, 1, NULL, &out, err, sizeof err), 0);
	pst_buf_free(&out);
	pst_msg_free(&m);
}

static int match_odd(void *ctx, const char *value, size_t len)
{
	(void)value;
	unsigned *n = ctx;
	return (int)((++*n + len) & 1);
}

/* Malformed fields (msg.h): no edit touches them, they stay where they
 * are, and a leading white-space line goes out as a field of its own, so
 * nothing written above it takes it as a continuation. */
static void malformed_fields(void **state)
{
	(void)state;
	const pst_msg_edit ar = { .op = PST_MSG_EDIT_ADD, .name = "Authentication-Results",
	                          .value = "mx.example.org; dkim=none" };
	const pst_msg_edit rm_from = { .op = PST_MSG_EDIT_REMOVE, .name = "From" };
	const pst_msg_edit display = { .op = PST_MSG_EDIT_SET_FROM_DISPLAY, .value = "" };
	const pst_msg_edit address = { .op = PST_MSG_EDIT_SET_FROM_ADDRESS, .value = "n@example.org" };
	const char *const pre[] = { "Received: by postern" };
	static const char mbox[] = "From s@example.org Mon Jan  1 00:00:00 2024\n junk\nA: 1\n\nb";
	const struct {
		const char *in;
		const pst_msg_edit *edit;
		pst_render_opts opts;
		const char *want;
	} cases[] = {
		/* a leading white-space line, with and without fields above it */
		{ " junk\r\nFrom: a@example.org\r\n\r\nb", NULL, { 0 },
		  "X-Postern-Malformed: junk\r\nFrom: a@example.org\r\n\r\nb" },
		{ " junk\r\nFrom: a@example.org\r\n\r\nb", &ar, { 0 },
		  "Authentication-Results: mx.example.org; dkim=none\r\n"
		  "X-Postern-Malformed: junk\r\nFrom: a@example.org\r\n\r\nb" },
		{ "\tlead\n more\nA: 1\n\nb", NULL, { .prepend = pre, .nprepend = 1 },
		  "Received: by postern\nX-Postern-Malformed:\tlead\n more\nA: 1\n\nb" },
		{ " no line ending", &ar, { 0 },
		  "Authentication-Results: mx.example.org; dkim=none\r\n"
		  "X-Postern-Malformed: no line ending" },
		{ mbox, NULL, { 0 }, "From s@example.org Mon Jan  1 00:00:00 2024\n"
		  "X-Postern-Malformed: junk\nA: 1\n\nb" },
		{ mbox, NULL, { .skip_before = 1 }, "X-Postern-Malformed: junk\nA: 1\n\nb" },
		/* a malformed line elsewhere stays as it is, and no edit matches it */
		{ "A: 1\nFrom\nFrom: v@example.com\n\nb", &rm_from, { 0 }, "A: 1\nFrom\n\nb" },
		{ "A: 1\nFrom\nFrom: v@example.com\n\nb", &display, { 0 },
		  "A: 1\nFrom\nX-Original-From: v@example.com\nFrom: v@example.com\n\nb" },
		{ "From no colon\nTo: t@example.org\n\nb", &display, { 0 }, NULL },
		/* From folded before its colon is the From field */
		{ "From\r\n : v@example.com\r\n\r\nb", &address, { 0 },
		  "X-Original-From\r\n : v@example.com\r\nFrom: n@example.org\r\n\r\nb" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		pst_msg *m = parse(cases[c].in);
		pst_buf out = PST_BUF_INIT;
		char err[200];
		assert_int_equal(pst_msg_render(m, cases[c].edit, cases[c].edit ? 1 : 0, &cases[c].opts,
		                                &out, err, sizeof err), 0);
		const char *want = cases[c].want ? cases[c].want : cases[c].in;
		if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
			fail_msg("case %zu: got\n----\n%s----\nwant\n----\n%s----", c, pst_buf_str(&out), want);
		pst_buf_free(&out);
		pst_msg_free(&m);
	}

	/* Read back: the Authentication-Results value is exactly ours. */
	pst_msg *m = parse(" dkim=pass header.d=bank.example\r\nFrom: a@example.org\r\n\r\nb");
	pst_buf out = PST_BUF_INIT;
	char err[200];
	assert_int_equal(pst_msg_render(m, &ar, 1, NULL, &out, err, sizeof err), 0);
	pst_msg *again = NULL;
	assert_int_equal(pst_msg_parse(out.data, out.len, NULL, &again, NULL), 0);
	assert_int_equal(pst_msg_count(again, "Authentication-Results", 22), 1);
	const char *v = pst_msg_value(again, pst_msg_find(again, "Authentication-Results", 22, 0), NULL);
	if (strcmp(v, ar.value) != 0)
		fail_msg("got A-R '%s', want '%s'", v, ar.value);
	v = pst_msg_value(again, pst_msg_find(again, PST_MSG_MALFORMED_NAME, 19, 0), NULL);
	assert_string_equal(v, "dkim=pass header.d=bank.example");
	for (size_t i = 0; i < pst_msg_field_count(again); i++)
		assert_false(pst_msg_field_at(again, i)->flags & PST_MSG_FIELD_MALFORMED);
	pst_msg_free(&again);
	pst_msg_free(&m);
	pst_buf_free(&out);
}

/* A substitution callback for the tests: "[EXT]" and the blanks after it
 * go from the front; the decoded value is what it sees. */
static int subst_ext(void *ctx, const char *v, size_t n, pst_buf *out)
{
	size_t k = 0;
	(void)ctx;
	if (n < 5 || memcmp(v, "[EXT]", 5) != 0)
		return 0;
	for (k = 5; k < n && v[k] == ' '; k++)
		;
	return pst_buf_append(out, v + k, n - k) < 0 ? -1 : 1;
}

/* ", Acme Corp" at the end of a display name goes; "Acme Corp" alone
 * leaves nothing; "Evil" becomes a CR LF (refused). */
static int subst_acme(void *ctx, const char *v, size_t n, pst_buf *out)
{
	(void)ctx;
	if (n == 4 && memcmp(v, "Evil", 4) == 0)
		return pst_buf_puts(out, "a\r\nBcc: x") < 0 ? -1 : 1;
	if (n >= 9 && memcmp(v + n - 9, "Acme Corp", 9) == 0) {
		size_t k = n - 9;
		if (k >= 2 && memcmp(v + k - 2, ", ", 2) == 0)
			k -= 2;
		return pst_buf_append(out, v, k) < 0 ? -1 : 1;
	}
	return 0;
}

static void substitutions(void **state)
{
	(void)state;
	pst_msg_edit h = { .op = PST_MSG_EDIT_SUBSTITUTE, .name = "subject", .subst = subst_ext };
	/* every field of the name; one that does not match stays byte for byte */
	check_render("Subject: [EXT] a\nX: 1\nSubject:  [EXT]  b \nSubject:\tkeep\n  me\n\nbody", &h, 1, NULL,
	             "Subject: a\nX: 1\nSubject: b\nSubject:\tkeep\n  me\n\nbody", NULL);
	/* the decoded value is substituted, the result re-encoded */
	check_render("Subject: =?UTF-8?Q?[EXT]_R=C3=A9union?=\n\nb", &h, 1, NULL,
	             "Subject: =?UTF-8?B?UsOpdW5pb24=?=\n\nb", NULL);
	/* Received never */
	h.name = "Received";
	check_render("Received: [EXT] x\n\nb", &h, 1, NULL, NULL,
	             "Received fields are never changed; edit ignored");
	/* a substitution after an edit sees the edited value */
	const pst_msg_edit two[] = {
		{ .op = PST_MSG_EDIT_PREPEND_SUBJECT, .value = "[EXT] " },
		{ .op = PST_MSG_EDIT_SUBSTITUTE, .name = "Subject", .subst = subst_ext },
	};
	check_render("Subject: hi\n\nb", two, 2, NULL, "Subject: hi\n\nb", NULL);

	pst_msg_edit f = { .op = PST_MSG_EDIT_SUBSTITUTE_FROM_DISPLAY, .subst = subst_acme };
	check_render("From: \"Jane Roe, Acme Corp\" <jane@partner.example>\n\nb", &f, 1, NULL,
	             "X-Original-From: \"Jane Roe, Acme Corp\" <jane@partner.example>\n"
	             "From: \"Jane Roe\" <jane@partner.example>\n\nb", NULL);
	check_render("From: Acme Corp <jane@partner.example>\n\nb", &f, 1, NULL,
	             "X-Original-From: Acme Corp <jane@partner.example>\nFrom: jane@partner.example\n\nb", NULL);
	/* no match: nothing changes, no X-Original-From */
	check_render("From: Jane <jane@partner.example>\n\nb", &f, 1, NULL, NULL, NULL);
	check_render("From: a@x.example, Acme Corp <b@x.example>\n\nb", &f, 1, NULL, NULL,
	             "several addresses in the From field; From edit ignored");
	/* a substitution that would put CR LF in the header is refused */
	pst_msg *m = parse("From: Evil <e@x.example>\n\nb");
	pst_buf out = PST_BUF_INIT;
	char err[120];
	assert_int_equal(pst_msg_render(m, &f, 1, NULL, &out, err, sizeof err), -1);
	assert_string_equal(err, "value holds CR or LF");
	assert_int_equal(out.len, 0);
	pst_buf_free(&out);
	pst_msg_free(&m);
}

/* Random messages and random edits: no crash, and the fields no edit
 * names come out byte for byte (run under ASan). */
static void random_edits(void **state)
{
	(void)state;
	static const char alpha[] = "From: Subject:X-A:Received:\r\n\t <>@\"(),;=?q\xe9" "abc";
	static const char *const names[] = { "From", "Subject", "X-A", "Received", "To" };
	static const char *const values[] = { "", "v", "caf\xc3\xa9", "a@b.test", "[P] ", "J\xc3\xb6rg x" };
	unsigned seed = 777, ctr = 0;
	char buf[400];
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round % 400);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
		}
		pst_msg *m = NULL;
		assert_int_equal(pst_msg_parse(buf, n, NULL, &m, NULL), 0);
		pst_msg_edit ed[4];
		for (size_t k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			unsigned r = seed >> 8;
			ed[k] = (pst_msg_edit){ .op = (pst_msg_edit_op)(r % 6), .name = names[(r >> 4) % 5],
			                        .value = values[(r >> 8) % 6] };
			if (ed[k].op == PST_MSG_EDIT_REMOVE && (r & 0x10000)) {
				ed[k].match = match_odd;
				ed[k].match_ctx = &ctr;
			}
		}
		pst_buf out = PST_BUF_INIT;
		char err[200];
		int rc = pst_msg_render(m, ed, 4, NULL, &out, err, sizeof err);
		assert_true(rc == 0 || (rc == -1 && err[0] != '\0'));
		if (rc == 0) {
			/* every Received field survives, unchanged */
			for (size_t i = 0; i < pst_msg_field_count(m); i++) {
				const pst_msg_field *f = pst_msg_field_at(m, i);
				if (pst_msg_name_eq(f->name, f->name_len, "Received", 8) &&
				    !(f->flags & PST_MSG_FIELD_MBOX_FROM))
					assert_non_null(memmem(out.data, out.len, f->raw, f->raw_len));
			}
			/* and the output parses again, never starting with white space */
			pst_msg *again = NULL;
			assert_int_equal(pst_msg_parse(out.data, out.len, NULL, &again, NULL), 0);
			if (out.len > 0)
				assert_false(out.data[0] == ' ' || out.data[0] == '\t');
			pst_msg_free(&again);
		}
		pst_buf_free(&out);
		pst_msg_free(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scenario_8),
		cmocka_unit_test(no_edits_is_identity),
		cmocka_unit_test(remove_and_received),
		cmocka_unit_test(replace),
		cmocka_unit_test(prepend_subject),
		cmocka_unit_test(from_edits),
		cmocka_unit_test(non_ascii_and_folding),
		cmocka_unit_test(refused_edits),
		cmocka_unit_test(malformed_fields),
		cmocka_unit_test(substitutions),
		cmocka_unit_test(random_edits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
