/*
 * maildir.c: delivery into a Maildir tree (maildir:DIR), the backend of
 * deliver.h for that scheme.
 *
 * Layout: DIR/<domain>/<localpart>/ per recipient (canonical form, see
 * deliver.c), a Maildir++ sub-folder DIR/<domain>/<localpart>/.NAME/ for a
 * folder, each with tmp/ new/ cur/. Every path component is opened with
 * openat(O_NOFOLLOW|O_DIRECTORY) from a descriptor on DIR, so a symbolic
 * link planted in the tree is refused and nothing outside DIR is touched.
 * When DIR was deleted and made anew (or its NFS handle went stale), the
 * first delivery that fails with ENOENT or ESTALE opens DIR again, so
 * delivery recovers without a restart; a DIR that is gone stays 451.
 *
 * One copy, the Maildir way: a unique name time.M<usec>P<pid>Q<n>.<host>
 * (n from a process-wide atomic counter, '/' and ':' in the host name
 * escaped as \057 and \072), created in tmp/ with O_CREAT|O_EXCL, written
 * in full with one writev() of the trace fields and the copy (no copy of
 * the message is made), fsync'd and closed (both checked), renamed into
 * new/, and new/ fsync'd. A directory created on the way is made durable
 * by fsync'ing its parent, up to DIR, before any thread may use it (a lock
 * orders creation before use within the process). Only then the recipient
 * gets 250. Any failure removes what was written and answers 452 4.2.2
 * (ENOSPC, EDQUOT) or 451 4.3.0.
 *
 * The fsync of new/ is a group commit: threads that renamed into the same
 * new/ (same device and inode) while one of them was in fsync() wait for
 * the next fsync, which one of them makes for all; an fsync of a directory
 * makes durable every entry added before it started. Each thread is
 * answered by the first fsync that started after its rename, and fails if
 * that one (or any later failed one covering it) failed. One delivery at a
 * time makes one fsync, as before.
 *
 * The system calls of a delivery go through util/fault.h, so a test build
 * can fail any one of them (tests/lmtp/faults.sh); elsewhere they are the
 * plain calls.
 *
 * The copy gets Return-Path, Delivered-To and Received at the top, one line
 * each (Received folded at 78 columns), in the copy's line ending. Received
 * names the client as Postfix's smtpd writes it, "from HELO (NAME [IP]) by
 * HOST (postern) with LMTP id QID for <RCPT>; DATE", with the client facts
 * of XFORWARD or XCLIENT (never the LMTP peer): a NAME or IP not given is
 * "unknown" ("[unknown]"), a HELO not given is the NAME, and in HELO and
 * NAME white space, controls and ()[]<>;\" become '?' (so postern replay
 * finds the client IP and HELO the policy saw, and a HELO cannot add an
 * address literal of its own).
 */
#include "deliver/deliver_private.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "util/buf.h"
#include "util/fault.h"

typedef struct pst_maildir {
	int rootfd;
	char root[4096];
	char host[PST_DELIVER_MAX_HOST * 4];   /* escaped for file names */
} pst_maildir;

static unsigned long pst_maildir_counter;

/* Why a step failed: the failing operation and errno. create: whether
 * missing directories may be made (only under the write lock below). */
typedef struct step_err {
	const char *op;
	int err;
	int create;
} step_err;

/* Directories are created under the write side of this lock and their
 * parent fsync'd before it is released; deliveries open existing ones under
 * the read side. So no thread of this process writes into a directory that
 * another thread made but has not made durable yet. */
static pthread_rwlock_t pst_maildir_create_lock = PTHREAD_RWLOCK_INITIALIZER;

static int fail(step_err *e, const char *op)
{
	e->op = op;
	e->err = errno;
	return -1;
}

/* ---- Directories ------------------------------------------------------- */

/* Open (creating if missing) the directory name under parent, refusing a
 * symbolic link. *created is set when it was made here, and then the parent
 * is fsync'd so the new entry survives a crash. */
static int open_subdir(int parent, const char *name, int *created, step_err *e)
{
	int fd;

	*created = 0;
	for (int tries = 0; tries < 2; tries++) {
		fd = pst_fault_open(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT || !e->create)
			return fail(e, "open directory");
		if (pst_fault_mkdir(parent, name, 0700) == 0) {
			*created = 1;
			if (pst_fault_fsync(parent) != 0)
				return fail(e, "fsync directory");
		} else if (errno != EEXIST)
			return fail(e, "mkdir");
	}
	return fail(e, "open directory");
}

/* The folder's directory (tmp/ new/ cur/ inside) under the mailbox. */
typedef struct maildir_dirs {
	int tmp;
	int new;
} maildir_dirs;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Make sure dir has tmp/ new/ cur/; with out, hand back tmp/ and new/. */
static int ensure_maildir(int dir, maildir_dirs *out, step_err *e)
{
	int created, tmp = -1, new = -1, cur = -1, rc = -1;

	if ((tmp = open_subdir(dir, "tmp", &created, e)) < 0
	    || (new = open_subdir(dir, "new", &created, e)) < 0
	    || (cur = open_subdir(dir, "cur", &created, e)) < 0)
		goto out;
	rc = 0;
	if (out != NULL) {
		out->tmp = tmp;
		out->new = new;
		tmp = new = -1;
	}
out:
	close_fd(&tmp);
	close_fd(&new);
	close_fd(&cur);
	return rc;
}

/* A new Maildir++ folder is marked with an empty "maildirfolder" file. */
static int mark_folder(int dir, step_err *e)
{
	int fd = pst_fault_open(dir, "maildirfolder", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
				0600);

	if (fd < 0)
		return fail(e, "create maildirfolder");
	if (pst_fault_close(fd) != 0)
		return fail(e, "close");
	return 0;
}

/* Open DIR/<domain>/<local>[/<folder>]/{tmp,new}, creating what is
 * missing. With a folder the mailbox itself is made a Maildir too. */
static int open_dirs(const pst_maildir *m, const pst_deliver_addr *a, const char *folder,
		     maildir_dirs *out, step_err *e)
{
	int dom, box, sub, created, rc;

	out->tmp = out->new = -1;
	if ((dom = open_subdir(m->rootfd, a->domain, &created, e)) < 0)
		return -1;
	box = open_subdir(dom, a->local, &created, e);
	close(dom);
	if (box < 0)
		return -1;
	if (folder == NULL) {
		rc = ensure_maildir(box, out, e);
		close(box);
		return rc;
	}
	if (created && ensure_maildir(box, NULL, e) != 0) {
		close(box);
		return -1;
	}
	sub = open_subdir(box, folder, &created, e);
	close(box);
	if (sub < 0)
		return -1;
	rc = (created ? mark_folder(sub, e) : 0) == 0 ? ensure_maildir(sub, out, e) : -1;
	close(sub);
	return rc;
}

/* Under the write lock: when DIR names another directory than m->rootfd
 * (the root was deleted and made anew, or an NFS handle went stale), open
 * it again. Nothing is created: a root that is gone stays an error. */
static void refresh_root(pst_maildir *m)
{
	struct stat now, held;
	int fd;

	if (stat(m->root, &now) != 0 || !S_ISDIR(now.st_mode))
		return;
	if (fstat(m->rootfd, &held) == 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino
	    && held.st_nlink > 0)
		return;
	fd = open(m->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	close(m->rootfd);
	m->rootfd = fd;
}

/* open_dirs, creating what is missing only under the write lock (and
 * reopening DIR there, when it was replaced). m->rootfd is read under the
 * read lock and replaced under the write lock. */
static int open_dirs_locked(pst_maildir *m, const pst_deliver_addr *a, const char *folder,
			    maildir_dirs *out, step_err *e)
{
	int rc;

	e->create = 0;
	pthread_rwlock_rdlock(&pst_maildir_create_lock);
	rc = open_dirs(m, a, folder, out, e);
	pthread_rwlock_unlock(&pst_maildir_create_lock);
	if (rc == 0 || (e->err != ENOENT && e->err != ESTALE))
		return rc;
	e->create = 1;
	pthread_rwlock_wrlock(&pst_maildir_create_lock);
	refresh_root(m);
	rc = open_dirs(m, a, folder, out, e);
	pthread_rwlock_unlock(&pst_maildir_create_lock);
	return rc;
}

/* ---- The copy's trace fields ------------------------------------------- */

static const char *line_ending(const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	return (nl != NULL && nl > data && nl[-1] == '\r') ? "\r\n" : "\n";
}

/* Append s with CR, LF and other control characters turned into spaces. */
static int put_clean(pst_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (pst_buf_putc(b, (c < 0x20 || c == 0x7f) ? ' ' : (char)c) != 0)
			return -1;
	}
	return 0;
}

static void rfc5322_date(char *out, size_t n, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The client IP as Postfix's Received writes it: "IP", "IPv6:IP", or
 * "unknown". */
static void addr_text(const char *ip, char *out, size_t n)
{
	unsigned char bin[16];

	if (ip != NULL && inet_pton(AF_INET, ip, bin) == 1)
		snprintf(out, n, "%s", ip);
	else if (ip != NULL && inet_pton(AF_INET6, ip, bin) == 1)
		snprintf(out, n, "IPv6:%s", ip);
	else
		snprintf(out, n, "unknown");
}

static const char *known(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* A HELO or client name as one word of Received: white space, controls
 * and the characters that delimit its parts (comments, address literals,
 * quotes, ';') become '?', so a client's HELO "x ([192.0.2.1])" cannot
 * put a second client IP where postern replay looks for it. */
static void word_text(const char *s, char *out, size_t n)
{
	size_t o = 0;

	for (; *s && o + 1 < n; s++) {
		unsigned char c = (unsigned char)*s;
		out[o++] = c <= 0x20 || c == 0x7f || strchr("()[]<>;\\\"", c) ? '?' : (char)c;
	}
	out[o] = '\0';
}

/* Append the token " " pre val post to a header being folded at 78
 * columns: *col is the current line's length. A token that would pass the
 * limit starts a continuation line (eol, tab) instead of its space. */
static int fold_put(pst_buf *b, size_t *col, const char *pre, const char *val,
		    const char *post, const char *eol)
{
	size_t n = 1 + strlen(pre) + strlen(val) + strlen(post);

	if (*col + n > 78 && *col > 0) {
		if (pst_buf_puts(b, eol) != 0 || pst_buf_putc(b, '\t') != 0)
			return -1;
		*col = 8 - 1;
	} else if (pst_buf_putc(b, ' ') != 0)
		return -1;
	if (put_clean(b, pre) != 0 || put_clean(b, val) != 0 || put_clean(b, post) != 0)
		return -1;
	*col += n;
	return 0;
}

int pst_maildir_trace(const pst_deliver *d, const pst_deliver_env *env, const char *rcpt,
		      const char *eol, time_t now, pst_buf *b)
{
	char addr[128], name[PST_DELIVER_MAX_HOST], helo[PST_DELIVER_MAX_HOST];
	char client[2 * PST_DELIVER_MAX_HOST], date[64];
	size_t col;
	const char *from = env->mail_from ? env->mail_from : "";

	word_text(known(env->client_name) ? env->client_name : "unknown", name, sizeof name);
	word_text(known(env->helo) ? env->helo : name, helo, sizeof helo);

	if (pst_buf_puts(b, "Return-Path: <") != 0 || put_clean(b, from) != 0
	    || pst_buf_putc(b, '>') != 0 || pst_buf_puts(b, eol) != 0
	    || pst_buf_puts(b, "Delivered-To: ") != 0 || put_clean(b, rcpt) != 0
	    || pst_buf_puts(b, eol) != 0 || pst_buf_puts(b, "Received:") != 0)
		return -1;
	col = strlen("Received:");
	addr_text(env->client_ip, addr, sizeof addr);
	snprintf(client, sizeof client, "%s [%s]", name, addr);
	rfc5322_date(date, sizeof date, now);
	if (fold_put(b, &col, "from ", helo, "", eol) != 0
	    || fold_put(b, &col, "(", client, ")", eol) != 0
	    || fold_put(b, &col, "by ", d->hostname, " (postern)", eol) != 0
	    || fold_put(b, &col, "with LMTP", "", "", eol) != 0)
		return -1;
	if (env->queue_id != NULL && *env->queue_id != '\0'
	    && fold_put(b, &col, "id ", env->queue_id, "", eol) != 0)
		return -1;
	if (fold_put(b, &col, "for <", rcpt, ">;", eol) != 0
	    || fold_put(b, &col, date, "", "", eol) != 0 || pst_buf_puts(b, eol) != 0)
		return -1;
	return 0;
}

/* ---- Writing one copy -------------------------------------------------- */

/* Write both pieces, in one writev() unless it comes back short. */
static int write_both(int fd, const char *a, size_t alen, const char *b, size_t blen, step_err *e)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	struct iovec *v = iov;
	int nv = 2;

	while (nv > 0) {
		if (v->iov_len == 0) {
			v++;
			nv--;
			continue;
		}
		ssize_t w = pst_fault_writev(fd, v, nv);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return fail(e, "write");
		}
		if (w == 0) {
			errno = EIO;
			return fail(e, "write");
		}
		for (size_t done = (size_t)w; nv > 0 && done > 0;) {
			size_t step = done < v->iov_len ? done : v->iov_len;
			v->iov_base = (char *)v->iov_base + step;
			v->iov_len -= step;
			done -= step;
			if (v->iov_len == 0) {
				v++;
				nv--;
			}
		}
	}
	return 0;
}

/* ---- Group commit of new/ ---------------------------------------------- */

/* One new/ directory somebody is syncing or waiting on. Under sync_lock. */
typedef struct dir_sync {
	dev_t dev;
	ino_t ino;
	unsigned refs;               /* threads in sync_new_dir() on it */
	unsigned long renamed;       /* renames announced (a sequence) */
	unsigned long synced;        /* renames up to this one are durable */
	unsigned long failed;        /* renames up to this one got failed_errno */
	int failed_errno;
	int running;                 /* a thread is in fsync() on it */
	pthread_cond_t done;
	struct dir_sync *next;
} dir_sync;

static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static dir_sync *syncs;          /* a short list: one per busy new/ */

static dir_sync *sync_get(dev_t dev, ino_t ino)
{
	dir_sync *ds;

	for (ds = syncs; ds != NULL; ds = ds->next)
		if (ds->dev == dev && ds->ino == ino)
			break;
	if (ds == NULL) {
		if ((ds = calloc(1, sizeof *ds)) == NULL)
			return NULL;
		if (pthread_cond_init(&ds->done, NULL) != 0) {
			free(ds);
			return NULL;
		}
		ds->dev = dev;
		ds->ino = ino;
		ds->next = syncs;
		syncs = ds;
	}
	ds->refs++;
	return ds;
}

static void sync_put(dir_sync *ds)
{
	if (--ds->refs > 0)
		return;
	for (dir_sync **pp = &syncs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ds) {
			*pp = ds->next;
			break;
		}
	pthread_cond_destroy(&ds->done);
	free(ds);
}

/* fsync new/ (fd) after this thread renamed into it, sharing the fsync
 * with other threads that did the same (see the top). 0, or -1 with errno. */
static int sync_new_dir(int fd)
{
	struct stat st;
	dir_sync *ds;
	int rc;

	if (fstat(fd, &st) != 0)
		return -1;
	pthread_mutex_lock(&sync_lock);
	if ((ds = sync_get(st.st_dev, st.st_ino)) == NULL) {
		pthread_mutex_unlock(&sync_lock);
		return pst_fault_fsync(fd);   /* no memory to share: alone */
	}
	unsigned long mine = ++ds->renamed;
	for (;;) {
		/* A failed fsync that covered this rename fails it, even if a
		 * later one succeeded: after a failure, say 4xx. */
		if (ds->failed >= mine) {
			errno = ds->failed_errno;
			rc = -1;
			break;
		}
		if (ds->synced >= mine) {
			rc = 0;
			break;
		}
		if (!ds->running) {
			/* Lead: one fsync for every rename announced so far. */
			unsigned long upto = ds->renamed;
			ds->running = 1;
			pthread_mutex_unlock(&sync_lock);
			rc = pst_fault_fsync(fd);
			int err = errno;
			pthread_mutex_lock(&sync_lock);
			ds->running = 0;
			if (rc == 0)
				ds->synced = upto;
			else {
				ds->failed = upto;
				ds->failed_errno = err;
			}
			pthread_cond_broadcast(&ds->done);
			continue;
		}
		pthread_cond_wait(&ds->done, &sync_lock);
	}
	int err = errno;
	sync_put(ds);
	pthread_mutex_unlock(&sync_lock);
	errno = err;
	return rc;
}

static void unique_name(const pst_maildir *m, char *out, size_t n, size_t size)
{
	struct timeval tv;
	unsigned long q = __atomic_fetch_add(&pst_maildir_counter, 1, __ATOMIC_RELAXED);

	gettimeofday(&tv, NULL);
	snprintf(out, n, "%lld.M%06ldP%ldQ%lu.%s,S=%zu", (long long)tv.tv_sec, (long)tv.tv_usec,
		 (long)getpid(), q, m->host, size);
}

/* Write head + data as a new file in the folder; 0 or -1 with *e. */
static int store(const pst_maildir *m, const maildir_dirs *dirs, const pst_buf *head,
		 const char *data, size_t len, step_err *e)
{
	char name[sizeof m->host + 128];
	int fd, saved;

	/* A name taken already (another process, a clock step) gets a new
	 * counter value and another try. */
	for (int tries = 0;; tries++) {
		unique_name(m, name, sizeof name, head->len + len);
		fd = pst_fault_open(dirs->tmp, name,
				    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries == 3)
			return fail(e, "create in tmp");
	}
	if (write_both(fd, head->data, head->len, data, len, e) != 0)
		goto fail_open;
	if (pst_fault_fsync(fd) != 0) {
		fail(e, "fsync");
		goto fail_open;
	}
	if (pst_fault_close(fd) != 0) {
		fail(e, "close");
		goto fail_closed;
	}
	if (pst_fault_rename(dirs->tmp, name, dirs->new, name) != 0) {
		fail(e, "rename into new");
		goto fail_closed;
	}
	if (sync_new_dir(dirs->new) != 0) {
		fail(e, "fsync new");
		saved = errno;
		unlinkat(dirs->new, name, 0);
		errno = saved;
		return -1;
	}
	return 0;
fail_open:
	close(fd);
fail_closed:
	saved = errno;
	unlinkat(dirs->tmp, name, 0);
	errno = saved;
	return -1;
}

static void reply_for(pst_reply *r, const step_err *e)
{
	if (e->err == ENOSPC || e->err == EDQUOT)
		pst_deliver_set_reply(r, 452, "4.2.2", "mailbox full: %s: %s", e->op,
				      strerror(e->err));
	else
		pst_deliver_set_reply(r, 451, "4.3.0", "delivery failed: %s: %s", e->op,
				      strerror(e->err));
}

static void deliver_one(pst_deliver *d, const pst_deliver_env *env, pst_deliver_rcpt *r)
{
	pst_maildir *m = d->impl;
	pst_deliver_addr a;
	char folder[PST_DELIVER_MAX_FOLDER + 2];
	maildir_dirs dirs;
	step_err e = { "", 0, 0 };
	pst_buf head = PST_BUF_INIT;

	if (r->address == NULL || pst_deliver_parse_addr(d->delimiter, r->address, &a) != 0) {
		pst_deliver_set_reply(&r->reply, 550, "5.1.3", "bad recipient address syntax");
		return;
	}
	if (r->folder != NULL && pst_deliver_folder_name(r->folder, folder, sizeof folder) != 0) {
		pst_deliver_set_reply(&r->reply, 451, "4.3.5", "unsafe folder name");
		return;
	}
	if (pst_maildir_trace(d, env, r->address, line_ending(r->data, r->len), time(NULL),
			      &head) != 0) {
		pst_deliver_set_reply(&r->reply, 451, "4.3.0", "out of memory");
		return;
	}
	if (open_dirs_locked(m, &a, r->folder ? folder : NULL, &dirs, &e) != 0) {
		reply_for(&r->reply, &e);
	} else {
		if (store(m, &dirs, &head, r->data, r->len, &e) != 0)
			reply_for(&r->reply, &e);
		else
			pst_deliver_set_reply(&r->reply, 250, "2.0.0", "%s Saved",
					      env->queue_id ? env->queue_id : "");
		close(dirs.tmp);
		close(dirs.new);
	}
	pst_buf_free(&head);
}

static void maildir_transaction(pst_deliver *d, const pst_deliver_env *env,
				pst_deliver_rcpt *rcpts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		deliver_one(d, env, &rcpts[i]);
}

static void maildir_free(void *impl)
{
	pst_maildir *m = impl;

	if (m == NULL)
		return;
	if (m->rootfd >= 0)
		close(m->rootfd);
	free(m);
}

const pst_deliver_ops pst_maildir_ops = { "maildir", maildir_transaction, maildir_free };

/* The host name with '/' and ':' escaped, as the Maildir spec asks. */
static void escape_host(const char *h, char *out, size_t n)
{
	size_t o = 0;

	for (; *h && o + 5 < n; h++) {
		if (*h == '/' || *h == ':') {
			snprintf(out + o, n - o, "\\%03o", (unsigned char)*h);
			o += 4;
		} else if ((unsigned char)*h > 0x20 && (unsigned char)*h < 0x7f && *h != ',')
			out[o++] = *h;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, n, "localhost");
}

/* fsync the directory holding path (a root just created). Best effort. */
static void sync_parent(const char *path)
{
	char parent[4096];
	char *slash;
	int fd;

	snprintf(parent, sizeof parent, "%s", path);
	slash = strrchr(parent, '/');
	if (slash == NULL)
		snprintf(parent, sizeof parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int pst_maildir_open(pst_deliver *d, const char *dir, char *err, size_t errlen)
{
	pst_maildir *m;

	if (*dir == '\0' || strlen(dir) >= sizeof m->root) {
		snprintf(err, errlen, "maildir: bad directory name");
		return -1;
	}
	if ((m = calloc(1, sizeof *m)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(m->root, sizeof m->root, "%s", dir);
	escape_host(d->hostname, m->host, sizeof m->host);
	if (mkdir(dir, 0700) == 0)
		sync_parent(dir);
	else if (errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(m);
		return -1;
	}
	m->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->rootfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(m);
		return -1;
	}
	d->ops = &pst_maildir_ops;
	d->impl = m;
	return 0;
}
