/*
 * index.h: the rule index of a compiled program, so that evaluating a
 * policy of 10,000 "from.domain == ..." rules costs about what 10 do.
 *
 * The compiler (compile.c) builds it once over the finished rules
 * (pst_index_build); the evaluator (engine/eval) reads it. Like the rest
 * of the program it is immutable and lives in the program's arena.
 *
 * What it promises (lang/index.c has the details):
 * - A rule is "keyed" when the first test its condition evaluates (the
 *   leftmost leaf of a chain of "and") is a membership or equality test of
 *   one fact, or of the first field of one header, against constants, of a
 *   form for which "the test holds" implies "the value, normalised like the
 *   evaluator normalises it, is one of the keys". Every other rule is
 *   "plain" and always runs.
 * - Keyed rules are grouped by what they read, how the key is normalised,
 *   and their tenant. A group's rules are all in its tenant or all out.
 * - pst_index_lookup gives, for a group and the value its operand has in a
 *   message, lists of rules (ascending, possibly overlapping) that hold
 *   every rule of the group whose key test can hold. A rule not listed
 *   would have read that value and found its condition false.
 * - The schedule lists, in rule order, every plain rule and the first rule
 *   of every group. Walking it and the looked-up lists in order visits the
 *   candidates in program order; the first rule of a group is the point at
 *   which the evaluator without the index would first read the group's
 *   value (when that rule is in its tenant and nothing decided before), so
 *   reading it there keeps fact fetching, and its warnings, the same.
 */
#ifndef PST_INDEX_H
#define PST_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "lang/program.h"

struct pst_arena;

/* How a group's key is derived from the value, mirroring the evaluator. */
typedef enum pst_index_key {
	PST_IX_TEXT,          /* == or in a strings list: ASCII case-insensitive bytes */
	PST_IX_DOMAIN_EQ,     /* a domain ==: one trailing dot dropped, then as TEXT */
	PST_IX_DOMAIN_IN,     /* in a domains list: the text as a domain, or a parent */
	PST_IX_ADDRESS_IN,    /* an address in a domains list: its normalised domain, or a parent */
	PST_IX_IP,            /* == an address or in an IP list: inside a block */
} pst_index_key;

typedef struct pst_index_group {
	const pst_operand *operand;   /* what the group's key tests read: a fact,
	                               * or header "N" (first field); the program's */
	pst_index_key key;
	const char *tenant;           /* the rules' tenant, or NULL */
	const uint32_t *rules;        /* every rule of the group, ascending */
	size_t nrules;
	/* PST_IX_IP: the prefix lengths some block of the group has. */
	uint8_t v4_prefix[33], v6_prefix[129];
} pst_index_group;

/* One step of the schedule: a plain rule (group < 0), or the first rule
 * of a group. */
typedef struct pst_index_step {
	uint32_t rule;
	int32_t group;
} pst_index_step;

typedef struct pst_index {
	const pst_index_step *steps;  /* ascending by rule */
	size_t nsteps;
	const pst_index_group *groups;
	size_t ngroups;
	size_t nkeyed;                /* rules in some group */
	struct pst_index_slot *slots; /* the key table (index.c) */
	size_t cap;                   /* a power of two */
} pst_index;

/* Build the index of prog's rules in arena a (the program's) and set
 * prog->index. A program with no keyed rule gets none (NULL). 0, or -1 on
 * ENOMEM. */
int pst_index_build(pst_program *prog, struct pst_arena *a);

/* The candidates of group g for value v (known, of the operand's type).
 * Calls emit once per list of rules found; emit returns 0, or -1 to stop
 * (the lookup then returns -1). Returns 0; -1 on ENOMEM or when emit
 * stopped, and the caller must then take every rule of the group as a
 * candidate (or give up). */
typedef int (*pst_index_emit)(void *ctx, const uint32_t *rules, size_t n);
int pst_index_lookup(const pst_index *ix, size_t g, const pst_value *v, pst_index_emit emit,
                     void *ctx);

#endif
