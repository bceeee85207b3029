/*
 * act_discard.c: "discard": accept the message (250 2.0.0 ok) and drop
 * it for this recipient. Terminal.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_discard = {
	.id = PST_ACT_DISCARD,
	.name = "discard", .op = "discard", .word = "discard",
	.effect = PST_EFFECT_DECIDE,
	.decision = PST_DECIDE_DISCARD,
	.reply = { 250, "2.0.0", "ok", 0 },
	.dump = pst_act_dump_args,
};
