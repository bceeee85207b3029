/*
 * policyhold.h: the compiled policy a server decides under, which SIGHUP
 * replaces while the decisions in progress keep the one they started with
 * (engine/lmtp/policyhold.c). Shared by postern lmtp (server.c) and
 * postern milter (engine/milter/supervise.c). Not installed.
 *
 * The holder keeps one reference on its current policy; each decision
 * takes one (get) and gives it back (put); the last reference frees a
 * policy that was replaced. Generations count from 1 at the first compile,
 * one more at each compile that succeeds. Every function is thread-safe.
 */
#ifndef PST_LMTP_POLICYHOLD_H
#define PST_LMTP_POLICYHOLD_H

#include <pthread.h>

#include "postern.h"

/* A compiled policy and the decisions using it. */
typedef struct pst_held_policy {
	pst_policy *policy;
	unsigned refs;          /* under the holder's lock */
	unsigned generation;    /* 1 at start, one more per compile taken */
} pst_held_policy;

typedef struct pst_policy_hold {
	pthread_mutex_t lock;
	pthread_cond_t idle;    /* busy came down to 0 */
	pst_held_policy *current;
	unsigned generation;    /* the last one given */
	unsigned busy;          /* references taken by get, not yet put */
	int closed;             /* get gives NULL */
} pst_policy_hold;

#define PST_POLICY_HOLD_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0 }

/* Compile the rule file rules into *out: one reference, the next
 * generation, not yet current. 0, or -1 with the diagnostics in *why
 * (malloc'd, the caller frees; NULL when there are none or on ENOMEM). */
int pst_policy_hold_compile(pst_policy_hold *h, const char *rules, pst_held_policy **out,
                            char **why);

/* Make np current, its reference now the holder's; the holder's reference
 * on the one it replaces is dropped (that policy is freed once no decision
 * holds it). */
void pst_policy_hold_swap(pst_policy_hold *h, pst_held_policy *np);

/* Take a reference on the current policy: NULL when there is none or the
 * holder is closed. put drops one and sets *pp to NULL (NULL is fine). */
pst_held_policy *pst_policy_hold_get(pst_policy_hold *h);
void pst_policy_hold_put(pst_policy_hold *h, pst_held_policy **pp);

/* The current policy's generation, 0 when there is none. */
unsigned pst_policy_hold_generation(pst_policy_hold *h);

/* Refuse new references, then wait at most wait_ms for those taken to be
 * put back. 0, or -1 when some are still held. */
int pst_policy_hold_close(pst_policy_hold *h, long wait_ms);

/* At exit: drop the holder's reference. 0, or -1 when a decision still
 * holds one (nothing is freed then: what it uses must stay). */
int pst_policy_hold_release(pst_policy_hold *h);

#endif
