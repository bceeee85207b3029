/*
 * dkim.h: DKIM verification (RFC 6376, RFC 8463 ed25519) through
 * libopendkim, over our DNS layer.
 *
 * Keys are fetched through libopendkim's DNS service hooks answered from a
 * pst_dns_session (wire replies from pst_dns_wire_reply), which keeps "no
 * key" (NXDOMAIN: permerror) apart from a temporary failure (SERVFAIL or
 * timeout: temperror) per signature; one signature's temporary failure
 * does not spoil the others. What the library gets wrong is enforced here
 * (LIBRARIES.md): rsa-sha1 (RFC 8301) and RSA keys under 1024 bits give
 * the RFC 8601 result policy, never pass; at most max_sigs signatures are
 * verified (the rest are ignored and counted).
 *
 * An expired signature (x= in the past) is permerror, and so are a missing
 * key (NXDOMAIN or NODATA), a bad key record and a signature field with
 * bad syntax; dkim.c says why.
 */
#ifndef PST_DKIM_H
#define PST_DKIM_H

#include <stddef.h>
#include <time.h>

#include "dns/resolver.h"
#include "lang/facts.h"
#include "msg/msg.h"
#include "util/arena.h"

/* The shared library handle (DKIM_LIB). Threads may share it. */
typedef struct pst_dkim pst_dkim;

int pst_dkim_new(pst_dkim **out, char *err, size_t errlen);
void pst_dkim_free(pst_dkim **d);

typedef struct pst_dkim_sig {
	const char *domain;        /* d=, normalised */
	const char *selector;      /* s= */
	const char *algorithm;     /* "rsa-sha256", "ed25519-sha256", "rsa-sha1" */
	const char *b_prefix;      /* the first 8 characters of b=, for A-R header.b */
	pst_auth_result result;    /* pass fail policy neutral temperror permerror */
	const char *reason;        /* "body hash mismatch", "key not found", "rsa-sha1 (RFC 8301)" */
	unsigned key_bits;         /* when a key was found */
	int lib_pass;              /* libopendkim's own verdict (signature and
	                            * body hash verified), before our RFC 8301
	                            * rules: for diagnostics and tests only */
} pst_dkim_sig;

typedef struct pst_dkim_result {
	pst_dkim_sig *sigs;        /* in header order; from the arena */
	size_t nsigs;
	size_t ignored;            /* signatures past max_sigs */
} pst_dkim_result;

/* Verify the DKIM-Signature fields of msg (fields before skip_before are
 * not part of the message: stripped X-Postern-Envelope, mbox From_).
 * now: 0 for the clock, else the fixed time for t=/x=. max_sigs 0 means
 * PST_DEFAULT_MAX_DKIM_SIGS. 0, or -1 on ENOMEM / a library failure
 * (err says which). */
int pst_dkim_verify(const pst_dkim *d, pst_dns_session *dns, const pst_msg *msg,
                    size_t skip_before, time_t now, unsigned max_sigs, pst_arena *arena,
                    pst_dkim_result *out, char *err, size_t errlen);

/* The overall result of LANGUAGE.md "DKIM results": pass if any passed;
 * else temperror if any; else fail if any failed or got policy; else
 * permerror if any; else none. */
pst_auth_result pst_dkim_overall(const pst_dkim_result *r);

#endif
