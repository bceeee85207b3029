/*
 * api.c: the public library API declared in postern.h.
 *
 * A thin layer: it ties the rule compiler (lang/), the message model
 * (engine/msg) and the evaluator (engine/eval) together and owns nothing
 * else.
 */
#include "config.h"
#include "postern.h"

const char *pst_version(void)
{
	return PACKAGE_VERSION;
}
