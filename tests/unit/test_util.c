/* Unit tests for engine/util: pst_buf, pst_arena, suggestions, UTF-8, the
 * FNV-1a hash, the number reader, whole writes to a descriptor. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/fdio.h"
#include "util/hash.h"
#include "util/number.h"
#include "util/suggest.h"
#include "util/utf8.h"
#include "util/panic.h"

static void buf_appends_and_terminates(void **state)
{
	(void)state;
	pst_buf b = PST_BUF_INIT;
	assert_string_equal(pst_buf_str(&b), "");
	assert_int_equal(pst_buf_puts(&b, "abc"), 0);
	assert_int_equal(pst_buf_append(&b, "\0d", 2), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "abc\0d", 6);
	assert_int_equal(pst_buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data + 5, "42-x", 5);
	size_t len = 0;
	char *s = pst_buf_steal(&b, &len);
	assert_int_equal(len, 9);
	assert_null(b.data);
	free(s);
	pst_buf_free(&b);
}

static void buf_grows_past_many_chunks(void **state)
{
	(void)state;
	pst_buf b = PST_BUF_INIT;
	for (int i = 0; i < 100000; i++)
		assert_int_equal(pst_buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.data[99999], 'a' + 99999 % 26);
	assert_int_equal(b.data[100000], '\0');
	pst_buf_free(&b);
}

static void buf_reserve_keeps_it_terminated(void **state)
{
	(void)state;
	pst_buf b = PST_BUF_INIT;
	assert_int_equal(pst_buf_reserve(&b, 100), 0);
	assert_non_null(b.data);
	assert_int_equal(b.data[0], '\0');          /* text even before any append */
	assert_string_equal(pst_buf_str(&b), "");
	assert_int_equal(pst_buf_puts(&b, "abc"), 0);
	assert_int_equal(pst_buf_reserve(&b, 5000), 0);
	assert_string_equal(b.data, "abc");
	pst_buf_free(&b);
}

static void buf_json_escapes(void **state)
{
	(void)state;
	static const struct { const char *in; size_t n; const char *want; } cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
		{ "l1\r\nl2\t", 7, "\"l1\\r\\nl2\\t\"" },
		{ "\x01\x7f", 2, "\"\\u0001\\u007f\"" },
		{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
		{ "bad\xff\xc3", 5, "\"bad\\ufffd\\ufffd\"" },
		{ "nul\0x", 5, "\"nul\\u0000x\"" },
		{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" }, /* surrogate */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pst_buf b = PST_BUF_INIT;
		assert_int_equal(pst_buf_json_str(&b, cases[i].in, cases[i].n), 0);
		if (strcmp(pst_buf_str(&b), cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, pst_buf_str(&b), cases[i].want);
		pst_buf_free(&b);
	}
}

static void arena_allocates_aligned_and_large(void **state)
{
	(void)state;
	pst_arena *a = pst_arena_new();
	assert_non_null(a);
	char *s = pst_arena_strdup(a, "hello");
	assert_string_equal(s, "hello");
	for (int i = 0; i < 1000; i++) {
		void *p = pst_arena_alloc(a, (size_t)(i % 37) + 1);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
	}
	char *big = pst_arena_alloc(a, 1 << 20);
	assert_non_null(big);
	memset(big, 'x', 1 << 20);
	char *after = pst_arena_strdup(a, "after");
	assert_string_equal(after, "after");
	assert_string_equal(s, "hello");
	assert_null(pst_arena_calloc(a, SIZE_MAX / 2, 4));
	assert_true(pst_arena_used(a) >= (1 << 20));
	pst_arena_free(&a);
	assert_null(a);
	pst_arena_free(&a);
}

static void suggest_finds_close_names(void **state)
{
	(void)state;
	static const char *const names[] = { "client.ip", "client.helo", "from.domain", "dmarc.policy" };
	static const struct { const char *word; const char *want; } cases[] = {
		{ "client.pi", "client.ip" },
		{ "CLIENT.IP", "client.ip" },
		{ "from.domian", "from.domain" },
		{ "dmarc.polcy", "dmarc.policy" },
		{ "subject", NULL },
		{ "ip", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = pst_suggest(cases[i].word, strlen(cases[i].word), names, 4);
		if ((got == NULL) != (cases[i].want == NULL) ||
		    (got && strcmp(got, cases[i].want) != 0))
			fail_msg("%s: got %s, want %s", cases[i].word, got ? got : "(none)",
			         cases[i].want ? cases[i].want : "(none)");
	}
	assert_int_equal(pst_edit_distance("kitten", 6, "sitting", 7, 10), 3);
	assert_int_equal(pst_edit_distance("abc", 3, "abcdefgh", 8, 2), 3);
}

/* The one UTF-8 decoder: valid forms and every kind of invalid one. */
static void utf8_decodes_strictly(void **state)
{
	(void)state;
	static const struct { const char *in; size_t n, want_len; uint32_t want_cp; } cases[] = {
		{ "a", 1, 1, 'a' },
		{ "\xc3\xa9", 2, 2, 0xE9 },
		{ "\xe2\x80\x8b", 3, 3, 0x200B },
		{ "\xf0\x9f\x98\x80", 4, 4, 0x1F600 },
		{ "\xc0\xaf", 2, 0, 0xFFFD },             /* overlong */
		{ "\xe0\x80\xaf", 3, 0, 0xFFFD },         /* overlong */
		{ "\xed\xa0\x80", 3, 0, 0xFFFD },         /* surrogate */
		{ "\xf4\x90\x80\x80", 4, 0, 0xFFFD },     /* above U+10FFFF */
		{ "\xe2\x80", 2, 0, 0xFFFD },             /* truncated */
		{ "\x80", 1, 0, 0xFFFD },                 /* continuation byte */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t cp = 0;
		size_t len = pst_utf8_decode((const unsigned char *)cases[i].in, cases[i].n, &cp);
		if (len != cases[i].want_len || cp != cases[i].want_cp)
			fail_msg("case %zu: got len %zu cp U+%04X, want len %zu cp U+%04X", i, len,
			         (unsigned)cp, cases[i].want_len, (unsigned)cases[i].want_cp);
	}
}

/* A broken invariant: false and reported when panics do not abort; an
 * abort (a core) with POSTERN_PANIC set, as in make check. */
static int invariant_in_child(const char *panic_env, int *status)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		if (panic_env)
			setenv("POSTERN_PANIC", panic_env, 1);
		else
			unsetenv("POSTERN_PANIC");
		int two = 2;
		int ok = PST_INVARIANT(two == 3);
		_exit(ok == 0 ? 7 : 8);
	}
	close(fds[1]);
	char buf[256] = "";
	ssize_t n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return n > 0 && strstr(buf, "postern: panic: ") && strstr(buf, "two == 3") ? 1 : 0;
}

static void invariants_panic_in_tests(void **state)
{
	(void)state;
	int status;
#ifndef PST_DEBUG
	assert_int_equal(invariant_in_child("0", &status), 1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);   /* returned 0: the caller copes */
#endif
	assert_int_equal(invariant_in_child("1", &status), 1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	int one = 1;
	assert_int_equal(PST_INVARIANT(one == 1), 1);
}

/* FNV-1a against the test vectors published with it (Fowler/Noll/Vo,
 * draft-eastlake-fnv, "FNV-1a" columns); the folded variants agree on
 * lower-case input and give the same for its upper-case spelling. */
static void fnv1a_matches_published_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *in, *upper;
		uint32_t want32;
		uint64_t want64;
	} rows[] = {
		{ "", "", UINT32_C(0x811c9dc5), UINT64_C(0xcbf29ce484222325) },
		{ "a", "A", UINT32_C(0xe40c292c), UINT64_C(0xaf63dc4c8601ec8c) },
		{ "foobar", "FOOBAR", UINT32_C(0xbf9cf968), UINT64_C(0x85944171f73967e8) },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *in = rows[i].in;
		size_t n = strlen(in), half = n / 2;
		uint64_t got[5] = {
			pst_hash_fnv1a64(in, n),
			pst_hash_fnv1a64_str(in),
			pst_hash_fnv1a64_add(pst_hash_fnv1a64(in, half), in + half, n - half),
			pst_hash_fnv1a64_fold_add(PST_FNV1A64_BASIS, in, n),
			pst_hash_fnv1a64_fold_add(PST_FNV1A64_BASIS, rows[i].upper, n),
		};
		for (size_t k = 0; k < 5; k++)
			if (got[k] != rows[i].want64)
				fail_msg("64-bit form %zu of \"%s\": got %#llx, want %#llx", k,
				         k == 4 ? rows[i].upper : in, (unsigned long long)got[k],
				         (unsigned long long)rows[i].want64);
		uint32_t h32 = PST_FNV1A32_BASIS, u32 = PST_FNV1A32_BASIS;
		for (size_t k = 0; k < n; k++) {
			h32 = pst_hash_fnv1a32_fold_byte(h32, (unsigned char)in[k]);
			u32 = pst_hash_fnv1a32_fold_byte(u32, (unsigned char)rows[i].upper[k]);
		}
		if (h32 != rows[i].want32 || u32 != rows[i].want32)
			fail_msg("32-bit \"%s\": got %#x (upper case %#x), want %#x", in, h32, u32,
			         rows[i].want32);
	}
	/* Unfolded, case matters. */
	if (pst_hash_fnv1a64("A", 1) == pst_hash_fnv1a64("a", 1))
		fail_msg("64-bit \"A\": got the hash of \"a\", want another");
}

/* pst_parse_number: the whole text is the number, in range. */
static void numbers_are_whole_and_in_range(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		unsigned base;
		unsigned long long min, max;
		int err;                        /* 0, EINVAL or ERANGE */
		unsigned long long want;
	} rows[] = {
		{ "0", 10, 0, 10, 0, 0 },
		{ "42", 10, 0, 100, 0, 42 },
		{ "007", 10, 0, 100, 0, 7 },            /* leading zeros */
		{ "1", 10, 1, 1, 0, 1 },                /* min = max */
		{ "", 10, 0, 10, EINVAL, 0 },           /* empty */
		{ "+5", 10, 0, 10, EINVAL, 0 },         /* sign */
		{ "-1", 10, 0, 10, EINVAL, 0 },
		{ "-0", 10, 0, 10, EINVAL, 0 },
		{ " 5", 10, 0, 10, EINVAL, 0 },         /* white space */
		{ "5 ", 10, 0, 10, EINVAL, 0 },
		{ "5x", 10, 0, 10, EINVAL, 0 },         /* trailing junk */
		{ "0x10", 10, 0, 100, EINVAL, 0 },
		{ "1.5", 10, 0, 10, EINVAL, 0 },
		{ "x", 10, 0, 10, EINVAL, 0 },
		{ "11", 10, 0, 10, ERANGE, 0 },         /* over max */
		{ "0", 10, 1, 10, ERANGE, 0 },          /* under min */
		{ "18446744073709551615", 10, 0, ULLONG_MAX, 0, ULLONG_MAX },
		{ "18446744073709551616", 10, 0, ULLONG_MAX, ERANGE, 0 },  /* overflow */
		{ "99999999999999999999999", 10, 0, ULLONG_MAX, ERANGE, 0 },
		{ "99999999999999999999999x", 10, 0, ULLONG_MAX, EINVAL, 0 },
		{ "9223372036854775808", 10, 0, LLONG_MAX, ERANGE, 0 },
		{ "0777", 8, 0, 0777, 0, 0777 },        /* octal */
		{ "0660", 8, 0, 0777, 0, 0660 },
		{ "1000", 8, 0, 0777, ERANGE, 0 },
		{ "08", 8, 0, 0777, EINVAL, 0 },        /* not an octal digit */
		{ "1", 11, 0, 10, EINVAL, 0 },          /* bad base */
		{ "1", 1, 0, 10, EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		unsigned long long got = 12345;
		errno = 0;
		int rc = pst_parse_number(rows[i].in, rows[i].base, rows[i].min, rows[i].max, &got);
		int err = rc == 0 ? 0 : errno;
		if (rc != (rows[i].err ? -1 : 0) || err != rows[i].err)
			fail_msg("\"%s\" base %u: got rc %d errno %d, want errno %d", rows[i].in,
			         rows[i].base, rc, err, rows[i].err);
		if (rc == 0 && got != rows[i].want)
			fail_msg("\"%s\" base %u: got %llu, want %llu", rows[i].in, rows[i].base, got,
			         rows[i].want);
		if (rc != 0 && got != 12345)
			fail_msg("\"%s\": got *out %llu after an error, want it untouched", rows[i].in, got);
	}
	unsigned long long v;
	errno = 0;
	assert_int_equal(pst_parse_number(NULL, 10, 0, 10, &v), -1);
	assert_int_equal(errno, EINVAL);
}

/* Reads fd to its end into out (cap bytes at most); the count read. */
static size_t read_all(int fd, char *out, size_t cap)
{
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, out + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (got += (size_t)r) == cap)
			return got;
	}
}

/* A line longer than a pipe holds, written while a child reads it back:
 * every byte arrives, then exactly one newline. */
static void write_line_writes_line_and_newline(void **state)
{
	(void)state;
	size_t len = 200000;
	char *line = malloc(len), *back = malloc(len + 2);
	assert_non_null(line);
	assert_non_null(back);
	for (size_t i = 0; i < len; i++)
		line[i] = (char)('a' + i % 26);
	int p[2], q[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	pid_t kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {               /* copies p to q */
		close(p[1]);
		close(q[0]);
		size_t n = read_all(p[0], back, len + 2);
		_exit(pst_write_all(q[1], back, n) == 0 ? 0 : 1);
	}
	close(p[0]);
	close(q[1]);
	assert_int_equal(pst_write_line(p[1], line, len), 0);
	assert_int_equal(pst_write_line(p[1], "", 0), 0);
	close(p[1]);
	assert_int_equal(read_all(q[0], back, len + 2), len + 2);
	close(q[0]);
	int st;
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_memory_equal(back, line, len);
	assert_int_equal(back[len], '\n');
	assert_int_equal(back[len + 1], '\n');
	free(line);
	free(back);
}

static void write_all_reports_errors(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(pst_write_all(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(pst_write_line(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		assert_int_equal(pst_write_line(fd, "x", 1), -1);
		assert_int_equal(errno, ENOSPC);
		close(fd);
	}
	assert_int_equal(pst_write_all(-1, "", 0), 0);   /* nothing to write */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_appends_and_terminates),
		cmocka_unit_test(buf_grows_past_many_chunks),
		cmocka_unit_test(buf_reserve_keeps_it_terminated),
		cmocka_unit_test(buf_json_escapes),
		cmocka_unit_test(utf8_decodes_strictly),
		cmocka_unit_test(invariants_panic_in_tests),
		cmocka_unit_test(arena_allocates_aligned_and_large),
		cmocka_unit_test(suggest_finds_close_names),
		cmocka_unit_test(fnv1a_matches_published_vectors),
		cmocka_unit_test(numbers_are_whole_and_in_range),
		cmocka_unit_test(write_line_writes_line_and_newline),
		cmocka_unit_test(write_all_reports_errors),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
