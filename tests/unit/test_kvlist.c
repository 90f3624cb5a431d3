/*
 * test_kvlist.c - Criterion suite for runtime/kvlist.c: the
 * OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS list syntax and the
 * percent decoder behind it.
 *
 * Each row gives an input, whether the list is accepted, and the members fn
 * must see, as "key:value|" per call (':' so that a split at the wrong '='
 * shows). A rejected list must produce no call at
 * all (OTel discards it whole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../../runtime/kvlist.h"

struct rec {
	char buf[512];
	size_t n;
	int calls;
};

/* The fn of rt_kvlist_parse: records "key:value|", checks the NULs. */
static void record(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	struct rec *r = arg;
	int w;

	cr_expect(key[klen] == '\0' && strlen(key) == klen, "key NUL-terminated at klen");
	cr_expect(val[vlen] == '\0' && strlen(val) == vlen, "value NUL-terminated at vlen");
	w = snprintf(r->buf + r->n, sizeof(r->buf) - r->n, "%s:%s|", key, val);
	cr_assert(w > 0 && (size_t)w < sizeof(r->buf) - r->n);
	r->n += (size_t)w;
	r->calls++;
}

struct kv_row {
	const char *in;
	bool ok;
	const char *calls;		/* "" when no call is expected */
	const char *rule;
};

static const struct kv_row kv_rows[] = {
	{ "", true, "", "empty value: no members" },
	{ "a=b", true, "a:b|", "one member" },
	{ "service.name=checkout,deployment.environment=prod", true,
	  "service.name:checkout|deployment.environment:prod|", "two members, in order" },
	{ " a = b ,\tc=d\t", true, "a:b|c:d|", "whitespace around key and value trimmed" },
	{ "k=v=w", true, "k:v=w|", "value may contain '=' after the first" },
	{ "k=", true, "k:|", "empty value allowed" },
	{ "k=%2C%3D%20x", true, "k:,= x|", "',' '=' ' ' arrive percent-encoded" },
	{ "k=%2c%3d", true, "k:,=|", "escapes of either case" },
	{ "%6Bey=v", true, "key:v|", "keys are percent-decoded too" },
	{ "k=a+b", true, "k:a+b|", "'+' is not a space" },
	{ "k=%20v%20", true, "k: v |", "encoded spaces survive the trim" },
	{ "k=%C3%A9", true, "k:\xc3\xa9|", "UTF-8 via escapes" },
	{ "a=1,,b=2", true, "a:1|b:2|", "empty member skipped" },
	{ "a=1,", true, "a:1|", "trailing comma" },
	{ " , a=1 ,\n", true, "a:1|", "whitespace-only members skipped" },
	{ "k", false, "", "member without '='" },
	{ "a=1,b", false, "", "a bad member rejects the whole list" },
	{ "=v", false, "", "empty key" },
	{ " \t=v", false, "", "key empty after trimming" },
	{ "a=1,=v", false, "", "empty key in a later member" },
	{ "k=%zz", false, "", "bad escape" },
	{ "a=1,b=%4", false, "", "truncated escape rejects all" },
	{ "k=%", false, "", "lone '%'" },
	{ "k=%%41", false, "", "'%' must start an escape" },
	{ "%zz=v", false, "", "bad escape in the key" },
	{ "k=a%00b", false, "", "escape to NUL rejected" },
};

Test(kvlist, parse_table)
{
	for (size_t i = 0; i < sizeof(kv_rows) / sizeof(kv_rows[0]); i++) {
		const struct kv_row *r = &kv_rows[i];
		struct rec rec = { .n = 0 };
		char scratch[256];
		bool ok;

		rec.buf[0] = '\0';
		ok = rt_kvlist_parse(r->in, scratch, sizeof(scratch), record, &rec);
		cr_expect(ok == r->ok, "row %zu (%s): \"%s\" returned %d", i, r->rule, r->in, ok);
		cr_expect_str_eq(rec.buf, r->calls, "row %zu (%s): calls", i, r->rule);
		if (!r->ok)
			cr_expect(rec.calls == 0, "row %zu (%s): fn never called", i, r->rule);
	}
}

Test(kvlist, scratch_overflow)
{
	struct rec rec = { .n = 0 };
	char *scratch = malloc(6);	/* exact: ASan sees any write past it */

	cr_assert(scratch != NULL);
	rec.buf[0] = '\0';
	cr_expect(rt_kvlist_parse("ab=cd", scratch, 6, record, &rec), "\"ab\\0cd\\0\" fits 6");
	cr_expect_str_eq(rec.buf, "ab:cd|");
	rec.n = 0;
	rec.calls = 0;
	rec.buf[0] = '\0';
	cr_expect(!rt_kvlist_parse("ab=cd,e=f", scratch, 6, record, &rec),
		  "more decoded text than cap: rejected");
	cr_expect(rec.calls == 0, "fn not called, not even for the member that fit");
	cr_expect(!rt_kvlist_parse("ab=cde", scratch, 6, record, &rec), "one byte over");
	cr_expect(rt_kvlist_parse("", scratch, 0, record, &rec), "empty list needs no scratch");
	free(scratch);
}

static void count_only(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	(*(int *)arg)++;
}

Test(kvlist, null_inputs)
{
	char scratch[16];
	int n = 0;

	cr_expect(rt_kvlist_parse(NULL, scratch, sizeof(scratch), count_only, &n), "NULL is empty");
	cr_expect(n == 0);
	cr_expect(rt_kvlist_parse("a=b", scratch, sizeof(scratch), NULL, NULL), "fn NULL: validate only");
	cr_expect(!rt_kvlist_parse("a", scratch, sizeof(scratch), NULL, NULL), "and still validates");
}

struct pd_row {
	const char *in;
	size_t cap;
	long ret;
	const char *out;
	const char *rule;
};

static const struct pd_row pd_rows[] = {
	{ "abc", 4, 3, "abc", "plain text" },
	{ "abc", 3, -1, 0, "no room for the NUL" },
	{ "%41%62", 3, 2, "Ab", "escapes, either case" },
	{ "%41", 2, 1, "A", "decoded length counts, not input length" },
	{ "%4", 8, -1, 0, "truncated escape" },
	{ "%", 8, -1, 0, "lone '%'" },
	{ "%G1", 8, -1, 0, "first digit not hex" },
	{ "%1G", 8, -1, 0, "second digit not hex" },
	{ "a+b", 8, 3, "a+b", "'+' untouched" },
	{ "", 1, 0, "", "empty" },
	{ "", 0, -1, 0, "cap 0 cannot hold the NUL" },
	{ "%00", 8, 1, "\0", "NUL decodes (the decoder itself allows it)" },
};

Test(kvlist, percent_decode_table)
{
	for (size_t i = 0; i < sizeof(pd_rows) / sizeof(pd_rows[0]); i++) {
		const struct pd_row *r = &pd_rows[i];
		size_t n = strlen(r->in);
		char *in = malloc(n ? n : 1), *out = malloc(r->cap ? r->cap : 1);
		long ret;

		cr_assert(in && out);
		memcpy(in, r->in, n);	/* no NUL after it: over-reads are caught */
		ret = rt_percent_decode(in, n, out, r->cap);
		cr_expect(ret == r->ret, "row %zu (%s): returned %ld", i, r->rule, ret);
		if (ret >= 0 && r->out)
			cr_expect(memcmp(out, r->out, (size_t)ret + 1) == 0, "row %zu (%s): output",
				  i, r->rule);
		free(in);
		free(out);
	}
}
