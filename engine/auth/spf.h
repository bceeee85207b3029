/*
 * spf.h: SPF (RFC 7208) through libspf2, over our DNS layer.
 *
 * libspf2 evaluates the records; this adapter feeds it answers from a
 * pst_dns_session through a custom SPF_dns_server_t and enforces what the
 * library gets wrong (spf.c lists them): the RFC 7208 4.6.4 limits per
 * check_host() evaluation (10 DNS-querying terms with include and redirect
 * counted across the whole chain, 2 void look-ups, 10 MX names per mx and
 * 10 PTR names per ptr: over any of them is permerror), a SERVFAIL or
 * timeout on the top-level record is temperror, macros are expanded as
 * RFC 7208 section 7 says by our own code (spf_macro.h), and no input
 * ever reaches libspf2 that makes it abort: arguments are validated
 * first, an unknown or loopback client IP gives none without a look-up.
 */
#ifndef PST_SPF_H
#define PST_SPF_H

#include "dns/resolver.h"
#include "util/authtypes.h"
#include "util/arena.h"
#include "util/ip.h"
#include "util/limits.h"

/* The shared part: an SPF_server_t with our DNS layer. Immutable once
 * made; threads may share it (each check uses its own request and the
 * calling thread's session). */
typedef struct pst_spf pst_spf;

/* The RFC 7208 4.6.4 limits per check_host() evaluation are
 * PST_SPF_MAX_* in util/limits.h. */

int pst_spf_new(pst_spf **out, char *err, size_t errlen);
void pst_spf_free(pst_spf **s);

typedef struct pst_spf_result {
	pst_auth_result result;
	const char *domain;        /* the domain checked (MAIL FROM's, or HELO's), or NULL */
	const char *reason;        /* why, for traces and A-R comments: "matched ip4:...",
	                            * "10 DNS terms exceeded", "SERVFAIL on TXT example.com" */
	unsigned dns_terms;        /* DNS-querying terms counted */
	unsigned void_lookups;
} pst_spf_result;

/* check_host() for the MAIL FROM identity: mail_from ("" for the null
 * sender: then postmaster@helo is checked, RFC 7208 2.4), client ip (family
 * 0: unknown → none), helo (may be NULL). Strings in *out come from arena.
 * 0, or -1 on ENOMEM. */
int pst_spf_check_mailfrom(const pst_spf *s, pst_dns_session *dns, const pst_ip *ip,
                           const char *helo, const char *mail_from, pst_arena *arena,
                           pst_spf_result *out);

/* check_host() for the HELO identity (RFC 7208 2.3), with its own budget. */
int pst_spf_check_helo(const pst_spf *s, pst_dns_session *dns, const pst_ip *ip,
                       const char *helo, pst_arena *arena, pst_spf_result *out);

#endif
