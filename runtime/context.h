/*
 * context.h - the thread's current context: a small stack of span contexts
 * (a server span pushes itself while it is being served, outgoing calls
 * read the top), falling back to the process context.
 *
 * The process context makes a process that serves no requests one trace:
 * its trace id comes from TRACEPARENT in the environment (then its spans
 * are children of that parent) or is minted once on first use (then its
 * spans are roots of one shared trace).
 *
 * THREADS: the stack is per thread (behind an initial-exec TLS pointer);
 * the process context is written once (or in a fork child) and read by all.
 */
#ifndef RT_CONTEXT_H
#define RT_CONTEXT_H

#include "ctx.h"

#define RT_CTX_DEPTH 8

/* Push a context as the thread's current one. Returns false (and pushes
 * nothing) when the stack is full or the thread state can't be mapped. */
bool rt_ctx_push(const struct rt_ctx *ctx);

/* Pop the top context if it is the span with span_id (never pops another
 * span's context). Returns whether it popped. */
bool rt_ctx_pop(const uint8_t span_id[8]);

/*
 * The thread's "serving" slot: the request this thread is serving (a
 * server span), valid while *alive == alive_val. The owner of *alive (the
 * connection) changes it when the request is done, from whatever thread,
 * which invalidates the slot without touching this thread's state; *alive
 * must stay mapped for the life of the process (it lives in a pool that is
 * never unmapped). A new request read on the thread replaces the slot: on
 * an event loop the request read most recently is the current one.
 */
void rt_ctx_set_serving(const struct rt_ctx *ctx, const uint32_t *alive, uint32_t alive_val);

/*
 * The parent for a new span on this thread: the top of the stack, else the
 * serving slot when still valid, else the process context. out->valid is true when there is a parent span;
 * when it is false, out->trace_id still holds the process trace id (all
 * zero only before the process trace exists) and out->flags its flags.
 */
void rt_ctx_current(struct rt_ctx *out);

/* Like rt_ctx_current, but only a span of this thread (the stack top or a
 * still valid serving slot), and without writing anything: safe in a vfork
 * child, which shares the parent's memory. False when there is none. */
bool rt_ctx_current_span(struct rt_ctx *out);

/* The process context (for exec: what to pass on). */
void rt_ctx_process(struct rt_ctx *out);

/* Set the process context from an environment-carried traceparent. */
void rt_ctx_set_process(const struct rt_ctx *ctx);

/* Forget the thread stack of the calling thread and the process trace
 * (fork child; the child then mints or keeps per its own rules). */
void rt_ctx_fork_child(void);

#endif
