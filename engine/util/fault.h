/*
 * fault.h: test-only fault injection at the system calls of delivery.
 *
 * Delivery code (engine/deliver/maildir.c, relay.c) calls pst_fault_open()
 * and friends instead of openat() and friends. In a normal build (configure
 * without --enable-fault-injection) each is a macro for the plain call, so
 * the wrappers cost nothing and no fault code is compiled in.
 *
 * Built with --enable-fault-injection (PST_FAULT_INJECTION in config.h),
 * each call is counted per kind and the N-th call of a kind can be made to
 * fail with a chosen errno, without the real call being made (close is the
 * exception: the descriptor is closed, then the error reported, as Linux
 * does). The faults come from the environment, read once at program start:
 *
 *   POSTERN_FAULT="KIND:N[+][:ERRNO][,KIND:N[+][:ERRNO]]..."
 *
 * KIND is open, mkdir, write, fsync, close, rename, link, read (a read from
 * the downstream LMTP server) or send (a write to it); N counts from 1 over
 * the whole process; "N+" fails the N-th and every later call (a disk that
 * stays full); ERRNO is a name (EIO, ENOSPC, EDQUOT, EINTR, EEXIST, ...) or
 * a number, EIO when left out. Each injected fault is reported on stderr as
 * "postern: fault injected: KIND call N: ERRNO". With POSTERN_FAULT_COUNT
 * set to anything, the number of calls of each kind is printed on stderr at
 * exit, "postern: fault calls: open=N mkdir=N ...", so a test can find how
 * many failure points a delivery has. A malformed POSTERN_FAULT stops the
 * program at start with exit status 2.
 */
#ifndef PST_UTIL_FAULT_H
#define PST_UTIL_FAULT_H

#include "config.h"

#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

typedef enum pst_fault_kind {
	PST_FAULT_OPEN,
	PST_FAULT_MKDIR,
	PST_FAULT_WRITE,
	PST_FAULT_FSYNC,
	PST_FAULT_CLOSE,
	PST_FAULT_RENAME,
	PST_FAULT_LINK,
	PST_FAULT_READ,
	PST_FAULT_SEND,
	PST_FAULT_NKINDS
} pst_fault_kind;

#ifdef PST_FAULT_INJECTION

/* Replace the faults in force by spec (the syntax of POSTERN_FAULT; "" or
 * NULL: none) and reset every counter. 0, or -1 with a reason in err.
 * Not to be called while delivery runs in another thread. */
int pst_fault_set(const char *spec, char *err, size_t errlen);

/* Count one call of kind k: the errno it must fail with, or 0. */
int pst_fault_hit(pst_fault_kind k);

/* Calls of kind k counted since start (or the last pst_fault_set). */
unsigned long pst_fault_calls(pst_fault_kind k);

/* "open", "mkdir", ... Static storage; NULL when k is out of range. */
const char *pst_fault_kind_name(pst_fault_kind k);

int pst_fault_open(int dirfd, const char *path, int flags, mode_t mode);
int pst_fault_mkdir(int dirfd, const char *path, mode_t mode);
ssize_t pst_fault_write(int fd, const void *p, size_t n);
ssize_t pst_fault_writev(int fd, const struct iovec *iov, int n);   /* a "write" */
int pst_fault_fsync(int fd);
int pst_fault_close(int fd);
int pst_fault_rename(int olddir, const char *oldpath, int newdir, const char *newpath);
int pst_fault_link(int olddir, const char *oldpath, int newdir, const char *newpath, int flags);
ssize_t pst_fault_recv(int fd, void *p, size_t n, int flags);
ssize_t pst_fault_send(int fd, const void *p, size_t n, int flags);

#else

#define pst_fault_open(dirfd, path, flags, mode) openat((dirfd), (path), (flags), (mode))
#define pst_fault_mkdir(dirfd, path, mode) mkdirat((dirfd), (path), (mode))
#define pst_fault_write(fd, p, n) write((fd), (p), (n))
#define pst_fault_writev(fd, iov, n) writev((fd), (iov), (n))
#define pst_fault_fsync(fd) fsync(fd)
#define pst_fault_close(fd) close(fd)
#define pst_fault_rename(od, op, nd, np) renameat((od), (op), (nd), (np))
#define pst_fault_link(od, op, nd, np, fl) linkat((od), (op), (nd), (np), (fl))
#define pst_fault_recv(fd, p, n, fl) recv((fd), (p), (n), (fl))
#define pst_fault_send(fd, p, n, fl) send((fd), (p), (n), (fl))

#endif

#endif
