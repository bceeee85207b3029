/*
 * suggest.c: edit distance and "did you mean"; see suggest.h. Words up to
 * 127 bytes need no allocation, so a compile short of memory still gets
 * the same suggestions; a longer one that cannot get its row is taken as
 * too far from anything.
 */
#include "util/suggest.h"

#include <stdlib.h>
#include <string.h>

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

size_t pst_edit_distance(const char *a, size_t an, const char *b, size_t bn, size_t max)
{
	size_t diff = an > bn ? an - bn : bn - an;
	if (diff > max)
		return max + 1;
	/* Names are short: their row fits on the stack, so a suggestion does
	 * not depend on malloc; only a longer one allocates. */
	size_t small[128];
	size_t *row = bn < sizeof small / sizeof small[0] ? small : malloc((bn + 1) * sizeof *row);
	if (row == NULL)
		return max + 1;
	for (size_t j = 0; j <= bn; j++)
		row[j] = j;
	for (size_t i = 1; i <= an; i++) {
		size_t diag = row[0], best = i;
		row[0] = i;
		for (size_t j = 1; j <= bn; j++) {
			size_t up = row[j];
			size_t cost = lower((unsigned char)a[i - 1]) == lower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t v = diag + cost;
			if (up + 1 < v) v = up + 1;
			if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best) best = v;
		}
		if (best > max) {
			if (row != small)
				free(row);
			return max + 1;
		}
	}
	size_t d = row[bn];
	if (row != small)
		free(row);
	return d > max ? max + 1 : d;
}

const char *pst_suggest(const char *word, size_t n, const char *const *cands, size_t ncands)
{
	size_t limit = n / 2;
	if (limit > 2)
		limit = 2;
	if (limit == 0)
		return NULL;
	const char *best = NULL;
	size_t best_d = limit + 1;
	for (size_t i = 0; i < ncands; i++) {
		size_t d = pst_edit_distance(word, n, cands[i], strlen(cands[i]), limit);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}
