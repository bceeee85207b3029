/*
 * authres.h: Authentication-Results fields (RFC 8601): a parser for the
 * full grammar (comments, quoted strings, version numbers, reasons,
 * properties), a tolerant reader that salvages the method results of
 * fields real gateways write outside that grammar, and the writer of
 * postern's own field.
 */
#ifndef PST_AUTHRES_H
#define PST_AUTHRES_H

#include <stddef.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/limits.h"

/* The bounds of one parsed field (PST_AUTHRES_MAX_*) are in util/limits.h;
 * past them the parse fails with a message naming the limit. */

typedef struct pst_authres_prop {
	const char *ptype;          /* "smtp", "header", "body", "policy" */
	const char *property;       /* "mailfrom", "d", ... */
	const char *value;
} pst_authres_prop;

typedef struct pst_authres_result {
	const char *method;         /* "spf", "dkim", "dmarc", ... lower case */
	const char *result;         /* "pass", ... lower case; NULL only from
	                             * pst_authres_salvage, when the method
	                             * could be read but not its result */
	const char *reason;         /* reason= text, or NULL */
	pst_authres_prop *props;
	size_t nprops;
	int method_version;         /* "dkim/1=pass": 1; 1 when absent */
	const char *comment;        /* "dkim=pass (text)": the first comment
	                             * right after the result, unquoted; or NULL */
} pst_authres_result;

typedef struct pst_authres {
	const char *authserv_id;
	int version;                /* 1 when absent */
	int none;                   /* "; none" */
	pst_authres_result *results;
	size_t nresults;
	const char *comment;        /* "id (text);": the first comment after the
	                             * authserv-id or version, unquoted; or NULL */
} pst_authres;

/* What pst_authres_salvage says of a value, bits in *how. */
#define PST_AUTHRES_SALVAGED 1  /* it did not parse under RFC 8601 and was
                                 * read in pieces: then only method,
                                 * method_version and result are filled */
#define PST_AUTHRES_UNREAD   2  /* part of it could not be read as a method
                                 * result, so a method missing from results
                                 * may have been there */

/* Parse one field value (unfolded). Strings from arena. 0; -1 when the
 * value does not follow RFC 8601 (err says where) or on ENOMEM.
 *
 * err gets "col N: what was expected", N the 1-based column (byte offset
 * plus one) of the offending byte in value, and errno is EINVAL; on ENOMEM
 * err says "out of memory". *out is all zero (version 1) after a failure.
 * Method, result, ptype and property come back lower case; values as
 * written, quoted strings unquoted (quoted-pairs and the line breaks of
 * folding removed). A pvalue in the local-part@domain form keeps its text
 * exactly as written, quotes of a quoted local-part included.
 *
 * Comments are skipped as CFWS, except two that are kept, in the places
 * where pst_authres_format writes them: the first comment between the
 * authserv-id and the first ';' (ar->comment) and the first comment in
 * the CFWS right after a result keyword (result->comment). A kept comment
 * is its text between the outer parentheses with quoted-pairs unquoted
 * and folding line breaks removed; nested parentheses stay as text.
 *
 * UTF-8 (RFC 6532, RFC 8616) is accepted
 * in comments, quoted strings and the local-part and domain of a pvalue,
 * never in a bare authserv-id or keyword. Folding (CRLF or LF followed by
 * white space) and one trailing line ending are tolerated. */
int pst_authres_parse(pst_arena *arena, const char *value, size_t len, pst_authres *out,
                      char *err, size_t errlen);

/* Read one field value (unfolded) as leniently as gateways write it, for
 * deciding on a trusted gateway's verdict. Strings from arena; *how gets
 * PST_AUTHRES_* bits. 0; -1 only on ENOMEM (errno ENOMEM, *out all zero,
 * version 1, *how 0).
 *
 * A value that pst_authres_parse accepts comes back exactly as it gives
 * it, *how 0. Any other value is read in pieces (PST_AUTHRES_SALVAGED):
 *   - authserv_id as pst_authres_has_id finds it (NULL when there is
 *     none); what stands between it and the first ';' must be CFWS and
 *     an optional version, else PST_AUTHRES_UNREAD is set, as it is
 *     when there is no ';' at all;
 *   - the rest is cut at each ';' outside comments and quoted strings
 *     (an unterminated comment or quoted string runs to the end and sets
 *     PST_AUTHRES_UNREAD); each piece that is not empty (and not the
 *     no-result "none") must open with a methodspec (method ["/" version] "="
 *     result, CFWS between, as in the strict grammar). Its method and
 *     result are kept and everything after them is skipped: properties
 *     without a ptype ("action=none"), bare '/' and '+' in values,
 *     comments. A result keyword not followed by the end of the piece,
 *     white space or '(' (e.g. "pass/x") is not read: result is NULL.
 *     A piece whose method cannot be read sets PST_AUTHRES_UNREAD;
 *   - only the first PST_AUTHRES_MAX_BYTES bytes and the first
 *     PST_AUTHRES_MAX_RESULTS results are read; past them PST_AUTHRES_UNREAD
 *     is set.
 * Reasons, properties and comments of a salvaged value are not kept.
 * Nothing in it is ever taken from anywhere but that value. */
int pst_authres_salvage(pst_arena *arena, const char *value, size_t len, pst_authres *out,
                        unsigned *how);

/* Whether a field value's authserv-id equals id (case-insensitive), for
 * removing forged fields bearing our own id; tolerant of values that do
 * not otherwise parse. The id is the first quoted string or run of
 * printable non-space bytes after any leading comments, ending at white
 * space, '(' or ';'. An unterminated quoted string is compared up to the
 * end of value; an unterminated comment hides everything after it, so
 * there is no id (0). 1 or 0. */
int pst_authres_has_id(const char *value, size_t len, const char *id);

/* Write ar as a field value (no "Authentication-Results:" name, no line
 * ending): "id; spf=pass smtp.mailfrom=a.example; dkim=pass header.d=...",
 * quoting values that are not tokens, "; none" when it has no results.
 * Folding is the message writer's. 0 / -1 on ENOMEM.
 *
 * Comments (RFC 5322 ccontent): a non-empty ar->comment is written after
 * the authserv-id and version ("id (text); ..."), a non-empty
 * result->comment after its result ("dkim=pass (text) header.d=..."),
 * with '(', ')' and '\' written as quoted-pairs so the text can neither
 * close the comment early nor nest. At most PST_AUTHRES_MAX_COMMENT bytes
 * go between the parentheses: a longer text is cut at a character
 * boundary (never inside a quoted-pair or a UTF-8 sequence).
 *
 * A version or method_version above 1 is written ("id 2;", "dkim/2=");
 * property values of the local-part@domain or @domain form stay bare;
 * ar->none is implied by nresults == 0 and ignored otherwise. On ENOMEM
 * (errno ENOMEM) out is left as it was. -1 with errno EINVAL, out
 * unchanged, when the field cannot be written safely: no authserv-id, a
 * method, result, ptype or property that is not a keyword, or a value or
 * comment holding a control character other than TAB, or invalid UTF-8
 * (CR and LF would let a value start a new header field). */
int pst_authres_format(const pst_authres *ar, pst_buf *out);

#endif
