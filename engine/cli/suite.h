/*
 * suite.h: the rule test suite file of "postern test" (doc/postern-test.5).
 *
 * A suite names one rule file and holds cases; each case is a message, an
 * envelope, a DNS fixture, a fixed time and expectations. This module only
 * parses and checks the file's syntax: it reads no message, no fixture and
 * no rule file (engine/cli/test.c does, through postern.h).
 *
 * Every string of a parsed suite is owned by the suite (pst_suite_free).
 * File paths are stored as written; pst_suite_path() resolves them
 * against the suite's folder.
 */
#ifndef PST_CLI_SUITE_H
#define PST_CLI_SUITE_H

#include <stddef.h>

#include "util/limits.h"

/* Where something was written in the suite file. */
typedef struct pst_suite_pos {
	unsigned line, col;
} pst_suite_pos;

/* A message or a DNS fixture: a file, inline text, or (DNS only) none. */
typedef struct pst_suite_src {
	int set;                   /* given at all */
	int none;                  /* "dns none": an empty fixture */
	char *path;                /* as written, or NULL */
	char *text;                /* inline text (LF line ends), or NULL */
	size_t len;
	pst_suite_pos pos;         /* the keyword */
	unsigned text_line;        /* the inline text's first line */
	unsigned indent;           /* columns of indentation removed from it */
} pst_suite_src;

/* One expectation. rcpt is the address of an "expect ADDR" block, "*" for
 * every recipient, or NULL for the message-level expectations (spf, helo-spf,
 * dkim, dmarc, report). word is the keyword ("decision", "smtp", ...;
 * "not matched" for the negated matched expectation). */
typedef struct pst_suite_expect {
	char *rcpt;
	char *word;
	char *args[PST_SUITE_MAX_ARGS];
	unsigned arg_cols[PST_SUITE_MAX_ARGS]; /* where each argument starts */
	size_t nargs;
	pst_suite_pos pos;
} pst_suite_expect;

typedef struct pst_suite_case {
	char *name;
	pst_suite_pos pos;
	pst_suite_src message;
	pst_suite_src dns;
	char *client_ip, *client_name, *helo, *mail_from;
	char **rcpts;
	size_t nrcpts;
	long long now;
	int has_now;
	int after_queue;
	pst_suite_expect *expects;
	size_t nexpects;
} pst_suite_case;

typedef struct pst_suite {
	char *path;                /* the suite file, as given */
	char *dir;                 /* its folder ("." when none) */
	char *rules;               /* the rule file, as written */
	pst_suite_pos rules_pos;
	pst_suite_case *cases;
	size_t ncases;
} pst_suite;

/* Parse a suite held in memory; path names it in diagnostics and gives the
 * folder paths are relative to. On success 0 and *out is the caller's. On
 * errors -1, *out is NULL and *errors (when errors is not NULL) is a
 * malloc'd text of "path:line:col: error: ..." lines (caller frees); on
 * ENOMEM *errors may be NULL. */
int pst_suite_parse(const char *path, const char *text, size_t len,
                    pst_suite **out, char **errors);

/* Read and parse the suite file at path. As pst_suite_parse(); a file that
 * cannot be read is reported as "path: error: ...". */
int pst_suite_load(const char *path, pst_suite **out, char **errors);

void pst_suite_free(pst_suite **suite);

/* Check the rule names of the suite's "matched" and "not matched"
 * expectations against the rules of the compiled rule file: names[i] is
 * rule i's name and audit[i] is nonzero for an audit-mode rule (whose
 * matches are the "audit" expectation's, not "matched"'s). All borrowed.
 * 0 when each name is an enforced rule; else -1 and, when errors is not
 * NULL, *errors is a malloc'd text (caller frees; NULL on ENOMEM) of
 * "path:line:col: error: ..." lines with a "did you mean" where a rule's
 * name is close. */
int pst_suite_check_rules(const pst_suite *suite, const char *const *names,
                          const unsigned char *audit, size_t n, char **errors);

/* p resolved against the suite's folder (p itself when absolute), malloc'd
 * (caller frees), or NULL on ENOMEM. */
char *pst_suite_path(const pst_suite *suite, const char *p);

/* Parse a time: seconds since the epoch, or "YYYY-MM-DDTHH:MM:SSZ" (UTC).
 * 0 and *out, or -1. */
int pst_suite_parse_time(const char *s, long long *out);

#endif
