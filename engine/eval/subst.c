/*
 * subst.c: a substitute action's substitution; see subst.h for the
 * contract.
 *
 * One pass over the text: copy what lies before a match, expand the
 * replacement for it, go on after it (global) or copy the rest. The
 * result is built in out past its old length and rolled back on failure.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <string.h>

#include "eval/regex.h"
#include "eval/subst.h"

static int is_control(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* A capture's bytes, control characters as '?'. */
static int put_capture(pst_buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pst_buf_putc(out, is_control((unsigned char)p[i]) ? '?' : p[i]) < 0)
			return -1;
	return 0;
}

static int expand(const pst_subst *s, const char *value, const pst_regex_groups *g, pst_buf *out)
{
	for (size_t i = 0; i < s->npieces; i++) {
		const pst_subst_piece *pc = &s->pieces[i];
		int rc;
		if (pc->group < 0)
			rc = pst_buf_append(out, pc->lit, pc->len);
		else if (pc->group >= PST_REGEX_GROUPS || g->start[pc->group] == SIZE_MAX)
			rc = 0;
		else
			rc = put_capture(out, value + g->start[pc->group],
			                 g->end[pc->group] - g->start[pc->group]);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The length of the UTF-8 character at p (1 for a stray byte). */
static size_t char_len(const char *p, size_t left)
{
	unsigned char c = (unsigned char)p[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	return n > left ? left : n;
}

int pst_subst_apply(const pst_subst *s, const char *value, size_t len, size_t max, pst_buf *out,
                    int *err)
{
	size_t mark = out->len, pos = 0, copied = 0;
	int matched = 0;
	*err = 0;
	if (value == NULL)
		value = "";
	while (pos <= len) {
		pst_regex_groups g;
		int rc = pst_regex_match_groups(NULL, s->re, s->match_limit, value, len, pos, &g, err);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		matched = 1;
		size_t start = g.start[0], end = g.end[0];
		if (end < start)
			end = start;        /* \K past the end: nothing is consumed */
		if (pst_buf_append(out, value + copied, start - copied) < 0 || expand(s, value, &g, out) < 0)
			goto oom;
		copied = end;
		if (!s->global)
			break;
		if (end == start) {
			if (end >= len)
				break;
			size_t k = char_len(value + end, len - end);
			if (pst_buf_append(out, value + end, k) < 0)
				goto oom;
			copied = end + k;
		}
		pos = copied;
		if (out->len - mark > max)
			goto too_long;
	}
	if (!matched)
		return 0;
	if (pst_buf_append(out, value + copied, len - copied) < 0)
		goto oom;
	if (out->len - mark > max)
		goto too_long;
	return 1;
too_long:
	*err = 0;
	goto fail;
oom:
	*err = PCRE2_ERROR_NOMEMORY;
fail:
	if (out->len > mark) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return -1;
}
