/*
 * guard.h - per-thread "do not intercept" state in initial-exec TLS, and the
 * process-level readiness checks every hook makes first.
 *
 * DESIGN: a few bytes of IE TLS per thread (allocation-free, signal-safe):
 * one depth counter per hook family, so a hook entered from inside another
 * hook of its family (libpq calling its own exports, getaddrinfo calling
 * connect) passes straight through; and a flag for the exporter's thread.
 */
#ifndef PL_GUARD_H
#define PL_GUARD_H

#include <stdbool.h>
#include <stdint.h>

enum pl_family {
	PL_FAM_NET,		/* socket calls, getaddrinfo */
	PL_FAM_EXEC,		/* exec family */
	PL_FAM_PQ,		/* libpq */
	PL_FAM_CURL,		/* libcurl */
	PL_FAM_MAX,
};

struct pl_tls {
	uint8_t depth[PL_FAM_MAX];
	uint8_t exporter;	/* this is the exporter thread */
	uint8_t initialising;	/* this thread runs pl_init_slow() */
};

extern __thread struct pl_tls pl_tls __attribute__((tls_model("initial-exec")));

/*
 * Where the library is in its start-up. The constructor only captures the
 * environment and installs the fork handler (PL_CAPTURED); the rest (config
 * parsing, the process context) happens on the first hook that may observe
 * something (PL_READY), so a process that never touches the network pays
 * next to nothing. PL_OFF: disabled, or initialisation failed: every hook
 * passes through.
 */
enum pl_state {
	PL_RAW = 0,		/* constructor not run yet: pass through */
	PL_CAPTURED,		/* environment captured, lazy init pending */
	PL_INITIALISING,	/* one thread is initialising: others pass */
	PL_READY,
	PL_OFF,
};
extern int pl_state;

/* The slow path of hk_enter: run the lazy initialisation if it is due.
 * Returns true when the library is (now) ready. */
bool pl_init_slow(void);

/* The pid the library believes it runs in; a vfork child (or a raw clone)
 * sees a different getpid() and must not touch shared state. */
extern int pl_pid;

/* True when the calling process is a vfork child (one syscall). */
bool pl_in_vfork_child(void);

/* Mark the calling thread as the exporter's: every hook passes through. */
void pl_mark_exporter_thread(void);

#endif
