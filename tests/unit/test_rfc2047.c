/* Unit tests for engine/msg/rfc2047.c: encoded-words to and from UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "msg/rfc2047.h"

static void decodes(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
		int nwords;
	} cases[] = {
		{ "plain text", "plain text", 0 },
		{ "", "", 0 },
		{ "=?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9", 1 },
		{ "=?utf-8?b?Y2Fmw6k?=", "caf\xc3\xa9", 1 },                 /* no padding */
		{ "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld J\xc3\xb8rn Simonsen", 1 },
		{ "=?iso-8859-1?q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard", 1 },
		{ "=?ISO-8859-1?B?QW5kcuk=?=", "Andr\xc3\xa9", 1 },
		{ "=?UTF-8?Q?caf=C3=A9?=", "caf\xc3\xa9", 1 },
		/* white space between adjacent words is dropped (6.2) */
		{ "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab", 2 },
		{ "=?ISO-8859-1?Q?a?=\r\n   =?ISO-8859-1?Q?b?=", "ab", 2 },
		/* but not between a word and text */
		{ "=?ISO-8859-1?Q?a?= b", "a b", 1 },
		{ "x =?ISO-8859-1?Q?a?=", "x a", 1 },
		/* a UTF-8 character split across two B words */
		{ "=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "\xc3\xa9\xc3\xa9", 2 },
		{ "=?UTF-8?B?Y8M=?= =?UTF-8?B?qQ==?=", "c\xc3\xa9", 2 },
		/* RFC 2231 language */
		{ "=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore", 1 },
		/* lower-case hex in Q */
		{ "=?utf-8?q?=c3=a9?=", "\xc3\xa9", 1 },
		/* broken: kept as written */
		{ "=?x-unknown-charset?Q?abc?=", "=?x-unknown-charset?Q?abc?=", 0 },
		{ "=?UTF-8?Q?bad=ZZhex?=", "=?UTF-8?Q?bad=ZZhex?=", 0 },
		{ "=?UTF-8?Q?trunc=C?=", "=?UTF-8?Q?trunc=C?=", 0 },
		{ "=?UTF-8?B?!!!!?=", "=?UTF-8?B?!!!!?=", 0 },
		{ "=?UTF-8?B?/w==?=", "=?UTF-8?B?/w==?=", 0 },                 /* 0xff invalid UTF-8 */
		{ "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=", 0 },
		{ "=?UTF-8?Q?no end", "=?UTF-8?Q?no end", 0 },
		{ "=?", "=?", 0 },
		{ "a =? b", "a =? b", 0 },
		{ "=??Q?a?=", "=??Q?a?=", 0 },
		/* one bad word does not stop the next good one */
		{ "=?x-bad?Q?a?= =?UTF-8?Q?b?=", "=?x-bad?Q?a?= b", 1 },
		{ "=?ISO-8859-1?Q =?ISO-8859-1?Q?a?= \" =?ISO-8859-1?Q?b?=",
		  "=?ISO-8859-1?Q a \" b", 2 },
	};
	pst_arena *a = pst_arena_new();
	assert_non_null(a);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char *out = NULL;
		size_t n = 0;
		int rc = pst_rfc2047_decode(a, cases[c].in, strlen(cases[c].in), &out, &n);
		assert_non_null(out);
		if (rc != cases[c].nwords || strcmp(out, cases[c].want) != 0 || n != strlen(out))
			fail_msg("case %zu '%s': got '%s' (%d words), want '%s' (%d)", c, cases[c].in,
			         out, rc, cases[c].want, cases[c].nwords);
	}
	pst_arena_free(&a);
}

static void decodes_with_nul_bytes(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	const char in[] = "x\0=?UTF-8?Q?a?=";
	char *out;
	size_t n;
	assert_int_equal(pst_rfc2047_decode(a, in, sizeof in - 1, &out, &n), 1);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "x\0a", 3);
	/* a NUL inside a word's text ends it: kept raw */
	const char in2[] = "=?UTF-8?Q?a\0b?=";
	assert_int_equal(pst_rfc2047_decode(a, in2, sizeof in2 - 1, &out, &n), 0);
	assert_int_equal(n, sizeof in2 - 1);
	pst_arena_free(&a);
}

static void encodes(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	static const struct { const char *in, *want; } cases[] = {
		{ "[EXTERNAL] ", "[EXTERNAL] " },
		{ "tab\tok", "tab\tok" },
		{ "caf\xc3\xa9", "=?UTF-8?B?Y2Fmw6k=?=" },
		{ "a\x01", "=?UTF-8?B?YQE=?=" },
		{ "", "" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char *out = pst_rfc2047_encode(a, cases[c].in, strlen(cases[c].in));
		assert_non_null(out);
		if (strcmp(out, cases[c].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", c, out, cases[c].want);
	}
	pst_arena_free(&a);
}

/* Long non-ASCII text: words of at most 75 characters holding whole UTF-8
 * characters, and decoding gives the text back. */
static void encodes_long_text_round_trip(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	char text[600];
	size_t n = 0;
	while (n + 3 < sizeof text) {
		const char *piece = (n / 2) % 7 == 0 ? "\xe2\x82\xac" : "\xc3\xa9 ";  /* euro, e-acute */
		size_t k = strlen(piece);
		if (n + k >= sizeof text)
			break;
		memcpy(text + n, piece, k);
		n += k;
	}
	text[n] = '\0';
	char *enc = pst_rfc2047_encode(a, text, n);
	assert_non_null(enc);
	size_t words = 0;
	for (char *p = enc; *p; ) {
		char *sp = strchr(p, ' ');
		size_t wl = sp ? (size_t)(sp - p) : strlen(p);
		if (wl > 75)
			fail_msg("word %zu: got %zu characters, want at most 75", words, wl);
		assert_memory_equal(p, "=?UTF-8?B?", 10);
		words++;
		p += wl + (sp ? 1 : 0);
	}
	assert_true(words > 1);
	char *dec;
	size_t dn;
	assert_int_equal(pst_rfc2047_decode(a, enc, strlen(enc), &dec, &dn), (int)words);
	if (dn != n || memcmp(dec, text, n) != 0)
		fail_msg("round trip: got %zu bytes, want %zu", dn, n);
	pst_arena_free(&a);
}

/* Bounded output and no crash on many small or hostile words. */
static void hostile_input(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	static char in[20000];
	size_t n = 0;
	while (n + 20 < sizeof in) {
		memcpy(in + n, "=?UTF-8?Q?=C3?= ", 16);
		n += 16;
	}
	char *out;
	size_t on;
	int rc = pst_rfc2047_decode(a, in, n, &out, &on);
	assert_true(rc >= 0);
	assert_true(on <= 3 * n + 16);
	/* a dangling "=?" at the very end */
	assert_int_equal(pst_rfc2047_decode(a, "abc=?", 5, &out, &on), 0);
	assert_string_equal(out, "abc=?");
	pst_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes),
		cmocka_unit_test(decodes_with_nul_bytes),
		cmocka_unit_test(encodes),
		cmocka_unit_test(encodes_long_text_round_trip),
		cmocka_unit_test(hostile_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
