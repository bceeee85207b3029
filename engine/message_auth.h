/*
 * message_auth.h: the auth facts of one message (spf*, helo.spf, dkim*, dmarc*,
 * authres.*), behind one interface, computed lazily: a policy that never
 * reads dkim does not pay for DKIM verification, and one that reads no
 * auth fact (with Authentication-Results off) asks no DNS question.
 *
 * Results come from what the caller supplied (pst_auth_given) or are
 * computed by the adapters: SPF (spf.h), DKIM (dkim.h), DMARC (dmarc.h,
 * RFC 9989 with alignment by DNS tree walk), and the Authentication-Results fields of
 * trusted upstream authserv-ids (authres.h). Every DNS question goes
 * through the message's pst_dns_session.
 */
#ifndef PST_MESSAGE_AUTH_H
#define PST_MESSAGE_AUTH_H

#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "lang/facts.h"
#include "util/arena.h"
#include "util/buf.h"

struct pst_auth_given;

typedef struct pst_auth {
	const struct pst_auth_given *given;  /* borrowed from the caller, or NULL */
	unsigned computed;                   /* bit per group: SPF, HELO, DKIM, DMARC, AUTHRES, ALIGN */
	pst_auth_result spf, helo_spf, dkim, dmarc;
	const char *spf_domain;
	const char *spf_reason;
	const char *helo_domain;
	int spf_aligned;
	const char **dkim_domains;           /* domains of passing signatures */
	size_t ndkim_domains;
	int dkim_aligned;
	pst_dkim_result dkim_sigs;           /* per signature, when verified by us */
	int dkim_verified;                   /* dkim_sigs is filled */
	const char *dkim_unsigned_header;    /* see dkim_uncovered in auth.c; NULL: none */
	int dkim_unsigned_body;
	int dkim_unsigned_body_known;        /* verified by us (given results say nothing) */
	pst_dmarc_policy dmarc_policy;
	const char *dmarc_domain;
	pst_dmarc_result dmarc_result;       /* when evaluated by us */
	int dmarc_evaluated;
	pst_auth_result authres_spf, authres_dkim, authres_dmarc;
	int authres_known;                   /* a trusted A-R field was seen */
	unsigned authres_unread;             /* bit per authres.* fact (spf 1, dkim 2,
	                                      * dmarc 4) that field left unreadable:
	                                      * the fact is unknown */
	const char **warnings;               /* library trouble, for the report */
	size_t nwarnings, wcap;
} pst_auth;

struct pst_message;

/* Compute (once) the group of auth fact f for message m and return f's
 * value from its provider (one per AUTH line of lang/facts/registry.h, in
 * message_auth.c). Strings are borrowed from m's arena. Any other fact is
 * unknown. 0, or -1 on ENOMEM. */
int pst_auth_fact(struct pst_message *m, pst_fact f, pst_value *out);

/* 1 when auth fact f has its provider here, 0 for any other fact. Static. */
int pst_auth_fact_provided(pst_fact f);

/* Compute every group (for reports and the Authentication-Results field).
 * 0, or -1 on ENOMEM. */
int pst_auth_compute_all(struct pst_message *m);

/* Whether the group that computes auth fact f was computed (for reports
 * that show only what was computed); 0 for any other fact. */
int pst_auth_has(const struct pst_message *m, pst_fact f);

/* Append the value of postern's Authentication-Results field (RFC 8601:
 * "authserv-id; spf=... smtp.mailfrom=...; dkim=... header.d=...;
 * dmarc=... header.from=...") to out, computing what it needs. When DKIM
 * signatures past dkim-max-signatures were ignored, a comment after the
 * authserv-id says how many: "id (2 DKIM signatures ignored beyond
 * dkim-max-signatures 8); ...". 0 / -1. */
int pst_auth_results_value(struct pst_message *m, const char *authserv_id, pst_buf *out);

#endif
