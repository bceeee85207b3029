/*
 * act_accept.c: "accept": deliver the message to this recipient (250
 * 2.0.0 ok). Terminal. It is also the implicit decision when no rule
 * decides (engine/eval).
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_accept = {
	.id = PST_ACT_ACCEPT,
	.name = "accept", .op = "accept", .word = "accept",
	.effect = PST_EFFECT_DECIDE,
	.decision = PST_DECIDE_ACCEPT,
	.reply = { 250, "2.0.0", "ok", 0 },
	.dump = pst_act_dump_args,
};
