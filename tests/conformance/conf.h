/*
 * conf.h: the one conformance harness. Every test over a corpus of
 * $POSTERN_CORPORA (SPF, DKIM, DMARC, PSL, Authentication-Results,
 * messages) finds its corpus, reads it, and judges each case through
 * these functions, against the one list of expected divergences,
 * tests/conformance/divergences.txt.
 *
 * The list: one line per divergence, four fields separated by TABs,
 *
 *     CORPUS<TAB>CASE<TAB>OURS<TAB>WHY
 *
 * CORPUS names a run (the name its count line prints), CASE the case
 * exactly as the run prints it, OURS says what postern does, WHY why that
 * is right (or where the corpus is wrong). Lines starting with '#' and
 * blank lines are comments. A line with another number of fields, an
 * empty field, or a CORPUS/CASE pair listed twice is an error.
 *
 * A run (conf_run_begin .. conf_run_end) fails on
 *   (a) a case that disagrees and is not listed ("MISMATCH"),
 *   (b) a listed case that agrees, or that the corpus no longer has
 *       ("STALE"), and
 *   (c) a malformed line of the list for its corpus ("BAD LIST LINE");
 * each printed on its own "# " line, and prints its counts as
 *     "# CORPUS: N/M agree (K listed divergences)".
 *
 * A missing corpus is skipped, never passed: conf_corpus_require() prints
 * why and calls cmocka's skip() (tests/cmocka-tap.sh turns that into a
 * TAP "ok # SKIP"). The corpora are found through $POSTERN_CORPORA, which
 * make check sets (Makefile.am) unless it is set already.
 *
 * Test code: exits (abort) on ENOMEM.
 */
#ifndef PST_TEST_CONF_H
#define PST_TEST_CONF_H

#include <stddef.h>

typedef struct conf_run conf_run;

/* The corpus directory $POSTERN_CORPORA/name into buf; NULL when the
 * variable is unset or the directory is absent. */
const char *conf_corpus_dir(const char *name, char *buf, size_t len);

/* The corpus directory, as conf_corpus_dir; when it is missing, print
 * "# SKIP name: ..." with the reason and skip the calling cmocka test
 * (does not return). */
const char *conf_corpus_require(const char *name, char *buf, size_t len);

/* Read a whole file (NUL-terminated, malloc'd, caller frees) or NULL. */
char *conf_read_file(const char *path, size_t *len);

/* Split a line in place at tabs into at most max fields; returns the count. */
size_t conf_split_tabs(char *line, char **fields, size_t max);

/* Begin a run over corpus, judged against the list at
 * $top_srcdir/tests/conformance/divergences.txt (make check exports
 * top_srcdir; "." otherwise). A list that cannot be read fails the run. */
conf_run *conf_run_begin(const char *corpus);

/* The same against the list at path (tests of the harness itself). */
conf_run *conf_run_begin_list(const char *corpus, const char *path);

/* One case: id as listed, whether ours agrees with the corpus, and when it
 * does not, detail (what differs, "got X, want Y"; may be NULL). Prints a
 * line for every disagreement and every stale listing. */
void conf_case(conf_run *r, const char *id, int agrees, const char *detail);

/* Whether id is listed for this run (it does not mark it seen). */
int conf_listed(const conf_run *r, const char *id);

/* End the run: report listed cases the run never met (stale), print the
 * count line, free r. Returns the number of failures (mismatches, stale
 * listings and malformed list lines); 0 means the run passed. */
size_t conf_run_end(conf_run *r);

/* The counts of a run, for callers that check them (before conf_run_end). */
size_t conf_run_agree(const conf_run *r);
size_t conf_run_total(const conf_run *r);
size_t conf_run_listed(const conf_run *r);

#endif
