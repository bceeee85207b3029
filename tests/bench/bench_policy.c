/*
 * bench_policy.c: compile and evaluation cost of large policies through the
 * public API (postern.h).
 *
 *   bench_policy [N]
 *
 * Builds, in memory, policies with N (default 10,000) entries:
 *   - one rule "from.domain in { N domains }";
 *   - N rules "from.domain == ..." / "client.ip in { ... }" alternating;
 * and the same with 10 entries, then prints the compile time of each and
 * the evaluations per second of one 4 KB-header message against each, with
 * the ratio large/small (the target: evaluation at 10,000 rules <= 2x at
 * 10; compile of 10,000 rules < 1 s). Not part of make check: figures, not
 * pass/fail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postern.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growable text, enough for a generated policy. Exits on ENOMEM: this is
 * a benchmark, not the library. */
typedef struct text { char *p; size_t len, cap; } text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			exit(70);
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		if ((t->p = realloc(t->p, t->cap)) == NULL)
			exit(71);
	}
}

static text one_list_policy(size_t n)
{
	text t = { 0 };
	add(&t, "rule big_list {\n  when from.domain in {");
	for (size_t i = 0; i < n; i++)
		add(&t, "%s\"d%zu.example.com\"", i ? ", " : " ", i);
	add(&t, " }\n  then reject 550 5.7.1 \"listed\";\n}\n");
	return t;
}

static text many_rules_policy(size_t n)
{
	text t = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (i % 2)
			add(&t, "rule r%zu { when client.ip in { 198.51.%zu.%zu/32 } then tag \"t%zu\"; }\n",
			    i, (i / 256) % 256, i % 256, i);
		else
			add(&t, "rule r%zu { when from.domain == \"d%zu.example.com\" then tag \"t%zu\"; }\n",
			    i, i, i);
	}
	return t;
}

static pst_policy *compile(const char *what, const text *t, double *secs)
{
	pst_policy *p = NULL;
	pst_compile_report rep = { 0, 0, NULL };
	double t0 = now_s();
	int rc = pst_policy_compile_text(what, t->p, t->len, NULL, &p, &rep);
	*secs = now_s() - t0;
	if (rc < 0) {
		fprintf(stderr, "%s does not compile:\n%s", what, rep.text ? rep.text : "");
		exit(1);
	}
	pst_report_clear(&rep);
	return p;
}

static char *make_message(size_t *len)
{
	text t = { 0 };
	add(&t, "From: Someone <someone@sender.example.net>\r\nTo: rcpt@example.org\r\n"
	        "Subject: a benchmark message\r\n");
	while (t.len < 4000)
		add(&t, "X-Filler-%zu: %s\r\n", t.len,
		    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do");
	add(&t, "\r\nbody\r\n");
	*len = t.len;
	return t.p;
}

/* Evaluations per second of msg against p over about a second. */
static double evals_per_s(const pst_policy *p, const char *msg, size_t len)
{
	const char *rcpts[] = { "rcpt@example.org" };
	pst_envelope env = { .client_ip = "192.0.2.1", .mail_from = "a@sender.example.net",
	                     .rcpts = rcpts, .nrcpts = 1 };
	size_t n = 0;
	double t0 = now_s(), el;
	do {
		for (int k = 0; k < 200; k++, n++) {
			pst_message *m = NULL;
			char err[256];
			if (pst_message_new(p, msg, len, &env, NULL, &m, err, sizeof err) < 0 ||
			    pst_message_evaluate(m) < 0) {
				fprintf(stderr, "evaluation failed: %s\n", err);
				exit(1);
			}
			pst_message_free(&m);
		}
	} while ((el = now_s() - t0) < 1.0);
	return (double)n / el;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t len;
	char *msg = make_message(&len);
	struct { const char *what; text (*make)(size_t); } kinds[] = {
		{ "one list", one_list_policy },
		{ "many rules", many_rules_policy },
	};
	printf("bench_policy: %zu entries vs 10, one message with %zu header bytes\n", n, len);
	for (size_t k = 0; k < 2; k++) {
		text small = kinds[k].make(10), large = kinds[k].make(n);
		double cs, cl;
		pst_policy *ps = compile("small.rules", &small, &cs);
		pst_policy *pl = compile("large.rules", &large, &cl);
		double es = evals_per_s(ps, msg, len), el = evals_per_s(pl, msg, len);
		printf("%-10s compile: 10 in %.3f ms, %zu in %.3f ms (%zu bytes of rules)\n",
		       kinds[k].what, cs * 1e3, n, cl * 1e3, large.len);
		printf("%-10s evaluate: 10: %.0f msgs/s, %zu: %.0f msgs/s, time ratio %.2f (target <= 2)\n",
		       kinds[k].what, es, n, el, es / el);
		pst_policy_free(&ps);
		pst_policy_free(&pl);
		free(small.p);
		free(large.p);
	}
	free(msg);
	return 0;
}
