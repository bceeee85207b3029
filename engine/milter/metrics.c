/*
 * metrics.c: postern milter's Prometheus endpoint (metrics.h). The HTTP
 * side is postern lmtp's (lmtp/metrics_http.c: its own thread, one scrape
 * at a time, every wait bounded); this file keeps the worker's counters
 * and renders them, with the names postern lmtp uses where they mean the
 * same: postern_start_time_seconds, postern_policy_generation,
 * postern_policy_rules, postern_reloads_total{result}, postern_errors_total,
 * postern_report_store_rows_total{result} and postern_report_store_queued;
 * and postern_message_decisions_total{decision}, the answers given at the
 * end of the message (one per message: a milter answers once).
 *
 * The counters are process-wide atomics (libmilter gives callbacks no
 * context); a scrape reads each one atomically, not all at one instant.
 * The endpoint is bound in the worker before --user and served from the
 * worker, so it shows the worker's counters since the worker started.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "lmtp/listen.h"
#include "lmtp/metrics_http.h"
#include "milter/metrics.h"
#include "milter/report_store.h"
#include "milter/supervise.h"
#include "store/store.h"

#define NACTIONS (PST_QUARANTINE + 1)

static struct {
	unsigned long decisions[NACTIONS];
	unsigned long errors, reloads, reload_failures;
	time_t started;
	pst_metrics_http *http;
} mx;

static void add(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static unsigned long get(const unsigned long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void pst_milter_metrics_count(pst_action answer, int error)
{
	if ((int)answer >= 0 && (int)answer < NACTIONS)
		add(&mx.decisions[answer]);
	if (error)
		add(&mx.errors);
}

void pst_milter_metrics_reload(int ok)
{
	add(ok ? &mx.reloads : &mx.reload_failures);
}

static void render_store(pst_buf *b)
{
	pst_store_stats st;
	if (pst_milter_store_stats(&st) == 0)
		pst_metrics_store(b, &st);
}

static int render(void *arg, pst_buf *b)
{
	(void)arg;
	pst_held_policy *p = pst_milter_policy_get();
	unsigned gen = p ? p->generation : 0;
	size_t rules = p ? pst_policy_rule_count(p->policy) : 0;
	pst_milter_policy_put(&p);
	pst_metrics_one(b, "postern_start_time_seconds", "gauge",
	    "Start time of the milter worker since the Unix epoch in seconds.",
	    (unsigned long long)mx.started);
	pst_metrics_one(b, "postern_policy_generation", "gauge",
	    "Generation of the loaded policy (1 at start, one more per successful reload).", gen);
	pst_metrics_one(b, "postern_policy_rules", "gauge", "Rules in the loaded policy.", rules);
	pst_metrics_family(b, "postern_reloads_total", "counter", "Policy reloads (SIGHUP) by outcome.");
	pst_buf_printf(b, "postern_reloads_total{result=\"ok\"} %lu\n", get(&mx.reloads));
	pst_buf_printf(b, "postern_reloads_total{result=\"failed\"} %lu\n", get(&mx.reload_failures));
	pst_metrics_family(b, "postern_message_decisions_total", "counter",
	    "Messages by the answer given at the end of the message.");
	for (int a = 0; a < NACTIONS; a++)
		pst_buf_printf(b, "postern_message_decisions_total{decision=\"%s\"} %lu\n",
		               pst_action_name((pst_action)a), get(&mx.decisions[a]));
	pst_metrics_one(b, "postern_errors_total", "counter",
	    "Messages answered tempfail because no decision could be made.", get(&mx.errors));
	render_store(b);
	return b->data == NULL ? -1 : 0;
}

int pst_milter_metrics_open(const pst_milter_conf *conf)
{
	int fd, is_unix;
	mx.started = time(NULL);
	if (conf->metrics == NULL)
		return 0;
	if (pst_listen_addr("postern milter", "--metrics", conf->metrics, 0660, &fd, &is_unix) < 0)
		return -1;
	return pst_metrics_http_new(fd, is_unix ? conf->metrics + 5 : NULL, render, NULL,
	                            "postern milter", &mx.http);
}

int pst_milter_metrics_start(void)
{
	return mx.http ? pst_metrics_http_start(mx.http) : 0;
}

void pst_milter_metrics_stop(void)
{
	pst_metrics_http_stop(&mx.http);
}
