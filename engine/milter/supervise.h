/*
 * supervise.h: what "postern milter" runs around libmilter
 * (engine/milter/supervise.c): the log sink, the reference-counted policy
 * that SIGHUP replaces, and the supervisor process that owns the signals,
 * the pid file and the one worker process that runs libmilter.
 * Not installed, not used outside engine/milter.
 */
#ifndef PST_MILTER_SUPERVISE_H
#define PST_MILTER_SUPERVISE_H

#include <stddef.h>

#include "postern.h"
#include "lmtp/policyhold.h"
#include "milter/milter.h"

/* ---- The log sink: --log FILE, stderr or syslog ------------------------ */

/* Open dest ("stderr", "syslog" or a file, appended). 0, or -1 after
 * printing why. */
int pst_milter_log_open(const char *dest);

/* One line (the newline is added), written whole with one writev() under
 * a lock, or one syslog() at LOG_MAIL | LOG_INFO. Never fails: logging
 * does not stop mail. Thread-safe, and safe in both processes. */
void pst_milter_log_write(const char *line, size_t len);

/* {"time":...,"event":EVENT then the members of fmt (",\"k\":v..." or "")}. */
void pst_milter_log_event(const char *event, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void pst_milter_log_close(void);

/* ---- Policies ----------------------------------------------------------- */

/* The process's policy (lmtp/policyhold.h): compile rules as the first policy (generation 1). 0, or -1 after
 * printing the diagnostics to stderr. */
int pst_milter_policy_load(const char *rules);

/* Take a reference on the current policy: NULL once the worker is
 * stopping (the holder closed), never before once loaded / drop one (*p
 * becomes NULL; the last drop frees a replaced policy). */
pst_held_policy *pst_milter_policy_get(void);
void pst_milter_policy_put(pst_held_policy **p);

/* At exit: drop the holder's reference. 0, or -1 when a decision still
 * holds one (then nothing is freed: what it uses must stay). */
int pst_milter_policy_free(void);

/* ---- The supervisor ------------------------------------------------------ */

/* The worker's part, called in the worker process: open() makes the
 * listen socket (an exit status, 0 when listening); start() runs once the
 * privileges are dropped (an exit status; threads may start there);
 * serve() runs until libmilter stops (an exit status); finish() once the
 * decisions are over (not called when some are still running at exit). */
typedef struct pst_milter_worker {
	int (*open)(const pst_milter_conf *conf);
	int (*start)(const pst_milter_conf *conf);
	int (*serve)(const pst_milter_conf *conf);
	void (*finish)(const pst_milter_conf *conf);
} pst_milter_worker;

/* Run conf's milter as a supervisor and one worker (see supervise.c), once
 * the policy is loaded and the log open. Returns the exit status of the
 * process that returns: the supervisor's (the worker's own status, 70 when
 * the worker died of a signal, 73 for a pid file naming a live postern or
 * that cannot be written, 71 when the worker cannot be made), and in the
 * worker the worker's (*is_worker set): the caller frees what it holds and
 * exits with it. */
int pst_milter_supervise(const pst_milter_conf *conf, const pst_milter_worker *w, int *is_worker);

#endif
