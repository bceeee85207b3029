/*
 * deliver_stub.c: a test-only implementation of engine/deliver/deliver.h,
 * so "postern lmtp" links and its tests run before the real delivery
 * module is merged. It is linked after libpostern-core, so once the
 * library carries the real pst_deliver_* functions this archive is never
 * pulled in; the integrator then removes it.
 *
 * Only "maildir:DIR": DIR/<domain>/<localpart>[/<folder>]/{tmp,new,cur},
 * lower case, with the recipient delimiter and users file of deliver.h.
 * Each copy: Return-Path, Delivered-To and Received first, written to tmp/
 * with O_EXCL, fsync'd, renamed into new/, the directory fsync'd, then
 * 250. Any failure is 451 4.3.0 (452 4.2.2 for a full disk).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver/deliver.h"

struct pst_deliver {
	char root[1024];
	char delim;
	char hostname[256];
	char **users;
	size_t nusers;
	pthread_mutex_t lock;
	unsigned long seq;
};

static void set_reply(pst_reply *r, int code, const char *enh, const char *text)
{
	r->code = code;
	snprintf(r->enhanced, sizeof r->enhanced, "%s", enh);
	snprintf(r->text, sizeof r->text, "%s", text);
}

static int load_users(struct pst_deliver *d, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		char **u = realloc(d->users, (d->nusers + 1) * sizeof *u);
		if (u == NULL)
			break;
		d->users = u;
		for (char *p = line; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		d->users[d->nusers++] = strdup(line);
	}
	fclose(f);
	return 0;
}

int pst_deliver_open(const char *target, const pst_deliver_opts *opts, pst_deliver **out,
                     char *err, size_t errlen)
{
	*out = NULL;
	if (strncmp(target, "maildir:", 8) != 0 || target[8] == '\0') {
		snprintf(err, errlen, "the test delivery stub knows only maildir:DIR");
		return -1;
	}
	struct pst_deliver *d = calloc(1, sizeof *d);
	if (d == NULL)
		return -1;
	snprintf(d->root, sizeof d->root, "%s", target + 8);
	d->delim = opts ? opts->recipient_delimiter : 0;
	snprintf(d->hostname, sizeof d->hostname, "%s", opts && opts->hostname ? opts->hostname : "localhost");
	pthread_mutex_init(&d->lock, NULL);
	if ((mkdir(d->root, 0700) < 0 && errno != EEXIST) ||
	    (opts && opts->users_file && load_users(d, opts->users_file, err, errlen) < 0)) {
		if (!*err)
			snprintf(err, errlen, "%s: %s", d->root, strerror(errno));
		pst_deliver_close(&d);
		return -1;
	}
	*out = d;
	return 0;
}

void pst_deliver_close(pst_deliver **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	for (size_t i = 0; i < (*dp)->nusers; i++)
		free((*dp)->users[i]);
	free((*dp)->users);
	pthread_mutex_destroy(&(*dp)->lock);
	free(*dp);
	*dp = NULL;
}

/* Split and normalise address into local and domain (lower case, detail
 * dropped). 0, or -1 when a part is unsafe for a path. */
static int split(const pst_deliver *d, const char *address, char *local, char *domain, size_t len)
{
	const char *at = strrchr(address, '@');
	if (at == NULL || at == address || at[1] == '\0' || (size_t)(at - address) >= len ||
	    strlen(at + 1) >= len)
		return -1;
	snprintf(local, len, "%.*s", (int)(at - address), address);
	snprintf(domain, len, "%s", at + 1);
	if (d->delim) {
		char *p = strchr(local, d->delim);
		if (p && p != local)
			*p = '\0';
	}
	for (char *parts[2] = { local, domain }, **pp = parts; pp < parts + 2; pp++) {
		if (**pp == '.' || strstr(*pp, "..") || strchr(*pp, '/'))
			return -1;
		for (char *p = *pp; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -1;
			*p = (char)tolower((unsigned char)*p);
		}
	}
	return 0;
}

void pst_deliver_check_rcpt(const pst_deliver *d, const char *address, pst_reply *r)
{
	char local[256], domain[256], full[520];
	if (split(d, address, local, domain, sizeof local) < 0) {
		set_reply(r, 550, "5.1.3", "Bad recipient address syntax");
		return;
	}
	if (d->nusers) {
		snprintf(full, sizeof full, "%s@%s", local, domain);
		size_t i = 0;
		while (i < d->nusers && strcmp(d->users[i], full) != 0)
			i++;
		if (i == d->nusers) {
			set_reply(r, 550, "5.1.1", "User unknown");
			return;
		}
	}
	set_reply(r, 250, "2.1.5", "Ok");
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0700);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Store one copy; 0 or -1 with errno. */
static int store(pst_deliver *d, const pst_deliver_env *env, const pst_deliver_rcpt *rc,
                 const char *dir)
{
	char path[4200], tmp[4700], final[4800], head[2048];
	const char *subs[3] = { "tmp", "new", "cur" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
		if (mkdir_p(path) < 0)
			return -1;
	}
	pthread_mutex_lock(&d->lock);
	unsigned long seq = ++d->seq;
	pthread_mutex_unlock(&d->lock);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(tmp, sizeof tmp, "%s/tmp/%lld.M%ldP%dQ%lu.%s", dir, (long long)ts.tv_sec,
	         ts.tv_nsec / 1000, (int)getpid(), seq, d->hostname);
	snprintf(final, sizeof final, "%s/new/%s", dir, strrchr(tmp, '/') + 1);
	int n = snprintf(head, sizeof head,
	    "Return-Path: <%s>\r\nDelivered-To: %s\r\nReceived: from %s by %s (postern) id %s\r\n",
	    env->mail_from ? env->mail_from : "", rc->address, env->lhlo ? env->lhlo : "unknown",
	    d->hostname, env->queue_id ? env->queue_id : "");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, head, (size_t)n) < 0 || write_all(fd, rc->data, rc->len) < 0 ||
	    fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, final) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/new", dir);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int rcs = fsync(dfd);
	close(dfd);
	return rcs;
}

void pst_deliver_transaction(pst_deliver *d, const pst_deliver_env *env,
                             pst_deliver_rcpt *rcpts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char local[256], domain[256], dir[4096];
		if (split(d, rcpts[i].address, local, domain, sizeof local) < 0) {
			set_reply(&rcpts[i].reply, 550, "5.1.3", "Bad recipient address syntax");
			continue;
		}
		const char *folder = rcpts[i].folder;
		if (folder && (strchr(folder, '/') || strstr(folder, "..")))
			folder = ".Quarantine";
		snprintf(dir, sizeof dir, "%s/%s/%s%s%s", d->root, domain, local, folder ? "/" : "",
		         folder ? folder : "");
		if (store(d, env, &rcpts[i], dir) < 0) {
			if (errno == ENOSPC || errno == EDQUOT)
				set_reply(&rcpts[i].reply, 452, "4.2.2", "Mailbox full");
			else
				set_reply(&rcpts[i].reply, 451, "4.3.0", "Error: cannot store the message");
			continue;
		}
		char text[64];
		snprintf(text, sizeof text, "%.40s Saved", env->queue_id ? env->queue_id : "");
		set_reply(&rcpts[i].reply, 250, "2.0.0", text);
	}
}
