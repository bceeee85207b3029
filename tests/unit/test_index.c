/* Unit tests for the rule index (lang/index.c): random policies, compiled
 * by the real compiler, evaluated over random messages with the index and
 * without it (prog->index NULL, the evaluator's switch); the outcomes must
 * be identical in everything (decision, reply, rule, edits, audit and
 * matched lists, logs, tags, warnings) and so must the facts fetched.
 * Seed: POSTERN_TEST_SEED (decimal), else a fixed one; cases:
 * POSTERN_INDEX_CASES (default 4000 messages over 400 policies). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eval/eval.h"
#include "lang/diag.h"
#include "lang/index.h"
#include "lang/program.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/ip.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Randomness ---------------------------------------------------------- */

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static size_t pick(size_t n)
{
	return (size_t)(rnd() % n);
}

static int chance(unsigned percent)
{
	return pick(100) < percent;
}

#define PICK(a) ((a)[pick(N_ELEMS(a))])

/* ---- A fact source backed by a table ------------------------------------ */

typedef struct msg_header {
	const char *name, *value;
} msg_header;

typedef struct msg {
	pst_value facts[PST_F__COUNT];
	int fails[PST_F__COUNT];
	unsigned calls[PST_F__COUNT];
	msg_header headers[6];
	size_t nheaders;
	const char *rcpt;
} msg;

static int src_fact(void *ctx, pst_fact f, pst_value *out)
{
	msg *m = ctx;

	m->calls[f]++;
	if (m->fails[f])
		return -1;
	*out = m->facts[f];
	return 0;
}

static size_t src_header_count(void *ctx, const char *name)
{
	msg *m = ctx;
	size_t n = 0;

	for (size_t i = 0; i < m->nheaders; i++)
		n += strcasecmp(m->headers[i].name, name) == 0;
	return n;
}

static int src_header_value(void *ctx, const char *name, size_t nth, const char **value,
                            size_t *len)
{
	msg *m = ctx;

	for (size_t i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0 && nth-- == 0) {
			*value = m->headers[i].value;
			*len = strlen(*value);
			return 0;
		}
	return -1;
}

/* ---- Pools of values ------------------------------------------------------ */

static const char *const domain_values[] = {
	"a.example", "A.EXAMPLE", "sub.a.example", "b.example", "b.example.", "x.test",
	"deep.sub.b.example", "", "nodot", "c.example", "Sub.A.Example.", "xa.example",
};
static const char *const address_values[] = {
	"u@a.example", "U@Sub.A.Example", "v@b.example", "noat", "w@x.test", "",
	"a@b@c.example", "V@B.EXAMPLE", "u@xa.example", "u@a.example.",
};
static const char *const ip_values[] = {
	"192.0.2.1", "192.0.2.200", "198.51.100.7", "10.1.2.3", "2001:db8::1",
	"2001:db8:1::5", "::ffff:192.0.2.1", "203.0.113.9", "198.51.100.8", "::1",
};
static const char *const string_values[] = {
	"v1", "V1", "v2", "hello world", "a.example", "Sub.A.Example", "", "x.test.",
	"Hello World", "v3",
};
static const char *const dkim_members[] = { "x.test", "a.example", "c.example" };
static const char *const header_names[] = { "X-Tag", "x-tag", "X-Other" };
static const char *const rcpt_values[] = {
	"u@a.example", "u@sub.a.example", "u@b.example", "", "U@A.EXAMPLE", "u@x.test",
};

static const char *const domain_lits[] = {
	"a.example", "b.example", "sub.a.example", "x.test", "c.example", "nodot", "A.Example",
};
static const char *const address_lits[] = { "u@a.example", "v@b.example", "w@x.test", "U@A.example" };
static const char *const ip_lits[] = {
	"192.0.2.0/24", "192.0.2.1", "198.51.100.7", "10.0.0.0/8", "2001:db8::/32",
	"2001:db8::1", "0.0.0.0/0", "::/0", "198.51.100.0/31", "192.0.2.128/25",
};
static const char *const ip_hosts[] = { "192.0.2.1", "198.51.100.7", "2001:db8::1", "10.1.2.3" };
static const char *const string_lits[] = { "v1", "v2", "hello world", "a.example", "x.test", "V2" };

static const pst_fact domain_facts[] = {
	PST_F_FROM_DOMAIN, PST_F_ENVELOPE_FROM_DOMAIN, PST_F_RCPT_DOMAIN,
};
static const pst_fact address_facts[] = { PST_F_FROM_ADDRESS, PST_F_ENVELOPE_FROM, PST_F_RCPT };
static const pst_fact string_facts[] = { PST_F_CLIENT_HELO, PST_F_SUBJECT, PST_F_FROM_DISPLAY };

/* ---- Random policies ------------------------------------------------------ */

static void lit_list(pst_buf *b, const char *const *pool, size_t n, int quoted)
{
	size_t k = 1 + pick(3);

	pst_buf_puts(b, "{ ");
	for (size_t i = 0; i < k; i++)
		pst_buf_printf(b, quoted ? "%s\"%s\"" : "%s%s", i ? ", " : "", pool[pick(n)]);
	pst_buf_puts(b, " }");
}

#define LIT_LIST(b, a, q) lit_list((b), (a), N_ELEMS(a), (q))

static void gen_test(pst_buf *b)
{
	switch (pick(7)) {
	case 0: {                                   /* a domain */
		const char *f = pst_fact_name(PICK(domain_facts));

		switch (pick(8)) {
		case 0: case 1: pst_buf_printf(b, "%s == \"%s\"", f, PICK(domain_lits)); break;
		case 2: pst_buf_printf(b, "%s != \"%s\"", f, PICK(domain_lits)); break;
		case 3: case 4: pst_buf_printf(b, "%s in ", f); LIT_LIST(b, domain_lits, 1); break;
		case 5: pst_buf_printf(b, "%s not in ", f); LIT_LIST(b, domain_lits, 1); break;
		case 6: pst_buf_printf(b, "%s in doms", f); break;
		default: pst_buf_printf(b, "%s ends-with \"example\"", f); break;
		}
		break;
	}
	case 1: {                                   /* an address */
		const char *f = pst_fact_name(PICK(address_facts));

		switch (pick(6)) {
		case 0: pst_buf_printf(b, "%s == \"%s\"", f, PICK(address_lits)); break;
		case 1: pst_buf_printf(b, "%s in ", f); LIT_LIST(b, domain_lits, 1); break;
		case 2: pst_buf_printf(b, "%s in ", f); LIT_LIST(b, address_lits, 1); break;
		case 3: pst_buf_printf(b, "%s in doms", f); break;
		case 4: pst_buf_printf(b, "%s in addrs", f); break;
		default: pst_buf_printf(b, "%s matches /^u@/i", f); break;
		}
		break;
	}
	case 2: {                                   /* a string fact or header */
		char f[64];

		if (chance(50))
			snprintf(f, sizeof f, "%s", pst_fact_name(PICK(string_facts)));
		else
			snprintf(f, sizeof f, "%sheader \"%s\"", chance(15) ? "any " : "",
			         PICK(header_names));
		switch (pick(7)) {
		case 0: case 1: pst_buf_printf(b, "%s == \"%s\"", f, PICK(string_lits)); break;
		case 2: pst_buf_printf(b, "%s in ", f); LIT_LIST(b, string_lits, 1); break;
		case 3: pst_buf_printf(b, "%s in doms", f); break;
		case 4: pst_buf_printf(b, "%s in strs", f); break;
		case 5: pst_buf_printf(b, "%s != \"%s\"", f, PICK(string_lits)); break;
		default: pst_buf_printf(b, "%s contains \"v\"", f); break;
		}
		break;
	}
	case 3:                                     /* the client IP */
		switch (pick(5)) {
		case 0: pst_buf_printf(b, "client.ip == %s", PICK(ip_hosts)); break;
		case 1: case 2: pst_buf_puts(b, "client.ip in "); LIT_LIST(b, ip_lits, 0); break;
		case 3: pst_buf_puts(b, "client.ip in nets"); break;
		default: pst_buf_puts(b, "client.ip not in nets"); break;
		}
		break;
	case 4:                                     /* numbers, results */
		switch (pick(4)) {
		case 0: pst_buf_printf(b, "from.count > %d", (int)pick(3)); break;
		case 1: pst_buf_printf(b, "count(header \"X-Tag\") == %d", (int)pick(3)); break;
		case 2: pst_buf_puts(b, "spf == pass"); break;
		default: pst_buf_puts(b, "spf in { pass, fail }"); break;
		}
		break;
	case 5:                                     /* facts compared with facts: never keyed */
		switch (pick(6)) {
		case 0: case 1:
			pst_buf_printf(b, "%s == %s", pst_fact_name(PICK(domain_facts)),
			               pst_fact_name(PICK(domain_facts)));
			break;
		case 2:
			pst_buf_printf(b, "%s != %s", pst_fact_name(PICK(address_facts)),
			               pst_fact_name(PICK(address_facts)));
			break;
		case 3:
			pst_buf_printf(b, "%s in dkim.domains", pst_fact_name(chance(50) ?
			               PICK(domain_facts) : PICK(address_facts)));
			break;
		case 4:
			pst_buf_printf(b, "client.helo == %s", pst_fact_name(PICK(domain_facts)));
			break;
		default: pst_buf_puts(b, "count(header \"X-Tag\") >= from.count"); break;
		}
		break;
	default:                                    /* existence, regexes */
		if (chance(50))
			pst_buf_printf(b, "header \"%s\" exists", PICK(header_names));
		else
			pst_buf_printf(b, "subject matches /%s/", chance(50) ? "^v" : "world$");
		break;
	}
}

static void gen_cond(pst_buf *b, int depth)
{
	unsigned r = (unsigned)pick(100);

	if (depth >= 3 || r < 45) {
		gen_test(b);
	} else if (r < 70) {                        /* the indexable shape: test and ... */
		gen_test(b);
		pst_buf_puts(b, " and (");
		gen_cond(b, depth + 1);
		pst_buf_puts(b, ")");
	} else if (r < 80) {
		pst_buf_puts(b, "(");
		gen_cond(b, depth + 1);
		pst_buf_puts(b, ") and (");
		gen_cond(b, depth + 1);
		pst_buf_puts(b, ")");
	} else if (r < 90) {
		pst_buf_puts(b, "(");
		gen_cond(b, depth + 1);
		pst_buf_puts(b, ") or (");
		gen_cond(b, depth + 1);
		pst_buf_puts(b, ")");
	} else if (r < 97) {
		pst_buf_puts(b, "not (");
		gen_cond(b, depth + 1);
		pst_buf_puts(b, ")");
	} else {
		pst_buf_puts(b, "true");
	}
}

static void gen_actions(pst_buf *b, int n)
{
	size_t k = pick(3);

	for (size_t i = 0; i < k; i++) {
		if (i)
			pst_buf_puts(b, ", ");
		switch (pick(5)) {
		case 0: pst_buf_printf(b, "add header \"X-R%d\" \"${from.domain} %d\"", n, n); break;
		case 1: pst_buf_printf(b, "tag \"t%d\"", n); break;
		case 2: pst_buf_printf(b, "log \"l%d ${client.ip}\"", n); break;
		case 3: pst_buf_printf(b, "prepend subject \"[%d] \"", n); break;
		default: pst_buf_puts(b, "remove header \"X-Other\""); break;
		}
	}
	if (k == 0 || chance(30)) {
		if (k)
			pst_buf_puts(b, ", ");
		switch (pick(5)) {
		case 0: pst_buf_printf(b, "reject \"no %d ${rcpt}\"", n); break;
		case 1: pst_buf_puts(b, "accept"); break;
		case 2: pst_buf_printf(b, "quarantine \"Q%d\"", n); break;
		case 3: pst_buf_puts(b, "tempfail"); break;
		default: pst_buf_puts(b, "discard"); break;
		}
	}
}

static int rule_no;

static void gen_rule(pst_buf *b)
{
	int n = rule_no++;

	pst_buf_printf(b, "rule r%d%s { when ", n, chance(10) ? " mode audit" : "");
	gen_cond(b, 0);
	pst_buf_puts(b, " then ");
	gen_actions(b, n);
	pst_buf_puts(b, "; }\n");
}

static void gen_policy(pst_buf *b, size_t nrules)
{
	rule_no = 0;
	pst_buf_puts(b, "list doms = domains { \"a.example\", \"x.test\", \"B.example\" };\n"
	                "list nets = ips { 192.0.2.0/24, 2001:db8::/32, 198.51.100.7 };\n"
	                "list strs = strings { \"v1\", \"hello world\", \"A.example\" };\n"
	                "list addrs = strings { \"u@a.example\", \"V@b.example\" };\n");
	for (size_t i = 0; i < nrules; i++) {
		if (chance(10)) {
			size_t k = 1 + pick(4);

			pst_buf_printf(b, "tenant \"%s\"%s {\n", chance(50) ? "a.example" : "b.example",
			               chance(20) ? " mode audit" : "");
			for (size_t j = 0; j < k; j++)
				gen_rule(b);
			pst_buf_puts(b, "}\n");
		} else {
			gen_rule(b);
		}
	}
}

/* ---- Random messages ------------------------------------------------------ */

static void set_text(msg *m, pst_fact f, const char *s)
{
	m->facts[f].known = 1;
	m->facts[f].type = pst_fact_type(f);
	m->facts[f].u.s.p = s;
	m->facts[f].u.s.len = strlen(s);
}

static void gen_msg(msg *m)
{
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < N_ELEMS(domain_facts); i++)
		if (chance(85))
			set_text(m, domain_facts[i], PICK(domain_values));
	for (size_t i = 0; i < N_ELEMS(address_facts); i++)
		if (chance(85))
			set_text(m, address_facts[i], PICK(address_values));
	for (size_t i = 0; i < N_ELEMS(string_facts); i++)
		if (chance(85))
			set_text(m, string_facts[i], PICK(string_values));
	if (chance(85)) {
		const char *ip = PICK(ip_values);

		m->facts[PST_F_CLIENT_IP].known = 1;
		m->facts[PST_F_CLIENT_IP].type = PST_T_IP;
		assert_int_equal(pst_ip_parse(ip, strlen(ip), &m->facts[PST_F_CLIENT_IP].u.ip), 0);
	}
	m->facts[PST_F_FROM_COUNT].known = 1;
	m->facts[PST_F_FROM_COUNT].type = PST_T_NUMBER;
	m->facts[PST_F_FROM_COUNT].u.n = (long long)pick(3);
	m->facts[PST_F_SPF].known = 1;
	m->facts[PST_F_SPF].type = PST_T_RESULT;
	m->facts[PST_F_SPF].u.result = (pst_auth_result)pick(PST_AR__COUNT);
	if (chance(85)) {
		m->facts[PST_F_DKIM_DOMAINS].known = 1;
		m->facts[PST_F_DKIM_DOMAINS].type = PST_T_DOMAINSET;
		m->facts[PST_F_DKIM_DOMAINS].u.set.n = pick(N_ELEMS(dkim_members) + 1);
		m->facts[PST_F_DKIM_DOMAINS].u.set.items = dkim_members;
	}
	for (size_t f = 0; f < PST_F__COUNT; f++)
		if (f != PST_F_RCPT && f != PST_F_RCPT_DOMAIN && chance(1))
			m->fails[f] = 1;        /* the source fails: the evaluation fails */
	m->nheaders = pick(N_ELEMS(m->headers) + 1);
	for (size_t i = 0; i < m->nheaders; i++) {
		m->headers[i].name = PICK(header_names);
		m->headers[i].value = PICK(string_values);
	}
	m->rcpt = PICK(rcpt_values);
}

/* ---- Comparing outcomes --------------------------------------------------- */

static void put_list(pst_buf *b, const char *what, const char *const *v, size_t n)
{
	pst_buf_printf(b, "%s:", what);
	for (size_t i = 0; i < n; i++)
		pst_buf_printf(b, " [%s]", v[i]);
	pst_buf_puts(b, "\n");
}

/* Everything an outcome says, and the facts fetched, as text. */
static void describe(pst_buf *b, const pst_outcome *o, const msg *m)
{
	pst_buf_printf(b, "%s %d %s [%s] folder=%s rule=%s\n", pst_decision_name(o->decision),
	               o->code, o->enhanced, o->text, o->folder ? o->folder : "-",
	               o->rule ? o->rule : "-");
	for (size_t i = 0; i < o->nedits; i++)
		pst_buf_printf(b, "edit %s %s [%s] by %s\n", pst_action_op(o->edits[i].kind),
		               o->edits[i].name ? o->edits[i].name : "-",
		               o->edits[i].value ? o->edits[i].value : "-", o->edits[i].rule);
	put_list(b, "audit", o->audit, o->naudit);
	put_list(b, "matched", o->matched, o->nmatched);
	put_list(b, "logs", o->logs, o->nlogs);
	put_list(b, "tags", o->tags, o->ntags);
	put_list(b, "warnings", o->warnings, o->nwarnings);
	pst_buf_puts(b, "facts:");
	for (size_t f = 0; f < PST_F__COUNT; f++)
		if (m->calls[f])
			pst_buf_printf(b, " %s=%u", pst_fact_name((pst_fact)f), m->calls[f]);
	pst_buf_puts(b, "\n");
}

/* Evaluate m under prog with or without its index; the description in out. */
static void run(pst_program *prog, int use_index, const msg *tmpl, pst_buf *out, int *decided)
{
	const pst_index *ix = prog->index;
	msg m = *tmpl;
	pst_fact_source src = { src_fact, src_header_count, src_header_value, &m };
	pst_arena *a = pst_arena_new();
	pst_outcome o;

	assert_non_null(a);
	if (!use_index)
		prog->index = NULL;
	int rc = pst_eval_recipient(prog, &src, m.rcpt, NULL, a, &o);
	prog->index = ix;
	/* A failing source fails the evaluation (never a decision on an
	 * unknown fact): both ways must fail alike, after the same reads. */
	if (rc != 0) {
		pst_buf_printf(out, "evaluation failed\n");
		*decided = 0;
	} else {
		describe(out, &o, &m);
		*decided = o.rule != NULL;
	}
	pst_arena_free(&a);
}

static pst_program *compile(const pst_buf *text)
{
	pst_diags *d = pst_diags_new();
	pst_program *p = NULL;

	assert_non_null(d);
	if (pst_program_compile_text("random.rules", text->data, text->len, NULL, d, &p) != 0) {
		pst_buf r = PST_BUF_INIT;

		pst_diags_render(d, &r);
		fprintf(stderr, "%s\n%s", text->data, pst_buf_str(&r));
		pst_buf_free(&r);
		pst_diags_free(&d);
		fail_msg("a generated policy did not compile");
	}
	pst_diags_free(&d);
	return p;
}

static unsigned long env_num(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 10) : dflt;
}

static void describe_msg(const msg *m)
{
	char ip[PST_IP_FORMAT_LEN];

	fprintf(stderr, "rcpt [%s]\n", m->rcpt);
	for (size_t f = 0; f < PST_F__COUNT; f++) {
		const pst_value *v = &m->facts[f];

		if (m->fails[f])
			fprintf(stderr, "%s: (fails)\n", pst_fact_name((pst_fact)f));
		else if (v->known && v->type == PST_T_IP)
			fprintf(stderr, "%s: %s\n", pst_fact_name((pst_fact)f),
			        pst_ip_format(&v->u.ip, ip, sizeof ip));
		else if (v->known && (v->type == PST_T_STRING || v->type == PST_T_ADDRESS ||
		                      v->type == PST_T_DOMAIN))
			fprintf(stderr, "%s: [%.*s]\n", pst_fact_name((pst_fact)f), (int)v->u.s.len,
			        v->u.s.p);
	}
	for (size_t i = 0; i < m->nheaders; i++)
		fprintf(stderr, "%s: %s\n", m->headers[i].name, m->headers[i].value);
}

/* ---- Tests ------------------------------------------------------------------ */

static void random_equivalence(void **state)
{
	unsigned long cases = env_num("POSTERN_INDEX_CASES", 4000);
	unsigned long policies = cases / 10 ? cases / 10 : 1;
	size_t indexed = 0, keyed = 0, decided_n = 0, matched_n = 0, runs = 0;

	(void)state;
	rng_state ^= env_num("POSTERN_TEST_SEED", 0) * UINT64_C(0x2545f4914f6cdd1d);
	for (unsigned long p = 0; p < policies; p++) {
		pst_buf text = PST_BUF_INIT;
		pst_program *prog;

		gen_policy(&text, 1 + pick(p % 4 == 0 ? 60 : 12));
		prog = compile(&text);
		if (prog->index != NULL) {
			indexed++;
			keyed += prog->index->nkeyed;
		}
		for (unsigned long k = 0; k < 10; k++) {
			pst_buf with = PST_BUF_INIT, without = PST_BUF_INIT;
			msg m;
			int d1, d2;

			gen_msg(&m);
			run(prog, 1, &m, &with, &d1);
			run(prog, 0, &m, &without, &d2);
			if (strcmp(pst_buf_str(&with), pst_buf_str(&without)) != 0) {
				fprintf(stderr, "policy:\n%s\nmessage:\n", text.data);
				describe_msg(&m);
				fprintf(stderr, "with the index:\n%swithout:\n%s", pst_buf_str(&with),
				        pst_buf_str(&without));
				fail_msg("the index changed an outcome (policy %lu, message %lu)", p, k);
			}
			decided_n += d1;
			matched_n += strstr(pst_buf_str(&with), "matched: [") != NULL;
			runs++;
			pst_buf_free(&with);
			pst_buf_free(&without);
		}
		pst_program_free(&prog);
		pst_buf_free(&text);
	}
	fprintf(stderr, "# %zu evaluations, %zu decided by a rule, %zu with a match; "
	        "%zu of %lu programs indexed, %zu keyed rules\n", runs, decided_n, matched_n,
	        indexed, policies, keyed);
	/* The corpus must exercise both paths, or it proves nothing. */
	assert_true(indexed * 10 >= policies * 8);
	assert_true(decided_n * 10 >= runs);
	assert_true(matched_n * 4 >= runs);
	assert_true(runs - decided_n >= runs / 10);
}

/* Directed cases with known answers: what the index must still find. */
static const char directed_rules[] =
	"list doms = domains { \"a.example\" };\n"
	"list nets = ips { 192.0.2.0/24, 2001:db8::/32 };\n"
	"rule d_eq { when from.domain == \"b.example\" then tag \"d_eq\"; }\n"
	"rule d_in { when from.domain in doms then tag \"d_in\"; }\n"
	"rule addr_in { when envelope.from in { \"x.test\" } then tag \"addr_in\"; }\n"
	"rule ip_in { when client.ip in nets and subject contains \"go\" then tag \"ip_in\"; }\n"
	"rule ip_eq { when client.ip == 198.51.100.7 then tag \"ip_eq\"; }\n"
	"rule hdr { when header \"X-Tag\" == \"Blue\" then tag \"hdr\"; }\n"
	"rule helo_dom { when client.helo in doms then tag \"helo_dom\"; }\n"
	"tenant \"t.example\" {\n"
	"  rule ten { when from.domain == \"b.example\" then tag \"ten\"; }\n"
	"}\n"
	"rule last { when from.domain == \"b.example\" then reject; }\n"
	"rule never { when from.domain == \"b.example\" then tag \"never\"; }\n";

typedef struct directed {
	const char *from_domain, *env_from, *ip, *subject, *helo, *xtag, *rcpt;
	const char *tags;             /* the tags, space separated */
	const char *rule;             /* the deciding rule, or NULL */
} directed;

static void directed_cases(void **state)
{
	static const directed cases[] = {
		{ "B.Example.", NULL, NULL, NULL, NULL, NULL, "u@x.example", "d_eq", "last" },
		{ "deep.sub.A.example", NULL, NULL, NULL, NULL, NULL, "", "d_in", NULL },
		{ "xa.example", NULL, NULL, NULL, NULL, NULL, "", "", NULL },
		{ NULL, "Bob@Mail.X.Test", NULL, NULL, NULL, NULL, "", "addr_in", NULL },
		{ NULL, "bob@xx.test", NULL, NULL, NULL, NULL, "", "", NULL },
		{ NULL, NULL, "192.0.2.99", "let's go", NULL, NULL, "", "ip_in", NULL },
		{ NULL, NULL, "192.0.2.99", "stop", NULL, NULL, "", "", NULL },
		{ NULL, NULL, "2001:db8:ffff::1", "go", NULL, NULL, "", "ip_in", NULL },
		{ NULL, NULL, "::ffff:198.51.100.7", NULL, NULL, NULL, "", "ip_eq", NULL },
		{ NULL, NULL, "198.51.100.6", NULL, NULL, NULL, "", "", NULL },
		{ NULL, NULL, NULL, NULL, "MX.A.EXAMPLE", "blue", "", "hdr helo_dom", NULL },
		{ NULL, NULL, NULL, NULL, NULL, "blue ", "", "", NULL },
		{ "b.example", NULL, NULL, NULL, NULL, NULL, "u@mx.T.example", "d_eq ten", "last" },
	};
	pst_buf text = PST_BUF_INIT;
	pst_program *prog;

	(void)state;
	pst_buf_puts(&text, directed_rules);
	prog = compile(&text);
	assert_non_null(prog->index);
	assert_int_equal(prog->index->nkeyed, prog->nrules);
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const directed *c = &cases[i];
		pst_buf with = PST_BUF_INIT, without = PST_BUF_INIT, want = PST_BUF_INIT;
		msg m;
		int d1, d2;

		memset(&m, 0, sizeof m);
		if (c->from_domain)
			set_text(&m, PST_F_FROM_DOMAIN, c->from_domain);
		if (c->env_from)
			set_text(&m, PST_F_ENVELOPE_FROM, c->env_from);
		if (c->subject)
			set_text(&m, PST_F_SUBJECT, c->subject);
		if (c->helo)
			set_text(&m, PST_F_CLIENT_HELO, c->helo);
		if (c->ip) {
			m.facts[PST_F_CLIENT_IP].known = 1;
			m.facts[PST_F_CLIENT_IP].type = PST_T_IP;
			assert_int_equal(pst_ip_parse(c->ip, strlen(c->ip),
			                              &m.facts[PST_F_CLIENT_IP].u.ip), 0);
		}
		if (c->xtag) {
			m.headers[0].name = "x-tag";
			m.headers[0].value = c->xtag;
			m.nheaders = 1;
		}
		m.rcpt = c->rcpt;
		run(prog, 1, &m, &with, &d1);
		run(prog, 0, &m, &without, &d2);
		assert_string_equal(pst_buf_str(&with), pst_buf_str(&without));
		pst_buf_puts(&want, "tags:");
		for (const char *p = c->tags; *p;) {
			size_t n = strcspn(p, " ");

			pst_buf_printf(&want, " [%.*s]", (int)n, p);
			p += n + (p[n] == ' ');
		}
		pst_buf_puts(&want, "\n");
		if (strstr(pst_buf_str(&with), pst_buf_str(&want)) == NULL)
			fail_msg("case %zu: want %s, got\n%s", i, pst_buf_str(&want), pst_buf_str(&with));
		assert_int_equal(d1, c->rule != NULL);
		if (c->rule)
			assert_non_null(strstr(pst_buf_str(&with), c->rule));
		pst_buf_free(&with);
		pst_buf_free(&without);
		pst_buf_free(&want);
	}
	pst_program_free(&prog);
	pst_buf_free(&text);
}

/* A fact on the right is never a key: with a keyed rule of the same
 * operand around, the fact rules still run and match as without the index. */
static void fact_rules_are_plain(void **state)
{
	static const char rules[] =
		"rule k { when from.domain == \"b.example\" then tag \"k\"; }\n"
		"rule f_eq { when from.domain == envelope.from.domain then tag \"f_eq\"; }\n"
		"rule f_ne { when from.domain != envelope.from.domain then tag \"f_ne\"; }\n"
		"rule f_in { when from.domain in dkim.domains then tag \"f_in\"; }\n"
		"rule f_and { when client.helo == from.domain and subject == \"go\" then tag \"f_and\"; }\n";
	static const struct {
		const char *from, *env, *helo;
		const char *tags;
	} cases[] = {
		{ "a.example", "A.Example", "mx.test", " [f_eq] [f_in]" },
		{ "b.example", "b.example", "b.example", " [k] [f_eq] [f_and]" },
		{ "sub.a.example", "x.test", "mx.test", " [f_ne] [f_in]" },
		{ "c.example", NULL, "c.example", " [f_and]" },
	};
	static const char *const members[] = { "a.example" };
	pst_buf text = PST_BUF_INIT;
	pst_program *prog;

	(void)state;
	pst_buf_puts(&text, rules);
	prog = compile(&text);
	assert_non_null(prog->index);
	if (prog->index->nkeyed != 1 || prog->index->nsteps != 5)
		fail_msg("got %zu keyed rules in %zu steps, want 1 in 5", prog->index->nkeyed,
		         prog->index->nsteps);
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		pst_buf with = PST_BUF_INIT, without = PST_BUF_INIT, want = PST_BUF_INIT;
		msg m;
		int d1, d2;

		memset(&m, 0, sizeof m);
		set_text(&m, PST_F_FROM_DOMAIN, cases[i].from);
		if (cases[i].env)
			set_text(&m, PST_F_ENVELOPE_FROM_DOMAIN, cases[i].env);
		set_text(&m, PST_F_CLIENT_HELO, cases[i].helo);
		set_text(&m, PST_F_SUBJECT, "go");
		m.facts[PST_F_DKIM_DOMAINS] = (pst_value){ .known = 1, .type = PST_T_DOMAINSET };
		m.facts[PST_F_DKIM_DOMAINS].u.set.items = members;
		m.facts[PST_F_DKIM_DOMAINS].u.set.n = 1;
		m.rcpt = "u@x.test";
		run(prog, 1, &m, &with, &d1);
		run(prog, 0, &m, &without, &d2);
		if (strcmp(pst_buf_str(&with), pst_buf_str(&without)) != 0)
			fail_msg("case %zu: with the index\n%s\nwithout\n%s\nwant the same", i,
			         pst_buf_str(&with), pst_buf_str(&without));
		pst_buf_printf(&want, "tags:%s\n", cases[i].tags);
		if (strstr(pst_buf_str(&with), pst_buf_str(&want)) == NULL)
			fail_msg("case %zu: got\n%s\nwant %s", i, pst_buf_str(&with), pst_buf_str(&want));
		pst_buf_free(&with);
		pst_buf_free(&without);
		pst_buf_free(&want);
	}
	pst_program_free(&prog);
	pst_buf_free(&text);
}

/* What stays plain: negations, or, a test that is not first, regexes. */
static void plain_rules(void **state)
{
	static const char rules[] =
		"rule n1 { when from.domain != \"a.example\" then tag \"1\"; }\n"
		"rule n2 { when from.domain not in { \"a.example\" } then tag \"2\"; }\n"
		"rule n3 { when from.domain == \"a.example\" or subject == \"x\" then tag \"3\"; }\n"
		"rule n4 { when subject contains \"x\" and from.domain == \"a.example\" then tag \"4\"; }\n"
		"rule n5 { when header \"X\" matches /^a$/ then tag \"5\"; }\n"
		"rule n6 { when any header \"X\" == \"a\" then tag \"6\"; }\n"
		"rule k1 { when from.domain == \"a.example\" and subject contains \"x\" then tag \"7\"; }\n";
	pst_buf text = PST_BUF_INIT;
	pst_program *prog;

	(void)state;
	pst_buf_puts(&text, rules);
	prog = compile(&text);
	assert_non_null(prog->index);
	assert_int_equal(prog->index->nkeyed, 1);
	assert_int_equal(prog->index->ngroups, 1);
	assert_int_equal(prog->index->nsteps, 7);
	pst_program_free(&prog);
	pst_buf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(directed_cases),
		cmocka_unit_test(plain_rules),
		cmocka_unit_test(fact_rules_are_plain),
		cmocka_unit_test(random_equivalence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
