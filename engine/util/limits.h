/*
 * limits.h: every limit postern enforces, as one named constant each.
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

#endif
