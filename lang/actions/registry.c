/*
 * registry.c: the table of action definitions, made from the registry
 * list (registry.h), and the lookups over it (lang/action.h).
 *
 * The table is indexed by id; pst_action_get checks the range, so an id
 * that is no action gets NULL rather than a stray pointer. Lookups by word
 * walk the table (a dozen entries; the parser and the checker call them
 * once per action written).
 */
#include "config.h"

#include <string.h>

#include "lang/action.h"

#define PST_ACT_DECL_(ID, sym) extern const pst_action_def pst_act_##sym;
PST_ACTIONS(PST_ACT_DECL_)
#undef PST_ACT_DECL_

static const pst_action_def *const registry[PST_ACT__COUNT] = {
#define PST_ACT_ENTRY_(ID, sym) [PST_ACT_##ID] = &pst_act_##sym,
	PST_ACTIONS(PST_ACT_ENTRY_)
#undef PST_ACT_ENTRY_
};

const pst_action_def *pst_action_get(pst_action_kind k)
{
	return (unsigned)k < PST_ACT__COUNT ? registry[k] : NULL;
}

const pst_action_def *pst_action_find(const char *word, size_t len, const char *target)
{
	for (size_t i = 0; i < PST_ACT__COUNT; i++) {
		const pst_action_def *d = registry[i];
		if (strlen(d->word) != len || memcmp(d->word, word, len) != 0)
			continue;
		if (target == NULL || (d->target && strcmp(d->target, target) == 0))
			return d;
	}
	return NULL;
}

int pst_action_terminal(pst_action_kind k)
{
	const pst_action_def *d = pst_action_get(k);
	return d != NULL && d->effect == PST_EFFECT_DECIDE;
}

const char *pst_decision_name(pst_decision dec)
{
	for (size_t i = 0; i < PST_ACT__COUNT; i++)
		if (registry[i]->effect == PST_EFFECT_DECIDE && registry[i]->decision == dec)
			return registry[i]->name;
	return "?";
}

const char *pst_action_op(pst_action_kind k)
{
	const pst_action_def *d = pst_action_get(k);
	return d ? d->op : "?";
}
