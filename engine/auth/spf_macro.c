/*
 * spf_macro.c: SPF macro expansion, RFC 7208 section 7 (contract:
 * spf_macro.h).
 *
 * One macro-expand is parsed into a pst_spf_macro (letter, digits,
 * reversal, delimiter set, URL-escaping), its value is fetched from the
 * environment, split into at most PST_SPF_MACRO_MAX_PARTS parts (a value
 * with more parts is a syntax error: no name has that many labels), the
 * transformers are applied to the part list and the parts are written
 * joined with ".", escaped when the letter was upper case. Nothing here
 * recurses or allocates besides the output buffer.
 */
#include "auth/spf_macro.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/limits.h"

typedef struct pst_spf_macro {
	char letter;                   /* lower case */
	int upper;                     /* URL-escape the value */
	unsigned keep;                 /* right-hand parts to keep; 0: all */
	int reverse;
	char delims[8];                /* NUL-terminated; "." when none given */
} pst_spf_macro;

typedef struct pst_spf_part {
	const char *p;
	size_t n;
} pst_spf_part;

static int is_delimiter(int c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static int is_term_letter(int c)
{
	return c != '\0' && strchr("slodiphv", c) != NULL;
}

static int is_exp_letter(int c)
{
	return c != '\0' && strchr("crt", c) != NULL;
}

/* Parse the macro-expand at s; its length, or 0 when malformed. */
static size_t parse_macro(const char *s, size_t n, int exp, pst_spf_macro *m)
{
	memset(m, 0, sizeof *m);
	if (n < 2 || s[0] != '%')
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-') {
		m->letter = s[1];
		return 2;
	}
	if (s[1] != '{' || n < 4)
		return 0;
	size_t i = 2;
	int c = (unsigned char)s[i];
	int lc = isascii(c) ? tolower(c) : c;
	if (!is_term_letter(lc) && !(exp && is_exp_letter(lc)))
		return 0;
	m->letter = (char)lc;
	m->upper = lc != c;
	i++;
	int digits = 0;
	unsigned long v = 0;
	while (i < n && isdigit((unsigned char)s[i])) {
		if (v <= PST_SPF_MACRO_MAX_DIGITS)
			v = v * 10 + (unsigned long)(s[i] - '0');
		digits = 1;
		i++;
	}
	if (digits && v == 0)
		return 0;                  /* 7.1: "the value MUST be nonzero" */
	m->keep = v > PST_SPF_MACRO_MAX_DIGITS ? 0 : (unsigned)v;
	if (i < n && (s[i] == 'r' || s[i] == 'R')) {
		m->reverse = 1;
		i++;
	}
	size_t nd = 0;
	while (i < n && is_delimiter((unsigned char)s[i])) {
		if (strchr(m->delims, s[i]) == NULL && nd + 1 < sizeof m->delims)
			m->delims[nd++] = s[i];
		i++;
	}
	if (nd == 0)
		m->delims[0] = '.';
	if (i >= n || s[i] != '}')
		return 0;
	return i + 1;
}

size_t pst_spf_macro_len(const char *s, size_t n, int exp)
{
	pst_spf_macro m;
	return parse_macro(s, n, exp, &m);
}

/* The IPv6 address as 32 dotted nibbles, lower case (7.3). */
static void ip6_nibbles(const pst_ip *ip, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (int i = 0; i < 16 && k + 4 < size; i++) {
		buf[k++] = hex[ip->bytes[i] >> 4];
		buf[k++] = '.';
		buf[k++] = hex[ip->bytes[i] & 15];
		buf[k++] = '.';
	}
	buf[k ? k - 1 : 0] = '\0';
}

/* The local-part of sender (before its last "@"), or its domain. */
static const char *sender_part(const char *sender, int local, size_t *len)
{
	const char *at = strrchr(sender, '@');
	if (at == NULL) {
		*len = local ? 0 : strlen(sender);
		return sender;
	}
	if (local) {
		*len = (size_t)(at - sender);
		return sender;
	}
	*len = strlen(at + 1);
	return at + 1;
}

/* The value of m's letter, into *v and *vn (scratch holds formatted ones). */
static int macro_value(const pst_spf_macro *m, const pst_spf_macro_env *env, char *scratch,
                       size_t size, const char **v, size_t *vn, const char **why)
{
	const char *s = NULL;
	switch (m->letter) {
	case 's':
	case 'l':
	case 'o':
		if (env->sender == NULL) {
			*why = "no sender for a macro";
			return PST_SPF_MACRO_UNSET;
		}
		if (m->letter == 's') {
			*v = env->sender;
			*vn = strlen(env->sender);
		} else {
			*v = sender_part(env->sender, m->letter == 'l', vn);
		}
		return PST_SPF_MACRO_OK;
	case 'd':
		s = env->domain;
		if (s == NULL) {
			*why = "no domain for a macro";
			return PST_SPF_MACRO_UNSET;
		}
		*v = s;
		*vn = strlen(s);
		if (*vn > 0 && s[*vn - 1] == '.')
			(*vn)--;               /* the trailing dot of a fully qualified name */
		return PST_SPF_MACRO_OK;
	case 'h':
		if (env->helo == NULL) {
			*why = "no HELO for %{h}";
			return PST_SPF_MACRO_UNSET;
		}
		s = env->helo;
		break;
	case 'i':
	case 'c':
	case 'v':
		if (env->ip == NULL || (env->ip->family != 4 && env->ip->family != 6)) {
			*why = "no client IP for a macro";
			return PST_SPF_MACRO_UNSET;
		}
		if (m->letter == 'v')
			s = env->ip->family == 4 ? "in-addr" : "ip6";
		else if (m->letter == 'i' && env->ip->family == 6) {
			ip6_nibbles(env->ip, scratch, size);
			s = scratch;
		} else {
			s = pst_ip_format(env->ip, scratch, size);
		}
		break;
	case 'p':
		s = env->validated_name ? env->validated_name(env->arg, env->domain) : NULL;
		if (s == NULL)
			s = "unknown";
		break;
	case 'r':
		s = env->receiver ? env->receiver : "unknown";
		break;
	case 't':
		snprintf(scratch, size, "%" PRId64, env->now);
		s = scratch;
		break;
	default:
		*why = "unknown macro letter";
		return PST_SPF_MACRO_SYNTAX;
	}
	*v = s;
	*vn = strlen(s);
	return PST_SPF_MACRO_OK;
}

/* Split v at m's delimiters into parts; their count, or -1 when too many. */
static int split_parts(const pst_spf_macro *m, const char *v, size_t vn, pst_spf_part *parts)
{
	int np = 0;
	size_t start = 0;
	for (size_t i = 0; i <= vn; i++) {
		if (i < vn && strchr(m->delims, v[i]) == NULL)
			continue;
		if (i < vn && v[i] == '\0')
			continue;
		if (np == PST_SPF_MACRO_MAX_PARTS)
			return -1;
		parts[np].p = v + start;
		parts[np].n = i - start;
		np++;
		start = i + 1;
	}
	return np;
}

static int is_unreserved(int c)
{
	return (isascii(c) && isalnum(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Append p (n bytes), URL-escaped when upper (7.3, RFC 3986 2.1). */
static int put_value(pst_buf *out, const char *p, size_t n, int upper)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!upper)
		return pst_buf_append(out, p, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (is_unreserved(c)) {
			if (pst_buf_putc(out, (char)c) < 0)
				return -1;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (pst_buf_append(out, e, 3) < 0)
				return -1;
		}
	}
	return 0;
}

/* Expand one %{...} macro m onto out. */
static int expand_one(const pst_spf_macro *m, const pst_spf_macro_env *env, pst_buf *out,
                      const char **why)
{
	char scratch[80];
	const char *v;
	size_t vn;
	int rc = macro_value(m, env, scratch, sizeof scratch, &v, &vn, why);
	if (rc != PST_SPF_MACRO_OK)
		return rc;

	pst_spf_part parts[PST_SPF_MACRO_MAX_PARTS];
	int np = split_parts(m, v, vn, parts);
	if (np < 0) {
		*why = "macro value with too many parts";
		return PST_SPF_MACRO_SYNTAX;
	}
	if (m->reverse) {
		for (int a = 0, b = np - 1; a < b; a++, b--) {
			pst_spf_part t = parts[a];
			parts[a] = parts[b];
			parts[b] = t;
		}
	}
	int first = 0;
	if (m->keep != 0 && m->keep < (unsigned)np)
		first = np - (int)m->keep;
	for (int k = first; k < np; k++) {
		if (k > first && pst_buf_putc(out, '.') < 0)
			return PST_SPF_MACRO_NOMEM;
		if (put_value(out, parts[k].p, parts[k].n, m->upper) < 0)
			return PST_SPF_MACRO_NOMEM;
	}
	return PST_SPF_MACRO_OK;
}

/* 7.3: drop labels from the left of out[from..] until at most 253 octets
 * remain (a final "." not counted). A name with no dot left is kept. */
static void shorten_domain(pst_buf *out, size_t from)
{
	char *d = out->data + from;
	size_t n = out->len - from;
	size_t cut = 0;
	size_t body = n > 0 && d[n - 1] == '.' ? n - 1 : n;
	while (body - cut > PST_MAX_DOMAIN_BYTES) {
		const char *dot = memchr(d + cut, '.', body - cut);
		if (dot == NULL)
			return;
		cut = (size_t)(dot - d) + 1;
	}
	if (cut == 0)
		return;
	memmove(d, d + cut, n - cut);
	out->len -= cut;
	out->data[out->len] = '\0';
}

int pst_spf_macro_expand(const char *s, size_t n, const pst_spf_macro_env *env, unsigned flags,
                         pst_buf *out, const char **why)
{
	static const pst_spf_macro_env none;
	size_t from = out->len;
	*why = NULL;
	if (env == NULL)
		env = &none;
	for (size_t i = 0; i < n;) {
		const char *pct = memchr(s + i, '%', n - i);
		size_t lit = pct ? (size_t)(pct - (s + i)) : n - i;
		if (lit > 0 && pst_buf_append(out, s + i, lit) < 0)
			return PST_SPF_MACRO_NOMEM;
		i += lit;
		if (i >= n)
			break;
		pst_spf_macro m;
		size_t len = parse_macro(s + i, n - i, (flags & PST_SPF_MACRO_EXP) != 0, &m);
		if (len == 0) {
			*why = "bad macro";
			return PST_SPF_MACRO_SYNTAX;
		}
		i += len;
		int rc = PST_SPF_MACRO_OK;
		if (m.letter == '%')
			rc = pst_buf_putc(out, '%') < 0 ? PST_SPF_MACRO_NOMEM : rc;
		else if (m.letter == '_')
			rc = pst_buf_putc(out, ' ') < 0 ? PST_SPF_MACRO_NOMEM : rc;
		else if (m.letter == '-')
			rc = pst_buf_puts(out, "%20") < 0 ? PST_SPF_MACRO_NOMEM : rc;
		else
			rc = expand_one(&m, env, out, why);
		if (rc != PST_SPF_MACRO_OK)
			return rc;
	}
	if (flags & PST_SPF_MACRO_DOMAIN)
		shorten_domain(out, from);
	return PST_SPF_MACRO_OK;
}
