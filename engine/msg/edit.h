/*
 * edit.h: header edits applied to a parsed message, and its output.
 *
 * pst_msg_render() writes the message as delivered: header fields in their
 * original order and bytes, except where an edit touched them, then the
 * separator and the body byte for byte. New and rewritten fields use the
 * message's line ending (pst_msg_eol) and are folded at white space to stay
 * under 78 characters a line where possible (998 at most).
 *
 * These are the message model's own edits: the rules' edit actions reach
 * them through engine/eval/apply.h (which edit each action applies), and
 * engine/message.c uses REMOVE and ADD for Authentication-Results.
 *
 * Edits, applied in order:
 *   ADD            a new field "Name: value", at the top of the header
 *                  (after earlier added fields, so the order of the rules
 *                  is kept), as Sieve's addheader does.
 *   REMOVE         every field of that name, or only those whose unfolded
 *                  value the match callback accepts. "Received" is never
 *                  removed (the edit is ignored and reported).
 *   REPLACE        the first field of that name gets the new value in
 *                  place, later ones are removed; without one it is added.
 *   SET_FROM_DISPLAY / SET_FROM_ADDRESS
 *                  the From field is rewritten in place with the new
 *                  display name (or address); the original From field is
 *                  kept, unchanged, as "X-Original-From" just above it
 *                  (once, however many From edits there are).
 *   PREPEND_SUBJECT
 *                  the text goes in front of the Subject value, unless the
 *                  value already starts with it (no "[EXT] [EXT]"); without
 *                  a Subject field one is added.
 *   SUBSTITUTE     every field of that name: its unfolded value, trimmed
 *                  and RFC 2047-decoded, goes through the subst callback;
 *                  a changed value is re-encoded in place, one the callback
 *                  keeps stays byte for byte. "Received" is never changed
 *                  (ignored and reported).
 *   SUBSTITUTE_FROM_DISPLAY
 *                  the From field's display name (decoded) goes through the
 *                  subst callback; changed (white space around it trimmed),
 *                  the field is rewritten as SET_FROM_DISPLAY does, with
 *                  X-Original-From; an empty name leaves the bare address.
 *                  Kept: nothing changes, no X-Original-From.
 * Values are UTF-8; non-ASCII values are RFC 2047-encoded on output. A
 * value holding CR or LF is refused (the evaluator never produces one).
 *
 * Malformed fields (msg.h) have no name: no edit touches them, and they
 * are written as received, in place. The one exception is a leading
 * white-space line (a malformed first field starting with SP or HTAB):
 * written after anything, it would become a continuation of the field
 * above it (an added Authentication-Results, a delivery's Received). It is
 * written as "X-Postern-Malformed:" followed by its raw bytes unchanged,
 * so " junk" CRLF comes out as "X-Postern-Malformed: junk" CRLF, a field
 * of its own, whatever is written above it. The output therefore never
 * starts with SP or HTAB.
 */
#ifndef PST_EDIT_H
#define PST_EDIT_H

#include <stddef.h>

#include "msg/msg.h"
#include "util/buf.h"

/* The name a leading white-space line is written under (see above). */
#define PST_MSG_MALFORMED_NAME "X-Postern-Malformed"

typedef enum pst_msg_edit_op {
	PST_MSG_EDIT_ADD,
	PST_MSG_EDIT_REMOVE,
	PST_MSG_EDIT_REPLACE,
	PST_MSG_EDIT_SET_FROM_DISPLAY,
	PST_MSG_EDIT_SET_FROM_ADDRESS,
	PST_MSG_EDIT_PREPEND_SUBJECT,
	PST_MSG_EDIT_SUBSTITUTE,
	PST_MSG_EDIT_SUBSTITUTE_FROM_DISPLAY,
} pst_msg_edit_op;

typedef struct pst_msg_edit {
	pst_msg_edit_op op;
	const char *name;           /* ADD, REMOVE, REPLACE: the field name */
	const char *value;          /* new value / display / address / prefix; NULL for
	                             * REMOVE; not read by the SUBSTITUTE ops */
	/* REMOVE only, optional: 1 when the field with this unfolded value is
	 * to be removed, 0 to keep it. */
	int (*match)(void *ctx, const char *value, size_t len);
	/* SUBSTITUTE, SUBSTITUTE_FROM_DISPLAY: append the new text for a
	 * decoded value (UTF-8, no CR/LF in it) to out; 1 changed, 0 keep the
	 * value, -1 ENOMEM. */
	int (*subst)(void *ctx, const char *value, size_t len, pst_buf *out);
	void *match_ctx;            /* for match() or subst() */
} pst_msg_edit;

typedef struct pst_render_opts {
	size_t skip_before;         /* omit fields with index < skip_before
	                             * (stripped X-Postern-Envelope fields and
	                             * the mbox From_ line) */
	const char *const *prepend; /* whole fields "Name: value" (no line
	                             * ending) written first, e.g. Received,
	                             * Authentication-Results; may be NULL */
	size_t nprepend;
} pst_render_opts;

/* Append the delivered form of m with edits applied to out. opts may be
 * NULL. 0; -1 on ENOMEM or a refused edit, with a reason in err (errlen may
 * be 0), and then nothing is appended. On success err is "" unless an edit
 * was ignored (Received removed, replaced or substituted, a From edit without a From
 * field, with several addresses in it, or without an address for a
 * display name): it then names the first one ignored.
 * Refused: a value holding CR or LF, a NULL value (but for REMOVE), an
 * invalid field name, a SET_FROM_ADDRESS value that is empty or holds
 * white space, '<' '>' or '(' ')', a word that would make a line over 998
 * characters. An mbox From_ line kept by skip_before 0 is written first,
 * before opts->prepend. */
int pst_msg_render(const pst_msg *m, const pst_msg_edit *edits, size_t nedits,
                   const pst_render_opts *opts, pst_buf *out, char *err, size_t errlen);

#endif
