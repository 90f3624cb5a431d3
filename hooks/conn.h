/*
 * conn.h - per-fd state for the sockets the library watches, and the table
 * that finds it in one load.
 *
 * DESIGN: hk_fdtab is an array of pointers indexed by fd, mapped on the
 * first watched socket (address space only; pages become resident as fds
 * are used). An fd the library does not watch costs one load and one
 * branch: the table pointer is NULL, or the entry is NULL. Connection
 * records come from a pool that is mapped once and never unmapped, so a
 * stale pointer (a record freed by close on another thread) still points
 * at mapped memory; each record carries a generation that changes on reuse.
 *
 * THREADS: the table is read without locks (acquire loads; entries are
 * published with release stores). A record's mutable parts are protected by
 * its lock, a try-lock with a bounded spin: a thread that cannot get it
 * (another thread, or a signal handler that interrupted the holder) gives
 * up and marks the connection ignored, so no hook ever blocks on it. The
 * lock is never held across a system call.
 */
#ifndef HK_CONN_H
#define HK_CONN_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../runtime/span.h"
#include "http_attrs.h"
#include "http_parse.h"

#define HK_PIPELINE_MAX 16		/* requests in flight on one connection */
#define HK_INJECT_MAX 8			/* pending header insertions in one direction */
#define HK_INJECT_TEXT_MAX 3072		/* bytes of header lines one insertion adds */

enum hk_role {
	HK_ROLE_CLIENT = 1,		/* we connected: we write requests */
	HK_ROLE_SERVER,			/* we accepted: we read requests */
};

/* A request in flight: its span and what the response parser must know. */
struct hk_req {
	struct rt_span *sp;		/* NULL: not traced (excluded, no span) */
	bool head;			/* method HEAD: bodiless response */
	bool connect;			/* method CONNECT */
	uint64_t start_ns;		/* server: first byte of the request read */
	uint32_t seq;			/* bumped when the request ends; a thread's
					 * serving slot points here. Kept across the
					 * record's reuse (so it stays last). */
};

/* A header insertion due in the outgoing byte stream. */
struct hk_inject {
	uint32_t off;			/* app bytes before it, from the next write's start */
	struct rt_span *sp;		/* whose context it carries */
	bool traceresponse;		/* a traceresponse line (server) */
};

struct hk_conn {
	/* Read without the lock, possibly through a stale pointer (a thread
	 * that looked the fd up before the record was freed and reused):
	 * atomics only. hk_conn_attach keeps gen and lock and stores the
	 * others atomically; it resets the rest under the lock. */
	uint32_t gen;			/* bumped on every reuse of the record */
	uint32_t lock;			/* 0 free, 1 held */
	bool ignored;			/* not HTTP, or given up: pass through */
	struct rt_span *connecting;	/* a non-blocking connect's span, open until
					 * its outcome is seen (hk_connect_settle);
					 * taken with an atomic exchange */
	uint32_t pool_next;		/* free list link (1-based index) */

	/* Under the lock from here on. */
	uint8_t role;			/* enum hk_role */
	int fd;

	struct hk_sa_text peer;		/* as attributes record them: fetched and */
	struct hk_sa_text local;	/* converted once, on the first span (peer_ok) */
	bool peer_ok;
	struct hk_server_cache attrs;	/* server: attributes its requests share */

	/* Outgoing direction: requests (client) or responses (server). */
	struct hk_http out;
	uint32_t ahead;			/* bytes parsed but not yet sent */
	uint8_t ninject;
	struct hk_inject inject[HK_INJECT_MAX];
	uint16_t owed_len;		/* a header insertion partly sent: its text, */
	uint16_t owed_done;		/* and how much of it is out */
	char owed[HK_INJECT_TEXT_MAX];
	struct rt_span *writing;	/* client: request head being written */

	/* Incoming direction: responses (client) or requests (server). */
	struct hk_http in;
	uint64_t in_start_ns;		/* server: first byte of the head */

	/* Requests in flight, oldest first. */
	uint8_t qhead;
	uint8_t qlen;
	struct hk_req q[HK_PIPELINE_MAX];	/* last: attach resets it apart */
};

extern struct hk_conn **hk_fdtab;
extern uint32_t hk_fdtab_size;

/* The record watching fd, or NULL. Hot path: one load and one branch when
 * nothing is watched. */
static inline struct hk_conn *hk_conn_of(int fd)
{
	struct hk_conn **t = __atomic_load_n(&hk_fdtab, __ATOMIC_ACQUIRE);

	if (__builtin_expect(!t, 1) || (unsigned)fd >= hk_fdtab_size)
		return NULL;
	return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
}

/* Start watching fd (a TCP socket just connected or accepted) in role.
 * Replaces a record left on that fd. Returns the record, or NULL when the
 * table or the pool could not be had (the fd is then not watched). */
struct hk_conn *hk_conn_attach(int fd, enum hk_role role);

/* Stop watching fd: open spans end (with error_type when not NULL, e.g.
 * the connection closed before a response), the record is freed. Safe on
 * an unwatched fd. */
void hk_conn_detach(int fd, const char *error_type);

/* If c (found on fd) is ignored and owes nothing (no header text partly
 * sent, no insertion due, no span open), stop watching fd, so that its
 * later calls cost one load and one branch again. */
void hk_conn_retire(int fd, struct hk_conn *c);

/*
 * The outcome of c's non-blocking connect, if one is pending: err 0 ends
 * its span as connected, an errno value as failed. Called where the
 * program learns it: getsockopt(SO_ERROR), a second connect, the first
 * read or write. Lock-free; safe on any record.
 */
void hk_connect_settle(struct hk_conn *c, int err);

/* As above, from the result of a read or write on c: a transfer (r >= 0)
 * means connected; a failure other than "try again" is the outcome. */
static inline void hk_connect_settle_io(struct hk_conn *c, ssize_t r, int err)
{
	if (__builtin_expect(__atomic_load_n(&c->connecting, __ATOMIC_RELAXED) != NULL, 0) &&
	    (r >= 0 || (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && err != ENOTCONN)))
		hk_connect_settle(c, r >= 0 ? 0 : err);
}

/* Detach every fd in [lo, hi] (close_range, closefrom). */
void hk_conn_detach_range(unsigned lo, unsigned hi);

/* Try-lock with a bounded spin; false when not acquired (the caller then
 * marks the connection ignored or passes through). The first try is
 * inline: the lock is almost always free. */
bool hk_conn_lock_slow(struct hk_conn *c);

static inline bool hk_conn_lock(struct hk_conn *c)
{
	if (__builtin_expect(!__atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE), 1))
		return true;
	return hk_conn_lock_slow(c);
}

static inline void hk_conn_unlock(struct hk_conn *c)
{
	__atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
}

/* c->ignored, with or without the lock: a thread that cannot get the lock
 * sets it without (so every access is atomic). */
static inline bool hk_conn_ignored(const struct hk_conn *c)
{
	return __atomic_load_n(&c->ignored, __ATOMIC_RELAXED);
}

static inline void hk_conn_ignore(struct hk_conn *c)
{
	__atomic_store_n(&c->ignored, true, __ATOMIC_RELAXED);
}

/* Fill c->peer and c->local (getpeername/getsockname, as text) once. */
void hk_conn_addrs(struct hk_conn *c);

#endif
