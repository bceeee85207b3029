/*
 * act_quarantine.c: "quarantine [FOLDER]": accept the message (250 2.0.0
 * ok) and deliver it to a quarantine folder, the named one or the
 * default. The folder is a non-empty plain text without '/' and not "."
 * or "..". Terminal.
 */
#include "config.h"

#include <string.h>

#include "lang/actions/common.h"
#include "lang/check_private.h"

static void check_folder(struct checker *c, const char *file, pst_ast_action *a,
                         const pst_action_def *def)
{
	const pst_ast_str *n = a->name;
	(void)def;
	if (n == NULL || pst_chk_plain_text(c, file, n, "a quarantine folder") < 0)
		return;
	if (n->len == 0 || strchr(n->s, '/') || strcmp(n->s, ".") == 0 ||
	    strcmp(n->s, "..") == 0 || n->crlf_col)
		pst_chk_err(c, file, &n->loc, "bad quarantine folder \"%s\": a non-empty name "
		            "without '/'", n->s);
}

const pst_action_def pst_act_quarantine = {
	.id = PST_ACT_QUARANTINE,
	.name = "quarantine", .op = "quarantine", .word = "quarantine",
	.args = PST_ARG_NAME | PST_ARG_NAME_OPT,
	.effect = PST_EFFECT_DECIDE,
	.decision = PST_DECIDE_QUARANTINE,
	.reply = { 250, "2.0.0", "ok", 0 },
	.check = check_folder,
	.dump = pst_act_dump_args,
};
