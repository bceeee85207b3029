/*
 * addr.c: RFC 5322 address lists; see addr.h for the contract.
 *
 * A small lexer turns the unfolded value into atoms (atext and '.', 8-bit
 * bytes included, RFC 6532), quoted strings, domain literals and specials,
 * skipping CFWS. Comments nest: their depth is counted, never recursed, and
 * an unterminated comment or quoted string runs to the end of the value.
 * The first comment of an item is remembered: it stands in for a missing
 * display name (old "addr (Name)" style).
 *
 * Each item is a phrase (words) followed by one of
 *   '<' angle-addr (an obsolete route "@a,@b:" is skipped),
 *   ':' the start of a group (its display name is the phrase),
 *   '@' the domain of a bare addr-spec (the phrase was its local part;
 *       when an angle-addr follows, all of it was a display name),
 *   ',' ';' or the end: a bare local part when the phrase is one atom.
 * Anything else makes the item PST_ADDR_BAD and parsing resumes after the
 * next ',' (or ';' inside a group). An angle-addr that is not an addr-spec
 * (a URI, say) gives a PST_ADDR_BAD item whose addr_spec is the text
 * between the brackets. Words after an angle-addr become the display name
 * when there was none before it.
 *
 * Display names: words joined by one space where the value had white space
 * or a comment between them, quoted strings unquoted (quoted-pairs undone);
 * that is display_raw. display is display_raw decoded by RFC 2047, encoded
 * words inside quoted strings included (as most agents do). Obsolete
 * domains with CFWS around the dots ("a . example") are joined ("a.example").
 */
#include "config.h"

#include <string.h>

#include "msg/addr.h"
#include "msg/rfc2047.h"
#include "util/buf.h"
#include "util/limits.h"

enum tok_type { T_END, T_ATOM, T_QSTR, T_DLIT, T_SPEC };

struct tok {
	enum tok_type type;
	size_t start, end;          /* bytes of the token in the value */
	char c;                     /* T_SPEC: the special */
	int ws;                     /* white space or a comment came before it */
	int closed;                 /* T_QSTR, T_DLIT: the closing quote or ']' is there */
};

struct lex {
	const char *s;
	size_t len, pos;
	size_t cstart, cend;        /* the item's first comment, inside the parens */
	int have_comment;
	pst_arena *arena;
	pst_buf scratch;
	pst_addr_list *out;
	size_t cap;
	const char *group;          /* inside a group: its name */
	int nomem;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_atom_char(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if (c <= 0x20 || c == 0x7f)
		return 0;
	return strchr("()<>[]:;@\\,\"", c) == NULL;
}

/* Skip a comment starting at lx->pos ('('), counting nesting. */
static void skip_comment(struct lex *lx)
{
	size_t start = ++lx->pos, depth = 1;
	while (lx->pos < lx->len && depth > 0) {
		char c = lx->s[lx->pos++];
		if (c == '\\' && lx->pos < lx->len)
			lx->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
	}
	if (!lx->have_comment) {
		lx->have_comment = 1;
		lx->cstart = start;
		lx->cend = depth == 0 ? lx->pos - 1 : lx->pos;
	}
}

/* Skip white space and comments; 1 when something was skipped. */
static int skip_cfws(struct lex *lx)
{
	size_t from = lx->pos;
	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];
		if (is_space(c))
			lx->pos++;
		else if (c == '(')
			skip_comment(lx);
		else
			break;
	}
	return lx->pos > from;
}

/* Advance past a quoted string or domain literal opened at lx->pos; 1
 * when it was closed. */
static int skip_quoted(struct lex *lx, char close)
{
	lx->pos++;
	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos++];
		if (c == '\\' && lx->pos < lx->len)
			lx->pos++;
		else if (c == close)
			return 1;
	}
	return 0;
}

static struct tok next_tok(struct lex *lx)
{
	struct tok t = { .type = T_END };
	t.ws = skip_cfws(lx);
	t.start = lx->pos;
	if (lx->pos >= lx->len) {
		t.end = lx->pos;
		return t;
	}
	unsigned char c = (unsigned char)lx->s[lx->pos];
	if (c == '"') {
		t.type = T_QSTR;
		t.closed = skip_quoted(lx, '"');
	} else if (c == '[') {
		t.type = T_DLIT;
		t.closed = skip_quoted(lx, ']');
	} else if (is_atom_char(c)) {
		t.type = T_ATOM;
		while (lx->pos < lx->len && is_atom_char((unsigned char)lx->s[lx->pos]))
			lx->pos++;
	} else {
		t.type = T_SPEC;
		t.c = (char)c;
		lx->pos++;
	}
	t.end = lx->pos;
	return t;
}

static int is_spec(const struct tok *t, char c)
{
	return t->type == T_SPEC && t->c == c;
}

/* Whether t ends the item: ',' ';' or the end. */
static int is_sep(const struct tok *t)
{
	return t->type == T_END || is_spec(t, ',') || is_spec(t, ';');
}

/* Append a word's text to the scratch buffer: quoted strings unquoted. */
static void put_word(struct lex *lx, const struct tok *t)
{
	const char *p = lx->s + t->start, *e = lx->s + t->end;
	if (t->type == T_QSTR) {
		p++;
		if (t->closed)
			e--;
		for (; p < e; p++) {
			if (*p == '\\' && p + 1 < e)
				p++;
			if (pst_buf_putc(&lx->scratch, *p) < 0)
				lx->nomem = 1;
		}
		return;
	}
	if (pst_buf_append(&lx->scratch, p, (size_t)(e - p)) < 0)
		lx->nomem = 1;
}

/* A copy of the scratch buffer from the arena; clears it. */
static char *take_scratch(struct lex *lx)
{
	char *s = pst_arena_strndup(lx->arena, lx->scratch.data ? lx->scratch.data : "",
	                            lx->scratch.len);
	if (s == NULL)
		lx->nomem = 1;
	pst_buf_clear(&lx->scratch);
	return s ? s : (char *)"";
}

/* The words of a phrase, from t on; t becomes the first non-word token.
 * *nwords counts them. Returns the display text (raw, unquoted). */
static char *phrase(struct lex *lx, struct tok *t, size_t *nwords, char **joined)
{
	size_t n = 0;
	pst_buf_clear(&lx->scratch);
	size_t first = lx->pos;
	struct tok start = *t;
	while (t->type == T_ATOM || t->type == T_QSTR) {
		if (n++ > 0 && t->ws && pst_buf_putc(&lx->scratch, ' ') < 0)
			lx->nomem = 1;
		put_word(lx, t);
		*t = next_tok(lx);
	}
	char *text = take_scratch(lx);
	if (joined) {
		/* The same words without the spaces: a local part. */
		size_t save = lx->pos;
		lx->pos = first;
		struct tok w = start;
		for (size_t i = 0; i < n; i++) {
			put_word(lx, &w);
			if (i + 1 < n)
				w = next_tok(lx);
		}
		lx->pos = save;
		*joined = take_scratch(lx);
	}
	*nwords = n;
	return text;
}

/* A domain from t on (atoms, literals, joined across CFWS at dots); t
 * becomes the token after it. */
static char *domain(struct lex *lx, struct tok *t)
{
	pst_buf_clear(&lx->scratch);
	int prev_dot = 1, any = 0;
	while (t->type == T_ATOM || t->type == T_DLIT) {
		const char *p = lx->s + t->start;
		size_t n = t->end - t->start;
		if (any && !prev_dot && p[0] != '.')
			break;
		if (pst_buf_append(&lx->scratch, p, n) < 0)
			lx->nomem = 1;
		any = 1;
		prev_dot = p[n - 1] == '.';
		*t = next_tok(lx);
	}
	return take_scratch(lx);
}

static pst_addr *new_item(struct lex *lx)
{
	pst_addr_list *l = lx->out;
	if (l->count == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 4;
		pst_addr *items = pst_arena_calloc(lx->arena, cap, sizeof *items);
		if (items == NULL) {
			lx->nomem = 1;
			return NULL;
		}
		if (l->count)
			memcpy(items, l->items, l->count * sizeof *items);
		l->items = items;
		lx->cap = cap;
	}
	pst_addr *a = &l->items[l->count++];
	memset(a, 0, sizeof *a);
	a->display = a->display_raw = a->local = a->domain = a->addr_spec = "";
	a->group = lx->group;
	if (lx->group)
		a->flags |= PST_ADDR_GROUP;
	return a;
}

/* Skip to the end of the item; returns the separator token. */
static struct tok skip_item(struct lex *lx, struct tok t)
{
	while (!is_sep(&t))
		t = next_tok(lx);
	return t;
}

/* Fill addr_spec from local and domain. */
static void make_spec(struct lex *lx, pst_addr *a)
{
	pst_buf_clear(&lx->scratch);
	if (pst_buf_puts(&lx->scratch, a->local) < 0 ||
	    (*a->domain && (pst_buf_putc(&lx->scratch, '@') < 0 ||
	                    pst_buf_puts(&lx->scratch, a->domain) < 0)))
		lx->nomem = 1;
	a->addr_spec = take_scratch(lx);
	a->domain_len = strlen(a->domain);
	if (*a->local == '\0')
		a->flags |= PST_ADDR_BAD;
}

static void set_display(struct lex *lx, pst_addr *a, char *raw)
{
	a->display_raw = raw;
	char *d = NULL;
	size_t n = 0;
	if (*raw && pst_rfc2047_decode(lx->arena, raw, strlen(raw), &d, &n) < 0)
		lx->nomem = 1;
	a->display = d ? d : raw;
}

/* After '<': the angle-addr up to '>'. */
static void angle_addr(struct lex *lx, pst_addr *a)
{
	size_t open = lx->pos;
	struct tok t = next_tok(lx);
	if (is_spec(&t, '@')) {
		/* obs-route: "@a,@b:" */
		while (t.type != T_END && !is_spec(&t, ':') && !is_spec(&t, '>'))
			t = next_tok(lx);
		if (is_spec(&t, ':'))
			t = next_tok(lx);
	}
	size_t nw = 0;
	char *local = NULL;
	(void)phrase(lx, &t, &nw, &local);
	a->local = nw ? local : "";
	if (nw && is_spec(&t, '@')) {
		t = next_tok(lx);
		a->domain = domain(lx, &t);
		if (!*a->domain)
			a->flags |= PST_ADDR_BAD;
	}
	if ((is_spec(&t, '>') || t.type == T_END) && nw) {   /* a missing '>' at the end is forgiven */
		make_spec(lx, a);
		return;
	}
	/* Not an addr-spec: keep the text between the brackets. */
	while (t.type != T_END && !is_spec(&t, '>'))
		t = next_tok(lx);
	size_t b = open, e = t.start;
	while (b < e && is_space(lx->s[b]))
		b++;
	while (e > b && is_space(lx->s[e - 1]))
		e--;
	a->local = a->domain = "";
	a->addr_spec = pst_arena_strndup(lx->arena, lx->s + b, e - b);
	if (a->addr_spec == NULL) {
		lx->nomem = 1;
		a->addr_spec = "";
	}
	a->flags |= PST_ADDR_BAD;
}

/* Words after the address, up to the separator: the display name when
 * there was none. Returns the separator. */
static struct tok trailer(struct lex *lx, pst_addr *a)
{
	struct tok t = next_tok(lx);
	size_t nw = 0;
	char *text = phrase(lx, &t, &nw, NULL);
	if (nw && !*a->display_raw)
		set_display(lx, a, text);
	return skip_item(lx, t);
}

/* The comment stands in for a missing display name. */
static void comment_display(struct lex *lx, pst_addr *a)
{
	if (*a->display_raw || !lx->have_comment)
		return;
	char *c = pst_arena_strndup(lx->arena, lx->s + lx->cstart, lx->cend - lx->cstart);
	if (c == NULL) {
		lx->nomem = 1;
		return;
	}
	set_display(lx, a, c);
}

/* "phrase @ domain": a bare addr-spec, or a display name when '<' follows. */
static struct tok bare_spec(struct lex *lx, struct tok t, size_t pstart, char *local)
{
	t = next_tok(lx);
	char *dom = domain(lx, &t);
	if (is_spec(&t, '<')) {
		pst_addr *a = new_item(lx);
		if (a == NULL)
			return (struct tok){ .type = T_END };
		size_t e = t.start;
		while (e > pstart && is_space(lx->s[e - 1]))
			e--;
		char *raw = pst_arena_strndup(lx->arena, lx->s + pstart, e - pstart);
		if (raw == NULL) {
			lx->nomem = 1;
			raw = (char *)"";
		}
		set_display(lx, a, raw);
		angle_addr(lx, a);
		return trailer(lx, a);
	}
	pst_addr *a = new_item(lx);
	if (a == NULL)
		return (struct tok){ .type = T_END };
	a->flags |= PST_ADDR_NOANGLE;
	a->local = local;
	a->domain = dom;
	make_spec(lx, a);
	if (!*dom)
		a->flags |= PST_ADDR_BAD;
	if (!is_sep(&t)) {
		size_t nw = 0;
		char *text = phrase(lx, &t, &nw, NULL);
		if (nw)
			set_display(lx, a, text);
		t = skip_item(lx, t);
	}
	comment_display(lx, a);
	return t;
}

/* One item starting at t; returns the separator token ending it. */
static struct tok item(struct lex *lx, struct tok t)
{
	size_t pstart = t.start, nw = 0;
	int first_atom = t.type == T_ATOM;
	char *local = NULL;
	char *text = phrase(lx, &t, &nw, &local);
	if (is_spec(&t, '<')) {
		pst_addr *a = new_item(lx);
		if (a == NULL)
			return (struct tok){ .type = T_END };
		if (nw)
			set_display(lx, a, text);
		angle_addr(lx, a);
		t = trailer(lx, a);
		comment_display(lx, a);
		return t;
	}
	if (is_spec(&t, ':') && lx->group == NULL) {
		char *d = NULL;
		size_t n = 0;
		if (pst_rfc2047_decode(lx->arena, text, strlen(text), &d, &n) < 0 || d == NULL)
			lx->nomem = 1;
		lx->group = d ? d : text;
		return (struct tok){ .type = T_SPEC, .c = ':' };
	}
	if (is_spec(&t, '@') && nw)
		return bare_spec(lx, t, pstart, local);
	if (is_sep(&t) && nw == 0)
		return t;   /* an empty item ("a, , b") or a lone comment */
	pst_addr *a = new_item(lx);
	if (a == NULL)
		return (struct tok){ .type = T_END };
	if (is_sep(&t) && nw == 1 && first_atom) {
		a->local = local;
		a->flags |= PST_ADDR_NOANGLE;
		make_spec(lx, a);
		comment_display(lx, a);
		return t;
	}
	a->flags |= PST_ADDR_BAD;
	return skip_item(lx, t);
}

int pst_addr_parse_list(pst_arena *arena, const char *value, size_t len, unsigned flags,
                        pst_addr_list *out)
{
	(void)flags;
	out->items = NULL;
	out->count = 0;
	struct lex lx = { .s = value, .len = len, .arena = arena, .out = out };
	/* Each next_tok() here may start an item: forget the last comment. */
	struct tok t = next_tok(&lx);
	while (t.type != T_END && !lx.nomem) {
		if (is_spec(&t, ',') || is_spec(&t, ':') || is_spec(&t, ';')) {
			if (is_spec(&t, ';'))
				lx.group = NULL;
			lx.have_comment = 0;
			t = next_tok(&lx);
			continue;
		}
		if (out->count >= PST_MAX_ADDRESSES) {
			/* The rest counts as one bad item. */
			pst_addr *a = new_item(&lx);
			if (a)
				a->flags |= PST_ADDR_BAD;
			break;
		}
		t = item(&lx, t);
	}
	pst_buf_free(&lx.scratch);
	return lx.nomem ? -1 : 0;
}

/* ---- Formatting ------------------------------------------------------- */

static int is_ascii_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x7f || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

/* Whether local[0..n) is a dot-atom (RFC 5322 3.2.3, 8-bit atext as RFC
 * 6532): atoms joined by single dots, none at either end. */
static int is_dot_atom(const char *local, size_t n)
{
	if (n == 0 || local[0] == '.' || local[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (local[i] == '.') {
			if (local[i + 1] == '.')
				return 0;
		} else if (!is_atom_char((unsigned char)local[i])) {
			return 0;
		}
	}
	return 1;
}

/* addr_spec as written in a header: a local part that is not a dot-atom
 * ("a b", "x@y") goes back into quotes, its '"' and '\\' quoted. */
static int put_addr_spec(pst_buf *b, const char *addr_spec)
{
	const char *at = strrchr(addr_spec, '@');
	size_t n = at ? (size_t)(at - addr_spec) : strlen(addr_spec);
	int rc = 0;

	if (is_dot_atom(addr_spec, n))
		return pst_buf_puts(b, addr_spec);
	rc |= pst_buf_putc(b, '"');
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (addr_spec[i] == '"' || addr_spec[i] == '\\')
			rc |= pst_buf_putc(b, '\\');
		rc |= pst_buf_putc(b, addr_spec[i]);
	}
	rc |= pst_buf_putc(b, '"');
	if (at)
		rc |= pst_buf_puts(b, at);
	return rc;
}

char *pst_addr_format(pst_arena *arena, const char *display, const char *addr_spec)
{
	pst_buf b = PST_BUF_INIT;
	int rc = 0;
	if (display == NULL || *display == '\0') {
		rc |= put_addr_spec(&b, addr_spec);
	} else {
		if (is_ascii_text(display)) {
			rc |= pst_buf_putc(&b, '"');
			for (const char *p = display; *p && rc == 0; p++) {
				if (*p == '"' || *p == '\\')
					rc |= pst_buf_putc(&b, '\\');
				rc |= pst_buf_putc(&b, *p);
			}
			rc |= pst_buf_putc(&b, '"');
		} else {
			char *enc = pst_rfc2047_encode(arena, display, strlen(display));
			rc |= enc ? pst_buf_puts(&b, enc) : -1;
		}
		rc |= pst_buf_puts(&b, " <");
		rc |= put_addr_spec(&b, addr_spec);
		rc |= pst_buf_putc(&b, '>');
	}
	char *s = rc == 0 ? pst_arena_strndup(arena, b.data ? b.data : "", b.len) : NULL;
	pst_buf_free(&b);
	return s;
}
