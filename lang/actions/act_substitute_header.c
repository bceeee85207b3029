/*
 * act_substitute_header.c: "substitute header NAME /re/flags TEXT": in the
 * unfolded, RFC 2047-decoded value of every field of that name, the
 * regex's first match (every match with the g flag) is replaced by TEXT,
 * whose $1..$9 are the regex's captures; a changed value is re-encoded
 * (engine/msg/edit.h). A field that does not match stays as received.
 * Never Received.
 */
#include "config.h"

#include "lang/actions/common.h"

const pst_action_def pst_act_substitute_header = {
	.id = PST_ACT_SUBSTITUTE_HEADER,
	.name = "substitute header", .op = "substitute-header",
	.word = "substitute", .target = "header",
	.args = PST_ARG_TARGET | PST_ARG_NAME | PST_ARG_REGEX | PST_ARG_VALUE,
	.flags = PST_ACTF_HDRNAME | PST_ACTF_HDRVALUE | PST_ACTF_TRACE | PST_ACTF_SUBST,
	.effect = PST_EFFECT_EDIT,
	.dump = pst_act_dump_subst,
};
