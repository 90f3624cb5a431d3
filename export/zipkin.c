/*
 * zipkin.c - spans to a Zipkin v2 JSON array (POST /api/v2/spans), built
 * with the dlopen'ed cJSON.
 *
 * DESIGN: follows OpenTelemetry's "OpenTelemetry to Zipkin Transformation"
 * (trace/sdk_exporters/zipkin.md) and the generic non-OTLP mapping rules
 * (common/mapping-to-non-otlp.md):
 *  - traceId 32 lowercase hex, id and parentId 16 (parentId absent for a
 *    root span); name unchanged (Zipkin lower-cases on ingest);
 *  - kind CLIENT, SERVER, PRODUCER, CONSUMER; absent for INTERNAL;
 *  - timestamp and duration in whole microseconds (truncated); a duration
 *    under 1 us is sent as 1, as zipkin2-api.yaml asks ("rounded up");
 *  - localEndpoint.serviceName = the resource's service.name;
 *  - remoteEndpoint, for CLIENT and PRODUCER spans, from the spec's ranked
 *    attributes: peer.service, server.address, net.peer.name name the
 *    service (an address that is an IP literal goes to ipv4/ipv6 instead),
 *    network.peer.address/port give the socket; for SERVER and CONSUMER
 *    spans (where server.address is our own side) from peer.service,
 *    network.peer.address/port or client.address/port;
 *  - tags: every span attribute as a string (bool "true"/"false", numbers
 *    in the C locale, arrays as a JSON list), otel.scope.name/version with
 *    the deprecated otel.library.* aliases, otel.status_code (OK/ERROR,
 *    absent when UNSET), error = the status description when ERROR (any
 *    "error" attribute is dropped: Zipkin fails every span that has one),
 *    otel.dropped_{attributes,events,links}_count when non-zero;
 *  - annotations from events: timestamp in us, value = the event name, or
 *    `"name":{attributes as JSON}` when the event has attributes;
 *  - links and tracestate have no Zipkin mapping (the spec leaves them
 *    TBD) and are not sent; neither are shared and debug.
 * Fields without a value are left out, as the spec's Request Payload
 * section asks.
 *
 * THREADS: exporter thread; keeps no state between calls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cjson_dl.h"
#include "encode.h"

#define SCRATCH_MAX (4u << 20)

/* a->v.b read as a byte: any non-zero is true, and a corrupt bool cannot
 * trip undefined behaviour. */
static inline bool attr_bool(const struct rt_attr *a)
{
	uint8_t v;

	memcpy(&v, &a->v.b, 1);
	return v != 0;
}

struct zctx {
	struct ex_buf s1;		/* escaped JSON strings */
	struct ex_buf s2;		/* tag and annotation text before escaping */
	bool oom;
};

/* Raw JSON item from a NUL-less buffer's contents. */
static cJSON *raw_of(struct zctx *c, struct ex_buf *b)
{
	cJSON *it;

	ex_buf_putc(b, '\0');
	if (b->failed) {
		c->oom = true;
		return NULL;
	}
	it = ex_cj.create_raw((const char *)b->p);
	if (!it)
		c->oom = true;
	return it;
}

/* JSON string item for s[0..n): repaired, escaped. */
static cJSON *zstr(struct zctx *c, const char *s, size_t n)
{
	ex_buf_reset(&c->s1);
	ex_json_put_str(&c->s1, s, s ? n : 0);
	return raw_of(c, &c->s1);
}

/* zstr() for a C string (NULL: ""). */
static cJSON *zcstr(struct zctx *c, const char *s)
{
	return zstr(c, s, s ? strlen(s) : 0);
}

/* JSON number item for an unsigned integer, printed exactly (cJSON would
 * use %g for numbers past INT_MAX, which gives exponents). */
static cJSON *zuint(struct zctx *c, uint64_t v)
{
	char num[24];
	cJSON *it;

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	it = ex_cj.create_raw(num);
	if (!it)
		c->oom = true;
	return it;
}

/* Lowercase hex of id[0..n) as a JSON string item; NULL with c->oom set
 * on failure. */
static cJSON *zhex(struct zctx *c, const uint8_t *id, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char out[2 * 16 + 3];
	size_t o = 0;
	cJSON *it;

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

/* An empty object; NULL with c->oom set on failure. */
static cJSON *zobj(struct zctx *c)
{
	cJSON *it = ex_cj.create_object();

	if (!it)
		c->oom = true;
	return it;
}

/* An empty array; NULL with c->oom set on failure. */
static cJSON *zarr(struct zctx *c)
{
	cJSON *it = ex_cj.create_array();

	if (!it)
		c->oom = true;
	return it;
}

/* obj[key] = item with a literal key (not copied). Consumes item. */
static cJSON *zset(struct zctx *c, cJSON *obj, const char *key, cJSON *item)
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

/* Append item to arr. Consumes item; a NULL item or arr marks c->oom.
 * Returns item (NULL on failure). */
static cJSON *zpush(struct zctx *c, cJSON *arr, cJSON *item)
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

/* tags[key] = the text in c->s2, unless tags has key already. The key is
 * used in place when it is valid UTF-8 (it outlives the tree), else a
 * repaired copy is added. */
static void ztag_s2(struct zctx *c, cJSON *tags, const char *key)
{
	size_t klen = strlen(key);
	cJSON *v;

	if (!tags || ex_cj.get_object_item(tags, key))
		return;
	v = zstr(c, (const char *)c->s2.p, c->s2.len);
	if (!v || c->s2.failed) {
		c->oom = true;
		if (v)
			ex_cj.delete_item(v);
		return;
	}
	if (ex_utf8_valid((const uint8_t *)key, klen)) {
		ex_cj.add_item_to_object_cs(tags, key, v);
		return;
	}
	ex_buf_reset(&c->s1);
	if (ex_buf_reserve(&c->s1, ex_utf8_repaired_len((const uint8_t *)key, klen) + 1)) {
		c->s1.len = ex_utf8_repair(c->s1.p, (const uint8_t *)key, klen);
		c->s1.p[c->s1.len] = '\0';
		if (ex_cj.add_item_to_object(tags, (const char *)c->s1.p, v))
			return;
	}
	ex_cj.delete_item(v);
	c->oom = true;
}

/* tags[key] = s (a C string), unless present. */
static void ztag_cstr(struct zctx *c, cJSON *tags, const char *key, const char *s)
{
	ex_buf_reset(&c->s2);
	ex_buf_puts(&c->s2, s);
	ztag_s2(c, tags, key);
}

/* tags[key] = v in decimal, unless v is 0 or key is present. */
static void ztag_count(struct zctx *c, cJSON *tags, const char *key, uint32_t v)
{
	if (!v)
		return;
	ex_buf_reset(&c->s2);
	ex_buf_printf(&c->s2, "%u", v);
	ztag_s2(c, tags, key);
}

/* Append to b the value of a in JSON (typed: strings quoted, numbers and
 * booleans bare, arrays as lists). Used for array tags and event
 * annotations. NaN and infinities become strings. */
static void json_value(struct ex_buf *b, const struct rt_attr *a)
{
	char num[32];
	size_t n;

	switch (a->type) {
	case RT_V_STR:
		ex_json_put_str(b, a->s, a->s ? a->len : 0);
		break;
	case RT_V_BOOL:
		ex_buf_puts(b, attr_bool(a) ? "true" : "false");
		break;
	case RT_V_INT:
		ex_buf_printf(b, "%lld", (long long)a->v.i);
		break;
	case RT_V_DOUBLE:
		n = ex_fmt_double(num, a->v.d);
		if (num[0] == 'N' || num[0] == 'I' || num[1] == 'I')
			ex_json_put_str(b, num, n);
		else
			ex_buf_append(b, num, n);
		break;
	case RT_V_STRARR: {
		const char *s = a->s ? a->s : "";
		size_t left = a->s ? a->len : 0;

		ex_buf_putc(b, '[');
		for (size_t i = 0; i < a->count; i++) {
			const char *nul = left ? memchr(s, '\0', left) : NULL;

			n = nul ? (size_t)(nul - s) : left;
			if (i)
				ex_buf_putc(b, ',');
			ex_json_put_str(b, s, n);
			if (nul) {
				left -= n + 1;
				s = nul + 1;
			} else {
				s += left;
				left = 0;
			}
		}
		ex_buf_putc(b, ']');
		break;
	}
	default:
		ex_buf_puts(b, "null");
		break;
	}
}

/* tags[a->key] = a's value as a Zipkin tag string. */
static void ztag_attr(struct zctx *c, cJSON *tags, const struct rt_attr *a)
{
	const char *key = a->key ? a->key : "";
	char num[32];
	size_t n;

	ex_buf_reset(&c->s2);
	switch (a->type) {
	case RT_V_STR:
		ex_buf_append(&c->s2, a->s, a->s ? a->len : 0);
		break;
	case RT_V_BOOL:
		ex_buf_puts(&c->s2, attr_bool(a) ? "true" : "false");
		break;
	case RT_V_INT:
		ex_buf_printf(&c->s2, "%lld", (long long)a->v.i);
		break;
	case RT_V_DOUBLE:
		n = ex_fmt_double(num, a->v.d);
		ex_buf_append(&c->s2, num, n);
		break;
	case RT_V_STRARR:
		json_value(&c->s2, a);
		break;
	default:
		break;
	}
	ztag_s2(c, tags, key);
}

/* The span attribute with this key (owner SPAN), or NULL. */
static const struct rt_attr *find_attr(const struct rt_span *sp, const char *key)
{
	size_t n = sp->nattrs < RT_SPAN_MAX_ATTRS ? sp->nattrs : RT_SPAN_MAX_ATTRS;

	for (size_t i = 0; i < n; i++) {
		const struct rt_attr *a = &sp->attrs[i];

		if (a->owner == RT_OWNER_SPAN && a->key && strcmp(a->key, key) == 0)
			return a;
	}
	return NULL;
}

/* A string attribute's value as a C string in out (NULL when absent,
 * empty, not a string or too long). */
static const char *attr_str(const struct rt_span *sp, const char *key, char *out, size_t outsz)
{
	const struct rt_attr *a = find_attr(sp, key);

	if (!a || a->type != RT_V_STR || !a->s || a->len == 0 || a->len >= outsz)
		return NULL;
	memcpy(out, a->s, a->len);
	out[a->len] = '\0';
	if (strlen(out) != a->len)		/* embedded NUL */
		return NULL;
	return out;
}

/* A port attribute (int, or a decimal string) in 1..65535, else 0. */
static unsigned attr_port(const struct rt_span *sp, const char *key)
{
	const struct rt_attr *a = find_attr(sp, key);
	unsigned long v = 0;

	if (!a)
		return 0;
	if (a->type == RT_V_INT)
		return a->v.i > 0 && a->v.i <= 65535 ? (unsigned)a->v.i : 0;
	if (a->type == RT_V_STR && a->s && a->len > 0 && a->len <= 5) {
		for (size_t i = 0; i < a->len; i++) {
			if (a->s[i] < '0' || a->s[i] > '9')
				return 0;
			v = v * 10 + (unsigned long)(a->s[i] - '0');
		}
		return v >= 1 && v <= 65535 ? (unsigned)v : 0;
	}
	return 0;
}

/* Set ep.ipv4 or ep.ipv6 when addr is an IP literal; returns whether it was. */
static bool ep_ip(struct zctx *c, cJSON *ep, const char *addr, const char **seen)
{
	unsigned char bin[16];

	if (*seen)
		return false;
	if (inet_pton(AF_INET, addr, bin) == 1) {
		zset(c, ep, "ipv4", zcstr(c, addr));
		*seen = addr;
		return true;
	}
	if (inet_pton(AF_INET6, addr, bin) == 1) {
		zset(c, ep, "ipv6", zcstr(c, addr));
		*seen = addr;
		return true;
	}
	return false;
}

/* The remoteEndpoint object for sp, or NULL when nothing is known. */
static cJSON *zremote(struct zctx *c, const struct rt_span *sp)
{
	char b1[256], b2[256], b3[256], b4[256];
	const char *name = NULL, *ip = NULL, *v;
	unsigned port = 0;
	cJSON *ep;

	if (sp->kind != RT_KIND_CLIENT && sp->kind != RT_KIND_PRODUCER &&
	    sp->kind != RT_KIND_SERVER && sp->kind != RT_KIND_CONSUMER)
		return NULL;
	ep = zobj(c);
	if (!ep)
		return NULL;
	name = attr_str(sp, "peer.service", b1, sizeof(b1));
	if (sp->kind == RT_KIND_CLIENT || sp->kind == RT_KIND_PRODUCER) {
		/* Ranks 2 and 3: host names, unless they are IP literals. */
		if ((v = attr_str(sp, "server.address", b2, sizeof(b2)))) {
			if (ep_ip(c, ep, v, &ip))
				port = attr_port(sp, "server.port");
			else if (!name)
				name = v;
		}
		if (!name && (v = attr_str(sp, "net.peer.name", b3, sizeof(b3))) &&
		    !ep_ip(c, ep, v, &ip))
			name = v;
	}
	/* Rank 4: the socket peer, with its port. */
	if ((v = attr_str(sp, "network.peer.address", b4, sizeof(b4))) && ep_ip(c, ep, v, &ip))
		port = attr_port(sp, "network.peer.port");
	if ((sp->kind == RT_KIND_SERVER || sp->kind == RT_KIND_CONSUMER) && !ip &&
	    (v = attr_str(sp, "client.address", b2, sizeof(b2))) && ep_ip(c, ep, v, &ip))
		port = attr_port(sp, "client.port");
	if (name)
		zset(c, ep, "serviceName", zcstr(c, name));
	if (port && ip)
		zset(c, ep, "port", zuint(c, port));
	if (!name && !ip) {
		ex_cj.delete_item(ep);
		return NULL;
	}
	return ep;
}

/* Annotation value for event i: the name, or `"name":{attrs}`. Left in
 * c->s2. */
static void event_text(struct zctx *c, const struct rt_span *sp, size_t i)
{
	const char *name = sp->events[i].name ? sp->events[i].name : "";
	size_t n = sp->nattrs < RT_SPAN_MAX_ATTRS ? sp->nattrs : RT_SPAN_MAX_ATTRS;
	bool any = false;

	ex_buf_reset(&c->s2);
	for (size_t k = 0; k < n; k++) {
		const struct rt_attr *a = &sp->attrs[k];

		if (a->owner != RT_OWNER_EVENT(i))
			continue;
		if (!any) {
			ex_json_put_str(&c->s2, name, strlen(name));
			ex_buf_puts(&c->s2, ":{");
			any = true;
		} else {
			ex_buf_putc(&c->s2, ',');
		}
		ex_json_put_str(&c->s2, a->key, a->key ? strlen(a->key) : 0);
		ex_buf_putc(&c->s2, ':');
		json_value(&c->s2, a);
	}
	if (any)
		ex_buf_putc(&c->s2, '}');
	else
		ex_buf_puts(&c->s2, name);
}

/* The service.name of res ("unknown_service" when absent). */
static const char *service_name(const struct rt_resource *res, size_t *len)
{
	size_t n = res ? (res->nattrs < RT_RESOURCE_MAX_ATTRS ? res->nattrs : RT_RESOURCE_MAX_ATTRS) : 0;

	for (size_t i = 0; i < n; i++) {
		const struct rt_attr *a = &res->attrs[i];

		if (a->type == RT_V_STR && a->key && strcmp(a->key, "service.name") == 0 && a->s) {
			*len = a->len;
			return a->s;
		}
	}
	*len = strlen("unknown_service");
	return "unknown_service";
}

/* Zipkin's kind for ours, or NULL when Zipkin has none. */
static const char *zkind(uint8_t kind)
{
	switch (kind) {
	case RT_KIND_CLIENT: return "CLIENT";
	case RT_KIND_SERVER: return "SERVER";
	case RT_KIND_PRODUCER: return "PRODUCER";
	case RT_KIND_CONSUMER: return "CONSUMER";
	default: return NULL;		/* INTERNAL, UNSPECIFIED: left out */
	}
}

/* One Zipkin span object. */
static cJSON *zspan(struct zctx *c, const struct rt_span *sp, const char *svc, size_t svclen)
{
	size_t nev = sp->nevents < RT_SPAN_MAX_EVENTS ? sp->nevents : RT_SPAN_MAX_EVENTS;
	size_t na = sp->nattrs < RT_SPAN_MAX_ATTRS ? sp->nattrs : RT_SPAN_MAX_ATTRS;
	cJSON *o = zobj(c), *ep, *tags, *arr;
	const char *kind = zkind(sp->kind);

	zset(c, o, "traceId", zhex(c, sp->trace_id, 16));
	if (sp->has_parent && !rt_id_is_zero(sp->parent_id, 8))
		zset(c, o, "parentId", zhex(c, sp->parent_id, 8));
	zset(c, o, "id", zhex(c, sp->span_id, 8));
	if (kind)
		zset(c, o, "kind", ex_cj.create_string(kind));
	if (sp->name && *sp->name)
		zset(c, o, "name", zcstr(c, sp->name));
	if (sp->start_ns) {
		zset(c, o, "timestamp", zuint(c, sp->start_ns / 1000));
		if (sp->end_ns >= sp->start_ns) {
			uint64_t us = (sp->end_ns - sp->start_ns) / 1000;

			zset(c, o, "duration", zuint(c, us ? us : 1));
		}
	}
	ep = zset(c, o, "localEndpoint", zobj(c));
	zset(c, ep, "serviceName", zstr(c, svc, svclen));
	if ((ep = zremote(c, sp)))
		zset(c, o, "remoteEndpoint", ep);
	if (nev) {
		arr = zset(c, o, "annotations", zarr(c));
		for (size_t i = 0; i < nev && !c->oom; i++) {
			uint64_t t = sp->events[i].time_ns ? sp->events[i].time_ns : sp->start_ns;
			cJSON *an = zpush(c, arr, zobj(c));

			zset(c, an, "timestamp", zuint(c, t / 1000));
			event_text(c, sp, i);
			zset(c, an, "value", zstr(c, (const char *)c->s2.p, c->s2.len));
		}
	}

	tags = zset(c, o, "tags", zobj(c));
	/* Reserved tags first: an attribute of the same name does not win. */
	ztag_cstr(c, tags, "otel.scope.name", RT_SCOPE_NAME);
	ztag_cstr(c, tags, "otel.scope.version", RT_SCOPE_VERSION);
	ztag_cstr(c, tags, "otel.library.name", RT_SCOPE_NAME);
	ztag_cstr(c, tags, "otel.library.version", RT_SCOPE_VERSION);
	if (sp->status == RT_STATUS_OK) {
		ztag_cstr(c, tags, "otel.status_code", "OK");
	} else if (sp->status == RT_STATUS_ERROR) {
		ztag_cstr(c, tags, "otel.status_code", "ERROR");
		ztag_cstr(c, tags, "error", sp->status_msg ? sp->status_msg : "");
	}
	ztag_count(c, tags, "otel.dropped_attributes_count", sp->dropped_attrs);
	ztag_count(c, tags, "otel.dropped_events_count", sp->dropped_events);
	ztag_count(c, tags, "otel.dropped_links_count", sp->dropped_links);
	for (size_t i = 0; i < na && !c->oom; i++) {
		const struct rt_attr *a = &sp->attrs[i];

		if (a->owner != RT_OWNER_SPAN || (a->key && strcmp(a->key, "error") == 0))
			continue;
		ztag_attr(c, tags, a);
	}
	return o;
}

/* See encode.h. NULL entries in spans are skipped; res may be NULL.
 * Returns 0; -ENOSYS without cJSON; -ENOMEM when b hit its cap or an
 * allocation failed. */
int ex_zipkin_encode(struct ex_buf *b, const struct rt_resource *res,
		     struct rt_span *const *spans, size_t n)
{
	struct zctx c;
	const char *svc;
	size_t svclen;
	cJSON *root;
	char *text;

	if (!ex_cjson_load())
		return -ENOSYS;
	memset(&c, 0, sizeof(c));
	ex_buf_init(&c.s1, SCRATCH_MAX);
	ex_buf_init(&c.s2, SCRATCH_MAX);
	svc = service_name(res, &svclen);
	root = zarr(&c);
	for (size_t i = 0; i < n && !c.oom; i++)
		if (spans[i])
			zpush(&c, root, zspan(&c, spans[i], svc, svclen));
	ex_buf_free(&c.s1);
	ex_buf_free(&c.s2);
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
