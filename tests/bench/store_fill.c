/*
 * store_fill.c: fills a DMARC report store (store.h) with generated rows,
 * the input of the report benchmark (bench_report.sh). Built by make bench
 * only, never run by make check.
 *
 * usage: store_fill --store SPEC [--rows N] [--domains D] [--day YYYY-MM-DD]
 *                   [--batch B] [--seed S]
 * SPEC is "sqlite:PATH" or "postgresql://URI" ("postgres://" too). N rows
 * (default 1,000,000) over D reporting domains (default 10,000; each gets
 * at least one row when N >= D, the rest skewed towards the first domains
 * as real senders are), times spread over the UTC day (default today),
 * written through the backend's begin/insert/commit directly (no queue,
 * no writer thread) in batches of B rows (default 1,000), one transaction
 * each. The mix is deterministic for a seed: each domain publishes a
 * record (p=none, quarantine or reject, some with t=y, sp, pct, fo, one
 * domain in twenty none at all) and sends from 1 to 8 addresses of its
 * own (IPv4, some IPv6); most rows pass DMARC through SPF and DKIM, the
 * rest come from foreign addresses and fail; 0, 1 or 2 DKIM signatures
 * (the domain's own, an ESP's); the decision and the action applied
 * follow the policy, so the reasons (pst_store_row_reason) cover after-
 * queue quarantine, test mode and no rule.
 *
 * Prints "store-fill-rows N rows", "store-fill-wall S s" and
 * "store-fill-rate R rows/s" on stdout. Exit 0, 1 on a store error (its
 * reason on stderr, the batch rolled back), 2 on a usage error. Rows are
 * stack memory, nothing is kept between batches.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

#define SET(field, s) pst_store_row_set((field), sizeof(field), (s), (size_t)-1)

typedef struct fill_opts {
	const char *spec;
	unsigned long rows, domains, batch, seed;
	time_t day;                          /* 00:00:00 UTC */
} fill_opts;

static uint64_t rng_state;

static uint64_t rnd(void)                /* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned long below(unsigned long n)
{
	return n ? (unsigned long)(rnd() % n) : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: store_fill --store sqlite:PATH|postgresql://URI [--rows N] "
	        "[--domains D] [--day YYYY-MM-DD] [--batch B] [--seed S]\n");
	return 2;
}

static int parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	*out = strtoul(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

static int parse_day(const char *s, time_t *out)
{
	struct tm tm;
	int y, m, d;
	char tail;

	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

static int parse_args(int argc, char **argv, fill_opts *o)
{
	time_t t = time(NULL);

	*o = (fill_opts){ NULL, 1000000, 10000, 1000, 1, t - t % 86400 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc;
		if (strcmp(a, "--store") == 0)
			rc = v ? (o->spec = v, 0) : -1;
		else if (strcmp(a, "--rows") == 0)
			rc = parse_ulong(v, &o->rows);
		else if (strcmp(a, "--domains") == 0)
			rc = parse_ulong(v, &o->domains);
		else if (strcmp(a, "--batch") == 0)
			rc = parse_ulong(v, &o->batch);
		else if (strcmp(a, "--seed") == 0)
			rc = parse_ulong(v, &o->seed);
		else if (strcmp(a, "--day") == 0)
			rc = v ? parse_day(v, &o->day) : -1;
		else
			rc = -1;
		if (rc < 0)
			return -1;
		i++;
	}
	if (o->spec == NULL || o->domains == 0 || o->batch == 0)
		return -1;
	return 0;
}

/* The backend of spec and the target it is given (store.h's rules). */
static const pst_store_backend *backend_of(const char *spec, const char **target)
{
	if (strncmp(spec, "sqlite:", 7) == 0) {
		*target = spec + 7;
		return &pst_store_sqlite;
	}
	if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0) {
		*target = spec;
		return &pst_store_pg;
	}
	return NULL;
}

/* Which domain row number i (0-based) reports to: the first D rows one
 * each, then skewed (the square of a uniform draw favours low indexes). */
static unsigned long pick_domain(const fill_opts *o, unsigned long i)
{
	if (i < o->domains)
		return i;
	double u = (double)(rnd() >> 11) / 9007199254740992.0;
	unsigned long d = (unsigned long)(u * u * (double)o->domains);
	return d < o->domains ? d : o->domains - 1;
}

/* The record domain d publishes (deterministic in d). */
static void fill_policy(unsigned long d, const char *dom, pst_store_policy *p)
{
	static const char *const ps[] = { "none", "quarantine", "reject" };
	char rua[PST_STORE_URI_MAX];

	memset(p, 0, sizeof *p);
	p->pct = -1;
	if (d % 20 == 19)
		return;                          /* no record */
	p->found = 1;
	SET(p->p, ps[d % 3]);
	if (d % 4 == 1)
		SET(p->sp, ps[(d / 3) % 3]);
	if (d % 7 == 2)
		SET(p->adkim, "s");
	if (d % 5 == 3)
		SET(p->aspf, "s");
	if (d % 11 == 4)
		SET(p->testing, "y");
	if (d % 6 == 5)
		SET(p->fo, "1");
	if (d % 9 == 0)
		p->pct = 100;
	snprintf(rua, sizeof rua, "mailto:dmarc-reports@%s", dom);
	SET(p->rua, rua);
}

/* Address j of domain d's senders (its own), or a foreign one. */
static void fill_ip(unsigned long d, unsigned j, int foreign, char *out, size_t len)
{
	if (foreign)
		snprintf(out, len, "203.0.%lu.%lu", below(256), 1 + below(254));
	else if (j == 7)
		snprintf(out, len, "2001:db8:%lx::%x", d & 0xffff, j + 1);
	else
		snprintf(out, len, "10.%lu.%lu.%u", (d >> 8) & 0xff, d & 0xff, j + 1);
}

static void add_dkim(pst_store_row *r, const char *domain, const char *sel, const char *result,
                     const char *human)
{
	pst_store_dkim *k = &r->dkim[r->ndkim++];
	SET(k->domain, domain);
	SET(k->selector, sel);
	SET(k->result, result);
	SET(k->human, human);
}

/* The decision, the action applied and the rule for a DMARC result under
 * the policy that applied (postern lmtp applies reject as quarantine). */
static void fill_action(pst_store_row *r)
{
	int failed = strcmp(r->dmarc_result, "fail") == 0;
	const char *pol = r->dmarc_policy;

	if (failed && strcmp(pol, "reject") == 0 && below(10) < 9) {
		SET(r->decision, "reject");
		SET(r->applied, "quarantine");
		SET(r->rule, "dmarc_reject");
	} else if (failed && (strcmp(pol, "quarantine") == 0 || strcmp(pol, "reject") == 0) &&
	           below(10) < 8) {
		SET(r->decision, "quarantine");
		SET(r->applied, "quarantine");
		SET(r->rule, "dmarc_quarantine");
	} else {
		SET(r->decision, "accept");
		SET(r->applied, "accept");
	}
	SET(r->disposition, strcmp(r->applied, "accept") == 0 ? "none" : "quarantine");
	pst_store_row_reason(r);
}

static void fill_row(const fill_opts *o, unsigned long i, pst_store_row *r)
{
	char dom[PST_STORE_DOMAIN_MAX], qid[32];
	unsigned long d = pick_domain(o, i);
	unsigned nips = 1 + (unsigned)(d % 8);
	int foreign = below(100) < 18;       /* spoofed or forwarded: fails */

	memset(r, 0, sizeof *r);
	snprintf(dom, sizeof dom, "d%05lu.bench.example", d);
	snprintf(qid, sizeof qid, "F%010lX", i);
	r->time = o->day + (time_t)below(86400);
	SET(r->host, i % 3 ? "mx1.bench.example" : "mx2.bench.example");
	SET(r->queue_id, qid);
	SET(r->reporting_domain, dom);
	fill_policy(d, dom, &r->policy);
	fill_ip(d, (unsigned)below(nips), foreign, r->source_ip, sizeof r->source_ip);
	SET(r->header_from, dom);
	SET(r->envelope_from, foreign && below(2) ? "bounce.forwarder.example" : dom);
	SET(r->envelope_to, i % 5 ? "example.org" : "example.net");
	SET(r->spf_domain, r->envelope_from);
	SET(r->spf_scope, "mfrom");
	SET(r->spf_result, foreign ? (below(2) ? "fail" : "softfail") : "pass");
	r->spf_aligned = !foreign;
	unsigned long nd = below(20);
	size_t nsig = nd < 3 ? 0 : nd < 16 ? 1 : 2;
	int dkim_ok = !foreign || below(4) == 0; /* a forward keeps some signatures */
	if (nsig >= 1)
		add_dkim(r, dom, d % 2 ? "s2024" : "selector1", dkim_ok ? "pass" : "fail",
		         dkim_ok ? "" : "body hash mismatch");
	if (nsig == 2)
		add_dkim(r, "esp.bench.example", "esp", below(10) ? "pass" : "temperror", "");
	r->dkim_aligned = nsig >= 1 && dkim_ok;
	int pass = r->spf_aligned || r->dkim_aligned;
	if (r->policy.found) {
		SET(r->dmarc_result, pass ? "pass" : "fail");
		SET(r->dmarc_policy, r->policy.p);
	} else
		SET(r->dmarc_result, "none");
	fill_action(r);
}

/* One batch of n rows from row first: begin, insert each, commit; the
 * batch rolled back on a failure. */
static int write_batch(const pst_store_backend *be, void *impl, const fill_opts *o,
                       unsigned long first, unsigned long n)
{
	char err[512];
	pst_store_row row;

	if (be->begin(impl, err, sizeof err) < 0) {
		fprintf(stderr, "store_fill: begin: %s\n", err);
		return -1;
	}
	for (unsigned long i = first; i < first + n; i++) {
		fill_row(o, i, &row);
		if (be->insert(impl, &row, err, sizeof err) < 0) {
			fprintf(stderr, "store_fill: insert (row %lu): %s\n", i, err);
			be->rollback(impl);
			return -1;
		}
	}
	if (be->commit(impl, err, sizeof err) < 0) {
		fprintf(stderr, "store_fill: commit: %s\n", err);
		be->rollback(impl);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	fill_opts o;
	const char *target = NULL;
	const pst_store_backend *be;
	void *impl = NULL;
	char err[512];

	if (parse_args(argc, argv, &o) < 0)
		return usage();
	if ((be = backend_of(o.spec, &target)) == NULL) {
		fprintf(stderr, "store_fill: unknown store '%s' (sqlite:PATH or postgresql://URI)\n", o.spec);
		return 2;
	}
	rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)o.seed;
	if (be->open(target, &impl, err, sizeof err) < 0) {
		fprintf(stderr, "store_fill: %s: %s\n", o.spec, err);
		return 1;
	}
	double t0 = now();
	int rc = 0;
	for (unsigned long done = 0; done < o.rows && rc == 0; ) {
		unsigned long n = o.rows - done < o.batch ? o.rows - done : o.batch;
		rc = write_batch(be, impl, &o, done, n);
		done += n;
	}
	double wall = now() - t0;
	be->close(impl);
	if (rc < 0)
		return 1;
	printf("store-fill-rows %lu rows\n", o.rows);
	printf("store-fill-wall %.2f s\n", wall);
	printf("store-fill-rate %.0f rows/s\n", wall > 0 ? (double)o.rows / wall : 0.0);
	return 0;
}
