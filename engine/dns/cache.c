/*
 * cache.c: the DNS answer cache (contract: cache.h).
 *
 * Layout: a hash table of chained entries, and one doubly linked list of
 * all entries in recency order (head: most recently used, tail: the next
 * to evict). Each entry is one allocation: the header, then a "blob" that
 * holds the answer's records (CNAME chain records after them) and every
 * string they point to, then the key. Pointers inside the blob point into
 * the blob, so a hit is one arena allocation, one memcpy and a relocation
 * of each pointer by the distance between the two copies.
 *
 * One mutex guards the table, the list and the counters. Nothing is
 * allocated or freed under it except on put (the entry being replaced or
 * evicted is unlinked under the lock and freed after).
 */
#include "dns/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/hash.h"
#include "util/limits.h"

#define KEY_MAX (PST_MAX_DOMAIN_BYTES + 1)
#define MAX_BUCKETS ((size_t)1 << 20)

typedef struct entry {
	struct entry *hnext;          /* hash chain */
	struct entry *prev, *next;    /* recency list */
	uint64_t hash;
	uint64_t expires;             /* clock seconds; fresh while now < expires */
	size_t size;                  /* bytes of this allocation (the byte bound) */
	int rrtype;
	pst_dns_status status;
	size_t count, chain_len;      /* records, then chain records, at the blob's start */
	size_t blob_len;
	size_t key_len;
	char name[PST_MAX_DOMAIN_BYTES + 1]; /* the answer's name */
	alignas(max_align_t) unsigned char data[]; /* blob, then key (NUL-terminated) */
} entry;

struct pst_dns_cache {
	pthread_mutex_t lock;
	entry **buckets;
	size_t nbuckets;              /* a power of two */
	entry *head, *tail;
	size_t max_entries, max_bytes;
	uint32_t max_ttl, max_neg_ttl;
	uint64_t (*now)(void *);
	void *now_arg;
	pst_dns_cache_stats st;
};

static uint64_t monotonic_s(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

int pst_dns_cache_new(const pst_dns_cache_options *opts, pst_dns_cache **out)
{
	*out = NULL;
	pst_dns_cache *c = calloc(1, sizeof *c);
	if (c == NULL)
		return -1;
	pst_dns_cache_options o = { 0 };
	if (opts)
		o = *opts;
	c->max_entries = o.max_entries ? o.max_entries : PST_DNS_CACHE_DEFAULT_ENTRIES;
	c->max_bytes = o.max_bytes ? o.max_bytes : PST_DNS_CACHE_DEFAULT_BYTES;
	c->max_ttl = o.max_ttl ? o.max_ttl : PST_DNS_CACHE_DEFAULT_MAX_TTL;
	c->max_neg_ttl = o.max_neg_ttl ? o.max_neg_ttl : PST_DNS_CACHE_DEFAULT_NEG_TTL;
	c->now = o.now ? o.now : monotonic_s;
	c->now_arg = o.now_arg;
	/* About one bucket per entry, at most MAX_BUCKETS. */
	c->nbuckets = 16;
	while (c->nbuckets < c->max_entries && c->nbuckets < MAX_BUCKETS)
		c->nbuckets <<= 1;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (c->buckets == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->buckets);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void pst_dns_cache_free(pst_dns_cache **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	pst_dns_cache *c = *cp;
	for (entry *e = c->head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

/* ---- keys ---------------------------------------------------------------- */

/* name lower-cased without one trailing dot into key (KEY_MAX + 1 bytes).
 * Its length, or -1 when the name is too long to be a key. */
static long make_key(const char *name, char *key)
{
	size_t n = strnlen(name, KEY_MAX + 1);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n > KEY_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		key[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	key[n] = '\0';
	return (long)n;
}

static uint64_t hash_key(const char *key, size_t n, int rrtype)
{
	uint64_t h = pst_hash_fnv1a64(key, n);

	h = (h ^ (uint64_t)(unsigned)rrtype) * PST_FNV1A64_PRIME;
	return h ^ (h >> 29);
}

/* ---- the list and the table (lock held) ------------------------------------ */

static void list_unlink(pst_dns_cache *c, entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_push_head(pst_dns_cache *c, entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static entry **find_slot(pst_dns_cache *c, uint64_t hash, const char *key, size_t n, int rrtype)
{
	entry **slot = &c->buckets[hash & (c->nbuckets - 1)];
	for (; *slot; slot = &(*slot)->hnext) {
		entry *e = *slot;
		if (e->hash == hash && e->rrtype == rrtype && e->key_len == n &&
		    memcmp(e->data + e->blob_len, key, n) == 0)
			return slot;
	}
	return slot;
}

/* Take e out of the table (through its slot) and the list; the caller
 * frees it after unlocking. */
static void remove_entry(pst_dns_cache *c, entry **slot)
{
	entry *e = *slot;
	*slot = e->hnext;
	e->hnext = NULL;
	list_unlink(c, e);
	c->st.entries--;
	c->st.bytes -= e->size;
}

static entry **slot_of(pst_dns_cache *c, entry *e)
{
	entry **slot = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*slot != e)
		slot = &(*slot)->hnext;
	return slot;
}

/* ---- get ----------------------------------------------------------------- */

/* p, a pointer into the blob at from, moved to the same place in to. */
static const char *relocate(const char *p, const unsigned char *from, unsigned char *to)
{
	return p ? (const char *)to + (p - (const char *)from) : NULL;
}

int pst_dns_cache_get(pst_dns_cache *c, pst_arena *arena, const char *name, int rrtype,
                      pst_dns_answer *ans)
{
	char key[KEY_MAX + 1];
	long n = make_key(name, key);
	if (n < 0 || arena == NULL)
		return 0;
	uint64_t h = hash_key(key, (size_t)n, rrtype);
	entry *stale = NULL;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	uint64_t now = c->now(c->now_arg);
	entry **slot = find_slot(c, h, key, (size_t)n, rrtype);
	entry *e = *slot;
	if (e && now >= e->expires) {
		remove_entry(c, slot);
		c->st.expired++;
		stale = e;
		e = NULL;
	}
	if (e == NULL) {
		c->st.misses++;
		goto out;
	}
	unsigned char *copy = NULL;
	if (e->blob_len > 0 && (copy = pst_arena_alloc(arena, e->blob_len)) == NULL) {
		rc = -1;
		goto out;
	}
	if (e->blob_len > 0)
		memcpy(copy, e->data, e->blob_len);
	uint32_t left = e->expires - now > UINT32_MAX ? UINT32_MAX : (uint32_t)(e->expires - now);
	pst_dns_rr *rrs = (pst_dns_rr *)(void *)copy;
	for (size_t i = 0; i < e->count + e->chain_len; i++) {
		rrs[i].owner = relocate(rrs[i].owner, e->data, copy);
		rrs[i].text = relocate(rrs[i].text, e->data, copy);
		rrs[i].target = relocate(rrs[i].target, e->data, copy);
		if (rrs[i].ttl > left)
			rrs[i].ttl = left;
	}
	memset(ans, 0, sizeof *ans);
	ans->status = e->status;
	ans->rrtype = rrtype;
	memcpy(ans->name, e->name, sizeof ans->name);
	ans->rrs = e->count ? rrs : NULL;
	ans->count = e->count;
	ans->chain_len = e->chain_len;
	for (size_t i = 0; i < e->chain_len; i++)
		ans->chain[i] = &rrs[e->count + i];
	if (c->head != e) {
		list_unlink(c, e);
		list_push_head(c, e);
	}
	c->st.hits++;
	rc = 1;
out:
	pthread_mutex_unlock(&c->lock);
	free(stale);
	return rc;
}

/* ---- put ----------------------------------------------------------------- */

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Bytes the strings of rr need in the blob (owner shared with the
 * previous record when it is the same pointer). */
static size_t rr_strings(const pst_dns_rr *rr, const pst_dns_rr *prev)
{
	size_t n = 0;
	if (!(prev && prev->owner == rr->owner))
		n += str_size(rr->owner);
	if (rr->text)
		n += rr->text_len + 1;
	n += str_size(rr->target);
	return n;
}

static char *put_str(unsigned char **p, const char *s, size_t n)
{
	char *d = (char *)*p;
	memcpy(d, s, n);
	d[n] = '\0';
	*p += n + 1;
	return d;
}

/* The i-th record of the answer as the cache lays them out (records, then
 * the chain). */
static const pst_dns_rr *nth_rr(const pst_dns_answer *ans, size_t i)
{
	return i < ans->count ? &ans->rrs[i] : ans->chain[i - ans->count];
}

int pst_dns_cache_put(pst_dns_cache *c, const char *name, int rrtype, const pst_dns_answer *ans,
                      uint32_t ttl)
{
	switch (ans->status) {
	case PST_DNS_NOERROR:
		if (ans->count == 0 || ans->rrs == NULL)
			return 0;
		if (ttl > c->max_ttl)
			ttl = c->max_ttl;
		break;
	case PST_DNS_NXDOMAIN:
	case PST_DNS_NODATA:
		if (ttl == PST_DNS_CACHE_NO_TTL)
			return 0;
		if (ttl > c->max_neg_ttl)
			ttl = c->max_neg_ttl;
		break;
	default:
		return 0;
	}
	if (ttl == 0)
		return 0;
	char key[KEY_MAX + 1];
	long kn = make_key(name, key);
	if (kn < 0)
		return 0;
	size_t count = ans->status == PST_DNS_NOERROR ? ans->count : 0;
	size_t chain_len = ans->chain_len > PST_MAX_DNS_CNAME_CHAIN ? PST_MAX_DNS_CNAME_CHAIN
	                                                            : ans->chain_len;
	size_t nrr = count + chain_len;
	pst_dns_answer shape = *ans;
	shape.count = count;

	/* Sizes; each bounded by the answer, which is bounded by its source. */
	size_t blob = nrr * sizeof(pst_dns_rr);
	for (size_t i = 0; i < nrr; i++)
		blob += rr_strings(nth_rr(&shape, i), i ? nth_rr(&shape, i - 1) : NULL);
	/* Round so the key after the blob never breaks the blob's alignment. */
	blob = (blob + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	size_t size = sizeof(entry) + blob + (size_t)kn + 1;
	if (size > c->max_bytes / 4)
		return 0;
	entry *e = malloc(size);
	if (e == NULL)
		return -1;
	memset(e, 0, sizeof *e);
	e->size = size;
	e->rrtype = rrtype;
	e->status = ans->status;
	e->count = count;
	e->chain_len = chain_len;
	e->blob_len = blob;
	e->key_len = (size_t)kn;
	e->hash = hash_key(key, (size_t)kn, rrtype);
	memcpy(e->name, ans->name, sizeof e->name);
	e->name[sizeof e->name - 1] = '\0';
	pst_dns_rr *rrs = (pst_dns_rr *)(void *)e->data;
	unsigned char *p = e->data + nrr * sizeof(pst_dns_rr);
	for (size_t i = 0; i < nrr; i++) {
		const pst_dns_rr *src = nth_rr(&shape, i);
		rrs[i] = *src;
		if (i > 0 && nth_rr(&shape, i - 1)->owner == src->owner)
			rrs[i].owner = rrs[i - 1].owner;
		else if (src->owner)
			rrs[i].owner = put_str(&p, src->owner, strlen(src->owner));
		if (src->text)
			rrs[i].text = put_str(&p, src->text, src->text_len);
		if (src->target)
			rrs[i].target = put_str(&p, src->target, strlen(src->target));
	}
	memcpy(e->data + blob, key, (size_t)kn + 1);

	entry *dropped = NULL;        /* freed after unlocking, linked by hnext */
	pthread_mutex_lock(&c->lock);
	e->expires = c->now(c->now_arg) + ttl;
	entry **slot = find_slot(c, e->hash, key, (size_t)kn, rrtype);
	if (*slot) {
		entry *old = *slot;
		remove_entry(c, slot);
		old->hnext = dropped;
		dropped = old;
		slot = find_slot(c, e->hash, key, (size_t)kn, rrtype);
	}
	*slot = e;
	list_push_head(c, e);
	c->st.entries++;
	c->st.bytes += e->size;
	c->st.stored++;
	while (c->tail != e &&
	       (c->st.entries > c->max_entries || c->st.bytes > c->max_bytes)) {
		entry *victim = c->tail;
		remove_entry(c, slot_of(c, victim));
		victim->hnext = dropped;
		dropped = victim;
		c->st.evicted++;
	}
	pthread_mutex_unlock(&c->lock);
	while (dropped) {
		entry *next = dropped->hnext;
		free(dropped);
		dropped = next;
	}
	return 1;
}

void pst_dns_cache_get_stats(pst_dns_cache *c, pst_dns_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}
