/*
 * Conformance corpus test for engine/msg: every message under
 * $POSTERN_CORPORA/rfc5322-* parses without a crash or leak (run it under
 * the sanitizer build), and where the corpus says what the From address
 * is, ours agrees: the author read by pst_msg_author (msg/author.h) is
 * readable and is that address.
 *
 * Sources of expectations (the corpus files are read in place, never
 * copied into the project):
 *   rfc5322-mail-parser-rs/eml/DIR/NNN.json   mail-parser's parse: the
 *        first "from" header of the top-level part gives the address;
 *   rfc5322-mail-parser-rs/address.json       address-list vectors: every
 *        non-null address (and, where the header has no comment, the
 *        display name) is compared with pst_addr_parse_list on a "To:"
 *        field holding the vector;
 *   rfc5322-mail-parser-rs/eml/DIR/NNN.json   also the body offset of the
 *        top-level part (offset_body, counted in the file as stored with LF
 *        line endings): ours, less one for each CRLF before it, agrees;
 *   DIR/index.tsv                             the number of From fields,
 *        the number of header fields (header_count: ours counts every field
 *        but the mbox From_ line, malformed ones included) and whether the
 *        header section ends with a blank line (no_header_body_separator).
 * Every message is also rendered: without edits it comes out byte for
 * byte, with the scenario 8 edits it parses again with its Received
 * fields and From address.
 * Each message file (each address.json vector, by index) is one case of
 * the harness in tests/conformance/conf.h, runs rfc5322-mail-parser-rs,
 * rfc5322-python-email and rfc5322-mail-parser-rs/address.json: where the
 * corpus's interpretation differs from ours on purpose, the case is listed
 * with the reason in tests/conformance/divergences.txt; everything else
 * that differs fails, and so does a listed case that agrees. Each run
 * prints "# RUN: N/M agree (K listed divergences)". Without the corpus
 * directory the tests are skipped, and say so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/json.h"
#include "msg/addr.h"
#include "msg/author.h"
#include "msg/edit.h"
#include "msg/msg.h"
#include "util/arena.h"
#include "util/buf.h"
#include "tests/conformance/conf.h"

/* ---- Files -------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap + 1);
	while (b) {
		size_t r = fread(b + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		char *nb = realloc(b, cap * 2 + 1);
		if (nb == NULL) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	fclose(f);
	if (b) {
		b[n] = '\0';
		*len = n;
	}
	return b;
}

/* out = a + b + c; the path must fit. */
static void path3(char *out, size_t cap, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	assert_true(la + lb + lc < cap);
	memcpy(out, a, la);
	memcpy(out + la, b, lb);
	memcpy(out + la + lb, c, lc + 1);
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && strcmp(s + n - k, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The mailboxes of an expected {"List": [...]} or {"Group": [...]}. */
struct mbox_want {
	const char *name;           /* NULL when null */
	const char *address;        /* NULL when null */
};

static size_t flatten(const pst_jval *v, struct mbox_want *out, size_t max)
{
	size_t n = 0;
	const pst_jval *list = pst_json_get(v, "List");
	const pst_jval *groups = pst_json_get(v, "Group");
	for (size_t i = 0; list && i < list->nkids && n < max; i++) {
		const pst_jval *nm = pst_json_get(&list->kids[i], "name");
		const pst_jval *ad = pst_json_get(&list->kids[i], "address");
		out[n].name = nm && nm->type == PST_JSTR ? nm->text : NULL;
		out[n].address = ad && ad->type == PST_JSTR ? ad->text : NULL;
		n++;
	}
	for (size_t g = 0; groups && g < groups->nkids; g++) {
		const pst_jval *as = pst_json_get(&groups->kids[g], "addresses");
		for (size_t i = 0; as && i < as->nkids && n < max; i++) {
			const pst_jval *nm = pst_json_get(&as->kids[i], "name");
			const pst_jval *ad = pst_json_get(&as->kids[i], "address");
			out[n].name = nm && nm->type == PST_JSTR ? nm->text : NULL;
			out[n].address = ad && ad->type == PST_JSTR ? ad->text : NULL;
			n++;
		}
	}
	return n;
}

/* ---- index.tsv: the number of From fields per file --------------------- */

struct index_row {
	char *file;
	long from_count;
	long header_count;
	int has_sep;                /* not no_header_body_separator */
};

struct index {
	struct index_row *rows;
	size_t n;
};

static void load_index(const char *dir, struct index *ix)
{
	char path[4096];
	path3(path, sizeof path, dir, "/", "index.tsv");
	size_t len;
	char *s = slurp(path, &len);
	ix->rows = NULL;
	ix->n = 0;
	if (s == NULL)
		return;
	int col = -1, hcol = -1, scol = -1, line = 0;
	for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++) {
		char *cells[16];
		int nc = 0;
		for (char *c = l; nc < 16; ) {
			cells[nc++] = c;
			char *tab = strchr(c, '\t');
			if (tab == NULL)
				break;
			*tab = '\0';
			c = tab + 1;
		}
		if (line == 0) {
			for (int i = 0; i < nc; i++)
				if (strcmp(cells[i], "from_count") == 0)
					col = i;
				else if (strcmp(cells[i], "header_count") == 0)
					hcol = i;
				else if (strcmp(cells[i], "no_header_body_separator") == 0)
					scol = i;
			continue;
		}
		if (col < 0 || col >= nc || hcol < 0 || hcol >= nc || scol < 0 || scol >= nc)
			continue;
		struct index_row *r = realloc(ix->rows, (ix->n + 1) * sizeof *r);
		assert_non_null(r);
		ix->rows = r;
		r[ix->n].file = strdup(cells[0]);
		r[ix->n].from_count = strtol(cells[col], NULL, 10);
		r[ix->n].header_count = strtol(cells[hcol], NULL, 10);
		r[ix->n].has_sep = strcmp(cells[scol], "no") == 0;
		ix->n++;
	}
	free(s);
}

static const struct index_row *index_row(const struct index *ix, const char *rel)
{
	for (size_t i = 0; i < ix->n; i++)
		if (strcmp(ix->rows[i].file, rel) == 0)
			return &ix->rows[i];
	return NULL;
}

static void free_index(struct index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		free(ix->rows[i].file);
	free(ix->rows);
}

/* ---- Counters ---------------------------------------------------------- */

struct counts {
	size_t parsed, compared;
	pst_buf diff;               /* the current case's differences */
};

/* A difference in the current case. */
static void mismatch(struct counts *c, const char *what, const char *got, const char *want)
{
	assert_int_equal(pst_buf_printf(&c->diff, "%s%s: got '%s', want '%s'",
	                                c->diff.len ? "; " : "", what, got, want), 0);
}

/* Judge the current case and start the next. */
static void case_done(conf_run *run, struct counts *c, const char *id)
{
	conf_case(run, id, c->diff.len == 0, pst_buf_str(&c->diff));
	pst_buf_clear(&c->diff);
}

/* ---- One message ------------------------------------------------------- */

/* The .json next to a mail-parser message, parsed (the caller frees it
 * with pst_json_free); NULL when there is none. */
static pst_jval *expected_json(const char *emlpath)
{
	char jpath[4096];
	size_t n = strlen(emlpath);
	if (n < 4 || n + 2 >= sizeof jpath)
		return NULL;
	memcpy(jpath, emlpath, n - 4);
	strcpy(jpath + n - 4, ".json");
	size_t len;
	char *s = slurp(jpath, &len);
	if (s == NULL)
		return NULL;
	pst_jval *root = NULL;
	if (pst_json_parse(s, len, &root) != 0)
		root = NULL;
	free(s);
	return root;
}

/* The body offset of the top-level part (with LF line endings), or -1. */
static long expected_body_offset(const pst_jval *root)
{
	const pst_jval *off = pst_json_get(pst_json_at(pst_json_get(root, "parts"), 0), "offset_body");
	return off && off->type == PST_JNUM ? strtol(off->text, NULL, 10) : -1;
}

/* The expected From address of a mail-parser message, from its .json:
 * 1 and *want set, 0 when the json has no from header, -1 unusable. */
static int expected_from(const pst_jval *root, const char **want, size_t *nwant)
{
	const pst_jval *hs = pst_json_get(pst_json_at(pst_json_get(root, "parts"), 0), "headers");
	if (hs == NULL)
		return -1;
	for (size_t i = 0; i < hs->nkids; i++) {
		const pst_jval *nm = pst_json_get(&hs->kids[i], "name");
		if (nm && nm->type == PST_JSTR && strcmp(nm->text, "from") == 0) {
			struct mbox_want w[8];
			*nwant = flatten(pst_json_get(pst_json_get(&hs->kids[i], "value"), "Address"), w, 8);
			*want = *nwant ? w[0].address : NULL;
			return 1;
		}
	}
	return 0;
}

/* Rendering without edits gives the input back byte for byte; with the
 * scenario 8 edits the result parses again with the same Received fields,
 * and, when m has a readable author au, the original From kept as
 * X-Original-From and the same author address. */
static void render_checks(const pst_msg *m, const char *rel, const pst_author *au,
                          pst_arena *arena)
{
	pst_buf out = PST_BUF_INIT;
	char err[200];
	assert_int_equal(pst_msg_render(m, NULL, 0, NULL, &out, err, sizeof err), 0);
	if (out.len != pst_msg_size(m) || memcmp(out.data, pst_msg_bytes(m), out.len) != 0)
		fail_msg("%s: render without edits: got %zu bytes, want the %zu of the input", rel,
		         out.len, pst_msg_size(m));
	pst_buf_clear(&out);
	const pst_msg_edit edits[] = {
		{ .op = PST_MSG_EDIT_SET_FROM_DISPLAY, .value = "" },
		{ .op = PST_MSG_EDIT_PREPEND_SUBJECT, .value = "[EXTERNAL] " },
		{ .op = PST_MSG_EDIT_REMOVE, .name = "Received" },
		{ .op = PST_MSG_EDIT_ADD, .name = "X-Postern", .value = "checked" },
	};
	assert_int_equal(pst_msg_render(m, edits, 4, NULL, &out, err, sizeof err), 0);
	pst_msg *again = NULL;
	assert_int_equal(pst_msg_parse(out.data, out.len, NULL, &again, NULL), 0);
	assert_int_equal(pst_msg_count(again, "Received", 8), pst_msg_count(m, "Received", 8));
	assert_int_equal(pst_msg_count(again, "X-Postern", 9), 1);
	assert_non_null(pst_msg_find(again, "Subject", 7, 0));
	if (au->error == NULL) {
		assert_int_equal(pst_msg_count(again, "X-Original-From", 15),
		                 pst_msg_count(m, "X-Original-From", 15) + 1);
		pst_author aa;
		assert_int_equal(pst_msg_author(again, arena, &aa), 0);
		if (aa.error != NULL)
			fail_msg("%s: From after the edit: got no author (%s), want '%s'", rel, aa.error,
			         au->addr->addr_spec);
		if (strcmp(aa.addr->addr_spec, au->addr->addr_spec) != 0)
			fail_msg("%s: From after the edit: got '%s', want '%s'", rel, aa.addr->addr_spec,
			         au->addr->addr_spec);
		assert_string_equal(aa.addr->display, "");
	}
	pst_msg_free(&again);
	pst_buf_free(&out);
}

static void one_message(const char *path, const char *rel, const struct index *ix, int with_json,
                        struct counts *c, conf_run *run)
{
	size_t len;
	char *bytes = slurp(path, &len);
	assert_non_null(bytes);
	pst_msg *m = NULL;
	pst_msg_error err;
	if (pst_msg_parse(bytes, len, NULL, &m, &err) < 0) {
		mismatch(c, "parse", err.text, "a message");
		case_done(run, c, rel);
		free(bytes);
		return;
	}
	c->parsed++;
	pst_arena *a = pst_arena_new();
	assert_non_null(a);
	pst_author au;
	assert_int_equal(pst_msg_author(m, a, &au), 0);
	render_checks(m, rel, &au, a);

	const struct index_row *row = index_row(ix, rel);
	if (row) {
		char got[32], want[32];
		c->compared += 3;
		snprintf(got, sizeof got, "%zu", pst_msg_count(m, "From", 4));
		snprintf(want, sizeof want, "%ld", row->from_count);
		if (strcmp(got, want) != 0)
			mismatch(c, "From field count", got, want);
		size_t nf = pst_msg_field_count(m);
		if (nf > 0 && (pst_msg_field_at(m, 0)->flags & PST_MSG_FIELD_MBOX_FROM))
			nf--;
		snprintf(got, sizeof got, "%zu", nf);
		snprintf(want, sizeof want, "%ld", row->header_count);
		if (strcmp(got, want) != 0)
			mismatch(c, "header field count", got, want);
		if (pst_msg_has_separator(m) != row->has_sep)
			mismatch(c, "blank line after the header", pst_msg_has_separator(m) ? "yes" : "no",
			         row->has_sep ? "yes" : "no");
	}
	if (with_json) {
		pst_jval *root = expected_json(path);
		long want_off = expected_body_offset(root);
		if (want_off >= 0) {
			/* mail-parser's offsets count LF line endings */
			size_t off = pst_msg_body_offset(m), ncrlf = 0;
			for (size_t i = 1; i < off; i++)
				ncrlf += bytes[i - 1] == '\r' && bytes[i] == '\n';
			char got[32], want_s[32];
			c->compared++;
			snprintf(got, sizeof got, "%zu", off - ncrlf);
			snprintf(want_s, sizeof want_s, "%ld", want_off);
			if (strcmp(got, want_s) != 0)
				mismatch(c, "body offset", got, want_s);
		}
		const char *want = NULL;
		size_t nwant = 0;
		int has = root ? expected_from(root, &want, &nwant) : -1;
		if (has == 1 && nwant == 1 && want) {
			c->compared++;
			char none[160];
			snprintf(none, sizeof none, "(no readable author: %s)", au.error ? au.error : "");
			const char *got = au.error == NULL ? au.addr->addr_spec : none;
			if (strcmp(got, want) != 0)
				mismatch(c, "From address", got, want);
			if (au.error != NULL && au.nfields == 1 && strchr(want, '@') == NULL) {
				/* no domain: the mailbox parses, it is only not an
				 * author address */
				const pst_msg_field *f = pst_msg_find(m, "From", 4, 0);
				assert_non_null(f);
				pst_addr_list l;
				size_t vlen;
				const char *v = pst_msg_value(m, f, &vlen);
				assert_non_null(v);
				assert_int_equal(pst_addr_parse_list(a, v, vlen, 0, &l), 0);
				assert_int_equal(l.count, 1);
				assert_string_equal(l.items[0].addr_spec, want);
			}
		} else if (has == 0) {
			c->compared++;
			if (au.nfields != 0)
				mismatch(c, "From fields", "a From field", "none");
		}
		pst_json_free(&root);
	}
	case_done(run, c, rel);
	pst_arena_free(&a);
	pst_msg_free(&m);
	free(bytes);
}

/* Every .eml/.txt file under dir (two levels), in name order. */
static void walk(const char *root, const char *sub, const char *prefix, const struct index *ix,
                 int with_json, struct counts *c, conf_run *run, int depth)
{
	char dir[4096];
	path3(dir, sizeof dir, root, "/", sub);
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *nn);
		assert_non_null(nn);
		names = nn;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[4096], rel[4096], subdir[4096];
		path3(path, sizeof path, dir, "/", names[i]);
		path3(rel, sizeof rel, prefix, names[i], "");
		if (is_dir(path) && depth < 2) {
			path3(subdir, sizeof subdir, sub, "/", names[i]);
			char p2[4096];
			path3(p2, sizeof p2, prefix, names[i], "/");
			walk(root, subdir, p2, ix, with_json, c, run, depth + 1);
		} else if (has_suffix(names[i], ".eml") || has_suffix(names[i], ".txt")) {
			one_message(path, rel, ix, with_json, c, run);
		}
		free(names[i]);
	}
	free(names);
}

static void corpus(const char *name, const char *sub, int with_json)
{
	char dir[4096];
	conf_corpus_require(name, dir, sizeof dir);
	struct index ix;
	load_index(dir, &ix);
	struct counts c = { 0, 0, PST_BUF_INIT };
	conf_run *run = conf_run_begin(name);
	walk(dir, sub, "", &ix, with_json, &c, run, 0);
	free_index(&ix);
	pst_buf_free(&c.diff);
	print_message("# %s: parsed %zu, compared %zu\n", name, c.parsed, c.compared);
	size_t failures = conf_run_end(run);
	assert_true(c.parsed > 0);
	assert_int_equal(failures, 0);
}

static void mail_parser_messages(void **state)
{
	(void)state;
	corpus("rfc5322-mail-parser-rs", "eml", 1);
}

static void python_email_messages(void **state)
{
	(void)state;
	corpus("rfc5322-python-email", "data", 0);
}

/* address.json: {"header": raw value, "expected": {"List"|"Group": ...}}. */
static void address_vectors(void **state)
{
	(void)state;
	char dir[4096], path[4200];
	conf_corpus_require("rfc5322-mail-parser-rs", dir, sizeof dir);
	path3(path, sizeof path, dir, "/", "address.json");
	size_t len;
	char *s = slurp(path, &len);
	if (s == NULL)
		fail_msg("cannot read %s", path);
	conf_run *run = conf_run_begin("rfc5322-mail-parser-rs/address.json");
	pst_arena *a = pst_arena_new();
	pst_jval *root = NULL;
	assert_int_equal(pst_json_parse(s, len, &root), 0);
	free(s);
	assert_non_null(root);
	assert_int_equal(root->type, PST_JARR);
	struct counts c = { 0, 0, PST_BUF_INIT };
	for (size_t i = 0; i < root->nkids; i++) {
		const pst_jval *h = pst_json_get(&root->kids[i], "header");
		assert_non_null(h);
		char where[32];
		snprintf(where, sizeof where, "%zu", i);
		/* As a field of a message, so unfolding is the parser's. */
		size_t mlen = 4 + h->len;
		char *msg = malloc(mlen);
		assert_non_null(msg);
		memcpy(msg, "To: ", 4);
		memcpy(msg + 4, h->text, h->len);
		pst_msg *m = NULL;
		assert_int_equal(pst_msg_parse(msg, mlen, NULL, &m, NULL), 0);
		free(msg);
		c.parsed++;
		const pst_msg_field *f = pst_msg_find(m, "To", 2, 0);
		assert_non_null(f);
		pst_addr_list l;
		size_t vlen;
		const char *v = pst_msg_value(m, f, &vlen);
		assert_non_null(v);
		assert_int_equal(pst_addr_parse_list(a, v, vlen, 0, &l), 0);
		struct mbox_want w[16];
		size_t nw = flatten(pst_json_get(&root->kids[i], "expected"), w, 16);
		/* ours: items with an address; theirs: non-null addresses */
		size_t gi = 0;
		int comments = memchr(h->text, '(', h->len) != NULL;
		for (size_t k = 0; k < nw; k++) {
			if (w[k].address == NULL)
				continue;
			while (gi < l.count && *l.items[gi].addr_spec == '\0')
				gi++;
			c.compared++;
			const pst_addr *g = gi < l.count ? &l.items[gi++] : NULL;
			if (g == NULL) {
				mismatch(&c, "address", "(none)", w[k].address);
				break;
			}
			if (strcmp(g->addr_spec, w[k].address) != 0) {
				mismatch(&c, "address", g->addr_spec, w[k].address);
				continue;
			}
			if (!comments) {
				c.compared++;
				const char *wn = w[k].name ? w[k].name : "";
				if (strcmp(g->display, wn) != 0)
					mismatch(&c, "display name", g->display, wn);
			}
		}
		pst_msg_free(&m);
		case_done(run, &c, where);
	}
	pst_arena_free(&a);
	pst_json_free(&root);
	pst_buf_free(&c.diff);
	print_message("# address.json: parsed %zu, compared %zu\n", c.parsed, c.compared);
	assert_int_equal(conf_run_end(run), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mail_parser_messages),
		cmocka_unit_test(python_email_messages),
		cmocka_unit_test(address_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
