/*
 * report.c: "postern report dmarc" (postern(1)): the DMARC aggregate
 * reports (RFC 9990) of one period, from the report store that "postern
 * lmtp --report-store" fills, sent to the rua destinations of each policy
 * domain.
 *
 * Contract. A thin layer over rua.h and store.h:
 *   1. The period is --day (a UTC day; default: yesterday, the last full
 *      UTC day) or --begin/--end (seconds since the epoch, end excluded).
 *   2. The store's unreported rows of the period are grouped into one
 *      report per policy domain (pst_rua_collect); the published record of
 *      the newest row gives the destinations. A domain whose record has no
 *      rua gets no report; its rows are marked all the same.
 *   3. Each report is RFC 9990 XML, gzip-compressed, named
 *      submitter!domain!begin!end[!unique-id].xml.gz. With --dry-run it is
 *      written to --output DIR and nothing is sent or marked; the
 *      destinations are still listed with what would happen to each.
 *   4. Otherwise each usable destination (mailto, within its "!size" limit
 *      and --max-size, authorised by the external destination verification
 *      of RFC 9990 section 4 when it lies in another organizational domain)
 *      gets one message (--sendmail, or --smtp HOST:PORT). The rows of a
 *      report are marked reported when it was sent to at least one
 *      destination, or when no destination can ever take it (every one
 *      refused); when a destination failed for now and none took it, they
 *      are left for the next run of the same period, which sends it again
 *      under the same Report-ID and file name (RFC 9990).
 *   5. Marks are written after the scan; then rows older than --keep-days
 *      days are deleted (0: never).
 * One line per report and per destination goes to stdout. Exit status: 0,
 * 75 when a report is left for a later run, 64 usage, 65 bad DNS fixture,
 * 69 store trouble (cannot open, scan, mark), 73 cannot write --output.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "postern.h"
#include "cli/cli.h"
#include "dns/live.h"
#include "dns/resolver.h"
#include "rua/rua.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/number.h"

#define DEFAULT_KEEP_DAYS 30
#define DEFAULT_MAX_SIZE  (10UL * 1024 * 1024)
#define DNS_TIMEOUT_MS    5000
#define DNS_BUDGET_MS     20000

struct report_args {
	const char *store, *org_name, *org_email, *submitter, *extra_contact, *unique_id;
	const char *day, *output, *from, *sendmail, *smtp, *dns;
	long long begin, end;                /* -1: not given */
	unsigned long max_size;
	unsigned keep_days;
	int dry_run;
};

/* What the run did, and what it still has to do after the scan. */
struct report_run {
	const struct report_args *a;
	pst_rua_meta meta;
	const pst_resolver *resolver;
	pst_rua_transport transport;
	int64_t *mark;                       /* ids to mark after the scan */
	size_t nmark, capmark;
	unsigned long reports, sent, refused, temp, skipped;
	int failed;                          /* an exit status to return, or 0 */
};

static void report_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern report dmarc --report-store SPEC --org-name NAME --org-email ADDR\n"
	    "                            [--from ADDR] [--submitter DOMAIN] [--extra-contact TEXT]\n"
	    "                            [--day YYYY-MM-DD | --begin EPOCH --end EPOCH]\n"
	    "                            [--dry-run] [--output DIR] [--sendmail COMMAND | --smtp HOST:PORT]\n"
	    "                            [--dns FILE] [--max-size BYTES] [--unique-id ID] [--keep-days N]\n"
	    "\n"
	    "Make the DMARC aggregate reports (RFC 9990) of one period from the report store\n"
	    "of postern lmtp --report-store, one per policy domain, and send each to the rua\n"
	    "destinations its DMARC record names. Exits 0, or 75 when a report could not be\n"
	    "sent for now (run again for the same period), 64 usage, 65 bad DNS fixture,\n"
	    "69 store trouble, 73 cannot write --output.\n"
	    "\n"
	    "  --report-store SPEC   sqlite:PATH or postgresql://URI, as given to postern lmtp\n"
	    "  --org-name NAME       the reporting organization (<org_name>)\n"
	    "  --org-email ADDR      its contact address (<email>)\n"
	    "  --from ADDR           the From of the report messages (required to send; it must\n"
	    "                        pass DMARC itself)\n"
	    "  --submitter DOMAIN    the receiver domain in file names and Subjects (default:\n"
	    "                        the domain of --org-email)\n"
	    "  --extra-contact TEXT  <extra_contact_info>\n"
	    "  --day YYYY-MM-DD      the UTC day to report (default: yesterday)\n"
	    "  --begin EPOCH         the period's start, seconds since the epoch (with --end)\n"
	    "  --end EPOCH           the period's end, excluded\n"
	    "  --dry-run             write the reports to --output; send nothing, mark nothing\n"
	    "  --output DIR          where --dry-run writes (default: .)\n"
	    "  --sendmail COMMAND    the sendmail program (default: /usr/sbin/sendmail)\n"
	    "  --smtp HOST:PORT      send through this SMTP relay instead\n"
	    "  --dns FILE            answer DNS questions from a fixture file\n"
	    "  --max-size BYTES      never send a compressed report larger than this (10485760)\n"
	    "  --unique-id ID        letters and digits added to file names and Report-IDs\n"
	    "  --keep-days N         then delete rows older than N days (30; 0: never)\n");
}

/* Seconds since the epoch of 00:00 UTC on "YYYY-MM-DD". 0, or -1. */
static int parse_day(const char *s, time_t *out)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0' || tm.tm_year < 70)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* The period from the options: [*begin, *end). 0, or -1 after a message. */
static int period(const struct report_args *a, time_t *begin, time_t *end)
{
	if (a->begin >= 0 || a->end >= 0) {
		if (a->day != NULL || a->begin < 0 || a->end < 0 || a->end <= a->begin) {
			fprintf(stderr, "postern report dmarc: --begin and --end go together, without --day, "
			                "and --end must be after --begin\n");
			return -1;
		}
		*begin = (time_t)a->begin;
		*end = (time_t)a->end;
		return 0;
	}
	if (a->day != NULL) {
		if (parse_day(a->day, begin) < 0) {
			fprintf(stderr, "postern report dmarc: --day %s: want YYYY-MM-DD\n", a->day);
			return -1;
		}
	} else {
		time_t now = time(NULL);
		*begin = now - now % 86400 - 86400;
	}
	*end = *begin + 86400;
	return 0;
}

/* 0, 1 after --help, -1 after a usage error. */
static int parse_report_args(int argc, char **argv, struct report_args *a)
{
	enum { O_STORE = 256, O_ORG, O_EMAIL, O_SUBMITTER, O_EXTRA, O_UNIQUE, O_DAY, O_BEGIN,
	       O_END, O_DRY, O_OUTPUT, O_FROM, O_SENDMAIL, O_SMTP, O_DNS, O_MAX, O_KEEP, O_HELP };
	static const struct option opts[] = {
		{ "report-store", required_argument, NULL, O_STORE },
		{ "org-name", required_argument, NULL, O_ORG },
		{ "org-email", required_argument, NULL, O_EMAIL },
		{ "submitter", required_argument, NULL, O_SUBMITTER },
		{ "extra-contact", required_argument, NULL, O_EXTRA },
		{ "unique-id", required_argument, NULL, O_UNIQUE },
		{ "day", required_argument, NULL, O_DAY },
		{ "begin", required_argument, NULL, O_BEGIN },
		{ "end", required_argument, NULL, O_END },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "from", required_argument, NULL, O_FROM },
		{ "sendmail", required_argument, NULL, O_SENDMAIL },
		{ "smtp", required_argument, NULL, O_SMTP },
		{ "dns", required_argument, NULL, O_DNS },
		{ "max-size", required_argument, NULL, O_MAX },
		{ "keep-days", required_argument, NULL, O_KEEP },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_STORE: a->store = optarg; break;
		case O_ORG: a->org_name = optarg; break;
		case O_EMAIL: a->org_email = optarg; break;
		case O_SUBMITTER: a->submitter = optarg; break;
		case O_EXTRA: a->extra_contact = optarg; break;
		case O_UNIQUE: a->unique_id = optarg; break;
		case O_DAY: a->day = optarg; break;
		case O_DRY: a->dry_run = 1; break;
		case O_OUTPUT: a->output = optarg; break;
		case O_FROM: a->from = optarg; break;
		case O_SENDMAIL: a->sendmail = optarg; break;
		case O_SMTP: a->smtp = optarg; break;
		case O_DNS: a->dns = optarg; break;
		case O_BEGIN:
		case O_END:
			if (pst_parse_number(optarg, 10, 0, 253402300799ULL, &v) < 0) {
				fprintf(stderr, "postern report dmarc: --%s wants seconds since the epoch\n",
				        o == O_BEGIN ? "begin" : "end");
				return -1;
			}
			*(o == O_BEGIN ? &a->begin : &a->end) = (long long)v;
			break;
		case O_MAX:
			if (pst_parse_number(optarg, 10, 1024, 1ULL << 40, &v) < 0) {
				fprintf(stderr, "postern report dmarc: --max-size wants 1024 bytes or more\n");
				return -1;
			}
			a->max_size = (unsigned long)v;
			break;
		case O_KEEP:
			if (pst_parse_number(optarg, 10, 0, 36500, &v) < 0) {
				fprintf(stderr, "postern report dmarc: --keep-days wants 0 to 36500\n");
				return -1;
			}
			a->keep_days = (unsigned)v;
			break;
		case O_HELP: report_usage(stdout); return 1;
		default: report_usage(stderr); return -1;
		}
	}
	const char *missing = a->store == NULL ? "--report-store SPEC"
	                    : a->org_name == NULL ? "--org-name NAME"
	                    : a->org_email == NULL ? "--org-email ADDR"
	                    : !a->dry_run && a->from == NULL ? "--from ADDR (or --dry-run)" : NULL;
	if (missing != NULL || optind != argc) {
		if (missing != NULL)
			fprintf(stderr, "postern report dmarc: %s is required\n", missing);
		else
			fprintf(stderr, "postern report dmarc: unexpected argument '%s'\n", argv[optind]);
		report_usage(stderr);
		return -1;
	}
	if (a->sendmail != NULL && a->smtp != NULL) {
		fprintf(stderr, "postern report dmarc: --sendmail and --smtp exclude each other\n");
		return -1;
	}
	if (a->submitter == NULL) {
		const char *at = strrchr(a->org_email, '@');
		if (at == NULL || at[1] == '\0') {
			fprintf(stderr, "postern report dmarc: --org-email %s has no domain; give --submitter\n",
			        a->org_email);
			return -1;
		}
		a->submitter = at + 1;
	}
	if (a->unique_id != NULL)
		for (const char *p = a->unique_id; *p != '\0'; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
				fprintf(stderr, "postern report dmarc: --unique-id wants letters and digits only\n");
				return -1;
			}
	return 0;
}

/* Keep ids to mark after the scan. 0, or -1 on ENOMEM. */
static int keep_marks(struct report_run *run, const pst_rua_report *r)
{
	if (run->a->dry_run || r->nids == 0)
		return 0;
	if (run->nmark + r->nids > run->capmark) {
		size_t cap = run->capmark ? run->capmark : 1024;
		while (cap < run->nmark + r->nids)
			cap *= 2;
		int64_t *m = realloc(run->mark, cap * sizeof *m);
		if (m == NULL)
			return -1;
		run->mark = m;
		run->capmark = cap;
	}
	memcpy(run->mark + run->nmark, r->ids, r->nids * sizeof *r->ids);
	run->nmark += r->nids;
	return 0;
}

/* --dry-run: write the file into --output. 0, or -1 after a message. */
static int write_report_file(const struct report_args *a, const char *name, const pst_buf *gz)
{
	char path[4096];
	const char *dir = a->output ? a->output : ".";
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
		fprintf(stderr, "postern report dmarc: --output %s: path too long\n", dir);
		return -1;
	}
	return pst_cli_write_file(path, pst_buf_str(gz), gz->len);
}

/* The destinations of r, checked against the size of the report (gzlen
 * compressed bytes) and verified (DNS). Returns their count. */
static size_t usable_destinations(struct report_run *run, const pst_rua_report *r,
                                  size_t gzlen, pst_rua_dest *d)
{
	size_t n = pst_rua_destinations(r->policy.rua, d, PST_RUA_DEST_MAX);
	pst_arena *arena = pst_arena_new();
	pst_dns_session dns;

	if (arena == NULL) {
		for (size_t i = 0; i < n; i++)
			if (d[i].outcome == PST_RUA_PENDING) {
				d[i].outcome = PST_RUA_TEMP;
				snprintf(d[i].why, sizeof d[i].why, "out of memory");
			}
		return n;
	}
	pst_dns_session_init(&dns, run->resolver, arena, DNS_TIMEOUT_MS, DNS_BUDGET_MS);
	for (size_t i = 0; i < n; i++) {
		if (d[i].outcome != PST_RUA_PENDING)
			continue;
		if (pst_rua_verify(&dns, r->domain, NULL, &d[i]) < 0) {
			d[i].outcome = PST_RUA_TEMP;
			snprintf(d[i].why, sizeof d[i].why, "out of memory");
		} else if (d[i].outcome == PST_RUA_PENDING && !pst_rua_fits(&d[i], gzlen)) {
			d[i].outcome = PST_RUA_REFUSED;
			snprintf(d[i].why, sizeof d[i].why, "the report (%llu bytes encoded) exceeds the "
			         "destination's limit of %llu",
			         (unsigned long long)pst_rua_encoded_size(gzlen),
			         (unsigned long long)d[i].limit);
		}
	}
	pst_arena_free(&arena);
	return n;
}

static const char *outcome_word(pst_rua_outcome o, int dry_run)
{
	switch (o) {
	case PST_RUA_SENT: return "sent";
	case PST_RUA_REFUSED: return "refused";
	case PST_RUA_TEMP: return "failed for now";
	default: return dry_run ? "would send" : "not tried";
	}
}

/* Send r to each pending destination. */
static void send_report(struct report_run *run, const pst_rua_report *r, const char *rid,
                        const char *name, const pst_buf *gz, pst_rua_dest *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pst_buf msg = { 0 };
		if (d[i].outcome != PST_RUA_PENDING)
			continue;
		if (pst_rua_compose(run->a->from, d[i].address, r->domain, run->meta.submitter, rid, name,
		                    pst_buf_str(gz), gz->len, time(NULL), &msg) < 0) {
			d[i].outcome = PST_RUA_TEMP;
			snprintf(d[i].why, sizeof d[i].why, "cannot compose the message (out of memory)");
		} else {
			d[i].outcome = pst_rua_send(&run->transport, run->a->from, d[i].address,
			                            pst_buf_str(&msg), msg.len, d[i].why, sizeof d[i].why);
		}
		pst_buf_free(&msg);
	}
}

/* Called by pst_rua_collect for each policy domain. */
static int one_report(void *arg, pst_rua_report *r)
{
	struct report_run *run = arg;
	const struct report_args *a = run->a;
	char rid[PST_STORE_DOMAIN_MAX * 2], name[PST_STORE_DOMAIN_MAX * 3];
	char xml_name[PST_STORE_DOMAIN_MAX * 3];
	pst_buf xml = { 0 }, gz = { 0 };
	pst_rua_dest d[PST_RUA_DEST_MAX];
	size_t n, sent = 0, temp = 0;

	if (!r->policy.found || r->policy.rua[0] == '\0') {
		run->skipped++;
		return keep_marks(run, r);
	}
	run->reports++;
	if (pst_rua_report_id(r, &run->meta, rid, sizeof rid) < 0 ||
	    pst_rua_filename(r, &run->meta, 1, name, sizeof name) < 0 ||
	    pst_rua_filename(r, &run->meta, 0, xml_name, sizeof xml_name) < 0) {
		printf("%s: not reported: its names do not fit\n", r->domain);
		return keep_marks(run, r);
	}
	if (pst_rua_xml(r, &run->meta, &xml) < 0 ||
	    pst_rua_gzip(pst_buf_str(&xml), xml.len, xml_name, r->end, &gz) < 0) {
		pst_buf_free(&xml);
		pst_buf_free(&gz);
		run->failed = EX_OSERR;
		return -1;
	}
	printf("%s: %zu records, %lu messages, %zu bytes compressed: %s\n", r->domain, r->nrec,
	       r->messages, gz.len, name);
	if (a->dry_run && write_report_file(a, name, &gz) < 0) {
		run->failed = EX_CANTCREAT;
		pst_buf_free(&xml);
		pst_buf_free(&gz);
		return -1;
	}
	n = usable_destinations(run, r, gz.len, d);
	for (size_t i = 0; i < n; i++)
		if (d[i].outcome == PST_RUA_PENDING && gz.len > a->max_size) {
			d[i].outcome = PST_RUA_REFUSED;
			snprintf(d[i].why, sizeof d[i].why, "the report exceeds --max-size %lu", a->max_size);
		}
	if (!a->dry_run)
		send_report(run, r, rid, name, &gz, d, n);
	for (size_t i = 0; i < n; i++) {
		printf("  %s: %s%s%s\n", d[i].uri, outcome_word(d[i].outcome, a->dry_run),
		       d[i].why[0] ? ": " : "", d[i].why);
		sent += d[i].outcome == PST_RUA_SENT;
		temp += d[i].outcome == PST_RUA_TEMP;
		run->refused += d[i].outcome == PST_RUA_REFUSED;
	}
	run->sent += sent;
	run->temp += temp;
	pst_buf_free(&xml);
	pst_buf_free(&gz);
	if (temp > 0 && sent == 0) {
		printf("  %s: left for a later run of the same period\n", r->domain);
		return 0;
	}
	return keep_marks(run, r);
}

/* The resolver: the fixture of --dns, else live DNS. 0, or an exit status. */
static int open_resolver(const struct report_args *a, pst_dnsfix **fix, pst_resolver **own,
                         const pst_resolver **out)
{
	if (a->dns != NULL) {
		pst_buf errors = { 0 };
		if (pst_dnsfix_load_file(a->dns, fix, &errors) < 0) {
			fprintf(stderr, "%s", errors.len ? pst_buf_str(&errors) : "cannot load the DNS fixture\n");
			pst_buf_free(&errors);
			return EX_DATAERR;
		}
		pst_buf_free(&errors);
		if (pst_resolver_new_fixture(*fix, own) < 0)
			return EX_OSERR;
		*out = *own;
		return 0;
	}
	const char *why = NULL;
	*out = pst_resolver_live_shared(&why);
	if (*out == NULL) {
		fprintf(stderr, "postern report dmarc: no DNS: %s\n", why ? why : "unknown error");
		return EX_UNAVAILABLE;
	}
	return 0;
}

/* Steps 2 to 5 over an open store. An exit status. */
static int run_reports(struct report_run *run, pst_store_reader *st, time_t begin, time_t end)
{
	char err[512];

	if (pst_rua_collect(st, begin, end, one_report, run, err, sizeof err) < 0) {
		if (run->failed)
			return run->failed;
		fprintf(stderr, "postern report dmarc: %s\n", err);
		return EX_UNAVAILABLE;
	}
	if (run->nmark > 0 && pst_store_mark(st, run->mark, run->nmark, err, sizeof err) < 0) {
		fprintf(stderr, "postern report dmarc: marking %zu rows reported: %s\n", run->nmark, err);
		return EX_UNAVAILABLE;
	}
	if (!run->a->dry_run && run->a->keep_days > 0) {
		unsigned long deleted = 0;
		if (pst_store_expire(st, time(NULL) - (time_t)run->a->keep_days * 86400, &deleted, err,
		                     sizeof err) < 0) {
			fprintf(stderr, "postern report dmarc: expiring old rows: %s\n", err);
			return EX_UNAVAILABLE;
		}
		if (deleted > 0)
			printf("expired %lu rows older than %u days\n", deleted, run->a->keep_days);
	}
	printf("%lu reports, %lu sent, %lu refused, %lu for later, %lu domains without rua, %zu rows marked\n",
	       run->reports, run->sent, run->refused, run->temp, run->skipped, run->nmark);
	return run->temp > 0 && !run->a->dry_run ? EX_TEMPFAIL : 0;
}

static int report_dmarc(int argc, char **argv)
{
	struct report_args a = { .begin = -1, .end = -1, .max_size = DEFAULT_MAX_SIZE,
	                         .keep_days = DEFAULT_KEEP_DAYS };
	struct report_run run = { .a = &a };
	pst_store_reader *st = NULL;
	pst_dnsfix *fix = NULL;
	pst_resolver *own = NULL;
	time_t begin, end;
	char err[512], masked[512];
	int rc = parse_report_args(argc, argv, &a);

	if (rc != 0)
		return rc > 0 ? 0 : EX_USAGE;
	if (period(&a, &begin, &end) < 0)
		return EX_USAGE;
	if (a.dry_run) {
		struct stat sb;
		const char *dir = a.output ? a.output : ".";
		if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "postern report dmarc: --output %s: not a directory\n", dir);
			return EX_CANTCREAT;
		}
	}
	run.meta = (pst_rua_meta){ .org_name = a.org_name, .email = a.org_email,
	                           .extra_contact = a.extra_contact, .submitter = a.submitter,
	                           .unique_id = a.unique_id, .generator = "postern " PACKAGE_VERSION };
	run.transport = (pst_rua_transport){ .sendmail = a.sendmail, .smtp = a.smtp };
	if ((rc = open_resolver(&a, &fix, &own, &run.resolver)) != 0)
		goto out;
	if (pst_store_reader_open(a.store, &st, err, sizeof err) < 0) {
		pst_store_mask(a.store, masked, sizeof masked);
		fprintf(stderr, "postern report dmarc: --report-store %s: %s\n", masked, err);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	rc = run_reports(&run, st, begin, end);
out:
	pst_store_reader_close(&st);
	pst_resolver_free(&own);
	pst_dnsfix_free(&fix);
	free(run.mark);
	return rc;
}

int pst_cli_report(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "dmarc") == 0)
		return report_dmarc(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		report_usage(stdout);
		return 0;
	}
	fprintf(stderr, "postern report: %s\n",
	        argc < 2 ? "which report? (dmarc)" : "unknown report; the one there is: dmarc");
	report_usage(stderr);
	return EX_USAGE;
}
