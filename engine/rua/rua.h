/*
 * rua.h: DMARC aggregate reports (RFC 9990) made from the report store
 * (store/store.h), for "postern report dmarc".
 *
 * The steps, one file each:
 *   aggregate.c  the store's unreported rows of a period, grouped: one
 *                pst_rua_report per policy domain (the row's
 *                reporting_domain), one pst_rua_record per set of messages
 *                that share every reported field (RFC 9990: one record per
 *                IP, results, identifiers and authentication results);
 *   xml.c        the report as RFC 9990 XML (namespace
 *                urn:ietf:params:xml:ns:dmarc-2.0), its Report-ID and file
 *                name, and the gzip (RFC 1952) of the XML;
 *   send.c       the rua destinations of the published record (mailto
 *                URIs with their size limits) and the report message
 *                (RFC 5322, MIME);
 *   verify.c     the external destination verification of RFC 9990
 *                section 4, over the DNS layer;
 *   transport.c  the message's delivery through a sendmail program or
 *                SMTP to a relay.
 * engine/cli/report.c puts them together.
 *
 * Nothing here decides mail: a report is built after the fact, from rows.
 */
#ifndef PST_RUA_H
#define PST_RUA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"
#include "util/buf.h"

#define PST_RUA_DEST_MAX 8               /* rua destinations used per report */

/* One <record>: count messages that share every field below. */
typedef struct pst_rua_record {
	char source_ip[64];
	unsigned long count;
	char disposition[16];                /* none quarantine reject */
	int dkim_aligned, spf_aligned;       /* <policy_evaluated> dkim / spf: 1 pass, 0 fail */
	char reason_type[32];                /* PolicyOverrideType, "" for no <reason> */
	char reason_comment[PST_STORE_TEXT_MAX];
	char header_from[PST_STORE_DOMAIN_MAX];
	char envelope_from[PST_STORE_DOMAIN_MAX]; /* "" for the null reverse-path */
	char spf_domain[PST_STORE_DOMAIN_MAX];
	char spf_scope[8];
	char spf_result[16];                 /* "" when SPF was not evaluated */
	char spf_human[PST_STORE_TEXT_MAX];
	pst_store_dkim dkim[PST_STORE_MAX_DKIM];
	size_t ndkim;
} pst_rua_record;

/* One report: one policy domain over one period. */
typedef struct pst_rua_report {
	char domain[PST_STORE_DOMAIN_MAX];   /* the policy domain */
	pst_store_policy policy;             /* as published, from the newest row
	                                      * (RFC 9990: the final configuration) */
	time_t begin, end;                   /* the period, end excluded */
	pst_rua_record *rec;                 /* nrec records, in first-seen order */
	size_t nrec;
	unsigned long messages;              /* rows added */
	int64_t *ids;                        /* their store keys, for pst_store_mark */
	size_t nids;
	void *priv;                          /* aggregate.c's grouping index */
} pst_rua_report;

/* ---- aggregate.c ---------------------------------------------------- */

/* Start an empty report for domain (copied, cut to the field). */
void pst_rua_report_init(pst_rua_report *r, const char *domain, time_t begin, time_t end);
/* Add one row (its id kept for marking): counted into the record with the
 * same fields, or a new record. A row newer than those seen (higher time,
 * then higher id) sets r->policy when its policy was found. 0, or -1 on
 * ENOMEM (r unchanged). */
int pst_rua_report_add(pst_rua_report *r, int64_t id, const pst_store_row *row);
/* Free what r holds (r itself is the caller's); accepts a zeroed r. */
void pst_rua_report_free(pst_rua_report *r);

/* Called once per policy domain with its finished report, which is freed
 * when fn returns. 0 goes on, -1 stops the collection. */
typedef int (*pst_rua_report_fn)(void *arg, pst_rua_report *r);

/* Scan the store's unreported rows of [begin, end) and call fn for each
 * policy domain, in the store's order (one domain's rows at a time, so at
 * most one report is in memory). Rows without a reporting domain are
 * skipped. 0, or -1 with a reason in err (a store error, ENOMEM, or fn
 * said stop: "stopped"). */
int pst_rua_collect(pst_store_reader *st, time_t begin, time_t end, pst_rua_report_fn fn,
                    void *arg, char *err, size_t errlen);

/* ---- xml.c ---------------------------------------------------------- */

/* Who reports: <report_metadata> and the names built from it. Borrowed. */
typedef struct pst_rua_meta {
	const char *org_name;                /* <org_name> */
	const char *email;                   /* <email> */
	const char *extra_contact;           /* <extra_contact_info>, or NULL */
	const char *submitter;               /* the receiver domain: file name, Subject */
	const char *unique_id;               /* file name's unique-id (ALPHA / DIGIT), or NULL */
	const char *generator;               /* <generator> ("postern 1.2"), or NULL */
} pst_rua_meta;

/* The Report-ID: "<begin>.<end - 1>.<policy domain>@<submitter>" (with
 * ".<unique-id>" after end when given), the same for the same period and
 * domain so that a re-sent report keeps its ID. Into out (size len). 0, or
 * -1 when it does not fit. */
int pst_rua_report_id(const pst_rua_report *r, const pst_rua_meta *m, char *out, size_t len);

/* The file name of RFC 9990: submitter!domain!begin!end-1[!unique-id].xml,
 * ".xml.gz" when gz. 0, or -1 when it does not fit. */
int pst_rua_filename(const pst_rua_report *r, const pst_rua_meta *m, int gz, char *out,
                     size_t len);

/* Append the report as an RFC 9990 XML document to out. Text is escaped
 * for XML; date_range is begin and end - 1. 0, or -1 on ENOMEM. */
int pst_rua_xml(const pst_rua_report *r, const pst_rua_meta *m, pst_buf *out);

/* Append the gzip (RFC 1952) of len bytes of data to out, with name as the
 * member's file name (or NULL) and mtime. 0, or -1 (ENOMEM, zlib). */
int pst_rua_gzip(const void *data, size_t len, const char *name, time_t mtime, pst_buf *out);

/* ---- send.c, verify.c ------------------------------------------------ */

typedef enum pst_rua_outcome {
	PST_RUA_PENDING = 0,                 /* not tried yet */
	PST_RUA_SENT,                        /* handed over (sendmail exit 0, SMTP 250) */
	PST_RUA_REFUSED,                     /* never to be sent: not authorised, too
	                                      * big, not mailto, refused with 5xx */
	PST_RUA_TEMP                         /* try again later: DNS or delivery trouble */
} pst_rua_outcome;

/* One rua destination. */
typedef struct pst_rua_dest {
	char uri[PST_STORE_URI_MAX];         /* as published, without its size limit */
	char address[PST_STORE_URI_MAX];     /* the mailbox to send to (after an
	                                      * override by the verification record) */
	char host[PST_STORE_DOMAIN_MAX];     /* the destination host (lower case) */
	uint64_t limit;                      /* "!10m" size limit in bytes, 0 for none */
	int external;                        /* verification was needed */
	pst_rua_outcome outcome;
	char why[256];                       /* for the log: "not authorised: no
	                                      * v=DMARC1 record at ..." */
} pst_rua_dest;

/* Split a rua tag value into destinations, in order, at most max (the rest
 * ignored). Non-mailto URIs and unparseable ones are kept as REFUSED with
 * why. Returns the count. */
size_t pst_rua_destinations(const char *rua, pst_rua_dest *out, size_t max);

/* verify.c: the external destination verification of RFC 9990 section 4.
 * When the organizational domain (RFC 9989 tree walk) of policy_domain
 * differs from that of d->host, d->external is set and TXT is asked at
 * "<policy_domain>._report._dmarc.<host>" (A-labels). policy_org is the
 * policy domain's organizational domain when the caller knows it, or NULL
 * to walk for it. Questions go through dns (its arena holds the answers).
 * Outcome: d->outcome stays PENDING when d may be used (not external, or
 * authorised); REFUSED with why when no record there starts with
 * "v=DMARC1" (NXDOMAIN, NODATA, other text), when the name cannot exist
 * (over 253 octets or a label over 63), or when the authorising record's
 * rua names another host (then neither is used); TEMP with why on SERVFAIL
 * or TIMEOUT, here or in a walk. An authorising record whose rua holds a
 * mailto URI at d->host replaces d->address (and d->limit) with the first
 * such. A d already REFUSED is left alone. 0, or -1 on ENOMEM. */
struct pst_dns_session;
int pst_rua_verify(struct pst_dns_session *dns, const char *policy_domain,
                   const char *policy_org, pst_rua_dest *d);

/* send.c: the report message of RFC 9990 ("Email"), RFC 5322 and MIME
 * with CRLF line endings: From, To, Date (now, UTC), Subject "Report
 * Domain: <policy domain> Submitter: <submitter> Report-ID: <<report id>>"
 * (folded at spaces past 78 characters), Message-ID "<report id>" when
 * that is a valid msg-id, MIME-Version, multipart/mixed with a short
 * text/plain part and the gzip attachment (application/gzip, name and
 * filename, base64 in 76-character lines). Appended to out. 0, or -1 with
 * errno EINVAL when a text argument holds control bytes, non-ASCII bytes
 * or (filename) '"' or '\', ENOMEM otherwise. */
int pst_rua_compose(const char *from, const char *to, const char *policy_domain,
                    const char *submitter, const char *report_id, const char *filename,
                    const void *gz, size_t gzlen, time_t now, pst_buf *out);

/* The size gzlen bytes of compressed report take in the message after
 * transport encoding: the base64 text with its CRLF line ends. A
 * destination whose limit is below it MUST NOT be used (RFC 9990). */
uint64_t pst_rua_encoded_size(size_t gzlen);

/* Whether a report of gzlen compressed bytes fits d's limit (1, or 1
 * without a limit; 0 when too big). */
int pst_rua_fits(const pst_rua_dest *d, size_t gzlen);

/* transport.c: how a report message leaves. */
typedef struct pst_rua_transport {
	const char *sendmail;   /* a command line split on spaces (no quoting);
	                         * NULL or "" for PST_RUA_SENDMAIL. Run as
	                         * argv + "-oi" "-f" FROM "--" TO, the message on
	                         * its standard input (never -t) */
	const char *smtp;       /* "HOST:PORT" or "[ADDR]:PORT": SMTP to this
	                         * relay instead of sendmail; NULL for sendmail */
	const char *helo;       /* the EHLO name; NULL: the host name */
	unsigned timeout_ms;    /* SMTP: the connection and each reply; sendmail:
	                         * the whole run; 0: PST_RUA_TIMEOUT_MS */
} pst_rua_transport;

#define PST_RUA_SENDMAIL    "/usr/sbin/sendmail"
#define PST_RUA_TIMEOUT_MS  300000u

/* Hand the message (len bytes, CRLF or LF line ends) over for to, with
 * from as the envelope sender ("" for the null reverse-path). SENT when
 * handed over; REFUSED when it never will be (sendmail exit EX_DATAERR,
 * EX_NOUSER or EX_NOHOST; an SMTP 5xx to RCPT TO or to the message; to
 * not a plain address); TEMP otherwise (other exit codes, EX_TEMPFAIL, a
 * signal, no program, 4xx, 5xx before RCPT (the relay's own setup), no
 * connection, a timeout, a reply that does not parse), with why. */
pst_rua_outcome pst_rua_send(const pst_rua_transport *t, const char *from, const char *to,
                             const char *msg, size_t len, char *why, size_t whylen);

#endif
