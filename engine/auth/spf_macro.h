/*
 * spf_macro.h: SPF macro expansion (RFC 7208 section 7), ours.
 *
 * libspf2 1.2.10 drops the first character of an expansion whose digit
 * transformer is at least the number of parts (%{d4} of email.example.com
 * gives "mail.example.com"), URL-escapes with RFC 2396's marks instead of
 * RFC 3986's unreserved set, and does not shorten long names as 7.3 says.
 * The adapter therefore expands every domain-spec itself (spf_syntax.c
 * calls this) and hands libspf2 records without macros.
 *
 * What is expanded, as RFC 7208 7.1-7.4 say:
 *   - "%%" is "%", "%_" a space, "%-" "%20";
 *   - "%{" letter [digits] ["r"] *delimiter "}", the letter in any case:
 *     s <sender>, l its local-part, o its domain, d <domain>, i <ip>
 *     (dotted quad, or 32 dotted lower-case nibbles for IPv6), p the
 *     validated name of <ip> (asked of env->validated_name, "unknown"
 *     without one), v "in-addr" or "ip6", h the HELO; and in explanation
 *     text only (PST_SPF_MACRO_EXP) c <ip> in its usual text form, r the
 *     receiving host ("unknown" when not set) and t the time;
 *   - the value is split at the delimiters ("." when none is given); "r"
 *     reverses the parts; digits N (nonzero; more than there are means
 *     all) keep the N right-hand parts; the parts are joined with ".";
 *   - an upper-case letter's value is then URL-escaped: every octet not in
 *     RFC 3986's unreserved set (ALPHA DIGIT "-" "." "_" "~") as %XX;
 *   - PST_SPF_MACRO_DOMAIN (7.3): when the expansion is longer than 253
 *     octets (a final "." not counted), labels are removed from the left,
 *     each with its dot, until it fits.
 * Anything else after "%" (an unknown letter, c r t outside explanation,
 * a zero digit count, a missing "}") is a syntax error: permerror.
 */
#ifndef PST_SPF_MACRO_H
#define PST_SPF_MACRO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/ip.h"

enum {
	PST_SPF_MACRO_OK = 0,
	PST_SPF_MACRO_SYNTAX = -1,       /* permerror: *why says what */
	PST_SPF_MACRO_UNSET = -2,        /* a value the check does not have: *why */
	PST_SPF_MACRO_NOMEM = -3
};

/* Flags of pst_spf_macro_expand. */
#define PST_SPF_MACRO_EXP    1u     /* explanation text: c, r and t allowed */
#define PST_SPF_MACRO_DOMAIN 2u     /* a domain name: the 253-octet rule of 7.3 */

/* The check_host() arguments the macros read. Borrowed, not owned. */
typedef struct pst_spf_macro_env {
	const char *sender;            /* <sender>: local-part "@" domain, with
	                                * "postmaster" for an empty local-part */
	const char *domain;            /* <domain>, the current one (a final "." is dropped) */
	const pst_ip *ip;              /* <ip>, family 4 or 6 */
	const char *helo;              /* HELO/EHLO text, or NULL: %{h} is UNSET */
	const char *receiver;          /* %{r}, or NULL: "unknown" */
	int64_t now;                   /* %{t}, seconds since the Epoch */
	/* %{p}: the validated name of ip for domain, or NULL for "unknown".
	 * Called once per %{p} expanded; NULL: always "unknown". */
	const char *(*validated_name)(void *arg, const char *domain);
	void *arg;
} pst_spf_macro_env;

/* Expand the macro-string s (n bytes) for env and append the result to
 * out. Returns one of the values above; on an error out may hold part of
 * the expansion, and *why is static text. */
int pst_spf_macro_expand(const char *s, size_t n, const pst_spf_macro_env *env, unsigned flags,
                         pst_buf *out, const char **why);

/* The length of the macro-expand at s (n bytes left, s[0] == '%'), or 0
 * when it is malformed; exp allows c, r and t. The syntax check of
 * spf_syntax.c and the expander share it. */
size_t pst_spf_macro_len(const char *s, size_t n, int exp);

#endif
