/*
 * report_store.c: postern lmtp's side of the report store (store.h):
 * --report-store opens it at start, each evaluated message becomes one
 * row, the writer thread completes the row with the DMARC record as
 * published, failures become warning events, and the counters go to the
 * stats event and the metrics endpoint.
 *
 * The row is filled on the session thread by store/msgrow.c from what the
 * evaluation already computed (no DNS question, no I/O). One row per
 * message, the strictest applied action over its recipients giving the
 * disposition (reject, discard: reject; quarantine; accept: none). A
 * message whose recipients all got a 4xx reply gets no row: the client
 * will send it again. pst_store_submit() never blocks. The writer thread
 * only adds the reason (pst_store_row_reason()).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/server_private.h"
#include "store/msgrow.h"
#include "util/buf.h"

#define STORE_DRAIN_MS 5000     /* at SIGTERM, at most this long to write what is queued */

/* ---- The writer thread's hooks ---------------------------------------- */

static void store_warn(void *arg, const char *text)
{
	struct pst_lmtp_srv *srv = arg;
	pst_buf t = PST_BUF_INIT, spec = PST_BUF_INIT;
	char shown[PST_STORE_URI_MAX];          /* no URI password in the log */
	pst_store_mask(srv->conf.report_store, shown, sizeof shown);
	pst_buf_json_str(&t, text, strlen(text));
	pst_buf_json_str(&spec, shown, strlen(shown));
	pst_lmtp_log_event(srv, "warning", ",\"report_store\":%s,\"warning\":%s",
	                   pst_buf_str(&spec), pst_buf_str(&t));
	pst_buf_free(&spec);
	pst_buf_free(&t);
}

/* The reason, once the row is complete (on the writer thread). */
static void store_prepare(void *arg, pst_store_row *row)
{
	(void)arg;
	pst_store_row_reason(row);
}

int pst_lmtp_store_open(struct pst_lmtp_srv *srv)
{
	if (srv->conf.report_store == NULL)
		return 0;
	pst_store_opts o = { .prepare = store_prepare, .warn = store_warn, .arg = srv };
	char err[768];
	if (pst_store_open(srv->conf.report_store, &o, &srv->store, err, sizeof err) < 0) {
		fprintf(stderr, "postern lmtp: --report-store: %s\n", err);
		return -1;
	}
	return 0;
}

void pst_lmtp_store_stop(struct pst_lmtp_srv *srv)
{
	pst_store_stop(srv->store, STORE_DRAIN_MS);
}

/* ---- The row ----------------------------------------------------------- */

/* The strictest applied action over the recipients with a final reply:
 * its index, or -1 when every recipient got a 4xx (or no verdict). */
static int strictest(struct pst_message *m, const pst_lmtp_txn *t, const pst_lmtp_reply *rs)
{
	int best = -1;
	for (size_t i = 0; i < t->nrcpts; i++) {
		const pst_verdict *v = pst_message_verdict(m, i);
		if (v == NULL || rs[i].code / 100 == 4)
			continue;
		if (best < 0 || pst_store_severity(v->applied) >
		                 pst_store_severity(pst_message_verdict(m, (size_t)best)->applied))
			best = (int)i;
	}
	return best;
}

void pst_lmtp_store_message(struct pst_lmtp_srv *srv, struct pst_message *m, const pst_lmtp_txn *t,
                            const char *qid, const pst_lmtp_reply *rs)
{
	if (srv->store == NULL)
		return;
	int k = strictest(m, t, rs);
	if (k < 0)
		return;
	pst_store_msg_facts f = { .host = srv->hostname, .queue_id = qid,
	                          .source_ip = t->xfwd[PST_XF_ADDR], .mail_from = t->mail_from,
	                          .rcpt = t->rcpts[k] };
	pst_store_submit_message(srv->store, m, (size_t)k, &f);
}

/* ---- Counters ---------------------------------------------------------- */

void pst_lmtp_store_stats_json(struct pst_lmtp_srv *srv, pst_buf *b)
{
	if (srv->store == NULL)
		return;
	pst_store_stats st;
	pst_store_get_stats(srv->store, &st);
	pst_buf_printf(b, ",\"report_store\":{\"written\":%lu,\"dropped\":%lu,\"failed\":%lu"
	               ",\"queued\":%lu}", st.written, st.dropped, st.failed, st.queued);
}
