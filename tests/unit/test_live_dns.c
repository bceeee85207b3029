/* The live DNS backend (engine/dns/live.c) against a real server: the test
 * starts NSD itself on a free loopback port with test zones in a temporary
 * directory (unprivileged config, no chroot, rate limiting off), decodes
 * every record type through libunbound, runs SPF over it, stops the server
 * and shows that the cache (positive and negative) still answers, and that
 * an uncached question is bounded by its timeout; through a counting relay,
 * that our answer cache keeps the second question off the wire. NSD is installed by
 * ./quickstart: when it cannot run, the test fails. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/spf.h"
#include "dns/live.h"
#include "dns/resolver.h"

#ifndef NSD_PATH
#define NSD_PATH "/usr/sbin/nsd"
#endif

static char dir[256];
static int port;
static pid_t nsd_pid = -1;

static const char zone_fwd[] =
	"$ORIGIN example.com.\n"
	"$TTL 300\n"
	"@ IN SOA ns.example.com. admin.example.com. 1 3600 600 86400 300\n"
	"@ IN NS ns.example.com.\n"
	"ns IN A 192.0.2.53\n"
	"@ IN TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all\"\n"
	"_spf IN TXT \"v=spf1 mx:example.com a:mail.example.com\" \" ~all\"\n"
	"@ IN MX 10 mx1.example.com.\n"
	"mx1 IN A 198.51.100.25\n"
	"mail IN A 203.0.113.7\n"
	"mail IN AAAA 2001:db8::7\n"
	"alias IN CNAME mail.example.com.\n";

static const char zone_rev[] =
	/* Not a reserved range: libunbound answers those from built-in local
	 * zones (RFC 6303), as any resolver does. */
	"$ORIGIN 3.2.1.in-addr.arpa.\n"
	"$TTL 300\n"
	"@ IN SOA ns.example.com. admin.example.com. 1 3600 600 86400 300\n"
	"@ IN NS ns.example.com.\n"
	"4 IN PTR mail.example.com.\n";

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Whether a socket of type can bind 127.0.0.1:p. */
static int can_bind(int type, int p)
{
	int s = socket(AF_INET, type, 0);
	assert_true(s >= 0);
	int one = 1;
	if (type == SOCK_STREAM)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)p);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
	close(s);
	return ok;
}

/* A loopback port free for UDP and TCP both (NSD binds both), now: the
 * kernel's pick for UDP, kept when TCP can have it too. */
static int free_port(void)
{
	for (int i = 0; i < 50; i++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(s >= 0);
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
		socklen_t len = sizeof a;
		assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
		close(s);
		int p = ntohs(a.sin_port);
		if (can_bind(SOCK_STREAM, p))
			return p;
	}
	fail_msg("no loopback port free for both UDP and TCP");
	return -1;
}

/* Whether NSD answers a real question (mail.example.com A over UDP): a
 * bound socket alone does not mean the zones are loaded. */
static int nsd_answers(void)
{
	static const unsigned char query[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 1, 0, 1,
	};
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return 0;
	struct timeval tv = { 0, 100000 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned char reply[512];
	int ok = 0;
	if (sendto(s, query, sizeof query, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)sizeof query) {
		ssize_t n = recv(s, reply, sizeof reply, 0);
		ok = n >= 12 && reply[0] == 0x12 && reply[1] == 0x34 && (reply[3] & 0x0f) == 0 &&
		     reply[7] >= 1;
	}
	close(s);
	return ok;
}

/* Start NSD on port: 1 once it answers, 0 when it exits first (the port
 * was taken meanwhile: make check runs tests side by side). */
static int nsd_try_start(void)
{
	char conf[4096];
	snprintf(conf, sizeof conf,
	         "server:\n"
	         "  ip-address: 127.0.0.1\n"
	         "  port: %d\n"
	         "  username: \"\"\n"
	         "  chroot: \"\"\n"
	         "  zonesdir: \"%s\"\n"
	         "  database: \"\"\n"
	         "  zonelistfile: \"%s/zone.list\"\n"
	         "  xfrdfile: \"%s/xfrd.state\"\n"
	         "  xfrdir: \"%s\"\n"
	         "  pidfile: \"%s/nsd.pid\"\n"
	         "  logfile: \"%s/nsd.log\"\n"
	         "  server-count: 1\n"
	         "  verbosity: 1\n"
	         "  rrl-ratelimit: 0\n"
	         "  rrl-whitelist-ratelimit: 0\n"
	         "remote-control:\n"
	         "  control-enable: no\n"
	         "zone:\n"
	         "  name: example.com\n"
	         "  zonefile: example.com.zone\n"
	         "zone:\n"
	         "  name: 3.2.1.in-addr.arpa\n"
	         "  zonefile: rev.zone\n",
	         port, dir, dir, dir, dir, dir, dir);
	write_file("nsd.conf", conf);
	char cpath[512];
	snprintf(cpath, sizeof cpath, "%s/nsd.conf", dir);
	nsd_pid = fork();
	assert_true(nsd_pid >= 0);
	if (nsd_pid == 0) {
		execl(NSD_PATH, "nsd", "-d", "-c", cpath, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (nsd_answers())
			return 1;
		int status;
		if (waitpid(nsd_pid, &status, WNOHANG) == nsd_pid) {
			nsd_pid = -1;
			return 0;
		}
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	fail_msg("nsd does not answer on 127.0.0.1:%d", port);
	return 0;
}

/* NSD on a free port, with up to 5 ports tried. */
static void nsd_start(void)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		if (nsd_try_start())
			return;
		port = free_port();
	}
	fail_msg("nsd exited before serving on 5 ports in turn; see %s/nsd.log", dir);
}

static void nsd_stop(void)
{
	if (nsd_pid <= 0)
		return;
	kill(nsd_pid, SIGTERM);
	int status;
	waitpid(nsd_pid, &status, 0);
	nsd_pid = -1;
}

static void rm_dir(void)
{
	static const char *const files[] = {
		"nsd.conf", "example.com.zone", "rev.zone", "zone.list", "xfrd.state", "nsd.pid",
		"nsd.log",
	};
	char path[512];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/postern-live-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	write_file("example.com.zone", zone_fwd);
	write_file("rev.zone", zone_rev);
	port = free_port();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nsd_stop();
	rm_dir();
	return 0;
}

static void want_status(pst_dns_session *s, const char *name, int type, pst_dns_status want,
                        pst_dns_answer *ans)
{
	pst_dns_status st = pst_dns_session_query(s, name, type, ans);
	if (st != want)
		fail_msg("%s %s: got %s, want %s", name, pst_dns_type_name(type),
		         pst_dns_status_name(st), pst_dns_status_name(want));
}

static void check_answers(pst_dns_session *s)
{
	pst_dns_answer ans;
	char buf[PST_IP_FORMAT_LEN];

	want_status(s, "mail.example.com", ns_t_a, PST_DNS_NOERROR, &ans);
	assert_int_equal(ans.count, 1);
	assert_string_equal(pst_ip_format(&ans.rrs[0].addr, buf, sizeof buf), "203.0.113.7");
	want_status(s, "MAIL.example.com.", ns_t_aaaa, PST_DNS_NOERROR, &ans);
	assert_string_equal(pst_ip_format(&ans.rrs[0].addr, buf, sizeof buf), "2001:db8::7");
	want_status(s, "example.com", ns_t_mx, PST_DNS_NOERROR, &ans);
	assert_int_equal(ans.rrs[0].pref, 10);
	assert_string_equal(ans.rrs[0].target, "mx1.example.com");
	want_status(s, "_spf.example.com", ns_t_txt, PST_DNS_NOERROR, &ans);
	assert_string_equal(ans.rrs[0].text, "v=spf1 mx:example.com a:mail.example.com ~all");
	want_status(s, "4.3.2.1.in-addr.arpa", ns_t_ptr, PST_DNS_NOERROR, &ans);
	assert_string_equal(ans.rrs[0].target, "mail.example.com");
	want_status(s, "alias.example.com", ns_t_a, PST_DNS_NOERROR, &ans);
	assert_string_equal(ans.name, "mail.example.com");
	assert_string_equal(pst_ip_format(&ans.rrs[0].addr, buf, sizeof buf), "203.0.113.7");
	want_status(s, "nothing.example.com", ns_t_txt, PST_DNS_NXDOMAIN, &ans);
	want_status(s, "mail.example.com", ns_t_mx, PST_DNS_NODATA, &ans);
}

static void check_spf(const pst_spf *spf, pst_dns_session *s, pst_arena *a)
{
	static const struct {
		const char *ip, *from;
		pst_auth_result want;
	} cases[] = {
		{ "192.0.2.9", "a@example.com", PST_AR_PASS },
		{ "198.51.100.25", "a@example.com", PST_AR_PASS },
		{ "203.0.113.7", "a@example.com", PST_AR_PASS },
		{ "198.51.100.99", "a@example.com", PST_AR_FAIL },
		{ "198.51.100.99", "a@nothing.example.com", PST_AR_NONE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_ip ip;
		assert_int_equal(pst_ip_parse(cases[i].ip, strlen(cases[i].ip), &ip), 0);
		pst_spf_result r;
		assert_int_equal(pst_spf_check_mailfrom(spf, s, &ip, "helo.example.com", cases[i].from,
		                                        a, &r), 0);
		if (r.result != cases[i].want)
			fail_msg("%s from %s: got %s, want %s (%s)", cases[i].from, cases[i].ip,
			         pst_auth_result_name(r.result), pst_auth_result_name(cases[i].want),
			         r.reason ? r.reason : "");
	}
}

static uint64_t ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct worker {
	const pst_resolver *r;
	int id;
	int failures;
	char what[160];
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < 60; i++) {
		pst_arena *a = pst_arena_new();
		if (a == NULL) {
			w->failures++;
			continue;
		}
		pst_dns_session s;
		pst_dns_session_init(&s, w->r, a, 3000, 30000);
		pst_dns_answer ans;
		char name[64];
		pst_dns_status want = PST_DNS_NOERROR;
		if (i % 3 == 0) {
			snprintf(name, sizeof name, "nx%d-%d.example.com", w->id, i);
			want = PST_DNS_NXDOMAIN;
		} else {
			snprintf(name, sizeof name, i % 3 == 1 ? "mail.example.com" : "mx1.example.com");
		}
		pst_dns_status st = pst_dns_session_query(&s, name, ns_t_a, &ans);
		if (st != want || (st == PST_DNS_NOERROR && ans.count != 1)) {
			w->failures++;
			snprintf(w->what, sizeof w->what, "%s: got %s", name, pst_dns_status_name(st));
		}
		pst_arena_free(&a);
	}
	return NULL;
}

static void threads_share_one_resolver(void **state)
{
	(void)state;
	if (nsd_pid <= 0)
		nsd_start();
	char addr[64], err[256];
	snprintf(addr, sizeof addr, "127.0.0.1@%d", port);
	pst_live_options o = { .forward = addr };
	pst_resolver *r = NULL;
	if (pst_resolver_new_live(&o, &r, err, sizeof err) != 0)
		fail_msg("%s", err);
	pthread_t t[4];
	worker w[4];
	for (int i = 0; i < 4; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].r = r;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	int failures = 0;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].failures)
			print_message("thread %d: %d wrong answers, last %s\n", i, w[i].failures,
			              w[i].what);
		failures += w[i].failures;
	}
	pst_resolver_free(&r);
	assert_int_equal(failures, 0);
}

static void live_against_nsd(void **state)
{
	(void)state;
	if (nsd_pid <= 0)
		nsd_start();
	char addr[64], err[256];
	snprintf(addr, sizeof addr, "127.0.0.1@%d", port);
	pst_live_options o = { .forward = addr };
	pst_resolver *r = NULL;
	if (pst_resolver_new_live(&o, &r, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_string_equal(pst_resolver_kind(r), "live");
	pst_spf *spf = NULL;
	assert_int_equal(pst_spf_new(&spf, err, sizeof err), 0);

	pst_arena *a = pst_arena_new();
	pst_dns_session s;
	pst_dns_session_init(&s, r, a, 2000, 20000);
	check_answers(&s);
	check_spf(spf, &s, a);
	pst_arena_free(&a);

	/* The server is gone: the cache answers the same, NXDOMAIN included. */
	nsd_stop();
	a = pst_arena_new();
	pst_dns_session_init(&s, r, a, 2000, 20000);
	uint64_t t0 = ms();
	check_answers(&s);
	check_spf(spf, &s, a);
	assert_true(ms() - t0 < 1000);

	/* A question never asked before is bounded by its timeout. */
	pst_dns_session_init(&s, r, a, 300, 20000);
	pst_dns_answer ans;
	t0 = ms();
	pst_dns_status st = pst_dns_session_query(&s, "uncached.example.com", ns_t_a, &ans);
	uint64_t took = ms() - t0;
	if (st != PST_DNS_TIMEOUT && st != PST_DNS_SERVFAIL)
		fail_msg("uncached with no server: got %s", pst_dns_status_name(st));
	if (took > 1300)
		fail_msg("uncached with no server took %llu ms for a 300 ms timeout",
		         (unsigned long long)took);
	pst_arena_free(&a);
	pst_spf_free(&spf);
	pst_resolver_free(&r);
}

/* POSTERN_DNS_SERVER points the process-wide live resolver (the one
 * postern uses without --dns) at one server: the zone's answers come back
 * from our NSD, which no resolv.conf server on this machine would give. */
static void env_server_reaches_nsd(void **state)
{
	(void)state;
	if (nsd_pid <= 0)
		nsd_start();
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1@%d", port);
	assert_int_equal(setenv("POSTERN_DNS_SERVER", addr, 1), 0);
	const char *why = NULL;
	const pst_resolver *r = pst_resolver_live_shared(&why);
	if (r == NULL)
		fail_msg("%s", why ? why : "no live resolver");
	pst_arena *a = pst_arena_new();
	pst_dns_session s;
	pst_dns_session_init(&s, r, a, 2000, 20000);
	pst_dns_answer ans;
	assert_int_equal(pst_dns_session_query(&s, "mail.example.com", ns_t_a, &ans),
	                 PST_DNS_NOERROR);
	assert_int_equal(ans.count, 1);
	assert_int_equal(pst_dns_session_query(&s, "nx-env.example.com", ns_t_a, &ans),
	                 PST_DNS_NXDOMAIN);
	/* Without POSTERN_DNS_CACHE the answer cache is on, and kept both. */
	pst_dns_cache_stats st;
	assert_int_equal(pst_resolver_live_cache_stats(r, &st), 0);
	assert_int_equal(st.stored, 2);
	pst_arena_free(&a);
}

/* A UDP relay between libunbound and NSD that counts the questions it
 * passes on: what reaches the server, whoever caches in between. Replies
 * go back to the source of the question with the same message id. */
typedef struct relay {
	int down, up;                 /* facing libunbound; facing NSD */
	int port;                     /* of down */
	volatile int stop;
	unsigned questions;           /* read under the test's join or atomically */
	struct {
		uint16_t id;
		struct sockaddr_in from;
	} pending[64];
	unsigned next;
	pthread_t thread;
} relay;

static void *relay_main(void *arg)
{
	relay *r = arg;
	unsigned char buf[4096];
	while (!r->stop) {
		struct pollfd p[2] = { { r->down, POLLIN, 0 }, { r->up, POLLIN, 0 } };
		if (poll(p, 2, 50) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct sockaddr_in from;
			socklen_t len = sizeof from;
			ssize_t n = recvfrom(r->down, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
			if (n >= 12) {
				__atomic_add_fetch(&r->questions, 1, __ATOMIC_SEQ_CST);
				unsigned k = r->next++ % 64;
				r->pending[k].id = (uint16_t)(buf[0] << 8 | buf[1]);
				r->pending[k].from = from;
				struct sockaddr_in to;
				memset(&to, 0, sizeof to);
				to.sin_family = AF_INET;
				to.sin_port = htons((uint16_t)port);
				to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
				(void)sendto(r->up, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof to);
			}
		}
		if (p[1].revents & POLLIN) {
			ssize_t n = recv(r->up, buf, sizeof buf, 0);
			if (n < 12)
				continue;
			uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
			for (unsigned k = 0; k < 64; k++) {
				if (r->pending[k].from.sin_family == AF_INET && r->pending[k].id == id) {
					(void)sendto(r->down, buf, (size_t)n, 0,
					             (struct sockaddr *)&r->pending[k].from,
					             sizeof r->pending[k].from);
					r->pending[k].from.sin_family = 0;
					break;
				}
			}
		}
	}
	return NULL;
}

static void relay_start(relay *r)
{
	memset(r, 0, sizeof *r);
	r->down = socket(AF_INET, SOCK_DGRAM, 0);
	r->up = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r->down >= 0 && r->up >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->down, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(r->down, (struct sockaddr *)&a, &len), 0);
	r->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&r->thread, NULL, relay_main, r), 0);
}

static void relay_stop(relay *r)
{
	r->stop = 1;
	assert_int_equal(pthread_join(r->thread, NULL), 0);
	close(r->down);
	close(r->up);
}

static unsigned relay_count(relay *r)
{
	return __atomic_load_n(&r->questions, __ATOMIC_SEQ_CST);
}

/* Our answer cache (dns/cache.h) in front of libunbound: the second
 * question for a name, in a later message, is answered by it (a hit in its
 * counters) and no question reaches the server; NXDOMAIN too, kept for the
 * zone's SOA minimum. The session still counts both as questions
 * (dns-max-questions counts cached answers too). With the cache off, the
 * counters are not there and libunbound's own cache is all there is. */
static void answer_cache_in_front_of_libunbound(void **state)
{
	(void)state;
	if (nsd_pid <= 0)
		nsd_start();
	relay rl;
	relay_start(&rl);
	char addr[64], err[256];
	snprintf(addr, sizeof addr, "127.0.0.1@%d", rl.port);
	pst_live_options o = { .forward = addr };
	pst_resolver *r = NULL;
	if (pst_resolver_new_live(&o, &r, err, sizeof err) != 0)
		fail_msg("%s", err);
	pst_dns_cache_stats st;
	assert_int_equal(pst_resolver_live_cache_stats(r, &st), 0);
	assert_int_equal(st.hits + st.misses, 0);

	pst_arena *a = pst_arena_new();
	pst_dns_session s;
	pst_dns_answer ans;
	char buf[PST_IP_FORMAT_LEN];
	pst_dns_session_init(&s, r, a, 2000, 20000);
	want_status(&s, "mail.example.com", ns_t_a, PST_DNS_NOERROR, &ans);
	want_status(&s, "cached-nx.example.com", ns_t_txt, PST_DNS_NXDOMAIN, &ans);
	unsigned asked = relay_count(&rl);
	assert_true(asked >= 2);
	pst_arena_free(&a);
	assert_int_equal(pst_resolver_live_cache_stats(r, &st), 0);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.stored, 2);

	/* The next message: both from our cache, nothing on the wire. */
	a = pst_arena_new();
	pst_dns_session_init(&s, r, a, 2000, 20000);
	want_status(&s, "MAIL.example.com.", ns_t_a, PST_DNS_NOERROR, &ans);
	assert_int_equal(ans.count, 1);
	assert_string_equal(pst_ip_format(&ans.rrs[0].addr, buf, sizeof buf), "203.0.113.7");
	assert_true(ans.rrs[0].ttl > 0 && ans.rrs[0].ttl <= 300);
	want_status(&s, "cached-nx.example.com", ns_t_txt, PST_DNS_NXDOMAIN, &ans);
	assert_int_equal(s.queries, 2);
	assert_int_equal(relay_count(&rl), asked);
	assert_int_equal(pst_resolver_live_cache_stats(r, &st), 0);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 2);
	/* A cached answer is still a question for the message's limit. */
	s.max_queries = 2;
	want_status(&s, "mail.example.com", ns_t_a, PST_DNS_TIMEOUT, &ans);
	assert_int_equal(s.refused, 1);
	pst_arena_free(&a);
	pst_resolver_free(&r);

	/* Off: no counters; answers unchanged. */
	pst_live_options off = { .forward = addr, .no_cache = 1 };
	assert_int_equal(pst_resolver_new_live(&off, &r, err, sizeof err), 0);
	assert_int_equal(pst_resolver_live_cache_stats(r, &st), -1);
	a = pst_arena_new();
	pst_dns_session_init(&s, r, a, 2000, 20000);
	want_status(&s, "mail.example.com", ns_t_a, PST_DNS_NOERROR, &ans);
	want_status(&s, "cached-nx.example.com", ns_t_txt, PST_DNS_NXDOMAIN, &ans);
	assert_true(relay_count(&rl) > asked);
	pst_arena_free(&a);
	pst_resolver_free(&r);
	relay_stop(&rl);
}

static void bad_options_fail_cleanly(void **state)
{
	(void)state;
	pst_live_options o = { .forward = "not an address" };
	pst_resolver *r = NULL;
	char err[256] = "";
	assert_int_equal(pst_resolver_new_live(&o, &r, err, sizeof err), -1);
	assert_null(r);
	assert_non_null(strstr(err, "libunbound"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(env_server_reaches_nsd),
		cmocka_unit_test(threads_share_one_resolver),
		cmocka_unit_test(live_against_nsd),
		cmocka_unit_test(answer_cache_in_front_of_libunbound),
		cmocka_unit_test(bad_options_fail_cleanly),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
