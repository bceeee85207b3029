/*
 * ast.c: the syntax tree (ast.h): building it, and the parse driver that
 * reads a file, runs the scanner and the parser over it, and follows
 * include statements as the parser meets them (so the included rules land
 * where the include was written).
 *
 * Includes: paths are relative to the including file. The stack of files
 * being parsed (by real path) detects cycles, reported with the whole chain;
 * nesting deeper than PST_MAX_INCLUDE_DEPTH is an error at the include.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lang/ast.h"
#include "lang/parse.h"
#include "util/buf.h"
#include "util/limits.h"

unsigned pst_ast_loc_width(const pst_ast_loc *l)
{
	if (l->last_line == l->first_line && l->last_column >= l->first_column)
		return l->last_column - l->first_column + 1;
	return 1;
}

pst_ast *pst_ast_new(pst_arena *arena, pst_diags *diags)
{
	pst_ast *ast = pst_arena_calloc(arena, 1, sizeof *ast);
	if (ast == NULL)
		return NULL;
	ast->arena = arena;
	ast->diags = diags;
	ast->settings_tail = &ast->settings;
	ast->lists_tail = &ast->lists;
	ast->rules_tail = &ast->rules;
	return ast;
}

void pst_ast_free(pst_ast **astp)
{
	if (astp == NULL || *astp == NULL)
		return;
	for (pst_ast_regex *r = (*astp)->regexes; r; r = r->all_next) {
		pcre2_code_free(r->code);
		r->code = NULL;
	}
	*astp = NULL;
}

void *pst_ast_alloc(pst_ast *ast, size_t n)
{
	void *p = pst_arena_calloc(ast->arena, 1, n);
	if (p == NULL)
		ast->oom = 1;
	return p;
}

char *pst_ast_strndup(pst_ast *ast, const char *s, size_t n)
{
	char *p = pst_arena_strndup(ast->arena, s, n);
	if (p == NULL)
		ast->oom = 1;
	return p;
}

char *pst_ast_strdup(pst_ast *ast, const char *s)
{
	return pst_ast_strndup(ast, s, strlen(s));
}

void pst_parse_error(pst_parse_ctx *ctx, const pst_ast_loc *loc, const char *fmt, ...)
{
	pst_buf b = PST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = pst_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	pst_diags_report(ctx->ast->diags, PST_SEV_ERROR, ctx->file, loc->first_line,
	                 loc->first_column, pst_ast_loc_width(loc), "%s",
	                 rc == 0 ? pst_buf_str(&b) : "out of memory");
	pst_buf_free(&b);
}

const char *pst_ast_dirname(pst_ast *ast, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return ".";
	if (slash == path)
		return "/";
	return pst_ast_strndup(ast, path, (size_t)(slash - path));
}

const char *pst_ast_join(pst_ast *ast, const char *dir, const char *path)
{
	if (path[0] == '/' || dir == NULL || strcmp(dir, ".") == 0)
		return pst_ast_strdup(ast, path);
	size_t dn = strlen(dir), pn = strlen(path);
	char *s = pst_ast_alloc(ast, dn + pn + 2);
	if (s == NULL)
		return NULL;
	memcpy(s, dir, dn);
	s[dn] = '/';
	memcpy(s + dn + 1, path, pn + 1);
	return s;
}

/* Parse text as file, whose includes resolve against dir. */
static void parse_text(pst_ast *ast, const char *file, const char *text, size_t len,
                       const char *dir)
{
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;            /* a UTF-8 byte order mark is not part of the rules */
		len -= 3;
	}
	pst_parse_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.ast = ast;
	ctx.file = file;
	ctx.dir = dir;
	if (pst_diags_add_source(ast->diags, file, text, len) < 0) {
		pst_diags_report(ast->diags, PST_SEV_ERROR, file, 0, 0, 0, "out of memory");
		return;
	}
	void *scanner;
	if (pst_lex_init(&ctx, text, len, &scanner) < 0) {
		pst_diags_report(ast->diags, PST_SEV_ERROR, file, 0, 0, 0, "out of memory");
		return;
	}
	pst_ast_tenant *saved = ast->cur_tenant;
	ast->cur_tenant = NULL;
	pst_parse_run(&ctx, scanner);
	ast->cur_tenant = saved;
	pst_lex_destroy(scanner);
	pst_buf_free(&ctx.sbuf);
	pst_buf_free(&ctx.piece);
	pst_buf_free(&ctx.rbuf);
}

/* path opened for reading when it is a regular file: opened without
 * blocking (a FIFO with no writer would wait forever, and a reload runs on
 * the LMTP server's main thread), checked with fstat, then made blocking
 * again for the reads. NULL with why set. */
static FILE *open_regular(const char *path, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file (%s)",
		         S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory"
		         : S_ISCHR(st.st_mode) ? "a character device"
		         : S_ISSOCK(st.st_mode) ? "a socket" : "a special file");
		close(fd);
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	FILE *f = NULL;
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 || (f = fdopen(fd, "rb")) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

int pst_ast_read_file(const char *path, char **out, size_t *len, char *why, size_t whylen)
{
	FILE *f = open_regular(path, why, whylen);
	if (f == NULL)
		return -1;
	pst_buf b = PST_BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + n > PST_MAX_RULE_FILE_BYTES) {
			snprintf(why, whylen, "file larger than %d bytes", PST_MAX_RULE_FILE_BYTES);
			goto fail;
		}
		if (pst_buf_append(&b, chunk, n) < 0) {
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	fclose(f);
	*out = pst_buf_steal(&b, len);
	if (*out == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
fail:
	fclose(f);
	pst_buf_free(&b);
	return -1;
}

/* Parse the file at path (display name as given), reporting a failure to
 * read it at the include (file, loc) or for the file as a whole. */
static int parse_path(pst_ast *ast, const char *path, const char *from, const pst_ast_loc *loc)
{
	char *text;
	size_t len;
	char why[256];
	if (pst_ast_read_file(path, &text, &len, why, sizeof why) < 0) {
		if (from)
			pst_diags_report(ast->diags, PST_SEV_ERROR, from, loc->first_line,
			                 loc->first_column, pst_ast_loc_width(loc),
			                 "cannot read included file '%s': %s", path, why);
		else
			pst_diags_report(ast->diags, PST_SEV_ERROR, path, 0, 0, 0,
			                 "cannot read rule file: %s", why);
		return -1;
	}
	char *real = realpath(path, NULL);
	ast->stack[ast->depth] = path;
	ast->real[ast->depth] = real;
	ast->depth++;
	parse_text(ast, path, text, len, pst_ast_dirname(ast, path));
	ast->depth--;
	ast->real[ast->depth] = NULL;
	free(real);
	free(text);
	return 0;
}

int pst_ast_parse_file(pst_ast *ast, const char *path)
{
	const char *p = pst_ast_strdup(ast, path);
	if (p == NULL)
		return -1;
	return parse_path(ast, p, NULL, NULL);
}

int pst_ast_parse_text(pst_ast *ast, const char *name, const char *text, size_t len,
                       const char *basedir)
{
	const char *n = pst_ast_strdup(ast, name);
	const char *d = pst_ast_strdup(ast, basedir ? basedir : ".");
	if (n == NULL || d == NULL)
		return -1;
	if (len > PST_MAX_RULE_FILE_BYTES) {
		pst_diags_report(ast->diags, PST_SEV_ERROR, n, 0, 0, 0,
		                 "rule text larger than %d bytes", PST_MAX_RULE_FILE_BYTES);
		return -1;
	}
	ast->stack[ast->depth] = n;
	ast->real[ast->depth] = NULL;
	ast->depth++;
	parse_text(ast, n, text, len, d);
	ast->depth--;
	return 0;
}

void pst_ast_include(pst_ast *ast, const char *from_file, const char *dir,
                     const pst_ast_str *path, const pst_ast_loc *loc)
{
	const char *p = pst_ast_join(ast, dir, path->s);
	if (p == NULL)
		return;
	unsigned w = pst_ast_loc_width(loc);
	if (ast->depth >= PST_MAX_INCLUDE_DEPTH) {
		pst_diags_report(ast->diags, PST_SEV_ERROR, from_file, loc->first_line,
		                 loc->first_column, w, "includes nested deeper than %d files",
		                 PST_MAX_INCLUDE_DEPTH);
		return;
	}
	char *real = realpath(p, NULL);
	for (unsigned i = 0; real && i < ast->depth; i++) {
		if (ast->real[i] == NULL || strcmp(ast->real[i], real) != 0)
			continue;
		pst_buf chain = PST_BUF_INIT;
		for (unsigned j = i; j < ast->depth; j++)
			pst_buf_printf(&chain, "%s -> ", ast->stack[j]);
		pst_buf_puts(&chain, p);
		pst_diags_report(ast->diags, PST_SEV_ERROR, from_file, loc->first_line,
		                 loc->first_column, w, "include cycle: %s", pst_buf_str(&chain));
		pst_buf_free(&chain);
		free(real);
		return;
	}
	free(real);
	ast->nincludes++;
	parse_path(ast, p, from_file, loc);
}

pst_ast_expr *pst_ast_expr_new(pst_ast *ast, pst_ast_expr_kind kind, const pst_ast_loc *loc)
{
	pst_ast_expr *e = pst_ast_alloc(ast, sizeof *e);
	if (e == NULL)
		return NULL;
	e->kind = kind;
	e->depth = 1;
	e->loc = *loc;
	e->fact = -1;
	e->rfact = -1;
	return e;
}

pst_ast_expr *pst_ast_expr_op(pst_ast *ast, const char *file, pst_ast_expr_kind kind,
                              pst_ast_expr *a, pst_ast_expr *b, const pst_ast_loc *loc)
{
	if (a == NULL || (kind != PST_AX_NOT && b == NULL))
		return a ? a : b;
	pst_ast_expr *e = pst_ast_expr_new(ast, kind, loc);
	if (e == NULL)
		return NULL;
	unsigned d = a->depth;
	if (b && b->depth > d)
		d = b->depth;
	if (d > PST_MAX_EXPR_DEPTH) {
		/* A child already crossed the bound and was reported. */
		e->kind = PST_AX_ERROR;
		e->depth = PST_MAX_EXPR_DEPTH + 1;
		return e;
	}
	e->depth = d + 1;
	if (e->depth > PST_MAX_EXPR_DEPTH) {
		pst_diags_report(ast->diags, PST_SEV_ERROR, file, loc->first_line, loc->first_column,
		                 pst_ast_loc_width(loc), "condition nested deeper than %d levels",
		                 PST_MAX_EXPR_DEPTH);
		e->kind = PST_AX_ERROR;
		return e;
	}
	e->a = a;
	e->b = b;
	return e;
}
