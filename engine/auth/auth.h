/*
 * auth.h: the auth facts of one message (spf*, helo.spf, dkim*, dmarc*,
 * authres.*), behind one interface, computed lazily: a policy that never
 * reads dkim does not pay for DKIM verification.
 *
 * Results come from what the caller supplied (pst_auth_given) or are
 * computed. Until the SPF/DKIM/DMARC adapters land every computed result is
 * "none": no DNS is asked and nothing is verified.
 */
#ifndef PST_AUTH_H
#define PST_AUTH_H

#include "lang/facts.h"
#include "util/arena.h"

struct pst_auth_given;

typedef struct pst_auth {
	const struct pst_auth_given *given;  /* borrowed from the caller, or NULL */
	unsigned computed;                   /* bit per group: SPF, HELO, DKIM, DMARC, AUTHRES */
	pst_auth_result spf, helo_spf, dkim, dmarc;
	const char *spf_domain;
	int spf_aligned;
	const char **dkim_domains;
	size_t ndkim_domains;
	int dkim_aligned;
	pst_dmarc_policy dmarc_policy;
	const char *dmarc_domain;
	pst_auth_result authres_spf, authres_dkim, authres_dmarc;
	int authres_known;                   /* a trusted A-R field was seen */
} pst_auth;

struct pst_message;

/* Compute (once) and return auth fact f for message m. Strings are borrowed
 * from m's arena. 0, or -1 on ENOMEM. */
int pst_auth_fact(struct pst_message *m, pst_fact f, pst_value *out);

/* Map an RFC 8601 result word to the enum; -1 when it is not one. */
int pst_auth_result_parse(const char *word);
/* Likewise for "none", "quarantine", "reject". */
int pst_dmarc_policy_parse(const char *word);

#endif
