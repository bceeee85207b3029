/*
 * addr.h: RFC 5322 address lists (From, Sender, Reply-To, To, Cc).
 *
 * Parses mailbox and group syntax, quoted local parts and display names,
 * comments (nested, bounded), obsolete routes and several addresses, from
 * an unfolded field value. The display name is decoded from RFC 2047
 * (B and Q, converted to UTF-8); when decoding fails the raw text is kept.
 * Hostile input never crashes it: what cannot be parsed becomes an item
 * with PST_ADDR_BAD set, and parsing goes on at the next comma.
 * No recursion on input: comment nesting is counted, not recursed.
 */
#ifndef PST_ADDR_H
#define PST_ADDR_H

#include <stddef.h>

#include "util/arena.h"

#define PST_ADDR_BAD     0x1   /* not a parsable mailbox; addr_spec may be "" */
#define PST_ADDR_GROUP   0x2   /* the mailbox was inside a group */
#define PST_ADDR_NOANGLE 0x4   /* a bare addr-spec, no <> */

typedef struct pst_addr {
	const char *display;        /* decoded display name (UTF-8), "" when none */
	const char *display_raw;    /* the display name as written, "" when none */
	const char *local;          /* local part, quotes removed */
	const char *domain;         /* domain as written (not normalised); "" when none */
	size_t domain_len;
	const char *addr_spec;      /* "local@domain" ("local" when no domain) */
	const char *group;          /* the group's display name, or NULL */
	unsigned flags;
} pst_addr;

typedef struct pst_addr_list {
	pst_addr *items;
	size_t count;
} pst_addr_list;

/* Parse value (len bytes, unfolded; may hold NULs) into *out. Every string
 * is allocated from arena. At most PST_MAX_ADDRESSES items (more are
 * counted as one PST_ADDR_BAD item, so counts stay honest). flags: 0.
 * 0, or -1 on ENOMEM. */
int pst_addr_parse_list(pst_arena *arena, const char *value, size_t len, unsigned flags,
                        pst_addr_list *out);

/* Write a mailbox as a header value: `"Display" <addr>`, or `addr` when
 * display is empty; a local part that is not a dot-atom is quoted again
 * (`"a b"@example.com`), so the value parses back to the same address. A display name with non-ASCII bytes is written as RFC
 * 2047 encoded-words (UTF-8, B or Q); specials are quoted. Result from
 * arena; NULL on ENOMEM. */
char *pst_addr_format(pst_arena *arena, const char *display, const char *addr_spec);

#endif
