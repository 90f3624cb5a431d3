/*
 * test_config.c - OTEL_* and OTELPRELOAD_* parsing (OTel SDK environment
 * variable specification): defaults, valid values, invalid values falling
 * back to defaults.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../runtime/config.h"

static const char *vars[32][2];

static const char *get(const char *n)
{
	for (int i = 0; i < 32 && vars[i][0]; i++)
		if (strcmp(vars[i][0], n) == 0)
			return vars[i][1];
	return NULL;
}

static struct rt_config cfg;

static void load(const char *const *kv)
{
	int i = 0;

	for (; kv && kv[2 * i]; i++) {
		vars[i][0] = kv[2 * i];
		vars[i][1] = kv[2 * i + 1];
	}
	vars[i][0] = NULL;
	rt_config_load(&cfg, get);
}

Test(config, defaults_follow_the_spec)
{
	load(NULL);
	cr_assert(!cfg.disabled);
	cr_assert_eq(cfg.exporters, RT_EXP_OTLP);
	cr_assert_eq(cfg.sampler, RT_SAMPLER_PB_ALWAYS_ON);
	cr_assert_eq(cfg.bsp_delay_ms, 5000);
	cr_assert_eq(cfg.bsp_export_timeout_ms, 30000);
	cr_assert_eq(cfg.bsp_queue_size, 2048);
	cr_assert_eq(cfg.bsp_batch_size, 512);
	cr_assert_eq(cfg.limits.span_attrs, 128);
	cr_assert_eq(cfg.limits.span_events, 128);
	cr_assert_eq(cfg.limits.attr_value_len, 0);
	cr_assert_str_eq(cfg.otlp_endpoint, "http://localhost:4318/v1/traces");
	cr_assert_eq(cfg.otlp_protocol, RT_OTLP_PROTOBUF);
	cr_assert_eq(cfg.otlp_timeout_ms, 10000);
	cr_assert(!cfg.otlp_gzip);
	cr_assert_str_eq(cfg.zipkin_endpoint, "http://localhost:9411/api/v2/spans");
	cr_assert_str_eq(cfg.file_path, "otelpreload-traces.jsonl");
	cr_assert_eq(cfg.exit_timeout_ms, 2000);
	cr_assert_eq(cfg.props.n, 2);
	cr_assert_eq(cfg.props.list[0], RT_PROP_TRACECONTEXT);
	cr_assert_eq(cfg.props.list[1], RT_PROP_BAGGAGE);
}

Test(config, booleans_are_true_only_for_true)
{
	static const struct {
		const char *v;
		bool want;
	} rows[] = {
		{ "true", true }, { "TRUE", true }, { "True", true },
		{ "1", false }, { "yes", false }, { "", false }, { "false", false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		load((const char *[]){ "OTEL_SDK_DISABLED", rows[i].v, NULL });
		cr_assert_eq(cfg.disabled, rows[i].want, "OTEL_SDK_DISABLED=%s", rows[i].v);
	}
}

Test(config, endpoints)
{
	/* The base endpoint gets v1/traces appended with one slash. */
	load((const char *[]){ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/", NULL });
	cr_assert_str_eq(cfg.otlp_endpoint, "http://c:4318/v1/traces");
	load((const char *[]){ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/prefix", NULL });
	cr_assert_str_eq(cfg.otlp_endpoint, "http://c:4318/prefix/v1/traces");
	/* The signal-specific one is used as given, and wins. */
	load((const char *[]){ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1",
			       "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:2/custom", NULL });
	cr_assert_str_eq(cfg.otlp_endpoint, "http://b:2/custom");
	/* Empty means unset. */
	load((const char *[]){ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", NULL });
	cr_assert_str_eq(cfg.otlp_endpoint, "http://localhost:4318/v1/traces");
}

Test(config, otlp_options_specific_over_generic)
{
	load((const char *[]){ "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json",
			       "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1234",
			       "OTEL_EXPORTER_OTLP_TIMEOUT", "99",
			       "OTEL_EXPORTER_OTLP_COMPRESSION", "gzip",
			       "OTEL_EXPORTER_OTLP_HEADERS", "a=b,c=d%20e",
			       "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/ca.pem", NULL });
	cr_assert_eq(cfg.otlp_protocol, RT_OTLP_JSON);
	cr_assert_eq(cfg.otlp_timeout_ms, 1234);
	cr_assert(cfg.otlp_gzip);
	cr_assert_str_eq(cfg.otlp_headers, "a=b,c=d%20e");
	cr_assert_str_eq(cfg.otlp_certificate, "/ca.pem");
	load((const char *[]){ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", NULL });
	cr_assert_eq(cfg.otlp_protocol, RT_OTLP_PROTOBUF);
}

Test(config, exporters_list)
{
	load((const char *[]){ "OTEL_TRACES_EXPORTER", "console, file", NULL });
	cr_assert_eq(cfg.exporters, RT_EXP_CONSOLE | RT_EXP_FILE);
	load((const char *[]){ "OTEL_TRACES_EXPORTER", "none", NULL });
	cr_assert_eq(cfg.exporters, 0);
	load((const char *[]){ "OTEL_TRACES_EXPORTER", "zipkin,otlp", NULL });
	cr_assert_eq(cfg.exporters, RT_EXP_ZIPKIN | RT_EXP_OTLP);
	/* Unknown alone: the default stays. */
	load((const char *[]){ "OTEL_TRACES_EXPORTER", "jaeger", NULL });
	cr_assert_eq(cfg.exporters, RT_EXP_OTLP);
}

Test(config, invalid_numbers_keep_defaults)
{
	static const char *bad[] = { "abc", "-1", "12x", "99999999999", "" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		load((const char *[]){ "OTEL_BSP_MAX_QUEUE_SIZE", bad[i],
				       "OTEL_BSP_SCHEDULE_DELAY", bad[i], NULL });
		cr_assert_eq(cfg.bsp_queue_size, 2048, "value %s", bad[i]);
		cr_assert_eq(cfg.bsp_delay_ms, 5000, "value %s", bad[i]);
	}
	load((const char *[]){ "OTEL_BSP_MAX_QUEUE_SIZE", "0", NULL });
	cr_assert_eq(cfg.bsp_queue_size, 2048);
}

Test(config, batch_size_never_exceeds_queue_size)
{
	load((const char *[]){ "OTEL_BSP_MAX_QUEUE_SIZE", "100",
			       "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500", NULL });
	cr_assert_eq(cfg.bsp_queue_size, 100);
	cr_assert_eq(cfg.bsp_batch_size, 100);
}

Test(config, limits_general_then_specific)
{
	load((const char *[]){ "OTEL_ATTRIBUTE_COUNT_LIMIT", "10",
			       "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "20",
			       "OTEL_SPAN_EVENT_COUNT_LIMIT", "3", NULL });
	cr_assert_eq(cfg.limits.span_attrs, 10);
	cr_assert_eq(cfg.limits.event_attrs, 10);
	cr_assert_eq(cfg.limits.attr_value_len, 20);
	cr_assert_eq(cfg.limits.span_events, 3);
	load((const char *[]){ "OTEL_ATTRIBUTE_COUNT_LIMIT", "10",
			       "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5", NULL });
	cr_assert_eq(cfg.limits.span_attrs, 5);
}

Test(config, overlong_values_are_ignored_not_truncated)
{
	static char longv[RT_CFG_STR + 10];

	memset(longv, 'a', sizeof(longv) - 1);
	load((const char *[]){ "OTEL_SERVICE_NAME", longv, "OTELPRELOAD_FILE", longv, NULL });
	cr_assert_str_eq(cfg.service_name, "");
	cr_assert_str_eq(cfg.file_path, "otelpreload-traces.jsonl");
}

Test(config, disabled_short_circuits)
{
	load((const char *[]){ "OTEL_SDK_DISABLED", "true", "OTEL_TRACES_EXPORTER", "console", NULL });
	cr_assert(cfg.disabled);
}

Test(config, propagators)
{
	load((const char *[]){ "OTEL_PROPAGATORS", "b3multi,tracecontext", NULL });
	cr_assert_eq(cfg.props.n, 2);
	cr_assert_eq(cfg.props.list[0], RT_PROP_B3MULTI);
	cr_assert_eq(cfg.props.list[1], RT_PROP_TRACECONTEXT);
	load((const char *[]){ "OTEL_PROPAGATORS", "none", NULL });
	cr_assert_eq(cfg.props.n, 0);
}

Test(config, exit_timeout)
{
	load((const char *[]){ "OTELPRELOAD_EXIT_TIMEOUT_MS", "500", NULL });
	cr_assert_eq(cfg.exit_timeout_ms, 500);
	load((const char *[]){ "OTELPRELOAD_EXIT_TIMEOUT_MS", "999999", NULL });
	cr_assert_eq(cfg.exit_timeout_ms, 60000);
}

Test(config, stack_traces)
{
	load(NULL);
	cr_assert(!cfg.stack_threshold_set, "off by default");
	cr_assert(!cfg.stack_on_error);
	cr_assert(!cfg.code_attributes);
	cr_assert_str_eq(cfg.libunwind, "");
	load((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "250", "OTELPRELOAD_STACK_ON_ERROR",
			       "TRUE", "OTELPRELOAD_CODE_ATTRIBUTES", "true", "OTELPRELOAD_LIBUNWIND",
			       "/opt/lib/libunwind.so.8", NULL });
	cr_assert(cfg.stack_threshold_set);
	cr_assert_eq(cfg.stack_threshold_ms, 250);
	cr_assert(cfg.stack_on_error);
	cr_assert(cfg.code_attributes);
	cr_assert_str_eq(cfg.libunwind, "/opt/lib/libunwind.so.8");
	/* 0 is a threshold (every CLIENT span), not "off". */
	load((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "0", NULL });
	cr_assert(cfg.stack_threshold_set);
	cr_assert_eq(cfg.stack_threshold_ms, 0);
	/* Empty is unset; invalid warns and stays unset. */
	load((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "", NULL });
	cr_assert(!cfg.stack_threshold_set);
	load((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "-5", NULL });
	cr_assert(!cfg.stack_threshold_set);
	load((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "1s", NULL });
	cr_assert(!cfg.stack_threshold_set);
	load((const char *[]){ "OTELPRELOAD_CODE_ATTRIBUTES", "1", "OTELPRELOAD_STACK_ON_ERROR", "yes",
			       NULL });
	cr_assert(!cfg.code_attributes, "OTel booleans: only \"true\"");
	cr_assert(!cfg.stack_on_error);
}
