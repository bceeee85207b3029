/*
 * check.c: "postern check", decide one message (postern(1)).
 *
 * A thin layer over postern.h: compile the rules, load the DNS fixture,
 * read the message, evaluate, print the report, write the edited copies.
 * Exit status: 0 when a decision was made (whatever it is), 64 usage,
 * 65 bad message data, 66 no input (the message cannot be opened, or is a
 * directory: replay reads folders), 73 cannot write --output, 74 a read
 * error, 78 rules that do not compile.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "postern.h"
#include "cli/cli.h"
#include "util/limits.h"
#include "util/number.h"

#define MAX_CLI_RCPTS 1000

struct check_args {
	const char *rules;
	const char *dns;
	const char *output;
	const char *message;
	pst_envelope env;
	const char *rcpts[MAX_CLI_RCPTS];
	pst_message_opts opts;
	int json;
};

static void check_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern check --rules FILE [--dns FILE] [envelope options] [--now EPOCH]\n"
	    "                     [--after-queue] [--json] [--output FILE] [--trace] MESSAGE|-\n"
	    "\n"
	    "Decide one message against a rule file and report the decision per recipient.\n"
	    "\n"
	    "  --rules FILE         the rule file (required)\n"
	    "  --dns FILE           answer DNS questions from a fixture file\n"
	    "  --client-ip IP       the SMTP client's address\n"
	    "  --client-name NAME   the SMTP client's name\n"
	    "  --helo NAME          the HELO/EHLO name\n"
	    "  --mail-from ADDR     the MAIL FROM address ('' or '<>' for the null sender)\n"
	    "  --rcpt ADDR          a recipient (repeat for several)\n"
	    "  --now EPOCH          the time for DKIM t=/x= checks\n"
	    "  --after-queue        also show the action the LMTP front end would apply\n"
	    "  --json               print one JSON object\n"
	    "  --output FILE        write the delivered message (FILE.1, FILE.2, ... for several recipients)\n"
	    "  --trace              show each rule, whether it matched, and the facts it read\n"
	    "\n"
	    "Envelope facts not given as options come from leading X-Postern-Envelope: fields.\n"
	    "Exit status: 0 decided, 64 usage, 65 bad message, 66 no input (or a directory: see postern\n"
	    "replay), 73 cannot write --output, 74 read error, 78 rules do not compile.\n");
}

enum { OPT_RULES = 256, OPT_DNS, OPT_CLIENT_IP, OPT_CLIENT_NAME, OPT_HELO, OPT_MAIL_FROM,
       OPT_RCPT, OPT_NOW, OPT_AFTER_QUEUE, OPT_JSON, OPT_OUTPUT, OPT_TRACE, OPT_HELP };

static const struct option check_options[] = {
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "client-ip", required_argument, NULL, OPT_CLIENT_IP },
	{ "client-name", required_argument, NULL, OPT_CLIENT_NAME },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "mail-from", required_argument, NULL, OPT_MAIL_FROM },
	{ "rcpt", required_argument, NULL, OPT_RCPT },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "after-queue", no_argument, NULL, OPT_AFTER_QUEUE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Parse the command line into a; returns -1 after printing a usage error,
 * 1 when --help was printed, 0 otherwise. */
static int parse_check_args(int argc, char **argv, struct check_args *a)
{
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", check_options, NULL)) != -1) {
		switch (c) {
		case OPT_RULES: a->rules = optarg; break;
		case OPT_DNS: a->dns = optarg; break;
		case OPT_CLIENT_IP: a->env.client_ip = optarg; break;
		case OPT_CLIENT_NAME: a->env.client_name = optarg; break;
		case OPT_HELO: a->env.helo = optarg; break;
		case OPT_MAIL_FROM:
			a->env.mail_from = strcmp(optarg, "<>") == 0 ? "" : optarg;
			break;
		case OPT_RCPT:
			if (a->env.nrcpts == MAX_CLI_RCPTS) {
				fprintf(stderr, "postern check: more than %d --rcpt options\n", MAX_CLI_RCPTS);
				return -1;
			}
			a->rcpts[a->env.nrcpts++] = optarg;
			break;
		case OPT_NOW: {
			unsigned long long v;
			if (pst_parse_number(optarg, 10, 0, LLONG_MAX, &v) < 0) {
				fprintf(stderr, "postern check: --now wants seconds since the epoch, not '%s'\n", optarg);
				return -1;
			}
			a->opts.now = (time_t)v;
			break;
		}
		case OPT_AFTER_QUEUE: a->opts.after_queue = 1; break;
		case OPT_JSON: a->json = 1; break;
		case OPT_OUTPUT: a->output = optarg; break;
		case OPT_TRACE: a->opts.trace = 1; break;
		case OPT_HELP: check_usage(stdout); return 1;
		default: check_usage(stderr); return -1;
		}
	}
	if (a->rules == NULL) {
		fprintf(stderr, "postern check: --rules FILE is required\n");
		return -1;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "postern check: give exactly one MESSAGE file (or - for stdin)\n");
		return -1;
	}
	a->message = argv[optind];
	a->env.rcpts = a->rcpts;
	return 0;
}

/* Write recipient i's delivered copy to path. 0 / -1 (reported). */
static int write_copy(pst_message *msg, size_t i, const char *path)
{
	char *out = NULL, err[256] = "";
	size_t len = 0;
	if (pst_message_render(msg, i, &out, &len, err, sizeof err) < 0) {
		fprintf(stderr, "postern check: cannot render the message for recipient %zu: %s\n", i + 1, err);
		return -1;
	}
	int rc = pst_cli_write_file(path, out, len);
	free(out);
	return rc;
}

static int write_outputs(pst_message *msg, const char *output)
{
	size_t n = pst_message_rcpt_count(msg);
	if (n <= 1)
		return write_copy(msg, 0, output);
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(output) + 24;
		char *path = malloc(plen);
		if (path == NULL)
			return -1;
		snprintf(path, plen, "%s.%zu", output, i + 1);
		int rc = write_copy(msg, i, path);
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int print_report(pst_message *msg, int json)
{
	char *text = NULL;
	int rc = json ? pst_message_json(msg, &text) : pst_message_text(msg, &text);
	if (rc < 0) {
		fprintf(stderr, "postern check: out of memory\n");
		return -1;
	}
	fputs(text, stdout);
	if (json)
		fputc('\n', stdout);
	free(text);
	return 0;
}

/* Everything after option parsing; the resources are released by the caller. */
static int run_check(struct check_args *a, pst_policy **policy, pst_dns **dns,
                     char **bytes, pst_message **msg)
{
	if (pst_cli_compile(a->rules, policy) < 0)
		return EX_CONFIG;
	if (a->dns) {
		char *errors = NULL;
		if (pst_dns_load_fixture(a->dns, dns, &errors) < 0) {
			fprintf(stderr, "%s", errors ? errors : "postern check: cannot load the DNS fixture\n");
			free(errors);
			return EX_DATAERR;
		}
		a->opts.dns = *dns;
	}
	size_t len = 0;
	int rc = pst_cli_read_message(a->message, PST_MAX_MESSAGE_BYTES, bytes, &len);
	if (rc != 0)
		return rc;
	char err[512] = "";
	if (pst_message_new(*policy, *bytes, len, &a->env, &a->opts, msg, err, sizeof err) < 0) {
		fprintf(stderr, "postern check: %s: %s\n", a->message, err);
		return EX_DATAERR;
	}
	if (pst_message_evaluate(*msg) < 0) {
		fprintf(stderr, "postern check: out of memory\n");
		return EX_SOFTWARE;
	}
	if (print_report(*msg, a->json) < 0)
		return EX_SOFTWARE;
	if (a->output && write_outputs(*msg, a->output) < 0)
		return EX_CANTCREAT;
	return 0;
}

int pst_cli_check(int argc, char **argv)
{
	struct check_args *a = calloc(1, sizeof *a);
	if (a == NULL)
		return EX_OSERR;
	int rc = parse_check_args(argc, argv, a);
	if (rc != 0) {
		free(a);
		return rc > 0 ? 0 : EX_USAGE;
	}
	pst_policy *policy = NULL;
	pst_dns *dns = NULL;
	pst_message *msg = NULL;
	char *bytes = NULL;
	rc = run_check(a, &policy, &dns, &bytes, &msg);
	pst_message_free(&msg);
	free(bytes);
	pst_dns_free(&dns);
	pst_policy_free(&policy);
	free(a);
	return rc;
}
