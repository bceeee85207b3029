/*
 * reload.c: "postern reload --pid-file FILE [--rules FILE] [--log FILE]
 * [--timeout SECONDS]" (postern(1)): make a running "postern lmtp
 * --pid-file FILE" load its rule file again, and say whether it took it.
 *
 * Contract. A thin layer over pidfile.h:
 *   1. FILE must name a live postern process, and FILE.reload (written by
 *      the server at start and after each SIGHUP) must be readable;
 *      otherwise exit 69 (EX_UNAVAILABLE) without signalling anything.
 *   2. The rule file (--rules, else the one FILE.reload names) is compiled
 *      first; when it does not compile its diagnostics go to stderr and the
 *      exit is 78 (EX_CONFIG), without signalling.
 *   3. SIGHUP is sent (exit 77, EX_NOPERM, when it may not be), then
 *      FILE.reload is read every 50 ms, at most --timeout seconds (10),
 *      until its seq is past the one read before the signal. The outcome is
 *      printed: exit 0 when the server took the file (stdout: its new
 *      generation), 65 (EX_DATAERR) when it refused it and kept the old
 *      policy (stderr: the server's first diagnostic), 75 (EX_TEMPFAIL)
 *      when no outcome came in time.
 *   4. With --log FILE (the server's --log file), the last reload event of
 *      that log is printed too, once the outcome is known.
 * Usage errors exit 64. The outcome never depends on the log, so --log
 * syslog servers are reloaded the same way.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "postern.h"
#include "cli/cli.h"
#include "lmtp/pidfile.h"
#include "util/number.h"

#define POLL_MS 50

struct reload_args {
	const char *pid_file, *rules, *log;
	unsigned timeout;
};

static void reload_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern reload --pid-file FILE [--rules FILE] [--log FILE] [--timeout SECONDS]\n"
	    "\n"
	    "Lint the rule file, send SIGHUP to the postern lmtp whose --pid-file is FILE,\n"
	    "and wait for its answer. Exits 0 when it took the file, 78 when the file does\n"
	    "not compile (not signalled), 65 when the server refused it, 75 without an\n"
	    "answer in time, 69 when no postern runs under FILE, 77 when it may not be\n"
	    "signalled.\n"
	    "\n"
	    "  --pid-file FILE    the server's --pid-file\n"
	    "  --rules FILE       the rule file to lint (default: the server's)\n"
	    "  --log FILE         the server's --log file: print its reload event too\n"
	    "  --timeout SECONDS  how long to wait for the answer (10)\n");
}

/* 0, 1 after --help, -1 after a usage error. */
static int parse_reload_args(int argc, char **argv, struct reload_args *a)
{
	static const struct option opts[] = {
		{ "pid-file", required_argument, NULL, 'p' },
		{ "rules", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': a->pid_file = optarg; break;
		case 'r': a->rules = optarg; break;
		case 'l': a->log = optarg; break;
		case 't':
			if (pst_parse_number(optarg, 10, 1, 3600, &v) < 0) {
				fprintf(stderr, "postern reload: --timeout wants 1 to 3600 seconds\n");
				return -1;
			}
			a->timeout = (unsigned)v;
			break;
		case 'h': reload_usage(stdout); return 1;
		default: reload_usage(stderr); return -1;
		}
	}
	if (a->pid_file == NULL || optind != argc) {
		fprintf(stderr, "postern reload: %s\n",
		        a->pid_file ? "unexpected argument" : "--pid-file FILE is required");
		reload_usage(stderr);
		return -1;
	}
	return 0;
}

/* Step 1: the server's PID and its state before the signal. */
static int find_server(const struct reload_args *a, long *pid, pst_reload_state *before)
{
	if (pst_pidfile_read(a->pid_file, pid) < 0) {
		fprintf(stderr, "postern reload: %s: %s: is postern lmtp running with --pid-file?\n",
		        a->pid_file, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (!pst_pidfile_is_postern(*pid)) {
		fprintf(stderr, "postern reload: %s: PID %ld is not a running postern (a stale pid file)\n",
		        a->pid_file, *pid);
		return EX_UNAVAILABLE;
	}
	if (pst_reload_state_read(a->pid_file, before) < 0) {
		fprintf(stderr, "postern reload: %s.reload: %s\n", a->pid_file, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (before->pid != *pid) {
		fprintf(stderr, "postern reload: %s.reload: written by PID %ld, not %ld\n", a->pid_file,
		        before->pid, *pid);
		return EX_UNAVAILABLE;
	}
	return 0;
}

/* Step 2: the rule file compiles. */
static int lint_rules(const char *rules)
{
	pst_compile_report rep = { 0, 0, NULL };
	pst_policy *pol = NULL;
	int rc = pst_policy_compile_file(rules, &pol, &rep);
	if (rep.text && *rep.text)
		fputs(rep.text, stderr);
	pst_report_clear(&rep);
	pst_policy_free(&pol);
	if (rc < 0) {
		fprintf(stderr, "postern reload: %s does not compile; the server was not signalled\n", rules);
		return EX_CONFIG;
	}
	return 0;
}

/* Step 3: wait for a state past before.seq. 0 with *after, or EX_TEMPFAIL. */
static int wait_outcome(const struct reload_args *a, long pid, const pst_reload_state *before,
                        pst_reload_state *after)
{
	struct timespec pause = { 0, POLL_MS * 1000000L };
	for (unsigned waited = 0; waited <= a->timeout * 1000; waited += POLL_MS) {
		if (pst_reload_state_read(a->pid_file, after) == 0 && after->pid == pid &&
		    after->seq > before->seq)
			return 0;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "postern reload: PID %ld did not answer within %u s\n", pid, a->timeout);
	return EX_TEMPFAIL;
}

/* Step 4: the last reload event line of the log. */
static void print_log_event(const char *log)
{
	FILE *f = fopen(log, "r");
	char line[8192], last[8192] = "";
	if (f == NULL) {
		fprintf(stderr, "postern reload: --log %s: %s\n", log, strerror(errno));
		return;
	}
	while (fgets(line, sizeof line, f))
		if (strstr(line, "\"event\":\"reload\""))
			snprintf(last, sizeof last, "%s", line);
	fclose(f);
	fputs(last, stdout);
}

int pst_cli_reload(int argc, char **argv)
{
	struct reload_args a = { .timeout = 10 };
	int rc = parse_reload_args(argc, argv, &a);
	if (rc != 0)
		return rc > 0 ? 0 : EX_USAGE;
	long pid;
	pst_reload_state before, after;
	if ((rc = find_server(&a, &pid, &before)) != 0)
		return rc;
	const char *rules = a.rules ? a.rules : before.rules;
	if ((rc = lint_rules(rules)) != 0)
		return rc;
	if (kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "postern reload: cannot signal PID %ld: %s\n", pid, strerror(errno));
		return errno == EPERM ? EX_NOPERM : EX_UNAVAILABLE;
	}
	if ((rc = wait_outcome(&a, pid, &before, &after)) != 0)
		return rc;
	if (a.log)
		print_log_event(a.log);
	if (!after.ok) {
		fprintf(stderr, "postern reload: PID %ld refused %s, generation %u stays: %s\n", pid,
		        after.rules, after.generation, after.error);
		return EX_DATAERR;
	}
	printf("postern reload: PID %ld took %s: generation %u\n", pid, after.rules, after.generation);
	return 0;
}
