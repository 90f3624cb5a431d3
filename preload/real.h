/*
 * real.h - the table of real (next-in-search-order) symbols the hooks
 * forward to. Resolved once in the constructor; a hook called before that
 * resolves its own entry on demand (a successful dlsym does not allocate).
 *
 * Like SQLite's os_unix syscall table: every call the library makes into
 * libc on behalf of the application goes through here.
 */
#ifndef PL_REAL_H
#define PL_REAL_H

#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>

struct pl_real {
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int[2]);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
};

extern struct pl_real pl_real;

/* Resolve every entry (constructor). */
void pl_real_init(void);

/* Resolve one symbol by name, never returning one of our own hooks.
 * NULL when libc has no such symbol. */
void *pl_real_lookup(const char *name, void *self);

/* The entry for a hook, resolved now if the constructor has not run. */
#define PL_REAL(fn) ({							\
	__typeof__(pl_real.fn) pl_f_ = __atomic_load_n(&pl_real.fn, __ATOMIC_RELAXED); \
	if (__builtin_expect(!pl_f_, 0)) {					\
		pl_f_ = (__typeof__(pl_f_))pl_real_lookup(#fn, (void *)fn);	\
		__atomic_store_n(&pl_real.fn, pl_f_, __ATOMIC_RELAXED);		\
	}									\
	pl_f_;									\
})

#endif
