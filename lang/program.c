/*
 * program.c: reading a compiled program (program.h). The program is
 * immutable, so these are plain accessors; building and freeing it is the
 * compiler's (compile.c).
 */
#include "lang/program.h"

size_t pst_program_rule_count(const pst_program *prog)
{
	return prog->nrules;
}

const pst_program_rule *pst_program_rule_at(const pst_program *prog, size_t i)
{
	return i < prog->nrules ? &prog->rules[i] : NULL;
}

const pst_settings *pst_program_settings(const pst_program *prog)
{
	return &prog->settings;
}

pst_aqr pst_program_after_queue_reject(const pst_program *prog)
{
	return prog->settings.after_queue_reject;
}

pst_aqr pst_program_rule_aqr(const pst_program *prog, const pst_program_rule *r)
{
	return r && r->has_aqr ? r->after_queue_reject : prog->settings.after_queue_reject;
}

uint64_t pst_program_facts_read(const pst_program *prog)
{
	return prog->facts_read;
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

int pst_list_strcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		int d = ascii_lower((unsigned char)a[i]) - ascii_lower((unsigned char)b[i]);
		if (d)
			return d;
	}
	return alen < blen ? -1 : alen > blen;
}
