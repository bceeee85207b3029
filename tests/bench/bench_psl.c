/*
 * bench_psl.c: the cost of our Public Suffix List: loading Debian's list,
 * then organizational-domain look-ups per second for names of 2 to 6
 * labels (one hash probe per label), and relaxed alignments per second.
 * Not part of make check: make bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "auth/psl.h"
#include "util/limits.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	static const char *const names[] = {
		"example.com", "mail.example.com", "a.b.example.co.uk",
		"x.y.z.shop.example.net", "a.b.c.d.test.ck", "news.example.org",
	};
	char buf[PST_MAX_DOMAIN_BYTES + 1];
	pst_psl *p = NULL;
	pst_buf err = PST_BUF_INIT;
	double t0 = now(), t1;
	size_t found = 0, n = 2000000;

	if (pst_psl_load_file(NULL, &p, &err) != 0) {
		fprintf(stderr, "bench_psl: %s", pst_buf_str(&err));
		return 1;
	}
	t1 = now();
	printf("load: %zu rules in %.1f ms\n", pst_psl_rule_count(p), (t1 - t0) * 1e3);
	t0 = now();
	for (size_t i = 0; i < n; i++)
		found += pst_psl_org_domain(p, names[i % 6], buf, sizeof buf) != NULL;
	t1 = now();
	printf("org domain: %.0f look-ups/s (%zu found)\n", (double)n / (t1 - t0), found);
	t0 = now();
	found = 0;
	for (size_t i = 0; i < n; i++)
		found += (size_t)pst_psl_aligned(p, names[i % 6], names[(i + 1) % 6], 0);
	t1 = now();
	printf("relaxed alignment: %.0f checks/s (%zu aligned)\n", (double)n / (t1 - t0), found);
	pst_psl_free(&p);
	return 0;
}
