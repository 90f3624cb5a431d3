/*
 * sink.c - a minimal OTLP/HTTP sink for benchmarks: accepts connections on
 * 127.0.0.1, reads each request (head + Content-Length body), discards it
 * and answers 200 with an empty body. Single-threaded epoll, so that the
 * collector stand-in costs as little CPU as possible on the machine that
 * also runs the server under test. Prints its port on stdout.
 *
 * usage: sink [PORT]   (0 or none: any free port)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 256

struct conn {
	int fd;
	char head[8192];
	size_t hlen;
	long long body_left;	/* -1: reading the head */
};

static struct conn *conns[65536];

static void reply(struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
				 "Content-Length: 0\r\n\r\n";

	if (write(c->fd, ok, sizeof(ok) - 1) < 0)
		return;
}

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	conns[c->fd] = NULL;
	free(c);
}

/* Consume buf[0..n) for c; returns -1 on a malformed request. */
static int feed(struct conn *c, const char *buf, size_t n)
{
	while (n) {
		if (c->body_left >= 0) {
			size_t k = (size_t)c->body_left < n ? (size_t)c->body_left : n;

			c->body_left -= (long long)k;
			buf += k;
			n -= k;
			if (!c->body_left) {
				reply(c);
				c->body_left = -1;
				c->hlen = 0;
			}
			continue;
		}
		while (n && c->body_left < 0) {
			char *end, *cl;

			if (c->hlen >= sizeof(c->head) - 1)
				return -1;
			c->head[c->hlen++] = *buf++;
			n--;
			c->head[c->hlen] = 0;
			if (c->hlen < 4 || memcmp(c->head + c->hlen - 4, "\r\n\r\n", 4))
				continue;
			end = c->head + c->hlen;
			(void)end;
			cl = strcasestr(c->head, "\r\ncontent-length:");
			c->body_left = cl ? atoll(cl + 17) : 0;
			if (!c->body_left) {
				reply(c);
				c->body_left = -1;
				c->hlen = 0;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event ev, evs[64];
	socklen_t al = sizeof(a);
	int ls, ep, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(argc > 1 ? (uint16_t)atoi(argv[1]) : 0);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 128))
		return 1;
	getsockname(ls, (struct sockaddr *)&a, &al);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == ls) {
				int cfd = accept(ls, NULL, NULL);
				struct conn *c;

				if (cfd < 0 || cfd >= 65536) {
					if (cfd >= 0)
						close(cfd);
					continue;
				}
				c = calloc(1, sizeof(*c));
				c->fd = cfd;
				c->body_left = -1;
				conns[cfd] = c;
				ev.events = EPOLLIN;
				ev.data.fd = cfd;
				epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
			} else {
				static char buf[1 << 16];
				struct conn *c = conns[fd];
				ssize_t r = read(fd, buf, sizeof(buf));

				if (!c)
					continue;
				if (r <= 0 || feed(c, buf, (size_t)r) < 0)
					drop(ep, c);
			}
		}
	}
}
