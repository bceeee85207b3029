/* One regex path: "remove header ... matching /re/" matches as a MATCHES
 * test does (eval/regex.h). For each row a program is compiled with both
 * a test and an edit on the same regex and limit; the test's result (a
 * tag) and the edit's filter must agree with each other and with the
 * row. The program is linked with ld --wrap around PCRE2's match data and
 * context constructors and its two match functions, so the test also sees
 * that the edit filter runs the same PCRE2 function as the evaluator (the
 * JIT one when the pattern was JIT-compiled) and allocates nothing per
 * field: the thread's match data is made once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "eval/eval.h"
#include "lang/diag.h"
#include "lang/program.h"
#include "util/arena.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- PCRE2, counted (ld --wrap) ------------------------------------------- */

static unsigned long n_md_create, n_mctx_create, n_jit_match, n_match;

pcre2_match_data *__real_pcre2_match_data_create_8(uint32_t n, pcre2_general_context *g);
pcre2_match_data *__wrap_pcre2_match_data_create_8(uint32_t n, pcre2_general_context *g);
pcre2_match_context *__real_pcre2_match_context_create_8(pcre2_general_context *g);
pcre2_match_context *__wrap_pcre2_match_context_create_8(pcre2_general_context *g);
int __real_pcre2_jit_match_8(const pcre2_code *c, PCRE2_SPTR s, PCRE2_SIZE n, PCRE2_SIZE off,
                             uint32_t opts, pcre2_match_data *md, pcre2_match_context *mc);
int __wrap_pcre2_jit_match_8(const pcre2_code *c, PCRE2_SPTR s, PCRE2_SIZE n, PCRE2_SIZE off,
                             uint32_t opts, pcre2_match_data *md, pcre2_match_context *mc);
int __real_pcre2_match_8(const pcre2_code *c, PCRE2_SPTR s, PCRE2_SIZE n, PCRE2_SIZE off,
                         uint32_t opts, pcre2_match_data *md, pcre2_match_context *mc);
int __wrap_pcre2_match_8(const pcre2_code *c, PCRE2_SPTR s, PCRE2_SIZE n, PCRE2_SIZE off,
                         uint32_t opts, pcre2_match_data *md, pcre2_match_context *mc);

pcre2_match_data *__wrap_pcre2_match_data_create_8(uint32_t n, pcre2_general_context *g)
{
	__atomic_add_fetch(&n_md_create, 1, __ATOMIC_SEQ_CST);
	return __real_pcre2_match_data_create_8(n, g);
}

pcre2_match_context *__wrap_pcre2_match_context_create_8(pcre2_general_context *g)
{
	__atomic_add_fetch(&n_mctx_create, 1, __ATOMIC_SEQ_CST);
	return __real_pcre2_match_context_create_8(g);
}

int __wrap_pcre2_jit_match_8(const pcre2_code *c, PCRE2_SPTR s, PCRE2_SIZE n, PCRE2_SIZE off,
                             uint32_t opts, pcre2_match_data *md, pcre2_match_context *mc)
{
	__atomic_add_fetch(&n_jit_match, 1, __ATOMIC_SEQ_CST);
	return __real_pcre2_jit_match_8(c, s, n, off, opts, md, mc);
}

int __wrap_pcre2_match_8(const pcre2_code *c, PCRE2_SPTR s, PCRE2_SIZE n, PCRE2_SIZE off,
                         uint32_t opts, pcre2_match_data *md, pcre2_match_context *mc)
{
	__atomic_add_fetch(&n_match, 1, __ATOMIC_SEQ_CST);
	return __real_pcre2_match_8(c, s, n, off, opts, md, mc);
}

/* ---- A message of one header field ------------------------------------------ */

static const char *field_value;

static int fact(void *ctx, pst_fact f, pst_value *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	out->type = pst_fact_type(f);
	return 0;
}

static size_t header_count(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "X-T") == 0 ? 1 : 0;
}

static int header_value(void *ctx, const char *name, size_t nth, const char **v, size_t *len)
{
	(void)ctx;
	if (strcmp(name, "X-T") != 0 || nth > 0)
		return -1;
	*v = field_value;
	*len = strlen(field_value);
	return 0;
}

static const pst_fact_source source = { fact, header_count, header_value, NULL };

/* The program: a MATCHES test that tags, an edit on the same regex. */
static pst_program *compile(const char *re, unsigned long limit)
{
	char text[512];
	pst_diags *d = pst_diags_new();
	pst_program *p = NULL;

	assert_non_null(d);
	snprintf(text, sizeof text,
	         "regex-match-limit %lu;\n"
	         "rule t { when header \"X-T\" matches %s then tag \"m\"; }\n"
	         "rule e { when true then remove header \"X-T\" matching %s; }\n", limit, re, re);
	if (pst_program_compile_text("t.rules", text, strlen(text), NULL, d, &p) != 0) {
		pst_buf b = PST_BUF_INIT;
		pst_diags_render(d, &b);
		fail_msg("%s does not compile: %s", re, pst_buf_str(&b));
	}
	pst_diags_free(&d);
	return p;
}

/* Evaluate p on a message whose X-T is value: 1 when the test matched, and
 * the edit (in the arena) in *edit. */
static int evaluate(const pst_program *p, const char *value, pst_arena *a, const pst_edit **edit)
{
	pst_outcome o;

	field_value = value;
	assert_int_equal(pst_eval_recipient(p, &source, "r@example.org", NULL, a, &o), 0);
	assert_int_equal(o.nedits, 1);
	assert_non_null(o.edits[0].match);
	*edit = &o.edits[0];
	return o.ntags == 1;
}

/* ---- Tests ------------------------------------------------------------------ */

static char *repeat(const char *unit, size_t n, const char *tail)
{
	size_t u = strlen(unit), t = strlen(tail);
	char *s = malloc(u * n + t + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	memcpy(s + u * n, tail, t + 1);
	return s;
}

static void edit_matches_as_evaluator(void **state)
{
	(void)state;
	char *xs = repeat("x", 16, "z xxy");
	char *aaa = repeat("a", 30, "!");
	const struct {
		const char *re;
		const char *value;
		unsigned long limit;
		int want;
	} rows[] = {
		{ "/sp.m/", "this is spam", 100000, 1 },
		{ "/sp.m/", "ham", 100000, 0 },
		{ "/^\\[ext\\]/i", "[EXT] hello", 100000, 1 },
		{ "/^\\[ext\\]/", "[EXT] hello", 100000, 0 },
		{ "/^$/", "", 100000, 1 },
		{ "/caf\\x{e9}/", "caf\xc3\xa9 au lait", 100000, 1 },
		/* The match limit: a subject that backtracks much before it
		 * matches matches under a large limit and is no match (a PCRE2
		 * error) under a small one. */
		{ "/(?:x+x+)+y/", xs, 1000000, 1 },
		{ "/(?:x+x+)+y/", xs, 1000, 0 },
		{ "/(a+)+$/", aaa, 1000, 0 },
	};

	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		pst_program *p = compile(rows[i].re, rows[i].limit);
		pst_arena *a = pst_arena_new();
		const pst_edit *e;
		assert_non_null(a);
		int test = evaluate(p, rows[i].value, a, &e);
		int edit = e->match(e, rows[i].value, strlen(rows[i].value));
		if (test != rows[i].want || edit != rows[i].want)
			fail_msg("row %zu %s (limit %lu): got test %d, edit %d, want %d", i, rows[i].re,
			         rows[i].limit, test, edit, rows[i].want);
		pst_arena_free(&a);
		pst_program_free(&p);
	}
	free(xs);
	free(aaa);
}

/* The edit filter runs the PCRE2 function the evaluator runs: the JIT one
 * for a JIT-compiled pattern. */
static void edit_uses_the_evaluators_function(void **state)
{
	(void)state;
	pst_program *p = compile("/sp.m/", 100000);
	pst_arena *a = pst_arena_new();
	const pst_edit *e;
	assert_non_null(a);

	unsigned long jit0 = n_jit_match, plain0 = n_match;
	assert_int_equal(evaluate(p, "spam", a, &e), 1);
	unsigned long eval_jit = n_jit_match - jit0, eval_plain = n_match - plain0;
	assert_int_equal(eval_jit + eval_plain, 1);

	jit0 = n_jit_match;
	plain0 = n_match;
	assert_int_equal(e->match(e, "spam", 4), 1);
	if (n_jit_match - jit0 != eval_jit || n_match - plain0 != eval_plain)
		fail_msg("edit: got %lu JIT and %lu interpreted matches, want %lu and %lu (as the "
		         "evaluator)", n_jit_match - jit0, n_match - plain0, eval_jit, eval_plain);
	if (p->rules[0].when->re->jit)
		assert_int_equal(eval_jit, 1);
	pst_arena_free(&a);
	pst_program_free(&p);
}

/* After a thread's first match, filtering fields allocates no PCRE2 state. */
static unsigned long creates_for(const pst_edit *e, size_t fields)
{
	unsigned long before = n_md_create + n_mctx_create;
	for (size_t i = 0; i < fields; i++) {
		const char *v = i % 2 ? "spam" : "ham";
		if (e->match(e, v, strlen(v)) != (int)(i % 2))
			fail_msg("field %zu: wrong result", i);
	}
	return n_md_create + n_mctx_create - before;
}

struct thread_arg {
	const pst_edit *e;
	unsigned long creates;
};

static void *thread_fields(void *arg)
{
	struct thread_arg *t = arg;
	t->creates = creates_for(t->e, 1000);
	return NULL;
}

static void no_allocation_per_field(void **state)
{
	(void)state;
	pst_program *p = compile("/sp.m/", 100000);
	pst_arena *a = pst_arena_new();
	const pst_edit *e;
	assert_non_null(a);
	(void)evaluate(p, "spam", a, &e);       /* this thread's state is made */

	unsigned long got = creates_for(e, 1000);
	if (got != 0)
		fail_msg("1000 fields on a warm thread: got %lu PCRE2 allocations, want 0", got);

	/* A new thread: its own state, made once for all its fields. */
	struct thread_arg t = { e, 0 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, thread_fields, &t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	if (t.creates != 2)
		fail_msg("1000 fields on a new thread: got %lu PCRE2 allocations, want 2 (its match "
		         "data and context, once)", t.creates);
	pst_arena_free(&a);
	pst_program_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(edit_matches_as_evaluator),
		cmocka_unit_test(edit_uses_the_evaluators_function),
		cmocka_unit_test(no_allocation_per_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
