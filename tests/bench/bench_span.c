/*
 * bench_span.c - cost on the application thread of one span, from start to
 * enqueue: rt_span_start, three attributes (the shape of a connect span),
 * rt_span_end. A consumer thread drains the queue meanwhile, as the
 * exporter would. Prints the median and p99 of per-span cost over batches.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/config.h"
#include "../../runtime/queue.h"
#include "../../runtime/runtime.h"
#include "../../runtime/span.h"

#define BATCHES 2000
#define PER_BATCH 100

static volatile int stop;

static const char *no_env(const char *n)
{
	(void)n;
	return NULL;
}

static void *consumer(void *arg)
{
	struct rt_span *out[512];

	(void)arg;
	while (!stop) {
		size_t n = rt_queue_pop(out, 512);

		for (size_t i = 0; i < n; i++)
			rt_pool_put(out[i]);
		if (!n)
			rt_queue_wait(rt_queue_wake_seq(), 1);
	}
	return NULL;
}

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	static double per[BATCHES];
	pthread_t th;

	rt_config_load(&rt_cfg, no_env);
	rt_init(no_env);
	rt_queue_init();
	pthread_create(&th, NULL, consumer, NULL);
	/* Warm-up: the first use of each pool record faults its pages in;
	 * the figure is the steady state. */
	for (int i = 0; i < 20000; i++)
		rt_span_end(rt_span_start("warm", RT_KIND_CLIENT, NULL, 0), 0);
	for (int b = 0; b < BATCHES; b++) {
		uint64_t t0 = now();

		for (int i = 0; i < PER_BATCH; i++) {
			struct rt_span *sp = rt_span_start("connect", RT_KIND_CLIENT, NULL, 0);

			rt_span_set_cstr(sp, "network.peer.address", "127.0.0.1");
			rt_span_set_int(sp, "network.peer.port", 5432);
			rt_span_set_cstr(sp, "network.transport", "tcp");
			rt_span_end(sp, 0);
		}
		per[b] = (double)(now() - t0) / PER_BATCH;
	}
	stop = 1;
	rt_queue_kick();
	pthread_join(th, NULL);
	qsort(per, BATCHES, sizeof(per[0]), cmp);
	printf("span_start_to_enqueue_ns_median %.0f\n", per[BATCHES / 2]);
	printf("span_start_to_enqueue_ns_p99 %.0f\n", per[BATCHES * 99 / 100]);
	printf("spans_dropped %llu\n",
	       (unsigned long long)(rt_stats.dropped_queue_full + rt_stats.dropped_pool_empty));
	return 0;
}
