/*
 * dump.c: a compiled program as text; see dump.h for the contract.
 *
 * Layout, two spaces an indent level:
 *   settings                    one line a setting, as a rule file sets it
 *   lists                       each named list a condition uses: its kind,
 *                               its entries as the evaluator holds them
 *                               (normalised domains, blocks, sorted strings)
 *   rules N                     each rule: "rule NAME FILE:LINE", its
 *                               tenant, mode and after-queue-reject (when
 *                               the rule or its tenant sets it), "when" and the condition
 *                               tree (one node a line: and/or/not, or a
 *                               test "LHS OP RHS  @LINE:COL"), "then" and
 *                               one action a line (the definition's name,
 *                               then its dump hook's arguments)
 *   index                       the groups (operand, key, tenant) with each
 *                               keyed rule and its key test, then the plain
 *                               rules; or "none" without an index
 * Strings are written in double quotes with \" \\ \n \r \t escaped and
 * other control bytes as \xHH; an action's text as it reads back, from its
 * parts: '$' as "$$", ${fact}, captures as ${N}. The condition tree is walked recursively;
 * its depth is bounded by the compiler (PST_MAX_EXPR_DEPTH).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/actions/common.h"
#include "lang/dump.h"
#include "lang/index.h"

/* ---- Pieces ------------------------------------------------------------ */

static int quoted(pst_buf *b, const char *s, size_t n)
{
	int rc = pst_buf_putc(b, '"');
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '"': rc = pst_buf_puts(b, "\\\""); break;
		case '\\': rc = pst_buf_puts(b, "\\\\"); break;
		case '\n': rc = pst_buf_puts(b, "\\n"); break;
		case '\r': rc = pst_buf_puts(b, "\\r"); break;
		case '\t': rc = pst_buf_puts(b, "\\t"); break;
		default:
			rc = ch < 0x20 || ch == 0x7f ? pst_buf_printf(b, "\\x%02x", ch) : pst_buf_putc(b, (char)ch);
		}
	}
	return rc | pst_buf_putc(b, '"');
}

static int quoted_str(pst_buf *b, const char *s)
{
	return quoted(b, s ? s : "", s ? strlen(s) : 0);
}

/* A template as it reads back: literal pieces quoted with '$' as "$$",
 * facts as ${name}, captures as ${N}. */
static int quoted_tpl(pst_buf *b, const pst_template *t)
{
	pst_buf in = PST_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < t->nparts && rc == 0; i++) {
		const pst_tpl_part *p = &t->parts[i];
		if (p->is_capture)
			rc = pst_buf_printf(&in, "${%u}", p->group);
		else if (p->is_fact)
			rc = pst_buf_printf(&in, "${%s}", pst_fact_name(p->fact));
		else
			for (size_t j = 0; j < p->len && rc == 0; j++)
				rc = p->lit[j] == '$' ? pst_buf_puts(&in, "$$") : pst_buf_putc(&in, p->lit[j]);
	}
	rc |= quoted(b, in.data ? in.data : "", in.len);
	pst_buf_free(&in);
	return rc;
}

static int indent(pst_buf *b, unsigned level)
{
	int rc = 0;
	for (unsigned i = 0; i < level && rc == 0; i++)
		rc = pst_buf_puts(b, "  ");
	return rc;
}

static int regex(pst_buf *b, const pst_regex *re)
{
	if (re == NULL)
		return pst_buf_puts(b, "(no regex)");
	return pst_buf_printf(b, "/%s/%s", re->source ? re->source : "", re->flags ? re->flags : "");
}

/* ---- Actions ----------------------------------------------------------- */

int pst_act_dump_args(const pst_rule_action *a, const pst_action_def *def, pst_buf *out)
{
	int rc = 0;
	if (def->args & PST_ARG_REPLY) {
		rc |= pst_buf_printf(out, " %d %s ", a->code ? a->code : def->reply.code,
		                     a->enhanced ? a->enhanced : def->reply.enhanced);
		rc |= a->text ? quoted_tpl(out, a->text) : quoted_str(out, def->reply.text);
	}
	if ((def->args & PST_ARG_NAME) && a->name) {
		rc |= pst_buf_putc(out, ' ');
		rc |= quoted_str(out, a->name);
	}
	if ((def->args & PST_ARG_VALUE) && a->value) {
		rc |= pst_buf_putc(out, ' ');
		rc |= quoted_tpl(out, a->value);
	}
	if ((def->args & PST_ARG_REGEX) && a->re) {
		rc |= pst_buf_puts(out, " matching ");
		rc |= regex(out, a->re);
	}
	return rc;
}

int pst_act_dump_subst(const pst_rule_action *a, const pst_action_def *def, pst_buf *out)
{
	int rc = 0;
	if ((def->args & PST_ARG_NAME) && a->name) {
		rc |= pst_buf_putc(out, ' ');
		rc |= quoted_str(out, a->name);
	}
	rc |= pst_buf_putc(out, ' ') | regex(out, a->re);
	if (a->value)
		rc |= pst_buf_putc(out, ' ') | quoted_tpl(out, a->value);
	return rc;
}

static int action(pst_buf *b, const pst_rule_action *a)
{
	const pst_action_def *def = pst_action_get(a->kind);
	if (def == NULL)
		return pst_buf_printf(b, "    (action %d: no such action)\n", (int)a->kind);
	int rc = pst_buf_printf(b, "    %s", def->name);
	if (def->dump)
		rc |= def->dump(a, def, b);
	return rc | pst_buf_printf(b, "  @%u:%u\n", a->line, a->col);
}

/* ---- Conditions -------------------------------------------------------- */

static const char *const cmp_names[] = {
	[PST_CMP_TRUTH] = "", [PST_CMP_EQ] = "==", [PST_CMP_NE] = "!=",
	[PST_CMP_CONTAINS] = "contains", [PST_CMP_STARTS_WITH] = "starts-with",
	[PST_CMP_ENDS_WITH] = "ends-with", [PST_CMP_MATCHES] = "matches", [PST_CMP_IN] = "in",
	[PST_CMP_EXISTS] = "exists", [PST_CMP_LT] = "<", [PST_CMP_GT] = ">", [PST_CMP_LE] = "<=",
	[PST_CMP_GE] = ">=",
};

static int literal(pst_buf *b, const pst_literal *l)
{
	char ip[64];
	switch (l->type) {
	case PST_T_NUMBER: return pst_buf_printf(b, "%lld", l->n);
	case PST_T_BOOL: return pst_buf_puts(b, l->b ? "true" : "false");
	case PST_T_IP: return pst_buf_puts(b, pst_ip_format(&l->ip, ip, sizeof ip));
	case PST_T_RESULT: return pst_buf_puts(b, pst_auth_result_name(l->result));
	case PST_T_POLICY: return pst_buf_puts(b, pst_dmarc_policy_name(l->policy));
	default: return quoted(b, l->s ? l->s : "", l->s ? l->len : 0);
	}
}

static const char *const list_kinds[] = {
	[PST_LIST_DOMAINS] = "domains", [PST_LIST_IPS] = "ips", [PST_LIST_STRINGS] = "strings",
};

static int list_entries(pst_buf *b, const pst_list *l, const char *sep, unsigned level)
{
	char cidr[80];
	int rc = 0;
	size_t n = l->kind == PST_LIST_STRINGS ? l->nstrings : l->nitems;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc |= i ? pst_buf_puts(b, sep) : 0;
		rc |= indent(b, level);
		if (l->kind == PST_LIST_STRINGS)
			rc |= quoted(b, l->strings[i], l->string_lens[i]);
		else if (l->kind == PST_LIST_DOMAINS)
			rc |= pst_buf_puts(b, l->domain_items[i]);
		else
			rc |= pst_buf_puts(b, pst_cidr_format(&l->cidrs[i], cidr, sizeof cidr));
	}
	return rc;
}

/* A list on the right of "in": its name, or an inline list written out. */
static int list_ref(pst_buf *b, const pst_list *l)
{
	if (l == NULL)
		return pst_buf_puts(b, "(no list)");
	if (l->name)
		return pst_buf_printf(b, "list %s", l->name);
	return pst_buf_printf(b, "%s { ", list_kinds[l->kind]) | list_entries(b, l, ", ", 0) |
	       pst_buf_puts(b, " }");
}

/* "LHS OP RHS": the test as the evaluator reads it. */
static int test(pst_buf *b, const pst_expr *e)
{
	int rc = pst_buf_puts(b, e->lhs.text ? e->lhs.text : "?");
	if (e->cmp != PST_CMP_TRUTH)
		rc |= pst_buf_printf(b, " %s", cmp_names[e->cmp]);
	if (e->cmp == PST_CMP_TRUTH || e->cmp == PST_CMP_EXISTS)
		return rc;
	rc |= pst_buf_putc(b, ' ');
	if (e->rfact)
		return rc | pst_buf_puts(b, e->rfact->text);
	if (e->cmp == PST_CMP_MATCHES)
		return rc | regex(b, e->re);
	if (e->cmp == PST_CMP_IN)
		return rc | list_ref(b, e->list);
	return rc | literal(b, &e->rhs);
}

static int expr(pst_buf *b, const pst_expr *e, unsigned level);

/* The operands of a chain of one operator ("a and b and c", however the
 * parser nested it), as the operands of one node. */
static int chain(pst_buf *b, const pst_expr *e, pst_expr_kind k, unsigned level)
{
	if (e == NULL || e->kind != k)
		return expr(b, e, level);
	return chain(b, e->a, k, level) | chain(b, e->b, k, level);
}

static int expr(pst_buf *b, const pst_expr *e, unsigned level)
{
	int rc = indent(b, level);
	if (e == NULL)
		return rc | pst_buf_puts(b, "true\n");
	switch (e->kind) {
	case PST_EXPR_TRUE: return rc | pst_buf_puts(b, "true\n");
	case PST_EXPR_FALSE: return rc | pst_buf_puts(b, "false\n");
	case PST_EXPR_NOT:
		return rc | pst_buf_puts(b, "not\n") | expr(b, e->a, level + 1);
	case PST_EXPR_AND:
	case PST_EXPR_OR:
		rc |= pst_buf_puts(b, e->kind == PST_EXPR_AND ? "and\n" : "or\n");
		return rc | chain(b, e->a, e->kind, level + 1) | chain(b, e->b, e->kind, level + 1);
	case PST_EXPR_TEST:
		return rc | test(b, e) | pst_buf_printf(b, "  @%u:%u\n", e->line, e->col);
	}
	return rc;
}

/* ---- Sections ---------------------------------------------------------- */

static const char *const aqr_words[] = {
	[PST_AQR_REJECT_IF_SPF_PASS] = "reject-if-spf-pass", [PST_AQR_REJECT] = "reject",
	[PST_AQR_QUARANTINE] = "quarantine", [PST_AQR_DISCARD] = "discard",
};

static int settings(pst_buf *b, const pst_settings *s)
{
	int rc = pst_buf_puts(b, "settings\n");
	if (s->authserv_id) {
		rc |= pst_buf_puts(b, "  authserv-id ");
		rc |= quoted_str(b, s->authserv_id) | pst_buf_putc(b, '\n');
	}
	for (size_t i = 0; i < s->ntrusted; i++) {
		rc |= pst_buf_puts(b, "  trusted-authserv-id ");
		rc |= quoted_str(b, s->trusted_authserv_ids[i]) | pst_buf_putc(b, '\n');
	}
	rc |= pst_buf_printf(b, "  after-queue-reject %s\n", aqr_words[s->after_queue_reject]);
	rc |= pst_buf_printf(b, "  dkim-max-signatures %u\n  dkim-clock-skew %u\n",
	                     s->dkim_max_signatures, s->dkim_clock_skew);
	rc |= pst_buf_printf(b, "  regex-match-limit %lu\n", (unsigned long)s->match_limit);
	rc |= pst_buf_printf(b, "  dns-budget %u\n  dns-max-questions %u\n", s->dns_budget_ms,
	                     s->dns_max_questions);
	return rc;
}

/* The named lists the conditions use, each once, in order of first use
 * (a named list is one object however many tests use it). */
struct seen {
	const pst_list **l;
	size_t n, cap;
};

static int list_once(pst_buf *b, struct seen *sn, const pst_list *l)
{
	if (l == NULL || l->name == NULL)
		return 0;
	for (size_t i = 0; i < sn->n; i++)
		if (sn->l[i] == l)
			return 0;
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 16;
		const pst_list **p = realloc(sn->l, cap * sizeof *p);
		if (p == NULL)
			return -1;
		sn->l = p;
		sn->cap = cap;
	}
	sn->l[sn->n++] = l;
	size_t n = l->kind == PST_LIST_STRINGS ? l->nstrings : l->nitems;
	int rc = pst_buf_printf(b, "  list %s = %s, %zu entr%s\n", l->name, list_kinds[l->kind],
	                        l->count, l->count == 1 ? "y" : "ies");
	rc |= list_entries(b, l, "\n", 2);
	return rc | (n ? pst_buf_putc(b, '\n') : 0);
}

static int lists_in(pst_buf *b, struct seen *sn, const pst_expr *e)
{
	int rc = 0;
	for (; e && rc == 0; e = e->b) {
		if (e->kind == PST_EXPR_TEST)
			return list_once(b, sn, e->list);
		rc |= lists_in(b, sn, e->a);
	}
	return rc;
}

static int rule(pst_buf *b, const pst_program_rule *r)
{
	int rc = pst_buf_printf(b, "  rule %s %s:%u\n", r->name, r->file ? r->file : "?", r->line);
	if (r->tenant)
		rc |= pst_buf_printf(b, "    tenant %s\n", r->tenant);
	if (r->audit)
		rc |= pst_buf_puts(b, "    mode audit\n");
	if (r->has_aqr)
		rc |= pst_buf_printf(b, "    after-queue-reject %s\n", aqr_words[r->after_queue_reject]);
	rc |= pst_buf_puts(b, "    when\n") | expr(b, r->when, 3) | pst_buf_puts(b, "    then\n");
	for (size_t i = 0; i < r->nactions; i++)
		rc |= pst_buf_puts(b, "  ") | action(b, &r->actions[i]);
	return rc;
}

/* ---- The index --------------------------------------------------------- */

static const char *const key_names[] = {
	[PST_IX_TEXT] = "its text", [PST_IX_DOMAIN_EQ] = "its domain",
	[PST_IX_DOMAIN_IN] = "its domain or a parent",
	[PST_IX_ADDRESS_IN] = "its address's domain or a parent",
	[PST_IX_IP] = "the blocks holding it",
};

/* The test a keyed rule's key comes from: the leftmost of its "and"s. */
static const pst_expr *key_test(const pst_expr *e)
{
	while (e && e->kind == PST_EXPR_AND)
		e = e->a;
	return e;
}

static int index_group(pst_buf *b, const pst_program *prog, const pst_index_group *g, size_t i)
{
	int rc = pst_buf_printf(b, "  group %zu: %s, keyed by %s, %s%s, %zu rule%s\n", i + 1,
	                        g->operand->text ? g->operand->text : "?", key_names[g->key],
	                        g->tenant ? "tenant " : "all tenants", g->tenant ? g->tenant : "",
	                        g->nrules, g->nrules == 1 ? "" : "s");
	for (size_t k = 0; k < g->nrules && rc == 0; k++) {
		const pst_program_rule *r = &prog->rules[g->rules[k]];
		const pst_expr *t = key_test(r->when);
		rc |= pst_buf_printf(b, "    %s: ", r->name);
		rc |= t && t->kind == PST_EXPR_TEST ? test(b, t) : pst_buf_puts(b, "?");
		rc |= pst_buf_putc(b, '\n');
	}
	return rc;
}

static int index_plain(pst_buf *b, const pst_program *prog, const pst_index *ix)
{
	size_t n = 0;
	for (size_t i = 0; i < ix->nsteps; i++)
		n += ix->steps[i].group < 0;
	int rc = pst_buf_printf(b, "  plain, %zu rule%s (always run)\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < ix->nsteps && rc == 0; i++)
		if (ix->steps[i].group < 0)
			rc |= pst_buf_printf(b, "    %s\n", prog->rules[ix->steps[i].rule].name);
	return rc;
}

static int index_section(pst_buf *b, const pst_program *prog)
{
	const pst_index *ix = prog->index;
	if (ix == NULL)
		return pst_buf_printf(b, "index none (no rule is keyed: all %zu rules are plain and "
		                      "always run)\n", prog->nrules);
	int rc = pst_buf_printf(b, "index, %zu rule%s keyed in %zu group%s\n", ix->nkeyed,
	                        ix->nkeyed == 1 ? "" : "s", ix->ngroups, ix->ngroups == 1 ? "" : "s");
	for (size_t g = 0; g < ix->ngroups && rc == 0; g++)
		rc |= index_group(b, prog, &ix->groups[g], g);
	return rc | index_plain(b, prog, ix);
}

int pst_program_dump(const pst_program *prog, pst_buf *out)
{
	int rc = settings(out, &prog->settings);
	struct seen sn = { NULL, 0, 0 };
	rc |= pst_buf_puts(out, "lists\n");
	for (size_t i = 0; i < prog->nrules && rc == 0; i++)
		rc |= lists_in(out, &sn, prog->rules[i].when);
	free(sn.l);
	rc |= pst_buf_printf(out, "rules %zu\n", prog->nrules);
	for (size_t i = 0; i < prog->nrules && rc == 0; i++)
		rc |= rule(out, &prog->rules[i]);
	return rc | index_section(out, prog);
}
