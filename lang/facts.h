/*
 * facts.h: the facts a rule condition can read, their types, and the values
 * the evaluator receives for them. Shared by the checker (names and types),
 * the evaluator (values) and the fact providers in engine/ (which compute
 * them). The name table itself lives in lang/builtins.c.
 */
#ifndef PST_FACTS_H
#define PST_FACTS_H

#include <stddef.h>

#include "util/authtypes.h"
#include "util/ip.h"

typedef enum pst_type {
	PST_T_BOOL,
	PST_T_NUMBER,
	PST_T_STRING,
	PST_T_ADDRESS,   /* an email address, compared as text */
	PST_T_DOMAIN,    /* a normalised domain (A-labels, lower case) */
	PST_T_IP,
	PST_T_RESULT,    /* pst_auth_result */
	PST_T_POLICY,    /* pst_dmarc_policy */
	PST_T_DOMAINSET, /* a set of normalised domains (dkim.domains) */
} pst_type;

typedef enum pst_fact {
	PST_F_CLIENT_IP,
	PST_F_CLIENT_HELO,
	PST_F_CLIENT_PTR,
	PST_F_ENVELOPE_FROM,
	PST_F_ENVELOPE_FROM_DOMAIN,
	PST_F_RCPT,             /* supplied by the evaluator from its recipient */
	PST_F_RCPT_DOMAIN,      /* likewise */
	PST_F_FROM_ADDRESS,
	PST_F_FROM_DOMAIN,
	PST_F_FROM_DISPLAY,
	PST_F_FROM_COUNT,
	PST_F_FROM_FIELDS,      /* number of From fields */
	PST_F_FROM_VALID,       /* exactly one readable author (RFC 5322 3.6) */
	PST_F_FROM_ERROR,       /* why not: unknown when from.valid */
	PST_F_HEADER_MALFORMED, /* a header line that is neither field nor fold */
	PST_F_HEADER_DUPLICATE, /* a singleton field present twice: its name */
	PST_F_SUBJECT,
	PST_F_SIZE,
	PST_F_SPF,
	PST_F_SPF_DOMAIN,
	PST_F_SPF_ALIGNED,
	PST_F_HELO_SPF,
	PST_F_DKIM,
	PST_F_DKIM_DOMAINS,
	PST_F_DKIM_ALIGNED,
	PST_F_DKIM_UNSIGNED_HEADER, /* a field with more instances than h= covers */
	PST_F_DKIM_UNSIGNED_BODY,   /* body content past a passing l= */
	PST_F_DMARC,
	PST_F_DMARC_POLICY,
	PST_F_DMARC_DOMAIN,
	PST_F_AUTHRES_SPF,
	PST_F_AUTHRES_DKIM,
	PST_F_AUTHRES_DMARC,
	PST_F__COUNT
} pst_fact;

/* One fact's value as a provider hands it to the evaluator. Strings and
 * sets are borrowed from the provider and stay valid for the whole
 * evaluation of the message. known == 0 means the fact is unknown (no client
 * IP, no From, ...): every comparison with it is false. */
typedef struct pst_value {
	int known;
	pst_type type;
	union {
		int b;                         /* PST_T_BOOL */
		long long n;                   /* PST_T_NUMBER */
		struct { const char *p; size_t len; } s; /* STRING, ADDRESS, DOMAIN */
		pst_ip ip;                     /* PST_T_IP */
		pst_auth_result result;        /* PST_T_RESULT */
		pst_dmarc_policy policy;       /* PST_T_POLICY */
		struct { const char *const *items; size_t n; } set; /* PST_T_DOMAINSET */
	} u;
} pst_value;

/* The fact's name as written in rules ("client.ip"), and its type. */
const char *pst_fact_name(pst_fact f);
pst_type pst_fact_type(pst_fact f);
/* The name of a type as diagnostics say it ("ip", "domain", ...). */
const char *pst_type_name(pst_type t);
/* Look a fact up by name; -1 when there is none. */
int pst_fact_lookup(const char *name, size_t n);
/* Whether a fact is an auth fact (computed lazily, possibly with DNS). */
int pst_fact_is_auth(pst_fact f);

#endif
