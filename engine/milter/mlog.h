/*
 * mlog.h: the JSON lines postern milter writes for a message and for a
 * recipient refused at RCPT (engine/milter/mlog.c), apart from libmilter.
 */
#ifndef PST_MILTER_MLOG_H
#define PST_MILTER_MLOG_H

#include <stddef.h>

#include "milter/decide.h"
#include "milter/rcpt.h"

/* What a line says of the connection and the transaction. Borrowed for
 * the call; NULL strings are written as null. */
typedef struct pst_milter_logenv {
	const char *host;               /* this host's name (--hostname) */
	const char *client_ip;
	const char *client_name;
	const char *helo;
	const char *mail_from;
	const char *const *rcpts;       /* the recipients kept (end of message) */
	size_t nrcpts;
	size_t size;                    /* bytes received */
} pst_milter_logenv;

/* One reply: code 0 for none (accept, discard). */
typedef struct pst_milter_logreply {
	int code;
	const char *enhanced;
	const char *text;
} pst_milter_logreply;

/* The end-of-message line ("stage":"eom"): the envelope, at most 32
 * recipients and their number, the decision, the deciding rule ("" or
 * NULL: none), the reply, o's mixed, edits and auth (o may be NULL), and
 * why ("" or NULL: none). Written with pst_milter_log_write(). */
void pst_milter_log_eom(const pst_milter_logenv *e, const char *decision, const char *rule,
                        const pst_milter_logreply *reply, const pst_milter_outcome *o,
                        const char *why);

/* The line of a recipient refused at RCPT ("stage":"rcpt"): the envelope,
 * the recipient, r's tenant, decision, rule, reply and DNS questions, and
 * why. */
void pst_milter_log_rcpt(const pst_milter_logenv *e, const char *rcpt,
                         const pst_milter_rcpt_outcome *r, const char *why);

#endif
