/* Unit tests for engine/util/domain: normalisation, address domains, sets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/domain.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A label of n 'a's followed by rest. */
static char *repeat(char c, size_t n, const char *rest)
{
	size_t r = strlen(rest);
	char *s = malloc(n + r + 1);

	assert_non_null(s);
	memset(s, c, n);
	memcpy(s + n, rest, r + 1);
	return s;
}

static void check_normalize(const char *in, size_t n, const char *want, const char *want_why,
			    int why_is_prefix)
{
	const char *why = "unset";
	char *got = pst_domain_normalize(in, n, &why);

	if (want != NULL) {
		if (got == NULL)
			fail_msg("%s: got error %s, want %s", in, why, want);
		if (strcmp(got, want) != 0)
			fail_msg("%s: got %s, want %s", in, got, want);
		free(got);
		return;
	}
	if (got != NULL)
		fail_msg("%s: got %s, want error %s", in, got, want_why);
	if (why == NULL ||
	    (why_is_prefix ? strncmp(why, want_why, strlen(want_why)) : strcmp(why, want_why)) != 0)
		fail_msg("%s: got why %s, want %s%s", in, why ? why : "(null)", want_why,
			 why_is_prefix ? "..." : "");
}

static void normalize_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;  /* NULL: must fail with why */
		const char *why;
		int prefix;        /* why is only a prefix (libidn2's text follows) */
	} cases[] = {
		{ "example.com", "example.com", NULL, 0 },
		{ "Example.COM", "example.com", NULL, 0 },
		{ "example.com.", "example.com", NULL, 0 },
		{ "localhost", "localhost", NULL, 0 },
		{ "123.example", "123.example", NULL, 0 },
		{ "a-b.c--d.example", "a-b.c--d.example", NULL, 0 },
		{ "_dmarc.example.com", "_dmarc.example.com", NULL, 0 },
		{ "s1._domainkey.Example.com.", "s1._domainkey.example.com", NULL, 0 },
		{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example", NULL, 0 },
		{ "B\xc3\x9c" "CHER.Example.", "xn--bcher-kva.example", NULL, 0 },
		{ "XN--BCHER-KVA.example", "xn--bcher-kva.example", NULL, 0 },
		{ "_dmarc.b\xc3\xbc" "cher.example", "_dmarc.xn--bcher-kva.example", NULL, 0 },
		{ "fa\xc3\x9f.de", "xn--fa-hia.de", NULL, 0 },  /* faß: non-transitional */
		{ "a.\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x90\xef\xbd\x8c\xef\xbd\x85",
		  "a.example", NULL, 0 },                        /* full-width letters */
		{ "b\xc3\xbc" "cher\xe3\x80\x82" "example", "xn--bcher-kva.example", NULL, 0 },
		{ "", NULL, "empty domain name", 0 },
		{ ".", NULL, "empty domain name", 0 },
		{ "..", NULL, "empty label", 0 },
		{ "example..com", NULL, "empty label", 0 },
		{ ".example.com", NULL, "empty label", 0 },
		{ "example.com..", NULL, "empty label", 0 },
		{ "exa mple.com", NULL, "domain name contains white space", 0 },
		{ "example.com ", NULL, "domain name contains white space", 0 },
		{ "exa\tmple.com", NULL, "domain name contains white space", 0 },
		{ "user@example.com", NULL, "domain name contains '@'", 0 },
		{ "[192.0.2.1]", NULL, "an address literal is not a domain name", 0 },
		{ "[IPv6:2001:db8::1]", NULL, "an address literal is not a domain name", 0 },
		{ "-example.com", NULL, "label starts or ends with a hyphen", 0 },
		{ "example-.com", NULL, "label starts or ends with a hyphen", 0 },
		{ "exa!mple.com", NULL, "character '!' is not allowed in a domain name", 0 },
		{ "exa\x01mple.com", NULL, "byte 0x01 is not allowed in a domain name", 0 },
		{ "b\xc3\xbc" "cher .example", NULL, "domain name contains white space", 0 },
		{ "b\xc3\xbc" "cher..example", NULL, "empty label", 0 },
		{ "xn--abc.example", NULL, "not a valid international domain name: ", 1 },
		{ "\xff.com", NULL, "not a valid international domain name: ", 1 },
		{ "a-.b\xc3\xbc" "cher.example", NULL, "not a valid international domain name: ", 1 },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++)
		check_normalize(cases[i].in, strlen(cases[i].in), cases[i].want, cases[i].why,
				cases[i].prefix);
}

static void normalize_limits_and_lengths(void **state)
{
	(void)state;
	char *l63 = repeat('a', 63, ".example");
	char *l64 = repeat('a', 64, ".example");
	char name[300], want[300];

	check_normalize(l63, strlen(l63), l63, NULL, 0);
	check_normalize(l64, strlen(l64), NULL, "label longer than 63 octets", 0);
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets: the longest name. */
	snprintf(name, sizeof name, "%.63s.%.63s.%.63s.%.61s", l63, l63, l63, l63);
	assert_int_equal(strlen(name), 253);
	check_normalize(name, strlen(name), name, NULL, 0);
	snprintf(want, sizeof want, "%s", name);
	strcat(name, ".");   /* the trailing dot does not count */
	check_normalize(name, strlen(name), want, NULL, 0);
	snprintf(name, sizeof name, "%.63s.%.63s.%.63s.%.62s", l63, l63, l63, l63);
	check_normalize(name, strlen(name), NULL, "domain name longer than 253 octets", 0);
	/* 250 octets of input whose A-label form is 255 octets. */
	snprintf(name, sizeof name, "%.63s.%.63s.%.63s.%.55s.\xc3\xbc", l63, l63, l63, l63);
	assert_int_equal(strlen(name), 250);
	check_normalize(name, strlen(name), NULL, "domain name longer than 253 octets", 0);
	free(l63);
	free(l64);
}

static void normalize_nul_and_bounds(void **state)
{
	(void)state;
	check_normalize("exa\0mple.com", 12, NULL, "domain name contains a NUL byte", 0);
	check_normalize("example.com.extra", 11, "example.com", NULL, 0);
	check_normalize("example.com", 0, NULL, "empty domain name", 0);
	char *huge = repeat('a', 5000, "");
	check_normalize(huge, 5000, NULL, "domain name longer than 253 octets", 0);
	free(huge);
	/* why may be NULL. */
	char *ok = pst_domain_normalize("EXAMPLE.org", 11, NULL);
	assert_string_equal(ok, "example.org");
	free(ok);
	assert_null(pst_domain_normalize("a..b", 4, NULL));
}

static void domain_of_address_table(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "user@Example.COM", "example.com" },
		{ "user@example.com.", "example.com" },
		{ "\"a@b\"@example.org", "example.org" },
		{ "user@b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
		{ "user@[192.0.2.1]", NULL },
		{ "user", NULL },
		{ "user@", NULL },
		{ "@example.net", "example.net" },
		{ "user@exa mple.com", NULL },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *got = pst_domain_of_address(cases[i].in, strlen(cases[i].in));
		if (cases[i].want == NULL) {
			if (got != NULL)
				fail_msg("%s: got %s, want NULL", cases[i].in, got);
			continue;
		}
		if (got == NULL || strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].in, got ? got : "NULL",
				 cases[i].want);
		free(got);
	}
}

static void is_under_table(void **state)
{
	(void)state;
	static const struct {
		const char *name, *parent;
		int want;
	} cases[] = {
		{ "example.org", "example.org", 1 },
		{ "a.example.org", "example.org", 1 },
		{ "a.b.example.org", "example.org", 1 },
		{ "badexample.org", "example.org", 0 },
		{ "example.org", "a.example.org", 0 },
		{ "example.org", "org", 1 },
		{ "example.org", "rg", 0 },
		{ "example.org.uk", "example.org", 0 },
		{ "a.example.org", "", 0 },
		{ "", "example.org", 0 },
		{ "xexample.org", "example.org", 0 },
		{ ".example.org", "example.org", 1 },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		int got = pst_domain_is_under(cases[i].name, cases[i].parent);
		if (got != cases[i].want)
			fail_msg("%s under %s: got %d, want %d", cases[i].name,
				 cases[i].parent, got, cases[i].want);
	}
}

static void domainset_basics(void **state)
{
	(void)state;
	static const char *const members[] = {
		"example.org", "sub.example.net", "example.org", "xn--bcher-kva.example",
	};
	static const struct {
		const char *q;
		int want, exact;
	} probes[] = {
		{ "example.org", 1, 1 },
		{ "a.example.org", 1, 0 },
		{ "a.b.example.org", 1, 0 },
		{ "org", 0, 0 },
		{ "badexample.org", 0, 0 },
		{ "example.org.evil.test", 0, 0 },
		{ "example.net", 0, 0 },
		{ "sub.example.net", 1, 1 },
		{ "x.sub.example.net", 1, 0 },
		{ "xsub.example.net", 0, 0 },
		{ "shop.xn--bcher-kva.example", 1, 0 },
		{ "", 0, 0 },
	};
	pst_domainset *s = pst_domainset_new();

	assert_non_null(s);
	assert_int_equal(pst_domainset_contains(s, "example.org"), 0);
	for (size_t i = 0; i < N_ELEMS(members); i++)
		assert_int_equal(pst_domainset_add(s, members[i]), 0);
	assert_int_equal(pst_domainset_count(s), 3);
	for (size_t i = 0; i < N_ELEMS(probes); i++) {
		int got = pst_domainset_contains(s, probes[i].q);
		int exact = pst_domainset_contains_exact(s, probes[i].q);
		if (got != probes[i].want || exact != probes[i].exact)
			fail_msg("%s: got contains %d exact %d, want %d %d", probes[i].q, got,
				 exact, probes[i].want, probes[i].exact);
	}
	pst_domainset_free(&s);
	assert_null(s);
	pst_domainset_free(&s);
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A name of 1..4 labels from small alphabets, so names share suffixes. */
static void random_name(char *buf, size_t len)
{
	static const char *const tlds[] = { "org", "com", "example", "test" };
	static const char *const words[] = { "a", "b", "mail", "x1", "_dmarc", "shop", "eu", "bad" };
	int labels = 1 + (int)(rnd() % 4);
	size_t used = (size_t)snprintf(buf, len, "%s", tlds[rnd() % 4]);

	for (int i = 1; i < labels && used < len; i++) {
		char tmp[300];
		snprintf(tmp, sizeof tmp, "%s%u.%s", words[rnd() % 8], (unsigned)(rnd() % 6), buf);
		used = (size_t)snprintf(buf, len, "%s", tmp);
	}
}

static void domainset_random_against_linear_scan(void **state)
{
	(void)state;
	enum { NNAMES = 10000, NPROBES = 3000, NAMELEN = 80 };
	char (*names)[NAMELEN] = calloc(NNAMES, NAMELEN);
	pst_domainset *s = pst_domainset_new();
	size_t hits = 0;

	assert_non_null(names);
	assert_non_null(s);
	for (size_t i = 0; i < NNAMES; i++) {
		random_name(names[i], NAMELEN);
		/* Leave bare TLDs out, or every probe would be a hit. */
		if (strchr(names[i], '.') == NULL)
			snprintf(names[i], NAMELEN, "tld%zu", i);
		assert_int_equal(pst_domainset_add(s, names[i]), 0);
	}
	for (size_t p = 0; p < NPROBES; p++) {
		char q[NAMELEN];
		int want = 0, got, exact = 0;

		random_name(q, sizeof q);
		for (size_t i = 0; i < NNAMES && !want; i++)
			want = pst_domain_is_under(q, names[i]);
		for (size_t i = 0; i < NNAMES && !exact; i++)
			exact = strcmp(q, names[i]) == 0;
		got = pst_domainset_contains(s, q);
		if (got != want)
			fail_msg("%s: got %d, want %d", q, got, want);
		if (pst_domainset_contains_exact(s, q) != exact)
			fail_msg("%s exact: got %d, want %d", q, !exact, exact);
		hits += (size_t)want;
	}
	if (hits < NPROBES / 20 || hits > NPROBES - NPROBES / 20)
		fail_msg("got %zu hits of %d probes, want a mix", hits, NPROBES);
	pst_domainset_free(&s);
	free(names);
}

/* Random text over name characters, a few UTF-8 sequences among them:
 * whatever normalises is valid and normalises to itself. */
static void normalize_random_text_is_idempotent(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"a", "Z", "0", "-", "_", ".", ".", "xn--", "\xc3\xbc", "\xc3\x9f", "\xef\xbd\x85",
		"\xe3\x80\x82", " ", "@", "\xff", "\xcc\x88", "com", "example",
	};
	size_t ok = 0;

	for (int iter = 0; iter < 20000; iter++) {
		char text[128];
		size_t n = 0;
		int parts = 1 + (int)(rnd() % 12);
		const char *why;
		char *norm, *again;

		for (int p = 0; p < parts; p++) {
			const char *piece = pieces[rnd() % N_ELEMS(pieces)];
			memcpy(text + n, piece, strlen(piece));
			n += strlen(piece);
		}
		if ((norm = pst_domain_normalize(text, n, &why)) == NULL) {
			assert_non_null(why);
			continue;
		}
		ok++;
		again = pst_domain_normalize(norm, strlen(norm), &why);
		if (again == NULL || strcmp(again, norm) != 0)
			fail_msg("%.*s -> %s -> %s", (int)n, text, norm, again ? again : why);
		for (const char *c = norm; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '_' || *c == '.'))
				fail_msg("%s has byte 0x%02x", norm, (unsigned char)*c);
		free(norm);
		free(again);
	}
	if (ok == 0)
		fail_msg("no random text normalised; the test exercises nothing");
}

/* Labels mixing scripts whose letters pass for one another. */
static void mixes_scripts_table(void **state)
{
	(void)state;
	static const struct { const char *in; int want; } cases[] = {
		{ "bank.example.com", 0 },
		{ "b\xd0\xb0nk.example.com", 1 },         /* Cyrillic a among Latin */
		{ "xn--bnk-6cd.example.com", 1 },           /* the same as an A-label */
		{ "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.example.com", 0 }, /* all Cyrillic */
		{ "m\xc3\xbcller.example.com", 0 },       /* Latin with a diacritic */
		{ "\xce\xb1pple.example.com", 1 },        /* Greek alpha among Latin */
		{ "\xe6\x97\xa5\xe6\x9c\xac-abc.example.com", 0 }, /* Han and Latin */
		{ "sub.b\xd0\xb0nk.example.com", 1 },     /* any label counts */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *why = NULL;
		char *norm = pst_domain_normalize(cases[i].in, strlen(cases[i].in), &why);
		if (norm == NULL)
			fail_msg("%s: does not normalise: %s", cases[i].in, why);
		int got = pst_domain_mixes_scripts(norm);
		if (got != cases[i].want)
			fail_msg("%s (%s): got %d, want %d", cases[i].in, norm, got, cases[i].want);
		free(norm);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normalize_table),
		cmocka_unit_test(normalize_limits_and_lengths),
		cmocka_unit_test(normalize_nul_and_bounds),
		cmocka_unit_test(domain_of_address_table),
		cmocka_unit_test(is_under_table),
		cmocka_unit_test(mixes_scripts_table),
		cmocka_unit_test(domainset_basics),
		cmocka_unit_test(domainset_random_against_linear_scan),
		cmocka_unit_test(normalize_random_text_is_idempotent),
	};
	return cmocka_run_group_tests_name("domain", tests, NULL, NULL);
}
