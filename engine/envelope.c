/*
 * envelope.c: the SMTP envelope and the X-Postern-Envelope field; see
 * envelope.h for the contract.
 */
#include "envelope.h"
#include "util/suggest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *trim(const char *s, size_t *n)
{
	while (*n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		(*n)--;
	}
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\r' || s[*n - 1] == '\n'))
		(*n)--;
	return s;
}

/* Remove one pair of surrounding angle brackets. */
static const char *strip_angles(const char *s, size_t *n)
{
	if (*n >= 2 && s[0] == '<' && s[*n - 1] == '>') {
		*n -= 2;
		return s + 1;
	}
	return s;
}

int pst_env_set_ip(pst_env *env, pst_arena *arena, const char *text, size_t n, const char **why)
{
	text = trim(text, &n);
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n >= 5 && strncasecmp(text, "IPv6:", 5) == 0) {
		text += 5;
		n -= 5;
	}
	pst_ip ip;
	if (pst_ip_parse(text, n, &ip) < 0) {
		*why = "not an IP address";
		return -1;
	}
	char buf[64];
	const char *canon = pst_arena_strdup(arena, pst_ip_format(&ip, buf, sizeof buf));
	if (canon == NULL) {
		*why = "out of memory";
		return -1;
	}
	env->ip = ip;
	env->client_ip = canon;
	return 0;
}

int pst_env_add_rcpt(pst_env *env, pst_arena *arena, const char *addr, size_t n)
{
	addr = trim(addr, &n);
	addr = strip_angles(addr, &n);
	if (env->nrcpts == env->rcap) {
		size_t cap = env->rcap ? env->rcap * 2 : 4;
		const char **r = pst_arena_calloc(arena, cap, sizeof *r);
		if (r == NULL)
			return -1;
		if (env->nrcpts)
			memcpy(r, env->rcpts, env->nrcpts * sizeof *r);
		env->rcpts = r;
		env->rcap = cap;
	}
	const char *copy = pst_arena_strndup(arena, addr, n);
	if (copy == NULL)
		return -1;
	env->rcpts[env->nrcpts++] = copy;
	return 0;
}

static const char *const env_keys[] = {
	"client-ip", "client-name", "helo", "mail-from", "rcpt",
};

static int key_is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(k, want, n) == 0;
}

static int set_text(const char **slot, pst_arena *arena, const char *v, size_t n)
{
	if (*slot != NULL)
		return 0;   /* the command line already gave it */
	*slot = pst_arena_strndup(arena, v, n);
	return *slot ? 0 : -1;
}

static int parse_pair(pst_env *env, pst_arena *arena, const char *k, size_t kn,
                      const char *v, size_t vn, int keep_rcpts, char *err, size_t errlen)
{
	const char *why = NULL;
	if (key_is(k, kn, "client-ip")) {
		if (env->client_ip != NULL)
			return 0;
		if (vn == 0)
			return 0;   /* explicitly unknown */
		if (pst_env_set_ip(env, arena, v, vn, &why) < 0) {
			snprintf(err, errlen, "client-ip '%.*s': %s", (int)(vn > 64 ? 64 : vn), v, why);
			return -1;
		}
		return 0;
	}
	int rc = 0;
	if (key_is(k, kn, "client-name"))
		rc = set_text(&env->client_name, arena, v, vn);
	else if (key_is(k, kn, "helo"))
		rc = set_text(&env->helo, arena, v, vn);
	else if (key_is(k, kn, "mail-from")) {
		v = strip_angles(v, &vn);
		rc = set_text(&env->mail_from, arena, v, vn);
	} else if (key_is(k, kn, "rcpt")) {
		if (keep_rcpts || vn == 0)
			return 0;
		rc = pst_env_add_rcpt(env, arena, v, vn);
	} else {
		const char *near = pst_suggest(k, kn, env_keys, sizeof env_keys / sizeof env_keys[0]);
		if (near)
			snprintf(err, errlen, "unknown key '%.*s'; did you mean '%s'?",
			         (int)(kn > 64 ? 64 : kn), k, near);
		else
			snprintf(err, errlen, "unknown key '%.*s' (known: client-ip, client-name, helo, mail-from, rcpt)",
			         (int)(kn > 64 ? 64 : kn), k);
		return -1;
	}
	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int pst_env_parse_field(pst_env *env, pst_arena *arena, const char *value, size_t n,
                        int keep_rcpts, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < n) {
		size_t start = i;
		while (i < n && value[i] != ';')
			i++;
		size_t len = i - start;
		const char *item = trim(value + start, &len);
		if (i < n)
			i++;   /* skip ';' */
		if (len == 0)
			continue;
		const char *eq = memchr(item, '=', len);
		if (eq == NULL) {
			snprintf(err, errlen, "'%.*s' is not key=value", (int)(len > 64 ? 64 : len), item);
			return -1;
		}
		size_t kn = (size_t)(eq - item), vn = len - kn - 1;
		const char *k = trim(item, &kn);
		const char *v = trim(eq + 1, &vn);
		if (parse_pair(env, arena, k, kn, v, vn, keep_rcpts, err, errlen) < 0)
			return -1;
	}
	return 0;
}
