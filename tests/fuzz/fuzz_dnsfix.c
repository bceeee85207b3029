/*
 * fuzz_dnsfix.c: libFuzzer target for the DNS fixture parser
 * (engine/dns/fixture_parse.c) and its answers (engine/dns/fixture.c).
 *
 * The input is a fixture file. When it loads, the first word of each of
 * its first lines (the owner names, and some junk) is asked for every
 * supported type, with and without a trailing dot and in upper case, and
 * every answer's records are read. Invariants: a failed load returns no
 * fixture and at least one error line; NOERROR answers hold records of the
 * asked type, others none.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "dns/fixture.h"
#include "fuzz_common.h"
#include "util/buf.h"

#define PST_FUZZ_MAX_NAMES 16

static const int pst_fuzz_types[] = { 1, 28, 16, 99, 15, 12, 5, 2, 255 };

static void pst_fuzz_ask(const pst_dnsfix *f, const char *name)
{
	for (size_t t = 0; t < sizeof pst_fuzz_types / sizeof pst_fuzz_types[0]; t++) {
		pst_dns_answer ans;
		pst_dns_status st = pst_dnsfix_query(f, name, pst_fuzz_types[t], &ans);
		PST_FUZZ_CHECK(st == ans.status, "status returned");
		if (st == PST_DNS_NOERROR) {
			PST_FUZZ_CHECK(ans.count > 0 && ans.rrs != NULL, "records with NOERROR");
		}
		PST_FUZZ_CHECK(ans.chain_len <= PST_MAX_DNS_CNAME_CHAIN, "chain bound");
		for (size_t i = 0; i < ans.count; i++) {
			const pst_dns_rr *rr = &ans.rrs[i];
			PST_FUZZ_CHECK(rr->owner != NULL, "owner");
			if (rr->text)
				PST_FUZZ_CHECK(rr->text[rr->text_len] == '\0', "text terminated");
			if (rr->target)
				(void)strlen(rr->target);
		}
		for (size_t i = 0; i < ans.chain_len; i++)
			PST_FUZZ_CHECK(ans.chain[i] && ans.chain[i]->target, "chain target");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pst_dnsfix *f = NULL;
	pst_buf errors = PST_BUF_INIT;
	if (pst_dnsfix_load_text("fuzz.zone", (const char *)data, size, &f, &errors) < 0) {
		PST_FUZZ_CHECK(f == NULL, "no fixture on failure");
		PST_FUZZ_CHECK(errors.len > 0, "an error line on failure");
		pst_buf_free(&errors);
		return 0;
	}
	pst_buf_free(&errors);
	PST_FUZZ_CHECK(f != NULL, "a fixture on success");
	(void)pst_dnsfix_record_count(f);

	size_t p = 0, names = 0;
	while (p < size && names < PST_FUZZ_MAX_NAMES) {
		size_t e = p;
		while (e < size && data[e] != '\n' && data[e] != ' ' && data[e] != '\t')
			e++;
		size_t n = e - p;
		if (n > 0 && n < 300 && data[p] != ';' && data[p] != '$') {
			char name[304];
			memcpy(name, data + p, n);
			name[n] = '\0';
			pst_fuzz_ask(f, name);
			for (size_t i = 0; i < n; i++)
				name[i] = (char)toupper((unsigned char)name[i]);
			if (name[n - 1] == '.')
				name[n - 1] = '\0';
			else
				name[n] = '.', name[n + 1] = '\0';
			pst_fuzz_ask(f, name);
			names++;
		}
		while (p < size && data[p] != '\n')
			p++;
		p++;
	}
	pst_fuzz_ask(f, "");
	pst_fuzz_ask(f, "nonexistent.example");
	pst_dnsfix_free(&f);
	return 0;
}
