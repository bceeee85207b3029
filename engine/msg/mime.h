/*
 * mime.h: the MIME structure of a message (RFC 2045, 2046, 2183, 2231),
 * walked for facts about its attachments, never their content.
 *
 * pst_mime_scan() reads the message's header section for Content-Type,
 * Content-Disposition and Content-Transfer-Encoding, descends multipart
 * bodies (by their boundary) and message/rfc822 (and message/global)
 * bodies, and lists the attachments: the declared content types, the
 * decoded file names, how many. See mime.c for what counts as an
 * attachment and how names are decoded.
 *
 * Bounded: nesting depth, number of parts, bytes of header per part and
 * bytes scanned for boundaries (util/limits.h, overridable per call). No
 * recursion: the walk keeps its own stack of at most max_parts entries.
 *
 * A failure is a result, never "no attachments": error names the first
 * problem (a limit hit, or a structure a mail client could read otherwise)
 * and the attachments found up to then are still listed.
 *
 * Ownership: everything in the result is allocated from the caller's arena
 * (or static, for error) and lives as long as it.
 */
#ifndef PST_MIME_H
#define PST_MIME_H

#include <stddef.h>

#include "util/arena.h"

typedef struct pst_mime_limits {
	size_t max_depth;           /* 0: PST_MIME_MAX_DEPTH */
	size_t max_parts;           /* 0: PST_MIME_MAX_PARTS */
	size_t max_header_bytes;    /* a part's; 0: PST_MIME_MAX_PART_HEADER_BYTES
	                             * (the message's own: at least
	                             * PST_MAX_HEADER_BYTES) */
	size_t max_scan_bytes;      /* 0: PST_MIME_MAX_SCAN_BYTES */
} pst_mime_limits;

typedef struct pst_mime_result {
	const char *error;          /* NULL when the structure parsed; else a short
	                             * reason ("nesting too deep"), static */
	size_t count;               /* attachments found */
	size_t nparts;              /* entities walked, the message itself included */
	const char **names;         /* distinct decoded file names, in order found */
	size_t nnames;
	const char **types;         /* distinct "type/subtype" of the attachments,
	                             * lower case, parameters dropped */
	size_t ntypes;
} pst_mime_result;

/* Walk the MIME structure of the message in bytes (len bytes: header
 * section, blank line, body). limits may be NULL for the defaults. Fills
 * *out (from arena). Returns 0, or -1 on ENOMEM (*out then unusable). */
int pst_mime_scan(const char *bytes, size_t len, const pst_mime_limits *limits,
                  pst_arena *arena, pst_mime_result *out);

#endif
