/*
 * fuzz_rules.c: libFuzzer target for the whole rule compiler (lang/): the
 * lexer, the parser, the checker and the compiler, with every diagnostic
 * rendered (source line and caret included).
 *
 * The input is a rule file. Include and list-file paths resolve against a
 * directory that does not exist, so relative includes fail the same way
 * every run. Invariants: a compile succeeds exactly when it reports no
 * error; a failed compile returns no program; the rendered diagnostics are
 * non-empty when there is any diagnostic.
 */
#include "config.h"

#include "fuzz_common.h"
#include "lang/diag.h"
#include "lang/program.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pst_diags *d = pst_diags_new();
	if (d == NULL)
		return 0;
	pst_program *prog = NULL;
	int rc = pst_program_compile_text("fuzz.rules", (const char *)data, size,
	                                  "/nonexistent/postern-fuzz", d, &prog);
	size_t errors = pst_diags_errors(d);
	if (rc == 0) {
		PST_FUZZ_CHECK(prog != NULL, "a program on success");
		PST_FUZZ_CHECK(errors == 0, "no error on success");
		for (size_t i = 0; i < pst_program_rule_count(prog); i++)
			PST_FUZZ_CHECK(pst_program_rule_at(prog, i) != NULL, "rule in range");
		(void)pst_program_facts_read(prog);
		(void)pst_program_settings(prog);
		pst_program_free(&prog);
	} else {
		PST_FUZZ_CHECK(prog == NULL, "no program on failure");
		PST_FUZZ_CHECK(errors > 0, "an error on failure");
	}
	pst_buf out = PST_BUF_INIT;
	if (pst_diags_render(d, &out) == 0 && errors + pst_diags_warnings(d) > 0)
		PST_FUZZ_CHECK(out.len > 0, "diagnostics rendered");
	pst_buf_free(&out);
	pst_diags_free(&d);
	return 0;
}
