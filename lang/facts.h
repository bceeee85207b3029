/*
 * facts.h: the facts a rule condition can read, their types, and the values
 * the evaluator receives for them. Shared by the checker (names and types),
 * the evaluator (values) and the fact providers in engine/ (which compute
 * them). Every fact is one line of the registry, lang/facts/registry.h; the
 * table of names, types and sources made from it lives in lang/builtins.c.
 */
#ifndef PST_FACTS_H
#define PST_FACTS_H

#include <stddef.h>

#include "lang/facts/registry.h"
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
	PST_T_STRINGSET, /* a set of texts (attachment.name, attachment.type) */
} pst_type;

/* The fact ids, one per registry line: PST_F_CLIENT_IP, ... */
typedef enum pst_fact {
#define PST_F_ID_(ID, sym, name, type, source, group) PST_F_##ID,
	PST_FACTS(PST_F_ID_)
#undef PST_F_ID_
	PST_F__COUNT
} pst_fact;

/* Who computes a fact's value (the SOURCE of its registry line). */
typedef enum pst_fact_origin {
	PST_ORIGIN_MESSAGE,   /* the message (engine/message_facts.c) */
	PST_ORIGIN_AUTH,      /* the auth layer, lazily (engine/message_auth.c) */
	PST_ORIGIN_RCPT,      /* the evaluator, from its recipient */
} pst_fact_origin;

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
		struct { const char *const *items; size_t n; } set; /* DOMAINSET, STRINGSET */
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
/* Whether fact f is known from the SMTP envelope alone, before DATA:
 * client.ip, client.helo, client.ptr, envelope.from, envelope.from.domain,
 * rcpt, rcpt.domain, spf, spf.domain, helo.spf. */
int pst_fact_is_envelope(pst_fact f);
/* Who computes fact f; PST_ORIGIN_MESSAGE when f is not a fact. */
pst_fact_origin pst_fact_origin_of(pst_fact f);

#endif
