/*
 * act_set_from_address.c: "set from.address TEXT": the From field's
 * address is rewritten (the original kept as X-Original-From).
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_set_from_address = {
	.id = PST_ACT_SET_FROM_ADDRESS,
	.name = "set from.address", .op = "set-from-address", .word = "set",
	.target = "from.address",
	.args = PST_ARG_TARGET | PST_ARG_VALUE,
	.flags = PST_ACTF_HDRVALUE,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_args,
};
