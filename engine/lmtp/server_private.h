/*
 * server_private.h: what the files of the LMTP server share: the server
 * object (its policy held by lmtp/policyhold.h), the log sink and the
 * counters.
 * Not installed, not used outside engine/lmtp.
 */
#ifndef PST_LMTP_SERVER_PRIVATE_H
#define PST_LMTP_SERVER_PRIVATE_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "postern.h"
#include "deliver/deliver.h"
#include "lmtp/metrics.h"
#include "lmtp/policyhold.h"
#include "lmtp/proto.h"
#include "lmtp/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/ip.h"

/* Counters printed on SIGUSR1 (and those of metrics.h), served by --metrics. */
enum { PST_CNT_PASS, PST_CNT_FAIL, PST_CNT_SOFTFAIL, PST_CNT_NEUTRAL, PST_CNT_NONE,
       PST_CNT_TEMPERROR, PST_CNT_PERMERROR, PST_CNT_POLICY, PST_CNT_OTHER, PST_CNT_RESULTS };
enum { PST_AUTH_SPF, PST_AUTH_DKIM, PST_AUTH_DMARC, PST_AUTH_METHODS };
#define PST_NACTIONS 5

struct pst_lmtp_counters {
	unsigned long sessions, refused, messages, recipients, errors, timeouts;
	unsigned long reloads, reload_failures;
	unsigned long decision[PST_NACTIONS], applied[PST_NACTIONS];
	unsigned long delivered, deferred, failed;
	unsigned long auth[PST_AUTH_METHODS][PST_CNT_RESULTS];
	struct pst_lmtp_metric_counters m;      /* by rule, by reply code, latency */
};

enum pst_log_kind { PST_LOG_STDERR, PST_LOG_FILE, PST_LOG_SYSLOG };

/* How many sessions one TCP client address holds. */
struct pst_lmtp_peer_count {
	char addr[64];
	unsigned n;
};

struct pst_lmtp_srv {
	pst_lmtp_server_conf conf;
	char hostname[256];
	pthread_mutex_t lock;           /* counters, sessions */
	pthread_cond_t drained;
	pst_policy_hold hold;           /* the policy; each session holds one */
	unsigned active;                /* sessions running */
	struct pst_lmtp_peer_count *peers; /* sessions by TCP client address, */
	size_t npeers;                  /* under lock: at most max_sessions */
	unsigned per_peer;              /* the effective per-peer limit */
	int stopping;                   /* set under lock, read atomically */
	unsigned long queue_seq;
	struct pst_lmtp_counters cnt;
	pst_dns *dns;
	pst_deliver *deliver;
	pst_cidr xfwd[PST_LMTP_MAX_XFWD_CIDRS];
	size_t nxfwd;
	int xfwd_unix;
	pst_lmtp_metrics *metrics;      /* --metrics, or NULL */
	pst_store *store;               /* --report-store, or NULL (report_store.c) */
	time_t started;                 /* wall clock, at start */
	/* --pid-file: the state file beside it says how each SIGHUP ended. */
	unsigned long reload_seq;       /* SIGHUPs handled (main thread) */
	char rules_abs[4096];           /* conf.rules made absolute, or as given */
	int pid_written;
	/* Log sink. */
	enum pst_log_kind log_kind;
	int log_fd;
	pthread_mutex_t log_lock;
};

/* Bind and listen on addr as --listen takes it (opt names the option in
 * messages): 0 with *fd (nonblocking) and *is_unix set, or -1 after
 * printing why. A Unix socket gets mode. */
int pst_lmtp_listen_addr(const char *opt, const char *addr, unsigned mode, int *fd, int *is_unix);

/* Log sink: open per conf.log (0 / -1 after printing why), write one line
 * (the newline is added), close. Thread-safe. */
int pst_lmtp_log_open(struct pst_lmtp_srv *srv);
void pst_lmtp_log_line(struct pst_lmtp_srv *srv, const char *line, size_t len);
void pst_lmtp_log_event(struct pst_lmtp_srv *srv, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pst_lmtp_log_close(struct pst_lmtp_srv *srv);
/* SIGUSR2: open --log FILE by its name again (the old one may have been
 * renamed), keeping the old descriptor when that fails; syslog is opened
 * anew. Writes a "reopen" event either way. 0 / -1. */
int pst_lmtp_log_reopen(struct pst_lmtp_srv *srv);
/* The counters as one JSON log line. */
void pst_lmtp_log_stats(struct pst_lmtp_srv *srv);

/* At start, after the "start" event: warn (stderr and a "warning" event)
 * about a risky set-up (startcheck.c). May block up to about 2 s. */
void pst_lmtp_start_warnings(struct pst_lmtp_srv *srv);

/* What one session tells a transaction about itself. */
struct pst_lmtp_peer {
	char addr[64];                  /* "127.0.0.1", "unix" */
	int xforward_allowed;
	int counted;                    /* holds a per-peer slot (server.c) */
};

/* Decide and deliver one transaction (the proto data() callback's work):
 * replies[i] for each recipient, one log line each. */
void pst_lmtp_txn_run(struct pst_lmtp_srv *srv, const pst_held_policy *pol,
                      const struct pst_lmtp_peer *peer, const pst_lmtp_txn *t,
                      pst_lmtp_reply *replies);
/* A recipient refused at RCPT time (proto.h's refused()): its log line,
 * with the reply and the reason, no decision. */
void pst_lmtp_txn_refused(struct pst_lmtp_srv *srv, const pst_lmtp_txn *t, const char *address,
                          const pst_lmtp_reply *r, const char *reason);

/* --report-store (report_store.c): open it at start (0, or -1 after
 * printing why); stop it at SIGTERM, after the sessions, writing what is
 * queued for a bounded time; hand one evaluated message over (after its
 * replies are decided, never blocking: qid and rs as the log lines have
 * them); its counters as ",\"report_store\":{...}" (nothing without a store). */
struct pst_message;
int pst_lmtp_store_open(struct pst_lmtp_srv *srv);
void pst_lmtp_store_stop(struct pst_lmtp_srv *srv);
void pst_lmtp_store_message(struct pst_lmtp_srv *srv, struct pst_message *m, const pst_lmtp_txn *t,
                            const char *qid, const pst_lmtp_reply *rs);
void pst_lmtp_store_stats_json(struct pst_lmtp_srv *srv, pst_buf *b);

#endif
