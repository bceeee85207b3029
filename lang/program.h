/*
 * program.h: a compiled rule file, the contract between the compiler
 * (lang/compile.c) and the evaluator (engine/eval).
 *
 * A program is built once by pst_program_compile_*() and never changes
 * afterwards: every pointer in it is const, every list is frozen, every
 * regex compiled (PCRE2, JIT where available). Any number of threads may
 * evaluate it at once; the evaluator keeps all mutable state in its own
 * arena, and its PCRE2 match data and match context per thread.
 *
 * Conditions are expression trees whose depth the compiler bounds by
 * PST_MAX_EXPR_DEPTH, so the evaluator may walk them recursively. Every
 * test in a tree has been type-checked: the literal (or the fact) on the
 * right has a type the comparison allows for the operand on the left, a
 * list has the kind the operand needs, a regex exists for MATCHES.
 *
 * All memory belongs to the program and is released by pst_program_free().
 */
#ifndef PST_PROGRAM_H
#define PST_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "lang/action.h"
#include "lang/facts.h"
#include "util/domain.h"
#include "util/ip.h"

struct pst_diags;

/* ---- Settings ---------------------------------------------------------- */

typedef enum pst_aqr {
	PST_AQR_REJECT_IF_SPF_PASS,   /* the default */
	PST_AQR_REJECT,
	PST_AQR_QUARANTINE,
	PST_AQR_DISCARD,
} pst_aqr;

typedef struct pst_settings {
	const char *authserv_id;      /* NULL: no Authentication-Results header */
	const char *const *trusted_authserv_ids;
	size_t ntrusted;
	pst_aqr after_queue_reject;
	unsigned dkim_max_signatures; /* "dkim-max-signatures N;" default 8 */
	unsigned dkim_clock_skew;     /* "dkim-clock-skew SECONDS;" default PST_DEFAULT_DKIM_CLOCK_SKEW */
	uint32_t match_limit;         /* "regex-match-limit N;" default PST_DEFAULT_MATCH_LIMIT */
	unsigned dns_budget_ms;       /* "dns-budget N;" (ms) default PST_DEFAULT_DNS_BUDGET_MS */
	unsigned dns_max_questions;   /* "dns-max-questions N;" default PST_DEFAULT_DNS_MAX_QUESTIONS */
	int quarantine_reason;        /* "quarantine-reason on|off;" default off: an
	                               * X-Postern-Quarantine field in quarantined
	                               * copies (engine/message.c) */
} pst_settings;

/* ---- Lists ------------------------------------------------------------- */

typedef enum pst_list_kind {
	PST_LIST_DOMAINS,             /* membership includes subdomains */
	PST_LIST_IPS,                 /* CIDR, v4 and v6 */
	PST_LIST_STRINGS,             /* ASCII case-insensitive equality */
} pst_list_kind;

typedef struct pst_list {
	const char *name;             /* NULL for an inline { ... } list */
	pst_list_kind kind;
	const pst_domainset *domains; /* PST_LIST_DOMAINS */
	const pst_ipset *ips;         /* PST_LIST_IPS, frozen */
	/* PST_LIST_STRINGS: sorted by pst_list_strcmp, for binary search. */
	const char *const *strings;
	const size_t *string_lens;
	size_t nstrings;
	size_t count;                 /* entries as written */
	/* The entries again, for the rule index (lang/index.c); NULL in a
	 * program built by hand, which then gets no index for this list. */
	const char *const *domain_items; /* PST_LIST_DOMAINS: normalised */
	const pst_cidr *cidrs;        /* PST_LIST_IPS */
	size_t nitems;                /* domain_items or cidrs */
} pst_list;

/* The order of a strings list, shared by the compiler (which sorts) and
 * the evaluator (which searches): bytes compared ASCII case-insensitively
 * (folded to lower case, like strcasecmp), then the shorter first. */
int pst_list_strcmp(const char *a, size_t alen, const char *b, size_t blen);

/* ---- Regexes ----------------------------------------------------------- */

typedef struct pst_regex {
	const void *code;             /* pcre2_code_8 *, compiled (and JIT'd) */
	const char *source;           /* the pattern as written, for traces */
	const char *flags;            /* "i", "x", "s" as written, "" for none */
	int jit;                      /* JIT-compiled: matched by pcre2_jit_match */
} pst_regex;

/* ---- Conditions -------------------------------------------------------- */

/* What a test reads. */
typedef enum pst_operand_kind {
	PST_OPND_FACT,                /* a fact: client.ip, from.domain, spf, ... */
	PST_OPND_HEADER,              /* header "Name": see quant */
	PST_OPND_COUNT,               /* count(header "Name"): a number */
} pst_operand_kind;

typedef enum pst_quant {
	PST_Q_FIRST,                  /* header "N": the first field of that name */
	PST_Q_ANY,                    /* any header "N": some field satisfies the test */
	PST_Q_ALL,                    /* all header "N": every field does (and there is one) */
} pst_quant;

typedef struct pst_operand {
	pst_operand_kind kind;
	pst_fact fact;                /* PST_OPND_FACT */
	const char *header;           /* PST_OPND_HEADER, PST_OPND_COUNT: field name */
	pst_quant quant;              /* PST_OPND_HEADER */
	pst_type type;                /* the operand's type: the fact's, STRING
	                               * for a header, NUMBER for a count */
	const char *text;             /* as the trace names it: "client.ip",
	                               * "header \"X-Classification\"" */
} pst_operand;

typedef enum pst_cmp {
	PST_CMP_TRUTH,                /* a bool fact alone: "when spf.aligned" */
	PST_CMP_EQ,                   /* == (text: ASCII case-insensitive) */
	PST_CMP_NE,                   /* != : exactly not (==), unknown stays false */
	PST_CMP_CONTAINS,
	PST_CMP_STARTS_WITH,
	PST_CMP_ENDS_WITH,
	PST_CMP_MATCHES,              /* regex */
	PST_CMP_IN,                   /* list membership */
	PST_CMP_EXISTS,               /* the header exists / the fact is known */
	PST_CMP_LT,                   /* numbers */
	PST_CMP_GT,
	PST_CMP_LE,
	PST_CMP_GE,
} pst_cmp;

/* A literal on the right of a comparison. */
typedef struct pst_literal {
	pst_type type;                /* STRING (also for ADDRESS/DOMAIN operands:
	                               * domains are normalised by the compiler),
	                               * NUMBER, BOOL, IP, RESULT, POLICY */
	const char *s;                /* STRING: NUL-terminated */
	size_t len;
	long long n;                  /* NUMBER */
	int b;                        /* BOOL */
	pst_ip ip;                    /* IP */
	pst_auth_result result;       /* RESULT */
	pst_dmarc_policy policy;      /* POLICY */
} pst_literal;

typedef enum pst_expr_kind {
	PST_EXPR_TRUE,
	PST_EXPR_FALSE,
	PST_EXPR_AND,                 /* a and b, short-circuit */
	PST_EXPR_OR,                  /* a or b, short-circuit */
	PST_EXPR_NOT,                 /* not a */
	PST_EXPR_TEST,                /* operand cmp (literal | list | regex) */
} pst_expr_kind;

typedef struct pst_expr {
	pst_expr_kind kind;
	const struct pst_expr *a, *b; /* AND, OR: both; NOT: a */
	/* PST_EXPR_TEST: */
	pst_operand lhs;
	pst_cmp cmp;
	pst_literal rhs;              /* EQ NE CONTAINS STARTS ENDS LT GT LE GE */
	const pst_list *list;         /* IN */
	const pst_regex *re;          /* MATCHES */
	/* A fact on the right instead of a literal or a list ("from.domain !=
	 * envelope.from.domain", "from.domain in dkim.domains"): kind
	 * PST_OPND_FACT, its type and name filled in. NULL: rhs or list. */
	const pst_operand *rfact;
	unsigned line, col;           /* where the test was written */
} pst_expr;

/* Semantics the evaluator implements:
 * - An unknown fact, or an absent header, makes every TEST false (EXISTS
 *   too), so "not TEST" is then true.
 * - NE is evaluated as not EQ on a known value.
 * - Text comparisons are ASCII case-insensitive; MATCHES is case-sensitive
 *   unless the regex was compiled with the i flag.
 * - DOMAIN operands compared with EQ/NE/IN use normalised domains; IN on a
 *   domain list includes subdomains. ADDRESS operands IN a domain list test
 *   the address's domain. IP IN uses CIDR (v4-mapped v6 folded to v4).
 * - DOMAINSET operands (dkim.domains): EQ and CONTAINS with a domain literal
 *   are true when some member equals it; IN when some member is in the list.
 * - STRINGSET operands (attachment.name, attachment.type): every test holds
 *   when some member, taken as a STRING, passes it as written (NE: some
 *   member differs; EXISTS: the set is not empty); an empty set passes
 *   none. A STRINGSET is never on the right.
 * - RESULT/POLICY/BOOL operands compare by value.
 * - PST_OPND_HEADER with PST_Q_FIRST reads the first field; ANY is true when
 *   some field passes; ALL when there is at least one field and all pass.
 * - A fact on the right (rfact) is read only when the left side is known;
 *   when it is unknown the test is false (NE too), as for an unknown left
 *   side. Otherwise its value stands for the literal, with the semantics
 *   above: text types (STRING, ADDRESS, DOMAIN) compare as text (a DOMAIN
 *   value drops one trailing dot for EQ), numbers, bools, IPs, results and
 *   policies by value, a DOMAINSET operand EQ/CONTAINS a DOMAIN fact when
 *   some member equals it. IN with a DOMAINSET fact on the right holds when
 *   the left side's domain (a DOMAIN or STRING as a domain, an ADDRESS's
 *   domain) is a member or under one, as in a domain list. The compiler
 *   pairs only the types postern.rules(5) allows (check.c: fact_pair_ok).
 */

/* ---- Actions ----------------------------------------------------------- */

/* A text with ${fact} interpolation and regex captures ($1, ${1}): literal
 * pieces, facts and captures in turn. A capture names a group of the
 * substitute action's own regex in its replacement text, and of the
 * condition's last successful matches test in any other action's text
 * (postern.rules(5); the checker bounds N by the regex's groups). */
typedef struct pst_tpl_part {
	const char *lit;              /* literal bytes (NULL for a fact or capture) */
	size_t len;
	int is_fact;
	pst_fact fact;                /* when is_fact; PST_F_RCPT/RCPT_DOMAIN included */
	int is_capture;
	unsigned group;               /* when is_capture: N of $N, 0-9 */
} pst_tpl_part;

typedef struct pst_template {
	const pst_tpl_part *parts;
	size_t nparts;
	const char *source;           /* as written, for traces */
} pst_template;

/* An action as compiled: its id (lang/action.h: the registry gives its
 * definition) and its arguments, as its definition's args has them. */
typedef struct pst_rule_action {
	pst_action_kind kind;
	int code;                     /* PST_ARG_REPLY: SMTP code (the definition's
	                               * default filled in by the compiler); 0 in a
	                               * program built by hand: the default */
	const char *enhanced;         /* PST_ARG_REPLY: "5.7.1" (likewise) */
	const pst_template *text;     /* PST_ARG_REPLY: reply text; NULL: default text */
	const char *name;             /* PST_ARG_NAME: header name, folder, tag name */
	const pst_template *value;    /* PST_ARG_VALUE: header value, display,
	                               * address, prefix, log text */
	const pst_regex *re;          /* PST_ARG_REGEX: remove header ... matching
	                               * /re/; substitute's regex */
	unsigned line, col;
} pst_rule_action;

/* ---- Rules ------------------------------------------------------------- */

typedef struct pst_program_rule {
	const char *name;
	const char *file;             /* the file it was written in (includes too) */
	unsigned line;
	int audit;                    /* mode audit (on the rule or its tenant) */
	int has_aqr;                  /* after-queue-reject written on the rule or
	                               * its tenant (the rule's wins): then
	                               * after_queue_reject replaces the setting's */
	pst_aqr after_queue_reject;
	const char *tenant;           /* normalised tenant domain, or NULL */
	const pst_expr *when;
	const pst_rule_action *actions;
	size_t nactions;
	unsigned captures;            /* 1 + the highest $N the actions' texts
	                               * take from the condition (0: none): the
	                               * evaluator keeps that many groups of its
	                               * last successful matches */
	int envelope_only;            /* its condition (both sides of every test)
	                               * and its actions' texts read only envelope
	                               * facts (pst_fact_is_envelope) and no
	                               * header, count() or substitute: it can
	                               * decide at RCPT time (eval.h's
	                               * envelope_only). 0 in a program built by
	                               * hand: never decided early */
} pst_program_rule;

/* The program. The compiler fills it; nothing changes it afterwards. The
 * accessors below are in lang/program.c; the evaluator may read the fields
 * directly. */
typedef struct pst_program {
	pst_settings settings;
	const pst_program_rule *rules;
	size_t nrules;
	/* What the policy was written with, for a summary (postern lint):
	 * distinct tenant domains of its rules, include statements followed,
	 * named lists, setting statements. */
	size_t ntenants, nincludes, nlists, nsettings;
	uint64_t facts_read;          /* bit f: some rule or template reads fact f */
	const struct pst_index *index; /* which rules can match which values
	                                * (lang/index.h); NULL: run every rule
	                                * (the outcome is the same: tests and
	                                * benchmarks set it NULL to compare) */
	struct pst_program_store *store; /* the compiler's memory (arena, regexes,
	                                  * sets): released by pst_program_free */
} pst_program;

/* ---- Compiling --------------------------------------------------------- */

/* Compile the rule file at path; include and list file paths are relative
 * to the including file. Every diagnostic (errors and warnings) goes to
 * diags. On success 0 and *out is the caller's (pst_program_free); on
 * errors -1 and *out is NULL. */
int pst_program_compile_file(const char *path, struct pst_diags *diags, pst_program **out);

/* The same for text held in memory (len bytes, need not be NUL-terminated);
 * name is used in diagnostics, basedir (NULL: ".") resolves relative paths. */
int pst_program_compile_text(const char *name, const char *text, size_t len,
                             const char *basedir, struct pst_diags *diags, pst_program **out);

void pst_program_free(pst_program **prog);

/* ---- Reading ----------------------------------------------------------- */

size_t pst_program_rule_count(const pst_program *prog);
/* Rule i in file order (0-based); NULL when out of range. Borrowed. */
const pst_program_rule *pst_program_rule_at(const pst_program *prog, size_t i);
const pst_settings *pst_program_settings(const pst_program *prog);
pst_aqr pst_program_after_queue_reject(const pst_program *prog);
/* What a reject of rule r becomes after the queue: the rule's (or its
 * tenant's) after-queue-reject, else the setting's. r may be NULL (the
 * setting's). */
pst_aqr pst_program_rule_aqr(const pst_program *prog, const pst_program_rule *r);
/* The facts some rule reads (bit f set for fact f), so callers can skip
 * expensive auth work nobody needs. */
uint64_t pst_program_facts_read(const pst_program *prog);

#endif
