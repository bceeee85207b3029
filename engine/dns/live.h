/*
 * live.h: the live DNS backend of the resolver interface (resolver.h),
 * over libunbound.
 *
 * One libunbound context per resolver, shared by every thread: it caches
 * answers for their TTLs and negative answers (NXDOMAIN, NODATA) for their
 * SOA minimum, so the second question for a name in any thread is answered
 * without the network. Each question is bounded by the session's per
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

#include "dns/resolver.h"

typedef struct pst_live_options {
	/* "ADDR[@PORT]" of a server to send every question to with RD set: a
	 * recursive resolver, or an authoritative server for test zones (NSD
	 * answers those for its zones). NULL: the servers of resolv_conf. */
	const char *forward;
	/* resolv.conf to read when neither is set; NULL: /etc/resolv.conf. */
	const char *resolv_conf;
} pst_live_options;

/* A resolver over live DNS. opts may be NULL (the system's resolv.conf).
 * 0 with *out set, or -1 with a message in err (errlen bytes). */
int pst_resolver_new_live(const pst_live_options *opts, pst_resolver **out, char *err,
                          size_t errlen);

#endif
