/* Unit tests for engine/msg/addr.c: RFC 5322 address lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/addr.h"
#include "util/limits.h"

struct want {
	const char *display;
	const char *addr_spec;
	unsigned flags;
	const char *group;          /* NULL: not in a group */
};

static const struct {
	const char *in;
	size_t count;
	struct want w[4];
} cases[] = {
	{ "jane@example.net", 1, { { "", "jane@example.net", PST_ADDR_NOANGLE, NULL } } },
	{ "Jane Roe <jane@example.net>", 1, { { "Jane Roe", "jane@example.net", 0, NULL } } },
	{ "\"Jane Roe, Acme Corp\" <jane@example.net>", 1,
	  { { "Jane Roe, Acme Corp", "jane@example.net", 0, NULL } } },
	{ "\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 1,
	  { { "Giant; \"Big\" Box", "sysservices@example.net", 0, NULL } } },
	{ "Joe Q. Public <john.q.public@example.com>", 1,
	  { { "Joe Q. Public", "john.q.public@example.com", 0, NULL } } },
	/* several addresses, empty items */
	{ "Mary Smith <mary@x.test>, jdoe@example.org, , Who? <one@y.test>", 3,
	  { { "Mary Smith", "mary@x.test", 0, NULL }, { "", "jdoe@example.org", PST_ADDR_NOANGLE, NULL },
	    { "Who?", "one@y.test", 0, NULL } } },
	/* groups */
	{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", 3,
	  { { "Ed Jones", "c@a.test", PST_ADDR_GROUP, "A Group" },
	    { "", "joe@where.test", PST_ADDR_GROUP | PST_ADDR_NOANGLE, "A Group" },
	    { "John", "jdoe@one.test", PST_ADDR_GROUP, "A Group" } } },
	{ "Undisclosed recipients:;", 0, { { NULL, NULL, 0, NULL } } },
	{ "g1: a@x.test; b@y.test", 2,
	  { { "", "a@x.test", PST_ADDR_GROUP | PST_ADDR_NOANGLE, "g1" },
	    { "", "b@y.test", PST_ADDR_NOANGLE, NULL } } },
	/* comments, nested, and standing in for a display name */
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 1,
	  { { "Pete", "pete@silly.test", 0, NULL } } },
	{ "jdoe@example.org (John (the) Doe)", 1,
	  { { "John (the) Doe", "jdoe@example.org", PST_ADDR_NOANGLE, NULL } } },
	{ "(((((((((deep))))))))) x@y.test", 1,
	  { { "((((((((deep))))))))", "x@y.test", PST_ADDR_NOANGLE, NULL } } },
	/* quoted local part */
	{ "\"john doe\"@example.org", 1,
	  { { "", "john doe@example.org", PST_ADDR_NOANGLE, NULL } } },
	{ "<\"a.b\"@example.org>", 1, { { "", "a.b@example.org", 0, NULL } } },
	/* obsolete route and obsolete domain */
	{ "Mary Smith <@node.test,@b.test:mary@example.net>", 1,
	  { { "Mary Smith", "mary@example.net", 0, NULL } } },
	{ "jdoe@test  . example", 1, { { "", "jdoe@test.example", PST_ADDR_NOANGLE, NULL } } },
	{ "John Doe <jdoe@machine(comment).  example>", 1,
	  { { "John Doe", "jdoe@machine.example", 0, NULL } } },
	{ "<jdoe@[192.0.2.1]>", 1, { { "", "jdoe@[192.0.2.1]", 0, NULL } } },
	/* encoded display names: Q and B, ISO-8859-1 and UTF-8 */
	{ "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", 1,
	  { { "Keld J\xc3\xb8rn Simonsen", "keld@dkuug.dk", 0, NULL } } },
	{ "=?ISO-8859-1?B?QW5kcuk=?= Pirard <p@vm1.ulg.ac.be>", 1,
	  { { "Andr\xc3\xa9 Pirard", "p@vm1.ulg.ac.be", 0, NULL } } },
	{ "=?UTF-8?B?SsO2cmc=?= <j@example.de>", 1, { { "J\xc3\xb6rg", "j@example.de", 0, NULL } } },
	{ "=?UTF-8?Q?John_Sm=C3=AEth?= <john@example.com>", 1,
	  { { "John Sm\xc3\xaeth", "john@example.com", 0, NULL } } },
	{ "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?= <t@test.com>", 1, { { "ab", "t@test.com", 0, NULL } } },
	{ "\"=?ISO-8859-1?Q?a?= b\" <t@test.com>", 1, { { "a b", "t@test.com", 0, NULL } } },
	/* broken encodings are kept raw */
	{ "=?x-nonsense?Q?abc?= <t@test.com>", 1, { { "=?x-nonsense?Q?abc?=", "t@test.com", 0, NULL } } },
	{ "=?UTF-8?B?/w==?= <t@test.com>", 1, { { "=?UTF-8?B?/w==?=", "t@test.com", 0, NULL } } },
	{ "=? <name@domain.com>", 1, { { "=?", "name@domain.com", 0, NULL } } },
	/* a display name that looks like an address */
	{ "phil@example.com <phil@example.com>", 1,
	  { { "phil@example.com", "phil@example.com", 0, NULL } } },
	/* words after the angle-addr */
	{ "<a@b.com> =?utf-8?q?Doe?=", 1, { { "Doe", "a@b.com", 0, NULL } } },
	/* bad items: parsing goes on at the next comma */
	{ "Jane Roe, x@y.test", 2,
	  { { "", "", PST_ADDR_BAD, NULL }, { "", "x@y.test", PST_ADDR_NOANGLE, NULL } } },
	{ "<>", 1, { { "", "", PST_ADDR_BAD, NULL } } },
	{ "<mailto:a@b.test?subject=x> (List)", 1,
	  { { "List", "mailto:a@b.test?subject=x", PST_ADDR_BAD, NULL } } },
	{ "a@, b@c.test", 2,
	  { { "", "a", PST_ADDR_BAD | PST_ADDR_NOANGLE, NULL },
	    { "", "b@c.test", PST_ADDR_NOANGLE, NULL } } },
	{ "> x, @y, y@z.test", 3,
	  { { "", "", PST_ADDR_BAD, NULL }, { "", "", PST_ADDR_BAD, NULL },
	    { "", "y@z.test", PST_ADDR_NOANGLE, NULL } } },
	{ "postmaster", 1, { { "", "postmaster", PST_ADDR_NOANGLE, NULL } } },
	/* unterminated quote and comment run to the end without crashing */
	{ "\"unterminated <a@b.test>", 1, { { "", "", PST_ADDR_BAD, NULL } } },
	{ "a@b.test (unterminated", 1,
	  { { "unterminated", "a@b.test", PST_ADDR_NOANGLE, NULL } } },
	{ "Jane <jane@example.net", 1, { { "Jane", "jane@example.net", 0, NULL } } },
	{ "", 0, { { NULL, NULL, 0, NULL } } },
};

static void parses_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		pst_arena *a = pst_arena_new();
		pst_addr_list l;
		assert_int_equal(pst_addr_parse_list(a, cases[c].in, strlen(cases[c].in), 0, &l), 0);
		if (l.count != cases[c].count)
			fail_msg("case %zu '%s': got %zu items, want %zu", c, cases[c].in, l.count,
			         cases[c].count);
		for (size_t i = 0; i < l.count; i++) {
			const struct want *w = &cases[c].w[i];
			const pst_addr *g = &l.items[i];
			if (strcmp(g->display, w->display) != 0 || strcmp(g->addr_spec, w->addr_spec) != 0 ||
			    g->flags != w->flags)
				fail_msg("case %zu '%s' item %zu: got '%s' <%s> flags %#x, want '%s' <%s> %#x",
				         c, cases[c].in, i, g->display, g->addr_spec, g->flags, w->display,
				         w->addr_spec, w->flags);
			if ((w->group == NULL) != (g->group == NULL) ||
			    (w->group && strcmp(w->group, g->group) != 0))
				fail_msg("case %zu item %zu: got group '%s', want '%s'", c, i,
				         g->group ? g->group : "(none)", w->group ? w->group : "(none)");
			if (!(g->flags & PST_ADDR_BAD) && strchr(g->addr_spec, '@')) {
				/* local and domain agree with addr_spec */
				assert_int_equal(strlen(g->domain), g->domain_len);
				assert_int_equal(strlen(g->local) + 1 + g->domain_len, strlen(g->addr_spec));
			}
		}
		pst_arena_free(&a);
	}
}

static void display_raw_and_parts(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	pst_addr_list l;
	const char *v = "=?ISO-8859-1?Q?Andr=E9?= <PIRARD@Vm1.Ulg.Ac.Be>";
	assert_int_equal(pst_addr_parse_list(a, v, strlen(v), 0, &l), 0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0].display_raw, "=?ISO-8859-1?Q?Andr=E9?=");
	assert_string_equal(l.items[0].display, "Andr\xc3\xa9");
	assert_string_equal(l.items[0].local, "PIRARD");
	assert_string_equal(l.items[0].domain, "Vm1.Ulg.Ac.Be");   /* as written */
	assert_int_equal(l.items[0].domain_len, 13);
	/* NUL bytes in the value */
	const char nul[] = "a\0b <x@y.test>, c@d.test";
	assert_int_equal(pst_addr_parse_list(a, nul, sizeof nul - 1, 0, &l), 0);
	assert_int_equal(l.count, 2);
	assert_true(l.items[0].flags & PST_ADDR_BAD);
	assert_string_equal(l.items[1].addr_spec, "c@d.test");
	pst_arena_free(&a);
}

static void address_limit(void **state)
{
	(void)state;
	size_t n = PST_MAX_ADDRESSES + 50;
	char *v = malloc(n * 8 + 1);
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		memcpy(v + i * 8, "a@b.cd, ", 8);
	pst_arena *a = pst_arena_new();
	pst_addr_list l;
	assert_int_equal(pst_addr_parse_list(a, v, n * 8, 0, &l), 0);
	assert_int_equal(l.count, PST_MAX_ADDRESSES + 1);
	assert_true(l.items[PST_MAX_ADDRESSES].flags & PST_ADDR_BAD);
	assert_false(l.items[PST_MAX_ADDRESSES - 1].flags & PST_ADDR_BAD);
	pst_arena_free(&a);
	free(v);
}

static void formats(void **state)
{
	(void)state;
	static const struct { const char *display, *addr, *want; } fc[] = {
		{ "", "jane@example.net", "jane@example.net" },
		{ NULL, "jane@example.net", "jane@example.net" },
		{ "Jane Roe", "jane@example.net", "\"Jane Roe\" <jane@example.net>" },
		{ "Roe, \"J\" \\", "j@x.test", "\"Roe, \\\"J\\\" \\\\\" <j@x.test>" },
		{ "J\xc3\xb6rg", "j@example.de", "=?UTF-8?B?SsO2cmc=?= <j@example.de>" },
		/* a local part that is not a dot-atom goes back into quotes */
		{ "Jane", "a b@example.com", "\"Jane\" <\"a b\"@example.com>" },
		{ "", "a b@example.com", "\"a b\"@example.com" },
		{ "", "x@y@example.com", "\"x@y\"@example.com" },
		{ "", "a\"q\\@example.com", "\"a\\\"q\\\\\"@example.com" },
		{ "", ".lead@example.com", "\".lead\"@example.com" },
		{ "", "a..b@example.com", "\"a..b\"@example.com" },
		{ "", "a.b+tag@example.com", "a.b+tag@example.com" },
	};
	pst_arena *a = pst_arena_new();
	for (size_t c = 0; c < sizeof fc / sizeof fc[0]; c++) {
		char *s = pst_addr_format(a, fc[c].display, fc[c].addr);
		assert_non_null(s);
		if (strcmp(s, fc[c].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", c, s, fc[c].want);
		/* what we write parses back to the same mailbox */
		pst_addr_list l;
		assert_int_equal(pst_addr_parse_list(a, s, strlen(s), 0, &l), 0);
		assert_int_equal(l.count, 1);
		assert_string_equal(l.items[0].addr_spec, fc[c].addr);
		assert_string_equal(l.items[0].display, fc[c].display ? fc[c].display : "");
	}
	pst_arena_free(&a);
}

/* Random bytes from an address-ish alphabet never crash (run under ASan). */
static void random_input_never_crashes(void **state)
{
	(void)state;
	static const char alpha[] = "ab.@<>\"\\(),;:[] \t=?Q_\xe9\0";
	unsigned seed = 4242;
	char buf[200];
	for (int round = 0; round < 5000; round++) {
		size_t n = (size_t)(round % 200);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
		}
		pst_arena *a = pst_arena_new();
		pst_addr_list l;
		assert_int_equal(pst_addr_parse_list(a, buf, n, 0, &l), 0);
		for (size_t i = 0; i < l.count; i++) {
			assert_non_null(l.items[i].display);
			assert_non_null(l.items[i].addr_spec);
		}
		pst_arena_free(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_table),
		cmocka_unit_test(display_raw_and_parts),
		cmocka_unit_test(address_limit),
		cmocka_unit_test(formats),
		cmocka_unit_test(random_input_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
