/*
 * metrics_http.c: the HTTP side of the Prometheus endpoints (see
 * metrics_http.h), moved out of postern lmtp's metrics.c so that postern
 * milter serves its own counters the same way.
 *
 * One thread of its own polls the metrics socket and a stop pipe, and
 * answers one client at a time over minimal HTTP/1.0: "GET /metrics" (a
 * query string is ignored) gets 200 with Content-Type "text/plain;
 * version=0.0.4; charset=utf-8" and what the render callback wrote;
 * another path 404, another method 405 (Allow: GET), a malformed request
 * line 400, a request over PST_METRICS_MAX_REQUEST bytes before its empty
 * line 431, one not complete within PST_METRICS_TIMEOUT_MS 408, a render
 * that fails 500. Every answer closes the connection (what the client
 * still sends is read and dropped for at most 500 ms, so that a reset does
 * not eat the answer). The socket is nonblocking and every wait is
 * bounded, so a slow client holds this thread (and the next scrape) at
 * most PST_METRICS_TIMEOUT_MS to read and as long to write, and nothing
 * else: the render callback is the only code shared with the server.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lmtp/metrics.h"
#include "lmtp/metrics_http.h"
#include "store/store.h"

struct pst_metrics_http {
	int fd;
	int is_unix;
	char path[sizeof ((struct sockaddr_un *)0)->sun_path]; /* the Unix socket to unlink */
	int stop[2];                    /* a pipe: written to stop the thread */
	pthread_t thread;
	int running;
	pst_metrics_render_fn render;
	void *arg;
	const char *prog;
};

/* ---- The exposition text's pieces ---------------------------------------- */

void pst_metrics_family(pst_buf *b, const char *name, const char *type, const char *help)
{
	pst_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void pst_metrics_one(pst_buf *b, const char *name, const char *type, const char *help,
                     unsigned long long v)
{
	pst_metrics_family(b, name, type, help);
	pst_buf_printf(b, "%s %llu\n", name, v);
}

void pst_metrics_store(pst_buf *b, const struct pst_store_stats *st)
{
	pst_metrics_family(b, "postern_report_store_rows_total", "counter",
	    "DMARC report store rows by outcome (written, dropped: queue full, failed: store error).");
	pst_buf_printf(b, "postern_report_store_rows_total{result=\"written\"} %lu\n"
	               "postern_report_store_rows_total{result=\"dropped\"} %lu\n"
	               "postern_report_store_rows_total{result=\"failed\"} %lu\n",
	               st->written, st->dropped, st->failed);
	pst_metrics_one(b, "postern_report_store_queued", "gauge",
	    "DMARC report store rows waiting for the writer.", (unsigned long long)st->queued);
}

/* ---- HTTP ------------------------------------------------------------ */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out or failed. */
static int wait_fd(int fd, short events, long deadline)
{
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0 || errno != EINTR)
			return 0;
	}
}

static void send_all(int fd, const char *p, size_t len, long deadline)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (!wait_fd(fd, POLLOUT, deadline))
				return;
		} else
			return;
	}
}

static void answer(int fd, const char *status, const char *extra, const char *ctype,
                   const char *body, size_t len, long deadline)
{
	char head[256];
	int n = snprintf(head, sizeof head, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	                 "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, ctype, len, extra);
	if (n < 0 || (size_t)n >= sizeof head)
		return;
	send_all(fd, head, (size_t)n, deadline);
	send_all(fd, body, len, deadline);
}

static void answer_text(int fd, const char *status, const char *extra, long deadline)
{
	char body[64];
	int n = snprintf(body, sizeof body, "%s\n", status);
	answer(fd, status, extra, "text/plain; charset=utf-8", body, (size_t)n, deadline);
}

/* Read the request up to its empty line into buf: its length, 0 when the
 * client left or timed out (*status set for 408), -1 when it is too long. */
static ssize_t read_request(int fd, char *buf, size_t cap, long deadline, const char **status)
{
	size_t len = 0;
	*status = NULL;
	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
				return (ssize_t)len;
			if (len == cap - 1)
				return -1;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return 0;
		if (!wait_fd(fd, POLLIN, deadline)) {
			*status = "408 Request Timeout";
			return 0;
		}
	}
}

/* "GET /metrics HTTP/1.x": the status, or NULL for the metrics. */
static const char *route(const char *req)
{
	size_t ml = strcspn(req, " \r\n");
	if (req[ml] != ' ')
		return "400 Bad Request";
	const char *target = req + ml + 1;
	size_t tl = strcspn(target, " \r\n");
	if (target[tl] != ' ' || strncmp(target + tl + 1, "HTTP/1.", 7) != 0)
		return "400 Bad Request";
	if (ml != 3 || strncmp(req, "GET", 3) != 0)
		return "405 Method Not Allowed";
	size_t pl = strcspn(target, "? ");
	if (pl != 8 || strncmp(target, "/metrics", 8) != 0)
		return "404 Not Found";
	return NULL;
}

/* Close fd after the answer without losing it: a client whose request was
 * not read whole would get a reset that can discard the answer, so the
 * rest is read and dropped first (at most 64 KiB, for at most 500 ms). */
static void linger_close(int fd)
{
	char sink[4096];
	long deadline = now_ms() + 500;
	size_t total = 0;
	if (shutdown(fd, SHUT_WR) == 0)
		while (total < 65536) {
			ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
			if (n > 0)
				total += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
			         !wait_fd(fd, POLLIN, deadline))
				break;
		}
	close(fd);
}

static void serve_client(pst_metrics_http *m, int fd)
{
	char req[PST_METRICS_MAX_REQUEST + 1];
	long deadline = now_ms() + PST_METRICS_TIMEOUT_MS;
	const char *status;
	ssize_t n = read_request(fd, req, sizeof req, deadline, &status);
	if (n < 0) {
		answer_text(fd, "431 Request Header Fields Too Large", "", now_ms() + PST_METRICS_TIMEOUT_MS);
		return;
	}
	if (n == 0) {
		if (status)
			answer_text(fd, status, "", now_ms() + PST_METRICS_TIMEOUT_MS);
		return;
	}
	deadline = now_ms() + PST_METRICS_TIMEOUT_MS;
	if ((status = route(req)) != NULL) {
		answer_text(fd, status, strncmp(status, "405", 3) == 0 ? "Allow: GET\r\n" : "",
		            deadline);
		return;
	}
	pst_buf b = PST_BUF_INIT;
	if (m->render(m->arg, &b) < 0)
		answer_text(fd, "500 Internal Server Error", "", deadline);
	else
		answer(fd, "200 OK", "", "text/plain; version=0.0.4; charset=utf-8", b.data, b.len,
		       deadline);
	pst_buf_free(&b);
}

static void *metrics_main(void *arg)
{
	pst_metrics_http *m = arg;
	struct pollfd p[2] = { { .fd = m->fd, .events = POLLIN }, { .fd = m->stop[0], .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		serve_client(m, fd);
		linger_close(fd);
	}
	return NULL;
}

/* ---- Life cycle ------------------------------------------------------- */

int pst_metrics_http_new(int fd, const char *unix_path, pst_metrics_render_fn render, void *arg,
                         const char *prog, pst_metrics_http **out)
{
	pst_metrics_http *m = calloc(1, sizeof *m);
	*out = NULL;
	if (m == NULL) {
		close(fd);
		return -1;
	}
	m->fd = fd;
	m->render = render;
	m->arg = arg;
	m->prog = prog;
	m->stop[0] = m->stop[1] = -1;
	if (unix_path) {
		m->is_unix = 1;
		snprintf(m->path, sizeof m->path, "%s", unix_path);
	}
	if (pipe2(m->stop, O_CLOEXEC) < 0) {
		fprintf(stderr, "%s: --metrics: %s\n", prog, strerror(errno));
		pst_metrics_http_stop(&m);
		return -1;
	}
	*out = m;
	return 0;
}

int pst_metrics_http_start(pst_metrics_http *m)
{
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);
	if (rc == 0) {
		(void)pthread_attr_setstacksize(&attr, 256 * 1024);
		rc = pthread_create(&m->thread, &attr, metrics_main, m);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		fprintf(stderr, "%s: --metrics: cannot start its thread: %s\n", m->prog, strerror(rc));
		return -1;
	}
	m->running = 1;
	return 0;
}

void pst_metrics_http_stop(pst_metrics_http **mp)
{
	pst_metrics_http *m = *mp;
	if (m == NULL)
		return;
	if (m->running) {
		ssize_t w = write(m->stop[1], "x", 1);
		(void)w;
		pthread_join(m->thread, NULL);
	}
	if (m->fd >= 0) {
		close(m->fd);
		if (m->is_unix)
			unlink(m->path);
	}
	for (int i = 0; i < 2; i++)
		if (m->stop[i] >= 0)
			close(m->stop[i]);
	free(m);
	*mp = NULL;
}
