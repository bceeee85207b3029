/*
 * mime.c: the MIME structure walk behind the attachment.* facts; see
 * mime.h for the interface.
 *
 * Entities. The message is the first entity (depth 0). An entity's header
 * section runs to the first empty line (CRLF or LF endings); only
 * Content-Type, Content-Disposition and Content-Transfer-Encoding are read.
 * A missing Content-Type is text/plain, or message/rfc822 directly inside
 * a multipart/digest (RFC 2046 5.1.5).
 *  - multipart (any subtype): its body is split at the lines that start
 *    with "--" boundary: followed by "--" it is the close delimiter (what
 *    follows is ignored), by nothing but white space (transport padding)
 *    a delimiter. The preamble before the first delimiter and the
 *    epilogue after the close are skipped. A body part runs from the line
 *    after a delimiter to the next delimiter line; each is an entity one
 *    level deeper. A part's own multiparts are split inside its range only.
 *  - message/rfc822 and message/global: an attachment itself (clients list
 *    a forwarded message as one), and its body is an entity one level
 *    deeper, walked as a message. Encoded (base64, quoted-printable) it is
 *    not decoded: "encoded message/rfc822" is the error.
 *  - anything else is a leaf.
 * A leaf is an attachment when its Content-Disposition is anything but
 * "inline" (RFC 2183 2.8: an unknown disposition is treated as
 * attachment), or it carries a file name (Content-Disposition filename=
 * or Content-Type name=; either parameter is taken from either field),
 * or its type is not text (an application,
 * image, audio, video ... part shows as an attachment or is opened
 * as a file by some client, wherever it stands). A text leaf without a
 * name or an attachment disposition is body text, not an attachment.
 *
 * Names. A parameter's value is a token or a quoted string (backslash
 * escapes removed); RFC 2231 "name*=charset'lang'%XX" and continuations
 * ("name*0*=", "name*1=", ...) are joined in section order and
 * percent-decoded, then converted from charset to UTF-8 (as an RFC 2047
 * word, so by rfc2047.c's iconv; left as bytes when that fails). Plain
 * values are RFC 2047 decoded (Outlook and Thunderbird write and read
 * "=?utf-8?B?...?=" in quoted names). Every candidate a client could read
 * goes in the set: both filename= and name=, both "name" and "name*", both
 * the sections up to a gap and all of them; and of each, up to three
 * forms: control characters (NUL included) and invalid UTF-8 bytes
 * replaced by U+FFFD; cut at the first such byte (a C-string reader sees
 * "a.exe" in "a.exe\0.txt"); with them removed. Each form loses trailing
 * dots and white space (Windows drops them: "a.exe. " opens as a.exe).
 * Empty forms are not listed. No name holds a control byte or invalid
 * UTF-8, so a regex on it cannot be dodged by one.
 *
 * Errors (result.error: one reason; a limit's replaces a structure error
 * found before it). Limits: "nesting too deep", "part header too big",
 * "too much to scan" end the walk; "too many parts" pushes nothing more
 * but walks the parts already pushed (their attachments are listed).
 * Structure a client may read otherwise is reported (the first such
 * error kept) and the walk goes on: "multipart without boundary" (walked as a leaf), "multipart
 * without parts" (no delimiter line), "unterminated multipart" (no close
 * delimiter: the last part runs to the end), "ambiguous boundary line" (a
 * line starting with the delimiter followed by other text: taken as a
 * delimiter, as a prefix-matching client would), "duplicate
 * Content-Type", "duplicate Content-Disposition", "duplicate boundary",
 * "malformed Content-Type" (no type/subtype: walked as text/plain),
 * "too many parameter sections", "encoded message/rfc822", "too many
 * names" (a set would pass PST_MIME_MAX_NAMES members: no more are added).
 *
 * Bounds: each entity is pushed once on an explicit stack of at most
 * max_parts entries; the bytes read for boundaries are counted against
 * max_scan_bytes before each scan; a part's header section is read up to
 * max_header_bytes, the message's own up to PST_MAX_HEADER_BYTES (what the
 * message model reads) when that is more. No recursion.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "msg/mime.h"
#include "msg/rfc2047.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/utf8.h"

#define MAX_TOKEN 128               /* type, subtype, disposition, encoding */
#define MAX_BOUNDARY 256            /* RFC 2046 says 70; clients take more */

/* One entity to walk: bytes [beg, end) of the message. */
struct entity {
	size_t beg, end;
	size_t depth;
	int in_digest;              /* default type message/rfc822 */
};

/* The values of one parameter base ("filename", "name") as written. */
struct pvalue {
	int kind;                   /* 0 plain, 1 "name*", 2 section */
	unsigned num;               /* section number */
	int ext;                    /* section with '*': percent-encoded */
	const char *v;              /* unquoted value, arena */
	size_t n;
};

struct pvalues {
	struct pvalue items[PST_MIME_MAX_SECTIONS];
	size_t n;
};

/* What an entity's header says. */
struct mime_header {
	int has_type, malformed_type;
	char type[MAX_TOKEN], subtype[MAX_TOKEN];
	char disposition[MAX_TOKEN];  /* "" when absent */
	char encoding[MAX_TOKEN];
	const char *boundary;       /* arena; NULL when absent */
	size_t boundary_len;
	struct pvalues name, filename;
	size_t body;                /* offset where the body starts */
};

struct walk {
	const char *b;
	size_t len;
	pst_mime_limits lim;
	pst_arena *arena;
	pst_mime_result *out;
	struct entity *stack;
	size_t nstack, created;
	size_t scanned;
	int stop;                   /* a limit was hit: the walk ends */
	int full;                   /* max_parts entities pushed */
	size_t names_cap, types_cap;
	struct mime_header h;       /* the entity being read */
	int nomem;
};

static void fail(struct walk *w, const char *why)
{
	if (w->out->error == NULL && !w->full)
		w->out->error = why;
}

/* A limit: its reason replaces a structure error found before, and the
 * walk ends. */
static void stop(struct walk *w, const char *why)
{
	w->out->error = why;
	w->stop = 1;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 token characters. */
static int is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* ---- Sets ----------------------------------------------------------------- */

/* Add s (n bytes, no NUL inside) to a set unless it is there; a set
 * holds at most PST_MIME_MAX_NAMES members ("too many names"), so the
 * linear look-up stays bounded. */
static void set_add(struct walk *w, const char ***items, size_t *n, size_t *cap,
                    const char *s, size_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*items)[i]) == len && memcmp((*items)[i], s, len) == 0)
			return;
	if (*n == PST_MIME_MAX_NAMES) {
		fail(w, "too many names");
		return;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		const char **grown = pst_arena_calloc(w->arena, ncap, sizeof *grown);
		if (grown == NULL) {
			w->nomem = 1;
			return;
		}
		if (*n)
			memcpy(grown, *items, *n * sizeof *grown);
		*items = grown;
		*cap = ncap;
	}
	char *copy = pst_arena_strndup(w->arena, s, len);
	if (copy == NULL) {
		w->nomem = 1;
		return;
	}
	(*items)[(*n)++] = copy;
}

/* ---- Names ---------------------------------------------------------------- */

/* Drop trailing dots and white space (Windows does when it saves a file). */
static size_t trim_name(const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == '.' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n;
}

/* The length of a valid UTF-8 character at s (n bytes left), or 0 when the
 * byte there is a control character (C0, DEL, C1) or starts no valid
 * character. */
static size_t clean_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	if (*s < 0x20 || *s == 0x7f)
		return 0;
	if (*s < 0x80)
		return 1;
	size_t k = pst_utf8_decode(s, n, &cp);
	return cp < 0xa0 ? 0 : k;
}

/* Add the forms of one decoded candidate name (see the contract). */
static void add_name(struct walk *w, const char *p, size_t n)
{
	pst_buf forms[3] = { PST_BUF_INIT, PST_BUF_INIT, PST_BUF_INIT };
	int cut = 0;
	for (size_t i = 0; i < n;) {
		size_t k = clean_char((const unsigned char *)p + i, n - i);
		int ok = 1;
		if (k == 0) {
			ok = pst_buf_puts(&forms[0], "\xEF\xBF\xBD") == 0;
			cut = 1;
			i++;
		} else {
			ok = pst_buf_append(&forms[0], p + i, k) == 0 &&
			     (cut || pst_buf_append(&forms[1], p + i, k) == 0) &&
			     pst_buf_append(&forms[2], p + i, k) == 0;
			i += k;
		}
		if (!ok) {
			w->nomem = 1;
			break;
		}
	}
	for (int f = 0; f < 3 && !w->nomem; f++) {
		const char *s = forms[f].data ? forms[f].data : "";
		size_t len = trim_name(s, forms[f].len);
		if (len > 0)
			set_add(w, &w->out->names, &w->out->nnames, &w->names_cap, s, len);
	}
	for (int f = 0; f < 3; f++)
		pst_buf_free(&forms[f]);
}

/* A plain (token or quoted) value: RFC 2047 decoded when it holds a word. */
static void add_plain_name(struct walk *w, const char *v, size_t n)
{
	char *dec;
	size_t dlen;
	if (pst_rfc2047_decode(w->arena, v, n, &dec, &dlen) < 0) {
		w->nomem = 1;
		return;
	}
	add_name(w, dec, dlen);
	if (dlen != n || memcmp(dec, v, n) != 0)
		add_name(w, v, n);        /* what a client that does not decode sees */
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode v into b (an invalid escape is kept as written). */
static int percent_decode(pst_buf *b, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = i + 2 < n ? hexval(v[i + 1]) : -1;
		int lo = i + 2 < n ? hexval(v[i + 2]) : -1;
		if (v[i] == '%' && hi >= 0 && lo >= 0) {
			if (pst_buf_putc(b, (char)(hi * 16 + lo)) < 0)
				return -1;
			i += 2;
		} else if (pst_buf_putc(b, v[i]) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Convert bytes in charset cs to UTF-8 through an RFC 2047 Q word, and add
 * the result (the bytes as they are when the charset is unknown). */
static void add_charset_name(struct walk *w, const char *cs, size_t cslen, const char *p, size_t n)
{
	pst_buf word = PST_BUF_INIT;
	static const char hex[] = "0123456789ABCDEF";
	int ok = cslen > 0 && cslen <= 64;
	for (size_t i = 0; ok && i < cslen; i++)
		ok = is_tchar((unsigned char)cs[i]) && cs[i] != '*' && cs[i] != '\'';
	if (ok) {
		int rc = pst_buf_puts(&word, "=?") | pst_buf_append(&word, cs, cslen) |
		         pst_buf_puts(&word, "?Q?");
		for (size_t i = 0; rc == 0 && i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			rc = pst_buf_putc(&word, '=') | pst_buf_putc(&word, hex[c >> 4]) |
			     pst_buf_putc(&word, hex[c & 15]);
		}
		if (rc == 0)
			rc = pst_buf_puts(&word, "?=");
		if (rc != 0) {
			w->nomem = 1;
			pst_buf_free(&word);
			return;
		}
		char *dec;
		size_t dlen;
		int d = pst_rfc2047_decode(w->arena, word.data, word.len, &dec, &dlen);
		pst_buf_free(&word);
		if (d < 0) {
			w->nomem = 1;
			return;
		}
		if (d > 0) {
			add_name(w, dec, dlen);
			return;
		}
	}
	add_name(w, p, n);
}

/* An extended value: charset'language'%XX... (the charset part may be
 * missing in a malformed one: then it is all value). */
static void add_extended_name(struct walk *w, const char *v, size_t n, int has_charset)
{
	const char *cs = "", *q1 = NULL, *q2 = NULL;
	size_t cslen = 0;
	if (has_charset && (q1 = memchr(v, '\'', n)) != NULL &&
	    (q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - v))) != NULL) {
		cs = v;
		cslen = (size_t)(q1 - v);
		n -= (size_t)(q2 + 1 - v);
		v = q2 + 1;
	}
	pst_buf b = PST_BUF_INIT;
	if (percent_decode(&b, v, n) < 0) {
		w->nomem = 1;
		pst_buf_free(&b);
		return;
	}
	if (cslen > 0)
		add_charset_name(w, cs, cslen, b.data ? b.data : "", b.len);
	else
		add_name(w, b.data ? b.data : "", b.len);
	pst_buf_free(&b);
}

/* Join the sections in order; first_gap: stop at the first missing number. */
static void add_sections(struct walk *w, struct pvalue **sec, size_t n, int first_gap)
{
	pst_buf joined = PST_BUF_INIT;
	int ext0 = n > 0 && sec[0]->num == 0 && sec[0]->ext;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (first_gap && sec[i]->num != i)
			break;
		/* Encoded sections are decoded after joining: a character may be
		 * split between them; plain ones are escaped to stay literal. */
		if (sec[i]->ext || !ext0) {
			rc = pst_buf_append(&joined, sec[i]->v, sec[i]->n);
		} else {
			for (size_t k = 0; k < sec[i]->n && rc == 0; k++)
				rc = sec[i]->v[k] == '%' ? pst_buf_puts(&joined, "%25")
				                         : pst_buf_putc(&joined, sec[i]->v[k]);
		}
	}
	if (rc != 0)
		w->nomem = 1;
	else if (ext0)
		add_extended_name(w, joined.data ? joined.data : "", joined.len, 1);
	else
		add_plain_name(w, joined.data ? joined.data : "", joined.len);
	pst_buf_free(&joined);
}

/* Every name one parameter base gives (see the contract). */
static void add_param_names(struct walk *w, struct pvalues *pv)
{
	struct pvalue *sec[PST_MIME_MAX_SECTIONS];
	size_t nsec = 0;
	for (size_t i = 0; i < pv->n; i++) {
		struct pvalue *p = &pv->items[i];
		if (p->kind == 0)
			add_plain_name(w, p->v, p->n);
		else if (p->kind == 1)
			add_extended_name(w, p->v, p->n, 1);
		else
			sec[nsec++] = p;
	}
	/* Insertion sort by section number (stable: duplicates keep order). */
	for (size_t i = 1; i < nsec; i++)
		for (size_t j = i; j > 0 && sec[j - 1]->num > sec[j]->num; j--) {
			struct pvalue *t = sec[j];
			sec[j] = sec[j - 1];
			sec[j - 1] = t;
		}
	if (nsec == 0)
		return;
	int gap = 0;
	for (size_t i = 0; i < nsec; i++)
		if (sec[i]->num != i)
			gap = 1;
	add_sections(w, sec, nsec, 0);
	if (gap)
		add_sections(w, sec, nsec, 1);
}

/* ---- Header fields -------------------------------------------------------- */

/* Skip white space and (nested, escaped) comments from *i. */
static void skip_cfws(const char *v, size_t n, size_t *i)
{
	size_t depth = 0;
	while (*i < n) {
		char c = v[*i];
		if (depth > 0 && c == '\\' && *i + 1 < n) {
			*i += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_wsp(c))
			return;
		(*i)++;
	}
}

/* A token at *i, lower-cased into out (MAX_TOKEN); its length (0: none). */
static size_t read_token(const char *v, size_t n, size_t *i, char *out, int keep_case)
{
	size_t k = 0;
	while (*i < n && is_tchar((unsigned char)v[*i])) {
		if (k + 1 < MAX_TOKEN)
			out[k++] = (char)(keep_case ? v[*i] : lower((unsigned char)v[*i]));
		(*i)++;
	}
	out[k] = '\0';
	return k;
}

/* A parameter value at *i: quoted string (unescaped) or token, in arena. */
static const char *read_value(struct walk *w, const char *v, size_t n, size_t *i, size_t *len)
{
	pst_buf b = PST_BUF_INIT;
	int rc = 0;
	if (*i < n && v[*i] == '"') {
		(*i)++;
		while (*i < n && v[*i] != '"' && rc == 0) {
			if (v[*i] == '\\' && *i + 1 < n)
				(*i)++;
			rc = pst_buf_putc(&b, v[(*i)++]);
		}
		if (*i < n)
			(*i)++;           /* the closing quote */
	} else {
		/* A token, or what lenient readers take for one: up to ';' or
		 * white space (a name with a space unquoted still names a file). */
		while (*i < n && v[*i] != ';' && !is_wsp(v[*i]) && rc == 0)
			rc = pst_buf_putc(&b, v[(*i)++]);
	}
	const char *s = rc == 0 ? pst_arena_strndup(w->arena, b.data ? b.data : "", b.len) : NULL;
	*len = b.len;
	pst_buf_free(&b);
	if (s == NULL)
		w->nomem = 1;
	return s;
}

/* Record a parameter: attr (lower case) = value. */
static void note_param(struct walk *w, const char *attr, const char *v, size_t n)
{
	struct mime_header *h = &w->h;
	struct pvalues *pv = NULL;
	const char *star = strchr(attr, '*');
	size_t base = star ? (size_t)(star - attr) : strlen(attr);
	if (base == 8 && strncmp(attr, "filename", 8) == 0)
		pv = &h->filename;
	else if (base == 4 && strncmp(attr, "name", 4) == 0)
		pv = &h->name;
	else if (strcmp(attr, "boundary") == 0) {
		if (h->boundary != NULL)
			fail(w, "duplicate boundary");
		else {
			h->boundary = v;
			h->boundary_len = n;
		}
		return;
	}
	if (pv == NULL)
		return;
	if (pv->n == PST_MIME_MAX_SECTIONS) {
		fail(w, "too many parameter sections");
		return;
	}
	struct pvalue *p = &pv->items[pv->n];
	memset(p, 0, sizeof *p);
	p->v = v;
	p->n = n;
	if (star == NULL) {
		p->kind = 0;
	} else if (star[1] == '\0') {
		p->kind = 1;
	} else {
		const char *d = star + 1;
		unsigned num = 0;
		if (*d < '0' || *d > '9')
			return;           /* not a section: ignored */
		while (*d >= '0' && *d <= '9' && num < 100000)
			num = num * 10 + (unsigned)(*d++ - '0');
		if (*d == '*' && d[1] == '\0')
			p->ext = 1;
		else if (*d != '\0')
			return;
		p->kind = 2;
		p->num = num;
	}
	pv->n++;
}

/* "; attr=value" parameters from *i to the end. */
static void read_params(struct walk *w, const char *v, size_t n, size_t i)
{
	char attr[MAX_TOKEN];
	while (i < n && !w->nomem) {
		skip_cfws(v, n, &i);
		if (i < n && v[i] == ';') {
			i++;
			continue;
		}
		size_t k = 0;
		while (i < n && v[i] != '=' && v[i] != ';' && !is_wsp(v[i])) {
			if (k + 1 < sizeof attr)
				attr[k++] = (char)lower((unsigned char)v[i]);
			i++;
		}
		attr[k] = '\0';
		skip_cfws(v, n, &i);
		if (i >= n || v[i] != '=') {
			if (k == 0 && i < n)
				i++;      /* a stray byte */
			continue;
		}
		i++;
		skip_cfws(v, n, &i);
		size_t len;
		const char *val = read_value(w, v, n, &i, &len);
		if (val != NULL && k > 0)
			note_param(w, attr, val, len);
	}
}

static void read_content_type(struct walk *w, const char *v, size_t n)
{
	struct mime_header *h = &w->h;
	size_t i = 0;
	skip_cfws(v, n, &i);
	size_t tl = read_token(v, n, &i, h->type, 0);
	skip_cfws(v, n, &i);
	size_t sl = 0;
	if (i < n && v[i] == '/') {
		i++;
		skip_cfws(v, n, &i);
		sl = read_token(v, n, &i, h->subtype, 0);
	}
	h->has_type = 1;
	if (tl == 0 || sl == 0) {
		h->malformed_type = 1;
		fail(w, "malformed Content-Type");
		strcpy(h->type, "text");
		strcpy(h->subtype, "plain");
	}
	read_params(w, v, n, i);
}

static void read_disposition(struct walk *w, const char *v, size_t n)
{
	size_t i = 0;
	skip_cfws(v, n, &i);
	if (read_token(v, n, &i, w->h.disposition, 0) == 0)
		strcpy(w->h.disposition, "attachment"); /* unreadable: not inline */
	read_params(w, v, n, i);
}

/* The unfolded value of the field at [p, e) after its colon, in arena. */
static const char *unfold(struct walk *w, const char *p, const char *e, size_t *len)
{
	char *out = pst_arena_alloc(w->arena, (size_t)(e - p) + 1);
	size_t k = 0;
	if (out == NULL) {
		w->nomem = 1;
		return NULL;
	}
	for (; p < e; p++)
		if (*p != '\r' && *p != '\n')
			out[k++] = *p;
	out[k] = '\0';
	*len = k;
	return out;
}

/* Whether a field line [p, e) has the name nm (then *val is after the colon). */
static int field_is(const char *p, const char *e, const char *nm, const char **val)
{
	size_t k = strlen(nm);
	if ((size_t)(e - p) <= k || strncasecmp(p, nm, k) != 0)
		return 0;
	p += k;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= e || *p != ':')
		return 0;
	*val = p + 1;
	return 1;
}

/* One logical field [p, e), folds included. */
static void read_field(struct walk *w, const char *p, const char *e, int *seen_ct, int *seen_cd)
{
	const char *val;
	size_t n;
	if (field_is(p, e, "content-type", &val)) {
		if ((*seen_ct)++) {
			fail(w, "duplicate Content-Type");
			return;
		}
		if ((val = unfold(w, val, e, &n)) != NULL)
			read_content_type(w, val, n);
	} else if (field_is(p, e, "content-disposition", &val)) {
		if ((*seen_cd)++) {
			fail(w, "duplicate Content-Disposition");
			return;
		}
		if ((val = unfold(w, val, e, &n)) != NULL)
			read_disposition(w, val, n);
	} else if (field_is(p, e, "content-transfer-encoding", &val)) {
		size_t i = 0;
		if ((val = unfold(w, val, e, &n)) != NULL) {
			skip_cfws(val, n, &i);
			read_token(val, n, &i, w->h.encoding, 0);
		}
	}
}

/* Read the header section of ent into w->h. 0, or -1 when it is too big. */
static int read_header(struct walk *w, const struct entity *ent)
{
	const char *b = w->b, *end = w->b + ent->end;
	const char *p = b + ent->beg, *field = NULL;
	int seen_ct = 0, seen_cd = 0;
	/* The message's own header section may be as big as the message model
	 * reads (PST_MAX_HEADER_BYTES); a part's is held to max_header_bytes. */
	size_t max = ent->depth == 0 && w->lim.max_header_bytes < PST_MAX_HEADER_BYTES ?
	             PST_MAX_HEADER_BYTES : w->lim.max_header_bytes;
	memset(&w->h, 0, sizeof w->h);
	while (p < end && !w->nomem) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end;
		size_t content = (size_t)((nl ? nl : end) - p);
		if (content > 0 && p[content - 1] == '\r')
			content--;
		if ((size_t)(le - (b + ent->beg)) > max && content > 0) {
			stop(w, "part header too big");
			return -1;
		}
		if (content == 0) {             /* the empty line */
			if (field)
				read_field(w, field, p, &seen_ct, &seen_cd);
			w->h.body = (size_t)(le - b);
			return 0;
		}
		if (*p != ' ' && *p != '\t') {
			if (field)
				read_field(w, field, p, &seen_ct, &seen_cd);
			field = p;
		}
		p = le;
	}
	if (field && !w->nomem)
		read_field(w, field, end, &seen_ct, &seen_cd);
	w->h.body = ent->end;                /* all header: the body is empty */
	return 0;
}

/* ---- The walk ------------------------------------------------------------- */

/* Push an entity; past max_parts it is "too many parts": nothing more is
 * pushed, but the entities already pushed are still walked (bounded). */
static int push(struct walk *w, size_t beg, size_t end, size_t depth, int in_digest)
{
	if (w->created >= w->lim.max_parts) {
		if (!w->full)
			w->out->error = "too many parts";
		w->full = 1;
		return -1;
	}
	w->created++;
	w->stack[w->nstack++] = (struct entity){ beg, end, depth, in_digest };
	return 0;
}

/* Whether the line [p, p+n) (line ending removed) is a delimiter of the
 * boundary: 0 no, 1 delimiter, 2 close delimiter. */
static int delimiter_kind(struct walk *w, const char *p, size_t n)
{
	const char *bd = w->h.boundary;
	size_t bl = w->h.boundary_len;
	if (n < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, bd, bl) != 0)
		return 0;
	p += bl + 2;
	n -= bl + 2;
	if (n >= 2 && p[0] == '-' && p[1] == '-')
		return 2;
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t') {
			fail(w, "ambiguous boundary line");
			break;
		}
	return 1;
}

/* Split the body of the multipart entity ent and push its parts, in
 * order of appearance once popped. */
static void split_multipart(struct walk *w, const struct entity *ent, int digest)
{
	size_t beg = w->h.body, end = ent->end;
	if (end - beg > w->lim.max_scan_bytes - w->scanned) {
		stop(w, "too much to scan");
		return;
	}
	w->scanned += end - beg;
	size_t first = w->nstack, part = 0;
	int open = 0, closed = 0;
	const char *b = w->b;
	for (size_t p = beg; p < end && !closed && !w->stop;) {
		const char *nl = memchr(b + p, '\n', end - p);
		size_t le = nl ? (size_t)(nl - b) + 1 : end;
		size_t n = (nl ? (size_t)(nl - b) : end) - p;
		if (n > 0 && b[p + n - 1] == '\r')
			n--;
		int k = b[p] == '-' ? delimiter_kind(w, b + p, n) : 0;
		if (k != 0) {
			if (open && push(w, part, p, ent->depth + 1, digest) < 0)
				break;
			open = k == 1;
			closed = k == 2;
			part = le;
		}
		p = le;
	}
	if (open && !closed && !w->full) {
		fail(w, "unterminated multipart");
		push(w, part, end, ent->depth + 1, digest);
	}
	if (w->nstack == first && !closed && !w->full)
		fail(w, "multipart without parts");   /* "--b--" alone is allowed */
	/* Reverse this multipart's parts so the first is popped first. */
	for (size_t i = first, j = w->nstack; i + 1 < j; i++, j--) {
		struct entity t = w->stack[i];
		w->stack[i] = w->stack[j - 1];
		w->stack[j - 1] = t;
	}
}

static void note_attachment(struct walk *w)
{
	struct mime_header *h = &w->h;
	char type[2 * MAX_TOKEN + 1];
	w->out->count++;
	snprintf(type, sizeof type, "%s/%s", h->type, h->subtype);
	set_add(w, &w->out->types, &w->out->ntypes, &w->types_cap, type, strlen(type));
	add_param_names(w, &h->filename);
	add_param_names(w, &h->name);
}

/* Walk one entity popped from the stack. */
static void walk_entity(struct walk *w, const struct entity *ent)
{
	struct mime_header *h = &w->h;
	w->out->nparts++;
	if (read_header(w, ent) < 0 || w->nomem)
		return;
	if (!h->has_type) {
		strcpy(h->type, ent->in_digest ? "message" : "text");
		strcpy(h->subtype, ent->in_digest ? "rfc822" : "plain");
	}
	if (strcmp(h->type, "multipart") == 0) {
		if (h->boundary == NULL || h->boundary_len == 0 || h->boundary_len > MAX_BOUNDARY) {
			fail(w, "multipart without boundary");
			note_attachment(w);   /* a leaf of no text type */
			return;
		}
		if (ent->depth + 1 > w->lim.max_depth) {
			stop(w, "nesting too deep");
			return;
		}
		split_multipart(w, ent, strcmp(h->subtype, "digest") == 0);
		return;
	}
	if (strcmp(h->type, "message") == 0 &&
	    (strcmp(h->subtype, "rfc822") == 0 || strcmp(h->subtype, "global") == 0)) {
		int encoded = strcmp(h->encoding, "base64") == 0 ||
		              strcmp(h->encoding, "quoted-printable") == 0;
		size_t body = h->body;
		note_attachment(w);
		if (encoded) {
			fail(w, "encoded message/rfc822");
			return;
		}
		if (ent->depth + 1 > w->lim.max_depth) {
			stop(w, "nesting too deep");
			return;
		}
		push(w, body, ent->end, ent->depth + 1, 0);
		return;
	}
	if ((h->disposition[0] && strcmp(h->disposition, "inline") != 0) ||
	    h->filename.n > 0 || h->name.n > 0 || strcmp(h->type, "text") != 0)
		note_attachment(w);
}

int pst_mime_scan(const char *bytes, size_t len, const pst_mime_limits *limits,
                  pst_arena *arena, pst_mime_result *out)
{
	struct walk w;
	memset(out, 0, sizeof *out);
	memset(&w, 0, sizeof w);
	w.b = bytes ? bytes : "";
	w.len = bytes ? len : 0;
	w.arena = arena;
	w.out = out;
	if (limits)
		w.lim = *limits;
	if (w.lim.max_depth == 0)
		w.lim.max_depth = PST_MIME_MAX_DEPTH;
	if (w.lim.max_parts == 0)
		w.lim.max_parts = PST_MIME_MAX_PARTS;
	if (w.lim.max_header_bytes == 0)
		w.lim.max_header_bytes = PST_MIME_MAX_PART_HEADER_BYTES;
	if (w.lim.max_scan_bytes == 0)
		w.lim.max_scan_bytes = PST_MIME_MAX_SCAN_BYTES;
	w.stack = pst_arena_calloc(arena, w.lim.max_parts, sizeof *w.stack);
	if (w.stack == NULL)
		return -1;
	push(&w, 0, w.len, 0, 0);
	while (w.nstack > 0 && !w.stop && !w.nomem) {
		struct entity ent = w.stack[--w.nstack];
		walk_entity(&w, &ent);
	}
	return w.nomem ? -1 : 0;
}
