/*
 * builtins.c: the table of facts a rule can read (facts.h), made from the
 * registry (lang/facts/registry.h): their names as written in rules, their
 * types, and who computes them (which are auth facts). The checker
 * resolves names through it, the evaluator and the reports print them.
 */
#include "lang/facts.h"

#include <string.h>
#include <strings.h>

static const struct fact_def {
	const char *name;
	pst_type type;
	pst_fact_origin origin;
} facts[PST_F__COUNT] = {
#define FACT_DEF_(ID, sym, name, type, source, group) \
	[PST_F_##ID] = { name, PST_T_##type, PST_ORIGIN_##source },
	PST_FACTS(FACT_DEF_)
#undef FACT_DEF_
};

static const char *const type_names[] = {
	[PST_T_BOOL] = "bool", [PST_T_NUMBER] = "number", [PST_T_STRING] = "string",
	[PST_T_ADDRESS] = "address", [PST_T_DOMAIN] = "domain", [PST_T_IP] = "ip",
	[PST_T_RESULT] = "result", [PST_T_POLICY] = "policy",
	[PST_T_DOMAINSET] = "set of domains", [PST_T_STRINGSET] = "set of texts",
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
	return pst_fact_origin_of(f) == PST_ORIGIN_AUTH;
}

int pst_fact_is_envelope(pst_fact f)
{
	switch (f) {
	case PST_F_CLIENT_IP: case PST_F_CLIENT_HELO: case PST_F_CLIENT_PTR:
	case PST_F_ENVELOPE_FROM: case PST_F_ENVELOPE_FROM_DOMAIN:
	case PST_F_RCPT: case PST_F_RCPT_DOMAIN:
	case PST_F_SPF: case PST_F_SPF_DOMAIN: case PST_F_HELO_SPF:
		return 1;
	default:
		return 0;
	}
}

pst_fact_origin pst_fact_origin_of(pst_fact f)
{
	return (unsigned)f < PST_F__COUNT ? facts[f].origin : PST_ORIGIN_MESSAGE;
}
