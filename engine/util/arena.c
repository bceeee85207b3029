/*
 * arena.c: region allocator; see arena.h for the contract.
 *
 * Chunks double in size up to 64 KiB; a request larger than the next chunk
 * gets a chunk of its own behind the current one, so one huge header never
 * wastes the space left in the current chunk.
 */
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	size_t size;  /* usable bytes after the header */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct pst_arena {
	struct chunk *head;
	size_t next_size;
	size_t total;
};

#define ARENA_FIRST_CHUNK 1024
#define ARENA_MAX_CHUNK   (64 * 1024)

pst_arena *pst_arena_new(void)
{
	pst_arena *a = calloc(1, sizeof *a);
	if (a)
		a->next_size = ARENA_FIRST_CHUNK;
	return a;
}

void pst_arena_free(pst_arena **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	struct chunk *c = (*ap)->head;
	while (c) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
	free(*ap);
	*ap = NULL;
}

void *pst_arena_alloc(pst_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - align)
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	struct chunk *c = a->head;
	if (c == NULL || c->size - c->used < n) {
		size_t size = a->next_size;
		if (size < n)
			size = n;
		if (size > SIZE_MAX - sizeof *c)
			return NULL;
		struct chunk *nc = malloc(sizeof *nc + size);
		if (nc == NULL)
			return NULL;
		nc->size = size;
		nc->used = 0;
		if (c != NULL && n > a->next_size) {
			/* Oversized: keep the current chunk at the head for later use. */
			nc->next = c->next;
			c->next = nc;
			nc->used = n;
			a->total += n;
			return nc->data;
		}
		nc->next = c;
		a->head = nc;
		c = nc;
		if (a->next_size < ARENA_MAX_CHUNK)
			a->next_size *= 2;
	}
	void *p = c->data + c->used;
	c->used += n;
	a->total += n;
	return p;
}

void *pst_arena_calloc(pst_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	void *p = pst_arena_alloc(a, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

char *pst_arena_strndup(pst_arena *a, const char *p, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *s = pst_arena_alloc(a, n + 1);
	if (s == NULL)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *pst_arena_strdup(pst_arena *a, const char *s)
{
	return pst_arena_strndup(a, s, strlen(s));
}

size_t pst_arena_used(const pst_arena *a)
{
	return a->total;
}
