/*
 * supervise.c: the process structure of "postern milter" (supervise.h):
 * the log sink, the reference-counted policy and its reload, and the
 * supervisor.
 *
 * Why a supervisor: libmilter's own signal thread sigwait()s SIGHUP,
 * SIGTERM and SIGINT and stops the milter on SIGHUP; a second thread of
 * ours sigwait()ing SIGHUP would race it. So the process that starts (the
 * one the pid file names) keeps every signal to itself: with SIGHUP,
 * SIGTERM, SIGINT and SIGCHLD blocked it forks one worker, which runs
 * libmilter, and sigwait()s:
 *   - SIGHUP: one byte down a pipe to the worker, whose reload thread
 *     compiles the rule file anew and swaps the policy in when it compiles
 *     (a "reload" event either way, and FILE.reload written for "postern
 *     reload" when --pid-file is given); SIGHUPs that come while a reload
 *     runs may be taken together as one;
 *   - SIGTERM, SIGINT: SIGTERM to the worker (libmilter stops listening;
 *     the worker waits a bounded time for the decisions in progress);
 *   - SIGCHLD: the worker's end. The supervisor exits with the worker's
 *     exit status; when the worker died of a signal (a crash, kill -9) it
 *     logs an "error" event and exits 70. It never restarts the worker
 *     (a service manager's Restart= does that).
 * The worker asks the kernel for SIGTERM when the supervisor dies
 * (PR_SET_PDEATHSIG). The worker opens the listen socket, drops
 * privileges (--user) and says it is ready down a second pipe; only then
 * does the supervisor drop its own, write the pid file and the start's
 * state file (seq 0), and take signals. A worker that fails before (it
 * cannot listen, the report store cannot be opened) makes the supervisor
 * exit with its status. At exit the
 * supervisor removes the pid file and the state file (when the pid file
 * still names it) and a Unix socket the worker left (root's libmilter
 * leaves it), when it is still the one the worker made.
 *
 * Policies: a decision takes a reference on the current policy and drops
 * it when done, so a reload never frees a policy a message is deciding
 * under; the last reference frees a replaced one (lmtp/policyhold.h, as
 * postern lmtp does). After libmilter stops, the holder refuses new
 * references and waits (CLOSE_WAIT_MS at most) for the decisions in
 * progress.
 *
 * The log sink writes one line and its newline with one writev() under a
 * lock (pst_write_line; O_APPEND for a file), or one syslog() call; both
 * processes share it. A failed write is dropped: logging never stops mail.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "lmtp/pidfile.h"
#include "lmtp/policyhold.h"
#include "milter/metrics.h"
#include "milter/supervise.h"
#include "util/buf.h"
#include "util/fdio.h"
#include "util/privdrop.h"

#define CLOSE_WAIT_MS 10000     /* at stop, how long decisions in progress may take */

/* ---- The log sink -------------------------------------------------------- */

static struct {
	int syslog;
	int fd;                 /* -1 with syslog */
	int own_fd;             /* a file we opened */
	pthread_mutex_t lock;
} lg = { .fd = STDERR_FILENO, .lock = PTHREAD_MUTEX_INITIALIZER };

int pst_milter_log_open(const char *dest)
{
	if (dest == NULL || strcmp(dest, "stderr") == 0) {
		lg.fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(dest, "syslog") == 0) {
		lg.syslog = 1;
		lg.fd = -1;
		openlog("postern", LOG_PID | LOG_NDELAY, LOG_MAIL);
		return 0;
	}
	lg.fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (lg.fd < 0) {
		fprintf(stderr, "postern milter: cannot open %s: %s\n", dest, strerror(errno));
		return -1;
	}
	lg.own_fd = 1;
	return 0;
}

void pst_milter_log_write(const char *line, size_t len)
{
	if (lg.syslog) {
		syslog(LOG_INFO, "%.*s", (int)len, line);
		return;
	}
	if (lg.fd < 0)
		return;
	pthread_mutex_lock(&lg.lock);
	(void)pst_write_line(lg.fd, line, len);   /* a log that cannot be written has no one to tell */
	pthread_mutex_unlock(&lg.lock);
}

void pst_milter_log_event(const char *event, const char *fmt, ...)
{
	pst_buf b = PST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = pst_buf_log_event(&b, event, fmt, ap);
	va_end(ap);
	if (rc == 0)
		pst_milter_log_write(b.data, b.len);
	pst_buf_free(&b);
}

void pst_milter_log_close(void)
{
	if (lg.own_fd && lg.fd >= 0)
		close(lg.fd);
	if (lg.syslog)
		closelog();
	lg.fd = -1;
	lg.own_fd = lg.syslog = 0;
}

/* ---- Policies ------------------------------------------------------------ */

/* The process's policy holder (libmilter gives callbacks no context). */
static pst_policy_hold hold = PST_POLICY_HOLD_INIT;

int pst_milter_policy_load(const char *rules)
{
	pst_held_policy *p = NULL;
	char *why = NULL;
	if (pst_policy_hold_compile(&hold, rules, &p, &why) < 0) {
		fprintf(stderr, "%s", why ? why : "");
		fprintf(stderr, "postern milter: %s does not compile\n", rules);
		free(why);
		return -1;
	}
	pst_policy_hold_swap(&hold, p);
	return 0;
}

pst_held_policy *pst_milter_policy_get(void)
{
	return pst_policy_hold_get(&hold);
}

void pst_milter_policy_put(pst_held_policy **pp)
{
	pst_policy_hold_put(&hold, pp);
}

int pst_milter_policy_free(void)
{
	return pst_policy_hold_release(&hold);
}

/* ---- The worker's reload ------------------------------------------------- */

static struct {
	const pst_milter_conf *conf;
	char rules_abs[4096];   /* conf->rules made absolute, or as given */
	long supervisor;        /* the PID the pid file names */
	unsigned long seq;      /* reloads done */
	int ctl_fd;             /* the supervisor's bytes */
	int stop[2];            /* a byte here ends the reload thread */
	pthread_t thread;
	int running;
} wk = { .ctl_fd = -1, .stop = { -1, -1 } };

/* With --pid-file: the outcome into FILE.reload (pidfile.h), the first
 * line of why when refused. A failure is logged, never fatal. */
static void write_state(const pst_milter_conf *conf, long pid, unsigned long seq, int ok,
                        const char *why)
{
	if (conf->pid_file == NULL)
		return;
	pst_reload_state st = { .pid = pid, .seq = seq, .ok = ok,
	                        .generation = pst_policy_hold_generation(&hold) };
	snprintf(st.rules, sizeof st.rules, "%s", wk.rules_abs);
	size_t n = why ? strcspn(why, "\n") : 0;
	snprintf(st.error, sizeof st.error, "%.*s", (int)n, why ? why : "");
	if (pst_reload_state_write(conf->pid_file, &st) < 0)
		pst_milter_log_event("error", ",\"why\":\"cannot write the reload state file\"");
}

/* A policy without rules accepts everything: never silently. */
static void warn_if_no_rules(const pst_held_policy *p)
{
	if (pst_policy_rule_count(p->policy) != 0)
		return;
	pst_milter_log_event("warning", ",\"generation\":%u,\"warning\":"
	                     "\"the policy has no rules: every message is accepted\"", p->generation);
}

static void reload(void)
{
	pst_held_policy *np = NULL;
	char *why = NULL;
	const char *rules = wk.conf->rules;
	pst_buf r = PST_BUF_INIT, e = PST_BUF_INIT;
	pst_buf_json_str(&r, rules, strlen(rules));
	wk.seq++;
	if (pst_policy_hold_compile(&hold, rules, &np, &why) < 0) {
		const char *text = why ? why : "cannot compile";
		pst_buf_json_str(&e, text, strlen(text));
		pst_milter_metrics_reload(0);
		pst_milter_log_event("reload", ",\"ok\":false,\"rules\":%s,\"kept\":%u,\"error\":%s",
		                     pst_buf_str(&r), pst_policy_hold_generation(&hold), pst_buf_str(&e));
		write_state(wk.conf, wk.supervisor, wk.seq, 0, text);
	} else {
		pst_policy_hold_swap(&hold, np);
		pst_milter_metrics_reload(1);
		pst_milter_log_event("reload", ",\"ok\":true,\"rules\":%s,\"generation\":%u",
		                     pst_buf_str(&r), np->generation);
		write_state(wk.conf, wk.supervisor, wk.seq, 1, NULL);
		warn_if_no_rules(np);
	}
	free(why);
	pst_buf_free(&r);
	pst_buf_free(&e);
}

/* The reload thread: one reload per batch of the supervisor's bytes, until
 * a byte on wk.stop or the supervisor's end of the pipe closes. */
static void *reload_main(void *arg)
{
	(void)arg;
	struct pollfd p[2] = { { .fd = wk.ctl_fd, .events = POLLIN },
	                       { .fd = wk.stop[0], .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		char buf[64];
		ssize_t n = read(wk.ctl_fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		reload();
	}
}

static int start_reload_thread(void)
{
	if (pipe2(wk.stop, O_CLOEXEC) < 0)
		return -1;
	if (pthread_create(&wk.thread, NULL, reload_main, NULL) != 0)
		return -1;
	wk.running = 1;
	return 0;
}

static void stop_reload_thread(void)
{
	if (wk.running && write(wk.stop[1], "x", 1) == 1)
		pthread_join(wk.thread, NULL);
	wk.running = 0;
	for (int i = 0; i < 2; i++)
		if (wk.stop[i] >= 0)
			close(wk.stop[i]);
	if (wk.ctl_fd >= 0)
		close(wk.ctl_fd);
	wk.ctl_fd = wk.stop[0] = wk.stop[1] = -1;
}

/* The worker process: listen, drop privileges, say so, serve. */
static int worker_main(const pst_milter_conf *conf, const pst_milter_worker *w, long supervisor,
                       int ctl_fd, int ready_fd)
{
	wk.conf = conf;
	wk.supervisor = supervisor;
	wk.ctl_fd = ctl_fd;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != (pid_t)supervisor)
		return EX_OSERR;        /* the supervisor is already gone */
	int rc = w->open(conf);
	if (rc != 0)
		return rc;
	if (conf->user && pst_drop_privileges("postern milter", conf->user) < 0)
		return EX_NOPERM;
	if ((rc = w->start(conf)) != 0)
		return rc;
	if (start_reload_thread() < 0) {
		fprintf(stderr, "postern milter: cannot start the reload thread\n");
		return EX_OSERR;
	}
	if (write(ready_fd, "R", 1) != 1) {
		stop_reload_thread();
		return EX_OSERR;
	}
	close(ready_fd);
	pst_buf l = PST_BUF_INIT;
	pst_buf_json_str(&l, conf->listen, strlen(conf->listen));
	pst_milter_log_event("start", ",\"listen\":%s,\"pid\":%ld,\"worker\":%ld,\"generation\":%u",
	                     pst_buf_str(&l), supervisor, (long)getpid(),
	                     pst_policy_hold_generation(&hold));
	pst_buf_free(&l);
	pst_held_policy *p = pst_milter_policy_get();
	if (p)
		warn_if_no_rules(p);
	pst_milter_policy_put(&p);
	rc = w->serve(conf);
	stop_reload_thread();
	if (pst_policy_hold_close(&hold, CLOSE_WAIT_MS) < 0)
		pst_milter_log_event("warning", ",\"warning\":\"decisions still in progress at exit\"");
	else
		w->finish(conf);
	return rc;
}

/* ---- The supervisor -------------------------------------------------------- */

/* --pid-file naming a live postern: refuse to start. 0 or an exit status. */
static int check_pid_file(const pst_milter_conf *conf)
{
	long pid;
	if (conf->pid_file == NULL)
		return 0;
	if (pst_pidfile_read(conf->pid_file, &pid) == 0 && pid != (long)getpid() &&
	    pst_pidfile_is_postern(pid)) {
		fprintf(stderr, "postern milter: --pid-file %s: postern is already running as PID %ld\n",
		        conf->pid_file, pid);
		return EX_CANTCREAT;
	}
	return 0;
}

/* The worker's exit status, 70 after logging when a signal ended it. */
static int exit_status(long pid, int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	pst_milter_log_event("error", ",\"worker\":%ld,\"signal\":%d,\"why\":\"the worker died of "
	                     "signal %d (%s); not restarted\"", pid, sig, sig, strsignal(sig));
	fprintf(stderr, "postern milter: the worker (PID %ld) died of signal %d\n", pid, sig);
	return EX_SOFTWARE;
}

/* Wait for the worker's ready byte: 0, or its exit status when it ended
 * first. A SIGTERM or SIGINT meanwhile is passed on at once (the worker
 * then stops as soon as libmilter runs), not left until it is ready. */
static int wait_ready(int fd, pid_t pid)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	const struct timespec now = { 0, 0 };
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 100);
		if (n > 0 || (n < 0 && errno != EINTR))
			break;
		if (sigtimedwait(&stop, NULL, &now) > 0)
			(void)kill(pid, SIGTERM);
	}
	char c;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n == 1)
		return 0;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EX_OSERR;
	int rc = exit_status((long)pid, st);
	return rc ? rc : EX_SOFTWARE;
}

/* A Unix --listen's path, or NULL. */
static const char *unix_path(const char *listen)
{
	if (strncmp(listen, "unix:", 5) == 0 || strncmp(listen, "local:", 6) == 0)
		return strchr(listen, ':') + 1;
	return strchr(listen, ':') ? NULL : listen;
}

struct sup {
	const pst_milter_conf *conf;
	pid_t worker;
	int ctl_fd;
	int pid_written;
	struct stat sock;       /* the Unix socket the worker made */
	int have_sock;
};

/* Once the worker is ready: privileges, pid file, the start's state. */
static int ready(struct sup *s)
{
	const char *path = unix_path(s->conf->listen);
	s->have_sock = path && stat(path, &s->sock) == 0 && S_ISSOCK(s->sock.st_mode);
	if (s->conf->user && pst_drop_privileges("postern milter", s->conf->user) < 0)
		return EX_NOPERM;
	if (s->conf->pid_file == NULL)
		return 0;
	if (pst_pidfile_write(s->conf->pid_file) < 0) {
		fprintf(stderr, "postern milter: --pid-file %s: %s\n", s->conf->pid_file, strerror(errno));
		return EX_CANTCREAT;
	}
	s->pid_written = 1;
	write_state(s->conf, (long)getpid(), 0, 1, NULL);
	return 0;
}

/* sigwait() until the worker is gone: its exit status. */
static int supervise(struct sup *s, const sigset_t *set)
{
	for (;;) {
		int sig = 0, st;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP && write(s->ctl_fd, "H", 1) < 0 && errno != EAGAIN)
			pst_milter_log_event("error", ",\"why\":\"cannot pass SIGHUP to the worker\"");
		if (sig == SIGTERM || sig == SIGINT)
			(void)kill(s->worker, SIGTERM);
		if (sig != SIGCHLD)
			continue;
		pid_t r = waitpid(s->worker, &st, WNOHANG);
		if (r == s->worker)
			return exit_status((long)r, st);
		if (r < 0 && errno == ECHILD)
			return EX_SOFTWARE;
	}
}

/* At exit: the pid file (when it still names us), its state file, and a
 * Unix socket left behind when it is still the worker's. */
static void clean_up(struct sup *s)
{
	struct stat now;
	const char *path = unix_path(s->conf->listen);
	if (s->have_sock && stat(path, &now) == 0 && now.st_dev == s->sock.st_dev &&
	    now.st_ino == s->sock.st_ino)
		(void)unlink(path);
	if (!s->pid_written)
		return;
	char state[4200];
	long pid;
	if (pst_reload_state_path(s->conf->pid_file, state, sizeof state) == 0)
		(void)unlink(state);
	if (pst_pidfile_read(s->conf->pid_file, &pid) == 0 && pid == (long)getpid())
		(void)unlink(s->conf->pid_file);
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

int pst_milter_supervise(const pst_milter_conf *conf, const pst_milter_worker *w, int *is_worker)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	*is_worker = 0;
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return EX_OSERR;
	signal(SIGPIPE, SIG_IGN);
	int rc = check_pid_file(conf);
	if (rc != 0)
		return rc;
	if (realpath(conf->rules, wk.rules_abs) == NULL)
		snprintf(wk.rules_abs, sizeof wk.rules_abs, "%s", conf->rules);
	int ctl[2] = { -1, -1 }, rdy[2] = { -1, -1 };
	if (pipe2(ctl, O_CLOEXEC) < 0 || pipe2(rdy, O_CLOEXEC) < 0 ||
	    fcntl(ctl[1], F_SETFL, O_NONBLOCK) < 0) {
		close_pair(ctl);
		close_pair(rdy);
		return EX_OSERR;
	}
	long self = (long)getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		*is_worker = 1;
		close(ctl[1]);
		close(rdy[0]);
		rc = worker_main(conf, w, self, ctl[0], rdy[1]);
		return rc;
	}
	close(ctl[0]);
	close(rdy[1]);
	if (pid < 0) {
		fprintf(stderr, "postern milter: cannot start the worker: %s\n", strerror(errno));
		close(ctl[1]);
		close(rdy[0]);
		return EX_OSERR;
	}
	struct sup s = { .conf = conf, .worker = pid, .ctl_fd = ctl[1] };
	rc = wait_ready(rdy[0], pid);
	if (rc != 0) {                  /* the worker is gone (reaped) */
		close(ctl[1]);
		return rc;
	}
	if ((rc = ready(&s)) != 0)
		(void)kill(pid, SIGTERM);
	int wrc = supervise(&s, &set);
	rc = rc ? rc : wrc;
	if (rc == 0 || s.pid_written)
		pst_milter_log_event("stop", ",\"status\":%d", rc);
	close(ctl[1]);
	clean_up(&s);
	return rc;
}
