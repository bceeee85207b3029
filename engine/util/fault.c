/*
 * fault.c: the fault injection of fault.h, compiled only when configure
 * was given --enable-fault-injection.
 *
 * Contract: one counter per kind, incremented atomically by every wrapped
 * call from any thread; a call fails (without being made, except close)
 * when its counter value equals a fault's N, or is at least N for "N+".
 * The faults are parsed from POSTERN_FAULT by a constructor, before main,
 * so they are fixed for the life of a server; pst_fault_set() replaces
 * them for unit tests. Reports go to file descriptor 2 with write(2), which
 * is not itself wrapped. Depends on libc only.
 */
#include "util/fault.h"

#ifdef PST_FAULT_INJECTION

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAULTS 16

typedef struct fault {
	pst_fault_kind kind;
	unsigned long nth;
	int sticky;            /* "N+": every call from the N-th on */
	int err;
} fault;

static fault faults[MAX_FAULTS];
static size_t nfaults;
static unsigned long calls[PST_FAULT_NKINDS];

static const char *const kind_names[PST_FAULT_NKINDS] = {
	"open", "mkdir", "write", "fsync", "close", "rename", "link", "read", "send",
};

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EROFS", EROFS },
	{ "EACCES", EACCES }, { "EPERM", EPERM }, { "EINTR", EINTR }, { "EAGAIN", EAGAIN },
	{ "EEXIST", EEXIST }, { "ENOENT", ENOENT }, { "EMFILE", EMFILE }, { "ENFILE", ENFILE },
	{ "ENOMEM", ENOMEM }, { "EFBIG", EFBIG }, { "ENAMETOOLONG", ENAMETOOLONG },
	{ "ECONNRESET", ECONNRESET }, { "EPIPE", EPIPE }, { "ETIMEDOUT", ETIMEDOUT },
	{ "ENOTCONN", ENOTCONN }, { "EBADF", EBADF }, { "EINVAL", EINVAL },
};

const char *pst_fault_kind_name(pst_fault_kind k)
{
	return (unsigned)k < PST_FAULT_NKINDS ? kind_names[k] : NULL;
}

static const char *errno_name(int err)
{
	for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return NULL;
}

/* One "KIND:N[+][:ERRNO]" of len bytes at s into *f. 0 / -1 with err. */
static int parse_one(const char *s, size_t len, fault *f, char *err, size_t errlen)
{
	char item[64], whole[64], *p, *end;
	size_t i;

	if (len == 0 || len >= sizeof item) {
		snprintf(err, errlen, "empty or overlong item");
		return -1;
	}
	memcpy(item, s, len);
	item[len] = '\0';
	memcpy(whole, item, len + 1);   /* for the messages: item is cut up */
	if ((p = strchr(item, ':')) == NULL) {
		snprintf(err, errlen, "%s: want KIND:N[:ERRNO]", item);
		return -1;
	}
	*p++ = '\0';
	for (i = 0; i < PST_FAULT_NKINDS; i++)
		if (strcmp(item, kind_names[i]) == 0)
			break;
	if (i == PST_FAULT_NKINDS) {
		snprintf(err, errlen, "%s: unknown kind (open, mkdir, write, fsync, close, rename, "
			 "link, read, send)", whole);
		return -1;
	}
	f->kind = (pst_fault_kind)i;
	errno = 0;
	f->nth = strtoul(p, &end, 10);
	if (errno != 0 || end == p || f->nth == 0 || *p == '-' || *p == '+') {
		snprintf(err, errlen, "%s: N must be a number from 1", whole);
		return -1;
	}
	f->sticky = *end == '+';
	end += f->sticky;
	f->err = EIO;
	if (*end == '\0')
		return 0;
	if (*end++ != ':' || *end == '\0') {
		snprintf(err, errlen, "%s: want KIND:N[+][:ERRNO]", whole);
		return -1;
	}
	for (i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
		if (strcmp(end, errnos[i].name) == 0) {
			f->err = errnos[i].err;
			return 0;
		}
	errno = 0;
	long n = strtol(end, &p, 10);
	if (errno != 0 || *p != '\0' || n <= 0 || n > 4095) {
		snprintf(err, errlen, "%s: unknown errno %s", whole, end);
		return -1;
	}
	f->err = (int)n;
	return 0;
}

int pst_fault_set(const char *spec, char *err, size_t errlen)
{
	fault parsed[MAX_FAULTS];
	size_t n = 0;

	while (spec != NULL && *spec != '\0') {
		size_t len = strcspn(spec, ",");
		if (n == MAX_FAULTS) {
			snprintf(err, errlen, "more than %d faults", MAX_FAULTS);
			return -1;
		}
		if (parse_one(spec, len, &parsed[n++], err, errlen) != 0)
			return -1;
		spec += len + (spec[len] == ',');
	}
	memcpy(faults, parsed, n * sizeof parsed[0]);
	nfaults = n;
	for (size_t k = 0; k < PST_FAULT_NKINDS; k++)
		__atomic_store_n(&calls[k], 0, __ATOMIC_RELAXED);
	return 0;
}

unsigned long pst_fault_calls(pst_fault_kind k)
{
	return (unsigned)k < PST_FAULT_NKINDS ? __atomic_load_n(&calls[k], __ATOMIC_RELAXED) : 0;
}

static void report(const char *text)
{
	size_t len = strlen(text);

	while (len > 0) {
		ssize_t w = write(2, text, len);
		if (w <= 0 && errno != EINTR)
			return;
		if (w > 0) {
			text += w;
			len -= (size_t)w;
		}
	}
}

int pst_fault_hit(pst_fault_kind k)
{
	unsigned long n = __atomic_add_fetch(&calls[k], 1, __ATOMIC_RELAXED);

	for (size_t i = 0; i < nfaults; i++) {
		const fault *f = &faults[i];
		if (f->kind != k || (f->sticky ? n < f->nth : n != f->nth))
			continue;
		char line[128];
		const char *name = errno_name(f->err);
		if (name != NULL)
			snprintf(line, sizeof line, "postern: fault injected: %s call %lu: %s\n",
				 kind_names[k], n, name);
		else
			snprintf(line, sizeof line, "postern: fault injected: %s call %lu: %d\n",
				 kind_names[k], n, f->err);
		report(line);
		return f->err;
	}
	return 0;
}

static void print_counts(void)
{
	char line[256];
	size_t o = (size_t)snprintf(line, sizeof line, "postern: fault calls:");

	for (size_t k = 0; k < PST_FAULT_NKINDS && o < sizeof line; k++)
		o += (size_t)snprintf(line + o, sizeof line - o, " %s=%lu", kind_names[k],
				      pst_fault_calls((pst_fault_kind)k));
	if (o < sizeof line - 1)
		snprintf(line + o, sizeof line - o, "\n");
	report(line);
}

__attribute__((constructor)) static void fault_init(void)
{
	char err[160];
	const char *spec = getenv("POSTERN_FAULT");

	if (pst_fault_set(spec, err, sizeof err) != 0) {
		char line[256];
		snprintf(line, sizeof line, "postern: POSTERN_FAULT: %s\n", err);
		report(line);
		_exit(2);
	}
	if (getenv("POSTERN_FAULT_COUNT") != NULL)
		atexit(print_counts);
}

/* ---- The wrappers -------------------------------------------------------- */

#define FAIL_IF_HIT(kind, ret)                          \
	do {                                            \
		int fault_err_ = pst_fault_hit(kind);   \
		if (fault_err_ != 0) {                  \
			errno = fault_err_;             \
			return (ret);                   \
		}                                       \
	} while (0)

int pst_fault_open(int dirfd, const char *path, int flags, mode_t mode)
{
	FAIL_IF_HIT(PST_FAULT_OPEN, -1);
	return openat(dirfd, path, flags, mode);
}

int pst_fault_mkdir(int dirfd, const char *path, mode_t mode)
{
	FAIL_IF_HIT(PST_FAULT_MKDIR, -1);
	return mkdirat(dirfd, path, mode);
}

ssize_t pst_fault_write(int fd, const void *p, size_t n)
{
	FAIL_IF_HIT(PST_FAULT_WRITE, -1);
	return write(fd, p, n);
}

ssize_t pst_fault_writev(int fd, const struct iovec *iov, int n)
{
	FAIL_IF_HIT(PST_FAULT_WRITE, -1);
	return writev(fd, iov, n);
}

int pst_fault_fsync(int fd)
{
	FAIL_IF_HIT(PST_FAULT_FSYNC, -1);
	return fsync(fd);
}

int pst_fault_close(int fd)
{
	int err = pst_fault_hit(PST_FAULT_CLOSE);

	if (err == 0)
		return close(fd);
	(void)close(fd);   /* Linux frees the descriptor even when close fails */
	errno = err;
	return -1;
}

int pst_fault_rename(int olddir, const char *oldpath, int newdir, const char *newpath)
{
	FAIL_IF_HIT(PST_FAULT_RENAME, -1);
	return renameat(olddir, oldpath, newdir, newpath);
}

int pst_fault_link(int olddir, const char *oldpath, int newdir, const char *newpath, int flags)
{
	FAIL_IF_HIT(PST_FAULT_LINK, -1);
	return linkat(olddir, oldpath, newdir, newpath, flags);
}

ssize_t pst_fault_recv(int fd, void *p, size_t n, int flags)
{
	FAIL_IF_HIT(PST_FAULT_READ, -1);
	return recv(fd, p, n, flags);
}

ssize_t pst_fault_send(int fd, const void *p, size_t n, int flags)
{
	FAIL_IF_HIT(PST_FAULT_SEND, -1);
	return send(fd, p, n, flags);
}

#endif
