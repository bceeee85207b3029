/*
 * registry.h: the registry of actions, one line per action. This list is
 * the one place that names every action: lang/action.h makes the ids
 * (pst_action_kind, PST_ACT_<ID>) from it, lang/actions/registry.c the
 * table of definitions (each the const pst_act_<sym> of
 * lang/actions/act_<sym>.c). The order is the order of the ids; nothing
 * else depends on it.
 *
 * Adding an action: write lang/actions/act_<sym>.c (see lang/action.h for
 * what a definition holds), add X(<ID>, <sym>) here and the file to
 * lang/Makemodule.am.
 */
#ifndef PST_ACTIONS_REGISTRY_H
#define PST_ACTIONS_REGISTRY_H

#define PST_ACTIONS(X) \
	X(ACCEPT, accept) \
	X(REJECT, reject) \
	X(TEMPFAIL, tempfail) \
	X(DISCARD, discard) \
	X(QUARANTINE, quarantine) \
	X(ADD_HEADER, add_header) \
	X(REMOVE_HEADER, remove_header) \
	X(REPLACE_HEADER, replace_header) \
	X(SET_FROM_DISPLAY, set_from_display) \
	X(SET_FROM_ADDRESS, set_from_address) \
	X(PREPEND_SUBJECT, prepend_subject) \
	X(SUBSTITUTE_FROM_DISPLAY, substitute_from_display) \
	X(SUBSTITUTE_HEADER, substitute_header) \
	X(LOG, log) \
	X(TAG, tag)

#endif
