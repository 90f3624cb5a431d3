/*
 * conn.c - the fd table and the pool of connection records (see conn.h).
 *
 * DESIGN: records are handed out by a bump index and recycled through a
 * lock-free free list (a Treiber stack tagged against ABA, as the span pool
 * is). They live in chunks of CHUNK records, each chunk mapped on first use
 * and never unmapped, up to MAX_CONNS records in all; past that, new
 * connections are simply not watched.
 *
 * THREADS: attach/detach may race with hooks on other threads reading the
 * same fd: the table entry is swapped atomically, and a reader that still
 * holds the old record finds its generation changed (or it ignored) and
 * gives up. MEMORY: a record belongs to the table entry that points at it.
 */
#include "conn.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "../runtime/config.h"
#include "../runtime/runtime.h"
#include "http.h"

#define CHUNK 256
#define MAX_CHUNKS 256
#define MAX_CONNS (CHUNK * MAX_CHUNKS)
#define FDTAB_MAX (1u << 20)
#define SPIN 2000

struct hk_conn **hk_fdtab;
uint32_t hk_fdtab_size;

static int fdtab_state;			/* 0 none, 1 mapping, 2 ready, 3 failed */
static struct hk_conn *chunks[MAX_CHUNKS];
static uint32_t fresh;			/* next never-used index (0-based) */
static uint64_t free_head;		/* tag << 32 | index (1-based) */

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static bool fdtab_init(void)
{
	int s = __atomic_load_n(&fdtab_state, __ATOMIC_ACQUIRE);
	struct rlimit rl;
	uint32_t n = 65536;
	struct hk_conn **t;

	if (s == 2)
		return true;
	if (s == 0 && __atomic_compare_exchange_n(&fdtab_state, &s, 1, false, __ATOMIC_ACQ_REL,
						  __ATOMIC_ACQUIRE))
		goto map_it;
	if (s == 1) {
		/* Another thread is mapping (a few microseconds): wait, so its
		 * neighbours' first connections are watched too. Bounded: a
		 * signal handler may have interrupted the mapping thread. */
		uint64_t until = rt_now_ns() + 100000000ull;

		while ((s = __atomic_load_n(&fdtab_state, __ATOMIC_ACQUIRE)) == 1 &&
		       rt_now_ns() < until)
			sched_yield();
	}
	return s == 2;
map_it:
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
		n = rl.rlim_max > FDTAB_MAX ? FDTAB_MAX : (uint32_t)rl.rlim_max;
	else
		n = FDTAB_MAX;
	if (n < 1024)
		n = 1024;
	t = map((size_t)n * sizeof(*t));
	if (!t) {
		__atomic_store_n(&fdtab_state, 3, __ATOMIC_RELEASE);
		return false;
	}
	hk_fdtab_size = n;
	/* Release: the size before the table pointer. */
	__atomic_store_n(&hk_fdtab, t, __ATOMIC_RELEASE);
	__atomic_store_n(&fdtab_state, 2, __ATOMIC_RELEASE);
	return true;
}

static struct hk_conn *record(uint32_t idx1)
{
	uint32_t i = idx1 - 1;
	struct hk_conn *ch = __atomic_load_n(&chunks[i / CHUNK], __ATOMIC_ACQUIRE);

	return ch ? &ch[i % CHUNK] : NULL;
}

static uint32_t index_of(const struct hk_conn *c)
{
	for (uint32_t k = 0; k < MAX_CHUNKS; k++) {
		struct hk_conn *ch = __atomic_load_n(&chunks[k], __ATOMIC_ACQUIRE);

		if (ch && c >= ch && c < ch + CHUNK)
			return k * CHUNK + (uint32_t)(c - ch) + 1;
	}
	return 0;
}

static struct hk_conn *conn_alloc(void)
{
	uint64_t old, nw;
	uint32_t idx;
	struct hk_conn *c;

	old = __atomic_load_n(&free_head, __ATOMIC_ACQUIRE);
	while ((idx = (uint32_t)old) != 0) {
		nw = ((old >> 32) + 1) << 32 |
		     __atomic_load_n(&record(idx)->pool_next, __ATOMIC_RELAXED);
		if (__atomic_compare_exchange_n(&free_head, &old, nw, true, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return record(idx);
	}
	idx = __atomic_fetch_add(&fresh, 1, __ATOMIC_RELAXED);
	if (idx >= MAX_CONNS)
		return NULL;
	c = __atomic_load_n(&chunks[idx / CHUNK], __ATOMIC_ACQUIRE);
	if (!c) {
		struct hk_conn *nc = map(CHUNK * sizeof(struct hk_conn)), *expect = NULL;

		if (!nc)
			return NULL;
		if (!__atomic_compare_exchange_n(&chunks[idx / CHUNK], &expect, nc, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			munmap(nc, CHUNK * sizeof(struct hk_conn));
			nc = expect;
		}
		c = nc;
	}
	return &c[idx % CHUNK];
}

static void conn_free(struct hk_conn *c)
{
	uint32_t idx = index_of(c);
	uint64_t old, nw;

	if (!idx)
		return;
	old = __atomic_load_n(&free_head, __ATOMIC_RELAXED);
	do {
		__atomic_store_n(&c->pool_next, (uint32_t)old, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | idx;
	} while (!__atomic_compare_exchange_n(&free_head, &old, nw, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

bool hk_conn_lock_slow(struct hk_conn *c)
{
	for (int i = 0; i < SPIN; i++) {
		if (!__atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE))
			return true;
		if (i > 64)
			sched_yield();
	}
	return false;
}

struct hk_conn *hk_conn_attach(int fd, enum hk_role role)
{
	struct hk_conn *c, *old;

	if (fd < 0 || !fdtab_init() || (unsigned)fd >= hk_fdtab_size)
		return NULL;
	c = conn_alloc();
	if (!c)
		return NULL;
	/* A thread that found this record before it was freed may still be
	 * at it: it takes the lock, sees the generation changed, gives up. So
	 * the reset happens under the lock and never touches the lock word
	 * (zeroing it under a holder would let a second thread in), and what
	 * is read without the lock (conn.h) is stored atomically. A record
	 * whose lock stays held (by a handler that interrupted its holder)
	 * is left alone, leaked: the fd is not watched. */
	if (!hk_conn_lock(c))
		return NULL;
	__atomic_store_n(&c->gen, c->gen + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->ignored, false, __ATOMIC_RELAXED);
	__atomic_store_n(&c->connecting, NULL, __ATOMIC_RELAXED);
	memset(&c->role, 0, offsetof(struct hk_conn, q) - offsetof(struct hk_conn, role));
	for (int i = 0; i < HK_PIPELINE_MAX; i++) {
		/* seq (last) is kept: a thread's serving slot may still
		 * compare against it. */
		memset(&c->q[i], 0, offsetof(struct hk_req, seq));
		__atomic_fetch_add(&c->q[i].seq, 1, __ATOMIC_RELEASE);
	}
	c->fd = fd;
	c->role = (uint8_t)role;
	hk_http_init(&c->out, role == HK_ROLE_CLIENT ? HK_HTTP_REQUEST : HK_HTTP_RESPONSE);
	hk_http_init(&c->in, role == HK_ROLE_CLIENT ? HK_HTTP_RESPONSE : HK_HTTP_REQUEST);
	if (role == HK_ROLE_SERVER) {
		/* The events hooks/http.c acts on for a server: the parser may
		 * pass over the others without returning. */
		c->in.report = 1u << HK_EV_HEAD_START | 1u << HK_EV_HEAD_DONE | 1u << HK_EV_NOT_HTTP;
		c->out.report = 1u << HK_EV_HEAD_START | 1u << HK_EV_MSG_DONE | 1u << HK_EV_NOT_HTTP |
				(rt_cfg.http_traceresponse ? 1u << HK_EV_BLANK_LINE : 0);
	}
	hk_conn_unlock(c);
	old = __atomic_exchange_n(&hk_fdtab[fd], c, __ATOMIC_ACQ_REL);
	if (old) {
		/* The fd was closed behind our back (a raw syscall, or a
		 * close we could not see): forget that connection. */
		if (hk_conn_lock(old)) {
			hk_http_close(old, "connection_lost");
			hk_conn_unlock(old);
		}
		conn_free(old);
	}
	return c;
}

void hk_conn_detach(int fd, const char *error_type)
{
	struct hk_conn *c;

	if ((unsigned)fd >= hk_fdtab_size || !__atomic_load_n(&hk_fdtab, __ATOMIC_ACQUIRE))
		return;
	c = __atomic_exchange_n(&hk_fdtab[fd], NULL, __ATOMIC_ACQ_REL);
	if (!c)
		return;
	if (hk_conn_lock(c)) {
		hk_http_close(c, error_type);
		hk_conn_ignore(c);
		hk_conn_unlock(c);
	} else {
		/* Someone holds it (a signal handler interrupted a hook on
		 * this very record): leak the record rather than free memory
		 * that is in use; its spans are lost. */
		__atomic_store_n(&c->ignored, true, __ATOMIC_RELEASE);
		return;
	}
	conn_free(c);
}

void hk_conn_retire(int fd, struct hk_conn *c)
{
	struct hk_conn *expect = c;
	bool idle;

	if (!hk_conn_lock(c))
		return;
	idle = hk_conn_ignored(c) && !c->owed_len && !c->ninject && !c->qlen && !c->writing &&
	       !__atomic_load_n(&c->connecting, __ATOMIC_RELAXED);
	hk_conn_unlock(c);
	if (!idle || (unsigned)fd >= hk_fdtab_size)
		return;
	if (!__atomic_compare_exchange_n(&hk_fdtab[fd], &expect, NULL, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;			/* already gone (closed by another thread) */
	if (!hk_conn_lock(c))
		return;			/* in use: leak it rather than free it */
	hk_http_close(c, NULL);
	hk_conn_unlock(c);
	conn_free(c);
}

void hk_conn_detach_range(unsigned lo, unsigned hi)
{
	struct hk_conn **t = __atomic_load_n(&hk_fdtab, __ATOMIC_ACQUIRE);

	if (!t)
		return;
	if (hi >= hk_fdtab_size)
		hi = hk_fdtab_size - 1;
	for (unsigned fd = lo; fd <= hi && fd < hk_fdtab_size; fd++)
		if (__atomic_load_n(&t[fd], __ATOMIC_RELAXED))
			hk_conn_detach((int)fd, NULL);
}

void hk_conn_addrs(struct hk_conn *c)
{
	struct sockaddr_storage peer, local;
	socklen_t pl = sizeof(peer), ll = sizeof(local);
	int saved = errno;

	if (c->peer_ok)
		return;
	if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0)
		peer.ss_family = AF_UNSPEC;
	if (getsockname(c->fd, (struct sockaddr *)&local, &ll) != 0)
		local.ss_family = AF_UNSPEC;
	hk_sa_text((struct sockaddr *)&peer, &c->peer);
	hk_sa_text((struct sockaddr *)&local, &c->local);
	c->peer_ok = true;
	errno = saved;
}
