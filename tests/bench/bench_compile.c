/*
 * bench_compile.c: how long compiling takes for large policies: one rule
 * with a 10,000-entry inline domain list, one with a 10,000-entry IP list,
 * and 10,000 rules. Prints the best time of a few runs of each and fails
 * (exit 1) when a policy does not compile or compiles to the wrong shape.
 * Built and run by "make bench", not by "make check".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lang/diag.h"
#include "lang/program.h"
#include "util/buf.h"

#define N 10000
#define RUNS 5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_domains(pst_buf *b)
{
	pst_buf_puts(b, "rule big { when from.domain in {");
	for (int i = 0; i < N; i++)
		pst_buf_printf(b, "%s\"d%d.example.com\"", i ? ", " : " ", i);
	pst_buf_puts(b, " } then reject; }\n");
}

static void make_ips(pst_buf *b)
{
	pst_buf_puts(b, "list nets = ips {");
	for (int i = 0; i < N; i++)
		pst_buf_printf(b, "%s10.%d.%d.0/24", i ? ", " : " ", i / 256, i % 256);
	pst_buf_puts(b, " };\nrule big { when client.ip in nets then accept; }\n");
}

static void make_rules(pst_buf *b)
{
	for (int i = 0; i < N; i++)
		pst_buf_printf(b, "rule r%d {\n  when from.domain == \"d%d.example.com\" and "
		               "header \"X-Tag\" matches /^t%d$/i\n  then add header \"X-R\" \"%d ${rcpt}\";\n}\n",
		               i, i, i, i);
}

/* Compile text RUNS times; the best time in *best. 0, or -1 on errors. */
static int bench(const char *name, const pst_buf *text, size_t want_rules, double *best)
{
	*best = 1e9;
	for (int r = 0; r < RUNS; r++) {
		pst_diags *d = pst_diags_new();
		pst_program *p = NULL;
		double t0 = now();
		int rc = pst_program_compile_text(name, text->data, text->len, NULL, d, &p);
		double t = now() - t0;
		if (rc != 0 || pst_program_rule_count(p) != want_rules) {
			pst_buf out = PST_BUF_INIT;
			pst_diags_render(d, &out);
			fprintf(stderr, "%s: did not compile as expected:\n%s", name, pst_buf_str(&out));
			pst_buf_free(&out);
			pst_diags_free(&d);
			pst_program_free(&p);
			return -1;
		}
		pst_program_free(&p);
		pst_diags_free(&d);
		if (t < *best)
			*best = t;
	}
	return 0;
}

int main(void)
{
	static const struct {
		const char *name;
		void (*make)(pst_buf *);
		size_t rules;
	} cases[] = {
		{ "10,000 domains in one inline list", make_domains, 1 },
		{ "10,000 CIDR blocks in a named list", make_ips, 1 },
		{ "10,000 rules with a regex each", make_rules, N },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_buf text = PST_BUF_INIT;
		cases[i].make(&text);
		double best;
		if (bench(cases[i].name, &text, cases[i].rules, &best) < 0)
			failed = 1;
		else
			printf("%-40s %8.1f ms  (%zu bytes, best of %d)\n", cases[i].name, best * 1e3,
			       text.len, RUNS);
		pst_buf_free(&text);
	}
	return failed;
}
