/*
 * exfd.h - the sockets of the exporter thread while it shares the
 * program's file descriptor table.
 *
 * Normally the exporter has a table of its own (export/exporter.c) and the
 * program cannot reach its fds. Where the kernel refuses that (container
 * seccomp profiles refuse unshare and pidfd_getfd), the program may close
 * the exporter's sockets at any time and get the numbers back from its
 * next open (daemons close every fd). Then every socket the exporter thread
 * creates (its transfer sockets, libcurl's wake-up pair: hooks/socket.c) is
 * recorded here with its identity (device, inode), so that
 *   - before each libcurl step the exporter checks that all of them are
 *     still its own (rt_exfd_intact) and abandons the attempt otherwise;
 *   - a close() on the exporter thread of a recorded number that is no
 *     longer the exporter's file is skipped (rt_exfd_close_ok; libcurl
 *     closes its wake-up pair with plain close()).
 * What remains: a program that closes and reuses a number in the
 * microseconds between that check and libcurl's next read or write.
 *
 * THREADS: the exporter thread only (one at a time), except rt_exfd_live,
 * which the close hook reads on any thread.
 */
#ifndef RT_EXFD_H
#define RT_EXFD_H

#include <stdbool.h>

/* Nonzero while sockets are recorded: close() takes its slow path. */
extern int rt_exfd_live;

/* The exporter shares the program's table: record from now on. */
void rt_exfd_enable(void);

/* A socket the exporter thread just created (no-op unless enabled). */
void rt_exfd_add(int fd);

/* Are all recorded sockets still the ones created? */
bool rt_exfd_intact(void);

/* The exporter thread is about to close fd: false when fd is recorded but
 * is no longer the exporter's (the program's now: do not close it). The
 * record is dropped either way. */
bool rt_exfd_close_ok(int fd);

/* The handles using the recorded sockets are abandoned (never used
 * again): forget every record. */
void rt_exfd_abandon(void);

/* In a fork child: close the inherited copies that are still the
 * exporter's, forget every record. */
void rt_exfd_fork_child(void);

#endif
