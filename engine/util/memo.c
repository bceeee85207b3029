/*
 * memo.c: remembered results by key, shared by threads (memo.h).
 *
 * Contract: memo.h, which states the ownership rules. Each slot holds one
 * allocation: the value (value_size bytes, rounded up to the strictest
 * alignment) followed by the key's bytes. A put builds the new block
 * outside the lock and swaps it in; the block it replaces is released
 * after the lock is dropped. A get compares and copies out under the lock,
 * since another thread may replace the slot as soon as it is dropped.
 */
#include "util/memo.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

struct memo_slot {
	uint64_t hash;
	size_t len;                    /* of the key */
	unsigned char *block;          /* value then key; NULL: empty */
};

struct pst_memo {
	const pst_memo_spec *spec;
	size_t key_offset;             /* value_size, aligned */
	pthread_mutex_t lock;
	struct memo_slot slot[PST_MEMO_SLOTS];
};

pst_memo *pst_memo_new(const pst_memo_spec *spec)
{
	const size_t align = _Alignof(max_align_t);
	pst_memo *m;

	if (spec == NULL || spec->value_size == 0 || spec->value_size > SIZE_MAX / 2)
		return NULL;
	m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	m->spec = spec;
	m->key_offset = (spec->value_size + align - 1) / align * align;
	return m;
}

/* Release the value in block and free it. */
static void drop_block(const pst_memo_spec *spec, unsigned char *block)
{
	if (block == NULL)
		return;
	if (spec->release)
		spec->release(block);
	free(block);
}

void pst_memo_free(pst_memo **m)
{
	if (m == NULL || *m == NULL)
		return;
	for (size_t i = 0; i < PST_MEMO_SLOTS; i++)
		drop_block((*m)->spec, (*m)->slot[i].block);
	pthread_mutex_destroy(&(*m)->lock);
	free(*m);
	*m = NULL;
}

static int copy_value(const pst_memo_spec *spec, void *dst, const void *src)
{
	if (spec->copy)
		return spec->copy(dst, src);
	memcpy(dst, src, spec->value_size);
	return 0;
}

/* The slot of hash h: the top bits of h times 2^64 / phi (Fibonacci
 * hashing), which depend on every bit of h. FNV-1a alone spreads short
 * keys badly over a few of its bits: the low byte of each product depends
 * only on low bytes, and bits 32 to 39 of "k1" ... "k25599" take only 31
 * values. */
static struct memo_slot *slot_of(pst_memo *m, uint64_t h)
{
	return &m->slot[(h * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - PST_MEMO_SLOT_BITS)];
}

int pst_memo_get(pst_memo *m, const void *key, size_t len, void *value)
{
	if (m == NULL || len > m->spec->max_key)
		return 0;
	uint64_t h = pst_hash_fnv1a64(key, len);
	struct memo_slot *sl = slot_of(m, h);
	int hit = 0;

	pthread_mutex_lock(&m->lock);
	if (sl->block != NULL && sl->hash == h && sl->len == len &&
	    (len == 0 || memcmp(sl->block + m->key_offset, key, len) == 0))
		hit = copy_value(m->spec, value, sl->block) == 0;
	pthread_mutex_unlock(&m->lock);
	return hit;
}

void pst_memo_put(pst_memo *m, const void *key, size_t len, const void *value)
{
	if (m == NULL || len > m->spec->max_key || len > SIZE_MAX - m->key_offset)
		return;
	unsigned char *block = malloc(m->key_offset + len);
	if (block == NULL)
		return;
	if (copy_value(m->spec, block, value) < 0) {
		free(block);
		return;
	}
	if (len > 0)
		memcpy(block + m->key_offset, key, len);

	uint64_t h = pst_hash_fnv1a64(key, len);
	struct memo_slot *sl = slot_of(m, h);
	pthread_mutex_lock(&m->lock);
	unsigned char *old = sl->block;
	sl->hash = h;
	sl->len = len;
	sl->block = block;
	pthread_mutex_unlock(&m->lock);
	drop_block(m->spec, old);
}
