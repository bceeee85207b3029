/* Allocation failure in engine/auth/authres: every malloc, calloc and
 * realloc made while parsing, salvaging and formatting is failed in turn (the
 * program is linked with ld --wrap). Each run must either fail with
 * ENOMEM ("out of memory", *out zeroed; the buffer as it was) or give
 * exactly the result of a run without failures; nothing may leak (run it
 * under the sanitizers). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authres.h"
#include "failalloc.h"
#include "util/arena.h"
#include "util/buf.h"


/* A value that needs many arena chunks: 40 results of 20 properties,
 * quoted values, reasons, comments. Caller frees. */
static char *big_value(void)
{
	pst_buf b = PST_BUF_INIT;

	assert_int_equal(pst_buf_puts(&b, "(c) \"mx.example.org\" 1"), 0);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(pst_buf_printf(&b, "; dkim/1=pass (sig %d) reason=\"good %d\"", i, i), 0);
		for (int j = 0; j < 20; j++)
			assert_int_equal(pst_buf_printf(&b, " header.p%d=\"v %d.%d\" header.i=u%d@a.example",
							j, i, j, j), 0);
	}
	return pst_buf_steal(&b, NULL);
}

static void parse_and_format_oom(void **state)
{
	char *value;
	pst_buf want = PST_BUF_INIT;
	long trials = 0;

	(void)state;
	value = big_value();
	assert_non_null(value);
	/* the reference run */
	{
		pst_arena *a = pst_arena_new();
		pst_authres ar;
		char err[100];

		assert_non_null(a);
		assert_int_equal(pst_authres_parse(a, value, strlen(value), &ar, err, sizeof err), 0);
		assert_int_equal(pst_authres_format(&ar, &want), 0);
		pst_arena_free(&a);
	}
	for (long k = 1;; k++) {
		pst_arena *a;
		pst_authres ar;
		pst_buf got = PST_BUF_INIT;
		char err[100];
		int rc;

		/* room for the whole field, so format's failures are its own */
		assert_int_equal(pst_buf_puts(&got, "keep:"), 0);
		assert_int_equal(pst_buf_reserve(&got, want.len + 1), 0);
		pst_failalloc_failed = 0;
		pst_failalloc_countdown = k;
		a = pst_arena_new();
		if (a == NULL) {
			pst_failalloc_countdown = 0;
			pst_buf_free(&got);
			continue;
		}
		errno = 0;
		rc = pst_authres_parse(a, value, strlen(value), &ar, err, sizeof err);
		if (rc != 0) {
			pst_failalloc_countdown = 0;
			if (!pst_failalloc_failed || errno != ENOMEM || strcmp(err, "out of memory") != 0)
				fail_msg("allocation %ld: parse failed with errno %d, \"%s\"", k, errno, err);
			assert_null(ar.authserv_id);
			assert_int_equal(ar.nresults, 0);
			pst_arena_free(&a);
			pst_buf_free(&got);
			trials++;
			continue;
		}
		errno = 0;
		rc = pst_authres_format(&ar, &got);
		pst_failalloc_countdown = 0;
		if (rc != 0) {
			if (!pst_failalloc_failed || errno != ENOMEM)
				fail_msg("allocation %ld: format failed with errno %d", k, errno);
			assert_string_equal(pst_buf_str(&got), "keep:");
		} else if (strcmp(pst_buf_str(&got) + 5, pst_buf_str(&want)) != 0) {
			fail_msg("allocation %ld: format gave a different field", k);
		}
		pst_buf_free(&got);
		pst_arena_free(&a);
		trials++;
		if (!pst_failalloc_failed)
			break;  /* every allocation has been failed once */
	}
	printf("# %ld allocation failures tried\n", trials);
	assert_true(trials > 5);
	pst_buf_free(&want);
	free(value);
}

/* Format alone, its buffer growing from 64 bytes: each failed growth must
 * leave the buffer as it was. */
static void format_oom(void **state)
{
	char *value = big_value();
	pst_arena *a = pst_arena_new();
	pst_authres ar;
	pst_buf want = PST_BUF_INIT;
	char err[100];
	long trials = 0;

	(void)state;
	assert_non_null(value);
	assert_non_null(a);
	assert_int_equal(pst_authres_parse(a, value, strlen(value), &ar, err, sizeof err), 0);
	assert_int_equal(pst_authres_format(&ar, &want), 0);
	for (long k = 1;; k++) {
		pst_buf got = PST_BUF_INIT;
		int rc;

		assert_int_equal(pst_buf_puts(&got, "keep:"), 0);
		pst_failalloc_failed = 0;
		pst_failalloc_countdown = k;
		errno = 0;
		rc = pst_authres_format(&ar, &got);
		pst_failalloc_countdown = 0;
		if (rc != 0) {
			if (!pst_failalloc_failed || errno != ENOMEM)
				fail_msg("allocation %ld: format failed with errno %d", k, errno);
			assert_string_equal(pst_buf_str(&got), "keep:");
		} else if (strcmp(pst_buf_str(&got) + 5, pst_buf_str(&want)) != 0) {
			fail_msg("allocation %ld: format gave a different field", k);
		}
		pst_buf_free(&got);
		trials++;
		if (!pst_failalloc_failed)
			break;
	}
	printf("# %ld allocation failures tried in format\n", trials);
	assert_true(trials > 3);
	pst_buf_free(&want);
	pst_arena_free(&a);
	free(value);
}

/* A value only the salvage reads: 40 results, each with a bare '/' in
 * header.b= and a property without a ptype. Caller frees. */
static char *salvage_value(void)
{
	pst_buf b = PST_BUF_INIT;

	assert_int_equal(pst_buf_puts(&b, "(c) \"gw.example.net\" 1"), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(pst_buf_printf(&b, "; %s=%s (sig %d) header.b=a/b+%d action=none",
						i % 3 ? "dkim" : "spf", i % 2 ? "pass" : "fail", i, i), 0);
	return pst_buf_steal(&b, NULL);
}

/* "id how; method=result; ..." of a salvage. */
static void salvage_dump(const pst_authres *ar, unsigned how, pst_buf *b)
{
	pst_buf_clear(b);
	assert_int_equal(pst_buf_printf(b, "%s %u", ar->authserv_id ? ar->authserv_id : "-", how), 0);
	for (size_t i = 0; i < ar->nresults; i++)
		assert_int_equal(pst_buf_printf(b, "; %s=%s", ar->results[i].method,
						ar->results[i].result ? ar->results[i].result : "?"), 0);
}

static void salvage_oom(void **state)
{
	char *value = salvage_value();
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT;
	long trials = 0;

	(void)state;
	assert_non_null(value);
	{
		pst_arena *a = pst_arena_new();
		pst_authres ar;
		unsigned how;

		assert_non_null(a);
		assert_int_equal(pst_authres_salvage(a, value, strlen(value), &ar, &how), 0);
		assert_int_equal(how, PST_AUTHRES_SALVAGED);
		assert_int_equal(ar.nresults, 40);
		salvage_dump(&ar, how, &want);
		pst_arena_free(&a);
	}
	for (long k = 1;; k++) {
		pst_arena *a;
		pst_authres ar;
		unsigned how;
		int rc;

		pst_failalloc_failed = 0;
		pst_failalloc_countdown = k;
		a = pst_arena_new();
		if (a == NULL) {
			pst_failalloc_countdown = 0;
			continue;
		}
		errno = 0;
		rc = pst_authres_salvage(a, value, strlen(value), &ar, &how);
		pst_failalloc_countdown = 0;
		if (rc != 0) {
			if (!pst_failalloc_failed || errno != ENOMEM)
				fail_msg("allocation %ld: salvage failed with errno %d", k, errno);
			assert_null(ar.authserv_id);
			assert_int_equal(ar.nresults, 0);
			assert_int_equal(how, 0);
		} else {
			salvage_dump(&ar, how, &got);
			if (strcmp(pst_buf_str(&got), pst_buf_str(&want)) != 0)
				fail_msg("allocation %ld: got %s, want %s", k, pst_buf_str(&got),
					 pst_buf_str(&want));
		}
		pst_arena_free(&a);
		trials++;
		if (!pst_failalloc_failed)
			break;
	}
	printf("# %ld allocation failures tried in salvage\n", trials);
	assert_true(trials > 3);
	pst_buf_free(&want);
	pst_buf_free(&got);
	free(value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_and_format_oom),
		cmocka_unit_test(format_oom),
		cmocka_unit_test(salvage_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
