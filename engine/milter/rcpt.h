/*
 * rcpt.h: the milter front end's decision at RCPT time, apart from
 * libmilter (engine/milter/rcpt.c).
 */
#ifndef PST_MILTER_RCPT_H
#define PST_MILTER_RCPT_H

#include "postern.h"
#include "milter/decide.h"

/* The tenant split's reply: the client sends the recipient again in a
 * new transaction (RFC 5321 4.5.3.1.10, as for too many recipients). */
#define PST_MILTER_SPLIT_CODE 452
#define PST_MILTER_SPLIT_ENHANCED "4.5.3"
#define PST_MILTER_SPLIT_TEXT "Recipient under another policy: send it in a new transaction"

/* What one transaction (MAIL FROM to the end of the message) has kept so
 * far. Zero it at MAIL FROM (or when the transaction ends). */
typedef struct pst_milter_rcpt_state {
	int fixed;                      /* a recipient was kept: tenant is the
	                                 * transaction's */
	char tenant[256];               /* its tenant (normalised), "" for none */
} pst_milter_rcpt_state;

/* One RCPT. Borrowed for the call. */
typedef struct pst_milter_rcpt_in {
	const char *client_ip;          /* NULL: unknown */
	const char *client_name;
	const char *helo;
	const char *mail_from;          /* "" for the null sender, NULL unknown */
	const char *rcpt;               /* without angle brackets */
	int tenant_split;               /* answer 452 4.5.3 to a recipient of
	                                 * another tenant than the kept ones */
} pst_milter_rcpt_in;

typedef struct pst_milter_rcpt_outcome {
	int keep;                       /* 1: keep the recipient for the end of
	                                 * the message; 0: answer o's reply */
	const char *decision;           /* for the log (static): the envelope's
	                                 * decision ("reject", "accept", ...),
	                                 * "undecided", or "tempfail" for a
	                                 * split or an error */
	pst_milter_outcome o;           /* !keep: action REJECT or TEMPFAIL,
	                                 * code, enhanced, text; rule (the
	                                 * deciding rule, "" none); why (a split
	                                 * or an error, "" none). No ops. */
	char tenant[256];               /* the recipient's tenant, "" for none */
	unsigned dns_queries;           /* DNS questions asked for it */
} pst_milter_rcpt_outcome;

/* Decide rcpt from the envelope alone (pst_message_evaluate_envelope on a
 * message of 0 bytes) under policy, dns as pst_message_opts.dns:
 *   - a decided reject or tempfail: not kept, the rule's reply (as the
 *     end of the message would answer it, pst_milter_reply_of);
 *   - with in->tenant_split, a recipient whose tenant
 *     (pst_policy_tenant_of) differs from the transaction's: not kept,
 *     452 4.5.3 (PST_MILTER_SPLIT_*);
 *   - anything else (accept, quarantine, discard, undecided): kept; the
 *     first kept recipient fixes st's tenant;
 *   - an error (the message cannot be made, ENOMEM): not kept, tempfail
 *     451 4.3.0 with out->o.why, never kept unchecked.
 * A refused recipient leaves st as it was. Always fills *out. */
void pst_milter_rcpt_decide(const pst_policy *policy, const pst_dns *dns,
                            const pst_milter_rcpt_in *in, pst_milter_rcpt_state *st,
                            pst_milter_rcpt_outcome *out);

#endif
