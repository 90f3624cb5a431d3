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
	static const char digits[16] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 0x0f];
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
