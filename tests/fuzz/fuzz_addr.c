/*
 * fuzz_addr.c: libFuzzer target for address lists (engine/msg/addr.c) and
 * RFC 2047 encoded-words (engine/msg/rfc2047.c).
 *
 * The input is one unfolded field value. It is parsed as an address list
 * and decoded as RFC 2047 text. Round trips where an invariant holds:
 * - decode(encode(x)) == x for valid UTF-8 x that encode actually turned
 *   into encoded-words (a plain copy may itself hold "=?...?=" words);
 * - a parsed mailbox with a plain display name (printable, single spaces,
 *   no "=?") and a dot-atom addr-spec, formatted with pst_addr_format and
 *   parsed again, gives back one good mailbox with the same display name
 *   and addr-spec.
 */
#include "config.h"

#include <string.h>

#include "fuzz_common.h"
#include "msg/addr.h"
#include "msg/rfc2047.h"

/* Printable (ASCII or valid UTF-8 without C0/C1 controls), no leading,
 * trailing or double spaces, no encoded-word opener. */
static int pst_fuzz_plain_display(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || strstr(s, "  ") || strstr(s, "=?"))
		return 0;
	if (!pst_fuzz_utf8_ok((const unsigned char *)s, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0)
			return 0;   /* C1 control */
	}
	return 1;
}

static void pst_fuzz_addr_roundtrip(pst_arena *a, const pst_addr *it)
{
	if (it->flags & (PST_ADDR_BAD | PST_ADDR_GROUP))
		return;
	if (!pst_fuzz_plain_spec(it->addr_spec) || !pst_fuzz_plain_display(it->display))
		return;
	char *f = pst_addr_format(a, it->display, it->addr_spec);
	PST_FUZZ_CHECK(f != NULL, "format");
	pst_addr_list again;
	PST_FUZZ_CHECK(pst_addr_parse_list(a, f, strlen(f), 0, &again) == 0, "reparse");
	PST_FUZZ_CHECK(again.count == 1, "one mailbox after format");
	PST_FUZZ_CHECK(!(again.items[0].flags & PST_ADDR_BAD), "formatted mailbox parses");
	PST_FUZZ_CHECK(strcmp(again.items[0].addr_spec, it->addr_spec) == 0, "same addr-spec");
	PST_FUZZ_CHECK(strcmp(again.items[0].display, it->display) == 0, "same display name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	pst_arena *a = pst_arena_new();
	if (a == NULL)
		return 0;

	pst_addr_list list;
	if (pst_addr_parse_list(a, in, size, 0, &list) == 0) {
		for (size_t i = 0; i < list.count; i++) {
			const pst_addr *it = &list.items[i];
			PST_FUZZ_CHECK(it->addr_spec && it->display && it->local && it->domain,
			               "strings set");
			PST_FUZZ_CHECK(strlen(it->domain) <= it->domain_len, "domain_len");
			pst_fuzz_addr_roundtrip(a, it);
		}
	}

	char *dec = NULL;
	size_t declen = 0;
	int words = pst_rfc2047_decode(a, in, size, &dec, &declen);
	if (words >= 0) {
		PST_FUZZ_CHECK(dec != NULL && dec[declen] == '\0', "decoded text terminated");
		if (words == 0)
			PST_FUZZ_CHECK(declen == size && memcmp(dec, in, size) == 0, "copy when no words");
	}

	char *enc = pst_rfc2047_encode(a, in, size);
	if (enc != NULL && pst_fuzz_utf8_ok(data, size)
	    && (strlen(enc) != size || memcmp(enc, in, size) != 0)) {
		char *back = NULL;
		size_t backlen = 0;
		int n = pst_rfc2047_decode(a, enc, strlen(enc), &back, &backlen);
		PST_FUZZ_CHECK(n > 0, "encoded text decodes");
		PST_FUZZ_CHECK(backlen == size && memcmp(back, in, size) == 0,
		               "decode(encode(x)) == x");
	}
	pst_arena_free(&a);
	return 0;
}
