/*
 * author.h: who a message says it is from, read as strictly as
 * authentication needs and as loosely as a mail client shows it.
 *
 * RFC 5322 3.6 wants one From field; RFC 7489 6.6.1 (and RFC 9989 after
 * it) authenticates against one author domain. pst_msg_author() says
 * whether the message has exactly one readable author address and, when
 * not, why (a fixed text such as "2 From fields"). It also lists every
 * domain a reader could take for the author's: the domains of the From
 * addresses, and the domains of address-looking text anywhere in the From
 * fields (display names, comments, obsolete routes, RFC 2047 encoded-words
 * decoded, invisible characters removed). DMARC is evaluated over all of
 * them, the strictest outcome winning, so an ambiguous or unreadable From
 * never turns a p=reject author into "no DMARC" (CVE-2019-16378 and the
 * "Composition Kills" From attacks).
 */
#ifndef PST_AUTHOR_H
#define PST_AUTHOR_H

#include <stddef.h>

struct pst_addr;
struct pst_arena;
struct pst_msg;

/* One domain a reader could take for the author's. */
typedef struct pst_author_domain {
	const char *domain;         /* normalised (A-labels, lower case), arena */
	int shown;                  /* 1: only shown (display name, comment,
	                             * encoded-word, route, invisible characters
	                             * removed); 0: the domain of a From address */
} pst_author_domain;

typedef struct pst_author {
	size_t nfields;             /* From fields */
	size_t count;               /* addresses in all From fields, unparsable
	                             * items included */
	const struct pst_addr *addr; /* the author when error is NULL, else NULL */
	const char *domain;         /* its domain, normalised (arena); NULL when
	                             * error is set */
	const char *error;          /* NULL: exactly one readable author; else why
	                             * not (static text, e.g. "no From field") */
	pst_author_domain *domains; /* arena; at most PST_MAX_AUTHOR_DOMAINS,
	                             * addresses first, no repeats */
	size_t ndomains;
} pst_author;

/* Read the author of m into *out; every string and array comes from arena
 * (borrowed by out, valid while arena lives) or from m (valid until
 * pst_msg_free). 0, or -1 on ENOMEM. m is read only through its public
 * API (values are made on first read, so m is not const). */
int pst_msg_author(struct pst_msg *m, struct pst_arena *arena, pst_author *out);

/* The one mailbox of the field named name (Sender, Reply-To), read as
 * strictly as the author: exactly one field of that name holding exactly
 * one mailbox, outside any group, that parses and passes every check the
 * author passes (a domain that normalises and has a dot, no encoded-word,
 * '@' in the local part, route or mixed scripts). Then *address is its
 * addr-spec as written and *domain its domain normalised (A-labels, lower
 * case, no trailing dot); else both are NULL (no field, two fields, a
 * list of several addresses: RFC 5322 lets Reply-To hold several, and no
 * one of them is "the" reply address). Strings from arena or m, borrowed.
 * 0, or -1 on ENOMEM. */
int pst_msg_mailbox(struct pst_msg *m, struct pst_arena *arena, const char *name,
                    const char **address, const char **domain);

#endif
