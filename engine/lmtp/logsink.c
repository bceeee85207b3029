/*
 * logsink.c: where the LMTP server's JSON lines go (--log FILE, syslog or
 * stderr), and the counters printed on SIGUSR1.
 *
 * Each line is written with one writev() of the line and its newline
 * under a lock (pst_write_line, which finishes a short write), so lines of
 * concurrent sessions never interleave; a file is opened with O_APPEND.
 * A failed write is counted, never fatal: logging must not stop mail.
 * Syslog lines go to LOG_MAIL at LOG_INFO.
 *
 * pst_lmtp_log_reopen (SIGUSR2, for logrotate) opens the file by its name
 * again and swaps the descriptor under the lock, so a renamed file gets no
 * more lines; when the name cannot be opened the old descriptor stays.
 * Either way a "reopen" event says what happened, in the file now used.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lmtp/server_private.h"
#include "util/buf.h"
#include "util/fdio.h"

int pst_lmtp_log_open(struct pst_lmtp_srv *srv)
{
	const char *log = srv->conf.log ? srv->conf.log : "stderr";
	pthread_mutex_init(&srv->log_lock, NULL);
	srv->log_fd = -1;
	if (strcmp(log, "stderr") == 0) {
		srv->log_kind = PST_LOG_STDERR;
		srv->log_fd = STDERR_FILENO;
	} else if (strcmp(log, "syslog") == 0) {
		srv->log_kind = PST_LOG_SYSLOG;
		openlog("postern", LOG_PID | LOG_NDELAY, LOG_MAIL);
	} else {
		srv->log_kind = PST_LOG_FILE;
		srv->log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (srv->log_fd < 0) {
			fprintf(stderr, "postern lmtp: cannot open the log %s: %s\n", log, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int pst_lmtp_log_reopen(struct pst_lmtp_srv *srv)
{
	int err = 0;
	if (srv->log_kind == PST_LOG_FILE) {
		int fd = open(srv->conf.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			err = errno;
		} else {
			pthread_mutex_lock(&srv->log_lock);
			int old = srv->log_fd;
			srv->log_fd = fd;
			pthread_mutex_unlock(&srv->log_lock);
			close(old);
		}
	} else if (srv->log_kind == PST_LOG_SYSLOG) {
		closelog();
		openlog("postern", LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
	const char *log = srv->conf.log ? srv->conf.log : "stderr";
	pst_buf name = PST_BUF_INIT, why = PST_BUF_INIT;
	pst_buf_json_str(&name, log, strlen(log));
	if (err) {
		const char *text = strerror(err);
		pst_buf_json_str(&why, text, strlen(text));
		pst_lmtp_log_event(srv, "reopen", ",\"ok\":false,\"log\":%s,\"error\":%s",
		                   pst_buf_str(&name), pst_buf_str(&why));
	} else {
		pst_lmtp_log_event(srv, "reopen", ",\"ok\":true,\"log\":%s", pst_buf_str(&name));
	}
	pst_buf_free(&name);
	pst_buf_free(&why);
	return err ? -1 : 0;
}

void pst_lmtp_log_close(struct pst_lmtp_srv *srv)
{
	if (srv->log_kind == PST_LOG_FILE && srv->log_fd >= 0)
		close(srv->log_fd);
	if (srv->log_kind == PST_LOG_SYSLOG)
		closelog();
	srv->log_fd = -1;
	pthread_mutex_destroy(&srv->log_lock);
}

void pst_lmtp_log_line(struct pst_lmtp_srv *srv, const char *line, size_t len)
{
	if (srv->log_kind == PST_LOG_SYSLOG) {
		syslog(LOG_INFO, "%.*s", (int)len, line);
		return;
	}
	pthread_mutex_lock(&srv->log_lock);
	int rc = pst_write_line(srv->log_fd, line, len);
	pthread_mutex_unlock(&srv->log_lock);
	if (rc < 0) {
		pthread_mutex_lock(&srv->lock);
		srv->cnt.errors++;
		pthread_mutex_unlock(&srv->lock);
	}
}

void pst_lmtp_log_event(struct pst_lmtp_srv *srv, const char *event, const char *fmt, ...)
{
	pst_buf b = PST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = pst_buf_log_event(&b, event, fmt, ap);
	va_end(ap);
	if (rc == 0)
		pst_lmtp_log_line(srv, b.data, b.len);
	pst_buf_free(&b);
}

static const char *const result_names[PST_CNT_RESULTS] = {
	"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy", "other"
};
static const char *const method_names[PST_AUTH_METHODS] = { "spf", "dkim", "dmarc" };

static void put_actions(pst_buf *b, const char *name, const unsigned long *v)
{
	pst_buf_printf(b, ",\"%s\":{", name);
	for (int a = 0; a < PST_NACTIONS; a++)
		pst_buf_printf(b, "%s\"%s\":%lu", a ? "," : "", pst_action_name((pst_action)a), v[a]);
	pst_buf_putc(b, '}');
}

void pst_lmtp_log_stats(struct pst_lmtp_srv *srv)
{
	struct pst_lmtp_counters c;
	unsigned active;
	pthread_mutex_lock(&srv->lock);
	c = srv->cnt;
	active = srv->active;
	pthread_mutex_unlock(&srv->lock);
	pst_buf b = PST_BUF_INIT;
	pst_buf_printf(&b, ",\"active\":%u,\"sessions\":%lu,\"refused\":%lu,\"timeouts\":%lu"
	               ",\"messages\":%lu,\"recipients\":%lu,\"delivered\":%lu,\"deferred\":%lu"
	               ",\"failed\":%lu,\"errors\":%lu,\"reloads\":%lu,\"reload_failures\":%lu",
	               active, c.sessions, c.refused, c.timeouts, c.messages, c.recipients,
	               c.delivered, c.deferred, c.failed, c.errors, c.reloads, c.reload_failures);
	put_actions(&b, "decisions", c.decision);
	put_actions(&b, "applied", c.applied);
	pst_buf_puts(&b, ",\"auth\":{");
	for (int m = 0; m < PST_AUTH_METHODS; m++) {
		pst_buf_printf(&b, "%s\"%s\":{", m ? "," : "", method_names[m]);
		for (int r = 0; r < PST_CNT_RESULTS; r++)
			pst_buf_printf(&b, "%s\"%s\":%lu", r ? "," : "", result_names[r], c.auth[m][r]);
		pst_buf_putc(&b, '}');
	}
	pst_buf_putc(&b, '}');
	pst_lmtp_store_stats_json(srv, &b);
	pst_lmtp_log_event(srv, "stats", "%s", pst_buf_str(&b));
	pst_buf_free(&b);
}
