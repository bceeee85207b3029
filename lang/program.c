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

uint64_t pst_program_facts_read(const pst_program *prog)
{
	return prog->facts_read;
}

int pst_program_strcasecmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	for (size_t i = 0; i < n; i++) {
		int ca = (unsigned char)a[i], cb = (unsigned char)b[i];
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return ca - cb;
	}
	return an < bn ? -1 : an > bn ? 1 : 0;
}
