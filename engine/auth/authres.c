/*
 * authres.c: Authentication-Results field values (RFC 8601): the parser,
 * the tolerant authserv-id check and the writer; see authres.h.
 *
 * Contract. pst_authres_parse() accepts exactly the authres-payload of
 * RFC 8601 section 2.2 (without the field name and the final CRLF):
 *
 *	[CFWS] authserv-id [CFWS authres-version] (no-result / 1*resinfo) [CFWS]
 *
 * with value (RFC 2045 token or RFC 5322 quoted-string) for authserv-id
 * and reason, Keyword (ldh-str) for method, result, ptype and property,
 * and pvalue = value / [[local-part] "@"] domain-name. CFWS is RFC 5322's:
 * white space, folding, and comments, which nest; a comment is skipped by
 * counting its parentheses, never by recursion, so no input can exhaust
 * the stack. The parse is one left-to-right pass that looks one byte
 * past CFWS and backs up only once, over a first "none" that turns out to
 * be a method's name ("; none=pass"); quoted strings are scanned twice,
 * to size and to copy. Every failure names the 1-based column of the
 * byte that could not be accepted. Results, properties and the value's
 * length are bounded by the PST_AUTHRES_MAX_* constants of authres.h.
 *
 * Nothing is interpreted here: result keywords are not checked against
 * the IANA registry (RFC 8601 section 2.7 lists them; unknown ones are
 * the consumer's to ignore), and properties are kept in field order.
 *
 * pst_authres_has_id() reads only the first word of the value and never
 * fails, so a forged field with our own id is found however broken the
 * rest of it is (RFC 8601 section 5).
 *
 * pst_authres_salvage() is the strict parse first; only a value it refuses
 * is read in pieces, and with the same lexers: the authserv-id as
 * pst_authres_has_id finds it (one function locates it for both), the
 * rest cut at each ';' that is outside comments and quoted strings, and
 * each piece given to the strict methodspec rule with the piece's end as
 * the end of the input, so nothing is read past a ';'. There is one
 * grammar; the salvage only decides where to restart it. Whatever could
 * not be read is flagged (result NULL, or PST_AUTHRES_UNREAD), never guessed.
 *
 * Comments are CFWS and skipped, but for the two that are kept (see
 * authres.h: after the authserv-id, after a result); a kept comment is
 * scanned twice like a quoted string, to size and to copy.
 *
 * pst_authres_format() writes the canonical form: single spaces, the two
 * kinds of comment the parser keeps and no others, values quoted only when
 * they are neither tokens nor (for pvalues) addr-spec forms RFC 8601
 * allows bare. A comment's '(', ')' and '\' become quoted-pairs and its
 * length is capped, so what is written parses back to the same text (cut
 * to the cap).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth/authres.h"

typedef struct ar_parser {
	const char *s;          /* the field value */
	size_t len;
	size_t pos;             /* next byte to read */
	pst_arena *arena;
	char *err;
	size_t errlen;
} ar_parser;

/* Result and property arrays grow by doubling, copied within the arena. */
#define AR_FIRST_CAP 4

/* Record "col N: ..." for byte offset at, errno EINVAL; always -1. */
static int ar_fail(ar_parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ar_fail(ar_parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	errno = EINVAL;
	if (p->err == NULL || p->errlen == 0)
		return -1;
	n = snprintf(p->err, p->errlen, "col %zu: ", at + 1);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int ar_nomem(ar_parser *p)
{
	if (p->err != NULL && p->errlen > 0)
		snprintf(p->err, p->errlen, "out of memory");
	errno = ENOMEM;
	return -1;
}

/* Character classes. */

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_letdig(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 token: US-ASCII printable except SPACE and tspecials. */
static int is_token_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 atext. */
static int is_atext(unsigned char c)
{
	if (is_letdig(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Length (2..4) of the well-formed UTF-8 sequence at s[0..n) (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF); 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* Bytes taken by the non-ASCII character at at, or 0 if it is not one. */
static size_t ar_utf8_at(const ar_parser *p, size_t at)
{
	if (at >= p->len || (unsigned char)p->s[at] < 0x80)
		return 0;
	return utf8_len((const unsigned char *)p->s + at, p->len - at);
}

/* White space and folding. */

/* Length of the line ending at at that is folding (followed by WSP) or
 * the value's trailing line ending; 0 if none. */
static size_t ar_fold_at(const ar_parser *p, size_t at)
{
	size_t n = 0;

	if (at < p->len && p->s[at] == '\r')
		n = 1;
	if (at + n < p->len && p->s[at + n] == '\n')
		n++;
	else
		return 0;
	if (at + n == p->len || is_wsp((unsigned char)p->s[at + n]))
		return n;
	return 0;
}

/* Skip FWS; 1 if anything was skipped. */
static int ar_skip_fws(ar_parser *p)
{
	size_t start = p->pos, n;

	for (;;) {
		if (p->pos < p->len && is_wsp((unsigned char)p->s[p->pos]))
			p->pos++;
		else if ((n = ar_fold_at(p, p->pos)) > 0)
			p->pos += n;
		else
			break;
	}
	return p->pos > start;
}

/* Scan the comment opening at p->pos, nesting counted: the length of its
 * kept text (see authres.h: between the outer parentheses, quoted-pairs
 * unquoted, folding line breaks dropped) into *n, and the text into v
 * when v is not NULL; p->pos ends past the closing parenthesis. Called
 * twice when the text is kept, once to size and once to copy, like
 * ar_quoted_scan. 0 / -1. */
static int ar_comment_scan(ar_parser *p, char *v, size_t *n)
{
	size_t open = p->pos, depth = 0, k = 0, from;

	*n = 0;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		from = p->pos;
		if (c == '(') {
			p->pos++;
			if (depth++ == 0)
				continue;
		} else if (c == ')') {
			p->pos++;
			if (--depth == 0)
				return 0;
		} else if (c == '\\') {
			if (p->pos + 1 >= p->len)
				break;
			c = (unsigned char)p->s[p->pos + 1];
			k = 1;
			if ((c < 0x21 || c > 0x7e) && !is_wsp(c) &&
			    (k = ar_utf8_at(p, p->pos + 1)) == 0)
				return ar_fail(p, p->pos + 1, "invalid quoted-pair in comment");
			from = p->pos + 1;
			p->pos += 1 + k;
		} else if (c >= 0x21 && c <= 0x7e) {
			p->pos++;
		} else if (c >= 0x80) {
			if ((k = ar_utf8_at(p, p->pos)) == 0)
				return ar_fail(p, p->pos, "invalid UTF-8 in comment");
			p->pos += k;
		} else if (ar_skip_fws(p)) {
			/* white space is text, the line breaks of folding are not */
			for (size_t i = from; i < p->pos; i++)
				if (is_wsp((unsigned char)p->s[i])) {
					if (v != NULL)
						v[*n] = p->s[i];
					(*n)++;
				}
			continue;
		} else {
			return ar_fail(p, p->pos, "control character 0x%02x in comment", c);
		}
		if (v != NULL)
			memcpy(v + *n, p->s + from, p->pos - from);
		*n += p->pos - from;
	}
	return ar_fail(p, open, "unterminated comment");
}

/* Skip CFWS; *seen (may be NULL) says whether anything was skipped. When
 * keep is not NULL and *keep is NULL, the first comment's text is kept in
 * *keep (from the arena). 0 / -1. */
static int ar_skip_cfws_keep(ar_parser *p, int *seen, const char **keep)
{
	size_t start = p->pos, open, n;
	char *v;

	for (;;) {
		ar_skip_fws(p);
		if (p->pos < p->len && p->s[p->pos] == '(') {
			open = p->pos;
			if (ar_comment_scan(p, NULL, &n) < 0)
				return -1;
			if (keep != NULL && *keep == NULL) {
				if ((v = pst_arena_alloc(p->arena, n + 1)) == NULL)
					return ar_nomem(p);
				p->pos = open;
				if (ar_comment_scan(p, v, &n) < 0)
					return -1;
				v[n] = '\0';
				*keep = v;
			}
			continue;
		}
		break;
	}
	if (seen != NULL)
		*seen = p->pos > start;
	return 0;
}

/* Skip CFWS, comments not kept. 0 / -1. */
static int ar_skip_cfws(ar_parser *p, int *seen)
{
	return ar_skip_cfws_keep(p, seen, NULL);
}

static int ar_at_end(const ar_parser *p)
{
	return p->pos >= p->len;
}

static int ar_peek(const ar_parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

/* Describe the byte at p->pos for an error message. */
static const char *ar_found(const ar_parser *p, char *buf, size_t n)
{
	int c = ar_peek(p);

	if (c < 0)
		snprintf(buf, n, "end of value");
	else if (c > 0x20 && c < 0x7f)
		snprintf(buf, n, "'%c'", c);
	else
		snprintf(buf, n, "byte 0x%02x", (unsigned)c);
	return buf;
}

static int ar_expected(ar_parser *p, const char *what)
{
	char found[24];

	return ar_fail(p, p->pos, "expected %s, found %s", what,
		       ar_found(p, found, sizeof found));
}

/* Lexical items. */

/* Scan the quoted-string opening at p->pos: its unquoted length into *n,
 * and the text into v when v is not NULL; p->pos ends past the closing
 * quote. Called twice, once to size and once to copy, so a value never
 * costs more memory than its own length. 0 / -1. */
static int ar_quoted_scan(ar_parser *p, char *v, size_t *n)
{
	size_t open = p->pos, k;

	*n = 0;
	p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		size_t from = p->pos, take = 1;

		if (c == '"') {
			p->pos++;
			return 0;
		}
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				break;
			from = p->pos + 1;
			c = (unsigned char)p->s[from];
			if (c >= 0x80 && (k = ar_utf8_at(p, from)) > 0)
				take = k;
			else if ((c < 0x21 || c > 0x7e) && !is_wsp(c))
				return ar_fail(p, from, "invalid quoted-pair in quoted string");
			p->pos++;
		} else if (c >= 0x80) {
			if ((take = ar_utf8_at(p, p->pos)) == 0)
				return ar_fail(p, p->pos, "invalid UTF-8 in quoted string");
		} else if (c < 0x21 && !is_wsp(c)) {
			if ((k = ar_fold_at(p, p->pos)) > 0 && p->pos + k < p->len) {
				p->pos += k;    /* folding: the line break is not content */
				continue;
			}
			return ar_fail(p, p->pos, "control character 0x%02x in quoted string", c);
		} else if (c == 0x7f) {
			return ar_fail(p, p->pos, "control character 0x7f in quoted string");
		}
		if (v != NULL)
			memcpy(v + *n, p->s + from, take);
		*n += take;
		p->pos += take;
	}
	return ar_fail(p, open, "unterminated quoted string");
}

/* A quoted-string at p->pos into *out, unquoted. 0 / -1. */
static int ar_quoted(ar_parser *p, const char **out)
{
	size_t open = p->pos, n;
	char *v;

	if (ar_quoted_scan(p, NULL, &n) < 0)
		return -1;
	if ((v = pst_arena_alloc(p->arena, n + 1)) == NULL)
		return ar_nomem(p);
	p->pos = open;
	if (ar_quoted_scan(p, v, &n) < 0)
		return -1;
	v[n] = '\0';
	*out = v;
	return 0;
}

/* Length of the run of bytes of class is() at at. */
static size_t ar_run(const ar_parser *p, size_t at, int (*is)(unsigned char))
{
	size_t n = 0;

	while (at + n < p->len && is((unsigned char)p->s[at + n]))
		n++;
	return n;
}

/* A Keyword (ldh-str: Let-dig *( *"-" Let-dig )) into *out, lower case. */
static int ar_keyword(ar_parser *p, const char **out, const char *what)
{
	size_t start = p->pos, n = 0;
	char *v;

	if (ar_at_end(p) || !is_letdig((unsigned char)p->s[start]))
		return ar_expected(p, what);
	while (start + n < p->len &&
	       (is_letdig((unsigned char)p->s[start + n]) || p->s[start + n] == '-'))
		n++;
	while (p->s[start + n - 1] == '-')
		n--;            /* an ldh-str does not end in '-' */
	if ((v = pst_arena_alloc(p->arena, n + 1)) == NULL)
		return ar_nomem(p);
	for (size_t i = 0; i < n; i++)
		v[i] = (char)lower((unsigned char)p->s[start + i]);
	v[n] = '\0';
	p->pos = start + n;
	*out = v;
	return 0;
}

/* A value (token or quoted-string) into *out. */
static int ar_value(ar_parser *p, const char **out, const char *what)
{
	size_t n;
	char *v;

	if (ar_peek(p) == '"')
		return ar_quoted(p, out);
	if ((n = ar_run(p, p->pos, is_token_char)) == 0)
		return ar_expected(p, what);
	if ((v = pst_arena_strndup(p->arena, p->s + p->pos, n)) == NULL)
		return ar_nomem(p);
	p->pos += n;
	*out = v;
	return 0;
}

/* 1*DIGIT into *out, at most PST_AUTHRES_MAX_VERSION. */
static int ar_number(ar_parser *p, int *out, const char *what)
{
	size_t start = p->pos;
	int v = 0, d;

	if (!is_digit((unsigned char)ar_peek(p)))
		return ar_expected(p, what);
	while (is_digit((unsigned char)ar_peek(p))) {
		d = p->s[p->pos] - '0';
		if (v > (PST_AUTHRES_MAX_VERSION - d) / 10)
			return ar_fail(p, start, "%s larger than %d", what,
				       PST_AUTHRES_MAX_VERSION);
		v = v * 10 + d;
		p->pos++;
	}
	*out = v;
	return 0;
}

/* Bytes of a domain-name's label character (Let-dig, '-', or UTF-8 of a
 * U-label) at at; 0 if none. */
static size_t ar_label_char(const ar_parser *p, size_t at)
{
	unsigned char c;

	if (at >= p->len)
		return 0;
	c = (unsigned char)p->s[at];
	if (is_letdig(c) || c == '-')
		return 1;
	return ar_utf8_at(p, at);
}

/* Length of the domain-name (RFC 6376: sub-domain *("." sub-domain),
 * U-labels allowed by RFC 8616) at at, or 0 if there is none. Labels
 * neither start nor end with '-'. */
static size_t ar_domain_len(const ar_parser *p, size_t at)
{
	size_t i = at, k, label;

	for (;;) {
		label = i;
		if (i < p->len && p->s[i] == '-')
			return 0;
		while ((k = ar_label_char(p, i)) > 0)
			i += k;
		if (i == label || p->s[i - 1] == '-')
			return 0;
		if (i + 1 < p->len && p->s[i] == '.' && ar_label_char(p, i + 1) > 0)
			i++;
		else
			return i - at;
	}
}

/* Length of the dot-atom-text (UTF-8 allowed, RFC 6532) at at, or 0. */
static size_t ar_dot_atom_len(const ar_parser *p, size_t at)
{
	size_t i = at, k, atom;

	for (;;) {
		atom = i;
		for (;;) {
			if (i < p->len && is_atext((unsigned char)p->s[i]))
				i++;
			else if ((k = ar_utf8_at(p, i)) > 0)
				i += k;
			else
				break;
		}
		if (i == atom)
			return 0;
		if (i + 1 < p->len && p->s[i] == '.')
			i++;
		else
			return i - at;
	}
}

/* The domain-name after the '@' at p->pos; the pvalue is s[start..end). */
static int ar_after_at(ar_parser *p, size_t start, const char **out)
{
	size_t d;
	char *v;

	p->pos++;
	if ((d = ar_domain_len(p, p->pos)) == 0)
		return ar_expected(p, "a domain name after '@'");
	p->pos += d;
	if ((v = pst_arena_strndup(p->arena, p->s + start, p->pos - start)) == NULL)
		return ar_nomem(p);
	*out = v;
	return 0;
}

/* pvalue = value / [[local-part] "@"] domain-name, CFWS around it being
 * the caller's. */
static int ar_pvalue(ar_parser *p, const char **out)
{
	size_t start = p->pos, tok, dom, loc;
	char *v;

	if (ar_peek(p) == '"') {
		if (ar_quoted(p, out) < 0)
			return -1;
		if (ar_peek(p) == '@')
			return ar_after_at(p, start, out);
		return 0;
	}
	if (ar_peek(p) == '@')
		return ar_after_at(p, start, out);
	loc = ar_dot_atom_len(p, start);
	if (loc > 0 && start + loc < p->len && p->s[start + loc] == '@') {
		p->pos = start + loc;
		return ar_after_at(p, start, out);
	}
	tok = ar_run(p, start, is_token_char);
	dom = ar_domain_len(p, start);
	if (tok == 0 && dom == 0)
		return ar_expected(p, "a property value");
	if (dom > tok)
		tok = dom;      /* a domain-name with U-labels */
	if ((v = pst_arena_strndup(p->arena, p->s + start, tok)) == NULL)
		return ar_nomem(p);
	p->pos = start + tok;
	*out = v;
	return 0;
}

/* Growing arrays. */

static int ar_grow(ar_parser *p, void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : AR_FIRST_CAP;
	void *a;

	if (n < *cap)
		return 0;
	if ((a = pst_arena_calloc(p->arena, ncap, size)) == NULL)
		return ar_nomem(p);
	if (n > 0)
		memcpy(a, *arr, n * size);
	*arr = a;
	*cap = ncap;
	return 0;
}

/* Grammar. */

/* One propspec after its ptype: "." property "=" pvalue. */
static int ar_propspec(ar_parser *p, pst_authres_result *r, size_t *cap, const char *ptype)
{
	pst_authres_prop *pr;
	void *arr = r->props;

	if (ar_peek(p) != '.')
		return ar_expected(p, "'.' after the property type");
	p->pos++;
	if (r->nprops >= PST_AUTHRES_MAX_PROPS)
		return ar_fail(p, p->pos, "more than %d properties in one result",
			       PST_AUTHRES_MAX_PROPS);
	if (ar_grow(p, &arr, cap, r->nprops, sizeof *r->props) < 0)
		return -1;
	r->props = arr;
	pr = &r->props[r->nprops];
	pr->ptype = ptype;
	if (ar_skip_cfws(p, NULL) < 0 || ar_keyword(p, &pr->property, "a property name") < 0 ||
	    ar_skip_cfws(p, NULL) < 0)
		return -1;
	if (ar_peek(p) != '=')
		return ar_expected(p, "'=' after the property name");
	p->pos++;
	if (ar_skip_cfws(p, NULL) < 0 || ar_pvalue(p, &pr->value) < 0)
		return -1;
	r->nprops++;
	return 0;
}

/* methodspec: method ["/" version] "=" result, CFWS between, the first
 * byte of method at p->pos. */
static int ar_methodspec(ar_parser *p, pst_authres_result *r)
{
	r->method_version = 1;
	if (ar_keyword(p, &r->method, "a method name") < 0 || ar_skip_cfws(p, NULL) < 0)
		return -1;
	if (ar_peek(p) == '/') {
		p->pos++;
		if (ar_skip_cfws(p, NULL) < 0 ||
		    ar_number(p, &r->method_version, "a method version") < 0 ||
		    ar_skip_cfws(p, NULL) < 0)
			return -1;
	}
	if (ar_peek(p) != '=')
		return ar_expected(p, "'=' after the method");
	p->pos++;
	if (ar_skip_cfws(p, NULL) < 0)
		return -1;
	return ar_keyword(p, &r->result, "a result keyword");
}

/* resinfo after its ';' and CFWS: methodspec [CFWS reasonspec]
 * [CFWS 1*propspec]. Stops before the next ';' or at the end. */
static int ar_resinfo(ar_parser *p, pst_authres_result *r)
{
	size_t cap = 0, at;
	int seen;
	const char *kw;

	if (ar_methodspec(p, r) < 0 || ar_skip_cfws_keep(p, &seen, &r->comment) < 0)
		return -1;
	while (!ar_at_end(p) && ar_peek(p) != ';') {
		if (!seen)
			return ar_expected(p, "white space, ';' or end of value");
		at = p->pos;
		if (ar_keyword(p, &kw, "a property, ';' or end of value") < 0 ||
		    ar_skip_cfws(p, NULL) < 0)
			return -1;
		if (strcmp(kw, "reason") == 0 && ar_peek(p) == '=') {
			if (r->reason != NULL || r->nprops > 0)
				return ar_fail(p, at, "reason= must come once, before the properties");
			p->pos++;
			if (ar_skip_cfws(p, NULL) < 0 || ar_value(p, &r->reason, "a reason") < 0 ||
			    ar_skip_cfws(p, &seen) < 0)
				return -1;
			continue;
		}
		if (ar_propspec(p, r, &cap, kw) < 0 || ar_skip_cfws(p, NULL) < 0)
			return -1;
		seen = 1;       /* pvalue [CFWS]: the next propspec may follow directly */
	}
	return 0;
}

/* After the authserv-id and version: no-result / 1*resinfo, then end. */
static int ar_results(ar_parser *p, pst_authres *out)
{
	size_t cap = 0, save;
	void *arr = NULL;
	const char *kw;

	if (ar_peek(p) != ';')
		return ar_expected(p, "';' after the authserv-id");
	while (ar_peek(p) == ';') {
		p->pos++;
		if (ar_skip_cfws(p, NULL) < 0)
			return -1;
		if (out->nresults == 0) {
			/* "none" unless it turns out to be a method named none */
			save = p->pos;
			if (ar_keyword(p, &kw, "a method name or 'none'") < 0)
				return -1;
			if (strcmp(kw, "none") == 0) {
				if (ar_skip_cfws(p, NULL) < 0)
					return -1;
				if (ar_peek(p) != '=' && ar_peek(p) != '/') {
					out->none = 1;
					break;
				}
			}
			p->pos = save;
		}
		if (out->nresults >= PST_AUTHRES_MAX_RESULTS)
			return ar_fail(p, p->pos, "more than %d results", PST_AUTHRES_MAX_RESULTS);
		if (ar_grow(p, &arr, &cap, out->nresults, sizeof *out->results) < 0)
			return -1;
		out->results = arr;
		if (ar_resinfo(p, &out->results[out->nresults]) < 0)
			return -1;
		out->nresults++;
	}
	if (!ar_at_end(p))
		return ar_expected(p, out->none ? "end of value after 'none'" : "';' or end of value");
	return 0;
}

int pst_authres_parse(pst_arena *arena, const char *value, size_t len, pst_authres *out,
		      char *err, size_t errlen)
{
	ar_parser p = { value, len, 0, arena, err, errlen };
	int seen;

	memset(out, 0, sizeof *out);
	out->version = 1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > PST_AUTHRES_MAX_BYTES)
		return ar_fail(&p, PST_AUTHRES_MAX_BYTES, "field value longer than %d bytes",
			       PST_AUTHRES_MAX_BYTES);
	if (ar_skip_cfws(&p, NULL) < 0 ||
	    ar_value(&p, &out->authserv_id, "an authserv-id") < 0 ||
	    ar_skip_cfws_keep(&p, &seen, &out->comment) < 0)
		goto fail;
	if (is_digit((unsigned char)ar_peek(&p))) {
		if (!seen) {
			ar_expected(&p, "white space before the version");
			goto fail;
		}
		if (ar_number(&p, &out->version, "an authres-version") < 0 ||
		    ar_skip_cfws_keep(&p, NULL, &out->comment) < 0)
			goto fail;
	}
	if (ar_results(&p, out) < 0)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof *out);
	out->version = 1;
	return -1;
}

/* The tolerant reading: the authserv-id, then results piece by piece. */

/* Where the authserv-id of value lies, after any leading CFWS (comments
 * counted, quoted-pairs in them skipped): [*from, *to) is a quoted id's
 * text between its quotes (to the end of value when unterminated) or a
 * bare id's run of printable non-space bytes ending at white space, '('
 * or ';'; *after is the first byte past it. 1, or 0 when there is no id
 * (nothing but CFWS, or an unterminated comment). */
static int ar_id_span(const char *value, size_t len, size_t *from, size_t *to,
		      size_t *after, int *quoted)
{
	size_t i = 0, depth = 0;

	while (i < len) {
		unsigned char c = (unsigned char)value[i];

		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
		} else if (c == '(') {
			depth++;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
		} else {
			break;
		}
	}
	if (i >= len)
		return 0;
	*quoted = value[i] == '"';
	if (*quoted) {
		*from = ++i;
		for (; i < len && value[i] != '"'; i++)
			if (value[i] == '\\' && i + 1 < len)
				i++;
		*to = i;
		*after = i < len ? i + 1 : i;
		return 1;
	}
	*from = i;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c <= 0x20 || c == 0x7f || c == '(' || c == ';')
			break;
	}
	*to = *after = i;
	return 1;
}

/* The next byte of the id text in [*i, to), a quoted id's quoted-pairs
 * unquoted and line breaks dropped; -1 past the end. */
static int ar_id_next(const char *value, size_t to, size_t *i, int quoted)
{
	while (*i < to) {
		unsigned char c = (unsigned char)value[(*i)++];

		if (!quoted)
			return c;
		if (c == '\\' && *i < to)
			return (unsigned char)value[(*i)++];
		if (c != '\r' && c != '\n')
			return c;
	}
	return -1;
}

int pst_authres_has_id(const char *value, size_t len, const char *id)
{
	size_t from, to, after, n = 0, idlen;
	int quoted, c;

	if (value == NULL || id == NULL || (idlen = strlen(id)) == 0 ||
	    !ar_id_span(value, len, &from, &to, &after, &quoted))
		return 0;
	while ((c = ar_id_next(value, to, &from, quoted)) >= 0) {
		if (n >= idlen || lower((unsigned char)c) != lower((unsigned char)id[n]))
			return 0;
		n++;
	}
	return n == idlen;
}

/* The end of the piece that starts at from: the next ';' outside comments
 * and quoted strings, or the end of the value; *open is set when a comment
 * or quoted string is still open there. */
static size_t ar_piece_end(const ar_parser *p, size_t from, int *open)
{
	size_t depth = 0;
	int inquote = 0;

	*open = 0;
	for (size_t i = from; i < p->len; i++) {
		char c = p->s[i];

		if ((depth > 0 || inquote) && c == '\\')
			i++;
		else if (inquote)
			inquote = c != '"';
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c == '"')
			inquote = 1;
		else if (depth == 0 && c == ';')
			return i;
	}
	*open = depth > 0 || inquote;
	return p->len;
}

/* Whether what stands between the authserv-id and the first ';' (p->pos
 * to p->len) is CFWS with an optional version. */
static int ar_salvage_head(ar_parser *p)
{
	int v;

	if (ar_skip_cfws(p, NULL) < 0)
		return 0;
	if (is_digit((unsigned char)ar_peek(p)) &&
	    (ar_number(p, &v, "") < 0 || ar_skip_cfws(p, NULL) < 0))
		return 0;
	return ar_at_end(p);
}

/* One piece (p->pos to p->len): its methodspec into r. 1 read (r->result
 * NULL when only the method could be), 0 nothing to read (empty, or the
 * no-result "none"), 2 no method could be read, -1 ENOMEM. */
static int ar_salvage_piece(ar_parser *p, pst_authres_result *r)
{
	size_t start;
	const char *method;
	int c;

	memset(r, 0, sizeof *r);
	r->method_version = 1;
	if (ar_skip_cfws(p, NULL) < 0)
		return 2;
	if (ar_at_end(p))
		return 0;
	start = p->pos;
	if (ar_keyword(p, &method, "") < 0)
		return errno == ENOMEM ? -1 : 2;
	if (strcmp(method, "none") == 0 && ar_skip_cfws(p, NULL) == 0 && ar_at_end(p))
		return 0;
	p->pos = start;
	if (ar_methodspec(p, r) == 0) {
		c = ar_peek(p);
		if (c < 0 || is_wsp((unsigned char)c) || c == '(' || c == '\r' || c == '\n')
			return 1;
	} else if (errno == ENOMEM) {
		return -1;
	}
	r->method = method;
	r->method_version = 1;
	r->result = NULL;
	return 1;
}

/* The authserv-id's text in [from, to), from the arena; NULL on ENOMEM. */
static const char *ar_salvage_id(pst_arena *arena, const char *value, size_t from, size_t to,
				 int quoted)
{
	size_t n = 0, i = from;
	char *v;
	int c;

	while (ar_id_next(value, to, &i, quoted) >= 0)
		n++;
	if ((v = pst_arena_alloc(arena, n + 1)) == NULL)
		return NULL;
	for (n = 0, i = from; (c = ar_id_next(value, to, &i, quoted)) >= 0; n++)
		v[n] = (char)c;
	v[n] = '\0';
	return v;
}

/* The value read in pieces (see authres.h) into out, zeroed with version
 * 1 by the failed strict parse; *how gets the PST_AUTHRES_* bits. 0 / -1
 * on ENOMEM. */
static int ar_salvage(pst_arena *arena, const char *value, size_t len, pst_authres *out,
		      unsigned *how)
{
	size_t lim = len < PST_AUTHRES_MAX_BYTES ? len : PST_AUTHRES_MAX_BYTES;
	ar_parser p = { value, lim, 0, arena, NULL, 0 };
	size_t from, to, after, end, cap = 0;
	void *arr = NULL;
	int quoted, open = 0, rc;

	*how = PST_AUTHRES_SALVAGED | (len > lim ? PST_AUTHRES_UNREAD : 0);
	if (!ar_id_span(value, lim, &from, &to, &after, &quoted)) {
		*how |= PST_AUTHRES_UNREAD;
		return 0;
	}
	if ((out->authserv_id = ar_salvage_id(arena, value, from, to, quoted)) == NULL)
		return -1;
	/* the head: CFWS and a version up to the first ';' */
	end = ar_piece_end(&p, after, &open);
	p.pos = after;
	p.len = end;
	if (!ar_salvage_head(&p) || end == lim)
		*how |= PST_AUTHRES_UNREAD;        /* junk before the first ';', or no ';' */
	/* then one piece after each ';' */
	while (end < lim && !open) {
		p.pos = end + 1;
		p.len = lim;
		end = ar_piece_end(&p, p.pos, &open);
		p.len = end;
		if (out->nresults >= PST_AUTHRES_MAX_RESULTS) {
			*how |= PST_AUTHRES_UNREAD;
			break;
		}
		if (ar_grow(&p, &arr, &cap, out->nresults, sizeof *out->results) < 0)
			return -1;
		out->results = arr;
		if ((rc = ar_salvage_piece(&p, &out->results[out->nresults])) < 0)
			return -1;
		if (rc == 1)
			out->nresults++;
		else if (rc == 2)
			*how |= PST_AUTHRES_UNREAD;
	}
	if (open)
		*how |= PST_AUTHRES_UNREAD;
	return 0;
}

int pst_authres_salvage(pst_arena *arena, const char *value, size_t len, pst_authres *out,
			unsigned *how)
{
	*how = 0;
	if (pst_authres_parse(arena, value, len, out, NULL, 0) == 0)
		return 0;
	if (errno == ENOMEM)
		return -1;
	if (ar_salvage(arena, value, len, out, how) == 0)
		return 0;
	*how = 0;
	memset(out, 0, sizeof *out);
	out->version = 1;
	errno = ENOMEM;
	return -1;
}

/* The writer. */

static int fmt_is_keyword(const char *s)
{
	size_t n;

	if (s == NULL || !is_letdig((unsigned char)s[0]))
		return 0;
	n = strlen(s);
	if (s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_letdig((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* No control characters (TAB allowed) and no invalid UTF-8. */
static int fmt_is_writable(const char *s)
{
	size_t n = strlen(s), k;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			if ((k = utf8_len((const unsigned char *)s + i, n - i)) == 0)
				return 0;
			i += k - 1;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return 0;
		}
	}
	return 1;
}

static int fmt_is_token(const char *s)
{
	if (s[0] == '\0')
		return 0;
	for (size_t i = 0; s[i] != '\0'; i++)
		if (!is_token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Whether a pvalue may stay bare as [[local-part] "@"] domain-name. */
static int fmt_is_bare_addr(const char *s)
{
	ar_parser p = { s, strlen(s), 0, NULL, NULL, 0 };
	const char *at = strrchr(s, '@');
	size_t loc = 0;

	if (p.len == 0)
		return 0;
	if (at == NULL)
		return ar_domain_len(&p, 0) == p.len;
	if (at > s && (loc = ar_dot_atom_len(&p, 0)) != (size_t)(at - s))
		return 0;
	/* A domain must follow the "@": "x@" written bare does not parse. */
	size_t dlen = ar_domain_len(&p, loc + 1);
	return dlen > 0 && dlen == p.len - loc - 1;
}

static int fmt_quoted(pst_buf *out, const char *s)
{
	if (pst_buf_putc(out, '"') < 0)
		return -1;
	for (; *s != '\0'; s++) {
		if ((*s == '"' || *s == '\\') && pst_buf_putc(out, '\\') < 0)
			return -1;
		if (pst_buf_putc(out, *s) < 0)
			return -1;
	}
	return pst_buf_putc(out, '"');
}

static int fmt_value(pst_buf *out, const char *s, int pvalue)
{
	if (fmt_is_token(s) || (pvalue && fmt_is_bare_addr(s)))
		return pst_buf_puts(out, s);
	return fmt_quoted(out, s);
}

/* " (text)" for a non-empty comment, '(', ')' and '\' quoted, at most
 * PST_AUTHRES_MAX_COMMENT bytes between the parentheses; nothing for NULL
 * or "". The text has passed fmt_is_writable. */
static int fmt_comment(pst_buf *out, const char *s)
{
	size_t n, used = 0, k, esc;

	if (s == NULL || *s == '\0')
		return 0;
	if (pst_buf_puts(out, " (") < 0)
		return -1;
	n = strlen(s);
	for (size_t i = 0; i < n; i += k) {
		unsigned char c = (unsigned char)s[i];

		k = c >= 0x80 ? utf8_len((const unsigned char *)s + i, n - i) : 1;
		esc = c == '(' || c == ')' || c == '\\';
		if (used + esc + k > PST_AUTHRES_MAX_COMMENT)
			break;
		if ((esc && pst_buf_putc(out, '\\') < 0) || pst_buf_append(out, s + i, k) < 0)
			return -1;
		used += esc + k;
	}
	return pst_buf_putc(out, ')');
}

static int fmt_check(const pst_authres *ar)
{
	if (ar->authserv_id == NULL || !fmt_is_writable(ar->authserv_id) ||
	    (ar->comment != NULL && !fmt_is_writable(ar->comment)))
		return -1;
	if (ar->nresults > 0 && ar->results == NULL)
		return -1;
	for (size_t i = 0; i < ar->nresults; i++) {
		const pst_authres_result *r = &ar->results[i];

		if (!fmt_is_keyword(r->method) || !fmt_is_keyword(r->result) ||
		    (r->reason != NULL && !fmt_is_writable(r->reason)) ||
		    (r->comment != NULL && !fmt_is_writable(r->comment)) ||
		    (r->nprops > 0 && r->props == NULL))
			return -1;
		for (size_t j = 0; j < r->nprops; j++) {
			const pst_authres_prop *pr = &r->props[j];

			if (!fmt_is_keyword(pr->ptype) || !fmt_is_keyword(pr->property) ||
			    pr->value == NULL || !fmt_is_writable(pr->value))
				return -1;
		}
	}
	return 0;
}

static int fmt_result(pst_buf *out, const pst_authres_result *r)
{
	if (pst_buf_puts(out, r->method) < 0 ||
	    (r->method_version > 1 && pst_buf_printf(out, "/%d", r->method_version) < 0) ||
	    pst_buf_putc(out, '=') < 0 || pst_buf_puts(out, r->result) < 0 ||
	    fmt_comment(out, r->comment) < 0)
		return -1;
	if (r->reason != NULL &&
	    (pst_buf_puts(out, " reason=") < 0 || fmt_value(out, r->reason, 0) < 0))
		return -1;
	for (size_t j = 0; j < r->nprops; j++) {
		const pst_authres_prop *pr = &r->props[j];

		if (pst_buf_printf(out, " %s.%s=", pr->ptype, pr->property) < 0 ||
		    fmt_value(out, pr->value, 1) < 0)
			return -1;
	}
	return 0;
}

int pst_authres_format(const pst_authres *ar, pst_buf *out)
{
	size_t orig = out->len;

	if (fmt_check(ar) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (fmt_value(out, ar->authserv_id, 0) < 0 ||
	    (ar->version > 1 && pst_buf_printf(out, " %d", ar->version) < 0) ||
	    fmt_comment(out, ar->comment) < 0)
		goto nomem;
	if (ar->nresults == 0) {
		if (pst_buf_puts(out, "; none") < 0)
			goto nomem;
		return 0;
	}
	for (size_t i = 0; i < ar->nresults; i++)
		if (pst_buf_puts(out, "; ") < 0 || fmt_result(out, &ar->results[i]) < 0)
			goto nomem;
	return 0;
nomem:
	if (out->data != NULL) {
		out->len = orig;
		out->data[orig] = '\0';
	}
	errno = ENOMEM;
	return -1;
}
