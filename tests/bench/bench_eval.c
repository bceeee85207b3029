/*
 * bench_eval.c: evaluations per second of a hand-built program of N rules,
 * alternately "from.domain in { 3 domains }" and "client.ip in { 3 blocks }",
 * none of which matches (every rule is evaluated), for N = 10 and 10,000.
 * Not part of make check: make tests/bench/bench_eval && tests/bench/bench_eval
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval.h"
#include "lang/program.h"
#include "util/arena.h"
#include "util/domain.h"
#include "util/ip.h"

typedef struct bench_prog {
	pst_program prog;
	pst_program_rule *rules;
	pst_expr *exprs;
	pst_list *lists;
	pst_domainset **dsets;
	pst_ipset **isets;
	char **names;
	size_t n;
} bench_prog;

static const pst_rule_action reject = { .kind = PST_ACT_REJECT };

static void die(const char *what)
{
	fprintf(stderr, "bench_eval: %s\n", what);
	exit(1);
}

static void add_block(pst_ipset *s, const char *text)
{
	pst_cidr c;

	if (pst_cidr_parse(text, strlen(text), &c, NULL, NULL) != 0 || pst_ipset_add(s, &c) != 0)
		die("bad block");
}

static void build(bench_prog *b, size_t n)
{
	memset(b, 0, sizeof *b);
	b->n = n;
	b->rules = calloc(n, sizeof *b->rules);
	b->exprs = calloc(n, sizeof *b->exprs);
	b->lists = calloc(n, sizeof *b->lists);
	b->dsets = calloc(n, sizeof *b->dsets);
	b->isets = calloc(n, sizeof *b->isets);
	b->names = calloc(n, sizeof *b->names);
	if (!b->rules || !b->exprs || !b->lists || !b->dsets || !b->isets || !b->names)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		char text[64];
		pst_expr *e = &b->exprs[i];
		pst_list *l = &b->lists[i];

		snprintf(text, sizeof text, "rule_%zu", i);
		b->names[i] = strdup(text);
		e->kind = PST_EXPR_TEST;
		e->lhs.kind = PST_OPND_FACT;
		e->cmp = PST_CMP_IN;
		e->list = l;
		if (i % 2 == 0) {
			e->lhs.fact = PST_F_FROM_DOMAIN;
			l->kind = PST_LIST_DOMAINS;
			if ((b->dsets[i] = pst_domainset_new()) == NULL)
				die("out of memory");
			for (int k = 0; k < 3; k++) {
				snprintf(text, sizeof text, "d%zu-%d.example", i, k);
				if (pst_domainset_add(b->dsets[i], text) != 0)
					die("out of memory");
			}
			l->domains = b->dsets[i];
		} else {
			e->lhs.fact = PST_F_CLIENT_IP;
			l->kind = PST_LIST_IPS;
			if ((b->isets[i] = pst_ipset_new()) == NULL)
				die("out of memory");
			for (int k = 0; k < 3; k++) {
				snprintf(text, sizeof text, "10.%zu.%zu.%d/32", (i >> 8) & 255, i & 255, k);
				add_block(b->isets[i], text);
			}
			if (pst_ipset_freeze(b->isets[i]) != 0)
				die("out of memory");
			l->ips = b->isets[i];
		}
		e->lhs.type = pst_fact_type(e->lhs.fact);
		e->lhs.text = pst_fact_name(e->lhs.fact);
		b->rules[i].name = b->names[i];
		b->rules[i].file = "bench.rules";
		b->rules[i].line = (unsigned)i + 1;
		b->rules[i].when = e;
		b->rules[i].actions = &reject;
		b->rules[i].nactions = 1;
	}
	b->prog.rules = b->rules;
	b->prog.nrules = n;
}

static void destroy(bench_prog *b)
{
	for (size_t i = 0; i < b->n; i++) {
		pst_domainset_free(&b->dsets[i]);
		pst_ipset_free(&b->isets[i]);
		free(b->names[i]);
	}
	free(b->rules);
	free(b->exprs);
	free(b->lists);
	free(b->dsets);
	free(b->isets);
	free(b->names);
}

static pst_ip client;

static int fact(void *ctx, pst_fact f, pst_value *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	out->type = pst_fact_type(f);
	if (f == PST_F_FROM_DOMAIN) {
		out->known = 1;
		out->u.s.p = "mail.sender.example";
		out->u.s.len = strlen(out->u.s.p);
	} else if (f == PST_F_CLIENT_IP) {
		out->known = 1;
		out->u.ip = client;
	}
	return 0;
}

static size_t hcount(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return 0;
}

static int hvalue(void *ctx, const char *name, size_t nth, const char **v, size_t *len)
{
	(void)ctx;
	(void)name;
	(void)nth;
	(void)v;
	(void)len;
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(size_t nrules, double seconds)
{
	bench_prog b;
	pst_fact_source src = { fact, hcount, hvalue, NULL };
	size_t evals = 0;
	double start, elapsed;

	build(&b, nrules);
	start = now();
	do {
		for (int k = 0; k < 100; k++) {
			pst_arena *a = pst_arena_new();
			pst_outcome o;

			if (a == NULL || pst_eval_recipient(&b.prog, &src, "rcpt@example.org", NULL, a,
			                                    &o) != 0)
				die("evaluation failed");
			if (o.decision != PST_DECIDE_ACCEPT)
				die("a rule matched, want none");
			pst_arena_free(&a);
			evals++;
		}
		elapsed = now() - start;
	} while (elapsed < seconds);
	printf("%6zu rules: %10.0f evaluations/s, %8.1f ns/rule\n", nrules, evals / elapsed,
	       elapsed * 1e9 / ((double)evals * nrules));
	destroy(&b);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;

	if (pst_ip_parse("192.0.2.77", 10, &client) != 0)
		die("bad client IP");
	run(10, seconds);
	run(10000, seconds);
	return 0;
}
