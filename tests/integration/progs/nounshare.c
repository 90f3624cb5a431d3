/*
 * nounshare.c - run a command the way a container's default seccomp
 * profile would (Docker's refuses unshare without CAP_SYS_ADMIN and
 * pidfd_getfd without CAP_SYS_PTRACE, with EPERM): both calls fail with
 * EPERM for the command and everything it starts; nothing else changes.
 * test_hostile.sh uses it to run the library's shared-fd-table fallback.
 *
 * usage: nounshare CMD [ARGS...]
 * Exits 126 when the filter cannot be installed (unknown architecture,
 * seccomp unavailable), else execs CMD.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

int main(int argc, char **argv)
{
#if defined(ARCH) && defined(SYS_pidfd_getfd)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_getfd, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (argc < 2) {
		fprintf(stderr, "usage: nounshare CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("nounshare: seccomp");
		return 126;
	}
	execvp(argv[1], argv + 1);
	perror("nounshare: exec");
	return 127;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "nounshare: unsupported architecture\n");
	return 126;
#endif
}
