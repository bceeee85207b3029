/*
 * check_actions.c: the actions, as one table of properties (terminal, SMTP
 * reply with its code class and defaults, header name, header value, trace
 * protection, folder, tag) that drives the checks: codes and enhanced
 * codes, CR/LF in header and reply texts, header names, Received refused,
 * set/prepend targets, at most one terminal action per rule. The defaults
 * of reject and tempfail are filled into the tree for the compiler.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lang/check_private.h"
#include "util/limits.h"

/* ---- Actions ---------------------------------------------------------- */

enum {
	A_TERMINAL = 1 << 0,
	A_REPLY = 1 << 1,             /* a code, an enhanced code and a reply text */
	A_HDRNAME = 1 << 2,           /* name is a header field name */
	A_HDRVALUE = 1 << 3,          /* value goes into a header field */
	A_TRACE = 1 << 4,             /* refused on Received */
	A_FOLDER = 1 << 5,            /* name is a quarantine folder */
	A_TAG = 1 << 6,               /* name is a tag */
};

static const struct action_def {
	const char *name;
	unsigned flags;
	char cls;                     /* A_REPLY: the code class, '5' or '4' */
	int code;                     /* A_REPLY: the default code */
	const char *enhanced;         /* A_REPLY: the default enhanced code */
} actions[PST_ACT__COUNT] = {
	[PST_ACT_ACCEPT] = { "accept", A_TERMINAL, 0, 0, NULL },
	[PST_ACT_REJECT] = { "reject", A_TERMINAL | A_REPLY, '5', 550, "5.7.1" },
	[PST_ACT_TEMPFAIL] = { "tempfail", A_TERMINAL | A_REPLY, '4', 451, "4.7.1" },
	[PST_ACT_DISCARD] = { "discard", A_TERMINAL, 0, 0, NULL },
	[PST_ACT_QUARANTINE] = { "quarantine", A_TERMINAL | A_FOLDER, 0, 0, NULL },
	[PST_ACT_ADD_HEADER] = { "add header", A_HDRNAME | A_HDRVALUE, 0, 0, NULL },
	[PST_ACT_REMOVE_HEADER] = { "remove header", A_HDRNAME | A_TRACE, 0, 0, NULL },
	[PST_ACT_REPLACE_HEADER] = { "replace header", A_HDRNAME | A_HDRVALUE | A_TRACE, 0, 0, NULL },
	[PST_ACT_SET_FROM_DISPLAY] = { "set from.display", A_HDRVALUE, 0, 0, NULL },
	[PST_ACT_SET_FROM_ADDRESS] = { "set from.address", A_HDRVALUE, 0, 0, NULL },
	[PST_ACT_PREPEND_SUBJECT] = { "prepend subject", A_HDRVALUE, 0, 0, NULL },
	[PST_ACT_LOG] = { "log", 0, 0, 0, NULL },
	[PST_ACT_TAG] = { "tag", A_TAG, 0, 0, NULL },
};

/* What "set X" may set, and what "prepend X" may prepend to. */
static const char *const set_targets[] = { "from.display", "from.address", NULL };
static const pst_action_kind set_kinds[] = { PST_ACT_SET_FROM_DISPLAY, PST_ACT_SET_FROM_ADDRESS };
static const char *const prepend_targets[] = { "subject", NULL };

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

static void check_reply(struct checker *c, const char *file, pst_ast_action *a,
                        const struct action_def *def)
{
	if (!a->has_code) {
		a->has_code = 1;
		a->code = def->code;
		a->enhanced.s = def->enhanced;
		a->enhanced.len = strlen(def->enhanced);
	} else {
		if (a->code < 100 || a->code > 599 || a->code / 100 != def->cls - '0')
			pst_chk_err(c, file, &a->code_loc, "%s needs a %cxx code, not %lld", def->name,
			    def->cls, a->code);
		else if (!enhanced_ok(a->enhanced.s))
			pst_chk_err(c, file, &a->enhanced.loc, "bad enhanced status code '%s'", a->enhanced.s);
		else if (a->enhanced.s[0] != def->cls)
			pst_chk_err(c, file, &a->enhanced.loc, "enhanced status code %s does not match %lld: "
			    "its class must be %c", a->enhanced.s, a->code, def->cls);
	}
	if (a->value) {
		pst_chk_template(c, file, a->value, TEXT_REPLY);
		if (a->value->len > PST_MAX_REPLY_TEXT)
			pst_chk_err(c, file, &a->value->loc, "reply text longer than %d bytes",
			    PST_MAX_REPLY_TEXT);
	}
}

static void check_target(struct checker *c, const char *file, pst_ast_action *a)
{
	if (a->kind == PST_ACT_SET_FROM_DISPLAY) {
		int i = pst_chk_name_index(set_targets, a->target.s);
		if (i < 0)
			pst_chk_err(c, file, &a->target.loc, "cannot set '%s'%s (set from.display or "
			    "from.address)", a->target.s, pst_chk_dym(a->target.s, a->target.len, set_targets, 2));
		else
			a->kind = set_kinds[i];
	} else if (a->kind == PST_ACT_PREPEND_SUBJECT && pst_chk_name_index(prepend_targets, a->target.s) < 0) {
		pst_chk_err(c, file, &a->target.loc, "cannot prepend to '%s' (only to subject)", a->target.s);
	}
}

static void check_name_field(struct checker *c, const char *file, pst_ast_action *a,
                             const struct action_def *def)
{
	const pst_ast_str *n = a->name;
	if (def->flags & A_HDRNAME) {
		if (pst_chk_header_name(c, file, n) == 0 && (def->flags & A_TRACE) &&
		    strcasecmp(n->s, "Received") == 0)
			pst_chk_err(c, file, &n->loc, "%s \"%s\" is refused: Received fields are the "
			    "message's trace and are never removed or replaced", def->name, n->s);
	} else if (def->flags & A_FOLDER) {
		if (pst_chk_plain_text(c, file, n, "a quarantine folder") == 0 &&
		    (n->len == 0 || strchr(n->s, '/') || strcmp(n->s, ".") == 0 ||
		     strcmp(n->s, "..") == 0 || n->crlf_col))
			pst_chk_err(c, file, &n->loc, "bad quarantine folder \"%s\": a non-empty name "
			    "without '/'", n->s);
	} else if (def->flags & A_TAG) {
		if (pst_chk_plain_text(c, file, n, "a tag") < 0)
			return;
		size_t ok = strspn(n->s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                   "0123456789-_.:");
		if (n->len == 0 || ok != n->len)
			pst_chk_err(c, file, &n->loc, "bad tag \"%s\": letters, digits and '-_.:' only", n->s);
	}
}

static void check_action(struct checker *c, const char *file, pst_ast_action *a)
{
	check_target(c, file, a);
	const struct action_def *def = &actions[a->kind];
	if (def->flags & A_REPLY) {
		check_reply(c, file, a, def);
		return;
	}
	if (a->name)
		check_name_field(c, file, a, def);
	if (a->value)
		pst_chk_template(c, file, a->value, (def->flags & A_HDRVALUE) ? TEXT_HEADER : TEXT_PLAIN);
	if (a->re)
		pst_chk_regex(c, file, a->re);
}

/* The first terminal action of a rule (and a second one is an error). */
const pst_ast_action *pst_chk_actions(struct checker *c, pst_ast_rule *r)
{
	const pst_ast_action *term = NULL;
	for (pst_ast_action *a = r->actions; a; a = a->next) {
		check_action(c, r->file, a);
		if (!PST_ACT_IS_TERMINAL(a->kind))
			continue;
		if (term)
			pst_chk_err(c, r->file, &a->loc, "a rule ends evaluation once: '%s' after '%s'",
			    actions[a->kind].name, actions[term->kind].name);
		else
			term = a;
	}
	return term;
}
