/*
 * eval.c: the interpreter of a compiled program (lang/program.h) for one
 * recipient of one message; see eval.h for the interface.
 *
 * Contract:
 * - Rules run in program order. A rule with a tenant applies only when the
 *   recipient's domain (normalised) is the tenant or under it; an unknown
 *   recipient ("") is in no tenant. rcpt and rcpt.domain are supplied here
 *   from the rcpt argument; the fact source is never asked for them.
 * - A rule whose condition holds runs its actions in order. Edits, log
 *   texts and tag names accumulate; the first terminal action decides and
 *   ends the evaluation (later rules are NOT_REACHED in the trace). Without
 *   one the recipient gets the implicit accept: 250 2.0.0 "ok", rule NULL.
 * - mode audit: the condition is evaluated and a match is listed in
 *   outcome->audit. Its actions run aside (outcome->audits): what it would
 *   have decided, with its reply, and its log texts and tags are recorded
 *   there; its edits are dropped. No decision, edit, log text or tag of the
 *   recipient's outcome comes from an audit rule.
 * - An unknown fact or an absent header makes every test false (EXISTS
 *   included); NE is "not EQ" on a known value only.
 * - A fact on the right of a test (expr->rfact) is fetched only once the
 *   left side is known, and traced like the left one; unknown, it makes
 *   the test false too (NE included). Its value then stands for the
 *   literal; 'in' a set of domains (dkim.domains) covers subdomains, as a
 *   domain list does. Text comparisons are
 *   ASCII case-insensitive; MATCHES uses the regex's own flags and the
 *   program's match limit. A PCRE2 failure (match limit, JIT stack, ...)
 *   makes the test false and records a warning; it never decides.
 * - Facts are fetched from the source at most once per evaluation and only
 *   when a test or a template needs them (and/or short-circuit), so
 *   expensive auth facts are computed only for rules that get that far.
 * - An unknown fact interpolates as PST_INTERP_UNKNOWN ("(unknown)"),
 *   never as nothing; a known empty value (the null sender) as nothing.
 *   Interpolated fact values have control characters (below 0x20 except
 *   TAB, and DEL) replaced by '?', with a warning. Interpolated texts are
 *   bounded by PST_MAX_INTERP_BYTES, reply texts by PST_MAX_REPLY_TEXT
 *   (cut at a UTF-8 character boundary, with a warning).
 * - Actions run as their definitions (lang/action.h) say: the effect
 *   decides, edits, logs or tags; a decision's reply defaults and an
 *   edit's name and value come from the definition too.
 * - Everything in the outcome is allocated from the caller's arena; strings
 *   taken from the program are copied. The one exception is the regex of a
 *   remove-header edit (edit->match_ctx), which stays the program's: call
 *   edit->match only while the program lives.
 * - Captures: a rule whose texts take $N from its condition
 *   (rule->captures) keeps the groups of its last successful matches test
 *   that is not under 'not' (as Sieve's match variables, RFC 5229 3.2, but
 *   a match under 'not' never sets them); an unset group, or no such
 *   match, gives "". They live in the evaluation and are cleared for each
 *   rule; interpolated, their control characters become '?' too.
 * - substitute: its regex runs on the decoded values as the fact source
 *   gives them (from.display; every field of the header); when it matches
 *   none, no edit is made; else the edit carries the first result as its
 *   value and edit->subst (eval/subst.h), which the message model runs
 *   again on each field as it writes the message.
 * - The program is only read. Regexes are matched through eval/regex.h,
 *   by MATCHES tests and by edit->match alike: JIT where compiled, the
 *   program's match limit, PCRE2 match data and context per thread, made
 *   at the thread's first match. Any number of threads may evaluate one
 *   program at once.
 * - Recursion follows the expression tree (bounded by the compiler at
 *   PST_MAX_EXPR_DEPTH); the right operand of and/or is walked iteratively.
 * - With opts->rule_nsec, each rule reached is timed (CLOCK_MONOTONIC
 *   around eval_rule): the cost of a lazily computed auth fact falls on the
 *   first rule that reads it. One clock read a rule reached (each rule's
 *   time runs from the end of the one before), plus one; none without it.
 * - With the program's rule index (lang/index.h), rules that cannot match
 *   the message's values are skipped without being evaluated; everything
 *   above holds unchanged (the outcome is the same with prog->index NULL).
 *   Tracing and rule timing report every rule, so they do without it.
 * - With opts->envelope_only (RCPT time), rules run in order without the
 *   index, trace or timing: an envelope_only rule as above; another rule
 *   is passed over when it cannot change the decision (outside the
 *   recipient's tenant, audit mode, no terminal action: its edits, logs
 *   and tags are then missing from the outcome) and otherwise ends the
 *   evaluation undecided (outcome->undecided). A decision reached is the
 *   one the full evaluation reaches.
 * - pst_eval_recipient returns -1 on ENOMEM, on a fact the source could
 *   not compute, and on a broken invariant of the program (a MATCHES test
 *   without its regex, an action the registry does not know: util/panic.h,
 *   an abort in debug and test runs): never a silent "false" or a skip.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval.h"
#include "eval/regex.h"
#include "eval/subst.h"
#include "lang/index.h"
#include "lang/program.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/domain.h"
#include "util/ip.h"
#include "util/limits.h"
#include "util/panic.h"

/* ---- Growable arrays in the arena ---------------------------------------- */

typedef struct eval_vec {
	void *items;
	size_t n, cap;
} eval_vec;

/* Append one element of size elsize; the array doubles in the arena (the
 * old copy is garbage until the arena goes, at most as much again). */
static int vec_push(pst_arena *a, eval_vec *v, size_t elsize, const void *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		void *items = pst_arena_calloc(a, cap, elsize);

		if (items == NULL)
			return -1;
		if (v->n)
			memcpy(items, v->items, v->n * elsize);
		v->items = items;
		v->cap = cap;
	}
	memcpy((char *)v->items + v->n * elsize, item, elsize);
	v->n++;
	return 0;
}

/* ---- Evaluation state ---------------------------------------------------- */

enum { FACT_UNREAD, FACT_READ };

typedef struct eval_ctx {
	const pst_program *prog;
	const pst_fact_source *src;
	pst_arena *arena;
	const char *rcpt;
	size_t rcpt_len;
	const char *rcpt_domain;       /* normalised, in the arena; NULL: unknown */
	const pst_program_rule *rule;  /* the rule being evaluated */
	int failed;                    /* ENOMEM, a fact that could not be computed,
	                                * or a broken invariant: the result is -1 */
	/* Facts fetched so far. */
	unsigned char fact_state[PST_F__COUNT];
	pst_value facts[PST_F__COUNT];
	/* PCRE2: the thread's (eval/regex.h), borrowed at the first MATCHES. */
	uint32_t match_limit;
	pst_regex_state *rx;
	/* Results. */
	eval_vec edits, audit, audits, matched, logs, tags, warnings;
	/* The condition's captures, kept when the rule's texts take some
	 * (rule->captures): the groups of its last successful matches test
	 * not under 'not', copied; NULL for an unset group (empty). */
	const char *cap[PST_REGEX_GROUPS];
	size_t caplen[PST_REGEX_GROUPS];
	int negated;                   /* under an odd number of 'not's */
	/* Tracing: the facts the current rule's condition read. */
	int tracing;
	eval_vec tfacts;
} eval_ctx;

static const char *ctx_strdup(eval_ctx *c, const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = pst_arena_strdup(c->arena, s)) == NULL)
		c->failed = 1;
	return p;
}

static void push_str(eval_ctx *c, eval_vec *v, const char *s)
{
	if (s == NULL || vec_push(c->arena, v, sizeof s, &s) != 0)
		c->failed = 1;
}

/* Record a warning once (identical texts are folded). */
static void warn(eval_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(eval_ctx *c, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	const char *const *w = c->warnings.items;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < c->warnings.n; i++)
		if (strcmp(w[i], text) == 0)
			return;
	push_str(c, &c->warnings, ctx_strdup(c, text));
}

static const char *rule_name(const eval_ctx *c)
{
	return c->rule && c->rule->name ? c->rule->name : "?";
}

/* ---- Facts --------------------------------------------------------------- */

static void rcpt_fact(const eval_ctx *c, pst_fact f, pst_value *v)
{
	memset(v, 0, sizeof *v);
	v->type = pst_fact_type(f);
	if (f == PST_F_RCPT && c->rcpt_len > 0) {
		v->known = 1;
		v->u.s.p = c->rcpt;
		v->u.s.len = c->rcpt_len;
	} else if (f == PST_F_RCPT_DOMAIN && c->rcpt_domain != NULL) {
		v->known = 1;
		v->u.s.p = c->rcpt_domain;
		v->u.s.len = strlen(c->rcpt_domain);
	}
}

/* The value of fact f, fetched once per evaluation. */
static const pst_value *get_fact(eval_ctx *c, pst_fact f)
{
	pst_value *v;

	if ((unsigned)f >= PST_F__COUNT) {
		static const pst_value unknown;
		return &unknown;
	}
	v = &c->facts[f];
	if (c->fact_state[f] == FACT_READ)
		return v;
	c->fact_state[f] = FACT_READ;
	memset(v, 0, sizeof *v);
	if (f == PST_F_RCPT || f == PST_F_RCPT_DOMAIN) {
		rcpt_fact(c, f, v);
		return v;
	}
	if (c->src == NULL || c->src->fact == NULL)
		return v;
	if (c->src->fact(c->src->ctx, f, v) != 0) {
		memset(v, 0, sizeof *v);
		c->failed = 1;           /* never decide on a fact we failed to compute */
	} else if (v->known && v->type != pst_fact_type(f)) {
		warn(c, "fact %s came as a %s, want %s; it is unknown", pst_fact_name(f),
		     pst_type_name(v->type), pst_type_name(pst_fact_type(f)));
		memset(v, 0, sizeof *v);
	}
	v->type = pst_fact_type(f);
	return v;
}

/* Append the text form of a known value: strings as they are, numbers in
 * decimal, addresses in canonical form, results and policies as words,
 * sets as their members joined by ", " (an empty set of texts "(none)"). */
static int render_value(const pst_value *v, pst_buf *out)
{
	char ip[PST_IP_FORMAT_LEN];

	switch (v->type) {
	case PST_T_BOOL:
		return pst_buf_puts(out, v->u.b ? "true" : "false");
	case PST_T_NUMBER:
		return pst_buf_printf(out, "%lld", v->u.n);
	case PST_T_STRING:
	case PST_T_ADDRESS:
	case PST_T_DOMAIN:
		return v->u.s.len ? pst_buf_append(out, v->u.s.p, v->u.s.len) : 0;
	case PST_T_IP:
		return pst_buf_puts(out, pst_ip_format(&v->u.ip, ip, sizeof ip));
	case PST_T_RESULT:
		return pst_buf_puts(out, pst_auth_result_name(v->u.result));
	case PST_T_POLICY:
		return pst_buf_puts(out, pst_dmarc_policy_name(v->u.policy));
	case PST_T_STRINGSET:
		if (v->u.set.n == 0)
			return pst_buf_puts(out, "(none)");
		/* FALLTHROUGH */
	case PST_T_DOMAINSET:
		for (size_t i = 0; i < v->u.set.n; i++)
			if ((i && pst_buf_puts(out, ", ") != 0) ||
			    pst_buf_puts(out, v->u.set.items[i]) != 0)
				return -1;
		return 0;
	}
	return 0;
}

/* ---- Tracing ------------------------------------------------------------- */

static const char *operand_name(eval_ctx *c, const pst_operand *o, pst_buf *tmp)
{
	static const char *const quant_words[] = {
		[PST_Q_FIRST] = "", [PST_Q_ANY] = "any ", [PST_Q_ALL] = "all ",
	};

	if (o->text != NULL)
		return o->text;
	pst_buf_clear(tmp);
	if (o->kind == PST_OPND_FACT)
		return pst_fact_name(o->fact);
	if ((o->kind == PST_OPND_COUNT ?
	     pst_buf_printf(tmp, "count(header \"%s\")", o->header) :
	     pst_buf_printf(tmp, "%sheader \"%s\"", quant_words[o->quant % 3], o->header)) != 0) {
		c->failed = 1;
		return NULL;
	}
	return pst_buf_str(tmp);
}

static int trace_has(const eval_ctx *c, const char *name)
{
	const pst_trace_fact *f = c->tfacts.items;

	for (size_t i = 0; i < c->tfacts.n; i++)
		if (strcmp(f[i].name, name) == 0)
			return 1;
	return 0;
}

/* Note that the current rule read operand o. A fact gets its value (or
 * "(unknown)"); a header one value per field read, "(absent)" when there
 * is none. */
static void trace_fact(eval_ctx *c, const pst_operand *o, const pst_value *v)
{
	pst_buf name = PST_BUF_INIT, text = PST_BUF_INIT;
	const char *n;
	pst_trace_fact tf;

	if (!c->tracing)
		return;
	if ((n = operand_name(c, o, &name)) == NULL || trace_has(c, n))
		goto out;
	if (v == NULL || !v->known) {
		tf.value = ctx_strdup(c, v == NULL ? "(absent)" : "(unknown)");
	} else if (render_value(v, &text) != 0) {
		c->failed = 1;
		goto out;
	} else {
		tf.value = ctx_strdup(c, pst_buf_str(&text));
	}
	tf.name = ctx_strdup(c, n);
	if (!c->failed && vec_push(c->arena, &c->tfacts, sizeof tf, &tf) != 0)
		c->failed = 1;
out:
	pst_buf_free(&name);
	pst_buf_free(&text);
}

/* The same for a header with ANY/ALL: every field, quoted, in order. */
static void trace_fields(eval_ctx *c, const pst_operand *o, size_t count)
{
	pst_buf name = PST_BUF_INIT, text = PST_BUF_INIT;
	const char *n, *p;
	size_t len;
	pst_trace_fact tf;

	if (!c->tracing || c->src == NULL || c->src->header_value == NULL)
		return;
	if ((n = operand_name(c, o, &name)) == NULL || trace_has(c, n))
		goto out;
	for (size_t i = 0; i < count; i++) {
		int hv = c->src->header_value(c->src->ctx, o->header, i, &p, &len);
		if (hv == -2)
			c->failed = 1;
		if (hv != 0)
			break;
		if ((i && pst_buf_puts(&text, ", ") != 0) || pst_buf_putc(&text, '"') != 0 ||
		    pst_buf_append(&text, p, len) != 0 || pst_buf_putc(&text, '"') != 0) {
			c->failed = 1;
			goto out;
		}
	}
	tf.name = ctx_strdup(c, n);
	tf.value = ctx_strdup(c, text.len ? pst_buf_str(&text) : "(absent)");
	if (!c->failed && vec_push(c->arena, &c->tfacts, sizeof tf, &tf) != 0)
		c->failed = 1;
out:
	pst_buf_free(&name);
	pst_buf_free(&text);
}

/* ---- Text helpers -------------------------------------------------------- */

static unsigned char ascii_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static int mem_casecmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int d = ascii_lower((unsigned char)a[i]) - ascii_lower((unsigned char)b[i]);
		if (d)
			return d;
	}
	return 0;
}

static int text_eq(const char *p, size_t n, const char *s, size_t len)
{
	return n == len && mem_casecmp(p, s, n) == 0;
}

static int text_starts(const char *p, size_t n, const char *s, size_t len)
{
	return n >= len && mem_casecmp(p, s, len) == 0;
}

static int text_ends(const char *p, size_t n, const char *s, size_t len)
{
	return n >= len && mem_casecmp(p + n - len, s, len) == 0;
}

static int text_contains(const char *p, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i + len <= n; i++)
		if (mem_casecmp(p + i, s, len) == 0)
			return 1;
	return 0;
}

typedef int (*text_cmp_fn)(const char *, size_t, const char *, size_t);

static const text_cmp_fn text_cmps[] = {
	[PST_CMP_EQ] = text_eq,
	[PST_CMP_CONTAINS] = text_contains,
	[PST_CMP_STARTS_WITH] = text_starts,
	[PST_CMP_ENDS_WITH] = text_ends,
};

static int strings_contain(const pst_list *l, const char *p, size_t n)
{
	size_t lo = 0, hi = l->nstrings;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = l->strings[mid];
		size_t len = l->string_lens ? l->string_lens[mid] : strlen(s);
		int d = pst_list_strcmp(p, n, s, len);

		if (d == 0)
			return 1;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* A domain of n bytes, lower-cased and NUL-terminated into buf (which
 * holds PST_MAX_DOMAIN_BYTES + 1), without a trailing dot. 0, or -1 when it
 * cannot be a domain (too long, holds a NUL). */
static int domain_copy(const char *p, size_t n, char *buf)
{
	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0 || n > PST_MAX_DOMAIN_BYTES || memchr(p, '\0', n) != NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)ascii_lower((unsigned char)p[i]);
	buf[n] = '\0';
	return 0;
}

static int domain_in_set(const pst_domainset *s, const char *p, size_t n)
{
	char buf[PST_MAX_DOMAIN_BYTES + 1];

	return s != NULL && domain_copy(p, n, buf) == 0 && pst_domainset_contains(s, buf);
}

char *pst_eval_address_domain(const char *p, size_t n, int *nomem)
{
	const char *at = n ? memrchr(p, '@', n) : NULL;
	const char *why = NULL;
	char *d;

	*nomem = 0;
	if (at == NULL)
		return NULL;
	d = pst_domain_normalize(at + 1, n - (size_t)(at + 1 - p), &why);
	if (d == NULL && why == pst_domain_why_nomem)
		*nomem = 1;
	return d;
}

/* The normalised domain of an address (malloc'd), or NULL when it has none;
 * ENOMEM sets c->failed rather than passing for "no domain". */
static char *address_domain(eval_ctx *c, const char *p, size_t n)
{
	int nomem;
	char *d = pst_eval_address_domain(p, n, &nomem);

	if (nomem)
		c->failed = 1;
	return d;
}

/* ---- Regexes ------------------------------------------------------------- */

/* PCRE2 state for this evaluation: the thread's (eval/regex.h). */
static int regex_state(eval_ctx *c)
{
	if (c->rx != NULL)
		return 0;
	c->rx = pst_regex_thread_state();
	return c->rx != NULL ? 0 : -1;
}

/* Keep the groups of a successful match as the rule's captures. */
static void keep_captures(eval_ctx *c, const char *p, const pst_regex_groups *g)
{
	for (unsigned i = 0; i < c->rule->captures && i < PST_REGEX_GROUPS; i++) {
		c->cap[i] = NULL;
		c->caplen[i] = 0;
		if (g->start[i] == SIZE_MAX || g->end[i] < g->start[i])
			continue;
		char *d = pst_arena_strndup(c->arena, p + g->start[i], g->end[i] - g->start[i]);
		if (d == NULL) {
			c->failed = 1;
			return;
		}
		c->cap[i] = d;
		c->caplen[i] = g->end[i] - g->start[i];
	}
}

static int test_matches(eval_ctx *c, const pst_expr *e, const char *p, size_t n)
{
	int err = 0, rc;
	pst_regex_groups g;

	if (!PST_INVARIANT(e->re != NULL && e->re->code != NULL)) {
		c->failed = 1;    /* the compiler never makes a MATCHES without one */
		return 0;
	}
	if (regex_state(c) != 0) {
		c->failed = 1;
		return 0;
	}
	if (c->rule && c->rule->captures && !c->negated) {
		rc = pst_regex_match_groups(c->rx, e->re, c->match_limit, p, n, 0, &g, &err);
		if (rc == 1)
			keep_captures(c, p ? p : "", &g);
	} else {
		rc = pst_regex_match(c->rx, e->re, c->match_limit, p, n, &err);
	}
	if (rc >= 0)
		return rc;
	if (err == PCRE2_ERROR_NOMEMORY) {
		c->failed = 1;
		return 0;
	}
	{
		PCRE2_UCHAR msg[120];

		if (pcre2_get_error_message(err, msg, sizeof msg) < 0)
			snprintf((char *)msg, sizeof msg, "error %d", err);
		warn(c, "rule %s: /%s/%s on %s: %s; the test is false", rule_name(c),
		     e->re->source ? e->re->source : "", e->re->flags ? e->re->flags : "",
		     e->lhs.text ? e->lhs.text : "a value", (const char *)msg);
	}
	return 0;
}

/* ---- Comparisons, one handler per operand type --------------------------- */

/* Each handler gets a known value and cmp (never NE or EXISTS, which
 * test_value handles), and returns 1 or 0. */
typedef int (*test_fn)(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v);

static int test_text(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const char *p, size_t n)
{
	if (cmp == PST_CMP_MATCHES)
		return test_matches(c, e, p, n);
	if (cmp == PST_CMP_IN) {
		if (e->list == NULL)
			return 0;
		if (e->list->kind == PST_LIST_STRINGS)
			return strings_contain(e->list, p, n);
		if (e->list->kind == PST_LIST_DOMAINS)
			return domain_in_set(e->list->domains, p, n);
		return 0;
	}
	if ((unsigned)cmp < sizeof text_cmps / sizeof text_cmps[0] && text_cmps[cmp] &&
	    e->rhs.s != NULL)
		return text_cmps[cmp](p, n, e->rhs.s, e->rhs.len);
	return 0;
}

static int test_string(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	return test_text(c, e, cmp, v->u.s.p, v->u.s.len);
}

/* A domain: IN a domain list covers subdomains; EQ ignores a trailing dot. */
static int test_domain(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	const char *p = v->u.s.p;
	size_t n = v->u.s.len;

	if (cmp == PST_CMP_EQ && n > 0 && p[n - 1] == '.')
		n--;
	return test_text(c, e, cmp, p, n);
}

/* An address: IN a domain list tests the address's domain. */
static int test_address(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	if (cmp == PST_CMP_IN && e->list != NULL && e->list->kind == PST_LIST_DOMAINS) {
		char *d = address_domain(c, v->u.s.p, v->u.s.len);
		int r = d != NULL && e->list->domains != NULL &&
		        pst_domainset_contains(e->list->domains, d);

		free(d);
		return r;
	}
	return test_text(c, e, cmp, v->u.s.p, v->u.s.len);
}

static int test_number(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	long long a = v->u.n, b = e->rhs.n;

	(void)c;
	switch (cmp) {
	case PST_CMP_EQ: return a == b;
	case PST_CMP_LT: return a < b;
	case PST_CMP_GT: return a > b;
	case PST_CMP_LE: return a <= b;
	case PST_CMP_GE: return a >= b;
	default: return 0;
	}
}

static int test_bool(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	(void)c;
	if (cmp == PST_CMP_TRUTH)
		return v->u.b != 0;
	if (cmp == PST_CMP_EQ)
		return (v->u.b != 0) == (e->rhs.b != 0);
	return 0;
}

static int test_ip(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	(void)c;
	if (cmp == PST_CMP_EQ)
		return pst_ip_equal(&v->u.ip, &e->rhs.ip);
	if (cmp == PST_CMP_IN && e->list != NULL && e->list->kind == PST_LIST_IPS &&
	    e->list->ips != NULL)
		return pst_ipset_contains(e->list->ips, &v->u.ip);
	return 0;
}

/* Results and policies compare by value; IN a strings list by their word. */
static int test_word(eval_ctx *c, const pst_expr *e, pst_cmp cmp, int value, int lit,
                     const char *word)
{
	if (cmp == PST_CMP_EQ)
		return value == lit;
	if (cmp == PST_CMP_IN)
		return test_text(c, e, cmp, word, strlen(word));
	return 0;
}

static int test_result(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	return test_word(c, e, cmp, v->u.result, e->rhs.result, pst_auth_result_name(v->u.result));
}

static int test_policy(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	return test_word(c, e, cmp, v->u.policy, e->rhs.policy, pst_dmarc_policy_name(v->u.policy));
}

/* A set of domains: EQ and CONTAINS hold when some member equals the
 * literal, IN when some member is in the list, MATCHES when one matches. */
static int test_domainset(eval_ctx *c, const pst_expr *e, pst_cmp cmp, const pst_value *v)
{
	if (cmp == PST_CMP_CONTAINS)
		cmp = PST_CMP_EQ;
	for (size_t i = 0; i < v->u.set.n; i++) {
		pst_value m = { .known = 1, .type = PST_T_DOMAIN };

		m.u.s.p = v->u.set.items[i];
		m.u.s.len = strlen(m.u.s.p);
		if (test_domain(c, e, cmp, &m))
			return 1;
	}
	return 0;
}

static const test_fn type_tests[] = {
	[PST_T_BOOL] = test_bool,
	[PST_T_NUMBER] = test_number,
	[PST_T_STRING] = test_string,
	[PST_T_ADDRESS] = test_address,
	[PST_T_DOMAIN] = test_domain,
	[PST_T_IP] = test_ip,
	[PST_T_RESULT] = test_result,
	[PST_T_POLICY] = test_policy,
	[PST_T_DOMAINSET] = test_domainset,
};

/* ---- A fact on the right ------------------------------------------------- */

/* The value of the fact on the right as the literal the handlers read.
 * 0, or -1 for a set of domains, which only 'in' takes (the checker pairs
 * nothing else with it). */
static int fact_literal(const pst_value *r, pst_cmp cmp, pst_literal *lit)
{
	memset(lit, 0, sizeof *lit);
	lit->type = r->type;
	switch (r->type) {
	case PST_T_STRING:
	case PST_T_ADDRESS:
	case PST_T_DOMAIN:
		lit->type = PST_T_STRING;
		lit->s = r->u.s.p != NULL ? r->u.s.p : "";
		lit->len = r->u.s.p != NULL ? r->u.s.len : 0;
		if (r->type == PST_T_DOMAIN && cmp == PST_CMP_EQ && lit->len > 0 &&
		    lit->s[lit->len - 1] == '.')
			lit->len--;   /* as test_domain does on the left */
		return 0;
	case PST_T_BOOL: lit->b = r->u.b; return 0;
	case PST_T_NUMBER: lit->n = r->u.n; return 0;
	case PST_T_IP: lit->ip = r->u.ip; return 0;
	case PST_T_RESULT: lit->result = r->u.result; return 0;
	case PST_T_POLICY: lit->policy = r->u.policy; return 0;
	case PST_T_DOMAINSET: return -1;
	case PST_T_STRINGSET: return -1;
	}
	return -1;
}

/* v in a set of domains: its domain (a domain or a host name as it is, an
 * address's part after the last '@', normalised) is a member or under one,
 * as for a domain list. */
static int in_domainset(eval_ctx *c, const pst_value *v, const pst_value *set)
{
	char buf[PST_MAX_DOMAIN_BYTES + 1];
	char *owned = NULL;
	const char *d = NULL;
	int r = 0;

	if (v->type == PST_T_ADDRESS)
		d = owned = address_domain(c, v->u.s.p, v->u.s.len);
	else if ((v->type == PST_T_DOMAIN || v->type == PST_T_STRING) &&
	         domain_copy(v->u.s.p, v->u.s.len, buf) == 0)
		d = buf;
	for (size_t i = 0; d != NULL && !r && i < set->u.set.n; i++)
		r = set->u.set.items[i] != NULL && pst_domain_is_under(d, set->u.set.items[i]);
	free(owned);
	return r;
}

/* The test of e, whose right side is a fact, on the known value v: that
 * fact is read now (and traced); unknown, the test is false, NE included. */
static int test_rfact(eval_ctx *c, const pst_expr *e, pst_cmp cmp, int negate,
                      const pst_value *v, test_fn fn)
{
	const pst_value *r = get_fact(c, e->rfact->fact);
	pst_expr with;

	trace_fact(c, e->rfact, r);
	if (!r->known)
		return 0;
	if (cmp == PST_CMP_IN)
		return r->type == PST_T_DOMAINSET && in_domainset(c, v, r);
	with = *e;                    /* the program stays as it is */
	with.rfact = NULL;
	if (fact_literal(r, cmp, &with.rhs) != 0)
		return 0;
	return fn(c, &with, cmp, v) ^ negate;
}

static int test_value(eval_ctx *c, const pst_expr *e, const pst_value *v);

/* A set of texts: the test holds when some member passes it as a string
 * (EXISTS: the set is not empty); NE is the negation of EQ, as for a set of
 * domains: no member equals. Members are STRING values: one level, no
 * deeper. */
static int test_stringset(eval_ctx *c, const pst_expr *e, const pst_value *v)
{
	if (e->cmp == PST_CMP_NE) {
		pst_expr eq = *e;

		eq.cmp = PST_CMP_EQ;
		return !test_stringset(c, &eq, v);
	}
	for (size_t i = 0; i < v->u.set.n; i++) {
		pst_value m = { .known = 1, .type = PST_T_STRING };

		m.u.s.p = v->u.set.items[i];
		m.u.s.len = strlen(m.u.s.p);
		if (test_value(c, e, &m))
			return 1;
	}
	return 0;
}

/* The test of e on one value; v NULL for an absent header field. */
static int test_value(eval_ctx *c, const pst_expr *e, const pst_value *v)
{
	pst_cmp cmp = e->cmp;
	int negate = 0;
	test_fn fn;

	if (v == NULL || !v->known)
		return 0;
	if (v->type == PST_T_STRINGSET)
		return test_stringset(c, e, v);
	if (cmp == PST_CMP_EXISTS)
		return 1;
	if (cmp == PST_CMP_NE) {
		cmp = PST_CMP_EQ;
		negate = 1;
	}
	if ((unsigned)v->type >= sizeof type_tests / sizeof type_tests[0] ||
	    (fn = type_tests[v->type]) == NULL)
		return 0;
	if (e->rfact != NULL)
		return test_rfact(c, e, cmp, negate, v, fn);
	return fn(c, e, cmp, v) ^ negate;
}

/* ---- Operands ------------------------------------------------------------ */

static int header_field(eval_ctx *c, const char *name, size_t nth, pst_value *v)
{
	memset(v, 0, sizeof *v);
	v->type = PST_T_STRING;
	if (c->src == NULL || c->src->header_value == NULL)
		return -1;
	int rc = c->src->header_value(c->src->ctx, name, nth, &v->u.s.p, &v->u.s.len);
	if (rc == -2)
		c->failed = 1;
	if (rc != 0)
		return -1;
	v->known = 1;
	return 0;
}

static size_t header_count(eval_ctx *c, const char *name)
{
	if (c->src == NULL || c->src->header_count == NULL)
		return 0;
	return c->src->header_count(c->src->ctx, name);
}

static int test_fact_operand(eval_ctx *c, const pst_expr *e)
{
	const pst_value *v = get_fact(c, e->lhs.fact);

	trace_fact(c, &e->lhs, v);
	return test_value(c, e, v);
}

static int test_count_operand(eval_ctx *c, const pst_expr *e)
{
	pst_value v = { .known = 1, .type = PST_T_NUMBER };

	v.u.n = (long long)header_count(c, e->lhs.header);
	trace_fact(c, &e->lhs, &v);
	return test_value(c, e, &v);
}

/* header "N": the first field; any: some field passes; all: there is a
 * field and every one passes. */
static int test_header_operand(eval_ctx *c, const pst_expr *e)
{
	pst_value v;
	size_t count;

	if (e->lhs.header == NULL)
		return 0;
	if (e->lhs.quant == PST_Q_FIRST) {
		int absent = header_field(c, e->lhs.header, 0, &v) != 0;

		trace_fact(c, &e->lhs, absent ? NULL : &v);
		return absent ? 0 : test_value(c, e, &v);
	}
	count = header_count(c, e->lhs.header);
	trace_fields(c, &e->lhs, count);
	if (count == 0)
		return 0;
	for (size_t i = 0; i < count; i++) {
		int r = header_field(c, e->lhs.header, i, &v) == 0 && test_value(c, e, &v);

		if (e->lhs.quant == PST_Q_ANY && r)
			return 1;
		if (e->lhs.quant == PST_Q_ALL && !r)
			return 0;
	}
	return e->lhs.quant == PST_Q_ALL;
}

static int eval_test(eval_ctx *c, const pst_expr *e)
{
	switch (e->lhs.kind) {
	case PST_OPND_FACT:
		return test_fact_operand(c, e);
	case PST_OPND_HEADER:
		return test_header_operand(c, e);
	case PST_OPND_COUNT:
		return test_count_operand(c, e);
	}
	return 0;
}

/* Recursive on the left operand and under not (as deep as the tree), a
 * loop on the right operand of and/or. */
static int eval_expr(eval_ctx *c, const pst_expr *e)
{
	while (e != NULL) {
		switch (e->kind) {
		case PST_EXPR_TRUE:
			return 1;
		case PST_EXPR_FALSE:
			return 0;
		case PST_EXPR_AND:
			if (!eval_expr(c, e->a))
				return 0;
			e = e->b;
			break;
		case PST_EXPR_OR:
			if (eval_expr(c, e->a))
				return 1;
			e = e->b;
			break;
		case PST_EXPR_NOT: {
			c->negated ^= 1;
			int r = !eval_expr(c, e->a);
			c->negated ^= 1;
			return r;
		}
		case PST_EXPR_TEST:
			return eval_test(c, e);
		default:
			return 0;
		}
	}
	return 0;
}

/* ---- Interpolation ------------------------------------------------------- */

static int is_control(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* Replace each control character of b from start on by '?'; whether there
 * was one. */
static int scrub_controls(pst_buf *b, size_t start)
{
	int bad = 0;

	for (size_t j = start; j < b->len; j++)
		if (is_control((unsigned char)b->data[j])) {
			b->data[j] = '?';
			bad = 1;
		}
	return bad;
}

/* Cut b to at most max bytes, not inside a UTF-8 sequence. */
static void cut_utf8(pst_buf *b, size_t max)
{
	size_t n = max;

	if (b->len <= max)
		return;
	while (n > 0 && ((unsigned char)b->data[n] & 0xc0) == 0x80)
		n--;
	b->len = n;
	b->data[n] = '\0';
}

/* The text of t, facts rendered and sanitised, at most max bytes; a new
 * string in the arena, or NULL (c->failed set). */
static const char *interpolate(eval_ctx *c, const pst_template *t, size_t max)
{
	pst_buf b = PST_BUF_INIT;
	const char *out;

	for (size_t i = 0; t != NULL && i < t->nparts && b.len <= max; i++) {
		const pst_tpl_part *part = &t->parts[i];
		const pst_value *v;
		size_t start = b.len;

		if (part->is_capture) {
			if (part->group < PST_REGEX_GROUPS && c->cap[part->group] &&
			    pst_buf_append(&b, c->cap[part->group], c->caplen[part->group]) != 0)
				goto oom;
			if (scrub_controls(&b, start))
				warn(c, "control characters in $%u replaced by '?'", part->group);
			continue;
		}
		if (!part->is_fact) {
			if (part->lit && pst_buf_append(&b, part->lit, part->len) != 0)
				goto oom;
			continue;
		}
		v = get_fact(c, part->fact);
		if (v->known ? render_value(v, &b) != 0
		             : pst_buf_append(&b, PST_INTERP_UNKNOWN, sizeof PST_INTERP_UNKNOWN - 1) != 0)
			goto oom;
		if (scrub_controls(&b, start))
			warn(c, "control characters in ${%s} replaced by '?'", pst_fact_name(part->fact));
	}
	if (b.len > max) {
		cut_utf8(&b, max);
		warn(c, "rule %s: interpolated text cut to %zu bytes", rule_name(c), max);
	}
	out = ctx_strdup(c, pst_buf_str(&b));
	pst_buf_free(&b);
	return out;
oom:
	pst_buf_free(&b);
	c->failed = 1;
	return NULL;
}

/* ---- Actions ------------------------------------------------------------- */

/* The filter of a remove-header edit: the program's regex under the
 * program's match limit. */
typedef struct edit_regex {
	const pst_regex *re;
	uint32_t match_limit;
} edit_regex;

/* edit->match for remove-header ... matching: the evaluator's regex path
 * (eval/regex.h), so JIT and the thread's match data, no allocation. A
 * PCRE2 error (the match limit) keeps the field (0). */
static int edit_match(const pst_edit *e, const char *value, size_t len)
{
	const edit_regex *er = e->match_ctx;
	int err = 0;

	if (er == NULL || er->re == NULL || er->re->code == NULL)
		return 0;
	return pst_regex_match(NULL, er->re, er->match_limit, value, len, &err) == 1;
}

/* edit->subst for substitute: eval/subst.h on a decoded value. */
static int edit_subst(const pst_edit *e, const char *value, size_t len, pst_buf *out)
{
	int err = 0;
	int rc = pst_subst_apply(e->match_ctx, value, len, PST_MAX_SUBST_BYTES, out, &err);
	if (rc < 0)
		return err == PCRE2_ERROR_NOMEMORY ? -1 : 0;
	return rc;
}

/* A substitute's replacement: its literal and ${fact} parts interpolated
 * (one piece each), its captures left as references. NULL: c->failed. */
static pst_subst *subst_make(eval_ctx *c, const pst_rule_action *act)
{
	const pst_template *t = act->value;
	size_t n = t ? t->nparts : 0;
	pst_subst *s = pst_arena_calloc(c->arena, 1, sizeof *s);
	pst_subst_piece *pc = pst_arena_calloc(c->arena, n + 1, sizeof *pc);
	if (s == NULL || pc == NULL) {
		c->failed = 1;
		return NULL;
	}
	for (size_t i = 0; i < n && !c->failed; i++) {
		pc[i].group = t->parts[i].is_capture ? (int)t->parts[i].group : -1;
		if (pc[i].group >= 0)
			continue;
		pst_template one = { &t->parts[i], 1, NULL };
		pc[i].lit = interpolate(c, &one, PST_MAX_INTERP_BYTES);
		pc[i].len = pc[i].lit ? strlen(pc[i].lit) : 0;
	}
	s->re = act->re;
	s->match_limit = c->match_limit;
	s->global = act->re && act->re->flags && strchr(act->re->flags, 'g') != NULL;
	s->pieces = pc;
	s->npieces = n;
	return c->failed ? NULL : s;
}

/* Substitute in one decoded value at evaluation: the result in the arena
 * (NULL: no match, a PCRE2 error warned, or c->failed). */
static const char *subst_value(eval_ctx *c, const pst_subst *s, const char *v, size_t n)
{
	pst_buf b = PST_BUF_INIT;
	int err = 0;
	int rc = pst_subst_apply(s, v, n, PST_MAX_SUBST_BYTES, &b, &err);
	const char *out = rc == 1 ? ctx_strdup(c, pst_buf_str(&b)) : NULL;
	pst_buf_free(&b);
	if (rc < 0 && err == PCRE2_ERROR_NOMEMORY)
		c->failed = 1;
	else if (rc < 0 && err == 0)
		warn(c, "rule %s: substitution longer than %d bytes; not made", rule_name(c),
		     PST_MAX_SUBST_BYTES);
	else if (rc < 0)
		warn(c, "rule %s: /%s/%s: PCRE2 error %d; not substituted", rule_name(c),
		     s->re->source ? s->re->source : "", s->re->flags ? s->re->flags : "", err);
	return out;
}

/* What a substitute changes in the message as evaluated: the first
 * substituted value (from.display, or a field of the header), or NULL
 * when nothing matches: then it makes no edit. */
static const char *subst_first(eval_ctx *c, const pst_rule_action *act, const pst_subst *s)
{
	if (act->kind == PST_ACT_SUBSTITUTE_FROM_DISPLAY) {
		const pst_value *v = get_fact(c, PST_F_FROM_DISPLAY);
		return v->known ? subst_value(c, s, v->u.s.p, v->u.s.len) : NULL;
	}
	size_t count = act->name ? header_count(c, act->name) : 0;
	for (size_t i = 0; i < count && !c->failed; i++) {
		pst_value v;
		if (header_field(c, act->name, i, &v) != 0)
			continue;
		const char *r = subst_value(c, s, v.u.s.p, v.u.s.len);
		if (r)
			return r;
	}
	return NULL;
}

/* An edit action: the edit, its name when the name is a header's, its
 * value interpolated, its regex filter; a substitute's substitution, or
 * nothing when its regex matches nowhere. */
static void do_edit(eval_ctx *c, const pst_rule_action *act, const pst_action_def *def)
{
	pst_edit ed;

	memset(&ed, 0, sizeof ed);
	ed.kind = act->kind;
	ed.rule = ctx_strdup(c, rule_name(c));
	if (def->flags & PST_ACTF_HDRNAME)
		ed.name = ctx_strdup(c, act->name ? act->name : "");
	if (def->flags & PST_ACTF_SUBST) {
		pst_subst *s = act->re && act->re->code && regex_state(c) == 0 ? subst_make(c, act) : NULL;
		if (s == NULL) {
			c->failed = 1;    /* the compiler never makes one without a regex */
			return;
		}
		if ((ed.value = subst_first(c, act, s)) == NULL)
			return;
		ed.subst = edit_subst;
		ed.match_ctx = s;
	} else if (def->args & PST_ARG_VALUE)
		ed.value = interpolate(c, act->value, PST_MAX_INTERP_BYTES);
	if (!(def->flags & PST_ACTF_SUBST) && act->re != NULL && act->re->code != NULL) {
		edit_regex *er = pst_arena_alloc(c->arena, sizeof *er);

		if (er == NULL) {
			c->failed = 1;
			return;
		}
		er->re = act->re;
		er->match_limit = c->match_limit;
		ed.match = edit_match;
		ed.match_ctx = er;
	}
	if (!c->failed && vec_push(c->arena, &c->edits, sizeof ed, &ed) != 0)
		c->failed = 1;
}

/* A terminal action: its decision and reply, the definition's defaults
 * where the action gives none (or the program was built by hand). */
static void decide(eval_ctx *c, const pst_rule_action *act, const pst_action_def *def,
                   pst_outcome *o)
{
	int replies = (def->args & PST_ARG_REPLY) != 0;

	o->decision = def->decision;
	o->code = replies && act->code ? act->code : def->reply.code;
	o->enhanced = ctx_strdup(c, replies && act->enhanced ? act->enhanced : def->reply.enhanced);
	if (replies && act->text != NULL)
		o->text = interpolate(c, act->text, PST_MAX_REPLY_TEXT);
	else
		o->text = ctx_strdup(c, def->reply.text);
	o->folder = (def->args & PST_ARG_NAME) ? ctx_strdup(c, act->name) : NULL;
	o->rule = ctx_strdup(c, rule_name(c));
	o->rule_at = c->rule ? (size_t)(c->rule - c->prog->rules) : 0;
}

/* Run a matched rule's actions, each as its definition's effect says; 1
 * when a terminal action decided. */
static int run_actions(eval_ctx *c, const pst_program_rule *r, pst_outcome *o)
{
	for (size_t i = 0; i < r->nactions && !c->failed; i++) {
		const pst_rule_action *act = &r->actions[i];
		const pst_action_def *def = pst_action_get(act->kind);

		if (!PST_INVARIANT(def != NULL)) {
			c->failed = 1;    /* an action id the registry does not know */
			return 0;
		}
		switch (def->effect) {
		case PST_EFFECT_DECIDE:
			decide(c, act, def, o);
			return 1;
		case PST_EFFECT_LOG:
			push_str(c, &c->logs, interpolate(c, act->value, PST_MAX_INTERP_BYTES));
			break;
		case PST_EFFECT_TAG:
			push_str(c, &c->tags, ctx_strdup(c, act->name ? act->name : ""));
			break;
		case PST_EFFECT_EDIT:
			do_edit(c, act, def);
			break;
		}
	}
	return 0;
}

/* ---- Rules --------------------------------------------------------------- */

/* The items of v from index from on, moved to an array of their own
 * (NULL when none); v keeps the first from. */
static const char *const *take_tail(eval_ctx *c, eval_vec *v, size_t from, size_t *n)
{
	const char **items = NULL;

	*n = v->n - from;
	if (*n && (items = pst_arena_calloc(c->arena, *n, sizeof *items)) == NULL) {
		c->failed = 1;
		*n = 0;
	} else if (*n) {
		memcpy(items, (const char **)v->items + from, *n * sizeof *items);
	}
	v->n = from;
	return items;
}

/* An audit rule matched: run its actions aside and record what it would
 * have done; its log texts and tags move to the record, its edits go. */
static void audit_actions(eval_ctx *c, const pst_program_rule *r)
{
	size_t nlogs = c->logs.n, ntags = c->tags.n, nedits = c->edits.n;
	pst_outcome would;
	pst_audit_hit h;

	memset(&would, 0, sizeof would);
	memset(&h, 0, sizeof h);
	h.decided = run_actions(c, r, &would);
	h.rule = ctx_strdup(c, r->name ? r->name : "?");
	h.rule_at = (size_t)(r - c->prog->rules);
	h.decision = would.decision;
	h.code = would.code;
	h.enhanced = would.enhanced;
	h.text = would.text;
	h.folder = would.folder;
	h.logs = take_tail(c, &c->logs, nlogs, &h.nlogs);
	h.tags = take_tail(c, &c->tags, ntags, &h.ntags);
	c->edits.n = nedits;
	if (vec_push(c->arena, &c->audits, sizeof h, &h) != 0)
		c->failed = 1;
}

static int in_tenant(const eval_ctx *c, const pst_program_rule *r)
{
	if (r->tenant == NULL)
		return 1;
	return c->rcpt_domain != NULL && pst_domain_is_under(c->rcpt_domain, r->tenant);
}

static void trace_rule(eval_ctx *c, pst_trace_rule *t, const pst_program_rule *r,
                       pst_trace_status status)
{
	t->rule = ctx_strdup(c, r->name ? r->name : "?");
	t->file = ctx_strdup(c, r->file);
	t->line = r->line;
	t->audit = r->audit;
	t->status = status;
	t->facts = c->tfacts.items;
	t->nfacts = c->tfacts.n;
}

static unsigned long long mono_nsec(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* Evaluate rule r; 1 when it decided. */
static int eval_rule(eval_ctx *c, const pst_program_rule *r, pst_trace_rule *t,
                     pst_outcome *o)
{
	int matched;

	c->rule = r;
	memset(&c->tfacts, 0, sizeof c->tfacts);
	memset(c->cap, 0, sizeof c->cap);
	memset(c->caplen, 0, sizeof c->caplen);
	c->negated = 0;
	if (!in_tenant(c, r)) {
		if (t)
			trace_rule(c, t, r, PST_TRACE_OTHER_TENANT);
		return 0;
	}
	matched = r->when == NULL || eval_expr(c, r->when);
	if (t)
		trace_rule(c, t, r, matched ? PST_TRACE_MATCHED : PST_TRACE_NOT_MATCHED);
	if (!matched)
		return 0;
	push_str(c, &c->matched, r->name ? r->name : "?");  /* the program's string */
	if (r->audit) {
		push_str(c, &c->audit, ctx_strdup(c, r->name ? r->name : "?"));
		audit_actions(c, r);
		return 0;
	}
	return run_actions(c, r, o);
}

/* ---- The rule index ------------------------------------------------------ */

/* With the program's index (lang/index.h) only the candidate rules run:
 * every plain rule, and the rules of each group that its lookup lists for
 * the message's value. The others would have read that same value first
 * and found their condition false, so the outcome is the same. Walking the
 * schedule and the looked-up lists (a heap of cursors) visits candidates in
 * program order; a group is looked up when the walk reaches its first rule,
 * where the plain evaluator would have read its value. Tracing records
 * every rule, so it never uses the index. */

typedef struct ix_cursor {
	const uint32_t *p, *end;       /* rules still to visit, ascending */
} ix_cursor;

typedef struct ix_heap {
	eval_ctx *c;
	ix_cursor *items;              /* a binary heap on *p */
	size_t n, cap;
} ix_heap;

static void heap_down(ix_heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		ix_cursor t;

		if (l < h->n && *h->items[l].p < *h->items[m].p)
			m = l;
		if (r < h->n && *h->items[r].p < *h->items[m].p)
			m = r;
		if (m == i)
			return;
		t = h->items[i];
		h->items[i] = h->items[m];
		h->items[m] = t;
		i = m;
	}
}

/* pst_index_emit: a list of candidates joins the heap. */
static int heap_push(void *ctx, const uint32_t *rules, size_t n)
{
	ix_heap *h = ctx;
	size_t i;

	if (n == 0)
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;
		ix_cursor *items = pst_arena_calloc(h->c->arena, cap, sizeof *items);

		if (items == NULL) {
			h->c->failed = 1;
			return -1;
		}
		if (h->n)
			memcpy(items, h->items, h->n * sizeof *items);
		h->items = items;
		h->cap = cap;
	}
	i = h->n++;
	h->items[i].p = rules;
	h->items[i].end = rules + n;
	while (i > 0 && *h->items[(i - 1) / 2].p > *h->items[i].p) {
		ix_cursor t = h->items[i];

		h->items[i] = h->items[(i - 1) / 2];
		h->items[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
	return 0;
}

/* Take the smallest candidate. */
static size_t heap_pop(ix_heap *h)
{
	size_t r = *h->items[0].p++;

	if (h->items[0].p == h->items[0].end)
		h->items[0] = h->items[--h->n];
	heap_down(h, 0);
	return r;
}

/* The walk reached group g's first rule: read its value as that rule's
 * first test would, and queue the rules that value can match. */
static void ix_activate(eval_ctx *c, const pst_index *ix, size_t g, ix_heap *h)
{
	const pst_index_group *grp = &ix->groups[g];
	const pst_operand *o = grp->operand;
	const pst_value *v;
	pst_value field;

	if (grp->tenant != NULL &&
	    (c->rcpt_domain == NULL || !pst_domain_is_under(c->rcpt_domain, grp->tenant)))
		return;
	if (o->kind == PST_OPND_FACT) {
		v = get_fact(c, o->fact);
	} else {
		if (header_field(c, o->header, 0, &field) != 0)
			return;
		v = &field;
	}
	if (!v->known || c->failed)
		return;
	if (pst_index_lookup(ix, g, v, heap_push, h) != 0 && !c->failed)
		(void)heap_push(h, grp->rules, grp->nrules);   /* in doubt: all of them */
}

/* Run the candidate rules in order; 1 when one decided. */
static int eval_indexed(eval_ctx *c, const pst_index *ix, pst_outcome *o)
{
	ix_heap h = { c, NULL, 0, 0 };
	size_t step = 0, last = SIZE_MAX;

	while (!c->failed) {
		size_t next_step = step < ix->nsteps ? ix->steps[step].rule : SIZE_MAX;
		size_t next = h.n ? *h.items[0].p : SIZE_MAX, r;

		if (next_step == SIZE_MAX && next == SIZE_MAX)
			break;
		if (next_step <= next) {
			const pst_index_step *s = &ix->steps[step++];

			if (s->group >= 0) {
				ix_activate(c, ix, (size_t)s->group, &h);
				continue;
			}
			r = s->rule;
		} else if ((r = heap_pop(&h)) == last) {
			continue;             /* listed under two keys */
		}
		last = r;
		if (eval_rule(c, &c->prog->rules[r], NULL, o))
			return 1;
	}
	return 0;
}

/* ---- Envelope only ------------------------------------------------------- */

/* 1 when rule r has a terminal action (it may decide). */
static int may_decide(const pst_program_rule *r)
{
	for (size_t i = 0; i < r->nactions; i++)
		if (pst_action_terminal(r->actions[i].kind))
			return 1;
	return 0;
}

/* The rules in order from the envelope alone; 1 when one decided. A rule
 * that needs the message and may decide stops it: outcome->undecided. */
static int eval_envelope(eval_ctx *c, pst_outcome *o)
{
	for (size_t i = 0; i < c->prog->nrules && !c->failed; i++) {
		const pst_program_rule *r = &c->prog->rules[i];

		if (r->envelope_only) {
			if (eval_rule(c, r, NULL, o))
				return 1;
		} else if (in_tenant(c, r) && !r->audit && may_decide(r)) {
			o->undecided = 1;
			return 0;
		}
	}
	return 0;
}

static void set_rcpt(eval_ctx *c, const char *rcpt)
{
	char *d;

	c->rcpt = rcpt ? rcpt : "";
	c->rcpt_len = strlen(c->rcpt);
	if (c->rcpt_len == 0 || (d = address_domain(c, c->rcpt, c->rcpt_len)) == NULL)
		return;
	c->rcpt_domain = ctx_strdup(c, d);
	free(d);
}

static void fill_outcome(const eval_ctx *c, pst_outcome *o)
{
	o->edits = c->edits.items;
	o->nedits = c->edits.n;
	o->audit = c->audit.items;
	o->naudit = c->audit.n;
	o->audits = c->audits.items;
	o->naudits = c->audits.n;
	o->matched = c->matched.items;
	o->nmatched = c->matched.n;
	o->logs = c->logs.items;
	o->nlogs = c->logs.n;
	o->tags = c->tags.items;
	o->ntags = c->tags.n;
	o->warnings = c->warnings.items;
	o->nwarnings = c->warnings.n;
}

int pst_eval_recipient(const struct pst_program *prog, const pst_fact_source *src,
                       const char *rcpt, const pst_eval_opts *opts,
                       struct pst_arena *arena, pst_outcome *outcome)
{
	eval_ctx c;
	pst_trace_rule *trace = NULL;
	int decided = 0;

	memset(outcome, 0, sizeof *outcome);
	memset(&c, 0, sizeof c);
	c.prog = prog;
	c.src = src;
	c.arena = arena;
	c.match_limit = prog->settings.match_limit ? prog->settings.match_limit :
	                PST_DEFAULT_MATCH_LIMIT;
	int envelope = opts != NULL && opts->envelope_only;
	c.tracing = opts != NULL && opts->trace && !envelope;
	set_rcpt(&c, rcpt);
	if (c.tracing && prog->nrules > 0 &&
	    (trace = pst_arena_calloc(arena, prog->nrules, sizeof *trace)) == NULL)
		c.failed = 1;

	int timing = opts != NULL && opts->rule_nsec != NULL && opts->rule_evals != NULL && !envelope;
	unsigned long long t0 = timing ? mono_nsec() : 0;
	if (envelope)
		decided = eval_envelope(&c, outcome);
	else if (prog->index != NULL && !c.tracing && !timing)
		decided = eval_indexed(&c, prog->index, outcome);
	else for (size_t i = 0; i < prog->nrules && !c.failed; i++) {
		const pst_program_rule *r = &prog->rules[i];

		if (decided) {
			if (!trace)
				break;
			c.rule = r;
			memset(&c.tfacts, 0, sizeof c.tfacts);
			trace_rule(&c, &trace[i], r, PST_TRACE_NOT_REACHED);
			continue;
		}
		if (timing) {
			decided = eval_rule(&c, r, trace ? &trace[i] : NULL, outcome);
			unsigned long long t1 = mono_nsec();
			opts->rule_nsec[i] += t1 > t0 ? t1 - t0 : 0;
			opts->rule_evals[i]++;
			t0 = t1;
		} else {
			decided = eval_rule(&c, r, trace ? &trace[i] : NULL, outcome);
		}
	}
	if (!decided && !c.failed) {
		static const pst_rule_action implicit = { .kind = PST_ACT_ACCEPT };

		c.rule = NULL;
		decide(&c, &implicit, pst_action_get(PST_ACT_ACCEPT), outcome);
		outcome->rule = NULL;
	}
	if (c.failed)
		return -1;
	fill_outcome(&c, outcome);
	outcome->trace = trace;
	outcome->ntrace = trace ? prog->nrules : 0;
	return 0;
}
