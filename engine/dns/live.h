/*
 * live.h: the live DNS backend of the resolver interface (resolver.h),
 * over libunbound.
 *
 * One libunbound context per resolver, shared by every thread: it caches
 * answers for their TTLs and negative answers (NXDOMAIN, NODATA) for their
 * SOA minimum, so the second question for a name in any thread is answered
 * without the network. In front of it sits our own answer cache
 * (dns/cache.h), also shared by every thread: a question it answers costs
 * no round trip to libunbound's worker thread (two socket writes, two
 * reads and a poll per question), which was most of the CPU of a message
 * whose answers were all in libunbound's cache. Positive answers are kept
 * for their TTL, negative ones for the lower of the SOA's TTL and MINIMUM
 * (RFC 2308; not kept without a SOA), both capped; failures never. Each question is bounded by the session's per
 * question timeout: it is asked asynchronously and cancelled when the time
 * runs out (PST_DNS_TIMEOUT). No DNSSEC trust anchor is configured.
 * CNAMEs are followed by libunbound: ans->name is the canonical name and
 * ans->chain stays empty (libunbound reports only the final name).
 * Reserved reverse ranges (RFC 6303: 10/8, 192.168/16, the documentation
 * nets, ...) are answered from libunbound's built-in local zones.
 */
#ifndef PST_DNS_LIVE_H
#define PST_DNS_LIVE_H

#include <stddef.h>

#include "dns/cache.h"
#include "dns/resolver.h"

typedef struct pst_live_options {
	/* "ADDR[@PORT]" of a server to send every question to with RD set: a
	 * recursive resolver, or an authoritative server for test zones (NSD
	 * answers those for its zones). NULL: the servers of resolv_conf. */
	const char *forward;
	/* resolv.conf to read when neither is set; NULL: /etc/resolv.conf. */
	const char *resolv_conf;
	/* Our answer cache: no_cache set turns it off (every question goes to
	 * libunbound); otherwise it holds at most cache_entries answers (0:
	 * PST_DNS_CACHE_DEFAULT_ENTRIES) in PST_DNS_CACHE_DEFAULT_BYTES. */
	int no_cache;
	size_t cache_entries;
} pst_live_options;

/* A resolver over live DNS. opts may be NULL (the system's resolv.conf).
 * 0 with *out set, or -1 with a message in err (errlen bytes). */
int pst_resolver_new_live(const pst_live_options *opts, pst_resolver **out, char *err,
                          size_t errlen);

/* The answer cache's counters of a live resolver: 0 with *out filled, or
 * -1 when r is not a live resolver or runs without a cache. */
/* The process-wide live resolver, made on the first call (pthread_once)
 * and kept until exit: libunbound over /etc/resolv.conf, or over the
 * server POSTERN_DNS_SERVER names ("ADDR[@PORT]"), with the answer cache
 * POSTERN_DNS_CACHE sizes (N answers, 0: off). NULL when it cannot be
 * made, with the reason in *why (static; why may be NULL). Borrowed. */
const pst_resolver *pst_resolver_live_shared(const char **why);

int pst_resolver_live_cache_stats(const pst_resolver *r, pst_dns_cache_stats *out);

/* The answer cache's counters of the process-wide live resolver, without
 * making it: 0 with *out filled, or -1 when it has not been made (no live
 * question yet), could not be made, or runs without a cache. Thread-safe. */
int pst_resolver_live_shared_cache_stats(pst_dns_cache_stats *out);

#endif
