/*
 * config.c - reads OTEL_* and OTELPRELOAD_* variables into struct rt_config.
 *
 * Rules (OpenTelemetry SDK environment variable specification): an empty
 * value means unset; booleans are true only for case-insensitive "true";
 * an invalid value warns and the default is used; durations are in
 * milliseconds. Nothing here allocates: it runs in the constructor.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

struct rt_config rt_cfg;

bool rt_config_bool(const char *s)
{
	return s && strcasecmp(s, "true") == 0;
}

/* getenv that treats "" as unset. */
static const char *env(const char *(*getenv_fn)(const char *), const char *name)
{
	const char *v = getenv_fn(name);

	return v && *v ? v : NULL;
}

static void copy_str(char *dst, size_t cap, const char *src, const char *name)
{
	size_t n = strlen(src);

	if (n >= cap) {
		rt_warn("%s is longer than %zu bytes; ignored", name, cap - 1);
		return;
	}
	memcpy(dst, src, n + 1);
}

/* Parse a non-negative decimal integer; false on anything else. */
static bool parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static void get_u32(const char *(*getenv_fn)(const char *), const char *name,
		    uint32_t *out, uint32_t min)
{
	const char *v = env(getenv_fn, name);
	uint32_t x;

	if (!v)
		return;
	if (!parse_u32(v, &x) || x < min) {
		rt_warn("invalid %s=\"%.64s\"; using the default %u", name, v, *out);
		return;
	}
	*out = x;
}

static bool streq_trim(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncmp(s, word, len) == 0;
}

static void parse_exporters(const char *v, unsigned *out)
{
	unsigned bits = 0;
	bool bad = false;
	const char *p = v;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *s = p;

		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (streq_trim(s, n, "otlp"))
			bits |= RT_EXP_OTLP;
		else if (streq_trim(s, n, "console") || streq_trim(s, n, "logging"))
			bits |= RT_EXP_CONSOLE;
		else if (streq_trim(s, n, "zipkin"))
			bits |= RT_EXP_ZIPKIN;
		else if (streq_trim(s, n, "file"))
			bits |= RT_EXP_FILE;
		else if (streq_trim(s, n, "none"))
			;
		else if (n)
			bad = true;
		if (!e)
			break;
		p = e + 1;
	}
	if (bad)
		rt_warn("OTEL_TRACES_EXPORTER=\"%.64s\" names an unknown exporter; "
			"known: otlp, console, zipkin, file, none", v);
	if (bad && !bits)
		return;			/* keep the default */
	*out = bits;
}

static void parse_sampler(const char *(*getenv_fn)(const char *), struct rt_config *cfg)
{
	static const struct {
		const char *name;
		enum rt_sampler s;
	} names[] = {
		{ "always_on", RT_SAMPLER_ALWAYS_ON },
		{ "always_off", RT_SAMPLER_ALWAYS_OFF },
		{ "traceidratio", RT_SAMPLER_TRACEIDRATIO },
		{ "parentbased_always_on", RT_SAMPLER_PB_ALWAYS_ON },
		{ "parentbased_always_off", RT_SAMPLER_PB_ALWAYS_OFF },
		{ "parentbased_traceidratio", RT_SAMPLER_PB_TRACEIDRATIO },
	};
	const char *v = env(getenv_fn, "OTEL_TRACES_SAMPLER");
	const char *arg = env(getenv_fn, "OTEL_TRACES_SAMPLER_ARG");
	size_t i;

	if (v) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(v, names[i].name) == 0)
				break;
		if (i < sizeof(names) / sizeof(names[0]))
			cfg->sampler = names[i].s;
		else
			rt_warn("unsupported OTEL_TRACES_SAMPLER=\"%.64s\"; using "
				"parentbased_always_on", v);
	}
	if (arg && (cfg->sampler == RT_SAMPLER_TRACEIDRATIO ||
		    cfg->sampler == RT_SAMPLER_PB_TRACEIDRATIO)) {
		char *end;
		double d;

		errno = 0;
		d = strtod(arg, &end);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno || *end || end == arg || !(d >= 0.0 && d <= 1.0))
			rt_warn("invalid OTEL_TRACES_SAMPLER_ARG=\"%.64s\"; using 1.0", arg);
		else
			cfg->sampler_ratio = d;
	}
}

/* Build the traces URL: a signal-specific endpoint is used as given; the
 * generic base gets "v1/traces" appended (with exactly one slash). */
static void otlp_endpoint(const char *(*getenv_fn)(const char *), struct rt_config *cfg)
{
	const char *t = env(getenv_fn, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	const char *b = env(getenv_fn, "OTEL_EXPORTER_OTLP_ENDPOINT");
	size_t n;

	if (t && strlen(t) < sizeof(cfg->otlp_endpoint)) {
		memcpy(cfg->otlp_endpoint, t, strlen(t) + 1);
		return;
	}
	if (t)
		rt_warn("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is longer than %zu bytes; ignored",
			sizeof(cfg->otlp_endpoint) - 1);
	if (!b)
		b = "http://localhost:4318";
	n = strlen(b);
	while (n && b[n - 1] == '/')
		n--;
	if (n + sizeof("/v1/traces") > sizeof(cfg->otlp_endpoint)) {
		rt_warn("OTEL_EXPORTER_OTLP_ENDPOINT is too long; using the default");
		b = "http://localhost:4318";
		n = strlen(b);
	}
	memcpy(cfg->otlp_endpoint, b, n);
	memcpy(cfg->otlp_endpoint + n, "/v1/traces", sizeof("/v1/traces"));
}

/* Signal-specific variable first, then the generic one; namebuf gets the
 * name of the one found (for warnings). */
static const char *otlp_var(const char *(*getenv_fn)(const char *), const char *suffix,
			    char *namebuf, size_t cap)
{
	static const char traces[] = "OTEL_EXPORTER_OTLP_TRACES_";
	static const char generic[] = "OTEL_EXPORTER_OTLP_";
	size_t n = strlen(suffix);
	const char *v;

	if (sizeof(traces) + n > cap)
		return NULL;
	memcpy(namebuf, traces, sizeof(traces) - 1);
	memcpy(namebuf + sizeof(traces) - 1, suffix, n + 1);
	v = env(getenv_fn, namebuf);
	if (v)
		return v;
	memcpy(namebuf, generic, sizeof(generic) - 1);
	memcpy(namebuf + sizeof(generic) - 1, suffix, n + 1);
	return env(getenv_fn, namebuf);
}

static void parse_otlp(const char *(*getenv_fn)(const char *), struct rt_config *cfg)
{
	char name[64];
	const char *v;
	uint32_t ms;

	otlp_endpoint(getenv_fn, cfg);
	v = otlp_var(getenv_fn, "PROTOCOL", name, sizeof(name));
	if (v) {
		if (strcmp(v, "http/protobuf") == 0)
			cfg->otlp_protocol = RT_OTLP_PROTOBUF;
		else if (strcmp(v, "http/json") == 0)
			cfg->otlp_protocol = RT_OTLP_JSON;
		else if (strcmp(v, "grpc") == 0)
			rt_warn("%s=grpc is not supported; using http/protobuf (point the "
				"endpoint at the collector's OTLP/HTTP port, usually 4318)", name);
		else
			rt_warn("invalid %s=\"%.64s\"; using http/protobuf", name, v);
	}
	v = otlp_var(getenv_fn, "HEADERS", name, sizeof(name));
	if (v)
		copy_str(cfg->otlp_headers, sizeof(cfg->otlp_headers), v, name);
	v = otlp_var(getenv_fn, "TIMEOUT", name, sizeof(name));
	if (v) {
		if (parse_u32(v, &ms) && ms > 0)
			cfg->otlp_timeout_ms = ms;
		else
			rt_warn("invalid %s=\"%.64s\"; using %u", name, v, cfg->otlp_timeout_ms);
	}
	v = otlp_var(getenv_fn, "COMPRESSION", name, sizeof(name));
	if (v) {
		if (strcmp(v, "gzip") == 0)
			cfg->otlp_gzip = true;
		else if (strcmp(v, "none") != 0)
			rt_warn("invalid %s=\"%.64s\"; using none", name, v);
	}
	v = otlp_var(getenv_fn, "CERTIFICATE", name, sizeof(name));
	if (v)
		copy_str(cfg->otlp_certificate, sizeof(cfg->otlp_certificate), v, name);
	v = otlp_var(getenv_fn, "CLIENT_KEY", name, sizeof(name));
	if (v)
		copy_str(cfg->otlp_client_key, sizeof(cfg->otlp_client_key), v, name);
	v = otlp_var(getenv_fn, "CLIENT_CERTIFICATE", name, sizeof(name));
	if (v)
		copy_str(cfg->otlp_client_certificate, sizeof(cfg->otlp_client_certificate), v, name);
}

static void parse_limits(const char *(*getenv_fn)(const char *), struct rt_limits *l)
{
	/* General limits first; span-specific ones override (OTel spec:
	 * "Attribute Limits" then "Span Limits"). */
	get_u32(getenv_fn, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", &l->attr_value_len, 0);
	get_u32(getenv_fn, "OTEL_ATTRIBUTE_COUNT_LIMIT", &l->span_attrs, 0);
	l->event_attrs = l->link_attrs = l->span_attrs;
	get_u32(getenv_fn, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", &l->attr_value_len, 0);
	get_u32(getenv_fn, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", &l->span_attrs, 0);
	get_u32(getenv_fn, "OTEL_SPAN_EVENT_COUNT_LIMIT", &l->span_events, 0);
	get_u32(getenv_fn, "OTEL_SPAN_LINK_COUNT_LIMIT", &l->span_links, 0);
	get_u32(getenv_fn, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", &l->event_attrs, 0);
	get_u32(getenv_fn, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", &l->link_attrs, 0);
}

static void defaults(struct rt_config *cfg)
{
	/* Field by field rather than one memset of the whole struct: it is
	 * tens of KiB of string buffers, and this runs in every process. */
	cfg->disabled = false;
	cfg->service_name[0] = 0;
	cfg->resource_attrs[0] = 0;
	cfg->otlp_endpoint[0] = 0;
	cfg->otlp_headers[0] = 0;
	cfg->otlp_gzip = false;
	cfg->otlp_certificate[0] = 0;
	cfg->otlp_client_key[0] = 0;
	cfg->otlp_client_certificate[0] = 0;
	cfg->debug = false;
	cfg->http_exclude[0] = 0;
	cfg->http_traceresponse = false;
	cfg->http_unix = false;
	cfg->pg_sqlcommenter = false;
	cfg->stack_threshold_set = false;
	cfg->stack_threshold_ms = 0;
	cfg->stack_on_error = false;
	cfg->code_attributes = false;
	cfg->libunwind[0] = 0;
	memset(&cfg->props, 0, sizeof(cfg->props));
	cfg->exporters = RT_EXP_OTLP;
	cfg->props.n = 2;
	cfg->props.list[0] = RT_PROP_TRACECONTEXT;
	cfg->props.list[1] = RT_PROP_BAGGAGE;
	cfg->sampler = RT_SAMPLER_PB_ALWAYS_ON;
	cfg->sampler_ratio = 1.0;
	cfg->bsp_delay_ms = 5000;
	cfg->bsp_export_timeout_ms = 30000;
	cfg->bsp_queue_size = 2048;
	cfg->bsp_batch_size = 512;
	cfg->limits = (struct rt_limits){
		.attr_value_len = 0,
		.span_attrs = 128,
		.span_events = 128,
		.span_links = 128,
		.event_attrs = 128,
		.link_attrs = 128,
	};
	cfg->otlp_protocol = RT_OTLP_PROTOBUF;
	cfg->otlp_timeout_ms = 10000;
	strcpy(cfg->zipkin_endpoint, "http://localhost:9411/api/v2/spans");
	cfg->zipkin_timeout_ms = 10000;
	strcpy(cfg->file_path, "otelpreload-traces.jsonl");
	cfg->exit_timeout_ms = 2000;
}

void rt_config_load(struct rt_config *cfg, const char *(*getenv_fn)(const char *))
{
	const char *v;

	defaults(cfg);
	cfg->disabled = rt_config_bool(env(getenv_fn, "OTEL_SDK_DISABLED"));
	cfg->debug = rt_config_bool(env(getenv_fn, "OTELPRELOAD_DEBUG"));
	if (cfg->disabled)
		return;

	if ((v = env(getenv_fn, "OTEL_SERVICE_NAME")))
		copy_str(cfg->service_name, sizeof(cfg->service_name), v, "OTEL_SERVICE_NAME");
	if ((v = env(getenv_fn, "OTEL_RESOURCE_ATTRIBUTES")))
		copy_str(cfg->resource_attrs, sizeof(cfg->resource_attrs), v,
			 "OTEL_RESOURCE_ATTRIBUTES");
	if ((v = env(getenv_fn, "OTEL_TRACES_EXPORTER")))
		parse_exporters(v, &cfg->exporters);
	if ((v = env(getenv_fn, "OTEL_PROPAGATORS"))) {
		struct rt_props p;
		const char *unknown = NULL;

		if (!rt_props_parse(v, &p, &unknown))
			rt_warn("OTEL_PROPAGATORS=\"%.64s\" names an unsupported propagator; "
				"known: tracecontext, baggage, b3, b3multi, none", v);
		cfg->props = p;
	}
	parse_sampler(getenv_fn, cfg);

	get_u32(getenv_fn, "OTEL_BSP_SCHEDULE_DELAY", &cfg->bsp_delay_ms, 0);
	get_u32(getenv_fn, "OTEL_BSP_EXPORT_TIMEOUT", &cfg->bsp_export_timeout_ms, 1);
	get_u32(getenv_fn, "OTEL_BSP_MAX_QUEUE_SIZE", &cfg->bsp_queue_size, 1);
	get_u32(getenv_fn, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &cfg->bsp_batch_size, 1);
	if (cfg->bsp_queue_size > (1u << 20)) {
		rt_warn("OTEL_BSP_MAX_QUEUE_SIZE=%u is above the cap %u; using the cap",
			cfg->bsp_queue_size, 1u << 20);
		cfg->bsp_queue_size = 1u << 20;
	}
	/* Spec: the batch size must be less than or equal to the queue size. */
	if (cfg->bsp_batch_size > cfg->bsp_queue_size)
		cfg->bsp_batch_size = cfg->bsp_queue_size;

	parse_limits(getenv_fn, &cfg->limits);
	parse_otlp(getenv_fn, cfg);

	if ((v = env(getenv_fn, "OTEL_EXPORTER_ZIPKIN_ENDPOINT")))
		copy_str(cfg->zipkin_endpoint, sizeof(cfg->zipkin_endpoint), v,
			 "OTEL_EXPORTER_ZIPKIN_ENDPOINT");
	get_u32(getenv_fn, "OTEL_EXPORTER_ZIPKIN_TIMEOUT", &cfg->zipkin_timeout_ms, 1);

	if ((v = env(getenv_fn, "OTELPRELOAD_FILE")))
		copy_str(cfg->file_path, sizeof(cfg->file_path), v, "OTELPRELOAD_FILE");
	get_u32(getenv_fn, "OTELPRELOAD_EXIT_TIMEOUT_MS", &cfg->exit_timeout_ms, 0);
	if ((v = env(getenv_fn, "OTELPRELOAD_HTTP_EXCLUDE_PATHS")))
		copy_str(cfg->http_exclude, sizeof(cfg->http_exclude), v,
			 "OTELPRELOAD_HTTP_EXCLUDE_PATHS");
	cfg->http_traceresponse = rt_config_bool(env(getenv_fn, "OTELPRELOAD_HTTP_TRACERESPONSE"));
	cfg->http_unix = rt_config_bool(env(getenv_fn, "OTELPRELOAD_HTTP_UNIX"));
	cfg->pg_sqlcommenter = rt_config_bool(env(getenv_fn, "OTELPRELOAD_PG_SQLCOMMENTER"));
	/* Stack traces (runtime/stack.c): a threshold, unset by default; 0 is
	 * valid (every CLIENT span). A threshold also turns on stacks for
	 * spans that end in error. */
	if ((v = env(getenv_fn, "OTELPRELOAD_STACK_THRESHOLD_MS"))) {
		if (parse_u32(v, &cfg->stack_threshold_ms))
			cfg->stack_threshold_set = true;
		else
			rt_warn("invalid OTELPRELOAD_STACK_THRESHOLD_MS=\"%.64s\"; no stacks for "
				"slow spans", v);
	}
	cfg->stack_on_error = rt_config_bool(env(getenv_fn, "OTELPRELOAD_STACK_ON_ERROR"));
	cfg->code_attributes = rt_config_bool(env(getenv_fn, "OTELPRELOAD_CODE_ATTRIBUTES"));
	if ((v = env(getenv_fn, "OTELPRELOAD_LIBUNWIND")))
		copy_str(cfg->libunwind, sizeof(cfg->libunwind), v, "OTELPRELOAD_LIBUNWIND");
	if (cfg->exit_timeout_ms > 60000) {
		rt_warn("OTELPRELOAD_EXIT_TIMEOUT_MS capped at 60000");
		cfg->exit_timeout_ms = 60000;
	}
}
