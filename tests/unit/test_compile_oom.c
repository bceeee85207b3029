/* Allocation failures in the compiler: the Nth allocation fails, for every
 * N until a compile needs no more; each compile must fail cleanly (or
 * succeed), never crash or leak (run under the sanitizers). malloc and
 * friends are wrapped at link time (ld --wrap), so only the library's own
 * calls are counted; PCRE2's, libidn2's and libc's own (fopen, realpath)
 * are not.
 *
 * Two policies: text from memory (an error and a success), and a rule
 * file on disk that includes others and loads domain, IP and string
 * lists from files. For the second every run must either fail with an
 * "out of memory" diagnostic and no program, or give exactly the program
 * of the run without failures (compared field by field, list entries
 * included), so a list or include lost to ENOMEM cannot pass unseen. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lang/diag.h"
#include "lang/program.h"
#include "util/buf.h"
#include "util/ip.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long countdown = -1;   /* fail when it reaches 0; -1: never */
static long calls;

static int fail_now(void)
{
	calls++;
	if (countdown < 0)
		return 0;
	return countdown-- == 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }

static const char policy[] =
    "authserv-id \"mx.example.net\";\n"
    "trusted-authserv-id \"gw.example.net\";\n"
    "list internal = domains { \"example.net\", \"b\xc3\xbc" "cher.example\" };\n"
    "list nets = ips { 192.0.2.0/24, 2001:db8::/32 };\n"
    "list words = strings { \"b\", \"a\" };\n"
    "rule a { when dmarc == fail and not (client.ip in nets or from.domain in internal)\n"
    "  then reject 550 5.7.1 \"no ${from.domain}\"; }\n"
    "tenant \"agency.example\" mode audit {\n"
    "  rule b { when header \"X-C\" matches /^(A|B)$/i or subject in words\n"
    "    then add header \"X-D\" \"v ${client.ip}\", remove header \"X-E\" matching /x/; }\n"
    "}\n"
    "rule c { when count(header \"Received\") > 3 then log \"x\", tempfail \"later\"; }\n"
    "rule d { when client.hel == \"x\" then accept; }\n";   /* one error, for the diagnostics */

static void fingerprint(const pst_program *p, pst_buf *b);

/* The text with and without its last rule: an error and a success. A
 * failed run must say "out of memory" or give the reference diagnostics
 * (the error compile); a successful one the reference program. */
static void every_allocation_may_fail(void **state)
{
	(void)state;
	size_t lens[2] = { sizeof policy - 1, strstr(policy, "rule d") - policy };
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT, text = PST_BUF_INIT;
	for (int variant = 0; variant < 2; variant++) {
		long n;
		/* the reference run: diagnostics, and the program if any */
		{
			pst_diags *d = pst_diags_new();
			pst_program *p = NULL;
			assert_non_null(d);
			countdown = -1;
			int rc = pst_program_compile_text("oom.rules", policy, lens[variant], NULL, d, &p);
			assert_int_equal(rc, variant == 0 ? -1 : 0);
			pst_buf_clear(&want);
			assert_int_equal(pst_diags_render(d, &want), 0);
			if (p != NULL) {
				assert_int_equal(pst_program_rule_count(p), 3);
				fingerprint(p, &want);
			}
			pst_program_free(&p);
			pst_diags_free(&d);
		}
		for (n = 0;; n++) {
			calls = 0;
			countdown = -1;
			pst_diags *d = pst_diags_new();
			assert_non_null(d);
			countdown = n;
			pst_program *p = NULL;
			int rc = pst_program_compile_text("oom.rules", policy, lens[variant], NULL, d, &p);
			int hit = countdown < 0;
			countdown = -1;
			pst_buf_clear(&text);
			assert_int_equal(pst_diags_render(d, &text), 0);
			if (rc == 0) {
				assert_non_null(p);
				assert_int_equal(variant, 1);
				fingerprint(p, &got);
				if (strcmp(pst_buf_str(&got), pst_buf_str(&want)) != 0)
					fail_msg("variant %d, allocation %ld: a different program:\n%s", variant,
					         n, pst_buf_str(&got));
			} else {
				assert_null(p);
				if (strstr(pst_buf_str(&text), "out of memory") == NULL &&
				    (variant == 1 || strcmp(pst_buf_str(&text), pst_buf_str(&want)) != 0))
					fail_msg("variant %d, allocation %ld: failed without saying out of "
					         "memory:\n%s", variant, n, pst_buf_str(&text));
			}
			pst_program_free(&p);
			pst_diags_free(&d);
			if (!hit) {
				/* No failure was injected: the compile ran to its end. */
				assert_int_equal(rc, variant == 0 ? -1 : 0);
				break;
			}
		}
		print_message("# variant %d: %ld allocation points\n", variant, n);
		assert_true(n > 20);
	}
	pst_buf_free(&want);
	pst_buf_free(&got);
	pst_buf_free(&text);
}

/* ---- A policy on disk: includes and list files ------------------------- */

/* Every field the compiler fills that says what the program does, as one
 * text: settings, lists with their entries, conditions, actions. */
static void fp_list(pst_buf *b, const pst_list *l)
{
	char cidr[PST_CIDR_FORMAT_LEN];

	pst_buf_printf(b, "list[%s k%d n%zu i%zu s%zu:", l->name ? l->name : "-", (int)l->kind,
	               l->count, l->nitems, l->nstrings);
	for (size_t i = 0; l->kind == PST_LIST_DOMAINS && i < l->nitems; i++)
		pst_buf_printf(b, " %s", l->domain_items[i]);
	for (size_t i = 0; l->kind == PST_LIST_IPS && i < l->nitems; i++)
		pst_buf_printf(b, " %s", pst_cidr_format(&l->cidrs[i], cidr, sizeof cidr));
	for (size_t i = 0; i < l->nstrings; i++)
		pst_buf_printf(b, " %.*s", (int)l->string_lens[i], l->strings[i]);
	pst_buf_puts(b, "]");
}

static void fp_regex(pst_buf *b, const pst_regex *re)
{
	if (re == NULL)
		pst_buf_puts(b, "re[-]");
	else
		pst_buf_printf(b, "re[%s/%s %d]", re->source, re->flags, re->code != NULL);
}

static void fp_tpl(pst_buf *b, const pst_template *t)
{
	if (t == NULL) {
		pst_buf_puts(b, "tpl[-]");
		return;
	}
	pst_buf_printf(b, "tpl[%s:", t->source);
	for (size_t i = 0; i < t->nparts; i++) {
		if (t->parts[i].is_fact)
			pst_buf_printf(b, " f%d", (int)t->parts[i].fact);
		else
			pst_buf_printf(b, " '%.*s'", (int)t->parts[i].len, t->parts[i].lit);
	}
	pst_buf_puts(b, "]");
}

static void fp_expr(pst_buf *b, const pst_expr *e)
{
	if (e == NULL) {
		pst_buf_puts(b, "()");
		return;
	}
	pst_buf_printf(b, "(k%d", (int)e->kind);
	if (e->kind == PST_EXPR_TEST) {
		const pst_literal *r = &e->rhs;
		char ip[PST_IP_FORMAT_LEN] = "";

		if (r->type == PST_T_IP)
			pst_ip_format(&r->ip, ip, sizeof ip);
		pst_buf_printf(b, " %d:%d:%d:%s:%s q%d c%d rhs[t%d %s %lld %d %s %d %d] @%u:%u ",
		               (int)e->lhs.kind, (int)e->lhs.fact, (int)e->lhs.type,
		               e->lhs.header ? e->lhs.header : "-", e->lhs.text ? e->lhs.text : "-",
		               (int)e->lhs.quant, (int)e->cmp, (int)r->type,
		               r->s ? r->s : "-", r->n, r->b, ip, (int)r->result, (int)r->policy,
		               e->line, e->col);
		if (e->list)
			fp_list(b, e->list);
		fp_regex(b, e->re);
	} else {
		fp_expr(b, e->a);
		fp_expr(b, e->b);
	}
	pst_buf_puts(b, ")");
}

static void fingerprint(const pst_program *p, pst_buf *b)
{
	const pst_settings *s = &p->settings;

	pst_buf_clear(b);
	pst_buf_printf(b, "settings[%s aqr%d dkim%u ml%u dns%u/%u trusted",
	               s->authserv_id ? s->authserv_id : "-", (int)s->after_queue_reject,
	               s->dkim_max_signatures, (unsigned)s->match_limit, s->dns_budget_ms,
	               s->dns_max_questions);
	for (size_t i = 0; i < s->ntrusted; i++)
		pst_buf_printf(b, " %s", s->trusted_authserv_ids[i]);
	pst_buf_printf(b, "] facts %llx index %d\n", (unsigned long long)p->facts_read,
	               p->index != NULL);
	for (size_t i = 0; i < p->nrules; i++) {
		const pst_program_rule *r = &p->rules[i];

		pst_buf_printf(b, "rule %s %s:%u audit%d tenant %s when ", r->name, r->file, r->line,
		               r->audit, r->tenant ? r->tenant : "-");
		fp_expr(b, r->when);
		for (size_t j = 0; j < r->nactions; j++) {
			const pst_rule_action *a = &r->actions[j];

			pst_buf_printf(b, "\n  act k%d %d %s %s @%u:%u ", (int)a->kind, a->code,
			               a->enhanced ? a->enhanced : "-", a->name ? a->name : "-",
			               a->line, a->col);
			fp_tpl(b, a->text);
			fp_tpl(b, a->value);
			fp_regex(b, a->re);
		}
		pst_buf_puts(b, "\n");
	}
}

static char tmpdir[64];

static void put_file(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void sub_dir(const char *rel)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* The tree: main.rules includes inc/tenant.rules, which includes
 * more.rules next to it; lists come from lists/ (relative to main.rules)
 * and from inc/vips.txt (relative to the including file). Lists long
 * enough to grow arrays and arena chunks more than once, with comments,
 * blank lines, an IDN and a CIDR with host bits (a warning). */
static void make_tree(void)
{
	pst_buf t = PST_BUF_INIT;

	snprintf(tmpdir, sizeof tmpdir, "%s/pst-oom-XXXXXX",
	         getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	sub_dir("lists");
	sub_dir("inc");
	put_file("main.rules",
	    "authserv-id \"mx.example.net\";\n"
	    "trusted-authserv-id \"gw.example.net\";\n"
	    "dkim-max-signatures 4;\n"
	    "list partners = domains file \"lists/partners.txt\";\n"
	    "list nets = ips file \"lists/nets.txt\";\n"
	    "list words = strings file \"lists/words.txt\";\n"
	    "include \"inc/tenant.rules\";\n"
	    "rule a { when dmarc == fail and not (client.ip in nets or from.domain in partners)\n"
	    "  then reject 550 5.7.1 \"no ${from.domain}\"; }\n"
	    "rule w { when subject in words or from.domain in partners then tag \"listed\"; }\n");
	put_file("inc/tenant.rules",
	    "list vips = ips file \"vips.txt\";\n"
	    "tenant \"agency.example\" mode audit {\n"
	    "  rule b { when not client.ip in vips and header \"X-C\" matches /^(A|B)$/i\n"
	    "    then add header \"X-D\" \"v ${client.ip}\", remove header \"X-E\" matching /x/; }\n"
	    "}\n"
	    "include \"more.rules\";\n");
	put_file("inc/more.rules",
	    "rule c { when count(header \"Received\") > 3 then log \"x\", tempfail \"later\"; }\n");
	pst_buf_puts(&t, "# partner domains\n\nb\xc3\xbc" "cher.example   # an IDN\n");
	for (int i = 0; i < 1000; i++)
		pst_buf_printf(&t, "  partner%d.example.com\n%s", i, i % 7 ? "" : "\n# gap\n");
	put_file("lists/partners.txt", pst_buf_str(&t));
	pst_buf_clear(&t);
	pst_buf_puts(&t, "# networks\n192.0.2.1/24\n");   /* host bits: a warning */
	for (int i = 0; i < 50; i++)
		pst_buf_printf(&t, "198.51.%d.0/24\n2001:db8:%x::/48  # v6 %d\n", i, i, i);
	put_file("lists/nets.txt", pst_buf_str(&t));
	pst_buf_clear(&t);
	for (int i = 0; i < 40; i++)
		pst_buf_printf(&t, "Word %d\n", 40 - i);
	put_file("lists/words.txt", pst_buf_str(&t));
	pst_buf_clear(&t);
	for (int i = 0; i < 30; i++)
		pst_buf_printf(&t, "203.0.113.%d\n", i);
	put_file("inc/vips.txt", pst_buf_str(&t));
	pst_buf_free(&t);
}

static void remove_tree(void)
{
	static const char *const files[] = {
		"main.rules", "inc/tenant.rules", "inc/more.rules", "inc/vips.txt",
		"lists/partners.txt", "lists/nets.txt", "lists/words.txt", "inc", "lists", "",
	};
	char path[256];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
		assert_int_equal(remove(path), 0);
	}
}

static void files_every_allocation_may_fail(void **state)
{
	char path[256];
	pst_buf want = PST_BUF_INIT, got = PST_BUF_INIT, text = PST_BUF_INIT;
	long n, failed = 0, same = 0;

	(void)state;
	make_tree();
	snprintf(path, sizeof path, "%s/main.rules", tmpdir);
	/* The reference: no failure. */
	{
		pst_diags *d = pst_diags_new();
		pst_program *p = NULL;
		assert_non_null(d);
		countdown = -1;
		if (pst_program_compile_file(path, d, &p) != 0) {
			(void)pst_diags_render(d, &text);
			fail_msg("the reference compile failed:\n%s", pst_buf_str(&text));
		}
		assert_int_equal(pst_program_rule_count(p), 4);
		assert_int_equal(pst_diags_warnings(d), 1);   /* the host bits */
		fingerprint(p, &want);
		pst_program_free(&p);
		pst_diags_free(&d);
	}
	/* The lists really came from their files. */
	assert_non_null(strstr(pst_buf_str(&want), "list[partners k0 n1001 i1001"));
	assert_non_null(strstr(pst_buf_str(&want), "xn--bcher-kva.example"));
	assert_non_null(strstr(pst_buf_str(&want), "list[nets k1 n101 i101"));
	assert_non_null(strstr(pst_buf_str(&want), "list[vips k1 n30 i30"));
	assert_non_null(strstr(pst_buf_str(&want), "list[words k2 n40"));
	assert_non_null(strstr(pst_buf_str(&want), "/inc/more.rules:1"));
	for (n = 0;; n++) {
		pst_diags *d = pst_diags_new();
		pst_program *p = NULL;
		assert_non_null(d);
		countdown = n;
		int rc = pst_program_compile_file(path, d, &p);
		int hit = countdown < 0;
		countdown = -1;
		pst_buf_clear(&text);
		assert_int_equal(pst_diags_render(d, &text), 0);
		if (rc == 0) {
			assert_non_null(p);
			fingerprint(p, &got);
			if (strcmp(pst_buf_str(&got), pst_buf_str(&want)) != 0) {
				fprintf(stderr, "--- got\n%s\n--- want\n%s\n--- diagnostics\n%s",
				        pst_buf_str(&got), pst_buf_str(&want), pst_buf_str(&text));
				fail_msg("allocation %ld failed, yet the compile succeeded with a "
				         "different program", n);
			}
			same++;
		} else {
			assert_null(p);
			if (!hit || strstr(pst_buf_str(&text), "out of memory") == NULL)
				fail_msg("allocation %ld: the compile failed without saying out of "
				         "memory:\n%s", n, pst_buf_str(&text));
			failed++;
		}
		pst_program_free(&p);
		pst_diags_free(&d);
		if (!hit) {
			assert_int_equal(rc, 0);
			break;
		}
	}
	print_message("# files: %ld allocation points: %ld clean ENOMEM errors, %ld runs gave the "
	              "same program\n", n, failed, same);
	assert_true(n > 100);
	/* Most points fail the compile; some are absorbed by design: a domain
	 * whose one-pass normalisation cannot get its buffer goes through the
	 * full checks instead (util/domain.c), so each list entry has one
	 * point that gives the same program. */
	assert_true(failed > 50);
	pst_buf_free(&want);
	pst_buf_free(&got);
	pst_buf_free(&text);
	remove_tree();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_allocation_may_fail),
		cmocka_unit_test(files_every_allocation_may_fail),
	};
	return cmocka_run_group_tests_name("compile_oom", tests, NULL, NULL);
}
