/*
 * fuzz_rua.c: libFuzzer target for the DMARC aggregate report path
 * (engine/rua: send.c, verify.c, xml.c, aggregate.c) over the data an
 * attacker reaches: the rua tag of a published record, the authorisation
 * TXT records of RFC 9990 section 4, and the row strings copied from
 * messages.
 *
 * Input: four control bytes, then NUL-separated pieces (a missing piece is
 * ""):
 *   byte 0  DKIM signatures of the two rows (low and high nibble, mod 9)
 *   byte 1  the report period (a small table of begin / end pairs)
 *   byte 2  the message's Date ("now", a table)
 *   byte 3  how many destinations to ask for (mod PST_RUA_DEST_MAX + 2)
 *   piece 0 the rua value                     -> pst_rua_destinations
 *   piece 1 DNS fixture lines, added to a fixed zone -> pst_rua_verify
 *   piece 2 the policy domain (raw bytes)     -> report, verify, compose
 *   piece 3 the policy's organizational domain ("" for NULL: walk)
 *   piece 4 row 1, TAB-separated fields       -> pst_store_row_set
 *   piece 5 row 2, the same
 *   piece 6 meta, TAB-separated: org_name, email, extra_contact,
 *           submitter, unique_id, generator (raw bytes)
 *   piece 7 compose, TAB-separated: from, to, report id, file name (the
 *           report's own id and file name when absent)
 *
 * Invariants (PST_FUZZ_CHECK aborts, libFuzzer records the input):
 *   destinations: count <= max; each PENDING or REFUSED; a PENDING one has
 *   an address with exactly one '@', printable ASCII without space, '<',
 *   '>', ',' or '"', a non-empty local part, and a lower-case host equal
 *   to the address's domain part;
 *   XML: valid UTF-8 without U+FFFE / U+FFFF; tags balanced, names
 *   [a-z_]; text without a raw '<', '>', '"', '\'' or control byte other
 *   than TAB and LF, every '&' one of the five entities; the first
 *   <header_from> and <selector> read back as the row's fields; the
 *   record counts add up to the rows added;
 *   compose: on success CRLF only (no bare CR or LF), no other control
 *   byte but TAB, each header field exactly once (Message-ID at most
 *   once), no header line made only of white space, base64 lines of at
 *   most 76 characters; EINVAL exactly when an argument has a byte outside
 *   printable ASCII (or '"' or '\' in the file name) or "now" has no UTC
 *   date;
 *   verify: returns 0; a destination still PENDING keeps its host and an
 *   address at that host.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "dns/fixture.h"
#include "dns/resolver.h"
#include "fuzz_common.h"
#include "rua/rua.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"

#define PST_FUZZ_PIECES 8
#define PST_FUZZ_FIELDS 24
#define PST_FUZZ_XML_DEPTH 16

/* A fixed zone the input's lines are added to, so that verification gets
 * past the organizational-domain walk without the fuzzer finding it. */
static const char pst_fuzz_zone[] =
	"_dmarc.example.com. TXT \"v=DMARC1; p=reject; rua=mailto:r@example.com\"\n"
	"_dmarc.thirdparty.example. TXT \"v=DMARC1; p=none\"\n"
	"example.com._report._dmarc.reports.thirdparty.example. TXT \"v=DMARC1\"\n"
	"example.com._report._dmarc.over.thirdparty.example. TXT "
	"\"v=DMARC1; rua=mailto:x@over.thirdparty.example!10m\"\n"
	"$SERVFAIL _dmarc.broken.example.\n";

static const time_t pst_fuzz_periods[][2] = {
	{ 1700000000, 1700086400 }, { 0, 1 }, { 0, 0 }, { -86400, 0 },
	{ 1, 86401 }, { 4102444800LL, 4102531200LL }, { 253402214400LL, 253402300800LL },
	{ 100, 50 },
};
static const time_t pst_fuzz_nows[] = {
	1700090000, 0, -1, 4102444800LL, 253402300799LL, 86399,
};

/* NUL-separated pieces of data into piece[] (pointers into copy). */
static void pst_fuzz_split(char *copy, size_t n, const char **piece, size_t npiece)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i < npiece; i++)
		piece[i] = "";
	for (size_t i = 0; i <= n && k < npiece; i++) {
		if (i == n || copy[i] == '\0') {
			copy[i] = '\0';
			piece[k++] = copy + start;
			start = i + 1;
		}
	}
}

/* TAB-separated fields of s (modified) into f[]; "" for missing ones. */
static void pst_fuzz_fields(char *s, const char **f, size_t nf)
{
	size_t k = 0;
	for (size_t i = 0; i < nf; i++)
		f[i] = "";
	while (s != NULL && k < nf) {
		char *tab = strchr(s, '\t');
		if (tab)
			*tab = '\0';
		f[k++] = s;
		s = tab ? tab + 1 : NULL;
	}
}

/* ---- destinations ------------------------------------------------------ */

static void pst_fuzz_check_dest(const pst_rua_dest *d)
{
	PST_FUZZ_CHECK(memchr(d->uri, '\0', sizeof d->uri) != NULL, "uri terminated");
	PST_FUZZ_CHECK(memchr(d->why, '\0', sizeof d->why) != NULL, "why terminated");
	if (d->outcome != PST_RUA_PENDING)
		return;
	const char *at = strchr(d->address, '@');
	PST_FUZZ_CHECK(at != NULL && strchr(at + 1, '@') == NULL, "one '@'");
	PST_FUZZ_CHECK(at > d->address, "non-empty local part");
	for (const unsigned char *p = (const unsigned char *)d->address; *p; p++)
		PST_FUZZ_CHECK(*p > ' ' && *p < 0x7f && !strchr("<>,\"", *p),
			       "address bytes");
	PST_FUZZ_CHECK(d->host[0] != '\0', "a host");
	for (const char *p = d->host; *p; p++)
		PST_FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'), "host lower case");
	PST_FUZZ_CHECK(strcmp(at + 1, d->host) == 0, "host is the address's domain");
}

/* ---- XML ---------------------------------------------------------------- */

/* Unescape the text [a, b) and compare with want. */
static int pst_fuzz_text_is(const char *a, const char *b, const char *want)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		{ "&apos;", '\'' },
	};
	size_t w = 0;
	while (a < b) {
		char c = *a++;
		if (c == '&') {
			size_t e;
			for (e = 0; e < 5; e++) {
				size_t l = strlen(ents[e].ent) - 1;
				if ((size_t)(b - a) >= l && memcmp(a, ents[e].ent + 1, l) == 0) {
					c = ents[e].c;
					a += l;
					break;
				}
			}
			if (e == 5)
				return 0;
		}
		if (want[w++] != c)
			return 0;
	}
	return want[w] == '\0';
}

static const char *pst_fuzz_entity(const char *p)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };
	for (size_t e = 0; e < 5; e++)
		if (strncmp(p, ents[e], strlen(ents[e])) == 0)
			return p + strlen(ents[e]);
	return NULL;
}

/* Tag name [a-z_]+ at p (of the tag body up to end): its length. */
static size_t pst_fuzz_name(const char *p, const char *end)
{
	size_t n = 0;
	while (p + n < end && ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_'))
		n++;
	return n;
}

/* Check the document; want_from / want_sel: the text of the first
 * <header_from> / <selector> (NULL: not checked). Returns the sum of the
 * <count> elements. */
static unsigned long pst_fuzz_check_xml(const char *x, size_t len, const char *want_from,
					const char *want_sel)
{
	const char *p = x, *end = x + len, *text = x, *stack[PST_FUZZ_XML_DEPTH];
	size_t slen[PST_FUZZ_XML_DEPTH], depth = 0, roots = 0;
	int seen_from = 0, seen_sel = 0;
	unsigned long counted = 0;

	PST_FUZZ_CHECK(strlen(x) == len, "no NUL in the XML");
	PST_FUZZ_CHECK(pst_fuzz_utf8_ok((const unsigned char *)x, len), "XML is UTF-8");
	for (size_t i = 0; i + 2 < len; i++)
		PST_FUZZ_CHECK(!((unsigned char)x[i] == 0xef && (unsigned char)x[i + 1] == 0xbf
				 && ((unsigned char)x[i + 2] == 0xbe || (unsigned char)x[i + 2] == 0xbf)),
			       "no U+FFFE / U+FFFF (not XML characters)");
	PST_FUZZ_CHECK(strncmp(x, "<?xml ", 6) == 0, "XML declaration");
	p = strstr(x, "?>");
	PST_FUZZ_CHECK(p != NULL, "declaration closed");
	p += 2;
	while (p < end) {
		if (*p != '<') {
			while (p < end && *p != '<') {
				unsigned char c = (unsigned char)*p;
				PST_FUZZ_CHECK(c >= 0x20 || c == '\t' || c == '\n', "no control byte in text");
				PST_FUZZ_CHECK(c != 0x7f, "no DEL in text");
				PST_FUZZ_CHECK(c != '>' && c != '"' && c != '\'', "markup escaped");
				if (c == '&') {
					const char *e = pst_fuzz_entity(p);
					PST_FUZZ_CHECK(e != NULL, "'&' starts an entity");
					p = e;
					continue;
				}
				if (depth == 0)
					PST_FUZZ_CHECK(c == '\n' || c == '\t' || c == ' ', "only space outside the root");
				p++;
			}
			continue;
		}
		const char *gt = memchr(p, '>', (size_t)(end - p));
		PST_FUZZ_CHECK(gt != NULL, "tag closed");
		PST_FUZZ_CHECK(memchr(p + 1, '<', (size_t)(gt - p - 1)) == NULL, "no '<' in a tag");
		if (p[1] == '/') {
			size_t n = pst_fuzz_name(p + 2, gt);
			PST_FUZZ_CHECK(n > 0 && p + 2 + n == gt, "closing tag name");
			PST_FUZZ_CHECK(depth > 0 && slen[depth - 1] == n
				       && memcmp(stack[depth - 1], p + 2, n) == 0, "tags balanced");
			/* A leaf's text: from the end of its opening tag. */
			const char *t = text;
			if (!seen_from && n == 11 && memcmp(p + 2, "header_from", 11) == 0) {
				seen_from = 1;
				if (want_from)
					PST_FUZZ_CHECK(pst_fuzz_text_is(t, p, want_from), "header_from reads back");
			}
			if (!seen_sel && n == 8 && memcmp(p + 2, "selector", 8) == 0) {
				seen_sel = 1;
				if (want_sel)
					PST_FUZZ_CHECK(pst_fuzz_text_is(t, p, want_sel), "selector reads back");
			}
			if (n == 5 && memcmp(p + 2, "count", 5) == 0)
				counted += strtoul(t, NULL, 10);
			depth--;
		} else {
			size_t n = pst_fuzz_name(p + 1, gt);
			const char *rest = p + 1 + n;
			PST_FUZZ_CHECK(n > 0, "opening tag name");
			if (rest < gt) {
				static const char xmlns[] = " xmlns=\"";
				PST_FUZZ_CHECK((size_t)(gt - rest) > sizeof xmlns - 1
					       && memcmp(rest, xmlns, sizeof xmlns - 1) == 0
					       && gt[-1] == '"', "only an xmlns attribute");
				const char *v = rest + sizeof xmlns - 1;
				PST_FUZZ_CHECK(memchr(v, '"', (size_t)(gt - 1 - v)) == NULL
					       && memchr(v, '&', (size_t)(gt - 1 - v)) == NULL, "attribute value");
			}
			PST_FUZZ_CHECK(depth < PST_FUZZ_XML_DEPTH, "depth");
			if (depth == 0)
				roots++;
			stack[depth] = p + 1;
			slen[depth] = n;
			depth++;
		}
		p = gt + 1;
		text = p;
	}
	PST_FUZZ_CHECK(depth == 0 && roots == 1, "one root element, closed");
	return counted;
}

/* ---- the row ------------------------------------------------------------- */

#define SET(field, s) (void)pst_store_row_set((field), sizeof(field), (s), (size_t)-1)

static void pst_fuzz_row(pst_store_row *row, char *piece, unsigned ndkim, time_t t)
{
	const char *f[PST_FUZZ_FIELDS];
	pst_fuzz_fields(piece, f, PST_FUZZ_FIELDS);
	memset(row, 0, sizeof *row);
	row->time = t;
	SET(row->source_ip, f[0]);
	SET(row->header_from, f[1]);
	SET(row->envelope_from, f[2]);
	SET(row->spf_domain, f[3]);
	SET(row->spf_result, f[4]);
	SET(row->spf_human, f[5]);
	SET(row->disposition, f[6]);
	SET(row->reason_type, f[7]);
	SET(row->reason_comment, f[8]);
	row->spf_aligned = f[9][0] == '1';
	row->dkim_aligned = f[9][0] != '\0' && f[9][1] == '1';
	row->policy.found = f[10][0] != '\0';
	SET(row->policy.p, f[10]);
	SET(row->policy.sp, f[11]);
	SET(row->policy.np, f[12]);
	SET(row->policy.adkim, f[13]);
	SET(row->policy.aspf, f[13][0] ? f[13] + 1 : "");
	SET(row->policy.testing, f[14]);
	SET(row->policy.fo, f[15]);
	row->ndkim = ndkim;
	for (unsigned i = 0; i < ndkim; i++) {
		/* Signatures take the last fields in turn (several share them). */
		size_t b = 16 + (i % 2) * 4;
		SET(row->dkim[i].domain, f[b]);
		SET(row->dkim[i].selector, f[b + 1]);
		SET(row->dkim[i].result, f[b + 2]);
		SET(row->dkim[i].human, f[b + 3]);
	}
}

/* ---- compose ------------------------------------------------------------- */

static int pst_fuzz_text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			return 0;
	return 1;
}

static void pst_fuzz_check_message(const char *m, size_t len)
{
	static const char *const names[] = { "From:", "To:", "Date:", "Subject:", "Message-ID:",
		                             "MIME-Version:", "Content-Type:" };
	unsigned seen[7] = { 0 };
	int in_header = 1, in_b64 = 0;
	size_t line = 0;

	PST_FUZZ_CHECK(strlen(m) == len, "no NUL in the message");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m[i];
		if (c == '\r')
			PST_FUZZ_CHECK(i + 1 < len && m[i + 1] == '\n', "CR only before LF");
		else if (c == '\n')
			PST_FUZZ_CHECK(i > 0 && m[i - 1] == '\r', "LF only after CR");
		else
			PST_FUZZ_CHECK(c == '\t' || (c >= ' ' && c <= '~'), "printable ASCII");
	}
	PST_FUZZ_CHECK(len >= 2 && m[len - 2] == '\r' && m[len - 1] == '\n', "ends with CRLF");
	while (line < len) {
		const char *l = m + line, *crlf = strstr(l, "\r\n");
		size_t n = (size_t)(crlf - l);
		if (in_header) {
			if (n == 0) {
				in_header = 0;
			} else if (*l == ' ' || *l == '\t') {
				size_t k = 0;
				while (k < n && (l[k] == ' ' || l[k] == '\t'))
					k++;
				PST_FUZZ_CHECK(k < n, "no header line of white space only");
				PST_FUZZ_CHECK(line > 0, "no continuation first");
			} else {
				size_t k;
				for (k = 0; k < 7; k++)
					if (strncmp(l, names[k], strlen(names[k])) == 0)
						break;
				PST_FUZZ_CHECK(k < 7, "only the expected header fields");
				seen[k]++;
			}
		} else if (n == 0) {
			in_b64 = in_b64 == -1 ? 1 : 0;   /* base64 after its part's header */
		} else if (n >= 33 && strncmp(l, "Content-Transfer-Encoding: base64", 33) == 0) {
			in_b64 = -1;
		} else if (in_b64 == 1) {
			PST_FUZZ_CHECK(n <= 76, "base64 line length");
		}
		line += n + 2;
	}
	for (size_t k = 0; k < 7; k++)
		PST_FUZZ_CHECK(k == 4 ? seen[k] <= 1 : seen[k] == 1, "each header field once");
}

static void pst_fuzz_compose(const char *from, const char *to, const char *domain,
			     const char *submitter, const char *id, const char *file,
			     const pst_buf *gz, time_t now)
{
	pst_buf msg = PST_BUF_INIT;
	int bad = !pst_fuzz_text_ok(from) || !pst_fuzz_text_ok(to) || !pst_fuzz_text_ok(domain)
		  || !pst_fuzz_text_ok(submitter) || !pst_fuzz_text_ok(id)
		  || !pst_fuzz_text_ok(file) || strpbrk(file, "\"\\") != NULL;
	struct tm tm;
	int bad_now = gmtime_r(&now, &tm) == NULL;

	errno = 0;
	int rc = pst_rua_compose(from, to, domain, submitter, id, file, gz->data, gz->len, now, &msg);
	if (bad || bad_now) {
		PST_FUZZ_CHECK(rc == -1 && errno == EINVAL, "bad text refused with EINVAL");
	} else {
		PST_FUZZ_CHECK(rc == 0, "good text composed");
		pst_fuzz_check_message(msg.data, msg.len);
	}
	pst_buf_free(&msg);
}

/* ---- verify -------------------------------------------------------------- */

static void pst_fuzz_verify(const char *zone_extra, const char *policy_domain,
			    const char *policy_org, pst_rua_dest *dest, size_t count)
{
	pst_buf zone = PST_BUF_INIT;
	pst_dnsfix *fix = NULL;
	pst_resolver *res = NULL;
	pst_arena *arena = NULL;

	if (pst_buf_puts(&zone, pst_fuzz_zone) != 0 || pst_buf_puts(&zone, zone_extra) != 0)
		goto done;
	if (pst_dnsfix_load_text("fuzz.zone", zone.data, zone.len, &fix, NULL) != 0
	    && pst_dnsfix_load_text("fuzz.zone", pst_fuzz_zone, sizeof pst_fuzz_zone - 1, &fix,
				    NULL) != 0)
		goto done;
	if (pst_resolver_new_fixture(fix, &res) != 0 || (arena = pst_arena_new()) == NULL)
		goto done;
	for (size_t i = 0; i < count; i++) {
		pst_rua_dest before = dest[i];
		pst_dns_session dns;
		pst_dns_session_init(&dns, res, arena, 0, 0);
		int rc = pst_rua_verify(&dns, policy_domain, policy_org, &dest[i]);
		PST_FUZZ_CHECK(rc == 0, "verify returns 0");
		PST_FUZZ_CHECK(dest[i].outcome >= PST_RUA_PENDING && dest[i].outcome <= PST_RUA_TEMP,
			       "an outcome");
		if (before.outcome == PST_RUA_REFUSED)
			PST_FUZZ_CHECK(memcmp(&before, &dest[i], sizeof before) == 0,
				       "a refused destination left alone");
		if (dest[i].outcome == PST_RUA_PENDING) {
			PST_FUZZ_CHECK(strcmp(before.host, dest[i].host) == 0, "host kept");
			pst_fuzz_check_dest(&dest[i]);
		}
	}
done:
	pst_arena_free(&arena);
	pst_resolver_free(&res);
	pst_dnsfix_free(&fix);
	pst_buf_free(&zone);
}

/* ---- the entry point ----------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *piece[PST_FUZZ_PIECES], *meta_f[6], *comp_f[4];
	pst_rua_dest dest[PST_RUA_DEST_MAX + 1];
	pst_store_row *row = NULL;
	pst_rua_report rep;
	pst_buf xml = PST_BUF_INIT, gz = PST_BUF_INIT;
	char id[1024], file[1024], *copy;

	if (size < 4)
		return 0;
	copy = malloc(size - 4 + 1);
	row = calloc(2, sizeof *row);
	if (copy == NULL || row == NULL)
		goto done;
	memcpy(copy, data + 4, size - 4);
	pst_fuzz_split(copy, size - 4, piece, PST_FUZZ_PIECES);

	/* Destinations. */
	size_t max = data[3] % (PST_RUA_DEST_MAX + 2);
	size_t count = pst_rua_destinations(piece[0], dest, max);
	PST_FUZZ_CHECK(count <= max, "count <= max");
	for (size_t i = 0; i < count; i++) {
		PST_FUZZ_CHECK(dest[i].outcome == PST_RUA_PENDING || dest[i].outcome == PST_RUA_REFUSED,
			       "parsed destination pending or refused");
		PST_FUZZ_CHECK(dest[i].external == 0, "not verified yet");
		pst_fuzz_check_dest(&dest[i]);
	}

	/* The report. */
	const time_t *period = pst_fuzz_periods[data[1] % (sizeof pst_fuzz_periods
							    / sizeof pst_fuzz_periods[0])];
	time_t now = pst_fuzz_nows[data[2] % (sizeof pst_fuzz_nows / sizeof pst_fuzz_nows[0])];
	pst_fuzz_row(&row[0], (char *)piece[4], (data[0] & 15) % 9, period[0]);
	pst_fuzz_row(&row[1], (char *)piece[5], (data[0] >> 4) % 9, period[0] + 1);
	pst_fuzz_fields((char *)piece[6], meta_f, 6);
	pst_fuzz_fields((char *)piece[7], comp_f, 4);
	pst_rua_meta meta = { meta_f[0], meta_f[1], meta_f[2], meta_f[3], meta_f[4], meta_f[5] };

	pst_rua_report_init(&rep, piece[2], period[0], period[1]);
	int added = 0;
	for (int i = 0; i < 2; i++)
		if (pst_rua_report_add(&rep, i + 1, &row[i]) == 0)
			added++;
	PST_FUZZ_CHECK(added == 2, "rows added");
	PST_FUZZ_CHECK(rep.messages == 2 && rep.nids == 2 && rep.nrec >= 1 && rep.nrec <= 2,
		       "report counts");
	if (pst_rua_xml(&rep, &meta, &xml) == 0) {
		unsigned long counted = pst_fuzz_check_xml(xml.data, xml.len, row[0].header_from,
							   row[0].ndkim ? row[0].dkim[0].selector : NULL);
		PST_FUZZ_CHECK(counted == 2, "record counts add up to the rows");
	}
	if (pst_rua_report_id(&rep, &meta, id, sizeof id) != 0)
		id[0] = '\0';
	else
		PST_FUZZ_CHECK(pst_fuzz_text_ok(id) && strchr(id, '@') == strrchr(id, '@'),
			       "report id printable, at most one '@'");
	if (pst_rua_filename(&rep, &meta, 1, file, sizeof file) != 0)
		file[0] = '\0';
	else
		PST_FUZZ_CHECK(strpbrk(file, "/\\\"") == NULL && pst_fuzz_text_ok(file),
			       "file name safe");
	if (xml.len > 0 && pst_rua_gzip(xml.data, xml.len, file, now, &gz) != 0)
		gz.len = 0;

	/* The message. */
	pst_fuzz_compose(comp_f[0][0] ? comp_f[0] : "dmarc@receiver.example",
			 comp_f[1][0] ? comp_f[1] : (count && dest[0].outcome == PST_RUA_PENDING
						     ? dest[0].address : "r@example.com"),
			 piece[2], meta.submitter, comp_f[2][0] ? comp_f[2] : id,
			 comp_f[3][0] ? comp_f[3] : file, &gz, now);

	/* Verification, on the parsed destinations. */
	pst_fuzz_verify(piece[1], piece[2][0] ? piece[2] : "example.com",
			piece[3][0] ? piece[3] : NULL, dest, count);

	pst_rua_report_free(&rep);
done:
	pst_buf_free(&xml);
	pst_buf_free(&gz);
	free(row);
	free(copy);
	return 0;
}
