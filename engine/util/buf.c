/*
 * buf.c: growable byte buffer; see buf.h for the contract.
 */
#include "util/buf.h"
#include "util/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pst_buf_reserve(pst_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	p[b->len] = '\0';   /* a fresh allocation is terminated too (buf.h) */
	b->data = p;
	b->cap = cap;
	return 0;
}

int pst_buf_append(pst_buf *b, const void *p, size_t n)
{
	if (pst_buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int pst_buf_puts(pst_buf *b, const char *s)
{
	return pst_buf_append(b, s, strlen(s));
}

int pst_buf_putc(pst_buf *b, char c)
{
	return pst_buf_append(b, &c, 1);
}

int pst_buf_vprintf(pst_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || pst_buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int pst_buf_printf(pst_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = pst_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void pst_buf_clear(pst_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void pst_buf_free(pst_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *pst_buf_steal(pst_buf *b, size_t *len)
{
	if (b->data == NULL && pst_buf_reserve(b, 0) < 0)
		return NULL;
	b->data[b->len] = '\0';
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *pst_buf_str(const pst_buf *b)
{
	return b->data ? b->data : "";
}

int pst_buf_json_str(pst_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	if (pst_buf_putc(b, '"') < 0)
		return -1;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		int rc = 0;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			rc = pst_buf_append(b, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': rc = pst_buf_puts(b, "\\n"); break;
			case '\r': rc = pst_buf_puts(b, "\\r"); break;
			case '\t': rc = pst_buf_puts(b, "\\t"); break;
			default: rc = pst_buf_printf(b, "\\u%04x", c); break;
			}
			i++;
		} else {
			size_t len = pst_utf8_decode(p + i, n - i, NULL);
			if (len == 0) {
				rc = pst_buf_puts(b, "\\ufffd");
				i++;
			} else {
				rc = pst_buf_append(b, p + i, len);
				i += len;
			}
		}
		if (rc < 0)
			return -1;
	}
	return pst_buf_putc(b, '"');
}

int pst_buf_log_start(pst_buf *b)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	if (gmtime_r(&now, &tm) == NULL || strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(ts, sizeof ts, "%lld", (long long)now);
	return pst_buf_printf(b, "{\"time\":\"%s\"", ts);
}

int pst_buf_log_event(pst_buf *b, const char *event, const char *fmt, va_list ap)
{
	if (pst_buf_log_start(b) < 0 || pst_buf_printf(b, ",\"event\":\"%s\"", event) < 0 ||
	    pst_buf_vprintf(b, fmt, ap) < 0)
		return -1;
	return pst_buf_putc(b, '}');
}

int pst_buf_json_member(pst_buf *b, const char *key, const char *val)
{
	if (pst_buf_printf(b, ",\"%s\":", key) < 0)
		return -1;
	return val ? pst_buf_json_str(b, val, strlen(val)) : pst_buf_puts(b, "null");
}
