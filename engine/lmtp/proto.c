/*
 * proto.c: the LMTP protocol state machine (see proto.h).
 *
 * Input is a byte stream. In command mode bytes collect into one bounded
 * line; a complete line is looked up in the command table and its handler
 * writes the reply. A line over PST_LMTP_MAX_LINE octets is dropped up to
 * its LF and answered 500 5.5.2. In DATA mode bytes go straight into the
 * message buffer through a four-state dot-unstuffing machine (beginning of
 * line, after a leading dot, after ".\r", inside a line), so any split of
 * the input gives the same message. A line ends at CRLF only: a bare LF
 * is message text, so only CRLF "." CRLF ends DATA. While reading, the size and header
 * limits only set flags: the message is drained to its final dot and every
 * recipient then gets the limit's reply, with nothing delivered.
 *
 * State: INIT (before LHLO), READY (after LHLO), MAIL (after MAIL FROM),
 * and DATA. XFORWARD attributes are kept until the end of a transaction,
 * RSET or LHLO (Postfix's XFORWARD_README), and accepted only outside a
 * transaction from a peer the owner allowed; an xtext value that decodes
 * to a control character (such as "+00") is refused (501 5.5.4). XCLIENT
 * (Postfix's XCLIENT_README: NAME ADDR PORT PROTO HELO LOGIN DESTADDR
 * DESTPORT) is taken from the same peers under the same rules; a good one
 * ends the session's state, answers with a new 220 greeting (the client
 * must LHLO again) and its client attributes stay for the rest of the
 * session. At the end of DATA an attribute XFORWARD set in the
 * transaction wins over XCLIENT's; LOGIN, DESTADDR and DESTPORT are
 * checked and not used. A
 * recipient's unquoted local part is an RFC 5321 Dot-string (a space or a
 * special is 501 5.1.3), and no bidi control character is taken in a
 * recipient (553 5.1.3). Every RCPT refused inside a transaction is told to
 * the owner's refused() callback with the reply sent and a reason.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lmtp/proto.h"
#include "util/buf.h"
#include "util/ip.h"
#include "util/limits.h"
#include "util/utf8.h"

enum state { ST_INIT, ST_READY, ST_MAIL, ST_DATA, ST_CLOSED };
enum dstate { D_BOL, D_DOT, D_DOTCR, D_MID };

struct pst_lmtp {
	pst_lmtp_ops ops;
	pst_lmtp_limits lim;
	void *ctx;
	enum state state;
	unsigned errors;
	pst_lmtp_reply last;    /* the last reply written by reply() */
	/* Command line being collected. */
	char line[PST_LMTP_MAX_LINE + 1];
	size_t linelen;
	int overlong;
	/* Session. */
	char lhlo[PST_LMTP_MAX_LINE];
	char *xfwd[PST_XF_COUNT];
	unsigned char xfwd_set[PST_XF_COUNT];   /* XFORWARD named it ([UNAVAILABLE] too) */
	char *xcl[PST_XF_COUNT];                /* XCLIENT's, for the session */
	/* Transaction. */
	char *mail_from;
	char **rcpts;
	size_t nrcpts;
	int body_8bit, smtputf8;
	/* DATA. */
	pst_buf msg;
	enum dstate dstate;
	int mid_cr;             /* in D_MID: the last byte read was CR */
	size_t line_start;      /* offset in msg of the current line */
	int oversize, header_over, header_done, nomem;
	size_t header_fields;
};

static const char *const xattr_names[PST_XF_COUNT] = {
	"NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"
};

/* ---- Replies --------------------------------------------------------- */

int pst_lmtp_reply_set(pst_lmtp_reply *r, int code, const char *enhanced, const char *text)
{
	size_t n = text ? strlen(text) : 0;

	r->code = code;
	snprintf(r->enhanced, sizeof r->enhanced, "%s", enhanced ? enhanced : "");
	r->cut = n >= sizeof r->text;
	if (r->cut) {
		n = sizeof r->text - 1;
		/* back to the start of the character the cut falls in */
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(r->text, text, n);
	r->text[n] = '\0';
	return r->cut;
}

size_t pst_lmtp_reply_format(const pst_lmtp_reply *r, char *buf, size_t len)
{
	int code = r->code >= 200 && r->code <= 599 ? r->code : 451;
	int n = snprintf(buf, len, "%03d %s%s", code, r->enhanced, r->enhanced[0] ? " " : "");
	if (n < 0 || (size_t)n >= len)
		return 0;
	size_t pos = (size_t)n;
	for (const char *t = r->text; *t && pos + 3 < len; t++)
		buf[pos++] = (unsigned char)*t < 0x20 || *t == 0x7f ? ' ' : *t;
	buf[pos++] = '\r';
	buf[pos++] = '\n';
	buf[pos] = '\0';
	return pos;
}

static void reply(pst_lmtp *p, int code, const char *enh, const char *text)
{
	pst_lmtp_reply *r = &p->last;
	char buf[PST_LMTP_REPLY_TEXT + 32];
	pst_lmtp_reply_set(r, code, enh, text);
	size_t n = pst_lmtp_reply_format(r, buf, sizeof buf);
	p->ops.write(p->ctx, buf, n);
	if (code >= 500)
		p->errors++;
}

static void reply_raw(pst_lmtp *p, const char *text)
{
	p->ops.write(p->ctx, text, strlen(text));
}

/* ---- Session and transaction state ---------------------------------- */

static void xfwd_reset(pst_lmtp *p)
{
	for (int i = 0; i < PST_XF_COUNT; i++) {
		free(p->xfwd[i]);
		p->xfwd[i] = NULL;
		p->xfwd_set[i] = 0;
	}
}

static void xcl_reset(pst_lmtp *p)
{
	for (int i = 0; i < PST_XF_COUNT; i++) {
		free(p->xcl[i]);
		p->xcl[i] = NULL;
	}
}

/* End of a transaction (after DATA, RSET, LHLO): the envelope, the message
 * and the XFORWARD attributes go. */
static void txn_reset(pst_lmtp *p)
{
	free(p->mail_from);
	p->mail_from = NULL;
	for (size_t i = 0; i < p->nrcpts; i++)
		free(p->rcpts[i]);
	free(p->rcpts);
	p->rcpts = NULL;
	p->nrcpts = 0;
	p->body_8bit = p->smtputf8 = 0;
	pst_buf_free(&p->msg);
	p->oversize = p->header_over = p->header_done = p->nomem = 0;
	p->header_fields = 0;
	xfwd_reset(p);
	if (p->state == ST_MAIL || p->state == ST_DATA)
		p->state = ST_READY;
}

pst_lmtp *pst_lmtp_new(const pst_lmtp_ops *ops, const pst_lmtp_limits *limits, void *ctx)
{
	pst_lmtp *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->ops = *ops;
	p->lim = *limits;
	if (p->lim.hostname == NULL)
		p->lim.hostname = "localhost";
	if (p->lim.max_size == 0)
		p->lim.max_size = PST_MAX_MESSAGE_BYTES;
	if (p->lim.max_rcpts == 0)
		p->lim.max_rcpts = PST_LMTP_MAX_RCPTS;
	if (p->lim.max_header_bytes == 0)
		p->lim.max_header_bytes = PST_MAX_HEADER_BYTES;
	if (p->lim.max_header_fields == 0)
		p->lim.max_header_fields = PST_MAX_HEADER_FIELDS;
	p->ctx = ctx;
	return p;
}

void pst_lmtp_free(pst_lmtp **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	txn_reset(*pp);
	xcl_reset(*pp);
	free(*pp);
	*pp = NULL;
}

void pst_lmtp_greet(pst_lmtp *p)
{
	char buf[PST_LMTP_REPLY_TEXT];
	snprintf(buf, sizeof buf, "220 %.200s LMTP postern ready\r\n", p->lim.hostname);
	reply_raw(p, buf);
}

void pst_lmtp_timeout(pst_lmtp *p)
{
	if (p->state == ST_CLOSED)
		return;
	reply(p, 421, "4.4.2", "Error: timeout exceeded");
	p->state = ST_CLOSED;
}

void pst_lmtp_shutdown(pst_lmtp *p)
{
	if (p->state == ST_CLOSED)
		return;
	reply(p, 421, "4.3.2", "Service shutting down, closing transmission channel");
	p->state = ST_CLOSED;
}

int pst_lmtp_in_data(const pst_lmtp *p)
{
	return p->state == ST_DATA;
}

int pst_lmtp_busy(const pst_lmtp *p)
{
	return p->state == ST_MAIL || p->state == ST_DATA || p->linelen > 0;
}

/* ---- Syntax helpers --------------------------------------------------- */

static const char *skip_sp(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* Parse "<path>" at s (RFC 5321 4.1.2, with quoted local parts), after
 * "FROM:" or "TO:". On success *path is a malloc'd copy of the address
 * without brackets (source routes dropped), *rest points past '>' and 0 is
 * returned; -1 for bad syntax; -2 for control characters or NUL. */
static int parse_path(const char *s, size_t n, char **path, const char **rest)
{
	const char *end = s + n;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end || *s != '<')
		return -1;
	const char *start = s + 1, *q = start;
	int quoted = 0;
	for (; q < end; q++) {
		if (quoted && *q == '\\' && q + 1 < end) {
			q++;
			continue;
		}
		if (*q == '"')
			quoted = !quoted;
		else if (!quoted && *q == '>')
			break;
	}
	if (q >= end)
		return has_ctl(start, (size_t)(end - start)) ? -2 : -1;
	const char *a = start;
	if (*a == '@') {        /* source route: @a,@b:user@c */
		const char *colon = memchr(a, ':', (size_t)(q - a));
		if (colon == NULL)
			return -1;
		a = colon + 1;
	}
	size_t len = (size_t)(q - a);
	if (has_ctl(a, len))
		return -2;
	*path = strndup(a, len);
	if (*path == NULL)
		return -1;
	*rest = q + 1;
	return 0;
}

int pst_lmtp_xtext_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == '=')
			return -1;
		if (c == '+') {
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return -1;
			char hex[3] = { s[i + 1], s[i + 2], 0 };
			c = (unsigned char)strtoul(hex, NULL, 16);
			i += 2;
			if (c < 0x20 || c == 0x7f)   /* "+00" would cut the value */
				return -1;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* ---- Commands --------------------------------------------------------- */

typedef void cmd_fn(pst_lmtp *p, const char *arg, size_t arglen);

static void cmd_lhlo(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arglen;
	if (*arg == '\0') {
		reply(p, 501, "5.5.4", "Syntax: LHLO hostname");
		return;
	}
	txn_reset(p);
	snprintf(p->lhlo, sizeof p->lhlo, "%s", arg);
	p->state = ST_READY;
	char buf[1024];
	int n = snprintf(buf, sizeof buf,
	    "250-%.200s\r\n250-PIPELINING\r\n250-SIZE %zu\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n%s250 SMTPUTF8\r\n", p->lim.hostname, p->lim.max_size,
	    p->lim.xforward_allowed ? "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n"
	                              "250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT\r\n"
	                            : "");
	if (n > 0)
		p->ops.write(p->ctx, buf, (size_t)n);
}

static void cmd_helo(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arg; (void)arglen;
	reply(p, 500, "5.5.1", "Error: this is LMTP, use LHLO");
}

/* One MAIL FROM parameter; 0 or -1 after replying. */
static int mail_param(pst_lmtp *p, const char *kw, size_t kwlen, const char *val)
{
	if (kwlen == 4 && strncasecmp(kw, "SIZE", 4) == 0 && val) {
		char *end;
		unsigned long long v = strtoull(val, &end, 10);
		if (*val < '0' || *val > '9' || *end) {
			reply(p, 501, "5.5.4", "Bad SIZE parameter");
			return -1;
		}
		if (v > p->lim.max_size) {
			reply(p, 552, "5.3.4", "Message size exceeds fixed limit");
			return -1;
		}
		return 0;
	}
	if (kwlen == 4 && strncasecmp(kw, "BODY", 4) == 0 && val) {
		if (strcasecmp(val, "8BITMIME") == 0)
			p->body_8bit = 1;
		else if (strcasecmp(val, "7BIT") != 0) {
			reply(p, 501, "5.5.4", "Bad BODY parameter");
			return -1;
		}
		return 0;
	}
	if (kwlen == 8 && strncasecmp(kw, "SMTPUTF8", 8) == 0 && val == NULL) {
		p->smtputf8 = 1;
		return 0;
	}
	reply(p, 555, "5.5.4", "Unsupported option");
	return -1;
}

/* Parameters after the path: space-separated KEYWORD[=VALUE]. */
static int parse_params(pst_lmtp *p, const char *s, int mail)
{
	char tmp[PST_LMTP_MAX_LINE];
	snprintf(tmp, sizeof tmp, "%s", s);
	char *save = NULL;
	for (char *tok = strtok_r(tmp, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (!mail) {
			reply(p, 555, "5.5.4", "Unsupported option");
			return -1;
		}
		char *eq = strchr(tok, '=');
		size_t kwlen = eq ? (size_t)(eq - tok) : strlen(tok);
		if (mail_param(p, tok, kwlen, eq ? eq + 1 : NULL) < 0)
			return -1;
	}
	return 0;
}

/* "FROM:" / "TO:" then the path. 0, or -1 after replying. */
static int parse_cmd_path(pst_lmtp *p, const char *arg, size_t arglen, const char *kw,
                          const char *usage, char **path, const char **rest)
{
	size_t kl = strlen(kw);
	if (strncasecmp(arg, kw, kl) != 0) {
		reply(p, 501, "5.5.4", usage);
		return -1;
	}
	int rc = parse_path(arg + kl, arglen - kl, path, rest);
	if (rc == -2) {
		reply(p, 550, "5.1.3", "Bad address syntax: control character or NUL");
		return -1;
	}
	if (rc < 0) {
		reply(p, 501, "5.1.7", "Bad address syntax");
		return -1;
	}
	return 0;
}

static void cmd_mail(pst_lmtp *p, const char *arg, size_t arglen)
{
	if (p->state == ST_INIT) {
		reply(p, 503, "5.5.1", "Error: send LHLO first");
		return;
	}
	if (p->state == ST_MAIL) {
		reply(p, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	char *path = NULL;
	const char *rest;
	if (parse_cmd_path(p, arg, arglen, "FROM:", "Syntax: MAIL FROM:<address>", &path, &rest) < 0)
		return;
	p->body_8bit = p->smtputf8 = 0;
	if (parse_params(p, rest, 1) < 0) {
		free(path);
		p->body_8bit = p->smtputf8 = 0;
		return;
	}
	p->mail_from = path;
	p->state = ST_MAIL;
	reply(p, 250, "2.1.0", "Ok");
}

static int add_rcpt(pst_lmtp *p, char *path)
{
	char **r = realloc(p->rcpts, (p->nrcpts + 1) * sizeof *r);
	if (r == NULL)
		return -1;
	p->rcpts = r;
	p->rcpts[p->nrcpts++] = path;
	return 0;
}

/* Whether the code point is a bidirectional formatting control (Unicode
 * UAX #9: ALM, LRM, RLM, the embeddings, overrides and isolates), which
 * can make an address display as another. */
static int is_bidi_control(uint32_t cp)
{
	return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E)
	       || (cp >= 0x2066 && cp <= 0x2069);
}

/* RFC 5321 atext and '.', and any octet of UTF-8 (RFC 6531). */
static int dot_string_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* What is wrong with a recipient address, or NULL: an unquoted local part
 * is a Dot-string (no space, no specials), and no bidi control anywhere.
 * A text starting "553 " is a 553 reply, any other a 501. */
static const char *rcpt_problem(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = strlen(addr), local = at ? (size_t)(at - addr) : n;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = pst_utf8_decode((const unsigned char *)addr + i, n - i, &cp);
		if (l == 0)
			l = 1;
		else if (is_bidi_control(cp))
			return "553 Bad recipient address: bidirectional control character";
		i += l;
	}
	if (addr[0] == '"')
		return NULL;
	for (size_t i = 0; i < local; i++)
		if (!dot_string_char((unsigned char)addr[i]))
			return addr[i] == ' ' || addr[i] == '\t'
			       ? "Bad recipient address syntax: unquoted space in the local part"
			       : "Bad recipient address syntax: unquoted special character in the local part";
	return NULL;
}

/* What the owner sees of the transaction so far (data NULL). */
static void txn_view(const pst_lmtp *p, pst_lmtp_txn *t)
{
	*t = (pst_lmtp_txn){
		.lhlo = p->lhlo, .mail_from = p->mail_from,
		.rcpts = (const char *const *)p->rcpts, .nrcpts = p->nrcpts,
		.body_8bit = p->body_8bit, .smtputf8 = p->smtputf8,
	};
	for (int i = 0; i < PST_XF_COUNT; i++)
		t->xfwd[i] = p->xfwd_set[i] ? p->xfwd[i] : p->xcl[i];
}

/* Tell the owner about a refused recipient: r is the reply sent (NULL: the
 * last reply()), address at most 256 bytes of it. */
static void rcpt_refused(pst_lmtp *p, const char *address, size_t len, const pst_lmtp_reply *r,
                         const char *reason)
{
	if (p->ops.refused == NULL)
		return;
	char addr[257];
	if (len >= sizeof addr)
		len = sizeof addr - 1;
	memcpy(addr, address, len);
	addr[len] = '\0';
	pst_lmtp_txn t;
	txn_view(p, &t);
	p->ops.refused(p->ctx, &t, addr, r ? r : &p->last, reason);
}

static void cmd_rcpt(pst_lmtp *p, const char *arg, size_t arglen)
{
	if (p->state != ST_MAIL) {
		reply(p, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	char *path = NULL;
	const char *rest;
	if (parse_cmd_path(p, arg, arglen, "TO:", "Syntax: RCPT TO:<address>", &path, &rest) < 0) {
		size_t skip = arglen >= 3 && strncasecmp(arg, "TO:", 3) == 0 ? 3 : 0;
		rcpt_refused(p, arg + skip, arglen - skip, NULL, "bad address syntax");
		return;
	}
	const char *bad = rcpt_problem(path);
	if (*path == '\0' || bad != NULL) {
		if (bad != NULL && strncmp(bad, "553 ", 4) == 0)
			reply(p, 553, "5.1.3", bad + 4);
		else
			reply(p, 501, "5.1.3", bad ? bad : "Bad recipient address syntax");
		rcpt_refused(p, path, strlen(path), NULL, "bad address syntax");
		free(path);
		return;
	}
	if (parse_params(p, rest, 0) < 0) {
		rcpt_refused(p, path, strlen(path), NULL, "bad parameter");
		free(path);
		return;
	}
	if (p->nrcpts >= p->lim.max_rcpts) {
		reply(p, 452, "4.5.3", "Error: too many recipients");
		rcpt_refused(p, path, strlen(path), NULL, "too many recipients");
		free(path);
		return;
	}
	pst_lmtp_reply r;
	pst_lmtp_reply_set(&r, 250, "2.1.5", "Ok");
	if (p->ops.rcpt)
		p->ops.rcpt(p->ctx, path, &r);
	if (r.code >= 200 && r.code < 300 && add_rcpt(p, path) < 0) {
		reply(p, 452, "4.3.1", "Error: out of memory");
		rcpt_refused(p, path, strlen(path), NULL, "out of memory");
		free(path);
		return;
	}
	char buf[PST_LMTP_REPLY_TEXT + 32];
	size_t n = pst_lmtp_reply_format(&r, buf, sizeof buf);
	p->ops.write(p->ctx, buf, n);
	if (r.code < 200 || r.code >= 300) {
		/* X.1.1: "bad destination mailbox address" (RFC 3463) */
		rcpt_refused(p, path, strlen(path), &r,
		             r.enhanced[0] && strcmp(r.enhanced + 1, ".1.1") == 0 ? "unknown user"
		             : "recipient check");
		free(path);
	}
}

static void cmd_data(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arglen;
	if (p->state != ST_MAIL) {
		reply(p, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (p->nrcpts == 0) {
		reply(p, 503, "5.5.1", "Error: need RCPT command");
		return;
	}
	if (*arg) {
		reply(p, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	pst_buf_free(&p->msg);
	p->dstate = D_BOL;
	p->line_start = 0;
	p->state = ST_DATA;
	reply(p, 354, "", "End data with <CR><LF>.<CR><LF>");
}

static void cmd_rset(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arglen;
	if (*arg) {
		reply(p, 501, "5.5.4", "Syntax: RSET");
		return;
	}
	txn_reset(p);
	reply(p, 250, "2.0.0", "Ok");
}

static void cmd_noop(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arg; (void)arglen;
	reply(p, 250, "2.0.0", "Ok");
}

static void cmd_quit(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arg; (void)arglen;
	reply(p, 221, "2.0.0", "Bye");
	p->state = ST_CLOSED;
}

static void cmd_vrfy(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arglen;
	if (*arg == '\0') {
		reply(p, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	reply(p, 252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

static int xattr_index(const char *name, size_t n)
{
	for (int i = 0; i < PST_XF_COUNT; i++)
		if (strlen(xattr_names[i]) == n && strncasecmp(name, xattr_names[i], n) == 0)
			return i;
	return -1;
}

/* Normalise an ADDR value: drop "IPV6:", check and canonicalise. */
static int xfwd_addr(const char *v, char *out, size_t outlen)
{
	if (strncasecmp(v, "IPV6:", 5) == 0)
		v += 5;
	pst_ip ip;
	if (pst_ip_parse(v, strlen(v), &ip) < 0)
		return -1;
	pst_ip_format(&ip, out, outlen);
	return 0;
}

/* A decimal TCP port, 0 to 65535. */
static int port_ok(const char *v)
{
	if (*v == '\0' || strlen(v) > 5 || strspn(v, "0123456789") != strlen(v))
		return 0;
	return strtoul(v, NULL, 10) <= 65535;
}

enum xkind { XK_TEXT, XK_ADDR, XK_PORT };

/* Decode one attribute value of verb: *out is a malloc'd value, or NULL
 * for [UNAVAILABLE] / [TEMPUNAVAIL]. 0, or -1 after replying. */
static int xattr_value(pst_lmtp *p, const char *verb, enum xkind kind, const char *raw, char **out)
{
	char dec[PST_LMTP_MAX_XFWD_VALUE + 1], msg[64];
	*out = NULL;
	if (pst_lmtp_xtext_decode(raw, strlen(raw), dec, sizeof dec) < 0 || has_ctl(dec, strlen(dec))) {
		snprintf(msg, sizeof msg, "Bad %s attribute value", verb);
		reply(p, 501, "5.5.4", msg);
		return -1;
	}
	if (strcasecmp(dec, "[UNAVAILABLE]") == 0 || strcasecmp(dec, "[TEMPUNAVAIL]") == 0)
		return 0;
	if (kind == XK_ADDR) {
		char canon[PST_IP_FORMAT_LEN];
		if (xfwd_addr(dec, canon, sizeof canon) < 0) {
			snprintf(msg, sizeof msg, "Bad %s address syntax", verb);
			reply(p, 501, "5.5.4", msg);
			return -1;
		}
		snprintf(dec, sizeof dec, "%s", canon);
	} else if (kind == XK_PORT && !port_ok(dec)) {
		snprintf(msg, sizeof msg, "Bad %s port syntax", verb);
		reply(p, 501, "5.5.4", msg);
		return -1;
	}
	*out = strdup(dec);
	if (*out == NULL) {
		reply(p, 451, "4.3.1", "Error: out of memory");
		return -1;
	}
	return 0;
}

/* One NAME=value pair into vals[]; 0, or -1 after replying. */
static int xfwd_pair(pst_lmtp *p, char *tok, char *vals[PST_XF_COUNT], int set[PST_XF_COUNT])
{
	char *eq = strchr(tok, '=');
	int i = eq ? xattr_index(tok, (size_t)(eq - tok)) : -1;
	if (i < 0) {
		reply(p, 501, "5.5.4", "Bad XFORWARD attribute name");
		return -1;
	}
	char *v;
	if (xattr_value(p, "XFORWARD", i == PST_XF_ADDR ? XK_ADDR : XK_TEXT, eq + 1, &v) < 0)
		return -1;
	set[i] = 1;
	free(vals[i]);
	vals[i] = v;
	return 0;
}

/* The refusals XFORWARD and XCLIENT share; 0 when the command may go on. */
static int xcmd_refused(pst_lmtp *p, const char *verb, const char *arg)
{
	char msg[64];
	if (!p->lim.xforward_allowed) {
		reply(p, 550, "5.7.0", "Error: insufficient authorization");
		return -1;
	}
	if (p->state == ST_MAIL) {
		reply(p, 503, "5.5.1", "Error: MAIL transaction in progress");
		return -1;
	}
	if (*arg == '\0') {
		snprintf(msg, sizeof msg, "Syntax: %s attribute=value...", verb);
		reply(p, 501, "5.5.4", msg);
		return -1;
	}
	return 0;
}

static void cmd_xforward(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arglen;
	if (xcmd_refused(p, "XFORWARD", arg) < 0)
		return;
	char tmp[PST_LMTP_MAX_LINE];
	snprintf(tmp, sizeof tmp, "%s", arg);
	char *vals[PST_XF_COUNT] = { 0 };
	int set[PST_XF_COUNT] = { 0 }, ok = 1;
	char *save = NULL;
	for (char *tok = strtok_r(tmp, " \t", &save); tok && ok; tok = strtok_r(NULL, " \t", &save))
		ok = xfwd_pair(p, tok, vals, set) == 0;
	for (int i = 0; i < PST_XF_COUNT; i++) {
		if (ok && set[i]) {
			free(p->xfwd[i]);
			p->xfwd[i] = vals[i];
			p->xfwd_set[i] = 1;
		} else
			free(vals[i]);
	}
	if (ok)
		reply(p, 250, "2.0.0", "Ok");
}

/* The XCLIENT attributes (Postfix's XCLIENT_README) and where each goes:
 * a client fact, or -1 (checked, not used). */
static const struct xclient_attr {
	const char *name;
	int slot;
	enum xkind kind;
} xclient_attrs[] = {
	{ "NAME", PST_XF_NAME, XK_TEXT }, { "ADDR", PST_XF_ADDR, XK_ADDR },
	{ "PORT", PST_XF_PORT, XK_PORT }, { "PROTO", PST_XF_PROTO, XK_TEXT },
	{ "HELO", PST_XF_HELO, XK_TEXT }, { "LOGIN", -1, XK_TEXT },
	{ "DESTADDR", -1, XK_ADDR }, { "DESTPORT", -1, XK_PORT },
};
#define XCLIENT_NATTRS (sizeof xclient_attrs / sizeof xclient_attrs[0])

/* One XCLIENT NAME=value pair into vals[] (by xclient_attrs index); 0, or
 * -1 after replying. */
static int xclient_pair(pst_lmtp *p, char *tok, char *vals[XCLIENT_NATTRS], int set[XCLIENT_NATTRS])
{
	char *eq = strchr(tok, '=');
	size_t k = XCLIENT_NATTRS;
	for (size_t j = 0; eq && j < XCLIENT_NATTRS; j++)
		if (strlen(xclient_attrs[j].name) == (size_t)(eq - tok) &&
		    strncasecmp(tok, xclient_attrs[j].name, (size_t)(eq - tok)) == 0)
			k = j;
	if (k == XCLIENT_NATTRS) {
		reply(p, 501, "5.5.4", "Bad XCLIENT attribute name");
		return -1;
	}
	char *v;
	if (xattr_value(p, "XCLIENT", xclient_attrs[k].kind, eq + 1, &v) < 0)
		return -1;
	set[k] = 1;
	free(vals[k]);
	vals[k] = v;
	return 0;
}

/* XCLIENT: all pairs good, or nothing changes. A good one replaces the
 * client attributes it names and starts the session again with a 220
 * greeting, as Postfix's smtpd does: the client must LHLO again. */
static void cmd_xclient(pst_lmtp *p, const char *arg, size_t arglen)
{
	(void)arglen;
	if (xcmd_refused(p, "XCLIENT", arg) < 0)
		return;
	char tmp[PST_LMTP_MAX_LINE];
	snprintf(tmp, sizeof tmp, "%s", arg);
	char *vals[XCLIENT_NATTRS] = { 0 };
	int set[XCLIENT_NATTRS] = { 0 }, ok = 1;
	char *save = NULL;
	for (char *tok = strtok_r(tmp, " \t", &save); tok && ok; tok = strtok_r(NULL, " \t", &save))
		ok = xclient_pair(p, tok, vals, set) == 0;
	for (size_t k = 0; k < XCLIENT_NATTRS; k++) {
		int slot = xclient_attrs[k].slot;
		if (ok && set[k] && slot >= 0) {
			free(p->xcl[slot]);
			p->xcl[slot] = vals[k];
		} else
			free(vals[k]);
	}
	if (!ok)
		return;
	txn_reset(p);
	p->lhlo[0] = '\0';
	p->state = ST_INIT;
	pst_lmtp_greet(p);
}

static const struct command {
	const char *verb;
	cmd_fn *fn;
} commands[] = {
	{ "LHLO", cmd_lhlo },
	{ "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt },
	{ "DATA", cmd_data },
	{ "RSET", cmd_rset },
	{ "NOOP", cmd_noop },
	{ "QUIT", cmd_quit },
	{ "VRFY", cmd_vrfy },
	{ "XFORWARD", cmd_xforward },
	{ "XCLIENT", cmd_xclient },
	{ "HELO", cmd_helo },
	{ "EHLO", cmd_helo },
};

/* One complete command line (CRLF stripped; len counts NULs in it). */
static void command(pst_lmtp *p, char *line, size_t len)
{
	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ' && line[vlen] != '\t')
		vlen++;
	const char *arg = skip_sp(line + vlen);
	/* Trailing white space is not part of the argument. */
	size_t off = (size_t)(arg - line);
	while (len > off && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strlen(commands[i].verb) == vlen && strncasecmp(line, commands[i].verb, vlen) == 0 &&
		    memchr(line, '\0', vlen) == NULL) {
			commands[i].fn(p, arg, len - (size_t)(arg - line));
			return;
		}
	}
	reply(p, 500, "5.5.2", "Error: command not recognized");
}

/* ---- DATA ------------------------------------------------------------- */

/* Keep n message bytes unless a limit was hit. */
static void data_put(pst_lmtp *p, const char *s, size_t n)
{
	if (p->oversize || p->nomem)
		return;
	if (p->msg.len + n > p->lim.max_size) {
		p->oversize = 1;
		pst_buf_free(&p->msg);
		return;
	}
	if (pst_buf_append(&p->msg, s, n) < 0) {
		p->nomem = 1;
		pst_buf_free(&p->msg);
	}
}

/* A line of the message ended (its LF was just stored): count header
 * fields and bytes until the empty line. */
static void data_line_end(pst_lmtp *p)
{
	if (p->oversize || p->nomem || p->header_done) {
		p->line_start = p->msg.len;
		return;
	}
	const char *l = p->msg.data + p->line_start;
	size_t n = p->msg.len - p->line_start;
	if (n == 1 || (n == 2 && l[0] == '\r'))
		p->header_done = 1;
	else if (l[0] != ' ' && l[0] != '\t')
		p->header_fields++;
	if (p->header_fields > p->lim.max_header_fields || p->msg.len > p->lim.max_header_bytes)
		p->header_over = 1;
	p->line_start = p->msg.len;
}

static void data_end(pst_lmtp *p)
{
	if (!p->header_done && !p->oversize && p->msg.len > p->lim.max_header_bytes)
		p->header_over = 1;
	pst_lmtp_reply *rs = calloc(p->nrcpts, sizeof *rs);
	size_t n = p->nrcpts;
	for (size_t i = 0; rs && i < n; i++) {
		if (p->oversize)
			pst_lmtp_reply_set(&rs[i], 552, "5.3.4", "Error: message file too big");
		else if (p->header_over && p->lim.header_reply_554)
			pst_lmtp_reply_set(&rs[i], 554, "5.6.0", "Error: header section too big");
		else if (p->header_over)
			pst_lmtp_reply_set(&rs[i], 552, "5.3.4", "Error: header section too big");
		else if (p->nomem)
			pst_lmtp_reply_set(&rs[i], 451, "4.3.1", "Error: out of memory");
		else
			pst_lmtp_reply_set(&rs[i], 451, "4.3.0", "Error: not delivered");
	}
	if (rs && !p->oversize && !p->header_over && !p->nomem && p->ops.data) {
		pst_lmtp_txn t;
		txn_view(p, &t);
		t.data = pst_buf_str(&p->msg);
		t.len = p->msg.len;
		p->ops.data(p->ctx, &t, rs);
	}
	char buf[PST_LMTP_REPLY_TEXT + 32];
	for (size_t i = 0; i < n; i++) {
		pst_lmtp_reply fallback;
		pst_lmtp_reply_set(&fallback, 451, "4.3.1", "Error: out of memory");
		size_t len = pst_lmtp_reply_format(rs ? &rs[i] : &fallback, buf, sizeof buf);
		p->ops.write(p->ctx, buf, len);
	}
	free(rs);
	txn_reset(p);
}

/* Feed DATA bytes; returns how many were used (up to the final dot). A
 * line ends at CRLF only (RFC 5321 2.3.8): a bare LF is not a line end, so
 * "\n.\n" or "\n.\r\n" neither ends DATA nor loses a stuffing dot; only
 * CRLF "." CRLF ends it (the SMTP smuggling of a second message). */
static size_t data_feed(pst_lmtp *p, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && p->state == ST_DATA) {
		char c = s[i];
		switch (p->dstate) {
		case D_BOL:
			if (c == '.') {
				p->dstate = D_DOT;
				i++;
				break;
			}
			p->dstate = D_MID;
			p->mid_cr = 0;
			break;
		case D_DOT:
			if (c == '\r') {
				p->dstate = D_DOTCR;
				i++;
			} else {
				p->dstate = D_MID;
				p->mid_cr = 0;
			}
			break;
		case D_DOTCR:
			if (c == '\n') {
				i++;
				data_end(p);
			} else {
				data_put(p, "\r", 1);
				p->dstate = D_MID;
				p->mid_cr = 1;
			}
			break;
		case D_MID: {
			const char *lf = memchr(s + i, '\n', n - i);
			size_t take = lf ? (size_t)(lf - (s + i)) + 1 : n - i;
			int crlf = take >= 2 ? s[i + take - 2] == '\r' : p->mid_cr;
			data_put(p, s + i, take);
			i += take;
			if (lf) {
				data_line_end(p);
				if (crlf)
					p->dstate = D_BOL;
				p->mid_cr = 0;
			} else
				p->mid_cr = s[i - 1] == '\r';
			break;
		}
		}
	}
	return i;
}

/* ---- Command lines ---------------------------------------------------- */

/* Feed command bytes up to and including one LF; returns bytes used. */
static size_t line_feed(pst_lmtp *p, const char *s, size_t n)
{
	const char *lf = memchr(s, '\n', n);
	size_t take = lf ? (size_t)(lf - s) + 1 : n;
	size_t body = lf ? take - 1 : take;
	if (p->linelen + body > PST_LMTP_MAX_LINE - 1)
		p->overlong = 1;
	else {
		memcpy(p->line + p->linelen, s, body);
		p->linelen += body;
	}
	if (lf == NULL)
		return take;
	size_t len = p->linelen;
	if (len > 0 && p->line[len - 1] == '\r')
		len--;
	p->line[len] = '\0';
	int overlong = p->overlong;
	p->linelen = 0;
	p->overlong = 0;
	if (overlong)
		reply(p, 500, "5.5.2", "Error: line too long");
	else
		command(p, p->line, len);
	if (p->state != ST_CLOSED && p->errors >= PST_LMTP_MAX_ERRORS) {
		reply(p, 421, "4.7.0", "Error: too many errors");
		p->state = ST_CLOSED;
	}
	return take;
}

int pst_lmtp_feed(pst_lmtp *p, const char *bytes, size_t n)
{
	size_t i = 0;
	while (i < n && p->state != ST_CLOSED) {
		if (p->state == ST_DATA)
			i += data_feed(p, bytes + i, n - i);
		else
			i += line_feed(p, bytes + i, n - i);
	}
	return p->state == ST_CLOSED ? PST_LMTP_CLOSE : PST_LMTP_OPEN;
}
