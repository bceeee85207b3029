/* Unit tests for engine/util/memo.h: remembered values by key, flat and
 * deep-copied, slot replacement, limits, and use from two threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/memo.h"

/* ---- Flat values -------------------------------------------------------- */

struct flat {
	int rc;
	unsigned pct;
	const char *why;
};

static const pst_memo_spec flat_spec = { .value_size = sizeof(struct flat), .max_key = 16 };

static void flat_values_by_key(void **state)
{
	(void)state;
	pst_memo *m = pst_memo_new(&flat_spec);
	assert_non_null(m);
	struct flat a = { 0, 50, NULL }, b = { 1, 0, "refused" }, got;

	pst_memo_put(m, "alpha", 5, &a);
	pst_memo_put(m, "beta\0x", 6, &b);
	const struct {
		const char *key;
		size_t len;
		int hit;
		const struct flat *want;
	} rows[] = {
		{ "alpha", 5, 1, &a },
		{ "beta\0x", 6, 1, &b },
		{ "alph", 4, 0, NULL },        /* a prefix is another key */
		{ "alphaa", 6, 0, NULL },
		{ "beta\0y", 6, 0, NULL },     /* bytes after a NUL count */
		{ "ALPHA", 5, 0, NULL },       /* keys are bytes, not folded */
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		memset(&got, 0x5a, sizeof got);
		int hit = pst_memo_get(m, rows[i].key, rows[i].len, &got);
		if (hit != rows[i].hit)
			fail_msg("row %zu: got hit %d, want %d", i, hit, rows[i].hit);
		if (hit && (got.rc != rows[i].want->rc || got.pct != rows[i].want->pct ||
		            got.why != rows[i].want->why))
			fail_msg("row %zu: got rc %d pct %u, want rc %d pct %u", i, got.rc, got.pct,
			         rows[i].want->rc, rows[i].want->pct);
		if (!hit && got.pct != 0x5a5a5a5au)
			fail_msg("row %zu: a miss wrote the value (pct %#x)", i, got.pct);
	}
	/* The same key again replaces the value. */
	pst_memo_put(m, "alpha", 5, &b);
	assert_int_equal(pst_memo_get(m, "alpha", 5, &got), 1);
	assert_int_equal(got.rc, 1);
	/* An empty key is a key. */
	pst_memo_put(m, "", 0, &a);
	assert_int_equal(pst_memo_get(m, "", 0, &got), 1);
	assert_int_equal(got.pct, 50);
	pst_memo_free(&m);
	assert_null(m);
	pst_memo_free(&m);      /* no-op */
}

static void limits_and_null(void **state)
{
	(void)state;
	pst_memo *m = pst_memo_new(&flat_spec);
	assert_non_null(m);
	struct flat a = { 0, 7, NULL }, got = { 0 };

	pst_memo_put(m, "0123456789abcdef", 16, &a);          /* max_key: kept */
	assert_int_equal(pst_memo_get(m, "0123456789abcdef", 16, &got), 1);
	pst_memo_put(m, "0123456789abcdefg", 17, &a);         /* over: never kept */
	assert_int_equal(pst_memo_get(m, "0123456789abcdefg", 17, &got), 0);
	pst_memo_put(NULL, "a", 1, &a);
	assert_int_equal(pst_memo_get(NULL, "a", 1, &got), 0);
	pst_memo_free(&m);

	static const pst_memo_spec zero = { .value_size = 0, .max_key = 8 };
	assert_null(pst_memo_new(&zero));
	assert_null(pst_memo_new(NULL));
}

/* Direct-mapped: a slot holds the last key put into it, so putting other
 * keys evicts the first one after at most PST_MEMO_SLOTS of them (the key
 * that evicts it is in its slot), and never more than one at a time. */
static void a_slot_holds_the_last_key(void **state)
{
	(void)state;
	pst_memo *m = pst_memo_new(&flat_spec);
	assert_non_null(m);
	struct flat a = { 0, 1, NULL }, b = { 0, 2, NULL }, got;
	char k[16];
	const int limit = 100 * (int)PST_MEMO_SLOTS;
	int i, held = 0;

	pst_memo_put(m, "first", 5, &a);
	for (i = 1; i < limit; i++) {
		snprintf(k, sizeof k, "k%d", i);
		pst_memo_put(m, k, strlen(k), &b);
		if (!pst_memo_get(m, "first", 5, &got))
			break;
		held++;
	}
	if (i == limit)
		fail_msg("after %d other keys: got \"first\" still held, want it evicted", i - 1);
	assert_int_equal(pst_memo_get(m, k, strlen(k), &got), 1);
	assert_int_equal(got.pct, 2);
	/* Putting "first" back evicts the key that took its slot. */
	pst_memo_put(m, "first", 5, &a);
	if (pst_memo_get(m, k, strlen(k), &got))
		fail_msg("%s after \"first\" took its slot back: got a hit, want a miss", k);
	assert_int_equal(pst_memo_get(m, "first", 5, &got), 1);
	assert_int_equal(got.pct, 1);
	print_message("# \"first\" held through %d other keys\n", held);
	pst_memo_free(&m);
}

/* ---- Deep values: copies in and out, released by the memo ---------------- */

static atomic_long live;        /* deep values allocated and not released */
static atomic_int fail_copies;  /* > 0: that many next copies fail */

struct deep {
	char *text;
};

static int deep_copy(void *dst, const void *src)
{
	const struct deep *s = src;
	if (atomic_load(&fail_copies) > 0) {
		atomic_fetch_sub(&fail_copies, 1);
		return -1;
	}
	char *t = strdup(s->text);
	if (t == NULL)
		return -1;
	atomic_fetch_add(&live, 1);
	((struct deep *)dst)->text = t;
	return 0;
}

static void deep_release(void *value)
{
	free(((struct deep *)value)->text);
	atomic_fetch_sub(&live, 1);
}

static const pst_memo_spec deep_spec = {
	.value_size = sizeof(struct deep),
	.max_key = 64,
	.copy = deep_copy,
	.release = deep_release,
};

static void deep_values_are_copied(void **state)
{
	(void)state;
	pst_memo *m = pst_memo_new(&deep_spec);
	assert_non_null(m);
	char text[] = "v=spf1 -all";
	struct deep in = { text }, out = { NULL }, again = { NULL };

	atomic_store(&live, 0);
	pst_memo_put(m, "k", 1, &in);
	assert_int_equal(atomic_load(&live), 1);               /* its own copy */
	text[0] = 'X';                                         /* the caller's, not the memo's */
	assert_int_equal(pst_memo_get(m, "k", 1, &out), 1);
	assert_string_equal(out.text, "v=spf1 -all");
	out.text[0] = 'Y';                                     /* ours to change */
	assert_int_equal(pst_memo_get(m, "k", 1, &again), 1);
	assert_string_equal(again.text, "v=spf1 -all");
	assert_int_equal(atomic_load(&live), 3);
	deep_release(&out);
	deep_release(&again);

	/* A copy that fails: a get is a miss with the value untouched, a put
	 * keeps nothing (the old value stays). */
	atomic_store(&fail_copies, 1);
	out.text = NULL;
	assert_int_equal(pst_memo_get(m, "k", 1, &out), 0);
	assert_null(out.text);
	atomic_store(&fail_copies, 1);
	char other_text[] = "other";
	struct deep other = { other_text };
	pst_memo_put(m, "k", 1, &other);
	assert_int_equal(pst_memo_get(m, "k", 1, &out), 1);
	assert_string_equal(out.text, "v=spf1 -all");
	deep_release(&out);

	/* Replacing releases the old value; freeing releases the rest. */
	pst_memo_put(m, "k", 1, &other);
	pst_memo_put(m, "j", 1, &other);
	assert_int_equal(atomic_load(&live), 2);
	pst_memo_free(&m);
	if (atomic_load(&live) != 0)
		fail_msg("after pst_memo_free: got %ld values live, want 0", atomic_load(&live));
}

/* ---- Two threads ----------------------------------------------------------- */

#define THREAD_ROUNDS 20000
#define THREAD_KEYS 600         /* more than the slots: slots are replaced */

struct worker {
	pst_memo *m;
	unsigned seed;
	long hits, wrong;
};

/* Each thread puts and gets keys "key-N" whose value is "value-N": a hit
 * must hand out exactly the value of its key, whatever the other thread
 * put into the same slot meanwhile. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char key[32], want[32];

	for (int r = 0; r < THREAD_ROUNDS; r++) {
		w->seed = w->seed * 1103515245u + 12345u;
		unsigned n = (w->seed >> 8) % THREAD_KEYS;
		int kn = snprintf(key, sizeof key, "key-%u", n);
		snprintf(want, sizeof want, "value-%u", n);
		struct deep got = { NULL };
		if (pst_memo_get(w->m, key, (size_t)kn, &got)) {
			w->hits++;
			if (strcmp(got.text, want) != 0)
				w->wrong++;
			deep_release(&got);
		} else {
			struct deep v = { want };
			pst_memo_put(w->m, key, (size_t)kn, &v);
		}
	}
	return NULL;
}

static void two_threads_share_one_memo(void **state)
{
	(void)state;
	pst_memo *m = pst_memo_new(&deep_spec);
	assert_non_null(m);
	atomic_store(&live, 0);
	atomic_store(&fail_copies, 0);
	struct worker w[2] = { { m, 1, 0, 0 }, { m, 2, 0, 0 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		if (w[i].wrong != 0)
			fail_msg("thread %d: got %ld wrong values, want 0", i, w[i].wrong);
		if (w[i].hits == 0)
			fail_msg("thread %d: got no hits in %d rounds, want some", i, THREAD_ROUNDS);
	}
	pst_memo_free(&m);
	if (atomic_load(&live) != 0)
		fail_msg("after pst_memo_free: got %ld values live, want 0", atomic_load(&live));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flat_values_by_key),
		cmocka_unit_test(limits_and_null),
		cmocka_unit_test(a_slot_holds_the_last_key),
		cmocka_unit_test(deep_values_are_copied),
		cmocka_unit_test(two_threads_share_one_memo),
	};
	return cmocka_run_group_tests_name("memo", tests, NULL, NULL);
}
