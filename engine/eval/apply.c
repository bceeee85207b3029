/*
 * apply.c: the edit actions' message edits; see apply.h for the contract.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "eval/apply.h"

/* Keyed by action id; "set" marks an entry (the ops start at 0). */
static const struct apply {
	int set;
	pst_msg_edit_op op;
} apply_ops[PST_ACT__COUNT] = {
	[PST_ACT_ADD_HEADER] = { 1, PST_MSG_EDIT_ADD },
	[PST_ACT_REMOVE_HEADER] = { 1, PST_MSG_EDIT_REMOVE },
	[PST_ACT_REPLACE_HEADER] = { 1, PST_MSG_EDIT_REPLACE },
	[PST_ACT_SET_FROM_DISPLAY] = { 1, PST_MSG_EDIT_SET_FROM_DISPLAY },
	[PST_ACT_SET_FROM_ADDRESS] = { 1, PST_MSG_EDIT_SET_FROM_ADDRESS },
	[PST_ACT_PREPEND_SUBJECT] = { 1, PST_MSG_EDIT_PREPEND_SUBJECT },
	[PST_ACT_SUBSTITUTE_FROM_DISPLAY] = { 1, PST_MSG_EDIT_SUBSTITUTE_FROM_DISPLAY },
	[PST_ACT_SUBSTITUTE_HEADER] = { 1, PST_MSG_EDIT_SUBSTITUTE },
};

int pst_apply_op(pst_action_kind k, pst_msg_edit_op *op)
{
	const pst_action_def *def = pst_action_get(k);
	if (def == NULL || def->effect != PST_EFFECT_EDIT || !apply_ops[k].set)
		return -1;
	*op = apply_ops[k].op;
	return 0;
}

/* The message model's filter calls back into the evaluator's. */
static int match_adapter(void *ctx, const char *value, size_t len)
{
	const pst_edit *e = ctx;
	return e->match(e, value, len);
}

static int subst_adapter(void *ctx, const char *value, size_t len, pst_buf *out)
{
	const pst_edit *e = ctx;
	return e->subst(e, value, len, out);
}

pst_msg_edit *pst_apply_edits(const pst_edit *edits, size_t n, size_t room)
{
	pst_msg_edit *out = calloc(n + room + 1, sizeof *out);
	if (out == NULL)
		return NULL;
	for (size_t k = 0; k < n; k++) {
		const pst_edit *e = &edits[k];
		if (pst_apply_op(e->kind, &out[k].op) < 0) {
			free(out);
			errno = EINVAL;
			return NULL;
		}
		out[k].name = e->name;
		out[k].value = e->value;
		if (e->match) {
			out[k].match = match_adapter;
			out[k].match_ctx = (void *)e;
		}
		if (e->subst) {
			out[k].subst = subst_adapter;
			out[k].match_ctx = (void *)e;
		}
	}
	return out;
}
