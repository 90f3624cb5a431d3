/*
 * gzip.c - gzip through a lazily loaded libz.so.1 (exporter thread only).
 */
#include "gzip.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <zlib.h>

static struct {
	int (*init2)(z_streamp, int, int, int, int, int, const char *, int);
	int (*deflate)(z_streamp, int);
	int (*end)(z_streamp);
	uLong (*bound)(z_streamp, uLong);
	const char *(*version)(void);
} z;
static int state;		/* 0 untried, 1 loaded, -1 unavailable */

static bool load(void)
{
	void *h;

	if (state)
		return state > 0;
	state = -1;
	h = dlopen("libz.so.1", RTLD_LAZY | RTLD_LOCAL);
	if (!h)
		return false;
	*(void **)&z.init2 = dlsym(h, "deflateInit2_");
	*(void **)&z.deflate = dlsym(h, "deflate");
	*(void **)&z.end = dlsym(h, "deflateEnd");
	*(void **)&z.bound = dlsym(h, "deflateBound");
	*(void **)&z.version = dlsym(h, "zlibVersion");
	if (!z.init2 || !z.deflate || !z.end || !z.bound || !z.version)
		return false;
	state = 1;
	return true;
}

int ex_gzip(struct ex_buf *out, const uint8_t *in, size_t n)
{
	z_stream s;
	int rc;

	if (!load())
		return -ENOSYS;
	memset(&s, 0, sizeof(s));
	/* windowBits 15 + 16: a gzip wrapper instead of zlib's. */
	if (z.init2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
		    z.version(), (int)sizeof(s)) != Z_OK)
		return -ENOMEM;
	ex_buf_reset(out);
	if (!ex_buf_reserve(out, z.bound(&s, (uLong)n) + 32)) {
		z.end(&s);
		return -ENOMEM;
	}
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)n;
	s.next_out = out->p;
	s.avail_out = (uInt)(out->cap);
	rc = z.deflate(&s, Z_FINISH);
	out->len = s.total_out;
	z.end(&s);
	return rc == Z_STREAM_END ? 0 : -ENOMEM;
}
