/*
 * passthrough.c - the cost of the library on a socket it must leave alone.
 *
 *   passthrough N [mt]
 *
 * Opens a TCP loopback connection to itself (listen on 127.0.0.1:0,
 * connect, accept) and runs N iterations of a 64-byte binary ping-pong,
 * first with send()/recv(), then with write()/read():
 *
 *	send(client) recv(server) send(server) recv(client)	4 calls
 *	write(client) read(server) write(server) read(client)	4 calls
 *
 * so 8 interposable calls per iteration. The first bytes on both ends are
 * binary (0x00 0x01 ...), not an HTTP head: the library classifies the
 * connection as "not HTTP" at the first byte and must pass through from
 * then on.
 *
 * "mt" first starts and joins one thread. glibc then treats the process as
 * multi-threaded for good, and every socket call pays for its cancellation
 * point (__pthread_enable/disable_asynccancel, about 30 instructions). A
 * preloaded process is in that state anyway once the library's exporter
 * thread runs (here: from the connect span), so the native "mt" run is the
 * baseline that isolates what the hooks themselves add.
 *
 * tests/bench/bench_http.sh runs this under
 * `valgrind --tool=callgrind` at two values of N, with and without
 * LD_PRELOAD, and divides the difference of differences by the number of
 * calls: instructions added per call, start-up costs cancelled.
 *
 * Exit status 0; 1 (with a message) when a socket call fails or a byte
 * comes back wrong.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG_LEN 64

static int die(const char *what)
{
	fprintf(stderr, "passthrough: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Full-length transfers: 64 bytes on loopback arrive in one piece, but a
 * short count is handled rather than assumed away. */
static void send_all(int fd, const unsigned char *b, int use_write)
{
	size_t off = 0;

	while (off < MSG_LEN) {
		ssize_t n = use_write ? write(fd, b + off, MSG_LEN - off)
				      : send(fd, b + off, MSG_LEN - off, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(use_write ? "write" : "send");
		off += (size_t)n;
	}
}

static void recv_all(int fd, unsigned char *b, int use_read)
{
	size_t off = 0;

	while (off < MSG_LEN) {
		ssize_t n = use_read ? read(fd, b + off, MSG_LEN - off)
				     : recv(fd, b + off, MSG_LEN - off, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(use_read ? "read" : "recv");
		off += (size_t)n;
	}
}

static void *noop(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	unsigned char out[MSG_LEN], in[MSG_LEN];
	long n, i;
	int ls, c, s, one = 1, pass;

	if (argc < 2 || argc > 3 || (n = strtol(argv[1], NULL, 10)) <= 0 ||
	    (argc == 3 && strcmp(argv[2], "mt") != 0)) {
		fprintf(stderr, "usage: passthrough N [mt]\n");
		return 2;
	}
	if (argc == 3) {
		pthread_t t;

		if (pthread_create(&t, NULL, noop, NULL) != 0 || pthread_join(t, NULL) != 0) {
			fprintf(stderr, "passthrough: cannot start a thread\n");
			return 1;
		}
	}
	for (i = 0; i < MSG_LEN; i++)
		out[i] = (unsigned char)i;	/* 0x00 first: never an HTTP method */

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0)
		die("bind/listen");
	if (getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
		die("getsockname");
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		die("socket");
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	s = accept(ls, NULL, NULL);
	if (s < 0)
		die("accept");
	/* ping-pong of small writes: no Nagle delay */
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	for (pass = 0; pass < 2; pass++) {	/* 0: send/recv, 1: write/read */
		for (i = 0; i < n; i++) {
			send_all(c, out, pass);
			recv_all(s, in, pass);
			send_all(s, in, pass);
			recv_all(c, in, pass);
		}
		if (memcmp(in, out, MSG_LEN) != 0) {
			fprintf(stderr, "passthrough: bytes changed in transit\n");
			return 1;
		}
	}
	close(c);
	close(s);
	close(ls);
	return 0;
}
