/*
 * test_span.c - the span model: ids, parenting, sampling, attribute limits,
 * events, links, status, the pool and the queue.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/config.h"
#include "../../runtime/context.h"
#include "../../runtime/queue.h"
#include "../../runtime/runtime.h"
#include "../../runtime/span.h"

static const char *no_env(const char *n)
{
	(void)n;
	return NULL;
}

static const char *env_table[16][2];

static const char *table_env(const char *n)
{
	for (int i = 0; i < 16 && env_table[i][0]; i++)
		if (strcmp(env_table[i][0], n) == 0)
			return env_table[i][1];
	return NULL;
}

static void setup(void)
{
	rt_config_load(&rt_cfg, no_env);
	rt_init(no_env);
	rt_queue_reset_for_tests();
}

static void drain(void)
{
	rt_queue_reset_for_tests();
}

TestSuite(span, .init = setup, .fini = drain);

Test(span, root_span_has_ids_and_is_sampled_by_default)
{
	struct rt_span *sp = rt_span_start("op", RT_KIND_CLIENT, NULL, 0);

	cr_assert_not_null(sp);
	cr_assert(!rt_id_is_zero(sp->trace_id, 16));
	cr_assert(!rt_id_is_zero(sp->span_id, 8));
	cr_assert(sp->recording);
	cr_assert_eq(sp->flags & RT_FLAG_SAMPLED, RT_FLAG_SAMPLED);
	/* W3C Level 2: trace ids we mint are random, and say so. */
	cr_assert_eq(sp->flags & RT_FLAG_RANDOM, RT_FLAG_RANDOM);
	cr_assert_str_eq(sp->name, "op");
	cr_assert_eq(sp->kind, RT_KIND_CLIENT);
	cr_assert(!sp->has_parent);
	rt_span_end(sp, 0);
	cr_assert(sp->end_ns >= sp->start_ns);
}

Test(span, spans_of_one_process_share_the_process_trace)
{
	struct rt_span *a = rt_span_start("a", RT_KIND_CLIENT, NULL, 0);
	struct rt_span *b = rt_span_start("b", RT_KIND_CLIENT, NULL, 0);

	cr_assert_eq(memcmp(a->trace_id, b->trace_id, 16), 0);
	cr_assert_neq(memcmp(a->span_id, b->span_id, 8), 0);
	rt_span_end(a, 0);
	rt_span_end(b, 0);
}

Test(span, environment_traceparent_parents_the_process)
{
	struct rt_span *sp;
	static const uint8_t tid[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t pid[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };

	env_table[0][0] = "TRACEPARENT";
	env_table[0][1] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	env_table[1][0] = "TRACESTATE";
	env_table[1][1] = "congo=t61rcWkgMzE";
	rt_init(table_env);
	sp = rt_span_start("child", RT_KIND_CLIENT, NULL, 0);
	cr_assert_eq(memcmp(sp->trace_id, tid, 16), 0);
	cr_assert_eq(memcmp(sp->parent_id, pid, 8), 0);
	cr_assert(sp->has_parent);
	cr_assert(sp->parent_remote);
	cr_assert(sp->recording);
	cr_assert_str_eq(sp->tracestate, "congo=t61rcWkgMzE");
	rt_span_end(sp, 0);
}

Test(span, unsampled_remote_parent_is_not_recorded_but_has_ids)
{
	struct rt_ctx parent;
	struct rt_span *sp;

	memset(&parent, 0, sizeof(parent));
	memset(parent.trace_id, 0x11, 16);
	memset(parent.span_id, 0x22, 8);
	parent.valid = parent.remote = true;
	parent.flags = 0;
	sp = rt_span_start("x", RT_KIND_SERVER, &parent, 0);
	cr_assert_not_null(sp);
	cr_assert(!sp->recording);
	cr_assert_eq(sp->flags & RT_FLAG_SAMPLED, 0);
	cr_assert(!rt_id_is_zero(sp->span_id, 8));
	rt_span_end(sp, 0);
	cr_assert_eq(rt_queue_len(), 0);
}

static void sampler_env(const char *s, const char *arg)
{
	env_table[0][0] = "OTEL_TRACES_SAMPLER";
	env_table[0][1] = s;
	env_table[1][0] = "OTEL_TRACES_SAMPLER_ARG";
	env_table[1][1] = arg;
	env_table[2][0] = NULL;
	rt_config_load(&rt_cfg, table_env);
}

Test(span, samplers)
{
	struct rt_ctx p;
	uint8_t id[16];

	memset(&p, 0, sizeof(p));
	memset(p.trace_id, 0x33, 16);
	memset(p.span_id, 0x44, 8);
	p.valid = true;

	sampler_env("always_off", NULL);
	cr_assert(!rt_should_sample(NULL, p.trace_id));
	p.flags = RT_FLAG_SAMPLED;
	cr_assert(!rt_should_sample(&p, p.trace_id));

	sampler_env("always_on", NULL);
	p.flags = 0;
	cr_assert(rt_should_sample(&p, p.trace_id));

	sampler_env("parentbased_always_off", NULL);
	cr_assert(!rt_should_sample(NULL, p.trace_id));
	p.flags = RT_FLAG_SAMPLED;
	cr_assert(rt_should_sample(&p, p.trace_id));

	sampler_env("parentbased_always_on", NULL);
	cr_assert(rt_should_sample(NULL, p.trace_id));
	p.flags = 0;
	cr_assert(!rt_should_sample(&p, p.trace_id));

	/* traceidratio: the rightmost 56 bits against (1-p)*2^56. */
	sampler_env("traceidratio", "0.5");
	memset(id, 0, 16);
	id[9] = 0x80;			/* R = 2^55 exactly: kept at p=0.5 */
	cr_assert(rt_should_sample(NULL, id));
	id[9] = 0x7f;
	memset(id + 10, 0xff, 6);	/* R = 2^55 - 1: dropped */
	cr_assert(!rt_should_sample(NULL, id));
	sampler_env("traceidratio", "0");
	memset(id + 9, 0xff, 7);
	cr_assert(!rt_should_sample(NULL, id));
	sampler_env("traceidratio", "1");
	memset(id + 9, 0, 7);
	cr_assert(rt_should_sample(NULL, id));

	/* parentbased_traceidratio follows a parent, the ratio at the root. */
	sampler_env("parentbased_traceidratio", "0");
	p.flags = RT_FLAG_SAMPLED;
	cr_assert(rt_should_sample(&p, p.trace_id));
	cr_assert(!rt_should_sample(NULL, id));

	/* A bad ratio keeps the default 1.0. */
	sampler_env("traceidratio", "1.5");
	cr_assert_float_eq(rt_cfg.sampler_ratio, 1.0, 1e-9);
}

Test(span, ratio_sampler_keeps_about_the_ratio)
{
	int kept = 0;
	uint8_t id[16];

	sampler_env("traceidratio", "0.25");
	for (int i = 0; i < 20000; i++) {
		rt_new_trace_id(id);
		kept += rt_should_sample(NULL, id);
	}
	cr_assert(kept > 4500 && kept < 5500, "kept %d of 20000 at 0.25", kept);
}

Test(span, attributes_of_every_type_and_replacement)
{
	struct rt_span *sp = rt_span_start("a", RT_KIND_INTERNAL, NULL, 0);
	const char *arr[] = { "1.2.3.4", "::1" };
	const struct rt_attr *a;

	rt_span_set_cstr(sp, "k.str", "v");
	rt_span_set_int(sp, "k.int", -42);
	rt_span_set_bool(sp, "k.bool", true);
	rt_span_set_double(sp, "k.dbl", 1.5);
	rt_span_set_strarr(sp, "k.arr", arr, 2);
	rt_span_set_cstr(sp, "k.str", "replaced");
	cr_assert_eq(sp->nspan_attrs, 5);
	a = rt_span_attr(sp, "k.str");
	cr_assert_str_eq(a->s, "replaced");
	cr_assert_eq(a->len, 8);
	cr_assert_eq(rt_span_attr(sp, "k.int")->v.i, -42);
	cr_assert(rt_span_attr(sp, "k.bool")->v.b);
	a = rt_span_attr(sp, "k.arr");
	cr_assert_eq(a->type, RT_V_STRARR);
	cr_assert_eq(a->count, 2);
	cr_assert_str_eq(a->s, "1.2.3.4");
	cr_assert_str_eq(a->s + 8, "::1");
	rt_span_end(sp, 0);
}

Test(span, count_limit_drops_and_counts)
{
	struct rt_span *sp;
	static const char *keys[] = { "a", "b", "c", "d", "e" };

	env_table[0][0] = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
	env_table[0][1] = "3";
	env_table[1][0] = NULL;
	rt_config_load(&rt_cfg, table_env);
	sp = rt_span_start("a", RT_KIND_INTERNAL, NULL, 0);
	for (int i = 0; i < 5; i++)
		rt_span_set_int(sp, keys[i], i);
	cr_assert_eq(sp->nspan_attrs, 3);
	cr_assert_eq(sp->dropped_attrs, 2);
	/* Replacing an existing key is not a new attribute. */
	rt_span_set_int(sp, "a", 9);
	cr_assert_eq(sp->dropped_attrs, 2);
	rt_span_end(sp, 0);
}

Test(span, value_length_limit_never_splits_utf8)
{
	struct rt_span *sp;

	env_table[0][0] = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
	env_table[0][1] = "4";
	env_table[1][0] = NULL;
	rt_config_load(&rt_cfg, table_env);
	sp = rt_span_start("a", RT_KIND_INTERNAL, NULL, 0);
	rt_span_set_cstr(sp, "ascii", "abcdefgh");
	rt_span_set_cstr(sp, "utf8", "ab\xc3\xa9\xc3\xa9");	/* "abéé" */
	cr_assert_str_eq(rt_span_attr(sp, "ascii")->s, "abcd");
	cr_assert_str_eq(rt_span_attr(sp, "utf8")->s, "ab\xc3\xa9");
	rt_span_end(sp, 0);
}

Test(span, huge_values_stay_within_the_arena)
{
	struct rt_span *sp = rt_span_start("a", RT_KIND_INTERNAL, NULL, 0);
	static char big[10000];

	memset(big, 'x', sizeof(big) - 1);
	rt_span_set_cstr(sp, "big1", big);
	rt_span_set_cstr(sp, "big2", big);
	rt_span_set_cstr(sp, "big3", big);
	cr_assert(sp->arena_used <= RT_SPAN_ARENA);
	cr_assert_not_null(rt_span_attr(sp, "big1"));
	rt_span_end(sp, 0);
}

/*
 * rt_span_set_attrs(sp, kv, n) and rt_span_set_pack() with a pack of kv are
 * specified as the n single calls in order. Each row puts a span in some state (attributes already set, the
 * arena nearly full, tight limits) and then sets the same list both ways
 * on two spans; the spans must come out identical, field by field.
 */
static void same_attrs(const struct rt_span *a, const struct rt_span *b, const char *row)
{
	cr_assert_eq(a->nattrs, b->nattrs, "%s: nattrs", row);
	cr_assert_eq(a->nspan_attrs, b->nspan_attrs, "%s: nspan_attrs", row);
	cr_assert_eq(a->dropped_attrs, b->dropped_attrs, "%s: dropped", row);
	cr_assert_eq(a->arena_used, b->arena_used, "%s: arena", row);
	cr_assert_eq(a->key_bloom, b->key_bloom, "%s: key filter", row);
	for (int i = 0; i < a->nattrs; i++) {
		const struct rt_attr *x = &a->attrs[i], *y = &b->attrs[i];

		cr_assert_eq(x->key, y->key, "%s: key %d", row, i);
		cr_assert_eq(x->owner, y->owner, "%s: owner %d", row, i);
		cr_assert_eq(x->type, y->type, "%s: type %d", row, i);
		if (x->type == RT_V_STR) {
			cr_assert_eq(x->len, y->len, "%s: len %d", row, i);
			cr_assert_eq(memcmp(x->s, y->s, x->len + 1), 0, "%s: value %d", row, i);
			cr_assert_eq(x->s - a->arena, y->s - b->arena, "%s: arena place %d", row, i);
		} else {
			cr_assert_eq(x->v.i, y->v.i, "%s: value %d", row, i);
		}
	}
}

Test(span, set_attrs_is_the_single_calls_in_order)
{
	static char big[4000];
	static const struct {
		const char *row;
		const char *count_limit, *len_limit;	/* NULL: default */
		size_t pre_big;				/* bytes of one attribute set first */
		bool pre_dup;				/* "k.s2" set first */
	} rows[] = {
		{ "fresh span, defaults", NULL, NULL, 0, false },
		{ "a key of the list already set: replaced in place", NULL, NULL, 0, true },
		{ "count limit reached in the middle", "4", NULL, 0, false },
		{ "count limit reached before", "1", NULL, 0, false },
		{ "value length limit cuts some values", NULL, "3", 0, false },
		{ "arena too full for the last values", NULL, NULL, 3040, false },
		{ "arena full: strings dropped and counted", NULL, NULL, 3070, false },
		{ "everything at once", "5", "5", 3000, true },
	};
	const struct rt_attr kv[] = {
		{ .key = "k.s1", .type = RT_V_STR, .s = "short", .len = 5 },
		{ .key = "k.i1", .type = RT_V_INT, .v.i = 7 },
		{ .key = "k.s2", .type = RT_V_STR, .s = "a value of 23 bytes ...", .len = 23 },
		{ .key = "k.b", .type = RT_V_BOOL, .v.b = true },
		{ .key = "k.s3", .type = RT_V_STR, .s = "", .len = 0 },
		{ .key = "k.d", .type = RT_V_DOUBLE, .v.d = 2.5 },
		{ .key = "k.s4", .type = RT_V_STR, .s = "ab\xc3\xa9", .len = 4 },
	};
	const size_t n = sizeof(kv) / sizeof(kv[0]);

	memset(big, 'x', sizeof(big));
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct rt_span *one, *all, *packed;
		struct rt_attr_pack pk;
		int e = 0;

		if (rows[r].count_limit) {
			env_table[e][0] = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
			env_table[e++][1] = rows[r].count_limit;
		}
		if (rows[r].len_limit) {
			env_table[e][0] = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
			env_table[e++][1] = rows[r].len_limit;
		}
		env_table[e][0] = NULL;
		rt_config_load(&rt_cfg, table_env);
		one = rt_span_start("a", RT_KIND_SERVER, NULL, 0);
		all = rt_span_start("a", RT_KIND_SERVER, NULL, 0);
		cr_assert(one && all);
		for (int k = 0; k < 2; k++) {
			struct rt_span *sp = k ? all : one;

			if (rows[r].pre_dup)
				rt_span_set_str(sp, "k.s2", "before", 6);
			if (rows[r].pre_big)
				rt_span_set_str(sp, "k.big", big, rows[r].pre_big);
		}
		for (size_t i = 0; i < n; i++) {
			switch (kv[i].type) {
			case RT_V_STR: rt_span_set_str(one, kv[i].key, kv[i].s, kv[i].len); break;
			case RT_V_INT: rt_span_set_int(one, kv[i].key, kv[i].v.i); break;
			case RT_V_BOOL: rt_span_set_bool(one, kv[i].key, kv[i].v.b); break;
			case RT_V_DOUBLE: rt_span_set_double(one, kv[i].key, kv[i].v.d); break;
			}
		}
		rt_span_set_attrs(all, kv, n);
		same_attrs(one, all, rows[r].row);
		/* and as a prepared pack */
		cr_assert(rt_attr_pack_make(&pk, kv, n));
		packed = rt_span_start("a", RT_KIND_SERVER, NULL, 0);
		cr_assert(packed);
		if (rows[r].pre_dup)
			rt_span_set_str(packed, "k.s2", "before", 6);
		if (rows[r].pre_big)
			rt_span_set_str(packed, "k.big", big, rows[r].pre_big);
		rt_span_set_pack(packed, &pk);
		same_attrs(one, packed, rows[r].row);
		rt_span_end(one, 0);
		rt_span_end(all, 0);
		rt_span_end(packed, 0);
		drain();
	}
}

Test(span, events_links_status)
{
	struct rt_span *sp = rt_span_start("a", RT_KIND_INTERNAL, NULL, 0);
	struct rt_ctx other;
	int ev, i;

	ev = rt_span_add_event(sp, "exception", 0);
	cr_assert_eq(ev, 0);
	rt_span_event_set_str(sp, ev, "exception.type", "E", 1);
	cr_assert_eq(sp->attrs[sp->nattrs - 1].owner, RT_OWNER_EVENT(0));
	cr_assert_eq(sp->nspan_attrs, 0);
	for (i = 1; i < RT_SPAN_MAX_EVENTS + 3; i++)
		rt_span_add_event(sp, "e", 0);
	cr_assert_eq(sp->nevents, RT_SPAN_MAX_EVENTS);
	cr_assert_eq(sp->dropped_events, 3);

	memset(&other, 0, sizeof(other));
	cr_assert_eq(rt_span_add_link(sp, &other), -1);	/* invalid context */
	memset(other.trace_id, 1, 16);
	memset(other.span_id, 2, 8);
	other.valid = true;
	cr_assert_eq(rt_span_add_link(sp, &other), 0);

	rt_span_set_status(sp, RT_STATUS_ERROR, "boom");
	cr_assert_eq(sp->status, RT_STATUS_ERROR);
	cr_assert_str_eq(sp->status_msg, "boom");
	rt_span_set_status(sp, RT_STATUS_UNSET, NULL);	/* never overrides */
	cr_assert_eq(sp->status, RT_STATUS_ERROR);
	rt_span_set_status(sp, RT_STATUS_OK, "ignored");
	cr_assert_eq(sp->status, RT_STATUS_OK);
	cr_assert_null(sp->status_msg);
	rt_span_set_status(sp, RT_STATUS_ERROR, "late");	/* Ok is final */
	cr_assert_eq(sp->status, RT_STATUS_OK);
	rt_span_end(sp, 0);
}

Test(span, null_span_is_a_no_op)
{
	rt_span_set_cstr(NULL, "k", "v");
	rt_span_set_int(NULL, "k", 1);
	rt_span_set_status(NULL, RT_STATUS_ERROR, "x");
	cr_assert_eq(rt_span_add_event(NULL, "e", 0), -1);
	rt_span_end(NULL, 0);
}

Test(span, context_stack_parents_children)
{
	struct rt_span *server = rt_span_start("srv", RT_KIND_SERVER, NULL, 0);
	struct rt_ctx c;
	struct rt_span *child;

	rt_span_ctx(server, &c);
	cr_assert(rt_ctx_push(&c));
	child = rt_span_start("call", RT_KIND_CLIENT, NULL, 0);
	cr_assert_eq(memcmp(child->parent_id, server->span_id, 8), 0);
	cr_assert(!child->parent_remote);
	cr_assert(!rt_ctx_pop(child->span_id));	/* only its own context */
	cr_assert(rt_ctx_pop(server->span_id));
	rt_span_end(child, 0);
	rt_span_end(server, 0);
}

Test(queue, full_queue_drops_and_counts)
{
	uint64_t before;
	struct rt_span *sp;
	size_t n;

	env_table[0][0] = "OTEL_BSP_MAX_QUEUE_SIZE";
	env_table[0][1] = "4";
	env_table[1][0] = NULL;
	rt_config_load(&rt_cfg, table_env);
	/* Each Criterion test runs in a fresh process: the pool and queue
	 * are mapped here, with the size just set. */
	rt_init(table_env);
	before = rt_stats.dropped_queue_full;
	for (int i = 0; i < 10; i++) {
		sp = rt_span_start("q", RT_KIND_INTERNAL, NULL, 0);
		cr_assert_not_null(sp);
		rt_span_end(sp, 0);
	}
	n = rt_queue_len();
	cr_assert_eq(n, 4);
	cr_assert_eq(rt_stats.dropped_queue_full - before, 6);
}

struct prod {
	int n;
};

static void *producer(void *arg)
{
	struct prod *p = arg;

	for (int i = 0; i < p->n; i++)
		rt_span_end(rt_span_start("t", RT_KIND_INTERNAL, NULL, 0), 0);
	return NULL;
}

Test(span, concurrent_producers_lose_nothing_below_capacity)
{
	pthread_t th[4];
	struct prod p = { 400 };
	struct rt_span *out[256];
	size_t total = 0, n;
	uint8_t seen_first[8];

	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, producer, &p);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	while ((n = rt_queue_pop(out, 256)) > 0) {
		if (!total)
			memcpy(seen_first, out[0]->span_id, 8);
		for (size_t i = 0; i < n; i++) {
			cr_assert_str_eq(out[i]->name, "t");
			rt_pool_put(out[i]);
		}
		total += n;
	}
	cr_assert_eq(total, 1600);
}
