/*
 * chain.c - process chains started while a request is served
 * (test_hostile.sh 4).
 *
 * usage: chain serve PORTFILE BACKEND_PORT OUTDIR
 *        chain leaf NAME BACKEND_PORT [NEXT_NAME]
 *
 * serve: listens, writes its port to PORTFILE, accepts ONE connection and
 * reads one request (its SERVER span S is the thread's current span), and
 * while serving it starts, one after the other, each waited for:
 *   fork      the child makes GET /fork on the backend and exit(0)s
 *   exec      fork, then execv(self, leaf exec ... exec2): GET /exec, then
 *             the leaf execs itself again (leaf exec2): GET /exec2
 *   vfork     vfork, then execv(self, leaf vfork)
 *   spawn     posix_spawn(self, leaf spawn) with environ
 *   daemon    fork; the child makes GET /predaemon, then daemon(0, 0)
 *             (fork again, setsid, chdir /, 0-2 to /dev/null; the
 *             intermediate process _exits inside daemon()); the daemon
 *             makes GET /daemon, writes OUTDIR/daemon.pid, exit(0)s
 * then answers 200 with one line per step, "NAME PID" (the pid that made
 * the step's spans; the daemon's is in OUTDIR/daemon.pid), and exit(0)s.
 *
 * leaf: GET /NAME on the backend; then execv(self, leaf NEXT_NAME) when
 * given, else exit(0).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "tinyhttp.h"

extern char **environ;

static char self[4096];

static int get(int backend, const char *name)
{
	char path[128], body[64];

	snprintf(path, sizeof(path), "/%s", name);
	return th_get(backend, path, body, sizeof(body)) == 200 ? 0 : -1;
}

static int leaf(int argc, char **argv)
{
	int backend = atoi(argv[3]);

	if (get(backend, argv[2]) != 0)
		return 3;
	if (argc > 4) {
		char *nargv[] = { self, "leaf", argv[4], argv[3], NULL };

		execv(self, nargv);
		return 4;
	}
	exit(0);
}

static int reap(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* In a function of its own: nothing of serve()'s frame lives across it. */
static __attribute__((noinline)) pid_t vfork_leaf(char *bstr)
{
	char *nargv[] = { self, "leaf", "vfork", bstr, NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execv(self, nargv);
		_exit(4);
	}
	return pid;
}

static int serve(char **argv)
{
	const char *portfile = argv[2], *outdir = argv[4];
	int backend = atoi(argv[3]), port, lfd, fd, rc;
	char head[TH_HEAD_MAX], body[1024], resp[1400], bstr[16];
	size_t off = 0;
	pid_t pid;

	snprintf(bstr, sizeof(bstr), "%d", backend);
	lfd = th_listen(&port, 4);
	if (lfd < 0 || th_write_port(portfile, port) != 0)
		return 1;
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || th_read_head(fd, head, sizeof(head)) <= 0)
		return 1;
	body[0] = 0;
#define STEP(name, p, status)                                                           \
	off += (size_t)snprintf(body + off, sizeof(body) - off, "%s %d %d\n", name, (int)(p), \
				status)

	/* fork: the child's span, exported by the child. */
	pid = fork();
	if (pid == 0)
		exit(get(backend, "fork") == 0 ? 0 : 3);
	rc = reap(pid);
	STEP("fork", pid, rc);

	/* fork + exec, and an exec from the exec'd image. */
	pid = fork();
	if (pid == 0) {
		char *nargv[] = { self, "leaf", "exec", bstr, "exec2", NULL };

		execv(self, nargv);
		_exit(4);
	}
	rc = reap(pid);
	STEP("exec", pid, rc);

	/* vfork + exec: the hook builds TRACEPARENT on the child's stack. */
	pid = vfork_leaf(bstr);
	rc = reap(pid);
	STEP("vfork", pid, rc);

	/* posix_spawn: glibc execs inside libc. */
	{
		char *nargv[] = { self, "leaf", "spawn", bstr, NULL };

		if (posix_spawn(&pid, self, NULL, NULL, nargv, environ) != 0)
			pid = -1;
		rc = pid > 0 ? reap(pid) : -1;
		STEP("spawn", pid, rc);
	}

	/* daemon(): the intermediate process _exits inside daemon(). */
	pid = fork();
	if (pid == 0) {
		char p[4200];
		FILE *f;

		get(backend, "predaemon");
		if (daemon(0, 0) != 0)
			_exit(5);
		rc = get(backend, "daemon");
		snprintf(p, sizeof(p), "%s/daemon.pid.tmp", outdir);
		f = fopen(p, "w");
		if (f) {
			char q[4200];

			fprintf(f, "%d %d\n", (int)getpid(), rc);
			fclose(f);
			snprintf(q, sizeof(q), "%s/daemon.pid", outdir);
			rename(p, q);
		}
		exit(0);
	}
	rc = reap(pid);
	STEP("daemon-parent", pid, rc);

	snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(body), body);
	th_write_all(fd, resp, strlen(resp));
	close(fd);
	exit(0);
}

int main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return 1;
	self[n] = 0;
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "serve") == 0)
		return serve(argv);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "leaf") == 0)
		return leaf(argc, argv);
	fprintf(stderr, "usage: chain serve PORTFILE BACKEND_PORT OUTDIR | "
			"chain leaf NAME BACKEND_PORT [NEXT]\n");
	return 2;
}
