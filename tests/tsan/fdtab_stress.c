/*
 * fdtab_stress.c - the per-fd table and connection records (hooks/conn.c)
 * under ThreadSanitizer, with the HTTP layer (hooks/http.c) on top, as the
 * socket hooks drive them.
 *
 * Built with hooks/conn.c, http.c, http_parse.c, http_attrs.c and errname.c
 * compiled in, and the TSan build of the runtime; the socket hooks
 * themselves (net.c, socket.c, connect.c) are not: the library cannot be
 * preloaded under TSan, so this program plays their part. It calls what
 * they call, in their order: hk_conn_of, the record's generation, then
 * hk_http_write / hk_http_read, hk_conn_retire when the record is ignored;
 * hk_conn_attach on accept/connect, hk_conn_detach on close,
 * hk_conn_detach_range on close_range.
 *
 * Several threads do that at random on a few shared fds (opened on
 * /dev/null, so writes really happen and always complete), so records are
 * attached over live ones, detached while other threads use them, and
 * recycled while stale pointers to them are still about: the races the
 * table's design (conn.h) says it survives. A consumer thread drains the
 * span queue as the exporter would.
 *
 * Checks: every write returns exactly the program's byte count (never one
 * that includes inserted header lines); every span that comes out is an
 * HTTP SERVER or CLIENT span; after the last close no fd is watched and no
 * span is left queued; some spans came out. TSan must see no race.
 * Prints "not ok - ..." for each failed check, then "N passed, N failed".
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../../hooks/conn.h"
#include "../../hooks/http.h"
#include "../../preload/real.h"
#include "../../runtime/config.h"
#include "../../runtime/queue.h"
#include "../../runtime/runtime.h"
#include "../../runtime/span.h"

#define THREADS 4
#define OPS 20000
#define NFD 12

/* ---- what the rest of the library provides to hooks/http.c ---- */

struct pl_real pl_real;

void *pl_real_resolve(const char *name, void *self, void **slot)
{
	/* pl_real is filled in main(), before any thread starts. */
	(void)self;
	(void)slot;
	fprintf(stderr, "fdtab_stress: unexpected lookup of %s\n", name);
	abort();
}

/* net.c's: the program's own call, unchanged. */
ssize_t hk_out_orig(const struct hk_out_call *k)
{
	return writev(k->fd, k->iov, k->iovcnt);
}

/* connect.c's: this program makes no non-blocking connect, so no record
 * ever has a connect span pending. */
void hk_connect_settle(struct hk_conn *c, int err)
{
	(void)c;
	(void)err;
}

/* ---- the stress ---- */

static int fds[NFD];
static int roles[NFD];			/* what the last attach on fds[i] said */
static int workers_done;
static unsigned long long bad_counts, bad_spans, consumed, writes, reads;
static unsigned pass, fail;

static const char REQ[] = "GET /stress HTTP/1.1\r\nHost: stress\r\nUser-Agent: t\r\n\r\n";
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static const char *env(const char *n)
{
	if (strcmp(n, "OTEL_BSP_MAX_QUEUE_SIZE") == 0)
		return "1024";
	return NULL;
}

static void check(int ok, const char *what, unsigned long long a)
{
	if (ok) {
		pass++;
		return;
	}
	fail++;
	printf("not ok - %s (%llu)\n", what, a);
}

static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * net.c also reads a record's fields without its lock, to skip work: the
 * ignored flag (atomic) before hk_conn_retire, and ignored, owed_len and
 * ninject (plain) before hk_http_write. http.c writes them under the lock
 * with plain stores, so TSan reports those pairs: built with
 * -DNET_PRECHECKS this program makes the same reads (the reproduction).
 * Without, hk_conn_retire is called every time and decides under the lock.
 */
#ifdef NET_PRECHECKS
#define IGNORED(c) __atomic_load_n(&(c)->ignored, __ATOMIC_RELAXED)
#else
#define IGNORED(c) true
#endif

/* A write hook's slow path (net.c's out()). */
static void hook_write(int fd, const char *text)
{
	struct hk_conn *c = hk_conn_of(fd);
	struct iovec v = { (void *)text, strlen(text) };
	struct hk_out_call k = { .how = HK_WRITEV, .fd = fd, .iov = &v, .iovcnt = 1 };
	uint32_t gen;
	ssize_t r;

	if (!c) {
		r = hk_out_orig(&k);
	} else {
		gen = __atomic_load_n(&c->gen, __ATOMIC_RELAXED);
#ifdef NET_PRECHECKS
		if (IGNORED(c) && !c->owed_len && !c->ninject)
			r = hk_out_orig(&k);
		else
#endif
			r = hk_http_write(c, gen, &k);
		if (IGNORED(c))
			hk_conn_retire(fd, c);
	}
	if (r != (ssize_t)v.iov_len)
		__atomic_fetch_add(&bad_counts, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&writes, 1, __ATOMIC_RELAXED);
}

/* A read hook's slow path (net.c's in()): the bytes "read" are text. */
static void hook_read(int fd, const char *text)
{
	struct hk_conn *c = hk_conn_of(fd);
	struct iovec v = { (void *)text, strlen(text) };
	uint32_t gen;

	if (!c)
		return;
	gen = __atomic_load_n(&c->gen, __ATOMIC_RELAXED);
	hk_http_read(c, gen, &v, 1, (ssize_t)v.iov_len, 0);
	if (IGNORED(c))
		hk_conn_retire(fd, c);
	__atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	uint32_t seed = 2463534242u + 7919u * (uint32_t)(long)arg;

	for (int i = 0; i < OPS; i++) {
		uint32_t r = next(&seed), op = r % 100;
		int k = (int)((r >> 8) % NFD), fd = fds[k];

		if (op < 8) {		/* accept or connect returned fd */
			int role = (r >> 16) & 1 ? HK_ROLE_SERVER : HK_ROLE_CLIENT;

			__atomic_store_n(&roles[k], role, __ATOMIC_RELAXED);
			hk_conn_attach(fd, role);
		} else if (op < 16) {	/* close(fd) */
			hk_conn_detach(fd, (r >> 16) & 1 ? "connection_lost" : NULL);
		} else if (op < 17) {	/* close_range over a few of them */
			int lo = fds[0] < fd ? fds[0] : fd;

			hk_conn_detach_range((unsigned)lo, (unsigned)fd);
		} else if (__atomic_load_n(&roles[k], __ATOMIC_RELAXED) == HK_ROLE_CLIENT) {
			hook_write(fd, REQ);
			hook_read(fd, RESP);
		} else {
			hook_read(fd, REQ);
			hook_write(fd, RESP);
		}
	}
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	rt_queue_kick();
	return NULL;
}

/* The exporter's part: drain, look at each span, give it back. */
static void *consumer(void *arg)
{
	struct rt_span *out[64];

	(void)arg;
	for (;;) {
		size_t n = rt_queue_pop(out, 64);

		for (size_t i = 0; i < n; i++) {
			if (!out[i]->name || !out[i]->name[0] ||
			    (out[i]->kind != RT_KIND_SERVER && out[i]->kind != RT_KIND_CLIENT))
				bad_spans++;
			rt_pool_put(out[i]);
		}
		consumed += n;
		if (!n) {
			if (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) == THREADS + 1 &&
			    rt_queue_len() == 0)
				return NULL;
			rt_queue_wait(rt_queue_wake_seq(), 5);
		}
	}
}

int main(void)
{
	pthread_t w[THREADS], c;
	unsigned long long watched = 0;

	for (int i = 0; i < NFD; i++) {
		fds[i] = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			perror("/dev/null");
			return 2;
		}
	}
	pl_real.writev = writev;
	pl_real.sendmsg = sendmsg;
	rt_config_load(&rt_cfg, env);
	rt_init(env);
	pthread_create(&c, NULL, consumer, NULL);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&w[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(w[i], NULL);
	/* Every fd closed: open spans end, records go back. */
	for (int i = 0; i < NFD; i++) {
		hk_conn_detach(fds[i], NULL);
		if (hk_conn_of(fds[i]))
			watched++;
	}
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	rt_queue_kick();
	pthread_join(c, NULL);

	check(bad_counts == 0, "every write returned the program's own byte count", bad_counts);
	check(bad_spans == 0, "every span is an HTTP SERVER or CLIENT span", bad_spans);
	check(watched == 0, "no fd watched after the last close", watched);
	check(rt_queue_len() == 0, "nothing left queued", rt_queue_len());
	check(consumed > 0, "spans came out", consumed);
	printf("fdtab_stress: %llu writes, %llu reads, %llu spans out, %llu dropped\n", writes,
	       reads, consumed,
	       (unsigned long long)(rt_stats.dropped_queue_full + rt_stats.dropped_pool_empty));
	printf("%u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}
