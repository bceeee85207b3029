/*
 * msgrow.c: the report store row of one evaluated message (see msgrow.h),
 * moved here from postern lmtp's report_store.c so that postern milter
 * writes the same rows.
 *
 * The row is filled from what the evaluation already computed: the auth
 * results of the message (pst_auth: SPF, every DKIM signature, the DMARC
 * result with its record domain and alignment) and the deciding
 * recipient's verdict (action, applied action, rule; disposition reject
 * for reject and discard, quarantine, else none). The record as published
 * (p, sp, np, adkim, aspf, t, fo, pct, rua) is read from the text the DMARC
 * evaluation found (pst_dmarc_result.record), so nothing asks DNS. The
 * row is malloc'd here and owned by the store once submitted.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "message_private.h"
#include "store/msgrow.h"

#define SET(field, s) pst_store_row_set((field), sizeof(field), (s), (size_t)-1)

static const char *domain_of(const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	return at ? at + 1 : NULL;
}

int pst_store_severity(pst_action a)
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

void pst_store_submit_message(pst_store *st, pst_message *m, size_t k,
                              const pst_store_msg_facts *f)
{
	const pst_verdict *v = pst_message_verdict(m, k);
	if (v == NULL || pst_auth_compute_all(m) < 0)
		return;
	pst_store_row *row = new_row();
	if (row == NULL) {
		pst_store_submit(st, NULL);     /* counted as dropped */
		return;
	}
	row->time = time(NULL);
	SET(row->host, f->host);
	SET(row->queue_id, f->queue_id);
	SET(row->source_ip, f->source_ip);
	SET(row->header_from, m->from.domain);
	SET(row->envelope_from, domain_of(f->mail_from));
	SET(row->envelope_to, domain_of(f->rcpt));
	SET(row->spf_scope, f->mail_from && f->mail_from[0] ? "mfrom" : "helo");
	fill_auth(row, m);
	SET(row->decision, pst_action_name(v->action));
	SET(row->applied, pst_action_name(v->applied));
	SET(row->disposition, pst_store_severity(v->applied) == 2 ? "reject"
	                      : pst_store_severity(v->applied) == 1 ? "quarantine" : "none");
	SET(row->rule, v->rule);
	pst_store_submit(st, row);
}
