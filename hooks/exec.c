/*
 * exec.c - the exec family: flush before the image is replaced (bounded by
 * OTELPRELOAD_EXIT_TIMEOUT_MS) and pass the current context on in the
 * environment (TRACEPARENT/TRACESTATE/BAGGAGE, the OTel environment
 * carrier), so the new program continues the trace.
 *
 * glibc's execl*, execv* call execve internally, not through the PLT, so
 * every entry point is hooked. In a vfork child nothing is touched (the
 * parent's memory is shared): the call passes straight through.
 *
 * daemon() is here for the same reason as exec: the calling process ends
 * inside it (glibc forks and the parent calls _exit, which runs no exit
 * handler), and the daemon, a fork child, discards the spans it inherited.
 * So spans made before daemon() (a lookup of the configuration's host
 * names, say) are flushed first, bounded as before exec.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/context.h"
#include "../runtime/propagation.h"
#include "../runtime/config.h"
#include "../runtime/runtime.h"
#include "hook.h"

extern char **environ;

/* Flush, run at exec (preload/init.c). */
void pl_flush_before_exec(void);

struct envbuf {
	char **env;		/* the new array */
	size_t n;
	size_t cap;
};

/* Is environment entry "NAME=..." the carrier variable for header key? */
static bool carrier_key(const char *entry, const char *key)
{
	char name[32];
	size_t n = rt_env_carrier_name(key, name, sizeof(name));

	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static void env_set(void *carrier, const char *key, const char *val, size_t len)
{
	struct envbuf *e = carrier;
	size_t klen = strlen(key);
	char *s;

	if (e->n + 2 > e->cap)
		return;
	s = malloc(klen + len + 2);
	if (!s)
		return;
	rt_env_carrier_name(key, s, klen + 1);
	s[klen] = '=';
	memcpy(s + klen + 1, val, len);
	s[klen + 1 + len] = 0;
	/* Replace an entry of that name, else append. */
	for (size_t i = 0; i < e->n; i++) {
		if (carrier_key(e->env[i], key)) {
			e->env[i] = s;
			return;
		}
	}
	e->env[e->n++] = s;
	e->env[e->n] = NULL;
}

/*
 * The environment to hand to the new image: envp plus the current context,
 * or NULL when there is nothing to add (then envp is used unchanged). The
 * strings added leak when exec succeeds (the image is gone) and are few
 * when it fails.
 */
static char **prepare(char *const envp[])
{
	struct rt_ctx ctx;
	struct envbuf e;
	size_t n = 0;

	pl_flush_before_exec();
	rt_ctx_current(&ctx);
	/* Only a span of this process is new information: a context that
	 * came from the environment is already in envp. */
	if (!ctx.valid || ctx.remote || !rt_cfg.props.n)
		return NULL;
	while (envp && envp[n])
		n++;
	e.cap = n + 2 * RT_PROP_MAX + 4;
	e.env = malloc(e.cap * sizeof(char *));
	if (!e.env)
		return NULL;
	if (n)
		memcpy(e.env, envp, n * sizeof(char *));
	e.n = 0;
	/* Drop every carrier variable first: a TRACESTATE or X_B3_* of the
	 * inherited context must not travel beside the new TRACEPARENT. */
	for (size_t i = 0; i < n; i++) {
		static const char *const keys[] = { "traceparent", "tracestate", "b3",
						    "x-b3-traceid", "x-b3-spanid",
						    "x-b3-sampled", "x-b3-flags",
						    "x-b3-parentspanid" };
		bool carrier = false;

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && !carrier; k++)
			carrier = carrier_key(envp[i], keys[k]);
		if (!carrier)
			e.env[e.n++] = envp[i];
	}
	e.env[e.n] = NULL;
	rt_prop_inject(&rt_cfg.props, &ctx, rt_process_baggage(), &e, env_set);
	return e.env;
}

/*
 * A vfork child (python's subprocess, posix_spawn through a shell...) runs
 * on the parent's memory: nothing may be allocated, flushed or written
 * there. The environment for the new image is built on this stack instead,
 * with TRACEPARENT (and TRACESTATE) of the span the thread is in, when
 * there is one and tracecontext is configured. Returns false when there is
 * nothing to pass (the caller then execs with envp unchanged).
 */
#define VFORK_ENV_MAX 4096

static bool has_tracecontext(void)
{
	for (uint8_t i = 0; i < rt_cfg.props.n; i++)
		if (rt_cfg.props.list[i] == RT_PROP_TRACECONTEXT)
			return true;
	return false;
}

#define VFORK_ENV(envp, nenv, tpbuf, tsbuf)						\
	size_t n_ = 0, k_ = 0;								\
	struct rt_ctx ctx_;								\
	bool use_ = __atomic_load_n(&pl_state, __ATOMIC_ACQUIRE) == PL_READY &&		\
		    has_tracecontext() && rt_ctx_current_span(&ctx_) && ctx_.valid &&	\
		    !ctx_.remote;							\
	while (use_ && (envp) && (envp)[n_] && n_ < VFORK_ENV_MAX)			\
		n_++;									\
	if (use_ && (envp) && (envp)[n_])						\
		use_ = false;		/* absurdly many variables: leave them */	\
	char *nenv[use_ ? n_ + 3 : 1];							\
	char tpbuf[sizeof("TRACEPARENT=") + 56];					\
	char tsbuf[sizeof("TRACESTATE=") + RT_TRACESTATE_MAX + 1];			\
	if (use_) {									\
		for (size_t i_ = 0; i_ < n_; i_++)					\
			if (!carrier_key((envp)[i_], "traceparent") &&			\
			    !carrier_key((envp)[i_], "tracestate"))			\
				nenv[k_++] = (envp)[i_];				\
		memcpy(tpbuf, "TRACEPARENT=", 12);					\
		rt_traceparent_format(&ctx_, tpbuf + 12);				\
		nenv[k_++] = tpbuf;							\
		if (ctx_.tracestate[0]) {						\
			memcpy(tsbuf, "TRACESTATE=", 11);				\
			memcpy(tsbuf + 11, ctx_.tracestate, strlen(ctx_.tracestate) + 1); \
			nenv[k_++] = tsbuf;						\
		}									\
		nenv[k_] = NULL;							\
	}

HK_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	char **nenv;
	int rc, err;

	if (!hk_enter_checked(PL_FAM_EXEC)) {
		if (pl_in_vfork_child()) {
			VFORK_ENV(envp, venv, tp, ts);
			return PL_REAL(execve)(path, argv, use_ ? venv : envp);
		}
		return PL_REAL(execve)(path, argv, envp);
	}
	nenv = prepare(envp);
	rc = PL_REAL(execve)(path, argv, nenv ? nenv : envp);
	err = errno;
	free(nenv);
	hk_leave(PL_FAM_EXEC);
	errno = err;
	return rc;
}

HK_EXPORT int execv(const char *path, char *const argv[])
{
	char **nenv;
	int rc, err;

	if (!hk_enter_checked(PL_FAM_EXEC)) {
		if (pl_in_vfork_child()) {
			VFORK_ENV(environ, venv, tp, ts);
			if (use_)
				return PL_REAL(execve)(path, argv, venv);
		}
		return PL_REAL(execv)(path, argv);
	}
	nenv = prepare(environ);
	rc = nenv ? PL_REAL(execve)(path, argv, nenv) : PL_REAL(execv)(path, argv);
	err = errno;
	free(nenv);
	hk_leave(PL_FAM_EXEC);
	errno = err;
	return rc;
}

HK_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	char **nenv;
	int rc, err;

	if (!hk_enter_checked(PL_FAM_EXEC)) {
		if (pl_in_vfork_child()) {
			VFORK_ENV(envp, venv, tp, ts);
			return PL_REAL(execvpe)(file, argv, use_ ? venv : envp);
		}
		return PL_REAL(execvpe)(file, argv, envp);
	}
	nenv = prepare(envp);
	rc = PL_REAL(execvpe)(file, argv, nenv ? nenv : envp);
	err = errno;
	free(nenv);
	hk_leave(PL_FAM_EXEC);
	errno = err;
	return rc;
}

HK_EXPORT int execvp(const char *file, char *const argv[])
{
	char **nenv;
	int rc, err;

	if (!hk_enter_checked(PL_FAM_EXEC)) {
		if (pl_in_vfork_child()) {
			VFORK_ENV(environ, venv, tp, ts);
			if (use_)
				return PL_REAL(execvpe)(file, argv, venv);
		}
		return PL_REAL(execvp)(file, argv);
	}
	nenv = prepare(environ);
	rc = nenv ? PL_REAL(execvpe)(file, argv, nenv) : PL_REAL(execvp)(file, argv);
	err = errno;
	free(nenv);
	hk_leave(PL_FAM_EXEC);
	errno = err;
	return rc;
}

HK_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	char **nenv;
	int rc, err;

	if (!hk_enter_checked(PL_FAM_EXEC)) {
		if (pl_in_vfork_child()) {
			VFORK_ENV(envp, venv, tp, ts);
			return PL_REAL(fexecve)(fd, argv, use_ ? venv : envp);
		}
		return PL_REAL(fexecve)(fd, argv, envp);
	}
	nenv = prepare(envp);
	rc = PL_REAL(fexecve)(fd, argv, nenv ? nenv : envp);
	err = errno;
	free(nenv);
	hk_leave(PL_FAM_EXEC);
	errno = err;
	return rc;
}

HK_EXPORT int daemon(int nochdir, int noclose)
{
	if (hk_enter_checked(PL_FAM_EXEC)) {
		pl_flush_before_exec();
		hk_leave(PL_FAM_EXEC);
	}
	return PL_REAL(daemon)(nochdir, noclose);
}

/*
 * The variadic forms collect their arguments and go through the hooks
 * above (each takes the guard itself). argv arrays over STACK_ARGS entries
 * come from malloc; when that fails the call fails with ENOMEM.
 */
static char **collect(const char *arg0, va_list ap, char **stackv, size_t stackn,
		      char *const **envp_out, bool with_env)
{
	va_list cp;
	size_t n = 1;
	char **v;

	va_copy(cp, ap);
	while (va_arg(cp, char *))
		n++;
	va_end(cp);
	v = n + 1 <= stackn ? stackv : malloc((n + 1) * sizeof(char *));
	if (!v)
		return NULL;
	v[0] = (char *)arg0;
	for (size_t i = 1; i <= n; i++)
		v[i] = va_arg(ap, char *);	/* v[n] is the NULL */
	if (with_env)
		*envp_out = va_arg(ap, char *const *);
	return v;
}

#define STACK_ARGS 256

HK_EXPORT int execl(const char *path, const char *arg, ...)
{
	char *stackv[STACK_ARGS], **v;
	va_list ap;
	int rc, err;

	va_start(ap, arg);
	v = collect(arg, ap, stackv, STACK_ARGS, NULL, false);
	va_end(ap);
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	rc = execv(path, v);
	err = errno;
	if (v != stackv)
		free(v);
	errno = err;
	return rc;
}

HK_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *stackv[STACK_ARGS], **v;
	va_list ap;
	int rc, err;

	va_start(ap, arg);
	v = collect(arg, ap, stackv, STACK_ARGS, NULL, false);
	va_end(ap);
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	rc = execvp(file, v);
	err = errno;
	if (v != stackv)
		free(v);
	errno = err;
	return rc;
}

HK_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *stackv[STACK_ARGS], **v;
	char *const *envp = NULL;
	va_list ap;
	int rc, err;

	va_start(ap, arg);
	v = collect(arg, ap, stackv, STACK_ARGS, &envp, true);
	va_end(ap);
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	rc = execve(path, v, envp);
	err = errno;
	if (v != stackv)
		free(v);
	errno = err;
	return rc;
}
