/*
 * bench_http_parse.c - throughput of hooks/http_parse.c on one core, for
 * the work it does inside every read and write of a traced HTTP program:
 *
 *   http_parse_head_bytes 300               the size of that head
 *   http_parse_head_300b_mb_per_sec <n>     a typical 300-byte request head
 *   http_parse_head_300b_ns <n>             ... per head (all its events)
 *   http_parse_response_head_mb_per_sec <n> a 200-byte response head + 2-byte body
 *   http_parse_body_cl_16k_mb_per_sec <n>   1 MB Content-Length body, 16 KB feeds
 *   http_parse_body_chunked_16k_mb_per_sec <n>  1 MB chunked body (16 KB chunks), 16 KB feeds
 *   http_parse_nginx_pair_ns <n>            nginx's request head read + response
 *                                           head written (one request, keep-alive)
 *
 * Each figure repeats its work for about `seconds` (default 1) and counts
 * only the parser's calls, with the caller loop http_parse.h recommends.
 *
 * Instructions, deterministic: `bench_http_parse --pairs N` only feeds that
 * nginx pair N times (a fresh message each, as on a keep-alive connection)
 * and prints nothing. The difference of callgrind's totals at two N, over
 * the difference of N, is the instructions per pair (the caller loop
 * included, about 16 per call, 10 calls per pair):
 *
 *   for n in 1000 11000; do valgrind --tool=callgrind \
 *     --callgrind-out-file=/dev/null ./bench_http_parse --pairs $n 2>&1 | grep Collected; done
 *
 * Build: gcc -std=gnu11 -D_GNU_SOURCE -O2 tests/bench/bench_http_parse.c -o bench_http_parse
 * Usage: bench_http_parse [seconds per figure] | bench_http_parse --pairs N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../hooks/http_parse.c"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Feeds buf[0..len) with the recommended loop; returns the events seen. */
static __attribute__((noinline)) unsigned int feed(struct hk_http *p, const uint8_t *buf, size_t len)
{
	enum hk_http_event ev;
	unsigned int events = 0;

	do {
		size_t n = hk_http_feed(p, buf, len, &ev);

		events += ev != HK_EV_NONE;
		buf += n;
		len -= n;
	} while (ev != HK_EV_NONE);
	return events;
}

static const char req_head[] =
	"GET /api/v1/orders/12345?include=items&fields=id,total HTTP/1.1\r\n"
	"Host: shop.example.com\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0\r\n"
	"Accept: application/json\r\n"
	"Accept-Encoding: gzip, deflate, br\r\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Cookie: session=6f1c2a9b8e7d\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char rsp_head[] =
	"HTTP/1.1 200 OK\r\n"
	"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
	"Content-Type: application/json; charset=utf-8\r\n"
	"Cache-Control: no-store\r\n"
	"Server: nginx/1.24.0\r\n"
	"Connection: keep-alive\r\n"
	"Content-Length: 2\r\n"
	"\r\n"
	"{}";

/* What nginx reads and writes for one request of wrk's (an empty 204). */
static const char nginx_req[] = "GET /empty HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n";

static const char nginx_rsp[] =
	"HTTP/1.1 204 No Content\r\n"
	"Server: nginx/1.22.1\r\n"
	"Date: Sat, 21 Nov 2026 06:50:00 GMT\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

/* n nginx pairs; returns the events seen (8 per pair). */
static uint64_t nginx_pairs(struct hk_http *in, struct hk_http *out, uint64_t n)
{
	uint64_t events = 0, i;

	for (i = 0; i < n; i++) {
		events += feed(in, (const uint8_t *)nginx_req, sizeof(nginx_req) - 1);
		events += feed(out, (const uint8_t *)nginx_rsp, sizeof(nginx_rsp) - 1);
	}
	return events;
}

/* ns per nginx pair, repeated for about secs. */
static double run_nginx(double secs)
{
	static struct hk_http in, out;
	uint64_t pairs = 0, events = 0;
	double t0, t;

	hk_http_init(&in, HK_HTTP_REQUEST);
	hk_http_init(&out, HK_HTTP_RESPONSE);
	t0 = now();
	do {
		events += nginx_pairs(&in, &out, 1024);
		pairs += 1024;
		t = now() - t0;
	} while (t < secs);
	if (events != pairs * 8 || !hk_http_idle(&in) || !hk_http_idle(&out)) {
		fprintf(stderr, "bench_http_parse: nginx pair not parsed as expected\n");
		exit(1);
	}
	return t * 1e9 / (double)pairs;
}

/* MB/s of feeding msg (len bytes) over and over to one parser, the message
 * pieces cut at feed bytes. */
static double run(enum hk_http_kind kind, const uint8_t *msg, size_t len, size_t feed_size,
		  double secs, double *ns_per_msg)
{
	static struct hk_http p;
	double t0, t;
	uint64_t msgs = 0;
	unsigned int events = 0;

	hk_http_init(&p, kind);
	t0 = now();
	do {
		int i;

		for (i = 0; i < 64; i++) {
			size_t off;

			for (off = 0; off < len; off += feed_size)
				events += feed(&p, msg + off, len - off < feed_size ? len - off : feed_size);
			msgs++;
		}
		t = now() - t0;
	} while (t < secs);
	if (!hk_http_idle(&p) || events != msgs * 4) {
		fprintf(stderr, "bench_http_parse: parser not idle after %llu messages (%u events)\n",
			(unsigned long long)msgs, events);
		exit(1);
	}
	if (ns_per_msg)
		*ns_per_msg = t * 1e9 / (double)msgs;
	return (double)msgs * (double)len / t / 1e6;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, ns;
	size_t body = 1 << 20, n;
	uint8_t *m;
	int i;

	if (argc > 2 && !strcmp(argv[1], "--pairs")) {
		static struct hk_http in, out;
		uint64_t pairs = strtoull(argv[2], NULL, 10);

		hk_http_init(&in, HK_HTTP_REQUEST);
		hk_http_init(&out, HK_HTTP_RESPONSE);
		return nginx_pairs(&in, &out, pairs) == pairs * 8 && hk_http_idle(&in) && hk_http_idle(&out)
			       ? 0
			       : 1;
	}
	if (secs <= 0)
		secs = 1.0;
	printf("http_parse_head_bytes %zu\n", sizeof(req_head) - 1);
	printf("http_parse_head_300b_mb_per_sec %.0f\n",
	       run(HK_HTTP_REQUEST, (const uint8_t *)req_head, sizeof(req_head) - 1, 1 << 20, secs, &ns));
	printf("http_parse_head_300b_ns %.0f\n", ns);
	printf("http_parse_response_head_mb_per_sec %.0f\n",
	       run(HK_HTTP_RESPONSE, (const uint8_t *)rsp_head, sizeof(rsp_head) - 1, 1 << 20, secs, NULL));

	m = malloc(body + 64 * 16 + 256);
	if (!m)
		return 1;
	n = (size_t)sprintf((char *)m, "POST /upload HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", body);
	memset(m + n, 'b', body);
	n += body;
	printf("http_parse_body_cl_16k_mb_per_sec %.0f\n", run(HK_HTTP_REQUEST, m, n, 16384, secs, NULL));

	n = (size_t)sprintf((char *)m, "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 64; i++) {
		n += (size_t)sprintf((char *)m + n, "4000\r\n");
		memset(m + n, 'c', 16384);
		n += 16384;
		n += (size_t)sprintf((char *)m + n, "\r\n");
	}
	n += (size_t)sprintf((char *)m + n, "0\r\n\r\n");
	printf("http_parse_body_chunked_16k_mb_per_sec %.0f\n", run(HK_HTTP_REQUEST, m, n, 16384, secs, NULL));
	free(m);
	printf("http_parse_nginx_pair_ns %.1f\n", run_nginx(secs));
	return 0;
}
