/*
 * fuzz_propagation.c - libFuzzer target for every parser in
 * runtime/propagation.c, runtime/hex.c and runtime/kvlist.c.
 *
 * Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=gnu11 \
 *     tests/fuzz/fuzz_propagation.c runtime/propagation.c runtime/hex.c \
 *     runtime/kvlist.c -o fz_prop
 *   mkdir -p /tmp/fzc && ./fz_prop -max_total_time=60 /tmp/fzc tests/fuzz/corpus/propagation/
 * libFuzzer adds new inputs to the FIRST directory it is given: put a
 * scratch directory first, or the seed corpus fills up with thousands of
 * generated files.
 *
 * One input feeds all parsers. The byte-range parsers get the input exactly
 * as libFuzzer hands it over (a heap block of exactly size bytes, no NUL),
 * so ASan reports any read past len. The NUL-terminated parsers
 * (OTEL_PROPAGATORS, kvlist) get a terminated copy. For the composite
 * extract the input is read as "name:value" lines, one carrier field each.
 *
 * Beyond "no crash", the target traps on broken invariants: format output
 * parses back to the same ids; sanitised tracestate and baggage are fixed
 * points of their sanitiser and respect their caps; a context that was
 * extracted, injected and extracted again keeps its ids and sampled bit.
 */
// SOURCES: runtime/propagation.c runtime/hex.c runtime/kvlist.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kvlist.h"
#include "../../runtime/propagation.h"

#define CHECK(c)                                   \
	do {                                       \
		if (!(c))                          \
			__builtin_trap();          \
	} while (0)

#define FZ_FIELDS 16

/* A carrier of fields that point into someone else's bytes. */
struct fz_carrier {
	const char *name[FZ_FIELDS];
	size_t nlen[FZ_FIELDS];
	const char *val[FZ_FIELDS];
	size_t vlen[FZ_FIELDS];
	size_t n;
	char store[RT_BAGGAGE_MAX + 512];	/* values written by fz_set */
	size_t used;
};

static bool name_eq(const char *a, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = a[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!key[i] || c != key[i])
			return false;
	}
	return key[i] == '\0';
}

/* rt_getter: number of fields named key, first one's value. */
static int fz_get(void *carrier, const char *key, const char **val, size_t *len)
{
	struct fz_carrier *c = carrier;
	int count = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (!name_eq(c->name[i], c->nlen[i], key))
			continue;
		if (count++ == 0) {
			*val = c->val[i];
			*len = c->vlen[i];
		}
	}
	return count;
}

/* rt_setter: copies the value into the carrier's store. */
static void fz_set(void *carrier, const char *key, const char *val, size_t len)
{
	struct fz_carrier *c = carrier;

	CHECK(c->n < FZ_FIELDS && len <= sizeof(c->store) - c->used);
	memcpy(c->store + c->used, val, len);
	c->name[c->n] = key;
	c->nlen[c->n] = strlen(key);
	c->val[c->n] = c->store + c->used;
	c->vlen[c->n] = len;
	c->used += len;
	c->n++;
}

/* Splits s[0..size) into "name:value" lines; values are not terminated. */
static void fz_split(const char *s, size_t size, struct fz_carrier *c)
{
	size_t pos = 0;

	c->n = 0;
	c->used = 0;
	while (pos < size && c->n < FZ_FIELDS) {
		const char *line = s + pos;
		const char *nl = memchr(line, '\n', size - pos);
		size_t llen = nl ? (size_t)(nl - line) : size - pos;
		const char *colon = memchr(line, ':', llen);

		if (colon) {
			c->name[c->n] = line;
			c->nlen[c->n] = (size_t)(colon - line);
			c->val[c->n] = colon + 1;
			c->vlen[c->n] = llen - c->nlen[c->n] - 1;
			c->n++;
		}
		pos += llen + 1;
	}
}

static void kv_cb(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	size_t *calls = arg;

	CHECK(key[klen] == '\0' && strlen(key) == klen && klen > 0);
	CHECK(val[vlen] == '\0' && strlen(val) == vlen);
	(*calls)++;
}

static bool same_ids(const struct rt_ctx *a, const struct rt_ctx *b)
{
	return memcmp(a->trace_id, b->trace_id, 16) == 0 && memcmp(a->span_id, b->span_id, 8) == 0;
}

static void fuzz_traceparent(const char *s, size_t size)
{
	struct rt_ctx a, b;
	char tp[56];
	size_t n;

	if (!rt_traceparent_parse(s, size, &a)) {
		CHECK(!a.valid);
		return;
	}
	CHECK(a.valid && a.remote && a.tracestate[0] == '\0');
	CHECK(!rt_id_is_zero(a.trace_id, 16) && !rt_id_is_zero(a.span_id, 8));
	n = rt_traceparent_format(&a, tp);
	CHECK(n == 55 && tp[55] == '\0');
	CHECK(rt_traceparent_parse(tp, n, &b));
	CHECK(same_ids(&a, &b) && b.flags == (a.flags & (RT_FLAG_SAMPLED | RT_FLAG_RANDOM)));
}

static void fuzz_tracestate(const char *s, size_t size, size_t cap)
{
	char out[RT_TRACESTATE_MAX + 1], again[RT_TRACESTATE_MAX + 1];
	size_t n;

	if (!rt_tracestate_sanitize(s, size, out, cap)) {
		CHECK(cap == 0 || out[0] == '\0');
		return;
	}
	n = strlen(out);
	CHECK(n < cap && n <= size);
	CHECK(rt_tracestate_sanitize(out, n, again, sizeof(again)));
	CHECK(strcmp(out, again) == 0);
}

static void fuzz_baggage(const char *s, size_t size, size_t cap)
{
	static char out[RT_BAGGAGE_MAX + 1], again[RT_BAGGAGE_MAX + 1];
	size_t n;

	if (!rt_baggage_sanitize(s, size, out, cap)) {
		CHECK(cap == 0 || out[0] == '\0');
		return;
	}
	n = strlen(out);
	CHECK(n > 0 && n < cap && n <= RT_BAGGAGE_MAX && n <= size);
	CHECK(rt_baggage_sanitize(out, n, again, sizeof(again)));
	CHECK(strcmp(out, again) == 0);
}

static void fuzz_b3(const char *s, size_t size)
{
	struct rt_ctx a, b;
	char out[52];
	size_t n;

	if (!rt_b3_single_parse(s, size, &a)) {
		CHECK(!a.valid);
		return;
	}
	n = rt_b3_single_format(&a, out, sizeof(out));
	CHECK(n == 51 && out[51] == '\0');
	CHECK(rt_b3_single_parse(out, n, &b));
	CHECK(same_ids(&a, &b) && b.flags == (a.flags & RT_FLAG_SAMPLED));
}

static void fuzz_hex(const char *s, size_t size)
{
	uint8_t id[16];
	char back[33];

	if (size < 32 || !rt_hex_decode_lower(s, 16, id))
		return;
	rt_hex_encode(id, 16, back);
	CHECK(memcmp(back, s, 32) == 0);
}

static void fuzz_percent(const char *s, size_t size)
{
	char out[64];
	long r = rt_percent_decode(s, size, out, sizeof(out));

	CHECK(r < 0 || ((size_t)r < sizeof(out) && (size_t)r <= size && out[r] == '\0'));
}

/* OTEL_PROPAGATORS and kvlist on a terminated copy; returns the props. */
static void fuzz_cstrings(const char *s, size_t size, struct rt_props *p)
{
	char *z = malloc(size + 1);
	char scratch[256];
	const char *unk;
	size_t calls = 0;
	bool ok;

	if (!z)
		return;
	memcpy(z, s, size);
	z[size] = '\0';
	ok = rt_props_parse(z, p, &unk);
	CHECK(p->n <= 4 && ok == (unk == NULL));
	CHECK(!unk || (unk >= z && unk < z + size));
	for (size_t i = 0; i < p->n; i++)
		CHECK(p->list[i] >= RT_PROP_TRACECONTEXT && p->list[i] <= RT_PROP_B3MULTI);
	if (!rt_kvlist_parse(z, scratch, sizeof(scratch), kv_cb, &calls))
		CHECK(calls == 0);
	free(z);
}

/* Extract from the input's lines, inject, extract again: same context. */
static void fuzz_composite(const char *s, size_t size, const struct rt_props *configured)
{
	static struct fz_carrier in, out;
	static char bag[RT_BAGGAGE_MAX + 1], bag2[RT_BAGGAGE_MAX + 1];
	static const struct rt_props all = {
		4, { RT_PROP_TRACECONTEXT, RT_PROP_BAGGAGE, RT_PROP_B3, RT_PROP_B3MULTI }
	};
	const struct rt_props *p = configured->n ? configured : &all;
	struct rt_ctx a, b;

	fz_split(s, size, &in);
	rt_prop_extract(p, &in, fz_get, &a, bag, sizeof(bag));
	CHECK(strlen(bag) <= RT_BAGGAGE_MAX);
	CHECK(strlen(a.tracestate) <= RT_TRACESTATE_MAX);
	out.n = 0;
	out.used = 0;
	rt_prop_inject(p, &a, bag, &out, fz_set);
	rt_prop_extract(p, &out, fz_get, &b, bag2, sizeof(bag2));
	CHECK(a.valid == b.valid);
	if (a.valid)
		CHECK(same_ids(&a, &b) && (a.flags & RT_FLAG_SAMPLED) == (b.flags & RT_FLAG_SAMPLED));
	CHECK(strcmp(bag, bag2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t small = size ? data[0] % 96 : 0;	/* caps that force truncation */
	struct rt_props p;

	fuzz_traceparent(s, size);
	fuzz_tracestate(s, size, RT_TRACESTATE_MAX + 1);
	fuzz_tracestate(s, size, small);
	fuzz_baggage(s, size, RT_BAGGAGE_MAX + 1);
	fuzz_baggage(s, size, small);
	fuzz_b3(s, size);
	fuzz_hex(s, size);
	fuzz_percent(s, size);
	fuzz_cstrings(s, size, &p);
	fuzz_composite(s, size, &p);
	return 0;
}
