/*
 * log.h - the library's only voice: short warnings on stderr, prefixed
 * "otelpreload:". Never writes when fd 2 is no longer the stream it was at
 * start-up (a daemon may have closed it and reused the number for a socket).
 */
#ifndef RT_LOG_H
#define RT_LOG_H

#include <stdbool.h>

/* Remember what fd 2 is now; call once at init (and in a fork child). */
void rt_log_init(void);

/* Write "otelpreload: <msg>\n" to stderr with one write(2). Async-signal
 * safe when fmt has no conversions; never blocks for long (best effort). */
void rt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Like rt_warn, but only the first call with the same *once flag speaks. */
void rt_warn_once(bool *once, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* On the calling thread only: its fd table is not the program's, reach the
 * program's fd 2 through this pidfd of the process (export/exporter.c). */
void rt_log_use_pidfd(int pidfd);

/* Write raw bytes to stderr (console exporter), same fd-2 check. */
void rt_stderr_write(const void *buf, unsigned long len);

#endif
