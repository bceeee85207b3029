/*
 * dmarc.c: DMARC (RFC 9989, which obsoletes RFC 7489 and RFC 9091) for
 * one message.
 *
 * Contract (see dmarc.h). The steps, and the choices made where the RFC
 * leaves room:
 *
 *   1. Author domain (5.3.1): one domain per call (from_domain). None
 *      (from_domain NULL) is none, reason "no author domain"; one that is
 *      not a valid domain name is none, reason "the From domain is not a
 *      valid domain name". The author domains are read from the message
 *      by msg/author.h; a message with several is evaluated once per
 *      domain by the caller (message_auth.c), the strictest outcome winning
 *      (CVE-2019-16378).
 *   2. DNS Tree Walk (4.10), ours: TXT at _dmarc.<name>; the records
 *      starting with "v=DMARC1" are kept (the version tag must come first;
 *      "DMARC1" is accepted in any case, as receivers do); two or more at
 *      one name are all discarded. The first name asked is the start; a
 *      name of x labels is followed by its last min(x - 1, 7) labels (the
 *      RFC's shortcut: never more than WALK_MAX, 8, questions), down to
 *      the top-level domain. The walk stops at a single record carrying
 *      psd=y or psd=n. A SERVFAIL or TIMEOUT stops it too, and marks it
 *      unsure: what that name holds could have changed the outcome.
 *   3. Organizational domain (4.10.2) of a walk's start, over the records
 *      found from the longest name to the shortest: one with psd=n is it;
 *      one with psd=y, other than the start's, makes it the name one
 *      label below that one (toward the start); otherwise the name with
 *      the fewest labels that has a record; no record at all: the start.
 *      An unsure walk gives no organizational domain. The Public Suffix
 *      List plays no part in DMARC any more (psl.h stays for the rest).
 *      pst_dmarc_org_domain gives this step to other callers (the rua
 *      external destination check) over the same walk.
 *   4. Policy discovery (4.10.1): the author domain's own record, whose p
 *      applies; else the record at the organizational domain of the
 *      author domain's walk; else the psd=y record the walk found (the
 *      public suffix domain's); else none ("no DMARC record", or "two
 *      DMARC records at ..." when that was all there was). SERVFAIL or
 *      TIMEOUT before the record is settled is temperror, never a
 *      fallback. For a record that is not the author domain's: np when
 *      present and the author domain does not exist (one A question at
 *      it, asked only when np differs from sp; NXDOMAIN means it does not
 *      exist; a failed question keeps sp), else sp, default p.
 *   5. Parsing is ours (record_parse). libopendmarc is no longer used
 *      here: its parser refuses records over pct, rf and ri values that
 *      RFC 9989 ignores, reads adkim/aspf by their first letter, corrupts
 *      aspf after rf=iodef and knows neither np, psd nor t. Tags read
 *      (4.7, 4.8; the last occurrence wins): p, sp, np (none, quarantine,
 *      reject, any case); adkim, aspf (r or s; anything else is r); psd
 *      (y, n or u; anything else is u); t (y or n; anything else is n);
 *      rua only for whether it holds one syntactically valid URI. Unknown
 *      tags, pct, rf and ri among them, and terms that are no tag=value
 *      are ignored. p absent: p=none (4.7). p present but no policy word,
 *      or an invalid sp or np: with a valid rua URI the record acts as
 *      "p=none" (sp and np dropped); without, no DMARC processing
 *      (4.10.1), which we report as permerror so the result tells a
 *      broken record from no record. A record over
 *      PST_MAX_DMARC_RECORD_BYTES, or holding a NUL byte, is permerror.
 *   6. Alignment (4.4, 4.10.2), ours: strict means equal; relaxed means
 *      the same organizational domain. An identifier equal to the author
 *      domain aligns with no question asked; one that is neither the
 *      author's organizational domain nor under it cannot share it (no
 *      question); otherwise its own walk decides. SPF aligns when spf is
 *      pass; DKIM when one passing d= aligns. pass if either; fail if
 *      neither and every walk needed was sure; else temperror. When no
 *      record applies (none, temperror, permerror) the alignment flags
 *      are still filled, under relaxed alignment (informative).
 *   7. t=y (4.7): a failing message gets the policy one step down
 *      (reject to quarantine, quarantine to none); published keeps the
 *      record's, testing is set and the reason says so. pct is gone:
 *      nothing is sampled.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "auth/dmarc.h"
#include "util/buf.h"
#include "util/domain.h"
#include "util/limits.h"

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

/* The psd tag (4.7). */
enum { PSD_U, PSD_Y, PSD_N };

/* The fields of a parsed record. */
struct dmarc_record {
	pst_dmarc_policy p, sp, np;
	int has_np;
	int strict_spf, strict_dkim;
	int psd;
	int testing;            /* t=y */
};

/* The RFC's bound on the questions of one walk (4.10). */
#define WALK_MAX 8

struct walk_hit {
	const char *domain;     /* a suffix of the walk's start */
	const char *text;       /* the record (in the arena) */
	struct dmarc_record r;
	int refused;            /* no DMARC processing under this record */
	const char *why;        /* static, when refused */
};

struct walk {
	const char *start;
	struct walk_hit hit[WALK_MAX];
	size_t nhit;
	const char *many_name;  /* the first name with several records */
	size_t many;
	int unsure;             /* stopped by SERVFAIL or TIMEOUT */
	pst_dns_status status;
	const char *failed;     /* the name whose question failed */
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

/* Our read of an alignment mode tag: 1 strict, 0 relaxed (the default,
 * and what an invalid value falls back to). */
static int raw_strict(const char *rec, const char *tag)
{
	size_t n;
	const char *v = raw_tag(rec, tag, &n);

	return v != NULL && n == 1 && lower((unsigned char)v[0]) == 's';
}

/* A one-letter flag tag: its letter, lower case, or 0 when absent or not
 * one letter. */
static int raw_letter(const char *rec, const char *tag)
{
	size_t n;
	const char *v = raw_tag(rec, tag, &n);

	return v != NULL && n == 1 ? lower((unsigned char)v[0]) : 0;
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether [s, s + n) is a syntactically valid URI as far as DMARC needs:
 * an RFC 3986 scheme, ':', then at least one printing character and no
 * white space. */
static int is_uri(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alpha(s[0]))
		return 0;
	for (i = 1; i < n && s[i] != ':'; i++)
		if (!is_alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9') && s[i] != '+'
		    && s[i] != '-' && s[i] != '.')
			return 0;
	if (i + 1 >= n)
		return 0;
	for (i++; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* Whether the record's rua holds at least one valid URI (4.10.1). */
static int has_valid_rua(const char *rec)
{
	size_t n;
	const char *v = raw_tag(rec, "rua", &n), *end;

	if (v == NULL)
		return 0;
	for (end = v + n; v < end;) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *stop = comma ? comma : end, *a = v, *b = stop;
		while (a < b && is_wsp(*a))
			a++;
		while (b > a && is_wsp(b[-1]))
			b--;
		if (is_uri(a, (size_t)(b - a)))
			return 1;
		v = comma ? comma + 1 : end;
	}
	return 0;
}

/* Parse rec (step 5): 0 with *r filled, 1 when the record allows no DMARC
 * processing (*why set, static). */
static int record_parse(const char *rec, size_t len, struct dmarc_record *r, const char **why)
{
	const char *bad = NULL, *v;
	size_t n;

	memset(r, 0, sizeof *r);
	r->p = r->sp = r->np = PST_POLICY_NONE;
	if (len > PST_MAX_DMARC_RECORD_BYTES) {
		*why = "record too long";
		return 1;
	}
	if (strlen(rec) != len) {
		*why = "record holds a NUL byte";
		return 1;
	}
	if ((v = raw_tag(rec, "p", &n)) != NULL && policy_word(v, n, &r->p) != 0)
		bad = "no valid p";
	r->sp = r->p;
	if ((v = raw_tag(rec, "sp", &n)) != NULL && policy_word(v, n, &r->sp) != 0)
		bad = bad ? bad : "invalid sp";
	if ((v = raw_tag(rec, "np", &n)) != NULL) {
		if (policy_word(v, n, &r->np) == 0)
			r->has_np = 1;
		else
			bad = bad ? bad : "invalid np";
	}
	if (bad != NULL) {
		if (!has_valid_rua(rec)) {
			*why = bad;
			return 1;
		}
		r->p = r->sp = r->np = PST_POLICY_NONE;
		r->has_np = 0;
	}
	r->strict_dkim = raw_strict(rec, "adkim");
	r->strict_spf = raw_strict(rec, "aspf");
	switch (raw_letter(rec, "psd")) {
	case 'y': r->psd = PSD_Y; break;
	case 'n': r->psd = PSD_N; break;
	default: r->psd = PSD_U; break;
	}
	r->testing = raw_letter(rec, "t") == 'y';
	return 0;
}

/* The number of labels of a normalised name. */
static size_t label_count(const char *d)
{
	size_t n = 1;

	for (; *d != '\0'; d++)
		n += *d == '.';
	return n;
}

/* The last k labels of d (k >= 1, at most its labels), within d. */
static const char *last_labels(const char *d, size_t k)
{
	size_t skip = label_count(d) - k;

	while (skip > 0 && *d != '\0')
		if (*d++ == '.')
			skip--;
	return d;
}

/* The name asked after name (4.10 steps 3, 4, 7), or NULL after a TLD. */
static const char *walk_next(const char *name)
{
	size_t x = label_count(name);

	if (x <= 1)
		return NULL;
	return last_labels(name, x - 1 < WALK_MAX - 1 ? x - 1 : WALK_MAX - 1);
}

/* The DNS Tree Walk from start (step 2). Names in *w point into start.
 * 0, or -1 on ENOMEM. */
static int walk(pst_dns_session *dns, pst_arena *arena, const char *start, struct walk *w)
{
	const char *name = start;

	memset(w, 0, sizeof *w);
	w->start = start;
	for (size_t q = 0; q < WALK_MAX && name != NULL; q++, name = walk_next(name)) {
		struct dmarc_lookup lk;
		struct walk_hit *h;
		if (lookup(dns, arena, name, &lk) != 0)
			return -1;
		if (lk.found == FOUND_TEMP) {
			w->unsure = 1;
			w->status = lk.status;
			w->failed = name;
			return 0;
		}
		if (lk.found == FOUND_MANY && w->many_name == NULL) {
			w->many_name = name;
			w->many = lk.count;
		}
		if (lk.found != FOUND_ONE)
			continue;
		h = &w->hit[w->nhit++];
		h->domain = name;
		h->text = lk.text;
		h->refused = record_parse(lk.text, lk.len, &h->r, &h->why);
		if (h->r.psd != PSD_U)
			return 0;
	}
	return 0;
}

/* Step 3: the organizational domain of the walk's start into *org: 0, or
 * 1 when the walk was unsure. */
static int walk_org(const struct walk *w, const char **org)
{
	for (size_t i = 0; i < w->nhit; i++) {
		const struct walk_hit *h = &w->hit[i];
		if (h->r.psd == PSD_N) {
			*org = h->domain;
			return 0;
		}
		if (h->r.psd == PSD_Y && h->domain != w->start) {
			*org = last_labels(w->start, label_count(h->domain) + 1);
			return 0;
		}
	}
	if (w->unsure)
		return 1;
	*org = w->nhit > 0 ? w->hit[w->nhit - 1].domain : w->start;
	return 0;
}

/* Step 4: the record that applies to the walk's start. 0 with *out, 1 for
 * none, 2 when unsure. */
static int walk_policy(const struct walk *w, const struct walk_hit **out)
{
	const char *org;

	if (w->nhit > 0 && w->hit[0].domain == w->start) {
		*out = &w->hit[0];
		return 0;
	}
	if (walk_org(w, &org) != 0)
		return 2;
	for (size_t i = 0; i < w->nhit; i++)
		if (w->hit[i].domain == org) {
			*out = &w->hit[i];
			return 0;
		}
	for (size_t i = 0; i < w->nhit; i++)
		if (w->hit[i].r.psd == PSD_Y) {
			*out = &w->hit[i];
			return 0;
		}
	return 1;
}

/* Whether domain exists: 0 only for NXDOMAIN on an A question. */
static int domain_exists(pst_dns_session *dns, const char *domain)
{
	pst_dns_answer ans;

	return pst_dns_session_query(dns, domain, ns_t_a, &ans) != PST_DNS_NXDOMAIN;
}

static pst_dmarc_policy one_step_down(pst_dmarc_policy p)
{
	return p == PST_POLICY_REJECT ? PST_POLICY_QUARANTINE : PST_POLICY_NONE;
}

/* Where an alignment walk failed, for the reason. */
struct walk_failure {
	pst_dns_status status;
	const char *name;
};

/* Step 6 for one identifier: 1 aligned, 0 not, 2 unknown (a walk was
 * unsure; *fail set when it was the identifier's, else it holds the
 * author domain's), -1 on ENOMEM. org is the author domain's
 * organizational domain, NULL when unknown. */
static int aligned(pst_dns_session *dns, pst_arena *arena, const char *id, const char *from,
		   const char *org, int strict, struct walk_failure *fail)
{
	const char *why = NULL, *id_org;
	char *norm = pst_domain_normalize(id, strlen(id), &why);
	struct walk w;
	int rc;

	if (norm == NULL)
		return why == pst_domain_why_nomem ? -1 : 0;
	if (strcmp(norm, from) == 0 || strict) {
		rc = strcmp(norm, from) == 0;
		free(norm);
		return rc;
	}
	if (org == NULL) {
		free(norm);
		return 2;
	}
	if (strcmp(norm, org) != 0 && !pst_domain_is_under(norm, org)) {
		free(norm);
		return 0;
	}
	id = pst_arena_strdup(arena, norm);
	free(norm);
	if (id == NULL || walk(dns, arena, id, &w) != 0)
		return -1;
	if (walk_org(&w, &id_org) != 0) {
		fail->status = w.status;
		fail->name = w.failed;
		return 2;
	}
	return strcmp(id_org, org) == 0;
}

/* Both alignments under out's strict flags; *unsure when one could not be
 * told. -1 on ENOMEM. */
static int compute_alignment(pst_dns_session *dns, const pst_dmarc_input *in, const char *from,
			     const char *org, pst_arena *arena, pst_dmarc_result *out,
			     struct walk_failure *fail, int *unsure)
{
	int a;

	*unsure = 0;
	out->spf_aligned = out->dkim_aligned = 0;
	out->aligned_dkim_domain = NULL;
	if (in->spf == PST_AR_PASS && in->spf_domain != NULL) {
		a = aligned(dns, arena, in->spf_domain, from, org, out->strict_spf, fail);
		if (a < 0)
			return -1;
		out->spf_aligned = a == 1;
		*unsure |= a == 2;
	}
	for (size_t i = 0; i < in->ndkim_pass && in->dkim_pass_domains != NULL; i++) {
		const char *d = in->dkim_pass_domains[i];
		if (d == NULL)
			continue;
		a = aligned(dns, arena, d, from, org, out->strict_dkim, fail);
		if (a < 0)
			return -1;
		*unsure |= a == 2;
		if (a == 1) {
			out->dkim_aligned = 1;
			out->aligned_dkim_domain = pst_arena_strdup(arena, d);
			return out->aligned_dkim_domain ? 0 : -1;
		}
	}
	return 0;
}

/* Steps 6 and 7: alignment, result and the applied policy. -1 on ENOMEM. */
static int align(pst_dns_session *dns, const pst_dmarc_input *in, const char *from,
		 const struct walk *w, pst_arena *arena, pst_dmarc_result *out)
{
	struct walk_failure fail = { w->status, w->failed };
	const char *org = out->org_domain;
	int unsure;

	if (compute_alignment(dns, in, from, org, arena, out, &fail, &unsure) != 0)
		return -1;
	out->policy = out->published;
	if (out->spf_aligned && out->dkim_aligned)
		out->reason = arena_printf(arena, "SPF and DKIM (d=%s) aligned", out->aligned_dkim_domain);
	else if (out->spf_aligned)
		out->reason = "SPF aligned";
	else if (out->dkim_aligned)
		out->reason = arena_printf(arena, "DKIM (d=%s) aligned", out->aligned_dkim_domain);
	else if (unsure)
		out->reason = arena_printf(arena, "alignment unknown: %s on _dmarc.%s",
		                           pst_dns_status_name(fail.status), fail.name);
	else
		out->reason = "neither SPF nor DKIM aligned";
	if (out->reason == NULL)
		return -1;
	if (out->spf_aligned || out->dkim_aligned)
		out->result = PST_AR_PASS;
	else
		out->result = unsure ? PST_AR_TEMPERROR : PST_AR_FAIL;
	if (out->result == PST_AR_FAIL && out->testing && out->published != PST_POLICY_NONE) {
		out->policy = one_step_down(out->published);
		out->reason = "neither SPF nor DKIM aligned; t=y (testing): one step down";
	}
	return 0;
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

/* No record applies: out's result and reason from the walk. */
static const char *no_record_reason(pst_arena *arena, const struct walk *w, int found)
{
	if (found == 2)
		return arena_printf(arena, "%s on _dmarc.%s", pst_dns_status_name(w->status), w->failed);
	if (w->many_name != NULL && w->many == 2)
		return arena_printf(arena, "two DMARC records at _dmarc.%s", w->many_name);
	if (w->many_name != NULL)
		return arena_printf(arena, "%zu DMARC records at _dmarc.%s", w->many, w->many_name);
	return arena_printf(arena, "no DMARC record for %s", w->start);
}

static int evaluate(pst_dns_session *dns, const pst_dmarc_input *in, const char *from,
		    pst_arena *arena, pst_dmarc_result *out)
{
	const struct walk_hit *h = NULL;
	const char *org = NULL;
	struct walk w;
	int found;

	if (walk(dns, arena, from, &w) != 0)
		return -1;
	if (walk_org(&w, &org) == 0)
		out->org_domain = org;
	found = walk_policy(&w, &h);
	if (found == 0 && !h->refused) {
		out->record_domain = h->domain;
		out->record = h->text;
		out->strict_spf = h->r.strict_spf;
		out->strict_dkim = h->r.strict_dkim;
		out->testing = h->r.testing;
		out->psd = h->r.psd == PSD_Y ? 'y' : h->r.psd == PSD_N ? 'n' : 'u';
		out->published = published_policy(dns, &h->r, from, h->domain);
		return align(dns, in, from, &w, arena, out);
	}
	/* No record applies: relaxed alignment, informative only. */
	if (align(dns, in, from, &w, arena, out) != 0)
		return -1;
	out->testing = 0;
	if (found == 0) {
		out->record_domain = h->domain;
		out->record = h->text;
		out->result = PST_AR_PERMERROR;
		out->reason = arena_printf(arena, "invalid DMARC record at _dmarc.%s: %s",
		                           h->domain, h->why);
	} else {
		out->result = found == 2 ? PST_AR_TEMPERROR : PST_AR_NONE;
		out->reason = no_record_reason(arena, &w, found);
	}
	return out->reason ? 0 : -1;
}

int pst_dmarc_evaluate(pst_dns_session *dns, const pst_dmarc_input *in, pst_arena *arena,
		       pst_dmarc_result *out)
{
	const char *why = NULL;
	char *norm;
	int rc;

	if (out == NULL || in == NULL || arena == NULL || dns == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof *out);
	out->result = PST_AR_NONE;
	out->published = out->policy = PST_POLICY_NONE;
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
	rc = evaluate(dns, in, out->domain, arena, out);
	if (rc == 0 && out->result != PST_AR_PASS && out->result != PST_AR_FAIL)
		out->policy = out->published = PST_POLICY_NONE;
	return rc;
}

int pst_dmarc_org_domain(pst_dns_session *dns, pst_arena *arena, const char *domain,
			 const char **org)
{
	const char *why = NULL, *start;
	struct walk w;
	char *norm;

	if (org != NULL)
		*org = NULL;
	if (dns == NULL || arena == NULL || domain == NULL || org == NULL) {
		errno = EINVAL;
		return -1;
	}
	norm = pst_domain_normalize(domain, strlen(domain), &why);
	if (norm == NULL) {
		errno = why == pst_domain_why_nomem ? ENOMEM : EINVAL;
		return -1;
	}
	start = pst_arena_strdup(arena, norm);
	free(norm);
	if (start == NULL || walk(dns, arena, start, &w) != 0) {
		errno = ENOMEM;
		return -1;
	}
	return walk_org(&w, org) != 0 ? 1 : 0;
}
