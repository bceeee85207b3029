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
 * (message, one row per message; dkim, one child row per signature) have
 * the SQLite backend's columns and meaning, in PostgreSQL types (id a
 * bigint identity, time a bigint of Unix seconds, text, integer). Rows are
 * inserted through two prepared statements, the message one RETURNING its
 * id for the dkim rows; "" is written as NULL. begin/commit are BEGIN and
 * COMMIT. Every statement is sent asynchronously and its answer waited for
 * at most PST_STORE_PG_WAIT_MS (a server that accepts and never answers
 * must not hold the writer, and so the drain at stop, for ever). Any error
 * (the server gone or silent, a full disk, a permission) fails the call
 * with libpq's message, and store.c then closes the connection and opens a
 * new one for the next batch. The session runs with synchronous_commit
 * off: a server crash may lose the last batches, never corrupt them.
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

#define PST_STORE_PG_CONNECT_S "5"
#define PST_STORE_PG_LOCK      "7233017"   /* pg_advisory_xact_lock key: the schema */
#define PST_STORE_PG_MSG_PARAMS 33
#define PST_STORE_PG_WAIT_MS   10000       /* longest wait for one answer */
#define PST_STORE_PG_WAIT_TEXT "10 s"

static const char schema_sql[] =
	"CREATE TABLE message ("
	" id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" time BIGINT NOT NULL,"
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
	" message_id BIGINT NOT NULL REFERENCES message(id) ON DELETE CASCADE,"
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
	" VALUES ($1,$2,$3,$4,$5, $6,$7,$8,$9,$10,$11,$12, $13,$14,$15,$16,$17,$18,"
	" $19,$20,$21,$22,$23,$24, $25,$26,$27,$28,$29,$30,$31, $32,$33) RETURNING id";

static const char insert_dkim_sql[] =
	"INSERT INTO dkim (message_id, idx, domain, selector, result, human)"
	" VALUES ($1,$2,$3,$4,$5,$6)";

struct pg {
	PGconn *conn;
	int silent;                     /* an answer did not come in time */
};

/* err = "what: libpq's message" (its last line break dropped). */
static int fail(struct pg *g, const PGresult *res, const char *what, char *err, size_t errlen)
{
	const char *m = res ? PQresultErrorMessage(res) : "";
	if (m == NULL || m[0] == '\0')
		m = g->silent ? "no answer from the server in " PST_STORE_PG_WAIT_TEXT
		  : g->conn ? PQerrorMessage(g->conn) : "out of memory";
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

/* The answer to the query just sent (sent: PQsend*'s return), waited for
 * at most PST_STORE_PG_WAIT_MS (libpq's synchronous calls would wait for
 * ever on a server that accepts and does not answer): the first error
 * result, else the last one; or NULL when the send failed, the connection
 * broke or the time ran out (g->silent is then set). The caller clears it. */
static PGresult *await(struct pg *g, int sent)
{
	if (!sent || g->silent)
		return NULL;
	long long deadline = now_ms() + PST_STORE_PG_WAIT_MS;
	PGresult *keep = NULL, *r;
	for (;;) {
		while (PQisBusy(g->conn)) {
			long long left = deadline - now_ms();
			struct pollfd pfd = { .fd = PQsocket(g->conn), .events = POLLIN };
			int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
			if (n == 0)
				g->silent = 1;
			if (n == 0 || (n < 0 && errno != EINTR) || (n > 0 && !PQconsumeInput(g->conn))) {
				PQclear(keep);
				return NULL;
			}
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
	free(g);
}

/* Errors name the target masked (pst_store_mask); libpq's own messages
 * name the host and port, never the password. */
static int pg_open(const char *target, void **impl, char *err, size_t errlen)
{
	*impl = NULL;
	struct pg *g = calloc(1, sizeof *g);
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *const vals[] = { PST_STORE_PG_CONNECT_S, "postern", target, NULL };
	g->conn = PQconnectdbParams(keys, vals, 1);
	char e2[512] = "";
	if (g->conn == NULL || PQstatus(g->conn) != CONNECTION_OK) {
		fail(g, NULL, "connect", e2, sizeof e2);
		goto bad;
	}
	if (exec(g, "SET synchronous_commit = off", e2, sizeof e2) < 0 ||
	    ensure_schema(g, e2, sizeof e2) < 0 ||
	    prepare(g, "pst_msg", insert_message_sql, PST_STORE_PG_MSG_PARAMS, e2, sizeof e2) < 0 ||
	    prepare(g, "pst_dkim", insert_dkim_sql, 6, e2, sizeof e2) < 0)
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

static int pg_begin(void *impl, char *err, size_t errlen)
{
	return exec(impl, "BEGIN", err, errlen);
}

static int pg_commit(void *impl, char *err, size_t errlen)
{
	return exec(impl, "COMMIT", err, errlen);
}

static void pg_rollback(void *impl)
{
	struct pg *g = impl;
	if (!g->silent && PQtransactionStatus(g->conn) != PQTRANS_IDLE)
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

static int pg_insert(void *impl, const pst_store_row *r, char *err, size_t errlen)
{
	struct pg *g = impl;
	struct params p;
	message_params(&p, r);
	PGresult *res = await(g, PQsendQueryPrepared(g->conn, "pst_msg", p.n, p.v, NULL, NULL, 0));
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		fail(g, res, "inserting a message row", err, errlen);
		PQclear(res);
		return -1;
	}
	char id[24];
	snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	for (size_t k = 0; k < r->ndkim && k < PST_STORE_MAX_DKIM; k++) {
		const pst_store_dkim *d = &r->dkim[k];
		char idx[8];
		snprintf(idx, sizeof idx, "%zu", k);
		const char *v[6] = { id, idx, d->domain[0] ? d->domain : NULL,
		                     d->selector[0] ? d->selector : NULL,
		                     d->result[0] ? d->result : "none", d->human[0] ? d->human : NULL };
		res = await(g, PQsendQueryPrepared(g->conn, "pst_dkim", 6, v, NULL, NULL, 0));
		int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			fail(g, res, "inserting a dkim row", err, errlen);
		PQclear(res);
		if (!ok)
			return -1;
	}
	return 0;
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
};
