/*
 * otlp_proto.c - spans to OTLP protobuf (ExportTraceServiceRequest), by
 * hand, without a protobuf library.
 *
 * DESIGN: canonical proto3 output, as protoc would write it: fields in
 * number order, minimal varints, scalar fields at their default value
 * (0, "", false) left out, except inside AnyValue's oneof, where the chosen
 * member is always written. Strings are repaired to valid UTF-8 (U+FFFD for
 * each ill-formed subsequence) because receivers reject invalid `string`s.
 *
 * Message lengths come first on the wire. The small, hot messages
 * (KeyValue with a scalar value) are sized before they are written, so
 * they are written once. Larger ones (Span, Event, Link, the containers)
 * reserve a guessed number of bytes for their length, are written, and are
 * shifted with memmove when the length turned out to need a different
 * number of bytes. The guesses are right for typical spans, so a batch of
 * spans costs about two memmoves of the whole batch (ResourceSpans and
 * ScopeSpans) and none per span.
 *
 * Field numbers: opentelemetry-proto v1.x, common/v1/common.proto,
 * resource/v1/resource.proto, trace/v1/trace.proto and
 * collector/trace/v1/trace_service.proto (a copy is in tests/proto).
 *
 * THREADS: called on the exporter thread; keeps no state.
 */
#include <errno.h>
#include <string.h>

#include "cjson_dl.h"
#include "encode.h"

/* Wire types (protobuf encoding guide). */
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_I32 5
#define TAG(field, wt) ((uint8_t)(((field) << 3) | (wt)))	/* fields 1..15 */

/* Span.flags / Span.Link.flags bits (trace.proto, enum SpanFlags). */
#define SPAN_FLAGS_TRACE_FLAGS_MASK 0xffu
#define SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK 0x100u
#define SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK 0x200u

#define VARINT_MAX 10

/* a->v.b read as a byte: any non-zero is true, and a corrupt bool cannot
 * trip undefined behaviour. */
static inline bool attr_bool(const struct rt_attr *a)
{
	uint8_t v;

	memcpy(&v, &a->v.b, 1);
	return v != 0;
}

/* Room for n more bytes at the end of b: a pointer to it, or NULL when b
 * failed (then nothing may be written). */
static inline uint8_t *room(struct ex_buf *b, size_t n)
{
	if (__builtin_expect(!b->failed && b->cap - b->len >= n, 1))
		return b->p + b->len;
	return ex_buf_reserve(b, n) ? b->p + b->len : NULL;
}

/* Bytes of the varint encoding of v (1..10). */
static inline size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The writers below store at p, which has room (see room()), and return
 * the position after what they wrote. They can't fail. */

/* Base-128 varint, least significant group first. */
static inline uint8_t *w_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* 8 bytes, little-endian (fixed64, and double as its IEEE bits): one
 * store where the machine is little-endian. */
static inline uint8_t *w_fixed64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 8);
#else
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
#endif
	return p + 8;
}

/* 4 bytes, little-endian. */
static inline uint8_t *w_fixed32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 4);
#else
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
#endif
	return p + 4;
}

/* A string as it will go on the wire: after UTF-8 repair when needed. */
struct txt {
	const uint8_t *s;
	size_t n;			/* input bytes */
	size_t out;			/* bytes on the wire */
	bool ok;			/* already valid UTF-8: copied as is */
};

/* Describe s[0..n) (NULL: empty) for writing: validates it once and
 * records its size after repair. Can't fail. */
static inline void txt_init(struct txt *t, const char *s, size_t n)
{
	t->s = (const uint8_t *)(s ? s : "");
	t->n = s ? n : 0;
	t->ok = ex_utf8_valid(t->s, t->n);
	t->out = t->ok ? t->n : ex_utf8_repaired_len(t->s, t->n);
}

/* txt_init() for a C string (NULL: empty). */
static inline void txt_cstr(struct txt *t, const char *s)
{
	txt_init(t, s, s ? strlen(s) : 0);
}

/*
 * Attribute keys are string literals (or, for the resource, strings that
 * live as long as it): a batch repeats the same few pointers thousands of
 * times. One encode call remembers what txt_cstr() found for each, by
 * pointer; nothing changes the bytes behind a pointer during the call.
 */
#define KEY_MEMO 64

struct key_memo {
	const char *key;
	struct txt t;
};

static inline void key_txt(struct key_memo *memo, struct txt *t, const char *key)
{
	struct key_memo *m = &memo[((uintptr_t)key >> 3) & (KEY_MEMO - 1)];

	if (key && m->key == key) {
		*t = m->t;
		return;
	}
	txt_cstr(t, key);
	if (key) {
		m->key = key;
		m->t = *t;
	}
}

/* Store t's bytes (repaired when needed): t->out bytes. Most strings
 * here are keys and short values: up to 16 bytes take two overlapping
 * moves (reading and writing nothing outside the n bytes). */
static inline uint8_t *w_txt(uint8_t *p, const struct txt *t)
{
	const uint8_t *s = t->s;
	size_t n = t->n;
	uint64_t x, y;
	uint32_t u, v;

	if (!t->ok)
		return p + ex_utf8_repair(p, s, n);
	if (n >= 8 && n <= 16) {
		memcpy(&x, s, 8);
		memcpy(&y, s + n - 8, 8);
		memcpy(p, &x, 8);
		memcpy(p + n - 8, &y, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(&u, s, 4);
		memcpy(&v, s + n - 4, 4);
		memcpy(p, &u, 4);
		memcpy(p + n - 4, &v, 4);
	} else if (n < 4) {
		for (size_t i = 0; i < n; i++)
			p[i] = s[i];
	} else {
		memcpy(p, s, n);
	}
	return p + n;
}

/* Bytes of a length-delimited field with a one-byte tag and n payload
 * bytes. */
static inline size_t ld_size(size_t n)
{
	return 1 + varint_len(n) + n;
}

/* Field `tag` = t, a string; left out when empty unless keep_empty. */
static void put_str(struct ex_buf *b, uint8_t tag, const struct txt *t, bool keep_empty)
{
	uint8_t *p;

	if (t->out == 0 && !keep_empty)
		return;
	p = room(b, 1 + VARINT_MAX + t->out);
	if (!p)
		return;
	*p++ = tag;
	p = w_varint(p, t->out);
	p = w_txt(p, t);
	b->len = (size_t)(p - b->p);
}

/* String field from a C string; left out when NULL or empty. */
static void put_cstr(struct ex_buf *b, uint8_t tag, const char *s)
{
	struct txt t;

	if (!s || !*s)
		return;
	txt_cstr(&t, s);
	put_str(b, tag, &t, false);
}

/* Field `tag` = n raw bytes (ids; inline, so n is a constant). */
static inline void put_bytes(struct ex_buf *b, uint8_t tag, const uint8_t *d, size_t n)
{
	uint8_t *p = room(b, 1 + VARINT_MAX + n);

	if (!p)
		return;
	*p++ = tag;
	p = w_varint(p, n);
	memcpy(p, d, n);
	b->len = (size_t)(p + n - b->p);
}

/* Varint field; left out when v is 0 (proto3 default). */
static void put_uvarint(struct ex_buf *b, uint8_t tag, uint64_t v)
{
	uint8_t *p;

	if (v == 0)
		return;
	p = room(b, 1 + VARINT_MAX);
	if (!p)
		return;
	*p++ = tag;
	p = w_varint(p, v);
	b->len = (size_t)(p - b->p);
}

/* fixed64 field; left out when v is 0. */
static void put_fixed64(struct ex_buf *b, uint8_t tag, uint64_t v)
{
	uint8_t *p;

	if (v == 0)
		return;
	p = room(b, 9);
	if (!p)
		return;
	*p++ = tag;
	p = w_fixed64(p, v);
	b->len = (size_t)(p - b->p);
}

/* fixed32 field with a tag of one or two bytes (field 16 needs two). */
static void put_fixed32(struct ex_buf *b, uint32_t field, uint32_t v)
{
	uint8_t *p;

	if (v == 0)
		return;
	p = room(b, 2 + 4);
	if (!p)
		return;
	p = w_varint(p, (field << 3) | WT_I32);
	p = w_fixed32(p, v);
	b->len = (size_t)(p - b->p);
}

/*
 * Start a length-delimited field whose length is not known yet: writes the
 * tag, reserves `guess` bytes for the length and returns the offset where
 * the payload starts (0 when b failed). Pair with msg_close().
 */
static inline size_t msg_open(struct ex_buf *b, uint8_t tag, size_t guess)
{
	uint8_t *p = room(b, 1 + guess);

	if (!p)
		return 0;
	*p = tag;
	b->len += 1 + guess;
	return b->len;
}

/* Write the length of the payload started at `start`, moving the payload
 * when its length varint is not `guess` bytes long. */
static void msg_close(struct ex_buf *b, size_t start, size_t guess)
{
	size_t len, need;

	if (b->failed)
		return;
	len = b->len - start;
	need = varint_len(len);
	if (need != guess) {
		if (need > guess && !ex_buf_reserve(b, need - guess))
			return;
		memmove(b->p + start - guess + need, b->p + start, len);
		b->len = b->len - guess + need;
	}
	w_varint(b->p + start - guess, len);
}

/* AnyValue { array_value = ArrayValue { values = [string_value...] } } for
 * RT_V_STRARR: count NUL-terminated strings within s[0..len). A string
 * missing its NUL ends at len; strings past len are written empty. */
static void put_strarr(struct ex_buf *b, const struct rt_attr *a)
{
	const char *s = a->s ? a->s : "";
	size_t left = a->s ? a->len : 0, arr, one, i, n;
	struct txt t;
	uint8_t *p;

	arr = msg_open(b, TAG(5, WT_LEN), 1);	/* AnyValue.array_value */
	for (i = 0; i < a->count; i++) {
		const char *nul = left ? memchr(s, '\0', left) : NULL;

		n = nul ? (size_t)(nul - s) : left;
		txt_init(&t, s, n);
		one = ld_size(t.out);		/* AnyValue.string_value */
		p = room(b, ld_size(one));
		if (!p)
			return;
		*p++ = TAG(1, WT_LEN);		/* ArrayValue.values */
		p = w_varint(p, one);
		*p++ = TAG(1, WT_LEN);
		p = w_varint(p, t.out);
		p = w_txt(p, &t);
		b->len = (size_t)(p - b->p);
		if (nul) {
			left -= n + 1;
			s = nul + 1;
		} else {
			s += left;
			left = 0;
		}
	}
	msg_close(b, arr, 1);
}

/* One KeyValue as field `tag` of the enclosing message. Scalar values are
 * sized first and written in one go. An unknown value type is written as
 * an empty AnyValue. */
static void put_kv(struct ex_buf *b, uint8_t tag, const struct rt_attr *a, struct key_memo *memo)
{
	struct txt k, v = { 0 };
	size_t any = 0, kv, kvstart;
	uint64_t u = 0;
	uint8_t *p;

	key_txt(memo, &k, a->key);
	/* The usual attribute: a key and a string or integer whose lengths all
	 * fit one-byte varints (KeyValue under 128 bytes): written straight,
	 * the same bytes the general code below writes. */
	if (k.out && a->type == RT_V_STR) {
		txt_init(&v, a->s, a->len);
		if (k.out + v.out < 122) {
			p = room(b, 6 + k.out + 4 + v.out);
			if (!p)
				return;
			p[0] = tag;
			p[1] = (uint8_t)(4 + k.out + 2 + v.out);	/* KeyValue */
			p[2] = TAG(1, WT_LEN);				/* .key */
			p[3] = (uint8_t)k.out;
			p = w_txt(p + 4, &k);
			p[0] = TAG(2, WT_LEN);				/* .value */
			p[1] = (uint8_t)(2 + v.out);
			p[2] = TAG(1, WT_LEN);				/* AnyValue.string_value */
			p[3] = (uint8_t)v.out;
			p = w_txt(p + 4, &v);
			b->len = (size_t)(p - b->p);
			return;
		}
	} else if (k.out && a->type == RT_V_INT) {
		u = (uint64_t)a->v.i;
		any = 1 + varint_len(u);
		if (k.out + any < 124) {
			p = room(b, 6 + k.out + 2 + any);
			if (!p)
				return;
			p[0] = tag;
			p[1] = (uint8_t)(4 + k.out + any);		/* KeyValue */
			p[2] = TAG(1, WT_LEN);				/* .key */
			p[3] = (uint8_t)k.out;
			p = w_txt(p + 4, &k);
			p[0] = TAG(2, WT_LEN);				/* .value */
			p[1] = (uint8_t)any;
			p[2] = TAG(3, WT_VARINT);			/* AnyValue.int_value */
			p = w_varint(p + 3, u);
			b->len = (size_t)(p - b->p);
			return;
		}
	}
	if (a->type == RT_V_STRARR) {
		kvstart = msg_open(b, tag, 1);
		put_str(b, TAG(1, WT_LEN), &k, false);			/* key */
		size_t vstart = msg_open(b, TAG(2, WT_LEN), 1);		/* value */
		put_strarr(b, a);
		msg_close(b, vstart, 1);
		msg_close(b, kvstart, 1);
		return;
	}
	switch (a->type) {
	case RT_V_STR:
		txt_init(&v, a->s, a->len);
		any = ld_size(v.out);
		break;
	case RT_V_BOOL:
		any = 2;
		break;
	case RT_V_INT:
		u = (uint64_t)a->v.i;		/* int64: two's complement, 10 bytes if < 0 */
		any = 1 + varint_len(u);
		break;
	case RT_V_DOUBLE:
		any = 9;
		break;
	default:
		break;
	}
	kv = (k.out ? ld_size(k.out) : 0) + ld_size(any);
	p = room(b, ld_size(kv));
	if (!p)
		return;
	*p++ = tag;
	p = w_varint(p, kv);
	if (k.out) {
		*p++ = TAG(1, WT_LEN);		/* KeyValue.key */
		p = w_varint(p, k.out);
		p = w_txt(p, &k);
	}
	*p++ = TAG(2, WT_LEN);			/* KeyValue.value */
	p = w_varint(p, any);
	switch (a->type) {
	case RT_V_STR:
		*p++ = TAG(1, WT_LEN);		/* AnyValue.string_value */
		p = w_varint(p, v.out);
		p = w_txt(p, &v);
		break;
	case RT_V_BOOL:
		*p++ = TAG(2, WT_VARINT);	/* AnyValue.bool_value */
		*p++ = attr_bool(a) ? 1 : 0;
		break;
	case RT_V_INT:
		*p++ = TAG(3, WT_VARINT);	/* AnyValue.int_value */
		p = w_varint(p, u);
		break;
	case RT_V_DOUBLE: {
		uint64_t bits;

		memcpy(&bits, &a->v.d, 8);
		*p++ = TAG(4, WT_I64);		/* AnyValue.double_value */
		p = w_fixed64(p, bits);
		break;
	}
	default:
		break;
	}
	b->len = (size_t)(p - b->p);
}

/* Every attribute of sp owned by `owner`, as repeated field `tag`. */
static void put_attrs(struct ex_buf *b, uint8_t tag, const struct rt_span *sp, uint8_t owner,
		      struct key_memo *memo)
{
	size_t n = sp->nattrs < RT_SPAN_MAX_ATTRS ? sp->nattrs : RT_SPAN_MAX_ATTRS;

	for (size_t i = 0; i < n; i++)
		if (sp->attrs[i].owner == owner)
			put_kv(b, tag, &sp->attrs[i], memo);
}

/* Span.Event i. */
static void put_event(struct ex_buf *b, const struct rt_span *sp, size_t i, struct key_memo *memo)
{
	const struct rt_event *ev = &sp->events[i];
	size_t start = msg_open(b, TAG(11, WT_LEN), 1);

	put_fixed64(b, TAG(1, WT_I64), ev->time_ns);
	put_cstr(b, TAG(2, WT_LEN), ev->name);
	put_attrs(b, TAG(3, WT_LEN), sp, RT_OWNER_EVENT(i), memo);
	put_uvarint(b, TAG(4, WT_VARINT), ev->dropped_attrs);
	msg_close(b, start, 1);
}

/* Span.Link i. Its flags always say whether the linked context is remote
 * (bit 8 set, bit 9 = remote), as trace.proto describes for Link.flags. */
static void put_link(struct ex_buf *b, const struct rt_span *sp, size_t i, struct key_memo *memo)
{
	const struct rt_link *ln = &sp->links[i];
	size_t start = msg_open(b, TAG(13, WT_LEN), 1);
	uint32_t flags;

	put_bytes(b, TAG(1, WT_LEN), ln->trace_id, 16);
	put_bytes(b, TAG(2, WT_LEN), ln->span_id, 8);
	put_cstr(b, TAG(3, WT_LEN), ln->tracestate);
	put_attrs(b, TAG(4, WT_LEN), sp, RT_OWNER_LINK(i), memo);
	put_uvarint(b, TAG(5, WT_VARINT), ln->dropped_attrs);
	flags = (ln->flags & SPAN_FLAGS_TRACE_FLAGS_MASK) | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK;
	if (ln->remote)
		flags |= SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK;
	put_fixed32(b, 6, flags);
	msg_close(b, start, 1);
}

/* One Span as ScopeSpans.spans. */
static void put_span(struct ex_buf *b, const struct rt_span *sp, struct key_memo *memo)
{
	size_t start = msg_open(b, TAG(2, WT_LEN), 2);	/* ScopeSpans.spans */
	size_t nev = sp->nevents < RT_SPAN_MAX_EVENTS ? sp->nevents : RT_SPAN_MAX_EVENTS;
	size_t nln = sp->nlinks < RT_SPAN_MAX_LINKS ? sp->nlinks : RT_SPAN_MAX_LINKS;
	bool has_parent = sp->has_parent && !rt_id_is_zero(sp->parent_id, 8);
	uint32_t flags;

	put_bytes(b, TAG(1, WT_LEN), sp->trace_id, 16);
	put_bytes(b, TAG(2, WT_LEN), sp->span_id, 8);
	put_cstr(b, TAG(3, WT_LEN), sp->tracestate);
	if (has_parent)
		put_bytes(b, TAG(4, WT_LEN), sp->parent_id, 8);
	put_cstr(b, TAG(5, WT_LEN), sp->name);
	put_uvarint(b, TAG(6, WT_VARINT), sp->kind);
	put_fixed64(b, TAG(7, WT_I64), sp->start_ns);
	put_fixed64(b, TAG(8, WT_I64), sp->end_ns);
	put_attrs(b, TAG(9, WT_LEN), sp, RT_OWNER_SPAN, memo);
	put_uvarint(b, TAG(10, WT_VARINT), sp->dropped_attrs);
	for (size_t i = 0; i < nev; i++)
		put_event(b, sp, i, memo);
	put_uvarint(b, TAG(12, WT_VARINT), sp->dropped_events);
	for (size_t i = 0; i < nln; i++)
		put_link(b, sp, i, memo);
	put_uvarint(b, TAG(14, WT_VARINT), sp->dropped_links);
	if (sp->status != RT_STATUS_UNSET || (sp->status_msg && *sp->status_msg)) {
		size_t st = msg_open(b, TAG(15, WT_LEN), 1);

		put_cstr(b, TAG(2, WT_LEN), sp->status_msg);	/* Status.message */
		put_uvarint(b, TAG(3, WT_VARINT), sp->status);	/* Status.code */
		msg_close(b, st, 1);
	}
	/*
	 * Bit 8 is always set: we always know whether the parent is remote.
	 * For a root span that is "not remote", the reading the OTel SDKs give
	 * it (they test the parent context, which for a root is an invalid,
	 * non-remote one).
	 */
	flags = (sp->flags & SPAN_FLAGS_TRACE_FLAGS_MASK) | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK;
	if (has_parent && sp->parent_remote)
		flags |= SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK;
	put_fixed32(b, 16, flags);
	msg_close(b, start, 2);
}

/* See encode.h. NULL entries in spans are skipped; res may be NULL (an
 * empty Resource is written). Returns 0, or -ENOMEM when b hit its cap or
 * an allocation failed. */
int ex_otlp_proto_encode(struct ex_buf *b, const struct rt_resource *res,
			 struct rt_span *const *spans, size_t n)
{
	struct key_memo memo[KEY_MEMO];
	size_t rs, r, ss, sc;
	struct txt t;

	memset(memo, 0, sizeof(memo));
	/* Guess 3 bytes for the batch-sized lengths: up to 2 MiB. */
	rs = msg_open(b, TAG(1, WT_LEN), 3);	/* ExportTraceServiceRequest.resource_spans */

	r = msg_open(b, TAG(1, WT_LEN), 2);	/* ResourceSpans.resource */
	if (res) {
		size_t na = res->nattrs < RT_RESOURCE_MAX_ATTRS ? res->nattrs : RT_RESOURCE_MAX_ATTRS;

		for (size_t i = 0; i < na; i++)
			put_kv(b, TAG(1, WT_LEN), &res->attrs[i], memo);	/* Resource.attributes */
		put_uvarint(b, TAG(2, WT_VARINT), res->dropped_attrs);
	}
	msg_close(b, r, 2);

	ss = msg_open(b, TAG(2, WT_LEN), 3);	/* ResourceSpans.scope_spans */
	sc = msg_open(b, TAG(1, WT_LEN), 1);	/* ScopeSpans.scope */
	txt_cstr(&t, RT_SCOPE_NAME);
	put_str(b, TAG(1, WT_LEN), &t, false);	/* InstrumentationScope.name */
	txt_cstr(&t, RT_SCOPE_VERSION);
	put_str(b, TAG(2, WT_LEN), &t, false);	/* InstrumentationScope.version */
	msg_close(b, sc, 1);
	for (size_t i = 0; i < n; i++)
		if (spans[i])
			put_span(b, spans[i], memo);
	msg_close(b, ss, 3);
	msg_close(b, rs, 3);
	return b->failed ? -ENOMEM : 0;
}
