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
 *     client's family; ip4:/0 and ip6:/0 as two /1 blocks; a/0 for an IPv4
 *     client as exists (any A record matches);
 *   - then redirect= last, and only when no "all" mechanism exists (6.1);
 *   - exp= and unknown modifiers dropped (explanations are not fetched;
 *     unknown modifiers MUST be ignored, 6).
 * What still cannot be said to libspf2 is reported as unsupported: mx with
 * a /0 prefix of the client's family, a with an IPv6 /0 for an IPv6 client.
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
 * client of family (4 or 6) to out. Returns one of the values above; *why
 * is static text for the errors. */
int pst_spf_syntax_rewrite(const char *record, size_t len, int family, pst_buf *out,
                           const char **why);

#endif
