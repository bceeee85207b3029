/*
 * lmtp.c: "postern lmtp", the LMTP front end (postern(1)). Parses the options
 * into a pst_lmtp_server_conf and runs the server in the foreground.
 * Exit status: 0 after SIGTERM, 64 usage, 65 bad DNS fixture, 73 cannot
 * open the log or the delivery target (or --pid-file names a running
 * postern), 71 cannot listen (or give a Unix socket its owner), 77 --user
 * failed or --socket-owner / --socket-group names no user / group, 78
 * rules that do not compile.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli/cli.h"
#include "lmtp/server.h"
#include "util/number.h"

static void lmtp_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern lmtp --rules FILE --listen ADDR [--listen ADDR]... --deliver TARGET\n"
	    "                    [--dns FILE] [--max-sessions N] [--max-sessions-per-peer N]\n"
	    "                    [--max-size BYTES] [--timeout SECONDS]\n"
	    "                    [--log FILE|syslog|stderr] [--xforward-from CIDR]... [--user NAME]\n"
	    "                    [--recipient-delimiter C] [--users FILE] [--socket-mode OCTAL]\n"
	    "                    [--hostname NAME] [--header-limit-reply 552|554]\n"
	    "                    [--metrics ADDR] [--pid-file FILE]\n"
	    "                    [--socket-owner USER] [--socket-group GROUP]\n"
	    "                    [--report-store sqlite:PATH|postgresql://URI]\n"
	    "\n"
	    "Serve LMTP: decide every recipient of every message and deliver what is accepted.\n"
	    "\n"
	    "  --rules FILE           the rule file (SIGHUP reloads it)\n"
	    "  --listen ADDR          127.0.0.1:2424, [::1]:2424 or unix:/path/sock (repeatable)\n"
	    "  --deliver TARGET       maildir:DIR, lmtp:HOST:PORT or lmtp:unix:PATH\n"
	    "  --dns FILE             answer DNS questions from a fixture file\n"
	    "  --max-sessions N       concurrent sessions (100); more get 421 4.3.2\n"
	    "  --max-sessions-per-peer N  sessions of one TCP client address (half of\n"
	    "                         --max-sessions, at least 1); more get 421 4.7.0\n"
	    "  --max-size BYTES       message size limit (52428800)\n"
	    "  --timeout SECONDS      idle and DATA timeout (300)\n"
	    "  --log DEST             where the JSON lines go (stderr); SIGUSR2 reopens it\n"
	    "  --xforward-from CIDR   peers allowed XFORWARD ('unix' for Unix sockets;\n"
	    "                         default: loopback and Unix sockets)\n"
	    "  --user NAME            drop privileges to NAME after binding\n"
	    "  --recipient-delimiter C  user+detail is delivered to user\n"
	    "  --users FILE           only these addresses (one a line); others 550 5.1.1\n"
	    "  --socket-mode OCTAL    mode of Unix sockets (0660)\n"
	    "  --socket-owner USER    owner of Unix sockets (the user postern starts as)\n"
	    "  --socket-group GROUP   group of Unix sockets (the starting user's group)\n"
	    "  --hostname NAME        name in the greeting and Received fields\n"
	    "  --header-limit-reply N reply to a header section over the limits (552 or 554)\n"
	    "  --metrics ADDR         serve Prometheus metrics at http://ADDR/metrics (as --listen)\n"
	    "  --pid-file FILE        write the PID (and FILE.reload, for postern reload)\n"
	    "  --report-store sqlite:PATH  add one row per message to this DMARC report store\n"
	    "  --report-store postgresql://URI  ... or to this PostgreSQL database (libpq URI)\n");
}

enum { OPT_RULES = 256, OPT_LISTEN, OPT_DELIVER, OPT_DNS, OPT_MAX_SESSIONS, OPT_MAX_SIZE,
       OPT_TIMEOUT, OPT_LOG, OPT_XFWD, OPT_USER, OPT_DELIM, OPT_USERS, OPT_MODE, OPT_HOSTNAME,
       OPT_HDR_REPLY, OPT_PER_PEER, OPT_METRICS, OPT_PID_FILE, OPT_SOCK_OWNER, OPT_SOCK_GROUP,
       OPT_HELP, OPT_REPORT_STORE };

static const struct option lmtp_options[] = {
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "deliver", required_argument, NULL, OPT_DELIVER },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "max-sessions-per-peer", required_argument, NULL, OPT_PER_PEER },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "xforward-from", required_argument, NULL, OPT_XFWD },
	{ "user", required_argument, NULL, OPT_USER },
	{ "recipient-delimiter", required_argument, NULL, OPT_DELIM },
	{ "users", required_argument, NULL, OPT_USERS },
	{ "socket-mode", required_argument, NULL, OPT_MODE },
	{ "socket-owner", required_argument, NULL, OPT_SOCK_OWNER },
	{ "socket-group", required_argument, NULL, OPT_SOCK_GROUP },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "header-limit-reply", required_argument, NULL, OPT_HDR_REPLY },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "report-store", required_argument, NULL, OPT_REPORT_STORE },
	{ NULL, 0, NULL, 0 },
};

/* A number in [min, max] in base; -1 after printing why. */
static int number(const char *opt, const char *s, int base, unsigned long long min,
                  unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	if (pst_parse_number(s, (unsigned)base, min, max, &v) < 0) {
		fprintf(stderr, "postern lmtp: --%s wants a number from %llu to %llu, not '%s'\n",
		        opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* One numeric option into c. 0 / -1. */
static int numeric_option(int o, const char *arg, pst_lmtp_server_conf *c)
{
	unsigned long long v;
	switch (o) {
	case OPT_MAX_SESSIONS:
		if (number("max-sessions", arg, 10, 1, 100000, &v) < 0)
			return -1;
		c->max_sessions = (unsigned)v;
		return 0;
	case OPT_PER_PEER:
		if (number("max-sessions-per-peer", arg, 10, 1, 100000, &v) < 0)
			return -1;
		c->max_sessions_per_peer = (unsigned)v;
		return 0;
	case OPT_MAX_SIZE:
		if (number("max-size", arg, 10, 1, 1ULL << 40, &v) < 0)
			return -1;
		c->max_size = (size_t)v;
		return 0;
	case OPT_TIMEOUT:
		if (number("timeout", arg, 10, 1, 86400, &v) < 0)
			return -1;
		c->timeout = (unsigned)v;
		return 0;
	case OPT_MODE:
		if (number("socket-mode", arg, 8, 0, 0777, &v) < 0)
			return -1;
		c->socket_mode = (unsigned)v;
		return 0;
	default:
		if (strcmp(arg, "552") != 0 && strcmp(arg, "554") != 0) {
			fprintf(stderr, "postern lmtp: --header-limit-reply wants 552 or 554\n");
			return -1;
		}
		c->header_reply_554 = strcmp(arg, "554") == 0;
		return 0;
	}
}

static int repeated(const char *opt, const char **list, size_t *n, size_t max, const char *arg)
{
	if (*n == max) {
		fprintf(stderr, "postern lmtp: more than %zu --%s options\n", max, opt);
		return -1;
	}
	list[(*n)++] = arg;
	return 0;
}

/* 0, 1 after --help, -1 after a usage error. */
static int parse_lmtp_args(int argc, char **argv, pst_lmtp_server_conf *c)
{
	int o, rc = 0;
	optind = 1;
	while (rc == 0 && (o = getopt_long(argc, argv, "", lmtp_options, NULL)) != -1) {
		switch (o) {
		case OPT_RULES: c->rules = optarg; break;
		case OPT_LISTEN:
			rc = repeated("listen", c->listen, &c->nlisten, PST_LMTP_MAX_LISTEN, optarg);
			break;
		case OPT_XFWD:
			rc = repeated("xforward-from", c->xforward_from, &c->nxforward_from,
			              PST_LMTP_MAX_XFWD_CIDRS, optarg);
			break;
		case OPT_DELIVER: c->deliver = optarg; break;
		case OPT_DNS: c->dns = optarg; break;
		case OPT_LOG: c->log = optarg; break;
		case OPT_USER: c->user = optarg; break;
		case OPT_USERS: c->users = optarg; break;
		case OPT_SOCK_OWNER: c->socket_owner = optarg; break;
		case OPT_SOCK_GROUP: c->socket_group = optarg; break;
		case OPT_HOSTNAME: c->hostname = optarg; break;
		case OPT_METRICS: c->metrics = optarg; break;
		case OPT_PID_FILE: c->pid_file = optarg; break;
		case OPT_REPORT_STORE: c->report_store = optarg; break;
		case OPT_DELIM:
			if (strlen(optarg) != 1) {
				fprintf(stderr, "postern lmtp: --recipient-delimiter wants one character\n");
				return -1;
			}
			c->recipient_delimiter = optarg[0];
			break;
		case OPT_MAX_SESSIONS: case OPT_PER_PEER: case OPT_MAX_SIZE: case OPT_TIMEOUT:
		case OPT_MODE: case OPT_HDR_REPLY:
			rc = numeric_option(o, optarg, c);
			break;
		case OPT_HELP: lmtp_usage(stdout); return 1;
		default: lmtp_usage(stderr); return -1;
		}
	}
	if (rc < 0)
		return -1;
	const char *missing = !c->rules ? "--rules FILE" : !c->nlisten ? "--listen ADDR" :
	                      !c->deliver ? "--deliver TARGET" : NULL;
	if (missing) {
		fprintf(stderr, "postern lmtp: %s is required\n", missing);
		return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "postern lmtp: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int pst_cli_lmtp(int argc, char **argv)
{
	pst_lmtp_server_conf conf;
	pst_lmtp_server_defaults(&conf);
	int rc = parse_lmtp_args(argc, argv, &conf);
	if (rc != 0)
		return rc > 0 ? 0 : EX_USAGE;
	return pst_lmtp_server_run(&conf);
}
