/*
 * act_reject.c: "reject [CODE ENHANCED] [TEXT]": refuse the message for
 * this recipient with a permanent error; a code given must be 5xx with a
 * 5.x.x enhanced code. Terminal.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_reject = {
	.id = PST_ACT_REJECT,
	.name = "reject", .op = "reject", .word = "reject",
	.args = PST_ARG_REPLY,
	.effect = PST_EFFECT_DECIDE,
	.decision = PST_DECIDE_REJECT,
	.reply = { 550, "5.7.1", "rejected by policy", '5' },
	.check = pst_act_check_reply,
	.dump = pst_act_dump_args,
};
