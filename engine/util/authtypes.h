/*
 * authtypes.h: the words of sender authentication, shared by every layer:
 * RFC 8601 results and DMARC policies. The adapters (engine/auth/) produce
 * them, the language (lang/facts.h) compares them, the reports print them;
 * so they live below all three.
 */
#ifndef PST_AUTHTYPES_H
#define PST_AUTHTYPES_H

/* RFC 8601 result words. */
typedef enum pst_auth_result {
	PST_AR_NONE,
	PST_AR_PASS,
	PST_AR_FAIL,
	PST_AR_SOFTFAIL,
	PST_AR_NEUTRAL,
	PST_AR_TEMPERROR,
	PST_AR_PERMERROR,
	PST_AR_POLICY,
	PST_AR__COUNT
} pst_auth_result;

typedef enum pst_dmarc_policy {
	PST_POLICY_NONE,
	PST_POLICY_QUARANTINE,
	PST_POLICY_REJECT,
	PST_POLICY__COUNT
} pst_dmarc_policy;

/* The RFC 8601 word for a result ("pass", ...), and the policy word
 * ("none", "quarantine", "reject"); "?" when out of range. Static. */
const char *pst_auth_result_name(pst_auth_result r);
const char *pst_dmarc_policy_name(pst_dmarc_policy p);

/* The result or policy a word names, any case; -1 when it names none. */
int pst_auth_result_parse(const char *word);
int pst_dmarc_policy_parse(const char *word);

#endif
