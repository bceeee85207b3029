/*
 * bench_lib.c: library throughput through the public API (postern.h),
 * the "library" throughput targets.
 *
 *   bench_lib                  timed runs, figures as "NAME VALUE UNIT"
 *   bench_lib --once MODE N    N messages of MODE (injected | spf-dmarc),
 *                              untimed, for callgrind (bench_lib_callgrind.sh
 *                              collects only inside run_once())
 *
 * Setup (not timed): a 50-rule policy of the kind a gateway runs (regexes on
 * several header fields, IP lists, domain lists, two tenants, auth rules),
 * compiled once from memory; a corpus of 256 generated messages with about
 * 4 KB of header fields each (a Received chain, DKIM-Signature, List-* and
 * X-* fields), held in memory; for the second mode a DNS fixture (SPF
 * records with ip4/include/a terms for 24 sender domains, their DMARC
 * records, HELO names) written to a temporary file and loaded once.
 *
 * Timed, per message: pst_message_new (parse, envelope) +
 * pst_message_evaluate (every recipient, every rule) + reading the verdict +
 * pst_message_free. Two modes:
 *   injected   every auth result given by the caller (pst_auth_given: spf,
 *              helo_spf, dkim, dmarc with policy and domain): no DNS at all;
 *   spf-dmarc  SPF (MAIL FROM and HELO) and DMARC computed through the DNS
 *              fixture layer; DKIM off, which the API spells as the caller
 *              giving dkim=none (pst_auth_given.dkim) and nothing else.
 * Each mode runs on one thread and on two, in 3 alternating rounds of 1 s
 * (0.25 s quick) keeping the best of each (the policy and the fixture are
 * shared, as the API allows). Figures: msgs/s (on two threads the sum of
 * both), and ns per message as one thread spends it (1e9 / rate on one
 * thread, 2e9 / rate on two: the per-core cost). The
 * decisions are counted and checked against what the corpus was built to
 * produce, so a policy that silently stops matching is caught.
 * BENCH_LIB_DEBUG=1 prints each message's JSON report (with --once).
 * Not part of make check: make bench (POSTERN_BENCH_QUICK=1: brief runs).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postern.h"

#define NMSG 256
#define NDOMAINS 24

static void die(const char *what)
{
	fprintf(stderr, "bench_lib: %s\n", what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growable text; exits on ENOMEM (a benchmark, not the library). */
typedef struct text { char *p; size_t len, cap; } text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf");
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		if ((t->p = realloc(t->p, t->cap)) == NULL)
			die("out of memory");
	}
}

/* ---- the policy: 50 rules ------------------------------------------------ */

static text make_policy(void)
{
	text t = { 0 };
	add(&t, "# bench_lib: a 50-rule gateway policy\n"
	        "after-queue-reject reject-if-spf-pass;\n"
	        "list internal = domains { \"example.net\", \"corp.example.net\" };\n"
	        "list partners = domains {");
	for (int i = 0; i < 40; i++)
		add(&t, "%s\"partner%d.example\"", i ? ", " : " ", i);
	add(&t, ", \"d3.example.com\", \"d7.example.com\" };\nlist blocked = domains {");
	for (int i = 0; i < 60; i++)
		add(&t, "%s\"spam%d.example\"", i ? ", " : " ", i);
	add(&t, ", \"d23.example.com\" };\n"
	        "list office_ips = ips { 192.0.2.0/26, 198.51.100.0/28, 2001:db8:1::/48 };\n"
	        "list bad_ips = ips {");
	for (int i = 0; i < 40; i++)
		add(&t, "%s100.64.%d.0/24", i ? ", " : " ", i);
	add(&t, ", 203.0.113.0/24 };\n");
	/* 1-6: auth */
	add(&t, "rule dns_trouble { when spf == temperror or dmarc == temperror "
	        "then tempfail \"DNS trouble checking ${from.domain}\"; }\n"
	        "rule dmarc_reject { when dmarc == fail and dmarc.policy == reject "
	        "then reject 550 5.7.1 \"DMARC policy of ${from.domain} says reject\"; }\n"
	        "rule dmarc_quarantine { when dmarc == fail and dmarc.policy == quarantine then quarantine; }\n"
	        "rule spf_fail_tag { when spf == fail then tag \"spf-fail\"; }\n"
	        "rule helo_fail_tag { when helo.spf == fail or helo.spf == softfail then tag \"helo-bad\"; }\n"
	        "rule spf_softfail_partner { when spf == softfail and from.domain in partners "
	        "then tag \"partner-softfail\"; }\n");
	/* 7-10: lists */
	add(&t, "rule blocked_sender { when from.domain in blocked or envelope.from.domain in blocked "
	        "then reject 550 5.7.1 \"sender domain ${from.domain} is blocked\"; }\n"
	        "rule blocked_ip { when client.ip in bad_ips then reject 554 5.7.1 \"client ${client.ip} is listed\"; }\n"
	        "rule office_relay { when client.ip in office_ips and from.domain in internal then tag \"office\"; }\n"
	        "rule spoofed_internal { when from.domain in internal and not client.ip in office_ips "
	        "then add header \"X-Spoofed-Internal\" \"yes\"; }\n");
	/* 11-30: regexes on several header fields */
	static const char *const rx[][3] = {
		{ "subject", "/\\b(viagra|cialis|lottery|winner)\\b/i", "spam-words" },
		{ "subject", "/^(RE: |FW: |Fwd: )*invoice [0-9]{4,}$/i", "invoice" },
		{ "subject", "/[\\x{80}-\\x{ff}]{8,}/", "8bit-subject" },
		{ "subject", "/!!!|\\$\\$\\$/", "shouty" },
		{ "header \"X-Mailer\"", "/^(PHPMailer|Mass ?Mailer|bulk)/i", "bulk-mailer" },
		{ "header \"List-Id\"", "/<[a-z0-9.-]+\\.lists\\.example\\.org>$/", "mailing-list" },
		{ "header \"Message-ID\"", "/^<[0-9a-f]{32}@localhost>$/", "odd-msgid" },
		{ "header \"Content-Type\"", "/^multipart\\/(mixed|related)/i", "multipart" },
		{ "header \"X-Spam-Flag\"", "/^yes$/i", "upstream-spam" },
		{ "header \"User-Agent\"", "/Thunderbird\\/[0-9]+/", "thunderbird" },
		{ "any header \"Received\"", "/from unknown \\(/", "unknown-relay" },
		{ "any header \"Received\"", "/\\(HELO [0-9.]+\\)/", "ip-helo" },
		{ "header \"Reply-To\"", "/@(gmail|yahoo|outlook)\\.example$/i", "freemail-reply" },
		{ "header \"X-Originating-IP\"", "/^\\[?10\\./", "private-origin" },
		{ "header \"Authentication-Results\"", "/dkim=fail/", "upstream-dkim-fail" },
		{ "header \"To\"", "/undisclosed-recipients/i", "undisclosed" },
		{ "from.display", "/(paypal|bank|security team)/i", "display-lure" },
		{ "header \"Precedence\"", "/^(bulk|junk|list)$/i", "precedence" },
		{ "header \"X-Campaign\"", "/^cmp-[0-9]+-[a-z]+$/", "campaign" },
		{ "header \"Date\"", "/ 19[0-9]{2} /", "old-date" },
	};
	for (size_t i = 0; i < sizeof rx / sizeof rx[0]; i++)
		add(&t, "rule rx%zu { when %s matches %s then tag \"%s\"; }\n", i, rx[i][0], rx[i][1],
		    rx[i][2]);
	/* 31-40: equality, counts, sizes, domains */
	add(&t, "rule many_hops { when count(header \"Received\") > 20 then tag \"many-hops\"; }\n"
	        "rule no_date { when not header \"Date\" exists then add header \"X-Missing-Date\" \"yes\"; }\n"
	        "rule two_from { when from.count > 1 then reject 550 5.7.1 \"more than one From address\"; }\n"
	        "rule huge { when size > 10000000 then reject 552 5.3.4 \"too big\"; }\n"
	        "rule partner_tag { when from.domain in partners then add header \"X-Partner\" \"${from.domain}\"; }\n"
	        "rule helo_is_ip { when client.helo starts-with \"[\" then tag \"helo-literal\"; }\n"
	        "rule null_sender { when envelope.from == \"\" then tag \"bounce\"; }\n"
	        "rule envelope_mismatch { when not envelope.from.domain == from.domain and not spf.aligned "
	        "then tag \"mail-from-mismatch\"; }\n"
	        "rule scrub { when true then remove header \"X-Internal-Route\"; }\n"
	        "rule external_banner mode audit { when not from.domain in internal "
	        "then prepend subject \"[EXTERNAL] \"; }\n");
	/* 41-50: two tenants */
	add(&t, "tenant \"bank.example.org\" {\n"
	        "  rule partner_spf_aligned { when from.domain in partners and not (spf == pass and spf.aligned)\n"
	        "    then reject 550 5.7.1 \"SPF for ${from.domain} must pass and align\"; }\n"
	        "  rule partner_dkim_aligned { when from.domain in partners and not dkim.aligned and dmarc != pass\n"
	        "    then quarantine \"partners\"; }\n"
	        "  rule classification_required { when not header \"X-Classification\" matches /^(UNCLASSIFIED|OFFICIAL)$/\n"
	        "    then tag \"unclassified\"; }\n"
	        "  rule bank_lure { when subject matches /(password|account (is )?(locked|suspended))/i\n"
	        "    then quarantine \"lures\"; }\n"
	        "  rule bank_banner { when not from.domain in internal then add header \"X-Bank-External\" \"yes\"; }\n"
	        "}\n"
	        "tenant \"agency.example\" {\n"
	        "  rule only_known_ips { when not client.ip in office_ips and from.domain in internal\n"
	        "    then reject 550 5.7.1 \"sending IP ${client.ip} is not on the allowlist\"; }\n"
	        "  rule agency_dmarc { when dmarc != pass and from.domain in partners then tag \"agency-dmarc\"; }\n"
	        "  rule agency_list { when header \"List-Unsubscribe\" exists then tag \"agency-bulk\"; }\n"
	        "  rule agency_strip { when from.display contains \"Acme Corp\" then set from.display \"\"; }\n"
	        "  rule agency_subject { when subject matches /^\\[(SECRET|CONFIDENTIAL)\\]/ then tag \"agency-marked\"; }\n"
	        "}\n");
	return t;
}

/* ---- the corpus ---------------------------------------------------------- */

typedef struct bench_msg {
	char *bytes;
	size_t len;
	char ip[48], helo[80], mail_from[96], rcpt[80], from_domain[64];
	const char *rcpts[1];
	pst_auth_given given;
	const char *dkim_domains[1];
} bench_msg;

static const char *const rcpt_domains[] = { "example.net", "bank.example.org", "agency.example",
	                                     "example.net" };

/* Sender domain i: d<i>.example.com. Its mail leaves from 198.18.<i>.0/24
 * (SPF ip4 for even i, include:_spf.d<i> for odd), with a bounce domain
 * bounce.d<i>.example.com for a third of them. Message k comes from domain
 * k % NDOMAINS; one in 16 from an IP outside the records (SPF fail). */
static void make_corpus(bench_msg *ms, int n)
{
	static const char *const subjects[] = {
		"Quarterly report for the board", "RE: invoice 20231187", "Lunch on Friday?",
		"Your account is suspended - act now!!!", "Weekly digest: 14 new posts",
		"Fwd: travel plans", "[CONFIDENTIAL] draft", "Meeting notes 2023-11-14",
	};
	for (int k = 0; k < n; k++) {
		bench_msg *m = &ms[k];
		int d = k % NDOMAINS, fail = (k % 16) == 5;
		snprintf(m->from_domain, sizeof m->from_domain, "d%d.example.com", d);
		snprintf(m->ip, sizeof m->ip, "198.18.%d.%d", fail ? 200 : d, 10 + k % 200);
		snprintf(m->helo, sizeof m->helo, "mx%d.d%d.example.com", k % 3, d);
		snprintf(m->mail_from, sizeof m->mail_from, "%s@%s%s", k % 7 ? "news" : "bounce+x",
		         d % 3 == 0 ? "bounce." : "", m->from_domain);
		snprintf(m->rcpt, sizeof m->rcpt, "user%d@%s", k % 50, rcpt_domains[(k / 3) % 4]);
		m->rcpts[0] = m->rcpt;
		text t = { 0 };
		for (int h = 0; h < 6; h++)
			add(&t, "Received: from relay%d.d%d.example.com (relay%d.d%d.example.com [198.18.%d.%d])\r\n"
			        "\tby mx%d.example.net (Postfix) with ESMTPS id 4Sv%04X%dKz for <%s>;\r\n"
			        "\tTue, 14 Nov 2023 22:%02d:%02d +0000\r\n",
			    h, d, h, d, d, 10 + h, h, k * 7 + h, h, m->rcpt, 10 + h, (k + h) % 60);
		add(&t, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=sel1;\r\n"
		        "\th=from:to:subject:date:message-id:list-id:list-unsubscribe;\r\n"
		        "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
		        "\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaGFzIHRoZSBzaXplIG9mIG9u\r\n"
		        "\t ZSBhbmQgdGhhdCBpcyB3aGF0IG1hdHRlcnMgZm9yIHBhcnNpbmcgY29zdHMgaW4gdGhpcyBiZW5j\r\n"
		        "\t aG1hcmsgb2YgdGhlIGxpYnJhcnkgdGhyb3VnaHB1dCB3aXRoIDUwIHJ1bGVzIGFuZCBhIGZldyBt\r\n"
		        "\t b3JlIGJ5dGVzIHRvIGZpbGwgdGhlIGxpbmUgdXAgdG8gdGhlIGVuZCBvZiBpdA==\r\n",
		    m->from_domain);
		add(&t, "From: %s <news@%s>\r\n", k % 11 == 3 ? "PayPal Security Team" : "The News Desk",
		    m->from_domain);
		add(&t, "To: %s\r\nSubject: %s\r\n", m->rcpt, subjects[k % 8]);
		add(&t, "Date: Tue, 14 Nov 2023 22:%02d:20 +0000\r\n", k % 60);
		add(&t, "Message-ID: <%08x.%d.bench@%s>\r\n", (unsigned)(k * 2654435761u), k, m->from_domain);
		add(&t, "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b%d\"\r\n", k);
		add(&t, "List-Id: Weekly news <weekly.d%d.lists.example.org>\r\n"
		        "List-Unsubscribe: <mailto:unsubscribe@%s?subject=unsubscribe-%d>,\r\n"
		        "\t<https://%s/unsubscribe/%08x>\r\n",
		    d, m->from_domain, k, m->from_domain, (unsigned)k * 40503u);
		add(&t, "X-Mailer: %s\r\nX-Campaign: cmp-%d-autumn\r\nX-Classification: %s\r\n",
		    k % 5 ? "Acme Mailer 4.2" : "PHPMailer 6.8.1", k % 30,
		    k % 2 ? "OFFICIAL" : "UNCLASSIFIED");
		add(&t, "X-Internal-Route: hop-%d\r\n", k);
		while (t.len < 4000)
			add(&t, "X-Filler-%zu: tracking data %08x lorem ipsum dolor sit amet consectetur\r\n",
			    t.len, (unsigned)(t.len * 2246822519u));
		add(&t, "\r\n--b%d\r\nContent-Type: text/plain\r\n\r\nHello.\r\n--b%d--\r\n", k, k);
		m->bytes = t.p;
		m->len = t.len;
		/* What a caller that already checked would give. */
		m->dkim_domains[0] = m->from_domain;
		m->given = (pst_auth_given){
			.spf = fail ? "fail" : "pass", .spf_domain = strchr(m->mail_from, '@') + 1,
			.helo_spf = fail ? "softfail" : "pass",
			.dkim = "pass", .dkim_domains = m->dkim_domains, .ndkim_domains = 1,
			.dmarc = fail ? "fail" : "pass", .dmarc_policy = d % 3 ? "none" : "reject",
			.dmarc_domain = m->from_domain,
		};
	}
}

/* The fixture: SPF for every sender domain and bounce domain, HELO names,
 * DMARC records. */
static char *write_fixture(void)
{
	static char path[] = "/tmp/bench_lib.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	text t = { 0 };
	for (int d = 0; d < NDOMAINS; d++) {
		if (d % 2 == 0)
			add(&t, "d%d.example.com. 300 IN TXT \"v=spf1 ip4:198.18.%d.0/24 ip4:192.0.2.0/24 -all\"\n",
			    d, d);
		else
			add(&t, "d%d.example.com. 300 IN TXT \"v=spf1 include:_spf.d%d.example.com ~all\"\n"
			        "_spf.d%d.example.com. 300 IN TXT \"v=spf1 ip4:198.51.100.0/24 ip4:198.18.%d.0/24 -all\"\n",
			    d, d, d, d);
		add(&t, "bounce.d%d.example.com. 300 IN TXT \"v=spf1 a:out.d%d.example.com/24 -all\"\n"
		        "out.d%d.example.com. 300 IN A 198.18.%d.0\n",
		    d, d, d, d);
		for (int h = 0; h < 3; h++)
			add(&t, "mx%d.d%d.example.com. 300 IN TXT \"v=spf1 a -all\"\n"
			        "mx%d.d%d.example.com. 300 IN A 198.18.%d.%d\n",
			    h, d, h, d, d, 10 + h);
		add(&t, "_dmarc.d%d.example.com. 300 IN TXT \"v=DMARC1; p=%s; rua=mailto:dmarc@d%d.example.com\"\n",
		    d, d % 3 ? "none" : "reject", d);
	}
	if (write(fd, t.p, t.len) != (ssize_t)t.len || close(fd) != 0)
		die("write fixture");
	free(t.p);
	return path;
}

/* ---- the runs ------------------------------------------------------------ */

typedef struct run_ctx {
	const pst_policy *policy;
	const pst_dns *dns;          /* the fixture; injected asks it nothing */
	const bench_msg *ms;
	int n;
	int injected;
	double seconds;              /* timed mode: run this long */
	uint64_t done;               /* out: messages */
	uint64_t decisions[5];       /* out: per pst_action */
	double elapsed;
} run_ctx;

static const pst_auth_given dkim_off = { .dkim = "none" };

static void one(run_ctx *c, const bench_msg *m)
{
	pst_envelope env = { .client_ip = m->ip, .helo = m->helo, .mail_from = m->mail_from,
	                     .rcpts = m->rcpts, .nrcpts = 1 };
	pst_message_opts o = { .now = 1700000000, .dns = c->dns, .no_envelope_fields = 1,
	                       .auth = c->injected ? &m->given : &dkim_off };
	pst_message *pm = NULL;
	char err[200];
	if (pst_message_new(c->policy, m->bytes, m->len, &env, &o, &pm, err, sizeof err) < 0)
		die(err);
	if (pst_message_evaluate(pm) < 0)
		die("evaluate");
	const pst_verdict *v = pst_message_verdict(pm, 0);
	if (v == NULL || (unsigned)v->action > PST_QUARANTINE)
		die("no verdict");
	c->decisions[v->action]++;
	if (c->injected && pst_message_dns_queries(pm) != 0)
		die("a DNS question with every auth result given");
	if (getenv("BENCH_LIB_DEBUG")) {
		char *j = NULL;
		if (pst_message_json(pm, &j) == 0)
			printf("%s\n", j);
		free(j);
	}
	pst_message_free(&pm);
}

/* n messages, untimed. */
__attribute__((noinline)) static void run_once(run_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		one(c, &c->ms[i % (uint64_t)c->n]);
	c->done = n;
}

/* The same: what callgrind counts (--toggle-collect=run_counted*). */
__attribute__((noinline)) static void run_counted(run_ctx *c, uint64_t n)
{
	run_once(c, n);
}

static void *run_timed(void *arg)
{
	run_ctx *c = arg;
	double t0 = now_s(), el;
	uint64_t i = 0;
	do {
		for (int k = 0; k < 64; k++, i++)
			one(c, &c->ms[i % (uint64_t)c->n]);
	} while ((el = now_s() - t0) < c->seconds);
	c->done = i;
	c->elapsed = el;
	return NULL;
}

/* msgs/s over nthreads threads (the sum of each thread's rate). */
static double measure(run_ctx *base, int nthreads, uint64_t decisions[5])
{
	run_ctx c[2];
	pthread_t th[2];
	for (int t = 0; t < nthreads; t++) {
		c[t] = *base;
		if (pthread_create(&th[t], NULL, run_timed, &c[t]) != 0)
			die("pthread_create");
	}
	double rate = 0;
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		rate += (double)c[t].done / c[t].elapsed;
		for (int a = 0; a < 5; a++)
			decisions[a] += c[t].decisions[a];
	}
	return rate;
}

static pst_policy *compile_policy(void)
{
	text pol = make_policy();
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	if (pst_policy_compile_text("bench.rules", pol.p, pol.len, NULL, &p, &rep) < 0) {
		fprintf(stderr, "%s", rep.text ? rep.text : "");
		die("the policy does not compile");
	}
	pst_report_clear(&rep);
	free(pol.p);
	if (pst_policy_rule_count(p) != 50)
		die("the policy does not have 50 rules");
	return p;
}

int main(int argc, char **argv)
{
	static bench_msg ms[NMSG];
	make_corpus(ms, NMSG);
	pst_policy *policy = compile_policy();
	char *fixture = write_fixture();
	pst_dns *dns = NULL;
	char *errors = NULL;
	if (pst_dns_load_fixture(fixture, &dns, &errors) < 0) {
		fprintf(stderr, "%s", errors ? errors : "");
		die("the fixture does not load");
	}
	unlink(fixture);
	run_ctx base = { .policy = policy, .ms = ms, .n = NMSG };

	if (argc == 4 && strcmp(argv[1], "--once") == 0) {
		base.injected = strcmp(argv[2], "injected") == 0;
		base.dns = dns;
		uint64_t n = strtoull(argv[3], NULL, 10);
		/* Warm up (the process-wide auth libraries, the public suffix
		 * list, per-thread regex match data are made on first use),
		 * then the counted run. */
		run_once(&base, NMSG);
		memset(base.decisions, 0, sizeof base.decisions);
		run_counted(&base, n);
		printf("bench_lib --once %s: %llu messages, %llu accept, %llu reject\n", argv[2],
		       (unsigned long long)n, (unsigned long long)base.decisions[PST_ACCEPT],
		       (unsigned long long)base.decisions[PST_REJECT]);
	} else if (argc == 1) {
		const char *q = getenv("POSTERN_BENCH_QUICK");
		base.seconds = q && *q && strcmp(q, "0") != 0 ? 0.25 : 1.0;
		size_t hdr = 0;
		for (int k = 0; k < NMSG; k++)
			hdr += (size_t)(strstr(ms[k].bytes, "\r\n\r\n") - ms[k].bytes) + 4;
		printf("# bench_lib: 50 rules, %d messages of %zu header bytes on average, best of 3 runs of %.2f s\n",
		       NMSG, hdr / NMSG, base.seconds);
		static const char *const names[2] = { "lib-injected", "lib-spf-dmarc" };
		for (int mode = 0; mode < 2; mode++) {
			base.injected = mode == 0;
			base.dns = dns;
			run_once(&base, NMSG);          /* warm up, as above */
			uint64_t dec[5] = { 0 };
			/* Rounds alternate one and two threads; the best of each
			 * counts (a loaded machine only ever slows a round down). */
			double r1 = 0, r2 = 0;
			for (int round = 0; round < 3; round++) {
				double a = measure(&base, 1, dec), b = measure(&base, 2, dec);
				r1 = a > r1 ? a : r1;
				r2 = b > r2 ? b : r2;
			}
			uint64_t total = dec[0] + dec[1] + dec[2] + dec[3] + dec[4];
			printf("# %s decisions: accept %.1f%%, reject %.1f%%, tempfail %.1f%%, quarantine %.1f%%\n",
			       names[mode], 100.0 * (double)dec[0] / (double)total,
			       100.0 * (double)dec[1] / (double)total, 100.0 * (double)dec[2] / (double)total,
			       100.0 * (double)dec[4] / (double)total);
			/* The corpus is built so that every decision but discard
			 * happens: the rules must still be reading it. */
			if (dec[PST_ACCEPT] == 0 || dec[PST_REJECT] == 0 || dec[PST_QUARANTINE] == 0)
				die("the decisions are not the expected mix");
			printf("%s-1t %.0f msgs/s\n", names[mode], r1);
			printf("%s-1t-ns %.0f ns/msg\n", names[mode], 1e9 / r1);
			printf("%s-2t %.0f msgs/s\n", names[mode], r2);
			printf("%s-2t-ns %.0f ns/msg\n", names[mode], 2e9 / r2);
			printf("%s-1t-vs-target %.2f x\n", names[mode], r1 / (mode == 0 ? 250000.0 : 100000.0));
		}
	} else {
		fprintf(stderr, "usage: bench_lib [--once injected|spf-dmarc N]\n");
		return 2;
	}
	pst_dns_free(&dns);
	pst_policy_free(&policy);
	for (int k = 0; k < NMSG; k++)
		free(ms[k].bytes);
	return 0;
}
