/*
 * msgrow.h: the report store row of one evaluated message (msgrow.c),
 * shared by the front ends that write rows: postern lmtp
 * (lmtp/report_store.c) and postern milter (milter/report_store.c).
 */
#ifndef PST_STORE_MSGROW_H
#define PST_STORE_MSGROW_H

#include "postern.h"
#include "store/store.h"

/* What the front end knows of the message beyond the evaluation. Borrowed
 * for the call; NULL strings are unknown. */
typedef struct pst_store_msg_facts {
	const char *host;               /* the receiving host name */
	const char *queue_id;
	const char *source_ip;          /* the SMTP client */
	const char *mail_from;          /* the envelope sender, "" for <> */
	const char *rcpt;               /* the deciding recipient */
} pst_store_msg_facts;

/* reject, discard: 2; quarantine: 1; accept: 0 (the row's disposition). */
int pst_store_severity(pst_action a);

/* Build the row of m, evaluated, with recipient k deciding, and hand it to
 * st (never blocking: pst_store_submit). Filled from what the evaluation
 * computed (no DNS question, no I/O). Nothing is submitted when the auth
 * results cannot be computed; a row that cannot be allocated is submitted
 * as NULL (counted as dropped). */
void pst_store_submit_message(pst_store *st, pst_message *m, size_t k,
                              const pst_store_msg_facts *f);

#endif
