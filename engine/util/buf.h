/*
 * buf.h: a growable byte buffer.
 *
 * A pst_buf owns its bytes. It is always NUL-terminated (the NUL is not
 * counted in len) so text can be handed to C string functions, but it may
 * hold NUL bytes of its own. Allocation failure is reported by return value;
 * the buffer is then left as it was.
 */
#ifndef PST_BUF_H
#define PST_BUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct pst_buf {
	char *data;   /* owned; NULL until the first append */
	size_t len;   /* bytes used, not counting the trailing NUL */
	size_t cap;   /* bytes allocated */
} pst_buf;

#define PST_BUF_INIT { NULL, 0, 0 }

/* Make room for len + extra bytes plus a NUL. 0 on success, -1 on ENOMEM. */
int pst_buf_reserve(pst_buf *b, size_t extra);
/* Append n bytes. 0 / -1. */
int pst_buf_append(pst_buf *b, const void *p, size_t n);
/* Append a C string. 0 / -1. */
int pst_buf_puts(pst_buf *b, const char *s);
/* Append one byte. 0 / -1. */
int pst_buf_putc(pst_buf *b, char c);
/* Append printf-style text. 0 / -1. */
int pst_buf_printf(pst_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pst_buf_vprintf(pst_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Forget the contents, keep the allocation. */
void pst_buf_clear(pst_buf *b);
/* Free the bytes; the buffer is empty and reusable afterwards. */
void pst_buf_free(pst_buf *b);
/* Hand the bytes to the caller (free() them); the buffer becomes empty.
 * Returns an empty allocated string when nothing was appended; NULL on ENOMEM. */
char *pst_buf_steal(pst_buf *b, size_t *len);
/* Text accessor: never NULL ("" when empty). Borrowed. */
const char *pst_buf_str(const pst_buf *b);

/* Append s as a JSON string literal, quotes included, escaping control
 * characters and invalid UTF-8 (as U+FFFD). 0 / -1. */
int pst_buf_json_str(pst_buf *b, const char *s, size_t n);

/* Append ,"key":"val" (val as pst_buf_json_str), or ,"key":null when val
 * is NULL: a member after the first of a JSON object. key is written as
 * is (a literal of the caller's). 0 / -1. */
int pst_buf_json_member(pst_buf *b, const char *key, const char *val);

/* Start a JSON log line: append {"time":"YYYY-MM-DDTHH:MM:SSZ" (UTC, now),
 * the object left open for the caller's members. 0 / -1. */
int pst_buf_log_start(pst_buf *b);

/* A whole JSON event line, without its newline: pst_buf_log_start(), then
 * ,"event":"EVENT" and the members fmt gives (each starting with a comma),
 * and the closing brace. 0 / -1. */
int pst_buf_log_event(pst_buf *b, const char *event, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
