/*
 * utf8.h: one UTF-8 decoder for the whole engine.
 *
 * Strict RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Callers decide what an invalid sequence means to them.
 */
#ifndef PST_UTF8_H
#define PST_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the sequence at s (n > 0 bytes left). Returns its length (1 for
 * ASCII) and sets *cp, or 0 when the bytes at s are not valid UTF-8 (*cp
 * is then U+FFFD). cp may be NULL. */
size_t pst_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
