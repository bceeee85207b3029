/* Conformance: $POSTERN_CORPORA/dmarc-cases (see its PROVENANCE.md)
 * through our DMARC code.
 *
 * dmarc-cases.tsv, applicable kinds:
 *   record     the record is published at _dmarc.example.com in a DNS
 *              fixture and evaluated for From example.com: accepted means
 *              a pass/fail result, refused means none or permerror. The
 *              expectation is the source project's verdict (OpenDMARC
 *              parse codes, Mail::DMARC valid/invalid, authheaders and
 *              mail-auth parsed tags); for the mail-auth rows p, sp, np,
 *              adkim and aspf are compared too, and for authheaders p and
 *              sp. Mail::DMARC's "domain=X;" prefix is its artefact (named
 *              so in PROVENANCE.md) and is removed; its "unhandled
 *              upstream" rows carry no expectation and are not counted.
 *   alignment  pst_psl_aligned over the installed list.
 *   orgdomain  pst_psl_org_domain over the old OpenDMARC list snapshot the
 *              rows were written for (opendmarc-effective_tld_names.dat).
 * Not applicable here, and reported as such: from-domain rows (reading
 * the author domain from the From field is msg/author.c, pst_msg_author,
 * tested by tests/unit/test_author; pst_dmarc_evaluate takes the domain), and
 * tag-value rows (Mail::DMARC's setter checks of one tag, not a record
 * verdict); the tag-value rows are still run as "v=DMARC1; p=none; TAG"
 * records and their agreement printed, for information only.
 *
 * dmarc-scenarios.tsv: each row's DNS becomes a fixture, and the From
 * domain is evaluated with the row's SPF and DKIM outcomes; the per-
 * mechanism aligned result and the policy are compared.
 *
 * Prints "DMARC cases: a/b passed" and "DMARC scenarios: a/b passed";
 * fails on any failure not listed in dmarc-divergences.txt. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dmarc.h"
#include "util/buf.h"
#include "util/limits.h"
#include "conf.h"

struct tally {
	size_t pass, total, unexplained, na;
};

static char corpus[4096];

/* Report one case: ok, or a failure that must be listed. */
static void report(struct tally *t, conf_divergences *div, const char *what, const char *key,
                   int ok, const char *detail)
{
	const char *why;

	t->total++;
	if (ok) {
		t->pass++;
		return;
	}
	why = conf_divergence(div, key);
	if (why != NULL) {
		printf("# %s %s: %s (expected divergence: %s)\n", what, key, detail, why);
		return;
	}
	printf("# %s %s: %s UNEXPLAINED\n", what, key, detail);
	t->unexplained++;
}

/* TXT text as fixture character-strings: quoted, escaped, split. */
static void put_txt(pst_buf *z, const char *name, const char *text, size_t len)
{
	assert_int_equal(pst_buf_printf(z, "%s. TXT", name), 0);
	for (size_t i = 0; i == 0 || i < len; i += 200) {
		assert_int_equal(pst_buf_puts(z, " \""), 0);
		for (size_t j = i; j < len && j < i + 200; j++) {
			unsigned char c = (unsigned char)text[j];
			if (c == '"' || c == '\\')
				assert_int_equal(pst_buf_printf(z, "\\%c", c), 0);
			else if (c < 0x20 || c >= 0x7f)
				assert_int_equal(pst_buf_printf(z, "\\%03u", c), 0);
			else
				assert_int_equal(pst_buf_putc(z, (char)c), 0);
		}
		assert_int_equal(pst_buf_putc(z, '"'), 0);
	}
	assert_int_equal(pst_buf_putc(z, '\n'), 0);
}

struct world {
	pst_dnsfix *fix;
	pst_resolver *res;
	pst_arena *arena;
	const pst_psl *psl;
};

static void world_open(struct world *w, const pst_buf *zone, const pst_psl *psl)
{
	pst_buf err = PST_BUF_INIT;

	memset(w, 0, sizeof *w);
	if (pst_dnsfix_load_text("case.zone", pst_buf_str(zone), zone->len, &w->fix, &err) != 0)
		fail_msg("zone: %s\n%s", pst_buf_str(&err), pst_buf_str(zone));
	pst_buf_free(&err);
	assert_int_equal(pst_resolver_new_fixture(w->fix, &w->res), 0);
	w->arena = pst_arena_new();
	assert_non_null(w->arena);
	w->psl = psl;
}

static void world_close(struct world *w)
{
	pst_arena_free(&w->arena);
	pst_resolver_free(&w->res);
	pst_dnsfix_free(&w->fix);
}

static void world_eval(struct world *w, pst_dmarc_input *in, pst_dmarc_result *r)
{
	pst_dns_session dns;

	pst_dns_session_init(&dns, w->res, w->arena, 0, 0);
	assert_int_equal(pst_dmarc_evaluate(&dns, w->psl, in, w->arena, r), 0);
}

/* What our code makes of one published record. */
struct verdict {
	int accepted;
	pst_dmarc_result p, sp, np;   /* From example.com, sub. (exists), ghost.;
	                               * their strings die with the fixture */
	char reason[400];             /* p's reason, copied */
};

static void record_verdict(const pst_psl *psl, const char *rec, size_t len, struct verdict *v)
{
	pst_buf zone = PST_BUF_INIT;
	struct world w;
	pst_dmarc_input in;

	put_txt(&zone, "_dmarc.example.com", rec, len);
	assert_int_equal(pst_buf_puts(&zone, "sub.example.com. A 192.0.2.1\n"), 0);
	world_open(&w, &zone, psl);
	memset(&in, 0, sizeof in);
	in.from_domain = "example.com";
	world_eval(&w, &in, &v->p);
	in.from_domain = "sub.example.com";
	world_eval(&w, &in, &v->sp);
	in.from_domain = "ghost.example.com";
	world_eval(&w, &in, &v->np);
	v->accepted = v->p.result == PST_AR_PASS || v->p.result == PST_AR_FAIL;
	snprintf(v->reason, sizeof v->reason, "%s", v->p.reason ? v->p.reason : "");
	world_close(&w);
	pst_buf_free(&zone);
}

/* Join the character-strings of a presentation form "a" "b" into out. */
static size_t unquote(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	while (*s != '\0') {
		if (*s != '"') {
			s++;
			continue;
		}
		for (s++; *s != '\0' && *s != '"'; s++)
			if (n + 1 < cap)
				out[n++] = *s;
		if (*s == '"')
			s++;
	}
	out[n] = '\0';
	return n;
}

/* Expected acceptance from the row: 1, 0, or -1 (no expectation). */
static int expected_accept(const char *source, const char *expected)
{
	if (strncmp(source, "opendmarc:", 10) == 0)
		return strcmp(expected, "DMARC_PARSE_OKAY") == 0;
	if (strncmp(expected, "unhandled upstream", 18) == 0)
		return -1;
	if (strncmp(expected, "invalid", 7) == 0)
		return 0;
	return 1;
}

static const char *policy_name(pst_dmarc_policy p)
{
	return pst_dmarc_policy_name(p);
}

/* Find "name: Enum::Value" in a mail-auth struct dump; the Value, lower
 * case, into out; NULL when absent. */
static const char *rust_field(const char *dump, const char *name, char *out, size_t cap)
{
	char pat[32];
	const char *p, *v;
	size_t n = 0;

	snprintf(pat, sizeof pat, "%s: ", name);
	for (p = dump; (p = strstr(p, pat)) != NULL; p++)
		if (p == dump || p[-1] == ' ' || p[-1] == ',')
			break;
	if (p == NULL || (v = strstr(p, "::")) == NULL)
		return NULL;
	for (v += 2; n + 1 < cap && ((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z')); v++)
		out[n++] = (char)(*v >= 'A' && *v <= 'Z' ? *v + 32 : *v);
	out[n] = '\0';
	return out;
}

/* Find 'name': 'value' in a Python dict repr. */
static const char *py_field(const char *dump, const char *name, char *out, size_t cap)
{
	char pat[32];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof pat, "'%s': '", name);
	if ((p = strstr(dump, pat)) == NULL)
		return NULL;
	for (p += strlen(pat); *p != '\0' && *p != '\'' && n + 1 < cap; p++)
		out[n++] = *p;
	out[n] = '\0';
	return out;
}

/* Compare the parsed fields the row gives with ours; appends mismatches. */
static void compare_fields(const char *source, const char *expected, const struct verdict *v,
                           pst_buf *diff)
{
	char val[32];
	int rust = strncmp(source, "mail-auth:", 10) == 0;
	int py = strncmp(source, "authheaders:", 12) == 0;
	const struct { const char *tag; const pst_dmarc_result *r; } pol[] = {
		{ "p", &v->p }, { "sp", &v->sp }, { "np", &v->np },
	};

	if (!rust && !py)
		return;
	for (size_t i = 0; i < 3; i++) {
		const char *want = rust ? rust_field(expected, pol[i].tag, val, sizeof val)
		                        : py_field(expected, pol[i].tag, val, sizeof val);
		if (want != NULL && strcmp(want, policy_name(pol[i].r->published)) != 0)
			(void)pst_buf_printf(diff, " %s: got %s, want %s;", pol[i].tag,
			                     policy_name(pol[i].r->published), want);
	}
	if (!rust)
		return;
	if (rust_field(expected, "adkim", val, sizeof val) != NULL
	    && (strcmp(val, "strict") == 0) != v->p.strict_dkim)
		(void)pst_buf_printf(diff, " adkim: want %s;", val);
	if (rust_field(expected, "aspf", val, sizeof val) != NULL
	    && (strcmp(val, "strict") == 0) != v->p.strict_spf)
		(void)pst_buf_printf(diff, " aspf: want %s;", val);
}

/* The record text of a row: Mail::DMARC's "domain=X;" prefix removed,
 * a quoted presentation form joined. */
static const char *row_record(const char *source, const char *input, char *buf, size_t cap,
                              size_t *len)
{
	if (strncmp(source, "mail-dmarc:", 11) == 0 && strncmp(input, "domain=", 7) == 0) {
		const char *semi = strchr(input, ';');
		input = semi ? semi + 1 : input + strlen(input);
	}
	if (input[0] == '"') {
		*len = unquote(input, buf, cap);
		return buf;
	}
	*len = strlen(input);
	return input;
}

static void case_record(const pst_psl *psl, char **f, struct tally *t, conf_divergences *div)
{
	char key[8192], buf[4096], detail[600];
	struct verdict v;
	pst_buf diff = PST_BUF_INIT;
	size_t len = 0;
	int want = expected_accept(f[1], f[3]);
	const char *rec = row_record(f[1], f[2], buf, sizeof buf, &len);

	if (want < 0) {
		t->na++;
		return;
	}
	snprintf(key, sizeof key, "record:%s", f[2]);
	record_verdict(psl, rec, len, &v);
	if (v.accepted && want)
		compare_fields(f[1], f[3], &v, &diff);
	snprintf(detail, sizeof detail, "%s (%s), want %s%s",
	         v.accepted ? "accepted" : "refused", v.reason,
	         want ? "accepted" : "refused", pst_buf_str(&diff));
	report(t, div, "DMARC case", key, v.accepted == want && diff.len == 0, detail);
	pst_buf_free(&diff);
}

static void case_alignment(const pst_psl *psl, char **f, struct tally *t, conf_divergences *div)
{
	char in[1024], key[1100], detail[200];
	char *a = in, *b, *mode;

	snprintf(in, sizeof in, "%s", f[2]);
	if ((b = strchr(a, '|')) == NULL || (mode = strchr(b + 1, '|')) == NULL) {
		t->na++;
		return;
	}
	*b++ = '\0';
	*mode++ = '\0';
	int got = pst_psl_aligned(psl, a, b, strcmp(mode, "strict") == 0);
	int want = strcmp(f[3], "aligned") == 0;
	snprintf(key, sizeof key, "alignment:%s", f[2]);
	snprintf(detail, sizeof detail, "got %s, want %s", got ? "aligned" : "not-aligned", f[3]);
	report(t, div, "DMARC case", key, got == want, detail);
}

static void case_orgdomain(const pst_psl *old, char **f, struct tally *t, conf_divergences *div)
{
	char buf[PST_MAX_DOMAIN_BYTES + 1], key[1100], detail[600];
	const char *got = pst_psl_org_domain(old, f[2], buf, sizeof buf);

	snprintf(key, sizeof key, "orgdomain:%s", f[2]);
	snprintf(detail, sizeof detail, "got %s, want %s", got ? got : "(none)", f[3]);
	report(t, div, "DMARC case", key, got != NULL && strcmp(got, f[3]) == 0, detail);
}

/* tag-value rows, informational: is the tag, in a record that is
 * otherwise valid, accepted as Mail::DMARC's setter says? */
static int case_tag_value(const pst_psl *psl, char **f)
{
	char rec[2048];
	struct verdict v;
	int n;

	if (strncmp(f[2], "v=", 2) == 0)
		n = snprintf(rec, sizeof rec, "%s; p=none", f[2]);
	else if (strncmp(f[2], "p=", 2) == 0)
		n = snprintf(rec, sizeof rec, "v=DMARC1; %s", f[2]);
	else
		n = snprintf(rec, sizeof rec, "v=DMARC1; p=none; %s", f[2]);
	assert_true(n > 0 && (size_t)n < sizeof rec);
	record_verdict(psl, rec, (size_t)n, &v);
	if (v.accepted != (strcmp(f[3], "valid") == 0) && getenv("PST_CONF_VERBOSE") != NULL)
		printf("# tag-value %s: %s, Mail::DMARC %s\n", f[2], v.accepted ? "accepted" : "refused",
		       f[3]);
	return v.accepted == (strcmp(f[3], "valid") == 0);
}

static pst_psl *load_psl(const char *path)
{
	pst_psl *p = NULL;
	pst_buf err = PST_BUF_INIT;

	if (pst_psl_load_file(path, &p, &err) != 0)
		fail_msg("%s", pst_buf_str(&err));
	pst_buf_free(&err);
	return p;
}

static char *read_corpus(const char *file)
{
	char path[4200];
	char *text;

	snprintf(path, sizeof path, "%s/%s", corpus, file);
	text = conf_read_file(path, NULL);
	if (text == NULL)
		fail_msg("cannot read %s", path);
	return text;
}

static void dmarc_cases(void **state)
{
	(void)state;
	char oldpath[4200];
	struct tally t = { 0, 0, 0, 0 };
	size_t from_rows = 0, tv_rows = 0, tv_agree = 0;
	pst_psl *psl = load_psl(NULL), *old;
	conf_divergences *div = conf_divergences_load("dmarc-cases");
	char *text = read_corpus("dmarc-cases.tsv"), *save = NULL;

	snprintf(oldpath, sizeof oldpath, "%s/opendmarc-effective_tld_names.dat", corpus);
	old = load_psl(oldpath);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[5];
		if (line[0] == '#' || conf_split_tabs(line, f, 5) < 4)
			continue;
		if (strcmp(f[0], "record") == 0)
			case_record(psl, f, &t, div);
		else if (strcmp(f[0], "alignment") == 0)
			case_alignment(psl, f, &t, div);
		else if (strcmp(f[0], "orgdomain") == 0)
			case_orgdomain(old, f, &t, div);
		else if (strcmp(f[0], "from-domain") == 0)
			from_rows++;
		else if (strcmp(f[0], "tag-value") == 0) {
			tv_rows++;
			tv_agree += (size_t)case_tag_value(psl, f);
		}
	}
	printf("# DMARC cases: %zu/%zu passed (record, alignment, orgdomain rows; "
	       "%zu without an upstream expectation)\n", t.pass, t.total, t.na);
	printf("# DMARC cases: %zu from-domain rows not applicable (the author domain is read "
	       "by msg/author.c)\n", from_rows);
	printf("# DMARC cases: tag-value rows (informational, Mail::DMARC setter): %zu/%zu agree\n",
	       tv_agree, tv_rows);
	conf_divergences_unused(div);
	conf_divergences_free(div);
	pst_psl_free(&psl);
	pst_psl_free(&old);
	free(text);
	assert_true(t.total > 0);
	assert_int_equal(t.unexplained, 0);
}

/* --- dmarc-scenarios.tsv --- */

/* The row's dns column "NAME=TYPE:VALUE;..." (TXT values in {...}) as a
 * fixture zone. */
static void scenario_zone(const char *dns, pst_buf *z)
{
	const char *p = dns;

	while (*p != '\0') {
		const char *eq = strchr(p, '='), *colon, *end;
		if (eq == NULL || (colon = strchr(eq, ':')) == NULL)
			break;
		char name[300], type[16];
		snprintf(name, sizeof name, "%.*s", (int)(eq - p), p);
		snprintf(type, sizeof type, "%.*s", (int)(colon - eq - 1), eq + 1);
		if (colon[1] == '{') {
			end = strchr(colon, '}');
			assert_non_null(end);
			put_txt(z, name, colon + 2, (size_t)(end - colon - 2));
			end++;
		} else {
			end = strchr(colon, ';');
			if (end == NULL)
				end = colon + strlen(colon);
			assert_int_equal(pst_buf_printf(z, "%s. %s %.*s\n", name, type,
			                                (int)(end - colon - 1), colon + 1), 0);
		}
		p = *end == ';' ? end + 1 : end;
	}
}

/* Our per-mechanism word: pass (aligned), fail(not-aligned), none. */
static const char *mech(int passed, int aligned)
{
	if (!passed)
		return "none";
	return aligned ? "pass" : "fail(not-aligned)";
}

static void scenario(const pst_psl *psl, char **f, size_t nf, struct tally *t,
                     conf_divergences *div)
{
	pst_buf zone = PST_BUF_INIT, diff = PST_BUF_INIT;
	struct world w;
	pst_dmarc_input in;
	pst_dmarc_result r;
	const char *at = strchr(f[3], '@');
	const char *dkim_d[1];
	char key[64], detail[800];

	while (nf < 12)
		f[nf++] = "";
	scenario_zone(f[2], &zone);
	world_open(&w, &zone, psl);
	memset(&in, 0, sizeof in);
	in.from_domain = at ? at + 1 : f[3];
	in.spf = strcmp(f[5], "pass") == 0 ? PST_AR_PASS : strcmp(f[5], "fail") == 0 ? PST_AR_FAIL
	         : PST_AR_NONE;
	in.spf_domain = f[4][0] ? f[4] : NULL;
	if (f[6][0] && strcmp(f[7], "pass") == 0) {
		dkim_d[0] = f[6];
		in.dkim_pass_domains = dkim_d;
		in.ndkim_pass = 1;
	}
	world_eval(&w, &in, &r);
	if (f[8][0] && strcmp(f[8], mech(in.ndkim_pass > 0, r.dkim_aligned)) != 0)
		(void)pst_buf_printf(&diff, " dkim: got %s, want %s;",
		                     mech(in.ndkim_pass > 0, r.dkim_aligned), f[8]);
	if (f[9][0] && strcmp(f[9], mech(in.spf == PST_AR_PASS, r.spf_aligned)) != 0)
		(void)pst_buf_printf(&diff, " spf: got %s, want %s;",
		                     mech(in.spf == PST_AR_PASS, r.spf_aligned), f[9]);
	if (f[10][0] == '(') {
		if (r.result != PST_AR_NONE)
			(void)pst_buf_printf(&diff, " got dmarc=%s, want no record;",
			                     pst_auth_result_name(r.result));
	} else if (f[10][0] && (r.result == PST_AR_NONE
	                        || strcmp(f[10], policy_name(r.published)) != 0))
		(void)pst_buf_printf(&diff, " policy: got %s (dmarc=%s), want %s;",
		                     policy_name(r.published), pst_auth_result_name(r.result), f[10]);
	snprintf(key, sizeof key, "%s", f[0]);
	snprintf(detail, sizeof detail, "%s (%s)", diff.len ? pst_buf_str(&diff) : "ok",
	         r.reason ? r.reason : "");
	report(t, div, "DMARC scenario", key, diff.len == 0, detail);
	world_close(&w);
	pst_buf_free(&zone);
	pst_buf_free(&diff);
}

static void dmarc_scenarios(void **state)
{
	(void)state;
	struct tally t = { 0, 0, 0, 0 };
	pst_psl *psl = load_psl(NULL);
	conf_divergences *div = conf_divergences_load("dmarc-scenarios");
	char *text = read_corpus("dmarc-scenarios.tsv"), *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[12];
		size_t nf;
		if (line[0] == '#' || (nf = conf_split_tabs(line, f, 12)) < 4)
			continue;
		scenario(psl, f, nf, &t, div);
	}
	printf("# DMARC scenarios: %zu/%zu passed\n", t.pass, t.total);
	conf_divergences_unused(div);
	conf_divergences_free(div);
	pst_psl_free(&psl);
	free(text);
	assert_true(t.total > 0);
	assert_int_equal(t.unexplained, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dmarc_cases),
		cmocka_unit_test(dmarc_scenarios),
	};

	/* cmocka's TAP output writes a skip as "not ok # SKIP", which the
	 * automake driver counts as a failure: skip the whole plan instead. */
	if (conf_corpus_dir("dmarc-cases", corpus, sizeof corpus) == NULL) {
		printf("1..0 # SKIP DMARC cases: skipped (no corpus directory "
		       "$POSTERN_CORPORA/dmarc-cases)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
