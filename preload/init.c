/*
 * init.c - the constructor, the destructor, fork handling and the exit
 * flush.
 *
 * DESIGN: the constructor captures the environment and installs the fork
 * handler; it starts no thread, opens no socket, loads no libcurl and does
 * not allocate. Parsing the configuration and the process context waits
 * for the first hook that may observe something (pl_init_slow), so a
 * process that never touches the network pays almost nothing. Until then
 * every hook passes straight through (see enum pl_state).
 *
 * Exit: an atexit flush is registered at that lazy init and again right
 * after libcurl
 * (so OpenSSL) initialised, so that one runs before OpenSSL's own cleanup;
 * the destructor is the backstop. All share one deadline, so the whole
 * exit is held at most OTELPRELOAD_EXIT_TIMEOUT_MS.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../export/export.h"
#include "../runtime/config.h"
#include "../runtime/log.h"
#include "../runtime/queue.h"
#include "../runtime/runtime.h"
#include "../runtime/stack.h"
#include "../hooks/curl_hk.h"
#include "../hooks/pq.h"
#include "guard.h"
#include "real.h"

__thread struct pl_tls pl_tls __attribute__((tls_model("initial-exec")));
int pl_state;
int pl_pid;

static uint64_t exit_deadline;

bool pl_in_vfork_child(void)
{
	return (int)syscall(SYS_getpid) != __atomic_load_n(&pl_pid, __ATOMIC_RELAXED);
}

void pl_mark_exporter_thread(void)
{
	pl_tls.exporter = 1;
}

/*
 * The variables the library reads, copied in one pass over the environment
 * by the constructor: the OTEL_* and OTELPRELOAD_* names and the context
 * carriers (TRACEPARENT, TRACESTATE, BAGGAGE, B3, X_B3_*). Copied, not
 * pointed to: servers such as nginx and PostgreSQL overwrite their
 * environment area to set the process title, and the configuration is
 * parsed later, on the first network call. Lookups search this short table.
 */
#define MAX_VARS 96
#define VARS_BYTES 32768
static const char *vars[MAX_VARS];
static int nvars;
static char vars_buf[VARS_BYTES];

static bool wanted(const char *v)
{
	switch (v[0]) {
	case 'O':
		return strncmp(v, "OTEL", 4) == 0;
	case 'T':
		return strncmp(v, "TRACEPARENT=", 12) == 0 || strncmp(v, "TRACESTATE=", 11) == 0;
	case 'B':
		return strncmp(v, "BAGGAGE=", 8) == 0 || strncmp(v, "B3=", 3) == 0;
	case 'X':
		return strncmp(v, "X_B3_", 5) == 0;
	default:
		return false;
	}
}

static void scan_environ(void)
{
	extern char **environ;
	size_t used = 0;

	nvars = 0;
	for (char **e = environ; e && *e && nvars < MAX_VARS; e++) {
		size_t n;

		if (!wanted(*e))
			continue;
		n = strlen(*e) + 1;
		if (n > VARS_BYTES - used)
			continue;	/* absurdly long: as if unset */
		memcpy(vars_buf + used, *e, n);
		vars[nvars++] = vars_buf + used;
		used += n;
	}
}

static const char *env_get(const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < nvars; i++)
		if (strncmp(vars[i], name, n) == 0 && vars[i][n] == '=')
			return vars[i] + n + 1;
	return NULL;
}

static void flush_until(uint64_t deadline)
{
	int saved = errno;

	ex_flush(deadline);
	errno = saved;
}

/* atexit handler and destructor: flush within the one exit deadline. */
static void exit_flush(void)
{
	uint64_t d;

	if (__atomic_load_n(&pl_state, __ATOMIC_ACQUIRE) != PL_READY || pl_tls.exporter ||
	    pl_in_vfork_child())
		return;
	d = __atomic_load_n(&exit_deadline, __ATOMIC_RELAXED);
	if (!d) {
		d = rt_now_ns() + (uint64_t)rt_cfg.exit_timeout_ms * 1000000ull;
		__atomic_store_n(&exit_deadline, d, __ATOMIC_RELAXED);
	}
	flush_until(d);
	ex_shutdown(d);
	ex_report_drops();
}

/* Called from the exec hooks (not in a vfork child). */
void pl_flush_before_exec(void);
void pl_flush_before_exec(void)
{
	if (__atomic_load_n(&pl_state, __ATOMIC_ACQUIRE) != PL_READY || pl_tls.exporter)
		return;
	flush_until(rt_now_ns() + (uint64_t)rt_cfg.exit_timeout_ms * 1000000ull);
}

static void curl_ready(void)
{
	/* Runs on the exporter thread after curl_global_init: registered
	 * later than OpenSSL's handler, so it runs before OpenSSL's cleanup. */
	atexit(exit_flush);
}

static void start_exporter(void)
{
	ex_start();
}

static void fork_prepare(void)
{
	hk_pq_fork_prepare();
	hk_curl_fork_prepare();
	if (__atomic_load_n(&pl_state, __ATOMIC_ACQUIRE) == PL_READY)
		ex_fork_prepare();
}

static void fork_parent(void)
{
	hk_curl_fork_parent();
	hk_pq_fork_parent();
	if (__atomic_load_n(&pl_state, __ATOMIC_ACQUIRE) == PL_READY)
		ex_fork_parent();
}

static void fork_child(void)
{
	int s = PL_INITIALISING;

	pl_pid = (int)syscall(SYS_getpid);
	hk_pq_fork_child();
	hk_curl_fork_child();
	/* A thread that was initialising did not survive: start over. */
	__atomic_compare_exchange_n(&pl_state, &s, PL_CAPTURED, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&pl_state, __ATOMIC_ACQUIRE) != PL_READY)
		return;
	__atomic_store_n(&exit_deadline, 0, __ATOMIC_RELAXED);
	pl_tls.exporter = 0;
	rt_fork_child();
	ex_fork_child();
}

/*
 * The lazy part of start-up, on the first hook that may observe something:
 * parse the captured environment, set up the process context, wire the
 * exporter. Runs once; a hook that races with it passes through.
 */
bool pl_init_slow(void)
{
	int s = __atomic_load_n(&pl_state, __ATOMIC_ACQUIRE), saved;

	if (s == PL_READY)
		return true;
	if (s == PL_INITIALISING) {
		/* Another thread is initialising: wait for it (microseconds),
		 * so that the connections this thread opens meanwhile are
		 * traced too. Never for ourselves (a signal handler that
		 * interrupted our own initialisation), never unbounded. */
		uint64_t until;

		if (pl_tls.initialising)
			return false;
		until = rt_now_ns() + 200000000ull;
		while ((s = __atomic_load_n(&pl_state, __ATOMIC_ACQUIRE)) == PL_INITIALISING &&
		       rt_now_ns() < until)
			sched_yield();
		return s == PL_READY;
	}
	if (s != PL_CAPTURED || pl_in_vfork_child())
		return false;
	if (!__atomic_compare_exchange_n(&pl_state, &s, PL_INITIALISING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return pl_init_slow();	/* lost the race: wait as above */
	pl_tls.initialising = 1;
	saved = errno;
	rt_config_load(&rt_cfg, env_get);
	if (rt_cfg.disabled) {
		__atomic_store_n(&pl_state, PL_OFF, __ATOMIC_RELEASE);
		pl_tls.initialising = 0;
		errno = saved;
		return false;
	}
	rt_init(env_get);
	/* Stack traces, when configured: libunwind is dlopened here, once,
	 * before any span exists (not from inside a span's end). */
	rt_stack_init();
	rt_queue_set_starter(start_exporter);
	ex_set_hooks(pl_mark_exporter_thread, curl_ready);
	atexit(exit_flush);
	__atomic_store_n(&pl_state, PL_READY, __ATOMIC_RELEASE);
	pl_tls.initialising = 0;
	errno = saved;
	return true;
}

/*
 * The constructor: capture the environment (pointers into the initial
 * environment stay valid whatever the program does with setenv later),
 * remember the pid for the vfork check, and install the fork handler. No
 * thread, no socket, no libcurl, no allocation; the real symbols are
 * resolved on each hook's first call (PL_REAL).
 */
__attribute__((constructor)) static void pl_init(void)
{
	int saved = errno;

	/* What fd 2 is now: a daemon may later close it and reuse the number
	 * for a data file, which must never receive a warning. */
	rt_log_init();
	scan_environ();
	if (rt_config_bool(env_get("OTEL_SDK_DISABLED"))) {
		__atomic_store_n(&pl_state, PL_OFF, __ATOMIC_RELEASE);
		goto out;		/* a pure pass-through */
	}
	pl_pid = (int)syscall(SYS_getpid);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	__atomic_store_n(&pl_state, PL_CAPTURED, __ATOMIC_RELEASE);
out:
	errno = saved;
}

__attribute__((destructor)) static void pl_fini(void)
{
	int saved = errno;

	exit_flush();
	errno = saved;
}
