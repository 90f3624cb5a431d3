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
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../runtime/config.h"
#include "conn.h"
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
static ssize_t out(struct hk_conn *c, const struct hk_out_call *k)
{
	uint32_t gen = __atomic_load_n(&c->gen, __ATOMIC_RELAXED);
	ssize_t r;
	int err;

	if ((__atomic_load_n(&c->ignored, __ATOMIC_RELAXED) && !c->owed_len && !c->ninject) ||
	    !hk_enter(PL_FAM_NET))
		return hk_out_orig(k);
	r = hk_http_write(c, gen, k);
	err = errno;
	hk_leave(PL_FAM_NET);
	errno = err;
	return r;
}

HK_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct hk_conn *c = hk_conn_of(fd);
	struct iovec v = { (void *)buf, n };

	if (__builtin_expect(!c, 1))
		return PL_REAL(write)(fd, buf, n);
	return out(c, &(struct hk_out_call){ .how = HK_WRITE, .fd = fd, .iov = &v, .iovcnt = 1 });
}

HK_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (__builtin_expect(!c, 1) || iovcnt < 0 || iovcnt > IOV_MAX)
		return PL_REAL(writev)(fd, iov, iovcnt);
	return out(c, &(struct hk_out_call){ .how = HK_WRITEV, .fd = fd, .iov = iov,
					      .iovcnt = iovcnt });
}

HK_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);
	struct iovec v = { (void *)buf, n };

	if (__builtin_expect(!c, 1))
		return PL_REAL(send)(fd, buf, n, flags);
	return out(c, &(struct hk_out_call){ .how = HK_SEND, .fd = fd, .iov = &v, .iovcnt = 1,
					      .is_send = true, .flags = flags });
}

HK_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
			 socklen_t tolen)
{
	struct hk_conn *c = hk_conn_of(fd);
	struct iovec v = { (void *)buf, n };

	if (__builtin_expect(!c, 1))
		return PL_REAL(sendto)(fd, buf, n, flags, to, tolen);
	return out(c, &(struct hk_out_call){ .how = HK_SENDTO, .fd = fd, .iov = &v, .iovcnt = 1,
					      .is_send = true, .flags = flags, .to = to,
					      .tolen = tolen });
}

HK_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);

	if (__builtin_expect(!c, 1) || !msg || msg->msg_iovlen > IOV_MAX)
		return PL_REAL(sendmsg)(fd, msg, flags);
	return out(c, &(struct hk_out_call){ .how = HK_SENDMSG, .fd = fd, .iov = msg->msg_iov,
					      .iovcnt = (int)msg->msg_iovlen, .is_send = true,
					      .flags = flags, .msg = msg });
}

/* ------------------------------------------------------------------ */
/* Reads: the real call first, then the bytes it returned are parsed. */

static ssize_t in(struct hk_conn *c, uint32_t gen, const struct iovec *iov, int iovcnt,
		  ssize_t r, int flags)
{
	int err = errno;

	if (!(flags & MSG_PEEK) && !__atomic_load_n(&c->ignored, __ATOMIC_RELAXED) &&
	    hk_enter(PL_FAM_NET)) {
		hk_http_read(c, gen, iov, iovcnt, r, err);
		hk_leave(PL_FAM_NET);
	}
	errno = err;
	return r;
}

#define GEN(c) __atomic_load_n(&(c)->gen, __ATOMIC_RELAXED)

HK_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;

	if (__builtin_expect(!c, 1))
		return PL_REAL(read)(fd, buf, n);
	gen = GEN(c);
	return in(c, gen, &(struct iovec){ buf, n }, 1, PL_REAL(read)(fd, buf, n), 0);
}

HK_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;

	if (__builtin_expect(!c, 1))
		return PL_REAL(__read_chk)(fd, buf, n, buflen);
	gen = GEN(c);
	return in(c, gen, &(struct iovec){ buf, n }, 1, PL_REAL(__read_chk)(fd, buf, n, buflen), 0);
}

HK_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;

	if (__builtin_expect(!c, 1) || iovcnt < 0 || iovcnt > IOV_MAX)
		return PL_REAL(readv)(fd, iov, iovcnt);
	gen = GEN(c);
	return in(c, gen, iov, iovcnt, PL_REAL(readv)(fd, iov, iovcnt), 0);
}

HK_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;

	if (__builtin_expect(!c, 1))
		return PL_REAL(recv)(fd, buf, n, flags);
	gen = GEN(c);
	return in(c, gen, &(struct iovec){ buf, n }, 1, PL_REAL(recv)(fd, buf, n, flags), flags);
}

HK_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;

	if (__builtin_expect(!c, 1))
		return PL_REAL(__recv_chk)(fd, buf, n, buflen, flags);
	gen = GEN(c);
	return in(c, gen, &(struct iovec){ buf, n }, 1,
		  PL_REAL(__recv_chk)(fd, buf, n, buflen, flags), flags);
}

HK_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
			   socklen_t *fromlen)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;

	if (__builtin_expect(!c, 1))
		return PL_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
	gen = GEN(c);
	return in(c, gen, &(struct iovec){ buf, n }, 1,
		  PL_REAL(recvfrom)(fd, buf, n, flags, from, fromlen), flags);
}

HK_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				 struct sockaddr *from, socklen_t *fromlen)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;

	if (__builtin_expect(!c, 1))
		return PL_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen);
	gen = GEN(c);
	return in(c, gen, &(struct iovec){ buf, n }, 1,
		  PL_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen), flags);
}

HK_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct hk_conn *c = hk_conn_of(fd);
	uint32_t gen;
	ssize_t r;

	if (__builtin_expect(!c, 1) || !msg)
		return PL_REAL(recvmsg)(fd, msg, flags);
	gen = GEN(c);
	r = PL_REAL(recvmsg)(fd, msg, flags);
	return in(c, gen, msg->msg_iov, (int)msg->msg_iovlen, r, flags);
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

	if (hk_conn_of(fd) && !pl_in_vfork_child())
		hk_conn_detach(fd, NULL);
	errno = err;
}

HK_EXPORT int close(int fd)
{
	if (__builtin_expect(!hk_conn_of(fd), 1))
		return PL_REAL(close)(fd);
	forget(fd);
	return PL_REAL(close)(fd);
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
