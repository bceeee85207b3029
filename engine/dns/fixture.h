/*
 * fixture.h: the DNS fixture file, an offline DNS for tests and replays.
 *
 * The file holds RFC 1035 master-file lines as `dig +noall +answer` prints
 * them (postern(1), --dns):
 *
 *     NAME [TTL] [CLASS] TYPE RDATA      TTL and class IN optional, any order
 *     ; comment                          also after a record
 *     $SERVFAIL name. [TYPE]             every type at name, or one type
 *     $TIMEOUT name. [TYPE]              the same, as a timeout
 *     $ORIGIN name.  /  $TTL seconds     as in zone files
 *
 * Types: A, AAAA, TXT and SPF (one or more quoted strings, joined with no
 * separator; escapes \" \\ \X and \DDD), MX (preference and exchange, "."
 * for a null MX), PTR, CNAME, NS. Names are case-insensitive, may be
 * written in Unicode (stored as A-labels), and are absolute whether or not
 * they end in a dot, unless an $ORIGIN is set (then "@" is the origin and
 * names without a final dot are relative to it). A line starting with white
 * space continues the previous owner name. No parentheses, no wildcards.
 *
 * Answers: a name not in the file is NXDOMAIN (names only implied by longer
 * ones too); a name in the file asked for a type it lacks is NODATA; CNAMEs
 * are followed up to PST_MAX_DNS_CNAME_CHAIN steps (a loop or a longer chain
 * is SERVFAIL); $SERVFAIL and $TIMEOUT win over records at their name, a
 * directive for one type over one for the whole name. Asking for CNAME
 * returns the CNAME itself; ANY (255) has no special meaning (NODATA).
 *
 * A loaded fixture is immutable: any number of threads may query it.
 */
#ifndef PST_DNS_FIXTURE_H
#define PST_DNS_FIXTURE_H

#include <stddef.h>

#include "dns/dns.h"
#include "util/buf.h"

typedef struct pst_dnsfix pst_dnsfix;

/* Read and parse the fixture file at path (at most PST_MAX_DNSFIX_BYTES).
 * Returns 0 with *out set to a new fixture the caller owns (free with
 * pst_dnsfix_free), or -1 with *out NULL and one line per problem appended
 * to errors: "path:line:col: message\n" for each error in the file (up to
 * PST_MAX_DIAGNOSTICS, then "path: N more errors\n"), or "path: message\n"
 * when the file cannot be read. errors may be NULL. An empty file is a
 * valid fixture in which every name is NXDOMAIN. */
int pst_dnsfix_load_file(const char *path, pst_dnsfix **out, pst_buf *errors);

/* The same for text of len bytes already in memory; name is used in the
 * error messages (borrowed for the call only). */
int pst_dnsfix_load_text(const char *name, const char *text, size_t len,
			 pst_dnsfix **out, pst_buf *errors);

/* Free a fixture; *f becomes NULL. NULL-safe. Answers taken from it are
 * invalid afterwards. */
void pst_dnsfix_free(pst_dnsfix **f);

/* Answer the question (name, rrtype): name in any case, with or without the
 * trailing dot; rrtype an ns_t_* number. Fills *ans (records borrowed from
 * f) and returns ans->status. Never fails: a name too long to exist is
 * NXDOMAIN. Safe to call from several threads at once. */
pst_dns_status pst_dnsfix_query(const pst_dnsfix *f, const char *name, int rrtype,
				pst_dns_answer *ans);

/* Number of records loaded (directives not counted). */
size_t pst_dnsfix_record_count(const pst_dnsfix *f);

#endif
