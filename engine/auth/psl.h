/*
 * psl.h: the Public Suffix List and organizational domains (RFC 7489 3.2).
 *
 * Our own reader of the list (Debian's publicsuffix package), because
 * libopendmarc's mishandles wildcard and exception rules (see psl.c).
 * The org domain of a name is the public suffix plus one label; a name
 * that is itself a public suffix has none. Names under a TLD the list does
 * not know fall back to the implicit "*" rule (the TLD is the suffix).
 * Both sections of the list, ICANN and PRIVATE, are loaded (psl.c says
 * why). Rules are kept in a hash set: a look-up costs one probe per label.
 * A loaded list is immutable and may be shared by threads.
 */
#ifndef PST_PSL_H
#define PST_PSL_H

#include <stddef.h>

#include "util/buf.h"
#include "util/limits.h"


typedef struct pst_psl pst_psl;

/* Load the list at path (NULL: PST_PSL_DEFAULT_PATH). 0 and *out (caller
 * frees with pst_psl_free), or -1 with a reason appended to errors (may be
 * NULL). */
int pst_psl_load_file(const char *path, pst_psl **out, pst_buf *errors);
int pst_psl_load_text(const char *text, size_t len, pst_psl **out, pst_buf *errors);
void pst_psl_free(pst_psl **p);

/* The organizational domain of domain (normalised: A-labels, lower case),
 * written into buf (size len, PST_MAX_DOMAIN_BYTES + 1 suffices). Returns
 * buf, or NULL when domain is a public suffix itself or not a valid name. */
const char *pst_psl_org_domain(const pst_psl *p, const char *domain, char *buf, size_t len);

/* DMARC identifier alignment (RFC 7489 3.1) of two normalised domains:
 * strict means equal; relaxed means the same organizational domain (a
 * public suffix aligns with nothing). 1 aligned, 0 not. */
int pst_psl_aligned(const pst_psl *p, const char *a, const char *b, int strict);

/* 1 when domain is a public suffix itself (has no organizational domain)
 * or is not a valid name, else 0. */
int pst_psl_is_public_suffix(const pst_psl *p, const char *domain);

/* Rules loaded, and rules skipped as not understood (a "*" that is not the
 * first label, a name that does not normalise). For tests and diagnostics. */
size_t pst_psl_rule_count(const pst_psl *p);
size_t pst_psl_skipped(const pst_psl *p);

#endif
