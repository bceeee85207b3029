/*
 * libs.c: the process-wide auth library handles (libs.h), each made once
 * with pthread_once. Their memory is reachable until exit by design.
 */
#include "auth/libs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/live.h"
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

static pst_resolver *live;
static char live_error[200];
static pthread_once_t live_once = PTHREAD_ONCE_INIT;

/* POSTERN_DNS_SERVER=ADDR[@PORT] sends every live question to that server
 * instead of resolv.conf's: a local resolver, or an authoritative server
 * for test zones (the benchmarks point it at their NSD). Unset or empty:
 * resolv.conf. POSTERN_DNS_CACHE=N sizes the answer cache in front of
 * libunbound (N answers, 0 turns it off; unset, empty or not a number: the
 * default, PST_DNS_CACHE_DEFAULT_ENTRIES). Both are read once, when the
 * live resolver is made. */
static void make_live(void)
{
	char err[160] = "";
	const char *server = getenv("POSTERN_DNS_SERVER");
	pst_live_options o = { .forward = server && *server ? server : NULL, .resolv_conf = NULL };
	const char *cache = getenv("POSTERN_DNS_CACHE");
	if (cache && *cache) {
		char *end = NULL;
		errno = 0;
		unsigned long n = strtoul(cache, &end, 10);
		if (errno == 0 && end && *end == '\0' && cache[0] != '-' && n <= 10000000ul) {
			o.no_cache = n == 0;
			o.cache_entries = (size_t)n;
		}
	}
	if (pst_resolver_new_live(&o, &live, err, sizeof err) < 0)
		snprintf(live_error, sizeof live_error, "live DNS: %s", err);
}

const pst_resolver *pst_auth_live_resolver(const char **why)
{
	pthread_once(&live_once, make_live);
	if (live == NULL && why)
		*why = live_error;
	return live;
}
