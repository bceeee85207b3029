/*
 * dmarc.h: DMARC (RFC 9989) for one message.
 *
 * Everything is ours, over the DNS layer: the DNS Tree Walk (at most 8
 * questions a walk) finds the record and the organizational domains
 * (psd=y and psd=n; no Public Suffix List), our parser reads the record
 * (p, sp, np, psd, t, adkim, aspf; unknown tags, pct, rf and ri among
 * them, are ignored), and alignment compares organizational domains
 * found by walks. A SERVFAIL or timeout is temperror, never a silent
 * fallback; several DMARC records at one name are discarded. t=y moves a
 * failing message's policy one step down. dmarc.c gives the details.
 */
#ifndef PST_DMARC_H
#define PST_DMARC_H

#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"
#include "util/authtypes.h"
#include "util/arena.h"
#include "util/limits.h"

/* Records over PST_MAX_DMARC_RECORD_BYTES (util/limits.h) are permerror. */

typedef struct pst_dmarc_input {
	const char *from_domain;    /* one author domain (msg/author.h), normalised;
	                             * several are evaluated one call each. NULL when
	                             * there is none: the result is then none, reason
	                             * "no author domain" */
	pst_auth_result spf;        /* MAIL FROM SPF result and its domain */
	const char *spf_domain;
	const char *const *dkim_pass_domains; /* d= of passing signatures */
	size_t ndkim_pass;
} pst_dmarc_input;

typedef struct pst_dmarc_result {
	pst_auth_result result;     /* pass fail none temperror permerror */
	const char *domain;         /* the From domain evaluated, or NULL */
	const char *record_domain;  /* where the record was found, or NULL */
	const char *record;         /* that record's text as published (the
	                             * TXT strings joined), or NULL */
	const char *org_domain;     /* the author domain's organizational domain
	                             * by tree walk, or NULL when the walk failed */
	pst_dmarc_policy published; /* p (or sp/np as applies), as published */
	pst_dmarc_policy policy;    /* the policy that applies: published, one
	                             * step down under t=y for a failure */
	int spf_aligned, dkim_aligned; /* under the record's aspf/adkim; relaxed
	                             * when no record applies (still informative) */
	int strict_spf, strict_dkim; /* aspf=s, adkim=s */
	int testing;                /* the record says t=y */
	char psd;                   /* the record's psd: 'y', 'n', 'u' (also
	                             * when absent or invalid); 0 without one */
	const char *aligned_dkim_domain; /* the passing signature that aligned, or NULL */
	const char *reason;         /* "SPF aligned", "neither SPF nor DKIM aligned",
	                             * "two DMARC records", "SERVFAIL on _dmarc.example.com" */
} pst_dmarc_result;

/* Evaluate. Strings in *out come from arena (or are static); the caller
 * owns nothing. 0, or -1 on ENOMEM (or EINVAL when dns, in, arena or out
 * is NULL). The choices the RFC leaves open (permerror for a record that
 * allows no DMARC processing, temperror when a walk fails) are documented
 * in dmarc.c. */
int pst_dmarc_evaluate(pst_dns_session *dns, const pst_dmarc_input *in, pst_arena *arena,
                       pst_dmarc_result *out);

/* The organizational domain of domain (RFC 9989 4.10.2) by the same DNS
 * Tree Walk as evaluation (at most 8 questions), for other callers: the
 * external destination check of aggregate reports (RFC 9990 section 4).
 * domain is normalised first (A-labels, lower case); *org is in arena.
 * 0 with *org; 1 when the walk was unsure (a SERVFAIL or TIMEOUT: *org
 * NULL, temperror); -1 on ENOMEM, or EINVAL when an argument is NULL or
 * domain is not a valid domain name (*org NULL). */
int pst_dmarc_org_domain(pst_dns_session *dns, pst_arena *arena, const char *domain,
                         const char **org);

#endif
