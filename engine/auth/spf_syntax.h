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
 *     unknown modifiers MUST be ignored, 6);
 *   - with an environment, every domain-spec that holds a macro expanded
 *     by us (spf_macro.h: libspf2's expansion is wrong), then written with
 *     "%" as "%%" and a space as "%_" so that libspf2 takes it literally.
 *     The /0 form without a domain keeps "%{d}" (libspf2 expands a bare
 *     %{d} right, and the rewrite then stays the same for every request).
 *     Without one, domain-specs are kept as written (a syntax check).
 *     An expanded a or mx domain holding "/" gets both prefixes written
 *     out ("/32//128" by default), else libspf2 would read a "/digits" at
 *     its end as the prefix: a HELO of "h.example/1" would widen the term
 *     to half the Internet.
 *     A domain-spec needing a value the request lacks (%{h} without a
 *     HELO) stays as written: libspf2 has no HELO either and fails the
 *     term with permerror when, and only when, it is evaluated.
 * PST_SPF_SYNTAX_UNSUPPORTED is kept for constructs libspf2 cannot be
 * given at all; none is known today.
 */
#ifndef PST_SPF_SYNTAX_H
#define PST_SPF_SYNTAX_H

#include <stddef.h>

#include "auth/spf_macro.h"
#include "util/buf.h"

enum {
	PST_SPF_SYNTAX_OK = 0,
	PST_SPF_SYNTAX_ERROR = -1,       /* permerror: *why says what */
	PST_SPF_SYNTAX_UNSUPPORTED = -2, /* valid, but libspf2 cannot evaluate it */
	PST_SPF_SYNTAX_NOMEM = -3
};

/* Check record (len bytes, starting "v=spf1") and append its rewrite for a
 * client of family (4 or 6) to out; zero_marker as above; env (borrowed,
 * may be NULL) the request the macros are expanded for. *expanded (may be
 * NULL) tells whether a kept domain-spec holds a macro: such a rewrite
 * depends on the request, not on the text alone. Returns one of the values
 * above; *why is static text for the errors (a macro the RFC forbids,
 * such as %{d0}, is PST_SPF_SYNTAX_ERROR: permerror). */
int pst_spf_syntax_rewrite(const char *record, size_t len, int family, const char *zero_marker,
                           const pst_spf_macro_env *env, pst_buf *out, int *expanded,
                           const char **why);

#endif
