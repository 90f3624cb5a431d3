/*
 * nb_connect.c - non-blocking connects, each learning its outcome its own
 * way (the program under test of test_foundation.sh 5, preloaded).
 *
 *   nb_connect DELAY_MS
 *
 * Each scenario uses a port of its own, so its span is found by
 * network.peer.port. "open" ports are listening sockets of this process
 * (the kernel completes the handshake without accept); the "closed" port
 * was bound and released, so nothing listens there. After the connect
 * returns EINPROGRESS the program waits DELAY_MS before looking, so a span
 * that covers the set-up up to that look lasts at least DELAY_MS.
 * Prints one line per scenario: "NAME PORT RESULT".
 *
 *   sockopt_ok      poll for writable, getsockopt(SO_ERROR) = 0
 *   sockopt_refused poll, getsockopt(SO_ERROR) = ECONNREFUSED
 *   again_ok        poll, connect() again: EISCONN
 *   again_refused   poll, connect() again: ECONNREFUSED
 *   write_first     poll, then write: the bytes go out
 *   closed_early    close right after EINPROGRESS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int delay_ms;

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A port: listening (open) or bound then released (closed). */
static int port_of(int open, int *keep)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0 || (open && listen(s, 8) != 0)) {
		perror("port");
		exit(2);
	}
	if (open) {
		*keep = s;
	} else {
		close(s);
		*keep = -1;
	}
	return ntohs(a.sin_port);
}

/* A non-blocking connect to port; returns the socket (EINPROGRESS seen). */
static int start(int port, const char *name)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int rc = connect(s, (struct sockaddr *)&a, sizeof(a));

	if (rc == 0 || errno != EINPROGRESS)
		printf("%s %d connect_returned_%s\n", name, port, rc == 0 ? "0" : strerror(errno));
	pause_ms(delay_ms);
	return s;
}

static void wait_writable(int s)
{
	struct pollfd p = { .fd = s, .events = POLLOUT };

	poll(&p, 1, 5000);
}

static void sockopt(int open, const char *name)
{
	int keep, port = port_of(open, &keep), s = start(port, name), e = -1;
	socklen_t el = sizeof(e);

	wait_writable(s);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el);
	printf("%s %d so_error=%s\n", name, port, e ? strerror(e) : "0");
	close(s);
	if (keep >= 0)
		close(keep);
}

static void again(int open, const char *name)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int keep, port = port_of(open, &keep), s = start(port, name), rc;

	wait_writable(s);
	a.sin_port = htons((uint16_t)port);
	rc = connect(s, (struct sockaddr *)&a, sizeof(a));
	printf("%s %d again=%s\n", name, port, rc == 0 ? "0" : strerror(errno));
	close(s);
	if (keep >= 0)
		close(keep);
}

int main(int argc, char **argv)
{
	int keep, port, s;
	ssize_t n;

	delay_ms = argc > 1 ? atoi(argv[1]) : 50;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sockopt(1, "sockopt_ok");
	sockopt(0, "sockopt_refused");
	again(1, "again_ok");
	again(0, "again_refused");

	port = port_of(1, &keep);
	s = start(port, "write_first");
	wait_writable(s);
	n = write(s, "ping", 4);
	printf("write_first %d wrote=%zd\n", port, n);
	close(s);
	close(keep);

	port = port_of(1, &keep);
	s = start(port, "closed_early");
	close(s);
	printf("closed_early %d closed\n", port);
	close(keep);
	return 0;
}
