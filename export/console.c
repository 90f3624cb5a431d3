/*
 * console.c - spans as human-readable text, one block per span, for
 * stderr (OTEL_TRACES_EXPORTER=console).
 *
 * DESIGN: the first line of a block carries everything needed to grep for
 * one span, in a fixed order:
 *
 *   [otelpreload] span <name> kind=CLIENT trace=<32 hex> span=<16 hex>
 *     parent=<16 hex|-> service=<service.name> duration=1.234ms status=UNSET
 *
 * (one line; the status is followed by the quoted message when there is
 * one, and the line ends with " remote_parent" when the parent context
 * came from another process). Indented lines follow: attributes as `  key = value`, then
 * `  tracestate = "..."`, dropped counts, each event (`  event <name>
 * +<offset>ms` with its attributes indented twice) and each link
 * (`  link trace=.. span=.. remote=yes|no` likewise). Strings are printed
 * as JSON strings (quoted, escaped, invalid UTF-8 repaired), so control
 * characters from the traced program never reach the terminal; names are
 * printed with the same escaping but without the quotes. Numbers are
 * printed in the C locale whatever the program set. No dependency on cJSON.
 *
 * THREADS: exporter thread; keeps no state.
 */
#include <errno.h>
#include <string.h>

#include "cjson_dl.h"
#include "encode.h"

/* a->v.b read as a byte: any non-zero is true, and a corrupt bool cannot
 * trip undefined behaviour. */
static inline bool attr_bool(const struct rt_attr *a)
{
	uint8_t v;

	memcpy(&v, &a->v.b, 1);
	return v != 0;
}

/* Printable names of the enums; unknown values print as the default. */
static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case RT_KIND_INTERNAL: return "INTERNAL";
	case RT_KIND_SERVER: return "SERVER";
	case RT_KIND_CLIENT: return "CLIENT";
	case RT_KIND_PRODUCER: return "PRODUCER";
	case RT_KIND_CONSUMER: return "CONSUMER";
	default: return "UNSPECIFIED";
	}
}

static const char *status_name(uint8_t st)
{
	switch (st) {
	case RT_STATUS_OK: return "OK";
	case RT_STATUS_ERROR: return "ERROR";
	default: return "UNSET";
	}
}

/* Lowercase hex of id[0..n), n <= 16. */
static void put_hex(struct ex_buf *b, const uint8_t *id, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char out[32];

	for (size_t i = 0; i < n && i < 16; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 0xf];
	}
	ex_buf_append(b, out, 2 * (n < 16 ? n : 16));
}

/* s[0..n) escaped as in a JSON string, without the quotes. */
static void put_bare_n(struct ex_buf *b, const char *s, size_t n)
{
	size_t start = b->len;

	ex_json_put_str(b, s, n);
	if (b->failed || b->len < start + 2)
		return;
	/* drop the quotes ex_json_put_str added around the text */
	memmove(b->p + start, b->p + start + 1, b->len - start - 2);
	b->len -= 2;
}

/* C string s escaped, unquoted ("" for NULL). */
static void put_bare(struct ex_buf *b, const char *s)
{
	put_bare_n(b, s, s ? strlen(s) : 0);
}

/* A nanosecond interval as milliseconds with three decimals. */
static void put_ms(struct ex_buf *b, uint64_t ns)
{
	uint64_t us = ns / 1000;

	ex_buf_printf(b, "%llu.%03llums", (unsigned long long)(us / 1000),
		      (unsigned long long)(us % 1000));
}

/* The value of a, typed: "string", true, -3, 1.5, ["a", "b"]. */
static void put_value(struct ex_buf *b, const struct rt_attr *a)
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
				ex_buf_puts(b, ", ");
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
		ex_buf_puts(b, "(unknown type)");
		break;
	}
}

/* `<indent>key = value` lines for the attributes of sp with this owner. */
static void put_attrs(struct ex_buf *b, const struct rt_span *sp, uint8_t owner, const char *indent)
{
	size_t n = sp->nattrs < RT_SPAN_MAX_ATTRS ? sp->nattrs : RT_SPAN_MAX_ATTRS;

	for (size_t i = 0; i < n; i++) {
		const struct rt_attr *a = &sp->attrs[i];

		if (a->owner != owner)
			continue;
		ex_buf_puts(b, indent);
		put_bare(b, a->key);
		ex_buf_puts(b, " = ");
		put_value(b, a);
		ex_buf_putc(b, '\n');
	}
}

/* The service.name of res, or NULL. */
static const struct rt_attr *service_attr(const struct rt_resource *res)
{
	size_t n = res ? (res->nattrs < RT_RESOURCE_MAX_ATTRS ? res->nattrs : RT_RESOURCE_MAX_ATTRS) : 0;

	for (size_t i = 0; i < n; i++)
		if (res->attrs[i].type == RT_V_STR && res->attrs[i].key &&
		    strcmp(res->attrs[i].key, "service.name") == 0)
			return &res->attrs[i];
	return NULL;
}

/* One span's block (header line and indented detail lines). Failure is
 * recorded in b. */
static void put_span(struct ex_buf *b, const struct rt_span *sp, const struct rt_attr *svc)
{
	size_t nev = sp->nevents < RT_SPAN_MAX_EVENTS ? sp->nevents : RT_SPAN_MAX_EVENTS;
	size_t nln = sp->nlinks < RT_SPAN_MAX_LINKS ? sp->nlinks : RT_SPAN_MAX_LINKS;

	ex_buf_puts(b, "[otelpreload] span ");
	put_bare(b, sp->name);
	ex_buf_printf(b, " kind=%s trace=", kind_name(sp->kind));
	put_hex(b, sp->trace_id, 16);
	ex_buf_puts(b, " span=");
	put_hex(b, sp->span_id, 8);
	ex_buf_puts(b, " parent=");
	if (sp->has_parent && !rt_id_is_zero(sp->parent_id, 8)) {
		put_hex(b, sp->parent_id, 8);
	} else {
		ex_buf_putc(b, '-');
	}
	ex_buf_puts(b, " service=");
	if (svc)
		put_bare_n(b, svc->s, svc->s ? svc->len : 0);
	else
		ex_buf_puts(b, "unknown_service");
	ex_buf_puts(b, " duration=");
	if (sp->start_ns && sp->end_ns >= sp->start_ns)
		put_ms(b, sp->end_ns - sp->start_ns);
	else
		ex_buf_putc(b, '?');
	ex_buf_printf(b, " status=%s", status_name(sp->status));
	if (sp->status_msg && *sp->status_msg) {
		ex_buf_putc(b, ' ');
		ex_json_put_str(b, sp->status_msg, strlen(sp->status_msg));
	}
	if (sp->has_parent && sp->parent_remote)
		ex_buf_puts(b, " remote_parent");
	ex_buf_putc(b, '\n');

	put_attrs(b, sp, RT_OWNER_SPAN, "  ");
	if (sp->tracestate && *sp->tracestate) {
		ex_buf_puts(b, "  tracestate = ");
		ex_json_put_str(b, sp->tracestate, strlen(sp->tracestate));
		ex_buf_putc(b, '\n');
	}
	if (sp->dropped_attrs || sp->dropped_events || sp->dropped_links)
		ex_buf_printf(b, "  dropped attributes=%u events=%u links=%u\n",
			      sp->dropped_attrs, sp->dropped_events, sp->dropped_links);
	for (size_t i = 0; i < nev; i++) {
		const struct rt_event *ev = &sp->events[i];

		ex_buf_puts(b, "  event ");
		put_bare(b, ev->name);
		if (ev->time_ns >= sp->start_ns && sp->start_ns) {
			ex_buf_puts(b, " +");
			put_ms(b, ev->time_ns - sp->start_ns);
		}
		if (ev->dropped_attrs)
			ex_buf_printf(b, " dropped_attributes=%u", ev->dropped_attrs);
		ex_buf_putc(b, '\n');
		put_attrs(b, sp, RT_OWNER_EVENT(i), "    ");
	}
	for (size_t i = 0; i < nln; i++) {
		const struct rt_link *ln = &sp->links[i];

		ex_buf_puts(b, "  link trace=");
		put_hex(b, ln->trace_id, 16);
		ex_buf_puts(b, " span=");
		put_hex(b, ln->span_id, 8);
		ex_buf_printf(b, " remote=%s", ln->remote ? "yes" : "no");
		if (ln->tracestate && *ln->tracestate) {
			ex_buf_puts(b, " tracestate=");
			ex_json_put_str(b, ln->tracestate, strlen(ln->tracestate));
		}
		if (ln->dropped_attrs)
			ex_buf_printf(b, " dropped_attributes=%u", ln->dropped_attrs);
		ex_buf_putc(b, '\n');
		put_attrs(b, sp, RT_OWNER_LINK(i), "    ");
	}
}

/* See encode.h. NULL entries in spans are skipped; res may be NULL.
 * Returns 0, or -ENOMEM when b hit its cap or an allocation failed. */
int ex_console_encode(struct ex_buf *b, const struct rt_resource *res,
		      struct rt_span *const *spans, size_t n)
{
	const struct rt_attr *svc = service_attr(res);

	for (size_t i = 0; i < n; i++)
		if (spans[i])
			put_span(b, spans[i], svc);
	return b->failed ? -ENOMEM : 0;
}
