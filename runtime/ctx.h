/*
 * ctx.h - span context: the identity a span is known by, and what crosses
 * process boundaries (W3C trace context).
 *
 * A context is plain data, copied by value. It never owns memory.
 */
#ifndef RT_CTX_H
#define RT_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RT_TRACESTATE_MAX 512		/* W3C: propagate at least 512 characters */
#define RT_BAGGAGE_MAX 8192		/* W3C baggage: at least 8192 bytes */

#define RT_FLAG_SAMPLED 0x01		/* W3C trace-flags bit 0 */
#define RT_FLAG_RANDOM 0x02		/* W3C Level 2: trace-id is random */

struct rt_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;			/* W3C trace-flags as received or minted */
	bool valid;			/* ids are set and non-zero */
	bool remote;			/* came from a carrier (header, environment) */
	char tracestate[RT_TRACESTATE_MAX + 1];	/* validated; "" when none */
};

/* Copy a context: its fixed part and its tracestate up to the NUL (a
 * plain struct copy moves all 540 bytes, on every request). Can't fail. */
static inline void rt_ctx_copy(struct rt_ctx *dst, const struct rt_ctx *src)
{
	size_t n = src->tracestate[0] ? strnlen(src->tracestate, RT_TRACESTATE_MAX) : 0;

	memcpy(dst, src, offsetof(struct rt_ctx, tracestate));
	memcpy(dst->tracestate, src->tracestate, n);
	dst->tracestate[n] = 0;
}

/* True when every byte of id[0..n) is zero. */
static inline bool rt_id_is_zero(const uint8_t *id, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= id[i];
	return acc == 0;
}

/* Lowercase hex of id[0..n) into out (2n chars, NUL-terminated). Can't fail. */
void rt_hex_encode(const uint8_t *id, size_t n, char *out);

/* Parse exactly 2n lowercase hex characters into id. Returns false on any
 * other character (uppercase is rejected, as W3C requires). */
bool rt_hex_decode_lower(const char *s, size_t n, uint8_t *id);

#endif
