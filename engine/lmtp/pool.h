/*
 * pool.h: a bounded pool of worker threads for the LMTP server's sessions,
 * so that no thread is created per connection (smtp-source and Postfix's
 * lmtp client open one connection per message).
 *
 * The pool runs jobs (one job = one session) on at most max threads.
 * Threads are made on demand, only when a job arrives and no thread is
 * idle, and then stay, waiting for the next job; so a server under steady
 * load creates its threads once. The thread that went idle last takes the
 * next job (warm stack and malloc arena; threads beyond the load's
 * concurrency stay untouched). Jobs submitted while every thread is busy
 * and max are running wait in FIFO order for the next thread to finish.
 * Admission (how many sessions may exist, the 421 when full) is the
 * caller's business: it keeps the number of jobs in flight at or under max,
 * and then a job never waits longer than the end of a job already running.
 *
 * Not safe for several submitting threads at once (the server submits
 * from its main thread only); the workers themselves are synchronised.
 */
#ifndef PST_LMTP_POOL_H
#define PST_LMTP_POOL_H

#include <stddef.h>

typedef struct pst_lmtp_pool pst_lmtp_pool;

/* A pool of at most max threads (max >= 1) of stack_bytes each, each job
 * run as run(job). NULL on ENOMEM. No thread is started yet. The caller
 * frees with pst_lmtp_pool_free(). */
pst_lmtp_pool *pst_lmtp_pool_new(unsigned max, size_t stack_bytes, void (*run)(void *job));

/* Queue job (owned by run() from now on) for the next idle thread, making
 * a thread when none is idle and fewer than max exist. 0, or -1 when the
 * job cannot be queued (max jobs queued already, the pool is closing, or
 * a thread was needed and pthread_create failed): then job is still the
 * caller's. */
int pst_lmtp_pool_submit(pst_lmtp_pool *p, void *job);

/* Threads made so far and threads idle right now (for tests and logs). */
void pst_lmtp_pool_counts(pst_lmtp_pool *p, unsigned *threads, unsigned *idle);

/* Run the jobs still queued, wait for every job to end, join the threads
 * and free the pool; *p becomes NULL. */
void pst_lmtp_pool_free(pst_lmtp_pool **p);

#endif
