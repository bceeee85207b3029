/*
 * registry.h: the registry of facts, one line per fact. This list is the
 * one place that names every fact a rule condition can read:
 *   lang/facts.h     makes the ids (pst_fact, PST_F_<ID>) from it;
 *   lang/builtins.c  the table of names, types and sources (pst_fact_name,
 *                    pst_fact_type, pst_fact_lookup, pst_fact_is_auth);
 *   engine/message_facts.c  the table of message-fact providers;
 *   engine/message_auth.c   the table of auth-fact providers and groups.
 * The order is the order of the ids; nothing else depends on it.
 *
 * A line is X(ID, sym, "name", TYPE, SOURCE, GROUP):
 *   ID      the id's suffix: PST_F_<ID>;
 *   sym     its provider: static int provide_<sym>(struct pst_message *m,
 *           pst_value *out) in the engine file of its SOURCE (below),
 *           which fills out (type and value) and returns 0, or -1 on
 *           ENOMEM;
 *   "name"  the fact as written in rules;
 *   TYPE    its type, PST_T_<TYPE>;
 *   SOURCE  who computes its value:
 *             MESSAGE  the message: engine/message_facts.c;
 *             AUTH     the auth layer, lazily, possibly with DNS:
 *                      engine/message_auth.c, after its GROUP was
 *                      computed;
 *             RCPT     the evaluator, from the recipient it decides for
 *                      (engine/eval/eval.c): no provider;
 *   GROUP   for AUTH, the computation that fills it (AUTH_<GROUP> of
 *           engine/message_auth.c: SPF, HELO, DKIM, DMARC, AUTHRES,
 *           SPF_ALIGN, DKIM_ALIGN); NONE otherwise. The language ignores it.
 *
 * Adding a fact: add its line here and write its provider next to its
 * kin (provide_<sym> in the file of its SOURCE); the table entries come
 * from the line, so a MESSAGE or AUTH line without its provider does not
 * compile, and tests/unit/test_facts checks that each provider gives the
 * line's TYPE. The evaluator, checker, index, trace and did-you-mean need
 * nothing more; the vim syntax file needs the name (tests/cli/editor.sh
 * reads the names from this file).
 */
#ifndef PST_FACTS_REGISTRY_H
#define PST_FACTS_REGISTRY_H

#define PST_FACTS(X) \
	X(CLIENT_IP, client_ip, "client.ip", IP, MESSAGE, NONE) \
	X(CLIENT_HELO, client_helo, "client.helo", STRING, MESSAGE, NONE) \
	X(CLIENT_PTR, client_ptr, "client.ptr", STRING, MESSAGE, NONE) \
	X(ENVELOPE_FROM, envelope_from, "envelope.from", ADDRESS, MESSAGE, NONE) \
	X(ENVELOPE_FROM_DOMAIN, envelope_from_domain, "envelope.from.domain", DOMAIN, MESSAGE, NONE) \
	X(RCPT, rcpt, "rcpt", ADDRESS, RCPT, NONE) \
	X(RCPT_DOMAIN, rcpt_domain, "rcpt.domain", DOMAIN, RCPT, NONE) \
	X(FROM_ADDRESS, from_address, "from.address", ADDRESS, MESSAGE, NONE) \
	X(FROM_DOMAIN, from_domain, "from.domain", DOMAIN, MESSAGE, NONE) \
	X(FROM_DISPLAY, from_display, "from.display", STRING, MESSAGE, NONE) \
	X(FROM_COUNT, from_count, "from.count", NUMBER, MESSAGE, NONE) \
	/* from.fields: number of From fields */ \
	X(FROM_FIELDS, from_fields, "from.fields", NUMBER, MESSAGE, NONE) \
	/* from.valid: exactly one readable author (RFC 5322 3.6) */ \
	X(FROM_VALID, from_valid, "from.valid", BOOL, MESSAGE, NONE) \
	/* from.error: why from.valid is false; unknown when it is true */ \
	X(FROM_ERROR, from_error, "from.error", STRING, MESSAGE, NONE) \
	/* sender.*, reply_to.*: the field's one mailbox, read as from.* is */ \
	X(SENDER_ADDRESS, sender_address, "sender.address", ADDRESS, MESSAGE, NONE) \
	X(SENDER_DOMAIN, sender_domain, "sender.domain", DOMAIN, MESSAGE, NONE) \
	X(REPLY_TO_ADDRESS, reply_to_address, "reply_to.address", ADDRESS, MESSAGE, NONE) \
	X(REPLY_TO_DOMAIN, reply_to_domain, "reply_to.domain", DOMAIN, MESSAGE, NONE) \
	/* header.malformed: a header line that is neither field nor fold */ \
	X(HEADER_MALFORMED, header_malformed, "header.malformed", BOOL, MESSAGE, NONE) \
	/* header.duplicate: a singleton field present twice: its name */ \
	X(HEADER_DUPLICATE, header_duplicate, "header.duplicate", STRING, MESSAGE, NONE) \
	X(SUBJECT, subject, "subject", STRING, MESSAGE, NONE) \
	X(SIZE, size, "size", NUMBER, MESSAGE, NONE) \
	/* attachment.*: the MIME structure's attachments (msg/mime.h) */ \
	X(ATTACHMENT_NAME, attachment_name, "attachment.name", STRINGSET, MESSAGE, NONE) \
	X(ATTACHMENT_TYPE, attachment_type, "attachment.type", STRINGSET, MESSAGE, NONE) \
	X(ATTACHMENT_COUNT, attachment_count, "attachment.count", NUMBER, MESSAGE, NONE) \
	/* mime.valid: the structure parsed; mime.error: why not, else unknown */ \
	X(MIME_VALID, mime_valid, "mime.valid", BOOL, MESSAGE, NONE) \
	X(MIME_ERROR, mime_error, "mime.error", STRING, MESSAGE, NONE) \
	X(SPF, spf, "spf", RESULT, AUTH, SPF) \
	X(SPF_DOMAIN, spf_domain, "spf.domain", DOMAIN, AUTH, SPF) \
	X(SPF_ALIGNED, spf_aligned, "spf.aligned", BOOL, AUTH, SPF_ALIGN) \
	X(HELO_SPF, helo_spf, "helo.spf", RESULT, AUTH, HELO) \
	X(DKIM, dkim, "dkim", RESULT, AUTH, DKIM) \
	X(DKIM_DOMAINS, dkim_domains, "dkim.domains", DOMAINSET, AUTH, DKIM) \
	X(DKIM_ALIGNED, dkim_aligned, "dkim.aligned", BOOL, AUTH, DKIM_ALIGN) \
	/* dkim.unsigned_header: a field with more instances than h= covers */ \
	X(DKIM_UNSIGNED_HEADER, dkim_unsigned_header, "dkim.unsigned_header", STRING, AUTH, DKIM) \
	/* dkim.unsigned_body: body content past a passing l= */ \
	X(DKIM_UNSIGNED_BODY, dkim_unsigned_body, "dkim.unsigned_body", BOOL, AUTH, DKIM) \
	X(DMARC, dmarc, "dmarc", RESULT, AUTH, DMARC) \
	X(DMARC_POLICY, dmarc_policy, "dmarc.policy", POLICY, AUTH, DMARC) \
	X(DMARC_DOMAIN, dmarc_domain, "dmarc.domain", DOMAIN, AUTH, DMARC) \
	X(AUTHRES_SPF, authres_spf, "authres.spf", RESULT, AUTH, AUTHRES) \
	X(AUTHRES_DKIM, authres_dkim, "authres.dkim", RESULT, AUTH, AUTHRES) \
	X(AUTHRES_DMARC, authres_dmarc, "authres.dmarc", RESULT, AUTH, AUTHRES)

#endif
