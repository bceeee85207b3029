/*
 * relay.c: delivery to a downstream LMTP server (RFC 2033), the backend of
 * deliver.h for lmtp:HOST:PORT, lmtp:[v6]:PORT and lmtp:unix:PATH.
 *
 * Recipients whose copies are byte-identical (same bytes, same folder) go
 * in one downstream transaction: MAIL FROM (with SIZE=, BODY=8BITMIME and
 * SMTPUTF8 when advertised and needed), one RCPT TO each (a refusal is that
 * recipient's reply; pipelined when PIPELINING is advertised), DATA with CRLF line endings and dot-stuffing, then one
 * reply per accepted recipient, read in RCPT order. A recipient gets 250
 * only when the downstream said 250 for it. A connection that cannot be
 * made answers 451 4.4.1, a reply that does not come within timeout_ms
 * 451 4.4.2, a connection lost or a reply that does not parse 451 4.4.2,
 * for every recipient of the group still waiting. A 421 from the downstream
 * (to MAIL, RCPT, DATA or after it) is 451 4.4.2 for the recipients it
 * answers, never passed on as it stands, and the connection is not pooled;
 * a 3xx where a final reply is due (anything but 354 to DATA) is 451 4.3.0
 * naming it, and the connection is not pooled either.
 *
 * Connections are kept in a small pool (mutex-protected) and reused. A
 * pooled connection is looked at without a round trip before a
 * transaction: one the downstream closed, or that has bytes waiting (a 421
 * at its idle timeout), is dropped; one left inside a transaction (every
 * recipient refused) gets RSET first. If a reused connection still turns out
 * dead at the first reply of a transaction (nothing was answered, so
 * nothing was stored), the transaction is run once more on a new
 * connection. A connection that saw any error is closed, never pooled.
 *
 * Sockets are blocking, with SO_RCVTIMEO and SO_SNDTIMEO of timeout_ms
 * set once connected: each recv() or send() waits for the downstream by
 * itself, without a poll() before it (one system call per read, not two).
 *
 * Quarantine: a copy for a folder gets "X-Postern-Action: quarantine;
 * folder=NAME" at the top and, with a recipient delimiter, is addressed to
 * local+NAME@domain.
 */
#include "deliver/deliver_private.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fault.h"

#define RELAY_MAX_IDLE   32
#define RELAY_LINE_MAX   2048

enum { CAP_SIZE = 1, CAP_8BITMIME = 2, CAP_SMTPUTF8 = 4, CAP_PIPELINING = 8 };

typedef enum io_status { IO_OK = 0, IO_TIMEOUT, IO_CLOSED, IO_BROKEN } io_status;

typedef struct relay_conn {
	int fd;
	unsigned caps;
	char rbuf[8192];
	size_t rpos, rlen;
	int reused;                   /* taken from the pool */
	int open_txn;                 /* MAIL accepted, the transaction not ended */
	struct relay_conn *next;
} relay_conn;

typedef struct pst_relay {
	int is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];
	char port[16];
	char spec[400];
	pthread_mutex_t mu;
	relay_conn *idle;
	size_t nidle;
	unsigned long connections;    /* atomic */
	unsigned long transactions;   /* atomic */
} pst_relay;

/* ---- Sockets ------------------------------------------------------------ */

/* A connected socket made blocking, each recv()/send() bounded by
 * timeout_ms (0 would mean forever, so at least 1 ms). 0 / -1. */
static int set_timeouts(int fd, unsigned timeout_ms)
{
	struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000),
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
	int fl = fcntl(fd, F_GETFL);

	if (timeout_ms == 0)
		tv.tv_usec = 1000;
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return -1;
	return 0;
}

static io_status wait_fd(int fd, short events, unsigned timeout_ms)
{
	struct pollfd p = { fd, events, 0 };

	for (;;) {
		int rc = poll(&p, 1, (int)timeout_ms);
		if (rc > 0)
			return IO_OK;
		if (rc == 0)
			return IO_TIMEOUT;
		if (errno != EINTR)
			return IO_BROKEN;
	}
}

/* All of p; a send() that waits past SO_SNDTIMEO is a timeout. */
static io_status send_all(relay_conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = pst_fault_send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return IO_TIMEOUT;
			return IO_CLOSED;
		}
		p += w;
		n -= (size_t)w;
	}
	return IO_OK;
}

/* One line without its CRLF into line (NUL-terminated); a recv() that
 * waits past SO_RCVTIMEO is a timeout. */
static io_status read_line(relay_conn *c, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		while (c->rpos < c->rlen) {
			char ch = c->rbuf[c->rpos++];
			if (ch == '\n') {
				if (n > 0 && line[n - 1] == '\r')
					n--;
				line[n] = '\0';
				return IO_OK;
			}
			if (n + 1 >= cap)
				return IO_BROKEN;
			line[n++] = ch;
		}
		ssize_t r = pst_fault_recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return IO_TIMEOUT;
		if (r <= 0)
			return IO_CLOSED;
		c->rpos = 0;
		c->rlen = (size_t)r;
	}
}

static void note_cap(const char *kw, unsigned *caps)
{
	if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' '))
		*caps |= CAP_SIZE;
	else if (strcasecmp(kw, "8BITMIME") == 0)
		*caps |= CAP_8BITMIME;
	else if (strcasecmp(kw, "SMTPUTF8") == 0)
		*caps |= CAP_SMTPUTF8;
	else if (strcasecmp(kw, "PIPELINING") == 0)
		*caps |= CAP_PIPELINING;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Split "X.Y.Z rest" off text when it starts with an enhanced code. */
static const char *split_enhanced(const char *text, char *enh, size_t enhlen)
{
	size_t i = 0;

	if (!is_digit(text[0]) || text[1] != '.')
		return NULL;
	i = 2;
	while (is_digit(text[i]))
		i++;
	if (text[i] != '.' || !is_digit(text[i + 1]))
		return NULL;
	i++;
	while (is_digit(text[i]))
		i++;
	if ((text[i] != ' ' && text[i] != '\0') || i >= enhlen)
		return NULL;
	memcpy(enh, text, i);
	enh[i] = '\0';
	return text[i] == ' ' ? text + i + 1 : text + i;
}

/* One reply, possibly multi-line, into *r. With caps, the lines after the
 * first are EHLO/LHLO keywords. */
static io_status read_reply(relay_conn *c, pst_reply *r, unsigned *caps)
{
	char line[RELAY_LINE_MAX];
	int first = 1, code = 0;

	for (int lines = 0; lines < 100; lines++) {
		io_status s = read_line(c, line, sizeof line);
		if (s != IO_OK)
			return s;
		if (!is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])
		    || (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
			return IO_BROKEN;
		int this = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if ((!first && this != code) || this < 200 || this > 599)
			return IO_BROKEN;
		code = this;
		const char *text = line[3] ? line + 4 : line + 3;
		if (caps != NULL && !first)
			note_cap(text, caps);
		first = 0;
		if (line[3] != '-') {
			char enh[sizeof r->enhanced];
			const char *rest = split_enhanced(text, enh, sizeof enh);
			r->code = code;
			if (rest != NULL) {
				snprintf(r->enhanced, sizeof r->enhanced, "%s", enh);
				text = rest;
			} else
				snprintf(r->enhanced, sizeof r->enhanced, "%d.0.0", code / 100);
			size_t tl = strlen(text);
			if (tl >= sizeof r->text)
				tl = sizeof r->text - 1;
			memcpy(r->text, text, tl);
			r->text[tl] = '\0';
			return IO_OK;
		}
	}
	return IO_BROKEN;
}

/* Send a command line (CRLF added) and read its reply. */
static io_status command(relay_conn *c, const char *cmd, pst_reply *r, unsigned *caps)
{
	pst_buf b = PST_BUF_INIT;
	io_status s;

	if (pst_buf_puts(&b, cmd) != 0 || pst_buf_puts(&b, "\r\n") != 0) {
		pst_buf_free(&b);
		return IO_BROKEN;
	}
	s = send_all(c, b.data, b.len);
	pst_buf_free(&b);
	return s == IO_OK ? read_reply(c, r, caps) : s;
}

/* ---- Connections -------------------------------------------------------- */

static int connect_addr(const struct sockaddr *sa, socklen_t salen, int family,
			unsigned timeout_ms, char *why, size_t whylen)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int soerr = 0;
	socklen_t len = sizeof soerr;

	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, sa, salen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR) {
			snprintf(why, whylen, "connect: %s", strerror(errno));
			close(fd);
			return -1;
		}
		io_status s = wait_fd(fd, POLLOUT, timeout_ms);
		if (s != IO_OK) {
			snprintf(why, whylen, "connect: %s",
				 s == IO_TIMEOUT ? "timed out" : strerror(errno));
			close(fd);
			return -2 * (s == IO_TIMEOUT) - (s != IO_TIMEOUT);
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
			snprintf(why, whylen, "connect: %s", strerror(soerr ? soerr : errno));
			close(fd);
			return -1;
		}
	}
	if (set_timeouts(fd, timeout_ms) != 0) {
		snprintf(why, whylen, "socket options: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A connected socket, or -1 (refused, unreachable) / -2 (timed out). */
static int open_socket(const pst_relay *rl, unsigned timeout_ms, char *why, size_t whylen)
{
	if (rl->is_unix) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, rl->path, strlen(rl->path) + 1);
		return connect_addr((struct sockaddr *)&sun, sizeof sun, AF_UNIX, timeout_ms, why,
				    whylen);
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int rc = getaddrinfo(rl->host, rl->port, &hints, &res);
	if (rc != 0) {
		if (snprintf(why, whylen, "%s: %s", rl->host, gai_strerror(rc)) < 0)
			why[0] = '\0';
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_addr(ai->ai_addr, ai->ai_addrlen, ai->ai_family, timeout_ms, why,
				  whylen);
	freeaddrinfo(res);
	return fd;
}

static void conn_close(relay_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* A new connection, greeted and LHLO'd; NULL with *fail set. */
static relay_conn *conn_new(pst_deliver *d, pst_relay *rl, pst_reply *fail)
{
	char why[256] = "";
	pst_reply r;
	relay_conn *c = calloc(1, sizeof *c);
	io_status s;

	if (c == NULL) {
		pst_deliver_set_reply(fail, 451, "4.3.0", "out of memory");
		return NULL;
	}
	c->fd = open_socket(rl, d->timeout_ms, why, sizeof why);
	if (c->fd < 0) {
		if (c->fd == -2)
			pst_deliver_set_reply(fail, 451, "4.4.2", "downstream timeout: %s", why);
		else
			pst_deliver_set_reply(fail, 451, "4.4.1", "downstream not reachable: %s",
					      why);
		free(c);
		return NULL;
	}
	__atomic_fetch_add(&rl->connections, 1, __ATOMIC_RELAXED);
	char lhlo[PST_DELIVER_MAX_HOST + 8];
	snprintf(lhlo, sizeof lhlo, "LHLO %s", d->hostname);
	if ((s = read_reply(c, &r, NULL)) == IO_OK && r.code == 220)
		s = command(c, lhlo, &r, &c->caps);
	if (s == IO_OK && r.code == 250)
		return c;
	if (s == IO_TIMEOUT)
		pst_deliver_set_reply(fail, 451, "4.4.2", "downstream timeout at greeting");
	else if (s == IO_OK)
		pst_deliver_set_reply(fail, 451, "4.4.1", "downstream refused the session: %d %s",
				      r.code, r.text);
	else
		pst_deliver_set_reply(fail, 451, "4.4.1", "downstream not reachable: no greeting");
	conn_close(c);
	return NULL;
}

/* Whether a pooled connection still looks usable: nothing to read (the
 * downstream neither closed it nor said 421), no error. No round trip. */
static int looks_alive(const relay_conn *c)
{
	char ch;

	if (c->rpos < c->rlen)
		return 0;
	ssize_t r = recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* A pooled connection that looks alive (c->reused set), or a new one. */
static relay_conn *acquire(pst_deliver *d, pst_relay *rl, pst_reply *fail)
{
	for (;;) {
		relay_conn *c;

		pthread_mutex_lock(&rl->mu);
		c = rl->idle;
		if (c != NULL) {
			rl->idle = c->next;
			rl->nidle--;
		}
		pthread_mutex_unlock(&rl->mu);
		if (c == NULL)
			return conn_new(d, rl, fail);
		c->next = NULL;
		if (looks_alive(c)) {
			pst_reply r;
			c->reused = 1;
			/* Left in a transaction (every RCPT refused, DATA not
			 * 354): RSET first. */
			if (!c->open_txn || (command(c, "RSET", &r, NULL) == IO_OK && r.code == 250)) {
				c->open_txn = 0;
				return c;
			}
		}
		conn_close(c);
	}
}

static void release(pst_relay *rl, relay_conn *c, int ok)
{
	if (c == NULL)
		return;
	if (ok) {
		pthread_mutex_lock(&rl->mu);
		if (rl->nidle < RELAY_MAX_IDLE) {
			c->next = rl->idle;
			rl->idle = c;
			rl->nidle++;
			c = NULL;
		}
		pthread_mutex_unlock(&rl->mu);
		if (c == NULL)
			return;
		(void)send_all(c, "QUIT\r\n", 6);
	}
	conn_close(c);
}

/* ---- One downstream transaction ----------------------------------------- */

static int has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] & 0x80)
			return 1;
	return 0;
}

/* The DATA payload: optional first header, CRLF line endings, dot-stuffing,
 * the final ".". */
static int wire_copy(pst_buf *b, const char *header, const char *data, size_t len)
{
	size_t i = 0;

	if (header != NULL && pst_buf_puts(b, header) != 0)
		return -1;
	if (pst_buf_reserve(b, len + len / 32 + 8) != 0)
		return -1;
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t stop = (end > i && data[end - 1] == '\r') ? end - 1 : end;
		if (data[i] == '.' && pst_buf_putc(b, '.') != 0)
			return -1;
		if (pst_buf_append(b, data + i, stop - i) != 0 || pst_buf_puts(b, "\r\n") != 0)
			return -1;
		i = end + 1;
	}
	return pst_buf_puts(b, ".\r\n");
}

/* The address a recipient is relayed to: local+NAME@domain for a folder
 * with a delimiter, else as given. */
static int relay_address(const pst_deliver *d, const char *addr, const char *name, pst_buf *out)
{
	const char *at = strrchr(addr, '@');

	if (name == NULL || d->delimiter == '\0' || at == NULL)
		return pst_buf_puts(out, addr);
	size_t llen = (size_t)(at - addr);
	const char *delim = memchr(addr, d->delimiter, llen);
	if (delim != NULL && delim != addr)
		llen = (size_t)(delim - addr);
	if (pst_buf_append(out, addr, llen) != 0 || pst_buf_putc(out, d->delimiter) != 0
	    || pst_buf_puts(out, name) != 0)
		return -1;
	return pst_buf_puts(out, at);
}

static void io_reply(pst_reply *r, io_status s, const char *when)
{
	if (s == IO_TIMEOUT)
		pst_deliver_set_reply(r, 451, "4.4.2", "downstream timeout (%s)", when);
	else if (s == IO_CLOSED)
		pst_deliver_set_reply(r, 451, "4.4.2", "downstream connection lost (%s)", when);
	else
		pst_deliver_set_reply(r, 451, "4.4.2", "downstream broken reply (%s)", when);
}

/* The caller's view of a final downstream reply: 250 stays 250, other
 * 2xx are not "stored" as far as we can tell, and 421 (the downstream is
 * closing the session, RFC 5321 3.8) is this hop's 451 4.4.2, never passed
 * on. A 3xx is not a final reply (RFC 5321 4.2.1): where a final reply was
 * due the downstream is out of step, and the recipient gets 451 4.3.0
 * naming it. Returns 1 for a 421 or a 3xx: the connection must not be
 * pooled. */
static int map_reply(pst_reply *dst, const pst_reply *src)
{
	if (src->code == 421) {
		pst_deliver_set_reply(dst, 451, "4.4.2", "downstream closed the session: 421 %s",
				      src->text);
		return 1;
	}
	if (src->code / 100 == 3) {
		pst_deliver_set_reply(dst, 451, "4.3.0", "unexpected downstream reply %d %s %s",
				      src->code, src->enhanced, src->text);
		return 1;
	}
	if (src->code / 100 == 2 && src->code != 250)
		pst_deliver_set_reply(dst, 451, "4.3.0", "unexpected downstream reply %d %s",
				      src->code, src->text);
	else
		*dst = *src;
	return 0;
}

typedef struct group {
	pst_deliver_rcpt **r;
	size_t n;
	const char *name;     /* folder without its dot, or NULL */
} group;

static int mail_command(const pst_deliver_env *env, const relay_conn *c, const pst_buf *wire,
			const char *data, size_t len, int utf8, pst_buf *cmd)
{
	const char *from = env->mail_from ? env->mail_from : "";

	if (pst_buf_printf(cmd, "MAIL FROM:<%s>", from) != 0)
		return -1;
	/* The message without the final ".": near enough to RFC 1870 size. */
	if ((c->caps & CAP_SIZE) && pst_buf_printf(cmd, " SIZE=%zu", wire->len - 3) != 0)
		return -1;
	if ((c->caps & CAP_8BITMIME) && has_8bit(data, len) && pst_buf_puts(cmd, " BODY=8BITMIME"))
		return -1;
	if ((c->caps & CAP_SMTPUTF8) && utf8 && pst_buf_puts(cmd, " SMTPUTF8") != 0)
		return -1;
	return 0;
}

/* The commands of a transaction: MAIL, one RCPT per recipient, DATA, each
 * with its CRLF, end offsets in ends[]. */
static int build_commands(const pst_deliver *d, const pst_deliver_env *env, const relay_conn *c,
			  const group *g, const pst_buf *wire, pst_buf *cmds, size_t *ends)
{
	int utf8 = env->mail_from && has_8bit(env->mail_from, strlen(env->mail_from));

	for (size_t i = 0; i < g->n; i++)
		utf8 |= has_8bit(g->r[i]->address, strlen(g->r[i]->address));
	if (mail_command(env, c, wire, g->r[0]->data, g->r[0]->len, utf8, cmds) != 0
	    || pst_buf_puts(cmds, "\r\n") != 0)
		return -1;
	ends[0] = cmds->len;
	for (size_t i = 0; i < g->n; i++) {
		if (pst_buf_puts(cmds, "RCPT TO:<") != 0
		    || relay_address(d, g->r[i]->address, g->name, cmds) != 0
		    || pst_buf_puts(cmds, ">\r\n") != 0)
			return -1;
		ends[i + 1] = cmds->len;
	}
	if (pst_buf_puts(cmds, "DATA\r\n") != 0)
		return -1;
	ends[g->n + 1] = cmds->len;
	return 0;
}

/* What run_group says about the connection after a transaction. */
enum { RUN_REUSE = 0, RUN_CLOSE = -1, RUN_STALE = 1 };

/* Run one transaction on c: RUN_REUSE when the connection may be pooled
 * again, RUN_CLOSE when not, RUN_STALE when c came from the pool and was
 * found closed before the first reply (nothing was answered: the caller may
 * run the transaction again elsewhere). With PIPELINING, MAIL, the RCPTs
 * and DATA go in one write (RFC 2920) and the replies are read in order;
 * else each command waits for its reply. */
static int run_group(pst_deliver *d, pst_relay *rl, relay_conn *c, const pst_deliver_env *env,
		     const group *g, const pst_buf *wire, pst_reply *fail)
{
	pst_buf cmds = PST_BUF_INIT;
	size_t *ends = calloc(g->n + 2, sizeof *ends);
	size_t ncmd = g->n + 2, accepted = 0, k = 0;
	int pipelined = (c->caps & CAP_PIPELINING) != 0, mail_ok = 0, rc = RUN_CLOSE, closing = 0;
	pst_reply r, mail_reply;
	io_status s;

	__atomic_fetch_add(&rl->transactions, 1, __ATOMIC_RELAXED);
	if (ends == NULL || build_commands(d, env, c, g, wire, &cmds, ends) != 0) {
		pst_deliver_set_reply(fail, 451, "4.3.0", "out of memory");
		goto out;
	}
	if (pipelined && (s = send_all(c, cmds.data, cmds.len)) != IO_OK) {
		io_reply(fail, s, "MAIL");
		goto stale;
	}
	for (k = 0; k < ncmd; k++) {
		size_t from = k ? ends[k - 1] : 0;
		if (!pipelined) {
			if ((k > 0 && !mail_ok) || (k == ncmd - 1 && accepted == 0))
				break;
			if ((s = send_all(c, cmds.data + from, ends[k] - from)) != IO_OK) {
				io_reply(fail, s, k ? "RCPT" : "MAIL");
				goto stale;
			}
		}
		if ((s = read_reply(c, &r, NULL)) != IO_OK) {
			io_reply(fail, s, k == 0 ? "MAIL" : k < ncmd - 1 ? "RCPT" : "DATA");
			goto stale;
		}
		if (k == 0) {
			mail_ok = r.code == 250;
			mail_reply = r;
		} else if (k < ncmd - 1 && mail_ok) {
			if (r.code == 250 || r.code == 251)
				accepted++;
			else
				closing |= map_reply(&g->r[k - 1]->reply, &r);
		}
	}
	if (!mail_ok) {
		for (size_t i = 0; i < g->n; i++)
			closing |= map_reply(&g->r[i]->reply, &mail_reply);
		rc = RUN_REUSE;
		goto out;
	}
	if (accepted == 0) {
		/* A 354 to DATA without recipients: the server is confused. */
		rc = ((pipelined && r.code == 354) || r.code == 421) ? RUN_CLOSE : RUN_REUSE;
		c->open_txn = 1;
		goto out;
	}
	if (r.code != 354) {
		c->open_txn = 1;
		for (size_t i = 0; i < g->n; i++)
			if (g->r[i]->reply.code == 0)
				closing |= map_reply(&g->r[i]->reply, &r);
		rc = RUN_REUSE;
		goto out;
	}
	if ((s = send_all(c, wire->data, wire->len)) != IO_OK) {
		io_reply(fail, s, "sending the message");
		goto out;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (g->r[i]->reply.code != 0)
			continue;
		if ((s = read_reply(c, &r, NULL)) != IO_OK) {
			io_reply(fail, s, "after DATA");
			goto out;
		}
		closing |= map_reply(&g->r[i]->reply, &r);
	}
	rc = RUN_REUSE;
	goto out;
stale:
	/* Failed before any reply was read: the first reply when pipelined,
	 * MAIL's otherwise. */
	if (c->reused && s == IO_CLOSED && k == 0)
		rc = RUN_STALE;
out:
	if (closing)
		rc = RUN_CLOSE;
	pst_buf_free(&cmds);
	free(ends);
	return rc;
}

static void relay_group(pst_deliver *d, const pst_deliver_env *env, const group *g)
{
	pst_relay *rl = d->impl;
	pst_buf wire = PST_BUF_INIT, header = PST_BUF_INIT;
	pst_reply fail;
	relay_conn *c;

	pst_deliver_set_reply(&fail, 451, "4.4.2", "downstream connection lost");
	for (size_t i = 0; i < g->n; i++)
		g->r[i]->reply.code = 0;
	if (g->name != NULL && pst_buf_printf(&header, "X-Postern-Action: quarantine; folder=%s\r\n",
					      g->name) != 0)
		goto oom;
	if (wire_copy(&wire, g->name ? header.data : NULL, g->r[0]->data, g->r[0]->len) != 0)
		goto oom;
	if ((c = acquire(d, rl, &fail)) != NULL) {
		int rc = run_group(d, rl, c, env, g, &wire, &fail);
		release(rl, c, rc == RUN_REUSE);
		/* A pooled connection found dead before its first reply: once
		 * more on a new connection. */
		if (rc == RUN_STALE && (c = conn_new(d, rl, &fail)) != NULL) {
			rc = run_group(d, rl, c, env, g, &wire, &fail);
			release(rl, c, rc == RUN_REUSE);
		}
	}
	goto done;
oom:
	pst_deliver_set_reply(&fail, 451, "4.3.0", "out of memory");
done:
	for (size_t i = 0; i < g->n; i++)
		if (g->r[i]->reply.code == 0)
			g->r[i]->reply = fail;
	pst_buf_free(&wire);
	pst_buf_free(&header);
}

/* ---- Grouping ------------------------------------------------------------ */

static int same_folder(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a[0] == '.' ? a + 1 : a, b[0] == '.' ? b + 1 : b) == 0;
}

static int same_copy(const pst_deliver_rcpt *a, const pst_deliver_rcpt *b)
{
	return a->len == b->len && same_folder(a->folder, b->folder)
	       && (a->data == b->data || memcmp(a->data, b->data, a->len) == 0);
}

static void relay_transaction(pst_deliver *d, const pst_deliver_env *env,
			      pst_deliver_rcpt *rcpts, size_t n)
{
	pst_deliver_rcpt **members = calloc(n ? n : 1, sizeof *members);
	char *done = calloc(n ? n : 1, 1);
	char names[2][PST_DELIVER_MAX_FOLDER + 2];

	if (members == NULL || done == NULL) {
		for (size_t i = 0; i < n; i++)
			pst_deliver_set_reply(&rcpts[i].reply, 451, "4.3.0", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		pst_deliver_addr a;
		if (rcpts[i].address == NULL
		    || pst_deliver_parse_addr(d->delimiter, rcpts[i].address, &a) != 0) {
			pst_deliver_set_reply(&rcpts[i].reply, 550, "5.1.3",
					      "bad recipient address syntax");
			done[i] = 1;
		} else if (rcpts[i].folder != NULL
			   && pst_deliver_folder_name(rcpts[i].folder, names[0], sizeof names[0])) {
			pst_deliver_set_reply(&rcpts[i].reply, 451, "4.3.5", "unsafe folder name");
			done[i] = 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		group g = { members, 0, NULL };
		for (size_t j = i; j < n; j++) {
			if (!done[j] && same_copy(&rcpts[i], &rcpts[j])) {
				members[g.n++] = &rcpts[j];
				done[j] = 1;
			}
		}
		if (rcpts[i].folder != NULL) {
			pst_deliver_folder_name(rcpts[i].folder, names[1], sizeof names[1]);
			g.name = names[1] + 1;
		}
		relay_group(d, env, &g);
	}
out:
	free(members);
	free(done);
}

static void relay_free(void *impl)
{
	pst_relay *rl = impl;

	if (rl == NULL)
		return;
	while (rl->idle != NULL) {
		relay_conn *c = rl->idle;
		rl->idle = c->next;
		(void)send_all(c, "QUIT\r\n", 6);
		conn_close(c);
	}
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

const pst_deliver_ops pst_relay_ops = { "lmtp", relay_transaction, relay_free };

int pst_relay_probe(const pst_deliver *d, unsigned timeout_ms, char *why, size_t whylen)
{
	const pst_relay *rl = d->impl;
	int fd = open_socket(rl, timeout_ms, why, whylen);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void pst_relay_stats(const pst_deliver *d, pst_deliver_stats *st)
{
	const pst_relay *rl = d->impl;

	st->connections = __atomic_load_n(&rl->connections, __ATOMIC_RELAXED);
	st->transactions = __atomic_load_n(&rl->transactions, __ATOMIC_RELAXED);
}

/* ---- Opening --------------------------------------------------------------- */

static int parse_port(const char *p, char *out, size_t n)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || errno != 0 || v < 1 || v > 65535)
		return -1;
	snprintf(out, n, "%ld", v);
	return 0;
}

static int parse_spec(pst_relay *rl, const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0) {
		size_t n = strlen(spec + 5);
		if (n == 0 || n >= sizeof rl->path)
			return -1;
		rl->is_unix = 1;
		memcpy(rl->path, spec + 5, n + 1);
		return 0;
	}
	const char *colon;
	size_t hlen;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		spec++;
		hlen = (size_t)(close - spec);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL)
			return -1;
		hlen = (size_t)(colon - spec);
	}
	if (hlen == 0 || hlen >= sizeof rl->host)
		return -1;
	memcpy(rl->host, spec, hlen);
	rl->host[hlen] = '\0';
	return parse_port(colon + 1, rl->port, sizeof rl->port);
}

int pst_relay_open(pst_deliver *d, const char *spec, char *err, size_t errlen)
{
	pst_relay *rl = calloc(1, sizeof *rl);

	if (rl == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (parse_spec(rl, spec) != 0) {
		snprintf(err, errlen, "lmtp:%s: bad target (lmtp:HOST:PORT, lmtp:[ADDR]:PORT, "
			 "lmtp:unix:PATH)", spec);
		free(rl);
		return -1;
	}
	if (pthread_mutex_init(&rl->mu, NULL) != 0) {
		snprintf(err, errlen, "mutex: %s", strerror(errno));
		free(rl);
		return -1;
	}
	snprintf(rl->spec, sizeof rl->spec, "%s", spec);
	d->ops = &pst_relay_ops;
	d->impl = rl;
	return 0;
}
