/*
 * Conformance of engine/auth/authres against the shared corpus
 * $POSTERN_CORPORA/authres-headers/authres-cases.jsonl (see its
 * PROVENANCE.md): for every case, parse success must agree with
 * upstream_expects_error, and every upstream assertion of a form we can
 * evaluate (python-authres "str(arobj....) == '...'" and dkim_verifier
 * "res.... == ..." expressions) must hold for our parse: run
 * "authres-headers" (case: the case id) of the harness in
 * tests/conformance/conf.h.
 *
 * The tolerant reader (pst_authres_salvage) is held to the lenient
 * cross-check of each case, Mail::AuthenticationResults: where that one
 * read the header, the spf, dkim and dmarc results, in order, must be
 * the same ("?" for a method whose result is missing): run
 * "authres-headers/salvage" (case: the case id). These are the only
 * methods postern turns into facts.
 *
 * Each run prints "# RUN: N/M agree (K listed divergences)" and fails on
 * a disagreement not listed in tests/conformance/divergences.txt and on a
 * stale listing. No corpus: the test is skipped, and says so.
 *
 * Each line (at most MAX_LINE bytes) is read with the project's JSON
 * reader, cli/json.h.
 */
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

#include "auth/authres.h"
#include "cli/json.h"
#include "util/arena.h"
#include "util/buf.h"
#include "tests/conformance/conf.h"

#define MAX_LINE        (1024 * 1024)
#define MAX_ASSERTIONS  64

/* One corpus line, the fields we use. */
struct ar_case {
	long id;
	pst_buf header;
	int expects_error;
	pst_buf assertions[MAX_ASSERTIONS];
	size_t nassertions;
	int has_lenient;        /* the lenient cross-check read the header */
	pst_buf lenient;        /* its spf/dkim/dmarc results: "dkim=pass spf=?" */
};

/* JSON lines. */

#define LENIENT_KEY "crosscheck_perl_Mail_AuthenticationResults_2.20230112"

static int is_str(const pst_jval *v)
{
	return v != NULL && v->type == PST_JSTR;
}

/* Whether method is one postern turns into an authres.* fact. */
static int fact_method(const char *m)
{
	return strcasecmp(m, "spf") == 0 || strcasecmp(m, "dkim") == 0 ||
	       strcasecmp(m, "dmarc") == 0;
}

/* " method=result" into b, lower case, "?" for a missing result, when
 * method is a fact method. 0 / -1. */
static int put_method(pst_buf *b, const char *method, const char *result)
{
	if (!fact_method(method))
		return 0;
	if (b->len > 0 && pst_buf_putc(b, ' ') < 0)
		return -1;
	for (const char *p = method; *p; p++)
		if (pst_buf_putc(b, (char)tolower((unsigned char)*p)) < 0)
			return -1;
	if (pst_buf_putc(b, '=') < 0)
		return -1;
	if (result == NULL || *result == '\0')
		return pst_buf_putc(b, '?');
	for (const char *p = result; *p; p++)
		if (pst_buf_putc(b, (char)tolower((unsigned char)*p)) < 0)
			return -1;
	return 0;
}

/* The upstream assertions: an array of strings. 0 / -1. */
static int read_assertions(const pst_jval *v, struct ar_case *c)
{
	if (v->type != PST_JARR || v->nkids > MAX_ASSERTIONS)
		return -1;
	for (size_t i = 0; i < v->nkids; i++) {
		const pst_jval *a = &v->kids[i];
		if (!is_str(a) || pst_buf_append(&c->assertions[c->nassertions++], a->text, a->len) < 0)
			return -1;
	}
	return 0;
}

/* The lenient cross-check: an object whose "results" are objects with a
 * "method" and a "result" (strings when present), or an error string
 * (ignored). 0 / -1. */
static int read_lenient(const pst_jval *v, struct ar_case *c)
{
	const pst_jval *results = pst_json_get(v, "results");

	if (v->type != PST_JOBJ || results == NULL)
		return 0;
	if (results->type != PST_JARR)
		return -1;
	c->has_lenient = 1;
	for (size_t i = 0; i < results->nkids; i++) {
		const pst_jval *r = &results->kids[i];
		const pst_jval *method = pst_json_get(r, "method"), *result = pst_json_get(r, "result");
		if (r->type != PST_JOBJ || (method && !is_str(method)) || (result && !is_str(result)))
			return -1;
		if (put_method(&c->lenient, method ? method->text : "", result ? result->text : "") < 0)
			return -1;
	}
	return 0;
}

/* One line into c: "id" (a number > 0) and "header" required. 0 / -1. */
static int parse_line(const char *line, size_t n, struct ar_case *c)
{
	pst_jval *root = NULL;
	int rc = -1;

	if (pst_json_parse(line, n, &root) < 0)
		return -1;
	const pst_jval *id = pst_json_get(root, "id"), *header = pst_json_get(root, "header");
	const pst_jval *err = pst_json_get(root, "upstream_expects_error");
	const pst_jval *as = pst_json_get(root, "upstream_assertions");
	const pst_jval *lenient = pst_json_get(root, LENIENT_KEY);
	if (id == NULL || id->type != PST_JNUM || !is_str(header) ||
	    pst_buf_append(&c->header, header->text, header->len) < 0)
		goto out;
	c->id = strtol(id->text, NULL, 10);
	if (err != NULL) {
		if (err->type != PST_JBOOL)
			goto out;
		c->expects_error = strcmp(err->text, "true") == 0;
	}
	if (as != NULL && read_assertions(as, c) < 0)
		goto out;
	if (lenient != NULL && read_lenient(lenient, c) < 0)
		goto out;
	rc = c->id > 0 ? 0 : -1;
out:
	pst_json_free(&root);
	return rc;
}

/* Assertions. */

/* python-authres's str() of one result: "method=result reason="..." p.n=v". */
static void py_result_str(const pst_authres_result *r, pst_buf *b)
{
	assert_int_equal(pst_buf_printf(b, "%s=%s", r->method, r->result), 0);
	if (r->reason != NULL)
		assert_int_equal(pst_buf_printf(b, " reason=\"%s\"", r->reason), 0);
	for (size_t j = 0; j < r->nprops; j++)
		assert_int_equal(pst_buf_printf(b, " %s.%s=%s", r->props[j].ptype,
						r->props[j].property, r->props[j].value), 0);
}

static const char *prop_value(const pst_authres_result *r, const char *ptype, size_t tn,
			      const char *prop)
{
	for (size_t j = 0; j < r->nprops; j++)
		if (strlen(r->props[j].ptype) == tn && strncmp(r->props[j].ptype, ptype, tn) == 0 &&
		    strcmp(r->props[j].property, prop) == 0)
			return r->props[j].value;
	return NULL;
}

/* Read "[N]" at *p. */
static int read_index(const char **p, size_t *out)
{
	char *end;

	if (**p != '[')
		return -1;
	*out = strtoul(*p + 1, &end, 10);
	if (end == *p + 1 || *end != ']')
		return -1;
	*p = end + 1;
	return 0;
}

/* The Python or JS literal on the right into b. */
static int read_literal(const char *s, pst_buf *b)
{
	char q = s[0];

	if (q != '\'' && q != '"') {
		for (; *s != '\0'; s++)
			if (!isdigit((unsigned char)*s))
				return -1;
		return 0;
	}
	for (s++; *s != '\0' && *s != q; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		if (pst_buf_putc(b, *s) < 0)
			return -1;
	}
	return *s == q && s[1] == '\0' ? 0 : -1;
}

/* Evaluate the left side against ar into got; 0, or -1 when the form is
 * one we do not know (the assertion is then not checked). "None" stands
 * for Python's None, "undefined" for an absent JS member. */
static int eval_lhs(const char *lhs, const pst_authres *ar, pst_buf *got)
{
	const pst_authres_result *r = NULL;
	const char *p, *v;
	size_t i, k;
	int py;

	if (strncmp(lhs, "str(arobj.", 10) == 0 && lhs[strlen(lhs) - 1] == ')') {
		py = 1;
		p = lhs + 10;
	} else if (strncmp(lhs, "res.", 4) == 0) {
		py = 0;
		p = lhs + 4;
	} else {
		return -1;
	}
	if (strncmp(p, "authserv_id", 11) == 0 && (p[11] == ')' || p[11] == '\0'))
		return pst_buf_puts(got, ar->authserv_id);
	if (!py && strcmp(p, "authres_version") == 0)
		return pst_buf_printf(got, "%d", ar->version);
	if (!py && strcmp(p, "resinfo.length") == 0)
		return pst_buf_printf(got, "%zu", ar->nresults);
	if (strncmp(p, py ? "results" : "resinfo", 7) != 0)
		return -1;
	p += 7;
	if (read_index(&p, &i) < 0)
		return -1;
	if (i >= ar->nresults)
		return pst_buf_puts(got, py ? "IndexError" : "undefined");
	r = &ar->results[i];
	if (py && strcmp(p, ")") == 0) {
		py_result_str(r, got);
		return 0;
	}
	if (*p++ != '.')
		return -1;
	if (strncmp(p, "method", 6) == 0 && strcmp(p + 6, py ? ")" : "") == 0)
		return pst_buf_puts(got, r->method);
	if (strncmp(p, "result", 6) == 0 && strcmp(p + 6, py ? ")" : "") == 0)
		return pst_buf_puts(got, r->result);
	if (strncmp(p, "reason", 6) == 0 && strcmp(p + 6, py ? ")" : "") == 0)
		return pst_buf_puts(got, r->reason ? r->reason : py ? "None" : "undefined");
	if (!py && strcmp(p, "method_version") == 0)
		return pst_buf_printf(got, "%d", r->method_version);
	if (py && strncmp(p, "properties", 10) == 0) {
		p += 10;
		if (read_index(&p, &k) < 0)
			return -1;
		if (k >= r->nprops)
			return pst_buf_puts(got, "IndexError");
		if (strcmp(p, ".type)") == 0)
			return pst_buf_puts(got, r->props[k].ptype);
		if (strcmp(p, ".name)") == 0)
			return pst_buf_puts(got, r->props[k].property);
		if (strcmp(p, ".value)") == 0)
			return pst_buf_puts(got, r->props[k].value);
		return -1;
	}
	if (py) {
		/* results[i].smtp_mailfrom: ptype "_" property */
		const char *us = strchr(p, '_');
		char prop[64];
		size_t pn;

		if (us == NULL || (pn = strlen(us + 1)) < 2 || pn - 1 >= sizeof prop)
			return -1;
		memcpy(prop, us + 1, pn - 1);
		prop[pn - 1] = '\0';
		v = prop_value(r, p, (size_t)(us - p), prop);
		return pst_buf_puts(got, v ? v : "None");
	}
	if (strncmp(p, "properties.", 11) == 0) {
		/* properties.header.i or properties.policy["authority-uri"] */
		const char *t = p + 11, *dot = strpbrk(t, ".[");
		char prop[64];
		size_t pn;

		if (dot == NULL)
			return -1;
		if (*dot == '.') {
			pn = strlen(dot + 1);
			if (pn >= sizeof prop)
				return -1;
			memcpy(prop, dot + 1, pn + 1);
		} else {
			pn = strlen(dot);
			if (pn < 5 || pn - 4 >= sizeof prop || dot[1] != '"' || strcmp(dot + pn - 2, "\"]") != 0)
				return -1;
			memcpy(prop, dot + 2, pn - 4);
			prop[pn - 4] = '\0';
		}
		v = prop_value(r, t, (size_t)(dot - t), prop);
		return pst_buf_puts(got, v ? v : "undefined");
	}
	return -1;
}

/* The header on one line, line breaks and other controls escaped. */
static const char *one_line(const pst_buf *in, pst_buf *out)
{
	pst_buf_clear(out);
	for (size_t i = 0; i < in->len; i++) {
		unsigned char c = (unsigned char)in->data[i];

		if (c == '\r')
			pst_buf_puts(out, "\\r");
		else if (c == '\n')
			pst_buf_puts(out, "\\n");
		else if (c < 0x20 || c == 0x7f)
			pst_buf_printf(out, "\\x%02x", c);
		else
			pst_buf_putc(out, (char)c);
	}
	return pst_buf_str(out);
}

static void case_free(struct ar_case *c)
{
	pst_buf_free(&c->header);
	pst_buf_free(&c->lenient);
	for (size_t i = 0; i < MAX_ASSERTIONS; i++)
		pst_buf_free(&c->assertions[i]);
}

/* The header's value, less any "Authentication-Results:" prefix. */
static const char *case_value(const struct ar_case *c, size_t *n)
{
	static const char prefix[] = "Authentication-Results:";
	const char *v = pst_buf_str(&c->header);

	*n = c->header.len;
	if (*n >= sizeof prefix - 1 && strncasecmp(v, prefix, sizeof prefix - 1) == 0) {
		v += sizeof prefix - 1;
		*n -= sizeof prefix - 1;
	}
	return v;
}

/* Whether our parse agrees with the case; why says how not. */
static int check_case(const struct ar_case *c, pst_buf *why, size_t *checked, size_t *unchecked)
{
	size_t n;
	const char *v = case_value(c, &n);
	pst_arena *a = pst_arena_new();
	pst_authres ar;
	char err[200];
	int ok, agree = 1;

	assert_non_null(a);
	ok = pst_authres_parse(a, v, n, &ar, err, sizeof err) == 0;
	if (ok == c->expects_error) {
		pst_buf_printf(why, "upstream %s, postern %s%s", c->expects_error ? "error" : "ok",
			       ok ? "ok" : "error: ", ok ? "" : err);
		agree = 0;
	}
	for (size_t i = 0; ok && i < c->nassertions; i++) {
		const char *as = pst_buf_str(&c->assertions[i]);
		const char *eq = strstr(as, " == ");
		pst_buf lhs = PST_BUF_INIT, want = PST_BUF_INIT, got = PST_BUF_INIT;

		if (eq == NULL || pst_buf_append(&lhs, as, (size_t)(eq - as)) < 0 ||
		    read_literal(eq + 4, &want) < 0 || eval_lhs(pst_buf_str(&lhs), &ar, &got) < 0) {
			(*unchecked)++;
			printf("# case %ld: assertion not checked (form unknown): %s\n", c->id, as);
		} else {
			if (want.len == 0 && eq[4] != '\'' && eq[4] != '"')
				pst_buf_puts(&want, eq + 4);    /* a number */
			(*checked)++;
			if (strcmp(pst_buf_str(&got), pst_buf_str(&want)) != 0) {
				pst_buf_printf(why, "%s%s: got '%s'", agree ? "" : "; ", as,
					       pst_buf_str(&got));
				agree = 0;
			}
		}
		pst_buf_free(&lhs);
		pst_buf_free(&want);
		pst_buf_free(&got);
	}
	pst_arena_free(&a);
	return agree;
}

/* Whether the tolerant reader agrees with the lenient cross-check on the
 * fact methods; got and want (cleared first) say what each read. */
static int check_salvage(const struct ar_case *c, pst_buf *got)
{
	size_t n;
	const char *v = case_value(c, &n);
	pst_arena *a = pst_arena_new();
	pst_authres ar;
	unsigned how;

	assert_non_null(a);
	pst_buf_clear(got);
	if (pst_authres_salvage(a, v, n, &ar, &how) < 0)
		fail_msg("case %ld: pst_authres_salvage failed", c->id);
	for (size_t i = 0; i < ar.nresults; i++)
		assert_int_equal(put_method(got, ar.results[i].method, ar.results[i].result), 0);
	pst_arena_free(&a);
	return strcmp(pst_buf_str(got), pst_buf_str(&c->lenient)) == 0;
}

static void corpus(void **state)
{
	char dir[4096], path[4200], id[32];
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lines = 0, checked = 0, unchecked = 0, total, failures;
	ssize_t n;
	conf_run *parser, *salvage;

	(void)state;
	conf_corpus_require("authres-headers", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/authres-cases.jsonl", dir);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot read %s", path);
	parser = conf_run_begin("authres-headers");
	salvage = conf_run_begin("authres-headers/salvage");
	while ((n = getline(&line, &cap, f)) > 0) {
		static struct ar_case c;
		pst_buf why = PST_BUF_INIT, hdr = PST_BUF_INIT, detail = PST_BUF_INIT;
		int ok;

		lines++;
		if (n > MAX_LINE)
			fail_msg("corpus line %zu longer than %d bytes", lines, MAX_LINE);
		memset(&c, 0, sizeof c);
		if (parse_line(line, (size_t)n, &c) < 0)
			fail_msg("corpus line %zu: not a case this reader understands", lines);
		snprintf(id, sizeof id, "%ld", c.id);
		ok = check_case(&c, &why, &checked, &unchecked);
		pst_buf_printf(&detail, "%s; header %s", one_line(&why, &hdr), pst_buf_str(&c.header));
		conf_case(parser, id, ok, one_line(&detail, &why));
		if (c.has_lenient) {
			ok = check_salvage(&c, &why);
			pst_buf_clear(&detail);
			pst_buf_printf(&detail, "got '%s', lenient cross-check '%s'", pst_buf_str(&why),
			               pst_buf_str(&c.lenient));
			conf_case(salvage, id, ok, pst_buf_str(&detail));
		}
		pst_buf_free(&why);
		pst_buf_free(&hdr);
		pst_buf_free(&detail);
		case_free(&c);
	}
	free(line);
	fclose(f);
	printf("# authres-headers: %zu assertions checked, %zu not of a checkable form\n", checked,
	       unchecked);
	total = conf_run_total(parser);
	failures = conf_run_end(parser);
	failures += conf_run_end(salvage);
	assert_true(total > 0);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
