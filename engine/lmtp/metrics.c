/*
 * metrics.c: "postern lmtp --metrics ADDR" (metrics.h), the server's
 * counters in the Prometheus text exposition format, version 0.0.4.
 *
 * The HTTP side is metrics_http.c (one thread of its own, one client at a
 * time, every wait bounded); it shares with the LMTP sessions only
 * srv->lock, held while the text is rendered (a few microseconds), and
 * the policy holder's, for one reference on the current policy.
 *
 * The counters are the server's own (server_private.h: those the SIGUSR1
 * "stats" event prints), not a second set; this file adds, in
 * srv->cnt.m, the recipients by deciding rule, by reply code, and the
 * histogram of delivery latency (from the end of DATA to the recipient's
 * reply). The rule counters are those of the loaded policy's rules plus
 * "none", remade at each reload (counts of rules that stay are kept);
 * a session still on the previous policy may name a rule that is gone: it
 * is counted under its name until the next reload, up to
 * PST_METRICS_RULE_SLACK such names, and then not by rule. So the label
 * sets are bounded by the policy. Label values are escaped, and made valid
 * UTF-8 (a rule name may not be). DNS cache counters come from the shared
 * live resolver (dns/live.h) once it has been made, and not with --dns.
 * With --report-store, the store's rows by outcome and its queue
 * (store.h's counters, under the store's own lock).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/live.h"
#include "lmtp/listen.h"
#include "lmtp/metrics_http.h"
#include "lmtp/server_private.h"
#include "util/utf8.h"


/* Upper bounds of the latency buckets, seconds (+Inf follows). */
static const double bucket_le[PST_METRICS_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};

static const char *const result_names[PST_CNT_RESULTS] = {
	"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy", "other"
};
static const char *const method_names[PST_AUTH_METHODS] = { "spf", "dkim", "dmarc" };

/* ---- Counters -------------------------------------------------------- */

static int rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pst_lmtp_rule_count *)a)->name,
	              ((const struct pst_lmtp_rule_count *)b)->name);
}

/* The entry of name in the sorted table, or NULL; *at is where it would go. */
static struct pst_lmtp_rule_count *rule_find(const struct pst_lmtp_metric_counters *mc,
                                             const char *name, size_t *at)
{
	size_t lo = 0, hi = mc->nrules;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, mc->rules[mid].name);
		if (c == 0)
			return &mc->rules[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*at = lo;
	return NULL;
}

static void free_rules(struct pst_lmtp_rule_count *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].name);
	free(r);
}

/* A sorted table of pol's distinct rule names, counts 0: 0, or -1. */
static int rules_of(const pst_policy *pol, struct pst_lmtp_rule_count **out, size_t *n,
                    size_t *cap)
{
	size_t nr = pst_policy_rule_count(pol), k = 0;
	struct pst_lmtp_rule_count *t = calloc(nr + PST_METRICS_RULE_SLACK, sizeof *t);
	if (t == NULL)
		return -1;
	for (size_t i = 0; i < nr; i++) {
		pst_rule_info info;
		if (pst_policy_rule(pol, i, &info) < 0 || info.name == NULL)
			continue;
		if ((t[k].name = strdup(info.name)) == NULL) {
			free_rules(t, k);
			return -1;
		}
		k++;
	}
	qsort(t, k, sizeof *t, rule_cmp);
	size_t w = 0;                   /* drop duplicates (a name in two tenants) */
	for (size_t i = 0; i < k; i++) {
		if (w > 0 && strcmp(t[w - 1].name, t[i].name) == 0)
			free(t[i].name);
		else
			t[w++] = t[i];
	}
	*out = t;
	*n = w;
	*cap = nr + PST_METRICS_RULE_SLACK;
	return 0;
}

int pst_lmtp_metrics_rules(struct pst_lmtp_srv *srv, const pst_policy *pol)
{
	struct pst_lmtp_rule_count *t;
	size_t n, cap;
	if (rules_of(pol, &t, &n, &cap) < 0)
		return -1;
	pthread_mutex_lock(&srv->lock);
	struct pst_lmtp_metric_counters *mc = &srv->cnt.m;
	for (size_t i = 0; i < n; i++) {
		size_t at;
		const struct pst_lmtp_rule_count *old = rule_find(mc, t[i].name, &at);
		t[i].n = old ? old->n : 0;
	}
	struct pst_lmtp_rule_count *old = mc->rules;
	size_t nold = mc->nrules;
	mc->rules = t;
	mc->nrules = n;
	mc->rules_cap = cap;
	pthread_mutex_unlock(&srv->lock);
	free_rules(old, nold);
	return 0;
}

/* A rule that is no longer loaded gets an entry while there is room. */
static void count_rule(struct pst_lmtp_metric_counters *mc, const char *rule)
{
	size_t at = 0;
	struct pst_lmtp_rule_count *r = rule_find(mc, rule, &at);
	if (r != NULL) {
		r->n++;
		return;
	}
	char *name;
	if (mc->nrules >= mc->rules_cap || (name = strdup(rule)) == NULL)
		return;
	memmove(&mc->rules[at + 1], &mc->rules[at], (mc->nrules - at) * sizeof *mc->rules);
	mc->rules[at] = (struct pst_lmtp_rule_count){ name, 1 };
	mc->nrules++;
}

void pst_lmtp_metrics_count(struct pst_lmtp_metric_counters *mc, int decided, const char *rule,
                            int code, double seconds)
{
	if (decided && rule == NULL)
		mc->no_rule++;
	else if (decided)
		count_rule(mc, rule);
	if (code >= 200 && code <= 599)
		mc->replies[code]++;
	size_t b = 0;
	while (b < PST_METRICS_BUCKETS && seconds > bucket_le[b])
		b++;
	mc->latency[b]++;
	mc->latency_sum += seconds;
}

void pst_lmtp_metrics_free_counters(struct pst_lmtp_metric_counters *mc)
{
	free_rules(mc->rules, mc->nrules);
	mc->rules = NULL;
	mc->nrules = mc->rules_cap = 0;
}

/* ---- The exposition text --------------------------------------------- */

/* A label value, escaped as the format wants (backslash, quote, newline);
 * the format is UTF-8, and a rule name may hold any byte over 0x7f: a byte
 * that is not valid UTF-8 becomes U+FFFD. */
static void label_value(pst_buf *b, const char *v)
{
	size_t n = strlen(v);
	pst_buf_putc(b, '"');
	while (n > 0) {
		size_t k = pst_utf8_decode((const unsigned char *)v, n, NULL);
		if (k == 0) {
			pst_buf_puts(b, "\xEF\xBF\xBD");
			k = 1;
		} else if (*v == '\\' || *v == '"') {
			pst_buf_putc(b, '\\');
			pst_buf_putc(b, *v);
		} else if (*v == '\n')
			pst_buf_puts(b, "\\n");
		else
			pst_buf_append(b, v, k);
		v += k;
		n -= k;
	}
	pst_buf_putc(b, '"');
}

static void render_sessions(pst_buf *b, struct pst_lmtp_srv *srv)
{
	const struct pst_lmtp_counters *c = &srv->cnt;
	pst_metrics_one(b, "postern_start_time_seconds", "gauge",
	    "Start time of the server since the Unix epoch in seconds.", (unsigned long long)srv->started);
	pst_held_policy *p = pst_policy_hold_get(&srv->hold);
	pst_metrics_one(b, "postern_policy_generation", "gauge",
	    "Generation of the loaded policy (1 at start, one more per successful reload).",
	    p ? p->generation : 0);
	pst_metrics_one(b, "postern_policy_rules", "gauge", "Rules in the loaded policy.",
	    p ? pst_policy_rule_count(p->policy) : 0);
	pst_policy_hold_put(&srv->hold, &p);
	pst_metrics_family(b, "postern_reloads_total", "counter", "Policy reloads (SIGHUP) by outcome.");
	pst_buf_printf(b, "postern_reloads_total{result=\"ok\"} %lu\n", c->reloads);
	pst_buf_printf(b, "postern_reloads_total{result=\"failed\"} %lu\n", c->reload_failures);
	pst_metrics_one(b, "postern_sessions", "gauge", "LMTP sessions open now.", srv->active);
	pst_metrics_one(b, "postern_sessions_total", "counter", "LMTP sessions accepted.", c->sessions);
	pst_metrics_one(b, "postern_sessions_refused_total", "counter",
	    "LMTP connections refused with 421 (too many sessions, in all or from one address).",
	    c->refused);
	pst_metrics_one(b, "postern_session_timeouts_total", "counter",
	    "LMTP sessions ended by a timeout.",
	    c->timeouts);
	pst_metrics_one(b, "postern_messages_total", "counter",
	    "Messages received (transactions ended by DATA).",
	    c->messages);
	pst_metrics_one(b, "postern_errors_total", "counter",
	    "Sessions or messages that failed inside postern (no decision could be made).", c->errors);
	pst_metrics_one(b, "postern_recipients_total", "counter", "Recipients of the messages received.",
	    c->recipients);
}

static void render_actions(pst_buf *b, const char *name, const char *label, const char *help,
                           const unsigned long *v)
{
	pst_metrics_family(b, name, "counter", help);
	for (int a = 0; a < PST_NACTIONS; a++)
		pst_buf_printf(b, "%s{%s=\"%s\"} %lu\n", name, label, pst_action_name((pst_action)a), v[a]);
}

static void render_recipients(pst_buf *b, const struct pst_lmtp_counters *c)
{
	render_actions(b, "postern_recipient_decisions_total", "decision",
	               "Recipients by the policy's decision.", c->decision);
	render_actions(b, "postern_recipient_actions_total", "action",
	               "Recipients by the action applied (the decision, or what audit mode and "
	               "after-queue rejection made of it).", c->applied);
	pst_metrics_family(b, "postern_recipient_rules_total", "counter",
	       "Recipients by the rule that decided them (none: no rule matched).");
	for (size_t i = 0; i < c->m.nrules; i++) {
		pst_buf_puts(b, "postern_recipient_rules_total{rule=");
		label_value(b, c->m.rules[i].name);
		pst_buf_printf(b, "} %lu\n", c->m.rules[i].n);
	}
	pst_buf_printf(b, "postern_recipient_rules_total{rule=\"none\"} %lu\n", c->m.no_rule);
	pst_metrics_family(b, "postern_recipient_replies_total", "counter",
	       "Recipients by the reply given after DATA (class and code).");
	for (int code = 200; code <= 599; code++)
		if (c->m.replies[code] || code == 250)
			pst_buf_printf(b, "postern_recipient_replies_total{class=\"%dxx\",code=\"%d\"} %lu\n",
			               code / 100, code, c->m.replies[code]);
	pst_metrics_family(b, "postern_deliveries_total", "counter",
	       "Copies handed to the delivery target, by its answer.");
	pst_buf_printf(b, "postern_deliveries_total{result=\"delivered\"} %lu\n"
	               "postern_deliveries_total{result=\"deferred\"} %lu\n"
	               "postern_deliveries_total{result=\"failed\"} %lu\n",
	               c->delivered, c->deferred, c->failed);
}

static void render_auth(pst_buf *b, const struct pst_lmtp_counters *c)
{
	pst_metrics_family(b, "postern_auth_results_total", "counter",
	       "Messages by the overall result of each authentication method.");
	for (int m = 0; m < PST_AUTH_METHODS; m++)
		for (int r = 0; r < PST_CNT_RESULTS; r++)
			pst_buf_printf(b, "postern_auth_results_total{method=\"%s\",result=\"%s\"} %lu\n",
			               method_names[m], result_names[r], c->auth[m][r]);
}

static void render_latency(pst_buf *b, const struct pst_lmtp_metric_counters *mc)
{
	const char *n = "postern_delivery_latency_seconds";
	pst_metrics_family(b, n, "histogram",
	       "Seconds from the end of DATA to each recipient's reply (decision and delivery).");
	unsigned long cum = 0;
	for (size_t i = 0; i < PST_METRICS_BUCKETS; i++) {
		cum += mc->latency[i];
		pst_buf_printf(b, "%s_bucket{le=\"%g\"} %lu\n", n, bucket_le[i], cum);
	}
	cum += mc->latency[PST_METRICS_BUCKETS];
	pst_buf_printf(b, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.6f\n%s_count %lu\n", n, cum, n,
	               mc->latency_sum, n, cum);
}

static void render_dns(pst_buf *b, const struct pst_lmtp_srv *srv)
{
	pst_dns_cache_stats st;
	if (srv->conf.dns != NULL || pst_resolver_live_shared_cache_stats(&st) < 0)
		return;
	pst_metrics_one(b, "postern_dns_cache_hits_total", "counter",
	    "DNS questions answered by the cache.",
	    (unsigned long long)st.hits);
	pst_metrics_one(b, "postern_dns_cache_misses_total", "counter",
	    "DNS questions the cache could not answer.",
	    (unsigned long long)st.misses);
	pst_metrics_one(b, "postern_dns_cache_evictions_total", "counter",
	    "DNS cache entries dropped for room.", (unsigned long long)st.evicted);
	pst_metrics_one(b, "postern_dns_cache_entries", "gauge", "DNS answers held in the cache now.",
	    (unsigned long long)st.entries);
}

/* With --report-store: its rows by outcome and its queue (store.h). */
static void render_store(pst_buf *b, struct pst_lmtp_srv *srv)
{
	pst_store_stats st;
	if (srv->store == NULL)
		return;
	pst_store_get_stats(srv->store, &st);
	pst_metrics_store(b, &st);
}

int pst_lmtp_metrics_render(struct pst_lmtp_srv *srv, pst_buf *b)
{
	pthread_mutex_lock(&srv->lock);
	render_sessions(b, srv);
	render_recipients(b, &srv->cnt);
	render_auth(b, &srv->cnt);
	render_latency(b, &srv->cnt.m);
	pthread_mutex_unlock(&srv->lock);
	render_dns(b, srv);
	render_store(b, srv);
	return b->data == NULL ? -1 : 0;
}

/* ---- Life cycle (metrics_http.c serves) -------------------------------- */

static int render(void *arg, pst_buf *b)
{
	return pst_lmtp_metrics_render(arg, b);
}

int pst_lmtp_metrics_open(struct pst_lmtp_srv *srv, const char *addr, pst_lmtp_metrics **out)
{
	int fd, is_unix;
	*out = NULL;
	if (pst_listen_addr("postern lmtp", "--metrics", addr, srv->conf.socket_mode, &fd, &is_unix) < 0)
		return -1;
	return pst_metrics_http_new(fd, is_unix ? addr + 5 : NULL, render, srv, "postern lmtp", out);
}

int pst_lmtp_metrics_start(pst_lmtp_metrics *m)
{
	return pst_metrics_http_start(m);
}

void pst_lmtp_metrics_stop(pst_lmtp_metrics **m)
{
	pst_metrics_http_stop(m);
}
