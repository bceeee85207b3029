/*
 * embed.c: embedding the postern library.
 *
 *   embed RULES MESSAGE CLIENT-IP MAIL-FROM RCPT...
 *
 * Compiles RULES once, decides MESSAGE for each recipient and prints one
 * line per recipient: address, decision, SMTP reply and the deciding rule.
 * Built by "make check" and run by tests/cli/embed.sh. Build it elsewhere
 * with: cc embed.c $(pkg-config --cflags --libs postern)
 */
#include <stdio.h>
#include <stdlib.h>

#include <postern.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 8192, n = 0, r;
	char *buf = malloc(cap);
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: embed RULES MESSAGE CLIENT-IP MAIL-FROM RCPT...\n");
		return 64;
	}
	pst_policy *policy = NULL;
	pst_compile_report report = { 0, 0, NULL };
	int rc = pst_policy_compile_file(argv[1], &policy, &report);
	if (report.text)
		fputs(report.text, stderr);    /* warnings, or the errors */
	pst_report_clear(&report);
	if (rc < 0)
		return 78;

	size_t len = 0;
	char *bytes = slurp(argv[2], &len);
	if (bytes == NULL) {
		perror(argv[2]);
		pst_policy_free(&policy);
		return 66;
	}

	pst_envelope env = {
		.client_ip = argv[3],
		.mail_from = argv[4],
		.rcpts = (const char *const *)(argv + 5),
		.nrcpts = (size_t)(argc - 5),
	};
	pst_message *msg = NULL;
	char err[256];
	rc = 65;
	if (pst_message_new(policy, bytes, len, &env, NULL, &msg, err, sizeof err) < 0) {
		fprintf(stderr, "embed: %s\n", err);
	} else if (pst_message_evaluate(msg) == 0) {
		for (size_t i = 0; i < pst_message_rcpt_count(msg); i++) {
			const pst_verdict *v = pst_message_verdict(msg, i);
			printf("%s %s %d %s %s (rule %s)\n", v->address, pst_action_name(v->action),
			       v->code, v->enhanced, v->text, v->rule ? v->rule : "none");
		}
		rc = 0;
	}
	pst_message_free(&msg);
	free(bytes);
	pst_policy_free(&policy);
	return rc;
}
