/*
 * Unit tests for engine/lmtp/pool: jobs one after another reuse one
 * thread, the one that went idle last; max jobs at once get max threads
 * and no more; a job queued while
 * every thread is busy runs when one ends; a full queue refuses; freeing
 * the pool runs what is queued and joins every thread. Jobs are gates a
 * test opens, so what "at once" means does not depend on timing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>

#include "lmtp/pool.h"

/* What the jobs share: how many started, ran and are running, the most
 * running at once, and a gate they wait on while it is shut. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int started, done, running, most, gate_open;
	pthread_t seen[64];
	int nseen;
} g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 1, { 0 }, 0 };

static void reset(int gate_open)
{
	pthread_mutex_lock(&g.lock);
	g.started = g.done = g.running = g.most = g.nseen = 0;
	g.gate_open = gate_open;
	pthread_mutex_unlock(&g.lock);
}

static void job(void *arg)
{
	int *ran = arg;
	pthread_t self = pthread_self();

	pthread_mutex_lock(&g.lock);
	g.started++;
	g.running++;
	if (g.running > g.most)
		g.most = g.running;
	int known = 0;
	for (int i = 0; i < g.nseen; i++)
		known |= pthread_equal(g.seen[i], self);
	if (!known && g.nseen < 64)
		g.seen[g.nseen++] = self;
	pthread_cond_broadcast(&g.cond);
	while (!g.gate_open)
		pthread_cond_wait(&g.cond, &g.lock);
	g.running--;
	g.done++;
	(*ran)++;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
}

static void wait_for(int *counter, int n)
{
	pthread_mutex_lock(&g.lock);
	while (*counter < n)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
}

static void open_gate(void)
{
	pthread_mutex_lock(&g.lock);
	g.gate_open = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
}

static void one_after_another_reuse_a_thread(void **state)
{
	(void)state;
	int ran[20] = { 0 };
	unsigned threads, idle;
	pst_lmtp_pool *p = pst_lmtp_pool_new(8, 256 * 1024, job);

	assert_non_null(p);
	reset(1);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(pst_lmtp_pool_submit(p, &ran[i]), 0);
		wait_for(&g.done, i + 1);
		/* the worker is back waiting before the next job comes */
		do
			pst_lmtp_pool_counts(p, &threads, &idle);
		while (idle == 0);
	}
	pst_lmtp_pool_counts(p, &threads, &idle);
	assert_int_equal(threads, 1);
	assert_int_equal(g.nseen, 1);
	pst_lmtp_pool_free(&p);
	assert_null(p);
	for (int i = 0; i < 20; i++)
		assert_int_equal(ran[i], 1);
}

static void max_at_once_then_queued(void **state)
{
	(void)state;
	int ran[6] = { 0 };
	unsigned threads, idle;
	pst_lmtp_pool *p = pst_lmtp_pool_new(4, 256 * 1024, job);

	assert_non_null(p);
	reset(0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pst_lmtp_pool_submit(p, &ran[i]), 0);
	wait_for(&g.started, 4);
	/* two more while all four are busy: queued, no fifth thread */
	assert_int_equal(pst_lmtp_pool_submit(p, &ran[4]), 0);
	assert_int_equal(pst_lmtp_pool_submit(p, &ran[5]), 0);
	pst_lmtp_pool_counts(p, &threads, &idle);
	assert_int_equal(threads, 4);
	assert_int_equal(idle, 0);
	assert_int_equal(g.started, 4);
	open_gate();
	wait_for(&g.done, 6);
	assert_int_equal(g.most, 4);
	pst_lmtp_pool_counts(p, &threads, &idle);
	assert_int_equal(threads, 4);
	pst_lmtp_pool_free(&p);
	for (int i = 0; i < 6; i++)
		assert_int_equal(ran[i], 1);
}

/* Jobs submitted while earlier ones are still queued for idle threads each
 * get a thread: none waits behind a job that is running. */
static void every_queued_job_has_a_thread(void **state)
{
	(void)state;
	int warm[3] = { 0 }, ran[3] = { 0 };
	unsigned threads, idle;
	pst_lmtp_pool *p = pst_lmtp_pool_new(8, 256 * 1024, job);

	assert_non_null(p);
	reset(0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pst_lmtp_pool_submit(p, &warm[i]), 0);
	wait_for(&g.started, 3);
	open_gate();
	wait_for(&g.done, 3);
	do
		pst_lmtp_pool_counts(p, &threads, &idle);
	while (idle < 3);
	assert_int_equal(threads, 3);
	/* three idle threads; five jobs that block: two new threads */
	reset(0);
	int more[2] = { 0 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(pst_lmtp_pool_submit(p, &ran[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pst_lmtp_pool_submit(p, &more[i]), 0);
	wait_for(&g.started, 5);
	assert_int_equal(g.running, 5);
	pst_lmtp_pool_counts(p, &threads, &idle);
	assert_int_equal(threads, 5);
	open_gate();
	pst_lmtp_pool_free(&p);
	assert_int_equal(ran[0] + ran[1] + ran[2] + more[0] + more[1], 5);
}

/* Three threads idle, then jobs one after another: all on the same one
 * (the last to go idle), the other two stay untouched. */
static void last_idle_takes_the_next_job(void **state)
{
	(void)state;
	int warm[3] = { 0 }, ran[10] = { 0 };
	unsigned threads, idle;
	pst_lmtp_pool *p = pst_lmtp_pool_new(8, 256 * 1024, job);

	assert_non_null(p);
	reset(0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pst_lmtp_pool_submit(p, &warm[i]), 0);
	wait_for(&g.started, 3);
	open_gate();
	do
		pst_lmtp_pool_counts(p, &threads, &idle);
	while (idle < 3);
	reset(1);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(pst_lmtp_pool_submit(p, &ran[i]), 0);
		wait_for(&g.done, i + 1);
		do
			pst_lmtp_pool_counts(p, &threads, &idle);
		while (idle < 3);
	}
	assert_int_equal(threads, 3);
	assert_int_equal(g.nseen, 1);
	pst_lmtp_pool_free(&p);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ran[i], 1);
}

static void full_queue_refuses_and_free_runs_the_rest(void **state)
{
	(void)state;
	int ran[4] = { 0 }, extra = 0;
	pst_lmtp_pool *p = pst_lmtp_pool_new(2, 256 * 1024, job);

	assert_non_null(p);
	reset(0);
	assert_int_equal(pst_lmtp_pool_submit(p, &ran[0]), 0);
	assert_int_equal(pst_lmtp_pool_submit(p, &ran[1]), 0);
	wait_for(&g.started, 2);
	assert_int_equal(pst_lmtp_pool_submit(p, &ran[2]), 0);
	assert_int_equal(pst_lmtp_pool_submit(p, &ran[3]), 0);
	/* two running, two queued: the ring of max is full */
	assert_int_equal(pst_lmtp_pool_submit(p, &extra), -1);
	open_gate();
	pst_lmtp_pool_free(&p);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ran[i], 1);
	assert_int_equal(extra, 0);
}

static void bad_arguments(void **state)
{
	(void)state;
	pst_lmtp_pool *p = NULL;
	assert_null(pst_lmtp_pool_new(0, 256 * 1024, job));
	pst_lmtp_pool_free(&p);
	p = pst_lmtp_pool_new(1, 256 * 1024, job);
	assert_non_null(p);
	pst_lmtp_pool_free(&p); /* no thread was ever made */
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_after_another_reuse_a_thread),
		cmocka_unit_test(max_at_once_then_queued),
		cmocka_unit_test(every_queued_job_has_a_thread),
		cmocka_unit_test(last_idle_takes_the_next_job),
		cmocka_unit_test(full_queue_refuses_and_free_runs_the_rest),
		cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
