/*
 * decide.h: the end-of-message decision of the milter front end, apart
 * from libmilter (engine/milter/decide.c).
 */
#ifndef PST_MILTER_DECIDE_H
#define PST_MILTER_DECIDE_H

#include <stddef.h>

#include "postern.h"
#include "milter/hdrdiff.h"

/* What the milter callbacks gathered. Borrowed for the call. */
typedef struct pst_milter_txn {
	const char *client_ip;          /* NULL: unknown */
	const char *client_name;
	const char *helo;
	const char *mail_from;          /* "" for the null sender */
	const char *const *rcpts;
	size_t nrcpts;
	const char *data;               /* the message as rebuilt, CRLF */
	size_t len;
	const char *queue_id;           /* the MTA's ({i}), or NULL */
	/* Called with the evaluated message and the deciding recipient when
	 * the answer is final (not a tempfail, not an error), before the
	 * message is freed (the report store's row); NULL: not called. */
	void (*evaluated)(void *arg, pst_message *m, size_t deciding,
	                  const struct pst_milter_txn *txn);
	void *arg;
} pst_milter_txn;

/* The one answer for the whole message. */
typedef struct pst_milter_outcome {
	pst_action action;              /* what to answer */
	int code;                       /* REJECT, TEMPFAIL: the reply */
	char enhanced[16];
	char text[512];                 /* as the rule gave it (may hold any byte) */
	char rule[128];                 /* the deciding rule, "" for none */
	char why[256];                  /* an error's reason, "" when none */
	int mixed;                      /* recipients had different decisions,
	                                 * or different copies (edits, folder) */
	pst_hdrop *ops;                 /* ACCEPT, QUARANTINE: header edits */
	size_t nops;
	char auth[128];                 /* "spf=... dkim=... dmarc=..." for the log */
} pst_milter_outcome;

/* Decide txn under policy (dns as pst_message_opts.dns). Always fills
 * *out: a message the library refuses (a header section over its limit)
 * is a reject 554 5.6.0 with out->why set; any other error (out of memory,
 * a rendering that fails) is a tempfail 451 4.3.0 with out->why set; never
 * an accept. Free with pst_milter_outcome_free(). */
void pst_milter_decide(const pst_policy *policy, const pst_dns *dns, const pst_milter_txn *txn,
                       pst_milter_outcome *out);

void pst_milter_outcome_free(pst_milter_outcome *out);

/* The reply of a reject or tempfail verdict into out's code, enhanced
 * and text, with the LMTP front end's defaults for a code or enhanced
 * code of the wrong class (550 5.7.1, 451 4.7.1) or no text. Shared by
 * the end-of-message and the RCPT-time (rcpt.c) decisions, so both
 * answer a rule alike. */
void pst_milter_reply_of(const pst_verdict *v, pst_milter_outcome *out);

#endif
