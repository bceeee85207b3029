/* Unit tests for engine/msg/mime.c: the MIME walk behind attachment.*.
 * One table: a message, the limits, and what the walk must find (the
 * error, the attachment count, the names and types joined by "|"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "msg/mime.h"
#include "util/buf.h"
#include "util/limits.h"

#define H "From: a@example.com\nSubject: s\n"
#define MIXED(b) H "Content-Type: multipart/mixed; boundary=\"" b "\"\n\n"
#define TEXT "Content-Type: text/plain\n\nhello\n"

struct mime_case {
	const char *what;
	const char *msg;
	pst_mime_limits lim;
	const char *error;          /* NULL: parsed */
	size_t count;
	const char *names;          /* joined by "|" */
	const char *types;
};

static const struct mime_case cases[] = {
	{ "plain text message", H "\nhello\n", {0}, NULL, 0, "", "" },
	{ "no body at all", H, {0}, NULL, 0, "", "" },
	{ "text/html alone", H "Content-Type: text/html\n\n<p>x\n", {0}, NULL, 0, "", "" },
	{ "top-level pdf without a name", H "Content-Type: application/pdf\n\n%PDF\n", {0}, NULL, 1,
	  "", "application/pdf" },
	{ "mixed: text and a named pdf",
	  MIXED("b1") "pre\n--b1\n" TEXT "--b1\nContent-Type: application/pdf; name=\"r.pdf\"\n\nx\n"
	  "--b1--\nepi\n", {0}, NULL, 1, "r.pdf", "application/pdf" },
	{ "CRLF line endings and transport padding",
	  "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1 \t\r\nContent-Type: text/plain\r\n\r\n"
	  "x\r\n--b1\r\nContent-Disposition: attachment; filename=a.js\r\n\r\nx\r\n--b1--  \r\n",
	  {0}, NULL, 1, "a.js", "text/plain" },
	{ "inline text with a filename is an attachment",
	  MIXED("b") "--b\nContent-Type: text/plain; name=notes.txt\nContent-Disposition: inline\n\nx\n"
	  "--b--\n", {0}, NULL, 1, "notes.txt", "text/plain" },
	{ "unknown disposition is an attachment (RFC 2183 2.8)",
	  MIXED("b") "--b\nContent-Disposition: x-weird\n\nx\n--b--\n", {0}, NULL, 1, "", "text/plain" },
	{ "nested multiparts and an rfc822 part",
	  MIXED("o") "--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n" TEXT
	  "--i\nContent-Type: text/html\n\n<p>\n--i--\n--o\nContent-Type: message/rfc822\n\n"
	  "From: c@example.com\nContent-Type: multipart/mixed; boundary=r\n\n--r\n" TEXT
	  "--r\nContent-Type: application/zip; name=\"in.zip\"\n\nPK\n--r--\n--o--\n",
	  {0}, NULL, 2, "in.zip", "message/rfc822|application/zip" },
	{ "digest parts default to message/rfc822",
	  H "Content-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: x@example.com\n\nhi\n--d--\n",
	  {0}, NULL, 1, "", "message/rfc822" },
	{ "RFC 2231 continuations with a charset",
	  MIXED("b") "--b\nContent-Disposition: attachment;\n filename*0*=utf-8''caf%C3%A9;\n"
	  " filename*1=\".e\"; filename*2*=%78e\n\nx\n--b--\n", {0}, NULL, 1, "caf\xc3\xa9.exe",
	  "text/plain" },
	{ "RFC 2231 single extended value in latin-1",
	  MIXED("b") "--b\nContent-Type: application/octet-stream;\n name*=iso-8859-1'en'%E9t%E9.iso\n\n"
	  "x\n--b--\n", {0}, NULL, 1, "\xc3\xa9t\xc3\xa9.iso", "application/octet-stream" },
	{ "RFC 2231 sections out of order and with a gap",
	  MIXED("b") "--b\nContent-Disposition: attachment; filename*2=exe; filename*0=\"a.\"\n\nx\n"
	  "--b--\n", {0}, NULL, 1, "a.exe|a", "text/plain" },
	{ "RFC 2047 encoded-word in a quoted name",
	  MIXED("b") "--b\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?ZXZpbC5leGU=?=\"\n\n"
	  "x\n--b--\n", {0}, NULL, 1, "evil.exe|=?UTF-8?B?ZXZpbC5leGU=?=", "application/octet-stream" },
	{ "type name and disposition filename disagree: both",
	  MIXED("b") "--b\nContent-Type: application/pdf; name=\"a.pdf\"\n"
	  "Content-Disposition: attachment; filename=\"a.exe\"\n\nx\n--b--\n",
	  {0}, NULL, 1, "a.exe|a.pdf", "application/pdf" },
	{ "a NUL and an invalid byte cannot hide .exe",
	  MIXED("b") "--b\nContent-Disposition: attachment; filename*=utf-8''a.exe%00.txt\n\nx\n--b--\n",
	  {0}, NULL, 1, "a.exe\xef\xbf\xbd.txt|a.exe|a.exe.txt", "text/plain" },
	{ "invalid UTF-8 inside the extension",
	  MIXED("b") "--b\nContent-Disposition: attachment; filename=\"a.ex\xff" "e\"\n\nx\n--b--\n",
	  {0}, NULL, 1, "a.ex\xef\xbf\xbd" "e|a.ex|a.exe", "text/plain" },
	{ "trailing dots and spaces are dropped",
	  MIXED("b") "--b\nContent-Disposition: attachment; filename=\"run.exe. . \"\n\nx\n--b--\n",
	  {0}, NULL, 1, "run.exe", "text/plain" },
	{ "comments and escapes in parameters",
	  H "Content-Type: application/x-foo (a comment; name=no.txt) ; name=\"q\\\"x.js\"\n\nx\n",
	  {0}, NULL, 1, "q\"x.js", "application/x-foo" },
	{ "missing close delimiter",
	  MIXED("b") "--b\n" TEXT "--b\nContent-Type: image/png; name=p.png\n\nx\n", {0},
	  "unterminated multipart", 1, "p.png", "image/png" },
	{ "no delimiter at all", MIXED("b") "just text\n", {0}, "multipart without parts", 0, "", "" },
	{ "multipart without a boundary", H "Content-Type: multipart/mixed\n\n--x\n\nhi\n", {0},
	  "multipart without boundary", 1, "", "multipart/mixed" },
	{ "a delimiter prefix followed by text",
	  MIXED("b") "--b\n" TEXT "--bogus\nContent-Type: application/x-msdownload\n\nMZ\n--b--\n", {0},
	  "ambiguous boundary line", 1, "", "application/x-msdownload" },
	{ "two Content-Type fields", H "Content-Type: text/plain\nContent-Type: application/zip\n\nx\n",
	  {0}, "duplicate Content-Type", 0, "", "" },
	{ "malformed Content-Type", H "Content-Type: garbage\n\nx\n", {0}, "malformed Content-Type",
	  0, "", "" },
	{ "base64 message/rfc822 is not descended",
	  MIXED("b") "--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nQQ==\n"
	  "--b--\n", {0}, "encoded message/rfc822", 1, "", "message/rfc822" },
	{ "nesting deeper than the limit",
	  MIXED("a") "--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Content-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: image/gif; name=g.gif\n\nx\n"
	  "--c--\n--b--\n--a--\n", { .max_depth = 2 }, "nesting too deep", 0, "", "" },
	{ "the same within the limit",
	  MIXED("a") "--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Content-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: image/gif; name=g.gif\n\nx\n"
	  "--c--\n--b--\n--a--\n", { .max_depth = 3 }, NULL, 1, "g.gif", "image/gif" },
	{ "more parts than the limit; names before it are kept",
	  MIXED("b") "--b\nContent-Type: image/gif; name=1.gif\n\nx\n--b\n" TEXT "--b\n" TEXT "--b--\n",
	  { .max_parts = 3 }, "too many parts", 1, "1.gif", "image/gif" },
	{ "a part header over the limit",
	  MIXED("b") "--b\nX-Long: 0123456789012345678901234567890123456789\n"
	  " 0123456789012345678901234567890123456789012345678901234567890123456789\n\nx\n--b--\n",
	  { .max_header_bytes = 110 }, "part header too big", 0, "", "" },
	{ "the message's own header may be bigger than a part's",
	  H "X-Long: 0123456789012345678901234567890123456789\n"
	  " 0123456789012345678901234567890123456789012345678901234567890123456789\n"
	  "Content-Type: image/png\n\nx\n", { .max_header_bytes = 110 }, NULL, 1, "", "image/png" },
	{ "more bytes to scan than the limit",
	  MIXED("a") "--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" TEXT "--b--\n--a--\n",
	  { .max_scan_bytes = 60 }, "too much to scan", 0, "", "" },
};

/* The members of a set joined by "|". */
static void join(pst_buf *b, const char **items, size_t n)
{
	pst_buf_clear(b);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pst_buf_printf(b, "%s%s", i ? "|" : "", items[i]), 0);
}

static void walks_table(void **state)
{
	(void)state;
	pst_buf names = PST_BUF_INIT, types = PST_BUF_INIT;
	int bad = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct mime_case *c = &cases[i];
		pst_arena *a = pst_arena_new();
		pst_mime_result r;
		assert_non_null(a);
		assert_int_equal(pst_mime_scan(c->msg, strlen(c->msg), &c->lim, a, &r), 0);
		join(&names, r.names, r.nnames);
		join(&types, r.types, r.ntypes);
		const char *gn = pst_buf_str(&names), *gt = pst_buf_str(&types);
		const char *ge = r.error ? r.error : "(none)", *we = c->error ? c->error : "(none)";
		if (strcmp(ge, we) != 0 || r.count != c->count || strcmp(gn, c->names) != 0 ||
		    strcmp(gt, c->types) != 0) {
			printf("# %s: got error %s, count %zu, names [%s], types [%s]; "
			       "want error %s, count %zu, names [%s], types [%s]\n", c->what, ge, r.count,
			       gn, gt, we, c->count, c->names, c->types);
			bad++;
		}
		pst_arena_free(&a);
	}
	pst_buf_free(&names);
	pst_buf_free(&types);
	assert_int_equal(bad, 0);
}

/* Deep nesting stops at the default limit without recursion, and a long
 * chain of message/rfc822 parts likewise. */
static void deep_nesting_is_bounded(void **state)
{
	(void)state;
	pst_buf m = PST_BUF_INIT;
	for (int i = 0; i < 5000; i++)
		assert_int_equal(pst_buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%dz\n\n--b%dz\n",
		                                i, i), 0);
	pst_arena *a = pst_arena_new();
	pst_mime_result r;
	assert_int_equal(pst_mime_scan(m.data, m.len, NULL, a, &r), 0);
	printf("# got %s after %zu parts, want nesting too deep after %d\n", r.error, r.nparts,
	       PST_MIME_MAX_DEPTH + 1);
	assert_string_equal(r.error, "nesting too deep");
	assert_int_equal(r.nparts, PST_MIME_MAX_DEPTH + 1);
	pst_buf_clear(&m);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(pst_buf_puts(&m, "Content-Type: message/rfc822\n\n"), 0);
	assert_int_equal(pst_mime_scan(m.data, m.len, NULL, a, &r), 0);
	assert_string_equal(r.error, "nesting too deep");
	assert_int_equal(r.count, PST_MIME_MAX_DEPTH + 1);
	pst_arena_free(&a);
	pst_buf_free(&m);
}

/* Many parts: the default part limit holds. */
static void many_parts_are_bounded(void **state)
{
	(void)state;
	pst_buf m = PST_BUF_INIT;
	assert_int_equal(pst_buf_puts(&m, "Content-Type: multipart/mixed; boundary=b\n\n"), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(pst_buf_puts(&m, "--b\nContent-Type: image/gif\n\nx\n"), 0);
	assert_int_equal(pst_buf_puts(&m, "--b--\n"), 0);
	pst_arena *a = pst_arena_new();
	pst_mime_result r;
	assert_int_equal(pst_mime_scan(m.data, m.len, NULL, a, &r), 0);
	assert_string_equal(r.error, "too many parts");
	assert_true(r.count < PST_MIME_MAX_PARTS);
	assert_int_equal(r.ntypes, 1);
	pst_arena_free(&a);
	pst_buf_free(&m);
}

/* Names past PST_MIME_MAX_NAMES are not listed, and that is an error. */
static void many_names_are_bounded(void **state)
{
	(void)state;
	pst_buf m = PST_BUF_INIT;
	assert_int_equal(pst_buf_puts(&m, "Content-Type: multipart/mixed; boundary=b\n\n"), 0);
	for (int i = 0; i < 600; i++)
		assert_int_equal(pst_buf_printf(&m, "--b\nContent-Type: image/gif; name=%d.gif\n"
		                                "Content-Disposition: attachment; filename=%d.png\n\nx\n",
		                                i, i), 0);
	assert_int_equal(pst_buf_puts(&m, "--b--\n"), 0);
	pst_arena *a = pst_arena_new();
	pst_mime_result r;
	assert_int_equal(pst_mime_scan(m.data, m.len, NULL, a, &r), 0);
	printf("# got %s with %zu names, want too many names with %d\n", r.error, r.nnames,
	       PST_MIME_MAX_NAMES);
	assert_string_equal(r.error, "too many names");
	assert_int_equal(r.nnames, PST_MIME_MAX_NAMES);
	assert_int_equal(r.count, 600);
	pst_arena_free(&a);
	pst_buf_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(walks_table),
		cmocka_unit_test(deep_nesting_is_bounded),
		cmocka_unit_test(many_parts_are_bounded),
		cmocka_unit_test(many_names_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
