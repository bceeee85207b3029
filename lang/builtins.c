/*
 * builtins.c: the table of facts a rule can read (facts.h): their names as
 * written in rules, their types, and which are auth facts. The checker
 * resolves names through it, the evaluator and the reports print them.
 */
#include "lang/facts.h"

#include <string.h>
#include <strings.h>

static const struct fact_def {
	const char *name;
	pst_type type;
	int auth;
} facts[PST_F__COUNT] = {
	[PST_F_CLIENT_IP] = { "client.ip", PST_T_IP, 0 },
	[PST_F_CLIENT_HELO] = { "client.helo", PST_T_STRING, 0 },
	[PST_F_CLIENT_PTR] = { "client.ptr", PST_T_STRING, 0 },
	[PST_F_ENVELOPE_FROM] = { "envelope.from", PST_T_ADDRESS, 0 },
	[PST_F_ENVELOPE_FROM_DOMAIN] = { "envelope.from.domain", PST_T_DOMAIN, 0 },
	[PST_F_RCPT] = { "rcpt", PST_T_ADDRESS, 0 },
	[PST_F_RCPT_DOMAIN] = { "rcpt.domain", PST_T_DOMAIN, 0 },
	[PST_F_FROM_ADDRESS] = { "from.address", PST_T_ADDRESS, 0 },
	[PST_F_FROM_DOMAIN] = { "from.domain", PST_T_DOMAIN, 0 },
	[PST_F_FROM_DISPLAY] = { "from.display", PST_T_STRING, 0 },
	[PST_F_FROM_COUNT] = { "from.count", PST_T_NUMBER, 0 },
	[PST_F_FROM_FIELDS] = { "from.fields", PST_T_NUMBER, 0 },
	[PST_F_FROM_VALID] = { "from.valid", PST_T_BOOL, 0 },
	[PST_F_FROM_ERROR] = { "from.error", PST_T_STRING, 0 },
	[PST_F_HEADER_MALFORMED] = { "header.malformed", PST_T_BOOL, 0 },
	[PST_F_HEADER_DUPLICATE] = { "header.duplicate", PST_T_STRING, 0 },
	[PST_F_SUBJECT] = { "subject", PST_T_STRING, 0 },
	[PST_F_SIZE] = { "size", PST_T_NUMBER, 0 },
	[PST_F_SPF] = { "spf", PST_T_RESULT, 1 },
	[PST_F_SPF_DOMAIN] = { "spf.domain", PST_T_DOMAIN, 1 },
	[PST_F_SPF_ALIGNED] = { "spf.aligned", PST_T_BOOL, 1 },
	[PST_F_HELO_SPF] = { "helo.spf", PST_T_RESULT, 1 },
	[PST_F_DKIM] = { "dkim", PST_T_RESULT, 1 },
	[PST_F_DKIM_DOMAINS] = { "dkim.domains", PST_T_DOMAINSET, 1 },
	[PST_F_DKIM_ALIGNED] = { "dkim.aligned", PST_T_BOOL, 1 },
	[PST_F_DKIM_UNSIGNED_HEADER] = { "dkim.unsigned_header", PST_T_STRING, 1 },
	[PST_F_DKIM_UNSIGNED_BODY] = { "dkim.unsigned_body", PST_T_BOOL, 1 },
	[PST_F_DMARC] = { "dmarc", PST_T_RESULT, 1 },
	[PST_F_DMARC_POLICY] = { "dmarc.policy", PST_T_POLICY, 1 },
	[PST_F_DMARC_DOMAIN] = { "dmarc.domain", PST_T_DOMAIN, 1 },
	[PST_F_AUTHRES_SPF] = { "authres.spf", PST_T_RESULT, 1 },
	[PST_F_AUTHRES_DKIM] = { "authres.dkim", PST_T_RESULT, 1 },
	[PST_F_AUTHRES_DMARC] = { "authres.dmarc", PST_T_RESULT, 1 },
};

static const char *const type_names[] = {
	[PST_T_BOOL] = "bool", [PST_T_NUMBER] = "number", [PST_T_STRING] = "string",
	[PST_T_ADDRESS] = "address", [PST_T_DOMAIN] = "domain", [PST_T_IP] = "ip",
	[PST_T_RESULT] = "result", [PST_T_POLICY] = "policy",
	[PST_T_DOMAINSET] = "set of domains",
};

const char *pst_fact_name(pst_fact f)
{
	return (unsigned)f < PST_F__COUNT ? facts[f].name : "?";
}

pst_type pst_fact_type(pst_fact f)
{
	return (unsigned)f < PST_F__COUNT ? facts[f].type : PST_T_STRING;
}

const char *pst_type_name(pst_type t)
{
	return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "?";
}

int pst_fact_lookup(const char *name, size_t n)
{
	for (int i = 0; i < PST_F__COUNT; i++)
		if (strlen(facts[i].name) == n && strncasecmp(facts[i].name, name, n) == 0)
			return i;
	return -1;
}

int pst_fact_is_auth(pst_fact f)
{
	return (unsigned)f < PST_F__COUNT && facts[f].auth;
}
