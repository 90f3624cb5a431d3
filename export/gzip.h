/*
 * gzip.h - gzip compression of request bodies (OTEL_EXPORTER_OTLP_COMPRESSION
 * =gzip) through zlib, loaded with dlopen on first use.
 */
#ifndef EX_GZIP_H
#define EX_GZIP_H

#include "buf.h"

/* Compress in[0..n) into out (reset first) as a gzip stream. Returns 0, or
 * -ENOSYS when zlib is unavailable, -ENOMEM on overflow. */
int ex_gzip(struct ex_buf *out, const uint8_t *in, size_t n);

#endif
