/*
 * milter.h: "postern milter", the milter front end over libmilter
 * (engine/milter/milter.c).
 */
#ifndef PST_MILTER_H
#define PST_MILTER_H

#include <stddef.h>

#define PST_MILTER_MAX_SIZE_DEFAULT 52428800u   /* as postern lmtp's --max-size */

typedef struct pst_milter_conf {
	const char *rules;      /* the rule file */
	const char *listen;     /* libmilter's syntax: inet:PORT@HOST, inet6:..., unix:PATH */
	const char *dns;        /* a DNS fixture, or NULL for live DNS */
	const char *log;        /* a file, "stderr", "syslog" or NULL (stderr) */
	const char *hostname;   /* for the log lines; NULL: gethostname() */
	size_t max_size;        /* header section and body, rebuilt, in bytes */
	const char *pid_file;   /* --pid-file FILE (and FILE.reload, lmtp/pidfile.h), or NULL */
	const char *user;       /* --user NAME: privileges dropped once listening, or NULL */
	const char *report_store; /* --report-store sqlite:PATH|postgresql:CONNINFO, or NULL */
	const char *metrics;    /* --metrics HOST:PORT|[V6]:PORT|unix:PATH (Prometheus), or NULL */
	int tenant_split;       /* --tenant-split: PST_MILTER_SPLIT_AUTO (0: on
	                         * when the policy has tenants), _ON, _OFF */
} pst_milter_conf;

enum { PST_MILTER_SPLIT_AUTO, PST_MILTER_SPLIT_ON, PST_MILTER_SPLIT_OFF };

/* Take the RCPT-time settings of conf (tenant_split). Call it before
 * pst_milter_run(); the RCPT callback reads them, and under AUTO asks the
 * policy in use at each RCPT whether it has tenants. */
void pst_milter_rcpt_configure(const pst_milter_conf *conf);

/* Compile the rules, load the DNS fixture, open the log, then run as a
 * supervisor and one worker that opens the socket and serves until
 * SIGTERM or SIGINT (SIGHUP reloads the rules; supervise.h). Returns the
 * exit status: 0 after a clean stop, 65 a bad DNS fixture, 70 libmilter
 * failed or the worker died of a signal, 71 cannot listen (or a bad
 * --listen), 73 cannot open the log, the report store or write the pid
 * file (or it names a live postern), 77 an unknown --user, 78 rules that do not compile. In
 * the worker process it returns the worker's status, for the caller to
 * exit with. */
int pst_milter_run(const pst_milter_conf *conf);

#endif
