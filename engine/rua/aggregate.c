/*
 * aggregate.c: the store's rows grouped into DMARC aggregate reports
 * (contract: rua.h, the aggregate.c section).
 *
 * A report owns its records and ids (arrays grown by doubling) and, in
 * priv, its grouping index: an open-addressing hash table (linear
 * probing, a power of two of slots, at most half full) of record numbers,
 * keyed on every field of pst_rua_record but count, hashed with FNV-1a
 * (util/hash.h) straight from the row, and each record's hash kept beside
 * it so that growing the table never hashes again. Every allocation is
 * made before anything changes, so a failed add leaves the report as it
 * was. pst_rua_collect holds one report at a time: the store hands rows
 * over in reporting_domain order, so a domain's report is finished (given
 * to fn, then freed) when the next domain's first row comes, and the last
 * at the end of the scan.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rua/rua.h"
#include "util/hash.h"

#define INITIAL_RECORDS 8
#define INITIAL_IDS     64

struct index {
	size_t *slot;                   /* record number + 1, 0 for empty */
	size_t nslot;                   /* a power of two, or 0 */
	uint64_t *hash;                 /* each record's, beside r->rec */
	size_t reccap, idcap;
	int have_newest;                /* a row with a found policy was seen */
	time_t newest_time;
	int64_t newest_id;
};

void pst_rua_report_init(pst_rua_report *r, const char *domain, time_t begin, time_t end)
{
	memset(r, 0, sizeof *r);
	snprintf(r->domain, sizeof r->domain, "%s", domain ? domain : "");
	r->begin = begin;
	r->end = end;
}

void pst_rua_report_free(pst_rua_report *r)
{
	struct index *ix = r->priv;
	if (ix) {
		free(ix->slot);
		free(ix->hash);
		free(ix);
	}
	free(r->rec);
	free(r->ids);
	r->priv = NULL;
	r->rec = NULL;
	r->ids = NULL;
	r->nrec = r->nids = 0;
}

/* ---- The key ------------------------------------------------------------ */

static uint64_t hstr(uint64_t h, const char *s)
{
	return pst_hash_fnv1a64_add(h, s, strlen(s) + 1);   /* the NUL separates fields */
}

static size_t ndkim(const pst_store_row *row)
{
	return row->ndkim < PST_STORE_MAX_DKIM ? row->ndkim : PST_STORE_MAX_DKIM;
}

static uint64_t hash_row(const pst_store_row *row)
{
	uint64_t h = PST_FNV1A64_BASIS;
	unsigned char flags[3] = { (unsigned char)(row->dkim_aligned != 0),
	                           (unsigned char)(row->spf_aligned != 0),
	                           (unsigned char)ndkim(row) };
	h = pst_hash_fnv1a64_add(h, flags, sizeof flags);
	h = hstr(h, row->source_ip);
	h = hstr(h, row->disposition);
	h = hstr(h, row->reason_type);
	h = hstr(h, row->reason_comment);
	h = hstr(h, row->header_from);
	h = hstr(h, row->envelope_from);
	h = hstr(h, row->spf_domain);
	h = hstr(h, row->spf_scope);
	h = hstr(h, row->spf_result);
	h = hstr(h, row->spf_human);
	for (size_t k = 0; k < ndkim(row); k++) {
		const pst_store_dkim *d = &row->dkim[k];
		h = hstr(h, d->domain);
		h = hstr(h, d->selector);
		h = hstr(h, d->result);
		h = hstr(h, d->human);
	}
	return h;
}

#define SAME(f) (strcmp(rec->f, row->f) == 0)

static int same_dkim(const pst_store_dkim *a, const pst_store_dkim *b)
{
	return strcmp(a->domain, b->domain) == 0 && strcmp(a->selector, b->selector) == 0 &&
	       strcmp(a->result, b->result) == 0 && strcmp(a->human, b->human) == 0;
}

static int same(const pst_rua_record *rec, const pst_store_row *row)
{
	if (rec->dkim_aligned != (row->dkim_aligned != 0) ||
	    rec->spf_aligned != (row->spf_aligned != 0) || rec->ndkim != ndkim(row) ||
	    !SAME(source_ip) || !SAME(disposition) || !SAME(reason_type) ||
	    !SAME(reason_comment) || !SAME(header_from) || !SAME(envelope_from) ||
	    !SAME(spf_domain) || !SAME(spf_scope) || !SAME(spf_result) || !SAME(spf_human))
		return 0;
	for (size_t k = 0; k < rec->ndkim; k++)
		if (!same_dkim(&rec->dkim[k], &row->dkim[k]))
			return 0;
	return 1;
}

#undef SAME

/* Copy a NUL-terminated field into one of len bytes (cut to fit). */
static void copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#define COPY(f) copy(rec->f, sizeof rec->f, row->f)

static void record_of(pst_rua_record *rec, const pst_store_row *row)
{
	memset(rec, 0, offsetof(pst_rua_record, dkim));
	COPY(source_ip);
	COPY(disposition);
	COPY(reason_type);
	COPY(reason_comment);
	COPY(header_from);
	COPY(envelope_from);
	COPY(spf_domain);
	COPY(spf_scope);
	COPY(spf_result);
	COPY(spf_human);
	rec->dkim_aligned = row->dkim_aligned != 0;
	rec->spf_aligned = row->spf_aligned != 0;
	rec->ndkim = ndkim(row);
	memcpy(rec->dkim, row->dkim, rec->ndkim * sizeof *rec->dkim);
}

#undef COPY

/* ---- The index ------------------------------------------------------------ */

/* The slot of the record with hash h like row, or of the empty slot
 * where it would go. */
static size_t *find(const pst_rua_report *r, const struct index *ix, uint64_t h,
                    const pst_store_row *row)
{
	size_t mask = ix->nslot - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		size_t *s = &ix->slot[i];
		if (*s == 0 || (ix->hash[*s - 1] == h && same(&r->rec[*s - 1], row)))
			return s;
	}
}

/* Room for one more record (the arrays and a table at most half full
 * after it): 0, or -1 on ENOMEM with nothing changed but capacities. */
static int room_for_record(pst_rua_report *r, struct index *ix)
{
	if (r->nrec == ix->reccap) {
		size_t cap = ix->reccap ? ix->reccap * 2 : INITIAL_RECORDS;
		pst_rua_record *rec = realloc(r->rec, cap * sizeof *rec);
		if (rec == NULL)
			return -1;
		r->rec = rec;
		uint64_t *hash = realloc(ix->hash, cap * sizeof *hash);
		if (hash == NULL)
			return -1;
		ix->hash = hash;
		ix->reccap = cap;
	}
	if ((r->nrec + 1) * 2 <= ix->nslot)
		return 0;
	size_t n = ix->nslot ? ix->nslot * 2 : INITIAL_RECORDS * 2;
	size_t *slot = calloc(n, sizeof *slot);
	if (slot == NULL)
		return -1;
	for (size_t k = 0; k < r->nrec; k++) {
		size_t i = (size_t)ix->hash[k] & (n - 1);
		while (slot[i])
			i = (i + 1) & (n - 1);
		slot[i] = k + 1;
	}
	free(ix->slot);
	ix->slot = slot;
	ix->nslot = n;
	return 0;
}

static int room_for_id(pst_rua_report *r, struct index *ix)
{
	if (r->nids < ix->idcap)
		return 0;
	size_t cap = ix->idcap ? ix->idcap * 2 : INITIAL_IDS;
	int64_t *ids = realloc(r->ids, cap * sizeof *ids);
	if (ids == NULL)
		return -1;
	r->ids = ids;
	ix->idcap = cap;
	return 0;
}

int pst_rua_report_add(pst_rua_report *r, int64_t id, const pst_store_row *row)
{
	struct index *ix = r->priv;
	if (ix == NULL && (ix = r->priv = calloc(1, sizeof *ix)) == NULL)
		return -1;
	if (room_for_id(r, ix) < 0 || room_for_record(r, ix) < 0) {
		errno = ENOMEM;
		return -1;
	}
	uint64_t h = hash_row(row);
	size_t *s = find(r, ix, h, row);
	if (*s == 0) {
		record_of(&r->rec[r->nrec], row);
		ix->hash[r->nrec] = h;
		*s = ++r->nrec;
	}
	r->rec[*s - 1].count++;
	r->ids[r->nids++] = id;
	r->messages++;
	if (row->policy.found && (!ix->have_newest || row->time > ix->newest_time ||
	                          (row->time == ix->newest_time && id > ix->newest_id))) {
		r->policy = row->policy;
		ix->have_newest = 1;
		ix->newest_time = row->time;
		ix->newest_id = id;
	}
	return 0;
}

/* ---- Collecting ------------------------------------------------------------ */

struct collect {
	pst_rua_report r;
	int open;                       /* r holds a domain's rows */
	time_t begin, end;
	pst_rua_report_fn fn;
	void *arg;
	const char *why;                /* set when a callback stopped the scan */
};

/* Give the report in hand to fn and free it. 0, or -1 when fn said stop. */
static int finish(struct collect *c)
{
	if (!c->open)
		return 0;
	int rc = c->fn(c->arg, &c->r);
	pst_rua_report_free(&c->r);
	c->open = 0;
	if (rc < 0)
		c->why = "stopped";
	return rc < 0 ? -1 : 0;
}

static int on_row(void *arg, int64_t id, const pst_store_row *row)
{
	struct collect *c = arg;
	if (row->reporting_domain[0] == '\0')
		return 0;
	if (c->open && strcmp(c->r.domain, row->reporting_domain) != 0 && finish(c) < 0)
		return -1;
	if (!c->open) {
		pst_rua_report_init(&c->r, row->reporting_domain, c->begin, c->end);
		c->open = 1;
	}
	if (pst_rua_report_add(&c->r, id, row) < 0) {
		c->why = "out of memory";
		return -1;
	}
	return 0;
}

int pst_rua_collect(pst_store_reader *st, time_t begin, time_t end, pst_rua_report_fn fn,
                    void *arg, char *err, size_t errlen)
{
	struct collect c = { .begin = begin, .end = end, .fn = fn, .arg = arg };
	int rc = pst_store_scan(st, begin, end, on_row, &c, err, errlen);
	if (rc == 0)
		rc = finish(&c);
	if (c.open)
		pst_rua_report_free(&c.r);
	if (rc < 0 && c.why)
		snprintf(err, errlen, "%s", c.why);
	return rc;
}
