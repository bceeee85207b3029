/*
 * lint.c: "postern lint FILE...": compile rule files and print every
 * diagnostic (file:line:col: error|warning: message, the source line and a
 * caret) on stderr.
 *
 * For a file that compiles, one line on stdout says what was checked:
 * "FILE: 14 rules, 2 tenants, 3 includes, 4 lists, 6 settings: no errors"
 * (", 1 warning" appended when there are warnings). A file with errors
 * gets "FILE: N errors, M warnings" on stderr instead, as does one with
 * warnings. --quiet drops both summary lines; diagnostics stay.
 *
 * Exit status: 0 when no file has errors (warnings alone do not fail), 1
 * when some file has errors or cannot be read, 64 (EX_USAGE) for a usage
 * error. Built on the public API only (pst_policy_compile_file,
 * pst_policy_get_stats).
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
	    "file:line:col: error|warning: message, with the source line and a caret,\n"
	    "on stderr. For each file that compiles, one summary line on stdout:\n"
	    "FILE: N rules, N tenants, N includes, N lists, N settings: no errors.\n"
	    "Exits 0 when there are no errors, 1 when there are.\n"
	    "\n"
	    "  -q, --quiet   no summary lines (diagnostics are still printed)\n"
	    "  -h, --help    this text\n");
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* What a policy that compiled was written with, on stdout. */
static void print_summary(const char *path, const pst_policy *pol, size_t warnings)
{
	pst_policy_stats st;
	pst_policy_get_stats(pol, &st);
	printf("%s: %zu %s, %zu %s, %zu %s, %zu %s, %zu %s: no errors", path,
	       st.rules, plural(st.rules, "rule", "rules"),
	       st.tenants, plural(st.tenants, "tenant", "tenants"),
	       st.includes, plural(st.includes, "include", "includes"),
	       st.lists, plural(st.lists, "list", "lists"),
	       st.settings, plural(st.settings, "setting", "settings"));
	if (warnings)
		printf(", %zu %s", warnings, plural(warnings, "warning", "warnings"));
	putchar('\n');
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
	if (!quiet && rc == 0 && pol != NULL) {
		fflush(stderr);
		print_summary(path, pol, rep.warnings);
	}
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
