/*
 * act_set_from_display.c: "set from.display TEXT": the From field's
 * display name is rewritten (the original kept as X-Original-From).
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_set_from_display = {
	.id = PST_ACT_SET_FROM_DISPLAY,
	.name = "set from.display", .op = "set-from-display", .word = "set",
	.target = "from.display",
	.args = PST_ARG_TARGET | PST_ARG_VALUE,
	.flags = PST_ACTF_HDRVALUE,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_args,
};
