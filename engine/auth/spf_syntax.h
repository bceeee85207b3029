/*
 * spf_syntax.h: the RFC 7208 section 12 grammar of an SPF record, checked
 * by us, and the record rewritten into the subset libspf2 evaluates right.
 *
 * libspf2 accepts records the RFC calls permerror (a:museum, a:abc.123,
 * two exp= or redirect= modifiers, %-escapes it does not know, ip4 with a
 * leading-zero prefix, control and non-ASCII characters), rejects valid
 * ones (unknown modifiers with '_' or '.', /0 prefixes, which it takes as
 * "unset"), and evaluates redirect= where it stands instead of after every
 * mechanism, even with an "all" present. So the adapter checks the record
 * first and hands libspf2 a rewrite:
 *   - the mechanisms in order; of a dual-cidr only the prefix of the
 *     client's family; ip4:/0 and ip6:/0 as two /1 blocks; a or mx with a
 *     /0 prefix of the client's family as the same term without a prefix
 *     and with zero_marker appended to its domain: the DNS layer strips the
 *     marker and answers such address questions with the client's own
 *     address when the name has any (which is what /0 means). The marker
 *     must be a suffix no expansion can produce (spf.c makes it random);
 *   - then redirect= last, and only when no "all" mechanism exists (6.1);
 *   - exp= and unknown modifiers dropped (explanations are not fetched;
 *     unknown modifiers MUST be ignored, 6).
 * PST_SPF_SYNTAX_UNSUPPORTED is kept for constructs libspf2 cannot be
 * given at all; none is known today.
 */
#ifndef PST_SPF_SYNTAX_H
#define PST_SPF_SYNTAX_H

#include <stddef.h>

#include "util/buf.h"

enum {
	PST_SPF_SYNTAX_OK = 0,
	PST_SPF_SYNTAX_ERROR = -1,       /* permerror: *why says what */
	PST_SPF_SYNTAX_UNSUPPORTED = -2, /* valid, but libspf2 cannot evaluate it */
	PST_SPF_SYNTAX_NOMEM = -3
};

/* Check record (len bytes, starting "v=spf1") and append its rewrite for a
 * client of family (4 or 6) to out; zero_marker as above. Returns one of the values above; *why
 * is static text for the errors. */
int pst_spf_syntax_rewrite(const char *record, size_t len, int family, const char *zero_marker,
                           pst_buf *out, const char **why);

#endif
