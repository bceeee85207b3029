/*
 * fuzz_eval.c: libFuzzer target for evaluation of a fixed policy over a
 * fuzzed message, through the public API (engine/postern.h).
 *
 * The policy (below) uses every kind of test (facts of every type, header
 * quantifiers, count, every comparison, inline and named lists of each
 * kind, regexes) and every action (terminal ones, each header edit, log,
 * tag), with an authserv-id so rendering writes Authentication-Results and
 * removes forged ones. It is compiled once, in LLVMFuzzerInitialize. DNS
 * comes from a small fixture written once to a temporary file (then
 * unlinked): no live DNS is ever asked.
 *
 * The input is the message, envelope included: its leading
 * X-Postern-Envelope fields give the client IP, HELO, MAIL FROM and
 * recipients. Each run creates the message, evaluates it, renders it for
 * every recipient and writes the JSON and text reports.
 *
 * DKIM is given, not verified: libopendkim 2.11 corrupts its heap on some
 * fuzzed signatures (tests/fuzz/RESULTS.md; the h= overflow found here is
 * guarded in auth/dkim.c, other variants are not yet), and a target that
 * crashes inside the library on every run stops finding anything in ours.
 * Set POSTERN_FUZZ_DKIM=1 to fuzz the DKIM adapter and the library too.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "postern.h"

static const char pst_fuzz_policy[] =
	"authserv-id \"mx.example.net\";\n"
	"trusted-authserv-id \"gw.example.net\";\n"
	"after-queue-reject quarantine;\n"
	"dkim-max-signatures 4;\n"
	"regex-match-limit 5000;\n"
	"dns-budget 2000;\n"
	"list internal = domains { \"example.net\", example.org, \"b\xc3\xbc" "cher.example\" };\n"
	"list relays = ips { 192.0.2.0/24, 198.51.100.7, 2001:db8::/32, ::ffff:203.0.113.1 };\n"
	"list words = strings { \"Urgent\", \"invoice\", };\n"
	"rule auth {\n"
	"  when (dmarc == fail and dmarc.policy == reject) or authres.dmarc == permerror\n"
	"  then reject 550 5.7.1 \"DMARC says reject for ${from.domain}\";\n"
	"}\n"
	"rule aligned {\n"
	"  when spf.aligned and not dkim.aligned and helo.spf != pass\n"
	"  then tag \"spf-only\";\n"
	"}\n"
	"rule counts {\n"
	"  when count(header \"Received\") > 30 or from.count >= 2 or size <= 0\n"
	"  then tempfail 451 4.4.6 \"too many hops from ${client.helo}\";\n"
	"}\n"
	"rule texts {\n"
	"  when any header \"X-Mailer\" contains \"bulk\" and all header \"X-Tag\" starts-with \"ok\"\n"
	"       and subject ends-with \"!\" and header \"X-Id\" matches /^[a-z]+$/ix\n"
	"  then quarantine \"Bulk\", log \"bulk from ${client.ip} (${client.helo})\";\n"
	"}\n"
	"rule lists {\n"
	"  when from.domain in internal or envelope.from in internal or client.ip in relays\n"
	"       or subject in words or rcpt.domain in { \"a.example\", \"b.example\" }\n"
	"       or dkim.domains == \"Example.COM\" or header \"X-Env\" exists\n"
	"  then replace header \"X-Env\" \"checked ${rcpt}\", remove header \"X-Debug\" matching /^on/;\n"
	"}\n"
	"rule strip { when true then remove header \"X-Internal\", log \"${subject} ${from.display}\"; }\n"
	"tenant \"Agency.Example\" mode audit {\n"
	"  rule tenant_rule {\n"
	"    when not client.ip in relays\n"
	"    then set from.display \"Outside ${from.display}\", set from.address \"noreply@agency.example\",\n"
	"         prepend subject \"[EXT] \", add header \"X-Outside\" \"${client.ip}\";\n"
	"  }\n"
	"}\n"
	"rule spellings {\n"
	"  when client.ip not in relays and spf in { pass, neutral } and subject not contains \"x\"\n"
	"       and subject not matches /^y/ and client.ptr in internal\n"
	"  then log \"alternative spellings ${envelope.from.domain} ${rcpt.domain}\";\n"
	"}\n"
	"rule banner {\n"
	"  when not from.domain in internal and from.address ends-with \".example\"\n"
	"       or envelope.from == \"\" or dmarc.domain == \"example.com\" or spf.domain exists\n"
	"       or authres.spf == pass or authres.dkim == fail\n"
	"  then prepend subject \"[EXTERNAL] \", add header \"X-External\" \"${from.address}\";\n"
	"}\n"
	"rule discard_it { when subject == \"discard me\" then discard; }\n"
	"rule accept_it { when header \"X-Accept\" == \"yes\" then accept; }\n"
	"rule tf { when spf == temperror or dmarc == temperror then tempfail; }\n";

static const char pst_fuzz_zone[] =
	"example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net ~all\"\n"
	"_spf.example.net. TXT \"v=spf1 a mx ptr exists:%{i}.x.example.net -all\"\n"
	"example.net. A 192.0.2.10\n"
	"example.net. MX 10 mail.example.net.\n"
	"mail.example.net. AAAA 2001:db8::25\n"
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject; adkim=s; aspf=r; pct=50\"\n"
	"_dmarc.example.net. TXT \"v=DMARC1; p=quarantine; sp=none\"\n"
	"s1._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC\"\n"
	"10.2.0.192.in-addr.arpa. PTR mail.example.net.\n"
	"alias.example.com. CNAME example.com.\n"
	"$SERVFAIL broken.example.\n"
	"$TIMEOUT slow.example. TXT\n";

static pst_policy *pst_fuzz_pol;
static pst_dns *pst_fuzz_dns;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pst_compile_report rep = { 0, 0, NULL };
	if (pst_policy_compile_text("fuzz_eval.rules", pst_fuzz_policy, sizeof pst_fuzz_policy - 1,
	                            NULL, &pst_fuzz_pol, &rep) < 0) {
		fprintf(stderr, "fuzz_eval: the fixed policy does not compile:\n%s\n",
		        rep.text ? rep.text : "");
		abort();
	}
	pst_report_clear(&rep);

	char path[] = "/tmp/postern-fuzz-zone-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, pst_fuzz_zone, sizeof pst_fuzz_zone - 1)
	              != (ssize_t)(sizeof pst_fuzz_zone - 1)) {
		perror("fuzz_eval: temporary zone");
		abort();
	}
	close(fd);
	char *errors = NULL;
	int rc = pst_dns_load_fixture(path, &pst_fuzz_dns, &errors);
	unlink(path);
	if (rc < 0) {
		fprintf(stderr, "fuzz_eval: the fixed zone does not load:\n%s\n", errors ? errors : "");
		abort();
	}
	free(errors);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pst_envelope env;
	memset(&env, 0, sizeof env);
	pst_message_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.now = 1767225600;      /* 2026-01-01: fixed, for DKIM t= and x= */
	opts.dns = pst_fuzz_dns;
	opts.trace = 1;
	opts.after_queue = 1;
	static const pst_auth_given no_dkim = { .dkim = "none" };
	static int fuzz_dkim = -1;
	if (fuzz_dkim < 0)
		fuzz_dkim = getenv("POSTERN_FUZZ_DKIM") != NULL;
	if (!fuzz_dkim)
		opts.auth = &no_dkim;

	pst_message *msg = NULL;
	char err[256];
	if (pst_message_new(pst_fuzz_pol, (const char *)data, size, &env, &opts, &msg,
	                    err, sizeof err) < 0) {
		PST_FUZZ_CHECK(msg == NULL, "no message on failure");
		return 0;
	}
	if (pst_message_evaluate(msg) == 0) {
		size_t n = pst_message_rcpt_count(msg);
		PST_FUZZ_CHECK(n >= 1, "at least one recipient");
		for (size_t i = 0; i < n; i++) {
			const pst_verdict *v = pst_message_verdict(msg, i);
			PST_FUZZ_CHECK(v != NULL && v->address != NULL, "a verdict per recipient");
			PST_FUZZ_CHECK(v->code >= 200 && v->code < 600, "an SMTP code");
			char *out = NULL;
			size_t len = 0;
			if (pst_message_render(msg, i, &out, &len, err, sizeof err) == 0) {
				PST_FUZZ_CHECK(out != NULL, "rendered bytes");
				free(out);
			}
		}
		PST_FUZZ_CHECK(pst_message_verdict(msg, n) == NULL, "verdict out of range");
		char *json = NULL;
		if (pst_message_json(msg, &json) == 0) {
			PST_FUZZ_CHECK(json != NULL && json[0] == '{', "a JSON object");
			free(json);
		}
		char *text = NULL;
		if (pst_message_text(msg, &text) == 0)
			free(text);
	}
	pst_message_free(&msg);
	return 0;
}
