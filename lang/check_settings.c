/*
 * check_settings.c: the settings a rule file may give, as one table: name,
 * the kind of value, whether it may repeat, and the function that checks
 * the value and stores it in the program's settings (ast->settings_out,
 * defaults filled in first). Unknown names get a did-you-mean; a setting
 * given twice (but trusted-authserv-id) is an error. A setting that no
 * longer does anything (pct-seed: RFC 9989 removed DMARC's pct, so nothing
 * is sampled) is still accepted, with a warning saying so, so rule files
 * written for an older postern keep compiling.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lang/check_private.h"
#include "util/limits.h"

/* ---- Settings --------------------------------------------------------- */

struct setting_def;
typedef int (*setting_fn)(struct checker *c, const pst_ast_setting *s, pst_settings *out);

static int set_authserv(struct checker *c, const pst_ast_setting *s, pst_settings *out);
static int set_trusted(struct checker *c, const pst_ast_setting *s, pst_settings *out);
static int set_aqr(struct checker *c, const pst_ast_setting *s, pst_settings *out);
static int set_number(struct checker *c, const pst_ast_setting *s, pst_settings *out);
static int set_quarantine_reason(struct checker *c, const pst_ast_setting *s, pst_settings *out);
static int set_obsolete(struct checker *c, const pst_ast_setting *s, pst_settings *out);

static const struct setting_def {
	const char *name;
	pst_ast_value_kind kind;      /* the value it takes */
	int repeat;                   /* may be given more than once */
	setting_fn apply;
	long long min, max;           /* numbers */
	size_t offset;                /* numbers: where in pst_settings */
	size_t size;
} settings[] = {
	{ "authserv-id", PST_AV_STRING, 0, set_authserv, 0, 0, 0, 0 },
	{ "trusted-authserv-id", PST_AV_STRING, 1, set_trusted, 0, 0, 0, 0 },
	{ "after-queue-reject", PST_AV_WORD, 0, set_aqr, 0, 0, 0, 0 },
	{ "dkim-max-signatures", PST_AV_NUMBER, 0, set_number, 1, 1000,
	  offsetof(pst_settings, dkim_max_signatures), sizeof(unsigned) },
	{ "dkim-clock-skew", PST_AV_NUMBER, 0, set_number, 0, PST_MAX_DKIM_CLOCK_SKEW,
	  offsetof(pst_settings, dkim_clock_skew), sizeof(unsigned) },
	{ "regex-match-limit", PST_AV_NUMBER, 0, set_number, 1, UINT32_MAX,
	  offsetof(pst_settings, match_limit), sizeof(uint32_t) },
	{ "dns-budget", PST_AV_NUMBER, 0, set_number, 1, 3600000,
	  offsetof(pst_settings, dns_budget_ms), sizeof(unsigned) },
	{ "dns-max-questions", PST_AV_NUMBER, 0, set_number, 1, 10000,
	  offsetof(pst_settings, dns_max_questions), sizeof(unsigned) },
	{ "pct-seed", PST_AV_NUMBER, 0, set_obsolete, 0, 0, 0, 0 },
	{ "quarantine-reason", PST_AV_WORD, 0, set_quarantine_reason, 0, 0, 0, 0 },
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static const struct setting_def *setting_find(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

/* An authserv-id: a non-empty token without white space or controls. */
static int authserv_ok(struct checker *c, const pst_ast_setting *s)
{
	const pst_ast_str *v = s->value->str;
	if (pst_chk_plain_text(c, s->file, v, "an authserv-id") < 0)
		return -1;
	for (size_t i = 0; i < v->len; i++)
		if ((unsigned char)v->s[i] <= 0x20 || v->s[i] == 0x7f || v->s[i] == ';') {
			pst_chk_err(c, s->file, &v->loc, "bad %s \"%s\": no spaces, control characters or ';'",
			    s->name.s, v->s);
			return -1;
		}
	if (v->len == 0) {
		pst_chk_err(c, s->file, &v->loc, "empty %s", s->name.s);
		return -1;
	}
	return 0;
}

static int set_authserv(struct checker *c, const pst_ast_setting *s, pst_settings *out)
{
	if (authserv_ok(c, s) < 0)
		return -1;
	out->authserv_id = s->value->str->s;
	return 0;
}

static int set_trusted(struct checker *c, const pst_ast_setting *s, pst_settings *out)
{
	if (authserv_ok(c, s) < 0)
		return -1;
	const char **ids = pst_ast_alloc(c->ast, (out->ntrusted + 1) * sizeof *ids);
	if (ids == NULL)
		return -1;
	if (out->ntrusted)
		memcpy(ids, out->trusted_authserv_ids, out->ntrusted * sizeof *ids);
	ids[out->ntrusted++] = s->value->str->s;
	out->trusted_authserv_ids = ids;
	return 0;
}

static const char *const aqr_words[] = { "reject-if-spf-pass", "reject", "quarantine", "discard", NULL };

int pst_chk_aqr(struct checker *c, const char *file, const pst_ast_word *w, pst_aqr *out)
{
	int i = pst_chk_name_index(aqr_words, w->s);
	if (i < 0) {
		pst_chk_err(c, file, &w->loc, "unknown after-queue-reject action '%s'%s (reject, "
		    "quarantine, discard or reject-if-spf-pass)", w->s, pst_chk_dym(w->s, w->len, aqr_words, 4));
		return -1;
	}
	static const pst_aqr map[] = { PST_AQR_REJECT_IF_SPF_PASS, PST_AQR_REJECT,
	                               PST_AQR_QUARANTINE, PST_AQR_DISCARD };
	*out = map[i];
	return 0;
}

static int set_aqr(struct checker *c, const pst_ast_setting *s, pst_settings *out)
{
	return pst_chk_aqr(c, s->file, &s->value->word, &out->after_queue_reject);
}

static const char *const onoff_words[] = { "on", "off", NULL };

static int set_quarantine_reason(struct checker *c, const pst_ast_setting *s, pst_settings *out)
{
	const pst_ast_word *w = &s->value->word;
	int i = pst_chk_name_index(onoff_words, w->s);
	if (i < 0) {
		pst_chk_err(c, s->file, &w->loc, "%s takes on or off, not '%s'", s->name.s, w->s);
		return -1;
	}
	out->quarantine_reason = i == 0;
	return 0;
}

static int set_number(struct checker *c, const pst_ast_setting *s, pst_settings *out)
{
	const struct setting_def *def = setting_find(s->name.s);
	long long n = s->value->n;
	if (n < def->min || n > def->max) {
		pst_chk_err(c, s->file, &s->value->loc, "%s must be between %lld and %lld, not %lld",
		    def->name, def->min, def->max, n);
		return -1;
	}
	unsigned v = (unsigned)n;
	memcpy((char *)out + def->offset, &v, sizeof v);
	return 0;
}

/* A setting kept only so old rule files compile: a warning, no effect. */
static int set_obsolete(struct checker *c, const pst_ast_setting *s, pst_settings *out)
{
	(void)out;
	pst_chk_warn(c, s->file, &s->name.loc, "%s has no effect: RFC 9989 removed the DMARC pct "
	             "tag (a record's pct is ignored, nothing is sampled); remove this setting",
	             s->name.s);
	return 0;
}

static const char *const value_kind_names[] = {
	[PST_AV_STRING] = "a string", [PST_AV_NUMBER] = "a number", [PST_AV_WORD] = "a word",
	[PST_AV_IP] = "an IP address",
};

/* Fields bearing our own authserv-id arrived forged (RFC 8601 section 5):
 * trusting that id would let a sender write postern's facts. */
static void refuse_own_id_trusted(struct checker *c, const pst_settings *out)
{
	if (out->authserv_id == NULL)
		return;
	for (const pst_ast_setting *s = c->ast->settings; s; s = s->next)
		if (strcmp(s->name.s, "trusted-authserv-id") == 0 && s->value->kind == PST_AV_STRING &&
		    strcasecmp(s->value->str->s, out->authserv_id) == 0)
			pst_chk_err(c, s->file, &s->value->loc, "trusted-authserv-id \"%s\" is postern's own "
			    "authserv-id: fields bearing it arrive forged and are removed, never trusted",
			    s->value->str->s);
}

void pst_chk_settings(struct checker *c)
{
	pst_settings *out = &c->ast->settings_out;
	memset(out, 0, sizeof *out);
	out->after_queue_reject = PST_AQR_REJECT_IF_SPF_PASS;
	out->dkim_max_signatures = PST_DEFAULT_MAX_DKIM_SIGS;
	out->dkim_clock_skew = PST_DEFAULT_DKIM_CLOCK_SKEW;
	out->match_limit = PST_DEFAULT_MATCH_LIMIT;
	out->dns_budget_ms = PST_DEFAULT_DNS_BUDGET_MS;
	out->dns_max_questions = PST_DEFAULT_DNS_MAX_QUESTIONS;
	const pst_ast_setting *seen[NSETTINGS] = { 0 };
	const char *names[NSETTINGS + 1];
	for (size_t i = 0; i < NSETTINGS; i++)
		names[i] = settings[i].name;
	names[NSETTINGS] = NULL;
	for (const pst_ast_setting *s = c->ast->settings; s; s = s->next) {
		const struct setting_def *def = setting_find(s->name.s);
		if (def == NULL) {
			pst_chk_err(c, s->file, &s->name.loc, "unknown setting '%s'%s", s->name.s,
			    pst_chk_dym(s->name.s, s->name.len, names, NSETTINGS));
			continue;
		}
		size_t i = (size_t)(def - settings);
		if (seen[i] && !def->repeat) {
			pst_chk_err(c, s->file, &s->name.loc, "%s is set twice; the first is at %s:%u:%u",
			    def->name, seen[i]->file, seen[i]->loc.first_line, seen[i]->loc.first_column);
			continue;
		}
		seen[i] = s;
		if (s->value->kind != def->kind) {
			pst_chk_err(c, s->file, &s->value->loc, "%s takes %s", def->name,
			    value_kind_names[def->kind]);
			continue;
		}
		def->apply(c, s, out);
	}
	refuse_own_id_trusted(c, out);
}
