// SOURCES: hooks/pq_sql.c
/*
 * fuzz_pq_sql.c - libFuzzer target for hooks/pq_sql.c, the PostgreSQL
 * query-text analyser and sqlcommenter.
 *
 * Build and run (or tests/fuzz/run.sh pq_sql):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=gnu11 \
 *     tests/fuzz/fuzz_pq_sql.c hooks/pq_sql.c -o fz_pq_sql
 *   mkdir -p /tmp/fzq && ./fz_pq_sql -max_total_time=60 /tmp/fzq tests/fuzz/corpus/pq_sql/
 *
 * Input: byte 0 is the output capacity (0: no output buffer, summary only;
 * its low 2 bits also pick the tracestate given to the sqlcommenter); the
 * rest is the query. The query and every output buffer are heap blocks of
 * exactly their size, so ASan reports a read past qlen or a write past cap.
 *
 * The target traps unless:
 * - out is NUL-terminated at text_len < cap; summary and op are
 *   NUL-terminated at their _len (strlen agrees) within their maxima;
 * - with cap > qlen (room for everything: the text is never longer than
 *   the query) nothing is truncated, and the small-cap text is a prefix
 *   of that full text; when the small cap did not truncate, the two
 *   analyses agree on every field;
 * - the summary-only analysis agrees with the full one on everything but
 *   the text;
 * - pq_sql_comment() either refuses (0, out empty) or writes len < cap
 *   bytes ending in "*" "/" or "*" "/;", NUL-terminated; it refuses when the
 *   query has a comment; a query it commented has a comment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../hooks/pq_sql.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static void check_fields(const struct pq_sql *m)
{
	CHECK(m->summary_len <= PQ_SQL_SUMMARY_MAX);
	CHECK(m->summary[m->summary_len] == 0);
	CHECK(strlen(m->summary) == m->summary_len);
	CHECK(m->op_len <= PQ_SQL_OP_MAX);
	CHECK(m->op[m->op_len] == 0);
	CHECK(strlen(m->op) == m->op_len);
	if (m->statements != 1)
		CHECK(m->op_len == 0);
}

static bool same_facts(const struct pq_sql *a, const struct pq_sql *b)
{
	return a->parameterised == b->parameterised && a->has_comment == b->has_comment &&
	       a->statements == b->statements && a->summary_len == b->summary_len &&
	       !strcmp(a->summary, b->summary) && a->summary_truncated == b->summary_truncated &&
	       a->op_len == b->op_len && !strcmp(a->op, b->op);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const states[] = { NULL, "", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
					      "a=b'c*/d" };
	struct pq_sql small, full, none;
	size_t cap, n, ccap, got;
	char *q, *out, *fout, *cout;

	if (size < 1)
		return 0;
	cap = data[0];
	n = size - 1;
	q = malloc(n ? n : 1);
	CHECK(q != NULL);
	memcpy(q, data + 1, n);

	/* the capacity chosen by the input */
	out = cap ? malloc(cap) : NULL;
	CHECK(!cap || out != NULL);
	pq_sql_analyse(q, n, out, cap, &small);
	check_fields(&small);
	if (cap) {
		CHECK(small.text_len < cap);
		CHECK(out[small.text_len] == 0);
	} else {
		CHECK(small.text_len == 0);
	}

	/* room for everything */
	fout = malloc(n + 1);
	CHECK(fout != NULL);
	pq_sql_analyse(q, n, fout, n + 1, &full);
	check_fields(&full);
	CHECK(!full.text_truncated);
	CHECK(full.text_len <= n && fout[full.text_len] == 0);
	if (cap) {
		CHECK(small.text_len <= full.text_len);
		CHECK(!memcmp(out, fout, small.text_len));
		CHECK(small.text_truncated == (small.text_len < full.text_len || cap <= full.text_len));
		if (!small.text_truncated)
			CHECK(small.text_len == full.text_len && same_facts(&small, &full));
	}

	/* summary only */
	pq_sql_analyse(q, n, NULL, 0, &none);
	check_fields(&none);
	CHECK(none.text_len == 0 && !none.text_truncated);
	CHECK(same_facts(&none, &full));

	/* sqlcommenter, with a capacity from the first byte too */
	ccap = n + (size_t)cap * 2;
	cout = malloc(ccap ? ccap : 1);
	CHECK(cout != NULL);
	got = pq_sql_comment(q, n, TP, states[cap & 3], cout, ccap);
	if (got) {
		CHECK(got < ccap && cout[got] == 0);
		CHECK(!full.has_comment);
		CHECK((got >= 2 && !memcmp(cout + got - 2, "*/", 2)) ||
		      (got >= 3 && !memcmp(cout + got - 3, "*/;", 3)));
		/* the result is a statement with a comment, and nothing else changed */
		{
			struct pq_sql c;
			char *cq = malloc(got), *ct = malloc(got + 1);

			CHECK(cq && ct);
			memcpy(cq, cout, got);
			pq_sql_analyse(cq, got, ct, got + 1, &c);
			CHECK(c.has_comment);
			CHECK(c.statements == full.statements);
			free(cq);
			free(ct);
		}
	} else if (ccap) {
		CHECK(cout[0] == 0);
	}

	free(q);
	free(out);
	free(fout);
	free(cout);
	return 0;
}
