/*
 * corpus.h: the messages of a replay corpus, and the envelope facts their
 * own trace fields carry.
 *
 * A corpus argument is one of:
 *   - a Maildir: a folder with cur/ or new/; every file in them whose name
 *     does not start with '.' is a message (tmp/ is ignored), and so is
 *     every file of its Maildir++ sub-folders: the folders .NAME directly
 *     in it that have cur/ or new/ themselves (such as .Quarantine);
 *   - any other folder, searched recursively up to PST_CORPUS_MAX_DEPTH
 *     folders deep (deeper is an error): its files named *.eml (any case)
 *     are messages, and every Maildir in it is read as above without
 *     descending further. That covers the tree "postern lmtp --deliver
 *     maildir:DIR" writes, DIR/DOMAIN/LOCALPART/: a Maildir exactly two
 *     levels below the argument, whose first level looks like a domain
 *     (it has a dot and only letters, digits, '-' and '.', or is an
 *     address literal "[...]"), is owned by LOCALPART@DOMAIN. Names
 *     starting with '.' are skipped;
 *   - an mbox file (its first line starts with "From "), read as mboxrd:
 *     a message starts at a "From " line at the start of the file or after
 *     an empty line; in its body, lines matching ^>+From lose one '>';
 *   - any other regular file: one message.
 * Anything else (a FIFO, a device) is refused, and so is a folder in which
 * no message is found. Symbolic links below the argument are never followed
 * to a folder, and to a file only when it lies inside the argument (its
 * real path), so a walk stays in its tree and cannot loop.
 * Items are sorted by path, then by position in their mbox, so the order
 * never depends on readdir().
 */
#ifndef PST_CLI_CORPUS_H
#define PST_CLI_CORPUS_H

#include <stddef.h>

#include "util/buf.h"
#include "util/limits.h"

typedef struct pst_corpus_item {
	char *path;        /* the file (owned) */
	size_t leaf;       /* offset of its last component in path */
	size_t mbox;       /* 1-based position in its mbox, 0 for a file */
	const char *data;  /* an mbox message: its bytes in the mbox buffer */
	size_t len;
	const char *owner; /* LOCALPART@DOMAIN of the Maildir it is in, or NULL
	                      (borrowed from the corpus's buffers) */
} pst_corpus_item;

typedef struct pst_corpus {
	pst_corpus_item *items;
	size_t n, cap;
	char **buffers;    /* whole mbox files and owner addresses, owned */
	size_t nbuf, bcap;
} pst_corpus;

#define PST_CORPUS_INIT { NULL, 0, 0, NULL, 0, 0 }

/* Add every message of path (any of the kinds above). 0, or -1 with a
 * reason in err: path cannot be read, is not a regular file or a folder,
 * or is a folder without any message (err then says which layouts were
 * looked for). */
int pst_corpus_add(pst_corpus *c, const char *path, char *err, size_t errlen);

/* Sort the items by path and mbox position. */
void pst_corpus_sort(pst_corpus *c);

/* A printable name for item i: its path, with ":N" for an mbox message,
 * into buf (truncated to size). Returns buf. */
const char *pst_corpus_name(const pst_corpus *c, size_t i, char *buf, size_t size);

/* What one thread reads with: a buffer reused between files, and the
 * folder of the last file read, kept open so that the next file of the
 * same folder is opened relative to it (path look-ups are a good part of
 * a replay's cost). */
typedef struct pst_corpus_reader {
	pst_buf buf;
	int dirfd;          /* -1 when none */
	const char *dir;    /* the item path whose folder dirfd is (borrowed) */
	size_t dirlen;
} pst_corpus_reader;

#define PST_CORPUS_READER_INIT { PST_BUF_INIT, -1, NULL, 0 }

void pst_corpus_reader_free(pst_corpus_reader *rd);

/* The bytes of item i: an mbox message's in place, a file's read into
 * rd's buffer, at most max bytes. 0, or -1 with a reason in err. *bytes
 * lives until the next call with the same reader or pst_corpus_free(). */
int pst_corpus_load(const pst_corpus *c, size_t i, pst_corpus_reader *rd, size_t max,
                    const char **bytes, size_t *len, char *err, size_t errlen);

void pst_corpus_free(pst_corpus *c);

/* ---- Trace fields ------------------------------------------------- */

/* What one Received field says. Empty strings when a part is missing. */
typedef struct pst_received {
	char from[PST_TRACE_NAME_BYTES];  /* the "from" word, as written */
	char helo[PST_TRACE_NAME_BYTES];  /* helo= when given, else the from word */
	char ip[PST_TRACE_IP_BYTES];      /* the client IP, without brackets or IPv6: */
	char by[PST_TRACE_NAME_BYTES];    /* the "by" host */
	int by_postern;                   /* the comment right after it is "(postern)" */
} pst_received;

/* Parse an unfolded Received value: "from HELO (NAME [IP]) by HOST ...".
 * Variants of Postfix, Exim ("([IP]:port helo=NAME)"), Sendmail
 * ("[IPv6:...]", "(may be forged)") and Microsoft ("(10.0.0.1)") are
 * understood. 0 when a "by" host was found, -1 otherwise. */
int pst_received_parse(const char *value, size_t len, pst_received *r);

/* Which keys the leading X-Postern-Envelope fields set. */
enum {
	PST_XPE_CLIENT_IP = 1 << 0,
	PST_XPE_CLIENT_NAME = 1 << 1,
	PST_XPE_HELO = 1 << 2,
	PST_XPE_MAIL_FROM = 1 << 3,
	PST_XPE_RCPT = 1 << 4
};

/* The envelope facts a message carries (postern(1), replay's envelope
 * options: leading X-Postern-Envelope fields, then the trace fields).
 * has_* say which were found. */
typedef struct pst_trace_env {
	unsigned xpe;                            /* PST_XPE_* bits */
	int has_mail_from;
	char mail_from[PST_TRACE_ADDR_BYTES];    /* topmost Return-Path; "" null sender */
	int has_rcpt;
	char rcpt[PST_TRACE_ADDR_BYTES];         /* topmost Delivered-To, else X-Original-To */
	int has_received;
	pst_received received;                   /* see pst_trace_env_scan_own */
} pst_trace_env;

/* Scan the header section of a message. received_by may be NULL (no
 * Received field is then used). Never fails; what it cannot read is
 * left unknown. The same as pst_trace_env_scan_own() without own_host. */
void pst_trace_env_scan(const char *bytes, size_t len, const char *received_by, pst_trace_env *t);

/* The same, and postern's own Received field: the message's first
 * Received field, when it reads "by OWN_HOST (postern)" (what postern
 * lmtp writes at the top of a Maildir copy), is taken whatever
 * received_by says; failing that, the topmost field by received_by. A
 * "(postern)" field below the first Received field is never taken: a
 * sender could have written it. In postern's own field a "from" word or
 * address of "unknown" (Postfix's word for a fact not known) is empty.
 * own_host may be NULL. */
void pst_trace_env_scan_own(const char *bytes, size_t len, const char *received_by,
                            const char *own_host, pst_trace_env *t);

#endif
