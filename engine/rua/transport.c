/*
 * transport.c: a report message leaves through a sendmail program or SMTP
 * to a relay (rua.h, pst_rua_send).
 *
 * sendmail: the command (PST_RUA_SENDMAIL by default) is split on spaces
 * and run as argv + "-oi" "-f" FROM "--" TO through fork and execvp,
 * never through a shell: the addresses are arguments, never parsed as
 * options ("--") nor as header recipients (no -t). The message goes to its
 * standard input over a socketpair (send() with MSG_NOSIGNAL, so a program
 * that exits early is no SIGPIPE); its standard output goes to our
 * standard error. The whole run is bounded by timeout_ms; past it the
 * program is killed (TEMP). Exit 0 is SENT. Exit EX_DATAERR (65),
 * EX_NOUSER (67) or EX_NOHOST (68) is REFUSED: the message or the address
 * is wrong and will stay so. Any other exit (EX_TEMPFAIL and the local
 * trouble most sendmails report, EX_USAGE, EX_CONFIG, ...), a signal, or
 * a program that cannot be run (exit 127 from the child) is TEMP.
 *
 * SMTP: a small blocking client of its own (deliver/relay.c's client is
 * bound to its pool, LMTP replies and fault injection; the socket style
 * is the same: a non-blocking connect() bounded by poll(), then
 * SO_RCVTIMEO and SO_SNDTIMEO of timeout_ms for each read and write).
 * Greeting, EHLO (HELO after a 5xx to it), MAIL FROM:<from>, RCPT TO:<to>,
 * DATA, the message with CRLF line ends and dot-stuffing, ".", QUIT.
 * Replies may be multi-line (at most 100 lines of 2048 bytes). 2xx where
 * a final reply is due is SENT; a 5xx to RCPT or to the message is
 * REFUSED; a 5xx earlier (greeting, HELO, MAIL) is about the relay and
 * our setup, not the destination: TEMP, as is every 4xx, a failed
 * connection, a timeout and a reply that does not parse.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "rua/rua.h"

#define SMTP_LINE_MAX  2048
#define SMTP_REPLY_MAX 100
#define ARGV_MAX       32

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(why, whylen, fmt, ap) < 0)
		why[0] = '\0';
	va_end(ap);
}

/* An address that can go into a command line or an argument as it is. */
static int plain_address(const char *s, int empty_ok)
{
	if (*s == '\0')
		return empty_ok;
	if (*s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || *s == '<' || *s == '>')
			return 0;
	return 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- sendmail ---------------------------------------------------------- */

/* Split cmd on spaces into argv (pointers into copy), then the fixed tail.
 * 0, or -1 when there are too many words or none. */
static int build_argv(char *copy, const char *from, const char *to, char **argv)
{
	size_t n = 0;

	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save)) {
		if (n + 6 >= ARGV_MAX)
			return -1;
		argv[n++] = w;
	}
	if (n == 0)
		return -1;
	argv[n++] = (char *)"-oi";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)from;
	argv[n++] = (char *)"--";
	argv[n++] = (char *)to;
	argv[n] = NULL;
	return 0;
}

/* Write msg to fd until done or the deadline. 0, 1 timeout, -1 error. */
static int feed(int fd, const char *msg, size_t len, uint64_t deadline)
{
	while (len > 0) {
		struct pollfd p = { fd, POLLOUT, 0 };
		uint64_t t = now_ms();
		int rc;
		if (t >= deadline)
			return 1;
		rc = poll(&p, 1, (int)(deadline - t > 1000 ? 1000 : deadline - t));
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc <= 0)
			continue;
		ssize_t w = send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (w < 0)
			return -1;
		msg += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Wait for pid until the deadline (killed past it). 0 with *status, 1 timeout. */
static int reap(pid_t pid, uint64_t deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR) {
			*status = 127 << 8;
			return 0;
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 1;
		}
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
}

static pst_rua_outcome exit_outcome(int status, const char *prog, char *why, size_t whylen)
{
	if (WIFSIGNALED(status)) {
		say(why, whylen, "%s killed by signal %d", prog, WTERMSIG(status));
		return PST_RUA_TEMP;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 127;
	if (code == 0) {
		say(why, whylen, "handed to %s", prog);
		return PST_RUA_SENT;
	}
	say(why, whylen, "%s exited with %d%s", prog, code,
	    code == 127 ? " (could not be run)" : code == EX_TEMPFAIL ? " (temporary failure)" : "");
	if (code == EX_DATAERR || code == EX_NOUSER || code == EX_NOHOST)
		return PST_RUA_REFUSED;
	return PST_RUA_TEMP;
}

static pst_rua_outcome run_sendmail(const pst_rua_transport *t, const char *from,
				    const char *to, const char *msg, size_t len, char *why,
				    size_t whylen)
{
	const char *cmd = t->sendmail && *t->sendmail ? t->sendmail : PST_RUA_SENDMAIL;
	unsigned timeout = t->timeout_ms ? t->timeout_ms : PST_RUA_TIMEOUT_MS;
	uint64_t deadline = now_ms() + timeout;
	char *argv[ARGV_MAX], *copy = strdup(cmd);
	int sv[2], status = 0, fed, late;
	pid_t pid;

	if (copy == NULL) {
		say(why, whylen, "out of memory");
		return PST_RUA_TEMP;
	}
	if (build_argv(copy, from, to, argv) != 0) {
		say(why, whylen, "bad sendmail command \"%s\"", cmd);
		free(copy);
		return PST_RUA_TEMP;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		say(why, whylen, "socketpair: %s", strerror(errno));
		free(copy);
		return PST_RUA_TEMP;
	}
	pid = fork();
	if (pid < 0) {
		say(why, whylen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(copy);
		return PST_RUA_TEMP;
	}
	if (pid == 0) {
		if (dup2(sv[1], 0) < 0 || dup2(2, 1) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	fed = feed(sv[0], msg, len, deadline);
	close(sv[0]);
	late = reap(pid, deadline, &status);
	if (late || fed == 1) {
		say(why, whylen, "%s did not finish within %u ms", argv[0], timeout);
		free(copy);
		return PST_RUA_TEMP;
	}
	pst_rua_outcome o = exit_outcome(status, argv[0], why, whylen);
	if (o == PST_RUA_SENT && fed != 0) {
		say(why, whylen, "%s exited before reading the whole message", argv[0]);
		o = PST_RUA_TEMP;
	}
	free(copy);
	return o;
}

/* ---- SMTP ----------------------------------------------------------------- */

typedef struct smtp {
	int fd;
	char rbuf[4096];
	size_t rpos, rlen;
	unsigned timeout_ms;
	char *why;
	size_t whylen;
} smtp;

/* "HOST:PORT" or "[ADDR]:PORT" into host and port. 0 / -1. */
static int split_relay(const char *spec, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon, *h = spec;
	size_t n;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		h = spec + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL)
			return -1;
		n = (size_t)(colon - spec);
	}
	char *end;
	long v = strtol(colon + 1, &end, 10);
	if (n == 0 || n >= hlen || colon[1] == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, plen, "%ld", v);
	return 0;
}

/* A connected blocking socket with per-call timeouts, or -1 (why set). */
static int connect_one(const struct addrinfo *ai, unsigned timeout_ms, char *why, size_t whylen)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000),
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };

	if (fd < 0) {
		say(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		struct pollfd p = { fd, POLLOUT, 0 };
		int rc;
		if (errno != EINPROGRESS) {
			say(why, whylen, "connect: %s", strerror(errno));
			close(fd);
			return -1;
		}
		while ((rc = poll(&p, 1, (int)timeout_ms)) < 0 && errno == EINTR)
			;
		if (rc <= 0) {
			say(why, whylen, "connect: %s", rc == 0 ? "timed out" : strerror(errno));
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			say(why, whylen, "connect: %s", strerror(soerr ? soerr : errno));
			close(fd);
			return -1;
		}
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
		say(why, whylen, "socket options: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int smtp_connect(const char *spec, unsigned timeout_ms, char *why, size_t whylen)
{
	char host[256], port[8];
	struct addrinfo hints, *res = NULL;
	int fd = -1, rc;

	if (split_relay(spec, host, sizeof host, port, sizeof port) != 0) {
		say(why, whylen, "bad relay \"%s\" (HOST:PORT or [ADDR]:PORT)", spec);
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		say(why, whylen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_one(ai, timeout_ms, why, whylen);
	freeaddrinfo(res);
	return fd;
}

/* All of p. 0, or -1 with why. */
static int smtp_write(smtp *s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			say(s->why, s->whylen, "relay: %s",
			    errno == EAGAIN || errno == EWOULDBLOCK ? "write timed out"
								    : strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line without CRLF into line. 0, or -1 with why. */
static int smtp_line(smtp *s, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		while (s->rpos < s->rlen) {
			char c = s->rbuf[s->rpos++];
			if (c == '\n') {
				if (n > 0 && line[n - 1] == '\r')
					n--;
				line[n] = '\0';
				return 0;
			}
			if (n + 1 >= cap) {
				say(s->why, s->whylen, "relay: reply line too long");
				return -1;
			}
			line[n++] = c;
		}
		ssize_t r = recv(s->fd, s->rbuf, sizeof s->rbuf, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			say(s->why, s->whylen, "relay: %s",
			    r == 0 ? "connection closed"
			    : errno == EAGAIN || errno == EWOULDBLOCK ? "no reply in time"
								      : strerror(errno));
			return -1;
		}
		s->rpos = 0;
		s->rlen = (size_t)r;
	}
}

/* One reply (multi-line too): its code, or -1 with why. The last line's
 * text goes into why as "when: CODE text". */
static int smtp_reply(smtp *s, const char *when)
{
	char line[SMTP_LINE_MAX];
	int code = 0;

	for (int i = 0; i < SMTP_REPLY_MAX; i++) {
		if (smtp_line(s, line, sizeof line) != 0)
			return -1;
		if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9'
		    || line[2] < '0' || line[2] > '9'
		    || (line[3] != ' ' && line[3] != '-' && line[3] != '\0')) {
			say(s->why, s->whylen, "relay: %s: bad reply \"%.80s\"", when, line);
			return -1;
		}
		int this = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (i > 0 && this != code) {
			say(s->why, s->whylen, "relay: %s: mixed reply codes", when);
			return -1;
		}
		code = this;
		if (line[3] != '-') {
			say(s->why, s->whylen, "relay: %s: %.200s", when, line);
			return code;
		}
	}
	say(s->why, s->whylen, "relay: %s: reply too long", when);
	return -1;
}

/* The command head arg tail CRLF and its reply code, or -1. */
static int smtp_cmd(smtp *s, const char *when, const char *head, const char *arg,
		    const char *tail)
{
	char line[1200];
	int n = snprintf(line, sizeof line, "%s%s%s\r\n", head, arg, tail);

	if (n < 0 || (size_t)n >= sizeof line) {
		say(s->why, s->whylen, "relay: %s: command too long", when);
		return -1;
	}
	if (smtp_write(s, line, (size_t)n) != 0)
		return -1;
	return smtp_reply(s, when);
}

/* The message with CRLF line ends, dot-stuffed, then ".". 0 / -1. */
static int smtp_body(smtp *s, const char *msg, size_t len)
{
	char out[8192];
	size_t o = 0;
	int bol = 1;

	for (size_t i = 0; i < len; i++) {
		char c = msg[i];
		if (o + 4 > sizeof out) {
			if (smtp_write(s, out, o) != 0)
				return -1;
			o = 0;
		}
		if (bol && c == '.')
			out[o++] = '.';
		bol = 0;
		if (c == '\r' && i + 1 < len && msg[i + 1] == '\n')
			continue;
		if (c == '\n' || c == '\r') {
			out[o++] = '\r';
			out[o++] = '\n';
			bol = 1;
			continue;
		}
		out[o++] = c;
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	if (smtp_write(s, out, o) != 0)
		return -1;
	return smtp_write(s, ".\r\n", 3);
}

/* The transaction on a connected s. */
static pst_rua_outcome smtp_session(smtp *s, const char *helo, const char *from, const char *to,
				    const char *msg, size_t len)
{
	char keep[256];
	int code;

	if ((code = smtp_reply(s, "greeting")) != 220)
		return PST_RUA_TEMP;
	code = smtp_cmd(s, "EHLO", "EHLO ", helo, "");
	if (code >= 500)
		code = smtp_cmd(s, "HELO", "HELO ", helo, "");
	if (code / 100 != 2)
		return PST_RUA_TEMP;
	if ((code = smtp_cmd(s, "MAIL FROM", "MAIL FROM:<", from, ">")) / 100 != 2)
		return PST_RUA_TEMP;
	code = smtp_cmd(s, "RCPT TO", "RCPT TO:<", to, ">");
	if (code / 100 != 2)
		return code >= 500 ? PST_RUA_REFUSED : PST_RUA_TEMP;
	if ((code = smtp_cmd(s, "DATA", "DATA", "", "")) != 354)
		return code >= 500 ? PST_RUA_REFUSED : PST_RUA_TEMP;
	if (smtp_body(s, msg, len) != 0)
		return PST_RUA_TEMP;
	code = smtp_reply(s, "end of data");
	if (code / 100 != 2)
		return code >= 500 ? PST_RUA_REFUSED : PST_RUA_TEMP;
	/* The message is taken: the QUIT's reply changes nothing, and why
	 * keeps the reply to the message. */
	snprintf(keep, sizeof keep, "%s", s->why ? s->why : "");
	(void)smtp_cmd(s, "QUIT", "QUIT", "", "");
	say(s->why, s->whylen, "%s", keep);
	return PST_RUA_SENT;
}

static pst_rua_outcome run_smtp(const pst_rua_transport *t, const char *from, const char *to,
				const char *msg, size_t len, char *why, size_t whylen)
{
	smtp s;
	char host[256];
	const char *helo = t->helo;
	pst_rua_outcome o;

	memset(&s, 0, sizeof s);
	s.timeout_ms = t->timeout_ms ? t->timeout_ms : PST_RUA_TIMEOUT_MS;
	s.why = why;
	s.whylen = whylen;
	if (helo == NULL || *helo == '\0') {
		if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		helo = host;
	}
	if (!plain_address(helo, 0)) {
		say(why, whylen, "bad EHLO name");
		return PST_RUA_TEMP;
	}
	s.fd = smtp_connect(t->smtp, s.timeout_ms, why, whylen);
	if (s.fd < 0)
		return PST_RUA_TEMP;
	o = smtp_session(&s, helo, from, to, msg, len);
	close(s.fd);
	return o;
}

pst_rua_outcome pst_rua_send(const pst_rua_transport *t, const char *from, const char *to,
			     const char *msg, size_t len, char *why, size_t whylen)
{
	static const pst_rua_transport none = { NULL, NULL, NULL, 0 };

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (t == NULL)
		t = &none;
	if (to == NULL || !plain_address(to, 0)) {
		say(why, whylen, "not a plain address: %.200s", to ? to : "(none)");
		return PST_RUA_REFUSED;
	}
	if (from == NULL || !plain_address(from, 1) || (msg == NULL && len > 0)) {
		say(why, whylen, "invalid sender or message");
		return PST_RUA_TEMP;
	}
	if (t->smtp != NULL && *t->smtp != '\0')
		return run_smtp(t, from, to, msg, len, why, whylen);
	return run_sendmail(t, from, to, msg, len, why, whylen);
}
