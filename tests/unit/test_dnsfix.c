/* Unit tests for engine/dns: the fixture file (parsing, errors, answers)
 * and the wire form of answers, read back with libresolv's parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>

#include "dns/fixture.h"
#include "util/buf.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define FIXTURE(name) DNS_FIXTURE_DIR "/" name

static pst_dnsfix *load_text_or_fail(const char *text)
{
	pst_buf errors = PST_BUF_INIT;
	pst_dnsfix *f = NULL;

	if (pst_dnsfix_load_text("inline", text, strlen(text), &f, &errors) != 0)
		fail_msg("load failed, want success:\n%s", pst_buf_str(&errors));
	assert_non_null(f);
	assert_int_equal(errors.len, 0);
	pst_buf_free(&errors);
	return f;
}

/* The loader's error text for text (load must fail). Caller frees. */
static char *load_errors(const char *name, const char *text, size_t len)
{
	pst_buf errors = PST_BUF_INIT;
	pst_dnsfix *f = (pst_dnsfix *)&errors; /* must become NULL */

	if (pst_dnsfix_load_text(name, text, len, &f, &errors) != -1)
		fail_msg("load of %s succeeded, want errors", name);
	assert_null(f);
	return pst_buf_steal(&errors, NULL);
}

/* Compare error text line by line, naming the first line that differs. */
static void check_errors(const char *got, const char *want)
{
	const char *g = got, *w = want;
	int line = 1;

	while (*g || *w) {
		size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
		if (gl != wl || memcmp(g, w, gl) != 0 || g[gl] != w[wl])
			fail_msg("error line %d: got \"%.*s\", want \"%.*s\"", line, (int)gl, g,
				 (int)wl, w);
		g += gl + (g[gl] != '\0');
		w += wl + (w[wl] != '\0');
		line++;
	}
}

/* What one record should hold: text for TXT/SPF, the address for A/AAAA,
 * "PREF TARGET" for MX, the target for the other types. */
static void rr_text(const pst_dns_rr *rr, char *buf, size_t len)
{
	switch (rr->type) {
	case ns_t_a:
	case ns_t_aaaa:
		pst_ip_format(&rr->addr, buf, len);
		break;
	case ns_t_txt:
	case ns_t_spf:
		snprintf(buf, len, "%.*s", (int)rr->text_len, rr->text);
		break;
	case ns_t_mx:
		snprintf(buf, len, "%u %s", rr->pref, rr->target);
		break;
	default:
		snprintf(buf, len, "%s", rr->target);
		break;
	}
}

struct query_case {
	const char *name;
	int type;
	pst_dns_status status;
	const char *want[3];   /* the records, in order (rr_text form) */
	size_t chain_len;
	const char *final;     /* ans.name when CNAMEs were followed */
};

static void run_queries(const pst_dnsfix *f, const struct query_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct query_case *q = &cases[i];
		pst_dns_answer ans;
		pst_dns_status st = pst_dnsfix_query(f, q->name, q->type, &ans);
		size_t want_count = 0;

		while (want_count < 3 && q->want[want_count])
			want_count++;
		if (st != q->status || ans.status != st)
			fail_msg("%s %s: got %s, want %s", q->name, pst_dns_type_name(q->type),
				 pst_dns_status_name(st), pst_dns_status_name(q->status));
		if (ans.count != want_count)
			fail_msg("%s %s: got %zu records, want %zu", q->name,
				 pst_dns_type_name(q->type), ans.count, want_count);
		for (size_t r = 0; r < want_count; r++) {
			char got[512];
			rr_text(&ans.rrs[r], got, sizeof got);
			if (strcmp(got, q->want[r]) != 0)
				fail_msg("%s %s record %zu: got \"%s\", want \"%s\"", q->name,
					 pst_dns_type_name(q->type), r, got, q->want[r]);
			if (ans.rrs[r].type != q->type || strcmp(ans.rrs[r].owner, ans.name) != 0)
				fail_msg("%s: record %zu has type %d owner %s", q->name, r,
					 ans.rrs[r].type, ans.rrs[r].owner);
		}
		if (ans.chain_len != q->chain_len)
			fail_msg("%s: got chain of %zu, want %zu", q->name, ans.chain_len, q->chain_len);
		if (q->final && strcmp(ans.name, q->final) != 0)
			fail_msg("%s: got final name %s, want %s", q->name, ans.name, q->final);
	}
}

static void fixture_file_answers(void **state)
{
	(void)state;
	static const struct query_case cases[] = {
		{ "example.com", ns_t_txt, PST_DNS_NOERROR,
		  { "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all" }, 0, "example.com" },
		{ "EXAMPLE.Com.", ns_t_txt, PST_DNS_NOERROR,
		  { "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all" }, 0, "example.com" },
		{ "example.com.", ns_t_mx, PST_DNS_NOERROR,
		  { "10 mail.example.com", "20 backup.example.net" }, 0, NULL },
		{ "example.com", ns_t_a, PST_DNS_NODATA, { NULL }, 0, NULL },
		{ "nonexistent.example.com", ns_t_txt, PST_DNS_NXDOMAIN, { NULL }, 0,
		  "nonexistent.example.com" },
		{ "com", ns_t_txt, PST_DNS_NXDOMAIN, { NULL }, 0, NULL },
		{ "_dmarc.example.com", ns_t_txt, PST_DNS_NOERROR,
		  { "v=DMARC1; p=reject; adkim=r; aspf=s" }, 0, NULL },
		{ "s1._domainkey.example.com", ns_t_txt, PST_DNS_NOERROR,
		  { "v=DKIM1; k=rsa; p=MIIBIjANBg" }, 0, NULL },
		{ "mail.example.com", ns_t_a, PST_DNS_NOERROR, { "192.0.2.10" }, 0, NULL },
		{ "mail.example.com", ns_t_aaaa, PST_DNS_NOERROR, { "2001:db8::10" }, 0, NULL },
		{ "MAIL2.example.com", ns_t_a, PST_DNS_NOERROR, { "192.0.2.11" }, 0, "mail2.example.com" },
		{ "www.example.com", ns_t_a, PST_DNS_NOERROR, { "192.0.2.10" }, 1, "mail.example.com" },
		{ "www.example.com", ns_t_cname, PST_DNS_NOERROR, { "mail.example.com" }, 0,
		  "www.example.com" },
		{ "www.example.com", ns_t_txt, PST_DNS_NODATA, { NULL }, 1, "mail.example.com" },
		{ "10.2.0.192.in-addr.arpa", ns_t_ptr, PST_DNS_NOERROR, { "mail.example.com" }, 0, NULL },
		{ "example.net", ns_t_ns, PST_DNS_NOERROR, { "ns1.example.net" }, 0, NULL },
		{ "_spf.example.net", ns_t_txt, PST_DNS_NOERROR, { "v=spf1 ip6:2001:db8::/32 ~all" }, 0, NULL },
		{ "example.org", ns_t_mx, PST_DNS_NOERROR, { "0 " }, 0, NULL },
		{ "legacy.example.org", ns_t_spf, PST_DNS_NOERROR, { "v=spf1 -all" }, 0, NULL },
		{ "legacy.example.org", ns_t_txt, PST_DNS_NOERROR, { "v=spf1 -all" }, 0, NULL },
		{ "legacy.example.org", ns_t_a, PST_DNS_NODATA, { NULL }, 0, NULL },
		{ "relative.example.org.", ns_t_a, PST_DNS_NOERROR, { "192.0.2.20" }, 0, NULL },
		{ "relative.example.org", ns_t_txt, PST_DNS_NOERROR,
		  { "same owner as the line above" }, 0, NULL },
		{ "broken.example", ns_t_a, PST_DNS_SERVFAIL, { NULL }, 0, NULL },
		{ "broken.example", ns_t_txt, PST_DNS_SERVFAIL, { NULL }, 0, NULL },
		{ "Broken.Example.", ns_t_mx, PST_DNS_SERVFAIL, { NULL }, 0, NULL },
		{ "sub.broken.example", ns_t_txt, PST_DNS_NXDOMAIN, { NULL }, 0, NULL },
		{ "slow.example", ns_t_txt, PST_DNS_TIMEOUT, { NULL }, 0, NULL },
		{ "slow.example", ns_t_a, PST_DNS_NOERROR, { "192.0.2.30" }, 0, NULL },
		{ "slow.example", ns_t_mx, PST_DNS_NODATA, { NULL }, 0, NULL },
		{ "", ns_t_a, PST_DNS_NXDOMAIN, { NULL }, 0, NULL },
		{ ".", ns_t_ns, PST_DNS_NXDOMAIN, { NULL }, 0, NULL },
	};
	pst_buf errors = PST_BUF_INIT;
	pst_dnsfix *f = NULL;
	pst_dns_answer ans;

	if (pst_dnsfix_load_file(FIXTURE("example.zone"), &f, &errors) != 0)
		fail_msg("load failed:\n%s", pst_buf_str(&errors));
	assert_int_equal(pst_dnsfix_record_count(f), 19);
	run_queries(f, cases, N_ELEMS(cases));
	/* TTLs: given, absent (the default 300), and after the class. */
	pst_dnsfix_query(f, "www.example.com", ns_t_cname, &ans);
	assert_int_equal(ans.rrs[0].ttl, 60);
	pst_dnsfix_query(f, "example.net", ns_t_ns, &ans);
	assert_int_equal(ans.rrs[0].ttl, 300);
	pst_dnsfix_query(f, "mail2.example.com", ns_t_a, &ans);
	assert_int_equal(ans.rrs[0].ttl, 3600);
	/* The chain names the CNAME followed. */
	pst_dnsfix_query(f, "www.example.com", ns_t_a, &ans);
	assert_string_equal(ans.chain[0]->owner, "www.example.com");
	assert_string_equal(ans.chain[0]->target, "mail.example.com");
	pst_dnsfix_free(&f);
	assert_null(f);
	pst_dnsfix_free(&f);
	pst_buf_free(&errors);
}

static void cname_chains_and_loops(void **state)
{
	(void)state;
	static const char text[] =
		"a.test. CNAME b.test.\n"
		"b.test. CNAME C.test.\n"
		"c.test. TXT \"end\"\n"
		"loop1.test. CNAME loop2.test.\n"
		"loop2.test. CNAME loop1.test.\n"
		"self.test. CNAME self.test.\n"
		"dangling.test. CNAME nowhere.test.\n"
		"failing.test. CNAME broken.test.\n"
		"$SERVFAIL broken.test.\n"
		"timing.test. CNAME t2.test.\n"
		"t2.test. A 192.0.2.1\n"
		"$TIMEOUT t2.test. A\n"
		"$SERVFAIL cut.test. TXT\n"
		"cut.test. CNAME c.test.\n"
		/* 8 CNAMEs from l0 to l8, then the data; 9 from k0. */
		"k0.test. CNAME l0.test.\n"
		"l0.test. CNAME l1.test.\nl1.test. CNAME l2.test.\nl2.test. CNAME l3.test.\n"
		"l3.test. CNAME l4.test.\nl4.test. CNAME l5.test.\nl5.test. CNAME l6.test.\n"
		"l6.test. CNAME l7.test.\nl7.test. CNAME l8.test.\nl8.test. TXT \"deep\"\n";
	static const struct query_case cases[] = {
		{ "a.test", ns_t_txt, PST_DNS_NOERROR, { "end" }, 2, "c.test" },
		{ "b.test", ns_t_txt, PST_DNS_NOERROR, { "end" }, 1, "c.test" },
		{ "a.test", ns_t_cname, PST_DNS_NOERROR, { "b.test" }, 0, "a.test" },
		{ "a.test", ns_t_mx, PST_DNS_NODATA, { NULL }, 2, "c.test" },
		{ "loop1.test", ns_t_txt, PST_DNS_SERVFAIL, { NULL }, 8, NULL },
		{ "self.test", ns_t_a, PST_DNS_SERVFAIL, { NULL }, 8, NULL },
		{ "self.test", ns_t_cname, PST_DNS_NOERROR, { "self.test" }, 0, NULL },
		{ "dangling.test", ns_t_txt, PST_DNS_NXDOMAIN, { NULL }, 1, "nowhere.test" },
		{ "failing.test", ns_t_a, PST_DNS_SERVFAIL, { NULL }, 1, "broken.test" },
		{ "timing.test", ns_t_a, PST_DNS_TIMEOUT, { NULL }, 1, "t2.test" },
		{ "timing.test", ns_t_txt, PST_DNS_NODATA, { NULL }, 1, "t2.test" },
		{ "cut.test", ns_t_txt, PST_DNS_SERVFAIL, { NULL }, 0, "cut.test" },
		{ "cut.test", ns_t_a, PST_DNS_NODATA, { NULL }, 1, "c.test" },
		{ "l0.test", ns_t_txt, PST_DNS_NOERROR, { "deep" }, 8, "l8.test" },
		{ "k0.test", ns_t_txt, PST_DNS_SERVFAIL, { NULL }, 8, NULL },
	};
	pst_dnsfix *f = load_text_or_fail(text);
	pst_dns_answer ans;

	run_queries(f, cases, N_ELEMS(cases));
	pst_dnsfix_query(f, "a.test", ns_t_txt, &ans);
	assert_string_equal(ans.chain[0]->owner, "a.test");
	assert_string_equal(ans.chain[1]->owner, "b.test");
	assert_string_equal(ans.chain[1]->target, "c.test");
	pst_dnsfix_free(&f);
}

static void txt_strings_join_and_unescape(void **state)
{
	(void)state;
	static const char text[] =
		"t1.test. TXT \"a\" \"b\" \"c\"\n"
		"t2.test. TXT \"quote \\\" and backslash \\\\ end\"\n"
		"t3.test. TXT \"\\065\\066\\067\" \"\\;\"\n"
		"t4.test. TXT \"\"\n"
		"t5.test. TXT \"semi;colon\" ; a comment \"not text\"\n"
		"t7.test. TXT \"one\"\n"
		"t7.test. TXT \"two\" \"2\"\n"
		"t8.test. TXT \"a\"\"b\"\t\"c\"\r\n"
		"T9.TEST TXT \"b\xc3\xbc" "cher\"\n"
		"t10.test. TXT \"nul\\000byte\"\n";
	static const struct query_case cases[] = {
		{ "t1.test", ns_t_txt, PST_DNS_NOERROR, { "abc" }, 0, NULL },
		{ "t2.test", ns_t_txt, PST_DNS_NOERROR, { "quote \" and backslash \\ end" }, 0, NULL },
		{ "t3.test", ns_t_txt, PST_DNS_NOERROR, { "ABC;" }, 0, NULL },
		{ "t4.test", ns_t_txt, PST_DNS_NOERROR, { "" }, 0, NULL },
		{ "t5.test", ns_t_txt, PST_DNS_NOERROR, { "semi;colon" }, 0, NULL },
		{ "t7.test", ns_t_txt, PST_DNS_NOERROR, { "one", "two2" }, 0, NULL },
		{ "t8.test", ns_t_txt, PST_DNS_NOERROR, { "abc" }, 0, NULL },
		{ "t9.test", ns_t_txt, PST_DNS_NOERROR, { "b\xc3\xbc" "cher" }, 0, NULL },
	};
	pst_dnsfix *f = load_text_or_fail(text);
	pst_dns_answer ans;

	run_queries(f, cases, N_ELEMS(cases));
	assert_int_equal(pst_dnsfix_query(f, "t10.test", ns_t_txt, &ans), PST_DNS_NOERROR);
	assert_int_equal(ans.rrs[0].text_len, 8);
	assert_memory_equal(ans.rrs[0].text, "nul\0byte", 9);
	pst_dnsfix_free(&f);
}

static void names_origin_and_unicode(void **state)
{
	(void)state;
	static const char text[] =
		"\xef\xbb\xbf; a byte order mark first\n"
		"b\xc3\xbc" "cher.example. A 192.0.2.1\n"
		"$ORIGIN Example.NET.\n"
		"@ MX 5 mx\n"
		"mx A 192.0.2.2\n"
		"abs.example.org. A 192.0.2.3\n"
		"$TTL 86400\n"
		"www CNAME @\n"
		"  A 192.0.2.9 ; continues www? no: www has a CNAME, see below\n";
	/* The continuation line above gives www an A beside its CNAME. */
	char *errs = load_errors("inline", text, strlen(text));
	check_errors(errs, "inline:9:3: error: A record: www.example.net already has a CNAME at line 8, "
			   "and a name with a CNAME has no other records\n");
	free(errs);

	/* Without the bad line, the rest loads. */
	char *good = strndup(text, (size_t)(strstr(text, "  A 192.0.2.9") - text));
	assert_non_null(good);
	pst_dnsfix *f = load_text_or_fail(good);
	static const struct query_case cases[] = {
		{ "xn--bcher-kva.example", ns_t_a, PST_DNS_NOERROR, { "192.0.2.1" }, 0, NULL },
		{ "example.net", ns_t_mx, PST_DNS_NOERROR, { "5 mx.example.net" }, 0, NULL },
		{ "mx.example.net", ns_t_a, PST_DNS_NOERROR, { "192.0.2.2" }, 0, NULL },
		{ "abs.example.org", ns_t_a, PST_DNS_NOERROR, { "192.0.2.3" }, 0, NULL },
		{ "www.example.net", ns_t_cname, PST_DNS_NOERROR, { "example.net" }, 0, NULL },
		{ "www.example.net", ns_t_mx, PST_DNS_NOERROR, { "5 mx.example.net" }, 1, "example.net" },
	};
	pst_dns_answer ans;

	run_queries(f, cases, N_ELEMS(cases));
	pst_dnsfix_query(f, "www.example.net", ns_t_cname, &ans);
	assert_int_equal(ans.rrs[0].ttl, 86400);
	pst_dnsfix_free(&f);
	free(good);
}

static void empty_and_comment_only_files_are_valid(void **state)
{
	(void)state;
	static const char *const texts[] = { "", "\n\n", "; only a comment\n   \n\t; indented\r\n" };
	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		pst_dnsfix *f = load_text_or_fail(texts[i]);
		pst_dns_answer ans;
		assert_int_equal(pst_dnsfix_record_count(f), 0);
		assert_int_equal(pst_dnsfix_query(f, "example.com", ns_t_txt, &ans), PST_DNS_NXDOMAIN);
		assert_int_equal(ans.count, 0);
		assert_null(ans.rrs);
		pst_dnsfix_free(&f);
	}
}

/* Every line wrong in its own way; all reported, in line order. */
static void malformed_lines_all_reported(void **state)
{
	(void)state;
	static const char text[] =
		"ok.test. TXT \"fine\"\n"                                   /* 1 */
		"t.test. TXT \"no end\n"                                    /* 2 */
		"t.test. TXT unquoted\n"                                    /* 3 */
		"t.test. TXT\n"                                             /* 4 */
		"t.test. TXT \"bad \\3 escape\"\n"                          /* 5 */
		"t.test. TXT \"big \\256\"\n"                               /* 6 */
		"a.test. A 192.0.2.256\n"                                   /* 7 */
		"a.test. A 2001:db8::1\n"                                   /* 8 */
		"a.test. AAAA 192.0.2.1\n"                                  /* 9 */
		"a.test. A\n"                                               /* 10 */
		"a.test. A 192.0.2.1 extra\n"                               /* 11 */
		"m.test. MX 70000 mx.test.\n"                               /* 12 */
		"m.test. MX 10\n"                                           /* 13 */
		"c.test. CNAME\n"                                           /* 14 */
		"a..test. A 192.0.2.1\n"                                    /* 15 */
		"*.test. A 192.0.2.1\n"                                     /* 16 */
		"s.test. SOA ns.test. host.test. 1 2 3 4 5\n"               /* 17 */
		"s.test. 300 CH TXT \"x\"\n"                                /* 18 */
		"s.test. 1h TXT \"x\"\n"                                    /* 19 */
		"s.test. 99999999999 TXT \"x\"\n"                           /* 20 */
		"s.test. 300 IN\n"                                          /* 21 */
		"s.test.\n"                                                 /* 22 */
		"$SERVFAIL\n"                                               /* 23 */
		"$TIMEOUT x.test. BOGUS\n"                                  /* 24 */
		"$INCLUDE other.zone\n"                                     /* 25 */
		"@ A 192.0.2.1\n"                                           /* 26 */
		"n.test. NS .\n"                                            /* 27 */
		"n.test. PTR bad_name!.test.\n"                             /* 28 */
		"s.test. 300 IN 300 TXT \"x\"\n"                            /* 29 */
		"d.test. CNAME e.test.\n"                                   /* 30 */
		"d.test. TXT \"beside the CNAME\"\n"                        /* 31 */
		"d.test. CNAME f.test.\n"                                   /* 32 */
		"g.test. TXT \"before the CNAME\"\n"                        /* 33 */
		"g.test. CNAME e.test.\n"                                   /* 34 */
		"$SERVFAIL h.test. TXT\n"                                   /* 35 */
		"$TIMEOUT h.test. TXT\n"                                    /* 36 */
		"$SERVFAIL h.test.\n"                                       /* 37 */
		"$SERVFAIL h.test.\n";                                      /* 38: a repeat is fine */
	static const char want[] =
		"bad:2:13: error: TXT record: unterminated quoted string\n"
		"bad:3:13: error: TXT record: text must be in double quotes\n"
		"bad:4:12: error: TXT record: missing quoted string\n"
		"bad:5:18: error: TXT record: \\DDD escape needs three digits\n"
		"bad:6:18: error: TXT record: escape \\256 is over 255\n"
		"bad:7:11: error: A record: \"192.0.2.256\" is not an IPv4 address\n"
		"bad:8:11: error: A record: \"2001:db8::1\" is not an IPv4 address\n"
		"bad:9:14: error: AAAA record: \"192.0.2.1\" is not an IPv6 address\n"
		"bad:10:10: error: A record: missing address\n"
		"bad:11:21: error: A record: unexpected \"extra\" after the data\n"
		"bad:12:12: error: MX record: preference \"70000\" is not a number from 0 to 65535\n"
		"bad:13:14: error: MX record: missing exchange name\n"
		"bad:14:14: error: CNAME record: missing target name\n"
		"bad:15:1: error: owner name \"a..test.\": empty label\n"
		"bad:16:1: error: owner name \"*.test.\": wildcard names are not supported\n"
		"bad:17:9: error: record type SOA is not supported (A, AAAA, CNAME, MX, NS, PTR, SPF, TXT are)\n"
		"bad:18:13: error: class CH is not supported (only IN is)\n"
		"bad:19:9: error: TTL \"1h\" is not a number of seconds\n"
		"bad:20:9: error: TTL 99999999999 is over 2147483647\n"
		"bad:21:15: error: missing record type\n"
		"bad:22:8: error: missing record type\n"
		"bad:23:10: error: $SERVFAIL: missing name\n"
		"bad:24:18: error: $TIMEOUT: record type BOGUS is not supported (A, AAAA, CNAME, MX, NS, PTR, SPF, TXT are)\n"
		"bad:25:1: error: directive $INCLUDE is not supported ($SERVFAIL, $TIMEOUT, $ORIGIN, $TTL are)\n"
		"bad:26:1: error: owner name: \"@\" needs an $ORIGIN line before it\n"
		"bad:27:12: error: NS record: target: the root name \".\" is not allowed here\n"
		"bad:28:13: error: PTR record: target \"bad_name!.test.\": character '!' is not allowed in a domain name\n"
		"bad:29:16: error: TTL given twice\n"
		"bad:31:1: error: TXT record: d.test already has a CNAME at line 30, and a name with a CNAME has no other records\n"
		"bad:32:1: error: CNAME record: d.test already has a CNAME at line 30\n"
		"bad:34:1: error: CNAME record: g.test already has a TXT record at line 33, and a name with a CNAME has no other records\n"
		"bad:36:1: error: $TIMEOUT h.test TXT conflicts with $SERVFAIL at line 35\n";
	char *got = load_errors("bad", text, strlen(text));

	check_errors(got, want);
	free(got);
}

static void malformed_file_reports_path_line_col(void **state)
{
	(void)state;
	pst_buf errors = PST_BUF_INIT, want = PST_BUF_INIT;
	pst_dnsfix *f = NULL;
	const char *path = FIXTURE("malformed.zone");

	assert_int_equal(pst_dnsfix_load_file(path, &f, &errors), -1);
	assert_null(f);
	assert_int_equal(pst_buf_printf(&want,
		"%1$s:3:23: error: TXT record: unterminated quoted string\n"
		"%1$s:4:23: error: A record: \"192.0.2.300\" is not an IPv4 address\n"
		"%1$s:5:19: error: record type SOA is not supported (A, AAAA, CNAME, MX, NS, PTR, SPF, TXT are)\n"
		"%1$s:6:1: error: owner name \"bad4..example.\": empty label\n"
		"%1$s:7:23: error: MX record: preference \"mail.example.\" is not a number from 0 to 65535\n"
		"%1$s:8:1: error: directive $INCLUDE is not supported ($SERVFAIL, $TIMEOUT, $ORIGIN, $TTL are)\n"
		"%1$s:9:23: error: TXT record: text must be in double quotes\n", path), 0);
	check_errors(pst_buf_str(&errors), pst_buf_str(&want));
	pst_buf_free(&errors);
	pst_buf_free(&want);
}

static void file_level_errors(void **state)
{
	(void)state;
	pst_buf errors = PST_BUF_INIT;
	pst_dnsfix *f = NULL;

	assert_int_equal(pst_dnsfix_load_file(FIXTURE("no-such.zone"), &f, &errors), -1);
	assert_null(f);
	check_errors(pst_buf_str(&errors), FIXTURE("no-such.zone") ": error: cannot read: No such file or directory\n");
	pst_buf_clear(&errors);
	assert_int_equal(pst_dnsfix_load_file(DNS_FIXTURE_DIR, &f, &errors), -1);
	check_errors(pst_buf_str(&errors), DNS_FIXTURE_DIR ": error: cannot read: Is a directory\n");
	/* errors may be NULL. */
	assert_int_equal(pst_dnsfix_load_file(FIXTURE("malformed.zone"), &f, NULL), -1);
	assert_null(f);
	pst_buf_free(&errors);

	static const char nul[] = "a.test. TXT \"x\"\nb.test. TXT \"y\0z\"\n";
	char *got = load_errors("nul", nul, sizeof nul - 1);
	check_errors(got, "nul:2:15: error: NUL byte in the line\n");
	free(got);
}

static void error_count_is_bounded(void **state)
{
	(void)state;
	pst_buf text = PST_BUF_INIT;
	char *got;
	size_t lines = 0;

	for (int i = 0; i < 300; i++)
		assert_int_equal(pst_buf_printf(&text, "x%d.test. A bad\n", i), 0);
	got = load_errors("many", text.data, text.len);
	for (const char *p = got; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 201);
	assert_non_null(strstr(got, "many:1:12: error: A record: \"bad\" is not an IPv4 address\n"));
	assert_non_null(strstr(got, "many:200:14: error: A record:"));
	assert_null(strstr(got, "many:201:"));
	assert_non_null(strstr(got, "\nmany: error: 100 more errors\n"));
	free(got);
	pst_buf_free(&text);
}

/* ---- wire format ------------------------------------------------------ */

static const char wire_zone[] =
	"example.com. 300 IN TXT \"v=spf1 \" \"-all\"\n"
	"example.com. 300 IN MX 10 mail.example.com.\n"
	"example.com. 300 IN MX 20 mx2.example.net.\n"
	"mail.example.com. 120 IN A 192.0.2.10\n"
	"mail.example.com. 120 IN AAAA 2001:db8::10\n"
	"mapped.example.com. AAAA ::ffff:192.0.2.7\n"
	"www.example.com. 60 IN CNAME mail.example.com.\n"
	"alias.example.com. CNAME www.example.com.\n"
	"gone.example.com. CNAME nothere.example.com.\n"
	"example.org. MX 0 .\n"
	"1.2.0.192.in-addr.arpa. PTR mail.example.com.\n"
	"example.net. NS ns1.example.net.\n"
	"legacy.example.org. SPF \"v=spf1 -all\"\n"
	"empty.example.org. TXT \"\"\n"
	"$SERVFAIL broken.example.\n"
	"$TIMEOUT slow.example.\n";

/* Decode one answer RR back into rr_text form. */
static void decode_rdata(ns_msg *msg, ns_rr *rr, char *buf, size_t len)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	size_t rdlen = ns_rr_rdlen(*rr);
	char name[NS_MAXDNAME];
	pst_ip ip;

	switch (ns_rr_type(*rr)) {
	case ns_t_a:
	case ns_t_aaaa: {
		char text[PST_IP_FORMAT_LEN];
		assert_int_equal(rdlen, ns_rr_type(*rr) == ns_t_a ? 4 : 16);
		char tmp[64];
		if (inet_ntop(rdlen == 4 ? AF_INET : AF_INET6, rd, tmp, sizeof tmp) == NULL)
			fail_msg("inet_ntop failed");
		assert_int_equal(pst_ip_parse(tmp, strlen(tmp), &ip), 0);
		snprintf(buf, len, "%s", pst_ip_format(&ip, text, sizeof text));
		break;
	}
	case ns_t_txt:
	case ns_t_spf: {
		size_t used = 0, pos = 0;
		assert_true(rdlen >= 1);
		while (pos < rdlen) {
			size_t n = rd[pos++];
			assert_true(pos + n <= rdlen);
			assert_true(used + n < len);
			memcpy(buf + used, rd + pos, n);
			used += n;
			pos += n;
		}
		buf[used] = '\0';
		break;
	}
	case ns_t_mx:
		assert_true(rdlen >= 3);
		assert_true(ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd + 2, name,
					       sizeof name) > 0);
		snprintf(buf, len, "%u %s", ns_get16(rd), strcmp(name, ".") == 0 ? "" : name);
		break;
	default:
		assert_true(ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd, name,
					       sizeof name) > 0);
		snprintf(buf, len, "%s", name);
		break;
	}
}

struct wire_case {
	const char *qname;
	int qtype;
	int rcode;
	/* Answer section as "owner TYPE ttl data". */
	const char *an[4];
};

static void wire_round_trip(void **state)
{
	(void)state;
	static const struct wire_case cases[] = {
		{ "example.com", ns_t_txt, ns_r_noerror, { "example.com TXT 300 v=spf1 -all" } },
		{ "Example.COM.", ns_t_mx, ns_r_noerror,
		  { "example.com MX 300 10 mail.example.com", "example.com MX 300 20 mx2.example.net" } },
		{ "mail.example.com", ns_t_a, ns_r_noerror, { "mail.example.com A 120 192.0.2.10" } },
		{ "mail.example.com", ns_t_aaaa, ns_r_noerror, { "mail.example.com AAAA 120 2001:db8::10" } },
		{ "mapped.example.com", ns_t_aaaa, ns_r_noerror, { "mapped.example.com AAAA 300 192.0.2.7" } },
		{ "alias.example.com", ns_t_a, ns_r_noerror,
		  { "alias.example.com CNAME 300 www.example.com", "www.example.com CNAME 60 mail.example.com",
		    "mail.example.com A 120 192.0.2.10" } },
		{ "gone.example.com", ns_t_txt, ns_r_nxdomain,
		  { "gone.example.com CNAME 300 nothere.example.com" } },
		{ "www.example.com", ns_t_txt, ns_r_noerror, { "www.example.com CNAME 60 mail.example.com" } },
		{ "example.org", ns_t_mx, ns_r_noerror, { "example.org MX 300 0 " } },
		{ "1.2.0.192.in-addr.arpa", ns_t_ptr, ns_r_noerror,
		  { "1.2.0.192.in-addr.arpa PTR 300 mail.example.com" } },
		{ "example.net", ns_t_ns, ns_r_noerror, { "example.net NS 300 ns1.example.net" } },
		{ "legacy.example.org", ns_t_spf, ns_r_noerror, { "legacy.example.org SPF 300 v=spf1 -all" } },
		{ "empty.example.org", ns_t_txt, ns_r_noerror, { "empty.example.org TXT 300 " } },
		{ "example.com", ns_t_a, ns_r_noerror, { NULL } },
		{ "missing.example.com", ns_t_txt, ns_r_nxdomain, { NULL } },
		{ "broken.example", ns_t_txt, ns_r_servfail, { NULL } },
	};
	pst_dnsfix *f = load_text_or_fail(wire_zone);

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const struct wire_case *c = &cases[i];
		unsigned char buf[1024];
		pst_dns_answer ans;
		ns_msg msg;
		ns_rr rr;
		size_t nan = 0;
		int len;

		while (nan < 4 && c->an[nan])
			nan++;
		pst_dnsfix_query(f, c->qname, c->qtype, &ans);
		len = pst_dns_wire_reply(&ans, c->qname, c->qtype, (uint16_t)(0x1234 + i), buf, sizeof buf);
		if (len < 0)
			fail_msg("%s: wire reply failed: %s", c->qname, strerror(errno));
		if (ns_initparse(buf, len, &msg) != 0)
			fail_msg("%s: ns_initparse rejected the reply", c->qname);
		assert_int_equal(ns_msg_id(msg), 0x1234 + i);
		assert_int_equal(ns_msg_getflag(msg, ns_f_qr), 1);
		assert_int_equal(ns_msg_getflag(msg, ns_f_rd), 1);
		assert_int_equal(ns_msg_getflag(msg, ns_f_ra), 1);
		if ((int)ns_msg_getflag(msg, ns_f_rcode) != c->rcode)
			fail_msg("%s: got rcode %d, want %d", c->qname, ns_msg_getflag(msg, ns_f_rcode),
				 c->rcode);
		assert_int_equal(ns_msg_count(msg, ns_s_qd), 1);
		assert_int_equal(ns_msg_count(msg, ns_s_ns), 0);
		assert_int_equal(ns_msg_count(msg, ns_s_ar), 0);
		if (ns_msg_count(msg, ns_s_an) != nan)
			fail_msg("%s: got %d answers, want %zu", c->qname, ns_msg_count(msg, ns_s_an), nan);
		assert_int_equal(ns_parserr(&msg, ns_s_qd, 0, &rr), 0);
		assert_int_equal(ns_rr_type(rr), c->qtype);
		assert_int_equal(ns_rr_class(rr), ns_c_in);
		/* The question comes back as asked, without the trailing dot. */
		size_t qlen = strlen(c->qname) - (c->qname[strlen(c->qname) - 1] == '.');
		if (strlen(ns_rr_name(rr)) != qlen || strncmp(ns_rr_name(rr), c->qname, qlen) != 0)
			fail_msg("question: got %s, want %.*s", ns_rr_name(rr), (int)qlen, c->qname);
		for (size_t a = 0; a < nan; a++) {
			char data[1100], got[1400];
			assert_int_equal(ns_parserr(&msg, ns_s_an, (int)a, &rr), 0);
			assert_int_equal(ns_rr_class(rr), ns_c_in);
			decode_rdata(&msg, &rr, data, sizeof data);
			snprintf(got, sizeof got, "%s %s %u %s", ns_rr_name(rr),
				 pst_dns_type_name(ns_rr_type(rr)), ns_rr_ttl(rr), data);
			if (strcasecmp(got, c->an[a]) != 0)
				fail_msg("%s answer %zu: got \"%s\", want \"%s\"", c->qname, a, got, c->an[a]);
		}
	}
	pst_dnsfix_free(&f);
}

static void wire_splits_long_text(void **state)
{
	(void)state;
	pst_buf zone = PST_BUF_INIT;
	char long_text[601];
	unsigned char buf[2048];
	pst_dns_answer ans;
	ns_msg msg;
	ns_rr rr;
	int len;

	for (int i = 0; i < 600; i++)
		long_text[i] = (char)('a' + i % 26);
	long_text[600] = '\0';
	/* Written as two strings of 300, which a zone could not hold but we join. */
	assert_int_equal(pst_buf_printf(&zone, "long.test. TXT \"%.300s\" \"%s\"\n", long_text,
					long_text + 300), 0);
	pst_dnsfix *f = load_text_or_fail(pst_buf_str(&zone));
	assert_int_equal(pst_dnsfix_query(f, "long.test", ns_t_txt, &ans), PST_DNS_NOERROR);
	assert_int_equal(ans.rrs[0].text_len, 600);
	len = pst_dns_wire_reply(&ans, "long.test", ns_t_txt, 7, buf, sizeof buf);
	assert_true(len > 0);
	assert_int_equal(ns_initparse(buf, len, &msg), 0);
	assert_int_equal(ns_parserr(&msg, ns_s_an, 0, &rr), 0);
	/* 255 + 255 + 90 bytes, each with its length octet. */
	const unsigned char *rd = ns_rr_rdata(rr);
	assert_int_equal(ns_rr_rdlen(rr), 603);
	assert_int_equal(rd[0], 255);
	assert_int_equal(rd[256], 255);
	assert_int_equal(rd[512], 90);
	assert_memory_equal(rd + 1, long_text, 255);
	assert_memory_equal(rd + 257, long_text + 255, 255);
	assert_memory_equal(rd + 513, long_text + 510, 90);
	pst_dnsfix_free(&f);
	pst_buf_free(&zone);
}

static void wire_bounds_and_errors(void **state)
{
	(void)state;
	pst_dnsfix *f = load_text_or_fail(wire_zone);
	unsigned char big[1024];
	pst_dns_answer ans;
	int full;

	pst_dnsfix_query(f, "alias.example.com", ns_t_a, &ans);
	full = pst_dns_wire_reply(&ans, "alias.example.com", ns_t_a, 1, big, sizeof big);
	assert_true(full > 12);
	/* Every shorter buffer, allocated to its exact size so that the address
	 * sanitizer sees any write past it, is refused. */
	for (int size = 0; size < full; size++) {
		unsigned char *b = malloc(size ? (size_t)size : 1);
		assert_non_null(b);
		errno = 0;
		if (pst_dns_wire_reply(&ans, "alias.example.com", ns_t_a, 1, b, (size_t)size) != -1 ||
		    errno != EMSGSIZE)
			fail_msg("size %d of %d: got success or errno %d, want EMSGSIZE", size, full, errno);
		free(b);
	}
	unsigned char *exact = malloc((size_t)full);
	assert_non_null(exact);
	assert_int_equal(pst_dns_wire_reply(&ans, "alias.example.com", ns_t_a, 1, exact, (size_t)full), full);
	assert_memory_equal(exact, big, (size_t)full);
	free(exact);

	errno = 0;
	assert_int_equal(pst_dns_wire_reply(&ans, "a..example.com", ns_t_a, 1, big, sizeof big), -1);
	assert_int_equal(errno, EINVAL);
	char label64[80];
	memset(label64, 'x', 64);
	strcpy(label64 + 64, ".com");
	assert_int_equal(pst_dns_wire_reply(&ans, label64, ns_t_a, 1, big, sizeof big), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(pst_dnsfix_query(f, "slow.example", ns_t_txt, &ans), PST_DNS_TIMEOUT);
	errno = 0;
	assert_int_equal(pst_dns_wire_reply(&ans, "slow.example", ns_t_txt, 1, big, sizeof big), -1);
	assert_int_equal(errno, ETIMEDOUT);
	pst_dnsfix_free(&f);
}

/* Mutated fixtures either load or report errors; neither path may crash
 * or leak (the sanitizer build checks), and what loads answers and encodes. */
static void mutated_fixtures_are_handled(void **state)
{
	(void)state;
	static const char alphabet[] = " \t\n\"\\;.$@*()0123456789aAxX:\xc3\xbc\x00\xff";
	static const char *const names[] = { "example.com", "www.example.com", "alias.example.com",
					     "broken.example", "example.org" };
	static const int types[] = { ns_t_txt, ns_t_a, ns_t_mx, ns_t_cname };
	uint64_t rng = 0x243F6A8885A308D3ULL;
	size_t loaded = 0;

	for (int iter = 0; iter < 2000; iter++) {
		char text[sizeof wire_zone + 16];
		size_t len = sizeof wire_zone - 1;
		pst_buf errors = PST_BUF_INIT;
		pst_dnsfix *f = NULL;

		memcpy(text, wire_zone, len);
		for (int m = 0; m < 1 + iter % 4; m++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			size_t at = (size_t)(rng % len);
			char c = alphabet[(rng >> 32) % (sizeof alphabet - 1)];
			if ((rng >> 40) % 2 && len < sizeof text) {
				memmove(text + at + 1, text + at, len - at);
				len++;
			}
			text[at] = c;
		}
		if (pst_dnsfix_load_text("mutant", text, len, &f, &errors) == 0) {
			unsigned char buf[4096];
			loaded++;
			assert_int_equal(errors.len, 0);
			for (size_t n = 0; n < N_ELEMS(names); n++) {
				for (size_t t = 0; t < N_ELEMS(types); t++) {
					pst_dns_answer ans;
					pst_dnsfix_query(f, names[n], types[t], &ans);
					(void)pst_dns_wire_reply(&ans, names[n], types[t], 1, buf, sizeof buf);
				}
			}
			pst_dnsfix_free(&f);
		} else {
			assert_null(f);
			assert_true(errors.len > 0);
			assert_int_equal(errors.data[errors.len - 1], '\n');
		}
		pst_buf_free(&errors);
	}
	/* Both outcomes occur, so both paths were exercised. */
	if (loaded == 0 || loaded == 2000)
		fail_msg("got %zu of 2000 mutants loaded, want some but not all", loaded);
}

static void names_of_statuses_and_types(void **state)
{
	(void)state;
	assert_string_equal(pst_dns_status_name(PST_DNS_NOERROR), "NOERROR");
	assert_string_equal(pst_dns_status_name(PST_DNS_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(pst_dns_status_name(PST_DNS_NODATA), "NODATA");
	assert_string_equal(pst_dns_status_name(PST_DNS_SERVFAIL), "SERVFAIL");
	assert_string_equal(pst_dns_status_name(PST_DNS_TIMEOUT), "TIMEOUT");
	assert_string_equal(pst_dns_type_name(ns_t_txt), "TXT");
	assert_null(pst_dns_type_name(ns_t_soa));
	assert_int_equal(pst_dns_type_from_name("aaaa", 4), ns_t_aaaa);
	assert_int_equal(pst_dns_type_from_name("Spf", 3), ns_t_spf);
	assert_int_equal(pst_dns_type_from_name("TXTX", 3), ns_t_txt);
	assert_int_equal(pst_dns_type_from_name("SOA", 3), -1);
	assert_int_equal(pst_dns_type_from_name("", 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixture_file_answers),
		cmocka_unit_test(cname_chains_and_loops),
		cmocka_unit_test(txt_strings_join_and_unescape),
		cmocka_unit_test(names_origin_and_unicode),
		cmocka_unit_test(empty_and_comment_only_files_are_valid),
		cmocka_unit_test(malformed_lines_all_reported),
		cmocka_unit_test(malformed_file_reports_path_line_col),
		cmocka_unit_test(file_level_errors),
		cmocka_unit_test(error_count_is_bounded),
		cmocka_unit_test(wire_round_trip),
		cmocka_unit_test(wire_splits_long_text),
		cmocka_unit_test(wire_bounds_and_errors),
		cmocka_unit_test(mutated_fixtures_are_handled),
		cmocka_unit_test(names_of_statuses_and_types),
	};
	return cmocka_run_group_tests_name("dnsfix", tests, NULL, NULL);
}
