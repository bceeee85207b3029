/*
 * act_remove_header.c: "remove header NAME [matching /re/]": remove every
 * field of that name, or those whose unfolded value the regex matches
 * (with the evaluator's regex path and match limit). Never Received.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_remove_header = {
	.id = PST_ACT_REMOVE_HEADER,
	.name = "remove header", .op = "remove-header", .word = "remove",
	.args = PST_ARG_NAME | PST_ARG_REGEX,
	.flags = PST_ACTF_HDRNAME | PST_ACTF_TRACE,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_args,
};
