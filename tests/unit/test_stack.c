/*
 * test_stack.c - stack traces (runtime/stack.c): which objects are the
 * application's, which frames are kept, the text of a stack and its caps,
 * a live walk that names a function of this program, and which spans get
 * code.stacktrace / code.function.name.
 *
 * The runtime is linked into this program, so to the walk "this library"
 * is this program: the live walks pass a self that matches no object.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/config.h"
#include "../../runtime/queue.h"
#include "../../runtime/runtime.h"
#include "../../runtime/span.h"
#include "../../runtime/stack.h"

/* ---- objects -------------------------------------------------------------- */

Test(stack, object_kinds)
{
	static const struct {
		const char *path;
		enum rt_frame_kind kind;
	} rows[] = {
		{ "", RT_FRAME_APP },					/* main program */
		{ NULL, RT_FRAME_APP },
		{ "/usr/local/bin/backend", RT_FRAME_APP },
		{ "/lib/x86_64-linux-gnu/libc.so.6", RT_FRAME_LIB },
		{ "/lib64/ld-linux-x86-64.so.2", RT_FRAME_LIB },
		{ "/usr/lib/x86_64-linux-gnu/libpq.so.5", RT_FRAME_LIB },
		{ "/usr/lib/x86_64-linux-gnu/libcurl.so.4", RT_FRAME_LIB },
		{ "/usr/lib/x86_64-linux-gnu/libcurl-gnutls.so.4", RT_FRAME_LIB },
		{ "/usr/lib/x86_64-linux-gnu/libssl.so.3", RT_FRAME_LIB },
		{ "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", RT_FRAME_LIB },
		{ "libpthread.so.0", RT_FRAME_LIB },			/* no directory */
		{ "/lib/x86_64-linux-gnu/libnss_dns.so.2", RT_FRAME_LIB },
		{ "/usr/lib/gcc/x86_64-linux-gnu/12/libasan.so", RT_FRAME_LIB },	/* its */
		{ "/usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.asan-x86_64.so",
		  RT_FRAME_LIB },					/* interceptors */
		{ "/usr/lib/python3.11/lib-dynload/_socket.cpython-311-x86_64-linux-gnu.so",
		  RT_FRAME_APP },					/* the interpreter's */
		{ "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", RT_FRAME_APP },
		{ "/opt/app/lib/libcustomer.so", RT_FRAME_APP },	/* "libc" + more */
		{ "/opt/app/libcrypto-helpers.so", RT_FRAME_APP },	/* not libcrypto.so */
		{ "/opt/libc.so.6/app", RT_FRAME_APP },		/* the file name counts */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_expect_eq(rt_stack_obj_kind(rows[i].path), rows[i].kind, "%s",
			     rows[i].path ? rows[i].path : "(null)");
}

/* ---- the filter ----------------------------------------------------------- */

#define S RT_FRAME_SELF
#define L RT_FRAME_LIB
#define A RT_FRAME_APP

/* kinds innermost first, as a walk offers them; want: '1' kept, '0' not. */
static void filter_case(const char *what, const enum rt_frame_kind *kinds, size_t n,
			unsigned max, const char *want, bool want_more)
{
	struct rt_stack_filter f = { .max = max };
	char got[64];

	for (size_t i = 0; i < n; i++)
		got[i] = rt_stack_keep(&f, kinds[i]) ? '1' : '0';
	got[n] = 0;
	cr_expect_str_eq(got, want, "%s", what);
	cr_expect_eq(f.more, want_more, "%s: more", what);
}

#define FILTER(what, max, want, more, ...)						\
	do {										\
		const enum rt_frame_kind k_[] = { __VA_ARGS__ };			\
		filter_case(what, k_, sizeof(k_) / sizeof(k_[0]), max, want, more);	\
	} while (0)

Test(stack, filter_drops_ours_then_the_callee_library)
{
	/* PQexec hook: our frames, then the program. */
	FILTER("hook called by the program", 32, "000111", false, S, S, S, A, A, L);
	/* recv hook called by libcurl called by the program. */
	FILTER("hook inside libcurl", 32, "00001110", false, S, S, L, L, A, A, L, S);
	/* Library frames after the first application frame are kept. */
	FILTER("libc frames below main", 32, "0111", false, S, A, L, L);
	/* A hook on the stack twice (an application callback called from
	 * inside curl_easy_perform): ours dropped everywhere. */
	FILTER("ours twice", 32, "0010101", false, S, L, A, S, L, S, A);
	/* Nothing of the application's: nothing kept. */
	FILTER("only libraries", 32, "0000", false, S, L, L, L);
	/* The frame cap: the rest is left out, and said to be. */
	FILTER("cap", 2, "01100", true, S, A, A, A, A);
	/* code.function.name: the first application frame only. */
	FILTER("one frame", 1, "0010", true, S, L, A, A);
}

/* ---- the text ------------------------------------------------------------- */

Test(stack, text_lines)
{
	char buf[512];
	struct rt_stack_text t;
	size_t len;

	rt_stack_text_init(&t, buf, sizeof(buf));
	cr_assert(rt_stack_put(&t, "load_report", 0x23, "/srv/backend", 0x1478));
	cr_assert(rt_stack_put(&t, NULL, 0x99, "/lib/x86_64-linux-gnu/libc.so.6", 0x2724a));
	cr_assert(rt_stack_put(&t, "jitted", 0, NULL, 0x7f0000001000ul));
	cr_assert(rt_stack_put(&t, NULL, 0, NULL, 0x1234));
	len = rt_stack_text_end(&t);
	cr_assert_str_eq(buf, "at load_report+0x23 (/srv/backend+0x1478)\n"
			      "at ?? (/lib/x86_64-linux-gnu/libc.so.6+0x2724a)\n"
			      "at jitted (0x7f0000001000)\n"
			      "at ?? (0x1234)");
	cr_assert_eq(len, strlen(buf));
	cr_assert_eq(t.frames, 4);
}

Test(stack, text_byte_cap_stops_at_a_line_and_says_so)
{
	char buf[64];
	struct rt_stack_text t;
	size_t len;

	rt_stack_text_init(&t, buf, sizeof(buf));
	cr_assert(rt_stack_put(&t, "first", 1, "/a", 2));		/* 19 bytes */
	cr_assert(rt_stack_put(&t, "second", 3, "/b", 4));		/* 21 more */
	cr_assert(!rt_stack_put(&t, "third_one_is_too_long", 5, "/c", 6));
	cr_assert(!rt_stack_put(&t, "x", 0, "/d", 0), "full stays full");
	len = rt_stack_text_end(&t);
	cr_assert_str_eq(buf, "at first+0x1 (/a+0x2)\nat second+0x3 (/b+0x4)\n...");
	cr_assert_eq(len, strlen(buf));
	cr_assert(len < sizeof(buf));
}

Test(stack, text_a_line_longer_than_the_buffer)
{
	char buf[16];
	struct rt_stack_text t;

	rt_stack_text_init(&t, buf, sizeof(buf));
	cr_assert(!rt_stack_put(&t, "a_rather_long_function_name", 1, "/obj", 2));
	cr_assert_eq(rt_stack_text_end(&t), 0, "no frame: no ellipsis either");
	cr_assert_str_eq(buf, "");
}

Test(stack, text_fit_cuts_at_a_line)
{
	static const char whole[] = "at a+0x1 (/x+0x1)\nat b+0x2 (/x+0x2)\nat c+0x3 (/x+0x3)";
	char buf[sizeof(whole)];
	size_t n;

	memcpy(buf, whole, sizeof(whole));
	cr_assert_eq(rt_stack_text_fit(buf, strlen(buf), 1000), strlen(whole), "fits: as is");
	cr_assert_str_eq(buf, whole);
	/* Room for two lines and the ellipsis (17 + 1 + 17 + 4 = 39). */
	n = rt_stack_text_fit(buf, strlen(buf), 39);
	cr_assert_str_eq(buf, "at a+0x1 (/x+0x1)\nat b+0x2 (/x+0x2)\n...");
	cr_assert_eq(n, 39);
	memcpy(buf, whole, sizeof(whole));
	n = rt_stack_text_fit(buf, strlen(buf), 38);
	cr_assert_str_eq(buf, "at a+0x1 (/x+0x1)\n...");
	cr_assert_eq(n, strlen(buf));
	memcpy(buf, whole, sizeof(whole));
	cr_assert_eq(rt_stack_text_fit(buf, strlen(buf), 20), 0, "not one line fits");
	cr_assert_eq(rt_stack_text_fit(buf, strlen(buf), 3), 0);
}

/* ---- live walks ----------------------------------------------------------- */

static const char *const no_self = "matches no object";

static const char *env_rows[8][2];

static const char *table_env(const char *n)
{
	for (int i = 0; i < 8 && env_rows[i][0]; i++)
		if (strcmp(env_rows[i][0], n) == 0)
			return env_rows[i][1];
	return NULL;
}

/* Load the configuration from name/value pairs (NULL-terminated) and set
 * the stack feature up from it. */
static void configure(const char *const *kv)
{
	int i = 0;

	for (; kv && kv[2 * i] && i < 7; i++) {
		env_rows[i][0] = kv[2 * i];
		env_rows[i][1] = kv[2 * i + 1];
	}
	env_rows[i][0] = NULL;
	rt_config_load(&rt_cfg, table_env);
	rt_init(table_env);
	rt_queue_reset_for_tests();
	rt_stack_init();
}

static void teardown(void)
{
	rt_queue_reset_for_tests();
}

__attribute__((noinline)) static unsigned stack_probe_target(char *buf, size_t cap, char *fn,
							     size_t fncap)
{
	struct rt_stack_text t;
	unsigned n;

	rt_stack_text_init(&t, buf, cap);
	n = rt_stack_walk(&t, fn, fncap, no_self);
	rt_stack_text_end(&t);
	/* Something after the call: no tail call, the frame stays. */
	__asm__ volatile("" ::: "memory");
	return n;
}

Test(stack, live_walk_names_this_programs_function, .fini = teardown)
{
	char buf[RT_STACK_TEXT_MAX], fn[RT_STACK_NAME_MAX];
	unsigned n;

	configure((const char *[]){ "OTELPRELOAD_CODE_ATTRIBUTES", "true", NULL });
	n = stack_probe_target(buf, sizeof(buf), fn, sizeof(fn));
	cr_assert_gt(n, 2);
	cr_assert(strstr(buf, "at stack_probe_target+0x") != NULL, "%s", buf);
	cr_assert(strstr(buf, "at stack_probe_target+0x") > buf, "%s", buf);
	/* The first frame kept is the walker's own caller frame here (this
	 * program is not "ours" in this walk): fn names it as line 1 does. */
	if (fn[0]) {
		cr_assert(strncmp(buf + 3, fn, strlen(fn)) == 0, "%s / %s", fn, buf);
		cr_assert_eq(buf[3 + strlen(fn)], '+');
	} else {
		cr_assert(strncmp(buf, "at ?? (", 7) == 0, "%s", buf);
	}
	/* One line per frame, all of the same shape. */
	for (const char *l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		cr_assert(strncmp(l, "at ", 3) == 0 || strncmp(l, "...", 3) == 0, "%s", l);
}

/* Threads walking at once share the name cache: every walk still names
 * the frame right. */
static void *walker(void *arg)
{
	char buf[RT_STACK_TEXT_MAX], fn[RT_STACK_NAME_MAX];
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 300; i++) {
		stack_probe_target(buf, sizeof(buf), fn, sizeof(fn));
		bad += strstr(buf, "at stack_probe_target+0x") == NULL;
	}
	return (void *)bad;
}

Test(stack, concurrent_walks, .fini = teardown)
{
	pthread_t th[4];
	void *bad;

	configure((const char *[]){ "OTELPRELOAD_CODE_ATTRIBUTES", "true", NULL });
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, walker, NULL), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pthread_join(th[i], &bad), 0);
		cr_expect_null(bad, "thread %d: %ld walks without the name", i, (long)bad);
	}
}

Test(stack, live_walk_without_libunwind_still_walks, .fini = teardown)
{
	char buf[RT_STACK_TEXT_MAX], fn[RT_STACK_NAME_MAX];

	/* rt_stack_init loads once per process; this suite forks per test,
	 * so here libunwind was never asked for. */
	configure((const char *[]){ "OTELPRELOAD_STACK_ON_ERROR", "true", "OTELPRELOAD_LIBUNWIND",
				    "/nonexistent/libunwind.so.8", NULL });
	cr_assert_gt(stack_probe_target(buf, sizeof(buf), fn, sizeof(fn)), 2);
	cr_assert(strstr(buf, "at ") == buf, "%s", buf);
}

Test(stack, live_walk_only_the_function, .fini = teardown)
{
	char fn[RT_STACK_NAME_MAX];

	configure((const char *[]){ "OTELPRELOAD_CODE_ATTRIBUTES", "true", NULL });
	strcpy(fn, "junk");
	cr_assert_eq(rt_stack_walk(NULL, fn, sizeof(fn), no_self), 1);
	cr_assert_neq(strcmp(fn, "junk"), 0);
	cr_assert_eq(rt_stack_walk(NULL, NULL, 0, no_self), 0, "nothing asked");
	/* A walk where all of this program is "ours": the first application
	 * frame is Criterion's, and exported (dladdr names it). */
	cr_assert_eq(rt_stack_walk(NULL, fn, sizeof(fn), NULL), 1);
	cr_assert(fn[0]);
}

/* ---- spans ---------------------------------------------------------------- */

/* End a CLIENT span after ms milliseconds (by its start time). */
static struct rt_span *ended(enum rt_kind kind, unsigned ms, bool error, const char *attr)
{
	struct rt_span *sp = rt_span_start("op", kind, NULL, 0);
	uint64_t end;

	cr_assert_not_null(sp);
	if (attr)
		rt_span_set_cstr(sp, attr, "x");
	if (error)
		rt_span_set_status(sp, RT_STATUS_ERROR, NULL);
	end = sp->start_ns + (uint64_t)ms * 1000000u;
	rt_span_end(sp, end);
	return sp;	/* still readable: queued, not yet exported */
}

static bool has(const struct rt_span *sp, const char *key)
{
	return rt_span_attr(sp, key) != NULL;
}

Test(stack, off_by_default, .fini = teardown)
{
	configure(NULL);
	cr_assert_eq(rt_stack_mode, 0);
	cr_assert(!has(ended(RT_KIND_CLIENT, 5000, true, "db.system.name"), "code.stacktrace"));
	cr_assert(!has(ended(RT_KIND_CLIENT, 5000, true, "db.system.name"), "code.function.name"));
}

Test(stack, threshold_slow_and_error_spans, .fini = teardown)
{
	const struct rt_attr *a;
	struct rt_span *sp;

	configure((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "100", NULL });
	cr_assert_eq(rt_stack_mode, RT_STACK_SLOW | RT_STACK_ERROR);
	sp = ended(RT_KIND_CLIENT, 150, false, NULL);
	a = rt_span_attr(sp, "code.stacktrace");
	cr_assert_not_null(a, "slow");
	cr_assert(a->len > 3 && strncmp(a->s, "at ", 3) == 0, "%.*s", a->len, a->s);
	cr_assert(has(ended(RT_KIND_CLIENT, 100, false, NULL), "code.stacktrace"), "at the threshold");
	cr_assert(!has(ended(RT_KIND_CLIENT, 99, false, NULL), "code.stacktrace"), "fast");
	cr_assert(has(ended(RT_KIND_CLIENT, 0, true, NULL), "code.stacktrace"), "fast, but failed");
	cr_assert(!has(ended(RT_KIND_SERVER, 5000, true, NULL), "code.stacktrace"), "server");
	cr_assert(!has(ended(RT_KIND_CLIENT, 5000, true, "db.system.name"), "code.function.name"),
		  "no function without OTELPRELOAD_CODE_ATTRIBUTES");
}

Test(stack, on_error_only, .fini = teardown)
{
	configure((const char *[]){ "OTELPRELOAD_STACK_ON_ERROR", "true", NULL });
	cr_assert_eq(rt_stack_mode, RT_STACK_ERROR);
	cr_assert(!has(ended(RT_KIND_CLIENT, 60000, false, NULL), "code.stacktrace"));
	cr_assert(has(ended(RT_KIND_CLIENT, 1, true, NULL), "code.stacktrace"));
}

Test(stack, code_attributes_on_db_and_http_client_spans, .fini = teardown)
{
	configure((const char *[]){ "OTELPRELOAD_CODE_ATTRIBUTES", "true", NULL });
	cr_assert_eq(rt_stack_mode, RT_STACK_FUNC);
	/* The walk sees this program as ours, so the first "application"
	 * frame is Criterion's: a name, whatever it is. */
	cr_assert(has(ended(RT_KIND_CLIENT, 1, false, "db.system.name"), "code.function.name"));
	cr_assert(has(ended(RT_KIND_CLIENT, 1, false, "http.request.method"), "code.function.name"));
	cr_assert(has(ended(RT_KIND_CLIENT, 1, false, "url.full"), "code.function.name"));
	cr_assert(!has(ended(RT_KIND_CLIENT, 1, false, "dns.question.name"), "code.function.name"),
		  "a DNS span is neither");
	cr_assert(!has(ended(RT_KIND_SERVER, 1, false, "http.request.method"), "code.function.name"));
	cr_assert(!has(ended(RT_KIND_CLIENT, 60000, true, "db.system.name"), "code.stacktrace"),
		  "no stacks without a threshold or STACK_ON_ERROR");
}

Test(stack, stack_respects_the_arena_and_value_limit, .fini = teardown)
{
	const struct rt_attr *a;
	struct rt_span *sp;
	char big[2900];
	size_t room;

	configure((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "0", NULL });
	/* A span whose arena is nearly full: the stack is cut at a line. */
	sp = rt_span_start("op", RT_KIND_CLIENT, NULL, 0);
	memset(big, 'q', sizeof(big));
	rt_span_set_str(sp, "db.query.text", big, sizeof(big));
	room = RT_SPAN_ARENA - 1 - sp->arena_used;
	cr_assert_lt(room, 200);
	rt_span_end(sp, 0);
	a = rt_span_attr(sp, "code.stacktrace");
	cr_assert_not_null(a);
	cr_assert_leq(a->len, room);
	cr_assert(strncmp(a->s, "at ", 3) == 0, "%.*s", a->len, a->s);
	cr_assert(a->len > 4 && strcmp(a->s + a->len - 4, "\n...") == 0, "%.*s", a->len, a->s);
	cr_assert_eq(sp->dropped_attrs, 0);

	/* A value-length limit: likewise. */
	configure((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "0",
				    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200", NULL });
	sp = ended(RT_KIND_CLIENT, 1, false, NULL);
	a = rt_span_attr(sp, "code.stacktrace");
	cr_assert_not_null(a);
	cr_assert_leq(a->len, 200);
	cr_assert(a->len > 4 && strcmp(a->s + a->len - 4, "\n...") == 0, "%.*s", a->len, a->s);
}

Test(stack, errno_is_kept, .fini = teardown)
{
	configure((const char *[]){ "OTELPRELOAD_STACK_THRESHOLD_MS", "0",
				    "OTELPRELOAD_CODE_ATTRIBUTES", "true", NULL });
	errno = ECONNRESET;
	ended(RT_KIND_CLIENT, 1, true, "db.system.name");
	cr_assert_eq(errno, ECONNRESET);
}
