/*
 * deliver.h: where accepted mail goes after the policy decided: a Maildir
 * tree (maildir:DIR) or a downstream LMTP server (lmtp:HOST:PORT,
 * lmtp:unix:PATH). The LMTP front end (engine/lmtp) calls this for every
 * transaction; nothing here knows about rules.
 *
 * "250 means stored": a recipient gets 250 only once its copy is durable:
 * for a Maildir, written to tmp/ with O_EXCL, fsync'd, renamed into new/,
 * and the directory fsync'd (new folders fsync'd up to the root); for a
 * relay, once the downstream said 250 for that recipient. Any failure on
 * the way is a 4xx for the recipients it touched (a full disk: 452 4.2.2;
 * other I/O: 451 4.3.0; downstream trouble: 451 4.4.x), never a 250.
 *
 * A pst_deliver is shared by every session (thread) of the server; its
 * functions are thread-safe.
 */
#ifndef PST_DELIVER_H
#define PST_DELIVER_H

#include <stddef.h>

typedef struct pst_deliver pst_deliver;

typedef struct pst_deliver_opts {
	char recipient_delimiter;   /* '+' (--recipient-delimiter), or 0 */
	const char *users_file;     /* --users FILE: only these addresses, or NULL */
	const char *hostname;       /* this host's name for Received (NULL: gethostname) */
	unsigned timeout_ms;        /* relay: per downstream reply (0: 300 s) */
} pst_deliver_opts;

/* Open target ("maildir:DIR", "lmtp:HOST:PORT", "lmtp:[::1]:PORT",
 * "lmtp:unix:PATH"). The Maildir root is created if missing. 0, or -1 with
 * a reason in err. The caller frees with pst_deliver_close. */
int pst_deliver_open(const char *target, const pst_deliver_opts *opts, pst_deliver **out,
                     char *err, size_t errlen);
void pst_deliver_close(pst_deliver **d);

/* An SMTP reply for one recipient. */
typedef struct pst_reply {
	int code;                   /* 250, 451, 550, ... */
	char enhanced[12];          /* "2.0.0" */
	char text[200];             /* without the code */
} pst_reply;

/* At RCPT time: whether the address can be delivered at all (syntax safe
 * for a path: no '/', "..", NUL or control characters, else 550 5.1.3;
 * with a users file, listed, else 550 5.1.1). Fills *r with 250 2.1.5 or
 * the refusal. Never fails. address is the bare path ("<...>" tolerated);
 * as a C string it cannot hold a NUL, so the caller refuses a command line
 * with a NUL in it (a truncated address is still checked like any other).
 * Also refused: an empty local part or one over 64 octets, a leading '.',
 * '\', '"' or '@' in the local part, and a domain pst_domain_normalize
 * does not accept (address literals included). */
void pst_deliver_check_rcpt(const pst_deliver *d, const char *address, pst_reply *r);

/* The envelope of one transaction, for the trace fields and downstream. */
typedef struct pst_deliver_env {
	const char *mail_from;      /* "" for the null sender */
	const char *queue_id;       /* for Received "id" and logs */
	const char *client_ip;      /* XFORWARD ADDR, or NULL */
	const char *client_name;    /* XFORWARD NAME, or NULL */
	const char *helo;           /* XFORWARD HELO, or NULL */
	const char *lhlo;           /* the LMTP client's LHLO name */
	const char *peer;           /* the LMTP client's address ("127.0.0.1", "unix") */
} pst_deliver_env;

/* One recipient of a transaction, with the copy it gets. */
typedef struct pst_deliver_rcpt {
	const char *address;        /* the envelope recipient */
	const char *folder;         /* NULL: the inbox; else the folder (".Quarantine") */
	const char *data;           /* its copy of the message (edits applied), CRLF or LF */
	size_t len;
	pst_reply reply;            /* out */
} pst_deliver_rcpt;

/* Deliver every recipient's copy; each rcpts[i].reply is filled (250 only
 * when durable). A Maildir copy gets Return-Path, Delivered-To and a
 * Received field for this hop at the top, as Dovecot's LMTP writes them,
 * its "from" part naming the client (client_ip, client_name, helo) as
 * Postfix's smtpd does.
 * Relay mode groups recipients whose copies are identical into one
 * downstream transaction and maps the per-recipient replies back; a
 * quarantined copy gets "X-Postern-Action: quarantine; folder=NAME" and,
 * with a recipient delimiter, goes to user+NAME@domain. Blocking; safe to
 * call from several threads at once. */
void pst_deliver_transaction(pst_deliver *d, const pst_deliver_env *env,
                             pst_deliver_rcpt *rcpts, size_t n);

/* Counters of a relay target, for logs and tests (all 0 for a Maildir):
 * downstream connections opened and transactions (MAIL FROM) started. */
typedef struct pst_deliver_stats {
	unsigned long connections;
	unsigned long transactions;
} pst_deliver_stats;

void pst_deliver_get_stats(const pst_deliver *d, pst_deliver_stats *st);

/* Whether the target answers: for a relay, one connection within
 * timeout_ms (closed at once, nothing sent); a Maildir always does.
 * 0, or -1 with why (NUL-terminated, from the connect). */
int pst_deliver_probe(const pst_deliver *d, unsigned timeout_ms, char *why, size_t whylen);

#endif
