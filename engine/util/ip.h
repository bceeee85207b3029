/*
 * ip.h: IP addresses, CIDR blocks and IP sets.
 *
 * An address is kept in one canonical form: IPv4 (including the IPv4-mapped
 * IPv6 form ::ffff:a.b.c.d, which is folded to IPv4 on parse) or IPv6.
 * A set answers "is this address inside any of these blocks" in O(log n)
 * after pst_ipset_freeze(), so a 10,000-entry allowlist costs about what a
 * 10-entry one does.
 */
#ifndef PST_IP_H
#define PST_IP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pst_ip {
	uint8_t family;     /* 4 or 6; 0 means "no address" */
	uint8_t bytes[16];  /* network order; IPv4 uses bytes[0..3] */
} pst_ip;

typedef struct pst_cidr {
	pst_ip addr;        /* host bits cleared */
	uint8_t prefix;     /* 0..32 for v4, 0..128 for v6 */
} pst_cidr;

/* Parse an IPv4 or IPv6 address of n bytes (no brackets, no prefix, no
 * surrounding white space; "IPV6:" prefix not accepted here). ::ffff:a.b.c.d
 * is stored as IPv4. Returns 0, or -1 when s is not an address. */
int pst_ip_parse(const char *s, size_t n, pst_ip *out);

/* Buffer size that always holds pst_ip_format / pst_cidr_format output. */
#define PST_IP_FORMAT_LEN   46
#define PST_CIDR_FORMAT_LEN 50

/* Write the canonical text form (dotted quad, or RFC 5952 IPv6: lower case,
 * no leading zeros, the longest run of two or more zero groups as "::")
 * into buf of size len (PST_IP_FORMAT_LEN always suffices; a shorter buffer
 * gets "" when the text does not fit). An address with no family is "".
 * Returns buf. */
char *pst_ip_format(const pst_ip *ip, char *buf, size_t len);

/* "ADDR/PREFIX" for a block, into buf of size len (PST_CIDR_FORMAT_LEN
 * suffices; "" when it does not fit). Returns buf. */
char *pst_cidr_format(const pst_cidr *c, char *buf, size_t len);

/* Equality of two addresses (family and bytes). */
int pst_ip_equal(const pst_ip *a, const pst_ip *b);

/* Parse "ADDR" (a host: /32 or /128) or "ADDR/PREFIX". Returns 0 on success,
 * -1 when the text is not valid, with *why set to a message
 * ("prefix length 33 is over 32 for IPv4", "not an IP address", ...) that
 * is static or thread-local: valid until the next pst_cidr_parse call on
 * the same thread (copy it to keep it). The prefix is decimal digits with no
 * sign, space or leading zero.
 * A block with host bits set (192.0.2.1/24) is accepted with the bits cleared
 * and *host_bits set to 1 so the caller can warn; otherwise *host_bits = 0.
 * An IPv4-mapped IPv6 block ::ffff:0:0/96 or longer becomes the IPv4 block.
 * host_bits and why may be NULL; *why is NULL on success. */
int pst_cidr_parse(const char *s, size_t n, pst_cidr *out, int *host_bits, const char **why);

/* Whether ip is inside block c (families must agree after v4-mapped folding). */
int pst_cidr_contains(const pst_cidr *c, const pst_ip *ip);

/* A set of CIDR blocks. Build with add, then freeze once; lookups only
 * after freeze. A frozen set is immutable and may be shared between threads. */
typedef struct pst_ipset pst_ipset;

/* A new empty set; NULL on ENOMEM. Caller owns it; free with pst_ipset_free. */
pst_ipset *pst_ipset_new(void);
void pst_ipset_free(pst_ipset **s);
/* Add a block (copied). 0, or -1 on ENOMEM, after freeze, or for a block
 * with no family or a prefix longer than its family's bits. */
int pst_ipset_add(pst_ipset *s, const pst_cidr *c);
/* Sort and merge for lookups. 0, or -1 on ENOMEM (the set is then still
 * unfrozen and may be frozen again). Freezing twice is harmless. */
int pst_ipset_freeze(pst_ipset *s);
/* 1 if ip is in some block, 0 if not (or ip has no family). O(log n).
 * Calling it before pst_ipset_freeze is a bug (assertion). */
int pst_ipset_contains(const pst_ipset *s, const pst_ip *ip);
/* Number of blocks added (duplicates and overlaps counted). */
size_t pst_ipset_count(const pst_ipset *s);
/* Number of disjoint address ranges left after freeze merged overlapping
 * and adjacent blocks (both families); 0 before freeze. */
size_t pst_ipset_range_count(const pst_ipset *s);

#endif
