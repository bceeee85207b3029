/*
 * dns.h: DNS answers as the policy engine sees them, and their wire form.
 *
 * Every DNS source (the fixture file of dns/fixture.h, live DNS through
 * libunbound in dns/live.h, both behind dns/resolver.h) answers a
 * question (name, type) with a pst_dns_answer: a status that keeps the five
 * outcomes SPF, DKIM and DMARC must tell apart (records, no such name, no
 * records of that type, server failure, timeout) and the records, already
 * decoded. pst_dns_wire_reply turns an answer back into an RFC 1035 reply
 * message for libraries that only parse wire format (libopendkim).
 *
 * Record types are the numbers of <arpa/nameser.h> (ns_t_a, ns_t_txt, ...).
 */
#ifndef PST_DNS_H
#define PST_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <arpa/nameser.h>

#include "util/ip.h"
#include "util/limits.h"

typedef enum pst_dns_status {
	PST_DNS_NOERROR = 0, /* the name has records of the asked type */
	PST_DNS_NXDOMAIN,    /* the name does not exist */
	PST_DNS_NODATA,      /* the name exists, with no records of that type */
	PST_DNS_SERVFAIL,    /* the server failed (temporary error) */
	PST_DNS_TIMEOUT      /* no answer in time (temporary error) */
} pst_dns_status;

/* "NOERROR", "NXDOMAIN", "NODATA", "SERVFAIL", "TIMEOUT"; "?" otherwise. Static. */
const char *pst_dns_status_name(pst_dns_status s);

/* The record types postern reads: A, AAAA, TXT, SPF, MX, PTR, CNAME, NS. */
/* Name of a supported type ("TXT"), or NULL. Static. */
const char *pst_dns_type_name(int rrtype);
/* Type number of a supported type's name of n bytes, any case; -1 if the
 * name is not one of the supported types. */
int pst_dns_type_from_name(const char *s, size_t n);

/* One decoded record. Every pointer is borrowed from the source that made
 * the answer: through a pst_dns_session (resolver.h), records stay valid
 * as long as the session's arena. Names are lower
 * case without the trailing dot; "" is the root (the null MX of RFC 7505). */
typedef struct pst_dns_rr {
	const char *owner;
	int type;             /* ns_t_a, ns_t_aaaa, ns_t_txt, ns_t_spf, ns_t_mx, ... */
	uint32_t ttl;
	pst_ip addr;          /* A; AAAA (::ffff:a.b.c.d is folded to IPv4 as in ip.h) */
	const char *text;     /* TXT, SPF: the record's character-strings joined
			       * with no separator; NUL-terminated, may hold NULs */
	size_t text_len;
	uint16_t pref;        /* MX preference */
	const char *target;   /* MX exchange; PTR, CNAME, NS target */
} pst_dns_rr;

/* The answer to one question. The caller owns the struct (it is plain
 * data, nothing to free); rrs and chain point into the source. */
typedef struct pst_dns_answer {
	pst_dns_status status;
	int rrtype;                     /* the type asked for */
	/* The name the records belong to: the asked name (lower case, no
	 * trailing dot), or the last target when CNAMEs were followed. */
	char name[PST_MAX_DOMAIN_BYTES + 1];
	const pst_dns_rr *rrs;          /* count records of type rrtype at name,
					 * in file order; NULL when count is 0 */
	size_t count;
	/* The CNAME records followed from the asked name, in order. Kept for
	 * NOERROR, NODATA and NXDOMAIN (a chain into a missing name). */
	const pst_dns_rr *chain[PST_MAX_DNS_CNAME_CHAIN];
	size_t chain_len;
} pst_dns_answer;

/* Encode ans as the RFC 1035 reply to the question (qname, qtype) with
 * message id into buf of size bytes: header (QR, RD, RA set; rcode 0 for
 * NOERROR and NODATA, 3 for NXDOMAIN, 2 for SERVFAIL), the question as
 * asked, then in the answer section the CNAME chain and the records. TXT
 * and SPF text is split into character-strings of at most 255 bytes. Owner
 * names equal to an earlier name are compressed; names in RDATA are not.
 * Returns the message length, or -1 with errno EMSGSIZE when it does not
 * fit in size bytes (or in 65535, the most a DNS message can hold), EINVAL when qname is not a valid name (empty label,
 * label over 63 octets, name over 255 octets encoded), or ETIMEDOUT for a
 * PST_DNS_TIMEOUT answer (a timed-out query has no reply). */
int pst_dns_wire_reply(const pst_dns_answer *ans, const char *qname, int qtype,
		       uint16_t id, unsigned char *buf, size_t size);

#endif
