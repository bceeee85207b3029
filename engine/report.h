/*
 * report.h: the reports of an evaluated message: the JSON object of postern-json(5)
 * and the human-readable text of "postern check".
 */
#ifndef PST_REPORT_H
#define PST_REPORT_H

#include "util/buf.h"

struct pst_message;

/* Append the JSON object (one line, no newline). 0 / -1 on ENOMEM. */
int pst_report_json(struct pst_message *m, pst_buf *out);

/* Append the text report. 0 / -1 on ENOMEM. */
int pst_report_text(struct pst_message *m, pst_buf *out);

#endif
