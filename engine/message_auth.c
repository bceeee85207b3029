/*
 * message_auth.c: the auth facts of a message behind one interface
 * (message_auth.h). This is the message layer: it works on struct
 * pst_message and asks the adapters of engine/auth/, which know nothing
 * of messages, rules or this file.
 *
 * Each group of facts is filled once, on first read, from the caller's
 * pst_auth_given where it has a value, otherwise computed:
 *   SPF      MAIL FROM check_host() (spf.h); nothing is asked without a
 *            client IP or a MAIL FROM.
 *   HELO     the HELO identity's check_host().
 *   DKIM     every signature up to the policy's cap, with its clock skew
 *            (dkim.h); what the passing signatures leave uncovered
 *            (dkim.unsigned_header, dkim.unsigned_body).
 *   DMARC    RFC 9989 by DNS Tree Walk (dmarc.h), once per author
 *            domain (msg/author.h), the strictest outcome winning; it
 *            reads SPF and DKIM.
 *   ALIGN    spf.aligned and dkim.aligned, each on its own: the DMARC
 *            record decides relaxed or strict (relaxed without one), and
 *            spf.aligned alone never verifies DKIM.
 *   AUTHRES  the topmost Authentication-Results field of a trusted
 *            authserv-id alone, read tolerantly (authres.h); a result it
 *            leaves unreadable is unknown, never an older field's.
 * A library that could not be initialised makes its facts temperror, with
 * a warning. Every DNS question goes through the message's session.
 *
 * Each AUTH fact of the registry (lang/facts/registry.h) names its group
 * and has one provider here, provide_<sym>, which reads the group's
 * results; both are found by id through one table made from the registry.
 */
#include "message_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/authres.h"
#include "auth/libs.h"
#include "lang/program.h"
#include "message_private.h"
#include "msg/msg.h"
#include "util/domain.h"
#include "util/limits.h"

enum {
	AUTH_SPF = 1, AUTH_HELO = 2, AUTH_DKIM = 4, AUTH_DMARC = 8, AUTH_AUTHRES = 16,
	AUTH_SPF_ALIGN = 32, AUTH_DKIM_ALIGN = 64,
};

/* A result the caller gave; words were checked by pst_message_new. */
static pst_auth_result given_result(const char *word)
{
	int r = word ? pst_auth_result_parse(word) : -1;
	return r < 0 ? PST_AR_NONE : (pst_auth_result)r;
}

/* A domain normalised into the arena; NULL when absent or bad. */
static const char *arena_domain(pst_arena *arena, const char *d)
{
	if (d == NULL || *d == '\0')
		return NULL;
	char *n = pst_domain_normalize(d, strlen(d), NULL);
	if (n == NULL)
		return NULL;
	const char *copy = pst_arena_strdup(arena, n);
	free(n);
	return copy;
}

static int warn(struct pst_message *m, const char *text)
{
	pst_auth *a = &m->auth;
	if (a->nwarnings == a->wcap) {
		size_t cap = a->wcap ? a->wcap * 2 : 4;
		const char **w = pst_arena_calloc(m->arena, cap, sizeof *w);
		if (w == NULL)
			return -1;
		if (a->nwarnings)
			memcpy(w, a->warnings, a->nwarnings * sizeof *w);
		a->warnings = w;
		a->wcap = cap;
	}
	const char *copy = pst_arena_strdup(m->arena, text);
	if (copy == NULL)
		return -1;
	a->warnings[a->nwarnings++] = copy;
	return 0;
}

static const pst_settings *settings(const struct pst_message *m)
{
	return pst_program_settings(m->policy->prog);
}

/* ---- SPF ---------------------------------------------------------------- */

static int fill_spf(struct pst_message *m)
{
	const pst_auth_given *g = m->auth.given;
	if (g && g->spf) {
		m->auth.spf = given_result(g->spf);
		m->auth.spf_domain = arena_domain(m->arena, g->spf_domain);
		return 0;
	}
	m->auth.spf = PST_AR_NONE;
	if (m->env.ip.family == 0 || m->env.mail_from == NULL) {
		m->auth.spf_reason = m->env.ip.family == 0 ? "no client IP" : "no MAIL FROM";
		return 0;
	}
	const pst_auth_libs *libs = pst_auth_libs_get();
	if (libs->spf == NULL) {
		m->auth.spf = PST_AR_TEMPERROR;
		return warn(m, libs->spf_error);
	}
	pst_spf_result r;
	if (pst_spf_check_mailfrom(libs->spf, &m->dns, &m->env.ip, m->env.helo, m->env.mail_from,
	                           m->arena, &r) < 0)
		return -1;
	m->auth.spf = r.result;
	m->auth.spf_domain = r.domain;
	m->auth.spf_reason = r.reason;
	return 0;
}

static int fill_helo(struct pst_message *m)
{
	const pst_auth_given *g = m->auth.given;
	if (g && g->helo_spf) {
		m->auth.helo_spf = given_result(g->helo_spf);
		return 0;
	}
	m->auth.helo_spf = PST_AR_NONE;
	if (m->env.ip.family == 0 || m->env.helo == NULL || *m->env.helo == '\0')
		return 0;
	const pst_auth_libs *libs = pst_auth_libs_get();
	if (libs->spf == NULL) {
		m->auth.helo_spf = PST_AR_TEMPERROR;
		return warn(m, libs->spf_error);
	}
	pst_spf_result r;
	if (pst_spf_check_helo(libs->spf, &m->dns, &m->env.ip, m->env.helo, m->arena, &r) < 0)
		return -1;
	m->auth.helo_spf = r.result;
	m->auth.helo_domain = r.domain;
	return 0;
}

/* ---- DKIM --------------------------------------------------------------- */

static int fill_given_dkim(struct pst_message *m, const pst_auth_given *g)
{
	m->auth.dkim = given_result(g->dkim);
	m->auth.dkim_domains = pst_arena_calloc(m->arena, g->ndkim_domains + 1,
	                                        sizeof *m->auth.dkim_domains);
	if (m->auth.dkim_domains == NULL)
		return -1;
	for (size_t i = 0; i < g->ndkim_domains; i++) {
		const char *d = arena_domain(m->arena, g->dkim_domains[i]);
		if (d)
			m->auth.dkim_domains[m->auth.ndkim_domains++] = d;
	}
	return 0;
}

/* dkim.unsigned_header: the topmost field, over every passing signature,
 * that occurs more often than that signature's h= names it (names it at
 * least once; never a transit field such as Received: dkim.c), unknown
 * when none; dkim.unsigned_body: a passing signature's l= stops short of
 * the canonicalized body, false when none does. Given results (and a
 * verification that failed) say neither: unknown. */
static void dkim_uncovered(struct pst_message *m, const pst_dkim_result *r)
{
	const pst_dkim_sig *top = NULL;
	m->auth.dkim_unsigned_body_known = 1;
	for (size_t i = 0; i < r->nsigs; i++) {
		const pst_dkim_sig *s = &r->sigs[i];
		if (s->result != PST_AR_PASS)
			continue;
		if (s->unsigned_body)
			m->auth.dkim_unsigned_body = 1;
		if (s->unsigned_header && (top == NULL || s->unsigned_header_at < top->unsigned_header_at))
			top = s;
	}
	m->auth.dkim_unsigned_header = top != NULL ? top->unsigned_header : NULL;
}

static int fill_dkim(struct pst_message *m)
{
	const pst_auth_given *g = m->auth.given;
	if (g && g->dkim)
		return fill_given_dkim(m, g);
	const pst_auth_libs *libs = pst_auth_libs_get();
	if (libs->dkim == NULL) {
		m->auth.dkim = PST_AR_TEMPERROR;
		return warn(m, libs->dkim_error);
	}
	char err[200] = "";
	pst_dkim_result *r = &m->auth.dkim_sigs;
	const pst_settings *s = settings(m);
	pst_dkim_params p = { m->opts.now, s->dkim_max_signatures, s->dkim_clock_skew };
	if (pst_dkim_verify(libs->dkim, &m->dns, m->msg, m->first_field, &p, m->arena, r, err,
	                    sizeof err) < 0) {
		/* A library failure on this message: temporary, and said. */
		memset(r, 0, sizeof *r);
		m->auth.dkim = PST_AR_TEMPERROR;
		return warn(m, *err ? err : "DKIM verification failed");
	}
	m->auth.dkim_verified = 1;
	m->auth.dkim = pst_dkim_overall(r);
	m->auth.dkim_domains = pst_arena_calloc(m->arena, r->nsigs + 1, sizeof *m->auth.dkim_domains);
	if (m->auth.dkim_domains == NULL)
		return -1;
	for (size_t i = 0; i < r->nsigs; i++)
		if (r->sigs[i].result == PST_AR_PASS && r->sigs[i].domain)
			m->auth.dkim_domains[m->auth.ndkim_domains++] = r->sigs[i].domain;
	dkim_uncovered(m, r);
	return 0;
}

/* ---- DMARC and alignment ------------------------------------------------ */

static int ensure_group(struct pst_message *m, unsigned bit);

/* Evaluate DMARC for one author domain with the SPF and DKIM results
 * given (or none of either when with_* is 0, to read only the record's
 * alignment modes). */
static int evaluate_dmarc(struct pst_message *m, const char *domain, int with_spf, int with_dkim,
			  pst_dmarc_result *out)
{
	pst_dmarc_input in = {
		.from_domain = domain,
		.spf = with_spf ? m->auth.spf : PST_AR_NONE,
		.spf_domain = with_spf ? m->auth.spf_domain : NULL,
		.dkim_pass_domains = with_dkim ? m->auth.dkim_domains : NULL,
		.ndkim_pass = with_dkim ? m->auth.ndkim_domains : 0,
	};
	return pst_dmarc_evaluate(&m->dns, &in, m->arena, out);
}

/* How strict a DMARC outcome is, as the stock rules act on it: a failure
 * under reject, then under quarantine, then DNS trouble (tempfail), then
 * a failure under p=none, a broken record, no record, and a pass. */
static int dmarc_strictness(const pst_dmarc_result *r)
{
	switch (r->result) {
	case PST_AR_FAIL:
		return r->policy == PST_POLICY_REJECT ? 6 : r->policy == PST_POLICY_QUARANTINE ? 5 : 3;
	case PST_AR_TEMPERROR: return 4;
	case PST_AR_PERMERROR: return 2;
	case PST_AR_NONE: return 1;
	default: return 0;
	}
}

/* DMARC over every author domain (msg/author.h), the strictest outcome
 * winning (RFC 7489 6.6.1, RFC 9989): the domains of the From addresses
 * all count; a domain only shown (display name, comment, encoded-word)
 * counts when it would refuse or defer the message, so a display name
 * quoting a p=none or DMARC-less address changes nothing. No domain at
 * all is none, with the From's error as the reason. */
static int dmarc_over_authors(struct pst_message *m, pst_dmarc_result *out)
{
	int best = -1;

	memset(out, 0, sizeof *out);
	out->result = PST_AR_NONE;
	out->reason = m->from.error ? m->from.error : "no author domain";
	for (size_t i = 0; i < m->from.ndomains; i++) {
		const pst_author_domain *d = &m->from.domains[i];
		pst_dmarc_result r;
		if (evaluate_dmarc(m, d->domain, 1, 1, &r) < 0)
			return -1;
		int k = dmarc_strictness(&r);
		if (d->shown && k < 4)
			continue;
		if (k > best) {
			best = k;
			*out = r;
		}
	}
	return 0;
}

static int fill_dmarc(struct pst_message *m)
{
	const pst_auth_given *g = m->auth.given;
	if (g && g->dmarc) {
		m->auth.dmarc = given_result(g->dmarc);
		int p = g->dmarc_policy ? pst_dmarc_policy_parse(g->dmarc_policy) : -1;
		m->auth.dmarc_policy = p < 0 ? PST_POLICY_NONE : (pst_dmarc_policy)p;
		m->auth.dmarc_domain = arena_domain(m->arena, g->dmarc_domain);
		return 0;
	}
	if (ensure_group(m, AUTH_SPF) < 0 || ensure_group(m, AUTH_DKIM) < 0)
		return -1;
	pst_dmarc_result *r = &m->auth.dmarc_result;
	if (dmarc_over_authors(m, r) < 0)
		return -1;
	m->auth.dmarc_evaluated = 1;
	m->auth.dmarc = r->result;
	m->auth.dmarc_policy = r->policy;
	m->auth.dmarc_domain = r->domain;
	return 0;
}

/* Given results have no record behind them: relaxed alignment, over the
 * Public Suffix List (no DNS question for a result the caller gave; our
 * own evaluations align by tree walk, dmarc.h). */
static int relaxed_aligned(const char *a, const char *b)
{
	const pst_auth_libs *libs = pst_auth_libs_get();
	if (a == NULL || b == NULL)
		return 0;
	if (libs->psl)
		return pst_psl_aligned(libs->psl, a, b, 0);
	return pst_domain_is_under(a, b) || pst_domain_is_under(b, a);
}

/* The DMARC record decides strict or relaxed alignment: reuse a DMARC
 * evaluation already made, else evaluate with only the side asked for, so
 * reading spf.aligned never verifies DKIM signatures. */
static int aligned_by_record(struct pst_message *m, int spf_side, int *out)
{
	pst_dmarc_result r;
	if (m->auth.dmarc_evaluated && m->auth.dmarc_result.domain &&
	    strcmp(m->auth.dmarc_result.domain, m->from.domain) == 0)
		r = m->auth.dmarc_result;
	else if (evaluate_dmarc(m, m->from.domain, spf_side, !spf_side, &r) < 0)
		return -1;
	*out = spf_side ? r.spf_aligned : r.dkim_aligned;
	return 0;
}

static int fill_spf_align(struct pst_message *m)
{
	if (ensure_group(m, AUTH_SPF) < 0)
		return -1;
	if (m->auth.spf != PST_AR_PASS || m->from.domain == NULL)
		return 0;              /* nothing passed, or no single author domain */
	const pst_auth_given *g = m->auth.given;
	if (g && g->spf) {         /* no record behind given results: relaxed */
		m->auth.spf_aligned = relaxed_aligned(m->auth.spf_domain, m->from.domain);
		return 0;
	}
	return aligned_by_record(m, 1, &m->auth.spf_aligned);
}

static int fill_dkim_align(struct pst_message *m)
{
	if (ensure_group(m, AUTH_DKIM) < 0)
		return -1;
	if (m->auth.ndkim_domains == 0 || m->from.domain == NULL)
		return 0;
	const pst_auth_given *g = m->auth.given;
	if (g && g->dkim) {
		for (size_t i = 0; i < m->auth.ndkim_domains && m->auth.dkim == PST_AR_PASS; i++)
			if (relaxed_aligned(m->auth.dkim_domains[i], m->from.domain))
				m->auth.dkim_aligned = 1;
		return 0;
	}
	return aligned_by_record(m, 0, &m->auth.dkim_aligned);
}

/* ---- Authentication-Results of trusted gateways ------------------------- */

/* Bits of pst_auth.authres_unread. */
enum { AR_UNREAD_SPF = 1, AR_UNREAD_DKIM = 2, AR_UNREAD_DMARC = 4 };

/* Rank of a DKIM result when one field gives several (one per signature),
 * as the dkim fact ranks our own signatures: pass, then temperror, fail,
 * policy, permerror, neutral, softfail, none. */
static int dkim_rank(pst_auth_result r)
{
	static const int rank[PST_AR__COUNT] = {
		[PST_AR_PASS] = 7, [PST_AR_TEMPERROR] = 6, [PST_AR_FAIL] = 5,
		[PST_AR_POLICY] = 4, [PST_AR_PERMERROR] = 3, [PST_AR_NEUTRAL] = 2,
		[PST_AR_SOFTFAIL] = 1, [PST_AR_NONE] = 0,
	};
	return rank[r];
}

/* The result of method in the deciding field ar into *out; 0, or -1 when
 * it cannot be read (the fact is unknown). A result that was not read,
 * or a keyword we do not know ("bestguesspass"), is unreadable. Absent:
 * none, unless part of the field was unreadable (it may have been
 * there). Several results of one method in the field:
 *   dkim (one per signature): pass when any passes, else unknown when any
 *        is unreadable, else the highest by dkim_rank;
 *   spf, dmarc (dmarc once per author domain): fail when any fails (the
 *        strictest outcome), else their common value, unknown when they
 *        differ or any is unreadable.
 * Never a value from anywhere but ar. */
static int method_result(const pst_authres *ar, unsigned how, const char *method,
                         pst_auth_result *out)
{
	int found = 0, unreadable = 0, differ = 0, failed = 0;
	pst_auth_result best = PST_AR_NONE;
	for (size_t i = 0; i < ar->nresults; i++) {
		if (strcmp(ar->results[i].method, method) != 0)
			continue;
		int r = ar->results[i].result ? pst_auth_result_parse(ar->results[i].result) : -1;
		if (r < 0) {
			unreadable = 1;
			continue;
		}
		if (found && (pst_auth_result)r != best)
			differ = 1;
		if (!found || dkim_rank((pst_auth_result)r) > dkim_rank(best))
			best = (pst_auth_result)r;
		failed |= r == PST_AR_FAIL;
		found = 1;
	}
	int dkim = strcmp(method, "dkim") == 0;
	if (dkim && found && best == PST_AR_PASS) {
		*out = PST_AR_PASS;
		return 0;
	}
	if (!dkim && failed) {
		*out = PST_AR_FAIL;
		return 0;
	}
	if (unreadable || (!dkim && differ) || (!found && (how & PST_AUTHRES_UNREAD)))
		return -1;
	*out = found ? best : PST_AR_NONE;
	return 0;
}

/* Whether a field is from a trusted authserv-id. A field bearing our own
 * id arrived forged (RFC 8601 section 5): it is never trusted, whatever
 * the settings say. The id is found tolerantly (pst_authres_has_id), so a
 * trusted gateway's field is recognised however the rest of it is
 * written. */
static int is_trusted(const pst_settings *s, const char *v, size_t vlen)
{
	if (s->authserv_id && pst_authres_has_id(v, vlen, s->authserv_id))
		return 0;
	for (size_t i = 0; i < s->ntrusted; i++)
		if (pst_authres_has_id(v, vlen, s->trusted_authserv_ids[i]))
			return 1;
	return 0;
}

/* The authres.* facts. The topmost field of a trusted authserv-id is the
 * nearest hop's verdict and decides alone: it is read tolerantly
 * (pst_authres_salvage), and what it leaves unreadable is unknown. No
 * field below it is ever read, whatever it contains, for the sender can
 * plant those. */
static int fill_authres(struct pst_message *m)
{
	const pst_settings *s = settings(m);
	m->auth.authres_spf = m->auth.authres_dkim = m->auth.authres_dmarc = PST_AR_NONE;
	m->auth.authres_unread = 0;
	if (s->ntrusted == 0)
		return 0;
	size_t n = pst_msg_field_count(m->msg);
	for (size_t i = m->first_field; i < n; i++) {
		const pst_msg_field *f = pst_msg_field_at(m->msg, i);
		if (!pst_msg_name_eq(f->name, f->name_len, "Authentication-Results", 22))
			continue;
		pst_authres ar;
		unsigned how;
		size_t vlen;
		const char *v = pst_msg_value(m->msg, f, &vlen);
		if (v == NULL)
			return -1;         /* ENOMEM */
		if (!is_trusted(s, v, vlen))
			continue;
		if (pst_authres_salvage(m->arena, v, vlen, &ar, &how) < 0)
			return -1;         /* ENOMEM */
		m->auth.authres_known = 1;
		if (method_result(&ar, how, "spf", &m->auth.authres_spf) < 0)
			m->auth.authres_unread |= AR_UNREAD_SPF;
		if (method_result(&ar, how, "dkim", &m->auth.authres_dkim) < 0)
			m->auth.authres_unread |= AR_UNREAD_DKIM;
		if (method_result(&ar, how, "dmarc", &m->auth.authres_dmarc) < 0)
			m->auth.authres_unread |= AR_UNREAD_DMARC;
		return 0;              /* the topmost trusted field decides */
	}
	return 0;
}

/* ---- Groups ------------------------------------------------------------- */

static const struct group {
	unsigned bit;
	int (*fill)(struct pst_message *);
} groups[] = {
	{ AUTH_SPF, fill_spf },
	{ AUTH_HELO, fill_helo },
	{ AUTH_DKIM, fill_dkim },
	{ AUTH_DMARC, fill_dmarc },
	{ AUTH_AUTHRES, fill_authres },
	{ AUTH_SPF_ALIGN, fill_spf_align },
	{ AUTH_DKIM_ALIGN, fill_dkim_align },
};

static int ensure_group(struct pst_message *m, unsigned bit)
{
	if (m->auth.computed & bit)
		return 0;
	m->auth.computed |= bit;     /* set first: DMARC reads SPF, never itself */
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i].bit == bit)
			return groups[i].fill(m);
	return 0;
}

int pst_auth_compute_all(struct pst_message *m)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (ensure_group(m, groups[i].bit) < 0)
			return -1;
	return 0;
}

static void set_result(pst_value *out, pst_auth_result r)
{
	out->known = 1;
	out->type = PST_T_RESULT;
	out->u.result = r;
}

/* An authres.* fact: unknown when the deciding field left it unreadable. */
static void set_authres(pst_value *out, const pst_auth *a, unsigned bit, pst_auth_result r)
{
	set_result(out, r);
	out->known = (a->authres_unread & bit) == 0;
}

static void set_domain(pst_value *out, const char *d)
{
	out->type = PST_T_DOMAIN;
	out->known = d != NULL;
	out->u.s.p = d ? d : "";
	out->u.s.len = d ? strlen(d) : 0;
}

static void set_string(pst_value *out, const char *s)
{
	out->type = PST_T_STRING;
	out->known = s != NULL;
	out->u.s.p = s ? s : "";
	out->u.s.len = s ? strlen(s) : 0;
}

static void set_bool(pst_value *out, int b)
{
	out->known = 1;
	out->type = PST_T_BOOL;
	out->u.b = b;
}

/* ---- The providers: one per AUTH line of lang/facts/registry.h --------- */

/* Each reads its group's results, already computed (pst_auth_fact). */

static int provide_spf(struct pst_message *m, pst_value *out)
{
	set_result(out, m->auth.spf);
	return 0;
}

static int provide_spf_domain(struct pst_message *m, pst_value *out)
{
	set_domain(out, m->auth.spf_domain);
	return 0;
}

static int provide_spf_aligned(struct pst_message *m, pst_value *out)
{
	set_bool(out, m->auth.spf_aligned);
	return 0;
}

static int provide_helo_spf(struct pst_message *m, pst_value *out)
{
	set_result(out, m->auth.helo_spf);
	return 0;
}

static int provide_dkim(struct pst_message *m, pst_value *out)
{
	set_result(out, m->auth.dkim);
	return 0;
}

static int provide_dkim_domains(struct pst_message *m, pst_value *out)
{
	out->known = 1;
	out->type = PST_T_DOMAINSET;
	out->u.set.items = m->auth.dkim_domains;
	out->u.set.n = m->auth.ndkim_domains;
	return 0;
}

static int provide_dkim_aligned(struct pst_message *m, pst_value *out)
{
	set_bool(out, m->auth.dkim_aligned);
	return 0;
}

static int provide_dkim_unsigned_header(struct pst_message *m, pst_value *out)
{
	set_string(out, m->auth.dkim_unsigned_header);
	return 0;
}

/* Unknown unless we verified the signatures (dkim_uncovered). */
static int provide_dkim_unsigned_body(struct pst_message *m, pst_value *out)
{
	set_bool(out, m->auth.dkim_unsigned_body);
	out->known = m->auth.dkim_unsigned_body_known;
	return 0;
}

static int provide_dmarc(struct pst_message *m, pst_value *out)
{
	set_result(out, m->auth.dmarc);
	return 0;
}

static int provide_dmarc_policy(struct pst_message *m, pst_value *out)
{
	out->known = 1;
	out->type = PST_T_POLICY;
	out->u.policy = m->auth.dmarc_policy;
	return 0;
}

static int provide_dmarc_domain(struct pst_message *m, pst_value *out)
{
	set_domain(out, m->auth.dmarc_domain);
	return 0;
}

static int provide_authres_spf(struct pst_message *m, pst_value *out)
{
	set_authres(out, &m->auth, AR_UNREAD_SPF, m->auth.authres_spf);
	return 0;
}

static int provide_authres_dkim(struct pst_message *m, pst_value *out)
{
	set_authres(out, &m->auth, AR_UNREAD_DKIM, m->auth.authres_dkim);
	return 0;
}

static int provide_authres_dmarc(struct pst_message *m, pst_value *out)
{
	set_authres(out, &m->auth, AR_UNREAD_DMARC, m->auth.authres_dmarc);
	return 0;
}

/* Each AUTH fact's group (the AUTH_<GROUP> bit that computes it) and
 * provider, in its id's slot, made from the registry; { 0, NULL } for the
 * other facts. An AUTH line without its provide_<sym>, or naming a group
 * that is not an AUTH_ bit, does not compile. */
static const struct auth_fact {
	unsigned group;
	int (*provide)(struct pst_message *m, pst_value *out);
} auth_facts[PST_F__COUNT] = {
#define AUTH_FACT_AUTH(ID, sym, group) [PST_F_##ID] = { AUTH_##group, provide_##sym },
#define AUTH_FACT_MESSAGE(ID, sym, group)
#define AUTH_FACT_RCPT(ID, sym, group)
#define AUTH_FACT_(ID, sym, name, type, source, group) AUTH_FACT_##source(ID, sym, group)
	PST_FACTS(AUTH_FACT_)
#undef AUTH_FACT_
#undef AUTH_FACT_RCPT
#undef AUTH_FACT_MESSAGE
#undef AUTH_FACT_AUTH
};

/* The group that computes auth fact f; 0 for any other fact. */
static unsigned group_of(pst_fact f)
{
	return (unsigned)f < PST_F__COUNT ? auth_facts[f].group : 0;
}

int pst_auth_has(const struct pst_message *m, pst_fact f)
{
	return (m->auth.computed & group_of(f)) != 0;
}

int pst_auth_fact_provided(pst_fact f)
{
	return (unsigned)f < PST_F__COUNT && auth_facts[f].provide != NULL;
}

int pst_auth_fact(struct pst_message *m, pst_fact f, pst_value *out)
{
	memset(out, 0, sizeof *out);
	if (!pst_auth_fact_provided(f))
		return 0;              /* not an auth fact: unknown */
	if (ensure_group(m, group_of(f)) < 0)
		return -1;
	return auth_facts[f].provide(m, out);
}

/* ---- Our Authentication-Results field ----------------------------------- */

typedef struct ar_builder {
	pst_arena *arena;
	pst_authres_result *results;
	size_t n, cap;
} ar_builder;

static pst_authres_result *ar_add(ar_builder *b, const char *method, pst_auth_result r,
                                  size_t nprops)
{
	if (b->n == b->cap)
		return NULL;
	pst_authres_result *res = &b->results[b->n++];
	memset(res, 0, sizeof *res);
	res->method = method;
	res->result = pst_auth_result_name(r);
	res->props = nprops ? pst_arena_calloc(b->arena, nprops, sizeof *res->props) : NULL;
	if (nprops && res->props == NULL)
		return NULL;
	return res;
}

static void ar_prop(pst_authres_result *res, const char *ptype, const char *property,
                    const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	pst_authres_prop *p = &res->props[res->nprops++];
	p->ptype = ptype;
	p->property = property;
	p->value = value;
}

/* smtp.mailfrom: the MAIL FROM address (postmaster@helo for the null
 * sender, RFC 7208 2.4), or the domain checked. */
static const char *mailfrom_value(struct pst_message *m)
{
	if (m->env.mail_from && *m->env.mail_from)
		return m->env.mail_from;
	return m->auth.spf_domain;
}

static int ar_dkim(ar_builder *b, struct pst_message *m)
{
	const pst_dkim_result *r = &m->auth.dkim_sigs;
	if (!m->auth.dkim_verified || r->nsigs == 0)
		return ar_add(b, "dkim", m->auth.dkim, 0) ? 0 : -1;
	for (size_t i = 0; i < r->nsigs; i++) {
		const pst_dkim_sig *s = &r->sigs[i];
		pst_authres_result *res = ar_add(b, "dkim", s->result, 4);
		if (res == NULL)
			return -1;
		if (s->result != PST_AR_PASS && s->reason)
			res->reason = s->reason;
		ar_prop(res, "header", "d", s->domain);
		ar_prop(res, "header", "s", s->selector);
		ar_prop(res, "header", "a", s->algorithm);
		ar_prop(res, "header", "b", s->b_prefix);
	}
	return 0;
}

/* The field's comment after the authserv-id: DKIM signatures past the
 * policy's dkim-max-signatures were not verified (the README's limits table),
 * "(2 DKIM signatures ignored beyond dkim-max-signatures 8)". NULL when
 * none were ignored, and on ENOMEM with *nomem set. From the arena. */
static const char *ar_comment(struct pst_message *m, int *nomem)
{
	size_t n = m->auth.dkim_verified ? m->auth.dkim_sigs.ignored : 0;
	unsigned max = settings(m)->dkim_max_signatures;
	char text[96];
	char *v;

	*nomem = 0;
	if (n == 0)
		return NULL;
	snprintf(text, sizeof text, "%zu DKIM signature%s ignored beyond dkim-max-signatures %u",
	         n, n == 1 ? "" : "s", max ? max : PST_DEFAULT_MAX_DKIM_SIGS);
	if ((v = pst_arena_strdup(m->arena, text)) == NULL)
		*nomem = 1;
	return v;
}

/* RFC 9989 t=y on a failure: the reason says the policy was lowered
 * ("t=y: quarantine for p=reject"). 0, or -1 on ENOMEM. */
static int ar_dmarc_testing(struct pst_message *m, pst_authres_result *res)
{
	const pst_dmarc_result *r = &m->auth.dmarc_result;
	char text[64];

	if (!m->auth.dmarc_evaluated || !r->testing || r->result != PST_AR_FAIL
	    || r->policy == r->published)
		return 0;
	snprintf(text, sizeof text, "t=y: %s for p=%s", pst_dmarc_policy_name(r->policy),
	         pst_dmarc_policy_name(r->published));
	res->reason = pst_arena_strdup(m->arena, text);
	return res->reason ? 0 : -1;
}

int pst_auth_results_value(struct pst_message *m, const char *authserv_id, pst_buf *out)
{
	if (pst_auth_compute_all(m) < 0)
		return -1;
	ar_builder b = { m->arena, NULL, 0, 4 + m->auth.dkim_sigs.nsigs };
	b.results = pst_arena_calloc(m->arena, b.cap, sizeof *b.results);
	if (b.results == NULL)
		return -1;
	pst_authres_result *res = ar_add(&b, "spf", m->auth.spf, 1);
	if (res == NULL)
		return -1;
	ar_prop(res, "smtp", "mailfrom", mailfrom_value(m));
	if (m->env.helo && *m->env.helo && m->auth.helo_spf != PST_AR_NONE) {
		if ((res = ar_add(&b, "spf", m->auth.helo_spf, 1)) == NULL)
			return -1;
		ar_prop(res, "smtp", "helo", m->auth.helo_domain ? m->auth.helo_domain : m->env.helo);
	}
	if (ar_dkim(&b, m) < 0 || (res = ar_add(&b, "dmarc", m->auth.dmarc, 2)) == NULL)
		return -1;
	ar_prop(res, "header", "from", m->auth.dmarc_domain ? m->auth.dmarc_domain : m->from.domain);
	if (m->auth.dmarc_evaluated && m->auth.dmarc_result.record_domain)
		ar_prop(res, "policy", "dmarc", pst_dmarc_policy_name(m->auth.dmarc_policy));
	if (ar_dmarc_testing(m, res) < 0)
		return -1;
	int nomem;
	pst_authres ar = { .authserv_id = authserv_id, .version = 1,
	                   .results = b.results, .nresults = b.n,
	                   .comment = ar_comment(m, &nomem) };
	if (nomem)
		return -1;
	return pst_authres_format(&ar, out);
}
