/*
 * send.c: the rua destinations of a DMARC record and the report message
 * of RFC 9990 (rua.h, "send.c, verify.c").
 *
 * Destinations: the rua value is split on ',' (a comma inside a URI is
 * percent-encoded, RFC 9989), each item trimmed of white space; empty
 * items are skipped. An item's size limit is its last '!' followed by
 * 1*DIGIT and an optional unit k, m, g or t (powers of 2, any case); a '!'
 * followed by anything else makes the item REFUSED ("invalid size limit").
 * A limit past 2^64 - 1 is taken as that. Only mailto: (any case) is
 * used: other schemes are REFUSED ("unsupported URI scheme"). The mailto
 * "to" part (RFC 6068; "?hfields" are dropped) is percent-decoded and
 * must be one addr-spec: a dot-atom local part (RFC 5322: no control
 * byte, space, '<', '>', ',', '"', '@' or non-ASCII byte, which would
 * inject header lines or SMTP parameters or name several mailboxes;
 * quoted local parts are refused too), '@', and a valid domain name,
 * which becomes host (A-labels, lower case) and replaces the domain in
 * address.
 *
 * The message: RFC 5322 and MIME with CRLF line ends, built into a pst_buf
 * (the caller's). Header texts are checked, never escaped: a control byte
 * or a non-ASCII byte in any of them (and '"' or '\' in the file name,
 * which is a quoted-string) refuses the message with EINVAL. The
 * multipart boundary is "=_postern-rua-N" with the smallest N not found in
 * the text part (base64 never holds '_' or '-'). Nothing here allocates
 * beyond out; a failure leaves out with what was appended before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rua/rua.h"
#include "util/domain.h"

/* ---- Destinations ---------------------------------------------------- */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	       || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot-atom-text of n bytes: atext runs joined by single dots. */
static int dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
			return 0;
	return 1;
}

static void refuse(pst_rua_dest *d, const char *why)
{
	d->outcome = PST_RUA_REFUSED;
	snprintf(d->why, sizeof d->why, "%s", why);
}

/* Parse "1*DIGIT [unit]" of n bytes into *limit: 0, or -1. */
static int parse_limit(const char *s, size_t n, uint64_t *limit)
{
	unsigned shift = 0;
	uint64_t v = 0;
	size_t i;

	if (n > 0) {
		switch (s[n - 1] | 0x20) {
		case 'k': shift = 10; n--; break;
		case 'm': shift = 20; n--; break;
		case 'g': shift = 30; n--; break;
		case 't': shift = 40; n--; break;
		default: break;
		}
	}
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*limit = v > (UINT64_MAX >> shift) ? UINT64_MAX : v << shift;
	return 0;
}

/* The mailto URI's mailbox (after "mailto:", n bytes) into d. */
static void parse_mailto(const char *s, size_t n, pst_rua_dest *d)
{
	char dec[PST_STORE_URI_MAX];
	const char *q = memchr(s, '?', n), *at, *why = NULL;
	size_t len = 0;
	char *host;

	if (q != NULL)
		n = (size_t)(q - s);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				refuse(d, "invalid percent-encoding in the mailto URI");
				return;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (len + 1 >= sizeof dec) {
			refuse(d, "mailto address too long");
			return;
		}
		dec[len++] = c;
	}
	dec[len] = '\0';
	at = len > 0 ? memrchr(dec, '@', len) : NULL;
	if (at == NULL) {
		refuse(d, "mailto URI without an address");
		return;
	}
	if (!dot_atom(dec, (size_t)(at - dec))) {
		refuse(d, "mailto address with forbidden characters");
		return;
	}
	host = pst_domain_normalize(at + 1, len - (size_t)(at + 1 - dec), &why);
	if (host == NULL) {
		refuse(d, why == pst_domain_why_nomem ? "out of memory"
						      : "mailto address with an invalid domain");
		return;
	}
	if (snprintf(d->host, sizeof d->host, "%s", host) >= (int)sizeof d->host
	    || snprintf(d->address, sizeof d->address, "%.*s@%s", (int)(at - dec), dec, host)
		       >= (int)sizeof d->address)
		refuse(d, "mailto address too long");
	free(host);
}

/* One trimmed item of n bytes (n > 0) into d. */
static void parse_item(const char *s, size_t n, pst_rua_dest *d)
{
	const char *bang = memrchr(s, '!', n);

	memset(d, 0, sizeof *d);
	if (bang != NULL) {
		if (parse_limit(bang + 1, n - (size_t)(bang + 1 - s), &d->limit) != 0) {
			snprintf(d->uri, sizeof d->uri, "%.*s", (int)n, s);
			refuse(d, "invalid size limit");
			return;
		}
		n = (size_t)(bang - s);
	}
	if (n >= sizeof d->uri) {
		snprintf(d->uri, sizeof d->uri, "%.*s", (int)n, s);
		refuse(d, "URI too long");
		return;
	}
	memcpy(d->uri, s, n);
	d->uri[n] = '\0';
	if (n < 7 || strncasecmp(s, "mailto:", 7) != 0) {
		refuse(d, "unsupported URI scheme");
		return;
	}
	parse_mailto(s + 7, n - 7, d);
}

size_t pst_rua_destinations(const char *rua, pst_rua_dest *out, size_t max)
{
	size_t count = 0;
	const char *p = rua;

	if (rua == NULL || out == NULL)
		return 0;
	while (*p != '\0' && count < max) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p), *a = p, *b = end;
		while (a < b && is_space(*a))
			a++;
		while (b > a && is_space(b[-1]))
			b--;
		if (b > a)
			parse_item(a, (size_t)(b - a), &out[count++]);
		p = comma ? comma + 1 : end;
	}
	return count;
}

/* ---- The message ------------------------------------------------------- */

#define LINE_MAX_CHARS 78
#define B64_LINE 76

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint64_t pst_rua_encoded_size(size_t gzlen)
{
	uint64_t chars = ((uint64_t)gzlen + 2) / 3 * 4;

	return chars + (chars + B64_LINE - 1) / B64_LINE * 2;
}

int pst_rua_fits(const pst_rua_dest *d, size_t gzlen)
{
	return d->limit == 0 || pst_rua_encoded_size(gzlen) <= d->limit;
}

/* Printable ASCII and space only. */
static int text_ok(const char *s)
{
	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			return 0;
	return 1;
}

/* Whether id can stand between '<' and '>' as a msg-id (RFC 5322 3.6.4,
 * dot-atom-text forms only). */
static int msg_id_ok(const char *id)
{
	const char *at = strchr(id, '@');

	return at != NULL && strchr(at + 1, '@') == NULL && dot_atom(id, (size_t)(at - id))
	       && dot_atom(at + 1, strlen(at + 1));
}

/* Whether the line may fold before its space at col: the character before
 * is no space and one after is (last: the last non-space), so that neither
 * side is a line of spaces only (RFC 5322 3.2.2 forbids those; some
 * parsers take one for the end of the header section). */
static int fold_at(const pst_buf *line, size_t col, size_t last)
{
	return line->data[col] == ' ' && line->data[col - 1] != ' ' && col < last;
}

/* "Name: value" CRLF, folded before spaces so that lines stay within 78
 * characters where the value allows (a word longer than that stays whole;
 * a run of spaces stays on one line with the word before it). */
static int header_folded(pst_buf *out, const char *name, const char *value)
{
	pst_buf line = PST_BUF_INIT;
	size_t start = 0, col, last;
	int rc = -1;

	if (pst_buf_printf(&line, "%s: %s", name, value) != 0)
		return -1;
	for (last = line.len; last > 0 && line.data[last - 1] == ' '; last--)
		;
	last = last > 0 ? last - 1 : 0;
	while (line.len - start > LINE_MAX_CHARS) {
		size_t cut = 0;
		for (col = start + 1; col <= start + LINE_MAX_CHARS; col++)
			if (fold_at(&line, col, last))
				cut = col;
		if (cut == 0) /* no fold in reach: the next one, if any */
			for (col = start + LINE_MAX_CHARS + 1; col < line.len && cut == 0; col++)
				if (fold_at(&line, col, last))
					cut = col;
		if (cut == 0)
			break;
		if (pst_buf_append(out, line.data + start, cut - start) != 0
		    || pst_buf_puts(out, "\r\n") != 0)
			goto done;
		start = cut;
	}
	rc = pst_buf_append(out, line.data + start, line.len - start) != 0
		     || pst_buf_puts(out, "\r\n") != 0
		     ? -1 : 0;
done:
	pst_buf_free(&line);
	return rc;
}

/* RFC 5322 date-time in UTC, C locale names. */
static int date_header(pst_buf *out, time_t now)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0
	    || tm.tm_mon > 11) {
		errno = EINVAL;
		return -1;
	}
	return pst_buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
			      days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
			      tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* base64 of data in 76-character CRLF lines. */
static int base64_lines(pst_buf *out, const unsigned char *p, size_t n)
{
	size_t col = 0;

	if (pst_buf_reserve(out, (size_t)pst_rua_encoded_size(n)) != 0)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		char q[4];
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		if (pst_buf_append(out, q, 4) != 0)
			return -1;
		col += 4;
		if (col == B64_LINE || i + 3 >= n) {
			if (pst_buf_puts(out, "\r\n") != 0)
				return -1;
			col = 0;
		}
	}
	return 0;
}

/* The boundary not found in text: "=_postern-rua-N". */
static void boundary_for(const char *text, char *b, size_t len)
{
	for (unsigned n = 0;; n++) {
		snprintf(b, len, "=_postern-rua-%u", n);
		if (strstr(text, b) == NULL)
			return;
	}
}

int pst_rua_compose(const char *from, const char *to, const char *policy_domain,
		    const char *submitter, const char *report_id, const char *filename,
		    const void *gz, size_t gzlen, time_t now, pst_buf *out)
{
	pst_buf text = PST_BUF_INIT, subj = PST_BUF_INIT;
	char boundary[48];
	int rc = -1;

	if (!text_ok(from) || !text_ok(to) || !text_ok(policy_domain) || !text_ok(submitter)
	    || !text_ok(report_id) || !text_ok(filename) || strpbrk(filename, "\"\\") != NULL
	    || out == NULL || (gz == NULL && gzlen > 0)) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	if (pst_buf_printf(&text,
			   "This is a DMARC aggregate report (RFC 9990) for the domain %s\r\n"
			   "from %s, in the attached file %s.\r\n",
			   policy_domain, submitter, filename) != 0
	    || pst_buf_printf(&subj, "Report Domain: %s Submitter: %s Report-ID: <%s>",
			      policy_domain, submitter, report_id) != 0)
		goto done;
	boundary_for(text.data, boundary, sizeof boundary);
	if (header_folded(out, "From", from) != 0 || header_folded(out, "To", to) != 0
	    || date_header(out, now) != 0 || header_folded(out, "Subject", subj.data) != 0)
		goto done;
	if (msg_id_ok(report_id) && pst_buf_printf(out, "Message-ID: <%s>\r\n", report_id) != 0)
		goto done;
	if (pst_buf_printf(out,
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: multipart/mixed;\r\n\tboundary=\"%s\"\r\n"
			   "\r\n"
			   "This is a multi-part message in MIME format.\r\n"
			   "\r\n--%s\r\n"
			   "Content-Type: text/plain; charset=us-ascii\r\n"
			   "Content-Transfer-Encoding: 7bit\r\n"
			   "\r\n%s"
			   "\r\n--%s\r\n"
			   "Content-Type: application/gzip;\r\n\tname=\"%s\"\r\n"
			   "Content-Transfer-Encoding: base64\r\n"
			   "Content-Disposition: attachment;\r\n\tfilename=\"%s\"\r\n"
			   "\r\n",
			   boundary, boundary, text.data, boundary, filename, filename) != 0
	    || base64_lines(out, gz, gzlen) != 0
	    || pst_buf_printf(out, "\r\n--%s--\r\n", boundary) != 0)
		goto done;
	rc = 0;
done:
	if (rc != 0 && errno != EINVAL)
		errno = ENOMEM;
	pst_buf_free(&text);
	pst_buf_free(&subj);
	return rc;
}
