/* Unit tests for engine/auth/dmarc.c: RFC 9989 evaluation over the DNS
 * fixture (inline zones): the DNS Tree Walk (policy discovery and
 * organizational domains, psd=y and psd=n, the 8-question bound, DNS
 * failures), our record parser (t, np, psd; pct, rf and ri ignored; p
 * missing or invalid) and alignment by walk. Each row also counts the DNS
 * questions asked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "auth/dmarc.h"

/* The tree-walk world. "example" is no TLD the Public Suffix List knows,
 * so under the PSL bank.example would be the organizational domain of both
 * giant.bank.example and mega.bank.example; here the walk decides. */
static const char zone[] =
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
	/* 8 labels, psd=n: found only if the walk failed to skip it */
	"_dmarc.l2.l3.l4.l5.l6.mail.example.com. TXT \"v=DMARC1; p=none; psd=n\"\n"
	"_dmarc.two.example.com. TXT \"v=DMARC1; p=reject\"\n"
	"_dmarc.two.example.com. TXT \"v=DMARC1; p=none\"\n"
	"_dmarc.other.example.com. TXT \"v=spf1 -all\"\n"
	"_dmarc.other.example.com. TXT \"p=reject; v=DMARC1\"\n"
	"_dmarc.bank.example. TXT \"v=DMARC1; p=reject; psd=y\"\n"
	"_dmarc.giant.bank.example. TXT \"v=DMARC1; p=quarantine\"\n"
	"_dmarc.test. TXT \"v=DMARC1; p=quarantine; np=reject; psd=y\"\n"
	"_dmarc.dept.corp.example. TXT \"v=DMARC1; p=none; psd=n\"\n"
	"_dmarc.corp.example. TXT \"v=DMARC1; p=reject\"\n"
	"_dmarc.gov.example. TXT \"v=DMARC1; p=reject; psd=y\"\n"
	"$SERVFAIL _dmarc.b.flaky.example.\n"
	"_dmarc.flaky.example. TXT \"v=DMARC1; p=reject\"\n"
	"_dmarc.own.flaky2.example. TXT \"v=DMARC1; p=reject\"\n"
	"$TIMEOUT _dmarc.flaky2.example.\n"
	"_dmarc.sub.nodmarc.example. TXT \"v=DMARC1; p=reject\"\n";

struct env {
	pst_dnsfix *fix;
	pst_resolver *res;
	pst_arena *arena;
	pst_dns_session dns;
	pst_dmarc_result r;
};

static void env_open(struct env *e, const char *z)
{
	memset(e, 0, sizeof *e);
	assert_int_equal(pst_dnsfix_load_text("t.zone", z, strlen(z), &e->fix, NULL), 0);
	assert_int_equal(pst_resolver_new_fixture(e->fix, &e->res), 0);
	e->arena = pst_arena_new();
	assert_non_null(e->arena);
}

static void env_close(struct env *e)
{
	pst_arena_free(&e->arena);
	pst_resolver_free(&e->res);
	pst_dnsfix_free(&e->fix);
}

/* Evaluate in with a fresh session; returns the questions asked. */
static unsigned eval(struct env *e, const pst_dmarc_input *in)
{
	pst_dns_session_init(&e->dns, e->res, e->arena, 0, 0);
	assert_int_equal(pst_dmarc_evaluate(&e->dns, in, e->arena, &e->r), 0);
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

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static const char *policy(pst_dmarc_policy p)
{
	return pst_dmarc_policy_name(p);
}

/* One From domain through the walk world. spf and dkim are passing
 * identifiers (NULL: none). policy is the one applied; record and org the
 * record's domain and the organizational domain (NULL: none, unknown);
 * reason, when given, a part of the reason. */
struct walk_row {
	const char *from, *spf, *dkim;
	pst_auth_result result;
	pst_dmarc_policy policy;
	const char *record, *org;
	int spf_aligned, dkim_aligned;
	unsigned queries;
	const char *reason;
};

static const struct walk_row walk_rows[] = {
	/* 9 labels: the From domain, then its last 7 labels and up: 8
	 * questions; the 8-label name (psd=n) is skipped. The org domain is
	 * the shortest name with a record, whose sp applies. */
	{ "l1.l2.l3.l4.l5.l6.mail.example.com", NULL, NULL, PST_AR_FAIL, PST_POLICY_QUARANTINE,
	  "example.com", "example.com", 0, 0, 8, NULL },
	/* 12 labels, no record anywhere: never more than 8 questions. */
	{ "a.b.c.d.e.f.g.h.i.j.nowhere.example", NULL, NULL, PST_AR_NONE, PST_POLICY_NONE,
	  NULL, "a.b.c.d.e.f.g.h.i.j.nowhere.example", 0, 0, 8,
	  "no DMARC record for a.b.c.d.e.f.g.h.i.j.nowhere.example" },
	/* psd=y at bank.example: giant and mega are two organizations (the
	 * PSL would align them through bank.example). mega is not under
	 * giant's org domain: refused with no question. */
	{ "giant.bank.example", "mega.bank.example", NULL, PST_AR_FAIL, PST_POLICY_QUARANTINE,
	  "giant.bank.example", "giant.bank.example", 0, 0, 2, NULL },
	{ "mega.bank.example", NULL, "giant.bank.example", PST_AR_FAIL, PST_POLICY_REJECT,
	  "bank.example", "mega.bank.example", 0, 0, 2, NULL },
	/* Below giant: its record (sp, default p), and d=giant aligns by
	 * its own walk (2 more questions). */
	{ "x.giant.bank.example", NULL, "giant.bank.example", PST_AR_PASS, PST_POLICY_QUARANTINE,
	  "giant.bank.example", "giant.bank.example", 0, 1, 5, "DKIM (d=giant.bank.example)" },
	/* No record at mega: the public suffix domain's record applies. */
	{ "y.mega.bank.example", NULL, NULL, PST_AR_FAIL, PST_POLICY_REJECT,
	  "bank.example", "mega.bank.example", 0, 0, 3, NULL },
	/* psd=y at a TLD with np: the org domain shop.test has no record,
	 * mail.shop.test does not exist (one A question): np. */
	{ "mail.shop.test", NULL, NULL, PST_AR_FAIL, PST_POLICY_REJECT,
	  "test", "shop.test", 0, 0, 4, NULL },
	/* psd=n stops the walk: dept.corp.example is its own org domain,
	 * so corp.example does not align with it (no question). */
	{ "x.dept.corp.example", "corp.example", NULL, PST_AR_FAIL, PST_POLICY_NONE,
	  "dept.corp.example", "dept.corp.example", 0, 0, 2, NULL },
	/* psd=y on the From domain's own record: p applies, it is its own
	 * org domain, the walk stops at once. */
	{ "gov.example", "gov.example", NULL, PST_AR_PASS, PST_POLICY_REJECT,
	  "gov.example", "gov.example", 1, 0, 1, "SPF aligned" },
	/* SERVFAIL in the middle of the walk: temperror, no fallback. */
	{ "a.b.flaky.example", NULL, NULL, PST_AR_TEMPERROR, PST_POLICY_NONE,
	  NULL, NULL, 0, 0, 2, "SERVFAIL on _dmarc.b.flaky.example" },
	/* Own record, TIMEOUT above: the policy is known, the org domain is
	 * not. An identical identifier still aligns; another is unknown. */
	{ "own.flaky2.example", "own.flaky2.example", NULL, PST_AR_PASS, PST_POLICY_REJECT,
	  "own.flaky2.example", NULL, 1, 0, 2, NULL },
	{ "own.flaky2.example", "bounce.own.flaky2.example", NULL, PST_AR_TEMPERROR,
	  PST_POLICY_NONE, "own.flaky2.example", NULL, 0, 0, 2,
	  "alignment unknown: TIMEOUT on _dmarc.flaky2.example" },
	/* The only record is the From domain's: it is its own org domain,
	 * and a sibling does not align (the PSL would say it does). */
	{ "sub.nodmarc.example", "other.nodmarc.example", NULL, PST_AR_FAIL, PST_POLICY_REJECT,
	  "sub.nodmarc.example", "sub.nodmarc.example", 0, 0, 3, NULL },
	/* Relaxed alignment by walk: bounces.example.com's org domain is
	 * example.com (3 more questions). */
	{ "news.example.com", "bounces.example.com", NULL, PST_AR_PASS, PST_POLICY_QUARANTINE,
	  "example.com", "example.com", 1, 0, 6, "SPF aligned" },
	/* Two records at the From domain are discarded: the walk goes on. */
	{ "two.example.com", NULL, NULL, PST_AR_FAIL, PST_POLICY_QUARANTINE,
	  "example.com", "example.com", 0, 0, 3, NULL },
	/* Neither TXT is a DMARC record (version tag first). */
	{ "other.example.com", NULL, NULL, PST_AR_FAIL, PST_POLICY_QUARANTINE,
	  "example.com", "example.com", 0, 0, 3, NULL },
	/* The TLD itself: nothing, one question. */
	{ "com", NULL, NULL, PST_AR_NONE, PST_POLICY_NONE, NULL, "com", 0, 0, 1, NULL },
};

static int streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void tree_walk(void **state)
{
	(void)state;
	struct env e;
	size_t bad = 0;

	env_open(&e, zone);
	for (size_t i = 0; i < sizeof walk_rows / sizeof walk_rows[0]; i++) {
		const struct walk_row *w = &walk_rows[i];
		const char *dkim[1] = { w->dkim };
		pst_dmarc_input in = from(w->from);
		if (w->spf != NULL) {
			in.spf = PST_AR_PASS;
			in.spf_domain = w->spf;
		}
		if (w->dkim != NULL) {
			in.dkim_pass_domains = dkim;
			in.ndkim_pass = 1;
		}
		unsigned q = eval(&e, &in);
		const pst_dmarc_result *r = &e.r;
		if (r->result != w->result || r->policy != w->policy
		    || !streq(r->record_domain, w->record) || !streq(r->org_domain, w->org)
		    || r->spf_aligned != w->spf_aligned || r->dkim_aligned != w->dkim_aligned
		    || q != w->queries || (w->reason && strstr(r->reason, w->reason) == NULL)) {
			print_message("row %zu (%s): got %s policy %s record %s org %s spf %d dkim %d, "
			              "%u questions, '%s'; want %s policy %s record %s org %s spf %d "
			              "dkim %d, %u questions, '%s'\n", i, w->from,
			              pst_auth_result_name(r->result), policy(r->policy),
			              str(r->record_domain), str(r->org_domain), r->spf_aligned,
			              r->dkim_aligned, q, r->reason, pst_auth_result_name(w->result),
			              policy(w->policy), str(w->record), str(w->org), w->spf_aligned,
			              w->dkim_aligned, w->queries, str(w->reason));
			bad++;
		}
	}
	env_close(&e);
	if (bad)
		fail_msg("%zu rows wrong", bad);
}

/* Records, each at _dmarc.<name>.tags.example, for From <name>.tags.example
 * with no identifier (or SPF pass for it when spf is set). */
static const char zone_tags[] =
	"_dmarc.t1.tags.example. TXT \"v=DMARC1; p=reject; t=y\"\n"
	"_dmarc.t2.tags.example. TXT \"v=DMARC1; p=quarantine; t=y\"\n"
	"_dmarc.t3.tags.example. TXT \"v=DMARC1; p=none; t=y\"\n"
	"_dmarc.t4.tags.example. TXT \"v=DMARC1; p=reject; t=n\"\n"
	"_dmarc.t5.tags.example. TXT \"v=DMARC1; p=reject; t=yes\"\n"
	"_dmarc.pct0.tags.example. TXT \"v=DMARC1; p=reject; pct=0\"\n"
	"_dmarc.pctf.tags.example. TXT \"v=DMARC1; p=reject; pct=f; rf=bogus; ri=x\"\n"
	"_dmarc.iodef.tags.example. TXT \"v=DMARC1; p=reject; rf=iodef\"\n"
	"_dmarc.iodefs.tags.example. TXT \"v=DMARC1; p=reject; rf=iodef; aspf=s\"\n"
	"_dmarc.psdnop.tags.example. TXT \"v=DMARC1; psd=y\"\n"
	"_dmarc.nop.tags.example. TXT \"v=DMARC1\"\n"
	"_dmarc.badp.tags.example. TXT \"v=DMARC1; p=bogus\"\n"
	"_dmarc.badprua.tags.example. TXT \"v=DMARC1; p=bogus; rua=mailto:d@example.com; aspf=s\"\n"
	"_dmarc.badpruabad.tags.example. TXT \"v=DMARC1; p=bogus; rua=bogus\"\n"
	"_dmarc.badsp.tags.example. TXT \"v=DMARC1; p=reject; sp=bogus\"\n"
	"_dmarc.badnp.tags.example. TXT \"v=DMARC1; p=reject; np=bogus\"\n"
	"_dmarc.badnprua.tags.example. TXT \"v=DMARC1; p=reject; np=bogus; rua=x , mailto:d@e.x\"\n"
	"_dmarc.adkimbob.tags.example. TXT \"v=DMARC1; p=reject; adkim=bob\"\n"
	"_dmarc.adkimstrict.tags.example. TXT \"v=DMARC1; p=reject; adkim=strict\"\n"
	"_dmarc.adkims.tags.example. TXT \"v=DMARC1; p=reject; adkim=S\"\n"
	"_dmarc.unknown.tags.example. TXT \"v=DMARC1; p=reject; foo=bar; junk\"\n"
	"_dmarc.nul.tags.example. TXT \"v=DMARC1; p=none\\000; p=reject\"\n"
	"_dmarc.split.tags.example. TXT \"v=DMARC1; \" \"p=quarantine\"\n";

struct tag_row {
	const char *name;
	int spf;                      /* SPF passes for the From domain */
	pst_auth_result result;
	pst_dmarc_policy published, policy;
	int testing, strict_spf, strict_dkim;
	const char *reason;
};

#define Q PST_POLICY_QUARANTINE
#define R PST_POLICY_REJECT
#define N PST_POLICY_NONE
static const struct tag_row tag_rows[] = {
	/* t=y: one step down for a failure; a pass keeps the policy. */
	{ "t1", 0, PST_AR_FAIL, R, Q, 1, 0, 0, "t=y (testing)" },
	{ "t1", 1, PST_AR_PASS, R, R, 1, 0, 0, "SPF aligned" },
	{ "t2", 0, PST_AR_FAIL, Q, N, 1, 0, 0, "t=y (testing)" },
	{ "t3", 0, PST_AR_FAIL, N, N, 1, 0, 0, NULL },
	{ "t4", 0, PST_AR_FAIL, R, R, 0, 0, 0, NULL },
	{ "t5", 0, PST_AR_FAIL, R, R, 0, 0, 0, NULL },       /* not y or n: n */
	/* pct, rf, ri: unknown tags now, whatever their value. */
	{ "pct0", 0, PST_AR_FAIL, R, R, 0, 0, 0, "neither SPF nor DKIM aligned" },
	{ "pctf", 0, PST_AR_FAIL, R, R, 0, 0, 0, NULL },
	{ "iodef", 0, PST_AR_FAIL, R, R, 0, 0, 0, NULL },
	{ "iodefs", 0, PST_AR_FAIL, R, R, 0, 1, 0, NULL },
	/* p absent: p=none (a PSD record without p too). */
	{ "psdnop", 0, PST_AR_FAIL, N, N, 0, 0, 0, NULL },
	{ "nop", 0, PST_AR_FAIL, N, N, 0, 0, 0, NULL },
	/* p, sp or np invalid: p=none with a valid rua URI, else nothing. */
	{ "badp", 0, PST_AR_PERMERROR, N, N, 0, 0, 0, "no valid p" },
	{ "badprua", 0, PST_AR_FAIL, N, N, 0, 1, 0, NULL },
	{ "badpruabad", 0, PST_AR_PERMERROR, N, N, 0, 0, 0, "no valid p" },
	{ "badsp", 0, PST_AR_PERMERROR, N, N, 0, 0, 0, "invalid sp" },
	{ "badnp", 0, PST_AR_PERMERROR, N, N, 0, 0, 0, "invalid np" },
	{ "badnprua", 0, PST_AR_FAIL, N, N, 0, 0, 0, NULL },
	/* adkim/aspf: r or s only, anything else the default r. */
	{ "adkimbob", 0, PST_AR_FAIL, R, R, 0, 0, 0, NULL },
	{ "adkimstrict", 0, PST_AR_FAIL, R, R, 0, 0, 0, NULL },
	{ "adkims", 0, PST_AR_FAIL, R, R, 0, 0, 1, NULL },
	{ "unknown", 0, PST_AR_FAIL, R, R, 0, 0, 0, NULL },
	{ "nul", 0, PST_AR_PERMERROR, N, N, 0, 0, 0, "NUL" },
	{ "split", 0, PST_AR_FAIL, Q, Q, 0, 0, 0, NULL },
};
#undef Q
#undef R
#undef N

static void record_tags(void **state)
{
	(void)state;
	struct env e;
	size_t bad = 0;
	char from_buf[128];

	env_open(&e, zone_tags);
	for (size_t i = 0; i < sizeof tag_rows / sizeof tag_rows[0]; i++) {
		const struct tag_row *t = &tag_rows[i];
		snprintf(from_buf, sizeof from_buf, "%s.tags.example", t->name);
		pst_dmarc_input in = from(from_buf);
		if (t->spf) {
			in.spf = PST_AR_PASS;
			in.spf_domain = from_buf;
		}
		eval(&e, &in);
		const pst_dmarc_result *r = &e.r;
		if (r->result != t->result || r->published != t->published || r->policy != t->policy
		    || r->testing != t->testing || r->strict_spf != t->strict_spf
		    || r->strict_dkim != t->strict_dkim
		    || (t->reason && strstr(r->reason, t->reason) == NULL)) {
			print_message("row %zu (%s): got %s published %s policy %s t=%d aspf=s %d "
			              "adkim=s %d '%s'; want %s published %s policy %s t=%d aspf=s %d "
			              "adkim=s %d '%s'\n", i, t->name, pst_auth_result_name(r->result),
			              policy(r->published), policy(r->policy), r->testing, r->strict_spf,
			              r->strict_dkim, r->reason, pst_auth_result_name(t->result),
			              policy(t->published), policy(t->policy), t->testing,
			              t->strict_spf, t->strict_dkim, str(t->reason));
			bad++;
		}
	}
	env_close(&e);
	if (bad)
		fail_msg("%zu rows wrong", bad);
}

/* np (RFC 9989) for a From domain that does not exist. */
static const char zone_np[] =
	"_dmarc.example.org. TXT \"v=DMARC1; p=reject; sp=quarantine; np=none\"\n"
	"exists.example.org. A 192.0.2.1\n"
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n";

static void np_for_nonexistent(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone_np);
	pst_dmarc_input in = from("ghost.example.org");
	assert_int_equal(eval(&e, &in), 4);    /* walk of 3, one A question */
	assert_int_equal(e.r.published, PST_POLICY_NONE);
	in.from_domain = "exists.example.org";
	assert_int_equal(eval(&e, &in), 4);
	assert_int_equal(e.r.published, PST_POLICY_QUARANTINE);
	in.from_domain = "example.org";
	assert_int_equal(eval(&e, &in), 2);
	assert_int_equal(e.r.published, PST_POLICY_REJECT);
	/* no np tag: no existence question */
	in.from_domain = "ghost.example.com";
	assert_int_equal(eval(&e, &in), 3);
	assert_int_equal(e.r.published, PST_POLICY_REJECT);
	env_close(&e);
}

/* No resolver at all: every answer is SERVFAIL, so temperror. */
static void no_resolver_is_temperror(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("example.com");
	pst_dns_session_init(&e.dns, NULL, e.arena, 0, 0);
	assert_int_equal(pst_dmarc_evaluate(&e.dns, &in, e.arena, &e.r), 0);
	assert_int_equal(e.r.result, PST_AR_TEMPERROR);
	assert_string_equal(e.r.reason, "SERVFAIL on _dmarc.example.com");
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

static void bad_arguments(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, zone);
	pst_dmarc_input in = from("example.com");
	pst_dns_session_init(&e.dns, e.res, e.arena, 0, 0);
	assert_int_equal(pst_dmarc_evaluate(&e.dns, NULL, e.arena, &e.r), -1);
	assert_int_equal(pst_dmarc_evaluate(NULL, &in, e.arena, &e.r), -1);
	assert_int_equal(pst_dmarc_evaluate(&e.dns, &in, NULL, &e.r), -1);
	assert_int_equal(pst_dmarc_evaluate(&e.dns, &in, e.arena, NULL), -1);
	assert_int_equal(e.dns.queries, 0);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tree_walk),
		cmocka_unit_test(record_tags),
		cmocka_unit_test(np_for_nonexistent),
		cmocka_unit_test(no_resolver_is_temperror),
		cmocka_unit_test(no_author_domain),
		cmocka_unit_test(scenarios),
		cmocka_unit_test(bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
