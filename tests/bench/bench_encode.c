/*
 * bench_encode.c - encoder throughput: builds 512 typical spans (an HTTP
 * client call: 10 attributes, strings and integers), encodes the batch over
 * and over for about two seconds per encoder on one core, and prints one
 * line per encoder:
 *
 *   encode_otlp_proto_spans_per_sec <number>
 *   encode_otlp_json_spans_per_sec <number>
 *   encode_zipkin_spans_per_sec <number>
 *   encode_console_spans_per_sec <number>
 *
 * The JSON encoders need libcjson.so.1; without it their lines say 0.
 * Target (project brief): >= 500000 for OTLP protobuf.
 *
 * Build: gcc -std=gnu11 -D_GNU_SOURCE -O2 tests/bench/bench_encode.c \
 *   export/{buf,cjson_dl,otlp_proto,otlp_json,zipkin,console}.c -ldl -lpthread
 * Usage: bench_encode [seconds per encoder, default 2]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../export/cjson_dl.h"
#include "../../export/encode.h"

#define BATCH 512

typedef int (*encoder)(struct ex_buf *, const struct rt_resource *, struct rt_span *const *, size_t);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_str(struct rt_attr *a, const char *key, const char *v)
{
	a->key = key;
	a->s = v;
	a->len = (uint16_t)strlen(v);
	a->type = RT_V_STR;
	a->owner = RT_OWNER_SPAN;
}

static void set_int(struct rt_attr *a, const char *key, int64_t v)
{
	a->key = key;
	a->v.i = v;
	a->type = RT_V_INT;
	a->owner = RT_OWNER_SPAN;
}

/* A typical HTTP client span, with ids and times varying by i. */
static void fill_span(struct rt_span *sp, unsigned i)
{
	struct rt_attr *a = sp->attrs;

	memset(sp, 0, sizeof(*sp));
	for (int k = 0; k < 16; k++)
		sp->trace_id[k] = (uint8_t)(i * 31 + (unsigned)k * 7 + 1);
	for (int k = 0; k < 8; k++) {
		sp->span_id[k] = (uint8_t)(i * 17 + (unsigned)k + 3);
		sp->parent_id[k] = (uint8_t)(i * 13 + (unsigned)k + 5);
	}
	sp->has_parent = true;
	sp->recording = true;
	sp->flags = 0x01;
	sp->kind = RT_KIND_CLIENT;
	sp->name = "GET";
	sp->start_ns = 1700000000000000000ull + (uint64_t)i * 1000000;
	sp->end_ns = sp->start_ns + 1234567;
	set_str(a++, "http.request.method", "GET");
	set_str(a++, "url.full", "http://localhost:8080/api/v1/items?id=12345");
	set_str(a++, "url.scheme", "http");
	set_str(a++, "server.address", "localhost");
	set_int(a++, "server.port", 8080);
	set_str(a++, "network.peer.address", "127.0.0.1");
	set_int(a++, "network.peer.port", 8080);
	set_str(a++, "network.protocol.version", "1.1");
	set_int(a++, "http.response.status_code", 200 + (int64_t)(i % 3));
	set_str(a++, "user_agent.original", "curl/7.88.1");
	sp->nattrs = sp->nspan_attrs = (uint16_t)(a - sp->attrs);
}

static void fill_resource(struct rt_resource *res)
{
	struct rt_attr *a = res->attrs;

	memset(res, 0, sizeof(*res));
	set_str(a++, "service.name", "bench");
	set_str(a++, "telemetry.sdk.name", RT_SDK_NAME);
	set_str(a++, "telemetry.sdk.language", RT_SDK_LANGUAGE);
	set_str(a++, "telemetry.sdk.version", RT_SDK_VERSION);
	set_str(a++, "host.name", "bench-host");
	set_int(a++, "process.pid", 4242);
	set_str(a++, "process.executable.name", "curl");
	res->nattrs = (uint16_t)(a - res->attrs);
}

/* Encode the batch repeatedly for `secs`; returns spans per second, 0 when
 * the encoder fails. *bytes gets one batch's size. */
static double run(encoder enc, struct rt_span *const *spans, const struct rt_resource *res,
		  double secs, size_t *bytes)
{
	struct ex_buf b;
	unsigned long iters = 0;
	double t0, t;
	int rc;

	ex_buf_init(&b, 64u << 20);
	rc = enc(&b, res, spans, BATCH);	/* warm up: buffer grown, cJSON loaded */
	*bytes = b.len;
	if (rc != 0) {
		ex_buf_free(&b);
		return 0;
	}
	t0 = now();
	do {
		for (int k = 0; k < 10; k++) {
			ex_buf_reset(&b);
			if (enc(&b, res, spans, BATCH) != 0) {
				ex_buf_free(&b);
				return 0;
			}
		}
		iters += 10;
		t = now();
	} while (t - t0 < secs);
	ex_buf_free(&b);
	return (double)iters * BATCH / (t - t0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		encoder enc;
	} encs[] = {
		{ "encode_otlp_proto_spans_per_sec", ex_otlp_proto_encode },
		{ "encode_otlp_json_spans_per_sec", ex_otlp_json_encode },
		{ "encode_zipkin_spans_per_sec", ex_zipkin_encode },
		{ "encode_console_spans_per_sec", ex_console_encode },
	};
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	struct rt_span *spans[BATCH];
	static struct rt_resource res;

	if (secs <= 0)
		secs = 2.0;
	for (unsigned i = 0; i < BATCH; i++) {
		spans[i] = malloc(sizeof(*spans[i]));
		if (!spans[i])
			return 1;
		fill_span(spans[i], i);
	}
	fill_resource(&res);
	for (size_t e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
		size_t bytes = 0;
		double rate = run(encs[e].enc, spans, &res, secs, &bytes);

		printf("%s %.0f\n", encs[e].name, rate);
		fprintf(stderr, "  (%zu bytes per batch of %d)\n", bytes, BATCH);
		fflush(stdout);
	}
	for (unsigned i = 0; i < BATCH; i++)
		free(spans[i]);
	return 0;
}
