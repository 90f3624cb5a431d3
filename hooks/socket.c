/*
 * socket.c - socket(2) and socketpair(2).
 *
 * For now only the exporter's own sockets are touched: libcurl creates its
 * multi handle's wake-up pair without close-on-exec, and another thread of
 * the application may fork and exec while an export is in flight. On the
 * exporter thread every socket is created close-on-exec, and recorded
 * (runtime/exfd.h) for when the exporter shares the program's fd table;
 * elsewhere the calls pass straight through.
 */
#include <sys/socket.h>

#include "../runtime/exfd.h"
#include "hook.h"

HK_EXPORT int socket(int domain, int type, int protocol)
{
	int fd;

	if (!pl_tls.exporter)
		return PL_REAL(socket)(domain, type, protocol);
	fd = PL_REAL(socket)(domain, type | SOCK_CLOEXEC, protocol);
	rt_exfd_add(fd);
	return fd;
}

HK_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	int r;

	if (!pl_tls.exporter)
		return PL_REAL(socketpair)(domain, type, protocol, sv);
	r = PL_REAL(socketpair)(domain, type | SOCK_CLOEXEC, protocol, sv);
	if (r == 0) {
		rt_exfd_add(sv[0]);
		rt_exfd_add(sv[1]);
	}
	return r;
}
