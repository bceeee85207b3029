/*
 * rfc2047.h: RFC 2047 encoded-words ("=?charset?B|Q?text?=") in header
 * values, decoded to UTF-8 through iconv.
 *
 * White space between adjacent encoded-words is dropped (RFC 2047 6.2).
 * RFC 2231 language suffixes ("=?utf-8*en?Q?...?=") are accepted. A word
 * whose charset iconv does not know, or whose bytes are invalid in it, is
 * left as written. Bounded: output is at most 3x input plus a little.
 */
#ifndef PST_RFC2047_H
#define PST_RFC2047_H

#include <stddef.h>

#include "util/arena.h"

/* Decode in (len bytes) into a NUL-terminated string from arena (*out,
 * *outlen). Returns the number of encoded-words decoded (0 means *out is a
 * copy of in), or -1 on ENOMEM. */
int pst_rfc2047_decode(pst_arena *arena, const char *in, size_t len, char **out, size_t *outlen);

/* The first "=?" in in (len bytes), where an encoded-word could start, or
 * NULL: a text without it decodes to itself. Borrowed from in. */
const char *pst_rfc2047_find_start(const char *in, size_t len);

/* Encode UTF-8 text for a header value when it needs it: ASCII text without
 * control characters is returned as a copy; anything else becomes
 * "=?UTF-8?B?...?=" words of at most 75 characters, separated by a space.
 * From arena; NULL on ENOMEM. */
char *pst_rfc2047_encode(pst_arena *arena, const char *in, size_t len);

#endif
