/*
 * postern.h: the postern library API.
 *
 * postern decides, per message and per recipient, what to do with mail given
 * who sent it and how (SPF, DKIM, DMARC, the client IP, the headers), using a
 * compiled rule file. This is the only installed header.
 *
 * Life cycle:
 *   1. pst_policy_compile_file(): compile a rule file once. A policy is
 *      immutable; any number of threads may use it at once.
 *   2. pst_message_new(): one message with its envelope (and, optionally,
 *      auth results the caller already has).
 *   3. pst_message_evaluate(): decide every recipient.
 *   4. Read pst_message_verdict() per recipient, pst_message_render() for the
 *      edited message, pst_message_json() for the report.
 *   5. pst_message_free(), and at the end pst_policy_free().
 *
 * Conventions: every function says who owns what it returns. Objects are
 * freed by pst_*_free(&ptr), which sets ptr to NULL and accepts NULL.
 * Functions return 0 on success and -1 on failure unless stated otherwise;
 * on failure an error text is written to the caller's err buffer when given.
 */
#ifndef POSTERN_H
#define POSTERN_H

#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PST_API marks the functions the shared library exports: it is built with
 * hidden visibility (-fvisibility=hidden), so every other symbol stays
 * inside it. Every declaration below carries it; tests/cli/abi.sh checks
 * that the library exports exactly these functions. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define PST_API __attribute__((visibility("default")))
#else
#define PST_API
#endif

/* The library version, "MAJOR.MINOR.PATCH". Static storage. */
PST_API const char *pst_version(void);

/* ---- Policies ------------------------------------------------------- */

typedef struct pst_policy pst_policy;

/* What compiling said. text holds every diagnostic, rendered as
 * "file:line:col: error: message" with the source line and a caret; it is
 * malloc'd and owned by the report: release it with pst_report_clear(). */
typedef struct pst_compile_report {
	size_t errors;
	size_t warnings;
	char *text;
} pst_compile_report;

/* Compile the rule file at path (includes and list files are read relative
 * to it). On success returns 0 and *out is a new policy the caller frees
 * with pst_policy_free(); warnings may be reported. On errors returns -1,
 * *out is NULL and report->errors > 0. report may be NULL; when given, the
 * caller must pst_report_clear() it in both cases. */
PST_API int pst_policy_compile_file(const char *path, pst_policy **out, pst_compile_report *report);

/* The same for a rule text held in memory; name is used in diagnostics,
 * basedir (or NULL for the current directory) to resolve include and list
 * file paths. text need not be NUL-terminated. */
PST_API int pst_policy_compile_text(const char *name, const char *text, size_t len,
                            const char *basedir, pst_policy **out,
                            pst_compile_report *report);

/* Free the diagnostics text of a report. */
PST_API void pst_report_clear(pst_compile_report *report);

/* Free a policy. No message created from it may still be in use. */
PST_API void pst_policy_free(pst_policy **policy);

/* One rule as compiled, in file order. Strings belong to the policy. */
typedef struct pst_rule_info {
	const char *name;
	const char *file;
	unsigned line;
	int audit;              /* mode audit */
	const char *tenant;     /* the tenant domain, or NULL */
} pst_rule_info;

PST_API size_t pst_policy_rule_count(const pst_policy *policy);
/* Fill *info for rule i (0-based). 0, or -1 when i is out of range. */
PST_API int pst_policy_rule(const pst_policy *policy, size_t i, pst_rule_info *info);

/* What a policy was written with, for a summary (postern lint). */
typedef struct pst_policy_stats {
	size_t rules;           /* pst_policy_rule_count() */
	size_t tenants;         /* distinct tenant domains that have rules */
	size_t includes;        /* include statements followed (a file included
	                           twice counts twice) */
	size_t lists;           /* named lists ("list NAME = ..."), inline ones not */
	size_t settings;        /* setting statements */
} pst_policy_stats;

/* Fill *stats for policy. */
PST_API void pst_policy_get_stats(const pst_policy *policy, pst_policy_stats *stats);

/* The tenant whose rules apply to recipient rcpt: the most specific tenant
 * domain of the policy covering the recipient's domain (the text after
 * the last '@', normalised as rules read rcpt.domain: lower case,
 * A-labels, no trailing dot), or NULL when none does (or rcpt has no
 * domain). *tenant is the policy's string (normalised), valid while the
 * policy lives. Tenant blocks nest, so two recipients with the same
 * answer are under the same set of tenant blocks. 0, or -1 on ENOMEM
 * (*tenant NULL). */
PST_API int pst_policy_tenant_of(const pst_policy *policy, const char *rcpt, const char **tenant);

/* ---- DNS ------------------------------------------------------------ */

/* A source of DNS answers for SPF, DKIM and DMARC. */
typedef struct pst_dns pst_dns;

/* Load a DNS fixture file (the format of postern(1), --dns: RFC 1035 master-file
 * lines, $SERVFAIL and $TIMEOUT directives). On success 0 and *out is the
 * caller's (pst_dns_free); it is immutable and may be shared by threads.
 * On failure -1 and, when errors is not NULL, *errors is a malloc'd text
 * (caller frees) with one "file:line:col: error: ..." line per problem. */
PST_API int pst_dns_load_fixture(const char *path, pst_dns **out, char **errors);

PST_API void pst_dns_free(pst_dns **dns);

/* ---- Messages ------------------------------------------------------- */

/* The envelope. Every string is borrowed for the call to pst_message_new()
 * only (the message copies what it keeps). NULL means unknown. */
typedef struct pst_envelope {
	const char *client_ip;    /* the SMTP client's address, v4 or v6 */
	const char *client_name;  /* its name as the MTA saw it (XFORWARD NAME) */
	const char *helo;
	const char *mail_from;    /* the MAIL FROM address; "" is the null sender */
	const char *const *rcpts; /* recipients, evaluated in this order */
	size_t nrcpts;
} pst_envelope;

/* Auth results the caller already has (e.g. from an upstream milter). Each
 * string is a result word of RFC 8601 ("pass", "fail", "softfail",
 * "neutral", "none", "temperror", "permerror", "policy") or NULL when
 * postern should compute that result itself. Borrowed for the call. */
typedef struct pst_auth_given {
	const char *spf;          /* MAIL FROM SPF result */
	const char *spf_domain;   /* the domain SPF checked */
	const char *helo_spf;
	const char *dkim;         /* overall DKIM result */
	const char *const *dkim_domains; /* domains whose signatures passed */
	size_t ndkim_domains;
	const char *dmarc;
	const char *dmarc_policy; /* "none", "quarantine", "reject" */
	const char *dmarc_domain;
} pst_auth_given;

typedef struct pst_message_opts {
	time_t now;               /* time for DKIM t=/x= checks; 0 = the clock */
	const pst_dns *dns;       /* where DNS answers come from; NULL: live DNS
	                           * (borrowed: must outlive the message) */
	const pst_auth_given *auth; /* or NULL */
	int trace;                /* record a trace of every rule */
	int after_queue;          /* compute the applied (LMTP) action too */
	int no_envelope_fields;   /* do not read leading X-Postern-Envelope fields
	                           * (for mail from the network: a sender could
	                           * forge them); they stay ordinary fields */
	int time_rules;           /* time each rule: pst_message_rule_time() */
} pst_message_opts;

typedef struct pst_message pst_message;

/* Create a message from its bytes (CRLF or LF line endings). Leading
 * "X-Postern-Envelope:" fields are read and removed (unless
 * opts->no_envelope_fields): their values fill whatever env leaves unknown
 * (env wins). With no recipient at all, the
 * first To: address is used. The bytes are copied. The policy must outlive
 * the message. On success 0 and *out is owned by the caller
 * (pst_message_free); on failure -1, a reason in err (if errlen > 0) and
 * errno: ENOMEM when out of memory, EINVAL when the message or envelope
 * is refused (a header section over the size limit, too many fields, a
 * bad client IP, a bad X-Postern-Envelope field or given auth result). */
PST_API int pst_message_new(const pst_policy *policy, const char *bytes, size_t len,
                    const pst_envelope *env, const pst_message_opts *opts,
                    pst_message **out, char *err, size_t errlen);

PST_API void pst_message_free(pst_message **msg);

/* Evaluate the policy for every recipient. 0, or -1 on ENOMEM. */
PST_API int pst_message_evaluate(pst_message *msg);

/* Evaluate every recipient from the envelope alone, as at RCPT time before
 * the message is there (msg may be made from 0 bytes and the envelope):
 * the rules run in order; those that read only envelope facts (client.ip,
 * client.helo, client.ptr, envelope.from, envelope.from.domain, rcpt,
 * rcpt.domain, spf, spf.domain, helo.spf, in the condition and the
 * actions' texts) run as usual; another rule is passed over when it cannot
 * decide for this recipient (outside its tenant, mode audit, no terminal
 * action) and otherwise stops the evaluation: the verdict is then
 * undecided (pst_verdict.undecided), and only pst_message_evaluate() on the
 * whole message can tell. A verdict that is not undecided is exactly the
 * decision, rule and reply pst_message_evaluate() gives (with the same
 * DNS answers); its edits, log texts and tags may lack those of passed-over
 * rules. No trace or rule timing is kept. Verdicts are read with
 * pst_message_verdict(); pst_message_render(), pst_message_json() and
 * pst_message_text() need pst_message_evaluate(), which may still be
 * called: each of the two replaces the verdicts the other made. 0, or -1
 * on ENOMEM. */
PST_API int pst_message_evaluate_envelope(pst_message *msg);

typedef enum pst_action {
	PST_ACCEPT,
	PST_REJECT,
	PST_TEMPFAIL,
	PST_DISCARD,
	PST_QUARANTINE
} pst_action;

/* "accept", "reject", ... Static storage. */
PST_API const char *pst_action_name(pst_action a);

/* One header edit. Strings belong to the message. */
typedef struct pst_edit_info {
	const char *op;           /* "add-header", "remove-header", ... */
	const char *name;         /* header name, or NULL */
	const char *value;        /* new value, or NULL */
	const char *rule;
} pst_edit_info;

/* The decision for one recipient. Everything belongs to the message and
 * lives until pst_message_free(). */
typedef struct pst_verdict {
	const char *address;
	pst_action action;        /* the policy's decision */
	pst_action applied;       /* after after-queue-reject (== action unless after_queue) */
	int code;                 /* SMTP reply code */
	const char *enhanced;     /* enhanced status code, "5.7.1" */
	const char *text;         /* reply text */
	const char *folder;       /* quarantine folder, or NULL for the default */
	const char *rule;         /* the deciding rule, or NULL for the implicit accept */
	const pst_edit_info *edits; size_t nedits;
	const char *const *audit; size_t naudit;
	const char *const *warnings; size_t nwarnings;
	const char *const *matched; size_t nmatched; /* every rule whose condition held
	                           * for this recipient (audit ones too), in order */
	const char *const *tags; size_t ntags;       /* names given by tag actions */
	int undecided;            /* pst_message_evaluate_envelope(): the envelope
	                           * does not decide (a rule before any deciding
	                           * one needs the message); action, reply and
	                           * rule then mean nothing. 0 otherwise */
} pst_verdict;

/* DNS questions this message has asked so far (SPF, DKIM, DMARC): a
 * policy that reads no auth fact, with Authentication-Results off, asks
 * none. */
PST_API unsigned pst_message_dns_queries(const pst_message *msg);

/* The message's overall result of an authentication method, as the rules
 * read it: method is "spf", "helo" (the HELO identity's SPF), "dkim" (pass
 * when any signature passed, then temperror, fail, permerror, none) or
 * "dmarc" (over every author domain, the strictest). Only a result already
 * computed (by a rule, the Authentication-Results field or a report) is
 * returned: this never verifies a signature or asks DNS. Returns the RFC
 * 8601 word (static storage), or NULL for an unknown method or a result
 * not computed. */
PST_API const char *pst_message_auth_result(pst_message *msg, const char *method);

/* With opts.time_rules, after pst_message_evaluate(): the time spent in
 * rule i (0-based, as pst_policy_rule) over every recipient, in
 * nanoseconds, and how many times it was evaluated (recipients that got as
 * far as the rule). The clock runs around the rule's tenant test, condition
 * and actions, so the first rule that reads a lazily computed auth fact
 * (DKIM, DMARC, SPF and their DNS) pays for it. 0, or -1 when i is out of
 * range or the message was not evaluated with time_rules. */
PST_API int pst_message_rule_time(const pst_message *msg, size_t i, unsigned long long *nsec,
                          unsigned *evaluations);

/* Number of recipients. */
PST_API size_t pst_message_rcpt_count(const pst_message *msg);
/* The verdict for recipient i, after pst_message_evaluate(); NULL when i is
 * out of range or the message was not evaluated. Borrowed. */
PST_API const pst_verdict *pst_message_verdict(const pst_message *msg, size_t i);

/* The message as delivered to recipient i: edits applied; with an
 * authserv-id set, Authentication-Results fields bearing that id removed
 * (forged, RFC 8601 section 5) and ours added (computing every auth
 * result it needs); with quarantine-reason on, X-Postern-Quarantine
 * fields removed and, for a copy whose applied action is quarantine, ours
 * added ("rule=NAME; decision=ACTION; applied=quarantine; client-ip=IP").
 * *out is malloc'd, owned
 * by the caller. 0 / -1. Not const: auth results are computed and cached. */
PST_API int pst_message_render(pst_message *msg, size_t i, char **out, size_t *len, char *err, size_t errlen);

/* The report as the JSON object of postern-json(5), one line without a trailing
 * newline. *out is malloc'd, owned by the caller. 0 / -1. Not const: auth
 * facts that no rule read are computed (and cached) for the report. */
PST_API int pst_message_json(pst_message *msg, char **out);

/* A human-readable report (decisions, auth results, rules that fired,
 * edits; with the trace when opts.trace was set). Caller frees. 0 / -1. */
PST_API int pst_message_text(pst_message *msg, char **out);

#ifdef __cplusplus
}
#endif

#endif
