/*
 * connect.c - connect(2) on TCP sockets: one CLIENT span per attempt.
 *
 * Attributes: network.peer.address/port, network.transport=tcp,
 * network.type ipv4/ipv6; on failure error.type (the errno name) and
 * status Error. A non-blocking connect that is still in progress
 * (EINPROGRESS, or EINTR, after which the kernel goes on connecting) is
 * not a failure: its span stays open until the program learns the outcome
 * -- getsockopt(SO_ERROR) (libcurl, libuv, CPython, nginx), a second
 * connect (EISCONN, or the error), or the first read or write -- and ends
 * then, with error.type and status Error when it failed. So the span
 * covers the connection's set-up as the program waited for it, and a
 * refused or timed-out connection is an error. Closed before any of these:
 * the span ends at the close, status unset. The socket's record (conn.h)
 * carries the open span; a libcurl socket, not watched for HTTP, is
 * watched only until then.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../runtime/config.h"
#include "../runtime/runtime.h"
#include "conn.h"
#include "../runtime/span.h"
#include "hook.h"

/*
 * A span for fd's connection to addr, started at start_ns, or NULL when it
 * is not TCP/IP. Called after the real connect, which has validated addr
 * (an invalid pointer made it fail with EFAULT, and then this is not
 * called: reading addr first would crash where libc returns an error).
 */
static struct rt_span *connect_span(int fd, const struct sockaddr *addr, socklen_t len,
				    uint64_t start_ns)
{
	char host[INET6_ADDRSTRLEN];
	struct rt_span *sp;
	const void *a;
	int type = 0, port;
	socklen_t tl = sizeof(type);
	bool v6;

	if (!addr || len < sizeof(sa_family_t))
		return NULL;
	if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		a = &((const struct sockaddr_in *)addr)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
		v6 = false;
	} else if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
		v6 = true;
	} else {
		return NULL;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
		return NULL;
	if (!inet_ntop(addr->sa_family, a, host, sizeof(host)))
		return NULL;
	sp = rt_span_start("connect", RT_KIND_CLIENT, NULL, start_ns);
	rt_span_set_cstr(sp, "network.peer.address", host);
	rt_span_set_int(sp, "network.peer.port", port);
	rt_span_set_cstr(sp, "network.transport", "tcp");
	rt_span_set_cstr(sp, "network.type", v6 ? "ipv6" : "ipv4");
	return sp;
}

void hk_connect_settle(struct hk_conn *c, int err)
{
	struct rt_span *sp = __atomic_exchange_n(&c->connecting, NULL, __ATOMIC_ACQ_REL);

	if (!sp)
		return;
	if (err > 0) {
		rt_span_set_cstr(sp, "error.type", hk_errno_name(err));
		rt_span_set_status(sp, RT_STATUS_ERROR, strerrordesc_np(err));
	}
	rt_span_end(sp, 0);
}

/* connect() again on a socket whose connect is pending: the program asks
 * how it went (EISCONN: connected; EALREADY: still under way). */
static int connect_again(struct hk_conn *c, int fd, const struct sockaddr *addr, socklen_t len,
			 int saved)
{
	int rc = PL_REAL(connect)(fd, addr, len);
	int err = rc < 0 ? errno : saved;

	if (rc == 0 || err == EISCONN)
		hk_connect_settle(c, 0);
	else if (err != EALREADY && err != EINPROGRESS && err != EINTR && err != EAGAIN)
		hk_connect_settle(c, err);
	if (__atomic_load_n(&c->ignored, __ATOMIC_RELAXED))
		hk_conn_retire(fd, c);
	errno = err;
	return rc;
}

HK_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct rt_span *sp = NULL;
	struct hk_conn *c = NULL;
	int saved = errno, rc, err;
	uint64_t start;
	bool pending;

	if (!hk_enter_checked(PL_FAM_NET))
		return PL_REAL(connect)(fd, addr, len);
	if ((c = hk_conn_of(fd)) && __atomic_load_n(&c->connecting, __ATOMIC_ACQUIRE)) {
		rc = connect_again(c, fd, addr, len, saved);
		err = errno;
		hk_leave(PL_FAM_NET);
		errno = err;
		return rc;
	}
	c = NULL;
	start = rt_now_ns();
	rc = PL_REAL(connect)(fd, addr, len);
	err = rc < 0 ? errno : saved;
	if (!(rc < 0 && err == EFAULT))
		sp = connect_span(fd, addr, len, start);
	/* A TCP connection under way: watch it for HTTP (net.c, http.c) --
	 * unless libcurl made it: libcurl transfers are traced (and carry
	 * traceparent) at its API, hooks/curl.c. */
	pending = sp && rc < 0 && (err == EINPROGRESS || err == EINTR);
	if ((rc == 0 || err == EINPROGRESS || err == EINTR) && addr && len >= sizeof(sa_family_t) &&
	    !pl_tls.depth[PL_FAM_CURL] &&
	    (sp || (addr->sa_family == AF_UNIX && rt_cfg.http_unix))) {
		c = hk_conn_attach(fd, HK_ROLE_CLIENT);
	} else if (pending && (c = hk_conn_attach(fd, HK_ROLE_CLIENT))) {
		/* libcurl's: not for HTTP, only until the outcome is seen */
		__atomic_store_n(&c->ignored, true, __ATOMIC_RELEASE);
	}
	if (pending && c) {
		__atomic_store_n(&c->connecting, sp, __ATOMIC_RELEASE);
		sp = NULL;
	}
	if (sp) {
		if (rc < 0 && err != EINPROGRESS && err != EINTR) {
			rt_span_set_cstr(sp, "error.type", hk_errno_name(err));
			rt_span_set_status(sp, RT_STATUS_ERROR, strerrordesc_np(err));
		}
		rt_span_end(sp, 0);
	}
	hk_leave(PL_FAM_NET);
	errno = err;
	return rc;
}

/* The usual way a program learns how its non-blocking connect went. */
HK_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int rc = PL_REAL(getsockopt)(fd, level, name, val, len);
	struct hk_conn *c;
	int saved, e;

	if (__builtin_expect(level != SOL_SOCKET || name != SO_ERROR || rc != 0, 1) ||
	    !(c = hk_conn_of(fd)) || !__atomic_load_n(&c->connecting, __ATOMIC_ACQUIRE) ||
	    !val || !len || *len < (socklen_t)sizeof(int))
		return rc;
	saved = errno;
	if (hk_enter_checked(PL_FAM_NET)) {
		memcpy(&e, val, sizeof(e));
		hk_connect_settle(c, e);
		if (__atomic_load_n(&c->ignored, __ATOMIC_RELAXED))
			hk_conn_retire(fd, c);
		hk_leave(PL_FAM_NET);
	}
	errno = saved;
	return rc;
}
