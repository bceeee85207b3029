/*
 * json.h: the project's one JSON reader: "postern test" asserts with it on
 * the report of pst_message_json(), and the corpus tests read their
 * expectations with it (tests/unit/test_corpus_msg.c,
 * test_authres_corpus.c). RFC 8259 JSON of bounded depth, as a tree of
 * values looked up by key, index or paths such as "auth.dkim[0].domain".
 */
#ifndef PST_CLI_JSON_H
#define PST_CLI_JSON_H

#include <stddef.h>

typedef enum pst_jtype { PST_JNULL, PST_JBOOL, PST_JNUM, PST_JSTR, PST_JARR, PST_JOBJ } pst_jtype;

typedef struct pst_jval pst_jval;
struct pst_jval {
	pst_jtype type;
	char *key;                /* the member name inside an object, or NULL */
	char *text;               /* a string's value, a number's or literal's text */
	size_t len;               /* bytes of text (a string may hold NUL bytes) */
	pst_jval *kids;           /* array elements or object members */
	size_t nkids;
};

/* Parse len bytes. 0 and *out (pst_json_free), or -1 (bad JSON, ENOMEM). */
int pst_json_parse(const char *s, size_t len, pst_jval **out);
void pst_json_free(pst_jval **v);

/* The member key of an object, the element i of an array; NULL if none. */
const pst_jval *pst_json_get(const pst_jval *v, const char *key);
const pst_jval *pst_json_at(const pst_jval *v, size_t i);
/* The value at path ("a.b[2].c"), or NULL. */
const pst_jval *pst_json_path(const pst_jval *v, const char *path);
/* A scalar's text ("null", "true", "42", or a string's value); NULL for
 * arrays, objects and v == NULL. Borrowed. */
const char *pst_json_text(const pst_jval *v);

#endif
