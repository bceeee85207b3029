/* Unit tests for engine/deliver/maildir.c: layout, trace fields, unique
 * names under threads, hostile addresses, the users file, a full disk.
 * Everything runs in a mkdtemp directory on the real file system. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "deliver/deliver_private.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

typedef struct fixture {
	char top[256];       /* mkdtemp */
	char root[300];      /* top/mail: the Maildir root */
	pst_deliver *d;
} fixture;

static const pst_deliver_env ENV = {
	"sender@example.org", "QID123", NULL, NULL, NULL, "mx.example.net", "127.0.0.1"
};
static const char MSG[] = "From: a@example.org\nSubject: hi\n\nbody\n";

static void rm_rf(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static fixture *fixture_new(const pst_deliver_opts *opts)
{
	fixture *f = calloc(1, sizeof *f);
	char err[256] = "";

	assert_non_null(f);
	snprintf(f->top, sizeof f->top, "/tmp/test_maildir.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	snprintf(f->root, sizeof f->root, "%s/mail", f->top);
	char target[400];
	snprintf(target, sizeof target, "maildir:%s", f->root);
	if (pst_deliver_open(target, opts, &f->d, err, sizeof err) != 0)
		fail_msg("open: %s", err);
	return f;
}

static void fixture_free(fixture *f)
{
	pst_deliver_close(&f->d);
	assert_null(f->d);
	rm_rf(f->top);
	free(f);
}

/* Number of entries (not . or ..) in a directory; -1 if it is missing. */
static int count_dir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int count_dir(const char *fmt, ...)
{
	char path[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	DIR *dir = opendir(path);
	if (dir == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dir);
	return n;
}

/* The contents of the only file in dir (malloc'd). */
static char *only_file(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	char path[1024], *buf = NULL;

	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		assert_null(buf);
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		buf = calloc(1, 1 << 20);
		assert_non_null(buf);
		size_t n = fread(buf, 1, (1 << 20) - 1, fp);
		buf[n] = '\0';
		fclose(fp);
	}
	closedir(dh);
	assert_non_null(buf);
	return buf;
}

static pst_reply deliver1(fixture *f, const char *addr, const char *folder, const char *data,
			  size_t len)
{
	pst_deliver_rcpt r = { addr, folder, data, len, { 0, "", "" } };
	pst_deliver_transaction(f->d, &ENV, &r, 1);
	return r.reply;
}

static void layout_lower_case(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	pst_reply r = deliver1(f, "Alice@Example.COM", NULL, MSG, strlen(MSG));

	assert_int_equal(r.code, 250);
	assert_string_equal(r.enhanced, "2.0.0");
	assert_int_equal(count_dir("%s/example.com/alice/new", f->root), 1);
	assert_int_equal(count_dir("%s/example.com/alice/tmp", f->root), 0);
	assert_int_equal(count_dir("%s/example.com/alice/cur", f->root), 0);
	assert_int_equal(count_dir("%s", f->root), 1);
	char dir[600];
	snprintf(dir, sizeof dir, "%s/example.com/alice/new", f->root);
	char *got = only_file(dir);
	/* The copy follows the trace fields byte for byte. */
	const char *body = strstr(got, "\nFrom: a@example.org\n");
	assert_non_null(body);
	assert_string_equal(body + 1, MSG);
	static const char head[] = "Return-Path: <sender@example.org>\nDelivered-To: Alice@Example.COM\n"
				   "Received: from unknown (unknown [unknown])";
	assert_true(strncmp(got, head, sizeof head - 1) == 0);
	free(got);
	fixture_free(f);
}

static void delimiter_stripped(void **state)
{
	(void)state;
	pst_deliver_opts o = { '+', NULL, "host.example", 0 };
	fixture *f = fixture_new(&o);

	assert_int_equal(deliver1(f, "Bob+News@example.com", NULL, MSG, strlen(MSG)).code, 250);
	assert_int_equal(deliver1(f, "bob@EXAMPLE.com", NULL, MSG, strlen(MSG)).code, 250);
	assert_int_equal(count_dir("%s/example.com/bob/new", f->root), 2);
	assert_int_equal(count_dir("%s/example.com", f->root), 1);
	/* A leading delimiter is not a detail separator. */
	assert_int_equal(deliver1(f, "+x@example.com", NULL, MSG, strlen(MSG)).code, 250);
	assert_int_equal(count_dir("%s/example.com/+x/new", f->root), 1);
	fixture_free(f);
}

static void no_delimiter_keeps_detail(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	assert_int_equal(deliver1(f, "bob+news@example.com", NULL, MSG, strlen(MSG)).code, 250);
	assert_int_equal(count_dir("%s/example.com/bob+news/new", f->root), 1);
	assert_int_equal(count_dir("%s/example.com/bob", f->root), -1);
	fixture_free(f);
}

static void quarantine_folders(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);

	assert_int_equal(deliver1(f, "a@example.com", ".Quarantine", MSG, strlen(MSG)).code, 250);
	assert_int_equal(deliver1(f, "a@example.com", "Spam", MSG, strlen(MSG)).code, 250);
	assert_int_equal(deliver1(f, "a@example.com", ".Junk.Old", MSG, strlen(MSG)).code, 250);
	assert_int_equal(count_dir("%s/example.com/a/.Quarantine/new", f->root), 1);
	assert_int_equal(count_dir("%s/example.com/a/.Quarantine/cur", f->root), 0);
	assert_int_equal(count_dir("%s/example.com/a/.Spam/new", f->root), 1);
	assert_int_equal(count_dir("%s/example.com/a/.Junk.Old/new", f->root), 1);
	/* The inbox itself is a Maildir too (Maildir++). */
	assert_int_equal(count_dir("%s/example.com/a/new", f->root), 0);
	static const char *const bad[] = { "../x", "..", ".", "", "a/b", ".a..b", "x\ny",
					   "..Quarantine", "Quarantine.", "a:b", "Junk Mail",
					   "caf\xc3\xa9" };
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		pst_reply r = deliver1(f, "a@example.com", bad[i], MSG, strlen(MSG));
		if (r.code != 451)
			fail_msg("folder '%s': got %d", bad[i], r.code);
		assert_string_equal(r.enhanced, "4.3.5");
	}
	assert_int_equal(count_dir("%s/example.com/a", f->root), 6);
	char mf[600];
	struct stat st;
	snprintf(mf, sizeof mf, "%s/example.com/a/.Spam/maildirfolder", f->root);
	assert_int_equal(stat(mf, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(count_dir("%s", f->top), 1);
	fixture_free(f);
}

static void trace_exact(void **state)
{
	(void)state;
	pst_deliver_opts o = { 0, NULL, "mail.example.com", 0 };
	fixture *f = fixture_new(&o);
	pst_buf b = PST_BUF_INIT;
	/* 2026-12-01 19:00:00 UTC, a Tuesday. */
	time_t t = 1796151600;

	/* No client facts (no XFORWARD): unknown, never the LMTP peer. */
	assert_int_equal(pst_maildir_trace(f->d, &ENV, "user@example.com", "\r\n", t, &b), 0);
	assert_string_equal(pst_buf_str(&b),
			    "Return-Path: <sender@example.org>\r\n"
			    "Delivered-To: user@example.com\r\n"
			    "Received: from unknown (unknown [unknown]) by mail.example.com (postern)\r\n"
			    "\twith LMTP id QID123 for <user@example.com>;\r\n"
			    "\tTue, 01 Dec 2026 19:00:00 +0000\r\n");
	pst_buf_clear(&b);

	/* The client of XFORWARD / XCLIENT, the way Postfix writes it. */
	static const struct {
		pst_deliver_env env;
		const char *want;
	} cases[] = {
		{ { "", NULL, "::1", NULL, NULL, "h", "::1" },
		  "Received: from unknown (unknown [IPv6:::1]) by mail.example.com (postern)\n"
		  "\twith LMTP for <u@x.org>; Tue, 01 Dec 2026 19:00:00 +0000\n" },
		{ { "", "Q", "192.0.2.1", "mail.example.net", "helo.example", "lhlo", "unix" },
		  "Received: from helo.example (mail.example.net [192.0.2.1])\n"
		  "\tby mail.example.com (postern) with LMTP id Q for <u@x.org>;\n"
		  "\tTue, 01 Dec 2026 19:00:00 +0000\n" },
		{ { "", "Q", "192.0.2.1", "mail.example.net", NULL, "lhlo", "unix" },
		  "Received: from mail.example.net (mail.example.net [192.0.2.1])\n"
		  "\tby mail.example.com (postern) with LMTP id Q for <u@x.org>;\n"
		  "\tTue, 01 Dec 2026 19:00:00 +0000\n" },
		{ { "", "Q", NULL, NULL, "x ([198.51.100.1]) \"a;b\"", "lhlo", "unix" },
		  "Received: from x???198.51.100.1????a?b? (unknown [unknown])\n"
		  "\tby mail.example.com (postern) with LMTP id Q for <u@x.org>;\n"
		  "\tTue, 01 Dec 2026 19:00:00 +0000\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(pst_maildir_trace(f->d, &cases[i].env, "u@x.org", "\n", t, &b), 0);
		const char *got = strstr(pst_buf_str(&b), "Received:");
		if (got == NULL || strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got ? got : "(none)", cases[i].want);
		pst_buf_clear(&b);
	}

	/* CR and LF in envelope values never start a new header line. */
	pst_deliver_env e3 = { "a\r\nX-Evil: 1", "Q", NULL, "n\r\nX: z", "h\nX: y", "h", "unix" };
	assert_int_equal(pst_maildir_trace(f->d, &e3, "u@x.org", "\n", t, &b), 0);
	assert_null(strstr(pst_buf_str(&b), "\nX-Evil"));
	assert_null(strstr(pst_buf_str(&b), "\nX: y"));
	assert_null(strstr(pst_buf_str(&b), "\nX: z"));
	assert_non_null(strstr(pst_buf_str(&b), "from h?X:?y (n??X:?z [unknown])"));
	/* Every line but the folded ones starts with a field name. */
	int lines = 0;
	for (const char *p = pst_buf_str(&b); *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 4);
	pst_buf_free(&b);
	fixture_free(f);
}

static void crlf_copy_gets_crlf_trace(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	const char msg[] = "Subject: x\r\n\r\nbody\r\n";
	assert_int_equal(deliver1(f, "c@example.com", NULL, msg, strlen(msg)).code, 250);
	char dir[600];
	snprintf(dir, sizeof dir, "%s/example.com/c/new", f->root);
	char *got = only_file(dir);
	for (char *p = got; *p; p++)
		if (*p == '\n')
			assert_true(p > got && p[-1] == '\r');
	size_t n = strlen(got);
	assert_true(n > strlen(msg));
	assert_string_equal(got + n - strlen(msg), msg);
	free(got);
	fixture_free(f);
}

/* ---- Threads ----------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 500

typedef struct worker {
	fixture *f;
	int ok;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		pst_deliver_rcpt r[2] = {
			{ "t@example.com", NULL, MSG, strlen(MSG), { 0, "", "" } },
			{ "T+x@Example.com", NULL, MSG, strlen(MSG), { 0, "", "" } },
		};
		pst_deliver_transaction(w->f->d, &ENV, r, 2);
		w->ok += (r[0].reply.code == 250) + (r[1].reply.code == 250);
	}
	return NULL;
}

static void unique_names_threads(void **state)
{
	(void)state;
	pst_deliver_opts o = { '+', NULL, "we/ird:host", 0 };
	fixture *f = fixture_new(&o);
	pthread_t th[THREADS];
	worker w[THREADS];
	int total = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i].f = f;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		total += w[i].ok;
	}
	assert_int_equal(total, THREADS * PER_THREAD * 2);
	assert_int_equal(count_dir("%s/example.com/t/new", f->root), total);
	assert_int_equal(count_dir("%s/example.com/t/tmp", f->root), 0);
	/* The host name's '/' and ':' are escaped in the file names. */
	char dir[600];
	snprintf(dir, sizeof dir, "%s/example.com/t/new", f->root);
	DIR *dh = opendir(dir);
	struct dirent *e;
	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		assert_null(strchr(e->d_name, ':'));
		assert_non_null(strstr(e->d_name, ".M"));
		assert_non_null(strstr(e->d_name, ".we\\057ird\\072host,S="));
	}
	closedir(dh);
	fixture_free(f);
}

/* ---- Hostile input ------------------------------------------------------ */

static void hostile_addresses(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	char longlocal[200], longdom[400];

	memset(longlocal, 'a', 65);
	snprintf(longlocal + 65, sizeof longlocal - 65, "@example.com");
	memset(longdom, 'b', 300);
	snprintf(longdom + 300, sizeof longdom - 300, "@x.org");
	memmove(longdom + 2, longdom, strlen(longdom) + 1);
	longdom[0] = 'u';
	longdom[1] = '@';
	const char *bad[] = {
		"../etc@example.com", "a/b@example.com", "..@example.com", ".hidden@example.com",
		"a..b@example.com", "@example.com", "noat", "a@", "a@../x", "a@ex/ample.com",
		"a@.example.com", "a@example..com", "a\001b@example.com", "a\nb@example.com",
		"a\rb@example.com", "a\177@example.com", "a@exa\tmple.com", "a\\b@example.com",
		"\"a b\"@example.com", "a@[127.0.0.1]", "a@exa mple.com", longlocal, longdom,
		"a@b@example.com", "",
	};
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		pst_reply r;
		pst_deliver_check_rcpt(f->d, bad[i], &r);
		if (r.code != 550 || strcmp(r.enhanced, "5.1.3") != 0)
			fail_msg("check '%s': got %d %s", bad[i], r.code, r.enhanced);
		assert_string_equal(r.text, "bad recipient address syntax");
		r = deliver1(f, bad[i], NULL, MSG, strlen(MSG));
		if (r.code != 550)
			fail_msg("deliver '%s': got %d", bad[i], r.code);
	}
	/* An embedded NUL ends the C string: "a\0/../x" is "a", which is fine. */
	pst_reply r;
	pst_deliver_check_rcpt(f->d, NULL, &r);
	assert_int_equal(r.code, 550);
	/* Nothing was created anywhere. */
	assert_int_equal(count_dir("%s", f->root), 0);
	assert_int_equal(count_dir("%s", f->top), 1);
	/* Good ones pass, including UTF-8 local parts and IDN domains. */
	static const char *const good[] = { "a@example.com", "a.b-c_d+e@sub.example.com",
					    "<x@example.com>", "j\xc3\xb6rg@b\xc3\xbc" "cher.de" };
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		pst_deliver_check_rcpt(f->d, good[i], &r);
		if (r.code != 250)
			fail_msg("check '%s': got %d %s", good[i], r.code, r.text);
		assert_string_equal(r.enhanced, "2.1.5");
	}
	assert_int_equal(deliver1(f, good[3], NULL, MSG, strlen(MSG)).code, 250);
	assert_int_equal(count_dir("%s/xn--bcher-kva.de/j\xc3\xb6rg/new", f->root), 1);
	fixture_free(f);
}

static void symlinks_refused(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	char path[600], outside[600];

	snprintf(outside, sizeof outside, "%s/outside", f->top);
	assert_int_equal(mkdir(outside, 0700), 0);
	snprintf(path, sizeof path, "%s/example.com", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/example.com/evil", f->root);
	assert_int_equal(symlink(outside, path), 0);
	pst_reply r = deliver1(f, "evil@example.com", NULL, MSG, strlen(MSG));
	assert_int_equal(r.code, 451);
	assert_string_equal(r.enhanced, "4.3.0");
	assert_int_equal(count_dir("%s", outside), 0);
	/* A domain that is a link is refused the same way. */
	snprintf(path, sizeof path, "%s/evil.org", f->root);
	assert_int_equal(symlink(outside, path), 0);
	assert_int_equal(deliver1(f, "a@evil.org", NULL, MSG, strlen(MSG)).code, 451);
	assert_int_equal(count_dir("%s", outside), 0);
	fixture_free(f);
}

static void users_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_maildir_users.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "# users\nAlice@Example.com\n  bob+ignored@example.com  # comment\n\n"
			    "carol@b\xc3\xbc" "cher.de\r\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	pst_deliver_opts o = { '+', path, NULL, 0 };
	fixture *f = fixture_new(&o);
	static const struct { const char *addr; int code; const char *enh; } cases[] = {
		{ "alice@example.com", 250, "2.1.5" },
		{ "ALICE+list@EXAMPLE.COM", 250, "2.1.5" },
		{ "bob@example.com", 250, "2.1.5" },
		{ "carol@xn--bcher-kva.de", 250, "2.1.5" },
		{ "dave@example.com", 550, "5.1.1" },
		{ "alice@example.org", 550, "5.1.1" },
		{ "../alice@example.com", 550, "5.1.3" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		pst_reply r;
		pst_deliver_check_rcpt(f->d, cases[i].addr, &r);
		if (r.code != cases[i].code || strcmp(r.enhanced, cases[i].enh) != 0)
			fail_msg("%s: got %d %s", cases[i].addr, r.code, r.enhanced);
		if (r.code == 550 && strcmp(r.enhanced, "5.1.1") == 0)
			assert_string_equal(r.text, "no such user");
	}
	fixture_free(f);

	/* A bad line is an open error naming the line. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ok@example.com\nbad/@x\n", 22), 22);
	close(fd);
	pst_deliver *d = NULL;
	char err[256] = "";
	assert_int_equal(pst_deliver_open("maildir:/tmp/unused-never", &o, &d, err, sizeof err), -1);
	assert_null(d);
	assert_non_null(strstr(err, ":2: bad address"));
	unlink(path);
	o.users_file = "/nonexistent/users";
	assert_int_equal(pst_deliver_open("maildir:/tmp/x", &o, &d, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file"));
}

static void bad_targets(void **state)
{
	(void)state;
	pst_deliver *d = NULL;
	char err[256];
	assert_int_equal(pst_deliver_open("mbox:/tmp/x", NULL, &d, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown delivery target"));
	assert_int_equal(pst_deliver_open("maildir:", NULL, &d, err, sizeof err), -1);
	assert_int_equal(pst_deliver_open("maildir:/nonexistent/deep/dir", NULL, &d, err,
					  sizeof err), -1);
	assert_null(d);
}

/* ---- Full disk ---------------------------------------------------------- */

static void full_disk_tmpfs(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	char mnt[400];

	if (geteuid() != 0) {
		fixture_free(f);
		skip();
	}
	pst_deliver_close(&f->d);
	snprintf(mnt, sizeof mnt, "%s/mail", f->top);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0)
		fail_msg("mount tmpfs: %s", strerror(errno));
	char target[500], err[256];
	snprintf(target, sizeof target, "maildir:%s", mnt);
	assert_int_equal(pst_deliver_open(target, NULL, &f->d, err, sizeof err), 0);
	size_t big = 200 * 1024;
	char *data = malloc(big);
	assert_non_null(data);
	memset(data, 'x', big);
	memcpy(data, "Subject: big\n\n", 14);
	pst_reply r = deliver1(f, "full@example.com", NULL, data, big);
	assert_int_equal(r.code, 452);
	assert_string_equal(r.enhanced, "4.2.2");
	assert_non_null(strstr(r.text, "No space left"));
	assert_int_equal(count_dir("%s/example.com/full/new", mnt), 0);
	assert_int_equal(count_dir("%s/example.com/full/tmp", mnt), 0);
	/* A small one still fits: the failure left nothing behind. */
	assert_int_equal(deliver1(f, "full@example.com", NULL, MSG, strlen(MSG)).code, 250);
	assert_int_equal(count_dir("%s/example.com/full/new", mnt), 1);
	free(data);
	pst_deliver_close(&f->d);
	assert_int_equal(umount(mnt), 0);
	fixture_free(f);
}

static void io_error_rlimit(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	struct rlimit old, lim;
	char *data = malloc(100000);

	assert_non_null(data);
	memset(data, 'y', 100000);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4096;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	pst_reply r = deliver1(f, "big@example.com", NULL, data, 100000);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r.code, 451);
	assert_string_equal(r.enhanced, "4.3.0");
	assert_non_null(strstr(r.text, "write"));
	assert_int_equal(count_dir("%s/example.com/big/new", f->root), 0);
	assert_int_equal(count_dir("%s/example.com/big/tmp", f->root), 0);
	free(data);
	fixture_free(f);
}

/* ---- kill -9 in the middle ---------------------------------------------- */

/* A child delivers in a loop and reports each 250 down a pipe; it is
 * killed at once. Every reported message is in new/, complete, and nothing
 * in new/ is partial. */
static void crash_consistency(void **state)
{
	(void)state;
	fixture *f = fixture_new(NULL);
	int fds[2];
	static char big[64 * 1024];

	memset(big, 'z', sizeof big);
	for (size_t i = 100; i < sizeof big; i += 100)
		big[i] = '\n';
	assert_int_equal(pipe(fds), 0);
	for (int round = 0; round < 3; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			for (int i = 0;; i++) {
				char m[sizeof big + 64];
				int n = snprintf(m, 64, "Subject: %d-%d\n\n", round, i);
				memcpy(m + n, big, sizeof big);
				n += (int)sizeof big;
				n += snprintf(m + n, 64, "\nEND %d-%d\n", round, i);
				pst_deliver_rcpt r = { "k@example.com", NULL, m, (size_t)n,
						       { 0, "", "" } };
				pst_deliver_transaction(f->d, &ENV, &r, 1);
				int id = round * 1000000 + i;
				if (r.reply.code == 250 && write(fds[1], &id, sizeof id) != sizeof id)
					_exit(1);
			}
		}
		usleep(150000 + 50000 * round);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, NULL, 0), pid);
	}
	close(fds[1]);
	int reported = 0, v;
	static int ids[100000];
	while (read(fds[0], &v, sizeof v) == sizeof v && reported < 100000)
		ids[reported++] = v;
	close(fds[0]);
	static char seen[3][100000];
	memset(seen, 0, sizeof seen);
	char dir[600];
	snprintf(dir, sizeof dir, "%s/example.com/k/new", f->root);
	DIR *dh = opendir(dir);
	struct dirent *e;
	int complete = 0;
	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1200], *text;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		text = calloc(1, sizeof big + 4096);
		assert_non_null(text);
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		size_t n = fread(text, 1, sizeof big + 4095, fp);
		fclose(fp);
		const char *subj = strstr(text, "Subject: ");
		assert_non_null(subj);
		char tag[32], end[48];
		assert_int_equal(sscanf(subj, "Subject: %31s", tag), 1);
		snprintf(end, sizeof end, "\nEND %s\n", tag);
		if (n < strlen(end) || strcmp(text + n - strlen(end), end) != 0)
			fail_msg("partial file in new/: %s", e->d_name);
		int rd, idx;
		assert_int_equal(sscanf(tag, "%d-%d", &rd, &idx), 2);
		assert_true(rd >= 0 && rd < 3 && idx >= 0 && idx < 100000);
		seen[rd][idx] = 1;
		complete++;
		free(text);
	}
	closedir(dh);
	for (int i = 0; i < reported; i++)
		if (!seen[ids[i] / 1000000][ids[i] % 1000000])
			fail_msg("%d-%d answered 250 but is not in new/", ids[i] / 1000000,
				 ids[i] % 1000000);
	/* At most one in-flight message per kill was stored but not reported. */
	assert_true(reported > 0);
	assert_true(complete >= reported && complete <= reported + 3);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_lower_case),
		cmocka_unit_test(delimiter_stripped),
		cmocka_unit_test(no_delimiter_keeps_detail),
		cmocka_unit_test(quarantine_folders),
		cmocka_unit_test(trace_exact),
		cmocka_unit_test(crlf_copy_gets_crlf_trace),
		cmocka_unit_test(unique_names_threads),
		cmocka_unit_test(hostile_addresses),
		cmocka_unit_test(symlinks_refused),
		cmocka_unit_test(users_file),
		cmocka_unit_test(bad_targets),
		cmocka_unit_test(full_disk_tmpfs),
		cmocka_unit_test(io_error_rlimit),
		cmocka_unit_test(crash_consistency),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
