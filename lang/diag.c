/*
 * diag.c: the diagnostics of one compile (diag.h).
 *
 * A pst_diags keeps every diagnostic in report order, with a copy of each
 * source text it was given so that rendering can print the offending line
 * under the message, with a caret and a tilde underline:
 *
 *   file:line:col: error: message
 *      12 |   when client.hel == "x"
 *         |        ^~~~~~~~~~
 *
 * Tabs in the source line are kept in the caret line, and UTF-8
 * continuation bytes take no space in it, so the caret stays under the
 * right character. Past PST_MAX_DIAGNOSTICS diagnostics only the
 * counts go on, and rendering ends with one "too many diagnostics" line;
 * a diagnostic whose text could not be kept (ENOMEM) is counted too, and
 * rendering ends with one "out of memory: N diagnostics lost" line, so a
 * failed compile never renders as nothing.
 * Memory: everything is malloc'd and owned by the pst_diags.
 */
#include "lang/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/limits.h"

struct source {
	char *file;
	char *text;
	size_t len;
};

struct diag {
	pst_severity sev;
	char *file;
	unsigned line, col, width;
	char *msg;
};

struct pst_diags {
	struct source *src;
	size_t nsrc, capsrc;
	struct diag *d;
	size_t nd, capd;
	size_t errors, warnings;
	size_t dropped;
	size_t lost;          /* counted, but their text could not be kept (ENOMEM) */
};

pst_diags *pst_diags_new(void)
{
	return calloc(1, sizeof(pst_diags));
}

void pst_diags_free(pst_diags **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	pst_diags *d = *dp;
	for (size_t i = 0; i < d->nsrc; i++) {
		free(d->src[i].file);
		free(d->src[i].text);
	}
	for (size_t i = 0; i < d->nd; i++) {
		free(d->d[i].file);
		free(d->d[i].msg);
	}
	free(d->src);
	free(d->d);
	free(d);
	*dp = NULL;
}

/* Grow an array of elements of size sz to hold one more. 0 / -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, ncap * sz);
	if (p == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

int pst_diags_add_source(pst_diags *d, const char *file, const char *text, size_t len)
{
	if (grow((void **)&d->src, &d->capsrc, d->nsrc, sizeof *d->src) < 0)
		return -1;
	struct source *s = &d->src[d->nsrc];
	s->file = strdup(file);
	s->text = malloc(len + 1);
	if (s->file == NULL || s->text == NULL) {
		free(s->file);
		free(s->text);
		return -1;
	}
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->len = len;
	d->nsrc++;
	return 0;
}

void pst_diags_report(pst_diags *d, pst_severity sev, const char *file, unsigned line,
                      unsigned col, unsigned width, const char *fmt, ...)
{
	if (sev == PST_SEV_ERROR)
		d->errors++;
	else if (sev == PST_SEV_WARNING)
		d->warnings++;
	if (d->nd >= PST_MAX_DIAGNOSTICS) {
		d->dropped++;
		return;
	}
	if (grow((void **)&d->d, &d->capd, d->nd, sizeof *d->d) < 0) {
		d->lost++;
		return;
	}
	pst_buf b = PST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = pst_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	struct diag *g = &d->d[d->nd];
	g->sev = sev;
	g->file = strdup(file ? file : "");
	g->line = line;
	g->col = col;
	g->width = width;
	g->msg = rc == 0 ? pst_buf_steal(&b, NULL) : NULL;
	pst_buf_free(&b);
	if (g->file == NULL || g->msg == NULL) {
		free(g->file);
		free(g->msg);
		d->lost++;
		return;
	}
	d->nd++;
}

size_t pst_diags_errors(const pst_diags *d)
{
	return d->errors;
}

size_t pst_diags_warnings(const pst_diags *d)
{
	return d->warnings;
}

static const char *sev_name(pst_severity s)
{
	switch (s) {
	case PST_SEV_ERROR: return "error";
	case PST_SEV_WARNING: return "warning";
	default: return "note";
	}
}

/* The text of line (1-based) of file's latest registered source, or NULL. */
static const char *find_line(const pst_diags *d, const char *file, unsigned line, size_t *len)
{
	for (size_t i = d->nsrc; i-- > 0;) {
		if (strcmp(d->src[i].file, file) != 0)
			continue;
		const char *p = d->src[i].text, *end = p + d->src[i].len;
		for (unsigned l = 1; l < line && p < end; l++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				return NULL;
			p = nl + 1;
		}
		if (p > end || (p == end && line > 1 && p[-1] == '\n'))
			return NULL;
		const char *e = memchr(p, '\n', (size_t)(end - p));
		*len = (size_t)((e ? e : end) - p);
		if (*len > 0 && p[*len - 1] == '\r')
			(*len)--;
		return p;
	}
	return NULL;
}

/* The source line and its caret line under a diagnostic. */
static int render_excerpt(const pst_diags *d, const struct diag *g, pst_buf *out)
{
	size_t len;
	const char *p = find_line(d, g->file, g->line, &len);
	if (p == NULL)
		return 0;
	int rc = pst_buf_printf(out, "%5u | ", g->line);
	rc |= pst_buf_append(out, p, len);
	rc |= pst_buf_puts(out, "\n      | ");
	unsigned col = g->col ? g->col : 1;
	for (unsigned i = 0; i + 1 < col; i++) {
		if (i < len && ((unsigned char)p[i] & 0xc0) == 0x80)
			continue;     /* a UTF-8 continuation byte takes no column */
		rc |= pst_buf_putc(out, i < len && p[i] == '\t' ? '\t' : ' ');
	}
	rc |= pst_buf_putc(out, '^');
	for (unsigned i = 1; i < g->width; i++)
		rc |= pst_buf_putc(out, '~');
	rc |= pst_buf_putc(out, '\n');
	return rc ? -1 : 0;
}

int pst_diags_render(const pst_diags *d, pst_buf *out)
{
	for (size_t i = 0; i < d->nd; i++) {
		const struct diag *g = &d->d[i];
		int rc;
		if (g->line == 0)
			rc = pst_buf_printf(out, "%s: %s: %s\n", g->file, sev_name(g->sev), g->msg);
		else
			rc = pst_buf_printf(out, "%s:%u:%u: %s: %s\n", g->file, g->line,
			                    g->col ? g->col : 1, sev_name(g->sev), g->msg);
		if (rc < 0 || (g->line > 0 && render_excerpt(d, g, out) < 0))
			return -1;
	}
	if (d->dropped > 0 &&
	    pst_buf_printf(out, "postern: too many diagnostics, %zu more not shown\n", d->dropped) < 0)
		return -1;
	if (d->lost > 0 &&
	    pst_buf_printf(out, "postern: out of memory: %zu diagnostic%s lost\n", d->lost,
	                   d->lost == 1 ? "" : "s") < 0)
		return -1;
	return 0;
}
