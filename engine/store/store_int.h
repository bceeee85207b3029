/*
 * store_int.h: what the store's backends share (not
 * part of store.h's interface): the schema's tables, the message columns
 * a scan selects, in the order pst_store_row_fill() reads them.
 */
#ifndef PST_STORE_INT_H
#define PST_STORE_INT_H

#include "store/store.h"

/* The tables and the index, the same in every backend but for the
 * message id's declaration (id_decl): SQLite's rowid alias "INTEGER
 * PRIMARY KEY", PostgreSQL's identity column. Integers are declared BIGINT
 * where they may pass 32 bits (SQLite gives BIGINT its INTEGER affinity,
 * 64-bit). The columns are documented in postern-store(5). */
#define PST_STORE_SCHEMA_TABLES(id_decl) \
	"CREATE TABLE message (" \
	" id " id_decl "," \
	" time BIGINT NOT NULL," \
	" host TEXT NOT NULL," \
	" queue_id TEXT," \
	" reporting_domain TEXT," \
	" policy_found INTEGER NOT NULL," \
	" policy_p TEXT, policy_sp TEXT, policy_np TEXT," \
	" policy_adkim TEXT, policy_aspf TEXT, policy_testing TEXT, policy_fo TEXT," \
	" policy_pct INTEGER, policy_rua TEXT," \
	" source_ip TEXT, header_from TEXT, envelope_from TEXT, envelope_to TEXT," \
	" spf_result TEXT, spf_domain TEXT, spf_scope TEXT, spf_human TEXT," \
	" spf_aligned INTEGER NOT NULL, dkim_aligned INTEGER NOT NULL," \
	" dmarc_result TEXT, dmarc_policy TEXT," \
	" disposition TEXT NOT NULL, decision TEXT, applied TEXT, rule TEXT," \
	" reason_type TEXT, reason_comment TEXT," \
	" dkim_ignored INTEGER NOT NULL DEFAULT 0," \
	" reported INTEGER NOT NULL DEFAULT 0);" \
	"CREATE TABLE dkim (" \
	" message_id BIGINT NOT NULL REFERENCES message(id) ON DELETE CASCADE," \
	" idx INTEGER NOT NULL," \
	" domain TEXT, selector TEXT, result TEXT NOT NULL, human TEXT," \
	" PRIMARY KEY (message_id, idx));" \
	"CREATE INDEX message_unreported ON message (reported, reporting_domain, time);"

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
