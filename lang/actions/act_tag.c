/*
 * act_tag.c: "tag NAME": a tag on the verdict (outcome->tags): letters,
 * digits and '-_.:' only. Read through the registry by the grammar's
 * generic action production: "tag" is no keyword of its own.
 */
#include "config.h"

#include <string.h>

#include "lang/actions/common.h"
#include "lang/check_private.h"

static void check_tag(struct checker *c, const char *file, pst_ast_action *a,
                      const pst_action_def *def)
{
	const pst_ast_str *n = a->name;
	(void)def;
	if (n == NULL || pst_chk_plain_text(c, file, n, "a tag") < 0)
		return;
	size_t ok = strspn(n->s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                   "0123456789-_.:");
	if (n->len == 0 || ok != n->len)
		pst_chk_err(c, file, &n->loc, "bad tag \"%s\": letters, digits and '-_.:' only", n->s);
}

const pst_action_def pst_act_tag = {
	.id = PST_ACT_TAG,
	.name = "tag", .op = "tag", .word = "tag",
	.args = PST_ARG_NAME,
	.effect = PST_EFFECT_TAG,
	.check = check_tag,
	.dump = pst_act_dump_args,
};
