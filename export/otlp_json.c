/*
 * otlp_json.c - spans to OTLP/JSON (ExportTraceServiceRequest), built with
 * the dlopen'ed cJSON.
 *
 * DESIGN: the protobuf JSON mapping as the OTLP specification narrows it:
 * lowerCamelCase keys; traceId, spanId and parentSpanId as lowercase hex
 * (not base64); enums as integers; int64 and fixed64 values as decimal
 * strings; uint32 and fixed32 as numbers; fields at their default value
 * left out, as proto3's JSON printer does (except the chosen member of
 * AnyValue's oneof). Doubles are numbers, or "NaN", "Infinity",
 * "-Infinity" as proto3 JSON spells them (cJSON itself would print null).
 *
 * Every string goes in as a cJSON "raw" item that we escaped ourselves
 * (ex_json_put_str): that repairs invalid UTF-8, which cJSON would pass
 * through, and keeps NUL bytes (\u0000), which cJSON's C strings cannot.
 * Keys are string literals added with AddItemToObjectCS (not copied).
 *
 * THREADS: exporter thread; keeps no state between calls.
 */
#include <errno.h>
#include <string.h>

#include "cjson_dl.h"
#include "encode.h"

#define SCRATCH_MAX (4u << 20)		/* one escaped string, at most */

/* a->v.b read as a byte: any non-zero is true, and a corrupt bool cannot
 * trip undefined behaviour. */
static inline bool attr_bool(const struct rt_attr *a)
{
	uint8_t v;

	memcpy(&v, &a->v.b, 1);
	return v != 0;
}

/* Per-call state: a scratch buffer for escaping, and whether any cJSON
 * allocation failed (the tree is then thrown away). */
struct jctx {
	struct ex_buf scratch;
	bool oom;
};

/* A raw item from c->scratch's contents (NUL added here). NULL on failure,
 * with c->oom set. */
static cJSON *raw_scratch(struct jctx *c)
{
	cJSON *it;

	ex_buf_putc(&c->scratch, '\0');
	if (c->scratch.failed) {
		c->oom = true;
		return NULL;
	}
	it = ex_cj.create_raw((const char *)c->scratch.p);
	if (!it)
		c->oom = true;
	return it;
}

/* A JSON string item for s[0..n), repaired and escaped. */
static cJSON *jstr(struct jctx *c, const char *s, size_t n)
{
	ex_buf_reset(&c->scratch);
	ex_json_put_str(&c->scratch, s, s ? n : 0);
	return raw_scratch(c);
}

/* jstr() for a C string (NULL: ""). */
static cJSON *jcstr(struct jctx *c, const char *s)
{
	return jstr(c, s, s ? strlen(s) : 0);
}

/* A 64-bit integer as a JSON string ("123"), the proto3 JSON form. */
static cJSON *jint64(struct jctx *c, int64_t v, bool is_signed)
{
	ex_buf_reset(&c->scratch);
	if (is_signed)
		ex_buf_printf(&c->scratch, "\"%lld\"", (long long)v);
	else
		ex_buf_printf(&c->scratch, "\"%llu\"", (unsigned long long)(uint64_t)v);
	return raw_scratch(c);
}

/* Lowercase hex of id[0..n) as a JSON string. */
static cJSON *jhex(struct jctx *c, const uint8_t *id, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char out[2 * 16 + 3];
	cJSON *it;
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n && i < 16; i++) {
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 0xf];
	}
	out[o++] = '"';
	out[o] = '\0';
	it = ex_cj.create_raw(out);
	if (!it)
		c->oom = true;
	return it;
}

/* A double as a JSON number, or the proto3 strings for NaN and infinities. */
static cJSON *jdouble(struct jctx *c, double d)
{
	char num[32], out[40];
	size_t n = ex_fmt_double(num, d);
	cJSON *it;

	if (num[0] == 'N' || num[0] == 'I' || (num[0] == '-' && num[1] == 'I')) {
		out[0] = '"';
		memcpy(out + 1, num, n);
		out[n + 1] = '"';
		out[n + 2] = '\0';
	} else {
		memcpy(out, num, n + 1);
	}
	it = ex_cj.create_raw(out);
	if (!it)
		c->oom = true;
	return it;
}

/* The constructors below return the new item, or NULL with c->oom set. */

/* A JSON number (for uint32 and enum values: always integral). */
static cJSON *jnum(struct jctx *c, double d)
{
	cJSON *it = ex_cj.create_number(d);

	if (!it)
		c->oom = true;
	return it;
}

/* An empty object. */
static cJSON *jobj(struct jctx *c)
{
	cJSON *it = ex_cj.create_object();

	if (!it)
		c->oom = true;
	return it;
}

/* An empty array. */
static cJSON *jarr(struct jctx *c)
{
	cJSON *it = ex_cj.create_array();

	if (!it)
		c->oom = true;
	return it;
}

/* obj[key] = item, key a string literal. Consumes item; a NULL item or
 * obj marks c->oom. Returns item (NULL on failure). */
static cJSON *jset(struct jctx *c, cJSON *obj, const char *key, cJSON *item)
{
	if (!item || !obj) {
		c->oom = true;
		if (item)
			ex_cj.delete_item(item);
		return NULL;
	}
	ex_cj.add_item_to_object_cs(obj, key, item);
	return item;
}

/* Append item to arr; consumes item. Returns item (NULL on failure). */
static cJSON *jpush(struct jctx *c, cJSON *arr, cJSON *item)
{
	if (!item || !arr) {
		c->oom = true;
		if (item)
			ex_cj.delete_item(item);
		return NULL;
	}
	ex_cj.add_item_to_array(arr, item);
	return item;
}

/* A uint32 field, left out when 0. */
static void jset_u32(struct jctx *c, cJSON *obj, const char *key, uint32_t v)
{
	if (v)
		jset(c, obj, key, jnum(c, (double)v));
}

/* A fixed64 time field as a decimal string, left out when 0. */
static void jset_time(struct jctx *c, cJSON *obj, const char *key, uint64_t v)
{
	if (v)
		jset(c, obj, key, jint64(c, (int64_t)v, false));
}

/* A string field, left out when NULL or empty. */
static void jset_cstr(struct jctx *c, cJSON *obj, const char *key, const char *s)
{
	if (s && *s)
		jset(c, obj, key, jcstr(c, s));
}

/* The AnyValue object for a. */
static cJSON *jvalue(struct jctx *c, const struct rt_attr *a)
{
	cJSON *v = jobj(c), *av, *vals;
	const char *s;
	size_t left, n;

	switch (a->type) {
	case RT_V_STR:
		jset(c, v, "stringValue", jstr(c, a->s, a->len));
		break;
	case RT_V_BOOL:
		jset(c, v, "boolValue", ex_cj.create_bool(attr_bool(a)));
		break;
	case RT_V_INT:
		jset(c, v, "intValue", jint64(c, a->v.i, true));
		break;
	case RT_V_DOUBLE:
		jset(c, v, "doubleValue", jdouble(c, a->v.d));
		break;
	case RT_V_STRARR:
		av = jset(c, v, "arrayValue", jobj(c));
		if (!av || a->count == 0)	/* empty repeated field: left out */
			break;
		vals = jset(c, av, "values", jarr(c));
		s = a->s ? a->s : "";
		left = a->s ? a->len : 0;
		for (size_t i = 0; i < a->count; i++) {
			const char *nul = left ? memchr(s, '\0', left) : NULL;
			cJSON *one;

			n = nul ? (size_t)(nul - s) : left;
			one = jpush(c, vals, jobj(c));
			jset(c, one, "stringValue", jstr(c, s, n));
			if (nul) {
				left -= n + 1;
				s = nul + 1;
			} else {
				s += left;
				left = 0;
			}
		}
		break;
	default:				/* unknown type: an empty AnyValue */
		break;
	}
	return v;
}

/* One KeyValue object. */
static cJSON *jkv(struct jctx *c, const struct rt_attr *a)
{
	cJSON *kv = jobj(c);

	jset_cstr(c, kv, "key", a->key);
	jset(c, kv, "value", jvalue(c, a));
	return kv;
}

/* obj.attributes = the attributes of sp with this owner; left out when
 * there are none. */
static void jset_attrs(struct jctx *c, cJSON *obj, const struct rt_span *sp, uint8_t owner)
{
	size_t n = sp->nattrs < RT_SPAN_MAX_ATTRS ? sp->nattrs : RT_SPAN_MAX_ATTRS;
	cJSON *arr = NULL;

	for (size_t i = 0; i < n && !c->oom; i++) {
		if (sp->attrs[i].owner != owner)
			continue;
		if (!arr)
			arr = jset(c, obj, "attributes", jarr(c));
		jpush(c, arr, jkv(c, &sp->attrs[i]));
	}
}

/* flags for a span or link: W3C flags, bit 8 "remote-ness known", bit 9
 * "remote" (see otlp_proto.c for the choice made for root spans). */
static uint32_t otlp_flags(uint8_t w3c, bool remote)
{
	return (uint32_t)w3c | 0x100u | (remote ? 0x200u : 0);
}

/* One Span object. */
static cJSON *jspan(struct jctx *c, const struct rt_span *sp)
{
	size_t nev = sp->nevents < RT_SPAN_MAX_EVENTS ? sp->nevents : RT_SPAN_MAX_EVENTS;
	size_t nln = sp->nlinks < RT_SPAN_MAX_LINKS ? sp->nlinks : RT_SPAN_MAX_LINKS;
	bool has_parent = sp->has_parent && !rt_id_is_zero(sp->parent_id, 8);
	cJSON *o = jobj(c), *arr;

	jset(c, o, "traceId", jhex(c, sp->trace_id, 16));
	jset(c, o, "spanId", jhex(c, sp->span_id, 8));
	jset_cstr(c, o, "traceState", sp->tracestate);
	if (has_parent)
		jset(c, o, "parentSpanId", jhex(c, sp->parent_id, 8));
	jset(c, o, "flags", jnum(c, otlp_flags(sp->flags, has_parent && sp->parent_remote)));
	jset_cstr(c, o, "name", sp->name);
	jset_u32(c, o, "kind", sp->kind);
	jset_time(c, o, "startTimeUnixNano", sp->start_ns);
	jset_time(c, o, "endTimeUnixNano", sp->end_ns);
	jset_attrs(c, o, sp, RT_OWNER_SPAN);
	jset_u32(c, o, "droppedAttributesCount", sp->dropped_attrs);
	if (nev) {
		arr = jset(c, o, "events", jarr(c));
		for (size_t i = 0; i < nev && !c->oom; i++) {
			const struct rt_event *ev = &sp->events[i];
			cJSON *e = jpush(c, arr, jobj(c));

			jset_time(c, e, "timeUnixNano", ev->time_ns);
			jset_cstr(c, e, "name", ev->name);
			if (e)
				jset_attrs(c, e, sp, RT_OWNER_EVENT(i));
			jset_u32(c, e, "droppedAttributesCount", ev->dropped_attrs);
		}
	}
	jset_u32(c, o, "droppedEventsCount", sp->dropped_events);
	if (nln) {
		arr = jset(c, o, "links", jarr(c));
		for (size_t i = 0; i < nln && !c->oom; i++) {
			const struct rt_link *ln = &sp->links[i];
			cJSON *l = jpush(c, arr, jobj(c));

			jset(c, l, "traceId", jhex(c, ln->trace_id, 16));
			jset(c, l, "spanId", jhex(c, ln->span_id, 8));
			jset_cstr(c, l, "traceState", ln->tracestate);
			if (l)
				jset_attrs(c, l, sp, RT_OWNER_LINK(i));
			jset_u32(c, l, "droppedAttributesCount", ln->dropped_attrs);
			jset(c, l, "flags", jnum(c, otlp_flags(ln->flags, ln->remote)));
		}
	}
	jset_u32(c, o, "droppedLinksCount", sp->dropped_links);
	if (sp->status != RT_STATUS_UNSET || (sp->status_msg && *sp->status_msg)) {
		cJSON *st = jset(c, o, "status", jobj(c));

		jset_cstr(c, st, "message", sp->status_msg);
		jset_u32(c, st, "code", sp->status);
	}
	return o;
}

/* See encode.h. NULL entries in spans are skipped; res may be NULL.
 * Returns 0; -ENOSYS without cJSON; -ENOMEM when b hit its cap or an
 * allocation failed (b is then marked failed). */
int ex_otlp_json_encode(struct ex_buf *b, const struct rt_resource *res,
			struct rt_span *const *spans, size_t n)
{
	cJSON *root, *rs, *r, *ss, *sc, *arr;
	struct jctx c;
	char *text;

	if (!ex_cjson_load())
		return -ENOSYS;
	memset(&c, 0, sizeof(c));
	ex_buf_init(&c.scratch, SCRATCH_MAX);

	root = jobj(&c);
	arr = jset(&c, root, "resourceSpans", jarr(&c));
	rs = jpush(&c, arr, jobj(&c));
	r = jset(&c, rs, "resource", jobj(&c));
	if (res && r) {
		size_t na = res->nattrs < RT_RESOURCE_MAX_ATTRS ? res->nattrs : RT_RESOURCE_MAX_ATTRS;

		if (na) {
			arr = jset(&c, r, "attributes", jarr(&c));
			for (size_t i = 0; i < na && !c.oom; i++)
				jpush(&c, arr, jkv(&c, &res->attrs[i]));
		}
		jset_u32(&c, r, "droppedAttributesCount", res->dropped_attrs);
	}
	arr = jset(&c, rs, "scopeSpans", jarr(&c));
	ss = jpush(&c, arr, jobj(&c));
	sc = jset(&c, ss, "scope", jobj(&c));
	jset_cstr(&c, sc, "name", RT_SCOPE_NAME);
	jset_cstr(&c, sc, "version", RT_SCOPE_VERSION);
	arr = NULL;
	for (size_t i = 0; i < n && !c.oom; i++) {
		if (!spans[i])
			continue;
		if (!arr)
			arr = jset(&c, ss, "spans", jarr(&c));
		jpush(&c, arr, jspan(&c, spans[i]));
	}
	ex_buf_free(&c.scratch);
	if (c.oom || !root) {
		if (root)
			ex_cj.delete_item(root);
		b->failed = true;
		return -ENOMEM;
	}
	text = ex_cj.print_unformatted(root);
	ex_cj.delete_item(root);
	if (!text) {
		b->failed = true;
		return -ENOMEM;
	}
	ex_buf_puts(b, text);
	ex_cj.free(text);
	return b->failed ? -ENOMEM : 0;
}
