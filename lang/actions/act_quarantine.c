/*
 * act_quarantine.c: "quarantine [FOLDER]": accept the message (250 2.0.0
 * ok) and deliver it to a quarantine folder, the named one or the
 * default. The folder is a plain text that the deliverers accept
 * (util/folder.h: letters, digits, '-', '_' and '.' between names, at most
 * 100 octets), checked here so that a bad name is a compile error, not a
 * 451 at every delivery. Terminal.
 */
#include "config.h"

#include <string.h>

#include "lang/actions/common.h"
#include "util/folder.h"
#include "lang/check_private.h"

static void check_folder(struct checker *c, const char *file, pst_ast_action *a,
                         const pst_action_def *def)
{
	const pst_ast_str *n = a->name;
	(void)def;
	if (n == NULL || pst_chk_plain_text(c, file, n, "a quarantine folder") < 0)
		return;
	const char *why = n->len == strlen(n->s) ? pst_folder_name_problem(n->s) : "a NUL";
	if (why != NULL)
		pst_chk_err(c, file, &n->loc, "bad quarantine folder \"%.40s%s\": %s (allowed: letters, "
		            "digits, '-', '_', and '.' between names; at most 100 octets)",
		            n->s, strlen(n->s) > 40 ? "..." : "", why);
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
