/*
 * Unit tests for engine/cli/corpus.c: Received parsing as Postfix, Exim,
 * Sendmail, Microsoft and Dovecot write it; the trace envelope scan; mbox
 * (mboxrd), Maildir and .eml listing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/corpus.h"

static const struct received_case {
	const char *what, *value, *from, *helo, *ip, *by;
} received_cases[] = {
	{ "Postfix",
	  "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.net (Postfix) with ESMTPS id 4Xy; Tue, 1 Dec 2026 10:00:00 +0000",
	  "mail.example.com", "mail.example.com", "192.0.2.1", "mx.example.net" },
	{ "Postfix, unknown reverse name",
	  "from helo.example (unknown [198.51.100.7]) by mx.example.net (Postfix) with ESMTP id 1; date",
	  "helo.example", "helo.example", "198.51.100.7", "mx.example.net" },
	{ "Postfix, IPv6 with prefix",
	  "from h6.example (h6.example [IPv6:2001:db8::25]) by mx.example.net (Postfix) with ESMTPS id 2",
	  "h6.example", "h6.example", "2001:db8::25", "mx.example.net" },
	{ "Postfix, folded, tab",
	  "from a.example (b.example\t[192.0.2.9])\tby mx.example.net (Postfix)\twith SMTP id 3",
	  "a.example", "a.example", "192.0.2.9", "mx.example.net" },
	{ "Exim, helo= differs",
	  "from rdns.example ([192.0.2.44] helo=claimed.example) by mx.example.net with esmtps (TLS1.3) (Exim 4.96) (envelope-from <a@b.example>) id 1t; date",
	  "rdns.example", "claimed.example", "192.0.2.44", "mx.example.net" },
	{ "Exim, port after the bracket",
	  "from rdns.example ([192.0.2.45]:50123 helo=h.example) by mx.example.net with esmtp (Exim 4.96)",
	  "rdns.example", "h.example", "192.0.2.45", "mx.example.net" },
	{ "Exim, no reverse name",
	  "from [203.0.113.8] (helo=nohost.example) by mx.example.net with smtp (Exim 4.94)",
	  "[203.0.113.8]", "nohost.example", "203.0.113.8", "mx.example.net" },
	{ "Exim, bare IPv6 in brackets",
	  "from h.example ([2001:db8::7]:25 helo=h.example) by mx.example.net with esmtp",
	  "h.example", "h.example", "2001:db8::7", "mx.example.net" },
	{ "Sendmail",
	  "from helo.example (rdns.example [192.0.2.60]) by mx.example.net (8.15.2/8.15.2/Debian-22) with ESMTP id x1",
	  "helo.example", "helo.example", "192.0.2.60", "mx.example.net" },
	{ "Sendmail, may be forged",
	  "from helo.example (rdns.example [192.0.2.61] (may be forged)) by mx.example.net (8.15.2) with ESMTP id x2",
	  "helo.example", "helo.example", "192.0.2.61", "mx.example.net" },
	{ "Sendmail, IPv6",
	  "from helo.example (rdns.example [IPv6:2001:db8:1::2]) by mx.example.net (8.17.1) with ESMTPS id x3",
	  "helo.example", "helo.example", "2001:db8:1::2", "mx.example.net" },
	{ "Microsoft, bare IP in the comment",
	  "from EX01.corp.example (10.1.2.3) by EX02.corp.example (10.1.2.4) with Microsoft SMTP Server (version=TLS1_2) id 15.2.1",
	  "EX01.corp.example", "EX01.corp.example", "10.1.2.3", "EX02.corp.example" },
	{ "Dovecot LMTP",
	  "from mx.example.net ([192.0.2.70]) by store.example.net with LMTP id abc (envelope-from <a@b.example>)",
	  "mx.example.net", "mx.example.net", "192.0.2.70", "store.example.net" },
	{ "HELO as an address literal",
	  "from [192.0.2.80] (unknown [192.0.2.80]) by mx.example.net (Postfix) with ESMTP id 9",
	  "[192.0.2.80]", "[192.0.2.80]", "192.0.2.80", "mx.example.net" },
	{ "no from clause (local submission)",
	  "by mx.example.net (Postfix, from userid 1000) id 5; date",
	  "", "", "", "mx.example.net" },
	{ "a bad address in brackets is ignored",
	  "from h.example (h.example [300.1.2.3]) by mx.example.net (Postfix)",
	  "h.example", "h.example", "", "mx.example.net" },
};

static void parses_received_variants(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof received_cases / sizeof received_cases[0]; i++) {
		const struct received_case *c = &received_cases[i];
		pst_received r;
		int rc = pst_received_parse(c->value, strlen(c->value), &r);
		int bad = rc != 0 || strcmp(r.from, c->from) || strcmp(r.helo, c->helo) ||
		          strcmp(r.ip, c->ip) || strcmp(r.by, c->by);
		if (bad)
			fail_msg("%s: got rc=%d from=%s helo=%s ip=%s by=%s, want from=%s helo=%s ip=%s by=%s",
			         c->what, rc, r.from, r.helo, r.ip, r.by, c->from, c->helo, c->ip, c->by);
	}
}

static void received_without_by_fails(void **state)
{
	(void)state;
	pst_received r;
	const char *v = "from h.example (h.example [192.0.2.1]); date";
	assert_int_equal(pst_received_parse(v, strlen(v), &r), -1);
	assert_string_equal(r.ip, "192.0.2.1");
	assert_int_equal(pst_received_parse("", 0, &r), -1);
}

static const char trace_message[] =
	"Return-Path: <bounce@list.example>\n"
	"Delivered-To: final@example.org\n"
	"Received: from store.example.net ([192.0.2.70]) by store.example.net with LMTP id 1\n"
	"Received: from out.sender.example (out.sender.example\n"
	"\t[IPv6:2001:db8::5]) by MX.Example.Net. (Postfix) with ESMTPS id 2\n"
	"Received: from older.example (older.example [192.0.2.99]) by mx.example.net (Postfix)\n"
	"Delivered-To: older@example.org\n"
	"X-Original-To: orig@example.org\n"
	"Subject: hi\n"
	"\n"
	"Received: from body.example (body [192.0.2.200]) by mx.example.net\n";

static void scans_trace_fields(void **state)
{
	(void)state;
	pst_trace_env t;
	pst_trace_env_scan(trace_message, strlen(trace_message), "mx.example.net", &t);
	assert_int_equal(t.xpe, 0);
	assert_true(t.has_mail_from);
	assert_string_equal(t.mail_from, "bounce@list.example");
	assert_true(t.has_rcpt);
	assert_string_equal(t.rcpt, "final@example.org");
	assert_true(t.has_received);
	assert_string_equal(t.received.ip, "2001:db8::5");
	assert_string_equal(t.received.helo, "out.sender.example");

	pst_trace_env_scan(trace_message, strlen(trace_message), "nowhere.example", &t);
	assert_false(t.has_received);
	pst_trace_env_scan(trace_message, strlen(trace_message), NULL, &t);
	assert_false(t.has_received);
}

/* postern lmtp's own Received field (the first one, "by HOST (postern)")
 * gives the client IP and HELO; one a sender planted below is never read. */
static const struct own_case {
	const char *what, *msg, *received_by;
	int has;
	const char *ip, *helo;
} own_cases[] = {
	{ "postern's own field, first",
	  "Return-Path: <a@example.net>\nDelivered-To: x@example.org\n"
	  "Received: from helo.example (mail.example.net [192.0.2.55])\n"
	  "\tby mx.test (postern) with LMTP id Q for <x@example.org>;\n\tTue, 1 Dec 2026 10:00:00 +0000\n"
	  "Received: from evil (evil [203.0.113.6]) by mx.test (Postfix)\n\nbody\n",
	  NULL, 1, "192.0.2.55", "helo.example" },
	{ "IPv6 and the host name case-blind",
	  "Received: from h (unknown [IPv6:2001:db8::7]) by MX.TEST. (postern) with LMTP\n\n",
	  NULL, 1, "2001:db8::7", "h" },
	{ "unknown parts are empty",
	  "Received: from unknown (unknown [unknown]) by mx.test (postern) with LMTP id Q\n\n",
	  NULL, 1, "", "" },
	{ "a planted (postern) field below the first is never read",
	  "Received: from postern.lhlo ([127.0.0.1]) by store.example (Dovecot) with LMTP\n"
	  "Received: from forged.example (forged.example [192.0.2.66]) by mx.test (postern) with LMTP\n\n",
	  NULL, 0, "", "" },
	{ "nor through --received-by naming the host",
	  "Received: from postern.lhlo ([127.0.0.1]) by store.example (Dovecot) with LMTP\n"
	  "Received: from forged.example (forged.example [192.0.2.66]) by mx.test (postern) with LMTP\n\n",
	  "mx.test", 0, "", "" },
	{ "another host's postern field is not ours",
	  "Received: from h (h [192.0.2.1]) by other.example (postern) with LMTP\n\n",
	  NULL, 0, "", "" },
	{ "(postern) must follow the by host",
	  "Received: from h (postern) (h [192.0.2.1]) by mx.test (Postfix) with LMTP\n\n",
	  NULL, 0, "", "" },
	{ "a HELO cannot plant an address literal",
	  "Received: from x???198.51.100.1?? (unknown [192.0.2.3]) by mx.test (postern) with LMTP\n\n",
	  NULL, 1, "192.0.2.3", "x???198.51.100.1??" },
};

static void own_received_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++) {
		const struct own_case *c = &own_cases[i];
		pst_trace_env t;
		pst_trace_env_scan_own(c->msg, strlen(c->msg), c->received_by, "mx.test", &t);
		const char *ip = t.has_received ? t.received.ip : "", *helo = t.has_received ? t.received.helo : "";
		if (t.has_received != c->has || strcmp(ip, c->ip) || strcmp(helo, c->helo))
			fail_msg("%s: got has=%d ip=%s helo=%s, want has=%d ip=%s helo=%s", c->what,
			         t.has_received, ip, helo, c->has, c->ip, c->helo);
	}
	/* Without own_host (pst_trace_env_scan), postern's field is not read. */
	pst_trace_env t;
	pst_trace_env_scan(own_cases[0].msg, strlen(own_cases[0].msg), NULL, &t);
	assert_false(t.has_received);
}

static void x_original_to_and_null_sender(void **state)
{
	(void)state;
	const char *m = "From a@b Tue Dec  1 10:00:00 2026\r\n"
	                "X-Postern-Envelope: client-ip=192.0.2.1;\r\n rcpt=x@example.org\r\n"
	                "X-Postern-Envelope: HELO=h.example\r\n"
	                "Return-Path: <>\r\n"
	                "X-Original-To: <orig@example.org>\r\n"
	                "Delivered-To: later@example.org\r\n"
	                "\r\n"
	                "body\r\n";
	pst_trace_env t;
	pst_trace_env_scan(m, strlen(m), NULL, &t);
	assert_int_equal(t.xpe, PST_XPE_CLIENT_IP | PST_XPE_RCPT | PST_XPE_HELO);
	assert_true(t.has_mail_from);
	assert_string_equal(t.mail_from, "");
	assert_true(t.has_rcpt);
	assert_string_equal(t.rcpt, "later@example.org");

	const char *m2 = "Subject: x\nX-Postern-Envelope: mail-from=a@b.example\nX-Original-To: o@example.org\n\n";
	pst_trace_env_scan(m2, strlen(m2), NULL, &t);
	assert_int_equal(t.xpe, 0);   /* not leading: an ordinary field */
	assert_string_equal(t.rcpt, "o@example.org");
	assert_false(t.has_mail_from);
}

/* ---- Listing -------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void load_text(const pst_corpus *c, size_t i, pst_corpus_reader *rd, char *out, size_t size)
{
	const char *bytes;
	size_t len;
	char err[200] = "";
	assert_int_equal(pst_corpus_load(c, i, rd, 1 << 20, &bytes, &len, err, sizeof err), 0);
	assert_true(len < size);
	memcpy(out, bytes, len);
	out[len] = '\0';
}

static void splits_mboxrd(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_corpus.XXXXXX", path[512], text[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/box", dir);
	write_file(path,
	           "From a@example.com Tue Dec  1 10:00:00 2026\n"
	           "Subject: one\n\n>From quoted\nFrom in a paragraph\n>>From twice\n> From not\n\n"
	           "From b@example.com Tue Dec  1 10:00:01 2026\n"
	           "Subject: two\n\nbody two\n");
	pst_corpus c = PST_CORPUS_INIT;
	char err[200] = "";
	assert_int_equal(pst_corpus_add(&c, path, err, sizeof err), 0);
	assert_int_equal(c.n, 2);
	pst_corpus_reader rd = PST_CORPUS_READER_INIT;
	load_text(&c, 0, &rd, text, sizeof text);
	assert_string_equal(text, "Subject: one\n\nFrom quoted\nFrom in a paragraph\n>From twice\n> From not\n");
	load_text(&c, 1, &rd, text, sizeof text);
	assert_string_equal(text, "Subject: two\n\nbody two\n");
	char name[600];
	assert_string_equal(pst_corpus_name(&c, 1, name, sizeof name) + strlen(dir), "/box:2");
	pst_corpus_free(&c);
	pst_corpus_reader_free(&rd);
	unlink(path);
	rmdir(dir);
}

static void lists_maildir_and_eml_sorted(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_corpus.XXXXXX", p[512], text[512];
	assert_non_null(mkdtemp(dir));
	const char *dirs[] = { "md", "md/cur", "md/new", "md/tmp", "eml", "eml/sub", "eml/.hidden" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	const char *files[] = { "md/new/2", "md/cur/1:2,S", "md/tmp/x", "md/cur/.dot",
	                        "eml/b.eml", "eml/sub/a.EML", "eml/c.txt", "eml/.hidden/d.eml" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		write_file(p, files[i]);
	}
	pst_corpus c = PST_CORPUS_INIT;
	char err[200] = "";
	snprintf(p, sizeof p, "%s/md", dir);
	assert_int_equal(pst_corpus_add(&c, p, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/eml", dir);
	assert_int_equal(pst_corpus_add(&c, p, err, sizeof err), 0);
	pst_corpus_sort(&c);
	const char *want[] = { "eml/b.eml", "eml/sub/a.EML", "md/cur/1:2,S", "md/new/2" };
	assert_int_equal(c.n, 4);
	pst_corpus_reader rd = PST_CORPUS_READER_INIT;
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(c.items[i].path + strlen(dir) + 1, want[i]);
		load_text(&c, i, &rd, text, sizeof text);
		assert_string_equal(text, want[i]);
	}
	snprintf(p, sizeof p, "%s/none", dir);
	assert_int_equal(pst_corpus_add(&c, p, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot open"));
	pst_corpus_free(&c);
	pst_corpus_reader_free(&rd);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	for (size_t i = sizeof dirs / sizeof dirs[0]; i-- > 0;) {
		snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
		rmdir(p);
	}
	rmdir(dir);
}

/* The tree postern lmtp --deliver maildir:DIR writes: DOMAIN/LOCALPART/
 * Maildirs with Maildir++ sub-folders, each message owned by its Maildir's
 * LOCALPART@DOMAIN; a first level that is no domain gives no owner. */
static void lists_delivery_tree_with_owners(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_corpus.XXXXXX", p[512];
	assert_non_null(mkdtemp(dir));
	const char *dirs[] = { "example.org", "example.org/alice", "example.org/alice/new",
	                       "example.org/alice/.Quarantine", "example.org/alice/.Quarantine/new",
	                       "example.org/alice/.nofolder", "local", "local/bob", "local/bob/cur" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	const char *files[] = { "example.org/alice/new/1", "example.org/alice/.Quarantine/new/2",
	                        "example.org/alice/.nofolder/3", "local/bob/cur/4", "top.eml" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		write_file(p, files[i]);
	}
	static const struct { const char *path, *owner; } want[] = {
		{ "example.org/alice/.Quarantine/new/2", "alice@example.org" },
		{ "example.org/alice/new/1", "alice@example.org" },
		{ "local/bob/cur/4", NULL },
		{ "top.eml", NULL },
	};
	pst_corpus c = PST_CORPUS_INIT;
	char err[400] = "";
	assert_int_equal(pst_corpus_add(&c, dir, err, sizeof err), 0);
	pst_corpus_sort(&c);
	if (c.n != sizeof want / sizeof want[0])
		fail_msg("got %zu items, want %zu", c.n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < c.n; i++) {
		const char *got = c.items[i].path + strlen(dir) + 1;
		if (strcmp(got, want[i].path) != 0)
			fail_msg("item %zu: got %s, want %s", i, got, want[i].path);
		const char *owner = c.items[i].owner ? c.items[i].owner : "(none)";
		if (strcmp(owner, want[i].owner ? want[i].owner : "(none)") != 0)
			fail_msg("%s: got owner %s, want %s", got, owner, want[i].owner ? want[i].owner : "(none)");
	}
	pst_corpus_free(&c);
	/* no message: -1, and err names the layouts */
	snprintf(p, sizeof p, "%s/example.org/alice/.nofolder", dir);
	assert_int_equal(pst_corpus_add(&c, p, err, sizeof err), -1);
	if (strstr(err, "holds no messages") == NULL || strstr(err, "DOMAIN/LOCALPART") == NULL)
		fail_msg("got \"%s\", want \"... holds no messages ... DOMAIN/LOCALPART ...\"", err);
	pst_corpus_free(&c);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	for (size_t i = sizeof dirs / sizeof dirs[0]; i-- > 0;) {
		snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
		rmdir(p);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_received_variants),
		cmocka_unit_test(received_without_by_fails),
		cmocka_unit_test(scans_trace_fields),
		cmocka_unit_test(own_received_field),
		cmocka_unit_test(x_original_to_and_null_sender),
		cmocka_unit_test(splits_mboxrd),
		cmocka_unit_test(lists_maildir_and_eml_sorted),
		cmocka_unit_test(lists_delivery_tree_with_owners),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
