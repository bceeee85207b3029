/*
 * act_substitute_from_display.c: "substitute from.display /re/flags TEXT":
 * the regex's first match (every match with the g flag) in the From
 * field's decoded display name is replaced by TEXT, whose $1..$9 are the
 * regex's captures; the name is re-encoded, the original From kept as
 * X-Original-From, as "set from.display" does (engine/msg/edit.h). An
 * empty result leaves the bare address. No match: no edit.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_substitute_from_display = {
	.id = PST_ACT_SUBSTITUTE_FROM_DISPLAY,
	.name = "substitute from.display", .op = "substitute-from-display",
	.word = "substitute", .target = "from.display",
	.args = PST_ARG_TARGET | PST_ARG_REGEX | PST_ARG_VALUE,
	.flags = PST_ACTF_HDRVALUE | PST_ACTF_SUBST,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_subst,
};
