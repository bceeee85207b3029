/*
 * metrics.h: the Prometheus endpoint of "postern lmtp --metrics ADDR"
 * (metrics.c), and the counters it adds to the server's (server_private.h:
 * recipients by deciding rule, by reply code, and the delivery latency).
 * Not installed, not used outside engine/lmtp.
 */
#ifndef PST_LMTP_METRICS_H
#define PST_LMTP_METRICS_H

#include <stddef.h>

#include "postern.h"
#include "util/buf.h"

struct pst_lmtp_srv;
struct pst_lmtp_counters;

typedef struct pst_metrics_http pst_lmtp_metrics;   /* metrics_http.h */

#define PST_METRICS_MAX_REQUEST   4096   /* request line and fields, bytes */
#define PST_METRICS_TIMEOUT_MS    2000   /* to read a request, and to write the answer */
#define PST_METRICS_RULE_SLACK    64     /* names of rules no longer loaded (see metrics.c) */
#define PST_METRICS_BUCKETS       13     /* latency buckets before +Inf */

/* One rule's count of recipients it decided. */
struct pst_lmtp_rule_count {
	char *name;
	unsigned long n;
};

/* The counters of metrics.c, part of struct pst_lmtp_counters; every
 * field under srv->lock. */
struct pst_lmtp_metric_counters {
	struct pst_lmtp_rule_count *rules;   /* sorted by name; owned */
	size_t nrules, rules_cap;
	unsigned long no_rule;               /* decided by no rule (rule "none") */
	unsigned long replies[600];          /* by reply code (200..599) */
	unsigned long latency[PST_METRICS_BUCKETS + 1]; /* per bucket, not cumulative */
	double latency_sum;                  /* seconds */
};

/* Bind addr ("127.0.0.1:9425", "[::1]:9425", "unix:PATH"; Unix sockets get
 * conf.socket_mode) for srv: 0 with *out set (the caller owns it:
 * pst_lmtp_metrics_stop), or -1 after printing why. No thread yet. */
int pst_lmtp_metrics_open(struct pst_lmtp_srv *srv, const char *addr, pst_lmtp_metrics **out);

/* Start the thread that answers scrapes: 0, or -1 after printing why.
 * Call with the signals the main thread handles blocked (the thread
 * inherits the mask). */
int pst_lmtp_metrics_start(pst_lmtp_metrics *m);

/* Stop the thread (a scrape in progress ends within its timeout), close
 * the socket (and unlink a Unix one), free *m; *m becomes NULL. NULL-safe. */
void pst_lmtp_metrics_stop(pst_lmtp_metrics **m);

/* Make the rule counters those of pol's rules (counts of rules kept by
 * name), under srv->lock: at start and at each reload. 0, or -1 on ENOMEM
 * (the counters stay as they were). */
int pst_lmtp_metrics_rules(struct pst_lmtp_srv *srv, const pst_policy *pol);

/* Count one recipient's outcome, under srv->lock: rule the deciding rule
 * (NULL: "none"), counted only when decided is set; its reply code; the
 * seconds from the end of DATA to the reply. */
void pst_lmtp_metrics_count(struct pst_lmtp_metric_counters *mc, int decided, const char *rule,
                            int code, double seconds);

/* Free the rule counters (at exit). */
void pst_lmtp_metrics_free_counters(struct pst_lmtp_metric_counters *mc);

/* The whole exposition text (format 0.0.4) of srv's counters, appended to
 * b (the caller's). 0, or -1 on ENOMEM. */
int pst_lmtp_metrics_render(struct pst_lmtp_srv *srv, pst_buf *b);

#endif
