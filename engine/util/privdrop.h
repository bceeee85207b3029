/*
 * privdrop.h: --user NAME of the servers (postern lmtp, postern milter):
 * give up root for that user's uid, gid and groups (privdrop.c).
 */
#ifndef PST_UTIL_PRIVDROP_H
#define PST_UTIL_PRIVDROP_H

/* Become user (its groups, gid, then uid) and check that root cannot be
 * regained. 0, or -1 after printing why to stderr, prefixed with prog
 * ("postern lmtp"). */
int pst_drop_privileges(const char *prog, const char *user);

#endif
