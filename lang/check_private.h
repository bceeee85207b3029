/*
 * check_private.h: what the checker's files share (check.c: names, types,
 * conditions, lists, rules; check_settings.c: the settings table;
 * check_actions.c: the actions, driven by their definitions). Private to lang/.
 */
#ifndef PST_CHECK_PRIVATE_H
#define PST_CHECK_PRIVATE_H

#include <stddef.h>

#include "lang/ast.h"
#include "lang/diag.h"

/* Names to entries: a small open-addressing hash map (check.c). */
struct map_ent {
	const char *key;
	void *val;
};

struct map {
	struct map_ent *e;
	size_t n, cap;
};

/* The checker's state, for one pst_check() run. */
struct checker {
	pst_ast *ast;
	pst_diags *d;
	struct map lists;             /* name -> pst_ast_list */
	struct map rules;             /* name -> pst_ast_rule */
	const char **list_names;      /* for did-you-mean */
	size_t nlist_names;
	const char *fact_names[PST_F__COUNT + 1];
	/* The regex captures a template's $N names (pst_chk_template): the
	 * rule condition's matches tests' (pst_chk_rule_groups), or a
	 * substitute's own regex's while its replacement is checked. */
	int groups;                   /* its highest group; -1: no regex */
	int groups_negated;           /* the condition's matches under 'not':
	                               * their highest group; -1: none */
	int groups_subst;             /* 1: the substitute regex's */
};

/* Where a text goes, for the CR/LF rule and the messages. */
enum text_use {
	TEXT_PLAIN,                   /* a comparison or a log line */
	TEXT_HEADER,                  /* a header field value */
	TEXT_REPLY,                   /* an SMTP reply text */
};

/* Report at a location (width from it) or at line:col. */
void pst_chk_err(struct checker *c, const char *file, const pst_ast_loc *l, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void pst_chk_warn(struct checker *c, const char *file, const pst_ast_loc *l, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void pst_chk_err_at(struct checker *c, const char *file, unsigned line, unsigned col,
                    unsigned width, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* "; did you mean 'x'?" for word among cands, or "". Thread-local storage,
 * valid until the next call. */
const char *pst_chk_dym(const char *word, size_t n, const char *const *cands, size_t ncands);
/* word's index in a NULL-terminated table, or -1; the table's size. */
int pst_chk_name_index(const char *const *names, const char *word);
size_t pst_chk_name_count(const char *const *names);

/* A text taking no ${...} (what: "a header field name"): 0, or -1 reported. */
int pst_chk_plain_text(struct checker *c, const char *file, const pst_ast_str *s, const char *what);
/* Resolve a template's facts; refuse CR/LF for header and reply texts, and
 * a capture $N beyond c->groups. */
void pst_chk_template(struct checker *c, const char *file, pst_ast_str *s, enum text_use use);
/* A header field name: printable ASCII without ':'. 0, or -1 reported. */
int pst_chk_header_name(struct checker *c, const char *file, const pst_ast_str *s);
/* Compile a regex (re->code), reporting PCRE2's message at its column. */
void pst_chk_regex(struct checker *c, const char *file, pst_ast_regex *re);
/* The capture groups of a compiled regex; -1 when it did not compile. */
int pst_chk_regex_groups(const pst_ast_regex *re);
/* c->groups and c->groups_negated for rule condition e (checked). */
void pst_chk_rule_groups(struct checker *c, const pst_ast_expr *e);

/* The settings into ast->settings_out (check_settings.c). */
void pst_chk_settings(struct checker *c);
/* An after-queue-reject word (the setting's, a rule's or a tenant's
 * option) into *out: 0, or -1 reported at w with a did-you-mean. */
int pst_chk_aqr(struct checker *c, const char *file, const pst_ast_word *w, pst_aqr *out);
/* A rule's actions; returns its first terminal action (check_actions.c). */
const pst_ast_action *pst_chk_actions(struct checker *c, pst_ast_rule *r);

#endif
