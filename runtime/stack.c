/*
 * stack.c - code.stacktrace and code.function.name for CLIENT spans: the
 * application's frames at the moment a span ends.
 *
 * DESIGN
 * When: rt_span_end() calls rt_stack_span_end() for a recording span when
 * rt_stack_mode is not 0 (one branch otherwise). Only CLIENT spans: a
 * client span ends while the application is still inside the call that
 * made it (PQexec returning, curl_easy_perform returning, recv reading the
 * response), so the stack says where the application made that call. A
 * SERVER span ends when its response has been written: that stack would
 * show where the response was written (in an event loop, nothing of the
 * request), not what was slow, so server spans get none.
 *   code.stacktrace: a span that ends with status Error (RT_STACK_ERROR),
 *     or lasted at least OTELPRELOAD_STACK_THRESHOLD_MS (RT_STACK_SLOW).
 *   code.function.name: database and HTTP client spans (a span with
 *     db.system.name, http.request.method or url.full) with
 *     OTELPRELOAD_CODE_ATTRIBUTES=true (RT_STACK_FUNC): the name of the
 *     first application frame. code.file.path is not recorded: there are
 *     no line tables here, and an object's path is not a source file.
 *
 * Which frames: walking from the innermost, frames in this library are
 * dropped wherever they are (a hook can be on the stack twice: an
 * application callback that libcurl called from inside curl_easy_perform);
 * frames in the library that implements the intercepted call (libc,
 * libpq, libcurl, libssl, ld.so and the like: rt_stack_obj_kind) are
 * dropped until the first frame of anything else, the application's.
 * From there on every frame is kept (main's caller in libc too), up to
 * RT_STACK_MAX_FRAMES frames and RT_STACK_TEXT_MAX bytes, and never more
 * than the span's arena has room for: the text is cut at a line boundary
 * and ends with "..." then. The format is in stack.h. For an interpreter
 * (python, node) the application frames are the interpreter's own. A
 * function that tail-calls the intercepted function has no frame left.
 *
 * How: libunwind (libunwind.so.8, the non-GNU one, x86_64), dlopened
 * RTLD_LAZY|RTLD_LOCAL by rt_stack_init(): never a DT_NEEDED, whose
 * _Unwind_* exports would rebind C++ exception handling in the host
 * (FIELD-NOTES 1). The walk is unw_backtrace(): libunwind's per-thread
 * cache of frame layouts makes a walk of a known stack cost tens of
 * nanoseconds with no lock and no system call (measured: 56 ns for 11
 * frames, against 3.5 us for glibc backtrace() and 7.5 us for a loop of
 * unw_step(), whose global cache lock costs two sigprocmask calls a
 * frame). It unwinds with .eh_frame, so code built without frame
 * pointers unwinds too, and it stops after RT_STACK_MAX_STEPS frames.
 * Names, for the frames kept only: the cache below, else dladdr() (the
 * exported symbols, no file access), else unw_get_proc_name() (reads the
 * object's .symtab: static functions of a non-stripped program), which
 * needs a cursor on the frame: one unw_step() walk resolves every such
 * frame of the stack. Its answer is accepted only when the symbol starts
 * where the frame's function does (libunwind takes the nearest symbol
 * below, which in a stripped object is some other function). Every answer
 * is cached by address, so a call site seen before costs no look-up.
 * Without libunwind (OTELPRELOAD_LIBUNWIND=none, or it does not load):
 * glibc backtrace() (libgcc's unwinder) and dladdr() names only.
 *
 * Loading happens once, in rt_stack_init(), called from the lazy
 * initialisation (pl_init_slow) and only when the feature is on: not from
 * inside a span's end, where the thread might hold a lock the loader
 * needs. The warm-up walk there also makes libunwind do its one-time
 * set-up (it creates a pipe, O_CLOEXEC, to validate memory with, and
 * keeps it) and glibc load libgcc_s for backtrace().
 *
 * THREADS: rt_stack_span_end() may run on any thread at once. The name
 * cache is a seqlock per entry: a writer that finds an entry busy does not
 * wait (it just does not cache), a reader that sees a write in progress
 * treats it as a miss. A thread never walks inside its own walk (a hook
 * that libunwind's file access runs, or a signal handler): IE TLS flag.
 *
 * COST, on: see make bench. The first walk on a thread makes libunwind
 * set up that thread's cache (a thread-specific key, its dynamic TLS: an
 * allocation) and a frame layout not seen before takes libunwind's global
 * lock (signals blocked while held). A name not cached reads
 * /proc/self/maps and maps the object file (libunwind). Stack: about
 * 9 KiB of the calling thread's (measured: the deepest point of a failing
 * PQexec went from 9.4 KiB to 18 KiB; 12.6 KiB with backtrace()).
 */
#include "stack.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

uint8_t rt_stack_mode;

static uint64_t slow_ns;		/* RT_STACK_SLOW: the threshold */
static const void *self_lm;		/* this library's link_map */
static uintptr_t self_text[2];		/* [start, end) of its code, when known */
static char exe_path[1024];		/* the main program (its l_name is "") */

/* A thread inside a walk: no second one (see THREADS). */
static __thread uint8_t in_walk __attribute__((tls_model("initial-exec")));

/* ---- libunwind, declared here (no build dependency on its headers) ------ */

#if defined(__x86_64__)
/*
 * libunwind 1.6 x86_64, local address space (the _UL prefix): unw_word_t
 * is uint64_t, unw_context_t is ucontext_t, unw_cursor_t is
 * UNW_TDEP_CURSOR_LEN (127) words, UNW_REG_IP is UNW_X86_64_RIP (16), and
 * unw_proc_info_t starts with start_ip. unw_getcontext is a macro for the
 * exported _Ux86_64_getcontext; unw_backtrace has no prefix.
 */
#define UNW_CURSOR_WORDS 127
#define UNW_REG_IP 16

struct unw_cursor {
	uint64_t opaque[UNW_CURSOR_WORDS];
};

union unw_proc_info {
	uint64_t start_ip;		/* the first field */
	uint64_t room[16];		/* the whole struct is 9 words in 1.6 */
};

static struct {
	int (*backtrace)(void **ips, int size);
	int (*getcontext)(ucontext_t *uc);
	int (*init_local)(struct unw_cursor *c, ucontext_t *uc);
	int (*step)(struct unw_cursor *c);
	int (*get_reg)(struct unw_cursor *c, int reg, uint64_t *val);
	int (*get_proc_name)(struct unw_cursor *c, char *buf, size_t len, uint64_t *off);
	int (*get_proc_info)(struct unw_cursor *c, union unw_proc_info *pi);
} unw;
static bool have_unw;			/* every pointer above is set */

/* Threads inside libunwind now. A fork child in which one was cannot use
 * libunwind: its locks may be held by a thread the child does not have. */
static int unw_walkers;
#endif

/* glibc >= 2.35: the lock-free look-up of the object at an address
 * (struct dl_find_object, with room to spare). Looked up with dlsym so
 * that the library does not need glibc 2.35. */
struct find_object {
	unsigned long long flags;
	void *map_start;
	void *map_end;
	struct link_map *link_map;
	void *eh_frame;
	unsigned long long reserved[8];
};
static int (*find_object_fn)(void *pc, struct find_object *out);

/* ---- which objects are whose -------------------------------------------- */

/*
 * Libraries the hooks intercept calls into, and what those run on: a
 * frame in one of them before the first application frame is the callee
 * side of the call that ended the span. Prefixes of the file name. The
 * sanitizer runtimes (a program run with libasan preloaded) are there too:
 * their interceptors stand between the program's call and the hook.
 */
static const char *const lib_names[] = {
	"libc.so", "libc-", "libpthread", "libdl.so", "libresolv", "libnss_", "ld-linux",
	"ld-musl", "libpq.so", "libcurl", "libssl.so", "libcrypto.so", "libgnutls",
	"libnghttp2", "libssh", "libgssapi", "libldap", "libgcc_s", "libunwind",
	"libasan.so", "libtsan.so", "libclang_rt.",
};

enum rt_frame_kind rt_stack_obj_kind(const char *path)
{
	const char *base;

	if (!path || !*path)
		return RT_FRAME_APP;		/* the main program */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(lib_names) / sizeof(lib_names[0]); i++)
		if (strncmp(base, lib_names[i], strlen(lib_names[i])) == 0)
			return RT_FRAME_LIB;
	return RT_FRAME_APP;
}

/* The kind of each object, remembered: one word per entry, the link_map
 * pointer (8-aligned) with kind + 1 in its low bits. */
#define KIND_CACHE 32
static uintptr_t kind_cache[KIND_CACHE];

static enum rt_frame_kind lm_kind(const struct link_map *lm, const char *path)
{
	uintptr_t *e = &kind_cache[((uintptr_t)lm >> 4) % KIND_CACHE];
	/* Relaxed: one self-contained word; a stale miss only costs time. */
	uintptr_t v = __atomic_load_n(e, __ATOMIC_RELAXED);
	enum rt_frame_kind k;

	if (v && (v & ~(uintptr_t)7) == (uintptr_t)lm)
		return (enum rt_frame_kind)((v & 7) - 1);
	k = lm->l_name && lm->l_name[0] ? rt_stack_obj_kind(path) : RT_FRAME_APP;
	if (((uintptr_t)lm & 7) == 0)
		__atomic_store_n(e, (uintptr_t)lm | (uintptr_t)(k + 1), __ATOMIC_RELAXED);
	return k;
}

/* The path shown for an object: the main program's l_name is "". */
static const char *lm_path(const struct link_map *lm)
{
	return lm->l_name && lm->l_name[0] ? lm->l_name : exe_path;
}

/* The object at pc: its link_map, path (exe_path for the main program)
 * and load bias. False when pc is in no object. */
struct obj {
	const struct link_map *lm;
	const char *path;
	uintptr_t bias;
};

static bool find_obj(uintptr_t pc, struct obj *o)
{
	struct link_map *lm = NULL;

	if (find_object_fn) {
		struct find_object fo;

		if (find_object_fn((void *)pc, &fo) != 0)
			return false;
		lm = fo.link_map;
	} else {
		Dl_info di;

		if (!dladdr1((void *)pc, &di, (void **)&lm, RTLD_DL_LINKMAP))
			return false;
	}
	if (!lm)
		return false;
	o->lm = lm;
	o->bias = lm->l_addr;
	o->path = lm_path(lm);
	return true;
}

/* ---- the name cache ----------------------------------------------------- */

#define SYM_CACHE 128			/* entries, a power of two */
#define SYM_WORDS (RT_STACK_NAME_MAX / 8)

struct sym_ent {
	uint32_t seq;			/* odd while written; even: stable */
	uint32_t off;			/* pc - function start */
	uintptr_t pc;			/* key: the frame's address... */
	const void *lm;			/* ...and its object; NULL: empty */
	uint64_t name[SYM_WORDS];	/* NUL-terminated; "" = no name known */
};
static struct sym_ent sym_cache[SYM_CACHE];

static struct sym_ent *sym_slot(uintptr_t pc)
{
	return &sym_cache[((pc * 0x9E3779B97F4A7C15ull) >> 57) & (SYM_CACHE - 1)];
}

/* Copy the cached name of (pc, lm) into buf (RT_STACK_NAME_MAX); false on
 * a miss. */
static bool sym_get(uintptr_t pc, const void *lm, char *buf, uintptr_t *off)
{
	struct sym_ent *e = sym_slot(pc);
	uint64_t w[SYM_WORDS];
	uint32_t s1, s2, o;

	/* Acquire: the fields read below were written before this seq. */
	s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if (s1 & 1)
		return false;
	if (__atomic_load_n(&e->pc, __ATOMIC_RELAXED) != pc ||
	    __atomic_load_n(&e->lm, __ATOMIC_RELAXED) != lm || !lm)
		return false;
	o = __atomic_load_n(&e->off, __ATOMIC_RELAXED);
	for (int i = 0; i < SYM_WORDS; i++)
		w[i] = __atomic_load_n(&e->name[i], __ATOMIC_RELAXED);
	/* Acquire fence: the loads above happen before the re-check. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	if (s1 != s2)
		return false;		/* written meanwhile: a miss */
	memcpy(buf, w, sizeof(w));
	buf[sizeof(w) - 1] = 0;
	*off = o;
	return true;
}

static void sym_put(uintptr_t pc, const void *lm, const char *name, uintptr_t off)
{
	struct sym_ent *e = sym_slot(pc);
	uint64_t w[SYM_WORDS];
	size_t n = strlen(name);
	uint32_t s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	if (!lm || off > UINT32_MAX || (s & 1))
		return;
	if (n >= sizeof(w))
		n = sizeof(w) - 1;	/* names are cut there anyway */
	/* Relaxed: only this CAS decides who writes; the fence orders it. */
	if (!__atomic_compare_exchange_n(&e->seq, &s, s + 1, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return;			/* another writer: do not wait */
	/* Release fence: a reader that sees a new field also sees seq odd. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset(w, 0, sizeof(w));
	memcpy(w, name, n);
	__atomic_store_n(&e->pc, pc, __ATOMIC_RELAXED);
	__atomic_store_n(&e->lm, lm, __ATOMIC_RELAXED);
	__atomic_store_n(&e->off, (uint32_t)off, __ATOMIC_RELAXED);
	for (int i = 0; i < SYM_WORDS; i++)
		__atomic_store_n(&e->name[i], w[i], __ATOMIC_RELAXED);
	/* Release: the fields above before the even seq. */
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

/* ---- filter and text ---------------------------------------------------- */

#define ELLIPSIS "\n..."

bool rt_stack_keep(struct rt_stack_filter *f, enum rt_frame_kind kind)
{
	if (kind == RT_FRAME_SELF || (kind == RT_FRAME_LIB && !f->seen_app))
		return false;
	if (f->kept >= f->max) {
		f->more = true;
		return false;
	}
	f->seen_app = true;
	f->kept++;
	return true;
}

void rt_stack_text_init(struct rt_stack_text *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->cap = cap;
	t->len = 0;
	t->frames = 0;
	t->full = false;
	if (cap)
		buf[0] = 0;
}

bool rt_stack_put(struct rt_stack_text *t, const char *name, uintptr_t off, const char *obj,
		  uintptr_t addr)
{
	const char *sep = t->frames ? "\n" : "";
	char *d = t->buf + t->len;
	size_t left = t->cap - t->len;
	int n;

	/* Written in place; kept only when the closing ellipsis still fits
	 * after it (left counts the NUL). */
	if (t->full || t->len + sizeof(ELLIPSIS) > t->cap)
		goto full;
	if (!obj)
		n = snprintf(d, left, "%sat %s (0x%lx)", sep, name ? name : "??",
			     (unsigned long)addr);
	else if (name)
		n = snprintf(d, left, "%sat %s+0x%lx (%s+0x%lx)", sep, name, (unsigned long)off,
			     obj, (unsigned long)addr);
	else
		n = snprintf(d, left, "%sat ?? (%s+0x%lx)", sep, obj, (unsigned long)addr);
	if (n < 0 || (size_t)n + sizeof(ELLIPSIS) > left) {
		*d = 0;
		goto full;
	}
	t->len += (size_t)n;
	t->frames++;
	return true;
full:
	t->full = true;
	return false;
}

size_t rt_stack_text_end(struct rt_stack_text *t)
{
	if (t->full && t->frames && t->len + sizeof(ELLIPSIS) <= t->cap) {
		memcpy(t->buf + t->len, ELLIPSIS, sizeof(ELLIPSIS));
		t->len += sizeof(ELLIPSIS) - 1;
	}
	return t->len;
}

size_t rt_stack_text_fit(char *buf, size_t len, size_t max)
{
	size_t cut;

	if (len <= max)
		return len;
	if (max < sizeof(ELLIPSIS))
		return 0;
	/* The last line break at or before max - strlen("\n..."). */
	cut = max - (sizeof(ELLIPSIS) - 1);
	while (cut > 0 && buf[cut] != '\n')
		cut--;
	if (!cut)
		return 0;
	memcpy(buf + cut, ELLIPSIS, sizeof(ELLIPSIS));
	return cut + sizeof(ELLIPSIS) - 1;
}

/* ---- the walk ----------------------------------------------------------- */

#define NAMES_POOL 1024			/* bytes of names of one walk */
#define NAME_NONE (-1)			/* no name known */
#define NAME_UNW (-2)			/* to ask libunwind */

/* A kept frame (small: RT_STACK_MAX_FRAMES of them on the stack). */
struct kept {
	uintptr_t pc;			/* return address */
	const struct link_map *lm;	/* its object; NULL: in no object */
	uint32_t off;			/* pc - function start, when named */
	int16_t name;			/* offset in the pool, or NAME_* */
};

/* The names of one walk's kept frames. A name that does not fit any more
 * is shown as "??": the text (RT_STACK_TEXT_MAX) could not hold it anyway. */
struct names {
	uint16_t used;
	char pool[NAMES_POOL];
};

static int16_t names_add(struct names *n, const char *s)
{
	size_t len = strlen(s);
	int16_t at = (int16_t)n->used;

	if (!len || len + 1 > (size_t)NAMES_POOL - n->used)
		return NAME_NONE;
	memcpy(n->pool + n->used, s, len + 1);
	n->used = (uint16_t)(n->used + len + 1);
	return at;
}

/* The return addresses of the calling thread's stack, innermost first. */
static int collect(void **ips, int max)
{
#if defined(__x86_64__)
	if (have_unw) {
		int n;

		/* Seq-cst: a fork snapshot that has a libunwind lock held
		 * has this count up. */
		__atomic_add_fetch(&unw_walkers, 1, __ATOMIC_SEQ_CST);
		n = unw.backtrace(ips, max);
		__atomic_sub_fetch(&unw_walkers, 1, __ATOMIC_SEQ_CST);
		return n;
	}
#endif
	return backtrace(ips, max);
}

#if defined(__x86_64__)
/*
 * The frames of k[0..nk) waiting for a libunwind name: walk with a cursor
 * (unw_step, bounded) and ask at each frame whose address is one of
 * theirs. The frames above us are the same ones collect() saw.
 */
static __attribute__((noinline)) void resolve_unw(struct kept *k, int nk, struct names *names)
{
	char buf[RT_STACK_NAME_MAX];
	struct unw_cursor c;
	ucontext_t uc;
	int left = 0;

	for (int j = 0; j < nk; j++)
		left += k[j].name == NAME_UNW;
	__atomic_add_fetch(&unw_walkers, 1, __ATOMIC_SEQ_CST);
	if (unw.getcontext(&uc) != 0 || unw.init_local(&c, &uc) != 0)
		goto out;
	for (int i = 0; i < RT_STACK_MAX_STEPS && left; i++) {
		union unw_proc_info pi;
		uint64_t ip, uoff;
		bool named;

		if (unw.get_reg(&c, UNW_REG_IP, &ip) != 0 || !ip)
			break;
		named = false;
		for (int j = 0; j < nk; j++) {
			if (k[j].name != NAME_UNW || k[j].pc != ip)
				continue;
			if (!named) {
				/* -UNW_ENOMEM: the name was cut to fit; keep it. */
				uoff = 0;
				buf[0] = 0;
				if (unw.get_proc_name(&c, buf, sizeof(buf), &uoff) < 0 &&
				    !buf[0])
					uoff = 0;
				buf[sizeof(buf) - 1] = 0;
				if (!buf[0] || unw.get_proc_info(&c, &pi) != 0 ||
				    ip - uoff != pi.start_ip) {
					buf[0] = 0;
					uoff = 0;
				}
				sym_put((uintptr_t)ip, k[j].lm, buf, (uintptr_t)uoff);
				named = true;
			}
			k[j].name = buf[0] ? names_add(names, buf) : NAME_NONE;
			k[j].off = (uint32_t)uoff;
			left--;
		}
		if (unw.step(&c) <= 0)
			break;
	}
out:
	__atomic_sub_fetch(&unw_walkers, 1, __ATOMIC_SEQ_CST);
	for (int j = 0; j < nk; j++)
		if (k[j].name == NAME_UNW)
			k[j].name = NAME_NONE;
}
#endif

/* Name k from the cache or dladdr(); NAME_UNW when libunwind must say. */
static void name_frame(struct kept *k, struct names *names)
{
	char buf[RT_STACK_NAME_MAX];
	uintptr_t off;
	Dl_info di;

	k->name = NAME_NONE;
	k->off = 0;
	if (!k->lm)
		return;
	if (sym_get(k->pc, k->lm, buf, &off)) {
		k->name = buf[0] ? names_add(names, buf) : NAME_NONE;
		k->off = (uint32_t)off;
		return;
	}
	if (dladdr((void *)(k->pc - 1), &di) && di.dli_sname && di.dli_saddr &&
	    (off = k->pc - (uintptr_t)di.dli_saddr) <= UINT32_MAX) {
		k->off = (uint32_t)off;
		sym_put(k->pc, k->lm, di.dli_sname, k->off);
		k->name = names_add(names, di.dli_sname);
		return;
	}
#if defined(__x86_64__)
	if (have_unw) {
		k->name = NAME_UNW;
		return;
	}
#endif
	sym_put(k->pc, k->lm, "", 0);	/* nothing more to learn about it */
}

unsigned rt_stack_walk(struct rt_stack_text *text, char *fn, size_t fncap, const void *self)
{
	void *ips[RT_STACK_MAX_STEPS];
	struct kept k[RT_STACK_MAX_FRAMES];
	struct rt_stack_filter f = { .max = text ? RT_STACK_MAX_FRAMES : 1 };
	struct names names;
	int n, nk = 0, need = 0;

	if (fn && fncap)
		fn[0] = 0;
	if (!text && !(fn && fncap))
		return 0;
	if (!self)
		self = self_lm;
	names.used = 0;
	n = collect(ips, RT_STACK_MAX_STEPS);
	for (int i = 0; i < n && nk < RT_STACK_MAX_FRAMES; i++) {
		uintptr_t pc = (uintptr_t)ips[i];
		enum rt_frame_kind kind;
		struct obj o = { 0 };

		/* Every entry is a return address: look up pc - 1, inside
		 * the call instruction, not after it. */
		if (!pc)
			break;
		if (self == self_lm && pc - 1 - self_text[0] < self_text[1] - self_text[0]) {
			kind = RT_FRAME_SELF;		/* the common case, cheaply */
		} else if (!find_obj(pc - 1, &o)) {
			o.lm = NULL;
			kind = RT_FRAME_APP;		/* in no object: JIT code */
		} else {
			kind = o.lm == self ? RT_FRAME_SELF : lm_kind(o.lm, o.path);
		}
		if (!rt_stack_keep(&f, kind)) {
			if (f.more)
				break;
			continue;
		}
		k[nk].pc = pc;
		k[nk].lm = o.lm;
		name_frame(&k[nk], &names);
		need += k[nk].name == NAME_UNW;
		nk++;
	}
#if defined(__x86_64__)
	if (need)
		resolve_unw(k, nk, &names);
#endif
	if (fn && fncap && nk && k[0].name >= 0) {
		size_t len = strlen(names.pool + k[0].name);

		if (len >= fncap)
			len = fncap - 1;
		memcpy(fn, names.pool + k[0].name, len);
		fn[len] = 0;
	}
	if (text) {
		for (int j = 0; j < nk; j++) {
			const struct kept *e = &k[j];
			const char *nm = e->name >= 0 ? names.pool + e->name : NULL;

			if (!rt_stack_put(text, nm, e->off, e->lm ? lm_path(e->lm) : NULL,
					  e->lm ? e->pc - e->lm->l_addr : e->pc))
				break;
		}
		if (f.more)
			text->full = true;
	}
	return (unsigned)nk;
}

/* ---- spans -------------------------------------------------------------- */

/* A database or HTTP client span (semantic conventions' keys). */
static bool db_or_http(const struct rt_span *sp)
{
	for (uint16_t i = 0; i < sp->nattrs; i++) {
		const char *k = sp->attrs[i].key;

		if (sp->attrs[i].owner != RT_OWNER_SPAN || !k)
			continue;
		if ((k[0] == 'd' && strcmp(k, "db.system.name") == 0) ||
		    (k[0] == 'h' && strcmp(k, "http.request.method") == 0) ||
		    (k[0] == 'u' && strcmp(k, "url.full") == 0))
			return true;
	}
	return false;
}

void rt_stack_span_end(struct rt_span *sp)
{
	char text[RT_STACK_TEXT_MAX], fn[RT_STACK_NAME_MAX];
	struct rt_stack_text t;
	uint8_t mode = rt_stack_mode;
	bool want_stack, want_fn;
	size_t len, room;
	uint32_t lim;
	int saved;

	if (!sp || !sp->recording || sp->kind != RT_KIND_CLIENT || in_walk)
		return;
	want_stack = ((mode & RT_STACK_ERROR) && sp->status == RT_STATUS_ERROR) ||
		     ((mode & RT_STACK_SLOW) && sp->end_ns - sp->start_ns >= slow_ns);
	want_fn = (mode & RT_STACK_FUNC) && db_or_http(sp);
	if (!want_stack && !want_fn)
		return;
	saved = errno;
	in_walk = 1;
	rt_stack_text_init(&t, text, sizeof(text));
	rt_stack_walk(want_stack ? &t : NULL, want_fn ? fn : NULL, sizeof(fn), NULL);
	if (want_fn && fn[0])
		rt_span_set_cstr(sp, "code.function.name", fn);
	if (want_stack && t.frames) {
		len = rt_stack_text_end(&t);
		/* What the arena has left, and the value-length limit: cut at
		 * a line rather than let the span cut inside one. */
		room = sp->arena_used < RT_SPAN_ARENA - 1 ? RT_SPAN_ARENA - 1 - sp->arena_used : 0;
		lim = rt_cfg.limits.attr_value_len;
		if (lim && lim < room)
			room = lim;
		len = rt_stack_text_fit(text, len, room);
		if (len)
			rt_span_set_str(sp, "code.stacktrace", text, len);
	}
	in_walk = 0;
	errno = saved;
}

/* ---- set-up ------------------------------------------------------------- */

void rt_stack_fork_child(void)
{
#if defined(__x86_64__)
	/* Only the forking thread lives on: any other walker's libunwind lock
	 * would never be released here. backtrace() from then on. */
	if (__atomic_load_n(&unw_walkers, __ATOMIC_SEQ_CST) != 0)
		have_unw = false;
	__atomic_store_n(&unw_walkers, 0, __ATOMIC_SEQ_CST);
#endif
	in_walk = 0;
}

#if defined(__x86_64__)
static bool load_libunwind(const char *name)
{
	void *h = dlopen(name, RTLD_LAZY | RTLD_LOCAL);

	if (!h)
		return false;
	*(void **)&unw.backtrace = dlsym(h, "unw_backtrace");
	*(void **)&unw.getcontext = dlsym(h, "_Ux86_64_getcontext");
	*(void **)&unw.init_local = dlsym(h, "_ULx86_64_init_local");
	*(void **)&unw.step = dlsym(h, "_ULx86_64_step");
	*(void **)&unw.get_reg = dlsym(h, "_ULx86_64_get_reg");
	*(void **)&unw.get_proc_name = dlsym(h, "_ULx86_64_get_proc_name");
	*(void **)&unw.get_proc_info = dlsym(h, "_ULx86_64_get_proc_info");
	if (!unw.backtrace || !unw.getcontext || !unw.init_local || !unw.step ||
	    !unw.get_reg || !unw.get_proc_name || !unw.get_proc_info) {
		memset(&unw, 0, sizeof(unw));
		dlclose(h);
		return false;
	}
	return true;			/* h stays open for the process's life */
}
#endif

/* Once per process: the unwinder and what the walk needs to know. */
static void load_once(void)
{
	static int state;		/* 0 never, 1 loading or done */
	const char *want = rt_cfg.libunwind[0] ? rt_cfg.libunwind : "libunwind.so.8";
	void *ips[4];
	Dl_info di;
	ssize_t n;
	int s = 0;

	/* Relaxed: called from the one-time initialisation only; the flag
	 * just keeps a second call (tests) from loading twice. */
	if (!__atomic_compare_exchange_n(&state, &s, 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (n > 0) {
		exe_path[n] = 0;
	} else {
		extern char *program_invocation_name;

		snprintf(exe_path, sizeof(exe_path), "%s", program_invocation_name);
	}
	if (dladdr1((void *)rt_stack_init, &di, (void **)&self_lm, RTLD_DL_LINKMAP) == 0)
		self_lm = NULL;
	*(void **)&find_object_fn = dlsym(RTLD_DEFAULT, "_dl_find_object");
	if (find_object_fn) {
		struct find_object fo;

		/* The mapping that holds our code: frames there are ours
		 * without a look-up. */
		if (find_object_fn((void *)rt_stack_init, &fo) == 0 && fo.link_map == self_lm) {
			self_text[0] = (uintptr_t)fo.map_start;
			self_text[1] = (uintptr_t)fo.map_end;
		}
	}
#if defined(__x86_64__)
	if (strcmp(want, "none") != 0) {
		have_unw = load_libunwind(want);
		if (!have_unw)
			rt_warn("cannot load %.200s for stack traces; using backtrace() "
				"(function names of exported symbols only)", want);
	}
#else
	(void)want;
#endif
	/* Warm up: libunwind's one-time set-up (and this thread's cache), or
	 * libgcc_s for backtrace(), here rather than inside a span's end. */
	collect(ips, 4);
}

void rt_stack_init(void)
{
	uint8_t mode = 0;

	if (rt_cfg.stack_threshold_set)
		mode |= RT_STACK_SLOW | RT_STACK_ERROR;
	if (rt_cfg.stack_on_error)
		mode |= RT_STACK_ERROR;
	if (rt_cfg.code_attributes)
		mode |= RT_STACK_FUNC;
	slow_ns = (uint64_t)rt_cfg.stack_threshold_ms * 1000000ull;
	if (mode)
		load_once();
	rt_stack_mode = mode;
}
