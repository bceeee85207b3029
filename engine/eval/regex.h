/*
 * regex.h: the one way a compiled regex (lang/program.h: pst_regex) is
 * matched, by the evaluator's MATCHES tests and by the remove-header edit
 * filter alike.
 *
 * A JIT-compiled pattern runs through pcre2_jit_match, any other through
 * pcre2_match, both under the match limit given. The PCRE2 match data
 * and match context are the calling thread's, made at its first match and
 * freed when the thread ends: matching allocates nothing after that.
 * pst_regex_match reports whether a pattern matches; pst_regex_match_groups
 * where, with groups 0-9 (one match data of PST_REGEX_GROUPS pairs serves
 * every pattern; groups above 9 are not reported).
 */
#ifndef PST_EVAL_REGEX_H
#define PST_EVAL_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "lang/program.h"

/* The calling thread's PCRE2 state; NULL on ENOMEM (or when no thread key
 * could be made). Borrowed: valid until the thread ends; use it only from
 * that thread, one match at a time. */
typedef struct pst_regex_state pst_regex_state;
pst_regex_state *pst_regex_thread_state(void);

/* Match re against the n bytes at p (NULL: ""), under limit (the program's
 * regex-match-limit). 1 match, 0 no match, -1 a PCRE2 error, its code in
 * *err (PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_NOMEMORY, ...). st NULL: the
 * thread's (-1 with PCRE2_ERROR_NOMEMORY when it cannot be made). */
int pst_regex_match(pst_regex_state *st, const pst_regex *re, uint32_t limit,
                    const char *p, size_t n, int *err);

/* Group 0 (the whole match) and the captures $1-$9. */
#define PST_REGEX_GROUPS 10

/* Where a match and its groups are: bytes [start, end) of the subject;
 * start SIZE_MAX for a group that took no part in the match (or that the
 * pattern lacks). */
typedef struct pst_regex_groups {
	size_t start[PST_REGEX_GROUPS], end[PST_REGEX_GROUPS];
} pst_regex_groups;

/* pst_regex_match from byte offset on (offset <= n), with the groups in
 * *g on a match (1). */
int pst_regex_match_groups(pst_regex_state *st, const pst_regex *re, uint32_t limit,
                           const char *p, size_t n, size_t offset, pst_regex_groups *g,
                           int *err);

#endif
