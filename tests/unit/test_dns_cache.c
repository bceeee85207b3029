/* Unit tests for engine/dns/cache.c: the DNS answer cache in front of live
 * DNS. A test clock (seconds, set by the test) shows expiry without
 * sleeping; answers are built by hand as a backend would make them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dns/cache.h"

static uint64_t clock_now;

static uint64_t test_clock(void *arg)
{
	(void)arg;
	return __atomic_load_n(&clock_now, __ATOMIC_RELAXED);
}

static pst_dns_cache *new_cache(size_t entries, size_t bytes)
{
	pst_dns_cache_options o = { .max_entries = entries, .max_bytes = bytes, .max_ttl = 3600,
	                            .max_neg_ttl = 600, .now = test_clock };
	pst_dns_cache *c = NULL;
	assert_int_equal(pst_dns_cache_new(&o, &c), 0);
	assert_non_null(c);
	return c;
}

/* A TXT answer for name with two records, strings on the stack the way a
 * backend's arena would hold them. */
typedef struct txt2 {
	char owner[64];
	char t1[64], t2[64];
	pst_dns_rr rrs[2];
	pst_dns_answer ans;
} txt2;

static void make_txt(txt2 *t, const char *name, const char *v1, const char *v2)
{
	memset(t, 0, sizeof *t);
	snprintf(t->owner, sizeof t->owner, "%s", name);
	snprintf(t->t1, sizeof t->t1, "%s", v1);
	snprintf(t->t2, sizeof t->t2, "%s", v2);
	for (int i = 0; i < 2; i++) {
		t->rrs[i].owner = t->owner;
		t->rrs[i].type = ns_t_txt;
		t->rrs[i].ttl = 300;
		t->rrs[i].text = i ? t->t2 : t->t1;
		t->rrs[i].text_len = strlen(t->rrs[i].text);
	}
	t->ans.status = PST_DNS_NOERROR;
	t->ans.rrtype = ns_t_txt;
	snprintf(t->ans.name, sizeof t->ans.name, "%s", name);
	t->ans.rrs = t->rrs;
	t->ans.count = 2;
}

static void negative(pst_dns_answer *a, const char *name, pst_dns_status st, int type)
{
	memset(a, 0, sizeof *a);
	a->status = st;
	a->rrtype = type;
	snprintf(a->name, sizeof a->name, "%s", name);
}

static void hit_copies_records_and_ignores_case(void **state)
{
	(void)state;
	clock_now = 1000;
	pst_dns_cache *c = new_cache(0, 0);
	txt2 t;
	make_txt(&t, "example.com", "v=spf1 -all", "other");
	assert_int_equal(pst_dns_cache_put(c, "Example.COM.", ns_t_txt, &t.ans, 300), 1);
	/* The cache owns its copy: the caller's strings may change. */
	memset(t.t1, 'x', 10);
	pst_arena *a = pst_arena_new();
	pst_dns_answer ans;
	assert_int_equal(pst_dns_cache_get(c, a, "EXAMPLE.com", ns_t_txt, &ans), 1);
	assert_int_equal(ans.status, PST_DNS_NOERROR);
	assert_int_equal(ans.rrtype, ns_t_txt);
	assert_string_equal(ans.name, "example.com");
	assert_int_equal(ans.count, 2);
	assert_string_equal(ans.rrs[0].text, "v=spf1 -all");
	assert_int_equal(ans.rrs[0].text_len, 11);
	assert_string_equal(ans.rrs[1].text, "other");
	assert_string_equal(ans.rrs[1].owner, "example.com");
	assert_ptr_not_equal(ans.rrs[0].text, t.t1);
	/* Another type of the same name is another key. */
	assert_int_equal(pst_dns_cache_get(c, a, "example.com", ns_t_a, &ans), 0);
	assert_int_equal(pst_dns_cache_get(c, a, "www.example.com", ns_t_txt, &ans), 0);
	pst_dns_cache_stats st;
	pst_dns_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.entries, 1);
	assert_true(st.bytes > 0);
	pst_arena_free(&a);
	pst_dns_cache_free(&c);
	assert_null(c);
}

static void ttl_expires_and_counts_down(void **state)
{
	(void)state;
	clock_now = 5000;
	pst_dns_cache *c = new_cache(0, 0);
	txt2 t;
	make_txt(&t, "ttl.example.com", "a", "b");
	assert_int_equal(pst_dns_cache_put(c, "ttl.example.com", ns_t_txt, &t.ans, 60), 1);
	pst_arena *a = pst_arena_new();
	pst_dns_answer ans;
	clock_now += 59;
	assert_int_equal(pst_dns_cache_get(c, a, "ttl.example.com", ns_t_txt, &ans), 1);
	assert_int_equal(ans.rrs[0].ttl, 1);          /* one second left */
	clock_now += 1;
	assert_int_equal(pst_dns_cache_get(c, a, "ttl.example.com", ns_t_txt, &ans), 0);
	pst_dns_cache_stats st;
	pst_dns_cache_get_stats(c, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	/* A TTL over the cap is cut to it (3600 here). */
	assert_int_equal(pst_dns_cache_put(c, "ttl.example.com", ns_t_txt, &t.ans, 86400), 1);
	clock_now += 3599;
	assert_int_equal(pst_dns_cache_get(c, a, "ttl.example.com", ns_t_txt, &ans), 1);
	clock_now += 1;
	assert_int_equal(pst_dns_cache_get(c, a, "ttl.example.com", ns_t_txt, &ans), 0);
	/* TTL 0 is never kept. */
	assert_int_equal(pst_dns_cache_put(c, "ttl.example.com", ns_t_txt, &t.ans, 0), 0);
	assert_int_equal(pst_dns_cache_get(c, a, "ttl.example.com", ns_t_txt, &ans), 0);
	pst_arena_free(&a);
	pst_dns_cache_free(&c);
}

static void negative_answers_need_a_soa_and_are_capped(void **state)
{
	(void)state;
	clock_now = 100;
	pst_dns_cache *c = new_cache(0, 0);
	pst_arena *a = pst_arena_new();
	pst_dns_answer nx, nodata, ans;
	negative(&nx, "nx.example.com", PST_DNS_NXDOMAIN, ns_t_txt);
	negative(&nodata, "example.com", PST_DNS_NODATA, ns_t_aaaa);
	/* No SOA in the reply: not kept (RFC 2308 section 5). */
	assert_int_equal(pst_dns_cache_put(c, "nx.example.com", ns_t_txt, &nx,
	                                   PST_DNS_CACHE_NO_TTL), 0);
	assert_int_equal(pst_dns_cache_get(c, a, "nx.example.com", ns_t_txt, &ans), 0);
	/* SOA minimum 300: kept 300 s; the status is kept apart per type. */
	assert_int_equal(pst_dns_cache_put(c, "nx.example.com", ns_t_txt, &nx, 300), 1);
	assert_int_equal(pst_dns_cache_put(c, "example.com", ns_t_aaaa, &nodata, 300), 1);
	assert_int_equal(pst_dns_cache_get(c, a, "nx.example.com", ns_t_txt, &ans), 1);
	assert_int_equal(ans.status, PST_DNS_NXDOMAIN);
	assert_int_equal(ans.count, 0);
	assert_null(ans.rrs);
	assert_string_equal(ans.name, "nx.example.com");
	assert_int_equal(pst_dns_cache_get(c, a, "example.com", ns_t_aaaa, &ans), 1);
	assert_int_equal(ans.status, PST_DNS_NODATA);
	assert_int_equal(pst_dns_cache_get(c, a, "example.com", ns_t_a, &ans), 0);
	clock_now += 300;
	assert_int_equal(pst_dns_cache_get(c, a, "nx.example.com", ns_t_txt, &ans), 0);
	/* A negative TTL over the negative cap (600 here) is cut to it. */
	assert_int_equal(pst_dns_cache_put(c, "nx.example.com", ns_t_txt, &nx, 86400), 1);
	clock_now += 599;
	assert_int_equal(pst_dns_cache_get(c, a, "nx.example.com", ns_t_txt, &ans), 1);
	clock_now += 1;
	assert_int_equal(pst_dns_cache_get(c, a, "nx.example.com", ns_t_txt, &ans), 0);
	pst_arena_free(&a);
	pst_dns_cache_free(&c);
}

static void failures_are_never_kept(void **state)
{
	(void)state;
	clock_now = 100;
	pst_dns_cache *c = new_cache(0, 0);
	pst_arena *a = pst_arena_new();
	pst_dns_answer f, ans;
	negative(&f, "broken.example.com", PST_DNS_SERVFAIL, ns_t_txt);
	assert_int_equal(pst_dns_cache_put(c, "broken.example.com", ns_t_txt, &f, 300), 0);
	negative(&f, "slow.example.com", PST_DNS_TIMEOUT, ns_t_txt);
	assert_int_equal(pst_dns_cache_put(c, "slow.example.com", ns_t_txt, &f, 300), 0);
	/* NOERROR without records is not an answer to keep either. */
	negative(&f, "empty.example.com", PST_DNS_NOERROR, ns_t_txt);
	assert_int_equal(pst_dns_cache_put(c, "empty.example.com", ns_t_txt, &f, 300), 0);
	assert_int_equal(pst_dns_cache_get(c, a, "broken.example.com", ns_t_txt, &ans), 0);
	assert_int_equal(pst_dns_cache_get(c, a, "slow.example.com", ns_t_txt, &ans), 0);
	pst_dns_cache_stats st;
	pst_dns_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.stored, 0);
	pst_arena_free(&a);
	pst_dns_cache_free(&c);
}

static void least_recently_used_is_evicted(void **state)
{
	(void)state;
	clock_now = 100;
	pst_dns_cache *c = new_cache(3, 0);
	pst_arena *a = pst_arena_new();
	pst_dns_answer ans;
	txt2 t;
	char name[32];
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "d%d.example", i);
		make_txt(&t, name, "x", "y");
		assert_int_equal(pst_dns_cache_put(c, name, ns_t_txt, &t.ans, 300), 1);
	}
	/* d0 used: d1 is now the least recently used, and goes first. */
	assert_int_equal(pst_dns_cache_get(c, a, "d0.example", ns_t_txt, &ans), 1);
	make_txt(&t, "d3.example", "x", "y");
	assert_int_equal(pst_dns_cache_put(c, "d3.example", ns_t_txt, &t.ans, 300), 1);
	assert_int_equal(pst_dns_cache_get(c, a, "d1.example", ns_t_txt, &ans), 0);
	assert_int_equal(pst_dns_cache_get(c, a, "d0.example", ns_t_txt, &ans), 1);
	assert_int_equal(pst_dns_cache_get(c, a, "d2.example", ns_t_txt, &ans), 1);
	assert_int_equal(pst_dns_cache_get(c, a, "d3.example", ns_t_txt, &ans), 1);
	pst_dns_cache_stats st;
	pst_dns_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evicted, 1);
	/* Replacing a key does not grow the cache and keeps the newer answer. */
	make_txt(&t, "d0.example", "newer", "y");
	assert_int_equal(pst_dns_cache_put(c, "d0.example", ns_t_txt, &t.ans, 300), 1);
	assert_int_equal(pst_dns_cache_get(c, a, "d0.example", ns_t_txt, &ans), 1);
	assert_string_equal(ans.rrs[0].text, "newer");
	pst_dns_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evicted, 1);
	pst_arena_free(&a);
	pst_dns_cache_free(&c);
}

static void byte_bound_evicts_and_refuses_huge_entries(void **state)
{
	(void)state;
	clock_now = 100;
	/* Find one entry's size, then allow about four of them. */
	pst_dns_cache *c = new_cache(0, 0);
	txt2 t;
	make_txt(&t, "d0.example", "x", "y");
	assert_int_equal(pst_dns_cache_put(c, "d0.example", ns_t_txt, &t.ans, 300), 1);
	pst_dns_cache_stats st;
	pst_dns_cache_get_stats(c, &st);
	size_t one = st.bytes;
	pst_dns_cache_free(&c);

	c = new_cache(1000, 4 * one + one / 2);
	char name[32];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "d%d.example", i);
		make_txt(&t, name, "x", "y");
		assert_int_equal(pst_dns_cache_put(c, name, ns_t_txt, &t.ans, 300), 1);
		pst_dns_cache_get_stats(c, &st);
		assert_true(st.bytes <= 4 * one + one / 2);
	}
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.evicted, 6);
	pst_arena *a = pst_arena_new();
	pst_dns_answer ans;
	assert_int_equal(pst_dns_cache_get(c, a, "d9.example", ns_t_txt, &ans), 1);
	assert_int_equal(pst_dns_cache_get(c, a, "d0.example", ns_t_txt, &ans), 0);
	/* An answer over a quarter of the bound is not kept. */
	static char big[4096];
	memset(big, 'v', sizeof big - 1);
	make_txt(&t, "big.example", "x", "y");
	t.rrs[0].text = big;
	t.rrs[0].text_len = sizeof big - 1;
	assert_int_equal(pst_dns_cache_put(c, "big.example", ns_t_txt, &t.ans, 300), 0);
	assert_int_equal(pst_dns_cache_get(c, a, "big.example", ns_t_txt, &ans), 0);
	pst_arena_free(&a);
	pst_dns_cache_free(&c);
}

static void cname_chain_and_addresses_survive(void **state)
{
	(void)state;
	clock_now = 100;
	pst_dns_cache *c = new_cache(0, 0);
	pst_dns_rr cname = { .owner = "alias.example.com", .type = ns_t_cname, .ttl = 300,
	                     .target = "mail.example.com" };
	pst_dns_rr a1 = { .owner = "mail.example.com", .type = ns_t_a, .ttl = 300 };
	a1.addr.family = 4;
	memcpy(a1.addr.bytes, "\xc0\x00\x02\x0a", 4);
	pst_dns_answer in;
	memset(&in, 0, sizeof in);
	in.status = PST_DNS_NOERROR;
	in.rrtype = ns_t_a;
	snprintf(in.name, sizeof in.name, "mail.example.com");
	in.rrs = &a1;
	in.count = 1;
	in.chain[0] = &cname;
	in.chain_len = 1;
	assert_int_equal(pst_dns_cache_put(c, "alias.example.com", ns_t_a, &in, 300), 1);
	pst_arena *a = pst_arena_new();
	pst_dns_answer ans;
	assert_int_equal(pst_dns_cache_get(c, a, "alias.example.com", ns_t_a, &ans), 1);
	assert_string_equal(ans.name, "mail.example.com");
	assert_int_equal(ans.count, 1);
	assert_int_equal(ans.rrs[0].addr.family, 4);
	assert_memory_equal(ans.rrs[0].addr.bytes, "\xc0\x00\x02\x0a", 4);
	assert_int_equal(ans.chain_len, 1);
	assert_string_equal(ans.chain[0]->owner, "alias.example.com");
	assert_string_equal(ans.chain[0]->target, "mail.example.com");
	assert_int_equal(ans.chain[0]->type, ns_t_cname);
	/* A name too long to be a DNS name is never a key. */
	char longname[400];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(pst_dns_cache_put(c, longname, ns_t_a, &in, 300), 0);
	assert_int_equal(pst_dns_cache_get(c, a, longname, ns_t_a, &ans), 0);
	pst_arena_free(&a);
	pst_dns_cache_free(&c);
}

/* Four threads put, get and evict over a small cache with the clock moving:
 * every hit must be the answer that was put for that name. */
typedef struct worker {
	pst_dns_cache *c;
	int id;
	int wrong;
	unsigned hits;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	pst_arena *a = pst_arena_new();
	if (a == NULL) {
		w->wrong++;
		return NULL;
	}
	for (int i = 0; i < 20000; i++) {
		char name[32], text[32];
		int k = (i * 7 + w->id) % 64;
		snprintf(name, sizeof name, "n%d.example", k);
		snprintf(text, sizeof text, "v=%d", k);
		pst_dns_answer ans;
		int r = pst_dns_cache_get(w->c, a, name, ns_t_txt, &ans);
		if (r == 1) {
			w->hits++;
			if (ans.count != 2 || strcmp(ans.rrs[0].text, text) != 0 ||
			    strcmp(ans.name, name) != 0)
				w->wrong++;
		} else if (r == 0) {
			txt2 t;
			make_txt(&t, name, text, "second");
			if (pst_dns_cache_put(w->c, name, ns_t_txt, &t.ans, 1 + (unsigned)k % 5) < 0)
				w->wrong++;
		} else {
			w->wrong++;
		}
		if (i % 1000 == 999) {
			__atomic_add_fetch(&clock_now, 1, __ATOMIC_RELAXED);
			pst_arena_free(&a);
			a = pst_arena_new();
			if (a == NULL) {
				w->wrong++;
				return NULL;
			}
		}
	}
	pst_arena_free(&a);
	return NULL;
}

static void threads_share_one_cache(void **state)
{
	(void)state;
	clock_now = 100;
	pst_dns_cache *c = new_cache(32, 0);
	pthread_t t[4];
	worker w[4];
	for (int i = 0; i < 4; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].c = c;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	unsigned hits = 0;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].wrong, 0);
		hits += w[i].hits;
	}
	pst_dns_cache_stats st;
	pst_dns_cache_get_stats(c, &st);
	assert_true(hits > 0);
	assert_int_equal(st.hits, hits);
	assert_true(st.entries <= 32);
	assert_true(st.evicted > 0);
	pst_dns_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hit_copies_records_and_ignores_case),
		cmocka_unit_test(ttl_expires_and_counts_down),
		cmocka_unit_test(negative_answers_need_a_soa_and_are_capped),
		cmocka_unit_test(failures_are_never_kept),
		cmocka_unit_test(least_recently_used_is_evicted),
		cmocka_unit_test(byte_bound_evicts_and_refuses_huge_entries),
		cmocka_unit_test(cname_chain_and_addresses_survive),
		cmocka_unit_test(threads_share_one_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
