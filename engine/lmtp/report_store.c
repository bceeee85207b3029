/*
 * report_store.c: postern lmtp's side of the report store (store.h):
 * --report-store opens it at start, each evaluated message becomes one
 * row, the writer thread completes the row with the DMARC record as
 * published, failures become warning events, and the counters go to the
 * stats event and the metrics endpoint.
 *
 * The row is filled on the session thread from what the evaluation
 * already computed (no DNS question, no I/O): the auth results of the
 * message (pst_auth: SPF, every DKIM signature, the DMARC result with its
 * record domain and alignment) and the verdicts. One row per message, the
 * strictest applied action over its recipients giving the disposition
 * (reject, discard: reject; quarantine; accept: none). A message whose
 * recipients all got a 4xx reply gets no row: the client will send it
 * again. pst_store_submit() never blocks.
 *
 * The record as published (p, sp, np, adkim, aspf, t, fo, pct, rua) is
 * read from the text the DMARC evaluation found (pst_dmarc_result.record),
 * so the store asks DNS nothing; the writer thread only adds the reason
 * (pst_store_row_reason()).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/server_private.h"
#include "message_private.h"
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

#define SET(field, s) pst_store_row_set((field), sizeof(field), (s), (size_t)-1)

static const char *domain_of(const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	return at ? at + 1 : NULL;
}

/* reject, discard > quarantine > accept. */
static int severity(pst_action a)
{
	return a == PST_REJECT || a == PST_DISCARD ? 2 : a == PST_QUARANTINE;
}

static void fill_auth(pst_store_row *row, struct pst_message *m)
{
	const pst_auth *a = &m->auth;
	SET(row->spf_result, pst_auth_result_name(a->spf));
	SET(row->spf_domain, a->spf_domain);
	SET(row->spf_human, a->spf_reason);
	row->spf_aligned = a->dmarc_evaluated ? a->dmarc_result.spf_aligned : a->spf_aligned;
	row->dkim_aligned = a->dmarc_evaluated ? a->dmarc_result.dkim_aligned : a->dkim_aligned;
	for (size_t i = 0; a->dkim_verified && i < a->dkim_sigs.nsigs; i++) {
		const pst_dkim_sig *s = &a->dkim_sigs.sigs[i];
		if (row->ndkim == PST_STORE_MAX_DKIM) {
			row->dkim_ignored++;
			continue;
		}
		pst_store_dkim *d = &row->dkim[row->ndkim++];
		SET(d->domain, s->domain);
		SET(d->selector, s->selector);
		SET(d->result, pst_auth_result_name(s->result));
		SET(d->human, s->reason);
	}
	if (a->dkim_verified)
		row->dkim_ignored += a->dkim_sigs.ignored;
	SET(row->dmarc_result, pst_auth_result_name(a->dmarc));
	const pst_dmarc_result *d = &a->dmarc_result;
	if (a->dmarc_evaluated && d->record_domain) {
		/* The record as published, as the evaluation read it: no
		 * second DNS question. */
		(void)pst_store_policy_parse(d->record, &row->policy); /* clears it first */
		row->policy.found = 1;          /* the evaluation found one */
		SET(row->reporting_domain, d->record_domain);
		SET(row->dmarc_policy, pst_dmarc_policy_name(d->policy));
	} else
		SET(row->reporting_domain, m->from.domain);
}

/* A row with every field empty but the DKIM slots, which are only read
 * up to ndkim (store.h): most of the row's 9 KB are not touched. NULL when
 * out of memory. */
static pst_store_row *new_row(void)
{
	pst_store_row *row = malloc(sizeof *row);
	if (row == NULL)
		return NULL;
	memset(row, 0, offsetof(pst_store_row, dkim));
	row->ndkim = 0;
	row->dkim_ignored = 0;
	return row;
}

/* The strictest applied action over the recipients with a final reply:
 * its index, or -1 when every recipient got a 4xx (or no verdict). */
static int strictest(struct pst_message *m, const pst_lmtp_txn *t, const pst_lmtp_reply *rs)
{
	int best = -1;
	for (size_t i = 0; i < t->nrcpts; i++) {
		const pst_verdict *v = pst_message_verdict(m, i);
		if (v == NULL || rs[i].code / 100 == 4)
			continue;
		if (best < 0 || severity(v->applied) > severity(pst_message_verdict(m, (size_t)best)->applied))
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
	if (k < 0 || pst_auth_compute_all(m) < 0)
		return;
	pst_store_row *row = new_row();
	if (row == NULL) {
		pst_store_submit(srv->store, NULL);     /* counted as dropped */
		return;
	}
	const pst_verdict *v = pst_message_verdict(m, (size_t)k);
	row->time = time(NULL);
	SET(row->host, srv->hostname);
	SET(row->queue_id, qid);
	SET(row->source_ip, t->xfwd[PST_XF_ADDR]);
	SET(row->header_from, m->from.domain);
	SET(row->envelope_from, domain_of(t->mail_from));
	SET(row->envelope_to, domain_of(t->rcpts[k]));
	SET(row->spf_scope, t->mail_from && t->mail_from[0] ? "mfrom" : "helo");
	fill_auth(row, m);
	SET(row->decision, pst_action_name(v->action));
	SET(row->applied, pst_action_name(v->applied));
	SET(row->disposition, severity(v->applied) == 2 ? "reject"
	                      : severity(v->applied) == 1 ? "quarantine" : "none");
	SET(row->rule, v->rule);
	pst_store_submit(srv->store, row);
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
