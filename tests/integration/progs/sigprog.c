/*
 * sigprog.c - HTTP traffic while a 1 ms timer's signal handler writes to a
 * socket (test_hostile.sh 2). Run with and without the library: its
 * stdout must be the same.
 *
 * usage: sigprog REQUESTS
 *
 * One process: an HTTP server thread (accepts; one thread per connection;
 * answers each request with its own target + "\n", keep-alive), two
 * client threads (REQUESTS/2 each: every 10th request on a new connection,
 * the rest keep-alive), a sink thread reading a TCP connection, and
 * setitimer(ITIMER_REAL, 1 ms): SIGALRM, without SA_RESTART, taken only
 * by the HTTP threads (the main and sink threads block it), so their
 * blocking calls (accept, connect, read, write) return EINTR and are
 * retried, as a careful program does. The handler writes "tick" to a
 * non-blocking TCP connection to the sink (a connection the library
 * watches until it sees that it is not HTTP: its hooks run inside the
 * handler, possibly interrupting themselves on the same thread).
 *
 * Checked by the program itself (stdout, deterministic):
 *   requests N ok N        every answer exactly the echo of its target
 *   anomalies 0            a write count larger than asked, a short count
 *                          on a blocking write that was not interrupted,
 *                          errno other than EINTR/EAGAIN where not expected
 *   handler-errno-changed 0  the handler's successful write changed errno
 *                          (libc does not touch errno on success)
 *   ticks-match yes        bytes the handler wrote = bytes the sink read
 *   done
 * stderr: signals taken, EINTRs seen, ticks (they vary from run to run).
 * Exit status 0 when all of the above hold.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "tinyhttp.h"

static int port;
static int tickfd = -1;
static long ticks_sent, ticks_eagain, sigs, errno_changed, eintrs, anomalies;

static int in_handler;		/* handlers running now */

static void on_alarm(int sig)
{
	int saved = errno, before, fd;
	ssize_t n;

	(void)sig;
	__atomic_fetch_add(&in_handler, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&sigs, 1, __ATOMIC_RELAXED);
	fd = __atomic_load_n(&tickfd, __ATOMIC_SEQ_CST);
	if (fd >= 0) {
		errno = before = 12345;		/* a value no call sets */
		n = write(fd, "tick", 4);
		if (n > 0) {
			__atomic_fetch_add(&ticks_sent, n, __ATOMIC_RELAXED);
			if (errno != before)
				__atomic_fetch_add(&errno_changed, 1, __ATOMIC_RELAXED);
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			__atomic_fetch_add(&ticks_eagain, 1, __ATOMIC_RELAXED);
		} else {
			__atomic_fetch_add(&anomalies, 1, __ATOMIC_RELAXED);
		}
	}
	errno = saved;
	__atomic_fetch_sub(&in_handler, 1, __ATOMIC_SEQ_CST);
}

static void note_eintr(void)
{
	__atomic_fetch_add(&eintrs, 1, __ATOMIC_RELAXED);
}

/* read/write with EINTR retried and counted. */
static ssize_t rd(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, buf, n);

		if (r < 0 && errno == EINTR) {
			note_eintr();
			continue;
		}
		if (r > (ssize_t)n)
			__atomic_fetch_add(&anomalies, 1, __ATOMIC_RELAXED);
		return r;
	}
}

static int wr_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR) {
			note_eintr();
			continue;
		}
		if (w <= 0)
			return -1;
		if ((size_t)w > n) {
			__atomic_fetch_add(&anomalies, 1, __ATOMIC_RELAXED);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* connect, EINTR included: the connection then completes in the
 * background; wait for it with poll and read SO_ERROR. */
static int conn(int p)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	th_timeouts(fd);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)p);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (errno != EINTR) {
		close(fd);
		return -1;
	}
	note_eintr();
	for (;;) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		int r = poll(&pf, 1, 10000);

		if (r < 0 && errno == EINTR) {
			note_eintr();
			continue;
		}
		if (r != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
			close(fd);
			return -1;
		}
		return fd;
	}
}

/* One head (no pipelining here), EINTR retried. Length, 0 at EOF, -1. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0, hl;

	for (;;) {
		ssize_t r = rd(fd, buf + len, cap - 1 - len);

		if (r == 0 && len == 0)
			return 0;
		if (r <= 0)
			return -1;
		len += (size_t)r;
		if ((hl = th_head_end(buf, len)) != 0)
			break;
		if (len + 1 >= cap)
			return -1;
	}
	buf[len] = 0;
	return hl == len ? (ssize_t)len : -1;
}

/* The HTTP threads take the signal; main and the sink block it. */
static void take_alarm(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static void *serve_conn(void *arg)
{
	int fd = (int)(long)arg;
	char head[TH_HEAD_MAX], target[1024], resp[2048];

	take_alarm();
	for (;;) {
		ssize_t n = read_head(fd, head, sizeof(head));
		int keep;

		if (n <= 0 || th_target(head, target, sizeof(target)) != 0)
			break;
		keep = strcasestr(head, "\r\nConnection: close\r\n") == NULL;
		snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n%s\r\n%s\n",
			 strlen(target) + 1, keep ? "" : "Connection: close\r\n", target);
		if (wr_all(fd, resp, strlen(resp)) != 0 || !keep)
			break;
	}
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	int lfd = (int)(long)arg;

	take_alarm();
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t th;

		if (fd < 0) {
			if (errno == EINTR) {
				note_eintr();
				continue;
			}
			if (errno == ECONNABORTED)
				continue;
			break;
		}
		th_timeouts(fd);
		if (pthread_create(&th, NULL, serve_conn, (void *)(long)fd) == 0)
			pthread_detach(th);
		else
			close(fd);
	}
	return NULL;
}

static long sink_read;

static void *sink_main(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];

	for (;;) {
		ssize_t r = rd(fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != "tick"[(sink_read + i) % 4])
				__atomic_fetch_add(&anomalies, 1, __ATOMIC_RELAXED);
		sink_read += r;
	}
	return NULL;
}

struct client {
	int id, n, ok;
};

/* The answer on fd: status line, Content-Length, body; EINTR retried. */
static int response(int fd, const char *want)
{
	char buf[4096], *body;
	size_t len = 0, hl = 0;
	long cl = -1;

	for (;;) {
		ssize_t r;

		if (hl && len >= hl + (size_t)cl)
			break;
		r = rd(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			return -1;
		len += (size_t)r;
		if (!hl && (hl = th_head_end(buf, len)) != 0) {
			char *p = strcasestr(buf, "\r\nContent-Length:");

			if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || !p)
				return -1;
			cl = strtol(p + 17, NULL, 10);
		}
		if (len + 1 >= sizeof(buf))
			return -1;
	}
	buf[len] = 0;
	body = buf + hl;
	return len == hl + (size_t)cl && strlen(body) == strlen(want) + 1 &&
	       memcmp(body, want, strlen(want)) == 0 && body[cl - 1] == '\n' ? 0 : -1;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	int fd = -1;

	take_alarm();
	for (int k = 0; k < c->n; k++) {
		char target[64], req[256];
		int fresh = k % 10 == 9;

		snprintf(target, sizeof(target), "/sig/%d/%d", c->id, k);
		if (fd < 0 && (fd = conn(port)) < 0)
			continue;
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", target,
			 port, fresh ? "Connection: close\r\n" : "");
		if (wr_all(fd, req, strlen(req)) == 0 && response(fd, target) == 0)
			c->ok++;
		else
			fresh = 1;
		if (fresh) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	struct client cl[2];
	pthread_t th, sink, ct[2];
	int lfd, slfd, sport, n, ok = 0, sinkfd;

	if (argc != 2 || (n = atoi(argv[1])) < 2) {
		fprintf(stderr, "usage: sigprog REQUESTS\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: EINTR everywhere */
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		sigset_t s;

		sigemptyset(&s);
		sigaddset(&s, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &s, NULL);	/* inherited; see take_alarm */
	}

	lfd = th_listen(&port, 64);
	slfd = th_listen(&sport, 4);
	if (lfd < 0 || slfd < 0)
		return 1;
	pthread_create(&th, NULL, accept_main, (void *)(long)lfd);
	pthread_detach(th);
	/* The sink: its connection is made before the timer starts. */
	tickfd = th_connect(sport);
	sinkfd = accept(slfd, NULL, NULL);
	if (tickfd < 0 || sinkfd < 0)
		return 1;
	pthread_create(&sink, NULL, sink_main, (void *)(long)sinkfd);
	fcntl(tickfd, F_SETFL, fcntl(tickfd, F_GETFL) | O_NONBLOCK);

	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 2; i++) {
		cl[i].id = i;
		cl[i].n = n / 2 + (i < n % 2);
		cl[i].ok = 0;
		pthread_create(&ct[i], NULL, client_main, &cl[i]);
	}
	for (int i = 0; i < 2; i++) {
		while (pthread_join(ct[i], NULL) == EINTR)
			;
		ok += cl[i].ok;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	{
		/* No more ticks: a signal still pending on some thread writes
		 * nothing from now on; wait for the handlers that already took
		 * the fd, then close the write side and let the sink drain. */
		int fd = tickfd;

		__atomic_store_n(&tickfd, -1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < 100000 && __atomic_load_n(&in_handler, __ATOMIC_SEQ_CST); i++)
			sched_yield();
		shutdown(fd, SHUT_WR);
		pthread_join(sink, NULL);
		close(fd);
	}
	printf("requests %d ok %d\n", n, ok);
	printf("anomalies %ld\n", anomalies);
	printf("handler-errno-changed %ld\n", errno_changed);
	printf("ticks-match %s\n", ticks_sent == sink_read ? "yes" : "no");
	printf("done\n");
	fprintf(stderr, "signals %ld eintr %ld ticks %ld (%ld bytes) eagain %ld sink %ld\n", sigs,
		eintrs, ticks_sent / 4, ticks_sent, ticks_eagain, sink_read);
	fflush(stdout);
	return ok == n && !anomalies && !errno_changed && ticks_sent == sink_read ? 0 : 1;
}
