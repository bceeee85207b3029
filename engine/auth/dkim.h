/*
 * dkim.h: DKIM verification (RFC 6376, RFC 8463 ed25519) through
 * libopendkim, over our DNS layer.
 *
 * Keys are fetched through libopendkim's DNS service hooks answered from a
 * pst_dns_session (wire replies from pst_dns_wire_reply), which keeps "no
 * key" (NXDOMAIN: permerror) apart from a temporary failure (SERVFAIL or
 * timeout: temperror) per signature; one signature's temporary failure
 * does not spoil the others. What the library gets wrong is enforced here
 * (dkim.c lists them): rsa-sha1 (RFC 8301) and RSA keys under 1024 bits give
 * the RFC 8601 result policy, never pass; at most max_sigs signatures are
 * verified (the rest are ignored and counted).
 *
 * An expired signature (x= in the past by more than the clock skew) is
 * permerror, and so are a signature whose t= lies further in the future
 * than the clock skew, a missing key (NXDOMAIN or NODATA), a bad key
 * record and a signature field with bad syntax; dkim.c says why.
 *
 * For each passing signature the result also says what it leaves
 * uncovered (RFC 6376 8.2 and 8.15): body content after its l= length,
 * and the topmost field of a name its h= names, but fewer times than the
 * message has fields of that name (an instance added above the signed
 * ones; not for the trace and authentication fields that hops add).
 */
#ifndef PST_DKIM_H
#define PST_DKIM_H

#include <stddef.h>
#include <time.h>

#include "dns/resolver.h"
#include "util/authtypes.h"
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
	/* Coverage, filled for passing signatures only (else -1, 0, NULL): */
	long long body_limit;      /* l= (RFC 6376 3.5), or -1 without one */
	long long body_canon_len;  /* the whole body's length in this signature's
	                            * body canonicalization */
	long long lib_body_hashed; /* body bytes libopendkim hashed (its
	                            * dkim_sig_getcanonlen canonlen, at most l=):
	                            * for tests only */
	int unsigned_body;         /* l= given and body_canon_len > l= */
	const char *unsigned_header; /* the topmost field (its name as written)
	                            * of a name h= names at least once but
	                            * fewer times than the message has it;
	                            * never a transit field (Received, ...:
	                            * dkim.c) */
	size_t unsigned_header_at; /* that field's index in the message */
} pst_dkim_sig;

typedef struct pst_dkim_result {
	pst_dkim_sig *sigs;        /* in header order; from the arena */
	size_t nsigs;
	size_t ignored;            /* signatures past max_sigs */
} pst_dkim_result;

/* How to verify one message. */
typedef struct pst_dkim_params {
	time_t now;                /* the time for t= and x=; 0: the clock */
	unsigned max_sigs;         /* 0: PST_DEFAULT_MAX_DKIM_SIGS */
	unsigned clock_skew;       /* seconds t= may lie ahead of now, and now
	                            * past x=, before the signature is refused
	                            * (PST_DEFAULT_DKIM_CLOCK_SKEW is the
	                            * setting's default; 0 allows none) */
} pst_dkim_params;

/* Verify the DKIM-Signature fields of msg (fields before skip_before are
 * not part of the message: stripped X-Postern-Envelope, mbox From_).
 * params NULL: the clock, PST_DEFAULT_MAX_DKIM_SIGS and
 * PST_DEFAULT_DKIM_CLOCK_SKEW. Everything in out is from the arena. 0, or
 * -1 on ENOMEM / a library failure (err says which). */
int pst_dkim_verify(const pst_dkim *d, pst_dns_session *dns, const pst_msg *msg,
                    size_t skip_before, const pst_dkim_params *params, pst_arena *arena,
                    pst_dkim_result *out, char *err, size_t errlen);

/* The length of body (n bytes, as received: bare LF or CRLF line endings)
 * in a DKIM body canonicalization (RFC 6376 3.4.3 simple, 3.4.4 relaxed),
 * with the final line ending added when missing, as the verifier is fed.
 * A bare LF counts as CRLF and a CR not before LF as an ordinary byte. */
long long pst_dkim_body_canon_len(const char *body, size_t n, int relaxed);

/* The overall result of postern.rules(5) (the dkim fact): pass if any passed;
 * else temperror if any; else fail if any failed or got policy; else
 * permerror if any; else none. */
pst_auth_result pst_dkim_overall(const pst_dkim_result *r);

#endif
