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

static void json_kv(pst_buf *b, const char *key, const char *val)
{
	pst_buf_printf(b, ",\"%s\":", key);
	if (val)
		pst_buf_json_str(b, val, strlen(val));
	else
		pst_buf_puts(b, "null");
}

static const char *or_null(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* time, host, stage and the envelope */
static void log_head(pst_buf *b, const pst_milter_logenv *e, const char *stage)
{
	pst_buf_log_start(b);
	json_kv(b, "host", e->host);
	json_kv(b, "stage", stage);
	json_kv(b, "client_ip", or_null(e->client_ip));
	json_kv(b, "client_name", e->client_name);
	json_kv(b, "helo", e->helo);
	json_kv(b, "mail_from", e->mail_from);
}

static void log_reply(pst_buf *b, const pst_milter_logreply *r)
{
	if (r == NULL || r->code == 0) {
		pst_buf_puts(b, ",\"reply\":null");
		return;
	}
	pst_buf_printf(b, ",\"reply\":{\"code\":%d", r->code);
	json_kv(b, "enhanced", r->enhanced);
	json_kv(b, "text", r->text);
	pst_buf_putc(b, '}');
}

static void log_end(pst_buf *b, const char *why)
{
	json_kv(b, "why", or_null(why));
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
	json_kv(&b, "decision", decision);
	json_kv(&b, "rule", or_null(rule));
	pst_buf_printf(&b, ",\"mixed\":%s", o && o->mixed ? "true" : "false");
	log_reply(&b, reply);
	pst_buf_printf(&b, ",\"edits\":%zu", o ? o->nops : 0);
	json_kv(&b, "auth", o ? or_null(o->auth) : NULL);
	log_end(&b, why);
}

void pst_milter_log_rcpt(const pst_milter_logenv *e, const char *rcpt,
                         const pst_milter_rcpt_outcome *r, const char *why)
{
	pst_buf b = PST_BUF_INIT;
	pst_milter_logreply reply = { r->o.code, r->o.enhanced, r->o.text };
	log_head(&b, e, "rcpt");
	json_kv(&b, "rcpt", rcpt);
	json_kv(&b, "tenant", or_null(r->tenant));
	json_kv(&b, "decision", r->decision);
	json_kv(&b, "rule", or_null(r->o.rule));
	log_reply(&b, &reply);
	pst_buf_printf(&b, ",\"dns\":%u", r->dns_queries);
	log_end(&b, why);
}
