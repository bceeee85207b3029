/* rua_xml_sample: writes sample DMARC aggregate reports through
 * engine/rua/xml.c, for tests/report/xml_schema.sh to validate against
 * the RFC 9990 schema.
 *
 *   rua_xml_sample DIR
 *
 * For each sample, DIR/NAME.xml (pst_rua_xml) and DIR/NAME.xml.gz
 * (pst_rua_gzip of the same bytes, the member named by pst_rua_filename);
 * NAME is printed, one a line. The reports are filled field by field (not
 * through aggregate.c), covering: the least a report has; every optional
 * element; values outside the RFC's enumerations (which xml.c must map to
 * valid ones); and the limits (PST_STORE_MAX_DKIM signatures, the longest
 * fields, the largest count, IPv6 forms). Exit 0, or 1 with a message. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rua/rua.h"

#define SET(field, value) snprintf((field), sizeof(field), "%s", (value))

static void record_basic(pst_rua_record *rec, const char *ip, unsigned long count)
{
	memset(rec, 0, sizeof *rec);
	SET(rec->source_ip, ip);
	rec->count = count;
	SET(rec->disposition, "none");
	rec->spf_aligned = 1;
	SET(rec->header_from, "sender.example");
	SET(rec->envelope_from, "sender.example");
	SET(rec->spf_domain, "sender.example");
	SET(rec->spf_scope, "mfrom");
	SET(rec->spf_result, "pass");
}

static void dkim_add(pst_rua_record *rec, const char *d, const char *s, const char *res,
                     const char *human)
{
	pst_store_dkim *k = &rec->dkim[rec->ndkim++];
	SET(k->domain, d);
	SET(k->selector, s);
	SET(k->result, res);
	SET(k->human, human);
}

static void report_basic(pst_rua_report *r, const char *domain, pst_rua_record *rec, size_t n)
{
	memset(r, 0, sizeof *r);
	SET(r->domain, domain);
	r->begin = 1767225600;                  /* 2026-01-01 */
	r->end = r->begin + 86400;
	r->policy.found = 1;
	r->policy.pct = -1;
	r->rec = rec;
	r->nrec = n;
}

static int write_file(const char *dir, const char *name, const char *ext, const void *p,
                      size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	if (fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int emit(const char *dir, const char *name, const pst_rua_report *r,
                const pst_rua_meta *m)
{
	pst_buf x = PST_BUF_INIT, gz = PST_BUF_INIT;
	char fname[1024];
	int rc = -1;
	if (pst_rua_filename(r, m, 0, fname, sizeof fname) || pst_rua_xml(r, m, &x) ||
	    pst_rua_gzip(x.data, x.len, fname, r->end, &gz)) {
		fprintf(stderr, "rua_xml_sample: %s: xml.c failed\n", name);
		goto out;
	}
	if (write_file(dir, name, ".xml", x.data, x.len) ||
	    write_file(dir, name, ".xml.gz", gz.data, gz.len))
		goto out;
	printf("%s\n", name);
	rc = 0;
out:
	pst_buf_free(&x);
	pst_buf_free(&gz);
	return rc;
}

int main(int argc, char **argv)
{
	static pst_rua_record rec[8];
	pst_rua_report r;
	int rc = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: rua_xml_sample DIR\n");
		return 2;
	}
	const char *dir = argv[1];

	/* minimal: one record, p only, no DKIM, no generator. */
	pst_rua_meta m = { .org_name = "Receiver", .email = "dmarc@receiver.example",
	                   .submitter = "receiver.example" };
	record_basic(&rec[0], "192.0.2.1", 1);
	report_basic(&r, "sender.example", rec, 1);
	SET(r.policy.p, "none");
	rc |= emit(dir, "minimal", &r, &m);

	/* full: every optional element, escaping, two DKIM signatures, a
	 * reason, the null reverse-path, a record without SPF, IPv6. */
	pst_rua_meta full = { .org_name = "Receiver & Sons <\"postmaster\">",
	                      .email = "dmarc@receiver.example",
	                      .extra_contact = "https://receiver.example/dmarc?a=1&b='2'",
	                      .submitter = "receiver.example", .unique_id = "7Q",
	                      .generator = "postern 0.1.0" };
	record_basic(&rec[0], "2001:db8::25", 12);
	rec[0].dkim_aligned = 1;
	SET(rec[0].envelope_from, "bounce.sender.example");
	dkim_add(&rec[0], "sender.example", "s2026", "pass", "");
	dkim_add(&rec[0], "esp.example", "k1", "fail", "body hash <mismatch>");
	SET(rec[0].reason_type, "mailing_list");
	SET(rec[0].reason_comment, "list \"dev\" & friends");
	SET(rec[0].spf_human, "sender.example: 2001:db8::25 is permitted");
	record_basic(&rec[1], "198.51.100.7", 2);
	rec[1].spf_aligned = 0;
	rec[1].envelope_from[0] = '\0';
	SET(rec[1].spf_domain, "mta.other.example");
	SET(rec[1].spf_scope, "helo");
	SET(rec[1].spf_result, "softfail");
	SET(rec[1].disposition, "quarantine");
	record_basic(&rec[2], "::ffff:192.0.2.9", 1);
	rec[2].spf_result[0] = '\0';
	rec[2].spf_aligned = 0;
	SET(rec[2].disposition, "reject");
	SET(rec[2].reason_type, "local_policy");
	report_basic(&r, "sender.example", rec, 3);
	SET(r.policy.p, "reject");
	SET(r.policy.sp, "quarantine");
	SET(r.policy.np, "reject");
	SET(r.policy.adkim, "s");
	SET(r.policy.aspf, "r");
	SET(r.policy.fo, "1:d:s");
	SET(r.policy.testing, "n");
	rc |= emit(dir, "full", &r, &full);

	/* unknown: words outside the enumerations, a record not found. */
	record_basic(&rec[0], "203.0.113.5", 4);
	SET(rec[0].disposition, "discard");
	SET(rec[0].reason_type, "forwarded");
	SET(rec[0].spf_result, "hardfail");
	dkim_add(&rec[0], "sender.example", "sel", "invalid", "");
	report_basic(&r, "sender.example", rec, 1);
	r.policy.found = 0;
	SET(r.policy.sp, "maybe");
	SET(r.policy.adkim, "x");
	SET(r.policy.testing, "t");
	rc |= emit(dir, "unknown", &r, &m);

	/* limits: all DKIM slots, the longest fields, ULONG_MAX, every IP form. */
	static const char *const ips[] = { "fe80::1:2:3:4:5:6", "1:2:3:4:5:6:7:8", "::", "::1",
		                           "2001:db8::", "0.0.0.0", "255.255.255.255",
		                           "64:ff9b::192.0.2.33" };
	char longname[PST_STORE_DOMAIN_MAX];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	for (size_t i = 0; i < 8; i++) {
		record_basic(&rec[i], ips[i], i == 0 ? ULONG_MAX : i);
		SET(rec[i].header_from, longname);
		SET(rec[i].envelope_from, longname);
	}
	for (size_t i = 0; i < PST_STORE_MAX_DKIM; i++)
		dkim_add(&rec[0], longname, longname, i % 2 ? "temperror" : "permerror", longname);
	report_basic(&r, longname, rec, 8);
	SET(r.policy.p, "quarantine");
	rc |= emit(dir, "limits", &r, &full);
	return rc ? 1 : 0;
}
