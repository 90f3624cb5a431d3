/*
 * real.c - resolves the real libc functions behind every hook.
 */
#include "real.h"

#include <dlfcn.h>

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
