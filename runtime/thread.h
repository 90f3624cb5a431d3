/*
 * thread.h - per-thread runtime state, mapped on a thread's first span.
 */
#ifndef RT_THREAD_H
#define RT_THREAD_H

#include <stdint.h>

#include "context.h"

struct rt_thread {
	uint64_t rng[4];		/* xoshiro256** state */
	uint32_t rng_gen;		/* fork generation the seed belongs to */
	uint32_t depth;			/* used entries of stack[] */
	struct rt_ctx stack[RT_CTX_DEPTH];
	struct rt_ctx serving;		/* see rt_ctx_set_serving() */
	const uint32_t *serving_alive;	/* NULL: no serving slot */
	uint32_t serving_val;
};

/* The calling thread's state, mapped on first use (no malloc). NULL when
 * it cannot be mapped. */
struct rt_thread *rt_thread_self(void);

#endif
