/*
 * fdio.c: writing whole buffers to a descriptor (contract: fdio.h).
 */
#include "util/fdio.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

int pst_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int pst_write_line(int fd, const char *line, size_t len)
{
	struct iovec iov[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
	ssize_t w;

	do
		w = writev(fd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	size_t done = (size_t)w;
	if (done > len)
		return 0;
	/* a short write: the rest of the line, then its newline */
	if (done < len && pst_write_all(fd, line + done, len - done) < 0)
		return -1;
	return pst_write_all(fd, "\n", 1);
}
