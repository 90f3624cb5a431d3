/*
 * init.c - the constructor, the destructor, fork handling and the exit
 * flush.
 *
 * DESIGN: the constructor resolves the real symbols, reads the environment
 * and installs fork handlers; it starts no thread, opens no socket and
 * loads no libcurl (a process that never makes a span pays for nothing
 * else). Until it has run, pl_ready is false and every hook passes
 * straight through.
 *
 * Exit: an atexit flush is registered here and again right after libcurl
 * (so OpenSSL) initialised, so that one runs before OpenSSL's own cleanup;
 * the destructor is the backstop. All share one deadline, so the whole
 * exit is held at most OTELPRELOAD_EXIT_TIMEOUT_MS.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../export/export.h"
#include "../runtime/config.h"
#include "../runtime/log.h"
#include "../runtime/queue.h"
#include "../runtime/runtime.h"
#include "guard.h"
#include "real.h"

__thread struct pl_tls pl_tls __attribute__((tls_model("initial-exec")));
bool pl_ready;
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

static const char *env_get(const char *name)
{
	return getenv(name);
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

	if (!pl_ready || pl_tls.exporter || pl_in_vfork_child())
		return;
	d = __atomic_load_n(&exit_deadline, __ATOMIC_RELAXED);
	if (!d) {
		d = rt_now_ns() + (uint64_t)rt_cfg.exit_timeout_ms * 1000000ull;
		__atomic_store_n(&exit_deadline, d, __ATOMIC_RELAXED);
	}
	flush_until(d);
	ex_report_drops();
}

/* Called from the exec hooks (not in a vfork child). */
void pl_flush_before_exec(void);
void pl_flush_before_exec(void)
{
	if (!pl_ready || pl_tls.exporter)
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

static void fork_child(void)
{
	if (!pl_ready)
		return;
	pl_pid = (int)syscall(SYS_getpid);
	__atomic_store_n(&exit_deadline, 0, __ATOMIC_RELAXED);
	pl_tls.exporter = 0;
	rt_fork_child();
	ex_fork_child();
}

__attribute__((constructor)) static void pl_init(void)
{
	int saved = errno;

	rt_log_init();
	pl_real_init();
	rt_config_load(&rt_cfg, env_get);
	if (rt_cfg.disabled)
		goto out;		/* a pure pass-through */
	pl_pid = (int)syscall(SYS_getpid);
	rt_init(env_get);
	rt_queue_set_starter(start_exporter);
	ex_set_hooks(pl_mark_exporter_thread, curl_ready);
	pthread_atfork(NULL, NULL, fork_child);
	atexit(exit_flush);
	__atomic_store_n(&pl_ready, true, __ATOMIC_RELEASE);
out:
	errno = saved;
}

__attribute__((destructor)) static void pl_fini(void)
{
	int saved = errno;

	exit_flush();
	errno = saved;
}
