/*
 * number.c: unsigned numbers from user text (number.h).
 *
 * Contract: number.h. Digits are read one by one, with an overflow check
 * before each step, rather than through strtoull, which accepts leading
 * white space and a sign (and negates "-1" into a huge value).
 */
#include "util/number.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>

int pst_parse_number(const char *s, unsigned base, unsigned long long min,
                     unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	int overflow = 0;

	if (s == NULL || *s == '\0' || base < 2 || base > 10) {
		errno = EINVAL;
		return -1;
	}
	for (; *s != '\0'; s++) {
		unsigned d = (unsigned)((unsigned char)*s - '0');
		if (d >= base) {
			errno = EINVAL;
			return -1;
		}
		if (v > (ULLONG_MAX - d) / base)
			overflow = 1;       /* keep going: junk later is still EINVAL */
		else
			v = v * base + d;
	}
	if (overflow || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}
