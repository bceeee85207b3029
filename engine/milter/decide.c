/*
 * decide.c: the milter front end's end-of-message decision, over the
 * library API of postern.h only (as the LMTP front end's txn.c builds and
 * evaluates its message), with nothing of libmilter in it.
 *
 * The message is built from the milter's envelope and rebuilt bytes
 * (no_envelope_fields: a sender's X-Postern-Envelope fields stay ordinary
 * fields), evaluated without after_queue (at SMTP time a reject is a
 * reject), and every recipient decided. A milter gives one answer per
 * message: it answers the strictest decision of the recipients, in the
 * order reject, tempfail, quarantine, discard, accept (quarantine above
 * discard: held mail can still be released), with the reply and the edits
 * of the first recipient that has it, and marks the outcome mixed when a
 * recipient would have had another decision or another copy (edits,
 * folder). (Recipients refused at RCPT time, rcpt.c,
 * are not in the transaction; with --tenant-split the others share one
 * tenant.)
 *
 * For accept and quarantine, the message is rendered for the deciding
 * recipient (edits, Authentication-Results) and hdrdiff.c turns the
 * difference into header operations.
 *
 * When the answer is final (not a tempfail, not an error), txn->evaluated
 * sees the evaluated message before it is freed (the report store).
 *
 * Failure: a message the library refuses (errno EINVAL from
 * pst_message_new: a header section over its limit, too many fields) is
 * rejected 554 5.6.0 with out->why, as postern lmtp answers it; anything
 * else that goes wrong (out of memory, a recipient without a decision, a
 * rendering that fails) is a tempfail 451 4.3.0 with out->why, never an
 * accept.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/decide.h"

/* Higher is stricter. */
static int rank(pst_action a)
{
	switch (a) {
	case PST_REJECT: return 4;
	case PST_TEMPFAIL: return 3;
	case PST_QUARANTINE: return 2;
	case PST_DISCARD: return 1;
	default: return 0;
	}
}

static void fail(pst_milter_outcome *out, const char *why)
{
	pst_hdrops_free(out->ops, out->nops);
	out->ops = NULL;
	out->nops = 0;
	out->action = PST_TEMPFAIL;
	out->code = 451;
	snprintf(out->enhanced, sizeof out->enhanced, "4.3.0");
	snprintf(out->text, sizeof out->text, "Error: the message cannot be checked now");
	snprintf(out->why, sizeof out->why, "%s", why);
}

/* A message the library refuses (a header section over its limit, too
 * many fields) would be refused again: 554 5.6.0, as postern lmtp answers,
 * rather than a tempfail the client would retry for days. */
static void unprocessable(pst_milter_outcome *out)
{
	out->action = PST_REJECT;
	out->code = 554;
	snprintf(out->enhanced, sizeof out->enhanced, "5.6.0");
	snprintf(out->text, sizeof out->text, "Error: message cannot be processed");
}

void pst_milter_reply_of(const pst_verdict *v, pst_milter_outcome *out)
{
	int reject = v->action == PST_REJECT;
	int lo = reject ? 500 : 400;
	char cls = reject ? '5' : '4';
	out->code = v->code >= lo && v->code <= lo + 99 ? v->code : reject ? 550 : 451;
	snprintf(out->enhanced, sizeof out->enhanced, "%s",
	         v->enhanced && v->enhanced[0] == cls ? v->enhanced : reject ? "5.7.1" : "4.7.1");
	snprintf(out->text, sizeof out->text, "%s",
	         v->text ? v->text : reject ? "rejected by policy" : "try again later");
}

static int same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether two recipients get the same copy: the same decision, folder and
 * header edits (which rule made them does not matter). */
static int same_outcome(const pst_verdict *a, const pst_verdict *b)
{
	if (a->action != b->action || !same_text(a->folder, b->folder) || a->nedits != b->nedits)
		return 0;
	for (size_t i = 0; i < a->nedits; i++)
		if (!same_text(a->edits[i].op, b->edits[i].op) ||
		    !same_text(a->edits[i].name, b->edits[i].name) ||
		    !same_text(a->edits[i].value, b->edits[i].value))
			return 0;
	return 1;
}

/* The deciding recipient's index, or -1 when one has no verdict. *mixed:
 * some recipient would have had another decision or another copy (other
 * edits, another folder) than the one answered. */
static long strictest(pst_message *msg, size_t n, int *mixed)
{
	long best = -1;
	*mixed = 0;
	for (size_t i = 0; i < n; i++) {
		const pst_verdict *v = pst_message_verdict(msg, i);
		if (v == NULL)
			return -1;
		const pst_verdict *b = best >= 0 ? pst_message_verdict(msg, (size_t)best) : NULL;
		if (b && !same_outcome(b, v))
			*mixed = 1;
		if (b == NULL || rank(v->action) > rank(b->action))
			best = (long)i;
	}
	return best;
}

/* Header operations from the original to the copy rendered for i. */
static int edits_for(pst_message *msg, size_t i, const pst_milter_txn *txn, pst_milter_outcome *out)
{
	char *copy = NULL, err[256] = "";
	size_t len = 0;
	if (pst_message_render(msg, i, &copy, &len, err, sizeof err) < 0) {
		char why[300];
		snprintf(why, sizeof why, "cannot render the message: %s", err);
		fail(out, why);
		return -1;
	}
	int rc = pst_hdrdiff(txn->data, txn->len, copy, len, &out->ops, &out->nops);
	free(copy);
	if (rc < 0)
		fail(out, "out of memory");
	return rc;
}

static void auth_summary(pst_message *msg, pst_milter_outcome *out)
{
	const char *spf = pst_message_auth_result(msg, "spf");
	const char *dkim = pst_message_auth_result(msg, "dkim");
	const char *dmarc = pst_message_auth_result(msg, "dmarc");
	snprintf(out->auth, sizeof out->auth, "spf=%s dkim=%s dmarc=%s", spf ? spf : "-",
	         dkim ? dkim : "-", dmarc ? dmarc : "-");
}

static void decide_message(pst_message *msg, const pst_milter_txn *txn, pst_milter_outcome *out)
{
	if (pst_message_evaluate(msg) < 0) {
		fail(out, "out of memory");
		return;
	}
	long best = strictest(msg, pst_message_rcpt_count(msg), &out->mixed);
	if (best < 0) {
		fail(out, "a recipient has no decision");
		return;
	}
	const pst_verdict *v = pst_message_verdict(msg, (size_t)best);
	out->action = v->action;
	snprintf(out->rule, sizeof out->rule, "%s", v->rule ? v->rule : "");
	if (v->action == PST_REJECT || v->action == PST_TEMPFAIL)
		pst_milter_reply_of(v, out);
	else if (v->action == PST_ACCEPT || v->action == PST_QUARANTINE)
		(void)edits_for(msg, (size_t)best, txn, out);
	if (out->why[0] != '\0')
		return;
	auth_summary(msg, out);
	if (txn->evaluated && out->action != PST_TEMPFAIL)
		txn->evaluated(txn->arg, msg, (size_t)best, txn);
}

void pst_milter_decide(const pst_policy *policy, const pst_dns *dns, const pst_milter_txn *txn,
                       pst_milter_outcome *out)
{
	memset(out, 0, sizeof *out);
	if (txn->nrcpts == 0) {
		fail(out, "no recipient");
		return;
	}
	pst_envelope env = {
		.client_ip = txn->client_ip, .client_name = txn->client_name, .helo = txn->helo,
		.mail_from = txn->mail_from, .rcpts = txn->rcpts, .nrcpts = txn->nrcpts,
	};
	pst_message_opts opts = { .dns = dns, .no_envelope_fields = 1 };
	pst_message *msg = NULL;
	char err[256] = "";
	if (pst_message_new(policy, txn->data, txn->len, &env, &opts, &msg, err, sizeof err) < 0) {
		char why[300];
		int refused = errno == EINVAL;
		snprintf(why, sizeof why, "the message cannot be processed: %s", err);
		fail(out, why);
		if (refused)
			unprocessable(out);
		return;
	}
	decide_message(msg, txn, out);
	pst_message_free(&msg);
}

void pst_milter_outcome_free(pst_milter_outcome *out)
{
	pst_hdrops_free(out->ops, out->nops);
	out->ops = NULL;
	out->nops = 0;
}
