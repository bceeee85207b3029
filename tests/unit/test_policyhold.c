/*
 * Unit tests for engine/lmtp/policyhold (the policy postern lmtp and
 * postern milter decide under): generations count compiles that succeed;
 * a failed compile gives its diagnostics and leaves the current policy;
 * a swap leaves a reference taken before it on the old policy, which
 * stays usable until put; close refuses new references and waits for the
 * ones out; release refuses while one is out. Rule files are written to a
 * temporary folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lmtp/policyhold.h"

static char dir[] = "/tmp/postern-policyhold-XXXXXX";

/* A rule file at dir/name with text; its path (static). */
static const char *rules_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *one_rule = "rule a { when size > 0 then reject 550 5.7.1 \"no\"; }\n";
static const char *two_rules = "rule a { when size > 0 then accept; }\n"
                               "rule b { when size > 0 then reject 550 5.7.1 \"no\"; }\n";

static void generations_count_compiles_taken(void **state)
{
	(void)state;
	pst_policy_hold h = PST_POLICY_HOLD_INIT;
	pst_held_policy *p = NULL, *q = NULL;
	char *why = NULL;
	assert_null(pst_policy_hold_get(&h));
	assert_int_equal(pst_policy_hold_generation(&h), 0);
	assert_int_equal(pst_policy_hold_compile(&h, rules_file("a.rules", one_rule), &p, &why), 0);
	assert_null(why);
	assert_int_equal(p->generation, 1);
	pst_policy_hold_swap(&h, p);
	assert_int_equal(pst_policy_hold_generation(&h), 1);
	/* a file that does not compile: diagnostics, no generation taken */
	assert_int_equal(pst_policy_hold_compile(&h, rules_file("bad.rules", "rule {\n"), &q, &why), -1);
	assert_null(q);
	assert_non_null(why);
	assert_non_null(strstr(why, "bad.rules:"));
	free(why);
	assert_int_equal(pst_policy_hold_generation(&h), 1);
	assert_int_equal(pst_policy_hold_compile(&h, rules_file("b.rules", two_rules), &q, &why), 0);
	assert_int_equal(q->generation, 2);
	pst_policy_hold_swap(&h, q);
	assert_int_equal(pst_policy_hold_generation(&h), 2);
	assert_int_equal(pst_policy_hold_release(&h), 0);
	assert_int_equal(pst_policy_hold_generation(&h), 0);
}

/* A decision that took the old policy keeps it whole across a swap. */
static void swap_keeps_references_taken(void **state)
{
	(void)state;
	pst_policy_hold h = PST_POLICY_HOLD_INIT;
	pst_held_policy *p = NULL, *q = NULL;
	char *why = NULL;
	assert_int_equal(pst_policy_hold_compile(&h, rules_file("a.rules", one_rule), &p, &why), 0);
	pst_policy_hold_swap(&h, p);
	pst_held_policy *old = pst_policy_hold_get(&h);
	assert_ptr_equal(old, p);
	assert_int_equal(pst_policy_hold_compile(&h, rules_file("b.rules", two_rules), &q, &why), 0);
	pst_policy_hold_swap(&h, q);
	assert_int_equal(pst_policy_rule_count(old->policy), 1);   /* still there (ASan: not freed) */
	pst_held_policy *cur = pst_policy_hold_get(&h);
	assert_ptr_equal(cur, q);
	assert_int_equal(pst_policy_rule_count(cur->policy), 2);
	pst_policy_hold_put(&h, &old);
	assert_null(old);
	pst_policy_hold_put(&h, &cur);
	pst_policy_hold_put(&h, &cur);   /* NULL: nothing */
	assert_int_equal(pst_policy_hold_release(&h), 0);
}

static void *put_later(void *arg)
{
	void **a = arg;
	usleep(100 * 1000);
	pst_policy_hold_put(a[0], (pst_held_policy **)&a[1]);
	return NULL;
}

/* close waits for a reference out, then refuses new ones; release refuses
 * while one is out. */
static void close_waits_and_refuses(void **state)
{
	(void)state;
	pst_policy_hold h = PST_POLICY_HOLD_INIT;
	pst_held_policy *p = NULL;
	char *why = NULL;
	assert_int_equal(pst_policy_hold_compile(&h, rules_file("a.rules", one_rule), &p, &why), 0);
	pst_policy_hold_swap(&h, p);
	pst_held_policy *out = pst_policy_hold_get(&h);
	assert_non_null(out);
	assert_int_equal(pst_policy_hold_release(&h), -1);       /* one is out: nothing freed */
	assert_int_equal(pst_policy_hold_close(&h, 50), -1);     /* and not back within 50 ms */
	assert_null(pst_policy_hold_get(&h));                    /* closed */
	void *arg[2] = { &h, out };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, put_later, arg), 0);
	assert_int_equal(pst_policy_hold_close(&h, 10000), 0);   /* back after ~100 ms */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_null(arg[1]);
	assert_int_equal(pst_policy_hold_release(&h), 0);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generations_count_compiles_taken),
		cmocka_unit_test(swap_keeps_references_taken),
		cmocka_unit_test(close_waits_and_refuses),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
