/*
 * compile.c: the rule compiler's driver and back end (program.h).
 *
 * pst_program_compile_*() parse (ast.c, following includes), check
 * (check.c) and, when there were no errors, translate the annotated tree
 * into the immutable program: lists become frozen domain and IP sets or
 * sorted string arrays (each named list built once, shared by its uses),
 * regexes are the checker's PCRE2 codes, JIT-compiled where the platform
 * allows (a JIT failure only costs speed), texts become templates of
 * literal, fact and capture parts (a rule records the highest capture its
 * actions take from its condition), an action's arguments are taken as its
 * definition (lang/action.h) has them, a reply with the definition's
 * default code when the rule gives none, rules carry the normalised tenant, the
 * inherited audit mode and the after-queue-reject of the rule or its tenant, a fact on the right of a test becomes an operand
 * of its own (expr->rfact), and facts_read records every fact read, on
 * either side. A rule is marked envelope_only when its condition and its
 * actions' texts read envelope facts only (pst_fact_is_envelope; no
 * header, count() or substitute action), so it may decide at RCPT time.
 * Last, the
 * rule index (index.c) is built over the finished rules. A program with
 * no rules (an empty file accepts everything) gets a warning.
 *
 * Memory: the tree and the program share one arena, which the program's
 * store owns with the PCRE2 codes and the sets; pst_program_free releases
 * all of it. On failure everything is released before returning.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lang/ast.h"
#include "lang/diag.h"
#include "lang/index.h"
#include "lang/program.h"
#include "util/arena.h"
#include "util/buf.h"

/* ---- The store --------------------------------------------------------- */

enum owned_kind { OWN_REGEX, OWN_DOMAINSET, OWN_IPSET };

struct owned {
	enum owned_kind kind;
	void *p;
};

struct pst_program_store {
	pst_arena *arena;             /* the tree's and the program's memory */
	struct owned *own;
	size_t nown, capown;
};

static struct pst_program_store *store_new(void)
{
	struct pst_program_store *st = calloc(1, sizeof *st);
	if (st == NULL)
		return NULL;
	st->arena = pst_arena_new();
	if (st->arena == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

static void store_free(struct pst_program_store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nown; i++) {
		struct owned *o = &st->own[i];
		switch (o->kind) {
		case OWN_REGEX: pcre2_code_free(o->p); break;
		case OWN_DOMAINSET: pst_domainset_free((pst_domainset **)&o->p); break;
		case OWN_IPSET: pst_ipset_free((pst_ipset **)&o->p); break;
		}
	}
	free(st->own);
	pst_arena_free(&st->arena);
	free(st);
}

/* Take ownership of p. 0, or -1 on ENOMEM (p is then not owned). */
static int store_own(struct pst_program_store *st, enum owned_kind kind, void *p)
{
	if (st->nown == st->capown) {
		size_t ncap = st->capown ? st->capown * 2 : 16;
		struct owned *n = realloc(st->own, ncap * sizeof *n);
		if (n == NULL)
			return -1;
		st->own = n;
		st->capown = ncap;
	}
	st->own[st->nown].kind = kind;
	st->own[st->nown].p = p;
	st->nown++;
	return 0;
}

void pst_program_free(pst_program **prog)
{
	if (prog == NULL || *prog == NULL)
		return;
	store_free((*prog)->store);   /* the program lives in the store's arena */
	*prog = NULL;
}

/* ---- Translation -------------------------------------------------------- */

struct builder {
	struct pst_program_store *st;
	pst_arena *a;
	pst_program *prog;
	int oom;
};

#define ALLOC(b, n, T) ((T *)pst_arena_calloc((b)->a, (n), sizeof(T)))

static void *need(struct builder *b, void *p)
{
	if (p == NULL)
		b->oom = 1;
	return p;
}

static void read_fact(struct builder *b, int f)
{
	if (f >= 0 && f < PST_F__COUNT)
		b->prog->facts_read |= UINT64_C(1) << f;
}

static int cmp_strings(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *c = *(const char *const *)y;
	return pst_list_strcmp(a, strlen(a), c, strlen(c));
}

static const char *item_text(const pst_ast_value *v)
{
	return v->kind == PST_AV_STRING ? v->str->s : v->word.s;
}

static void build_domains(struct builder *b, pst_list *out, const pst_ast_list *l)
{
	pst_domainset *s = pst_domainset_new();
	if (need(b, s) == NULL)
		return;
	if (store_own(b->st, OWN_DOMAINSET, s) < 0) {
		pst_domainset_free(&s);
		b->oom = 1;
		return;
	}
	const char **items = need(b, ALLOC(b, l->nitems + 1, const char *));
	if (items == NULL)
		return;
	size_t n = 0;
	for (const pst_ast_value *v = l->items; v; v = v->next)
		if (v->norm) {
			if (pst_domainset_add(s, v->norm) < 0)
				b->oom = 1;
			if (n < l->nitems)
				items[n++] = v->norm;
		}
	out->domains = s;
	out->domain_items = items;
	out->nitems = n;
}

static void build_ips(struct builder *b, pst_list *out, const pst_ast_list *l)
{
	pst_ipset *s = pst_ipset_new();
	if (need(b, s) == NULL)
		return;
	if (store_own(b->st, OWN_IPSET, s) < 0) {
		pst_ipset_free(&s);
		b->oom = 1;
		return;
	}
	pst_cidr *cidrs = need(b, ALLOC(b, l->nitems + 1, pst_cidr));
	if (cidrs == NULL)
		return;
	size_t n = 0;
	for (const pst_ast_value *v = l->items; v; v = v->next) {
		if (pst_ipset_add(s, &v->cidr) < 0)
			b->oom = 1;
		if (n < l->nitems)
			cidrs[n++] = v->cidr;
	}
	if (pst_ipset_freeze(s) < 0)
		b->oom = 1;
	out->ips = s;
	out->cidrs = cidrs;
	out->nitems = n;
}

static void build_strings(struct builder *b, pst_list *out, const pst_ast_list *l)
{
	const char **strs = need(b, ALLOC(b, l->nitems + 1, const char *));
	size_t *lens = need(b, ALLOC(b, l->nitems + 1, size_t));
	if (strs == NULL || lens == NULL)
		return;
	size_t n = 0;
	for (const pst_ast_value *v = l->items; v; v = v->next)
		strs[n++] = item_text(v);
	qsort(strs, n, sizeof *strs, cmp_strings);
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(strs[i]);
	out->strings = strs;
	out->string_lens = lens;
	out->nstrings = n;
}

static const pst_list *build_list(struct builder *b, pst_ast_list *l)
{
	if (l == NULL)
		return NULL;
	if (l->compiled)
		return l->compiled;
	pst_list *out = need(b, ALLOC(b, 1, pst_list));
	if (out == NULL)
		return NULL;
	out->name = l->name.s;
	out->kind = l->kind;
	out->count = l->nitems;
	switch (l->kind) {
	case PST_LIST_DOMAINS: build_domains(b, out, l); break;
	case PST_LIST_IPS: build_ips(b, out, l); break;
	case PST_LIST_STRINGS: build_strings(b, out, l); break;
	}
	l->compiled = out;
	return out;
}

static const pst_regex *build_regex(struct builder *b, pst_ast_regex *re)
{
	if (re == NULL || re->code == NULL)
		return NULL;
	pst_regex *out = need(b, ALLOC(b, 1, pst_regex));
	if (out == NULL || store_own(b->st, OWN_REGEX, re->code) < 0) {
		b->oom = 1;
		return NULL;
	}
	/* A JIT failure (no JIT on this CPU, no memory) leaves it interpreted. */
	out->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
	out->code = re->code;
	out->source = re->pattern;
	out->flags = re->flags;
	re->code = NULL;              /* the store owns it now */
	return out;
}

static const pst_template *build_template(struct builder *b, const pst_ast_str *s)
{
	if (s == NULL)
		return NULL;
	pst_template *t = need(b, ALLOC(b, 1, pst_template));
	pst_tpl_part *parts = need(b, ALLOC(b, s->nparts + 1, pst_tpl_part));
	if (t == NULL || parts == NULL)
		return NULL;
	size_t i = 0;
	for (const pst_ast_part *p = s->parts; p; p = p->next, i++) {
		if (p->group >= 0) {
			parts[i].is_capture = 1;
			parts[i].group = (unsigned)p->group;
		} else if (p->is_fact) {
			parts[i].is_fact = 1;
			parts[i].fact = (pst_fact)p->fact;
			read_fact(b, p->fact);
		} else {
			parts[i].lit = p->text;
			parts[i].len = p->len;
		}
	}
	t->parts = parts;
	t->nparts = i;
	t->source = s->s;
	return t;
}

/* The operand as traces name it, in the arena; NULL (and b->oom) on
 * ENOMEM, never a text cut short. */
static const char *operand_text(struct builder *b, const pst_ast_operand *o)
{
	pst_buf buf = PST_BUF_INIT;
	int rc = -1;
	switch (o->kind) {
	case PST_OPND_FACT: rc = pst_buf_puts(&buf, o->fact.s); break;
	case PST_OPND_HEADER:
		rc = pst_buf_printf(&buf, "%sheader \"%s\"", o->quant == PST_Q_ANY ? "any " :
		                    o->quant == PST_Q_ALL ? "all " : "", o->header->s);
		break;
	case PST_OPND_COUNT: rc = pst_buf_printf(&buf, "count(header \"%s\")", o->header->s); break;
	}
	const char *s = NULL;
	if (rc == 0)
		s = pst_arena_strndup(b->a, pst_buf_str(&buf), buf.len);
	pst_buf_free(&buf);
	return need(b, (void *)s);
}

static const pst_expr *build_expr(struct builder *b, pst_ast_expr *e);

/* A fact on the right of a test, named as traces name it (canonical). */
static const pst_operand *build_rfact(struct builder *b, pst_fact f)
{
	pst_operand *o = need(b, ALLOC(b, 1, pst_operand));
	if (o == NULL)
		return NULL;
	o->kind = PST_OPND_FACT;
	o->fact = f;
	o->type = pst_fact_type(f);
	o->text = pst_fact_name(f);
	read_fact(b, (int)f);
	return o;
}

static void build_test(struct builder *b, pst_expr *x, pst_ast_expr *e)
{
	x->lhs.kind = e->lhs.kind;
	x->lhs.type = e->type;
	x->lhs.quant = e->lhs.quant;
	x->lhs.text = operand_text(b, &e->lhs);
	if (e->lhs.kind == PST_OPND_FACT) {
		x->lhs.fact = (pst_fact)e->fact;
		read_fact(b, e->fact);
	} else {
		x->lhs.header = e->lhs.header->s;
	}
	x->cmp = e->cmp;
	x->rhs = e->lit;
	x->list = build_list(b, e->list);
	x->re = build_regex(b, e->re);
	if (e->rfact >= 0)
		x->rfact = build_rfact(b, (pst_fact)e->rfact);
}

static const pst_expr *build_expr(struct builder *b, pst_ast_expr *e)
{
	pst_expr *x = need(b, ALLOC(b, 1, pst_expr));
	if (x == NULL)
		return NULL;
	x->line = e->loc.first_line;
	x->col = e->loc.first_column;
	switch (e->kind) {
	case PST_AX_TRUE: x->kind = PST_EXPR_TRUE; break;
	case PST_AX_FALSE:
	case PST_AX_ERROR: x->kind = PST_EXPR_FALSE; break;
	case PST_AX_AND: x->kind = PST_EXPR_AND; break;
	case PST_AX_OR: x->kind = PST_EXPR_OR; break;
	case PST_AX_NOT: x->kind = PST_EXPR_NOT; break;
	case PST_AX_TEST: x->kind = PST_EXPR_TEST; build_test(b, x, e); break;
	}
	if (e->a)
		x->a = build_expr(b, e->a);
	if (e->b)
		x->b = build_expr(b, e->b);
	return x;
}

/* An action as its definition's args has it; a reply gets the
 * definition's default code when the rule gives none. */
static void build_action(struct builder *b, pst_rule_action *x, pst_ast_action *a)
{
	const pst_action_def *def = pst_action_get(a->kind);
	x->kind = a->kind;
	x->line = a->loc.first_line;
	x->col = a->loc.first_column;
	if (def->args & PST_ARG_REPLY) {
		x->code = a->has_code ? (int)a->code : def->reply.code;
		x->enhanced = a->has_code ? a->enhanced.s : def->reply.enhanced;
		x->text = build_template(b, a->value);
		return;
	}
	x->name = a->name ? a->name->s : NULL;
	x->value = build_template(b, a->value);
	if (a->kind == PST_ACT_SUBSTITUTE_FROM_DISPLAY)
		read_fact(b, PST_F_FROM_DISPLAY);
	x->re = build_regex(b, a->re);
}

/* 1 + the highest capture t takes, 0 for none. */
static unsigned template_captures(const pst_template *t)
{
	unsigned most = 0;
	for (size_t i = 0; t && i < t->nparts; i++)
		if (t->parts[i].is_capture && t->parts[i].group + 1 > most)
			most = t->parts[i].group + 1;
	return most;
}

/* 1 + the highest capture of the condition the actions' texts take (a
 * substitute's replacement takes its own regex's): 0 for none. */
static unsigned condition_captures(const pst_rule_action *acts, size_t n)
{
	unsigned most = 0;
	for (size_t i = 0; i < n; i++) {
		const pst_action_def *def = pst_action_get(acts[i].kind);
		unsigned k = template_captures(acts[i].text);
		if (!(def->flags & PST_ACTF_SUBST) && template_captures(acts[i].value) > k)
			k = template_captures(acts[i].value);
		if (k > most)
			most = k;
	}
	return most;
}

/* ---- Envelope-only rules ------------------------------------------------ */

static int operand_envelope(const pst_operand *o)
{
	return o->kind == PST_OPND_FACT && pst_fact_is_envelope(o->fact);
}

/* 1 when every test of e reads envelope facts only, on either side. The
 * left operand is walked recursively (the compiler bounds the depth at
 * PST_MAX_EXPR_DEPTH), the right one of and/or iteratively. */
static int expr_envelope(const pst_expr *e)
{
	for (; e != NULL; e = e->b) {
		if (e->kind == PST_EXPR_TEST)
			return operand_envelope(&e->lhs) && (e->rfact == NULL || operand_envelope(e->rfact));
		if (e->a != NULL && !expr_envelope(e->a))
			return 0;
		if (e->kind == PST_EXPR_NOT)
			return 1;
	}
	return 1;
}

static int template_envelope(const pst_template *t)
{
	for (size_t i = 0; t && i < t->nparts; i++)
		if (t->parts[i].is_fact && !pst_fact_is_envelope(t->parts[i].fact))
			return 0;
	return 1;
}

/* 1 when rule x decides from the envelope alone: its condition and every
 * text of its actions read only envelope facts, and no action reads the
 * message itself (substitute reads its header values as it runs). */
static int rule_envelope(const pst_program_rule *x)
{
	if (x->when != NULL && !expr_envelope(x->when))
		return 0;
	for (size_t i = 0; i < x->nactions; i++) {
		const pst_rule_action *a = &x->actions[i];
		const pst_action_def *def = pst_action_get(a->kind);
		if (def == NULL || (def->flags & PST_ACTF_SUBST) || !template_envelope(a->text) ||
		    !template_envelope(a->value))
			return 0;
	}
	return 1;
}

static void build_rule(struct builder *b, pst_program_rule *x, pst_ast_rule *r)
{
	x->name = r->name.s;
	x->file = r->file;
	x->line = r->loc.first_line;
	x->audit = r->audit;
	x->has_aqr = r->has_aqr;
	x->after_queue_reject = r->aqr;
	x->tenant = r->tenant ? r->tenant->norm : NULL;
	x->when = build_expr(b, r->when);
	size_t n = 0;
	for (pst_ast_action *a = r->actions; a; a = a->next)
		n++;
	pst_rule_action *acts = need(b, ALLOC(b, n + 1, pst_rule_action));
	if (acts == NULL)
		return;
	n = 0;
	for (pst_ast_action *a = r->actions; a; a = a->next)
		build_action(b, &acts[n++], a);
	x->actions = acts;
	x->nactions = n;
	x->captures = condition_captures(acts, n);
	x->envelope_only = !b->oom && rule_envelope(x);
}

/* The distinct tenant domains of rules[0..n) (normalised, so compared
 * exactly). Quadratic in the tenants, which are few. */
static size_t count_tenants(const pst_program_rule *rules, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		if (rules[i].tenant == NULL)
			continue;
		while (j < i && (rules[j].tenant == NULL || strcmp(rules[j].tenant, rules[i].tenant) != 0))
			j++;
		count += j == i;
	}
	return count;
}

/* The counts of the summary: tenants, includes, named lists, settings. */
static void count_sources(pst_program *prog, const pst_ast *ast)
{
	prog->ntenants = count_tenants(prog->rules, prog->nrules);
	prog->nincludes = ast->nincludes;
	for (const pst_ast_list *l = ast->lists; l; l = l->next)
		prog->nlists++;
	for (const pst_ast_setting *s = ast->settings; s; s = s->next)
		prog->nsettings++;
}

static pst_program *build_program(struct pst_program_store *st, pst_ast *ast)
{
	struct builder b = { st, st->arena, NULL, 0 };
	b.prog = need(&b, ALLOC(&b, 1, pst_program));
	pst_program_rule *rules = need(&b, ALLOC(&b, ast->nrules + 1, pst_program_rule));
	if (b.oom)
		return NULL;
	b.prog->settings = ast->settings_out;
	size_t i = 0;
	for (pst_ast_rule *r = ast->rules; r && !b.oom; r = r->next)
		build_rule(&b, &rules[i++], r);
	b.prog->rules = rules;
	b.prog->nrules = i;
	b.prog->store = st;
	count_sources(b.prog, ast);
	if (!b.oom && pst_index_build(b.prog, b.a) != 0)
		b.oom = 1;
	return b.oom ? NULL : b.prog;
}

/* ---- Entry points ------------------------------------------------------ */

/* Check the parsed tree and build the program, or release everything. */
static int finish(struct pst_program_store *st, pst_ast *ast, pst_diags *diags,
                  size_t errors_before, pst_program **out)
{
	pst_check(ast);
	pst_program *prog = NULL;
	if (pst_diags_errors(diags) == errors_before) {
		prog = build_program(st, ast);
		if (prog == NULL)
			pst_diags_report(diags, PST_SEV_ERROR, ast->stack[0] ? ast->stack[0] : "", 0,
			                 0, 0, "out of memory compiling the rules");
	}
	if (prog != NULL && prog->nrules == 0)
		/* An empty file (or one emptied by mistake) is a valid policy
		 * that accepts everything: never silently. */
		pst_diags_report(diags, PST_SEV_WARNING, ast->stack[0] ? ast->stack[0] : "", 0, 0, 0,
		                 "the policy has no rules: every message is accepted");
	pst_ast_free(&ast);
	if (prog == NULL) {
		store_free(st);
		return -1;
	}
	*out = prog;
	return 0;
}

int pst_program_compile_file(const char *path, pst_diags *diags, pst_program **out)
{
	*out = NULL;
	size_t before = pst_diags_errors(diags);
	struct pst_program_store *st = store_new();
	pst_ast *ast = st ? pst_ast_new(st->arena, diags) : NULL;
	if (ast == NULL) {
		store_free(st);
		pst_diags_report(diags, PST_SEV_ERROR, path, 0, 0, 0, "out of memory");
		return -1;
	}
	ast->stack[0] = path;
	if (pst_ast_parse_file(ast, path) < 0) {
		pst_ast_free(&ast);
		store_free(st);
		return -1;
	}
	return finish(st, ast, diags, before, out);
}

int pst_program_compile_text(const char *name, const char *text, size_t len,
                             const char *basedir, pst_diags *diags, pst_program **out)
{
	*out = NULL;
	size_t before = pst_diags_errors(diags);
	struct pst_program_store *st = store_new();
	pst_ast *ast = st ? pst_ast_new(st->arena, diags) : NULL;
	if (ast == NULL) {
		store_free(st);
		pst_diags_report(diags, PST_SEV_ERROR, name, 0, 0, 0, "out of memory");
		return -1;
	}
	ast->stack[0] = name;
	if (pst_ast_parse_text(ast, name, text, len, basedir) < 0) {
		pst_ast_free(&ast);
		store_free(st);
		return -1;
	}
	return finish(st, ast, diags, before, out);
}
