/*
 * corpus.c: the messages of a replay corpus (Maildir, mbox, folder of
 * .eml), and the envelope facts their trace fields carry; see corpus.h
 * for the contract.
 *
 * Listing happens once, up front, in one thread; loading an item is
 * thread-safe as long as each thread has its own scratch buffer (mbox
 * messages are only read after listing). The trace scanner only looks at
 * the header section and never allocates.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/corpus.h"

/* ---- Listing -------------------------------------------------------- */

static int add_item(pst_corpus *c, const char *path, size_t mbox, const char *data, size_t len,
                    const char *owner)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		pst_corpus_item *items = realloc(c->items, cap * sizeof *items);
		if (items == NULL)
			return -1;
		c->items = items;
		c->cap = cap;
	}
	char *copy = strdup(path);
	if (copy == NULL)
		return -1;
	const char *slash = strrchr(copy, '/');
	size_t leaf = slash ? (size_t)(slash - copy) + 1 : 0;
	c->items[c->n++] = (pst_corpus_item){ copy, leaf, mbox, data, len, owner };
	return 0;
}

static int keep_buffer(pst_corpus *c, char *data)
{
	if (c->nbuf == c->bcap) {
		size_t cap = c->bcap ? c->bcap * 2 : 8;
		char **b = realloc(c->buffers, cap * sizeof *b);
		if (b == NULL)
			return -1;
		c->buffers = b;
		c->bcap = cap;
	}
	c->buffers[c->nbuf++] = data;
	return 0;
}

static int join_path(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int has_eml_suffix(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcasecmp(name + n - 4, ".eml") == 0;
}

/* What one listing walks with: the corpus, the real path of the corpus
 * argument (a symbolic link is read only when it leads to a regular file
 * inside it), and where the reason of a failure goes. */
struct walk {
	pst_corpus *c;
	char root[PATH_MAX];
	size_t rootlen;
	char *err;
	size_t errlen;
};

enum kind { KIND_OTHER, KIND_FILE, KIND_DIR };

/* Does the symbolic link path lead to a regular file inside the root? */
static int link_inside(const struct walk *w, const char *path)
{
	char real[PATH_MAX];
	struct stat st;
	if (realpath(path, real) == NULL || stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return strncmp(real, w->root, w->rootlen) == 0 && (w->rootlen == 1 || real[w->rootlen] == '/');
}

/* What an entry is, without following links: readdir's type when it
 * knows, else lstat(). A symbolic link is a file when it leads to a
 * regular file inside the root, and never a folder. */
static enum kind entry_kind(const struct walk *w, const struct dirent *e, const char *path)
{
	struct stat st;
#ifdef DT_REG
	if (e->d_type == DT_REG)
		return KIND_FILE;
	if (e->d_type == DT_DIR)
		return KIND_DIR;
	if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK)
		return KIND_OTHER;
#else
	(void)e;
#endif
	if (lstat(path, &st) < 0)
		return KIND_OTHER;
	if (S_ISREG(st.st_mode))
		return KIND_FILE;
	if (S_ISDIR(st.st_mode))
		return KIND_DIR;
	return S_ISLNK(st.st_mode) && link_inside(w, path) ? KIND_FILE : KIND_OTHER;
}

/* A folder, not a symbolic link to one. */
static int is_real_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A Maildir: a folder with a cur/ or new/ folder. */
static int is_maildir(const char *dir)
{
	char sub[4096];
	return (join_path(sub, sizeof sub, dir, "cur") == 0 && is_real_dir(sub)) ||
	       (join_path(sub, sizeof sub, dir, "new") == 0 && is_real_dir(sub));
}

/* Every file of dir (one level) not starting with '.'. */
static int add_maildir_sub(struct walk *w, const char *dir, const char *owner)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(w->err, w->errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	char path[4096];
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (join_path(path, sizeof path, dir, e->d_name) < 0) {
			snprintf(w->err, w->errlen, "path too long in %s", dir);
			rc = -1;
		} else if (entry_kind(w, e, path) == KIND_FILE && add_item(w->c, path, 0, NULL, 0, owner) < 0) {
			snprintf(w->err, w->errlen, "out of memory");
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/* The messages of one Maildir (cur/, new/), not of its sub-folders. */
static int add_maildir_own(struct walk *w, const char *dir, const char *owner)
{
	char sub[4096];
	if (join_path(sub, sizeof sub, dir, "cur") < 0 || add_maildir_sub(w, sub, owner) < 0)
		return -1;
	if (join_path(sub, sizeof sub, dir, "new") < 0 || add_maildir_sub(w, sub, owner) < 0)
		return -1;
	return 0;
}

/* A Maildir and its Maildir++ sub-folders: the folders .NAME directly in
 * it that are Maildirs themselves (Maildir++ keeps them flat, so one level
 * is all there is). */
static int add_maildir(struct walk *w, const char *dir, const char *owner)
{
	if (add_maildir_own(w, dir, owner) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (d == NULL) {
		snprintf(w->err, w->errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	char path[4096];
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (join_path(path, sizeof path, dir, e->d_name) < 0) {
			snprintf(w->err, w->errlen, "path too long in %s", dir);
			rc = -1;
		} else if (entry_kind(w, e, path) == KIND_DIR && is_maildir(path)) {
			rc = add_maildir_own(w, path, owner);
		}
	}
	closedir(d);
	return rc;
}

/* A folder name postern lmtp could have written as a domain: a dot, and
 * only letters, digits, '-' and '.' (the domain of an address literal,
 * "[...]", too). */
static int looks_like_domain(const char *name)
{
	size_t n = strlen(name);
	if (n >= 2 && name[0] == '[' && name[n - 1] == ']')
		return 1;
	if (strchr(name, '.') == NULL)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

/* The owner of the Maildir DOMAIN/LOCALPART below the root, kept with the
 * corpus's buffers: 0 with *owner set (NULL when domain does not look like
 * one), -1 out of memory. */
static int maildir_owner(struct walk *w, const char *domain, const char *local, const char **owner)
{
	size_t ln = strlen(local), dn = strlen(domain);
	*owner = NULL;
	if (!looks_like_domain(domain) || ln + dn + 2 > PST_TRACE_ADDR_BYTES)
		return 0;
	char *addr = malloc(ln + dn + 2);
	if (addr == NULL)
		return -1;
	memcpy(addr, local, ln);
	addr[ln] = '@';
	memcpy(addr + ln + 1, domain, dn + 1);
	if (keep_buffer(w->c, addr) < 0) {
		free(addr);
		return -1;
	}
	*owner = addr;
	return 0;
}

/* A folder that is not a Maildir, depth folders below the root: its .eml
 * files, its Maildirs (the ones at DOMAIN/LOCALPART get that owner) and,
 * recursively, its other folders. Names starting with '.' are skipped. */
static int add_tree(struct walk *w, const char *dir, int depth)
{
	if (depth > PST_CORPUS_MAX_DEPTH) {
		snprintf(w->err, w->errlen, "%s: folders nested deeper than %d", dir, PST_CORPUS_MAX_DEPTH);
		return -1;
	}
	DIR *d = opendir(dir);
	if (d == NULL) {
		snprintf(w->err, w->errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	const char *slash = strrchr(dir, '/');
	const char *domain = depth == 1 ? (slash ? slash + 1 : dir) : NULL;
	struct dirent *e;
	char path[4096];
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		const char *owner = NULL;
		if (e->d_name[0] == '.')
			continue;
		if (join_path(path, sizeof path, dir, e->d_name) < 0) {
			snprintf(w->err, w->errlen, "path too long in %s", dir);
			rc = -1;
			continue;
		}
		switch (entry_kind(w, e, path)) {
		case KIND_DIR:
			if (!is_maildir(path)) {
				rc = add_tree(w, path, depth + 1);
			} else if (domain && maildir_owner(w, domain, e->d_name, &owner) < 0) {
				snprintf(w->err, w->errlen, "out of memory");
				rc = -1;
			} else {
				rc = add_maildir(w, path, owner);
			}
			break;
		case KIND_FILE:
			if (has_eml_suffix(e->d_name) && add_item(w->c, path, 0, NULL, 0, NULL) < 0) {
				snprintf(w->err, w->errlen, "out of memory");
				rc = -1;
			}
			break;
		case KIND_OTHER:
			break;
		}
	}
	closedir(d);
	return rc;
}

/* Read a whole file into a malloc'd, NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	pst_buf b = PST_BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (pst_buf_reserve(&b, 65536) < 0) {
			snprintf(err, errlen, "out of memory reading %s", path);
			break;
		}
		ssize_t r = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (r == 0) {
			close(fd);
			b.data[b.len] = '\0';
			return pst_buf_steal(&b, len);
		}
		b.len += (size_t)r;
	}
	close(fd);
	pst_buf_free(&b);
	return NULL;
}

/* Remove one '>' from body lines matching ^>+From (mboxrd), in place. */
static size_t mboxrd_unquote(char *p, size_t n)
{
	size_t r = 0, w = 0;
	int bol = 1;
	while (r < n) {
		if (bol && p[r] == '>') {
			size_t k = r;
			while (k < n && p[k] == '>')
				k++;
			if (n - k >= 5 && memcmp(p + k, "From ", 5) == 0)
				r++;
		}
		bol = p[r] == '\n';
		p[w++] = p[r++];
	}
	return w;
}

/* Is there a From_ separator at offset i of data (start of a line)? */
static int is_separator(const char *data, size_t len, size_t i)
{
	if (len - i < 5 || memcmp(data + i, "From ", 5) != 0)
		return 0;
	if (i == 0)
		return 1;
	/* the previous line must be empty */
	return i >= 2 && data[i - 1] == '\n' && (data[i - 2] == '\n' ||
	       (i >= 3 && data[i - 2] == '\r' && data[i - 3] == '\n'));
}

/* One mbox message: from just after its From_ line to the next separator,
 * without the empty line that ends it. */
static int add_mbox_message(pst_corpus *c, const char *path, size_t pos, char *data, size_t start,
                            size_t end)
{
	size_t body = start;
	while (body < end && data[body] != '\n')
		body++;
	if (body < end)
		body++;
	/* the empty line before the next separator (or the end) is the mbox's */
	if (end - body >= 2 && data[end - 1] == '\n' && data[end - 2] == '\n')
		end--;
	else if (end - body >= 4 && memcmp(data + end - 4, "\r\n\r\n", 4) == 0)
		end -= 2;
	size_t n = mboxrd_unquote(data + body, end - body);
	return add_item(c, path, pos, data + body, n, NULL);
}

static int add_mbox(pst_corpus *c, const char *path, char *data, size_t len, char *err, size_t errlen)
{
	if (keep_buffer(c, data) < 0) {
		free(data);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t start = 0, pos = 0;
	for (size_t i = 1; i <= len; i++) {
		if (i < len && !(data[i - 1] == '\n' && is_separator(data, len, i)))
			continue;
		if (add_mbox_message(c, path, ++pos, data, start, i) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		start = i;
	}
	return 0;
}

static int add_file(pst_corpus *c, const char *path, char *err, size_t errlen)
{
	char head[5];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t r = read(fd, head, sizeof head);
	close(fd);
	if (r == (ssize_t)sizeof head && memcmp(head, "From ", 5) == 0) {
		size_t len = 0;
		char *data = slurp(path, &len, err, errlen);
		return data ? add_mbox(c, path, data, len, err, errlen) : -1;
	}
	if (add_item(c, path, 0, NULL, 0, NULL) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int pst_corpus_add(pst_corpus *c, const char *path, char *err, size_t errlen)
{
	struct stat st;
	size_t before = c->n;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return add_file(c, path, err, errlen);
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is neither a regular file nor a folder", path);
		return -1;
	}
	struct walk w = { .c = c, .err = err, .errlen = errlen };
	if (realpath(path, w.root) == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	w.rootlen = strlen(w.root);
	if ((is_maildir(path) ? add_maildir(&w, path, NULL) : add_tree(&w, path, 0)) < 0)
		return -1;
	if (c->n == before) {
		snprintf(err, errlen,
		         "%s holds no messages; looked for a Maildir (cur/ and new/, with Maildir++ .NAME/ "
		         "sub-folders), a maildir:DIR tree (DOMAIN/LOCALPART/ Maildirs) and .eml files, "
		         "in folders up to %d deep (names starting with '.' and links to folders skipped)",
		         path, PST_CORPUS_MAX_DEPTH);
		return -1;
	}
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const pst_corpus_item *x = a, *y = b;
	int d = strcmp(x->path, y->path);
	if (d)
		return d;
	return x->mbox < y->mbox ? -1 : x->mbox > y->mbox;
}

void pst_corpus_sort(pst_corpus *c)
{
	if (c->n > 1)
		qsort(c->items, c->n, sizeof *c->items, item_cmp);
}

const char *pst_corpus_name(const pst_corpus *c, size_t i, char *buf, size_t size)
{
	const pst_corpus_item *it = &c->items[i];
	if (it->mbox)
		snprintf(buf, size, "%s:%zu", it->path, it->mbox);
	else
		snprintf(buf, size, "%s", it->path);
	return buf;
}

/* Read fd to its end into scratch, at most max bytes. The size fstat()
 * gives is read in one call when it can be: a replay opens thousands of
 * small files, and system calls are most of its cost. 0 / -1. */
static int read_fd(int fd, pst_buf *scratch, size_t max, char *err, size_t errlen)
{
	struct stat st;
	size_t size = 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		size = (size_t)st.st_size;
	pst_buf_clear(scratch);
	for (;;) {
		if (scratch->len > max) {
			snprintf(err, errlen, "message larger than %zu bytes", max);
			return -1;
		}
		size_t want = size > scratch->len ? size - scratch->len : 65536;
		if (pst_buf_reserve(scratch, want) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		ssize_t r = read(fd, scratch->data + scratch->len, scratch->cap - scratch->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read: %s", strerror(errno));
			return -1;
		}
		scratch->len += (size_t)r;
		if (r == 0 || (size > 0 && scratch->len == size))
			break;
	}
	scratch->data[scratch->len] = '\0';
	return 0;
}

/* Open an item's file, relative to its folder, which stays open in rd
 * for the items that follow it. */
static int open_item(const pst_corpus_item *it, pst_corpus_reader *rd)
{
	if (it->leaf == 0)
		return open(it->path, O_RDONLY | O_CLOEXEC);
	if (rd->dir == NULL || rd->dirlen != it->leaf || memcmp(rd->dir, it->path, it->leaf) != 0) {
		char dir[4096];
		if (rd->dirfd >= 0)
			close(rd->dirfd);
		rd->dir = NULL;
		rd->dirfd = -1;
		if (it->leaf >= sizeof dir)
			return open(it->path, O_RDONLY | O_CLOEXEC);
		memcpy(dir, it->path, it->leaf);
		dir[it->leaf] = '\0';
		if ((rd->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return open(it->path, O_RDONLY | O_CLOEXEC);
		rd->dir = it->path;
		rd->dirlen = it->leaf;
	}
	return openat(rd->dirfd, it->path + it->leaf, O_RDONLY | O_CLOEXEC);
}

int pst_corpus_load(const pst_corpus *c, size_t i, pst_corpus_reader *rd, size_t max,
                    const char **bytes, size_t *len, char *err, size_t errlen)
{
	const pst_corpus_item *it = &c->items[i];
	if (it->data) {
		*bytes = it->data;
		*len = it->len;
		return 0;
	}
	int fd = open_item(it, rd);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	int rc = read_fd(fd, &rd->buf, max, err, errlen);
	close(fd);
	if (rc == 0) {
		*bytes = rd->buf.data;
		*len = rd->buf.len;
	}
	return rc;
}

void pst_corpus_reader_free(pst_corpus_reader *rd)
{
	if (rd->dirfd >= 0)
		close(rd->dirfd);
	pst_buf_free(&rd->buf);
	*rd = (pst_corpus_reader)PST_CORPUS_READER_INIT;
}

void pst_corpus_free(pst_corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->items[i].path);
	for (size_t i = 0; i < c->nbuf; i++)
		free(c->buffers[i]);
	free(c->items);
	free(c->buffers);
	*c = (pst_corpus)PST_CORPUS_INIT;
}

/* ---- Received ------------------------------------------------------- */

struct scan {
	const char *p, *end;
};

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void skip_space(struct scan *s)
{
	while (s->p < s->end && is_space(*s->p))
		s->p++;
}

static void copy_text(char *out, size_t size, const char *p, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* One word: up to white space, a comment or ';'. */
static size_t read_word(struct scan *s, const char **word)
{
	*word = s->p;
	while (s->p < s->end && !is_space(*s->p) && *s->p != '(' && *s->p != ';')
		s->p++;
	return (size_t)(s->p - *word);
}

/* A balanced comment starting at '(': *text and *n are its inside. */
static void read_comment(struct scan *s, const char **text, size_t *n)
{
	int depth = 0;
	const char *start = s->p + 1;
	while (s->p < s->end) {
		char ch = *s->p++;
		if (ch == '\\' && s->p < s->end)
			s->p++;
		else if (ch == '(')
			depth++;
		else if (ch == ')' && --depth == 0)
			break;
	}
	*text = start;
	*n = (size_t)(s->p - start);
	if (*n > 0 && depth == 0)
		(*n)--;
}

/* The address text p[0..n) without brackets, an "IPv6:" prefix or a
 * ":port" after the bracket, into out when it is an IPv4 or IPv6 address. */
static int take_ip(const char *p, size_t n, char *out, size_t size)
{
	char tmp[PST_TRACE_IP_BYTES];
	unsigned char bin[16];
	if (n > 0 && *p == '[') {
		const char *close = memchr(p, ']', n);
		if (close == NULL)
			return -1;
		p++;
		n = (size_t)(close - p);
	}
	if (n >= 5 && strncasecmp(p, "IPv6:", 5) == 0) {
		p += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, bin) != 1 && inet_pton(AF_INET6, tmp, bin) != 1)
		return -1;
	copy_text(out, size, tmp, n);
	return 0;
}

/* What the comment after the "from" word says: the first bracketed IP (else
 * a bare one, as Microsoft writes it) and helo=NAME (Exim). */
static void read_from_comment(const char *t, size_t n, pst_received *r, int *bare_ip)
{
	struct scan s = { t, t + n };
	while (s.p < s.end) {
		while (s.p < s.end && (is_space(*s.p) || *s.p == '(' || *s.p == ')'))
			s.p++;
		const char *w = s.p;
		while (s.p < s.end && !is_space(*s.p) && *s.p != '(' && *s.p != ')')
			s.p++;
		size_t wn = (size_t)(s.p - w);
		if (wn == 0)
			continue;
		if (*w == '[' && (!r->ip[0] || *bare_ip)) {
			if (take_ip(w, wn, r->ip, sizeof r->ip) == 0)
				*bare_ip = 0;
		} else if (wn > 5 && strncasecmp(w, "helo=", 5) == 0) {
			copy_text(r->helo, sizeof r->helo, w + 5, wn - 5);
		} else if (!r->ip[0] && take_ip(w, wn, r->ip, sizeof r->ip) == 0) {
			*bare_ip = 1;
		}
	}
}

enum clause { CL_NONE, CL_FROM, CL_BY, CL_OTHER };

static enum clause keyword(const char *w, size_t n)
{
	static const char *const others[] = { "via", "with", "id", "for" };
	if (n == 4 && strncasecmp(w, "from", 4) == 0)
		return CL_FROM;
	if (n == 2 && strncasecmp(w, "by", 2) == 0)
		return CL_BY;
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		if (n == strlen(others[i]) && strncasecmp(w, others[i], n) == 0)
			return CL_OTHER;
	return CL_NONE;
}

int pst_received_parse(const char *value, size_t len, pst_received *r)
{
	struct scan s = { value, value + len };
	enum clause cl = CL_NONE, want = CL_NONE;
	int explicit_helo = 0, bare_ip = 0, after_by = 0;
	memset(r, 0, sizeof *r);
	for (;;) {
		skip_space(&s);
		if (s.p >= s.end || *s.p == ';')
			break;
		if (*s.p == '(') {
			const char *t;
			size_t n;
			read_comment(&s, &t, &n);
			if (cl == CL_FROM && want == CL_NONE)
				read_from_comment(t, n, r, &bare_ip);
			if (after_by && n == 7 && strncmp(t, "postern", 7) == 0)
				r->by_postern = 1;
			after_by = 0;
			continue;
		}
		const char *w;
		size_t n = read_word(&s, &w);
		after_by = want == CL_BY;
		if (want == CL_FROM) {
			copy_text(r->from, sizeof r->from, w, n);
			want = CL_NONE;
		} else if (want == CL_BY) {
			copy_text(r->by, sizeof r->by, w, n);
			want = CL_NONE;
		} else if ((cl = keyword(w, n)) == CL_FROM || cl == CL_BY) {
			want = cl;
		}
	}
	explicit_helo = r->helo[0] != '\0';
	if (!explicit_helo)
		copy_text(r->helo, sizeof r->helo, r->from, strlen(r->from));
	if (!r->ip[0] && r->from[0] == '[')
		(void)take_ip(r->from, strlen(r->from), r->ip, sizeof r->ip);
	return r->by[0] ? 0 : -1;
}

/* ---- The header section ---------------------------------------------- */

struct field {
	const char *name;
	size_t name_len;
	const char *value;   /* raw, folds included */
	size_t value_len;
};

/* The next field of the header section at s; 0, or -1 at its end. */
static int next_field(struct scan *s, struct field *f)
{
	if (s->p >= s->end || *s->p == '\n' || (*s->p == '\r' && s->p + 1 < s->end && s->p[1] == '\n'))
		return -1;
	const char *line = s->p;
	const char *colon = NULL;
	for (;;) {
		const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
		if (colon == NULL) {
			colon = memchr(line, ':', (size_t)((nl ? nl : s->end) - line));
			if (colon == NULL)
				colon = line;    /* no name: a line that is not a field */
		}
		s->p = nl ? nl + 1 : s->end;
		if (s->p >= s->end || (*s->p != ' ' && *s->p != '\t'))
			break;
	}
	f->name = line;
	f->name_len = (size_t)(colon - line);
	while (f->name_len && (line[f->name_len - 1] == ' ' || line[f->name_len - 1] == '\t'))
		f->name_len--;
	f->value = colon < s->p ? colon + 1 : colon;
	f->value_len = (size_t)(s->p - f->value);
	return 0;
}

static int name_is(const struct field *f, const char *name)
{
	size_t n = strlen(name);
	return f->name_len == n && strncasecmp(f->name, name, n) == 0;
}

/* Unfold and trim a value into out (truncated to size). */
static size_t unfold(const struct field *f, char *out, size_t size)
{
	size_t w = 0;
	for (size_t i = 0; i < f->value_len && w + 1 < size; i++) {
		char ch = f->value[i];
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == '\t')
			ch = ' ';
		if (ch == ' ' && (w == 0 || out[w - 1] == ' '))
			continue;
		out[w++] = ch;
	}
	while (w && out[w - 1] == ' ')
		w--;
	out[w] = '\0';
	return w;
}

/* An address field (Return-Path, Delivered-To): the text inside <>, or
 * the whole trimmed value. */
static void take_address(const struct field *f, char *out, size_t size)
{
	char v[PST_TRACE_ADDR_BYTES];
	size_t n = unfold(f, v, sizeof v);
	const char *p = v;
	char *lt = memchr(v, '<', n), *gt;
	if (lt && (gt = memchr(lt, '>', n - (size_t)(lt - v))) != NULL) {
		p = lt + 1;
		n = (size_t)(gt - p);
	}
	copy_text(out, size, p, n);
}

/* The keys one X-Postern-Envelope value sets. */
static unsigned xpe_keys(const struct field *f)
{
	static const struct { const char *key; unsigned bit; } keys[] = {
		{ "client-ip", PST_XPE_CLIENT_IP }, { "client-name", PST_XPE_CLIENT_NAME },
		{ "helo", PST_XPE_HELO }, { "mail-from", PST_XPE_MAIL_FROM }, { "rcpt", PST_XPE_RCPT },
	};
	char v[PST_TRACE_FIELD_BYTES];
	unsigned bits = 0;
	unfold(f, v, sizeof v);
	for (char *save = NULL, *tok = strtok_r(v, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		while (*tok == ' ')
			tok++;
		size_t kn = strcspn(tok, "= ");
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (kn == strlen(keys[i].key) && strncasecmp(tok, keys[i].key, kn) == 0)
				bits |= keys[i].bit;
	}
	return bits;
}

/* Does the Received field's "by" host equal name (case-insensitive, a
 * trailing dot ignored on either side)? */
static int host_eq(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);
	if (an && a[an - 1] == '.')
		an--;
	if (bn && b[bn - 1] == '.')
		bn--;
	return an == bn && strncasecmp(a, b, an) == 0;
}

/* A Received field: postern's own when it is the first one and by
 * own_host, else one by received_by (never a "(postern)" one below the
 * first). */
static void scan_received(const struct field *f, const char *received_by, const char *own_host,
                          int first, pst_trace_env *t)
{
	char v[PST_TRACE_FIELD_BYTES];
	pst_received r;
	size_t n = unfold(f, v, sizeof v);
	if (pst_received_parse(v, n, &r) < 0 || (r.by_postern && !first))
		return;
	if (!(r.by_postern && own_host && host_eq(r.by, own_host)) &&
	    !(received_by && host_eq(r.by, received_by)))
		return;
	if (r.by_postern && strcmp(r.from, "unknown") == 0)
		r.from[0] = '\0';
	if (r.by_postern && strcmp(r.helo, "unknown") == 0)
		r.helo[0] = '\0';
	t->received = r;
	t->has_received = 1;
}

void pst_trace_env_scan(const char *bytes, size_t len, const char *received_by, pst_trace_env *t)
{
	pst_trace_env_scan_own(bytes, len, received_by, NULL, t);
}

void pst_trace_env_scan_own(const char *bytes, size_t len, const char *received_by,
                            const char *own_host, pst_trace_env *t)
{
	struct scan s = { bytes, bytes + len };
	struct field f;
	int leading = 1, orig_to = 0;
	size_t nreceived = 0;
	memset(t, 0, sizeof *t);
	if (len >= 5 && memcmp(bytes, "From ", 5) == 0) {
		const char *nl = memchr(bytes, '\n', len);
		s.p = nl ? nl + 1 : s.end;
	}
	while (next_field(&s, &f) == 0) {
		if (leading && name_is(&f, "X-Postern-Envelope")) {
			t->xpe |= xpe_keys(&f);
			continue;
		}
		leading = 0;
		if (!t->has_mail_from && name_is(&f, "Return-Path")) {
			take_address(&f, t->mail_from, sizeof t->mail_from);
			t->has_mail_from = 1;
		} else if ((!t->has_rcpt || orig_to) && name_is(&f, "Delivered-To")) {
			take_address(&f, t->rcpt, sizeof t->rcpt);
			t->has_rcpt = 1;
			orig_to = 0;
		} else if (!t->has_rcpt && name_is(&f, "X-Original-To")) {
			take_address(&f, t->rcpt, sizeof t->rcpt);
			t->has_rcpt = orig_to = 1;
		} else if (name_is(&f, "Received")) {
			if (!t->has_received && (received_by || own_host))
				scan_received(&f, received_by, own_host, nreceived == 0, t);
			nreceived++;
		}
	}
	if (t->has_rcpt && t->rcpt[0] == '\0')
		t->has_rcpt = 0;
}
