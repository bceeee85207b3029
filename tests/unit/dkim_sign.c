/*
 * dkim_sign.c: the small signer that made the signed messages under
 * tests/fixtures/dkim (see its README and make.sh). Not a test itself.
 *
 * Usage: dkim_sign -k KEYFILE -d DOMAIN -s SELECTOR [-a ALG] [-t TIME]
 *                  [-x TTL] < message > signed
 *   ALG: rsa-sha256 (default), rsa-sha1, ed25519-sha256.
 *   TIME: the signing time (t=), fixed so that the output is reproducible.
 *   TTL: add x= TIME + TTL.
 * Canonicalization is relaxed/relaxed. The message (CRLF line endings) is
 * read whole from stdin; the output is the new DKIM-Signature field
 * followed by the message unchanged. Exit status 0, or 1 with a message on
 * stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dkim.h>

#define PST_SIGN_MAX_INPUT (1024 * 1024)

static int pst_sign_read(FILE *f, unsigned char **out, size_t *len)
{
	unsigned char *buf = malloc(PST_SIGN_MAX_INPUT + 1);
	if (buf == NULL)
		return -1;
	size_t n = fread(buf, 1, PST_SIGN_MAX_INPUT + 1, f);
	if (ferror(f) || n > PST_SIGN_MAX_INPUT) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int pst_sign_readfile(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	int rc = pst_sign_read(f, out, len);
	fclose(f);
	return rc;
}

static dkim_alg_t pst_sign_alg(const char *s)
{
	if (strcmp(s, "rsa-sha256") == 0)
		return DKIM_SIGN_RSASHA256;
	if (strcmp(s, "rsa-sha1") == 0)
		return DKIM_SIGN_RSASHA1;
	if (strcmp(s, "ed25519-sha256") == 0)
		return DKIM_SIGN_ED25519SHA256;
	return DKIM_SIGN_UNKNOWN;
}

static int pst_sign_fail(const char *what, DKIM_STAT st)
{
	fprintf(stderr, "dkim_sign: %s: %s\n", what, dkim_getresultstr(st));
	return 1;
}

/* Sign msg of len bytes and print the result. */
static int pst_sign_run(DKIM_LIB *lib, unsigned char *key, const char *domain,
                        const char *selector, dkim_alg_t alg, unsigned char *msg, size_t len)
{
	DKIM_STAT st;
	DKIM *dk = dkim_sign(lib, (const unsigned char *)"fixture", NULL, key,
	                     (const unsigned char *)selector, (const unsigned char *)domain,
	                     DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, alg, -1, &st);
	if (dk == NULL)
		return pst_sign_fail("dkim_sign", st);
	int rc = 1;
	st = dkim_chunk(dk, msg, len);
	if (st != DKIM_STAT_OK) {
		pst_sign_fail("dkim_chunk", st);
		goto out;
	}
	st = dkim_chunk(dk, NULL, 0);
	if (st != DKIM_STAT_OK) {
		pst_sign_fail("dkim_chunk (end)", st);
		goto out;
	}
	st = dkim_eom(dk, NULL);
	if (st != DKIM_STAT_OK) {
		pst_sign_fail("dkim_eom", st);
		fprintf(stderr, "dkim_sign: %s\n", dkim_geterror(dk) ? dkim_geterror(dk) : "");
		goto out;
	}
	static const char prefix[] = "DKIM-Signature: ";
	unsigned char *hdr = NULL;
	size_t hlen = 0;
	st = dkim_getsighdr_d(dk, sizeof prefix - 1, &hdr, &hlen);
	if (st != DKIM_STAT_OK) {
		pst_sign_fail("dkim_getsighdr_d", st);
		goto out;
	}
	/* The library folds with bare LF: write CRLF like the message. */
	fputs(prefix, stdout);
	for (size_t i = 0; i < hlen; i++) {
		if (hdr[i] == '\n' && (i == 0 || hdr[i - 1] != '\r'))
			fputc('\r', stdout);
		fputc(hdr[i], stdout);
	}
	fputs("\r\n", stdout);
	fwrite(msg, 1, len, stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	dkim_free(dk);
	return rc;
}

int main(int argc, char **argv)
{
	const char *keyfile = NULL, *domain = NULL, *selector = NULL, *alg = "rsa-sha256";
	uint64_t when = 0, ttl = 0;
	int c;
	while ((c = getopt(argc, argv, "k:d:s:a:t:x:")) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'd': domain = optarg; break;
		case 's': selector = optarg; break;
		case 'a': alg = optarg; break;
		case 't': when = strtoull(optarg, NULL, 10); break;
		case 'x': ttl = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	dkim_alg_t a = pst_sign_alg(alg);
	if (keyfile == NULL || domain == NULL || selector == NULL || a == DKIM_SIGN_UNKNOWN) {
		fprintf(stderr, "usage: dkim_sign -k KEY -d DOMAIN -s SELECTOR [-a ALG] [-t TIME] [-x TTL]\n");
		return 2;
	}
	unsigned char *key = NULL, *msg = NULL;
	size_t klen = 0, mlen = 0;
	if (pst_sign_readfile(keyfile, &key, &klen) < 0 || pst_sign_read(stdin, &msg, &mlen) < 0) {
		fprintf(stderr, "dkim_sign: cannot read the key or the message\n");
		return 1;
	}
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	if (lib == NULL) {
		fprintf(stderr, "dkim_sign: dkim_init failed\n");
		return 1;
	}
	int rc = 1;
	/* The 512-bit key signs the policy fixture: allow it. */
	unsigned int minbits = 512;
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits, sizeof minbits) !=
	    DKIM_STAT_OK) {
		fprintf(stderr, "dkim_sign: cannot set the minimum key size\n");
		goto out;
	}
	if (when != 0 &&
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &when, sizeof when) != DKIM_STAT_OK) {
		fprintf(stderr, "dkim_sign: cannot fix the time\n");
		goto out;
	}
	if (ttl != 0 &&
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &ttl, sizeof ttl) != DKIM_STAT_OK) {
		fprintf(stderr, "dkim_sign: cannot set the signature TTL\n");
		goto out;
	}
	rc = pst_sign_run(lib, key, domain, selector, a, msg, mlen);
out:
	dkim_close(lib);
	free(key);
	free(msg);
	return rc;
}
