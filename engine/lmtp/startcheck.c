/*
 * startcheck.c: the warnings postern lmtp gives at start about a set-up
 * that runs but is unsafe or broken (see server_private.h). Each one goes
 * to stderr ("postern lmtp: warning: ...") and to the log as a "warning"
 * event (postern-json(5)); the server runs on either way.
 *
 * XFORWARD and XCLIENT trusted from address ranges (--xforward-from, by
 * default 127.0.0.0/8 and ::1) while a listener is TCP: any process that
 * can connect from such an address can claim any client IP. The event
 * names the TCP listeners ("listen") and the ranges ("xforward_from").
 *
 * A --deliver lmtp: target that does not take one connection within
 * PST_LMTP_PROBE_MS (so start waits at most that long): every delivery
 * would then be deferred (451). The event names the target ("deliver").
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lmtp/server_private.h"
#include "util/buf.h"

#define PST_LMTP_PROBE_MS 2000

/* Append ,"key":[...] of the n strings. */
static void json_strings(pst_buf *b, const char *key, const char *const *v, size_t n)
{
	pst_buf_printf(b, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			pst_buf_putc(b, ',');
		pst_buf_json_str(b, v[i], strlen(v[i]));
	}
	pst_buf_putc(b, ']');
}

/* One warning: text on stderr, and the event with the members in json
 * (",..." or ""). */
static void warn(struct pst_lmtp_srv *srv, const char *json, const char *text)
{
	pst_buf t = PST_BUF_INIT;
	fprintf(stderr, "postern lmtp: warning: %s\n", text);
	pst_buf_json_str(&t, text, strlen(text));
	pst_lmtp_log_event(srv, "warning", "%s,\"warning\":%s", json ? json : "", pst_buf_str(&t));
	pst_buf_free(&t);
}

static void warn_xforward_over_tcp(struct pst_lmtp_srv *srv)
{
	const char *tcp[PST_LMTP_MAX_LISTEN];
	size_t ntcp = 0;
	for (size_t i = 0; i < srv->conf.nlisten && ntcp < PST_LMTP_MAX_LISTEN; i++)
		if (strncmp(srv->conf.listen[i], "unix:", 5) != 0)
			tcp[ntcp++] = srv->conf.listen[i];
	if (ntcp == 0 || srv->nxfwd == 0)
		return;
	char ranges[PST_LMTP_MAX_XFWD_CIDRS][PST_CIDR_FORMAT_LEN];
	const char *rp[PST_LMTP_MAX_XFWD_CIDRS];
	pst_buf list = PST_BUF_INIT, json = PST_BUF_INIT, text = PST_BUF_INIT;
	for (size_t i = 0; i < srv->nxfwd; i++) {
		rp[i] = pst_cidr_format(&srv->xfwd[i], ranges[i], sizeof ranges[i]);
		pst_buf_printf(&list, "%s%s", i ? ", " : "", rp[i]);
	}
	json_strings(&json, "listen", tcp, ntcp);
	json_strings(&json, "xforward_from", rp, srv->nxfwd);
	pst_buf_printf(&text, "XFORWARD and XCLIENT are trusted from %s over a TCP listener: any "
	               "process that can connect from there can claim any client IP; listen on "
	               "a Unix socket (--listen unix:PATH) with --xforward-from unix",
	               pst_buf_str(&list));
	warn(srv, pst_buf_str(&json), pst_buf_str(&text));
	pst_buf_free(&list);
	pst_buf_free(&json);
	pst_buf_free(&text);
}

static void warn_unreachable_target(struct pst_lmtp_srv *srv)
{
	char why[256] = "";
	if (srv->deliver == NULL || pst_deliver_probe(srv->deliver, PST_LMTP_PROBE_MS, why, sizeof why) == 0)
		return;
	pst_buf json = PST_BUF_INIT, text = PST_BUF_INIT;
	const char *target = srv->conf.deliver;
	pst_buf_printf(&text, "--deliver %s: the target does not answer (%s): deliveries are "
	               "deferred (451) until it does", target, why[0] ? why : "no connection");
	pst_buf_puts(&json, ",\"deliver\":");
	pst_buf_json_str(&json, target, strlen(target));
	warn(srv, pst_buf_str(&json), pst_buf_str(&text));
	pst_buf_free(&json);
	pst_buf_free(&text);
}

void pst_lmtp_start_warnings(struct pst_lmtp_srv *srv)
{
	warn_xforward_over_tcp(srv);
	warn_unreachable_target(srv);
}
