/*
 * action.h: the actions of the rule language, one definition object each.
 *
 * Every action ("reject", "add header", "set from.display", ...) is one
 * const pst_action_def in a file of its own, lang/actions/act_<sym>.c,
 * and every definition is found through one registry (the list in
 * lang/actions/registry.h; the table in lang/actions/registry.c). The
 * definition is the one place that says, for its action:
 *   - how it is written (word, target) and reported (name, op);
 *   - its arguments (args), which drive the grammar's generic action
 *     production, the compiler and the dump;
 *   - what it does (effect): decide (terminal: the one place that says
 *     so), edit the header, log a text or tag the message;
 *   - its reply (the default code, enhanced code and text of a decision,
 *     and the class of a code a rule may give);
 *   - what its name and value are, for the checks (flags);
 *   - its hooks: check (what the generic checks do not cover) and dump.
 *
 * The language's part ends there. Evaluating an action is generic over
 * the effect (engine/eval/eval.c); applying an edit to the message needs
 * the message model, so that part is in the engine, keyed by the same id
 * (engine/eval/apply.c: which edit of the message model, engine/msg/edit.h,
 * each edit action applies), and lang/ includes nothing of engine/ but
 * util.
 *
 * Everything here is immutable and thread-safe.
 */
#ifndef PST_ACTION_H
#define PST_ACTION_H

#include <stddef.h>

#include "lang/actions/registry.h"
#include "util/buf.h"

/* The action ids, one per registry line: PST_ACT_ACCEPT, ... */
typedef enum pst_action_kind {
#define PST_ACT_ID_(ID, sym) PST_ACT_##ID,
	PST_ACTIONS(PST_ACT_ID_)
#undef PST_ACT_ID_
	PST_ACT__COUNT
} pst_action_kind;

/* What a terminal action decides. The values are the public pst_action's
 * (postern.h; engine/message.c asserts it). */
typedef enum pst_decision {
	PST_DECIDE_ACCEPT,
	PST_DECIDE_REJECT,
	PST_DECIDE_TEMPFAIL,
	PST_DECIDE_DISCARD,
	PST_DECIDE_QUARANTINE,
	PST_DECIDE__COUNT
} pst_decision;

typedef enum pst_action_effect {
	PST_EFFECT_DECIDE,            /* terminal: decides and ends evaluation */
	PST_EFFECT_EDIT,              /* a header edit (outcome->edits) */
	PST_EFFECT_LOG,               /* a log text (outcome->logs) */
	PST_EFFECT_TAG,               /* a tag name (outcome->tags) */
} pst_action_effect;

/* Arguments, in the order they are written after the word (and target). */
enum {
	PST_ARG_TARGET = 1 << 0,      /* a word naming what it acts on: set
	                               * from.display; the definitions sharing a
	                               * word differ by target */
	PST_ARG_REPLY = 1 << 1,       /* [CODE ENHANCED] [TEXT]: an SMTP reply */
	PST_ARG_NAME = 1 << 2,        /* a plain string: header name, folder, tag */
	PST_ARG_NAME_OPT = 1 << 3,    /* ... which may be left out */
	PST_ARG_VALUE = 1 << 4,       /* a text with ${fact}: value, log text */
	PST_ARG_REGEX = 1 << 5,       /* an optional "matching /re/"; with
	                               * PST_ACTF_SUBST a /re/ of its own, required */
};

/* What the arguments are, for the checks and the evaluator. */
enum {
	PST_ACTF_HDRNAME = 1 << 0,    /* the name is a header field name (an
	                               * edit carries it) */
	PST_ACTF_HDRVALUE = 1 << 1,   /* the value goes into a header: no CR/LF */
	PST_ACTF_TRACE = 1 << 2,      /* refused on Received: trace fields are
	                               * never removed or replaced */
	PST_ACTF_SUBST = 1 << 3,      /* substitute: the value is the replacement
	                               * of the regex's matches, its $N the
	                               * regex's captures (not the condition's);
	                               * the regex may take the g flag */
};

/* A decision's reply. */
typedef struct pst_action_reply {
	int code;                     /* 250, 550, ... */
	const char *enhanced;         /* "2.0.0", "5.7.1", ... */
	const char *text;             /* "ok", ... */
	char cls;                     /* PST_ARG_REPLY: '5' or '4', the class a
	                               * code given in a rule must have */
} pst_action_reply;

struct checker;
struct pst_ast_action;
struct pst_rule_action;

typedef struct pst_action_def {
	pst_action_kind id;           /* its registry line */
	const char *name;             /* "add header": diagnostics and dumps */
	const char *op;               /* "add-header": reports (JSON "op") */
	const char *word;             /* "add": the word that starts it */
	const char *target;           /* PST_ARG_TARGET: "from.display"; "header"
	                               * is written with the header keyword */
	unsigned args;                /* PST_ARG_* */
	unsigned flags;               /* PST_ACTF_* */
	pst_action_effect effect;
	pst_decision decision;        /* PST_EFFECT_DECIDE */
	pst_action_reply reply;       /* PST_EFFECT_DECIDE */
	/* The action's own checks (lang/check_actions.c runs the generic ones:
	 * target, header name, value, regex), reporting through the checker.
	 * May fill the tree. NULL: none. */
	void (*check)(struct checker *c, const char *file, struct pst_ast_action *a,
	              const struct pst_action_def *def);
	/* Append the compiled action's arguments, as the rule would write them
	 * after the name (" 550 5.7.1 \"text\""), to out. 0, or -1 on ENOMEM. */
	int (*dump)(const struct pst_rule_action *a, const struct pst_action_def *def, pst_buf *out);
} pst_action_def;

/* ---- The registry (lang/actions/registry.c) ---------------------------- */

/* The definition of action k; NULL when k is not an action. Static. */
const pst_action_def *pst_action_get(pst_action_kind k);
/* The definition written with word (len bytes) and, for an action with a
 * target, target (NUL-terminated; NULL: the first with that word). NULL
 * when there is none. */
const pst_action_def *pst_action_find(const char *word, size_t len, const char *target);
/* 1 when action k ends evaluation (its effect is PST_EFFECT_DECIDE). */
int pst_action_terminal(pst_action_kind k);
/* "accept", ...: the name of the action that decides d; "?" for none. */
const char *pst_decision_name(pst_decision d);
/* "add-header", ...: the op of action k as reported; "?" for none. */
const char *pst_action_op(pst_action_kind k);

#endif
