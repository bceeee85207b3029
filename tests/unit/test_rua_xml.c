/* Unit tests for engine/rua/xml.c: the Report-ID (with and without a
 * unique-id, cut to dot-atom-text, too small a buffer), the file name
 * (with and without unique-id, .xml and .xml.gz, unsafe characters), XML
 * escaping, control bytes and U+FFFE / U+FFFF, a record with two DKIM signatures and a
 * reason, the null reverse-path's empty envelope_from, the policy's
 * defaults and published tags, and the gzip read back with zlib's inflate
 * (data, the header's name and mtime), and every allocation failed in
 * turn (failalloc: the buffer is left as it was). The schema:
 * tests/report/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "failalloc.h"
#include "rua/rua.h"

static const pst_rua_meta meta = {
	.org_name = "Example Receiver",
	.email = "dmarc-reports@receiver.example",
	.extra_contact = NULL,
	.submitter = "receiver.example",
	.unique_id = NULL,
	.generator = "postern 0.1.0",
};

static void report_init(pst_rua_report *r, pst_rua_record *rec, size_t nrec)
{
	memset(r, 0, sizeof *r);
	snprintf(r->domain, sizeof r->domain, "%s", "sender.example");
	r->begin = 1700000000;
	r->end = 1700086400;
	r->policy.found = 1;
	snprintf(r->policy.p, sizeof r->policy.p, "%s", "reject");
	r->policy.pct = -1;
	r->rec = rec;
	r->nrec = nrec;
}

static void record_init(pst_rua_record *rec)
{
	memset(rec, 0, sizeof *rec);
	snprintf(rec->source_ip, sizeof rec->source_ip, "%s", "192.0.2.1");
	rec->count = 3;
	snprintf(rec->disposition, sizeof rec->disposition, "%s", "none");
	rec->dkim_aligned = 1;
	snprintf(rec->header_from, sizeof rec->header_from, "%s", "sender.example");
	snprintf(rec->envelope_from, sizeof rec->envelope_from, "%s", "bounce.sender.example");
	snprintf(rec->spf_domain, sizeof rec->spf_domain, "%s", "bounce.sender.example");
	snprintf(rec->spf_scope, sizeof rec->spf_scope, "%s", "mfrom");
	snprintf(rec->spf_result, sizeof rec->spf_result, "%s", "pass");
}

/* The XML of r (fails the test on error); free() it. */
static char *xml_of(const pst_rua_report *r, const pst_rua_meta *m)
{
	pst_buf b = PST_BUF_INIT;
	assert_int_equal(pst_rua_xml(r, m, &b), 0);
	return pst_buf_steal(&b, NULL);
}

static void has(const char *xml, const char *want)
{
	if (!strstr(xml, want))
		fail_msg("missing %s in:\n%s", want, xml);
}

static void lacks(const char *xml, const char *bad)
{
	if (strstr(xml, bad))
		fail_msg("unexpected %s in:\n%s", bad, xml);
}

static void report_id(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_meta m = meta;
	char id[256];
	report_init(&r, NULL, 0);
	assert_int_equal(pst_rua_report_id(&r, &m, id, sizeof id), 0);
	assert_string_equal(id, "1700000000.1700086399.sender.example@receiver.example");
	m.unique_id = "a1";
	assert_int_equal(pst_rua_report_id(&r, &m, id, sizeof id), 0);
	assert_string_equal(id, "1700000000.1700086399.a1.sender.example@receiver.example");
	/* dot-atom-text: no empty labels, atext only. */
	snprintf(r.domain, sizeof r.domain, "%s", ".odd..dom ain.");
	m.unique_id = NULL;
	m.submitter = "rx.example.";
	assert_int_equal(pst_rua_report_id(&r, &m, id, sizeof id), 0);
	assert_string_equal(id, "1700000000.1700086399.odd.dom_ain@rx.example");
	/* No submitter: no "@" part. */
	m.submitter = NULL;
	assert_int_equal(pst_rua_report_id(&r, &m, id, sizeof id), 0);
	assert_string_equal(id, "1700000000.1700086399.odd.dom_ain");
	/* Too small: -1 and an empty string, for every cut. */
	report_init(&r, NULL, 0);
	m = meta;
	size_t full = strlen("1700000000.1700086399.sender.example@receiver.example");
	for (size_t len = 1; len <= full; len++) {
		memset(id, 'x', sizeof id);
		assert_int_equal(pst_rua_report_id(&r, &m, id, len), -1);
		assert_string_equal(id, "");
	}
	assert_int_equal(pst_rua_report_id(&r, &m, id, full + 1), 0);
	assert_int_equal(pst_rua_report_id(&r, &m, id, 0), -1);
}

static void filename(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_meta m = meta;
	char f[256];
	report_init(&r, NULL, 0);
	assert_int_equal(pst_rua_filename(&r, &m, 0, f, sizeof f), 0);
	assert_string_equal(f, "receiver.example!sender.example!1700000000!1700086399.xml");
	assert_int_equal(pst_rua_filename(&r, &m, 1, f, sizeof f), 0);
	assert_string_equal(f, "receiver.example!sender.example!1700000000!1700086399.xml.gz");
	m.unique_id = "U42";
	assert_int_equal(pst_rua_filename(&r, &m, 1, f, sizeof f), 0);
	assert_string_equal(f, "receiver.example!sender.example!1700000000!1700086399!U42.xml.gz");
	assert_int_equal(pst_rua_filename(&r, &m, 0, f, sizeof f), 0);
	assert_string_equal(f, "receiver.example!sender.example!1700000000!1700086399!U42.xml");
	/* No '/' or '!' from a domain. */
	snprintf(r.domain, sizeof r.domain, "%s", "../a!b");
	m.unique_id = NULL;
	assert_int_equal(pst_rua_filename(&r, &m, 0, f, sizeof f), 0);
	assert_string_equal(f, "receiver.example!.._a_b!1700000000!1700086399.xml");
	/* Exactly fits, one short. */
	report_init(&r, NULL, 0);
	size_t need = strlen("receiver.example!sender.example!1700000000!1700086399.xml.gz") + 1;
	assert_int_equal(pst_rua_filename(&r, &m, 1, f, need), 0);
	assert_int_equal(pst_rua_filename(&r, &m, 1, f, need - 1), -1);
	assert_string_equal(f, "");
}

static void escaping(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec;
	pst_rua_meta m = meta;
	record_init(&rec);
	report_init(&r, &rec, 1);
	m.org_name = "A&B <\"Mail\"> 'Co'";
	m.extra_contact = "tab\there\x01\x7f end";
	m.generator = "p\xc3\xa9rn \xff\xfe x";    /* valid é, invalid bytes */
	snprintf(rec.reason_type, sizeof rec.reason_type, "%s", "other");
	snprintf(rec.reason_comment, sizeof rec.reason_comment, "%s", "a<b&c>d");
	char *x = xml_of(&r, &m);
	has(x, "<org_name>A&amp;B &lt;&quot;Mail&quot;&gt; &apos;Co&apos;</org_name>");
	has(x, "<extra_contact_info>tab?here?? end</extra_contact_info>");
	has(x, "<generator>p\xc3\xa9rn ?? x</generator>");
	has(x, "<comment>a&lt;b&amp;c&gt;d</comment>");
	lacks(x, "\x01");
	free(x);
}

/* U+FFFE and U+FFFF are valid UTF-8 but no XML Char (XML 1.0, production
 * [2]): a document holding them is not well-formed, so they are written as
 * '?' like invalid bytes. Their neighbours U+FFFD and U+10000 stay. Found
 * by tests/fuzz/fuzz_rua. */
static void xml_noncharacters(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec;
	pst_rua_meta m = meta;
	record_init(&rec);
	report_init(&r, &rec, 1);
	m.org_name = "a\xef\xbf\xbe" "b\xef\xbf\xbf" "c";
	m.generator = "\xef\xbf\xbd\xf0\x90\x80\x80";
	char *x = xml_of(&r, &m);
	has(x, "<org_name>a?b?c</org_name>");
	has(x, "<generator>\xef\xbf\xbd\xf0\x90\x80\x80</generator>");
	lacks(x, "\xef\xbf\xbe");
	lacks(x, "\xef\xbf\xbf");
	free(x);
}

static void two_dkim_and_reason(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec[2];
	record_init(&rec[0]);
	record_init(&rec[1]);
	report_init(&r, rec, 2);
	rec[0].ndkim = 2;
	snprintf(rec[0].dkim[0].domain, sizeof rec[0].dkim[0].domain, "%s", "sender.example");
	snprintf(rec[0].dkim[0].selector, sizeof rec[0].dkim[0].selector, "%s", "s1");
	snprintf(rec[0].dkim[0].result, sizeof rec[0].dkim[0].result, "%s", "pass");
	snprintf(rec[0].dkim[1].domain, sizeof rec[0].dkim[1].domain, "%s", "esp.example");
	snprintf(rec[0].dkim[1].selector, sizeof rec[0].dkim[1].selector, "%s", "k2");
	snprintf(rec[0].dkim[1].result, sizeof rec[0].dkim[1].result, "%s", "FAIL");
	snprintf(rec[0].dkim[1].human, sizeof rec[0].dkim[1].human, "%s", "body hash mismatch");
	snprintf(rec[0].disposition, sizeof rec[0].disposition, "%s", "none");
	snprintf(rec[0].reason_type, sizeof rec[0].reason_type, "%s", "mailing_list");
	snprintf(rec[0].reason_comment, sizeof rec[0].reason_comment, "%s", "list.example");
	rec[1].count = 1;
	rec[1].dkim_aligned = 0;
	snprintf(rec[1].source_ip, sizeof rec[1].source_ip, "%s", "2001:db8::25");
	snprintf(rec[1].disposition, sizeof rec[1].disposition, "%s", "reject");
	snprintf(rec[1].reason_type, sizeof rec[1].reason_type, "%s", "bogus");
	rec[1].spf_result[0] = '\0';              /* SPF not evaluated */
	char *x = xml_of(&r, &meta);
	has(x, "\t\t<row>\n"
	       "\t\t\t<source_ip>192.0.2.1</source_ip>\n"
	       "\t\t\t<count>3</count>\n"
	       "\t\t\t<policy_evaluated>\n"
	       "\t\t\t\t<disposition>none</disposition>\n"
	       "\t\t\t\t<dkim>pass</dkim>\n"
	       "\t\t\t\t<spf>fail</spf>\n"
	       "\t\t\t\t<reason>\n"
	       "\t\t\t\t\t<type>mailing_list</type>\n"
	       "\t\t\t\t\t<comment>list.example</comment>\n"
	       "\t\t\t\t</reason>\n");
	has(x, "\t\t\t<dkim>\n"
	       "\t\t\t\t<domain>sender.example</domain>\n"
	       "\t\t\t\t<selector>s1</selector>\n"
	       "\t\t\t\t<result>pass</result>\n"
	       "\t\t\t</dkim>\n"
	       "\t\t\t<dkim>\n"
	       "\t\t\t\t<domain>esp.example</domain>\n"
	       "\t\t\t\t<selector>k2</selector>\n"
	       "\t\t\t\t<result>fail</result>\n"
	       "\t\t\t\t<human_result>body hash mismatch</human_result>\n"
	       "\t\t\t</dkim>\n"
	       "\t\t\t<spf>\n"
	       "\t\t\t\t<domain>bounce.sender.example</domain>\n"
	       "\t\t\t\t<scope>mfrom</scope>\n"
	       "\t\t\t\t<result>pass</result>\n"
	       "\t\t\t</spf>\n");
	/* The second record: an unknown reason type is "other", no comment,
	 * no <spf>. */
	const char *second = strstr(x, "<source_ip>2001:db8::25</source_ip>");
	assert_non_null(second);
	has(second, "<disposition>reject</disposition>\n\t\t\t\t<dkim>fail</dkim>");
	has(second, "<reason>\n\t\t\t\t\t<type>other</type>\n\t\t\t\t</reason>");
	has(second, "<auth_results>\n\t\t</auth_results>");
	/* Document order: version, metadata, policy, records; one close. */
	const char *v = strstr(x, "<version>1.0</version>"), *md = strstr(x, "<report_metadata>"),
	           *pp = strstr(x, "<policy_published>"), *rc = strstr(x, "<record>");
	assert_true(v && md && pp && rc && v < md && md < pp && pp < rc);
	static const char top[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                          "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
	                          "\t<version>1.0</version>\n";
	assert_int_equal(strncmp(x, top, sizeof top - 1), 0);
	size_t n = strlen(x);
	assert_string_equal(x + n - strlen("</feedback>\n"), "</feedback>\n");
	has(x, "<report_id>1700000000.1700086399.sender.example@receiver.example</report_id>");
	has(x, "<date_range>\n\t\t\t<begin>1700000000</begin>\n\t\t\t<end>1700086399</end>\n");
	has(x, "<generator>postern 0.1.0</generator>");
	lacks(x, "extra_contact_info");
	lacks(x, "envelope_to");
	free(x);
}

static void null_reverse_path(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec;
	record_init(&rec);
	report_init(&r, &rec, 1);
	rec.envelope_from[0] = '\0';
	snprintf(rec.spf_domain, sizeof rec.spf_domain, "%s", "mta.sender.example");
	snprintf(rec.spf_scope, sizeof rec.spf_scope, "%s", "helo");
	char *x = xml_of(&r, &meta);
	has(x, "<identifiers>\n"
	       "\t\t\t<header_from>sender.example</header_from>\n"
	       "\t\t\t<envelope_from></envelope_from>\n"
	       "\t\t</identifiers>\n");
	has(x, "<domain>mta.sender.example</domain>\n\t\t\t\t<scope>mfrom</scope>");
	lacks(x, "helo");
	free(x);
}

static void policy_defaults(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec;
	record_init(&rec);
	report_init(&r, &rec, 1);
	/* Only p=reject published: sp = p, adkim/aspf r, no np/fo/testing. */
	char *x = xml_of(&r, &meta);
	has(x, "\t<policy_published>\n"
	       "\t\t<domain>sender.example</domain>\n"
	       "\t\t<discovery_method>treewalk</discovery_method>\n"
	       "\t\t<p>reject</p>\n"
	       "\t\t<sp>reject</sp>\n"
	       "\t\t<adkim>r</adkim>\n"
	       "\t\t<aspf>r</aspf>\n"
	       "\t</policy_published>\n");
	free(x);
	/* Everything published. */
	snprintf(r.policy.p, sizeof r.policy.p, "%s", "quarantine");
	snprintf(r.policy.sp, sizeof r.policy.sp, "%s", "none");
	snprintf(r.policy.np, sizeof r.policy.np, "%s", "reject");
	snprintf(r.policy.adkim, sizeof r.policy.adkim, "%s", "s");
	snprintf(r.policy.aspf, sizeof r.policy.aspf, "%s", "s");
	snprintf(r.policy.testing, sizeof r.policy.testing, "%s", "y");
	snprintf(r.policy.fo, sizeof r.policy.fo, "%s", "1:d");
	x = xml_of(&r, &meta);
	has(x, "<p>quarantine</p>\n\t\t<sp>none</sp>\n\t\t<np>reject</np>\n"
	       "\t\t<adkim>s</adkim>\n\t\t<aspf>s</aspf>\n\t\t<fo>1:d</fo>\n"
	       "\t\t<testing>y</testing>\n");
	free(x);
	/* No p (or an unknown one): none, and sp follows it; bad values of
	 * the optional tags are left out or defaulted. */
	memset(&r.policy, 0, sizeof r.policy);
	snprintf(r.policy.p, sizeof r.policy.p, "%s", "bogus");
	snprintf(r.policy.np, sizeof r.policy.np, "%s", "maybe");
	snprintf(r.policy.adkim, sizeof r.policy.adkim, "%s", "x");
	snprintf(r.policy.testing, sizeof r.policy.testing, "%s", "t");
	x = xml_of(&r, &meta);
	has(x, "<p>none</p>\n\t\t<sp>none</sp>\n\t\t<adkim>r</adkim>\n\t\t<aspf>r</aspf>\n"
	       "\t</policy_published>");
	lacks(x, "<np>");
	lacks(x, "<testing>");
	free(x);
}

static void xml_appends(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec;
	record_init(&rec);
	report_init(&r, &rec, 1);
	pst_buf b = PST_BUF_INIT;
	assert_int_equal(pst_buf_puts(&b, "HEAD"), 0);
	assert_int_equal(pst_rua_xml(&r, &meta, &b), 0);
	assert_int_equal(strncmp(pst_buf_str(&b), "HEAD<?xml ", 10), 0);
	pst_buf_free(&b);
}

/* Inflate a gzip member with zlib, reading its header. */
static void gunzip(const pst_buf *gz, pst_buf *out, char *name, size_t namelen, uLong *mtime)
{
	z_stream zs;
	gz_header head;
	memset(&zs, 0, sizeof zs);
	memset(&head, 0, sizeof head);
	head.name = (Bytef *)name;
	head.name_max = (uInt)namelen;
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	assert_int_equal(inflateGetHeader(&zs, &head), Z_OK);
	zs.next_in = (Bytef *)gz->data;
	zs.avail_in = (uInt)gz->len;
	int ret;
	do {
		unsigned char chunk[4096];
		zs.next_out = chunk;
		zs.avail_out = sizeof chunk;
		ret = inflate(&zs, Z_NO_FLUSH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END);
		assert_int_equal(pst_buf_append(out, chunk, sizeof chunk - zs.avail_out), 0);
	} while (ret != Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);          /* nothing after the member */
	assert_int_equal(head.done, 1);
	*mtime = head.time;
	if (head.name == Z_NULL)                   /* zlib: no FNAME in the header */
		name[0] = '\0';
	assert_int_equal(inflateEnd(&zs), Z_OK);
}

static void gzip_round_trip(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec[40];
	for (size_t i = 0; i < 40; i++) {
		record_init(&rec[i]);
		snprintf(rec[i].source_ip, sizeof rec[i].source_ip, "198.51.100.%zu", i);
	}
	report_init(&r, rec, 40);
	pst_buf x = PST_BUF_INIT, gz = PST_BUF_INIT, back = PST_BUF_INIT;
	assert_int_equal(pst_rua_xml(&r, &meta, &x), 0);
	assert_int_equal(pst_buf_puts(&gz, "pre"), 0);
	assert_int_equal(pst_rua_gzip(x.data, x.len, "r.xml", 1700090000, &gz), 0);
	/* Appended after what was there; the magic and deflate method. */
	assert_memory_equal(gz.data, "pre\x1f\x8b\x08", 6);
	assert_true(gz.len - 3 < x.len / 4);      /* repetitive XML compresses */
	pst_buf member = { gz.data + 3, gz.len - 3, 0 };
	char name[64];
	uLong mtime = 0;
	gunzip(&member, &back, name, sizeof name, &mtime);
	assert_int_equal(back.len, x.len);
	assert_memory_equal(back.data, x.data, x.len);
	assert_string_equal(name, "r.xml");
	assert_int_equal(mtime, 1700090000);
	/* Empty input, no name, a time gzip cannot carry (0: none). */
	pst_buf_clear(&gz);
	pst_buf_clear(&back);
	assert_int_equal(pst_rua_gzip(NULL, 0, NULL, -5, &gz), 0);
	mtime = 1;
	name[0] = 'z';
	gunzip(&gz, &back, name, sizeof name, &mtime);
	assert_int_equal(back.len, 0);
	assert_int_equal(mtime, 0);
	assert_string_equal(name, "");
	pst_buf_free(&x);
	pst_buf_free(&gz);
	pst_buf_free(&back);
}

/* Fail the first, second, ... allocation of pst_rua_xml and pst_rua_gzip
 * (pst_buf's; zlib's own are not wrapped): -1 and the buffer as it was,
 * until one run needs no failed allocation and succeeds. */
static void out_of_memory(void **state)
{
	(void)state;
	pst_rua_report r;
	pst_rua_record rec[3];
	for (size_t i = 0; i < 3; i++)
		record_init(&rec[i]);
	report_init(&r, rec, 3);
	pst_buf x = PST_BUF_INIT;
	assert_int_equal(pst_rua_xml(&r, &meta, &x), 0);
	for (int gz = 0; gz < 2; gz++) {
		long n;
		for (n = 1; n < 10000; n++) {
			pst_buf b = PST_BUF_INIT;
			assert_int_equal(pst_buf_puts(&b, "HEAD"), 0);
			pst_failalloc_failed = 0;
			pst_failalloc_countdown = n;
			int rc = gz ? pst_rua_gzip(x.data, x.len, "n", 1, &b) : pst_rua_xml(&r, &meta, &b);
			pst_failalloc_countdown = 0;
			if (!pst_failalloc_failed) {
				assert_int_equal(rc, 0);
				assert_true(b.len > 4);
				pst_buf_free(&b);
				break;
			}
			assert_int_equal(rc, -1);
			assert_int_equal(b.len, 4);
			assert_string_equal(pst_buf_str(&b), "HEAD");
			pst_buf_free(&b);
		}
		assert_true(n > 1 && n < 10000);
	}
	pst_buf_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(report_id),
		cmocka_unit_test(filename),
		cmocka_unit_test(escaping),
		cmocka_unit_test(xml_noncharacters),
		cmocka_unit_test(two_dkim_and_reason),
		cmocka_unit_test(null_reverse_path),
		cmocka_unit_test(policy_defaults),
		cmocka_unit_test(xml_appends),
		cmocka_unit_test(gzip_round_trip),
		cmocka_unit_test(out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
