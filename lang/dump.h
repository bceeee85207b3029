/*
 * dump.h: a compiled program as text, for audits and reviews ("postern
 * dump FILE"): the settings, the named lists, every rule (name, file:line,
 * tenant, mode) with its compiled condition and its actions (each as its
 * definition's dump hook writes it), and the rule index (which rules are
 * keyed by which fact or header and value, which are plain).
 *
 * The text is stable: the same program gives the same bytes (nothing that
 * depends on the platform, such as whether a regex was JIT-compiled, or on
 * addresses in memory).
 */
#ifndef PST_DUMP_H
#define PST_DUMP_H

#include "lang/program.h"
#include "util/buf.h"

/* Append the dump of prog to out. 0, or -1 on ENOMEM (out then holds part
 * of it; the caller frees out either way). */
int pst_program_dump(const pst_program *prog, pst_buf *out);

#endif
