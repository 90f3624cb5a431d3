/*
 * kvlist.c - parser for the "key1=value1,key2=value2" lists of
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS.
 *
 * SYNTAX (OTel resource SDK and OTLP exporter specs): members separated by
 * ','; each member is key '=' value, split at the first '=' (a value may
 * hold further '='); whitespace around key and value is trimmed, then both
 * are percent-decoded ("%2C" is how a ',' gets into a value). '+' is not a
 * space: this is percent-encoding, not form encoding.
 *
 * CHOICES where the specs are silent, each one deliberate:
 *   - members that are empty or only whitespace (a trailing comma, ",,")
 *     are skipped, not errors;
 *   - "whitespace" is space, tab, CR, LF, VT and FF (an environment value
 *     pasted from a file may carry a newline);
 *   - an escape decoding to NUL ("%00") is an error: keys and values are
 *     handed to C code as strings, and an embedded NUL would silently
 *     truncate them.
 *
 * DESIGN: two passes over the same text. The first decodes everything into
 * scratch to prove the whole list is well formed and fits; only then does
 * the second pass decode again (to the same offsets) and call fn, so fn is
 * never called for a list that is rejected.
 *
 * THREADS: pure functions over caller memory: no allocation, no I/O, no
 * global mutable state, errno untouched.
 */
#include <string.h>

#include "kvlist.h"

/* The C-locale isspace() set, without the locale lookup. */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Value of a hex digit of either case, or -1. */
static int xdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Narrows [*b, *e) so that it neither starts nor ends with whitespace. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && is_ws(**b))
		(*b)++;
	while (*e > *b && is_ws((*e)[-1]))
		(*e)--;
}

/*
 * Percent-decodes s[0..len) into out and NUL-terminates it. Every '%' must
 * be followed by two hex digits (either case) inside s. Returns the decoded
 * length (at most len), or -1 on a bad escape or when the decoded text plus
 * its NUL does not fit in cap bytes (always -1 for cap 0). On -1 the content
 * of out is unspecified. Never reads past s[len - 1].
 */
long rt_percent_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t i = 0, n = 0;

	while (i < len) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = xdigit(s[i + 1]);
			lo = xdigit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 3;
		} else {
			i++;
		}
		if (n + 1 >= cap)	/* room for c and the NUL */
			return -1;
		out[n++] = c;
	}
	if (cap == 0)
		return -1;
	out[n] = '\0';
	return (long)n;
}

/* Decodes one trimmed key or value into scratch at *used, advancing *used
 * past its NUL. Returns its length, or -1 (bad escape, no room, or a
 * decoded NUL). */
static long decode_part(const char *b, const char *e, char *scratch, size_t cap, size_t *used)
{
	long n = rt_percent_decode(b, (size_t)(e - b), scratch + *used, cap - *used);

	if (n < 0 || memchr(scratch + *used, '\0', (size_t)n))
		return -1;
	*used += (size_t)n + 1;
	return n;
}

/*
 * One pass over the list. With fn NULL it only validates; otherwise it calls
 * fn for each member. Returns false at the first malformed member.
 */
static bool walk(const char *s, char *scratch, size_t cap,
		 void (*fn)(const char *key, size_t klen, const char *val,
			    size_t vlen, void *arg),
		 void *arg)
{
	size_t used = 0;
	const char *p = s;

	for (;;) {
		const char *b = p, *e = p, *eq, *kb, *ke, *vb, *ve;
		long klen, vlen;
		size_t koff, voff;
		bool last;

		while (*e && *e != ',')
			e++;
		last = !*e;
		p = e + 1;			/* only used when !last */
		trim(&b, &e);
		if (b < e) {
			eq = memchr(b, '=', (size_t)(e - b));
			if (!eq)
				return false;		/* member without '=' */
			kb = b;
			ke = eq;
			vb = eq + 1;
			ve = e;
			trim(&kb, &ke);
			trim(&vb, &ve);
			if (kb == ke)
				return false;		/* empty key */
			koff = used;
			klen = decode_part(kb, ke, scratch, cap, &used);
			if (klen < 0)
				return false;
			voff = used;
			vlen = decode_part(vb, ve, scratch, cap, &used);
			if (vlen < 0)
				return false;
			if (fn)
				fn(scratch + koff, (size_t)klen, scratch + voff, (size_t)vlen, arg);
		}
		if (last)
			return true;
	}
}

/*
 * Validates the whole NUL-terminated list s first; only when every member is
 * well formed and the decoded text fits in scratch[0..cap) is fn called, once
 * per member in order, with NUL-terminated key and value inside scratch (valid
 * until scratch is reused). Returns false, without calling fn, for a member
 * without '=', an empty key, a bad or NUL-producing escape, or overflow. NULL
 * or empty s (or only empty members) is a valid empty list: true, no calls.
 */
bool rt_kvlist_parse(const char *s, char *scratch, size_t cap,
		     void (*fn)(const char *key, size_t klen, const char *val,
				size_t vlen, void *arg),
		     void *arg)
{
	if (!s)
		return true;
	if (!walk(s, scratch, cap, NULL, NULL))
		return false;
	if (fn)
		walk(s, scratch, cap, fn, arg);
	return true;
}
