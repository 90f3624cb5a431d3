/*
 * real.c - resolves the real libc functions behind every hook.
 */
#include "real.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

struct pl_real pl_real;

void *pl_real_lookup(const char *name, void *self)
{
	void *p = dlsym(RTLD_NEXT, name);

	/* RTLD_NEXT can only find ourselves if the library is loaded twice;
	 * fall back to the default search and never return our own hook. */
	if (p == self || !p)
		p = dlsym(RTLD_DEFAULT, name);
	return p == self ? NULL : p;
}

void *pl_real_resolve(const char *name, void *self, void **slot)
{
	void *p = pl_real_lookup(name, self);

	__atomic_store_n(slot, p, __ATOMIC_RELAXED);
	return p;
}

void pl_real_init(void)
{
	PL_REAL(read);
	PL_REAL(__read_chk);
	PL_REAL(readv);
	PL_REAL(recv);
	PL_REAL(__recv_chk);
	PL_REAL(recvfrom);
	PL_REAL(__recvfrom_chk);
	PL_REAL(recvmsg);
	PL_REAL(write);
	PL_REAL(writev);
	PL_REAL(send);
	PL_REAL(sendto);
	PL_REAL(sendmsg);
	PL_REAL(accept);
	PL_REAL(accept4);
	PL_REAL(close);
	PL_REAL(close_range);
	PL_REAL(closefrom);
	PL_REAL(dup2);
	PL_REAL(dup3);
	PL_REAL(shutdown);
	PL_REAL(sendfile);
	PL_REAL(sendfile64);
	PL_REAL(splice);
	PL_REAL(socket);
	PL_REAL(socketpair);
	PL_REAL(connect);
	PL_REAL(getaddrinfo);
	PL_REAL(execve);
	PL_REAL(execv);
	PL_REAL(execvp);
	PL_REAL(execvpe);
	PL_REAL(fexecve);
}
