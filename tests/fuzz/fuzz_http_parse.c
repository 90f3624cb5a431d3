// SOURCES: hooks/http_parse.c
/*
 * fuzz_http_parse.c - libFuzzer target for hooks/http_parse.c, the HTTP/1.x
 * head sniffer and body framer.
 *
 * Build and run (or tests/fuzz/run.sh http_parse):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=gnu11 \
 *     tests/fuzz/fuzz_http_parse.c hooks/http_parse.c -o fz_http
 *   mkdir -p /tmp/fzh && ./fz_http -max_total_time=60 /tmp/fzh tests/fuzz/corpus/http_parse/
 *
 * Input: byte 0 chooses the direction and the caller's flags (bit 0
 * RESPONSE, bit 1 req_was_head, bit 2 req_was_connect; bits 3-5: the
 * events a fifth caller does not ask for, BLANK_LINE, HEAD_DONE and
 * MSG_DONE, through p->report); byte 1 (low 4 bits)
 * how many cut points follow as 2-byte little-endian offsets (taken modulo
 * the payload length); the rest is the payload.
 *
 * The payload is fed four ways: whole; cut at the chosen points; one byte
 * per call; and cut at the chosen points by a "lazy" caller that stops as
 * soon as its bytes are consumed. Every piece is a heap block of exactly its
 * size, so ASan reports any read past the len the parser was given.
 *
 * The target traps unless:
 * - every call consumes at most len; HK_EV_NONE only with all len consumed;
 *   0 bytes only with BLANK_LINE, or the MSG_DONE right after HEAD_DONE,
 *   or len 0; never two 0-byte events in a row; a bounded number of calls;
 * - events follow the grammar (S B H M)* with X only as the very last;
 *   after X every call returns len with HK_EV_NONE;
 * - captured fields stay NUL-terminated within their capacity (checked
 *   at every event and after every piece);
 * - the three eager feedings give the identical list of (event, absolute
 *   offset), a byte-identical struct at every event and at the end;
 * - the lazy caller sees the same list, except that a MSG_DONE pending
 *   at the very end may be missing, and then hk_http_eof() reports it;
 * - the caller that asks for fewer events (cut at the chosen points) sees
 *   the whole list with only events it did not ask for missing, at the
 *   same offsets, and ends with a byte-identical struct (report aside).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../hooks/http_parse.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

#define FZ_MAX_LEN 4096
#define FZ_MAX_EV (3 * FZ_MAX_LEN + 16)
#define FZ_MAX_CUTS 15

struct fz_log {
	size_t n;
	uint8_t ev[FZ_MAX_EV];
	size_t off[FZ_MAX_EV];
	uint64_t hash[FZ_MAX_EV];	/* of the whole struct after the event */
	size_t pos;			/* absolute offset */
	enum hk_http_event last;
	bool last_zero;
	bool dead;			/* NOT_HTTP seen */
	size_t calls;
};

static uint64_t fnv(const void *s, size_t n)
{
	const uint8_t *b = s;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

#define FIELD_OK(f)                                              \
	do {                                                     \
		CHECK((f).len < sizeof((f).s));                  \
		CHECK((f).s[(f).len] == 0);                      \
		CHECK(strlen((f).s) == (f).len);                 \
	} while (0)

static void check_fields(struct hk_http *p)
{
	static const char *keys[] = { "traceparent", "tracestate", "baggage", "b3", "x-b3-traceid",
				      "x-b3-spanid", "x-b3-sampled", "x-b3-flags", "host", "user-agent" };
	size_t i;

	CHECK(strnlen(p->method, sizeof(p->method)) < sizeof(p->method));
	FIELD_OK(p->target);
	FIELD_OK(p->host);
	FIELD_OK(p->user_agent);
	FIELD_OK(p->traceparent);
	FIELD_OK(p->tracestate);
	FIELD_OK(p->baggage);
	FIELD_OK(p->b3);
	FIELD_OK(p->x_b3_traceid);
	FIELD_OK(p->x_b3_spanid);
	FIELD_OK(p->x_b3_sampled);
	FIELD_OK(p->x_b3_flags);
	CHECK(p->traceparent_count <= 1 || p->traceparent.len <= HK_HTTP_TP_MAX);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v;
		size_t vl;
		int c = hk_http_get(p, keys[i], &v, &vl);

		CHECK(c >= 0);
		CHECK(c ? v != NULL && strlen(v) >= vl : v == NULL && vl == 0);
	}
	CHECK(!(hk_http_idle(p) && hk_http_not_http(p)));
}

/* Is next allowed after prev? (NONE stands for "nothing yet".) */
static bool grammar_ok(enum hk_http_event prev, enum hk_http_event next)
{
	switch (prev) {
	case HK_EV_NONE:
	case HK_EV_MSG_DONE:
		return next == HK_EV_HEAD_START || next == HK_EV_NOT_HTTP;
	case HK_EV_HEAD_START:
		return next == HK_EV_BLANK_LINE || next == HK_EV_NOT_HTTP;
	case HK_EV_BLANK_LINE:
		return next == HK_EV_HEAD_DONE || next == HK_EV_NOT_HTTP;
	case HK_EV_HEAD_DONE:
		return next == HK_EV_MSG_DONE || next == HK_EV_NOT_HTTP;
	default:
		return false;
	}
}

/* One call, checked and logged. Returns the bytes consumed. */
static size_t one_call(struct hk_http *p, const uint8_t *buf, size_t len, struct fz_log *lg,
		       enum hk_http_event *evp)
{
	enum hk_http_event ev;
	size_t n = hk_http_feed(p, buf, len, &ev);

	CHECK(++lg->calls <= 4 * FZ_MAX_LEN + 64);
	CHECK(n <= len);
	*evp = ev;
	if (lg->dead) {
		CHECK(ev == HK_EV_NONE && n == len);
		CHECK(hk_http_not_http(p));
	}
	if (ev == HK_EV_NONE) {
		CHECK(n == len);
		lg->pos += n;
		return n;
	}
	if (n == 0) {
		CHECK(ev == HK_EV_BLANK_LINE || (ev == HK_EV_MSG_DONE && lg->last == HK_EV_HEAD_DONE));
		CHECK(!lg->last_zero);
	}
	CHECK(grammar_ok(lg->last, ev));
	check_fields(p);
	lg->last_zero = n == 0;
	lg->last = ev;
	lg->pos += n;
	CHECK(lg->n < FZ_MAX_EV);
	lg->ev[lg->n] = (uint8_t)ev;
	lg->off[lg->n] = lg->pos;
	lg->hash[lg->n] = fnv(p, sizeof(*p));
	lg->n++;
	if (ev == HK_EV_NOT_HTTP) {
		lg->dead = true;
		CHECK(hk_http_not_http(p));
	}
	if (ev == HK_EV_MSG_DONE)
		CHECK(hk_http_idle(p) || hk_http_not_http(p));
	return n;
}

/* The recommended loop: call until HK_EV_NONE. */
static void feed_eager(struct hk_http *p, const uint8_t *buf, size_t len, struct fz_log *lg)
{
	enum hk_http_event ev;

	do {
		size_t n = one_call(p, buf, len, lg, &ev);

		buf += n;
		len -= n;
	} while (ev != HK_EV_NONE);
}

/* A caller that stops as soon as len is 0. */
static void feed_lazy(struct hk_http *p, const uint8_t *buf, size_t len, struct fz_log *lg)
{
	enum hk_http_event ev;

	while (len) {
		size_t n = one_call(p, buf, len, lg, &ev);

		buf += n;
		len -= n;
	}
}

/* Feeds data[0..n) cut at cuts[0..ncuts) (ascending), each piece from an
 * exact-size heap copy. */
static void feed_cut(struct hk_http *p, const uint8_t *data, size_t n, const size_t *cuts,
		     size_t ncuts, bool lazy, struct fz_log *lg)
{
	size_t start = 0, k;

	for (k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n, len = end - start;
		uint8_t *piece = malloc(len ? len : 1);

		CHECK(piece != NULL);
		memcpy(piece, data + start, len);
		if (lazy)
			feed_lazy(p, piece, len, lg);
		else
			feed_eager(p, piece, len, lg);
		check_fields(p);
		free(piece);
		start = end;
	}
}

static void setup(struct hk_http *p, uint8_t mode)
{
	hk_http_init(p, (mode & 1) ? HK_HTTP_RESPONSE : HK_HTTP_REQUEST);
	p->req_was_head = mode & 2;
	p->req_was_connect = mode & 4;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The eager loop for a caller that asks for fewer events: the per-call
 * contract (no grammar: passed-over events leave gaps), events logged. */
static void feed_masked(struct hk_http *p, const uint8_t *data, size_t n, const size_t *cuts,
			size_t ncuts, struct fz_log *lg)
{
	size_t start = 0, k;

	for (k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n, len = end - start;
		uint8_t *piece = malloc(len ? len : 1), *buf = piece;
		enum hk_http_event ev;

		CHECK(piece != NULL);
		memcpy(piece, data + start, len);
		do {
			size_t c = hk_http_feed(p, buf, len, &ev);

			CHECK(++lg->calls <= 4 * FZ_MAX_LEN + 64);
			CHECK(c <= len);
			CHECK(ev != HK_EV_NONE || c == len);
			lg->pos += c;
			buf += c;
			len -= c;
			if (ev != HK_EV_NONE) {
				CHECK(lg->n < FZ_MAX_EV);
				lg->ev[lg->n] = (uint8_t)ev;
				lg->off[lg->n] = lg->pos;
				lg->n++;
			}
		} while (ev != HK_EV_NONE);
		check_fields(p);
		free(piece);
		start = end;
	}
}

/* sub is full with only events outside report missing. */
static bool passed_over_only(const struct fz_log *full, const struct fz_log *sub, unsigned report)
{
	size_t i, j = 0;

	for (i = 0; i < full->n; i++) {
		if (j < sub->n && sub->ev[j] == full->ev[i] && sub->off[j] == full->off[i]) {
			j++;
			continue;
		}
		if (report & (1u << full->ev[i]))
			return false;
	}
	return j == sub->n;
}

static bool same_log(const struct fz_log *a, const struct fz_log *b)
{
	return a->n == b->n && !memcmp(a->ev, b->ev, a->n) &&
	       !memcmp(a->off, b->off, a->n * sizeof(a->off[0])) &&
	       !memcmp(a->hash, b->hash, a->n * sizeof(a->hash[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hk_http whole, cut, bytes, lazy, masked;
	static struct fz_log lw, lc, lb, ll, lm;
	size_t cuts[FZ_MAX_CUTS], ncuts, i, n;
	const uint8_t *payload;
	uint8_t mode, *one;

	if (size < 2)
		return 0;
	mode = data[0];
	ncuts = data[1] & 15;
	if (size < 2 + 2 * ncuts)
		return 0;
	payload = data + 2 + 2 * ncuts;
	n = size - 2 - 2 * ncuts;
	if (n > FZ_MAX_LEN)
		return 0;
	for (i = 0; i < ncuts; i++)
		cuts[i] = n ? (size_t)(data[2 + 2 * i] | data[3 + 2 * i] << 8) % (n + 1) : 0;
	qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);

	memset(&lw, 0, sizeof(lw));
	memset(&lc, 0, sizeof(lc));
	memset(&lb, 0, sizeof(lb));
	memset(&ll, 0, sizeof(ll));

	setup(&whole, mode);
	feed_cut(&whole, payload, n, NULL, 0, false, &lw);
	CHECK(lw.pos == n);

	setup(&cut, mode);
	feed_cut(&cut, payload, n, cuts, ncuts, false, &lc);
	CHECK(lc.pos == n);
	CHECK(same_log(&lw, &lc));
	CHECK(!memcmp(&whole, &cut, sizeof(whole)));

	setup(&bytes, mode);
	one = malloc(1);
	CHECK(one != NULL);
	for (i = 0; i < n; i++) {
		one[0] = payload[i];
		feed_eager(&bytes, one, 1, &lb);
	}
	free(one);
	CHECK(lb.pos == n);
	CHECK(same_log(&lw, &lb));
	CHECK(!memcmp(&whole, &bytes, sizeof(whole)));

	setup(&lazy, mode);
	feed_cut(&lazy, payload, n, cuts, ncuts, true, &ll);
	CHECK(ll.pos == n);
	if (ll.n == lw.n) {
		CHECK(same_log(&lw, &ll));
	} else {
		/* only the trailing MSG_DONE of the last piece may be pending */
		CHECK(ll.n + 1 == lw.n && lw.ev[ll.n] == HK_EV_MSG_DONE);
		lw.n--;
		CHECK(same_log(&lw, &ll));
		lw.n++;
		CHECK(hk_http_eof(&lazy));
	}

	memset(&lm, 0, sizeof(lm));
	setup(&masked, mode);
	masked.report = (uint8_t)(HK_EV_ALL & ~((mode & 8 ? 1u << HK_EV_BLANK_LINE : 0) |
						  (mode & 16 ? 1u << HK_EV_HEAD_DONE : 0) |
						  (mode & 32 ? 1u << HK_EV_MSG_DONE : 0)));
	feed_masked(&masked, payload, n, cuts, ncuts, &lm);
	CHECK(lm.pos == n);
	CHECK(passed_over_only(&lw, &lm, masked.report));
	masked.report = whole.report;
	CHECK(!memcmp(&whole, &masked, sizeof(whole)));

	/* The close: a body until the close or a pending MSG_DONE completes. */
	{
		bool idle = hk_http_idle(&whole), dead = hk_http_not_http(&whole);
		bool until = whole.until_close;
		bool done = hk_http_eof(&whole);

		CHECK(!(done && (idle || dead)));
		if (until && !idle && !dead)
			CHECK(done);
		if (done)
			CHECK(hk_http_idle(&whole) || hk_http_not_http(&whole));
		else
			CHECK(hk_http_idle(&whole) == idle && hk_http_not_http(&whole) == dead);
	}
	return 0;
}
