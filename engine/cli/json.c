/*
 * json.c: a small recursive-descent JSON reader (see json.h).
 *
 * Contract: the input is what pst_message_json() writes, but any valid
 * JSON text of bounded depth is read; invalid input gives -1, never a
 * partial tree. Strings are decoded (\uXXXX to UTF-8, surrogate pairs
 * joined); numbers keep their text.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json.h"
#include "util/buf.h"

#define MAX_DEPTH 64

struct jp {
	const char *s;
	size_t len, i;
};

static int parse_value(struct jp *p, pst_jval *v, int depth);

static void skip_ws(struct jp *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
	                         p->s[p->i] == '\r'))
		p->i++;
}

static void free_val(pst_jval *v)
{
	for (size_t i = 0; i < v->nkids; i++)
		free_val(&v->kids[i]);
	free(v->kids);
	free(v->key);
	free(v->text);
}

static int hex4(struct jp *p, unsigned *out)
{
	unsigned v = 0;
	if (p->i + 4 > p->len)
		return -1;
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int put_utf8(pst_buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return pst_buf_append(b, u, n);
}

static int parse_escape(struct jp *p, pst_buf *b)
{
	char c = p->s[p->i++];
	const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
	const char *k = strchr(from, c);
	if (c != 'u')
		return k && c ? pst_buf_putc(b, to[k - from]) : -1;
	unsigned cp;
	if (hex4(p, &cp) < 0)
		return -1;
	if (cp >= 0xd800 && cp < 0xdc00 && p->i + 6 <= p->len && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
		unsigned lo;
		p->i += 2;
		if (hex4(p, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return put_utf8(b, cp);
}

static int parse_string(struct jp *p, char **out, size_t *len)
{
	pst_buf b = PST_BUF_INIT;
	p->i++;   /* the opening quote */
	while (p->i < p->len && p->s[p->i] != '"') {
		char c = p->s[p->i++];
		int rc = c == '\\' ? (p->i < p->len ? parse_escape(p, &b) : -1)
		                   : (unsigned char)c < 0x20 ? -1 : pst_buf_putc(&b, c);
		if (rc < 0) {
			pst_buf_free(&b);
			return -1;
		}
	}
	if (p->i >= p->len) {
		pst_buf_free(&b);
		return -1;
	}
	p->i++;
	*out = pst_buf_steal(&b, len);
	return *out ? 0 : -1;
}

static int add_kid(pst_jval *v, pst_jval **kid)
{
	pst_jval *k = realloc(v->kids, (v->nkids + 1) * sizeof *k);
	if (k == NULL)
		return -1;
	v->kids = k;
	*kid = &v->kids[v->nkids++];
	memset(*kid, 0, sizeof **kid);
	return 0;
}

/* An array or an object; p->i is at its opening bracket. */
static int parse_container(struct jp *p, pst_jval *v, int depth)
{
	int obj = p->s[p->i] == '{';
	char close = obj ? '}' : ']';
	v->type = obj ? PST_JOBJ : PST_JARR;
	p->i++;
	skip_ws(p);
	if (p->i < p->len && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		pst_jval *kid;
		if (add_kid(v, &kid) < 0)
			return -1;
		skip_ws(p);
		if (obj) {
			size_t klen;
			if (p->i >= p->len || p->s[p->i] != '"' || parse_string(p, &kid->key, &klen) < 0)
				return -1;
			skip_ws(p);
			if (p->i >= p->len || p->s[p->i++] != ':')
				return -1;
		}
		if (parse_value(p, kid, depth + 1) < 0)
			return -1;
		skip_ws(p);
		if (p->i >= p->len)
			return -1;
		char c = p->s[p->i++];
		if (c == close)
			return 0;
		if (c != ',')
			return -1;
	}
}

static int parse_scalar(struct jp *p, pst_jval *v)
{
	size_t start = p->i;
	while (p->i < p->len && strchr("+-.0123456789eEtruefalsn", p->s[p->i]) && p->s[p->i])
		p->i++;
	size_t n = p->i - start;
	if (n == 0)
		return -1;
	v->text = strndup(p->s + start, n);
	if (v->text == NULL)
		return -1;
	v->len = n;
	if (strcmp(v->text, "null") == 0)
		v->type = PST_JNULL;
	else if (strcmp(v->text, "true") == 0 || strcmp(v->text, "false") == 0)
		v->type = PST_JBOOL;
	else {
		char *end;
		(void)strtod(v->text, &end);
		if (*end != '\0')
			return -1;
		v->type = PST_JNUM;
	}
	return 0;
}

static int parse_value(struct jp *p, pst_jval *v, int depth)
{
	if (depth > MAX_DEPTH)
		return -1;
	skip_ws(p);
	if (p->i >= p->len)
		return -1;
	char c = p->s[p->i];
	if (c == '{' || c == '[')
		return parse_container(p, v, depth);
	if (c == '"') {
		v->type = PST_JSTR;
		return parse_string(p, &v->text, &v->len);
	}
	return parse_scalar(p, v);
}

int pst_json_parse(const char *s, size_t len, pst_jval **out)
{
	struct jp p = { s, len, 0 };
	*out = NULL;
	pst_jval *v = calloc(1, sizeof *v);
	if (v == NULL)
		return -1;
	int rc = parse_value(&p, v, 0);
	skip_ws(&p);
	if (rc < 0 || p.i != p.len) {
		free_val(v);
		free(v);
		return -1;
	}
	*out = v;
	return 0;
}

void pst_json_free(pst_jval **v)
{
	if (v == NULL || *v == NULL)
		return;
	free_val(*v);
	free(*v);
	*v = NULL;
}

const pst_jval *pst_json_get(const pst_jval *v, const char *key)
{
	if (v == NULL || v->type != PST_JOBJ)
		return NULL;
	for (size_t i = 0; i < v->nkids; i++)
		if (strcmp(v->kids[i].key, key) == 0)
			return &v->kids[i];
	return NULL;
}

const pst_jval *pst_json_at(const pst_jval *v, size_t i)
{
	if (v == NULL || v->type != PST_JARR || i >= v->nkids)
		return NULL;
	return &v->kids[i];
}

const pst_jval *pst_json_path(const pst_jval *v, const char *path)
{
	char key[128];
	const char *s = path;
	while (v && *s) {
		if (*s == '.') {
			s++;
			continue;
		}
		if (*s == '[') {
			char *end;
			unsigned long i = strtoul(s + 1, &end, 10);
			if (end == s + 1 || *end != ']')
				return NULL;
			v = pst_json_at(v, (size_t)i);
			s = end + 1;
			continue;
		}
		size_t n = strcspn(s, ".[");
		if (n >= sizeof key)
			return NULL;
		memcpy(key, s, n);
		key[n] = '\0';
		v = pst_json_get(v, key);
		s += n;
	}
	return v;
}

const char *pst_json_text(const pst_jval *v)
{
	if (v == NULL || v->type == PST_JARR || v->type == PST_JOBJ)
		return NULL;
	return v->text;
}
