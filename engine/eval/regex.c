/*
 * regex.c: matching a compiled regex; see regex.h for the contract.
 *
 * The state per thread sits behind a pthread key whose destructor frees
 * it; pthread_once makes the key. A JIT-compiled pattern goes straight to
 * pcre2_jit_match, which skips pcre2_match's checks (patterns are compiled
 * with MATCH_INVALID_UTF, so there is no UTF check to skip) and honours
 * the same match limit, set in the context before each match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "eval/regex.h"

struct pst_regex_state {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

static pthread_key_t regex_key;
static int regex_key_made;
static pthread_once_t regex_once = PTHREAD_ONCE_INIT;

static void state_free(void *p)
{
	pst_regex_state *t = p;

	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	free(t);
}

static void key_make(void)
{
	regex_key_made = pthread_key_create(&regex_key, state_free) == 0;
}

pst_regex_state *pst_regex_thread_state(void)
{
	pst_regex_state *t;

	if (pthread_once(&regex_once, key_make) != 0 || !regex_key_made)
		return NULL;
	if ((t = pthread_getspecific(regex_key)) != NULL)
		return t;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->md = pcre2_match_data_create(PST_REGEX_GROUPS, NULL);
	t->mctx = pcre2_match_context_create(NULL);
	if (t->md == NULL || t->mctx == NULL || pthread_setspecific(regex_key, t) != 0) {
		state_free(t);
		return NULL;
	}
	return t;
}

static int match_from(pst_regex_state *st, const pst_regex *re, uint32_t limit,
                      const char *p, size_t n, size_t offset, int *err)
{
	const pcre2_code *code = re->code;
	PCRE2_SPTR s = (PCRE2_SPTR)(p ? p : "");
	pcre2_set_match_limit(st->mctx, limit);
	int rc = re->jit ? pcre2_jit_match(code, s, n, offset, 0, st->md, st->mctx)
	                 : pcre2_match(code, s, n, offset, 0, st->md, st->mctx);
	if (rc >= 0)
		return 1;       /* 0: matched, ovector too small for the groups */
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	*err = rc;
	return -1;
}

int pst_regex_match(pst_regex_state *st, const pst_regex *re, uint32_t limit,
                    const char *p, size_t n, int *err)
{
	if (st == NULL && (st = pst_regex_thread_state()) == NULL) {
		*err = PCRE2_ERROR_NOMEMORY;
		return -1;
	}
	return match_from(st, re, limit, p, n, 0, err);
}

int pst_regex_match_groups(pst_regex_state *st, const pst_regex *re, uint32_t limit,
                           const char *p, size_t n, size_t offset, pst_regex_groups *g,
                           int *err)
{
	if (st == NULL && (st = pst_regex_thread_state()) == NULL) {
		*err = PCRE2_ERROR_NOMEMORY;
		return -1;
	}
	int rc = match_from(st, re, limit, p, n, offset, err);
	if (rc != 1)
		return rc;
	const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
	uint32_t pairs = pcre2_get_ovector_count(st->md);
	uint32_t groups = 0;
	if (pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &groups) != 0)
		groups = 0;
	for (uint32_t i = 0; i < PST_REGEX_GROUPS; i++) {
		int set = i < pairs && i <= groups && ov[2 * i] != PCRE2_UNSET;
		g->start[i] = set ? ov[2 * i] : SIZE_MAX;
		g->end[i] = set ? ov[2 * i + 1] : SIZE_MAX;
	}
	return 1;
}
