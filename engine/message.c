/*
 * message.c: messages in the public API (postern.h): creation from bytes
 * and envelope, evaluation of every recipient, verdicts, rendering.
 *
 * A message owns its parsed form (engine/msg), an arena for everything
 * derived from it, and the outcomes of evaluation. The envelope is taken
 * from the caller first, then from leading X-Postern-Envelope fields (which
 * are stripped from what is delivered), then the first To: address stands
 * in for a missing recipient. Verdicts come from the whole message
 * (pst_message_evaluate) or from its envelope alone
 * (pst_message_evaluate_envelope, eval.h's envelope_only); rendering and
 * reports need the former. The facts the rules read come from
 * fact_source() below; auth facts from message_auth.c.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postern.h"
#include "lang/program.h"
#include "message_private.h"
#include "auth/authres.h"
#include "dns/live.h"
#include "eval/apply.h"
#include "msg/addr.h"
#include "msg/edit.h"
#include "msg/msg.h"
#include "msg/rfc2047.h"
#include "message_facts.h"
#include "report.h"
#include "util/domain.h"
#include "util/limits.h"

#define ENVELOPE_FIELD "X-Postern-Envelope"

/* The public actions are the evaluator's decisions (lang/action.h), in the
 * same order; their names are those of the actions that decide them. */
const char *pst_action_name(pst_action a)
{
	return pst_decision_name((pst_decision)a);
}

_Static_assert((int)PST_ACCEPT == (int)PST_DECIDE_ACCEPT && (int)PST_REJECT == (int)PST_DECIDE_REJECT &&
               (int)PST_TEMPFAIL == (int)PST_DECIDE_TEMPFAIL && (int)PST_DISCARD == (int)PST_DECIDE_DISCARD &&
               (int)PST_QUARANTINE == (int)PST_DECIDE_QUARANTINE, "action enums diverge");

/* ---- Creation -------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Copy the caller's envelope into m->env (the caller's facts win over
 * anything the message carries). */
static int take_caller_envelope(struct pst_message *m, const pst_envelope *env, char *err, size_t errlen)
{
	if (env == NULL)
		return 0;
	const char *why = NULL;
	if (env->client_ip && *env->client_ip &&
	    pst_env_set_ip(&m->env, m->arena, env->client_ip, strlen(env->client_ip), &why) < 0) {
		if (errlen)
			snprintf(err, errlen, "client IP '%.64s': %s", env->client_ip, why);
		errno = EINVAL;
		return -1;
	}
	errno = ENOMEM;             /* the failures below */
	if ((env->client_name && !(m->env.client_name = pst_arena_strdup(m->arena, env->client_name))) ||
	    (env->helo && !(m->env.helo = pst_arena_strdup(m->arena, env->helo))) ||
	    (env->mail_from && !(m->env.mail_from = pst_arena_strdup(m->arena, env->mail_from))))
		return fail(err, errlen, "%s", "out of memory");
	for (size_t i = 0; i < env->nrcpts; i++)
		if (pst_env_add_rcpt(&m->env, m->arena, env->rcpts[i], strlen(env->rcpts[i])) < 0)
			return fail(err, errlen, "%s", "out of memory");
	return 0;
}

/* Read and count the leading X-Postern-Envelope fields (after an mbox
 * From_ line, if any). */
static int take_envelope_fields(struct pst_message *m, int keep_rcpts, char *err, size_t errlen)
{
	size_t i = 0, n = pst_msg_field_count(m->msg);
	const pst_msg_field *f = pst_msg_field_at(m->msg, 0);
	if (f && (f->flags & PST_MSG_FIELD_MBOX_FROM))
		i++;
	for (; i < n; i++) {
		f = pst_msg_field_at(m->msg, i);
		if (!pst_msg_name_eq(f->name, f->name_len, ENVELOPE_FIELD, strlen(ENVELOPE_FIELD)))
			break;
		char why[200] = "";
		size_t vlen;
		const char *v = pst_msg_value(m->msg, f, &vlen);
		if (v == NULL) {
			if (errlen)
				snprintf(err, errlen, "%s", "out of memory");
			errno = ENOMEM;
			return -1;
		}
		if (pst_env_parse_field(&m->env, m->arena, v, vlen, keep_rcpts, why, sizeof why) < 0) {
			if (errlen)
				snprintf(err, errlen, "X-Postern-Envelope: %s", why);
			errno = EINVAL;
			return -1;
		}
		m->nstripped++;
	}
	m->first_field = i;
	return 0;
}

/* The recipients to evaluate: the envelope's, else the first To: address,
 * else one unknown recipient (""), so the global rules still decide. */
static int choose_recipients(struct pst_message *m)
{
	if (m->env.nrcpts == 0) {
		const pst_msg_field *to = pst_msg_find(m->msg, "To", 2, 0);
		size_t vlen = 0;
		const char *v = to ? pst_msg_value(m->msg, to, &vlen) : NULL;
		pst_addr_list list;
		if (to && v == NULL)
			return -1;         /* ENOMEM */
		if (v && pst_addr_parse_list(m->arena, v, vlen, 0, &list) == 0 &&
		    list.count > 0 && !(list.items[0].flags & PST_ADDR_BAD) && *list.items[0].addr_spec)
			if (pst_env_add_rcpt(&m->env, m->arena, list.items[0].addr_spec,
			                     strlen(list.items[0].addr_spec)) < 0)
				return -1;
	}
	if (m->env.nrcpts == 0 && pst_env_add_rcpt(&m->env, m->arena, "", 0) < 0)
		return -1;
	m->rcpts = m->env.rcpts;
	m->nrcpts = m->env.nrcpts;
	return 0;
}

/* Check the words of caller-given auth results up front. */
static int check_given_auth(const pst_auth_given *g, char *err, size_t errlen)
{
	if (g == NULL)
		return 0;
	const char *words[] = { g->spf, g->helo_spf, g->dkim, g->dmarc };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (words[i] && pst_auth_result_parse(words[i]) < 0)
			return fail(err, errlen, "'%.40s' is not an RFC 8601 result word", words[i]);
	if (g->dmarc_policy && pst_dmarc_policy_parse(g->dmarc_policy) < 0)
		return fail(err, errlen, "'%.40s' is not a DMARC policy (none, quarantine, reject)",
		            g->dmarc_policy);
	return 0;
}

/* From facts (msg/author.h): one readable author or why not, and the
 * domains DMARC evaluates. */
static int compute_from(struct pst_message *m)
{
	pst_author a;
	if (pst_msg_author(m->msg, m->arena, &a) < 0)
		return -1;
	m->from.count = (long long)a.count;
	m->from.nfields = (long long)a.nfields;
	m->from.error = a.error;
	m->from.domains = a.domains;
	m->from.ndomains = a.ndomains;
	if (a.error == NULL) {
		m->from.address = a.addr->addr_spec;
		m->from.display = a.addr->display;
		m->from.domain = a.domain;
	}
	return 0;
}

/* The message's DNS session: the caller's fixture, else live DNS (made
 * once per process; without it every answer is SERVFAIL: temperror). */
static void start_dns(struct pst_message *m)
{
	const pst_resolver *r = NULL;
	if (m->opts.dns)
		r = m->opts.dns->resolver;
	else
		r = pst_resolver_live_shared(NULL);
	const pst_settings *s = pst_program_settings(m->policy->prog);
	pst_dns_session_init(&m->dns, r, m->arena, 0, s->dns_budget_ms);
	m->dns.max_queries = s->dns_max_questions;
}

int pst_message_new(const pst_policy *policy, const char *bytes, size_t len,
                    const pst_envelope *env, const pst_message_opts *opts,
                    pst_message **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (check_given_auth(opts ? opts->auth : NULL, err, errlen) < 0) {
		errno = EINVAL;
		return -1;
	}
	struct pst_message *m = calloc(1, sizeof *m);
	if (m == NULL || (m->arena = pst_arena_new()) == NULL) {
		free(m);
		errno = ENOMEM;
		return fail(err, errlen, "%s", "out of memory");
	}
	m->policy = policy;
	m->cursor.idx = -1;         /* no header read yet */
	if (opts)
		m->opts = *opts;
	m->auth.given = m->opts.auth;
	pst_msg_error merr;
	if (pst_msg_parse_in(bytes, len, NULL, m->arena, &m->msg, &merr) < 0) {
		fail(err, errlen, "%s", merr.text);
		pst_message_free(&m);
		errno = merr.code == PST_MSG_ENOMEM ? ENOMEM : EINVAL;
		return -1;
	}
	if (take_caller_envelope(m, env, err, errlen) < 0 ||
	    (!m->opts.no_envelope_fields &&
	     take_envelope_fields(m, env && env->nrcpts > 0, err, errlen) < 0)) {
		int e = errno;          /* set by the two: ENOMEM or EINVAL */
		pst_message_free(&m);
		errno = e;
		return -1;
	}
	if (choose_recipients(m) < 0 || compute_from(m) < 0) {
		pst_message_free(&m);
		errno = ENOMEM;
		return fail(err, errlen, "%s", "out of memory");
	}
	start_dns(m);
	*out = m;
	return 0;
}

void pst_message_free(pst_message **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	pst_msg_free(&(*mp)->msg);
	pst_arena_free(&(*mp)->arena);
	free(*mp);
	*mp = NULL;
}

/* ---- Evaluation ------------------------------------------------------ */

pst_action pst_message_after_queue(struct pst_message *m, int has_rule, size_t rule_at, pst_action a)
{
	if (a != PST_REJECT)
		return a;
	const pst_program *prog = m->policy->prog;
	const pst_program_rule *r = has_rule ? pst_program_rule_at(prog, rule_at) : NULL;
	switch (pst_program_rule_aqr(prog, r)) {
	case PST_AQR_REJECT: return PST_REJECT;
	case PST_AQR_QUARANTINE: return PST_QUARANTINE;
	case PST_AQR_DISCARD: return PST_DISCARD;
	case PST_AQR_REJECT_IF_SPF_PASS:
	default: {
		pst_value spf;
		if (pst_auth_fact(m, PST_F_SPF, &spf) == 0 && spf.known && spf.u.result == PST_AR_PASS)
			return PST_REJECT;
		return PST_QUARANTINE;
	}
	}
}

/* Fill the public verdict from the evaluator's outcome. */
static int make_verdict(struct pst_message *m, const char *rcpt, const pst_outcome *o, pst_verdict *v)
{
	v->address = rcpt;
	v->action = (pst_action)o->decision;
	v->applied = m->opts.after_queue ?
	             pst_message_after_queue(m, o->rule != NULL, o->rule_at, v->action) : v->action;
	v->code = o->code;
	v->enhanced = o->enhanced;
	v->text = o->text;
	v->folder = o->folder;
	v->rule = o->rule;
	v->audit = o->audit;
	v->naudit = o->naudit;
	v->warnings = o->warnings;
	v->nwarnings = o->nwarnings;
	v->matched = o->matched;
	v->nmatched = o->nmatched;
	v->tags = o->tags;
	v->ntags = o->ntags;
	v->undecided = o->undecided;
	pst_edit_info *edits = pst_arena_calloc(m->arena, o->nedits + 1, sizeof *edits);
	if (edits == NULL)
		return -1;
	for (size_t k = 0; k < o->nedits; k++) {
		edits[k].op = pst_action_op(o->edits[k].kind);
		edits[k].name = o->edits[k].name;
		edits[k].value = o->edits[k].value;
		edits[k].rule = o->edits[k].rule;
	}
	v->edits = edits;
	v->nedits = o->nedits;
	return 0;
}

/* Every recipient's outcome and verdict with eo, made how (PST_EVAL_*). A
 * failure leaves the message unevaluated. */
static int evaluate_all(struct pst_message *m, const pst_eval_opts *eo, int how)
{
	m->evaluated = 0;
	m->outcomes = pst_arena_calloc(m->arena, m->nrcpts, sizeof *m->outcomes);
	m->verdicts = pst_arena_calloc(m->arena, m->nrcpts, sizeof *m->verdicts);
	if (m->outcomes == NULL || m->verdicts == NULL)
		return -1;
	pst_fact_source src;
	pst_message_fact_source(m, &src);
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (pst_eval_recipient(m->policy->prog, &src, m->rcpts[i], eo, m->arena, &m->outcomes[i]) < 0 ||
		    make_verdict(m, m->rcpts[i], &m->outcomes[i], &m->verdicts[i]) < 0)
			return -1;
	}
	m->evaluated = how;
	return 0;
}

int pst_message_evaluate_envelope(pst_message *m)
{
	if (m->evaluated == PST_EVAL_ENVELOPE)
		return 0;
	pst_eval_opts eo = { .envelope_only = 1 };
	return evaluate_all(m, &eo, PST_EVAL_ENVELOPE);
}

int pst_message_evaluate(pst_message *m)
{
	if (m->evaluated == PST_EVAL_FULL)
		return 0;
	pst_eval_opts eo = { .trace = m->opts.trace };
	size_t nrules = pst_program_rule_count(m->policy->prog);
	if (m->opts.time_rules) {
		m->rule_nsec = pst_arena_calloc(m->arena, nrules + 1, sizeof *m->rule_nsec);
		m->rule_evals = pst_arena_calloc(m->arena, nrules + 1, sizeof *m->rule_evals);
		if (m->rule_nsec == NULL || m->rule_evals == NULL)
			return -1;
		eo.rule_nsec = m->rule_nsec;
		eo.rule_evals = m->rule_evals;
	}
	return evaluate_all(m, &eo, PST_EVAL_FULL);
}

int pst_message_rule_time(const pst_message *m, size_t i, unsigned long long *nsec,
                          unsigned *evaluations)
{
	if (m->evaluated != PST_EVAL_FULL || m->rule_nsec == NULL ||
	    i >= pst_program_rule_count(m->policy->prog))
		return -1;
	if (nsec)
		*nsec = m->rule_nsec[i];
	if (evaluations)
		*evaluations = m->rule_evals[i];
	return 0;
}

unsigned pst_message_dns_queries(const pst_message *m)
{
	return m->dns.queries;
}

const char *pst_message_auth_result(pst_message *m, const char *method)
{
	static const struct { const char *name; pst_fact fact; } methods[] = {
		{ "spf", PST_F_SPF }, { "helo", PST_F_HELO_SPF },
		{ "dkim", PST_F_DKIM }, { "dmarc", PST_F_DMARC },
	};
	pst_value v;

	for (size_t i = 0; m && method && i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(method, methods[i].name) != 0)
			continue;
		if (!pst_auth_has(m, methods[i].fact) || pst_auth_fact(m, methods[i].fact, &v) < 0)
			return NULL;
		return pst_auth_result_name(v.known ? v.u.result : PST_AR_NONE);
	}
	return NULL;
}

size_t pst_message_rcpt_count(const pst_message *m)
{
	return m->nrcpts;
}

const pst_verdict *pst_message_verdict(const pst_message *m, size_t i)
{
	if (!m->evaluated || i >= m->nrcpts)
		return NULL;
	return &m->verdicts[i];
}

/* ---- Rendering ------------------------------------------------------- */

/* Authentication-Results fields that bear our own authserv-id arrived
 * forged (RFC 8601 section 5): they are removed before ours is added. */
static int forged_authres(void *ctx, const char *value, size_t len)
{
	return pst_authres_has_id(value, len, ctx);
}

/* The value of X-Postern-Quarantine for recipient i's quarantined copy:
 * "rule=NAME; decision=ACTION; applied=quarantine; client-ip=IP", a part
 * not known written "unknown"; in the rule name, anything but letters,
 * digits and "._-" becomes '?' (the field stays one token list). */
static int quarantine_reason(const pst_message *m, const pst_verdict *v, pst_buf *b)
{
	const char *rule = v->rule ? v->rule : "unknown";
	if (pst_buf_puts(b, "rule=") < 0)
		return -1;
	for (const char *p = rule; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		         || c == '.' || c == '_' || c == '-';
		if (pst_buf_putc(b, ok ? (char)c : '?') < 0)
			return -1;
	}
	return pst_buf_printf(b, "; decision=%s; applied=%s; client-ip=%s", pst_action_name(v->action),
	                      pst_action_name(v->applied),
	                      m->env.client_ip ? m->env.client_ip : "unknown");
}

/* With quarantine-reason on: X-Postern-Quarantine fields that came with
 * the message are removed from every copy (a sender must not write one),
 * and a quarantined copy gets postern's. 0, or -1 on ENOMEM. */
static int quarantine_edits(const pst_message *m, size_t i, pst_msg_edit *edits, size_t *nedits,
                            pst_buf *value)
{
	if (!pst_program_settings(m->policy->prog)->quarantine_reason)
		return 0;
	edits[(*nedits)++] = (pst_msg_edit){ .op = PST_MSG_EDIT_REMOVE, .name = "X-Postern-Quarantine" };
	const pst_verdict *v = &m->verdicts[i];
	if (v->applied != PST_QUARANTINE)
		return 0;
	if (quarantine_reason(m, v, value) < 0 || pst_buf_str(value) == NULL)
		return -1;
	edits[(*nedits)++] = (pst_msg_edit){ .op = PST_MSG_EDIT_ADD, .name = "X-Postern-Quarantine",
		.value = pst_buf_str(value) };
	return 0;
}

int pst_message_render(pst_message *m, size_t i, char **out, size_t *len, char *err, size_t errlen)
{
	*out = NULL;
	*len = 0;
	if (errlen)
		err[0] = '\0';
	if (m->evaluated != PST_EVAL_FULL || i >= m->nrcpts)
		return fail(err, errlen, "%s", m->evaluated != PST_EVAL_FULL ? "the message was not evaluated"
		                                             : "no such recipient");
	const pst_outcome *o = &m->outcomes[i];
	/* The rules' edits (eval/apply.h), and room for Authentication-Results
	 * and X-Postern-Quarantine. */
	pst_msg_edit *edits = pst_apply_edits(o->edits, o->nedits, 4);
	if (edits == NULL)
		return fail(err, errlen, "%s", errno == EINVAL ? "an edit action has no message edit"
		                                               : "out of memory");
	size_t nedits = o->nedits;
	const char *id = pst_program_settings(m->policy->prog)->authserv_id;
	pst_buf ar = PST_BUF_INIT;
	if (id) {
		if (pst_auth_results_value(m, id, &ar) < 0) {
			free(edits);
			pst_buf_free(&ar);
			return fail(err, errlen, "%s", "out of memory");
		}
		edits[nedits++] = (pst_msg_edit){ .op = PST_MSG_EDIT_REMOVE,
			.name = "Authentication-Results", .match = forged_authres, .match_ctx = (void *)id };
		edits[nedits++] = (pst_msg_edit){ .op = PST_MSG_EDIT_ADD,
			.name = "Authentication-Results", .value = pst_buf_str(&ar) };
	}
	pst_buf qr = PST_BUF_INIT;
	if (quarantine_edits(m, i, edits, &nedits, &qr) < 0) {
		free(edits);
		pst_buf_free(&ar);
		pst_buf_free(&qr);
		return fail(err, errlen, "%s", "out of memory");
	}
	pst_render_opts ro = { .skip_before = m->first_field };
	pst_buf b = PST_BUF_INIT;
	int rc = pst_msg_render(m->msg, edits, nedits, &ro, &b, err, errlen);
	free(edits);
	pst_buf_free(&ar);
	pst_buf_free(&qr);
	if (rc < 0) {
		pst_buf_free(&b);
		return -1;
	}
	*out = pst_buf_steal(&b, len);
	if (*out == NULL)
		return fail(err, errlen, "%s", "out of memory");
	return 0;
}

/* ---- Reports --------------------------------------------------------- */

static int report(pst_message *m, char **out, int (*fn)(struct pst_message *, pst_buf *))
{
	*out = NULL;
	if (m->evaluated != PST_EVAL_FULL && pst_message_evaluate(m) < 0)
		return -1;
	pst_buf b = PST_BUF_INIT;
	if (fn(m, &b) < 0) {
		pst_buf_free(&b);
		return -1;
	}
	*out = pst_buf_steal(&b, NULL);
	return *out ? 0 : -1;
}

int pst_message_json(pst_message *m, char **out)
{
	return report(m, out, pst_report_json);
}

int pst_message_text(pst_message *m, char **out)
{
	return report(m, out, pst_report_text);
}
