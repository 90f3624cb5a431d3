/*
 * runtime.c - process-wide runtime: init, fork, clock, id generator,
 * sampler, counters.
 *
 * DESIGN: ids come from a per-thread xoshiro256** generator seeded from
 * getrandom(2). A fork bumps a generation counter; a thread whose seed is
 * from an older generation reseeds before its next id, so a parent and its
 * child never mint the same ids.
 *
 * THREADS: per-thread state lives behind an initial-exec TLS pointer
 * (context.c owns the allocation); everything global is written at init or
 * in the fork child (single-threaded then).
 */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "context.h"
#include "propagation.h"
#include "queue.h"
#include "stack.h"
#include "thread.h"

struct rt_stats rt_stats;
bool rt_enabled;

static uint32_t fork_gen = 1;
static char proc_baggage[RT_BAGGAGE_MAX + 1];

uint64_t rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman & Vigna), public-domain algorithm. */
static uint64_t next64(uint64_t s[4])
{
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* splitmix64, to spread a weak fallback seed over the state. */
static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void seed(struct rt_thread *t)
{
	int saved = errno;
	ssize_t n = syscall(SYS_getrandom, t->rng, sizeof(t->rng), GRND_NONBLOCK);

	if (n != (ssize_t)sizeof(t->rng)) {
		/* No entropy yet (early boot) or no getrandom: mix what
		 * differs between threads and processes. Ids stay unique in
		 * practice; they are not secrets. */
		uint64_t x = rt_now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32) ^
			     (uint64_t)(uintptr_t)t ^ (uint64_t)getpid();

		for (int i = 0; i < 4; i++)
			t->rng[i] = splitmix(&x);
	}
	if (!(t->rng[0] | t->rng[1] | t->rng[2] | t->rng[3]))
		t->rng[0] = 1;
	t->rng_gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
	errno = saved;
}

/* The calling thread's generator, reseeded after a fork; NULL when no
 * per-thread state could be mapped. */
static uint64_t *thread_rng(void)
{
	struct rt_thread *t = rt_thread_self();

	if (!t)
		return NULL;
	if (t->rng_gen != __atomic_load_n(&fork_gen, __ATOMIC_RELAXED))
		seed(t);
	return t->rng;
}

static uint64_t rand64(uint64_t *rng)
{
	static uint64_t fallback[4] = { 1, 2, 3, 4 };

	if (__builtin_expect(rng != NULL, 1))
		return next64(rng);
	/* No per-thread state could be mapped: a shared generator, racy but
	 * never crashing. */
	return next64(fallback) ^ rt_now_ns();
}

static void trace_id_from(uint64_t *rng, uint8_t id[16])
{
	uint64_t a, b;

	do {
		a = rand64(rng);
		b = rand64(rng);
	} while (!(a | b));
	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

static void span_id_from(uint64_t *rng, uint8_t id[8])
{
	uint64_t a;

	do {
		a = rand64(rng);
	} while (!a);
	memcpy(id, &a, 8);
}

void rt_new_trace_id(uint8_t id[16])
{
	trace_id_from(thread_rng(), id);
}

void rt_new_span_id(uint8_t id[8])
{
	span_id_from(thread_rng(), id);
}

void rt_new_ids(uint8_t trace_id[16], uint8_t span_id[8])
{
	uint64_t *rng = thread_rng();

	trace_id_from(rng, trace_id);
	span_id_from(rng, span_id);
}

/*
 * TraceIdRatioBased, as the OTel specification's consistent probability
 * sampling defines it: the rightmost 56 bits of the trace id are the
 * randomness R (random per W3C Level 2); sample when R >= T, where the
 * rejection threshold T = (1 - p) * 2^56.
 */
static bool ratio_sample(const uint8_t id[16], double p)
{
	uint64_t r = 0, t;

	if (p >= 1.0)
		return true;
	if (p <= 0.0)
		return false;
	for (int i = 9; i < 16; i++)
		r = r << 8 | id[i];
	t = (uint64_t)((1.0 - p) * 72057594037927936.0);	/* 2^56 */
	return r >= t;
}

bool rt_should_sample(const struct rt_ctx *parent, const uint8_t trace_id[16])
{
	bool has_parent = parent && parent->valid;

	switch (rt_cfg.sampler) {
	case RT_SAMPLER_ALWAYS_ON:
		return true;
	case RT_SAMPLER_ALWAYS_OFF:
		return false;
	case RT_SAMPLER_TRACEIDRATIO:
		return ratio_sample(trace_id, rt_cfg.sampler_ratio);
	case RT_SAMPLER_PB_ALWAYS_ON:
		return has_parent ? (parent->flags & RT_FLAG_SAMPLED) : true;
	case RT_SAMPLER_PB_ALWAYS_OFF:
		return has_parent ? (parent->flags & RT_FLAG_SAMPLED) : false;
	case RT_SAMPLER_PB_TRACEIDRATIO:
		return has_parent ? (parent->flags & RT_FLAG_SAMPLED)
				  : ratio_sample(trace_id, rt_cfg.sampler_ratio);
	}
	return true;
}

const char *rt_process_baggage(void)
{
	return proc_baggage;
}

/* The OTel environment carrier: header names map to upper-case variables. */
static const char *(*carrier_getenv)(const char *);

static int env_get(void *carrier, const char *key, const char **val, size_t *len)
{
	char name[32];
	const char *v;

	(void)carrier;
	rt_env_carrier_name(key, name, sizeof(name));
	v = carrier_getenv(name);
	if (!v || !*v)
		return 0;
	*val = v;
	*len = strlen(v);
	return 1;
}

void rt_init(const char *(*getenv_fn)(const char *))
{
	struct rt_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	carrier_getenv = getenv_fn;
	rt_prop_extract(&rt_cfg.props, NULL, env_get, &ctx, proc_baggage, sizeof(proc_baggage));
	if (ctx.valid)
		rt_ctx_set_process(&ctx);
	/* Map the pool and queue now (address space only: pages become
	 * resident as spans use them), so threads racing to make the first
	 * spans never find the mapping in progress. */
	rt_queue_init();
	rt_enabled = !rt_cfg.disabled;
}

void rt_fork_child(void)
{
	__atomic_fetch_add(&fork_gen, 1, __ATOMIC_RELAXED);
	memset(&rt_stats, 0, sizeof(rt_stats));		/* the child's own counts */
	rt_queue_fork_child();
	rt_ctx_fork_child();
	rt_stack_fork_child();
}
