/*
 * test_http_parse.c - Criterion suite for hooks/http_parse.c, the HTTP/1.x
 * head sniffer and body framer.
 *
 * The table runs every row three ways: the whole input in one feed, cut in
 * two at every position, and one byte per feed. All must give the same
 * events at the same absolute offsets and a byte-identical struct. Each
 * piece is copied against a PROT_NONE page, so a read past the len the
 * parser was given faults.
 *
 * Expected events read "S1 B#2 H#4 M$": S HEAD_START, B BLANK_LINE, H
 * HEAD_DONE, M MSG_DONE, X NOT_HTTP, each with the absolute offset after
 * the call (bytes consumed so far). An offset is a number, "$" (the input
 * length), "$-k", or "#k": k past the first "\r\n\r\n" in the input.
 *
 * hooks/ is not in build/libcore.a, so the parser is included here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../../hooks/http_parse.c"

/* ------------------------------------------------------------------ helpers */

#include "guard_page.h"

static char ev_letter(enum hk_http_event ev)
{
	switch (ev) {
	case HK_EV_HEAD_START:
		return 'S';
	case HK_EV_BLANK_LINE:
		return 'B';
	case HK_EV_HEAD_DONE:
		return 'H';
	case HK_EV_MSG_DONE:
		return 'M';
	case HK_EV_NOT_HTTP:
		return 'X';
	default:
		return '?';
	}
}

/* Appends to a fixed string; a test never needs more than this. */
struct evlog {
	char s[4096];
	size_t n;
	enum hk_http_event last;	/* last event of the previous call */
	bool last_zero;			/* that call consumed 0 bytes */
	size_t off;			/* absolute offset */
	size_t calls;
};

/*
 * Feeds buf[0..len) (already placed against the guard) with the loop the
 * header recommends, logging events and asserting the per-call contract:
 * consumed <= len, HK_EV_NONE only when everything was consumed, 0 bytes
 * only for BLANK_LINE or the MSG_DONE right after HEAD_DONE, never two
 * 0-byte events in a row.
 */
static void feed_logged(struct hk_http *p, const uint8_t *buf, size_t len, struct evlog *lg)
{
	enum hk_http_event ev;

	do {
		size_t n = hk_http_feed(p, buf, len, &ev);

		lg->calls++;
		cr_assert(n <= len, "consumed %zu of %zu", n, len);
		if (ev == HK_EV_NONE) {
			cr_assert(n == len, "HK_EV_NONE but %zu of %zu consumed", n, len);
			break;
		}
		if (n == 0) {
			cr_assert(ev == HK_EV_BLANK_LINE ||
				  (ev == HK_EV_MSG_DONE && lg->last == HK_EV_HEAD_DONE),
				  "0 bytes consumed with event %c after %c", ev_letter(ev),
				  ev_letter(lg->last));
			cr_assert(!lg->last_zero, "two 0-byte events in a row");
		}
		lg->last_zero = n == 0;
		lg->last = ev;
		lg->off += n;
		lg->n += (size_t)snprintf(lg->s + lg->n, sizeof(lg->s) - lg->n, "%s%c%zu",
					  lg->n ? " " : "", ev_letter(ev), lg->off);
		cr_assert(lg->n < sizeof(lg->s));
		buf += n;
		len -= n;
	} while (1);
	lg->off += len;
}

/* Feeds in[0..n) cut at cuts[0..ncuts) (ascending), each piece on its own
 * against the guard. */
static void feed_cut(struct hk_http *p, struct guard *g, const uint8_t *in, size_t n,
		     const size_t *cuts, size_t ncuts, struct evlog *lg)
{
	size_t start = 0, k;

	for (k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n;

		feed_logged(p, place(g, in + start, end - start), end - start, lg);
		start = end;
	}
}

/* Whole input in one feed. */
static void feed_whole(struct hk_http *p, struct guard *g, const void *in, size_t n,
		       struct evlog *lg)
{
	feed_cut(p, g, in, n, NULL, 0, lg);
}

/* One byte per feed. */
static void feed_bytes(struct hk_http *p, struct guard *g, const void *in, size_t n,
		       struct evlog *lg)
{
	size_t i;

	for (i = 0; i < n; i++)
		feed_logged(p, place(g, (const uint8_t *)in + i, 1), 1, lg);
}

/* Expands the "#k" and "$-k" offsets of an expected event string. */
static void expand(const char *spec, const char *in, size_t n, char *out, size_t cap)
{
	const char *crlf2 = memmem(in, n, "\r\n\r\n", 4);
	size_t o = 0;

	while (*spec) {
		char letter;
		long v;

		while (*spec == ' ')
			spec++;
		if (!*spec)
			break;
		letter = *spec++;
		if (*spec == '$') {
			spec++;
			v = (long)n;
			if (*spec == '-')
				v -= strtol(spec + 1, (char **)&spec, 10);
		} else if (*spec == '#') {
			cr_assert(crlf2 != NULL, "'#' offset without a CRLFCRLF in the input");
			v = (long)(crlf2 - in) + strtol(spec + 1, (char **)&spec, 10);
		} else {
			v = strtol(spec, (char **)&spec, 10);
		}
		o += (size_t)snprintf(out + o, cap - o, "%s%c%ld", o ? " " : "", letter, v);
		cr_assert(o < cap);
	}
	out[o] = 0;
}

/* ------------------------------------------------------------------ the table */

struct row {
	const char *rule;		/* what it exercises */
	enum hk_http_kind kind;
	const char *in;
	size_t n;			/* 0: strlen(in) */
	bool req_head, req_connect;	/* RESPONSE: what the request was */
	const char *ev;			/* expected events */
	char end;			/* 'I' idle, 'N' NOT_HTTP, 'M' inside a message */
	/*
	 * The last message's results, checked unless the events end in X.
	 * Unset means empty / 0 / false; ver NULL means "1.1"; flags lists
	 * exactly the booleans that are true: cl chunked close upgrade
	 * until_close b3.
	 */
	const char *method, *target, *ver;
	int status;
	const char *flags;
	uint64_t cl;
	const char *host, *ua, *tp, *ts, *bag, *b3, *xtid, *xsid, *xsam, *xflg;
	int tpn, tsn;
};

#define RQ HK_HTTP_REQUEST
#define RS HK_HTTP_RESPONSE
#define TP_OK "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static const struct row rows[] = {
	/* --- request start lines (RFC 9112 3) --- */
	{ "minimal GET", RQ, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", .ev = "S1 B#2 H#4 M#4", .end = 'I',
	  .method = "GET", .target = "/", .host = "a" },
	{ "no header lines", RQ, "GET /x?y=1 HTTP/1.1\r\n\r\n", .ev = "S1 B$-2 H$ M$", .end = 'I',
	  .method = "GET", .target = "/x?y=1" },
	{ "leading CRLFs are skipped (9112 2.2), not part of the head", RQ,
	  "\r\n\r\nGET / HTTP/1.1\r\n\r\n", .ev = "S5 B$-2 H$ M$", .end = 'I', .method = "GET",
	  .target = "/" },
	{ "bare LF line ends everywhere (9112 2.2)", RQ, "\n\nGET / HTTP/1.1\nHost: a\n\n",
	  .ev = "S3 B$-1 H$ M$", .end = 'I', .method = "GET", .target = "/", .host = "a" },
	{ "CRLF lines, LF-only blank line", RQ, "GET / HTTP/1.1\r\nHost: a\r\n\n",
	  .ev = "S1 B$-1 H$ M$", .end = 'I', .method = "GET", .target = "/", .host = "a" },
	{ "HTTP/1.0 closes by default", RQ, "GET / HTTP/1.0\r\n\r\n", .ev = "S1 B#2 H#4 M#4", .end = 'I',
	  .method = "GET", .target = "/", .ver = "1.0", .flags = "close" },
	{ "HTTP/1.0 with keep-alive (case-insensitive)", RQ,
	  "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .ev = "S1 B#2 H#4 M#4", .end = 'I',
	  .method = "GET", .target = "/", .ver = "1.0" },
	{ "HTTP/1.2 is 1.x", RQ, "GET / HTTP/1.2\r\n\r\n", .ev = "S1 B#2 H#4 M#4", .end = 'I',
	  .method = "GET", .target = "/", .ver = "1.2" },
	{ "Connection token list: close among others; Upgrade present", RQ,
	  "GET /ws HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\nUpgrade: h2c\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "GET", .target = "/ws",
	  .flags = "close upgrade" },
	{ "Connection: closed is not close", RQ, "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "GET", .target = "/" },
	{ "Connection token with parameters and quoted comma", RQ,
	  "GET / HTTP/1.1\r\nConnection: foo;a=\"x,close\", bar\r\n\r\n", .ev = "S1 B#2 H#4 M#4",
	  .end = 'I', .method = "GET", .target = "/" },
	{ "any token method, as sent", RQ, "M-SEARCH * HTTP/1.1\r\n\r\n", .ev = "S1 B#2 H#4 M#4",
	  .end = 'I', .method = "M-SEARCH", .target = "*" },
	{ "method of 24 chars", RQ, "ABCDEFGHIJKLMNOPQRSTUVWX / HTTP/1.1\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "ABCDEFGHIJKLMNOPQRSTUVWX", .target = "/" },
	{ "obs-text in the target and in a value", RQ,
	  "GET /caf\xc3\xa9 HTTP/1.1\r\nUser-Agent: \xc3\xa9t\xc3\xa9\r\n\r\n", .ev = "S1 B#2 H#4 M#4",
	  .end = 'I', .method = "GET", .target = "/caf\xc3\xa9", .ua = "\xc3\xa9t\xc3\xa9" },
	{ "CONNECT request is bodiless; tunnel bytes then make it NOT_HTTP", RQ,
	  "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01",
	  .ev = "S1 B#2 H#4 M#4 X#5", .end = 'N' },
	{ "an unfinished head", RQ, "GET /a HTTP/1.1\r\nHost: b\r\nUser-Ag", .ev = "S1", .end = 'M',
	  .method = "GET", .target = "/a", .host = "b" },

	/* --- request bodies (RFC 9112 6.3) --- */
	{ "Content-Length body", RQ, "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/x", .flags = "cl", .cl = 5 },
	{ "Content-Length: 0 ends with the head", RQ, "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "POST", .target = "/x", .flags = "cl" },
	{ "Content-Length body not complete yet", RQ, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello",
	  .ev = "S1 B#2 H#4", .end = 'M', .method = "POST", .target = "/", .flags = "cl", .cl = 10 },
	{ "Content-Length list of equal values, and repeated equal fields", RQ,
	  "POST / HTTP/1.1\r\nContent-Length: 3 ,3\r\ncontent-length:3\r\n\r\nabc", .ev = "S1 B#2 H#4 M$",
	  .end = 'I', .method = "POST", .target = "/", .flags = "cl", .cl = 3 },
	{ "Content-Length 2^64-1", RQ, "PUT / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\nab",
	  .ev = "S1 B#2 H#4", .end = 'M', .method = "PUT", .target = "/", .flags = "cl",
	  .cl = UINT64_MAX },
	{ "no body without framing headers; the next head starts", RQ, "DELETE /r HTTP/1.1\r\n\r\nGET",
	  .ev = "S1 B#2 H#4 M#4 S#5", .end = 'M', .method = "GET", .ver = "1.0" /* not read yet */ },
	{ "chunked body", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "chunked: extensions (quoted), upper-case hex, trailers", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "5;name=val\r\nhello\r\nA ; x=\"y;z\"\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	  "0;last\r\nExpires: never\r\nX-T: 1\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "chunked with bare LFs", RQ, "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n",
	  .ev = "S1 B$-12 H$-11 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "chunk-size of 16 hex digits", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000002\r\nab\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "trailer fields are not captured", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: evil\r\ntraceparent: x\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "Transfer-Encoding and Content-Length: chunked wins (9112 6.3)", RQ,
	  "POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked cl",
	  .cl = 100 },
	{ "Transfer-Encoding: gzip, Chunked (last coding, case-insensitive)", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n0\r\n\r\n", .ev = "S1 B#2 H#4 M$",
	  .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "Transfer-Encoding over two fields", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "Transfer-Encoding parameter hiding a comma", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: foo;p=\"a,\\\"b\", chunked\r\n\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .method = "POST", .target = "/", .flags = "chunked" },
	{ "pipelined requests in one buffer", RQ,
	  "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	  "GET /c HTTP/1.1\r\nHost: c\r\n\r\n",
	  .ev = "S1 B17 H19 M19 S20 B56 H58 M61 S62 B87 H89 M89", .end = 'I', .method = "GET",
	  .target = "/c", .host = "c" },
	{ "pipelined: empty line between requests, chunked then GET", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#15 S#18 B$-2 H$ M$", .end = 'I', .method = "GET", .target = "/" },

	/* --- captured fields --- */
	{ "captured fields, names case-insensitive, lists joined", RQ,
	  "GET / HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.5.0\r\n"
	  "TraceParent: " TP_OK "\r\ntracestate: a=1, b=2\r\nTRACESTATE: c=3\r\n"
	  "baggage: k=v\r\nBaggage: k2=v2;p\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "GET", .target = "/",
	  .host = "example.com:8080", .ua = "curl/8.5.0", .tp = TP_OK, .tpn = 1, .ts = "a=1, b=2,c=3",
	  .tsn = 2, .bag = "k=v,k2=v2;p" },
	{ "b3 single and multi", RQ,
	  "GET / HTTP/1.1\r\nb3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1\r\n"
	  "X-B3-TraceId: 463ac35c9f6413ad\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nx-b3-sampled: 1\r\n"
	  "X-B3-Flags: 1\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "GET", .target = "/", .flags = "b3",
	  .b3 = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", .xtid = "463ac35c9f6413ad",
	  .xsid = "a2fb4a1d1a96d312", .xsam = "1", .xflg = "1" },
	{ "one x-b3 header is enough for has_b3_headers", RQ,
	  "GET / HTTP/1.1\r\nx-b3-sampled: 0\r\n\r\n", .ev = "S1 B#2 H#4 M#4", .end = 'I',
	  .method = "GET", .target = "/", .flags = "b3", .xsam = "0" },
	{ "two traceparent fields: counted, first kept", RQ,
	  "GET / HTTP/1.1\r\ntraceparent: " TP_OK "\r\ntraceparent: 00-x\r\n\r\n", .ev = "S1 B#2 H#4 M#4",
	  .end = 'I', .method = "GET", .target = "/", .tp = TP_OK, .tpn = 2 },
	{ "empty tracestate field adds nothing to the list", RQ,
	  "GET / HTTP/1.1\r\ntracestate: a=1\r\ntracestate:  \r\ntracestate: b=2\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "GET", .target = "/", .ts = "a=1,b=2", .tsn = 3 },
	{ "OWS trimmed around values, inner whitespace kept", RQ,
	  "GET / HTTP/1.1\r\nHost: \t a.b \t \r\nUser-Agent:Mozilla/5.0 (X11;  Linux)  \r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "GET", .target = "/", .host = "a.b",
	  .ua = "Mozilla/5.0 (X11;  Linux)" },
	{ "first Host kept, empty values allowed", RQ,
	  "GET / HTTP/1.1\r\nX-Empty:\r\nHost: a\r\nHost: b\r\n\r\n", .ev = "S1 B#2 H#4 M#4", .end = 'I',
	  .method = "GET", .target = "/", .host = "a" },
	{ "a long unknown header name is just skipped", RQ,
	  "GET / HTTP/1.1\r\nX-A-Very-Long-Header-Name-Over-32-Bytes-Long: v\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .method = "GET", .target = "/" },

	/* --- requests that are not HTTP/1.x --- */
	{ "Redis inline command", RQ, "GET key\r\n", .ev = "S1 X8", .end = 'N' },
	{ "Redis inline SET", RQ, "SET key value\r\n", .ev = "S1 X9", .end = 'N' },
	{ "RESP array", RQ, "*1\r\n$4\r\nPING\r\n", .ev = "S1 X3", .end = 'N' },
	{ "TLS ClientHello", RQ, "\x16\x03\x01\x02\x00\x01", 6, .ev = "X1", .end = 'N' },
	{ "HTTP/2 preface", RQ, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .ev = "S1 X12", .end = 'N' },
	{ "HELLO", RQ, "HELLO\r\n", .ev = "S1 X6", .end = 'N' },
	{ "binary", RQ, "\x00\x01\x02", 3, .ev = "X1", .end = 'N' },
	{ "CR not followed by LF before a request", RQ, "\r\r\n", .ev = "X2", .end = 'N' },
	{ "HTTP/0.9 request line", RQ, "GET /\r\n", .ev = "S1 X6", .end = 'N' },
	{ "two spaces after the method", RQ, "GET  / HTTP/1.1\r\n\r\n", .ev = "S1 X5", .end = 'N' },
	{ "missing request-target", RQ, "GET HTTP/1.1\r\n\r\n", .ev = "S1 X13", .end = 'N' },
	{ "version is case-sensitive", RQ, "GET / http/1.1\r\n\r\n", .ev = "S1 X7", .end = 'N' },
	{ "space after the version", RQ, "GET / HTTP/1.1 \r\n\r\n", .ev = "S1 X15", .end = 'N' },
	{ "version minor not a digit", RQ, "GET / HTTP/1.x\r\n\r\n", .ev = "S1 X14", .end = 'N' },
	{ "method of 25 chars", RQ, "ABCDEFGHIJKLMNOPQRSTUVWXY / HTTP/1.1\r\n\r\n", .ev = "S1 X25",
	  .end = 'N' },
	{ "non-tchar in the method", RQ, "G@T / HTTP/1.1\r\n\r\n", .ev = "S1 X2", .end = 'N' },
	{ "CTL in the target", RQ, "GET /a\x01 HTTP/1.1\r\n\r\n", .ev = "S1 X7", .end = 'N' },
	{ "whitespace before the first field line", RQ, "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
	  .ev = "S1 X17", .end = 'N' },
	{ "obs-fold (9112 5.2) is rejected", RQ, "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", .ev = "S1 X23",
	  .end = 'N' },
	{ "space before the colon (9112 5.1)", RQ, "GET / HTTP/1.1\r\nHost : a\r\n\r\n", .ev = "S1 X21",
	  .end = 'N' },
	{ "field line without a colon", RQ, "GET / HTTP/1.1\r\nHost\r\n\r\n", .ev = "S1 X21", .end = 'N' },
	{ "bare CR inside a value", RQ, "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", .ev = "S1 X22", .end = 'N' },
	{ "CTL inside a value", RQ, "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", .ev = "S1 X21", .end = 'N' },
	{ "DEL inside a value", RQ, "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", .ev = "S1 X21", .end = 'N' },
	{ "NUL inside a value", RQ, "GET / HTTP/1.1\r\nA: \x00\r\n\r\n", 25, .ev = "S1 X20", .end = 'N' },
	{ "CR CR ending the blank line", RQ, "GET / HTTP/1.1\r\n\r\r\n", .ev = "S1 B16 X18", .end = 'N' },
	{ "Content-Length values differ", RQ,
	  "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .ev = "S1 X$-2", .end = 'N' },
	{ "Content-Length list values differ", RQ, "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
	  .ev = "S1 X$-2", .end = 'N' },
	{ "Content-Length not digits", RQ, "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
	  .ev = "S1 X34", .end = 'N' },
	{ "Content-Length empty", RQ, "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .ev = "S1 X34",
	  .end = 'N' },
	{ "Content-Length with a sign", RQ, "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
	  .ev = "S1 X34", .end = 'N' },
	{ "Content-Length two numbers without a comma", RQ, "POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n",
	  .ev = "S1 X36", .end = 'N' },
	{ "Content-Length trailing comma", RQ, "POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n",
	  .ev = "S1 X37", .end = 'N' },
	{ "Content-Length over 2^64-1", RQ,
	  "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", .ev = "S1 X53", .end = 'N' },
	{ "request Transfer-Encoding not ending in chunked (9112 6.3: 400)", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .ev = "S1 B#2 X#4", .end = 'N' },
	{ "request Transfer-Encoding: chunked hidden in a quoted parameter", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, foo;p=\"x,chunked\"\r\n\r\n",
	  .ev = "S1 B#2 X#4", .end = 'N' },
	{ "request Transfer-Encoding empty", RQ, "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
	  .ev = "S1 B#2 X#4", .end = 'N' },
	{ "chunk-size of 17 hex digits", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 X#21", .end = 'N' },
	{ "chunk-size not hex", RQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nG\r\n",
	  .ev = "S1 B#2 H#4 X#5", .end = 'N' },
	{ "chunk-size missing", RQ, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
	  .ev = "S1 B#2 H#4 X#5", .end = 'N' },
	{ "chunk data not followed by CRLF", RQ,
	  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", .ev = "S1 B#2 H#4 X#13",
	  .end = 'N' },
	{ "garbage after a complete request", RQ, "GET / HTTP/1.1\r\n\r\n\x16\x03", .ev = "S1 B#2 H#4 M#4 X#5",
	  .end = 'N' },

	/* --- responses (RFC 9112 4, 6.3) --- */
	{ "Content-Length response", RS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .status = 200, .flags = "cl", .cl = 2 },
	{ "status line without reason and without its SP", RS, "HTTP/1.1 204\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .status = 204 },
	{ "empty reason phrase", RS, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", .ev = "S1 B#2 H#4 M#4",
	  .end = 'I', .status = 200, .flags = "cl" },
	{ "reason phrase with HTAB and obs-text", RS, "HTTP/1.1 404 Not\tFound \xe2\x9c\x97\r\n\r\n",
	  .ev = "S1 B#2 H#4", .end = 'M', .status = 404, .flags = "until_close close" },
	{ "204 has no body even with Content-Length", RS,
	  "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", .ev = "S1 B#2 H#4 M#4", .end = 'I',
	  .status = 204, .flags = "cl", .cl = 10 },
	{ "304 has no body; the next response follows", RS,
	  "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	  .ev = "S1 B#2 H#4 M#4 S#5 B$-3 H$-1 M$", .end = 'I', .status = 200, .flags = "cl", .cl = 1 },
	{ "response to HEAD has no body", RS, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
	  .req_head = true, .ev = "S1 B#2 H#4 M#4", .end = 'I', .status = 200, .flags = "cl", .cl = 100 },
	{ "response to HEAD: chunked is a fact of the head, no body", RS,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .req_head = true,
	  .ev = "S1 B#2 H#4 M#4", .end = 'I', .status = 200, .flags = "chunked" },
	{ "100 Continue, then the final response", RS,
	  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	  .ev = "S1 B#2 H#4 M#4 S#5 B$-3 H$-1 M$", .end = 'I', .status = 200, .flags = "cl", .cl = 1 },
	{ "103 Early Hints with fields, then 204", RS,
	  "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#4 S#5 B$-2 H$ M$", .end = 'I', .status = 204 },
	{ "101 Switching Protocols: a tunnel after the head, no NOT_HTTP event", RS,
	  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
	  .ev = "S1 B#2 H#4 M#4", .end = 'N', .status = 101, .flags = "upgrade" },
	{ "2xx to CONNECT: a tunnel (Content-Length ignored)", RS,
	  "HTTP/1.1 200 Connection established\r\nContent-Length: 5\r\n\r\n\x16\x03\x01\x02", .req_connect = true,
	  .ev = "S1 B#2 H#4 M#4", .end = 'N', .status = 200, .flags = "cl", .cl = 5 },
	{ "407 to CONNECT has an ordinary body", RS,
	  "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nabc", .req_connect = true,
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .status = 407, .flags = "cl", .cl = 3 },
	{ "no framing: body until the close", RS, "HTTP/1.1 200 OK\r\n\r\nabcdef", .ev = "S1 B#2 H#4",
	  .end = 'M', .status = 200, .flags = "until_close close" },
	{ "HTTP/1.0 without Content-Length: until the close", RS,
	  "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody", .ev = "S1 B#2 H#4", .end = 'M', .ver = "1.0",
	  .status = 200, .flags = "until_close close" },
	{ "HTTP/1.0 keep-alive with Content-Length", RS,
	  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", .ev = "S1 B#2 H#4 M$",
	  .end = 'I', .ver = "1.0", .status = 200, .flags = "cl", .cl = 1 },
	{ "chunked response", RS, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .status = 200, .flags = "chunked" },
	{ "response Transfer-Encoding: gzip: until the close", RS,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcdef", .ev = "S1 B#2 H#4",
	  .end = 'M', .status = 200, .flags = "until_close close cl", .cl = 4 },
	{ "response chunked and Content-Length: chunked wins", RS,
	  "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	  .ev = "S1 B#2 H#4 M$", .end = 'I', .status = 200, .flags = "chunked cl", .cl = 4 },
	{ "Connection: close on a framed response", RS,
	  "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", .ev = "S1 B#2 H#4 M#4",
	  .end = 'I', .status = 500, .flags = "close cl" },
	{ "leading CRLF before a response is skipped too", RS, "\r\nHTTP/1.1 204 No Content\r\n\r\n",
	  .ev = "S3 B#2 H#4 M#4", .end = 'I', .status = 204 },
	{ "status 999", RS, "HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n", .ev = "S1 B#2 H#4 M#4",
	  .end = 'I', .status = 999, .flags = "cl" },
	{ "Content-Length 2^63", RS, "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nab",
	  .ev = "S1 B#2 H#4", .end = 'M', .status = 200, .flags = "cl", .cl = 1ull << 63 },
	{ "pipelined responses: chunked, Content-Length, 204", RS,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
	  "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nxy"
	  "HTTP/1.1 204 No Content\r\nHost: h\r\n\r\n",
	  .ev = "S1 B#2 H#4 M#16 S#17 B#57 H#59 M#61 S#62 B$-2 H$ M$", .end = 'I', .status = 204,
	  .host = "h" },

	/* --- responses that are not HTTP/1.x --- */
	{ "SSH banner", RS, "SSH-2.0-OpenSSH_9.2\r\n", .ev = "X1", .end = 'N' },
	{ "POP3/Redis +OK", RS, "+OK\r\n", .ev = "X1", .end = 'N' },
	{ "TLS ServerHello", RS, "\x16\x03\x03\x00", 4, .ev = "X1", .end = 'N' },
	{ "HTTP/2 status line", RS, "HTTP/2 200\r\n\r\n", .ev = "S1 X6", .end = 'N' },
	{ "two-digit status", RS, "HTTP/1.1 20 OK\r\n\r\n", .ev = "S1 X12", .end = 'N' },
	{ "four-digit status", RS, "HTTP/1.1 2000 OK\r\n\r\n", .ev = "S1 X13", .end = 'N' },
	{ "status below 100", RS, "HTTP/1.1 099 x\r\n\r\n", .ev = "S1 X10", .end = 'N' },
	{ "no SP between status and reason", RS, "HTTP/1.1 200OK\r\n\r\n", .ev = "S1 X13", .end = 'N' },
	{ "CTL in the reason phrase", RS, "HTTP/1.1 200 O\x01K\r\n\r\n", .ev = "S1 X15", .end = 'N' },
	{ "garbage after a complete response", RS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiGARBAGE",
	  .ev = "S1 B#2 H#4 M#6 X#7", .end = 'N' },
};

/* Is word in the space-separated list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *s = list;

	if (!list)
		return false;
	while ((s = strstr(s, word))) {
		if ((s == list || s[-1] == ' ') && (s[n] == ' ' || !s[n]))
			return true;
		s += n;
	}
	return false;
}

#define FIELD_EQ(what, fld, want)                                                         \
	do {                                                                              \
		const char *w_ = (want) ? (want) : "";                                      \
		cr_expect_str_eq((fld).s, w_, "%s: " what " \"%s\"", r->rule, (fld).s);    \
		cr_expect_eq((fld).len, strlen(w_), "%s: " what " length", r->rule);        \
		cr_expect(!(fld).truncated, "%s: " what " truncated", r->rule);             \
	} while (0)

static void check_fields(const struct row *r, const struct hk_http *p)
{
	const char *ver = r->ver ? r->ver : "1.1";

	cr_expect_str_eq(p->method, r->method ? r->method : "", "%s: method", r->rule);
	FIELD_EQ("target", p->target, r->target);
	if (r->method)
		cr_expect_eq(p->version_minor, ver[2] - '0', "%s: version", r->rule);
	cr_expect_eq(p->status, r->status, "%s: status", r->rule);
	cr_expect_eq(p->has_content_length, has_word(r->flags, "cl"), "%s: has_content_length", r->rule);
	cr_expect_eq(p->chunked, has_word(r->flags, "chunked"), "%s: chunked", r->rule);
	cr_expect_eq(p->conn_close, has_word(r->flags, "close"), "%s: conn_close", r->rule);
	cr_expect_eq(p->upgrade, has_word(r->flags, "upgrade"), "%s: upgrade", r->rule);
	cr_expect_eq(p->until_close, has_word(r->flags, "until_close"), "%s: until_close", r->rule);
	cr_expect_eq(p->has_b3_headers, has_word(r->flags, "b3"), "%s: has_b3_headers", r->rule);
	cr_expect_eq(p->content_length, r->cl, "%s: content_length", r->rule);
	cr_expect_eq(p->traceparent_count, r->tpn, "%s: traceparent_count", r->rule);
	cr_expect_eq(p->tracestate_count, r->tsn, "%s: tracestate_count", r->rule);
	FIELD_EQ("host", p->host, r->host);
	FIELD_EQ("user_agent", p->user_agent, r->ua);
	FIELD_EQ("traceparent", p->traceparent, r->tp);
	FIELD_EQ("tracestate", p->tracestate, r->ts);
	FIELD_EQ("baggage", p->baggage, r->bag);
	FIELD_EQ("b3", p->b3, r->b3);
	FIELD_EQ("x_b3_traceid", p->x_b3_traceid, r->xtid);
	FIELD_EQ("x_b3_spanid", p->x_b3_spanid, r->xsid);
	FIELD_EQ("x_b3_sampled", p->x_b3_sampled, r->xsam);
	FIELD_EQ("x_b3_flags", p->x_b3_flags, r->xflg);
}

static void init_row(struct hk_http *p, const struct row *r)
{
	hk_http_init(p, r->kind);
	p->req_was_head = r->req_head;
	p->req_was_connect = r->req_connect;
}

static void check_end(const struct row *r, const struct hk_http *p, const char *mode)
{
	switch (r->end) {
	case 'I':
		cr_expect(hk_http_idle(p) && !hk_http_not_http(p), "%s (%s): idle at the end", r->rule, mode);
		break;
	case 'N':
		cr_expect(hk_http_not_http(p) && !hk_http_idle(p), "%s (%s): NOT_HTTP at the end", r->rule,
			  mode);
		break;
	default:
		cr_expect(!hk_http_idle(p) && !hk_http_not_http(p), "%s (%s): inside a message", r->rule,
			  mode);
		break;
	}
}

Test(http_parse, table_every_split)
{
	static struct hk_http whole, other;
	size_t ri;

	for (ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
		const struct row *r = &rows[ri];
		size_t n = r->n ? r->n : strlen(r->in), k;
		const uint8_t *in = (const uint8_t *)r->in;
		struct guard g = guard_new(n);
		char want[1024];
		struct evlog lg;

		expand(r->ev, r->in, n, want, sizeof(want));

		memset(&lg, 0, sizeof(lg));
		init_row(&whole, r);
		feed_whole(&whole, &g, in, n, &lg);
		cr_expect_str_eq(lg.s, want, "%s: whole: got \"%s\", want \"%s\"", r->rule, lg.s, want);
		check_end(r, &whole, "whole");
		if (!strchr(want, 'X'))
			check_fields(r, &whole);

		for (k = 1; k < n; k++) {
			memset(&lg, 0, sizeof(lg));
			init_row(&other, r);
			feed_cut(&other, &g, in, n, &k, 1, &lg);
			cr_expect_str_eq(lg.s, want, "%s: cut at %zu: got \"%s\"", r->rule, k, lg.s);
			cr_expect(!memcmp(&whole, &other, sizeof(whole)), "%s: cut at %zu: struct differs",
				  r->rule, k);
		}

		memset(&lg, 0, sizeof(lg));
		init_row(&other, r);
		feed_bytes(&other, &g, in, n, &lg);
		cr_expect_str_eq(lg.s, want, "%s: byte by byte: got \"%s\"", r->rule, lg.s);
		check_end(r, &other, "bytes");
		cr_expect(!memcmp(&whole, &other, sizeof(whole)), "%s: byte by byte: struct differs", r->rule);
		guard_free(&g);
	}
}

/*
 * The events a caller does not act on (p->report) may be passed over. For
 * every row, every split and every choice among the three that can be
 * (BLANK_LINE, HEAD_DONE, MSG_DONE): the events reported are the row's
 * events with only unwanted ones missing, at the same offsets, and the
 * parser ends in the same state as when it reports everything.
 */
static bool is_subsequence_with_all_wanted(const char *got, const char *want, unsigned report)
{
	char g[4096], w[4096], *gs, *ws, *gt = NULL, *wt = NULL;

	snprintf(g, sizeof(g), "%s", got);
	snprintf(w, sizeof(w), "%s", want);
	gs = strtok_r(g, " ", &gt);
	for (ws = strtok_r(w, " ", &wt); ws; ws = strtok_r(NULL, " ", &wt)) {
		unsigned bit = 0;

		switch (ws[0]) {
		case 'S': bit = 1u << HK_EV_HEAD_START; break;
		case 'B': bit = 1u << HK_EV_BLANK_LINE; break;
		case 'H': bit = 1u << HK_EV_HEAD_DONE; break;
		case 'M': bit = 1u << HK_EV_MSG_DONE; break;
		case 'X': bit = 1u << HK_EV_NOT_HTTP; break;
		}
		if (gs && strcmp(gs, ws) == 0) {
			gs = strtok_r(NULL, " ", &gt);
			continue;
		}
		if (report & bit)
			return false;		/* a wanted event is missing */
	}
	return gs == NULL;			/* nothing reported that is not in want */
}

Test(http_parse, table_every_split_with_events_passed_over)
{
	static struct hk_http whole, other;
	static const unsigned skippable[] = { 1u << HK_EV_BLANK_LINE, 1u << HK_EV_HEAD_DONE,
					      1u << HK_EV_MSG_DONE };

	for (size_t ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
		const struct row *r = &rows[ri];
		size_t n = r->n ? r->n : strlen(r->in);
		const uint8_t *in = (const uint8_t *)r->in;
		struct guard g = guard_new(n);
		char want[1024];
		struct evlog lg;

		expand(r->ev, r->in, n, want, sizeof(want));
		memset(&lg, 0, sizeof(lg));
		init_row(&whole, r);
		feed_whole(&whole, &g, in, n, &lg);
		for (unsigned m = 0; m < 8; m++) {
			unsigned report = HK_EV_ALL;

			for (unsigned b = 0; b < 3; b++)
				if (m & (1u << b))
					report &= ~skippable[b];
			for (size_t k = 0; k <= n; k++) {
				memset(&lg, 0, sizeof(lg));
				init_row(&other, r);
				other.report = (uint8_t)report;
				if (k == 0)
					feed_bytes(&other, &g, in, n, &lg);
				else
					feed_cut(&other, &g, in, n, &k, k < n, &lg);
				cr_expect(is_subsequence_with_all_wanted(lg.s, want, report),
					  "%s: report %#x, cut %zu: got \"%s\", want \"%s\"", r->rule, report,
					  k, lg.s, want);
				other.report = whole.report;
				cr_expect(!memcmp(&whole, &other, sizeof(whole)),
					  "%s: report %#x, cut %zu: struct differs", r->rule, report, k);
			}
		}
		guard_free(&g);
	}
}

/* Three cuts at every pair of positions on a message with every kind of
 * line end split: CR|LF of start line, field lines, blank line, chunk
 * lines, chunk data, trailers. */
Test(http_parse, chunked_every_two_cuts)
{
	static const char in[] = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	size_t n = sizeof(in) - 1, a, b;
	struct guard g = guard_new(n);
	static struct hk_http whole, other;
	struct evlog lg;
	char want[256];

	expand("S1 B#2 H#4 M#27 S#28 B$-2 H$ M$", in, n, want, sizeof(want));
	memset(&lg, 0, sizeof(lg));
	hk_http_init(&whole, HK_HTTP_REQUEST);
	feed_whole(&whole, &g, in, n, &lg);
	cr_assert_str_eq(lg.s, want);
	for (a = 1; a < n; a++) {
		for (b = a + 1; b < n; b++) {
			size_t cuts[2] = { a, b };

			memset(&lg, 0, sizeof(lg));
			hk_http_init(&other, HK_HTTP_REQUEST);
			feed_cut(&other, &g, (const uint8_t *)in, n, cuts, 2, &lg);
			cr_assert_str_eq(lg.s, want, "cuts at %zu and %zu", a, b);
			cr_assert(!memcmp(&whole, &other, sizeof(whole)), "cuts at %zu and %zu", a, b);
		}
	}
	guard_free(&g);
}

/* ------------------------------------------------------------------ protocol details */

/* The blank line's CR and LF in different feeds: BLANK_LINE before the CR,
 * HEAD_DONE when the LF arrives, MSG_DONE from the next call. */
Test(http_parse, blank_line_split_cr_lf)
{
	static struct hk_http p;
	struct guard g = guard_new(64);
	enum hk_http_event ev;
	const char *head = "GET / HTTP/1.1\r\nHost: a\r\n\r";
	size_t n;

	hk_http_init(&p, HK_HTTP_REQUEST);
	n = hk_http_feed(&p, place(&g, head, strlen(head)), strlen(head), &ev);
	cr_assert_eq(ev, HK_EV_HEAD_START);
	cr_assert_eq(n, 1);
	n = hk_http_feed(&p, place(&g, head + 1, strlen(head) - 1), strlen(head) - 1, &ev);
	cr_assert_eq(ev, HK_EV_BLANK_LINE);
	cr_assert_eq(n, strlen(head) - 2, "stops right before the blank line's CR");
	n = hk_http_feed(&p, place(&g, "\r", 1), 1, &ev);
	cr_assert_eq(ev, HK_EV_NONE, "the CR alone completes nothing");
	cr_assert_eq(n, 1);
	n = hk_http_feed(&p, place(&g, "\nGET", 4), 4, &ev);
	cr_assert_eq(ev, HK_EV_HEAD_DONE);
	cr_assert_eq(n, 1);
	n = hk_http_feed(&p, place(&g, "GET", 3), 3, &ev);
	cr_assert_eq(ev, HK_EV_MSG_DONE);
	cr_assert_eq(n, 0, "the MSG_DONE of a bodiless message consumes nothing");
	cr_assert(hk_http_idle(&p));
	n = hk_http_feed(&p, place(&g, "GET", 3), 3, &ev);
	cr_assert_eq(ev, HK_EV_HEAD_START);
	cr_assert_eq(n, 1);
	guard_free(&g);
}

/* len 0: nothing happens, except the pending MSG_DONE; buf may be NULL. */
Test(http_parse, zero_length_feeds)
{
	static struct hk_http p;
	struct guard g = guard_new(64);
	enum hk_http_event ev;
	const char *m = "GET / HTTP/1.1\r\n\r\n";
	size_t n;

	hk_http_init(&p, HK_HTTP_REQUEST);
	cr_assert_eq(hk_http_feed(&p, NULL, 0, &ev), 0);
	cr_assert_eq(ev, HK_EV_NONE);
	cr_assert(hk_http_idle(&p));
	n = hk_http_feed(&p, place(&g, m, strlen(m)), strlen(m), &ev);
	cr_assert_eq(ev, HK_EV_HEAD_START);
	n = hk_http_feed(&p, place(&g, m + n, strlen(m) - n), strlen(m) - n, &ev);
	cr_assert_eq(ev, HK_EV_BLANK_LINE);
	cr_assert_eq(n, 15);
	n = hk_http_feed(&p, place(&g, "\r\n", 2), 2, &ev);
	cr_assert_eq(ev, HK_EV_HEAD_DONE);
	cr_assert_eq(n, 2);
	cr_assert(!hk_http_idle(&p), "not idle before MSG_DONE was reported");
	cr_assert_eq(hk_http_feed(&p, NULL, 0, &ev), 0);
	cr_assert_eq(ev, HK_EV_MSG_DONE);
	cr_assert(hk_http_idle(&p));
	cr_assert_eq(hk_http_feed(&p, NULL, 0, &ev), 0);
	cr_assert_eq(ev, HK_EV_NONE);
	guard_free(&g);
}

/* NOT_HTTP is for good: later feeds swallow everything, report nothing. */
Test(http_parse, not_http_is_final)
{
	static struct hk_http p;
	struct guard g = guard_new(64);
	enum hk_http_event ev;
	const char *m = "GET / HTTP/1.1\r\n\r\n";

	hk_http_init(&p, HK_HTTP_REQUEST);
	cr_assert_eq(hk_http_feed(&p, place(&g, "\x16\x03", 2), 2, &ev), 1);
	cr_assert_eq(ev, HK_EV_NOT_HTTP);
	cr_assert(hk_http_not_http(&p));
	cr_assert_eq(hk_http_feed(&p, place(&g, m, strlen(m)), strlen(m), &ev), strlen(m));
	cr_assert_eq(ev, HK_EV_NONE);
	cr_assert(!hk_http_eof(&p));
	cr_assert(hk_http_not_http(&p));
	cr_assert_eq(p.method[0], 0, "nothing parsed after NOT_HTTP");
	guard_free(&g);
}

/* A caller that stops when len is 0 still gets the pending MSG_DONE (at
 * the start of its next call) or from hk_http_eof(). */
Test(http_parse, pending_msg_done_for_a_lazy_caller)
{
	static struct hk_http p;
	struct guard g = guard_new(64);
	enum hk_http_event ev;
	const char *r = "HTTP/1.1 204 No Content\r\n\r\n";
	size_t n, len = strlen(r), off = 0;

	hk_http_init(&p, HK_HTTP_RESPONSE);
	while (len) {
		n = hk_http_feed(&p, place(&g, r + off, len), len, &ev);
		off += n;
		len -= n;
	}
	cr_assert_eq(ev, HK_EV_HEAD_DONE);
	n = hk_http_feed(&p, place(&g, "HTTP", 4), 4, &ev);
	cr_assert_eq(ev, HK_EV_MSG_DONE);
	cr_assert_eq(n, 0);

	hk_http_init(&p, HK_HTTP_RESPONSE);
	len = strlen(r);
	off = 0;
	while (len) {
		n = hk_http_feed(&p, place(&g, r + off, len), len, &ev);
		off += n;
		len -= n;
	}
	cr_assert(hk_http_eof(&p), "the close completes the pending message");
	cr_assert(hk_http_idle(&p));
	cr_assert(!hk_http_eof(&p), "only once");
	guard_free(&g);
}

/* hk_http_eof: true for a body until the close and a pending MSG_DONE (also
 * of a tunnel's head); false, changing nothing, anywhere else. */
Test(http_parse, eof)
{
	static struct hk_http p;
	struct guard g = guard_new(128);
	struct evlog lg;
	const char *uc = "HTTP/1.1 200 OK\r\n\r\nabc";
	const char *cl = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc";
	const char *up = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
	enum hk_http_event ev;

	hk_http_init(&p, HK_HTTP_RESPONSE);
	cr_assert(!hk_http_eof(&p), "idle: nothing to complete");

	memset(&lg, 0, sizeof(lg));
	feed_whole(&p, &g, uc, strlen(uc), &lg);
	cr_assert(p.until_close);
	cr_assert(hk_http_eof(&p));
	cr_assert(hk_http_idle(&p));

	hk_http_init(&p, HK_HTTP_RESPONSE);
	memset(&lg, 0, sizeof(lg));
	feed_whole(&p, &g, cl, strlen(cl), &lg);
	cr_assert(!hk_http_eof(&p), "a Content-Length body cut short is not complete");
	cr_assert(!hk_http_idle(&p));
	cr_assert_eq(hk_http_feed(&p, place(&g, "de", 2), 2, &ev), 2, "state unchanged by eof");
	cr_assert_eq(ev, HK_EV_MSG_DONE);

	hk_http_init(&p, HK_HTTP_RESPONSE);
	cr_assert_eq(hk_http_feed(&p, place(&g, "HTTP/1.1 2", 10), 10, &ev), 1);
	cr_assert(!hk_http_eof(&p), "a head cut short is not complete");

	hk_http_init(&p, HK_HTTP_RESPONSE);
	{
		size_t n, len = strlen(up), off = 0;

		while (len) {
			n = hk_http_feed(&p, place(&g, up + off, len), len, &ev);
			off += n;
			len -= n;
		}
	}
	cr_assert(hk_http_eof(&p), "pending MSG_DONE of the 101");
	cr_assert(hk_http_not_http(&p), "a tunnel after 101");
	guard_free(&g);
}

/* Per-message fields are reset when the next head starts; the caller's
 * req_was_* flags are not touched. */
Test(http_parse, fields_reset_at_head_start)
{
	static struct hk_http p;
	struct guard g = guard_new(512);
	struct evlog lg;
	const char *m1 = "POST /1 HTTP/1.0\r\nHost: a\r\ntraceparent: " TP_OK "\r\ntracestate: x=1\r\n"
			 "baggage: b=1\r\nb3: 1\r\nUser-Agent: u\r\nConnection: upgrade\r\nUpgrade: x\r\n"
			 "Content-Length: 0\r\n\r\n";
	enum hk_http_event ev;
	const char *v;
	size_t vl;
	char want[64];

	hk_http_init(&p, HK_HTTP_REQUEST);
	p.req_was_head = true;
	memset(&lg, 0, sizeof(lg));
	feed_whole(&p, &g, m1, strlen(m1), &lg);
	expand("S1 B#2 H#4 M#4", m1, strlen(m1), want, sizeof(want));
	cr_assert_str_eq(lg.s, want);
	cr_assert(p.host.len && p.traceparent_count && p.tracestate_count && p.baggage.len && p.b3.len &&
		  p.user_agent.len && p.has_content_length && p.conn_close && p.upgrade && p.has_b3_headers);
	cr_assert_eq(hk_http_feed(&p, place(&g, "G", 1), 1, &ev), 1);
	cr_assert_eq(ev, HK_EV_HEAD_START);
	cr_assert_str_eq(p.method, "G");
	cr_assert_eq(p.target.len, 0);
	cr_assert_eq(p.host.len, 0);
	cr_assert_str_eq(p.host.s, "");
	cr_assert_eq(p.user_agent.len, 0);
	cr_assert_eq(p.traceparent_count, 0);
	cr_assert_eq(p.tracestate_count, 0);
	cr_assert_eq(p.tracestate.len, 0);
	cr_assert_eq(p.baggage.len, 0);
	cr_assert_eq(p.b3.len, 0);
	cr_assert(!p.has_content_length && !p.conn_close && !p.upgrade && !p.has_b3_headers &&
		  !p.chunked && !p.until_close);
	cr_assert_eq(p.version_minor, 0);
	cr_assert_eq(hk_http_get(&p, "baggage", &v, &vl), 0, "seen bits reset too");
	cr_assert_eq(hk_http_get(&p, "b3", &v, &vl), 0);
	cr_assert(p.req_was_head, "the caller's flag is the caller's");
	guard_free(&g);
}

/* ------------------------------------------------------------------ hk_http_get */

static void feed_all(struct hk_http *p, const char *s, size_t n)
{
	struct guard g = guard_new(n);
	struct evlog lg;

	memset(&lg, 0, sizeof(lg));
	feed_whole(p, &g, s, n, &lg);
	guard_free(&g);
}

Test(http_parse, get)
{
	static struct hk_http p;
	const char *m = "GET / HTTP/1.1\r\nTraceparent: " TP_OK "\r\ntracestate: a=1\r\n"
			"tracestate: b=2\r\nbaggage: k=v\r\nX-B3-TraceId: 463ac35c9f6413ad\r\n"
			"Host: h\r\n\r\n";
	const char *v = (const char *)1;
	size_t vl = 99;

	hk_http_init(&p, HK_HTTP_REQUEST);
	cr_assert_eq(hk_http_get(&p, "traceparent", &v, &vl), 0, "nothing before any head");
	cr_assert_null(v);
	cr_assert_eq(vl, 0);
	feed_all(&p, m, strlen(m));

	cr_assert_eq(hk_http_get(&p, "traceparent", &v, &vl), 1);
	cr_assert_eq(vl, 55);
	cr_assert(!memcmp(v, TP_OK, 55) && v[55] == 0, "NUL-terminated value");
	cr_assert_eq(hk_http_get(&p, "TraceParent", &v, &vl), 1, "key case-insensitive");
	cr_assert_eq(hk_http_get(&p, "tracestate", &v, &vl), 2, "count of fields");
	cr_assert_eq(vl, 7);
	cr_assert_str_eq(v, "a=1,b=2");
	cr_assert_eq(hk_http_get(&p, "baggage", &v, &vl), 1);
	cr_assert_str_eq(v, "k=v");
	cr_assert_eq(hk_http_get(&p, "x-b3-traceid", &v, &vl), 1);
	cr_assert_str_eq(v, "463ac35c9f6413ad");
	cr_assert_eq(hk_http_get(&p, "host", &v, &vl), 1);
	cr_assert_str_eq(v, "h");
	cr_assert_eq(hk_http_get(&p, "b3", &v, &vl), 0, "absent");
	cr_assert_null(v);
	cr_assert_eq(vl, 0);
	cr_assert_eq(hk_http_get(&p, "x-b3-spanid", &v, &vl), 0);
	cr_assert_eq(hk_http_get(&p, "content-length", &v, &vl), 0, "not a captured field");
	cr_assert_eq(hk_http_get(&p, "x-unknown", &v, &vl), 0);
	cr_assert_eq(hk_http_get(&p, "", &v, &vl), 0);
	cr_assert_eq(hk_http_get(&p, "a-key-that-is-longer-than-the-name-buffer", &v, &vl), 0);
}

/* ------------------------------------------------------------------ truncation */

/* "GET / HTTP/1.1\r\n" + "name: " + value + "\r\n\r\n" on the heap. */
static char *head_with(const char *name, const char *value, size_t *n)
{
	size_t cap = strlen(name) + strlen(value) + 64;
	char *s = malloc(cap);

	cr_assert(s != NULL);
	*n = (size_t)snprintf(s, cap, "GET / HTTP/1.1\r\n%s: %s\r\n\r\n", name, value);
	return s;
}

static char *repeat(char c, size_t k)
{
	char *s = malloc(k + 1);

	cr_assert(s != NULL);
	memset(s, c, k);
	s[k] = 0;
	return s;
}

Test(http_parse, truncation_single_values)
{
	static struct hk_http p;
	const char *v;
	size_t n, vl;
	char *val, *m, *tmp;

	/* exactly the capacity: kept whole */
	val = repeat('h', HK_HTTP_HOST_MAX);
	m = head_with("Host", val, &n);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert_eq(p.host.len, HK_HTTP_HOST_MAX);
	cr_assert(!p.host.truncated);
	cr_assert_str_eq(p.host.s, val);
	free(m);

	/* trailing whitespace past the capacity is OWS, not truncation */
	tmp = malloc(HK_HTTP_HOST_MAX + 8);
	snprintf(tmp, HK_HTTP_HOST_MAX + 8, "%s \t ", val);
	m = head_with("Host", tmp, &n);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert_eq(p.host.len, HK_HTTP_HOST_MAX);
	cr_assert(!p.host.truncated);
	free(m);

	/* ... unless something visible follows */
	snprintf(tmp, HK_HTTP_HOST_MAX + 8, "%s \tx", val);
	m = head_with("Host", tmp, &n);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert(p.host.truncated);
	cr_assert_eq(p.host.len, HK_HTTP_HOST_MAX);
	cr_assert_eq(p.host.s[HK_HTTP_HOST_MAX], 0);
	free(m);
	free(tmp);
	free(val);

	/* one byte over */
	val = repeat('u', HK_HTTP_UA_MAX + 1);
	m = head_with("User-Agent", val, &n);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert(p.user_agent.truncated);
	cr_assert_eq(p.user_agent.len, HK_HTTP_UA_MAX);
	cr_assert_eq(strlen(p.user_agent.s), HK_HTTP_UA_MAX);
	free(m);
	free(val);

	/* a traceparent too long: counted, but get() gives an empty value */
	val = malloc(HK_HTTP_TP_MAX + 64);
	snprintf(val, HK_HTTP_TP_MAX + 64, "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-%s",
		 "0123456789012345678901234567890123456789012345678901234567890123456789012345");
	cr_assert(strlen(val) > HK_HTTP_TP_MAX);
	m = head_with("traceparent", val, &n);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert(p.traceparent.truncated);
	cr_assert_eq(hk_http_get(&p, "traceparent", &v, &vl), 1);
	cr_assert_not_null(v);
	cr_assert_eq(vl, 0, "a truncated traceparent must not parse");
	free(m);
	free(val);

	/* b3 likewise */
	val = repeat('b', HK_HTTP_B3_MAX + 1);
	m = head_with("b3", val, &n);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert(p.b3.truncated && p.has_b3_headers);
	cr_assert_eq(hk_http_get(&p, "b3", &v, &vl), 1);
	cr_assert_eq(vl, 0);
	free(m);
	free(val);
}

/* n list members "kNN=vvvvvvv" (11 bytes each) joined with sep. */
static char *members(int first, int count, const char *sep)
{
	char *s = malloc((size_t)count * 16 + 1);
	size_t o = 0;
	int i;

	cr_assert(s != NULL);
	s[0] = 0;
	for (i = 0; i < count; i++)
		o += (size_t)sprintf(s + o, "%sk%02d=vvvvvvv", i ? sep : "", first + i);
	return s;
}

Test(http_parse, truncation_joined_lists_keep_whole_members)
{
	static struct hk_http p;
	char *a, *b, *m, *want;
	size_t n, vl;
	const char *v;
	char hdr[4096];

	/* one field: 60 members of 11 bytes; 45 fit in 544 (45 * 12 - 1 = 539) */
	a = members(0, 60, ",");
	want = members(0, 45, ",");
	m = head_with("tracestate", a, &n);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert(p.tracestate.truncated);
	cr_assert_str_eq(p.tracestate.s, want);
	cr_assert_eq(hk_http_get(&p, "tracestate", &v, &vl), 1);
	cr_assert_eq(vl, 539, "whole members are handed out even when truncated");
	free(m);
	free(a);

	/* the same members over two fields, OWS after the commas */
	a = members(0, 40, ", ");
	b = members(40, 20, ",");
	n = (size_t)snprintf(hdr, sizeof(hdr), "GET / HTTP/1.1\r\ntracestate: %s\r\ntracestate: %s\r\n\r\n",
			     a, b);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, hdr, n);
	cr_assert(p.tracestate.truncated);
	cr_assert_eq(p.tracestate_count, 2);
	cr_assert_eq(p.tracestate.s[p.tracestate.len - 1], 'v', "no partial member, no trailing ','");
	/* 40 members with ", " are 518 bytes; ',' + k40 + ',' + k41 = 542 <= 544 */
	cr_assert_eq(p.tracestate.len, 542);
	cr_assert(strstr(p.tracestate.s, "k39=vvvvvvv,k40=vvvvvvv,k41=vvvvvvv") != NULL, "joined with ','");
	cr_assert(strstr(p.tracestate.s, "k42") == NULL, "k42 does not fit");
	free(a);
	free(b);

	/* first field fills the capacity exactly; the second does not fit at all */
	a = repeat('x', HK_HTTP_TS_MAX);
	a[0] = 'k';
	a[1] = '=';
	n = (size_t)snprintf(hdr, sizeof(hdr), "GET / HTTP/1.1\r\ntracestate: %s\r\ntracestate: z=1\r\n\r\n",
			     a);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, hdr, n);
	cr_assert(p.tracestate.truncated);
	cr_assert_str_eq(p.tracestate.s, a, "the complete first member stays");
	free(a);

	/* the byte that does not fit is the ',' ending a complete member */
	a = repeat('x', HK_HTTP_BAGGAGE_MAX);
	a[0] = 'k';
	a[1] = '=';
	n = (size_t)snprintf(hdr, sizeof(hdr), "GET / HTTP/1.1\r\nbaggage: %s,z=1\r\n\r\n", a);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, hdr, n);
	cr_assert(p.baggage.truncated);
	cr_assert_str_eq(p.baggage.s, a);

	/* one member too long by itself: nothing kept */
	n = (size_t)snprintf(hdr, sizeof(hdr), "GET / HTTP/1.1\r\nbaggage: %sx\r\n\r\n", a);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, hdr, n);
	cr_assert(p.baggage.truncated);
	cr_assert_eq(p.baggage.len, 0);
	cr_assert_eq(hk_http_get(&p, "baggage", &v, &vl), 1);
	cr_assert_eq(vl, 0);
	free(a);
	free(want);
}

Test(http_parse, target_truncation)
{
	static struct hk_http p;
	char *t = repeat('a', HK_HTTP_TARGET_MAX + 1), *m;
	size_t n;

	t[0] = '/';
	m = malloc(HK_HTTP_TARGET_MAX + 64);
	n = (size_t)snprintf(m, HK_HTTP_TARGET_MAX + 64, "GET %s HTTP/1.1\r\n\r\n", t);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert(hk_http_idle(&p));
	cr_assert(p.target.truncated);
	cr_assert_eq(p.target.len, HK_HTTP_TARGET_MAX);
	cr_assert(!strncmp(p.target.s, t, HK_HTTP_TARGET_MAX) && !p.target.s[HK_HTTP_TARGET_MAX]);

	t[HK_HTTP_TARGET_MAX] = 0;	/* exactly the capacity */
	n = (size_t)snprintf(m, HK_HTTP_TARGET_MAX + 64, "GET %s HTTP/1.1\r\n\r\n", t);
	hk_http_init(&p, HK_HTTP_REQUEST);
	feed_all(&p, m, n);
	cr_assert(!p.target.truncated);
	cr_assert_str_eq(p.target.s, t);
	free(m);
	free(t);
}

/* ------------------------------------------------------------------ limits */

/* Events of s fed whole and byte by byte (must agree). */
static void events_of(enum hk_http_kind kind, const char *s, size_t n, char *out, size_t cap)
{
	static struct hk_http a, b;
	struct guard g = guard_new(n);
	struct evlog la, lb;

	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	hk_http_init(&a, kind);
	hk_http_init(&b, kind);
	feed_whole(&a, &g, s, n, &la);
	feed_bytes(&b, &g, s, n, &lb);
	cr_assert_str_eq(la.s, lb.s, "whole vs byte by byte");
	cr_assert(!memcmp(&a, &b, sizeof(a)));
	snprintf(out, cap, "%s", la.s);
	guard_free(&g);
}

/* k times c, in a buffer reused by the next call. */
static const char *fill(char c, size_t k)
{
	static char buf[HK_HTTP_LINE_MAX + 2];

	cr_assert(k < sizeof(buf));
	memset(buf, c, k);
	buf[k] = 0;
	return buf;
}

/* A line of exactly HK_HTTP_LINE_MAX bytes (CR LF not counted) is fine; one
 * more byte is NOT_HTTP at that byte, whichever part of the line it is. */
Test(http_parse, line_limit)
{
	size_t L = HK_HTTP_LINE_MAX, n;
	char *s = malloc(L + 256), got[256], want[256];
	const char *sl = "GET / HTTP/1.1\r\n";	/* 16 bytes */

	/* field value */
	n = (size_t)sprintf(s, "%sX: %s\r\n\r\n", sl, fill('a', L - 3));
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B%zu H%zu M%zu", n - 2, n, n);
	cr_expect_str_eq(got, want, "value line of LINE_MAX");
	n = (size_t)sprintf(s, "%sX: %s\r\n\r\n", sl, fill('a', L - 2));
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 X%zu", 16 + L + 1);
	cr_expect_str_eq(got, want, "value line of LINE_MAX + 1");

	/* field name */
	n = (size_t)sprintf(s, "%s%s: v\r\n\r\n", sl, fill('n', L + 1));
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 X%zu", 16 + L + 1);
	cr_expect_str_eq(got, want, "name past LINE_MAX");

	/* OWS before the value */
	n = (size_t)sprintf(s, "%sX:%sv\r\n\r\n", sl, fill(' ', L));
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 X%zu", 16 + L + 1);
	cr_expect_str_eq(got, want, "OWS past LINE_MAX");

	/* request line: the last byte of the version is the one too many */
	n = (size_t)sprintf(s, "GET /%s HTTP/1.1\r\n\r\n", fill('t', L - 14));
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B%zu H%zu M%zu", n - 2, n, n);
	cr_expect_str_eq(got, want, "request line of LINE_MAX");
	n = (size_t)sprintf(s, "GET /%s HTTP/1.1\r\n\r\n", fill('t', L - 13));
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 X%zu", L + 1);
	cr_expect_str_eq(got, want, "request line of LINE_MAX + 1");

	/* status line */
	n = (size_t)sprintf(s, "HTTP/1.1 200 %s\r\n\r\n", fill('r', L - 13));
	events_of(HK_HTTP_RESPONSE, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B%zu H%zu", n - 2, n);
	cr_expect_str_eq(got, want, "status line of LINE_MAX");
	n = (size_t)sprintf(s, "HTTP/1.1 200 %s\r\n\r\n", fill('r', L - 12));
	events_of(HK_HTTP_RESPONSE, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 X%zu", L + 1);
	cr_expect_str_eq(got, want, "status line of LINE_MAX + 1");

	/* chunk extension */
	n = (size_t)sprintf(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;%s\r\nx\r\n0\r\n\r\n",
			    fill('e', L - 2));
	events_of(HK_HTTP_RESPONSE, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B45 H47 M%zu", n);
	cr_expect_str_eq(got, want, "chunk-size line of LINE_MAX");
	n = (size_t)sprintf(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;%s\r\nx\r\n0\r\n\r\n",
			    fill('e', L - 1));
	events_of(HK_HTTP_RESPONSE, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B45 H47 X%zu", 47 + L + 1);
	cr_expect_str_eq(got, want, "chunk-size line of LINE_MAX + 1");
	free(s);
}

/* HK_HTTP_HEADERS_MAX field lines are fine; the next one is NOT_HTTP at
 * its first byte. Trailers have the same limit of their own. */
Test(http_parse, header_count_limit)
{
	size_t cap = 32 * (HK_HTTP_HEADERS_MAX + 8) + 128, n, i, at = 0;
	char *s = malloc(cap), got[256], want[256];

	n = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HK_HTTP_HEADERS_MAX; i++)
		n += (size_t)sprintf(s + n, "H%03zu: v\r\n", i);
	at = n;
	sprintf(s + n, "\r\n");
	events_of(HK_HTTP_REQUEST, s, n + 2, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B%zu H%zu M%zu", at, at + 2, at + 2);
	cr_expect_str_eq(got, want, "HEADERS_MAX lines");
	n += (size_t)sprintf(s + n, "Last: v\r\n\r\n");
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 X%zu", at + 1);
	cr_expect_str_eq(got, want, "HEADERS_MAX + 1 lines");

	n = (size_t)sprintf(s, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n");
	for (i = 0; i < HK_HTTP_HEADERS_MAX - 1; i++)
		n += (size_t)sprintf(s + n, "H%03zu: v\r\n", i);
	n += (size_t)sprintf(s + n, "\r\n0\r\n");
	for (i = 0; i < HK_HTTP_HEADERS_MAX; i++)
		n += (size_t)sprintf(s + n, "T%03zu: v\r\n", i);
	at = n;
	n += (size_t)sprintf(s + n, "\r\n");
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B%zu H%zu M%zu", (size_t)(strstr(s, "\r\n\r\n") - s) + 2,
		 (size_t)(strstr(s, "\r\n\r\n") - s) + 4, n);
	cr_expect_str_eq(got, want, "HEADERS_MAX trailer lines");
	n = at + (size_t)sprintf(s + at, "Tx: v\r\n\r\n");
	events_of(HK_HTTP_REQUEST, s, n, got, sizeof(got));
	snprintf(want, sizeof(want), "S1 B%zu H%zu X%zu", (size_t)(strstr(s, "\r\n\r\n") - s) + 2,
		 (size_t)(strstr(s, "\r\n\r\n") - s) + 4, at + 1);
	cr_expect_str_eq(got, want, "HEADERS_MAX + 1 trailer lines");
	free(s);
}

/* ------------------------------------------------------------------ big bodies */

/* A 1 MB body in 16 KB feeds: one call per feed, MSG_DONE at the last byte. */
Test(http_parse, megabyte_body_in_16k_feeds)
{
	static struct hk_http p;
	static uint8_t body[1 << 20];
	const char *head = "POST /up HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n";
	struct guard g = guard_new(16384);
	struct evlog lg;
	size_t off, calls;

	memset(body, 'z', sizeof(body));
	hk_http_init(&p, HK_HTTP_REQUEST);
	memset(&lg, 0, sizeof(lg));
	feed_whole(&p, &g, head, strlen(head), &lg);
	cr_assert_str_eq(lg.s, "S1 B44 H46");
	calls = lg.calls;
	for (off = 0; off < sizeof(body); off += 16384)
		feed_logged(&p, place(&g, body + off, 16384), 16384, &lg);
	cr_assert_str_eq(lg.s, "S1 B44 H46 M1048622");
	cr_assert_eq(lg.calls - calls, 64 + 1, "one call per feed (+1 after MSG_DONE)");
	cr_assert(hk_http_idle(&p));
	guard_free(&g);
}

/* Chunked: 64 chunks of 16 KB, each chunk's framing and data split across
 * feeds of 1000 bytes. */
Test(http_parse, megabyte_chunked_in_odd_feeds)
{
	static struct hk_http p;
	size_t cap = (1 << 20) + 64 * 16 + 256, n, off;
	char *s = malloc(cap);
	struct guard g = guard_new(1000);
	struct evlog lg;
	char want[64];
	int i;

	n = (size_t)sprintf(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 64; i++) {
		n += (size_t)sprintf(s + n, "4000\r\n");
		memset(s + n, 'c', 16384);
		n += 16384;
		n += (size_t)sprintf(s + n, "\r\n");
	}
	n += (size_t)sprintf(s + n, "0\r\n\r\n");
	hk_http_init(&p, HK_HTTP_RESPONSE);
	memset(&lg, 0, sizeof(lg));
	for (off = 0; off < n; off += 1000) {
		size_t k = n - off < 1000 ? n - off : 1000;

		feed_logged(&p, place(&g, s + off, k), k, &lg);
	}
	snprintf(want, sizeof(want), "S1 B45 H47 M%zu", n);
	cr_assert_str_eq(lg.s, want);
	cr_assert(hk_http_idle(&p));
	free(s);
	guard_free(&g);
}

/* Content-Length 2^63: counted down without overflow, never complete. */
Test(http_parse, huge_content_length)
{
	static struct hk_http p;
	static uint8_t chunk[1 << 16];
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n";
	struct guard g = guard_new(sizeof(chunk));
	struct evlog lg;
	int i;

	hk_http_init(&p, HK_HTTP_RESPONSE);
	memset(&lg, 0, sizeof(lg));
	feed_whole(&p, &g, head, strlen(head), &lg);
	for (i = 0; i < 16; i++)
		feed_logged(&p, place(&g, chunk, sizeof(chunk)), sizeof(chunk), &lg);
	cr_assert_str_eq(lg.s, "S1 B54 H56");
	cr_assert_eq(p.content_length, 1ull << 63);
	cr_assert_eq(p.remaining, (1ull << 63) - 16 * sizeof(chunk));
	cr_assert(!p.until_close);
	cr_assert(!hk_http_eof(&p), "cut short");
	guard_free(&g);
}
