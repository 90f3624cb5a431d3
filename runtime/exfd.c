/*
 * exfd.c - the exporter's sockets in a shared fd table (see exfd.h).
 *
 * A handful of records (an attempt holds libcurl's wake-up pair and one or
 * two transfer sockets); when full, further sockets are not recorded (the
 * check then covers the first ones only).
 */
#include "exfd.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXFD_MAX 8

int rt_exfd_live;

static bool enabled;
static struct {
	int fd;
	dev_t dev;
	ino_t ino;
} rec[EXFD_MAX];
static int nrec;

static void set_live(void)
{
	__atomic_store_n(&rt_exfd_live, nrec, __ATOMIC_RELEASE);
}

void rt_exfd_enable(void)
{
	enabled = true;
}

void rt_exfd_add(int fd)
{
	struct stat st;
	int saved = errno;

	if (enabled && fd >= 0 && nrec < EXFD_MAX && fstat(fd, &st) == 0) {
		rec[nrec].fd = fd;
		rec[nrec].dev = st.st_dev;
		rec[nrec].ino = st.st_ino;
		nrec++;
		set_live();
	}
	errno = saved;
}

static bool same(int i)
{
	struct stat st;

	return fstat(rec[i].fd, &st) == 0 && st.st_dev == rec[i].dev && st.st_ino == rec[i].ino;
}

bool rt_exfd_intact(void)
{
	int saved = errno;
	bool ok = true;

	for (int i = 0; i < nrec && ok; i++)
		ok = same(i);
	errno = saved;
	return ok;
}

bool rt_exfd_close_ok(int fd)
{
	int saved = errno;
	bool ok = true;

	for (int i = 0; i < nrec; i++) {
		if (rec[i].fd != fd)
			continue;
		ok = same(i);
		rec[i] = rec[--nrec];
		set_live();
		break;
	}
	errno = saved;
	return ok;
}

void rt_exfd_abandon(void)
{
	nrec = 0;
	set_live();
}

void rt_exfd_fork_child(void)
{
	int saved = errno;

	/* Raw close: the child's hooks must not see these as program fds. */
	for (int i = 0; i < nrec; i++)
		if (same(i))
			syscall(SYS_close, rec[i].fd);
	nrec = 0;
	set_live();
	errno = saved;
}
