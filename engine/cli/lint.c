/*
 * lint.c: "postern lint FILE...": compile rule files and print every
 * diagnostic (file:line:col: error|warning: message, the source line and a
 * caret) on stderr.
 *
 * Exit status: 0 when no file has errors (warnings alone do not fail), 1
 * when some file has errors or cannot be read, 64 (EX_USAGE) for a usage
 * error. Built on the public API only (pst_policy_compile_file).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "postern.h"
#include "cli/cli.h"

static void lint_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern lint [--quiet] FILE...\n"
	    "\n"
	    "Compile each rule file and report every error and warning as\n"
	    "file:line:col: error|warning: message, with the source line and a caret.\n"
	    "Exits 0 when there are no errors, 1 when there are.\n"
	    "\n"
	    "  -q, --quiet   no summary line per file with problems\n"
	    "  -h, --help    this text\n");
}

/* Lint one file: 1 when it has errors, else 0. */
static int lint_one(const char *path, int quiet)
{
	pst_compile_report rep = { 0, 0, NULL };
	pst_policy *pol = NULL;
	int rc = pst_policy_compile_file(path, &pol, &rep);
	if (rep.text && *rep.text)
		fputs(rep.text, stderr);
	if (!quiet && (rep.errors || rep.warnings))
		fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", path, rep.errors,
		        rep.errors == 1 ? "" : "s", rep.warnings, rep.warnings == 1 ? "" : "s");
	pst_report_clear(&rep);
	pst_policy_free(&pol);
	return rc < 0 ? 1 : 0;
}

int pst_cli_lint(int argc, char **argv)
{
	int quiet = 0, i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			lint_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
			quiet = 1;
			continue;
		}
		fprintf(stderr, "postern lint: unknown option '%s'\n", argv[i]);
		lint_usage(stderr);
		return EX_USAGE;
	}
	if (i == argc) {
		fprintf(stderr, "postern lint: no rule file given\n");
		lint_usage(stderr);
		return EX_USAGE;
	}
	int failed = 0;
	for (; i < argc; i++)
		failed |= lint_one(argv[i], quiet);
	return failed;
}
