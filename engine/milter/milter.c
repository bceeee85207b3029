/*
 * milter.c: "postern milter", the milter front end: libmilter's callbacks
 * gather the envelope and the message, decide.c decides at the end of the
 * message, and this file turns the outcome into libmilter calls.
 *
 * Per connection, private data (struct conn, smfi_setpriv) holds the
 * client IP (from the connect callback's hostaddr; NULL for an unknown
 * family), the client name (NULL when the MTA could not resolve it:
 * a "[...]" literal or Postfix's "unknown"), the HELO, and per message the MAIL FROM, the
 * recipients (at most MAX_RCPTS; more get 452 4.5.3) and the message
 * rebuilt from the header callbacks ("Name: value" CRLF, folds as CRLF)
 * and the body chunks. It is allocated on first use (an MTA may skip
 * callbacks), reset at MAIL FROM, at the end of a message and on abort,
 * and freed on close. The rebuilt message is bounded by --max-size: over
 * it nothing more is kept (what is held is dropped at once) and the
 * message is answered tempfail, 452 4.3.4.
 *
 * Replies (xxfi_negotiate, on_negotiate): when the MTA speaks milter
 * protocol 6 (it offers SMFIP_NODATA), the connection asks for no reply
 * at connect, HELO, MAIL FROM, each header, the end of the header and each
 * body chunk (SMFIP_NR_CONN, _HELO, _MAIL, _HDR, _EOH, _BODY; the
 * callbacks return SMFIS_NOREPLY) and for the macro {i} at the end of the
 * message (smfi_setsymlist; the report store's queue id, the one macro
 * read here) and an empty list elsewhere. Postfix (3.7, milter.c) reads an
 * empty list as "use milter_*_macros", so it still sends its default
 * macros at the other stages (ignored here); Sendmail sends none.
 *
 * A callback without a reply cannot answer, so its error (out of
 * memory, over --max-size) is remembered in struct conn and answered by
 * the next stage that replies: RCPT for connect, HELO and MAIL FROM (451
 * 4.3.0 to every recipient), the end of the message for the header and the
 * body (451 4.3.0, or 452 4.3.4 over --max-size). After an error nothing
 * is accepted. libmilter shows the NR bits offered whether the MTA has
 * them or not (it fakes a missing one by answering continue itself), so
 * they are asked for only with SMFIP_NODATA, a bit of the same protocol
 * version it passes through as the MTA sent it. Without it (an older
 * MTA), or when the connection's data cannot be allocated at negotiation,
 * nothing is asked and every stage answers its errors at once (tempfail),
 * as the MTA expects. A connection the MTA reuses after close
 * (SMFIC_QUIT_NC, no new negotiation) does not know its flags: it answers
 * continue, which libmilter turns into no reply where needed, and defers
 * its errors. When even struct conn cannot be allocated, every stage
 * answers tempfail (libmilter drops the ones that may not reply) until the
 * connection closes, RCPT and the end of the message included.
 *
 * At the end of the message: reject and tempfail answer the rule's code,
 * enhanced code and text (smfi_setreply; CR, LF and other controls in the
 * text become spaces, 8-bit bytes '?', '%' is doubled as libmilter wants);
 * discard is SMFIS_DISCARD; quarantine holds the message in the MTA
 * (smfi_quarantine, reason "postern rule=NAME"), with the edits; accept
 * applies the header edits (smfi_chgheader, smfi_insheader, smfi_addheader,
 * from hdrdiff.c) and accepts. A message the library refuses is rejected
 * 554 5.6.0 (decide.c); any libmilter call that fails, and any other
 * error in deciding, answers tempfail: never accept on an error.
 *
 * At RCPT, rcpt.c decides the recipient from the envelope alone: a
 * decided reject or tempfail answers that recipient at once with the
 * rule's reply (SMFIS_REJECT, SMFIS_TEMPFAIL) and it is not kept, so the
 * end of the message never sees it; with the tenant split on (--tenant-split,
 * by default when the policy has tenants) a recipient of another tenant
 * than the kept ones gets 452 4.5.3; an error is 451 4.3.0. Anything else
 * keeps the recipient for the end of the message.
 *
 * One JSON line per message ("stage":"eom") and one per recipient refused
 * at RCPT ("stage":"rcpt", with "rcpt") go to the log, written by mlog.c
 * (--log FILE, stderr or syslog: supervise.c's sink, one writev() under
 * a lock).
 *
 * The DNS fixture and the limits are process-wide (libmilter gives
 * callbacks no other context) and read-only once smfi_main runs. The
 * policy is supervise.c's: the end of a message takes a reference on the
 * current one (SIGHUP may replace it) and decides the whole message under
 * it; once libmilter stops, a message that ends is a tempfail.
 *
 * pst_milter_run() loads the rules, the DNS fixture and the log, then
 * hands over to supervise.c: a supervisor process and a worker that opens
 * the socket (open_socket), opens the report store (start_worker,
 * report_store.c: one row per message with a final answer; --metrics,
 * metrics.c, counting each answer) and runs libmilter (serve).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "postern.h"
#include "milter/decide.h"
#include "milter/milter.h"
#include "milter/metrics.h"
#include "milter/mlog.h"
#include "milter/rcpt.h"
#include "milter/report_store.h"
#include "milter/supervise.h"
#include "util/buf.h"

#define MAX_RCPTS 1000          /* Postfix's smtpd_recipient_limit default */
#define REPLY_TEXT_MAX 400      /* bytes of reply text handed to libmilter */

static struct {
	pst_dns *dns;
	char hostname[256];
	size_t max_size;
} srv;

struct conn {
	char ip[INET6_ADDRSTRLEN];      /* "" when unknown */
	char *client_name;
	char *helo;
	char *mail_from;                /* NULL before MAIL FROM */
	char **rcpts;
	size_t nrcpts;
	pst_buf msg;
	int eoh;                        /* the header section is closed */
	size_t size;                    /* bytes received (kept or not) */
	pst_milter_rcpt_state rstate;   /* the transaction's tenant (rcpt.c) */
	unsigned long nr;               /* SMFIP_NR_* asked at negotiation */
	int nr_known;                   /* nr is this connection's (negotiated) */
	unsigned conn_err;              /* ERR_CONNECT, ERR_HELO not answered yet */
	unsigned msg_err;               /* ERR_MAIL, ERR_NOMEM, ERR_BIG, likewise */
};

/* Errors remembered until a stage that replies (see the top). */
enum { ERR_CONNECT = 1, ERR_HELO = 2, ERR_MAIL = 4, ERR_NOMEM = 8, ERR_BIG = 16 };

/* The no-reply stages asked for when the MTA has them. */
#define NR_ASKED (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | \
                  SMFIP_NR_BODY)

/* The private data of a connection whose struct conn could not be
 * allocated: every stage answers tempfail until close. */
static struct conn lost;

/* The RCPT-time settings (pst_milter_rcpt_configure). */
static struct {
	int tenant_split;               /* PST_MILTER_SPLIT_* */
} rcpt_conf;

void pst_milter_rcpt_configure(const pst_milter_conf *conf)
{
	rcpt_conf.tenant_split = conf->tenant_split;
}

/* ---- Private data ----------------------------------------------------- */

static void reset_message(struct conn *c)
{
	free(c->mail_from);
	c->mail_from = NULL;
	for (size_t i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	c->rcpts = NULL;
	c->nrcpts = 0;
	pst_buf_free(&c->msg);
	c->eoh = 0;
	c->size = 0;
	c->msg_err = 0;
	memset(&c->rstate, 0, sizeof c->rstate);
}

static void free_conn(struct conn *c)
{
	if (c == NULL)
		return;
	reset_message(c);
	free(c->client_name);
	free(c->helo);
	free(c);
}

/* The connection's data, allocated on first use; NULL on ENOMEM, then
 * and for the rest of the connection (the private data is `lost`). */
static struct conn *conn_of(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c == &lost)
		return NULL;
	if (c)
		return c;
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		(void)smfi_setpriv(ctx, &lost);
		return NULL;
	}
	c->msg = (pst_buf)PST_BUF_INIT;
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		free(c);
		return NULL;
	}
	return c;
}

/* ---- Stages without a reply ------------------------------------------- */

/* Whether the stage of nr_bit replies on this connection (known, not
 * asked for no reply). */
static int replies(const struct conn *c, unsigned long nr_bit)
{
	return c->nr_known && !(c->nr & nr_bit);
}

/* The status of a callback that goes on: no reply where negotiated, else
 * continue (libmilter drops it where the flags are not known here). */
static sfsistat go_on(const struct conn *c, unsigned long nr_bit)
{
	return c->nr_known && (c->nr & nr_bit) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* An error at connect, HELO or MAIL FROM: tempfail at once where the stage
 * replies, else remembered in *errs for RCPT. */
static sfsistat envelope_error(struct conn *c, unsigned long nr_bit, unsigned *errs, unsigned err)
{
	if (replies(c, nr_bit))
		return SMFIS_TEMPFAIL;
	*errs |= err;
	return go_on(c, nr_bit);
}

/* Why a remembered error, for the log. */
static const char *error_why(unsigned errs)
{
	if (errs & ERR_CONNECT)
		return "out of memory at connect";
	if (errs & ERR_HELO)
		return "out of memory at HELO";
	if (errs & ERR_MAIL)
		return "out of memory at MAIL FROM";
	return "out of memory";
}

/* ---- Replies and the log ---------------------------------------------- */

/* A reply text libmilter takes: printable ASCII, '%' doubled. */
static void reply_text(const char *s, char *out, size_t outlen)
{
	size_t n = 0;
	for (; *s && n + 3 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '%')
			out[n++] = '%';
		out[n++] = ch < 0x20 || ch == 0x7f ? ' ' : ch >= 0x80 ? '?' : (char)ch;
	}
	out[n] = '\0';
}

/* Set the reply; 0, or -1 when libmilter refused it (the MTA then uses its
 * own reply for the status returned). */
static int set_reply(SMFICTX *ctx, int code, const char *enhanced, const char *text)
{
	char rcode[8], xcode[16], msg[REPLY_TEXT_MAX];
	snprintf(rcode, sizeof rcode, "%d", code);
	snprintf(xcode, sizeof xcode, "%s", enhanced);
	reply_text(text, msg, sizeof msg);
	return smfi_setreply(ctx, rcode, xcode, msg) == MI_SUCCESS ? 0 : -1;
}

/* What the log lines say of c (mlog.c). */
static pst_milter_logenv logenv(const struct conn *c)
{
	return (pst_milter_logenv){
		.host = srv.hostname, .client_ip = c->ip, .client_name = c->client_name,
		.helo = c->helo, .mail_from = c->mail_from, .rcpts = (const char *const *)c->rcpts,
		.nrcpts = c->nrcpts, .size = c->size,
	};
}

/* One line per message: the envelope, the answer, and why. */
static void log_message(const struct conn *c, const char *decision, const char *rule, int code,
                        const char *enhanced, const char *text, const pst_milter_outcome *o,
                        const char *why)
{
	pst_milter_logenv e = logenv(c);
	pst_milter_logreply reply = { code, enhanced, text };
	pst_milter_log_eom(&e, decision, rule, &reply, o, why);
}

/* Tempfail for an error of ours: the reply, the log line, the status. */
static sfsistat tempfail(SMFICTX *ctx, struct conn *c, int code, const char *enh, const char *text,
                         const char *why)
{
	(void)set_reply(ctx, code, enh, text);
	if (c)
		log_message(c, "tempfail", NULL, code, enh, text, NULL, why);
	return SMFIS_TEMPFAIL;
}

/* ---- Envelope callbacks ----------------------------------------------- */

static sfsistat on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	c->ip[0] = '\0';
	if (sa && sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, c->ip, sizeof c->ip) == NULL)
		c->ip[0] = '\0';
	if (sa && sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, c->ip, sizeof c->ip) == NULL)
		c->ip[0] = '\0';
	free(c->client_name);
	c->client_name = NULL;
	if (hostname && hostname[0] && hostname[0] != '[' && strcmp(hostname, "unknown") != 0 &&
	    (c->client_name = strdup(hostname)) == NULL)
		return envelope_error(c, SMFIP_NR_CONN, &c->conn_err, ERR_CONNECT);
	return go_on(c, SMFIP_NR_CONN);
}

static sfsistat on_helo(SMFICTX *ctx, char *name)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	free(c->helo);
	c->helo = name ? strdup(name) : NULL;
	if (name && c->helo == NULL)
		return envelope_error(c, SMFIP_NR_HELO, &c->conn_err, ERR_HELO);
	c->conn_err &= ~(unsigned)ERR_HELO;     /* a later HELO that worked */
	return go_on(c, SMFIP_NR_HELO);
}

/* An address argument without its angle brackets and outer white space. */
static char *address(const char *arg)
{
	if (arg == NULL)
		return strdup("");
	while (*arg == ' ' || *arg == '\t')
		arg++;
	size_t n = strlen(arg);
	while (n && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
		n--;
	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
		arg++;
		n -= 2;
	}
	return strndup(arg, n);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	reset_message(c);
	c->mail_from = address(argv ? argv[0] : NULL);
	if (c->mail_from == NULL)
		return envelope_error(c, SMFIP_NR_MAIL, &c->msg_err, ERR_MAIL);
	return go_on(c, SMFIP_NR_MAIL);
}

/* One line for a recipient refused at RCPT. */
static void log_rcpt(const struct conn *c, const char *rcpt, const pst_milter_rcpt_outcome *r,
                     const char *why)
{
	pst_milter_logenv e = logenv(c);
	pst_milter_log_rcpt(&e, rcpt, r, why);
}

/* Split by tenant: as --tenant-split says, by default when the policy in
 * use has tenants. */
static int tenant_split(const pst_policy *policy)
{
	if (rcpt_conf.tenant_split != PST_MILTER_SPLIT_AUTO)
		return rcpt_conf.tenant_split == PST_MILTER_SPLIT_ON;
	pst_policy_stats st;
	pst_policy_get_stats(policy, &st);
	return st.tenants > 0;
}

/* A remembered error of connect, HELO or MAIL FROM: 451 4.3.0 for this
 * recipient, logged. */
static sfsistat rcpt_error(SMFICTX *ctx, struct conn *c, char **argv)
{
	pst_milter_rcpt_outcome r;
	memset(&r, 0, sizeof r);
	r.decision = "tempfail";
	r.o.action = PST_TEMPFAIL;
	r.o.code = 451;
	snprintf(r.o.enhanced, sizeof r.o.enhanced, "4.3.0");
	snprintf(r.o.text, sizeof r.o.text, "Error: out of memory");
	const char *why = error_why(c->conn_err | c->msg_err);
	if (set_reply(ctx, r.o.code, r.o.enhanced, r.o.text) < 0)
		why = "libmilter refused the reply";
	char *rcpt = address(argv ? argv[0] : NULL);
	log_rcpt(c, rcpt, &r, why);
	free(rcpt);
	return SMFIS_TEMPFAIL;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->conn_err || c->msg_err)
		return rcpt_error(ctx, c, argv);
	if (c->nrcpts == MAX_RCPTS) {
		(void)set_reply(ctx, 452, "4.5.3", "Too many recipients");
		return SMFIS_TEMPFAIL;
	}
	char **nr = realloc(c->rcpts, (c->nrcpts + 1) * sizeof *nr);
	if (nr == NULL)
		return SMFIS_TEMPFAIL;
	c->rcpts = nr;
	pst_held_policy *pol = pst_milter_policy_get();   /* NULL: stopping */
	if (pol == NULL) {
		(void)set_reply(ctx, 451, "4.3.2", "Error: the milter is stopping");
		return SMFIS_TEMPFAIL;
	}
	char *rcpt = address(argv ? argv[0] : NULL);
	if (rcpt == NULL) {
		pst_milter_policy_put(&pol);
		return SMFIS_TEMPFAIL;
	}
	pst_milter_rcpt_in in = {
		.client_ip = c->ip[0] ? c->ip : NULL, .client_name = c->client_name, .helo = c->helo,
		.mail_from = c->mail_from, .rcpt = rcpt, .tenant_split = tenant_split(pol->policy),
	};
	pst_milter_rcpt_outcome r;
	pst_milter_rcpt_decide(pol->policy, srv.dns, &in, &c->rstate, &r);
	pst_milter_policy_put(&pol);
	if (!r.keep) {
		const char *why = r.o.why;
		if (set_reply(ctx, r.o.code, r.o.enhanced, r.o.text) < 0)
			why = "libmilter refused the reply";
		log_rcpt(c, rcpt, &r, why);
		free(rcpt);
		return r.o.action == PST_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	c->rcpts[c->nrcpts++] = rcpt;
	return SMFIS_CONTINUE;
}

/* ---- The message ------------------------------------------------------ */

/* Count n more bytes; 0, or -1 over --max-size. */
static int room(struct conn *c, size_t n)
{
	if (c->size > srv.max_size || n > srv.max_size - c->size) {
		c->size = srv.max_size + 1;
		return -1;
	}
	c->size += n;
	return 0;
}

static sfsistat too_big(SMFICTX *ctx, struct conn *c)
{
	char why[64];
	snprintf(why, sizeof why, "message over %zu bytes", srv.max_size);
	return tempfail(ctx, c, 452, "4.3.4", "Error: message too big for the policy check", why);
}

/* The message's remembered error, answered (header, body, end of message). */
static sfsistat message_error(SMFICTX *ctx, struct conn *c)
{
	if (c->msg_err & ERR_BIG)
		return too_big(ctx, c);
	const char *why = error_why(c->conn_err | c->msg_err);
	return tempfail(ctx, c, 451, "4.3.0", "Error: out of memory", why);
}

/* An error in the header or the body (ERR_NOMEM, ERR_BIG): nothing more is
 * kept; answered at once where the stage replies, else at the end of the
 * message. */
static sfsistat data_error(SMFICTX *ctx, struct conn *c, unsigned long nr_bit, unsigned err)
{
	pst_buf_free(&c->msg);
	c->msg_err |= err;
	return replies(c, nr_bit) ? message_error(ctx, c) : go_on(c, nr_bit);
}

/* Append s with every bare LF as CRLF. 0 / -1 ENOMEM. */
static int append_crlf(pst_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r') && pst_buf_putc(b, '\r') < 0)
			return -1;
		if (pst_buf_putc(b, *p) < 0)
			return -1;
	}
	return 0;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (name == NULL || value == NULL || c->msg_err)
		return go_on(c, SMFIP_NR_HDR);
	if (room(c, strlen(name) + strlen(value) + 4) < 0)
		return data_error(ctx, c, SMFIP_NR_HDR, ERR_BIG);
	if (pst_buf_puts(&c->msg, name) < 0 || pst_buf_puts(&c->msg, value[0] ? ": " : ":") < 0 ||
	    append_crlf(&c->msg, value) < 0 || pst_buf_puts(&c->msg, "\r\n") < 0)
		return data_error(ctx, c, SMFIP_NR_HDR, ERR_NOMEM);
	return go_on(c, SMFIP_NR_HDR);
}

static int close_header(struct conn *c)
{
	if (c->eoh)
		return 0;
	c->eoh = 1;
	return pst_buf_puts(&c->msg, "\r\n");
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->msg_err)
		return go_on(c, SMFIP_NR_EOH);
	if (room(c, 2) < 0)
		return data_error(ctx, c, SMFIP_NR_EOH, ERR_BIG);
	if (close_header(c) < 0)
		return data_error(ctx, c, SMFIP_NR_EOH, ERR_NOMEM);
	return go_on(c, SMFIP_NR_EOH);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->msg_err)
		return go_on(c, SMFIP_NR_BODY);
	if (room(c, len + (c->eoh ? 0 : 2)) < 0)      /* a missing end of header too */
		return data_error(ctx, c, SMFIP_NR_BODY, ERR_BIG);
	if (close_header(c) < 0 || pst_buf_append(&c->msg, chunk, len) < 0)
		return data_error(ctx, c, SMFIP_NR_BODY, ERR_NOMEM);
	return go_on(c, SMFIP_NR_BODY);
}

/* ---- End of message ----------------------------------------------------- */

static int apply_op(SMFICTX *ctx, const pst_hdrop *op)
{
	switch (op->kind) {
	case PST_HDROP_CHANGE:
		return smfi_chgheader(ctx, op->name, op->index, op->value);
	case PST_HDROP_INSERT:
		return smfi_insheader(ctx, op->index, op->name, op->value);
	default:
		return smfi_addheader(ctx, op->name, op->value);
	}
}

/* The edits, then quarantine when asked. 0, or -1 when libmilter refused one. */
static int apply_outcome(SMFICTX *ctx, const pst_milter_outcome *o)
{
	for (size_t i = 0; i < o->nops; i++)
		if (apply_op(ctx, &o->ops[i]) != MI_SUCCESS)
			return -1;
	if (o->action == PST_QUARANTINE) {
		char reason[192];
		snprintf(reason, sizeof reason, "postern rule=%s", o->rule[0] ? o->rule : "-");
		if (smfi_quarantine(ctx, reason) != MI_SUCCESS)
			return -1;
	}
	return 0;
}

static sfsistat answer(SMFICTX *ctx, struct conn *c, const pst_milter_outcome *o)
{
	const char *name = pst_action_name(o->action);
	switch (o->action) {
	case PST_REJECT:
	case PST_TEMPFAIL: {
		const char *why = o->why;
		if (set_reply(ctx, o->code, o->enhanced, o->text) < 0)
			why = "libmilter refused the reply";
		log_message(c, name, o->rule, o->code, o->enhanced, o->text, o, why);
		return o->action == PST_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	case PST_DISCARD:
		log_message(c, name, o->rule, 0, NULL, NULL, o, NULL);
		return SMFIS_DISCARD;
	default:
		if (apply_outcome(ctx, o) < 0)
			return tempfail(ctx, c, 451, "4.3.0", "Error: the message cannot be checked now",
			                "libmilter refused an edit or the quarantine");
		log_message(c, name, o->rule, 0, NULL, NULL, o, NULL);
		return SMFIS_ACCEPT;
	}
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->conn_err || c->msg_err || close_header(c) < 0) {
		if (!c->conn_err && !c->msg_err)
			c->msg_err |= ERR_NOMEM;
		sfsistat r = message_error(ctx, c);
		reset_message(c);
		return r;
	}
	pst_milter_txn txn = {
		.client_ip = c->ip[0] ? c->ip : NULL, .client_name = c->client_name, .helo = c->helo,
		.mail_from = c->mail_from, .rcpts = (const char *const *)c->rcpts, .nrcpts = c->nrcpts,
		.data = c->msg.data ? c->msg.data : "", .len = c->msg.len,
		.queue_id = smfi_getsymval(ctx, "i"), .evaluated = pst_milter_store_message,
	};
	pst_held_policy *pol = pst_milter_policy_get();   /* NULL: stopping */
	if (pol == NULL) {
		sfsistat r = tempfail(ctx, c, 451, "4.3.2", "Error: the milter is stopping", "stopping");
		reset_message(c);
		return r;
	}
	pst_milter_outcome o;
	pst_milter_decide(pol->policy, srv.dns, &txn, &o);
	pst_milter_policy_put(&pol);
	sfsistat r = answer(ctx, c, &o);
	pst_milter_metrics_count(o.action, o.action == PST_TEMPFAIL && o.why[0] != '\0');
	pst_milter_outcome_free(&o);
	reset_message(c);
	return r;
}

static sfsistat on_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c && c != &lost)
		reset_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c) {
		if (c != &lost)
			free_conn(c);
		(void)smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/* ---- Negotiation ------------------------------------------------------ */

#define ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

/* The macros: {i} at the end of the message, an empty list elsewhere
 * (Postfix then sends its milter_*_macros: see the contract above). When
 * the first list cannot be set, the MTA's own lists stay; a later one that
 * fails leaves that stage's default (more macros, nothing lost). */
static void ask_macros(SMFICTX *ctx)
{
	static const int none[] = { SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT,
	                            SMFIM_DATA, SMFIM_EOH };
	if (smfi_setsymlist(ctx, SMFIM_EOM, "{i}") != MI_SUCCESS)
		return;
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		if (smfi_setsymlist(ctx, none[i], "") != MI_SUCCESS)
			return;
}

/* f1 is what the MTA offers plus the NR bits libmilter can fake; *pf1
 * comes in as libmilter's proposal (no DATA, no unknown commands, SKIP
 * when offered) and gets the NR bits added. f2, f3 and their outputs are
 * reserved (0). The actions are the ones the callbacks use, required as
 * without negotiation. */
static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = ACTIONS;
	*pf2 = 0;
	*pf3 = 0;
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return SMFIS_CONTINUE;          /* no NR: every stage replies */
	c->nr_known = 1;
	c->nr = f1 & SMFIP_NODATA ? f1 & NR_ASKED : 0;
	if (c->nr) {
		*pf1 |= c->nr;
		ask_macros(ctx);
	}
	return SMFIS_CONTINUE;
}

/* ---- Start ------------------------------------------------------------- */

static struct smfiDesc desc = {
	.xxfi_name = "postern",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = ACTIONS,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_negotiate = on_negotiate,
};

static int load(const pst_milter_conf *conf)
{
	if (pst_milter_policy_load(conf->rules) < 0)
		return EX_CONFIG;
	char *errors = NULL;
	if (conf->dns && pst_dns_load_fixture(conf->dns, &srv.dns, &errors) < 0) {
		fprintf(stderr, "%s", errors ? errors : "");
		fprintf(stderr, "postern milter: bad DNS fixture %s\n", conf->dns);
		free(errors);
		return EX_DATAERR;
	}
	return pst_milter_log_open(conf->log) < 0 ? EX_CANTCREAT : 0;
}

/* In the worker: the listen socket (a stale Unix socket is replaced). */
static int open_socket(const pst_milter_conf *conf)
{
	char listen[1024];
	snprintf(listen, sizeof listen, "%s", conf->listen);
	if (smfi_setconn(listen) != MI_SUCCESS) {
		fprintf(stderr, "postern milter: bad --listen %s\n", conf->listen);
		return EX_OSERR;
	}
	if (smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "postern milter: libmilter refused the filter\n");
		return EX_SOFTWARE;
	}
	if (smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "postern milter: cannot listen on %s\n", conf->listen);
		return EX_OSERR;
	}
	return pst_milter_metrics_open(conf) < 0 ? EX_OSERR : 0;
}

/* In the worker, once the privileges are dropped: --report-store, the
 * --metrics thread. */
static int start_worker(const pst_milter_conf *conf)
{
	if (pst_milter_store_open(conf, srv.hostname) < 0)
		return EX_CANTCREAT;
	return pst_milter_metrics_start() < 0 ? EX_OSERR : 0;
}

static void finish_worker(const pst_milter_conf *conf)
{
	(void)conf;
	pst_milter_metrics_stop();
	pst_milter_store_close();
}

/* In the worker, until libmilter stops. */
static int serve(const pst_milter_conf *conf)
{
	(void)conf;
	return smfi_main() == MI_SUCCESS ? 0 : EX_SOFTWARE;
}

int pst_milter_run(const pst_milter_conf *conf)
{
	static const pst_milter_worker worker = { open_socket, start_worker, serve, finish_worker };
	srv.max_size = conf->max_size ? conf->max_size : PST_MILTER_MAX_SIZE_DEFAULT;
	if (conf->hostname)
		snprintf(srv.hostname, sizeof srv.hostname, "%s", conf->hostname);
	else if (gethostname(srv.hostname, sizeof srv.hostname) < 0)
		snprintf(srv.hostname, sizeof srv.hostname, "localhost");
	srv.hostname[sizeof srv.hostname - 1] = '\0';
	int rc = load(conf), is_worker = 0;
	if (rc == 0)
		rc = pst_milter_supervise(conf, &worker, &is_worker);
	pst_milter_log_close();
	if (pst_milter_policy_free() == 0 || !is_worker)   /* else a decision may still use it */
		pst_dns_free(&srv.dns);
	return rc;
}
