/*
 * socket.c - socket(2) and socketpair(2).
 *
 * For now only the exporter's own sockets are touched: libcurl creates its
 * multi handle's wake-up pair without close-on-exec, and another thread of
 * the application may fork and exec while an export is in flight. On the
 * exporter thread every socket is created close-on-exec; elsewhere the
 * calls pass straight through.
 */
#include <sys/socket.h>

#include "hook.h"

HK_EXPORT int socket(int domain, int type, int protocol)
{
	if (pl_tls.exporter)
		type |= SOCK_CLOEXEC;
	return PL_REAL(socket)(domain, type, protocol);
}

HK_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	if (pl_tls.exporter)
		type |= SOCK_CLOEXEC;
	return PL_REAL(socketpair)(domain, type, protocol, sv);
}
