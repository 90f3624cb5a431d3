/*
 * swift_stub.c - preloaded after the ASan runtime in `make check`'s
 * integration run, so that ASan's lazy start-up cannot corrupt a glibc lock.
 *
 * WHY: with libasan in LD_PRELOAD (not linked into the program), ASan
 * initialises on the first intercepted call. In curl, psql, git-remote-http
 * (anything linked to p11-kit through GnuTLS) that call is the malloc() made
 * by newlocale() in p11-kit's constructor, with glibc's setlocale lock held
 * for writing. ASan's start-up (GCC 12's libsanitizer) looks up
 * swift_demangle with dlsym and clears the failure with dlerror(), which
 * translates the message: dcgettext read-locks the same lock (EDEADLK, not
 * taken) and then unlocks it, releasing newlocale's write lock. newlocale's
 * own unlock then underflows the lock word and the program's first
 * setlocale() waits forever (google/sanitizers#1270 is the same family).
 * With swift_demangle defined, the lookup succeeds, dlerror() has nothing
 * to translate, and the lock is left alone.
 *
 * CONTRACT: the sanitizer calls swift_demangle(name, len, out, out_size,
 * flags) for every symbol it prints; NULL means "not a Swift name" and it
 * falls back to C++ demangling. Nothing else calls it.
 */
#include <stddef.h>
#include <stdint.h>

__attribute__((visibility("default"))) char *swift_demangle(const char *name, size_t len,
							     char *out, size_t *out_size,
							     uint32_t flags)
{
	(void)name;
	(void)len;
	(void)out;
	(void)out_size;
	(void)flags;
	return NULL;
}
