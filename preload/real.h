/*
 * real.h - the table of real (next-in-search-order) symbols the hooks
 * forward to. Each entry is resolved on its hook's first call (PL_REAL), so
 * start-up pays for none of them (a successful dlsym does not allocate).
 *
 * Like SQLite's os_unix syscall table: every call the library makes into
 * libc on behalf of the application goes through here.
 */
#ifndef PL_REAL_H
#define PL_REAL_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count);

/* The FORTIFY entry points (glibc declares them only under _FORTIFY_SOURCE). */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fromlen);

struct pl_real {
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*__read_chk)(int, void *, size_t, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*__recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*__recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*shutdown)(int, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*sendfile64)(int, int, off_t *, size_t);
	ssize_t (*splice)(int, loff_t *, int, loff_t *, size_t, unsigned int);
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int[2]);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*daemon)(int, int);
};

extern struct pl_real pl_real;

/* Resolve one symbol by name, never returning one of our own hooks.
 * NULL when libc has no such symbol. */
void *pl_real_lookup(const char *name, void *self);

/* Resolve name into *slot (a field of pl_real) and return it: the cold
 * path of PL_REAL, kept out of line so that a hook's fast path needs no
 * stack frame. */
void *pl_real_resolve(const char *name, void *self, void **slot) __attribute__((cold, noinline));

/* The entry for a hook, resolved now on the first call. */
#define PL_REAL(fn)								\
	(__builtin_expect(__atomic_load_n(&pl_real.fn, __ATOMIC_RELAXED) != NULL, 1)	\
		 ? __atomic_load_n(&pl_real.fn, __ATOMIC_RELAXED)		\
		 : (__typeof__(pl_real.fn))pl_real_resolve(#fn, (void *)fn, (void **)&pl_real.fn))

#endif
