/*
 * fuzz_config.c - libFuzzer target for the environment parser
 * (runtime/config.c, rt_config_load) and the resource built from it
 * (runtime/resource.c, rt_resource_build). Built and run by
 * tests/fuzz/run.sh (`make fuzz`).
 *
 * The input is an environment: "NAME=VALUE" lines. A NAME that is one of
 * the variables the library reads is used as is; any other NAME stands for
 * one of them, picked by the sum of its bytes, so mutations of a name still
 * land on a real variable instead of being ignored. A NAME ending in '*'
 * has its value repeated to REPEAT_LEN bytes, past every fixed-size field,
 * which inputs of at most 4096 bytes could not reach otherwise. A later line
 * for the same variable wins, as with setenv.
 *
 * Checks after rt_config_load: the documented bounds (batch <= queue,
 * 1 <= queue <= 2^20, ratio in [0,1], exit timeout <= 60000, timeouts >= 1,
 * propagator list short and of known values), enums in range, every string
 * NUL-terminated inside its array, the OTLP endpoint always usable and
 * derived as the spec says, and the same result when the struct held
 * garbage before (every field has a default). rt_resource_build, called as
 * the exporter does and again with the raw values: attributes and arena in
 * bounds, keys unique, service.name always present and taken from
 * OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then the default.
 *
 * Warnings go through rt_warn; rt_log_init() is not called, so they are
 * formatted (and so fuzzed) but never written.
 */
// SOURCES: runtime/config.c runtime/log.c runtime/propagation.c runtime/hex.c runtime/kvlist.c runtime/resource.c
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/config.h"
#include "../../runtime/kvlist.h"
#include "../../runtime/resource.h"

#define CHECK(c)                                   \
	do {                                       \
		if (!(c))                          \
			__builtin_trap();          \
	} while (0)

#define REPEAT_LEN 4200		/* > RT_CFG_LONGSTR */
#define REPEAT_MAX 4		/* repeated values per input */

/* Every variable the library reads (FIELD-NOTES section 6 and config.c). */
static const char *const names[] = {
	"OTEL_SDK_DISABLED",
	"OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_EXPORTER",
	"OTEL_PROPAGATORS",
	"OTEL_TRACES_SAMPLER",
	"OTEL_TRACES_SAMPLER_ARG",
	"OTEL_BSP_SCHEDULE_DELAY",
	"OTEL_BSP_EXPORT_TIMEOUT",
	"OTEL_BSP_MAX_QUEUE_SIZE",
	"OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
	"OTEL_ATTRIBUTE_COUNT_LIMIT",
	"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
	"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
	"OTEL_SPAN_EVENT_COUNT_LIMIT",
	"OTEL_SPAN_LINK_COUNT_LIMIT",
	"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
	"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_ZIPKIN_ENDPOINT",
	"OTEL_EXPORTER_ZIPKIN_TIMEOUT",
	"OTELPRELOAD_FILE",
	"OTELPRELOAD_EXIT_TIMEOUT_MS",
	"OTELPRELOAD_DEBUG",
	"OTELPRELOAD_STACK_THRESHOLD_MS",
	"OTELPRELOAD_STACK_ON_ERROR",
	"OTELPRELOAD_CODE_ATTRIBUTES",
	"OTELPRELOAD_LIBUNWIND",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* The environment of the current input: a value (or NULL) per name. */
static const char *env_val[NNAMES];

static int name_index(const char *s, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < NNAMES; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return (int)i;
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)s[i];
	return (int)(sum % NNAMES);
}

static const char *fz_getenv(const char *name)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (strcmp(names[i], name) == 0)
			return env_val[i];
	return NULL;		/* a variable this target does not know: unset */
}

static const char *var(const char *name)
{
	const char *v = fz_getenv(name);

	return v && *v ? v : NULL;	/* the library's rule: "" is unset */
}

/*
 * Split buf (size bytes plus a NUL, writable) into env_val: each line's
 * '\n' becomes its value's terminator.
 */
static void parse_env(char *buf, size_t size)
{
	static char rep[REPEAT_MAX][REPEAT_LEN + 1];
	size_t nrep = 0, pos = 0;

	memset(env_val, 0, sizeof(env_val));
	while (pos < size) {
		char *line = buf + pos;
		char *nl = memchr(line, '\n', size - pos);
		size_t llen = nl ? (size_t)(nl - line) : size - pos;
		char *eq = memchr(line, '=', llen);
		size_t nlen;
		bool repeat;
		int idx;

		pos += llen + 1;
		if (!eq)
			continue;
		line[llen] = '\0';
		nlen = (size_t)(eq - line);
		repeat = nlen && line[nlen - 1] == '*';
		idx = name_index(line, repeat ? nlen - 1 : nlen);
		env_val[idx] = eq + 1;
		if (repeat && nrep < REPEAT_MAX) {
			size_t vlen = strlen(eq + 1), n = 0;
			char *r = rep[nrep++];

			while (vlen && n < REPEAT_LEN) {
				size_t k = vlen < REPEAT_LEN - n ? vlen : REPEAT_LEN - n;

				memcpy(r + n, eq + 1, k);
				n += k;
			}
			r[n] = '\0';
			env_val[idx] = r;
		}
	}
}

#define TERMINATED(f) CHECK(memchr((f), '\0', sizeof(f)) != NULL)

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void check_config(const struct rt_config *c)
{
	const char *t;

	TERMINATED(c->service_name);
	TERMINATED(c->resource_attrs);
	TERMINATED(c->otlp_endpoint);
	TERMINATED(c->otlp_headers);
	TERMINATED(c->otlp_certificate);
	TERMINATED(c->otlp_client_key);
	TERMINATED(c->otlp_client_certificate);
	TERMINATED(c->zipkin_endpoint);
	TERMINATED(c->file_path);
	TERMINATED(c->libunwind);
	CHECK(c->stack_threshold_set || c->stack_threshold_ms == 0);

	CHECK(c->bsp_queue_size >= 1 && c->bsp_queue_size <= (1u << 20));
	CHECK(c->bsp_batch_size >= 1 && c->bsp_batch_size <= c->bsp_queue_size);
	CHECK(c->bsp_export_timeout_ms >= 1);
	CHECK(c->sampler_ratio >= 0.0 && c->sampler_ratio <= 1.0);	/* NaN fails */
	CHECK(c->exit_timeout_ms <= 60000);
	CHECK(c->otlp_timeout_ms >= 1 && c->zipkin_timeout_ms >= 1);
	CHECK((unsigned)c->sampler <= RT_SAMPLER_PB_TRACEIDRATIO);
	CHECK(c->otlp_protocol == RT_OTLP_PROTOBUF || c->otlp_protocol == RT_OTLP_JSON);
	CHECK((c->exporters & ~(unsigned)(RT_EXP_OTLP | RT_EXP_CONSOLE | RT_EXP_ZIPKIN |
					   RT_EXP_FILE)) == 0);
	CHECK(c->props.n <= RT_PROP_MAX);
	for (unsigned i = 0; i < c->props.n; i++) {
		CHECK(c->props.list[i] >= RT_PROP_TRACECONTEXT &&
		      c->props.list[i] <= RT_PROP_B3MULTI);
		for (unsigned j = 0; j < i; j++)
			CHECK(c->props.list[j] != c->props.list[i]);	/* duplicates dropped */
	}

	/* Spec: only case-insensitive "true" is true. */
	CHECK(c->disabled == rt_config_bool(var("OTEL_SDK_DISABLED")));
	CHECK(c->debug == rt_config_bool(var("OTELPRELOAD_DEBUG")));
	if (c->disabled)
		return;

	/* The signal-specific endpoint is used as given; otherwise the base
	 * (or its default) gets /v1/traces. Never an empty URL. */
	CHECK(c->otlp_endpoint[0] != '\0');
	t = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	if (t && strlen(t) < sizeof(c->otlp_endpoint))
		CHECK(strcmp(c->otlp_endpoint, t) == 0);
	else
		CHECK(ends_with(c->otlp_endpoint, "/v1/traces"));
	t = var("OTEL_SERVICE_NAME");
	if (t && strlen(t) < sizeof(c->service_name))
		CHECK(strcmp(c->service_name, t) == 0);
}

static bool same_config(const struct rt_config *a, const struct rt_config *b)
{
	return a->disabled == b->disabled && a->debug == b->debug &&
	       strcmp(a->service_name, b->service_name) == 0 &&
	       strcmp(a->resource_attrs, b->resource_attrs) == 0 &&
	       a->exporters == b->exporters && a->props.n == b->props.n &&
	       memcmp(a->props.list, b->props.list, a->props.n) == 0 &&
	       a->sampler == b->sampler &&
	       memcmp(&a->sampler_ratio, &b->sampler_ratio, sizeof(double)) == 0 &&
	       a->bsp_delay_ms == b->bsp_delay_ms &&
	       a->bsp_export_timeout_ms == b->bsp_export_timeout_ms &&
	       a->bsp_queue_size == b->bsp_queue_size &&
	       a->bsp_batch_size == b->bsp_batch_size &&
	       memcmp(&a->limits, &b->limits, sizeof(a->limits)) == 0 &&
	       strcmp(a->otlp_endpoint, b->otlp_endpoint) == 0 &&
	       a->otlp_protocol == b->otlp_protocol &&
	       strcmp(a->otlp_headers, b->otlp_headers) == 0 &&
	       a->otlp_timeout_ms == b->otlp_timeout_ms && a->otlp_gzip == b->otlp_gzip &&
	       strcmp(a->otlp_certificate, b->otlp_certificate) == 0 &&
	       strcmp(a->otlp_client_key, b->otlp_client_key) == 0 &&
	       strcmp(a->otlp_client_certificate, b->otlp_client_certificate) == 0 &&
	       strcmp(a->zipkin_endpoint, b->zipkin_endpoint) == 0 &&
	       a->zipkin_timeout_ms == b->zipkin_timeout_ms &&
	       strcmp(a->file_path, b->file_path) == 0 &&
	       a->exit_timeout_ms == b->exit_timeout_ms;
}

/* ---- resource ---------------------------------------------------------- */

/* The last service.name of an OTEL_RESOURCE_ATTRIBUTES list. */
struct listed {
	bool found;
	char val[RT_RESOURCE_ARENA];
};

/* kvlist callback filling a struct listed. */
static void last_service_name(const char *key, size_t klen, const char *val, size_t vlen,
			      void *arg)
{
	struct listed *l = arg;

	(void)klen;
	if (strcmp(key, "service.name") == 0) {
		CHECK(vlen < sizeof(l->val));
		memcpy(l->val, val, vlen + 1);
		l->found = true;
	}
}

static bool in_arena(const struct rt_resource *r, const char *s)
{
	return s >= r->arena && s < r->arena + r->arena_used &&
	       memchr(s, '\0', (size_t)(r->arena + r->arena_used - s)) != NULL;
}

static void check_resource(const char *service_name, const char *attrs, const char *exe,
			   const char *host)
{
	static struct rt_resource res;
	static char scratch[RT_RESOURCE_ARENA];
	static struct listed listed;
	const struct rt_attr *sn = NULL;
	const char *want;

	memset(&res, 0xa5, sizeof(res));
	rt_resource_build(&res, service_name, attrs, exe, host, 4242);

	CHECK(res.nattrs <= RT_RESOURCE_MAX_ATTRS);
	CHECK(res.arena_used <= RT_RESOURCE_ARENA);
	for (unsigned i = 0; i < res.nattrs; i++) {
		const struct rt_attr *a = &res.attrs[i];

		CHECK(in_arena(&res, a->key) && a->key[0] != '\0');
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(res.attrs[j].key, a->key) != 0);
		CHECK(a->type == RT_V_STR || a->type == RT_V_INT);
		if (a->type == RT_V_STR)
			CHECK(in_arena(&res, a->s) && strlen(a->s) == a->len);
		if (strcmp(a->key, "service.name") == 0)
			sn = a;
	}

	/* service.name: OTEL_SERVICE_NAME, else the list's, else the default. */
	CHECK(sn != NULL && sn->type == RT_V_STR);
	CHECK(rt_resource_service_name(&res) == sn->s);
	listed.found = false;
	if (attrs && *attrs)
		rt_kvlist_parse(attrs, scratch, sizeof(scratch), last_service_name, &listed);
	if (service_name && *service_name) {
		want = service_name;
	} else if (listed.found && listed.val[0]) {
		want = listed.val;		/* an empty one falls back to the default */
	} else {
		snprintf(scratch, sizeof(scratch), "unknown_service:%s", exe && *exe ? exe : "");
		want = scratch;
	}
	CHECK(strcmp(sn->s, want) == 0);
}

/* s when it is shorter than cap bytes, else NULL. */
static const char *fits(const char *s, size_t cap)
{
	return s && strlen(s) < cap ? s : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rt_config a, b;
	char *buf = malloc(size + 1);
	unsigned pick = size ? data[0] : 0;

	CHECK(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	parse_env(buf, size);

	memset(&a, 0, sizeof(a));
	rt_config_load(&a, fz_getenv);
	check_config(&a);
	memset(&b, 0xa5, sizeof(b));		/* defaults must cover every field */
	rt_config_load(&b, fz_getenv);
	CHECK(same_config(&a, &b));

	/* As the exporter calls it (the copies in the config), then with the
	 * raw variables, NULL included, and exe and host NULL or "". Raw
	 * values longer than the config would keep are left out: the
	 * exporter never passes those, and they could overflow the arena. */
	check_resource(a.service_name, a.resource_attrs, "fuzz_config", "host-1");
	check_resource(fits(fz_getenv("OTEL_SERVICE_NAME"), sizeof(a.service_name)),
		       fits(fz_getenv("OTEL_RESOURCE_ATTRIBUTES"), sizeof(a.resource_attrs)),
		       pick & 1 ? NULL : pick & 2 ? "" : "fuzz_config",
		       pick & 4 ? NULL : pick & 8 ? "" : "host-1");
	free(buf);
	return 0;
}
