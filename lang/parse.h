/*
 * parse.h: what the scanner (lexer.l), the parser (parser.y) and the parse
 * driver (ast.c) share: the state of parsing one file. Private to lang/.
 */
#ifndef PST_PARSE_H
#define PST_PARSE_H

#include <setjmp.h>

#include "lang/ast.h"
#include "util/buf.h"

typedef struct pst_parse_ctx {
	pst_ast *ast;
	const char *file;             /* in the arena */
	const char *dir;              /* its directory, for include and list files */
	/* scanner position */
	unsigned line, col;
	/* the string literal being scanned */
	pst_buf sbuf;                 /* decoded text */
	pst_buf piece;                /* the current literal piece */
	unsigned piece_line, piece_col;
	pst_ast_part *parts, **ptail;
	size_t nparts, nfacts;
	unsigned crlf_line, crlf_col;
	int too_long;
	pst_ast_loc sloc;
	/* the regex literal being scanned */
	pst_buf rbuf;
	pst_ast_loc rloc;
	/* where the scanner's fatal (out-of-memory) errors unwind to */
	jmp_buf *fatal;
	int tracking;                 /* record the scanner's blocks (lexer.l) */
	void *tracked[8];
	size_t ntracked;
} pst_parse_ctx;

/* The scanner (lexer.l). */
int pst_lex_init(pst_parse_ctx *ctx, const char *text, size_t len, void **scanner);
void pst_lex_destroy(void *scanner);

/* The parser (parser.y). 0, or nonzero after a syntax error it could not
 * recover from (already reported). */
int pst_parse_run(pst_parse_ctx *ctx, void *scanner);

/* Report an error at a location of the file being parsed. */
void pst_parse_error(pst_parse_ctx *ctx, const pst_ast_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
