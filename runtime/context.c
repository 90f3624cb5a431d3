/*
 * context.c - per-thread context stack and the process context.
 *
 * DESIGN: the thread state (id generator, context stack; a few KiB) is
 * mapped with mmap on a thread's first span, reached through one
 * initial-exec TLS pointer (allocation-free, signal-safe), and unmapped by
 * a pthread key destructor when the thread exits.
 *
 * The process context: TRACEPARENT from the environment, or a trace id
 * minted once on first use, so that every span a non-serving process makes
 * lands in one trace.
 */
#include "context.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime.h"
#include "thread.h"

static __thread struct rt_thread *self __attribute__((tls_model("initial-exec")));

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_ok;

/* The process context. proc.valid: a parent span came from the carrier.
 * proc_trace: 0 none yet, 1 being minted, 2 trace id set. */
static struct rt_ctx proc;
static int proc_trace;

static void thread_gone(void *p)
{
	if (p == self)
		self = NULL;
	munmap(p, sizeof(struct rt_thread));
}

static void make_key(void)
{
	key_ok = pthread_key_create(&key, thread_gone) == 0;
}

struct rt_thread *rt_thread_self(void)
{
	struct rt_thread *t = self;
	int saved;

	if (t)
		return t;
	saved = errno;
	pthread_once(&key_once, make_key);
	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED) {
		errno = saved;
		return NULL;
	}
	if (key_ok)
		pthread_setspecific(key, t);
	self = t;
	/* rng_gen 0 never matches the fork generation: seeded on first use. */
	errno = saved;
	return t;
}

bool rt_ctx_push(const struct rt_ctx *ctx)
{
	struct rt_thread *t = rt_thread_self();

	if (!t || t->depth >= RT_CTX_DEPTH)
		return false;
	rt_ctx_copy(&t->stack[t->depth++], ctx);
	return true;
}

bool rt_ctx_pop(const uint8_t span_id[8])
{
	struct rt_thread *t = self;

	if (!t || !t->depth || memcmp(t->stack[t->depth - 1].span_id, span_id, 8) != 0)
		return false;
	t->depth--;
	return true;
}

static void ensure_process_trace(void)
{
	int s = __atomic_load_n(&proc_trace, __ATOMIC_ACQUIRE);

	if (s == 2)
		return;
	s = 0;
	if (__atomic_compare_exchange_n(&proc_trace, &s, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		rt_new_trace_id(proc.trace_id);
		proc.flags = RT_FLAG_RANDOM;
		/* Release: the trace id before anyone reads state 2. */
		__atomic_store_n(&proc_trace, 2, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&proc_trace, __ATOMIC_ACQUIRE) != 2)
		;
}

void rt_ctx_process(struct rt_ctx *out)
{
	ensure_process_trace();
	rt_ctx_copy(out, &proc);
}

bool rt_ctx_current_span(struct rt_ctx *out)
{
	struct rt_thread *t = self;

	if (!t)
		return false;
	if (t->depth) {
		rt_ctx_copy(out, &t->stack[t->depth - 1]);
		return true;
	}
	if (t->serving_alive &&
	    __atomic_load_n(t->serving_alive, __ATOMIC_ACQUIRE) == t->serving_val) {
		rt_ctx_copy(out, &t->serving);
		return true;
	}
	return false;
}

void rt_ctx_set_serving(const struct rt_ctx *ctx, const uint32_t *alive, uint32_t alive_val)
{
	struct rt_thread *t = rt_thread_self();

	if (!t)
		return;
	rt_ctx_copy(&t->serving, ctx);
	t->serving_val = alive_val;
	t->serving_alive = alive;
}

void rt_ctx_current(struct rt_ctx *out)
{
	struct rt_thread *t = self;

	if (t && t->depth) {
		rt_ctx_copy(out, &t->stack[t->depth - 1]);
		return;
	}
	/* Acquire: pairs with the owner's release when the request ends. */
	if (t && t->serving_alive &&
	    __atomic_load_n(t->serving_alive, __ATOMIC_ACQUIRE) == t->serving_val) {
		rt_ctx_copy(out, &t->serving);
		return;
	}
	if (t)
		t->serving_alive = NULL;
	rt_ctx_process(out);
}

void rt_ctx_set_process(const struct rt_ctx *ctx)
{
	rt_ctx_copy(&proc, ctx);
	__atomic_store_n(&proc_trace, 2, __ATOMIC_RELEASE);
}

void rt_ctx_fork_child(void)
{
	/* The surviving thread keeps its stack: a pre-forking server's child
	 * goes on serving the request it was forked for. The process trace is
	 * kept too: parent and child are one job; ids differ through the fork
	 * generation (runtime.c). A trace id another thread was minting when
	 * fork struck is minted again. */
	if (__atomic_load_n(&proc_trace, __ATOMIC_RELAXED) == 1)
		__atomic_store_n(&proc_trace, 0, __ATOMIC_RELAXED);
}
