/*
 * server.c: the LMTP server (see server.h).
 *
 * The main thread binds the listeners, gives the Unix sockets their mode,
 * owner and group (--socket-mode, --socket-owner, --socket-group: names
 * are resolved before binding), drops privileges (--user), then
 * loads the policy, the DNS fixture and the delivery target, and polls the
 * listeners and a signalfd. Each accepted connection is one session over
 * proto.c, run by a thread of a pool of at most max_sessions threads made
 * on demand and kept (pool.h: no thread is created per connection); beyond
 * max_sessions sessions the connection gets 421 4.3.2 at once and is
 * closed. One TCP client address holds at most max_sessions_per_peer of
 * them (by default half of max_sessions, at least 1), so that one client
 * cannot take every slot: beyond that its connection gets 421 4.7.0 and is
 * closed. Unix-socket clients are not counted per peer (they all look
 * alike, and only the local MTA may write to the socket).
 *
 * A session reads with a blocking recv() that gives up every TICK_MS
 * (SO_RCVTIMEO) to look at the clock and at stopping, so a read is one
 * system call. The idle and DATA timeout is conf.timeout per wait (up to a
 * tick late), the whole session at most PST_LMTP_SESSION_FACTOR times
 * that; either gives 421 4.4.2. Replies are buffered and flushed whenever
 * the input at hand is consumed (RFC 2920).
 *
 * Policies are reference counted: a session takes the current one when
 * it starts and keeps it to its end. SIGHUP compiles the rule file anew
 * and swaps it in only when it compiles; a bad file is logged with its
 * diagnostics and the old policy stays. A policy without rules (an empty
 * file accepts everything) is logged as a "warning" event at start and at
 * the reload that brings it in. SIGUSR1 logs the counters; --metrics
 * serves them (metrics.h, its own thread, bound with the listeners).
 * SIGUSR2 reopens the log file (logsink.c) for logrotate.
 * With --pid-file the server will not start while the file names a live
 * postern, writes its PID once ready, and after start and each SIGHUP
 * writes the outcome to the state file beside it (pidfile.h) for
 * "postern reload"; both go at exit.
 * SIGTERM/SIGINT close the listeners; idle sessions get 421 4.3.2, busy
 * ones finish their transaction; the server exits 0 when all are gone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lmtp/listen.h"
#include "lmtp/pidfile.h"
#include "lmtp/pool.h"
#include "lmtp/server_private.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/number.h"
#include "util/privdrop.h"

#define PROG "postern lmtp"    /* in messages */
#define TICK_MS 200            /* how often a waiting session looks at stopping:
                                  its socket's SO_RCVTIMEO */

struct listener {
	int fd;
	int is_unix;
	char path[sizeof ((struct sockaddr_un *)0)->sun_path];
};

struct session {
	struct pst_lmtp_srv *srv;
	int fd;
	struct pst_lmtp_peer peer;
	pst_held_policy *pol;
	pst_lmtp *proto;
	pst_buf out;
	int write_failed;
};

void pst_lmtp_server_defaults(pst_lmtp_server_conf *c)
{
	memset(c, 0, sizeof *c);
	c->max_sessions = PST_LMTP_DEFAULT_SESSIONS;
	c->max_size = PST_MAX_MESSAGE_BYTES;
	c->timeout = PST_LMTP_DEFAULT_TIMEOUT;
	c->socket_mode = 0660;
	c->log = "stderr";
}

/* ---- Policies --------------------------------------------------------- */

/* A policy without rules accepts everything: at start and at each reload
 * that brings one in, a "warning" event says so (never a silent
 * accept-all after an emptied file). */
static void warn_if_no_rules(struct pst_lmtp_srv *srv, const pst_held_policy *pol)
{
	if (pst_policy_rule_count(pol->policy) != 0)
		return;
	pst_buf rules = PST_BUF_INIT;
	pst_buf_json_str(&rules, srv->conf.rules, strlen(srv->conf.rules));
	pst_lmtp_log_event(srv, "warning", ",\"rules\":%s,\"generation\":%u,\"warning\":"
	                   "\"the policy has no rules: every message is accepted\"",
	                   pst_buf_str(&rules), pol->generation);
	pst_buf_free(&rules);
}

/* With --pid-file: the outcome of the start (seq 0) or of a SIGHUP into
 * the state file; the first line of why when refused. A failure to write
 * is logged, never fatal. */
static void report_reload(struct pst_lmtp_srv *srv, int ok, const char *why)
{
	if (!srv->pid_written)
		return;
	pst_reload_state st = { .pid = (long)getpid(), .seq = srv->reload_seq, .ok = ok,
	                        .generation = pst_policy_hold_generation(&srv->hold) };
	snprintf(st.rules, sizeof st.rules, "%s", srv->rules_abs);
	size_t n = why ? strcspn(why, "\n") : 0;
	snprintf(st.error, sizeof st.error, "%.*s", (int)n, why ? why : "");
	if (pst_reload_state_write(srv->conf.pid_file, &st) < 0)
		pst_lmtp_log_event(srv, "error", ",\"why\":\"cannot write the reload state file\"");
}

static void reload(struct pst_lmtp_srv *srv)
{
	pst_held_policy *np = NULL;
	char *why = NULL;
	srv->reload_seq++;
	if (pst_policy_hold_compile(&srv->hold, srv->conf.rules, &np, &why) < 0) {
		const char *text = why ? why : "cannot compile";
		pst_buf b = PST_BUF_INIT, rules = PST_BUF_INIT;
		pst_buf_json_str(&b, text, strlen(text));
		pst_buf_json_str(&rules, srv->conf.rules, strlen(srv->conf.rules));
		pst_lmtp_log_event(srv, "reload", ",\"ok\":false,\"rules\":%s,\"kept\":%u,\"error\":%s",
		                   pst_buf_str(&rules), pst_policy_hold_generation(&srv->hold), pst_buf_str(&b));
		pst_buf_free(&rules);
		pst_buf_free(&b);
		report_reload(srv, 0, text);
		free(why);
		pthread_mutex_lock(&srv->lock);
		srv->cnt.reload_failures++;
		pthread_mutex_unlock(&srv->lock);
		return;
	}
	pst_policy_hold_swap(&srv->hold, np);
	pthread_mutex_lock(&srv->lock);
	srv->cnt.reloads++;
	pthread_mutex_unlock(&srv->lock);
	(void)pst_lmtp_metrics_rules(srv, np->policy);   /* ENOMEM: the old names stay */
	pst_lmtp_log_event(srv, "reload", ",\"ok\":true,\"generation\":%u", np->generation);
	report_reload(srv, 1, NULL);
	warn_if_no_rules(srv, np);
}

/* ---- Listeners --------------------------------------------------------- */

static int listen_unix(const char *prog, const char *path, unsigned mode, struct listener *l)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "%s: socket path too long: %s\n", prog, path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	snprintf(l->path, sizeof l->path, "%s", path);
	l->is_unix = 1;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -1;
	struct stat sb;
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) && unlink(path) < 0)
		return -1;
	if (bind(l->fd, (struct sockaddr *)&sun, sizeof sun) < 0 || chmod(path, mode) < 0)
		return -1;
	return listen(l->fd, 128);
}

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static int split_hostport(const char *addr, char *host, size_t hlen, const char **port)
{
	const char *colon;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		snprintf(host, hlen, "%.*s", (int)(end - addr - 1), addr + 1);
		*port = end + 2;
		return 0;
	}
	colon = strrchr(addr, ':');
	if (colon == NULL)
		return -1;
	snprintf(host, hlen, "%.*s", (int)(colon - addr), addr);
	*port = colon + 1;
	return 0;
}

static int listen_inet(const char *prog, const char *addr, struct listener *l)
{
	char host[256];
	const char *port;
	if (split_hostport(addr, host, sizeof host, &port) < 0 || *port == '\0') {
		fprintf(stderr, "%s: --listen wants HOST:PORT, [V6]:PORT or unix:PATH, not '%s'\n",
		        prog, addr);
		return -1;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "%s: --listen %s: %s\n", prog, addr, gai_strerror(rc));
		return -1;
	}
	l->is_unix = 0;
	l->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	rc = -1;
	if (l->fd >= 0 && setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
	    (ai->ai_family != AF_INET6 ||
	     setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
	    bind(l->fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(l->fd, 128) == 0)
		rc = 0;
	freeaddrinfo(ai);
	return rc;
}

/* An address of option opt (--listen, --metrics) is unix:PATH or a
 * HOST:PORT whose port is a number from 1 to 65535 (getaddrinfo() would
 * take 0, a random port, and 65536 wrapped to it). 0, or -1 after saying
 * which is wrong. */
static int check_listen_addr(const char *prog, const char *opt, const char *a)
{
	const char *port;
	char host[256];
	unsigned long long v;
	if (strncmp(a, "unix:", 5) == 0)
		return 0;
	if (split_hostport(a, host, sizeof host, &port) < 0 || *port == '\0') {
		fprintf(stderr, "%s: %s wants HOST:PORT, [V6]:PORT or unix:PATH, "
		        "not '%s'\n", prog, opt, a);
		return -1;
	}
	if (pst_parse_number(port, 10, 1, 65535, &v) < 0) {
		fprintf(stderr, "%s: %s %s: the port must be a number from 1 to "
		        "65535, not '%s'\n", prog, opt, a, port);
		return -1;
	}
	return 0;
}

static int check_listeners(const struct pst_lmtp_srv *srv)
{
	for (size_t i = 0; i < srv->conf.nlisten; i++)
		if (check_listen_addr(PROG, "--listen", srv->conf.listen[i]) < 0)
			return -1;
	return srv->conf.metrics ? check_listen_addr(PROG, "--metrics", srv->conf.metrics) : 0;
}

int pst_listen_addr(const char *prog, const char *opt, const char *addr, unsigned mode, int *fd,
                    int *is_unix)
{
	struct listener l = { .fd = -1 };
	*fd = -1;
	if (check_listen_addr(prog, opt, addr) < 0)
		return -1;
	errno = 0;
	int rc = strncmp(addr, "unix:", 5) == 0 ? listen_unix(prog, addr + 5, mode, &l)
	                                        : listen_inet(prog, addr, &l);
	if (rc == 0 && fcntl(l.fd, F_SETFL, O_NONBLOCK) == 0) {
		*fd = l.fd;
		*is_unix = l.is_unix;
		return 0;
	}
	if (errno)
		fprintf(stderr, "%s: cannot listen on %s (%s): %s\n", prog, addr, opt, strerror(errno));
	if (l.fd >= 0)
		close(l.fd);
	return -1;
}

int pst_lmtp_listen_addr(const char *opt, const char *addr, unsigned mode, int *fd, int *is_unix)
{
	return pst_listen_addr(PROG, opt, addr, mode, fd, is_unix);
}

static int open_listeners(struct pst_lmtp_srv *srv, struct listener *ls)
{
	for (size_t i = 0; i < srv->conf.nlisten; i++) {
		const char *a = srv->conf.listen[i];
		ls[i].fd = -1;
		int rc = strncmp(a, "unix:", 5) == 0 ? listen_unix(PROG, a + 5, srv->conf.socket_mode, &ls[i])
		                                     : listen_inet(PROG, a, &ls[i]);
		if (rc < 0) {
			if (errno)
				fprintf(stderr, "postern lmtp: cannot listen on %s: %s\n", a, strerror(errno));
			return -1;
		}
		if (fcntl(ls[i].fd, F_SETFL, O_NONBLOCK) < 0)
			return -1;
	}
	return 0;
}

/* A user or group named by --socket-owner / --socket-group: its name, or
 * a decimal id. 0 and *id, or -1 after saying which is unknown. */
static int socket_id(const char *opt, const char *name, unsigned *id)
{
	unsigned long long v;
	if (strcmp(opt, "socket-owner") == 0) {
		struct passwd *pw = getpwnam(name);
		if (pw != NULL) {
			*id = (unsigned)pw->pw_uid;
			return 0;
		}
	} else {
		struct group *gr = getgrnam(name);
		if (gr != NULL) {
			*id = (unsigned)gr->gr_gid;
			return 0;
		}
	}
	if (pst_parse_number(name, 10, 0, 0x7fffffffULL, &v) == 0) {
		*id = (unsigned)v;
		return 0;
	}
	fprintf(stderr, "postern lmtp: --%s %s: no such %s\n", opt, name,
	        strcmp(opt, "socket-owner") == 0 ? "user" : "group");
	return -1;
}

/* The owner and group the Unix sockets get (-1: unchanged). 0, or -1
 * after saying which name is unknown. */
static int resolve_socket_ids(const struct pst_lmtp_srv *srv, uid_t *uid, gid_t *gid)
{
	unsigned id;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (srv->conf.socket_owner) {
		if (socket_id("socket-owner", srv->conf.socket_owner, &id) < 0)
			return -1;
		*uid = (uid_t)id;
	}
	if (srv->conf.socket_group) {
		if (socket_id("socket-group", srv->conf.socket_group, &id) < 0)
			return -1;
		*gid = (gid_t)id;
	}
	return 0;
}

/* Give every Unix socket its owner and group (after bind, before --user).
 * 0, or -1 after saying which socket could not be changed. */
static int chown_listeners(const struct pst_lmtp_srv *srv, const struct listener *ls,
                           uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	for (size_t i = 0; i < srv->conf.nlisten; i++) {
		if (!ls[i].is_unix || lchown(ls[i].path, uid, gid) == 0)
			continue;
		fprintf(stderr, "postern lmtp: cannot give unix:%s to %s:%s: %s\n", ls[i].path,
		        srv->conf.socket_owner ? srv->conf.socket_owner : "-",
		        srv->conf.socket_group ? srv->conf.socket_group : "-", strerror(errno));
		return -1;
	}
	return 0;
}

static void close_listeners(struct listener *ls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ls[i].fd >= 0)
			close(ls[i].fd);
		if (ls[i].fd >= 0 && ls[i].is_unix)
			unlink(ls[i].path);
		ls[i].fd = -1;
	}
}

/* ---- XFORWARD peers ---------------------------------------------------- */

static int parse_xforward_from(struct pst_lmtp_srv *srv)
{
	static const char *const defaults[] = { "127.0.0.0/8", "::1", "unix" };
	const char *const *list = srv->conf.nxforward_from ? srv->conf.xforward_from : defaults;
	size_t n = srv->conf.nxforward_from ? srv->conf.nxforward_from : 3;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], "unix") == 0) {
			srv->xfwd_unix = 1;
			continue;
		}
		const char *why = NULL;
		if (pst_cidr_parse(list[i], strlen(list[i]), &srv->xfwd[srv->nxfwd], NULL, &why) < 0) {
			fprintf(stderr, "postern lmtp: --xforward-from %s: %s\n", list[i], why ? why : "bad CIDR");
			return -1;
		}
		srv->nxfwd++;
	}
	return 0;
}

static void peer_of(struct pst_lmtp_srv *srv, const struct sockaddr_storage *ss, int is_unix,
                    struct pst_lmtp_peer *peer)
{
	if (is_unix) {
		snprintf(peer->addr, sizeof peer->addr, "unix");
		peer->xforward_allowed = srv->xfwd_unix;
		return;
	}
	char text[INET6_ADDRSTRLEN] = "";
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, sizeof text);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, text, sizeof text);
	pst_ip ip;
	peer->xforward_allowed = 0;
	if (pst_ip_parse(text, strlen(text), &ip) == 0) {
		pst_ip_format(&ip, peer->addr, sizeof peer->addr);
		for (size_t i = 0; i < srv->nxfwd; i++)
			if (pst_cidr_contains(&srv->xfwd[i], &ip))
				peer->xforward_allowed = 1;
	} else
		snprintf(peer->addr, sizeof peer->addr, "%s", text);
}

/* ---- Per-peer session counts -------------------------------------------- */

/* The per-peer count of addr, under srv->lock: a pointer to its entry
 * (made with n 0 when absent), or NULL when the table is full. */
static struct pst_lmtp_peer_count *peer_count(struct pst_lmtp_srv *srv, const char *addr)
{
	for (size_t i = 0; i < srv->npeers; i++)
		if (strcmp(srv->peers[i].addr, addr) == 0)
			return &srv->peers[i];
	if (srv->npeers >= srv->conf.max_sessions)
		return NULL;
	struct pst_lmtp_peer_count *p = &srv->peers[srv->npeers++];
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	p->n = 0;
	return p;
}

/* One session of this peer is over, under srv->lock. */
static void peer_release(struct pst_lmtp_srv *srv, const struct pst_lmtp_peer *peer)
{
	if (!peer->counted)
		return;
	for (size_t i = 0; i < srv->npeers; i++) {
		if (strcmp(srv->peers[i].addr, peer->addr) != 0)
			continue;
		if (--srv->peers[i].n == 0)
			srv->peers[i] = srv->peers[--srv->npeers];
		return;
	}
}

/* Take a session slot for peer, under srv->lock: NULL, or the 421 line
 * that refuses the connection. */
static const char *take_slot(struct pst_lmtp_srv *srv, struct pst_lmtp_peer *peer, int is_unix)
{
	if (srv->active >= srv->conf.max_sessions)
		return "421 4.3.2 Too many sessions, try again later\r\n";
	if (!is_unix) {
		struct pst_lmtp_peer_count *p = peer_count(srv, peer->addr);
		if (p == NULL || p->n >= srv->per_peer)   /* per_peer >= 1: p->n > 0 */
			return "421 4.7.0 Too many sessions from your address, try again later\r\n";
		p->n++;
		peer->counted = 1;
	}
	srv->active++;
	srv->cnt.sessions++;
	return NULL;
}

/* ---- Sessions ---------------------------------------------------------- */

static void s_write(void *ctx, const char *bytes, size_t len)
{
	struct session *s = ctx;
	if (pst_buf_append(&s->out, bytes, len) < 0)
		s->write_failed = 1;
}

static void s_rcpt(void *ctx, const char *address, pst_lmtp_reply *r)
{
	struct session *s = ctx;
	pst_reply dr = { 250, "2.1.5", "Ok" };
	pst_deliver_check_rcpt(s->srv->deliver, address, &dr);
	pst_lmtp_reply_set(r, dr.code, dr.enhanced, dr.text);
}

static void s_refused(void *ctx, const pst_lmtp_txn *t, const char *address,
                      const pst_lmtp_reply *r, const char *reason)
{
	struct session *s = ctx;
	pst_lmtp_txn_refused(s->srv, t, address, r, reason);
}

static void s_data(void *ctx, const pst_lmtp_txn *t, pst_lmtp_reply *replies)
{
	struct session *s = ctx;
	pst_lmtp_txn_run(s->srv, s->pol, &s->peer, t, replies);
}

/* Write the buffered replies; -1 when the client is gone. */
static int flush_out(struct session *s)
{
	size_t off = 0;
	while (off < s->out.len && !s->write_failed) {
		ssize_t w = send(s->fd, s->out.data + off, s->out.len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
			if (poll(&pfd, 1, (int)s->srv->conf.timeout * 1000) <= 0)
				s->write_failed = 1;
			continue;
		}
		if (w <= 0)
			s->write_failed = 1;
		else
			off += (size_t)w;
	}
	pst_buf_clear(&s->out);
	return s->write_failed ? -1 : 0;
}

/* Set under srv->lock by drain(); read on every wait, without the lock. */
static int stopping(struct pst_lmtp_srv *srv)
{
	return __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the client's next bytes into buf: how many, or 0 when the session
 * is over (the client left, or it timed out or the server is stopping:
 * then the 421 is written). */
static ssize_t read_input(struct session *s, char *buf, long session_end)
{
	long idle_end = now_ms() + (long)s->srv->conf.timeout * 1000;
	for (;;) {
		if (stopping(s->srv) && !pst_lmtp_busy(s->proto)) {
			pst_lmtp_shutdown(s->proto);
			return 0;
		}
		if ((idle_end < session_end ? idle_end : session_end) <= now_ms()) {
			pst_lmtp_timeout(s->proto);
			pthread_mutex_lock(&s->srv->lock);
			s->srv->cnt.timeouts++;
			pthread_mutex_unlock(&s->srv->lock);
			return 0;
		}
		ssize_t n = recv(s->fd, buf, PST_LMTP_READ_CHUNK, 0);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return 0;
	}
}

static void session_loop(struct session *s)
{
	char *buf = malloc(PST_LMTP_READ_CHUNK);
	long session_end = now_ms() + (long)s->srv->conf.timeout * 1000 * PST_LMTP_SESSION_FACTOR;
	if (buf == NULL)
		return;
	pst_lmtp_greet(s->proto);
	while (flush_out(s) == 0) {
		ssize_t n = read_input(s, buf, session_end);
		if (n <= 0)
			break;
		if (pst_lmtp_feed(s->proto, buf, (size_t)n) == PST_LMTP_CLOSE)
			break;
	}
	flush_out(s);
	free(buf);
}

static void session_end(struct session *s)
{
	struct pst_lmtp_srv *srv = s->srv;
	struct pst_lmtp_peer peer = s->peer;
	pst_lmtp_free(&s->proto);
	pst_policy_hold_put(&srv->hold, &s->pol);
	pst_buf_free(&s->out);
	close(s->fd);
	free(s);
	pthread_mutex_lock(&srv->lock);
	peer_release(srv, &peer);
	srv->active--;
	pthread_cond_broadcast(&srv->drained);
	pthread_mutex_unlock(&srv->lock);
}

/* The pool's job: one whole session, from greeting to close. */
static void session_main(void *arg)
{
	struct session *s = arg;
	pst_lmtp_ops ops = { s_write, s_rcpt, s_data, s_refused };
	/* A client that stops reading must not hold the thread forever; a
	 * read gives up every tick to look at the clock and at stopping. */
	struct timeval tv = { .tv_sec = (time_t)s->srv->conf.timeout };
	struct timeval tick = { .tv_usec = TICK_MS * 1000 };
	if (setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick) < 0) {
		session_end(s);
		return;
	}
	pst_lmtp_limits lim = {
		.hostname = s->srv->hostname, .max_size = s->srv->conf.max_size,
		.header_reply_554 = s->srv->conf.header_reply_554,
		.xforward_allowed = s->peer.xforward_allowed,
	};
	s->proto = pst_lmtp_new(&ops, &lim, s);
	if (s->proto)
		session_loop(s);
	session_end(s);
}

static void refuse(int fd, const char *line)
{
	ssize_t w = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	close(fd);
}

static void start_session(struct pst_lmtp_srv *srv, int fd, const struct sockaddr_storage *ss,
                          int is_unix, pst_lmtp_pool *pool)
{
	struct pst_lmtp_peer peer = { 0 };
	peer_of(srv, ss, is_unix, &peer);
	pthread_mutex_lock(&srv->lock);
	const char *no = take_slot(srv, &peer, is_unix);
	if (no != NULL)
		srv->cnt.refused++;
	pthread_mutex_unlock(&srv->lock);
	if (no != NULL) {
		refuse(fd, no);
		return;
	}
	struct session *s = calloc(1, sizeof *s);
	if (s != NULL) {
		s->srv = srv;
		s->fd = fd;
		s->peer = peer;
		s->pol = pst_policy_hold_get(&srv->hold);
		if (pst_lmtp_pool_submit(pool, s) == 0)
			return;
		pst_policy_hold_put(&srv->hold, &s->pol);
		free(s);
	}
	refuse(fd, "421 4.3.0 Cannot start a session\r\n");
	pthread_mutex_lock(&srv->lock);
	peer_release(srv, &peer);
	srv->active--;
	srv->cnt.errors++;
	pthread_mutex_unlock(&srv->lock);
}

static void accept_one(struct pst_lmtp_srv *srv, struct listener *l, pst_lmtp_pool *pool)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	start_session(srv, fd, &ss, l->is_unix, pool);
}

/* ---- Signals and the main loop ----------------------------------------- */

static int signal_fd(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, set, SFD_CLOEXEC);
}

/* Handle one signal; 1 when the server should stop. */
static int on_signal(struct pst_lmtp_srv *srv, int sfd)
{
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
		return 0;
	switch (si.ssi_signo) {
	case SIGHUP: reload(srv); return 0;
	case SIGUSR1: pst_lmtp_log_stats(srv); return 0;
	case SIGUSR2: pst_lmtp_log_reopen(srv); return 0;
	default: return 1;
	}
}

static void serve(struct pst_lmtp_srv *srv, struct listener *ls, size_t nl, int sfd,
                  pst_lmtp_pool *pool)
{
	struct pollfd pfd[PST_LMTP_MAX_LISTEN + 1];
	for (size_t i = 0; i < nl; i++)
		pfd[i] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
	pfd[nl] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, nl + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((pfd[nl].revents & POLLIN) && on_signal(srv, sfd))
			break;
		for (size_t i = 0; i < nl; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(srv, &ls[i], pool);
	}
}

static void drain(struct pst_lmtp_srv *srv)
{
	pthread_mutex_lock(&srv->lock);
	__atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
	unsigned n = srv->active;
	pthread_mutex_unlock(&srv->lock);
	pst_lmtp_log_event(srv, "stopping", ",\"sessions\":%u", n);
	pthread_mutex_lock(&srv->lock);
	while (srv->active > 0)
		pthread_cond_wait(&srv->drained, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
}

/* ---- Setup ------------------------------------------------------------- */

/* Policy, DNS fixture, delivery; an exit status. */
static int load_runtime(struct pst_lmtp_srv *srv)
{
	char *why = NULL;
	pst_held_policy *p = NULL;
	if (pst_policy_hold_compile(&srv->hold, srv->conf.rules, &p, &why) < 0) {
		fprintf(stderr, "%s", why ? why : "");
		fprintf(stderr, "postern lmtp: %s: the rules do not compile\n", srv->conf.rules);
		free(why);
		return EX_CONFIG;
	}
	pst_policy_hold_swap(&srv->hold, p);
	if (pst_lmtp_metrics_rules(srv, p->policy) < 0)
		return EX_OSERR;
	if (srv->conf.dns) {
		char *errors = NULL;
		if (pst_dns_load_fixture(srv->conf.dns, &srv->dns, &errors) < 0) {
			fprintf(stderr, "%s", errors ? errors : "postern lmtp: cannot load the DNS fixture\n");
			free(errors);
			return EX_DATAERR;
		}
	}
	pst_deliver_opts dopts = {
		.recipient_delimiter = srv->conf.recipient_delimiter,
		.users_file = srv->conf.users, .hostname = srv->hostname,
		.timeout_ms = srv->conf.timeout * 1000,
	};
	char err[512] = "";
	if (pst_deliver_open(srv->conf.deliver, &dopts, &srv->deliver, err, sizeof err) < 0) {
		fprintf(stderr, "postern lmtp: --deliver %s: %s\n", srv->conf.deliver, err);
		return EX_CANTCREAT;
	}
	return 0;
}

/* --pid-file: refuse to start when it names a live postern. 0, or an exit
 * status after printing why. */
static int check_pid_file(struct pst_lmtp_srv *srv)
{
	long pid;
	if (srv->conf.pid_file == NULL)
		return 0;
	if (pst_pidfile_read(srv->conf.pid_file, &pid) == 0 && pid != (long)getpid() &&
	    pst_pidfile_is_postern(pid)) {
		fprintf(stderr, "postern lmtp: --pid-file %s: postern is already running as PID %ld\n",
		        srv->conf.pid_file, pid);
		return EX_CANTCREAT;
	}
	if (realpath(srv->conf.rules, srv->rules_abs) == NULL)
		snprintf(srv->rules_abs, sizeof srv->rules_abs, "%s", srv->conf.rules);
	return 0;
}

/* --pid-file: once ready (after --user), the PID and the start's state. */
static int write_pid_file(struct pst_lmtp_srv *srv)
{
	if (srv->conf.pid_file == NULL)
		return 0;
	if (pst_pidfile_write(srv->conf.pid_file) < 0) {
		fprintf(stderr, "postern lmtp: --pid-file %s: %s\n", srv->conf.pid_file, strerror(errno));
		return EX_CANTCREAT;
	}
	srv->pid_written = 1;
	report_reload(srv, 1, NULL);
	return 0;
}

/* At exit: the pid file (when it still names us) and the state file. */
static void remove_pid_file(struct pst_lmtp_srv *srv)
{
	long pid;
	char state[4200];
	if (!srv->pid_written)
		return;
	if (pst_reload_state_path(srv->conf.pid_file, state, sizeof state) == 0)
		unlink(state);
	if (pst_pidfile_read(srv->conf.pid_file, &pid) == 0 && pid == (long)getpid())
		unlink(srv->conf.pid_file);
}

static int setup(struct pst_lmtp_srv *srv, struct listener *ls)
{
	if (srv->conf.hostname)
		snprintf(srv->hostname, sizeof srv->hostname, "%s", srv->conf.hostname);
	else if (gethostname(srv->hostname, sizeof srv->hostname) < 0)
		snprintf(srv->hostname, sizeof srv->hostname, "localhost");
	srv->hostname[sizeof srv->hostname - 1] = '\0';
	if (parse_xforward_from(srv) < 0 || check_listeners(srv) < 0)
		return EX_USAGE;
	int rc = check_pid_file(srv);
	if (rc != 0)
		return rc;
	uid_t sock_uid;
	gid_t sock_gid;
	if (resolve_socket_ids(srv, &sock_uid, &sock_gid) < 0)
		return EX_NOPERM;
	errno = 0;
	if (open_listeners(srv, ls) < 0 || chown_listeners(srv, ls, sock_uid, sock_gid) < 0)
		return EX_OSERR;
	if (srv->conf.metrics && pst_lmtp_metrics_open(srv, srv->conf.metrics, &srv->metrics) < 0)
		return EX_OSERR;
	if (pst_lmtp_log_open(srv) < 0)
		return EX_CANTCREAT;
	if (srv->conf.user && pst_drop_privileges("postern lmtp", srv->conf.user) < 0)
		return EX_NOPERM;
	rc = load_runtime(srv);
	if (rc == 0 && pst_lmtp_store_open(srv) < 0)
		return EX_CANTCREAT;
	return rc != 0 ? rc : write_pid_file(srv);
}

int pst_lmtp_server_run(const pst_lmtp_server_conf *conf)
{
	struct pst_lmtp_srv *srv = calloc(1, sizeof *srv);
	struct listener ls[PST_LMTP_MAX_LISTEN];
	if (srv == NULL)
		return EX_OSERR;
	srv->conf = *conf;
	if (srv->conf.max_sessions == 0)
		srv->conf.max_sessions = 1;
	srv->per_peer = conf->max_sessions_per_peer ? conf->max_sessions_per_peer
	                : srv->conf.max_sessions / 2 ? srv->conf.max_sessions / 2 : 1;
	srv->peers = calloc(srv->conf.max_sessions, sizeof *srv->peers);
	if (srv->peers == NULL) {
		free(srv);
		return EX_OSERR;
	}
	srv->log_fd = -1;
	srv->started = time(NULL);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->drained, NULL);
	pthread_mutex_init(&srv->hold.lock, NULL);
	pthread_cond_init(&srv->hold.idle, NULL);
	size_t nl = conf->nlisten;
	for (size_t i = 0; i < nl; i++)
		ls[i].fd = -1;
	sigset_t set;
	int sfd = signal_fd(&set);
	int rc = sfd < 0 ? EX_OSERR : setup(srv, ls);
	if (rc == 0 && srv->metrics && pst_lmtp_metrics_start(srv->metrics) < 0)
		rc = EX_OSERR;
	/* Threads start after the signals are blocked, so they inherit the mask. */
	pst_lmtp_pool *pool = NULL;
	if (rc == 0 && (pool = pst_lmtp_pool_new(conf->max_sessions ? conf->max_sessions : 1,
	                                         PST_LMTP_STACK_BYTES, session_main)) == NULL)
		rc = EX_OSERR;
	if (rc == 0) {
		pst_held_policy *p = pst_policy_hold_get(&srv->hold);
		pst_lmtp_log_event(srv, "start", ",\"listeners\":%zu,\"generation\":%u", nl,
		                   p->generation);
		warn_if_no_rules(srv, p);
		pst_policy_hold_put(&srv->hold, &p);
		pst_lmtp_start_warnings(srv);
		serve(srv, ls, nl, sfd, pool);
		close_listeners(ls, nl);
		drain(srv);
		pst_lmtp_pool_free(&pool);
		pst_lmtp_store_stop(srv);
		pst_lmtp_log_stats(srv);
		pst_lmtp_log_event(srv, "stop", "%s", "");
	}
	close_listeners(ls, nl);
	pst_lmtp_metrics_stop(&srv->metrics);
	remove_pid_file(srv);
	if (sfd >= 0)
		close(sfd);
	(void)pst_policy_hold_release(&srv->hold);   /* -1: a session still holds it */
	pst_store_close(&srv->store);
	pst_deliver_close(&srv->deliver);
	pst_dns_free(&srv->dns);
	if (srv->log_kind != PST_LOG_STDERR || srv->log_fd >= 0)
		pst_lmtp_log_close(srv);
	pthread_cond_destroy(&srv->drained);
	pthread_mutex_destroy(&srv->lock);
	pthread_mutex_destroy(&srv->hold.lock);
	pthread_cond_destroy(&srv->hold.idle);
	pst_lmtp_metrics_free_counters(&srv->cnt.m);
	free(srv->peers);
	free(srv);
	return rc;
}
