/*
 * http_parse.h - an incremental HTTP/1.x message tracker for one direction of
 * one connection: request heads (what a client writes, what a server reads)
 * or response heads (what a server writes, what a client reads), and the
 * framing of the bodies that follow, so the next head is found again.
 *
 * DESIGN: a state machine over the caller's buffers (which are never
 * modified and never read past len), O(1) work per byte: runs of target,
 * value and body bytes are taken whole. Nothing is allocated: the
 * few header values the library needs are copied into bounded fields of the
 * struct; longer values set a "truncated" flag. Bodies are never copied,
 * only counted (Content-Length countdown, chunked framing, or until close).
 * Feeding a message in any split (one byte at a time, or all at once) gives
 * the same events and the same captured fields.
 *
 * hk_http_feed() stops right after each event so the caller can act at that
 * exact offset (inject a header line before the blank line, start or end a
 * span), then calls again with the rest.
 *
 * Grammar (RFC 9112): request-line = method SP request-target SP
 * "HTTP/1." DIGIT CRLF; status-line = "HTTP/1." DIGIT SP 3DIGIT SP
 * [reason] CRLF (the SP before an empty reason may be missing, as some
 * servers send it); header lines "name: value" CRLF; a blank line ends the
 * head.
 * A bare LF is accepted where CRLF is expected (RFC 9112 2.2). Anything
 * else where a head must start (TLS records, the HTTP/2 preface, Redis
 * inline commands such as "GET key\r\n", binary) makes the direction
 * NOT_HTTP for good.
 *
 * Choices where RFC 9112 leaves room (the strict one when the alternative
 * is repairing input we might insert header lines into):
 * - Empty lines (CRLF or LF) before a head are skipped, in both kinds
 *   (RFC 9112 2.2); they are not part of the head: HEAD_START comes with
 *   the first byte of the start line. A CR not followed by LF is NOT_HTTP
 *   wherever it appears.
 * - NOT_HTTP: obs-fold (a field line starting with SP/HTAB), whitespace
 *   before the first field line or between a field name and its colon, a
 *   CTL or DEL in a value, a start, field or chunk-size line longer than
 *   HK_HTTP_LINE_MAX bytes (CR LF not counted), more than
 *   HK_HTTP_HEADERS_MAX field lines (and again for trailer lines), a
 *   Content-Length that is not 1*DIGIT or a list of equal values
 *   ("5, 5"), or that differs between fields or exceeds UINT64_MAX, a
 *   chunk-size over 16 hex digits, and a request whose Transfer-Encoding
 *   does not end in chunked (reported at the LF of the blank line, after
 *   HK_EV_BLANK_LINE). Status codes are 3 digits 100..999.
 * - The request-target is 1+ bytes of VCHAR or obs-text (raw UTF-8 paths
 *   are seen in the wild); the reason phrase is HTAB / SP / VCHAR /
 *   obs-text.
 * - Framing (RFC 9112 6.3) is decided at HK_EV_HEAD_DONE. Request:
 *   Transfer-Encoding (chunked, also when Content-Length is present)
 *   else Content-Length else no body. Response: no body after HEAD and for
 *   1xx, 204, 304; 101, and 2xx to CONNECT, end HTTP on this direction: the
 *   message is reported (HEAD_DONE, MSG_DONE) and then the direction is
 *   NOT_HTTP without an HK_EV_NOT_HTTP event (a tunnel); else chunked, else
 *   Content-Length, else (also for a Transfer-Encoding not ending in
 *   chunked) until the close. A 1xx other than 101 is a whole message of
 *   its own (HEAD_DONE, MSG_DONE, idle): the caller keeps the request
 *   pending until the final response. A CONNECT or Upgrade request is
 *   tracked as a bodiless request; the tunnel's bytes that follow on the
 *   request direction then make it NOT_HTTP in the ordinary way.
 *
 * THREADS: a struct hk_http belongs to its connection; the caller
 * serialises access.
 */
#ifndef HK_HTTP_PARSE_H
#define HK_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HK_HTTP_METHOD_MAX 24		/* longer methods: NOT_HTTP */
#define HK_HTTP_TARGET_MAX 1024		/* request-target capture; longer: truncated */
#define HK_HTTP_HOST_MAX 256
#define HK_HTTP_UA_MAX 256
#define HK_HTTP_TP_MAX 128		/* traceparent; longer: treated as invalid */
#define HK_HTTP_TS_MAX 544		/* tracestate fields, joined with ',' */
#define HK_HTTP_BAGGAGE_MAX 1024	/* baggage fields, joined with ',' */
#define HK_HTTP_B3_MAX 128		/* b3 and each x-b3-* value */
#define HK_HTTP_LINE_MAX 16384		/* a longer start or header line: NOT_HTTP */
#define HK_HTTP_HEADERS_MAX 256		/* more header lines: NOT_HTTP */

enum hk_http_kind {
	HK_HTTP_REQUEST,		/* this direction carries requests */
	HK_HTTP_RESPONSE,		/* this direction carries responses */
};

enum hk_http_event {
	HK_EV_NONE,		/* all bytes consumed, nothing happened */
	HK_EV_HEAD_START,	/* the first byte of a new head was consumed
				 * (the return value counts it) */
	HK_EV_BLANK_LINE,	/* the blank line that ends the head starts at
				 * the offset returned (nothing of it consumed):
				 * the place to insert header lines */
	HK_EV_HEAD_DONE,	/* the head is complete (blank line consumed);
				 * fields below are final for this message */
	HK_EV_MSG_DONE,		/* the body is complete: the return value
				 * counts its last byte. A message without body
				 * bytes (Content-Length: 0 included) gets it
				 * from the call right after HEAD_DONE, which
				 * consumes 0 bytes (also when len is 0) */
	HK_EV_NOT_HTTP,		/* these bytes are not HTTP/1.x: the return
				 * value counts the bytes up to and including
				 * the offending one; the direction stays
				 * NOT_HTTP (every later feed returns len with
				 * HK_EV_NONE) */
};

#define HK_EV_ALL 0x3e		/* every event but HK_EV_NONE */

/* Captured value: NUL-terminated, len bytes; truncated when it did not fit. */
#define HK_HTTP_FIELD(name, cap)	\
	struct {			\
		uint16_t len;		\
		bool truncated;		\
		char s[cap];		\
	} name

struct hk_http {
	/* --- parser state (private to http_parse.c) --- */
	uint8_t kind;			/* enum hk_http_kind */
	uint8_t state;
	uint8_t substate;
	uint8_t hdr_id;			/* which captured header the value goes to */
	uint32_t line_len;		/* bytes in the current line */
	uint16_t nheaders;
	uint64_t remaining;		/* body bytes (or chunk bytes) left */
	char name_buf[32];		/* header name being read (lowercased); also
					 * the Connection/Transfer-Encoding token */
	uint8_t name_len;		/* also the method length while reading it */
	uint8_t flags;			/* F_* in http_parse.c */
	uint16_t seen;			/* 1 << header id: first field line captured */

	/* --- set by the caller --- */
	uint8_t report;			/* the events the caller acts on: bits
					 * 1 << HK_EV_*; hk_http_init() sets
					 * HK_EV_ALL. Others may be passed over
					 * (BLANK_LINE, a bodiless message's
					 * HEAD_DONE and MSG_DONE) or not */
	/* read at the response's HEAD_DONE (set them at its HEAD_START, from
	 * the FIFO of requests); never reset here */
	bool req_was_head;		/* RESPONSE: the request was HEAD (no body) */
	bool req_was_connect;		/* RESPONSE: the request was CONNECT */

	/* --- results for the current message (valid from HEAD_DONE until the
	 * next HEAD_START) --- */
	char method[HK_HTTP_METHOD_MAX + 1];	/* REQUEST: as sent */
	HK_HTTP_FIELD(target, HK_HTTP_TARGET_MAX + 1);	/* REQUEST: request-target */
	uint8_t version_minor;		/* HTTP/1.x: x */
	uint16_t status;		/* RESPONSE: status code */

	bool has_content_length;
	bool chunked;			/* Transfer-Encoding ends in chunked (a fact
					 * of the head, also when there is no body) */
	bool conn_close;		/* Connection: close, HTTP/1.0 without
					 * keep-alive, or until_close */
	bool upgrade;			/* an Upgrade header is present */
	bool until_close;		/* RESPONSE body delimited by the close */
	uint64_t content_length;	/* valid when has_content_length */

	/* Captured values: OWS trimmed, otherwise raw. Only the first field
	 * of a name is kept, except tracestate and baggage, whose fields are
	 * joined with ',' (an empty field adds nothing); when those do not
	 * fit, truncated is set and only the whole list members that fit are
	 * kept. Counts saturate at 255. */
	uint8_t traceparent_count;	/* traceparent fields seen (2+ = invalid) */
	uint8_t tracestate_count;
	HK_HTTP_FIELD(host, HK_HTTP_HOST_MAX + 1);
	HK_HTTP_FIELD(user_agent, HK_HTTP_UA_MAX + 1);
	HK_HTTP_FIELD(traceparent, HK_HTTP_TP_MAX + 1);
	HK_HTTP_FIELD(tracestate, HK_HTTP_TS_MAX + 1);		/* fields joined with ',' */
	HK_HTTP_FIELD(baggage, HK_HTTP_BAGGAGE_MAX + 1);	/* fields joined with ',' */
	HK_HTTP_FIELD(b3, HK_HTTP_B3_MAX + 1);
	HK_HTTP_FIELD(x_b3_traceid, HK_HTTP_B3_MAX + 1);
	HK_HTTP_FIELD(x_b3_spanid, HK_HTTP_B3_MAX + 1);
	HK_HTTP_FIELD(x_b3_sampled, HK_HTTP_B3_MAX + 1);
	HK_HTTP_FIELD(x_b3_flags, HK_HTTP_B3_MAX + 1);
	bool has_b3_headers;		/* any b3 / x-b3-* header present */
};

/* Reset p for a new connection direction. Can't fail. */
void hk_http_init(struct hk_http *p, enum hk_http_kind kind);

/*
 * Feed buf[0..len). Returns how many bytes were consumed (<= len) and sets
 * *ev to what happened at that point (see enum hk_http_event). The caller
 * loops until a call reports nothing:
 *
 *	do {
 *		size_t n = hk_http_feed(p, buf, len, &ev);
 *		act(ev, buf + n);
 *		buf += n, len -= n;
 *	} while (ev != HK_EV_NONE);
 *
 * HK_EV_NONE means all len bytes were consumed. A call consumes 0 bytes
 * only when it returns HK_EV_BLANK_LINE (the next call consumes the blank
 * line and returns HEAD_DONE), or the HK_EV_MSG_DONE right after the
 * HEAD_DONE of a message without body bytes, or when len is 0 and nothing
 * is pending (HK_EV_NONE). So two 0-byte events never follow each other
 * and the loop ends. A caller that stops as soon as len is 0 gets a
 * pending MSG_DONE at the start of its next call, or from hk_http_eof(),
 * which is late: prefer the loop above. Never fails: malformed input is
 * HK_EV_NOT_HTTP. buf may be NULL when len is 0.
 */
size_t hk_http_feed(struct hk_http *p, const uint8_t *buf, size_t len, enum hk_http_event *ev);

/*
 * n body bytes went by unseen (sendfile, splice): account for them. Inside
 * a Content-Length body (or one delimited by the close) they are counted
 * like fed bytes: returns how many were taken (all, or up to the end of the
 * body, with HK_EV_MSG_DONE) and the caller goes on with the rest. Bytes
 * that would have to contain framing the parser cannot see (a head, chunk
 * sizes) make the direction NOT_HTTP (returns n, HK_EV_NOT_HTTP).
 */
uint64_t hk_http_skip(struct hk_http *p, uint64_t n, enum hk_http_event *ev);

/* The peer closed (read returned 0) or the connection is closing: returns
 * true when that completes the current message (a body delimited by the
 * close, or a MSG_DONE still pending after HEAD_DONE), which the caller
 * then treats as HK_EV_MSG_DONE; p is then idle (or NOT_HTTP after a
 * tunnel's head). Returns false, changing nothing, anywhere else (a
 * message cut short, idle, NOT_HTTP). */
bool hk_http_eof(struct hk_http *p);

/* True when p is between messages (a new head may start; also while
 * skipping empty lines before it). */
bool hk_http_idle(const struct hk_http *p);

/* Within a start line: a head has begun (HEAD_START was reported) but its
 * request or status line is not complete, so the bytes are not yet known
 * to be HTTP ("ping", "GET key" cut short by the close). */
bool hk_http_in_start_line(const struct hk_http *p);

/* True once the direction was found not to be HTTP/1.x. */
bool hk_http_not_http(const struct hk_http *p);

/* Case-insensitive lookup used by propagation extraction: returns the
 * number of fields of that name seen in the current head (0, 1, 2...)
 * and sets *val and *len to the captured value (joined for tracestate and
 * baggage; NUL-terminated). key is lowercase ("traceparent", "tracestate",
 * "baggage", "b3", "x-b3-traceid", ... also "host", "user-agent").
 * traceparent and tracestate return their counts; the others 1 when
 * present. Absent or unknown key: 0, *val NULL, *len 0. A truncated
 * traceparent, b3 or x-b3-* value is returned with its count but with
 * *len 0, so every parser rejects it while the count still shows the
 * field is there; truncated tracestate/baggage give the whole members that
 * fit. Matches rt_getter (runtime/propagation.h). */
int hk_http_get(void *p, const char *key, const char **val, size_t *len);

#endif
