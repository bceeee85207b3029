/*
 * fdio.h: writing whole buffers to a descriptor.
 *
 * write(2) may write less than asked (a pipe, a full disk, a signal) and
 * may be interrupted; these loop until everything is written or an error
 * that is not EINTR. They neither open nor close the descriptor, and the
 * caller keeps whatever lock makes its lines whole among threads.
 */
#ifndef PST_UTIL_FDIO_H
#define PST_UTIL_FDIO_H

#include <stddef.h>

/* Writes the n bytes at p to fd. 0, or -1 with errno (EIO for a write
 * that wrote nothing). */
int pst_write_all(int fd, const void *p, size_t n);

/* Writes the len bytes of line and then a newline, in one writev(2) when
 * the kernel takes it whole (a log line under O_APPEND), the rest looped
 * as pst_write_all does. No memory is allocated. 0, or -1 with errno. */
int pst_write_line(int fd, const char *line, size_t len);

#endif
