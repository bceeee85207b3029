/*
 * act_tempfail.c: "tempfail [CODE ENHANCED] [TEXT]": ask the sender to
 * try again later; a code given must be 4xx with a 4.x.x enhanced code.
 * Terminal.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_tempfail = {
	.id = PST_ACT_TEMPFAIL,
	.name = "tempfail", .op = "tempfail", .word = "tempfail",
	.args = PST_ARG_REPLY,
	.effect = PST_EFFECT_DECIDE,
	.decision = PST_DECIDE_TEMPFAIL,
	.reply = { 451, "4.7.1", "temporary failure, try again later", '4' },
	.check = pst_act_check_reply,
	.dump = pst_act_dump_args,
};
