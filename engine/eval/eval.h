/*
 * eval.h: the evaluator. Runs a compiled program (lang/program.h) for one
 * recipient of one message and collects what it decides.
 *
 * Facts come from a provider (pst_fact_source) so the evaluator knows
 * nothing of message parsing or DNS: engine/ supplies a provider backed by
 * the message model and the auth adapters, tests may supply their own.
 * A program is immutable and may be evaluated from many threads at once;
 * everything mutable lives in the outcome and the scratch space.
 */
#ifndef PST_EVAL_H
#define PST_EVAL_H

#include <stddef.h>

#include "lang/action.h"
#include "lang/facts.h"

struct pst_program;
struct pst_arena;
struct pst_buf;

/* What ${fact} becomes in a text when the fact is unknown (no client IP,
 * no readable From, ...): a word in parentheses, which no IP address,
 * domain or address is, so an admin reading the reply or log line sees
 * that the value was missing rather than a gap or a look-alike value. */
#define PST_INTERP_UNKNOWN "(unknown)"

/* Where facts come from. All strings handed out are borrowed and must stay
 * valid until the evaluation returns. ctx is the provider's own state. */
typedef struct pst_fact_source {
	/* Fill *out for fact f. Never called for PST_F_RCPT or PST_F_RCPT_DOMAIN.
	 * Return 0; -1 on an internal failure (ENOMEM): the evaluation then
	 * fails (pst_eval_recipient returns -1), so the caller tempfails
	 * rather than decide on a fact silently unknown. Called at most once per fact per evaluation
	 * unless the provider caches; auth facts are expensive, so the provider
	 * computes them on first call and caches them per message. */
	int (*fact)(void *ctx, pst_fact f, pst_value *out);
	/* Number of header fields named name (ASCII case-insensitive). */
	size_t (*header_count)(void *ctx, const char *name);
	/* The nth (0-based) field named name: its value unfolded and trimmed of
	 * leading and trailing white space. Return 0, -1 when there is none,
	 * -2 on an internal failure (ENOMEM: the evaluation fails). */
	int (*header_value)(void *ctx, const char *name, size_t nth,
	                    const char **value, size_t *len);
	void *ctx;
} pst_fact_source;

/* Decisions (pst_decision) and actions are the language's: lang/action.h.
 * The name of a decision is pst_decision_name(), the op of an edit
 * pst_action_op(edit->kind). */

/* One header edit, in the order the rules produced them. */
typedef struct pst_edit {
	pst_action_kind kind; /* the edit action (effect PST_EFFECT_EDIT) */
	const char *name;     /* header name (add/remove/replace), else NULL */
	const char *value;    /* interpolated value; NULL for remove */
	/* remove only: a value filter, or NULL to remove every field of that
	 * name. Returns 1 when the unfolded value matches (the field is
	 * removed), 0 when not or on a PCRE2 error (the match limit). It
	 * matches as the evaluator's MATCHES does (eval/regex.h: JIT, the
	 * program's match limit, the thread's match data: no allocation per
	 * call). Thread-safe; reads the program's regex, so call it only while
	 * the program lives. */
	int (*match)(const struct pst_edit *e, const char *value, size_t len);
	/* substitute only (value: the first field's substituted value, as the
	 * evaluation saw it): append the substituted text of a decoded value
	 * (a header's, or the From's display name) to out; 1 substituted, 0 no
	 * match (or a PCRE2 error: the value stays), -1 ENOMEM. As match() for
	 * the regex path and thread-safety (eval/subst.h). */
	int (*subst)(const struct pst_edit *e, const char *value, size_t len,
	             struct pst_buf *out);
	const void *match_ctx; /* opaque, for match() and subst() */
	const char *rule;     /* the rule that made the edit */
} pst_edit;

/* What one rule did for this recipient, when tracing. */
typedef struct pst_trace_fact {
	const char *name;     /* "client.ip", "header \"X-Classification\"" */
	const char *value;    /* rendered value, or "(unknown)" / "(absent)" */
} pst_trace_fact;

typedef enum pst_trace_status {
	PST_TRACE_MATCHED,
	PST_TRACE_NOT_MATCHED,
	PST_TRACE_OTHER_TENANT,  /* the rule's tenant does not cover this rcpt */
	PST_TRACE_NOT_REACHED,   /* a terminal action decided earlier */
} pst_trace_status;

typedef struct pst_trace_rule {
	const char *rule;
	const char *file;
	unsigned line;
	int audit;
	pst_trace_status status;
	const pst_trace_fact *facts;
	size_t nfacts;
} pst_trace_rule;

/* An audit-mode rule that matched, and what it would have done: its
 * actions are run aside, none of them reaching the recipient's outcome. */
typedef struct pst_audit_hit {
	const char *rule;
	size_t rule_at;           /* the rule's index in the program */
	int decided;              /* a terminal action would have decided: */
	pst_decision decision;    /* then its decision, reply and folder */
	int code;
	const char *enhanced;
	const char *text;
	const char *folder;
	const char *const *logs;  size_t nlogs;    /* texts of its log actions */
	const char *const *tags;  size_t ntags;    /* names of its tag actions */
} pst_audit_hit;

/* Everything the evaluation produced for one recipient. All memory belongs
 * to the arena passed to pst_eval_recipient. */
typedef struct pst_outcome {
	pst_decision decision;
	int code;                 /* SMTP code: 250, 550, 451, ... */
	const char *enhanced;     /* "2.0.0", "5.7.1", ... */
	const char *text;         /* reply text, interpolated and sanitised */
	const char *folder;       /* quarantine folder, or NULL for the default */
	const char *rule;         /* deciding rule, or NULL for the implicit accept */
	size_t rule_at;           /* the deciding rule's index in the program (with rule) */
	const pst_edit *edits;    size_t nedits;
	const char *const *audit; size_t naudit;   /* audit-mode rules that matched */
	const pst_audit_hit *audits; size_t naudits; /* the same, with what each
	                                            * would have done (naudits == naudit) */
	const char *const *matched; size_t nmatched; /* every rule whose condition held
	                                            * (audit ones too), in order;
	                                            * names borrowed from the program */
	const char *const *logs;  size_t nlogs;    /* texts of log actions */
	const char *const *tags;  size_t ntags;    /* names of tag actions */
	const char *const *warnings; size_t nwarnings; /* CR/LF refused, match limit hit, ... */
	const pst_trace_rule *trace; size_t ntrace; /* only when tracing */
	int undecided;            /* envelope_only: a rule that needs the message
	                           * came first; decision, reply and rule are then
	                           * the implicit accept's and mean nothing */
} pst_outcome;

typedef struct pst_eval_opts {
	int trace;                /* fill outcome->trace */
	/* When not NULL, arrays of the program's rule count: the time spent in
	 * each rule (tenant test, condition, actions; monotonic clock, in
	 * nanoseconds) is added to rule_nsec[i] and rule_evals[i] counts the
	 * rule's evaluations. Rules not reached are not counted. Owned by the
	 * caller; not shared between threads. */
	unsigned long long *rule_nsec;
	unsigned *rule_evals;
	/* Decide from the envelope alone (RCPT time, before the message):
	 * rules run in order without the index; a rule marked envelope_only
	 * (lang/program.h) runs as usual; any other rule is skipped when it
	 * cannot apply (the recipient is outside its tenant), is in audit
	 * mode or has no terminal action, and otherwise ends the evaluation
	 * with outcome->undecided set: only the message can tell. So a
	 * decision made here is exactly the one the full evaluation makes
	 * (same rule, same reply). trace and rule_nsec are ignored. */
	int envelope_only;
} pst_eval_opts;

/* The normalised domain of address p (n bytes) as the evaluator reads it
 * for rcpt.domain and tenants: the text after the last '@', normalised
 * (util/domain.h). malloc'd, the caller frees; NULL when there is none
 * (*nomem 0) or on ENOMEM (*nomem 1). */
char *pst_eval_address_domain(const char *p, size_t n, int *nomem);

/* Evaluate prog for recipient rcpt (an address; may be "" when unknown).
 * All outcome memory comes from arena, which the caller owns and frees.
 * Returns 0, or -1 on ENOMEM, a fact the source failed to compute, or a
 * broken invariant of prog (util/panic.h): outcome is then undefined and
 * the caller tempfails. */
int pst_eval_recipient(const struct pst_program *prog, const pst_fact_source *src,
                       const char *rcpt, const pst_eval_opts *opts,
                       struct pst_arena *arena, pst_outcome *outcome);

#endif
