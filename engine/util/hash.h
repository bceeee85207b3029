/*
 * hash.h: the one string hash, FNV-1a (Fowler, Noll, Vo; the IETF draft
 * draft-eastlake-fnv gives the parameters and the test vectors that
 * tests/unit/test_util.c checks).
 *
 * Contract: pure functions of their bytes, the same in every process and on
 * every platform: nothing is seeded. For hash tables (choose a slot, then
 * compare the keys) and for reproducible draws;
 * not for anything an attacker must not be able to collide.
 *
 *   pst_hash_fnv1a64(p, n)           64-bit FNV-1a of n bytes;
 *   pst_hash_fnv1a64_add(h, p, n)    continues h over n more bytes, so
 *                                    pst_hash_fnv1a64_add(PST_FNV1A64_BASIS,
 *                                    p, n) is pst_hash_fnv1a64(p, n) and a
 *                                    key in pieces hashes as one;
 *   pst_hash_fnv1a64_str(s)          of a NUL-terminated string;
 *   pst_hash_fnv1a64_fold_add(h,p,n) continues h over the bytes with ASCII
 *                                    case folded (see below);
 *   pst_hash_fnv1a32_fold_byte(h, c) one 32-bit step, case folded, for a
 *                                    caller that hashes while it scans
 *                                    (msg.c's field names), from
 *                                    PST_FNV1A32_BASIS.
 * The folded variants hash byte c as c | 0x20: both cases of a letter give
 * the same hash, and it is cheaper than lowering. A few other pairs ('@'
 * and '`', '[' and '{', control bytes and their | 0x20) share a hash too,
 * so a table using them must compare keys case-insensitively. Without
 * folding they are FNV-1a exactly; with it, FNV-1a of the folded bytes.
 *
 * Everything is inline: these run per byte on the hot paths (field names,
 * DNS cache keys, rule indexes).
 */
#ifndef PST_UTIL_HASH_H
#define PST_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PST_FNV1A32_BASIS UINT32_C(2166136261)           /* 0x811c9dc5 */
#define PST_FNV1A32_PRIME UINT32_C(16777619)             /* 2^24 + 2^8 + 0x93 */
#define PST_FNV1A64_BASIS UINT64_C(14695981039346656037) /* 0xcbf29ce484222325 */
#define PST_FNV1A64_PRIME UINT64_C(1099511628211)        /* 2^40 + 2^8 + 0xb3 */

static inline uint64_t pst_hash_fnv1a64_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * PST_FNV1A64_PRIME;
	return h;
}

static inline uint64_t pst_hash_fnv1a64(const void *p, size_t n)
{
	return pst_hash_fnv1a64_add(PST_FNV1A64_BASIS, p, n);
}

static inline uint64_t pst_hash_fnv1a64_str(const char *s)
{
	uint64_t h = PST_FNV1A64_BASIS;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * PST_FNV1A64_PRIME;
	return h;
}

static inline uint64_t pst_hash_fnv1a64_fold_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)(b[i] | 0x20)) * PST_FNV1A64_PRIME;
	return h;
}

static inline uint32_t pst_hash_fnv1a32_fold_byte(uint32_t h, unsigned char c)
{
	return (h ^ (unsigned char)(c | 0x20)) * PST_FNV1A32_PRIME;
}

#endif
