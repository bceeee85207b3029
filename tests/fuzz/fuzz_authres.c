/*
 * fuzz_authres.c: libFuzzer target for the Authentication-Results parser
 * and writer (engine/auth/authres.c).
 *
 * The input is one field value. Checks:
 * - a failed parse leaves *out zeroed (version 1) and says where ("col N:");
 * - when the parse succeeds with a token authserv-id and the value holds
 *   no backslash, pst_authres_has_id agrees that the value bears that id;
 * - format -> parse -> format: what pst_authres_format writes parses again
 *   and formats to the same bytes;
 * - the comments the parser keeps (after the authserv-id, after a result)
 *   survive that trip: a non-empty one comes back as a prefix of itself
 *   (the writer caps its length), an absent or empty one as nothing.
 * pst_authres_has_id also runs on every input, with a fixed id, and so
 * does pst_authres_salvage: it reads every value (it fails only on
 * ENOMEM), each result it gives has a method, and a value the parser
 * accepts is not salvaged.
 */
#include "config.h"

#include <string.h>

#include "auth/authres.h"
#include "fuzz_common.h"
#include "util/buf.h"

static int pst_fuzz_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		      || c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* Whether a comment kept by the second parse is what the first one kept,
 * cut by the writer's cap: a non-empty prefix of a non-empty comment, or
 * nothing for nothing. */
static int pst_fuzz_comment_kept(const char *first, const char *second)
{
	if (first == NULL || *first == '\0')
		return second == NULL;
	return second != NULL && *second != '\0' && strlen(second) <= strlen(first) &&
	       strncmp(first, second, strlen(second)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	(void)pst_authres_has_id(in, size, "mx.example.net");

	pst_arena *a = pst_arena_new();
	if (a == NULL)
		return 0;
	pst_authres ar;
	unsigned how;
	PST_FUZZ_CHECK(pst_authres_salvage(a, in, size, &ar, &how) == 0, "salvage reads every value");
	for (size_t i = 0; i < ar.nresults; i++)
		PST_FUZZ_CHECK(ar.results[i].method != NULL, "a salvaged result has a method");
	char err[256];
	if (pst_authres_parse(a, in, size, &ar, err, sizeof err) < 0) {
		PST_FUZZ_CHECK(how & PST_AUTHRES_SALVAGED, "what does not parse is salvaged");
		PST_FUZZ_CHECK(ar.authserv_id == NULL && ar.nresults == 0 && ar.version == 1,
		               "zeroed after failure");
		pst_arena_free(&a);
		return 0;
	}
	PST_FUZZ_CHECK(how == 0, "what parses is not salvaged");
	PST_FUZZ_CHECK(ar.authserv_id != NULL, "an authserv-id");
	if (pst_fuzz_token(ar.authserv_id) && memchr(in, '\\', size) == NULL)
		PST_FUZZ_CHECK(pst_authres_has_id(in, size, ar.authserv_id) == 1,
		               "has_id finds the parsed id");
	for (size_t i = 0; i < ar.nresults; i++)
		PST_FUZZ_CHECK(ar.results[i].method && ar.results[i].result, "method and result");

	pst_buf once = PST_BUF_INIT;
	if (pst_authres_format(&ar, &once) == 0) {
		pst_authres ar2;
		const char *s = once.data ? once.data : "";
		int rc = pst_authres_parse(a, s, once.len, &ar2, err, sizeof err);
		if (rc != 0)
			fprintf(stderr, "formatted: [%s]: %s\n", s, err);
		PST_FUZZ_CHECK(rc == 0, "formatted field parses");
		PST_FUZZ_CHECK(ar2.nresults == ar.nresults, "same number of results");
		PST_FUZZ_CHECK(pst_fuzz_comment_kept(ar.comment, ar2.comment),
		               "the comment after the authserv-id survives");
		for (size_t i = 0; i < ar.nresults && i < ar2.nresults; i++)
			PST_FUZZ_CHECK(pst_fuzz_comment_kept(ar.results[i].comment,
			                                     ar2.results[i].comment),
			               "the comment after a result survives");
		pst_buf twice = PST_BUF_INIT;
		PST_FUZZ_CHECK(pst_authres_format(&ar2, &twice) == 0, "reformat");
		PST_FUZZ_CHECK(twice.len == once.len && memcmp(twice.data, once.data, once.len) == 0,
		               "format(parse(format(x))) == format(x)");
		pst_buf_free(&twice);
	}
	pst_buf_free(&once);
	pst_arena_free(&a);
	return 0;
}
