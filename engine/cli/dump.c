/*
 * dump.c: "postern dump FILE": compile a rule file and print the compiled
 * program (lang/dump.h: settings, lists, rules with their tests and
 * actions, the rule index) on stdout, for audits and reviews.
 *
 * Exit status: 0 when the file compiled and was printed, 1 when it has
 * errors or cannot be read (the diagnostics go to stderr, as lint prints
 * them), 64 (EX_USAGE) for a usage error, 71 (EX_OSERR) when memory ran
 * out or stdout could not be written. A thin layer over the compiler
 * (pst_program_compile_file) and pst_program_dump.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli/cli.h"
#include "lang/diag.h"
#include "lang/dump.h"
#include "lang/program.h"
#include "util/buf.h"

static void dump_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern dump FILE\n"
	    "\n"
	    "Compile the rule file and print the compiled program: the settings,\n"
	    "the lists, every rule (name, file:line, tenant, mode, after-queue-reject\n"
	    "when the rule or its tenant sets it) with its tests and actions, and\n"
	    "the rule index (the rules keyed by a fact or header value, and the\n"
	    "plain rules). Exits 0, or 1 when the file has errors.\n"
	    "\n"
	    "  -h, --help    this text\n");
}

/* Compile path, printing its diagnostics; NULL when it has errors. */
static pst_program *compile(const char *path)
{
	pst_diags *d = pst_diags_new();
	pst_program *prog = NULL;
	if (d == NULL)
		return NULL;
	int rc = pst_program_compile_file(path, d, &prog);
	pst_buf text = PST_BUF_INIT;
	if (pst_diags_render(d, &text) == 0 && text.len)
		fputs(pst_buf_str(&text), stderr);
	pst_buf_free(&text);
	pst_diags_free(&d);
	return rc == 0 ? prog : NULL;
}

int pst_cli_dump(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		dump_usage(stdout);
		return 0;
	}
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0')) {
		if (argc > 1 && argv[1][0] == '-')
			fprintf(stderr, "postern dump: unknown option '%s'\n", argv[1]);
		else
			fprintf(stderr, "postern dump: give one rule file\n");
		dump_usage(stderr);
		return EX_USAGE;
	}
	pst_program *prog = compile(argv[1]);
	if (prog == NULL)
		return 1;
	pst_buf out = PST_BUF_INIT;
	int rc = pst_program_dump(prog, &out);
	pst_program_free(&prog);
	if (rc == 0 && fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0) {
		pst_buf_free(&out);
		return 0;
	}
	pst_buf_free(&out);
	fprintf(stderr, "postern dump: %s\n", rc ? "out of memory" : "cannot write the dump");
	return EX_OSERR;
}
