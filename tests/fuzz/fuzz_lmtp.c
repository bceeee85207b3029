/*
 * fuzz_lmtp.c: libFuzzer target for the LMTP protocol state machine
 * (engine/lmtp/proto.c), fed arbitrary bytes as a client would send them.
 *
 * The first input byte picks the session: bit 0 allows XFORWARD, bit 1
 * answers header limits with 554, bits 2-4 the chunk size pattern (the same
 * bytes are fed whole, byte by byte, or in chunks of 2 to 61 bytes, so
 * every split of a command or of the end-of-data dot is reached). The rest
 * is the client's side of the session. Small limits (4 KiB messages, 4
 * recipients, 1 KiB / 16-field header sections) put every limit in reach.
 *
 * Checks:
 * - every reply line the machine writes is "DDD SP text CRLF" or
 *   "DDD-text CRLF" with a code 2xx-5xx, at most 512 octets (RFC 5321
 *   4.5.3.1.5), and a multi-line reply keeps one code;
 * - the data() callback sees 1..max_rcpts recipients, each non-empty and
 *   NUL-free, a NUL-free mail_from, and at most max_size bytes of message;
 *   each call is followed by exactly one reply per recipient;
 * - once feed() says CLOSE, further input gets no reply.
 */
#include "config.h"

#include <string.h>

#include "fuzz_common.h"
#include "lmtp/proto.h"

#define FUZZ_MAX_SIZE 4096
#define FUZZ_MAX_RCPTS 4

struct fuzz_session {
	char line[600];         /* the reply line being assembled */
	size_t linelen;
	int multi_code;         /* code of a multi-line reply in progress, or 0 */
	size_t lines;           /* reply lines completed */
	size_t expect_after;    /* lines due after the last data() call */
	size_t lines_at_data;
	int in_data_replies;
};

static void check_line(struct fuzz_session *s)
{
	const char *l = s->line;
	size_t n = s->linelen;
	PST_FUZZ_CHECK(n >= 6 && l[n - 2] == '\r' && l[n - 1] == '\n', "a reply line ends CRLF");
	PST_FUZZ_CHECK(n <= 512, "a reply line is at most 512 octets");
	PST_FUZZ_CHECK(l[0] >= '2' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9'
	               && l[2] >= '0' && l[2] <= '9', "a 2xx-5xx code");
	PST_FUZZ_CHECK(l[3] == ' ' || l[3] == '-', "code then SP or '-'");
	for (size_t i = 0; i + 2 < n; i++)
		PST_FUZZ_CHECK(l[i] != '\r' && l[i] != '\n' && l[i] != '\0', "no CR, LF or NUL inside");
	int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (s->multi_code)
		PST_FUZZ_CHECK(code == s->multi_code, "one code in a multi-line reply");
	s->multi_code = l[3] == '-' ? code : 0;
	if (l[3] == ' ')
		s->lines++;
}

static void on_write(void *ctx, const char *bytes, size_t len)
{
	struct fuzz_session *s = ctx;
	for (size_t i = 0; i < len; i++) {
		PST_FUZZ_CHECK(s->linelen < sizeof s->line, "a reply line fits");
		s->line[s->linelen++] = bytes[i];
		if (bytes[i] == '\n') {
			check_line(s);
			s->linelen = 0;
		}
	}
}

static void on_rcpt(void *ctx, const char *address, pst_lmtp_reply *r)
{
	(void)ctx;
	PST_FUZZ_CHECK(address != NULL, "an address");
	/* Some recipients are refused, so transactions mix both kinds. */
	if (strchr(address, '!') != NULL)
		pst_lmtp_reply_set(r, 550, "5.1.1", "no such user");
}

/* A refused recipient: every string it is given is readable. */
static void on_refused(void *ctx, const pst_lmtp_txn *t, const char *address,
                       const pst_lmtp_reply *r, const char *reason)
{
	(void)ctx;
	if (strlen(address) > 256 || strlen(reason) == 0 || r->code < 400 || t->mail_from == NULL)
		abort();
}

static void on_data(void *ctx, const pst_lmtp_txn *txn, pst_lmtp_reply *replies)
{
	struct fuzz_session *s = ctx;
	PST_FUZZ_CHECK(txn->nrcpts >= 1 && txn->nrcpts <= FUZZ_MAX_RCPTS, "1..max recipients");
	PST_FUZZ_CHECK(txn->mail_from != NULL, "a mail_from");
	PST_FUZZ_CHECK(txn->len <= FUZZ_MAX_SIZE, "at most max_size bytes");
	PST_FUZZ_CHECK(txn->len == 0 || txn->data != NULL, "data when len > 0");
	for (size_t i = 0; i < txn->nrcpts; i++) {
		PST_FUZZ_CHECK(txn->rcpts[i] != NULL && txn->rcpts[i][0] != '\0', "a recipient");
		if (i % 2)
			pst_lmtp_reply_set(&replies[i], 550, "5.7.1", "refused by policy");
		else
			pst_lmtp_reply_set(&replies[i], 250, "2.0.0", "Saved");
	}
	s->lines_at_data = s->lines;
	s->expect_after = txn->nrcpts;
	s->in_data_replies = 1;
}

static size_t chunk_size(unsigned pattern, size_t i)
{
	switch (pattern) {
	case 0: return (size_t)-1;      /* all at once */
	case 1: return 1;               /* byte by byte */
	default: return 2 + (i * 7 + pattern * 13) % 60;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned mode = data[0];
	data++;
	size--;
	struct fuzz_session s;
	memset(&s, 0, sizeof s);
	pst_lmtp_ops ops = { on_write, on_rcpt, on_data, on_refused };
	pst_lmtp_limits lim = {
		.hostname = "mx.fuzz.test", .max_size = FUZZ_MAX_SIZE, .max_rcpts = FUZZ_MAX_RCPTS,
		.max_header_bytes = 1024, .max_header_fields = 16,
		.header_reply_554 = (mode & 2) != 0, .xforward_allowed = (mode & 1) != 0,
	};
	pst_lmtp *p = pst_lmtp_new(&ops, &lim, &s);
	if (p == NULL)
		return 0;
	pst_lmtp_greet(p);
	int closed = 0;
	size_t off = 0;
	for (size_t i = 0; off < size; i++) {
		size_t n = chunk_size((mode >> 2) & 7, i);
		if (n > size - off)
			n = size - off;
		size_t before = s.lines;
		int rc = pst_lmtp_feed(p, (const char *)data + off, n);
		if (closed)
			PST_FUZZ_CHECK(s.lines == before && rc == PST_LMTP_CLOSE, "nothing after close");
		if (s.in_data_replies) {
			/* The data() replies are written within the same feed() call. */
			PST_FUZZ_CHECK(s.lines - s.lines_at_data >= s.expect_after,
			               "one reply per recipient after DATA");
			s.in_data_replies = 0;
		}
		if (rc == PST_LMTP_CLOSE)
			closed = 1;
		off += n;
	}
	if (!closed)
		pst_lmtp_timeout(p);
	PST_FUZZ_CHECK(s.linelen == 0, "no half-written reply");
	pst_lmtp_free(&p);
	PST_FUZZ_CHECK(p == NULL, "freed");
	return 0;
}
