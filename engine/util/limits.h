/*
 * limits.h: every limit postern enforces and every default it starts
 * from, as one named constant each, grouped by the module that applies
 * it. A module's header may derive a size from one of these (a buffer of
 * PST_MAX_REPLY_TEXT + 1) but defines no limit of its own.
 *
 * Hitting a limit gives a typed error with a readable message; nothing is
 * truncated silently. Rule settings and command-line options may lower or
 * raise the run-time ones; these are the defaults.
 */
#ifndef PST_LIMITS_H
#define PST_LIMITS_H

/* Message model. */
#define PST_MAX_HEADER_BYTES      (256 * 1024) /* whole header section */
#define PST_MAX_HEADER_FIELDS     1000         /* fields in the header section */
#define PST_MAX_ADDRESSES         1000         /* addresses parsed from one field */
#define PST_MAX_AUTHOR_DOMAINS    8            /* domains a From shows (msg/author.h);
                                                * more is "too many addresses shown" */
#define PST_MAX_MESSAGE_BYTES     (50 * 1024 * 1024) /* default --max-size */

/* MIME structure (msg/mime.h): the walk of multipart and message/rfc822
 * parts behind the attachment.* facts. Hitting one is mime.error. */
#define PST_MIME_MAX_DEPTH        32           /* nested multipart/message parts */
#define PST_MIME_MAX_PARTS        1000         /* entities, the message itself included */
#define PST_MIME_MAX_PART_HEADER_BYTES (64 * 1024) /* one part's header section */
#define PST_MIME_MAX_SCAN_BYTES   (256u * 1024 * 1024) /* bytes read looking for
                                                * boundaries, all levels together */
#define PST_MIME_MAX_SECTIONS     64           /* RFC 2231 sections of one parameter */
#define PST_MIME_MAX_NAMES        1000         /* distinct names (or types) listed */

/* Domain names (RFC 1035 2.3.4, in A-label form without the trailing dot). */
#define PST_MAX_DOMAIN_BYTES      253          /* whole name */
#define PST_MAX_LABEL_BYTES       63           /* one label */
#define PST_MAX_DOMAIN_INPUT_BYTES 1024        /* text handed to normalisation */

/* DNS layer and the DNS fixture file. */
#define PST_MAX_DNS_CNAME_CHAIN   8            /* CNAMEs followed for one question */
#define PST_MAX_DNSFIX_BYTES      (64 * 1024 * 1024) /* one fixture file */
#define PST_MAX_DNSFIX_LINE_BYTES (1024 * 1024) /* one line of it */
#define PST_MAX_DNS_TXT_BYTES     65000        /* one TXT record's joined text:
						  its strings fit a 16-bit rdata */

/* Rule language. */
#define PST_MAX_RULE_FILE_BYTES   (16 * 1024 * 1024)
#define PST_MAX_INCLUDE_DEPTH     16           /* nested include statements */
#define PST_MAX_EXPR_DEPTH        200          /* nesting of not/and/or/( ) */
#define PST_MAX_LITERAL_BYTES     8192         /* one string literal */
#define PST_MAX_DIAGNOSTICS       200          /* then "too many errors" */
#define PST_MAX_INTERP_BYTES      8192         /* one interpolated text */

/* Evaluation. */
#define PST_DEFAULT_MATCH_LIMIT   100000       /* PCRE2 match limit */
#define PST_DEFAULT_MAX_DKIM_SIGS 8
#define PST_DEFAULT_DKIM_CLOCK_SKEW 300        /* s: t= ahead, x= past (dkim.c) */
#define PST_MAX_DKIM_CLOCK_SKEW   86400        /* the setting's upper bound */
#define PST_DEFAULT_DNS_BUDGET_MS 10000        /* DNS time per message */
#define PST_DEFAULT_DNS_MAX_QUESTIONS 250      /* DNS questions per message: above the
                                                * most SPF (MAIL FROM and HELO, 10 terms
                                                * with 10 MX names each), DKIM and
                                                * DMARC can ask within their own limits */

/* SMTP replies. */
#define PST_MAX_REPLY_TEXT        400          /* text of one reply line */

/* LMTP protocol (lmtp/proto.h; pst_lmtp_limits may change the run-time ones). */
#define PST_LMTP_MAX_LINE        1000      /* a command line, CRLF included */
#define PST_LMTP_MAX_RCPTS       1000      /* recipients of one transaction */
#define PST_LMTP_MAX_ERRORS      100       /* then 421 4.7.0 and close */
#define PST_LMTP_MAX_XFWD_VALUE  255       /* one decoded XFORWARD value */

/* LMTP server (lmtp/server.h; the postern lmtp options set the run-time ones). */
#define PST_LMTP_MAX_LISTEN       16
#define PST_LMTP_MAX_XFWD_CIDRS   64
#define PST_LMTP_DEFAULT_SESSIONS 100
#define PST_LMTP_DEFAULT_TIMEOUT  300      /* seconds, idle and DATA */
#define PST_LMTP_STACK_BYTES      (1024 * 1024)

/* Delivery (deliver/). */
#define PST_DELIVER_MAX_LOCAL   64     /* RFC 5321 4.5.3.1.1 */
#define PST_DELIVER_MAX_FOLDER  100    /* one Maildir++ folder name */
#define PST_DELIVER_MAX_HOST    256

/* Live DNS answer cache (dns/cache.h; POSTERN_DNS_CACHE sets the entries). */
#define PST_DNS_CACHE_DEFAULT_ENTRIES 10000
#define PST_DNS_CACHE_DEFAULT_BYTES   (8u * 1024 * 1024)
#define PST_DNS_CACHE_DEFAULT_MAX_TTL 3600     /* seconds */
#define PST_DNS_CACHE_DEFAULT_NEG_TTL 900      /* seconds */

/* DNS questions (dns/resolver.h). */
#define PST_DNS_DEFAULT_TIMEOUT_MS 5000        /* one question */

/* Authentication-Results fields (auth/authres.h). */
#define PST_AUTHRES_MAX_RESULTS   64           /* resinfo entries in one field */
#define PST_AUTHRES_MAX_PROPS     64           /* propspecs in one resinfo */
#define PST_AUTHRES_MAX_BYTES     (64 * 1024)  /* one field value */
#define PST_AUTHRES_MAX_VERSION   999999999    /* authres-version, method-version */
#define PST_AUTHRES_MAX_COMMENT   256          /* bytes the writer puts between a
                                                * comment's parentheses */

/* Public Suffix List (auth/psl.h). */
#define PST_PSL_DEFAULT_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
#define PST_MAX_PSL_BYTES (16 * 1024 * 1024) /* the list file (2023: about 230 KB) */

/* DKIM verification (auth/dkim.c). */
#define PST_DKIM_MAX_FAILS 16
#define PST_DKIM_MAX_KEY_BYTES 4096   /* decoded p=: RSA 16384 fits */

/* Corpora read by postern replay (cli/corpus.h). */
#define PST_CORPUS_MAX_DEPTH    32     /* nested folders in a corpus folder */
#define PST_TRACE_ADDR_BYTES    512    /* one address from a trace field */
#define PST_TRACE_NAME_BYTES    256    /* one host name */
#define PST_TRACE_IP_BYTES      64     /* one IP address, text form */
#define PST_TRACE_FIELD_BYTES   4096   /* one unfolded trace field examined */

/* Rule test suites (cli/suite.h). */
#define PST_SUITE_MAX_ARGS 6       /* words after an expectation's keyword */
#define PST_SUITE_MAX_ERRORS 20    /* parsing stops reporting after these */
#define PST_SUITE_MAX_BYTES (4u << 20)

/* SPF (auth/spf.h, spf.c, spf_macro.c): RFC 7208 4.6.4, per check_host(). */
#define PST_SPF_MAX_DNS_TERMS    10  /* include a mx ptr exists redirect, whole chain */
#define PST_SPF_MAX_VOID_LOOKUPS 2   /* NXDOMAIN/NODATA answers to a, mx, ptr, exists */
#define PST_SPF_MAX_MX_NAMES     10  /* exchanges of one mx: more is permerror */
#define PST_SPF_MAX_PTR_NAMES    10  /* names of one ptr: the rest are ignored (4.6.4) */
#define PST_SPF_MEMO_MAX_TEXT    2048 /* longer records are compiled each time */
#define PST_SPF_MACRO_MAX_PARTS  256 /* parts of one macro value: a domain has at most
                                      * 127 labels, a local-part 64 octets; more is refused */
#define PST_SPF_MACRO_MAX_DIGITS 9999 /* a digit count above this means "all parts"
                                       * (7.1: at least 127) */

/* DMARC (auth/dmarc.h). */
#define PST_MAX_DMARC_RECORD_BYTES 4096 /* parsed by dmarc.c (real records are
                                         * under 300 bytes); longer ones are permerror */

/* The record caches (util/memo.h). */
#define PST_MEMO_SLOT_BITS       8   /* 256 slots a cache */

#endif
