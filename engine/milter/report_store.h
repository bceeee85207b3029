/*
 * report_store.h: --report-store of "postern milter"
 * (engine/milter/report_store.c): one row per message decided for good.
 */
#ifndef PST_MILTER_REPORT_STORE_H
#define PST_MILTER_REPORT_STORE_H

#include "postern.h"
#include "milter/decide.h"
#include "milter/milter.h"

/* In the worker, after the privileges are dropped: open conf->report_store
 * (nothing without one). 0, or -1 after printing why. */
int pst_milter_store_open(const pst_milter_conf *conf, const char *hostname);

/* pst_milter_txn.evaluated: the row of m (deciding is the recipient whose
 * verdict is the answer). Never blocks; nothing without a store. */
void pst_milter_store_message(void *arg, pst_message *m, size_t deciding,
                              const pst_milter_txn *txn);

/* The store's counters: 0, or -1 without a store. */
struct pst_store_stats;
int pst_milter_store_stats(struct pst_store_stats *out);

/* At exit, after the decisions: write what is queued (bounded), close. */
void pst_milter_store_close(void);

#endif
