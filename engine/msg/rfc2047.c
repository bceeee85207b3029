/*
 * rfc2047.c: RFC 2047 encoded-words, decoded to UTF-8 and encoded from it;
 * see rfc2047.h for the contract.
 *
 * Decoding scans for "=?charset?X?text?=" where charset is a token (an
 * RFC 2231 "*language" suffix is dropped), X is B or Q (either case) and
 * text holds no white space or '?'. Adjacent encoded-words separated only
 * by white space form a run; the decoded bytes of consecutive words in the
 * same charset are joined before conversion, so a character split between
 * two words (common with B) comes out whole. When a run fails (bad base64
 * or Q hex, a charset iconv does not know, bytes invalid in the charset)
 * its words are taken one at a time, and a word that fails alone is copied
 * as written. Every iconv_open and iconv return is checked; the
 * conversion output is bounded (4 bytes out per byte in, plus 16).
 *
 * Encoding gives ASCII without control characters (HTAB allowed) back as a
 * copy, else "=?UTF-8?B?...?=" words of at most 75 characters, each
 * holding whole UTF-8 characters (at most 45 bytes), separated by a space.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg/rfc2047.h"
#include "util/buf.h"

#define MAX_CHARSET 64          /* longer charset names are not charsets */
#define WORD_BYTES  45          /* decoded bytes per encoded word: 60 base64 chars */

/* One encoded-word found in the input. */
struct word {
	size_t start, end;          /* the whole "=?...?=" */
	const char *cs;             /* charset (without *lang) */
	size_t cslen;
	char enc;                   /* 'B' or 'Q' */
	const char *text;
	size_t textlen;
};

static int is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\"/[]?.=", c);
}

/* Whether an encoded-word starts at in[p]; fills w. */
static int find_word(const char *in, size_t len, size_t p, struct word *w)
{
	if (p + 2 > len || in[p] != '=' || in[p + 1] != '?')
		return 0;
	size_t i = p + 2, cs = i;
	while (i < len && is_token_char((unsigned char)in[i]))
		i++;
	if (i == cs || i >= len || in[i] != '?' || i - cs > MAX_CHARSET)
		return 0;
	w->cs = in + cs;
	const char *star = memchr(w->cs, '*', i - cs);
	w->cslen = star ? (size_t)(star - w->cs) : i - cs;
	if (w->cslen == 0 || i + 3 > len || in[i + 2] != '?')
		return 0;
	char e = in[i + 1];
	if (e != 'B' && e != 'b' && e != 'Q' && e != 'q')
		return 0;
	w->enc = (e == 'b' || e == 'B') ? 'B' : 'Q';
	size_t t = i + 3;
	size_t j = t;
	while (j < len && in[j] != '?' && !is_wsp(in[j]) && in[j] != '\0')
		j++;
	if (j + 1 >= len || in[j] != '?' || in[j + 1] != '=')
		return 0;
	w->text = in + t;
	w->textlen = j - t;
	w->start = p;
	w->end = j + 2;
	return 1;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* Append the decoded bytes of w to b. 0, 1 when the text is invalid,
 * -1 on ENOMEM. */
static int decode_text(const struct word *w, pst_buf *b)
{
	if (w->enc == 'Q') {
		for (size_t i = 0; i < w->textlen; i++) {
			unsigned char c = (unsigned char)w->text[i];
			if (c == '_')
				c = ' ';
			else if (c == '=') {
				if (i + 2 >= w->textlen)
					return 1;
				int h = hex_value((unsigned char)w->text[i + 1]);
				int l = hex_value((unsigned char)w->text[i + 2]);
				if (h < 0 || l < 0)
					return 1;
				c = (unsigned char)(h * 16 + l);
				i += 2;
			}
			if (pst_buf_putc(b, (char)c) < 0)
				return -1;
		}
		return 0;
	}
	unsigned acc = 0;
	int bits = 0;
	size_t i = 0;
	for (; i < w->textlen && w->text[i] != '='; i++) {
		int v = b64_value((unsigned char)w->text[i]);
		if (v < 0)
			return 1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (pst_buf_putc(b, (char)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	for (; i < w->textlen; i++)
		if (w->text[i] != '=')
			return 1;
	return 0;
}

/* Convert n bytes in charset cs to UTF-8 appended to out. 0, 1 when iconv
 * cannot (unknown charset, invalid or incomplete input), -1 on ENOMEM. */
static int convert(const char *cs, size_t cslen, const char *p, size_t n, pst_buf *out)
{
	char name[MAX_CHARSET + 1];
	memcpy(name, cs, cslen);
	name[cslen] = '\0';
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return 1;
	size_t room = n * 4 + 16;
	if (pst_buf_reserve(out, room) < 0) {
		iconv_close(cd);
		return -1;
	}
	char *inp = (char *)p, *outp = out->data + out->len;
	size_t inleft = n, outleft = room;
	int rc = 0;
	if (iconv(cd, &inp, &inleft, &outp, &outleft) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &outp, &outleft) == (size_t)-1)
		rc = 1;
	iconv_close(cd);
	if (rc == 0) {
		out->len = (size_t)(outp - out->data);
		out->data[out->len] = '\0';
	}
	return rc;
}

/* Decode the run of words ws[0..n) into out; 0 decoded, 1 failed (out
 * unchanged), -1 ENOMEM. */
static int decode_run(const struct word *ws, size_t n, pst_buf *out)
{
	size_t mark = out->len;
	pst_buf raw = PST_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; ) {
		size_t j = i;
		pst_buf_clear(&raw);
		while (j < n && ws[j].cslen == ws[i].cslen &&
		       strncasecmp(ws[j].cs, ws[i].cs, ws[i].cslen) == 0 && rc == 0)
			rc = decode_text(&ws[j++], &raw);
		if (rc == 0)
			rc = convert(ws[i].cs, ws[i].cslen, raw.data ? raw.data : "", raw.len, out);
		i = j;
	}
	pst_buf_free(&raw);
	if (rc != 0 && out->len > mark) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return rc;
}

/* Copy or decode the run of adjacent words starting at *p; returns the
 * number of words decoded or -1. */
static int take_run(const char *in, size_t len, size_t *p, pst_buf *out)
{
	struct word ws[64];
	size_t n = 0, q = *p;
	while (n < sizeof ws / sizeof ws[0] && find_word(in, len, q, &ws[n])) {
		q = ws[n++].end;
		size_t r = q;
		while (r < len && is_wsp(in[r]))
			r++;
		struct word probe;
		if (r == q || !find_word(in, len, r, &probe))
			break;
		q = r;
	}
	int rc = decode_run(ws, n, out);
	if (rc > 0 && n > 1) {
		/* Some word of the run is bad: take the first word alone; the
		 * rest is looked at again by the caller. */
		n = 1;
		rc = decode_run(ws, n, out);
	}
	size_t end = ws[n - 1].end;
	if (rc < 0)
		return -1;
	if (rc > 0) {
		/* Not decodable: keep it as written, word by word with the
		 * white space between. */
		if (pst_buf_append(out, in + *p, end - *p) < 0)
			return -1;
		*p = end;
		return 0;
	}
	*p = end;
	return (int)n;
}

const char *pst_rfc2047_find_start(const char *in, size_t len)
{
	const char *e = in + len;
	/* memchr for the rare '=' beats memmem's setup on short values. */
	for (const char *q = in; q < e; q++) {
		q = memchr(q, '=', (size_t)(e - q));
		if (q == NULL || q + 1 >= e)
			return NULL;
		if (q[1] == '?')
			return q;
	}
	return NULL;
}

int pst_rfc2047_decode(pst_arena *arena, const char *in, size_t len, char **out, size_t *outlen)
{
	pst_buf b = PST_BUF_INIT;
	size_t p = 0;
	int total = 0;
	struct word w;
	while (p < len) {
		const char *q = pst_rfc2047_find_start(in + p, len - p);
		size_t next = q ? (size_t)(q - in) : len;
		if (pst_buf_append(&b, in + p, next - p) < 0)
			goto nomem;
		p = next;
		if (p >= len)
			break;
		if (!find_word(in, len, p, &w)) {
			if (pst_buf_append(&b, in + p, 1) < 0)
				goto nomem;
			p++;
			continue;
		}
		int n = take_run(in, len, &p, &b);
		if (n < 0 || total > INT_MAX - n)
			goto nomem;
		total += n;
	}
	*out = pst_arena_strndup(arena, b.data ? b.data : "", b.len);
	if (*out == NULL)
		goto nomem;
	if (outlen)
		*outlen = b.len;
	pst_buf_free(&b);
	return total;
nomem:
	pst_buf_free(&b);
	*out = NULL;
	return -1;
}

/* ---- Encoding --------------------------------------------------------- */

static int needs_encoding(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x7f || (c < 0x20 && c != '\t'))
			return 1;
	}
	return 0;
}

/* How many bytes from p (at most max, at least 1) end on a UTF-8
 * character boundary. */
static size_t utf8_chunk(const char *p, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t k = max;
	while (k > 0 && ((unsigned char)p[k] & 0xc0) == 0x80)
		k--;
	return k > 0 ? k : max;
}

static int b64_word(pst_buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (pst_buf_puts(b, "=?UTF-8?B?") < 0)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = { tab[(v >> 18) & 63], tab[(v >> 12) & 63],
		              i + 1 < n ? tab[(v >> 6) & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		if (pst_buf_append(b, q, 4) < 0)
			return -1;
	}
	return pst_buf_puts(b, "?=");
}

char *pst_rfc2047_encode(pst_arena *arena, const char *in, size_t len)
{
	if (!needs_encoding(in, len))
		return pst_arena_strndup(arena, in, len);
	pst_buf b = PST_BUF_INIT;
	size_t p = 0;
	while (p < len) {
		size_t k = utf8_chunk(in + p, len - p, WORD_BYTES);
		if ((p > 0 && pst_buf_putc(&b, ' ') < 0) ||
		    b64_word(&b, (const unsigned char *)in + p, k) < 0) {
			pst_buf_free(&b);
			return NULL;
		}
		p += k;
	}
	char *s = pst_arena_strndup(arena, b.data ? b.data : "", b.len);
	pst_buf_free(&b);
	return s;
}
