/*
 * connect.c - connect(2) on TCP sockets: one CLIENT span per attempt.
 *
 * Attributes: network.peer.address/port, network.transport=tcp,
 * network.type ipv4/ipv6; on failure error.type (the errno name) and
 * status Error. A non-blocking connect that is still in progress
 * (EINPROGRESS, or EINTR, after which the kernel goes on connecting) is
 * not a failure: the span ends at the return of the call.
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

HK_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct rt_span *sp = NULL;
	int saved = errno, rc, err;
	uint64_t start;

	if (!hk_enter_checked(PL_FAM_NET))
		return PL_REAL(connect)(fd, addr, len);
	start = rt_now_ns();
	rc = PL_REAL(connect)(fd, addr, len);
	err = rc < 0 ? errno : saved;
	if (!(rc < 0 && err == EFAULT))
		sp = connect_span(fd, addr, len, start);
	/* A TCP connection under way: watch it for HTTP (net.c, http.c) --
	 * unless libcurl made it: libcurl transfers are traced (and carry
	 * traceparent) at its API, hooks/curl.c. */
	if ((rc == 0 || err == EINPROGRESS || err == EINTR) && addr && len >= sizeof(sa_family_t) &&
	    !pl_tls.depth[PL_FAM_CURL] &&
	    (sp || (addr->sa_family == AF_UNIX && rt_cfg.http_unix)))
		hk_conn_attach(fd, HK_ROLE_CLIENT);
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
