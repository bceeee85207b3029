/*
 * resolver.c: the DNS layer's front (resolver.h): a resolver is a backend
 * behind a small table of operations; a session asks it questions for one
 * message within a time budget and counts them. The fixture backend lives
 * here; live DNS is dns/live.c.
 */
#include "dns/resolver.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/limits.h"

struct pst_resolver {
	const pst_resolver_ops *ops;
	void *impl;
};

int pst_resolver_new(const pst_resolver_ops *ops, void *impl, pst_resolver **out)
{
	*out = NULL;
	pst_resolver *r = calloc(1, sizeof *r);
	if (r == NULL) {
		if (ops->free)
			ops->free(impl);
		return -1;
	}
	r->ops = ops;
	r->impl = impl;
	*out = r;
	return 0;
}

void pst_resolver_free(pst_resolver **r)
{
	if (r == NULL || *r == NULL)
		return;
	if ((*r)->ops->free)
		(*r)->ops->free((*r)->impl);
	free(*r);
	*r = NULL;
}

void *pst_resolver_impl(const pst_resolver *r, const pst_resolver_ops *ops)
{
	return r && r->ops == ops ? r->impl : NULL;
}

const char *pst_resolver_kind(const pst_resolver *r)
{
	return r->ops->name;
}

/* ---- The fixture backend ---------------------------------------------- */

static pst_dns_status fixture_query(void *impl, pst_arena *arena, const char *name, int rrtype,
                                    unsigned timeout_ms, pst_dns_answer *ans)
{
	(void)arena;          /* records are borrowed from the fixture */
	(void)timeout_ms;     /* $TIMEOUT answers at once */
	return pst_dnsfix_query(impl, name, rrtype, ans);
}

static const pst_resolver_ops fixture_ops = { fixture_query, NULL, "fixture" };

int pst_resolver_new_fixture(const pst_dnsfix *fix, pst_resolver **out)
{
	return pst_resolver_new(&fixture_ops, (void *)fix, out);
}

/* ---- Sessions ---------------------------------------------------------- */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void pst_dns_session_init(pst_dns_session *s, const pst_resolver *r, pst_arena *arena,
                          unsigned timeout_ms, unsigned budget_ms)
{
	memset(s, 0, sizeof *s);
	s->resolver = r;
	s->arena = arena;
	s->timeout_ms = timeout_ms ? timeout_ms : PST_DNS_DEFAULT_TIMEOUT_MS;
	s->budget_ms = budget_ms ? budget_ms : PST_DEFAULT_DNS_BUDGET_MS;
	s->max_queries = PST_DEFAULT_DNS_MAX_QUESTIONS;
}

static pst_dns_status empty_answer(pst_dns_answer *ans, int rrtype, pst_dns_status st)
{
	memset(ans, 0, sizeof *ans);
	ans->status = st;
	ans->rrtype = rrtype;
	return st;
}

pst_dns_status pst_dns_session_query(pst_dns_session *s, const char *name, int rrtype,
                                     pst_dns_answer *ans)
{
	if (s->resolver == NULL)
		return empty_answer(ans, rrtype, PST_DNS_SERVFAIL);
	if (s->spent_ms >= s->budget_ms || s->queries >= s->max_queries) {
		s->refused++;
		return empty_answer(ans, rrtype, PST_DNS_TIMEOUT);
	}
	uint64_t left = s->budget_ms - s->spent_ms;
	unsigned timeout = s->timeout_ms < left ? s->timeout_ms : (unsigned)left;
	uint64_t t0 = monotonic_ms();
	s->queries++;
	pst_dns_status st = s->resolver->ops->query(s->resolver->impl, s->arena, name, rrtype,
	                                            timeout, ans);
	s->spent_ms += monotonic_ms() - t0;
	return st;
}
