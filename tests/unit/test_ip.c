/* Unit tests for engine/util/ip: address and CIDR parsing, formatting, sets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ip.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static pst_ip ip_or_fail(const char *s)
{
	pst_ip ip;

	if (pst_ip_parse(s, strlen(s), &ip) != 0)
		fail_msg("pst_ip_parse(%s) failed, want success", s);
	return ip;
}

static pst_cidr cidr_or_fail(const char *s)
{
	pst_cidr c;
	const char *why = NULL;

	if (pst_cidr_parse(s, strlen(s), &c, NULL, &why) != 0)
		fail_msg("pst_cidr_parse(%s): got error %s, want success", s, why);
	return c;
}

static void ip_parse_and_format(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int family;       /* 0: must fail */
		const char *want; /* canonical text */
	} cases[] = {
		{ "192.0.2.1", 4, "192.0.2.1" },
		{ "0.0.0.0", 4, "0.0.0.0" },
		{ "255.255.255.255", 4, "255.255.255.255" },
		{ "100.0.10.109", 4, "100.0.10.109" },
		{ "9.99.190.205", 4, "9.99.190.205" },
		{ "01.2.3.4", 0, NULL },
		{ "1.2.3.04", 0, NULL },
		{ "1.2.3", 0, NULL },
		{ "1.2.3.4.5", 0, NULL },
		{ "256.1.1.1", 0, NULL },
		{ "0x1.2.3.4", 0, NULL },
		{ "1.2.3.4 ", 0, NULL },
		{ " 1.2.3.4", 0, NULL },
		{ "1.2.3.4x", 0, NULL },
		{ "1.2.3.4/32", 0, NULL },
		{ "", 0, NULL },
		{ "example.com", 0, NULL },
		{ "::1", 6, "::1" },
		{ "::", 6, "::" },
		{ "2001:DB8::1", 6, "2001:db8::1" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", 6, "2001:db8::1" },
		{ "2001:db8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1" },
		{ "2001:db8:0:1:1:1:1:1", 6, "2001:db8:0:1:1:1:1:1" },
		{ "1:0:0:2:0:0:0:3", 6, "1:0:0:2::3" },
		{ "1:0:0:2:0:0:3:4", 6, "1::2:0:0:3:4" },
		{ "1:2:3:4:5:6:7:0", 6, "1:2:3:4:5:6:7:0" },
		{ "1:2:3:4:5:6:0:0", 6, "1:2:3:4:5:6::" },
		{ "::2:3", 6, "::2:3" },
		{ "::192.0.2.1", 6, "::c000:201" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 6,
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ "::ffff:192.0.2.1", 4, "192.0.2.1" },
		{ "::FFFF:c000:0201", 4, "192.0.2.1" },
		{ "0:0:0:0:0:ffff:10.1.2.3", 4, "10.1.2.3" },
		{ "::fffe:192.0.2.1", 6, "::fffe:c000:201" },
		{ "::ffff:01.2.3.4", 0, NULL },
		{ "fe80::1%eth0", 0, NULL },
		{ "[::1]", 0, NULL },
		{ "IPv6:::1", 0, NULL },
		{ "1::2::3", 0, NULL },
		{ "00001::1", 0, NULL },
		{ "1:2:3:4:5:6:7:8:9", 0, NULL },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		pst_ip ip;
		char text[PST_IP_FORMAT_LEN];
		int rc = pst_ip_parse(cases[i].in, strlen(cases[i].in), &ip);

		if (cases[i].family == 0) {
			if (rc != -1)
				fail_msg("%s: got success, want failure", cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: got failure, want %s", cases[i].in, cases[i].want);
		if (ip.family != cases[i].family)
			fail_msg("%s: got family %d, want %d", cases[i].in, ip.family,
				 cases[i].family);
		pst_ip_format(&ip, text, sizeof text);
		if (strcmp(text, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].in, text, cases[i].want);
		/* The canonical form parses back to the same address. */
		pst_ip again = ip_or_fail(text);
		assert_true(pst_ip_equal(&ip, &again));
	}
}

static void ip_parse_respects_length_and_nul(void **state)
{
	(void)state;
	pst_ip ip;
	char text[PST_IP_FORMAT_LEN];

	assert_int_equal(pst_ip_parse("1.2.3.45", 7, &ip), 0);
	assert_string_equal(pst_ip_format(&ip, text, sizeof text), "1.2.3.4");
	assert_int_equal(pst_ip_parse("1.2\0.3.4", 8, &ip), -1);
	assert_int_equal(pst_ip_parse("1.2.3.4\0", 8, &ip), -1);
	assert_int_equal(pst_ip_parse("::1", 0, &ip), -1);
	/* 46 characters is longer than any address. */
	assert_int_equal(pst_ip_parse("0000:0000:0000:0000:0000:0000:000.000.000.000", 46, &ip), -1);
}

static void ip_format_bounds_and_equality(void **state)
{
	(void)state;
	pst_ip a = ip_or_fail("2001:db8::1"), b = ip_or_fail("2001:db8:0::1");
	pst_ip c = ip_or_fail("192.0.2.1"), d = ip_or_fail("::ffff:192.0.2.1");
	pst_ip none = { 0 };
	char small[5], text[PST_IP_FORMAT_LEN];

	assert_true(pst_ip_equal(&a, &b));
	assert_true(pst_ip_equal(&c, &d));
	assert_false(pst_ip_equal(&a, &c));
	assert_string_equal(pst_ip_format(&a, small, sizeof small), "");
	assert_string_equal(pst_ip_format(&c, small, sizeof small), "");
	assert_string_equal(pst_ip_format(&none, text, sizeof text), "");
	assert_string_equal(pst_ip_format(&c, text, 10), "192.0.2.1");
}

static void cidr_parse_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;  /* NULL: must fail */
		int host_bits;
		const char *why;
	} cases[] = {
		{ "192.0.2.0/24", "192.0.2.0/24", 0, NULL },
		{ "192.0.2.1/24", "192.0.2.0/24", 1, NULL },
		{ "192.0.2.1", "192.0.2.1/32", 0, NULL },
		{ "192.0.2.1/32", "192.0.2.1/32", 0, NULL },
		{ "0.0.0.0/0", "0.0.0.0/0", 0, NULL },
		{ "10.1.2.3/0", "0.0.0.0/0", 1, NULL },
		{ "10.255.0.0/9", "10.128.0.0/9", 1, NULL },
		{ "2001:db8::/32", "2001:db8::/32", 0, NULL },
		{ "2001:db8::1/64", "2001:db8::/64", 1, NULL },
		{ "2001:db8::1", "2001:db8::1/128", 0, NULL },
		{ "2001:db8::1/128", "2001:db8::1/128", 0, NULL },
		{ "::/0", "::/0", 0, NULL },
		{ "::ffff:192.0.2.0/120", "192.0.2.0/24", 0, NULL },
		{ "::ffff:192.0.2.1/120", "192.0.2.0/24", 1, NULL },
		{ "::ffff:0:0/96", "0.0.0.0/0", 0, NULL },
		{ "::ffff:192.0.2.1", "192.0.2.1/32", 0, NULL },
		{ "::ffff:0:0/95", "::fffe:0:0/95", 1, NULL },
		{ "192.0.2.1/33", NULL, 0, "prefix length 33 is over 32 for IPv4" },
		{ "2001:db8::/129", NULL, 0, "prefix length 129 is over 128 for IPv6" },
		{ "::ffff:192.0.2.0/129", NULL, 0, "prefix length 129 is over 128 for IPv6" },
		{ "192.0.2.0/99999999999", NULL, 0, "prefix length is over 32 for IPv4" },
		{ "192.0.2.0/", NULL, 0, "prefix length is not a number" },
		{ "192.0.2.0/x", NULL, 0, "prefix length is not a number" },
		{ "192.0.2.0/+8", NULL, 0, "prefix length is not a number" },
		{ "192.0.2.0/-8", NULL, 0, "prefix length is not a number" },
		{ "192.0.2.0/ 8", NULL, 0, "prefix length is not a number" },
		{ "192.0.2.0/8 ", NULL, 0, "prefix length is not a number" },
		{ "10.0.0.0/8/8", NULL, 0, "prefix length is not a number" },
		{ "192.0.2.0/08", NULL, 0, "prefix length has a leading zero" },
		{ "example.com/24", NULL, 0, "not an IP address" },
		{ "/24", NULL, 0, "not an IP address" },
		{ "", NULL, 0, "not an IP address" },
		{ "192.0.2.0 /24", NULL, 0, "not an IP address" },
		{ "[2001:db8::]/32", NULL, 0, "not an IP address" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		pst_cidr c;
		int hb = -1;
		const char *why = "unset";
		char text[PST_CIDR_FORMAT_LEN];
		int rc = pst_cidr_parse(cases[i].in, strlen(cases[i].in), &c, &hb, &why);

		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("%s: got success, want error %s", cases[i].in, cases[i].why);
			if (why == NULL || strcmp(why, cases[i].why) != 0)
				fail_msg("%s: got why %s, want %s", cases[i].in,
					 why ? why : "(null)", cases[i].why);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: got error %s, want %s", cases[i].in, why, cases[i].want);
		pst_cidr_format(&c, text, sizeof text);
		if (strcmp(text, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].in, text, cases[i].want);
		if (hb != cases[i].host_bits)
			fail_msg("%s: got host_bits %d, want %d", cases[i].in, hb,
				 cases[i].host_bits);
	}
}

static void cidr_contains_table(void **state)
{
	(void)state;
	static const struct {
		const char *block, *ip;
		int want;
	} cases[] = {
		{ "192.0.2.0/24", "192.0.2.0", 1 },
		{ "192.0.2.0/24", "192.0.2.255", 1 },
		{ "192.0.2.0/24", "192.0.3.0", 0 },
		{ "192.0.2.0/23", "192.0.3.7", 1 },
		{ "192.0.2.0/24", "::ffff:192.0.2.9", 1 },
		{ "::ffff:192.0.2.0/120", "192.0.2.9", 1 },
		{ "0.0.0.0/0", "203.0.113.1", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "::/0", "192.0.2.1", 0 },
		{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
		{ "2001:db8::/33", "2001:db8:8000::1", 0 },
		{ "2001:db8::1/128", "2001:db8::1", 1 },
		{ "2001:db8::1/128", "2001:db8::2", 0 },
		{ "192.0.2.1/32", "192.0.2.1", 1 },
		{ "192.0.2.1/32", "192.0.2.2", 0 },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		pst_cidr c = cidr_or_fail(cases[i].block);
		pst_ip ip = ip_or_fail(cases[i].ip);
		int got = pst_cidr_contains(&c, &ip);

		if (got != cases[i].want)
			fail_msg("%s in %s: got %d, want %d", cases[i].ip, cases[i].block,
				 got, cases[i].want);
	}
	pst_cidr c = cidr_or_fail("0.0.0.0/0");
	pst_ip none = { 0 };
	assert_int_equal(pst_cidr_contains(&c, &none), 0);
}

struct set_case {
	const char *blocks[8];
	size_t ranges;          /* disjoint ranges after freeze */
	struct { const char *ip; int want; } probes[10];
};

static void ipset_table(void **state)
{
	(void)state;
	static const struct set_case cases[] = {
		{ { "192.0.2.0/24" }, 1,
		  { { "192.0.2.77", 1 }, { "::ffff:192.0.2.77", 1 }, { "192.0.3.0", 0 },
		    { "192.0.1.255", 0 }, { "::c000:24d", 0 } } },
		{ { "::ffff:198.51.100.0/120" }, 1,
		  { { "198.51.100.5", 1 }, { "::ffff:198.51.100.200", 1 }, { "198.51.101.5", 0 } } },
		{ { "0.0.0.0/0" }, 1,
		  { { "0.0.0.0", 1 }, { "255.255.255.255", 1 }, { "2001:db8::1", 0 } } },
		{ { "::/0" }, 1,
		  { { "::", 1 }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		    { "2001:db8::1", 1 }, { "192.0.2.1", 0 } } },
		{ { "192.0.2.1/32", "2001:db8::1/128" }, 2,
		  { { "192.0.2.1", 1 }, { "192.0.2.0", 0 }, { "192.0.2.2", 0 },
		    { "2001:db8::1", 1 }, { "2001:db8::", 0 }, { "2001:db8::2", 0 } } },
		{ { "10.0.0.0/8", "10.1.0.0/16", "11.0.0.0/8", "192.0.2.128/25",
		    "192.0.2.0/25", "10.200.3.4/32" }, 2,
		  { { "10.0.0.0", 1 }, { "11.255.255.255", 1 }, { "12.0.0.0", 0 },
		    { "9.255.255.255", 0 }, { "192.0.2.127", 1 }, { "192.0.2.128", 1 },
		    { "192.0.3.0", 0 } } },
		{ { "255.255.255.0/24", "255.255.255.255/32", "0.0.0.0/32" }, 2,
		  { { "255.255.255.255", 1 }, { "255.255.254.255", 0 }, { "0.0.0.0", 1 },
		    { "0.0.0.1", 0 } } },
		{ { "ffff:ffff:ffff:ffff::/64", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		    "2001:db8::/64", "2001:db8:0:1::/64", "2001:db8:0:3::/64" }, 3,
		  { { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		    { "ffff:ffff:ffff:fffe:ffff:ffff:ffff:ffff", 0 },
		    { "2001:db8:0:1:ffff:ffff:ffff:ffff", 1 }, { "2001:db8:0:2::", 0 },
		    { "2001:db8:0:3::1", 1 } } },
		{ { NULL }, 0, { { "192.0.2.1", 0 }, { "::1", 0 } } },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		pst_ipset *s = pst_ipset_new();
		size_t nblocks = 0;

		assert_non_null(s);
		for (; nblocks < 8 && cases[i].blocks[nblocks]; nblocks++) {
			pst_cidr c = cidr_or_fail(cases[i].blocks[nblocks]);
			assert_int_equal(pst_ipset_add(s, &c), 0);
		}
		assert_int_equal(pst_ipset_range_count(s), 0);
		assert_int_equal(pst_ipset_freeze(s), 0);
		assert_int_equal(pst_ipset_freeze(s), 0);
		if (pst_ipset_count(s) != nblocks)
			fail_msg("case %zu: got count %zu, want %zu", i, pst_ipset_count(s), nblocks);
		if (pst_ipset_range_count(s) != cases[i].ranges)
			fail_msg("case %zu: got %zu ranges, want %zu", i,
				 pst_ipset_range_count(s), cases[i].ranges);
		for (size_t p = 0; p < 10 && cases[i].probes[p].ip; p++) {
			pst_ip ip = ip_or_fail(cases[i].probes[p].ip);
			int got = pst_ipset_contains(s, &ip);
			if (got != cases[i].probes[p].want)
				fail_msg("case %zu, %s: got %d, want %d", i,
					 cases[i].probes[p].ip, got, cases[i].probes[p].want);
		}
		pst_ip none = { 0 };
		assert_int_equal(pst_ipset_contains(s, &none), 0);
		pst_ipset_free(&s);
		assert_null(s);
	}
}

static void ipset_rejects_bad_adds(void **state)
{
	(void)state;
	pst_ipset *s = pst_ipset_new();
	pst_cidr c = cidr_or_fail("192.0.2.0/24");
	pst_cidr bad = c;

	assert_non_null(s);
	bad.prefix = 33;
	assert_int_equal(pst_ipset_add(s, &bad), -1);
	bad.addr.family = 0;
	bad.prefix = 8;
	assert_int_equal(pst_ipset_add(s, &bad), -1);
	assert_int_equal(pst_ipset_add(s, &c), 0);
	assert_int_equal(pst_ipset_freeze(s), 0);
	assert_int_equal(pst_ipset_add(s, &c), -1);
	assert_int_equal(pst_ipset_count(s), 1);
	pst_ipset_free(&s);
	pst_ipset_free(&s);
}

/* xorshift64*: deterministic, so a failure can be reproduced. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A random address in a small space (so blocks overlap and probes hit):
 * v4 inside 10.0.0.0/14 or anywhere; v6 inside 2001:db8::/110 or anywhere. */
static pst_ip random_ip(int family, int force_wide)
{
	pst_ip ip;
	uint64_t r = rnd(), wide = force_wide || rnd() % 16 == 0;

	memset(&ip, 0, sizeof ip);
	ip.family = (uint8_t)family;
	if (family == 4) {
		uint32_t v = wide ? (uint32_t)r : (0x0a000000u | (uint32_t)(r & 0x3ffff));
		ip.bytes[0] = (uint8_t)(v >> 24);
		ip.bytes[1] = (uint8_t)(v >> 16);
		ip.bytes[2] = (uint8_t)(v >> 8);
		ip.bytes[3] = (uint8_t)v;
	} else {
		static const uint8_t base[16] = { 0x20, 0x01, 0x0d, 0xb8 };
		memcpy(ip.bytes, base, 16);
		if (wide) {
			for (int i = 0; i < 16; i++)
				ip.bytes[i] = (uint8_t)(rnd() >> 56);
		} else {
			ip.bytes[13] = (uint8_t)((r >> 16) & 0x03);
			ip.bytes[14] = (uint8_t)(r >> 8);
			ip.bytes[15] = (uint8_t)r;
		}
	}
	return ip;
}

static void ipset_random_against_linear_scan(void **state)
{
	(void)state;
	enum { NBLOCKS = 10000, NPROBES = 3000 };
	pst_cidr *blocks = calloc(NBLOCKS, sizeof *blocks);
	pst_ipset *s = pst_ipset_new();
	size_t hits = 0;

	assert_non_null(blocks);
	assert_non_null(s);
	for (size_t i = 0; i < NBLOCKS; i++) {
		int family = rnd() % 2 ? 4 : 6;
		unsigned max = family == 4 ? 32 : 128;
		/* Mostly small blocks (up to 256 addresses) in the small space,
		 * about one in 500 a short prefix over the whole space. */
		unsigned prefix = max - (unsigned)(rnd() % 9);
		char text[PST_CIDR_FORMAT_LEN];
		pst_cidr c;
		int hb;
		const char *why;

		int wide = rnd() % 500 == 0;

		if (wide)
			prefix = 8 + (unsigned)(rnd() % (max / 2));
		blocks[i].addr = random_ip(family, wide);
		blocks[i].prefix = (uint8_t)prefix;
		/* Go through the parser so host bits are cleared the public way. */
		pst_ip_format(&blocks[i].addr, text, sizeof text);
		snprintf(text + strlen(text), sizeof text - strlen(text), "/%u", prefix);
		if (pst_cidr_parse(text, strlen(text), &c, &hb, &why) != 0)
			fail_msg("%s: got error %s", text, why);
		blocks[i] = c;
		assert_int_equal(pst_ipset_add(s, &c), 0);
	}
	assert_int_equal(pst_ipset_freeze(s), 0);
	assert_int_equal(pst_ipset_count(s), NBLOCKS);
	assert_true(pst_ipset_range_count(s) < NBLOCKS);
	for (size_t p = 0; p < NPROBES; p++) {
		pst_ip ip = random_ip(rnd() % 2 ? 4 : 6, 0);
		int want = 0, got = pst_ipset_contains(s, &ip);

		for (size_t i = 0; i < NBLOCKS && !want; i++)
			want = pst_cidr_contains(&blocks[i], &ip);
		if (got != want) {
			char text[PST_IP_FORMAT_LEN];
			fail_msg("probe %zu %s: got %d, want %d", p,
				 pst_ip_format(&ip, text, sizeof text), got, want);
		}
		hits += (size_t)want;
	}
	/* The probe space is small enough that both answers occur often. */
	if (hits < NPROBES / 20 || hits > NPROBES - NPROBES / 20)
		fail_msg("got %zu hits of %d probes, want a mix", hits, NPROBES);
	pst_ipset_free(&s);
	free(blocks);
}

/* Random text built from pieces of addresses: whatever parses formats to
 * text that parses back to the same address. */
static void ip_parse_random_text_round_trips(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"0", "1", "9", "00", "01", "255", "256", "ffff", "FFFF", "abc", "12345",
		":", ":", "::", ".", ".", ".", "/", " ", "\0",
	};
	size_t parsed[7] = { 0 };

	for (int iter = 0; iter < 200000; iter++) {
		char text[128], out[PST_IP_FORMAT_LEN];
		size_t n = 0;
		int parts = 1 + (int)(rnd() % 16);
		pst_ip ip, again;

		/* Every other try is shaped like a dotted quad (numbers at even
		 * places, mostly dots between), or random runs never make one. */
		int quad = iter % 2;

		if (quad)
			parts = 7 + (int)(rnd() % 2);
		for (int p = 0; p < parts; p++) {
			const char *piece = pieces[rnd() % N_ELEMS(pieces)];
			if (quad && p % 2 == 1 && rnd() % 8 != 0)
				piece = ".";
			else if (quad && p % 2 == 0)
				piece = pieces[rnd() % 7];
			size_t len = piece[0] ? strlen(piece) : 1;
			memcpy(text + n, piece, len);
			n += len;
		}
		if (pst_ip_parse(text, n, &ip) != 0)
			continue;
		assert_true(ip.family == 4 || ip.family == 6);
		parsed[ip.family]++;
		pst_ip_format(&ip, out, sizeof out);
		if (pst_ip_parse(out, strlen(out), &again) != 0 || !pst_ip_equal(&ip, &again))
			fail_msg("%.*s formats as %s, which does not parse back", (int)n, text, out);
	}
	if (parsed[4] < 100 || parsed[6] < 100)
		fail_msg("got %zu IPv4 and %zu IPv6 parsed, want at least 100 each",
			 parsed[4], parsed[6]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ip_parse_and_format),
		cmocka_unit_test(ip_parse_respects_length_and_nul),
		cmocka_unit_test(ip_format_bounds_and_equality),
		cmocka_unit_test(cidr_parse_table),
		cmocka_unit_test(cidr_contains_table),
		cmocka_unit_test(ipset_table),
		cmocka_unit_test(ipset_rejects_bad_adds),
		cmocka_unit_test(ipset_random_against_linear_scan),
		cmocka_unit_test(ip_parse_random_text_round_trips),
	};
	return cmocka_run_group_tests_name("ip", tests, NULL, NULL);
}
