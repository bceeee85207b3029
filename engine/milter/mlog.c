/*
 * mlog.c: the JSON lines of postern milter's decisions (mlog.h), one
 * object a line, written whole through supervise.c's sink (a file,
 * stderr or syslog). Nothing of libmilter here: milter.c hands over what
 * the callbacks gathered. A line that cannot be built (out of memory) is
 * not written: logging never stops mail.
 */
#include "config.h"

#include <string.h>

#include "milter/mlog.h"
#include "milter/supervise.h"
#include "util/buf.h"

#define LOG_RCPTS_MAX 32        /* recipients named in a line */

static const char *or_null(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* time, host, stage and the envelope */
static void log_head(pst_buf *b, const pst_milter_logenv *e, const char *stage)
{
	pst_buf_log_start(b);
	pst_buf_json_member(b, "host", e->host);
	pst_buf_json_member(b, "stage", stage);
	pst_buf_json_member(b, "client_ip", or_null(e->client_ip));
	pst_buf_json_member(b, "client_name", e->client_name);
	pst_buf_json_member(b, "helo", e->helo);
	pst_buf_json_member(b, "mail_from", e->mail_from);
}

static void log_reply(pst_buf *b, const pst_milter_logreply *r)
{
	if (r == NULL || r->code == 0) {
		pst_buf_puts(b, ",\"reply\":null");
		return;
	}
	pst_buf_printf(b, ",\"reply\":{\"code\":%d", r->code);
	pst_buf_json_member(b, "enhanced", r->enhanced);
	pst_buf_json_member(b, "text", r->text);
	pst_buf_putc(b, '}');
}

static void log_end(pst_buf *b, const char *why)
{
	pst_buf_json_member(b, "why", or_null(why));
	pst_buf_putc(b, '}');
	if (b->data)
		pst_milter_log_write(b->data, b->len);
	pst_buf_free(b);
}

void pst_milter_log_eom(const pst_milter_logenv *e, const char *decision, const char *rule,
                        const pst_milter_logreply *reply, const pst_milter_outcome *o,
                        const char *why)
{
	pst_buf b = PST_BUF_INIT;
	log_head(&b, e, "eom");
	pst_buf_puts(&b, ",\"rcpts\":[");
	for (size_t i = 0; i < e->nrcpts && i < LOG_RCPTS_MAX; i++) {
		pst_buf_puts(&b, i ? "," : "");
		pst_buf_json_str(&b, e->rcpts[i], strlen(e->rcpts[i]));
	}
	pst_buf_printf(&b, "],\"nrcpts\":%zu,\"size\":%zu", e->nrcpts, e->size);
	pst_buf_json_member(&b, "decision", decision);
	pst_buf_json_member(&b, "rule", or_null(rule));
	pst_buf_printf(&b, ",\"mixed\":%s", o && o->mixed ? "true" : "false");
	log_reply(&b, reply);
	pst_buf_printf(&b, ",\"edits\":%zu", o ? o->nops : 0);
	pst_buf_json_member(&b, "auth", o ? or_null(o->auth) : NULL);
	log_end(&b, why);
}

void pst_milter_log_rcpt(const pst_milter_logenv *e, const char *rcpt,
                         const pst_milter_rcpt_outcome *r, const char *why)
{
	pst_buf b = PST_BUF_INIT;
	pst_milter_logreply reply = { r->o.code, r->o.enhanced, r->o.text };
	log_head(&b, e, "rcpt");
	pst_buf_json_member(&b, "rcpt", rcpt);
	pst_buf_json_member(&b, "tenant", or_null(r->tenant));
	pst_buf_json_member(&b, "decision", r->decision);
	pst_buf_json_member(&b, "rule", or_null(r->o.rule));
	log_reply(&b, &reply);
	pst_buf_printf(&b, ",\"dns\":%u", r->dns_queries);
	log_end(&b, why);
}
