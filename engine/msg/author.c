/*
 * author.c: the author of a message; see author.h for the contract.
 *
 * Two readings of the From fields:
 *
 *   - Strict (the author): exactly one From field holding exactly one
 *     mailbox, outside any group, that parses, has a valid domain, and
 *     holds nothing a client could render as another address: no NUL, no
 *     RFC 2047 encoded-word and no '@' inside the address itself, no
 *     obsolete route ("<@a,@b:user@domain>"), and no domain label mixing
 *     scripts whose letters pass for one another (util/domain.h). The first check that fails
 *     names the error; the order below goes from the coarsest to the
 *     finest, so "no From field" is never reported as "unparsable".
 *
 *   - Loose (the domains shown): every From value is read twice, as
 *     written and RFC 2047-decoded, after removing characters that render
 *     as nothing (zero-width spaces and joiners, bidi controls, soft
 *     hyphen, variation selectors, tag characters, BOM) and mapping the
 *     full-width '@' and dots to ASCII. Every "@" followed by something
 *     that normalises to a domain with a dot gives a domain. NUL and
 *     other bytes end a domain. The domains of the parsed addresses come
 *     first (shown 0), then the others (shown 1), without repeats.
 *
 * pst_msg_mailbox reads another field (Sender, Reply-To) the strict way:
 * one field, one mailbox, the author's checks; nothing else.
 *
 * At most PST_MAX_AUTHOR_DOMAINS domains are kept: a From that shows more
 * is itself an error ("too many addresses in From"), since a domain left
 * out could be the one a client displays. The work is linear in the size
 * of the From fields; nothing recurses.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg/addr.h"
#include "msg/author.h"
#include "msg/msg.h"
#include "msg/rfc2047.h"
#include "util/arena.h"
#include "util/domain.h"
#include "util/limits.h"
#include "util/utf8.h"

/* The reading in progress. */
struct reading {
	pst_arena *arena;
	pst_author *out;
	int too_many;               /* a domain did not fit */
};

/* ---- Domains shown ------------------------------------------------------ */

/* Whether code point cp renders as nothing (or as nothing a reader sees). */
static int is_invisible(uint32_t cp)
{
	return cp == 0xAD || cp == 0x34F || cp == 0x61C || cp == 0x115F || cp == 0x1160 ||
	       cp == 0x17B4 || cp == 0x17B5 || (cp >= 0x180B && cp <= 0x180F) ||
	       (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 ||
	       (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 ||
	       (cp >= 0xE0000 && cp <= 0xE007F);
}

/* The ASCII character a code point stands for in an address, or 0. */
static char ascii_lookalike(uint32_t cp)
{
	if (cp == 0xFF20 || cp == 0xFE6B)
		return '@';
	if (cp == 0x3002 || cp == 0xFF0E || cp == 0xFF61)
		return '.';
	return 0;
}

/* A copy of s without invisible characters, full-width '@' and dots made
 * ASCII; NUL-terminated (NULs inside kept), *outlen bytes. NULL on ENOMEM. */
static char *clean_copy(pst_arena *arena, const char *s, size_t n, size_t *outlen)
{
	char *out = pst_arena_alloc(arena, n + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		const unsigned char *p = (const unsigned char *)s + i;
		if (*p < 0x80) {
			out[o++] = (char)*p;
			i++;
			continue;
		}
		uint32_t cp;
		size_t len = pst_utf8_decode(p, n - i, &cp);
		if (len == 0)
			len = 1;    /* an invalid byte is kept as it is */
		char a = ascii_lookalike(cp);
		if (a)
			out[o++] = a;
		else if (!is_invisible(cp)) {
			memcpy(out + o, p, len);
			o += len;
		}
		i += len;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static int is_domain_byte(unsigned char c)
{
	return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Keep domain i, found again: an address's own domain is never only
 * shown, whichever field showed it first. Its copy. */
static const char *kept(pst_author *a, size_t i, int shown)
{
	if (!shown)
		a->domains[i].shown = 0;
	return a->domains[i].domain;
}

/* Add a normalised domain unless it is there; *at is the kept copy (NULL
 * when it did not fit). 0, or -1 on ENOMEM. */
static int add_domain(struct reading *r, const char *norm, int shown, const char **at)
{
	pst_author *a = r->out;

	*at = NULL;
	for (size_t i = 0; i < a->ndomains; i++)
		if (strcmp(a->domains[i].domain, norm) == 0) {
			*at = kept(a, i, shown);
			return 0;
		}
	if (a->ndomains == PST_MAX_AUTHOR_DOMAINS) {
		r->too_many = 1;
		return 0;
	}
	const char *copy = pst_arena_strdup(r->arena, norm);
	if (copy == NULL)
		return -1;
	a->domains[a->ndomains].domain = copy;
	a->domains[a->ndomains].shown = shown;
	a->ndomains++;
	*at = copy;
	return 0;
}

/* A domain already kept that s (n bytes, plain ASCII) spells, or NULL:
 * the address's own domain found again by the loose scan is not
 * normalised a second time. */
static const char *kept_spelling(pst_author *a, const char *s, size_t n, int shown)
{
	for (size_t i = 0; i < a->ndomains; i++)
		if (strlen(a->domains[i].domain) == n && strncasecmp(a->domains[i].domain, s, n) == 0)
			return kept(a, i, shown);
	return NULL;
}

/* The length of the domain text s (n bytes) without trailing dots and
 * hyphens; 0 when nothing is left or it has no dot (no domain a reader
 * takes for one). */
static size_t domain_text_len(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '.' || s[n - 1] == '-'))
		n--;
	return n > 0 && memchr(s, '.', n) != NULL ? n : 0;
}

/* The n bytes at s (n from domain_text_len, > 0) normalised, malloc'd
 * (the caller frees); NULL when they are no valid domain, or on ENOMEM
 * with *nomem set. */
static char *normalise_text_domain(const char *s, size_t n, int *nomem)
{
	const char *why = NULL;
	char *norm = pst_domain_normalize(s, n, &why);

	*nomem = norm == NULL && why == pst_domain_why_nomem;
	return norm;
}

/* Add the domain n bytes at s spell when it is valid and dotted; *at is
 * the kept copy, NULL when the text is no domain. 0, or -1 on ENOMEM. */
static int add_text_domain(struct reading *r, const char *s, size_t n, int shown,
			   const char **at)
{
	int nomem;

	*at = NULL;
	if ((n = domain_text_len(s, n)) == 0)
		return 0;
	if ((*at = kept_spelling(r->out, s, n, shown)) != NULL)
		return 0;
	char *norm = normalise_text_domain(s, n, &nomem);
	if (norm == NULL)
		return nomem ? -1 : 0;
	int rc = add_domain(r, norm, shown, at);
	free(norm);
	return rc;
}

/* Every "@domain" in s (n bytes). 0, or -1 on ENOMEM. */
static int scan_shown(struct reading *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '@')
			continue;
		size_t start = i + 1, end = start;
		while (end < n && is_domain_byte((unsigned char)s[end]))
			end++;
		const char *at;
		if (end > start && add_text_domain(r, s + start, end - start, 1, &at) < 0)
			return -1;
		i = end - 1;
	}
	return 0;
}

/* Scan a From value as written and decoded, cleaned. 0, or -1 on ENOMEM. */
static int shown_domains(struct reading *r, const char *v, size_t vlen)
{
	size_t clen, dlen;
	char *clean = clean_copy(r->arena, v, vlen, &clen);
	if (clean == NULL || scan_shown(r, clean, clen) < 0)
		return -1;
	if (pst_rfc2047_find_start(v, vlen) == NULL)
		return 0;
	char *dec = NULL;
	int nwords = pst_rfc2047_decode(r->arena, v, vlen, &dec, &dlen);
	if (nwords < 0)
		return -1;
	if (nwords == 0)
		return 0;
	clean = clean_copy(r->arena, dec, dlen, &clen);
	return clean == NULL ? -1 : scan_shown(r, clean, clen);
}

/* ---- The author ---------------------------------------------------------- */

/* Whether an angle-addr in v starts with an obsolete route ("<@"). */
static int has_route(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] != '<')
			continue;
		size_t j = i + 1;
		while (j < n && (v[j] == ' ' || v[j] == '\t'))
			j++;
		if (j < n && v[j] == '@')
			return 1;
	}
	return 0;
}

/* Why the single mailbox a of value v is not a readable author, or NULL.
 * domain is its normalised domain, NULL when it has none or an invalid
 * one. The texts name From; pst_msg_mailbox only asks whether it is NULL. */
static const char *mailbox_error(const pst_addr *a, const char *v, size_t vlen,
				 const char *domain)
{
	if (a->flags & PST_ADDR_BAD)
		return "unparsable From";
	if (a->flags & PST_ADDR_GROUP)
		return "group syntax in From";
	if (a->domain_len == 0)
		return "From address without a domain";
	if (pst_rfc2047_find_start(a->addr_spec, strlen(a->addr_spec)) != NULL)
		return "encoded-word in the From address";
	if (strchr(a->local, '@') != NULL)
		return "'@' in the local part of the From address";
	if (has_route(v, vlen))
		return "route in the From address";
	if (domain == NULL)
		return "invalid From domain";
	if (pst_domain_mixes_scripts(domain))
		return "mixed scripts in the From domain";
	return NULL;
}

/* Read one From field: its addresses' domains, then the domains shown.
 * When it is the only field, its single mailbox may be the author. */
static int read_field(struct reading *r, pst_msg *m, const pst_msg_field *f, int only)
{
	pst_author *a = r->out;
	pst_addr_list list;
	size_t vlen;
	const char *v = pst_msg_value(m, f, &vlen);
	const char *first = NULL;   /* the first mailbox's domain */

	if (v == NULL || pst_addr_parse_list(r->arena, v, vlen, 0, &list) < 0)
		return -1;
	a->count += list.count;
	for (size_t i = 0; i < list.count; i++) {
		const pst_addr *it = &list.items[i];
		const char *at = NULL;
		if (!(it->flags & PST_ADDR_BAD) && it->domain_len > 0 &&
		    add_text_domain(r, it->domain, it->domain_len, 0, &at) < 0)
			return -1;
		if (i == 0)
			first = at;
	}
	if (shown_domains(r, v, vlen) < 0)
		return -1;
	if (!only)
		return 0;
	if (memchr(v, '\0', vlen) != NULL)
		a->error = "NUL byte in From";
	else if (vlen == 0)
		a->error = "empty From";
	else if (list.count == 0)
		a->error = "no address in From";
	else if (list.count > 1)
		a->error = "more than one address in From";
	else if ((a->error = mailbox_error(&list.items[0], v, vlen, first)) == NULL) {
		a->addr = &list.items[0];
		a->domain = first;
	}
	return 0;
}

int pst_msg_author(pst_msg *m, pst_arena *arena, pst_author *out)
{
	struct reading r = { arena, out, 0 };
	uint32_t h = pst_msg_name_hash("From", 4);
	long i = -1;

	memset(out, 0, sizeof *out);
	out->domains = pst_arena_calloc(arena, PST_MAX_AUTHOR_DOMAINS, sizeof *out->domains);
	if (out->domains == NULL)
		return -1;
	out->nfields = pst_msg_count(m, "From", 4);
	while ((i = pst_msg_find_next(m, "From", 4, h, (size_t)(i + 1))) >= 0)
		if (read_field(&r, m, pst_msg_field_at(m, (size_t)i), out->nfields == 1) < 0)
			return -1;
	if (out->nfields == 0)
		out->error = "no From field";
	else if (out->nfields > 1)
		out->error = "more than one From field";
	else if (out->error == NULL && r.too_many)
		out->error = "too many addresses shown in From";
	if (out->error != NULL) {
		out->addr = NULL;
		out->domain = NULL;
	}
	return 0;
}

/* ---- One mailbox of another field (Sender, Reply-To) --------------------- */

/* The normalised domain of mailbox a, dotted as the author's must be, as
 * an arena copy in *out; NULL when it has none or an invalid one. 0, or
 * -1 on ENOMEM. */
static int mailbox_domain(pst_arena *arena, const pst_addr *a, const char **out)
{
	size_t n = (a->flags & PST_ADDR_BAD) ? 0 : domain_text_len(a->domain, a->domain_len);
	int nomem;

	*out = NULL;
	if (n == 0)
		return 0;
	char *norm = normalise_text_domain(a->domain, n, &nomem);
	if (norm == NULL)
		return nomem ? -1 : 0;
	*out = pst_arena_strdup(arena, norm);
	free(norm);
	return *out == NULL ? -1 : 0;
}

int pst_msg_mailbox(pst_msg *m, pst_arena *arena, const char *name, const char **address,
                    const char **domain)
{
	size_t len = strlen(name), vlen;
	pst_addr_list list;
	const char *d;

	*address = NULL;
	*domain = NULL;
	if (pst_msg_count(m, name, len) != 1)
		return 0;           /* no field, or more than one */
	const char *v = pst_msg_value(m, pst_msg_find(m, name, len, 0), &vlen);
	if (v == NULL || pst_addr_parse_list(arena, v, vlen, 0, &list) < 0)
		return -1;
	if (vlen == 0 || memchr(v, '\0', vlen) != NULL || list.count != 1)
		return 0;
	if (mailbox_domain(arena, &list.items[0], &d) < 0)
		return -1;
	if (mailbox_error(&list.items[0], v, vlen, d) != NULL)
		return 0;
	*address = list.items[0].addr_spec;
	*domain = d;
	return 0;
}
