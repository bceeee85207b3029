/*
 * replay.c: "postern replay", a policy over a corpus (postern(1)).
 *
 * Compile the rule file (and --baseline), list the corpus (corpus.c), then
 * evaluate every message in --jobs threads. Each thread takes items from a
 * shared counter and writes only its items' result slots, its own bitmap of
 * matched rules and its own list of slow messages; the main thread draws
 * the progress bar and, at the end, reads the slots in corpus order, so
 * the report never depends on thread timing.
 *
 * The envelope of each message: the options, then its leading
 * X-Postern-Envelope fields (the library reads them), then its trace
 * fields (Return-Path, Delivered-To / X-Original-To, and for the client IP
 * and HELO postern's own Received field, the first one, when it is "by
 * HOST (postern)" with HOST --received-by or this host's name, else the
 * topmost Received by --received-by; corpus.h). Without any recipient,
 * the owner of the Maildir the message lies in, LOCALPART@DOMAIN, when the
 * corpus is the tree "postern lmtp --deliver maildir:DIR" writes
 * (corpus.h); else the unknown recipient.
 *
 * Rules that never matched: each verdict lists every rule whose condition
 * held for its recipient (pst_verdict.matched, audit and tag-only rules
 * included), so the main pass finds them exactly. --exact, which once ran
 * a second pass over the full reports for that, is accepted and does
 * nothing.
 *
 * Audit-mode rules: for each recipient that some matched, the main pass
 * keeps the check report's audit_rules array and its text lines
 * (report.h: one serializer for check, the LMTP log and replay); the
 * report lists them in corpus order, recipients sorted, after the rest.
 *
 * Time per rule: the main pass evaluates under --rules with time_rules
 * (pst_message_rule_time: one clock read a rule reached, about 2% of the
 * evaluation time with ten header rules): every message of a corpus of up
 * to REPLAY_TIME_ALL, 1 in REPLAY_TIME_SAMPLE (by position) beyond. Each thread
 * sums the time and the evaluations per rule, and the report lists the
 * rules with the most time, then the slowest messages (parse and
 * evaluation of each). A lazily computed auth fact (DKIM, DMARC, SPF and
 * their DNS) is charged to the first rule that reads it.
 *
 * Exit status: 0 when the corpus was replayed (messages that could not be
 * read or parsed are counted and listed), 64 usage, 65 a bad --dns
 * fixture, 66 no input (a corpus that cannot be read, or holds no
 * message), 78 rules that do not compile.
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "postern.h"
#include "cli/cli.h"
#include "cli/corpus.h"
#include "report.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/number.h"

#define REPLAY_MAX_RCPTS   1000       /* --rcpt options */
#define REPLAY_MAX_JOBS    64
#define REPLAY_MAX_CORPORA 1000
#define REPLAY_CHUNK       16         /* items a thread takes at once */
#define REPLAY_SLOWEST     10         /* slow messages (and rules) reported */
#define REPLAY_TIME_ALL    1000       /* up to this many messages, time every one's rules */
#define REPLAY_TIME_SAMPLE 4          /* beyond, time the rules of 1 message in this many */
#define REPLAY_NACTIONS    5
#define REPLAY_NAME_BYTES  4096       /* one printable message name */
#define IMPLICIT_ACCEPT    "(implicit accept)"

struct replay_args {
	const char *rules;
	const char *baseline;
	const char *dns;
	const char *received_by;
	pst_envelope env;
	const char *rcpts[REPLAY_MAX_RCPTS];
	pst_message_opts opts;
	int json;
	int exact;                /* --exact: accepted for old scripts, no effect */
	long jobs;
	const char *corpora[REPLAY_MAX_CORPORA];
	size_t ncorpora;
};

/* One recipient's decisions. rule ids index the rule table; -1 is the
 * implicit accept. */
struct rcpt_res {
	char *addr;
	int act, rule;
	int old_act, old_rule;
	char *audit_json;  /* audit rules that matched (report.h), or NULL: none */
	char *audit_text;
};

struct item_res {
	struct rcpt_res *r;
	size_t n;
	double usec;       /* parse and evaluation under --rules */
	char *error;       /* or NULL */
};

/* The rule names of a policy, unique, sorted for look-up; order[] keeps
 * the file order of their first appearance. */
struct rule_table {
	const char **names;
	size_t n;
	size_t *order;
};

struct slow {
	double usec;
	size_t item;
};

struct replay {
	struct replay_args *a;
	pst_policy *policy, *base;
	pst_dns *dns;
	pst_corpus corpus;
	struct item_res *res;
	struct rule_table rules, old_rules;
	int *index_id;                /* --rules' rule i (pst_policy_rule) -> its rules id */
	size_t nindex;
	size_t time_every;            /* time the rules of items i % time_every == 0 */
	atomic_size_t next, done;
	char own_host[256];           /* postern's own Received: --received-by, else this host */
};

struct worker {
	struct replay *r;
	pthread_t tid;
	pst_corpus_reader reader;
	unsigned char *matched;       /* per rule id */
	unsigned long long *rule_nsec, *rule_evals; /* per rule id: time in it, evaluations */
	struct slow slowest[REPLAY_SLOWEST];
	size_t nslow;
	int failed;                   /* out of memory */
};

/* ---- Options -------------------------------------------------------- */

static void replay_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern replay --rules FILE [--baseline FILE] [--dns FILE] [--received-by NAME]\n"
	    "                      [envelope options] [--now EPOCH] [--json] [--jobs N] CORPUS...\n"
	    "\n"
	    "Evaluate a rule file over a corpus: a Maildir (cur/ and new/, Maildir++ .NAME/ sub-folders),\n"
	    "an mbox file (mboxrd), a folder searched recursively for Maildirs and .eml files (such as\n"
	    "the DOMAIN/LOCALPART/ tree of postern lmtp --deliver maildir:DIR) or single message files.\n"
	    "\n"
	    "  --rules FILE         the rule file (required)\n"
	    "  --baseline FILE      the old rule file: list every recipient whose decision changes\n"
	    "  --dns FILE           answer DNS questions from a fixture file\n"
	    "  --received-by NAME   take client IP and HELO from the topmost Received field by NAME\n"
	    "  --client-ip IP, --client-name NAME, --helo NAME, --mail-from ADDR, --rcpt ADDR\n"
	    "                       envelope facts for every message (they win over the message's)\n"
	    "  --now EPOCH          the time for DKIM t=/x= checks\n"
	    "  --json               print one JSON object\n"
	    "  --exact              no effect, kept for old scripts: rules that never matched are\n"
	    "                       always found exactly\n"
	    "  --jobs N             threads (default: the online CPUs)\n"
	    "\n"
	    "Envelope order: options, X-Postern-Envelope, then Return-Path (MAIL FROM), Delivered-To or\n"
	    "X-Original-To (recipient), and for client IP and HELO postern lmtp's own Received field\n"
	    "(the first one, \"by HOST (postern)\", HOST --received-by or this host's name), else the\n"
	    "topmost Received field by --received-by; without a recipient, the owner LOCALPART@DOMAIN\n"
	    "of a Maildir in a DOMAIN/LOCALPART/ tree.\n"
	    "Exit status: 0 replayed, 64 usage, 65 bad DNS fixture, 66 no input (unreadable, or no\n"
	    "messages found), 78 rules do not compile.\n");
}

enum { OPT_RULES = 256, OPT_BASELINE, OPT_DNS, OPT_RECEIVED_BY, OPT_CLIENT_IP, OPT_CLIENT_NAME,
       OPT_HELO, OPT_MAIL_FROM, OPT_RCPT, OPT_NOW, OPT_JSON, OPT_EXACT, OPT_JOBS, OPT_HELP };

static const struct option replay_options[] = {
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "baseline", required_argument, NULL, OPT_BASELINE },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "received-by", required_argument, NULL, OPT_RECEIVED_BY },
	{ "client-ip", required_argument, NULL, OPT_CLIENT_IP },
	{ "client-name", required_argument, NULL, OPT_CLIENT_NAME },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "mail-from", required_argument, NULL, OPT_MAIL_FROM },
	{ "rcpt", required_argument, NULL, OPT_RCPT },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "exact", no_argument, NULL, OPT_EXACT },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int parse_number(const char *opt, const char *text, long long min, long long max, long long *out)
{
	unsigned long long v;
	if (pst_parse_number(text, 10, (unsigned long long)min, (unsigned long long)max, &v) < 0) {
		fprintf(stderr, "postern replay: %s wants a number from %lld to %lld, not '%s'\n",
		        opt, min, max, text);
		return -1;
	}
	*out = (long long)v;
	return 0;
}

static int parse_option(int c, struct replay_args *a)
{
	long long v;
	switch (c) {
	case OPT_RULES: a->rules = optarg; return 0;
	case OPT_BASELINE: a->baseline = optarg; return 0;
	case OPT_DNS: a->dns = optarg; return 0;
	case OPT_RECEIVED_BY: a->received_by = optarg; return 0;
	case OPT_CLIENT_IP: a->env.client_ip = optarg; return 0;
	case OPT_CLIENT_NAME: a->env.client_name = optarg; return 0;
	case OPT_HELO: a->env.helo = optarg; return 0;
	case OPT_MAIL_FROM: a->env.mail_from = strcmp(optarg, "<>") == 0 ? "" : optarg; return 0;
	case OPT_RCPT:
		if (a->env.nrcpts == REPLAY_MAX_RCPTS) {
			fprintf(stderr, "postern replay: more than %d --rcpt options\n", REPLAY_MAX_RCPTS);
			return -1;
		}
		a->rcpts[a->env.nrcpts++] = optarg;
		return 0;
	case OPT_NOW:
		if (parse_number("--now", optarg, 0, (long long)1 << 40, &v) < 0)
			return -1;
		a->opts.now = (time_t)v;
		return 0;
	case OPT_JSON: a->json = 1; return 0;
	case OPT_EXACT: a->exact = 1; return 0;
	case OPT_JOBS:
		if (parse_number("--jobs", optarg, 1, REPLAY_MAX_JOBS, &v) < 0)
			return -1;
		a->jobs = (long)v;
		return 0;
	case OPT_HELP: replay_usage(stdout); return 1;
	default: replay_usage(stderr); return -1;
	}
}

/* -1 after a usage error, 1 when --help was printed, 0 otherwise. */
static int parse_replay_args(int argc, char **argv, struct replay_args *a)
{
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", replay_options, NULL)) != -1)
		if ((rc = parse_option(c, a)) != 0)
			return rc;
	if (a->rules == NULL) {
		fprintf(stderr, "postern replay: --rules FILE is required\n");
		return -1;
	}
	if (optind >= argc) {
		fprintf(stderr, "postern replay: give at least one CORPUS (Maildir, mbox or folder)\n");
		return -1;
	}
	for (; optind < argc; optind++) {
		if (a->ncorpora == REPLAY_MAX_CORPORA) {
			fprintf(stderr, "postern replay: more than %d corpora\n", REPLAY_MAX_CORPORA);
			return -1;
		}
		a->corpora[a->ncorpora++] = argv[optind];
	}
	if (a->jobs == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		a->jobs = n < 1 ? 1 : n > REPLAY_MAX_JOBS ? REPLAY_MAX_JOBS : n;
	}
	a->env.rcpts = a->rcpts;
	return 0;
}

/* ---- Rule tables ---------------------------------------------------- */

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int rule_id(const struct rule_table *t, const char *name)
{
	if (name == NULL)
		return -1;
	const char **hit = bsearch(&name, t->names, t->n, sizeof *t->names, str_cmp);
	return hit ? (int)(hit - t->names) : -1;
}

static int build_rules(const pst_policy *p, struct rule_table *t)
{
	size_t n = pst_policy_rule_count(p), u = 0;
	t->names = calloc(n + 1, sizeof *t->names);
	t->order = calloc(n + 1, sizeof *t->order);
	if (t->names == NULL || t->order == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		pst_rule_info info;
		if (pst_policy_rule(p, i, &info) < 0)
			return -1;
		t->names[i] = info.name;
	}
	qsort(t->names, n, sizeof *t->names, str_cmp);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(t->names[u - 1], t->names[i]) != 0)
			t->names[u++] = t->names[i];
	t->n = u;
	/* file order of first appearance */
	unsigned char *seen = calloc(u + 1, 1);
	if (seen == NULL)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		pst_rule_info info;
		(void)pst_policy_rule(p, i, &info);
		int id = rule_id(t, info.name);
		if (id >= 0 && !seen[id]) {
			seen[id] = 1;
			t->order[k++] = (size_t)id;
		}
	}
	free(seen);
	return 0;
}

static void free_rules(struct rule_table *t)
{
	free(t->names);
	free(t->order);
	t->names = NULL;
	t->order = NULL;
}

/* ---- One message ---------------------------------------------------- */

static double now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of the whole process (every thread), in microseconds. */
static double cpu_usec(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return 0;
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The envelope: the options, then (for what neither they nor the leading
 * X-Postern-Envelope fields give) the trace fields, then for the recipient
 * the Maildir's owner (NULL: none). *one holds the single recipient when
 * the options give none. */
static void build_env(const struct replay_args *a, const pst_trace_env *t, const char *owner,
                      pst_envelope *env, const char **one)
{
	*env = a->env;
	if (env->mail_from == NULL && !(t->xpe & PST_XPE_MAIL_FROM) && t->has_mail_from)
		env->mail_from = t->mail_from;
	if (t->has_received) {
		if (env->client_ip == NULL && !(t->xpe & PST_XPE_CLIENT_IP) && t->received.ip[0])
			env->client_ip = t->received.ip;
		if (env->helo == NULL && !(t->xpe & PST_XPE_HELO) && t->received.helo[0])
			env->helo = t->received.helo;
	}
	if (env->nrcpts == 0 && !(t->xpe & PST_XPE_RCPT)) {
		/* else the unknown recipient (""), not the library's To: fallback */
		*one = t->has_rcpt ? t->rcpt : owner ? owner : "";
		env->rcpts = one;
		env->nrcpts = 1;
	}
}

/* A message under policy p, evaluated. 0, or -1 with a reason in err. */
static int evaluate(const pst_policy *p, const char *bytes, size_t len, const pst_envelope *env,
                    const pst_message_opts *opts, pst_message **msg, char *err, size_t errlen)
{
	if (pst_message_new(p, bytes, len, env, opts, msg, err, errlen) < 0)
		return -1;
	if (pst_message_evaluate(*msg) < 0) {
		snprintf(err, errlen, "out of memory");
		pst_message_free(msg);
		return -1;
	}
	return 0;
}

static void mark(struct worker *w, const char *rule)
{
	int id = rule_id(&w->r->rules, rule);
	if (id >= 0)
		w->matched[id] = 1;
}

/* Keep what the audit rules that matched for recipient k would have done. */
static int take_audit(pst_message *msg, size_t k, struct rcpt_res *rr)
{
	pst_buf j = PST_BUF_INIT, t = PST_BUF_INIT;
	if (pst_report_audit_json(msg, k, &j) < 0 || pst_report_audit_text(msg, k, "    ", &t) < 0) {
		pst_buf_free(&j);
		pst_buf_free(&t);
		return -1;
	}
	rr->audit_json = pst_buf_steal(&j, NULL);
	rr->audit_text = pst_buf_steal(&t, NULL);
	pst_buf_free(&j);
	pst_buf_free(&t);
	return rr->audit_json && rr->audit_text ? 0 : -1;
}

/* Record the verdicts under --rules; mark the rules seen matching. */
static int take_new(struct worker *w, pst_message *msg, struct item_res *res)
{
	size_t n = pst_message_rcpt_count(msg);
	res->r = calloc(n ? n : 1, sizeof *res->r);
	if (res->r == NULL)
		return -1;
	res->n = n;
	for (size_t k = 0; k < n; k++) {
		const pst_verdict *v = pst_message_verdict(msg, k);
		struct rcpt_res *rr = &res->r[k];
		if ((rr->addr = strdup(v->address)) == NULL)
			return -1;
		rr->act = (int)v->action;
		rr->rule = rule_id(&w->r->rules, v->rule);
		rr->old_act = rr->act;
		rr->old_rule = -1;
		for (size_t e = 0; e < v->nmatched; e++)
			mark(w, v->matched[e]);
		if (v->naudit && take_audit(msg, k, rr) < 0)
			return -1;
	}
	return 0;
}

static void take_old(struct worker *w, pst_message *msg, struct item_res *res)
{
	size_t n = pst_message_rcpt_count(msg);
	for (size_t k = 0; k < n && k < res->n; k++) {
		const pst_verdict *v = pst_message_verdict(msg, k);
		res->r[k].old_act = (int)v->action;
		res->r[k].old_rule = rule_id(&w->r->old_rules, v->rule);
	}
}

/* Keep the REPLAY_SLOWEST slowest items in list (*n of them), slowest
 * first; ties keep the earlier item first. */
static void note_time(struct slow *list, size_t *n, size_t item, double usec)
{
	size_t at = *n;
	if (at == REPLAY_SLOWEST) {
		if (usec < list[at - 1].usec || (usec == list[at - 1].usec && item > list[at - 1].item))
			return;
		at--;
	} else {
		(*n)++;
	}
	while (at > 0 && (list[at - 1].usec < usec || (list[at - 1].usec == usec && list[at - 1].item > item))) {
		list[at] = list[at - 1];
		at--;
	}
	list[at] = (struct slow){ usec, item };
}

static int set_error(struct item_res *res, const char *err)
{
	res->error = strdup(*err ? err : "cannot evaluate");
	return res->error ? 0 : -1;
}

/* Load item i and build its envelope. 0, or -1 with a reason in err. */
static int prepare(struct worker *w, size_t i, const char **bytes, size_t *len, pst_trace_env *t,
                   pst_envelope *env, const char **one, char *err, size_t errlen)
{
	struct replay *r = w->r;
	if (pst_corpus_load(&r->corpus, i, &w->reader, PST_MAX_MESSAGE_BYTES, bytes, len, err, errlen) < 0)
		return -1;
	pst_trace_env_scan_own(*bytes, *len, r->a->received_by, r->own_host, t);
	build_env(r->a, t, r->corpus.items[i].owner, env, one);
	return 0;
}

/* The main pass for item i: 0, or -1 on ENOMEM. */
static int replay_item(struct worker *w, size_t i)
{
	struct replay *r = w->r;
	struct item_res *res = &r->res[i];
	const char *bytes, *one = NULL;
	size_t len;
	pst_trace_env t;
	pst_envelope env;
	pst_message *msg = NULL;
	char err[512] = "";
	if (prepare(w, i, &bytes, &len, &t, &env, &one, err, sizeof err) < 0)
		return set_error(res, err);
	double t0 = now_usec();
	pst_message_opts timed = r->a->opts;
	timed.time_rules = i % r->time_every == 0;
	if (evaluate(r->policy, bytes, len, &env, &timed, &msg, err, sizeof err) < 0)
		return set_error(res, err);
	for (size_t k = 0; k < r->nindex; k++) {
		unsigned long long ns;
		unsigned evals;
		if (r->index_id[k] >= 0 && pst_message_rule_time(msg, k, &ns, &evals) == 0) {
			w->rule_nsec[r->index_id[k]] += ns;
			w->rule_evals[r->index_id[k]] += evals;
		}
	}
	int rc = take_new(w, msg, res);
	pst_message_free(&msg);
	res->usec = now_usec() - t0;
	note_time(w->slowest, &w->nslow, i, res->usec);
	if (rc < 0 || r->base == NULL)
		return rc;
	if (evaluate(r->base, bytes, len, &env, &r->a->opts, &msg, err, sizeof err) < 0)
		return set_error(res, err);
	take_old(w, msg, res);
	pst_message_free(&msg);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct replay *r = w->r;
	size_t n = r->corpus.n;
	for (;;) {
		size_t start = atomic_fetch_add(&r->next, REPLAY_CHUNK);
		if (start >= n)
			break;
		size_t end = start + REPLAY_CHUNK < n ? start + REPLAY_CHUNK : n;
		for (size_t i = start; i < end && !w->failed; i++) {
			if (replay_item(w, i) < 0)
				w->failed = 1;
			atomic_fetch_add(&r->done, 1);
		}
		if (w->failed)
			break;
	}
	return NULL;
}

/* ---- Threads and progress ------------------------------------------- */

static void progress(struct replay *r, size_t done, double started, int final)
{
	size_t n = r->corpus.n;
	double secs = (now_usec() - started) / 1e6;
	double rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 ? (double)(n - done) / rate : 0;
	int width = 30, fill = n ? (int)((double)width * (double)done / (double)n) : width;
	fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu %3.0f%% %.0f msgs/s ETA %02d:%02d",
	        "replay", fill, "##############################",
	        width - fill, "", done, n, n ? 100.0 * (double)done / (double)n : 100.0, rate,
	        (int)(eta / 60), (int)eta % 60);
	if (final)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

/* Run one pass over the corpus in jobs threads. 0, or -1 on failure. */
static int run_pass(struct replay *r, struct worker *ws, long jobs)
{
	int tty = isatty(STDERR_FILENO);
	double started = now_usec();
	long started_threads = 0;
	atomic_store(&r->next, 0);
	atomic_store(&r->done, 0);
	for (long j = 0; j < jobs; j++, started_threads++)
		if (pthread_create(&ws[j].tid, NULL, worker_main, &ws[j]) != 0)
			break;
	if (started_threads == 0)
		worker_main(&ws[0]);
	while (tty && started_threads > 0) {
		size_t done = atomic_load(&r->done);
		if (done >= r->corpus.n)
			break;
		progress(r, done, started, 0);
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	int failed = 0;
	for (long j = 0; j < started_threads; j++)
		pthread_join(ws[j].tid, NULL);
	for (long j = 0; j < jobs; j++)
		failed |= ws[j].failed;
	if (tty)
		progress(r, atomic_load(&r->done), started, 1);
	return failed ? -1 : 0;
}

/* ---- Reports -------------------------------------------------------- */

struct totals {
	size_t recipients, errors, changed;
	size_t decisions[REPLAY_NACTIONS];
	size_t *per_rule;         /* per rule id */
	size_t implicit;
	unsigned char *matched;   /* per rule id, all threads */
	unsigned long long *rule_nsec, *rule_evals; /* per rule id, all threads */
	size_t slow_rules[REPLAY_SLOWEST]; /* rule ids, the most time first */
	size_t nslow_rules;
	struct slow slowest[REPLAY_SLOWEST];
	size_t nslow;
	double seconds;           /* the main pass */
	double cpu_seconds;       /* the process's CPU time in it */
	long jobs;
};

static int rcpt_cmp(const void *x, const void *y)
{
	const struct rcpt_res *a = x, *b = y;
	return strcmp(a->addr, b->addr);
}

static void sum_up(struct replay *r, struct totals *t)
{
	for (size_t i = 0; i < r->corpus.n; i++) {
		struct item_res *res = &r->res[i];
		t->errors += res->error != NULL;
		if (res->n > 1)
			qsort(res->r, res->n, sizeof *res->r, rcpt_cmp);
		for (size_t k = 0; k < res->n; k++) {
			struct rcpt_res *rr = &res->r[k];
			t->recipients++;
			if (rr->act >= 0 && rr->act < REPLAY_NACTIONS)
				t->decisions[rr->act]++;
			if (rr->rule >= 0)
				t->per_rule[rr->rule]++;
			else
				t->implicit++;
			t->changed += rr->act != rr->old_act;
		}
	}
}

/* The REPLAY_SLOWEST rules with the most time (evaluated at least once),
 * the most first; ties in file order. */
static void slow_rules(struct replay *r, struct totals *t)
{
	t->nslow_rules = 0;
	for (size_t k = 0; k < r->rules.n; k++) {
		size_t id = r->rules.order[k], at = t->nslow_rules;
		unsigned long long ns = t->rule_nsec[id];
		if (t->rule_evals[id] == 0)
			continue;
		if (at == REPLAY_SLOWEST) {
			if (ns <= t->rule_nsec[t->slow_rules[at - 1]])
				continue;
			at--;
		} else {
			t->nslow_rules++;
		}
		while (at > 0 && t->rule_nsec[t->slow_rules[at - 1]] < ns) {
			t->slow_rules[at] = t->slow_rules[at - 1];
			at--;
		}
		t->slow_rules[at] = id;
	}
}

static void merge_workers(struct worker *ws, long jobs, struct totals *t, size_t nrules)
{
	for (long j = 0; j < jobs; j++) {
		for (size_t k = 0; k < nrules; k++) {
			t->matched[k] |= ws[j].matched[k];
			t->rule_nsec[k] += ws[j].rule_nsec[k];
			t->rule_evals[k] += ws[j].rule_evals[k];
		}
		for (size_t s = 0; s < ws[j].nslow; s++)
			note_time(t->slowest, &t->nslow, ws[j].slowest[s].item, ws[j].slowest[s].usec);
	}
}

static const char *rcpt_text(const char *addr)
{
	return *addr ? addr : "(unknown recipient)";
}

/* The audit rules that matched, per recipient, when any did. */
static void print_audit(struct replay *r)
{
	char name[REPLAY_NAME_BYTES];
	size_t hits = 0;
	for (size_t i = 0; i < r->corpus.n; i++)
		for (size_t k = 0; k < r->res[i].n; k++)
			hits += r->res[i].r[k].audit_text != NULL;
	if (hits == 0)
		return;
	printf("\naudit rules matched (not enforced) for %zu recipient%s:\n", hits, hits == 1 ? "" : "s");
	for (size_t i = 0; i < r->corpus.n; i++)
		for (size_t k = 0; k < r->res[i].n; k++) {
			struct rcpt_res *rr = &r->res[i].r[k];
			if (rr->audit_text == NULL)
				continue;
			printf("  %s %s:\n%s", pst_corpus_name(&r->corpus, i, name, sizeof name),
			       rcpt_text(rr->addr), rr->audit_text);
		}
}

static void print_text(struct replay *r, struct totals *t)
{
	char name[REPLAY_NAME_BYTES];
	size_t n = r->corpus.n;
	printf("replayed %zu message%s (%zu recipient%s, %zu error%s) in %.3f s: %.0f msgs/s with %ld job%s,"
	       " %.1f us CPU per message\n",
	       n, n == 1 ? "" : "s", t->recipients, t->recipients == 1 ? "" : "s",
	       t->errors, t->errors == 1 ? "" : "s", t->seconds,
	       t->seconds > 0 ? (double)n / t->seconds : 0.0, t->jobs, t->jobs == 1 ? "" : "s",
	       n ? t->cpu_seconds * 1e6 / (double)n : 0.0);
	printf("\ndecisions (per recipient):\n");
	for (int a = 0; a < REPLAY_NACTIONS; a++)
		if (t->decisions[a])
			printf("  %-24s %zu\n", pst_action_name((pst_action)a), t->decisions[a]);
	printf("\ndeciding rule (per recipient):\n");
	for (size_t k = 0; k < r->rules.n; k++) {
		size_t id = r->rules.order[k];
		if (t->per_rule[id])
			printf("  %-24s %zu\n", r->rules.names[id], t->per_rule[id]);
	}
	if (t->implicit)
		printf("  %-24s %zu\n", IMPLICIT_ACCEPT, t->implicit);
	printf("\nnever matched (any recipient):");
	size_t never = 0;
	for (size_t k = 0; k < r->rules.n; k++) {
		size_t id = r->rules.order[k];
		if (!t->matched[id])
			printf("%s %s", never++ ? "," : "", r->rules.names[id]);
	}
	printf("%s\n", never ? "" : " none");
	if (r->time_every == 1)
		printf("\nslowest rules (time in the rule over every recipient that reached it, every message\n"
		       "timed; the first rule to read an auth fact pays for computing it):\n");
	else
		printf("\nslowest rules (time in the rule over every recipient that reached it, 1 message in\n"
		       "%zu timed; the first rule to read an auth fact pays for computing it):\n", r->time_every);
	for (size_t s = 0; s < t->nslow_rules; s++) {
		size_t id = t->slow_rules[s];
		printf("  %11.1f us  %9.2f us/evaluation  %8llu evaluations  %s\n",
		       (double)t->rule_nsec[id] / 1e3,
		       (double)t->rule_nsec[id] / 1e3 / (double)t->rule_evals[id],
		       t->rule_evals[id], r->rules.names[id]);
	}
	if (t->nslow_rules == 0)
		printf("  none (no rule was evaluated)\n");
	printf("\nslowest messages (parse + evaluation):\n");
	for (size_t s = 0; s < t->nslow; s++)
		printf("  %9.1f us  %s\n", t->slowest[s].usec,
		       pst_corpus_name(&r->corpus, t->slowest[s].item, name, sizeof name));
	for (size_t i = 0; i < n; i++)
		if (r->res[i].error)
			printf("error: %s: %s\n", pst_corpus_name(&r->corpus, i, name, sizeof name), r->res[i].error);
	print_audit(r);
	if (r->base == NULL)
		return;
	printf("\nchanged between %s and %s: %zu recipient%s\n", r->a->baseline, r->a->rules,
	       t->changed, t->changed == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < r->res[i].n; k++) {
			struct rcpt_res *rr = &r->res[i].r[k];
			if (rr->act == rr->old_act)
				continue;
			printf("  %s %s: %s -> %s (%s)\n", pst_corpus_name(&r->corpus, i, name, sizeof name),
			       rcpt_text(rr->addr), pst_action_name((pst_action)rr->old_act),
			       pst_action_name((pst_action)rr->act),
			       rr->rule >= 0 ? r->rules.names[rr->rule] : IMPLICIT_ACCEPT);
		}
}

static int json_name(pst_buf *b, const char *s)
{
	return pst_buf_json_str(b, s, strlen(s));
}

static int json_rule(pst_buf *b, const struct rule_table *rt, int id)
{
	return id >= 0 ? json_name(b, rt->names[id]) : pst_buf_puts(b, "null");
}

static int json_counts(struct replay *r, struct totals *t, pst_buf *b)
{
	int rc = pst_buf_printf(b, "{\"messages\":%zu,\"recipients\":%zu,\"errors\":%zu,\"decisions\":{",
	                        r->corpus.n, t->recipients, t->errors);
	for (int a = 0; a < REPLAY_NACTIONS; a++)
		rc |= pst_buf_printf(b, "%s\"%s\":%zu", a ? "," : "", pst_action_name((pst_action)a),
		                     t->decisions[a]);
	rc |= pst_buf_puts(b, "},\"rules\":{");
	for (size_t k = 0; k < r->rules.n; k++) {
		size_t id = r->rules.order[k];
		rc |= json_name(b, r->rules.names[id]);
		rc |= pst_buf_printf(b, ":%zu,", t->per_rule[id]);
	}
	rc |= pst_buf_printf(b, "\"" IMPLICIT_ACCEPT "\":%zu},\"never_matched\":[", t->implicit);
	int first = 1;
	for (size_t k = 0; k < r->rules.n; k++) {
		size_t id = r->rules.order[k];
		if (t->matched[id])
			continue;
		rc |= pst_buf_puts(b, first ? "" : ",");
		rc |= json_name(b, r->rules.names[id]);
		first = 0;
	}
	rc |= pst_buf_puts(b, "],\"never_matched_exact\":true");   /* always, since pst_verdict.matched */
	return rc ? -1 : 0;
}

static int json_changed(struct replay *r, pst_buf *b)
{
	char name[REPLAY_NAME_BYTES];
	int rc = pst_buf_puts(b, ",\"changed\":[");
	int first = 1;
	for (size_t i = 0; i < r->corpus.n; i++)
		for (size_t k = 0; k < r->res[i].n; k++) {
			struct rcpt_res *rr = &r->res[i].r[k];
			if (rr->act == rr->old_act)
				continue;
			rc |= pst_buf_puts(b, first ? "{\"message\":" : ",{\"message\":");
			rc |= json_name(b, pst_corpus_name(&r->corpus, i, name, sizeof name));
			rc |= pst_buf_puts(b, ",\"recipient\":");
			rc |= *rr->addr ? json_name(b, rr->addr) : pst_buf_puts(b, "null");
			rc |= pst_buf_printf(b, ",\"from\":\"%s\",\"to\":\"%s\",\"rule\":",
			                     pst_action_name((pst_action)rr->old_act),
			                     pst_action_name((pst_action)rr->act));
			rc |= json_rule(b, &r->rules, rr->rule);
			rc |= pst_buf_puts(b, ",\"from_rule\":");
			rc |= json_rule(b, &r->old_rules, rr->old_rule);
			rc |= pst_buf_putc(b, '}');
			first = 0;
		}
	rc |= pst_buf_putc(b, ']');
	return rc ? -1 : 0;
}

/* "audit": the recipients some audit rule matched for, with the rules. */
static int json_audit(struct replay *r, pst_buf *b)
{
	char name[REPLAY_NAME_BYTES];
	int rc = pst_buf_puts(b, ",\"audit\":[");
	int first = 1;
	for (size_t i = 0; i < r->corpus.n; i++)
		for (size_t k = 0; k < r->res[i].n; k++) {
			struct rcpt_res *rr = &r->res[i].r[k];
			if (rr->audit_json == NULL)
				continue;
			rc |= pst_buf_puts(b, first ? "{\"message\":" : ",{\"message\":");
			rc |= json_name(b, pst_corpus_name(&r->corpus, i, name, sizeof name));
			rc |= pst_buf_puts(b, ",\"recipient\":");
			rc |= *rr->addr ? json_name(b, rr->addr) : pst_buf_puts(b, "null");
			rc |= pst_buf_puts(b, ",\"audit_rules\":");
			rc |= pst_buf_puts(b, rr->audit_json);
			rc |= pst_buf_putc(b, '}');
			first = 0;
		}
	rc |= pst_buf_putc(b, ']');
	return rc ? -1 : 0;
}

static int json_rest(struct replay *r, struct totals *t, pst_buf *b)
{
	char name[REPLAY_NAME_BYTES];
	int rc = pst_buf_puts(b, ",\"error_list\":[");
	int first = 1;
	for (size_t i = 0; i < r->corpus.n; i++) {
		if (r->res[i].error == NULL)
			continue;
		rc |= pst_buf_puts(b, first ? "{\"message\":" : ",{\"message\":");
		rc |= json_name(b, pst_corpus_name(&r->corpus, i, name, sizeof name));
		rc |= pst_buf_puts(b, ",\"error\":");
		rc |= json_name(b, r->res[i].error);
		rc |= pst_buf_putc(b, '}');
		first = 0;
	}
	double rate = t->seconds > 0 ? (double)r->corpus.n / t->seconds : 0.0;
	double cpu = r->corpus.n ? t->cpu_seconds * 1e6 / (double)r->corpus.n : 0.0;
	rc |= pst_buf_printf(b, "],\"timing\":{\"jobs\":%ld,\"seconds\":%.6f,\"msgs_per_s\":%.1f,"
	                     "\"cpu_usec_per_msg\":%.2f,\"rule_time_sample\":%zu,"
	                     "\"slowest_rules\":[",
	                     t->jobs, t->seconds, rate, cpu, r->time_every);
	for (size_t s = 0; s < t->nslow_rules; s++) {
		size_t id = t->slow_rules[s];
		rc |= pst_buf_puts(b, s ? ",{\"rule\":" : "{\"rule\":");
		rc |= json_name(b, r->rules.names[id]);
		rc |= pst_buf_printf(b, ",\"usec\":%.1f,\"evaluations\":%llu,\"usec_per_evaluation\":%.3f}",
		                     (double)t->rule_nsec[id] / 1e3, t->rule_evals[id],
		                     (double)t->rule_nsec[id] / 1e3 / (double)t->rule_evals[id]);
	}
	rc |= pst_buf_puts(b, "],\"slowest_messages\":[");
	for (size_t s = 0; s < t->nslow; s++) {
		rc |= pst_buf_puts(b, s ? ",{\"message\":" : "{\"message\":");
		rc |= json_name(b, pst_corpus_name(&r->corpus, t->slowest[s].item, name, sizeof name));
		rc |= pst_buf_printf(b, ",\"usec\":%.1f}", t->slowest[s].usec);
	}
	rc |= pst_buf_puts(b, "]}}");
	return rc ? -1 : 0;
}

static int print_json(struct replay *r, struct totals *t)
{
	pst_buf b = PST_BUF_INIT;
	int rc = json_counts(r, t, &b);
	if (rc == 0 && r->base)
		rc = json_changed(r, &b);
	if (rc == 0)
		rc = json_audit(r, &b);
	if (rc == 0)
		rc = json_rest(r, t, &b);
	if (rc == 0) {
		fwrite(b.data, 1, b.len, stdout);
		fputc('\n', stdout);
	}
	pst_buf_free(&b);
	return rc;
}

/* ---- The command ---------------------------------------------------- */

static int load_inputs(struct replay *r)
{
	struct replay_args *a = r->a;
	if (pst_cli_compile(a->rules, &r->policy) < 0 ||
	    (a->baseline && pst_cli_compile(a->baseline, &r->base) < 0))
		return EX_CONFIG;
	if (build_rules(r->policy, &r->rules) < 0 || (r->base && build_rules(r->base, &r->old_rules) < 0) ||
	    (r->index_id = calloc(pst_policy_rule_count(r->policy) + 1, sizeof *r->index_id)) == NULL) {
		fprintf(stderr, "postern replay: out of memory\n");
		return EX_OSERR;
	}
	r->nindex = pst_policy_rule_count(r->policy);
	for (size_t i = 0; i < r->nindex; i++) {
		pst_rule_info info;
		r->index_id[i] = pst_policy_rule(r->policy, i, &info) == 0 ? rule_id(&r->rules, info.name) : -1;
	}
	if (a->dns) {
		char *errors = NULL;
		if (pst_dns_load_fixture(a->dns, &r->dns, &errors) < 0) {
			fprintf(stderr, "%s", errors ? errors : "postern replay: cannot load the DNS fixture\n");
			free(errors);
			return EX_DATAERR;
		}
		a->opts.dns = r->dns;
	}
	for (size_t i = 0; i < a->ncorpora; i++) {
		char err[512] = "";
		if (pst_corpus_add(&r->corpus, a->corpora[i], err, sizeof err) < 0) {
			fprintf(stderr, "postern replay: %s\n", err);
			return EX_NOINPUT;
		}
	}
	pst_corpus_sort(&r->corpus);
	r->time_every = r->corpus.n <= REPLAY_TIME_ALL ? 1 : REPLAY_TIME_SAMPLE;
	r->res = calloc(r->corpus.n + 1, sizeof *r->res);
	if (r->res == NULL) {
		fprintf(stderr, "postern replay: out of memory\n");
		return EX_OSERR;
	}
	return 0;
}

static int report(struct replay *r, struct worker *ws, long jobs, double seconds, double cpu)
{
	struct totals t = { .seconds = seconds, .cpu_seconds = cpu, .jobs = jobs };
	t.per_rule = calloc(r->rules.n + 1, sizeof *t.per_rule);
	t.matched = calloc(r->rules.n + 1, 1);
	t.rule_nsec = calloc(r->rules.n + 1, sizeof *t.rule_nsec);
	t.rule_evals = calloc(r->rules.n + 1, sizeof *t.rule_evals);
	int rc = t.per_rule && t.matched && t.rule_nsec && t.rule_evals ? 0 : -1;
	if (rc == 0) {
		merge_workers(ws, jobs, &t, r->rules.n);
		slow_rules(r, &t);
	}
	if (rc == 0) {
		sum_up(r, &t);
		if (r->a->json)
			rc = print_json(r, &t);
		else
			print_text(r, &t);
	}
	free(t.per_rule);
	free(t.matched);
	free(t.rule_nsec);
	free(t.rule_evals);
	if (rc < 0)
		fprintf(stderr, "postern replay: out of memory\n");
	return rc < 0 ? EX_OSERR : 0;
}

static int run_replay(struct replay *r)
{
	int rc = load_inputs(r);
	if (rc != 0)
		return rc;
	long jobs = r->a->jobs;
	if ((size_t)jobs > r->corpus.n)
		jobs = r->corpus.n ? (long)r->corpus.n : 1;
	struct worker *ws = calloc((size_t)jobs, sizeof *ws);
	if (ws == NULL)
		return EX_OSERR;
	for (long j = 0; j < jobs && rc == 0; j++) {
		ws[j].r = r;
		ws[j].reader = (pst_corpus_reader)PST_CORPUS_READER_INIT;
		if ((ws[j].matched = calloc(r->rules.n + 1, 1)) == NULL ||
		    (ws[j].rule_nsec = calloc(r->rules.n + 1, sizeof *ws[j].rule_nsec)) == NULL ||
		    (ws[j].rule_evals = calloc(r->rules.n + 1, sizeof *ws[j].rule_evals)) == NULL)
			rc = EX_OSERR;
	}
	if (rc == 0) {
		double t0 = now_usec(), c0 = cpu_usec();
		if (run_pass(r, ws, jobs) < 0) {
			fprintf(stderr, "postern replay: out of memory\n");
			rc = EX_OSERR;
		} else {
			rc = report(r, ws, jobs, (now_usec() - t0) / 1e6, (cpu_usec() - c0) / 1e6);
		}
	}
	for (long j = 0; j < jobs; j++) {
		free(ws[j].matched);
		free(ws[j].rule_nsec);
		free(ws[j].rule_evals);
		pst_corpus_reader_free(&ws[j].reader);
	}
	free(ws);
	return rc;
}

static void free_replay(struct replay *r)
{
	for (size_t i = 0; r->res && i < r->corpus.n; i++) {
		for (size_t k = 0; k < r->res[i].n; k++) {
			free(r->res[i].r[k].addr);
			free(r->res[i].r[k].audit_json);
			free(r->res[i].r[k].audit_text);
		}
		free(r->res[i].r);
		free(r->res[i].error);
	}
	free(r->res);
	free(r->index_id);
	free_rules(&r->rules);
	free_rules(&r->old_rules);
	pst_corpus_free(&r->corpus);
	pst_dns_free(&r->dns);
	pst_policy_free(&r->policy);
	pst_policy_free(&r->base);
}

int pst_cli_replay(int argc, char **argv)
{
	struct replay_args *a = calloc(1, sizeof *a);
	if (a == NULL)
		return EX_OSERR;
	int rc = parse_replay_args(argc, argv, a);
	if (rc != 0) {
		free(a);
		return rc > 0 ? 0 : EX_USAGE;
	}
	struct replay r = { .a = a, .corpus = PST_CORPUS_INIT };
	if (a->received_by)
		snprintf(r.own_host, sizeof r.own_host, "%s", a->received_by);
	else if (gethostname(r.own_host, sizeof r.own_host - 1) < 0)
		r.own_host[0] = '\0';
	rc = run_replay(&r);
	free_replay(&r);
	free(a);
	return rc;
}
