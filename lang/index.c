/*
 * index.c: the rule index (index.h): per group of keyed rules, a hash
 * table from normalised values to the rules whose key test can hold.
 *
 * Contract:
 * - A rule is keyed when the leftmost leaf of its chain of "and" is a test
 *   of one of these forms (type = the fact's type; a header is a string):
 *     string, address  == "lit"           key "lit"            PST_IX_TEXT
 *     string, address, domain in strings  key each string      PST_IX_TEXT
 *     domain == "lit"                     key "lit"            PST_IX_DOMAIN_EQ
 *     string, domain in domains           key each domain      PST_IX_DOMAIN_IN
 *     address in domains                  key each domain      PST_IX_ADDRESS_IN
 *     ip == ADDR, ip in ips               key each block       PST_IX_IP
 *   The operand is a fact or header "N" (first field: not any/all, not
 *   count). Anything else (not, or, !=, matches, contains, a literal or
 *   list the program has no entries for, a fact on the right such as
 *   "from.domain == envelope.from.domain" or "from.domain in dkim.domains",
 *   ...) leaves the rule plain: only constants are keys. Since
 *   the evaluator runs "a and b" left first, a keyed rule whose key test is
 *   false reads nothing more and does not match, so skipping it is exact.
 * - Lookups derive the key from the value exactly as engine/eval/eval.c
 *   tests it: text keys compare ASCII case-insensitively (stored folded,
 *   hashed folded); a domain == drops one trailing dot; "in domains" takes
 *   the text as a domain (one trailing dot dropped; empty, longer than
 *   PST_MAX_DOMAIN_BYTES or holding a NUL: no domain) and tries it and each
 *   parent, as pst_domainset_contains does; an address takes the part
 *   after its last '@' through pst_domain_normalize first; an IP is masked
 *   to each prefix length the group has and looked up with its family.
 *   Any doubt goes the safe way: a lookup that cannot be done (ENOMEM)
 *   tells the caller to run every rule of the group.
 * - Groups are keyed by (operand, key kind, tenant): operand is the fact,
 *   or the header name exactly as written.
 * - Everything lives in the program's arena; the index never changes after
 *   pst_index_build, so lookups may run on any number of threads.
 */
#include <stdlib.h>
#include <string.h>

#include "lang/index.h"
#include "util/arena.h"
#include "util/domain.h"
#include "util/hash.h"
#include "util/limits.h"

/* A key of one group: folded bytes (text, domains) or prefix + address
 * bytes (IP), and the rules, ascending. */
struct pst_index_slot {
	const unsigned char *key;     /* NULL: the slot is empty */
	uint32_t len;
	uint32_t group;
	uint64_t hash;
	uint32_t *rules;
	uint32_t n, cap;
};

/* ---- Hashing ------------------------------------------------------------ */

static unsigned char lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* FNV-1a over the group number (4 bytes, least significant first) and the
 * key, case folded for text groups (IP keys are raw bytes). */
static uint64_t key_hash(uint32_t group, const void *key, size_t len, int fold)
{
	const unsigned char g[4] = { group & 0xff, (group >> 8) & 0xff, (group >> 16) & 0xff,
	                             group >> 24 };
	uint64_t h = pst_hash_fnv1a64(g, sizeof g);

	return fold ? pst_hash_fnv1a64_fold_add(h, key, len) : pst_hash_fnv1a64_add(h, key, len);
}

static int key_equal(const unsigned char *stored, const void *key, size_t len, int fold)
{
	const unsigned char *p = key;

	if (!fold)
		return memcmp(stored, p, len) == 0;
	for (size_t i = 0; i < len; i++)
		if (stored[i] != lower(p[i]))
			return 0;
	return 1;
}

static int folds(pst_index_key k)
{
	return k != PST_IX_IP;
}

/* The slot of (group, key): the one holding it, or the empty one where it
 * would go. The table is never full (cap > 2 * keys). */
static struct pst_index_slot *find_slot(struct pst_index_slot *slots, size_t cap, uint32_t group,
                                        const void *key, size_t len, int fold)
{
	uint64_t h = key_hash(group, key, len, fold);
	size_t i = (size_t)h & (cap - 1);

	for (;; i = (i + 1) & (cap - 1)) {
		struct pst_index_slot *s = &slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == h && s->group == group && s->len == len &&
		    key_equal(s->key, key, len, fold))
			return s;
	}
}

/* An IP key: the prefix length, then the address masked to it (4 or 16
 * bytes). Returns the key's length. */
static size_t ip_key(unsigned char *out, const pst_ip *ip, unsigned prefix)
{
	size_t n = ip->family == 4 ? 4 : 16;

	out[0] = (unsigned char)prefix;
	for (size_t i = 0; i < n; i++) {
		unsigned first = (unsigned)i * 8;
		unsigned char mask = first + 8 <= prefix ? 0xff :
		                     first >= prefix ? 0 : (unsigned char)(0xff << (8 - (prefix - first)));

		out[1 + i] = ip->bytes[i] & mask;
	}
	return n + 1;
}

/* ---- Which rules are keyed ---------------------------------------------- */

/* The test a condition evaluates first, when that is a test. */
static const pst_expr *first_test(const pst_expr *e)
{
	while (e != NULL && e->kind == PST_EXPR_AND)
		e = e->a;
	return e != NULL && e->kind == PST_EXPR_TEST ? e : NULL;
}

static int is_text_type(pst_type t)
{
	return t == PST_T_STRING || t == PST_T_ADDRESS || t == PST_T_DOMAIN;
}

/* How test e is keyed, and how many keys it has; -1 when it is not. */
static int classify(const pst_expr *e, pst_index_key *key, size_t *nkeys)
{
	const pst_list *l = e->list;
	pst_type t;

	if (e->rfact != NULL)
		return -1;            /* a fact on the right: no constant to key on */
	if (e->lhs.kind == PST_OPND_FACT && (unsigned)e->lhs.fact < PST_F__COUNT &&
	    e->lhs.fact != PST_F_DKIM_DOMAINS)
		t = pst_fact_type(e->lhs.fact);
	else if (e->lhs.kind == PST_OPND_HEADER && e->lhs.quant == PST_Q_FIRST &&
	         e->lhs.header != NULL)
		t = PST_T_STRING;
	else
		return -1;
	*nkeys = 1;
	if (e->cmp == PST_CMP_EQ) {
		if (t == PST_T_IP && (e->rhs.ip.family == 4 || e->rhs.ip.family == 6)) {
			*key = PST_IX_IP;
			return 0;
		}
		if (!is_text_type(t) || e->rhs.s == NULL)
			return -1;
		*key = t == PST_T_DOMAIN ? PST_IX_DOMAIN_EQ : PST_IX_TEXT;
		return 0;
	}
	if (e->cmp != PST_CMP_IN || l == NULL)
		return -1;
	switch (l->kind) {
	case PST_LIST_STRINGS:
		if (!is_text_type(t) || (l->strings == NULL && l->nstrings > 0))
			return -1;
		*key = PST_IX_TEXT;
		*nkeys = l->nstrings;
		return 0;
	case PST_LIST_DOMAINS:
		if (!is_text_type(t) || l->domains == NULL || l->domain_items == NULL)
			return -1;
		*key = t == PST_T_ADDRESS ? PST_IX_ADDRESS_IN : PST_IX_DOMAIN_IN;
		*nkeys = l->nitems;
		return 0;
	case PST_LIST_IPS:
		if (t != PST_T_IP || l->ips == NULL || l->cidrs == NULL)
			return -1;
		*key = PST_IX_IP;
		*nkeys = l->nitems;
		return 0;
	}
	return -1;
}

/* ---- Building ----------------------------------------------------------- */

struct group_slot {
	int32_t group;                /* -1: empty */
	uint64_t hash;
};

struct builder {
	pst_arena *a;
	int oom;
	pst_index_group *groups;
	uint32_t **grules;            /* per group, growing */
	size_t *gcap;
	size_t ngroups, capgroups;
	struct group_slot *gslots;
	size_t gcap_slots;
	struct pst_index_slot *slots;
	size_t cap;
	pst_index_step *steps;
	size_t nsteps, capsteps;
};

/* Append x to an arena array of *n of *cap elements of size sz, doubling. */
static void *grow(struct builder *b, void *items, size_t n, size_t *cap, size_t sz)
{
	void *bigger;

	if (n < *cap)
		return items;
	*cap = *cap ? *cap * 2 : 4;
	if ((bigger = pst_arena_calloc(b->a, *cap, sz)) == NULL) {
		b->oom = 1;
		return NULL;
	}
	if (n)
		memcpy(bigger, items, n * sz);
	return bigger;
}

static void push_step(struct builder *b, uint32_t rule, int32_t group)
{
	pst_index_step *s = grow(b, b->steps, b->nsteps, &b->capsteps, sizeof *s);

	if (s == NULL)
		return;
	b->steps = s;
	s[b->nsteps].rule = rule;
	s[b->nsteps].group = group;
	b->nsteps++;
}

static uint64_t group_hash(const pst_operand *o, pst_index_key key, const char *tenant)
{
	uint64_t h = key_hash((uint32_t)key, NULL, 0, 0);

	h = key_hash((uint32_t)o->kind, &h, sizeof h, 0);
	if (o->kind == PST_OPND_FACT)
		h = key_hash((uint32_t)o->fact, &h, sizeof h, 0);
	else
		h ^= key_hash(0, o->header, strlen(o->header), 0);
	if (tenant != NULL)
		h ^= key_hash(1, tenant, strlen(tenant), 0) * 31;
	return h;
}

static int same_group(const pst_index_group *g, const pst_operand *o, pst_index_key key,
                      const char *tenant)
{
	if (g->key != key || g->operand->kind != o->kind)
		return 0;
	if (o->kind == PST_OPND_FACT ? g->operand->fact != o->fact :
	    strcmp(g->operand->header, o->header) != 0)
		return 0;
	if (g->tenant == NULL || tenant == NULL)
		return g->tenant == tenant;
	return strcmp(g->tenant, tenant) == 0;
}

/* The group of rule r's key test, made (and scheduled at r) when new; -1
 * on ENOMEM. */
static int32_t group_of(struct builder *b, const pst_expr *e, pst_index_key key,
                        const pst_program_rule *r, uint32_t ri)
{
	uint64_t h = group_hash(&e->lhs, key, r->tenant);
	size_t i = (size_t)h & (b->gcap_slots - 1);
	pst_index_group *groups;
	uint32_t **grules;
	size_t *gcap, cap;

	for (;; i = (i + 1) & (b->gcap_slots - 1)) {
		struct group_slot *s = &b->gslots[i];

		if (s->group < 0)
			break;
		if (s->hash == h && same_group(&b->groups[s->group], &e->lhs, key, r->tenant))
			return s->group;
	}
	cap = b->capgroups;
	groups = grow(b, b->groups, b->ngroups, &cap, sizeof *groups);
	cap = b->capgroups;
	grules = grow(b, b->grules, b->ngroups, &cap, sizeof *grules);
	cap = b->capgroups;
	gcap = grow(b, b->gcap, b->ngroups, &cap, sizeof *gcap);
	if (groups == NULL || grules == NULL || gcap == NULL)
		return -1;
	b->groups = groups;
	b->grules = grules;
	b->gcap = gcap;
	b->capgroups = cap;
	memset(&groups[b->ngroups], 0, sizeof *groups);
	groups[b->ngroups].operand = &e->lhs;
	groups[b->ngroups].key = key;
	groups[b->ngroups].tenant = r->tenant;
	b->gslots[i].group = (int32_t)b->ngroups;
	b->gslots[i].hash = h;
	push_step(b, ri, (int32_t)b->ngroups);
	return (int32_t)b->ngroups++;
}

/* Append rule ri to a list unless it is already last there. */
static int add_rule(struct builder *b, uint32_t **list, uint32_t *n, uint32_t *cap, uint32_t ri)
{
	size_t c = *cap;
	uint32_t *l;

	if (*n > 0 && (*list)[*n - 1] == ri)
		return 0;
	if ((l = grow(b, *list, *n, &c, sizeof *l)) == NULL)
		return -1;
	*list = l;
	*cap = (uint32_t)c;
	l[(*n)++] = ri;
	return 0;
}

static void add_key(struct builder *b, uint32_t g, const void *key, size_t len, uint32_t ri)
{
	int fold = folds(b->groups[g].key);
	struct pst_index_slot *s = find_slot(b->slots, b->cap, g, key, len, fold);

	if (s->key == NULL) {
		unsigned char *k = pst_arena_alloc(b->a, len + 1);

		if (k == NULL) {
			b->oom = 1;
			return;
		}
		for (size_t i = 0; i < len; i++)
			k[i] = fold ? lower(((const unsigned char *)key)[i]) : ((const unsigned char *)key)[i];
		k[len] = '\0';
		s->key = k;
		s->len = (uint32_t)len;
		s->group = g;
		s->hash = key_hash(g, key, len, fold);
	}
	if (add_rule(b, &s->rules, &s->n, &s->cap, ri) != 0)
		b->oom = 1;
}

static void add_block(struct builder *b, uint32_t g, const pst_cidr *c, uint32_t ri)
{
	unsigned char key[17];
	pst_index_group *grp = &b->groups[g];

	if (c->addr.family == 4 && c->prefix <= 32)
		grp->v4_prefix[c->prefix] = 1;
	else if (c->addr.family == 6 && c->prefix <= 128)
		grp->v6_prefix[c->prefix] = 1;
	else
		return;               /* no family: inside nothing */
	add_key(b, g, key, ip_key(key, &c->addr, c->prefix), ri);
}

/* Every key of test e, for rule ri of group g. */
static void add_keys(struct builder *b, uint32_t g, const pst_expr *e, uint32_t ri)
{
	const pst_list *l = e->list;

	if (e->cmp == PST_CMP_EQ) {
		if (b->groups[g].key == PST_IX_IP) {
			pst_cidr c = { e->rhs.ip, e->rhs.ip.family == 4 ? 32 : 128 };

			add_block(b, g, &c, ri);
		} else {
			add_key(b, g, e->rhs.s, e->rhs.len, ri);
		}
		return;
	}
	switch (l->kind) {
	case PST_LIST_STRINGS:
		for (size_t i = 0; i < l->nstrings; i++)
			add_key(b, g, l->strings[i],
			        l->string_lens ? l->string_lens[i] : strlen(l->strings[i]), ri);
		break;
	case PST_LIST_DOMAINS:
		for (size_t i = 0; i < l->nitems; i++)
			if (l->domain_items[i] != NULL)
				add_key(b, g, l->domain_items[i], strlen(l->domain_items[i]), ri);
		break;
	case PST_LIST_IPS:
		for (size_t i = 0; i < l->nitems; i++)
			add_block(b, g, &l->cidrs[i], ri);
		break;
	}
}

static size_t pow2_above(size_t n)
{
	size_t cap = 16;

	while (cap <= 2 * n)
		cap *= 2;
	return cap;
}

int pst_index_build(pst_program *prog, pst_arena *a)
{
	struct builder b;
	pst_index *ix;
	size_t keys = 0, keyed = 0;

	prog->index = NULL;
	if (prog->nrules == 0 || prog->nrules >= UINT32_MAX)
		return 0;
	memset(&b, 0, sizeof b);
	b.a = a;
	for (size_t i = 0; i < prog->nrules; i++) {
		const pst_expr *e = first_test(prog->rules[i].when);
		pst_index_key key;
		size_t n;

		if (e != NULL && classify(e, &key, &n) == 0) {
			keys += n;
			keyed++;
		}
	}
	if (keyed == 0)
		return 0;
	b.cap = pow2_above(keys);
	b.gcap_slots = pow2_above(keyed);
	b.slots = pst_arena_calloc(a, b.cap, sizeof *b.slots);
	b.gslots = pst_arena_calloc(a, b.gcap_slots, sizeof *b.gslots);
	if ((ix = pst_arena_calloc(a, 1, sizeof *ix)) == NULL || b.slots == NULL || b.gslots == NULL)
		return -1;
	for (size_t i = 0; i < b.gcap_slots; i++)
		b.gslots[i].group = -1;

	for (uint32_t i = 0; i < prog->nrules && !b.oom; i++) {
		const pst_expr *e = first_test(prog->rules[i].when);
		pst_index_key key;
		size_t n;
		int32_t g;

		if (e == NULL || classify(e, &key, &n) != 0) {
			push_step(&b, i, -1);
			continue;
		}
		if ((g = group_of(&b, e, key, &prog->rules[i], i)) < 0)
			break;
		{
			uint32_t gn = (uint32_t)b.groups[g].nrules, gc = (uint32_t)b.gcap[g];

			if (add_rule(&b, &b.grules[g], &gn, &gc, i) != 0)
				break;
			b.groups[g].nrules = gn;
			b.gcap[g] = gc;
			b.groups[g].rules = b.grules[g];
		}
		add_keys(&b, (uint32_t)g, e, i);
	}
	if (b.oom)
		return -1;
	ix->steps = b.steps;
	ix->nsteps = b.nsteps;
	ix->groups = b.groups;
	ix->ngroups = b.ngroups;
	ix->nkeyed = keyed;
	ix->slots = b.slots;
	ix->cap = b.cap;
	prog->index = ix;
	return 0;
}

/* ---- Looking up --------------------------------------------------------- */

static int emit_key(const pst_index *ix, uint32_t g, const void *key, size_t len,
                    pst_index_emit emit, void *ctx)
{
	const struct pst_index_slot *s =
		find_slot(ix->slots, ix->cap, g, key, len, folds(ix->groups[g].key));

	return s->key != NULL ? emit(ctx, s->rules, s->n) : 0;
}

/* The domain and each parent, as pst_domainset_contains walks them. */
static int emit_domain(const pst_index *ix, uint32_t g, const char *d, size_t n,
                       pst_index_emit emit, void *ctx)
{
	for (;;) {
		const char *dot;

		if (emit_key(ix, g, d, n, emit, ctx) != 0)
			return -1;
		if ((dot = memchr(d, '.', n)) == NULL)
			return 0;
		n -= (size_t)(dot + 1 - d);
		d = dot + 1;
	}
}

static int emit_address(const pst_index *ix, uint32_t g, const char *p, size_t n,
                        pst_index_emit emit, void *ctx)
{
	const char *at = n ? memrchr(p, '@', n) : NULL;
	const char *why = NULL;
	char *d;
	int rc;

	if (at == NULL)
		return 0;
	if ((d = pst_domain_normalize(at + 1, n - (size_t)(at + 1 - p), &why)) == NULL)
		return why == pst_domain_why_nomem ? -1 : 0;
	rc = emit_domain(ix, g, d, strlen(d), emit, ctx);
	free(d);
	return rc;
}

static int emit_ip(const pst_index *ix, uint32_t g, const pst_ip *ip, pst_index_emit emit,
                   void *ctx)
{
	const pst_index_group *grp = &ix->groups[g];
	const uint8_t *have = ip->family == 4 ? grp->v4_prefix : grp->v6_prefix;
	unsigned bits = ip->family == 4 ? 32 : 128;
	unsigned char key[17];

	if (ip->family != 4 && ip->family != 6)
		return 0;
	for (unsigned p = 0; p <= bits; p++)
		if (have[p] && emit_key(ix, g, key, ip_key(key, ip, p), emit, ctx) != 0)
			return -1;
	return 0;
}

int pst_index_lookup(const pst_index *ix, size_t g, const pst_value *v, pst_index_emit emit,
                     void *ctx)
{
	const char *p = v->u.s.p;
	size_t n = v->u.s.len;

	if (g >= ix->ngroups || !v->known)
		return 0;
	switch (ix->groups[g].key) {
	case PST_IX_TEXT:
		return is_text_type(v->type) ? emit_key(ix, (uint32_t)g, p, n, emit, ctx) : 0;
	case PST_IX_DOMAIN_EQ:
		if (!is_text_type(v->type))
			return 0;
		if (n > 0 && p[n - 1] == '.')
			n--;
		return emit_key(ix, (uint32_t)g, p, n, emit, ctx);
	case PST_IX_DOMAIN_IN:
		if (!is_text_type(v->type))
			return 0;
		if (n > 0 && p[n - 1] == '.')
			n--;
		if (n == 0 || n > PST_MAX_DOMAIN_BYTES || memchr(p, '\0', n) != NULL)
			return 0;
		return emit_domain(ix, (uint32_t)g, p, n, emit, ctx);
	case PST_IX_ADDRESS_IN:
		return is_text_type(v->type) ? emit_address(ix, (uint32_t)g, p, n, emit, ctx) : 0;
	case PST_IX_IP:
		return v->type == PST_T_IP ? emit_ip(ix, (uint32_t)g, &v->u.ip, emit, ctx) : 0;
	}
	return 0;
}
