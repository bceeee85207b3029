/*
 * cache.h: a bounded, thread-safe cache of DNS answers, in front of a
 * resolver backend (live DNS: dns/live.c).
 *
 * Entries are keyed by (name, type); the name is compared without regard
 * to ASCII case and without a trailing dot. What is kept:
 *   - NOERROR answers, for the TTL the caller gives (capped at max_ttl);
 *   - NXDOMAIN and NODATA answers, for the negative TTL the caller gives
 *     (RFC 2308: the SOA's TTL or its MINIMUM, the lower; capped at
 *     max_neg_ttl). The caller passes PST_DNS_CACHE_NO_TTL when the answer
 *     carried no SOA: such an answer is not kept (RFC 2308 section 5);
 *   - SERVFAIL and TIMEOUT never: the next question asks again.
 * A TTL of 0 is not kept either.
 *
 * The cache is bounded by entries and by bytes; when either bound would be
 * passed the least recently used entries are evicted. An entry bigger than
 * a quarter of the byte bound is not kept. Expired entries are dropped when
 * they are met. One lock guards the whole cache: a hit is a hash, a
 * compare and one copy, so it is held briefly.
 *
 * The cache only saves the round trip to the backend. It does not change
 * what is counted above it: pst_dns_session counts a cached answer as a
 * question (dns-max-questions), and SPF's RFC 7208 limits count terms, not
 * network traffic.
 */
#ifndef PST_DNS_CACHE_H
#define PST_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "util/arena.h"
#include "util/limits.h"

typedef struct pst_dns_cache pst_dns_cache;

/* The fields of pst_dns_cache_options left 0 take PST_DNS_CACHE_DEFAULT_*
 * (util/limits.h). */
/* "This negative answer carried no SOA": not cached. */
#define PST_DNS_CACHE_NO_TTL UINT32_MAX

typedef struct pst_dns_cache_options {
	size_t max_entries;           /* 0: PST_DNS_CACHE_DEFAULT_ENTRIES */
	size_t max_bytes;             /* 0: PST_DNS_CACHE_DEFAULT_BYTES */
	uint32_t max_ttl;             /* 0: PST_DNS_CACHE_DEFAULT_MAX_TTL */
	uint32_t max_neg_ttl;         /* 0: PST_DNS_CACHE_DEFAULT_NEG_TTL */
	/* Seconds on a clock that never goes back. NULL: CLOCK_MONOTONIC.
	 * Tests pass their own to show expiry without sleeping. */
	uint64_t (*now)(void *arg);
	void *now_arg;
} pst_dns_cache_options;

typedef struct pst_dns_cache_stats {
	uint64_t hits, misses;        /* pst_dns_cache_get outcomes */
	uint64_t stored;              /* answers kept by pst_dns_cache_put */
	uint64_t evicted;             /* entries dropped for room */
	uint64_t expired;             /* entries dropped because their TTL ran out */
	size_t entries, bytes;        /* held now */
} pst_dns_cache_stats;

/* A new empty cache; opts may be NULL (every default). 0 with *out set
 * (the caller owns it), or -1 on ENOMEM. */
int pst_dns_cache_new(const pst_dns_cache_options *opts, pst_dns_cache **out);
/* Free the cache and every entry; *c becomes NULL. NULL-safe. Not while
 * another thread uses it. */
void pst_dns_cache_free(pst_dns_cache **c);

/* The cached answer to (name, rrtype), if one is held and fresh: 1 with
 * *ans filled, its records (and their strings) copied into arena, each
 * record's ttl the seconds it has left. 0 when none is held (a miss), -1
 * when arena has no room (ENOMEM; *ans is then unspecified). */
int pst_dns_cache_get(pst_dns_cache *c, pst_arena *arena, const char *name, int rrtype,
                      pst_dns_answer *ans);

/* Keep ans as the answer to (name, rrtype) for ttl seconds (see the rules
 * at the top: capped, negative answers need a SOA TTL, SERVFAIL, TIMEOUT
 * and TTL 0 are never kept). ans is copied; the caller keeps it. Replaces
 * an entry for the same key. 1 if kept, 0 if not by the rules, -1 on
 * ENOMEM (the cache stays as it was). */
int pst_dns_cache_put(pst_dns_cache *c, const char *name, int rrtype, const pst_dns_answer *ans,
                      uint32_t ttl);

/* The counters so far. */
void pst_dns_cache_get_stats(pst_dns_cache *c, pst_dns_cache_stats *out);

#endif
