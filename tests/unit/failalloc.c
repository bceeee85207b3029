/*
 * failalloc.c: the allocation wrappers of failalloc.h (GNU ld --wrap).
 */
#include <stddef.h>

#include "failalloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

long pst_failalloc_countdown;
int pst_failalloc_failed;

static int fail_now(void)
{
	if (pst_failalloc_countdown > 0 && --pst_failalloc_countdown == 0) {
		pst_failalloc_failed = 1;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}
