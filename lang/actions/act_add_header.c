/*
 * act_add_header.c: "add header NAME VALUE": a new field at the top of
 * the header (after fields added before it). The value may interpolate
 * ${fact}s and holds no CR or LF.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_add_header = {
	.id = PST_ACT_ADD_HEADER,
	.name = "add header", .op = "add-header", .word = "add",
	.args = PST_ARG_NAME | PST_ARG_VALUE,
	.flags = PST_ACTF_HDRNAME | PST_ACTF_HDRVALUE,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_args,
};
