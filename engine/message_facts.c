/*
 * message_facts.c: the fact provider of a message (eval.h's
 * pst_fact_source): envelope facts from the envelope, message facts from
 * the parsed message, auth facts from the auth layer (message_auth.h).
 * Each MESSAGE fact of the registry (lang/facts/registry.h) has one
 * provider here, provide_<sym>, found by id through one table made from
 * the registry; RCPT facts are the evaluator's.
 *
 * Header values are unfolded and trimmed by the message model; values that
 * carry RFC 2047 encoded-words are decoded (as Sieve compares headers), the
 * raw text kept when decoding fails.
 *
 * sender.address/domain and reply_to.address/domain: the one mailbox of
 *   the Sender or Reply-To field, read as strictly as from.* (msg/author.h
 *   pst_msg_mailbox), on first use and kept in m; unknown without exactly
 *   one such field holding exactly one readable mailbox (a Reply-To
 *   listing several addresses included).
 *
 * attachment.name, attachment.type (sets of texts), attachment.count,
 *   mime.valid, mime.error: the MIME walk of the whole message
 *   (msg/mime.h pst_mime_scan), done on first use and kept in m. The sets
 *   list what was found, also when the walk failed (a name found before
 *   the failure still matches); attachment.count is unknown when it failed
 *   (so "attachment.count == 0" never holds for a structure not read
 *   whole); mime.valid is false and mime.error the reason then, mime.error
 *   unknown when the walk succeeded.
 *
 * The header.* facts look at the fields rules see: those from
 * m->first_field on (the stripped X-Postern-Envelope fields never count).
 *   header.malformed (bool, always known): a field is flagged
 *     PST_MSG_FIELD_MALFORMED (a logical field without "name [FWS] :", a
 *     NUL or other byte outside printable ASCII in its name, a leading
 *     white-space line) or pst_msg_field_bare_cr (a bare CR that starts a
 *     new field for a reader breaking lines there) or
 *     PST_MSG_FIELD_FOLDED_NAME (a line break between name and colon: legal
 *     obsolete syntax, but readers split on it, "Composition Kills" A11-A13).
 *     White space on the name's own line ("From : x") is not malformed.
 *   header.duplicate (string): the name, spelt as RFC 5322 3.6 spells it,
 *     of the topmost field whose name 3.6 allows at most once (Date, From,
 *     Sender, Reply-To, To, Cc, Bcc, Message-ID, In-Reply-To, References,
 *     Subject) and that occurs more than once; unknown when there is none.
 */
#include "message_facts.h"

#include <stdlib.h>
#include <string.h>

#include "message_private.h"
#include "msg/author.h"
#include "msg/mime.h"
#include "msg/msg.h"
#include "msg/rfc2047.h"
#include "util/domain.h"

static void set_text(pst_value *out, pst_type type, const char *s)
{
	out->type = type;
	out->known = s != NULL;
	out->u.s.p = s ? s : "";
	out->u.s.len = s ? strlen(s) : 0;
}

static void set_number(pst_value *out, long long n)
{
	out->known = 1;
	out->type = PST_T_NUMBER;
	out->u.n = n;
}

/* The domain of an address, normalised into the message arena; "" for the
 * null sender; NULL when unknown or invalid. */
static const char *domain_of(struct pst_message *m, const char *addr)
{
	if (addr == NULL)
		return NULL;
	if (*addr == '\0')
		return "";
	char *d = pst_domain_of_address(addr, strlen(addr));
	if (d == NULL)
		return NULL;
	const char *copy = pst_arena_strdup(m->arena, d);
	free(d);
	return copy;
}

/* Field i's value decoded from RFC 2047 when it holds an encoded-word;
 * decoded once per message and kept in m->views. 0, or -2 on ENOMEM (the
 * evaluation then fails: never the raw text in place of the decoded). */
static int decoded_value(struct pst_message *m, size_t i, const char **v, size_t *len)
{
	const pst_msg_field *f = pst_msg_field_at(m->msg, i);
	if (m->views == NULL) {
		size_t n = pst_msg_field_count(m->msg);
		m->views = pst_arena_calloc(m->arena, n, sizeof *m->views);
		if (m->views == NULL)
			return -2;
	}
	pst_field_view *fv = &m->views[i];
	if (fv->value == NULL) {
		fv->value = pst_msg_value(m->msg, f, &fv->len);
		if (fv->value == NULL)
			return -2;
		if (pst_rfc2047_find_start(fv->value, fv->len) != NULL) {
			char *out = NULL;
			size_t outlen = 0;
			if (pst_rfc2047_decode(m->arena, fv->value, fv->len, &out, &outlen) < 0) {
				fv->value = NULL;
				return -2;
			}
			if (out) {
				fv->value = out;
				fv->len = outlen;
			}
		}
	}
	*v = fv->value;
	*len = fv->len;
	return 0;
}

/* header.malformed: any field rules see is malformed, holds a bare CR
 * that starts a new line, or has a line break before its colon. */
static int header_malformed(const struct pst_message *m)
{
	size_t n = pst_msg_field_count(m->msg);
	for (size_t i = m->first_field; i < n; i++) {
		const pst_msg_field *f = pst_msg_field_at(m->msg, i);
		if ((f->flags & (PST_MSG_FIELD_MALFORMED | PST_MSG_FIELD_FOLDED_NAME)) ||
		    pst_msg_field_bare_cr(f))
			return 1;
	}
	return 0;
}

/* The fields RFC 5322 3.6 allows at most once (its table's max 1). */
static const char *const singletons[] = {
	"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Message-ID", "In-Reply-To", "References", "Subject",
};

/* header.duplicate: the RFC spelling of the topmost singleton field that
 * occurs more than once among the fields rules see, or NULL. The name
 * index counts every field of a name; none of the fields before
 * first_field (X-Postern-Envelope, the mbox line) has a singleton name,
 * so its count is the count rules see. */
static const char *header_duplicate(const struct pst_message *m)
{
	int any = 0;            /* the usual answer, from the index alone */
	for (size_t k = 0; k < sizeof singletons / sizeof singletons[0] && !any; k++)
		any = pst_msg_count(m->msg, singletons[k], strlen(singletons[k])) > 1;
	if (!any)
		return NULL;
	size_t n = pst_msg_field_count(m->msg);
	for (size_t i = m->first_field; i < n; i++) {
		const pst_msg_field *f = pst_msg_field_at(m->msg, i);
		for (size_t k = 0; k < sizeof singletons / sizeof singletons[0]; k++) {
			size_t len = strlen(singletons[k]);
			if (pst_msg_name_eq(f->name, f->name_len, singletons[k], len) &&
			    pst_msg_count(m->msg, singletons[k], len) > 1)
				return singletons[k];
		}
	}
	return NULL;
}

/* ---- The providers: one per MESSAGE line of lang/facts/registry.h ------ */

static int provide_client_ip(struct pst_message *m, pst_value *out)
{
	out->type = PST_T_IP;
	out->known = m->env.ip.family != 0;
	out->u.ip = m->env.ip;
	return 0;
}

static int provide_client_helo(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_STRING, m->env.helo);
	return 0;
}

static int provide_client_ptr(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_STRING, m->env.client_name);
	return 0;
}

static int provide_envelope_from(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_ADDRESS, m->env.mail_from);
	return 0;
}

static int provide_envelope_from_domain(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_DOMAIN, domain_of(m, m->env.mail_from));
	return 0;
}

static int provide_from_address(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_ADDRESS, m->from.address);
	return 0;
}

static int provide_from_domain(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_DOMAIN, m->from.domain);
	return 0;
}

static int provide_from_display(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_STRING, m->from.display);
	return 0;
}

static int provide_from_count(struct pst_message *m, pst_value *out)
{
	set_number(out, m->from.count);
	return 0;
}

static int provide_from_fields(struct pst_message *m, pst_value *out)
{
	set_number(out, m->from.nfields);
	return 0;
}

static int provide_from_valid(struct pst_message *m, pst_value *out)
{
	out->known = 1;
	out->type = PST_T_BOOL;
	out->u.b = m->from.error == NULL;
	return 0;
}

static int provide_from_error(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_STRING, m->from.error);
	return 0;
}

/* The mailbox facts of field name, read into *mf on first use; -1 on
 * ENOMEM (read again at the next call). */
static int read_mailbox(struct pst_message *m, const char *name, pst_mailbox_facts *mf)
{
	if (mf->read)
		return 0;
	if (pst_msg_mailbox(m->msg, m->arena, name, &mf->address, &mf->domain) < 0)
		return -1;
	mf->read = 1;
	return 0;
}

/* The address or the domain of field name's one mailbox, read once. */
static int mailbox_fact(struct pst_message *m, const char *name, pst_mailbox_facts *mf,
			pst_type type, pst_value *out)
{
	if (read_mailbox(m, name, mf) < 0)
		return -1;
	set_text(out, type, type == PST_T_DOMAIN ? mf->domain : mf->address);
	return 0;
}

static int provide_sender_address(struct pst_message *m, pst_value *out)
{
	return mailbox_fact(m, "Sender", &m->sender, PST_T_ADDRESS, out);
}

static int provide_sender_domain(struct pst_message *m, pst_value *out)
{
	return mailbox_fact(m, "Sender", &m->sender, PST_T_DOMAIN, out);
}

static int provide_reply_to_address(struct pst_message *m, pst_value *out)
{
	return mailbox_fact(m, "Reply-To", &m->reply_to, PST_T_ADDRESS, out);
}

static int provide_reply_to_domain(struct pst_message *m, pst_value *out)
{
	return mailbox_fact(m, "Reply-To", &m->reply_to, PST_T_DOMAIN, out);
}

static int provide_header_malformed(struct pst_message *m, pst_value *out)
{
	out->type = PST_T_BOOL;
	out->known = 1;
	out->u.b = header_malformed(m);
	return 0;
}

static int provide_header_duplicate(struct pst_message *m, pst_value *out)
{
	set_text(out, PST_T_STRING, header_duplicate(m));
	return 0;
}

/* subject: the topmost Subject field, decoded; -1 on ENOMEM. */
static int provide_subject(struct pst_message *m, pst_value *out)
{
	long s = pst_msg_find_next(m->msg, "Subject", 7, pst_msg_name_hash("Subject", 7), 0);
	out->type = PST_T_STRING;
	if (s >= 0) {
		out->known = 1;
		if (decoded_value(m, (size_t)s, &out->u.s.p, &out->u.s.len) != 0)
			return -1;
	}
	return 0;
}

static int provide_size(struct pst_message *m, pst_value *out)
{
	set_number(out, (long long)pst_msg_size(m->msg));
	return 0;
}

/* The MIME walk of the message, on first use; -1 on ENOMEM (tried again
 * at the next call). */
static int read_mime(struct pst_message *m)
{
	if (m->mime_read)
		return 0;
	if (pst_mime_scan(pst_msg_bytes(m->msg), pst_msg_size(m->msg), NULL, m->arena,
	                  &m->mime) < 0)
		return -1;
	m->mime_read = 1;
	return 0;
}

static int mime_set(struct pst_message *m, int names, pst_value *out)
{
	if (read_mime(m) < 0)
		return -1;
	out->known = 1;
	out->type = PST_T_STRINGSET;
	out->u.set.items = names ? m->mime.names : m->mime.types;
	out->u.set.n = names ? m->mime.nnames : m->mime.ntypes;
	return 0;
}

static int provide_attachment_name(struct pst_message *m, pst_value *out)
{
	return mime_set(m, 1, out);
}

static int provide_attachment_type(struct pst_message *m, pst_value *out)
{
	return mime_set(m, 0, out);
}

static int provide_attachment_count(struct pst_message *m, pst_value *out)
{
	if (read_mime(m) < 0)
		return -1;
	set_number(out, (long long)m->mime.count);
	out->known = m->mime.error == NULL;
	return 0;
}

static int provide_mime_valid(struct pst_message *m, pst_value *out)
{
	if (read_mime(m) < 0)
		return -1;
	out->known = 1;
	out->type = PST_T_BOOL;
	out->u.b = m->mime.error == NULL;
	return 0;
}

static int provide_mime_error(struct pst_message *m, pst_value *out)
{
	if (read_mime(m) < 0)
		return -1;
	set_text(out, PST_T_STRING, m->mime.error);
	return 0;
}

/* The provider of each MESSAGE fact, in its id's slot, made from the
 * registry; NULL for the others (AUTH: the auth layer's table; RCPT: the
 * evaluator's). A MESSAGE line without its provide_<sym> does not compile. */
typedef int (*message_provider)(struct pst_message *m, pst_value *out);

#define PROVIDER_MESSAGE(ID, sym) [PST_F_##ID] = provide_##sym,
#define PROVIDER_AUTH(ID, sym)
#define PROVIDER_RCPT(ID, sym)
#define PROVIDER_(ID, sym, name, type, source, group) PROVIDER_##source(ID, sym)
static const message_provider providers[PST_F__COUNT] = {
	PST_FACTS(PROVIDER_)
};
#undef PROVIDER_
#undef PROVIDER_RCPT
#undef PROVIDER_AUTH
#undef PROVIDER_MESSAGE

int pst_message_fact_provided(pst_fact f)
{
	if ((unsigned)f >= PST_F__COUNT)
		return 0;
	if (pst_fact_is_auth(f))
		return pst_auth_fact_provided(f);
	return providers[f] != NULL;
}

static int fact(void *ctx, pst_fact f, pst_value *out)
{
	struct pst_message *m = ctx;
	memset(out, 0, sizeof *out);
	if (pst_fact_is_auth(f))
		return pst_auth_fact(m, f, out);
	if ((unsigned)f < PST_F__COUNT && providers[f] != NULL)
		return providers[f](m, out);
	return 0;   /* rcpt facts come from the evaluator */
}

/* The index of the nth field named name, skipping the stripped
 * X-Postern-Envelope ones, or -1. Continues from the cursor when the last
 * read was of the same name at an nth not above this one. */
static long nth_field(struct pst_message *m, const char *name, size_t nth)
{
	size_t len = strlen(name);
	uint32_t h = pst_msg_name_hash(name, len);
	pst_field_cursor *c = &m->cursor;
	long i = -1;
	size_t seen = 0;
	if (c->idx >= 0 && c->hash == h && c->nth <= nth) {
		const pst_msg_field *f = pst_msg_field_at(m->msg, (size_t)c->idx);
		if (pst_msg_name_eq(name, len, f->name, f->name_len)) {
			if (c->nth == nth)
				return c->idx;
			i = c->idx;
			seen = c->nth + 1;
		}
	}
	while ((i = pst_msg_find_next(m->msg, name, len, h, (size_t)(i + 1))) >= 0) {
		if ((size_t)i < m->first_field)
			continue;
		if (seen++ == nth) {
			c->hash = h;
			c->nth = nth;
			c->idx = i;
			return i;
		}
	}
	return -1;
}

static size_t header_count(void *ctx, const char *name)
{
	struct pst_message *m = ctx;
	size_t n = pst_msg_count(m->msg, name, strlen(name));
	/* Stripped envelope fields do not count. */
	if (m->nstripped && pst_msg_name_eq(name, strlen(name), "X-Postern-Envelope", 18))
		n -= m->nstripped;
	return n;
}

static int header_value(void *ctx, const char *name, size_t nth, const char **value, size_t *len)
{
	struct pst_message *m = ctx;
	long i = nth_field(m, name, nth);
	if (i < 0)
		return -1;
	return decoded_value(m, (size_t)i, value, len);
}

void pst_message_fact_source(struct pst_message *m, pst_fact_source *src)
{
	src->fact = fact;
	src->header_count = header_count;
	src->header_value = header_value;
	src->ctx = m;
}
