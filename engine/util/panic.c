/*
 * panic.c: broken invariants; see panic.h for the contract and the four
 * severities.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/panic.h"

/* One line, one write(2): lines of two threads never interleave. */
static void say(const char *file, int line, const char *what)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "postern: panic: %s:%d: %s\n", file, line, what);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = (int)sizeof buf - 1;
	ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
	(void)w;
}

static int panics_abort(void)
{
#ifdef PST_DEBUG
	return 1;
#else
	const char *e = getenv("POSTERN_PANIC");
	return e != NULL && *e != '\0' && *e != '0';
#endif
}

void pst_invariant_failed(const char *file, int line, const char *cond)
{
	say(file, line, cond);
	if (panics_abort())
		abort();
}

void pst_panic(const char *file, int line, const char *what)
{
	say(file, line, what);
	abort();
}
