/*
 * check.c: the checker. It walks the whole syntax tree once, resolves every
 * name (facts, lists, settings, modes, result and policy words), checks
 * types and values, compiles the regexes, and annotates the tree with what
 * it found (resolved facts, converted literals, normalised domains, parsed
 * CIDR blocks, list kinds, the settings) so the compiler only translates.
 *
 * Contract: every problem is reported, each at its file:line:col, and
 * checking goes on after it, so one run shows them all; names that do not
 * resolve get a did-you-mean from pst_suggest. Checking never aborts: a
 * node that failed is left unannotated and the compiler is not run when
 * there were errors. Settings are a table of their own (check_settings.c);
 * actions are checked as their definitions say (check_actions.c over
 * lang/action.h, with each action's own hook in lang/actions/); what the
 * checker's files share is in check_private.h.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lang/ast.h"
#include "lang/check_private.h"
#include "util/buf.h"
#include "util/domain.h"
#include "util/hash.h"
#include "util/ip.h"
#include "util/limits.h"
#include "util/suggest.h"

/* ---- Names to entries: a small open-addressing hash map -------------- */

static void *map_get(const struct map *m, const char *key)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = pst_hash_fnv1a64_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->e[i].key == NULL)
			return NULL;
		if (strcmp(m->e[i].key, key) == 0)
			return m->e[i].val;
	}
}

/* Insert key unless present. 0, or -1 on ENOMEM. */
static int map_put(struct map *m, const char *key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct map_ent *ne = calloc(ncap, sizeof *ne);
		if (ne == NULL)
			return -1;
		for (size_t i = 0; i < m->cap; i++) {
			if (m->e[i].key == NULL)
				continue;
			size_t j = pst_hash_fnv1a64_str(m->e[i].key) & (ncap - 1);
			while (ne[j].key)
				j = (j + 1) & (ncap - 1);
			ne[j] = m->e[i];
		}
		free(m->e);
		m->e = ne;
		m->cap = ncap;
	}
	size_t i = pst_hash_fnv1a64_str(key) & (m->cap - 1);
	while (m->e[i].key)
		i = (i + 1) & (m->cap - 1);
	m->e[i].key = key;
	m->e[i].val = val;
	m->n++;
	return 0;
}

static void map_free(struct map *m)
{
	free(m->e);
	m->e = NULL;
	m->n = m->cap = 0;
}

/* ---- Reporting -------------------------------------------------------- */

static void __attribute__((format(printf, 7, 0))) vreport(struct checker *c, pst_severity sev, const char *file, unsigned line,
                    unsigned col, unsigned width, const char *fmt, va_list ap)
{
	pst_buf b = PST_BUF_INIT;
	int rc = pst_buf_vprintf(&b, fmt, ap);
	pst_diags_report(c->d, sev, file, line, col, width, "%s",
	                 rc == 0 ? pst_buf_str(&b) : "out of memory");
	pst_buf_free(&b);
}

void pst_chk_err(struct checker *c, const char *file, const pst_ast_loc *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c, PST_SEV_ERROR, file, l->first_line, l->first_column, pst_ast_loc_width(l), fmt, ap);
	va_end(ap);
}

void pst_chk_warn(struct checker *c, const char *file, const pst_ast_loc *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c, PST_SEV_WARNING, file, l->first_line, l->first_column, pst_ast_loc_width(l), fmt, ap);
	va_end(ap);
}

void pst_chk_err_at(struct checker *c, const char *file, unsigned line, unsigned col,
                   unsigned width, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c, PST_SEV_ERROR, file, line, col, width, fmt, ap);
	va_end(ap);
}

/* "; did you mean 'x'?" for word among cands, or "". Thread-local. */
const char *pst_chk_dym(const char *word, size_t n, const char *const *cands, size_t ncands)
{
	static _Thread_local char buf[128];
	const char *s = pst_suggest(word, n, cands, ncands);
	if (s == NULL)
		return "";
	snprintf(buf, sizeof buf, "; did you mean '%s'?", s);
	return buf;
}

/* Look word up in a NULL-terminated name table; its index or -1. */
int pst_chk_name_index(const char *const *names, const char *word)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], word) == 0)
			return i;
	return -1;
}

size_t pst_chk_name_count(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

static const char *article(const char *noun)
{
	return strchr("aeiou", noun[0]) ? "an" : "a";
}

/* ---- Facts ------------------------------------------------------------ */

static void init_fact_names(struct checker *c)
{
	for (int i = 0; i < PST_F__COUNT; i++)
		c->fact_names[i] = pst_fact_name((pst_fact)i);
	c->fact_names[PST_F__COUNT] = NULL;
}

/* Resolve a fact name, reporting an unknown one. The fact, or -1. */
static int resolve_fact(struct checker *c, const char *file, const char *name, size_t n,
                        unsigned line, unsigned col, unsigned width)
{
	int f = pst_fact_lookup(name, n);
	if (f >= 0)
		return f;
	/* A list name where a fact was expected gets its own hint. */
	if (map_get(&c->lists, name))
		pst_chk_err_at(c, file, line, col, width, "'%s' is a list, not a fact; write 'FACT in %s'",
		       name, name);
	else
		pst_chk_err_at(c, file, line, col, width, "unknown fact '%s'%s", name,
		       pst_chk_dym(name, n, c->fact_names, PST_F__COUNT));
	return -1;
}

/* ---- Strings: templates and plain texts ------------------------------- */


/* A capture $N (part p) that the regex it comes from has no group for. */
static void check_capture(struct checker *c, const char *file, const pst_ast_part *p)
{
	unsigned w = (unsigned)p->len;
	if (p->group <= c->groups)
		return;
	if (c->groups_subst)
		pst_chk_err_at(c, file, p->line, p->col, w, "%s: the substitute regex has %d "
		       "capture group%s (a substitute's $N are its own regex's; write $$ for a "
		       "dollar)", p->text, c->groups,
		       c->groups == 1 ? "" : "s");
	else if (c->groups < 0 && c->groups_negated < 0)
		pst_chk_err_at(c, file, p->line, p->col, w, "%s: the rule's condition has no "
		       "'matches' test to take a capture from (write $$ for a dollar)", p->text);
	else if (c->groups_negated >= p->group)
		pst_chk_err_at(c, file, p->line, p->col, w, "%s: only a 'matches' under 'not' has "
		       "group %d, and captures come from a 'matches' that is not under 'not'", p->text, p->group);
	else
		pst_chk_err_at(c, file, p->line, p->col, w, "%s: the condition's 'matches' regexes "
		       "have at most %d capture group%s (write $$ for a dollar)", p->text,
		       c->groups < 0 ? 0 : c->groups, c->groups == 1 ? "" : "s");
}

/* Check the ${fact} parts of a template, its captures and the CR/LF rule. */
void pst_chk_template(struct checker *c, const char *file, pst_ast_str *s, enum text_use use)
{
	for (pst_ast_part *p = s->parts; p; p = p->next) {
		if (p->group >= 0)
			check_capture(c, file, p);
		if (!p->is_fact)
			continue;
		p->fact = resolve_fact(c, file, p->text, p->len, p->line, p->col + 2,
		                       p->len ? (unsigned)p->len : 1);
	}
	if (s->crlf_col && use != TEXT_PLAIN)
		pst_chk_err_at(c, file, s->crlf_line, s->crlf_col, 1, "%s cannot contain CR or LF",
		       use == TEXT_HEADER ? "a header field value" : "an SMTP reply text");
}

/* A text that takes no interpolation (header names, folders, tags, lists). */
int pst_chk_plain_text(struct checker *c, const char *file, const pst_ast_str *s, const char *what)
{
	for (const pst_ast_part *p = s->parts; p; p = p->next)
		if (p->is_fact) {
			pst_chk_err_at(c, file, p->line, p->col, (unsigned)p->len + 3,
			       "%s takes no ${...} interpolation", what);
			return -1;
		}
	return 0;
}

/* Header field names: printable ASCII but ':' (RFC 5322 ftext). */
int pst_chk_header_name(struct checker *c, const char *file, const pst_ast_str *s)
{
	if (pst_chk_plain_text(c, file, s, "a header field name") < 0)
		return -1;
	if (s->len == 0) {
		pst_chk_err(c, file, &s->loc, "empty header field name");
		return -1;
	}
	for (size_t i = 0; i < s->len; i++) {
		unsigned char ch = (unsigned char)s->s[i];
		if (ch < 0x21 || ch > 0x7e || ch == ':') {
			pst_chk_err(c, file, &s->loc, "bad header field name \"%s\": only printable ASCII "
			    "without spaces or ':'", s->s);
			return -1;
		}
	}
	return 0;
}

/* ---- Regexes ---------------------------------------------------------- */

void pst_chk_regex(struct checker *c, const char *file, pst_ast_regex *re)
{
	if (re->code)
		return;               /* compiled already */
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	for (const char *f = re->flags; *f; f++) {
		switch (*f) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 'x': opts |= PCRE2_EXTENDED; break;
		case 's': opts |= PCRE2_DOTALL; break;
		default:
			if (*f == 'g' && re->subst)
				break;          /* substitute: every match */
			pst_chk_err_at(c, file, re->line, re->flags_col + (unsigned)(f - re->flags), 1,
			       "unknown regex flag '%c' (the flags are i, x and s%s)", *f,
			       re->subst ? "; g for every match" : "");
			return;
		}
	}
	/* UTF mode with PCRE2_MATCH_INVALID_UTF: patterns are UTF-8, "." and
	 * "i" work on characters, and invalid bytes in a message act as
	 * barriers instead of failing the match, under JIT too. */
	int ecode;
	PCRE2_SIZE eoff;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re->pattern, re->len, opts, &ecode, &eoff, NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ecode, msg, sizeof msg);
		pst_chk_err_at(c, file, re->line, re->pat_col + (unsigned)eoff, 1, "bad regex: %s",
		       (const char *)msg);
		return;
	}
	re->code = code;
}

int pst_chk_regex_groups(const pst_ast_regex *re)
{
	uint32_t n;
	if (re == NULL || re->code == NULL ||
	    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &n) != 0)
		return -1;
	return n > 9 ? 9 : (int)n;
}

/* The highest group of the matches tests under e, apart (neg) or not
 * under a 'not'. Recursive: the parser bounds the depth. */
static void cond_groups(const pst_ast_expr *e, int neg, int *pos, int *negd)
{
	if (e == NULL)
		return;
	if (e->kind == PST_AX_TEST && e->cmp == PST_CMP_MATCHES) {
		int n = pst_chk_regex_groups(e->re);
		int *best = neg ? negd : pos;
		if (n > *best)
			*best = n;
		return;
	}
	neg ^= e->kind == PST_AX_NOT;
	cond_groups(e->a, neg, pos, negd);
	cond_groups(e->b, neg, pos, negd);
}

void pst_chk_rule_groups(struct checker *c, const pst_ast_expr *e)
{
	c->groups = c->groups_negated = -1;
	c->groups_subst = 0;
	cond_groups(e, 0, &c->groups, &c->groups_negated);
}

/* ---- Values ----------------------------------------------------------- */

static const char *value_text(const pst_ast_value *v, size_t *n)
{
	if (v->kind == PST_AV_STRING) {
		*n = v->str->len;
		return v->str->s;
	}
	*n = v->word.len;
	return v->word.s ? v->word.s : "";
}

/* How a literal is named in a type mismatch: "\"abc\" is a string". */
static void value_desc(const pst_ast_value *v, pst_buf *b)
{
	size_t n;
	const char *t = value_text(v, &n);
	switch (v->kind) {
	case PST_AV_STRING: pst_buf_printf(b, "\"%s\" is a string", t); break;
	case PST_AV_NUMBER: pst_buf_printf(b, "%s is a number", t); break;
	case PST_AV_IP: pst_buf_printf(b, "%s is an IP address", t); break;
	case PST_AV_WORD: pst_buf_printf(b, "'%s' is a word", t); break;
	}
}

static const char *const result_words[] = {
	"none", "pass", "fail", "softfail", "neutral", "temperror", "permerror", "policy", NULL
};
static const char *const policy_words[] = { "none", "quarantine", "reject", NULL };
static const char *const bool_words[] = { "false", "true", NULL };

/* A normalised domain in the arena, or NULL after reporting. */
static const char *norm_domain(struct checker *c, const char *file, const char *s, size_t n,
                               const pst_ast_loc *loc)
{
	const char *why = NULL;
	char *d = pst_domain_normalize(s, n, &why);
	if (d == NULL && why == pst_domain_why_nomem) {
		c->ast->oom = 1;      /* "out of memory", not a bad domain */
		return NULL;
	}
	if (d == NULL) {
		pst_chk_err(c, file, loc, "bad domain '%.*s': %s", (int)n, s, why ? why : "invalid");
		return NULL;
	}
	const char *r = pst_ast_strdup(c->ast, d);
	free(d);
	return r;
}

static void ascii_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* ---- Conditions ------------------------------------------------------- */

/* The operand as diagnostics name it. */
static void opnd_desc(const pst_ast_expr *e, pst_buf *b)
{
	switch (e->lhs.kind) {
	case PST_OPND_FACT: pst_buf_puts(b, e->lhs.fact.s); break;
	case PST_OPND_HEADER:
		pst_buf_printf(b, "%sheader \"%s\"", e->lhs.quant == PST_Q_ANY ? "any " :
		               e->lhs.quant == PST_Q_ALL ? "all " : "", e->lhs.header->s);
		break;
	case PST_OPND_COUNT: pst_buf_printf(b, "count(header \"%s\")", e->lhs.header->s); break;
	}
}

static void mismatch_value(struct checker *c, const char *file, const pst_ast_expr *e)
{
	pst_buf b = PST_BUF_INIT;
	opnd_desc(e, &b);
	const char *tn = pst_type_name(e->type);
	pst_buf_printf(&b, " is %s %s, ", article(tn), tn);
	value_desc(e->rhs, &b);
	pst_chk_err(c, file, &e->rhs->loc, "type mismatch: %s", pst_buf_str(&b));
	pst_buf_free(&b);
}

static void mismatch_op(struct checker *c, const char *file, const pst_ast_expr *e,
                        const char *op, const char *needs)
{
	pst_buf b = PST_BUF_INIT;
	opnd_desc(e, &b);
	const char *tn = pst_type_name(e->type);
	pst_chk_err(c, file, &e->oploc, "type mismatch: '%s' needs %s, but %s is %s %s", op, needs,
	    pst_buf_str(&b), article(tn), tn);
	pst_buf_free(&b);
}

/* Resolve a word among names (result or policy words). Index or -1. */
static int word_value(struct checker *c, const char *file, const pst_ast_expr *e,
                      const char *const *names, const char *what)
{
	const pst_ast_value *v = e->rhs;
	if (v->kind != PST_AV_WORD) {
		mismatch_value(c, file, e);
		return -1;
	}
	int i = pst_chk_name_index(names, v->word.s);
	if (i < 0)
		pst_chk_err(c, file, &v->loc, "unknown %s '%s'%s", what, v->word.s,
		    pst_chk_dym(v->word.s, v->word.len, names, pst_chk_name_count(names)));
	return i;
}

/* Convert the literal of an ==/!= test to the operand's type. */
static void check_eq_literal(struct checker *c, const char *file, pst_ast_expr *e)
{
	const pst_ast_value *v = e->rhs;
	pst_literal *lit = &e->lit;
	size_t n;
	const char *t = value_text(v, &n);
	int i;
	lit->type = e->type;
	switch (e->type) {
	case PST_T_BOOL:
		if (v->kind != PST_AV_WORD || (i = pst_chk_name_index(bool_words, v->word.s)) < 0) {
			mismatch_value(c, file, e);
			return;
		}
		lit->b = i;
		return;
	case PST_T_NUMBER:
		if (v->kind != PST_AV_NUMBER) {
			mismatch_value(c, file, e);
			return;
		}
		lit->n = v->n;
		return;
	case PST_T_IP: {
		if (v->kind != PST_AV_IP) {
			mismatch_value(c, file, e);
			return;
		}
		if (pst_ip_parse(t, n, &lit->ip) < 0) {
			pst_cidr cidr;
			const char *why = NULL;
			if (pst_cidr_parse(t, n, &cidr, NULL, &why) == 0)
				pst_chk_err(c, file, &v->loc, "'%s' is a CIDR block; write 'client.ip in { %s }'",
				    t, t);
			else
				pst_chk_err(c, file, &v->loc, "bad IP address '%s': %s", t, why ? why : "invalid");
		}
		return;
	}
	case PST_T_RESULT:
		if ((i = word_value(c, file, e, result_words, "result")) >= 0)
			lit->result = (pst_auth_result)i;
		return;
	case PST_T_POLICY:
		if ((i = word_value(c, file, e, policy_words, "policy")) >= 0)
			lit->policy = (pst_dmarc_policy)i;
		return;
	case PST_T_DOMAIN:
	case PST_T_DOMAINSET:
		if (v->kind != PST_AV_STRING && v->kind != PST_AV_WORD) {
			mismatch_value(c, file, e);
			return;
		}
		lit->type = PST_T_STRING;
		lit->s = n == 0 ? "" : norm_domain(c, file, t, n, &v->loc);
		lit->len = lit->s ? strlen(lit->s) : 0;
		return;
	case PST_T_STRING:
	case PST_T_ADDRESS:
	case PST_T_STRINGSET:         /* some member ==, != the text */
		if (v->kind != PST_AV_STRING) {
			mismatch_value(c, file, e);
			return;
		}
		lit->type = PST_T_STRING;
		lit->s = t;
		lit->len = n;
		return;
	}
}

/* contains / starts-with / ends-with: a text operand and a string. */
static void check_text_literal(struct checker *c, const char *file, pst_ast_expr *e, const char *op)
{
	if (e->type == PST_T_DOMAINSET && e->cmp == PST_CMP_CONTAINS) {
		check_eq_literal(c, file, e);
		return;
	}
	if (e->type != PST_T_STRING && e->type != PST_T_ADDRESS && e->type != PST_T_DOMAIN &&
	    e->type != PST_T_STRINGSET) {
		mismatch_op(c, file, e, op, "text");
		return;
	}
	if (e->rhs->kind != PST_AV_STRING) {
		mismatch_value(c, file, e);
		return;
	}
	e->lit.type = PST_T_STRING;
	e->lit.s = e->rhs->str->s;
	e->lit.len = e->rhs->str->len;
	if (e->type == PST_T_DOMAIN) {
		char *low = pst_ast_strndup(c->ast, e->lit.s, e->lit.len);
		if (low) {
			ascii_lower(low);
			e->lit.s = low;
		}
	}
}

static void check_number_literal(struct checker *c, const char *file, pst_ast_expr *e, const char *op)
{
	if (e->type != PST_T_NUMBER) {
		mismatch_op(c, file, e, op, "a number");
		return;
	}
	if (e->rhs->kind != PST_AV_NUMBER) {
		mismatch_value(c, file, e);
		return;
	}
	e->lit.type = PST_T_NUMBER;
	e->lit.n = e->rhs->n;
}

static const char *const list_kind_words[] = { "domains", "ips", "strings", NULL };

/* The list kind an operand type needs for IN, or -1. Results and policies
 * are looked up by their word in a strings list. */
static int kind_for_type(pst_type t, pst_list_kind *k)
{
	switch (t) {
	case PST_T_IP: *k = PST_LIST_IPS; return 0;
	case PST_T_DOMAIN: case PST_T_DOMAINSET: case PST_T_ADDRESS: *k = PST_LIST_DOMAINS; return 0;
	case PST_T_STRING: case PST_T_RESULT: case PST_T_POLICY: *k = PST_LIST_STRINGS; return 0;
	case PST_T_STRINGSET: *k = PST_LIST_STRINGS; return 0;
	default: return -1;
	}
}

/* Whether a list of kind k serves an operand of type t. */
static int kind_fits(pst_type t, pst_list_kind k)
{
	pst_list_kind want;
	if (kind_for_type(t, &want) < 0)
		return 0;
	if (k == want)
		return 1;
	/* Addresses in a strings list compare whole; host names (client.helo,
	 * client.ptr, headers) in a domain list match subdomains too. */
	return (t == PST_T_ADDRESS && k == PST_LIST_STRINGS) ||
	       (t == PST_T_STRING && k == PST_LIST_DOMAINS);
}

/* The items of an inline list for a result or policy operand are words. */
static void check_word_items(struct checker *c, const char *file, pst_ast_expr *e)
{
	const char *const *names = e->type == PST_T_RESULT ? result_words : policy_words;
	const char *what = e->type == PST_T_RESULT ? "result" : "policy";
	for (pst_ast_value *v = e->inl->items; v; v = v->next) {
		if (v->kind != PST_AV_WORD) {
			pst_buf b = PST_BUF_INIT;
			value_desc(v, &b);
			pst_chk_err(c, file, &v->loc, "type mismatch: %s is %s, %s", e->lhs.fact.s, what,
			    pst_buf_str(&b));
			pst_buf_free(&b);
			e->inl->ok = 0;
		} else if (pst_chk_name_index(names, v->word.s) < 0) {
			pst_chk_err(c, file, &v->loc, "unknown %s '%s'%s", what, v->word.s,
			    pst_chk_dym(v->word.s, v->word.len, names, pst_chk_name_count(names)));
			e->inl->ok = 0;
		}
	}
}

static void check_list_items(struct checker *c, pst_ast_list *l);

static void check_in(struct checker *c, const char *file, pst_ast_expr *e)
{
	pst_list_kind want;
	if (kind_for_type(e->type, &want) < 0) {
		mismatch_op(c, file, e, "in", "text, a domain, an IP address or a result");
		return;
	}
	if (e->inl) {
		/* An inline list: its kind is the operand's. An address tests its
		 * domain unless the items are addresses. */
		e->inl->kind = want;
		if (e->type == PST_T_ADDRESS)
			for (pst_ast_value *v = e->inl->items; v; v = v->next) {
				size_t n;
				const char *t = value_text(v, &n);
				if (memchr(t, '@', n))
					e->inl->kind = PST_LIST_STRINGS;
			}
		check_list_items(c, e->inl);
		if (e->type == PST_T_RESULT || e->type == PST_T_POLICY)
			check_word_items(c, file, e);
		e->list = e->inl;
		return;
	}
	pst_ast_list *l = map_get(&c->lists, e->listref.s);
	if (l == NULL) {
		/* A fact here was taken by check_rhs_fact already. */
		pst_chk_err(c, file, &e->listref.loc, "unknown list '%s'%s", e->listref.s,
		    pst_chk_dym(e->listref.s, e->listref.len, c->list_names, c->nlist_names));
		return;
	}
	e->list = l;
	if (!l->ok)
		return;               /* its own errors were reported */
	if (!kind_fits(e->type, l->kind)) {
		pst_buf b = PST_BUF_INIT;
		opnd_desc(e, &b);
		const char *tn = pst_type_name(e->type);
		pst_chk_err(c, file, &e->listref.loc, "type mismatch: %s is %s %s, but list '%s' holds %s",
		    pst_buf_str(&b), article(tn), tn, l->name.s, list_kind_words[l->kind]);
		pst_buf_free(&b);
		e->list = NULL;
	}
}

static const char *const cmp_names[PST_CMP_GE + 1] = {
	[PST_CMP_TRUTH] = "", [PST_CMP_EQ] = "==", [PST_CMP_NE] = "!=",
	[PST_CMP_CONTAINS] = "contains", [PST_CMP_STARTS_WITH] = "starts-with",
	[PST_CMP_ENDS_WITH] = "ends-with", [PST_CMP_MATCHES] = "matches", [PST_CMP_IN] = "in",
	[PST_CMP_EXISTS] = "exists", [PST_CMP_LT] = "<", [PST_CMP_GT] = ">", [PST_CMP_LE] = "<=",
	[PST_CMP_GE] = ">=",
};

/* ---- Facts on the right ----------------------------------------------- */

/* Whether a bare word reads as a fact name: it has a dot and its first
 * label (ASCII case-insensitively) is the first label of some fact of the
 * registry (client, envelope, from, attachment, ...). Such a word is never
 * taken as a literal in a condition. */
static int in_fact_namespace(const char *w, size_t n)
{
	const char *dot = memchr(w, '.', n);
	if (dot == NULL)
		return 0;
	size_t k = (size_t)(dot - w);
	for (int i = 0; i < PST_F__COUNT; i++) {
		const char *name = pst_fact_name((pst_fact)i);
		if (strcspn(name, ".") == k && strncasecmp(name, w, k) == 0)
			return 1;
	}
	return 0;
}

/* A bare word where a condition takes a value: the fact it names (>= 0),
 * -1 when it is a literal, -2 when it is a dotted word in a fact's
 * namespace that names no fact (reported, with a did-you-mean). */
static int word_fact(struct checker *c, const char *file, const pst_ast_word *w)
{
	if (w->s == NULL)
		return -1;
	int f = pst_fact_lookup(w->s, w->len);
	if (f >= 0)
		return f;
	if (!in_fact_namespace(w->s, w->len))
		return -1;
	const char *dym = pst_chk_dym(w->s, w->len, c->fact_names, PST_F__COUNT);
	if (*dym)
		pst_chk_err(c, file, &w->loc, "unknown fact '%s'%s", w->s, dym);
	else
		pst_chk_err(c, file, &w->loc, "unknown fact '%s'; to compare with the text, quote "
		    "it: \"%s\"", w->s, w->s);
	return -2;
}

/* The bare items of an inline list in a condition are literals; one that
 * names a fact (or looks like one) is refused, never compared as text. */
static int check_inline_words(struct checker *c, const char *file, pst_ast_list *l)
{
	int rc = 0;
	for (pst_ast_value *v = l->items; v; v = v->next) {
		if (v->kind != PST_AV_WORD)
			continue;
		int f = word_fact(c, file, &v->word);
		if (f >= 0)
			pst_chk_err(c, file, &v->loc, "'%s' is a fact, but a list holds only literal "
			    "values; compare facts with '==' or 'in' (or quote it for the text)",
			    v->word.s);
		if (f != -1)
			rc = -1;
	}
	return rc;
}

/* Resolve a fact standing on the right of e: the bare word of an
 * ==/!=/</>/text test, or the NAME of "in NAME" when no list has that
 * name (a list wins). Sets e->rfact. 0, or -1 after reporting. */
static int check_rhs_fact(struct checker *c, const char *file, pst_ast_expr *e)
{
	const pst_ast_word *w = NULL;
	if (e->inl)
		return check_inline_words(c, file, e->inl);
	if (e->rhs != NULL && e->rhs->kind == PST_AV_WORD)
		w = &e->rhs->word;
	else if (e->cmp == PST_CMP_IN && e->listref.s != NULL &&
	         map_get(&c->lists, e->listref.s) == NULL)
		w = &e->listref;
	if (w == NULL)
		return 0;
	int f = word_fact(c, file, w);
	if (f == -2)
		return -1;
	if (f >= 0) {
		e->rfact = f;
		e->rword = *w;
	}
	return 0;
}

static int is_text_type(pst_type t)
{
	return t == PST_T_STRING || t == PST_T_ADDRESS || t == PST_T_DOMAIN;
}

/* Whether an operand of type l may be compared by cmp with a fact of type
 * r. Same types compare (a set of domains only with 'in' and as below);
 * text (a string: client.helo, a header) compares with an address or a
 * domain; an address and a domain do not compare with == or != (the
 * address's domain is its own fact); the text operators take any two text
 * types; a set of domains == or contains a domain; 'in' puts a domain, an
 * address (its domain) or a host name in a set of domains. A set of texts
 * on the left pairs as each of its members, a string, would; never on the
 * right. */
static int fact_pair_ok(pst_cmp cmp, pst_type l, pst_type r)
{
	if (r == PST_T_STRINGSET)
		return 0;
	if (l == PST_T_STRINGSET)
		l = PST_T_STRING;
	switch (cmp) {
	case PST_CMP_EQ:
	case PST_CMP_NE:
		if (l == PST_T_DOMAINSET || r == PST_T_DOMAINSET)
			return l == PST_T_DOMAINSET && r == PST_T_DOMAIN;
		if (l == r)
			return 1;
		return is_text_type(l) && is_text_type(r) && (l == PST_T_STRING || r == PST_T_STRING);
	case PST_CMP_CONTAINS:
		if (l == PST_T_DOMAINSET)
			return r == PST_T_DOMAIN;
		return is_text_type(l) && is_text_type(r);
	case PST_CMP_STARTS_WITH:
	case PST_CMP_ENDS_WITH:
		return is_text_type(l) && is_text_type(r);
	case PST_CMP_LT:
	case PST_CMP_GT:
	case PST_CMP_LE:
	case PST_CMP_GE:
		return l == PST_T_NUMBER && r == PST_T_NUMBER;
	case PST_CMP_IN:
		return r == PST_T_DOMAINSET &&
		       (l == PST_T_DOMAIN || l == PST_T_ADDRESS || l == PST_T_STRING);
	default:
		return 0;
	}
}

/* The domain fact of an address fact, or -1. */
static int domain_fact_of(int f)
{
	switch (f) {
	case PST_F_FROM_ADDRESS: return PST_F_FROM_DOMAIN;
	case PST_F_ENVELOPE_FROM: return PST_F_ENVELOPE_FROM_DOMAIN;
	case PST_F_RCPT: return PST_F_RCPT_DOMAIN;
	default: return -1;
	}
}

/* An address compared with a domain: suggest comparing the domains. */
static void address_domain_hint(const pst_ast_expr *e, pst_type r, pst_buf *b)
{
	int lf = e->lhs.kind == PST_OPND_FACT ? e->fact : -1, rf = e->rfact;
	if (e->type == PST_T_ADDRESS && r == PST_T_DOMAIN)
		lf = domain_fact_of(lf);
	else if (e->type == PST_T_DOMAIN && r == PST_T_ADDRESS)
		rf = domain_fact_of(rf);
	else
		return;
	if (lf >= 0 && rf >= 0)
		pst_buf_printf(b, "; did you mean '%s %s %s'?", pst_fact_name((pst_fact)lf),
		               cmp_names[e->cmp], pst_fact_name((pst_fact)rf));
}

/* A test of e's operand against the fact e->rfact. */
static void check_fact_pair(struct checker *c, const char *file, pst_ast_expr *e)
{
	pst_type r = pst_fact_type((pst_fact)e->rfact);
	const char *op = cmp_names[e->cmp];
	if (fact_pair_ok(e->cmp, e->type, r))
		return;
	/* What the operator needs of the left side, said as for a literal. */
	switch (e->cmp) {
	case PST_CMP_LT:
	case PST_CMP_GT:
	case PST_CMP_LE:
	case PST_CMP_GE:
		if (e->type != PST_T_NUMBER) {
			mismatch_op(c, file, e, op, "a number");
			return;
		}
		break;
	case PST_CMP_CONTAINS:
	case PST_CMP_STARTS_WITH:
	case PST_CMP_ENDS_WITH:
		if (!is_text_type(e->type) && e->type != PST_T_STRINGSET &&
		    !(e->type == PST_T_DOMAINSET && e->cmp == PST_CMP_CONTAINS)) {
			mismatch_op(c, file, e, op, "text");
			return;
		}
		break;
	case PST_CMP_IN:
		if (r != PST_T_DOMAINSET) {
			const char *rn = pst_type_name(r);
			pst_chk_err(c, file, &e->rword.loc, "type mismatch: 'in' needs a list or a set "
			    "of domains, but %s is %s %s", e->rword.s, article(rn), rn);
			return;
		}
		break;
	default:
		break;
	}
	pst_buf b = PST_BUF_INIT;
	opnd_desc(e, &b);
	const char *ln = pst_type_name(e->type), *rn = pst_type_name(r);
	pst_buf_printf(&b, " is %s %s, %s is %s %s", article(ln), ln, e->rword.s, article(rn), rn);
	address_domain_hint(e, r, &b);
	pst_chk_err(c, file, &e->rword.loc, "type mismatch: %s", pst_buf_str(&b));
	pst_buf_free(&b);
}

static void check_operand(struct checker *c, const char *file, pst_ast_expr *e)
{
	switch (e->lhs.kind) {
	case PST_OPND_FACT:
		e->fact = resolve_fact(c, file, e->lhs.fact.s, e->lhs.fact.len,
		                       e->lhs.fact.loc.first_line, e->lhs.fact.loc.first_column,
		                       pst_ast_loc_width(&e->lhs.fact.loc));
		if (e->fact >= 0)
			e->type = pst_fact_type((pst_fact)e->fact);
		break;
	case PST_OPND_HEADER:
		e->fact = pst_chk_header_name(c, file, e->lhs.header) == 0 ? INT_MAX : -1;
		e->type = PST_T_STRING;
		break;
	case PST_OPND_COUNT:
		e->fact = pst_chk_header_name(c, file, e->lhs.header) == 0 ? INT_MAX : -1;
		e->type = PST_T_NUMBER;
		break;
	}
}


static void check_test(struct checker *c, const char *file, pst_ast_expr *e)
{
	check_operand(c, file, e);
	if (e->re)
		pst_chk_regex(c, file, e->re);
	if (e->rhs && e->rhs->kind == PST_AV_STRING && e->rhs->str->nfacts > 0) {
		pst_chk_plain_text(c, file, e->rhs->str, "a string in a condition");
		return;
	}
	if (check_rhs_fact(c, file, e) < 0)
		return;               /* an unknown fact on the right, reported */
	if (e->fact < 0)
		return;               /* reported; the rest would only cascade */
	if (e->rfact >= 0) {
		check_fact_pair(c, file, e);
		return;
	}
	const char *op = cmp_names[e->cmp];
	switch (e->cmp) {
	case PST_CMP_TRUTH:
		if (e->type != PST_T_BOOL) {
			pst_buf b = PST_BUF_INIT;
			opnd_desc(e, &b);
			const char *tn = pst_type_name(e->type);
			pst_chk_err(c, file, &e->loc, "type mismatch: %s is %s %s, not a bool; compare it "
			    "with something (or test it with 'exists')", pst_buf_str(&b), article(tn), tn);
			pst_buf_free(&b);
		}
		break;
	case PST_CMP_EQ:
	case PST_CMP_NE:
		check_eq_literal(c, file, e);
		break;
	case PST_CMP_CONTAINS:
	case PST_CMP_STARTS_WITH:
	case PST_CMP_ENDS_WITH:
		check_text_literal(c, file, e, op);
		break;
	case PST_CMP_MATCHES:
		if (e->type != PST_T_STRING && e->type != PST_T_ADDRESS && e->type != PST_T_DOMAIN &&
		    e->type != PST_T_STRINGSET)
			mismatch_op(c, file, e, op, "text");
		break;
	case PST_CMP_IN:
		check_in(c, file, e);
		break;
	case PST_CMP_EXISTS:
		break;
	case PST_CMP_LT:
	case PST_CMP_GT:
	case PST_CMP_LE:
	case PST_CMP_GE:
		check_number_literal(c, file, e, op);
		break;
	}
}

/* Walk a condition; its depth is bounded by the parser. */
static void check_expr(struct checker *c, const char *file, pst_ast_expr *e)
{
	if (e == NULL)
		return;
	switch (e->kind) {
	case PST_AX_AND:
	case PST_AX_OR:
		check_expr(c, file, e->a);
		check_expr(c, file, e->b);
		break;
	case PST_AX_NOT:
		check_expr(c, file, e->a);
		break;
	case PST_AX_TEST:
		check_test(c, file, e);
		break;
	default:
		break;
	}
}

/* ---- Lists ------------------------------------------------------------ */

static void check_item(struct checker *c, pst_ast_list *l, pst_ast_value *v)
{
	const char *file = l->items_file;
	size_t n;
	const char *t = value_text(v, &n);
	if (v->kind == PST_AV_STRING && pst_chk_plain_text(c, file, v->str, "a list entry") < 0) {
		l->ok = 0;
		return;
	}
	switch (l->kind) {
	case PST_LIST_DOMAINS:
		if (v->kind != PST_AV_STRING && v->kind != PST_AV_WORD) {
			pst_chk_err(c, file, &v->loc, "a domain list holds domains, not '%s'", t);
			l->ok = 0;
			return;
		}
		if ((v->norm = norm_domain(c, file, t, n, &v->loc)) == NULL)
			l->ok = 0;
		return;
	case PST_LIST_IPS: {
		if (v->kind == PST_AV_NUMBER) {
			pst_chk_err(c, file, &v->loc, "bad CIDR '%s': not an IP address", t);
			l->ok = 0;
			return;
		}
		int host_bits = 0;
		const char *why = NULL;
		if (pst_cidr_parse(t, n, &v->cidr, &host_bits, &why) < 0) {
			pst_chk_err(c, file, &v->loc, "bad CIDR '%s': %s", t, why ? why : "invalid");
			l->ok = 0;
			return;
		}
		if (host_bits) {
			char buf[PST_CIDR_FORMAT_LEN];
			pst_chk_warn(c, file, &v->loc, "'%s' has host bits set; it is taken as %s", t,
			     pst_cidr_format(&v->cidr, buf, sizeof buf));
		}
		return;
	}
	case PST_LIST_STRINGS:
		return;
	}
}

static void check_list_items(struct checker *c, pst_ast_list *l)
{
	l->ok = 1;
	l->nitems = 0;
	for (pst_ast_value *v = l->items; v; v = v->next) {
		check_item(c, l, v);
		l->nitems++;
	}
}

/* One entry a line; '#' starts a comment; blank lines are skipped. */
static void read_list_file(struct checker *c, pst_ast_list *l)
{
	if (pst_chk_plain_text(c, l->file, l->path, "a list file name") < 0)
		return;
	const char *path = pst_ast_join(c->ast, l->dir, l->path->s);
	char *text;
	size_t len;
	char why[256];
	if (path == NULL)
		return;
	if (pst_ast_read_file(path, &text, &len, why, sizeof why) < 0) {
		pst_chk_err(c, l->file, &l->path->loc, "cannot read list file '%s': %s", path, why);
		l->ok = -1;
		return;
	}
	if (pst_diags_add_source(c->d, path, text, len) < 0) {
		/* as for a rule file (ast.c): no source, no excerpts; say so */
		pst_chk_err(c, l->file, &l->path->loc, "cannot read list file '%s': out of memory", path);
		free(text);
		l->ok = -1;
		return;
	}
	l->items_file = path;
	pst_ast_value **tail = &l->items;
	unsigned line = 1;
	for (const char *p = text, *end = text + len; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *hash = memchr(p, '#', (size_t)(e - p));
		const char *s = p, *f = hash ? hash : e;
		while (s < f && isspace((unsigned char)*s))
			s++;
		while (f > s && isspace((unsigned char)f[-1]))
			f--;
		if (f > s) {
			/* On ENOMEM ast->oom is set and the compile fails with "out of
			 * memory"; never an entry without its text. */
			char *w = pst_ast_strndup(c->ast, s, (size_t)(f - s));
			pst_ast_value *v = w ? pst_ast_alloc(c->ast, sizeof *v) : NULL;
			if (v == NULL)
				break;
			v->kind = PST_AV_WORD;
			v->word.s = w;
			v->word.len = (size_t)(f - s);
			v->loc.first_line = v->loc.last_line = line;
			v->loc.first_column = (unsigned)(s - p) + 1;
			v->loc.last_column = (unsigned)(f - p);
			v->word.loc = v->loc;
			*tail = v;
			tail = &v->next;
		}
		p = e + 1;
	}
	free(text);
}

static void check_lists(struct checker *c)
{
	size_t n = 0;
	for (pst_ast_list *l = c->ast->lists; l; l = l->next)
		n++;
	c->list_names = pst_ast_alloc(c->ast, (n + 1) * sizeof *c->list_names);
	for (pst_ast_list *l = c->ast->lists; l; l = l->next) {
		pst_ast_list *first = map_get(&c->lists, l->name.s);
		if (first) {
			pst_chk_err(c, l->file, &l->name.loc, "duplicate list name '%s'; the first is at %s:%u:%u",
			    l->name.s, first->file, first->loc.first_line, first->loc.first_column);
			continue;
		}
		if (map_put(&c->lists, l->name.s, l) < 0)
			c->ast->oom = 1;
		if (c->list_names)
			c->list_names[c->nlist_names++] = l->name.s;
		int k = pst_chk_name_index(list_kind_words, l->kind_word.s);
		if (k < 0) {
			pst_chk_err(c, l->file, &l->kind_word.loc, "unknown list kind '%s'%s (the kinds are "
			    "domains, ips and strings)", l->kind_word.s,
			    pst_chk_dym(l->kind_word.s, l->kind_word.len, list_kind_words, 3));
			l->ok = 0;
			continue;
		}
		l->kind = (pst_list_kind)k;
		if (l->path) {
			read_list_file(c, l);
			if (l->ok < 0) {
				l->ok = 0;
				continue;
			}
		}
		check_list_items(c, l);
	}
}

/* ---- Rules ------------------------------------------------------------ */

static const char *const mode_words[] = { "enforce", "audit", NULL };
static const char *const option_words[] = { "mode", "after-queue-reject", NULL };

/* What the options of a rule or a tenant say. */
struct options {
	int audit;                    /* 1 audit, 0 enforce (or not given), -1 unknown */
	int has_aqr;
	pst_aqr aqr;
};

/* Read the options written after a rule's name or a tenant's domain:
 * each name at most once, each value one its option knows. Errors are
 * reported; a wrong value is then taken as not given. */
static void check_options(struct checker *c, const char *file, const pst_ast_option *opts,
                          struct options *out)
{
	const pst_ast_option *seen[2] = { NULL, NULL };
	memset(out, 0, sizeof *out);
	for (const pst_ast_option *o = opts; o; o = o->next) {
		int k = pst_chk_name_index(option_words, o->name.s);
		if (k < 0) {
			pst_chk_err(c, file, &o->name.loc, "unknown option '%s'%s (mode or "
			    "after-queue-reject)", o->name.s, pst_chk_dym(o->name.s, o->name.len, option_words, 2));
			continue;
		}
		if (seen[k]) {
			pst_chk_err(c, file, &o->name.loc, "duplicate option '%s'; the first is at %s:%u:%u",
			    o->name.s, file, seen[k]->name.loc.first_line, seen[k]->name.loc.first_column);
			continue;
		}
		seen[k] = o;
		if (k == 0) {
			out->audit = pst_chk_name_index(mode_words, o->value.s);
			if (out->audit < 0)
				pst_chk_err(c, file, &o->value.loc, "unknown mode '%s'%s (audit or enforce)",
				    o->value.s, pst_chk_dym(o->value.s, o->value.len, mode_words, 2));
		} else if (pst_chk_aqr(c, file, &o->value, &out->aqr) == 0) {
			out->has_aqr = 1;
		}
	}
}

static void check_tenant(struct checker *c, pst_ast_tenant *t)
{
	if (t->norm || t->audit < 0)
		return;               /* checked with an earlier rule of its block */
	struct options o;
	check_options(c, t->file, t->options, &o);
	t->audit = o.audit;
	t->has_aqr = o.has_aqr;
	t->aqr = o.aqr;
	if (pst_chk_plain_text(c, t->file, t->domain, "a tenant domain") == 0)
		t->norm = norm_domain(c, t->file, t->domain->s, t->domain->len, &t->domain->loc);
	if (t->norm == NULL)
		t->audit = -1;
}

/* The after-queue-reject of a rule: its own option, else its tenant's.
 * On a rule that can never reject the option changes nothing: a warning. */
static void rule_aqr(struct checker *c, pst_ast_rule *r, const struct options *o,
                     const pst_ast_action *term)
{
	if (o->has_aqr) {
		r->has_aqr = 1;
		r->aqr = o->aqr;
		if (term == NULL || pst_action_get(term->kind)->decision != PST_DECIDE_REJECT ||
		    pst_action_get(term->kind)->effect != PST_EFFECT_DECIDE) {
			const pst_ast_option *w = r->options;
			while (w && strcmp(w->name.s, "after-queue-reject") != 0)
				w = w->next;
			pst_chk_warn(c, r->file, w ? &w->name.loc : &r->name.loc, "rule '%s' never "
			    "rejects: its after-queue-reject option has no effect", r->name.s);
		}
	} else if (r->tenant && r->tenant->has_aqr) {
		r->has_aqr = 1;
		r->aqr = r->tenant->aqr;
	}
}

/* Unconditional terminal rules, for the unreachable-rule warning. */
struct shadow {
	const pst_ast_rule *global;   /* shadows everything after it */
	struct map tenants;           /* normalised tenant -> rule */
};

static void check_reachable(struct checker *c, struct shadow *sh, pst_ast_rule *r,
                            const pst_ast_action *term)
{
	const char *tenant = r->tenant ? r->tenant->norm : NULL;
	const pst_ast_rule *by = sh->global;
	if (by == NULL && tenant)
		by = map_get(&sh->tenants, tenant);
	if (by) {
		pst_chk_warn(c, r->file, &r->name.loc, "rule '%s' can never be reached: rule '%s' (%s:%u) "
		     "always ends evaluation before it", r->name.s, by->name.s, by->file,
		     by->loc.first_line);
		return;
	}
	if (term == NULL || r->audit || r->when == NULL || r->when->kind != PST_AX_TRUE)
		return;
	if (r->tenant == NULL)
		sh->global = r;
	else if (tenant && map_put(&sh->tenants, tenant, r) < 0)
		c->ast->oom = 1;
}

static void check_rules(struct checker *c)
{
	struct shadow sh;
	memset(&sh, 0, sizeof sh);
	for (pst_ast_rule *r = c->ast->rules; r; r = r->next) {
		pst_ast_rule *first = map_get(&c->rules, r->name.s);
		if (first)
			pst_chk_err(c, r->file, &r->name.loc, "duplicate rule name '%s'; the first is at %s:%u:%u",
			    r->name.s, first->file, first->loc.first_line, first->loc.first_column);
		else
			if (map_put(&c->rules, r->name.s, r) < 0)
				c->ast->oom = 1;
		struct options opts;
		check_options(c, r->file, r->options, &opts);
		if (r->tenant)
			check_tenant(c, r->tenant);
		r->audit = opts.audit > 0 || (r->tenant && r->tenant->audit > 0);
		check_expr(c, r->file, r->when);
		pst_chk_rule_groups(c, r->when);
		const pst_ast_action *term = pst_chk_actions(c, r);
		rule_aqr(c, r, &opts, term);
		check_reachable(c, &sh, r, term);
	}
	map_free(&sh.tenants);
}

/* ---- Entry ------------------------------------------------------------ */

int pst_check(pst_ast *ast)
{
	struct checker c;
	memset(&c, 0, sizeof c);
	c.ast = ast;
	c.d = ast->diags;
	init_fact_names(&c);
	size_t before = pst_diags_errors(ast->diags);
	if (!ast->oom) {
		pst_chk_settings(&c);
		check_lists(&c);
		check_rules(&c);
	}
	map_free(&c.lists);
	map_free(&c.rules);
	if (ast->oom) {
		/* Part of the tree or of its annotations is missing. */
		pst_diags_report(ast->diags, PST_SEV_ERROR, ast->stack[0] ? ast->stack[0] : "", 0, 0,
		                 0, "out of memory reading the rules");
		return -1;
	}
	return pst_diags_errors(ast->diags) > before ? -1 : 0;
}
