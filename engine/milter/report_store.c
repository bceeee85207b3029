/*
 * report_store.c: postern milter's side of the report store (store.h), as
 * postern lmtp's (lmtp/report_store.c): --report-store opens it in the
 * worker (its writer thread is the worker's), each message whose answer is
 * final becomes one row built by store/msgrow.c (the deciding recipient's
 * verdict: the milter gives one answer per message), the writer thread
 * adds the reason, and its failures become "warning" events. A tempfail
 * gets no row: the client will send the message again. Submitting never
 * blocks, and the store never delays or fails mail.
 *
 * The store is process-wide, as libmilter gives callbacks no context; it
 * is set before libmilter runs and closed after the decisions are over.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "milter/report_store.h"
#include "milter/supervise.h"
#include "store/msgrow.h"
#include "store/store.h"
#include "util/buf.h"

#define STORE_DRAIN_MS 5000     /* at exit, at most this long to write what is queued */

static struct {
	pst_store *store;
	const char *spec;
	char host[256];
} rs;

static void store_warn(void *arg, const char *text)
{
	(void)arg;
	char shown[PST_STORE_URI_MAX];          /* no password in the log */
	pst_store_mask(rs.spec, shown, sizeof shown);
	pst_buf t = PST_BUF_INIT, spec = PST_BUF_INIT;
	pst_buf_json_str(&t, text, strlen(text));
	pst_buf_json_str(&spec, shown, strlen(shown));
	pst_milter_log_event("warning", ",\"report_store\":%s,\"warning\":%s", pst_buf_str(&spec),
	                     pst_buf_str(&t));
	pst_buf_free(&spec);
	pst_buf_free(&t);
}

static void store_prepare(void *arg, pst_store_row *row)
{
	(void)arg;
	pst_store_row_reason(row);
}

int pst_milter_store_open(const pst_milter_conf *conf, const char *hostname)
{
	if (conf->report_store == NULL)
		return 0;
	rs.spec = conf->report_store;
	snprintf(rs.host, sizeof rs.host, "%s", hostname);
	pst_store_opts o = { .prepare = store_prepare, .warn = store_warn, .arg = NULL };
	char err[768];
	if (pst_store_open(conf->report_store, &o, &rs.store, err, sizeof err) < 0) {
		fprintf(stderr, "postern milter: --report-store: %s\n", err);
		return -1;
	}
	return 0;
}

void pst_milter_store_message(void *arg, pst_message *m, size_t deciding,
                              const pst_milter_txn *txn)
{
	(void)arg;
	if (rs.store == NULL || deciding >= txn->nrcpts)
		return;
	pst_store_msg_facts f = { .host = rs.host, .queue_id = txn->queue_id,
	                          .source_ip = txn->client_ip, .mail_from = txn->mail_from,
	                          .rcpt = txn->rcpts[deciding] };
	pst_store_submit_message(rs.store, m, deciding, &f);
}

int pst_milter_store_stats(pst_store_stats *out)
{
	if (rs.store == NULL)
		return -1;
	pst_store_get_stats(rs.store, out);
	return 0;
}

void pst_milter_store_close(void)
{
	if (rs.store == NULL)
		return;
	pst_store_stop(rs.store, STORE_DRAIN_MS);
	pst_store_stats st;
	pst_store_get_stats(rs.store, &st);
	pst_milter_log_event("stats", ",\"report_store\":{\"written\":%lu,\"dropped\":%lu,"
	                     "\"failed\":%lu}", st.written, st.dropped, st.failed);
	pst_store_close(&rs.store);
}
