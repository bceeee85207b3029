/*
 * verify.c: the external destination verification of RFC 9990 section 4
 * (rua.h, pst_rua_verify).
 *
 * A destination is external when the organizational domain of its host
 * differs from that of the policy domain; both come from the DNS Tree Walk
 * of RFC 9989 (auth/dmarc.h, pst_dmarc_org_domain), not from the Public
 * Suffix List. An external destination is authorised by a TXT record at
 * "<policy domain>._report._dmarc.<host>" (the destination host itself,
 * not its organizational domain), both as A-labels. A record authorises
 * when it starts with "v=DMARC1" (any case, as dmarc.c reads records)
 * and the rest is a tag=value list ('='
 * in every non-empty term, a tag of ALPHA *(ALPHA / DIGIT / "_"); a
 * trailing ';' is fine); the first such record found is used, the others
 * ignored. Its rua, if any, is read as a rua value (send.c): a mailto URI
 * at another host refuses the destination (RFC 9990: send to neither), the
 * first at d->host replaces d->address and d->limit; other URIs in it
 * play no part. The fixture DNS (dns/fixture.h) has no wildcards, so a
 * wildcard record at "*._report._dmarc.<host>" is a live-DNS matter only:
 * the question is asked by name and the resolver answers as it does.
 *
 * Failure: DNS trouble (SERVFAIL, TIMEOUT) is TEMP, never a refusal; an
 * answer that does not authorise is REFUSED. Only ENOMEM is an error
 * (-1); d is then left as it was, or with why set.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "dns/resolver.h"
#include "rua/rua.h"
#include "util/domain.h"

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Trim [*a, *b) of white space. */
static void trim(const char **a, const char **b)
{
	while (*a < *b && is_wsp(**a))
		(*a)++;
	while (*b > *a && is_wsp((*b)[-1]))
		(*b)--;
}

/* Whether [a, b) names a tag: ALPHA *(ALPHA / DIGIT / "_"). */
static int is_tag(const char *a, const char *b)
{
	if (a >= b || !is_alpha(*a))
		return 0;
	for (a++; a < b; a++)
		if (!is_alpha(*a) && !(*a >= '0' && *a <= '9') && *a != '_')
			return 0;
	return 1;
}

/* Whether text (n bytes, no NUL) is "v=DMARC1" then a tag=value list. The
 * rua value, if any, into *rua / *rualen (the last one). */
static int authorises(const char *text, size_t n, const char **rua, size_t *rualen)
{
	const char *p = text, *end = text + n;
	int first = 1;

	*rua = NULL;
	if (memchr(text, '\0', n) != NULL)
		return 0;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end, *a = p, *b = stop, *eq;
		trim(&a, &b);
		p = semi ? semi + 1 : end;
		if (a == b) {
			if (first)
				return 0;
			continue;
		}
		eq = memchr(a, '=', (size_t)(b - a));
		if (eq == NULL)
			return 0;
		const char *ta = a, *tb = eq, *va = eq + 1, *vb = b;
		trim(&ta, &tb);
		trim(&va, &vb);
		if (!is_tag(ta, tb))
			return 0;
		if (first) {
			if (tb - ta != 1 || (*ta | 0x20) != 'v' || vb - va != 6
			    || strncasecmp(va, "DMARC1", 6) != 0)
				return 0;
			first = 0;
		} else if (tb - ta == 3 && strncasecmp(ta, "rua", 3) == 0) {
			*rua = va;
			*rualen = (size_t)(vb - va);
		}
	}
	return !first;
}

static void set(pst_rua_dest *d, pst_rua_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set(pst_rua_dest *d, pst_rua_outcome o, const char *fmt, ...)
{
	va_list ap;

	d->outcome = o;
	va_start(ap, fmt);
	if (vsnprintf(d->why, sizeof d->why, fmt, ap) < 0)
		d->why[0] = '\0';
	va_end(ap);
}

/* Apply an authorising record's rua to d (which it may refuse): 0, or -1
 * on ENOMEM. */
static int apply_rua(const char *rua, size_t n, pst_rua_dest *d)
{
	pst_rua_dest *list, *use = NULL;
	char *value = malloc(n + 1);
	size_t count;
	int rc = 0;

	if (value == NULL)
		return -1;
	memcpy(value, rua, n);
	value[n] = '\0';
	list = calloc(PST_RUA_DEST_MAX, sizeof *list);
	if (list == NULL) {
		free(value);
		return -1;
	}
	count = pst_rua_destinations(value, list, PST_RUA_DEST_MAX);
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (list[i].outcome == PST_RUA_REFUSED)
			continue;
		if (strcmp(list[i].host, d->host) != 0) {
			set(d, PST_RUA_REFUSED,
			    "not authorised: the verification record names %.128s, another host",
			    list[i].uri);
			rc = 1;
		} else if (use == NULL)
			use = &list[i];
	}
	if (rc == 0 && use != NULL) {
		memcpy(d->address, use->address, sizeof d->address);
		d->limit = use->limit;
	}
	free(list);
	free(value);
	return 0;
}

/* The TXT question and its verdict on d. 0, or -1 on ENOMEM. */
static int ask(pst_dns_session *dns, const char *policy_domain, pst_rua_dest *d)
{
	char raw[2 * PST_STORE_DOMAIN_MAX + 32];
	const char *why = NULL, *rua = NULL;
	size_t rualen = 0;
	pst_dns_answer ans;
	pst_dns_status st;
	char *name;
	int n = snprintf(raw, sizeof raw, "%s._report._dmarc.%s", policy_domain, d->host);

	if (n < 0 || (size_t)n >= sizeof raw
	    || (name = pst_domain_normalize(raw, (size_t)n, &why)) == NULL) {
		if (why == pst_domain_why_nomem)
			return -1;
		set(d, PST_RUA_REFUSED, "not authorised: no valid verification name for %s at %s",
		    policy_domain, d->host);
		return 0;
	}
	st = pst_dns_session_query(dns, name, ns_t_txt, &ans);
	if (st == PST_DNS_SERVFAIL || st == PST_DNS_TIMEOUT)
		set(d, PST_RUA_TEMP, "verification: %s on %s", pst_dns_status_name(st), name);
	else if (st != PST_DNS_NOERROR)
		set(d, PST_RUA_REFUSED, "not authorised: %s at %s",
		    st == PST_DNS_NXDOMAIN ? "no such name" : "no TXT record", name);
	else {
		size_t i;
		for (i = 0; i < ans.count; i++)
			if (ans.rrs[i].text != NULL
			    && authorises(ans.rrs[i].text, ans.rrs[i].text_len, &rua, &rualen))
				break;
		if (i == ans.count)
			set(d, PST_RUA_REFUSED, "not authorised: no v=DMARC1 record at %s", name);
		else if (rua != NULL && apply_rua(rua, rualen, d) < 0) {
			free(name);
			return -1;
		}
	}
	free(name);
	return 0;
}

int pst_rua_verify(struct pst_dns_session *dns, const char *policy_domain,
		   const char *policy_org, pst_rua_dest *d)
{
	const char *host_org = NULL;
	int rc;

	if (dns == NULL || dns->arena == NULL || policy_domain == NULL || d == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (d->outcome == PST_RUA_REFUSED)
		return 0;
	if (policy_org == NULL) {
		rc = pst_dmarc_org_domain(dns, dns->arena, policy_domain, &policy_org);
		if (rc < 0 && errno == ENOMEM)
			return -1;
		if (rc < 0) {
			set(d, PST_RUA_REFUSED, "not authorised: %s is no valid domain", policy_domain);
			return 0;
		}
		if (rc == 1) {
			set(d, PST_RUA_TEMP,
			    "verification: no organizational domain for %s (DNS trouble)", policy_domain);
			return 0;
		}
	}
	rc = pst_dmarc_org_domain(dns, dns->arena, d->host, &host_org);
	if (rc < 0 && errno == ENOMEM)
		return -1;
	if (rc < 0) {
		set(d, PST_RUA_REFUSED, "invalid destination host %s", d->host);
		return 0;
	}
	if (rc == 1) {
		set(d, PST_RUA_TEMP, "verification: no organizational domain for %s (DNS trouble)",
		    d->host);
		return 0;
	}
	if (strcmp(policy_org, host_org) == 0)
		return 0;
	d->external = 1;
	return ask(dns, policy_domain, d);
}
