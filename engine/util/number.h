/*
 * number.h: the one reader of unsigned decimal (or octal) numbers given as
 * text by a user: command-line options, test-suite directives.
 *
 * Contract: the whole string is the number: digits of the base only, at
 * least one; no sign, no white space, no prefix ("0x"), nothing after.
 * Leading zeros are allowed. The value must lie in [min, max]; a value
 * that does not fit in unsigned long long is out of range, never wrapped.
 */
#ifndef PST_UTIL_NUMBER_H
#define PST_UTIL_NUMBER_H

/* Read s (borrowed, NUL-terminated) in base 2 to 10. 0 and *out, or -1
 * with errno EINVAL (empty, a sign, junk, a bad base, s NULL) or ERANGE
 * (outside [min, max], or overflow); *out is then untouched. */
int pst_parse_number(const char *s, unsigned base, unsigned long long min,
                     unsigned long long max, unsigned long long *out);

#endif
