/*
 * fixture_parse.c: one line of a DNS fixture file into records, directives
 * or errors (the file format is described in fixture.h).
 *
 * A line is read with a cursor over its bytes: white space separates
 * fields, ';' outside quotes starts a comment, columns are 1-based byte
 * offsets. Each function reports its own errors at the column of the field
 * at fault, in the words of the field ("MX record: missing exchange name"),
 * and the line is then abandoned, so one bad line costs one message and the
 * next line is parsed as usual.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/fixture_private.h"
#include "util/buf.h"
#include "util/domain.h"
#include "util/limits.h"

/* Fields are quoted in messages up to this many bytes. */
#define SHOW 64

struct cur {
	const char *p;
	size_t n, i;
	unsigned line;
};

struct tok {
	const char *s;
	size_t n;
	unsigned col;
};

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static void skip_ws(struct cur *c)
{
	while (c->i < c->n && is_ws(c->p[c->i]))
		c->i++;
}

/* After white space: is the rest of the line empty or a comment? */
static int at_end(struct cur *c)
{
	skip_ws(c);
	return c->i >= c->n || c->p[c->i] == ';';
}

static unsigned col_of(const struct cur *c)
{
	return (unsigned)c->i + 1;
}

/* The next field; 0 (and t->n == 0) at the end of the line. */
static int next_tok(struct cur *c, struct tok *t)
{
	if (at_end(c)) {
		t->s = c->p + c->i;
		t->n = 0;
		t->col = col_of(c);
		return 0;
	}
	t->s = c->p + c->i;
	t->col = col_of(c);
	while (c->i < c->n && !is_ws(c->p[c->i]) && c->p[c->i] != ';')
		c->i++;
	t->n = (size_t)(c->p + c->i - t->s);
	return 1;
}

static int tok_is(const struct tok *t, const char *word)
{
	return t->n == strlen(word) && strncasecmp(t->s, word, t->n) == 0;
}

static int all_digits(const struct tok *t)
{
	if (t->n == 0)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->s[i] < '0' || t->s[i] > '9')
			return 0;
	return 1;
}

/* Decimal value of an all-digit field, saturating above max + 1. */
static unsigned long tok_number(const struct tok *t, unsigned long max)
{
	unsigned long v = 0;

	for (size_t i = 0; i < t->n && v <= max; i++)
		v = v * 10 + (unsigned long)(t->s[i] - '0');
	return v;
}

/* Normalise a name field. what names it in messages ("owner name",
 * "MX record: exchange"). allow_root: "." is the root (""). NULL on error
 * (reported) or ENOMEM. */
static const char *parse_name(fix_loader *L, const struct tok *t, unsigned line,
			      const char *what, int allow_root)
{
	pst_buf full = PST_BUF_INIT;
	const char *why, *out;
	char *norm;

	if (t->n == 1 && t->s[0] == '.') {
		if (allow_root)
			return "";
		pst_dnsfix_error(L, line, t->col, "%s: the root name \".\" is not allowed here", what);
		return NULL;
	}
	if (t->n == 1 && t->s[0] == '@') {
		if (L->origin == NULL)
			pst_dnsfix_error(L, line, t->col, "%s: \"@\" needs an $ORIGIN line before it", what);
		return L->origin;
	}
	if (t->s[0] == '*') {
		pst_dnsfix_error(L, line, t->col, "%s \"%.*s\": wildcard names are not supported",
			  what, (int)(t->n > SHOW ? SHOW : t->n), t->s);
		return NULL;
	}
	if (pst_buf_append(&full, t->s, t->n) != 0 ||
	    (L->origin != NULL && t->s[t->n - 1] != '.' &&
	     pst_buf_printf(&full, ".%s", L->origin) != 0)) {
		pst_buf_free(&full);
		L->nomem = 1;
		return NULL;
	}
	norm = pst_domain_normalize(pst_buf_str(&full), full.len, &why);
	pst_buf_free(&full);
	if (norm == NULL) {
		pst_dnsfix_error(L, line, t->col, "%s \"%.*s\": %s", what,
			  (int)(t->n > SHOW ? SHOW : t->n), t->s, why);
		return NULL;
	}
	if (L->last_owner != NULL && strcmp(norm, L->last_owner) == 0)
		out = L->last_owner;
	else if ((out = pst_arena_strdup(L->arena, norm)) == NULL)
		L->nomem = 1;
	free(norm);
	return out;
}

/* Report text after the data, if any; 0 when the line ended properly. */
static int expect_end(fix_loader *L, struct cur *c, const char *what)
{
	struct tok t;

	if (!next_tok(c, &t))
		return 0;
	pst_dnsfix_error(L, c->line, t.col, "%s: unexpected \"%.*s\" after the data", what,
		  (int)(t.n > SHOW ? SHOW : t.n), t.s);
	return -1;
}

static int parse_addr(fix_loader *L, struct cur *c, const char *what, pst_dns_rr *rr)
{
	struct tok t;
	int v6 = rr->type == ns_t_aaaa;

	if (!next_tok(c, &t)) {
		pst_dnsfix_error(L, c->line, t.col, "%s: missing address", what);
		return -1;
	}
	if ((memchr(t.s, ':', t.n) != NULL) != v6 || pst_ip_parse(t.s, t.n, &rr->addr) != 0) {
		pst_dnsfix_error(L, c->line, t.col, "%s: \"%.*s\" is not an IPv%d address", what,
			  (int)(t.n > SHOW ? SHOW : t.n), t.s, v6 ? 6 : 4);
		return -1;
	}
	return 0;
}

/* One \X or \DDD escape at c->i (the backslash); appends the byte. */
static int parse_escape(fix_loader *L, struct cur *c, const char *what, pst_buf *b)
{
	unsigned col = col_of(c);
	const char *d = c->p + c->i + 1;
	size_t left = c->n - c->i - 1;
	unsigned v;

	if (d[0] < '0' || d[0] > '9') {
		c->i += 2;
		return pst_buf_putc(b, d[0]) == 0 ? 0 : (L->nomem = 1, -1);
	}
	if (left < 3 || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9') {
		pst_dnsfix_error(L, c->line, col, "%s: \\DDD escape needs three digits", what);
		return -1;
	}
	v = (unsigned)(d[0] - '0') * 100 + (unsigned)(d[1] - '0') * 10 + (unsigned)(d[2] - '0');
	if (v > 255) {
		pst_dnsfix_error(L, c->line, col, "%s: escape \\%.3s is over 255", what, d);
		return -1;
	}
	c->i += 4;
	return pst_buf_putc(b, (char)v) == 0 ? 0 : (L->nomem = 1, -1);
}

/* One quoted character-string starting at the '"' under the cursor. */
static int parse_quoted(fix_loader *L, struct cur *c, const char *what, pst_buf *b)
{
	unsigned open_col = col_of(c);

	c->i++;
	for (;;) {
		if (c->i >= c->n || (c->p[c->i] == '\\' && c->i + 1 >= c->n)) {
			pst_dnsfix_error(L, c->line, open_col, "%s: unterminated quoted string", what);
			return -1;
		}
		if (c->p[c->i] == '"') {
			c->i++;
			return 0;
		}
		if (c->p[c->i] == '\\') {
			if (parse_escape(L, c, what, b) != 0)
				return -1;
			continue;
		}
		if (pst_buf_putc(b, c->p[c->i]) != 0) {
			L->nomem = 1;
			return -1;
		}
		c->i++;
	}
}

static int parse_text(fix_loader *L, struct cur *c, const char *what, pst_dns_rr *rr)
{
	pst_buf b = PST_BUF_INIT;
	size_t strings = 0;
	int rc = -1;

	while (!at_end(c)) {
		if (c->p[c->i] != '"') {
			pst_dnsfix_error(L, c->line, col_of(c), "%s: text must be in double quotes", what);
			goto out;
		}
		if (parse_quoted(L, c, what, &b) != 0)
			goto out;
		strings++;
		if (b.len > PST_MAX_DNS_TXT_BYTES) {
			pst_dnsfix_error(L, c->line, col_of(c), "%s: text longer than %d bytes", what,
				  PST_MAX_DNS_TXT_BYTES);
			goto out;
		}
	}
	if (strings == 0) {
		pst_dnsfix_error(L, c->line, col_of(c), "%s: missing quoted string", what);
		goto out;
	}
	rr->text_len = b.len;
	rr->text = pst_arena_strndup(L->arena, pst_buf_str(&b), b.len);
	if (rr->text == NULL)
		L->nomem = 1;
	else
		rc = 0;
out:
	pst_buf_free(&b);
	return rc;
}

static int parse_mx(fix_loader *L, struct cur *c, const char *what, pst_dns_rr *rr)
{
	struct tok t;
	char label[80];

	if (!next_tok(c, &t)) {
		pst_dnsfix_error(L, c->line, t.col, "%s: missing preference", what);
		return -1;
	}
	if (!all_digits(&t) || tok_number(&t, 65535) > 65535) {
		pst_dnsfix_error(L, c->line, t.col,
			  "%s: preference \"%.*s\" is not a number from 0 to 65535", what,
			  (int)(t.n > SHOW ? SHOW : t.n), t.s);
		return -1;
	}
	rr->pref = (uint16_t)tok_number(&t, 65535);
	if (!next_tok(c, &t)) {
		pst_dnsfix_error(L, c->line, t.col, "%s: missing exchange name", what);
		return -1;
	}
	snprintf(label, sizeof label, "%s: exchange", what);
	rr->target = parse_name(L, &t, c->line, label, 1);
	return rr->target == NULL ? -1 : 0;
}

static int parse_target(fix_loader *L, struct cur *c, const char *what, pst_dns_rr *rr)
{
	struct tok t;
	char label[80];

	if (!next_tok(c, &t)) {
		pst_dnsfix_error(L, c->line, t.col, "%s: missing target name", what);
		return -1;
	}
	snprintf(label, sizeof label, "%s: target", what);
	rr->target = parse_name(L, &t, c->line, label, 0);
	return rr->target == NULL ? -1 : 0;
}

static int parse_rdata(fix_loader *L, struct cur *c, pst_dns_rr *rr)
{
	char what[32];

	snprintf(what, sizeof what, "%s record", pst_dns_type_name(rr->type));
	switch (rr->type) {
	case ns_t_a:
	case ns_t_aaaa:
		if (parse_addr(L, c, what, rr) != 0)
			return -1;
		break;
	case ns_t_txt:
	case ns_t_spf:
		if (parse_text(L, c, what, rr) != 0)
			return -1;
		break;
	case ns_t_mx:
		if (parse_mx(L, c, what, rr) != 0)
			return -1;
		break;
	default:
		if (parse_target(L, c, what, rr) != 0)
			return -1;
		break;
	}
	return expect_end(L, c, what);
}

static int parse_ttl(fix_loader *L, const struct tok *t, unsigned line, uint32_t *ttl)
{
	if (!all_digits(t)) {
		pst_dnsfix_error(L, line, t->col, "TTL \"%.*s\" is not a number of seconds",
			  (int)(t->n > SHOW ? SHOW : t->n), t->s);
		return -1;
	}
	if (tok_number(t, FIX_MAX_TTL) > FIX_MAX_TTL) {
		pst_dnsfix_error(L, line, t->col, "TTL %.*s is over %u", (int)(t->n > SHOW ? SHOW : t->n),
			  t->s, FIX_MAX_TTL);
		return -1;
	}
	*ttl = (uint32_t)tok_number(t, FIX_MAX_TTL);
	return 0;
}

static int is_other_class(const struct tok *t)
{
	return tok_is(t, "CH") || tok_is(t, "HS") || tok_is(t, "CS") || tok_is(t, "NONE") ||
	       tok_is(t, "ANY");
}

static void unsupported_type(fix_loader *L, const struct tok *t, unsigned line,
			     const char *what)
{
	pst_dnsfix_error(L, line, t->col,
		  "%srecord type %.*s is not supported (A, AAAA, CNAME, MX, NS, PTR, SPF, TXT are)",
		  what, (int)(t->n > SHOW ? SHOW : t->n), t->s);
}

/* The fields after the owner name: [TTL] [CLASS] TYPE RDATA. */
static void parse_record(fix_loader *L, struct cur *c, const char *owner, unsigned col)
{
	pst_dns_rr rr;
	struct tok t;
	int have_ttl = 0, have_class = 0;

	memset(&rr, 0, sizeof rr);
	rr.owner = owner;
	rr.ttl = L->default_ttl;
	for (;;) {
		if (!next_tok(c, &t)) {
			pst_dnsfix_error(L, c->line, t.col, "missing record type");
			return;
		}
		if (t.s[0] >= '0' && t.s[0] <= '9') {
			if (have_ttl) {
				pst_dnsfix_error(L, c->line, t.col, "TTL given twice");
				return;
			}
			if (parse_ttl(L, &t, c->line, &rr.ttl) != 0)
				return;
			have_ttl = 1;
		} else if (tok_is(&t, "IN")) {
			if (have_class) {
				pst_dnsfix_error(L, c->line, t.col, "class given twice");
				return;
			}
			have_class = 1;
		} else if (is_other_class(&t)) {
			pst_dnsfix_error(L, c->line, t.col, "class %.*s is not supported (only IN is)",
				  (int)t.n, t.s);
			return;
		} else {
			break;
		}
	}
	rr.type = pst_dns_type_from_name(t.s, t.n);
	if (rr.type < 0) {
		unsupported_type(L, &t, c->line, "");
		return;
	}
	if (parse_rdata(L, c, &rr) == 0)
		pst_dnsfix_add_rec(L, &rr, c->line, col);
}

/* $SERVFAIL name [TYPE] and $TIMEOUT name [TYPE]. */
static void parse_failure(fix_loader *L, struct cur *c, const struct tok *dir,
			  pst_dns_status status)
{
	struct fix_dir d;
	struct tok t;
	char what[16];

	snprintf(what, sizeof what, "%.*s", (int)dir->n, dir->s);
	memset(&d, 0, sizeof d);
	d.status = status;
	d.line = c->line;
	d.col = dir->col;
	if (!next_tok(c, &t)) {
		pst_dnsfix_error(L, c->line, t.col, "%s: missing name", what);
		return;
	}
	if ((d.name = parse_name(L, &t, c->line, what, 0)) == NULL)
		return;
	if (next_tok(c, &t)) {
		d.type = pst_dns_type_from_name(t.s, t.n);
		if (d.type < 0) {
			char prefix[24];
			snprintf(prefix, sizeof prefix, "%s: ", what);
			unsupported_type(L, &t, c->line, prefix);
			return;
		}
	}
	if (expect_end(L, c, what) == 0)
		pst_dnsfix_add_dir(L, &d);
}

static void parse_directive(fix_loader *L, struct cur *c)
{
	struct tok dir, t;

	next_tok(c, &dir);
	if (tok_is(&dir, "$SERVFAIL")) {
		parse_failure(L, c, &dir, PST_DNS_SERVFAIL);
	} else if (tok_is(&dir, "$TIMEOUT")) {
		parse_failure(L, c, &dir, PST_DNS_TIMEOUT);
	} else if (tok_is(&dir, "$ORIGIN")) {
		const char *saved = L->origin, *origin;

		if (!next_tok(c, &t)) {
			pst_dnsfix_error(L, c->line, t.col, "$ORIGIN: missing name");
			return;
		}
		L->origin = NULL;   /* the origin's own name is absolute */
		origin = parse_name(L, &t, c->line, "$ORIGIN", 0);
		L->origin = saved;
		if (origin != NULL && expect_end(L, c, "$ORIGIN") == 0)
			L->origin = origin;
	} else if (tok_is(&dir, "$TTL")) {
		uint32_t ttl;

		if (!next_tok(c, &t)) {
			pst_dnsfix_error(L, c->line, t.col, "$TTL: missing number of seconds");
			return;
		}
		if (parse_ttl(L, &t, c->line, &ttl) == 0 && expect_end(L, c, "$TTL") == 0)
			L->default_ttl = ttl;
	} else {
		pst_dnsfix_error(L, c->line, dir.col,
			  "directive %.*s is not supported ($SERVFAIL, $TIMEOUT, $ORIGIN, $TTL are)",
			  (int)(dir.n > SHOW ? SHOW : dir.n), dir.s);
	}
}

void pst_dnsfix_parse_line(fix_loader *L, const char *p, size_t n, unsigned line)
{
	struct cur c = { p, n, 0, line };
	struct tok t;
	const char *owner;

	if (n > 0 && is_ws(p[0])) {
		if (at_end(&c))
			return;
		if (L->last_owner == NULL) {
			pst_dnsfix_error(L, line, 1,
				  "line starts with white space, but no earlier line gave an owner name");
			return;
		}
		parse_record(L, &c, L->last_owner, col_of(&c));
		return;
	}
	if (at_end(&c))
		return;
	if (p[0] == '$') {
		parse_directive(L, &c);
		return;
	}
	next_tok(&c, &t);
	if ((owner = parse_name(L, &t, line, "owner name", 0)) == NULL)
		return;
	L->last_owner = owner;
	parse_record(L, &c, owner, t.col);
}
