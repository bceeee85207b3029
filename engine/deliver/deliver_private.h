/*
 * deliver_private.h: what the delivery front (deliver.c) shares with its
 * backends (maildir.c, relay.c). A pst_deliver is a backend behind a small
 * table of operations, plus what every backend needs: the recipient
 * delimiter, the users list and this host's name.
 */
#ifndef PST_DELIVER_PRIVATE_H
#define PST_DELIVER_PRIVATE_H

#include <stddef.h>
#include <time.h>

#include "deliver/deliver.h"
#include "util/buf.h"
#include "util/limits.h"

typedef struct pst_deliver_ops {
	const char *name;
	void (*transaction)(pst_deliver *d, const pst_deliver_env *env,
			    pst_deliver_rcpt *rcpts, size_t n);
	void (*free)(void *impl);
} pst_deliver_ops;

struct pst_deliver {
	const pst_deliver_ops *ops;
	void *impl;
	char delimiter;
	unsigned timeout_ms;
	char hostname[PST_DELIVER_MAX_HOST];
	char **users;                  /* sorted canonical "local@domain", or NULL */
	size_t nusers;
	int has_users;
};

/* The parts of an address a mailbox is found by: the local part in lower
 * case without the delimiter's detail, and the normalised domain. */
typedef struct pst_deliver_addr {
	char local[PST_DELIVER_MAX_LOCAL + 1];
	char domain[PST_MAX_DOMAIN_BYTES + 1];
} pst_deliver_addr;

/* Split and check address (the bare address, no angle brackets) for use as
 * a path. 0, or -1 when the syntax is not safe (the caller answers 550
 * 5.1.3). */
int pst_deliver_parse_addr(char delimiter, const char *address, pst_deliver_addr *a);

/* Set *r. text is printf-style, truncated to fit. */
void pst_deliver_set_reply(pst_reply *r, int code, const char *enhanced, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Validate a folder name (".Quarantine", "Quarantine", ".Quarantine.Spam")
 * and write its Maildir++ form (leading '.') to out. 0, or -1 when unsafe
 * (util/folder.h: the rule the rule checker applies too) or too long for
 * out. */
int pst_deliver_folder_name(const char *folder, char *out, size_t outlen);

/* The backends' constructors: impl for pst_deliver.impl. 0 / -1 with err. */
int pst_maildir_open(pst_deliver *d, const char *dir, char *err, size_t errlen);
int pst_relay_open(pst_deliver *d, const char *spec, char *err, size_t errlen);

/* Return-Path, Delivered-To and Received for this hop, as Dovecot's LMTP
 * writes them, with eol after each line; appended to b. 0 / -1 (ENOMEM). */
int pst_maildir_trace(const pst_deliver *d, const pst_deliver_env *env, const char *rcpt,
		      const char *eol, time_t now, pst_buf *b);

/* One connection to the relay's target within timeout_ms, closed at
 * once (d must be a relay): 0, or -1 with why. Not counted. */
int pst_relay_probe(const pst_deliver *d, unsigned timeout_ms, char *why, size_t whylen);

/* The relay's counters (d must be a relay). */
void pst_relay_stats(const pst_deliver *d, pst_deliver_stats *st);

extern const pst_deliver_ops pst_maildir_ops;
extern const pst_deliver_ops pst_relay_ops;

#endif
