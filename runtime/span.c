/*
 * span.c - span start/end, attributes, events, links, status.
 *
 * DESIGN: a span is one pool record (queue.c). Strings are copied into the
 * record's arena; limits (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT and the count
 * limits) are applied as values arrive, with drops counted on the span as
 * OTLP's dropped_* fields expect. When the arena is full, further strings
 * are dropped like over-limit attributes: bounded memory wins.
 *
 * THREADS: see span.h. Nothing here blocks or allocates.
 */
#include "span.h"

#include <stddef.h>
#include <string.h>

#include "config.h"
#include "context.h"
#include "queue.h"
#include "runtime.h"
#include "stack.h"

/* Bytes of s[0..len) that fit in max without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	/* Back off continuation bytes (10xxxxxx) to a character start. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* Copy s into the arena, NUL-terminated; NULL when it does not fit. */
static const char *arena_copy(struct rt_span *sp, const char *s, size_t len)
{
	char *d;

	if (len > RT_SPAN_ARENA - 1 - sp->arena_used)
		return NULL;
	d = sp->arena + sp->arena_used;
	if (len)
		memcpy(d, s, len);
	d[len] = 0;
	sp->arena_used += (uint32_t)len + 1;
	return d;
}

static uint32_t span_attr_limit(void)
{
	uint32_t l = rt_cfg.limits.span_attrs;

	return l < RT_SPAN_MAX_ATTRS ? l : RT_SPAN_MAX_ATTRS;
}

struct rt_span *rt_span_start(const char *name, enum rt_kind kind,
			      const struct rt_ctx *parent, uint64_t start_ns)
{
	struct rt_ctx cur;
	struct rt_span *sp;
	bool new_trace = false;

	if (!rt_enabled)
		return NULL;
	sp = rt_pool_get();
	if (!sp) {
		RT_STAT_ADD(dropped_pool_empty, 1);
		return NULL;
	}
	memset(sp, 0, offsetof(struct rt_span, attrs));
	sp->arena_used = 0;
	if (!parent) {
		rt_ctx_current(&cur);
		parent = &cur;
	}
	if (parent->valid) {
		memcpy(sp->trace_id, parent->trace_id, 16);
		memcpy(sp->parent_id, parent->span_id, 8);
		sp->has_parent = true;
		sp->parent_remote = parent->remote;
		sp->flags = parent->flags & RT_FLAG_RANDOM;
		if (parent->tracestate[0])
			sp->tracestate = arena_copy(sp, parent->tracestate,
						    strlen(parent->tracestate));
	} else if (!rt_id_is_zero(parent->trace_id, 16)) {
		/* A root span in the process trace. */
		memcpy(sp->trace_id, parent->trace_id, 16);
		sp->flags = parent->flags & RT_FLAG_RANDOM;
	} else {
		new_trace = true;
		sp->flags = RT_FLAG_RANDOM;
	}
	if (new_trace)
		rt_new_ids(sp->trace_id, sp->span_id);
	else
		rt_new_span_id(sp->span_id);
	if (rt_should_sample(parent->valid ? parent : NULL, sp->trace_id)) {
		sp->flags |= RT_FLAG_SAMPLED;
		sp->recording = true;
	}
	sp->kind = (uint8_t)kind;
	if (!sp->recording) {
		/* Never exported: only its context (ids, flags, tracestate) is
		 * used. No name, and no clock read for it. */
		sp->start_ns = start_ns;
		return sp;
	}
	sp->name = name ? arena_copy(sp, name, strlen(name)) : NULL;
	sp->start_ns = start_ns ? start_ns : rt_now_ns();
	return sp;
}

bool rt_span_adopt_parent(struct rt_span *sp, const struct rt_ctx *parent)
{
	if (!sp || sp->has_parent || !sp->recording || !parent || !parent->valid ||
	    rt_id_is_zero(parent->trace_id, 16) || rt_id_is_zero(parent->span_id, 8) ||
	    !rt_should_sample(parent, parent->trace_id))
		return false;
	memcpy(sp->trace_id, parent->trace_id, 16);
	memcpy(sp->parent_id, parent->span_id, 8);
	sp->has_parent = true;
	sp->parent_remote = parent->remote;
	sp->flags = (uint8_t)((parent->flags & RT_FLAG_RANDOM) | RT_FLAG_SAMPLED);
	if (parent->tracestate[0] && !sp->tracestate)
		sp->tracestate = arena_copy(sp, parent->tracestate,
					    strnlen(parent->tracestate, RT_TRACESTATE_MAX));
	return true;
}

void rt_span_ctx(const struct rt_span *sp, struct rt_ctx *out)
{
	memset(out, 0, offsetof(struct rt_ctx, tracestate) + 1);
	if (!sp)
		return;
	memcpy(out->trace_id, sp->trace_id, 16);
	memcpy(out->span_id, sp->span_id, 8);
	out->flags = sp->flags;
	out->valid = true;
	out->remote = false;
	if (sp->tracestate) {
		size_t n = strlen(sp->tracestate);

		if (n > RT_TRACESTATE_MAX)
			n = RT_TRACESTATE_MAX;
		memcpy(out->tracestate, sp->tracestate, n);
		out->tracestate[n] = 0;
	}
}

void rt_span_set_name(struct rt_span *sp, const char *name, size_t len)
{
	const char *n;

	if (!sp || !sp->recording)
		return;
	n = arena_copy(sp, name, utf8_cut(name, len, 255));
	if (n)
		sp->name = n;
}

/*
 * The slot for key under owner: the existing one (a key set twice is
 * replaced), or a new one within the owner's limit. NULL when dropped;
 * the caller then counts the drop.
 */
static struct rt_attr *slot(struct rt_span *sp, uint8_t owner, const char *key,
			    uint32_t limit, uint32_t have)
{
	struct rt_attr *a;

	/* Keys are string literals: the linker merges equal literals, so a
	 * key set twice comes with the same pointer. A one-word filter of the
	 * key pointers seen skips the scan for keys never set before. */
	uint64_t bit = 1ull << (((uintptr_t)key >> 3) & 63);

	if (sp->key_bloom & bit) {
		for (uint16_t i = 0; i < sp->nattrs; i++) {
			a = &sp->attrs[i];
			if (a->key == key && a->owner == owner)
				return a;
		}
	}
	if (have >= limit || sp->nattrs >= RT_SPAN_MAX_ATTRS)
		return NULL;
	a = &sp->attrs[sp->nattrs++];
	a->key = key;
	a->owner = owner;
	sp->key_bloom |= bit;
	if (owner == RT_OWNER_SPAN)
		sp->nspan_attrs++;
	return a;
}

static uint32_t owner_count(const struct rt_span *sp, uint8_t owner)
{
	uint32_t n = 0;

	for (uint16_t i = 0; i < sp->nattrs; i++)
		n += sp->attrs[i].owner == owner;
	return n;
}

static void count_drop(struct rt_span *sp, uint8_t owner)
{
	if (owner == RT_OWNER_SPAN)
		sp->dropped_attrs++;
	else if (owner & 0x80)
		sp->links[owner & 0x7f].dropped_attrs++;
	else
		sp->events[owner - 1].dropped_attrs++;
}

static struct rt_attr *owner_slot(struct rt_span *sp, uint8_t owner, const char *key)
{
	struct rt_attr *a;

	if (owner == RT_OWNER_SPAN)
		a = slot(sp, owner, key, span_attr_limit(), sp->nspan_attrs);
	else if (owner & 0x80)
		a = slot(sp, owner, key, rt_cfg.limits.link_attrs, owner_count(sp, owner));
	else
		a = slot(sp, owner, key, rt_cfg.limits.event_attrs, owner_count(sp, owner));
	if (!a)
		count_drop(sp, owner);
	return a;
}

static void set_str(struct rt_span *sp, uint8_t owner, const char *key, const char *val,
		    size_t len)
{
	struct rt_attr *a;
	const char *s;
	uint32_t lim = rt_cfg.limits.attr_value_len;

	if (!sp || !sp->recording || !key)
		return;
	if (!val)
		val = "", len = 0;
	if (lim && len > lim)
		len = utf8_cut(val, len, lim);
	if (len > UINT16_MAX)
		len = utf8_cut(val, len, UINT16_MAX);
	s = arena_copy(sp, val, len);
	if (!s) {
		/* The arena is full: keep what fits, bounded memory first. */
		size_t room = RT_SPAN_ARENA - 1 - sp->arena_used;

		if (room < 16) {
			count_drop(sp, owner);
			return;
		}
		len = utf8_cut(val, len, room - 1);
		s = arena_copy(sp, val, len);
	}
	a = owner_slot(sp, owner, key);
	if (!a)
		return;
	a->type = RT_V_STR;
	a->s = s;
	a->len = (uint16_t)len;
}

/*
 * The common case of a span attribute: a key not set before (its filter
 * bit is clear), room under the count limits, a value within the length
 * limit that fits the arena. Done in one place with one test; the result
 * is exactly what set_str()/owner_slot() make of it, and anything else goes
 * to them.
 */
static inline uint64_t key_bit(const char *key)
{
	return 1ull << (((uintptr_t)key >> 3) & 63);
}

/* Room for n more span attributes under both count limits. */
static inline bool span_attr_room(const struct rt_span *sp, size_t n)
{
	return sp->nspan_attrs + n <= span_attr_limit() && sp->nattrs + n <= RT_SPAN_MAX_ATTRS;
}

/* The longest string value kept whole: the value-length limit, and the
 * 16-bit length of struct rt_attr. */
static inline size_t value_max(void)
{
	uint32_t lim = rt_cfg.limits.attr_value_len;

	return lim && lim < UINT16_MAX ? lim : UINT16_MAX;
}

/* Copy into the arena, NUL-terminated; the caller checked the room.
 * Attribute values are mostly short: up to 16 bytes take two overlapping
 * moves (never reading outside s[0..len)) instead of a call. */
static inline char *arena_put(struct rt_span *sp, const char *s, size_t len)
{
	char *d = sp->arena + sp->arena_used;
	uint64_t x, y;
	uint32_t u, v;

	if (len >= 8 && len <= 16) {
		memcpy(&x, s, 8);
		memcpy(&y, s + len - 8, 8);
		memcpy(d, &x, 8);
		memcpy(d + len - 8, &y, 8);
	} else if (len >= 4 && len < 8) {
		memcpy(&u, s, 4);
		memcpy(&v, s + len - 4, 4);
		memcpy(d, &u, 4);
		memcpy(d + len - 4, &v, 4);
	} else if (len < 4) {
		for (size_t i = 0; i < len; i++)
			d[i] = s[i];
	} else {
		memcpy(d, s, len);
	}
	d[len] = 0;
	sp->arena_used += (uint32_t)len + 1;
	return d;
}

static inline struct rt_attr *new_span_attr(struct rt_span *sp, const char *key, uint64_t bit)
{
	struct rt_attr *a = &sp->attrs[sp->nattrs++];

	sp->nspan_attrs++;
	sp->key_bloom |= bit;
	a->key = key;
	a->owner = RT_OWNER_SPAN;
	return a;
}

void rt_span_set_str(struct rt_span *sp, const char *key, const char *val, size_t len)
{
	uint64_t bit = key_bit(key);
	struct rt_attr *a;
	const char *d;

	if (!sp || !sp->recording)
		return;
	if (__builtin_expect(!key || !val || (sp->key_bloom & bit) || len > value_max() ||
			     len >= RT_SPAN_ARENA - sp->arena_used || !span_attr_room(sp, 1), 0)) {
		set_str(sp, RT_OWNER_SPAN, key, val, len);
		return;
	}
	d = arena_put(sp, val, len);
	a = new_span_attr(sp, key, bit);
	a->type = RT_V_STR;
	a->s = d;
	a->len = (uint16_t)len;
}

void rt_span_set_cstr(struct rt_span *sp, const char *key, const char *val)
{
	if (!sp || !sp->recording)
		return;
	rt_span_set_str(sp, key, val, val ? strlen(val) : 0);
}

void rt_span_set_int(struct rt_span *sp, const char *key, int64_t val)
{
	uint64_t bit = key_bit(key);
	struct rt_attr *a;

	if (!sp || !sp->recording)
		return;
	if (__builtin_expect(key && !(sp->key_bloom & bit) && span_attr_room(sp, 1), 1))
		a = new_span_attr(sp, key, bit);
	else if (!(a = owner_slot(sp, RT_OWNER_SPAN, key)))
		return;
	a->type = RT_V_INT;
	a->v.i = val;
}

void rt_span_set_attrs(struct rt_span *sp, const struct rt_attr *kv, size_t n)
{
	uint16_t nattrs, nspan;
	uint32_t used;
	uint64_t bloom, mask = 0;
	size_t max;
	struct rt_attr *a;

	if (!sp || !sp->recording)
		return;
	if (!span_attr_room(sp, n))
		goto one_by_one;
	/* Optimistic: each one is added as it comes, as long as it is new and
	 * fits. The first that does not undoes them all (the span's state is
	 * its counters; what lies beyond them is unused) and the list goes
	 * one by one, through every limit, as if this call never happened. */
	nattrs = sp->nattrs;
	nspan = sp->nspan_attrs;
	used = sp->arena_used;
	bloom = sp->key_bloom;
	max = value_max();
	a = &sp->attrs[nattrs];
	for (size_t i = 0; i < n; i++, a++) {
		uint64_t bit = key_bit(kv[i].key);

		if (!kv[i].key)
			goto undo;
		/* The filter has one bit per key pointer class: a hit is a
		 * key set before (then the single call replaces its value) or
		 * just a shared bit; look. */
		if ((bloom | mask) & bit) {
			for (const struct rt_attr *o = sp->attrs; o < a; o++)
				if (o->key == kv[i].key && o->owner == RT_OWNER_SPAN)
					goto undo;
		}
		mask |= bit;
		*a = kv[i];
		a->owner = RT_OWNER_SPAN;
		if (a->type == RT_V_STR) {
			if (!a->s || a->len > max || a->len >= RT_SPAN_ARENA - sp->arena_used)
				goto undo;
			a->s = arena_put(sp, a->s, a->len);
		} else if (a->type != RT_V_INT && a->type != RT_V_BOOL && a->type != RT_V_DOUBLE) {
			goto undo;
		}
	}
	sp->nattrs = (uint16_t)(nattrs + n);
	sp->nspan_attrs = (uint16_t)(nspan + n);
	sp->key_bloom = bloom | mask;
	return;
undo:
	sp->arena_used = used;
one_by_one:
	for (size_t i = 0; i < n; i++) {
		switch (kv[i].type) {
		case RT_V_STR:
			rt_span_set_str(sp, kv[i].key, kv[i].s, kv[i].len);
			break;
		case RT_V_INT:
			rt_span_set_int(sp, kv[i].key, kv[i].v.i);
			break;
		case RT_V_BOOL:
			rt_span_set_bool(sp, kv[i].key, kv[i].v.b);
			break;
		case RT_V_DOUBLE:
			rt_span_set_double(sp, kv[i].key, kv[i].v.d);
			break;
		default:
			break;		/* not settable this way */
		}
	}
}

bool rt_attr_pack_make(struct rt_attr_pack *pk, const struct rt_attr *kv, size_t n)
{
	size_t used = 0;

	pk->n = 0;
	pk->mask = 0;
	pk->max_len = 0;
	if (n > RT_ATTR_PACK_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct rt_attr *a = &pk->a[i];

		if (!kv[i].key)
			return false;
		for (size_t j = 0; j < i; j++)
			if (pk->a[j].key == kv[i].key)
				return false;
		*a = kv[i];
		a->owner = RT_OWNER_SPAN;
		if (a->type == RT_V_STR) {
			if (!kv[i].s || a->len >= sizeof(pk->text) - used)
				return false;
			memcpy(pk->text + used, kv[i].s, a->len);
			pk->text[used + a->len] = 0;
			a->s = pk->text + used;
			used += (size_t)a->len + 1;
			if (a->len > pk->max_len)
				pk->max_len = a->len;
		} else if (a->type != RT_V_INT && a->type != RT_V_BOOL && a->type != RT_V_DOUBLE) {
			return false;
		}
		pk->mask |= key_bit(a->key);
	}
	pk->text_len = (uint16_t)used;
	pk->n = (uint8_t)n;
	return true;
}

void rt_span_set_pack(struct rt_span *sp, const struct rt_attr_pack *pk)
{
	struct rt_attr *a;
	char *d;

	if (!sp || !sp->recording)
		return;
	if (!span_attr_room(sp, pk->n) || pk->max_len > value_max() ||
	    pk->text_len > RT_SPAN_ARENA - sp->arena_used)
		goto general;
	if (sp->key_bloom & pk->mask) {
		/* Maybe one of the keys is set already (then its value is
		 * replaced in place), maybe only a shared filter bit: look. */
		for (uint16_t i = 0; i < sp->nattrs; i++) {
			if (!(key_bit(sp->attrs[i].key) & pk->mask))
				continue;
			for (uint8_t j = 0; j < pk->n; j++)
				if (sp->attrs[i].key == pk->a[j].key &&
				    sp->attrs[i].owner == RT_OWNER_SPAN)
					goto general;
		}
	}
	/* What the single calls would leave: the values one after the other
	 * in the arena, the entries in order after the span's last. */
	d = sp->arena + sp->arena_used;
	memcpy(d, pk->text, pk->text_len);
	a = &sp->attrs[sp->nattrs];
	for (uint8_t j = 0; j < pk->n; j++) {
		a[j] = pk->a[j];
		if (a[j].type == RT_V_STR)
			a[j].s = d + (pk->a[j].s - pk->text);
	}
	sp->arena_used += pk->text_len;
	sp->nattrs = (uint16_t)(sp->nattrs + pk->n);
	sp->nspan_attrs = (uint16_t)(sp->nspan_attrs + pk->n);
	sp->key_bloom |= pk->mask;
	return;
general:
	rt_span_set_attrs(sp, pk->a, pk->n);
}

void rt_span_set_bool(struct rt_span *sp, const char *key, bool val)
{
	struct rt_attr *a;

	if (!sp || !sp->recording || !(a = owner_slot(sp, RT_OWNER_SPAN, key)))
		return;
	a->type = RT_V_BOOL;
	a->v.b = val;
}

void rt_span_set_double(struct rt_span *sp, const char *key, double val)
{
	struct rt_attr *a;

	if (!sp || !sp->recording || !(a = owner_slot(sp, RT_OWNER_SPAN, key)))
		return;
	a->type = RT_V_DOUBLE;
	a->v.d = val;
}

void rt_span_set_strarr(struct rt_span *sp, const char *key, const char *const *vals, size_t n)
{
	struct rt_attr *a;
	uint32_t lim = rt_cfg.limits.attr_value_len;
	uint32_t start;
	uint16_t count = 0;

	if (!sp || !sp->recording || !key)
		return;
	start = sp->arena_used;
	for (size_t i = 0; i < n; i++) {
		size_t len = vals[i] ? strlen(vals[i]) : 0;

		if (lim && len > lim)
			len = utf8_cut(vals[i], len, lim);
		if (!arena_copy(sp, vals[i] ? vals[i] : "", len))
			break;		/* arena full: keep the elements that fit */
		count++;
	}
	a = owner_slot(sp, RT_OWNER_SPAN, key);
	if (!a) {
		sp->arena_used = start;
		return;
	}
	a->type = RT_V_STRARR;
	a->s = sp->arena + start;
	a->len = (uint16_t)(sp->arena_used - start);
	a->count = count;
}

void rt_span_set_status(struct rt_span *sp, enum rt_status st, const char *msg)
{
	if (!sp || !sp->recording)
		return;
	/* Spec: once Ok, a span's status is final; Unset never overrides. */
	if (sp->status == RT_STATUS_OK || st == RT_STATUS_UNSET)
		return;
	sp->status = (uint8_t)st;
	sp->status_msg = NULL;
	/* Spec: the description is only used with Error. */
	if (st == RT_STATUS_ERROR && msg)
		sp->status_msg = arena_copy(sp, msg, utf8_cut(msg, strlen(msg), 512));
}

int rt_span_add_event(struct rt_span *sp, const char *name, uint64_t time_ns)
{
	uint32_t lim = rt_cfg.limits.span_events;
	struct rt_event *e;

	if (!sp || !sp->recording)
		return -1;
	if (lim > RT_SPAN_MAX_EVENTS)
		lim = RT_SPAN_MAX_EVENTS;
	if (sp->nevents >= lim) {
		sp->dropped_events++;
		return -1;
	}
	e = &sp->events[sp->nevents];
	e->name = arena_copy(sp, name ? name : "", name ? utf8_cut(name, strlen(name), 255) : 0);
	if (!e->name) {
		sp->dropped_events++;
		return -1;
	}
	e->time_ns = time_ns ? time_ns : rt_now_ns();
	e->dropped_attrs = 0;
	return sp->nevents++;
}

void rt_span_event_set_str(struct rt_span *sp, int ev, const char *key, const char *val, size_t len)
{
	if (!sp || ev < 0 || ev >= sp->nevents)
		return;
	set_str(sp, RT_OWNER_EVENT(ev), key, val, len);
}

int rt_span_add_link(struct rt_span *sp, const struct rt_ctx *ctx)
{
	uint32_t lim = rt_cfg.limits.span_links;
	struct rt_link *l;

	if (!sp || !sp->recording || !ctx || !ctx->valid)
		return -1;
	if (lim > RT_SPAN_MAX_LINKS)
		lim = RT_SPAN_MAX_LINKS;
	if (sp->nlinks >= lim) {
		sp->dropped_links++;
		return -1;
	}
	l = &sp->links[sp->nlinks];
	memcpy(l->trace_id, ctx->trace_id, 16);
	memcpy(l->span_id, ctx->span_id, 8);
	l->flags = ctx->flags;
	l->remote = ctx->remote;
	l->tracestate = ctx->tracestate[0] ? arena_copy(sp, ctx->tracestate,
							 strlen(ctx->tracestate)) : NULL;
	l->dropped_attrs = 0;
	return sp->nlinks++;
}

void rt_span_end(struct rt_span *sp, uint64_t end_ns)
{
	if (!sp)
		return;
	if (!sp->recording) {
		rt_pool_put(sp);
		return;
	}
	sp->end_ns = end_ns ? end_ns : rt_now_ns();
	if (sp->end_ns < sp->start_ns)
		sp->end_ns = sp->start_ns;
	if (__builtin_expect(rt_stack_mode != 0, 0))
		rt_stack_span_end(sp);	/* stack.c: off unless configured */
	if (!rt_queue_push(sp)) {
		RT_STAT_ADD(dropped_queue_full, 1);
		rt_pool_put(sp);
	}
}

void rt_span_discard(struct rt_span *sp)
{
	rt_pool_put(sp);
}

const struct rt_attr *rt_span_attr(const struct rt_span *sp, const char *key)
{
	if (!sp)
		return NULL;
	for (uint16_t i = 0; i < sp->nattrs; i++)
		if (sp->attrs[i].owner == RT_OWNER_SPAN && strcmp(sp->attrs[i].key, key) == 0)
			return &sp->attrs[i];
	return NULL;
}
