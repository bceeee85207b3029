/*
 * relay.c: delivery to a downstream LMTP server (placeholder until the
 * client lands): opening an lmtp: target fails.
 */
#include "deliver/deliver_private.h"

#include <stdio.h>

int pst_relay_open(pst_deliver *d, const char *spec, char *err, size_t errlen)
{
	(void)d;
	snprintf(err, errlen, "lmtp:%s: relay not implemented yet", spec);
	return -1;
}
