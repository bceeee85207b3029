/*
 * msg.c: the RFC 5322 header section parser; see msg.h for the contract.
 *
 * One pass over the input, line by line (a line ends after LF; a CR before
 * the LF belongs to the line ending, a CR anywhere else is an ordinary
 * byte). The first line may be an mbox "From " separator (when it is not
 * a field: "From : x" is one, with obsolete white space). Then every line
 * is one of:
 *   - empty (LF or CRLF alone): the separator; the body follows it;
 *   - starting with SP or HTAB: a continuation of the current field (when
 *     there is no current field yet, it ends the header section);
 *   - "name" [WSP] ":" ...: a new field (name is printable ASCII but ':');
 *   - anything else: the header section ends before that line, with no
 *     separator; the body is the rest of the input from that line on
 *     (pst_msg_body_len() is then not 0 although has_separator is 0).
 * Nothing is ever truncated: a header section longer than the limit, or
 * with more fields than allowed, is a typed error. No recursion; the field
 * table grows by doubling with overflow checks.
 *
 * Field values are unfolded (every line ending inside the field is removed,
 * the white space after it kept, RFC 5322 2.2.3) and trimmed of SP, HTAB,
 * CR and LF at both ends.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/msg.h"
#include "msg/addr.h"
#include "util/arena.h"
#include "util/limits.h"

struct pst_msg {
	char *bytes;                /* owned copy of the input */
	size_t len;
	pst_msg_field *fields;      /* owned (malloc) */
	size_t nfields;
	size_t cap;
	size_t body_off;
	int has_sep;
	const char *sep;            /* static */
	const char *eol;            /* static */
	pst_arena *arena;           /* values, From parse */
	int from_done;
	pst_msg_from_info from;
};

/* Parser state for one call. */
struct parse {
	pst_msg *m;
	size_t max_bytes;
	size_t max_fields;
	size_t ncrlf, nlf;          /* line endings of fields seen */
	pst_msg_error *err;
};

static int set_error(pst_msg_error *err, pst_msg_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(pst_msg_error *err, pst_msg_errcode code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->text, sizeof err->text, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- Names ------------------------------------------------------------ */

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

int pst_msg_name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* FNV-1a over the ASCII-lowered bytes. */
uint32_t pst_msg_name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= lower((unsigned char)name[i]);
		h *= 16777619u;
	}
	return h;
}

/* ---- Lines ------------------------------------------------------------ */

/* The end of the line starting at p (just after its LF, or len). */
static size_t line_end(const char *s, size_t len, size_t p)
{
	const char *nl = memchr(s + p, '\n', len - p);
	return nl ? (size_t)(nl - s) + 1 : len;
}

/* The length of the line ending at the end of [p, e): 2 (CRLF), 1 (LF), 0. */
static size_t eol_len(const char *s, size_t p, size_t e)
{
	if (e > p && s[e - 1] == '\n')
		return (e - 1 > p && s[e - 2] == '\r') ? 2 : 1;
	return 0;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int is_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Length of the field name at p when [p, e) starts a field, with *colon the
 * offset of the colon and *obs set when white space precedes it; else 0. */
static size_t field_name(const char *s, size_t p, size_t e, size_t *colon, int *obs)
{
	size_t i = p;
	while (i < e && is_name_char((unsigned char)s[i]))
		i++;
	size_t n = i - p;
	if (n == 0)
		return 0;
	*obs = 0;
	while (i < e && is_wsp(s[i])) {
		i++;
		*obs = 1;
	}
	if (i >= e || s[i] != ':')
		return 0;
	*colon = i;
	return n;
}

/* ---- Fields ----------------------------------------------------------- */

static pst_msg_field *new_field(struct parse *ps)
{
	pst_msg *m = ps->m;
	if (m->nfields == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		if (cap < m->cap || cap > SIZE_MAX / sizeof *m->fields)
			return NULL;
		pst_msg_field *f = realloc(m->fields, cap * sizeof *f);
		if (f == NULL)
			return NULL;
		m->fields = f;
		m->cap = cap;
	}
	pst_msg_field *f = &m->fields[m->nfields++];
	memset(f, 0, sizeof *f);
	return f;
}

/* Unfold and trim [p, e) into a NUL-terminated arena copy; set the 8BIT
 * and NUL flags. 0 / -1 (ENOMEM). */
static int set_value(pst_msg *m, pst_msg_field *f, const char *p, const char *e)
{
	char *v = pst_arena_alloc(m->arena, (size_t)(e - p) + 1);
	if (v == NULL)
		return -1;
	size_t n = 0;
	for (const char *q = p; q < e; q++) {
		if (*q == '\n')
			continue;
		if (*q == '\r' && q + 1 < e && q[1] == '\n')
			continue;
		v[n++] = *q;
		if ((unsigned char)*q >= 0x80)
			f->flags |= PST_MSG_FIELD_8BIT;
		else if (*q == '\0')
			f->flags |= PST_MSG_FIELD_NUL;
	}
	size_t b = 0;
	while (b < n && (is_wsp(v[b]) || v[b] == '\r'))
		b++;
	while (n > b && (is_wsp(v[n - 1]) || v[n - 1] == '\r'))
		n--;
	memmove(v, v + b, n - b);
	n -= b;
	v[n] = '\0';
	f->value = v;
	f->value_len = n;
	return 0;
}

static void count_eol(struct parse *ps, const char *s, size_t p, size_t e)
{
	size_t k = eol_len(s, p, e);
	if (k == 2)
		ps->ncrlf++;
	else if (k == 1)
		ps->nlf++;
}

/* The mbox "From " line, when the input starts with one. Returns the
 * offset after it. */
static int mbox_line(struct parse *ps, size_t *pos)
{
	pst_msg *m = ps->m;
	if (m->len < 5 || memcmp(m->bytes, "From ", 5) != 0)
		return 0;
	size_t e = line_end(m->bytes, m->len, 0), colon;
	int obs;
	if (field_name(m->bytes, 0, e, &colon, &obs) > 0)
		return 0;   /* "From : x" is a field with obsolete white space */
	if (e > ps->max_bytes)
		return set_error(ps->err, PST_MSG_HEADER_TOO_BIG, "header section over %zu bytes",
		                 ps->max_bytes);
	pst_msg_field *f = new_field(ps);
	if (f == NULL)
		return set_error(ps->err, PST_MSG_ENOMEM, "out of memory");
	f->raw = m->bytes;
	f->raw_len = e;
	f->name = m->bytes;
	f->name_len = 4;
	f->name_hash = pst_msg_name_hash("From", 4);
	f->flags = PST_MSG_FIELD_MBOX_FROM;
	if (set_value(m, f, m->bytes + 5, m->bytes + e) < 0)
		return set_error(ps->err, PST_MSG_ENOMEM, "out of memory");
	*pos = e;
	return 0;
}

/* Parse one field starting at p (known to be a field line); *pos after it. */
static int one_field(struct parse *ps, size_t p, size_t e, size_t nlen, size_t colon, int obs,
                     size_t *pos)
{
	pst_msg *m = ps->m;
	const char *s = m->bytes;
	/* Take the continuation lines. */
	size_t end = e;
	while (end < m->len && is_wsp(s[end]))
		end = line_end(s, m->len, end);
	if (end > ps->max_bytes)
		return set_error(ps->err, PST_MSG_HEADER_TOO_BIG, "header section over %zu bytes",
		                 ps->max_bytes);
	size_t nreal = m->nfields - (m->nfields && (m->fields[0].flags & PST_MSG_FIELD_MBOX_FROM));
	if (nreal >= ps->max_fields)
		return set_error(ps->err, PST_MSG_TOO_MANY_FIELDS, "more than %zu header fields",
		                 ps->max_fields);
	pst_msg_field *f = new_field(ps);
	if (f == NULL)
		return set_error(ps->err, PST_MSG_ENOMEM, "out of memory");
	f->raw = s + p;
	f->raw_len = end - p;
	f->name = s + p;
	f->name_len = nlen;
	f->name_hash = pst_msg_name_hash(f->name, nlen);
	if (obs)
		f->flags |= PST_MSG_FIELD_OBS_SPACE;
	if (set_value(m, f, s + colon + 1, s + end) < 0)
		return set_error(ps->err, PST_MSG_ENOMEM, "out of memory");
	count_eol(ps, s, p, end);
	*pos = end;
	return 0;
}

/* Split the header section; sets body offset and separator. */
static int split(struct parse *ps)
{
	pst_msg *m = ps->m;
	const char *s = m->bytes;
	size_t pos = 0;
	if (mbox_line(ps, &pos) < 0)
		return -1;
	while (pos < m->len) {
		size_t e = line_end(s, m->len, pos);
		size_t k = eol_len(s, pos, e);
		if (k > 0 && e - pos == k) {
			if (e > ps->max_bytes)
				return set_error(ps->err, PST_MSG_HEADER_TOO_BIG,
				                 "header section over %zu bytes", ps->max_bytes);
			m->has_sep = 1;
			m->sep = k == 2 ? "\r\n" : "\n";
			m->body_off = e;
			return 0;
		}
		size_t colon = 0;
		int obs = 0;
		size_t nlen = field_name(s, pos, e, &colon, &obs);
		if (nlen == 0)
			break;      /* neither field nor continuation: the body starts here */
		if (one_field(ps, pos, e, nlen, colon, obs, &pos) < 0)
			return -1;
	}
	m->body_off = pos;
	return 0;
}

int pst_msg_parse(const char *bytes, size_t len, const pst_msg_limits *limits,
                  pst_msg **out, pst_msg_error *err)
{
	*out = NULL;
	if (err) {
		err->code = PST_MSG_OK;
		err->text[0] = '\0';
	}
	pst_msg *m = calloc(1, sizeof *m);
	if (m == NULL || (m->arena = pst_arena_new()) == NULL ||
	    (m->bytes = malloc(len ? len : 1)) == NULL) {
		pst_msg_free(&m);
		return set_error(err, PST_MSG_ENOMEM, "out of memory");
	}
	if (len)
		memcpy(m->bytes, bytes, len);
	m->len = len;
	m->sep = "";
	struct parse ps = { .m = m, .err = err };
	ps.max_bytes = limits && limits->max_header_bytes ? limits->max_header_bytes : PST_MAX_HEADER_BYTES;
	ps.max_fields = limits && limits->max_fields ? limits->max_fields : PST_MAX_HEADER_FIELDS;
	if (split(&ps) < 0) {
		pst_msg_free(&m);
		return -1;
	}
	m->eol = ps.nlf > ps.ncrlf ? "\n" : "\r\n";
	if (m->has_sep && ps.nlf == 0 && ps.ncrlf == 0)
		m->eol = m->sep;
	*out = m;
	return 0;
}

void pst_msg_free(pst_msg **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	pst_msg *m = *mp;
	free(m->fields);
	free(m->bytes);
	pst_arena_free(&m->arena);
	free(m);
	*mp = NULL;
}

/* ---- Accessors -------------------------------------------------------- */

size_t pst_msg_field_count(const pst_msg *m)
{
	return m->nfields;
}

const pst_msg_field *pst_msg_field_at(const pst_msg *m, size_t i)
{
	return i < m->nfields ? &m->fields[i] : NULL;
}

long pst_msg_find_next(const pst_msg *m, const char *name, size_t len, uint32_t hash, size_t start)
{
	for (size_t i = start; i < m->nfields; i++) {
		const pst_msg_field *f = &m->fields[i];
		if (f->name_hash == hash && !(f->flags & PST_MSG_FIELD_MBOX_FROM) &&
		    pst_msg_name_eq(f->name, f->name_len, name, len))
			return (long)i;
	}
	return -1;
}

const pst_msg_field *pst_msg_find(const pst_msg *m, const char *name, size_t len, size_t nth)
{
	uint32_t h = pst_msg_name_hash(name, len);
	long i = -1;
	size_t seen = 0;
	while ((i = pst_msg_find_next(m, name, len, h, (size_t)(i + 1))) >= 0)
		if (seen++ == nth)
			return &m->fields[i];
	return NULL;
}

size_t pst_msg_count(const pst_msg *m, const char *name, size_t len)
{
	uint32_t h = pst_msg_name_hash(name, len);
	long i = -1;
	size_t n = 0;
	while ((i = pst_msg_find_next(m, name, len, h, (size_t)(i + 1))) >= 0)
		n++;
	return n;
}

size_t pst_msg_size(const pst_msg *m)
{
	return m->len;
}

const char *pst_msg_bytes(const pst_msg *m)
{
	return m->bytes;
}

size_t pst_msg_body_offset(const pst_msg *m)
{
	return m->body_off;
}

size_t pst_msg_body_len(const pst_msg *m)
{
	return m->len - m->body_off;
}

int pst_msg_has_separator(const pst_msg *m)
{
	return m->has_sep;
}

const char *pst_msg_separator(const pst_msg *m)
{
	return m->sep;
}

const char *pst_msg_eol(const pst_msg *m)
{
	return m->eol;
}

/* ---- From (RFC 7489 6.6.1) -------------------------------------------- */

/* Add the addresses of one From field to info. 0 / -1 (ENOMEM). */
static int from_field(pst_msg *m, const pst_msg_field *f, pst_msg_from_info *info, size_t *good)
{
	pst_addr_list list;
	if (pst_addr_parse_list(m->arena, f->value, f->value_len, 0, &list) < 0)
		return -1;
	info->count += list.count;
	for (size_t i = 0; i < list.count; i++) {
		const pst_addr *a = &list.items[i];
		if (!(a->flags & PST_ADDR_BAD) && a->domain_len > 0) {
			if (*good == 0)
				info->addr = a;
			(*good)++;
		}
	}
	return 0;
}

const pst_msg_from_info *pst_msg_from(pst_msg *m)
{
	if (m->from_done)
		return &m->from;
	pst_msg_from_info info = { .status = PST_FROM_NONE };
	size_t nfrom = 0, good = 0;
	long i = -1;
	uint32_t h = pst_msg_name_hash("From", 4);
	while ((i = pst_msg_find_next(m, "From", 4, h, (size_t)(i + 1))) >= 0) {
		if (nfrom++ == 0)
			info.field = (size_t)i;
		if (from_field(m, &m->fields[i], &info, &good) < 0)
			return NULL;
	}
	if (nfrom == 0)
		info.status = PST_FROM_NONE;
	else if (nfrom > 1 || info.count > 1)
		info.status = PST_FROM_MANY;
	else if (good == 1 && info.count == 1)
		info.status = PST_FROM_ONE;
	else
		info.status = PST_FROM_BAD;
	if (info.status != PST_FROM_ONE)
		info.addr = NULL;
	m->from = info;
	m->from_done = 1;
	return &m->from;
}
