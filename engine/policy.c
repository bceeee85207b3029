/*
 * policy.c: the policy and DNS parts of the public API (postern.h).
 *
 * A thin layer: it wraps the rule compiler (lang/) and the DNS fixture
 * (engine/dns) in the public types and owns nothing else. Messages are in
 * message.c, reports in report.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/program.h"
#include "postern.h"
#include "dns/fixture.h"
#include "dns/resolver.h"
#include "lang/diag.h"
#include "message_private.h"
#include "util/buf.h"
#include "util/domain.h"

/* ---- Policies ------------------------------------------------------- */

/* Wrap a compile result: fill the report, box the program. */
static int finish_compile(int rc, pst_program *prog, pst_diags *diags,
                          pst_policy **out, pst_compile_report *report)
{
	if (report) {
		pst_buf b = PST_BUF_INIT;
		report->errors = pst_diags_errors(diags);
		report->warnings = pst_diags_warnings(diags);
		report->text = pst_diags_render(diags, &b) == 0 ? pst_buf_steal(&b, NULL) : NULL;
		pst_buf_free(&b);
	}
	pst_diags_free(&diags);
	if (rc < 0 || prog == NULL) {
		pst_program_free(&prog);
		if (report && report->errors == 0)
			report->errors = 1;   /* e.g. out of memory: never a silent failure */
		return -1;
	}
	pst_policy *p = calloc(1, sizeof *p);
	if (p == NULL) {
		pst_program_free(&prog);
		return -1;
	}
	p->prog = prog;
	*out = p;
	return 0;
}

int pst_policy_compile_file(const char *path, pst_policy **out, pst_compile_report *report)
{
	*out = NULL;
	pst_diags *diags = pst_diags_new();
	if (diags == NULL)
		return -1;
	pst_program *prog = NULL;
	int rc = pst_program_compile_file(path, diags, &prog);
	return finish_compile(rc, prog, diags, out, report);
}

int pst_policy_compile_text(const char *name, const char *text, size_t len,
                            const char *basedir, pst_policy **out,
                            pst_compile_report *report)
{
	*out = NULL;
	pst_diags *diags = pst_diags_new();
	if (diags == NULL)
		return -1;
	pst_program *prog = NULL;
	int rc = pst_program_compile_text(name, text, len, basedir, diags, &prog);
	return finish_compile(rc, prog, diags, out, report);
}

void pst_report_clear(pst_compile_report *report)
{
	if (report == NULL)
		return;
	free(report->text);
	report->text = NULL;
}

void pst_policy_free(pst_policy **policy)
{
	if (policy == NULL || *policy == NULL)
		return;
	pst_program_free(&(*policy)->prog);
	free(*policy);
	*policy = NULL;
}

size_t pst_policy_rule_count(const pst_policy *policy)
{
	return pst_program_rule_count(policy->prog);
}

int pst_policy_rule(const pst_policy *policy, size_t i, pst_rule_info *info)
{
	if (i >= pst_program_rule_count(policy->prog))
		return -1;
	const pst_program_rule *r = pst_program_rule_at(policy->prog, i);
	info->name = r->name;
	info->file = r->file;
	info->line = r->line;
	info->audit = r->audit;
	info->tenant = r->tenant;
	return 0;
}

int pst_policy_tenant_of(const pst_policy *policy, const char *rcpt, const char **tenant)
{
	int nomem;
	*tenant = NULL;
	char *d = rcpt ? pst_eval_address_domain(rcpt, strlen(rcpt), &nomem) : NULL;
	if (d == NULL)
		return rcpt && nomem ? -1 : 0;
	const pst_program *prog = policy->prog;
	size_t best = 0;
	for (size_t i = 0; i < prog->nrules; i++) {
		const char *t = prog->rules[i].tenant;
		if (t != NULL && strlen(t) > best && pst_domain_is_under(d, t)) {
			*tenant = t;
			best = strlen(t);
		}
	}
	free(d);
	return 0;
}

void pst_policy_get_stats(const pst_policy *policy, pst_policy_stats *stats)
{
	const pst_program *prog = policy->prog;
	stats->rules = prog->nrules;
	stats->tenants = prog->ntenants;
	stats->includes = prog->nincludes;
	stats->lists = prog->nlists;
	stats->settings = prog->nsettings;
}

/* ---- DNS ------------------------------------------------------------ */

int pst_dns_load_fixture(const char *path, pst_dns **out, char **errors)
{
	*out = NULL;
	if (errors)
		*errors = NULL;
	pst_buf err = PST_BUF_INIT;
	pst_dnsfix *fix = NULL;
	if (pst_dnsfix_load_file(path, &fix, &err) < 0) {
		if (errors)
			*errors = pst_buf_steal(&err, NULL);
		pst_buf_free(&err);
		return -1;
	}
	pst_buf_free(&err);
	pst_dns *d = calloc(1, sizeof *d);
	if (d == NULL) {
		pst_dnsfix_free(&fix);
		return -1;
	}
	d->fixture = fix;
	if (pst_resolver_new_fixture(fix, &d->resolver) < 0) {
		pst_dns_free(&d);
		return -1;
	}
	*out = d;
	return 0;
}

void pst_dns_free(pst_dns **dns)
{
	if (dns == NULL || *dns == NULL)
		return;
	pst_resolver_free(&(*dns)->resolver);
	pst_dnsfix_free(&(*dns)->fixture);
	free(*dns);
	*dns = NULL;
}
