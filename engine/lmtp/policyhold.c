/*
 * policyhold.c: the policy a server decides under, replaced by reloads
 * (contract: policyhold.h).
 *
 * One mutex guards the current policy, every reference count, the
 * generation and busy; a policy is freed outside it, by whoever drops its
 * last reference.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lmtp/policyhold.h"

static void free_held(pst_held_policy *p)
{
	pst_policy_free(&p->policy);
	free(p);
}

int pst_policy_hold_compile(pst_policy_hold *h, const char *rules, pst_held_policy **out,
                            char **why)
{
	pst_compile_report rep = { 0, 0, NULL };
	pst_policy *p = NULL;
	*out = NULL;
	*why = NULL;
	if (pst_policy_compile_file(rules, &p, &rep) < 0) {
		*why = rep.text && *rep.text ? strdup(rep.text) : NULL;
		pst_report_clear(&rep);
		return -1;
	}
	pst_report_clear(&rep);
	if ((*out = calloc(1, sizeof **out)) == NULL) {
		pst_policy_free(&p);
		return -1;
	}
	(*out)->policy = p;
	(*out)->refs = 1;
	pthread_mutex_lock(&h->lock);
	(*out)->generation = ++h->generation;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

void pst_policy_hold_swap(pst_policy_hold *h, pst_held_policy *np)
{
	pthread_mutex_lock(&h->lock);
	pst_held_policy *old = h->current;
	h->current = np;
	int last = old && --old->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (last)
		free_held(old);
}

pst_held_policy *pst_policy_hold_get(pst_policy_hold *h)
{
	pthread_mutex_lock(&h->lock);
	pst_held_policy *p = h->closed ? NULL : h->current;
	if (p) {
		p->refs++;
		h->busy++;
	}
	pthread_mutex_unlock(&h->lock);
	return p;
}

void pst_policy_hold_put(pst_policy_hold *h, pst_held_policy **pp)
{
	if (*pp == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	int last = --(*pp)->refs == 0;
	if (--h->busy == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	if (last)
		free_held(*pp);
	*pp = NULL;
}

unsigned pst_policy_hold_generation(pst_policy_hold *h)
{
	pthread_mutex_lock(&h->lock);
	unsigned g = h->current ? h->current->generation : 0;
	pthread_mutex_unlock(&h->lock);
	return g;
}

int pst_policy_hold_close(pst_policy_hold *h, long wait_ms)
{
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += wait_ms / 1000;
	end.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	h->closed = 1;
	while (h->busy > 0 && pthread_cond_timedwait(&h->idle, &h->lock, &end) == 0)
		;
	int rc = h->busy > 0 ? -1 : 0;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int pst_policy_hold_release(pst_policy_hold *h)
{
	pthread_mutex_lock(&h->lock);
	pst_held_policy *p = h->current;
	int idle = h->busy == 0;
	int last = p && idle && --p->refs == 0;
	if (idle)
		h->current = NULL;
	pthread_mutex_unlock(&h->lock);
	if (last)
		free_held(p);
	return idle ? 0 : -1;
}
