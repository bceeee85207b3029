/*
 * store_int.h: what the store's backends share on the reading side (not
 * part of store.h's interface): the message columns a scan selects, in
 * the order pst_store_row_fill() reads them.
 */
#ifndef PST_STORE_INT_H
#define PST_STORE_INT_H

#include "store/store.h"

/* The message table's columns (alias m), id first: PST_STORE_NCOLS. */
#define PST_STORE_COLUMNS \
	"m.id, m.time, m.host, m.queue_id, m.reporting_domain, m.policy_found," \
	" m.policy_p, m.policy_sp, m.policy_np, m.policy_adkim, m.policy_aspf," \
	" m.policy_testing, m.policy_fo, m.policy_pct, m.policy_rua, m.source_ip," \
	" m.header_from, m.envelope_from, m.envelope_to, m.spf_result, m.spf_domain," \
	" m.spf_scope, m.spf_human, m.spf_aligned, m.dkim_aligned, m.dmarc_result," \
	" m.dmarc_policy, m.disposition, m.decision, m.applied, m.rule, m.reason_type," \
	" m.reason_comment, m.dkim_ignored"
#define PST_STORE_NCOLS 34

/* Fill every field of *row from v, the PST_STORE_NCOLS columns above as
 * text ("" for NULL; numbers in decimal), with no DKIM signature yet
 * (ndkim 0; the dkim array is left as it is). Returns the row's id. */
int64_t pst_store_row_fill(pst_store_row *row, const char *const *v);

/* Add one DKIM signature to row (past PST_STORE_MAX_DKIM: counted in
 * dkim_ignored). */
void pst_store_row_add_dkim(pst_store_row *row, const char *domain, const char *selector,
                            const char *result, const char *human);

#endif
