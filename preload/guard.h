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
	uint8_t any;		/* inside any hook (sum of depths, saturating) */
};

extern __thread struct pl_tls pl_tls __attribute__((tls_model("initial-exec")));

/* Set by the constructor once the real symbols and the config are ready
 * and the SDK is enabled. */
extern bool pl_ready;

/* The pid the library believes it runs in; a vfork child (or a raw clone)
 * sees a different getpid() and must not touch shared state. */
extern int pl_pid;

/* True when the calling process is a vfork child (one syscall). */
bool pl_in_vfork_child(void);

/* Mark the calling thread as the exporter's: every hook passes through. */
void pl_mark_exporter_thread(void);

#endif
