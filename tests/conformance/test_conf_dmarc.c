/* Conformance: $POSTERN_CORPORA/dmarc-cases (see its PROVENANCE.md)
 * through our DMARC code, judged by the harness of conf.h against
 * tests/conformance/divergences.txt.
 *
 * dmarc-cases.tsv, run "dmarc-cases" (case: KIND:INPUT):
 *   record     the record is published at _dmarc.example.com in a DNS
 *              fixture and evaluated for From example.com: accepted means
 *              a pass/fail result, refused means none or permerror. The
 *              expectation is the source project's verdict (OpenDMARC
 *              parse codes, Mail::DMARC valid/invalid, authheaders and
 *              mail-auth parsed tags); for the mail-auth rows p, sp, np,
 *              adkim and aspf are compared too, and for authheaders p and
 *              sp. Mail::DMARC's "domain=X;" prefix is its artefact (named
 *              so in PROVENANCE.md) and is removed; its "unhandled
 *              upstream" rows carry no expectation and are not counted
 *              (their number is printed).
 *   alignment  pst_psl_aligned over the installed list.
 *   orgdomain  pst_psl_org_domain over the old OpenDMARC list snapshot the
 *              rows were written for (opendmarc-effective_tld_names.dat).
 * Run "dmarc-cases/tag-value" (case: INPUT): Mail::DMARC's setter checks
 *   of one tag=value, valid or invalid. The tag is put in an otherwise
 *   valid record ("v=DMARC1; p=none; TAG=VALUE") and we say it is valid
 *   when the record is accepted and: for a tag we do not read (rua, ruf,
 *   fo, rf, ri, and tags RFC 7489 does not define), nothing more; for a tag
 *   we read (p, sp, np, adkim, aspf, pct), written in its canonical
 *   spelling (a policy name, r or s, digits), when we read that value; in
 *   any other spelling, when it changed what we read from the record
 *   without it (we took it somehow, e.g. "adkim=strict" as s).
 * Run "dmarc-cases/from-domain" (case: INPUT): the row's From value as
 *   the From field of a message (a value that starts with "From:" is the
 *   whole field), read by pst_msg_author (msg/author.h): the author domain
 *   must be the expected one, and where the row expects none ("(none:
 *   reject)"), pst_msg_author must find no readable author.
 *
 * dmarc-scenarios.tsv, run "dmarc-scenarios" (case: row id): each row's
 * DNS becomes a fixture, and the From domain is evaluated with the row's
 * SPF and DKIM outcomes; the per-mechanism aligned result and the policy
 * are compared.
 *
 * Each run prints its count line and fails on an unlisted disagreement or
 * a stale listing; without the corpus each test is skipped and says so. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "auth/psl.h"
#include "msg/author.h"
#include "msg/msg.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/limits.h"
#include "conf.h"

static char corpus[4096];

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
};

static void world_open(struct world *w, const pst_buf *zone)
{
	pst_buf err = PST_BUF_INIT;

	memset(w, 0, sizeof *w);
	if (pst_dnsfix_load_text("case.zone", pst_buf_str(zone), zone->len, &w->fix, &err) != 0)
		fail_msg("zone: %s\n%s", pst_buf_str(&err), pst_buf_str(zone));
	pst_buf_free(&err);
	assert_int_equal(pst_resolver_new_fixture(w->fix, &w->res), 0);
	w->arena = pst_arena_new();
	assert_non_null(w->arena);
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
	assert_int_equal(pst_dmarc_evaluate(&dns, in, w->arena, r), 0);
}

/* What our code makes of one published record. */
struct verdict {
	int accepted;
	pst_dmarc_result p, sp, np;   /* From example.com, sub. (exists), ghost.;
	                               * their strings die with the fixture */
	char reason[400];             /* p's reason, copied */
};

static void record_verdict(const char *rec, size_t len, struct verdict *v)
{
	pst_buf zone = PST_BUF_INIT;
	struct world w;
	pst_dmarc_input in;

	put_txt(&zone, "_dmarc.example.com", rec, len);
	assert_int_equal(pst_buf_puts(&zone, "sub.example.com. A 192.0.2.1\n"), 0);
	world_open(&w, &zone);
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

static void case_record(char **f, conf_run *run, size_t *na)
{
	char key[8192], buf[4096], detail[600];
	struct verdict v;
	pst_buf diff = PST_BUF_INIT;
	size_t len = 0;
	int want = expected_accept(f[1], f[3]);
	const char *rec = row_record(f[1], f[2], buf, sizeof buf, &len);

	if (want < 0) {
		(*na)++;
		return;
	}
	snprintf(key, sizeof key, "record:%s", f[2]);
	record_verdict(rec, len, &v);
	if (v.accepted && want)
		compare_fields(f[1], f[3], &v, &diff);
	snprintf(detail, sizeof detail, "%s (%s), want %s%s",
	         v.accepted ? "accepted" : "refused", v.reason,
	         want ? "accepted" : "refused", pst_buf_str(&diff));
	conf_case(run, key, v.accepted == want && diff.len == 0, detail);
	pst_buf_free(&diff);
}

static void case_alignment(const pst_psl *psl, char **f, conf_run *run, size_t *na)
{
	char in[1024], key[1100], detail[200];
	char *a = in, *b, *mode;

	snprintf(in, sizeof in, "%s", f[2]);
	if ((b = strchr(a, '|')) == NULL || (mode = strchr(b + 1, '|')) == NULL) {
		(*na)++;
		return;
	}
	*b++ = '\0';
	*mode++ = '\0';
	int got = pst_psl_aligned(psl, a, b, strcmp(mode, "strict") == 0);
	int want = strcmp(f[3], "aligned") == 0;
	snprintf(key, sizeof key, "alignment:%s", f[2]);
	snprintf(detail, sizeof detail, "got %s, want %s", got ? "aligned" : "not-aligned", f[3]);
	conf_case(run, key, got == want, detail);
}

static void case_orgdomain(const pst_psl *old, char **f, conf_run *run)
{
	char buf[PST_MAX_DOMAIN_BYTES + 1], key[1100], detail[600];
	const char *got = pst_psl_org_domain(old, f[2], buf, sizeof buf);

	snprintf(key, sizeof key, "orgdomain:%s", f[2]);
	snprintf(detail, sizeof detail, "got %s, want %s", got ? got : "(none)", f[3]);
	conf_case(run, key, got != NULL && strcmp(got, f[3]) == 0, detail);
}

/* --- tag-value rows --- */

/* A record holding the row's tag=value, otherwise valid, into rec. */
static size_t tag_record(const char *row, char *rec, size_t cap)
{
	int n;

	if (strncmp(row, "v=", 2) == 0)
		n = snprintf(rec, cap, "%s; p=none", row);
	else if (strncmp(row, "p=", 2) == 0)
		n = snprintf(rec, cap, "v=DMARC1; %s", row);
	else
		n = snprintf(rec, cap, "v=DMARC1; p=none; %s", row);
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* What we read from an accepted record for tag, as text into buf; NULL
 * for a tag we do not read. */
static const char *tag_reading(const char *tag, const struct verdict *v, char *buf, size_t cap)
{
	if (strcmp(tag, "p") == 0)
		return policy_name(v->p.published);
	if (strcmp(tag, "sp") == 0)
		return policy_name(v->sp.published);
	if (strcmp(tag, "np") == 0)
		return policy_name(v->np.published);
	if (strcmp(tag, "adkim") == 0)
		return v->p.strict_dkim ? "s" : "r";
	if (strcmp(tag, "aspf") == 0)
		return v->p.strict_spf ? "s" : "r";
	if (strcmp(tag, "t") == 0)
		return v->p.testing ? "y" : "n";
	if (strcmp(tag, "psd") == 0) {
		snprintf(buf, cap, "%c", v->p.psd);
		return buf;
	}
	return NULL;
}

/* The value in its canonical spelling for tag (lower case; pct without
 * leading zeros) into buf, or NULL when it is spelt otherwise. */
static const char *tag_canonical(const char *tag, const char *value, char *buf, size_t cap)
{
	static const char *const policies[] = { "none", "quarantine", "reject", NULL };
	static const char *const modes[] = { "r", "s", NULL };
	const char *const *words = NULL;

	static const char *const yorn[] = { "y", "n", NULL };
	static const char *const psd[] = { "y", "n", "u", NULL };

	(void)buf;
	(void)cap;
	if (strcmp(tag, "p") == 0 || strcmp(tag, "sp") == 0 || strcmp(tag, "np") == 0)
		words = policies;
	else if (strcmp(tag, "adkim") == 0 || strcmp(tag, "aspf") == 0)
		words = modes;
	else if (strcmp(tag, "t") == 0)
		words = yorn;
	else if (strcmp(tag, "psd") == 0)
		words = psd;
	for (size_t i = 0; words != NULL && words[i] != NULL; i++)
		if (strcasecmp(value, words[i]) == 0)
			return words[i];
	return NULL;
}

/* The records a non-canonical spelling is tried in: each base alone and
 * with the row after it. For sp and np the bases move the fallback (p)
 * off "none", so that a value read as the default still shows. For
 * adkim, aspf, t and psd the base is the default alone: an invalid value
 * after a valid one resets the tag to its default (RFC 9989 4.8: syntax
 * errors give defaults; the later term wins), which is no reading of the
 * invalid value, so only a change from the default counts. */
static const char *const *tag_bases(const char *tag)
{
	static const char *const policies[] = { "v=DMARC1; p=quarantine", "v=DMARC1; p=reject",
	                                        NULL };
	static const char *const flags[] = { "v=DMARC1; p=none", NULL };

	if (strcmp(tag, "adkim") == 0 || strcmp(tag, "aspf") == 0 || strcmp(tag, "t") == 0
	    || strcmp(tag, "psd") == 0)
		return flags;
	return policies;
}

/* A non-canonical spelling of a tag we read: whether it changes what we
 * read from some base record; what we read into ours. */
static int tag_took_effect(const char *tag, const char *row, char *ours,
                           size_t cap)
{
	const char *const *bases = tag_bases(tag);
	char rec[2048], abuf[32], bbuf[32];
	int took = 0;
	size_t used = 0;

	for (size_t i = 0; bases[i] != NULL; i++) {
		struct verdict base, with;
		int n = snprintf(rec, sizeof rec, "%s", bases[i]);
		const char *a, *b;

		record_verdict(rec, (size_t)n, &base);
		n = snprintf(rec, sizeof rec, "%s; %s", bases[i], row);
		assert_true(n > 0 && (size_t)n < sizeof rec);
		record_verdict(rec, (size_t)n, &with);
		assert_true(base.accepted);
		a = with.accepted ? tag_reading(tag, &with, abuf, sizeof abuf) : "(refused)";
		b = tag_reading(tag, &base, bbuf, sizeof bbuf);
		took |= strcmp(a, b) != 0;
		if (used < cap)
			used += (size_t)snprintf(ours + used, cap - used, "%sreads %s=%s after \"%s\" (%s "
			                         "without it)", i ? ", " : "", tag, a, bases[i], b);
	}
	return took;
}

/* Whether we take the row's tag=value as valid (the rule is in the file
 * comment); what we do into ours. */
static int tag_value_ours(const char *row, char *ours, size_t cap)
{
	char rec[2048], tag[32], rbuf[32], cbuf[32];
	const char *eq = strchr(row, '='), *reading, *canon;
	struct verdict v;
	size_t len = tag_record(row, rec, sizeof rec);

	assert_non_null(eq);
	snprintf(tag, sizeof tag, "%.*s", (int)(eq - row), row);
	record_verdict(rec, len, &v);
	if (!v.accepted) {
		snprintf(ours, cap, "record refused (%s)", v.reason);
		return 0;
	}
	reading = tag_reading(tag, &v, rbuf, sizeof rbuf);
	if (reading == NULL) {
		snprintf(ours, cap, "record accepted, %s= not read", tag);
		return 1;
	}
	canon = tag_canonical(tag, eq + 1, cbuf, sizeof cbuf);
	if (canon != NULL) {
		snprintf(ours, cap, "reads %s=%s", tag, reading);
		return strcmp(reading, canon) == 0;
	}
	if (strcmp(tag, "p") == 0) {
		snprintf(ours, cap, "reads p=%s", reading);
		return 1;               /* without p the record is refused */
	}
	return tag_took_effect(tag, row, ours, cap);
}

static void case_tag_value(char **f, conf_run *run)
{
	char ours[600], detail[800];
	int valid = tag_value_ours(f[2], ours, sizeof ours);

	snprintf(detail, sizeof detail, "%s: %s, want %s", ours, valid ? "valid" : "invalid", f[3]);
	conf_case(run, f[2], valid == (strcmp(f[3], "valid") == 0), detail);
}

/* --- from-domain rows --- */

/* The row's From value read as a message's From field by pst_msg_author. */
static void case_from_domain(char **f, conf_run *run)
{
	pst_buf text = PST_BUF_INIT;
	pst_msg *m = NULL;
	pst_msg_error err;
	pst_author au;
	pst_arena *a = pst_arena_new();
	char got[400], detail[800];
	int want_none = strncmp(f[3], "(none", 5) == 0, agrees;

	assert_non_null(a);
	assert_int_equal(pst_buf_printf(&text, "%s%s\r\n\r\n",
	                                strncasecmp(f[2], "From:", 5) == 0 ? "" : "From: ", f[2]), 0);
	if (pst_msg_parse(text.data, text.len, NULL, &m, &err) != 0) {
		snprintf(got, sizeof got, "(no message: %s)", err.text);
		agrees = 0;
	} else {
		assert_int_equal(pst_msg_author(m, a, &au), 0);
		if (au.error != NULL)
			snprintf(got, sizeof got, "(none: %s)", au.error);
		else
			snprintf(got, sizeof got, "%s", au.domain);
		agrees = want_none ? au.error != NULL
		                   : au.error == NULL && strcmp(au.domain, f[3]) == 0;
	}
	snprintf(detail, sizeof detail, "author domain %s, want %s", got, f[3]);
	conf_case(run, f[2], agrees, detail);
	pst_msg_free(&m);
	pst_arena_free(&a);
	pst_buf_free(&text);
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
	size_t na = 0, failures;
	pst_psl *psl, *old;
	conf_run *cases, *tags, *froms;
	char *text, *save = NULL;

	conf_corpus_require("dmarc-cases", corpus, sizeof corpus);
	psl = load_psl(NULL);
	snprintf(oldpath, sizeof oldpath, "%s/opendmarc-effective_tld_names.dat", corpus);
	old = load_psl(oldpath);
	text = read_corpus("dmarc-cases.tsv");
	cases = conf_run_begin("dmarc-cases");
	tags = conf_run_begin("dmarc-cases/tag-value");
	froms = conf_run_begin("dmarc-cases/from-domain");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[5];
		if (line[0] == '#' || conf_split_tabs(line, f, 5) < 4)
			continue;
		if (strcmp(f[0], "record") == 0)
			case_record(f, cases, &na);
		else if (strcmp(f[0], "alignment") == 0)
			case_alignment(psl, f, cases, &na);
		else if (strcmp(f[0], "orgdomain") == 0)
			case_orgdomain(old, f, cases);
		else if (strcmp(f[0], "from-domain") == 0)
			case_from_domain(f, froms);
		else if (strcmp(f[0], "tag-value") == 0)
			case_tag_value(f, tags);
		else
			fail_msg("dmarc-cases.tsv: unknown kind %s", f[0]);
	}
	printf("# dmarc-cases: %zu rows without an upstream expectation, not counted\n", na);
	assert_true(conf_run_total(cases) > 0 && conf_run_total(tags) > 0
	            && conf_run_total(froms) > 0);
	failures = conf_run_end(cases);
	failures += conf_run_end(tags);
	failures += conf_run_end(froms);
	pst_psl_free(&psl);
	pst_psl_free(&old);
	free(text);
	assert_int_equal(failures, 0);
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

static void scenario(char **f, size_t nf, conf_run *run)
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
	world_open(&w, &zone);
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
	conf_case(run, key, diff.len == 0, detail);
	world_close(&w);
	pst_buf_free(&zone);
	pst_buf_free(&diff);
}

static void dmarc_scenarios(void **state)
{
	(void)state;
	conf_run *run;
	char *text, *save = NULL;
	size_t total, failures;

	conf_corpus_require("dmarc-cases", corpus, sizeof corpus);
	text = read_corpus("dmarc-scenarios.tsv");
	run = conf_run_begin("dmarc-scenarios");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[12];
		size_t nf;
		if (line[0] == '#' || (nf = conf_split_tabs(line, f, 12)) < 4)
			continue;
		scenario(f, nf, run);
	}
	total = conf_run_total(run);
	failures = conf_run_end(run);
	free(text);
	assert_true(total > 0);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dmarc_cases),
		cmocka_unit_test(dmarc_scenarios),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
