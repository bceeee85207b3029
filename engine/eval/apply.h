/*
 * apply.h: the engine's part of the edit actions. An action's definition
 * (lang/action.h) is the language's; applying an edit needs the message
 * model (engine/msg/edit.h), which lang/ must not know, so this table,
 * keyed by the same action id, says which edit of the message model each
 * edit action (effect PST_EFFECT_EDIT) applies, and turns the evaluator's
 * edits into the message model's.
 */
#ifndef PST_EVAL_APPLY_H
#define PST_EVAL_APPLY_H

#include <stddef.h>

#include "eval/eval.h"
#include "msg/edit.h"

/* The message model's edit for edit action k into *op: 0, or -1 when k is
 * no edit action (or one this table lacks: tests/unit/test_eval checks
 * every edit action of the registry has its entry). */
int pst_apply_op(pst_action_kind k, pst_msg_edit_op *op);

/* The evaluator's n edits as the message model takes them, in a malloc'd
 * array with room for more entries after them (zeroed); the caller frees
 * it. A remove edit's filter calls the evaluator's (edit->match), a
 * substitute's substitution its edit->subst, so the array borrows edits. NULL on ENOMEM, or (errno EINVAL) when an edit's
 * action has no entry here. */
pst_msg_edit *pst_apply_edits(const pst_edit *edits, size_t n, size_t room);

#endif
