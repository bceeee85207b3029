/*
 * proto.h: the LMTP protocol state machine (RFC 2033 over the syntax of
 * RFC 5321, replies with RFC 3463 enhanced codes), with no sockets.
 *
 * The owner feeds bytes as they arrive (any split, pipelined or one byte at
 * a time) and the machine answers through callbacks: write() for reply
 * bytes, rcpt() to check one recipient at RCPT time, and data() at the end
 * of DATA to decide and deliver the message, returning one reply per
 * accepted recipient in RCPT order. Replies produced while processing one
 * chunk are written in order; the owner flushes after each pst_lmtp_feed()
 * (RFC 2920: flush before waiting for input).
 *
 * Limits (line length, size, recipients, header section) never abort: they
 * give the reply the README's limits table gives and the session goes on.
 */
#ifndef PST_LMTP_PROTO_H
#define PST_LMTP_PROTO_H

#include <stddef.h>

#include "util/limits.h"

/* The protocol limits (PST_LMTP_MAX_*) are in util/limits.h;
 * pst_lmtp_limits may change the run-time ones. */
#define PST_LMTP_REPLY_TEXT      (PST_MAX_REPLY_TEXT + 1) /* text of one reply, NUL
                                                   * included: every byte a rule
                                                   * file may write (util/limits.h) */

typedef struct pst_lmtp pst_lmtp;

/* One reply: code, enhanced code ("2.1.5") and text without either. */
typedef struct pst_lmtp_reply {
	int code;
	char enhanced[12];
	char text[PST_LMTP_REPLY_TEXT];
	int cut;                    /* the text given was longer and was cut */
} pst_lmtp_reply;

/* XFORWARD attributes, in the order advertised. */
enum pst_lmtp_xattr {
	PST_XF_NAME, PST_XF_ADDR, PST_XF_PORT, PST_XF_PROTO, PST_XF_HELO,
	PST_XF_IDENT, PST_XF_SOURCE, PST_XF_COUNT
};

/* What the owner sees of a transaction at the end of DATA. Everything is
 * borrowed for the duration of the data() call. */
typedef struct pst_lmtp_txn {
	const char *lhlo;               /* the client's LHLO name */
	const char *mail_from;          /* "" for the null sender */
	const char *const *rcpts;       /* accepted recipients, RCPT order */
	size_t nrcpts;
	const char *data;               /* the message, dot-unstuffed, raw line ends */
	size_t len;
	/* Client facts, NULL when unknown (never sent, [UNAVAILABLE],
	 * [TEMPUNAVAIL]): what XFORWARD gave in this transaction, else what
	 * XCLIENT gave in the session (NAME ADDR PORT PROTO HELO);
	 * xfwd[PST_XF_ADDR] is a canonical address without the IPV6:
	 * prefix. */
	const char *xfwd[PST_XF_COUNT];
	int body_8bit;                  /* BODY=8BITMIME */
	int smtputf8;                   /* SMTPUTF8 */
} pst_lmtp_txn;

typedef struct pst_lmtp_ops {
	/* Send reply bytes to the client. Must not fail from the machine's
	 * point of view: an owner that cannot write closes the session. */
	void (*write)(void *ctx, const char *bytes, size_t len);
	/* RCPT TO: fill *r (preset to 250 2.1.5 Ok); a 2xx accepts the
	 * recipient. address is the path without brackets, NUL-free. May
	 * be NULL: every syntactically valid recipient is accepted. */
	void (*rcpt)(void *ctx, const char *address, pst_lmtp_reply *r);
	/* End of DATA: fill replies[0..txn->nrcpts-1] (preset to 451 4.3.0). */
	void (*data)(void *ctx, const pst_lmtp_txn *txn, pst_lmtp_reply *replies);
	/* A RCPT TO refused inside a transaction (syntax, parameters, the
	 * recipient limit, rcpt() above, out of memory), after the reply is
	 * written: txn as at that moment (data NULL, rcpts the accepted ones),
	 * address the path or, when it cannot be parsed, the argument after
	 * "TO:" (at most 256 bytes), r the reply sent, reason a short static
	 * text ("unknown user", "bad address syntax", ...). Everything
	 * borrowed for the call. May be NULL. */
	void (*refused)(void *ctx, const pst_lmtp_txn *txn, const char *address,
	                const pst_lmtp_reply *r, const char *reason);
} pst_lmtp_ops;

typedef struct pst_lmtp_limits {
	const char *hostname;           /* for the greeting and LHLO */
	size_t max_size;                /* message bytes (SIZE, and while reading) */
	size_t max_rcpts;               /* 0: PST_LMTP_MAX_RCPTS */
	size_t max_header_bytes;        /* 0: PST_MAX_HEADER_BYTES */
	size_t max_header_fields;       /* 0: PST_MAX_HEADER_FIELDS */
	int header_reply_554;           /* header over the limit: 554 5.6.0, else 552 5.3.4 */
	int xforward_allowed;           /* the peer may use XFORWARD and XCLIENT */
} pst_lmtp_limits;

/* What pst_lmtp_feed() says about the session. */
enum { PST_LMTP_OPEN = 0, PST_LMTP_CLOSE = 1 };

/* A new session. ops and limits are copied; ctx is passed to every
 * callback. NULL on ENOMEM. The owner frees with pst_lmtp_free(). */
pst_lmtp *pst_lmtp_new(const pst_lmtp_ops *ops, const pst_lmtp_limits *limits, void *ctx);
void pst_lmtp_free(pst_lmtp **p);

/* Write the 220 greeting. */
void pst_lmtp_greet(pst_lmtp *p);

/* Process n bytes of input. Returns PST_LMTP_CLOSE once the session is
 * over (QUIT, too many errors, out of memory: the reply is written), then
 * ignores further input; PST_LMTP_OPEN otherwise. */
int pst_lmtp_feed(pst_lmtp *p, const char *bytes, size_t n);

/* The client was silent too long: write 421 4.4.2 and close. */
void pst_lmtp_timeout(pst_lmtp *p);

/* The server is stopping: write 421 4.3.2 and close. */
void pst_lmtp_shutdown(pst_lmtp *p);

/* 1 while a message is being read (after 354, before the final dot). */
int pst_lmtp_in_data(const pst_lmtp *p);

/* 1 inside a transaction (after MAIL FROM) or with a command half read:
 * a server that stops lets such a session finish. */
int pst_lmtp_busy(const pst_lmtp *p);

/* Format a reply into buf as "CODE ENH TEXT\r\n" (one line, CR/LF and
 * control characters in text replaced by spaces). Returns the length. */
size_t pst_lmtp_reply_format(const pst_lmtp_reply *r, char *buf, size_t len);

/* Set *r from parts. A text over PST_MAX_REPLY_TEXT bytes is cut at a
 * UTF-8 character boundary, and r->cut says so (the caller logs it);
 * returns r->cut. */
int pst_lmtp_reply_set(pst_lmtp_reply *r, int code, const char *enhanced, const char *text);

/* Decode RFC 3461 xtext (hexchar "+XX") of n bytes into out (size outlen).
 * 0, or -1 when the text is not valid xtext, encodes a control character
 * (U+0000 to U+001F, U+007F: "+00" would cut the value) or does not fit. */
int pst_lmtp_xtext_decode(const char *s, size_t n, char *out, size_t outlen);

#endif
