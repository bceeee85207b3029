/*
 * api.c: pst_version, the one function of postern.h that belongs to no
 * module. The rest of the API is defined where its objects live: policies,
 * DNS fixtures and compile reports in policy.c, messages, verdicts and
 * reports in message.c.
 */
#include "config.h"
#include "postern.h"

const char *pst_version(void)
{
	return PACKAGE_VERSION;
}
