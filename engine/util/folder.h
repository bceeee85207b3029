/*
 * folder.h: the one rule for a quarantine folder name, shared by the rule
 * checker (lang/actions/act_quarantine.c: an error at compile time) and
 * the deliverers (engine/deliver: "unsafe folder name" at delivery).
 *
 * Contract: a name is ".NAME" or "NAME" (the Maildir++ dot is optional);
 * NAME is 1 to PST_DELIVER_MAX_FOLDER octets of letters, digits, '-', '_'
 * and '.' between names (".Quarantine.Spam"): no leading or trailing dot
 * and no "..", no space, no '/', nothing outside ASCII. So it is one
 * directory under a Maildir and fits an address's local part (the relay's
 * user+NAME).
 */
#ifndef PST_UTIL_FOLDER_H
#define PST_UTIL_FOLDER_H

#include <stddef.h>

/* Check folder (borrowed, NUL-terminated). NULL when safe, else a static
 * text saying what is wrong ("a space", "too long", ...). */
const char *pst_folder_name_problem(const char *folder);

#endif
