/*
 * http_blaster.c - an HTTP/1.x client that stresses the byte path of the
 * library's send-side hooks (the program under test in test_http.sh 2).
 *
 * DESIGN: several connections, one thread each, to a recording peer
 * (progs/recorder.py). Each connection sends batches of 1-4 requests
 * back to back (pipelined), every batch cut into random segments that are
 * handed to write(), send(), writev() (random iovec splits, zero-length
 * entries included), sendmsg() or sendto() without an address, with cuts
 * forced near the end of each head (around the blank line, where the
 * library inserts its header). send/sendmsg/sendto carry MSG_NOSIGNAL,
 * sometimes MSG_MORE, and on blocking sockets sometimes MSG_DONTWAIT.
 * Bodies: none, Content-Length, or chunked (random chunk sizes, extensions,
 * trailers), from bytes to megabytes, random bytes salted with things that
 * look like HTTP heads and traceparent lines. Some connections are
 * non-blocking with SO_SNDBUF 4096; there, and on every short count, the
 * blaster resends exactly the unsent remainder given the return value, and
 * waits for POLLOUT on EAGAIN. After each batch it reads the peer's
 * responses ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" each) with
 * read, recv, readv or recvmsg.
 *
 * Per connection (named by its local port) it writes to OUTDIR:
 *   exp-PORT.bin   every byte it meant to send, in order
 *   idx-PORT.txt   one line per request: "offset headlen total owntp"
 *                  (offset in exp-PORT.bin; headlen includes the blank
 *                  line; owntp 1 when the head carries its own traceparent)
 * and on stdout one summary line:
 *   conns=N requests=N bytes=N owntp=N partials=N eagains=N stops_at_blank=N
 *   anomalies=N errors=N
 * (partials: short counts whose remainder was resent; eagains: EAGAIN
 * answers waited out with poll; stops_at_blank: short counts that ended
 * exactly where a head's blank line starts, which is what the library
 * reports when the kernel took only part of the injected line)
 * Exit status 0 only when there was no anomaly (a write count larger than
 * asked, a zero count, -1 with an unexpected errno, EAGAIN on a blocking
 * socket without MSG_DONTWAIT) and no error (a failed call, a response
 * that is not exactly the expected bytes).
 *
 * usage: http_blaster HOST PORT OUTDIR [-m MB] [-c CONNS] [-n NONBLOCKING]
 *                     [-s SEED] [-t OWNTP_PERCENT] [-S SWEEP]
 * (-S N: the straddle sweep described above run_sweep(), instead of the
 * random traffic; the summary line then starts with capacity=C)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fcntl.h>

#define RESPONSE "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
#define MAX_IOV 8
#define POLL_MS 20000

static const char *g_host;
static int g_port;
static const char *g_outdir;
static int g_owntp_pct;

/* Totals over all connections, guarded by g_lock. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_requests, g_owntp, g_anomalies, g_errors, g_partials, g_eagains, g_stops;
static long long g_bytes;

struct conn {
	int id;			/* 0..CONNS-1 */
	int nonblock;		/* O_NONBLOCK + SO_SNDBUF 4096 */
	long long budget;	/* bytes to send, at least */
	uint64_t rng;		/* xorshift64* state */
	int fd;
	int lport;		/* local port: names the files */
	FILE *exp;
	FILE *idx;
	long long offset;	/* bytes written to exp so far */
	long requests, owntp, anomalies, errors;
	long partials;		/* short counts seen (remainder resent) */
	long eagains;		/* EAGAIN seen (waited for POLLOUT) */
	long stops_at_blank;	/* short counts that ended right before a head's blank line */
	const unsigned char *batch;	/* the batch being sent (for offsets) */
	ssize_t first_count;	/* what the first call of the last segment returned */
	long shift;		/* sweep connections: the kernel's stop point minus the
				 * offset of the second head's blank line */
};

struct buf {
	unsigned char *p;
	size_t len, cap;
};

struct head_mark {
	size_t start, headlen;	/* within the batch buffer */
};

static uint64_t rnd(struct conn *c)
{
	uint64_t x = c->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return x * 2685821657736338717ULL;
}

/* A uniform value in [lo, hi]. */
static size_t between(struct conn *c, size_t lo, size_t hi)
{
	return lo + (size_t)(rnd(c) % (uint64_t)(hi - lo + 1));
}

static int chance(struct conn *c, int percent)
{
	return (int)(rnd(c) % 100) < percent;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "http_blaster: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void complain(struct conn *c, int anomaly, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "http_blaster: conn %d (port %d): %s: ", c->id, c->lport,
		anomaly ? "ANOMALY" : "error");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (anomaly)
		c->anomalies++;
	else
		c->errors++;
}

static void reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	while (b->len + more > b->cap)
		b->cap = b->cap ? b->cap * 2 : 65536;
	b->p = realloc(b->p, b->cap);
	if (!b->p)
		die("out of memory");
}

static void put(struct buf *b, const void *p, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		die("putf overflow");
	put(b, tmp, (size_t)n);
}

/* Random header-value text (printable, no CR/LF). */
static void put_text(struct conn *c, struct buf *b, size_t n)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:;/=,";
	size_t i;

	reserve(b, n);
	for (i = 0; i < n; i++)
		b->p[b->len++] = (unsigned char)alphabet[rnd(c) % (sizeof(alphabet) - 1)];
}

static void put_hex(struct conn *c, struct buf *b, size_t n)
{
	size_t i;

	reserve(b, n);
	for (i = 0; i < n; i++)
		b->p[b->len++] = (unsigned char)"0123456789abcdef"[rnd(c) & 15];
}

/* Things a naive sniffer could mistake for a head or a header line. */
static const char *const traps[] = {
	"\r\n\r\n",
	"GET /trap HTTP/1.1\r\nHost: trap\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n",
	"POST /x HTTP/1.0\r\nContent-Length: 5\r\n\r\n",
	"0\r\n\r\n",
};

/* n body bytes: random, with a trap now and then. */
static void put_body(struct conn *c, struct buf *b, size_t n)
{
	size_t end, i;
	uint64_t x;

	reserve(b, n);
	end = b->len + n;
	while (b->len < end) {
		if (chance(c, 3)) {
			const char *t = traps[rnd(c) % (sizeof(traps) / sizeof(traps[0]))];
			size_t tl = strlen(t);

			if (tl > end - b->len)
				tl = end - b->len;
			memcpy(b->p + b->len, t, tl);
			b->len += tl;
			continue;
		}
		/* a run of random bytes */
		i = between(c, 1, 8192);
		if (i > end - b->len)
			i = end - b->len;
		while (i >= 8) {
			x = rnd(c);
			memcpy(b->p + b->len, &x, 8);
			b->len += 8;
			i -= 8;
		}
		while (i-- > 0)
			b->p[b->len++] = (unsigned char)rnd(c);
	}
}

static size_t body_size(struct conn *c)
{
	int r = (int)(rnd(c) % 100);

	if (r < 35)
		return between(c, 0, 64);
	if (r < 70)
		return between(c, 65, 4096);
	if (r < 94)
		return between(c, 4097, 262144);
	return between(c, 1 << 20, 6 << 20);
}

static const char *pick(struct conn *c, const char *const *v, size_t n)
{
	return v[rnd(c) % n];
}
#define PICK(c, arr) pick((c), (arr), sizeof(arr) / sizeof((arr)[0]))

/*
 * Appends one request to b; records its head in *m. Returns 1 when the head
 * carries the blaster's own traceparent.
 */
static int build_request(struct conn *c, struct buf *b, struct head_mark *m, long n)
{
	static const char *const body_methods[] = { "POST", "PUT", "PATCH" };
	static const char *const plain_methods[] = { "GET", "GET", "GET", "DELETE", "HEAD", "OPTIONS" };
	static const char *const cl_names[] = { "Content-Length", "content-length", "CONTENT-LENGTH" };
	static const char *const te_values[] = { "chunked", "Chunked", "gzip, chunked" };
	static const char *const tp_names[] = { "traceparent", "Traceparent", "TraceParent", "TRACEPARENT" };
	int framing;		/* 0 none, 1 content-length, 2 chunked */
	int own = 0, i, nx;
	size_t body = 0, head_start = b->len;

	framing = (int)(rnd(c) % 3);
	if (framing == 0)
		putf(b, "%s ", PICK(c, plain_methods));
	else
		putf(b, "%s ", PICK(c, body_methods));
	putf(b, "/blast/%d/%ld?q=", c->id, n);
	put_hex(c, b, between(c, 0, 40));
	putf(b, " HTTP/1.%d\r\n", chance(c, 10) ? 0 : 1);
	putf(b, "Host: %s:%d\r\n", g_host, g_port);
	if (g_owntp_pct > 0 && chance(c, g_owntp_pct)) {
		/* never the last line: the check tells it from an injected one */
		own = 1;
		putf(b, "%s: 00-", PICK(c, tp_names));
		put_hex(c, b, 32);
		put(b, "-", 1);
		put_hex(c, b, 16);
		put(b, "-01\r\n", 5);
	}
	putf(b, "User-Agent: http_blaster/1\r\n");
	nx = (int)between(c, 0, 6);
	for (i = 0; i < nx; i++) {
		putf(b, "X-Pad-%d: ", i);
		put_text(c, b, chance(c, 3) ? between(c, 2000, 8000) : between(c, 0, 200));
		put(b, "\r\n", 2);
	}
	if (framing == 1) {
		body = body_size(c);
		putf(b, "%s: %zu\r\n", PICK(c, cl_names), body);
	} else if (framing == 2) {
		putf(b, "Transfer-Encoding: %s\r\n", PICK(c, te_values));
	}
	if (chance(c, 50))
		putf(b, "Accept: */*\r\n");
	put(b, "\r\n", 2);
	m->start = head_start;
	m->headlen = b->len - head_start;

	if (framing == 1) {
		put_body(c, b, body);
	} else if (framing == 2) {
		size_t total = body_size(c), done = 0, k;

		while (done < total) {
			k = chance(c, 50) ? between(c, 1, 300) : between(c, 1, 1 << 20);
			if (k > total - done)
				k = total - done;
			putf(b, chance(c, 50) ? "%zx" : "%zX", k);
			if (chance(c, 10))
				putf(b, ";ext=%d", (int)between(c, 0, 99));
			put(b, "\r\n", 2);
			put_body(c, b, k);
			put(b, "\r\n", 2);
			done += k;
		}
		put(b, "0\r\n", 3);
		if (chance(c, 15))
			putf(b, "X-Trailer: %d\r\n", (int)between(c, 0, 999));
		put(b, "\r\n", 2);
	}
	return own;
}

/* Waits until fd is ready for ev; an error (counted) when it never is. */
static int wait_fd(struct conn *c, short ev)
{
	struct pollfd p = { .fd = c->fd, .events = ev };
	int r;

	for (;;) {
		r = poll(&p, 1, POLL_MS);
		if (r > 0)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		complain(c, 0, "poll(%s) %s", ev == POLLOUT ? "POLLOUT" : "POLLIN",
			 r == 0 ? "timed out" : strerror(errno));
		return -1;
	}
}

/*
 * Sends p[0..n) with one kind of call per attempt, resending exactly the
 * unsent remainder after every short count. Returns 0, or -1 after an
 * anomaly or error (already counted).
 */
static int send_segment(struct conn *c, const unsigned char *p, size_t n, int more,
			const size_t *blanks, int nblanks, int force_method)
{
	struct iovec iov[MAX_IOV];
	int niov = 0, method, flags, dontwait;
	size_t left = n, i, cut;
	ssize_t r;

	/* 0 write, 1 send, 2 writev, 3 sendmsg, 4 sendto (no address) */
	method = force_method >= 0 ? force_method : (int)(rnd(c) % 5);
	/* the segment's iovec split (used by writev/sendmsg; zero-length parts included) */
	if (method == 2 || method == 3) {
		size_t pos = 0;

		niov = (int)between(c, 1, MAX_IOV);
		for (i = 0; i < (size_t)niov; i++) {
			cut = (i == (size_t)niov - 1) ? n - pos : between(c, 0, n - pos);
			if (i != (size_t)niov - 1 && chance(c, 50))
				cut = cut > 64 ? between(c, 0, 64) : cut;
			iov[i].iov_base = (void *)(p + pos);
			iov[i].iov_len = cut;
			pos += cut;
		}
	}
	flags = MSG_NOSIGNAL | (more && chance(c, 20) ? MSG_MORE : 0);
	dontwait = !c->nonblock && chance(c, 10);
	c->first_count = -1;
	if (dontwait)
		flags |= MSG_DONTWAIT;

	while (left > 0) {
		size_t asked = left;

		errno = 0;
		switch (method) {
		case 0:
			r = write(c->fd, p + (n - left), left);
			break;
		case 1:
			r = send(c->fd, p + (n - left), left, flags);
			break;
		case 2:
			r = writev(c->fd, iov, niov);
			break;
		case 3: {
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)niov };

			r = sendmsg(c->fd, &mh, flags);
			break;
		}
		default:
			r = sendto(c->fd, p + (n - left), left, flags, NULL, 0);
			break;
		}
		if (r < 0) {
			int e = errno;

			if (r != -1) {
				complain(c, 1, "call %d returned %zd", method, r);
				return -1;
			}
			if (e == EINTR)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK) {
				if (!c->nonblock && !(dontwait && (method == 1 || method >= 3))) {
					complain(c, 1, "EAGAIN from call %d on a blocking socket", method);
					return -1;
				}
				c->eagains++;
				if (wait_fd(c, POLLOUT) < 0)
					return -1;
				continue;
			}
			complain(c, e == 0, "call %d failed: errno %d (%s)", method, e,
				 e ? strerror(e) : "errno not set");
			return -1;
		}
		if (c->first_count < 0)
			c->first_count = r;
		if ((size_t)r > asked) {
			complain(c, 1, "call %d returned %zd, more than the %zu asked", method, r, asked);
			return -1;
		}
		if (r == 0) {
			complain(c, 1, "call %d returned 0 for %zu bytes", method, asked);
			return -1;
		}
		left -= (size_t)r;
		if (left > 0) {
			c->partials++;
			/* stopped right before a blank line: where a short write of
			 * the injected line itself is reported (FIELD-NOTES 2) */
			for (int b = 0; b < nblanks; b++)
				if (blanks[b] == (size_t)(p - c->batch) + (n - left))
					c->stops_at_blank++;
		}
		if ((method == 2 || method == 3) && left > 0) {
			/* drop what was written from the front of the iovec */
			size_t w = (size_t)r;
			int k = 0, j;

			while (k < niov && w >= iov[k].iov_len) {
				w -= iov[k].iov_len;
				k++;
			}
			if (k < niov) {
				iov[k].iov_base = (char *)iov[k].iov_base + w;
				iov[k].iov_len -= w;
			}
			for (j = 0; k < niov; j++, k++)
				iov[j] = iov[k];
			niov = j;
		}
	}
	return 0;
}

/* Reads want responses and compares them with RESPONSE byte for byte. */
static int read_responses(struct conn *c, int want)
{
	static const char one[] = RESPONSE;
	size_t rl = sizeof(one) - 1, need = rl * (size_t)want, got = 0;
	char *in = malloc(need);
	ssize_t r;
	int rc = 0;

	if (!in)
		die("out of memory");
	while (got < need) {
		if (c->nonblock && wait_fd(c, POLLIN) < 0) {
			rc = -1;
			break;
		}
		switch (rnd(c) % 4) {
		case 0:
			r = read(c->fd, in + got, need - got);
			break;
		case 1:
			r = recv(c->fd, in + got, need - got, 0);
			break;
		case 2: {
			/* two iovecs, the first possibly short */
			size_t a = between(c, 0, need - got);
			struct iovec v[2] = { { in + got, a }, { in + got + a, need - got - a } };

			r = readv(c->fd, v, 2);
			break;
		}
		default: {
			struct iovec v = { in + got, need - got };
			struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1 };

			r = recvmsg(c->fd, &mh, 0);
			break;
		}
		}
		if (r < 0 && (errno == EINTR || (c->nonblock && errno == EAGAIN)))
			continue;
		if (r <= 0) {
			complain(c, 0, "reading responses: %s", r == 0 ? "EOF" : strerror(errno));
			rc = -1;
			break;
		}
		if ((size_t)r > need - got) {
			complain(c, 1, "read returned %zd, more than asked", r);
			rc = -1;
			break;
		}
		got += (size_t)r;
	}
	for (size_t i = 0; rc == 0 && i < (size_t)want; i++) {
		if (memcmp(in + i * rl, one, rl) != 0) {
			complain(c, 0, "response %zu is not the expected bytes: %.*s", i, (int)rl,
				 in + i * rl);
			rc = -1;
		}
	}
	free(in);
	return rc;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Sends one batch in random segments; cuts are forced near each head's end. */
static int send_batch(struct conn *c, const struct buf *b, const struct head_mark *m, int nm)
{
	size_t forced[64], nf = 0, pos = 0, next, seg, fi = 0, blanks[4];
	int i;

	c->batch = b->p;
	for (i = 0; i < nm; i++)
		blanks[i] = m[i].start + m[i].headlen - 2;

	for (i = 0; i < nm; i++) {
		size_t end = m[i].start + m[i].headlen;	/* first byte after the blank line */
		static const size_t back[] = { 1, 2, 3, 4, 5, 9 };

		for (size_t k = 0; k < sizeof(back) / sizeof(back[0]); k++)
			if (chance(c, 30) && end >= back[k] && nf < 64)
				forced[nf++] = end - back[k];
		if (chance(c, 30) && nf < 64)
			forced[nf++] = m[i].start + between(c, 1, m[i].headlen - 1);
	}
	qsort(forced, nf, sizeof(forced[0]), cmp_size);

	while (pos < b->len) {
		int r = (int)(rnd(c) % 100);

		if (r < 25)
			seg = between(c, 1, 16);
		else if (r < 50)
			seg = between(c, 1, 600);
		else if (r < 80)
			seg = between(c, 1, 65536);
		else
			seg = between(c, 65536, 3 << 20);
		next = pos + seg;
		while (fi < nf && forced[fi] <= pos)
			fi++;
		if (fi < nf && forced[fi] < next)
			next = forced[fi];
		if (next > b->len)
			next = b->len;
		if (send_segment(c, b->p + pos, next - pos, next < b->len, blanks, nm, -1) < 0)
			return -1;
		pos = next;
	}
	return 0;
}

static int open_conn(struct conn *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_port) };
	struct sockaddr_in l;
	socklen_t ll = sizeof(l);
	char path[4096];

	if (inet_pton(AF_INET, g_host, &a.sin_addr) != 1)
		die("bad host %s", g_host);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	if (c->nonblock) {
		int sz = 4096;

		if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0)
			die("SO_SNDBUF: %s", strerror(errno));
	}
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect: %s", strerror(errno));
	if (c->nonblock && fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0)
		die("O_NONBLOCK: %s", strerror(errno));
	if (getsockname(c->fd, (struct sockaddr *)&l, &ll) < 0)
		die("getsockname: %s", strerror(errno));
	c->lport = ntohs(l.sin_port);
	snprintf(path, sizeof(path), "%s/exp-%d.bin", g_outdir, c->lport);
	c->exp = fopen(path, "wb");
	snprintf(path, sizeof(path), "%s/idx-%d.txt", g_outdir, c->lport);
	c->idx = fopen(path, "w");
	if (!c->exp || !c->idx)
		die("cannot write in %s", g_outdir);
	return 0;
}

static void *run_conn(void *arg)
{
	struct conn *c = arg;
	struct buf b = { 0 };
	struct head_mark m[4];
	long long sent = 0;
	int i, k, own;

	open_conn(c);
	while (sent < c->budget) {
		b.len = 0;
		k = chance(c, 50) ? 1 : (int)between(c, 2, 4);
		for (i = 0; i < k; i++) {
			size_t before = b.len;

			own = build_request(c, &b, &m[i], c->requests);
			fprintf(c->idx, "%lld %zu %zu %d\n", c->offset + (long long)before,
				m[i].headlen, b.len - before, own);
			c->requests++;
			c->owntp += own;
		}
		if (fwrite(b.p, 1, b.len, c->exp) != b.len)
			die("write exp: %s", strerror(errno));
		c->offset += (long long)b.len;
		if (send_batch(c, &b, m, k) < 0 || read_responses(c, k) < 0)
			break;
		sent += (long long)b.len;
	}
	fclose(c->exp);
	fclose(c->idx);
	close(c->fd);
	free(b.p);
	pthread_mutex_lock(&g_lock);
	g_requests += c->requests;
	g_owntp += c->owntp;
	g_anomalies += c->anomalies;
	g_errors += c->errors;
	g_bytes += c->offset;
	g_partials += c->partials;
	g_eagains += c->eagains;
	g_stops += c->stops_at_blank;
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

/*
 * The straddle sweep (-S N). The interesting case of the injection contract
 * (FIELD-NOTES 2) is a kernel that accepts only part of the injected line:
 * the library must then report exactly the application bytes before the
 * blank line and send the rest of its line first on the next call. Random
 * traffic almost never stops there, so it is provoked on purpose: while
 * the peer does not read yet (recorder.py --hold-ms), one write() into a
 * fresh non-blocking connection with SO_SNDBUF 4096 is accepted up to a
 * fixed capacity C (measured by a calibration connection whose head
 * carries its own traceparent, so nothing is inserted). Each sweep
 * connection then writes, in one write():
 *     head1 (own traceparent, Content-Length F) body1 head2 body2
 * with F chosen so that head2's blank line sits at C - shift, for shifts
 * -4 .. N-5: the kernel stops before, inside and after the line the
 * library inserts into head2. A short count that ends right at the blank
 * line is counted in stops_at_blank.
 */
static long g_capacity = -1;

/* head1 + F body bytes + head2 + body2; marks both heads. */
static void sweep_batch(struct conn *c, struct buf *b, struct head_mark m[2], size_t fill,
			size_t body2)
{
	b->len = 0;
	m[0].start = 0;
	putf(b, "POST /sweep/%d/1 HTTP/1.1\r\nHost: %s:%d\r\ntraceparent: 00-", c->id, g_host, g_port);
	put_hex(c, b, 32);
	put(b, "-", 1);
	put_hex(c, b, 16);
	putf(b, "-01\r\nContent-Length: %zu\r\n\r\n", fill);
	m[0].headlen = b->len;
	put_body(c, b, fill);
	m[1].start = b->len;
	putf(b, "POST /sweep/%d/2 HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %zu\r\n\r\n",
	     c->id, g_host, g_port, body2);
	m[1].headlen = b->len - m[1].start;
	put_body(c, b, body2);
}

/* One sweep or calibration connection: a single write(), then the rest. */
static void *run_sweep_conn(void *arg)
{
	struct conn *c = arg;
	struct buf b = { 0 };
	struct head_mark m[2];
	size_t fill = 400000, blanks[2];
	int i;

	open_conn(c);
	if (g_capacity >= 0) {
		/* head2's blank line at C - shift: solve for F (head1 grows with F's digits) */
		for (i = 0; i < 3; i++) {
			long f;

			sweep_batch(c, &b, m, fill, 0);
			f = g_capacity - c->shift - (long)m[0].headlen - (long)m[1].headlen + 2;
			if (f < 0)
				die("capacity %ld too small for the sweep", g_capacity);
			fill = (size_t)f;
		}
	}
	sweep_batch(c, &b, m, fill, 65536);
	for (i = 0; i < 2; i++) {
		fprintf(c->idx, "%lld %zu %zu %d\n", (long long)m[i].start, m[i].headlen,
			(i == 0 ? m[1].start : b.len) - m[i].start, i == 0);
		blanks[i] = m[i].start + m[i].headlen - 2;
	}
	c->requests = 2;
	c->owntp = 1;
	if (fwrite(b.p, 1, b.len, c->exp) != b.len)
		die("write exp: %s", strerror(errno));
	c->offset = (long long)b.len;
	c->batch = b.p;
	if (send_segment(c, b.p, b.len, 0, blanks, 2, 0) == 0) {
		if (g_capacity < 0)
			g_capacity = c->first_count;
		read_responses(c, 2);
	}
	fclose(c->exp);
	fclose(c->idx);
	close(c->fd);
	free(b.p);
	pthread_mutex_lock(&g_lock);
	g_requests += c->requests;
	g_owntp += c->owntp;
	g_anomalies += c->anomalies;
	g_errors += c->errors;
	g_bytes += c->offset;
	g_partials += c->partials;
	g_eagains += c->eagains;
	g_stops += c->stops_at_blank;
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

static void run_sweep(int n, uint64_t seed)
{
	struct conn *cs = calloc((size_t)n + 1, sizeof(*cs));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	int i;

	if (!cs || !th)
		die("out of memory");
	for (i = 0; i <= n; i++) {
		cs[i].id = i;
		cs[i].nonblock = 1;
		cs[i].rng = (seed + 7) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(i + 1) * 0xD1B54A32D192ED03ULL;
		cs[i].shift = i - 5;	/* cs[0] is the calibration */
	}
	run_sweep_conn(&cs[0]);
	if (g_capacity <= 0)
		die("calibration failed (first write returned %ld)", g_capacity);
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, run_sweep_conn, &cs[i + 1]) != 0)
			die("pthread_create failed");
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(cs);
	free(th);
}

int main(int argc, char **argv)
{
	long long mb = 100;
	int conns = 8, nonblocking = 3, sweep = 0, opt, i;
	uint64_t seed = 1;
	struct conn *cs;
	pthread_t *th;

	while ((opt = getopt(argc, argv, "m:c:n:s:t:S:")) != -1) {
		switch (opt) {
		case 'm': mb = atoll(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'n': nonblocking = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': g_owntp_pct = atoi(optarg); break;
		case 'S': sweep = atoi(optarg); break;
		default: die("usage: http_blaster HOST PORT OUTDIR [-m MB] [-c CONNS] [-n NONBLOCKING] [-s SEED] [-t OWNTP%%] [-S SWEEP]");
		}
	}
	if (argc - optind != 3 || conns < 1 || conns > 64 || mb < 1)
		die("usage: http_blaster HOST PORT OUTDIR [-m MB] [-c CONNS] [-n NONBLOCKING] [-s SEED] [-t OWNTP%%] [-S SWEEP]");
	g_host = argv[optind];
	g_port = atoi(argv[optind + 1]);
	g_outdir = argv[optind + 2];

	if (sweep > 0) {
		run_sweep(sweep, seed);
		printf("capacity=%ld conns=%d requests=%ld bytes=%lld owntp=%ld partials=%ld eagains=%ld "
		       "stops_at_blank=%ld anomalies=%ld errors=%ld\n", g_capacity, sweep + 1, g_requests,
		       g_bytes, g_owntp, g_partials, g_eagains, g_stops, g_anomalies, g_errors);
		return g_anomalies || g_errors ? 1 : 0;
	}
	cs = calloc((size_t)conns, sizeof(*cs));
	th = calloc((size_t)conns, sizeof(*th));
	if (!cs || !th)
		die("out of memory");
	for (i = 0; i < conns; i++) {
		cs[i].id = i;
		cs[i].nonblock = i < nonblocking;
		cs[i].budget = mb * 1024 * 1024 / conns;
		cs[i].rng = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(i + 1) * 0xD1B54A32D192ED03ULL;
		if (!cs[i].rng)
			cs[i].rng = 1;
		if (pthread_create(&th[i], NULL, run_conn, &cs[i]) != 0)
			die("pthread_create failed");
	}
	for (i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	printf("conns=%d requests=%ld bytes=%lld owntp=%ld partials=%ld eagains=%ld stops_at_blank=%ld "
	       "anomalies=%ld errors=%ld\n", conns, g_requests, g_bytes, g_owntp, g_partials, g_eagains,
	       g_stops, g_anomalies, g_errors);
	free(cs);
	free(th);
	return g_anomalies || g_errors ? 1 : 0;
}
