/*
 * queue.h - the span pool and the bounded queue of finished spans.
 *
 * DESIGN: both are mapped once, on the first span, sized from
 * OTEL_BSP_MAX_QUEUE_SIZE. The pool hands out never-used records by a bump
 * index (so only pages that spans touch become resident) and reuses
 * returned ones from a lock-free free list (Treiber stack with a generation
 * tag against ABA); the queue is a
 * bounded ring of record indices (per-slot sequence numbers, after Vyukov's
 * bounded queue) with an admission counter enforcing the exact configured
 * size. Producers are application threads inside hooks; the single
 * consumer is the exporter thread.
 *
 * THREADS: rt_pool_get/put and rt_queue_push never block, never allocate
 * (after the one-time mapping) and are safe from signal handlers that
 * interrupted a hook. rt_queue_pop and rt_queue_wait belong to the exporter.
 */
#ifndef RT_QUEUE_H
#define RT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

/* Map pool and queue (idempotent; thread-safe). False when mmap failed. */
bool rt_queue_init(void);

/* A zeroed span record, or NULL when none is free (caller counts it). */
struct rt_span *rt_pool_get(void);
/* Return a record to the pool. */
void rt_pool_put(struct rt_span *sp);
/* Return n records (all non-NULL) with one atomic operation. */
void rt_pool_put_many(struct rt_span *const *sps, size_t n);

/* Hand a finished span to the exporter. False when the queue is full (the
 * caller still owns sp). Wakes the consumer when a batch is ready. */
bool rt_queue_push(struct rt_span *sp);

/* Take up to max spans; returns how many. Consumer only. */
size_t rt_queue_pop(struct rt_span **out, size_t max);

/* Spans waiting now. */
size_t rt_queue_len(void);

/*
 * The consumer's sleep, without lost wake-ups: read seq with
 * rt_queue_wake_seq() first, then check every reason to stay awake, then
 * rt_queue_wait(seq, ...) returns at once if a kick (a full batch, a flush
 * request) came after seq was read, else sleeps up to timeout_ms.
 */
uint32_t rt_queue_wake_seq(void);
void rt_queue_wait(uint32_t seq, uint32_t timeout_ms);

/* Wake the consumer now (flush requests). Async-signal-safe. */
void rt_queue_kick(void);

/* Called once, on the first push, from the pushing thread: the hook that
 * starts the exporter thread lazily. */
void rt_queue_set_starter(void (*fn)(void));

/* Fork child: drop everything queued (the parent exports it) and reclaim
 * records held by threads that no longer exist. */
void rt_queue_fork_child(void);

/* Release every record (tests). */
void rt_queue_reset_for_tests(void);

#endif
