/*
 * bench_scale.c: how evaluation and compile time grow with the number of
 * rules (issue 7, benchmark 7). For each kind of rule and N in 10, 100,
 * 1,000 and 10,000, a policy of N rules is compiled from text and
 * evaluated over one message whose values match only the last rule (every
 * rule before it has to be ruled out):
 *   domain     rule rI { when from.domain in { "dI.example", "dI.example.net" } ... }
 *   ip         rule rI { when client.ip in { 10.a.b.0/24 } ... }
 *   header-eq  rule rI { when header "X-Tag" == "tI" ... }
 *   regex      rule rI { when header "X-Tag" matches /^tI$/ ... }
 * Each rule adds a header and rejects. Prints, as NAME VALUE UNIT:
 *   scale-KIND-N-compile MS ms          best of a few compiles
 *   scale-KIND-N-eval NS ns/msg         with the rule index (the default)
 *   scale-KIND-N-eval-noindex NS ns/msg every rule evaluated (prog->index NULL)
 *   scale-10000-vs-10-KIND RATIO x      eval at 10,000 over eval at 10
 *   scale-10000-vs-10-KIND-noindex RATIO x
 * Evaluation times are the best of several rounds that alternate the
 * sizes, so a burst of load on this shared machine hits all sizes alike.
 * Exits 1 when a policy does not compile or decides wrongly.
 * POSTERN_BENCH_QUICK=1 (make bench-quick): one short round. Arguments
 * (domain, ip, header-eq, regex) run only those kinds, for profiling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "eval/eval.h"
#include "lang/diag.h"
#include "lang/program.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/ip.h"

#define NSIZES 4
static const size_t sizes[NSIZES] = { 10, 100, 1000, 10000 };

typedef enum kind { K_DOMAIN, K_IP, K_HEADER_EQ, K_REGEX, K__COUNT } kind;
static const char *const kind_names[K__COUNT] = { "domain", "ip", "header-eq", "regex" };

static void die(const char *what)
{
	fprintf(stderr, "bench_scale: %s\n", what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_policy(pst_buf *b, kind k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pst_buf_printf(b, "rule r%zu {\n  when ", i);
		switch (k) {
		case K_DOMAIN:
			pst_buf_printf(b, "from.domain in { \"d%zu.example\", \"d%zu.example.net\" }", i, i);
			break;
		case K_IP:
			pst_buf_printf(b, "client.ip in { 10.%zu.%zu.0/24 }", i / 256, i % 256);
			break;
		case K_HEADER_EQ:
			pst_buf_printf(b, "header \"X-Tag\" == \"t%zu\"", i);
			break;
		case K_REGEX:
			pst_buf_printf(b, "header \"X-Tag\" matches /^t%zu$/", i);
			break;
		case K__COUNT:
			break;
		}
		pst_buf_printf(b, "\n  then add header \"X-Rule\" \"%zu\", reject \"r%zu\";\n}\n", i, i);
	}
}

/* ---- The message: values that match rule n - 1 only --------------------- */

typedef struct message {
	char domain[64], tag[32];
	pst_ip ip;
} message;

static int fact(void *ctx, pst_fact f, pst_value *out)
{
	const message *m = ctx;

	memset(out, 0, sizeof *out);
	out->type = pst_fact_type(f);
	switch (f) {
	case PST_F_FROM_DOMAIN:
		out->known = 1;
		out->u.s.p = m->domain;
		out->u.s.len = strlen(m->domain);
		break;
	case PST_F_CLIENT_IP:
		out->known = 1;
		out->u.ip = m->ip;
		break;
	default:
		break;
	}
	return 0;
}

static size_t hcount(void *ctx, const char *name)
{
	(void)ctx;
	return strcasecmp(name, "X-Tag") == 0;
}

static int hvalue(void *ctx, const char *name, size_t nth, const char **v, size_t *len)
{
	const message *m = ctx;

	if (strcasecmp(name, "X-Tag") != 0 || nth != 0)
		return -1;
	*v = m->tag;
	*len = strlen(m->tag);
	return 0;
}

static void make_message(message *m, size_t n)
{
	char ip[32];
	size_t last = n - 1;

	snprintf(m->domain, sizeof m->domain, "mail.d%zu.example", last);
	snprintf(m->tag, sizeof m->tag, "t%zu", last);
	snprintf(ip, sizeof ip, "10.%zu.%zu.77", last / 256, last % 256);
	if (pst_ip_parse(ip, strlen(ip), &m->ip) != 0)
		die("bad IP");
}

/* One evaluation; dies unless rule n - 1 rejected. */
static void eval_once(const pst_program *p, const pst_fact_source *src, size_t n)
{
	pst_arena *a = pst_arena_new();
	pst_outcome o;
	char want[32];

	if (a == NULL || pst_eval_recipient(p, src, "user@rcpt.example", NULL, a, &o) != 0)
		die("evaluation failed");
	snprintf(want, sizeof want, "r%zu", n - 1);
	if (o.decision != PST_DECIDE_REJECT || o.rule == NULL || strcmp(o.rule, want) != 0 ||
	    o.nedits != 1)
		die("the wrong rule decided");
	pst_arena_free(&a);
}

/* ns per evaluation over about seconds. */
static double time_eval(const pst_program *p, const pst_fact_source *src, size_t n,
                        double seconds)
{
	size_t evals = 0;
	double start = now(), elapsed;

	do {
		for (int k = 0; k < 20; k++)
			eval_once(p, src, n);
		evals += 20;
		elapsed = now() - start;
	} while (elapsed < seconds);
	return elapsed * 1e9 / (double)evals;
}

typedef struct sized {
	pst_program *prog;
	const struct pst_index *index;
	message msg;
	pst_fact_source src;
	double compile_ms, eval_ns, noindex_ns;
} sized;

static pst_program *compile(const pst_buf *text, double *ms)
{
	pst_diags *d = pst_diags_new();
	pst_program *p = NULL;
	double t0 = now();

	if (d == NULL)
		die("out of memory");
	if (pst_program_compile_text("scale.rules", text->data, text->len, NULL, d, &p) != 0) {
		pst_buf out = PST_BUF_INIT;

		pst_diags_render(d, &out);
		fprintf(stderr, "%s", pst_buf_str(&out));
		die("a policy did not compile");
	}
	*ms = (now() - t0) * 1e3;
	pst_diags_free(&d);
	return p;
}

static void run_kind(kind k, int quick)
{
	sized s[NSIZES];
	int compiles = quick ? 1 : 3, rounds = quick ? 1 : 5;
	double per = quick ? 0.03 : 0.12;

	for (size_t i = 0; i < NSIZES; i++) {
		pst_buf text = PST_BUF_INIT;

		make_policy(&text, k, sizes[i]);
		s[i].compile_ms = 1e18;
		s[i].prog = NULL;
		for (int c = 0; c < compiles; c++) {
			double ms;
			pst_program *p = compile(&text, &ms);

			if (ms < s[i].compile_ms)
				s[i].compile_ms = ms;
			if (s[i].prog == NULL)
				s[i].prog = p;
			else
				pst_program_free(&p);
		}
		pst_buf_free(&text);
		s[i].index = s[i].prog->index;
		make_message(&s[i].msg, sizes[i]);
		s[i].src.fact = fact;
		s[i].src.header_count = hcount;
		s[i].src.header_value = hvalue;
		s[i].src.ctx = &s[i].msg;
		s[i].eval_ns = s[i].noindex_ns = 1e18;
	}
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < NSIZES; i++) {
			double t;

			s[i].prog->index = s[i].index;
			if ((t = time_eval(s[i].prog, &s[i].src, sizes[i], per)) < s[i].eval_ns)
				s[i].eval_ns = t;
			s[i].prog->index = NULL;
			if ((t = time_eval(s[i].prog, &s[i].src, sizes[i], per)) < s[i].noindex_ns)
				s[i].noindex_ns = t;
			s[i].prog->index = s[i].index;
		}
	for (size_t i = 0; i < NSIZES; i++) {
		printf("scale-%s-%zu-compile %.2f ms\n", kind_names[k], sizes[i], s[i].compile_ms);
		printf("scale-%s-%zu-eval %.0f ns/msg\n", kind_names[k], sizes[i], s[i].eval_ns);
		printf("scale-%s-%zu-eval-noindex %.0f ns/msg\n", kind_names[k], sizes[i],
		       s[i].noindex_ns);
	}
	printf("scale-10000-vs-10-%s %.2f x\n", kind_names[k], s[NSIZES - 1].eval_ns / s[0].eval_ns);
	printf("scale-10000-vs-10-%s-noindex %.2f x\n", kind_names[k],
	       s[NSIZES - 1].noindex_ns / s[0].noindex_ns);
	fflush(stdout);
	for (size_t i = 0; i < NSIZES; i++)
		pst_program_free(&s[i].prog);
}

/* Arguments, for profiling: kind names to run (default all). */
int main(int argc, char **argv)
{
	const char *q = getenv("POSTERN_BENCH_QUICK");
	int quick = q != NULL && *q != '\0' && strcmp(q, "0") != 0;

	for (int k = 0; k < K__COUNT; k++) {
		int want = argc < 2;

		for (int i = 1; i < argc; i++)
			want |= strcmp(argv[i], kind_names[k]) == 0;
		if (want)
			run_kind((kind)k, quick);
	}
	return 0;
}
