/*
 * store.c: the report store's queue and writer thread (contract: store.h),
 * the row's field copies and the DMARC record's tags as published.
 *
 * One mutex guards the queue (a ring of row pointers), the counters and
 * the stop flag. pst_store_submit() takes the lock only to push a pointer
 * or to count a drop: it never waits for the backend, and it wakes the
 * writer only when the queue stops being empty or holds a full batch.
 * The writer, woken with less than a full batch queued, lingers up to
 * PST_STORE_LINGER_MS for more (not when stopping), so that under load a
 * transaction carries many rows rather than one (each transaction costs
 * the backend its locks and its page writes: one per row made the writer
 * over a tenth of a busy postern lmtp's CPU). It then takes up to
 * PST_STORE_BATCH_MAX rows, releases the lock, runs the prepare hook and
 * writes them in one transaction, then counts them written or failed.
 * After a failure the backend is closed and opened again before the next
 * batch, so a store that comes back (a file made writable, a disk with
 * room) is written again without a restart. Warnings are rate-limited: at
 * most one per warn_interval, saying how many were held back, and name
 * the store by its masked spec (pst_store_mask: no URI password in logs).
 *
 * The writer thread is named "postern-store" (/proc/PID/task/TID/comm).
 *
 * A reader (pst_store_reader_open) is the backend's handle and nothing
 * else: no thread, no queue; scan, mark and expire are the backend's,
 * called on the caller's thread. The spec names its backend as for
 * pst_store_open (resolve()).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>

#include "store/store.h"
#include "store/store_int.h"

struct pst_store {
	const pst_store_backend *be;
	void *impl;                     /* NULL: closed (opened again per batch) */
	char *target;
	char *name;                     /* the spec, masked (pst_store_mask) */
	pst_store_opts opts;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;            /* on CLOCK_MONOTONIC (the linger) */
	pst_store_row **ring;
	size_t cap, head, n;
	int stopping;
	int joined;                     /* the writer has ended (pst_store_stop) */
	struct timespec deadline;       /* CLOCK_MONOTONIC, when stopping */
	pst_store_stats st;
	time_t last_warn;               /* writer thread only */
	unsigned long held_back;        /* warnings not written since */
};

static const pst_store_backend *const backends[] = { &pst_store_sqlite, &pst_store_pg };

/* ---- Rows ------------------------------------------------------------ */

int pst_store_row_set(char *field, size_t len, const char *s, size_t n)
{
	if (len == 0)
		return s && n;
	if (s == NULL)
		n = 0;
	else if (n == (size_t)-1)
		n = strlen(s);
	int cut = n > len - 1;
	if (cut)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		field[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	field[n] = '\0';
	return cut;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The policy's tags, in the order of the bits of seen in
 * pst_store_policy_parse (the first of a repeated tag wins). */
enum { TAG_P, TAG_SP, TAG_NP, TAG_ADKIM, TAG_ASPF, TAG_T, TAG_FO, TAG_RUA, TAG_PCT, TAG_N };
static const char *const tag_names[TAG_N] = {
	"p", "sp", "np", "adkim", "aspf", "t", "fo", "rua", "pct",
};

/* The next "name=value" of the record from *p on: name [*a, *b), value
 * [*c, *d), both trimmed; *p moves past the tag's ';'. 0 at the end, 1
 * for a tag, 2 for a part without '=' (skipped). */
static int next_tag(const char **p, const char **a, const char **b, const char **c,
                    const char **d)
{
	const char *s = *p;
	if (*s == '\0')
		return 0;
	const char *end = strchr(s, ';');
	if (end == NULL)
		end = s + strlen(s);
	*p = *end ? end + 1 : end;
	const char *eq = memchr(s, '=', (size_t)(end - s));
	if (eq == NULL)
		return 2;
	*a = s;
	*b = eq;
	while (*a < *b && is_space(**a))
		(*a)++;
	while (*b > *a && is_space((*b)[-1]))
		(*b)--;
	*c = eq + 1;
	*d = end;
	while (*c < *d && is_space(**c))
		(*c)++;
	while (*d > *c && is_space((*d)[-1]))
		(*d)--;
	return 1;
}

/* A policy word (none, quarantine, reject) into out, lower case, or "". */
static void policy_word(const char *v, size_t n, char *out, size_t len)
{
	static const char *const words[] = { "none", "quarantine", "reject" };
	out[0] = '\0';
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (n == strlen(words[i]) && strncasecmp(v, words[i], n) == 0)
			snprintf(out, len, "%s", words[i]);
}

/* One of the letters in allowed ("rs", "yn"), lower case, or "". */
static void letter(const char *v, size_t n, const char *allowed, char *out)
{
	out[0] = '\0';
	if (n == 1) {
		char c = (char)(v[0] | 0x20);
		if (strchr(allowed, c)) {
			out[0] = c;
			out[1] = '\0';
		}
	}
}

/* 0 to 100, or -1. */
static int percent(const char *v, size_t n)
{
	if (n == 0 || n > 3)
		return -1;
	int pct = 0;
	for (size_t i = 0; i < n && pct >= 0; i++)
		pct = v[i] >= '0' && v[i] <= '9' ? pct * 10 + (v[i] - '0') : -1;
	return pct <= 100 ? pct : -1;
}

static void policy_tag(pst_store_policy *pol, int tag, const char *v, size_t n)
{
	switch (tag) {
	case TAG_P: policy_word(v, n, pol->p, sizeof pol->p); break;
	case TAG_SP: policy_word(v, n, pol->sp, sizeof pol->sp); break;
	case TAG_NP: policy_word(v, n, pol->np, sizeof pol->np); break;
	case TAG_ADKIM: letter(v, n, "rs", pol->adkim); break;
	case TAG_ASPF: letter(v, n, "rs", pol->aspf); break;
	case TAG_T: letter(v, n, "yn", pol->testing); break;
	case TAG_FO: pst_store_row_set(pol->fo, sizeof pol->fo, v, n); break;
	case TAG_RUA: pst_store_row_set(pol->rua, sizeof pol->rua, v, n); break;
	case TAG_PCT: pol->pct = percent(v, n); break;
	}
}

/* One pass over the record (a message's row is built from it on the
 * session thread: no tag is searched for twice). */
int pst_store_policy_parse(const char *txt, pst_store_policy *pol)
{
	memset(pol, 0, sizeof *pol);
	pol->pct = -1;
	while (txt && is_space(*txt))
		txt++;
	/* v=DMARC1 must come first (RFC 9989 4.7). */
	const char *p = txt, *a, *b, *c, *d;
	if (txt == NULL || (*txt != 'v' && *txt != 'V') || next_tag(&p, &a, &b, &c, &d) != 1 ||
	    b - a != 1 || d - c != 6 || strncmp(c, "DMARC1", 6) != 0)
		return -1;
	pol->found = 1;
	unsigned seen = 0;
	int k;
	while ((k = next_tag(&p, &a, &b, &c, &d)) != 0) {
		if (k != 1)
			continue;
		size_t nlen = (size_t)(b - a);
		for (int t = 0; t < TAG_N; t++)
			if (!(seen & 1u << t) && strlen(tag_names[t]) == nlen &&
			    strncasecmp(a, tag_names[t], nlen) == 0) {
				seen |= 1u << t;
				policy_tag(pol, t, c, (size_t)(d - c));
				break;
			}
	}
	return 0;
}

static int severity(const char *disposition)
{
	return strcmp(disposition, "reject") == 0 ? 2 : strcmp(disposition, "quarantine") == 0;
}

void pst_store_row_reason(pst_store_row *r)
{
	const char *expected = strcmp(r->dmarc_result, "fail") == 0 && r->dmarc_policy[0]
	                       ? r->dmarc_policy : "none";
	const char *got = r->disposition[0] ? r->disposition : "none";
	r->reason_type[0] = r->reason_comment[0] = '\0';
	if (strcmp(expected, got) == 0)
		return;
	snprintf(r->reason_type, sizeof r->reason_type, "local_policy");
	if (strcmp(r->decision, "reject") == 0 && strcmp(r->applied, "quarantine") == 0 &&
	    strcmp(got, "quarantine") == 0)
		snprintf(r->reason_comment, sizeof r->reason_comment,
		         "after-queue: reject applied as quarantine");
	else if (strcmp(r->policy.testing, "y") == 0 && severity(got) < severity(expected)) {
		snprintf(r->reason_type, sizeof r->reason_type, "policy_test_mode");
		snprintf(r->reason_comment, sizeof r->reason_comment, "t=y");
	} else if (r->rule[0])
		snprintf(r->reason_comment, sizeof r->reason_comment, "rule %.*s",
		         (int)(sizeof r->reason_comment - 6), r->rule);
	else
		snprintf(r->reason_comment, sizeof r->reason_comment,
		         "no rule enforced the DMARC policy");
}

/* ---- The writer -------------------------------------------------------- */

static void warn(pst_store *s, const char *what, const char *why, size_t rows)
{
	time_t now = time(NULL);
	unsigned interval = s->opts.warn_interval ? s->opts.warn_interval : 60;
	if (s->last_warn && now - s->last_warn < (time_t)interval) {
		s->held_back++;
		return;
	}
	char text[768];
	snprintf(text, sizeof text, "report store %s: %s: %s; %zu rows lost"
	         " (%lu warnings held back since the last)", s->name, what, why,
	         rows, s->held_back);
	s->last_warn = now;
	s->held_back = 0;
	if (s->opts.warn)
		s->opts.warn(s->opts.arg, text);
}

/* Write n rows in one transaction: 0, or -1 after closing the backend. */
static int write_batch(pst_store *s, pst_store_row **rows, size_t n)
{
	char err[512] = "";
	const char *what = "open";
	if (s->impl == NULL && s->be->open(s->target, &s->impl, err, sizeof err) < 0) {
		s->impl = NULL;
		goto fail;
	}
	for (size_t i = 0; s->opts.prepare && i < n; i++)
		s->opts.prepare(s->opts.arg, rows[i]);
	what = "begin";
	if (s->be->begin(s->impl, err, sizeof err) < 0)
		goto fail;
	what = "insert";
	for (size_t i = 0; i < n; i++)
		if (s->be->insert(s->impl, rows[i], err, sizeof err) < 0)
			goto fail_tx;
	what = "commit";
	if (s->be->commit(s->impl, err, sizeof err) == 0)
		return 0;
fail_tx:
	s->be->rollback(s->impl);
fail:
	warn(s, what, err[0] ? err : "failed", n);
	if (s->impl) {
		s->be->close(s->impl);
		s->impl = NULL;
	}
	return -1;
}

static int past(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* The rows that make a full batch: the writer lingers for fewer. */
static size_t full_batch(const pst_store *s)
{
	return s->cap < PST_STORE_BATCH_MAX ? s->cap : PST_STORE_BATCH_MAX;
}

/* With s->lock held and rows queued: wait up to PST_STORE_LINGER_MS for a
 * full batch (submit wakes us then) or a stop. */
static void linger(pst_store *s)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)PST_STORE_LINGER_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	while (!s->stopping && s->n < full_batch(s))
		if (pthread_cond_timedwait(&s->wake, &s->lock, &until) == ETIMEDOUT)
			break;
}

static void *writer_main(void *arg)
{
	pst_store *s = arg;
	pst_store_row *batch[PST_STORE_BATCH_MAX];
	/* Named, so that its CPU can be told from the sessions' (top -H,
	 * tests/bench/bench_store.sh); a failure changes nothing else. */
	(void)prctl(PR_SET_NAME, "postern-store", 0, 0, 0);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->n == 0 && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->n < full_batch(s))
			linger(s);
		if (s->n == 0 || (s->stopping && past(&s->deadline)))
			break;
		size_t k = 0;
		while (s->n && k < PST_STORE_BATCH_MAX) {
			batch[k++] = s->ring[s->head];
			s->head = (s->head + 1) % s->cap;
			s->n--;
		}
		pthread_mutex_unlock(&s->lock);
		int rc = write_batch(s, batch, k);
		for (size_t i = 0; i < k; i++)
			free(batch[i]);
		pthread_mutex_lock(&s->lock);
		if (rc == 0)
			s->st.written += k;
		else
			s->st.failed += k;
	}
	/* Stopped: what is left past the deadline is dropped. */
	while (s->n) {
		free(s->ring[s->head]);
		s->head = (s->head + 1) % s->cap;
		s->n--;
		s->st.dropped++;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- Public ------------------------------------------------------------ */

/* Does spec start with name followed by ":" (or "://" for a uri)? */
static int names(const char *spec, const char *name, int uri)
{
	size_t n = name ? strlen(name) : 0;
	return n && strncmp(spec, name, n) == 0 &&
	       strncmp(spec + n, uri ? "://" : ":", uri ? 3 : 1) == 0;
}

static const pst_store_backend *backend_of(const char *spec, const char **target)
{
	for (size_t i = 0; i < sizeof backends / sizeof *backends; i++) {
		const pst_store_backend *be = backends[i];
		if (names(spec, be->scheme, be->uri) || names(spec, be->alias, be->uri)) {
			*target = be->uri ? spec : strchr(spec, ':') + 1;
			return be;
		}
	}
	return NULL;
}

void pst_store_mask(const char *spec, char *out, size_t len)
{
	const char *auth = strstr(spec, "://");
	const char *end = auth ? auth + 3 + strcspn(auth + 3, "/?#") : NULL;
	const char *at = NULL;
	for (const char *p = auth ? auth + 3 : NULL; p && p < end; p++)
		if (*p == '@')
			at = p;                 /* the last '@' ends the user info */
	const char *colon = at ? memchr(auth + 3, ':', (size_t)(at - (auth + 3))) : NULL;
	if (colon == NULL)
		snprintf(out, len, "%s", spec);
	else
		snprintf(out, len, "%.*s***%s", (int)(colon + 1 - spec), spec, at);
}

/* Free what pst_store_open made for s, its lock and condition included
 * (the backend and the thread are the caller's to end first). */
static void free_store(pst_store *s)
{
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->ring);
	free(s->name);
	free(s->target);
	free(s);
}

/* The backend of spec and its target (into *target), or NULL with the
 * reason in err: an unknown scheme (the spec shown masked) or no path. */
static const pst_store_backend *resolve(const char *spec, const char **target, char *err,
                                        size_t errlen)
{
	const pst_store_backend *be = spec ? backend_of(spec, target) : NULL;
	if (be == NULL) {
		char shown[PST_STORE_URI_MAX];
		pst_store_mask(spec ? spec : "", shown, sizeof shown);
		snprintf(err, errlen, "unknown report store '%s' (want sqlite:PATH or postgresql://...)",
		         shown);
		return NULL;
	}
	if ((*target)[0] == '\0') {
		snprintf(err, errlen, "report store '%s' names no path", spec);
		return NULL;
	}
	return be;
}

int pst_store_open(const char *spec, const pst_store_opts *opts, pst_store **out,
                   char *err, size_t errlen)
{
	*out = NULL;
	const char *target = NULL;
	const pst_store_backend *be = resolve(spec, &target, err, errlen);
	if (be == NULL)
		return -1;
	pst_store *s = calloc(1, sizeof *s);
	size_t nlen = strlen(spec) + 4;    /* "***" may be longer than the password */
	if (s == NULL || (s->target = strdup(target)) == NULL || (s->name = malloc(nlen)) == NULL)
		goto nomem;
	pst_store_mask(spec, s->name, nlen);
	s->be = be;
	if (opts)
		s->opts = *opts;
	s->cap = s->opts.queue_max ? s->opts.queue_max : PST_STORE_QUEUE_MAX;
	if ((s->ring = calloc(s->cap, sizeof *s->ring)) == NULL)
		goto nomem;
	if (be->open(target, &s->impl, err, errlen) < 0) {
		free(s->ring);
		free(s->name);
		free(s->target);
		free(s);
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);
	if (rc == 0) {
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&s->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (rc != 0) {
		snprintf(err, errlen, "report store: cannot make its condition: %s", strerror(rc));
		be->close(s->impl);
		pthread_mutex_destroy(&s->lock);
		free(s->ring);
		free(s->name);
		free(s->target);
		free(s);
		return -1;
	}
	rc = pthread_create(&s->thread, NULL, writer_main, s);
	if (rc != 0) {
		snprintf(err, errlen, "report store: cannot start its thread: %s", strerror(rc));
		be->close(s->impl);
		free_store(s);
		return -1;
	}
	*out = s;
	return 0;
nomem:
	if (s) {
		free(s->ring);
		free(s->name);
		free(s->target);
	}
	free(s);
	snprintf(err, errlen, "report store: out of memory");
	return -1;
}

int pst_store_submit(pst_store *s, pst_store_row *row)
{
	pthread_mutex_lock(&s->lock);
	if (row == NULL || s->n == s->cap || s->stopping) {
		s->st.dropped++;
		pthread_mutex_unlock(&s->lock);
		free(row);
		return -1;
	}
	s->ring[(s->head + s->n) % s->cap] = row;
	s->n++;
	/* The writer waits for a first row, or lingers for a full batch;
	 * between the two it looks at the queue itself. */
	if (s->n == 1 || s->n == full_batch(s))
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void pst_store_get_stats(pst_store *s, pst_store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->queued = s->n;
	pthread_mutex_unlock(&s->lock);
}

void pst_store_stop(pst_store *s, unsigned drain_ms)
{
	if (s == NULL || s->joined)
		return;
	pthread_mutex_lock(&s->lock);
	clock_gettime(CLOCK_MONOTONIC, &s->deadline);
	s->deadline.tv_sec += drain_ms / 1000;
	s->deadline.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
	if (s->deadline.tv_nsec >= 1000000000L) {
		s->deadline.tv_sec++;
		s->deadline.tv_nsec -= 1000000000L;
	}
	s->stopping = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->joined = 1;
	if (s->impl)
		s->be->close(s->impl);
	s->impl = NULL;
}

void pst_store_close(pst_store **sp)
{
	pst_store *s = sp ? *sp : NULL;
	if (s == NULL)
		return;
	pst_store_stop(s, 0);
	free_store(s);
	*sp = NULL;
}

/* ---- Reading ------------------------------------------------------------ */

#define SET(f, i) pst_store_row_set(r->f, sizeof r->f, v[i], (size_t)-1)

int64_t pst_store_row_fill(pst_store_row *r, const char *const *v)
{
	pst_store_policy *p = &r->policy;
	r->time = (time_t)strtoll(v[1], NULL, 10);
	SET(host, 2);
	SET(queue_id, 3);
	SET(reporting_domain, 4);
	p->found = atoi(v[5]) != 0;
	SET(policy.p, 6);
	SET(policy.sp, 7);
	SET(policy.np, 8);
	SET(policy.adkim, 9);
	SET(policy.aspf, 10);
	SET(policy.testing, 11);
	SET(policy.fo, 12);
	p->pct = v[13][0] ? atoi(v[13]) : -1;
	SET(policy.rua, 14);
	SET(source_ip, 15);
	SET(header_from, 16);
	SET(envelope_from, 17);
	SET(envelope_to, 18);
	SET(spf_result, 19);
	SET(spf_domain, 20);
	SET(spf_scope, 21);
	SET(spf_human, 22);
	r->spf_aligned = atoi(v[23]) != 0;
	r->dkim_aligned = atoi(v[24]) != 0;
	SET(dmarc_result, 25);
	SET(dmarc_policy, 26);
	SET(disposition, 27);
	SET(decision, 28);
	SET(applied, 29);
	SET(rule, 30);
	SET(reason_type, 31);
	SET(reason_comment, 32);
	r->dkim_ignored = (size_t)strtoull(v[33], NULL, 10);
	r->ndkim = 0;
	return (int64_t)strtoll(v[0], NULL, 10);
}

#undef SET

void pst_store_row_add_dkim(pst_store_row *r, const char *domain, const char *selector,
                            const char *result, const char *human)
{
	if (r->ndkim >= PST_STORE_MAX_DKIM) {
		r->dkim_ignored++;
		return;
	}
	pst_store_dkim *d = &r->dkim[r->ndkim++];
	pst_store_row_set(d->domain, sizeof d->domain, domain, (size_t)-1);
	pst_store_row_set(d->selector, sizeof d->selector, selector, (size_t)-1);
	pst_store_row_set(d->result, sizeof d->result, result, (size_t)-1);
	pst_store_row_set(d->human, sizeof d->human, human, (size_t)-1);
}

struct pst_store_reader {
	const pst_store_backend *be;
	void *impl;
};

int pst_store_reader_open(const char *spec, pst_store_reader **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *target = NULL;
	const pst_store_backend *be = resolve(spec, &target, err, errlen);
	if (be == NULL)
		return -1;
	pst_store_reader *r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "report store: out of memory");
		return -1;
	}
	r->be = be;
	if (be->open(target, &r->impl, err, errlen) < 0) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int pst_store_scan(pst_store_reader *r, time_t begin, time_t end, pst_store_scan_fn fn,
                   void *arg, char *err, size_t errlen)
{
	return r->be->scan(r->impl, begin, end, fn, arg, err, errlen);
}

int pst_store_mark(pst_store_reader *r, const int64_t *ids, size_t n, char *err,
                   size_t errlen)
{
	return n ? r->be->mark(r->impl, ids, n, err, errlen) : 0;
}

int pst_store_expire(pst_store_reader *r, time_t before, unsigned long *deleted, char *err,
                     size_t errlen)
{
	*deleted = 0;
	return r->be->expire(r->impl, before, deleted, err, errlen);
}

void pst_store_reader_close(pst_store_reader **rp)
{
	pst_store_reader *r = rp ? *rp : NULL;
	if (r == NULL)
		return;
	r->be->close(r->impl);
	free(r);
	*rp = NULL;
}
