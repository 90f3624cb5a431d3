/*
 * pool_server.c - 200 threads each serving and calling (test_hostile.sh 3).
 *
 * usage: pool_server PORTFILE [THREADS]
 *
 * THREADS (default 200) worker threads block in accept() on one shared
 * listening socket, a classic pre-threaded server. Each accepted
 * connection is served by the thread that accepted it, one request per
 * connection:
 *   GET /front/X  the thread calls GET /back/X on this same server (a new
 *                 connection; another worker answers it), checks that the
 *                 answer is exactly "/back/X\n", then answers "/front/X\n"
 *                 (502 when the back answer was wrong)
 *   GET /back/X   answered "/back/X\n"
 * So every worker both serves (fronts and backs) and calls (backs), and
 * each CLIENT span of a back call is made while its thread serves a front:
 * it must be that front SERVER span's child, and the back SERVER span its
 * child in turn. The load client must keep fewer fronts in flight than
 * there are threads (test_hostile.sh uses 100 for 200), so a back always
 * finds a free worker.
 *
 * On SIGTERM: prints "fronts N backs N bad N threads-fronting N
 * threads-backing N threads-both N" and leaves with exit(0).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "tinyhttp.h"

#define MAXT 1024

static int port, lfd;
static long fronts[MAXT], backs[MAXT], bad;

static void answer(int fd, int status, const char *body)
{
	char resp[1024];

	snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 status, status == 200 ? "OK" : "Bad Gateway", strlen(body), body);
	th_write_all(fd, resp, strlen(resp));
}

static void *worker(void *arg)
{
	int id = (int)(long)arg;

	for (;;) {
		char head[TH_HEAD_MAX], target[512], body[600], want[600], got[600];
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		th_timeouts(fd);
		if (th_read_head(fd, head, sizeof(head)) <= 0 ||
		    th_target(head, target, sizeof(target)) != 0) {
			close(fd);
			continue;
		}
		snprintf(body, sizeof(body), "%s\n", target);
		if (strncmp(target, "/back/", 6) == 0) {
			backs[id]++;
			answer(fd, 200, body);
		} else if (strncmp(target, "/front/", 7) == 0) {
			char back[512];

			fronts[id]++;
			snprintf(back, sizeof(back), "/back/%s", target + 7);
			snprintf(want, sizeof(want), "%s\n", back);
			if (th_get(port, back, got, sizeof(got)) == 200 && strcmp(got, want) == 0) {
				answer(fd, 200, body);
			} else {
				__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
				answer(fd, 502, "bad back answer\n");
			}
		} else {
			answer(fd, 404, "no\n");
		}
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 200, sig, tf = 0, tb = 0, both = 0;
	long f = 0, b = 0;
	pthread_attr_t at;
	sigset_t set;

	if (argc < 2 || n < 1 || n > MAXT) {
		fprintf(stderr, "usage: pool_server PORTFILE [THREADS]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = th_listen(&port, 512);
	if (lfd < 0)
		return 1;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 128 << 10);
	for (int i = 0; i < n; i++) {
		pthread_t th;

		if (pthread_create(&th, &at, worker, (void *)(long)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	if (th_write_port(argv[1], port) != 0)
		return 1;
	sigwait(&set, &sig);
	for (int i = 0; i < n; i++) {
		long fi = __atomic_load_n(&fronts[i], __ATOMIC_RELAXED);
		long bi = __atomic_load_n(&backs[i], __ATOMIC_RELAXED);

		f += fi;
		b += bi;
		tf += fi > 0;
		tb += bi > 0;
		both += fi > 0 && bi > 0;
	}
	printf("fronts %ld backs %ld bad %ld threads-fronting %d threads-backing %d threads-both %d\n",
	       f, b, __atomic_load_n(&bad, __ATOMIC_RELAXED), tf, tb, both);
	fflush(stdout);
	exit(0);
}
