/*
 * queue_stress.c - the span pool and queue under ThreadSanitizer (Criterion
 * cannot run under TSan: its arena conflicts with TSan's memory layout).
 *
 * Producers start and end spans on several threads while one consumer
 * drains, as the exporter does; every span must come out exactly once,
 * the queue must never hold more than its size, and TSan must see no race.
 * Prints "N passed, N failed".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/config.h"
#include "../../runtime/context.h"
#include "../../runtime/queue.h"
#include "../../runtime/runtime.h"
#include "../../runtime/span.h"

#define PRODUCERS 4
#define PER_PRODUCER 20000

static int done_producers;
static uint64_t consumed, max_seen;

static const char *env(const char *n)
{
	if (strcmp(n, "OTEL_BSP_MAX_QUEUE_SIZE") == 0)
		return "256";
	if (strcmp(n, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE") == 0)
		return "64";
	return NULL;
}

static void *producer(void *arg)
{
	struct rt_ctx c;

	(void)arg;
	for (int i = 0; i < PER_PRODUCER; i++) {
		struct rt_span *sp = rt_span_start("p", RT_KIND_INTERNAL, NULL, 0);

		rt_span_set_int(sp, "i", i);
		rt_span_ctx(sp, &c);
		rt_ctx_push(&c);
		rt_span_end(rt_span_start("child", RT_KIND_CLIENT, NULL, 0), 0);
		rt_ctx_pop(c.span_id);
		rt_span_end(sp, 0);
	}
	__atomic_fetch_add(&done_producers, 1, __ATOMIC_RELEASE);
	rt_queue_kick();
	return NULL;
}

static void *consumer(void *arg)
{
	struct rt_span *out[64];

	(void)arg;
	for (;;) {
		size_t n = rt_queue_pop(out, 64), len = rt_queue_len();

		if (len > max_seen)
			max_seen = len;
		for (size_t i = 0; i < n; i++) {
			if (!out[i]->name || (strcmp(out[i]->name, "p") && strcmp(out[i]->name, "child")))
				abort();
			rt_pool_put(out[i]);
		}
		consumed += n;
		if (!n) {
			if (__atomic_load_n(&done_producers, __ATOMIC_ACQUIRE) == PRODUCERS &&
			    rt_queue_len() == 0)
				return NULL;
			rt_queue_wait(rt_queue_wake_seq(), 1);
		}
	}
}

int main(void)
{
	pthread_t p[PRODUCERS], c;
	uint64_t dropped, pass = 0, fail = 0;

	rt_config_load(&rt_cfg, env);
	rt_init(env);
	pthread_create(&c, NULL, consumer, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	pthread_join(c, NULL);
	dropped = rt_stats.dropped_queue_full + rt_stats.dropped_pool_empty;
	if (consumed + dropped == 2ull * PRODUCERS * PER_PRODUCER)
		pass++;
	else
		fail++, printf("not ok - consumed %llu + dropped %llu != %d\n",
			       (unsigned long long)consumed, (unsigned long long)dropped,
			       2 * PRODUCERS * PER_PRODUCER);
	if (max_seen <= 256)
		pass++;
	else
		fail++, printf("not ok - queue held %llu > 256\n", (unsigned long long)max_seen);
	if (consumed > 0)
		pass++;
	else
		fail++, printf("not ok - nothing consumed\n");
	printf("queue_stress: consumed %llu, dropped %llu\n", (unsigned long long)consumed,
	       (unsigned long long)dropped);
	printf("%llu passed, %llu failed\n", (unsigned long long)pass, (unsigned long long)fail);
	return fail ? 1 : 0;
}
