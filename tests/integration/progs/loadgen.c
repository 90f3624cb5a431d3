/*
 * loadgen.c - a load client for test_faults.sh and test_hostile.sh. Never
 * preloaded: it measures the traced server from outside.
 *
 * usage: loadgen -p PORT -n TOTAL [-c CONNS] [-i INTERVAL_US] [-k]
 *                [-P PREFIX] [-b BODY | -x] [-m PID]
 *
 *   -c CONNS        parallel clients, one thread each (default 1); TOTAL is
 *                   split between them
 *   -i INTERVAL_US  each client sends on a fixed schedule, one request
 *                   every INTERVAL_US (open loop: start + k * interval; a
 *                   late request goes at once); 0 = back to back
 *   -k              keep-alive: one connection per client; otherwise a new
 *                   connection per request ("Connection: close")
 *   -P PREFIX       request target PREFIX/<client>-<k> (default /load)
 *   -b BODY         every response body must be exactly BODY
 *   -x              every response body must be the request target + "\n"
 *   -m PID          sample PID's VmRSS every 20 ms while the load runs, and
 *                   its CPU time (utime + stime) at start and end
 *
 * Latency: from just before the request is written until the last byte of
 * the response body is read (CLOCK_MONOTONIC), per request. A request
 * counts as ok when the status is 200 and the body is as required.
 *
 * stdout, one line:
 *   ok=N fail=N p50_us=N p90_us=N p99_us=N max_us=N rss_max_kb=N
 *   rss_last_kb=N cpu_ms=N wall_ms=N
 * (rss_* and cpu_ms are 0 without -m). Exit status 0 when fail=0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "tinyhttp.h"

static int port, total, conns = 1, keep;
static long interval_us;
static const char *prefix = "/load", *want_body;
static int echo;
static int mon_pid;
static volatile int running = 1;
static long long *lat;		/* per request, us; -1 = failed */
static long rss_max, rss_last;

struct client {
	int id, n, first;
};

static int one(int *fd, int id, int k, long long *us)
{
	char path[128], req[512], buf[16384], *body;
	size_t blen;
	long long t0;
	int st;

	snprintf(path, sizeof(path), "%s/%d-%d", prefix, id, k);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", path, port,
		 keep ? "" : "Connection: close\r\n");
	if (*fd < 0 && (*fd = th_connect(port)) < 0)
		return -1;
	t0 = th_now_us();
	if (th_write_all(*fd, req, strlen(req)) != 0)
		return -1;
	st = th_read_response(*fd, buf, sizeof(buf), &body, &blen);
	*us = th_now_us() - t0;
	if (!keep) {
		close(*fd);
		*fd = -1;
	}
	if (st != 200)
		return -1;
	if (want_body && (blen != strlen(want_body) || memcmp(body, want_body, blen) != 0))
		return -1;
	if (echo && (blen != strlen(path) + 1 || memcmp(body, path, strlen(path)) != 0 ||
		     body[blen - 1] != '\n'))
		return -1;
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	long long start = th_now_us();
	int fd = -1;

	for (int k = 0; k < c->n; k++) {
		long long us = 0;

		if (interval_us > 0) {
			long long due = start + (long long)k * interval_us, now = th_now_us();

			if (due > now) {
				struct timespec ts = { (time_t)((due - now) / 1000000),
						       (long)((due - now) % 1000000) * 1000 };
				nanosleep(&ts, NULL);
			}
		}
		if (one(&fd, c->id, k, &us) != 0) {
			lat[c->first + k] = -1;
			if (fd >= 0) {
				close(fd);
				fd = -1;
			}
		} else {
			lat[c->first + k] = us;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static long status_kb(int pid, const char *key)
{
	char p[64], line[256];
	FILE *f;
	long v = 0;
	size_t kl = strlen(key);

	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	f = fopen(p, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0) {
			v = strtol(line + kl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long cpu_ms(int pid)
{
	char p[64], buf[2048], *s;
	unsigned long ut = 0, stime = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	f = fopen(p, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	s = strrchr(buf, ')');	/* the name may hold spaces */
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stime) != 2)
		return 0;
	return (long)((ut + stime) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static void *monitor_main(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&running, __ATOMIC_RELAXED)) {
		long v = status_kb(mon_pid, "VmRSS:");

		if (v > rss_max)
			rss_max = v;
		if (v)
			rss_last = v;
		usleep(20000);
	}
	return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct client *cl;
	pthread_t *th, mon;
	long long *sorted, t0;
	long cpu0 = 0, cpu1 = 0;
	int opt, ok = 0, fail = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "p:n:c:i:kP:b:xm:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'n': total = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'i': interval_us = atol(optarg); break;
		case 'k': keep = 1; break;
		case 'P': prefix = optarg; break;
		case 'b': want_body = optarg; break;
		case 'x': echo = 1; break;
		case 'm': mon_pid = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: loadgen -p PORT -n TOTAL [-c CONNS] [-i US] [-k] "
					"[-P PREFIX] [-b BODY | -x] [-m PID]\n");
			return 2;
		}
	}
	if (port <= 0 || total <= 0 || conns <= 0 || conns > 1000) {
		fprintf(stderr, "loadgen: bad arguments\n");
		return 2;
	}
	lat = calloc((size_t)total, sizeof(*lat));
	sorted = calloc((size_t)total, sizeof(*sorted));
	cl = calloc((size_t)conns, sizeof(*cl));
	th = calloc((size_t)conns, sizeof(*th));
	if (!lat || !sorted || !cl || !th)
		return 1;
	if (mon_pid) {
		cpu0 = cpu_ms(mon_pid);
		pthread_create(&mon, NULL, monitor_main, NULL);
	}
	t0 = th_now_us();
	for (int i = 0, first = 0; i < conns; i++) {
		cl[i].id = i;
		cl[i].n = total / conns + (i < total % conns);
		cl[i].first = first;
		first += cl[i].n;
		if (pthread_create(&th[i], NULL, client_main, &cl[i]) != 0) {
			fprintf(stderr, "loadgen: pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	t0 = th_now_us() - t0;
	if (mon_pid) {
		__atomic_store_n(&running, 0, __ATOMIC_RELAXED);
		pthread_join(mon, NULL);
		cpu1 = cpu_ms(mon_pid);
	}
	for (int i = 0; i < total; i++) {
		if (lat[i] < 0)
			fail++;
		else
			sorted[ok++] = lat[i];
	}
	qsort(sorted, (size_t)ok, sizeof(*sorted), cmp_ll);
#define PCT(p) (ok ? sorted[(size_t)((ok - 1) * (p) / 100)] : 0)
	printf("ok=%d fail=%d p50_us=%lld p90_us=%lld p99_us=%lld max_us=%lld rss_max_kb=%ld "
	       "rss_last_kb=%ld cpu_ms=%ld wall_ms=%lld\n",
	       ok, fail, PCT(50), PCT(90), PCT(99), ok ? sorted[ok - 1] : 0, rss_max, rss_last,
	       cpu1 - cpu0, t0 / 1000);
	return fail ? 1 : 0;
}
