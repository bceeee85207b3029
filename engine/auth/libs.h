/*
 * libs.h: the process-wide handles of the auth libraries, made once.
 *
 * libspf2's server, libopendkim's library handle and the Public Suffix
 * List are expensive to make and safe to share between
 * threads once made, so there is one of each per process, created on
 * first use (pthread_once) and kept until exit. A handle that cannot be
 * made is NULL and its reason is kept: the facts that need it then read
 * temperror, with the reason as a warning; nothing aborts.
 */
#ifndef PST_AUTH_LIBS_H
#define PST_AUTH_LIBS_H

#include "auth/dkim.h"
#include "auth/psl.h"
#include "auth/spf.h"

typedef struct pst_auth_libs {
	const pst_spf *spf;
	const pst_dkim *dkim;
	const pst_psl *psl;
	char spf_error[200], dkim_error[200], psl_error[200];
} pst_auth_libs;

/* The handles, made on the first call. Never NULL. Borrowed. */
const pst_auth_libs *pst_auth_libs_get(void);

#endif
