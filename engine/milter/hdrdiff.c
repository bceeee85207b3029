/*
 * hdrdiff.c: the milter header operations between two header sections.
 *
 * A milter cannot hand the MTA a new message, only edits: the milter
 * front end (milter.c) renders the message as postern would deliver it
 * (pst_message_render) and this module works out the edits that turn the
 * header section the MTA sent into the rendered one. It knows nothing of
 * rules or of libmilter.
 *
 * Both sections are split into fields (a line and its continuation
 * lines). The fields kept byte for byte are the longest common
 * subsequence of the two lists (a dynamic programme, at most
 * PST_HDRDIFF_LCS_MAX fields a side; beyond that a greedy in-order match,
 * which is still a correct, only a longer, edit list). Between two kept
 * fields, an original field and a rendered one of the same name (matched
 * in order) are one change, but for Authentication-Results (a forged one
 * is deleted, ours inserted); the other originals are deleted, the other
 * rendered fields inserted. The operations come out in the order to apply
 * them: changes and deletions from the last original field to the first
 * (so a deletion never moves the index of a field still to be changed,
 * whether the MTA counts indexes before or after earlier edits), then the
 * insertions from the top down, each at its final 0-based position (an
 * insertion at the end is an add). The fields pst_message_render adds at
 * the top (the rules' added fields, then Authentication-Results) are
 * thus insertions from index 0.
 *
 * A field without a name (malformed: no colon) can be neither deleted nor
 * inserted through the milter protocol: such a field is skipped, and the
 * result may then differ from the rendered one by that field only.
 *
 * Ownership: the operations and their strings are malloc'd, freed by
 * pst_hdrops_free(). Failure: -1 on ENOMEM with nothing returned.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/hdrdiff.h"

#define PST_HDRDIFF_LCS_MAX 1000        /* fields a side for the exact LCS */

struct field {
	const char *raw;        /* the field's bytes with its line ending(s) */
	size_t len;
	size_t namelen;         /* 0: malformed, no name */
	int partner;            /* matched or changed field of the other side, or -1 */
	int changed;            /* partner is a change, not an identical field */
};

struct fields {
	struct field *f;
	size_t n;
};

static size_t line_end(const char *s, size_t len, size_t pos)
{
	const char *nl = memchr(s + pos, '\n', len - pos);
	return nl ? (size_t)(nl - s) + 1 : len;
}

static int blank_line(const char *s, size_t pos, size_t end)
{
	size_t n = end - pos;
	return (n == 1 && s[pos] == '\n') || (n == 2 && s[pos] == '\r' && s[pos + 1] == '\n');
}

static size_t name_len(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ':')
			return i;
		if (c <= 0x20 || c >= 0x7f)
			return 0;
	}
	return 0;
}

/* The fields of the header section of s. 0 / -1 ENOMEM. */
static int split(const char *s, size_t len, struct fields *out)
{
	size_t cap = 0, pos = 0;
	out->f = NULL;
	out->n = 0;
	while (pos < len) {
		size_t end = line_end(s, len, pos);
		if (blank_line(s, pos, end))
			break;
		if ((s[pos] == ' ' || s[pos] == '\t') && out->n > 0) {
			out->f[out->n - 1].len = end - (size_t)(out->f[out->n - 1].raw - s);
			pos = end;
			continue;
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct field *nf = realloc(out->f, nc * sizeof *nf);
			if (nf == NULL) {
				free(out->f);
				out->f = NULL;
				return -1;
			}
			out->f = nf;
			cap = nc;
		}
		out->f[out->n++] = (struct field){ s + pos, end - pos, 0, -1, 0 };
		pos = end;
	}
	for (size_t i = 0; i < out->n; i++)
		out->f[i].namelen = name_len(out->f[i].raw, out->f[i].len);
	return 0;
}

static int same(const struct field *a, const struct field *b)
{
	return a->len == b->len && memcmp(a->raw, b->raw, a->len) == 0;
}

static int same_name(const struct field *a, const struct field *b)
{
	return a->namelen && a->namelen == b->namelen &&
	       strncasecmp(a->raw, b->raw, a->namelen) == 0;
}

static void link_pair(struct fields *o, size_t i, struct fields *r, size_t j, int changed)
{
	o->f[i].partner = (int)j;
	r->f[j].partner = (int)i;
	o->f[i].changed = r->f[j].changed = changed;
}

/* Greedy in-order match: for each rendered field, the next identical
 * original one. */
static void match_greedy(struct fields *o, struct fields *r)
{
	size_t i = 0;
	for (size_t j = 0; j < r->n && i < o->n; j++)
		for (size_t k = i; k < o->n; k++)
			if (same(&o->f[k], &r->f[j])) {
				link_pair(o, k, r, j, 0);
				i = k + 1;
				break;
			}
}

/* The longest common subsequence of identical fields. 0 / -1 ENOMEM. */
static int match_lcs(struct fields *o, struct fields *r)
{
	size_t n = o->n, m = r->n, w = m + 1;
	if (n > PST_HDRDIFF_LCS_MAX || m > PST_HDRDIFF_LCS_MAX) {
		match_greedy(o, r);
		return 0;
	}
	uint16_t *L = calloc((n + 1) * w, sizeof *L);
	if (L == NULL)
		return -1;
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;) {
			uint16_t a = L[(i + 1) * w + j], b = L[i * w + j + 1];
			L[i * w + j] = same(&o->f[i], &r->f[j]) ? (uint16_t)(L[(i + 1) * w + j + 1] + 1)
			                                          : (a > b ? a : b);
		}
	size_t i = 0, j = 0;
	while (i < n && j < m) {
		if (same(&o->f[i], &r->f[j]) && L[i * w + j] == L[(i + 1) * w + j + 1] + 1)
			link_pair(o, i++, r, j++, 0);
		else if (L[(i + 1) * w + j] >= L[i * w + j + 1])
			i++;
		else
			j++;
	}
	free(L);
	return 0;
}

/* Whether a and b, of the same name, may be one change: not for
 * Authentication-Results (a forged field is deleted and ours inserted,
 * never one turned into the other). */
static int changeable(const struct field *a, const struct field *b)
{
	static const char ar[] = "Authentication-Results";
	return same_name(a, b) &&
	       !(a->namelen == sizeof ar - 1 && strncasecmp(a->raw, ar, sizeof ar - 1) == 0);
}

/* Between kept fields: an original and a rendered field of the same name,
 * in order, are one change. */
static void pair_changes(struct fields *o, struct fields *r)
{
	size_t i = 0, j = 0;
	while (i <= o->n && j <= r->n) {
		size_t ie = i, je = j;          /* the gap: [i, ie) and [j, je) */
		while (ie < o->n && o->f[ie].partner < 0)
			ie++;
		while (je < r->n && r->f[je].partner < 0)
			je++;
		size_t p = i;
		for (size_t k = j; k < je; k++)
			for (size_t q = p; q < ie; q++)
				if (changeable(&o->f[q], &r->f[k])) {
					link_pair(o, q, r, k, 1);
					p = q + 1;
					break;
				}
		i = ie + 1;
		j = je + 1;
	}
}

/* A field's value as a milter takes it: after the colon and its leading
 * white space, without the last line ending, folds as "\n". */
static char *value_of(const struct field *f)
{
	size_t k = f->namelen + 1, end = f->len;
	while (k < end && (f->raw[k] == ' ' || f->raw[k] == '\t'))
		k++;
	if (end > k && f->raw[end - 1] == '\n')
		end--;
	if (end > k && f->raw[end - 1] == '\r')
		end--;
	char *v = malloc(end - k + 1), *p = v;
	if (v == NULL)
		return NULL;
	for (size_t x = k; x < end; x++)
		if (!(f->raw[x] == '\r' && x + 1 < end && f->raw[x + 1] == '\n'))
			*p++ = f->raw[x];
	*p = '\0';
	return v;
}

/* The 1-based index of original field i among the fields of its name. */
static int occurrence(const struct fields *o, size_t i)
{
	int n = 0;
	for (size_t k = 0; k <= i; k++)
		if (same_name(&o->f[k], &o->f[i]))
			n++;
	return n;
}

static int push(pst_hdrop *ops, size_t *n, pst_hdrop_kind kind, const struct field *name,
                const struct field *val, int index)
{
	pst_hdrop *op = &ops[*n];
	*op = (pst_hdrop){ kind, strndup(name->raw, name->namelen), NULL, index };
	if (op->name == NULL)
		return -1;
	if (val && (op->value = value_of(val)) == NULL) {
		free(op->name);
		return -1;
	}
	(*n)++;
	return 0;
}

static int emit(const struct fields *o, const struct fields *r, pst_hdrop *ops, size_t *n)
{
	size_t kept = 0;
	for (size_t i = o->n; i-- > 0;) {
		const struct field *f = &o->f[i];
		if (f->partner >= 0 || f->namelen == 0)
			kept++;         /* in the list after the changes */
		if (f->namelen == 0 || (f->partner >= 0 && !f->changed))
			continue;
		const struct field *v = f->partner >= 0 ? &r->f[f->partner] : NULL;
		if (push(ops, n, PST_HDROP_CHANGE, f, v, occurrence(o, i)) < 0)
			return -1;
	}
	size_t cur = kept, skipped = 0;
	for (size_t j = 0; j < r->n; j++) {
		const struct field *f = &r->f[j];
		if (f->partner >= 0)
			continue;
		if (f->namelen == 0) {
			skipped++;
			continue;
		}
		size_t pos = j - skipped;
		if (push(ops, n, pos >= cur ? PST_HDROP_ADD : PST_HDROP_INSERT, f, f, (int)pos) < 0)
			return -1;
		cur++;
	}
	return 0;
}

int pst_hdrdiff(const char *orig, size_t olen, const char *rend, size_t rlen,
                pst_hdrop **ops, size_t *nops)
{
	struct fields o, r;
	*ops = NULL;
	*nops = 0;
	if (split(orig, olen, &o) < 0)
		return -1;
	if (split(rend, rlen, &r) < 0) {
		free(o.f);
		return -1;
	}
	int rc = match_lcs(&o, &r);
	pst_hdrop *out = rc == 0 ? calloc(o.n + r.n + 1, sizeof *out) : NULL;
	size_t n = 0;
	if (out) {
		pair_changes(&o, &r);
		rc = emit(&o, &r, out, &n);
	} else
		rc = -1;
	if (rc < 0) {
		pst_hdrops_free(out, n);
		out = NULL;
		n = 0;
	}
	free(o.f);
	free(r.f);
	*ops = out;
	*nops = n;
	return rc;
}

void pst_hdrops_free(pst_hdrop *ops, size_t nops)
{
	for (size_t i = 0; ops && i < nops; i++) {
		free(ops[i].name);
		free(ops[i].value);
	}
	free(ops);
}
