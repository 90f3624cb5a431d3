/*
 * otlp_response.c - decoder for the partial_success part of an OTLP/HTTP
 * protobuf response (ExportTraceServiceResponse).
 *
 * DESIGN: a collector's answer is untrusted input, and this runs inside the
 * application's process, so the decoder is a bounds-checked reader over the
 * caller's bytes: every read goes through a cursor that knows where its
 * message ends, a nested message gets a cursor that ends where its length
 * says (checked against the parent's end first), and any field it does not
 * know is skipped by wire type (protobuf encoding rules: varint, 64-bit,
 * length-delimited, groups, 32-bit). Groups are deprecated but still valid
 * on the wire; they are skipped with a fixed stack of open field numbers
 * instead of recursion, so no input can grow the C stack.
 *
 * CHOICES where protobuf leaves room:
 *   - a varint longer than 10 bytes is malformed; bits past 64 in the 10th
 *     byte are dropped (what the reference C++ parser does);
 *   - a known field with the wrong wire type is skipped like an unknown one
 *     (the reference parsers keep it as an unknown field);
 *   - error_message that is not valid UTF-8 (proto3 says it must be) does
 *     not make the answer malformed, unlike in the reference parsers: the
 *     text is only logged, and losing it would hide the reason. Bad bytes
 *     and control characters become '?' instead, so what is logged is one
 *     line of valid UTF-8.
 *
 * THREADS: pure function over caller memory; no allocation, no I/O, no
 * global state, errno untouched.
 */
#include "otlp_response.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* Protobuf wire types. */
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_SGROUP 3
#define WT_EGROUP 4
#define WT_I32 5

#define VARINT_MAX 10		/* bytes in the longest varint (64 bits) */

/* A read position inside one message: [p, end). */
struct rd {
	const uint8_t *p;	/* next byte to read */
	const uint8_t *end;	/* one past the message's last byte */
};

static size_t left(const struct rd *r)
{
	return (size_t)(r->end - r->p);
}

/* Read one varint. Returns 0, or -1 when it runs past the end or is longer
 * than 10 bytes. */
static int varint(struct rd *r, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < VARINT_MAX; i++) {
		uint8_t b;

		if (r->p == r->end)
			return -1;
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);	/* i = 9: only bit 63 stays */
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* Read a field key. Returns 0, or -1 when truncated, wider than 32 bits, or
 * naming field 0 or wire type 6 or 7 (neither exists). */
static int key(struct rd *r, uint32_t *field, uint32_t *wire)
{
	uint64_t v;

	if (varint(r, &v) || v > UINT32_MAX)
		return -1;
	*field = (uint32_t)(v >> 3);
	*wire = (uint32_t)(v & 7);
	if (*field == 0 || *wire > WT_I32)
		return -1;
	return 0;
}

/* Read the length of a length-delimited field and check that many bytes
 * follow inside the message. Returns 0 or -1. */
static int length(struct rd *r, size_t *len)
{
	uint64_t v;

	if (varint(r, &v) || v > left(r))
		return -1;
	*len = (size_t)v;
	return 0;
}

/* Skip the value of a field of wire type 0, 1, 2 or 5. Returns 0 or -1. */
static int skip_plain(struct rd *r, uint32_t wire)
{
	uint64_t v;
	size_t n;

	switch (wire) {
	case WT_VARINT:
		return varint(r, &v);
	case WT_I64:
		n = 8;
		break;
	case WT_I32:
		n = 4;
		break;
	case WT_LEN:
		if (length(r, &n))
			return -1;
		break;
	default:
		return -1;
	}
	if (n > left(r))
		return -1;
	r->p += n;
	return 0;
}

/* Skip a group whose start key (field number field) was just read, up to
 * and including its matching end key. Groups nest at most
 * EX_OTLP_MAX_DEPTH deep. Returns 0 or -1. */
static int skip_group(struct rd *r, uint32_t field)
{
	uint32_t open[EX_OTLP_MAX_DEPTH];	/* field numbers of open groups */
	size_t depth = 0;
	uint32_t f, w;

	open[depth++] = field;
	while (depth) {
		if (key(r, &f, &w))
			return -1;
		if (w == WT_SGROUP) {
			if (depth == EX_OTLP_MAX_DEPTH)
				return -1;
			open[depth++] = f;
		} else if (w == WT_EGROUP) {
			if (open[--depth] != f)
				return -1;	/* ends a group that is not the open one */
		} else if (skip_plain(r, w)) {
			return -1;
		}
	}
	return 0;
}

/* Skip any field whose key was just read. An end-group key here has no
 * open group: malformed. */
static int skip(struct rd *r, uint32_t field, uint32_t wire)
{
	if (wire == WT_SGROUP)
		return skip_group(r, field);
	return skip_plain(r, wire);
}

/* int64 from its varint (two's complement in 64 bits), without relying on
 * the implementation-defined unsigned-to-signed conversion. */
static long long to_int64(uint64_t v)
{
	if (v <= (uint64_t)LLONG_MAX)
		return (long long)v;
	return -(long long)~v - 1;
}

/* Length of the well-formed UTF-8 sequence (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF) at s[0..n), n > 0; 0 when there is none. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;		/* continuation byte, overlong lead, > U+10FFFF */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A character a log line must not carry: C0 controls, DEL, C1 controls
 * (U+0080..U+009F, which some terminals obey). */
static bool control(const uint8_t *s, size_t len)
{
	return (len == 1 && (s[0] < 0x20 || s[0] == 0x7f)) ||
	       (len == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

/*
 * Copy the string field src[0..len) into msg (cap > 0) as text that is safe
 * to log: valid UTF-8 characters are kept whole, a control character or a
 * byte that starts no valid sequence becomes '?'. Stops at the last whole
 * character that fits in cap - 1 bytes; NUL-terminates.
 */
static void copy_text(char *msg, size_t cap, const uint8_t *src, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		size_t k = utf8_seq(src + i, len - i);

		if (k == 0 || control(src + i, k)) {
			if (o + 1 > cap - 1)
				break;
			msg[o++] = '?';
			i += k ? k : 1;
			continue;
		}
		if (o + k > cap - 1)
			break;
		memcpy(msg + o, src + i, k);
		o += k;
		i += k;
	}
	msg[o] = '\0';
}

/* Decode one ExportTracePartialSuccess occupying all of r. Fields that
 * appeared in an earlier occurrence are overwritten (protobuf merge). */
static int partial(struct rd *r, long long *rejected, char *msg, size_t msgcap)
{
	uint32_t f, w;
	uint64_t v;
	size_t len;

	while (r->p < r->end) {
		if (key(r, &f, &w))
			return -1;
		if (f == 1 && w == WT_VARINT) {		/* int64 rejected_spans */
			if (varint(r, &v))
				return -1;
			*rejected = to_int64(v);
		} else if (f == 2 && w == WT_LEN) {	/* string error_message */
			if (length(r, &len))
				return -1;
			if (msgcap)
				copy_text(msg, msgcap, r->p, len);
			r->p += len;
		} else if (skip(r, f, w)) {
			return -1;
		}
	}
	return 0;
}

static int response(struct rd *r, long long *rejected, char *msg, size_t msgcap)
{
	uint32_t f, w;
	size_t len;

	while (r->p < r->end) {
		if (key(r, &f, &w))
			return -1;
		if (f == 1 && w == WT_LEN) {		/* partial_success */
			struct rd sub;

			if (length(r, &len))
				return -1;
			sub.p = r->p;
			sub.end = r->p + len;
			if (partial(&sub, rejected, msg, msgcap))
				return -1;
			r->p += len;
		} else if (skip(r, f, w)) {
			return -1;
		}
	}
	return 0;
}

int ex_otlp_partial_success_proto(const uint8_t *p, size_t n, long long *rejected,
				  char *msg, size_t msgcap)
{
	struct rd r;

	*rejected = 0;
	if (msgcap)
		msg[0] = '\0';
	if (n == 0)
		return 0;	/* p may be NULL: no pointer arithmetic on it */
	r.p = p;
	r.end = p + n;
	if (response(&r, rejected, msg, msgcap) == 0)
		return 0;
	*rejected = 0;
	if (msgcap)
		msg[0] = '\0';
	return -1;
}
