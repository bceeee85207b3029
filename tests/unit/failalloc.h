/*
 * failalloc.h: allocation failure for tests. A test program linked with
 * -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc and
 * tests/unit/failalloc.c has every malloc, calloc and realloc of the
 * library go through a counter, so a loop can fail the first, second, ...
 * allocation in turn (SQLite-style) and check each failure is handled.
 */
#ifndef PST_TEST_FAILALLOC_H
#define PST_TEST_FAILALLOC_H

/* Fail the countdown-th allocation from now (1: the next one); 0: never. */
extern long pst_failalloc_countdown;
/* Set to 1 when an allocation was failed; the test resets it. */
extern int pst_failalloc_failed;

#endif
