/*
 * authtypes.c: the words of sender authentication; see authtypes.h.
 */
#include "util/authtypes.h"

#include <strings.h>

static const char *const result_names[PST_AR__COUNT] = {
	[PST_AR_NONE] = "none", [PST_AR_PASS] = "pass", [PST_AR_FAIL] = "fail",
	[PST_AR_SOFTFAIL] = "softfail", [PST_AR_NEUTRAL] = "neutral",
	[PST_AR_TEMPERROR] = "temperror", [PST_AR_PERMERROR] = "permerror",
	[PST_AR_POLICY] = "policy",
};

static const char *const policy_names[PST_POLICY__COUNT] = {
	[PST_POLICY_NONE] = "none", [PST_POLICY_QUARANTINE] = "quarantine",
	[PST_POLICY_REJECT] = "reject",
};

const char *pst_auth_result_name(pst_auth_result r)
{
	return (unsigned)r < PST_AR__COUNT ? result_names[r] : "?";
}

const char *pst_dmarc_policy_name(pst_dmarc_policy p)
{
	return (unsigned)p < PST_POLICY__COUNT ? policy_names[p] : "?";
}

int pst_auth_result_parse(const char *word)
{
	for (int i = 0; word && i < PST_AR__COUNT; i++)
		if (strcasecmp(word, result_names[i]) == 0)
			return i;
	return -1;
}

int pst_dmarc_policy_parse(const char *word)
{
	for (int i = 0; word && i < PST_POLICY__COUNT; i++)
		if (strcasecmp(word, policy_names[i]) == 0)
			return i;
	return -1;
}
