/* Unit tests for engine/envelope.c: the X-Postern-Envelope field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"

static void parses_every_key(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	pst_env env = { 0 };
	char err[200] = "";
	const char *v = " client-ip=192.0.2.1; client-name=mta.example.com;helo=mta.example.com ;"
	                " mail-from=<a@example.net>; rcpt=b@example.org; RCPT=<c@example.org>; ";
	assert_int_equal(pst_env_parse_field(&env, a, v, strlen(v), 0, err, sizeof err), 0);
	assert_string_equal(env.client_ip, "192.0.2.1");
	assert_int_equal(env.ip.family, 4);
	assert_string_equal(env.client_name, "mta.example.com");
	assert_string_equal(env.helo, "mta.example.com");
	assert_string_equal(env.mail_from, "a@example.net");
	assert_int_equal(env.nrcpts, 2);
	assert_string_equal(env.rcpts[0], "b@example.org");
	assert_string_equal(env.rcpts[1], "c@example.org");
	pst_arena_free(&a);
}

static void caller_facts_win(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	pst_env env = { 0 };
	const char *why = NULL;
	char err[200] = "";
	assert_int_equal(pst_env_set_ip(&env, a, "[IPv6:2001:DB8::1]", 18, &why), 0);
	assert_string_equal(env.client_ip, "2001:db8::1");
	assert_int_equal(pst_env_add_rcpt(&env, a, "<x@example.org>", 15), 0);
	const char *v = "client-ip=198.51.100.1; rcpt=y@example.org; mail-from=";
	assert_int_equal(pst_env_parse_field(&env, a, v, strlen(v), 1, err, sizeof err), 0);
	assert_string_equal(env.client_ip, "2001:db8::1");
	assert_int_equal(env.nrcpts, 1);
	assert_string_equal(env.rcpts[0], "x@example.org");
	assert_non_null(env.mail_from);
	assert_string_equal(env.mail_from, "");   /* the null sender */
	pst_arena_free(&a);
}

static void reports_errors(void **state)
{
	(void)state;
	static const struct { const char *in; const char *want; } cases[] = {
		{ "clientip=192.0.2.1", "unknown key 'clientip'; did you mean 'client-ip'?" },
		{ "client-ip=300.1.2.3", "client-ip '300.1.2.3': not an IP address" },
		{ "helo", "'helo' is not key=value" },
		{ "colour=blue", "unknown key 'colour' (known: client-ip, client-name, helo, mail-from, rcpt)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_arena *a = pst_arena_new();
		pst_env env = { 0 };
		char err[200] = "";
		int rc = pst_env_parse_field(&env, a, cases[i].in, strlen(cases[i].in), 0, err, sizeof err);
		if (rc != -1 || strcmp(err, cases[i].want) != 0)
			fail_msg("%s: got rc %d '%s', want -1 '%s'", cases[i].in, rc, err, cases[i].want);
		pst_arena_free(&a);
	}
}

static void many_recipients_grow(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	pst_env env = { 0 };
	char addr[64];
	for (int i = 0; i < 500; i++) {
		int n = snprintf(addr, sizeof addr, "user%d@example.org", i);
		assert_int_equal(pst_env_add_rcpt(&env, a, addr, (size_t)n), 0);
	}
	assert_int_equal(env.nrcpts, 500);
	assert_string_equal(env.rcpts[0], "user0@example.org");
	assert_string_equal(env.rcpts[499], "user499@example.org");
	pst_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_every_key),
		cmocka_unit_test(caller_facts_win),
		cmocka_unit_test(reports_errors),
		cmocka_unit_test(many_recipients_grow),
	};
	return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
