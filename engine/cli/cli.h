/*
 * cli.h: the postern subcommands and what they share. Each subcommand takes
 * its own argv (argv[0] is the subcommand name) and returns the exit status.
 */
#ifndef PST_CLI_H
#define PST_CLI_H

#include <stddef.h>

#include "postern.h"

int pst_cli_check(int argc, char **argv);
int pst_cli_lint(int argc, char **argv);
int pst_cli_lmtp(int argc, char **argv);
int pst_cli_milter(int argc, char **argv);
int pst_cli_test(int argc, char **argv);
int pst_cli_replay(int argc, char **argv);
int pst_cli_dump(int argc, char **argv);
int pst_cli_reload(int argc, char **argv);
int pst_cli_report(int argc, char **argv);

/* Compile a rule file, printing its diagnostics to stderr. 0, or -1 when it
 * has errors (*out is then NULL). The caller frees *out. */
int pst_cli_compile(const char *path, pst_policy **out);

/* Read a whole message from path ("-" for stdin), at most max bytes, into a
 * malloc'd buffer (caller frees). 0, or an exit status after printing why
 * (EX_NOINPUT when it cannot be opened or is a directory, EX_DATAERR for an
 * oversized message, EX_IOERR, EX_OSERR). */
int pst_cli_read_message(const char *path, size_t max, char **out, size_t *len);

/* Create (truncate) path and write len bytes. 0, or -1 after printing why. */
int pst_cli_write_file(const char *path, const char *data, size_t len);

#endif
