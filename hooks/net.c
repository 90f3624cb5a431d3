/*
 * net.c - the libc socket calls: accept, the read and write families
 * (including the FORTIFY variants), close and its relatives, shutdown.
 *
 * Every hook starts the same way: look the fd up in the watch table
 * (hooks/conn.h). An fd nobody watches costs that one load and one branch,
 * then the real call. A watched fd goes through hooks/http.c, which keeps
 * the program's return values and errno exactly as libc's.
 *
 * Which fds are watched: TCP sockets (AF_INET, AF_INET6; AF_UNIX with
 * OTELPRELOAD_HTTP_UNIX=true) returned by accept/accept4 (server side) or
 * connected with connect (client side, see connect.c), from the moment the
 * library is initialised. A watched fd stops being watched when it is
 * closed (close, close_range, closefrom, dup2/dup3 over it) or turns out
 * not to speak HTTP/1.x.
 *
 * A vfork child shares the parent's memory: close there passes straight
 * through (the parent still owns its connections). Reads and writes on a
 * watched socket in a vfork child are not checked for (that would cost a
 * system call on every watched I/O); a vfork child that does HTTP on the
 * parent's sockets is not supported.
 */
#define _FORTIFY_SOURCE 0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../runtime/config.h"
#include "conn.h"
#include "../runtime/exfd.h"
#include "hook.h"
#include "http.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ------------------------------------------------------------------ */
/* Writes */

ssize_t hk_out_orig(const struct hk_out_call *k)
{
	switch (k->how) {
	case HK_WRITE:
		return PL_REAL(write)(k->fd, k->iov[0].iov_base, k->iov[0].iov_len);
	case HK_WRITEV:
		return PL_REAL(writev)(k->fd, k->iov, k->iovcnt);
	case HK_SEND:
		return PL_REAL(send)(k->fd, k->iov[0].iov_base, k->iov[0].iov_len, k->flags);
	case HK_SENDTO:
		return PL_REAL(sendto)(k->fd, k->iov[0].iov_base, k->iov[0].iov_len, k->flags,
				       k->to, k->tolen);
	case HK_SENDMSG:
		return PL_REAL(sendmsg)(k->fd, k->msg, k->flags);
	}
	errno = EINVAL;
	return -1;
}

/* A write on watched connection c. */
static inline __attribute__((always_inline)) ssize_t out(struct hk_conn *c, const struct hk_out_call *k)
{
	uint32_t gen = __atomic_load_n(&c->gen, __ATOMIC_RELAXED);
	ssize_t r;
	int err;

	if (!hk_enter(PL_FAM_NET))
		return hk_out_orig(k);
	if (__atomic_load_n(&c->ignored, __ATOMIC_RELAXED) && !c->owed_len && !c->ninject) {
		r = hk_out_orig(k);
		err = errno;
		hk_connect_settle_io(c, r, err);
		hk_conn_retire(k->fd, c);
		hk_leave(PL_FAM_NET);
		errno = err;
		return r;
	}
	r = hk_http_write(c, gen, k);
	err = errno;
	hk_connect_settle_io(c, r, err);
	if (__atomic_load_n(&c->ignored, __ATOMIC_RELAXED))
		hk_conn_retire(k->fd, c);
	hk_leave(PL_FAM_NET);
	errno = err;
	return r;
}

/*
 * Each hook below is the fast path only: the fd is not watched, so the
 * real call, as a tail call. Everything else lives in a SLOW function, so
 * the fast path sets up no stack frame (make bench counts its
 * instructions).
 */
#define SLOW __attribute__((noinline, cold))

/* The fast path: not watched and the real symbol known: a tail call. */
#define FAST(fn, ...)								\
	do {									\
		ssize_t (*real_)() = (void *)__atomic_load_n(&pl_real.fn, __ATOMIC_RELAXED); \
		if (__builtin_expect(!hk_conn_of(fd) && real_ != NULL, 1))	\
			return pl_real.fn(__VA_ARGS__);				\
	} while (0)

static SLOW ssize_t write_slow(struct hk_conn *c, int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };

	return out(c, &(struct hk_out_call){ .how = HK_WRITE, .fd = fd, .iov = &v, .iovcnt = 1 });
}

static SLOW ssize_t write_any(int fd, const void *buf, size_t n)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(write)(fd, buf, n);
	return write_slow(c, fd, buf, n);
}

HK_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	FAST(write, fd, buf, n);
	return write_any(fd, buf, n);
}

static SLOW ssize_t writev_slow(struct hk_conn *c, int fd, const struct iovec *iov, int iovcnt)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return PL_REAL(writev)(fd, iov, iovcnt);
	return out(c, &(struct hk_out_call){ .how = HK_WRITEV, .fd = fd, .iov = iov,
					      .iovcnt = iovcnt });
}

static SLOW ssize_t writev_any(int fd, const struct iovec *iov, int iovcnt)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(writev)(fd, iov, iovcnt);
	return writev_slow(c, fd, iov, iovcnt);
}

HK_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	FAST(writev, fd, iov, iovcnt);
	return writev_any(fd, iov, iovcnt);
}

static SLOW ssize_t send_slow(struct hk_conn *c, int fd, const void *buf, size_t n, int flags)
{
	struct iovec v = { (void *)buf, n };

	return out(c, &(struct hk_out_call){ .how = HK_SEND, .fd = fd, .iov = &v, .iovcnt = 1,
					      .is_send = true, .flags = flags });
}

static SLOW ssize_t send_any(int fd, const void *buf, size_t n, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(send)(fd, buf, n, flags);
	return send_slow(c, fd, buf, n, flags);
}

HK_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	FAST(send, fd, buf, n, flags);
	return send_any(fd, buf, n, flags);
}

static SLOW ssize_t sendto_slow(struct hk_conn *c, int fd, const void *buf, size_t n, int flags,
				const struct sockaddr *to, socklen_t tolen)
{
	struct iovec v = { (void *)buf, n };

	return out(c, &(struct hk_out_call){ .how = HK_SENDTO, .fd = fd, .iov = &v, .iovcnt = 1,
					      .is_send = true, .flags = flags, .to = to,
					      .tolen = tolen });
}

static SLOW ssize_t sendto_any(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
			 socklen_t tolen)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(sendto)(fd, buf, n, flags, to, tolen);
	return sendto_slow(c, fd, buf, n, flags, to, tolen);
}

HK_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
			 socklen_t tolen)
{
	FAST(sendto, fd, buf, n, flags, to, tolen);
	return sendto_any(fd, buf, n, flags, to, tolen);
}

static SLOW ssize_t sendmsg_slow(struct hk_conn *c, int fd, const struct msghdr *msg, int flags)
{
	if (!msg || msg->msg_iovlen > IOV_MAX)
		return PL_REAL(sendmsg)(fd, msg, flags);
	return out(c, &(struct hk_out_call){ .how = HK_SENDMSG, .fd = fd, .iov = msg->msg_iov,
					      .iovcnt = (int)msg->msg_iovlen, .is_send = true,
					      .flags = flags, .msg = msg });
}

static SLOW ssize_t sendmsg_any(int fd, const struct msghdr *msg, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(sendmsg)(fd, msg, flags);
	return sendmsg_slow(c, fd, msg, flags);
}

HK_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	FAST(sendmsg, fd, msg, flags);
	return sendmsg_any(fd, msg, flags);
}

/* ------------------------------------------------------------------ */
/* Reads: the real call first, then the bytes it returned are parsed. */

static inline __attribute__((always_inline)) ssize_t in(struct hk_conn *c, int fd, uint32_t gen, const struct iovec *iov, int iovcnt,
		  ssize_t r, int flags)
{
	int err = errno;

	if (!(flags & MSG_PEEK) && hk_enter(PL_FAM_NET)) {
		hk_connect_settle_io(c, r, err);
		if (!__atomic_load_n(&c->ignored, __ATOMIC_RELAXED))
			hk_http_read(c, gen, iov, iovcnt, r, err);
		if (__atomic_load_n(&c->ignored, __ATOMIC_RELAXED))
			hk_conn_retire(fd, c);
		hk_leave(PL_FAM_NET);
	}
	errno = err;
	return r;
}

#define GEN(c) __atomic_load_n(&(c)->gen, __ATOMIC_RELAXED)

static SLOW ssize_t read_slow(struct hk_conn *c, int fd, void *buf, size_t n)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(read)(fd, buf, n);

	return in(c, fd, gen, &(struct iovec){ buf, n }, 1, r, 0);
}

static SLOW ssize_t read_any(int fd, void *buf, size_t n)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(read)(fd, buf, n);
	return read_slow(c, fd, buf, n);
}

HK_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	FAST(read, fd, buf, n);
	return read_any(fd, buf, n);
}

static SLOW ssize_t __read_chk_slow(struct hk_conn *c, int fd, void *buf, size_t n, size_t buflen)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(__read_chk)(fd, buf, n, buflen);

	return in(c, fd, gen, &(struct iovec){ buf, n }, 1, r, 0);
}

static SLOW ssize_t __read_chk_any(int fd, void *buf, size_t n, size_t buflen)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(__read_chk)(fd, buf, n, buflen);
	return __read_chk_slow(c, fd, buf, n, buflen);
}

HK_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	FAST(__read_chk, fd, buf, n, buflen);
	return __read_chk_any(fd, buf, n, buflen);
}

static SLOW ssize_t readv_slow(struct hk_conn *c, int fd, const struct iovec *iov, int iovcnt)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(readv)(fd, iov, iovcnt);

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return r;
	return in(c, fd, gen, iov, iovcnt, r, 0);
}

static SLOW ssize_t readv_any(int fd, const struct iovec *iov, int iovcnt)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(readv)(fd, iov, iovcnt);
	return readv_slow(c, fd, iov, iovcnt);
}

HK_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	FAST(readv, fd, iov, iovcnt);
	return readv_any(fd, iov, iovcnt);
}

static SLOW ssize_t recv_slow(struct hk_conn *c, int fd, void *buf, size_t n, int flags)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(recv)(fd, buf, n, flags);

	return in(c, fd, gen, &(struct iovec){ buf, n }, 1, r, flags);
}

static SLOW ssize_t recv_any(int fd, void *buf, size_t n, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(recv)(fd, buf, n, flags);
	return recv_slow(c, fd, buf, n, flags);
}

HK_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	FAST(recv, fd, buf, n, flags);
	return recv_any(fd, buf, n, flags);
}

static SLOW ssize_t __recv_chk_slow(struct hk_conn *c, int fd, void *buf, size_t n, size_t buflen, int flags)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(__recv_chk)(fd, buf, n, buflen, flags);

	return in(c, fd, gen, &(struct iovec){ buf, n }, 1, r, flags);
}

static SLOW ssize_t __recv_chk_any(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(__recv_chk)(fd, buf, n, buflen, flags);
	return __recv_chk_slow(c, fd, buf, n, buflen, flags);
}

HK_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	FAST(__recv_chk, fd, buf, n, buflen, flags);
	return __recv_chk_any(fd, buf, n, buflen, flags);
}

static SLOW ssize_t recvfrom_slow(struct hk_conn *c, int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);

	return in(c, fd, gen, &(struct iovec){ buf, n }, 1, r, flags);
}

static SLOW ssize_t recvfrom_any(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
	return recvfrom_slow(c, fd, buf, n, flags, from, fromlen);
}

HK_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	FAST(recvfrom, fd, buf, n, flags, from, fromlen);
	return recvfrom_any(fd, buf, n, flags, from, fromlen);
}

static SLOW ssize_t __recvfrom_chk_slow(struct hk_conn *c, int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen);

	return in(c, fd, gen, &(struct iovec){ buf, n }, 1, r, flags);
}

static SLOW ssize_t __recvfrom_chk_any(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen);
	return __recvfrom_chk_slow(c, fd, buf, n, buflen, flags, from, fromlen);
}

HK_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	FAST(__recvfrom_chk, fd, buf, n, buflen, flags, from, fromlen);
	return __recvfrom_chk_any(fd, buf, n, buflen, flags, from, fromlen);
}

static SLOW ssize_t recvmsg_slow(struct hk_conn *c, int fd, struct msghdr *msg, int flags)
{
	uint32_t gen = GEN(c);
	ssize_t r = PL_REAL(recvmsg)(fd, msg, flags);

	if (!msg)
		return r;
	return in(c, fd, gen, msg->msg_iov, (int)msg->msg_iovlen, r, flags);
}

static SLOW ssize_t recvmsg_any(int fd, struct msghdr *msg, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (!c)
		return PL_REAL(recvmsg)(fd, msg, flags);
	return recvmsg_slow(c, fd, msg, flags);
}

HK_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	FAST(recvmsg, fd, msg, flags);
	return recvmsg_any(fd, msg, flags);
}

/* ------------------------------------------------------------------ */
/* Bytes that go out without passing through a write: sendfile and splice
 * carry bodies (nginx serves static files so); the parser counts them. */

static SLOW ssize_t unseen(struct hk_conn *c, ssize_t r)
{
	uint32_t gen = GEN(c);
	int err = errno;

	if (r > 0 && hk_enter(PL_FAM_NET)) {
		hk_http_sent_unseen(c, gen, (uint64_t)r);
		if (__atomic_load_n(&c->ignored, __ATOMIC_RELAXED))
			hk_conn_retire(c->fd, c);
		hk_leave(PL_FAM_NET);
	}
	errno = err;
	return r;
}

HK_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct hk_conn *c = hk_conn_of(out_fd);

	if (__builtin_expect(!c, 1))
		return PL_REAL(sendfile)(out_fd, in_fd, offset, count);
	return unseen(c, PL_REAL(sendfile)(out_fd, in_fd, offset, count));
}

HK_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct hk_conn *c = hk_conn_of(out_fd);

	if (__builtin_expect(!c, 1))
		return PL_REAL(sendfile64)(out_fd, in_fd, offset, count);
	return unseen(c, PL_REAL(sendfile64)(out_fd, in_fd, offset, count));
}

HK_EXPORT ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
			 unsigned int flags)
{
	struct hk_conn *c = hk_conn_of(fd_out);

	if (__builtin_expect(!c, 1))
		return PL_REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
	return unseen(c, PL_REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags));
}

/* ------------------------------------------------------------------ */
/* accept: the server side of a connection starts being watched. */

static void watch_accepted(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6 &&
	    !(ss.ss_family == AF_UNIX && rt_cfg.http_unix))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
		return;
	hk_conn_attach(fd, HK_ROLE_SERVER);
}

HK_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int r = PL_REAL(accept)(fd, addr, len), err = errno;

	if (r >= 0 && hk_enter(PL_FAM_NET)) {
		watch_accepted(r);
		hk_leave(PL_FAM_NET);
	}
	errno = err;
	return r;
}

HK_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int r = PL_REAL(accept4)(fd, addr, len, flags), err = errno;

	if (r >= 0 && hk_enter(PL_FAM_NET)) {
		watch_accepted(r);
		hk_leave(PL_FAM_NET);
	}
	errno = err;
	return r;
}

/* ------------------------------------------------------------------ */
/* The end of a connection. The record is dropped before the real call, so
 * that the fd number, once free, can be watched again by whoever gets it. */

static void forget(int fd)
{
	int err = errno;

	/* The exporter thread's fds are its own (export/exporter.c gives it a
	 * table of its own): its numbers say nothing of the program's. */
	if (hk_conn_of(fd) && !pl_tls.exporter && !pl_in_vfork_child())
		hk_conn_detach(fd, NULL);
	errno = err;
}

static SLOW int close_slow(int fd)
{
	/* The exporter sharing the program's fd table (runtime/exfd.h): a
	 * number of its own that the program has taken over is not closed. */
	if (pl_tls.exporter && !rt_exfd_close_ok(fd))
		return 0;
	forget(fd);
	return PL_REAL(close)(fd);
}

HK_EXPORT int close(int fd)
{
	if (__builtin_expect(!hk_conn_of(fd) && !__atomic_load_n(&rt_exfd_live, __ATOMIC_RELAXED), 1))
		return PL_REAL(close)(fd);
	return close_slow(fd);
}

HK_EXPORT int dup2(int oldfd, int newfd)
{
	if (oldfd != newfd)
		forget(newfd);
	return PL_REAL(dup2)(oldfd, newfd);
}

HK_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (oldfd != newfd)
		forget(newfd);
	return PL_REAL(dup3)(oldfd, newfd, flags);
}

HK_EXPORT int close_range(unsigned int lo, unsigned int hi, int flags)
{
	int err = errno;

	if (!(flags & CLOSE_RANGE_CLOEXEC) && hk_fdtab && lo <= hi && !pl_in_vfork_child())
		hk_conn_detach_range(lo, hi);
	errno = err;
	return PL_REAL(close_range)(lo, hi, flags);
}

HK_EXPORT void closefrom(int lo)
{
	int err = errno;

	if (hk_fdtab && lo >= 0 && !pl_in_vfork_child())
		hk_conn_detach_range((unsigned)lo, UINT_MAX);
	errno = err;
	PL_REAL(closefrom)(lo);
}

HK_EXPORT int shutdown(int fd, int how)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;
	int r, err;

	if (__builtin_expect(!c, 1))
		return PL_REAL(shutdown)(fd, how);
	gen = GEN(c);
	r = PL_REAL(shutdown)(fd, how);
	err = errno;
	if (r == 0 && (how == SHUT_WR || how == SHUT_RDWR) && hk_enter(PL_FAM_NET)) {
		hk_http_shutdown_write(c, gen);
		hk_leave(PL_FAM_NET);
	}
	errno = err;
	return r;
}
