/*
 * metrics.h: "postern milter --metrics ADDR" (engine/milter/metrics.c):
 * the worker's counters in the Prometheus text format, served by
 * lmtp/metrics_http.c. Not installed.
 */
#ifndef PST_MILTER_METRICS_H
#define PST_MILTER_METRICS_H

#include "postern.h"
#include "milter/milter.h"

/* Count one message's answer (error: a tempfail because no decision could
 * be made) / one reload. Lock-free; any thread. */
void pst_milter_metrics_count(pst_action answer, int error);
void pst_milter_metrics_reload(int ok);

/* In the worker: bind conf->metrics (before --user; nothing without it),
 * 0 or -1 after printing why; start its thread (after --user, with the
 * signals blocked), 0 or -1 after printing why; stop it (NULL-safe). */
int pst_milter_metrics_open(const pst_milter_conf *conf);
int pst_milter_metrics_start(void);
void pst_milter_metrics_stop(void);

#endif
