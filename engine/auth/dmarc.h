/*
 * dmarc.h: DMARC (RFC 7489) for one message.
 *
 * The record is looked up by us (_dmarc.<From domain>, then at the
 * organizational domain) through the DNS layer: a SERVFAIL or timeout is
 * temperror, never a silent fallback; two DMARC records mean none. The
 * record is parsed by libopendmarc (opendmarc_policy_store_dmarc) and its
 * policy fields read back; alignment and the organizational domain are
 * ours (psl.h), because libopendmarc 1.4.2 gets them wrong. pct sampling
 * is ours too: deterministic from a seed when one is given.
 */
#ifndef PST_DMARC_H
#define PST_DMARC_H

#include <stddef.h>
#include <stdint.h>

#include "auth/psl.h"
#include "dns/resolver.h"
#include "util/authtypes.h"
#include "util/arena.h"
#include "util/limits.h"

/* Records over PST_MAX_DMARC_RECORD_BYTES (util/limits.h) are permerror:
 * libopendmarc copies into fixed buffers. */

typedef struct pst_dmarc_input {
	const char *from_domain;    /* one author domain (msg/author.h), normalised;
	                             * several are evaluated one call each. NULL when
	                             * there is none: the result is then none, reason
	                             * "no author domain" */
	pst_auth_result spf;        /* MAIL FROM SPF result and its domain */
	const char *spf_domain;
	const char *const *dkim_pass_domains; /* d= of passing signatures */
	size_t ndkim_pass;
	int has_seed;               /* pct sampling: a fixed seed (tests) */
	uint64_t seed;
} pst_dmarc_input;

typedef struct pst_dmarc_result {
	pst_auth_result result;     /* pass fail none temperror permerror */
	const char *domain;         /* the From domain evaluated, or NULL */
	const char *record_domain;  /* where the record was found, or NULL */
	pst_dmarc_policy published; /* p (or sp/np as applies), before pct */
	pst_dmarc_policy policy;    /* the policy that applies after pct sampling */
	int spf_aligned, dkim_aligned; /* under the record's aspf/adkim; relaxed
	                             * when no record applies (still informative) */
	int strict_spf, strict_dkim; /* aspf=s, adkim=s */
	unsigned pct;
	const char *aligned_dkim_domain; /* the passing signature that aligned, or NULL */
	const char *reason;         /* "SPF aligned", "neither SPF nor DKIM aligned",
	                             * "two DMARC records", "SERVFAIL on _dmarc.example.com" */
} pst_dmarc_result;

/* Evaluate. Strings in *out come from arena. 0, or -1 on ENOMEM (or
 * EINVAL when dns, psl, in, arena or out is NULL). The choices the RFC
 * leaves open (permerror for a refused record, np support, pct applied to
 * failing messages only, the seeded draw) are documented in dmarc.c. */
int pst_dmarc_evaluate(pst_dns_session *dns, const pst_psl *psl, const pst_dmarc_input *in,
                       pst_arena *arena, pst_dmarc_result *out);

#endif
