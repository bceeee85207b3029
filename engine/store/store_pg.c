/*
 * store_pg.c: the PostgreSQL backend of the report store (store.h's
 * pst_store_backend, scheme "postgresql", also spelled "postgres"; the
 * target is the whole spec, a libpq connection URI such as
 * "postgresql://postern@db.example/reports?sslmode=require").
 *
 * open: connects with PQconnectdbParams, the URI expanded after a default
 * connect_timeout of PST_STORE_PG_CONNECT_S seconds (a connect_timeout in
 * the URI wins) and application_name "postern", so a server that does not
 * answer holds the writer thread for at most that long, never the mail.
 * The schema is created or checked in one transaction holding a
 * transaction-level advisory lock (PST_STORE_PG_LOCK), so two postern
 * instances starting at once against one empty database do not both create
 * it: a schema_version table holds the version; a newer one than
 * PST_STORE_SCHEMA_VERSION is refused, as in store_sqlite.c. The tables
 * (message, one row per message; dkim, one child row per signature) are
 * store_int.h's PST_STORE_SCHEMA_TABLES, as in SQLite, id a bigint
 * identity (time a bigint of Unix seconds, text, integer). Rows are
 * inserted through two prepared statements, the dkim one taking its
 * message_id from currval() of the message id's sequence (the message row
 * just inserted on this session); "" is written as NULL.
 *
 * A batch is one libpq pipeline (libpq 14+), so it costs one round trip
 * whatever its size: begin enters pipeline mode and sends BEGIN, insert
 * only sends its statements (libpq copies the parameters: nothing of the
 * caller's row is kept), commit sends COMMIT and a sync, then reads every
 * answer in order, failing on the first error (the statements after it
 * are skipped by the server, the transaction is then rolled back: all or
 * nothing). rollback ends a pipeline still open and sends ROLLBACK when a
 * transaction is left. The connection is non-blocking: every wait (for
 * the output to be taken, for an answer) is a poll of at most
 * PST_STORE_PG_WAIT_MS per answer (a server that accepts and never
 * answers must not hold the writer, and so the drain at stop, for ever).
 * Any error (the server gone or silent, a full disk, a permission) fails
 * the call with libpq's message, and store.c then closes the connection
 * and opens a new one for the next batch. The session runs with
 * synchronous_commit off: a server crash may lose the last batches, never
 * corrupt them.
 *
 * Reading: scan connects again for itself (its fn may mark rows on the
 * handle's connection meanwhile) and reads the messages LEFT JOINed to
 * their dkim rows through a cursor, PST_STORE_PG_FETCH rows per FETCH (so
 * a million rows are never all in memory), in one read-only REPEATABLE
 * READ transaction; reporting_domain is ordered bytewise (COLLATE "C"),
 * NULL first as in SQLite. Its answers are waited for up to
 * PST_STORE_PG_SCAN_WAIT_MS, the first FETCH sorting the period's rows.
 * mark sends the ids as bigint[] parameters, PST_STORE_PG_MARK_MAX per
 * UPDATE, in one transaction; expire deletes the dkim rows, then the
 * messages, in one.
 */
#include "config.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "store/store_int.h"

#ifndef LIBPQ_HAS_PIPELINING
#error "the PostgreSQL report store needs libpq 14 or newer (pipeline mode)"
#endif

#define PST_STORE_PG_CONNECT_S "5"
#define PST_STORE_PG_LOCK      "7233017"   /* pg_advisory_xact_lock key: the schema */
#define PST_STORE_PG_MSG_PARAMS 33
#define PST_STORE_PG_WAIT_MS   10000       /* longest wait for one answer */
#define PST_STORE_PG_SCAN_WAIT_MS 600000   /* a scan's: its first FETCH sorts */
#define PST_STORE_PG_FETCH     "2000"      /* rows per FETCH of a scan */
#define PST_STORE_PG_MARK_MAX  5000        /* ids per UPDATE of a mark */

static const char schema_sql[] =
	PST_STORE_SCHEMA_TABLES("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY");

static const char insert_message_sql[] =
	"INSERT INTO message (time, host, queue_id, reporting_domain, policy_found,"
	" policy_p, policy_sp, policy_np, policy_adkim, policy_aspf, policy_testing, policy_fo,"
	" policy_pct, policy_rua, source_ip, header_from, envelope_from, envelope_to,"
	" spf_result, spf_domain, spf_scope, spf_human, spf_aligned, dkim_aligned,"
	" dmarc_result, dmarc_policy, disposition, decision, applied, rule, reason_type,"
	" reason_comment, dkim_ignored)"
	" VALUES ($1,$2,$3,$4,$5, $6,$7,$8,$9,$10,$11,$12, $13,$14,$15,$16,$17,$18,"
	" $19,$20,$21,$22,$23,$24, $25,$26,$27,$28,$29,$30,$31, $32,$33)";

/* The message row this session inserted last (the statements of a batch
 * run in the order sent, on one session). */
static const char insert_dkim_sql[] =
	"INSERT INTO dkim (message_id, idx, domain, selector, result, human)"
	" VALUES (currval(pg_get_serial_sequence('message', 'id')),$1,$2,$3,$4,$5)";

/* What a statement sent in a pipeline was, for the error message. */
enum sent_kind { SENT_BEGIN, SENT_MESSAGE, SENT_DKIM, SENT_COMMIT };

static const char *const sent_what[] = {
	[SENT_BEGIN] = "BEGIN", [SENT_MESSAGE] = "inserting a message row",
	[SENT_DKIM] = "inserting a dkim row", [SENT_COMMIT] = "COMMIT",
};

struct pg {
	PGconn *conn;
	int silent;                     /* an answer did not come in time */
	int broken;                     /* a pipeline was left unread: close only */
	long wait_ms;                   /* the longest wait for one answer */
	char *target;                   /* the URI, for a scan's own connection */
	unsigned char *sent;            /* the pipeline's statements (enum sent_kind) */
	size_t nsent, capsent;
};

/* err = "what: libpq's message" (its last line break dropped). */
static int fail(struct pg *g, const PGresult *res, const char *what, char *err, size_t errlen)
{
	const char *m = res ? PQresultErrorMessage(res) : "";
	if (g->silent && (m == NULL || m[0] == '\0')) {
		snprintf(err, errlen, "%s: no answer from the server in %ld s", what,
		         g->wait_ms / 1000);
		return -1;
	}
	if (m == NULL || m[0] == '\0')
		m = g->conn ? PQerrorMessage(g->conn) : "out of memory";
	size_t n = strcspn(m, "\n");
	snprintf(err, errlen, "%s: %.*s", what, (int)n, m);
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_error(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
}

/* Wait (the connection is non-blocking) until everything sent is taken
 * by the server and a whole result is in: 0, or -1 when the connection
 * broke or deadline passed (g->silent is then set). */
static int ready(struct pg *g, long long deadline)
{
	for (;;) {
		int unsent = PQflush(g->conn);
		if (unsent < 0)
			return -1;
		if (unsent == 0 && !PQisBusy(g->conn))
			return 0;
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = PQsocket(g->conn),
		                      .events = (short)(POLLIN | (unsent ? POLLOUT : 0)) };
		int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (n == 0)
			g->silent = 1;
		if (n == 0 || (n < 0 && errno != EINTR))
			return -1;
		if (n > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(g->conn))
			return -1;
	}
}

/* The answer to the query just sent (sent: PQsend*'s return), or to the
 * next query of a pipeline, waited for at most PST_STORE_PG_WAIT_MS
 * (libpq's synchronous calls would wait for ever on a server that accepts
 * and does not answer): the first error result, else the last one; or
 * NULL when the send failed, the connection broke or the time ran out
 * (g->silent is then set). The caller clears it. */
static PGresult *await(struct pg *g, int sent)
{
	if (!sent || g->silent)
		return NULL;
	long long deadline = now_ms() + g->wait_ms;
	PGresult *keep = NULL, *r;
	for (;;) {
		if (ready(g, deadline) < 0) {
			PQclear(keep);
			return NULL;
		}
		if ((r = PQgetResult(g->conn)) == NULL)
			return keep;
		if (keep && is_error(keep)) {
			PQclear(r);
		} else {
			PQclear(keep);
			keep = r;
		}
	}
}

static PGresult *query(struct pg *g, const char *sql)
{
	return await(g, PQsendQuery(g->conn, sql));
}

/* Run sql (no rows wanted): 0, or -1 with the reason in err. */
static int exec(struct pg *g, const char *sql, char *err, size_t errlen)
{
	PGresult *res = query(g, sql);
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fail(g, res, sql, err, errlen);
	PQclear(res);
	return ok ? 0 : -1;
}

/* The version in schema_version: 0 when the table is missing, -1 on error. */
static int schema_version(struct pg *g, char *err, size_t errlen)
{
	PGresult *res = query(g, "SELECT to_regclass('schema_version') IS NOT NULL");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		fail(g, res, "reading the schema", err, errlen);
		PQclear(res);
		return -1;
	}
	int exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists)
		return 0;
	res = query(g, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		fail(g, res, "reading schema_version", err, errlen);
		PQclear(res);
		return -1;
	}
	int v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* Create the schema, or check the one there, under the advisory lock. */
static int ensure_schema(struct pg *g, char *err, size_t errlen)
{
	if (exec(g, "BEGIN", err, errlen) < 0)
		return -1;
	PGresult *res = query(g, "SELECT pg_advisory_xact_lock(" PST_STORE_PG_LOCK ")");
	int locked = res && PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!locked)
		fail(g, res, "locking the schema", err, errlen);
	PQclear(res);
	int v = locked ? schema_version(g, err, errlen) : -1;
	if (v == 0) {
		char sql[96];
		snprintf(sql, sizeof sql, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
		         "INSERT INTO schema_version VALUES (%d)", PST_STORE_SCHEMA_VERSION);
		if (exec(g, sql, err, errlen) < 0 || exec(g, schema_sql, err, errlen) < 0)
			v = -1;
	} else if (v > PST_STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %d is newer than this postern's %d"
		         " (a newer postern wrote it): not writing to it", v,
		         PST_STORE_SCHEMA_VERSION);
		v = -1;
	}
	if (v < 0) {
		PQclear(query(g, "ROLLBACK"));
		return -1;
	}
	return exec(g, "COMMIT", err, errlen);
}

static int prepare(struct pg *g, const char *name, const char *sql, int nparams,
                   char *err, size_t errlen)
{
	PGresult *res = await(g, PQsendPrepare(g->conn, name, sql, nparams, NULL));
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fail(g, res, name, err, errlen);
	PQclear(res);
	return ok ? 0 : -1;
}

static void pg_close(void *impl)
{
	struct pg *g = impl;
	if (g == NULL)
		return;
	PQfinish(g->conn);
	free(g->target);
	free(g->sent);
	free(g);
}

/* Errors name the target masked (pst_store_mask); libpq's own messages
 * name the host and port, never the password. */
/* A connection to target (the URI kept in g->target) into *out: 0, or -1
 * with the reason in err (e2 of the callers: the URI is not in it). */
static int pg_connect(const char *target, struct pg **out, char *err, size_t errlen)
{
	struct pg *g = *out = calloc(1, sizeof *g);
	if (g == NULL || (g->target = strdup(target)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	g->wait_ms = PST_STORE_PG_WAIT_MS;
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *const vals[] = { PST_STORE_PG_CONNECT_S, "postern", target, NULL };
	g->conn = PQconnectdbParams(keys, vals, 1);
	if (g->conn == NULL || PQstatus(g->conn) != CONNECTION_OK)
		return fail(g, NULL, "connect", err, errlen);
	if (PQsetnonblocking(g->conn, 1) != 0)
		return fail(g, NULL, "setting the connection non-blocking", err, errlen);
	return 0;
}

static int pg_open(const char *target, void **impl, char *err, size_t errlen)
{
	*impl = NULL;
	struct pg *g = NULL;
	char e2[512] = "";
	if (pg_connect(target, &g, e2, sizeof e2) < 0)
		goto bad;
	if (exec(g, "SET synchronous_commit = off", e2, sizeof e2) < 0 ||
	    ensure_schema(g, e2, sizeof e2) < 0 ||
	    prepare(g, "pst_msg", insert_message_sql, PST_STORE_PG_MSG_PARAMS, e2, sizeof e2) < 0 ||
	    prepare(g, "pst_dkim", insert_dkim_sql, 5, e2, sizeof e2) < 0)
		goto bad;
	*impl = g;
	return 0;
bad:;
	char shown[PST_STORE_URI_MAX];
	pst_store_mask(target, shown, sizeof shown);
	snprintf(err, errlen, "%s: %s", shown, e2);
	pg_close(g);
	return -1;
}

/* ---- Writing: one pipeline per batch ---------------------------------- */

/* Room in g->sent for more statements, made before they are sent (so that
 * every statement sent is noted): 0, or -1. */
static int room(struct pg *g, size_t more, char *err, size_t errlen)
{
	if (g->capsent - g->nsent >= more)
		return 0;
	size_t cap = g->capsent ? g->capsent : 64;
	while (cap - g->nsent < more)
		cap *= 2;
	unsigned char *p = realloc(g->sent, cap);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	g->sent = p;
	g->capsent = cap;
	return 0;
}

/* Note a statement sent into the pipeline (ok: PQsend*'s return, room
 * made): 0, or -1 with libpq's reason. */
static int noted(struct pg *g, int ok, enum sent_kind kind, char *err, size_t errlen)
{
	if (!ok)
		return fail(g, NULL, sent_what[kind], err, errlen);
	g->sent[g->nsent++] = (unsigned char)kind;
	return 0;
}

static int send_plain(struct pg *g, const char *sql, enum sent_kind kind, char *err,
                      size_t errlen)
{
	if (room(g, 1, err, errlen) < 0)
		return -1;
	return noted(g, PQsendQueryParams(g->conn, sql, 0, NULL, NULL, NULL, NULL, 0), kind,
	             err, errlen);
}

/* Is res the answer a statement of kind wants? (A COMMIT must say COMMIT:
 * one that ended a failed transaction says ROLLBACK.) */
static int answered(PGresult *res, enum sent_kind kind)
{
	if (is_error(res))
		return 0;
	return kind != SENT_COMMIT || strcmp(PQcmdStatus(res), "COMMIT") == 0;
}

/* End the pipeline: send a sync, read the answers to its statements in
 * order (each waited for at most g->wait_ms) and the sync's, and leave
 * pipeline mode. 0, or -1 with the first failure in err (the server skips
 * the statements after an error up to the sync). When an answer does not
 * come (the server gone or silent) the rest is left unread and g->broken
 * set: the connection is then only good for closing. */
static int pipe_end(struct pg *g, char *err, size_t errlen)
{
	int rc = 0;
	if (!PQpipelineSync(g->conn)) {
		g->broken = 1;
		return fail(g, NULL, "sending the batch", err, errlen);
	}
	for (size_t k = 0; k < g->nsent; k++) {
		PGresult *res = await(g, 1);
		if (res == NULL) {
			g->broken = 1;
			return fail(g, NULL, sent_what[g->sent[k]], err, errlen);
		}
		if (rc == 0 && !answered(res, (enum sent_kind)g->sent[k])) {
			if (is_error(res))
				fail(g, res, sent_what[g->sent[k]], err, errlen);
			else
				snprintf(err, errlen, "%s: the server answered %s",
				         sent_what[g->sent[k]], PQcmdStatus(res));
			rc = -1;
		}
		PQclear(res);
	}
	g->nsent = 0;
	PGresult *res = ready(g, now_ms() + g->wait_ms) == 0 ? PQgetResult(g->conn) : NULL;
	int synced = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
	PQclear(res);
	if (!synced || !PQexitPipelineMode(g->conn)) {
		g->broken = 1;
		if (rc == 0)
			rc = fail(g, NULL, "ending the batch", err, errlen);
	}
	return rc;
}

static int pg_begin(void *impl, char *err, size_t errlen)
{
	struct pg *g = impl;
	g->nsent = 0;
	if (!PQenterPipelineMode(g->conn))
		return fail(g, NULL, "entering pipeline mode", err, errlen);
	return send_plain(g, "BEGIN", SENT_BEGIN, err, errlen);
}

static int pg_commit(void *impl, char *err, size_t errlen)
{
	struct pg *g = impl;
	if (send_plain(g, "COMMIT", SENT_COMMIT, err, errlen) < 0)
		return -1;
	return pipe_end(g, err, errlen);
}

/* A pipeline still open is ended first (what was sent runs, without its
 * COMMIT), then the transaction left is rolled back. Nothing is sent on a
 * connection left silent or unread: store.c closes it, and the server
 * rolls back a transaction whose client is gone. */
static void pg_rollback(void *impl)
{
	struct pg *g = impl;
	char err[256];
	if (!g->silent && !g->broken && PQpipelineStatus(g->conn) != PQ_PIPELINE_OFF)
		pipe_end(g, err, sizeof err);
	if (!g->silent && !g->broken && PQtransactionStatus(g->conn) != PQTRANS_IDLE)
		PQclear(query(g, "ROLLBACK"));
}

/* Text parameters of one row: "" is NULL, numbers in nums (bounded). */
struct params {
	const char *v[PST_STORE_PG_MSG_PARAMS];
	char nums[5][24];
	int n, nnum;
};

static void text(struct params *p, const char *s)
{
	p->v[p->n++] = s && s[0] ? s : NULL;
}

static void number(struct params *p, long long x)
{
	char *b = p->nums[p->nnum++];
	snprintf(b, sizeof p->nums[0], "%lld", x);
	p->v[p->n++] = b;
}

static void message_params(struct params *p, const pst_store_row *r)
{
	const pst_store_policy *pol = &r->policy;
	memset(p, 0, sizeof *p);
	number(p, (long long)r->time);
	p->v[p->n++] = r->host;
	text(p, r->queue_id);
	text(p, r->reporting_domain);
	p->v[p->n++] = pol->found ? "1" : "0";
	text(p, pol->p);
	text(p, pol->sp);
	text(p, pol->np);
	text(p, pol->adkim);
	text(p, pol->aspf);
	text(p, pol->testing);
	text(p, pol->fo);
	if (pol->found && pol->pct >= 0)
		number(p, pol->pct);
	else
		text(p, NULL);
	text(p, pol->rua);
	text(p, r->source_ip);
	text(p, r->header_from);
	text(p, r->envelope_from);
	text(p, r->envelope_to);
	text(p, r->spf_result);
	text(p, r->spf_domain);
	text(p, r->spf_scope);
	text(p, r->spf_human);
	p->v[p->n++] = r->spf_aligned ? "1" : "0";
	p->v[p->n++] = r->dkim_aligned ? "1" : "0";
	text(p, r->dmarc_result);
	text(p, r->dmarc_policy);
	p->v[p->n++] = r->disposition[0] ? r->disposition : "none";
	text(p, r->decision);
	text(p, r->applied);
	text(p, r->rule);
	text(p, r->reason_type);
	text(p, r->reason_comment);
	number(p, (long long)r->dkim_ignored);
}

/* Send the row's statements into the batch's pipeline: its answers are
 * read at commit. */
static int pg_insert(void *impl, const pst_store_row *r, char *err, size_t errlen)
{
	struct pg *g = impl;
	size_t nd = r->ndkim < PST_STORE_MAX_DKIM ? r->ndkim : PST_STORE_MAX_DKIM;
	if (room(g, 1 + nd, err, errlen) < 0)
		return -1;
	struct params p;
	message_params(&p, r);
	if (noted(g, PQsendQueryPrepared(g->conn, "pst_msg", p.n, p.v, NULL, NULL, 0),
	          SENT_MESSAGE, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < nd; k++) {
		const pst_store_dkim *d = &r->dkim[k];
		char idx[8];
		snprintf(idx, sizeof idx, "%zu", k);
		const char *v[5] = { idx, d->domain[0] ? d->domain : NULL,
		                     d->selector[0] ? d->selector : NULL,
		                     d->result[0] ? d->result : "none", d->human[0] ? d->human : NULL };
		if (noted(g, PQsendQueryPrepared(g->conn, "pst_dkim", 5, v, NULL, NULL, 0),
		          SENT_DKIM, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- Reading ------------------------------------------------------------ */

/* The messages and their dkim rows in one query, a message's columns
 * repeated for each of its signatures (PST_STORE_NCOLS + 4 columns). */
static const char scan_sql[] =
	"DECLARE pst_scan NO SCROLL CURSOR FOR SELECT " PST_STORE_COLUMNS ","
	" d.domain, d.selector, d.result, d.human"
	" FROM message m LEFT JOIN dkim d ON d.message_id = m.id"
	" WHERE m.reported = 0 AND m.time >= $1 AND m.time < $2"
	" ORDER BY m.reporting_domain COLLATE \"C\" NULLS FIRST, m.time, m.id, d.idx";

static PGresult *query_params(struct pg *g, const char *sql, int n, const char *const *v)
{
	return await(g, PQsendQueryParams(g->conn, sql, n, NULL, v, NULL, NULL, 0));
}

/* One scan's state: the row being assembled, its id (-1: none yet). */
struct scan {
	pst_store_row *row;
	int64_t id;
	pst_store_scan_fn fn;
	void *arg;
};

/* Hand the row assembled so far to fn: 0, or -1 when fn said stop. */
static int flush(struct scan *sc)
{
	if (sc->id < 0)
		return 0;
	int rc = sc->fn(sc->arg, sc->id, sc->row);
	sc->id = -1;
	return rc;
}

/* The rows of one FETCH answer into sc (a message's signatures may come in
 * two answers: the row is handed over when the next id shows). */
static int take(struct scan *sc, const PGresult *res)
{
	const char *v[PST_STORE_NCOLS];
	for (int t = 0, nt = PQntuples(res); t < nt; t++) {
		int64_t id = (int64_t)strtoll(PQgetvalue(res, t, 0), NULL, 10);
		if (id != sc->id) {
			if (flush(sc) < 0)
				return -1;
			for (int c = 0; c < PST_STORE_NCOLS; c++)
				v[c] = PQgetvalue(res, t, c);     /* "" for NULL */
			sc->id = pst_store_row_fill(sc->row, v);
		}
		if (!PQgetisnull(res, t, PST_STORE_NCOLS + 2))  /* a dkim row: its result */
			pst_store_row_add_dkim(sc->row, PQgetvalue(res, t, PST_STORE_NCOLS),
			                       PQgetvalue(res, t, PST_STORE_NCOLS + 1),
			                       PQgetvalue(res, t, PST_STORE_NCOLS + 2),
			                       PQgetvalue(res, t, PST_STORE_NCOLS + 3));
	}
	return 0;
}

/* Run the cursor to its end on g (in its transaction) into sc. */
static int fetch_all(struct pg *g, struct scan *sc, time_t begin, time_t end, char *err,
                     size_t errlen)
{
	char b[24], e[24];
	snprintf(b, sizeof b, "%lld", (long long)begin);
	snprintf(e, sizeof e, "%lld", (long long)end);
	const char *const v[2] = { b, e };
	PGresult *res = query_params(g, scan_sql, 2, v);
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fail(g, res, "declaring the scan", err, errlen);
	PQclear(res);
	while (ok) {
		res = query(g, "FETCH " PST_STORE_PG_FETCH " FROM pst_scan");
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
			fail(g, res, "reading message rows", err, errlen);
			PQclear(res);
			return -1;
		}
		int n = PQntuples(res);
		int rc = take(sc, res);
		PQclear(res);
		if (rc < 0 || (n == 0 && flush(sc) < 0)) {
			snprintf(err, errlen, "stopped");
			return -1;
		}
		if (n == 0)
			return 0;
	}
	return -1;
}

/* The scan reads on a connection of its own (so that fn may mark rows on
 * the handle's connection meanwhile), through a cursor in one read-only
 * REPEATABLE READ transaction, PST_STORE_PG_FETCH rows at a time. */
static int pg_scan(void *impl, time_t begin, time_t end, pst_store_scan_fn fn, void *arg,
                   char *err, size_t errlen)
{
	struct pg *g = impl, *r = NULL;
	struct scan sc = { .row = malloc(sizeof *sc.row), .id = -1, .fn = fn, .arg = arg };
	char e2[512] = "";
	int rc = -1;
	if (sc.row == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pg_connect(g->target, &r, e2, sizeof e2) < 0) {
		snprintf(err, errlen, "scan: %s", e2);
		goto out;
	}
	r->wait_ms = PST_STORE_PG_SCAN_WAIT_MS;
	if (exec(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen) == 0)
		rc = fetch_all(r, &sc, begin, end, err, errlen);
out:
	pg_close(r);                       /* ends the transaction */
	free(sc.row);
	return rc;
}

static int pg_mark(void *impl, const int64_t *ids, size_t n, char *err, size_t errlen)
{
	struct pg *g = impl;
	size_t cap = (n < PST_STORE_PG_MARK_MAX ? n : PST_STORE_PG_MARK_MAX) * 21 + 3;
	char *list = malloc(cap);
	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int ok = exec(g, "BEGIN", err, errlen) == 0;
	for (size_t i = 0; ok && i < n; ) {
		size_t len = 0;
		list[len++] = '{';
		for (size_t k = 0; k < PST_STORE_PG_MARK_MAX && i < n; k++, i++)
			len += (size_t)snprintf(list + len, cap - len, "%s%lld", k ? "," : "",
			                        (long long)ids[i]);
		snprintf(list + len, cap - len, "}");
		const char *const v[1] = { list };
		PGresult *res = query_params(g, "UPDATE message SET reported = 1"
		                             " WHERE id = ANY($1::bigint[])", 1, v);
		ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			fail(g, res, "marking rows", err, errlen);
		PQclear(res);
	}
	free(list);
	if (ok && exec(g, "COMMIT", err, errlen) == 0)
		return 0;
	pg_rollback(g);
	return -1;
}

static int pg_expire(void *impl, time_t before, unsigned long *deleted, char *err,
                     size_t errlen)
{
	static const char *const sql[] = {
		"DELETE FROM dkim WHERE message_id IN (SELECT id FROM message WHERE time < $1)",
		"DELETE FROM message WHERE time < $1",
	};
	struct pg *g = impl;
	char b[24];
	snprintf(b, sizeof b, "%lld", (long long)before);
	const char *const v[1] = { b };
	*deleted = 0;
	int ok = exec(g, "BEGIN", err, errlen) == 0;
	for (size_t k = 0; ok && k < sizeof sql / sizeof *sql; k++) {
		PGresult *res = query_params(g, sql[k], 1, v);
		ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			fail(g, res, "expiring rows", err, errlen);
		else
			*deleted = strtoul(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	if (ok && exec(g, "COMMIT", err, errlen) == 0)
		return 0;
	*deleted = 0;
	pg_rollback(g);
	return -1;
}

const pst_store_backend pst_store_pg = {
	.scheme = "postgresql",
	.alias = "postgres",
	.uri = 1,
	.open = pg_open,
	.begin = pg_begin,
	.insert = pg_insert,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.close = pg_close,
	.scan = pg_scan,
	.mark = pg_mark,
	.expire = pg_expire,
};
