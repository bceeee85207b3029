/*
 * pidfile.h: the --pid-file of "postern lmtp" and the reload state file
 * beside it, FILE.reload, through which the server tells "postern reload"
 * the outcome of each SIGHUP (it works whatever --log says, syslog too).
 *
 * The state file is text, one "key value" a line: pid, seq (SIGHUPs
 * handled since start, 0 at start), ok (1: the last load was taken, 0:
 * refused), generation (the policy in use), rules (the rule file, absolute
 * when it could be made so) and, when ok is 0, error (the first
 * diagnostic). It is written whole to FILE.reload.tmp and renamed, so a
 * reader never sees half of it.
 */
#ifndef PST_LMTP_PIDFILE_H
#define PST_LMTP_PIDFILE_H

#include <stddef.h>

typedef struct pst_reload_state {
	long pid;
	unsigned long seq;
	int ok;
	unsigned generation;
	char rules[4096];
	char error[1024];
} pst_reload_state;

/* The PID in path (a decimal number and a newline). 0, or -1 with errno
 * set (EINVAL when the file holds no PID). */
int pst_pidfile_read(const char *path, long *pid);

/* 1 when pid is a live process running postern (its command line names
 * a program called postern), else 0. */
int pst_pidfile_is_postern(long pid);

/* Write the calling process's PID to path (created mode 0644, replaced).
 * 0, or -1 with errno set. */
int pst_pidfile_write(const char *path);

/* The state file of a pid file: path + ".reload" into out (len bytes).
 * 0, or -1 when it does not fit. */
int pst_reload_state_path(const char *pidfile, char *out, size_t len);

/* Write / read the state file of pidfile. 0, or -1 with errno set (read:
 * EINVAL when a line is malformed or pid/seq are missing). Strings in
 * st are cut to fit; a newline in error becomes a space. */
int pst_reload_state_write(const char *pidfile, const pst_reload_state *st);
int pst_reload_state_read(const char *pidfile, pst_reload_state *st);

#endif
