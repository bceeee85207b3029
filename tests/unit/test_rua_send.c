/* Unit tests for engine/rua/send.c, verify.c and transport.c: the rua
 * destinations (sizes, several URIs, other schemes, header injection,
 * percent-decoding), the external destination verification of RFC 9990
 * section 4 over an inline DNS fixture (which has no wildcards, so the
 * wildcard form "*._report._dmarc.<host>" is not tested here), the report
 * message (headers, Subject and its folding (never into a line of spaces
 * only), base64 back to the bytes,
 * CRLF everywhere), delivery through a sendmail stand-in script (the pipe,
 * the arguments and the exit-code mapping) and SMTP against a listener in
 * this test (250, multi-line replies, HELO fallback, 4xx, 5xx, silence,
 * nothing listening). The real Postfix sendmail and smtpd are left to the
 * end-to-end tests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/dmarc.h"
#include "dns/resolver.h"
#include "rua/rua.h"

/* ---- Destinations -------------------------------------------------------- */

static void dest_sizes(void **state)
{
	pst_rua_dest d[8];
	size_t n;

	(void)state;
	n = pst_rua_destinations(" mailto:a@example.com!10m,mailto:b@Example.NET!5k ,\t"
				 "MAILTO:c@x.org!2G, mailto:d@x.org!1t,mailto:e@x.org!7,"
				 "mailto:f@x.org",
				 d, 8);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(d[i].outcome, PST_RUA_PENDING);
	assert_string_equal(d[0].uri, "mailto:a@example.com");
	assert_string_equal(d[0].address, "a@example.com");
	assert_string_equal(d[0].host, "example.com");
	assert_true(d[0].limit == (uint64_t)10 << 20);
	assert_string_equal(d[1].address, "b@example.net");
	assert_string_equal(d[1].host, "example.net");
	assert_string_equal(d[1].uri, "mailto:b@Example.NET");
	assert_true(d[1].limit == (uint64_t)5 << 10);
	assert_true(d[2].limit == (uint64_t)2 << 30);
	assert_true(d[3].limit == (uint64_t)1 << 40);
	assert_true(d[4].limit == 7);
	assert_true(d[5].limit == 0);
	assert_int_equal(d[0].external, 0);

	/* Past 2^64: the largest limit, not a wrap-around. */
	n = pst_rua_destinations("mailto:a@x.org!99999999999999999999999t", d, 8);
	assert_int_equal(n, 1);
	assert_true(d[0].limit == UINT64_MAX);

	/* Bad limits refuse the URI. */
	n = pst_rua_destinations("mailto:a@x.org!10x,mailto:b@x.org!,mailto:c@x.org!k", d, 8);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(d[i].outcome, PST_RUA_REFUSED);
		assert_string_equal(d[i].why, "invalid size limit");
	}
}

static void dest_list(void **state)
{
	pst_rua_dest d[4];
	size_t n;

	(void)state;
	n = pst_rua_destinations("https://example.com/dmarc, mailto:r@example.com", d, 4);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].outcome, PST_RUA_REFUSED);
	assert_string_equal(d[0].why, "unsupported URI scheme");
	assert_string_equal(d[0].uri, "https://example.com/dmarc");
	assert_int_equal(d[1].outcome, PST_RUA_PENDING);
	/* Empty items skipped, at most max kept. */
	n = pst_rua_destinations("mailto:a@b.org,, ,mailto:c@d.org,mailto:e@f.org", d, 2);
	assert_int_equal(n, 2);
	assert_string_equal(d[1].address, "c@d.org");
	assert_int_equal(pst_rua_destinations("", d, 4), 0);
	assert_int_equal(pst_rua_destinations(" , ", d, 4), 0);
	assert_int_equal(pst_rua_destinations(NULL, d, 4), 0);
}

static void dest_decoding(void **state)
{
	pst_rua_dest d[4];

	(void)state;
	assert_int_equal(pst_rua_destinations("mailto:dmarc%2Breports@example.com?subject=hi",
					      d, 4), 1);
	assert_int_equal(d[0].outcome, PST_RUA_PENDING);
	assert_string_equal(d[0].address, "dmarc+reports@example.com");
	assert_string_equal(d[0].uri, "mailto:dmarc%2Breports@example.com?subject=hi");
	/* %40 is the '@' itself; the domain in Unicode becomes A-labels. */
	assert_int_equal(pst_rua_destinations("mailto:rua%40b%C3%BCcher.example", d, 4), 1);
	assert_int_equal(d[0].outcome, PST_RUA_PENDING);
	assert_string_equal(d[0].host, "xn--bcher-kva.example");
	assert_string_equal(d[0].address, "rua@xn--bcher-kva.example");
}

static void dest_injection(void **state)
{
	static const char *const bad[] = {
		"mailto:a%0D%0ABcc:%20victim@evil.example%0D%0A@example.com",
		"mailto:a%0Ab@example.com",
		"mailto:a%20b@example.com",
		"mailto:a%00b@example.com",
		"mailto:a@exa%0Dmple.com",
		"mailto:%3Cx%3E@example.com",
		"mailto:a%2Cb@example.com",
		"mailto:%22a%22@example.com",
		"mailto:a@b@example.com",
		"mailto:example.com",
		"mailto:@example.com",
		"mailto:a@",
		"mailto:a@-bad-.example",
		"mailto:a%zz@example.com",
		"mailto:a@example.com%4",
		"mailto:",
	};
	pst_rua_dest d[1];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(pst_rua_destinations(bad[i], d, 1), 1);
		if (d[0].outcome != PST_RUA_REFUSED)
			fail_msg("%s was accepted as %s", bad[i], d[0].address);
		assert_true(d[0].why[0] != '\0');
		assert_null(strpbrk(d[0].address, "\r\n"));
	}
}

/* ---- Verification ---------------------------------------------------------- */

static const char zone[] =
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject; rua=mailto:d@example.com\"\n"
	"example.com._report._dmarc.reports.thirdparty.example. TXT \"v=DMARC1;\"\n"
	"example.com._report._dmarc.other.example. TXT \"v=spf1 -all\"\n"
	"example.com._report._dmarc.junk.example. TXT \"v=DMARC1; junk\"\n"
	"example.com._report._dmarc.two.example. TXT \"hello\"\n"
	"example.com._report._dmarc.two.example. TXT \"v=DMARC1 ; rf=afrf\"\n"
	"example.com._report._dmarc.nodata.example. A 192.0.2.1\n"
	"$SERVFAIL example.com._report._dmarc.flaky.example. TXT\n"
	"$TIMEOUT example.com._report._dmarc.slow.example.\n"
	"$SERVFAIL example.com._report._dmarc.mail.example.com.\n"
	"example.com._report._dmarc.over.example. TXT "
	"\"v=DMARC1; rua=https://x.example/r, mailto:Other-Box@OVER.example!1m\"\n"
	"example.com._report._dmarc.evil.example. TXT "
	"\"v=DMARC1; rua=mailto:rua@over.example,mailto:x@elsewhere.example\"\n"
	"$SERVFAIL _dmarc.brokenorg.example.\n"
	"_dmarc.corp.example. TXT \"v=DMARC1; p=none; psd=n\"\n"
	"example.com._report._dmarc.corp.example. TXT \"v=DMARC1\"\n";

struct env {
	pst_dnsfix *fix;
	pst_resolver *res;
	pst_arena *arena;
	pst_dns_session dns;
};

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);

	if (e == NULL || pst_dnsfix_load_text("t.zone", zone, strlen(zone), &e->fix, NULL) != 0
	    || pst_resolver_new_fixture(e->fix, &e->res) != 0
	    || (e->arena = pst_arena_new()) == NULL)
		return -1;
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	pst_arena_free(&e->arena);
	pst_resolver_free(&e->res);
	pst_dnsfix_free(&e->fix);
	free(e);
	return 0;
}

/* Verify the single destination uri for example.com: the outcome. */
static pst_rua_outcome check(struct env *e, const char *uri, const char *org, pst_rua_dest *d)
{
	pst_dns_session_init(&e->dns, e->res, e->arena, 0, 0);
	assert_int_equal(pst_rua_destinations(uri, d, 1), 1);
	assert_int_equal(pst_rua_verify(&e->dns, "example.com", org, d), 0);
	return d->outcome;
}

static void verify_outcomes(void **state)
{
	struct env *e = *state;
	pst_rua_dest d;

	assert_int_equal(check(e, "mailto:r@reports.thirdparty.example", NULL, &d),
			 PST_RUA_PENDING);
	assert_int_equal(d.external, 1);
	assert_string_equal(d.address, "r@reports.thirdparty.example");

	assert_int_equal(check(e, "mailto:r@nobody.example", "example.com", &d), PST_RUA_REFUSED);
	assert_int_equal(d.external, 1);
	assert_non_null(strstr(d.why, "not authorised: no such name at "
				      "example.com._report._dmarc.nobody.example"));

	assert_int_equal(check(e, "mailto:r@nodata.example", NULL, &d), PST_RUA_REFUSED);
	assert_non_null(strstr(d.why, "not authorised: no TXT record"));

	assert_int_equal(check(e, "mailto:r@other.example", NULL, &d), PST_RUA_REFUSED);
	assert_non_null(strstr(d.why, "no v=DMARC1 record at example.com._report._dmarc.other"));
	/* Not a tag=value list after the version. */
	assert_int_equal(check(e, "mailto:r@junk.example", NULL, &d), PST_RUA_REFUSED);
	/* One good record among others is enough. */
	assert_int_equal(check(e, "mailto:r@two.example", NULL, &d), PST_RUA_PENDING);

	assert_int_equal(check(e, "mailto:r@flaky.example", NULL, &d), PST_RUA_TEMP);
	assert_non_null(strstr(d.why, "SERVFAIL on example.com._report._dmarc.flaky.example"));
	assert_int_equal(check(e, "mailto:r@slow.example", NULL, &d), PST_RUA_TEMP);
	assert_non_null(strstr(d.why, "TIMEOUT"));
	/* The host's own tree walk failed: no organizational domain, TEMP. */
	assert_int_equal(check(e, "mailto:r@brokenorg.example", NULL, &d), PST_RUA_TEMP);
	assert_int_equal(d.external, 0);
	/* psd=n makes corp.example an organizational domain of its own. */
	assert_int_equal(check(e, "mailto:r@dept.corp.example", NULL, &d), PST_RUA_REFUSED);
	assert_int_equal(check(e, "mailto:r@corp.example", NULL, &d), PST_RUA_PENDING);
	assert_int_equal(d.external, 1);
}

static void verify_same_org(void **state)
{
	struct env *e = *state;
	pst_rua_dest d;

	/* mail.example.com's organizational domain is example.com (its
	 * _dmarc record): not external, and the $SERVFAIL at its _report name
	 * shows that name is never asked. */
	assert_int_equal(check(e, "mailto:r@mail.example.com", NULL, &d), PST_RUA_PENDING);
	assert_int_equal(d.external, 0);
	assert_int_equal(check(e, "mailto:r@example.com", "example.com", &d), PST_RUA_PENDING);
	assert_int_equal(d.external, 0);
	assert_int_equal(d.why[0], '\0');
	/* An already refused destination is left alone: no question. */
	pst_dns_session_init(&e->dns, e->res, e->arena, 0, 0);
	assert_int_equal(pst_rua_destinations("http://x.example/", &d, 1), 1);
	assert_int_equal(pst_rua_verify(&e->dns, "example.com", NULL, &d), 0);
	assert_int_equal(d.outcome, PST_RUA_REFUSED);
	assert_int_equal(e->dns.queries, 0);
}

static void verify_override(void **state)
{
	struct env *e = *state;
	pst_rua_dest d;

	assert_int_equal(check(e, "mailto:r@over.example!10k", NULL, &d), PST_RUA_PENDING);
	assert_string_equal(d.address, "Other-Box@over.example");
	assert_true(d.limit == (uint64_t)1 << 20);
	assert_string_equal(d.uri, "mailto:r@over.example");

	assert_int_equal(check(e, "mailto:r@evil.example", NULL, &d), PST_RUA_REFUSED);
	assert_non_null(strstr(d.why, "another host"));
	assert_string_equal(d.address, "r@evil.example");
}

static void verify_long_name(void **state)
{
	struct env *e = *state;
	char uri[300];
	pst_rua_dest d;

	/* 4 labels of 60 or 58: the destination host is valid (244 octets)
	 * but the verification name is not: refused without a question. */
	memset(uri, 'a', sizeof uri);
	memcpy(uri, "mailto:r@", 9);
	uri[9 + 60] = uri[9 + 121] = uri[9 + 182] = '.';
	memcpy(uri + 9 + 182 + 59, ".xx", 4);
	pst_dns_session_init(&e->dns, e->res, e->arena, 0, 0);
	assert_int_equal(pst_rua_destinations(uri, &d, 1), 1);
	assert_int_equal(d.outcome, PST_RUA_PENDING);
	assert_int_equal(strlen(d.host), 244);
	assert_int_equal(pst_rua_verify(&e->dns, "example.com", "example.com", &d), 0);
	assert_int_equal(d.outcome, PST_RUA_REFUSED);
	assert_int_equal(d.external, 1);
	assert_non_null(strstr(d.why, "no valid verification name"));
}

static void org_domain(void **state)
{
	struct env *e = *state;
	const char *org = NULL;

	pst_dns_session_init(&e->dns, e->res, e->arena, 0, 0);
	assert_int_equal(pst_dmarc_org_domain(&e->dns, e->arena, "A.B.Example.COM.", &org), 0);
	assert_string_equal(org, "example.com");
	assert_int_equal(pst_dmarc_org_domain(&e->dns, e->arena, "dept.corp.example", &org), 0);
	assert_string_equal(org, "corp.example");
	assert_int_equal(pst_dmarc_org_domain(&e->dns, e->arena, "x.nothing.example", &org), 0);
	assert_string_equal(org, "x.nothing.example");
	assert_int_equal(pst_dmarc_org_domain(&e->dns, e->arena, "brokenorg.example", &org), 1);
	assert_null(org);
	errno = 0;
	assert_int_equal(pst_dmarc_org_domain(&e->dns, e->arena, "bad domain", &org), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---- The message -------------------------------------------------------------- */

static int b64v(char c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* Decode base64 lines from p up to an empty line or one starting "--";
 * returns bytes, *textlen the base64 text with its line ends. */
static size_t unbase64(const char *p, unsigned char *out, size_t *textlen)
{
	const char *start = p;
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;

	while (*p != '\0' && strncmp(p, "--", 2) != 0 && strncmp(p, "\r\n", 2) != 0) {
		const char *eol = strstr(p, "\r\n");
		assert_non_null(eol);
		assert_true(eol - p <= 76);
		for (; p < eol; p++) {
			if (*p == '=')
				continue;
			int v = b64v(*p);
			assert_true(v >= 0);
			acc = (acc << 6) | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[n++] = (unsigned char)(acc >> bits);
			}
		}
		p = eol + 2;
	}
	*textlen = (size_t)(p - start);
	return n;
}

/* The unfolded value of header name in msg (its header section). */
static int header(const char *msg, const char *name, char *out, size_t len)
{
	const char *end = strstr(msg, "\r\n\r\n"), *p = msg;
	size_t nl = strlen(name), o = 0;

	while (p < end) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			for (; p < end + 2; p++) {
				if (p[0] == '\r' && p[1] == '\n') {
					if (p[2] != ' ' && p[2] != '\t')
						break;
					p++;
					continue;
				}
				if (o + 1 < len)
					out[o++] = *p;
			}
			out[o] = '\0';
			return 1;
		}
		p = strstr(p, "\r\n") + 2;
	}
	return 0;
}

static void compose_message(void **state)
{
	unsigned char gz[1000], back[1000];
	pst_buf m = PST_BUF_INIT;
	char v[600];
	size_t n, textlen;

	(void)state;
	for (size_t i = 0; i < sizeof gz; i++)
		gz[i] = (unsigned char)(i * 7 + (i >> 3));
	assert_int_equal(pst_rua_compose("DMARC <dmarc-noreply@mx.example.net>", "r@example.com",
					 "example.com", "mx.example.net",
					 "1796601600.1796688000.example.com@mx.example.net",
					 "mx.example.net!example.com!1796601600!1796688000.xml.gz",
					 gz, sizeof gz, (time_t)1796601600 + 3723, &m),
			 0);
	/* CRLF everywhere, no line over 998. */
	for (size_t i = 0, col = 0; i < m.len; i++, col++) {
		if (m.data[i] == '\n') {
			assert_true(i > 0 && m.data[i - 1] == '\r');
			col = 0;
		} else if (m.data[i] == '\r')
			assert_true(i + 1 < m.len && m.data[i + 1] == '\n');
		assert_true(col <= 998);
	}
	assert_true(header(m.data, "From", v, sizeof v));
	assert_string_equal(v, "DMARC <dmarc-noreply@mx.example.net>");
	assert_true(header(m.data, "To", v, sizeof v));
	assert_string_equal(v, "r@example.com");
	assert_true(header(m.data, "Date", v, sizeof v));
	assert_string_equal(v, "Mon, 07 Dec 2026 01:02:03 +0000");
	assert_true(header(m.data, "Subject", v, sizeof v));
	assert_string_equal(v, "Report Domain: example.com Submitter: mx.example.net "
			       "Report-ID: <1796601600.1796688000.example.com@mx.example.net>");
	assert_true(header(m.data, "Message-ID", v, sizeof v));
	assert_string_equal(v, "<1796601600.1796688000.example.com@mx.example.net>");
	assert_true(header(m.data, "MIME-Version", v, sizeof v));
	assert_string_equal(v, "1.0");
	assert_true(header(m.data, "Content-Type", v, sizeof v));
	assert_string_equal(v, "multipart/mixed;\tboundary=\"=_postern-rua-0\"");
	/* The Subject was folded: no header line over 78 here. */
	for (const char *p = m.data, *end = strstr(m.data, "\r\n\r\n"); p < end;) {
		const char *eol = strstr(p, "\r\n");
		assert_true(eol - p <= 78);
		p = eol + 2;
	}
	assert_non_null(strstr(m.data, "\r\nContent-Type: text/plain; charset=us-ascii\r\n"));
	assert_non_null(strstr(m.data, "\r\nContent-Type: application/gzip;\r\n\tname=\""
				       "mx.example.net!example.com!1796601600!1796688000.xml.gz\"\r\n"));
	assert_non_null(strstr(m.data, "\r\nContent-Disposition: attachment;\r\n\tfilename=\""
				       "mx.example.net!example.com!1796601600!1796688000.xml.gz\"\r\n"));
	const char *b = strstr(m.data, "Content-Transfer-Encoding: base64\r\n");
	assert_non_null(b);
	b = strstr(b, "\r\n\r\n") + 4;
	n = unbase64(b, back, &textlen);
	assert_int_equal(n, sizeof gz);
	assert_memory_equal(back, gz, sizeof gz);
	assert_true(textlen == pst_rua_encoded_size(sizeof gz));
	static const char tail[] = "\r\n\r\n--=_postern-rua-0--\r\n";
	assert_string_equal(m.data + m.len - (sizeof tail - 1), tail);
	pst_buf_free(&m);
}

static void compose_edges(void **state)
{
	pst_buf m = PST_BUF_INIT;
	char v[200];

	(void)state;
	/* A Report-ID that is no msg-id: no Message-ID, Subject still. */
	assert_int_equal(pst_rua_compose("a@b.example", "c@d.example", "d.example", "b.example",
					 "x y", "f.xml.gz", "", 0, 0, &m), 0);
	assert_false(header(m.data, "Message-ID", v, sizeof v));
	assert_true(header(m.data, "Subject", v, sizeof v));
	assert_string_equal(v, "Report Domain: d.example Submitter: b.example Report-ID: <x y>");
	assert_true(header(m.data, "Date", v, sizeof v));
	assert_string_equal(v, "Thu, 01 Jan 1970 00:00:00 +0000");
	pst_buf_free(&m);
	/* A policy domain holding the boundary text moves the boundary. */
	assert_int_equal(pst_rua_compose("a@b.example", "c@d.example", "=_postern-rua-0",
					 "b.example", "i@d", "f.xml.gz", "x", 1, 0, &m), 0);
	assert_non_null(strstr(m.data, "boundary=\"=_postern-rua-1\""));
	pst_buf_free(&m);
	/* Header injection and quoting are refused. */
	errno = 0;
	assert_int_equal(pst_rua_compose("a@b.example\r\nBcc: x@y", "c@d.example", "d", "b",
					 "i@d", "f", "", 0, 0, &m), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pst_rua_compose("a@b.example", "c@d.example", "d", "b", "i@d",
					 "f\".gz", "", 0, 0, &m), -1);
	assert_int_equal(pst_rua_compose("a@b.example", "c@d.example", "d\xc3\xa9", "b", "i@d",
					 "f", "", 0, 0, &m), -1);
	assert_int_equal(m.len, 0);
	pst_buf_free(&m);
}

/* Whether a header line of msg is made of white space only (RFC 5322
 * section 3.2.2: a folded line must hold more than WSP; some parsers end
 * the header section at such a line). */
static int blank_header_line(const char *msg)
{
	for (const char *p = msg, *end = strstr(msg, "\r\n\r\n"); p < end;) {
		const char *eol = strstr(p, "\r\n"), *q = p;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if (q == eol)
			return 1;
		p = eol + 2;
	}
	return 0;
}

/* Runs of spaces in a value never fold into a line of spaces only: not
 * inside the value, not at its end. Found by tests/fuzz/fuzz_rua. */
static void compose_fold_spaces(void **state)
{
	char domain[200], to[200], v[600];
	pst_buf m = PST_BUF_INIT;

	(void)state;
	memset(domain, ' ', sizeof domain);
	domain[0] = 'a';
	domain[150] = 'b';
	domain[151] = '\0';
	memset(to, ' ', sizeof to);
	memcpy(to, "c@d.example", 11);
	to[120] = '\0';
	assert_int_equal(pst_rua_compose("a@b.example", to, domain, "b.example", "i@d",
					 "f.xml.gz", "", 0, 0, &m), 0);
	assert_false(blank_header_line(m.data));
	/* Unfolding gives the value back. */
	assert_true(header(m.data, "Subject", v, sizeof v));
	assert_int_equal(strncmp(v, "Report Domain: ", 15), 0);
	assert_int_equal(strncmp(v + 15, domain, strlen(domain)), 0);
	assert_true(header(m.data, "To", v, sizeof v));
	assert_string_equal(v + (v[0] == ' '), to);  /* folded after "To:" */
	pst_buf_free(&m);
}

static void encoded_size(void **state)
{
	pst_rua_dest d;

	(void)state;
	assert_true(pst_rua_encoded_size(0) == 0);
	assert_true(pst_rua_encoded_size(1) == 6);
	assert_true(pst_rua_encoded_size(57) == 78);
	assert_true(pst_rua_encoded_size(58) == 84);
	assert_true(pst_rua_encoded_size(3000) == 4000 + 53 * 2);
	memset(&d, 0, sizeof d);
	assert_true(pst_rua_fits(&d, 1000000));
	d.limit = 78;
	assert_true(pst_rua_fits(&d, 57));
	assert_false(pst_rua_fits(&d, 58));
}

/* ---- sendmail ------------------------------------------------------------------ */

static char tmpdir[64];

static int tmp_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_rua_send.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int tmp_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A stand-in for sendmail: its arguments to args, its input to msg, exit
 * with the code in the file code. */
static void script(const char *name, const char *body)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

static char *slurp(const char *name, size_t *len)
{
	char path[128];
	FILE *f;
	static char buf[65536];

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	*len = fread(buf, 1, sizeof buf - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static pst_rua_outcome run_script(const char *body, unsigned timeout_ms, char *why, size_t wl)
{
	char cmd[160];
	pst_rua_transport t = { cmd, NULL, NULL, timeout_ms };
	static const char msg[] = "From: a@b.example\r\nTo: r@example.com\r\n\r\nhello\r\n";

	script("sm", body);
	snprintf(cmd, sizeof cmd, "%s/sm  first-arg", tmpdir);
	return pst_rua_send(&t, "a@b.example", "r@example.com", msg, sizeof msg - 1, why, wl);
}

static void sendmail_pipe(void **state)
{
	char why[256], body[300];
	size_t len;
	const char *got;

	(void)state;
	snprintf(body, sizeof body,
		 "for a; do printf '%%s|' \"$a\"; done > %s/args; cat > %s/msg; exit 0", tmpdir,
		 tmpdir);
	assert_int_equal(run_script(body, 5000, why, sizeof why), PST_RUA_SENT);
	got = slurp("args", &len);
	assert_string_equal(got, "first-arg|-oi|-f|a@b.example|--|r@example.com|");
	got = slurp("msg", &len);
	assert_string_equal(got, "From: a@b.example\r\nTo: r@example.com\r\n\r\nhello\r\n");
	assert_non_null(strstr(why, "handed to"));

	/* A large message through the pipe (more than a socket buffer). */
	pst_buf m = PST_BUF_INIT;
	static unsigned char gz[200000];
	for (size_t i = 0; i < sizeof gz; i++)
		gz[i] = (unsigned char)(i * 31 + (i >> 7));
	assert_int_equal(pst_rua_compose("a@b.example", "r@example.com", "example.com",
					 "b.example", "i@b.example", "r.xml.gz", gz, sizeof gz,
					 0, &m), 0);
	char cmd[160];
	pst_rua_transport t = { cmd, NULL, NULL, 10000 };
	snprintf(cmd, sizeof cmd, "%s/sm", tmpdir);
	assert_int_equal(pst_rua_send(&t, "", "r@example.com", m.data, m.len, why, sizeof why),
			 PST_RUA_SENT);
	char path[128];
	struct stat st;
	snprintf(path, sizeof path, "%s/msg", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((size_t)st.st_size, m.len);
	got = slurp("args", &len);
	assert_string_equal(got, "-oi|-f||--|r@example.com|");
	pst_buf_free(&m);
}

static void sendmail_codes(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(run_script("cat >/dev/null; exit 75", 5000, why, sizeof why),
			 PST_RUA_TEMP);
	assert_non_null(strstr(why, "exited with 75"));
	assert_int_equal(run_script("cat >/dev/null; exit 67", 5000, why, sizeof why),
			 PST_RUA_REFUSED);
	assert_int_equal(run_script("cat >/dev/null; exit 65", 5000, why, sizeof why),
			 PST_RUA_REFUSED);
	assert_int_equal(run_script("cat >/dev/null; exit 1", 5000, why, sizeof why),
			 PST_RUA_TEMP);
	assert_int_equal(run_script("kill -9 $$", 5000, why, sizeof why), PST_RUA_TEMP);
	assert_non_null(strstr(why, "signal 9"));
	/* Exit 0 without reading a message larger than the socket buffers:
	 * the message was not taken. */
	static char big[1 << 20];
	char cmd[160];
	pst_rua_transport tb = { cmd, NULL, NULL, 5000 };
	memset(big, 'x', sizeof big);
	script("sm", "exec 0<&-; exit 0");
	snprintf(cmd, sizeof cmd, "%s/sm", tmpdir);
	assert_int_equal(pst_rua_send(&tb, "a@b.example", "r@example.com", big, sizeof big, why,
				      sizeof why),
			 PST_RUA_TEMP);
	assert_non_null(strstr(why, "before reading the whole message"));

	/* Too slow: killed at the deadline. */
	time_t t0 = time(NULL);
	assert_int_equal(run_script("exec sleep 20", 300, why, sizeof why), PST_RUA_TEMP);
	assert_non_null(strstr(why, "did not finish within 300 ms"));
	assert_true(time(NULL) - t0 < 10);

	/* No such program. */
	pst_rua_transport t = { "/nonexistent/sendmail -x", NULL, NULL, 5000 };
	assert_int_equal(pst_rua_send(&t, "a@b.example", "r@example.com", "x\r\n", 3, why,
				      sizeof why),
			 PST_RUA_TEMP);
	assert_non_null(strstr(why, "127"));
	/* An address that would be an option or a second address. */
	assert_int_equal(pst_rua_send(&t, "a@b.example", "-oQ/tmp@x", "x", 1, why, sizeof why),
			 PST_RUA_REFUSED);
	assert_int_equal(pst_rua_send(&t, "a@b.example", "a@x b@y", "x", 1, why, sizeof why),
			 PST_RUA_REFUSED);
	assert_int_equal(pst_rua_send(&t, "a\nb", "r@example.com", "x", 1, why, sizeof why),
			 PST_RUA_TEMP);
}

/* ---- SMTP ------------------------------------------------------------------------ */

/* The in-test server: one connection, a reply per command (NULL: say
 * nothing and wait for the client to go), everything received kept. */
typedef struct fake {
	int lfd, port;
	const char *greet, *ehlo, *helo, *mail, *rcpt, *data, *eod;
	char got[8192];
	size_t len;
	pthread_t th;
} fake;

static int fake_line(int fd, fake *f, char *line, size_t cap)
{
	size_t n = 0;
	char c;

	while (recv(fd, &c, 1, 0) == 1) {
		if (f->len + 1 < sizeof f->got)
			f->got[f->len++] = c;
		if (n + 1 < cap)
			line[n++] = c;
		if (c == '\n') {
			line[n] = '\0';
			return 0;
		}
	}
	return -1;
}

static int fake_say(int fd, const char *s)
{
	char c;

	if (s == NULL) { /* silence until the client closes */
		while (recv(fd, &c, 1, 0) == 1)
			;
		return -1;
	}
	return send(fd, s, strlen(s), MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static void *fake_run(void *arg)
{
	fake *f = arg;
	char line[1024];
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (fake_say(fd, f->greet) != 0)
		goto out;
	while (fake_line(fd, f, line, sizeof line) == 0) {
		const char *r = "500 what\r\n";
		if (strncmp(line, "EHLO ", 5) == 0)
			r = f->ehlo;
		else if (strncmp(line, "HELO ", 5) == 0)
			r = f->helo;
		else if (strncmp(line, "MAIL FROM:", 10) == 0)
			r = f->mail;
		else if (strncmp(line, "RCPT TO:", 8) == 0)
			r = f->rcpt;
		else if (strcmp(line, "QUIT\r\n") == 0) {
			fake_say(fd, "221 bye\r\n");
			break;
		} else if (strcmp(line, "DATA\r\n") == 0) {
			r = f->data;
			if (fake_say(fd, r) != 0)
				break;
			if (strncmp(r, "354", 3) != 0)
				continue;
			while (fake_line(fd, f, line, sizeof line) == 0 && strcmp(line, ".\r\n") != 0)
				;
			r = f->eod;
		}
		if (fake_say(fd, r) != 0)
			break;
	}
out:
	close(fd);
	return NULL;
}

static void fake_start(fake *f)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;

	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void fake_stop(fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	f->got[f->len] = '\0';
}

static const char body[] = "Subject: x\n\n.leading dot\r\nbare LF\nlast line without end";

static pst_rua_outcome smtp_to(fake *f, unsigned timeout_ms, char *why, size_t wl)
{
	char relay[64];
	pst_rua_transport t = { NULL, relay, "mx.example.net", timeout_ms };
	pst_rua_outcome o;

	fake_start(f);
	snprintf(relay, sizeof relay, "127.0.0.1:%d", f->port);
	o = pst_rua_send(&t, "dmarc@mx.example.net", "r@example.com", body, sizeof body - 1,
			 why, wl);
	fake_stop(f);
	return o;
}

static fake good(void)
{
	fake f;

	memset(&f, 0, sizeof f);
	f.greet = "220-relay.example ESMTP\r\n220 second line\r\n";
	f.ehlo = "250-relay.example\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n";
	f.helo = "250 relay.example\r\n";
	f.mail = "250 2.1.0 Ok\r\n";
	f.rcpt = "250 2.1.5 Ok\r\n";
	f.data = "354 End data with <CR><LF>.<CR><LF>\r\n";
	f.eod = "250 2.0.0 Ok: queued as ABC123\r\n";
	return f;
}

static void smtp_sent(void **state)
{
	fake f = good();
	char why[256];

	(void)state;
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_SENT);
	assert_non_null(strstr(why, "queued as ABC123"));
	assert_string_equal(f.got, "EHLO mx.example.net\r\n"
				   "MAIL FROM:<dmarc@mx.example.net>\r\n"
				   "RCPT TO:<r@example.com>\r\n"
				   "DATA\r\n"
				   "Subject: x\r\n\r\n..leading dot\r\nbare LF\r\n"
				   "last line without end\r\n.\r\n"
				   "QUIT\r\n");
	/* EHLO refused: HELO. */
	f = good();
	f.ehlo = "502 5.5.2 no EHLO here\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_SENT);
	assert_non_null(strstr(f.got, "EHLO mx.example.net\r\nHELO mx.example.net\r\nMAIL FROM"));
}

static void smtp_failures(void **state)
{
	fake f;
	char why[256];

	(void)state;
	f = good();
	f.rcpt = "550-5.1.1 no such user\r\n550 5.1.1 really\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_REFUSED);
	assert_non_null(strstr(why, "RCPT TO: 550 5.1.1 really"));
	assert_null(strstr(f.got, "DATA"));

	f = good();
	f.rcpt = "450 4.2.0 greylisted\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_TEMP);

	f = good();
	f.eod = "554 5.7.1 message refused\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_REFUSED);
	assert_non_null(strstr(why, "end of data: 554"));

	f = good();
	f.eod = "451 4.3.0 try later\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_TEMP);

	f = good();
	f.data = "554 5.5.1 no valid recipients\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_REFUSED);

	/* The relay refusing us (not the destination): TEMP. */
	f = good();
	f.mail = "553 5.7.1 sender not allowed\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_TEMP);
	f = good();
	f.greet = "554 5.3.2 go away\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_TEMP);

	/* A reply that does not parse, and mixed codes. */
	f = good();
	f.mail = "hello there\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_TEMP);
	assert_non_null(strstr(why, "bad reply"));
	f = good();
	f.ehlo = "250-a\r\n251 b\r\n";
	assert_int_equal(smtp_to(&f, 5000, why, sizeof why), PST_RUA_TEMP);

	/* Silence after RCPT: a timeout per reply. */
	f = good();
	f.rcpt = NULL;
	time_t t0 = time(NULL);
	assert_int_equal(smtp_to(&f, 300, why, sizeof why), PST_RUA_TEMP);
	assert_non_null(strstr(why, "no reply in time"));
	assert_true(time(NULL) - t0 < 5);
}

static void smtp_connection(void **state)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	char relay[64], why[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	pst_rua_transport t = { NULL, relay, "h.example", 2000 };

	(void)state;
	/* A port nothing listens on. */
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(relay, sizeof relay, "127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(pst_rua_send(&t, "a@b.example", "r@example.com", "x", 1, why, sizeof why),
			 PST_RUA_TEMP);
	assert_non_null(strstr(why, "connect"));
	snprintf(relay, sizeof relay, "[::1]:%d", ntohs(sa.sin_port));
	assert_int_equal(pst_rua_send(&t, "a@b.example", "r@example.com", "x", 1, why, sizeof why),
			 PST_RUA_TEMP);
	static const char *const bad[] = { "nohost", "h:0", "h:70000", "[::1]25", "a:b:25", ":25" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(relay, sizeof relay, "%s", bad[i]);
		assert_int_equal(pst_rua_send(&t, "a@b.example", "r@example.com", "x", 1, why,
					      sizeof why),
				 PST_RUA_TEMP);
		assert_non_null(strstr(why, "bad relay"));
	}
}

/* ---- A real Postfix (tests/lmtp/rua_postfix.sh) ------------------------------- */

/* Run by tests/lmtp/rua_postfix.sh with POSTERN_RUA_SMTP (its smtpd,
 * HOST:PORT) and POSTERN_RUA_SENDMAIL (its sendmail with -C); skipped
 * otherwise. Two reports to rua@reports.test, one each way, and one to an
 * unknown mailbox that smtpd refuses at RCPT. The script then reads the
 * mailbox: the attachments hold the 1000 bytes below. */
static void live_postfix(void **state)
{
	const char *relay = getenv("POSTERN_RUA_SMTP"), *sm = getenv("POSTERN_RUA_SENDMAIL");
	pst_rua_transport smtp = { NULL, relay, "mx.test", 30000 };
	pst_rua_transport sendmail = { sm, NULL, NULL, 30000 };
	unsigned char gz[1000];
	pst_buf m = PST_BUF_INIT;
	char why[256];

	(void)state;
	if (relay == NULL || sm == NULL)
		skip();
	for (size_t i = 0; i < sizeof gz; i++)
		gz[i] = (unsigned char)(i * 7 + (i >> 3));
	assert_int_equal(pst_rua_compose("dmarc@mx.test", "rua@reports.test", "example.com",
					 "mx.test", "1.2.example.com@via-smtp.test",
					 "mx.test!example.com!1!2.xml.gz", gz, sizeof gz,
					 time(NULL), &m), 0);
	assert_int_equal(pst_rua_send(&smtp, "dmarc@mx.test", "rua@reports.test", m.data, m.len,
				      why, sizeof why),
			 PST_RUA_SENT);
	print_message("# smtp: %s\n", why);
	assert_int_equal(pst_rua_send(&smtp, "dmarc@mx.test", "nobody@reports.test", m.data,
				      m.len, why, sizeof why),
			 PST_RUA_REFUSED);
	print_message("# smtp, unknown mailbox: %s\n", why);
	assert_non_null(strstr(why, "RCPT TO: 550"));
	pst_buf_free(&m);
	assert_int_equal(pst_rua_compose("dmarc@mx.test", "rua@reports.test", "example.com",
					 "mx.test", "1.2.example.com@via-sendmail.test",
					 "mx.test!example.com!1!2.xml.gz", gz, sizeof gz,
					 time(NULL), &m), 0);
	assert_int_equal(pst_rua_send(&sendmail, "dmarc@mx.test", "rua@reports.test", m.data,
				      m.len, why, sizeof why),
			 PST_RUA_SENT);
	pst_buf_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dest_sizes),
		cmocka_unit_test(dest_list),
		cmocka_unit_test(dest_decoding),
		cmocka_unit_test(dest_injection),
		cmocka_unit_test_setup_teardown(verify_outcomes, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(verify_same_org, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(verify_override, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(verify_long_name, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(org_domain, env_setup, env_teardown),
		cmocka_unit_test(compose_message),
		cmocka_unit_test(compose_edges),
		cmocka_unit_test(encoded_size),
		cmocka_unit_test_setup_teardown(sendmail_pipe, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(sendmail_codes, tmp_setup, tmp_teardown),
		cmocka_unit_test(smtp_sent),
		cmocka_unit_test(smtp_failures),
		cmocka_unit_test(smtp_connection),
		cmocka_unit_test(live_postfix),
		/* After live_postfix, whose number tests/lmtp/rua_postfix.sh expects. */
		cmocka_unit_test(compose_fold_spaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
