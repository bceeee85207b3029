/*
 * suite.c: the parser of "postern test" suite files (doc/postern-test.5).
 *
 * The file is read a line at a time: each line is one statement, split into
 * words (bare words and "quoted strings" with \" and \\ escapes), braces
 * and a "<<TAG" that starts inline text running to a line holding TAG alone.
 * '#' starts a comment where a word could start. Three nesting levels:
 * the top (the rule file and defaults for every case), case "NAME" { },
 * and expect ADDR { } inside a case.
 *
 * pst_suite_check_rules() checks the rule names of "matched" expectations
 * against the rule file's, once the caller has compiled it.
 *
 * Contract: pst_suite_parse() either returns a complete suite where every
 * case has a message, a DNS fixture (possibly "none"), a time and at least
 * one expectation, every keyword is known and every argument has the right
 * form; or -1 with every problem found as "file:line:col: error: ..." (at
 * most PST_SUITE_MAX_ERRORS). It reads nothing but the suite text.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/suite.h"
#include "util/buf.h"
#include "util/number.h"
#include "util/suggest.h"

#define MAX_WORDS 16

enum tok_kind { TOK_WORD, TOK_STRING, TOK_LBRACE, TOK_RBRACE, TOK_HEREDOC };

struct tok {
	enum tok_kind kind;
	char *text;               /* owned: the word, the string, the TAG */
	unsigned col;
};

enum level { AT_TOP, IN_CASE, IN_EXPECT };

struct parser {
	const char *path;
	const char *text;
	size_t len, off;          /* off: the start of the next line */
	unsigned line;            /* the current line's number */
	pst_buf errs;
	size_t nerrs;
	int oom;
	pst_suite *s;
	pst_suite_case proto;     /* the top-level defaults */
	enum level level;
	pst_suite_pos open_pos;   /* where the open block started */
	char *expect_rcpt;        /* the open expect block's address */
	struct tok toks[MAX_WORDS];
	size_t ntoks;
};

static const char *const actions[] = { "accept", "reject", "tempfail", "discard", "quarantine", NULL };
static const char *const spf_results[] = { "pass", "fail", "softfail", "neutral", "none",
                                           "temperror", "permerror", "policy", NULL };
static const char *const dmarc_results[] = { "pass", "fail", "none", "temperror", "permerror", NULL };
static const char *const dmarc_policies[] = { "none", "quarantine", "reject", NULL };
static const char *const dmarc_flags[] = { "spf-aligned", "spf-unaligned", "dkim-aligned",
                                           "dkim-unaligned", NULL };
static const char *const rcpt_words[] = { "decision", "applied", "smtp", "rule", "folder",
                                          "header", "audit", "matched", "not matched", NULL };
static const char *const msg_words[] = { "spf", "helo-spf", "dkim", "dmarc", "report", NULL };

/* Under a diagnostic, the source line and a caret under col, as the rule
 * compiler shows them. */
static void show_source(struct parser *p, unsigned line, unsigned col)
{
	const char *s = p->text, *end = p->text + p->len;
	for (unsigned l = 1; l < line && s < end; l++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		s = nl ? nl + 1 : end;
	}
	if (line == 0 || s >= end)
		return;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > 200)
		n = 200;
	if (pst_buf_printf(&p->errs, "%5u | %.*s\n      | ", line, (int)n, s) < 0)
		p->oom = 1;
	for (unsigned k = 1; k < col && k <= n; k++)
		if (pst_buf_putc(&p->errs, s[k - 1] == '\t' ? '\t' : ' ') < 0)
			p->oom = 1;
	if (pst_buf_puts(&p->errs, "^\n") < 0)
		p->oom = 1;
}

static void err_at(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_at(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	p->nerrs++;
	if (p->nerrs > PST_SUITE_MAX_ERRORS)
		return;
	if (pst_buf_printf(&p->errs, "%s:%u:%u: error: ", p->path, line, col) < 0)
		p->oom = 1;
	va_start(ap, fmt);
	if (pst_buf_vprintf(&p->errs, fmt, ap) < 0)
		p->oom = 1;
	va_end(ap);
	if (pst_buf_putc(&p->errs, '\n') < 0)
		p->oom = 1;
	show_source(p, line, col);
}

static char *dup_or_oom(struct parser *p, const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		p->oom = 1;
	return d;
}

static int in_set(const char *w, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(w, set[i]) == 0)
			return 1;
	return 0;
}

static void clear_toks(struct parser *p)
{
	for (size_t i = 0; i < p->ntoks; i++)
		free(p->toks[i].text);
	p->ntoks = 0;
}

/* ---- Lines and words ------------------------------------------------ */

/* The next line into line and n (without its LF and CR). 0, or -1 at the end. */
static int next_line(struct parser *p, const char **line, size_t *n)
{
	if (p->off >= p->len)
		return -1;
	const char *s = p->text + p->off;
	const char *nl = memchr(s, '\n', p->len - p->off);
	size_t l = nl ? (size_t)(nl - s) : p->len - p->off;
	p->off += l + (nl ? 1 : 0);
	if (l > 0 && s[l - 1] == '\r')
		l--;
	*line = s;
	*n = l;
	p->line++;
	return 0;
}

static int add_tok(struct parser *p, enum tok_kind kind, const char *s, size_t n, unsigned col)
{
	if (p->ntoks == MAX_WORDS) {
		err_at(p, p->line, col, "more than %d words on one line", MAX_WORDS);
		return -1;
	}
	char *t = malloc(n + 1);
	if (t == NULL) {
		p->oom = 1;
		return -1;
	}
	memcpy(t, s, n);
	t[n] = '\0';
	p->toks[p->ntoks].kind = kind;
	p->toks[p->ntoks].text = t;
	p->toks[p->ntoks].col = col;
	p->ntoks++;
	return 0;
}

/* A quoted string starting at s[*i] == '"'. 0, or -1 after reporting. */
static int lex_string(struct parser *p, const char *s, size_t n, size_t *i)
{
	unsigned col = (unsigned)*i + 1;
	pst_buf b = PST_BUF_INIT;
	size_t j = *i + 1;
	for (; j < n && s[j] != '"'; j++) {
		char c = s[j];
		if (c == '\\' && j + 1 < n && (s[j + 1] == '"' || s[j + 1] == '\\'))
			c = s[++j];
		else if (c == '\\' && j + 1 < n && s[j + 1] == 't') {
			c = '\t';
			j++;
		}
		if (pst_buf_putc(&b, c) < 0) {
			p->oom = 1;
			pst_buf_free(&b);
			return -1;
		}
	}
	if (j >= n) {
		err_at(p, p->line, col, "the string has no closing quote");
		pst_buf_free(&b);
		return -1;
	}
	int rc = add_tok(p, TOK_STRING, pst_buf_str(&b), b.len, col);
	pst_buf_free(&b);
	*i = j + 1;
	return rc;
}

/* Split one line into p->toks. 0, or -1 after reporting. */
static int lex_line(struct parser *p, const char *s, size_t n)
{
	size_t i = 0;
	clear_toks(p);
	while (i < n) {
		char c = s[i];
		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (c == '"') {
			if (lex_string(p, s, n, &i) < 0)
				return -1;
			continue;
		}
		if (c == '{' || c == '}') {
			if (add_tok(p, c == '{' ? TOK_LBRACE : TOK_RBRACE, &c, 1, (unsigned)i + 1) < 0)
				return -1;
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '"' && s[j] != '{' && s[j] != '}')
			j++;
		int here = j - i > 2 && s[i] == '<' && s[i + 1] == '<';
		if (here && add_tok(p, TOK_HEREDOC, s + i + 2, j - i - 2, (unsigned)i + 1) < 0)
			return -1;
		if (!here && add_tok(p, TOK_WORD, s + i, j - i, (unsigned)i + 1) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* Inline text after a "<<TAG" word: the lines up to one holding TAG alone,
 * less the terminator line's indentation. 0, or -1 after reporting. */
static int read_heredoc(struct parser *p, const struct tok *t, pst_suite_src *src)
{
	unsigned start = p->line;
	pst_buf b = PST_BUF_INIT;
	size_t save_off = p->off;
	unsigned save_line = p->line;
	size_t indent = 0;
	const char *l;
	size_t n;
	int found = 0;
	/* First pass: find the terminator and its indentation. */
	while (next_line(p, &l, &n) == 0) {
		size_t k = 0;
		while (k < n && (l[k] == ' ' || l[k] == '\t'))
			k++;
		size_t e = n;
		while (e > k && (l[e - 1] == ' ' || l[e - 1] == '\t'))
			e--;
		if (e - k == strlen(t->text) && memcmp(l + k, t->text, e - k) == 0) {
			indent = k;
			found = 1;
			break;
		}
	}
	if (!found) {
		err_at(p, start, t->col, "no line '%s' ends the text started here", t->text);
		return -1;
	}
	unsigned end_line = p->line;
	size_t end_off = p->off;
	p->off = save_off;
	p->line = save_line;
	while (p->line + 1 < end_line && next_line(p, &l, &n) == 0) {
		size_t k = 0;
		while (k < n && k < indent && (l[k] == ' ' || l[k] == '\t'))
			k++;
		if (pst_buf_append(&b, l + k, n - k) < 0 || pst_buf_putc(&b, '\n') < 0) {
			p->oom = 1;
			pst_buf_free(&b);
			return -1;
		}
	}
	p->off = end_off;
	p->line = end_line;
	src->text = pst_buf_steal(&b, &src->len);
	if (src->text == NULL) {
		p->oom = 1;
		return -1;
	}
	src->text_line = start + 1;
	src->indent = (unsigned)indent;
	return 0;
}

/* ---- Statements ----------------------------------------------------- */

static pst_suite_case *cur_case(struct parser *p)
{
	return p->level == AT_TOP ? &p->proto : &p->s->cases[p->s->ncases - 1];
}

/* The statement's words after the keyword must number between lo and hi. */
static int want_args(struct parser *p, size_t lo, size_t hi, const char *usage)
{
	size_t n = p->ntoks - 1;
	for (size_t i = 1; i < p->ntoks; i++)
		if (p->toks[i].kind != TOK_WORD && p->toks[i].kind != TOK_STRING) {
			err_at(p, p->line, p->toks[i].col, "unexpected '%s' (usage: %s)",
			       p->toks[i].kind == TOK_HEREDOC ? "<<" : p->toks[i].text, usage);
			return -1;
		}
	if (n < lo || n > hi) {
		unsigned col = n > hi ? p->toks[hi + 1].col : p->toks[0].col;
		err_at(p, p->line, col, "%s (usage: %s)", n > hi ? "too many words" : "missing words", usage);
		return -1;
	}
	return 0;
}

static int set_str(struct parser *p, char **dst, const char *usage)
{
	if (want_args(p, 1, 1, usage) < 0)
		return -1;
	const char *v = p->toks[1].text;
	if (strcmp(p->toks[0].text, "mail-from") == 0 && strcmp(v, "<>") == 0)
		v = "";
	free(*dst);
	*dst = dup_or_oom(p, v);
	return 0;
}

static int add_rcpts(struct parser *p, pst_suite_case *c)
{
	if (want_args(p, 1, MAX_WORDS, "rcpt ADDRESS...") < 0)
		return -1;
	char **r = realloc(c->rcpts, (c->nrcpts + p->ntoks - 1) * sizeof *r);
	if (r == NULL) {
		p->oom = 1;
		return -1;
	}
	c->rcpts = r;
	for (size_t i = 1; i < p->ntoks; i++)
		if ((c->rcpts[c->nrcpts] = dup_or_oom(p, p->toks[i].text)) != NULL)
			c->nrcpts++;
	return 0;
}

static int set_src(struct parser *p, pst_suite_src *src, int is_dns)
{
	const char *usage = is_dns ? "dns FILE | dns none | dns <<TAG" : "message FILE | message <<TAG";
	if (p->ntoks != 2 || p->toks[1].kind == TOK_LBRACE || p->toks[1].kind == TOK_RBRACE) {
		err_at(p, p->line, p->ntoks > 2 ? p->toks[2].col : p->toks[0].col, "%s (usage: %s)",
		       p->ntoks > 2 ? "too many words" : "missing words", usage);
		return -1;
	}
	if (src->set && p->level != AT_TOP) {
		err_at(p, p->line, p->toks[0].col, "the case already has a %s", is_dns ? "DNS fixture" : "message");
		return -1;
	}
	free(src->path);
	free(src->text);
	memset(src, 0, sizeof *src);
	src->set = 1;
	src->pos.line = p->line;
	src->pos.col = p->toks[0].col;
	const struct tok *t = &p->toks[1];
	if (t->kind == TOK_HEREDOC)
		return read_heredoc(p, t, src);
	if (is_dns && t->kind == TOK_WORD && strcmp(t->text, "none") == 0) {
		src->none = 1;
		return 0;
	}
	src->path = dup_or_oom(p, t->text);
	return 0;
}

static int set_now(struct parser *p, pst_suite_case *c)
{
	if (want_args(p, 1, 1, "now EPOCH | now YYYY-MM-DDTHH:MM:SSZ") < 0)
		return -1;
	if (pst_suite_parse_time(p->toks[1].text, &c->now) < 0) {
		err_at(p, p->line, p->toks[1].col, "'%s' is not a time (seconds since the epoch, or "
		       "YYYY-MM-DDTHH:MM:SSZ)", p->toks[1].text);
		return -1;
	}
	if (c->now == 0) {
		err_at(p, p->line, p->toks[1].col, "now 0 would mean the clock; give a fixed time");
		return -1;
	}
	c->has_now = 1;
	return 0;
}

/* Envelope, message, fixture and time statements, at the top or in a case.
 * 1 when the keyword was one of them, 0 when not. */
static int envelope_stmt(struct parser *p)
{
	pst_suite_case *c = cur_case(p);
	const char *w = p->toks[0].text;
	if (strcmp(w, "client-ip") == 0)
		set_str(p, &c->client_ip, "client-ip ADDRESS");
	else if (strcmp(w, "client-name") == 0)
		set_str(p, &c->client_name, "client-name NAME");
	else if (strcmp(w, "helo") == 0)
		set_str(p, &c->helo, "helo NAME");
	else if (strcmp(w, "mail-from") == 0)
		set_str(p, &c->mail_from, "mail-from ADDRESS | mail-from <>");
	else if (strcmp(w, "rcpt") == 0)
		add_rcpts(p, c);
	else if (strcmp(w, "now") == 0)
		set_now(p, c);
	else if (strcmp(w, "message") == 0)
		set_src(p, &c->message, 0);
	else if (strcmp(w, "dns") == 0)
		set_src(p, &c->dns, 1);
	else if (strcmp(w, "after-queue") == 0) {
		if (want_args(p, 0, 0, "after-queue") == 0)
			c->after_queue = 1;
	} else
		return 0;
	return 1;
}

/* ---- Expectations --------------------------------------------------- */

static int check_word(struct parser *p, size_t i, const char *const *set, const char *what)
{
	if (i >= p->ntoks || in_set(p->toks[i].text, set))
		return 0;
	pst_buf b = PST_BUF_INIT;
	for (size_t k = 0; set[k]; k++)
		if (pst_buf_printf(&b, "%s%s", k ? ", " : "", set[k]) < 0)
			p->oom = 1;
	err_at(p, p->line, p->toks[i].col, "'%s' is not %s (one of %s)", p->toks[i].text, what, pst_buf_str(&b));
	pst_buf_free(&b);
	return -1;
}

static int check_smtp(struct parser *p)
{
	if (want_args(p, 1, 3, "smtp CODE [ENHANCED [\"TEXT\"]]") < 0)
		return -1;
	const char *code = p->toks[1].text;
	if (strlen(code) != 3 || code[0] < '2' || code[0] > '5' || !isdigit((unsigned char)code[1]) ||
	    !isdigit((unsigned char)code[2])) {
		err_at(p, p->line, p->toks[1].col, "'%s' is not an SMTP reply code (2xx to 5xx)", code);
		return -1;
	}
	if (p->ntoks > 2) {
		unsigned a, b, c;
		char tail;
		const char *e = p->toks[2].text;
		if (sscanf(e, "%u.%u.%u%c", &a, &b, &c, &tail) != 3 || a < 2 || a > 5 || e[0] != code[0]) {
			err_at(p, p->line, p->toks[2].col, "'%s' is not an enhanced status code of class %c "
			       "(%c.X.Y)", e, code[0], code[0]);
			return -1;
		}
	}
	return 0;
}

static int check_header(struct parser *p)
{
	const char *usage = "header NAME present|absent | header NAME equals|contains \"VALUE\"";
	if (want_args(p, 2, 3, usage) < 0)
		return -1;
	const char *op = p->toks[2].text;
	int unary = strcmp(op, "present") == 0 || strcmp(op, "absent") == 0;
	int binary = strcmp(op, "equals") == 0 || strcmp(op, "contains") == 0;
	if (!unary && !binary) {
		err_at(p, p->line, p->toks[2].col, "'%s' is not present, absent, equals or contains", op);
		return -1;
	}
	if ((unary && p->ntoks != 3) || (binary && p->ntoks != 4)) {
		err_at(p, p->line, p->toks[0].col, "header ... %s wants %s (usage: %s)", op,
		       unary ? "nothing after it" : "a value after it", usage);
		return -1;
	}
	for (const char *c = p->toks[1].text; *c; c++)
		if (*c <= ' ' || *c == ':' || *c > '~') {
			err_at(p, p->line, p->toks[1].col, "'%s' is not a header field name", p->toks[1].text);
			return -1;
		}
	return 0;
}

/* The auth expectations: the words after the result may come in any order. */
static int check_auth(struct parser *p, const char *w)
{
	if (strcmp(w, "spf") == 0 || strcmp(w, "helo-spf") == 0) {
		int helo = w[0] == 'h';
		if (want_args(p, 1, helo ? 1 : 2, helo ? "helo-spf RESULT" : "spf RESULT [aligned|unaligned]") < 0)
			return -1;
		static const char *const al[] = { "aligned", "unaligned", NULL };
		return check_word(p, 1, spf_results, "an SPF result") < 0 ? -1 : check_word(p, 2, al, "an alignment");
	}
	if (strcmp(w, "dkim") == 0) {
		if (want_args(p, 1, 3, "dkim none | dkim RESULT [DOMAIN] [aligned|unaligned]") < 0)
			return -1;
		if (check_word(p, 1, spf_results, "a DKIM result") < 0)
			return -1;
		if (strcmp(p->toks[1].text, "none") == 0 && p->ntoks > 2) {
			err_at(p, p->line, p->toks[2].col, "dkim none stands alone (no signature at all)");
			return -1;
		}
		return 0;
	}
	if (strcmp(w, "dmarc") == 0) {
		if (want_args(p, 1, 4, "dmarc RESULT [POLICY] [spf-aligned|spf-unaligned] "
		              "[dkim-aligned|dkim-unaligned]") < 0)
			return -1;
		if (check_word(p, 1, dmarc_results, "a DMARC result") < 0)
			return -1;
		for (size_t i = 2; i < p->ntoks; i++)
			if (!in_set(p->toks[i].text, dmarc_policies) && check_word(p, i, dmarc_flags, "a DMARC policy or alignment") < 0)
				return -1;
		return 0;
	}
	/* report PATH VALUE */
	return want_args(p, 2, 2, "report PATH VALUE");
}

/* matched RULE... | matched none | not matched RULE... */
static int check_matched(struct parser *p, int negated)
{
	const char *usage = negated ? "not matched RULE..." : "matched RULE... | matched none";
	if (want_args(p, 1, PST_SUITE_MAX_ARGS, usage) < 0)
		return -1;
	for (size_t i = 1; i < p->ntoks; i++)
		if (strcmp(p->toks[i].text, "none") == 0 && (negated || p->ntoks > 2)) {
			err_at(p, p->line, p->toks[i].col, "%s", negated ? "not matched names rules; for no rule at "
			       "all write matched none" : "matched none stands alone (no enforced rule matched)");
			return -1;
		}
	return 0;
}

/* "not matched ..." becomes one statement word "not matched" (at the
 * column of "not"). 0, or -1 after reporting. */
static int join_not(struct parser *p)
{
	if (p->ntoks < 2 || p->toks[1].kind != TOK_WORD || strcmp(p->toks[1].text, "matched") != 0) {
		err_at(p, p->line, p->ntoks < 2 ? p->toks[0].col : p->toks[1].col,
		       "'not' goes only before matched (usage: not matched RULE...)");
		return -1;
	}
	char *w = dup_or_oom(p, "not matched");
	if (w == NULL)
		return -1;
	free(p->toks[0].text);
	free(p->toks[1].text);
	p->toks[0].text = w;
	memmove(&p->toks[1], &p->toks[2], (p->ntoks - 2) * sizeof p->toks[0]);
	p->ntoks--;
	return 0;
}

static int check_expect(struct parser *p, const char *w)
{
	if (strcmp(w, "decision") == 0 || strcmp(w, "applied") == 0)
		return want_args(p, 1, 1, "decision ACTION") < 0 ? -1 : check_word(p, 1, actions, "a decision");
	if (strcmp(w, "smtp") == 0)
		return check_smtp(p);
	if (strcmp(w, "rule") == 0)
		return want_args(p, 1, 1, "rule NAME | rule none");
	if (strcmp(w, "folder") == 0)
		return want_args(p, 1, 1, "folder NAME | folder default");
	if (strcmp(w, "header") == 0)
		return check_header(p);
	if (strcmp(w, "audit") == 0)
		return want_args(p, 1, PST_SUITE_MAX_ARGS, "audit RULE... | audit none");
	if (strcmp(w, "matched") == 0 || strcmp(w, "not matched") == 0)
		return check_matched(p, w[0] == 'n');
	return check_auth(p, w);
}

static int add_expect(struct parser *p, const char *rcpt, size_t first)
{
	pst_suite_case *c = cur_case(p);
	if (p->ntoks - first - 1 > PST_SUITE_MAX_ARGS) {
		err_at(p, p->line, p->toks[first].col, "more than %d words after '%s'", PST_SUITE_MAX_ARGS,
		       p->toks[first].text);
		return -1;
	}
	pst_suite_expect *e = realloc(c->expects, (c->nexpects + 1) * sizeof *e);
	if (e == NULL) {
		p->oom = 1;
		return -1;
	}
	c->expects = e;
	e = &c->expects[c->nexpects++];
	memset(e, 0, sizeof *e);
	e->rcpt = rcpt ? dup_or_oom(p, rcpt) : NULL;
	e->word = dup_or_oom(p, p->toks[first].text);
	e->pos.line = p->line;
	e->pos.col = p->toks[first].col;
	for (size_t i = first + 1; i < p->ntoks; i++) {
		e->arg_cols[e->nargs] = p->toks[i].col;
		e->args[e->nargs++] = dup_or_oom(p, p->toks[i].text);
	}
	return 0;
}

/* An expectation statement at the case level or in an expect block. */
static void expect_stmt(struct parser *p, const char *rcpt)
{
	if (strcmp(p->toks[0].text, "not") == 0 && join_not(p) < 0)
		return;
	const char *w = p->toks[0].text;
	int rw = in_set(w, rcpt_words), mw = in_set(w, msg_words);
	if (!rw && !mw) {
		err_at(p, p->line, p->toks[0].col, "unknown statement '%s'", w);
		return;
	}
	if (mw && rcpt && strcmp(rcpt, "*") != 0) {
		err_at(p, p->line, p->toks[0].col, "'%s' is about the message: write it in the case, not in "
		       "an expect block", w);
		return;
	}
	if (check_expect(p, w) < 0)
		return;
	add_expect(p, mw ? NULL : rcpt ? rcpt : "*", 0);
}

/* expect ADDR ACTION | expect ADDR { */
static void expect_open(struct parser *p)
{
	const char *usage = "expect ADDRESS ACTION | expect ADDRESS {";
	if (p->ntoks != 3 || p->toks[1].kind == TOK_LBRACE ||
	    (p->toks[2].kind != TOK_LBRACE && p->toks[2].kind != TOK_WORD)) {
		err_at(p, p->line, p->toks[0].col, "malformed expect (usage: %s)", usage);
		if (p->toks[p->ntoks - 1].kind == TOK_LBRACE)
			p->level = IN_EXPECT;
		return;
	}
	if (p->toks[2].kind == TOK_LBRACE) {
		free(p->expect_rcpt);
		p->expect_rcpt = dup_or_oom(p, p->toks[1].text);
		p->level = IN_EXPECT;
		return;
	}
	if (check_word(p, 2, actions, "a decision") < 0)
		return;
	/* Rewrite "expect ADDR ACTION" as "decision ACTION" for ADDR. */
	char *addr = p->toks[1].text;
	free(p->toks[0].text);
	p->toks[0] = p->toks[1];
	p->toks[0].text = dup_or_oom(p, "decision");
	p->toks[1] = p->toks[2];
	p->ntoks = 2;
	add_expect(p, addr, 0);
	free(addr);
}

static void case_open(struct parser *p)
{
	int brace = p->ntoks > 0 && p->toks[p->ntoks - 1].kind == TOK_LBRACE;
	if (p->ntoks != 3 || p->toks[1].kind != TOK_STRING || !brace) {
		err_at(p, p->line, p->toks[0].col, "malformed case (usage: case \"NAME\" {)");
		if (!brace)
			return;
	}
	pst_suite *s = p->s;
	pst_suite_case *c = realloc(s->cases, (s->ncases + 1) * sizeof *c);
	if (c == NULL) {
		p->oom = 1;
		return;
	}
	s->cases = c;
	c = &s->cases[s->ncases++];
	memset(c, 0, sizeof *c);
	c->name = dup_or_oom(p, p->ntoks == 3 && p->toks[1].kind == TOK_STRING ? p->toks[1].text : "?");
	c->pos.line = p->line;
	c->pos.col = p->toks[0].col;
	for (size_t i = 0; i + 1 < s->ncases; i++)
		if (strcmp(s->cases[i].name, c->name) == 0)
			err_at(p, p->line, p->toks[1].col, "a case named \"%s\" is already at line %u", c->name,
			       s->cases[i].pos.line);
	p->level = IN_CASE;
	p->open_pos = c->pos;
}

static void rules_stmt(struct parser *p)
{
	if (p->level != AT_TOP) {
		err_at(p, p->line, p->toks[0].col, "rules is given once, at the top of the suite");
		return;
	}
	if (p->s->rules) {
		err_at(p, p->line, p->toks[0].col, "the suite already names a rule file (line %u)", p->s->rules_pos.line);
		return;
	}
	if (want_args(p, 1, 1, "rules FILE") < 0)
		return;
	p->s->rules = dup_or_oom(p, p->toks[1].text);
	p->s->rules_pos.line = p->line;
	p->s->rules_pos.col = p->toks[0].col;
}

static void close_block(struct parser *p)
{
	if (p->ntoks != 1)
		err_at(p, p->line, p->toks[1].col, "'}' stands alone on its line");
	if (p->level == AT_TOP)
		err_at(p, p->line, p->toks[0].col, "'}' closes nothing");
	else if (p->level == IN_EXPECT)
		p->level = IN_CASE;
	else
		p->level = AT_TOP;
}

static void statement(struct parser *p)
{
	const struct tok *t = &p->toks[0];
	if (t->kind == TOK_RBRACE) {
		close_block(p);
		return;
	}
	if (t->kind != TOK_WORD) {
		err_at(p, p->line, t->col, "a statement starts with a keyword");
		return;
	}
	const char *w = t->text;
	if (p->level == IN_EXPECT) {
		expect_stmt(p, p->expect_rcpt);
		return;
	}
	if (strcmp(w, "rules") == 0)
		rules_stmt(p);
	else if (strcmp(w, "case") == 0) {
		if (p->level != AT_TOP)
			err_at(p, p->line, t->col, "case \"%s\" (line %u) is not closed", cur_case(p)->name,
			       p->open_pos.line);
		else
			case_open(p);
	} else if (envelope_stmt(p))
		;
	else if (p->level == AT_TOP)
		err_at(p, p->line, t->col, "unknown statement '%s' at the top of the suite", w);
	else if (strcmp(w, "expect") == 0)
		expect_open(p);
	else
		expect_stmt(p, NULL);
}

/* ---- Finishing ------------------------------------------------------ */

static void inherit_src(struct parser *p, pst_suite_src *dst, const pst_suite_src *def)
{
	if (dst->set || !def->set)
		return;
	*dst = *def;
	dst->path = def->path ? dup_or_oom(p, def->path) : NULL;
	dst->text = NULL;
	if (def->text) {
		dst->text = malloc(def->len + 1);
		if (dst->text == NULL)
			p->oom = 1;
		else
			memcpy(dst->text, def->text, def->len + 1);
	}
}

static void inherit_str(struct parser *p, char **dst, const char *def)
{
	if (*dst == NULL && def)
		*dst = dup_or_oom(p, def);
}

/* Fill what a case leaves out from the top-level defaults, and check that
 * it is complete. */
static void finish_case(struct parser *p, pst_suite_case *c)
{
	const pst_suite_case *d = &p->proto;
	inherit_src(p, &c->message, &d->message);
	inherit_src(p, &c->dns, &d->dns);
	inherit_str(p, &c->client_ip, d->client_ip);
	inherit_str(p, &c->client_name, d->client_name);
	inherit_str(p, &c->helo, d->helo);
	inherit_str(p, &c->mail_from, d->mail_from);
	if (!c->has_now && d->has_now) {
		c->now = d->now;
		c->has_now = 1;
	}
	c->after_queue |= d->after_queue;
	if (c->nrcpts == 0 && d->nrcpts > 0) {
		c->rcpts = calloc(d->nrcpts, sizeof *c->rcpts);
		if (c->rcpts == NULL)
			p->oom = 1;
		for (size_t i = 0; c->rcpts && i < d->nrcpts; i++)
			if ((c->rcpts[c->nrcpts] = dup_or_oom(p, d->rcpts[i])) != NULL)
				c->nrcpts++;
	}
	if (!c->message.set)
		err_at(p, c->pos.line, c->pos.col, "case \"%s\" has no message (message FILE or message <<TAG)", c->name);
	if (!c->dns.set)
		err_at(p, c->pos.line, c->pos.col, "case \"%s\" has no DNS fixture (dns FILE, dns <<TAG, or dns "
		       "none); a suite never asks live DNS", c->name);
	if (!c->has_now)
		err_at(p, c->pos.line, c->pos.col, "case \"%s\" has no time (now EPOCH)", c->name);
	if (c->nexpects == 0 && p->nerrs == 0)   /* else its expectations may have had errors */
		err_at(p, c->pos.line, c->pos.col, "case \"%s\" expects nothing", c->name);
}

static void free_src(pst_suite_src *s)
{
	free(s->path);
	free(s->text);
}

static void free_case(pst_suite_case *c)
{
	free(c->name);
	free_src(&c->message);
	free_src(&c->dns);
	free(c->client_ip);
	free(c->client_name);
	free(c->helo);
	free(c->mail_from);
	for (size_t i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	for (size_t i = 0; i < c->nexpects; i++) {
		pst_suite_expect *e = &c->expects[i];
		free(e->rcpt);
		free(e->word);
		for (size_t k = 0; k < e->nargs; k++)
			free(e->args[k]);
	}
	free(c->expects);
}

void pst_suite_free(pst_suite **suite)
{
	if (suite == NULL || *suite == NULL)
		return;
	pst_suite *s = *suite;
	for (size_t i = 0; i < s->ncases; i++)
		free_case(&s->cases[i]);
	free(s->cases);
	free(s->path);
	free(s->dir);
	free(s->rules);
	free(s);
	*suite = NULL;
}

/* One name of a matched expectation against the rule file's rules:
 * 0, or 1 after writing the error into errs. */
static int check_rule_name(const pst_suite *s, const pst_suite_expect *e, size_t k,
                           const char *const *names, const unsigned char *audit, size_t n, pst_buf *errs)
{
	const char *name = e->args[k];
	int rc = 0;
	if (strcmp(e->word, "matched") == 0 && strcmp(name, "none") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0) {
			if (!audit[i])
				return 0;
			rc = pst_buf_printf(errs, "%s:%u:%u: error: '%s' is an audit-mode rule: %s covers the "
			                    "enforced rules; an audit rule's match is expected with audit %s\n",
			                    s->path, e->pos.line, e->arg_cols[k], name, e->word, name);
			return rc < 0 ? -1 : 1;
		}
	const char *near = pst_suggest(name, strlen(name), names, n);
	rc = pst_buf_printf(errs, "%s:%u:%u: error: '%s' names no rule of %s", s->path, e->pos.line,
	                    e->arg_cols[k], name, s->rules);
	if (rc == 0 && near)
		rc = pst_buf_printf(errs, "; did you mean '%s'?", near);
	if (rc == 0)
		rc = pst_buf_putc(errs, '\n');
	return rc < 0 ? -1 : 1;
}

int pst_suite_check_rules(const pst_suite *suite, const char *const *names,
                          const unsigned char *audit, size_t n, char **errors)
{
	pst_buf errs = PST_BUF_INIT;
	size_t nerrs = 0;
	int oom = 0;
	if (errors)
		*errors = NULL;
	for (size_t c = 0; c < suite->ncases && !oom; c++)
		for (size_t i = 0; i < suite->cases[c].nexpects && !oom; i++) {
			const pst_suite_expect *e = &suite->cases[c].expects[i];
			if (strcmp(e->word, "matched") != 0 && strcmp(e->word, "not matched") != 0)
				continue;
			for (size_t k = 0; k < e->nargs && !oom; k++) {
				int rc = nerrs < PST_SUITE_MAX_ERRORS ?
				         check_rule_name(suite, e, k, names, audit, n, &errs) : 0;
				oom = rc < 0;
				nerrs += rc > 0;
			}
		}
	if (nerrs == 0 && !oom) {
		pst_buf_free(&errs);
		return 0;
	}
	if (errors && !oom)
		*errors = pst_buf_steal(&errs, NULL);
	pst_buf_free(&errs);
	return -1;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static void parse_lines(struct parser *p)
{
	const char *l;
	size_t n;
	while (next_line(p, &l, &n) == 0) {
		if (lex_line(p, l, n) < 0 || p->ntoks == 0)
			continue;
		statement(p);
		if (p->oom)
			return;
	}
	clear_toks(p);
	if (p->level != AT_TOP)
		err_at(p, p->open_pos.line, p->open_pos.col, "case \"%s\" is not closed", cur_case(p)->name);
	if (p->s->rules == NULL)
		err_at(p, 1, 1, "the suite names no rule file (rules FILE)");
	if (p->s->ncases == 0)
		err_at(p, p->line ? p->line : 1, 1, "the suite has no case (case \"NAME\" { ... })");
	for (size_t i = 0; i < p->s->ncases && !p->oom; i++)
		finish_case(p, &p->s->cases[i]);
}

int pst_suite_parse(const char *path, const char *text, size_t len, pst_suite **out, char **errors)
{
	struct parser p;
	memset(&p, 0, sizeof p);
	p.path = path;
	p.text = text;
	p.len = len;
	*out = NULL;
	if (errors)
		*errors = NULL;
	p.s = calloc(1, sizeof *p.s);
	if (p.s == NULL)
		return -1;
	p.s->path = strdup(path);
	p.s->dir = dir_of(path);
	if (p.s->path == NULL || p.s->dir == NULL)
		p.oom = 1;
	else
		parse_lines(&p);
	clear_toks(&p);
	free(p.expect_rcpt);
	free_case(&p.proto);
	if (p.oom || p.nerrs > 0) {
		if (p.nerrs > PST_SUITE_MAX_ERRORS)
			(void)pst_buf_printf(&p.errs, "%s: error: %zu more errors not shown\n", path,
			                     p.nerrs - PST_SUITE_MAX_ERRORS);
		if (p.oom)
			(void)pst_buf_printf(&p.errs, "%s: error: out of memory\n", path);
		if (errors)
			*errors = pst_buf_steal(&p.errs, NULL);
		pst_buf_free(&p.errs);
		pst_suite_free(&p.s);
		return -1;
	}
	pst_buf_free(&p.errs);
	*out = p.s;
	return 0;
}

int pst_suite_load(const char *path, pst_suite **out, char **errors)
{
	*out = NULL;
	if (errors)
		*errors = NULL;
	FILE *f = fopen(path, "rb");
	pst_buf b = PST_BUF_INIT, e = PST_BUF_INIT;
	if (f == NULL) {
		(void)pst_buf_printf(&e, "%s: error: cannot open the suite: %s\n", path, strerror(errno));
		goto fail;
	}
	char chunk[16384];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + n > PST_SUITE_MAX_BYTES) {
			(void)pst_buf_printf(&e, "%s: error: the suite is larger than %u bytes\n", path,
			                     PST_SUITE_MAX_BYTES);
			break;
		}
		if (pst_buf_append(&b, chunk, n) < 0) {
			(void)pst_buf_printf(&e, "%s: error: out of memory\n", path);
			break;
		}
	}
	if (e.len == 0 && ferror(f))
		(void)pst_buf_printf(&e, "%s: error: cannot read the suite: %s\n", path, strerror(errno));
	fclose(f);
	if (e.len > 0)
		goto fail;
	int rc = pst_suite_parse(path, pst_buf_str(&b), b.len, out, errors);
	pst_buf_free(&b);
	return rc;
fail:
	pst_buf_free(&b);
	if (errors)
		*errors = pst_buf_steal(&e, NULL);
	pst_buf_free(&e);
	return -1;
}

char *pst_suite_path(const pst_suite *suite, const char *p)
{
	if (p[0] == '/' || strcmp(suite->dir, ".") == 0)
		return strdup(p);
	size_t n = strlen(suite->dir) + strlen(p) + 2;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", suite->dir, p);
	return r;
}

int pst_suite_parse_time(const char *s, long long *out)
{
	unsigned long long v;
	if (pst_parse_number(s, 10, 0, LLONG_MAX, &v) == 0) {
		*out = (long long)v;
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	char z = 0, tail = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec, &z, &tail) != 7 || z != 'Z')
		return -1;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (long long)t;
	return 0;
}
