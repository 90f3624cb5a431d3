/*
 * exporter.c - the exporter thread: batching, encoding, transports, flush.
 *
 * DESIGN: started by the first finished span (never in the constructor).
 * Waits on the queue up to OTEL_BSP_SCHEDULE_DELAY, or less when a full
 * batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) is waiting or a flush is asked
 * for; then drains the queue in batches and hands each batch to every
 * configured exporter (otlp, zipkin, file, console). A batch that fails
 * is dropped and counted; the first failure is reported once on stderr.
 *
 * Flush (exit, exec): the caller bumps flush_req and waits on flush_done
 * until its deadline; the thread exports what is queued, cutting any
 * request off at that deadline (ex_cutoff_ns), then acknowledges.
 *
 * FILES: the thread first moves to a file descriptor table of its own
 * (private_fd_table), so the program and the exporter can never reach each
 * other's fds, whatever the program closes or reuses.
 *
 * THREADS: ex_start/ex_flush/ex_fork_child/ex_report_drops run on
 * application threads; the rest on the exporter thread. All signals are
 * blocked on the exporter thread so the host's handlers never run there.
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../runtime/config.h"
#include "../runtime/exfd.h"
#include "../runtime/log.h"
#include "../runtime/queue.h"
#include "../runtime/resource.h"
#include "../runtime/runtime.h"
#include "buf.h"
#include "curl_dl.h"
#include "encode.h"
#include "gzip.h"
#include "http.h"
#include "internal.h"

#define BUF_MAX (64u << 20)		/* hard cap on one encoded batch */
#define STACK_SIZE (1u << 20)

static void (*thread_init_hook)(void);
static void (*curl_ready_hook)(void);

static int state;			/* 0 not started, 1 running, -1 failed */
static uint32_t flush_req;		/* futex words */
static uint32_t flush_done;
static uint64_t flush_deadline;
static bool warned;			/* the one export-failure warning */

static struct rt_resource resource;
static struct ex_buf buf, zbuf;

void ex_set_hooks(void (*thread_init)(void), void (*curl_ready)(void))
{
	thread_init_hook = thread_init;
	curl_ready_hook = curl_ready;
}

static bool flush_pending(void)
{
	return __atomic_load_n(&flush_req, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&flush_done, __ATOMIC_ACQUIRE);
}

uint64_t ex_cutoff_ns(void)
{
	return flush_pending() ? __atomic_load_n(&flush_deadline, __ATOMIC_ACQUIRE) : UINT64_MAX;
}

static void futex_wait(uint32_t *word, uint32_t val, uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake_all(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void ex_sleep_ms(uint32_t ms)
{
	uint64_t end = rt_now_ns() + (uint64_t)ms * 1000000ull;
	uint32_t req = __atomic_load_n(&flush_req, __ATOMIC_ACQUIRE);

	/* Wake early only for a new flush request: its deadline may be
	 * sooner than this sleep's end, and the caller must recompute. */
	for (;;) {
		uint64_t now = rt_now_ns();

		if (now >= end || __atomic_load_n(&flush_req, __ATOMIC_ACQUIRE) != req)
			return;
		futex_wait(&flush_req, req, (end - now) / 1000000ull + 1);
	}
}

bool ex_flushing(void)
{
	return flush_pending();
}

static void fail_once(const char *what, const char *target, const char *why)
{
	rt_warn_once(&warned, "exporting spans %s %s failed (%s); spans are being dropped "
		     "(this is reported once)", what, target, why);
}

void ex_report_drops(void)
{
	uint64_t d = __atomic_load_n(&rt_stats.dropped_queue_full, __ATOMIC_RELAXED) +
		     __atomic_load_n(&rt_stats.dropped_pool_empty, __ATOMIC_RELAXED) +
		     __atomic_load_n(&rt_stats.dropped_export, __ATOMIC_RELAXED);
	uint64_t left = rt_queue_len();

	if (d + left)
		rt_warn_once(&warned, "%llu span(s) were dropped and %llu not exported before exit",
			     (unsigned long long)d, (unsigned long long)left);
}

/* Append data plus a newline to the file with one write under flock, so
 * lines from many processes never interleave. Opened per batch: the
 * application may close any fd at any time. */
static int file_append(const char *path, struct ex_buf *b)
{
	int fd, rc = 0;
	size_t off = 0;

	ex_buf_putc(b, '\n');
	if (b->failed)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -errno;
	flock(fd, LOCK_EX);
	while (off < b->len) {
		ssize_t n = write(fd, b->p + off, b->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	flock(fd, LOCK_UN);
	close(fd);
	return rc;
}

static bool export_otlp(struct rt_span **spans, size_t n, uint64_t deadline)
{
	struct ex_http_req req = {
		.url = rt_cfg.otlp_endpoint,
		.headers = rt_cfg.otlp_headers,
		.ca_file = rt_cfg.otlp_certificate,
		.cert_file = rt_cfg.otlp_client_certificate,
		.key_file = rt_cfg.otlp_client_key,
		.timeout_ms = rt_cfg.otlp_timeout_ms,
		.deadline_ns = deadline,
	};
	char err[256];
	int rc;

	ex_buf_reset(&buf);
	if (rt_cfg.otlp_protocol == RT_OTLP_JSON) {
		rc = ex_otlp_json_encode(&buf, &resource, spans, n);
		req.content_type = "application/json";
		req.resp = EX_RESP_OTLP_JSON;
	} else {
		rc = ex_otlp_proto_encode(&buf, &resource, spans, n);
		req.content_type = "application/x-protobuf";
		req.resp = EX_RESP_OTLP_PROTO;
	}
	if (rc) {
		fail_once("to", rt_cfg.otlp_endpoint, rc == -ENOSYS ? "libcjson1 is not installed"
			  : "encoding failed");
		return false;
	}
	req.body = buf.p;
	req.len = buf.len;
	if (rt_cfg.otlp_gzip && ex_gzip(&zbuf, buf.p, buf.len) == 0) {
		req.gzip = true;
		req.body = zbuf.p;
		req.len = zbuf.len;
	}
	if (ex_http_post(&req, err, sizeof(err)) == 0)
		return true;
	fail_once("to", rt_cfg.otlp_endpoint, err);
	return false;
}

static bool export_zipkin(struct rt_span **spans, size_t n, uint64_t deadline)
{
	struct ex_http_req req = {
		.url = rt_cfg.zipkin_endpoint,
		.content_type = "application/json",
		.timeout_ms = rt_cfg.zipkin_timeout_ms,
		.deadline_ns = deadline,
		.resp = EX_RESP_NONE,
	};
	char err[256];
	int rc;

	ex_buf_reset(&buf);
	rc = ex_zipkin_encode(&buf, &resource, spans, n);
	if (rc) {
		fail_once("to", rt_cfg.zipkin_endpoint, rc == -ENOSYS ? "libcjson1 is not installed"
			  : "encoding failed");
		return false;
	}
	req.body = buf.p;
	req.len = buf.len;
	if (ex_http_post(&req, err, sizeof(err)) == 0)
		return true;
	fail_once("to", rt_cfg.zipkin_endpoint, err);
	return false;
}

static bool export_file(struct rt_span **spans, size_t n)
{
	int rc;

	ex_buf_reset(&buf);
	rc = ex_otlp_json_encode(&buf, &resource, spans, n);
	if (!rc)
		rc = file_append(rt_cfg.file_path, &buf);
	if (rc) {
		fail_once("to the file", rt_cfg.file_path,
			  rc == -ENOSYS ? "libcjson1 is not installed" : strerror(-rc));
		return false;
	}
	return true;
}

static bool export_console(struct rt_span **spans, size_t n)
{
	ex_buf_reset(&buf);
	if (ex_console_encode(&buf, &resource, spans, n) || buf.failed)
		return false;
	rt_stderr_write(buf.p, buf.len);
	return true;
}

static void export_batch(struct rt_span **spans, size_t n)
{
	uint64_t deadline = rt_now_ns() + (uint64_t)rt_cfg.bsp_export_timeout_ms * 1000000ull;
	bool ok = true;

	if (deadline > ex_cutoff_ns())
		deadline = ex_cutoff_ns();
	if (rt_now_ns() >= deadline) {
		ok = false;		/* the flush deadline passed: give up */
	} else {
		if (rt_cfg.exporters & RT_EXP_CONSOLE)
			ok &= export_console(spans, n);
		if (rt_cfg.exporters & RT_EXP_FILE)
			ok &= export_file(spans, n);
		if (rt_cfg.exporters & RT_EXP_OTLP)
			ok &= export_otlp(spans, n, deadline);
		if (rt_cfg.exporters & RT_EXP_ZIPKIN)
			ok &= export_zipkin(spans, n, deadline);
	}
	if (ok)
		RT_STAT_ADD(exported, n);
	else
		RT_STAT_ADD(dropped_export, n);
	rt_pool_put_many(spans, n);
}

static void build_resource(void)
{
	char exe[PATH_MAX], host[256] = "";
	const char *base = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = 0;
		base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	}
	gethostname(host, sizeof(host) - 1);
	rt_resource_build(&resource, rt_cfg.service_name, rt_cfg.resource_attrs, base, host,
			  (int64_t)getpid());
}

/*
 * Give this thread (and the threads libcurl may start from it) a file
 * descriptor table of its own: unshare(CLONE_FILES), then close the copies
 * of the program's fds it starts with (a copy would keep a socket or pipe
 * open after the program closed it). The program may close any fd at any
 * time and get the number back from its next open (daemons close every fd
 * 3..N, or close_range(3, ~0U)): in a shared table, libcurl would then
 * read from, write to, or close (its wake-up pair) the program's new file
 * under the number it had for its own socket. In separate tables that
 * cannot happen; nor can a fork or exec of the program inherit the
 * exporter's sockets. Warnings from this thread reach the program's stderr
 * through a pidfd (runtime/log.c). Every call is probed first without
 * creating an fd in the program's table; when one is missing or refused
 * (old kernels, container seccomp profiles refuse unshare and pidfd_getfd),
 * the thread stays in the shared table and its sockets are guarded as
 * runtime/exfd.h describes.
 */
static void private_fd_table(void)
{
#if defined(SYS_pidfd_getfd) && defined(SYS_pidfd_open) && defined(SYS_close_range)
	int saved = errno;
	long pidfd;

	/* EBADF and EINVAL say the calls exist; close_range of fd
	 * 4294967295 closes nothing. */
	if (syscall(SYS_pidfd_getfd, -1, 0, 0) != -1 || errno != EBADF ||
	    syscall(SYS_pidfd_open, (long)getpid(), ~0L) != -1 || errno != EINVAL ||
	    syscall(SYS_close_range, ~0U, ~0U, 0) != 0 || unshare(CLONE_FILES) != 0) {
		rt_exfd_enable();	/* shared table: guard our sockets */
		errno = saved;
		return;
	}
	/* Raw calls: the hooks must not forget the program's connections. */
	syscall(SYS_close_range, 0U, ~0U, 0);
	pidfd = syscall(SYS_pidfd_open, (long)getpid(), 0L);
	if (pidfd >= 0)
		rt_log_use_pidfd((int)pidfd);	/* else warnings from here are lost */
	errno = saved;
#else
	rt_exfd_enable();
#endif
}

static void *thread_main(void *arg)
{
	struct rt_span **batch;
	uint32_t bsize = rt_cfg.bsp_batch_size ? rt_cfg.bsp_batch_size : 512;
	bool stalled = false;

	(void)arg;
	private_fd_table();
	if (thread_init_hook)
		thread_init_hook();
	build_resource();
	ex_buf_init(&buf, BUF_MAX);
	ex_buf_init(&zbuf, BUF_MAX);
	batch = calloc(bsize, sizeof(*batch));
	if (!batch) {
		rt_warn_once(&warned, "out of memory starting the exporter; spans are dropped");
		__atomic_store_n(&state, -1, __ATOMIC_RELEASE);
		return NULL;
	}
	if (rt_cfg.exporters & (RT_EXP_OTLP | RT_EXP_ZIPKIN)) {
		/* libcurl (and OpenSSL) initialise now, so the atexit flush
		 * registered next runs before their cleanup handlers. */
		if (ex_curl_load() && curl_ready_hook)
			curl_ready_hook();
	}
	for (;;) {
		/* The wake sequence first, then the reasons to stay awake: a
		 * kick after this point makes the wait return at once. */
		uint32_t seq = rt_queue_wake_seq();
		uint32_t req = __atomic_load_n(&flush_req, __ATOMIC_ACQUIRE);
		size_t n, drained = 0;

		if (req == __atomic_load_n(&flush_done, __ATOMIC_ACQUIRE) &&
		    (stalled || rt_queue_len() < bsize))
			rt_queue_wait(seq, rt_cfg.bsp_delay_ms ? rt_cfg.bsp_delay_ms : 1);
		while ((n = rt_queue_pop(batch, bsize)) > 0) {
			drained += n;
			export_batch(batch, n);
			if (n < bsize && !flush_pending())
				break;	/* a partial batch: wait for the timer */
		}
		/* Spans counted but not poppable: a producer was interrupted
		 * between claiming a cell and filling it (a signal handler
		 * that longjmp'ed out of a hook). Sleep rather than spin. */
		stalled = !drained && rt_queue_len() > 0;
		if (req != __atomic_load_n(&flush_done, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&flush_done, req, __ATOMIC_RELEASE);
			futex_wake_all(&flush_done);
		}
	}
	return NULL;
}

void ex_start(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int s = 0, rc, saved = errno;

	if (!__atomic_compare_exchange_n(&state, &s, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	rc = pthread_create(&th, &attr, thread_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		__atomic_store_n(&state, -1, __ATOMIC_RELEASE);
		rt_warn_once(&warned, "cannot start the exporter thread (%s); spans are dropped",
			     strerror(rc));
	}
	errno = saved;
}

void ex_flush(uint64_t deadline_ns)
{
	uint64_t now = rt_now_ns(), margin;
	uint32_t req;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 1)
		return;
	/* The thread stops its work a little before the caller's deadline,
	 * so that it can give up, report, and acknowledge in time: the
	 * caller is never held past deadline_ns. */
	margin = deadline_ns > now ? (deadline_ns - now) / 4 : 0;
	if (margin > 150000000ull)
		margin = 150000000ull;
	__atomic_store_n(&flush_deadline, deadline_ns - margin, __ATOMIC_RELEASE);
	req = __atomic_add_fetch(&flush_req, 1, __ATOMIC_ACQ_REL);
	futex_wake_all(&flush_req);
	rt_queue_kick();
	for (;;) {
		uint32_t done = __atomic_load_n(&flush_done, __ATOMIC_ACQUIRE);

		now = rt_now_ns();
		if ((int32_t)(done - req) >= 0 || now >= deadline_ns)
			return;
		futex_wait(&flush_done, done, (deadline_ns - now) / 1000000ull + 1);
	}
}

void ex_fork_prepare(void)
{
	ex_http_fork_prepare();
}

void ex_fork_parent(void)
{
	ex_http_fork_parent();
}

void ex_shutdown(uint64_t deadline_ns)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 1)
		ex_http_shutdown(deadline_ns);
}

void ex_fork_child(void)
{
	/* The thread is gone in the child; the queue was emptied by the
	 * runtime. The next span starts a new exporter. Buffers, the curl
	 * handle and the resource of the parent's thread are abandoned (the
	 * resource is rebuilt: process.pid changed). */
	__atomic_store_n(&state, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&flush_req, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&flush_done, 0, __ATOMIC_RELAXED);
	memset(&buf, 0, sizeof(buf));
	memset(&zbuf, 0, sizeof(zbuf));
	warned = false;
	ex_http_fork_child();
}
