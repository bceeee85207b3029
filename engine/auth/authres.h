/*
 * authres.h: Authentication-Results fields (RFC 8601): a parser for the
 * full grammar (comments, quoted strings, version numbers, reasons,
 * properties), and the writer of postern's own field.
 */
#ifndef PST_AUTHRES_H
#define PST_AUTHRES_H

#include <stddef.h>

#include "util/arena.h"
#include "util/buf.h"

typedef struct pst_authres_prop {
	const char *ptype;          /* "smtp", "header", "body", "policy" */
	const char *property;       /* "mailfrom", "d", ... */
	const char *value;
} pst_authres_prop;

typedef struct pst_authres_result {
	const char *method;         /* "spf", "dkim", "dmarc", ... lower case */
	const char *result;         /* "pass", ... lower case */
	const char *reason;         /* reason= text, or NULL */
	pst_authres_prop *props;
	size_t nprops;
} pst_authres_result;

typedef struct pst_authres {
	const char *authserv_id;
	int version;                /* 1 when absent */
	int none;                   /* "; none" */
	pst_authres_result *results;
	size_t nresults;
} pst_authres;

/* Parse one field value (unfolded). Strings from arena. 0; -1 when the
 * value does not follow RFC 8601 (err says where) or on ENOMEM. */
int pst_authres_parse(pst_arena *arena, const char *value, size_t len, pst_authres *out,
                      char *err, size_t errlen);

/* Whether a field value's authserv-id equals id (case-insensitive), for
 * removing forged fields bearing our own id; tolerant of values that do
 * not otherwise parse. */
int pst_authres_has_id(const char *value, size_t len, const char *id);

/* Write ar as a field value (no "Authentication-Results:" name, no line
 * ending): "id; spf=pass smtp.mailfrom=a.example; dkim=pass header.d=...",
 * quoting values that are not tokens, "; none" when it has no results.
 * Folding is the message writer's. 0 / -1 on ENOMEM. */
int pst_authres_format(const pst_authres *ar, pst_buf *out);

#endif
