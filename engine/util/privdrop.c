/*
 * privdrop.c: --user NAME of the servers (see privdrop.h). Owns nothing;
 * every failure is printed and returned, never half-ignored: a process
 * that cannot become the user, or that could become root again, fails.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/privdrop.h"

int pst_drop_privileges(const char *prog, const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		fprintf(stderr, "%s: --user %s: no such user\n", prog, user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "%s: --user %s: %s\n", prog, user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "%s: --user %s: privileges could be regained\n", prog, user);
		return -1;
	}
	return 0;
}
