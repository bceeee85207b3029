/*
 * conf.c: the conformance harness (see conf.h): finding a corpus, reading
 * it, the divergence list (tests/conformance/divergences.txt) and the
 * judgement and counts of one run. Test code: bounded lines and paths;
 * aborts on ENOMEM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"

#define CONF_LIST_FIELDS 4

/* One listed divergence of the run's corpus. */
struct conf_entry {
	char *id;
	char *ours;
	char *why;
	int seen;                   /* the run met the case */
};

struct conf_run {
	char *corpus;
	struct conf_entry *v;
	size_t n;
	size_t agree, total, listed, failures;
};

static void *conf_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL)
		abort();
	return q;
}

static char *conf_xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

const char *conf_corpus_dir(const char *name, char *buf, size_t len)
{
	const char *root = getenv("POSTERN_CORPORA");
	struct stat st;
	int n;

	if (root == NULL || *root == '\0')
		return NULL;
	n = snprintf(buf, len, "%s/%s", root, name);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return buf;
}

const char *conf_corpus_require(const char *name, char *buf, size_t len)
{
	const char *root = getenv("POSTERN_CORPORA");

	if (conf_corpus_dir(name, buf, len) != NULL)
		return buf;
	if (root == NULL || *root == '\0')
		printf("# SKIP %s: POSTERN_CORPORA is not set (make check sets it to the "
		       "corpora beside the source tree; set it to run this corpus)\n", name);
	else
		printf("# SKIP %s: no corpus directory %s/%s (POSTERN_CORPORA)\n", name, root,
		       name);
	fflush(stdout);
	skip();
	return NULL;
}

char *conf_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			if (len != NULL)
				*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

size_t conf_split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		fields[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

static struct conf_entry *conf_find(const conf_run *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].id, id) == 0)
			return &r->v[i];
	return NULL;
}

/* A list line that is not four non-empty fields: a failure of the run
 * when it belongs to its corpus (or names none). */
static void conf_bad_line(conf_run *r, const char *path, size_t lineno, const char *why)
{
	printf("# BAD LIST LINE %s:%zu: %s\n", path, lineno, why);
	r->failures++;
}

/* One line of the list (split in place). */
static void conf_list_line(conf_run *r, const char *path, size_t lineno, char *line)
{
	char *f[CONF_LIST_FIELDS + 1];
	size_t nf;

	if (line[0] == '#' || line[0] == '\0')
		return;
	nf = conf_split_tabs(line, f, CONF_LIST_FIELDS + 1);
	if (strcmp(f[0], r->corpus) != 0 && nf > 1)
		return;
	if (nf != CONF_LIST_FIELDS) {
		conf_bad_line(r, path, lineno, "want CORPUS<TAB>CASE<TAB>OURS<TAB>WHY");
		return;
	}
	for (size_t i = 1; i < CONF_LIST_FIELDS; i++)
		if (f[i][0] == '\0') {
			conf_bad_line(r, path, lineno, "an empty field");
			return;
		}
	if (conf_find(r, f[1]) != NULL) {
		conf_bad_line(r, path, lineno, "case listed twice");
		return;
	}
	r->v = conf_xrealloc(r->v, (r->n + 1) * sizeof *r->v);
	r->v[r->n].id = conf_xstrdup(f[1]);
	r->v[r->n].ours = conf_xstrdup(f[2]);
	r->v[r->n].why = conf_xstrdup(f[3]);
	r->v[r->n].seen = 0;
	r->n++;
}

conf_run *conf_run_begin_list(const char *corpus, const char *path)
{
	conf_run *r = calloc(1, sizeof *r);
	char *text, *line, *next;
	size_t lineno = 0;

	if (r == NULL)
		abort();
	r->corpus = conf_xstrdup(corpus);
	text = conf_read_file(path, NULL);
	if (text == NULL) {
		printf("# BAD LIST %s: cannot read it\n", path);
		r->failures++;
		return r;
	}
	for (line = text; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		conf_list_line(r, path, lineno, line);
	}
	free(text);
	return r;
}

conf_run *conf_run_begin(const char *corpus)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/tests/conformance/divergences.txt",
	                 top != NULL && *top != '\0' ? top : ".");

	if (n < 0 || (size_t)n >= sizeof path)
		abort();
	return conf_run_begin_list(corpus, path);
}

void conf_case(conf_run *r, const char *id, int agrees, const char *detail)
{
	struct conf_entry *e = conf_find(r, id);

	r->total++;
	if (e != NULL)
		e->seen = 1;
	if (agrees) {
		r->agree++;
		if (e != NULL) {
			printf("# STALE %s %s: agrees now, but is listed (\"%s\"): remove the line\n",
			       r->corpus, id, e->ours);
			r->failures++;
		}
		return;
	}
	if (e != NULL) {
		r->listed++;
		printf("# divergence %s %s: %s [listed: %s]\n", r->corpus, id,
		       detail != NULL ? detail : "disagrees", e->ours);
		return;
	}
	printf("# MISMATCH %s %s: %s (not in divergences.txt)\n", r->corpus, id,
	       detail != NULL ? detail : "disagrees");
	r->failures++;
}

int conf_listed(const conf_run *r, const char *id)
{
	return conf_find(r, id) != NULL;
}

size_t conf_run_agree(const conf_run *r)
{
	return r->agree;
}

size_t conf_run_total(const conf_run *r)
{
	return r->total;
}

size_t conf_run_listed(const conf_run *r)
{
	return r->listed;
}

size_t conf_run_end(conf_run *r)
{
	size_t failures;

	for (size_t i = 0; i < r->n; i++)
		if (!r->v[i].seen) {
			printf("# STALE %s %s: listed, but the corpus has no such case: remove the "
			       "line\n", r->corpus, r->v[i].id);
			r->failures++;
		}
	printf("# %s: %zu/%zu agree (%zu listed divergences)\n", r->corpus, r->agree, r->total,
	       r->listed);
	fflush(stdout);
	failures = r->failures;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].id);
		free(r->v[i].ours);
		free(r->v[i].why);
	}
	free(r->v);
	free(r->corpus);
	free(r);
	return failures;
}
