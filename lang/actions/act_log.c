/*
 * act_log.c: "log TEXT": a line for the log (outcome->logs); the text may
 * interpolate ${fact}s. Read through the registry by the grammar's
 * generic action production: "log" is no keyword of its own.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_log = {
	.id = PST_ACT_LOG,
	.name = "log", .op = "log", .word = "log",
	.args = PST_ARG_VALUE,
	.effect = PST_EFFECT_LOG,
	.dump = pst_act_dump_args,
};
