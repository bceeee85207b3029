/*
 * dkim_sign.c: the small signer that made the signed messages under
 * tests/fixtures/dkim (see its README and make.sh). Not a test itself.
 *
 * Usage: dkim_sign -k KEYFILE -d DOMAIN -s SELECTOR [-a ALG] [-t TIME]
 *                  [-x TTL] [-c CANON] [-l LENGTH] [-h NAMES] [-o NAMES]
 *                  < message > signed
 *   ALG: rsa-sha256 (default), rsa-sha1, ed25519-sha256.
 *   TIME: the signing time (t=), fixed so that the output is reproducible.
 *   TTL: add x= TIME + TTL.
 *   CANON: header/body canonicalization, "relaxed/relaxed" (the default),
 *          "simple/simple", "relaxed/simple" or "simple/relaxed".
 *   LENGTH: sign only the first LENGTH bytes of the canonicalized body and
 *           say so in l= (RFC 6376 3.5).
 *   NAMES: colon-separated field names. -h: sign only the fields of these
 *          names that the message has (the library's DKIM_OPTS_SIGNHDRS;
 *          without -h it signs every field); -o: name each of these once
 *          more in h= than the message has it (DKIM_OPTS_OVERSIGNHDRS).
 * The message (CRLF line endings) is read whole from stdin; the output is
 * the new DKIM-Signature field followed by the message unchanged. Exit
 * status 0, or 1 with a message on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dkim.h>

#define PST_SIGN_MAX_INPUT (1024 * 1024)
#define PST_SIGN_MAX_NAMES 32

/* What to sign and how, from the command line. */
typedef struct pst_sign_opts {
	const char *domain, *selector;
	dkim_alg_t alg;
	dkim_canon_t hcanon, bcanon;
	ssize_t length;               /* -1: the whole body, no l= */
} pst_sign_opts;

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

/* "relaxed/simple" and the like into o; -1 when not one of the four. */
static int pst_sign_canon(const char *s, pst_sign_opts *o)
{
	static const struct { const char *name; dkim_canon_t c; } known[] = {
		{ "simple", DKIM_CANON_SIMPLE }, { "relaxed", DKIM_CANON_RELAXED },
	};
	const char *slash = strchr(s, '/');
	int got = 0;
	if (slash == NULL)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(known[i].name);
		if ((size_t)(slash - s) == n && strncmp(s, known[i].name, n) == 0) {
			o->hcanon = known[i].c;
			got |= 1;
		}
		if (strcmp(slash + 1, known[i].name) == 0) {
			o->bcanon = known[i].c;
			got |= 2;
		}
	}
	return got == 3 ? 0 : -1;
}

/* Split a colon-separated list in place into names (NULL-terminated);
 * -1 when it has more than PST_SIGN_MAX_NAMES names. */
static int pst_sign_names(char *list, const char **names)
{
	size_t n = 0;
	for (char *p = strtok(list, ":"); p != NULL; p = strtok(NULL, ":")) {
		if (n == PST_SIGN_MAX_NAMES)
			return -1;
		names[n++] = p;
	}
	names[n] = NULL;
	return 0;
}

/* Sign msg of len bytes and print the result. */
static int pst_sign_run(DKIM_LIB *lib, unsigned char *key, const pst_sign_opts *o,
                        unsigned char *msg, size_t len)
{
	DKIM_STAT st;
	DKIM *dk = dkim_sign(lib, (const unsigned char *)"fixture", NULL, key,
	                     (const unsigned char *)o->selector, (const unsigned char *)o->domain,
	                     o->hcanon, o->bcanon, o->alg, o->length, &st);
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

/* Set a NULL-terminated name list option, when given. */
static int pst_sign_setnames(DKIM_LIB *lib, int opt, const char **names, int given)
{
	if (!given)
		return 0;
	if (dkim_options(lib, DKIM_OP_SETOPT, opt, (void *)names, sizeof names) != DKIM_STAT_OK) {
		fprintf(stderr, "dkim_sign: cannot set the field list\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *keyfile = NULL, *alg = "rsa-sha256";
	pst_sign_opts o = { NULL, NULL, DKIM_SIGN_UNKNOWN, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, -1 };
	const char *sign[PST_SIGN_MAX_NAMES + 1], *over[PST_SIGN_MAX_NAMES + 1];
	int has_sign = 0, has_over = 0, bad = 0;
	uint64_t when = 0, ttl = 0;
	int c;
	while ((c = getopt(argc, argv, "k:d:s:a:t:x:c:l:h:o:")) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'd': o.domain = optarg; break;
		case 's': o.selector = optarg; break;
		case 'a': alg = optarg; break;
		case 't': when = strtoull(optarg, NULL, 10); break;
		case 'x': ttl = strtoull(optarg, NULL, 10); break;
		case 'c': bad |= pst_sign_canon(optarg, &o) < 0; break;
		case 'l': o.length = (ssize_t)strtoll(optarg, NULL, 10); bad |= o.length < 0; break;
		case 'h': has_sign = 1; bad |= pst_sign_names(optarg, sign) < 0; break;
		case 'o': has_over = 1; bad |= pst_sign_names(optarg, over) < 0; break;
		default: return 2;
		}
	}
	o.alg = pst_sign_alg(alg);
	if (keyfile == NULL || o.domain == NULL || o.selector == NULL ||
	    o.alg == DKIM_SIGN_UNKNOWN || bad) {
		fprintf(stderr, "usage: dkim_sign -k KEY -d DOMAIN -s SELECTOR [-a ALG] [-t TIME] [-x TTL]\n"
		                "                 [-c HDR/BODY] [-l LENGTH] [-h NAMES] [-o NAMES]\n");
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
	if (pst_sign_setnames(lib, DKIM_OPTS_SIGNHDRS, sign, has_sign) < 0 ||
	    pst_sign_setnames(lib, DKIM_OPTS_OVERSIGNHDRS, over, has_over) < 0)
		goto out;
	rc = pst_sign_run(lib, key, &o, msg, mlen);
out:
	dkim_close(lib);
	free(key);
	free(msg);
	return rc;
}
