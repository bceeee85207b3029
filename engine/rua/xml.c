/*
 * xml.c: a DMARC aggregate report (rua.h) as RFC 9990 XML, its Report-ID,
 * its file name and the gzip (RFC 1952) of the XML (contract: rua.h).
 *
 * Nothing is owned here: the report and the meta are borrowed, the output
 * is appended to the caller's pst_buf. On failure (ENOMEM, zlib, a name
 * that does not fit) the output buffer is cut back to its length on entry,
 * so the caller never sees half a document.
 *
 * Choices the RFC leaves open, made here:
 *   - Report-ID and file name carry the numbers of <date_range>: begin and
 *     end - 1 (the period's end is excluded), so the three agree and stay
 *     the same when a report is sent again. Characters outside RFC 5322
 *     atext are written as '_' in the Report-ID, empty labels dropped
 *     (dot-atom-text); in the file name everything but letters, digits,
 *     '.', '-' and '_' becomes '_' (no '/' or '!' from a domain).
 *   - <policy_published> has defaults filled in (RFC 9989): p none when
 *     absent or unknown, sp p, adkim and aspf r. np, fo and testing are
 *     written only when published (a valid value). discovery_method is
 *     always "treewalk": postern finds records by the RFC 9989 tree walk.
 *   - Words from the store are checked against the RFC's enumerations:
 *     a disposition other than none/pass/quarantine/reject is written as
 *     none, an unknown DKIM or SPF result as none, an unknown reason type
 *     as other. SPF's scope is always mfrom, the only one RFC 9990 names
 *     (a "helo" check of the null reverse-path is the MAIL FROM check of
 *     RFC 7208 section 2.4). <spf> is left out when SPF was not evaluated.
 *   - <envelope_from> is always written, empty for the null reverse-path;
 *     <envelope_to> is never written.
 *   - Text is escaped (& < > " '); control bytes, invalid UTF-8 and
 *     U+FFFE / U+FFFF (valid UTF-8, but not XML characters) are written
 *     as '?'.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "rua/rua.h"
#include "util/utf8.h"

#define RUA_NS "urn:ietf:params:xml:ns:dmarc-2.0"

/* ---- names ------------------------------------------------------------ */

/* RFC 5322 atext (without the dot, which separates atoms). */
static int is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Append s as dot-atom-text: atext kept, other bytes '_', empty labels
 * (leading, trailing or doubled dots) dropped. An empty s gives "_" so the
 * atom is never empty. Returns the new position, or len when it did not fit. */
static size_t put_dot_atom(char *out, size_t pos, size_t len, const char *s)
{
	size_t start = pos;
	int need_dot = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '.') {
			need_dot = pos > start;
			continue;
		}
		if (need_dot) {
			if (pos + 1 >= len)
				return len;
			out[pos++] = '.';
			need_dot = 0;
		}
		if (pos + 1 >= len)
			return len;
		out[pos++] = is_atext(*p) ? (char)*p : '_';
	}
	if (pos == start) {
		if (pos + 1 >= len)
			return len;
		out[pos++] = '_';
	}
	out[pos] = '\0';
	return pos;
}

/* Append s with file-name-safe characters only ('_' for the others). */
static size_t put_file_part(char *out, size_t pos, size_t len, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		         (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_';
		if (pos + 1 >= len)
			return len;
		out[pos++] = ok ? (char)*p : '_';
	}
	if (pos >= len)
		return len;
	out[pos] = '\0';
	return pos;
}

/* Append literal text s. */
static size_t put_raw(char *out, size_t pos, size_t len, const char *s)
{
	size_t n = strlen(s);
	if (pos >= len || n >= len - pos)
		return len;
	memcpy(out + pos, s, n + 1);
	return pos + n;
}

/* The period's last second, as written in <date_range>. */
static long long period_last(const pst_rua_report *r)
{
	return (long long)r->end - 1;
}

int pst_rua_report_id(const pst_rua_report *r, const pst_rua_meta *m, char *out, size_t len)
{
	char nums[64];
	size_t pos = 0;
	if (len == 0)
		return -1;
	out[0] = '\0';
	snprintf(nums, sizeof nums, "%lld.%lld", (long long)r->begin, period_last(r));
	/* A negative time has a '-' (atext): still a valid atom. */
	pos = put_dot_atom(out, pos, len, nums);
	if (pos < len && m->unique_id && *m->unique_id) {
		pos = put_raw(out, pos, len, ".");
		if (pos < len)
			pos = put_dot_atom(out, pos, len, m->unique_id);
	}
	if (pos < len) {
		pos = put_raw(out, pos, len, ".");
		if (pos < len)
			pos = put_dot_atom(out, pos, len, r->domain);
	}
	if (pos < len && m->submitter && *m->submitter) {
		pos = put_raw(out, pos, len, "@");
		if (pos < len)
			pos = put_dot_atom(out, pos, len, m->submitter);
	}
	if (pos >= len) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int pst_rua_filename(const pst_rua_report *r, const pst_rua_meta *m, int gz, char *out,
                     size_t len)
{
	char nums[64];
	size_t pos = 0;
	if (len == 0)
		return -1;
	out[0] = '\0';
	snprintf(nums, sizeof nums, "!%lld!%lld", (long long)r->begin, period_last(r));
	pos = put_file_part(out, pos, len, m->submitter ? m->submitter : "");
	if (pos < len)
		pos = put_raw(out, pos, len, "!");
	if (pos < len)
		pos = put_file_part(out, pos, len, r->domain);
	if (pos < len)
		pos = put_raw(out, pos, len, nums);
	if (pos < len && m->unique_id && *m->unique_id) {
		pos = put_raw(out, pos, len, "!");
		if (pos < len)
			pos = put_file_part(out, pos, len, m->unique_id);
	}
	if (pos < len)
		pos = put_raw(out, pos, len, gz ? ".xml.gz" : ".xml");
	if (pos >= len) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- XML -------------------------------------------------------------- */

/* Append s escaped for XML text and attribute values. */
static int put_text(pst_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n > 0) {
		const char *rep = NULL;
		size_t k = 1;
		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				rep = "?";
			} else if (*p >= 0x80) {
				uint32_t cp;
				k = pst_utf8_decode(p, n, &cp);
				if (k == 0) {
					rep = "?";
					k = 1;
				} else if (cp == 0xfffe || cp == 0xffff) {
					rep = "?";     /* no XML Char: not well-formed */
				}
			}
		}
		if (rep ? pst_buf_puts(b, rep) : pst_buf_append(b, p, k))
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/* <name>text</name> on its own line, indented by depth tabs. */
static int put_elem(pst_buf *b, int depth, const char *name, const char *text)
{
	for (int i = 0; i < depth; i++)
		if (pst_buf_putc(b, '\t'))
			return -1;
	if (pst_buf_printf(b, "<%s>", name) || put_text(b, text) ||
	    pst_buf_printf(b, "</%s>\n", name))
		return -1;
	return 0;
}

/* "<name>" or "</name>" on its own line. */
static int put_tag(pst_buf *b, int depth, const char *name, int close)
{
	for (int i = 0; i < depth; i++)
		if (pst_buf_putc(b, '\t'))
			return -1;
	return pst_buf_printf(b, close ? "</%s>\n" : "<%s>\n", name);
}

/* s when it is one of words (case-insensitive, written as listed), else
 * dflt (which may be NULL: "not a valid value"). */
static const char *one_of(const char *s, const char *const *words, const char *dflt)
{
	for (size_t i = 0; words[i]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return words[i];
	return dflt;
}

static const char *const policy_words[] = { "none", "quarantine", "reject", NULL };
static const char *const action_words[] = { "none", "pass", "quarantine", "reject", NULL };
static const char *const align_words[] = { "r", "s", NULL };
static const char *const testing_words[] = { "n", "y", NULL };
static const char *const dkim_words[] = { "none", "pass", "fail", "policy", "neutral",
	                                  "temperror", "permerror", NULL };
static const char *const spf_words[] = { "none", "neutral", "pass", "fail", "softfail",
	                                 "temperror", "permerror", NULL };
static const char *const reason_words[] = { "local_policy", "mailing_list", "other",
	                                    "policy_test_mode", "trusted_forwarder", NULL };

static int put_metadata(pst_buf *b, const pst_rua_report *r, const pst_rua_meta *m)
{
	char id[1024], num[32];
	if (pst_rua_report_id(r, m, id, sizeof id))
		snprintf(id, sizeof id, "%lld.%lld", (long long)r->begin, period_last(r));
	if (put_tag(b, 1, "report_metadata", 0) ||
	    put_elem(b, 2, "org_name", m->org_name ? m->org_name : "") ||
	    put_elem(b, 2, "email", m->email ? m->email : ""))
		return -1;
	if (m->extra_contact && *m->extra_contact &&
	    put_elem(b, 2, "extra_contact_info", m->extra_contact))
		return -1;
	if (put_elem(b, 2, "report_id", id) || put_tag(b, 2, "date_range", 0))
		return -1;
	snprintf(num, sizeof num, "%lld", (long long)r->begin);
	if (put_elem(b, 3, "begin", num))
		return -1;
	snprintf(num, sizeof num, "%lld", period_last(r));
	if (put_elem(b, 3, "end", num) || put_tag(b, 2, "date_range", 1))
		return -1;
	if (m->generator && *m->generator && put_elem(b, 2, "generator", m->generator))
		return -1;
	return put_tag(b, 1, "report_metadata", 1);
}

static int put_policy(pst_buf *b, const pst_rua_report *r)
{
	const pst_store_policy *pol = &r->policy;
	const char *p = one_of(pol->p, policy_words, "none");
	const char *sp = one_of(pol->sp, policy_words, p);
	const char *np = one_of(pol->np, policy_words, NULL);
	const char *testing = one_of(pol->testing, testing_words, NULL);
	if (put_tag(b, 1, "policy_published", 0) || put_elem(b, 2, "domain", r->domain) ||
	    put_elem(b, 2, "discovery_method", "treewalk") || put_elem(b, 2, "p", p) ||
	    put_elem(b, 2, "sp", sp))
		return -1;
	if (np && put_elem(b, 2, "np", np))
		return -1;
	if (put_elem(b, 2, "adkim", one_of(pol->adkim, align_words, "r")) ||
	    put_elem(b, 2, "aspf", one_of(pol->aspf, align_words, "r")))
		return -1;
	if (pol->fo[0] && put_elem(b, 2, "fo", pol->fo))
		return -1;
	if (testing && put_elem(b, 2, "testing", testing))
		return -1;
	return put_tag(b, 1, "policy_published", 1);
}

static int put_row(pst_buf *b, const pst_rua_record *rec)
{
	char num[32];
	snprintf(num, sizeof num, "%lu", rec->count);
	if (put_tag(b, 2, "row", 0) || put_elem(b, 3, "source_ip", rec->source_ip) ||
	    put_elem(b, 3, "count", num) || put_tag(b, 3, "policy_evaluated", 0) ||
	    put_elem(b, 4, "disposition", one_of(rec->disposition, action_words, "none")) ||
	    put_elem(b, 4, "dkim", rec->dkim_aligned ? "pass" : "fail") ||
	    put_elem(b, 4, "spf", rec->spf_aligned ? "pass" : "fail"))
		return -1;
	if (rec->reason_type[0]) {
		if (put_tag(b, 4, "reason", 0) ||
		    put_elem(b, 5, "type", one_of(rec->reason_type, reason_words, "other")))
			return -1;
		if (rec->reason_comment[0] && put_elem(b, 5, "comment", rec->reason_comment))
			return -1;
		if (put_tag(b, 4, "reason", 1))
			return -1;
	}
	if (put_tag(b, 3, "policy_evaluated", 1) || put_tag(b, 2, "row", 1))
		return -1;
	return 0;
}

static int put_auth(pst_buf *b, const pst_rua_record *rec)
{
	size_t ndkim = rec->ndkim < PST_STORE_MAX_DKIM ? rec->ndkim : PST_STORE_MAX_DKIM;
	if (put_tag(b, 2, "auth_results", 0))
		return -1;
	for (size_t i = 0; i < ndkim; i++) {
		const pst_store_dkim *d = &rec->dkim[i];
		if (put_tag(b, 3, "dkim", 0) || put_elem(b, 4, "domain", d->domain) ||
		    put_elem(b, 4, "selector", d->selector) ||
		    put_elem(b, 4, "result", one_of(d->result, dkim_words, "none")))
			return -1;
		if (d->human[0] && put_elem(b, 4, "human_result", d->human))
			return -1;
		if (put_tag(b, 3, "dkim", 1))
			return -1;
	}
	if (rec->spf_result[0]) {
		if (put_tag(b, 3, "spf", 0) || put_elem(b, 4, "domain", rec->spf_domain) ||
		    put_elem(b, 4, "scope", "mfrom") ||
		    put_elem(b, 4, "result", one_of(rec->spf_result, spf_words, "none")))
			return -1;
		if (rec->spf_human[0] && put_elem(b, 4, "human_result", rec->spf_human))
			return -1;
		if (put_tag(b, 3, "spf", 1))
			return -1;
	}
	return put_tag(b, 2, "auth_results", 1);
}

static int put_record(pst_buf *b, const pst_rua_record *rec)
{
	if (put_tag(b, 1, "record", 0) || put_row(b, rec) || put_tag(b, 2, "identifiers", 0) ||
	    put_elem(b, 3, "header_from", rec->header_from) ||
	    put_elem(b, 3, "envelope_from", rec->envelope_from) ||
	    put_tag(b, 2, "identifiers", 1) || put_auth(b, rec) || put_tag(b, 1, "record", 1))
		return -1;
	return 0;
}

int pst_rua_xml(const pst_rua_report *r, const pst_rua_meta *m, pst_buf *out)
{
	size_t start = out->len;
	int rc = pst_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                           "<feedback xmlns=\"" RUA_NS "\">\n") ||
	         put_elem(out, 1, "version", "1.0") || put_metadata(out, r, m) || put_policy(out, r);
	for (size_t i = 0; rc == 0 && i < r->nrec; i++)
		rc = put_record(out, &r->rec[i]);
	if (rc == 0)
		rc = pst_buf_puts(out, "</feedback>\n");
	if (rc != 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

/* ---- gzip ------------------------------------------------------------- */

#define GZ_CHUNK 65536

int pst_rua_gzip(const void *data, size_t len, const char *name, time_t mtime, pst_buf *out)
{
	z_stream zs;
	gz_header head;
	size_t start = out->len;
	const unsigned char *in = data;
	size_t left = len;
	int ret, rc = -1;

	memset(&zs, 0, sizeof zs);
	memset(&head, 0, sizeof head);
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	/* MTIME is 32 bits; 0 means "no time" (RFC 1952). */
	head.time = (mtime > 0 && (uintmax_t)mtime <= 0xffffffffu) ? (uLong)mtime : 0;
	head.os = 3;                            /* Unix */
	head.name = (Bytef *)(uintptr_t)name;   /* zlib only reads it */
	if (deflateSetHeader(&zs, &head) != Z_OK)
		goto done;
	for (;;) {
		if (zs.avail_in == 0 && left > 0) {
			uInt chunk = left > UINT_MAX ? UINT_MAX : (uInt)left;
			zs.next_in = (Bytef *)(uintptr_t)in;
			zs.avail_in = chunk;
			in += chunk;
			left -= chunk;
		}
		if (pst_buf_reserve(out, GZ_CHUNK))
			goto done;
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = GZ_CHUNK;
		ret = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		out->len += GZ_CHUNK - zs.avail_out;
		out->data[out->len] = '\0';
		if (ret == Z_STREAM_END)
			break;
		/* With room to write and input or Z_FINISH, deflate always
		 * progresses: anything but Z_OK is a failure. */
		if (ret != Z_OK)
			goto done;
	}
	rc = 0;
done:
	if (deflateEnd(&zs) != Z_OK)
		rc = -1;
	if (rc != 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}
