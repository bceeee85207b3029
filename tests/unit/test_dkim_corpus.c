/*
 * Conformance runs for engine/auth/dkim.c over the DKIM corpora in
 * $POSTERN_CORPORA (read in place, never copied into the project; each
 * corpus's PROVENANCE.md says where its files and expectations come from):
 *
 *   dkim-rfc-examples     RFC 6376 A.2 and RFC 8463 A.3: every signature
 *                         passes (expected.tsv, keys from dns.txt);
 *   dkim-dkimpy           the pre-signed messages: ours passes exactly
 *                         where dkimpy 1.1.4 passes (its cross-check
 *                         column), keys from dns.txt;
 *   dkim-mail-dkim-perl   Mail::DKIM's verifier corpus: our overall result
 *                         in its words (pass, fail, invalid) against
 *                         upstream's expectation, keys from FAKE_DNS.dat;
 *   dkim-mail-auth-rs     stalwart mail-auth: the last signature passes at
 *                         the upstream harness's fixed time 1667843664;
 *   dkim-dkimpy/canonicalization.tsv  the body and header vectors, through
 *                         the library that canonicalizes for us: signing
 *                         (our own test key) the expected canonical form,
 *                         the signature verifies over the input (body and
 *                         header vectors; the verifier is what meets odd
 *                         input, e.g. "Foo  :bar" or no final CRLF). The c= parsing vectors
 *                         need a c= the signer cannot write: not run.
 *
 * Every passing signature of every run also checks our canonical body
 * length (pst_dkim_body_canon_len, for dkim.unsigned_body) against what
 * libopendkim hashed (all of it without l=, l= bytes with one), and each
 * body vector checks it against the expected canonical form's length;
 * each run prints "DKIM <corpus>: body length agrees on n signatures".
 *
 * The key files (NAME VALUE lines, as Mail::DKIM's FAKE_DNS.dat: NXDOMAIN,
 * ~~error~~ for a DNS error) are converted in memory to our DNS fixture
 * format. Each run is judged by the harness of tests/conformance/conf.h
 * (runs dkim-rfc-examples, dkim-dkimpy and dkim-dkimpy/canonicalization
 * (case: "FILE d/s", "CANON KIND NAME"), dkim-mail-dkim-perl and
 * dkim-mail-auth-rs (case: the message file)): it prints
 * "# RUN: N/M agree (K listed divergences)" and fails on a disagreement
 * not listed in tests/conformance/divergences.txt and on a stale listing.
 * Without a corpus directory its run is skipped, and says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <dkim.h>

#include "auth/dkim.h"
#include "dns/resolver.h"
#include "msg/msg.h"
#include "util/buf.h"
#include "util/limits.h"
#include "tests/conformance/conf.h"

#define MAX_FILE (4 * 1024 * 1024)

static pst_dkim *D;

static const char *const words[PST_AR__COUNT] = {
	[PST_AR_NONE] = "none", [PST_AR_PASS] = "pass", [PST_AR_FAIL] = "fail",
	[PST_AR_SOFTFAIL] = "softfail", [PST_AR_NEUTRAL] = "neutral",
	[PST_AR_TEMPERROR] = "temperror", [PST_AR_PERMERROR] = "permerror",
	[PST_AR_POLICY] = "policy",
};

/* ---- files ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(MAX_FILE + 1);
	size_t n = buf != NULL ? fread(buf, 1, MAX_FILE, f) : 0;
	fclose(f);
	if (buf == NULL)
		return NULL;
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- keys: NAME VALUE lines to a fixture ---- */

static void add_txt(pst_buf *z, const char *name, size_t nlen, const char *v, size_t vlen)
{
	assert_int_equal(pst_buf_printf(z, "%.*s. TXT", (int)nlen, name), 0);
	for (size_t i = 0; i < vlen || i == 0; i += 200) {
		assert_int_equal(pst_buf_append(z, " \"", 2), 0);
		for (size_t j = i; j < vlen && j < i + 200; j++) {
			if (v[j] == '"' || v[j] == '\\')
				assert_int_equal(pst_buf_append(z, "\\", 1), 0);
			assert_int_equal(pst_buf_append(z, &v[j], 1), 0);
		}
		assert_int_equal(pst_buf_append(z, "\"", 1), 0);
		if (vlen == 0)
			break;
	}
	assert_int_equal(pst_buf_append(z, "\n", 1), 0);
}

static void convert_line(pst_buf *z, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0 || line[0] == '#')
		return;
	size_t nlen = strcspn(line, " \t");
	if (nlen >= len)
		return;
	const char *v = line + nlen;
	size_t vlen = len - nlen;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	if (vlen == 8 && memcmp(v, "NXDOMAIN", 8) == 0)
		return;                 /* not listed: NXDOMAIN */
	if (vlen >= 4 && memcmp(v, "~~", 2) == 0) {
		int timeout = memmem(v, vlen, "timed out", 9) != NULL;
		assert_int_equal(pst_buf_printf(z, "$%s %.*s.\n", timeout ? "TIMEOUT" : "SERVFAIL",
		                                 (int)nlen, line), 0);
		return;
	}
	add_txt(z, line, nlen, v, vlen);
}

/* A fixture from a NAME VALUE file (NULL path: empty). */
static pst_dnsfix *load_keys(const char *path)
{
	pst_buf z = PST_BUF_INIT;
	size_t len = 0;
	char *text = path != NULL ? slurp(path, &len) : NULL;
	if (path != NULL && text == NULL)
		fail_msg("cannot read %s", path);
	for (size_t i = 0; i < len;) {
		size_t n = strcspn(text + i, "\n");
		convert_line(&z, text + i, n);
		i += n + 1;
	}
	free(text);
	pst_dnsfix *fix = NULL;
	pst_buf errs = PST_BUF_INIT;
	if (pst_dnsfix_load_text(path ? path : "empty", z.data ? z.data : "", z.len, &fix, &errs) != 0)
		fail_msg("converted keys of %s: %s", path, errs.data ? errs.data : "");
	pst_buf_free(&errs);
	pst_buf_free(&z);
	return fix;
}

/* ---- one verification ---- */

typedef struct vrun {
	pst_arena *arena;
	pst_dkim_result r;
} vrun;

/* Passing signatures whose body length was checked, per run. */
static unsigned canon_checked;

/* Our canonical body length against what the library hashed. */
static void check_body_len(const char *path, const pst_dkim_result *r)
{
	for (size_t i = 0; i < r->nsigs; i++) {
		const pst_dkim_sig *s = &r->sigs[i];
		if (s->result != PST_AR_PASS)
			continue;
		long long want = s->body_limit >= 0 && s->body_limit < s->body_canon_len
		                 ? s->body_limit : s->body_canon_len;
		if (s->lib_body_hashed != want)
			fail_msg("%s signature %zu: libopendkim hashed %lld body bytes, want %lld "
			         "(our canonical length %lld, l= %lld)", path, i, s->lib_body_hashed, want,
			         s->body_canon_len, s->body_limit);
		canon_checked++;
	}
}

static void report_body_len(const char *corpus)
{
	print_message("# DKIM %s: body length agrees on %u signatures\n", corpus, canon_checked);
	canon_checked = 0;
}

static int verify_path(const pst_dnsfix *fix, const char *path, time_t now, vrun *v)
{
	size_t len;
	char *b = slurp(path, &len);
	if (b == NULL)
		fail_msg("cannot read %s", path);
	pst_resolver *res = NULL;
	assert_int_equal(pst_resolver_new_fixture(fix, &res), 0);
	v->arena = pst_arena_new();
	assert_non_null(v->arena);
	pst_dns_session dns;
	pst_dns_session_init(&dns, res, v->arena, 0, 0);
	pst_msg *m = NULL;
	pst_msg_error me;
	if (pst_msg_parse(b, len, NULL, &m, &me) != 0)
		fail_msg("%s: %s", path, me.text);
	char err[200];
	pst_dkim_params p = { now, 0, PST_DEFAULT_DKIM_CLOCK_SKEW };
	int rc = pst_dkim_verify(D, &dns, m, 0, &p, v->arena, &v->r, err, sizeof err);
	if (rc != 0)
		fail_msg("%s: %s", path, err);
	check_body_len(path, &v->r);
	pst_msg_free(&m);
	pst_resolver_free(&res);
	free(b);
	return 0;
}

static void vdone(vrun *v)
{
	pst_arena_free(&v->arena);
}

static const pst_dkim_sig *find_sig(const pst_dkim_result *r, const char *d, const char *s)
{
	for (size_t i = 0; i < r->nsigs; i++)
		if (strcasecmp(r->sigs[i].domain, d) == 0 && strcmp(r->sigs[i].selector, s) == 0)
			return &r->sigs[i];
	return NULL;
}

/* ---- runs ---- */

static void report_body_len(const char *corpus);

/* End a run: its count line, the body length line, and a failure for
 * every unlisted disagreement or stale listing. */
static void report(conf_run *run, const char *corpus)
{
	report_body_len(corpus);
	size_t failures = conf_run_end(run);
	if (failures != 0)
		fail_msg("%s: %zu failures against divergences.txt", corpus, failures);
}

/* Split a TSV line in place into at most n columns; returns the count. */
static size_t columns(char *line, char **col, size_t n)
{
	size_t k = 0;
	while (k < n) {
		col[k++] = line;
		char *t = strchr(line, '\t');
		if (t == NULL)
			break;
		*t = '\0';
		line = t + 1;
	}
	return k;
}

/* "d / s / a / c" or "d/s/a": the first two fields. */
static int d_and_s(const char *desc, char *d, size_t dsize, char *s, size_t ssize)
{
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s", desc);
	char *p = tmp, *f[3] = { 0 };
	for (int i = 0; i < 3 && p != NULL; i++) {
		f[i] = p;
		p = strchr(p, '/');
		if (p != NULL)
			*p++ = '\0';
	}
	if (f[1] == NULL)
		return -1;
	for (int i = 0; i < 2; i++) {
		while (*f[i] == ' ')
			f[i]++;
		size_t n = strlen(f[i]);
		while (n > 0 && f[i][n - 1] == ' ')
			f[i][--n] = '\0';
	}
	snprintf(d, dsize, "%s", f[0]);
	snprintf(s, ssize, "%s", f[1]);
	return 0;
}

/* Each data line of a TSV file, in place. */
typedef void (*row_fn)(void *ctx, char **col, size_t ncol);

static void each_row(const char *path, row_fn fn, void *ctx)
{
	size_t len;
	char *text = slurp(path, &len);
	if (text == NULL)
		fail_msg("cannot read %s", path);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (*line == '#' || *line == '\0')
			continue;
		char *col[12];
		size_t n = columns(line, col, 12);
		fn(ctx, col, n);
	}
	free(text);
}

/* ---- dkim-rfc-examples and dkim-dkimpy: per signature ---- */

typedef struct sigrun {
	conf_run *run;
	const char *dir;
	pst_dnsfix *fix;
	size_t want_col;            /* the column holding the expected result */
} sigrun;

static void sig_row(void *ctx, char **col, size_t ncol)
{
	sigrun *sr = ctx;
	if (ncol <= sr->want_col)
		return;
	char d[256], s[256], path[1024], kase[600];
	if (d_and_s(col[1], d, sizeof d, s, sizeof s) < 0)
		return;
	const char *want = col[sr->want_col];
	snprintf(path, sizeof path, "%s/%s", sr->dir, col[0]);
	snprintf(kase, sizeof kase, "%s %s/%s", col[0], d, s);
	vrun v;
	verify_path(sr->fix, path, 0, &v);
	const pst_dkim_sig *sig = find_sig(&v.r, d, s);
	const char *ours = sig != NULL ? words[sig->result] : "none";
	/* dkimpy answers pass or not: compare on that. */
	int want_pass = strncmp(want, "pass", 4) == 0;
	int ours_pass = sig != NULL && sig->result == PST_AR_PASS;
	char detail[600];
	snprintf(detail, sizeof detail, "ours %s (%s), expected %s", ours,
	         sig != NULL && sig->reason[0] ? sig->reason : "-", want);
	conf_case(sr->run, kase, want_pass == ours_pass, detail);
	vdone(&v);
}

static void run_sig_corpus(const char *name, const char *keys, size_t want_col)
{
	char dir[1024], path[1200];
	conf_corpus_require(name, dir, sizeof dir);
	snprintf(path, sizeof path, "%s/%s", dir, keys);
	sigrun sr = { .run = conf_run_begin(name), .dir = dir, .fix = load_keys(path),
	              .want_col = want_col };
	snprintf(path, sizeof path, "%s/expected.tsv", dir);
	each_row(path, sig_row, &sr);
	pst_dnsfix_free(&sr.fix);
	report(sr.run, name);
}

static void rfc_examples(void **state)
{
	(void)state;
	run_sig_corpus("dkim-rfc-examples", "dns.txt", 2);
}

static void dkimpy(void **state)
{
	(void)state;
	run_sig_corpus("dkim-dkimpy", "dns.txt", 5);
}

/* ---- dkim-mail-dkim-perl: per message ---- */

/* Our overall result in Mail::DKIM's words. */
static const char *perl_word(pst_auth_result r)
{
	switch (r) {
	case PST_AR_PASS:
		return "pass";
	case PST_AR_FAIL:
		return "fail";
	default:
		return "invalid";
	}
}

static void perl_row(void *ctx, char **col, size_t ncol)
{
	sigrun *sr = ctx;
	if (ncol < 2)
		return;
	char path[1024];
	snprintf(path, sizeof path, "%s/corpus/%s", sr->dir, col[0]);
	vrun v;
	verify_path(sr->fix, path, 0, &v);
	pst_auth_result o = pst_dkim_overall(&v.r);
	char why[600] = "";
	for (size_t i = 0; i < v.r.nsigs && strlen(why) < 400; i++)
		snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s %s/%u lib %s: %s",
		         i ? "; " : "", words[v.r.sigs[i].result], v.r.sigs[i].algorithm,
		         v.r.sigs[i].key_bits, v.r.sigs[i].lib_pass ? "pass" : "no",
		         v.r.sigs[i].reason);
	if (v.r.nsigs == 0)
		snprintf(why, sizeof why, "no DKIM-Signature");
	char detail[800];
	snprintf(detail, sizeof detail, "ours %s (%s), expected %s", perl_word(o), why, col[1]);
	conf_case(sr->run, col[0], strcmp(perl_word(o), col[1]) == 0, detail);
	vdone(&v);
}

static void mail_dkim_perl(void **state)
{
	(void)state;
	static const char name[] = "dkim-mail-dkim-perl";
	char dir[1024], path[1200];
	conf_corpus_require(name, dir, sizeof dir);
	snprintf(path, sizeof path, "%s/FAKE_DNS.dat", dir);
	sigrun sr = { .run = conf_run_begin(name), .dir = dir, .fix = load_keys(path) };
	snprintf(path, sizeof path, "%s/expected.tsv", dir);
	each_row(path, perl_row, &sr);
	pst_dnsfix_free(&sr.fix);
	report(sr.run, name);
}

/* ---- dkim-mail-auth-rs: the last signature, at the harness's time ---- */

#define MAIL_AUTH_NOW 1667843664

static void rs_row(void *ctx, char **col, size_t ncol)
{
	sigrun *sr = ctx;
	if (ncol < 3 || strncmp(col[0], "split/", 6) != 0)
		return;
	char path[1024], keys[1024];
	snprintf(path, sizeof path, "%s/%s", sr->dir, col[0]);
	snprintf(keys, sizeof keys, "%s/%.*s.dns.txt", sr->dir, (int)(strlen(col[0]) - 4), col[0]);
	pst_dnsfix *fix = load_keys(keys);
	vrun v;
	verify_path(fix, path, MAIL_AUTH_NOW, &v);
	const pst_dkim_sig *last = v.r.nsigs ? &v.r.sigs[v.r.nsigs - 1] : NULL;
	char detail[600];
	snprintf(detail, sizeof detail, "ours %s (%s), expected pass",
	         last ? words[last->result] : "none", last ? last->reason : "no signature");
	conf_case(sr->run, col[0], last != NULL && last->result == PST_AR_PASS, detail);
	vdone(&v);
	pst_dnsfix_free(&fix);
}

static void mail_auth_rs(void **state)
{
	(void)state;
	static const char name[] = "dkim-mail-auth-rs";
	char dir[1024], path[1200];
	conf_corpus_require(name, dir, sizeof dir);
	sigrun sr = { .run = conf_run_begin(name), .dir = dir };
	snprintf(path, sizeof path, "%s/expected.tsv", dir);
	each_row(path, rs_row, &sr);
	report(sr.run, name);
}

/* ---- dkimpy canonicalization vectors ---- */

/* Undo the file's C escapes (\r \n \t \\) in place. */
static size_t unescape(char *s)
{
	size_t j = 0;
	for (size_t i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (c == '\\' && s[i + 1] != '\0') {
			char e = s[++i];
			c = e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : e;
		}
		s[j++] = c;
	}
	s[j] = '\0';
	return j;
}

typedef struct canonrun {
	conf_run *run;
	char *key;                  /* tests/fixtures/dkim/rsa2048.pem */
	DKIM_LIB *lib;
	pst_dnsfix *fix;            /* tests/fixtures/dkim/keys.zone */
} canonrun;

/* The DKIM-Signature field (CRLF-terminated, malloc'd) made over msg. */
static char *sign_field(canonrun *cr, dkim_canon_t canon, const char *msg, size_t len)
{
	DKIM_STAT st;
	DKIM *dk = dkim_sign(cr->lib, (const u_char *)"corpus", NULL, (dkim_sigkey_t)cr->key,
	                     (const u_char *)"rsa2048", (const u_char *)"example.com", canon, canon,
	                     DKIM_SIGN_RSASHA256, -1, &st);
	assert_non_null(dk);
	/* Field by field, as the verifier is fed: dkim_chunk cannot sign a
	 * body without a final line ending. */
	pst_msg *m = NULL;
	assert_int_equal(pst_msg_parse(msg, len, NULL, &m, NULL), 0);
	for (size_t i = 0; i < pst_msg_field_count(m); i++) {
		const pst_msg_field *f = pst_msg_field_at(m, i);
		size_t n = f->raw_len;
		while (n > 0 && (f->raw[n - 1] == '\n' || f->raw[n - 1] == '\r'))
			n--;
		assert_int_equal(dkim_header(dk, (u_char *)f->raw, n), DKIM_STAT_OK);
	}
	assert_int_equal(dkim_eoh(dk), DKIM_STAT_OK);
	if (pst_msg_body_len(m) > 0)
		assert_int_equal(dkim_body(dk, (u_char *)pst_msg_bytes(m) + pst_msg_body_offset(m),
		                           pst_msg_body_len(m)), DKIM_STAT_OK);
	pst_msg_free(&m);
	if (dkim_eom(dk, NULL) != DKIM_STAT_OK) {
		dkim_free(dk);
		return NULL;            /* the library refuses to sign this */
	}
	static const char prefix[] = "DKIM-Signature: ";
	u_char *hdr;
	size_t hlen;
	assert_int_equal(dkim_getsighdr_d(dk, sizeof prefix - 1, &hdr, &hlen), DKIM_STAT_OK);
	char *out = malloc(sizeof prefix + 2 * hlen + 3);
	assert_non_null(out);
	size_t n = sizeof prefix - 1;
	memcpy(out, prefix, n);
	for (size_t i = 0; i < hlen; i++) {
		if (hdr[i] == '\n' && (i == 0 || hdr[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = (char)hdr[i];
	}
	memcpy(out + n, "\r\n", 3);
	dkim_free(dk);
	return out;
}

static const char canon_head[] = "From: a@example.com\r\nSubject: canon\r\n\r\n";

/* A message of the fixed header and body. */
static char *with_body(const char *body, size_t blen, size_t *len)
{
	size_t h = sizeof canon_head - 1;
	char *m = malloc(h + blen + 1);
	assert_non_null(m);
	memcpy(m, canon_head, h);
	memcpy(m + h, body, blen);
	m[h + blen] = '\0';
	*len = h + blen;
	return m;
}

/* "a\r\n|b\r\n" header fields, "|" separated, then From and a body. */
static char *with_fields(const char *list, size_t *len)
{
	static const char tail[] = "From: a@example.com\r\n\r\nbody\r\n";
	char *m = malloc(strlen(list) + sizeof tail);
	assert_non_null(m);
	size_t n = 0;
	for (const char *p = list; *p != '\0'; p++)
		if (*p != '|')
			m[n++] = *p;
	memcpy(m + n, tail, sizeof tail);
	*len = n + sizeof tail - 1;
	return m;
}

/* Signed over want, does the signature verify over in? */
static int canon_agrees(canonrun *cr, dkim_canon_t canon, const char *want, size_t wantlen,
                        const char *in, size_t inlen)
{
	char *sig = sign_field(cr, canon, want, wantlen);
	assert_non_null(sig);
	size_t slen = strlen(sig);
	char *m2 = malloc(slen + inlen + 1);
	assert_non_null(m2);
	memcpy(m2, sig, slen);
	memcpy(m2 + slen, in, inlen);
	pst_resolver *res = NULL;
	assert_int_equal(pst_resolver_new_fixture(cr->fix, &res), 0);
	pst_arena *a = pst_arena_new();
	assert_non_null(a);
	pst_dns_session dns;
	pst_dns_session_init(&dns, res, a, 0, 0);
	pst_msg *m = NULL;
	assert_int_equal(pst_msg_parse(m2, slen + inlen, NULL, &m, NULL), 0);
	pst_dkim_result r;
	char err[200];
	assert_int_equal(pst_dkim_verify(D, &dns, m, 0, NULL, a, &r, err, sizeof err), 0);
	int ok = r.nsigs == 1 && r.sigs[0].result == PST_AR_PASS;
	check_body_len("canonicalization vector", &r);
	pst_msg_free(&m);
	pst_arena_free(&a);
	pst_resolver_free(&res);
	free(sig);
	free(m2);
	return ok;
}

static void canon_row(void *ctx, char **col, size_t ncol)
{
	canonrun *cr = ctx;
	if (ncol < 4 || (strcmp(col[1], "body") != 0 && strcmp(col[1], "header") != 0))
		return;
	dkim_canon_t canon = strcmp(col[0], "relaxed") == 0 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	char *want = ncol > 4 ? col[4] : col[3] + strlen(col[3]);
	size_t inlen = unescape(col[3]), wantlen = unescape(want);
	char kase[300];
	snprintf(kase, sizeof kase, "%s %s %s", col[0], col[1], col[2]);
	int body = strcmp(col[1], "body") == 0;
	long long len = body ? pst_dkim_body_canon_len(col[3], inlen, canon == DKIM_CANON_RELAXED) : 0;
	if (body && len != (long long)wantlen)
		fail_msg("%s: pst_dkim_body_canon_len got %lld, want %zu", kase, len, wantlen);
	canon_checked += (unsigned)body;
	size_t l1, l2;
	char *mw = body ? with_body(want, wantlen, &l1) : with_fields(want, &l1);
	char *mi = body ? with_body(col[3], inlen, &l2) : with_fields(col[3], &l2);
	int ok = canon_agrees(cr, canon, mw, l1, mi, l2);
	conf_case(cr->run, kase, ok, "the signature made over the expected canonical form does "
	          "not verify over the input");
	free(mw);
	free(mi);
}

static void dkimpy_canonicalization(void **state)
{
	(void)state;
	static const char name[] = "dkim-dkimpy";
	char dir[1024], path[1200];
	conf_corpus_require(name, dir, sizeof dir);
	size_t klen;
	canonrun cr = { .run = conf_run_begin("dkim-dkimpy/canonicalization") };
	cr.key = slurp(DKIM_FIXTURE_DIR "/rsa2048.pem", &klen);
	assert_non_null(cr.key);
	assert_int_equal(pst_dnsfix_load_file(DKIM_FIXTURE_DIR "/keys.zone", &cr.fix, NULL), 0);
	cr.lib = dkim_init(NULL, NULL);
	assert_non_null(cr.lib);
	snprintf(path, sizeof path, "%s/canonicalization.tsv", dir);
	each_row(path, canon_row, &cr);
	dkim_close(cr.lib);
	pst_dnsfix_free(&cr.fix);
	free(cr.key);
	report(cr.run, "dkim-dkimpy/canonicalization");
}

static int setup(void **state)
{
	(void)state;
	char err[200];
	if (pst_dkim_new(&D, err, sizeof err) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pst_dkim_free(&D);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc_examples),
		cmocka_unit_test(dkimpy),
		cmocka_unit_test(mail_dkim_perl),
		cmocka_unit_test(mail_auth_rs),
		cmocka_unit_test(dkimpy_canonicalization),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
