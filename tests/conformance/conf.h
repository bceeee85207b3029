/*
 * conf.h: helpers shared by the conformance tests of corpora under
 * $POSTERN_CORPORA: reading a TSV corpus file, and the list of expected
 * divergences (tests/conformance/dmarc-divergences.txt).
 *
 * A divergence line is "corpus<TAB>key<TAB>reason"; "#" lines are
 * comments. The key names one case (what it is depends on the corpus:
 * the input of a PSL vector, "kind:input" of a dmarc-cases row, the id of
 * a dmarc-scenarios row). A case that fails and is listed is an expected
 * divergence; one that fails unlisted fails the test; one that is listed
 * and passes is reported (the list should shrink) but does not fail.
 */
#ifndef PST_TEST_CONF_H
#define PST_TEST_CONF_H

#include <stddef.h>

typedef struct conf_divergences conf_divergences;

/* The corpus directory $POSTERN_CORPORA/name into buf; NULL when the
 * variable is unset or the directory is absent (the test then skips). */
const char *conf_corpus_dir(const char *name, char *buf, size_t len);

/* Read a whole file (NUL-terminated, malloc'd) or NULL. */
char *conf_read_file(const char *path, size_t *len);

/* Split a line in place at tabs into at most max fields; returns the count. */
size_t conf_split_tabs(char *line, char **fields, size_t max);

/* Load the divergences of corpus from $top_srcdir/tests/conformance/
 * dmarc-divergences.txt (an absent file is an empty list). */
conf_divergences *conf_divergences_load(const char *corpus);
/* The reason for key, or NULL when it is not listed. Marks it used. */
const char *conf_divergence(conf_divergences *d, const char *key);
/* Print "# listed but passed: key" for every listed key that was never
 * looked up as failing; returns how many. */
size_t conf_divergences_unused(const conf_divergences *d);
void conf_divergences_free(conf_divergences *d);

#endif
