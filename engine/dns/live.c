/*
 * live.c: live DNS through libunbound behind the resolver interface
 * (contract: live.h, resolver.h).
 *
 * Why libunbound rather than a cache of our own over res_nquery: it is a
 * full caching resolver in a library (TTLs, negative caching per RFC 2308,
 * CNAME chasing, retries over servers), thread-safe with one context
 * shared by all threads, and asynchronous with cancel, which is what a per
 * question timeout needs. res_nquery blocks for the resolver's own timeout
 * and retries, keeps per-thread state, and folds NXDOMAIN into the same
 * errno as SERVFAIL unless one parses replies by hand.
 *
 * Waiting: every question is sent with ub_resolve_async. The threads
 * waiting for answers take turns as the one that polls ub_fd and calls
 * ub_process (under the resolver's lock); results are handed to their
 * owners through a condition variable. A question whose time runs out is
 * cancelled under the same lock, so its callback never runs afterwards.
 * Records are decoded from wire rdata and copied into the session's arena.
 *
 * The answer cache (dns/cache.h) is asked first, without the lock: a hit
 * is copied into the session's arena and never reaches libunbound. A miss
 * is asked as above and its answer kept: NOERROR for libunbound's TTL
 * (the lowest of the RRset, already counted down by its cache), NXDOMAIN
 * and NODATA for the SOA of the reply's authority section (libunbound
 * keeps it in result->answer_packet). Two threads missing the same name at
 * once both ask; the later answer replaces the earlier.
 */
#include "dns/live.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>
#include <arpa/nameser.h>

#include "util/limits.h"

typedef struct pst_live {
	struct ub_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t done;          /* broadcast after every ub_process */
	int polling;                  /* a thread is polling ub_fd */
	pst_dns_cache *cache;         /* NULL: no_cache */
} pst_live;

/* One question in flight; lives on the asking thread's stack. */
typedef struct pst_live_q {
	int finished;
	int err;
	struct ub_result *result;
} pst_live_q;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Called inside ub_process, with the lock held by the polling thread. */
static void live_callback(void *data, int err, struct ub_result *result)
{
	pst_live_q *q = data;
	q->err = err;
	q->result = result;
	q->finished = 1;
}

static void deadline_ts(uint64_t ms_from_now, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ms_from_now / 1000);
	ts->tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait until q is finished or the deadline passes; the lock is held on
 * entry and on return. */
static void live_wait(pst_live *l, pst_live_q *q, uint64_t deadline)
{
	while (!q->finished) {
		uint64_t t = now_ms();
		if (t >= deadline)
			return;
		uint64_t left = deadline - t;
		if (l->polling) {
			struct timespec ts;
			deadline_ts(left, &ts);
			pthread_cond_timedwait(&l->done, &l->lock, &ts);
			continue;
		}
		l->polling = 1;
		pthread_mutex_unlock(&l->lock);
		struct pollfd pfd = { ub_fd(l->ctx), POLLIN, 0 };
		int n = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		pthread_mutex_lock(&l->lock);
		l->polling = 0;
		if (n > 0)
			(void)ub_process(l->ctx);
		pthread_cond_broadcast(&l->done);
	}
}

/* ---- Decoding rdata ------------------------------------------------------ */

/* A wire-format name at p (n bytes, no compression in rdata from
 * libunbound) as lower-case text without the trailing dot. *used gets its
 * length on the wire. NULL when malformed or on ENOMEM. */
static char *wire_name(pst_arena *a, const unsigned char *p, size_t n, size_t *used)
{
	char buf[PST_MAX_DOMAIN_BYTES + 2];
	size_t o = 0, i = 0;
	for (;;) {
		if (i >= n)
			return NULL;
		size_t len = p[i++];
		if (len == 0)
			break;
		if (len > 63 || i + len > n || o + len + 1 > sizeof buf - 1)
			return NULL;
		if (o > 0)
			buf[o++] = '.';
		for (size_t k = 0; k < len; k++) {
			unsigned char c = p[i + k];
			buf[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		i += len;
	}
	buf[o] = '\0';
	if (used)
		*used = i;
	return pst_arena_strdup(a, buf);
}

static void lower_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n > 0 && src[n - 1] == '.')
		n--;
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
	dst[n] = '\0';
}

/* One rdata into *rr. 0, 1 to skip it (malformed), -1 on ENOMEM. */
static int decode_rdata(pst_arena *a, int type, const unsigned char *p, size_t n,
                        pst_dns_rr *rr)
{
	switch (type) {
	case ns_t_a:
		if (n != 4)
			return 1;
		rr->addr.family = 4;
		memcpy(rr->addr.bytes, p, 4);
		return 0;
	case ns_t_aaaa: {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (n != 16)
			return 1;
		if (memcmp(p, mapped, 12) == 0) {
			rr->addr.family = 4;
			memcpy(rr->addr.bytes, p + 12, 4);
		} else {
			rr->addr.family = 6;
			memcpy(rr->addr.bytes, p, 16);
		}
		return 0;
	}
	case ns_t_txt:
	case ns_t_spf: {
		char *t = pst_arena_alloc(a, n + 1);
		if (t == NULL)
			return -1;
		size_t o = 0;
		for (size_t i = 0; i < n;) {
			size_t len = p[i++];
			if (i + len > n)
				return 1;
			memcpy(t + o, p + i, len);
			o += len;
			i += len;
		}
		t[o] = '\0';
		rr->text = t;
		rr->text_len = o;
		return 0;
	}
	case ns_t_mx:
		if (n < 3)
			return 1;
		rr->pref = (uint16_t)(p[0] << 8 | p[1]);
		rr->target = wire_name(a, p + 2, n - 2, NULL);
		return rr->target ? 0 : 1;
	case ns_t_ptr:
	case ns_t_cname:
	case ns_t_ns:
		rr->target = wire_name(a, p, n, NULL);
		return rr->target ? 0 : 1;
	default:
		return 1;
	}
}

/* Fill ans from a libunbound result. */
static pst_dns_status decode_result(pst_arena *a, const char *qname, int rrtype,
                                    const struct ub_result *res, pst_dns_answer *ans)
{
	lower_copy(ans->name, sizeof ans->name, res->canonname ? res->canonname : qname);
	if (res->rcode == 3 || res->nxdomain)
		return ans->status = PST_DNS_NXDOMAIN;
	if (res->rcode != 0)
		return ans->status = PST_DNS_SERVFAIL;
	if (!res->havedata)
		return ans->status = PST_DNS_NODATA;
	size_t n = 0;
	while (res->data[n] != NULL)
		n++;
	pst_dns_rr *rrs = pst_arena_calloc(a, n ? n : 1, sizeof *rrs);
	const char *owner = pst_arena_strdup(a, ans->name);
	if (rrs == NULL || owner == NULL)
		return ans->status = PST_DNS_SERVFAIL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		pst_dns_rr *rr = &rrs[k];
		rr->owner = owner;
		rr->type = rrtype;
		rr->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
		int r = decode_rdata(a, rrtype, (const unsigned char *)res->data[i],
		                     (size_t)res->len[i], rr);
		if (r < 0)
			return ans->status = PST_DNS_SERVFAIL;
		if (r == 0)
			k++;
	}
	ans->rrs = k ? rrs : NULL;
	ans->count = k;
	return ans->status = k ? PST_DNS_NOERROR : PST_DNS_NODATA;
}

/* The negative TTL of a reply (RFC 2308 section 5): the lower of the
 * authority SOA's TTL and its MINIMUM field; PST_DNS_CACHE_NO_TTL when the
 * reply has no SOA or cannot be parsed. */
static uint32_t negative_ttl(const struct ub_result *res)
{
	ns_msg msg;
	if (res->answer_packet == NULL || res->answer_len <= 0 ||
	    ns_initparse(res->answer_packet, res->answer_len, &msg) < 0)
		return PST_DNS_CACHE_NO_TTL;
	for (int i = 0; i < ns_msg_count(msg, ns_s_ns); i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_ns, i, &rr) < 0)
			break;
		/* SOA RDATA ends with five 32-bit fields, MINIMUM last, after two
		 * names of at least one octet each. */
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_rdlen(rr) < 22)
			continue;
		uint32_t minimum = ns_get32(ns_rr_rdata(rr) + ns_rr_rdlen(rr) - 4);
		uint32_t ttl = ns_rr_ttl(rr);
		return ttl < minimum ? ttl : minimum;
	}
	return PST_DNS_CACHE_NO_TTL;
}

/* ---- The backend ----------------------------------------------------------- */

static pst_dns_status live_query(void *impl, pst_arena *arena, const char *name, int rrtype,
                                 unsigned timeout_ms, pst_dns_answer *ans)
{
	pst_live *l = impl;
	memset(ans, 0, sizeof *ans);
	ans->rrtype = rrtype;
	lower_copy(ans->name, sizeof ans->name, name);
	size_t n = strlen(name);
	if (n == 0 || n > PST_MAX_DOMAIN_BYTES + 1)
		return ans->status = PST_DNS_NXDOMAIN;
	if (l->cache) {
		int hit = pst_dns_cache_get(l->cache, arena, name, rrtype, ans);
		if (hit > 0)
			return ans->status;
		if (hit < 0)               /* the arena is full: as decode_result does */
			return ans->status = PST_DNS_SERVFAIL;
	}

	pst_live_q q = { 0, 0, NULL };
	int id = 0;
	uint64_t deadline = now_ms() + timeout_ms;
	pthread_mutex_lock(&l->lock);
	int rc = ub_resolve_async(l->ctx, name, rrtype, 1 /* IN */, &q, live_callback, &id);
	if (rc != 0) {
		pthread_mutex_unlock(&l->lock);
		return ans->status = PST_DNS_SERVFAIL;
	}
	live_wait(l, &q, deadline);
	if (!q.finished) {
		(void)ub_cancel(l->ctx, id);
		pthread_mutex_unlock(&l->lock);
		return ans->status = PST_DNS_TIMEOUT;
	}
	pthread_mutex_unlock(&l->lock);
	pst_dns_status st;
	if (q.err != 0 || q.result == NULL)
		st = ans->status = PST_DNS_SERVFAIL;
	else
		st = decode_result(arena, name, rrtype, q.result, ans);
	if (l->cache && (st == PST_DNS_NOERROR || st == PST_DNS_NXDOMAIN || st == PST_DNS_NODATA)) {
		uint32_t ttl = st == PST_DNS_NOERROR ? (q.result->ttl > 0 ? (uint32_t)q.result->ttl : 0)
		                                     : negative_ttl(q.result);
		/* Not kept on ENOMEM: the answer is still good. */
		(void)pst_dns_cache_put(l->cache, name, rrtype, ans, ttl);
	}
	if (q.result)
		ub_resolve_free(q.result);
	return st;
}

static void live_free(void *impl)
{
	pst_live *l = impl;
	if (l == NULL)
		return;
	if (l->ctx)
		ub_ctx_delete(l->ctx);
	pst_dns_cache_free(&l->cache);
	pthread_cond_destroy(&l->done);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static const pst_resolver_ops live_ops = { live_query, live_free, "live" };

int pst_resolver_live_cache_stats(const pst_resolver *r, pst_dns_cache_stats *out)
{
	pst_live *l = pst_resolver_impl(r, &live_ops);
	if (l == NULL || l->cache == NULL)
		return -1;
	pst_dns_cache_get_stats(l->cache, out);
	return 0;
}

static int fail(char *err, size_t errlen, const char *what, int rc)
{
	if (err && errlen)
		snprintf(err, errlen, "libunbound: %s: %s", what, ub_strerror(rc));
	return -1;
}

static int live_configure(struct ub_ctx *ctx, const pst_live_options *o, char *err,
                          size_t errlen)
{
	int rc;
	/* Local servers (tests, a resolver on loopback) may be asked. */
	if ((rc = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) != 0)
		return fail(err, errlen, "do-not-query-localhost", rc);
	if ((rc = ub_ctx_async(ctx, 1)) != 0)
		return fail(err, errlen, "async", rc);
	if (o && o->forward) {
		if ((rc = ub_ctx_set_fwd(ctx, o->forward)) != 0)
			return fail(err, errlen, o->forward, rc);
		return 0;
	}
	if ((rc = ub_ctx_resolvconf(ctx, o ? o->resolv_conf : NULL)) != 0)
		return fail(err, errlen, "resolv.conf", rc);
	return 0;
}

int pst_resolver_new_live(const pst_live_options *opts, pst_resolver **out, char *err,
                          size_t errlen)
{
	*out = NULL;
	pst_live *l = calloc(1, sizeof *l);
	if (l == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		if (err && errlen)
			snprintf(err, errlen, "cannot create a lock");
		return -1;
	}
	if (pthread_cond_init(&l->done, NULL) != 0) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		if (err && errlen)
			snprintf(err, errlen, "cannot create a condition variable");
		return -1;
	}
	l->ctx = ub_ctx_create();
	if (l->ctx == NULL) {
		live_free(l);
		if (err && errlen)
			snprintf(err, errlen, "libunbound: cannot create a context");
		return -1;
	}
	if (!(opts && opts->no_cache)) {
		pst_dns_cache_options co = { .max_entries = opts ? opts->cache_entries : 0 };
		if (pst_dns_cache_new(&co, &l->cache) < 0) {
			live_free(l);
			if (err && errlen)
				snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (live_configure(l->ctx, opts, err, errlen) < 0) {
		live_free(l);
		return -1;
	}
	if (pst_resolver_new(&live_ops, l, out) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- The process-wide live resolver ------------------------------------- */

static pst_resolver *live;
static char live_error[200];
static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static int live_made;           /* set (atomically) once make_live has run */

/* POSTERN_DNS_SERVER=ADDR[@PORT] sends every live question to that server
 * instead of resolv.conf's: a local resolver, or an authoritative server
 * for test zones (the benchmarks point it at their NSD). Unset or empty:
 * resolv.conf. POSTERN_DNS_CACHE=N sizes the answer cache in front of
 * libunbound (N answers, 0 turns it off; unset, empty or not a number: the
 * default, PST_DNS_CACHE_DEFAULT_ENTRIES). Both are read once, when the
 * live resolver is made. */
static void make_live(void)
{
	char err[160] = "";
	const char *server = getenv("POSTERN_DNS_SERVER");
	pst_live_options o = { .forward = server && *server ? server : NULL, .resolv_conf = NULL };
	const char *cache = getenv("POSTERN_DNS_CACHE");
	if (cache && *cache) {
		char *end = NULL;
		errno = 0;
		unsigned long n = strtoul(cache, &end, 10);
		if (errno == 0 && end && *end == '\0' && cache[0] != '-' && n <= 10000000ul) {
			o.no_cache = n == 0;
			o.cache_entries = (size_t)n;
		}
	}
	if (pst_resolver_new_live(&o, &live, err, sizeof err) < 0)
		snprintf(live_error, sizeof live_error, "live DNS: %s", err);
	__atomic_store_n(&live_made, 1, __ATOMIC_RELEASE);
}

const pst_resolver *pst_resolver_live_shared(const char **why)
{
	pthread_once(&live_once, make_live);
	if (live == NULL && why)
		*why = live_error;
	return live;
}

int pst_resolver_live_shared_cache_stats(pst_dns_cache_stats *out)
{
	if (!__atomic_load_n(&live_made, __ATOMIC_ACQUIRE) || live == NULL)
		return -1;
	return pst_resolver_live_cache_stats(live, out);
}
