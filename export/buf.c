/*
 * buf.c - growable byte buffer with a hard cap (see buf.h).
 *
 * DESIGN: capacity starts at EX_BUF_MIN and doubles, clamped to max. The
 * first append that cannot fit (over max, or malloc failed) sets failed;
 * from then on every append is ignored until ex_buf_reset(), so encoders
 * write unconditionally and test failed once at the end. The contents are
 * never NUL-terminated by these functions.
 *
 * THREADS: none; a buffer belongs to one thread (the exporter's).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EX_BUF_MIN 4096			/* first allocation: one page */

/* Set up an empty buffer that may grow to max bytes. Allocates nothing;
 * can't fail. max 0 means every append fails. */
void ex_buf_init(struct ex_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->failed = false;
}

/* Release the memory; the buffer is empty afterwards and may be reused with
 * the same max. Can't fail. */
void ex_buf_free(struct ex_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

/* Drop the contents and the failed flag, keep the allocation. Can't fail. */
void ex_buf_reset(struct ex_buf *b)
{
	b->len = 0;
	b->failed = false;
}

/* Make cap - len >= n. Returns true when there is room; false (and failed
 * set) when the buffer already failed, when len + n exceeds max, or when
 * realloc failed (the old contents are kept then). */
bool ex_buf_reserve(struct ex_buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *np;

	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	if (n > b->max || b->len > b->max - n)
		goto fail;
	need = b->len + n;
	ncap = b->cap ? b->cap : EX_BUF_MIN;
	while (ncap < need) {
		if (ncap > b->max / 2) {
			ncap = b->max;
			break;
		}
		ncap *= 2;
	}
	if (ncap > b->max)
		ncap = b->max;
	np = realloc(b->p, ncap);
	if (!np)
		goto fail;
	b->p = np;
	b->cap = ncap;
	return true;
fail:
	b->failed = true;
	return false;
}

/* Append n bytes of data (data may be NULL when n is 0). On failure the
 * buffer is marked failed and left unchanged. */
void ex_buf_append(struct ex_buf *b, const void *data, size_t n)
{
	if (n == 0 || !ex_buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

/* Append one byte; marks failed when it does not fit. */
void ex_buf_putc(struct ex_buf *b, uint8_t c)
{
	if (!ex_buf_reserve(b, 1))
		return;
	b->p[b->len++] = c;
}

/* Append a C string without its NUL; NULL appends nothing. */
void ex_buf_puts(struct ex_buf *b, const char *s)
{
	if (s)
		ex_buf_append(b, s, strlen(s));
}

/* printf-style append, without the NUL. A formatting error (vsnprintf < 0)
 * or a result over the cap marks the buffer failed. */
void ex_buf_printf(struct ex_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	char *tmp;
	int n;

	if (b->failed)
		return;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(room ? (char *)b->p + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < room) {			/* fitted, NUL included */
		b->len += (size_t)n;
		return;
	}
	if (!ex_buf_reserve(b, (size_t)n))
		return;
	if (b->cap - b->len > (size_t)n) {	/* room for the NUL too */
		va_start(ap, fmt);
		vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
		b->len += (size_t)n;
		return;
	}
	/* Exactly at the cap: the NUL does not fit, format elsewhere. */
	tmp = malloc((size_t)n + 1);
	if (!tmp) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	memcpy(b->p + b->len, tmp, (size_t)n);
	b->len += (size_t)n;
	free(tmp);
}
