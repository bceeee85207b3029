/*
 * pool.c: the bounded worker pool of the LMTP server (see pool.h).
 *
 * One mutex guards everything: the workers made so far, a stack of the
 * idle ones, a FIFO ring of queued jobs (room for max, since the caller
 * keeps at most max jobs in flight) and the closing flag. Each worker has
 * a condition variable of its own and a job slot.
 *
 * A job goes, in this order: to the idle worker that went idle last (its
 * stack and malloc arena are warm, and under a steady load the same few
 * threads do all the work while the others stay untouched), written into
 * its slot before it is woken; to a new worker, while fewer than max
 * exist; or to the queue, which a worker empties before it goes idle. So a
 * job never waits while a thread is idle, and at max, by the caller's
 * admission, a running job is ending. On closing, workers run what is left
 * and exit; pst_lmtp_pool_free() joins them all, so nothing of the pool
 * outlives it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "lmtp/pool.h"

struct worker {
	pst_lmtp_pool *pool;
	pthread_t thread;
	pthread_cond_t wake;            /* a job in slot, or closing */
	void *job;                      /* the next job, or NULL */
	struct worker *next_idle;
};

struct pst_lmtp_pool {
	pthread_mutex_t lock;
	void (*run)(void *job);
	size_t stack_bytes;
	unsigned max;
	struct worker **workers;        /* [max], the first nthreads made */
	unsigned nthreads;
	struct worker *idle;            /* stack: the last to go idle on top */
	unsigned nidle;
	void **queue;                   /* ring of max jobs */
	unsigned head, len;
	int closing;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pst_lmtp_pool *p = w->pool;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (w->job != NULL) {
			void *job = w->job;
			w->job = NULL;
			pthread_mutex_unlock(&p->lock);
			p->run(job);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (p->len > 0) {
			w->job = p->queue[p->head];
			p->head = (p->head + 1) % p->max;
			p->len--;
			continue;
		}
		if (p->closing)
			break;
		w->next_idle = p->idle;
		p->idle = w;
		p->nidle++;
		/* submit() takes w off the stack before filling its slot */
		while (w->job == NULL && !p->closing)
			pthread_cond_wait(&w->wake, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

pst_lmtp_pool *pst_lmtp_pool_new(unsigned max, size_t stack_bytes, void (*run)(void *job))
{
	pst_lmtp_pool *p;

	if (max == 0 || (p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->workers = calloc(max, sizeof *p->workers);
	p->queue = calloc(max, sizeof *p->queue);
	if (p->workers == NULL || p->queue == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p->workers);
		free(p->queue);
		free(p);
		return NULL;
	}
	p->max = max;
	p->stack_bytes = stack_bytes;
	p->run = run;
	return p;
}

/* A new worker starting on job; under the lock. 0 / -1. */
static int add_worker(pst_lmtp_pool *p, void *job)
{
	struct worker *w = calloc(1, sizeof *w);
	pthread_attr_t attr;
	int rc = -1;

	if (w == NULL)
		return -1;
	w->pool = p;
	w->job = job;
	if (pthread_cond_init(&w->wake, NULL) != 0) {
		free(w);
		return -1;
	}
	if (pthread_attr_init(&attr) == 0) {
		if (pthread_attr_setstacksize(&attr, p->stack_bytes) == 0)
			rc = pthread_create(&w->thread, &attr, worker_main, w);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		pthread_cond_destroy(&w->wake);
		free(w);
		return -1;
	}
	p->workers[p->nthreads++] = w;
	return 0;
}

int pst_lmtp_pool_submit(pst_lmtp_pool *p, void *job)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	if (p->closing)
		rc = -1;
	else if (p->idle != NULL) {
		struct worker *w = p->idle;
		p->idle = w->next_idle;
		p->nidle--;
		w->job = job;
		pthread_cond_signal(&w->wake);
	} else if (p->nthreads < p->max)
		rc = add_worker(p, job);
	else if (p->len < p->max) {
		p->queue[(p->head + p->len) % p->max] = job;
		p->len++;
	} else
		rc = -1;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void pst_lmtp_pool_counts(pst_lmtp_pool *p, unsigned *threads, unsigned *idle)
{
	pthread_mutex_lock(&p->lock);
	*threads = p->nthreads;
	*idle = p->nidle;
	pthread_mutex_unlock(&p->lock);
}

void pst_lmtp_pool_free(pst_lmtp_pool **pp)
{
	pst_lmtp_pool *p = *pp;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->closing = 1;
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_cond_signal(&p->workers[i]->wake);
	unsigned n = p->nthreads;
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < n; i++) {
		pthread_join(p->workers[i]->thread, NULL);
		pthread_cond_destroy(&p->workers[i]->wake);
		free(p->workers[i]);
	}
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p->queue);
	free(p);
	*pp = NULL;
}
