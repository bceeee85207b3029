/*
 * psl.c: our reader of the Public Suffix List, organizational domains and
 * DMARC identifier alignment.
 *
 * Contract (see psl.h): the list is read in the format publicsuffix.org
 * documents: one rule per line, read up to the first white space; lines
 * starting with "//" are comments; a rule "*.ck" is a wildcard (any one
 * label under ck is a public suffix), "!www.ck" an exception (www.ck is
 * not a public suffix although *.ck says so). Rules written in Unicode
 * are normalised to A-labels (pst_domain_normalize), as are the names
 * looked up, so "公司.cn" and "xn--55qx5d.cn" are one rule. Rules that do
 * not normalise, or that hold a "*" anywhere but as the first label, are
 * skipped and counted (pst_psl_skipped).
 *
 * Both sections are loaded, ICANN and PRIVATE. RFC 7489 3.2 names the
 * list without choosing a section, and in practice DMARC implementations
 * use the whole list: a PRIVATE entry such as "blogspot.com" marks names
 * under it as separately registered, which is what keeps one blog's mail
 * from aligning with another's.
 *
 * Lookup: the rules are one open-addressing hash table (FNV-1a, linear
 * probing, at most half full) from a normalised suffix to flags (a normal
 * rule, a wildcard below it, an exception). Every suffix of a name is a
 * tail of its string, so finding the prevailing rule is one probe per
 * label and no copying: the longest matching rule wins, an exception
 * prevails over any other rule, and with no match the implicit "*" rule
 * makes the TLD the suffix.
 *
 * Alignment (RFC 7489 3.1): strict means the two names are equal, relaxed
 * that their organizational domains are. A name that is a public suffix
 * itself has no organizational domain and aligns with nothing, in either
 * mode: nobody registers a public suffix, so no signature or MAIL FROM
 * under it proves anything about the author.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/psl.h"
#include "util/arena.h"
#include "util/domain.h"
#include "util/hash.h"
#include "util/limits.h"

#define RULE_NORMAL    0x1 /* "example.com" */
#define RULE_WILDCARD  0x2 /* "*.example.com": flags stored at example.com */
#define RULE_EXCEPTION 0x4 /* "!www.example.com" */

/* Labels in a name of at most 253 octets. */
#define MAX_LABELS ((PST_MAX_DOMAIN_BYTES + 1) / 2 + 1)

struct psl_slot {
	const char *key;   /* normalised suffix, NULL when the slot is empty */
	size_t len;
	unsigned flags;
};

struct pst_psl {
	pst_arena *arena;
	struct psl_slot *slots;
	size_t cap;        /* a power of two */
	size_t count;      /* distinct suffixes */
	size_t rules;      /* rules loaded */
	size_t skipped;    /* rules not understood */
};

static struct psl_slot *psl_find(const pst_psl *p, const char *key, size_t len)
{
	size_t mask = p->cap - 1;
	size_t i = (size_t)pst_hash_fnv1a64(key, len) & mask;

	for (;;) {
		struct psl_slot *s = &p->slots[i];
		if (s->key == NULL || (s->len == len && memcmp(s->key, key, len) == 0))
			return s;
		i = (i + 1) & mask;
	}
}

static unsigned psl_flags(const pst_psl *p, const char *key, size_t len)
{
	const struct psl_slot *s = psl_find(p, key, len);

	return s->key ? s->flags : 0;
}

/* Lines in the text: an upper bound of the rules, to size the table once. */
static size_t count_lines(const char *text, size_t len)
{
	size_t n = 1;

	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			n++;
	return n;
}

static int psl_add(pst_psl *p, const char *name, unsigned flag)
{
	size_t len = strlen(name);
	struct psl_slot *s = psl_find(p, name, len);

	if (s->key == NULL) {
		char *key = pst_arena_strndup(p->arena, name, len);
		if (key == NULL)
			return -1;
		s->key = key;
		s->len = len;
		p->count++;
	}
	s->flags |= flag;
	p->rules++;
	return 0;
}

/* One rule token of n bytes: 0 (added or skipped), -1 on ENOMEM. */
static int psl_rule(pst_psl *p, const char *tok, size_t n)
{
	unsigned flag = RULE_NORMAL;
	const char *why = NULL;
	char *name;
	int rc;

	if (n > 0 && tok[0] == '!') {
		flag = RULE_EXCEPTION;
		tok++, n--;
	} else if (n > 1 && tok[0] == '*' && tok[1] == '.') {
		flag = RULE_WILDCARD;
		tok += 2, n -= 2;
	}
	if (n == 0 || memchr(tok, '*', n) != NULL || memchr(tok, '!', n) != NULL) {
		p->skipped++;
		return 0;
	}
	name = pst_domain_normalize(tok, n, &why);
	if (name == NULL) {
		if (why == pst_domain_why_nomem)
			return -1;
		p->skipped++;
		return 0;
	}
	rc = psl_add(p, name, flag);
	free(name);
	return rc;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The rule on one line (the bytes before the first white space). */
static int psl_line(pst_psl *p, const char *line, size_t n)
{
	size_t i = 0, start;

	while (i < n && is_space(line[i]))
		i++;
	start = i;
	while (i < n && !is_space(line[i]))
		i++;
	if (i == start)
		return 0;
	if (i - start >= 2 && line[start] == '/' && line[start + 1] == '/')
		return 0;
	return psl_rule(p, line + start, i - start);
}

static pst_psl *psl_new(size_t lines)
{
	pst_psl *p = calloc(1, sizeof *p);
	size_t cap = 16;

	if (p == NULL)
		return NULL;
	while (cap < lines * 2)
		cap *= 2;
	p->arena = pst_arena_new();
	p->slots = calloc(cap, sizeof *p->slots);
	p->cap = cap;
	if (p->arena == NULL || p->slots == NULL) {
		pst_psl_free(&p);
		return NULL;
	}
	return p;
}

static void psl_error(pst_buf *errors, const char *name, const char *msg)
{
	if (errors != NULL)
		(void)pst_buf_printf(errors, "%s: %s\n", name, msg);
}

static int psl_load(const char *name, const char *text, size_t len, pst_psl **out,
		    pst_buf *errors)
{
	pst_psl *p;
	size_t pos = 0;

	*out = NULL;
	if (len > PST_MAX_PSL_BYTES) {
		psl_error(errors, name, "public suffix list too large");
		return -1;
	}
	p = psl_new(count_lines(text, len));
	if (p == NULL) {
		psl_error(errors, name, "out of memory");
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		if (psl_line(p, text + pos, end - pos) != 0) {
			psl_error(errors, name, "out of memory");
			pst_psl_free(&p);
			return -1;
		}
		pos = end + 1;
	}
	if (p->rules == 0) {
		psl_error(errors, name, "no rules in the public suffix list");
		pst_psl_free(&p);
		return -1;
	}
	*out = p;
	return 0;
}

int pst_psl_load_text(const char *text, size_t len, pst_psl **out, pst_buf *errors)
{
	if (out == NULL)
		return -1;
	*out = NULL;
	if (text == NULL) {
		psl_error(errors, "psl", "no text");
		return -1;
	}
	return psl_load("psl", text, len, out, errors);
}

/* Read a whole file of at most PST_MAX_PSL_BYTES into *text (malloc'd). */
static int read_file(const char *path, char **text, size_t *len, pst_buf *errors)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		psl_error(errors, path, strerror(errno));
		return -1;
	}
	buf = malloc(PST_MAX_PSL_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		psl_error(errors, path, "out of memory");
		return -1;
	}
	n = fread(buf, 1, PST_MAX_PSL_BYTES + 1, f);
	if (ferror(f) || n > PST_MAX_PSL_BYTES) {
		psl_error(errors, path, ferror(f) ? "read error" : "public suffix list too large");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	*text = buf;
	*len = n;
	return 0;
}

int pst_psl_load_file(const char *path, pst_psl **out, pst_buf *errors)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (out == NULL)
		return -1;
	*out = NULL;
	if (path == NULL)
		path = PST_PSL_DEFAULT_PATH;
	if (read_file(path, &text, &len, errors) != 0)
		return -1;
	rc = psl_load(path, text, len, out, errors);
	free(text);
	return rc;
}

void pst_psl_free(pst_psl **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	pst_arena_free(&(*pp)->arena);
	free((*pp)->slots);
	free(*pp);
	*pp = NULL;
}

size_t pst_psl_rule_count(const pst_psl *p)
{
	return p ? p->rules : 0;
}

size_t pst_psl_skipped(const pst_psl *p)
{
	return p ? p->skipped : 0;
}

/* Whether s is already in normalised form and needs no copy: lower-case
 * ASCII letters, digits, '-', '_' and single dots, no trailing dot. The
 * label rules themselves are checked by pst_domain_normalize otherwise. */
static int is_plain(const char *s)
{
	size_t n = 0, label = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0; /* '-' and "xn--" labels take the checked path */
		if (++label > PST_MAX_LABEL_BYTES)
			return 0;
	}
	return n > 0 && n <= PST_MAX_DOMAIN_BYTES && label > 0;
}

/* domain in normalised form into out (PST_MAX_DOMAIN_BYTES + 1 bytes). */
static int normalise_into(const char *domain, char *out)
{
	char *norm;
	size_t n;

	if (domain == NULL)
		return -1;
	n = strlen(domain);
	if (n > PST_MAX_DOMAIN_INPUT_BYTES)
		return -1;
	if (is_plain(domain)) {
		memcpy(out, domain, n + 1);
		return 0;
	}
	norm = pst_domain_normalize(domain, n, NULL);
	if (norm == NULL)
		return -1;
	n = strlen(norm);
	if (n > PST_MAX_DOMAIN_BYTES) {
		free(norm);
		return -1;
	}
	memcpy(out, norm, n + 1);
	free(norm);
	return 0;
}

/* Labels of the public suffix of name (normalised), whose labels start at
 * off[0..n). */
static size_t suffix_labels(const pst_psl *p, const char *name, const size_t *off, size_t n)
{
	size_t total = strlen(name), best = 0, exception = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned f = psl_flags(p, name + off[i], total - off[i]);
		if ((f & RULE_EXCEPTION) && exception == 0)
			exception = n - i - 1;
		if ((f & RULE_NORMAL) && n - i > best)
			best = n - i;
		if ((f & RULE_WILDCARD) && i > 0 && n - i + 1 > best)
			best = n - i + 1;
	}
	if (exception > 0)
		return exception;
	return best > 0 ? best : 1;
}

/* The organizational domain of normalised name, as a tail of it, or NULL. */
static const char *org_of(const pst_psl *p, const char *name)
{
	size_t off[MAX_LABELS], n = 0, ps;

	off[n++] = 0;
	for (size_t i = 0; name[i] != '\0'; i++)
		if (name[i] == '.' && n < MAX_LABELS)
			off[n++] = i + 1;
	ps = suffix_labels(p, name, off, n);
	if (n <= ps)
		return NULL;
	return name + off[n - ps - 1];
}

const char *pst_psl_org_domain(const pst_psl *p, const char *domain, char *buf, size_t len)
{
	char name[PST_MAX_DOMAIN_BYTES + 1];
	const char *org;
	size_t n;

	if (p == NULL || buf == NULL || normalise_into(domain, name) != 0)
		return NULL;
	org = org_of(p, name);
	if (org == NULL)
		return NULL;
	n = strlen(org);
	if (n + 1 > len)
		return NULL;
	memcpy(buf, org, n + 1);
	return buf;
}

int pst_psl_is_public_suffix(const pst_psl *p, const char *domain)
{
	char name[PST_MAX_DOMAIN_BYTES + 1];

	if (p == NULL || normalise_into(domain, name) != 0)
		return 0;
	return org_of(p, name) == NULL;
}

int pst_psl_aligned(const pst_psl *p, const char *a, const char *b, int strict)
{
	char na[PST_MAX_DOMAIN_BYTES + 1], nb[PST_MAX_DOMAIN_BYTES + 1];
	const char *oa, *ob;

	if (p == NULL || normalise_into(a, na) != 0 || normalise_into(b, nb) != 0)
		return 0;
	/* The usual case, one name on both sides: aligned in either mode when
	 * it has an organizational domain (a public suffix never aligns). */
	if (strcmp(na, nb) == 0)
		return org_of(p, na) != NULL;
	oa = org_of(p, na);
	ob = org_of(p, nb);
	if (oa == NULL || ob == NULL)
		return 0;
	if (strict)
		return strcmp(na, nb) == 0;
	return strcmp(oa, ob) == 0;
}
