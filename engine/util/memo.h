/*
 * memo.h: remembered results of a pure function, by key, shared by threads.
 *
 * A pst_memo maps a key (any bytes) to a value of a fixed size, in a
 * direct-mapped table of PST_MEMO_SLOTS slots: each slot holds the last key
 * hashed to it (FNV-1a, util/hash.h), so a memo never grows and a key may
 * be forgotten at any time. It suits results that are a pure function of
 * the key and never go stale (spf.c: compiled SPF records by client family
 * and record text; dmarc.c: parsed DMARC records by record and domains).
 *
 * Ownership, for every memo:
 *   - The memo owns the keys and values it holds. pst_memo_put copies both
 *     in (the value with spec->copy, or byte for byte without one); the
 *     memo releases a value (spec->release) when its slot is reused, and
 *     every value at pst_memo_free.
 *   - pst_memo_get copies the value out into the caller's storage (with
 *     spec->copy, under the memo's lock): what the caller gets is its own
 *     and stays valid whatever other threads put meanwhile. Nothing held
 *     by the memo is ever handed out.
 *   - So a value is flat data (pointers only to static storage), or
 *     spec->copy makes a deep copy and spec->release frees one.
 *   - Whoever made a memo frees it; pst_memo_free must not race with any
 *     other call on it.
 * Threads: get and put may run on any number of threads at once (one
 * mutex per memo). spec->copy runs under that lock: it must not call into
 * the same memo.
 * Best effort: a key longer than spec->max_key is never kept, and a put
 * that runs out of memory keeps nothing; either way the caller computes
 * the result itself, as on any miss.
 */
#ifndef PST_UTIL_MEMO_H
#define PST_UTIL_MEMO_H

#include <stddef.h>

#include "util/limits.h"

#define PST_MEMO_SLOTS (1u << PST_MEMO_SLOT_BITS)

typedef struct pst_memo_spec {
	size_t value_size;     /* bytes of one value, > 0 */
	size_t max_key;        /* longer keys are never kept */
	/* Copy the value at src to dst (value_size bytes each): 0, or -1 on
	 * ENOMEM (dst then holds nothing to release). NULL: memcpy. */
	int (*copy)(void *dst, const void *src);
	/* Free what the value holds (not its value_size bytes). NULL: none. */
	void (*release)(void *value);
} pst_memo_spec;

typedef struct pst_memo pst_memo;

/* A new, empty memo of values described by spec (borrowed: it must outlive
 * the memo; normally a static const). NULL on ENOMEM or a bad spec. The
 * caller owns it: pst_memo_free. */
pst_memo *pst_memo_new(const pst_memo_spec *spec);

/* Release every value, free *m, set *m to NULL. NULL or *m NULL: no-op. */
void pst_memo_free(pst_memo **m);

/* 1 and a copy of the value remembered for the len bytes at key in *value
 * (the caller's: value_size bytes it then owns), or 0 (not remembered, or
 * the copy ran out of memory; *value untouched). m NULL: 0. */
int pst_memo_get(pst_memo *m, const void *key, size_t len, void *value);

/* Remember a copy of *value (borrowed) for the len bytes at key, in place
 * of whatever its slot held. Best effort (see above). m NULL: no-op. */
void pst_memo_put(pst_memo *m, const void *key, size_t len, const void *value);

#endif
