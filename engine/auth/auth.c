/*
 * auth.c: the auth facts of a message behind one interface (auth.h).
 *
 * Each group of facts (SPF, HELO SPF, DKIM, DMARC, authres) is filled once,
 * on first read: from the caller's pst_auth_given where it has a value,
 * otherwise computed. The SPF, DKIM and DMARC adapters are not built yet,
 * so a computed result is "none", with nothing aligned and no domain: an
 * honest "no verdict" that rules can test for.
 */
#include "auth/auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message_private.h"
#include "util/domain.h"

enum { AUTH_SPF = 1, AUTH_HELO = 2, AUTH_DKIM = 4, AUTH_DMARC = 8, AUTH_AUTHRES = 16 };

static const char *const result_words[PST_AR__COUNT] = {
	[PST_AR_NONE] = "none", [PST_AR_PASS] = "pass", [PST_AR_FAIL] = "fail",
	[PST_AR_SOFTFAIL] = "softfail", [PST_AR_NEUTRAL] = "neutral",
	[PST_AR_TEMPERROR] = "temperror", [PST_AR_PERMERROR] = "permerror",
	[PST_AR_POLICY] = "policy",
};

static const char *const policy_words[PST_POLICY__COUNT] = {
	[PST_POLICY_NONE] = "none", [PST_POLICY_QUARANTINE] = "quarantine",
	[PST_POLICY_REJECT] = "reject",
};

int pst_auth_result_parse(const char *word)
{
	for (int i = 0; i < PST_AR__COUNT; i++)
		if (strcasecmp(word, result_words[i]) == 0)
			return i;
	return -1;
}

int pst_dmarc_policy_parse(const char *word)
{
	for (int i = 0; i < PST_POLICY__COUNT; i++)
		if (strcasecmp(word, policy_words[i]) == 0)
			return i;
	return -1;
}

/* A result the caller gave, or none. Unparsable words were refused by
 * pst_message_new, so parse cannot fail here. */
static pst_auth_result given_result(const char *word)
{
	int r = word ? pst_auth_result_parse(word) : -1;
	return r < 0 ? PST_AR_NONE : (pst_auth_result)r;
}

/* A caller-given domain, normalised into the arena; NULL when absent or bad. */
static const char *given_domain(pst_arena *arena, const char *d)
{
	if (d == NULL)
		return NULL;
	const char *why;
	char *n = pst_domain_normalize(d, strlen(d), &why);
	if (n == NULL)
		return NULL;
	const char *copy = pst_arena_strdup(arena, n);
	free(n);
	return copy;
}

/* Relaxed alignment without a PSL yet: the same domain or one under the
 * other. The DMARC adapter replaces this with organizational domains. */
static int loosely_aligned(const char *a, const char *b)
{
	return a && b && (pst_domain_is_under(a, b) || pst_domain_is_under(b, a));
}

static int fill_spf(struct pst_message *m)
{
	const pst_auth_given *g = m->auth.given;
	m->auth.spf = given_result(g ? g->spf : NULL);
	m->auth.spf_domain = given_domain(m->arena, g ? g->spf_domain : NULL);
	m->auth.spf_aligned = m->auth.spf == PST_AR_PASS &&
	                      loosely_aligned(m->auth.spf_domain, m->from.domain);
	return 0;
}

static int fill_dkim(struct pst_message *m)
{
	const pst_auth_given *g = m->auth.given;
	m->auth.dkim = given_result(g ? g->dkim : NULL);
	size_t n = g ? g->ndkim_domains : 0;
	m->auth.dkim_domains = pst_arena_calloc(m->arena, n + 1, sizeof *m->auth.dkim_domains);
	if (m->auth.dkim_domains == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *d = given_domain(m->arena, g->dkim_domains[i]);
		if (d == NULL)
			continue;
		m->auth.dkim_domains[m->auth.ndkim_domains++] = d;
		if (m->auth.dkim == PST_AR_PASS && loosely_aligned(d, m->from.domain))
			m->auth.dkim_aligned = 1;
	}
	return 0;
}

static int fill_dmarc(struct pst_message *m)
{
	const pst_auth_given *g = m->auth.given;
	m->auth.dmarc = given_result(g ? g->dmarc : NULL);
	int p = g && g->dmarc_policy ? pst_dmarc_policy_parse(g->dmarc_policy) : -1;
	m->auth.dmarc_policy = p < 0 ? PST_POLICY_NONE : (pst_dmarc_policy)p;
	m->auth.dmarc_domain = given_domain(m->arena, g ? g->dmarc_domain : NULL);
	return 0;
}

/* Fill the group that fact f belongs to, once. */
static int ensure_group(struct pst_message *m, pst_fact f)
{
	unsigned bit;
	int (*fill)(struct pst_message *) = NULL;
	switch (f) {
	case PST_F_SPF: case PST_F_SPF_DOMAIN: case PST_F_SPF_ALIGNED:
		bit = AUTH_SPF; fill = fill_spf; break;
	case PST_F_HELO_SPF:
		bit = AUTH_HELO; break;
	case PST_F_DKIM: case PST_F_DKIM_DOMAINS: case PST_F_DKIM_ALIGNED:
		bit = AUTH_DKIM; fill = fill_dkim; break;
	case PST_F_DMARC: case PST_F_DMARC_POLICY: case PST_F_DMARC_DOMAIN:
		bit = AUTH_DMARC; fill = fill_dmarc; break;
	default:
		bit = AUTH_AUTHRES; break;
	}
	if (m->auth.computed & bit)
		return 0;
	if (bit == AUTH_HELO)
		m->auth.helo_spf = given_result(m->auth.given ? m->auth.given->helo_spf : NULL);
	if (fill && fill(m) < 0)
		return -1;
	m->auth.computed |= bit;
	return 0;
}

static void set_result(pst_value *out, pst_auth_result r)
{
	out->known = 1;
	out->type = PST_T_RESULT;
	out->u.result = r;
}

static void set_domain(pst_value *out, const char *d)
{
	out->type = PST_T_DOMAIN;
	out->known = d != NULL;
	out->u.s.p = d ? d : "";
	out->u.s.len = d ? strlen(d) : 0;
}

static void set_bool(pst_value *out, int b)
{
	out->known = 1;
	out->type = PST_T_BOOL;
	out->u.b = b;
}

int pst_auth_fact(struct pst_message *m, pst_fact f, pst_value *out)
{
	memset(out, 0, sizeof *out);
	if (ensure_group(m, f) < 0)
		return -1;
	const pst_auth *a = &m->auth;
	switch (f) {
	case PST_F_SPF: set_result(out, a->spf); break;
	case PST_F_SPF_DOMAIN: set_domain(out, a->spf_domain); break;
	case PST_F_SPF_ALIGNED: set_bool(out, a->spf_aligned); break;
	case PST_F_HELO_SPF: set_result(out, a->helo_spf); break;
	case PST_F_DKIM: set_result(out, a->dkim); break;
	case PST_F_DKIM_DOMAINS:
		out->known = 1;
		out->type = PST_T_DOMAINSET;
		out->u.set.items = a->dkim_domains;
		out->u.set.n = a->ndkim_domains;
		break;
	case PST_F_DKIM_ALIGNED: set_bool(out, a->dkim_aligned); break;
	case PST_F_DMARC: set_result(out, a->dmarc); break;
	case PST_F_DMARC_POLICY:
		out->known = 1;
		out->type = PST_T_POLICY;
		out->u.policy = a->dmarc_policy;
		break;
	case PST_F_DMARC_DOMAIN: set_domain(out, a->dmarc_domain); break;
	case PST_F_AUTHRES_SPF: set_result(out, a->authres_spf); break;
	case PST_F_AUTHRES_DKIM: set_result(out, a->authres_dkim); break;
	case PST_F_AUTHRES_DMARC: set_result(out, a->authres_dmarc); break;
	default:
		out->known = 0;
		break;
	}
	return 0;
}
