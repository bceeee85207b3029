/*
 * metrics_http.h: the Prometheus endpoint's HTTP side (metrics_http.c),
 * apart from what it serves: postern lmtp --metrics (metrics.c) and
 * postern milter --metrics (milter/metrics.c) each give a render callback.
 * Not installed.
 */
#ifndef PST_LMTP_METRICS_HTTP_H
#define PST_LMTP_METRICS_HTTP_H

#include "util/buf.h"

typedef struct pst_metrics_http pst_metrics_http;

/* Append the whole exposition text to b: 0, or -1 (the scrape gets 500). */
typedef int (*pst_metrics_render_fn)(void *arg, pst_buf *b);

/* An endpoint on fd (listening, nonblocking; taken: closed at stop, and
 * unix_path, when not NULL, unlinked then) answering with render(arg).
 * prog names the program in messages. 0 with *out (pst_metrics_http_stop),
 * or -1 after printing why (fd is closed). No thread yet. */
int pst_metrics_http_new(int fd, const char *unix_path, pst_metrics_render_fn render, void *arg,
                         const char *prog, pst_metrics_http **out);

/* Start the thread that answers scrapes: 0, or -1 after printing why.
 * Call with the signals the process handles blocked (the thread inherits
 * the mask). */
int pst_metrics_http_start(pst_metrics_http *m);

/* Stop the thread (a scrape in progress ends within its timeout), close
 * the socket (and unlink a Unix one), free *m; *m becomes NULL. NULL-safe. */
void pst_metrics_http_stop(pst_metrics_http **m);

/* The exposition text's pieces: "# HELP" and "# TYPE" of a family; a
 * family of one sample without labels. */
void pst_metrics_family(pst_buf *b, const char *name, const char *type, const char *help);
void pst_metrics_one(pst_buf *b, const char *name, const char *type, const char *help,
                     unsigned long long v);

struct pst_store_stats;
/* The report store's families (--report-store of lmtp and milter):
 * postern_report_store_rows_total{result} and postern_report_store_queued. */
void pst_metrics_store(pst_buf *b, const struct pst_store_stats *st);

#endif
