/*
 * panic.h: the fourth severity. postern keeps four apart, as Postfix does:
 *
 *   warning  something odd; the work goes on. The library reports it as
 *            data (an outcome's warnings, a JSON member, a log line),
 *            never on stderr behind its caller's back.
 *   error    the operation fails with a typed result the caller acts on:
 *            a diagnostic for a rule file, a 4xx/5xx reply for a message.
 *   fatal    the program cannot go on (bad command line, a listener that
 *            cannot be bound): the CLI says why and exits with a sysexits
 *            code. The library never exits.
 *   panic    an invariant of our own is broken: a bug, not bad input.
 *
 * PST_INVARIANT(cond) checks one. When it fails, pst_invariant_failed()
 * writes "postern: panic: FILE:LINE: COND" to stderr and, in a debug or
 * test run (built with PST_DEBUG, or POSTERN_PANIC set in the environment,
 * as `make check` sets it), aborts so the bug leaves a core and fails the
 * test. In a production run it returns, and the caller turns the broken
 * invariant into an internal error for the one message or rule at hand
 * (a temporary failure, never "false" and never an accept), so one bad
 * message does not stop a server that serves many.
 */
#ifndef PST_PANIC_H
#define PST_PANIC_H

/* Report a broken invariant; aborts in debug and test runs (see above),
 * returns otherwise. Thread-safe (one write). */
void pst_invariant_failed(const char *file, int line, const char *cond);

/* 1 when cond holds; otherwise reports it and is 0 (when it returns). */
#define PST_INVARIANT(cond) \
	((cond) ? 1 : (pst_invariant_failed(__FILE__, __LINE__, #cond), 0))

/* Unconditionally: report and abort, in every build. For states that no
 * caller can recover from. */
_Noreturn void pst_panic(const char *file, int line, const char *what);

#endif
