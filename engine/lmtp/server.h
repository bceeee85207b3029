/*
 * server.h: the LMTP server behind "postern lmtp" (postern(1)): listeners,
 * sessions on a pool of at most max_sessions threads, timeouts, the policy
 * (reloaded on SIGHUP), delivery through deliver.h, and the JSON log.
 *
 * The server is a layer over postern.h (decide) and deliver.h (store);
 * the protocol itself is proto.h.
 */
#ifndef PST_LMTP_SERVER_H
#define PST_LMTP_SERVER_H

#include <stddef.h>

#include "util/limits.h"

#define PST_LMTP_SESSION_FACTOR   12       /* a whole session: 12 x timeout */
#define PST_LMTP_READ_CHUNK       16384

typedef struct pst_lmtp_server_conf {
	const char *rules;                    /* --rules FILE */
	const char *listen[PST_LMTP_MAX_LISTEN]; /* "127.0.0.1:2424", "[::1]:2424", "unix:/path" */
	size_t nlisten;
	unsigned socket_mode;                 /* unix sockets (0660) */
	const char *socket_owner;             /* --socket-owner USER of unix sockets, or NULL */
	const char *socket_group;             /* --socket-group GROUP of unix sockets, or NULL */
	const char *deliver;                  /* --deliver TARGET */
	const char *dns;                      /* --dns FILE, or NULL for live DNS */
	unsigned max_sessions;
	unsigned max_sessions_per_peer;       /* one TCP client address; 0: half of
	                                         max_sessions, at least 1 */
	size_t max_size;
	unsigned timeout;                     /* seconds */
	const char *log;                      /* FILE, "syslog" or "stderr" */
	const char *xforward_from[PST_LMTP_MAX_XFWD_CIDRS]; /* CIDRs, or "unix" */
	size_t nxforward_from;                /* 0: loopback and unix sockets */
	const char *user;                     /* --user NAME, or NULL */
	char recipient_delimiter;             /* or 0 */
	const char *users;                    /* --users FILE, or NULL */
	const char *hostname;                 /* or NULL: gethostname() */
	int header_reply_554;                 /* header limits: 554 5.6.0, else 552 5.3.4 */
	const char *metrics;                  /* --metrics ADDR (as listen), or NULL */
	const char *pid_file;                 /* --pid-file FILE, or NULL (pidfile.h) */
	const char *report_store;             /* --report-store sqlite:PATH, or NULL */
} pst_lmtp_server_conf;

/* Set the defaults postern(1) documents. */
void pst_lmtp_server_defaults(pst_lmtp_server_conf *conf);

/* Run the server in the foreground until SIGTERM (or SIGINT), then drain
 * the sessions in flight. Setup errors are printed to stderr. Returns an
 * exit status: 0 after a clean stop, EX_CONFIG for rules that do not
 * compile, EX_USAGE for bad options, EX_NOPERM for an unknown --user,
 * --socket-owner or --socket-group, EX_OSERR / EX_CANTCREAT otherwise. */
int pst_lmtp_server_run(const pst_lmtp_server_conf *conf);

#endif
