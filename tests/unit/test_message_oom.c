/* Allocation failure in the message path (engine/msg via postern.h):
 * pst_message_new, pst_message_evaluate, pst_message_render for every
 * recipient, pst_message_json and the Maildir trace fields, SQLite style:
 * for N = 1, 2, ... until a run needs no more, the N-th malloc, calloc or
 * realloc of the library fails (ld --wrap, tests/unit/failalloc.c). Each
 * run must either fail cleanly (-1, with an error text from
 * pst_message_new) or give exactly what a run without failures gives;
 * nothing may leak (run under the sanitizers: LeakSanitizer at exit). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "postern.h"
#include "deliver/deliver_private.h"
#include "failalloc.h"
#include "util/buf.h"

static const char policy_text[] =
    "authserv-id \"mx.example.net\";\n"
    "rule tagit { when subject matches /money/i then prepend subject \"[SPAM] \", "
    "add header \"X-Tag\" \"from ${from.domain}\"; }\n"
    "rule strip { when header \"X-Internal\" exists then remove header \"X-Internal\"; }\n"
    "rule name { when from.domain == \"example.com\" then set from.display \"Ext ${from.display}\"; }\n"
    "rule q { when envelope.from == \"q@example.com\" then quarantine \"Junk\"; }\n";

static const char *const messages[] = {
	"From: =?UTF-8?B?QsO2Yg==?= <bob@example.com>\r\n"
	"To: Ann <ann@example.net>, group: a@example.org, b@example.org;\r\n"
	"Subject: =?ISO-8859-1?Q?Free_money?= now\r\n"
	"X-Internal: secret\r\n"
	"Authentication-Results: mx.example.net; spf=pass (forged)\r\n"
	"\r\nbody\r\n",
	"X-Postern-Envelope: client-ip=192.0.2.7; mail-from=q@example.com; rcpt=c@example.net\n"
	"From: \"Carol, C.\" <carol@example.com> (comment)\n"
	"Subject: a long\n folded subject about money\n"
	"\n",
	"From: nobody\r\nSubject: no address\r\n\r\n",
};

static const char *const rcpts[] = { "ann@example.net", "dan@example.net" };

typedef struct result {
	int rc;
	char *copies[2];
	size_t lens[2];
	char *json;
	pst_buf trace;
} result;

static void result_free(result *r)
{
	for (int i = 0; i < 2; i++)
		free(r->copies[i]);
	free(r->json);
	pst_buf_free(&r->trace);
	memset(r, 0, sizeof *r);
}

/* One message through the whole path; r->rc is 0 or -1. */
static void run(const pst_policy *pol, const pst_dns *dns, const char *bytes, size_t nrcpts,
                result *r)
{
	pst_envelope env = { .client_ip = "192.0.2.7", .helo = "mail.example.com",
	                     .mail_from = "bob@example.com", .rcpts = rcpts, .nrcpts = nrcpts };
	pst_message_opts opts = { .now = 1700000000, .dns = dns, .trace = 1, .after_queue = 1 };
	pst_message *m = NULL;
	char err[256] = "";
	pst_deliver d = { .delimiter = 0 };
	pst_deliver_env denv = { .mail_from = "bob@example.com", .queue_id = "Q1",
	                         .lhlo = "client.test", .peer = "127.0.0.1" };

	snprintf(d.hostname, sizeof d.hostname, "mx.test");
	memset(r, 0, sizeof *r);
	r->rc = pst_message_new(pol, bytes, strlen(bytes), nrcpts ? &env : NULL, &opts, &m, err,
	                        sizeof err);
	if (r->rc != 0) {
		assert_null(m);
		assert_true(err[0] != '\0');
		assert_int_equal(errno, ENOMEM);   /* the message itself is fine */
		return;
	}
	if ((r->rc = pst_message_evaluate(m)) == 0) {
		size_t n = pst_message_rcpt_count(m);
		for (size_t i = 0; i < n && i < 2 && r->rc == 0; i++) {
			assert_non_null(pst_message_verdict(m, i));
			r->rc = pst_message_render(m, i, &r->copies[i], &r->lens[i], err, sizeof err);
			if (r->rc == 0)
				r->rc = pst_maildir_trace(&d, &denv, pst_message_verdict(m, i)->address,
				                          "\r\n", 1700000000, &r->trace);
		}
	}
	if (r->rc == 0)
		r->rc = pst_message_json(m, &r->json);
	pst_message_free(&m);
}

static void every_allocation_may_fail(void **state)
{
	(void)state;
	char path[] = "/tmp/postern-oom-XXXXXX";
	int fd = mkstemp(path);
	static const char zone[] =
	    "example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	    "_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=reject\"\n";
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zone, sizeof zone - 1), (ssize_t)(sizeof zone - 1));
	close(fd);
	pst_dns *dns = NULL;
	assert_int_equal(pst_dns_load_fixture(path, &dns, NULL), 0);
	unlink(path);
	pst_policy *pol = NULL;
	pst_compile_report rep = { 0 };
	assert_int_equal(pst_policy_compile_text("oom.rules", policy_text, sizeof policy_text - 1,
	                                         NULL, &pol, &rep), 0);
	pst_report_clear(&rep);

	char bad[600] = "";   /* the first failure; reported after cleaning up (no leak) */
	for (size_t k = 0; k < sizeof messages / sizeof messages[0] && !bad[0]; k++) {
		size_t nr = k == 1 ? 0 : 2;
		result want, got;
		long n;
		run(pol, dns, messages[k], nr, &want);
		assert_int_equal(want.rc, 0);
		for (n = 1; n < 1000000 && !bad[0]; n++) {
			pst_failalloc_failed = 0;
			pst_failalloc_countdown = n;
			run(pol, dns, messages[k], nr, &got);
			pst_failalloc_countdown = 0;
			if (got.rc != 0 && !pst_failalloc_failed)
				snprintf(bad, sizeof bad, "message %zu, allocation %ld: -1 without a failed allocation", k, n);
			if (got.rc == 0) {
				for (int i = 0; i < 2; i++)
					if (want.lens[i] != got.lens[i] ||
					    (want.copies[i] && memcmp(want.copies[i], got.copies[i], want.lens[i]) != 0))
						snprintf(bad, sizeof bad, "message %zu, allocation %ld failed: copy %d differs:\n%.250s\nwant:\n%.250s",
						         k, n, i, got.copies[i], want.copies[i]);
				if (strcmp(want.json, got.json) != 0) {
					size_t at = 0;
					while (want.json[at] == got.json[at])
						at++;
					at = at > 40 ? at - 40 : 0;
					snprintf(bad, sizeof bad, "message %zu, allocation %ld failed: the report differs: ...%.120s\nwant: ...%.120s",
					         k, n, got.json + at, want.json + at);
				}
				if (strcmp(pst_buf_str(&want.trace), pst_buf_str(&got.trace)) != 0)
					snprintf(bad, sizeof bad, "message %zu, allocation %ld failed: the trace fields differ", k, n);
			}
			int failed = pst_failalloc_failed;
			result_free(&got);
			if (!failed)
				break;
		}
		print_message("# message %zu: %ld allocation points\n", k, n - 1);
		result_free(&want);
		if (!bad[0] && n <= 10)
			snprintf(bad, sizeof bad, "message %zu: only %ld allocation points", k, n - 1);
	}
	pst_policy_free(&pol);
	pst_dns_free(&dns);
	if (bad[0])
		fail_msg("%s", bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_allocation_may_fail),
	};
	return cmocka_run_group_tests_name("message_oom", tests, NULL, NULL);
}
