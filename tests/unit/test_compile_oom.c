/* Allocation failures in the compiler: the Nth allocation fails, for every
 * N until a compile needs no more; each compile must fail cleanly (or
 * succeed), never crash or leak (run under the sanitizers). malloc and
 * friends are wrapped at link time (ld --wrap), so only the library's own
 * calls are counted; PCRE2's and libidn2's are not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/diag.h"
#include "lang/program.h"
#include "util/buf.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long countdown = -1;   /* fail when it reaches 0; -1: never */
static long calls;

static int fail_now(void)
{
	calls++;
	if (countdown < 0)
		return 0;
	return countdown-- == 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }

static const char policy[] =
    "authserv-id \"mx.example.net\";\n"
    "trusted-authserv-id \"gw.example.net\";\n"
    "list internal = domains { \"example.net\", \"b\xc3\xbc" "cher.example\" };\n"
    "list nets = ips { 192.0.2.0/24, 2001:db8::/32 };\n"
    "list words = strings { \"b\", \"a\" };\n"
    "rule a { when dmarc == fail and not (client.ip in nets or from.domain in internal)\n"
    "  then reject 550 5.7.1 \"no ${from.domain}\"; }\n"
    "tenant \"agency.example\" mode audit {\n"
    "  rule b { when header \"X-C\" matches /^(A|B)$/i or subject in words\n"
    "    then add header \"X-D\" \"v ${client.ip}\", remove header \"X-E\" matching /x/; }\n"
    "}\n"
    "rule c { when count(header \"Received\") > 3 then tempfail \"later\", log \"x\"; }\n"
    "rule d { when client.hel == \"x\" then accept; }\n";   /* one error, for the diagnostics */

static void every_allocation_may_fail(void **state)
{
	(void)state;
	/* The text with and without its last rule: an error and a success. */
	size_t lens[2] = { sizeof policy - 1, strstr(policy, "rule d") - policy };
	for (int variant = 0; variant < 2; variant++) {
		long n;
		for (n = 0;; n++) {
			calls = 0;
			countdown = -1;
			pst_diags *d = pst_diags_new();
			assert_non_null(d);
			countdown = n;
			pst_program *p = NULL;
			int rc = pst_program_compile_text("oom.rules", policy, lens[variant], NULL, d, &p);
			int hit = countdown < 0;
			pst_buf b = PST_BUF_INIT;
			(void)pst_diags_render(d, &b);
			countdown = -1;
			pst_buf_free(&b);
			if (rc == 0) {
				assert_non_null(p);
				assert_int_equal(pst_program_rule_count(p), 3);
			} else {
				assert_null(p);
			}
			pst_program_free(&p);
			pst_diags_free(&d);
			if (!hit) {
				/* No failure was injected: the compile ran to its end. */
				assert_int_equal(rc, variant == 0 ? -1 : 0);
				break;
			}
		}
		print_message("# variant %d: %ld allocation points\n", variant, n);
		assert_true(n > 20);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_allocation_may_fail),
	};
	return cmocka_run_group_tests_name("compile_oom", tests, NULL, NULL);
}
