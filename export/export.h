/*
 * export.h - the exporter: a thread started on the first finished span
 * that batches spans from the queue (OTEL_BSP_*), encodes them and hands
 * them to every configured transport.
 *
 * THREADS: ex_start() and ex_flush() are called from application threads;
 * everything else in export/ runs on the exporter thread.
 */
#ifndef EX_EXPORT_H
#define EX_EXPORT_H

#include <stdint.h>

/* Hooks from the layer above: thread_init runs first on the exporter
 * thread (marks it so hooks pass through); curl_ready runs once, right
 * after libcurl (and so OpenSSL) initialised, so an atexit flush can be
 * registered to run before their cleanup. Either may be NULL. */
void ex_set_hooks(void (*thread_init)(void), void (*curl_ready)(void));

/* Start the exporter thread if it is not running. Never blocks; on
 * failure warns once and spans are dropped (counted). */
void ex_start(void);

/*
 * Export everything queued now and wait until done or deadline_ns (unix
 * epoch ns) passes, whichever is first. In-flight requests are cut off at
 * the deadline. Returns at once when no exporter ever started and nothing
 * is queued. After the deadline the exporter gives up on what is left.
 */
void ex_flush(uint64_t deadline_ns);

/* Fork handlers (pthread_atfork): prepare waits for the exporter's current
 * libcurl step; the child forgets the exporter thread, which did not
 * survive, so the next span starts a new one. */
void ex_fork_prepare(void);
void ex_fork_parent(void);
void ex_fork_child(void);

/* At exit, after the last flush: the exporter never calls libcurl again
 * (OpenSSL's cleanup runs after us). Waits until deadline_ns at most. */
void ex_shutdown(uint64_t deadline_ns);

/* Print one warning if spans were dropped and nothing was said yet. */
void ex_report_drops(void);

#endif
