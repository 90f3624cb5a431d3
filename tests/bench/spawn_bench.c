/*
 * spawn_bench.c - start-up cost: runs a command N times alternating
 * without and with LD_PRELOAD=<lib> and prints the median wall time of
 * each and their ratio. Alternating keeps machine noise out of the ratio.
 *
 * usage: spawn_bench LIB N CMD [ARGS...]
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double run(char **argv, char **envp)
{
	double t0 = now_us();
	pid_t pid;
	int st;

	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, envp) != 0)
		return -1;
	waitpid(pid, &st, 0);
	return now_us() - t0;
}

int main(int argc, char **argv)
{
	int n, envn = 0;
	double *a, *b;
	char **plain, **pre, pl[4096];

	if (argc < 4)
		return 2;
	n = atoi(argv[2]);
	while (environ[envn])
		envn++;
	plain = calloc((size_t)envn + 1, sizeof(char *));
	pre = calloc((size_t)envn + 2, sizeof(char *));
	for (int i = 0, j = 0; i < envn; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			plain[j] = pre[j] = environ[i], j++;
	snprintf(pl, sizeof(pl), "LD_PRELOAD=%s", argv[1]);
	for (int i = 0;; i++)
		if (!pre[i]) {
			pre[i] = pl;
			break;
		}
	a = calloc((size_t)n, sizeof(double));
	b = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < 20; i++) {		/* warm the page cache */
		run(argv + 3, plain);
		run(argv + 3, pre);
	}
	for (int i = 0; i < n; i++) {
		a[i] = run(argv + 3, plain);
		b[i] = run(argv + 3, pre);
	}
	qsort(a, (size_t)n, sizeof(double), cmp);
	qsort(b, (size_t)n, sizeof(double), cmp);
	printf("startup_native_us_median %.1f\n", a[n / 2]);
	printf("startup_preload_us_median %.1f\n", b[n / 2]);
	printf("startup_ratio %.3f\n", b[n / 2] / a[n / 2]);
	return 0;
}
