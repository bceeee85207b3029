/*
 * crashsim.c: an LD_PRELOAD shim for tests/lmtp/crash.sh that crashes the
 * server at a chosen point the way a power cut would, not just the way
 * kill -9 does.
 *
 * A kill -9 leaves the page cache alone: a file written but never fsync'd,
 * or a rename whose directory was never fsync'd, survives it, so kill -9
 * alone cannot tell an fsync done before the 250 from one done after it.
 * This shim tracks what is not durable yet and throws it away at the crash:
 *   - files created with openat(O_CREAT) and written since their last
 *     fsync are "dirty": at the crash they are cut to half their length;
 *   - a renameat not yet followed by an fsync of its target directory is
 *     "pending": at the crash it is undone (the file goes back to its old
 *     name).
 * Then the process sends itself SIGKILL. So a server that answered 250
 * before the data fsync, the rename or the directory fsync has a
 * client-acknowledged message missing from new/ (or a torn one in it).
 *
 * Environment: PST_CRASH_OP = rename (crash just before the Nth renameat)
 * or dirsync (just before the Nth fsync of a directory) or fsync (just
 * before the Nth fsync of a file); PST_CRASH_AT = N; PST_CRASH_REPORT = a
 * file that gets one line at the crash: what was counted and thrown away.
 * Without PST_CRASH_OP the shim only counts.
 *
 * Not part of postern: built by the test with the system compiler. One
 * mutex serialises the bookkeeping; the crash holds it, so no other thread
 * gets through a tracked call (and on to a reply) while it runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FILES 4096
#define MAX_RENAMES 1024
#define PATHLEN 1024

typedef struct tracked {
	dev_t dev;
	ino_t ino;
	int used, dirty;
	char path[PATHLEN];
} tracked;

typedef struct pending {
	dev_t dev;   /* the target directory */
	ino_t ino;
	int used;
	char from[PATHLEN], to[PATHLEN];
} pending;

static tracked files[MAX_FILES];
static pending renames[MAX_RENAMES];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_rename, n_dirsync, n_fsync, n_overflow;

static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fsync)(int);
static int (*real_renameat)(int, const char *, int, const char *);

static void init(void)
{
	if (real_openat == NULL) {
		real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
		real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
		real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
		real_renameat = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT,
										    "renameat");
	}
}

/* dirfd + name as an absolute path, via /proc. */
static int full_path(int dirfd, const char *name, char *out, size_t n)
{
	char link[64];
	ssize_t len;

	if (name[0] == '/') {
		snprintf(out, n, "%s", name);
		return 0;
	}
	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof link, "/proc/self/cwd");
	else
		snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
	len = readlink(link, out, n - 1);
	if (len < 0 || (size_t)len + strlen(name) + 2 > n)
		return -1;
	out[len] = '\0';
	strcat(out, "/");
	strcat(out, name);
	return 0;
}

static tracked *find_file(dev_t dev, ino_t ino)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].used && files[i].dev == dev && files[i].ino == ino)
			return &files[i];
	return NULL;
}

static const char *op(void)
{
	const char *s = getenv("PST_CRASH_OP");
	return s ? s : "";
}

static unsigned long at(void)
{
	const char *s = getenv("PST_CRASH_AT");
	return s ? strtoul(s, NULL, 10) : 0;
}

/* The power cut: throw away what is not durable, report, SIGKILL. Called
 * with mu held; never returns. */
static void crash(void)
{
	int undone = 0, torn = 0;
	const char *rep = getenv("PST_CRASH_REPORT");
	struct stat st;

	for (int i = 0; i < MAX_RENAMES; i++)
		if (renames[i].used && rename(renames[i].to, renames[i].from) == 0)
			undone++;
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].used && files[i].dirty && stat(files[i].path, &st) == 0
		    && st.st_ino == files[i].ino && truncate(files[i].path, st.st_size / 2) == 0)
			torn++;
	if (rep != NULL) {
		FILE *f = fopen(rep, "a");
		if (f != NULL) {
			fprintf(f, "op=%s at=%lu renames=%lu dirsyncs=%lu fsyncs=%lu undone=%d torn=%d"
				   " overflow=%lu\n", op(), at(), n_rename, n_dirsync, n_fsync, undone,
				torn, n_overflow);
			fclose(f);
		}
	}
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

int openat(int dirfd, const char *name, int flags, ...)
{
	mode_t mode = 0;
	int fd;
	struct stat st;

	init();
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = real_openat(dirfd, name, flags, mode);
	if (fd >= 0 && (flags & O_CREAT) && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		int saved = errno;
		pthread_mutex_lock(&mu);
		tracked *t = find_file(st.st_dev, st.st_ino);
		for (int i = 0; t == NULL && i < MAX_FILES; i++)
			if (!files[i].used)
				t = &files[i];
		if (t == NULL)
			n_overflow++;
		else if (full_path(dirfd, name, t->path, sizeof t->path) == 0) {
			t->used = 1;
			t->dirty = 0;
			t->dev = st.st_dev;
			t->ino = st.st_ino;
		}
		pthread_mutex_unlock(&mu);
		errno = saved;
	}
	return fd;
}

ssize_t write(int fd, const void *p, size_t n)
{
	struct stat st;
	ssize_t w;

	init();
	w = real_write(fd, p, n);
	if (w > 0) {
		int saved = errno;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			pthread_mutex_lock(&mu);
			tracked *t = find_file(st.st_dev, st.st_ino);
			if (t != NULL)
				t->dirty = 1;
			pthread_mutex_unlock(&mu);
		}
		errno = saved;
	}
	return w;
}

int fsync(int fd)
{
	struct stat st;
	int rc;

	init();
	if (fstat(fd, &st) != 0)
		return real_fsync(fd);
	pthread_mutex_lock(&mu);
	if (S_ISDIR(st.st_mode)) {
		n_dirsync++;
		if (strcmp(op(), "dirsync") == 0 && n_dirsync == at())
			crash();
	} else {
		n_fsync++;
		if (strcmp(op(), "fsync") == 0 && n_fsync == at())
			crash();
	}
	pthread_mutex_unlock(&mu);
	rc = real_fsync(fd);
	if (rc == 0) {
		pthread_mutex_lock(&mu);
		if (S_ISDIR(st.st_mode)) {
			for (int i = 0; i < MAX_RENAMES; i++)
				if (renames[i].used && renames[i].dev == st.st_dev
				    && renames[i].ino == st.st_ino)
					renames[i].used = 0;
		} else {
			tracked *t = find_file(st.st_dev, st.st_ino);
			if (t != NULL)
				t->used = 0;   /* durable: no longer tracked */
		}
		pthread_mutex_unlock(&mu);
	}
	return rc;
}

int renameat(int olddir, const char *oldname, int newdir, const char *newname)
{
	char from[PATHLEN], to[PATHLEN];
	struct stat dst, fst;
	int rc, ok;

	init();
	ok = full_path(olddir, oldname, from, sizeof from) == 0
	     && full_path(newdir, newname, to, sizeof to) == 0
	     && (newdir == AT_FDCWD ? stat(".", &dst) : fstat(newdir, &dst)) == 0;
	pthread_mutex_lock(&mu);
	n_rename++;
	if (strcmp(op(), "rename") == 0 && n_rename == at())
		crash();
	rc = real_renameat(olddir, oldname, newdir, newname);
	if (rc == 0 && ok) {
		int saved = errno, slot = -1;
		for (int i = 0; slot < 0 && i < MAX_RENAMES; i++)
			if (!renames[i].used)
				slot = i;
		if (slot < 0)
			n_overflow++;
		else {
			renames[slot].used = 1;
			renames[slot].dev = dst.st_dev;
			renames[slot].ino = dst.st_ino;
			snprintf(renames[slot].from, PATHLEN, "%s", from);
			snprintf(renames[slot].to, PATHLEN, "%s", to);
		}
		if (stat(to, &fst) == 0) {
			tracked *t = find_file(fst.st_dev, fst.st_ino);
			if (t != NULL)
				snprintf(t->path, PATHLEN, "%s", to);
		}
		errno = saved;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}
