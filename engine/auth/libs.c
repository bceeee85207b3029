/*
 * libs.c: the process-wide auth library handles (libs.h), made once with
 * pthread_once. Their memory is reachable until exit by design.
 */
#include "auth/libs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static pst_auth_libs libs;
static pthread_once_t libs_once = PTHREAD_ONCE_INIT;

static void make_psl(void)
{
	pst_buf errors = PST_BUF_INIT;
	pst_psl *psl = NULL;
	if (pst_psl_load_file(NULL, &psl, &errors) < 0)
		snprintf(libs.psl_error, sizeof libs.psl_error, "public suffix list: %s",
		         errors.len ? pst_buf_str(&errors) : "cannot be loaded");
	pst_buf_free(&errors);
	libs.psl = psl;
}

static void make_libs(void)
{
	pst_spf *spf = NULL;
	char err[160] = "";
	if (pst_spf_new(&spf, err, sizeof err) < 0)
		snprintf(libs.spf_error, sizeof libs.spf_error, "libspf2: %s", err);
	libs.spf = spf;
	pst_dkim *dkim = NULL;
	err[0] = '\0';
	if (pst_dkim_new(&dkim, err, sizeof err) < 0)
		snprintf(libs.dkim_error, sizeof libs.dkim_error, "libopendkim: %s", err);
	libs.dkim = dkim;
	make_psl();
}

const pst_auth_libs *pst_auth_libs_get(void)
{
	pthread_once(&libs_once, make_libs);
	return &libs;
}
