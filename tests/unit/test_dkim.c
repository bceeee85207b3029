/* Unit tests for engine/auth/dkim.c: verification through libopendkim with
 * keys and signed messages of our own (tests/fixtures/dkim, see its
 * README), keys answered by the DNS fixture layer. Each libopendkim defect
 * guarded in dkim.c (README.md, "Library defects") has a test that a naive
 * adapter would fail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "dns/resolver.h"
#include "msg/msg.h"
#include "util/limits.h"

#define T0 1700000000   /* the signing time of every fixture */

typedef struct fx {
	pst_dkim *dkim;
	pst_dnsfix *fix;
	pst_resolver *res;
} fx;

static fx F;

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", DKIM_FIXTURE_DIR, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int setup(void **state)
{
	(void)state;
	char err[200];
	assert_int_equal(pst_dkim_new(&F.dkim, err, sizeof err), 0);
	char path[1024];
	snprintf(path, sizeof path, "%s/keys.zone", DKIM_FIXTURE_DIR);
	assert_int_equal(pst_dnsfix_load_file(path, &F.fix, NULL), 0);
	assert_int_equal(pst_resolver_new_fixture(F.fix, &F.res), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pst_resolver_free(&F.res);
	pst_dnsfix_free(&F.fix);
	pst_dkim_free(&F.dkim);
	return 0;
}

/* One verification of bytes; the arena holds the result. */
typedef struct run {
	pst_arena *arena;
	pst_dns_session dns;
	pst_dkim_result r;
} run;

static void verify_with(run *v, const char *bytes, size_t len, size_t skip,
                        const pst_dkim_params *p)
{
	v->arena = pst_arena_new();
	assert_non_null(v->arena);
	pst_dns_session_init(&v->dns, F.res, v->arena, 0, 0);
	pst_msg *m = NULL;
	assert_int_equal(pst_msg_parse(bytes, len, NULL, &m, NULL), 0);
	char err[200] = "";
	int rc = pst_dkim_verify(F.dkim, &v->dns, m, skip, p, v->arena, &v->r, err, sizeof err);
	if (rc != 0)
		fail_msg("pst_dkim_verify: %s", err);
	pst_msg_free(&m);
}

/* now 0: the clock; max 0: the default cap; the default clock skew. */
static void verify_bytes(run *v, const char *bytes, size_t len, size_t skip, time_t now,
                         unsigned max)
{
	pst_dkim_params p = { now, max, PST_DEFAULT_DKIM_CLOCK_SKEW };
	verify_with(v, bytes, len, skip, &p);
}

static void verify_file(run *v, const char *name, time_t now, unsigned max)
{
	size_t len;
	char *b = slurp(name, &len);
	verify_bytes(v, b, len, 0, now, max);
	free(b);
}

static void verify_file_skew(run *v, const char *name, time_t now, unsigned skew)
{
	size_t len;
	char *b = slurp(name, &len);
	pst_dkim_params p = { now, 0, skew };
	verify_with(v, b, len, 0, &p);
	free(b);
}

static void done(run *v)
{
	pst_arena_free(&v->arena);
}

/* Replace the first occurrence of from by to (same length) in b. */
static void patch(char *b, const char *from, const char *to)
{
	assert_int_equal(strlen(from), strlen(to));
	char *p = strstr(b, from);
	assert_non_null(p);
	memcpy(p, to, strlen(to));
}

static void rsa_sha256_passes(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "rsa2048.eml", 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_int_equal(v.r.ignored, 0);
	const pst_dkim_sig *s = &v.r.sigs[0];
	assert_int_equal(s->result, PST_AR_PASS);
	assert_string_equal(s->domain, "example.com");
	assert_string_equal(s->selector, "rsa2048");
	assert_string_equal(s->algorithm, "rsa-sha256");
	assert_int_equal(s->key_bits, 2048);
	assert_int_equal(strlen(s->b_prefix), 8);
	assert_int_equal(s->lib_pass, 1);
	assert_int_equal(pst_dkim_overall(&v.r), PST_AR_PASS);
	assert_int_equal(v.dns.queries, 1);
	done(&v);
}

static void ed25519_passes(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "ed25519.eml", 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	assert_string_equal(v.r.sigs[0].algorithm, "ed25519-sha256");
	assert_string_equal(v.r.sigs[0].selector, "ed");
	assert_int_equal(v.r.sigs[0].key_bits, 256);
	done(&v);
}

static void rsa1024_sha256_passes(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "rsa1024.eml", 0, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	assert_int_equal(v.r.sigs[0].key_bits, 1024);
	done(&v);
}

/* p= a bare RSAPublicKey (RFC 6376 3.6.1): libopendkim alone cannot
 * load it. */
static void pkcs1_key_record_passes(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "pkcs1.eml", 0, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	assert_int_equal(v.r.sigs[0].key_bits, 2048);
	done(&v);
}

static void altered_body_fails(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("rsa2048.eml", &len);
	patch(b, "Hello Bob", "Hello Bib");
	run v;
	verify_bytes(&v, b, len, 0, 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_FAIL);
	assert_string_equal(v.r.sigs[0].reason, "body hash mismatch");
	assert_int_equal(pst_dkim_overall(&v.r), PST_AR_FAIL);
	done(&v);
	free(b);
}

static void altered_signed_header_fails(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("rsa2048.eml", &len);
	patch(b, "Subject: DKIM fixture", "Subject: DKIM fixturE");
	run v;
	verify_bytes(&v, b, len, 0, 0, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_FAIL);
	assert_string_equal(v.r.sigs[0].reason, "signature did not verify");
	done(&v);
	free(b);
}

/* RFC 8301: the library passes rsa-sha1 (lib_pass); we give policy. */
static void rsa_sha1_is_policy(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "rsa1024-sha1.eml", 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_string_equal(v.r.sigs[0].algorithm, "rsa-sha1");
	assert_int_equal(v.r.sigs[0].lib_pass, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_POLICY);
	assert_int_equal(pst_dkim_overall(&v.r), PST_AR_FAIL);
	done(&v);
}

static void rsa512_is_policy(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "rsa512.eml", 0, 0);
	assert_int_equal(v.r.sigs[0].key_bits, 512);
	assert_int_equal(v.r.sigs[0].lib_pass, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_POLICY);
	done(&v);
}

static void no_key_is_permerror(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "nokey.eml", 0, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PERMERROR);
	assert_string_equal(v.r.sigs[0].reason, "key not found");
	assert_int_equal(pst_dkim_overall(&v.r), PST_AR_PERMERROR);
	done(&v);
}

/* NODATA (the name exists, no TXT) is no key too. */
static void nodata_is_permerror(void **state)
{
	(void)state;
	static const char zone[] =
		"missing._domainkey.example.com. 300 IN A 192.0.2.1\n";
	pst_dnsfix *fix = NULL;
	pst_resolver *res = NULL;
	assert_int_equal(pst_dnsfix_load_text("t", zone, sizeof zone - 1, &fix, NULL), 0);
	assert_int_equal(pst_resolver_new_fixture(fix, &res), 0);
	size_t len;
	char *b = slurp("nokey.eml", &len);
	pst_arena *a = pst_arena_new();
	pst_dns_session dns;
	pst_dns_session_init(&dns, res, a, 0, 0);
	pst_msg *m = NULL;
	assert_int_equal(pst_msg_parse(b, len, NULL, &m, NULL), 0);
	pst_dkim_result r;
	char err[200];
	assert_int_equal(pst_dkim_verify(F.dkim, &dns, m, 0, NULL, a, &r, err, sizeof err), 0);
	assert_int_equal(r.nsigs, 1);
	assert_string_equal(r.sigs[0].selector, "missing");
	assert_int_equal(r.sigs[0].result, PST_AR_PERMERROR);
	assert_int_equal(dns.queries, 1);
	pst_msg_free(&m);
	pst_arena_free(&a);
	pst_resolver_free(&res);
	pst_dnsfix_free(&fix);
	free(b);
}

/* One signature's SERVFAIL does not spoil the other signature. */
static void servfail_is_temperror_other_passes(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "servfail-and-good.eml", 0, 0);
	assert_int_equal(v.r.nsigs, 2);
	assert_string_equal(v.r.sigs[0].domain, "broken.example.com");
	assert_int_equal(v.r.sigs[0].result, PST_AR_TEMPERROR);
	assert_string_equal(v.r.sigs[0].reason, "key query SERVFAIL");
	assert_string_equal(v.r.sigs[1].domain, "example.com");
	assert_int_equal(v.r.sigs[1].result, PST_AR_PASS);
	assert_int_equal(pst_dkim_overall(&v.r), PST_AR_PASS);
	done(&v);
}

/* A timeout is temperror too, and temperror outranks fail overall. */
static void timeout_is_temperror(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("servfail-and-good.eml", &len);
	patch(b, "d=broken.example.com", "d=slow.example.com  ");
	patch(b, "Hello Bob", "Hello Bib");
	run v;
	verify_bytes(&v, b, len, 0, 0, 0);
	assert_int_equal(v.r.nsigs, 2);
	assert_string_equal(v.r.sigs[0].domain, "slow.example.com");
	assert_int_equal(v.r.sigs[0].result, PST_AR_TEMPERROR);
	assert_string_equal(v.r.sigs[0].reason, "key query timed out");
	assert_int_equal(v.r.sigs[1].result, PST_AR_FAIL);
	assert_int_equal(pst_dkim_overall(&v.r), PST_AR_TEMPERROR);
	done(&v);
	free(b);
}

static void cap_ignores_extra_signatures(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "ten.eml", 0, 0);        /* 0: the default, 8 */
	assert_int_equal(v.r.nsigs, 8);
	assert_int_equal(v.r.ignored, 2);
	for (size_t i = 0; i < v.r.nsigs; i++)
		assert_int_equal(v.r.sigs[i].result, PST_AR_PASS);
	/* The library asks once for a selector repeated in one message. */
	assert_in_range(v.dns.queries, 1, 8);
	done(&v);
	verify_file(&v, "ten.eml", 0, 3);
	assert_int_equal(v.r.nsigs, 3);
	assert_int_equal(v.r.ignored, 7);
	done(&v);
	verify_file(&v, "ten.eml", 0, 20);
	assert_int_equal(v.r.nsigs, 10);
	assert_int_equal(v.r.ignored, 0);
	done(&v);
}

/* x= is T0 + 3600: pass before it, permerror after (dkim.c says why). */
static void expiry_follows_now(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "expiring.eml", T0 + 60, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	done(&v);
	verify_file(&v, "expiring.eml", T0 + 7200, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PERMERROR);
	assert_string_equal(v.r.sigs[0].reason, "signature expired (x=)");
	done(&v);
	/* Another fixed time after the cached one: a private handle. */
	verify_file(&v, "expiring.eml", T0 + 120, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	done(&v);
	/* The real clock is long past x=. */
	verify_file(&v, "expiring.eml", 0, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PERMERROR);
	done(&v);
}

/* A t= under the drift given to the library: refused, and said why. */
static void ancient_t_is_permerror(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "old-t.eml", 999999000 + 60, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PERMERROR);
	assert_non_null(strstr(v.r.sigs[0].reason, "2001"));
	done(&v);
}

/* t= in the future beyond the default clock skew (300 s). */
static void future_t_is_permerror(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "rsa2048.eml", T0 - 301, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PERMERROR);
	assert_string_equal(v.r.sigs[0].reason, "signature in the future (t=)");
	assert_int_equal(v.dns.queries, 0);
	done(&v);
	verify_file(&v, "rsa2048.eml", T0 - 299, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	done(&v);
}

/* Two key records for one selector. */
static void two_key_records_is_permerror(void **state)
{
	(void)state;
	static const char zone[] =
		"missing._domainkey.example.com. 300 IN TXT \"v=DKIM1; p=\"\n"
		"missing._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=rsa; p=\"\n";
	pst_dnsfix *fix = NULL;
	pst_resolver *res = NULL;
	assert_int_equal(pst_dnsfix_load_text("t", zone, sizeof zone - 1, &fix, NULL), 0);
	assert_int_equal(pst_resolver_new_fixture(fix, &res), 0);
	size_t len;
	char *b = slurp("nokey.eml", &len);
	pst_arena *a = pst_arena_new();
	pst_dns_session dns;
	pst_dns_session_init(&dns, res, a, 0, 0);
	pst_msg *m = NULL;
	assert_int_equal(pst_msg_parse(b, len, NULL, &m, NULL), 0);
	pst_dkim_result r;
	char err[200];
	assert_int_equal(pst_dkim_verify(F.dkim, &dns, m, 0, NULL, a, &r, err, sizeof err), 0);
	assert_int_equal(r.sigs[0].result, PST_AR_PERMERROR);
	pst_msg_free(&m);
	pst_arena_free(&a);
	pst_resolver_free(&res);
	pst_dnsfix_free(&fix);
	free(b);
}

static void lf_only_input_passes(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("rsa2048.eml", &len);
	size_t j = 0;
	for (size_t i = 0; i < len; i++)
		if (!(b[i] == '\r' && i + 1 < len && b[i + 1] == '\n'))
			b[j++] = b[i];
	assert_null(memchr(b, '\r', j));
	run v;
	verify_bytes(&v, b, j, 0, 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	done(&v);
	free(b);
}

/* A body whose last line has no line ending: canonicalization adds one
 * (RFC 6376 3.4.3, 3.4.4); libopendkim alone calls it a syntax error. */
static void no_final_crlf_passes(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("rsa2048.eml", &len);
	assert_true(len > 2 && b[len - 2] == '\r' && b[len - 1] == '\n');
	run v;
	verify_bytes(&v, b, len - 2, 0, 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	done(&v);
	free(b);
}

/* Fields before skip_before are not part of the message. */
static void skipped_fields_are_not_fed(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("rsa2048.eml", &len);
	static const char env[] = "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=x;\r\n"
	                          "\th=From; bh=AAAA; b=AAAA\r\n";
	char *nb = malloc(len + sizeof env);
	assert_non_null(nb);
	memcpy(nb, env, sizeof env - 1);
	memcpy(nb + sizeof env - 1, b, len);
	run v;
	verify_bytes(&v, nb, len + sizeof env - 1, 1, 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	done(&v);
	verify_bytes(&v, nb, len + sizeof env - 1, 0, 0, 0);
	assert_int_equal(v.r.nsigs, 2);
	assert_string_equal(v.r.sigs[0].domain, "example.org");
	assert_int_equal(v.r.sigs[1].result, PST_AR_PASS);
	done(&v);
	free(nb);
	free(b);
}

static void unsigned_message_asks_nothing(void **state)
{
	(void)state;
	run v;
	verify_file(&v, "message.eml", 0, 0);
	assert_int_equal(v.r.nsigs, 0);
	assert_int_equal(v.dns.queries, 0);
	assert_int_equal(pst_dkim_overall(&v.r), PST_AR_NONE);
	done(&v);
}

/* A signature field the library cannot use is reported, not dropped. */
static void bad_signature_syntax_is_permerror(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("rsa2048.eml", &len);
	patch(b, "v=1;", "v=9;");
	run v;
	verify_bytes(&v, b, len, 0, 0, 0);
	assert_int_equal(v.r.nsigs, 1);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PERMERROR);
	done(&v);
	free(b);
}

static pst_auth_result overall_of(const pst_auth_result *rs, size_t n)
{
	pst_dkim_sig sigs[8];
	memset(sigs, 0, sizeof sigs);
	for (size_t i = 0; i < n; i++)
		sigs[i].result = rs[i];
	pst_dkim_result r = { .sigs = sigs, .nsigs = n, .ignored = 0 };
	return pst_dkim_overall(&r);
}

static void overall_rules(void **state)
{
	(void)state;
	static const struct {
		pst_auth_result in[4];
		size_t n;
		pst_auth_result want;
	} cases[] = {
		{ { 0 }, 0, PST_AR_NONE },
		{ { PST_AR_NEUTRAL }, 1, PST_AR_NONE },
		{ { PST_AR_FAIL, PST_AR_TEMPERROR, PST_AR_PASS }, 3, PST_AR_PASS },
		{ { PST_AR_FAIL, PST_AR_TEMPERROR }, 2, PST_AR_TEMPERROR },
		{ { PST_AR_PERMERROR, PST_AR_POLICY }, 2, PST_AR_FAIL },
		{ { PST_AR_PERMERROR, PST_AR_FAIL }, 2, PST_AR_FAIL },
		{ { PST_AR_PERMERROR, PST_AR_NEUTRAL }, 2, PST_AR_PERMERROR },
		{ { PST_AR_POLICY, PST_AR_TEMPERROR }, 2, PST_AR_TEMPERROR },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (overall_of(cases[i].in, cases[i].n) != cases[i].want)
			fail_msg("case %zu", i);
}

/* ---- clock skew (dkim-clock-skew) ---- */

/* t= T0 against a clock that runs behind: within the skew it verifies,
 * past it the signature is permerror, no key asked. */
static void clock_skew_bounds_future_t(void **state)
{
	(void)state;
	static const struct {
		time_t behind;          /* seconds now lies before t= */
		unsigned skew;
		pst_auth_result want;
	} cases[] = {
		{ 120, PST_DEFAULT_DKIM_CLOCK_SKEW, PST_AR_PASS },
		{ 300, PST_DEFAULT_DKIM_CLOCK_SKEW, PST_AR_PASS },
		{ 301, PST_DEFAULT_DKIM_CLOCK_SKEW, PST_AR_PERMERROR },
		{ 120, 0, PST_AR_PERMERROR },
		{ 1, 0, PST_AR_PERMERROR },
		{ 0, 0, PST_AR_PASS },
		{ 120, 120, PST_AR_PASS },
		{ 121, 120, PST_AR_PERMERROR },
		{ 3600, 86400, PST_AR_PASS },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run v;
		verify_file_skew(&v, "rsa2048.eml", T0 - cases[i].behind, cases[i].skew);
		assert_int_equal(v.r.nsigs, 1);
		pst_auth_result got = v.r.sigs[0].result;
		if (got != cases[i].want)
			fail_msg("case %zu (t= %lld s ahead, skew %u): got %d, want %d", i,
			         (long long)cases[i].behind, cases[i].skew, got, cases[i].want);
		if (got == PST_AR_PERMERROR) {
			assert_string_equal(v.r.sigs[0].reason, "signature in the future (t=)");
			assert_int_equal(v.dns.queries, 0);
		}
		done(&v);
	}
}

/* x= T0 + 3600 against a clock that runs ahead: the same tolerance. */
static void clock_skew_bounds_expiry(void **state)
{
	(void)state;
	static const time_t x = T0 + 3600;
	static const struct {
		time_t past;            /* seconds now lies after x= */
		unsigned skew;
		pst_auth_result want;
	} cases[] = {
		{ 0, 0, PST_AR_PASS },
		{ 1, 0, PST_AR_PERMERROR },
		{ 300, PST_DEFAULT_DKIM_CLOCK_SKEW, PST_AR_PASS },
		{ 301, PST_DEFAULT_DKIM_CLOCK_SKEW, PST_AR_PERMERROR },
		{ 60, 60, PST_AR_PASS },
		{ 61, 60, PST_AR_PERMERROR },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run v;
		verify_file_skew(&v, "expiring.eml", x + cases[i].past, cases[i].skew);
		assert_int_equal(v.r.nsigs, 1);
		pst_auth_result got = v.r.sigs[0].result;
		if (got != cases[i].want)
			fail_msg("case %zu (%lld s past x=, skew %u): got %d, want %d", i,
			         (long long)cases[i].past, cases[i].skew, got, cases[i].want);
		if (got == PST_AR_PERMERROR)
			assert_string_equal(v.r.sigs[0].reason, "signature expired (x=)");
		done(&v);
	}
}

/* ---- what a passing signature leaves uncovered ---- */

static void body_canon_len_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int relaxed;
		long long want;
	} cases[] = {
		{ "", 0, 2 },                       /* simple: an empty body is one CRLF */
		{ "", 1, 0 },                       /* relaxed: an empty body is empty */
		{ "\r\n", 0, 2 },
		{ "\r\n\r\n\r\n", 1, 0 },
		{ "a", 0, 3 },                      /* the final CRLF is added */
		{ "a", 1, 3 },
		{ "a\r\n\r\n\r\n", 0, 3 },          /* trailing empty lines go */
		{ "a\n\n", 0, 3 },                  /* bare LF counts as CRLF */
		{ "a b  \t\r\n", 0, 8 },
		{ "a b  \t\r\n", 1, 5 },            /* "a b" */
		{ " \t a\r\n", 1, 4 },              /* " a" */
		{ "a  \t b\r\n", 1, 5 },            /* "a b" */
		{ "a\r\n \t\r\n", 0, 7 },           /* a line of WSP is not empty in simple */
		{ "a\r\n \t\r\n", 1, 3 },           /* but is in relaxed */
		{ "a \r\n\r\n b\r\n", 1, 9 },       /* "a", "", " b" */
		{ "a\rb\r\n", 0, 5 },               /* a lone CR is an ordinary byte */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long long got = pst_dkim_body_canon_len(cases[i].body, strlen(cases[i].body),
		                                        cases[i].relaxed);
		if (got != cases[i].want)
			fail_msg("case %zu (%s): got %lld, want %lld", i,
			         cases[i].relaxed ? "relaxed" : "simple", got, cases[i].want);
	}
}

/* Our canonical length agrees with what libopendkim hashed for every
 * passing signature without l= (its dkim_sig_getcanonlen canonlen); with
 * l= the library stops at l= (so the length past it has to be ours). */
static void body_canon_len_agrees_with_library(void **state)
{
	(void)state;
	static const char *const files[] = {
		"rsa2048.eml", "ed25519.eml", "rsa1024.eml", "pkcs1.eml", "ten.eml",
		"oversigned.eml", "h-from-only.eml", "extra-subject.eml", "l-whole.eml",
		"l-whole-simple.eml", "l-appended.eml", "l-appended-simple.eml",
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		run v;
		verify_file(&v, files[i], 0, 20);
		assert_true(v.r.nsigs >= 1);
		for (size_t k = 0; k < v.r.nsigs; k++) {
			const pst_dkim_sig *s = &v.r.sigs[k];
			if (s->result != PST_AR_PASS)
				fail_msg("%s signature %zu: got %d, want pass", files[i], k, s->result);
			long long want = s->body_limit < 0 ? s->body_canon_len
			                 : s->body_limit < s->body_canon_len ? s->body_limit
			                 : s->body_canon_len;
			if (s->lib_body_hashed != want)
				fail_msg("%s signature %zu: the library hashed %lld, want %lld (ours %lld, l= %lld)",
				         files[i], k, s->lib_body_hashed, want, s->body_canon_len,
				         s->body_limit);
		}
		done(&v);
	}
}

static void content_after_l_is_unsigned_body(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		long long l;            /* the signature's l= */
		int unsigned_body;
	} cases[] = {
		{ "l-whole.eml", 77, 0 },
		{ "l-whole-simple.eml", 78, 0 },
		{ "l-appended.eml", 77, 1 },
		{ "l-appended-simple.eml", 78, 1 },
		{ "rsa2048.eml", -1, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run v;
		verify_file(&v, cases[i].file, 0, 0);
		assert_int_equal(v.r.nsigs, 1);
		const pst_dkim_sig *s = &v.r.sigs[0];
		if (s->result != PST_AR_PASS || s->body_limit != cases[i].l ||
		    s->unsigned_body != cases[i].unsigned_body)
			fail_msg("%s: got result %d l= %lld unsigned_body %d, want pass l= %lld %d",
			         cases[i].file, s->result, s->body_limit, s->unsigned_body, cases[i].l,
			         cases[i].unsigned_body);
		assert_null(s->unsigned_header);
		done(&v);
	}
}

/* What canonicalization removes is not content after l=. */
static void canonical_nothing_after_l_is_not_unsigned_body(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		const char *tail;
		int unsigned_body;
	} cases[] = {
		{ "l-whole.eml", "\r\n\r\n", 0 },
		{ "l-whole.eml", " \t\r\n\r\n", 0 },        /* relaxed: a line of WSP is empty */
		{ "l-whole.eml", "x\r\n", 1 },
		{ "l-whole-simple.eml", "\r\n\r\n", 0 },
		{ "l-whole-simple.eml", " \r\n", 1 },       /* simple: it is not */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len, tl = strlen(cases[i].tail);
		char *b = slurp(cases[i].file, &len);
		memcpy(b + len, cases[i].tail, tl);
		run v;
		verify_bytes(&v, b, len + tl, 0, 0, 0);
		assert_int_equal(v.r.nsigs, 1);
		if (v.r.sigs[0].result != PST_AR_PASS ||
		    v.r.sigs[0].unsigned_body != cases[i].unsigned_body)
			fail_msg("case %zu: got result %d unsigned_body %d, want pass %d", i,
			         v.r.sigs[0].result, v.r.sigs[0].unsigned_body, cases[i].unsigned_body);
		done(&v);
		free(b);
	}
}

/* A field above the signed ones, of a name h= names fewer times than the
 * message has it (RFC 6376 8.15): the signature passes, and says which. */
static void added_field_is_unsigned_header(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		const char *top;        /* prepended, or NULL */
		pst_auth_result result;
		const char *unsigned_header;
	} cases[] = {
		{ "rsa2048.eml", NULL, PST_AR_PASS, NULL },
		{ "extra-subject.eml", NULL, PST_AR_PASS, "Subject" },
		{ "extra-from.eml", NULL, PST_AR_PASS, "From" },
		{ "rsa2048.eml", "SUBJECT: x\r\n", PST_AR_PASS, "SUBJECT" },   /* as written */
		{ "rsa2048.eml", "Received: by x\r\n", PST_AR_PASS, NULL },    /* not in h= */
		/* Two of them: the topmost is said. */
		{ "extra-subject.eml", "From: <m@example.org>\r\n", PST_AR_PASS, "From" },
		/* Over-signed: the added field breaks the signature instead. */
		{ "oversigned.eml", NULL, PST_AR_PASS, NULL },
		{ "oversigned.eml", "From: <m@example.org>\r\n", PST_AR_FAIL, NULL },
		/* h=From alone: Subject is not signed at all, so not reported. */
		{ "h-from-only.eml", "Subject: x\r\n", PST_AR_PASS, NULL },
		{ "h-from-only.eml", "From: <m@example.org>\r\n", PST_AR_PASS, "From" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len, tl = cases[i].top ? strlen(cases[i].top) : 0;
		char *b = slurp(cases[i].file, &len);
		char *nb = malloc(len + tl + 1);
		assert_non_null(nb);
		memcpy(nb, cases[i].top ? cases[i].top : "", tl);
		memcpy(nb + tl, b, len);
		run v;
		verify_bytes(&v, nb, len + tl, 0, 0, 0);
		assert_int_equal(v.r.nsigs, 1);
		const pst_dkim_sig *s = &v.r.sigs[0];
		const char *got = s->unsigned_header, *want = cases[i].unsigned_header;
		if (s->result != cases[i].result || (got == NULL) != (want == NULL) ||
		    (got != NULL && strcmp(got, want) != 0))
			fail_msg("case %zu (%s): got result %d unsigned_header %s, want %d %s", i,
			         cases[i].file, s->result, got ? got : "(none)", cases[i].result,
			         want ? want : "(none)");
		if (got != NULL)
			assert_int_equal(s->unsigned_header_at, 0);
		assert_int_equal(s->unsigned_body, 0);
		done(&v);
		free(nb);
		free(b);
	}
}

/* Transit fields added above the signed ones are expected: ten
 * signatures, each naming every DKIM-Signature field below it (so the
 * ones above it are extra), and a signed Received with another above. */
static void transit_fields_are_not_unsigned(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("received-signed.eml", &len);
	static const char top[] = "Received: from mx.example.com by mx2.example.net; "
	                          "Tue, 14 Nov 2023 22:14:00 +0000\r\n"
	                          "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=x; h=From;\r\n"
	                          " bh=AAAA; b=AAAA\r\n";
	char *nb = malloc(len + sizeof top);
	assert_non_null(nb);
	memcpy(nb, top, sizeof top - 1);
	memcpy(nb + sizeof top - 1, b, len);
	run v;
	verify_bytes(&v, nb, len + sizeof top - 1, 0, 0, 0);
	assert_int_equal(v.r.nsigs, 2);
	assert_int_equal(v.r.sigs[1].result, PST_AR_PASS);
	assert_null(v.r.sigs[1].unsigned_header);
	done(&v);
	free(nb);
	free(b);
	verify_file(&v, "ten.eml", 0, 20);
	assert_int_equal(v.r.nsigs, 10);
	for (size_t i = 0; i < v.r.nsigs; i++) {
		assert_int_equal(v.r.sigs[i].result, PST_AR_PASS);
		if (v.r.sigs[i].unsigned_header != NULL)
			fail_msg("signature %zu: got unsigned_header %s, want none", i,
			         v.r.sigs[i].unsigned_header);
	}
	done(&v);
}

/* Fields before skip_before are not the message: not counted. */
static void skipped_fields_are_not_counted(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("rsa2048.eml", &len);
	static const char env[] = "Subject: from the envelope\r\n";
	char *nb = malloc(len + sizeof env);
	assert_non_null(nb);
	memcpy(nb, env, sizeof env - 1);
	memcpy(nb + sizeof env - 1, b, len);
	run v;
	verify_bytes(&v, nb, len + sizeof env - 1, 1, 0, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_PASS);
	assert_null(v.r.sigs[0].unsigned_header);
	done(&v);
	verify_bytes(&v, nb, len + sizeof env - 1, 0, 0, 0);
	assert_string_equal(v.r.sigs[0].unsigned_header, "Subject");
	done(&v);
	free(nb);
	free(b);
}

/* Coverage is said of passing signatures only. */
static void failing_signature_says_no_coverage(void **state)
{
	(void)state;
	size_t len;
	char *b = slurp("l-appended.eml", &len);
	patch(b, "this message", "that message");
	char *nb = malloc(len + 32);
	assert_non_null(nb);
	static const char top[] = "Subject: x\r\n";
	memcpy(nb, top, sizeof top - 1);
	memcpy(nb + sizeof top - 1, b, len);
	run v;
	verify_bytes(&v, nb, len + sizeof top - 1, 0, 0, 0);
	assert_int_equal(v.r.sigs[0].result, PST_AR_FAIL);
	assert_int_equal(v.r.sigs[0].unsigned_body, 0);
	assert_null(v.r.sigs[0].unsigned_header);
	assert_true(v.r.sigs[0].body_limit == -1);
	done(&v);
	free(nb);
	free(b);
}

/* Threads share one pst_dkim; each verification asks its own session. */
typedef struct thr {
	char *bytes;
	size_t len;
	int ok;
	unsigned queries;
} thr;

static void *thread_main(void *p)
{
	thr *t = p;
	t->ok = 1;
	for (int i = 0; i < 20; i++) {
		pst_arena *a = pst_arena_new();
		pst_dns_session dns;
		pst_dns_session_init(&dns, F.res, a, 0, 0);
		pst_msg *m = NULL;
		pst_dkim_result r;
		char err[200];
		if (a == NULL || pst_msg_parse(t->bytes, t->len, NULL, &m, NULL) != 0 ||
		    pst_dkim_verify(F.dkim, &dns, m, 0, NULL, a, &r, err, sizeof err) != 0 ||
		    r.nsigs != 2 || r.sigs[0].result != PST_AR_TEMPERROR ||
		    r.sigs[1].result != PST_AR_PASS)
			t->ok = 0;
		t->queries += dns.queries;
		pst_msg_free(&m);
		pst_arena_free(&a);
	}
	return NULL;
}

static void threads_share_the_library(void **state)
{
	(void)state;
	thr t[4];
	pthread_t id[4];
	for (int i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof t[i]);
		t[i].bytes = slurp("servfail-and-good.eml", &t[i].len);
		assert_int_equal(pthread_create(&id[i], NULL, thread_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(id[i], NULL), 0);
		assert_true(t[i].ok);
		assert_int_equal(t[i].queries, 40);
		free(t[i].bytes);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rsa_sha256_passes),
		cmocka_unit_test(ed25519_passes),
		cmocka_unit_test(rsa1024_sha256_passes),
		cmocka_unit_test(pkcs1_key_record_passes),
		cmocka_unit_test(altered_body_fails),
		cmocka_unit_test(altered_signed_header_fails),
		cmocka_unit_test(rsa_sha1_is_policy),
		cmocka_unit_test(rsa512_is_policy),
		cmocka_unit_test(no_key_is_permerror),
		cmocka_unit_test(nodata_is_permerror),
		cmocka_unit_test(servfail_is_temperror_other_passes),
		cmocka_unit_test(timeout_is_temperror),
		cmocka_unit_test(cap_ignores_extra_signatures),
		cmocka_unit_test(expiry_follows_now),
		cmocka_unit_test(ancient_t_is_permerror),
		cmocka_unit_test(future_t_is_permerror),
		cmocka_unit_test(two_key_records_is_permerror),
		cmocka_unit_test(lf_only_input_passes),
		cmocka_unit_test(no_final_crlf_passes),
		cmocka_unit_test(skipped_fields_are_not_fed),
		cmocka_unit_test(unsigned_message_asks_nothing),
		cmocka_unit_test(bad_signature_syntax_is_permerror),
		cmocka_unit_test(overall_rules),
		cmocka_unit_test(threads_share_the_library),
		cmocka_unit_test(clock_skew_bounds_future_t),
		cmocka_unit_test(clock_skew_bounds_expiry),
		cmocka_unit_test(body_canon_len_vectors),
		cmocka_unit_test(body_canon_len_agrees_with_library),
		cmocka_unit_test(content_after_l_is_unsigned_body),
		cmocka_unit_test(canonical_nothing_after_l_is_not_unsigned_body),
		cmocka_unit_test(added_field_is_unsigned_header),
		cmocka_unit_test(transit_fields_are_not_unsigned),
		cmocka_unit_test(skipped_fields_are_not_counted),
		cmocka_unit_test(failing_signature_says_no_coverage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
