/*
 * pq_bench.c - PQexec("SELECT 1") round trips per second, without and with
 * LD_PRELOAD=<lib>: RUNS runs of each, alternating (so machine noise stays
 * out of the ratio), after one warm-up run of each; prints the medians and
 * their ratio (with / without) as "key value" lines for tests/bench/run.sh.
 *
 * usage: pq_bench LIB CONNINFO RUNS COUNT
 *        pq_bench --run CONNINFO COUNT     (one run; what the above spawns)
 *
 * One run: connect (not timed), COUNT times PQexec("SELECT 1") (each must
 * be PGRES_TUPLES_OK), PQfinish; prints round trips per second. A run stops
 * early after 20 s and counts what it did; RUNS is capped at 15, COUNT at
 * 1000000. The parent is never preloaded; the environment it was given
 * (OTEL_* for the exporter) goes to both kinds of run, LD_PRELOAD only to
 * the preloaded ones.
 */
#include <libpq-fe.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_run(const char *conninfo, long count)
{
	PGconn *c = PQconnectdb(conninfo);
	double t0, t;
	long i;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pq_bench: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	t0 = now_s();
	for (i = 0; i < count; i++) {
		PGresult *r = PQexec(c, "SELECT 1");
		int good = PQresultStatus(r) == PGRES_TUPLES_OK;

		PQclear(r);
		if (!good) {
			fprintf(stderr, "pq_bench: SELECT 1 failed: %s", PQerrorMessage(c));
			PQfinish(c);
			return 1;
		}
		if ((i & 1023) == 1023 && now_s() - t0 > 20.0) {
			i++;
			break;
		}
	}
	t = now_s() - t0;
	PQfinish(c);
	printf("%.0f\n", (double)i / t);
	return 0;
}

/* Spawn "self --run CONNINFO COUNT" with envp; its round trips/s, or -1. */
static double spawn_run(char **argv, char **envp)
{
	posix_spawn_file_actions_t fa;
	char buf[64] = "";
	int fd[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(fd) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, envp) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	n = read(fd[0], buf, sizeof(buf) - 1);
	close(fd[0]);
	waitpid(pid, &st, 0);
	if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	buf[n] = 0;
	return atof(buf);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char **plain, **pre, pl[4096], cnt[32];
	double a[15], b[15];
	int runs, envn = 0;
	long count;

	if (argc == 4 && strcmp(argv[1], "--run") == 0)
		return one_run(argv[2], atol(argv[3]));
	if (argc != 5) {
		fprintf(stderr, "usage: pq_bench LIB CONNINFO RUNS COUNT\n");
		return 2;
	}
	runs = atoi(argv[3]);
	count = atol(argv[4]);
	if (runs < 1 || runs > 15 || count < 1 || count > 1000000) {
		fprintf(stderr, "pq_bench: RUNS 1..15, COUNT 1..1000000\n");
		return 2;
	}
	snprintf(cnt, sizeof(cnt), "%ld", count);
	char *child[] = { argv[0], "--run", argv[2], cnt, NULL };

	while (environ[envn])
		envn++;
	plain = calloc((size_t)envn + 1, sizeof(char *));
	pre = calloc((size_t)envn + 2, sizeof(char *));
	if (!plain || !pre)
		return 1;
	int j = 0;
	for (int i = 0; i < envn; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			plain[j] = pre[j] = environ[i], j++;
	snprintf(pl, sizeof(pl), "LD_PRELOAD=%s", argv[1]);
	pre[j] = pl;

	/* warm-up: the server's caches, the page cache, the library */
	if (spawn_run(child, plain) < 0 || spawn_run(child, pre) < 0) {
		fprintf(stderr, "pq_bench: a warm-up run failed\n");
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		a[i] = spawn_run(child, plain);
		b[i] = spawn_run(child, pre);
		if (a[i] < 0 || b[i] < 0) {
			fprintf(stderr, "pq_bench: run %d failed\n", i);
			return 1;
		}
		fprintf(stderr, "pq_bench: run %d: native %.0f/s, preloaded %.0f/s\n", i, a[i], b[i]);
	}
	qsort(a, (size_t)runs, sizeof(double), cmp);
	qsort(b, (size_t)runs, sizeof(double), cmp);
	printf("pq_native_rps_median %.0f\n", a[runs / 2]);
	printf("pq_preload_rps_median %.0f\n", b[runs / 2]);
	printf("pq_ratio %.3f\n", b[runs / 2] / a[runs / 2]);
	return 0;
}
