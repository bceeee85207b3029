/*
 * check_actions.c: the checks of a rule's actions, driven by their
 * definitions (lang/action.h, one per action in lang/actions/).
 *
 * For each action: its target is resolved (set from.display, prepend
 * subject: the definition with that word and target, else an error naming
 * the targets there are); a header field name is checked, and refused on
 * Received when the action must not touch trace fields; the definition's
 * own check hook runs (replies, folders, tags); a regex is compiled (a
 * substitute's may take the g flag); the value is a template with no
 * CR/LF when it goes into a header, whose captures $N the rule condition's
 * matches tests have (a substitute's: its own regex). A target the word
 * lacks gets a hint where there is a better way (set from.address,
 * header "Subject"). At most
 * one action of a rule may be terminal, and actions after it (which never
 * run) are warned about. Also the shared reply check
 * (pst_act_check_reply): defaults are not filled into the tree, the
 * compiler takes them from the definition.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lang/actions/common.h"
#include "lang/check_private.h"
#include "util/limits.h"

/* Enhanced status code (RFC 3463): class "." 1*3digit "." 1*3digit. */
static int enhanced_ok(const char *s)
{
	if (!(s[0] == '2' || s[0] == '4' || s[0] == '5') || s[1] != '.')
		return 0;
	s += 2;
	for (int part = 0; part < 2; part++) {
		size_t n = strspn(s, "0123456789");
		if (n < 1 || n > 3 || (n > 1 && s[0] == '0'))
			return 0;
		s += n;
		if (part == 0 && *s++ != '.')
			return 0;
	}
	return *s == '\0';
}

void pst_act_check_reply(struct checker *c, const char *file, pst_ast_action *a,
                         const pst_action_def *def)
{
	char cls = def->reply.cls;
	if (a->has_code) {
		if (a->code < 100 || a->code > 599 || a->code / 100 != cls - '0')
			pst_chk_err(c, file, &a->code_loc, "%s needs a %cxx code, not %lld", def->name,
			    cls, a->code);
		else if (!enhanced_ok(a->enhanced.s))
			pst_chk_err(c, file, &a->enhanced.loc, "bad enhanced status code '%s'", a->enhanced.s);
		else if (a->enhanced.s[0] != cls)
			pst_chk_err(c, file, &a->enhanced.loc, "enhanced status code %s does not match %lld: "
			    "its class must be %c", a->enhanced.s, a->code, cls);
	}
	if (a->value) {
		pst_chk_template(c, file, a->value, TEXT_REPLY);
		if (a->value->len > PST_MAX_REPLY_TEXT)
			pst_chk_err(c, file, &a->value->loc, "reply text longer than %d bytes",
			    PST_MAX_REPLY_TEXT);
	}
}

/* What to write instead of a target the word lacks, when there is a
 * better way: another action's target (substitute from.address: use set
 * from.address), a header's fact (substitute subject: header "Subject").
 * Thread-local text; NULL: none. */
static const char *target_hint(const pst_action_def *def, const char *target)
{
	static _Thread_local char hint[160];
	if (strcmp(target, "subject") == 0 && pst_action_find(def->word, strlen(def->word), "header")) {
		snprintf(hint, sizeof hint, "did you mean %s header \"Subject\"?", def->word);
		return hint;
	}
	for (size_t k = 0; k < PST_ACT__COUNT; k++) {
		const pst_action_def *d = pst_action_get((pst_action_kind)k);
		if (d->target && strcmp(d->target, target) == 0 && strcmp(d->word, def->word) != 0 &&
		    strcmp(d->word, "set") == 0) {
			snprintf(hint, sizeof hint, "it is no text to %s; to change it use '%s'", def->word,
			         d->name);
			return hint;
		}
	}
	return NULL;
}

/* "set TARGET", "prepend TARGET": the definition with that word and
 * target. Unknown: "cannot set 'x' (set a or b)", or with one target
 * "cannot prepend to 'x' (only to subject)". */
static void resolve_target(struct checker *c, const char *file, pst_ast_action *a,
                           const pst_action_def *def)
{
	const pst_action_def *t = pst_action_find(def->word, strlen(def->word), a->target.s);
	if (t) {
		a->kind = t->id;
		return;
	}
	const char *targets[PST_ACT__COUNT + 1];
	size_t n = 0;
	for (size_t k = 0; k < PST_ACT__COUNT; k++) {
		const pst_action_def *d = pst_action_get((pst_action_kind)k);
		if (d->target && strcmp(d->word, def->word) == 0)
			targets[n++] = d->target;
	}
	targets[n] = NULL;
	const char *hint = target_hint(def, a->target.s);
	if (hint) {
		pst_chk_err(c, file, &a->target.loc, "cannot %s '%s': %s", def->word, a->target.s, hint);
		return;
	}
	if (n == 1) {
		pst_chk_err(c, file, &a->target.loc, "cannot %s to '%s' (only to %s)", def->word,
		            a->target.s, targets[0]);
		return;
	}
	char list[256] = "";
	size_t len = 0;
	for (size_t k = 0; k < n && len < sizeof list; k++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
		                        k == 0 ? "" : k + 1 == n ? " or " : ", ", targets[k]);
	pst_chk_err(c, file, &a->target.loc, "cannot %s '%s'%s (%s %s)", def->word, a->target.s,
	            pst_chk_dym(a->target.s, a->target.len, targets, n), def->word, list);
}

static void check_header_name(struct checker *c, const char *file, const pst_ast_str *n,
                              const pst_action_def *def)
{
	if (pst_chk_header_name(c, file, n) == 0 && (def->flags & PST_ACTF_TRACE) &&
	    strcasecmp(n->s, "Received") == 0)
		pst_chk_err(c, file, &n->loc, "%s \"%s\" is refused: Received fields are the "
		    "message's trace and are never removed or replaced", def->name, n->s);
}

/* The value: a template; a substitute's $N name its own regex's groups
 * (the rule's are set again after it). A regex that did not compile has
 * been reported: its captures are not checked. */
static void check_value(struct checker *c, const char *file, pst_ast_action *a,
                        const pst_action_def *def)
{
	enum text_use use = (def->flags & PST_ACTF_HDRVALUE) ? TEXT_HEADER : TEXT_PLAIN;
	if (!(def->flags & PST_ACTF_SUBST)) {
		pst_chk_template(c, file, a->value, use);
		return;
	}
	int groups = c->groups, negated = c->groups_negated;
	c->groups = a->re && a->re->code ? pst_chk_regex_groups(a->re) : 9;
	c->groups_negated = -1;
	c->groups_subst = 1;
	pst_chk_template(c, file, a->value, use);
	c->groups = groups;
	c->groups_negated = negated;
	c->groups_subst = 0;
}

static void check_action(struct checker *c, const char *file, pst_ast_action *a)
{
	const pst_action_def *def = pst_action_get(a->kind);
	if (def == NULL)
		return;                 /* the parser makes none */
	if (def->args & PST_ARG_TARGET) {
		resolve_target(c, file, a, def);
		def = pst_action_get(a->kind);
	}
	if (a->name && (def->flags & PST_ACTF_HDRNAME))
		check_header_name(c, file, a->name, def);
	if (def->check)
		def->check(c, file, a, def);
	if (a->re) {
		a->re->subst = (def->flags & PST_ACTF_SUBST) != 0;
		pst_chk_regex(c, file, a->re);
	}
	if (a->value && !(def->args & PST_ARG_REPLY))
		check_value(c, file, a, def);
}

/* The first terminal action of a rule (and a second one is an error). An
 * action written after the terminal one never runs (the terminal action
 * ends evaluation for the recipient): a warning at the first such action. */
const pst_ast_action *pst_chk_actions(struct checker *c, pst_ast_rule *r)
{
	const pst_ast_action *term = NULL;
	int warned = 0;
	for (pst_ast_action *a = r->actions; a; a = a->next) {
		check_action(c, r->file, a);
		if (!pst_action_terminal(a->kind)) {
			if (term && !warned) {
				pst_chk_warn(c, r->file, &a->loc, "'%s' after '%s' never runs: '%s' ends "
				    "evaluation; write it before", pst_action_get(a->kind)->name,
				    pst_action_get(term->kind)->name, pst_action_get(term->kind)->name);
				warned = 1;
			}
			continue;
		}
		if (term)
			pst_chk_err(c, r->file, &a->loc, "a rule ends evaluation once: '%s' after '%s'",
			    pst_action_get(a->kind)->name, pst_action_get(term->kind)->name);
		else
			term = a;
	}
	return term;
}
