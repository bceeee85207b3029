/*
 * edit.c: header edits and the delivered form of a message; see edit.h for
 * the contract.
 *
 * The header is modelled as a list of entries: the original fields from
 * opts->skip_before on (bytes untouched unless an edit rewrites or removes
 * the entry) with the added fields in front of them. Edits change entries
 * in order; the output is then written in one pass: the mbox From_ line
 * when it is not skipped, opts->prepend, the entries, the separator and
 * the body exactly as received. An entry no edit touched is written from
 * its raw bytes, so everything an edit did not touch stays byte-identical.
 *
 * A rewritten or added field is "Name: value" with the message's line
 * ending, folded before white space so lines stay under 78 characters
 * where the value allows it (a word longer than that is not broken; one
 * that would make a line over 998 characters refuses the edit).
 * Values with bytes outside printable ASCII are RFC 2047-encoded.
 *
 * Malformed fields (msg.h: PST_MSG_FIELD_MALFORMED) are entries with no
 * name: no edit ever matches them, and they are written from their raw
 * bytes where they stand, except a leading white-space line (the only
 * malformed field that can start with SP or HTAB), which gets
 * PST_MSG_MALFORMED_NAME ":" in front of it, so that nothing written
 * above it -- our added fields, opts->prepend, the mbox From_ line, a
 * downstream MTA's trace fields -- takes it as a continuation line.
 *
 * Substitutions run the caller's callback on decoded values (a header's
 * trimmed and RFC 2047-decoded; the From's display name as parsed) and
 * write what it returns as a rewritten field, re-encoded.
 *
 * Edits that cannot apply are ignored and reported in err while the call
 * still succeeds (0): removing, replacing or substituting Received, From edits without a
 * From field, with several addresses in it (rewriting would drop authors),
 * or, for a display name, without an address in it. Refused
 * (-1): a value with CR or LF, a missing value, an invalid field name, an
 * address for SET_FROM_ADDRESS that is empty or holds white space, '<',
 * '>', '(' or ')' (a comment, such as the "(unknown)" of an unknown fact
 * interpolated: eval.h), a line over 998 characters. On failure nothing is appended to out.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "msg/edit.h"
#include "msg/addr.h"
#include "msg/rfc2047.h"
#include "util/arena.h"

#define FOLD_AT 78
#define MAX_LINE 998           /* RFC 5322 2.1.1 */

struct entry {
	long orig;                  /* index of the original field; -1 when added */
	const char *name;
	size_t name_len;
	const char *value;          /* current unfolded value, as written on the wire;
	                             * NULL for an original field until read
	                             * (entry_value) */
	size_t value_len;
	const char *text;           /* "Name: value" folded, no final line ending;
	                             * NULL: the original raw bytes */
	int removed;
	int xorig;                  /* write X-Original-From above it */
};

struct render {
	const pst_msg *m;
	pst_arena *arena;
	struct entry *e;
	size_t n, cap;
	size_t nadded;
	const char *eol;
	char *err;
	size_t errlen;
	int noted;
	int refused;                /* err holds the reason of a failure */
};

static int refuse(struct render *r, const char *what, const char *name)
{
	if (r->errlen)
		snprintf(r->err, r->errlen, "%s%s%.64s", what, name ? ": " : "", name ? name : "");
	r->refused = 1;
	return -1;
}

/* Report an ignored edit (the first one) and go on. */
static int note(struct render *r, const char *what)
{
	if (r->errlen && !r->noted)
		snprintf(r->err, r->errlen, "%s", what);
	r->noted = 1;
	return 0;
}

static int name_ok(const char *name)
{
	if (name == NULL || *name == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return 0;
	return 1;
}

static int value_ok(const char *v)
{
	return v != NULL && strpbrk(v, "\r\n") == NULL;
}

static int is_name(const struct entry *e, const char *name)
{
	return pst_msg_name_eq(e->name, e->name_len, name, strlen(name));
}

/* ---- Entries ---------------------------------------------------------- */

static struct entry *insert_at(struct render *r, size_t at)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct entry *e = pst_arena_calloc(r->arena, cap, sizeof *e);
		if (e == NULL)
			return NULL;
		if (r->n)
			memcpy(e, r->e, r->n * sizeof *e);
		r->e = e;
		r->cap = cap;
	}
	memmove(&r->e[at + 1], &r->e[at], (r->n - at) * sizeof *r->e);
	r->n++;
	memset(&r->e[at], 0, sizeof *r->e);
	return &r->e[at];
}

static int load_fields(struct render *r, size_t from)
{
	size_t nf = pst_msg_field_count(r->m);
	for (size_t i = from; i < nf; i++) {
		const pst_msg_field *f = pst_msg_field_at(r->m, i);
		if (f->flags & PST_MSG_FIELD_MBOX_FROM)
			continue;
		struct entry *e = insert_at(r, r->n);
		if (e == NULL)
			return -1;
		e->orig = (long)i;
		e->name = f->name;
		e->name_len = f->name_len;
	}
	return 0;
}

/* Make sure e->value is there: an original field's value is read from the
 * message only when an edit needs it. 0, or -1 on ENOMEM. */
static int entry_value(struct render *r, struct entry *e)
{
	if (e->value != NULL)
		return 0;
	if (e->orig < 0)
		return -1;              /* an added field always has its value */
	e->value = pst_msg_value(r->m, pst_msg_field_at(r->m, (size_t)e->orig), &e->value_len);
	return e->value ? 0 : -1;
}

/* "Name: value" folded before white space with the message's line ending. */
static const char *fold(struct render *r, const char *name, size_t name_len, const char *v, size_t n)
{
	pst_buf b = PST_BUF_INIT;
	int rc = pst_buf_append(&b, name, name_len) | pst_buf_puts(&b, ": ");
	size_t col = name_len + 2, start = col;
	size_t i = 0;
	while (i < n && rc == 0) {
		size_t j = i;
		while (j < n && (v[j] == ' ' || v[j] == '\t'))
			j++;
		while (j < n && v[j] != ' ' && v[j] != '\t')
			j++;
		int lead_ws = v[i] == ' ' || v[i] == '\t';
		if (lead_ws && col > start && col + (j - i) > FOLD_AT) {
			rc |= pst_buf_puts(&b, r->eol);
			col = 0;
		}
		rc |= pst_buf_append(&b, v + i, j - i);
		col += j - i;
		i = j;
	}
	const char *s = rc == 0 ? pst_arena_strndup(r->arena, b.data, b.len) : NULL;
	pst_buf_free(&b);
	return s;
}

/* The longest line of a folded field. */
static size_t longest_line(const char *s)
{
	size_t best = 0, col = 0;
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r') {
			col = 0;
			continue;
		}
		if (++col > best)
			best = col;
	}
	return best;
}

/* Give entry e the new wire value v. */
static int set_value(struct render *r, struct entry *e, const char *v)
{
	e->value = v;
	e->value_len = strlen(v);
	e->text = fold(r, e->name, e->name_len, v, e->value_len);
	if (e->text == NULL)
		return -1;
	if (longest_line(e->text) > MAX_LINE)
		return refuse(r, "a word of the value makes a line over 998 characters", NULL);
	return 0;
}

/* A new field at the top, after the fields added before it. */
static int add_field(struct render *r, const char *name, const char *value)
{
	char *enc = pst_rfc2047_encode(r->arena, value, strlen(value));
	char *nm = pst_arena_strdup(r->arena, name);
	if (enc == NULL || nm == NULL)
		return -1;
	struct entry *e = insert_at(r, r->nadded);
	if (e == NULL)
		return -1;
	r->nadded++;
	e->orig = -1;
	e->name = nm;
	e->name_len = strlen(nm);
	return set_value(r, e, enc);
}

static struct entry *first_named(struct render *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->e[i].removed && is_name(&r->e[i], name))
			return &r->e[i];
	return NULL;
}

/* ---- Edits ------------------------------------------------------------ */

static int do_remove(struct render *r, const pst_msg_edit *ed)
{
	if (pst_msg_name_eq(ed->name, strlen(ed->name), "Received", 8))
		return note(r, "Received fields are never removed; edit ignored");
	for (size_t i = 0; i < r->n; i++) {
		struct entry *e = &r->e[i];
		if (e->removed || !is_name(e, ed->name))
			continue;
		if (ed->match != NULL && entry_value(r, e) < 0)
			return -1;
		if (ed->match == NULL || ed->match(ed->match_ctx, e->value, e->value_len))
			e->removed = 1;
	}
	return 0;
}

static int do_replace(struct render *r, const pst_msg_edit *ed)
{
	if (pst_msg_name_eq(ed->name, strlen(ed->name), "Received", 8))
		return note(r, "Received fields are never replaced; edit ignored");
	char *enc = pst_rfc2047_encode(r->arena, ed->value, strlen(ed->value));
	if (enc == NULL)
		return -1;
	int done = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct entry *e = &r->e[i];
		if (e->removed || !is_name(e, ed->name))
			continue;
		if (done)
			e->removed = 1;
		else if (set_value(r, e, enc) < 0)
			return -1;
		done = 1;
	}
	return done ? 0 : add_field(r, ed->name, ed->value);
}

/* The first parsable mailbox of a From value in *out, or NULL; *count says
 * how many items the value holds. 0, or -1 on ENOMEM (never "no address"). */
static int from_mailbox(struct render *r, struct entry *e, size_t *count, const pst_addr **out)
{
	pst_addr_list l;
	*count = 0;
	*out = NULL;
	if (entry_value(r, e) < 0 || pst_addr_parse_list(r->arena, e->value, e->value_len, 0, &l) < 0)
		return -1;
	*count = l.count;
	for (size_t i = 0; i < l.count && *out == NULL; i++)
		if (!(l.items[i].flags & PST_ADDR_BAD))
			*out = &l.items[i];
	return 0;
}

static int address_ok(const char *a)
{
	return *a != '\0' && strpbrk(a, " \t\r\n<>()") == NULL;
}

/* The From field an edit of it applies to, and its one mailbox (NULL when
 * it holds none and need_addr is 0). 1 when the edit goes on, 0 when it is
 * ignored (noted: no From field, several addresses, no address), -1 on
 * ENOMEM. */
static int sole_from(struct render *r, int need_addr, struct entry **e, const pst_addr **a)
{
	size_t count;

	*e = first_named(r, "From");
	if (*e == NULL)
		return note(r, "no From field; From edit ignored");
	if (from_mailbox(r, *e, &count, a) < 0)
		return -1;
	if (count > 1)
		return note(r, "several addresses in the From field; From edit ignored");
	if (need_addr && *a == NULL)
		return note(r, "no address in the From field; display name edit ignored");
	return 1;
}

static int do_from(struct render *r, const pst_msg_edit *ed)
{
	int display = ed->op == PST_MSG_EDIT_SET_FROM_DISPLAY;
	if (!display && !address_ok(ed->value))
		return refuse(r, "not an address", ed->value);
	struct entry *e;
	const pst_addr *a;
	int rc = sole_from(r, display, &e, &a);
	if (rc <= 0)
		return rc;
	const char *v = display ? pst_addr_format(r->arena, ed->value, a->addr_spec)
	                        : pst_addr_format(r->arena, a ? a->display : "", ed->value);
	if (v == NULL)
		return -1;
	if (e->orig >= 0)
		e->xorig = 1;
	return set_value(r, e, v);
}

/* Whether s (n bytes) starts with prefix, or is prefix without its
 * trailing white space. */
static int has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	if (n >= k && memcmp(s, prefix, k) == 0)
		return 1;
	while (k > 0 && (prefix[k - 1] == ' ' || prefix[k - 1] == '\t'))
		k--;
	return k > 0 && n == k && memcmp(s, prefix, k) == 0;
}

static int do_prepend(struct render *r, const pst_msg_edit *ed)
{
	const char *prefix = ed->value;
	if (*prefix == '\0')
		return 0;
	struct entry *e = first_named(r, "Subject");
	if (e == NULL) {
		size_t k = strlen(prefix);
		while (k > 0 && (prefix[k - 1] == ' ' || prefix[k - 1] == '\t'))
			k--;
		char *p = pst_arena_strndup(r->arena, prefix, k);
		return p ? add_field(r, "Subject", p) : -1;
	}
	char *dec = NULL;
	size_t declen = 0;
	if (entry_value(r, e) < 0 ||
	    pst_rfc2047_decode(r->arena, e->value, e->value_len, &dec, &declen) < 0)
		return -1;
	if (has_prefix(e->value, e->value_len, prefix) || has_prefix(dec, declen, prefix))
		return 0;
	const char *enc = pst_rfc2047_encode(r->arena, prefix, strlen(prefix));
	if (enc == NULL)
		return -1;
	pst_buf b = PST_BUF_INIT;
	int rc;
	char *v = NULL;
	if (strcmp(enc, prefix) == 0) {
		rc = pst_buf_puts(&b, prefix) | pst_buf_append(&b, e->value, e->value_len);
		v = rc == 0 ? pst_arena_strndup(r->arena, b.data, b.len) : NULL;
	} else {
		rc = pst_buf_puts(&b, prefix) | pst_buf_append(&b, dec, declen);
		v = rc == 0 ? pst_rfc2047_encode(r->arena, b.data, b.len) : NULL;
	}
	pst_buf_free(&b);
	return v ? set_value(r, e, v) : -1;
}

/* ---- Substitutions ---------------------------------------------------- */

/* The callback's new text for the n bytes at v: 1 and *out (in the arena,
 * no CR/LF), 0 kept, -1 ENOMEM or a refused text. */
static int substituted(struct render *r, const pst_msg_edit *ed, const char *v, size_t n,
                       const char **out)
{
	pst_buf b = PST_BUF_INIT;
	int rc = ed->subst(ed->match_ctx, v, n, &b);
	*out = NULL;
	if (rc == 1) {
		const char *t = pst_buf_str(&b);
		if (memchr(t, '\r', b.len) || memchr(t, '\n', b.len)) {
			pst_buf_free(&b);
			return refuse(r, "value holds CR or LF", NULL);
		}
		if ((*out = pst_arena_strndup(r->arena, t, b.len)) == NULL)
			rc = -1;
	}
	pst_buf_free(&b);
	return rc < 0 ? -1 : rc;
}

/* The unfolded value of e trimmed of white space and RFC 2047-decoded. */
static int decoded(struct render *r, struct entry *e, char **v, size_t *n)
{
	if (entry_value(r, e) < 0)
		return -1;
	const char *p = e->value;
	size_t len = e->value_len;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	*v = NULL;
	if (pst_rfc2047_decode(r->arena, p, len, v, n) < 0)
		return -1;
	if (*v == NULL) {
		*v = pst_arena_strndup(r->arena, p, len);
		*n = len;
	}
	return *v ? 0 : -1;
}

static int do_substitute(struct render *r, const pst_msg_edit *ed)
{
	if (pst_msg_name_eq(ed->name, strlen(ed->name), "Received", 8))
		return note(r, "Received fields are never changed; edit ignored");
	for (size_t i = 0; i < r->n; i++) {
		struct entry *e = &r->e[i];
		if (e->removed || !is_name(e, ed->name))
			continue;
		char *v;
		size_t n;
		const char *t;
		int rc = decoded(r, e, &v, &n);
		if (rc == 0)
			rc = substituted(r, ed, v, n, &t);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		char *enc = pst_rfc2047_encode(r->arena, t, strlen(t));
		if (enc == NULL || set_value(r, e, enc) < 0)
			return -1;
	}
	return 0;
}

/* White space around a display name goes. */
static const char *trimmed(struct render *r, const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return pst_arena_strndup(r->arena, s, n);
}

static int do_subst_from(struct render *r, const pst_msg_edit *ed)
{
	struct entry *e;
	const pst_addr *a;
	int rc = sole_from(r, 1, &e, &a);
	if (rc <= 0)
		return rc;
	const char *t;
	rc = substituted(r, ed, a->display, strlen(a->display), &t);
	if (rc <= 0)
		return rc;
	const char *name = trimmed(r, t);
	const char *v = name ? pst_addr_format(r->arena, name, a->addr_spec) : NULL;
	if (v == NULL)
		return -1;
	if (e->orig >= 0)
		e->xorig = 1;
	return set_value(r, e, v);
}

static int apply(struct render *r, const pst_msg_edit *ed)
{
	int needs_name = ed->op == PST_MSG_EDIT_ADD || ed->op == PST_MSG_EDIT_REMOVE ||
	                 ed->op == PST_MSG_EDIT_REPLACE || ed->op == PST_MSG_EDIT_SUBSTITUTE;
	int subst = ed->op == PST_MSG_EDIT_SUBSTITUTE || ed->op == PST_MSG_EDIT_SUBSTITUTE_FROM_DISPLAY;
	if (needs_name && !name_ok(ed->name))
		return refuse(r, "invalid field name", ed->name);
	if (subst && ed->subst == NULL)
		return refuse(r, "substitution without its callback", NULL);
	if (ed->op != PST_MSG_EDIT_REMOVE && !subst && !value_ok(ed->value))
		return refuse(r, ed->value ? "value holds CR or LF" : "missing value",
		              needs_name ? ed->name : NULL);
	switch (ed->op) {
	case PST_MSG_EDIT_ADD: return add_field(r, ed->name, ed->value);
	case PST_MSG_EDIT_REMOVE: return do_remove(r, ed);
	case PST_MSG_EDIT_REPLACE: return do_replace(r, ed);
	case PST_MSG_EDIT_SET_FROM_DISPLAY:
	case PST_MSG_EDIT_SET_FROM_ADDRESS: return do_from(r, ed);
	case PST_MSG_EDIT_PREPEND_SUBJECT: return do_prepend(r, ed);
	case PST_MSG_EDIT_SUBSTITUTE: return do_substitute(r, ed);
	case PST_MSG_EDIT_SUBSTITUTE_FROM_DISPLAY: return do_subst_from(r, ed);
	}
	return refuse(r, "unknown edit", NULL);
}

/* ---- Output ----------------------------------------------------------- */

static int put_line(pst_buf *out, const char *p, size_t n, const char *eol)
{
	if (pst_buf_append(out, p, n) < 0)
		return -1;
	if (n == 0 || p[n - 1] != '\n')
		return pst_buf_puts(out, eol);
	return 0;
}

static int put_entry(struct render *r, const struct entry *e, pst_buf *out)
{
	const pst_msg_field *f = e->orig >= 0 ? pst_msg_field_at(r->m, (size_t)e->orig) : NULL;
	if (e->xorig && f &&
	    (pst_buf_puts(out, "X-Original-") < 0 || put_line(out, f->raw, f->raw_len, r->eol) < 0))
		return -1;
	if (e->text)
		return put_line(out, e->text, strlen(e->text), r->eol);
	/* A leading white-space line would continue whatever field is written
	 * above it (ours, or an MTA's): it goes out as the value of a field of
	 * its own, its bytes unchanged after the name and colon. */
	if (f->raw_len > 0 && (f->raw[0] == ' ' || f->raw[0] == '\t') &&
	    pst_buf_puts(out, PST_MSG_MALFORMED_NAME ":") < 0)
		return -1;
	return pst_buf_append(out, f->raw, f->raw_len);
}

static int write_out(struct render *r, const pst_render_opts *opts, size_t skip, pst_buf *out)
{
	const pst_msg_field *f0 = pst_msg_field_at(r->m, 0);
	if (skip == 0 && f0 && (f0->flags & PST_MSG_FIELD_MBOX_FROM) &&
	    pst_buf_append(out, f0->raw, f0->raw_len) < 0)
		return -1;
	for (size_t i = 0; opts && opts->prepend && i < opts->nprepend; i++)
		if (opts->prepend[i] &&
		    put_line(out, opts->prepend[i], strlen(opts->prepend[i]), r->eol) < 0)
			return -1;
	for (size_t i = 0; i < r->n; i++)
		if (!r->e[i].removed && put_entry(r, &r->e[i], out) < 0)
			return -1;
	const char *body = pst_msg_bytes(r->m) + pst_msg_body_offset(r->m);
	if (pst_buf_puts(out, pst_msg_separator(r->m)) < 0 ||
	    pst_buf_append(out, body, pst_msg_body_len(r->m)) < 0)
		return -1;
	return 0;
}

int pst_msg_render(const pst_msg *m, const pst_msg_edit *edits, size_t nedits,
                   const pst_render_opts *opts, pst_buf *out, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	struct render r = { .m = m, .eol = pst_msg_eol(m), .err = err, .errlen = errlen };
	size_t skip = opts ? opts->skip_before : 0;
	size_t mark = out->len;
	int rc = -1;
	if ((r.arena = pst_arena_new()) == NULL || load_fields(&r, skip) < 0) {
		refuse(&r, "out of memory", NULL);
		goto done;
	}
	for (size_t i = 0; i < nedits; i++) {
		if (apply(&r, &edits[i]) < 0) {
			if (!r.refused)
				refuse(&r, "out of memory", NULL);
			goto done;
		}
	}
	if (write_out(&r, opts, skip, out) < 0) {
		refuse(&r, "out of memory", NULL);
		goto done;
	}
	rc = 0;
done:
	if (rc < 0 && out->len > mark) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	pst_arena_free(&r.arena);
	return rc;
}
