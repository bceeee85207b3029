/* Unit tests for engine/auth/dmarc.c: DMARC evaluation over the DNS
 * fixture (inline zones), our PSL and alignment, libopendmarc as the
 * record parser only. Each case also counts the DNS questions asked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/types.h>

#include <opendmarc/dmarc.h>

#include "auth/dmarc.h"

static const char psl_text[] =
	"// test list\ncom\nnet\norg\nuk\nco.uk\n";

static const char zone[] =
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
	"_dmarc.example.org. TXT \"v=DMARC1; p=reject; adkim=s; aspf=s\"\n"
	"_dmarc.example.net. TXT \"v=DMARC1; p=reject; rf=iodef\"\n"
	"_dmarc.strict.example.net. TXT \"v=DMARC1; p=reject; rf=iodef; aspf=s\"\n"
	"_dmarc.pct0.example.com. TXT \"v=DMARC1; p=reject; pct=0\"\n"
	"_dmarc.pct0q.example.com. TXT \"v=DMARC1; p=quarantine; pct=0\"\n"
	"_dmarc.pct50.example.com. TXT \"v=DMARC1; p=reject; pct=50\"\n"
	"_dmarc.pctf.example.com. TXT \"v=DMARC1; p=reject; pct=f\"\n"
	"_dmarc.nul.example.com. TXT \"v=DMARC1; p=none\\000; p=reject\"\n"
	"_dmarc.two.example.com. TXT \"v=DMARC1; p=reject\"\n"
	"_dmarc.two.example.com. TXT \"v=DMARC1; p=none\"\n"
	"$SERVFAIL _dmarc.broken.example.com.\n"
	"$TIMEOUT _dmarc.example.net.\n"        /* wins over the record above */
	"_dmarc.other.example.com. TXT \"v=spf1 -all\"\n"
	"_dmarc.other.example.com. TXT \"p=reject; v=DMARC1\"\n"
	"_dmarc.bad.example.com. TXT \"v=DMARC1; p=bogus\"\n"
	"_dmarc.nop.example.com. TXT \"v=DMARC1; rua=mailto:d@example.com\"\n"
	"_dmarc.nop2.example.com. TXT \"v=DMARC1; pct=100\"\n"
	"_dmarc.badp.example.com. TXT \"v=DMARC1; p=bogus; rua=mailto:d@example.com; aspf=s\"\n"
	"_dmarc.badsp.example.com. TXT \"v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com\"\n"
	"_dmarc.badadkim.example.com. TXT \"v=DMARC1; p=reject; adkim=bob; rua=mailto:d@example.com\"\n"
	"_dmarc.split.example.com. TXT \"v=DMARC1; \" \"p=quarantine\"\n"
	"_dmarc.example.co.uk. TXT \"v=DMARC1; p=reject\"\n"
	"_dmarc.co.uk. TXT \"v=DMARC1; p=reject\"\n";

static const char zone_np[] =
	"_dmarc.example.org. TXT \"v=DMARC1; p=reject; sp=quarantine; np=none\"\n"
	"exists.example.org. A 192.0.2.1\n"
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject; rf=iodef\"\n";

struct env {
	pst_dnsfix *fix;
	pst_resolver *res;
	pst_arena *arena;
	pst_dns_session dns;
	pst_psl *psl;
	pst_dmarc_result r;
};

static void env_open(struct env *e, const char *z)
{
	memset(e, 0, sizeof *e);
	assert_int_equal(pst_dnsfix_load_text("t.zone", z, strlen(z), &e->fix, NULL), 0);
	assert_int_equal(pst_resolver_new_fixture(e->fix, &e->res), 0);
	e->arena = pst_arena_new();
	assert_non_null(e->arena);
	assert_int_equal(pst_psl_load_text(psl_text, sizeof psl_text - 1, &e->psl, NULL), 0);
}

static void env_close(struct env *e)
{
	pst_psl_free(&e->psl);
	pst_arena_free(&e->arena);
	pst_resolver_free(&e->res);
	pst_dnsfix_free(&e->fix);
}

/* Evaluate in with a fresh session; returns the questions asked. */
static unsigned eval(struct env *e, const pst_dmarc_input *in)
{
	pst_dns_session_init(&e->dns, e->res, e->arena, 0, 0);
	assert_int_equal(pst_dmarc_evaluate(&e->dns, e->psl, in, e->arena, &e->r), 0);
	assert_non_null(e->r.reason);
	return e->dns.queries;
}

static pst_dmarc_input from(const char *domain)
{
	pst_dmarc_input in;

	memset(&in, 0, sizeof in);
	in.from_domain = domain;
	in.spf = PST_AR_NONE;
	return in;
}

static void spf_aligned_pass(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("example.com");
	in.spf = PST_AR_PASS;
	in.spf_domain = "example.com";
	assert_int_equal(eval(&e, &in), 1);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_string_equal(e.r.domain, "example.com");
	assert_string_equal(e.r.record_domain, "example.com");
	assert_int_equal(e.r.published, PST_POLICY_REJECT);
	assert_int_equal(e.r.policy, PST_POLICY_REJECT);
	assert_true(e.r.spf_aligned);
	assert_false(e.r.dkim_aligned);
	assert_null(e.r.aligned_dkim_domain);
	assert_int_equal(e.r.pct, 100);
	assert_string_equal(e.r.reason, "SPF aligned");
	env_close(&e);
}

/* Scenario 2: the provider's MAIL FROM does not align, the DKIM d= does;
 * the record comes from the org domain, so sp applies. */
static void org_fallback_and_sp(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	const char *dkim[] = { "other.example.net", "shop.example.com" };
	pst_dmarc_input in = from("News.Shop.Example.COM");
	in.spf = PST_AR_PASS;
	in.spf_domain = "bounces.example.net";
	in.dkim_pass_domains = dkim;
	in.ndkim_pass = 2;
	assert_int_equal(eval(&e, &in), 2);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_string_equal(e.r.domain, "news.shop.example.com");
	assert_string_equal(e.r.record_domain, "example.com");
	assert_int_equal(e.r.published, PST_POLICY_QUARANTINE);
	assert_false(e.r.spf_aligned);
	assert_true(e.r.dkim_aligned);
	assert_string_equal(e.r.aligned_dkim_domain, "shop.example.com");
	assert_string_equal(e.r.reason, "DKIM (d=shop.example.com) aligned");
	/* The org domain itself: p, one question. */
	in.from_domain = "example.com";
	in.ndkim_pass = 0;
	assert_int_equal(eval(&e, &in), 1);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_int_equal(e.r.policy, PST_POLICY_REJECT);
	assert_string_equal(e.r.reason, "neither SPF nor DKIM aligned");
	env_close(&e);
}

/* libopendmarc 1.4.2 passes adkim=s with d=sub.example.org for From
 * example.org when a PSL is loaded, and aspf=s likewise. */
static void strict_is_strict(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	const char *dkim[] = { "sub.example.org" };
	pst_dmarc_input in = from("example.org");
	in.spf = PST_AR_PASS;
	in.spf_domain = "sub.example.org";
	in.dkim_pass_domains = dkim;
	in.ndkim_pass = 1;
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_true(e.r.strict_spf);
	assert_true(e.r.strict_dkim);
	assert_false(e.r.spf_aligned);
	assert_false(e.r.dkim_aligned);
	assert_int_equal(e.r.policy, PST_POLICY_REJECT);
	dkim[0] = "example.org";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_true(e.r.dkim_aligned);
	env_close(&e);
}

/* rf=iodef: libopendmarc ORs the rf bit into aspf, so a naive read of
 * opendmarc_policy_fetch_aspf sees neither 'r' nor 's'. We must still see
 * relaxed (the default) and pass a relaxed SPF alignment. */
static void rf_iodef_keeps_aspf(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone_np);
	DMARC_POLICY_T *ctx = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 0);
	int aspf = 0;
	assert_non_null(ctx);
	assert_int_equal(opendmarc_policy_store_dmarc(ctx, (u_char *)"v=DMARC1; p=reject; rf=iodef",
	                                              (u_char *)"example.com", NULL), DMARC_PARSE_OKAY);
	assert_int_equal(opendmarc_policy_fetch_aspf(ctx, &aspf), DMARC_PARSE_OKAY);
	assert_int_not_equal(aspf, DMARC_RECORD_A_RELAXED); /* the library defect */
	assert_int_not_equal(aspf, DMARC_RECORD_A_STRICT);
	(void)opendmarc_policy_connect_shutdown(ctx);

	pst_dmarc_input in = from("example.com");
	in.spf = PST_AR_PASS;
	in.spf_domain = "mail.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_false(e.r.strict_spf);
	assert_true(e.r.spf_aligned);
	env_close(&e);

	/* aspf=s after rf=iodef stays strict. */
	env_open(&e, zone);
	in.from_domain = "strict.example.net";
	in.spf_domain = "mail.strict.example.net";
	eval(&e, &in);
	assert_true(e.r.strict_spf);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	env_close(&e);
}

static void pct_sampling(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("pct0.example.com");
	in.has_seed = 1;
	in.seed = 42;
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_int_equal(e.r.pct, 0);
	assert_int_equal(e.r.published, PST_POLICY_REJECT);
	assert_int_equal(e.r.policy, PST_POLICY_QUARANTINE);
	assert_non_null(strstr(e.r.reason, "pct=0"));
	in.from_domain = "pct0q.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.published, PST_POLICY_QUARANTINE);
	assert_int_equal(e.r.policy, PST_POLICY_NONE);
	/* Without a seed pct=0 is still never sampled in. */
	in.has_seed = 0;
	eval(&e, &in);
	assert_int_equal(e.r.policy, PST_POLICY_NONE);
	/* pct=50: deterministic per seed, about half over many seeds. */
	in.from_domain = "pct50.example.com";
	in.has_seed = 1;
	unsigned kept = 0;
	for (uint64_t seed = 0; seed < 200; seed++) {
		in.seed = seed;
		eval(&e, &in);
		pst_dmarc_policy first = e.r.policy;
		eval(&e, &in);
		assert_int_equal(e.r.policy, first);
		assert_int_equal(e.r.published, PST_POLICY_REJECT);
		if (first == PST_POLICY_REJECT)
			kept++;
		else
			assert_int_equal(first, PST_POLICY_QUARANTINE);
	}
	assert_in_range(kept, 60, 140);
	/* libopendmarc reads "pct=f" as 0 (atoi): a syntax error is the
	 * default 100 for us, so the policy stays reject. */
	in.from_domain = "pctf.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_int_equal(e.r.pct, 100);
	assert_int_equal(e.r.policy, PST_POLICY_REJECT);
	/* A pass is never sampled down. */
	in.from_domain = "pct0.example.com";
	in.spf = PST_AR_PASS;
	in.spf_domain = "pct0.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_int_equal(e.r.policy, PST_POLICY_REJECT);
	env_close(&e);
}

static void two_records_mean_none(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("two.example.com");
	in.spf = PST_AR_PASS;
	in.spf_domain = "two.example.com";
	assert_int_equal(eval(&e, &in), 1); /* no fallback to example.com */
	assert_int_equal(e.r.result, PST_AR_NONE);
	assert_int_equal(e.r.policy, PST_POLICY_NONE);
	assert_null(e.r.record_domain);
	assert_string_equal(e.r.reason, "two DMARC records at _dmarc.two.example.com");
	env_close(&e);
}

static void dns_failures_are_temperror(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("broken.example.com");
	assert_int_equal(eval(&e, &in), 1); /* SERVFAIL: no silent fallback */
	assert_int_equal(e.r.result, PST_AR_TEMPERROR);
	assert_int_equal(e.r.policy, PST_POLICY_NONE);
	assert_string_equal(e.r.reason, "SERVFAIL on _dmarc.broken.example.com");
	in.from_domain = "a.b.example.net";     /* NXDOMAIN, then TIMEOUT at the org */
	assert_int_equal(eval(&e, &in), 2);
	assert_int_equal(e.r.result, PST_AR_TEMPERROR);
	assert_string_equal(e.r.reason, "TIMEOUT on _dmarc.example.net");
	/* No resolver at all: every answer is SERVFAIL. */
	pst_dns_session_init(&e.dns, NULL, e.arena, 0, 0);
	assert_int_equal(pst_dmarc_evaluate(&e.dns, e.psl, &in, e.arena, &e.r), 0);
	assert_int_equal(e.r.result, PST_AR_TEMPERROR);
	env_close(&e);
}

/* No author domain, or one that is not a domain name: none with the
 * reason, and nothing is looked up. */
static void no_author_domain(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	static const struct { const char *domain, *reason; } cases[] = {
		{ NULL, "no author domain" },
		{ "", "the From domain is not a valid domain name" },
		{ "exa mple.com", "the From domain is not a valid domain name" },
		{ "[192.0.2.1]", "the From domain is not a valid domain name" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_dmarc_input in = from(cases[i].domain);
		in.spf = PST_AR_PASS;
		in.spf_domain = "example.com";
		unsigned queries = eval(&e, &in);
		const char *d = cases[i].domain ? cases[i].domain : "(NULL)";
		if (e.r.result != PST_AR_NONE || strcmp(e.r.reason, cases[i].reason) != 0)
			fail_msg("from_domain '%s': got result %d reason '%s', want %d '%s'", d,
			         e.r.result, e.r.reason, PST_AR_NONE, cases[i].reason);
		if (e.r.domain != NULL || queries != 0)
			fail_msg("from_domain '%s': got domain '%s' and %u queries, want none", d,
			         e.r.domain ? e.r.domain : "(NULL)", queries);
	}
	env_close(&e);
}

static void record_selection_and_errors(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("other.example.com");
	/* neither TXT is a DMARC record (version tag first): org fallback */
	assert_int_equal(eval(&e, &in), 2);
	assert_string_equal(e.r.record_domain, "example.com");
	assert_int_equal(e.r.published, PST_POLICY_QUARANTINE);
	/* a DMARC record libopendmarc refuses: permerror, no fallback */
	in.from_domain = "bad.example.com";
	assert_int_equal(eval(&e, &in), 1);
	assert_int_equal(e.r.result, PST_AR_PERMERROR);
	assert_int_equal(e.r.policy, PST_POLICY_NONE);
	assert_non_null(strstr(e.r.reason, "invalid DMARC record at _dmarc.bad.example.com"));
	/* no p but a rua: p=none (RFC 7489 6.6.3) */
	in.from_domain = "nop.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_int_equal(e.r.published, PST_POLICY_NONE);
	in.from_domain = "nop2.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PERMERROR);
	/* an invalid p or sp with a rua: p=none too, the other tags kept */
	in.from_domain = "badp.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_int_equal(e.r.published, PST_POLICY_NONE);
	assert_true(e.r.strict_spf);
	in.from_domain = "badsp.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_int_equal(e.r.published, PST_POLICY_NONE);
	/* a bad value elsewhere is still refused */
	in.from_domain = "badadkim.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PERMERROR);
	/* a NUL byte inside the record: the library would see "p=none" only */
	in.from_domain = "nul.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PERMERROR);
	assert_non_null(strstr(e.r.reason, "NUL"));
	/* strings of one TXT record are joined */
	in.from_domain = "split.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_int_equal(e.r.published, PST_POLICY_QUARANTINE);
	/* nothing anywhere */
	in.from_domain = "x.y.example.info";
	assert_int_equal(eval(&e, &in), 2);
	assert_int_equal(e.r.result, PST_AR_NONE);
	assert_string_equal(e.r.reason, "no DMARC record for x.y.example.info");
	env_close(&e);
}

static void public_suffix(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	/* An SPF pass for the public suffix does not align with a domain under it. */
	pst_dmarc_input in = from("example.co.uk");
	in.spf = PST_AR_PASS;
	in.spf_domain = "co.uk";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	assert_false(e.r.spf_aligned);
	/* A From domain that is a public suffix: its own record, no org step. */
	in.from_domain = "co.uk";
	assert_int_equal(eval(&e, &in), 1);
	assert_int_equal(e.r.result, PST_AR_FAIL);
	in.from_domain = "uk";
	assert_int_equal(eval(&e, &in), 1);
	assert_int_equal(e.r.result, PST_AR_NONE);
	env_close(&e);
}

/* np (DMARCbis / RFC 9091) for a From domain that does not exist. */
static void np_for_nonexistent(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone_np);
	pst_dmarc_input in = from("ghost.example.org");
	assert_int_equal(eval(&e, &in), 3);
	assert_int_equal(e.r.published, PST_POLICY_NONE);
	in.from_domain = "exists.example.org";
	assert_int_equal(eval(&e, &in), 3);
	assert_int_equal(e.r.published, PST_POLICY_QUARANTINE);
	in.from_domain = "example.org";
	assert_int_equal(eval(&e, &in), 1);
	assert_int_equal(e.r.published, PST_POLICY_REJECT);
	/* no np tag: no existence question */
	in.from_domain = "ghost.example.com";
	assert_int_equal(eval(&e, &in), 2);
	assert_int_equal(e.r.published, PST_POLICY_REJECT);
	env_close(&e);
}

/* The DMARC part of scenarios 1-5 and 10 (examples/), given the SPF and DKIM
 * outcomes those scenarios state. */
static const char zone_scen[] =
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject; rua=mailto:d@example.com\"\n"
	"_dmarc.quarantine.example.org. TXT \"v=DMARC1; p=quarantine\"\n"
	"_dmarc.monitor.example.org. TXT \"v=DMARC1; p=none\"\n"
	"$SERVFAIL _dmarc.servfail.example.net. TXT\n"
	"$TIMEOUT _dmarc.slow.example.net.\n";

static void scenarios(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone_scen);
	const char *dkim[1];
	/* 1: on-premise, everything aligned */
	pst_dmarc_input in = from("example.com");
	in.spf = PST_AR_PASS;
	in.spf_domain = "example.com";
	dkim[0] = "example.com";
	in.dkim_pass_domains = dkim;
	in.ndkim_pass = 1;
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_true(e.r.spf_aligned && e.r.dkim_aligned);
	assert_int_equal(e.r.policy, PST_POLICY_REJECT);
	assert_string_equal(e.r.reason, "SPF and DKIM (d=example.com) aligned");
	/* 2: provider's default MAIL FROM; DKIM by the From domain */
	in.from_domain = "shop.example.com";
	in.spf_domain = "bounces.example.net";
	dkim[0] = "shop.example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_false(e.r.spf_aligned);
	assert_true(e.r.dkim_aligned);
	/* 3: custom MAIL FROM under the From domain: relaxed SPF alignment */
	in.spf_domain = "mail.shop.example.com";
	in.ndkim_pass = 0;
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_true(e.r.spf_aligned);
	/* 4: spoofed From: fail, and the policy says what to do */
	static const struct { const char *d; pst_dmarc_policy p; } spoof[] = {
		{ "example.com", PST_POLICY_REJECT },
		{ "quarantine.example.org", PST_POLICY_QUARANTINE },
		{ "monitor.example.org", PST_POLICY_NONE },
	};
	for (size_t i = 0; i < 3; i++) {
		in.from_domain = spoof[i].d;
		in.spf = PST_AR_FAIL;
		in.spf_domain = spoof[i].d;
		eval(&e, &in);
		assert_int_equal(e.r.result, PST_AR_FAIL);
		assert_int_equal(e.r.policy, spoof[i].p);
	}
	/* 5: body altered, DKIM failed (not among the passing d=): SPF carries it */
	in.from_domain = "example.com";
	in.spf = PST_AR_PASS;
	in.spf_domain = "example.com";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_PASS);
	assert_string_equal(e.r.reason, "SPF aligned");
	/* 10: DNS trouble on the DMARC record */
	in.from_domain = "servfail.example.net";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_TEMPERROR);
	in.from_domain = "slow.example.net";
	eval(&e, &in);
	assert_int_equal(e.r.result, PST_AR_TEMPERROR);
	assert_string_equal(e.r.reason, "TIMEOUT on _dmarc.slow.example.net");
	env_close(&e);
}

/* Parsed records are remembered (dmarc.c parse_record_memo): the same
 * record gives the same fields and reasons every time, and a changed
 * record under the same name is read afresh, never the remembered one. */
static void remembered_records_follow_their_text(void **state)
{
	(void)state;
	static const char z1[] = "_dmarc.m.example.com. 300 IN TXT \"v=DMARC1; p=reject\"\n";
	static const char z2[] = "_dmarc.m.example.com. 300 IN TXT \"v=DMARC1; p=none; aspf=s\"\n";
	static const char z3[] = "_dmarc.m.example.com. 300 IN TXT \"v=DMARC1; p=bogus\"\n";
	char reason3[256] = "";
	for (int round = 0; round < 3; round++) {
		struct env e;
		pst_dmarc_input in = from("m.example.com");
		in.spf = PST_AR_PASS;
		in.spf_domain = "sub.m.example.com";

		env_open(&e, z1);
		eval(&e, &in);
		assert_int_equal(e.r.result, PST_AR_PASS);
		assert_int_equal(e.r.published, PST_POLICY_REJECT);
		assert_false(e.r.strict_spf);
		env_close(&e);

		env_open(&e, z2);
		eval(&e, &in);
		assert_int_equal(e.r.result, PST_AR_FAIL);     /* aspf=s: sub. does not align */
		assert_int_equal(e.r.published, PST_POLICY_NONE);
		assert_true(e.r.strict_spf);
		env_close(&e);

		env_open(&e, z3);
		eval(&e, &in);
		assert_int_equal(e.r.result, PST_AR_PERMERROR);
		if (round == 0)
			snprintf(reason3, sizeof reason3, "%s", e.r.reason);
		else
			assert_string_equal(e.r.reason, reason3);
		env_close(&e);
	}
}

static void bad_arguments(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("example.com");
	pst_dns_session_init(&e.dns, e.res, e.arena, 0, 0);
	assert_int_equal(pst_dmarc_evaluate(&e.dns, NULL, &in, e.arena, &e.r), -1);
	assert_int_equal(pst_dmarc_evaluate(&e.dns, e.psl, NULL, e.arena, &e.r), -1);
	assert_int_equal(pst_dmarc_evaluate(NULL, e.psl, &in, e.arena, &e.r), -1);
	assert_int_equal(e.dns.queries, 0);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spf_aligned_pass),
		cmocka_unit_test(org_fallback_and_sp),
		cmocka_unit_test(strict_is_strict),
		cmocka_unit_test(rf_iodef_keeps_aspf),
		cmocka_unit_test(pct_sampling),
		cmocka_unit_test(two_records_mean_none),
		cmocka_unit_test(dns_failures_are_temperror),
		cmocka_unit_test(no_author_domain),
		cmocka_unit_test(record_selection_and_errors),
		cmocka_unit_test(public_suffix),
		cmocka_unit_test(np_for_nonexistent),
		cmocka_unit_test(scenarios),
		cmocka_unit_test(remembered_records_follow_their_text),
		cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
