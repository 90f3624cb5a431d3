/*
 * encode.h - encoders from spans to wire formats: OTLP protobuf, OTLP JSON
 * (ExportTraceServiceRequest), Zipkin v2 JSON, and a human-readable console
 * form. All run on the exporter thread.
 *
 * Every encoder appends one complete payload for the batch spans[0..n) to b
 * (which the caller has reset) and returns 0, or -ENOMEM when the buffer
 * cap was hit or an allocation failed (the batch is then dropped).
 */
#ifndef EX_ENCODE_H
#define EX_ENCODE_H

#include "../runtime/resource.h"
#include "../runtime/span.h"
#include "buf.h"

/* OTLP protobuf: opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest
 * with one ResourceSpans and one ScopeSpans (scope RT_SCOPE_NAME/VERSION). */
int ex_otlp_proto_encode(struct ex_buf *b, const struct rt_resource *res,
			 struct rt_span *const *spans, size_t n);

/* OTLP JSON (protobuf JSON mapping as OTLP specifies: lowerCamelCase keys,
 * hex ids, enums as integers, 64-bit integers as strings), on one line with
 * no trailing newline. Needs cJSON (ex_cjson_load()); -ENOSYS without it. */
int ex_otlp_json_encode(struct ex_buf *b, const struct rt_resource *res,
			struct rt_span *const *spans, size_t n);

/* Zipkin v2 JSON array (POST /api/v2/spans). Needs cJSON; -ENOSYS without. */
int ex_zipkin_encode(struct ex_buf *b, const struct rt_resource *res,
		     struct rt_span *const *spans, size_t n);

/* Human-readable lines, one block per span, for stderr. */
int ex_console_encode(struct ex_buf *b, const struct rt_resource *res,
		      struct rt_span *const *spans, size_t n);

#endif
