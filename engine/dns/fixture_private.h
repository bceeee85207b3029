/*
 * fixture_private.h: what the fixture's line parser (fixture_parse.c) and
 * its loader, index and query code (fixture.c) share. Not for other modules.
 *
 * The parser turns each line into records and directives, appended to a
 * fix_loader together with any errors; the loader then sorts them into the
 * immutable pst_dnsfix. All strings live in the loader's arena, which the
 * finished fixture takes over.
 */
#ifndef PST_DNS_FIXTURE_PRIVATE_H
#define PST_DNS_FIXTURE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/fixture.h"
#include "util/arena.h"

#define FIX_DEFAULT_TTL 300u        /* a record without TTL and no $TTL */
#define FIX_MAX_TTL     2147483647u /* RFC 2181 8 */

struct fix_rec {
	pst_dns_rr rr;
	unsigned line, col;
	size_t seq;           /* file order */
};

struct fix_dir {
	const char *name;
	int type;             /* 0: every type */
	pst_dns_status status;
	unsigned line, col;
};

struct fix_err {
	unsigned line, col;
	size_t seq;
	const char *msg;      /* in the arena */
};

typedef struct fix_loader {
	const char *fname;    /* for messages; borrowed */
	pst_arena *arena;
	struct fix_rec *recs;
	size_t nrecs, caprecs;
	struct fix_dir *dirs;
	size_t ndirs, capdirs;
	struct fix_err *errs;
	size_t nerrs, caperrs;
	size_t dropped;       /* errors over PST_MAX_DIAGNOSTICS */
	int nomem;
	/* State carried from line to line. */
	const char *origin;   /* $ORIGIN, or NULL */
	uint32_t default_ttl; /* $TTL */
	const char *last_owner;
} fix_loader;

/* Record an error at line:col (1-based). Never fails: out of memory or over
 * the limit, it is counted instead. */
void pst_dnsfix_error(fix_loader *L, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Append a record or a directive (copied). -1 on ENOMEM (L->nomem set). */
int pst_dnsfix_add_rec(fix_loader *L, const pst_dns_rr *rr, unsigned line, unsigned col);
int pst_dnsfix_add_dir(fix_loader *L, const struct fix_dir *d);

/* Parse one line of n bytes (no newline; a trailing CR already removed,
 * no NUL bytes). Appends what it finds, or errors, to L. */
void pst_dnsfix_parse_line(fix_loader *L, const char *p, size_t n, unsigned line);

#endif
