/* The conformance harness itself (conf.h): a run over a small list of
 * divergences written here passes exactly when the list is the set of
 * disagreements. Each row gives the list, the cases the run meets, and
 * the number of failures conf_run_end must return. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

struct kase {
	const char *id;
	int agrees;
};

static const struct row {
	const char *name;
	const char *list;
	struct kase cases[4];
	size_t failures, agree, total, listed;
} rows[] = {
	{ "a listed divergence passes", "c\tx\tours\twhy\n",
	  { { "x", 0 }, { "y", 1 } }, 0, 1, 2, 1 },
	{ "an unlisted mismatch fails", "# none\n",
	  { { "x", 0 }, { "y", 1 } }, 1, 1, 2, 0 },
	{ "a listed case that agrees is stale", "c\tx\tours\twhy\n",
	  { { "x", 1 } }, 1, 1, 1, 0 },
	{ "a listed case the corpus lacks is stale", "c\tx\tours\twhy\nc\tgone\tours\twhy\n",
	  { { "x", 0 } }, 1, 0, 1, 1 },
	{ "other corpora's lines are not this run's", "d\tx\tours\twhy\n",
	  { { "x", 0 } }, 1, 0, 1, 0 },
	{ "three fields is a bad line", "c\tx\twhy\n",
	  { { "x", 1 } }, 1, 1, 1, 0 },
	{ "an empty field is a bad line", "c\tx\t\twhy\n",
	  { { "x", 0 } }, 2, 0, 1, 0 },
	{ "a case listed twice is a bad line", "c\tx\tours\twhy\nc\tx\tours\tagain\n",
	  { { "x", 0 } }, 1, 0, 1, 1 },
	{ "comments and blank lines", "# c\tx\tours\twhy\n\n",
	  { { "x", 1 } }, 0, 1, 1, 0 },
};

static void run_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		char path[] = "/tmp/test_conf_list.XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, r->list, strlen(r->list)), (ssize_t)strlen(r->list));
		close(fd);
		conf_run *run = conf_run_begin_list("c", path);
		for (size_t k = 0; k < 4 && r->cases[k].id != NULL; k++)
			conf_case(run, r->cases[k].id, r->cases[k].agrees, "detail");
		size_t agree = conf_run_agree(run), total = conf_run_total(run);
		size_t listed = conf_run_listed(run), failures = conf_run_end(run);
		unlink(path);
		if (failures != r->failures || agree != r->agree || total != r->total
		    || listed != r->listed)
			fail_msg("%s: got %zu failures, %zu/%zu agree, %zu listed; want %zu, %zu/%zu, %zu",
			         r->name, failures, agree, total, listed, r->failures, r->agree, r->total,
			         r->listed);
	}
}

/* An unreadable list fails the run rather than excusing nothing silently. */
static void missing_list_fails(void **state)
{
	(void)state;
	conf_run *run = conf_run_begin_list("c", "/nonexistent/divergences.txt");
	conf_case(run, "x", 1, NULL);
	assert_int_equal(conf_run_end(run), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(run_rows),
		cmocka_unit_test(missing_list_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
