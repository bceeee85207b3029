/* Unit tests for engine/store: the row's field copies, the DMARC record's
 * tags as published, the override reason, the queue (drops when full, the
 * drain at stop), the SQLite backend (schema, version refusal, rows
 * with quotes and NULLs read back as written), the PostgreSQL schemes and
 * the masking of a URI's password (the PostgreSQL rows: store_pg.sh), and
 * the reading side on SQLite: scan (the period, unreported rows, domain
 * order, dkim children, stop), mark (also from a scan's callback), expire;
 * the same on PostgreSQL when PST_TEST_PG_URI names an empty database, and
 * there the PostgreSQL backend's batches (one pipeline each): DKIM child
 * rows linked to their own message, a batch the server refuses leaving no
 * row and the handle usable, a batch whose server process ends half-way
 * leaving no row. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static void row_set_cuts_and_masks(void **state)
{
	(void)state;
	static const struct { const char *in; size_t len; const char *want; int cut; } cases[] = {
		{ "example.com", 16, "example.com", 0 },
		{ NULL, 16, "", 0 },
		{ "", 16, "", 0 },
		{ "abcdefgh", 5, "abcd", 1 },
		{ "a\tb\x7f" "c\xc3\xa9", 16, "a?b?c??", 0 },
		{ "it's \"quoted\"; --", 32, "it's \"quoted\"; --", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char f[64];
		int cut = pst_store_row_set(f, cases[i].len, cases[i].in, (size_t)-1);
		if (strcmp(f, cases[i].want) != 0 || cut != cases[i].cut)
			fail_msg("case %zu: got '%s' cut %d, want '%s' cut %d", i, f, cut,
			         cases[i].want, cases[i].cut);
	}
}

static void policy_tags(void **state)
{
	(void)state;
	static const struct {
		const char *txt;
		int rc;
		const char *p, *sp, *np, *adkim, *aspf, *t, *rua;
		int pct;
	} cases[] = {
		{ "v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; aspf=r; t=y; pct=50;"
		  " rua=mailto:d@example.com,mailto:e@example.net", 0,
		  "reject", "quarantine", "none", "s", "r", "y",
		  "mailto:d@example.com,mailto:e@example.net", 50 },
		{ "v = DMARC1 ;P=Reject;ADKIM=S; x=unknown; p=none", 0,
		  "reject", "", "", "s", "", "", "", -1 },
		{ " v=DMARC1; p=bogus; pct=101; adkim=x; t=maybe", 0, "", "", "", "", "", "", "", -1 },
		{ "v=spf1 -all", -1, "", "", "", "", "", "", "", -1 },
		{ "p=reject; v=DMARC1", -1, "", "", "", "", "", "", "", -1 },
		{ "v=DMARC1", 0, "", "", "", "", "", "", "", -1 },
		{ "v=DMARC1; junk; p=quarantine; P=reject; pct=10; pct=20; t=n; t=y", 0,
		  "quarantine", "", "", "", "", "n", "", 10 },
		{ "V =DMARC1;p=reject", 0, "reject", "", "", "", "", "", "", -1 },
		{ "v=DMARC10; p=reject", -1, "", "", "", "", "", "", "", -1 },
		{ "vv=DMARC1; p=reject", -1, "", "", "", "", "", "", "", -1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		pst_store_policy p;
		int rc = pst_store_policy_parse(cases[i].txt, &p);
		char got[1400], want[1400];
		snprintf(got, sizeof got, "rc=%d found=%d p=%s sp=%s np=%s adkim=%s aspf=%s t=%s rua=%s pct=%d",
		         rc, p.found, p.p, p.sp, p.np, p.adkim, p.aspf, p.testing, p.rua, p.pct);
		snprintf(want, sizeof want, "rc=%d found=%d p=%s sp=%s np=%s adkim=%s aspf=%s t=%s rua=%s pct=%d",
		         cases[i].rc, cases[i].rc == 0, cases[i].p, cases[i].sp, cases[i].np,
		         cases[i].adkim, cases[i].aspf, cases[i].t, cases[i].rua, cases[i].pct);
		if (strcmp(got, want) != 0)
			fail_msg("case %zu: got %s, want %s", i, got, want);
	}
}

static void override_reason(void **state)
{
	(void)state;
	static const struct {
		const char *dmarc, *policy, *t, *disposition, *decision, *applied, *rule;
		const char *type, *comment;
	} cases[] = {
		{ "pass", "reject", "", "none", "accept", "accept", "", "", "" },
		{ "fail", "reject", "", "reject", "reject", "reject", "dmarc", "", "" },
		{ "fail", "reject", "", "quarantine", "reject", "quarantine", "dmarc",
		  "local_policy", "after-queue: reject applied as quarantine" },
		{ "fail", "quarantine", "y", "none", "accept", "accept", "", "policy_test_mode", "t=y" },
		{ "fail", "reject", "", "none", "accept", "accept", "",
		  "local_policy", "no rule enforced the DMARC policy" },
		{ "pass", "reject", "", "quarantine", "quarantine", "quarantine", "spam",
		  "local_policy", "rule spam" },
		{ "none", "", "", "none", "accept", "accept", "", "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		pst_store_row r;
		memset(&r, 0, sizeof r);
		snprintf(r.dmarc_result, sizeof r.dmarc_result, "%s", cases[i].dmarc);
		snprintf(r.dmarc_policy, sizeof r.dmarc_policy, "%s", cases[i].policy);
		snprintf(r.policy.testing, sizeof r.policy.testing, "%s", cases[i].t);
		snprintf(r.disposition, sizeof r.disposition, "%s", cases[i].disposition);
		snprintf(r.decision, sizeof r.decision, "%s", cases[i].decision);
		snprintf(r.applied, sizeof r.applied, "%s", cases[i].applied);
		snprintf(r.rule, sizeof r.rule, "%s", cases[i].rule);
		pst_store_row_reason(&r);
		if (strcmp(r.reason_type, cases[i].type) != 0 || strcmp(r.reason_comment, cases[i].comment) != 0)
			fail_msg("case %zu: got '%s' '%s', want '%s' '%s'", i, r.reason_type,
			         r.reason_comment, cases[i].type, cases[i].comment);
	}
}

/* ---- Through SQLite ------------------------------------------------------ */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static pst_store_row *sample_row(const char *from)
{
	pst_store_row *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->time = 1700000000;
	pst_store_row_set(r->host, sizeof r->host, "mx1.example.org", (size_t)-1);
	pst_store_row_set(r->header_from, sizeof r->header_from, from, (size_t)-1);
	pst_store_row_set(r->reporting_domain, sizeof r->reporting_domain, from, (size_t)-1);
	pst_store_row_set(r->source_ip, sizeof r->source_ip, "192.0.2.1", (size_t)-1);
	pst_store_row_set(r->spf_result, sizeof r->spf_result, "pass", (size_t)-1);
	pst_store_row_set(r->disposition, sizeof r->disposition, "none", (size_t)-1);
	pst_store_row_set(r->reason_comment, sizeof r->reason_comment, "rule it's \"x\"", (size_t)-1);
	r->policy.found = 1;
	r->policy.pct = -1;
	pst_store_row_set(r->policy.rua, sizeof r->policy.rua, "mailto:a@b.example,'; DROP TABLE message; --", (size_t)-1);
	r->ndkim = 2;
	pst_store_row_set(r->dkim[0].domain, sizeof r->dkim[0].domain, from, (size_t)-1);
	pst_store_row_set(r->dkim[0].selector, sizeof r->dkim[0].selector, "s1", (size_t)-1);
	pst_store_row_set(r->dkim[0].result, sizeof r->dkim[0].result, "pass", (size_t)-1);
	pst_store_row_set(r->dkim[1].result, sizeof r->dkim[1].result, "fail", (size_t)-1);
	return r;
}

static char *query(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	static char out[4096];
	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *t = sqlite3_column_text(st, c);
			size_t n = strlen(out);
			snprintf(out + n, sizeof out - n, "%s%s", c ? "|" : "", t ? (const char *)t : "NULL");
		}
		size_t n = strlen(out);
		snprintf(out + n, sizeof out - n, "\n");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void sqlite_rows_round_trip(void **state)
{
	(void)state;
	char path[128], spec[160], err[512] = "";
	snprintf(path, sizeof path, "%s/r.db", dir);
	snprintf(spec, sizeof spec, "sqlite:%s", path);
	pst_store *s = NULL;
	assert_int_equal(pst_store_open(spec, NULL, &s, err, sizeof err), 0);
	assert_int_equal(pst_store_submit(s, sample_row("a.example")), 0);
	assert_int_equal(pst_store_submit(s, sample_row("b.example")), 0);
	assert_int_equal(pst_store_submit(s, NULL), -1);        /* no row: counted as dropped */
	pst_store_stop(s, 5000);
	assert_int_equal(pst_store_submit(s, sample_row("c.example")), -1); /* stopped: dropped */
	pst_store_stats st;
	pst_store_get_stats(s, &st);
	if (st.written != 2 || st.dropped != 2 || st.failed != 0)
		fail_msg("got written=%lu dropped=%lu failed=%lu, want 2 2 0", st.written, st.dropped,
		         st.failed);
	pst_store_close(&s);
	assert_null(s);
	const char *got = query(path, "SELECT header_from, policy_rua, reason_comment, spf_domain,"
	                        " policy_pct, reported FROM message ORDER BY id");
	const char *want = "a.example|mailto:a@b.example,'; DROP TABLE message; --|rule it's \"x\"|NULL|NULL|0\n"
	                   "b.example|mailto:a@b.example,'; DROP TABLE message; --|rule it's \"x\"|NULL|NULL|0\n";
	if (strcmp(got, want) != 0)
		fail_msg("got:\n%swant:\n%s", got, want);
	got = query(path, "SELECT m.header_from, d.idx, d.domain, d.selector, d.result FROM dkim d"
	            " JOIN message m ON m.id = d.message_id ORDER BY m.id, d.idx");
	want = "a.example|0|a.example|s1|pass\na.example|1|NULL|NULL|fail\n"
	       "b.example|0|b.example|s1|pass\nb.example|1|NULL|NULL|fail\n";
	if (strcmp(got, want) != 0)
		fail_msg("got:\n%swant:\n%s", got, want);
	got = query(path, "PRAGMA journal_mode");
	assert_string_equal(got, "wal\n");
	/* Opened again: the schema is there, version 1. */
	assert_int_equal(pst_store_open(spec, NULL, &s, err, sizeof err), 0);
	pst_store_close(&s);
	assert_string_equal(query(path, "SELECT version FROM schema_version"), "1\n");
}

static void sqlite_refuses_a_newer_schema(void **state)
{
	(void)state;
	char path[128], spec[160], err[512] = "";
	snprintf(path, sizeof path, "%s/new.db", dir);
	snprintf(spec, sizeof spec, "sqlite:%s", path);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE schema_version (version INTEGER);"
	                              "INSERT INTO schema_version VALUES (99)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	pst_store *s = NULL;
	assert_int_equal(pst_store_open(spec, NULL, &s, err, sizeof err), -1);
	assert_null(s);
	if (strstr(err, "schema version 99 is newer than this postern's 1") == NULL)
		fail_msg("got '%s', want the version refusal", err);
}

static void bad_specs(void **state)
{
	(void)state;
	static const struct { const char *spec, *want; } cases[] = {
		{ "mysql:x", "unknown report store 'mysql:x' (want sqlite:PATH or postgresql://...)" },
		{ "mysql://u:pw@h/d", "unknown report store 'mysql://u:***@h/d' (want sqlite:PATH or postgresql://...)" },
		{ "postgresql:/x", "unknown report store 'postgresql:/x' (want sqlite:PATH or postgresql://...)" },
		{ "sqlite:", "report store 'sqlite:' names no path" },
		{ "sqlite:/nonexistent/dir/r.db", "/nonexistent/dir/r.db: unable to open database file" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char err[512] = "";
		pst_store *s = NULL;
		int rc = pst_store_open(cases[i].spec, NULL, &s, err, sizeof err);
		if (rc != -1 || s != NULL || strcmp(err, cases[i].want) != 0)
			fail_msg("case %zu: got %d '%s', want -1 '%s'", i, rc, err, cases[i].want);
	}
}

/* pst_store_mask: a URI's password is never shown. */
static void mask_uri_password(void **state)
{
	(void)state;
	static const struct { const char *spec, *want; } cases[] = {
		{ "sqlite:/var/lib/r.db", "sqlite:/var/lib/r.db" },
		{ "postgresql://db/reports", "postgresql://db/reports" },
		{ "postgresql://u@db/reports", "postgresql://u@db/reports" },
		{ "postgresql://u:secret@db:5433/reports", "postgresql://u:***@db:5433/reports" },
		{ "postgres://u:p@ss@db?sslmode=require", "postgres://u:***@db?sslmode=require" },
		{ "postgresql://u:p@h1,h2/r?x=a@b", "postgresql://u:***@h1,h2/r?x=a@b" },
		{ "postgresql://:pw@db", "postgresql://:***@db" },
		{ "postgresql://db/r?user=u&password=x", "postgresql://db/r?user=u&password=x" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char out[128];
		pst_store_mask(cases[i].spec, out, sizeof out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].want);
	}
}

/* postgresql:// and postgres:// name the PostgreSQL backend: with no
 * server on the port, the open fails with libpq's reason, the URI masked. */
static void pg_uri_schemes(void **state)
{
	(void)state;
	static const char *const specs[] = {
		"postgresql://u:pw@127.0.0.1:1/reports?connect_timeout=2",
		"postgres://u:pw@127.0.0.1:1/reports?connect_timeout=2",
	};
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		char err[512] = "", want[128];
		pst_store *s = NULL;
		int rc = pst_store_open(specs[i], NULL, &s, err, sizeof err);
		snprintf(want, sizeof want, "%.*s://u:***@127.0.0.1:1/reports?connect_timeout=2: connect: ",
		         i ? 8 : 10, specs[i]);
		if (rc != -1 || s != NULL || strncmp(err, want, strlen(want)) != 0 || strstr(err, "pw"))
			fail_msg("case %zu: got %d '%s', want -1 '%s...'", i, rc, err, want);
	}
}

/* A writer held back by its prepare hook: the queue fills, the next row
 * is dropped and counted; submit never waits. */
static volatile int release_writer;

static void slow_prepare(void *arg, pst_store_row *row)
{
	(void)arg;
	(void)row;
	while (!release_writer)
		usleep(1000);
}

static void full_queue_drops(void **state)
{
	(void)state;
	char spec[160], err[512] = "";
	snprintf(spec, sizeof spec, "sqlite:%s/q.db", dir);
	pst_store_opts o = { .prepare = slow_prepare, .queue_max = 4 };
	pst_store *s = NULL;
	release_writer = 0;
	assert_int_equal(pst_store_open(spec, &o, &s, err, sizeof err), 0);
	/* The first row goes to the writer, which holds it; then 4 are
	 * queued and the other 5 dropped. */
	pst_store_stats st;
	assert_int_equal(pst_store_submit(s, sample_row("q.example")), 0);
	for (int i = 0; i < 5000; i++) {
		pst_store_get_stats(s, &st);
		if (st.queued == 0)
			break;
		usleep(1000);
	}
	int dropped = 0;
	for (int i = 0; i < 9; i++)
		dropped += pst_store_submit(s, sample_row("q.example")) < 0;
	pst_store_get_stats(s, &st);
	if (dropped != 5 || st.dropped != 5 || st.queued != 4)
		fail_msg("got %d dropped (counted %lu, %lu queued), want 5 (counted 5, 4 queued)",
		         dropped, st.dropped, st.queued);
	release_writer = 1;
	pst_store_stop(s, 5000);
	pst_store_get_stats(s, &st);
	if (st.written != 5 || st.dropped != 5 || st.failed != 0)
		fail_msg("got written=%lu dropped=%lu failed=%lu, want 5 5 0", st.written,
		         st.dropped, st.failed);
	pst_store_close(&s);
}

/* Rows submitted a few ms apart: the writer, woken by the first, lingers
 * for more (PST_STORE_LINGER_MS) and writes them in one transaction, so
 * nothing is written while they come (a writer taking each row as it
 * comes writes the first within a ms or two) and then all at once
 * (written is counted per batch); a lone row is still written by itself
 * once the linger ends, without a stop. */
static void writer_batches_rows(void **state)
{
	(void)state;
	enum { N = 10, GAP_US = 2000 };     /* 20 ms in all, under the linger */
	char spec[160], err[512] = "";
	snprintf(spec, sizeof spec, "sqlite:%s/batch.db", dir);
	pst_store *s = NULL;
	assert_int_equal(pst_store_open(spec, NULL, &s, err, sizeof err), 0);
	pst_store_row *rows[N];
	for (int i = 0; i < N; i++)
		rows[i] = sample_row("batch.example");
	pst_store_stats st = { 0 };
	for (int i = 0; i < N; i++) {
		assert_int_equal(pst_store_submit(s, rows[i]), 0);
		usleep(GAP_US);
		pst_store_get_stats(s, &st);
		if (st.written != 0)
			fail_msg("%lu rows written while row %d of %d came: want none yet",
			         st.written, i + 1, N);
	}
	for (int i = 0; i < 5000 && st.written == 0; i++) {
		usleep(1000);
		pst_store_get_stats(s, &st);
	}
	if (st.written != N)
		fail_msg("first rows written: %lu, want all %d in one batch", st.written, N);
	assert_int_equal(pst_store_submit(s, sample_row("lone.example")), 0);
	for (int i = 0; i < 5000 && st.written == N; i++) {
		usleep(1000);
		pst_store_get_stats(s, &st);
	}
	if (st.written != N + 1 || st.queued != 0)
		fail_msg("the lone row: written %lu, queued %lu; want %d, 0", st.written, st.queued,
		         N + 1);
	pst_store_close(&s);
}

/* ---- Reading: scan, mark, expire (SQLite) -------------------------------- */

static pst_store_row *timed_row(const char *domain, time_t t)
{
	pst_store_row *r = sample_row(domain);
	r->time = t;
	return r;
}

/* What a scan saw, one line per row: "id domain time ndkim d0 d1result rua". */
struct seen {
	char text[2048];
	int64_t ids[16];
	size_t n;
	pst_store_reader *mark_on;      /* mark each row from the callback */
	size_t stop_after;              /* 0: never stop */
};

static int see(void *arg, int64_t id, const pst_store_row *r)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);
	snprintf(s->text + len, sizeof s->text - len, "%lld %s %lld %zu %s/%s %s %s %d\n",
	         (long long)id, r->reporting_domain[0] ? r->reporting_domain : "-",
	         (long long)r->time, r->ndkim, r->ndkim ? r->dkim[0].domain : "",
	         r->ndkim ? r->dkim[0].selector : "",
	         r->ndkim > 1 ? r->dkim[1].result : "", r->policy.rua, r->policy.pct);
	if (s->n < sizeof s->ids / sizeof *s->ids)
		s->ids[s->n++] = id;
	if (s->mark_on) {
		char err[256];
		if (pst_store_mark(s->mark_on, &id, 1, err, sizeof err) < 0)
			fail_msg("mark from the callback: %s", err);
	}
	return s->stop_after && s->n == s->stop_after ? -1 : 0;
}

static void write_rows(const char *spec, pst_store_row **rows, size_t n)
{
	char err[512] = "";
	pst_store *s = NULL;
	assert_int_equal(pst_store_open(spec, NULL, &s, err, sizeof err), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pst_store_submit(s, rows[i]), 0);
	pst_store_stop(s, 5000);
	pst_store_stats st;
	pst_store_get_stats(s, &st);
	assert_int_equal(st.written, n);
	pst_store_close(&s);
}

/* Rows of a query as "a|b\n" lines, through SQLite or libpq. */
typedef const char *(*query_fn)(const char *where, const char *sql);

static const char *sqlite_query(const char *path, const char *sql)
{
	return query(path, sql);
}

static const char *pg_query(const char *uri, const char *sql)
{
	static char out[4096];
	out[0] = '\0';
	PGconn *c = PQconnectdb(uri);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	for (int t = 0; t < PQntuples(res); t++)
		for (int f = 0; f < PQnfields(res); f++) {
			size_t n = strlen(out);
			snprintf(out + n, sizeof out - n, "%s%s%s", f ? "|" : "",
			         PQgetisnull(res, t, f) ? "NULL" : PQgetvalue(res, t, f),
			         f == PQnfields(res) - 1 ? "\n" : "");
		}
	PQclear(res);
	PQfinish(c);
	return out;
}

/* scan, mark and expire on the store of spec, empty at the start (where:
 * what q reads it through). */
static void scan_mark_expire(const char *spec, const char *where, query_fn q)
{
	char err[512] = "";
	pst_store_row *rows[] = {
		timed_row("b.example", 1000),        /* id 1 */
		timed_row("a.example", 1001),        /* id 2 */
		timed_row("a.example", 2000),        /* id 3: after the period */
		timed_row("c.example", 500),         /* id 4: before it */
		timed_row("", 1200),                 /* id 5: no reporting domain (NULL) */
		timed_row("a.example", 1499),        /* id 6 */
		timed_row("a.example", 1001),        /* id 7: the time of id 2 */
	};
	rows[1]->policy.pct = 50;
	rows[5]->ndkim = 0;
	rows[6]->ndkim = 1;
	write_rows(spec, rows, sizeof rows / sizeof *rows);

	pst_store_reader *rd = NULL;
	if (pst_store_reader_open(spec, &rd, err, sizeof err) < 0)
		fail_msg("open %s: %s", spec, err);
	struct seen s = { .text = "" };
	assert_int_equal(pst_store_scan(rd, 1000, 1500, see, &s, err, sizeof err), 0);
	const char *rua = "mailto:a@b.example,'; DROP TABLE message; --";
	char want[1024];
	snprintf(want, sizeof want,
	         "5 - 1200 2 /s1 fail %s -1\n"
	         "2 a.example 1001 2 a.example/s1 fail %s 50\n"
	         "7 a.example 1001 1 a.example/s1  %s -1\n"
	         "6 a.example 1499 0 /  %s -1\n"
	         "1 b.example 1000 2 b.example/s1 fail %s -1\n", rua, rua, rua, rua, rua);
	if (strcmp(s.text, want) != 0)
		fail_msg("got:\n%swant:\n%s", s.text, want);

	/* fn says stop: the scan ends there, -1 "stopped". */
	struct seen stop = { .text = "", .stop_after = 2 };
	assert_int_equal(pst_store_scan(rd, 1000, 1500, see, &stop, err, sizeof err), -1);
	assert_string_equal(err, "stopped");
	assert_int_equal(stop.n, 2);

	/* Marked: the period has nothing left; the others are still there. */
	assert_int_equal(pst_store_mark(rd, s.ids, s.n, err, sizeof err), 0);
	struct seen again = { .text = "" };
	assert_int_equal(pst_store_scan(rd, 1000, 1500, see, &again, err, sizeof err), 0);
	assert_string_equal(again.text, "");
	assert_string_equal(q(where, "SELECT id FROM message WHERE reported = 1 ORDER BY id"),
	                    "1\n2\n5\n6\n7\n");

	/* Marking from the scan's callback (as the report command does), a
	 * scan stopped after its first row: that row's mark is kept. */
	struct seen marked_one = { .text = "", .mark_on = rd, .stop_after = 1 };
	assert_int_equal(pst_store_scan(rd, 0, 3000, see, &marked_one, err, sizeof err), -1);
	assert_string_equal(err, "stopped");
	struct seen marking = { .text = "", .mark_on = rd };
	assert_int_equal(pst_store_scan(rd, 0, 3000, see, &marking, err, sizeof err), 0);
	assert_int_equal(marking.n, 1);                       /* of ids 3 and 4, the other */
	assert_true(marking.ids[0] != marked_one.ids[0]);
	struct seen none = { .text = "" };
	assert_int_equal(pst_store_scan(rd, 0, 3000, see, &none, err, sizeof err), 0);
	assert_int_equal(none.n, 0);

	/* Expire: the rows before 1001 go with their dkim children. */
	unsigned long deleted = 99;
	assert_int_equal(pst_store_expire(rd, 1001, &deleted, err, sizeof err), 0);
	assert_int_equal(deleted, 2);                         /* ids 1 and 4 */
	assert_string_equal(q(where, "SELECT id FROM message ORDER BY id"), "2\n3\n5\n6\n7\n");
	assert_string_equal(q(where, "SELECT DISTINCT message_id FROM dkim ORDER BY 1"),
	                    "2\n3\n5\n7\n");
	assert_int_equal(pst_store_expire(rd, 1001, &deleted, err, sizeof err), 0);
	assert_int_equal(deleted, 0);
	pst_store_reader_close(&rd);
	assert_null(rd);
	pst_store_reader_close(&rd);                          /* NULL: nothing */
}

static void sqlite_scan_mark_expire(void **state)
{
	(void)state;
	char path[128], spec[160], err[512] = "";
	snprintf(path, sizeof path, "%s/scan.db", dir);
	snprintf(spec, sizeof spec, "sqlite:%s", path);
	scan_mark_expire(spec, path, sqlite_query);

	pst_store_reader *rd = NULL;
	assert_int_equal(pst_store_reader_open("mysql:x", &rd, err, sizeof err), -1);
	assert_null(rd);
	assert_string_equal(err, "unknown report store 'mysql:x' (want sqlite:PATH or postgresql://...)");
	assert_int_equal(pst_store_reader_open("sqlite:", &rd, err, sizeof err), -1);
	assert_string_equal(err, "report store 'sqlite:' names no path");
}

/* The same on PostgreSQL, when PST_TEST_PG_URI names an empty database
 * (tests/lmtp/store_pg.sh runs this program so); skipped otherwise. */
static void pg_scan_mark_expire(void **state)
{
	(void)state;
	const char *uri = getenv("PST_TEST_PG_URI");
	if (uri == NULL || uri[0] == '\0')
		skip();
	scan_mark_expire(uri, uri, pg_query);
}

/* A row of a PostgreSQL batch check: queue id "pbB-I", I % 9 DKIM
 * signatures whose domains name the row and the signature ("pbB-I-K.example"),
 * long texts so that a batch outgrows the socket's buffers. */
static void batch_row(pst_store_row *r, int batch, int i)
{
	memset(r, 0, sizeof *r);
	r->time = 5000;
	snprintf(r->host, sizeof r->host, "mx.test");
	snprintf(r->queue_id, sizeof r->queue_id, "pb%d-%d", batch, i);
	snprintf(r->disposition, sizeof r->disposition, "none");
	memset(r->reason_comment, 'c', sizeof r->reason_comment - 1);
	memset(r->spf_human, 's', sizeof r->spf_human - 1);
	r->policy.pct = -1;
	r->ndkim = (size_t)(i % 9);
	for (size_t k = 0; k < r->ndkim; k++) {
		pst_store_dkim *d = &r->dkim[k];
		snprintf(d->domain, sizeof d->domain, "%s-%zu.example", r->queue_id, k);
		snprintf(d->selector, sizeof d->selector, "s%zu", k);
		snprintf(d->result, sizeof d->result, "pass");
		memset(d->human, 'h', sizeof d->human - 1);
	}
}

/* A PostgreSQL batch check: rows "pbB-0".. to "pbB-(n-1)"; row bad (or
 * -1) gets an invalid UTF-8 byte the server refuses, in its host (dkim 0)
 * or in its second signature's selector (dkim 1); before row kill (or -1)
 * the handle's server process is ended through uri. */
struct batch_spec {
	int batch, n, bad, dkim, kill;
	const char *uri;
};

/* Write b's rows through the backend's begin/insert/commit, one row
 * buffer for all (the backend must not keep the caller's row). 0, or -1
 * after rollback with the reason in err. */
static int pg_batch(void *impl, struct batch_spec b, char *err, size_t errlen)
{
	const pst_store_backend *be = &pst_store_pg;
	pst_store_row *r = malloc(sizeof *r);
	assert_non_null(r);
	int ok = be->begin(impl, err, errlen) == 0;
	for (int i = 0; ok && i < b.n; i++) {
		batch_row(r, b.batch, i);
		if (i == b.bad && b.dkim)
			snprintf(r->dkim[1].selector, sizeof r->dkim[1].selector, "s\xff");
		else if (i == b.bad)
			snprintf(r->host, sizeof r->host, "mx\xff.test");
		if (i == b.kill)
			assert_string_equal(pg_query(b.uri, "SELECT pg_terminate_backend(pid)"
			                             " FROM pg_stat_activity WHERE application_name"
			                             " = 'postern' AND datname = current_database()"),
			                    "t\n");
		ok = be->insert(impl, r, err, errlen) == 0;
	}
	free(r);
	if (ok && be->commit(impl, err, errlen) == 0)
		return 0;
	be->rollback(impl);
	return -1;
}

/* "messages|their dkim rows|dkim rows naming their message" of batch B. */
static const char *pg_batch_counts(const char *uri, int batch)
{
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT (SELECT count(*) FROM message WHERE queue_id LIKE 'pb%d-%%'),"
	         " (SELECT count(*) FROM dkim WHERE domain LIKE 'pb%d-%%'),"
	         " (SELECT count(*) FROM dkim d JOIN message m ON m.id = d.message_id"
	         "  WHERE m.queue_id LIKE 'pb%d-%%'"
	         "  AND d.domain = m.queue_id || '-' || d.idx || '.example')",
	         batch, batch, batch);
	return pg_query(uri, sql);
}

/* The PostgreSQL backend's batches (when PST_TEST_PG_URI is set; the rows
 * are told apart by their queue ids, so any rows already there do not
 * matter): 2,000 rows with 0 to 8 DKIM children each in one batch land
 * with every child linked to its own message; a batch the server refuses
 * (a message row, then a dkim row, with invalid UTF-8) fails whole and
 * leaves no row; the handle then writes a batch again; a batch whose
 * server process ends half-way (after 1,000 rows sent) fails and leaves
 * no row. */
static void pg_batch_links_and_failures(void **state)
{
	(void)state;
	const char *uri = getenv("PST_TEST_PG_URI");
	if (uri == NULL || uri[0] == '\0')
		skip();
	char err[512] = "", want[64];
	void *impl = NULL;
	if (pst_store_pg.open(uri, &impl, err, sizeof err) < 0)
		fail_msg("open: %s", err);

	if (pg_batch(impl, (struct batch_spec){ 1, 2000, -1, 0, -1, uri }, err, sizeof err) < 0)
		fail_msg("batch 1: %s", err);
	int children = 0;
	for (int i = 0; i < 2000; i++)
		children += i % 9;
	snprintf(want, sizeof want, "2000|%d|%d\n", children, children);
	assert_string_equal(pg_batch_counts(uri, 1), want);

	assert_int_equal(pg_batch(impl, (struct batch_spec){ 2, 100, 50, 0, -1, uri }, err,
	                          sizeof err), -1);
	if (strstr(err, "inserting a message row: ERROR:  invalid byte sequence") == NULL)
		fail_msg("batch 2: %s", err);
	assert_string_equal(pg_batch_counts(uri, 2), "0|0|0\n");

	assert_int_equal(pg_batch(impl, (struct batch_spec){ 3, 100, 70, 1, -1, uri }, err,
	                          sizeof err), -1);
	if (strstr(err, "inserting a dkim row: ERROR:  invalid byte sequence") == NULL)
		fail_msg("batch 3: %s", err);
	assert_string_equal(pg_batch_counts(uri, 3), "0|0|0\n");

	if (pg_batch(impl, (struct batch_spec){ 4, 10, -1, 0, -1, uri }, err, sizeof err) < 0)
		fail_msg("batch 4, after two failed: %s", err);
	assert_string_equal(pg_batch_counts(uri, 4), "10|36|36\n");

	err[0] = '\0';
	assert_int_equal(pg_batch(impl, (struct batch_spec){ 5, 2000, -1, 0, 1000, uri }, err,
	                          sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_string_equal(pg_batch_counts(uri, 5), "0|0|0\n");
	pst_store_pg.close(impl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(row_set_cuts_and_masks),
		cmocka_unit_test(policy_tags),
		cmocka_unit_test(override_reason),
		cmocka_unit_test(sqlite_rows_round_trip),
		cmocka_unit_test(sqlite_refuses_a_newer_schema),
		cmocka_unit_test(bad_specs),
		cmocka_unit_test(mask_uri_password),
		cmocka_unit_test(pg_uri_schemes),
		cmocka_unit_test(full_queue_drops),
		cmocka_unit_test(writer_batches_rows),
		cmocka_unit_test(sqlite_scan_mark_expire),
		cmocka_unit_test(pg_scan_mark_expire),
		cmocka_unit_test(pg_batch_links_and_failures),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
