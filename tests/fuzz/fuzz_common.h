/*
 * fuzz_common.h: what the fuzz targets share: the libFuzzer entry points'
 * prototypes (declared here so -Wmissing-prototypes stays quiet) and a
 * check that aborts with a message when an invariant does not hold, so
 * libFuzzer records the input as a crash; and the predicates that decide
 * which inputs a round trip applies to.
 */
#ifndef PST_FUZZ_COMMON_H
#define PST_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PST_FUZZ_CHECK(cond, what) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", \
		        __FILE__, __LINE__, (what), #cond); \
		abort(); \
	} \
} while (0)

/* Whether n bytes of s are well-formed UTF-8 (no overlongs, surrogates or
 * code points over U+10FFFF). */
static inline int pst_fuzz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3; cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff
		    || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Whether c is an RFC 5322 atext byte (ASCII). */
static inline int pst_fuzz_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Whether s is local@domain, both dot-atoms of ASCII atext: an addr-spec
 * that is written back as it reads. */
static inline int pst_fuzz_plain_spec(const char *s)
{
	const char *at = strchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '@')
			continue;
		if (*p == '.') {
			if (p == s || p[-1] == '.' || p[-1] == '@' || p[1] == '\0' || p[1] == '@'
			    || p[1] == '.')
				return 0;
			continue;
		}
		if (!pst_fuzz_atext((unsigned char)*p))
			return 0;
	}
	return 1;
}

#endif
