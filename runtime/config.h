/*
 * config.h - the library's configuration, read once from the environment
 * (OTEL_* standard variables, OTELPRELOAD_* own settings).
 *
 * DESIGN: every value is copied into fixed-size storage inside struct
 * rt_config, so nothing depends on the environment block staying put (the
 * application may setenv/unsetenv later). Parsing is libc-only and does not
 * allocate: it runs in the preload constructor. Invalid values warn once on
 * stderr (prefix "otelpreload:") and fall back to the default.
 */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "propagation.h"
#include "span.h"

#define RT_CFG_STR 1024			/* endpoints, paths, names */
#define RT_CFG_LONGSTR 4096		/* header lists, resource attributes */

enum rt_sampler {
	RT_SAMPLER_ALWAYS_ON,
	RT_SAMPLER_ALWAYS_OFF,
	RT_SAMPLER_TRACEIDRATIO,
	RT_SAMPLER_PB_ALWAYS_ON,	/* parentbased_always_on (default) */
	RT_SAMPLER_PB_ALWAYS_OFF,
	RT_SAMPLER_PB_TRACEIDRATIO,
};

/* Exporter bits (OTEL_TRACES_EXPORTER may list several). */
#define RT_EXP_OTLP 0x01
#define RT_EXP_CONSOLE 0x02
#define RT_EXP_ZIPKIN 0x04
#define RT_EXP_FILE 0x08

enum rt_otlp_proto {
	RT_OTLP_PROTOBUF,		/* http/protobuf (default) */
	RT_OTLP_JSON,			/* http/json */
};

struct rt_config {
	bool disabled;				/* OTEL_SDK_DISABLED=true */
	char service_name[RT_CFG_STR];		/* OTEL_SERVICE_NAME, "" = unset */
	char resource_attrs[RT_CFG_LONGSTR];	/* OTEL_RESOURCE_ATTRIBUTES raw */
	unsigned exporters;			/* RT_EXP_* bits; 0 = none */
	struct rt_props props;			/* OTEL_PROPAGATORS */
	enum rt_sampler sampler;		/* OTEL_TRACES_SAMPLER */
	double sampler_ratio;			/* OTEL_TRACES_SAMPLER_ARG, [0,1] */

	uint32_t bsp_delay_ms;			/* OTEL_BSP_SCHEDULE_DELAY */
	uint32_t bsp_export_timeout_ms;		/* OTEL_BSP_EXPORT_TIMEOUT */
	uint32_t bsp_queue_size;		/* OTEL_BSP_MAX_QUEUE_SIZE */
	uint32_t bsp_batch_size;		/* OTEL_BSP_MAX_EXPORT_BATCH_SIZE (<= queue) */

	struct rt_limits limits;		/* OTEL_*_LIMIT */

	char otlp_endpoint[RT_CFG_STR];		/* full URL of the traces endpoint */
	enum rt_otlp_proto otlp_protocol;
	char otlp_headers[RT_CFG_LONGSTR];	/* raw k=v list */
	uint32_t otlp_timeout_ms;
	bool otlp_gzip;
	char otlp_certificate[RT_CFG_STR];	/* CA bundle file */
	char otlp_client_key[RT_CFG_STR];
	char otlp_client_certificate[RT_CFG_STR];

	char zipkin_endpoint[RT_CFG_STR];
	uint32_t zipkin_timeout_ms;		/* OTEL_EXPORTER_ZIPKIN_TIMEOUT */

	char file_path[RT_CFG_STR];		/* OTELPRELOAD_FILE */
	char http_exclude[RT_CFG_STR];		/* OTELPRELOAD_HTTP_EXCLUDE_PATHS: "/a,/b" */
	bool http_traceresponse;		/* OTELPRELOAD_HTTP_TRACERESPONSE=true */
	bool http_unix;				/* OTELPRELOAD_HTTP_UNIX=true: AF_UNIX too */
	bool pg_sqlcommenter;			/* OTELPRELOAD_PG_SQLCOMMENTER=true */
	uint32_t exit_timeout_ms;		/* OTELPRELOAD_EXIT_TIMEOUT_MS */
	bool stack_threshold_set;		/* OTELPRELOAD_STACK_THRESHOLD_MS is set */
	uint32_t stack_threshold_ms;		/* CLIENT spans this slow get a stack */
	bool stack_on_error;			/* OTELPRELOAD_STACK_ON_ERROR=true */
	bool code_attributes;			/* OTELPRELOAD_CODE_ATTRIBUTES=true */
	char libunwind[RT_CFG_STR];		/* OTELPRELOAD_LIBUNWIND, "" = libunwind.so.8 */
	bool debug;				/* OTELPRELOAD_DEBUG=true */
};

/* The process's configuration; zero until rt_config_load() ran. */
extern struct rt_config rt_cfg;

/*
 * Fill cfg from getenv_fn (getenv, or a table in tests): defaults first,
 * then every variable that is set and valid. Warns once per bad variable.
 * Can't fail.
 */
void rt_config_load(struct rt_config *cfg, const char *(*getenv_fn)(const char *));

/* OTel boolean: only case-insensitive "true" is true. */
bool rt_config_bool(const char *s);

#endif
