/*
 * deliver.c: the front of the delivery layer (deliver.h). It opens the
 * backend a target names ("maildir:" in maildir.c, "lmtp:" in relay.c)
 * behind a table of operations, and owns what is common to both: the
 * recipient syntax check done at RCPT time (an address is used to build a
 * path, so anything that could leave the Maildir root is refused with 550
 * 5.1.3), the --users list (550 5.1.1 for anyone else), folder name
 * validation and reply formatting.
 *
 * Canonical form of an address: the local part in ASCII lower case, cut at
 * the first recipient delimiter (when that is not its first byte), '@', and
 * the domain as pst_domain_normalize gives it. The users file is compared in
 * that form, so it is case- and delimiter-insensitive.
 */
#include "deliver/deliver_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/domain.h"
#include "util/folder.h"

void pst_deliver_set_reply(pst_reply *r, int code, const char *enhanced, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->enhanced, sizeof r->enhanced, "%s", enhanced);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
}

/* A byte that may appear in a local part used as a directory name. */
static int local_byte_ok(unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return 0;
	return c != '/' && c != '\\' && c != '"' && c != '@';
}

static int check_local(const char *s, size_t n)
{
	if (n == 0 || n > PST_DELIVER_MAX_LOCAL || s[0] == '.')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!local_byte_ok((unsigned char)s[i]))
			return -1;
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
			return -1;
	}
	return 0;
}

int pst_deliver_parse_addr(char delimiter, const char *address, pst_deliver_addr *a)
{
	size_t len = strlen(address);

	if (len >= 2 && address[0] == '<' && address[len - 1] == '>') {
		address++;
		len -= 2;
	}
	if (len > PST_DELIVER_MAX_LOCAL + 1 + PST_MAX_DOMAIN_BYTES)
		return -1;
	const char *at = memrchr(address, '@', len);
	if (at == NULL)
		return -1;
	size_t llen = (size_t)(at - address);
	if (check_local(address, llen) != 0)
		return -1;
	for (size_t i = 0; i < llen; i++) {
		char c = address[i];
		a->local[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	a->local[llen] = '\0';
	if (delimiter != '\0') {
		char *p = strchr(a->local, delimiter);
		if (p != NULL && p != a->local)
			*p = '\0';
	}
	const char *dom = at + 1;
	size_t dlen = len - llen - 1;
	if (dlen == 0 || memchr(dom, '/', dlen) != NULL)
		return -1;
	char *norm = pst_domain_normalize(dom, dlen, NULL);
	if (norm == NULL)
		return -1;
	size_t nlen = strlen(norm);
	if (nlen == 0 || nlen > PST_MAX_DOMAIN_BYTES || norm[0] == '.' || strstr(norm, "..")
	    || strchr(norm, '/')) {
		free(norm);
		return -1;
	}
	memcpy(a->domain, norm, nlen + 1);
	free(norm);
	return 0;
}

int pst_deliver_folder_name(const char *folder, char *out, size_t outlen)
{
	const char *f = folder[0] == '.' ? folder + 1 : folder;
	size_t n = strlen(f);

	if (pst_folder_name_problem(folder) != NULL || n + 2 > outlen)
		return -1;
	out[0] = '.';
	memcpy(out + 1, f, n + 1);
	return 0;
}

/* ---- The users file ---------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_users(pst_deliver *d)
{
	for (size_t i = 0; i < d->nusers; i++)
		free(d->users[i]);
	free(d->users);
	d->users = NULL;
	d->nusers = 0;
}

/* One line of the users file, trimmed, into its canonical form. */
static int add_user(pst_deliver *d, char *line, size_t *cap)
{
	pst_deliver_addr a;
	char key[sizeof a.local + sizeof a.domain + 1];

	if (pst_deliver_parse_addr(d->delimiter, line, &a) != 0)
		return -1;
	snprintf(key, sizeof key, "%s@%s", a.local, a.domain);
	if (d->nusers == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		char **nu = realloc(d->users, ncap * sizeof *nu);
		if (nu == NULL)
			return -2;
		d->users = nu;
		*cap = ncap;
	}
	if ((d->users[d->nusers] = strdup(key)) == NULL)
		return -2;
	d->nusers++;
	return 0;
}

static char *trim(char *s)
{
	char *hash = strchr(s, '#');
	if (hash != NULL)
		*hash = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'
			 || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static int load_users(pst_deliver *d, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	size_t cap = 0;
	unsigned lineno = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	d->has_users = 1;
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			fclose(f);
			return -1;
		}
		char *s = trim(line);
		if (*s == '\0')
			continue;
		int rc = add_user(d, s, &cap);
		if (rc != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
				 rc == -2 ? "out of memory" : "bad address");
			fclose(f);
			return -1;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	if (d->nusers > 0)
		qsort(d->users, d->nusers, sizeof *d->users, cmp_str);
	return 0;
}

static int user_listed(const pst_deliver *d, const pst_deliver_addr *a)
{
	char key[sizeof a->local + sizeof a->domain + 1];
	const char *k = key;

	snprintf(key, sizeof key, "%s@%s", a->local, a->domain);
	return d->nusers > 0 && bsearch(&k, d->users, d->nusers, sizeof *d->users, cmp_str) != NULL;
}

/* ---- The front --------------------------------------------------------- */

void pst_deliver_check_rcpt(const pst_deliver *d, const char *address, pst_reply *r)
{
	pst_deliver_addr a;

	if (address == NULL || pst_deliver_parse_addr(d->delimiter, address, &a) != 0) {
		pst_deliver_set_reply(r, 550, "5.1.3", "bad recipient address syntax");
		return;
	}
	if (d->has_users && !user_listed(d, &a)) {
		pst_deliver_set_reply(r, 550, "5.1.1", "no such user");
		return;
	}
	pst_deliver_set_reply(r, 250, "2.1.5", "OK");
}

static void set_hostname(pst_deliver *d, const char *name)
{
	if (name != NULL && *name != '\0') {
		snprintf(d->hostname, sizeof d->hostname, "%s", name);
		return;
	}
	if (gethostname(d->hostname, sizeof d->hostname - 1) != 0 || d->hostname[0] == '\0')
		snprintf(d->hostname, sizeof d->hostname, "localhost");
	d->hostname[sizeof d->hostname - 1] = '\0';
}

int pst_deliver_open(const char *target, const pst_deliver_opts *opts, pst_deliver **out,
		     char *err, size_t errlen)
{
	pst_deliver_opts none = { 0, NULL, NULL, 0 };
	pst_deliver *d;
	int rc;

	*out = NULL;
	if (opts == NULL)
		opts = &none;
	if (target == NULL) {
		snprintf(err, errlen, "no delivery target");
		return -1;
	}
	if ((d = calloc(1, sizeof *d)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->delimiter = opts->recipient_delimiter;
	d->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 300000u;
	set_hostname(d, opts->hostname);
	if (opts->users_file != NULL && load_users(d, opts->users_file, err, errlen) != 0) {
		pst_deliver_close(&d);
		return -1;
	}
	if (strncmp(target, "maildir:", 8) == 0)
		rc = pst_maildir_open(d, target + 8, err, errlen);
	else if (strncmp(target, "lmtp:", 5) == 0)
		rc = pst_relay_open(d, target + 5, err, errlen);
	else {
		snprintf(err, errlen, "%s: unknown delivery target (maildir:DIR or lmtp:HOST:PORT)",
			 target);
		rc = -1;
	}
	if (rc != 0) {
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
	pst_deliver *d = *dp;
	if (d->ops != NULL && d->ops->free != NULL)
		d->ops->free(d->impl);
	free_users(d);
	free(d);
	*dp = NULL;
}

void pst_deliver_transaction(pst_deliver *d, const pst_deliver_env *env,
			     pst_deliver_rcpt *rcpts, size_t n)
{
	d->ops->transaction(d, env, rcpts, n);
}

int pst_deliver_probe(const pst_deliver *d, unsigned timeout_ms, char *why, size_t whylen)
{
	if (d->ops == &pst_relay_ops)
		return pst_relay_probe(d, timeout_ms, why, whylen);
	return 0;
}

void pst_deliver_get_stats(const pst_deliver *d, pst_deliver_stats *st)
{
	st->connections = st->transactions = 0;
	if (d->ops == &pst_relay_ops)
		pst_relay_stats(d, st);
}
