/*
 * kvlist.h - the "key1=value1,key2=value2" lists of OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_EXPORTER_OTLP_HEADERS (W3C-baggage-like syntax, values
 * percent-decoded, surrounding whitespace trimmed).
 */
#ifndef RT_KVLIST_H
#define RT_KVLIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Calls fn(key, klen, value, vlen, arg) for each member of the
 * NUL-terminated s, in order, after decoding. Keys and values are handed out
 * NUL-terminated in scratch (cap bytes), valid until scratch is reused.
 * Returns false, without calling fn for any member, when the list is
 * malformed (a member without '=', an empty key, a bad percent escape, an
 * escape decoding to NUL, or more than cap bytes of decoded text incl. one
 * NUL per key and value): OTel then discards it whole. Empty members (",,",
 * a trailing ',') are skipped; NULL or "" is an empty list (true, no call).
 * fn may be NULL to validate only.
 */
bool rt_kvlist_parse(const char *s, char *scratch, size_t cap,
		     void (*fn)(const char *key, size_t klen, const char *val,
				size_t vlen, void *arg),
		     void *arg);

/* Percent-decode s[0..len) into out (cap incl NUL). Returns the decoded
 * length, or -1 on a bad escape or overflow. */
long rt_percent_decode(const char *s, size_t len, char *out, size_t cap);

#endif
