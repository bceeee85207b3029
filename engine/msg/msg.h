/*
 * msg.h: the RFC 5322 header section of one message, parsed once.
 *
 * pst_msg_parse() splits a message into header fields and a body without
 * copying the input's meaning away: every field keeps its raw bytes (name,
 * colon, value, folding and line ending exactly as received) so DKIM and
 * byte-exact output can use them, and also carries its value unfolded
 * (CR/LF of folds removed) and trimmed of leading and trailing white space
 * for matching.
 *
 * Input: CRLF or bare-LF line endings (mixed is tolerated), NUL bytes,
 * 8-bit and invalid UTF-8, obsolete syntax (white space, folding included,
 * between the name and the colon; empty values). A leading mbox "From "
 * line is kept as field 0 with PST_MSG_FIELD_MBOX_FROM.
 *
 * The header section is read whole, as the most permissive mail client
 * reads it: up to the first empty line, or the end of the input when there
 * is none (the message is then all header, the body empty). Each logical
 * field (a line not starting with SP or HTAB, plus its continuation lines)
 * whose unfolded text does not start with "name" [FWS] ":" -- a line
 * without a colon, a name with a byte outside printable ASCII (NUL, 8-bit,
 * a space inside it) -- is kept as a field flagged PST_MSG_FIELD_MALFORMED,
 * and so is a leading white-space line (a continuation with no field
 * before it; only the first field after the mbox line can be one): name_len
 * 0, never found by name, raw bytes kept. Reading goes on after it, so a
 * malformed line never hides the fields below it.
 *
 * Limits (util/limits.h, overridable per call): header section bytes and
 * field count. Exceeding one is a typed error, never a truncation.
 *
 * Ownership: a pst_msg owns a private copy of the bytes and everything
 * derived; every pointer it hands out is borrowed and lives until
 * pst_msg_free(). A parsed message is immutable except for the field
 * values, made on first read (pst_msg_value), so one message is used by one
 * thread at a time.
 *
 * This module does not read addresses: who the message is from (the one
 * readable author, or why not, and every author domain) is read by
 * msg/author.h, and address lists by msg/addr.h.
 */
#ifndef PST_MSG_H
#define PST_MSG_H

#include <stddef.h>
#include <stdint.h>

struct pst_arena;

typedef struct pst_msg pst_msg;

typedef enum pst_msg_errcode {
	PST_MSG_OK,
	PST_MSG_ENOMEM,
	PST_MSG_HEADER_TOO_BIG,     /* header section over max_header_bytes */
	PST_MSG_TOO_MANY_FIELDS,    /* more than max_fields fields */
} pst_msg_errcode;

typedef struct pst_msg_error {
	pst_msg_errcode code;
	char text[200];             /* readable: "header section over 262144 bytes" */
} pst_msg_error;

typedef struct pst_msg_limits {
	size_t max_header_bytes;    /* 0: PST_MAX_HEADER_BYTES */
	size_t max_fields;          /* 0: PST_MAX_HEADER_FIELDS */
} pst_msg_limits;

/* Field flags. */
#define PST_MSG_FIELD_MBOX_FROM  0x1  /* the mbox "From " separator line */
#define PST_MSG_FIELD_OBS_SPACE  0x2  /* white space (or a fold) between name and colon */
#define PST_MSG_FIELD_MALFORMED  0x10 /* no "name [FWS] :", or a leading
                                       * white-space line: name_len 0 */
#define PST_MSG_FIELD_FOLDED_NAME 0x40 /* a line break between name and colon
                                       * ("From" CRLF " : x"): legal obsolete
                                       * syntax that readers split on (one
                                       * sees From, another a malformed line) */
/* Value flags: never in pst_msg_field.flags; pst_msg_value_flags(). */
#define PST_MSG_FIELD_8BIT       0x4  /* value holds bytes >= 0x80 */
#define PST_MSG_FIELD_NUL        0x8  /* value holds NUL bytes */

typedef struct pst_msg_field {
	const char *raw;            /* the whole field with its final line ending */
	size_t raw_len;
	const char *name;           /* the field name (not NUL-terminated in raw);
	                             * name_len 0 for a malformed field */
	size_t name_len;
	uint32_t name_hash;         /* pst_msg_name_hash(name) */
	unsigned flags;             /* PST_MSG_FIELD_MBOX_FROM, _OBS_SPACE,
	                             * _MALFORMED, _FOLDED_NAME */
	/* Private to msg.c: where the trimmed value lies in raw, and its
	 * unfolded copy once pst_msg_value() has made it. */
	const char *vbeg_, *vend_;
	const char *value_;
	size_t value_len_;
} pst_msg_field;

/* Parse len bytes (copied). limits may be NULL for the defaults. On success
 * 0 and *out is the caller's (pst_msg_free). On failure -1, *out NULL, and
 * err (which may be NULL) says why. */
int pst_msg_parse(const char *bytes, size_t len, const pst_msg_limits *limits,
                  pst_msg **out, pst_msg_error *err);

/* The same, with what the message allocates (values, the name index)
 * taken from arena, borrowed: it must outlive the message, and
 * pst_msg_free leaves it alone. One arena then serves a whole transaction. */
int pst_msg_parse_in(const char *bytes, size_t len, const pst_msg_limits *limits,
                     struct pst_arena *arena, pst_msg **out, pst_msg_error *err);

/* Free a message; *m becomes NULL. NULL-safe. */
void pst_msg_free(pst_msg **m);

/* Number of fields (the mbox From_ line included when present; it is
 * field 0 with name "From", value the rest of its line, and does not count
 * against max_fields). */
size_t pst_msg_field_count(const pst_msg *m);
/* Field i, or NULL when i is out of range. Borrowed. */
const pst_msg_field *pst_msg_field_at(const pst_msg *m, size_t i);

/* ASCII case-insensitive name comparison, and the hash that agrees with it. */
int pst_msg_name_eq(const char *a, size_t alen, const char *b, size_t blen);
uint32_t pst_msg_name_hash(const char *name, size_t len);

/* The index of the first field named name at index >= start (hash is
 * pst_msg_name_hash(name, len)), or -1. The mbox From_ line and malformed
 * fields never match (nor count, below). */
long pst_msg_find_next(const pst_msg *m, const char *name, size_t len, uint32_t hash, size_t start);
/* The nth (0-based) field named name, or NULL. */
const pst_msg_field *pst_msg_find(const pst_msg *m, const char *name, size_t len, size_t nth);
/* Number of fields named name. */
size_t pst_msg_count(const pst_msg *m, const char *name, size_t len);
/* The value of f, a field of m: what follows the colon (for a malformed
 * field, its whole text), unfolded (every line ending inside the field
 * removed, the white space after it kept, RFC 5322 2.2.3) and trimmed of
 * SP, HTAB, CR and LF at both ends; NUL-terminated, *len bytes (len may
 * be NULL; the value may hold NULs). Made on the first call, from m's
 * arena, and kept: borrowed from m, valid until pst_msg_free. NULL only on
 * ENOMEM (*len 0). Values are made when read, so most fields of a message
 * are never copied; a pst_msg is therefore not for concurrent use. */
const char *pst_msg_value(const pst_msg *m, const pst_msg_field *f, size_t *len);

/* PST_MSG_FIELD_8BIT and PST_MSG_FIELD_NUL as f's value holds such bytes
 * (worked out on each call); 0 for NULL, or when the value cannot be made
 * (ENOMEM). */
unsigned pst_msg_value_flags(const pst_msg *m, const pst_msg_field *f);

/* Whether f's raw bytes hold a CR followed by anything but LF, CR, SP or
 * HTAB: a reader that breaks lines at a bare CR sees a new field there
 * ("X: a" CR "From: b"). 1 or 0. Worked out on each call, not at parse
 * (one scan of the field): only header.malformed asks. */
int pst_msg_field_bare_cr(const pst_msg_field *f);

/* The whole message size in bytes as given to pst_msg_parse. */
size_t pst_msg_size(const pst_msg *m);
/* The raw bytes given to pst_msg_parse (borrowed). */
const char *pst_msg_bytes(const pst_msg *m);
/* Offset and length of the body: what follows the blank line ending the
 * header section (the blank line itself is not part of the body). When
 * there is no blank line, has_separator is 0 and the body is empty (its
 * offset is the input's length). Fields + separator + body is always the
 * input, byte for byte. */
size_t pst_msg_body_offset(const pst_msg *m);
size_t pst_msg_body_len(const pst_msg *m);
int pst_msg_has_separator(const pst_msg *m);
/* The blank line separating header and body as received ("\r\n" or "\n"),
 * or "" when there is none. Static storage or borrowed. */
const char *pst_msg_separator(const pst_msg *m);
/* The line ending the message mostly uses in its header: "\r\n" or "\n".
 * New fields are written with it. Static storage. */
const char *pst_msg_eol(const pst_msg *m);

#endif
