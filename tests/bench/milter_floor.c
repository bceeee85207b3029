/*
 * milter_floor.c: the cost of libmilter itself, the floor under any
 * milter (bench_milter.sh's third side). Built by make bench only, never
 * run by make check.
 *
 * usage: milter_floor SOCKET      (libmilter's syntax: inet:PORT@HOST)
 *
 * It negotiates exactly as postern milter does with a protocol 6 MTA (no
 * reply at connect, HELO, MAIL, each header, end of header and each body
 * chunk; the same macro lists: {i} at the end of the message, empty ones
 * elsewhere, which Postfix reads as its defaults), copies each
 * header field and body chunk into a per-connection buffer as postern
 * does, and answers at the end of the message the way postern answers the
 * benchmark's mail: 550 5.7.1 for senders of dN.example with N % 4 of 2 or
 * 3, otherwise an Authentication-Results field inserted at the top and
 * accept. It computes nothing: the verdict is read off the sender's name,
 * which the benchmark's corpus chose to match. What it costs is the price
 * of the milter protocol through libmilter (a thread per connection, a
 * poll and reads per packet), which no libmilter milter can go under.
 *
 * Exit status: smfi_main's, 1 when the milter cannot be registered, 2 on
 * a usage error. Memory: one buffer per connection, freed at close; a
 * connection whose buffer cannot grow is tempfailed.
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct floor_conn {
	char *buf;
	size_t len, cap;
	int refuse;                     /* the sender's N % 4 >= 2 */
	int nomem;
};

#define NR_ASKED (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | \
                  SMFIP_NR_BODY)
#define ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS)

static void keep(struct floor_conn *c, const void *p, size_t n)
{
	if (c->nomem)
		return;
	if (c->len + n > c->cap) {
		size_t cap = (c->len + n) * 2;
		char *b = realloc(c->buf, cap);
		if (b == NULL) {
			c->nomem = 1;
			return;
		}
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
	static const int none[] = { SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT,
	                            SMFIM_DATA, SMFIM_EOH };
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = ACTIONS;
	*pf2 = 0;
	*pf3 = 0;
	if (f1 & SMFIP_NODATA) {
		*pf1 |= f1 & NR_ASKED;
		if (smfi_setsymlist(ctx, SMFIM_EOM, "{i}") == MI_SUCCESS)
			for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
				if (smfi_setsymlist(ctx, none[i], "") != MI_SUCCESS)
					break;
	}
	struct floor_conn *c = calloc(1, sizeof *c);
	if (c == NULL || smfi_setpriv(ctx, c) != MI_SUCCESS) {
		free(c);
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

/* Stages postern needs (the client, HELO, the recipients, the end of the
 * header, an abort): registered so that libmilter asks the MTA for them,
 * as it does for postern (a missing callback would be negotiated away). */
static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat on_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct floor_conn *c = smfi_getpriv(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	c->len = 0;
	const char *d = argv[0] ? strstr(argv[0], "@d") : NULL;
	c->refuse = d != NULL && strtol(d + 2, NULL, 10) % 4 >= 2;
	return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct floor_conn *c = smfi_getpriv(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	keep(c, name, strlen(name));
	keep(c, ":", 1);
	keep(c, value, strlen(value));
	keep(c, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct floor_conn *c = smfi_getpriv(ctx);
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	keep(c, chunk, len);
	return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct floor_conn *c = smfi_getpriv(ctx);
	if (c == NULL || c->nomem)
		return SMFIS_TEMPFAIL;
	(void)smfi_getsymval(ctx, "{i}");
	if (c->refuse) {
		if (smfi_setreply(ctx, "550", "5.7.1", "DMARC policy says reject") != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
		return SMFIS_REJECT;
	}
	if (smfi_insheader(ctx, 0, "Authentication-Results", " mx.test; dmarc=pass") != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_ACCEPT;
}

static sfsistat on_close(SMFICTX *ctx)
{
	struct floor_conn *c = smfi_getpriv(ctx);
	if (c != NULL) {
		free(c->buf);
		free(c);
		(void)smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = "milter_floor",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = ACTIONS,
		.xxfi_connect = on_connect,
		.xxfi_helo = on_helo,
		.xxfi_envfrom = on_envfrom,
		.xxfi_envrcpt = on_envrcpt,
		.xxfi_header = on_header,
		.xxfi_eoh = on_eoh,
		.xxfi_body = on_body,
		.xxfi_eom = on_eom,
		.xxfi_abort = on_abort,
		.xxfi_close = on_close,
		.xxfi_negotiate = on_negotiate,
	};
	if (argc != 2) {
		fprintf(stderr, "usage: milter_floor SOCKET\n");
		return 2;
	}
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "milter_floor: cannot register on %s\n", argv[1]);
		return 1;
	}
	return smfi_main();
}
