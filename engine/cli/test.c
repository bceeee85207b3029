/*
 * test.c: "postern test SUITE...", run rule test suites (doc/postern-test.5).
 *
 * A thin layer over postern.h and the suite parser (suite.h): for each
 * case, load its DNS fixture, build the message and envelope, evaluate
 * with the case's fixed time and a trace, and compare each expectation
 * with the verdicts, the delivered copies (pst_message_render) and the
 * report of pst_message_json(). Before running a suite, the rule names of
 * its "matched" expectations are checked against the compiled rule file.
 * A failing case is printed with its name, file:line, expected against
 * got, and the trace of the deciding rule (every rule's when the rule or
 * the rules matched were not the ones expected).
 * The last line of output is "N passed, N failed".
 *
 * Exit status: 0 when every case passed, 1 when one failed, 64 usage,
 * 65 a suite file with errors (or a case whose message or fixture cannot
 * be read, or a "matched" naming no enforced rule), 78 a rule file that
 * does not compile. Suites that cannot run are reported on stderr as
 * file:line:col and their cases count as failed.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "postern.h"
#include "cli/cli.h"
#include "cli/json.h"
#include "cli/suite.h"
#include "util/buf.h"
#include "util/limits.h"

#define EXIT_FAILED 1

struct run {
	int coverage;
	int verbose;
	size_t passed, failed;
	int status;
};

/* One evaluated case. */
struct outcome {
	const pst_suite *suite;
	const pst_suite_case *c;
	pst_message *msg;
	pst_jval *report;
	char **copies;             /* delivered copy per recipient, rendered on demand */
	size_t *copy_lens;
	int *rcpt_failed;          /* 1: a recipient expectation failed, 2: its rule one did */
	size_t nrcpts;
	pst_buf fails;             /* the expected/got lines */
};

static void test_usage(FILE *out)
{
	fprintf(out,
	    "usage: postern test [--coverage] [--verbose] SUITE...\n"
	    "\n"
	    "Run rule test suites (the format is in postern-test(5)). Each failing case is\n"
	    "printed with its file:line, expected against got, and the trace of the deciding\n"
	    "rule. The last line is \"N passed, N failed\".\n"
	    "\n"
	    "  --coverage   list the rules that no case of a suite exercised\n"
	    "  --verbose    print a line for every case that passed too\n"
	    "\n"
	    "Exit status: 0 every case passed, 1 a case failed, 64 usage, 65 a suite file with\n"
	    "errors, 78 a rule file that does not compile.\n");
}

static void raise_status(struct run *r, int status)
{
	if (status == EX_CONFIG || (status == EX_DATAERR && r->status != EX_CONFIG) ||
	    (status == EXIT_FAILED && r->status == 0))
		r->status = status;
}

/* ---- Loading a case ------------------------------------------------- */

/* Rewrite the fixture loader's "TMP:LINE:COL: ..." lines to the inline
 * text's place in the suite, and print them. */
static void print_inline_errors(const pst_suite *s, const pst_suite_src *src, const char *tmp,
                                const char *errors)
{
	size_t tl = strlen(tmp);
	const char *l = errors;
	while (l && *l) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		unsigned line, col;
		int used = 0;
		if (n > tl && strncmp(l, tmp, tl) == 0 && sscanf(l + tl, ":%u:%u:%n", &line, &col, &used) == 2 && used > 0)
			fprintf(stderr, "%s:%u:%u:%.*s\n", s->path, src->text_line + line - 1, col + src->indent,
			        (int)(n - tl - (size_t)used), l + tl + used);
		else
			fprintf(stderr, "%s:%u:%u: %.*s\n", s->path, src->pos.line, src->pos.col, (int)n, l);
		l = nl ? nl + 1 : NULL;
	}
}

/* Inline records and "dns none" go through a temporary fixture file. */
static int load_inline_dns(const pst_suite *s, const pst_suite_src *src, pst_dns **dns)
{
	const char *tmpdir = getenv("TMPDIR");
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/postern-test.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "postern test: cannot create a temporary file: %s\n", strerror(errno));
		return -1;
	}
	close(fd);
	int rc = pst_cli_write_file(tmp, src->text ? src->text : "", src->text ? src->len : 0);
	char *errors = NULL;
	if (rc == 0 && pst_dns_load_fixture(tmp, dns, &errors) < 0) {
		print_inline_errors(s, src, tmp, errors ? errors : "error: cannot load the DNS records");
		rc = -1;
	}
	free(errors);
	unlink(tmp);
	return rc;
}

static int load_dns(const pst_suite *s, const pst_suite_case *c, pst_dns **dns)
{
	if (c->dns.path == NULL)
		return load_inline_dns(s, &c->dns, dns);
	char *path = pst_suite_path(s, c->dns.path);
	char *errors = NULL;
	int rc = path ? pst_dns_load_fixture(path, dns, &errors) : -1;
	if (rc < 0) {
		fprintf(stderr, "%s:%u:%u: error: the DNS fixture %s cannot be loaded\n", s->path,
		        c->dns.pos.line, c->dns.pos.col, c->dns.path);
		if (errors)
			fputs(errors, stderr);
	}
	free(errors);
	free(path);
	return rc;
}

static int load_message(const pst_suite *s, const pst_suite_case *c, char **bytes, size_t *len)
{
	if (c->message.text) {
		*bytes = malloc(c->message.len + 1);
		if (*bytes == NULL)
			return -1;
		memcpy(*bytes, c->message.text, c->message.len + 1);
		*len = c->message.len;
		return 0;
	}
	char *path = pst_suite_path(s, c->message.path);
	int rc = path ? pst_cli_read_message(path, PST_MAX_MESSAGE_BYTES, bytes, len) : -1;
	if (rc != 0)
		fprintf(stderr, "%s:%u:%u: error: the message %s cannot be read\n", s->path,
		        c->message.pos.line, c->message.pos.col, c->message.path);
	free(path);
	return rc != 0 ? -1 : 0;
}

/* Evaluate the case into o. 0, or -1 after reporting. */
static int evaluate(const pst_policy *policy, const pst_dns *dns, const char *bytes, size_t len,
                    struct outcome *o)
{
	const pst_suite_case *c = o->c;
	pst_envelope env = { c->client_ip, c->client_name, c->helo, c->mail_from,
	                     (const char *const *)c->rcpts, c->nrcpts };
	pst_message_opts opts = { .now = (time_t)c->now, .dns = dns, .trace = 1, .after_queue = c->after_queue };
	char err[512] = "";
	if (pst_message_new(policy, bytes, len, &env, &opts, &o->msg, err, sizeof err) < 0) {
		fprintf(stderr, "%s:%u:%u: error: case \"%s\": the message is refused: %s\n", o->suite->path,
		        c->message.pos.line, c->message.pos.col, c->name, err);
		return -1;
	}
	char *json = NULL;
	if (pst_message_evaluate(o->msg) < 0 || pst_message_json(o->msg, &json) < 0 ||
	    pst_json_parse(json, strlen(json), &o->report) < 0) {
		fprintf(stderr, "%s:%u:%u: error: case \"%s\": evaluation failed (out of memory)\n",
		        o->suite->path, c->pos.line, c->pos.col, c->name);
		free(json);
		return -1;
	}
	free(json);
	o->nrcpts = pst_message_rcpt_count(o->msg);
	o->copies = calloc(o->nrcpts + 1, sizeof *o->copies);
	o->copy_lens = calloc(o->nrcpts + 1, sizeof *o->copy_lens);
	o->rcpt_failed = calloc(o->nrcpts + 1, sizeof *o->rcpt_failed);
	if (o->copies == NULL || o->copy_lens == NULL || o->rcpt_failed == NULL)
		return -1;
	return 0;
}

static void free_outcome(struct outcome *o)
{
	for (size_t i = 0; o->copies && i < o->nrcpts; i++)
		free(o->copies[i]);
	free(o->copies);
	free(o->copy_lens);
	free(o->rcpt_failed);
	pst_json_free(&o->report);
	pst_message_free(&o->msg);
	pst_buf_free(&o->fails);
}

/* ---- Comparing ------------------------------------------------------ */

static void fail(struct outcome *o, const pst_suite_expect *e, const char *who, const char *what,
                 const char *want, const char *got)
{
	(void)pst_buf_printf(&o->fails, "  %s:%u: %s%s%s\n      expected: %s\n      got:      %s\n",
	                     o->suite->path, e->pos.line, who ? who : "", who ? ": " : "", what, want, got);
}

/* The expectation's words joined by spaces. */
static void join_args(const pst_suite_expect *e, size_t from, pst_buf *b)
{
	for (size_t i = from; i < e->nargs; i++)
		(void)pst_buf_printf(b, "%s%s", i > from ? " " : "", e->args[i]);
}

/* Every value of the header field name in a delivered copy, unfolded,
 * joined by " | " into got; the number of fields. */
static size_t header_values(const char *msg, size_t len, const char *name, pst_buf *got,
                            int (*match)(const char *v, const char *want), const char *want, int *matched)
{
	size_t nl = strlen(name), count = 0, i = 0;
	while (i < len) {
		const char *line = msg + i;
		const char *end = memchr(line, '\n', len - i);
		size_t n = end ? (size_t)(end - line) : len - i;
		if (n == 0 || (n == 1 && line[0] == '\r'))
			break;
		i += n + 1;
		if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
			continue;
		pst_buf v = PST_BUF_INIT;
		(void)pst_buf_append(&v, line + nl + 1, n - nl - 1);
		while (i < len && (msg[i] == ' ' || msg[i] == '\t')) {
			const char *c = msg + i;
			const char *ce = memchr(c, '\n', len - i);
			size_t cn = ce ? (size_t)(ce - c) : len - i;
			(void)pst_buf_append(&v, c, cn);
			i += cn + 1;
		}
		/* Drop the CRs of folding and the field's end, and leading space. */
		size_t w = 0;
		for (size_t k = 0; k < v.len; k++)
			if (v.data[k] != '\r')
				v.data[w++] = v.data[k];
		v.len = w;
		if (v.data)
			v.data[w] = '\0';
		const char *s = pst_buf_str(&v);
		s += strspn(s, " \t");
		(void)pst_buf_printf(got, "%s\"%s\"", count ? " | " : "", s);
		if (match && match(s, want))
			*matched = 1;
		count++;
		pst_buf_free(&v);
	}
	return count;
}

static int eq_match(const char *v, const char *want)
{
	return strcmp(v, want) == 0;
}

static int contains_match(const char *v, const char *want)
{
	return strstr(v, want) != NULL;
}

static int check_header(struct outcome *o, const pst_suite_expect *e, size_t i, const char *who)
{
	if (o->copies[i] == NULL) {
		char err[256] = "";
		if (pst_message_render(o->msg, i, &o->copies[i], &o->copy_lens[i], err, sizeof err) < 0) {
			fail(o, e, who, "header", "a delivered copy", err);
			return 1;
		}
	}
	const char *name = e->args[0], *op = e->args[1];
	const char *want = e->nargs > 2 ? e->args[2] : NULL;
	int matched = 0;
	pst_buf got = PST_BUF_INIT, what = PST_BUF_INIT, exp = PST_BUF_INIT;
	int (*m)(const char *, const char *) = strcmp(op, "equals") == 0 ? eq_match :
	                                       strcmp(op, "contains") == 0 ? contains_match : NULL;
	size_t n = header_values(o->copies[i], o->copy_lens[i], name, &got, m, want, &matched);
	int ok = strcmp(op, "present") == 0 ? n > 0 : strcmp(op, "absent") == 0 ? n == 0 : matched;
	if (!ok) {
		(void)pst_buf_printf(&what, "header %s", name);
		if (want)
			(void)pst_buf_printf(&exp, "%s \"%s\"", op, want);
		else
			(void)pst_buf_puts(&exp, op);
		fail(o, e, who, pst_buf_str(&what), pst_buf_str(&exp), n ? pst_buf_str(&got) : "absent");
	}
	pst_buf_free(&got);
	pst_buf_free(&what);
	pst_buf_free(&exp);
	return !ok;
}

static int check_smtp(struct outcome *o, const pst_suite_expect *e, const pst_verdict *v, const char *who)
{
	char code[8];
	snprintf(code, sizeof code, "%d", v->code);
	int ok = strcmp(code, e->args[0]) == 0 &&
	         (e->nargs < 2 || strcmp(v->enhanced ? v->enhanced : "", e->args[1]) == 0) &&
	         (e->nargs < 3 || strcmp(v->text ? v->text : "", e->args[2]) == 0);
	if (ok)
		return 0;
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT;
	(void)pst_buf_printf(&want, "%s%s%s%s%s%s", e->args[0], e->nargs > 1 ? " " : "",
	                     e->nargs > 1 ? e->args[1] : "", e->nargs > 2 ? " \"" : "",
	                     e->nargs > 2 ? e->args[2] : "", e->nargs > 2 ? "\"" : "");
	(void)pst_buf_printf(&got, "%d %s \"%s\"", v->code, v->enhanced ? v->enhanced : "-",
	                     v->text ? v->text : "");
	fail(o, e, who, "smtp", pst_buf_str(&want), pst_buf_str(&got));
	pst_buf_free(&want);
	pst_buf_free(&got);
	return 1;
}

static int check_audit(struct outcome *o, const pst_suite_expect *e, const pst_verdict *v, const char *who)
{
	int ok = 1;
	if (strcmp(e->args[0], "none") == 0)
		ok = v->naudit == 0;
	for (size_t k = 0; ok && strcmp(e->args[0], "none") != 0 && k < e->nargs; k++) {
		int found = 0;
		for (size_t j = 0; j < v->naudit; j++)
			found |= strcmp(v->audit[j], e->args[k]) == 0;
		ok = found;
	}
	if (ok)
		return 0;
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT;
	join_args(e, 0, &want);
	for (size_t j = 0; j < v->naudit; j++)
		(void)pst_buf_printf(&got, "%s%s", j ? " " : "", v->audit[j]);
	fail(o, e, who, "audit", pst_buf_str(&want), v->naudit ? pst_buf_str(&got) : "none");
	pst_buf_free(&want);
	pst_buf_free(&got);
	return 1;
}

/* Whether name is among the count strings of list. */
static int listed(const char *name, const char *const *list, size_t count)
{
	for (size_t j = 0; j < count; j++)
		if (strcmp(list[j], name) == 0)
			return 1;
	return 0;
}

/* matched RULE... | matched none | not matched RULE...: against the rules
 * whose condition held for the recipient, less the audit-mode ones (those
 * are the audit expectation's). */
static int check_matched(struct outcome *o, const pst_suite_expect *e, const pst_verdict *v, const char *who)
{
	int negated = strcmp(e->word, "not matched") == 0;
	size_t nenforced = 0;
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT;
	for (size_t j = 0; j < v->nmatched; j++)
		if (!listed(v->matched[j], v->audit, v->naudit))
			(void)pst_buf_printf(&got, "%s%s", nenforced++ ? " " : "", v->matched[j]);
	int ok = 1;
	if (!negated && strcmp(e->args[0], "none") == 0)
		ok = nenforced == 0;
	else
		for (size_t k = 0; ok && k < e->nargs; k++)
			ok = listed(e->args[k], v->matched, v->nmatched) != negated;
	if (!ok) {
		if (negated)
			(void)pst_buf_puts(&want, "none of ");
		join_args(e, 0, &want);
		fail(o, e, who, e->word, pst_buf_str(&want), nenforced ? pst_buf_str(&got) : "none");
	}
	pst_buf_free(&want);
	pst_buf_free(&got);
	return !ok;
}

/* A simple word comparison: 0 when equal, 1 after recording the failure. */
static int cmp_word(struct outcome *o, const pst_suite_expect *e, const char *who, const char *want,
                    const char *got)
{
	if (strcmp(want, got) == 0)
		return 0;
	fail(o, e, who, e->word, want, got);
	return 1;
}

/* One recipient expectation against recipient i. 0 pass, 1 fail. */
static int check_rcpt(struct outcome *o, const pst_suite_expect *e, size_t i)
{
	const pst_verdict *v = pst_message_verdict(o->msg, i);
	const char *who = v->address;
	const char *w = e->word;
	int bad;
	if (strcmp(w, "decision") == 0)
		bad = cmp_word(o, e, who, e->args[0], pst_action_name(v->action));
	else if (strcmp(w, "applied") == 0)
		bad = cmp_word(o, e, who, e->args[0], pst_action_name(v->applied));
	else if (strcmp(w, "rule") == 0)
		bad = cmp_word(o, e, who, e->args[0], v->rule ? v->rule : "none");
	else if (strcmp(w, "folder") == 0)
		bad = cmp_word(o, e, who, e->args[0], v->folder ? v->folder : "default");
	else if (strcmp(w, "smtp") == 0)
		bad = check_smtp(o, e, v, who);
	else if (strcmp(w, "audit") == 0)
		bad = check_audit(o, e, v, who);
	else if (strcmp(w, "matched") == 0 || strcmp(w, "not matched") == 0)
		bad = check_matched(o, e, v, who);
	else
		bad = check_header(o, e, i, who);
	/* 2: the rules that matched were not the ones expected: trace them all. */
	int about_rules = strcmp(w, "rule") == 0 || strcmp(w, "matched") == 0 || strcmp(w, "not matched") == 0;
	if (bad)
		o->rcpt_failed[i] |= about_rules ? 2 : 1;
	return bad;
}

static int check_rcpt_expect(struct outcome *o, const pst_suite_expect *e)
{
	int bad = 0, found = 0;
	for (size_t i = 0; i < o->nrcpts; i++) {
		const pst_verdict *v = pst_message_verdict(o->msg, i);
		if (strcmp(e->rcpt, "*") != 0 && strcasecmp(e->rcpt, v->address) != 0)
			continue;
		found = 1;
		bad |= check_rcpt(o, e, i);
	}
	if (!found) {
		pst_buf got = PST_BUF_INIT;
		for (size_t i = 0; i < o->nrcpts; i++)
			(void)pst_buf_printf(&got, "%s%s", i ? " " : "", pst_message_verdict(o->msg, i)->address);
		fail(o, e, e->rcpt, "recipient", "a recipient of the envelope", o->nrcpts ? pst_buf_str(&got) : "none");
		pst_buf_free(&got);
		return 1;
	}
	return bad;
}

static const char *jtext(const pst_jval *root, const char *path)
{
	const char *t = pst_json_text(pst_json_path(root, path));
	return t ? t : "absent";
}

static int check_spf(struct outcome *o, const pst_suite_expect *e)
{
	int helo = e->word[0] == 'h';
	const char *res = jtext(o->report, helo ? "auth.helo.result" : "auth.spf.result");
	const char *al = jtext(o->report, "auth.spf.aligned");
	int ok = strcmp(res, e->args[0]) == 0;
	if (ok && e->nargs > 1)
		ok = strcmp(al, strcmp(e->args[1], "aligned") == 0 ? "true" : "false") == 0;
	if (ok)
		return 0;
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT;
	join_args(e, 0, &want);
	(void)pst_buf_printf(&got, "%s", res);
	if (!helo)
		(void)pst_buf_printf(&got, " %s (domain %s)", strcmp(al, "true") == 0 ? "aligned" : "unaligned",
		                     jtext(o->report, "auth.spf.domain"));
	fail(o, e, NULL, e->word, pst_buf_str(&want), pst_buf_str(&got));
	pst_buf_free(&want);
	pst_buf_free(&got);
	return 1;
}

/* Does DKIM signature s fit "dkim RESULT [DOMAIN] [aligned|unaligned]"? */
static int dkim_fits(const pst_suite_expect *e, const pst_jval *s)
{
	if (strcmp(jtext(s, "result"), e->args[0]) != 0)
		return 0;
	for (size_t k = 1; k < e->nargs; k++) {
		const char *a = e->args[k];
		if (strcmp(a, "aligned") == 0 || strcmp(a, "unaligned") == 0) {
			if (strcmp(jtext(s, "aligned"), a[0] == 'a' ? "true" : "false") != 0)
				return 0;
		} else if (strcasecmp(jtext(s, "domain"), a) != 0)
			return 0;
	}
	return 1;
}

static int check_dkim(struct outcome *o, const pst_suite_expect *e)
{
	const pst_jval *sigs = pst_json_path(o->report, "auth.dkim");
	size_t n = sigs ? sigs->nkids : 0;
	int ok = strcmp(e->args[0], "none") == 0 ? n == 0 : 0;
	for (size_t i = 0; !ok && i < n; i++)
		ok = dkim_fits(e, &sigs->kids[i]);
	if (ok)
		return 0;
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT;
	join_args(e, 0, &want);
	if (strcmp(e->args[0], "none") != 0)
		(void)pst_buf_puts(&want, " (some signature)");
	for (size_t i = 0; i < n; i++) {
		const pst_jval *s = &sigs->kids[i];
		const char *reason = pst_json_text(pst_json_get(s, "reason"));
		(void)pst_buf_printf(&got, "%s%s d=%s %s", i ? "; " : "", jtext(s, "result"), jtext(s, "domain"),
		                     strcmp(jtext(s, "aligned"), "true") == 0 ? "aligned" : "unaligned");
		if (reason && strcmp(reason, "null") != 0)
			(void)pst_buf_printf(&got, " (%s)", reason);
	}
	fail(o, e, NULL, "dkim", pst_buf_str(&want), n ? pst_buf_str(&got) : "none (no signature)");
	pst_buf_free(&want);
	pst_buf_free(&got);
	return 1;
}

static int check_dmarc(struct outcome *o, const pst_suite_expect *e)
{
	const char *res = jtext(o->report, "auth.dmarc.result");
	const char *pol = jtext(o->report, "auth.dmarc.policy");
	const char *sa = jtext(o->report, "auth.dmarc.spf_aligned");
	const char *da = jtext(o->report, "auth.dmarc.dkim_aligned");
	int ok = strcmp(res, e->args[0]) == 0;
	for (size_t k = 1; ok && k < e->nargs; k++) {
		const char *a = e->args[k];
		if (strncmp(a, "spf-", 4) == 0)
			ok = strcmp(sa, strcmp(a + 4, "aligned") == 0 ? "true" : "false") == 0;
		else if (strncmp(a, "dkim-", 5) == 0)
			ok = strcmp(da, strcmp(a + 5, "aligned") == 0 ? "true" : "false") == 0;
		else
			ok = strcmp(pol, a) == 0;
	}
	if (ok)
		return 0;
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT;
	join_args(e, 0, &want);
	(void)pst_buf_printf(&got, "%s %s spf-%s dkim-%s", res, pol, strcmp(sa, "true") == 0 ? "aligned" : "unaligned",
	                     strcmp(da, "true") == 0 ? "aligned" : "unaligned");
	fail(o, e, NULL, "dmarc", pst_buf_str(&want), pst_buf_str(&got));
	pst_buf_free(&want);
	pst_buf_free(&got);
	return 1;
}

static int check_report(struct outcome *o, const pst_suite_expect *e)
{
	const pst_jval *v = pst_json_path(o->report, e->args[0]);
	const char *t = pst_json_text(v);
	if (t && strcmp(t, e->args[1]) == 0)
		return 0;
	if (v == NULL && strcmp(e->args[1], "absent") == 0)
		return 0;
	char what[256], got[64];
	snprintf(what, sizeof what, "report %s", e->args[0]);
	if (v && !t)
		snprintf(got, sizeof got, "an %s of %zu", v->type == PST_JARR ? "array" : "object", v->nkids);
	fail(o, e, NULL, what, e->args[1], t ? t : v ? got : "absent");
	return 1;
}

static int check_expect(struct outcome *o, const pst_suite_expect *e)
{
	if (e->rcpt)
		return check_rcpt_expect(o, e);
	if (strcmp(e->word, "spf") == 0 || strcmp(e->word, "helo-spf") == 0)
		return check_spf(o, e);
	if (strcmp(e->word, "dkim") == 0)
		return check_dkim(o, e);
	if (strcmp(e->word, "dmarc") == 0)
		return check_dmarc(o, e);
	return check_report(o, e);
}

/* ---- Reporting ------------------------------------------------------ */

/* Print the trace lines of addr: every rule (all), or the rule named rule. */
static void print_trace(const char *text, const char *addr, const char *rule)
{
	char head[1024];
	snprintf(head, sizeof head, "trace for %s:\n", addr);
	const char *p = strstr(text, head);
	if (p == NULL)
		return;
	p += strlen(head);
	int on = 0;
	size_t rl = rule ? strlen(rule) : 0;
	while (*p == ' ') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		int rule_line = n > 2 && p[2] != ' ';
		if (rule_line)
			on = rule == NULL || (n > rl + 2 && strncmp(p + 2, rule, rl) == 0 && p[2 + rl] == ' ');
		if (on)
			printf("    %.*s", (int)n, p);
		p += n;
	}
}

static void print_failure(struct outcome *o)
{
	const pst_suite_case *c = o->c;
	printf("FAIL %s:%u: case \"%s\"\n", o->suite->path, c->pos.line, c->name);
	fputs(pst_buf_str(&o->fails), stdout);
	char *text = NULL;
	if (pst_message_text(o->msg, &text) < 0)
		return;
	for (size_t i = 0; i < o->nrcpts; i++) {
		if (!o->rcpt_failed[i])
			continue;
		const pst_verdict *v = pst_message_verdict(o->msg, i);
		int all = v->rule == NULL || (o->rcpt_failed[i] & 2);
		if (v->rule == NULL)
			printf("  trace for %s (no rule decided: implicit accept):\n", v->address);
		else if (all)
			printf("  trace for %s (decided by %s):\n", v->address, v->rule);
		else
			printf("  trace of the deciding rule %s for %s:\n", v->rule, v->address);
		print_trace(text, v->address, all ? NULL : v->rule);
	}
	free(text);
}

/* Mark the rules that matched for someone (the report's rules[]). */
static void mark_coverage(const pst_jval *report, unsigned char *hit, size_t nrules)
{
	const pst_jval *rules = pst_json_get(report, "rules");
	for (size_t i = 0; rules && i < rules->nkids && i < nrules; i++) {
		const pst_jval *m = pst_json_get(&rules->kids[i], "matched_for");
		if (m && m->nkids > 0)
			hit[i] = 1;
	}
}

/* ---- Running -------------------------------------------------------- */

/* Run one case: 0 passed, 1 failed, -1 could not run (reported). */
static int run_case(const pst_suite *s, const pst_suite_case *c, const pst_policy *policy,
                    unsigned char *hit, size_t nrules, int verbose)
{
	struct outcome o;
	memset(&o, 0, sizeof o);
	o.suite = s;
	o.c = c;
	pst_dns *dns = NULL;
	char *bytes = NULL;
	size_t len = 0;
	int rc = -1;
	if (load_dns(s, c, &dns) < 0 || load_message(s, c, &bytes, &len) < 0 ||
	    evaluate(policy, dns, bytes, len, &o) < 0)
		goto out;
	int bad = 0;
	for (size_t i = 0; i < c->nexpects; i++)
		bad |= check_expect(&o, &c->expects[i]);
	mark_coverage(o.report, hit, nrules);
	if (bad)
		print_failure(&o);
	else if (verbose)
		printf("ok   %s:%u: case \"%s\"\n", s->path, c->pos.line, c->name);
	rc = bad;
out:
	free_outcome(&o);
	free(bytes);
	pst_dns_free(&dns);
	return rc;
}

static void print_coverage(const pst_suite *s, const pst_policy *policy, const unsigned char *hit, size_t n)
{
	size_t used = 0;
	for (size_t i = 0; i < n; i++)
		used += hit[i];
	printf("coverage %s: %zu of %zu rules exercised\n", s->path, used, n);
	for (size_t i = 0; i < n; i++) {
		pst_rule_info info;
		if (!hit[i] && pst_policy_rule(policy, i, &info) == 0)
			printf("  not exercised: %s (%s:%u)\n", info.name, info.file, info.line);
	}
}

/* The rule names of the suite's matched expectations against the policy's
 * rules. 0, or -1 after printing the errors. */
static int check_rule_names(const pst_suite *s, const pst_policy *policy)
{
	size_t n = pst_policy_rule_count(policy);
	const char **names = calloc(n + 1, sizeof *names);
	unsigned char *audit = calloc(n + 1, 1);
	char *errors = NULL;
	int rc = -1;
	if (names == NULL || audit == NULL) {
		fputs("postern test: out of memory\n", stderr);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		pst_rule_info info;
		if (pst_policy_rule(policy, i, &info) < 0)
			goto out;
		names[i] = info.name;
		audit[i] = info.audit != 0;
	}
	rc = pst_suite_check_rules(s, names, audit, n, &errors);
	if (rc < 0)
		fputs(errors ? errors : "postern test: out of memory\n", stderr);
out:
	free(errors);
	free(names);
	free(audit);
	return rc;
}

static void run_suite(struct run *r, const char *path)
{
	pst_suite *s = NULL;
	char *errors = NULL;
	if (pst_suite_load(path, &s, &errors) < 0) {
		fputs(errors ? errors : "postern test: out of memory\n", stderr);
		free(errors);
		raise_status(r, EX_DATAERR);
		return;
	}
	char *rules = pst_suite_path(s, s->rules);
	pst_policy *policy = NULL;
	if (rules == NULL || pst_cli_compile(rules, &policy) < 0) {
		fprintf(stderr, "%s:%u:%u: error: the rule file %s does not compile; %zu case%s counted as failed\n",
		        s->path, s->rules_pos.line, s->rules_pos.col, s->rules, s->ncases, s->ncases == 1 ? "" : "s");
		r->failed += s->ncases;
		raise_status(r, EX_CONFIG);
		goto out;
	}
	if (check_rule_names(s, policy) < 0) {
		fprintf(stderr, "%s: error: %zu case%s counted as failed\n", s->path, s->ncases,
		        s->ncases == 1 ? "" : "s");
		r->failed += s->ncases;
		raise_status(r, EX_DATAERR);
		goto out;
	}
	size_t nrules = pst_policy_rule_count(policy);
	unsigned char *hit = calloc(nrules + 1, 1);
	if (hit == NULL) {
		raise_status(r, EX_SOFTWARE);
		goto out;
	}
	for (size_t i = 0; i < s->ncases; i++) {
		int rc = run_case(s, &s->cases[i], policy, hit, nrules, r->verbose);
		if (rc == 0)
			r->passed++;
		else
			r->failed++;
		raise_status(r, rc < 0 ? EX_DATAERR : rc ? EXIT_FAILED : 0);
	}
	if (r->coverage)
		print_coverage(s, policy, hit, nrules);
	free(hit);
out:
	free(rules);
	pst_policy_free(&policy);
	pst_suite_free(&s);
}

enum { OPT_COVERAGE = 256, OPT_VERBOSE, OPT_HELP };

static const struct option test_options[] = {
	{ "coverage", no_argument, NULL, OPT_COVERAGE },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

int pst_cli_test(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof r);
	int c;
	/* Failures on stdout and errors on stderr keep their order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	optind = 1;
	while ((c = getopt_long(argc, argv, "v", test_options, NULL)) != -1) {
		switch (c) {
		case OPT_COVERAGE: r.coverage = 1; break;
		case 'v':
		case OPT_VERBOSE: r.verbose = 1; break;
		case OPT_HELP: test_usage(stdout); return 0;
		default: test_usage(stderr); return EX_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "postern test: give at least one SUITE file\n");
		test_usage(stderr);
		return EX_USAGE;
	}
	for (int i = optind; i < argc; i++)
		run_suite(&r, argv[i]);
	printf("%zu passed, %zu failed\n", r.passed, r.failed);
	fflush(stdout);
	if (r.status == 0 && r.failed > 0)
		r.status = EXIT_FAILED;
	return r.status;
}
