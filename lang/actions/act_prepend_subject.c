/*
 * act_prepend_subject.c: "prepend subject TEXT": the text goes in front
 * of the Subject value unless it already starts with it.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_prepend_subject = {
	.id = PST_ACT_PREPEND_SUBJECT,
	.name = "prepend subject", .op = "prepend-subject", .word = "prepend",
	.target = "subject",
	.args = PST_ARG_TARGET | PST_ARG_VALUE,
	.flags = PST_ACTF_HDRVALUE,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_args,
};
