/*
 * txn.c: one LMTP transaction, from the end of DATA to the replies.
 *
 * The message is built with the envelope the session has: client facts
 * only from XFORWARD or XCLIENT (never the LMTP peer's own address),
 * evaluated with after_queue set, and each recipient is handled by its
 * applied action: accept delivers to the inbox, quarantine to the verdict's folder
 * (".Quarantine" by default), discard answers 250 without delivering,
 * reject and tempfail answer the verdict's reply. All the copies to store
 * go to pst_deliver_transaction() in one call, and a recipient gets 250
 * only when delivery said so. Every recipient gets one JSON log line,
 * with the audit-mode rules that matched and what each would have done
 * (report.h: the check report's recipients[].audit_rules), and what joins
 * it to the MTA's logs: Postfix's queue id (XFORWARD IDENT), the
 * Message-ID (printable ASCII, at most LOG_TEXT_MAX bytes), the edits and
 * the tags of enforced rules (at most LOG_LIST_MAX of each) and the policy
 * generation. A recipient refused at RCPT time gets a line too
 * (pst_lmtp_txn_refused): its reply and why, no decision. With
 * --report-store, the message is then handed to the report store
 * (report_store.c: queued, never waited for).
 *
 * A message the library cannot take (pst_message_new fails) is answered
 * 554 5.6.0 for every recipient; running out of memory is 451 4.3.1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lmtp/server_private.h"
#include "message_private.h"
#include "msg/msg.h"
#include "report.h"
#include "util/buf.h"

#define DEFAULT_FOLDER ".Quarantine"
#define LOG_TEXT_MAX 256        /* bytes of a Message-ID, edit or tag name logged */
#define LOG_LIST_MAX 32         /* edits, tags logged per recipient */

/* Per recipient, what happened. */
struct rcpt_state {
	const pst_verdict *v;
	char *copy;             /* rendered message, or NULL */
	size_t copylen;
	char folder[256];
	int deliver;            /* index into the delivery array, or -1 */
	size_t index;           /* the recipient's */
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void all_replies(pst_lmtp_reply *rs, size_t n, int code, const char *enh, const char *text)
{
	for (size_t i = 0; i < n; i++)
		pst_lmtp_reply_set(&rs[i], code, enh, text);
}

/* ---- Auth results from the report ----------------------------------- */

/* The extent of the value of top-level member key in a JSON object. */
static const char *json_member(const char *json, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	int depth = 0, in_str = 0;
	for (const char *p = json; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = 0;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		else if (*p == '"') {
			if (depth == 1 && strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '"' &&
			    p[2 + klen] == ':') {
				const char *v = p + 3 + klen, *e = v;
				int d = 0, s = 0;
				for (; *e; e++) {
					if (s) {
						if (*e == '\\' && e[1])
							e++;
						else if (*e == '"')
							s = 0;
						continue;
					}
					if (*e == '"')
						s = 1;
					else if (*e == '{' || *e == '[')
						d++;
					else if (*e == '}' || *e == ']') {
						if (d-- == 0)
							break;
					} else if (*e == ',' && d == 0)
						break;
				}
				*len = (size_t)(e - v);
				return v;
			}
			in_str = 1;
		}
	}
	return NULL;
}

static const char *const result_names[PST_CNT_OTHER] = {
	"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"
};

/* The counter of a result word. */
static int result_index(const char *word)
{
	for (int i = 0; word && i < PST_CNT_OTHER; i++)
		if (strcmp(word, result_names[i]) == 0)
			return i;
	return word ? PST_CNT_OTHER : PST_CNT_NONE;
}

/* The SIGUSR1 counters: each method's overall result, as the rules read
 * it (DKIM: pass when any signature passed, not the first signature's);
 * a method nothing computed counts as none. */
static void count_auth(struct pst_lmtp_srv *srv, pst_message *msg)
{
	int spf = result_index(pst_message_auth_result(msg, "spf"));
	int dkim = result_index(pst_message_auth_result(msg, "dkim"));
	int dmarc = result_index(pst_message_auth_result(msg, "dmarc"));
	pthread_mutex_lock(&srv->lock);
	srv->cnt.auth[PST_AUTH_SPF][spf]++;
	srv->cnt.auth[PST_AUTH_DKIM][dkim]++;
	srv->cnt.auth[PST_AUTH_DMARC][dmarc]++;
	pthread_mutex_unlock(&srv->lock);
}

/* ---- Building the message ------------------------------------------- */

static int build_message(struct pst_lmtp_srv *srv, const pst_held_policy *pol,
                         const pst_lmtp_txn *t, pst_message **msg, char *err, size_t errlen)
{
	pst_envelope env = {
		.client_ip = t->xfwd[PST_XF_ADDR],
		.client_name = t->xfwd[PST_XF_NAME],
		.helo = t->xfwd[PST_XF_HELO],
		.mail_from = t->mail_from,
		.rcpts = t->rcpts,
		.nrcpts = t->nrcpts,
	};
	/* Leading X-Postern-Envelope fields would fill envelope facts we do not
	 * know (the client IP): a sender could forge them, so they are not read
	 * here and reach the mailbox as ordinary fields. */
	pst_message_opts opts = { .dns = srv->dns, .after_queue = 1, .no_envelope_fields = 1 };
	return pst_message_new(pol->policy, t->data, t->len, &env, &opts, msg, err, errlen);
}

/* ---- Per-recipient handling ----------------------------------------- */

/* The reply of a verdict that does not deliver. */
static void verdict_reply(const pst_verdict *v, pst_lmtp_reply *r)
{
	switch (v->applied) {
	case PST_REJECT:
		pst_lmtp_reply_set(r, v->code >= 500 && v->code <= 599 ? v->code : 550,
		                   v->enhanced && v->enhanced[0] == '5' ? v->enhanced : "5.7.1",
		                   v->text ? v->text : "rejected by policy");
		break;
	case PST_TEMPFAIL:
		pst_lmtp_reply_set(r, v->code >= 400 && v->code <= 499 ? v->code : 451,
		                   v->enhanced && v->enhanced[0] == '4' ? v->enhanced : "4.7.1",
		                   v->text ? v->text : "try again later");
		break;
	case PST_DISCARD:
		pst_lmtp_reply_set(r, 250, "2.0.0", "Ok: discarded by policy");
		break;
	default:
		pst_lmtp_reply_set(r, 451, "4.3.0", "Error: not delivered");
		break;
	}
}

static void folder_of(const pst_verdict *v, char *out, size_t len)
{
	if (v->applied != PST_QUARANTINE)
		out[0] = '\0';
	else if (v->folder == NULL || v->folder[0] == '\0')
		snprintf(out, len, "%s", DEFAULT_FOLDER);
	else
		snprintf(out, len, "%s%s", v->folder[0] == '.' ? "" : ".", v->folder);
}

/* Render the copy for each recipient that is delivered; the others get
 * their reply now. Returns the number of copies to deliver. */
static size_t prepare(pst_message *msg, const pst_lmtp_txn *t, struct rcpt_state *st,
                      pst_deliver_rcpt *dr, pst_lmtp_reply *rs)
{
	size_t nd = 0;
	for (size_t i = 0; i < t->nrcpts; i++) {
		st[i].v = pst_message_verdict(msg, i);
		st[i].deliver = -1;
		st[i].index = i;
		if (st[i].v == NULL) {
			pst_lmtp_reply_set(&rs[i], 451, "4.3.0", "Error: no decision");
			continue;
		}
		if (st[i].v->applied != PST_ACCEPT && st[i].v->applied != PST_QUARANTINE) {
			verdict_reply(st[i].v, &rs[i]);
			continue;
		}
		char err[256] = "";
		if (pst_message_render(msg, i, &st[i].copy, &st[i].copylen, err, sizeof err) < 0) {
			pst_lmtp_reply_set(&rs[i], 451, "4.3.0", "Error: cannot render the message");
			continue;
		}
		folder_of(st[i].v, st[i].folder, sizeof st[i].folder);
		dr[nd] = (pst_deliver_rcpt){
			.address = t->rcpts[i],
			.folder = st[i].folder[0] ? st[i].folder : NULL,
			.data = st[i].copy, .len = st[i].copylen,
		};
		st[i].deliver = (int)nd++;
	}
	return nd;
}

static void deliver_all(struct pst_lmtp_srv *srv, const struct pst_lmtp_peer *peer,
                        const pst_lmtp_txn *t, const char *qid, struct rcpt_state *st,
                        pst_deliver_rcpt *dr, size_t nd, pst_lmtp_reply *rs)
{
	if (nd == 0)
		return;
	pst_deliver_env denv = {
		.mail_from = t->mail_from, .queue_id = qid,
		.client_ip = t->xfwd[PST_XF_ADDR], .client_name = t->xfwd[PST_XF_NAME],
		.helo = t->xfwd[PST_XF_HELO], .lhlo = t->lhlo, .peer = peer->addr,
	};
	for (size_t i = 0; i < nd; i++)
		dr[i].reply = (pst_reply){ 451, "4.3.0", "Error: not delivered" };
	pst_deliver_transaction(srv->deliver, &denv, dr, nd);
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (st[i].deliver < 0)
			continue;
		const pst_reply *r = &dr[st[i].deliver].reply;
		pst_lmtp_reply_set(&rs[i], r->code, r->enhanced, r->text);
	}
}

/* ---- Logging --------------------------------------------------------- */

/* What the lines of one transaction share. */
struct txn_log {
	const pst_lmtp_txn *t;
	const char *qid;                /* NULL on a refused recipient's line */
	unsigned generation;            /* the deciding policy's; 0: none */
	pst_message *msg;               /* NULL: not evaluated */
	const char *auth;               /* the report's auth object, or NULL */
	size_t authlen;
	char message_id[LOG_TEXT_MAX + 1]; /* "" when there is none */
};

/* s as a log text: at most LOG_TEXT_MAX bytes, each outside printable
 * ASCII (controls, DEL, 8-bit) replaced by '?'. out has LOG_TEXT_MAX + 1. */
static void log_text(const char *s, size_t n, char *out)
{
	if (n > LOG_TEXT_MAX)
		n = LOG_TEXT_MAX;
	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[n] = '\0';
}

static void json_text(pst_buf *b, const char *val)
{
	char text[LOG_TEXT_MAX + 1];
	if (val == NULL) {
		pst_buf_puts(b, "null");
		return;
	}
	log_text(val, strlen(val), text);
	pst_buf_json_str(b, text, strlen(text));
}

/* The first Message-ID field's value into out, or "". */
static void message_id(pst_message *msg, char *out)
{
	out[0] = '\0';
	const pst_msg_field *f = msg && msg->msg ? pst_msg_find(msg->msg, "Message-ID", 10, 0) : NULL;
	size_t len = 0;
	const char *v = f ? pst_msg_value(msg->msg, f, &len) : NULL;
	if (v)
		log_text(v, len, out);
}

/* The edits (op, name) and the tags of enforced rules of a verdict. */
static void log_edits_tags(pst_buf *b, const pst_verdict *v)
{
	pst_buf_puts(b, ",\"edits\":");
	if (v == NULL)
		pst_buf_puts(b, "null");
	for (size_t k = 0; v && k <= v->nedits && k <= LOG_LIST_MAX; k++) {
		if (k == v->nedits || k == LOG_LIST_MAX) {
			pst_buf_puts(b, k ? "]" : "[]");
			break;
		}
		pst_buf_puts(b, k ? ",{\"op\":" : "[{\"op\":");
		json_text(b, v->edits[k].op);
		pst_buf_puts(b, ",\"name\":");
		json_text(b, v->edits[k].name);
		pst_buf_putc(b, '}');
	}
	pst_buf_puts(b, ",\"tags\":");
	if (v == NULL)
		pst_buf_puts(b, "null");
	for (size_t k = 0; v && k <= v->ntags && k <= LOG_LIST_MAX; k++) {
		if (k == v->ntags || k == LOG_LIST_MAX) {
			pst_buf_puts(b, k ? "]" : "[]");
			break;
		}
		pst_buf_puts(b, k ? "," : "[");
		json_text(b, v->tags[k]);
	}
}

/* One recipient's line: recipient i of the transaction, or with refused
 * (the reason) a recipient refused at RCPT time; st NULL when the message
 * could not be evaluated or on a refused line; ms < 0 writes null. */
static void log_rcpt(struct pst_lmtp_srv *srv, const struct txn_log *L, const char *rcpt,
                     const struct rcpt_state *st, const pst_lmtp_reply *r, double ms,
                     const char *refused)
{
	const pst_lmtp_txn *t = L->t;
	pst_buf b = PST_BUF_INIT;
	pst_buf_log_start(&b);
	pst_buf_json_member(&b, "queue_id", L->qid);
	pst_buf_json_member(&b, "mta_queue_id", t->xfwd[PST_XF_IDENT]);
	pst_buf_json_member(&b, "client_ip", t->xfwd[PST_XF_ADDR]);
	pst_buf_json_member(&b, "client_name", t->xfwd[PST_XF_NAME]);
	pst_buf_json_member(&b, "helo", t->xfwd[PST_XF_HELO]);
	pst_buf_json_member(&b, "mail_from", t->mail_from);
	pst_buf_json_member(&b, "rcpt", rcpt);
	pst_buf_json_member(&b, "message_id", L->message_id[0] ? L->message_id : NULL);
	pst_buf_printf(&b, ",\"nrcpts\":%zu", t->nrcpts);
	if (refused)
		pst_buf_puts(&b, ",\"size\":null");
	else
		pst_buf_printf(&b, ",\"size\":%zu", t->len);
	pst_buf_puts(&b, ",\"auth\":");
	if (L->auth)
		pst_buf_append(&b, L->auth, L->authlen);
	else
		pst_buf_puts(&b, "null");
	if (L->generation)
		pst_buf_printf(&b, ",\"generation\":%u", L->generation);
	else
		pst_buf_puts(&b, ",\"generation\":null");
	const pst_verdict *v = st ? st->v : NULL;
	pst_buf_json_member(&b, "decision", v ? pst_action_name(v->action) : NULL);
	pst_buf_json_member(&b, "applied", v ? pst_action_name(v->applied) : NULL);
	pst_buf_json_member(&b, "rule", v ? v->rule : NULL);
	pst_buf_json_member(&b, "folder", st && st->folder[0] ? st->folder : NULL);
	log_edits_tags(&b, v);
	pst_buf_printf(&b, ",\"delivered\":%s", st && st->deliver >= 0 && r->code / 100 == 2 ? "true" : "false");
	pst_buf_printf(&b, ",\"reply\":{\"code\":%d", r->code);
	pst_buf_json_member(&b, "enhanced", r->enhanced);
	pst_buf_json_member(&b, "text", r->text);
	pst_buf_putc(&b, '}');
	if (refused)
		pst_buf_json_member(&b, "refused", refused);
	pst_buf audit = PST_BUF_INIT;   /* whole or not at all */
	pst_buf_puts(&b, ",\"audit_rules\":");
	if (L->msg && v && pst_report_audit_json(L->msg, st->index, &audit) == 0 && audit.data)
		pst_buf_append(&b, audit.data, audit.len);
	else
		pst_buf_puts(&b, "null");
	pst_buf_free(&audit);
	/* The evaluation's warnings (a regex over the match limit, ...), when any. */
	for (size_t k = 0; v && k < v->nwarnings; k++) {
		pst_buf_puts(&b, k ? "," : ",\"warnings\":[");
		pst_buf_json_str(&b, v->warnings[k], strlen(v->warnings[k]));
	}
	if (v && v->nwarnings)
		pst_buf_putc(&b, ']');
	if (ms < 0)
		pst_buf_puts(&b, ",\"ms\":null}");
	else
		pst_buf_printf(&b, ",\"ms\":%.3f}", ms);
	if (b.data)
		pst_lmtp_log_line(srv, b.data, b.len);
	pst_buf_free(&b);
}

void pst_lmtp_txn_refused(struct pst_lmtp_srv *srv, const pst_lmtp_txn *t, const char *address,
                          const pst_lmtp_reply *r, const char *reason)
{
	struct txn_log L = { .t = t };
	log_rcpt(srv, &L, address, NULL, r, -1, reason);
}

static void count_rcpts(struct pst_lmtp_srv *srv, const pst_lmtp_txn *t, const struct rcpt_state *st,
                        const pst_lmtp_reply *rs, const struct timespec *t0)
{
	double secs = ms_since(t0) / 1e3;
	pthread_mutex_lock(&srv->lock);
	srv->cnt.messages++;
	srv->cnt.recipients += t->nrcpts;
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (st && st[i].v) {
			srv->cnt.decision[st[i].v->action % PST_NACTIONS]++;
			srv->cnt.applied[st[i].v->applied % PST_NACTIONS]++;
		}
		if (st && st[i].deliver >= 0) {
			if (rs[i].code / 100 == 2)
				srv->cnt.delivered++;
			else if (rs[i].code / 100 == 4)
				srv->cnt.deferred++;
			else
				srv->cnt.failed++;
		}
		pst_lmtp_metrics_count(&srv->cnt.m, st && st[i].v, st && st[i].v ? st[i].v->rule : NULL,
		                       rs[i].code, secs);
	}
	pthread_mutex_unlock(&srv->lock);
}

/* ---- The transaction -------------------------------------------------- */

static void queue_id(struct pst_lmtp_srv *srv, char *out, size_t len)
{
	pthread_mutex_lock(&srv->lock);
	unsigned long seq = ++srv->queue_seq;
	pthread_mutex_unlock(&srv->lock);
	snprintf(out, len, "%08lX%06lX", (unsigned long)time(NULL) & 0xffffffffUL, seq & 0xffffffUL);
}

static void failed_txn(struct pst_lmtp_srv *srv, const struct txn_log *L, pst_lmtp_reply *rs,
                       int code, const char *enh, const char *text, const char *why,
                       const struct timespec *t0)
{
	const pst_lmtp_txn *t = L->t;
	all_replies(rs, t->nrcpts, code, enh, text);
	pst_lmtp_log_event(srv, "error", ",\"queue_id\":\"%s\",\"why\":\"%s\"", L->qid, why);
	for (size_t i = 0; i < t->nrcpts; i++)
		log_rcpt(srv, L, t->rcpts[i], NULL, &rs[i], ms_since(t0), NULL);
	pthread_mutex_lock(&srv->lock);
	srv->cnt.errors++;
	pthread_mutex_unlock(&srv->lock);
	count_rcpts(srv, t, NULL, rs, t0);
}

/* A reason for the log: JSON-safe (no quote, backslash or control). */
static void safe_text(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			*s = ' ';
}

void pst_lmtp_txn_run(struct pst_lmtp_srv *srv, const pst_held_policy *pol,
                      const struct pst_lmtp_peer *peer, const pst_lmtp_txn *t,
                      pst_lmtp_reply *rs)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char qid[32], err[512] = "";
	queue_id(srv, qid, sizeof qid);
	struct txn_log L = { .t = t, .qid = qid, .generation = pol->generation };
	pst_message *msg = NULL;
	if (build_message(srv, pol, t, &msg, err, sizeof err) < 0) {
		safe_text(err);
		failed_txn(srv, &L, rs, 554, "5.6.0", "Error: message cannot be processed", err, &t0);
		return;
	}
	message_id(msg, L.message_id);
	struct rcpt_state *st = calloc(t->nrcpts, sizeof *st);
	pst_deliver_rcpt *dr = calloc(t->nrcpts, sizeof *dr);
	char *json = NULL;
	if (st == NULL || dr == NULL || pst_message_evaluate(msg) < 0) {
		failed_txn(srv, &L, rs, 451, "4.3.1", "Error: out of memory", "out of memory", &t0);
		goto out;
	}
	size_t nd = prepare(msg, t, st, dr, rs);
	for (size_t i = 0; i < t->nrcpts; i++)
		if (rs[i].cut)
			pst_lmtp_log_event(srv, "error", ",\"queue_id\":\"%s\",\"why\":\"reply text over %d"
			                   " bytes cut at a character boundary\"", qid, PST_MAX_REPLY_TEXT);
	deliver_all(srv, peer, t, qid, st, dr, nd, rs);
	if (pst_message_json(msg, &json) == 0)
		L.auth = json_member(json, "auth", &L.authlen);
	L.msg = msg;
	count_auth(srv, msg);
	for (size_t i = 0; i < t->nrcpts; i++)
		log_rcpt(srv, &L, t->rcpts[i], &st[i], &rs[i], ms_since(&t0), NULL);
	count_rcpts(srv, t, st, rs, &t0);
	pst_lmtp_store_message(srv, msg, t, qid, rs);
out:
	for (size_t i = 0; st && i < t->nrcpts; i++)
		free(st[i].copy);
	free(json);
	free(st);
	free(dr);
	pst_message_free(&msg);
}
