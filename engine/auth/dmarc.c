/*
 * dmarc.c: DMARC (RFC 7489) for one message.
 *
 * Contract (see dmarc.h). The steps, and the choices made where the RFC
 * leaves room:
 *
 *   1. Author domain (6.6.1): one domain per call (from_domain). None
 *      (from_domain NULL) is none, reason "no author domain"; one that is
 *      not a valid domain name is none, reason "the From domain is not a
 *      valid domain name". The author domains are read from the message
 *      by msg/author.h; a message with several is evaluated once per
 *      domain by the caller (message_auth.c), the strictest outcome winning
 *      (CVE-2019-16378).
 *   2. Policy discovery (6.6.3): TXT at _dmarc.<From domain>; the records
 *      starting with "v=DMARC1" are kept (the version tag must come first;
 *      "DMARC1" is accepted in any case, as receivers do). NXDOMAIN,
 *      NODATA or no such record: the same at _dmarc.<org domain>, when the
 *      org domain differs. SERVFAIL or TIMEOUT at either step is
 *      temperror, never a fallback. Two or more DMARC records at the name
 *      asked mean none (DMARC is not applied).
 *   3. Parsing: libopendmarc (opendmarc_policy_store_dmarc) parses the
 *      record and its policy fields are read back. A record it refuses is
 *      permerror (RFC 7489 11.2, "a syntactically incorrect DMARC record")
 *      with policy none: no DMARC processing happens (6.6.3), but the
 *      result tells the error apart from a domain without DMARC. One
 *      exception, also from 6.6.3: a record without a valid p (or with an
 *      invalid sp) but with a mailto: rua is treated as p=none: we hand
 *      the library "v=DMARC1; p=none" and the other terms, p and sp left
 *      out; if it still refuses (a bad value elsewhere) it is permerror. Records over
 *      PST_MAX_DMARC_RECORD_BYTES are refused before the library sees
 *      them.
 *      libopendmarc 1.4.2 corrupts aspf when rf=iodef is given (it ORs the
 *      rf bit into aspf): an aspf (or adkim) that is neither 'r' nor 's'
 *      is read again from the raw record by us, default relaxed. It also
 *      reads pct with atoi ("pct=f" is 0): a pct whose raw value is not
 *      a number gets the default 100 (6.3, syntax errors give defaults).
 *      A record holding a NUL byte is permerror (the library would see a
 *      prefix of it).
 *   4. Policy: p when the record is the From domain's own; sp (default p)
 *      when it was found at the org domain for a From domain below it.
 *      np (DMARCbis, RFC 9091) is supported: libopendmarc ignores the tag,
 *      so we read it from the raw record; it applies instead of sp when
 *      the From domain does not exist, which costs one A question at the
 *      From domain (NXDOMAIN means the name does not exist), asked only
 *      when np is present and differs from the sp policy. A failed
 *      existence question (SERVFAIL, TIMEOUT) keeps sp.
 *   5. Alignment is ours (psl.h), never libopendmarc's: SPF aligns when
 *      spf is pass and pst_psl_aligned(spf_domain, From domain, aspf=s);
 *      DKIM when one passing d= aligns under adkim. pass if either, else
 *      fail. When no record applies (none, temperror, permerror) the
 *      alignment flags are still filled, under relaxed alignment.
 *   6. pct (6.6.4): applied to failing messages only. When pct < 100 a
 *      message is sampled in when a draw in 0..99 is below pct; sampled
 *      out, the policy drops one step (reject to quarantine, quarantine to
 *      none). The draw is deterministic when the input has a seed:
 *      splitmix64 of the seed XOR the FNV-1a hash of the From domain, so
 *      one test message always draws the same; otherwise getrandom(2).
 *      For a pass, the policy reported is the published one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <opendmarc/dmarc.h>

#include "auth/dmarc.h"
#include "util/buf.h"
#include "util/domain.h"
#include "util/hash.h"
#include "util/limits.h"
#include "util/memo.h"

/* What one _dmarc look-up found. */
typedef enum dmarc_found {
	FOUND_ONE,      /* exactly one DMARC record */
	FOUND_NONE,     /* NXDOMAIN, NODATA, or no record starting v=DMARC1 */
	FOUND_MANY,     /* two or more DMARC records */
	FOUND_TEMP      /* SERVFAIL or TIMEOUT */
} dmarc_found;

struct dmarc_lookup {
	dmarc_found found;
	pst_dns_status status;
	const char *text;       /* FOUND_ONE: the record, NUL-terminated copy */
	size_t len;
	size_t count;           /* DMARC records seen */
};

/* The fields of a parsed record. */
struct dmarc_record {
	pst_dmarc_policy p, sp, np;
	int has_np;
	int strict_spf, strict_dkim;
	unsigned pct;
};

static const char *arena_printf(pst_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* printf into the arena, whole (never truncated). NULL on ENOMEM. */
static const char *arena_printf(pst_arena *a, const char *fmt, ...)
{
	pst_buf b = PST_BUF_INIT;
	const char *out = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pst_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0)
		out = pst_arena_strndup(a, pst_buf_str(&b), b.len);
	pst_buf_free(&b);
	return out;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ci_equal(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n && b[i] != '\0'; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return i == n && b[i] == '\0';
}

/* Whether the TXT text starts with the version tag: "v" *WSP "=" *WSP
 * "DMARC1" *WSP, then ";" or the end (RFC 7489 6.4). Sets *rest to the
 * offset just past the version tag. */
static int is_dmarc_record(const char *t, size_t n, size_t *rest)
{
	size_t i = 0;

	while (i < n && is_wsp(t[i]))
		i++;
	if (i >= n || lower((unsigned char)t[i]) != 'v')
		return 0;
	for (i++; i < n && is_wsp(t[i]); i++)
		;
	if (i >= n || t[i] != '=')
		return 0;
	for (i++; i < n && is_wsp(t[i]); i++)
		;
	if (n - i < 6 || !ci_equal(t + i, 6, "DMARC1"))
		return 0;
	for (i += 6; i < n && is_wsp(t[i]); i++)
		;
	if (i < n && t[i] != ';')
		return 0;
	if (rest != NULL)
		*rest = i;
	return 1;
}

/* The value of tag in the raw record, trimmed, as a pointer into it and a
 * length; NULL when absent. The last occurrence wins, as in libopendmarc,
 * which overwrites a field each time its tag appears. */
static const char *raw_tag(const char *rec, const char *tag, size_t *vlen)
{
	const char *p = rec, *found = NULL;

	while (*p != '\0') {
		const char *end = strchr(p, ';'), *eq, *name, *val;
		size_t nlen, len;
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			for (name = p; name < eq && is_wsp(*name); name++)
				;
			for (nlen = (size_t)(eq - name); nlen > 0 && is_wsp(name[nlen - 1]); nlen--)
				;
			for (val = eq + 1; val < end && is_wsp(*val); val++)
				;
			for (len = (size_t)(end - val); len > 0 && is_wsp(val[len - 1]); len--)
				;
			if (ci_equal(name, nlen, tag)) {
				found = val;
				*vlen = len;
			}
		}
		p = *end ? end + 1 : end;
	}
	return found;
}

/* pct as the library read it, unless the raw value is not a number: the
 * library reads "pct=f" (atoi) as 0, which would sample every failing
 * message out. A syntax error gets the default, 100 (RFC 7489 6.3). */
static unsigned checked_pct(int lib, const char *rec)
{
	size_t n;
	const char *v = raw_tag(rec, "pct", &n);

	if (v == NULL)
		return lib >= 0 && lib <= 100 ? (unsigned)lib : 100;
	if (n == 0 || n > 3)
		return 100;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return 100;
	return lib >= 0 && lib <= 100 ? (unsigned)lib : 100;
}

/* Our read of an alignment mode tag: 1 strict, 0 relaxed (the default,
 * and what an invalid value falls back to, RFC 7489 6.3). */
static int raw_strict(const char *rec, const char *tag)
{
	size_t n;
	const char *v = raw_tag(rec, tag, &n);

	return v != NULL && n == 1 && lower((unsigned char)v[0]) == 's';
}

/* A policy word ("none", "quarantine", "reject", any case): 0 and *out, or -1. */
static int policy_word(const char *v, size_t n, pst_dmarc_policy *out)
{
	if (ci_equal(v, n, "none"))
		*out = PST_POLICY_NONE;
	else if (ci_equal(v, n, "quarantine"))
		*out = PST_POLICY_QUARANTINE;
	else if (ci_equal(v, n, "reject"))
		*out = PST_POLICY_REJECT;
	else
		return -1;
	return 0;
}

/* libopendmarc's p/sp value ('n', 'q', 'r'): 0 and *out, or -1. */
static int policy_of_lib(int v, pst_dmarc_policy *out)
{
	switch (v) {
	case DMARC_RECORD_P_NONE:
		*out = PST_POLICY_NONE;
		return 0;
	case DMARC_RECORD_P_QUARANTINE:
		*out = PST_POLICY_QUARANTINE;
		return 0;
	case DMARC_RECORD_P_REJECT:
		*out = PST_POLICY_REJECT;
		return 0;
	default:
		return -1;
	}
}

/* An adkim/aspf value from the library, or our own read of the raw record
 * when the library's is neither 'r' nor 's' (the rf=iodef corruption). */
static int strict_mode(int lib, const char *rec, const char *tag)
{
	if (lib == DMARC_RECORD_A_STRICT)
		return 1;
	if (lib == DMARC_RECORD_A_RELAXED)
		return 0;
	return raw_strict(rec, tag);
}

/* Ask TXT _dmarc.<domain> and sort the answer. -1 on ENOMEM. */
static int lookup(pst_dns_session *dns, pst_arena *arena, const char *domain,
		  struct dmarc_lookup *out)
{
	char name[PST_MAX_DOMAIN_BYTES + 16];
	pst_dns_answer ans;
	int n;

	memset(out, 0, sizeof *out);
	out->found = FOUND_NONE;
	n = snprintf(name, sizeof name, "_dmarc.%s", domain);
	if (n < 0 || n > PST_MAX_DOMAIN_BYTES) {
		out->status = PST_DNS_NXDOMAIN; /* a name that cannot exist */
		return 0;
	}
	out->status = pst_dns_session_query(dns, name, ns_t_txt, &ans);
	if (out->status == PST_DNS_SERVFAIL || out->status == PST_DNS_TIMEOUT) {
		out->found = FOUND_TEMP;
		return 0;
	}
	if (out->status != PST_DNS_NOERROR)
		return 0;
	for (size_t i = 0; i < ans.count; i++) {
		const pst_dns_rr *rr = &ans.rrs[i];
		if (rr->text == NULL || !is_dmarc_record(rr->text, rr->text_len, NULL))
			continue;
		if (out->count++ == 0) {
			out->text = pst_arena_strndup(arena, rr->text, rr->text_len);
			out->len = rr->text_len;
			if (out->text == NULL)
				return -1;
		}
	}
	if (out->count == 1)
		out->found = FOUND_ONE;
	else if (out->count > 1)
		out->found = FOUND_MANY;
	return 0;
}

/* Store rec in a fresh libopendmarc context. The context or NULL (ENOMEM). */
static DMARC_POLICY_T *lib_parse(const char *rec, const char *domain, const char *org,
				 OPENDMARC_STATUS_T *st)
{
	/* The connection address is only used for reports, which we do not
	 * make; the library refuses NULL. */
	DMARC_POLICY_T *ctx = opendmarc_policy_connect_init((u_char *)"0.0.0.0",
							    DMARC_POLICY_IP_TYPE_IPV4);

	if (ctx == NULL)
		return NULL;
	*st = opendmarc_policy_store_dmarc(ctx, (u_char *)rec, (u_char *)domain,
					   (u_char *)org);
	return ctx;
}

/* The record's policy fields through the library. 0, or -1 when it refuses
 * one (*why set). */
static int lib_fields(DMARC_POLICY_T *ctx, const char *rec, struct dmarc_record *r,
		      const char **why)
{
	int p = 0, sp = 0, pct = 0, adkim = 0, aspf = 0;

	if (opendmarc_policy_fetch_p(ctx, &p) != DMARC_PARSE_OKAY
	    || opendmarc_policy_fetch_sp(ctx, &sp) != DMARC_PARSE_OKAY
	    || opendmarc_policy_fetch_pct(ctx, &pct) != DMARC_PARSE_OKAY
	    || opendmarc_policy_fetch_adkim(ctx, &adkim) != DMARC_PARSE_OKAY
	    || opendmarc_policy_fetch_aspf(ctx, &aspf) != DMARC_PARSE_OKAY) {
		*why = "libopendmarc cannot read the record's fields";
		return -1;
	}
	if (policy_of_lib(p, &r->p) != 0) {
		*why = "no valid p";
		return -1;
	}
	if (sp == DMARC_RECORD_P_UNSPECIFIED)
		r->sp = r->p;
	else if (policy_of_lib(sp, &r->sp) != 0) {
		*why = "no valid sp";
		return -1;
	}
	if (pct < 0 || pct > 100) {
		*why = "pct out of range";
		return -1;
	}
	r->pct = checked_pct(pct, rec);
	r->strict_dkim = strict_mode(adkim, rec, "adkim");
	r->strict_spf = strict_mode(aspf, rec, "aspf");
	return 0;
}

/* Whether the term [p, end) is tag (name before '=', white space trimmed). */
static int term_is(const char *p, const char *end, const char *tag)
{
	const char *eq = memchr(p, '=', (size_t)(end - p));
	size_t n;

	if (eq == NULL)
		return 0;
	while (p < eq && is_wsp(*p))
		p++;
	for (n = (size_t)(eq - p); n > 0 && is_wsp(p[n - 1]); n--)
		;
	return ci_equal(p, n, tag);
}

/* The record read as RFC 7489 6.6.3 says when p is missing or invalid, or
 * sp invalid, and a rua gives a mailto: URI: "v=DMARC1; p=none" and the
 * other terms, p and sp left out. NULL when there is no such rua (or on
 * ENOMEM, which then shows as the original refusal). */
static const char *with_p_none(pst_arena *arena, const char *rec)
{
	pst_buf b = PST_BUF_INIT;
	size_t rest = 0, n;
	const char *rua = raw_tag(rec, "rua", &n), *p, *out;
	int rc;

	if (rua == NULL || n < 7 || !ci_equal(rua, 7, "mailto:"))
		return NULL;
	if (!is_dmarc_record(rec, strlen(rec), &rest))
		return NULL;
	rc = pst_buf_puts(&b, "v=DMARC1; p=none");
	for (p = rec + rest; rc == 0 && *p != '\0';) {
		const char *end = strchr(p + 1, ';');
		if (end == NULL)
			end = p + strlen(p);
		/* p points at the ';' before the term */
		if (!term_is(p + 1, end, "p") && !term_is(p + 1, end, "sp"))
			rc = pst_buf_append(&b, p, (size_t)(end - p));
		p = end;
	}
	out = rc == 0 ? pst_arena_strndup(arena, pst_buf_str(&b), b.len) : NULL;
	pst_buf_free(&b);
	return out;
}

/* Parse rec: 0 with *r filled, 1 when the record is refused (*why set),
 * -1 on ENOMEM. */
static int parse_record(pst_arena *arena, const char *rec, size_t len, const char *domain,
			const char *org, struct dmarc_record *r, const char **why)
{
	OPENDMARC_STATUS_T st = DMARC_PARSE_OKAY;
	DMARC_POLICY_T *ctx;
	const char *v, *fixed;
	size_t n;
	int rc;

	memset(r, 0, sizeof *r);
	if (len > PST_MAX_DMARC_RECORD_BYTES) {
		*why = "record too long";
		return 1;
	}
	if (strlen(rec) != len) {
		*why = "record holds a NUL byte";
		return 1;
	}
	ctx = lib_parse(rec, domain, org, &st);
	if (ctx == NULL)
		return -1;
	if ((st == DMARC_PARSE_ERROR_NO_REQUIRED_P || st == DMARC_PARSE_ERROR_BAD_VALUE)
	    && (fixed = with_p_none(arena, rec)) != NULL) {
		(void)opendmarc_policy_connect_shutdown(ctx);
		ctx = lib_parse(fixed, domain, org, &st);
		if (ctx == NULL)
			return -1;
	}
	if (st != DMARC_PARSE_OKAY) {
		*why = opendmarc_policy_status_to_str(st);
		(void)opendmarc_policy_connect_shutdown(ctx);
		return 1;
	}
	rc = lib_fields(ctx, rec, r, why) == 0 ? 0 : 1;
	(void)opendmarc_policy_connect_shutdown(ctx);
	v = raw_tag(rec, "np", &n);
	if (rc == 0 && v != NULL && policy_word(v, n, &r->np) == 0)
		r->has_np = 1;
	return rc;
}

/* Parsed records, remembered. parse_record is a pure function of the
 * record, the From domain and the org domain (libopendmarc's context is
 * made and dropped inside it), and costs about 5,500 instructions, most of
 * them in libopendmarc; the same record comes back for every message from
 * a domain. So its outcome (0 with the fields, or 1 with a static reason)
 * is kept by those three strings in a pst_memo (util/memo.h; the values
 * are flat) made on first use and shared by every thread of the process.
 * It lives until exit (reachable, like the library handles of libs.c);
 * when it cannot be made, every record is parsed. */
struct dmarc_memo_value {
	int rc;
	struct dmarc_record r;
	const char *why;               /* static, or NULL */
};

static const pst_memo_spec dmarc_memo_spec = {
	.value_size = sizeof(struct dmarc_memo_value),
	.max_key = PST_MAX_DMARC_RECORD_BYTES + 2 * (PST_MAX_DOMAIN_BYTES + 1) + 4,
};

static pst_memo *dmarc_memo;
static pthread_once_t dmarc_memo_once = PTHREAD_ONCE_INIT;

static void dmarc_memo_make(void)
{
	dmarc_memo = pst_memo_new(&dmarc_memo_spec);
}

/* The key of (rec, domain, org) into buf of size bytes; its length, or 0
 * when it does not fit (then nothing is remembered). */
static size_t memo_key(const char *rec, size_t len, const char *domain, const char *org,
		       char *buf, size_t size)
{
	size_t dn = strlen(domain), on = org ? strlen(org) : 0;
	size_t n = len + 1 + dn + 1 + on + 1 + 1;

	if (n > size)
		return 0;
	memcpy(buf, rec, len);
	buf[len] = '\0';
	memcpy(buf + len + 1, domain, dn + 1);
	memcpy(buf + len + 1 + dn + 1, org ? org : "", on + 1);
	buf[n - 1] = org ? '1' : '0';  /* an absent org is not an empty one */
	return n;
}

static int parse_record_memo(pst_arena *arena, const char *rec, size_t len, const char *domain,
			     const char *org, struct dmarc_record *r, const char **why)
{
	char key[PST_MAX_DMARC_RECORD_BYTES + 2 * (PST_MAX_DOMAIN_BYTES + 1) + 4];
	size_t kn = memo_key(rec, len, domain, org, key, sizeof key);
	struct dmarc_memo_value v;

	if (kn == 0 || pthread_once(&dmarc_memo_once, dmarc_memo_make) != 0)
		return parse_record(arena, rec, len, domain, org, r, why);
	if (pst_memo_get(dmarc_memo, key, kn, &v)) {
		*r = v.r;
		*why = v.why;
		return v.rc;
	}
	v.rc = parse_record(arena, rec, len, domain, org, r, why);
	if (v.rc < 0)
		return v.rc;
	v.r = *r;
	v.why = v.rc ? *why : NULL;
	pst_memo_put(dmarc_memo, key, kn, &v);
	return v.rc;
}

/* Whether domain exists: 0 only for NXDOMAIN on an A question. */
static int domain_exists(pst_dns_session *dns, const char *domain)
{
	pst_dns_answer ans;

	return pst_dns_session_query(dns, domain, ns_t_a, &ans) != PST_DNS_NXDOMAIN;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A draw in 0..99 for pct sampling. */
static unsigned pct_draw(const pst_dmarc_input *in, const char *domain)
{
	uint64_t x = 0;

	if (in->has_seed)
		return (unsigned)(splitmix64(in->seed ^ pst_hash_fnv1a64_str(domain)) % 100);
	if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x)
		x = splitmix64((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ pst_hash_fnv1a64_str(domain));
	return (unsigned)(splitmix64(x) % 100);
}

static pst_dmarc_policy one_step_down(pst_dmarc_policy p)
{
	return p == PST_POLICY_REJECT ? PST_POLICY_QUARANTINE : PST_POLICY_NONE;
}

/* Step 5: both alignments under out's strict flags. -1 on ENOMEM. */
static int compute_alignment(const pst_psl *psl, const pst_dmarc_input *in, const char *from,
			     pst_arena *arena, pst_dmarc_result *out)
{
	out->spf_aligned = in->spf == PST_AR_PASS && in->spf_domain != NULL
	                   && pst_psl_aligned(psl, in->spf_domain, from, out->strict_spf);
	out->dkim_aligned = 0;
	out->aligned_dkim_domain = NULL;
	for (size_t i = 0; i < in->ndkim_pass && in->dkim_pass_domains != NULL; i++) {
		const char *d = in->dkim_pass_domains[i];
		if (d != NULL && pst_psl_aligned(psl, d, from, out->strict_dkim)) {
			out->dkim_aligned = 1;
			out->aligned_dkim_domain = pst_arena_strdup(arena, d);
			return out->aligned_dkim_domain ? 0 : -1;
		}
	}
	return 0;
}

/* Steps 5 and 6: alignment, result and the applied policy. The relaxed
 * alignment is already in out (pst_dmarc_evaluate computes it first): it
 * is computed again only when the record asks for strict. -1 on ENOMEM. */
static int align(const pst_psl *psl, const pst_dmarc_input *in, const char *from,
		 pst_arena *arena, pst_dmarc_result *out)
{
	if ((out->strict_spf || out->strict_dkim) &&
	    compute_alignment(psl, in, from, arena, out) != 0)
		return -1;
	out->policy = out->published;
	if (out->spf_aligned && out->dkim_aligned)
		out->reason = arena_printf(arena, "SPF and DKIM (d=%s) aligned", out->aligned_dkim_domain);
	else if (out->spf_aligned)
		out->reason = "SPF aligned";
	else if (out->dkim_aligned)
		out->reason = arena_printf(arena, "DKIM (d=%s) aligned", out->aligned_dkim_domain);
	else
		out->reason = "neither SPF nor DKIM aligned";
	if (out->reason == NULL)
		return -1;
	out->result = out->spf_aligned || out->dkim_aligned ? PST_AR_PASS : PST_AR_FAIL;
	if (out->result == PST_AR_FAIL && out->pct < 100 && pct_draw(in, from) >= out->pct) {
		out->policy = one_step_down(out->published);
		out->reason = arena_printf(arena, "neither SPF nor DKIM aligned; not sampled by pct=%u",
		                           out->pct);
		if (out->reason == NULL)
			return -1;
	}
	return 0;
}

/* Step 2: the record for from (or its org domain). 0 with *lk FOUND_ONE
 * and out->record_domain set, 1 when evaluation ends here (out filled),
 * -1 on ENOMEM. */
static int discover(pst_dns_session *dns, pst_arena *arena, const char *from, const char *org,
		    struct dmarc_lookup *lk, pst_dmarc_result *out)
{
	const char *at = from;

	if (lookup(dns, arena, from, lk) != 0)
		return -1;
	if (lk->found == FOUND_NONE && org != NULL && strcmp(org, from) != 0) {
		at = org;
		if (lookup(dns, arena, org, lk) != 0)
			return -1;
	}
	switch (lk->found) {
	case FOUND_ONE:
		out->record_domain = pst_arena_strdup(arena, at);
		return out->record_domain ? 0 : -1;
	case FOUND_TEMP:
		out->result = PST_AR_TEMPERROR;
		out->reason = arena_printf(arena, "%s on _dmarc.%s", pst_dns_status_name(lk->status), at);
		break;
	case FOUND_MANY:
		out->result = PST_AR_NONE;
		if (lk->count == 2)
			out->reason = arena_printf(arena, "two DMARC records at _dmarc.%s", at);
		else
			out->reason = arena_printf(arena, "%zu DMARC records at _dmarc.%s", lk->count, at);
		break;
	case FOUND_NONE:
		out->result = PST_AR_NONE;
		out->reason = arena_printf(arena, "no DMARC record for %s", from);
		break;
	}
	return out->reason ? 1 : -1;
}

/* Step 4: which of p, sp, np is published for this From domain. */
static pst_dmarc_policy published_policy(pst_dns_session *dns, const struct dmarc_record *r,
					 const char *from, const char *record_domain)
{
	if (strcmp(from, record_domain) == 0)
		return r->p;
	if (r->has_np && r->np != r->sp && !domain_exists(dns, from))
		return r->np;
	return r->sp;
}

static int evaluate(pst_dns_session *dns, const pst_psl *psl, const pst_dmarc_input *in,
		    const char *from, pst_arena *arena, pst_dmarc_result *out)
{
	char orgbuf[PST_MAX_DOMAIN_BYTES + 1];
	const char *org = pst_psl_org_domain(psl, from, orgbuf, sizeof orgbuf);
	struct dmarc_lookup lk;
	struct dmarc_record r;
	const char *why = NULL;
	int rc;

	rc = discover(dns, arena, from, org, &lk, out);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = parse_record_memo(arena, lk.text, lk.len, from, org, &r, &why);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		out->result = PST_AR_PERMERROR;
		out->reason = arena_printf(arena, "invalid DMARC record at _dmarc.%s: %s",
		                           out->record_domain, why ? why : "refused");
		return out->reason ? 0 : -1;
	}
	out->strict_spf = r.strict_spf;
	out->strict_dkim = r.strict_dkim;
	out->pct = r.pct;
	out->published = published_policy(dns, &r, from, out->record_domain);
	return align(psl, in, from, arena, out);
}

int pst_dmarc_evaluate(pst_dns_session *dns, const pst_psl *psl, const pst_dmarc_input *in,
		       pst_arena *arena, pst_dmarc_result *out)
{
	const char *why = NULL;
	char *norm;
	int rc;

	if (out == NULL || in == NULL || arena == NULL || dns == NULL || psl == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof *out);
	out->result = PST_AR_NONE;
	out->published = out->policy = PST_POLICY_NONE;
	out->pct = 100;
	if (in->from_domain == NULL) {
		out->reason = "no author domain";
		return 0;
	}
	norm = pst_domain_normalize(in->from_domain, strlen(in->from_domain), &why);
	if (norm == NULL) {
		if (why == pst_domain_why_nomem)
			return -1;
		out->reason = "the From domain is not a valid domain name";
		return 0;
	}
	out->domain = pst_arena_strdup(arena, norm);
	free(norm);
	if (out->domain == NULL)
		return -1;
	/* Relaxed alignment first, kept when no record applies (informative:
	 * spf.aligned and the DKIM alignment of each signature need it). */
	if (compute_alignment(psl, in, out->domain, arena, out) != 0)
		return -1;
	rc = evaluate(dns, psl, in, out->domain, arena, out);
	if (rc == 0 && out->result != PST_AR_PASS && out->result != PST_AR_FAIL)
		out->policy = out->published = PST_POLICY_NONE;
	return rc;
}
