/* Unit tests for engine/auth/psl.c: our Public Suffix List reader, the
 * organizational domain (RFC 7489 3.2) and identifier alignment (3.1),
 * over an inline list and over Debian's installed list. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "auth/psl.h"
#include "util/limits.h"

static const char list[] =
	"// a comment line\n"
	"// ===BEGIN ICANN DOMAINS===\n"
	"com\n"
	"org\n"
	"net\n"
	"uk\n"
	"co.uk\n"
	"   \n"
	"*.ck\n"
	"!www.ck\n"
	"jp\n"
	"*.kawasaki.jp\n"
	"!city.kawasaki.jp\n"
	"\xe5\x85\xac\xe5\x8f\xb8.cn    text after white space is ignored\n" /* 公司.cn */
	"cn\n"
	"a.*.bad\n"                      /* a wildcard not in first place: skipped */
	"// ===END ICANN DOMAINS===\n"
	"// ===BEGIN PRIVATE DOMAINS===\n"
	"blogspot.com\r\n"
	"// ===END PRIVATE DOMAINS===";

static pst_psl *load_inline(void)
{
	pst_psl *p = NULL;
	pst_buf err = PST_BUF_INIT;

	if (pst_psl_load_text(list, sizeof list - 1, &p, &err) != 0)
		fail_msg("load: %s", pst_buf_str(&err));
	pst_buf_free(&err);
	return p;
}

static void check_org(const pst_psl *p, const char *in, const char *want)
{
	char buf[PST_MAX_DOMAIN_BYTES + 1];
	const char *got = pst_psl_org_domain(p, in, buf, sizeof buf);

	if (want == NULL && got != NULL)
		fail_msg("%s: got %s, want none", in, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("%s: got %s, want %s", in, got ? got : "none", want);
}

static void inline_list_loads(void **state)
{
	(void)state;
	pst_psl *p = load_inline();
	assert_int_equal(pst_psl_rule_count(p), 13);
	assert_int_equal(pst_psl_skipped(p), 1);
	pst_psl_free(&p);
	assert_null(p);
	pst_psl_free(&p);
	pst_psl_free(NULL);
}

static void org_domains(void **state)
{
	(void)state;
	pst_psl *p = load_inline();
	static const char *const cases[][2] = {
		{ "example.com", "example.com" },
		{ "a.b.example.com", "example.com" },
		{ "com", NULL },
		{ "co.uk", NULL },
		{ "example.co.uk", "example.co.uk" },
		{ "mail.example.co.uk", "example.co.uk" },
		{ "example.uk", "example.uk" },
		/* wildcard: every label under ck is a suffix */
		{ "ck", NULL },
		{ "test.ck", NULL },
		{ "b.test.ck", "b.test.ck" },
		{ "a.b.test.ck", "b.test.ck" },
		/* exception: www.ck is registrable after all */
		{ "www.ck", "www.ck" },
		{ "www.www.ck", "www.ck" },
		{ "x.kawasaki.jp", NULL },
		{ "y.x.kawasaki.jp", "y.x.kawasaki.jp" },
		{ "city.kawasaki.jp", "city.kawasaki.jp" },
		{ "www.city.kawasaki.jp", "city.kawasaki.jp" },
		/* unlisted TLD: the implicit "*" rule */
		{ "example.example", "example.example" },
		{ "a.b.example.example", "example.example" },
		{ "example", NULL },
		/* a Unicode rule matches the A-label form, and Unicode input */
		{ "xn--55qx5d.cn", NULL },
		{ "shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn" },
		{ "www.\xe9\xa3\x9f\xe7\x8b\xae.\xe5\x85\xac\xe5\x8f\xb8.cn", "xn--85x722f.xn--55qx5d.cn" },
		/* the PRIVATE section is loaded */
		{ "blogspot.com", NULL },
		{ "alice.blogspot.com", "alice.blogspot.com" },
		/* input forms */
		{ "WwW.Example.COM", "example.com" },
		{ "www.example.com.", "example.com" },
		{ ".example.com", NULL },
		{ "a..example.com", NULL },
		{ "", NULL },
		{ "exa mple.com", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_org(p, cases[i][0], cases[i][1]);
	check_org(p, NULL, NULL);
	char small[8];
	assert_null(pst_psl_org_domain(p, "example.com", small, sizeof small));
	assert_int_equal(pst_psl_is_public_suffix(p, "co.uk"), 1);
	assert_int_equal(pst_psl_is_public_suffix(p, "example.co.uk"), 0);
	pst_psl_free(&p);
}

static void alignment(void **state)
{
	(void)state;
	pst_psl *p = load_inline();
	static const struct { const char *a, *b; int strict, want; } cases[] = {
		{ "example.org", "example.org", 1, 1 },
		{ "example.org", "example.org", 0, 1 },
		/* libopendmarc 1.4.2 passes this with a PSL loaded: not aligned */
		{ "sub.example.org", "example.org", 1, 0 },
		{ "example.org", "sub.example.org", 1, 0 },
		{ "sub.example.org", "example.org", 0, 1 },
		{ "a.example.org", "b.example.org", 0, 1 },
		{ "a.example.org", "b.example.org", 1, 0 },
		{ "example.org", "example.net", 0, 0 },
		{ "badexample.org", "example.org", 0, 0 },
		{ "Mail.Example.ORG", "example.org.", 0, 1 },
		/* a public suffix aligns with nothing (libopendmarc's suffix test
		 * lets example.co.uk align with co.uk) */
		{ "example.co.uk", "co.uk", 0, 0 },
		{ "co.uk", "example.co.uk", 0, 0 },
		{ "co.uk", "co.uk", 0, 0 },
		{ "co.uk", "co.uk", 1, 0 },
		{ "a.example.co.uk", "b.example.co.uk", 0, 1 },
		{ "a.example.co.uk", "b.other.co.uk", 0, 0 },
		/* under a wildcard rule */
		{ "a.b.test.ck", "b.test.ck", 0, 1 },
		{ "b.test.ck", "c.test.ck", 0, 0 },
		{ "..example.org", "example.org", 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = pst_psl_aligned(p, cases[i].a, cases[i].b, cases[i].strict);
		if (got != cases[i].want)
			fail_msg("%s ~ %s (%s): got %d, want %d", cases[i].a, cases[i].b,
			         cases[i].strict ? "strict" : "relaxed", got, cases[i].want);
	}
	assert_int_equal(pst_psl_aligned(p, NULL, "example.org", 0), 0);
	assert_int_equal(pst_psl_aligned(NULL, "example.org", "example.org", 1), 0);
	pst_psl_free(&p);
}

static void load_errors(void **state)
{
	(void)state;
	pst_psl *p = NULL;
	pst_buf err = PST_BUF_INIT;

	assert_int_equal(pst_psl_load_file("/nonexistent/psl.dat", &p, &err), -1);
	assert_null(p);
	assert_non_null(strstr(pst_buf_str(&err), "/nonexistent/psl.dat: "));
	pst_buf_clear(&err);
	assert_int_equal(pst_psl_load_text("// only comments\n\n", 19, &p, &err), -1);
	assert_non_null(strstr(pst_buf_str(&err), "no rules"));
	assert_int_equal(pst_psl_load_text(NULL, 0, &p, NULL), -1);
	pst_buf_free(&err);
}

static void installed_list(void **state)
{
	(void)state;
	pst_psl *p = NULL;
	pst_buf err = PST_BUF_INIT;

	if (pst_psl_load_file(NULL, &p, &err) != 0)
		fail_msg("default list: %s", pst_buf_str(&err));
	pst_buf_free(&err);
	assert_true(pst_psl_rule_count(p) > 5000);
	check_org(p, "mail.example.com", "example.com");
	check_org(p, "news.shop.example.co.uk", "example.co.uk");
	check_org(p, "a.b.test.ck", "b.test.ck");
	check_org(p, "www.ck", "www.ck");
	check_org(p, "foo.bar.blogspot.com", "bar.blogspot.com");
	assert_int_equal(pst_psl_aligned(p, "bounces.example.net", "shop.example.com", 0), 0);
	assert_int_equal(pst_psl_aligned(p, "mail.shop.example.com", "shop.example.com", 0), 1);
	pst_psl_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(inline_list_loads),
		cmocka_unit_test(org_domains),
		cmocka_unit_test(alignment),
		cmocka_unit_test(load_errors),
		cmocka_unit_test(installed_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
