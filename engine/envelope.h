/*
 * envelope.h: the SMTP envelope of one message, and the X-Postern-Envelope
 * field that carries it inside test messages.
 *
 * The field's value is a list of key=value pairs separated by ';':
 *   client-ip=192.0.2.1; client-name=mta.example.com; helo=mta.example.com;
 *   mail-from=a@example.net; rcpt=b@example.org; rcpt=c@example.org
 * Keys are case-insensitive, rcpt may repeat, mail-from= (empty) or
 * mail-from=<> is the null sender. Unknown keys and bad IPs are errors.
 */
#ifndef PST_ENVELOPE_H
#define PST_ENVELOPE_H

#include <stddef.h>

#include "util/arena.h"
#include "util/ip.h"

typedef struct pst_env {
	const char *client_ip;    /* canonical text, or NULL when unknown */
	pst_ip ip;                /* family 0 when unknown */
	const char *client_name;  /* or NULL */
	const char *helo;         /* or NULL */
	const char *mail_from;    /* or NULL when unknown; "" for the null sender */
	const char **rcpts;       /* arena-owned array */
	size_t nrcpts;
	size_t rcap;
} pst_env;

/* Set the client IP from text (brackets and an "IPv6:" prefix are
 * accepted). Strings are copied into arena. 0, or -1 with *why when the text
 * is not an IP address (or ENOMEM: "out of memory"). */
int pst_env_set_ip(pst_env *env, pst_arena *arena, const char *text, size_t n, const char **why);

/* Append a recipient (copied, surrounding <> removed). 0 / -1 on ENOMEM. */
int pst_env_add_rcpt(pst_env *env, pst_arena *arena, const char *addr, size_t n);

/* Parse one X-Postern-Envelope value into env. Facts env already has are
 * kept (the command line wins), except rcpt, which accumulates unless
 * keep_rcpts is set. Strings are copied into arena. 0, or -1 with a message
 * in err (e.g. "unknown key 'clientip'; did you mean 'client-ip'?"). */
int pst_env_parse_field(pst_env *env, pst_arena *arena, const char *value, size_t n,
                        int keep_rcpts, char *err, size_t errlen);

#endif
