/*
 * rcpt.c: the milter front end's decision at RCPT time (rcpt.h), over the
 * library API of postern.h only, with nothing of libmilter in it.
 *
 * Each RCPT is decided on its own: a message of 0 bytes with the
 * connection's envelope (client IP and name, HELO, MAIL FROM) and this
 * one recipient, evaluated from the envelope alone
 * (pst_message_evaluate_envelope). A verdict that is not undecided is
 * exactly the one the end of the message would give that recipient (same
 * rule, same reply, with the same DNS answers), so a reject or tempfail is
 * answered at once and the recipient never reaches the message. Anything
 * else keeps the recipient: the end of the message decides it (decide.c).
 *
 * Cost: one pst_message per RCPT. SPF (spf, spf.domain, helo.spf) is
 * computed for each RCPT that reaches a rule reading it, and again at the
 * end of the message; with live DNS the answers come from the process's
 * answer cache after the first, so only the evaluation is repeated.
 *
 * Tenant split: the first kept recipient fixes the transaction's tenant
 * (pst_policy_tenant_of, copied into the state, so a policy reloaded
 * meanwhile leaves nothing dangling); a recipient of another tenant (none
 * being a tenant of its own) gets 452 4.5.3, which the client retries in
 * a new transaction. A refused recipient fixes nothing.
 *
 * Failure: an error is a tempfail 451 4.3.0 with out->o.why, never a keep.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "milter/rcpt.h"

static void refuse(pst_milter_rcpt_outcome *out, pst_action action, int code, const char *enhanced,
                   const char *text)
{
	out->keep = 0;
	out->o.action = action;
	out->o.code = code;
	snprintf(out->o.enhanced, sizeof out->o.enhanced, "%s", enhanced);
	snprintf(out->o.text, sizeof out->o.text, "%s", text);
}

static void rcpt_error(pst_milter_rcpt_outcome *out, const char *why, const char *detail)
{
	refuse(out, PST_TEMPFAIL, 451, "4.3.0", "Error: the recipient cannot be checked now");
	out->decision = "tempfail";
	snprintf(out->o.why, sizeof out->o.why, "%s%s%s", why, detail && detail[0] ? ": " : "",
	         detail ? detail : "");
}

/* The envelope verdict for in->rcpt into out: 0, or -1 after rcpt_error(). */
static int evaluate(const pst_policy *policy, const pst_dns *dns, const pst_milter_rcpt_in *in,
                    pst_milter_rcpt_outcome *out)
{
	const char *rcpts[] = { in->rcpt };
	pst_envelope env = {
		.client_ip = in->client_ip, .client_name = in->client_name, .helo = in->helo,
		.mail_from = in->mail_from, .rcpts = rcpts, .nrcpts = 1,
	};
	pst_message_opts opts = { .dns = dns, .no_envelope_fields = 1 };
	pst_message *msg = NULL;
	char err[256] = "";
	if (pst_message_new(policy, "", 0, &env, &opts, &msg, err, sizeof err) < 0) {
		rcpt_error(out, "the recipient cannot be processed", err);
		return -1;
	}
	const pst_verdict *v = NULL;
	if (pst_message_evaluate_envelope(msg) < 0 || (v = pst_message_verdict(msg, 0)) == NULL) {
		pst_message_free(&msg);
		rcpt_error(out, "out of memory", NULL);
		return -1;
	}
	out->dns_queries = pst_message_dns_queries(msg);
	out->keep = 1;
	out->o.action = v->action;
	out->decision = v->undecided ? "undecided" : pst_action_name(v->action);
	if (!v->undecided) {
		snprintf(out->o.rule, sizeof out->o.rule, "%s", v->rule ? v->rule : "");
		if (v->action == PST_REJECT || v->action == PST_TEMPFAIL) {
			out->keep = 0;
			pst_milter_reply_of(v, &out->o);
		}
	}
	pst_message_free(&msg);
	return 0;
}

void pst_milter_rcpt_decide(const pst_policy *policy, const pst_dns *dns,
                            const pst_milter_rcpt_in *in, pst_milter_rcpt_state *st,
                            pst_milter_rcpt_outcome *out)
{
	memset(out, 0, sizeof *out);
	const char *tenant = NULL;
	if (pst_policy_tenant_of(policy, in->rcpt, &tenant) < 0) {
		rcpt_error(out, "out of memory", NULL);
		return;
	}
	/* a normalised domain fits; a cut name could match another tenant's */
	if (tenant && strlen(tenant) >= sizeof out->tenant) {
		rcpt_error(out, "tenant name too long", NULL);
		return;
	}
	snprintf(out->tenant, sizeof out->tenant, "%s", tenant ? tenant : "");
	if (evaluate(policy, dns, in, out) < 0 || !out->keep)
		return;
	if (in->tenant_split && st->fixed && strcmp(st->tenant, out->tenant) != 0) {
		refuse(out, PST_TEMPFAIL, PST_MILTER_SPLIT_CODE, PST_MILTER_SPLIT_ENHANCED,
		       PST_MILTER_SPLIT_TEXT);
		out->decision = "tempfail";
		out->o.rule[0] = '\0';
		snprintf(out->o.why, sizeof out->o.why, "tenant split: the transaction's tenant is %.96s,"
		         " this recipient's %.96s", st->tenant[0] ? st->tenant : "none",
		         out->tenant[0] ? out->tenant : "none");
		return;
	}
	if (!st->fixed) {
		st->fixed = 1;
		snprintf(st->tenant, sizeof st->tenant, "%s", out->tenant);
	}
}
