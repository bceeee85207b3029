/*
 * domain.h: domain names in the form they are compared in, and domain sets.
 *
 * Domains compare in their ASCII form (A-labels), lower case, without a
 * trailing dot. Rule files may write Unicode (U-labels); pst_domain_normalize
 * converts them with libidn2 (IDNA2008, with TR46 non-transitional mapping).
 * A set answers "is this domain, or one of its parent domains, in the set"
 * (so a.example.org is in { example.org }) in time proportional to the
 * number of labels, not the size of the set.
 */
#ifndef PST_DOMAIN_H
#define PST_DOMAIN_H

#include <stddef.h>

/* Normalise a domain name of n bytes into a new malloc'd string (caller
 * frees): U-labels to A-labels, ASCII lower case, one trailing dot removed.
 * Labels hold letters, digits, '-' and '_' (for _dmarc and _domainkey
 * names), do not start or end with '-', and are 1..63 octets; the name is at
 * most 253 octets. Returns NULL with *why set to a message when the name is
 * not a valid domain (empty label, label over 63 octets, name over 253
 * octets, characters not allowed such as space, '@' or NUL, an address
 * literal "[192.0.2.1]", IDNA failure), or on ENOMEM (*why "out of memory").
 * *why is static or thread-local: valid until the next call on this thread.
 * why may be NULL. ASCII names without an "xn--" label take a fast path
 * without libidn2. */
char *pst_domain_normalize(const char *s, size_t n, const char **why);

/* The *why that pst_domain_normalize gives on ENOMEM: callers compare the
 * pointer to tell running out of memory from an invalid domain. */
extern const char pst_domain_why_nomem[];

/* The domain part of an address: the text after the last '@', normalised as
 * above. NULL when there is no '@' or the domain is invalid. Caller frees. */
char *pst_domain_of_address(const char *addr, size_t n);

/* Whether name equals parent or is a subdomain of it. Both must already be
 * normalised. "a.example.org" under "example.org" is 1; "badexample.org" is 0.
 * An empty parent has nothing under it (0). */
int pst_domain_is_under(const char *name, const char *parent);

/* Whether some label of norm (a normalised name) mixes letters of Latin,
 * Cyrillic, Greek, Armenian or Cherokee, the scripts whose letters pass
 * for one another ("b\u0430nk" with a Cyrillic a is "xn--bnk-6cd"): 1
 * or 0. Whole-script look-alikes (a label all Cyrillic) are not caught;
 * other scripts may mix with Latin freely (Japanese names do). */
int pst_domain_mixes_scripts(const char *norm);

typedef struct pst_domainset pst_domainset;

/* A new empty set; NULL on ENOMEM. Caller owns; free with pst_domainset_free.
 * A set is immutable once built and may be shared between threads for lookups. */
pst_domainset *pst_domainset_new(void);
void pst_domainset_free(pst_domainset **s);
/* Add a normalised domain (copied). Duplicates are fine. 0, or -1 on ENOMEM.
 * Adding is the build phase: it must not run concurrently with lookups. */
int pst_domainset_add(pst_domainset *s, const char *domain);
/* 1 if domain (normalised) or one of its parent domains is in the set, else 0.
 * Walks a.b.example.org, b.example.org, example.org, org: one hash probe
 * per label. */
int pst_domainset_contains(const pst_domainset *s, const char *domain);
/* 1 if exactly this domain is in the set (no parent walk). */
int pst_domainset_contains_exact(const pst_domainset *s, const char *domain);
/* Number of distinct domains added. */
size_t pst_domainset_count(const pst_domainset *s);

#endif
