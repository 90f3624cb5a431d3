/*
 * hook.h - what every hook does first and last.
 *
 * hk_enter() answers "may this call be observed?": no before the
 * constructor finished or when the SDK is disabled (the first call after
 * the constructor runs the lazy initialisation), no on the exporter's
 * thread, no when nested inside another hook of the same family. When it
 * says yes, the hook must call hk_leave() with the same family.
 */
#ifndef HK_HOOK_H
#define HK_HOOK_H

#include <stdbool.h>

#include "../preload/guard.h"
#include "../preload/real.h"

#define HK_EXPORT __attribute__((visibility("default")))

static inline bool hk_enter(enum pl_family f)
{
	if (__builtin_expect(__atomic_load_n(&pl_state, __ATOMIC_ACQUIRE) != PL_READY, 0) &&
	    !pl_init_slow())
		return false;
	if (pl_tls.exporter || pl_tls.depth[f])
		return false;
	pl_tls.depth[f]++;
	return true;
}

/* hk_enter plus the vfork-child check (one getpid syscall): for hooks that
 * are not on a hot path and may start spans. */
static inline bool hk_enter_checked(enum pl_family f)
{
	if (!hk_enter(f))
		return false;
	if (__builtin_expect(pl_in_vfork_child(), 0)) {
		pl_tls.depth[f]--;
		return false;
	}
	return true;
}

static inline void hk_leave(enum pl_family f)
{
	pl_tls.depth[f]--;
}

/* "ECONNREFUSED" for ECONNREFUSED; "_OTHER" when libc has no name. */
const char *hk_errno_name(int err);

#endif
