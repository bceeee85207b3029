/*
 * dns.c: names of statuses and record types, and the RFC 1035 wire form of
 * an answer (see dns.h).
 *
 * The encoder writes through a bounded cursor: every write checks the room
 * left, and an overflow is remembered and reported once at the end, so no
 * path can write past the caller's buffer. Owner names are compressed with
 * a pointer when the same name was already written as a whole name (the
 * question, or the owner of an earlier record); names inside RDATA are
 * written in full so that even a naive reader can take them apart.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dns/dns.h"

const char *pst_dns_status_name(pst_dns_status s)
{
	switch (s) {
	case PST_DNS_NOERROR: return "NOERROR";
	case PST_DNS_NXDOMAIN: return "NXDOMAIN";
	case PST_DNS_NODATA: return "NODATA";
	case PST_DNS_SERVFAIL: return "SERVFAIL";
	case PST_DNS_TIMEOUT: return "TIMEOUT";
	}
	return "?";
}

static const struct {
	const char *name;
	int type;
} rr_types[] = {
	{ "A", ns_t_a },
	{ "AAAA", ns_t_aaaa },
	{ "CNAME", ns_t_cname },
	{ "MX", ns_t_mx },
	{ "NS", ns_t_ns },
	{ "PTR", ns_t_ptr },
	{ "SPF", ns_t_spf },
	{ "TXT", ns_t_txt },
};

const char *pst_dns_type_name(int rrtype)
{
	for (size_t i = 0; i < sizeof rr_types / sizeof rr_types[0]; i++)
		if (rr_types[i].type == rrtype)
			return rr_types[i].name;
	return NULL;
}

int pst_dns_type_from_name(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof rr_types / sizeof rr_types[0]; i++)
		if (strlen(rr_types[i].name) == n && strncasecmp(rr_types[i].name, s, n) == 0)
			return rr_types[i].type;
	return -1;
}

/* ---- wire encoding -------------------------------------------------- */

#define WIRE_MAX_NAMES 16       /* owner names remembered for compression */
#define WIRE_MAX_NAME  255      /* encoded name, RFC 1035 3.1 */
#define WIRE_MAX_CHARSTRING 255 /* one TXT character-string */
#define WIRE_MAX_MESSAGE 65535

struct wire {
	unsigned char *buf;
	size_t size, len;
	int overflow;
	struct {
		const char *name;
		size_t len;
		size_t offset;
	} names[WIRE_MAX_NAMES];
	size_t nnames;
};

static void put_bytes(struct wire *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (w->overflow || n > w->size - w->len) {
		w->overflow = 1;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put8(struct wire *w, unsigned v)
{
	unsigned char b = (unsigned char)v;

	put_bytes(w, &b, 1);
}

static void put16(struct wire *w, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put_bytes(w, b, 2);
}

static void put32(struct wire *w, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };

	put_bytes(w, b, 4);
}

/* Length of name without one trailing dot. */
static size_t name_len(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && name[n - 1] == '.' ? n - 1 : n;
}

/* Write name (dotted, optional trailing dot, "" or "." the root) as labels.
 * -1 when it is not a valid name. */
static int put_name_full(struct wire *w, const char *name)
{
	size_t n = name_len(name), start = 0, encoded = 1;

	if (n == 0) {
		put8(w, 0);
		return 0;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && name[i] != '.')
			continue;
		size_t label = i - start;
		if (label == 0 || label > 63)
			return -1;
		encoded += label + 1;
		if (encoded > WIRE_MAX_NAME)
			return -1;
		put8(w, (unsigned)label);
		put_bytes(w, name + start, label);
		start = i + 1;
	}
	put8(w, 0);
	return 0;
}

/* Write an owner name, as a pointer when the whole name was written before. */
static int put_owner(struct wire *w, const char *name)
{
	size_t n = name_len(name), offset = w->len;

	for (size_t i = 0; i < w->nnames; i++) {
		if (w->names[i].len == n && strncasecmp(w->names[i].name, name, n) == 0) {
			put16(w, 0xC000u | (unsigned)w->names[i].offset);
			return 0;
		}
	}
	if (put_name_full(w, name) != 0)
		return -1;
	/* Pointers have 14 bits of offset. */
	if (n > 0 && w->nnames < WIRE_MAX_NAMES && offset < 0x4000) {
		w->names[w->nnames].name = name;
		w->names[w->nnames].len = n;
		w->names[w->nnames].offset = offset;
		w->nnames++;
	}
	return 0;
}

static void put_text(struct wire *w, const char *text, size_t len)
{
	size_t done = 0;

	do {
		size_t chunk = len - done > WIRE_MAX_CHARSTRING ? WIRE_MAX_CHARSTRING : len - done;
		put8(w, (unsigned)chunk);
		put_bytes(w, text + done, chunk);
		done += chunk;
	} while (done < len);
}

static void put_addr(struct wire *w, const pst_dns_rr *rr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (rr->type == ns_t_a) {
		put_bytes(w, rr->addr.bytes, 4);
	} else if (rr->addr.family == 4) {
		put_bytes(w, mapped, sizeof mapped);
		put_bytes(w, rr->addr.bytes, 4);
	} else {
		put_bytes(w, rr->addr.bytes, 16);
	}
}

static int put_rdata(struct wire *w, const pst_dns_rr *rr)
{
	switch (rr->type) {
	case ns_t_a:
	case ns_t_aaaa:
		put_addr(w, rr);
		return 0;
	case ns_t_txt:
	case ns_t_spf:
		put_text(w, rr->text, rr->text_len);
		return 0;
	case ns_t_mx:
		put16(w, rr->pref);
		return put_name_full(w, rr->target);
	case ns_t_ptr:
	case ns_t_cname:
	case ns_t_ns:
		return put_name_full(w, rr->target);
	default:
		return -1;
	}
}

static int put_rr(struct wire *w, const pst_dns_rr *rr)
{
	size_t len_at, start;

	if (put_owner(w, rr->owner) != 0)
		return -1;
	put16(w, (unsigned)rr->type);
	put16(w, ns_c_in);
	put32(w, rr->ttl);
	len_at = w->len;
	put16(w, 0);
	start = w->len;
	if (put_rdata(w, rr) != 0)
		return -1;
	if (w->overflow)
		return 0;
	if (w->len - start > 0xffff)
		return -1;
	w->buf[len_at] = (unsigned char)((w->len - start) >> 8);
	w->buf[len_at + 1] = (unsigned char)(w->len - start);
	return 0;
}

static unsigned rcode_of(pst_dns_status s)
{
	switch (s) {
	case PST_DNS_NXDOMAIN: return ns_r_nxdomain;
	case PST_DNS_SERVFAIL: return ns_r_servfail;
	default: return ns_r_noerror;
	}
}

int pst_dns_wire_reply(const pst_dns_answer *ans, const char *qname, int qtype,
		       uint16_t id, unsigned char *buf, size_t size)
{
	/* A DNS message is at most 65535 octets, even over TCP. */
	struct wire w = { .buf = buf, .size = size > WIRE_MAX_MESSAGE ? WIRE_MAX_MESSAGE : size };
	size_t nchain = 0, nrrs = 0;

	if (ans->status == PST_DNS_TIMEOUT) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (ans->status != PST_DNS_SERVFAIL)
		nchain = ans->chain_len;
	if (ans->status == PST_DNS_NOERROR)
		nrrs = ans->count;
	if (nchain + nrrs > 0xffff || qtype < 0 || qtype > 0xffff) {
		errno = EINVAL;
		return -1;
	}
	put16(&w, id);
	/* QR, opcode QUERY, RD, RA, rcode. */
	put16(&w, 0x8180u | rcode_of(ans->status));
	put16(&w, 1);
	put16(&w, (unsigned)(nchain + nrrs));
	put16(&w, 0);
	put16(&w, 0);
	if (put_owner(&w, qname) != 0) {
		errno = EINVAL;
		return -1;
	}
	put16(&w, (unsigned)qtype);
	put16(&w, ns_c_in);
	for (size_t i = 0; i < nchain + nrrs; i++) {
		const pst_dns_rr *rr = i < nchain ? ans->chain[i] : &ans->rrs[i - nchain];
		if (put_rr(&w, rr) != 0) {
			errno = EINVAL;
			return -1;
		}
	}
	if (w.overflow) {
		errno = EMSGSIZE;
		return -1;
	}
	return (int)w.len;
}
