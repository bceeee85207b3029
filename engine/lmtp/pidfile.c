/*
 * pidfile.c: the pid file and the reload state file (see pidfile.h).
 *
 * A process "runs postern" when /proc/PID/cmdline has an argument whose
 * base name is postern or lt-postern (a libtool wrapper): a stale pid file
 * whose number was reused by another program is not taken for a server.
 * Every read is bounded (a pid file of 64 bytes, a state file of 8 KiB).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lmtp/pidfile.h"
#include "util/fdio.h"

#define STATE_MAX 8192

/* Read at most len - 1 bytes of path into buf, NUL-terminated. The number
 * of bytes, or -1 with errno set. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n < len - 1) {
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

static int parse_pid(const char *s, long *pid)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || v <= 0 || (*end != '\0' && *end != '\n')) {
		errno = EINVAL;
		return -1;
	}
	*pid = v;
	return 0;
}

int pst_pidfile_read(const char *path, long *pid)
{
	char buf[64];
	if (read_small(path, buf, sizeof buf) < 0)
		return -1;
	return parse_pid(buf, pid);
}

int pst_pidfile_is_postern(long pid)
{
	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return 0;
	char path[64], cmd[4096];
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	ssize_t n = read_small(path, cmd, sizeof cmd);
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(cmd + i) + 1) {
		const char *arg = cmd + i, *base = strrchr(arg, '/');
		base = base ? base + 1 : arg;
		if (strcmp(base, "postern") == 0 || strcmp(base, "lt-postern") == 0)
			return 1;
	}
	return 0;
}

/* Write text to path through path.tmp and rename(). 0 / -1 (errno). */
static int write_replace(const char *path, const char *text, mode_t mode)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	if (pst_write_all(fd, text, strlen(text)) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int pst_pidfile_write(const char *path)
{
	char text[32];
	snprintf(text, sizeof text, "%ld\n", (long)getpid());
	return write_replace(path, text, 0644);
}

int pst_reload_state_path(const char *pidfile, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.reload", pidfile);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* s into out (len bytes) with every control character a space. */
static void one_line(const char *s, char *out, size_t len)
{
	size_t n = 0;
	for (; s && s[n] && n + 1 < len; n++)
		out[n] = (unsigned char)s[n] < 0x20 ? ' ' : s[n];
	out[n] = '\0';
}

int pst_reload_state_write(const char *pidfile, const pst_reload_state *st)
{
	char path[4200], rules[sizeof st->rules], error[sizeof st->error], text[STATE_MAX];
	if (pst_reload_state_path(pidfile, path, sizeof path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	one_line(st->rules, rules, sizeof rules);
	one_line(st->error, error, sizeof error);
	int n = snprintf(text, sizeof text, "pid %ld\nseq %lu\nok %d\ngeneration %u\nrules %s\n%s%s%s",
	                 st->pid, st->seq, st->ok ? 1 : 0, st->generation, rules,
	                 error[0] ? "error " : "", error, error[0] ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof text) {
		errno = EOVERFLOW;
		return -1;
	}
	return write_replace(path, text, 0644);
}

/* One "key value" line into st; 0, or -1 for a malformed line. */
static int state_line(char *line, pst_reload_state *st, int *have)
{
	char *sp = strchr(line, ' ');
	if (sp == NULL)
		return -1;
	*sp = '\0';
	const char *v = sp + 1;
	char *end;
	if (strcmp(line, "pid") == 0) {
		if (parse_pid(v, &st->pid) < 0)
			return -1;
		*have |= 1;
	} else if (strcmp(line, "seq") == 0) {
		errno = 0;
		st->seq = strtoul(v, &end, 10);
		if (errno || end == v || *end)
			return -1;
		*have |= 2;
	} else if (strcmp(line, "ok") == 0) {
		st->ok = strcmp(v, "1") == 0;
	} else if (strcmp(line, "generation") == 0) {
		st->generation = (unsigned)strtoul(v, &end, 10);
	} else if (strcmp(line, "rules") == 0) {
		snprintf(st->rules, sizeof st->rules, "%s", v);
	} else if (strcmp(line, "error") == 0) {
		snprintf(st->error, sizeof st->error, "%s", v);
	}
	return 0;
}

int pst_reload_state_read(const char *pidfile, pst_reload_state *st)
{
	char path[4200], text[STATE_MAX];
	memset(st, 0, sizeof *st);
	if (pst_reload_state_path(pidfile, path, sizeof path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (read_small(path, text, sizeof text) < 0)
		return -1;
	int have = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (state_line(line, st, &have) < 0) {
			errno = EINVAL;
			return -1;
		}
	if (have != 3) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
