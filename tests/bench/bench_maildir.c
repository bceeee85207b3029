/*
 * bench_maildir.c: fsync'd Maildir deliveries per second: THREADS threads
 * each deliver 4 KB messages (one recipient each) into 16 mailboxes under
 * a temporary directory (BENCH_DIR, default /tmp), as the LMTP server's
 * sessions would. Every delivery is tmp, fsync, rename, fsync new/.
 * Not part of make check: make bench. Usage: bench_maildir [THREADS [N]].
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/deliver.h"

typedef struct job {
	pst_deliver *d;
	int n, id, ok;
	const char *msg;
	size_t len;
} job;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	job *j = arg;
	pst_deliver_env env = { "s@example.org", "BENCH", NULL, NULL, NULL, "mx", "127.0.0.1" };
	char rcpt[64];

	for (int i = 0; i < j->n; i++) {
		snprintf(rcpt, sizeof rcpt, "user%d@example.com", (j->id * 7 + i) % 16);
		pst_deliver_rcpt r = { rcpt, NULL, j->msg, j->len, { 0, "", "" } };
		pst_deliver_transaction(j->d, &env, &r, 1);
		j->ok += r.reply.code == 250;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 16;
	int per = argc > 2 ? atoi(argv[2]) : 300;
	const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
	char dir[512], target[600], err[256], cmd[700];
	pst_deliver *d = NULL;
	static char msg[4096];
	pthread_t th[256];
	job jobs[256];
	int ok = 0;

	if (threads < 1 || threads > 256 || per < 1)
		return 2;
	snprintf(dir, sizeof dir, "%s/bench_maildir.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(target, sizeof target, "maildir:%s/mail", dir);
	if (pst_deliver_open(target, NULL, &d, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	memset(msg, 'x', sizeof msg);
	memcpy(msg, "Subject: bench\n\n", 16);
	for (size_t i = 80; i < sizeof msg; i += 80)
		msg[i] = '\n';
	double t0 = now();
	for (int i = 0; i < threads; i++) {
		jobs[i] = (job){ d, per, i, 0, msg, sizeof msg };
		if (pthread_create(&th[i], NULL, run, &jobs[i]) != 0)
			return 1;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		ok += jobs[i].ok;
	}
	double t = now() - t0;
	printf("maildir: %d threads, %d x 4 KB deliveries, %d answered 250, %.2f s: %.0f fsync'd "
	       "deliveries/s\n", threads, threads * per, ok, t, ok / t);
	pst_deliver_close(&d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 && ok == threads * per ? 0 : 1;
}
