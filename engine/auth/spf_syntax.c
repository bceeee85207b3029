/*
 * spf_syntax.c: RFC 7208 section 12 record syntax, and the rewrite of a
 * valid record for libspf2 (contract: spf_syntax.h).
 *
 * A record is split at spaces into terms; each term is a directive
 * ([qualifier] mechanism) or a modifier (name "=" macro-string). Domain
 * specs are macro-strings whose end is "." toplabel ["."] or a macro
 * expansion. The check is on the text, before any expansion (7.1: the
 * syntax is not checked after it); a domain-spec holding a macro is then
 * expanded by spf_macro.c when the caller gives a request.
 */
#include "auth/spf_syntax.h"

#include "auth/spf_macro.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct pst_spf_term {
	const char *p;
	size_t n;
} pst_spf_term;

static int is_alnum(int c)
{
	return isascii(c) && isalnum(c);
}

static int is_alpha(int c)
{
	return isascii(c) && isalpha(c);
}

/* Whether s is a macro-string; *tail is where the literal text after the
 * last macro-expand starts (n when it ends with one). */
static int macro_string(const char *s, size_t n, size_t *tail)
{
	size_t i = 0;
	*tail = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			size_t m = pst_spf_macro_len(s + i, n - i, 0);
			if (m == 0)
				return 0;
			i += m;
			*tail = i;
			continue;
		}
		if (c < 0x21 || c > 0x7e)
			return 0;
		i++;
	}
	return 1;
}

static int toplabel(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	int alpha = 0, hyphen = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			hyphen = 1;
		else if (!is_alnum((unsigned char)s[i]))
			return 0;
		else if (is_alpha((unsigned char)s[i]))
			alpha = 1;
	}
	if (hyphen)
		return s[0] != '-' && s[n - 1] != '-';
	return alpha;
}

/* domain-spec = macro-string domain-end */
static int domain_spec(const char *s, size_t n)
{
	size_t tail;
	if (n == 0 || !macro_string(s, n, &tail))
		return 0;
	if (tail == n)
		return 1;                  /* ends with a macro-expand */
	size_t end = n;
	if (s[end - 1] == '.')
		end--;
	size_t dot = end;
	while (dot > tail && s[dot - 1] != '.')
		dot--;
	if (dot == tail)
		return 0;                  /* no "." before the top label */
	return toplabel(s + dot, end - dot);
}

/* "/" digits with no leading zero, at most max. -1 when malformed. */
static int cidr_value(const char *s, size_t n, int max)
{
	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > max ? -1 : v;
}

static int ip4_network(const char *s, size_t n)
{
	char buf[16];
	struct in_addr a;
	if (n == 0 || n >= sizeof buf)
		return 0;
	/* qnum: no leading zeros */
	for (size_t i = 0; i < n; i++)
		if (s[i] == '0' && (i == 0 || s[i - 1] == '.') && i + 1 < n && isdigit((unsigned char)s[i + 1]))
			return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1;
}

static int ip6_network(const char *s, size_t n)
{
	char buf[64];
	struct in6_addr a;
	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Split "DOMAIN[/v4][//v6]" (for a and mx): the domain part's length and
 * the prefixes (-1 when absent). 0, or -1 when a prefix is malformed. */
static int dual_cidr(const char *s, size_t n, size_t *dlen, int *v4, int *v6)
{
	*v4 = *v6 = -1;
	*dlen = n;
	/* Find a trailing "//digits" then a trailing "/digits". */
	size_t i = n;
	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i < n && i >= 2 && s[i - 1] == '/' && s[i - 2] == '/') {
		*v6 = cidr_value(s + i, n - i, 128);
		if (*v6 < 0)
			return -1;
		n = i - 2;
		*dlen = n;
		i = n;
		while (i > 0 && isdigit((unsigned char)s[i - 1]))
			i--;
	}
	if (i < n && i >= 1 && s[i - 1] == '/') {
		*v4 = cidr_value(s + i, n - i, 32);
		if (*v4 < 0)
			return -1;
		*dlen = i - 1;
	} else if (n > 0 && s[n - 1] == '/') {
		return -1;
	}
	/* A "/" left right before the domain part's end is a bad prefix. */
	if (*dlen > 0 && s[*dlen - 1] == '/')
		return -1;
	return 0;
}

static int name_eq(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

typedef struct pst_spf_rw {
	pst_buf *out;
	int family;
	const char *zero_marker;
	const pst_spf_macro_env *env;  /* NULL: domain-specs are kept as written */
	int expanded;                  /* a domain-spec had a macro expanded */
	pst_buf tmp;                   /* one expansion */
	int has_all;
	const char *redirect;
	size_t redirect_n;
	int nexp;
	int nredirect;
} pst_spf_rw;

static int put(pst_spf_rw *w, const char *p, size_t n)
{
	return pst_buf_append(w->out, p, n);
}

/* A domain-spec (n bytes at p): as written, or expanded for w->env (RFC
 * 7208 7) and written so that libspf2's own expansion of it is the
 * identity: "%" as "%%", a space as "%_". One that needs a value the
 * request lacks (%{h} without a HELO) stays as written: libspf2 cannot
 * expand it either and makes it permerror if, and only if, the term is
 * evaluated. */
static int put_domain(pst_spf_rw *w, const char *p, size_t n, const char **why)
{
	if (memchr(p, '%', n) == NULL)
		return put(w, p, n) < 0 ? PST_SPF_SYNTAX_NOMEM : PST_SPF_SYNTAX_OK;
	w->expanded = 1;
	if (w->env == NULL)
		return put(w, p, n) < 0 ? PST_SPF_SYNTAX_NOMEM : PST_SPF_SYNTAX_OK;
	pst_buf_clear(&w->tmp);
	int rc = pst_spf_macro_expand(p, n, w->env, PST_SPF_MACRO_DOMAIN, &w->tmp, why);
	if (rc == PST_SPF_MACRO_NOMEM)
		return PST_SPF_SYNTAX_NOMEM;
	if (rc == PST_SPF_MACRO_UNSET) {
		*why = NULL;               /* libspf2 fails it if it gets there */
		return put(w, p, n) < 0 ? PST_SPF_SYNTAX_NOMEM : PST_SPF_SYNTAX_OK;
	}
	if (rc != PST_SPF_MACRO_OK)
		return PST_SPF_SYNTAX_ERROR;
	for (size_t i = 0; i < w->tmp.len; i++) {
		char c = w->tmp.data[i];
		int r = c == '%' ? pst_buf_puts(w->out, "%%")
		      : c == ' ' ? pst_buf_puts(w->out, "%_")
		                 : pst_buf_putc(w->out, c);
		if (r < 0)
			return PST_SPF_SYNTAX_NOMEM;
	}
	return PST_SPF_SYNTAX_OK;
}

static int put_q(pst_spf_rw *w, char q, const char *text)
{
	if (pst_buf_putc(w->out, ' ') < 0)
		return -1;
	if (q && pst_buf_putc(w->out, q) < 0)
		return -1;
	return pst_buf_puts(w->out, text);
}

/* a or mx with its optional domain and dual-cidr. */
static int mech_a_mx(pst_spf_rw *w, char q, int is_mx, const char *arg, size_t n, int has_arg,
                     const char **why)
{
	size_t dlen;
	int v4, v6;
	if (dual_cidr(arg, n, &dlen, &v4, &v6) < 0) {
		*why = "bad CIDR prefix length";
		return PST_SPF_SYNTAX_ERROR;
	}
	if (has_arg && (dlen == 0 || !domain_spec(arg, dlen))) {
		*why = is_mx ? "bad domain in mx" : "bad domain in a";
		return PST_SPF_SYNTAX_ERROR;
	}
	if (!has_arg && dlen != 0) {
		*why = "bad a/mx mechanism";
		return PST_SPF_SYNTAX_ERROR;
	}
	int prefix = w->family == 4 ? v4 : v6;
	if (prefix == 0) {
		/* Any address of the client's family matches: the domain gets the
		 * marker, and the DNS layer answers such questions with the
		 * client's own address when the name has one. */
		if (put_q(w, q, is_mx ? "mx:" : "a:") < 0)
			return PST_SPF_SYNTAX_NOMEM;
		int rc = has_arg ? put_domain(w, arg, dlen, why)
		       : pst_buf_puts(w->out, "%{d}") < 0 ? PST_SPF_SYNTAX_NOMEM : PST_SPF_SYNTAX_OK;
		if (rc != PST_SPF_SYNTAX_OK)
			return rc;
		if (pst_buf_puts(w->out, w->zero_marker) < 0)
			return PST_SPF_SYNTAX_NOMEM;
		return PST_SPF_SYNTAX_OK;
	}
	if (put_q(w, q, is_mx ? "mx" : "a") < 0)
		return PST_SPF_SYNTAX_NOMEM;
	int slash = 0;
	if (has_arg) {
		if (pst_buf_putc(w->out, ':') < 0)
			return PST_SPF_SYNTAX_NOMEM;
		size_t from = w->out->len;
		int rc = put_domain(w, arg, dlen, why);
		if (rc != PST_SPF_SYNTAX_OK)
			return rc;
		slash = memchr(w->out->data + from, '/', w->out->len - from) != NULL;
	}
	if (slash) {
		/* An expansion with "/" (a HELO "h.example/1"): libspf2 would take
		 * a "/digits" at its end for the prefix and widen the term, so
		 * both prefixes are written, and it asks the name as expanded. */
		int p4 = w->family == 4 && prefix > 0 ? prefix : 32;
		int p6 = w->family == 6 && prefix > 0 ? prefix : 128;
		return pst_buf_printf(w->out, "/%d//%d", p4, p6) < 0 ? PST_SPF_SYNTAX_NOMEM
		                                                       : PST_SPF_SYNTAX_OK;
	}
	if (prefix > 0 && pst_buf_printf(w->out, w->family == 4 ? "/%d" : "//%d", prefix) < 0)
		return PST_SPF_SYNTAX_NOMEM;
	return PST_SPF_SYNTAX_OK;
}

/* ip4 or ip6 with its network and prefix. */
static int mech_ip(pst_spf_rw *w, char q, int v6, const char *arg, size_t n, const char **why)
{
	const char *slash = memchr(arg, '/', n);
	size_t an = slash ? (size_t)(slash - arg) : n;
	int prefix = -1;
	if (slash != NULL) {
		prefix = cidr_value(slash + 1, n - an - 1, v6 ? 128 : 32);
		if (prefix < 0) {
			*why = "bad CIDR prefix length";
			return PST_SPF_SYNTAX_ERROR;
		}
	}
	if (!(v6 ? ip6_network(arg, an) : ip4_network(arg, an))) {
		*why = v6 ? "bad ip6 network" : "bad ip4 network";
		return PST_SPF_SYNTAX_ERROR;
	}
	if (prefix == 0) {
		const char *half = v6 ? "ip6:::/1" : "ip4:0.0.0.0/1";
		const char *other = v6 ? "ip6:8000::/1" : "ip4:128.0.0.0/1";
		if (put_q(w, q, half) < 0 || put_q(w, q, other) < 0)
			return PST_SPF_SYNTAX_NOMEM;
		return PST_SPF_SYNTAX_OK;
	}
	if (put_q(w, q, v6 ? "ip6:" : "ip4:") < 0 || put(w, arg, n) < 0)
		return PST_SPF_SYNTAX_NOMEM;
	return PST_SPF_SYNTAX_OK;
}

static int directive(pst_spf_rw *w, const char *p, size_t n, const char **why)
{
	char q = 0;
	if (n > 0 && strchr("+-?~", p[0]) != NULL) {
		q = p[0];
		p++;
		n--;
	}
	size_t nl = 0;
	while (nl < n && is_alnum((unsigned char)p[nl]))
		nl++;
	const char *arg = p + nl;
	size_t an = n - nl;
	int has_colon = an > 0 && arg[0] == ':';
	if (has_colon) {
		arg++;
		an--;
	}
	if (name_eq(p, nl, "all")) {
		if (an != 0 || has_colon) {
			*why = "bad all mechanism";
			return PST_SPF_SYNTAX_ERROR;
		}
		w->has_all = 1;
		return put_q(w, q, "all") < 0 ? PST_SPF_SYNTAX_NOMEM : PST_SPF_SYNTAX_OK;
	}
	if (name_eq(p, nl, "include") || name_eq(p, nl, "exists")) {
		if (!has_colon || !domain_spec(arg, an)) {
			*why = "bad domain in include or exists";
			return PST_SPF_SYNTAX_ERROR;
		}
		if (put_q(w, q, name_eq(p, nl, "include") ? "include:" : "exists:") < 0)
			return PST_SPF_SYNTAX_NOMEM;
		return put_domain(w, arg, an, why);
	}
	if (name_eq(p, nl, "a") || name_eq(p, nl, "mx")) {
		if (!has_colon && an > 0 && arg[0] != '/') {
			*why = "unknown mechanism";
			return PST_SPF_SYNTAX_ERROR;
		}
		return mech_a_mx(w, q, name_eq(p, nl, "mx"), arg, an, has_colon, why);
	}
	if (name_eq(p, nl, "ptr")) {
		if ((has_colon && !domain_spec(arg, an)) || (!has_colon && an > 0)) {
			*why = "bad ptr mechanism";
			return PST_SPF_SYNTAX_ERROR;
		}
		if (put_q(w, q, "ptr") < 0)
			return PST_SPF_SYNTAX_NOMEM;
		if (!has_colon)
			return PST_SPF_SYNTAX_OK;
		if (pst_buf_putc(w->out, ':') < 0)
			return PST_SPF_SYNTAX_NOMEM;
		return put_domain(w, arg, an, why);
	}
	if (name_eq(p, nl, "ip4") || name_eq(p, nl, "ip6")) {
		if (!has_colon) {
			*why = "ip4/ip6 without a network";
			return PST_SPF_SYNTAX_ERROR;
		}
		return mech_ip(w, q, name_eq(p, nl, "ip6"), arg, an, why);
	}
	*why = "unknown mechanism";
	return PST_SPF_SYNTAX_ERROR;
}

/* name "=" macro-string. Returns 1 when the term is a modifier at all. */
static int modifier(pst_spf_rw *w, const char *p, size_t n, int *rc, const char **why)
{
	size_t nl = 0;
	if (n == 0 || !is_alpha((unsigned char)p[0]))
		return 0;
	while (nl < n && (is_alnum((unsigned char)p[nl]) || strchr("-_.", p[nl]) != NULL) &&
	       p[nl] != '\0')
		nl++;
	if (nl >= n || p[nl] != '=')
		return 0;
	const char *v = p + nl + 1;
	size_t vn = n - nl - 1;
	*rc = PST_SPF_SYNTAX_OK;
	if (name_eq(p, nl, "redirect") || name_eq(p, nl, "exp")) {
		int red = name_eq(p, nl, "redirect");
		if ((red ? ++w->nredirect : ++w->nexp) > 1) {
			*why = red ? "two redirect modifiers" : "two exp modifiers";
			*rc = PST_SPF_SYNTAX_ERROR;
		} else if (!domain_spec(v, vn)) {
			*why = red ? "bad domain in redirect" : "bad domain in exp";
			*rc = PST_SPF_SYNTAX_ERROR;
		} else if (red) {
			w->redirect = v;
			w->redirect_n = vn;
		}
		return 1;
	}
	size_t tail;
	if (!macro_string(v, vn, &tail)) {
		*why = "bad macro in a modifier";
		*rc = PST_SPF_SYNTAX_ERROR;
	}
	return 1;
}

static int rewrite(pst_spf_rw *w, const char *record, size_t len, const char **why);

int pst_spf_syntax_rewrite(const char *record, size_t len, int family, const char *zero_marker,
                           const pst_spf_macro_env *env, pst_buf *out, int *expanded,
                           const char **why)
{
	pst_spf_rw w = { out, family, zero_marker, env, 0, PST_BUF_INIT, 0, NULL, 0, 0, 0 };
	*why = NULL;
	int rc = rewrite(&w, record, len, why);
	pst_buf_free(&w.tmp);
	if (expanded != NULL)
		*expanded = w.expanded;
	return rc;
}

static int rewrite(pst_spf_rw *w, const char *record, size_t len, const char **why)
{
	pst_buf *out = w->out;
	if (len < 6 || strncasecmp(record, "v=spf1", 6) != 0 || (len > 6 && record[6] != ' ')) {
		*why = "not an SPF record";
		return PST_SPF_SYNTAX_ERROR;
	}
	if (pst_buf_puts(out, "v=spf1") < 0)
		return PST_SPF_SYNTAX_NOMEM;
	size_t i = 6;
	while (i < len) {
		if (record[i] == ' ') {
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && record[j] != ' ')
			j++;
		const char *p = record + i;
		size_t n = j - i;
		i = j;
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)p[k];
			if (c < 0x21 || c > 0x7e) {
				*why = "control or non-ASCII character";
				return PST_SPF_SYNTAX_ERROR;
			}
		}
		int rc;
		if (modifier(w, p, n, &rc, why)) {
			if (rc != PST_SPF_SYNTAX_OK)
				return rc;
			continue;
		}
		rc = directive(w, p, n, why);
		if (rc != PST_SPF_SYNTAX_OK)
			return rc;
	}
	if (w->redirect != NULL && !w->has_all) {
		if (pst_buf_puts(out, " redirect=") < 0)
			return PST_SPF_SYNTAX_NOMEM;
		return put_domain(w, w->redirect, w->redirect_n, why);
	}
	return PST_SPF_SYNTAX_OK;
}
