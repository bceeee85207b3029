/*
 * spf.c: SPF check_host() (RFC 7208) through libspf2, over our DNS layer.
 *
 * Contract: spf.h. libspf2 compiles and interprets the records; we give it
 * a custom SPF_dns_server_t whose three hooks answer from the pst_dns_session
 * of the check running on the calling thread (a _Thread_local pointer set
 * around each check, so one SPF_server_t serves every thread read-only):
 *
 *   get_spf  fetches the record of the current domain (top level, include,
 *            redirect): TXT only (RFC 7208 3.1, no type 99), the selection
 *            of 4.5 (exactly one "v=spf1" record, else none or permerror);
 *   get_exp  answers exp= without a look-up: explanations are not fetched
 *            (4.6.4: exp does not count, and nothing here reports one);
 *   lookup   every other question (A, AAAA, MX, PTR), converted from a
 *            pst_dns_answer. It never returns NULL (libspf2 would abort):
 *            failures are an RR set with herrno TRY_AGAIN.
 *
 * Accounting (RFC 7208 4.6.4), per check_host() evaluation, done here
 * because libspf2 counts per record and one too late. Questions are
 * classified as they arrive:
 *   - a record fetch after the first is an include or a redirect: 1 term;
 *   - an MX question is an mx term; its answer's exchanges become the
 *     expected follow-ups: A/AAAA questions for exactly those names, in
 *     answer order, are the mx's address look-ups (not terms). An answer
 *     with more than 10 exchanges is permerror at once;
 *   - a PTR question is a ptr term; its answer is cut to 10 names (4.6.4:
 *     the rest MUST be ignored) and those names become the follow-ups;
 *   - any other A/AAAA question is an a or exists term.
 * A term (a, mx, ptr, exists) whose question answers NXDOMAIN or NODATA is
 * a void look-up. The 11th term or the 3rd void look-up marks the check
 * "over": the question is not asked (or its answer withheld), every later
 * question answers TRY_AGAIN without reaching DNS, and the result is
 * permerror whatever libspf2 concludes. Limits of the classification: an
 * a: term naming the next expected mx/ptr host right after an mx or ptr
 * that stopped early (a fail-prefix match inside an include) is taken as a
 * follow-up and not counted.
 *
 * Macros (RFC 7208 7) are expanded by us, not by libspf2, whose expansion
 * is wrong (spf_macro.h): when a record is fetched, each domain-spec that
 * holds one is expanded for this request (sender, client IP, HELO) and the
 * record's domain, before libspf2 compiles it. %{p} is found by our own
 * questions (PTR, then the address of each of the first 10 names), made
 * once per check; each %{p} expanded counts as a DNS-querying term and an
 * empty PTR answer as a void look-up (4.6.4). Because expansion happens at
 * fetch time, a %{p} counts even in a term that evaluation never reaches
 * (more terms, never fewer: it can only turn a result into permerror).
 * Such records depend on the request and are never remembered.
 *
 * Records are checked against the RFC 7208 grammar by us and handed to
 * libspf2 rewritten (spf_syntax.h): redirect= last and only without "all",
 * exp= and unknown modifiers dropped, /0 prefixes in a form it evaluates.
 * The compiled form is remembered by (family, text) for later messages
 * (memo_take), unless a domain-spec held a macro. None of this touches the
 * accounting: terms are counted as the questions are asked, whoever
 * answers them.
 *
 * Inputs are validated before libspf2 sees them: no client address, a
 * loopback address (libspf2 passes those), a malformed or single-label
 * domain or an address literal gives none with no question asked (RFC
 * 7208 4.3: malformed domains are "none").
 */
#include "auth/spf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <spf2/spf.h>

#include "auth/spf_macro.h"
#include "auth/spf_syntax.h"
#include "util/buf.h"
#include "util/domain.h"
#include "util/limits.h"
#include "util/memo.h"

/* Appended by spf_syntax.c to the domain of an a or mx term with a /0
 * prefix: ".." then random hex, so no macro expansion can forge it. */
#define PST_SPF_MARKER_HEX 16

/* Compiled records, remembered by (client family, record text) up to
 * PST_SPF_MEMO_MAX_TEXT bytes: see memo_take. */

struct pst_spf {
	SPF_dns_server_t layer;        /* our DNS layer; not owned by server */
	SPF_server_t *server;
	char zero_marker[2 + PST_SPF_MARKER_HEX + 1];
	pst_memo *memo;                /* owned; shared by threads (util/memo.h) */
};

enum pst_spf_top {
	PST_SPF_TOP_UNSET = 0,
	PST_SPF_TOP_OK,                /* one record, compiled */
	PST_SPF_TOP_NONE,              /* no such name, or no SPF record */
	PST_SPF_TOP_TEMP,              /* SERVFAIL or timeout */
	PST_SPF_TOP_MULTIPLE,          /* several v=spf1 records */
	PST_SPF_TOP_SYNTAX             /* a record that does not compile */
};

enum pst_spf_follow {
	PST_SPF_FOLLOW_NONE = 0,
	PST_SPF_FOLLOW_MX,
	PST_SPF_FOLLOW_PTR
};

/* One check_host() evaluation: what the hooks need and what they count. */
typedef struct pst_spf_ctx {
	const pst_spf *spf;
	pst_dns_session *dns;
	pst_arena *arena;
	pst_ip client;
	const char *zero_marker;
	size_t zero_marker_len;
	int follow_zero;               /* the follow-ups belong to an mx with /0 */
	unsigned fetches;              /* record fetches so far */
	unsigned terms;
	unsigned voids;
	int over;
	char over_reason[96];
	enum pst_spf_top top;
	char top_reason[PST_MAX_DOMAIN_BYTES + 64];
	char temp_reason[PST_MAX_DOMAIN_BYTES + 64];
	enum pst_spf_follow follow_kind;
	const char *follow[PST_SPF_MAX_MX_NAMES > PST_SPF_MAX_PTR_NAMES ?
	                   PST_SPF_MAX_MX_NAMES : PST_SPF_MAX_PTR_NAMES];
	size_t nfollow, next_follow;
	/* For the macros (spf_macro.h): the check's arguments. */
	const char *sender;
	const char *helo;              /* NULL: %{h} is permerror */
	/* %{p}: the client's validated names, found once per check. */
	int pnames_done;
	pst_dns_status pnames_status;  /* of the PTR question */
	const char *pnames[PST_SPF_MAX_PTR_NAMES];
	size_t npnames;
} pst_spf_ctx;

static _Thread_local pst_spf_ctx *pst_spf_current;

/* ---- Counting ----------------------------------------------------------- */

static void ctx_set_over(pst_spf_ctx *c, const char *why)
{
	if (c->over)
		return;
	c->over = 1;
	snprintf(c->over_reason, sizeof c->over_reason, "%s", why);
}

/* Count one DNS-querying term; 0 if it may be asked, -1 when over. */
static int ctx_count_term(pst_spf_ctx *c)
{
	if (c->over)
		return -1;
	if (c->terms >= PST_SPF_MAX_DNS_TERMS) {
		ctx_set_over(c, "more than 10 DNS-querying terms");
		return -1;
	}
	c->terms++;
	return 0;
}

/* Count a void answer to a term; -1 when that goes over the limit. */
static int ctx_count_void(pst_spf_ctx *c, pst_dns_status st)
{
	if (st != PST_DNS_NXDOMAIN && st != PST_DNS_NODATA)
		return 0;
	c->voids++;
	if (c->voids > PST_SPF_MAX_VOID_LOOKUPS) {
		ctx_set_over(c, "more than 2 void look-ups");
		return -1;
	}
	return 0;
}

static void ctx_note_temp(pst_spf_ctx *c, pst_dns_status st, int type, const char *name)
{
	if (st != PST_DNS_SERVFAIL && st != PST_DNS_TIMEOUT)
		return;
	if (c->temp_reason[0] != '\0')
		return;
	const char *tn = pst_dns_type_name(type);
	snprintf(c->temp_reason, sizeof c->temp_reason, "%s on %s %s",
	         pst_dns_status_name(st), tn ? tn : "?", name);
}

/* Whether an address question for name is the next expected follow-up of
 * the last mx or ptr; consumes it if so, else forgets the follow-ups. */
static int ctx_take_follow(pst_spf_ctx *c, const char *name)
{
	if (c->next_follow < c->nfollow) {
		const char *want = c->follow[c->next_follow];
		size_t n = strlen(name);
		if (n > 0 && name[n - 1] == '.')
			n--;
		if (strlen(want) == n && strncasecmp(want, name, n) == 0) {
			c->next_follow++;
			return 1;
		}
	}
	c->follow_kind = PST_SPF_FOLLOW_NONE;
	c->nfollow = c->next_follow = 0;
	return 0;
}

static void ctx_set_follow(pst_spf_ctx *c, enum pst_spf_follow kind, const pst_dns_answer *ans,
                           size_t n)
{
	c->follow_kind = kind;
	c->follow_zero = 0;
	c->nfollow = 0;
	c->next_follow = 0;
	for (size_t i = 0; i < n && i < sizeof c->follow / sizeof c->follow[0]; i++)
		c->follow[c->nfollow++] = ans->rrs[i].target ? ans->rrs[i].target : "";
}

/* ---- Answers in libspf2's form ------------------------------------------ */

static int herrno_of(pst_dns_status st)
{
	switch (st) {
	case PST_DNS_NOERROR:
		return NETDB_SUCCESS;
	case PST_DNS_NXDOMAIN:
		return HOST_NOT_FOUND;
	case PST_DNS_NODATA:
		return NO_DATA;
	default:
		return TRY_AGAIN;
	}
}

static SPF_dns_rr_t *rr_empty(SPF_dns_server_t *layer, const char *domain, ns_type type,
                              int herrno)
{
	return SPF_dns_rr_new_init(layer, domain ? domain : "", type, 0, herrno);
}

/* Copy one record's data into slot i of rr. 0, or -1 on ENOMEM. */
static int rr_put(SPF_dns_rr_t *rr, int i, ns_type type, const pst_dns_rr *src)
{
	const char *s = NULL;
	size_t len;

	switch (type) {
	case ns_t_a:
		if (src->addr.family != 4)
			return 1;
		len = sizeof(struct in_addr);
		break;
	case ns_t_aaaa:
		if (src->addr.family != 6)
			return 1;
		len = sizeof(struct in6_addr);
		break;
	case ns_t_mx:
	case ns_t_ptr:
	case ns_t_cname:
		s = src->target ? src->target : "";
		len = strlen(s) + 1;
		break;
	case ns_t_txt:
	case ns_t_spf:
		s = src->text ? src->text : "";
		len = strlen(s) + 1;
		break;
	default:
		return 1;
	}
	if (SPF_dns_rr_buf_realloc(rr, i, len) != SPF_E_SUCCESS)
		return -1;
	if (type == ns_t_a)
		memcpy(&rr->rr[i]->a, src->addr.bytes, sizeof(struct in_addr));
	else if (type == ns_t_aaaa)
		memcpy(&rr->rr[i]->aaaa, src->addr.bytes, sizeof(struct in6_addr));
	else
		memcpy(rr->rr[i]->txt, s, len);
	return 0;
}

/* The RR set for (domain, type) from ans, at most max records. On ENOMEM
 * for the records an empty TRY_AGAIN set. NULL only when even that cannot
 * be allocated. */
static SPF_dns_rr_t *rr_from_answer(SPF_dns_server_t *layer, const char *domain, ns_type type,
                                    const pst_dns_answer *ans, size_t max)
{
	int herrno = herrno_of(ans->status);
	size_t n = ans->status == PST_DNS_NOERROR ? ans->count : 0;
	uint32_t ttl = n > 0 ? ans->rrs[0].ttl : 0;
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(layer, domain, type, (int)(ttl > 86400 ? 86400 : ttl),
	                                       herrno);
	if (rr == NULL)
		return NULL;
	int k = 0;
	for (size_t i = 0; i < n && (size_t)k < max; i++) {
		int r = rr_put(rr, k, type, &ans->rrs[i]);
		if (r < 0) {
			SPF_dns_rr_free(rr);
			return rr_empty(layer, domain, type, TRY_AGAIN);
		}
		if (r == 0)
			k++;
	}
	rr->num_rr = k;
	if (k == 0 && herrno == NETDB_SUCCESS)
		rr->herrno = NO_DATA;
	return rr;
}

/* ---- The hooks ------------------------------------------------------------ */

/* The domain without the /0 marker into buf; 1 when it had the marker. */
static int strip_zero_marker(const pst_spf_ctx *c, const char *domain, char *buf, size_t size)
{
	size_t n = strlen(domain), m = c->zero_marker_len;
	if (m == 0 || n <= m || n - m >= size || memcmp(domain + n - m, c->zero_marker, m) != 0)
		return 0;
	memcpy(buf, domain, n - m);
	buf[n - m] = '\0';
	return 1;
}

/* For a /0 term: any address of the client's family matches, so an answer
 * with records becomes one record holding the client's address. */
static SPF_dns_rr_t *rr_any_address(SPF_dns_server_t *layer, const char *domain, ns_type type,
                                    const pst_spf_ctx *c, const pst_dns_answer *ans)
{
	pst_dns_rr one = ans->rrs[0];
	pst_dns_answer only = *ans;
	one.addr = c->client;
	only.rrs = &one;
	only.count = 1;
	return rr_from_answer(layer, domain, type, &only, 1);
}

static SPF_dns_rr_t *hook_lookup(SPF_dns_server_t *layer, const char *asked, ns_type type,
                                 int should_cache)
{
	(void)should_cache;
	pst_spf_ctx *c = pst_spf_current;
	if (c == NULL || asked == NULL || c->over)
		return rr_empty(layer, asked, type, TRY_AGAIN);
	char stripped[PST_MAX_DOMAIN_INPUT_BYTES + 1];
	int zero = strip_zero_marker(c, asked, stripped, sizeof stripped);
	const char *domain = zero ? stripped : asked;

	int is_term = 0;
	switch (type) {
	case ns_t_mx:
	case ns_t_ptr:
		c->follow_kind = PST_SPF_FOLLOW_NONE;
		c->nfollow = c->next_follow = 0;
		is_term = 1;
		break;
	case ns_t_a:
	case ns_t_aaaa:
		if (ctx_take_follow(c, domain))
			zero = c->follow_zero;
		else
			is_term = 1;
		break;
	default:
		break;         /* TXT only reaches us through get_spf/get_exp */
	}
	if (is_term && ctx_count_term(c) < 0)
		return rr_empty(layer, domain, type, TRY_AGAIN);

	enum pst_spf_follow kind = is_term ? PST_SPF_FOLLOW_NONE : c->follow_kind;
	pst_dns_answer ans;
	pst_dns_status st = pst_dns_session_query(c->dns, domain, type, &ans);
	/* 5.5: a DNS error on a ptr name's addresses skips that name. */
	if (kind == PST_SPF_FOLLOW_PTR && (st == PST_DNS_SERVFAIL || st == PST_DNS_TIMEOUT))
		return rr_empty(layer, domain, type, HOST_NOT_FOUND);
	ctx_note_temp(c, st, type, domain);
	if (is_term && ctx_count_void(c, st) < 0)
		return rr_empty(layer, domain, type, TRY_AGAIN);

	size_t max = (size_t)-1;
	if (st == PST_DNS_NOERROR && type == ns_t_mx) {
		if (ans.count > PST_SPF_MAX_MX_NAMES) {
			ctx_set_over(c, "more than 10 MX names");
			return rr_empty(layer, domain, type, TRY_AGAIN);
		}
		ctx_set_follow(c, PST_SPF_FOLLOW_MX, &ans, ans.count);
		c->follow_zero = zero;
	} else if (st == PST_DNS_NOERROR && type == ns_t_ptr) {
		max = PST_SPF_MAX_PTR_NAMES;    /* 4.6.4: the rest MUST be ignored */
		ctx_set_follow(c, PST_SPF_FOLLOW_PTR, &ans, ans.count < max ? ans.count : max);
	}
	SPF_dns_rr_t *rr;
	if (zero && st == PST_DNS_NOERROR && ans.count > 0 && (type == ns_t_a || type == ns_t_aaaa))
		rr = rr_any_address(layer, domain, type, c, &ans);
	else
		rr = rr_from_answer(layer, domain, type, &ans, max);
	return rr ? rr : rr_empty(layer, domain, type, TRY_AGAIN);
}

/* Whether a TXT string is an SPF record (RFC 7208 4.5): "v=spf1" alone or
 * followed by a space, any case. */
static int is_spf_record(const pst_dns_rr *rr)
{
	if (rr->text == NULL || rr->text_len < 6)
		return 0;
	if (strncasecmp(rr->text, "v=spf1", 6) != 0)
		return 0;
	return rr->text_len == 6 || rr->text[6] == ' ';
}

static SPF_errcode_t fetch_fail(pst_spf_ctx *c, int top, enum pst_spf_top state,
                                SPF_response_t *resp, SPF_errcode_t err, const char *why,
                                const char *domain)
{
	if (top) {
		c->top = state;
		snprintf(c->top_reason, sizeof c->top_reason, "%s %s", why, domain);
	}
	if (state == PST_SPF_TOP_NONE)
		resp->result = SPF_RESULT_NONE;
	else if (state == PST_SPF_TOP_MULTIPLE || state == PST_SPF_TOP_SYNTAX)
		resp->result = SPF_RESULT_PERMERROR;
	else
		resp->result = SPF_RESULT_TEMPERROR;
	resp->err = err;
	return err;
}

/* ---- Compiled records, remembered ----------------------------------------
 *
 * Rewriting a record (spf_syntax.c) and compiling it (SPF_record_compile)
 * cost about 4,000 instructions per fetch, for records that are the same
 * for every message from a domain. The compiled form depends only on the
 * record's text and the client's family (the /0 marker is the server's),
 * so it is remembered by those in the server's pst_memo (util/memo.h: key
 * the family digit then the text; value an SPF_record_t pointer) and never
 * goes stale: a changed record is a different text. Only clean compiles
 * are kept (no message added to the response). libspf2 frees the record
 * it is handed, so the memo's copy hook clones: the struct and its two
 * flat buffers (spf_record.h), three allocations, both when a record is
 * kept and when a hit hands one out. */

static void *memdup(const void *p, size_t n)
{
	void *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* A copy libspf2 may free with SPF_record_free, or NULL on ENOMEM. */
static SPF_record_t *record_clone(const SPF_record_t *src)
{
	SPF_record_t *r = SPF_record_new(src->spf_server, NULL);
	if (r == NULL)
		return NULL;
	r->version = src->version;
	r->num_mech = src->num_mech;
	r->num_mod = src->num_mod;
	r->num_dns_mech = src->num_dns_mech;
	if (src->mech_first) {
		if ((r->mech_first = memdup(src->mech_first, src->mech_len)) == NULL)
			goto nomem;
		r->mech_size = r->mech_len = src->mech_len;
	}
	if (src->mod_first) {
		if ((r->mod_first = memdup(src->mod_first, src->mod_len)) == NULL)
			goto nomem;
		r->mod_size = r->mod_len = src->mod_len;
	}
	return r;
nomem:
	SPF_record_free(r);
	return NULL;
}

/* The memo's value hooks: a value is one SPF_record_t *. */
static int memo_copy_record(void *dst, const void *src)
{
	SPF_record_t *r = record_clone(*(SPF_record_t *const *)src);
	if (r == NULL)
		return -1;
	*(SPF_record_t **)dst = r;
	return 0;
}

static void memo_release_record(void *value)
{
	SPF_record_free(*(SPF_record_t **)value);
}

static const pst_memo_spec memo_spec = {
	.value_size = sizeof(SPF_record_t *),
	.max_key = 1 + PST_SPF_MEMO_MAX_TEXT,
	.copy = memo_copy_record,
	.release = memo_release_record,
};

/* The memo key of (family, text) into key (1 + PST_SPF_MEMO_MAX_TEXT
 * bytes): its length, or 0 when the text is too long to be remembered. */
static size_t memo_key(int family, const char *text, size_t len, char *key)
{
	if (len > PST_SPF_MEMO_MAX_TEXT)
		return 0;
	key[0] = family == 6 ? '6' : '4';
	memcpy(key + 1, text, len);
	return 1 + len;
}

/* A copy of the record compiled from text for family (the caller's, for
 * libspf2 to free), if remembered; else NULL. */
static SPF_record_t *memo_take(pst_memo *m, const char *text, size_t len, int family)
{
	char key[1 + PST_SPF_MEMO_MAX_TEXT];
	size_t kn = memo_key(family, text, len, key);
	SPF_record_t *copy = NULL;

	if (m == NULL || kn == 0 || !pst_memo_get(m, key, kn, &copy))
		return NULL;
	return copy;
}

/* Remember a copy of rec (borrowed) as compiled from text for family. */
static void memo_keep(pst_memo *m, const char *text, size_t len, int family,
                      const SPF_record_t *rec)
{
	char key[1 + PST_SPF_MEMO_MAX_TEXT];
	size_t kn = memo_key(family, text, len, key);

	if (m != NULL && kn != 0)
		pst_memo_put(m, key, kn, &rec);
}

/* ---- %{p}, for our macro expansion ---------------------------------------- */

/* The reverse-lookup name of ip: "d.c.b.a.in-addr.arpa" or 32 nibbles
 * then "ip6.arpa". */
static void reverse_name(const pst_ip *ip, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	buf[0] = '\0';
	if (ip->family == 4) {
		snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa", ip->bytes[3], ip->bytes[2],
		         ip->bytes[1], ip->bytes[0]);
		return;
	}
	for (int i = 15; i >= 0 && k + 4 < size; i--) {
		buf[k++] = hex[ip->bytes[i] & 15];
		buf[k++] = '.';
		buf[k++] = hex[ip->bytes[i] >> 4];
		buf[k++] = '.';
	}
	snprintf(buf + k, size - k, "ip6.arpa");
}

/* Whether name has an address record (of the client's family) holding the
 * client's address. A DNS error skips the name (RFC 7208 5.5). */
static int name_has_client(pst_spf_ctx *c, const char *name)
{
	pst_dns_answer ans;
	int type = c->client.family == 4 ? ns_t_a : ns_t_aaaa;
	if (pst_dns_session_query(c->dns, name, type, &ans) != PST_DNS_NOERROR)
		return 0;
	for (size_t i = 0; i < ans.count; i++)
		if (pst_ip_equal(&ans.rrs[i].addr, &c->client))
			return 1;
	return 0;
}

/* The validated names of the client (5.5: the first 10 PTR names whose
 * addresses hold it), looked up once per check and kept in the arena. */
static void find_validated_names(pst_spf_ctx *c)
{
	char rev[80];
	pst_dns_answer ans;

	c->pnames_done = 1;
	reverse_name(&c->client, rev, sizeof rev);
	c->pnames_status = pst_dns_session_query(c->dns, rev, ns_t_ptr, &ans);
	if (c->pnames_status != PST_DNS_NOERROR)
		return;
	size_t n = ans.count < PST_SPF_MAX_PTR_NAMES ? ans.count : PST_SPF_MAX_PTR_NAMES;
	const char *names[PST_SPF_MAX_PTR_NAMES];
	for (size_t i = 0; i < n; i++)         /* copied first: later answers may reuse */
		names[i] = ans.rrs[i].target ? pst_arena_strdup(c->arena, ans.rrs[i].target) : NULL;
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && names[i][0] != '\0' && name_has_client(c, names[i]))
			c->pnames[c->npnames++] = names[i];
}

/* %{p} for domain (RFC 7208 7.3): of the validated names, domain itself,
 * else the first under it, else the first; NULL ("unknown") when there is
 * none, on a DNS error, or over the limits. Each use is a DNS-querying
 * term and its PTR question a void look-up when empty (4.6.4), as when
 * libspf2 expanded it; the look-ups themselves are made once per check. */
static const char *macro_validated_name(void *arg, const char *domain)
{
	pst_spf_ctx *c = arg;
	if (ctx_count_term(c) < 0)
		return NULL;
	if (!c->pnames_done)
		find_validated_names(c);
	if (ctx_count_void(c, c->pnames_status) < 0 || c->npnames == 0)
		return NULL;
	char d[PST_MAX_DOMAIN_BYTES + 1];
	size_t n = domain ? strlen(domain) : 0;
	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n >= sizeof d)
		return c->pnames[0];
	for (size_t i = 0; i < n; i++)
		d[i] = (char)(isascii((unsigned char)domain[i]) ? tolower((unsigned char)domain[i])
		                                               : domain[i]);
	d[n] = '\0';
	for (size_t i = 0; i < c->npnames; i++)
		if (strcmp(c->pnames[i], d) == 0)
			return c->pnames[i];
	for (size_t i = 0; i < c->npnames; i++)
		if (pst_domain_is_under(c->pnames[i], d))
			return c->pnames[i];
	return c->pnames[0];
}

/* The rewrite of an SPF record for libspf2 (spf_syntax.h), appended to rw:
 * checked first as text; a record whose domain-specs hold macros is then
 * rewritten again with them expanded for this request and the current
 * domain (*expanded set: it must not be remembered by its text). */
static int rewrite_record(pst_spf_ctx *c, const SPF_request_t *req, const pst_dns_rr *rec,
                          int family, pst_buf *rw, int *expanded, const char **why)
{
	int syn = pst_spf_syntax_rewrite(rec->text, rec->text_len, family, c->zero_marker, NULL,
	                                 rw, expanded, why);
	if (syn != PST_SPF_SYNTAX_OK || !*expanded)
		return syn;
	pst_spf_macro_env env = {
		.sender = c->sender,
		.domain = req->cur_dom,
		.ip = &c->client,
		.helo = c->helo,
		.receiver = NULL,
		.now = 0,
		.validated_name = macro_validated_name,
		.arg = c,
	};
	pst_buf_clear(rw);
	return pst_spf_syntax_rewrite(rec->text, rec->text_len, family, c->zero_marker, &env, rw,
	                              expanded, why);
}

static SPF_errcode_t hook_get_spf(SPF_server_t *server, SPF_request_t *req,
                                  SPF_response_t *resp, SPF_record_t **recp)
{
	pst_spf_ctx *c = pst_spf_current;
	const char *domain = req->cur_dom;

	*recp = NULL;
	if (c == NULL || domain == NULL)
		return SPF_E_NOT_CONFIG;
	int top = c->fetches++ == 0;
	c->follow_kind = PST_SPF_FOLLOW_NONE;
	c->nfollow = c->next_follow = 0;
	if (!top && ctx_count_term(c) < 0)
		return fetch_fail(c, 0, PST_SPF_TOP_TEMP, resp, SPF_E_DNS_ERROR, "over limit", domain);
	if (c->over)
		return fetch_fail(c, top, PST_SPF_TOP_TEMP, resp, SPF_E_DNS_ERROR, "over limit", domain);

	pst_dns_answer ans;
	pst_dns_status st = pst_dns_session_query(c->dns, domain, ns_t_txt, &ans);
	ctx_note_temp(c, st, ns_t_txt, domain);
	if (st == PST_DNS_SERVFAIL || st == PST_DNS_TIMEOUT)
		return fetch_fail(c, top, PST_SPF_TOP_TEMP, resp, SPF_E_DNS_ERROR,
		                  st == PST_DNS_SERVFAIL ? "SERVFAIL on TXT" : "TIMEOUT on TXT",
		                  domain);
	if (st != PST_DNS_NOERROR)
		return fetch_fail(c, top, PST_SPF_TOP_NONE, resp, SPF_E_NOT_SPF,
		                  st == PST_DNS_NXDOMAIN ? "no such domain" : "no TXT at", domain);

	const pst_dns_rr *found = NULL;
	size_t nfound = 0;
	for (size_t i = 0; i < ans.count; i++) {
		if (is_spf_record(&ans.rrs[i])) {
			found = &ans.rrs[i];
			nfound++;
		}
	}
	if (nfound == 0)
		return fetch_fail(c, top, PST_SPF_TOP_NONE, resp, SPF_E_NOT_SPF,
		                  "no SPF record at", domain);
	if (nfound > 1)
		return fetch_fail(c, top, PST_SPF_TOP_MULTIPLE, resp, SPF_E_MULTIPLE_RECORDS,
		                  "several SPF records at", domain);
	if (strlen(found->text) != found->text_len)
		return fetch_fail(c, top, PST_SPF_TOP_SYNTAX, resp, SPF_E_SYNTAX,
		                  "NUL in the SPF record of", domain);

	int family = req->client_ver == AF_INET6 ? 6 : 4;
	pst_memo *memo = c->spf ? c->spf->memo : NULL;
	if ((*recp = memo_take(memo, found->text, found->text_len, family)) != NULL) {
		if (top)
			c->top = PST_SPF_TOP_OK;
		return SPF_E_SUCCESS;
	}

	pst_buf rw = PST_BUF_INIT;
	const char *why = NULL;
	int expanded = 0;
	int syn = rewrite_record(c, req, found, family, &rw, &expanded, &why);
	if (syn == PST_SPF_SYNTAX_NOMEM) {
		pst_buf_free(&rw);
		return SPF_E_NO_MEMORY;
	}
	if (syn != PST_SPF_SYNTAX_OK) {
		char msg[96];
		pst_buf_free(&rw);
		snprintf(msg, sizeof msg, "%s in the SPF record of",
		         syn == PST_SPF_SYNTAX_UNSUPPORTED ? "a term libspf2 cannot evaluate"
		                                           : why);
		return fetch_fail(c, top, PST_SPF_TOP_SYNTAX, resp, SPF_E_SYNTAX, msg, domain);
	}
	int messages = SPF_response_messages(resp);
	SPF_errcode_t err = SPF_record_compile(server, resp, recp, rw.data);
	pst_buf_free(&rw);
	if (err != SPF_E_SUCCESS)
		return fetch_fail(c, top, PST_SPF_TOP_SYNTAX, resp, err,
		                  "syntax error in the SPF record of", domain);
	if (*recp != NULL && !expanded && SPF_response_messages(resp) == messages)
		memo_keep(memo, found->text, found->text_len, family, *recp);
	if (top)
		c->top = PST_SPF_TOP_OK;
	return SPF_E_SUCCESS;
}

/* exp=: not fetched. The text is a fixed one without macros. */
static SPF_errcode_t hook_get_exp(SPF_server_t *server, const char *domain, char **bufp,
                                  size_t *buflenp)
{
	static const char text[] = "explanation not fetched";
	(void)server;
	(void)domain;
	if (*bufp == NULL || *buflenp < sizeof text) {
		char *p = realloc(*bufp, sizeof text);
		if (p == NULL)
			return SPF_E_NO_MEMORY;
		*bufp = p;
		*buflenp = sizeof text;
	}
	memcpy(*bufp, text, sizeof text);
	return SPF_E_SUCCESS;
}

/* ---- The shared server ------------------------------------------------------ */

static void pst_spf_log_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

/* ".." and random hex: the /0 marker (see spf_syntax.h). */
static int make_marker(char *buf, size_t size)
{
	unsigned char rnd[PST_SPF_MARKER_HEX / 2];
	size_t got = 0;
	while (got < sizeof rnd) {
		ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	if (size < 2 + 2 * sizeof rnd + 1)
		return -1;
	buf[0] = buf[1] = '.';
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(buf + 2 + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

int pst_spf_new(pst_spf **out, char *err, size_t errlen)
{
	if (out == NULL)
		return -1;
	*out = NULL;
	pst_spf *s = calloc(1, sizeof *s);
	if (s == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->layer.destroy = NULL;           /* we own the layer, not the server */
	s->layer.lookup = hook_lookup;
	s->layer.get_spf = hook_get_spf;
	s->layer.get_exp = hook_get_exp;
	s->layer.add_cache = NULL;
	s->layer.layer_below = NULL;
	s->layer.name = "postern";
	s->layer.debug = 0;
	s->layer.hook = s;
	/* libspf2 reports warnings on stderr by default; results carry ours. */
	SPF_warning_handler = pst_spf_log_quiet;
	SPF_info_handler = pst_spf_log_quiet;
	SPF_debug_handler = pst_spf_log_quiet;
	if (make_marker(s->zero_marker, sizeof s->zero_marker) < 0) {
		free(s);
		if (err && errlen)
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	s->server = SPF_server_new_dns(&s->layer, 0);
	if (s->server == NULL) {
		free(s);
		if (err && errlen)
			snprintf(err, errlen, "libspf2: cannot create the SPF server");
		return -1;
	}
	if (SPF_server_set_rec_dom(s->server, "postern") != SPF_E_SUCCESS) {
		SPF_server_free(s->server);
		free(s);
		if (err && errlen)
			snprintf(err, errlen, "libspf2: cannot set the receiving domain");
		return -1;
	}
	/* libspf2 expands the server's explanation (by default a macro string
	 * of %{S}, %{C} and %{R}) for every fail, softfail and neutral, at each
	 * include level too, into a comment nothing here reads: a fixed text
	 * without macros costs next to nothing to expand. */
	SPF_response_t *exp_resp = NULL;
	SPF_errcode_t exp_err = SPF_server_set_explanation(s->server, "explanation not fetched",
	                                                   &exp_resp);
	if (exp_resp != NULL)
		SPF_response_free(exp_resp);
	if (exp_err != SPF_E_SUCCESS) {
		SPF_server_free(s->server);
		free(s);
		if (err && errlen)
			snprintf(err, errlen, "libspf2: cannot set the explanation");
		return -1;
	}
	s->memo = pst_memo_new(&memo_spec);
	if (s->memo == NULL) {
		SPF_server_free(s->server);
		free(s);
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	*out = s;
	return 0;
}

void pst_spf_free(pst_spf **s)
{
	if (s == NULL || *s == NULL)
		return;
	if ((*s)->server)
		SPF_server_free((*s)->server);
	pst_memo_free(&(*s)->memo);
	free(*s);
	*s = NULL;
}

/* ---- One check ------------------------------------------------------------- */

static int set_result(pst_spf_result *out, pst_arena *arena, pst_auth_result r, const char *why)
{
	out->result = r;
	if (arena == NULL) {
		out->reason = NULL;
		return 0;
	}
	out->reason = pst_arena_strdup(arena, why);
	return out->reason ? 0 : -1;
}

/* Whether ip may be checked: known, not loopback. Else the reason. */
static const char *ip_unusable(const pst_ip *ip)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	if (ip == NULL || (ip->family != 4 && ip->family != 6))
		return "no client IP";
	if (ip->family == 4 && ip->bytes[0] == 127)
		return "loopback client IP";
	if (ip->family == 6 && memcmp(ip->bytes, v6_loopback, 16) == 0)
		return "loopback client IP";
	return NULL;
}

/* The normalised domain of an SPF identity, or NULL (and *why) when it is
 * malformed, not multi-label, or an address literal (RFC 7208 4.3). */
static char *identity_domain(const char *s, size_t n, const char **why)
{
	if (n == 0 || n > PST_MAX_DOMAIN_INPUT_BYTES || memchr(s, '\0', n) != NULL) {
		*why = "empty or overlong domain";
		return NULL;
	}
	if (s[0] == '[') {
		*why = "address literal";
		return NULL;
	}
	char *d = pst_domain_normalize(s, n, why);
	if (d == NULL)
		return NULL;
	if (strchr(d, '.') == NULL) {
		free(d);
		*why = "not a multi-label domain";
		return NULL;
	}
	return d;
}

/* The HELO text for %{h} in a MAIL FROM check: normalised when it is a
 * domain, else as given when it is printable ASCII of a sane length, else
 * NULL (libspf2 then makes %{h} a permerror). *owned is for free(). */
static const char *helo_for_macros(const char *helo, char **owned)
{
	const char *why = NULL;
	*owned = NULL;
	if (helo == NULL || helo[0] == '\0')
		return NULL;
	size_t n = strnlen(helo, PST_MAX_DOMAIN_BYTES + 1);
	if (n > PST_MAX_DOMAIN_BYTES)
		return NULL;
	*owned = identity_domain(helo, n, &why);
	if (*owned != NULL)
		return *owned;
	for (size_t i = 0; i < n; i++)
		if (helo[i] < ' ' || helo[i] >= 0x7f)
			return NULL;
	return helo;
}

static pst_auth_result map_result(SPF_result_t r, SPF_errcode_t err)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return PST_AR_PASS;
	case SPF_RESULT_FAIL:
		return PST_AR_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return PST_AR_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return PST_AR_NEUTRAL;
	case SPF_RESULT_NONE:
		return PST_AR_NONE;
	case SPF_RESULT_TEMPERROR:
		return PST_AR_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return PST_AR_PERMERROR;
	default:
		return err == SPF_E_DNS_ERROR ? PST_AR_TEMPERROR : PST_AR_PERMERROR;
	}
}

/* The final word: our accounting and top-level findings over libspf2's. */
static int conclude(const pst_spf_ctx *c, SPF_response_t *resp, SPF_errcode_t err,
                    const char *domain, pst_arena *arena, pst_spf_result *out)
{
	char why[512];
	pst_auth_result r;

	if (c->over) {
		r = PST_AR_PERMERROR;
		snprintf(why, sizeof why, "%s", c->over_reason);
	} else if (c->top == PST_SPF_TOP_TEMP) {
		r = PST_AR_TEMPERROR;
		snprintf(why, sizeof why, "%s", c->top_reason);
	} else if (c->top == PST_SPF_TOP_NONE) {
		r = PST_AR_NONE;
		snprintf(why, sizeof why, "%s", c->top_reason);
	} else if (c->top == PST_SPF_TOP_MULTIPLE || c->top == PST_SPF_TOP_SYNTAX) {
		r = PST_AR_PERMERROR;
		snprintf(why, sizeof why, "%s", c->top_reason);
	} else if (c->top != PST_SPF_TOP_OK || resp == NULL) {
		r = PST_AR_TEMPERROR;
		snprintf(why, sizeof why, "SPF evaluation failed for %s", domain);
	} else {
		r = map_result(SPF_response_result(resp), err);
		const char *hc = SPF_response_get_header_comment(resp);
		const char *p = hc ? strstr(hc, ": ") : NULL;
		if (r == PST_AR_TEMPERROR && c->temp_reason[0] != '\0')
			snprintf(why, sizeof why, "%s", c->temp_reason);
		else if (p != NULL)
			snprintf(why, sizeof why, "%s", p + 2);
		else
			snprintf(why, sizeof why, "%s for %s", pst_auth_result_name(r), domain);
	}
	return set_result(out, arena, r, why);
}

static int set_ip(SPF_request_t *req, const pst_ip *ip)
{
	if (ip->family == 4) {
		struct in_addr a;
		memcpy(&a, ip->bytes, sizeof a);
		return SPF_request_set_ipv4(req, a) == SPF_E_SUCCESS ? 0 : -1;
	}
	struct in6_addr a6;
	memcpy(&a6, ip->bytes, sizeof a6);
	return SPF_request_set_ipv6(req, a6) == SPF_E_SUCCESS ? 0 : -1;
}

/* check_host(ip, domain, sender) with helo for %{h}; all validated. */
static int run_check(const pst_spf *s, pst_dns_session *dns, const pst_ip *ip, const char *helo,
                     const char *sender, const char *domain, pst_arena *arena,
                     pst_spf_result *out)
{
	pst_spf_ctx *c = calloc(1, sizeof *c);
	if (c == NULL)
		return -1;
	c->spf = s;
	c->dns = dns;
	c->arena = arena;
	c->client = *ip;
	c->zero_marker = s->zero_marker;
	c->zero_marker_len = strlen(s->zero_marker);
	c->sender = sender;
	c->helo = helo;

	int rc = -1;
	SPF_response_t *resp = NULL;
	SPF_request_t *req = SPF_request_new(s->server);
	if (req == NULL)
		goto done;
	if (set_ip(req, ip) < 0)
		goto done;
	if (helo != NULL && SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS)
		goto done;
	if (SPF_request_set_env_from(req, sender) != 0)
		goto done;

	pst_spf_current = c;
	SPF_errcode_t err = SPF_request_query_mailfrom(req, &resp);
	pst_spf_current = NULL;
	if (err == SPF_E_NO_MEMORY && c->top == PST_SPF_TOP_UNSET)
		goto done;
	out->dns_terms = c->terms;
	out->void_lookups = c->voids;
	rc = conclude(c, resp, err, domain, arena, out);
done:
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	free(c);
	return rc;
}

/* Validation shared by both identities; 1 when the check may run, 0 when
 * *out is final (none), -1 on ENOMEM. */
static int precheck(const pst_spf *s, pst_dns_session *dns, const pst_ip *ip,
                    pst_arena *arena, pst_spf_result *out)
{
	const char *bad = ip_unusable(ip);
	if (bad == NULL && (s == NULL || s->server == NULL || dns == NULL))
		bad = "SPF not configured";
	if (bad == NULL && arena == NULL)
		bad = "no arena";
	if (bad != NULL)
		return set_result(out, arena, PST_AR_NONE, bad) < 0 ? -1 : 0;
	return 1;
}

/* An identity without a usable domain is none with the reason, but running
 * out of memory while normalising it is a failure (-1), never a verdict. */
static int domain_none(pst_spf_result *out, pst_arena *arena, const char *what, const char *why)
{
	if (why == pst_domain_why_nomem) {
		errno = ENOMEM;
		return -1;
	}
	char buf[160];
	snprintf(buf, sizeof buf, "%s: %s", what, why ? why : "invalid");
	return set_result(out, arena, PST_AR_NONE, buf);
}

/* One identity to check, as the public entry points found it. */
struct spf_identity {
	const char *what;       /* "MAIL FROM domain", "HELO domain" */
	char *domain;           /* identity_domain's (malloc'd), or NULL */
	const char *why;        /* why domain is NULL */
	const char *local;      /* the sender's local part; length 0: "postmaster" */
	size_t local_len;
	const char *helo;       /* for %{h}: the HELO as given, or NULL */
	int helo_is_domain;     /* the HELO identity: %{h} is its own domain */
};

/* What both identities do once their domain is known: none when it is
 * not usable, else out->domain, the shared validation, and check_host()
 * with sender local@domain. Frees id->domain. */
static int check_identity(const pst_spf *s, pst_dns_session *dns, const pst_ip *ip,
                          struct spf_identity *id, pst_arena *arena, pst_spf_result *out)
{
	char *d = id->domain;
	if (d == NULL)
		return domain_none(out, arena, id->what, id->why);
	if (arena != NULL && (out->domain = pst_arena_strdup(arena, d)) == NULL) {
		free(d);
		return -1;
	}
	int ok = precheck(s, dns, ip, arena, out);
	if (ok <= 0) {
		free(d);
		return ok;
	}

	/* RFC 7208 4.3: no local part means "postmaster". */
	const char *local = id->local_len ? id->local : "postmaster";
	size_t lp = id->local_len ? id->local_len : 10;
	size_t dn = strlen(d);
	char *sender = pst_arena_alloc(arena, lp + 1 + dn + 1);
	if (sender == NULL) {
		free(d);
		return -1;
	}
	memcpy(sender, local, lp);
	sender[lp] = '@';
	memcpy(sender + lp + 1, d, dn + 1);

	char *hd = NULL;
	const char *h = id->helo_is_domain ? d : helo_for_macros(id->helo, &hd);
	int rc = run_check(s, dns, ip, h, sender, d, arena, out);
	free(hd);
	free(d);
	return rc;
}

int pst_spf_check_mailfrom(const pst_spf *s, pst_dns_session *dns, const pst_ip *ip,
                           const char *helo, const char *mail_from, pst_arena *arena,
                           pst_spf_result *out)
{
	if (out == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof *out);
	if (mail_from == NULL || mail_from[0] == '\0')
		return pst_spf_check_helo(s, dns, ip, helo, arena, out);

	size_t n = strnlen(mail_from, PST_MAX_DOMAIN_INPUT_BYTES + 1);
	const char *at = memrchr(mail_from, '@', n);
	if (at == NULL)
		return domain_none(out, arena, "MAIL FROM", "no domain");
	struct spf_identity id = {
		.what = "MAIL FROM domain",
		.local = mail_from,
		.local_len = (size_t)(at - mail_from),
		.helo = helo,
	};
	id.domain = identity_domain(at + 1, n - (size_t)(at + 1 - mail_from), &id.why);
	return check_identity(s, dns, ip, &id, arena, out);
}

int pst_spf_check_helo(const pst_spf *s, pst_dns_session *dns, const pst_ip *ip,
                       const char *helo, pst_arena *arena, pst_spf_result *out)
{
	if (out == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof *out);
	if (helo == NULL || helo[0] == '\0')
		return domain_none(out, arena, "HELO", "none given");

	struct spf_identity id = { .what = "HELO domain", .helo_is_domain = 1 };
	id.domain = identity_domain(helo, strnlen(helo, PST_MAX_DOMAIN_INPUT_BYTES + 1), &id.why);
	return check_identity(s, dns, ip, &id, arena, out);
}
