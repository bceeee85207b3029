/* Tests for engine/deliver/relay.c against a real Dovecot LMTP server
 * (Debian dovecot-lmtpd) on a free 127.0.0.1 port: the test writes its
 * config into a temporary directory, starts it, and stops it by the pid in
 * base_dir/master.pid. If Dovecot cannot run, the tests fail. Dovecot runs
 * as root when the test does (mail stored as nobody) or unprivileged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deliver/deliver.h"

typedef struct dovecot {
	char dir[256];
	int port;
	pid_t pid;      /* from base_dir/master.pid */
	pid_t child;    /* what we forked (the same process, run with -F) */
} dovecot;

static dovecot dv;

static const pst_deliver_env ENV = {
	"sender@example.org", "QIDR1", NULL, NULL, NULL, "mx.example.net", "127.0.0.1"
};

/* A port nothing listens on right now. */
static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static int can_connect(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int dovecot_start(void **state)
{
	(void)state;
	char path[512], text[4096];
	/* As root, mail is stored as nobody (Dovecot refuses uid 0). */
	struct passwd *pw = geteuid() == 0 ? getpwnam("nobody") : NULL;
	uid_t uid = pw ? pw->pw_uid : geteuid();
	gid_t gid = pw ? pw->pw_gid : getegid();

	snprintf(dv.dir, sizeof dv.dir, "/tmp/test_relay.XXXXXX");
	if (mkdtemp(dv.dir) == NULL)
		return -1;
	chmod(dv.dir, 0755);
	if (dv.port == 0)
		dv.port = free_port();   /* a restart keeps its port */
	snprintf(path, sizeof path, "%s/home", dv.dir);
	mkdir(path, 0755);
	if (geteuid() == 0 && chown(path, uid, gid) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/users", dv.dir);
	snprintf(text, sizeof text,
		 "alice@example.com::%u:%u::%s/home/alice::\n"
		 "bob@example.com::%u:%u::%s/home/bob::\n"
		 "carol@example.com::%u:%u::%s/home/carol::\n",
		 uid, gid, dv.dir, uid, gid, dv.dir, uid, gid, dv.dir);
	write_file(path, text);
	/* Unprivileged: Dovecot's internal and login users are ourselves. */
	char unpriv[512] = "";
	struct passwd *me = getpwuid(geteuid());
	struct group *mygr = getgrgid(getegid());
	if (geteuid() != 0 && me != NULL && mygr != NULL)
		snprintf(unpriv, sizeof unpriv,
			 "default_internal_user = %s\ndefault_login_user = %s\n"
			 "default_internal_group = %s\nfirst_valid_uid = %u\n"
			 "first_valid_gid = %u\n", me->pw_name, me->pw_name, mygr->gr_name,
			 (unsigned)uid, (unsigned)gid);
	snprintf(path, sizeof path, "%s/dovecot.conf", dv.dir);
	snprintf(text, sizeof text,
		 "%s"
		 "base_dir = %s/run\n"
		 "state_dir = %s/state\n"
		 "log_path = %s/dovecot.log\n"
		 "info_log_path = %s/dovecot.log\n"
		 "protocols = lmtp\n"
		 "listen = 127.0.0.1\n"
		 "ssl = no\n"
		 "mail_location = maildir:~/Maildir\n"
		 "recipient_delimiter = +\n"
		 "lmtp_save_to_detail_mailbox = yes\n"
		 "lda_mailbox_autocreate = yes\n"
		 "passdb {\n  driver = static\n  args = nopassword=y\n}\n"
		 "userdb {\n  driver = passwd-file\n  args = username_format=%%u %s/users\n}\n"
		 "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n"
		 "    port = %d\n  }\n}\n",
		 unpriv, dv.dir, dv.dir, dv.dir, dv.dir, dv.dir, dv.port);
	write_file(path, text);
	/* In the foreground (-F) as our child, in a process group of its own,
	 * with its output in the log and SIGTERM when the test dies, so a
	 * crashed test neither leaves it running nor holds the TAP pipe. */
	char logp[512];
	snprintf(logp, sizeof logp, "%s/dovecot.out", dv.dir);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(125);
		execlp("dovecot", "dovecot", "-F", "-c", path, (char *)NULL);
		execl("/usr/sbin/dovecot", "dovecot", "-F", "-c", path, (char *)NULL);
		_exit(127);
	}
	if (child < 0)
		return -1;
	dv.child = child;
	snprintf(path, sizeof path, "%s/run/master.pid", dv.dir);
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(path, "r");
		long pid = 0;
		int status;
		if (waitpid(child, &status, WNOHANG) == child) {
			dv.child = 0;
			fprintf(stderr, "# dovecot exited at start (is dovecot-lmtpd installed?); "
				"see %s\n", logp);
			return -1;
		}
		if (f != NULL) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid > 0 && can_connect(dv.port)) {
			dv.pid = (pid_t)pid;
			return 0;
		}
		usleep(100000);
	}
	fprintf(stderr, "# dovecot is not listening on port %d\n", dv.port);
	return -1;
}

/* Reap the master within ms milliseconds; 1 if it is gone. */
static int dovecot_reap(int ms)
{
	for (int i = 0; dv.child > 0 && i <= ms / 10; i++) {
		if (waitpid(dv.child, NULL, WNOHANG) == dv.child)
			dv.child = 0;
		else
			usleep(10000);
	}
	return dv.child == 0;
}

static int dovecot_stop(void **state)
{
	(void)state;
	char cmd[600];

	if (dv.pid > 0 && kill(dv.pid, SIGTERM) == 0)
		dovecot_reap(5000);
	if (dv.pid > 0)
		kill(-dv.pid, SIGKILL);   /* whatever is left of its group */
	if (dv.child > 0) {
		kill(dv.child, SIGKILL);
		dovecot_reap(5000);
	}
	dv.pid = 0;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dv.dir);
	if (dv.dir[0] != '\0' && system(cmd) != 0)
		return -1;
	return 0;
}

static pst_deliver *open_relay(int port, char delimiter, unsigned timeout_ms)
{
	char target[64], err[256] = "";
	pst_deliver_opts o = { delimiter, NULL, "postern.test", timeout_ms };
	pst_deliver *d = NULL;

	snprintf(target, sizeof target, "lmtp:127.0.0.1:%d", port);
	if (pst_deliver_open(target, &o, &d, err, sizeof err) != 0)
		fail_msg("open %s: %s", target, err);
	return d;
}

/* The files in a user's folder (".": the inbox); names malloc'd into out. */
static int list_new(const char *user, const char *folder, char **out, int max)
{
	char path[700];
	snprintf(path, sizeof path, "%s/home/%s/Maildir/%s/new", dv.dir, user, folder);
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n < max) {
			char full[1000];
			snprintf(full, sizeof full, "%s/%s", path, e->d_name);
			out[n] = strdup(full);
		}
		n++;
	}
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	assert_non_null(f);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void free_list(char **l, int n)
{
	for (int i = 0; i < n && i < 64; i++)
		free(l[i]);
}

/* The file in user's folder whose text contains needle (malloc'd), or NULL. */
static char *find_msg(const char *user, const char *folder, const char *needle)
{
	char *names[64];
	char *found = NULL;
	int n = list_new(user, folder, names, 64);
	for (int i = 0; i < n && i < 64; i++) {
		char *t = slurp(names[i]);
		if (found == NULL && strstr(t, needle) != NULL)
			found = t;
		else
			free(t);
	}
	free_list(names, n);
	return found;
}

/* The Received id Dovecot wrote ("id XYZ"), into out. */
static void received_id(const char *msg, char *out, size_t n)
{
	const char *p = strstr(msg, "\tid ");
	assert_non_null(p);
	p += 4;
	size_t len = strcspn(p, "\r\n ");
	assert_true(len < n);
	memcpy(out, p, len);
	out[len] = '\0';
}

static void delivers_our_bytes(void **state)
{
	(void)state;
	pst_deliver *d = open_relay(dv.port, 0, 10000);
	const char copy[] = "X-Edited: by postern\n"
			    "Subject: bytes-test\n"
			    "\n"
			    ".leading dot line\n"
			    "..two dots\n"
			    "crlf line\r\n"
			    ".\n"
			    "end\n";
	pst_deliver_rcpt r = { "alice@example.com", NULL, copy, strlen(copy), { 0, "", "" } };

	pst_deliver_transaction(d, &ENV, &r, 1);
	assert_int_equal(r.reply.code, 250);
	assert_string_equal(r.reply.enhanced, "2.0.0");
	char *got = find_msg("alice", ".", "bytes-test");
	assert_non_null(got);
	/* Dovecot stores LF line endings: our copy, dot-unstuffed, unchanged. */
	const char want[] = "X-Edited: by postern\nSubject: bytes-test\n\n.leading dot line\n"
			    "..two dots\ncrlf line\n.\nend\n";
	const char *ours = strstr(got, "X-Edited: by postern\n");
	assert_non_null(ours);
	assert_string_equal(ours, want);
	assert_non_null(strstr(got, "Return-Path: <sender@example.org>\n"));
	assert_non_null(strstr(got, "Delivered-To: alice@example.com\n"));
	free(got);
	pst_deliver_close(&d);
}

static void groups_identical_copies(void **state)
{
	(void)state;
	pst_deliver *d = open_relay(dv.port, 0, 10000);
	pst_deliver_stats st;
	char a[] = "Subject: group-test\n\nsame\n";
	char b[] = "Subject: group-test\n\nsame\n";    /* same bytes, other buffer */
	char c[] = "Subject: group-test\n\nother\n";
	pst_deliver_rcpt r[3] = {
		{ "alice@example.com", NULL, a, strlen(a), { 0, "", "" } },
		{ "carol@example.com", NULL, c, strlen(c), { 0, "", "" } },
		{ "bob@example.com", NULL, b, strlen(b), { 0, "", "" } },
	};

	pst_deliver_transaction(d, &ENV, r, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].reply.code, 250);
	pst_deliver_get_stats(d, &st);
	assert_int_equal(st.transactions, 2);
	assert_int_equal(st.connections, 1);
	/* Dovecot saw alice and bob in one transaction: one Received id, and
	 * no per-recipient Delivered-To; carol in another. */
	char *ma = find_msg("alice", ".", "group-test");
	char *mb = find_msg("bob", ".", "group-test");
	char *mc = find_msg("carol", ".", "group-test");
	assert_non_null(ma);
	assert_non_null(mb);
	assert_non_null(mc);
	char ida[64], idb[64], idc[64];
	received_id(ma, ida, sizeof ida);
	received_id(mb, idb, sizeof idb);
	received_id(mc, idc, sizeof idc);
	assert_string_equal(ida, idb);
	assert_string_not_equal(ida, idc);
	assert_null(strstr(ma, "Delivered-To:"));
	assert_non_null(strstr(mc, "Delivered-To: carol@example.com"));
	assert_non_null(strstr(mc, "\n\nother\n"));
	free(ma);
	free(mb);
	free(mc);

	/* The next transaction reuses the pooled connection. */
	pst_deliver_rcpt r2 = { "alice@example.com", NULL, a, strlen(a), { 0, "", "" } };
	pst_deliver_transaction(d, &ENV, &r2, 1);
	assert_int_equal(r2.reply.code, 250);
	pst_deliver_get_stats(d, &st);
	assert_int_equal(st.transactions, 3);
	assert_int_equal(st.connections, 1);
	pst_deliver_close(&d);
}

static void maps_refusals(void **state)
{
	(void)state;
	pst_deliver *d = open_relay(dv.port, 0, 10000);
	const char m[] = "Subject: refusal-test\n\nx\n";
	pst_deliver_rcpt r[4] = {
		{ "alice@example.com", NULL, m, strlen(m), { 0, "", "" } },
		{ "nobody@example.com", NULL, m, strlen(m), { 0, "", "" } },
		{ "bob@example.com", NULL, m, strlen(m), { 0, "", "" } },
		{ "../x@example.com", NULL, m, strlen(m), { 0, "", "" } },
	};

	pst_deliver_transaction(d, &ENV, r, 4);
	assert_int_equal(r[0].reply.code, 250);
	assert_int_equal(r[1].reply.code, 550);
	assert_string_equal(r[1].reply.enhanced, "5.1.1");
	assert_non_null(strstr(r[1].reply.text, "User doesn't exist"));
	assert_int_equal(r[2].reply.code, 250);
	assert_int_equal(r[3].reply.code, 550);
	assert_string_equal(r[3].reply.enhanced, "5.1.3");
	char *mb = find_msg("bob", ".", "refusal-test");
	assert_non_null(mb);
	free(mb);

	/* Every recipient refused: nothing sent, connection still good. */
	pst_deliver_rcpt r2 = { "nobody@example.com", NULL, m, strlen(m), { 0, "", "" } };
	pst_deliver_transaction(d, &ENV, &r2, 1);
	assert_int_equal(r2.reply.code, 550);
	pst_deliver_rcpt r3 = { "carol@example.com", NULL, m, strlen(m), { 0, "", "" } };
	pst_deliver_transaction(d, &ENV, &r3, 1);
	assert_int_equal(r3.reply.code, 250);
	pst_deliver_stats st;
	pst_deliver_get_stats(d, &st);
	assert_int_equal(st.connections, 1);
	pst_deliver_close(&d);
}

static void quarantine_detail(void **state)
{
	(void)state;
	pst_deliver *d = open_relay(dv.port, '+', 10000);
	const char m[] = "Subject: quarantine-test\n\nq\n";
	pst_deliver_rcpt r[2] = {
		{ "bob+list@example.com", ".Quarantine", m, strlen(m), { 0, "", "" } },
		{ "alice@example.com", "Junk", m, strlen(m), { 0, "", "" } },
	};

	pst_deliver_transaction(d, &ENV, r, 2);
	assert_int_equal(r[0].reply.code, 250);
	assert_int_equal(r[1].reply.code, 250);
	char *mb = find_msg("bob", ".Quarantine", "quarantine-test");
	assert_non_null(mb);
	assert_non_null(strstr(mb, "X-Postern-Action: quarantine; folder=Quarantine\n"
				   "Subject: quarantine-test\n"));
	assert_non_null(strstr(mb, "Delivered-To: bob+Quarantine@example.com"));
	free(mb);
	char *ma = find_msg("alice", ".Junk", "quarantine-test");
	assert_non_null(ma);
	assert_non_null(strstr(ma, "X-Postern-Action: quarantine; folder=Junk\n"));
	free(ma);
	assert_null(find_msg("alice", ".", "quarantine-test"));
	pst_deliver_close(&d);
}

static void not_listening(void **state)
{
	(void)state;
	pst_deliver *d = open_relay(free_port(), 0, 2000);
	const char m[] = "Subject: x\n\nx\n";
	pst_deliver_rcpt r[2] = {
		{ "alice@example.com", NULL, m, strlen(m), { 0, "", "" } },
		{ "bob@example.com", NULL, m, strlen(m), { 0, "", "" } },
	};

	pst_deliver_transaction(d, &ENV, r, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r[i].reply.code, 451);
		assert_string_equal(r[i].reply.enhanced, "4.4.1");
		assert_non_null(strstr(r[i].reply.text, "downstream not reachable"));
	}
	pst_deliver_close(&d);
}

static void unix_socket_and_8bit(void **state)
{
	(void)state;
	char target[400], err[256] = "";
	pst_deliver *d = NULL;
	const char m[] = "Subject: caf\xc3\xa9 unix-test\n\nna\xc3\xafve\n";

	/* Dovecot's own Unix listener in base_dir. */
	snprintf(target, sizeof target, "lmtp:unix:%s/run/lmtp", dv.dir);
	if (pst_deliver_open(target, NULL, &d, err, sizeof err) != 0)
		fail_msg("open %s: %s", target, err);
	pst_deliver_rcpt r = { "Alice@Example.com", NULL, m, strlen(m), { 0, "", "" } };
	pst_deliver_transaction(d, &ENV, &r, 1);
	if (r.reply.code != 250)
		fail_msg("got %d %s %s", r.reply.code, r.reply.enhanced, r.reply.text);
	char *got = find_msg("alice", ".", "unix-test");
	assert_non_null(got);
	assert_non_null(strstr(got, "\n\nna\xc3\xafve\n"));
	free(got);
	pst_deliver_close(&d);
}

static void bad_targets(void **state)
{
	(void)state;
	static const char *const bad[] = { "lmtp:", "lmtp:host", "lmtp:host:", "lmtp:host:0",
					   "lmtp:host:65536", "lmtp:host:12x", "lmtp:::1:24",
					   "lmtp:[::1]24", "lmtp:unix:", "lmtp::24" };
	pst_deliver *d = NULL;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (pst_deliver_open(bad[i], NULL, &d, err, sizeof err) != -1)
			fail_msg("%s: opened", bad[i]);
		assert_null(d);
		assert_non_null(strstr(err, "bad target"));
	}
	/* IPv6 literal: parsed, and nothing listens there: 4.4.1. */
	char target[64];
	snprintf(target, sizeof target, "lmtp:[::1]:%d", free_port());
	assert_int_equal(pst_deliver_open(target, NULL, &d, err, sizeof err), 0);
	const char m[] = "Subject: x\n\nx\n";
	pst_deliver_rcpt r = { "alice@example.com", NULL, m, strlen(m), { 0, "", "" } };
	pst_deliver_transaction(d, &ENV, &r, 1);
	assert_int_equal(r.reply.code, 451);
	assert_string_equal(r.reply.enhanced, "4.4.1");
	pst_deliver_stats st;
	pst_deliver_get_stats(d, &st);
	assert_int_equal(st.connections, 0);
	pst_deliver_close(&d);
}

/* A listener that accepts and never says a word. */
static void silent_peer(void **state)
{
	(void)state;
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	pst_deliver *d = open_relay(ntohs(sa.sin_port), 0, 300);
	const char m[] = "Subject: x\n\nx\n";
	pst_deliver_rcpt r = { "alice@example.com", NULL, m, strlen(m), { 0, "", "" } };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pst_deliver_transaction(d, &ENV, &r, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r.reply.code, 451);
	assert_string_equal(r.reply.enhanced, "4.4.2");
	assert_non_null(strstr(r.reply.text, "timeout"));
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.25 && secs < 3.0);
	pst_deliver_close(&d);
	close(lfd);
}

/* ---- Several sessions at once through one pool -------------------------- */

#define PAR_THREADS 4
#define PAR_EACH 25

typedef struct par {
	pst_deliver *d;
	int id, ok;
} par;

static void *par_run(void *arg)
{
	par *p = arg;
	for (int i = 0; i < PAR_EACH; i++) {
		char m[128];
		snprintf(m, sizeof m, "Subject: par-test\n\npar-%d-%d\n", p->id, i);
		pst_deliver_rcpt r[2] = {
			{ "alice@example.com", NULL, m, strlen(m), { 0, "", "" } },
			{ "bob@example.com", NULL, m, strlen(m), { 0, "", "" } },
		};
		pst_deliver_transaction(p->d, &ENV, r, 2);
		p->ok += (r[0].reply.code == 250) + (r[1].reply.code == 250);
	}
	return NULL;
}

static int count_with(const char *user, const char *needle)
{
	int hits = 0;
	char path[700];
	snprintf(path, sizeof path, "%s/home/%s/Maildir/new", dv.dir, user);
	DIR *dir = opendir(path);
	struct dirent *e;
	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char full[1000];
		snprintf(full, sizeof full, "%s/%s", path, e->d_name);
		char *t = slurp(full);
		hits += strstr(t, needle) != NULL;
		free(t);
	}
	closedir(dir);
	return hits;
}

static void parallel_sessions(void **state)
{
	(void)state;
	pst_deliver *d = open_relay(dv.port, 0, 10000);
	pthread_t th[PAR_THREADS];
	par p[PAR_THREADS];
	int ok = 0;

	for (int i = 0; i < PAR_THREADS; i++) {
		p[i] = (par){ d, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, par_run, &p[i]), 0);
	}
	for (int i = 0; i < PAR_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		ok += p[i].ok;
	}
	assert_int_equal(ok, PAR_THREADS * PAR_EACH * 2);
	assert_int_equal(count_with("alice", "par-test"), PAR_THREADS * PAR_EACH);
	assert_int_equal(count_with("bob", "par-test"), PAR_THREADS * PAR_EACH);
	pst_deliver_stats st;
	pst_deliver_get_stats(d, &st);
	assert_int_equal(st.transactions, PAR_THREADS * PAR_EACH);
	assert_true(st.connections >= 1 && st.connections <= PAR_THREADS);
	pst_deliver_close(&d);
}

/* ---- A scripted peer without PIPELINING --------------------------------- */

typedef struct peer {
	int lfd, port;
	int broken;            /* answer garbage after DATA */
	char wire[4096];       /* what came after 354, up to and with ".\r\n" */
	size_t wlen;
	char cmds[1024];       /* the command lines seen, '|' separated */
	int lockstep_ok;       /* each command arrived only after the last reply */
} peer;

static int peer_line(int fd, char *line, size_t cap, int *more)
{
	size_t n = 0;
	char ch;
	while (n + 1 < cap && recv(fd, &ch, 1, 0) == 1) {
		line[n++] = ch;
		if (ch == '\n') {
			line[n] = '\0';
			char probe;
			*more = recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
			return 0;
		}
	}
	return -1;
}

static void peer_say(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static void *peer_run(void *arg)
{
	peer *p = arg;
	char line[1100];
	int more, in_data = 0;
	int fd = accept(p->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	p->lockstep_ok = 1;
	peer_say(fd, "220 peer ready\r\n");
	while (peer_line(fd, line, sizeof line, &more) == 0) {
		if (in_data) {
			size_t n = strlen(line);
			if (p->wlen + n < sizeof p->wire) {
				memcpy(p->wire + p->wlen, line, n);
				p->wlen += n;
			}
			if (strcmp(line, ".\r\n") == 0) {
				in_data = 0;
				if (p->broken)
					peer_say(fd, "garbage\r\n");
				else
					peer_say(fd, "250 2.0.0 <alice@example.com> saved\r\n"
						     "452 4.2.2 <bob@example.com> mailbox full\r\n");
			}
			continue;
		}
		if (more)
			p->lockstep_ok = 0;
		line[strcspn(line, "\r\n")] = '\0';
		size_t used = strlen(p->cmds);
		assert_true(used + strlen(line) + 2 < sizeof p->cmds);
		memcpy(p->cmds + used, line, strlen(line));
		memcpy(p->cmds + used + strlen(line), "|", 2);
		if (strncmp(line, "LHLO", 4) == 0)
			peer_say(fd, "250-peer\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE 100000\r\n");
		else if (strncmp(line, "MAIL", 4) == 0 || strncmp(line, "RSET", 4) == 0)
			peer_say(fd, "250 2.1.0 OK\r\n");
		else if (strncmp(line, "RCPT TO:<carol", 14) == 0)
			peer_say(fd, "550-5.1.1 first line\r\n550 5.1.1 no carol here\r\n");
		else if (strncmp(line, "RCPT", 4) == 0)
			peer_say(fd, "250 2.1.5 OK\r\n");
		else if (strcmp(line, "DATA") == 0) {
			peer_say(fd, "354 go\r\n");
			in_data = 1;
		} else if (strcmp(line, "QUIT") == 0) {
			peer_say(fd, "221 bye\r\n");
			break;
		} else
			peer_say(fd, "500 what\r\n");
	}
	close(fd);
	return NULL;
}

static void peer_start(peer *p, pthread_t *th)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sa, &len), 0);
	p->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(th, NULL, peer_run, p), 0);
}

static void lockstep_wire_bytes(void **state)
{
	(void)state;
	peer *p = calloc(1, sizeof *p);
	pthread_t th;

	assert_non_null(p);
	peer_start(p, &th);
	pst_deliver *d = open_relay(p->port, '+', 5000);
	const char m[] = "Subject: w\n\n.dot\nbare\rcr\r\nlast";
	pst_deliver_rcpt r[3] = {
		{ "alice@example.com", "Quarantine", m, strlen(m), { 0, "", "" } },
		{ "carol@example.com", "Quarantine", m, strlen(m), { 0, "", "" } },
		{ "bob+x@example.com", ".Quarantine", m, strlen(m), { 0, "", "" } },
	};
	pst_deliver_transaction(d, &ENV, r, 3);
	assert_int_equal(r[0].reply.code, 250);
	assert_int_equal(r[1].reply.code, 550);
	assert_string_equal(r[1].reply.enhanced, "5.1.1");
	assert_string_equal(r[1].reply.text, "no carol here");
	assert_int_equal(r[2].reply.code, 452);
	assert_string_equal(r[2].reply.enhanced, "4.2.2");
	pst_deliver_close(&d);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(p->lockstep_ok);
	const char want_wire[] = "X-Postern-Action: quarantine; folder=Quarantine\r\n"
				 "Subject: w\r\n\r\n..dot\r\nbare\rcr\r\nlast\r\n.\r\n";
	assert_int_equal(p->wlen, strlen(want_wire));
	assert_memory_equal(p->wire, want_wire, p->wlen);
	char want_cmds[300];
	snprintf(want_cmds, sizeof want_cmds,
		 "LHLO postern.test|MAIL FROM:<sender@example.org> SIZE=%zu|"
		 "RCPT TO:<alice+Quarantine@example.com>|RCPT TO:<carol+Quarantine@example.com>|"
		 "RCPT TO:<bob+Quarantine@example.com>|DATA|QUIT|", strlen(want_wire) - 3);
	assert_string_equal(p->cmds, want_cmds);
	close(p->lfd);
	free(p);
}

static void broken_reply(void **state)
{
	(void)state;
	peer *p = calloc(1, sizeof *p);
	pthread_t th;

	assert_non_null(p);
	p->broken = 1;
	peer_start(p, &th);
	pst_deliver *d = open_relay(p->port, 0, 5000);
	const char m[] = "Subject: w\n\nx\n";
	pst_deliver_rcpt r[2] = {
		{ "alice@example.com", NULL, m, strlen(m), { 0, "", "" } },
		{ "bob@example.com", NULL, m, strlen(m), { 0, "", "" } },
	};
	pst_deliver_transaction(d, &ENV, r, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r[i].reply.code, 451);
		assert_string_equal(r[i].reply.enhanced, "4.4.2");
		assert_non_null(strstr(r[i].reply.text, "broken reply"));
	}
	/* The connection was dropped, not pooled: closing sends no QUIT. */
	pst_deliver_close(&d);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(strstr(p->cmds, "QUIT"));
	close(p->lfd);
	free(p);
}

/* ---- Killing Dovecot in the middle of a run ----------------------------- */

#define KILL_MAX 400

typedef struct runner {
	pst_deliver *d;
	int codes[KILL_MAX];
	char enh[KILL_MAX][12];
	int n;                    /* these three: atomic */
	int killed_at;            /* index when the kill was done, or -1 */
	int delivered;
} runner;

static void *run_loop(void *arg)
{
	runner *rn = arg;
	int after = 0;
	for (int i = 0; i < KILL_MAX; i++) {
		char m[128];
		snprintf(m, sizeof m, "Subject: kill-test\n\ntoken-%04d-end\n", i);
		pst_deliver_rcpt r = { "carol@example.com", NULL, m, strlen(m), { 0, "", "" } };
		pst_deliver_transaction(rn->d, &ENV, &r, 1);
		rn->codes[i] = r.reply.code;
		memcpy(rn->enh[i], r.reply.enhanced, sizeof rn->enh[i]);
		__atomic_store_n(&rn->n, i + 1, __ATOMIC_SEQ_CST);
		if (r.reply.code == 250)
			__atomic_fetch_add(&rn->delivered, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&rn->killed_at, __ATOMIC_SEQ_CST) >= 0 && ++after >= 20)
			break;
	}
	return NULL;
}

static void killed_mid_run(void **state)
{
	(void)state;
	runner *rn = calloc(1, sizeof *rn);
	pthread_t th;

	assert_non_null(rn);
	rn->d = open_relay(dv.port, 0, 3000);
	rn->killed_at = -1;
	assert_int_equal(pthread_create(&th, NULL, run_loop, rn), 0);
	while (__atomic_load_n(&rn->delivered, __ATOMIC_SEQ_CST) < 20
	       && __atomic_load_n(&rn->n, __ATOMIC_SEQ_CST) < KILL_MAX)
		usleep(1000);
	assert_int_equal(kill(-dv.pid, SIGKILL), 0);
	__atomic_store_n(&rn->killed_at, __atomic_load_n(&rn->n, __ATOMIC_SEQ_CST),
			 __ATOMIC_SEQ_CST);
	assert_true(dovecot_reap(5000));
	assert_int_equal(pthread_join(th, NULL), 0);
	dv.pid = 0;

	int ok = 0, tempfail = 0, first_fail = -1;
	for (int i = 0; i < rn->n; i++) {
		char token[32];
		snprintf(token, sizeof token, "token-%04d-end", i);
		if (rn->codes[i] == 250) {
			/* Every 250 is in the mailbox. */
			char *m = find_msg("carol", ".", token);
			if (m == NULL)
				fail_msg("%s answered 250 but is not in the Maildir", token);
			free(m);
			ok++;
			if (first_fail >= 0)
				fail_msg("%s: 250 after a 451 (downstream is dead)", token);
		} else {
			if (rn->codes[i] != 451 || strncmp(rn->enh[i], "4.4.", 4) != 0)
				fail_msg("%s: got %d %s", token, rn->codes[i], rn->enh[i]);
			tempfail++;
			if (first_fail < 0)
				first_fail = i;
		}
	}
	assert_true(ok >= 20);
	assert_true(tempfail >= 20);
	/* Only the in-flight transactions, if any, were delivered but lost
	 * their reply; nothing answered 451 after the kill is complete. */
	assert_true(rn->n - first_fail >= 20);

	/* Dovecot back on the same port: the same pst_deliver recovers. */
	assert_int_equal(dovecot_stop(NULL), 0);
	assert_int_equal(dovecot_start(NULL), 0);
	const char m[] = "Subject: after-restart\n\nback\n";
	pst_deliver_rcpt r = { "carol@example.com", NULL, m, strlen(m), { 0, "", "" } };
	pst_deliver_transaction(rn->d, &ENV, &r, 1);
	assert_int_equal(r.reply.code, 250);
	char *back = find_msg("carol", ".", "after-restart");
	assert_non_null(back);
	free(back);
	pst_deliver_close(&rn->d);
	free(rn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delivers_our_bytes),
		cmocka_unit_test(groups_identical_copies),
		cmocka_unit_test(maps_refusals),
		cmocka_unit_test(quarantine_detail),
		cmocka_unit_test(unix_socket_and_8bit),
		cmocka_unit_test(bad_targets),
		cmocka_unit_test(not_listening),
		cmocka_unit_test(silent_peer),
		cmocka_unit_test(parallel_sessions),
		cmocka_unit_test(lockstep_wire_bytes),
		cmocka_unit_test(broken_reply),
		cmocka_unit_test(killed_mid_run),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, dovecot_start, dovecot_stop);
}
