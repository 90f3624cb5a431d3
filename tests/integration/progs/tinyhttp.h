/*
 * tinyhttp.h - small blocking HTTP/1.1 helpers shared by the C programs of
 * test_faults.sh and test_hostile.sh (header only; each program is one
 * file compiled by its test with cc).
 *
 * Nothing here knows about the library: these are what an unmodified
 * program would do with plain sockets. Every wait is bounded (SO_RCVTIMEO /
 * SO_SNDTIMEO of TH_IO_TIMEOUT_S seconds on the sockets opened here).
 */
#ifndef TINYHTTP_H
#define TINYHTTP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TH_IO_TIMEOUT_S 10
#define TH_HEAD_MAX 8192

static inline long long th_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static inline void th_timeouts(int fd)
{
	struct timeval tv = { TH_IO_TIMEOUT_S, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A TCP connection to 127.0.0.1:port, or -1 (errno set). */
static inline int th_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	th_timeouts(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static inline int th_listen(int *port, int backlog)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* Write the port to path atomically (tmp + rename): a reader that sees
 * the file sees all of it, and only once the socket listens. */
static inline int th_write_port(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

/* All of buf, retrying EINTR and short counts. 0 or -1. A count larger
 * than asked is an error of its own (-2): the library must never count its
 * injected bytes. */
static inline int th_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		if ((size_t)w > n)
			return -2;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Position just past the blank line of a head in buf[0..len), or 0. */
static inline size_t th_head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/*
 * One HTTP/1.1 response from fd: the head (up to the blank line) and a
 * Content-Length body, into buf (NUL-terminated). Returns the status code
 * and sets *body to the body inside buf, *blen to its length; -1 on error
 * (EOF, timeout, malformed, or more bytes than the response: the clients
 * of these tests never have two requests in flight on one connection, so
 * reading in chunks never eats the start of a next answer).
 */
static inline int th_read_response(int fd, char *buf, size_t cap, char **body, size_t *blen)
{
	size_t len = 0, hl = 0;
	long cl = -1;
	int status;
	char *p;

	for (;;) {
		ssize_t r;

		if (hl && len >= hl + (size_t)cl)
			break;
		if (len + 1 >= cap)
			return -1;
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		len += (size_t)r;
		if (!hl && (hl = th_head_end(buf, len)) != 0) {
			char c = buf[hl];

			buf[hl] = 0;
			if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				return -1;
			for (p = buf; (p = strchr(p, '\n')) != NULL; p++)
				if (strncasecmp(p + 1, "content-length:", 15) == 0)
					cl = strtol(p + 16, NULL, 10);
			buf[hl] = c;
			if (cl < 0 || hl + (size_t)cl + 1 > cap)
				return -1;
		}
	}
	if (len != hl + (size_t)cl)
		return -1;
	buf[len] = 0;
	*body = buf + hl;
	*blen = (size_t)cl;
	return status;
}

/*
 * Read one request head from fd into buf (NUL-terminated, blank line
 * included). Returns its length, 0 on a clean EOF before any byte, -1 on
 * error. The requests of these tests have no body and are never
 * pipelined (one in flight per connection), so a chunked read takes
 * exactly one head.
 */
static inline ssize_t th_read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0, hl;

	for (;;) {
		ssize_t r;

		if (len + 1 >= cap)
			return -1;
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && len == 0)
			return 0;
		if (r <= 0)
			return -1;
		len += (size_t)r;
		if ((hl = th_head_end(buf, len)) != 0)
			break;
	}
	if (hl != len)
		return -1;	/* pipelined: not in these tests */
	buf[len] = 0;
	return (ssize_t)len;
}

/* The request target of a head ("GET /x HTTP/1.1" -> "/x"), into out. */
static inline int th_target(const char *head, char *out, size_t cap)
{
	const char *s = strchr(head, ' '), *e;

	if (!s)
		return -1;
	s++;
	e = strchr(s, ' ');
	if (!e || (size_t)(e - s) >= cap)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = 0;
	return 0;
}

/* GET path on a new connection (Connection: close); the body into out.
 * Returns the status, -1 on any failure. */
static inline int th_get(int port, const char *path, char *out, size_t cap)
{
	char req[1200], buf[16384], *body;
	size_t blen;
	int fd, st;

	if (strlen(path) > 1024)
		return -1;
	fd = th_connect(port);

	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
		 path, port);
	if (th_write_all(fd, req, strlen(req)) != 0) {
		close(fd);
		return -1;
	}
	st = th_read_response(fd, buf, sizeof(buf), &body, &blen);
	if (st > 0 && out && cap) {
		size_t n = blen < cap - 1 ? blen : cap - 1;

		memcpy(out, body, n);
		out[n] = 0;
	}
	close(fd);
	return st;
}

#endif
