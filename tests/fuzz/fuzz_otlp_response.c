/*
 * fuzz_otlp_response.c - libFuzzer target for the OTLP partial-success
 * decoder in export/otlp_response.c (the body a collector sends back with
 * HTTP 200). Built and run by tests/fuzz/run.sh (`make fuzz`).
 *
 * Every input is used twice:
 *
 *   1. As a response body, exactly as libFuzzer hands it over (a heap block
 *      of exactly size bytes, so ASan reports any read past the end),
 *      decoded with several message capacities. Checks: the result is 0 or
 *      -1; -1 leaves rejected 0 and an empty message; the message is
 *      NUL-terminated inside its capacity, is valid UTF-8 without control
 *      characters, and the bytes after the capacity are untouched; a
 *      smaller capacity gives a prefix of the larger one's message, shorter
 *      by at most one cut UTF-8 character, and the same result and count.
 *
 *   2. As a script for an encoder written here: each byte picks an action
 *      (a field to skip: unknown number, or known number with another wire
 *      type, or a group; rejected_spans; error_message; a new
 *      partial_success), and the encoder emits a well-formed response
 *      while tracking what a protobuf parser must make of it (last value
 *      wins). The decoder must accept it and return exactly that count, and
 *      the same text it gives for that message encoded alone (text
 *      sanitising itself is checked by part 1 and the unit tests).
 */
// SOURCES: export/otlp_response.c
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../export/otlp_response.h"

#define CHECK(c)                                   \
	do {                                       \
		if (!(c))                          \
			__builtin_trap();          \
	} while (0)

#define MSGCAP 256
#define SENTINEL 0x5a

/* ---- 1. arbitrary bytes ---------------------------------------------- */

/* s is valid UTF-8 holding no C0, DEL or C1 control character. Written
 * from the table in RFC 3629 section 4, not from the decoder's code. */
static bool clean_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		unsigned char lo = 0x80, hi = 0xbf;	/* range of the 2nd byte */

		if (c >= 0x20 && c < 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 2;
		else if (c >= 0xe0 && c <= 0xef)
			k = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 4;
		else
			return false;
		if (c == 0xc2)
			lo = 0xa0;			/* U+0080..U+009F: C1 */
		else if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;			/* surrogates */
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (n - i < k || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t j = 2; j < k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xbf)
				return false;
		i += k;
	}
	return true;
}

/* Decode with capacity cap inside a larger buffer; check the contract. */
static int decode(const uint8_t *p, size_t n, size_t cap, long long *rej, char *msg)
{
	char buf[MSGCAP + 16];
	int rc;

	memset(buf, SENTINEL, sizeof(buf));
	rc = ex_otlp_partial_success_proto(p, n, rej, cap ? buf : NULL, cap);
	CHECK(rc == 0 || rc == -1);
	for (size_t i = cap; i < sizeof(buf); i++)
		CHECK(buf[i] == SENTINEL);
	if (!cap) {
		msg[0] = '\0';
	} else {
		size_t len = strnlen(buf, cap);

		CHECK(len < cap);
		CHECK(clean_utf8((const unsigned char *)buf, len));
		memcpy(msg, buf, len + 1);
	}
	if (rc < 0)
		CHECK(*rej == 0 && msg[0] == '\0');
	return rc;
}

static void fuzz_bytes(const uint8_t *data, size_t size)
{
	char full[MSGCAP], part[MSGCAP];
	long long rfull, rpart;
	size_t cap = size ? 1 + data[size - 1] % 16 : 1;
	int rc;

	rc = decode(data, size, MSGCAP, &rfull, full);
	CHECK(decode(data, size, cap, &rpart, part) == rc && rpart == rfull);
	CHECK(strncmp(full, part, strlen(part)) == 0);
	{
		size_t want = strlen(full) < cap - 1 ? strlen(full) : cap - 1;

		CHECK(strlen(part) <= want && strlen(part) + 3 >= want);
	}
	CHECK(decode(data, size, 0, &rpart, part) == rc && rpart == rfull);
}

/* ---- 2. well-formed responses built from a script -------------------- */

#define OUTMAX (64 * 1024)

struct enc {
	uint8_t b[OUTMAX];
	size_t n;
};

/* The script: bytes read in order; zero once it runs out. */
struct src {
	const uint8_t *p;
	size_t n;
};

static uint8_t next(struct src *s)
{
	if (!s->n)
		return 0;
	s->n--;
	return *s->p++;
}

static uint64_t next64(struct src *s)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | next(s);
	return v;
}

static void put(struct enc *e, const void *p, size_t n)
{
	CHECK(n <= OUTMAX - e->n);
	memcpy(e->b + e->n, p, n);
	e->n += n;
}

static void put_varint(struct enc *e, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	put(e, b, n);
}

static void put_key(struct enc *e, uint32_t field, uint32_t wire)
{
	put_varint(e, (uint64_t)field << 3 | wire);
}

/*
 * One field the decoder must skip, of the wire type the script picks. At
 * the top level (top) only 1 as a length is known, inside partial_success
 * only 1 as a varint and 2 as a length: any other number or wire type,
 * known numbers included, is fair. Inside a group (depth > 0) nothing is
 * known, so anything goes there.
 */
static void put_skipped(struct enc *e, struct src *s, int depth, bool top)
{
	static const uint32_t wires[] = { 0, 1, 2, 3, 5 };
	uint32_t field = 1 + next(s) % 200;
	uint32_t wire = wires[next(s) % 5];
	uint8_t tmp[32];
	size_t n;

	if (depth == 0 && (top ? field == 1 && wire == 2
			       : (field == 1 && wire == 0) || (field == 2 && wire == 2)))
		field += 2;			/* 3 or 4: unknown at both levels */
	put_key(e, field, wire);
	switch (wire) {
	case 0:
		put_varint(e, next64(s));
		break;
	case 1:
	case 5:
		n = wire == 1 ? 8 : 4;
		for (size_t i = 0; i < n; i++)
			tmp[i] = next(s);
		put(e, tmp, n);
		break;
	case 2:
		/* Bytes that may well look like fields 1 and 2. */
		n = next(s) % sizeof(tmp);
		for (size_t i = 0; i < n; i++)
			tmp[i] = next(s);
		put_varint(e, n);
		put(e, tmp, n);
		break;
	default:
		/* A group, possibly nested, holding what would be both known
		 * fields anywhere else, then one more field. */
		put_key(e, 1, 0);
		put_varint(e, next64(s));
		put_key(e, 2, 2);
		put_varint(e, 2);
		put(e, "zz", 2);
		if (depth < 4)
			put_skipped(e, s, depth + 1, top);
		put_key(e, field, 4);
		break;
	}
}

/* The text the decoder gives for partial_success { error_message: m }
 * encoded alone, the simplest way. */
static void shown(char *out, const uint8_t *m, size_t n)
{
	static struct enc e;
	long long rej;

	e.n = 0;
	put_key(&e, 1, 2);
	put_varint(&e, n + 2);			/* n < 128: one-byte length */
	put_key(&e, 2, 2);
	put_varint(&e, n);
	put(&e, m, n);
	CHECK(decode(e.b, e.n, MSGCAP, &rej, out) == 0 && rej == 0);
}

static void fuzz_script(const uint8_t *data, size_t size)
{
	static struct enc outer, inner;
	struct src s = { data, size };
	long long want_rej = 0, rej;
	char want_msg[MSGCAP] = "", msg[MSGCAP];
	bool pending = false;	/* inner holds fields not yet wrapped */
	uint8_t *copy;
	uint8_t text[64];
	int rc;

	outer.n = 0;
	inner.n = 0;
	while (s.n && outer.n + inner.n < OUTMAX / 2) {
		uint8_t op = next(&s);
		uint64_t v;
		size_t n;

		switch (op % 8) {
		case 5:		/* rejected_spans */
			v = next64(&s);
			put_key(&inner, 1, 0);
			put_varint(&inner, v);
			memcpy(&want_rej, &v, sizeof(v));
			pending = true;
			break;
		case 6:		/* error_message */
			n = next(&s) % sizeof(text);
			for (size_t i = 0; i < n; i++)
				text[i] = next(&s);
			put_key(&inner, 2, 2);
			put_varint(&inner, n);
			put(&inner, text, n);
			shown(want_msg, text, n);
			pending = true;
			break;
		case 7:		/* close this partial_success, a top-level skipped field */
			if (pending || op & 0x80) {
				put_key(&outer, 1, 2);
				put_varint(&outer, inner.n);
				put(&outer, inner.b, inner.n);
				inner.n = 0;
				pending = false;
			}
			put_skipped(&outer, &s, 0, true);
			break;
		default:	/* a skipped field inside partial_success */
			put_skipped(&inner, &s, 0, false);
			pending = true;
			break;
		}
	}
	if (pending) {
		put_key(&outer, 1, 2);
		put_varint(&outer, inner.n);
		put(&outer, inner.b, inner.n);
	}

	copy = malloc(outer.n ? outer.n : 1);	/* exact size: ASan sees over-reads */
	CHECK(copy != NULL);
	memcpy(copy, outer.b, outer.n);
	rc = decode(copy, outer.n, MSGCAP, &rej, msg);
	CHECK(rc == 0);
	CHECK(rej == want_rej);
	CHECK(strcmp(msg, want_msg) == 0);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_bytes(data, size);
	fuzz_script(data, size);
	return 0;
}
