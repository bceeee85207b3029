/*
 * suggest.h: "did you mean" for misspelt names.
 */
#ifndef PST_SUGGEST_H
#define PST_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance between a (an bytes) and b (bn bytes), ASCII
 * case-insensitive, computed in O(an * bn) time and O(bn) space. Returns
 * max + 1 as soon as the distance is known to exceed max. */
size_t pst_edit_distance(const char *a, size_t an, const char *b, size_t bn, size_t max);

/* The candidate closest to word, or NULL when none is close enough (at most
 * 2 edits, and fewer than half of the word's length). Ties go to the first
 * candidate. Returns one of cands (borrowed). */
const char *pst_suggest(const char *word, size_t n, const char *const *cands, size_t ncands);

#endif
