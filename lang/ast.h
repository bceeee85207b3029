/*
 * ast.h: the syntax tree of a rule file, as the parser builds it and the
 * checker annotates it; the compiler (compile.c) turns it into a program
 * (program.h). The tree and the program are separate types.
 *
 * Memory: every node lives in the arena of its pst_ast; nothing is freed
 * one by one. The only other resources are compiled regexes, which the
 * checker stores in pst_ast_regex.code and pst_ast_free() releases unless
 * the compiler took them (it sets code to NULL).
 *
 * Flow: pst_ast_new(), pst_ast_parse_file() or pst_ast_parse_text() (which
 * follow include statements as they are parsed, so rules keep file order),
 * pst_check() (check.c), then the compiler.
 */
#ifndef PST_AST_H
#define PST_AST_H

#include <stddef.h>

#include "lang/diag.h"
#include "lang/program.h"
#include "util/arena.h"
#include "util/ip.h"
#include "util/limits.h"

/* A place in a file; columns are 1-based bytes. The field names are the
 * ones bison's default location code expects. */
typedef struct pst_ast_loc {
	unsigned first_line, first_column;
	unsigned last_line, last_column;
} pst_ast_loc;

/* The caret width for a location (at least 1). */
unsigned pst_ast_loc_width(const pst_ast_loc *l);

/* A word as written: an identifier, IP text, enhanced code. */
typedef struct pst_ast_word {
	const char *s;                /* NUL-terminated copy, NULL when absent */
	size_t len;
	pst_ast_loc loc;
} pst_ast_word;

/* A piece of a string literal: literal bytes, a ${fact}, or a regex
 * capture $N / ${N} (group >= 0; text is the capture as written). */
typedef struct pst_ast_part {
	struct pst_ast_part *next;
	int is_fact;
	const char *text;             /* decoded bytes, or the fact name */
	size_t len;
	unsigned line, col;           /* where the piece starts ("${" for a fact) */
	int fact;                     /* checker: the resolved fact, or -1 */
	int group;                    /* a capture: N of $N (0-9); -1 otherwise */
} pst_ast_part;

typedef struct pst_ast_str {
	const char *s;                /* decoded text with ${name} left as written */
	size_t len;
	pst_ast_part *parts;
	size_t nparts, nfacts;
	unsigned crlf_line, crlf_col; /* first CR or LF in the text (0: none) */
	pst_ast_loc loc;
} pst_ast_str;

typedef struct pst_ast_regex {
	struct pst_ast_regex *all_next; /* every regex of the tree, for cleanup */
	const char *pattern;
	size_t len;
	const char *flags;
	unsigned line, pat_col, flags_col;
	pst_ast_loc loc;
	void *code;                   /* checker: pcre2_code_8 * */
	int subst;                    /* checker: substitute's: takes the g flag */
} pst_ast_regex;

typedef enum pst_ast_value_kind {
	PST_AV_STRING,
	PST_AV_NUMBER,
	PST_AV_WORD,                  /* a bare word: pass, reject, true, a.example */
	PST_AV_IP,                    /* an address or CIDR block as written */
} pst_ast_value_kind;

/* A literal: the right side of a test, a list item, a setting's value. */
typedef struct pst_ast_value {
	struct pst_ast_value *next;
	pst_ast_value_kind kind;
	pst_ast_str *str;             /* STRING */
	pst_ast_word word;            /* WORD, IP (and the text of a NUMBER) */
	long long n;                  /* NUMBER */
	pst_ast_loc loc;
	/* checker: */
	const char *norm;             /* a domain item, normalised */
	pst_cidr cidr;                /* an IP item */
} pst_ast_value;

typedef struct pst_ast_list {
	struct pst_ast_list *next;
	pst_ast_word name;            /* s NULL: an inline { ... } list */
	pst_ast_word kind_word;       /* domains | ips | strings */
	const char *file;             /* where it was written */
	pst_ast_value *items;
	pst_ast_str *path;            /* list NAME = KIND file "path" */
	const char *dir;              /* directory of the declaring file */
	const char *items_file;       /* the file the items come from */
	pst_ast_loc loc;
	/* checker: */
	int ok;                       /* kind known and items valid */
	pst_list_kind kind;
	size_t nitems;
	/* compiler: */
	const pst_list *compiled;
} pst_ast_list;

typedef struct pst_ast_operand {
	pst_operand_kind kind;
	pst_ast_word fact;            /* PST_OPND_FACT */
	pst_ast_str *header;          /* PST_OPND_HEADER, PST_OPND_COUNT */
	pst_quant quant;
	pst_ast_loc loc;
} pst_ast_operand;

typedef enum pst_ast_expr_kind {
	PST_AX_TRUE,
	PST_AX_FALSE,
	PST_AX_AND,
	PST_AX_OR,
	PST_AX_NOT,
	PST_AX_TEST,
	PST_AX_ERROR,                 /* too deep, already reported */
} pst_ast_expr_kind;

typedef struct pst_ast_expr {
	pst_ast_expr_kind kind;
	struct pst_ast_expr *a, *b;
	unsigned depth;               /* 1 for a leaf; bounded at parse time */
	pst_ast_operand lhs;
	pst_cmp cmp;
	pst_ast_value *rhs;           /* a literal */
	pst_ast_word listref;         /* in NAME */
	pst_ast_list *inl;            /* in { ... } */
	pst_ast_regex *re;            /* matches /re/ */
	pst_ast_loc loc, oploc;
	/* checker: */
	int fact;                     /* resolved fact, or -1 */
	pst_type type;                /* the operand's type */
	pst_literal lit;              /* the converted literal */
	pst_ast_list *list;           /* the list for IN */
	int rfact;                    /* a fact on the right (the bare word of
	                               * rhs, or listref for IN), or -1 */
	pst_ast_word rword;           /* that word, as written */
} pst_ast_expr;

typedef struct pst_ast_action {
	struct pst_ast_action *next;
	pst_action_kind kind;         /* its definition (lang/action.h); for a
	                               * word with targets (set, prepend) the
	                               * checker resolves target to the kind */
	int has_code;
	long long code;
	pst_ast_loc code_loc;
	pst_ast_word enhanced;
	pst_ast_str *name;            /* header name, folder, tag */
	pst_ast_str *value;           /* header value, reply or log text, ... */
	pst_ast_word target;          /* set TARGET / prepend TARGET */
	pst_ast_regex *re;            /* remove header ... matching /re/; substitute */
	pst_ast_loc loc;
} pst_ast_action;

/* An option written after a rule's name or a tenant's domain, as written:
 * "mode audit", "after-queue-reject quarantine". The checker reads them
 * (unknown names and values, duplicates). */
typedef struct pst_ast_option {
	struct pst_ast_option *next;
	pst_ast_word name;
	pst_ast_word value;
} pst_ast_option;

typedef struct pst_ast_tenant {
	pst_ast_str *domain;
	pst_ast_option *options;
	const char *file;
	pst_ast_loc loc;
	/* checker: */
	const char *norm;
	int audit;
	int has_aqr;                  /* after-queue-reject given: aqr */
	pst_aqr aqr;
} pst_ast_tenant;

typedef struct pst_ast_rule {
	struct pst_ast_rule *next;
	pst_ast_word name;
	pst_ast_option *options;
	pst_ast_tenant *tenant;
	pst_ast_expr *when;
	pst_ast_action *actions;
	const char *file;
	pst_ast_loc loc;
	/* checker: */
	int audit;
	int has_aqr;                  /* after-queue-reject on the rule or its
	                               * tenant (the rule's wins): aqr */
	pst_aqr aqr;
} pst_ast_rule;

typedef struct pst_ast_setting {
	struct pst_ast_setting *next;
	pst_ast_word name;
	pst_ast_value *value;
	const char *file;
	pst_ast_loc loc;
} pst_ast_setting;

typedef struct pst_ast {
	pst_arena *arena;             /* borrowed: the caller's (see pst_ast_new) */
	pst_diags *diags;             /* borrowed */
	pst_ast_setting *settings, **settings_tail;
	pst_ast_list *lists, **lists_tail;
	pst_ast_rule *rules, **rules_tail;
	size_t nrules;
	pst_ast_regex *regexes;
	/* the include stack while parsing: */
	const char *stack[PST_MAX_INCLUDE_DEPTH + 1];
	char *real[PST_MAX_INCLUDE_DEPTH + 1];  /* their real paths (malloc'd) */
	unsigned depth;
	pst_ast_tenant *cur_tenant;
	size_t nincludes;             /* include statements followed */
	/* checker: the settings, defaults filled in */
	pst_settings settings_out;
	int oom;                      /* an allocation failed: the tree is partial */
} pst_ast;

/* A new, empty tree allocating from arena (borrowed: it must outlive the
 * tree) and reporting to diags. NULL on ENOMEM. Free with pst_ast_free. */
pst_ast *pst_ast_new(pst_arena *arena, pst_diags *diags);
/* Release the regexes the compiler did not take. The arena is the caller's. */
void pst_ast_free(pst_ast **ast);

/* Parse a file (errors go to the diags; includes are followed). 0, or -1
 * when the file could not be read (reported). Syntax errors are reported and
 * the tree holds what could be parsed; check pst_diags_errors(). */
int pst_ast_parse_file(pst_ast *ast, const char *path);
/* The same for text in memory; basedir (NULL: ".") resolves includes. */
int pst_ast_parse_text(pst_ast *ast, const char *name, const char *text, size_t len,
                       const char *basedir);

/* ---- Building (the parser's actions) ---------------------------------- */

/* An include statement: parse the file now (relative to dir of the file
 * being parsed), reporting a cycle or the depth limit at loc. */
void pst_ast_include(pst_ast *ast, const char *from_file, const char *dir,
                     const pst_ast_str *path, const pst_ast_loc *loc);

pst_ast_expr *pst_ast_expr_new(pst_ast *ast, pst_ast_expr_kind kind, const pst_ast_loc *loc);
/* An and/or/not node over a and b (b NULL for not); checks the depth bound
 * (reported once at the node that crosses it, which becomes PST_AX_ERROR). */
pst_ast_expr *pst_ast_expr_op(pst_ast *ast, const char *file, pst_ast_expr_kind kind,
                              pst_ast_expr *a, pst_ast_expr *b, const pst_ast_loc *loc);

/* Read a whole file (at most PST_MAX_RULE_FILE_BYTES) into a malloc'd
 * buffer the caller frees. 0, or -1 with a message in why. Only a regular
 * file is read: a FIFO, device, socket or directory is refused at once,
 * never waited on. */
int pst_ast_read_file(const char *path, char **out, size_t *len, char *why, size_t whylen);

/* Zeroed arena memory; strings copied into the arena. On ENOMEM they
 * return NULL and set ast->oom, so the checker refuses a partial tree. */
void *pst_ast_alloc(pst_ast *ast, size_t n);
char *pst_ast_strndup(pst_ast *ast, const char *s, size_t n);
char *pst_ast_strdup(pst_ast *ast, const char *s);

/* The directory part of a path, in the arena ("." when there is none). */
const char *pst_ast_dirname(pst_ast *ast, const char *path);
/* path joined to dir unless it is absolute, in the arena. */
const char *pst_ast_join(pst_ast *ast, const char *dir, const char *path);

/* ---- Checking (check.c) ----------------------------------------------- */

/* Resolve and check the whole tree, reporting every error and warning to
 * ast->diags, reading list files. 0 when there were no errors, else -1. */
int pst_check(pst_ast *ast);

#endif
