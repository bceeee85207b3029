/*
 * fixture.c: loading a DNS fixture file and answering questions from it
 * (the contract is in fixture.h; the line syntax in fixture_parse.c).
 *
 * Loading has two passes. The first parses every line, collecting records,
 * directives and errors, so one run reports every bad line. The second
 * sorts records by (name, type, file order), groups them into one node per
 * name, checks what only shows across lines (a CNAME beside other data,
 * conflicting directives), and indexes the nodes in an open-addressing
 * hash table. Everything lives in one arena owned by the fixture and
 * nothing is written after loading, so queries need no lock.
 *
 * A query is one hash probe per name on the CNAME chain, then a scan of the
 * few records at that name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/fixture_private.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/limits.h"

struct fix_fail {
	int type;
	pst_dns_status status;
};

struct fix_node {
	const char *name;
	size_t len;
	uint64_t hash;
	const pst_dns_rr *rrs;   /* sorted by type, then file order */
	size_t nrrs;
	pst_dns_status fail_all; /* PST_DNS_NOERROR: no directive for every type */
	struct fix_fail *fails;  /* per-type directives */
	size_t nfails;
};

struct pst_dnsfix {
	pst_arena *arena;
	pst_dns_rr *rrs;
	size_t nrrs;
	struct fix_node *nodes;
	size_t nnodes;
	size_t *index;           /* node number + 1; 0 is an empty slot */
	size_t index_cap;        /* power of two */
};

/* ---- collecting ------------------------------------------------------ */

void pst_dnsfix_error(fix_loader *L, unsigned line, unsigned col, const char *fmt, ...)
{
	pst_buf b = PST_BUF_INIT;
	struct fix_err *e;
	va_list ap;
	int rc;

	if (L->nerrs >= PST_MAX_DIAGNOSTICS) {
		L->dropped++;
		return;
	}
	if (L->nerrs == L->caperrs) {
		size_t cap = L->caperrs ? L->caperrs * 2 : 16;
		if ((e = realloc(L->errs, cap * sizeof *e)) == NULL) {
			L->nomem = 1;
			return;
		}
		L->errs = e;
		L->caperrs = cap;
	}
	va_start(ap, fmt);
	rc = pst_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	e = &L->errs[L->nerrs];
	e->msg = rc == 0 ? pst_arena_strndup(L->arena, pst_buf_str(&b), b.len) : NULL;
	pst_buf_free(&b);
	if (e->msg == NULL) {
		L->nomem = 1;
		return;
	}
	e->line = line;
	e->col = col;
	e->seq = L->nerrs++;
}

/* Make room for one more element of size in *arr (of *cap). */
static int grow(void **arr, size_t *cap, size_t used, size_t size)
{
	size_t ncap;
	void *p;

	if (used < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	if (ncap > SIZE_MAX / size || (p = realloc(*arr, ncap * size)) == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

int pst_dnsfix_add_rec(fix_loader *L, const pst_dns_rr *rr, unsigned line, unsigned col)
{
	struct fix_rec *r;

	if (grow((void **)&L->recs, &L->caprecs, L->nrecs, sizeof *L->recs) != 0) {
		L->nomem = 1;
		return -1;
	}
	r = &L->recs[L->nrecs];
	r->rr = *rr;
	r->line = line;
	r->col = col;
	r->seq = L->nrecs++;
	return 0;
}

int pst_dnsfix_add_dir(fix_loader *L, const struct fix_dir *d)
{
	if (grow((void **)&L->dirs, &L->capdirs, L->ndirs, sizeof *L->dirs) != 0) {
		L->nomem = 1;
		return -1;
	}
	L->dirs[L->ndirs++] = *d;
	return 0;
}

/* ---- building -------------------------------------------------------- */

static int cmp_rec(const void *a, const void *b)
{
	const struct fix_rec *x = a, *y = b;
	int c = strcmp(x->rr.owner, y->rr.owner);

	if (c != 0)
		return c;
	if (x->rr.type != y->rr.type)
		return x->rr.type < y->rr.type ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_dir(const void *a, const void *b)
{
	const struct fix_dir *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static const char *dir_name(pst_dns_status s)
{
	return s == PST_DNS_TIMEOUT ? "$TIMEOUT" : "$SERVFAIL";
}

/* A name with a CNAME has no other data (RFC 1034 3.6.2, RFC 2181 10.1):
 * report each record that comes, in file order, after its conflict. */
static void check_cname(fix_loader *L, const struct fix_rec *r, size_t n)
{
	const struct fix_rec *cname = NULL, *other = NULL;

	for (size_t i = 0; i < n; i++) {
		if (r[i].rr.type != ns_t_cname) {
			if (other == NULL || r[i].seq < other->seq)
				other = &r[i];
		} else if (cname == NULL) {
			cname = &r[i];  /* the earliest: same type sorts by file order */
		} else {
			pst_dnsfix_error(L, r[i].line, r[i].col, "CNAME record: %s already has a CNAME at line %u",
				  r[i].rr.owner, cname->line);
		}
	}
	if (cname == NULL || other == NULL)
		return;
	if (other->seq < cname->seq)
		pst_dnsfix_error(L, cname->line, cname->col,
			  "CNAME record: %s already has a %s record at line %u, and a name with a CNAME has no other records",
			  cname->rr.owner, pst_dns_type_name(other->rr.type), other->line);
	for (size_t i = 0; i < n; i++)
		if (r[i].rr.type != ns_t_cname && r[i].seq > cname->seq)
			pst_dnsfix_error(L, r[i].line, r[i].col,
				  "%s record: %s already has a CNAME at line %u, and a name with a CNAME has no other records",
				  pst_dns_type_name(r[i].rr.type), r[i].rr.owner, cname->line);
}

/* Apply the n directives for one name (sorted by type, then line). */
static int apply_dirs(fix_loader *L, struct fix_node *node, const struct fix_dir *d, size_t n)
{
	size_t types = 0;

	for (size_t i = 0; i < n; i++)
		if (d[i].type != 0 && (i == 0 || d[i].type != d[i - 1].type))
			types++;
	if (types > 0 && (node->fails = pst_arena_calloc(L->arena, types, sizeof *node->fails)) == NULL) {
		L->nomem = 1;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && d[i].type == d[i - 1].type) {
			/* The first directive for a (name, type) holds; a repeat must agree. */
			const struct fix_dir *first = &d[i - 1];
			while (first > d && (first - 1)->type == d[i].type)
				first--;
			if (first->status != d[i].status)
				pst_dnsfix_error(L, d[i].line, d[i].col, "%s %s%s%s conflicts with %s at line %u",
					  dir_name(d[i].status), node->name, d[i].type ? " " : "",
					  d[i].type ? pst_dns_type_name(d[i].type) : "",
					  dir_name(first->status), first->line);
			continue;
		}
		if (d[i].type == 0) {
			node->fail_all = d[i].status;
		} else {
			node->fails[node->nfails].type = d[i].type;
			node->fails[node->nfails].status = d[i].status;
			node->nfails++;
		}
	}
	return 0;
}

static int build_index(fix_loader *L, pst_dnsfix *f)
{
	size_t cap = 8;

	while (cap < f->nnodes * 2)
		cap *= 2;
	if ((f->index = pst_arena_calloc(L->arena, cap, sizeof *f->index)) == NULL) {
		L->nomem = 1;
		return -1;
	}
	f->index_cap = cap;
	for (size_t i = 0; i < f->nnodes; i++) {
		size_t slot = (size_t)f->nodes[i].hash & (cap - 1);
		while (f->index[slot] != 0)
			slot = (slot + 1) & (cap - 1);
		f->index[slot] = i + 1;
	}
	return 0;
}

/* Distinct names among the sorted records and directives. */
static size_t count_names(const fix_loader *L)
{
	size_t i = 0, j = 0, names = 0;

	while (i < L->nrecs || j < L->ndirs) {
		const char *name;
		if (j >= L->ndirs || (i < L->nrecs && strcmp(L->recs[i].rr.owner, L->dirs[j].name) <= 0))
			name = L->recs[i].rr.owner;
		else
			name = L->dirs[j].name;
		while (i < L->nrecs && strcmp(L->recs[i].rr.owner, name) == 0)
			i++;
		while (j < L->ndirs && strcmp(L->dirs[j].name, name) == 0)
			j++;
		names++;
	}
	return names;
}

static int build(fix_loader *L, pst_dnsfix *f)
{
	size_t i = 0, j = 0;

	if (L->nrecs > 0)
		qsort(L->recs, L->nrecs, sizeof *L->recs, cmp_rec);
	if (L->ndirs > 0)
		qsort(L->dirs, L->ndirs, sizeof *L->dirs, cmp_dir);
	f->nnodes = count_names(L);
	f->nrrs = L->nrecs;
	f->nodes = pst_arena_calloc(L->arena, f->nnodes ? f->nnodes : 1, sizeof *f->nodes);
	f->rrs = pst_arena_calloc(L->arena, f->nrrs ? f->nrrs : 1, sizeof *f->rrs);
	if (f->nodes == NULL || f->rrs == NULL) {
		L->nomem = 1;
		return -1;
	}
	for (size_t k = 0; k < f->nnodes; k++) {
		struct fix_node *node = &f->nodes[k];
		size_t i0 = i, j0 = j;

		if (j >= L->ndirs || (i < L->nrecs && strcmp(L->recs[i].rr.owner, L->dirs[j].name) <= 0))
			node->name = L->recs[i].rr.owner;
		else
			node->name = L->dirs[j].name;
		node->len = strlen(node->name);
		node->hash = pst_hash_fnv1a64(node->name, node->len);
		for (; i < L->nrecs && strcmp(L->recs[i].rr.owner, node->name) == 0; i++) {
			f->rrs[i] = L->recs[i].rr;
			f->rrs[i].owner = node->name;
		}
		node->rrs = &f->rrs[i0];
		node->nrrs = i - i0;
		/* L->recs is NULL in a fixture of directives only, L->dirs in
		 * one without directives: never form &NULL[0] (undefined
		 * behaviour); pass NULL with a count of 0. */
		check_cname(L, i > i0 ? &L->recs[i0] : NULL, i - i0);
		while (j < L->ndirs && strcmp(L->dirs[j].name, node->name) == 0)
			j++;
		if (apply_dirs(L, node, j > j0 ? &L->dirs[j0] : NULL, j - j0) != 0)
			return -1;
	}
	return build_index(L, f);
}

/* ---- loading --------------------------------------------------------- */

static int cmp_err(const void *a, const void *b)
{
	const struct fix_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void report(fix_loader *L, pst_buf *errors)
{
	if (errors == NULL)
		return;
	if (L->nomem) {
		(void)pst_buf_printf(errors, "%s: error: out of memory\n", L->fname);
		return;
	}
	if (L->nerrs > 0)
		qsort(L->errs, L->nerrs, sizeof *L->errs, cmp_err);
	for (size_t i = 0; i < L->nerrs; i++)
		if (pst_buf_printf(errors, "%s:%u:%u: error: %s\n", L->fname, L->errs[i].line,
				   L->errs[i].col, L->errs[i].msg) != 0)
			return;
	if (L->dropped > 0)
		(void)pst_buf_printf(errors, "%s: error: %zu more errors\n", L->fname, L->dropped);
}

static void parse_lines(fix_loader *L, const char *text, size_t len)
{
	size_t start = 0;
	unsigned line = 1;

	/* A UTF-8 byte order mark is not part of the first line. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	while (start < len && !L->nomem) {
		const char *p = text + start;
		const char *nl = memchr(p, '\n', len - start);
		size_t n = nl ? (size_t)(nl - p) : len - start;
		size_t next = start + n + 1;
		const char *nul;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > PST_MAX_DNSFIX_LINE_BYTES)
			pst_dnsfix_error(L, line, 1, "line longer than %d bytes", PST_MAX_DNSFIX_LINE_BYTES);
		else if ((nul = memchr(p, '\0', n)) != NULL)
			pst_dnsfix_error(L, line, (unsigned)(nul - p) + 1, "NUL byte in the line");
		else
			pst_dnsfix_parse_line(L, p, n, line);
		start = next;
		line++;
	}
}

int pst_dnsfix_load_text(const char *name, const char *text, size_t len,
			 pst_dnsfix **out, pst_buf *errors)
{
	fix_loader L;
	pst_dnsfix *f = NULL;
	int rc = -1;

	*out = NULL;
	memset(&L, 0, sizeof L);
	L.fname = name;
	L.default_ttl = FIX_DEFAULT_TTL;
	if ((L.arena = pst_arena_new()) == NULL || (f = calloc(1, sizeof *f)) == NULL) {
		L.nomem = 1;
		goto out;
	}
	parse_lines(&L, text, len);
	/* Build even after errors: its checks across lines report too. */
	if (L.nomem || build(&L, f) != 0 || L.nerrs > 0 || L.dropped > 0)
		goto out;
	f->arena = L.arena;
	L.arena = NULL;
	*out = f;
	f = NULL;
	rc = 0;
out:
	if (rc != 0)
		report(&L, errors);
	free(f);
	free(L.recs);
	free(L.dirs);
	free(L.errs);
	pst_arena_free(&L.arena);
	return rc;
}

/* Read the whole file into a malloc'd buffer; -1 with a message on error. */
static char *read_file(const char *path, size_t *len, pst_buf *errors)
{
	struct stat st;
	char *data = NULL;
	size_t cap, used = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0)
		goto fail;
	if (st.st_size > PST_MAX_DNSFIX_BYTES) {
		if (errors != NULL)
			(void)pst_buf_printf(errors, "%s: error: file is larger than %d bytes\n", path,
					     PST_MAX_DNSFIX_BYTES);
		close(fd);
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	if ((data = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		ssize_t r;
		if (used == cap - 1) {
			/* The file grew since fstat; read on, still bounded. */
			char *more;
			if (cap > PST_MAX_DNSFIX_BYTES) {
				errno = EFBIG;
				goto fail;
			}
			if ((more = realloc(data, cap * 2)) == NULL)
				goto fail;
			data = more;
			cap *= 2;
		}
		r = read(fd, data + used, cap - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		used += (size_t)r;
	}
	close(fd);
	*len = used;
	return data;
fail:
	if (errors != NULL)
		(void)pst_buf_printf(errors, "%s: error: cannot read: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(data);
	return NULL;
}

int pst_dnsfix_load_file(const char *path, pst_dnsfix **out, pst_buf *errors)
{
	size_t len = 0;
	char *text = read_file(path, &len, errors);
	int rc;

	*out = NULL;
	if (text == NULL)
		return -1;
	rc = pst_dnsfix_load_text(path, text, len, out, errors);
	free(text);
	return rc;
}

void pst_dnsfix_free(pst_dnsfix **f)
{
	if (f == NULL || *f == NULL)
		return;
	pst_arena_free(&(*f)->arena);
	free(*f);
	*f = NULL;
}

size_t pst_dnsfix_record_count(const pst_dnsfix *f)
{
	return f->nrrs;
}

/* ---- answering ------------------------------------------------------- */

static const struct fix_node *find_node(const pst_dnsfix *f, const char *name, size_t len)
{
	uint64_t h = pst_hash_fnv1a64(name, len);
	size_t slot = (size_t)h & (f->index_cap - 1);

	while (f->index[slot] != 0) {
		const struct fix_node *node = &f->nodes[f->index[slot] - 1];
		if (node->hash == h && node->len == len && memcmp(node->name, name, len) == 0)
			return node;
		slot = (slot + 1) & (f->index_cap - 1);
	}
	return NULL;
}

/* A directive's status for (node, type), or PST_DNS_NOERROR for none. */
static pst_dns_status failure_of(const struct fix_node *node, int rrtype)
{
	for (size_t i = 0; i < node->nfails; i++)
		if (node->fails[i].type == rrtype)
			return node->fails[i].status;
	return node->fail_all;
}

/* The records of one type at node: *first and the count. */
static size_t records_of(const struct fix_node *node, int rrtype, const pst_dns_rr **first)
{
	size_t i = 0, n = 0;

	while (i < node->nrrs && node->rrs[i].type != rrtype)
		i++;
	while (i + n < node->nrrs && node->rrs[i + n].type == rrtype)
		n++;
	*first = n > 0 ? &node->rrs[i] : NULL;
	return n;
}

/* Lower-case name into ans->name without one trailing dot; -1 if too long. */
static int set_name(pst_dns_answer *ans, const char *name, size_t *len)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n > PST_MAX_DOMAIN_BYTES)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		ans->name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	ans->name[n] = '\0';
	*len = n;
	return 0;
}

static pst_dns_status answer(pst_dns_answer *ans, pst_dns_status s)
{
	ans->status = s;
	return s;
}

pst_dns_status pst_dnsfix_query(const pst_dnsfix *f, const char *name, int rrtype,
				pst_dns_answer *ans)
{
	size_t len;

	memset(ans, 0, sizeof *ans);
	ans->rrtype = rrtype;
	if (set_name(ans, name, &len) != 0)
		return answer(ans, PST_DNS_NXDOMAIN);
	for (;;) {
		const struct fix_node *node = find_node(f, ans->name, len);
		const pst_dns_rr *cname;
		pst_dns_status fail;

		if (node == NULL)
			return answer(ans, PST_DNS_NXDOMAIN);
		if ((fail = failure_of(node, rrtype)) != PST_DNS_NOERROR)
			return answer(ans, fail);
		if (node->nrrs == 0)
			return answer(ans, PST_DNS_NXDOMAIN);
		if ((ans->count = records_of(node, rrtype, &ans->rrs)) > 0)
			return answer(ans, PST_DNS_NOERROR);
		if (rrtype == ns_t_cname || records_of(node, ns_t_cname, &cname) == 0)
			return answer(ans, PST_DNS_NODATA);
		/* Follow the CNAME; a loop runs into the length limit. */
		if (ans->chain_len == PST_MAX_DNS_CNAME_CHAIN)
			return answer(ans, PST_DNS_SERVFAIL);
		ans->chain[ans->chain_len++] = cname;
		len = strlen(cname->target);
		memcpy(ans->name, cname->target, len + 1);
	}
}
