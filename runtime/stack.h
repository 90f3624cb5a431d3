/*
 * stack.h - where in the application a CLIENT span ended: code.stacktrace
 * for spans that failed or were slow, code.function.name for database and
 * HTTP client spans.
 *
 * DESIGN: off unless configured (OTELPRELOAD_STACK_THRESHOLD_MS,
 * OTELPRELOAD_STACK_ON_ERROR, OTELPRELOAD_CODE_ATTRIBUTES). Off, the cost
 * is one load and one predictable branch in rt_span_end(); nothing is
 * loaded. On, rt_stack_init() dlopens libunwind (RTLD_LOCAL, never a
 * DT_NEEDED: FIELD-NOTES 1) once, at the library's lazy initialisation,
 * and the stack is taken on the application thread inside rt_span_end(),
 * while the application is still inside the call that ended the span
 * (PQexec returning, recv reading the response, curl_easy_perform).
 * Without libunwind, glibc's backtrace() and dladdr() stand in (names of
 * exported symbols only). See stack.c for the frame rules and costs.
 *
 * THREADS: rt_stack_init() runs once, before any hook observes anything
 * (pl_init_slow); everything else is safe from any thread.
 */
#ifndef RT_STACK_H
#define RT_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define RT_STACK_SLOW 0x1		/* OTELPRELOAD_STACK_THRESHOLD_MS is set */
#define RT_STACK_ERROR 0x2		/* stacks for spans that end in error */
#define RT_STACK_FUNC 0x4		/* OTELPRELOAD_CODE_ATTRIBUTES=true */

#define RT_STACK_MAX_FRAMES 32		/* frames kept in code.stacktrace */
#define RT_STACK_MAX_STEPS 64		/* frames walked, skipped ones included */
#define RT_STACK_TEXT_MAX 2048		/* bytes of code.stacktrace, at most */
#define RT_STACK_NAME_MAX 256		/* bytes of one function name, NUL included */

/* RT_STACK_* bits; 0 (the default) = off. Written once by rt_stack_init()
 * before the library is ready, read-only afterwards. */
extern uint8_t rt_stack_mode;

/*
 * From rt_cfg: set rt_stack_mode, and when it is not 0 load the unwinder
 * (OTELPRELOAD_LIBUNWIND, default libunwind.so.8; "none", or a library
 * that cannot be loaded, selects backtrace(): one warning) and warm it up.
 * Call on an application thread, outside any lock; the loading is done
 * once per process. Can't fail.
 */
void rt_stack_init(void);

/* In a fork child (atfork handler): stop using libunwind when another
 * thread was inside it at the fork. */
void rt_stack_fork_child(void);

/*
 * The end of a recording span sp (end_ns set, not yet queued): add
 * code.function.name and/or code.stacktrace as rt_stack_mode and the span
 * ask. Only CLIENT spans. Keeps errno. Never re-entered on a thread (a
 * hook that runs inside the unwinder ends its spans without a stack).
 */
void rt_stack_span_end(struct rt_span *sp);

/* ---- the parts below are separable, for tests --------------------------- */

/* What the object a frame lies in is to the application. */
enum rt_frame_kind {
	RT_FRAME_SELF,			/* this library: never shown */
	RT_FRAME_LIB,			/* the library that implements the intercepted
					 * call (libc, libpq, libcurl, ...): dropped
					 * while no application frame was seen */
	RT_FRAME_APP,			/* anything else */
};

/* The kind of an object from its path ("" or NULL: the main program):
 * RT_FRAME_LIB for the libraries whose functions the hooks intercept and
 * what they call into, RT_FRAME_APP otherwise. */
enum rt_frame_kind rt_stack_obj_kind(const char *path);

/* Which frames of a walk, offered innermost first, are kept. */
struct rt_stack_filter {
	unsigned kept;			/* frames kept so far */
	unsigned max;			/* at most this many */
	bool seen_app;			/* an application frame was kept */
	bool more;			/* a frame was left out for the cap */
};

/* Keep a frame of this kind? No for SELF frames and for LIB frames before
 * the first APP frame; no (and more set) past max frames. */
bool rt_stack_keep(struct rt_stack_filter *f, enum rt_frame_kind kind);

/*
 * The text of one stack, a line per frame, innermost first:
 *
 *     at NAME+0xOFF (OBJECT+0xADDR)
 *
 * NAME is the function symbol ("??" when unknown, then without +0xOFF;
 * C++ names stay mangled), OFF the return address's offset in it, OBJECT
 * the path of the executable or shared object, ADDR the return address
 * relative to the object's load bias: what `addr2line -f -e OBJECT ADDR`
 * takes, PIE or not. A frame in no object (JIT code) is
 * "at ?? (0xABSOLUTE)". Lines are separated by "\n". A text that stops
 * early (a cap) ends with a line "...". Always NUL-terminated.
 */
struct rt_stack_text {
	char *buf;			/* caller's buffer */
	size_t cap;			/* its size, NUL included */
	size_t len;			/* bytes used, NUL excluded */
	unsigned frames;		/* lines put */
	bool full;			/* stopped early: "..." is due */
};

void rt_stack_text_init(struct rt_stack_text *t, char *buf, size_t cap);

/* Append a frame's line. name NULL: unknown. obj NULL: in no object (addr
 * is then absolute). False when it did not fit: the text then takes no
 * more lines and will end with "...". */
bool rt_stack_put(struct rt_stack_text *t, const char *name, uintptr_t off, const char *obj,
		  uintptr_t addr);

/* Close the text ("..." when lines were left out); returns its length. */
size_t rt_stack_text_end(struct rt_stack_text *t);

/* Cut a closed text of len bytes to at most max bytes, at a line
 * boundary, ending it with "...". Returns the new length, 0 when not even
 * one line fits. */
size_t rt_stack_text_fit(char *buf, size_t len, size_t max);

/*
 * Walk the calling thread's stack now. text: receives the kept frames
 * (RT_STACK_MAX_FRAMES at most). fn: the name of the first kept frame
 * (the first application frame), "" when unknown or none. self: the
 * object whose frames are this library's (a struct link_map *; NULL: the
 * one this code is linked into). Returns the number of frames kept.
 * Bounded: RT_STACK_MAX_STEPS frames.
 */
unsigned rt_stack_walk(struct rt_stack_text *text, char *fn, size_t fncap, const void *self);

#endif
