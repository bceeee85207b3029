/*
 * message_private.h: what the library's own modules share about a message
 * in evaluation (the public pst_message is opaque). Not installed.
 */
#ifndef PST_MESSAGE_PRIVATE_H
#define PST_MESSAGE_PRIVATE_H

#include "postern.h"
#include "envelope.h"
#include "message_auth.h"
#include "eval/eval.h"
#include "msg/author.h"
#include "msg/mime.h"
#include "dns/resolver.h"
#include "util/arena.h"

struct pst_program;
struct pst_msg;
struct pst_dnsfix;

struct pst_policy {
	struct pst_program *prog;   /* owned */
};

struct pst_dns {
	struct pst_dnsfix *fixture; /* owned */
	struct pst_resolver *resolver; /* owned: answers from the fixture */
};

/* The From facts (msg/author.h): one readable author, or why not, and
 * every domain a reader could take for the author's (DMARC reads them all). */
typedef struct pst_from_facts {
	long long count;            /* addresses in all From fields */
	long long nfields;          /* From fields */
	const char *error;          /* NULL when there is one readable author */
	const char *address;        /* the author's address when error is NULL */
	const char *domain;         /* its domain, normalised, when error is NULL */
	const char *display;        /* its decoded display name, likewise */
	const pst_author_domain *domains; /* arena; the author's domain first */
	size_t ndomains;
} pst_from_facts;

/* The mailbox of a Sender or Reply-To field (msg/author.h's
 * pst_msg_mailbox), read on first use: address and domain NULL (unknown)
 * unless the field is there once with one readable mailbox. */
typedef struct pst_mailbox_facts {
	int read;                   /* 1 once read */
	const char *address;        /* the addr-spec as written */
	const char *domain;         /* normalised */
} pst_mailbox_facts;

/* A header field's value as rules read it (message_facts.c): RFC 2047
 * decoded when it holds an encoded-word, made on the first read. */
typedef struct pst_field_view {
	const char *value;          /* NULL until read; then arena or the field's */
	size_t len;
} pst_field_view;

/* Where the last header read stopped, so reading the fields of one name
 * in turn (nth 0, 1, 2 ...) is one pass, not one per field. */
typedef struct pst_field_cursor {
	uint32_t hash;              /* of the name read */
	size_t nth;                 /* the nth field of that name ... */
	long idx;                   /* ... is field idx; -1: no read yet */
} pst_field_cursor;

struct pst_message {
	const pst_policy *policy;   /* borrowed */
	pst_arena *arena;           /* owns everything below but msg */
	struct pst_msg *msg;        /* owned */
	pst_env env;
	pst_message_opts opts;
	pst_from_facts from;
	pst_mailbox_facts sender;   /* sender.*, on first use */
	pst_mailbox_facts reply_to; /* reply_to.*, on first use */
	int mime_read;              /* 1 once mime holds the MIME walk */
	pst_mime_result mime;       /* attachment.*, mime.*, on first use (msg/mime.h) */
	const char *subject;        /* decoded, or NULL without Subject */
	pst_auth auth;              /* lazily computed auth facts */
	pst_dns_session dns;        /* every DNS question of this message */
	size_t nrcpts;              /* at least 1 (an unknown recipient) */
	const char **rcpts;         /* "" for the unknown recipient */
	int evaluated;              /* 0, or how the verdicts were made: */
#define PST_EVAL_FULL 1             /* pst_message_evaluate() */
#define PST_EVAL_ENVELOPE 2         /* pst_message_evaluate_envelope() */
	pst_outcome *outcomes;      /* nrcpts of them, after evaluation */
	pst_verdict *verdicts;      /* likewise */
	unsigned long long *rule_nsec; /* per rule, with opts.time_rules */
	unsigned *rule_evals;       /* likewise */
	size_t nstripped;           /* leading X-Postern-Envelope fields */
	size_t first_field;         /* index of the first field after them */
	pst_field_view *views;      /* per field, arena, allocated on first read */
	pst_field_cursor cursor;
};

/* What the LMTP front end does with decision a of the program's rule
 * rule_at (has_rule 0: the implicit accept), per the after-queue-reject of
 * that rule, its tenant or the file (postern.rules(5)): only reject
 * changes. May compute the SPF result (message.c). */
pst_action pst_message_after_queue(struct pst_message *m, int has_rule, size_t rule_at, pst_action a);

#endif
