/* Unit tests for engine/rua/aggregate.c: identical rows grouped into one
 * record with its count, a new record for each differing field (IP,
 * disposition, alignment, a DKIM result, the number of signatures, the
 * reason), the newest row's found policy, the tables grown past their
 * first sizes, an allocation failure leaving the report as it was, and
 * pst_rua_collect over a SQLite store: one report per reporting domain
 * (rows without one skipped) with its counts and ids, marking from the
 * callback, and a callback that stops the collection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failalloc.h"
#include "rua/rua.h"

#define SET(f, s) pst_store_row_set(f, sizeof f, s, (size_t)-1)

static void base_row(pst_store_row *r, const char *domain)
{
	memset(r, 0, sizeof *r);
	r->time = 1000;
	SET(r->host, "mx.example.org");
	SET(r->reporting_domain, domain);
	SET(r->header_from, domain);
	SET(r->envelope_from, domain);
	SET(r->source_ip, "192.0.2.1");
	SET(r->spf_result, "pass");
	SET(r->spf_domain, domain);
	SET(r->spf_scope, "mfrom");
	SET(r->disposition, "none");
	SET(r->dmarc_result, "pass");
	r->spf_aligned = r->dkim_aligned = 1;
	r->ndkim = 2;
	SET(r->dkim[0].domain, domain);
	SET(r->dkim[0].selector, "s1");
	SET(r->dkim[0].result, "pass");
	SET(r->dkim[1].domain, "esp.example");
	SET(r->dkim[1].selector, "k1");
	SET(r->dkim[1].result, "pass");
	r->policy.pct = -1;
}

static void groups_identical_rows(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_store_row row;
	pst_rua_report_init(&r, "a.example", 100, 200);
	base_row(&row, "a.example");
	for (int64_t id = 10; id < 13; id++)
		assert_int_equal(pst_rua_report_add(&r, id, &row), 0);
	assert_string_equal(r.domain, "a.example");
	assert_int_equal(r.begin, 100);
	assert_int_equal(r.end, 200);
	assert_int_equal(r.nrec, 1);
	assert_int_equal(r.rec[0].count, 3);
	assert_int_equal(r.messages, 3);
	assert_int_equal(r.nids, 3);
	assert_int_equal(r.ids[0], 10);
	assert_int_equal(r.ids[2], 12);
	assert_string_equal(r.rec[0].source_ip, "192.0.2.1");
	assert_string_equal(r.rec[0].spf_scope, "mfrom");
	assert_int_equal(r.rec[0].ndkim, 2);
	assert_string_equal(r.rec[0].dkim[1].domain, "esp.example");
	assert_int_equal(r.rec[0].dkim_aligned, 1);
	assert_int_equal(r.policy.found, 0);           /* no row had a record */
	pst_rua_report_free(&r);
	assert_null(r.rec);
	pst_rua_report_free(&r);                        /* a second time: nothing */
	pst_rua_report zero;
	memset(&zero, 0, sizeof zero);
	pst_rua_report_free(&zero);
}

/* Each variant differs from the base row in one field: a record each;
 * the base row again joins the first record. */
static void splits_on_a_differing_field(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_store_row row;
	pst_rua_report_init(&r, "a.example", 0, 1);
	base_row(&row, "a.example");
	assert_int_equal(pst_rua_report_add(&r, 1, &row), 0);
	static const char *const what[] = { "ip", "disposition", "dkim result", "reason",
		                            "ndkim", "spf aligned", "dkim human", "envelope_from",
		                            "reason type", "dkim aligned", "spf_human" };
	size_t nv = sizeof what / sizeof *what;
	for (size_t v = 0; v < nv; v++) {
		base_row(&row, "a.example");
		switch (v) {
		case 0: SET(row.source_ip, "192.0.2.2"); break;
		case 1: SET(row.disposition, "quarantine"); break;
		case 2: SET(row.dkim[1].result, "fail"); break;
		case 3: SET(row.reason_comment, "rule x"); break;
		case 4: row.ndkim = 1; break;
		case 5: row.spf_aligned = 0; break;
		case 6: SET(row.dkim[0].human, "body hash mismatch"); break;
		case 7: row.envelope_from[0] = '\0'; break;
		case 8: SET(row.reason_type, "local_policy"); break;
		case 9: row.dkim_aligned = 0; break;
		case 10: SET(row.spf_human, "x"); break;
		}
		assert_int_equal(pst_rua_report_add(&r, (int64_t)(2 + v), &row), 0);
		if (r.nrec != v + 2)
			fail_msg("variant '%s': %zu records, want %zu", what[v], r.nrec, v + 2);
		/* The same variant again: counted in its record. */
		assert_int_equal(pst_rua_report_add(&r, (int64_t)(100 + v), &row), 0);
		if (r.nrec != v + 2 || r.rec[v + 1].count != 2)
			fail_msg("variant '%s' again: %zu records, count %lu", what[v], r.nrec,
			         r.rec[v + 1].count);
	}
	base_row(&row, "a.example");
	assert_int_equal(pst_rua_report_add(&r, 999, &row), 0);
	assert_int_equal(r.nrec, nv + 1);
	assert_int_equal(r.rec[0].count, 2);
	assert_string_equal(r.rec[1].source_ip, "192.0.2.2");
	assert_string_equal(r.rec[2].disposition, "quarantine");
	assert_string_equal(r.rec[3].dkim[1].result, "fail");
	assert_string_equal(r.rec[4].reason_comment, "rule x");
	assert_int_equal(r.rec[5].ndkim, 1);
	assert_int_equal(r.rec[6].spf_aligned, 0);
	assert_int_equal(r.messages, 2 * nv + 2);
	assert_int_equal(r.nids, 2 * nv + 2);
	pst_rua_report_free(&r);
}

static void with_policy(pst_store_row *row, time_t t, const char *p)
{
	base_row(row, "a.example");
	row->time = t;
	if (p) {
		char txt[64];
		snprintf(txt, sizeof txt, "v=DMARC1; p=%s", p);
		assert_int_equal(pst_store_policy_parse(txt, &row->policy), 0);
	}
}

static void newest_policy(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_store_row row;
	pst_rua_report_init(&r, "a.example", 0, 1);
	with_policy(&row, 100, "none");
	assert_int_equal(pst_rua_report_add(&r, 1, &row), 0);
	assert_string_equal(r.policy.p, "none");
	with_policy(&row, 300, "reject");
	assert_int_equal(pst_rua_report_add(&r, 2, &row), 0);
	with_policy(&row, 200, "quarantine");                /* older: kept out */
	assert_int_equal(pst_rua_report_add(&r, 3, &row), 0);
	assert_string_equal(r.policy.p, "reject");
	with_policy(&row, 400, NULL);                        /* newer, no record found */
	assert_int_equal(pst_rua_report_add(&r, 4, &row), 0);
	assert_int_equal(r.policy.found, 1);
	assert_string_equal(r.policy.p, "reject");
	with_policy(&row, 300, "quarantine");                /* same time, higher id */
	assert_int_equal(pst_rua_report_add(&r, 5, &row), 0);
	assert_string_equal(r.policy.p, "quarantine");
	with_policy(&row, 300, "none");                      /* same time, lower id */
	assert_int_equal(pst_rua_report_add(&r, 0, &row), 0);
	assert_string_equal(r.policy.p, "quarantine");
	assert_int_equal(r.nrec, 1);                         /* the policy is no key */
	pst_rua_report_free(&r);
}

/* Thousands of records and ids: the table and arrays grow, nothing lost. */
static void grows(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_store_row row;
	pst_rua_report_init(&r, "a.example", 0, 1);
	base_row(&row, "a.example");
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < 3000; i++) {
			snprintf(row.source_ip, sizeof row.source_ip, "10.0.%d.%d", i / 256, i % 256);
			assert_int_equal(pst_rua_report_add(&r, pass * 3000 + i, &row), 0);
		}
	assert_int_equal(r.nrec, 3000);
	assert_int_equal(r.nids, 9000);
	for (size_t k = 0; k < r.nrec; k++) {
		char want[64];
		snprintf(want, sizeof want, "10.0.%zu.%zu", k / 256, k % 256);
		if (r.rec[k].count != 3 || strcmp(r.rec[k].source_ip, want) != 0)
			fail_msg("record %zu: %s count %lu, want %s count 3", k, r.rec[k].source_ip,
			         r.rec[k].count, want);
	}
	assert_int_equal(r.ids[8999], 8999);
	pst_rua_report_free(&r);
}

/* Every allocation of an add failed in turn: -1, and the report counts
 * what it counted before. */
static void allocation_failure(void **state)
{
	(void)state;
	pst_store_row row;
	base_row(&row, "a.example");
	int failures = 0;
	for (long n = 1; n < 400; n++) {
		pst_rua_report r;
		pst_rua_report_init(&r, "a.example", 0, 1);
		unsigned long added = 0;
		pst_failalloc_failed = 0;
		pst_failalloc_countdown = n;
		for (int i = 0; i < 200; i++) {
			snprintf(row.source_ip, sizeof row.source_ip, "10.0.0.%d", i % 100);
			unsigned long before = r.messages;
			size_t nrec = r.nrec;
			if (pst_rua_report_add(&r, i, &row) < 0) {
				failures++;
				if (r.messages != before || r.nrec != nrec || r.nids != before)
					fail_msg("n=%ld: a failed add changed the report", n);
				break;
			}
			added++;
		}
		pst_failalloc_countdown = 0;
		unsigned long sum = 0;
		for (size_t k = 0; k < r.nrec; k++)
			sum += r.rec[k].count;
		if (sum != added || r.messages != added)
			fail_msg("n=%ld: counts %lu, messages %lu, want %lu", n, sum, r.messages, added);
		pst_rua_report_free(&r);
		if (!pst_failalloc_failed)
			break;
	}
	assert_true(failures > 3);
}

/* ---- pst_rua_collect over SQLite ---------------------------------------- */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_rua.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct got {
	char text[1024];
	int calls, stop_at;
	pst_store_reader *mark_on;
};

static int on_report(void *arg, pst_rua_report *r)
{
	struct got *g = arg;
	size_t len = strlen(g->text);
	snprintf(g->text + len, sizeof g->text - len, "%s %lld-%lld %lu msgs %zu recs %zu ids p=%s:",
	         r->domain, (long long)r->begin, (long long)r->end, r->messages, r->nrec, r->nids,
	         r->policy.p);
	for (size_t k = 0; k < r->nrec; k++) {
		len = strlen(g->text);
		snprintf(g->text + len, sizeof g->text - len, " %s=%lu", r->rec[k].source_ip,
		         r->rec[k].count);
	}
	len = strlen(g->text);
	snprintf(g->text + len, sizeof g->text - len, "\n");
	g->calls++;
	if (g->mark_on) {
		char err[256];
		if (pst_store_mark(g->mark_on, r->ids, r->nids, err, sizeof err) < 0)
			fail_msg("mark: %s", err);
	}
	return g->calls == g->stop_at ? -1 : 0;
}

static pst_store_row *stored(const char *domain, const char *ip, time_t t, const char *p)
{
	pst_store_row *row = malloc(sizeof *row);
	assert_non_null(row);
	base_row(row, domain);
	SET(row->source_ip, ip);
	row->time = t;
	if (p) {
		char txt[64];
		snprintf(txt, sizeof txt, "v=DMARC1; p=%s", p);
		assert_int_equal(pst_store_policy_parse(txt, &row->policy), 0);
	}
	return row;
}

static void collect_per_domain(void **state)
{
	(void)state;
	char spec[160], err[512] = "";
	snprintf(spec, sizeof spec, "sqlite:%s/c.db", dir);
	pst_store *s = NULL;
	assert_int_equal(pst_store_open(spec, NULL, &s, err, sizeof err), 0);
	pst_store_row *rows[] = {
		stored("b.example", "192.0.2.1", 1000, "reject"),
		stored("a.example", "192.0.2.1", 1001, "none"),
		stored("b.example", "192.0.2.1", 1002, "reject"),
		stored("a.example", "192.0.2.9", 1003, "quarantine"),
		stored("", "192.0.2.7", 1004, NULL),           /* no reporting domain */
		stored("c.example", "192.0.2.3", 1005, NULL),
		stored("a.example", "192.0.2.1", 1006, NULL),
		stored("a.example", "192.0.2.1", 5000, "reject"),  /* after the period */
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		assert_int_equal(pst_store_submit(s, rows[i]), 0);
	pst_store_stop(s, 5000);
	pst_store_close(&s);

	pst_store_reader *rd = NULL;
	assert_int_equal(pst_store_reader_open(spec, &rd, err, sizeof err), 0);
	const char *want =
		"a.example 1000-2000 3 msgs 2 recs 3 ids p=quarantine: 192.0.2.1=2 192.0.2.9=1\n"
		"b.example 1000-2000 2 msgs 1 recs 2 ids p=reject: 192.0.2.1=2\n"
		"c.example 1000-2000 1 msgs 1 recs 1 ids p=: 192.0.2.3=1\n";
	struct got g = { .text = "" };
	assert_int_equal(pst_rua_collect(rd, 1000, 2000, on_report, &g, err, sizeof err), 0);
	assert_int_equal(g.calls, 3);
	if (strcmp(g.text, want) != 0)
		fail_msg("got:\n%swant:\n%s", g.text, want);

	/* fn says stop after the first domain. */
	struct got stop = { .text = "", .stop_at = 1 };
	assert_int_equal(pst_rua_collect(rd, 1000, 2000, on_report, &stop, err, sizeof err), -1);
	assert_int_equal(stop.calls, 1);
	assert_string_equal(err, "stopped");
	/* ... and after the last (the one given at the end of the scan). */
	struct got last = { .text = "", .stop_at = 3 };
	assert_int_equal(pst_rua_collect(rd, 1000, 2000, on_report, &last, err, sizeof err), -1);
	assert_int_equal(last.calls, 3);

	/* Marked from the callback: collected once, then nothing is left. */
	struct got marking = { .text = "", .mark_on = rd };
	assert_int_equal(pst_rua_collect(rd, 1000, 2000, on_report, &marking, err, sizeof err), 0);
	assert_string_equal(marking.text, want);
	struct got none = { .text = "" };
	assert_int_equal(pst_rua_collect(rd, 1000, 2000, on_report, &none, err, sizeof err), 0);
	assert_int_equal(none.calls, 0);
	/* The period after: its own row. */
	assert_int_equal(pst_rua_collect(rd, 2000, 6000, on_report, &none, err, sizeof err), 0);
	assert_string_equal(none.text,
	                    "a.example 2000-6000 1 msgs 1 recs 1 ids p=reject: 192.0.2.1=1\n");
	pst_store_reader_close(&rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(groups_identical_rows),
		cmocka_unit_test(splits_on_a_differing_field),
		cmocka_unit_test(newest_policy),
		cmocka_unit_test(grows),
		cmocka_unit_test(allocation_failure),
		cmocka_unit_test(collect_per_domain),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
