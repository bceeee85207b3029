/*
 * resolver.h: the one DNS layer SPF, DKIM and DMARC all ask.
 *
 * A resolver answers (name, type) questions with a pst_dns_answer (dns.h).
 * Two backends exist behind one interface:
 *   - a fixture (dns/fixture.h): answers from a file, for tests and replays;
 *   - live DNS (dns/live.c, libunbound): a caching resolver shared by every
 *     thread, honouring TTLs and caching negative answers.
 * A resolver is immutable once made and may be shared by threads.
 *
 * Questions are asked through a pst_dns_session, one per message: it holds
 * the arena answers are copied into, counts the questions (so tests can
 * show that a policy reading no auth fact asks nothing), and bounds time:
 * each question by timeout_ms, all of them together by budget_ms. Once the
 * budget is spent every further question answers PST_DNS_TIMEOUT without
 * being asked. A session belongs to one thread.
 */
#ifndef PST_RESOLVER_H
#define PST_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "dns/fixture.h"
#include "util/arena.h"
#include "util/limits.h"

typedef struct pst_resolver pst_resolver;

/* What a backend implements. query fills *ans and returns its status; the
 * records it points to must stay valid as long as arena (or longer). It
 * must never block longer than timeout_ms. free releases impl. */
typedef struct pst_resolver_ops {
	pst_dns_status (*query)(void *impl, pst_arena *arena, const char *name, int rrtype,
	                        unsigned timeout_ms, pst_dns_answer *ans);
	void (*free)(void *impl);
	const char *name;             /* "fixture", "live" */
} pst_resolver_ops;

/* A resolver over a backend; takes ownership of impl (ops->free releases
 * it with the resolver). 0, or -1 on ENOMEM (impl is then freed too). */
int pst_resolver_new(const pst_resolver_ops *ops, void *impl, pst_resolver **out);

/* A resolver answering from fix, which it borrows: fix must outlive it. */
int pst_resolver_new_fixture(const pst_dnsfix *fix, pst_resolver **out);

void pst_resolver_free(pst_resolver **r);
/* The backend's impl when r runs over ops (so a backend can find its own
 * state from a resolver), else NULL. Borrowed. */
void *pst_resolver_impl(const pst_resolver *r, const pst_resolver_ops *ops);
/* The backend's name. Static. */
const char *pst_resolver_kind(const pst_resolver *r);

/* One message's questions. */
typedef struct pst_dns_session {
	const pst_resolver *resolver; /* borrowed; NULL: every answer is SERVFAIL */
	pst_arena *arena;             /* borrowed: answers are copied here */
	unsigned timeout_ms;          /* per question */
	unsigned budget_ms;           /* for the whole message */
	unsigned max_queries;         /* questions for the whole message */
	uint64_t spent_ms;            /* time spent asking so far */
	unsigned queries;             /* questions asked (budget refusals not counted) */
	unsigned refused;             /* questions refused because the budget (time or
	                               * count) was spent */
} pst_dns_session;

/* A field left 0 takes its default from util/limits.h
 * (PST_DNS_DEFAULT_TIMEOUT_MS, PST_DEFAULT_DNS_BUDGET_MS). */

/* Start a session; budget_ms 0 means PST_DEFAULT_DNS_BUDGET_MS. max_queries
 * starts at PST_DEFAULT_DNS_MAX_QUESTIONS; the caller may lower or raise it
 * after init. */
void pst_dns_session_init(pst_dns_session *s, const pst_resolver *r, pst_arena *arena,
                          unsigned timeout_ms, unsigned budget_ms);

/* Ask one question: name (any case, trailing dot optional), rrtype ns_t_*.
 * Fills *ans and returns its status. Never fails otherwise: a name that
 * cannot exist is NXDOMAIN, a backend failure SERVFAIL. */
pst_dns_status pst_dns_session_query(pst_dns_session *s, const char *name, int rrtype,
                                     pst_dns_answer *ans);

#endif
