/*
 * store_sqlite.c: the SQLite backend of the report store (store.h's
 * pst_store_backend, scheme "sqlite", target a file path).
 *
 * open: the file is created when missing, put in WAL mode (readers, such
 * as the report command, never block the writer) with synchronous=NORMAL
 * (a power cut may lose the last transactions, never corrupt the file), a
 * busy timeout of PST_STORE_SQLITE_BUSY_MS, and its schema created or
 * checked in one IMMEDIATE transaction: a schema_version table holds the
 * version; a newer one than PST_STORE_SCHEMA_VERSION is refused (an older
 * postern must not write rows a newer one reads differently). The tables
 * (message, one row per message; dkim, one child row per signature) are
 * the SQL below, documented column by column in the store's notes. Rows
 * are inserted through two prepared statements; "" is written as NULL.
 * begin is BEGIN IMMEDIATE, so a writer waiting for the lock waits at most
 * the busy timeout, at the start of the batch.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

#define PST_STORE_SQLITE_BUSY_MS 2000

static const char schema_sql[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE message ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" host TEXT NOT NULL,"
	" queue_id TEXT,"
	" reporting_domain TEXT,"
	" policy_found INTEGER NOT NULL,"
	" policy_p TEXT, policy_sp TEXT, policy_np TEXT,"
	" policy_adkim TEXT, policy_aspf TEXT, policy_testing TEXT, policy_fo TEXT,"
	" policy_pct INTEGER, policy_rua TEXT,"
	" source_ip TEXT, header_from TEXT, envelope_from TEXT, envelope_to TEXT,"
	" spf_result TEXT, spf_domain TEXT, spf_scope TEXT, spf_human TEXT,"
	" spf_aligned INTEGER NOT NULL, dkim_aligned INTEGER NOT NULL,"
	" dmarc_result TEXT, dmarc_policy TEXT,"
	" disposition TEXT NOT NULL, decision TEXT, applied TEXT, rule TEXT,"
	" reason_type TEXT, reason_comment TEXT,"
	" dkim_ignored INTEGER NOT NULL DEFAULT 0,"
	" reported INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE dkim ("
	" message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" domain TEXT, selector TEXT, result TEXT NOT NULL, human TEXT,"
	" PRIMARY KEY (message_id, idx));"
	"CREATE INDEX message_unreported ON message (reported, reporting_domain, time);";

static const char insert_message_sql[] =
	"INSERT INTO message (time, host, queue_id, reporting_domain, policy_found,"
	" policy_p, policy_sp, policy_np, policy_adkim, policy_aspf, policy_testing, policy_fo,"
	" policy_pct, policy_rua, source_ip, header_from, envelope_from, envelope_to,"
	" spf_result, spf_domain, spf_scope, spf_human, spf_aligned, dkim_aligned,"
	" dmarc_result, dmarc_policy, disposition, decision, applied, rule, reason_type,"
	" reason_comment, dkim_ignored)"
	" VALUES (?,?,?,?,?, ?,?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?)";

static const char insert_dkim_sql[] =
	"INSERT INTO dkim (message_id, idx, domain, selector, result, human) VALUES (?,?,?,?,?,?)";

struct sq {
	sqlite3 *db;
	sqlite3_stmt *ins_msg, *ins_dkim;
};

static int fail(struct sq *q, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, q->db ? sqlite3_errmsg(q->db) : "out of memory");
	return -1;
}

static int exec(struct sq *q, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(q->db));
	sqlite3_free(msg);
	return -1;
}

/* The version in schema_version: 0 when the table is missing, -1 on error. */
static int schema_version(struct sq *q, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int v = 0;
	if (sqlite3_prepare_v2(q->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	                       " AND name = 'schema_version'", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return fail(q, "reading the schema", err, errlen);
	}
	int exists = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!exists)
		return 0;
	if (sqlite3_prepare_v2(q->db, "SELECT max(version) FROM schema_version", -1, &st,
	                       NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return fail(q, "reading schema_version", err, errlen);
	}
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Create the schema, or check the one there. 0 / -1. */
static int ensure_schema(struct sq *q, char *err, size_t errlen)
{
	if (exec(q, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	int v = schema_version(q, err, errlen);
	if (v == 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d)",
		         PST_STORE_SCHEMA_VERSION);
		if (exec(q, schema_sql, err, errlen) < 0 || exec(q, sql, err, errlen) < 0)
			v = -1;
	} else if (v > PST_STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %d is newer than this postern's %d"
		         " (a newer postern wrote it): not writing to it", v,
		         PST_STORE_SCHEMA_VERSION);
		v = -1;
	}
	if (v < 0) {
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return exec(q, "COMMIT", err, errlen);
}

static void sq_close(void *impl)
{
	struct sq *q = impl;
	if (q == NULL)
		return;
	sqlite3_finalize(q->ins_msg);
	sqlite3_finalize(q->ins_dkim);
	sqlite3_close(q->db);
	free(q);
}

static int sq_open(const char *target, void **impl, char *err, size_t errlen)
{
	*impl = NULL;
	struct sq *q = calloc(1, sizeof *q);
	if (q == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = sqlite3_open_v2(target, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		goto bad;
	sqlite3_busy_timeout(q->db, PST_STORE_SQLITE_BUSY_MS);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "%s: cannot use WAL mode: %s", target, sqlite3_errmsg(q->db));
		sq_close(q);
		return -1;
	}
	sqlite3_finalize(st);
	char e2[512] = "";
	if (exec(q, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", e2, sizeof e2) < 0 ||
	    ensure_schema(q, e2, sizeof e2) < 0) {
		snprintf(err, errlen, "%s: %s", target, e2);
		sq_close(q);
		return -1;
	}
	if (sqlite3_prepare_v2(q->db, insert_message_sql, -1, &q->ins_msg, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, insert_dkim_sql, -1, &q->ins_dkim, NULL) != SQLITE_OK)
		goto bad;
	*impl = q;
	return 0;
bad:
	snprintf(err, errlen, "%s: %s", target, q->db ? sqlite3_errmsg(q->db) : "out of memory");
	sq_close(q);
	return -1;
}

static int sq_begin(void *impl, char *err, size_t errlen)
{
	return exec(impl, "BEGIN IMMEDIATE", err, errlen);
}

static int sq_commit(void *impl, char *err, size_t errlen)
{
	return exec(impl, "COMMIT", err, errlen);
}

static void sq_rollback(void *impl)
{
	struct sq *q = impl;
	if (!sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Bind s, NULL when "". */
static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int bind_message(sqlite3_stmt *st, const pst_store_row *r)
{
	const pst_store_policy *p = &r->policy;
	int i = 1, rc = SQLITE_OK;
	rc |= sqlite3_bind_int64(st, i++, (sqlite3_int64)r->time);
	rc |= sqlite3_bind_text(st, i++, r->host, -1, SQLITE_STATIC);
	rc |= bind_text(st, i++, r->queue_id);
	rc |= bind_text(st, i++, r->reporting_domain);
	rc |= sqlite3_bind_int(st, i++, p->found);
	rc |= bind_text(st, i++, p->p);
	rc |= bind_text(st, i++, p->sp);
	rc |= bind_text(st, i++, p->np);
	rc |= bind_text(st, i++, p->adkim);
	rc |= bind_text(st, i++, p->aspf);
	rc |= bind_text(st, i++, p->testing);
	rc |= bind_text(st, i++, p->fo);
	rc |= p->found && p->pct >= 0 ? sqlite3_bind_int(st, i, p->pct) : sqlite3_bind_null(st, i);
	i++;
	rc |= bind_text(st, i++, p->rua);
	rc |= bind_text(st, i++, r->source_ip);
	rc |= bind_text(st, i++, r->header_from);
	rc |= bind_text(st, i++, r->envelope_from);
	rc |= bind_text(st, i++, r->envelope_to);
	rc |= bind_text(st, i++, r->spf_result);
	rc |= bind_text(st, i++, r->spf_domain);
	rc |= bind_text(st, i++, r->spf_scope);
	rc |= bind_text(st, i++, r->spf_human);
	rc |= sqlite3_bind_int(st, i++, r->spf_aligned != 0);
	rc |= sqlite3_bind_int(st, i++, r->dkim_aligned != 0);
	rc |= bind_text(st, i++, r->dmarc_result);
	rc |= bind_text(st, i++, r->dmarc_policy);
	rc |= sqlite3_bind_text(st, i++, r->disposition[0] ? r->disposition : "none", -1,
	                        SQLITE_STATIC);
	rc |= bind_text(st, i++, r->decision);
	rc |= bind_text(st, i++, r->applied);
	rc |= bind_text(st, i++, r->rule);
	rc |= bind_text(st, i++, r->reason_type);
	rc |= bind_text(st, i++, r->reason_comment);
	rc |= sqlite3_bind_int64(st, i++, (sqlite3_int64)r->dkim_ignored);
	return rc == SQLITE_OK ? 0 : -1;
}

static int step(struct sq *q, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(err, errlen, "%s: %s", what, sqlite3_errstr(rc));
	(void)q;
	return -1;
}

static int sq_insert(void *impl, const pst_store_row *r, char *err, size_t errlen)
{
	struct sq *q = impl;
	if (bind_message(q->ins_msg, r) < 0) {
		sqlite3_reset(q->ins_msg);
		return fail(q, "binding a message row", err, errlen);
	}
	if (step(q, q->ins_msg, "inserting a message row", err, errlen) < 0)
		return -1;
	sqlite3_int64 id = sqlite3_last_insert_rowid(q->db);
	for (size_t k = 0; k < r->ndkim && k < PST_STORE_MAX_DKIM; k++) {
		const pst_store_dkim *d = &r->dkim[k];
		int rc = sqlite3_bind_int64(q->ins_dkim, 1, id) |
		         sqlite3_bind_int(q->ins_dkim, 2, (int)k) |
		         bind_text(q->ins_dkim, 3, d->domain) |
		         bind_text(q->ins_dkim, 4, d->selector) |
		         sqlite3_bind_text(q->ins_dkim, 5, d->result[0] ? d->result : "none", -1,
		                           SQLITE_STATIC) |
		         bind_text(q->ins_dkim, 6, d->human);
		if (rc != SQLITE_OK) {
			sqlite3_reset(q->ins_dkim);
			return fail(q, "binding a dkim row", err, errlen);
		}
		if (step(q, q->ins_dkim, "inserting a dkim row", err, errlen) < 0)
			return -1;
	}
	return 0;
}

const pst_store_backend pst_store_sqlite = {
	.scheme = "sqlite",
	.open = sq_open,
	.begin = sq_begin,
	.insert = sq_insert,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.close = sq_close,
};
