/*
 * report.c: the reports of an evaluated message (report.h).
 *
 * The JSON object is documented in postern-json(5) and is stable: fields may be added, never
 * removed or renamed. Auth facts appear as the auth layer has them (it
 * computes them on demand here, which is cheap while they are "none").
 */
#include "report.h"

#include <string.h>

#include "message_private.h"
#include "message_facts.h"
#include "auth/libs.h"
#include "lang/program.h"

/* ---- JSON helpers ---------------------------------------------------- */

static int json_str(pst_buf *b, const char *s)
{
	if (s == NULL)
		return pst_buf_puts(b, "null");
	return pst_buf_json_str(b, s, strlen(s));
}

static int json_key(pst_buf *b, const char *key, int first)
{
	if (!first && pst_buf_putc(b, ',') < 0)
		return -1;
	if (json_str(b, key) < 0)
		return -1;
	return pst_buf_putc(b, ':');
}

static int json_kv(pst_buf *b, const char *key, const char *val, int first)
{
	return json_key(b, key, first) < 0 ? -1 : json_str(b, val);
}

static int json_str_array(pst_buf *b, const char *const *items, size_t n)
{
	if (pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((i && pst_buf_putc(b, ',') < 0) || json_str(b, items[i]) < 0)
			return -1;
	return pst_buf_putc(b, ']');
}

/* ---- Recipients ------------------------------------------------------ */

static int json_edit(pst_buf *b, const pst_edit_info *e)
{
	if (pst_buf_putc(b, '{') < 0 || json_kv(b, "op", e->op, 1) < 0)
		return -1;
	if (e->name && json_kv(b, "name", e->name, 0) < 0)
		return -1;
	if (e->value && json_kv(b, "value", e->value, 0) < 0)
		return -1;
	if (json_kv(b, "rule", e->rule, 0) < 0)
		return -1;
	return pst_buf_putc(b, '}');
}

static int json_smtp(pst_buf *b, int code, const char *enhanced, const char *text)
{
	return pst_buf_printf(b, "{\"code\":%d,", code) < 0 ||
	       json_kv(b, "enhanced", enhanced, 1) < 0 ||
	       json_kv(b, "text", text, 0) < 0 ||
	       pst_buf_putc(b, '}') < 0 ? -1 : 0;
}

/* ---- Audit rules --------------------------------------------------- */

/* What an audit rule would have become after the queue (LMTP). */
static pst_action audit_applied(struct pst_message *m, const pst_audit_hit *h)
{
	return pst_message_after_queue(m, 1, h->rule_at, (pst_action)h->decision);
}

static int json_audit_hit(pst_buf *b, struct pst_message *m, const pst_audit_hit *h)
{
	if (pst_buf_putc(b, '{') < 0 || json_kv(b, "rule", h->rule, 1) < 0 ||
	    json_kv(b, "decision", h->decided ? pst_action_name((pst_action)h->decision) : NULL, 0) < 0)
		return -1;
	if (h->decided && m->opts.after_queue &&
	    json_kv(b, "applied", pst_action_name(audit_applied(m, h)), 0) < 0)
		return -1;
	if (json_key(b, "smtp", 0) < 0 ||
	    (h->decided ? json_smtp(b, h->code, h->enhanced, h->text) : pst_buf_puts(b, "null")) < 0)
		return -1;
	if (h->decided && h->decision == PST_DECIDE_QUARANTINE && json_kv(b, "folder", h->folder, 0) < 0)
		return -1;
	if (json_key(b, "tags", 0) < 0 || json_str_array(b, h->tags, h->ntags) < 0 ||
	    json_key(b, "logs", 0) < 0 || json_str_array(b, h->logs, h->nlogs) < 0)
		return -1;
	return pst_buf_putc(b, '}');
}

int pst_report_audit_json(struct pst_message *m, size_t i, pst_buf *b)
{
	if (i >= m->nrcpts || !m->evaluated)
		return pst_buf_puts(b, "[]");
	const pst_outcome *o = &m->outcomes[i];
	if (pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t k = 0; k < o->naudits; k++)
		if ((k && pst_buf_putc(b, ',') < 0) || json_audit_hit(b, m, &o->audits[k]) < 0)
			return -1;
	return pst_buf_putc(b, ']');
}

static int text_audit_hit(pst_buf *b, struct pst_message *m, const pst_audit_hit *h,
                          const char *indent)
{
	if (pst_buf_printf(b, "%saudit: %s matched (not enforced)", indent, h->rule) < 0)
		return -1;
	if (h->decided) {
		if (pst_buf_printf(b, ": would %s %d %s ", pst_action_name((pst_action)h->decision),
		                   h->code, h->enhanced) < 0 || json_str(b, h->text) < 0)
			return -1;
		pst_action applied = m->opts.after_queue ? audit_applied(m, h) : (pst_action)h->decision;
		if (applied != (pst_action)h->decision &&
		    pst_buf_printf(b, " (applied after queue: %s)", pst_action_name(applied)) < 0)
			return -1;
	}
	if (pst_buf_putc(b, '\n') < 0)
		return -1;
	for (size_t k = 0; k < h->nlogs; k++)
		if (pst_buf_printf(b, "%s  log: ", indent) < 0 || json_str(b, h->logs[k]) < 0 ||
		    pst_buf_putc(b, '\n') < 0)
			return -1;
	for (size_t k = 0; k < h->ntags; k++)
		if (pst_buf_printf(b, "%s  tag: %s\n", indent, h->tags[k]) < 0)
			return -1;
	return 0;
}

int pst_report_audit_text(struct pst_message *m, size_t i, const char *indent, pst_buf *b)
{
	if (i >= m->nrcpts || !m->evaluated)
		return 0;
	const pst_outcome *o = &m->outcomes[i];
	for (size_t k = 0; k < o->naudits; k++)
		if (text_audit_hit(b, m, &o->audits[k], indent) < 0)
			return -1;
	return 0;
}

/* ---- Recipients (continued) ------------------------------------------ */

static int json_recipient(pst_buf *b, struct pst_message *m, const pst_verdict *v)
{
	if (pst_buf_putc(b, '{') < 0 ||
	    json_kv(b, "address", *v->address ? v->address : NULL, 1) < 0 ||
	    json_kv(b, "decision", pst_action_name(v->action), 0) < 0)
		return -1;
	if (m->opts.after_queue && json_kv(b, "applied", pst_action_name(v->applied), 0) < 0)
		return -1;
	if (json_key(b, "smtp", 0) < 0 || json_smtp(b, v->code, v->enhanced, v->text) < 0)
		return -1;
	if (json_kv(b, "rule", v->rule, 0) < 0)
		return -1;
	if (v->action == PST_QUARANTINE && json_kv(b, "folder", v->folder, 0) < 0)
		return -1;
	if (json_key(b, "audit", 0) < 0 || json_str_array(b, v->audit, v->naudit) < 0)
		return -1;
	if (json_key(b, "audit_rules", 0) < 0 ||
	    pst_report_audit_json(m, (size_t)(v - m->verdicts), b) < 0)
		return -1;
	if (json_key(b, "edits", 0) < 0 || pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t i = 0; i < v->nedits; i++)
		if ((i && pst_buf_putc(b, ',') < 0) || json_edit(b, &v->edits[i]) < 0)
			return -1;
	if (pst_buf_putc(b, ']') < 0)
		return -1;
	const pst_outcome *o = &m->outcomes[v - m->verdicts];
	if (json_key(b, "tags", 0) < 0 || json_str_array(b, o->tags, o->ntags) < 0 ||
	    json_key(b, "logs", 0) < 0 || json_str_array(b, o->logs, o->nlogs) < 0)
		return -1;
	if (v->nwarnings && (json_key(b, "warnings", 0) < 0 ||
	                     json_str_array(b, v->warnings, v->nwarnings) < 0))
		return -1;
	return pst_buf_putc(b, '}');
}

/* ---- Auth ------------------------------------------------------------ */

static const char *fact_word(struct pst_message *m, pst_fact f)
{
	pst_value v;
	if (pst_auth_fact(m, f, &v) < 0 || !v.known)
		return NULL;
	if (v.type == PST_T_RESULT)
		return pst_auth_result_name(v.u.result);
	if (v.type == PST_T_POLICY)
		return pst_dmarc_policy_name(v.u.policy);
	if (v.type == PST_T_DOMAIN)
		return v.u.s.p;
	return NULL;
}

static int fact_bool(struct pst_message *m, pst_fact f)
{
	pst_value v;
	return pst_auth_fact(m, f, &v) == 0 && v.known && v.u.b;
}

/* One DKIM signature: its own result, whether its domain aligns with the
 * From domain (under the DMARC record's adkim, relaxed without one),
 * whatever its result (postern-json(5)), and, for a passing one, what it leaves
 * uncovered (dkim.h: unsigned_header, the field's name or null;
 * unsigned_body, content after l=). */
static int json_dkim_sig(pst_buf *b, struct pst_message *m, const pst_dkim_sig *s)
{
	int strict = m->auth.dmarc_evaluated && m->auth.dmarc_result.record_domain &&
	             m->auth.dmarc_result.strict_dkim;
	const pst_auth_libs *libs = pst_auth_libs_get();
	int aligned = s->domain && m->from.domain && libs->psl &&
	              pst_psl_aligned(libs->psl, s->domain, m->from.domain, strict);
	if (pst_buf_putc(b, '{') < 0 || json_kv(b, "domain", s->domain, 1) < 0 ||
	    json_kv(b, "selector", s->selector, 0) < 0 ||
	    json_kv(b, "algorithm", s->algorithm, 0) < 0 ||
	    json_kv(b, "result", pst_auth_result_name(s->result), 0) < 0 ||
	    json_kv(b, "reason", s->reason && *s->reason ? s->reason : NULL, 0) < 0 ||
	    pst_buf_printf(b, ",\"key_bits\":%u,\"aligned\":%s", s->key_bits,
	                   aligned ? "true" : "false") < 0 ||
	    json_kv(b, "unsigned_header", s->unsigned_header, 0) < 0 ||
	    pst_buf_printf(b, ",\"unsigned_body\":%s}", s->unsigned_body ? "true" : "false") < 0)
		return -1;
	return 0;
}

static int json_dkim(pst_buf *b, struct pst_message *m)
{
	if (pst_buf_putc(b, '[') < 0)
		return -1;
	const pst_dkim_result *r = &m->auth.dkim_sigs;
	for (size_t i = 0; m->auth.dkim_verified && i < r->nsigs; i++)
		if ((i && pst_buf_putc(b, ',') < 0) || json_dkim_sig(b, m, &r->sigs[i]) < 0)
			return -1;
	return pst_buf_putc(b, ']');
}

static int json_dmarc(pst_buf *b, struct pst_message *m)
{
	const pst_dmarc_result *r = &m->auth.dmarc_result;
	int ours = m->auth.dmarc_evaluated;
	if (pst_buf_puts(b, "{") < 0 ||
	    json_kv(b, "result", fact_word(m, PST_F_DMARC), 1) < 0 ||
	    json_kv(b, "domain", fact_word(m, PST_F_DMARC_DOMAIN), 0) < 0 ||
	    json_kv(b, "policy", fact_word(m, PST_F_DMARC_POLICY), 0) < 0)
		return -1;
	if (ours && r->record_domain &&
	    (json_kv(b, "published_policy", pst_dmarc_policy_name(r->published), 0) < 0 ||
	     json_kv(b, "record_domain", r->record_domain, 0) < 0 ||
	     pst_buf_printf(b, ",\"testing\":%s", r->testing ? "true" : "false") < 0))
		return -1;
	if (ours && (pst_buf_printf(b, ",\"spf_aligned\":%s,\"dkim_aligned\":%s",
	                            r->spf_aligned ? "true" : "false",
	                            r->dkim_aligned ? "true" : "false") < 0 ||
	             json_kv(b, "reason", r->reason, 0) < 0))
		return -1;
	return pst_buf_putc(b, '}');
}

static int json_auth(pst_buf *b, struct pst_message *m)
{
	if (pst_auth_compute_all(m) < 0)
		return -1;
	if (pst_buf_puts(b, "{\"spf\":{") < 0 ||
	    json_kv(b, "result", fact_word(m, PST_F_SPF), 1) < 0 ||
	    json_kv(b, "domain", fact_word(m, PST_F_SPF_DOMAIN), 0) < 0 ||
	    pst_buf_printf(b, ",\"aligned\":%s", fact_bool(m, PST_F_SPF_ALIGNED) ? "true" : "false") < 0 ||
	    json_kv(b, "reason", m->auth.spf_reason, 0) < 0 || pst_buf_putc(b, '}') < 0)
		return -1;
	if (pst_buf_puts(b, ",\"helo\":{") < 0 ||
	    json_kv(b, "result", fact_word(m, PST_F_HELO_SPF), 1) < 0 ||
	    pst_buf_putc(b, '}') < 0)
		return -1;
	if (pst_buf_puts(b, ",\"dkim\":") < 0 || json_dkim(b, m) < 0 ||
	    pst_buf_puts(b, ",\"dmarc\":") < 0 || json_dmarc(b, m) < 0)
		return -1;
	if (m->auth.authres_known &&
	    (pst_buf_puts(b, ",\"authres\":{") < 0 ||
	     json_kv(b, "spf", fact_word(m, PST_F_AUTHRES_SPF), 1) < 0 ||
	     json_kv(b, "dkim", fact_word(m, PST_F_AUTHRES_DKIM), 0) < 0 ||
	     json_kv(b, "dmarc", fact_word(m, PST_F_AUTHRES_DMARC), 0) < 0 ||
	     pst_buf_putc(b, '}') < 0))
		return -1;
	if (m->auth.nwarnings && (json_key(b, "warnings", 0) < 0 ||
	                          json_str_array(b, m->auth.warnings, m->auth.nwarnings) < 0))
		return -1;
	return pst_buf_putc(b, '}');
}

/* The Authentication-Results value postern adds, when authserv-id is set. */
static int json_authentication_results(pst_buf *b, struct pst_message *m)
{
	const char *id = pst_program_settings(m->policy->prog)->authserv_id;
	if (id == NULL)
		return 0;
	pst_buf ar = PST_BUF_INIT;
	int rc = pst_auth_results_value(m, id, &ar) < 0 ||
	         json_kv(b, "authentication_results", pst_buf_str(&ar), 0) < 0 ? -1 : 0;
	pst_buf_free(&ar);
	return rc;
}

/* ---- Rules ----------------------------------------------------------- */

/* Whether rule name matched (or, in audit mode, would have) for recipient i. */
static int rule_matched(const struct pst_message *m, size_t i, const char *name)
{
	const pst_outcome *o = &m->outcomes[i];
	for (size_t k = 0; k < o->nmatched; k++)
		if (strcmp(o->matched[k], name) == 0)
			return 1;
	return 0;
}

static int json_rules(pst_buf *b, const struct pst_message *m)
{
	const pst_policy *p = m->policy;
	size_t n = pst_policy_rule_count(p);
	if (pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t r = 0; r < n; r++) {
		pst_rule_info info;
		if (pst_policy_rule(p, r, &info) < 0)
			return -1;
		if ((r && pst_buf_putc(b, ',') < 0) || pst_buf_putc(b, '{') < 0 ||
		    json_kv(b, "name", info.name, 1) < 0 ||
		    json_kv(b, "file", info.file, 0) < 0 ||
		    pst_buf_printf(b, ",\"line\":%u,\"audit\":%s,\"matched_for\":[", info.line,
		                   info.audit ? "true" : "false") < 0)
			return -1;
		int first = 1;
		for (size_t i = 0; i < m->nrcpts; i++) {
			if (!rule_matched(m, i, info.name))
				continue;
			if ((!first && pst_buf_putc(b, ',') < 0) || json_str(b, m->rcpts[i]) < 0)
				return -1;
			first = 0;
		}
		if (pst_buf_puts(b, "]}") < 0)
			return -1;
	}
	return pst_buf_putc(b, ']');
}

static const char *common_decision(const struct pst_message *m)
{
	pst_action a = m->verdicts[0].action;
	for (size_t i = 1; i < m->nrcpts; i++)
		if (m->verdicts[i].action != a)
			return "mixed";
	return pst_action_name(a);
}

/* ---- Trace ----------------------------------------------------------- */

static const char *const trace_status_words[] = {
	[PST_TRACE_MATCHED] = "matched",
	[PST_TRACE_NOT_MATCHED] = "not matched",
	[PST_TRACE_OTHER_TENANT] = "other tenant",
	[PST_TRACE_NOT_REACHED] = "not reached",
};

static int json_trace_rule(pst_buf *b, const pst_trace_rule *t)
{
	if (pst_buf_putc(b, '{') < 0 || json_kv(b, "rule", t->rule, 1) < 0 ||
	    json_kv(b, "file", t->file, 0) < 0 ||
	    pst_buf_printf(b, ",\"line\":%u,\"audit\":%s", t->line, t->audit ? "true" : "false") < 0 ||
	    json_kv(b, "status", trace_status_words[t->status], 0) < 0 ||
	    json_key(b, "facts", 0) < 0 || pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t k = 0; k < t->nfacts; k++)
		if ((k && pst_buf_putc(b, ',') < 0) || pst_buf_putc(b, '{') < 0 ||
		    json_kv(b, "name", t->facts[k].name, 1) < 0 ||
		    json_kv(b, "value", t->facts[k].value, 0) < 0 || pst_buf_putc(b, '}') < 0)
			return -1;
	return pst_buf_puts(b, "]}");
}

static int pst_report_trace_json(const struct pst_message *m, pst_buf *b)
{
	if (pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t i = 0; i < m->nrcpts; i++) {
		const pst_outcome *o = &m->outcomes[i];
		if ((i && pst_buf_putc(b, ',') < 0) || pst_buf_putc(b, '{') < 0 ||
		    json_kv(b, "recipient", *m->rcpts[i] ? m->rcpts[i] : NULL, 1) < 0 ||
		    json_key(b, "rules", 0) < 0 || pst_buf_putc(b, '[') < 0)
			return -1;
		for (size_t k = 0; k < o->ntrace; k++)
			if ((k && pst_buf_putc(b, ',') < 0) || json_trace_rule(b, &o->trace[k]) < 0)
				return -1;
		if (pst_buf_puts(b, "]}") < 0)
			return -1;
	}
	return pst_buf_putc(b, ']');
}

/* ---- The author and the header section ---------------------------------- */

/* "from": the author as msg/author.h reads it, and every domain DMARC
 * evaluated for it. */
static int json_from(pst_buf *b, const struct pst_message *m)
{
	const pst_from_facts *f = &m->from;
	if (pst_buf_printf(b, "{\"valid\":%s", f->error ? "false" : "true") < 0 ||
	    json_kv(b, "error", f->error, 0) < 0 ||
	    pst_buf_printf(b, ",\"fields\":%lld,\"addresses\":%lld", f->nfields, f->count) < 0 ||
	    json_kv(b, "address", f->address, 0) < 0 || json_kv(b, "domain", f->domain, 0) < 0 ||
	    json_key(b, "domains", 0) < 0 || pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t i = 0; i < f->ndomains; i++)
		if ((i && pst_buf_putc(b, ',') < 0) || pst_buf_putc(b, '{') < 0 ||
		    json_kv(b, "domain", f->domains[i].domain, 1) < 0 ||
		    pst_buf_printf(b, ",\"shown\":%s}", f->domains[i].shown ? "true" : "false") < 0)
			return -1;
	return pst_buf_puts(b, "]}");
}

/* "header": header.malformed and header.duplicate. */
static int json_header(pst_buf *b, struct pst_message *m)
{
	pst_fact_source src;
	pst_value mal, dup;
	pst_message_fact_source(m, &src);
	if (src.fact(src.ctx, PST_F_HEADER_MALFORMED, &mal) < 0 ||
	    src.fact(src.ctx, PST_F_HEADER_DUPLICATE, &dup) < 0)
		return -1;
	return pst_buf_printf(b, "{\"malformed\":%s", mal.known && mal.u.b ? "true" : "false") < 0 ||
	       json_kv(b, "duplicate", dup.known ? dup.u.s.p : NULL, 0) < 0 ||
	       pst_buf_putc(b, '}') < 0 ? -1 : 0;
}

int pst_report_json(struct pst_message *m, pst_buf *b)
{
	if (pst_buf_putc(b, '{') < 0 || json_kv(b, "decision", common_decision(m), 1) < 0 ||
	    json_key(b, "recipients", 0) < 0 || pst_buf_putc(b, '[') < 0)
		return -1;
	for (size_t i = 0; i < m->nrcpts; i++)
		if ((i && pst_buf_putc(b, ',') < 0) || json_recipient(b, m, &m->verdicts[i]) < 0)
			return -1;
	if (pst_buf_putc(b, ']') < 0 || json_key(b, "from", 0) < 0 || json_from(b, m) < 0 ||
	    json_key(b, "header", 0) < 0 || json_header(b, m) < 0 ||
	    json_key(b, "auth", 0) < 0 || json_auth(b, m) < 0 ||
	    json_authentication_results(b, m) < 0)
		return -1;
	if (pst_buf_printf(b, ",\"dns\":{\"source\":\"%s\",\"queries\":%u}",
	                   m->dns.resolver ? pst_resolver_kind(m->dns.resolver) : "none",
	                   m->dns.queries) < 0)
		return -1;
	if (json_key(b, "rules", 0) < 0 || json_rules(b, m) < 0)
		return -1;
	if (m->opts.trace && (json_key(b, "trace", 0) < 0 || pst_report_trace_json(m, b) < 0))
		return -1;
	return pst_buf_putc(b, '}');
}

/* ---- Text ------------------------------------------------------------ */

static int text_verdict(pst_buf *b, struct pst_message *m, const pst_verdict *v)
{
	if (pst_buf_printf(b, "recipient %s: %s", *v->address ? v->address : "(unknown)",
	                   pst_action_name(v->action)) < 0)
		return -1;
	if (m->opts.after_queue && v->applied != v->action &&
	    pst_buf_printf(b, " (applied after queue: %s)", pst_action_name(v->applied)) < 0)
		return -1;
	if (pst_buf_printf(b, "\n  reply: %d %s %s\n  rule:  %s\n", v->code, v->enhanced, v->text,
	                   v->rule ? v->rule : "(none: implicit accept)") < 0)
		return -1;
	if (v->action == PST_QUARANTINE &&
	    pst_buf_printf(b, "  folder: %s\n", v->folder ? v->folder : "(default)") < 0)
		return -1;
	if (pst_report_audit_text(m, (size_t)(v - m->verdicts), "  ", b) < 0)
		return -1;
	for (size_t k = 0; k < v->nedits; k++) {
		const pst_edit_info *e = &v->edits[k];
		if (pst_buf_printf(b, "  edit:  %s", e->op) < 0 ||
		    (e->name && pst_buf_printf(b, " %s", e->name) < 0) ||
		    (e->value && (pst_buf_puts(b, " ") < 0 || json_str(b, e->value) < 0)) ||
		    pst_buf_printf(b, " (rule %s)\n", e->rule ? e->rule : "?") < 0)
			return -1;
	}
	for (size_t k = 0; k < v->nwarnings; k++)
		if (pst_buf_printf(b, "  warning: %s\n", v->warnings[k]) < 0)
			return -1;
	return 0;
}

static int text_trace(pst_buf *b, const struct pst_message *m, size_t i)
{
	const pst_outcome *o = &m->outcomes[i];
	if (pst_buf_printf(b, "trace for %s:\n", *m->rcpts[i] ? m->rcpts[i] : "(unknown recipient)") < 0)
		return -1;
	for (size_t k = 0; k < o->ntrace; k++) {
		const pst_trace_rule *t = &o->trace[k];
		if (pst_buf_printf(b, "  %-28s %s:%u%s  %s\n", t->rule, t->file, t->line,
		                   t->audit ? " (audit)" : "", trace_status_words[t->status]) < 0)
			return -1;
		for (size_t f = 0; f < t->nfacts; f++)
			if (pst_buf_printf(b, "      %s = %s\n", t->facts[f].name, t->facts[f].value) < 0)
				return -1;
	}
	return 0;
}

int pst_report_text(struct pst_message *m, pst_buf *b)
{
	if (pst_buf_printf(b, "decision: %s\n", common_decision(m)) < 0)
		return -1;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (text_verdict(b, m, &m->verdicts[i]) < 0)
			return -1;
	const char *spf = fact_word(m, PST_F_SPF), *helo = fact_word(m, PST_F_HELO_SPF);
	const char *dkim = fact_word(m, PST_F_DKIM), *dmarc = fact_word(m, PST_F_DMARC);
	if (pst_buf_printf(b, "auth: spf=%s helo=%s dkim=%s dmarc=%s\n", spf ? spf : "none",
	                   helo ? helo : "none", dkim ? dkim : "none", dmarc ? dmarc : "none") < 0)
		return -1;
	if (m->from.error && pst_buf_printf(b, "from: not one readable author: %s\n", m->from.error) < 0)
		return -1;
	if (m->opts.trace)
		for (size_t i = 0; i < m->nrcpts; i++)
			if (text_trace(b, m, i) < 0)
				return -1;
	return 0;
}
