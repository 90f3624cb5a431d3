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
 * *val and *len at the first one. Case-insensitive matching is the getter's job.
 */
typedef int (*rt_getter)(void *carrier, const char *key, const char **val, size_t *len);

/* A carrier writer: emit one field (lowercase name). */
typedef void (*rt_setter)(void *carrier, const char *key, const char *val, size_t len);

/*
 * traceparent. Parses a header value per W3C (leading/trailing spaces and
 * tabs allowed; version 00 exactly 55 chars; higher versions parsed by
 * position; ff invalid; zero ids invalid; lowercase hex only). On success
 * fills trace_id, span_id, flags, sets valid and remote, clears tracestate,
 * and returns true. On failure returns false and leaves ctx->valid false.
 */
bool rt_traceparent_parse(const char *s, size_t len, struct rt_ctx *ctx);

/* Writes "00-<trace>-<span>-<flags>" (55 chars + NUL) into out, which must
 * hold 56 bytes. Returns 55. */
size_t rt_traceparent_format(const struct rt_ctx *ctx, char *out);

/*
 * tracestate. Validates a (possibly comma-joined) header value: at most 32
 * list members, keys and values per W3C, empty members allowed and dropped
 * on output. Returns false when any member is invalid (the caller then
 * discards the whole tracestate). On success writes the normalised list
 * (members joined with ',', no OWS) into out (cap bytes incl NUL); when it
 * does not fit, whole members are dropped, members over 128 chars first.
 */
bool rt_tracestate_sanitize(const char *s, size_t len, char *out, size_t cap);

/*
 * baggage. Validates a W3C baggage value and writes it normalised into out
 * (cap bytes incl NUL), keeping at most 64 list members and 8192 bytes by
 * dropping whole members. Members that are invalid are dropped; returns
 * false only when nothing valid remains (out is "" then).
 */
bool rt_baggage_sanitize(const char *s, size_t len, char *out, size_t cap);

/* B3 single header "{traceid}-{spanid}[-{sampled}[-{parentspanid}]]" or a
 * lone "0"/"1"/"d". Trace ids of 16 hex chars are left-padded with zeros.
 * Only a context with ids counts as success. */
bool rt_b3_single_parse(const char *s, size_t len, struct rt_ctx *ctx);
/* "{32 hex}-{16 hex}-{1|0}" into out (cap >= 52). Returns the length. */
size_t rt_b3_single_format(const struct rt_ctx *ctx, char *out, size_t cap);

/*
 * Composite extract: runs the configured propagators in order; a later one
 * that finds a valid context replaces an earlier result (OTel composite
 * propagator semantics). ctx->valid is false when none found a context.
 * baggage (may be NULL) receives the sanitised baggage, "" when none.
 */
void rt_prop_extract(const struct rt_props *props, void *carrier, rt_getter get,
		     struct rt_ctx *ctx, char *baggage, size_t baggage_cap);

/*
 * Composite inject: emits the fields of every configured propagator for a
 * valid ctx (nothing for an invalid one). baggage may be NULL or "".
 */
void rt_prop_inject(const struct rt_props *props, const struct rt_ctx *ctx,
		    const char *baggage, void *carrier, rt_setter set);

/* Parse an OTEL_PROPAGATORS value ("tracecontext,baggage", "b3multi",
 * "none"). Unknown names are skipped and reported in *unknown (first one,
 * may be NULL). Returns false when the value had an unknown name. */
bool rt_props_parse(const char *s, struct rt_props *out, const char **unknown);

#endif
