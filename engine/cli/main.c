/*
 * main.c: the postern program. Dispatches to one subcommand; each is a thin
 * layer over the library API in postern.h.
 *
 * Exit codes follow sysexits.h where a decision is not the subject.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "postern.h"
#include "cli/cli.h"

/* The subcommands. */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "check", pst_cli_check, "decide one message against a rule file" },
	{ "lint", pst_cli_lint, "compile rule files and report every error" },
	{ "lmtp", pst_cli_lmtp, "serve LMTP: decide each recipient, deliver what is accepted" },
	{ "milter", pst_cli_milter, "serve the milter protocol: decide at SMTP time (MTA filter)" },
	{ "test", pst_cli_test, "run rule test suites (postern-test(5))" },
	{ "replay", pst_cli_replay, "evaluate a rule file over a corpus, or diff two" },
	{ "dump", pst_cli_dump, "print a rule file's compiled program and rule index" },
	{ "reload", pst_cli_reload, "lint, then make a running postern lmtp reload its rules" },
	{ "report", pst_cli_report, "send the DMARC aggregate reports (RFC 9990) of a period" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: postern [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'postern COMMAND --help' for the options of one command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("postern %s\n", pst_version());
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "postern: unknown command '%s'\n", cmd);
	usage(stderr);
	return EX_USAGE;
}
