/* Unit tests for engine/msg/author.c: one readable author or why not, and
 * every domain a reader could take for the author's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "msg/addr.h"
#include "msg/author.h"
#include "msg/msg.h"
#include "util/arena.h"
#include "util/limits.h"

struct author_case {
	const char *name;
	const char *header;         /* the header section, LF line endings (one case CRLF) */
	const char *error;          /* NULL: a readable author */
	const char *domain;         /* the author's domain when readable */
	const char *domains;        /* every domain, "d1 d2*" (* = shown only) */
	size_t nfields, count;
};

static const struct author_case cases[] = {
	{ "one author", "From: Jane <jane@Example.COM>\n", NULL, "example.com",
	  "example.com", 1, 1 },
	{ "bare addr-spec", "From: jane@example.com\n", NULL, "example.com", "example.com", 1, 1 },
	{ "upper-case name, quoted display name with a comma, CRLF",
	  "FROM: \"Roe, Jane\" <jane@example.net>\r\n", NULL, "example.net", "example.net", 1, 1 },
	{ "obsolete space before the colon", "From : jane@example.com\n", NULL, "example.com",
	  "example.com", 1, 1 },
	{ "display name quoting the same address", "From: \"jane@example.com\" <jane@example.com>\n",
	  NULL, "example.com", "example.com", 1, 1 },
	{ "encoded display name", "From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\n", NULL,
	  "example.org", "example.org", 1, 1 },
	{ "no From", "Subject: x\n", "no From field", NULL, "", 0, 0 },
	{ "two From fields", "From: a@example.org\nFrom: b@example.com\n",
	  "more than one From field", NULL, "example.org example.com", 2, 2 },
	/* a domain shown in the first field and the address of the second is
	 * an address's domain */
	{ "shown first, an address later",
	  "From: \"x@bank.example.com\" <a@example.org>\nFrom: b@bank.example.com\n",
	  "more than one From field", NULL, "example.org bank.example.com", 2, 2 },
	{ "two addresses", "From: spoof@example.org, test@example.com\n",
	  "more than one address in From", NULL, "example.org example.com", 1, 2 },
	{ "empty From", "From:\n", "empty From", NULL, "", 1, 0 },
	{ "empty group", "From: undisclosed:;\n", "no address in From", NULL, "", 1, 0 },
	{ "group with one mailbox", "From: g: a@example.com;\n", "group syntax in From", NULL,
	  "example.com", 1, 1 },
	{ "unparsable", "From: <http://bank.example.com/>\n", "unparsable From", NULL, "", 1, 1 },
	{ "empty angle-addr", "From: <>\n", "unparsable From", NULL, "", 1, 1 },
	{ "display name without an address", "From: Jane Roe\n", "unparsable From", NULL, "", 1, 1 },
	{ "unterminated angle-addr read as the client reads it", "From: <a@example.com\n", NULL,
	  "example.com", "example.com", 1, 1 },
	{ "no domain", "From: jane\n", "From address without a domain", NULL, "", 1, 1 },
	{ "encoded-word for the address",
	  "From: =?utf-8?B?c2VjdXJpdHlAYmFuay5leGFtcGxlLmNvbQ==?=\n",
	  "From address without a domain", NULL, "bank.example.com*", 1, 1 },
	{ "encoded-word in the local part",
	  "From: =?utf-8?q?admin=40bank=2Eexample=2Ecom?=@attacker.example.net\n",
	  "encoded-word in the From address", NULL, "attacker.example.net bank.example.com*", 1, 1 },
	{ "quoted local part holding an address",
	  "From: \"admin@bank.example.com\"@attacker.example.net\n",
	  "'@' in the local part of the From address", NULL,
	  "attacker.example.net bank.example.com*", 1, 1 },
	{ "route", "From: <@attacker.example.net,@x.example.net:admin@bank.example.com>\n",
	  "route in the From address", NULL,
	  "bank.example.com attacker.example.net* x.example.net*", 1, 1 },
	/* IDNA (UTS 46) maps U+200B to nothing: the domain is the one shown. */
	{ "zero-width space after the domain", "From: admin@bank.example.com\xe2\x80\x8b\n",
	  NULL, "bank.example.com", "bank.example.com", 1, 1 },
	/* U+202E is not allowed in a domain: the domain shown is still read. */
	{ "right-to-left override after the domain", "From: admin@bank.example.com\xe2\x80\xae\n",
	  "invalid From domain", NULL, "bank.example.com*", 1, 1 },
	{ "full-width at sign", "From: \"admin\xef\xbc\xa0" "bank.example.com\" <x@attacker.example.net>\n",
	  NULL, "attacker.example.net", "attacker.example.net bank.example.com*", 1, 1 },
	{ "homoglyph: a Cyrillic a in the domain", "From: admin@b\xd0\xb0nk.example.com\n",
	  "mixed scripts in the From domain", NULL, "xn--bnk-6cd.example.com", 1, 1 },
	{ "display name holding another address",
	  "From: \"security@bank.example.com\" <spoof@attacker.example.net>\n", NULL,
	  "attacker.example.net", "attacker.example.net bank.example.com*", 1, 1 },
	{ "comment holding another address",
	  "From: <spoof@attacker.example.net> (admin@bank.example.com)\n", NULL,
	  "attacker.example.net", "attacker.example.net bank.example.com*", 1, 1 },
	{ "NUL in From", "From: a@bank.example.com\0@attacker.example.net\n", "NUL byte in From",
	  NULL, "bank.example.com attacker.example.net*", 1, 1 },
};

/* "d1 d2*" for out's domains. */
static void domains_text(const pst_author *a, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < a->ndomains && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s%s", i ? " " : "", a->domains[i].domain,
		                      a->domains[i].shown ? "*" : "");
}

static void reads_authors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct author_case *c = &cases[i];
		char msg[512], got[512];
		/* The NUL case holds a NUL: measure up to the final LF. */
		size_t hlen = strlen(c->header);
		if (strcmp(c->name, "NUL in From") == 0)
			hlen += 1 + strlen(c->header + hlen + 1);
		assert_true(hlen + 7 <= sizeof msg);
		memcpy(msg, c->header, hlen);
		memcpy(msg + hlen, "\nbody\n", 7);
		pst_msg *m = NULL;
		pst_arena *arena = pst_arena_new();
		assert_non_null(arena);
		assert_int_equal(pst_msg_parse(msg, hlen + 6, NULL, &m, NULL), 0);
		pst_author a;
		assert_int_equal(pst_msg_author(m, arena, &a), 0);
		if ((a.error == NULL) != (c->error == NULL) ||
		    (a.error && strcmp(a.error, c->error) != 0))
			fail_msg("%s: got error '%s', want '%s'", c->name, a.error ? a.error : "(none)",
			         c->error ? c->error : "(none)");
		if ((a.domain == NULL) != (c->domain == NULL) ||
		    (a.domain && strcmp(a.domain, c->domain) != 0))
			fail_msg("%s: got domain '%s', want '%s'", c->name, a.domain ? a.domain : "(none)",
			         c->domain ? c->domain : "(none)");
		assert_true((a.addr != NULL) == (c->error == NULL));
		domains_text(&a, got, sizeof got);
		if (strcmp(got, c->domains) != 0)
			fail_msg("%s: got domains '%s', want '%s'", c->name, got, c->domains);
		if (a.nfields != c->nfields || a.count != c->count)
			fail_msg("%s: got %zu fields, %zu addresses; want %zu, %zu", c->name, a.nfields,
			         a.count, c->nfields, c->count);
		pst_msg_free(&m);
		pst_arena_free(&arena);
	}
}

/* A From showing more domains than PST_MAX_AUTHOR_DOMAINS is an error: a
 * domain left out could be the one a client shows. */
static void too_many_domains_is_an_error(void **state)
{
	(void)state;
	char msg[2048];
	size_t o = (size_t)snprintf(msg, sizeof msg, "From: \"");
	for (int i = 0; i <= PST_MAX_AUTHOR_DOMAINS; i++)
		o += (size_t)snprintf(msg + o, sizeof msg - o, "x@d%d.example.com ", i);
	o += (size_t)snprintf(msg + o, sizeof msg - o, "\" <a@example.org>\n\nbody\n");
	pst_msg *m = NULL;
	pst_arena *arena = pst_arena_new();
	assert_int_equal(pst_msg_parse(msg, o, NULL, &m, NULL), 0);
	pst_author a;
	assert_int_equal(pst_msg_author(m, arena, &a), 0);
	assert_string_equal(a.error ? a.error : "(none)", "too many addresses shown in From");
	assert_int_equal(a.ndomains, PST_MAX_AUTHOR_DOMAINS);
	assert_string_equal(a.domains[0].domain, "example.org");
	assert_null(a.domain);
	pst_msg_free(&m);
	pst_arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_authors),
		cmocka_unit_test(too_many_domains_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
