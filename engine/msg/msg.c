/*
 * msg.c: the RFC 5322 header section parser; see msg.h for the contract.
 *
 * One pass over the input, line by line (a line ends after LF; a CR before
 * the LF belongs to the line ending, a CR anywhere else is an ordinary
 * byte). The first line may be an mbox "From " separator (when it does not
 * start a field: "From : x", and "From" folded before its colon, are
 * fields). Then the header section is read whole, up to the first empty
 * line (LF or CRLF alone: the separator, the body follows it) or the end
 * of the input, as logical fields: a line not starting with SP or HTAB
 * plus the continuation lines (starting with SP or HTAB) after it. A
 * logical field is
 *   - "name" [FWS] ":" ...: a field; name is printable ASCII but ':', and
 *     the FWS (obs-optional, RFC 5322 4.5.3) may fold, so "From" CRLF
 *     " : x" is a From field, as permissive mail clients read it (flagged
 *     PST_MSG_FIELD_FOLDED_NAME: stricter readers see a malformed line);
 *   - anything else, or a continuation line with no field before it (a
 *     leading white-space line): a field flagged PST_MSG_FIELD_MALFORMED,
 *     name_len 0, never indexed by name; reading goes on after it.
 * Nothing is ever truncated: a header section longer than the limit, or
 * with more fields than allowed, is a typed error. No recursion; the field
 * table grows by doubling with overflow checks.
 *
 * Field values are unfolded (every line ending inside the field is removed,
 * the white space after it kept, RFC 5322 2.2.3) and trimmed of SP, HTAB,
 * CR and LF at both ends, when first read (pst_msg_value): the parse only
 * notes where each value lies, and most fields are never read.
 *
 * Addresses are not read here: the author of the message is read by
 * msg/author.c, over the fields this parser finds.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/msg.h"
#include "util/arena.h"
#include "util/hash.h"
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
	pst_arena *arena;           /* values, index */
	int own_arena;              /* made by the parse (else the caller's) */
	/* The name index (build_index): for every distinct name, its first
	 * field and how many; every field links to the next of its name. */
	struct name_slot *slots;    /* arena; nslots a power of two */
	size_t nslots;
	long *next_same;            /* arena; nfields of them, -1 at the last */
};

struct name_slot {
	uint32_t hash;
	size_t count;
	long first;                 /* -1: an empty slot */
	long last;
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
	if (memcmp(a, b, alen) == 0)
		return 1;   /* the usual case: spelt alike */
	for (size_t i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* 32-bit FNV-1a, case folded (util/hash.h): the same for both cases of a
 * letter, so it agrees with pst_msg_name_eq; the few other pairs it merges
 * ('@' and '`', '[' and '{' ...) only share a hash. */
uint32_t pst_msg_name_hash(const char *name, size_t len)
{
	uint32_t h = PST_FNV1A32_BASIS;
	for (size_t i = 0; i < len; i++)
		h = pst_hash_fnv1a32_fold_byte(h, (unsigned char)name[i]);
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

/* A field name found at the start of a logical field. */
struct name_at {
	size_t len;
	size_t colon;               /* offset of the colon */
	int obs;                    /* white space (folding included) before the colon */
	uint32_t hash;              /* pst_msg_name_hash of the name */
};

/* The offset after the FWS at i in [i, e): SP and HTAB, and a line ending
 * (LF or CRLF) followed by SP or HTAB (a fold; a bare CR is not white
 * space here). */
static size_t skip_fws(const char *s, size_t i, size_t e)
{
	for (;;) {
		if (i < e && is_wsp(s[i]))
			i++;
		else if (i + 1 < e && s[i] == '\n' && is_wsp(s[i + 1]))
			i += 2;
		else if (i + 2 < e && s[i] == '\r' && s[i + 1] == '\n' && is_wsp(s[i + 2]))
			i += 3;
		else
			return i;
	}
}

/* The length of the field name at p when the logical field [p, e) is
 * "name" [FWS] ":" ..., with *na filled (the hash made on the way); else 0
 * (a malformed field, or a leading white-space line). */
static size_t field_name(const char *s, size_t p, size_t e, struct name_at *na)
{
	size_t i = p;
	uint32_t h = PST_FNV1A32_BASIS;
	while (i < e && is_name_char((unsigned char)s[i]))
		h = pst_hash_fnv1a32_fold_byte(h, (unsigned char)s[i++]);
	size_t n = i - p;
	if (n == 0)
		return 0;
	size_t c = skip_fws(s, i, e);
	if (c >= e || s[c] != ':')
		return 0;
	na->obs = c > i;
	na->len = n;
	na->colon = c;
	na->hash = h;
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

/* The PST_MSG_FIELD_8BIT and _NUL flags of n bytes, eight at a time: a
 * word has a byte >= 0x80 when its high bits are set, and a NUL byte when
 * (w - 0x01..) & ~w has a high bit set (exact, not a heuristic). Made on
 * demand (pst_msg_value_flags): nothing on the hot path needs them. */
static unsigned byte_flags(const char *v, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t high = 0, zero = 0, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, v + i, 8);
		high |= w & highs;
		zero |= (w - ones) & ~w & highs;
	}
	if (i < n) {                /* the tail, padded with spaces */
		memset(&w, ' ', 8);
		memcpy(&w, v + i, n - i);
		high |= w & highs;
		zero |= (w - ones) & ~w & highs;
	}
	return (high ? PST_MSG_FIELD_8BIT : 0u) | (zero ? PST_MSG_FIELD_NUL : 0u);
}

static int is_fold_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Note where f's value lies: [p, e) trimmed of SP, HTAB, CR and LF at both
 * ends. Trimming on the raw bytes is the same as trimming SP, HTAB and CR
 * after unfolding: a run of SP, HTAB, CR and LF at either end unfolds to
 * SP, HTAB and CR only. The copy waits for pst_msg_value(). */
static void set_value_span(pst_msg_field *f, const char *p, const char *e)
{
	while (p < e && is_fold_space(*p))
		p++;
	while (e > p && is_fold_space(e[-1]))
		e--;
	f->vbeg_ = p;
	f->vend_ = e;
}

/* Unfold [p, e) into a NUL-terminated arena copy, line by line: every LF
 * is dropped with the CR just before it (a CR elsewhere is kept); most
 * fields are one line, one memcpy. NULL on ENOMEM. */
static char *unfold(pst_arena *arena, const char *p, const char *e, size_t *len)
{
	char *v = pst_arena_alloc(arena, (size_t)(e - p) + 1);
	if (v == NULL)
		return NULL;
	size_t n = 0;
	const char *q = p;
	while (q < e) {
		const char *nl = memchr(q, '\n', (size_t)(e - q));
		const char *stop = nl ? nl : e;
		size_t k = (size_t)(stop - q);
		if (nl && k > 0 && nl[-1] == '\r')
			k--;
		memcpy(v + n, q, k);
		n += k;
		q = nl ? nl + 1 : e;
	}
	v[n] = '\0';
	*len = n;
	return v;
}

static void count_eol(struct parse *ps, const char *s, size_t p, size_t e)
{
	size_t k = eol_len(s, p, e);
	if (k == 2)
		ps->ncrlf++;
	else if (k == 1)
		ps->nlf++;
}

/* The end of the logical field whose first line ends at e: after its
 * continuation lines (those starting with SP or HTAB). */
static size_t field_end(const char *s, size_t len, size_t e)
{
	while (e < len && is_wsp(s[e]))
		e = line_end(s, len, e);
	return e;
}

static int too_big(struct parse *ps)
{
	return set_error(ps->err, PST_MSG_HEADER_TOO_BIG, "header section over %zu bytes",
	                 ps->max_bytes);
}

/* The mbox "From " line, when the input starts with one that does not
 * start a field; *pos is then the offset after it. */
static int mbox_line(struct parse *ps, size_t *pos)
{
	pst_msg *m = ps->m;
	if (m->len < 5 || memcmp(m->bytes, "From ", 5) != 0)
		return 0;
	size_t e = line_end(m->bytes, m->len, 0);
	struct name_at na;
	if (field_name(m->bytes, 0, field_end(m->bytes, m->len, e), &na) > 0)
		return 0;   /* "From : x" is a field with obsolete white space */
	if (e > ps->max_bytes)
		return too_big(ps);
	pst_msg_field *f = new_field(ps);
	if (f == NULL)
		return set_error(ps->err, PST_MSG_ENOMEM, "out of memory");
	f->raw = m->bytes;
	f->raw_len = e;
	f->name = m->bytes;
	f->name_len = 4;
	f->name_hash = pst_msg_name_hash("From", 4);
	f->flags = PST_MSG_FIELD_MBOX_FROM;
	set_value_span(f, m->bytes + 5, m->bytes + e);
	*pos = e;
	return 0;
}

/* Take the logical field starting at p (a line that is not empty) as a
 * field, or as a malformed one; *pos after it. */
static int one_field(struct parse *ps, size_t p, size_t *pos)
{
	pst_msg *m = ps->m;
	const char *s = m->bytes;
	size_t end = field_end(s, m->len, line_end(s, m->len, p));
	if (end > ps->max_bytes)
		return too_big(ps);
	size_t nreal = m->nfields - (m->nfields && (m->fields[0].flags & PST_MSG_FIELD_MBOX_FROM));
	if (nreal >= ps->max_fields)
		return set_error(ps->err, PST_MSG_TOO_MANY_FIELDS, "more than %zu header fields",
		                 ps->max_fields);
	pst_msg_field *f = new_field(ps);
	if (f == NULL)
		return set_error(ps->err, PST_MSG_ENOMEM, "out of memory");
	struct name_at na;
	f->raw = s + p;
	f->raw_len = end - p;
	f->name = s + p;
	if (field_name(s, p, end, &na) > 0) {
		f->name_len = na.len;
		f->name_hash = na.hash;
		if (na.obs)
			f->flags |= PST_MSG_FIELD_OBS_SPACE;
		if (na.obs && memchr(s + p + na.len, '\n', na.colon - (p + na.len)) != NULL)
			f->flags |= PST_MSG_FIELD_FOLDED_NAME;
		set_value_span(f, s + na.colon + 1, s + end);
	} else {
		f->name_len = 0;
		f->name_hash = PST_FNV1A32_BASIS;
		f->flags |= PST_MSG_FIELD_MALFORMED;
		set_value_span(f, s + p, s + end);
	}
	count_eol(ps, s, p, end);
	*pos = end;
	return 0;
}

/* Read the whole header section, up to the separator or the end of the
 * input; sets the body offset and the separator. */
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
				return too_big(ps);
			m->has_sep = 1;
			m->sep = k == 2 ? "\r\n" : "\n";
			m->body_off = e;
			return 0;
		}
		if (one_field(ps, pos, &pos) < 0)
			return -1;
	}
	m->body_off = pos;          /* the end: no separator, no body */
	return 0;
}

/* ---- The name index ---------------------------------------------------- */

/* Fields no lookup by name ever finds. */
#define UNNAMED (PST_MSG_FIELD_MBOX_FROM | PST_MSG_FIELD_MALFORMED)

/* The slot of name (hash h): the one holding it, or the empty one where
 * it would go. The table is never full (twice the fields, at least). */
static struct name_slot *name_slot(const pst_msg *m, const char *name, size_t len, uint32_t h)
{
	size_t mask = m->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct name_slot *sl = &m->slots[i];
		if (sl->first < 0)
			return sl;
		const pst_msg_field *f = &m->fields[sl->first];
		if (sl->hash == h && pst_msg_name_eq(f->name, f->name_len, name, len))
			return sl;
	}
}

/* Index the fields by name, once per message, so finding and counting
 * the fields of a name does not walk the whole header each time. 0 / -1
 * (ENOMEM). */
static int build_index(pst_msg *m)
{
	size_t cap = 16;
	while (cap < 2 * m->nfields) {
		if (cap > SIZE_MAX / 2 / sizeof *m->slots)
			return -1;
		cap *= 2;
	}
	m->slots = pst_arena_alloc(m->arena, cap * sizeof *m->slots);
	m->next_same = pst_arena_alloc(m->arena, (m->nfields ? m->nfields : 1) * sizeof *m->next_same);
	if (m->slots == NULL || m->next_same == NULL)
		return -1;
	m->nslots = cap;
	for (size_t i = 0; i < cap; i++)
		m->slots[i] = (struct name_slot){ .first = -1, .last = -1 };
	for (size_t i = 0; i < m->nfields; i++) {
		const pst_msg_field *f = &m->fields[i];
		m->next_same[i] = -1;
		if (f->flags & UNNAMED)
			continue;   /* never found by name */
		struct name_slot *sl = name_slot(m, f->name, f->name_len, f->name_hash);
		if (sl->first < 0) {
			sl->hash = f->name_hash;
			sl->first = (long)i;
		} else {
			m->next_same[sl->last] = (long)i;
		}
		sl->last = (long)i;
		sl->count++;
	}
	return 0;
}

int pst_msg_parse(const char *bytes, size_t len, const pst_msg_limits *limits,
                  pst_msg **out, pst_msg_error *err)
{
	return pst_msg_parse_in(bytes, len, limits, NULL, out, err);
}

int pst_msg_parse_in(const char *bytes, size_t len, const pst_msg_limits *limits,
                     pst_arena *arena, pst_msg **out, pst_msg_error *err)
{
	*out = NULL;
	if (err) {
		err->code = PST_MSG_OK;
		err->text[0] = '\0';
	}
	pst_msg *m = calloc(1, sizeof *m);
	if (m != NULL) {
		m->own_arena = arena == NULL;
		m->arena = arena ? arena : pst_arena_new();
	}
	if (m == NULL || m->arena == NULL || (m->bytes = malloc(len ? len : 1)) == NULL) {
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
	if (build_index(m) < 0) {
		pst_msg_free(&m);
		return set_error(err, PST_MSG_ENOMEM, "out of memory");
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
	if (m->own_arena)
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
	if (start >= m->nfields)
		return -1;
	/* Going on from a field of this name (the usual walk): its link. */
	if (start > 0) {
		const pst_msg_field *p = &m->fields[start - 1];
		if (p->name_hash == hash && !(p->flags & UNNAMED) &&
		    pst_msg_name_eq(p->name, p->name_len, name, len))
			return m->next_same[start - 1];
	}
	long i = name_slot(m, name, len, hash)->first;
	while (i >= 0 && (size_t)i < start)
		i = m->next_same[i];
	return i;
}

const pst_msg_field *pst_msg_find(const pst_msg *m, const char *name, size_t len, size_t nth)
{
	long i = name_slot(m, name, len, pst_msg_name_hash(name, len))->first;
	for (size_t seen = 0; i >= 0 && seen < nth; seen++)
		i = m->next_same[i];
	return i >= 0 ? &m->fields[i] : NULL;
}

size_t pst_msg_count(const pst_msg *m, const char *name, size_t len)
{
	return name_slot(m, name, len, pst_msg_name_hash(name, len))->count;
}

const char *pst_msg_value(const pst_msg *m, const pst_msg_field *f, size_t *len)
{
	if (f->value_ == NULL) {
		/* The field and the arena are the message's own, never const
		 * objects: making the value on first read is allowed here. */
		pst_msg_field *mf = (pst_msg_field *)f;
		mf->value_ = unfold(m->arena, f->vbeg_, f->vend_, &mf->value_len_);
	}
	if (len)
		*len = f->value_ ? f->value_len_ : 0;
	return f->value_;
}

unsigned pst_msg_value_flags(const pst_msg *m, const pst_msg_field *f)
{
	size_t n;
	const char *v = f ? pst_msg_value(m, f, &n) : NULL;
	return v ? byte_flags(v, n) : 0;
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

int pst_msg_field_bare_cr(const pst_msg_field *f)
{
	const char *q = f->raw, *e = f->raw + f->raw_len;
	while ((q = memchr(q, '\r', (size_t)(e - q))) != NULL) {
		q++;
		if (q < e && *q != '\n' && *q != '\r' && !is_wsp(*q))
			return 1;
	}
	return 0;
}
