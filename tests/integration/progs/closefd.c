/*
 * closefd.c - a daemon-style program that closes every fd while the
 * library's exporter has a request in flight, then reuses the numbers
 * (test_hostile.sh 1).
 *
 * usage: closefd MODE BACKEND_PORT RECEIVER_DIR
 *   MODE  loop   close(3..1023) one by one, then socketpairs take the
 *                freed numbers
 *         range  close_range(3, ~0U, 0), then socketpairs
 *         from   closefrom(3), then socketpairs
 *         tcp    close_range(3, ~0U, 0), then HTTP connections to the
 *                backend take the freed numbers and are used at once
 *
 * The collector (otlp_receiver.py --delay-ms) holds its answers, so the
 * exporter's connection is open while the program works:
 *   1. four GET /before-N to the backend (progs/recorder.py), each on its
 *      own connection; the spans go to the exporter
 *   2. wait until the receiver has stored the exporter's first request
 *      (RECEIVER_DIR/1.json): the exporter now waits for the answer, and
 *      its sockets (TCP + libcurl's wake-up pair) are the only sockets the
 *      program has; note their numbers
 *   3. close everything from 3 up (per MODE)
 *   4. take the freed numbers back at once, lowest first as the kernel
 *      hands them out, until every number the exporter held is the
 *      program's again:
 *        socketpairs: each end is sent a marker by the other end, so it
 *        is readable (bait for a foreign recv) and its identity (dev/ino)
 *        is noted
 *        tcp: connections to the backend; each sends GET /during-FD and
 *        reads its answer
 *   5. GET /after-N (four), which makes the next export; wait until the
 *      receiver has stored a second request (so the attempt that was in
 *      flight at step 3 has ended), bounded
 *   6. check what the program owns: every socketpair end is still the
 *      same socket, holds exactly its marker and nothing else, and no
 *      byte was sent into it by anyone else; every /during answer was
 *      exactly the backend's
 *   7. exit(0) (the exit flush exports the /after spans)
 *
 * At least 8 socketpairs (16 fds) or 4 connections are made even when no
 * exporter socket is visible in the program's table (the library keeps
 * them in a table of its own where the kernel allows): they then take the
 * lowest free numbers, where a shared-table exporter's sockets would be.
 *
 * stdout: "held N: fds..." (the exporter's numbers seen in the program's
 * table: 0 with a private table), "reused N" (how many of them the
 * program got back), "intact N/M", "foreign 0", "result ok"
 * (or "result FAIL ..." lines); exit status 0 only with "result ok".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/stat.h>

#include "tinyhttp.h"

#define MAXFD 1024
#define MAXPAIRS 64

static int backend;
static const char *rdir;
static int failures;

static void fail(const char *fmt, const char *a, long b)
{
	printf("result FAIL ");
	printf(fmt, a, b);
	printf("\n");
	fflush(stdout);
	failures++;
}

static int stored_requests(void)
{
	char p[4096];
	int n = 0;

	for (int i = 1; i < 1000; i++) {
		snprintf(p, sizeof(p), "%s/%d.json", rdir, i);
		if (access(p, F_OK) != 0)
			break;
		n = i;
	}
	return n;
}

/* Poll (50 ms) until the receiver stored at least want requests; bounded. */
static int wait_requests(int want, int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		if (stored_requests() >= want)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* The sockets open in this process now (numbers, ascending). */
static int socket_fds(int *out, int cap)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, dfd = d ? dirfd(d) : -1;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL && n < cap) {
		char p[64], l[128];
		int fd = atoi(e->d_name);
		ssize_t k;

		if (e->d_name[0] == '.' || fd == dfd)
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		k = readlink(p, l, sizeof(l) - 1);
		if (k > 0) {
			l[k] = 0;
			if (strncmp(l, "socket:", 7) == 0)
				out[n++] = fd;
		}
	}
	closedir(d);
	for (int i = 1; i < n; i++)	/* insertion sort, a handful */
		for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
			int t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void gets_n(const char *prefix, int n)
{
	char path[64], body[256];

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/%s-%d", prefix, i);
		if (th_get(backend, path, body, sizeof(body)) != 200)
			fail("GET %s failed (%ld)", path, (long)i);
	}
}

struct pair {
	int fd[2];
	struct stat st[2];
	char marker[2][32];	/* marker[i] is what fd[i] must receive */
};

int main(int argc, char **argv)
{
	static struct pair pairs[MAXPAIRS];
	int held[16], nheld, npairs = 0, reused = 0, intact = 0, checked = 0;
	int tcpfd[16], ntcp = 0;
	struct stat tcpst[16];
	const char *mode;

	if (argc != 4) {
		fprintf(stderr, "usage: closefd loop|range|from|tcp BACKEND_PORT RECEIVER_DIR\n");
		return 2;
	}
	mode = argv[1];
	backend = atoi(argv[2]);
	rdir = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);

	gets_n("before", 4);
	if (wait_requests(1, 15) != 0) {
		fail("the exporter sent nothing to the receiver (%s) in 15 s%ld", rdir, 0);
		return 1;
	}
	/* The request is stored once its body arrived, before the answer
	 * (held by --delay-ms): the exporter's sockets exist now. */
	nheld = socket_fds(held, 16);
	printf("held %d:", nheld);
	for (int i = 0; i < nheld; i++)
		printf(" %d", held[i]);
	printf("\n");
	/* None is the expected case: the exporter keeps its fds in a table
	 * of its own. Then the numbers below are simply the lowest ones. */

	/* 3. close everything. */
	if (strcmp(mode, "loop") == 0) {
		for (int fd = 3; fd < MAXFD; fd++)
			close(fd);
	} else if (strcmp(mode, "from") == 0) {
		closefrom(3);
	} else if (close_range(3, ~0U, 0) != 0) {
		fail("close_range failed%s (errno %ld)", "", (long)errno);
	}

	/* 4. take the numbers back. */
	if (strcmp(mode, "tcp") == 0) {
		while (ntcp < 16 && (ntcp < 4 || reused < nheld)) {
			int fd = th_connect(backend);

			if (fd < 0)
				break;
			tcpfd[ntcp++] = fd;
			for (int k = 0; k < nheld; k++)
				if (held[k] == fd)
					reused++;
		}
		for (int i = 0; i < ntcp; i++) {
			char req[256], buf[4096], *body;
			size_t blen;
			int st;

			snprintf(req, sizeof(req), "GET /during-%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
				 tcpfd[i]);
			if (th_write_all(tcpfd[i], req, strlen(req)) != 0) {
				fail("write /during on fd %s%ld failed", "", (long)tcpfd[i]);
				continue;
			}
			st = th_read_response(tcpfd[i], buf, sizeof(buf), &body, &blen);
			if (st != 200 || blen != 0)
				fail("the answer on fd %s%ld was not the backend's 200", "", (long)tcpfd[i]);
			fstat(tcpfd[i], &tcpst[i]);
		}
	} else {
		while (npairs < MAXPAIRS && (npairs < 8 || reused < nheld)) {
			struct pair *p = &pairs[npairs];

			if (socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd) != 0)
				break;
			npairs++;
			for (int e = 0; e < 2; e++) {
				fstat(p->fd[e], &p->st[e]);
				snprintf(p->marker[e], sizeof(p->marker[e]), "marker-for-fd-%d\n", p->fd[e]);
				for (int k = 0; k < nheld; k++)
					if (held[k] == p->fd[e])
						reused++;
			}
			for (int e = 0; e < 2; e++)
				if (th_write_all(p->fd[1 - e], p->marker[e], strlen(p->marker[e])) != 0)
					fail("marker write to fd %s%ld failed", "", (long)p->fd[1 - e]);
		}
	}
	printf("reused %d\n", reused);

	/* 5. more spans, and the end of the attempt that was in flight. */
	gets_n("after", 4);
	if (wait_requests(2, 20) != 0)
		fail("the receiver got no second request in 20 s (exporter stuck?)%s%ld", "", 0);

	/* 6. is everything still the program's? */
	for (int i = 0; i < ntcp; i++) {
		struct stat st;
		char c;

		checked++;
		if (fstat(tcpfd[i], &st) != 0 || st.st_ino != tcpst[i].st_ino ||
		    st.st_dev != tcpst[i].st_dev) {
			fail("fd %s%ld is no longer the program's connection", "", (long)tcpfd[i]);
			continue;
		}
		fcntl(tcpfd[i], F_SETFL, fcntl(tcpfd[i], F_GETFL) | O_NONBLOCK);
		if (!(read(tcpfd[i], &c, 1) < 0 && errno == EAGAIN)) {
			fail("fd %s%ld: bytes nobody asked for (or EOF)", "", (long)tcpfd[i]);
			continue;
		}
		intact++;
	}
	for (int i = 0; i < npairs; i++) {
		for (int e = 0; e < 2; e++) {
			struct pair *p = &pairs[i];
			struct stat st;
			char buf[4096];
			ssize_t n;
			int fl;

			checked++;
			if (fstat(p->fd[e], &st) != 0 || st.st_ino != p->st[e].st_ino ||
			    st.st_dev != p->st[e].st_dev) {
				fail("fd %s%ld is no longer the program's socket (closed or replaced)", "",
				     (long)p->fd[e]);
				continue;
			}
			fl = fcntl(p->fd[e], F_GETFL);
			fcntl(p->fd[e], F_SETFL, fl | O_NONBLOCK);
			n = read(p->fd[e], buf, sizeof(buf) - 1);
			if (n < 0) {
				fail("fd %s%ld: its marker is gone (someone else read it)", "",
				     (long)p->fd[e]);
				continue;
			}
			buf[n] = 0;
			if ((size_t)n != strlen(p->marker[e]) || memcmp(buf, p->marker[e], (size_t)n) != 0) {
				printf("# fd %d holds %zd byte(s): %.200s\n", p->fd[e], n, buf);
				fail("fd %s%ld does not hold exactly its marker", "", (long)p->fd[e]);
				continue;
			}
			n = read(p->fd[e], buf, sizeof(buf) - 1);
			if (!(n < 0 && errno == EAGAIN)) {
				fail("fd %s%ld holds bytes nobody of the program sent", "", (long)p->fd[e]);
				continue;
			}
			intact++;
		}
	}
	printf("intact %d/%d\n", intact, checked);
	printf("foreign %d\n", checked - intact);
	if (!failures)
		printf("result ok\n");
	fflush(stdout);
	exit(failures ? 1 : 0);
}
