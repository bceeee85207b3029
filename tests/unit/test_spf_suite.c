/* The RFC 7208 conformance run: every test of the openspf/pyspf suite
 * ($POSTERN_CORPORA/spf-rfc7208-suite/rfc7208-tests.flat.tsv, format in
 * its PROVENANCE.md) through our DNS fixture layer and
 * pst_spf_check_mailfrom. Each scenario's zone becomes fixture text (the
 * suite's TIMEOUT rule becomes $TIMEOUT per type; the few lines the fixture
 * format cannot hold, names with '%', ':' or spaces, are answered by a
 * small overlay in front of it, and reported). A test
 * passes when our result is one of the results it accepts; explanations
 * are not compared (we do not fetch them). Judged by the harness of
 * tests/conformance/conf.h, run "spf-rfc7208-suite" (case:
 * SCENARIO/TEST): prints "# spf-rfc7208-suite: N/M agree (K listed
 * divergences)", fails on a disagreement not listed in
 * tests/conformance/divergences.txt and on a stale listing; skipped, and
 * saying so, without the corpus. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/spf.h"
#include "dns/resolver.h"
#include "util/buf.h"
#include "tests/conformance/conf.h"

#define MAX_FIELDS 16
#define MAX_LINE   8192

typedef struct dnsline {
	char *name;                /* as in the file */
	char *type;
	char *fields[MAX_FIELDS];
	size_t lens[MAX_FIELDS];
	int nfields;
} dnsline;

typedef struct scenario {
	dnsline *dns;
	size_t ndns, cap;
	unsigned char *dropped;    /* per line: the fixture could not hold it */
	const pst_dnsfix *fix;
} scenario;

/* Undo the flat file's C escapes in place; returns the new length. */
static size_t unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case 't': *w++ = '\t'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 'x':
			if (isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
				char hex[3] = { r[1], r[2], 0 };
				*w++ = (char)strtol(hex, NULL, 16);
				r += 2;
			}
			break;
		default: *w++ = *r; break;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Split a line at TABs into at most max fields (in place). */
static int split(char *line, char **f, size_t *lens, int max)
{
	int n = 0;
	char *p = line;
	while (n < max) {
		char *t = strchr(p, '\t');
		if (t)
			*t = '\0';
		f[n] = p;
		lens[n] = unescape(p);
		n++;
		if (!t)
			break;
		p = t + 1;
	}
	return n;
}

static void scenario_clear(scenario *sc)
{
	for (size_t i = 0; i < sc->ndns; i++) {
		free(sc->dns[i].name);
		free(sc->dns[i].type);
		for (int j = 0; j < sc->dns[i].nfields; j++)
			free(sc->dns[i].fields[j]);
	}
	sc->ndns = 0;
	free(sc->dropped);
	sc->dropped = NULL;
}

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void scenario_add(scenario *sc, char **f, size_t *lens, int n)
{
	if (sc->ndns == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 64;
		sc->dns = realloc(sc->dns, sc->cap * sizeof *sc->dns);
		assert_non_null(sc->dns);
	}
	dnsline *d = &sc->dns[sc->ndns++];
	memset(d, 0, sizeof *d);
	d->name = dupn(f[1], lens[1]);
	d->type = dupn(f[2], lens[2]);
	for (int i = 3; i < n && d->nfields < MAX_FIELDS; i++) {
		d->lens[d->nfields] = lens[i];
		d->fields[d->nfields++] = dupn(f[i], lens[i]);
	}
}

/* A character-string in fixture syntax: quoted, with \" \\ and \DDD. */
static void put_string(pst_buf *b, const char *s, size_t n)
{
	pst_buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			pst_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			pst_buf_printf(b, "\\%03u", c);
		else
			pst_buf_putc(b, (char)c);
	}
	pst_buf_putc(b, '"');
}

static void put_line(pst_buf *b, const dnsline *d)
{
	size_t nl = strlen(d->name);
	if (nl > 0 && d->name[nl - 1] == '.')
		nl--;
	pst_buf_printf(b, "%.*s. %s", (int)nl, d->name, d->type);
	if (strcmp(d->type, "TXT") == 0 || strcmp(d->type, "SPF") == 0) {
		if (d->nfields == 0)
			pst_buf_puts(b, " \"\"");
		for (int i = 0; i < d->nfields; i++) {
			pst_buf_putc(b, ' ');
			put_string(b, d->fields[i], d->lens[i]);
		}
	} else {
		for (int i = 0; i < d->nfields; i++) {
			const char *f = d->fields[i];
			size_t n = d->lens[i];
			int absname = strcmp(d->type, "A") != 0 && strcmp(d->type, "AAAA") != 0 &&
			              !(strcmp(d->type, "MX") == 0 && i == 0);
			pst_buf_printf(b, " %.*s%s", (int)n, f,
			               absname && (n == 0 || f[n - 1] != '.') ? "." : "");
		}
	}
	pst_buf_putc(b, '\n');
}

static const char *const types[] = { "A", "AAAA", "TXT", "SPF", "MX", "PTR", "CNAME", "NS" };

/* The scenario as fixture text, per PROVENANCE.md: for each name and type,
 * the lines of that type, unless a TIMEOUT line comes before the first. */
static void zone_text(const scenario *sc, pst_buf *b, const unsigned char *drop)
{
	for (size_t i = 0; i < sc->ndns; i++) {
		const char *name = sc->dns[i].name;
		int first = 1;
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(sc->dns[k].name, name) == 0)
				first = 0;
		if (!first)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
			int timed_out = 0, seen = 0;
			for (size_t j = i; j < sc->ndns; j++) {
				const dnsline *d = &sc->dns[j];
				if (strcasecmp(d->name, name) != 0)
					continue;
				if (strcmp(d->type, "TIMEOUT") == 0 && !seen)
					timed_out = 1;
				if (strcmp(d->type, types[t]) != 0 || timed_out)
					continue;
				seen = 1;
				if (!drop[j])
					put_line(b, d);
			}
			if (timed_out)
				pst_buf_printf(b, "$TIMEOUT %s. %s\n", name, types[t]);
		}
	}
}

/* Load the scenario's zone, dropping lines the fixture rejects. */
static pst_dnsfix *zone_load(scenario *sc, int *dropped)
{
	unsigned char *drop = calloc(sc->ndns + 1, 1);
	assert_non_null(drop);
	*dropped = 0;
	for (int round = 0; round < 50; round++) {
		pst_buf b = PST_BUF_INIT, errs = PST_BUF_INIT;
		zone_text(sc, &b, drop);
		pst_dnsfix *fix = NULL;
		int rc = pst_dnsfix_load_text("z", b.data ? b.data : "", b.len, &fix, &errs);
		if (rc == 0) {
			pst_buf_free(&b);
			pst_buf_free(&errs);
			free(sc->dropped);
			sc->dropped = drop;
			return fix;
		}
		/* "z:LINE:COL: msg": find the DNS line that produced LINE. */
		unsigned long bad = errs.data ? strtoul(errs.data + 2, NULL, 10) : 0;
		unsigned long line = 1;
		const char *p = b.data;
		for (; p && *p && line < bad; p++)
			if (*p == '\n')
				line++;
		int found = 0;
		for (size_t j = 0; p && j < sc->ndns && !found; j++) {
			if (drop[j])
				continue;
			pst_buf one = PST_BUF_INIT;
			put_line(&one, &sc->dns[j]);
			if (one.data && strncmp(p, one.data, one.len) == 0) {
				drop[j] = 1;
				found = 1;
				(*dropped)++;
			}
			pst_buf_free(&one);
		}
		pst_buf_free(&b);
		pst_buf_free(&errs);
		if (!found)
			break;
	}
	free(drop);
	return NULL;
}

/* The harness's own backend: the fixture, plus the A and MX lines of names
 * the fixture format cannot hold (':' '/' '%' or spaces), answered from
 * the suite's data as its reference harness does. */
static pst_dns_status overlay_query(void *impl, pst_arena *arena, const char *name, int rrtype,
                                    unsigned timeout_ms, pst_dns_answer *ans)
{
	const scenario *sc = impl;
	(void)timeout_ms;
	size_t hits = 0, named = 0;
	for (size_t i = 0; sc->dropped && i < sc->ndns; i++)
		if (sc->dropped[i] && strcasecmp(sc->dns[i].name, name) == 0) {
			named++;
			if (pst_dns_type_from_name(sc->dns[i].type, strlen(sc->dns[i].type)) == rrtype)
				hits++;
		}
	if (named == 0)
		return pst_dnsfix_query(sc->fix, name, rrtype, ans);
	memset(ans, 0, sizeof *ans);
	ans->rrtype = rrtype;
	snprintf(ans->name, sizeof ans->name, "%s", name);
	pst_dns_rr *rrs = hits ? pst_arena_calloc(arena, hits, sizeof *rrs) : NULL;
	size_t k = 0;
	for (size_t i = 0; rrs && i < sc->ndns; i++) {
		const dnsline *d = &sc->dns[i];
		if (!sc->dropped[i] || strcasecmp(d->name, name) != 0 ||
		    pst_dns_type_from_name(d->type, strlen(d->type)) != rrtype)
			continue;
		pst_dns_rr *rr = &rrs[k];
		rr->owner = ans->name;
		rr->type = rrtype;
		rr->ttl = 300;
		if ((rrtype == ns_t_a || rrtype == ns_t_aaaa) && d->nfields >= 1 &&
		    pst_ip_parse(d->fields[0], d->lens[0], &rr->addr) == 0)
			k++;
		else if (rrtype == ns_t_mx && d->nfields >= 2) {
			rr->pref = (uint16_t)atoi(d->fields[0]);
			rr->target = d->fields[1];
			k++;
		}
	}
	ans->rrs = k ? rrs : NULL;
	ans->count = k;
	return ans->status = k ? PST_DNS_NOERROR : PST_DNS_NODATA;
}

static const pst_resolver_ops overlay_ops = { overlay_query, NULL, "fixture+overlay" };

static int word_in(const char *word, const char *list)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		size_t m = strcspn(p, ",");
		if (m == n && strncmp(p, word, n) == 0)
			return 1;
		p += m;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void rfc7208_suite(void **state)
{
	(void)state;
	char dir[4096], path[4200];
	conf_corpus_require("spf-rfc7208-suite", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/rfc7208-tests.flat.tsv", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s", path);
	conf_run *run = conf_run_begin("spf-rfc7208-suite");

	pst_spf *spf = NULL;
	char err[128];
	assert_int_equal(pst_spf_new(&spf, err, sizeof err), 0);

	scenario sc = { NULL, 0, 0, NULL, NULL };
	pst_dnsfix *fix = NULL;
	pst_resolver *res = NULL;
	char cur[16] = "";
	static char line[MAX_LINE];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *fl[MAX_FIELDS + 4];
		size_t lens[MAX_FIELDS + 4];
		int n = split(line, fl, lens, MAX_FIELDS + 4);
		if (strcmp(fl[0], "SCENARIO") == 0) {
			scenario_clear(&sc);
			pst_resolver_free(&res);
			pst_dnsfix_free(&fix);
			snprintf(cur, sizeof cur, "%s", n > 1 ? fl[1] : "?");
		} else if (strcmp(fl[0], "DNS") == 0 && n >= 3) {
			scenario_add(&sc, fl, lens, n);
		} else if (strcmp(fl[0], "TEST") == 0 && n >= 8) {
			if (fix == NULL) {
				int dropped = 0;
				fix = zone_load(&sc, &dropped);
				if (fix == NULL)
					fail_msg("scenario %s: zone does not load", cur);
				if (dropped)
					printf("# scenario %s: %d DNS lines the fixture cannot hold\n", cur,
					       dropped);
				sc.fix = fix;
				assert_int_equal(pst_resolver_new(&overlay_ops, &sc, &res), 0);
			}
			char id[256], detail[600];
			snprintf(id, sizeof id, "%s/%s", fl[1], fl[2]);
			pst_arena *a = pst_arena_new();
			assert_non_null(a);
			pst_dns_session s;
			pst_dns_session_init(&s, res, a, 0, 0);
			pst_ip ip;
			memset(&ip, 0, sizeof ip);
			if (pst_ip_parse(fl[4], lens[4], &ip) != 0)
				memset(&ip, 0, sizeof ip);
			pst_spf_result r;
			assert_int_equal(pst_spf_check_mailfrom(spf, &s, &ip, fl[5], fl[6], a, &r), 0);
			const char *got = pst_auth_result_name(r.result);
			snprintf(detail, sizeof detail, "got %s, want %s (%s)", got, fl[7],
			         r.reason ? r.reason : "");
			conf_case(run, id, word_in(got, fl[7]), detail);
			pst_arena_free(&a);
		}
	}
	fclose(f);
	scenario_clear(&sc);
	free(sc.dns);
	pst_resolver_free(&res);
	pst_dnsfix_free(&fix);
	pst_spf_free(&spf);
	size_t total = conf_run_total(run);
	size_t failures = conf_run_end(run);
	assert_int_equal(total, 203);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc7208_suite),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
