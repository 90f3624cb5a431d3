/*
 * fault_server.c - the traced program of test_faults.sh: a small threaded
 * HTTP/1.1 server (one thread per connection, keep-alive), run with the
 * library preloaded; every request it serves is one SERVER span.
 *
 * usage: fault_server PORTFILE
 *
 * Answers every request head with "200 OK" and the body "hello\n". Writes
 * its port to PORTFILE once it listens. On SIGTERM (or SIGINT) it prints
 * "served N" (requests answered) on stdout and leaves with exit(0), so the
 * library's exit flush runs, bounded by OTELPRELOAD_EXIT_TIMEOUT_MS.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "tinyhttp.h"

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			   "Content-Length: 6\r\n\r\nhello\n";
static long served;

static void *conn_main(void *arg)
{
	int fd = (int)(long)arg;
	char head[TH_HEAD_MAX];

	for (;;) {
		ssize_t n = th_read_head(fd, head, sizeof(head));

		if (n <= 0)
			break;
		if (th_write_all(fd, RESP, sizeof(RESP) - 1) != 0)
			break;
		__atomic_fetch_add(&served, 1, __ATOMIC_RELAXED);
	}
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	int lfd = (int)(long)arg;
	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 << 10);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t th;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			break;
		}
		if (pthread_create(&th, &at, conn_main, (void *)(long)fd) != 0)
			close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	sigset_t set;
	pthread_t th;
	int port, lfd, sig;

	if (argc != 2) {
		fprintf(stderr, "usage: fault_server PORTFILE\n");
		return 2;
	}
	/* Every thread inherits the mask: SIGTERM is taken by sigwait only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	lfd = th_listen(&port, 128);
	if (lfd < 0 || pthread_create(&th, NULL, accept_main, (void *)(long)lfd) != 0 ||
	    th_write_port(argv[1], port) != 0) {
		perror("fault_server");
		return 1;
	}
	sigwait(&set, &sig);
	printf("served %ld\n", __atomic_load_n(&served, __ATOMIC_RELAXED));
	fflush(stdout);
	exit(0);
}
