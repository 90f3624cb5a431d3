/*
 * runtime.h - process-wide runtime state: initialisation, fork handling,
 * the clock, random ids, the sampler, counters.
 *
 * The runtime knows nothing about sockets, HTTP or OTLP (DESIGN.md).
 */
#ifndef RT_RUNTIME_H
#define RT_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"

/* Counters, updated with relaxed atomics (they are statistics only). Only
 * events that are rare on a healthy program are counted: a counter bumped
 * for every span is a locked instruction on a cache line that threads
 * share. */
struct rt_stats {
	uint64_t dropped_queue_full;	/* queue at OTEL_BSP_MAX_QUEUE_SIZE */
	uint64_t dropped_pool_empty;	/* no span record free */
	uint64_t dropped_export;	/* exporter gave up on a batch */
	uint64_t exported;		/* spans accepted by every exporter */
};
extern struct rt_stats rt_stats;

#define RT_STAT_ADD(field, n) __atomic_fetch_add(&rt_stats.field, (n), __ATOMIC_RELAXED)

/* True once rt_init() ran and the SDK is enabled. Read on every hook. */
extern bool rt_enabled;

/*
 * Initialise from rt_cfg (already loaded): the process context from the
 * environment carrier (TRACEPARENT, TRACESTATE, BAGGAGE), and map the span
 * pool and the queue (address space only; no malloc).
 */
void rt_init(const char *(*getenv_fn)(const char *));

/* In a fork child: forget queued spans and open-span bookkeeping, new id
 * stream, a fresh process context. Called from the atfork child handler. */
void rt_fork_child(void);

/* Wall-clock now, nanoseconds since the Unix epoch (vDSO, no syscall). */
uint64_t rt_now_ns(void);

/* Fill a fresh non-zero random trace id / span id from the calling
 * thread's generator (xoshiro256**, seeded from getrandom). */
void rt_new_trace_id(uint8_t id[16]);
void rt_new_span_id(uint8_t id[8]);

/* Both for a new root span: the same as rt_new_trace_id then
 * rt_new_span_id, with one look-up of the thread's generator. */
void rt_new_ids(uint8_t trace_id[16], uint8_t span_id[8]);

/*
 * The sampling decision for a new span whose parent is parent (NULL or
 * !valid for a root) in trace trace_id, per OTEL_TRACES_SAMPLER.
 */
bool rt_should_sample(const struct rt_ctx *parent, const uint8_t trace_id[16]);

/* Process baggage (from the BAGGAGE environment variable), "" when none. */
const char *rt_process_baggage(void);

#endif
