/*
 * guard_page.h - test buffers that end where a PROT_NONE page starts, so a
 * parser reading or writing one byte past its bounds crashes the test.
 * Included by Criterion suites (needs criterion.h, sys/mman.h, unistd.h,
 * string.h, stdint.h first).
 */
#ifndef TEST_GUARD_PAGE_H
#define TEST_GUARD_PAGE_H

struct guard {
	uint8_t *base;
	size_t usable;
	size_t total;
};

static struct guard guard_new(size_t cap)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct guard g;

	g.usable = (cap + pg - 1) / pg * pg;
	if (!g.usable)
		g.usable = pg;
	g.total = g.usable + pg;
	g.base = mmap(NULL, g.total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(g.base != MAP_FAILED);
	cr_assert(mprotect(g.base + g.usable, pg, PROT_NONE) == 0);
	return g;
}

static void guard_free(struct guard *g)
{
	munmap(g->base, g->total);
}

/* n bytes whose last one is the last usable one; s[0..n) copied there
 * unless s is NULL. */
static uint8_t *place(struct guard *g, const void *s, size_t n)
{
	uint8_t *d = g->base + g->usable - n;

	cr_assert(n <= g->usable);
	if (s)
		memcpy(d, s, n);
	return d;
}

#endif
