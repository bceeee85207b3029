/*
 * pool.c: the bounded worker pool of the LMTP server (see pool.h).
 *
 * One mutex guards everything: a FIFO ring of queued jobs (room for max,
 * since the caller keeps at most max jobs in flight), the threads made so
 * far, how many of them are waiting on the condition variable, and the
 * closing flag.
 *
 * The one rule that keeps a job from waiting behind a long session: every
 * queued job has a thread of its own to come. A waiting thread may be
 * signalled and not have woken yet, but it is still counted as waiting and
 * the job it will take is still in the queue; so when a job would make the
 * queue longer than the number of waiting threads, a thread is made for
 * it (up to max; at max, by the caller's admission, a running job is
 * ending). A worker takes jobs while there are any and waits otherwise; on
 * closing it runs what is left and exits. pst_lmtp_pool_free() joins every
 * thread, so nothing of the pool outlives it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "lmtp/pool.h"

struct pst_lmtp_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;            /* a job was queued, or closing */
	void (*run)(void *job);
	size_t stack_bytes;
	unsigned max;
	pthread_t *threads;             /* [max], the first nthreads made */
	unsigned nthreads;
	unsigned waiting;               /* threads in pthread_cond_wait */
	void **queue;                   /* ring of max jobs */
	unsigned head, len;
	int closing;
};

static void *worker(void *arg)
{
	pst_lmtp_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (p->len > 0) {
			void *job = p->queue[p->head];
			p->head = (p->head + 1) % p->max;
			p->len--;
			pthread_mutex_unlock(&p->lock);
			p->run(job);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (p->closing)
			break;
		p->waiting++;
		pthread_cond_wait(&p->work, &p->lock);
		p->waiting--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

pst_lmtp_pool *pst_lmtp_pool_new(unsigned max, size_t stack_bytes, void (*run)(void *job))
{
	pst_lmtp_pool *p;

	if (max == 0 || (p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->threads = calloc(max, sizeof *p->threads);
	p->queue = calloc(max, sizeof *p->queue);
	if (p->threads == NULL || p->queue == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p->threads);
		free(p->queue);
		free(p);
		return NULL;
	}
	if (pthread_cond_init(&p->work, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p->threads);
		free(p->queue);
		free(p);
		return NULL;
	}
	p->max = max;
	p->stack_bytes = stack_bytes;
	p->run = run;
	return p;
}

/* Make one more thread; under the lock. 0 / -1. */
static int add_thread(pst_lmtp_pool *p)
{
	pthread_attr_t attr;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	rc = pthread_attr_setstacksize(&attr, p->stack_bytes);
	if (rc == 0)
		rc = pthread_create(&p->threads[p->nthreads], &attr, worker, p);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -1;
	p->nthreads++;
	return 0;
}

int pst_lmtp_pool_submit(pst_lmtp_pool *p, void *job)
{
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	if (p->len == p->max || p->closing)
		goto out;
	/* A thread for this job: a waiting one not already spoken for, or a
	 * new one. At max every thread is busy and one is ending (pool.h). */
	if (p->len + 1 > p->waiting && p->nthreads < p->max && add_thread(p) != 0)
		goto out;
	p->queue[(p->head + p->len) % p->max] = job;
	p->len++;
	pthread_cond_signal(&p->work);
	rc = 0;
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void pst_lmtp_pool_counts(pst_lmtp_pool *p, unsigned *threads, unsigned *idle)
{
	pthread_mutex_lock(&p->lock);
	*threads = p->nthreads;
	*idle = p->waiting;
	pthread_mutex_unlock(&p->lock);
}

void pst_lmtp_pool_free(pst_lmtp_pool **pp)
{
	pst_lmtp_pool *p = *pp;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->closing = 1;
	pthread_cond_broadcast(&p->work);
	unsigned n = p->nthreads;
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p->queue);
	free(p);
	*pp = NULL;
}
