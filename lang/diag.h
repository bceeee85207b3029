/*
 * diag.h: diagnostics of one compile: errors and warnings with their place,
 * rendered the way compilers do:
 *
 *   site.rules:12:8: error: unknown fact 'client.hel'; did you mean 'client.helo'?
 *      12 |   when client.hel == "x"
 *         |        ^~~~~~~~~~
 *
 * One pst_diags collects every diagnostic of a compile (every file it
 * includes), in the order reported, up to PST_MAX_DIAGNOSTICS (then one
 * "too many errors" line). It keeps a copy of each source it was given so
 * it can print the offending line.
 */
#ifndef PST_DIAG_H
#define PST_DIAG_H

#include <stddef.h>

#include "util/buf.h"

typedef struct pst_diags pst_diags;

typedef enum pst_severity {
	PST_SEV_ERROR,
	PST_SEV_WARNING,
	PST_SEV_NOTE,
} pst_severity;

/* A new, empty collection; NULL on ENOMEM. Caller owns (pst_diags_free). */
pst_diags *pst_diags_new(void);
void pst_diags_free(pst_diags **d);

/* Register the text of a file (copied) so later diagnostics in it can show
 * its lines. 0 / -1 on ENOMEM. */
int pst_diags_add_source(pst_diags *d, const char *file, const char *text, size_t len);

/* Report a diagnostic at file:line:col (1-based; line 0 for the file as a
 * whole), underlining width columns (0 or 1: a caret). The message is
 * printf-style. Never fails visibly: on ENOMEM the diagnostic is counted
 * but its text is lost, and pst_diags_render ends with a line saying how
 * many were lost ("postern: out of memory: N diagnostics lost"). */
void pst_diags_report(pst_diags *d, pst_severity sev, const char *file, unsigned line,
                      unsigned col, unsigned width, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

size_t pst_diags_errors(const pst_diags *d);
size_t pst_diags_warnings(const pst_diags *d);

/* Append every diagnostic, rendered as above, to out. 0 / -1 on ENOMEM. */
int pst_diags_render(const pst_diags *d, pst_buf *out);

#endif
