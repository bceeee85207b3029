/*
 * act_replace_header.c: "replace header NAME VALUE": the first field of
 * that name gets the value, later ones go; without one it is added. Never
 * Received.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_replace_header = {
	.id = PST_ACT_REPLACE_HEADER,
	.name = "replace header", .op = "replace-header", .word = "replace",
	.args = PST_ARG_NAME | PST_ARG_VALUE,
	.flags = PST_ACTF_HDRNAME | PST_ACTF_HDRVALUE | PST_ACTF_TRACE,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_args,
};
