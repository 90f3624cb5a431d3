/*
 * propagation.h - codecs for context carriers: W3C traceparent/tracestate,
 * W3C baggage, B3 single and multi header. No allocation, no I/O: pure
 * functions over bytes, safe from any thread.
 *
 * Specs: https://www.w3.org/TR/trace-context/ (Level 1 and Level 2),
 * https://www.w3.org/TR/baggage/, https://github.com/openzipkin/b3-propagation.
 */
#ifndef RT_PROPAGATION_H
#define RT_PROPAGATION_H

#include "ctx.h"

/* Propagator identifiers, in OTEL_PROPAGATORS spelling. */
enum rt_prop {
	RT_PROP_TRACECONTEXT = 1,	/* traceparent + tracestate */
	RT_PROP_BAGGAGE,		/* baggage */
	RT_PROP_B3,			/* b3 single header */
	RT_PROP_B3MULTI,		/* x-b3-traceid, x-b3-spanid, x-b3-sampled, x-b3-flags */
};
#define RT_PROP_MAX 6			/* at most this many in one OTEL_PROPAGATORS list */

struct rt_props {
	uint8_t n;
	uint8_t list[RT_PROP_MAX];	/* enum rt_prop, in configured order */
};

/*
 * A carrier lookup. key is a lowercase header name ("traceparent"). Returns
 * how many fields of that name the carrier holds (0 when absent) and points
 * *val and *len at the first one (not NUL-terminated). Case-insensitive
 * matching is the getter's job.
 *
 * List-valued fields: W3C requires several "tracestate" (and "baggage")
 * fields to be combined into one per RFC 7230 section 3.2.2, and the W3C
 * test suite sends tracestate split over several fields. A getter that can
 * SHOULD therefore hand back all fields of those names joined with ',' (as
 * one field); one that only gives the first loses the later ones (and cannot
 * see duplicate keys or a 33rd member across fields). "traceparent" must
 * never be joined: two fields of it make it invalid.
 */
typedef int (*rt_getter)(void *carrier, const char *key, const char **val, size_t *len);

/* A carrier writer: emit one field (lowercase name). */
typedef void (*rt_setter)(void *carrier, const char *key, const char *val, size_t len);

/*
 * traceparent. Parses a header value per W3C (leading/trailing spaces and
 * tabs allowed; version 00 exactly 55 chars; higher versions parsed by
 * position; ff invalid; zero ids invalid; lowercase hex only). On success
 * fills trace_id, span_id, flags (as received for version 00; only the
 * sampled bit for a higher version), sets valid and remote, clears
 * tracestate, and returns true. On failure returns false, sets ctx->valid
 * false and changes nothing else. Never reads s[len] or beyond.
 */
bool rt_traceparent_parse(const char *s, size_t len, struct rt_ctx *ctx);

/* Writes "00-<trace>-<span>-<flags>" (55 chars + NUL) into out, which must
 * hold 56 bytes. Flag bits version 00 does not define (all but sampled and
 * random) are written as zero, as W3C requires. Returns 55. */
size_t rt_traceparent_format(const struct rt_ctx *ctx, char *out);

/*
 * tracestate. Validates a (possibly comma-joined) header value: at most 32
 * list members, keys and values per W3C (key grammar of the W3C Trace
 * Context Recommendation, simple-key / tenant@system; see propagation.c),
 * no duplicate keys, empty members allowed and dropped on output. Returns
 * false when any member is invalid (the caller then discards the whole
 * tracestate) or cap is 0; out is then "" (when cap > 0). On success writes
 * the normalised list (members joined with ',', no OWS) into out (cap bytes
 * incl NUL); when it does not fit, whole members are dropped: members over
 * 128 chars first, starting from the end, then members from the end. The
 * result may be "" (an empty header is valid).
 */
bool rt_tracestate_sanitize(const char *s, size_t len, char *out, size_t cap);

/*
 * baggage. Validates a W3C baggage value and writes it normalised into out
 * (cap bytes incl NUL), keeping at most 64 list members and
 * min(8192, cap - 1) bytes by dropping whole members (a later, shorter
 * member may still be kept). Members that are invalid (not a token key,
 * bad octet, bad %XX escape, malformed property) are dropped. Values stay
 * percent-encoded; OWS is removed. Returns false when nothing was written
 * (out is "" then, when cap > 0).
 */
bool rt_baggage_sanitize(const char *s, size_t len, char *out, size_t cap);

/* B3 single header "{traceid}-{spanid}[-{sampled}[-{parentspanid}]]" or a
 * lone "0"/"1"/"d". Trace ids of 16 hex chars are left-padded with zeros.
 * Sampling "d" (debug) counts as sampled; an absent sampling state (B3
 * "defer") is treated as sampled, see propagation.c. Only a context with
 * ids counts as success; on failure ctx->valid is false. */
bool rt_b3_single_parse(const char *s, size_t len, struct rt_ctx *ctx);
/* "{32 hex}-{16 hex}-{1|0}" into out (cap >= 52). Returns the length (51),
 * or 0 with out "" when cap is too small. */
size_t rt_b3_single_format(const struct rt_ctx *ctx, char *out, size_t cap);

/*
 * Composite extract: runs the configured propagators in order; a later one
 * that finds a valid context replaces an earlier result (OTel composite
 * propagator semantics). ctx->valid is false when none found a context.
 * tracecontext needs exactly one traceparent field; an invalid tracestate
 * only empties ctx->tracestate. b3 and b3multi both try the "b3" header
 * first and the X-B3-* headers after it (OTel "B3 Extract").
 * baggage (may be NULL) receives the sanitised baggage, "" when none.
 */
void rt_prop_extract(const struct rt_props *props, void *carrier, rt_getter get,
		     struct rt_ctx *ctx, char *baggage, size_t baggage_cap);

/*
 * Composite inject: emits the fields of every configured propagator, in
 * configured order: tracecontext -> traceparent (+ tracestate when not
 * empty), b3 -> b3 only, b3multi -> x-b3-traceid, x-b3-spanid, x-b3-sampled.
 * Those need a valid ctx (nothing for an invalid one). baggage -> "baggage"
 * whenever baggage is non-empty, even without a valid ctx; baggage may be
 * NULL or "", and text over RT_BAGGAGE_MAX bytes is not sent.
 */
void rt_prop_inject(const struct rt_props *props, const struct rt_ctx *ctx,
		    const char *baggage, void *carrier, rt_setter set);

/* The OTel environment carrier's name for header key: upper case, '-' as
 * '_' ("traceparent" -> "TRACEPARENT", "x-b3-traceid" -> "X_B3_TRACEID").
 * Writes at most cap bytes incl NUL into out; returns the name's length. */
static inline size_t rt_env_carrier_name(const char *key, char *out, size_t cap)
{
	size_t i;

	for (i = 0; key[i] && i + 1 < cap; i++)
		out[i] = key[i] >= 'a' && key[i] <= 'z' ? (char)(key[i] - 32)
			 : key[i] == '-' ? '_' : key[i];
	out[i] = 0;
	return i;
}

/* Parse a NUL-terminated OTEL_PROPAGATORS value ("tracecontext,baggage",
 * "b3multi", "none"). Items are trimmed and matched case-insensitively
 * (OTel: enum values SHOULD be), duplicates are dropped, "none" adds
 * nothing ("none" alone: empty list). NULL, "" or no names at all: the
 * default tracecontext,baggage. Unknown names are skipped; unknown may be
 * NULL, else *unknown is set to the first unknown name, pointing INTO s (not
 * NUL-terminated at the end of the name: the rest of s follows), or NULL.
 * Returns false when the value had an unknown name; out still holds the
 * known ones. */
bool rt_props_parse(const char *s, struct rt_props *out, const char **unknown);

#endif
