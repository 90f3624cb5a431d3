/*
 * otlp_response.h - reads the body of a successful OTLP/HTTP protobuf answer
 * (ExportTraceServiceResponse) for its partial_success part.
 */
#ifndef EX_OTLP_RESPONSE_H
#define EX_OTLP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#define EX_OTLP_MAX_DEPTH 32	/* nested groups skipped before giving up */

/*
 * Decode p[0..n) as opentelemetry.proto.collector.trace.v1.
 * ExportTraceServiceResponse {
 *   ExportTracePartialSuccess partial_success = 1 {
 *     int64 rejected_spans = 1; string error_message = 2; } }
 *
 * Returns 0 with *rejected and msg set: 0 and "" when the fields are absent
 * (an empty body is a valid, empty message). msg gets error_message as one
 * line of valid UTF-8, safe to log: each control character (C0, DEL, C1)
 * and each byte that starts no valid UTF-8 sequence becomes '?'; cut after
 * the last whole character that fits in msgcap - 1 bytes; NUL-terminated.
 *
 * Returns -1 for a malformed body (truncated varint, tag or length; a length
 * past its enclosing message; field number 0; wire type 6 or 7; unbalanced
 * groups; nesting deeper than EX_OTLP_MAX_DEPTH); *rejected is then 0 and
 * msg "". Fields of any number and wire type other than the two above are
 * skipped, as are known fields sent with an unexpected wire type. A field
 * that repeats is merged like protobuf does: the last value wins.
 *
 * Never reads outside p[0..n) and never writes past msg[msgcap - 1]; p may
 * be NULL when n is 0, msg may be NULL when msgcap is 0. Pure: no
 * allocation, no I/O, errno untouched; safe from any thread. Can't crash.
 */
int ex_otlp_partial_success_proto(const uint8_t *p, size_t n, long long *rejected,
				  char *msg, size_t msgcap);

#endif
