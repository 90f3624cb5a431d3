/*
 * hex.c - lowercase hex codec for trace and span ids.
 *
 * DESIGN: W3C trace context allows only lowercase hex (HEXDIGLC), so the
 * decoder rejects 'A'-'F'. Both functions are pure: no allocation, no
 * errno, no global mutable state; safe from any thread and from a signal
 * handler.
 */
#include "ctx.h"

/* Value of one lowercase hex digit, or -1 for any other byte. */
static int lhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Writes the 2n lowercase hex characters of id[0..n) and a NUL into out,
 * which must hold 2n + 1 bytes. Can't fail.
 */
void rt_hex_encode(const uint8_t *id, size_t n, char *out)
{
	/* Two digits per byte from one table: a traceparent is 25 bytes. */
	static const char pairs[513] =
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
		"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
		"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
		"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = pairs[2 * id[i]];
		out[2 * i + 1] = pairs[2 * id[i] + 1];
	}
	out[2 * n] = '\0';
}

/*
 * Decodes exactly 2n characters of s (which need not be NUL-terminated and
 * is never read past s[2n - 1]) into id[0..n). Returns false when any of
 * them is not a lowercase hex digit; id is then left untouched, because the
 * input is validated completely before the first byte is written.
 */
bool rt_hex_decode_lower(const char *s, size_t n, uint8_t *id)
{
	for (size_t i = 0; i < 2 * n; i++)
		if (lhex(s[i]) < 0)
			return false;
	for (size_t i = 0; i < n; i++)
		id[i] = (uint8_t)(lhex(s[2 * i]) << 4 | lhex(s[2 * i + 1]));
	return true;
}
