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
 * store_int.h's PST_STORE_SCHEMA_TABLES, id the rowid alias, documented
 * column by column in postern-store(5). Rows
 * are inserted through two prepared statements; "" is written as NULL.
 * begin is BEGIN IMMEDIATE, so a writer waiting for the lock waits at most
 * the busy timeout, at the start of the batch; it and commit are prepared
 * once too (not parsed again for each batch).
 *
 * Reading: scan opens a read-only connection of its own (so that its fn
 * may mark rows on the handle's connection meanwhile) and runs two
 * statements in one read transaction, messages and their dkim rows, both
 * in (reporting_domain, time, id) order, the order of the index
 * message_unreported (its rowid last), so neither sorts: they walk the
 * index and are merged as they are stepped; no row is held in memory past
 * its callback. mark updates row by row through one prepared statement in
 * one IMMEDIATE transaction (a mark made during a scan is written when
 * the scan ends: see sq_scan); expire deletes the dkim rows, then the
 * messages, in one. A failure rolls back and says why.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"

#define PST_STORE_SQLITE_BUSY_MS 2000
#define PST_STORE_SQLITE_SCAN_MMAP "1073741824"  /* bytes mapped by a scan, at most */
#define PST_STORE_SQLITE_SCAN_CACHE_KB "65536"   /* a scan's page cache */

static const char schema_sql[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	PST_STORE_SCHEMA_TABLES("INTEGER PRIMARY KEY");

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
	sqlite3_stmt *begin, *commit;   /* BEGIN IMMEDIATE, COMMIT */
	char *target;                   /* the file, for the scan's own connection */
	int scanning;                   /* a scan is running: marks wait for its end */
	int64_t *pending;               /* the ids marked meanwhile */
	size_t npending, cappending;
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
	sqlite3_finalize(q->begin);
	sqlite3_finalize(q->commit);
	sqlite3_close(q->db);
	free(q->pending);
	free(q->target);
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
	if ((q->target = strdup(target)) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* No mutex: a handle is used by one thread at a time (store.h). */
	int rc = sqlite3_open_v2(target, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                         SQLITE_OPEN_NOMUTEX, NULL);
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
	    sqlite3_prepare_v2(q->db, insert_dkim_sql, -1, &q->ins_dkim, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "BEGIN IMMEDIATE", -1, &q->begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "COMMIT", -1, &q->commit, NULL) != SQLITE_OK)
		goto bad;
	*impl = q;
	return 0;
bad:
	snprintf(err, errlen, "%s: %s", target, q->db ? sqlite3_errmsg(q->db) : "out of memory");
	sq_close(q);
	return -1;
}

/* Run one of the prepared statements without rows (begin, commit). */
static int run(struct sq *q, sqlite3_stmt *st, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(q->db));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_begin(void *impl, char *err, size_t errlen)
{
	struct sq *q = impl;
	return run(q, q->begin, err, errlen);
}

static int sq_commit(void *impl, char *err, size_t errlen)
{
	struct sq *q = impl;
	return run(q, q->commit, err, errlen);
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

/* ---- Reading ------------------------------------------------------------ */

static const char scan_msg_sql[] =
	"SELECT " PST_STORE_COLUMNS " FROM message m"
	" WHERE m.reported = 0 AND m.time >= ?1 AND m.time < ?2"
	" ORDER BY m.reporting_domain, m.time, m.id";

static const char scan_dkim_sql[] =
	"SELECT d.message_id, d.domain, d.selector, d.result, d.human"
	" FROM dkim d JOIN message m ON m.id = d.message_id"
	" WHERE m.reported = 0 AND m.time >= ?1 AND m.time < ?2"
	" ORDER BY m.reporting_domain, m.time, m.id, d.idx";

/* The scan's connection reads the file through a memory map and a larger
 * page cache: its rows come in domain order, spread over the file. */
#define SCAN_PRAGMAS "PRAGMA mmap_size=" PST_STORE_SQLITE_SCAN_MMAP ";" \
	"PRAGMA cache_size=-" PST_STORE_SQLITE_SCAN_CACHE_KB ";"

/* Column c of st as text, "" for NULL. */
static const char *col(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	return t ? (const char *)t : "";
}

/* One scan's connection and statements. */
struct scan {
	sqlite3 *db;
	sqlite3_stmt *msg, *dkim;
	int dkim_rc;                    /* the dkim statement's last step */
};

static int scan_fail(struct scan *sc, const char *what, int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what,
	         sc->db && rc != SQLITE_MISUSE ? sqlite3_errmsg(sc->db) : sqlite3_errstr(rc));
	return -1;
}

static int scan_open(struct scan *sc, const char *target, time_t begin, time_t end,
                     char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(target, &sc->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK)
		return scan_fail(sc, target, rc, err, errlen);
	sqlite3_busy_timeout(sc->db, PST_STORE_SQLITE_BUSY_MS);
	if ((rc = sqlite3_exec(sc->db, SCAN_PRAGMAS "BEGIN", NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(sc->db, scan_msg_sql, -1, &sc->msg, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(sc->db, scan_dkim_sql, -1, &sc->dkim, NULL)) != SQLITE_OK)
		return scan_fail(sc, "preparing the scan", rc, err, errlen);
	for (int k = 0; k < 2; k++) {
		sqlite3_stmt *st = k ? sc->dkim : sc->msg;
		if (sqlite3_bind_int64(st, 1, (sqlite3_int64)begin) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 2, (sqlite3_int64)end) != SQLITE_OK)
			return scan_fail(sc, "binding the scan", SQLITE_ERROR, err, errlen);
	}
	sc->dkim_rc = sqlite3_step(sc->dkim);
	return 0;
}

static void scan_close(struct scan *sc)
{
	sqlite3_finalize(sc->msg);
	sqlite3_finalize(sc->dkim);
	sqlite3_close(sc->db);             /* ends the read transaction */
}

/* The dkim rows of message id (the dkim statement runs in the message
 * statement's order, so they are the next ones): into row. 0 / -1. */
static int take_dkim(struct scan *sc, int64_t id, pst_store_row *row, char *err,
                     size_t errlen)
{
	while (sc->dkim_rc == SQLITE_ROW && sqlite3_column_int64(sc->dkim, 0) == id) {
		pst_store_row_add_dkim(row, col(sc->dkim, 1), col(sc->dkim, 2), col(sc->dkim, 3),
		                       col(sc->dkim, 4));
		sc->dkim_rc = sqlite3_step(sc->dkim);
	}
	if (sc->dkim_rc != SQLITE_ROW && sc->dkim_rc != SQLITE_DONE)
		return scan_fail(sc, "reading dkim rows", sc->dkim_rc, err, errlen);
	return 0;
}

/* Set reported = 1 on the n rows of ids, in one transaction, with the
 * scan's larger page cache (a mark rewrites pages all over the file). */
static int mark_now(struct sq *q, const int64_t *ids, size_t n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (exec(q, "PRAGMA cache_size=-" PST_STORE_SQLITE_SCAN_CACHE_KB, err, errlen) < 0 ||
	    exec(q, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	if (sqlite3_prepare_v2(q->db, "UPDATE message SET reported = 1 WHERE id = ?", -1, &st,
	                       NULL) != SQLITE_OK) {
		fail(q, "marking rows", err, errlen);
		goto bad;
	}
	for (size_t i = 0; i < n; i++) {
		if (sqlite3_bind_int64(st, 1, (sqlite3_int64)ids[i]) != SQLITE_OK) {
			fail(q, "marking rows", err, errlen);
			goto bad;
		}
		if (step(q, st, "marking rows", err, errlen) < 0)
			goto bad;
	}
	sqlite3_finalize(st);
	if (exec(q, "COMMIT", err, errlen) == 0)
		return 0;
	st = NULL;
bad:
	sqlite3_finalize(st);
	sq_rollback(q);
	return -1;
}

static int by_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Keep ids to mark when the scan ends (see sq_scan). 0, or -1 on ENOMEM. */
static int defer_marks(struct sq *q, const int64_t *ids, size_t n, char *err, size_t errlen)
{
	if (n > q->cappending - q->npending) {
		size_t cap = q->cappending ? q->cappending : 1024;
		while (cap - q->npending < n)
			cap *= 2;
		int64_t *p = realloc(q->pending, cap * sizeof *p);
		if (p == NULL) {
			snprintf(err, errlen, "marking rows: out of memory");
			return -1;
		}
		q->pending = p;
		q->cappending = cap;
	}
	memcpy(q->pending + q->npending, ids, n * sizeof *ids);
	q->npending += n;
	return 0;
}

static int sq_mark(void *impl, const int64_t *ids, size_t n, char *err, size_t errlen)
{
	struct sq *q = impl;
	return q->scanning ? defer_marks(q, ids, n, err, errlen) : mark_now(q, ids, n, err, errlen);
}

/* The scan reads on a connection of its own, in one read transaction (one
 * snapshot for both statements), so that fn may mark rows. Those marks
 * are kept and written in one transaction once the scan's snapshot is
 * released, whatever the scan's outcome: a write per mark while a reader
 * holds its snapshot grows the WAL without bound (it cannot be reset), and
 * every page read then searches a longer WAL index, so marking each
 * domain's rows as they are reported made a million-row scan minutes long.
 * A failure to write them fails the scan with that reason. */
static int sq_scan(void *impl, time_t begin, time_t end, pst_store_scan_fn fn, void *arg,
                   char *err, size_t errlen)
{
	struct sq *q = impl;
	struct scan sc = { 0 };
	pst_store_row *row = malloc(sizeof *row);
	int rc = -1;
	if (row == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (q->scanning) {
		free(row);
		snprintf(err, errlen, "a scan is running on this handle");
		return -1;
	}
	q->scanning = 1;
	if (scan_open(&sc, q->target, begin, end, err, errlen) < 0)
		goto out;
	const char *v[PST_STORE_NCOLS];
	int src;
	while ((src = sqlite3_step(sc.msg)) == SQLITE_ROW) {
		for (int c = 0; c < PST_STORE_NCOLS; c++)
			v[c] = col(sc.msg, c);
		int64_t id = pst_store_row_fill(row, v);
		if (take_dkim(&sc, id, row, err, errlen) < 0)
			goto out;
		if (fn(arg, id, row) < 0) {
			snprintf(err, errlen, "stopped");
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		scan_fail(&sc, "reading message rows", src, err, errlen);
		goto out;
	}
	rc = 0;
out:
	scan_close(&sc);
	free(row);
	q->scanning = 0;
	if (q->npending) {
		/* In id order, the order of the table's pages. */
		qsort(q->pending, q->npending, sizeof *q->pending, by_id);
		char e2[512] = "";
		if (mark_now(q, q->pending, q->npending, e2, sizeof e2) < 0) {
			snprintf(err, errlen, "%s", e2);
			rc = -1;
		}
		q->npending = 0;
	}
	return rc;
}

static int sq_expire(void *impl, time_t before, unsigned long *deleted, char *err,
                     size_t errlen)
{
	static const char *const sql[] = {
		"DELETE FROM dkim WHERE message_id IN (SELECT id FROM message WHERE time < ?)",
		"DELETE FROM message WHERE time < ?",
	};
	struct sq *q = impl;
	*deleted = 0;
	if (exec(q, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < sizeof sql / sizeof *sql; k++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(q->db, sql[k], -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 1, (sqlite3_int64)before) != SQLITE_OK) {
			sqlite3_finalize(st);
			fail(q, "expiring rows", err, errlen);
			goto bad;
		}
		int rc = step(q, st, "expiring rows", err, errlen);
		sqlite3_finalize(st);
		if (rc < 0)
			goto bad;
		*deleted = (unsigned long)sqlite3_changes(q->db);
	}
	if (exec(q, "COMMIT", err, errlen) == 0)
		return 0;
bad:
	*deleted = 0;
	sq_rollback(q);
	return -1;
}

const pst_store_backend pst_store_sqlite = {
	.scheme = "sqlite",
	.open = sq_open,
	.begin = sq_begin,
	.insert = sq_insert,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.close = sq_close,
	.scan = sq_scan,
	.mark = sq_mark,
	.expire = sq_expire,
};
