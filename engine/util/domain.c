/*
 * domain.c: domain-name normalisation and domain sets.
 *
 * Contract (see domain.h): a normalised name is ASCII, lower case, has no
 * trailing dot, labels of 1..63 octets made of letters, digits, '-' and '_'
 * (underscore for names such as _dmarc.example.com), no label starting or
 * ending with '-', and at most 253 octets in all. Plain ASCII names without
 * an "xn--" label are checked and lowered here; anything else (U-labels,
 * A-labels that need validating) goes through libidn2 with IDNA2008 and
 * TR46 non-transitional mapping, and its output is checked by the same
 * ASCII rules, because libidn2 passes "a b" and "a..b" through unchanged.
 *
 * pst_domain_mixes_scripts decodes A-labels (libidn2) and looks for Latin
 * letters mixed with Cyrillic, Greek, Armenian or Cherokee ones in one label.
 *
 * A pst_domainset is an open-addressing hash table (FNV-1a, linear probing,
 * at most half full) of names kept in one arena. Lookups never write, so a
 * built set can be shared between threads.
 */
#include <idn2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/domain.h"
#include "util/hash.h"
#include "util/limits.h"
#include "util/utf8.h"

const char pst_domain_why_nomem[] = "out of memory";

static _Thread_local char why_text[160];

static int is_ldh_or_underscore(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static const char *bad_char_why(unsigned char c)
{
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return "domain name contains white space";
	if (c == '@')
		return "domain name contains '@'";
	if (c >= 0x21 && c < 0x7f)
		snprintf(why_text, sizeof why_text,
			 "character '%c' is not allowed in a domain name", c);
	else
		snprintf(why_text, sizeof why_text,
			 "byte 0x%02x is not allowed in a domain name", c);
	return why_text;
}

static const char *check_label(const char *label, size_t len)
{
	if (len == 0)
		return "empty label";
	if (len > PST_MAX_LABEL_BYTES)
		return "label longer than 63 octets";
	if (label[0] == '-' || label[len - 1] == '-')
		return "label starts or ends with a hyphen";
	return NULL;
}

/* Check ASCII name s[0..n) (trailing dot already removed) and write it
 * lowered into out (n bytes + NUL). NULL when valid, else the reason. */
static const char *check_ascii(const char *s, size_t n, char *out)
{
	size_t label_start = 0;
	const char *why;

	if (n == 0)
		return "empty domain name";
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';

		if (c == '.') {
			if ((why = check_label(out + label_start, i - label_start)) != NULL)
				return why;
			label_start = i + 1;
			if (i < n)
				out[i] = '.';
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!is_ldh_or_underscore(c))
			return bad_char_why(c);
		out[i] = (char)c;
	}
	out[n] = '\0';
	if (n > PST_MAX_DOMAIN_BYTES)
		return "domain name longer than 253 octets";
	return NULL;
}

/* The first ASCII byte that can be in no domain name, or NULL. libidn2
 * would let most of them through, so they are refused here, uniformly. */
static const char *bad_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c < 0x80 && c != '.' && !is_ldh_or_underscore(c))
			return s + i;
	}
	return NULL;
}

static int needs_idna(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	/* A-labels are validated (and rejected when bogus) by libidn2. */
	for (size_t i = 0; i + 4 <= n; i++) {
		if ((i == 0 || s[i - 1] == '.') &&
		    (s[i] == 'x' || s[i] == 'X') && (s[i + 1] == 'n' || s[i + 1] == 'N') &&
		    s[i + 2] == '-' && s[i + 3] == '-')
			return 1;
	}
	return 0;
}

static char *normalize_ascii(const char *s, size_t n, const char **why)
{
	char *out;

	if (n > 0 && s[n - 1] == '.')
		n--;
	out = malloc(n + 1);
	if (out == NULL) {
		*why = pst_domain_why_nomem;
		return NULL;
	}
	if ((*why = check_ascii(s, n, out)) != NULL) {
		free(out);
		return NULL;
	}
	return out;
}

static char *normalize_idna(const char *s, size_t n, const char **why)
{
	char *in, *ascii = NULL, *out;
	int rc;

	in = malloc(n + 1);
	if (in == NULL) {
		*why = pst_domain_why_nomem;
		return NULL;
	}
	memcpy(in, s, n);
	in[n] = '\0';
	rc = idn2_lookup_u8((const uint8_t *)in, (uint8_t **)&ascii,
			    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	free(in);
	if (rc != IDN2_OK) {
		if (rc == IDN2_MALLOC) {
			*why = pst_domain_why_nomem;
		} else if (rc == IDN2_TOO_BIG_DOMAIN) {
			*why = "domain name longer than 253 octets";
		} else if (rc == IDN2_TOO_BIG_LABEL) {
			*why = "label longer than 63 octets";
		} else {
			snprintf(why_text, sizeof why_text,
				 "not a valid international domain name: %s",
				 idn2_strerror(rc));
			*why = why_text;
		}
		return NULL;
	}
	out = normalize_ascii(ascii, strlen(ascii), why);
	idn2_free(ascii);
	return out;
}

/* The common case in one pass: LDH labels (letters of either case, digits,
 * '-', '_'), none empty, longer than 63 octets, starting or ending with
 * '-', or an A-label, at most 253 octets without the trailing dot; lowered
 * into a new string. NULL for anything else (and on ENOMEM): the full
 * checks below then decide, and say why, so both ways agree on every name
 * this one accepts. */
static char *normalize_plain(const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > PST_MAX_DOMAIN_BYTES)
		return NULL;
	char *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';
		if (c == '.') {
			size_t len = i - label;
			if (check_label(out + label, len) != NULL ||
			    (len >= 4 && memcmp(out + label, "xn--", 4) == 0))
				goto other;
			out[i] = '.';
			label = i + 1;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		else if (!is_ldh_or_underscore(c))
			goto other;
		out[i] = (char)c;
	}
	out[n] = '\0';
	return out;
other:
	free(out);
	return NULL;
}

char *pst_domain_normalize(const char *s, size_t n, const char **why)
{
	const char *dummy, *bad;
	char *plain;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if ((plain = normalize_plain(s, n)) != NULL)
		return plain;
	if (n == 0 || (n == 1 && s[0] == '.')) {
		*why = "empty domain name";
		return NULL;
	}
	if (memchr(s, '\0', n) != NULL) {
		*why = "domain name contains a NUL byte";
		return NULL;
	}
	if (s[0] == '[') {
		*why = "an address literal is not a domain name";
		return NULL;
	}
	if (n > PST_MAX_DOMAIN_INPUT_BYTES) {
		*why = "domain name longer than 253 octets";
		return NULL;
	}
	if ((bad = bad_ascii(s, n)) != NULL) {
		*why = bad_char_why((unsigned char)*bad);
		return NULL;
	}
	if (needs_idna(s, n))
		return normalize_idna(s, n, why);
	return normalize_ascii(s, n, why);
}

char *pst_domain_of_address(const char *addr, size_t n)
{
	const char *at = memrchr(addr, '@', n);
	const char *why;

	if (at == NULL)
		return NULL;
	return pst_domain_normalize(at + 1, n - (size_t)(at + 1 - addr), &why);
}

int pst_domain_is_under(const char *name, const char *parent)
{
	size_t ln = strlen(name), lp = strlen(parent);

	if (lp == 0 || ln < lp)
		return 0;
	if (ln == lp)
		return memcmp(name, parent, ln) == 0;
	return name[ln - lp - 1] == '.' && memcmp(name + ln - lp, parent, lp) == 0;
}

/* ---- sets ---------------------------------------------------------- */

struct slot {
	const char *name;  /* NULL: empty slot */
	size_t len;
	uint64_t hash;
};

struct pst_domainset {
	pst_arena *names;
	struct slot *slots;
	size_t cap;        /* power of two */
	size_t count;
};

#define DOMAINSET_FIRST_CAP 16

pst_domainset *pst_domainset_new(void)
{
	pst_domainset *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->names = pst_arena_new();
	s->slots = calloc(DOMAINSET_FIRST_CAP, sizeof *s->slots);
	if (s->names == NULL || s->slots == NULL) {
		pst_arena_free(&s->names);
		free(s->slots);
		free(s);
		return NULL;
	}
	s->cap = DOMAINSET_FIRST_CAP;
	return s;
}

void pst_domainset_free(pst_domainset **s)
{
	if (s == NULL || *s == NULL)
		return;
	pst_arena_free(&(*s)->names);
	free((*s)->slots);
	free(*s);
	*s = NULL;
}

/* The slot holding name, or the empty slot where it would go. */
static struct slot *find_slot(struct slot *slots, size_t cap, const char *name,
			      size_t len, uint64_t hash)
{
	size_t i = (size_t)hash & (cap - 1);

	for (;;) {
		struct slot *e = &slots[i];
		if (e->name == NULL ||
		    (e->hash == hash && e->len == len && memcmp(e->name, name, len) == 0))
			return e;
		i = (i + 1) & (cap - 1);
	}
}

static int grow(pst_domainset *s)
{
	size_t cap = s->cap * 2;
	struct slot *slots;

	if (cap > SIZE_MAX / sizeof *slots)
		return -1;
	slots = calloc(cap, sizeof *slots);
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		const struct slot *e = &s->slots[i];
		if (e->name != NULL)
			*find_slot(slots, cap, e->name, e->len, e->hash) = *e;
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int pst_domainset_add(pst_domainset *s, const char *domain)
{
	size_t len = strlen(domain);
	uint64_t hash = pst_hash_fnv1a64(domain, len);
	struct slot *e;

	if ((s->count + 1) * 2 > s->cap && grow(s) != 0)
		return -1;
	e = find_slot(s->slots, s->cap, domain, len, hash);
	if (e->name != NULL)
		return 0;
	e->name = pst_arena_strndup(s->names, domain, len);
	if (e->name == NULL)
		return -1;
	e->len = len;
	e->hash = hash;
	s->count++;
	return 0;
}

static int contains_n(const pst_domainset *s, const char *name, size_t len)
{
	return find_slot(s->slots, s->cap, name, len, pst_hash_fnv1a64(name, len))->name != NULL;
}

int pst_domainset_contains_exact(const pst_domainset *s, const char *domain)
{
	return contains_n(s, domain, strlen(domain));
}

int pst_domainset_contains(const pst_domainset *s, const char *domain)
{
	size_t len = strlen(domain);

	for (;;) {
		const char *dot;

		if (contains_n(s, domain, len))
			return 1;
		dot = memchr(domain, '.', len);
		if (dot == NULL)
			return 0;
		len -= (size_t)(dot + 1 - domain);
		domain = dot + 1;
	}
}

size_t pst_domainset_count(const pst_domainset *s)
{
	return s->count;
}

/* ---- Mixed scripts ------------------------------------------------------ */

enum confusable_script { SCRIPT_NONE, SCRIPT_LATIN, SCRIPT_CYRILLIC, SCRIPT_GREEK,
			 SCRIPT_ARMENIAN, SCRIPT_CHEROKEE };

static enum confusable_script script_of(uint32_t cp)
{
	if ((cp >= 'a' && cp <= 'z') || (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
	    (cp >= 0x1E00 && cp <= 0x1EFF))
		return SCRIPT_LATIN;
	if ((cp >= 0x400 && cp <= 0x52F) || (cp >= 0x1C80 && cp <= 0x1C8F) ||
	    (cp >= 0x2DE0 && cp <= 0x2DFF) || (cp >= 0xA640 && cp <= 0xA69F))
		return SCRIPT_CYRILLIC;
	if ((cp >= 0x370 && cp <= 0x3FF) || (cp >= 0x1F00 && cp <= 0x1FFF))
		return SCRIPT_GREEK;
	if (cp >= 0x530 && cp <= 0x58F)
		return SCRIPT_ARMENIAN;
	if ((cp >= 0x13A0 && cp <= 0x13FF) || (cp >= 0xAB70 && cp <= 0xABBF))
		return SCRIPT_CHEROKEE;
	return SCRIPT_NONE;
}

/* Whether one A-label (n bytes, "xn--...") decodes to mixed scripts. */
static int label_mixes_scripts(const char *label, size_t n)
{
	char ace[PST_MAX_LABEL_BYTES + 1];
	char *u = NULL;
	enum confusable_script seen = SCRIPT_NONE;
	int mixed = 0;

	if (n > PST_MAX_LABEL_BYTES)
		return 0;
	memcpy(ace, label, n);
	ace[n] = '\0';
	if (idn2_to_unicode_8z8z(ace, &u, 0) != IDN2_OK || u == NULL)
		return 0;           /* normalisation validated it; nothing to show */
	const unsigned char *p = (const unsigned char *)u;
	size_t len = strlen(u);
	for (size_t i = 0; i < len && !mixed;) {
		uint32_t cp;
		size_t k = pst_utf8_decode(p + i, len - i, &cp);
		enum confusable_script sc = script_of(cp);
		i += k ? k : 1;
		if (sc == SCRIPT_NONE)
			continue;
		if (seen == SCRIPT_NONE)
			seen = sc;
		else if (sc != seen)
			mixed = 1;
	}
	idn2_free(u);
	return mixed;
}

int pst_domain_mixes_scripts(const char *norm)
{
	const char *label = norm;

	while (label && *label) {
		const char *dot = strchr(label, '.');
		size_t n = dot ? (size_t)(dot - label) : strlen(label);
		if (n > 4 && strncmp(label, "xn--", 4) == 0 && label_mixes_scripts(label, n))
			return 1;
		label = dot ? dot + 1 : NULL;
	}
	return 0;
}
