/*
 * bench_dkim.c: the cost of verifying one RSA-2048 DKIM signature (a performance target):
 * our adapter (message parse, DNS fixture session, pst_dkim_verify) against
 * libopendkim's own verification of the same message (dkim_chunk over the
 * whole message, the key handed over by dkim_set_key_lookup from memory),
 * in the same run, and both against the crypto floor (one SHA-256 of the
 * message and one RSA-2048 verify through OpenSSL).
 *
 * The message (about 4 KB, then 40 KB) is signed here with the test key
 * tests/fixtures/dkim/rsa2048.pem (an RSA-2048 key of our own, made with
 * openssl by tests/fixtures/dkim/make.sh), by libopendkim's signing API.
 * libopendkim's lookup callback hands it the key record, read once from
 * the fixture, from memory: no DNS layer, no file read per message. The
 * floor is also given with the public key decoded from its DER for every
 * message (d2i_PUBKEY), as a verifier without a key cache must do.
 * Rounds alternate the measurements; the best round of each counts (7 of
 * 300 messages, POSTERN_BENCH_QUICK=1: 3 of 100). Prints, as "NAME VALUE
 * UNIT", microseconds per message and the ratios (dkim-4k-vs-libopendkim,
 * target <= 1.15 x; dkim-4k-vs-floor); the exit status is 0 whatever the
 * ratios are (figures, not pass/fail).
 * Not part of make check: make bench.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/dkim.h"
#include "dns/resolver.h"
#include "msg/msg.h"

static int ROUNDS = 7;
static int PER_ROUND = 300;

static void die(const char *what)
{
	fprintf(stderr, "bench_dkim: %s\n", what);
	exit(1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die(path);
	char *b = malloc(1 << 20);
	if (b == NULL)
		die("out of memory");
	size_t n = fread(b, 1, (1 << 20) - 1, f);
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- the message ---- */

static char *make_message(size_t body_bytes, size_t *len)
{
	static const char head[] =
		"From: Alice <alice@example.com>\r\n"
		"To: Bob <bob@example.net>\r\n"
		"Subject: DKIM benchmark\r\n"
		"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
		"Message-ID: <bench@example.com>\r\n"
		"\r\n";
	static const char line[] =
		"The quick brown fox jumps over the lazy dog, again and again.\r\n";
	char *m = malloc(sizeof head + body_bytes + sizeof line);
	if (m == NULL)
		die("out of memory");
	size_t n = sizeof head - 1;
	memcpy(m, head, n);
	while (n < sizeof head - 1 + body_bytes) {
		memcpy(m + n, line, sizeof line - 1);
		n += sizeof line - 1;
	}
	*len = n;
	return m;
}

static char *sign(DKIM_LIB *lib, const char *key, const char *msg, size_t len, size_t *outlen)
{
	DKIM_STAT st;
	DKIM *dk = dkim_sign(lib, (const u_char *)"bench", NULL, (dkim_sigkey_t)key,
	                     (const u_char *)"rsa2048", (const u_char *)"example.com",
	                     DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
	if (dk == NULL)
		die("dkim_sign");
	if (dkim_chunk(dk, (u_char *)msg, len) != DKIM_STAT_OK ||
	    dkim_chunk(dk, NULL, 0) != DKIM_STAT_OK || dkim_eom(dk, NULL) != DKIM_STAT_OK)
		die("signing failed");
	u_char *hdr;
	size_t hlen;
	static const char prefix[] = "DKIM-Signature: ";
	if (dkim_getsighdr_d(dk, sizeof prefix - 1, &hdr, &hlen) != DKIM_STAT_OK)
		die("dkim_getsighdr_d");
	char *out = malloc(sizeof prefix + 2 * hlen + 2 + len);
	if (out == NULL)
		die("out of memory");
	size_t n = sizeof prefix - 1;
	memcpy(out, prefix, n);
	for (size_t i = 0; i < hlen; i++) {
		if (hdr[i] == '\n' && (i == 0 || hdr[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = (char)hdr[i];
	}
	memcpy(out + n, "\r\n", 2);
	n += 2;
	memcpy(out + n, msg, len);
	*outlen = n + len;
	dkim_free(dk);
	return out;
}

/* ---- libopendkim alone ---- */

static const char *raw_key;          /* the key record, for the lookup */

static DKIM_CBSTAT raw_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	(void)dkim;
	(void)sig;
	size_t n = strlen(raw_key);
	if (n + 1 > buflen)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, raw_key, n + 1);
	return DKIM_CBSTAT_CONTINUE;
}

static void raw_verify(DKIM_LIB *lib, const char *m, size_t len)
{
	DKIM_STAT st;
	DKIM *dk = dkim_verify(lib, (const u_char *)"bench", NULL, &st);
	if (dk == NULL)
		die("dkim_verify");
	if (dkim_chunk(dk, (u_char *)m, len) != DKIM_STAT_OK || dkim_chunk(dk, NULL, 0) != DKIM_STAT_OK)
		die("dkim_chunk");
	if (dkim_eom(dk, NULL) != DKIM_STAT_OK)
		die("libopendkim did not verify the message");
	dkim_free(dk);
}

/* ---- ours ---- */

static void our_verify(const pst_dkim *d, const pst_resolver *res, const char *m, size_t len)
{
	pst_arena *a = pst_arena_new();
	pst_msg *msg = NULL;
	if (a == NULL || pst_msg_parse(m, len, NULL, &msg, NULL) != 0)
		die("parse");
	pst_dns_session dns;
	pst_dns_session_init(&dns, res, a, 0, 0);
	pst_dkim_result r;
	char err[200];
	if (pst_dkim_verify(d, &dns, msg, 0, NULL, a, &r, err, sizeof err) != 0 || r.nsigs != 1 ||
	    r.sigs[0].result != PST_AR_PASS)
		die("ours did not verify the message");
	pst_msg_free(&msg);
	pst_arena_free(&a);
}

/* ---- the crypto floor ---- */

struct floor_ctx;
static void floor_once(struct floor_ctx *f, const char *m, size_t len);

typedef struct floor_ctx {
	EVP_PKEY *pub;
	unsigned char sig[256];
	size_t siglen;
	unsigned char digest[32];
	unsigned char *der;     /* the public key as a key record's p= holds it */
	int derlen;
} floor_ctx;

static void floor_setup(floor_ctx *f, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *priv = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (priv == NULL)
		die("key");
	memset(f->digest, 7, sizeof f->digest);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
	f->siglen = sizeof f->sig;
	if (c == NULL || EVP_PKEY_sign_init(c) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) <= 0 ||
	    EVP_PKEY_sign(c, f->sig, &f->siglen, f->digest, sizeof f->digest) <= 0)
		die("floor sign");
	EVP_PKEY_CTX_free(c);
	f->pub = priv;          /* verifying with the key pair is the same work */
	f->der = NULL;
	if ((f->derlen = i2d_PUBKEY(priv, &f->der)) <= 0)
		die("i2d_PUBKEY");
}

/* The floor when the key is decoded for every message, as a verifier
 * without a key cache must (libopendkim does, from the record's p=). */
static void floor_keydecode_once(floor_ctx *f, const char *m, size_t len)
{
	const unsigned char *p = f->der;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, f->derlen);
	if (pub == NULL)
		die("d2i_PUBKEY");
	EVP_PKEY *save = f->pub;
	f->pub = pub;
	floor_once(f, m, len);
	f->pub = save;
	EVP_PKEY_free(pub);
}

static void floor_once(struct floor_ctx *f, const char *m, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (EVP_Digest(m, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		die("sha256");
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(f->pub, NULL);
	if (c == NULL || EVP_PKEY_verify_init(c) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) <= 0 ||
	    EVP_PKEY_verify(c, f->sig, f->siglen, f->digest, sizeof f->digest) != 1)
		die("floor verify");
	EVP_PKEY_CTX_free(c);
}

/* ---- the runs ---- */

static size_t hdr_len(const char *m, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(m + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return len;
}

static int run(size_t body, const char *key, const pst_dkim *d, const pst_resolver *res,
               DKIM_LIB *raw, floor_ctx *fl)
{
	size_t plen, len;
	char *plain = make_message(body, &plen);
	char *m = sign(raw, key, plain, plen, &len);
	double best_raw = 1e18, best_ours = 1e18, best_floor = 1e18, best_floor_kd = 1e18;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_us();
		for (int i = 0; i < PER_ROUND; i++)
			raw_verify(raw, m, len);
		double t1 = now_us();
		for (int i = 0; i < PER_ROUND; i++)
			our_verify(d, res, m, len);
		double t2 = now_us();
		for (int i = 0; i < PER_ROUND; i++)
			floor_once(fl, m, len);
		double t3 = now_us();
		for (int i = 0; i < PER_ROUND; i++)
			floor_keydecode_once(fl, m, len);
		double t4 = now_us();
		if ((t4 - t3) / PER_ROUND < best_floor_kd)
			best_floor_kd = (t4 - t3) / PER_ROUND;
		if ((t1 - t0) / PER_ROUND < best_raw)
			best_raw = (t1 - t0) / PER_ROUND;
		if ((t2 - t1) / PER_ROUND < best_ours)
			best_ours = (t2 - t1) / PER_ROUND;
		if ((t3 - t2) / PER_ROUND < best_floor)
			best_floor = (t3 - t2) / PER_ROUND;
	}
	double ratio = best_ours / best_raw;
	const char *k = body < 10000 ? "4k" : "40k";
	printf("# dkim rsa-2048, %zu-byte message (%zu-byte body): best of %d rounds of %d\n", len,
	       len - hdr_len(m, len), ROUNDS, PER_ROUND);
	printf("dkim-%s-ours %.1f us\n", k, best_ours);
	printf("dkim-%s-libopendkim %.1f us\n", k, best_raw);
	printf("dkim-%s-floor %.1f us\n", k, best_floor);
	printf("dkim-%s-floor-keydecode %.1f us\n", k, best_floor_kd);
	printf("dkim-%s-vs-libopendkim %.2f x\n", k, ratio);
	printf("dkim-%s-vs-floor %.2f x\n", k, best_ours / best_floor);
	printf("dkim-%s-vs-floor-keydecode %.2f x\n", k, best_ours / best_floor_kd);
	printf("# dkim-%s-vs-libopendkim target <= 1.15 x: %s\n", k, ratio <= 1.15 ? "met" : "missed");
	free(m);
	free(plain);
	return 0;
}

/* --once: n verifications of one kind, untimed, for callgrind
 * (bench_dkim_callgrind.sh counts inside run_counted() only). */
__attribute__((noinline)) static void run_counted(const char *who, int n, const pst_dkim *d,
                                                  const pst_resolver *res, DKIM_LIB *raw,
                                                  floor_ctx *fl, const char *m, size_t len)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(who, "ours") == 0)
			our_verify(d, res, m, len);
		else if (strcmp(who, "libopendkim") == 0)
			raw_verify(raw, m, len);
		else
			floor_once(fl, m, len);
	}
}

static void once(const char *who, const char *size, int n, const char *key, const pst_dkim *d,
                 const pst_resolver *res, DKIM_LIB *raw, floor_ctx *fl)
{
	size_t plen, len;
	char *plain = make_message(strcmp(size, "40k") == 0 ? 40000 : 4000, &plen);
	char *m = sign(raw, key, plain, plen, &len);
	our_verify(d, res, m, len);     /* warm-up (first-use setup), not counted */
	raw_verify(raw, m, len);
	floor_once(fl, m, len);
	run_counted(who, n, d, res, raw, fl, m, len);
	free(m);
	free(plain);
}

int main(int argc, char **argv)
{
	const char *q = getenv("POSTERN_BENCH_QUICK");
	if (q && *q && strcmp(q, "0") != 0) {
		ROUNDS = 3;
		PER_ROUND = 100;
	}
	size_t klen;
	char *key = slurp(DKIM_FIXTURE_DIR "/rsa2048.pem", &klen);
	pst_dnsfix *fix = NULL;
	pst_resolver *res = NULL;
	if (pst_dnsfix_load_file(DKIM_FIXTURE_DIR "/keys.zone", &fix, NULL) != 0 ||
	    pst_resolver_new_fixture(fix, &res) != 0)
		die("keys.zone");
	/* The key record as the fixture holds it, for the raw lookup. */
	pst_dns_answer ans;
	if (pst_dnsfix_query(fix, "rsa2048._domainkey.example.com", ns_t_txt, &ans) !=
	    PST_DNS_NOERROR || ans.count != 1)
		die("key record");
	raw_key = ans.rrs[0].text;

	char err[200];
	pst_dkim *d = NULL;
	if (pst_dkim_new(&d, err, sizeof err) != 0)
		die(err);
	DKIM_LIB *raw = dkim_init(NULL, NULL);
	if (raw == NULL || dkim_set_key_lookup(raw, raw_lookup) != DKIM_STAT_OK)
		die("dkim_init");
	floor_ctx fl;
	floor_setup(&fl, key);

	int rc = 0;
	if (argc == 5 && strcmp(argv[1], "--once") == 0) {
		once(argv[2], argv[3], atoi(argv[4]), key, d, res, raw, &fl);
	} else {
		rc = run(4000, key, d, res, raw, &fl);
		rc |= run(40000, key, d, res, raw, &fl);
	}

	EVP_PKEY_free(fl.pub);
	OPENSSL_free(fl.der);
	dkim_close(raw);
	pst_dkim_free(&d);
	pst_resolver_free(&res);
	pst_dnsfix_free(&fix);
	free(key);
	return rc;
}
