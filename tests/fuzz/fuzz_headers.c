/*
 * fuzz_headers.c: libFuzzer target for the RFC 5322 header parser
 * (engine/msg/msg.c).
 *
 * The input is a whole message. It is parsed with the default limits and
 * again with tiny ones (so the limit paths run too). Invariants checked:
 * every field's raw bytes, the separator and the body put back together are
 * the input byte for byte; value_len agrees with the NUL-terminated copy
 * when the field has no NUL; the name lookups agree with the field list;
 * a malformed field has no name, is never found, and is the only field
 * that may start with white space, as the first after the mbox line; the
 * header section is read to the blank line or the end (no separator, no
 * body). The author (engine/msg/author.c) is read without error: a
 * readable one has an address and a domain, an unreadable one neither; a
 * readable author whose addr-spec is a plain dot-atom one, written as a
 * From field with pst_addr_format and read again, is the same address with
 * the same domain.
 */
#include "config.h"

#include <string.h>

#include "fuzz_common.h"
#include "msg/addr.h"
#include "msg/author.h"
#include "msg/msg.h"
#include "util/arena.h"
#include "util/limits.h"

/* The author written back as a From field reads as the same author. */
static void pst_fuzz_author_roundtrip(pst_arena *arena, const pst_author *a)
{
	if (!pst_fuzz_plain_spec(a->addr->addr_spec))
		return;
	const char *f = pst_addr_format(arena, "", a->addr->addr_spec);
	PST_FUZZ_CHECK(f != NULL, "format");
	size_t flen = strlen(f);
	char *msg = pst_arena_alloc(arena, flen + 9);
	PST_FUZZ_CHECK(msg != NULL, "arena");
	memcpy(msg, "From: ", 6);
	memcpy(msg + 6, f, flen);
	memcpy(msg + 6 + flen, "\n\n", 3);
	pst_msg *m = NULL;
	PST_FUZZ_CHECK(pst_msg_parse(msg, flen + 8, NULL, &m, NULL) == 0, "rendered From parses");
	pst_author again;
	PST_FUZZ_CHECK(pst_msg_author(m, arena, &again) == 0, "author of the rendered From");
	PST_FUZZ_CHECK(again.error == NULL, "rendered author readable");
	PST_FUZZ_CHECK(strcmp(again.addr->addr_spec, a->addr->addr_spec) == 0, "same address");
	PST_FUZZ_CHECK(strcmp(again.domain, a->domain) == 0, "same domain");
	pst_msg_free(&m);
}

/* The author is read: readable with an address and a domain, or not with
 * neither; the domains are bounded and set. */
static void pst_fuzz_check_author(pst_msg *m)
{
	pst_arena *arena = pst_arena_new();
	if (arena == NULL)
		return;
	pst_author a;
	PST_FUZZ_CHECK(pst_msg_author(m, arena, &a) == 0, "author read");
	PST_FUZZ_CHECK(a.nfields == pst_msg_count(m, "From", 4), "From fields counted");
	PST_FUZZ_CHECK(a.ndomains <= PST_MAX_AUTHOR_DOMAINS, "author domains bounded");
	for (size_t i = 0; i < a.ndomains; i++)
		PST_FUZZ_CHECK(a.domains[i].domain != NULL && *a.domains[i].domain, "author domain set");
	if (a.error == NULL) {
		PST_FUZZ_CHECK(a.addr != NULL && a.addr->addr_spec != NULL, "author address");
		PST_FUZZ_CHECK(a.domain != NULL && *a.domain, "author domain");
		PST_FUZZ_CHECK(a.nfields == 1 && a.count == 1, "one author");
		PST_FUZZ_CHECK(!(a.addr->flags & (PST_ADDR_BAD | PST_ADDR_GROUP)), "a plain mailbox");
		pst_fuzz_author_roundtrip(arena, &a);
	} else {
		PST_FUZZ_CHECK(a.addr == NULL && a.domain == NULL, "no author, no address");
	}
	pst_arena_free(&arena);
}

static void pst_fuzz_check_msg(pst_msg *m, const uint8_t *data, size_t size)
{
	size_t n = pst_msg_field_count(m);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		const pst_msg_field *f = pst_msg_field_at(m, i);
		PST_FUZZ_CHECK(f != NULL, "field in range");
		PST_FUZZ_CHECK(off + f->raw_len <= size, "fields within the input");
		PST_FUZZ_CHECK(memcmp(data + off, f->raw, f->raw_len) == 0, "raw bytes in order");
		off += f->raw_len;
		size_t vlen;
		const char *v = pst_msg_value(m, f, &vlen);
		PST_FUZZ_CHECK(v != NULL, "value made");
		PST_FUZZ_CHECK(vlen <= f->raw_len, "value within the field");
		if (!(pst_msg_value_flags(m, f) & PST_MSG_FIELD_NUL))
			PST_FUZZ_CHECK(strlen(v) == vlen, "value_len");
		else
			PST_FUZZ_CHECK(memchr(v, '\0', vlen) != NULL, "NUL flag");
		int first = i == 0 || (i == 1 && (pst_msg_field_at(m, 0)->flags & PST_MSG_FIELD_MBOX_FROM));
		if (f->raw_len > 0 && (f->raw[0] == ' ' || f->raw[0] == '\t'))
			PST_FUZZ_CHECK(first && (f->flags & PST_MSG_FIELD_MALFORMED), "white space starts a field");
		if (f->flags & PST_MSG_FIELD_MALFORMED) {
			PST_FUZZ_CHECK(f->name_len == 0, "a malformed field has no name");
			PST_FUZZ_CHECK(pst_msg_find_next(m, f->name, 0, f->name_hash, 0) == -1,
			               "a malformed field is never found");
		} else if (!(f->flags & PST_MSG_FIELD_MBOX_FROM)) {
			PST_FUZZ_CHECK(f->name_len > 0, "a field has a name");
			long at = pst_msg_find_next(m, f->name, f->name_len,
			                            pst_msg_name_hash(f->name, f->name_len), i);
			PST_FUZZ_CHECK(at == (long)i, "find_next finds the field itself");
			PST_FUZZ_CHECK(pst_msg_count(m, f->name, f->name_len) >= 1, "count");
			if (n <= 200) {     /* the name index against a plain scan */
				size_t same = 0;
				for (size_t j = 0; j < n; j++) {
					const pst_msg_field *g = pst_msg_field_at(m, j);
					same += !(g->flags & PST_MSG_FIELD_MBOX_FROM) &&
					        pst_msg_name_eq(g->name, g->name_len, f->name, f->name_len);
				}
				PST_FUZZ_CHECK(pst_msg_count(m, f->name, f->name_len) == same, "count by index");
			}
		}
	}
	PST_FUZZ_CHECK(pst_msg_field_at(m, n) == NULL, "field out of range");
	const char *sep = pst_msg_separator(m);
	size_t seplen = strlen(sep);
	PST_FUZZ_CHECK(off + seplen <= size, "separator within the input");
	PST_FUZZ_CHECK(memcmp(data + off, sep, seplen) == 0, "separator bytes");
	off += seplen;
	PST_FUZZ_CHECK(pst_msg_body_offset(m) == off, "body offset");
	PST_FUZZ_CHECK(off + pst_msg_body_len(m) == size, "fields + separator + body == input");
	PST_FUZZ_CHECK(pst_msg_has_separator(m) || pst_msg_body_len(m) == 0, "no separator, no body");
	PST_FUZZ_CHECK(pst_msg_size(m) == size, "size");
	pst_fuzz_check_author(m);
	(void)pst_msg_find(m, "Subject", 7, 0);
	(void)pst_msg_eol(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pst_msg *m = NULL;
	pst_msg_error err;
	if (pst_msg_parse((const char *)data, size, NULL, &m, &err) == 0) {
		pst_fuzz_check_msg(m, data, size);
		pst_msg_free(&m);
	} else {
		PST_FUZZ_CHECK(m == NULL, "no message on failure");
		PST_FUZZ_CHECK(err.code != PST_MSG_OK, "an error code on failure");
	}
	pst_msg_limits tiny = { 256, 4 };
	if (pst_msg_parse((const char *)data, size, &tiny, &m, &err) == 0) {
		PST_FUZZ_CHECK(pst_msg_field_count(m) <= 5, "field limit");
		pst_fuzz_check_msg(m, data, size);
		pst_msg_free(&m);
	}
	return 0;
}
