/*
 * buf.h - a growable byte buffer with a hard cap, for encoders.
 *
 * DESIGN: grows by doubling up to max; past max it sets failed and ignores
 * further writes, so encoders write unconditionally and check once at the
 * end. Used on the exporter thread only; allocates with malloc.
 */
#ifndef EX_BUF_H
#define EX_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ex_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;			/* hard cap on cap */
	bool failed;			/* an append did not fit or malloc failed */
};

void ex_buf_init(struct ex_buf *b, size_t max);
void ex_buf_free(struct ex_buf *b);
/* Forget the contents, keep the memory and the cap. */
void ex_buf_reset(struct ex_buf *b);
/* Make room for n more bytes; returns false (and sets failed) when it can't. */
bool ex_buf_reserve(struct ex_buf *b, size_t n);
void ex_buf_append(struct ex_buf *b, const void *data, size_t n);
void ex_buf_putc(struct ex_buf *b, uint8_t c);
void ex_buf_puts(struct ex_buf *b, const char *s);
/* printf-style append. */
void ex_buf_printf(struct ex_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
