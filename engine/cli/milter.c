/*
 * milter.c: "postern milter", the milter front end (engine/milter/milter.h).
 * Parses the options into a pst_milter_conf and serves in the foreground.
 * Exit status: 0 after SIGTERM or SIGINT, 64 usage, and those of
 * pst_milter_run(). SIGHUP reloads the rule file (postern reload
 * --pid-file FILE works as with postern lmtp).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli/cli.h"
#include "milter/milter.h"
#include "util/number.h"

static void milter_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern milter --rules FILE --listen SOCKET [--dns FILE]\n"
	    "                      [--log FILE|stderr|syslog] [--hostname NAME] [--max-size BYTES]\n"
	    "                      [--tenant-split on|off] [--pid-file FILE] [--user NAME]\n"
	    "                      [--report-store SPEC] [--metrics ADDR]\n"
	    "\n"
	    "Serve the milter protocol (Postfix smtpd_milters, Sendmail): refuse a recipient\n"
	    "at RCPT when rules reading only the envelope reject or tempfail it, decide the\n"
	    "message at the end of DATA and answer reject, tempfail, discard, quarantine or\n"
	    "accept, with the header edits and the Authentication-Results field.\n"
	    "\n"
	    "  --rules FILE           the rule file\n"
	    "  --listen SOCKET        libmilter's syntax: inet:PORT@HOST, inet6:PORT@HOST,\n"
	    "                         unix:PATH\n"
	    "  --dns FILE             answer DNS questions from a fixture file\n"
	    "  --log DEST             where the JSON lines go: a file, stderr or syslog (stderr)\n"
	    "  --hostname NAME        this host's name in the log lines (gethostname)\n"
	    "  --max-size BYTES       message size limit (52428800); over it 452 4.3.4\n"
	    "  --tenant-split on|off  answer 452 4.5.3 to a recipient of another tenant than\n"
	    "                         those already accepted in the transaction, so one\n"
	    "                         decision fits the message (on when the rules have\n"
	    "                         tenants)\n"
	    "  --pid-file FILE        write the PID there once listening (and FILE.reload for\n"
	    "                         postern reload); removed at exit\n"
	    "  --user NAME            run as this user once the log and the socket are open\n"
	    "  --report-store SPEC    one row per message for postern report dmarc:\n"
	    "                         sqlite:PATH or postgresql://... (as postern lmtp)\n"
	    "  --metrics ADDR         serve Prometheus metrics on HOST:PORT, [V6]:PORT or\n"
	    "                         unix:PATH (GET /metrics)\n"
	    "\n"
	    "SIGHUP loads the rule file again (a file that does not compile is refused and\n"
	    "the old rules stay); SIGTERM and SIGINT stop.\n");
}

enum { OPT_RULES = 256, OPT_LISTEN, OPT_DNS, OPT_LOG, OPT_HOSTNAME, OPT_MAX_SIZE, OPT_TENANT_SPLIT,
       OPT_PID_FILE, OPT_USER, OPT_REPORT_STORE, OPT_METRICS, OPT_HELP };

static const struct option milter_options[] = {
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "tenant-split", required_argument, NULL, OPT_TENANT_SPLIT },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "user", required_argument, NULL, OPT_USER },
	{ "report-store", required_argument, NULL, OPT_REPORT_STORE },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* 0, 1 after --help, -1 after a usage error. */
static int parse_milter_args(int argc, char **argv, pst_milter_conf *c)
{
	int o;
	unsigned long long v;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", milter_options, NULL)) != -1) {
		switch (o) {
		case OPT_RULES: c->rules = optarg; break;
		case OPT_LISTEN: c->listen = optarg; break;
		case OPT_DNS: c->dns = optarg; break;
		case OPT_LOG: c->log = optarg; break;
		case OPT_HOSTNAME: c->hostname = optarg; break;
		case OPT_PID_FILE: c->pid_file = optarg; break;
		case OPT_USER: c->user = optarg; break;
		case OPT_REPORT_STORE: c->report_store = optarg; break;
		case OPT_METRICS: c->metrics = optarg; break;
		case OPT_MAX_SIZE:
			if (pst_parse_number(optarg, 10, 1, 1ULL << 40, &v) < 0) {
				fprintf(stderr, "postern milter: --max-size wants a number from 1 to %llu,"
				        " not '%s'\n", 1ULL << 40, optarg);
				return -1;
			}
			c->max_size = (size_t)v;
			break;
		case OPT_TENANT_SPLIT:
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
				fprintf(stderr, "postern milter: --tenant-split wants on or off, not '%s'\n",
				        optarg);
				return -1;
			}
			c->tenant_split = optarg[1] == 'n' ? PST_MILTER_SPLIT_ON : PST_MILTER_SPLIT_OFF;
			break;
		case OPT_HELP: milter_usage(stdout); return 1;
		default: milter_usage(stderr); return -1;
		}
	}
	const char *missing = !c->rules ? "--rules FILE" : !c->listen ? "--listen SOCKET" : NULL;
	if (missing) {
		fprintf(stderr, "postern milter: %s is required\n", missing);
		return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "postern milter: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int pst_cli_milter(int argc, char **argv)
{
	pst_milter_conf conf = { .max_size = PST_MILTER_MAX_SIZE_DEFAULT };
	int rc = parse_milter_args(argc, argv, &conf);
	if (rc != 0)
		return rc > 0 ? 0 : EX_USAGE;
	pst_milter_rcpt_configure(&conf);
	return pst_milter_run(&conf);
}
