/*
 * common.h: hooks that several action definitions share. Private to lang/.
 */
#ifndef PST_ACTIONS_COMMON_H
#define PST_ACTIONS_COMMON_H

#include "lang/action.h"
#include "lang/program.h"

struct checker;
struct pst_ast_action;

/* check: an SMTP reply, [CODE ENHANCED] [TEXT]: the code in def->reply.cls's
 * class, a valid enhanced code of the same class, a reply text without
 * CR/LF and at most PST_MAX_REPLY_TEXT bytes (lang/check_actions.c). */
void pst_act_check_reply(struct checker *c, const char *file, struct pst_ast_action *a,
                         const pst_action_def *def);

/* dump: the arguments as def->args has them: the reply as sent (code,
 * enhanced code, text, defaults filled in), the name, the value (as
 * written), the regex (lang/dump.c). */
int pst_act_dump_args(const pst_rule_action *a, const pst_action_def *def, pst_buf *out);

/* dump: substitute's arguments, " \"NAME\" /re/flags \"replacement\"" (the
 * name for substitute header only) (lang/dump.c). */
int pst_act_dump_subst(const pst_rule_action *a, const pst_action_def *def, pst_buf *out);

#endif
