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

/* The audit-mode rules that matched for recipient i (0-based) and what
 * each would have done, after pst_message_evaluate: append the JSON array
 * of postern-json(5) recipients[].audit_rules (one line; "[]" for none or
 * an index out of range). The check report, the LMTP log line and the
 * replay report all write it with this. 0 / -1 on ENOMEM. */
int pst_report_audit_json(struct pst_message *m, size_t i, pst_buf *out);

/* The same as text: per rule a line "INDENTaudit: RULE matched (not
 * enforced)", with ": would DECISION CODE ENH \"TEXT\"" when it would
 * have decided (and " (applied after queue: X)" when that differs), then
 * "INDENT  log: \"TEXT\"" and "INDENT  tag: NAME" lines. 0 / -1. */
int pst_report_audit_text(struct pst_message *m, size_t i, const char *indent, pst_buf *out);

#endif
