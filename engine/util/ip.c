/*
 * ip.c: IP addresses, CIDR blocks and frozen IP sets.
 *
 * Contract (see ip.h): addresses are parsed strictly with inet_pton on a
 * bounded, NUL-terminated copy (no white space, no trailing text, no
 * embedded NUL, no leading zeros in dotted quads), and the IPv4-mapped IPv6
 * form ::ffff:a.b.c.d is folded to IPv4 so one client has one address.
 * Formatting follows RFC 5952 and is done here rather than by inet_ntop,
 * whose glibc version prints some IPv6 addresses (::2:3) as dotted quads.
 *
 * A pst_ipset collects blocks; pst_ipset_freeze turns them into two sorted
 * arrays of disjoint, non-adjacent [lo, hi] ranges (one per family), and a
 * lookup is one binary search. After freeze nothing is written, so a frozen
 * set can be read by any number of threads.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ip.h"

/* Longest address text: ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 */
#define IP_TEXT_MAX 45

static const uint8_t v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Parse without folding: family 4 or 6 exactly as written. */
static int parse_raw(const char *s, size_t n, pst_ip *out)
{
	char text[IP_TEXT_MAX + 1];

	if (n == 0 || n > IP_TEXT_MAX || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	memset(out, 0, sizeof *out);
	if (memchr(text, ':', n) != NULL) {
		if (inet_pton(AF_INET6, text, out->bytes) != 1)
			return -1;
		out->family = 6;
	} else {
		if (inet_pton(AF_INET, text, out->bytes) != 1)
			return -1;
		out->family = 4;
	}
	return 0;
}

static int is_v4_mapped(const pst_ip *ip)
{
	return ip->family == 6 &&
	       memcmp(ip->bytes, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0;
}

/* Turn ::ffff:a.b.c.d into a.b.c.d (other addresses are left alone). */
static void fold_v4_mapped(pst_ip *ip)
{
	uint8_t v4[4];

	if (!is_v4_mapped(ip))
		return;
	memcpy(v4, ip->bytes + 12, 4);
	memset(ip->bytes, 0, sizeof ip->bytes);
	memcpy(ip->bytes, v4, 4);
	ip->family = 4;
}

int pst_ip_parse(const char *s, size_t n, pst_ip *out)
{
	pst_ip ip;

	if (parse_raw(s, n, &ip) != 0)
		return -1;
	fold_v4_mapped(&ip);
	*out = ip;
	return 0;
}

static int format_v6(const uint8_t *b, char *buf, size_t len)
{
	unsigned words[8];
	int best = -1, best_len = 0, run = -1, run_len = 0;
	size_t used = 0;
	int w;

	for (int i = 0; i < 8; i++)
		words[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
	/* RFC 5952 4.2: the longest run of two or more zero groups, the first
	 * one when runs tie. */
	for (int i = 0; i < 8; i++) {
		if (words[i] != 0) {
			run = -1;
			continue;
		}
		if (run < 0) {
			run = i;
			run_len = 0;
		}
		if (++run_len > best_len) {
			best = run;
			best_len = run_len;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			w = snprintf(buf + used, len - used, "::");
			i += best_len - 1;
		} else if (i == 6 && best == 0 && best_len == 5 && words[5] == 0xffff) {
			/* RFC 5952 5: mixed notation for IPv4-mapped addresses. */
			w = snprintf(buf + used, len - used, ":%u.%u.%u.%u",
				     b[12], b[13], b[14], b[15]);
			i = 7;
		} else {
			int need_colon = used > 0 && buf[used - 1] != ':';
			w = snprintf(buf + used, len - used, "%s%x",
				     need_colon ? ":" : "", words[i]);
		}
		if (w < 0 || (size_t)w >= len - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

/* Dotted quad into buf (at least 16 bytes): no printf on a per-message path. */
static void format_v4(const unsigned char *b, char *buf)
{
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

char *pst_ip_format(const pst_ip *ip, char *buf, size_t len)
{
	int rc = -1;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ip->family == 4) {
		char quad[16];
		format_v4(ip->bytes, quad);
		size_t w = strlen(quad);
		rc = w >= len ? -1 : 0;
		if (rc == 0)
			memcpy(buf, quad, w + 1);
	} else if (ip->family == 6) {
		rc = format_v6(ip->bytes, buf, len);
	}
	if (rc != 0)
		buf[0] = '\0';
	return buf;
}

char *pst_cidr_format(const pst_cidr *c, char *buf, size_t len)
{
	char addr[PST_IP_FORMAT_LEN];
	int w;

	if (len == 0)
		return buf;
	pst_ip_format(&c->addr, addr, sizeof addr);
	w = snprintf(buf, len, "%s/%u", addr, c->prefix);
	if (w < 0 || (size_t)w >= len || addr[0] == '\0')
		buf[0] = '\0';
	return buf;
}

int pst_ip_equal(const pst_ip *a, const pst_ip *b)
{
	size_t n = a->family == 4 ? 4 : 16;

	return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

static unsigned family_bits(const pst_ip *ip)
{
	return ip->family == 4 ? 32 : 128;
}

/* Clear the bits after prefix; 1 if any were set. */
static int clear_host_bits(pst_ip *ip, unsigned prefix)
{
	int had = 0;

	for (unsigned i = 0; i < 16; i++) {
		unsigned first_bit = i * 8;
		uint8_t keep;

		if (first_bit + 8 <= prefix)
			continue;
		keep = first_bit >= prefix ? 0 : (uint8_t)(0xff << (8 - (prefix - first_bit)));
		if (ip->bytes[i] & ~keep)
			had = 1;
		ip->bytes[i] &= keep;
	}
	return had;
}

static _Thread_local char why_text[96];

/* Parse the decimal prefix length; -1 with *why on error. */
static int parse_prefix(const char *p, size_t n, unsigned max, int family,
			unsigned *out, const char **why)
{
	unsigned long v = 0;

	if (n == 0) {
		*why = "prefix length is not a number";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') {
			*why = "prefix length is not a number";
			return -1;
		}
	}
	if (n > 1 && p[0] == '0') {
		*why = "prefix length has a leading zero";
		return -1;
	}
	if (n > 9) {
		*why = family == 4 ? "prefix length is over 32 for IPv4"
				   : "prefix length is over 128 for IPv6";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(p[i] - '0');
	if (v > max) {
		snprintf(why_text, sizeof why_text,
			 "prefix length %lu is over %u for IPv%d", v, max, family);
		*why = why_text;
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int pst_cidr_parse(const char *s, size_t n, pst_cidr *out, int *host_bits, const char **why)
{
	const char *slash = memchr(s, '/', n);
	size_t addr_len = slash ? (size_t)(slash - s) : n;
	const char *dummy_why;
	pst_cidr c;
	unsigned prefix;
	int had;

	if (why == NULL)
		why = &dummy_why;
	*why = NULL;
	memset(&c, 0, sizeof c);
	if (parse_raw(s, addr_len, &c.addr) != 0) {
		*why = "not an IP address";
		return -1;
	}
	prefix = family_bits(&c.addr);
	if (slash != NULL &&
	    parse_prefix(slash + 1, n - addr_len - 1, prefix, c.addr.family,
			 &prefix, why) != 0)
		return -1;
	if (is_v4_mapped(&c.addr) && prefix >= 96) {
		fold_v4_mapped(&c.addr);
		prefix -= 96;
	}
	had = clear_host_bits(&c.addr, prefix);
	c.prefix = (uint8_t)prefix;
	*out = c;
	if (host_bits != NULL)
		*host_bits = had;
	return 0;
}

int pst_cidr_contains(const pst_cidr *c, const pst_ip *ip)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (ip->family == 0 || c->addr.family != ip->family)
		return 0;
	if (memcmp(c->addr.bytes, ip->bytes, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr.bytes[full] & mask) == (ip->bytes[full] & mask);
}

/* ---- sets ---------------------------------------------------------- */

typedef struct u128 {
	uint64_t hi, lo;
} u128;

typedef struct range4 {
	uint32_t lo, hi;
} range4;

typedef struct range6 {
	u128 lo, hi;
} range6;

struct pst_ipset {
	pst_cidr *blocks;  /* until freeze */
	size_t nblocks, cap;
	size_t added;      /* blocks ever added */
	int frozen;
	range4 *r4;
	size_t n4;
	range6 *r6;
	size_t n6;
};

pst_ipset *pst_ipset_new(void)
{
	return calloc(1, sizeof(pst_ipset));
}

void pst_ipset_free(pst_ipset **s)
{
	if (s == NULL || *s == NULL)
		return;
	free((*s)->blocks);
	free((*s)->r4);
	free((*s)->r6);
	free(*s);
	*s = NULL;
}

int pst_ipset_add(pst_ipset *s, const pst_cidr *c)
{
	if (s->frozen || (c->addr.family != 4 && c->addr.family != 6) ||
	    c->prefix > family_bits(&c->addr))
		return -1;
	if (s->nblocks == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		pst_cidr *nb;

		if (cap > SIZE_MAX / sizeof *nb)
			return -1;
		nb = realloc(s->blocks, cap * sizeof *nb);
		if (nb == NULL)
			return -1;
		s->blocks = nb;
		s->cap = cap;
	}
	s->blocks[s->nblocks] = *c;
	/* Keep the invariant that host bits are clear even for hand-made blocks. */
	clear_host_bits(&s->blocks[s->nblocks].addr, c->prefix);
	s->nblocks++;
	s->added++;
	return 0;
}

static uint32_t load32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t load64(const uint8_t *b)
{
	return (uint64_t)load32(b) << 32 | load32(b + 4);
}

static int u128_cmp(u128 a, u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static int cmp_range4(const void *a, const void *b)
{
	const range4 *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

static int cmp_range6(const void *a, const void *b)
{
	const range6 *x = a, *y = b;
	int c = u128_cmp(x->lo, y->lo);

	return c != 0 ? c : u128_cmp(x->hi, y->hi);
}

static range4 block_range4(const pst_cidr *c)
{
	uint32_t lo = load32(c->addr.bytes);
	uint32_t host = c->prefix >= 32 ? 0 : (UINT32_MAX >> c->prefix);
	range4 r = { lo, lo | host };

	return r;
}

static range6 block_range6(const pst_cidr *c)
{
	u128 lo = { load64(c->addr.bytes), load64(c->addr.bytes + 8) };
	u128 host;
	range6 r;

	if (c->prefix >= 64) {
		host.hi = 0;
		host.lo = c->prefix == 128 ? 0 : UINT64_MAX >> (c->prefix - 64);
	} else {
		host.hi = c->prefix == 0 ? UINT64_MAX : UINT64_MAX >> c->prefix;
		host.lo = UINT64_MAX;
	}
	r.lo = lo;
	r.hi.hi = lo.hi | host.hi;
	r.hi.lo = lo.lo | host.lo;
	return r;
}

/* Merge sorted ranges in place; returns the new count. Ranges that overlap
 * or touch (next.lo == hi + 1) become one. */
static size_t merge4(range4 *r, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out > 0 && (r[out - 1].hi == UINT32_MAX || r[i].lo <= r[out - 1].hi + 1)) {
			if (r[i].hi > r[out - 1].hi)
				r[out - 1].hi = r[i].hi;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}

static u128 u128_next(u128 a)
{
	u128 r = { a.hi + (a.lo == UINT64_MAX), a.lo + 1 };

	return r;
}

static int u128_is_max(u128 a)
{
	return a.hi == UINT64_MAX && a.lo == UINT64_MAX;
}

static size_t merge6(range6 *r, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out > 0 && (u128_is_max(r[out - 1].hi) ||
				u128_cmp(r[i].lo, u128_next(r[out - 1].hi)) <= 0)) {
			if (u128_cmp(r[i].hi, r[out - 1].hi) > 0)
				r[out - 1].hi = r[i].hi;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}

int pst_ipset_freeze(pst_ipset *s)
{
	size_t n4 = 0, n6 = 0, i4 = 0, i6 = 0;
	range4 *r4 = NULL;
	range6 *r6 = NULL;

	if (s->frozen)
		return 0;
	for (size_t i = 0; i < s->nblocks; i++) {
		if (s->blocks[i].addr.family == 4)
			n4++;
		else
			n6++;
	}
	if ((n4 > 0 && (r4 = calloc(n4, sizeof *r4)) == NULL) ||
	    (n6 > 0 && (r6 = calloc(n6, sizeof *r6)) == NULL)) {
		free(r4);
		return -1;
	}
	for (size_t i = 0; i < s->nblocks; i++) {
		if (s->blocks[i].addr.family == 4)
			r4[i4++] = block_range4(&s->blocks[i]);
		else
			r6[i6++] = block_range6(&s->blocks[i]);
	}
	if (n4 > 0)
		qsort(r4, n4, sizeof *r4, cmp_range4);
	if (n6 > 0)
		qsort(r6, n6, sizeof *r6, cmp_range6);
	s->r4 = r4;
	s->n4 = merge4(r4, n4);
	s->r6 = r6;
	s->n6 = merge6(r6, n6);
	free(s->blocks);
	s->blocks = NULL;
	s->nblocks = s->cap = 0;
	s->frozen = 1;
	return 0;
}

static int contains4(const pst_ipset *s, uint32_t x)
{
	size_t lo = 0, hi = s->n4;

	/* lo becomes the number of ranges starting at or below x. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->r4[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && x <= s->r4[lo - 1].hi;
}

static int contains6(const pst_ipset *s, u128 x)
{
	size_t lo = 0, hi = s->n6;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u128_cmp(s->r6[mid].lo, x) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && u128_cmp(x, s->r6[lo - 1].hi) <= 0;
}

int pst_ipset_contains(const pst_ipset *s, const pst_ip *ip)
{
	assert(s->frozen && "pst_ipset_contains before pst_ipset_freeze");
	if (ip->family == 4)
		return contains4(s, load32(ip->bytes));
	if (ip->family == 6) {
		u128 x = { load64(ip->bytes), load64(ip->bytes + 8) };
		return contains6(s, x);
	}
	return 0;
}

size_t pst_ipset_count(const pst_ipset *s)
{
	return s->added;
}

size_t pst_ipset_range_count(const pst_ipset *s)
{
	return s->frozen ? s->n4 + s->n6 : 0;
}
