/*
 * log.c - warnings on stderr, prefixed "otelpreload:".
 *
 * DESIGN: one write(2) per message, formatted into a stack buffer, so lines
 * from several threads or processes do not interleave. fd 2 is written only
 * while it is still the file it was when rt_log_init() ran: a daemon that
 * closed stderr may have reused fd 2 for a socket or a data file, and a
 * warning there would corrupt the application's output.
 *
 * The exporter thread has a file descriptor table of its own (see
 * export/exporter.c): there fd 2 is not the program's stderr. On that
 * thread (rt_log_use_pidfd) every write borrows the program's current fd 2
 * with pidfd_getfd for the one write, then closes the copy: nothing keeps
 * the program's stderr open after the program closed it.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static dev_t err_dev;
static ino_t err_ino;
static bool err_ok;
/* A pidfd of this process, on a thread whose fd table is not the
 * program's; -1 elsewhere. */
static __thread int log_pidfd __attribute__((tls_model("initial-exec"))) = -1;

void rt_log_use_pidfd(int pidfd)
{
	log_pidfd = pidfd;
}

void rt_log_init(void)
{
	struct stat st;

	err_ok = fstat(2, &st) == 0;
	if (err_ok) {
		err_dev = st.st_dev;
		err_ino = st.st_ino;
	}
}

static bool stderr_same(int fd)
{
	struct stat st;

	return err_ok && fstat(fd, &st) == 0 && st.st_dev == err_dev && st.st_ino == err_ino;
}

void rt_stderr_write(const void *buf, unsigned long len)
{
	const char *p = buf;
	int saved = errno, fd = 2;
	bool borrowed = log_pidfd >= 0;

	if (borrowed) {
#ifdef SYS_pidfd_getfd
		fd = (int)syscall(SYS_pidfd_getfd, log_pidfd, 2, 0);
#else
		fd = -1;
#endif
		if (fd < 0)
			goto out;
	}
	if (!stderr_same(fd))
		goto out;
	while (len) {
		/* The raw syscall: never re-enter our own write hook. */
		long n = syscall(SYS_write, fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		len -= (unsigned long)n;
	}
out:
	if (borrowed && fd >= 0)
		syscall(SYS_close, fd);	/* the copy, in this thread's own table */
	errno = saved;
}

static void vwarn(const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "otelpreload: ");

	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	rt_stderr_write(line, (unsigned long)n);
}

void rt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void rt_warn_once(bool *once, const char *fmt, ...)
{
	va_list ap;

	/* Relaxed is enough: a second warning in a race is harmless. */
	if (__atomic_exchange_n(once, true, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}
