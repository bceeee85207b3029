/*
 * arena.h: a region allocator for everything one message or one compile needs.
 *
 * Allocations live until pst_arena_free(); there is no per-object free.
 * Returned memory is aligned for any object type. Every allocating call
 * returns NULL on ENOMEM (or a size overflow) and leaves the arena usable.
 */
#ifndef PST_ARENA_H
#define PST_ARENA_H

#include <stddef.h>

typedef struct pst_arena pst_arena;

/* A new empty arena; NULL on ENOMEM. The caller owns it. */
pst_arena *pst_arena_new(void);
/* Free every allocation and the arena; *a becomes NULL. NULL-safe. */
void pst_arena_free(pst_arena **a);
/* n bytes, uninitialised. */
void *pst_arena_alloc(pst_arena *a, size_t n);
/* n * size bytes, zeroed, with overflow check. */
void *pst_arena_calloc(pst_arena *a, size_t n, size_t size);
/* A NUL-terminated copy of n bytes of p (p may hold NULs). */
char *pst_arena_strndup(pst_arena *a, const char *p, size_t n);
/* A copy of a C string. */
char *pst_arena_strdup(pst_arena *a, const char *s);
/* Bytes handed out so far (for memory accounting). */
size_t pst_arena_used(const pst_arena *a);

#endif
