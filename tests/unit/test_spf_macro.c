/* Unit tests for engine/auth/spf_macro.c: every expansion example of RFC
 * 7208 section 7.4 with the RFC's inputs and its outputs as written (the
 * sender strong-bad@email.example.com, <domain> email.example.com, the
 * client 192.0.2.3 or 2001:db8::cb01, the PTR name mx.example.org), then
 * the rest of 7.1-7.3: escapes, delimiters, URL-escaping of upper-case
 * letters, letters allowed only in explanations, the nonzero digit rule
 * and the 253-octet rule. Table-driven; prints "got X, want Y". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/spf_macro.h"
#include "util/buf.h"
#include "util/ip.h"

static const char *ptr_name(void *arg, const char *domain)
{
	(void)domain;
	int *calls = arg;
	if (calls != NULL)
		(*calls)++;
	return "mx.example.org";
}

typedef struct macro_case {
	const char *in;
	int v6;                        /* the IPv6 client instead of the IPv4 one */
	const char *want;
} macro_case;

static pst_spf_macro_env rfc_env(pst_ip *ip, int v6)
{
	const char *addr = v6 ? "2001:db8::cb01" : "192.0.2.3";
	assert_int_equal(pst_ip_parse(addr, strlen(addr), ip), 0);
	pst_spf_macro_env env = {
		.sender = "strong-bad@email.example.com",
		.domain = "email.example.com",
		.ip = ip,
		.helo = "mx.example.org",
		.receiver = "mx.example.net",
		.now = 1700000000,
		.validated_name = ptr_name,
		.arg = NULL,
	};
	return env;
}

static void run_cases(const macro_case *cases, size_t n, unsigned flags)
{
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		pst_ip ip;
		pst_spf_macro_env env = rfc_env(&ip, cases[i].v6);
		pst_buf out = PST_BUF_INIT;
		const char *why = NULL;
		int rc = pst_spf_macro_expand(cases[i].in, strlen(cases[i].in), &env, flags, &out,
		                              &why);
		const char *got = rc == PST_SPF_MACRO_OK ? (out.data ? out.data : "") : "(error)";
		const char *want = cases[i].want ? cases[i].want : "(error)";
		if (strcmp(got, want) != 0) {
			print_error("%s (%s): got \"%s\"%s%s, want \"%s\"\n", cases[i].in,
			            cases[i].v6 ? "IPv6" : "IPv4", got, why ? ": " : "",
			            why ? why : "", want);
			failed++;
		}
		if (rc != PST_SPF_MACRO_OK && why == NULL) {
			print_error("%s: an error without a reason\n", cases[i].in);
			failed++;
		}
		pst_buf_free(&out);
	}
	assert_int_equal(failed, 0);
}

/* RFC 7208 7.4, every example, as written. */
static void rfc7208_7_4_examples(void **state)
{
	(void)state;
	static const macro_case cases[] = {
		{ "%{s}", 0, "strong-bad@email.example.com" },
		{ "%{o}", 0, "email.example.com" },
		{ "%{d}", 0, "email.example.com" },
		{ "%{d4}", 0, "email.example.com" },
		{ "%{d3}", 0, "email.example.com" },
		{ "%{d2}", 0, "example.com" },
		{ "%{d1}", 0, "com" },
		{ "%{dr}", 0, "com.example.email" },
		{ "%{d2r}", 0, "example.email" },
		{ "%{l}", 0, "strong-bad" },
		{ "%{l-}", 0, "strong.bad" },
		{ "%{lr}", 0, "strong-bad" },
		{ "%{lr-}", 0, "bad.strong" },
		{ "%{l1r-}", 0, "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", 0, "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", 0, "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 0,
		  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0,
		  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net", 0, "example.com.trusted-domains.example.net" },
		{ "%{ir}.%{v}._spf.%{d2}", 1,
		  "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com" },
	};
	run_cases(cases, sizeof cases / sizeof cases[0], PST_SPF_MACRO_DOMAIN);
}

/* The rest of 7.1-7.3 over the same inputs. */
static void rfc7208_7_1_to_7_3(void **state)
{
	(void)state;
	static const macro_case cases[] = {
		/* 7.1: the three escapes */
		{ "%%", 0, "%" },
		{ "%_", 0, " " },
		{ "%-", 0, "%20" },
		{ "a%%b%_c%-d", 0, "a%b c%20d" },
		/* 7.3: digits more than the parts keep them all, any count */
		{ "%{d5}", 0, "email.example.com" },
		{ "%{d127}", 0, "email.example.com" },
		{ "%{d99999999999999999999}", 0, "email.example.com" },
		{ "%{d3r}", 0, "com.example.email" },
		{ "%{d4r}", 0, "com.example.email" },
		{ "%{d1r}", 0, "email" },
		{ "%{i1}", 0, "3" },
		{ "%{i4}", 0, "192.0.2.3" },
		{ "%{i9r}", 0, "3.2.0.192" },
		/* delimiters: any of the seven, several at once, joined with "." */
		{ "%{l1-}", 0, "bad" },
		{ "%{l2-}", 0, "strong.bad" },
		{ "%{s2r.-}", 0, "bad@email.strong" },
		{ "%{s@}", 0, NULL },             /* "@" is no delimiter */
		{ "%{o+,/_=}", 0, "email.example.com" },
		{ "%{d2R}", 0, "example.email" },
		/* 7.3: p, v, h, i for IPv6 */
		{ "%{p}", 0, "mx.example.org" },
		{ "%{p2}", 0, "example.org" },
		{ "%{pr}", 0, "org.example.mx" },
		{ "%{v}", 1, "ip6" },
		{ "%{v}", 0, "in-addr" },
		{ "%{h}", 0, "mx.example.org" },
		{ "%{h2}", 0, "example.org" },
		{ "%{i}", 1, "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1" },
		{ "%{i8}", 1, "0.0.0.0.c.b.0.1" },
		/* 7.3: upper case is URL-escaped, RFC 3986 unreserved kept */
		{ "%{S}", 0, "strong-bad%40email.example.com" },
		{ "%{L}", 0, "strong-bad" },
		{ "%{D2}", 0, "example.com" },
		{ "%{I}", 1, "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1" },
		/* syntax errors: permerror */
		{ "%{c}", 0, NULL },
		{ "%{r}", 0, NULL },
		{ "%{t}", 0, NULL },
		{ "%{d0}", 0, NULL },
		{ "%{x}", 0, NULL },
		{ "%{d", 0, NULL },
		{ "%{}", 0, NULL },
		{ "%{d2x}", 0, NULL },
		{ "%(ir)", 0, NULL },
		{ "foo%.example.com", 0, NULL },
		{ "trailing%", 0, NULL },
		{ "%{dr2}", 0, NULL },
	};
	run_cases(cases, sizeof cases / sizeof cases[0], PST_SPF_MACRO_DOMAIN);
}

/* c, r and t are explanation-only (7.2); escaping of the marks RFC 2396
 * left alone and RFC 3986 does not (libspf2 keeps "!*'()"). */
static void explanation_letters_and_escaping(void **state)
{
	(void)state;
	static const macro_case cases[] = {
		{ "%{c}", 0, "192.0.2.3" },
		{ "%{c}", 1, "2001:db8::cb01" },
		{ "%{C}", 1, "2001%3Adb8%3A%3Acb01" },
		{ "%{r}", 0, "mx.example.net" },
		{ "%{t}", 0, "1700000000" },
		{ "%{t1}", 0, "1700000000" },
		{ "connect from %{p}", 0, "connect from mx.example.org" },
	};
	run_cases(cases, sizeof cases / sizeof cases[0], PST_SPF_MACRO_EXP);

	pst_ip ip;
	pst_spf_macro_env env = rfc_env(&ip, 0);
	env.sender = "~jack&jill=up-a_b3.c!*'()@e8.example.com";
	pst_buf out = PST_BUF_INIT;
	const char *why = NULL;
	assert_int_equal(pst_spf_macro_expand("%{L}", 4, &env, 0, &out, &why), PST_SPF_MACRO_OK);
	const char *want = "~jack%26jill%3Dup-a_b3.c%21%2A%27%28%29";
	if (strcmp(out.data, want) != 0)
		fail_msg("%%{L}: got \"%s\", want \"%s\"", out.data, want);
	pst_buf_free(&out);

	env.receiver = NULL;
	assert_int_equal(pst_spf_macro_expand("%{r}", 4, &env, PST_SPF_MACRO_EXP, &out, &why),
	                 PST_SPF_MACRO_OK);
	if (strcmp(out.data, "unknown") != 0)
		fail_msg("%%{r} without a receiver: got \"%s\", want \"unknown\"", out.data);
	pst_buf_free(&out);
}

/* 7.3: over 253 octets, labels go from the left until it fits. */
static void long_expansion_loses_left_labels(void **state)
{
	(void)state;
	pst_ip ip;
	pst_spf_macro_env env = rfc_env(&ip, 0);
	/* A local-part of 60 octets in six labels of 9 octets plus dots. */
	env.sender = "aaaaaaaaa.bbbbbbbbb.ccccccccc.ddddddddd.eeeeeeeee.fffffffff@email.example.com";
	const char *spec = "%{l}.%{l}.%{l}.%{l}.%{l}.example.com";
	pst_buf out = PST_BUF_INIT;
	const char *why = NULL;
	assert_int_equal(pst_spf_macro_expand(spec, strlen(spec), &env, PST_SPF_MACRO_DOMAIN, &out,
	                                      &why), PST_SPF_MACRO_OK);
	/* 5 * 59 + 5 + 11 = 311 octets: 6 labels of 10 with their dots go
	 * (251 left); 5 would leave 261. */
	if (out.len != 251 || strncmp(out.data, "aaaaaaaaa.bbbbbbbbb", 19) != 0)
		fail_msg("got %zu octets \"%.30s...\", want 251 starting with the 2nd copy's labels",
		         out.len, out.data);
	const char *tail = out.data + out.len - 11;
	assert_string_equal(tail, "example.com");
	pst_buf_free(&out);

	/* Exactly 253 is kept, and a final dot is not counted. */
	char exact[300];
	memset(exact, 'x', 249);
	memcpy(exact + 249, ".com", 5);
	assert_int_equal(pst_spf_macro_expand(exact, 253, &env, PST_SPF_MACRO_DOMAIN, &out, &why),
	                 PST_SPF_MACRO_OK);
	assert_int_equal(out.len, 253);
	pst_buf_free(&out);
	memcpy(exact + 253, ".", 2);
	assert_int_equal(pst_spf_macro_expand(exact, 254, &env, PST_SPF_MACRO_DOMAIN, &out, &why),
	                 PST_SPF_MACRO_OK);
	assert_int_equal(out.len, 254);
	pst_buf_free(&out);

	/* Without PST_SPF_MACRO_DOMAIN (explanation text) nothing is cut. */
	assert_int_equal(pst_spf_macro_expand(spec, strlen(spec), &env, 0, &out, &why),
	                 PST_SPF_MACRO_OK);
	assert_int_equal(out.len, 311);
	pst_buf_free(&out);
}

/* A value the check does not have is an error, not an empty expansion;
 * %{p} asks the environment once per use and is "unknown" without it. */
static void unset_values(void **state)
{
	(void)state;
	pst_ip ip;
	pst_spf_macro_env env = rfc_env(&ip, 0);
	pst_buf out = PST_BUF_INIT;
	const char *why = NULL;

	env.helo = NULL;
	assert_int_equal(pst_spf_macro_expand("a.%{h}", 6, &env, 0, &out, &why),
	                 PST_SPF_MACRO_UNSET);
	assert_non_null(why);
	pst_buf_free(&out);

	int calls = 0;
	env.arg = &calls;
	assert_int_equal(pst_spf_macro_expand("%{p}.%{p1}", 10, &env, 0, &out, &why),
	                 PST_SPF_MACRO_OK);
	assert_string_equal(out.data, "mx.example.org.org");
	assert_int_equal(calls, 2);
	pst_buf_free(&out);

	env.validated_name = NULL;
	assert_int_equal(pst_spf_macro_expand("%{p}", 4, &env, 0, &out, &why), PST_SPF_MACRO_OK);
	assert_string_equal(out.data, "unknown");
	pst_buf_free(&out);

	/* <domain> with a final dot: the dot is not a part. */
	env.domain = "email.example.com.";
	assert_int_equal(pst_spf_macro_expand("%{d}.x", 6, &env, 0, &out, &why), PST_SPF_MACRO_OK);
	assert_string_equal(out.data, "email.example.com.x");
	pst_buf_free(&out);

	/* The macro-expand length the syntax check uses. */
	assert_int_equal(pst_spf_macro_len("%{d2r.-}x", 9, 0), 8);
	assert_int_equal(pst_spf_macro_len("%{c}", 4, 0), 0);
	assert_int_equal(pst_spf_macro_len("%{c}", 4, 1), 4);
	assert_int_equal(pst_spf_macro_len("%{d0}", 5, 0), 0);
	assert_int_equal(pst_spf_macro_len("%%", 2, 0), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc7208_7_4_examples),
		cmocka_unit_test(rfc7208_7_1_to_7_3),
		cmocka_unit_test(explanation_letters_and_escaping),
		cmocka_unit_test(long_expansion_loses_left_labels),
		cmocka_unit_test(unset_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
