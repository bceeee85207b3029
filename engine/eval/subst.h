/*
 * subst.h: the substitution of a substitute action (lang/actions/
 * act_substitute_*.c): its regex's match in a text replaced by its
 * replacement, whose captures $0-$9 are the match's groups.
 *
 * The evaluator makes the replacement once per evaluation: its ${fact}
 * parts rendered (eval.c), its captures left as references; the same
 * pst_subst then runs on the text at evaluation (does anything match?)
 * and on each field as the message is written (engine/msg/edit.h).
 *
 * Semantics:
 * - The first match is replaced, or with the regex's g flag every match,
 *   left to right, matches not overlapping; after an empty match the
 *   next search starts one character on (that character is kept).
 * - $N of a group that took no part in the match is empty. Control
 *   characters (below 0x20 but TAB, and DEL) in a capture's bytes become
 *   '?', as in interpolated facts; literal pieces are the rule's own.
 * - A result over max bytes is no substitution (-1, *err 0), never a
 *   value cut short.
 * Thread-safe: matching uses the calling thread's PCRE2 state
 * (eval/regex.h); a pst_subst is only read.
 */
#ifndef PST_EVAL_SUBST_H
#define PST_EVAL_SUBST_H

#include <stddef.h>
#include <stdint.h>

#include "lang/program.h"
#include "util/buf.h"

/* The longest substituted text (a header value, a display name). */
#define PST_MAX_SUBST_BYTES 65536

/* A piece of a replacement: literal bytes, or group `group` of the match. */
typedef struct pst_subst_piece {
	const char *lit;              /* group < 0: the bytes */
	size_t len;
	int group;                    /* 0-9, or -1 for literal bytes */
} pst_subst_piece;

typedef struct pst_subst {
	const pst_regex *re;          /* the program's: use it while the program lives */
	uint32_t match_limit;
	int global;                   /* the g flag: every match */
	const pst_subst_piece *pieces;
	size_t npieces;
} pst_subst;

/* Substitute in the len bytes at value, appending the whole new text to
 * out: 1 when something matched (out holds the result), 0 when nothing
 * did (out unchanged), -1 on an error with out unchanged: *err a PCRE2
 * code (PCRE2_ERROR_MATCHLIMIT; PCRE2_ERROR_NOMEMORY also for ENOMEM), or
 * 0 when the result would be longer than max bytes. */
int pst_subst_apply(const pst_subst *s, const char *value, size_t len, size_t max, pst_buf *out,
                    int *err);

#endif
