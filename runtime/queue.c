/*
 * queue.c - span pool and bounded MPSC queue handing finished spans to the
 * exporter.
 *
 * DESIGN: see queue.h. Pool records are addressed by index (1-based, 0 is
 * "none") so the free-list head fits a 64-bit word with a 32-bit ABA tag.
 * The ring holds indices; each cell carries a sequence number telling
 * producers and the consumer whose turn it is.
 *
 * THREADS: memory orders are commented where they matter.
 *
 * MEMORY: a span record belongs to exactly one of: the free list, the thread
 * filling it, the ring, the exporter.
 */
#include "queue.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

struct cell {
	uint64_t seq;
	uint32_t idx;
};

/* Three groups, each on cache lines of its own, so that a write to one
 * does not take the others away from the cores that read them (the
 * application threads push a span per request, the exporter pops them). */
#define LINE __attribute__((aligned(64)))

/* Written at init, read by everyone. */
static struct rt_span *pool LINE;	/* npool records */
static uint32_t npool;
static struct cell *ring;
static uint64_t ring_mask;
static uint64_t max_len;
static int state;			/* 0 none, 1 mapping, 2 ready, 3 failed */
static void (*starter)(void);
static int started;

/* Written by producers (and by the exporter once per batch). */
static uint32_t fresh LINE;		/* records never handed out start here */
static uint64_t free_head;		/* returned records: tag << 32 | index (1-based) */
static uint64_t enq_pos;
static uint64_t admitted;		/* spans in the ring now */
static uint32_t wake_word;		/* futex: bumped to wake the consumer */

/* The consumer's. */
static uint64_t deq_pos LINE;

static uint64_t next_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void reset_pool(void)
{
	/* Fresh records are handed out by a bump index and only returned
	 * ones are linked, so a record's page becomes resident only when a
	 * span first uses it. */
	__atomic_store_n(&fresh, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&free_head, 0, __ATOMIC_RELEASE);
}

static bool do_init(void)
{
	uint64_t qsize = rt_cfg.bsp_queue_size ? rt_cfg.bsp_queue_size : 2048;
	uint64_t cells = next_pow2(qsize);
	int saved = errno;

	/* Records: the queue, one batch being exported, and spans still open
	 * on application threads (servers with many connections). */
	npool = (uint32_t)(qsize + (rt_cfg.bsp_batch_size ? rt_cfg.bsp_batch_size : 512) + 4096);
	pool = map((size_t)npool * sizeof(struct rt_span));
	ring = map(cells * sizeof(struct cell));
	errno = saved;
	if (!pool || !ring)
		return false;
	ring_mask = cells - 1;
	max_len = qsize;
	for (uint64_t i = 0; i < cells; i++)
		ring[i].seq = i;
	reset_pool();
	return true;
}

bool rt_queue_init(void)
{
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (s == 2)
		return true;
	if (s == 3)
		return false;
	s = 0;
	if (__atomic_compare_exchange_n(&state, &s, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* Release: the mapping and the free list are visible to any
		 * thread that sees state 2. */
		__atomic_store_n(&state, do_init() ? 2 : 3, __ATOMIC_RELEASE);
		return __atomic_load_n(&state, __ATOMIC_RELAXED) == 2;
	}
	/* Another thread is mapping right now (or was, in the parent of a
	 * fork child, or in the code a signal handler interrupted): never
	 * wait for it; this span is dropped. */
	return false;
}

struct rt_span *rt_pool_get(void)
{
	uint64_t old, nw;
	uint32_t idx;

	if (!rt_queue_init())
		return NULL;
	/* A returned record first (its pages are resident and likely still in
	 * cache); a never-used one only when none is free. Bumping first would
	 * fault in the whole pool (megabytes of RSS, a page fault every few
	 * spans) in a process that never has more than a few spans alive. */
	old = __atomic_load_n(&free_head, __ATOMIC_ACQUIRE);
	do {
		idx = (uint32_t)old;
		if (!idx) {
			if (__atomic_load_n(&fresh, __ATOMIC_RELAXED) < npool) {
				uint32_t f = __atomic_fetch_add(&fresh, 1, __ATOMIC_RELAXED);

				if (f < npool)
					return &pool[f];
			}
			/* Exhausted, unless one was returned meanwhile. */
			old = __atomic_load_n(&free_head, __ATOMIC_ACQUIRE);
			if (!(idx = (uint32_t)old))
				return NULL;
		}
		/* pool_next may be stale if another thread popped idx
		 * meanwhile; the tag then makes the CAS fail. */
		nw = ((old >> 32) + 1) << 32 |
		     __atomic_load_n(&pool[idx - 1].pool_next, __ATOMIC_RELAXED);
	} while (!__atomic_compare_exchange_n(&free_head, &old, nw, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return &pool[idx - 1];
}

void rt_pool_put(struct rt_span *sp)
{
	uint32_t idx;
	uint64_t old, nw;

	if (!sp)
		return;
	idx = (uint32_t)(sp - pool) + 1;
	old = __atomic_load_n(&free_head, __ATOMIC_RELAXED);
	do {
		__atomic_store_n(&sp->pool_next, (uint32_t)old, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | idx;
		/* Release: the record's contents (and pool_next) are written
		 * before it becomes poppable. */
	} while (!__atomic_compare_exchange_n(&free_head, &old, nw, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

void rt_pool_put_many(struct rt_span *const *sps, size_t n)
{
	uint64_t old, nw;
	uint32_t first;

	if (!n)
		return;
	/* Link them into a chain first, then one CAS: the exporter returns a
	 * whole batch without bouncing the free-list head once per record. */
	for (size_t i = 0; i + 1 < n; i++)
		__atomic_store_n(&sps[i]->pool_next, (uint32_t)(sps[i + 1] - pool) + 1,
				 __ATOMIC_RELAXED);
	first = (uint32_t)(sps[0] - pool) + 1;
	old = __atomic_load_n(&free_head, __ATOMIC_RELAXED);
	do {
		__atomic_store_n(&sps[n - 1]->pool_next, (uint32_t)old, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | first;
	} while (!__atomic_compare_exchange_n(&free_head, &old, nw, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

static void futex_wake(void)
{
	__atomic_fetch_add(&wake_word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void rt_queue_kick(void)
{
	int saved = errno;

	futex_wake();
	errno = saved;
}

bool rt_queue_push(struct rt_span *sp)
{
	uint64_t pos, len;
	struct cell *c;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
		return false;
	/* Admission: never more than OTEL_BSP_MAX_QUEUE_SIZE waiting. */
	len = __atomic_fetch_add(&admitted, 1, __ATOMIC_RELAXED);
	if (len >= max_len) {
		__atomic_fetch_sub(&admitted, 1, __ATOMIC_RELAXED);
		return false;
	}
	pos = __atomic_load_n(&enq_pos, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t seq;

		c = &ring[pos & ring_mask];
		seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		if (seq == pos) {
			if (__atomic_compare_exchange_n(&enq_pos, &pos, pos + 1, true,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
				break;
		} else if (seq < pos) {
			/* The consumer has not freed this cell yet (ring full
			 * in a race with admission): drop rather than wait. */
			__atomic_fetch_sub(&admitted, 1, __ATOMIC_RELAXED);
			return false;
		} else {
			pos = __atomic_load_n(&enq_pos, __ATOMIC_RELAXED);
		}
	}
	c->idx = (uint32_t)(sp - pool) + 1;
	/* Release: the span's contents and idx before the consumer sees it. */
	__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);

	if (!__atomic_load_n(&started, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL) && starter)
		starter();
	/* Wake the exporter once, when a batch fills up; not on every push
	 * after that (a futex wake is a system call on the program's
	 * thread). The exporter drains all full batches when it wakes, and
	 * its timer covers a kick lost in a race. */
	if (len + 1 == rt_cfg.bsp_batch_size)
		rt_queue_kick();
	return true;
}

size_t rt_queue_pop(struct rt_span **out, size_t max)
{
	size_t n = 0;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
		return 0;
	while (n < max) {
		struct cell *c = &ring[deq_pos & ring_mask];
		uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);

		if (seq != deq_pos + 1)
			break;
		out[n++] = &pool[c->idx - 1];
		/* Release: hand the cell back to producers one lap later. */
		__atomic_store_n(&c->seq, deq_pos + ring_mask + 1, __ATOMIC_RELEASE);
		deq_pos++;
	}
	/* Once per call, not per span: the counter's line is the producers'.
	 * Until then the queue looks as full as it was, never fuller. */
	if (n)
		__atomic_fetch_sub(&admitted, n, __ATOMIC_RELAXED);
	return n;
}

size_t rt_queue_len(void)
{
	uint64_t n;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
		return 0;
	n = __atomic_load_n(&admitted, __ATOMIC_RELAXED);
	/* Producers bump the counter before they check it, so it may exceed
	 * the size for an instant; the ring itself never does. */
	return (size_t)(n < max_len ? n : max_len);
}

uint32_t rt_queue_wake_seq(void)
{
	return __atomic_load_n(&wake_word, __ATOMIC_ACQUIRE);
}

void rt_queue_wait(uint32_t seq, uint32_t timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };

	/* Returns at once when a kick came after seq was read. */
	syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
}

void rt_queue_set_starter(void (*fn)(void))
{
	starter = fn;
}

void rt_queue_fork_child(void)
{
	uint64_t cells;

	__atomic_store_n(&started, 0, __ATOMIC_RELAXED);
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 1) {
		/* The thread that was mapping did not survive the fork. */
		__atomic_store_n(&state, 0, __ATOMIC_RELEASE);
		return;
	}
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
		return;
	/* Only the forking thread survives: records that other threads or the
	 * exporter held are unreachable now, and the queued spans are the
	 * parent's to export: return them to the pool. Spans still open on
	 * this thread keep their records. Records held by threads that did not
	 * survive leak (bounded by the pool size). */
	cells = ring_mask + 1;
	{
		struct rt_span *tmp[64];
		size_t n;

		while ((n = rt_queue_pop(tmp, 64)) > 0)
			for (size_t i = 0; i < n; i++)
				rt_pool_put(tmp[i]);
	}
	enq_pos = deq_pos = 0;
	admitted = 0;
	for (uint64_t i = 0; i < cells; i++)
		ring[i].seq = i;
}

void rt_queue_reset_for_tests(void)
{
	struct rt_span *tmp[64];
	size_t n;

	while ((n = rt_queue_pop(tmp, 64)) > 0)
		for (size_t i = 0; i < n; i++)
			rt_pool_put(tmp[i]);
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2)
		reset_pool();
}
