/* Unit tests for engine/msg/msg.c: the RFC 5322 header section parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/msg.h"
#include "util/buf.h"
#include "util/limits.h"

static pst_msg *parse_ok(const char *s, size_t n)
{
	pst_msg *m = NULL;
	pst_msg_error err;
	int rc = pst_msg_parse(s, n, NULL, &m, &err);
	if (rc != 0)
		print_error("parse failed: %s\n", err.text);
	assert_int_equal(rc, 0);
	assert_non_null(m);
	return m;
}

static void want_field(const pst_msg *m, size_t i, const char *name, const char *value, size_t vlen)
{
	const pst_msg_field *f = pst_msg_field_at(m, i);
	assert_non_null(f);
	if (f->name_len != strlen(name) || memcmp(f->name, name, f->name_len) != 0)
		fail_msg("field %zu: got name '%.*s', want '%s'", i, (int)f->name_len, f->name, name);
	size_t got_len;
	const char *got = pst_msg_value(m, f, &got_len);
	assert_non_null(got);
	if (got_len != vlen || memcmp(got, value, vlen) != 0)
		fail_msg("field %zu: got value '%.*s' (%zu), want '%.*s' (%zu)", i, (int)got_len,
		         got, got_len, (int)vlen, value, vlen);
	assert_int_equal(got[got_len], '\0');
	assert_ptr_equal(pst_msg_value(m, f, NULL), got);   /* made once, kept */
	assert_int_equal(f->name_hash, pst_msg_name_hash(name, strlen(name)));
}

/* Structure of well-formed and odd messages, table-driven. A name ""
 * is a malformed field (its value is its whole text, trimmed). */
static void splits_header_and_body(void **state)
{
	(void)state;
	enum { M = PST_MSG_FIELD_MALFORMED, O = PST_MSG_FIELD_OBS_SPACE, CR = 0x1000 /* pst_msg_field_bare_cr */,
	       F = PST_MSG_FIELD_OBS_SPACE | PST_MSG_FIELD_FOLDED_NAME };
	static const struct {
		const char *in;
		size_t nfields;
		const char *names[5];
		const char *values[5];
		unsigned flags[5];
		const char *body;
		int has_sep;
		const char *sep, *eol;
	} cases[] = {
		{ "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n", 2,
		  { "From", "Subject" }, { "a@example.org", "hi" }, { 0 }, "body\r\n", 1, "\r\n", "\r\n" },
		{ "From: a@example.org\nSubject: hi\n\nbody\n", 2,
		  { "From", "Subject" }, { "a@example.org", "hi" }, { 0 }, "body\n", 1, "\n", "\n" },
		/* mixed: the majority wins for new fields */
		{ "A: 1\r\nB: 2\nC: 3\n\r\nx", 3, { "A", "B", "C" }, { "1", "2", "3" }, { 0 }, "x", 1,
		  "\r\n", "\n" },
		/* folding with SP and HTAB, CRLF */
		{ "Subject: a\r\n b\r\n\tc  \r\nX: y\r\n\r\n", 2, { "Subject", "X" }, { "a b\tc", "y" },
		  { 0 }, "", 1, "\r\n", "\r\n" },
		/* no blank line: all header */
		{ "A: 1\nB: 2\n", 2, { "A", "B" }, { "1", "2" }, { 0 }, "", 0, "", "\n" },
		/* no final line ending at all */
		{ "A: 1\nB: 2", 2, { "A", "B" }, { "1", "2" }, { 0 }, "", 0, "", "\n" },
		/* empty body */
		{ "A: 1\r\n\r\n", 1, { "A" }, { "1" }, { 0 }, "", 1, "\r\n", "\r\n" },
		/* empty value and obsolete white space before the colon */
		{ "X-Empty:\nSubject \t: hi\n\nb", 2, { "X-Empty", "Subject" }, { "", "hi" }, { 0, O },
		  "b", 1, "\n", "\n" },
		/* a line that is neither field nor continuation is a malformed
		 * field; the fields after it are read */
		{ "A: 1\nnot a field\nC: 3\n", 3, { "A", "", "C" }, { "1", "not a field", "3" },
		  { 0, M, 0 }, "", 0, "", "\n" },
		/* the attack: a bare "From" line, then the real fields below it */
		{ "Received: by mx\r\nFrom\r\nFrom: victim@example.com\r\n"
		  "DKIM-Signature: v=1; d=example.com\r\n\r\nbody\r\n", 4,
		  { "Received", "", "From", "DKIM-Signature" },
		  { "by mx", "From", "victim@example.com", "v=1; d=example.com" }, { 0, M, 0, 0 },
		  "body\r\n", 1, "\r\n", "\r\n" },
		/* "From" folded before its colon is a From field (obs-optional),
		 * flagged: stricter readers see a line without a colon */
		{ "From\r\n : victim@example.com\r\nTo: x@example.org\r\n\r\nb", 2, { "From", "To" },
		  { "victim@example.com", "x@example.org" }, { F, 0 }, "b", 1, "\r\n", "\r\n" },
		{ "From\n\t\n\t: v@example.com\n\n", 1, { "From" }, { "v@example.com" }, { F }, "", 1,
		  "\n", "\n" },
		/* a fold that ends the field before any colon: malformed */
		{ "From\r\n victim@example.com\r\nTo: x\r\n\r\n", 2, { "", "To" },
		  { "From victim@example.com", "x" }, { M, 0 }, "", 1, "\r\n", "\r\n" },
		/* a continuation before any field is a malformed field */
		{ " leading\nA: 1\n", 2, { "", "A" }, { "leading", "1" }, { M, 0 }, "", 0, "", "\n" },
		{ "\t lead\r\n more\r\nFrom: a@example.org\r\n\r\nb", 2, { "", "From" },
		  { "lead more", "a@example.org" }, { M, 0 }, "b", 1, "\r\n", "\r\n" },
		/* names with a byte outside printable ASCII, a space, no name */
		{ "Fr om: x\nFr\xc3\xb6m: y\n: z\nA: 1\n\n", 4, { "", "", "", "A" },
		  { "Fr om: x", "Fr\xc3\xb6m: y", ": z", "1" }, { M, M, M, 0 }, "", 1, "\n", "\n" },
		/* a bare CR that starts a new field for a CR-splitting reader */
		{ "X: a\rFrom: v@example.com\r\nFrom\r: w\r\n\r\n", 2, { "X", "" },
		  { "a\rFrom: v@example.com", "From\r: w" }, { CR, M | CR }, "", 1, "\r\n", "\r\n" },
		/* ... but not before LF, CR or a continuation */
		{ "X: a\r\r\nY: b\r c\r\n\r\n", 2, { "X", "Y" }, { "a", "b\r c" }, { 0, 0 }, "", 1,
		  "\r\n", "\r\n" },
		/* a malformed last field without a line ending */
		{ "A: 1\nFrom", 2, { "A", "" }, { "1", "From" }, { 0, M }, "", 0, "", "\n" },
		/* empty input */
		{ "", 0, { NULL }, { NULL }, { 0 }, "", 0, "", "\r\n" },
		/* only a blank line */
		{ "\nbody", 0, { NULL }, { NULL }, { 0 }, "body", 1, "\n", "\n" },
		/* bare CR inside a value is kept; white-space-only continuation */
		{ "A: x\ry\nB: 1\n \n\n", 2, { "A", "B" }, { "x\ry", "1" }, { CR, 0 }, "", 1, "\n",
		  "\n" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t n = strlen(cases[c].in);
		pst_msg *m = parse_ok(cases[c].in, n);
		if (pst_msg_field_count(m) != cases[c].nfields)
			fail_msg("case %zu: got %zu fields, want %zu", c, pst_msg_field_count(m),
			         cases[c].nfields);
		size_t total = 0;
		for (size_t i = 0; i < cases[c].nfields; i++) {
			const pst_msg_field *f = pst_msg_field_at(m, i);
			want_field(m, i, cases[c].names[i], cases[c].values[i], strlen(cases[c].values[i]));
			unsigned got = f->flags | (pst_msg_field_bare_cr(f) ? CR : 0);
			if (got != cases[c].flags[i])
				fail_msg("case %zu field %zu: got flags %#x, want %#x", c, i, got,
				         cases[c].flags[i]);
			if (f->flags & PST_MSG_FIELD_MALFORMED)   /* never found by name */
				assert_int_equal(pst_msg_find_next(m, f->name, 0, f->name_hash, 0), -1);
			assert_ptr_equal(f->raw, pst_msg_bytes(m) + total);
			total += f->raw_len;
		}
		const char *body = pst_msg_bytes(m) + pst_msg_body_offset(m);
		if (pst_msg_body_len(m) != strlen(cases[c].body) ||
		    memcmp(body, cases[c].body, pst_msg_body_len(m)) != 0)
			fail_msg("case %zu: got body '%.*s', want '%s'", c, (int)pst_msg_body_len(m), body,
			         cases[c].body);
		assert_int_equal(pst_msg_has_separator(m), cases[c].has_sep);
		assert_string_equal(pst_msg_separator(m), cases[c].sep);
		if (strcmp(pst_msg_eol(m), cases[c].eol) != 0)
			fail_msg("case %zu: got eol %zu bytes, want %zu", c, strlen(pst_msg_eol(m)),
			         strlen(cases[c].eol));
		/* fields + separator + body is the whole input */
		assert_int_equal(total + strlen(pst_msg_separator(m)) + pst_msg_body_len(m), n);
		assert_int_equal(pst_msg_size(m), n);
		pst_msg_free(&m);
		assert_null(m);
	}
}

static void raw_bytes_are_kept(void **state)
{
	(void)state;
	const char *in = "Subject: one\r\n  two\r\nTo: x@example.org\r\n\r\n";
	pst_msg *m = parse_ok(in, strlen(in));
	const pst_msg_field *f = pst_msg_field_at(m, 0);
	assert_int_equal(f->raw_len, strlen("Subject: one\r\n  two\r\n"));
	assert_memory_equal(f->raw, "Subject: one\r\n  two\r\n", f->raw_len);
	assert_string_equal(pst_msg_value(m, f, NULL), "one  two");
	f = pst_msg_field_at(m, 1);
	assert_memory_equal(f->raw, "To: x@example.org\r\n", f->raw_len);
	assert_null(pst_msg_field_at(m, 2));
	pst_msg_free(&m);
	pst_msg_free(&m);   /* NULL-safe */
	pst_msg_free(NULL);
}

static void nul_and_8bit_values(void **state)
{
	(void)state;
	const char in[] = "X-Nul: a\0b\nSubject: caf\xc3\xa9\nX-Plain: p\n\n";
	pst_msg *m = parse_ok(in, sizeof in - 1);
	assert_int_equal(pst_msg_field_count(m), 3);
	want_field(m, 0, "X-Nul", "a\0b", 3);
	assert_int_equal(pst_msg_value_flags(m, pst_msg_field_at(m, 0)), PST_MSG_FIELD_NUL);
	assert_int_equal(pst_msg_value_flags(m, pst_msg_field_at(m, 1)), PST_MSG_FIELD_8BIT);
	assert_int_equal(pst_msg_value_flags(m, pst_msg_field_at(m, 2)), 0);
	assert_int_equal(pst_msg_field_at(m, 2)->flags, 0);
	pst_msg_free(&m);
}

static void obsolete_space_before_colon(void **state)
{
	(void)state;
	const char *in = "Subject   : hello\nFrom\t: a@example.org\n\n";
	pst_msg *m = parse_ok(in, strlen(in));
	want_field(m, 0, "Subject", "hello", 5);
	assert_true(pst_msg_field_at(m, 0)->flags & PST_MSG_FIELD_OBS_SPACE);
	assert_non_null(pst_msg_find(m, "subject", 7, 0));
	pst_msg_free(&m);
	/* "From :" first is a field, not an mbox separator line */
	in = "From : a@example.org\n\n";
	m = parse_ok(in, strlen(in));
	assert_int_equal(pst_msg_field_at(m, 0)->flags, PST_MSG_FIELD_OBS_SPACE);
	want_field(m, 0, "From", "a@example.org", 13);
	assert_int_equal(pst_msg_find_next(m, "From", 4, pst_msg_name_hash("From", 4), 0), 0);
	pst_msg_free(&m);
}

static void mbox_from_line(void **state)
{
	(void)state;
	const char *in = "From sender@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\n\nb";
	pst_msg *m = parse_ok(in, strlen(in));
	assert_int_equal(pst_msg_field_count(m), 2);
	const pst_msg_field *f = pst_msg_field_at(m, 0);
	assert_true(f->flags & PST_MSG_FIELD_MBOX_FROM);
	assert_memory_equal(f->raw, "From sender@example.org Mon Jan  1 00:00:00 2024\n", f->raw_len);
	/* the separator line never matches "From" */
	assert_ptr_equal(pst_msg_find(m, "From", 4, 0), pst_msg_field_at(m, 1));
	assert_int_equal(pst_msg_count(m, "From", 4), 1);
	assert_int_equal(pst_msg_find_next(m, "From", 4, pst_msg_name_hash("From", 4), 0), 1);
	pst_msg_free(&m);
	/* a continuation line after the From_ line continues nothing: it is
	 * a malformed (leading white-space) field */
	in = "From sender@example.org Mon Jan  1 00:00:00 2024\n junk\nFrom: a@example.org\n\nb";
	m = parse_ok(in, strlen(in));
	assert_int_equal(pst_msg_field_count(m), 3);
	assert_int_equal(pst_msg_field_at(m, 0)->flags, PST_MSG_FIELD_MBOX_FROM);
	assert_int_equal(pst_msg_field_at(m, 1)->flags, PST_MSG_FIELD_MALFORMED);
	assert_memory_equal(pst_msg_field_at(m, 1)->raw, " junk\n", 6);
	assert_int_equal(pst_msg_find_next(m, "From", 4, pst_msg_name_hash("From", 4), 0), 2);
	pst_msg_free(&m);
	/* "From " folded before a colon is a field, not a From_ line */
	in = "From \r\n : a@example.org\r\n\r\n";
	m = parse_ok(in, strlen(in));
	assert_int_equal(pst_msg_field_count(m), 1);
	want_field(m, 0, "From", "a@example.org", 13);
	assert_int_equal(pst_msg_field_at(m, 0)->flags,
	                 PST_MSG_FIELD_OBS_SPACE | PST_MSG_FIELD_FOLDED_NAME);
	pst_msg_free(&m);
}

static void limits_are_typed_errors(void **state)
{
	(void)state;
	const char *in = "A: 1\nB: 2\nC: 3\nD: 4\n\nbody";
	pst_msg *m = (pst_msg *)1;
	pst_msg_error err;
	pst_msg_limits lim = { .max_fields = 3 };
	assert_int_equal(pst_msg_parse(in, strlen(in), &lim, &m, &err), -1);
	assert_null(m);
	assert_int_equal(err.code, PST_MSG_TOO_MANY_FIELDS);
	assert_string_equal(err.text, "more than 3 header fields");
	lim.max_fields = 4;
	assert_int_equal(pst_msg_parse(in, strlen(in), &lim, &m, &err), 0);
	pst_msg_free(&m);

	pst_msg_limits small = { .max_header_bytes = 10 };
	assert_int_equal(pst_msg_parse(in, strlen(in), &small, &m, &err), -1);
	assert_int_equal(err.code, PST_MSG_HEADER_TOO_BIG);
	assert_string_equal(err.text, "header section over 10 bytes");
	/* exactly at the limit (fields and blank line: 21 bytes) is fine */
	small.max_header_bytes = 21;
	assert_int_equal(pst_msg_parse(in, strlen(in), &small, &m, &err), 0);
	assert_int_equal(err.code, PST_MSG_OK);
	pst_msg_free(&m);
	small.max_header_bytes = 20;
	assert_int_equal(pst_msg_parse(in, strlen(in), &small, &m, &err), -1);
	assert_int_equal(err.code, PST_MSG_HEADER_TOO_BIG);
	/* err may be NULL */
	assert_int_equal(pst_msg_parse(in, strlen(in), &small, &m, NULL), -1);

	/* default limits: one huge folded field, then too many fields */
	size_t big = PST_MAX_HEADER_BYTES + 100;
	char *s = malloc(big + 8);
	assert_non_null(s);
	memcpy(s, "X: ", 3);
	for (size_t i = 3; i < big; i++)
		s[i] = (i % 70 == 0) ? '\n' : (i % 70 == 1 ? ' ' : 'a');
	memcpy(s + big, "\n\nbody", 6);
	assert_int_equal(pst_msg_parse(s, big + 6, NULL, &m, &err), -1);
	assert_int_equal(err.code, PST_MSG_HEADER_TOO_BIG);
	free(s);

	size_t nf = PST_MAX_HEADER_FIELDS + 1;
	s = malloc(nf * 5 + 1);
	assert_non_null(s);
	for (size_t i = 0; i < nf; i++)
		memcpy(s + i * 5, "A: 1\n", 5);
	assert_int_equal(pst_msg_parse(s, nf * 5, NULL, &m, &err), -1);
	assert_int_equal(err.code, PST_MSG_TOO_MANY_FIELDS);
	assert_int_equal(pst_msg_parse(s, (nf - 1) * 5, NULL, &m, &err), 0);
	assert_int_equal(pst_msg_field_count(m), PST_MAX_HEADER_FIELDS);
	pst_msg_free(&m);
	free(s);

	/* malformed fields count against both limits, and a header with no
	 * blank line is header to its end: a long "body" is over the limit */
	static const struct {
		const char *in;
		pst_msg_limits lim;
		pst_msg_errcode want;
	} more[] = {
		{ "A: 1\nno colon\n junk\nB: 2\n\n", { .max_fields = 2 }, PST_MSG_TOO_MANY_FIELDS },
		{ " lead\nA: 1\nB: 2\n\n", { .max_fields = 2 }, PST_MSG_TOO_MANY_FIELDS },
		{ " lead\nA: 1\nB: 2\n\n", { .max_fields = 3 }, PST_MSG_OK },
		{ "A: 1\nHello, this is the text\nand more of it\n", { .max_header_bytes = 20 },
		  PST_MSG_HEADER_TOO_BIG },
		{ "A: 1\r\nno colon at all, long\r\n\r\nbody", { .max_header_bytes = 26 },
		  PST_MSG_HEADER_TOO_BIG },
		{ "A: 1\r\nno colon at all, long\r\n\r\nbody", { .max_header_bytes = 30 },
		  PST_MSG_HEADER_TOO_BIG },     /* 31 bytes with the blank line */
		{ "A: 1\r\nno colon at all, long\r\n\r\nbody", { .max_header_bytes = 31 }, PST_MSG_OK },
	};
	for (size_t c = 0; c < sizeof more / sizeof more[0]; c++) {
		int rc = pst_msg_parse(more[c].in, strlen(more[c].in), &more[c].lim, &m, &err);
		if (err.code != more[c].want || rc != (more[c].want == PST_MSG_OK ? 0 : -1))
			fail_msg("limits case %zu: got rc %d code %d (%s), want code %d", c, rc, err.code,
			         err.text, more[c].want);
		pst_msg_free(&m);
	}
}

static void names_and_lookup(void **state)
{
	(void)state;
	assert_true(pst_msg_name_eq("Subject", 7, "sUBJECT", 7));
	assert_false(pst_msg_name_eq("Subject", 7, "Subjec", 6));
	assert_false(pst_msg_name_eq("Subject", 7, "Subjecu", 7));
	assert_int_equal(pst_msg_name_hash("Received", 8), pst_msg_name_hash("RECEIVED", 8));
	assert_int_not_equal(pst_msg_name_hash("Received", 8), pst_msg_name_hash("Receivee", 8));
	const char *in = "Received: 1\nTo: t\nreceived: 2\nRECEIVED: 3\n\n";
	pst_msg *m = parse_ok(in, strlen(in));
	assert_int_equal(pst_msg_count(m, "Received", 8), 3);
	assert_int_equal(pst_msg_count(m, "Cc", 2), 0);
	assert_string_equal(pst_msg_value(m, pst_msg_find(m, "Received", 8, 2), NULL), "3");
	assert_null(pst_msg_find(m, "Received", 8, 3));
	uint32_t h = pst_msg_name_hash("received", 8);
	assert_int_equal(pst_msg_find_next(m, "received", 8, h, 1), 2);
	assert_int_equal(pst_msg_find_next(m, "received", 8, h, 4), -1);
	assert_int_equal(pst_msg_find_next(m, "received", 8, h, 100), -1);
	/* Going on from a field of the name, and from one of another name. */
	assert_int_equal(pst_msg_find_next(m, "received", 8, h, 3), 3);
	assert_int_equal(pst_msg_find_next(m, "Received", 8, h, 2), 2);
	assert_int_equal(pst_msg_find_next(m, "TO", 2, pst_msg_name_hash("to", 2), 1), 1);
	assert_int_equal(pst_msg_find_next(m, "To", 2, pst_msg_name_hash("to", 2), 2), -1);
	pst_msg_free(&m);
}

/* The name index over many names: every name's count and order agree with
 * a plain scan (the table grows past its first size). */
static void name_index_many(void **state)
{
	(void)state;
	pst_buf b = PST_BUF_INIT;
	for (int i = 0; i < 300; i++)
		assert_int_equal(pst_buf_printf(&b, "X-H%d: %d\n", i % 97, i), 0);
	assert_int_equal(pst_buf_printf(&b, "\nbody\n"), 0);
	pst_msg *m = parse_ok(b.data, b.len);
	assert_int_equal(pst_msg_field_count(m), 300);
	for (int k = 0; k < 97; k++) {
		char name[16];
		int len = snprintf(name, sizeof name, "x-h%d", k);
		size_t want = 0;
		for (int i = k; i < 300; i += 97)
			want++;
		assert_int_equal(pst_msg_count(m, name, (size_t)len), want);
		uint32_t h = pst_msg_name_hash(name, (size_t)len);
		long at = -1;
		for (int i = k; i < 300; i += 97) {
			at = pst_msg_find_next(m, name, (size_t)len, h, (size_t)(at + 1));
			assert_int_equal(at, i);
		}
		assert_int_equal(pst_msg_find_next(m, name, (size_t)len, h, (size_t)(at + 1)), -1);
	}
	assert_int_equal(pst_msg_count(m, "X-H97", 5), 0);
	pst_msg_free(&m);
	pst_buf_free(&b);
}

/* Random bytes from a header-ish alphabet never crash (run under ASan). */
static void random_input_never_crashes(void **state)
{
	(void)state;
	static const char alpha[] = "From: \r\n\t\0:<>@\"(),;=?Bq\xe9 abc.";
	unsigned seed = 12345;
	char buf[300];
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(round % 300);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
		}
		pst_msg *m = NULL;
		assert_int_equal(pst_msg_parse(buf, n, NULL, &m, NULL), 0);
		size_t total = 0;
		for (size_t i = 0; i < pst_msg_field_count(m); i++) {
			assert_non_null(pst_msg_value(m, pst_msg_field_at(m, i), NULL));
			total += pst_msg_field_at(m, i)->raw_len;
		}
		assert_int_equal(total + strlen(pst_msg_separator(m)) + pst_msg_body_len(m), n);
		pst_msg_free(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splits_header_and_body),
		cmocka_unit_test(raw_bytes_are_kept),
		cmocka_unit_test(nul_and_8bit_values),
		cmocka_unit_test(obsolete_space_before_colon),
		cmocka_unit_test(mbox_from_line),
		cmocka_unit_test(limits_are_typed_errors),
		cmocka_unit_test(names_and_lookup),
		cmocka_unit_test(name_index_many),
		cmocka_unit_test(random_input_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
