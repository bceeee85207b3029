/*
 * dkim.c: DKIM verification through libopendkim over our DNS layer
 * (dkim.h).
 *
 * Contract:
 *   - One DKIM_LIB per pst_dkim, configured once and then only read, so
 *     threads may share it. Its DNS service hooks answer every key query
 *     from the pst_dns_session of the verification running on the calling
 *     thread (a thread-local pointer set for the duration of
 *     pst_dkim_verify), encoded as an RFC 1035 reply by pst_dns_wire_reply.
 *     NXDOMAIN and NODATA reach the library as replies (no key: permerror);
 *     SERVFAIL and TIMEOUT as a failed query (temperror), per signature.
 *     A key record too large for the library's reply buffer reaches it as
 *     a failed query too, but is remembered and reported as permerror:
 *     asking again gives the same record (no real key is near that size).
 *     The close hook does nothing: the service handle is ours.
 *   - The verification time (now, or the clock) is ours, per call: the
 *     library checks t= and x= against time() even with DKIM_OPTS_FIXEDTIME
 *     set (measured here), so its checks are muted (a huge clock drift)
 *     and the prescreen hook makes them before any key is fetched, with
 *     the caller's clock skew (the dkim-clock-skew setting, default
 *     PST_DEFAULT_DKIM_CLOCK_SKEW, 300 s as libopendkim's own
 *     DKIM_OPTS_CLOCKDRIFT default): a t= more than the skew ahead of now
 *     is in the future, an x= more than the skew before now is expired.
 *     RFC 6376 3.5 lets a verifier ignore a future t= ("MAY") and treat a
 *     passed x= as invalid ("MAY"): a receiver whose clock differs from
 *     the signer's by s seconds sees t= s seconds ahead when it runs
 *     behind, and x= reached s seconds early when it runs ahead; the
 *     same tolerance serves both, as libopendkim applies its drift to both.
 *   - What a passing signature leaves uncovered is said per signature
 *     (RFC 6376 8.2, 8.15): the canonicalized body's length against l=
 *     (libopendkim hashes only l= bytes and counts no further: its
 *     dkim_sig_getcanonlen canonlen stops at l=, so the length is ours,
 *     pst_dkim_body_canon_len), and the topmost field of a name that h=
 *     names at least once but fewer times than the message has it (the
 *     signature covers the bottom-most instances, RFC 6376 5.4.2). A field
 *     h= does not name at all is not reported: the signer made no claim
 *     about it, and every Received field would be one. Nor are the
 *     transit fields that hops add above the signed ones by design
 *     (Received, Return-Path, Received-SPF, Authentication-Results,
 *     DKIM-Signature, ARC-*) even when h= names them: a later hop's
 *     instance is expected, and no client shows it as author or subject.
 *   - What the library gets wrong is decided here: rsa-sha1 (RFC 8301) and
 *     RSA keys under 1024 bits give policy (RFC 8601 2.7.1), never pass;
 *     the prescreen hook ignores signatures past max_sigs. The algorithm
 *     is read from a= itself (dkim_sig_getsignalg says rsa-sha1 for a
 *     signature the library could not parse).
 *   - A key record whose p= is a bare RSAPublicKey, the form RFC 6376
 *     3.6.1 names, reaches the library as the SubjectPublicKeyInfo it
 *     reads (the same key).
 *   - Bare-LF input (headers and body) is fed as CRLF: the library's
 *     FIXCRLF flag only serves dkim_chunk. A body whose last line has no
 *     line ending gets one (RFC 6376 3.4.3 and 3.4.4 add it in both
 *     canonicalizations; the library calls such a body a syntax error).
 *   - Result mapping, per signature, in this order:
 *       key query SERVFAIL or timeout          temperror
 *       no key (NXDOMAIN, NODATA), several key
 *       records, bad key record, a key record
 *       too large for a reply, bad signature
 *       syntax, x= in the past                 permerror
 *       RSA key under 512 bits                 policy
 *       verified, body hash matches            pass; policy for rsa-sha1
 *                                              or an RSA key < 1024 bits
 *       body hash mismatch, bad signature      fail
 *       anything else                          neutral
 *     So policy means "would have passed, refused by RFC 8301" (RFC 8601
 *     2.7.1), and a refused signature that is broken anyway says how.
 *     An expired signature (x= past) is permerror, not fail: RFC 6376
 *     6.1.1 checks x= while validating the signature field, before any key
 *     is fetched or hash computed (its PERMFAIL "signature expired"), and
 *     RFC 8601 2.7.1 keeps fail for signatures that were acceptable but
 *     failed the verification tests; an expired one was never acceptable
 *     and "a later attempt is unlikely to produce a final result".
 */
#include "auth/dkim.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <dkim.h>

#include "dns/dns.h"
#include "util/domain.h"
#include "util/limits.h"

/* The drift given to the library so that its own time checks stay quiet
 * for a fixed time up to 31 years before the clock (x + drift > the
 * clock). Its future check subtracts the drift from t= unsigned, so a t=
 * under it (before 2001-09-09, years before DKIM existed) reads as the
 * future: such a signature is permerror, with a reason saying so. */
#define PST_DKIM_LIB_DRIFT ((uint64_t)1000000000)

struct pst_dkim {
	DKIM_LIB *lib;
};

/* One key query: the library asks one at a time, synchronously. */
typedef struct pst_dkim_query {
	int status;                   /* DKIM_DNS_* for waitreply */
	size_t len;                   /* reply bytes in the library's buffer */
} pst_dkim_query;

/* Key queries that failed (at most PST_DKIM_MAX_FAILS), remembered to say
 * how: SERVFAIL or timeout, or PST_DNS_NOERROR for an answer too large to
 * encode in the library's buffer. */
typedef struct pst_dkim_fail {
	char name[PST_MAX_DOMAIN_BYTES + 2];
	pst_dns_status status;
} pst_dkim_fail;

/* The verification running on this thread. */
typedef struct pst_dkim_vctx {
	pst_dns_session *dns;
	unsigned max_sigs;
	uint64_t now;                 /* the verification time */
	uint64_t clock_skew;          /* seconds of tolerance for t= and x= */
	size_t ignored;
	pst_dkim_query query;
	pst_dkim_fail fails[PST_DKIM_MAX_FAILS];
	size_t nfails;
} pst_dkim_vctx;

static __thread pst_dkim_vctx *pst_dkim_current;

/* Our DNS service handle: any non-NULL pointer; the library passes it back. */
static int pst_dkim_service_token;

/* ---- key records: RSAPublicKey p= (RFC 6376 3.6.1) ---- */

/*
 * RFC 6376 3.6.1 says p= of an "rsa" key holds a DER RSAPublicKey (RFC
 * 3447 A.1.1); signers publish a SubjectPublicKeyInfo instead, and that is
 * all libopendkim reads. A record whose p= is a bare RSAPublicKey is
 * rewritten, before the library sees it, with that key wrapped in a
 * SubjectPublicKeyInfo (rsaEncryption, RFC 3279 2.3.1): the same key.
 */

static int pst_dkim_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 (white space skipped, '=' ends it); -1 when not base64
 * or over size bytes. */
static long pst_dkim_b64_decode(const char *s, size_t n, unsigned char *out, size_t size)
{
	size_t o = 0;
	unsigned acc = 0, bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		int v = pst_dkim_b64_value(c);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)o;
}

static size_t pst_dkim_b64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	return o;
}

/* One DER element at p[0..n): its content's offset and length; -1 when
 * the header is malformed or the content overruns n. */
static int pst_dkim_der(const unsigned char *p, size_t n, unsigned char tag, size_t *off,
                        size_t *len)
{
	if (n < 2 || p[0] != tag)
		return -1;
	size_t l = p[1], h = 2;
	if (l & 0x80) {
		size_t k = l & 0x7f;
		if (k == 0 || k > 2 || n < 2 + k)
			return -1;
		l = 0;
		for (size_t i = 0; i < k; i++)
			l = (l << 8) | p[2 + i];
		h += k;
	}
	if (l > n - h)
		return -1;
	*off = h;
	*len = l;
	return 0;
}

/* Is key[0..n) exactly SEQUENCE { INTEGER, INTEGER }? */
static int pst_dkim_is_rsapublickey(const unsigned char *key, size_t n)
{
	size_t off, len, ioff, ilen;
	if (pst_dkim_der(key, n, 0x30, &off, &len) < 0 || off + len != n)
		return 0;
	const unsigned char *p = key + off;
	size_t left = len;
	for (int i = 0; i < 2; i++) {
		if (pst_dkim_der(p, left, 0x02, &ioff, &ilen) < 0 || ilen == 0)
			return 0;
		p += ioff + ilen;
		left -= ioff + ilen;
	}
	return left == 0;
}

static size_t pst_dkim_der_len(unsigned char *out, size_t len)
{
	if (len < 0x80) {
		out[0] = (unsigned char)len;
		return 1;
	}
	if (len < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)len;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (unsigned char)(len >> 8);
	out[2] = (unsigned char)len;
	return 3;
}

/* SubjectPublicKeyInfo { rsaEncryption, BIT STRING { pkcs1 } } into out
 * (room for n + 32 bytes); its length. */
static size_t pst_dkim_wrap_spki(const unsigned char *pkcs1, size_t n, unsigned char *out)
{
	static const unsigned char algid[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
		0x05, 0x00,
	};
	unsigned char bl[3], sl[3];
	size_t bll = pst_dkim_der_len(bl, n + 1);
	size_t body = sizeof algid + 1 + bll + 1 + n;
	size_t sll = pst_dkim_der_len(sl, body);
	size_t o = 0;
	out[o++] = 0x30;
	memcpy(out + o, sl, sll);
	o += sll;
	memcpy(out + o, algid, sizeof algid);
	o += sizeof algid;
	out[o++] = 0x03;
	memcpy(out + o, bl, bll);
	o += bll;
	out[o++] = 0x00;            /* no unused bits */
	memcpy(out + o, pkcs1, n);
	return o + n;
}

/* Find tag name's value in a DKIM key record (tag=value; ...): its
 * offset and length, trimmed; -1 when absent. */
static int pst_dkim_key_tag(const char *rec, size_t n, const char *name, size_t *voff,
                            size_t *vlen)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < n;) {
		size_t end = i;
		while (end < n && rec[end] != ';')
			end++;
		size_t a = i;
		while (a < end && (rec[a] == ' ' || rec[a] == '\t' || rec[a] == '\r' || rec[a] == '\n'))
			a++;
		size_t eq = a;
		while (eq < end && rec[eq] != '=')
			eq++;
		size_t te = eq;
		while (te > a && (rec[te - 1] == ' ' || rec[te - 1] == '\t'))
			te--;
		if (eq < end && te - a == nl && memcmp(rec + a, name, nl) == 0) {
			size_t v = eq + 1, ve = end;
			while (v < ve && (rec[v] == ' ' || rec[v] == '\t'))
				v++;
			while (ve > v && (rec[ve - 1] == ' ' || rec[ve - 1] == '\t'))
				ve--;
			*voff = v;
			*vlen = ve - v;
			return 0;
		}
		i = end + 1;
	}
	return -1;
}

/* The record with p= as a SubjectPublicKeyInfo, in arena; NULL when it
 * needs no rewriting (or on ENOMEM: the library then sees it as it is). */
static char *pst_dkim_fix_key(pst_arena *arena, const char *rec, size_t n, size_t *outlen)
{
	size_t po, pl, ko, kl;
	if (pst_dkim_key_tag(rec, n, "p", &po, &pl) < 0 || pl == 0)
		return NULL;
	if (pst_dkim_key_tag(rec, n, "k", &ko, &kl) == 0 &&
	    !(kl == 3 && strncasecmp(rec + ko, "rsa", 3) == 0))
		return NULL;
	unsigned char key[PST_DKIM_MAX_KEY_BYTES];
	long kn = pst_dkim_b64_decode(rec + po, pl, key, sizeof key - 32);
	if (kn <= 0 || !pst_dkim_is_rsapublickey(key, (size_t)kn))
		return NULL;
	unsigned char spki[PST_DKIM_MAX_KEY_BYTES];
	size_t sn = pst_dkim_wrap_spki(key, (size_t)kn, spki);
	size_t b64 = (sn + 2) / 3 * 4;
	char *out = pst_arena_alloc(arena, n - pl + b64 + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, rec, po);
	size_t o = po + pst_dkim_b64_encode(spki, sn, out + po);
	memcpy(out + o, rec + po + pl, n - po - pl);
	o += n - po - pl;
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* ans with every RSAPublicKey key record rewritten (records copied into
 * arena when one is); ans itself otherwise. */
static void pst_dkim_fix_answer(pst_arena *arena, pst_dns_answer *ans)
{
	pst_dns_rr *copy = NULL;
	for (size_t i = 0; i < ans->count; i++) {
		size_t len;
		char *t = pst_dkim_fix_key(arena, ans->rrs[i].text, ans->rrs[i].text_len, &len);
		if (t == NULL)
			continue;
		if (copy == NULL) {
			copy = pst_arena_calloc(arena, ans->count, sizeof *copy);
			if (copy == NULL)
				return;
			memcpy(copy, ans->rrs, ans->count * sizeof *copy);
		}
		copy[i].text = t;
		copy[i].text_len = len;
	}
	if (copy != NULL)
		ans->rrs = copy;
}

/* ---- DNS hooks ---- */

/* Remember how the query for name failed (the first PST_DKIM_MAX_FAILS). */
static void pst_dkim_note_fail(pst_dkim_vctx *v, const char *name, pst_dns_status st)
{
	if (v->nfails >= PST_DKIM_MAX_FAILS)
		return;
	pst_dkim_fail *f = &v->fails[v->nfails++];
	snprintf(f->name, sizeof f->name, "%s", name);
	f->status = st;
}

static int pst_dkim_dns_start(void *srv, int type, unsigned char *query, unsigned char *buf,
                              size_t buflen, void **qh)
{
	(void)srv;
	pst_dkim_vctx *v = pst_dkim_current;
	if (v == NULL || v->dns == NULL || query == NULL || buf == NULL)
		return -1;
	pst_dkim_query *q = &v->query;
	q->status = DKIM_DNS_ERROR;
	q->len = 0;
	*qh = q;

	pst_dns_answer ans;
	const char *name = (const char *)query;
	pst_dns_status st = pst_dns_session_query(v->dns, name, type, &ans);
	if (st == PST_DNS_TIMEOUT || st == PST_DNS_SERVFAIL)
		pst_dkim_note_fail(v, name, st);
	if (st == PST_DNS_TIMEOUT) {
		q->status = DKIM_DNS_EXPIRED;
		return 0;
	}
	if (st == PST_DNS_SERVFAIL)
		return 0;             /* DKIM_DNS_ERROR: a temporary failure */
	if (st == PST_DNS_NOERROR && type == ns_t_txt && v->dns->arena != NULL)
		pst_dkim_fix_answer(v->dns->arena, &ans);
	int n = pst_dns_wire_reply(&ans, name, type, 0, buf, buflen);
	if (n < 0 && errno == EMSGSIZE && st == PST_DNS_NOERROR)
		pst_dkim_note_fail(v, name, PST_DNS_NOERROR);   /* too large: permerror */
	if (n < 0)
		return 0;             /* reply too big or name invalid: error */
	q->len = (size_t)n;
	q->status = DKIM_DNS_SUCCESS;
	return 0;
}

static int pst_dkim_dns_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes,
                                  int *error, int *dnssec)
{
	(void)srv;
	(void)to;
	const pst_dkim_query *q = qh;
	if (q == NULL)
		return DKIM_DNS_ERROR;
	if (bytes != NULL)
		*bytes = q->len;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return q->status;
}

static int pst_dkim_dns_cancel(void *srv, void *qh)
{
	(void)srv;
	(void)qh;
	return 0;
}

static void pst_dkim_dns_close(void *srv)
{
	(void)srv;                    /* the handle is ours: nothing to free */
}

/* ---- the signature cap ---- */

/* A tag's value as a number; 0 when absent or not all digits. */
static uint64_t pst_dkim_tag_number(DKIM_SIGINFO *sig, const char *tag)
{
	const unsigned char *v = dkim_sig_gettagvalue(sig, 0, (u_char *)tag);
	if (v == NULL || *v == '\0')
		return 0;
	uint64_t n = 0;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || n > UINT64_MAX / 10 - 10)
			return 0;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	return n;
}

/* RFC 6376 3.5 t= and x=, against our verification time, each with skew
 * seconds of tolerance. The library checks them against time() whatever
 * DKIM_OPTS_FIXEDTIME says, when it parses a signature and again when it
 * processes it; it is given a clock drift so large (PST_DKIM_LIB_DRIFT)
 * that its checks do not fire, and the checks are made here, before any
 * key is fetched. */
static void pst_dkim_check_times(DKIM_SIGINFO *sig, uint64_t now, uint64_t skew)
{
	int e = dkim_sig_geterror(sig);
	if (e != DKIM_SIGERROR_OK && e != DKIM_SIGERROR_UNKNOWN)
		return;
	uint64_t x = pst_dkim_tag_number(sig, "x");
	uint64_t t = pst_dkim_tag_number(sig, "t");
	if (x != 0 && x < now && now - x > skew)
		(void)dkim_sig_seterror(sig, DKIM_SIGERROR_EXPIRED);
	else if (t != 0 && t > now && t - now > skew)
		(void)dkim_sig_seterror(sig, DKIM_SIGERROR_FUTURE);
}

/* Before any key is fetched: the cap, then the times. */
static DKIM_CBSTAT pst_dkim_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	pst_dkim_vctx *v = dkim_get_user_context(dkim);
	if (v == NULL)
		return DKIM_CBSTAT_CONTINUE;
	for (int i = 0; i < nsigs; i++) {
		if ((unsigned)i >= v->max_sigs) {
			dkim_sig_ignore(sigs[i]);
			v->ignored++;
		} else {
			pst_dkim_check_times(sigs[i], v->now, v->clock_skew);
		}
	}
	return DKIM_CBSTAT_CONTINUE;
}

/* ---- the library handle ---- */

static int pst_dkim_setopt(DKIM_LIB *lib, int opt, void *val, size_t len, const char *what,
                           char *err, size_t errlen)
{
	if (dkim_options(lib, DKIM_OP_SETOPT, opt, val, len) != DKIM_STAT_OK) {
		snprintf(err, errlen, "libopendkim: cannot set %s", what);
		return -1;
	}
	return 0;
}

static DKIM_LIB *pst_dkim_lib_new(char *err, size_t errlen)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	if (lib == NULL) {
		snprintf(err, errlen, "libopendkim: dkim_init failed");
		return NULL;
	}
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	/* Small enough that we classify short RSA keys ourselves (policy). */
	unsigned int minbits = 512;
	if (pst_dkim_setopt(lib, DKIM_OPTS_FLAGS, &flags, sizeof flags, "flags", err, errlen) < 0 ||
	    pst_dkim_setopt(lib, DKIM_OPTS_MINKEYBITS, &minbits, sizeof minbits, "minimum key bits",
	                    err, errlen) < 0)
		goto fail;
	uint64_t drift = PST_DKIM_LIB_DRIFT;
	if (pst_dkim_setopt(lib, DKIM_OPTS_CLOCKDRIFT, &drift, sizeof drift, "clock drift", err,
	                    errlen) < 0)
		goto fail;
	if (dkim_set_prescreen(lib, pst_dkim_prescreen) != DKIM_STAT_OK) {
		snprintf(err, errlen, "libopendkim: cannot set the prescreen hook");
		goto fail;
	}
	(void)dkim_dns_set_query_service(lib, &pst_dkim_service_token);
	dkim_dns_set_query_start(lib, pst_dkim_dns_start);
	dkim_dns_set_query_waitreply(lib, pst_dkim_dns_waitreply);
	dkim_dns_set_query_cancel(lib, pst_dkim_dns_cancel);
	dkim_dns_set_close(lib, pst_dkim_dns_close);
	dkim_dns_set_init(lib, NULL);
	return lib;
fail:
	dkim_close(lib);
	return NULL;
}

int pst_dkim_new(pst_dkim **out, char *err, size_t errlen)
{
	*out = NULL;
	pst_dkim *d = calloc(1, sizeof *d);
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->lib = pst_dkim_lib_new(err, errlen);
	if (d->lib == NULL) {
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

void pst_dkim_free(pst_dkim **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	pst_dkim *d = *dp;
	dkim_close(d->lib);
	free(d);
	*dp = NULL;
}

/* ---- classifying one signature ---- */

/* The algorithm, from a= itself: the library reports rsa-sha1 (its 0) for
 * a signature it could not parse. */
static const char *pst_dkim_alg_name(DKIM_SIGINFO *sig, dkim_alg_t *alg)
{
	static const struct { const char *name; dkim_alg_t alg; } known[] = {
		{ "rsa-sha1", DKIM_SIGN_RSASHA1 },
		{ "rsa-sha256", DKIM_SIGN_RSASHA256 },
		{ "ed25519-sha256", DKIM_SIGN_ED25519SHA256 },
	};
	*alg = DKIM_SIGN_UNKNOWN;
	const char *a = (const char *)dkim_sig_gettagvalue(sig, 0, (u_char *)"a");
	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strcasecmp(a, known[i].name) == 0) {
			*alg = known[i].alg;
			return known[i].name;
		}
	}
	return a;
}

static int pst_dkim_is_permerror(int e)
{
	switch (e) {
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_UNKNOWN:
	case DKIM_SIGERROR_KEYFAIL:
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_KEYTOOSMALL:
		return 0;
	default:
		return 1;
	}
}

static const char *pst_dkim_errtext(int e)
{
	switch (e) {
	case DKIM_SIGERROR_NOKEY:
		return "key not found";
	case DKIM_SIGERROR_EXPIRED:
		return "signature expired (x=)";
	case DKIM_SIGERROR_FUTURE:
		return "signature in the future (t=)";
	case DKIM_SIGERROR_MULTIREPLY:
		return "several key records";
	default: {
		const char *s = dkim_sig_geterrorstr(e);
		return s != NULL ? s : "signature not usable";
	}
	}
}

/* Refused whatever the signature says (RFC 8301): rsa-sha1, or an RSA key
 * under 1024 bits. NULL when acceptable. */
static const char *pst_dkim_refusal(dkim_alg_t alg, unsigned key_bits)
{
	if (alg == DKIM_SIGN_RSASHA1)
		return "rsa-sha1 (RFC 8301)";
	if (alg == DKIM_SIGN_RSASHA256 && key_bits != 0 && key_bits < 1024)
		return "RSA key under 1024 bits (RFC 8301)";
	return NULL;
}

/* How the key query of a signature with d= domain, s= selector failed:
 * the reason, and *result temperror, or permerror for a key record too
 * large for a reply. */
static const char *pst_dkim_keyfail_text(const pst_dkim_vctx *v, const pst_dkim_sig *sig,
                                         pst_auth_result *result)
{
	char name[PST_MAX_DOMAIN_BYTES + 2];
	int n = snprintf(name, sizeof name, "%s._domainkey.%s", sig->selector, sig->domain);
	*result = PST_AR_TEMPERROR;
	for (size_t i = 0; n > 0 && (size_t)n < sizeof name && i < v->nfails; i++) {
		const char *f = v->fails[i].name;
		size_t fl = strlen(f);
		if (fl > 0 && f[fl - 1] == '.')
			fl--;
		if (fl != (size_t)n || strncasecmp(f, name, fl) != 0)
			continue;
		if (v->fails[i].status == PST_DNS_NOERROR) {
			*result = PST_AR_PERMERROR;
			return "key record too large for a DNS reply";
		}
		return v->fails[i].status == PST_DNS_TIMEOUT ? "key query timed out"
		                                              : "key query SERVFAIL";
	}
	return "key query failed (temporary DNS error)";
}

static void pst_dkim_set(pst_dkim_sig *out, pst_auth_result r, const char *reason)
{
	out->result = r;
	out->reason = reason;
}

/* A signature the library could not check: 1 when e says so (and out is
 * filled), 0 when the signature was checked. */
static int pst_dkim_classify_error(const pst_dkim_vctx *v, DKIM_SIGINFO *sig, int e,
                                   pst_dkim_sig *out)
{
	if (e == DKIM_SIGERROR_KEYFAIL) {
		pst_auth_result r;
		const char *why = pst_dkim_keyfail_text(v, out, &r);
		pst_dkim_set(out, r, why);
	} else if (e == DKIM_SIGERROR_FUTURE && pst_dkim_tag_number(sig, "t") < PST_DKIM_LIB_DRIFT)
		/* The library's own future check, fooled by its drift. */
		pst_dkim_set(out, PST_AR_PERMERROR,
		             "t= before 2001-09-09: not verified (libopendkim limitation)");
	else if (pst_dkim_is_permerror(e))
		pst_dkim_set(out, PST_AR_PERMERROR, pst_dkim_errtext(e));
	else if (e == DKIM_SIGERROR_KEYTOOSMALL)
		pst_dkim_set(out, PST_AR_POLICY, "RSA key under 1024 bits (RFC 8301)");
	else
		return 0;
	return 1;
}

/* Fill result and reason of one signature. */
static void pst_dkim_classify(const pst_dkim_vctx *v, DKIM_SIGINFO *sig, dkim_alg_t alg,
                              pst_dkim_sig *out)
{
	int e = dkim_sig_geterror(sig);
	if (pst_dkim_classify_error(v, sig, e, out))
		return;
	unsigned flags = dkim_sig_getflags(sig);
	int bh = dkim_sig_getbh(sig);
	int checked = (flags & DKIM_SIGFLAG_PROCESSED) != 0;
	const char *refused = pst_dkim_refusal(alg, out->key_bits);
	if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH)
		pst_dkim_set(out, refused != NULL ? PST_AR_POLICY : PST_AR_PASS,
		             refused != NULL ? refused : "");
	else if (bh == DKIM_SIGBH_MISMATCH)
		pst_dkim_set(out, PST_AR_FAIL, "body hash mismatch");
	else if (e == DKIM_SIGERROR_BADSIG || (checked && bh == DKIM_SIGBH_MATCH))
		pst_dkim_set(out, PST_AR_FAIL, "signature did not verify");
	else
		pst_dkim_set(out, PST_AR_NEUTRAL,
		             e != DKIM_SIGERROR_OK ? pst_dkim_errtext(e) : "signature not verified");
}

/* The first 8 characters of b=, white space removed. */
static const char *pst_dkim_b_prefix(DKIM_SIGINFO *sig, pst_arena *arena)
{
	char pre[9];
	size_t n = 0;
	const unsigned char *b = dkim_sig_gettagvalue(sig, 0, (u_char *)"b");
	for (; b != NULL && *b != '\0' && n < 8; b++)
		if (*b != ' ' && *b != '\t' && *b != '\r' && *b != '\n')
			pre[n++] = (char)*b;
	return pst_arena_strndup(arena, pre, n);
}

static const char *pst_dkim_domain(DKIM_SIGINFO *sig, pst_arena *arena)
{
	const char *raw = (const char *)dkim_sig_getdomain(sig);
	if (raw == NULL)
		return pst_arena_strdup(arena, "");
	char *norm = pst_domain_normalize(raw, strlen(raw), NULL);
	const char *s = pst_arena_strdup(arena, norm != NULL ? norm : raw);
	free(norm);
	return s;
}

/* One entry of the result; -1 on ENOMEM. */
static int pst_dkim_describe(const pst_dkim_vctx *v, DKIM_SIGINFO *sig, pst_arena *arena,
                             pst_dkim_sig *out)
{
	memset(out, 0, sizeof *out);
	out->body_limit = out->body_canon_len = out->lib_body_hashed = -1;
	dkim_alg_t alg;
	const char *an = pst_dkim_alg_name(sig, &alg);
	if (an == NULL)
		an = "";
	const unsigned char *sel = dkim_sig_getselector(sig);
	out->domain = pst_dkim_domain(sig, arena);
	out->selector = pst_arena_strdup(arena, sel != NULL ? (const char *)sel : "");
	out->algorithm = pst_arena_strdup(arena, an);
	out->b_prefix = pst_dkim_b_prefix(sig, arena);
	if (out->domain == NULL || out->selector == NULL || out->algorithm == NULL ||
	    out->b_prefix == NULL)
		return -1;
	unsigned int bits = 0;
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		out->key_bits = bits;
	out->lib_pass = DKIM_SIG_CHECK(sig);
	pst_dkim_classify(v, sig, alg, out);
	/* The library says 0 bits for Ed25519 keys: they are 256. */
	if (alg == DKIM_SIGN_ED25519SHA256 && out->key_bits == 0 &&
	    (out->result == PST_AR_PASS || out->result == PST_AR_FAIL))
		out->key_bits = 256;
	return 0;
}

/* ---- a guard against a libopendkim heap overflow ---- */

/* libopendkim 2.11 (Debian 12) writes past a heap block inside dkim_eoh
 * when a signature's h= names DKIM-Signature as often as, or more often
 * than, the message has DKIM-Signature fields: a signature never covers
 * itself, so the library has one field fewer to pick from than it
 * allocates for (found by fuzz_eval: valgrind shows an 8-byte write after
 * a 32-byte block, then bad frees in dkim_free; tests/fuzz/RESULTS.md). A
 * field like that is never given to the library: it is reported here as
 * permerror. Signatures that cover other DKIM-Signature fields are rare
 * (RFC 6376 5.4 allows it); one that names more of them than the message
 * has other signature fields could not verify anyway unless oversigned. */

/* The value of tag name in a tag=value list (RFC 6376 3.2), trimmed of
 * white space; NULL when absent. */
static const char *pst_dkim_tag(const char *v, size_t n, const char *name, size_t *len)
{
	size_t nl = strlen(name), i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && v[end] != ';')
			end++;
		size_t a = i, b = end;
		while (a < b && strchr(" \t\r\n", v[a]))
			a++;
		const char *eq = memchr(v + a, '=', b - a);
		if (eq != NULL) {
			size_t k = (size_t)(eq - v);
			while (k > a && strchr(" \t\r\n", v[k - 1]))
				k--;
			if (k - a == nl && strncasecmp(v + a, name, nl) == 0) {
				size_t c = (size_t)(eq - v) + 1;
				while (c < b && strchr(" \t\r\n", v[c]))
					c++;
				while (b > c && strchr(" \t\r\n", v[b - 1]))
					b--;
				*len = b - c;
				return v + c;
			}
		}
		i = end + 1;
	}
	return NULL;
}

/* How often the h= lists of a signature field value name DKIM-Signature,
 * summed over every h= tag (a duplicated tag counts twice: the library's
 * reading of it is not ours to guess). */
static size_t pst_dkim_h_self(const char *v, size_t n)
{
	static const char self[] = "dkim-signature";
	size_t count = 0;
	for (size_t off = 0; off < n;) {
		size_t len;
		const char *h = pst_dkim_tag(v + off, n - off, "h", &len);
		if (h == NULL)
			break;
		for (size_t i = 0; i <= len;) {
			size_t end = i;
			while (end < len && h[end] != ':')
				end++;
			size_t a = i, b = end;
			while (a < b && strchr(" \t\r\n", h[a]))
				a++;
			while (b > a && strchr(" \t\r\n", h[b - 1]))
				b--;
			if (b - a == sizeof self - 1 && strncasecmp(h + a, self, b - a) == 0)
				count++;
			i = end + 1;
		}
		off = (size_t)(h - v) + len;   /* look for a later h= tag */
	}
	return count;
}

static int pst_dkim_is_sigfield(const pst_msg_field *f)
{
	return pst_msg_name_eq(f->name, f->name_len, "DKIM-Signature", 14);
}

/* Mark in refused[] (one flag per field) the signature fields kept from
 * the library: each field still fed may name DKIM-Signature in h= at most
 * as often as there are other signature fields fed, so refusing one can make
 * another unsafe: repeat until nothing changes. *nrefused says how many;
 * -1 on ENOMEM. */
static int pst_dkim_mark_refused(const pst_msg *msg, size_t skip_before, unsigned char *refused,
                                 size_t *nrefused)
{
	size_t nf = pst_msg_field_count(msg), fed = 0, nref = 0;
	for (size_t i = skip_before; i < nf; i++)
		fed += (size_t)pst_dkim_is_sigfield(pst_msg_field_at(msg, i));
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = skip_before; i < nf; i++) {
			const pst_msg_field *f = pst_msg_field_at(msg, i);
			if (refused[i] || !pst_dkim_is_sigfield(f))
				continue;
			size_t vlen;
			const char *v = pst_msg_value(msg, f, &vlen);
			if (v == NULL)
				return -1;
			if (pst_dkim_h_self(v, vlen) < fed)
				continue;
			refused[i] = 1;
			fed--;
			nref++;
			changed = 1;
		}
	}
	*nrefused = nref;
	return 0;
}

/* A tag's value copied into the arena, or NULL. */
static const char *pst_dkim_tag_copy(pst_arena *arena, const pst_msg *msg,
                                     const pst_msg_field *f, const char *tag)
{
	size_t len, vlen;
	const char *fv = pst_msg_value(msg, f, &vlen);
	const char *v = fv ? pst_dkim_tag(fv, vlen, tag, &len) : NULL;
	return v ? pst_arena_strndup(arena, v, len) : NULL;
}

/* Report the refused signature fields as permerror, after the others. */
static int pst_dkim_add_refused(const pst_msg *msg, size_t skip_before,
                                const unsigned char *refused, size_t nref, pst_arena *arena,
                                pst_dkim_result *out)
{
	size_t nf = pst_msg_field_count(msg);
	if (nref == 0)
		return 0;
	pst_dkim_sig *sigs = pst_arena_calloc(arena, out->nsigs + nref, sizeof *sigs);
	if (sigs == NULL)
		return -1;
	if (out->nsigs)
		memcpy(sigs, out->sigs, out->nsigs * sizeof *sigs);
	for (size_t i = skip_before; i < nf; i++) {
		const pst_msg_field *f = pst_msg_field_at(msg, i);
		if (!refused[i])
			continue;
		pst_dkim_sig *s = &sigs[out->nsigs++];
		const char *d = pst_dkim_tag_copy(arena, msg, f, "d");
		char *nd = d ? pst_domain_normalize(d, strlen(d), NULL) : NULL;
		s->domain = nd ? pst_arena_strdup(arena, nd) : d;
		free(nd);
		s->selector = pst_dkim_tag_copy(arena, msg, f, "s");
		s->algorithm = pst_dkim_tag_copy(arena, msg, f, "a");
		s->result = PST_AR_PERMERROR;
		s->reason = "h= names DKIM-Signature more often than the message has other signatures";
		s->body_limit = s->body_canon_len = s->lib_body_hashed = -1;
	}
	out->sigs = sigs;
	return 0;
}

/* ---- feeding the message ---- */

static int pst_dkim_has_signature(const pst_msg *msg, size_t skip_before)
{
	static const char name[] = "DKIM-Signature";
	uint32_t h = pst_msg_name_hash(name, sizeof name - 1);
	return pst_msg_find_next(msg, name, sizeof name - 1, h, skip_before) >= 0;
}

/* A field's raw bytes without its final line ending. */
static size_t pst_dkim_field_len(const pst_msg_field *f)
{
	size_t n = f->raw_len;
	if (n > 0 && f->raw[n - 1] == '\n')
		n--;
	if (n > 0 && f->raw[n - 1] == '\r')
		n--;
	return n;
}

static int pst_dkim_lib_failed(DKIM_STAT st)
{
	return st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL;
}

/* A scratch buffer for CRLF copies of bare-LF input. */
typedef struct pst_dkim_scratch {
	u_char *p;
	size_t size;
} pst_dkim_scratch;

static int pst_dkim_has_bare_lf(const char *p, size_t n)
{
	const char *q = p, *end = p + n;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (q == p || q[-1] != '\r')
			return 1;
		q++;
	}
	return 0;
}

/* p of n bytes with CR added before every bare LF; NULL on ENOMEM. */
static u_char *pst_dkim_crlf(pst_dkim_scratch *sc, const char *p, size_t n, size_t *outlen)
{
	if (n > (SIZE_MAX - 1) / 2)
		return NULL;
	if (sc->size < 2 * n + 1) {
		u_char *np = realloc(sc->p, 2 * n + 1);
		if (np == NULL)
			return NULL;
		sc->p = np;
		sc->size = 2 * n + 1;
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			sc->p[j++] = '\r';
		sc->p[j++] = (u_char)p[i];
	}
	*outlen = j;
	return sc->p;
}

/* Bytes to give the library: p itself, or its CRLF copy. */
static u_char *pst_dkim_bytes(pst_dkim_scratch *sc, const char *p, size_t n, size_t *outlen)
{
	if (!pst_dkim_has_bare_lf(p, n)) {
		*outlen = n;
		return (u_char *)p;
	}
	return pst_dkim_crlf(sc, p, n, outlen);
}

static int pst_dkim_step(DKIM_STAT st, const char *what, char *err, size_t errlen)
{
	if (!pst_dkim_lib_failed(st))
		return 0;
	snprintf(err, errlen, "libopendkim: %s: %s", what, dkim_getresultstr(st));
	return -1;
}

static int pst_dkim_feed_fields(DKIM *dk, pst_dkim_scratch *sc, const pst_msg *msg,
                                size_t skip_before, const unsigned char *refused, char *err,
                                size_t errlen)
{
	size_t nf = pst_msg_field_count(msg);
	for (size_t i = skip_before; i < nf; i++) {
		const pst_msg_field *f = pst_msg_field_at(msg, i);
		/* Not header fields: the mbox From_ line, and a malformed field
		 * (no "name:", or a leading white-space line; no h= can name it). */
		if ((f->flags & (PST_MSG_FIELD_MBOX_FROM | PST_MSG_FIELD_MALFORMED)) != 0 || refused[i])
			continue;
		size_t n;
		u_char *b = pst_dkim_bytes(sc, f->raw, pst_dkim_field_len(f), &n);
		if (b == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (pst_dkim_step(dkim_header(dk, b, n), "dkim_header", err, errlen) < 0)
			return -1;
	}
	return pst_dkim_step(dkim_eoh(dk), "dkim_eoh", err, errlen);
}

static int pst_dkim_feed(DKIM *dk, const pst_msg *msg, size_t skip_before,
                         const unsigned char *refused, char *err, size_t errlen)
{
	pst_dkim_scratch sc = { NULL, 0 };
	int rc = pst_dkim_feed_fields(dk, &sc, msg, skip_before, refused, err, errlen);
	size_t blen = pst_msg_body_len(msg);
	if (rc == 0 && blen > 0) {
		size_t n;
		u_char *b = pst_dkim_bytes(&sc, pst_msg_bytes(msg) + pst_msg_body_offset(msg), blen,
		                           &n);
		if (b == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		} else {
			rc = pst_dkim_step(dkim_body(dk, b, n), "dkim_body", err, errlen);
		}
		/* RFC 6376 3.4.3, 3.4.4: both canonicalizations end a body
		 * with CRLF; the library refuses one that lacks it. */
		char last = pst_msg_bytes(msg)[pst_msg_body_offset(msg) + blen - 1];
		if (rc == 0 && last != '\n' && last != '\r')
			rc = pst_dkim_step(dkim_body(dk, (u_char *)"\r\n", 2), "dkim_body", err, errlen);
	}
	if (rc == 0)
		rc = pst_dkim_step(dkim_eom(dk, NULL), "dkim_eom", err, errlen);
	free(sc.p);
	return rc;
}

/* ---- what a passing signature leaves uncovered (RFC 6376 8.2, 8.15) ---- */

static int pst_dkim_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* One line's content [p, p + n) in the canonicalization: as it is
 * (simple), or with runs of WSP reduced to one SP and trailing WSP gone
 * (relaxed). */
static size_t pst_dkim_line_canon_len(const char *p, size_t n, int relaxed)
{
	if (!relaxed)
		return n;
	size_t len = 0;
	int in_wsp = 0;
	for (size_t i = 0; i < n; i++) {
		if (pst_dkim_is_wsp(p[i])) {
			in_wsp = 1;
			continue;
		}
		len += (size_t)in_wsp + 1;   /* a pending SP, then the byte */
		in_wsp = 0;
	}
	return len;
}

long long pst_dkim_body_canon_len(const char *body, size_t n, int relaxed)
{
	long long total = 0, kept = 0;   /* kept: up to the last non-empty line */
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(body + i, '\n', n - i);
		size_t end = nl != NULL ? (size_t)(nl - body) : n;
		size_t cend = end;
		if (nl != NULL && cend > i && body[cend - 1] == '\r')
			cend--;
		size_t len = pst_dkim_line_canon_len(body + i, cend - i, relaxed);
		total += (long long)len + 2;     /* the line and its CRLF */
		if (len > 0)
			kept = total;
		i = nl != NULL ? end + 1 : n;
	}
	/* Trailing empty lines go; simple keeps one CRLF of an empty body. */
	return kept == 0 && !relaxed ? 2 : kept;
}

/* One distinct field name of the message, for reading h= lists. */
typedef struct pst_dkim_fname {
	const char *name;             /* NULL: a free slot */
	size_t len;
	uint32_t hash;
	size_t first;                 /* the index of its topmost field */
	size_t count;                 /* fields of this name */
	size_t named;                 /* times the h= being read names it */
} pst_dkim_fname;

/* The message's field names in an open-addressing table, built on the
 * first passing signature; the body's canonical lengths, likewise. */
typedef struct pst_dkim_cover {
	const pst_msg *msg;
	size_t skip_before;
	pst_dkim_fname *slots;        /* NULL until built */
	size_t mask;                  /* slots - 1, a power of two minus 1 */
	long long canon_len[2];       /* simple, relaxed; -1 until computed */
} pst_dkim_cover;

static pst_dkim_fname *pst_dkim_fname_slot(const pst_dkim_cover *c, const char *name, size_t len,
                                           uint32_t hash)
{
	size_t i = hash & c->mask;
	while (c->slots[i].name != NULL &&
	       !(c->slots[i].hash == hash &&
	         pst_msg_name_eq(c->slots[i].name, c->slots[i].len, name, len)))
		i = (i + 1) & c->mask;
	return &c->slots[i];
}

/* The table of the message's field names; -1 on ENOMEM. */
static int pst_dkim_cover_fields(pst_dkim_cover *c, pst_arena *arena)
{
	size_t nf = pst_msg_field_count(c->msg), size = 16;
	while (size < 2 * nf)
		size *= 2;
	c->slots = pst_arena_calloc(arena, size, sizeof *c->slots);
	if (c->slots == NULL)
		return -1;
	c->mask = size - 1;
	for (size_t i = c->skip_before; i < nf; i++) {
		const pst_msg_field *f = pst_msg_field_at(c->msg, i);
		if ((f->flags & PST_MSG_FIELD_MBOX_FROM) != 0 || f->name_len == 0)
			continue;
		uint32_t h = pst_msg_name_hash(f->name, f->name_len);
		pst_dkim_fname *s = pst_dkim_fname_slot(c, f->name, f->name_len, h);
		if (s->name == NULL)
			*s = (pst_dkim_fname){ f->name, f->name_len, h, i, 0, 0 };
		s->count++;
	}
	return 0;
}

/* Count, per field name of the message, how often h (a colon-separated
 * list) names it. */
static void pst_dkim_count_named(pst_dkim_cover *c, const char *h)
{
	for (size_t i = 0; i <= c->mask; i++)
		c->slots[i].named = 0;
	for (const char *p = h; *p != '\0';) {
		const char *end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		const char *a = p, *b = end;
		while (a < b && strchr(" \t\r\n", *a) != NULL)
			a++;
		while (b > a && strchr(" \t\r\n", b[-1]) != NULL)
			b--;
		if (b > a) {
			size_t n = (size_t)(b - a);
			pst_dkim_fname *s = pst_dkim_fname_slot(c, a, n, pst_msg_name_hash(a, n));
			if (s->name != NULL)
				s->named++;
		}
		p = *end == ':' ? end + 1 : end;
	}
}

/* Fields that relays and verifiers add above the signed ones by design
 * (RFC 5321 4.4 trace fields, RFC 7208 9.1, RFC 8601, RFC 6376, RFC
 * 8617): a signature that names one of them covers the instances that
 * were there when it was made, and later hops add more. No mail client
 * shows them as the author, subject or recipients. */
static int pst_dkim_is_transit(const char *name, size_t len)
{
	static const char *const transit[] = {
		"Received", "Return-Path", "Received-SPF", "Authentication-Results",
		"DKIM-Signature", "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results",
	};
	for (size_t i = 0; i < sizeof transit / sizeof transit[0]; i++)
		if (pst_msg_name_eq(name, len, transit[i], strlen(transit[i])))
			return 1;
	return 0;
}

/* The topmost field of a name that h names at least once, but fewer times
 * than the message has it; NULL when none. Transit fields are not
 * reported. */
static const pst_dkim_fname *pst_dkim_uncovered(pst_dkim_cover *c, const char *h)
{
	const pst_dkim_fname *top = NULL;
	pst_dkim_count_named(c, h);
	for (size_t i = 0; i <= c->mask; i++) {
		const pst_dkim_fname *s = &c->slots[i];
		if (s->name == NULL || s->named == 0 || s->named >= s->count ||
		    pst_dkim_is_transit(s->name, s->len))
			continue;
		if (top == NULL || s->first < top->first)
			top = s;
	}
	return top;
}

/* The body's length in canonicalization canon, computed once. */
static long long pst_dkim_cover_body(pst_dkim_cover *c, dkim_canon_t canon)
{
	int relaxed = canon == DKIM_CANON_RELAXED;
	if (c->canon_len[relaxed] < 0)
		c->canon_len[relaxed] = pst_dkim_body_canon_len(
			pst_msg_bytes(c->msg) + pst_msg_body_offset(c->msg), pst_msg_body_len(c->msg),
			relaxed);
	return c->canon_len[relaxed];
}

/* Fill the coverage of out, a passing signature; -1 on ENOMEM. */
static int pst_dkim_coverage(DKIM *dk, DKIM_SIGINFO *sig, pst_dkim_cover *c, pst_arena *arena,
                             pst_dkim_sig *out)
{
	dkim_canon_t hc, bc;
	ssize_t hashed = -1, limit = -1;
	if (dkim_sig_getcanons(sig, &hc, &bc) == DKIM_STAT_OK &&
	    (bc == DKIM_CANON_SIMPLE || bc == DKIM_CANON_RELAXED) &&
	    dkim_sig_getcanonlen(dk, sig, NULL, &hashed, &limit) == DKIM_STAT_OK) {
		out->body_limit = limit;
		out->lib_body_hashed = hashed;
		out->body_canon_len = pst_dkim_cover_body(c, bc);
		out->unsigned_body = limit >= 0 && out->body_canon_len > limit;
	}
	const char *h = (const char *)dkim_sig_gettagvalue(sig, 0, (u_char *)"h");
	if (h == NULL)
		return 0;
	if (c->slots == NULL && pst_dkim_cover_fields(c, arena) < 0)
		return -1;
	const pst_dkim_fname *top = pst_dkim_uncovered(c, h);
	if (top == NULL)
		return 0;
	out->unsigned_header = pst_arena_strndup(arena, top->name, top->len);
	out->unsigned_header_at = top->first;
	return out->unsigned_header != NULL ? 0 : -1;
}

static int pst_dkim_collect(const pst_dkim_vctx *v, DKIM *dk, const pst_msg *msg,
                            size_t skip_before, pst_arena *arena, pst_dkim_result *out,
                            char *err, size_t errlen)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	DKIM_STAT st = dkim_getsiglist(dk, &sigs, &nsigs);
	if (st != DKIM_STAT_OK || nsigs <= 0 || sigs == NULL)
		return 0;             /* no signature the library could read */
	out->sigs = pst_arena_calloc(arena, (size_t)nsigs, sizeof *out->sigs);
	if (out->sigs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pst_dkim_cover cover = { msg, skip_before, NULL, 0, { -1, -1 } };
	for (int i = 0; i < nsigs; i++) {
		if ((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) != 0)
			continue;
		pst_dkim_sig *s = &out->sigs[out->nsigs];
		if (pst_dkim_describe(v, sigs[i], arena, s) < 0 ||
		    (s->result == PST_AR_PASS && pst_dkim_coverage(dk, sigs[i], &cover, arena, s) < 0)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		out->nsigs++;
	}
	return 0;
}

int pst_dkim_verify(const pst_dkim *d, pst_dns_session *dns, const pst_msg *msg,
                    size_t skip_before, const pst_dkim_params *params, pst_arena *arena,
                    pst_dkim_result *out, char *err, size_t errlen)
{
	static const pst_dkim_params defaults = { 0, 0, PST_DEFAULT_DKIM_CLOCK_SKEW };
	const pst_dkim_params *p = params != NULL ? params : &defaults;
	memset(out, 0, sizeof *out);
	if (!pst_dkim_has_signature(msg, skip_before))
		return 0;             /* nothing to verify, nothing asked */
	pst_dkim_vctx v = {
		.dns = dns,
		.max_sigs = p->max_sigs ? p->max_sigs : PST_DEFAULT_MAX_DKIM_SIGS,
		.now = p->now != 0 ? (uint64_t)p->now : (uint64_t)time(NULL),
		.clock_skew = p->clock_skew,
	};
	DKIM_STAT st;
	DKIM *dk = dkim_verify(d->lib, (const u_char *)"postern", NULL, &st);
	int rc = -1;
	if (dk == NULL) {
		snprintf(err, errlen, "libopendkim: dkim_verify: %s", dkim_getresultstr(st));
		goto out;
	}
	if (dkim_set_user_context(dk, &v) != DKIM_STAT_OK) {
		snprintf(err, errlen, "libopendkim: cannot set the user context");
		goto out;
	}
	unsigned char *refused = pst_arena_calloc(arena, pst_msg_field_count(msg) + 1, 1);
	if (refused == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t nref = 0;
	if (pst_dkim_mark_refused(msg, skip_before, refused, &nref) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	pst_dkim_vctx *saved = pst_dkim_current;
	pst_dkim_current = &v;
	rc = pst_dkim_feed(dk, msg, skip_before, refused, err, errlen);
	pst_dkim_current = saved;
	if (rc == 0)
		rc = pst_dkim_collect(&v, dk, msg, skip_before, arena, out, err, errlen);
	if (rc == 0 && pst_dkim_add_refused(msg, skip_before, refused, nref, arena, out) < 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	out->ignored = v.ignored;
out:
	if (dk != NULL)
		(void)dkim_free(dk);
	return rc;
}

pst_auth_result pst_dkim_overall(const pst_dkim_result *r)
{
	int temp = 0, fail = 0, perm = 0;
	for (size_t i = 0; i < r->nsigs; i++) {
		switch (r->sigs[i].result) {
		case PST_AR_PASS:
			return PST_AR_PASS;
		case PST_AR_TEMPERROR:
			temp = 1;
			break;
		case PST_AR_FAIL:
		case PST_AR_POLICY:
			fail = 1;
			break;
		case PST_AR_PERMERROR:
			perm = 1;
			break;
		default:
			break;
		}
	}
	if (temp)
		return PST_AR_TEMPERROR;
	if (fail)
		return PST_AR_FAIL;
	if (perm)
		return PST_AR_PERMERROR;
	return PST_AR_NONE;
}
