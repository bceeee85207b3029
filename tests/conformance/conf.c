/*
 * conf.c: corpus and divergence-list helpers for the conformance tests
 * (see conf.h). Test code: bounded, but exits on ENOMEM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"

struct conf_entry {
	char *key;
	char *reason;
	int used;
};

struct conf_divergences {
	struct conf_entry *v;
	size_t n;
};

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

static void add_entry(conf_divergences *d, const char *key, const char *reason)
{
	struct conf_entry *v = realloc(d->v, (d->n + 1) * sizeof *v);

	if (v == NULL)
		abort();
	d->v = v;
	v[d->n].key = strdup(key);
	v[d->n].reason = strdup(reason);
	v[d->n].used = 0;
	if (v[d->n].key == NULL || v[d->n].reason == NULL)
		abort();
	d->n++;
}

conf_divergences *conf_divergences_load(const char *corpus)
{
	conf_divergences *d = calloc(1, sizeof *d);
	const char *top = getenv("top_srcdir");
	char path[4096];
	char *text, *line, *save = NULL;

	if (d == NULL)
		abort();
	snprintf(path, sizeof path, "%s/tests/conformance/dmarc-divergences.txt",
	         top && *top ? top : ".");
	text = conf_read_file(path, NULL);
	if (text == NULL)
		return d;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[3];
		if (line[0] == '#' || conf_split_tabs(line, f, 3) != 3)
			continue;
		if (strcmp(f[0], corpus) == 0)
			add_entry(d, f[1], f[2]);
	}
	free(text);
	return d;
}

const char *conf_divergence(conf_divergences *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].key, key) == 0) {
			d->v[i].used = 1;
			return d->v[i].reason;
		}
	return NULL;
}

size_t conf_divergences_unused(const conf_divergences *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		if (!d->v[i].used) {
			printf("# listed as a divergence but passed: %s\n", d->v[i].key);
			n++;
		}
	return n;
}

void conf_divergences_free(conf_divergences *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].reason);
	}
	free(d->v);
	free(d);
}
