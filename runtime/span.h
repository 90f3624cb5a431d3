/*
 * span.h - the span model: one fixed-size record per span, taken from a
 * preallocated pool, filled by hooks on the application thread, handed to
 * the exporter through the queue, and returned to the pool after export.
 *
 * DESIGN: a span never allocates. Strings it keeps (name, attribute values,
 * status message, tracestate) are copied into its own arena; pointers into
 * the arena stay valid for the span's life because spans never move.
 * Attribute keys are static strings owned by the caller's code.
 *
 * THREADS: a span is written by one thread at a time: the thread that
 * started it until rt_span_end(), the exporter after that. Every function
 * accepts NULL (a dropped span) and does nothing then.
 */
#ifndef RT_SPAN_H
#define RT_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

#define RT_SPAN_MAX_ATTRS 48		/* span + event + link attributes, hard cap */
#define RT_SPAN_MAX_EVENTS 8
#define RT_SPAN_MAX_LINKS 4
#define RT_SPAN_ARENA 3072		/* bytes for the span's strings */

enum rt_kind {
	RT_KIND_UNSPECIFIED = 0,
	RT_KIND_INTERNAL = 1,
	RT_KIND_SERVER = 2,
	RT_KIND_CLIENT = 3,
	RT_KIND_PRODUCER = 4,
	RT_KIND_CONSUMER = 5,
};

enum rt_status {
	RT_STATUS_UNSET = 0,
	RT_STATUS_OK = 1,
	RT_STATUS_ERROR = 2,
};

enum rt_vtype {
	RT_V_STR = 1,
	RT_V_BOOL,
	RT_V_INT,
	RT_V_DOUBLE,
	RT_V_STRARR,			/* s: count NUL-terminated strings back to back */
};

#define RT_OWNER_SPAN 0
#define RT_OWNER_EVENT(i) ((uint8_t)(1 + (i)))		/* event i */
#define RT_OWNER_LINK(i) ((uint8_t)(0x80 | (i)))	/* link i */

struct rt_attr {
	const char *key;		/* static, or in the owner's arena */
	const char *s;			/* RT_V_STR/STRARR: bytes (NUL-terminated) */
	union {
		int64_t i;
		double d;
		bool b;
	} v;
	uint16_t len;			/* RT_V_STR: bytes in s; STRARR: bytes incl NULs */
	uint16_t count;			/* RT_V_STRARR: number of strings */
	uint8_t type;			/* enum rt_vtype */
	uint8_t owner;			/* RT_OWNER_* */
};

struct rt_event {
	uint64_t time_ns;		/* unix epoch nanoseconds */
	const char *name;		/* in arena or static */
	uint32_t dropped_attrs;
};

struct rt_link {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;			/* W3C trace-flags of the linked context */
	bool remote;
	const char *tracestate;		/* in arena, NULL when none */
	uint32_t dropped_attrs;
};

struct rt_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8];		/* all zero for a root span */
	bool has_parent;
	bool parent_remote;		/* parent came from a carrier */
	bool recording;			/* sampled: will be exported */
	uint8_t flags;			/* W3C trace-flags of this span */
	uint8_t kind;			/* enum rt_kind */
	uint8_t status;			/* enum rt_status */
	const char *name;		/* in arena or static */
	const char *status_msg;		/* in arena, NULL when none */
	const char *tracestate;		/* in arena, NULL when none */
	uint64_t start_ns;		/* unix epoch nanoseconds */
	uint64_t end_ns;

	uint16_t nattrs;		/* used entries in attrs[] (all owners) */
	uint16_t nspan_attrs;		/* of which owner == RT_OWNER_SPAN */
	uint64_t key_bloom;		/* a bit per key pointer set: most keys
					 * are new, and then no scan is needed */
	uint32_t dropped_attrs;		/* span attributes over the limits */
	uint8_t nevents;
	uint8_t nlinks;
	uint32_t dropped_events;
	uint32_t dropped_links;
	struct rt_attr attrs[RT_SPAN_MAX_ATTRS];
	struct rt_event events[RT_SPAN_MAX_EVENTS];
	struct rt_link links[RT_SPAN_MAX_LINKS];

	uint32_t arena_used;
	uint32_t pool_next;		/* pool bookkeeping: next free index */
	char arena[RT_SPAN_ARENA];
};

/* Limits from OTEL_* (spec defaults: value length unlimited, counts 128). */
struct rt_limits {
	uint32_t attr_value_len;	/* 0 = unlimited */
	uint32_t span_attrs;
	uint32_t span_events;
	uint32_t span_links;
	uint32_t event_attrs;
	uint32_t link_attrs;
};

/*
 * Start a span. parent NULL means the thread's current context (see
 * context.h); a parent with valid=false makes a root span. start_ns 0 means
 * now. The sampler decides recording; an unsampled span still has ids (so
 * its context can propagate) and is released, not exported, at its end;
 * it keeps only what its context needs (no name, no times read).
 * Returns NULL when the pool is exhausted or the runtime is off (counted).
 */
struct rt_span *rt_span_start(const char *name, enum rt_kind kind,
			      const struct rt_ctx *parent, uint64_t start_ns);

/* The span's own context (for children and for propagation). */
void rt_span_ctx(const struct rt_span *sp, struct rt_ctx *out);

/* Rename; copies into the arena. */
void rt_span_set_name(struct rt_span *sp, const char *name, size_t len);

/* Attributes. key must outlive the span: a string literal. A key set twice
 * (the same literal, so the same pointer: the linker merges equal literals)
 * replaces the value. Values are truncated to the value-length limit
 * (never splitting a UTF-8 sequence); over the count limit they are
 * dropped and counted. */
void rt_span_set_str(struct rt_span *sp, const char *key, const char *val, size_t len);
void rt_span_set_cstr(struct rt_span *sp, const char *key, const char *val);
void rt_span_set_int(struct rt_span *sp, const char *key, int64_t val);
void rt_span_set_bool(struct rt_span *sp, const char *key, bool val);
void rt_span_set_double(struct rt_span *sp, const char *key, double val);
void rt_span_set_strarr(struct rt_span *sp, const char *key, const char *const *vals, size_t n);

/*
 * Set n span attributes at once, in order: exactly what the rt_span_set_*
 * calls one by one would do, at a fraction of the cost when (as for every
 * HTTP request) the keys are distinct and new, the count limits leave room
 * for all of them and their strings fit the arena: one test, then plain
 * copies. kv[i] gives key, type (RT_V_STR, RT_V_INT, RT_V_BOOL or
 * RT_V_DOUBLE; other entries are skipped) and the value (s and len, or v);
 * its other fields are ignored. Strings are copied: they need only live
 * for the call.
 */
void rt_span_set_attrs(struct rt_span *sp, const struct rt_attr *kv, size_t n);

/*
 * A list of attributes prepared once and set on many spans (what one
 * connection gives each of its requests): the values laid out as the
 * span's arena will hold them, so that setting the list is two copies.
 */
#define RT_ATTR_PACK_MAX 8
#define RT_ATTR_PACK_TEXT 512

struct rt_attr_pack {
	uint8_t n;				/* entries in a[] */
	uint16_t text_len;			/* bytes of text[]: the values, each
						 * with its NUL, in order */
	uint16_t max_len;			/* the longest string value */
	uint64_t mask;				/* the key filter bits of all keys */
	struct rt_attr a[RT_ATTR_PACK_MAX];	/* as for rt_span_set_attrs(); string
						 * values point into text[] */
	char text[RT_ATTR_PACK_TEXT];
};

/* Prepare pk from kv[0..n) (as for rt_span_set_attrs(); keys distinct).
 * False (pk unusable) when there are more than RT_ATTR_PACK_MAX entries,
 * their strings do not fit text[], two keys are equal or an entry is of
 * another type. The values are copied. */
bool rt_attr_pack_make(struct rt_attr_pack *pk, const struct rt_attr *kv, size_t n);

/* rt_span_set_attrs(sp, pk->a, pk->n), exactly, at the cost of two copies
 * when the span has room for them all, under every limit. */
void rt_span_set_pack(struct rt_span *sp, const struct rt_attr_pack *pk);

void rt_span_set_status(struct rt_span *sp, enum rt_status st, const char *msg);

/* Add an event; returns its index for rt_span_event_set_str(), -1 when
 * dropped. time_ns 0 means now. */
int rt_span_add_event(struct rt_span *sp, const char *name, uint64_t time_ns);
void rt_span_event_set_str(struct rt_span *sp, int ev, const char *key, const char *val, size_t len);

/* Add a link to another context. Returns its index, -1 when dropped. */
int rt_span_add_link(struct rt_span *sp, const struct rt_ctx *ctx);

/* End a span: a recording span goes to the export queue (dropped and
 * counted when the queue is full), an unsampled one back to the pool.
 * end_ns 0 means now. The caller must not touch sp afterwards. */
void rt_span_end(struct rt_span *sp, uint64_t end_ns);

/*
 * Make a root span (no parent yet) the child of parent after all: for a
 * request whose context the program itself sends (a proxy forwarding its
 * caller's traceparent), so that the span joins that trace instead of
 * standing alone. Only for a recording span with no children yet, and
 * only when the sampler, asked again with that parent, also records it;
 * otherwise nothing changes. Returns whether it was adopted.
 */
bool rt_span_adopt_parent(struct rt_span *sp, const struct rt_ctx *parent);

/* Drop a span: it is released, never exported (a head that turned out not
 * to be HTTP). The caller must not touch sp afterwards. */
void rt_span_discard(struct rt_span *sp);

/* Find a span attribute by key (owner SPAN); NULL when absent. For tests
 * and encoders. */
const struct rt_attr *rt_span_attr(const struct rt_span *sp, const char *key);

#endif
