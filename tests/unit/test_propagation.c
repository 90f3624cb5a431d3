/*
 * test_propagation.c - Criterion suite for runtime/propagation.c and
 * runtime/hex.c: traceparent, tracestate, baggage, B3 single and multi,
 * composite extract/inject, OTEL_PROPAGATORS.
 *
 * Tables carry one input per row, the expected result beside it and the
 * spec rule it exercises. Rows modelled on the public W3C trace-context test
 * suite (w3c/trace-context test/test.py) name the test they come from.
 * Every parser input is copied into a heap block of exactly its length, so
 * under -fsanitize=address a read past len is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../../runtime/propagation.h"

#define TID "12345678901234567890123456789012"
#define SID "1234567890123456"
#define TP(ver, flags) ver "-" TID "-" SID "-" flags

/* A heap copy of s[0..n) with nothing after it, for over-read detection. */
static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	cr_assert(p != NULL);
	memcpy(p, s, n);
	return p;
}

/* "c" repeated n times followed by suffix, into a static-free heap string. */
static char *rep(char c, size_t n, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *p = malloc(pl + n + sl + 1);

	cr_assert(p != NULL);
	memcpy(p, prefix, pl);
	memset(p + pl, c, n);
	memcpy(p + pl + n, suffix, sl + 1);
	return p;
}

static void hex_of(const uint8_t *id, size_t n, char *out)
{
	rt_hex_encode(id, n, out);
}

/* ------------------------------------------------------------------ hex */

Test(hex, encode_decode)
{
	static const uint8_t id[4] = { 0x00, 0x9f, 0xa0, 0xff };
	uint8_t back[4] = { 0 }, keep[4] = { 1, 2, 3, 4 };
	char out[9];

	rt_hex_encode(id, 4, out);
	cr_expect_str_eq(out, "009fa0ff", "lowercase, NUL-terminated");
	cr_expect(rt_hex_decode_lower("009fa0ff", 4, back), "lowercase decodes");
	cr_expect(memcmp(back, id, 4) == 0, "round trip");
	cr_expect(!rt_hex_decode_lower("009FA0FF", 4, keep), "uppercase rejected (W3C HEXDIGLC)");
	cr_expect(!rt_hex_decode_lower("009fa0fg", 4, keep), "non-hex rejected");
	cr_expect(!rt_hex_decode_lower("0 9fa0ff", 4, keep), "space rejected");
	cr_expect(keep[0] == 1 && keep[3] == 4, "id untouched on failure");
	cr_expect(rt_hex_decode_lower("", 0, keep), "zero-length decode is trivially fine");
	rt_hex_encode(id, 0, out);
	cr_expect_str_eq(out, "", "zero-length encode writes just the NUL");
}

/* ------------------------------------------------------------------ traceparent */

struct tp_row {
	const char *in;
	bool ok;
	const char *trace;		/* expected hex when ok */
	const char *span;
	uint8_t flags;
	const char *rule;
};

static const struct tp_row tp_rows[] = {
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true,
	  "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0x01, "W3C example, sampled" },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true,
	  "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0x00, "W3C example, not sampled" },
	{ TP("00", "ff"), true, TID, SID, 0xff, "version 00: flags kept as received" },
	{ TP("00", "02"), true, TID, SID, 0x02, "Level 2 random flag kept" },
	/* test_traceparent_version_0x00 */
	{ TP("00", "01") ".", false, 0, 0, 0, "version 00 must be exactly 55 chars" },
	{ TP("00", "01") "-what-the-future-will-be-like", false, 0, 0, 0, "version 00 with extra fields" },
	/* test_traceparent_version_0xcc */
	{ TP("cc", "01"), true, TID, SID, 0x01, "future version, 55 chars" },
	{ TP("cc", "01") "-what-the-future-will-be-like", true, TID, SID, 0x01,
	  "future version: extra fields after '-' ignored" },
	{ TP("cc", "01") ".what-the-future-will-be-like", false, 0, 0, 0,
	  "future version: char 55 must be '-'" },
	{ TP("cc", "03"), true, TID, SID, 0x01, "future version: only the sampled bit is parsed" },
	{ TP("01", "00"), true, TID, SID, 0x00, "version 01 parsed by position" },
	/* test_traceparent_version_0xff */
	{ TP("ff", "01"), false, 0, 0, 0, "version ff is invalid" },
	/* test_traceparent_version_illegal_characters */
	{ TP(".0", "01"), false, 0, 0, 0, "version: illegal char" },
	{ TP("0.", "01"), false, 0, 0, 0, "version: illegal char" },
	{ TP("0A", "01"), false, 0, 0, 0, "version: uppercase hex" },
	/* test_traceparent_version_too_long / too_short */
	{ TP("000", "01"), false, 0, 0, 0, "version: 3 hex digits" },
	{ TP("0000", "01"), false, 0, 0, 0, "version: 4 hex digits" },
	{ TP("0", "01"), false, 0, 0, 0, "version: 1 hex digit" },
	/* test_traceparent_trace_id_* */
	{ "00-00000000000000000000000000000000-" SID "-01", false, 0, 0, 0, "trace-id all zero" },
	{ "00-.2345678901234567890123456789012-" SID "-01", false, 0, 0, 0, "trace-id illegal char" },
	{ "00-1234567890123456789012345678901.-" SID "-01", false, 0, 0, 0, "trace-id illegal char" },
	{ "00-123456789012345678901234567890123-" SID "-01", false, 0, 0, 0, "trace-id 33 chars" },
	{ "00-1234567890123456789012345678901-" SID "-01", false, 0, 0, 0, "trace-id 31 chars" },
	{ "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", false, 0, 0, 0, "trace-id uppercase" },
	/* test_traceparent_parent_id_* */
	{ "00-" TID "-0000000000000000-01", false, 0, 0, 0, "parent-id all zero" },
	{ "00-" TID "-.234567890123456-01", false, 0, 0, 0, "parent-id illegal char" },
	{ "00-" TID "-123456789012345.-01", false, 0, 0, 0, "parent-id illegal char" },
	{ "00-" TID "-12345678901234567-01", false, 0, 0, 0, "parent-id 17 chars" },
	{ "00-" TID "-123456789012345-01", false, 0, 0, 0, "parent-id 15 chars" },
	{ "00-" TID "-00F067AA0BA902B7-01", false, 0, 0, 0, "parent-id uppercase" },
	/* test_traceparent_trace_flags_* */
	{ TP("00", ".0"), false, 0, 0, 0, "flags illegal char" },
	{ TP("00", "0."), false, 0, 0, 0, "flags illegal char" },
	{ TP("00", "001"), false, 0, 0, 0, "flags 3 chars" },
	{ TP("00", "1"), false, 0, 0, 0, "flags 1 char" },
	{ TP("00", "0A"), false, 0, 0, 0, "flags uppercase" },
	/* test_traceparent_ows_handling */
	{ " " TP("00", "01"), true, TID, SID, 0x01, "leading space is OWS" },
	{ "\t" TP("00", "01"), true, TID, SID, 0x01, "leading tab is OWS" },
	{ TP("00", "01") " ", true, TID, SID, 0x01, "trailing space is OWS" },
	{ TP("00", "01") "\t", true, TID, SID, 0x01, "trailing tab is OWS" },
	{ "\t " TP("00", "01") " \t", true, TID, SID, 0x01, "OWS both sides" },
	{ "\n" TP("00", "01"), false, 0, 0, 0, "newline is not OWS" },
	/* separators and length */
	{ "00_" TID "-" SID "-01", false, 0, 0, 0, "separator at 2 must be '-'" },
	{ "00-" TID "_" SID "-01", false, 0, 0, 0, "separator at 35 must be '-'" },
	{ "00-" TID "-" SID "_01", false, 0, 0, 0, "separator at 52 must be '-'" },
	{ "00-" TID "-" SID "-", false, 0, 0, 0, "54 chars: too short" },
	{ "", false, 0, 0, 0, "empty value" },
	{ "   ", false, 0, 0, 0, "only OWS" },
	{ "00-" TID "-" SID " 01", false, 0, 0, 0, "space is not a separator" },
};

Test(traceparent, parse_table)
{
	for (size_t i = 0; i < sizeof(tp_rows) / sizeof(tp_rows[0]); i++) {
		const struct tp_row *r = &tp_rows[i];
		size_t n = strlen(r->in);
		char *in = exact(r->in, n);
		struct rt_ctx ctx;
		bool ok;

		memset(&ctx, 0, sizeof(ctx));
		ctx.valid = true;	/* a failed parse must clear it */
		strcpy(ctx.tracestate, "stale=1");
		ok = rt_traceparent_parse(in, n, &ctx);
		cr_expect(ok == r->ok, "row %zu (%s): \"%s\" returned %d", i, r->rule, r->in, ok);
		cr_expect(ctx.valid == r->ok, "row %zu (%s): valid %d", i, r->rule, ctx.valid);
		if (ok && r->ok) {
			char t[33], s[17];

			hex_of(ctx.trace_id, 16, t);
			hex_of(ctx.span_id, 8, s);
			cr_expect_str_eq(t, r->trace, "row %zu (%s): trace-id", i, r->rule);
			cr_expect_str_eq(s, r->span, "row %zu (%s): parent-id", i, r->rule);
			cr_expect(ctx.flags == r->flags, "row %zu (%s): flags %02x", i, r->rule, ctx.flags);
			cr_expect(ctx.remote, "row %zu: remote", i);
			cr_expect_str_eq(ctx.tracestate, "", "row %zu: tracestate cleared", i);
		}
		free(in);
	}
}

Test(traceparent, format)
{
	struct rt_ctx ctx, back;
	char out[56];

	memset(&ctx, 0, sizeof(ctx));
	cr_assert(rt_hex_decode_lower("4bf92f3577b34da6a3ce929d0e0e4736", 16, ctx.trace_id));
	cr_assert(rt_hex_decode_lower("00f067aa0ba902b7", 8, ctx.span_id));
	ctx.flags = RT_FLAG_SAMPLED;
	cr_expect(rt_traceparent_format(&ctx, out) == 55, "returns 55");
	cr_expect_str_eq(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			 "version 00, lowercase");
	cr_expect(rt_traceparent_parse(out, 55, &back), "format output parses");
	cr_expect(memcmp(back.trace_id, ctx.trace_id, 16) == 0 &&
		  memcmp(back.span_id, ctx.span_id, 8) == 0, "round trip");

	ctx.flags = 0xff;
	rt_traceparent_format(&ctx, out);
	cr_expect_str_eq(out + 52, "-03", "undefined flag bits are sent as zero (W3C: MUST set to zero)");
	ctx.flags = RT_FLAG_RANDOM;
	rt_traceparent_format(&ctx, out);
	cr_expect_str_eq(out + 52, "-02", "random flag kept (Level 2)");
}

/* ------------------------------------------------------------------ tracestate */

struct ts_row {
	const char *in;
	bool ok;
	const char *out;		/* expected output when ok */
	const char *rule;
};

static const struct ts_row ts_rows[] = {
	{ "foo=1,bar=2", true, "foo=1,bar=2", "two members, order kept" },
	{ "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true,
	  "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "W3C example" },
	{ "", true, "", "empty tracestate MUST be accepted" },
	{ " \t ", true, "", "whitespace-only list member allowed" },
	{ ",,foo=1,, ,", true, "foo=1", "empty list members skipped" },
	/* test_tracestate_ows_handling */
	{ "foo=1 \t , \t bar=2, \t baz=3", true, "foo=1,bar=2,baz=3", "OWS around members" },
	{ "foo=1\t \t,\t \tbar=2,\t \tbaz=3", true, "foo=1,bar=2,baz=3", "tabs around members" },
	{ " foo=1", true, "foo=1", "leading space" },
	{ "\tfoo=1", true, "foo=1", "leading tab" },
	{ "foo=1 ", true, "foo=1", "trailing space is OWS, not value" },
	{ "foo=1\t", true, "foo=1", "trailing tab" },
	{ "\t foo=1 \t", true, "foo=1", "both" },
	/* test_tracestate_multiple_headers_different_keys (fields joined with ',') */
	{ "foo=1,bar=2,rojo=1,congo=2,baz=3", true, "foo=1,bar=2,rojo=1,congo=2,baz=3",
	  "joined fields keep order" },
	/* test_tracestate_key_illegal_characters */
	{ "foo =1", false, 0, "space inside key" },
	{ "FOO=1", false, 0, "uppercase key" },
	{ "foo.bar=1", false, 0, "'.' not a keychar" },
	/* test_tracestate_key_illegal_vendor_format */
	{ "foo@=1,bar=2", false, 0, "empty system-id" },
	{ "@foo=1,bar=2", false, 0, "empty tenant-id" },
	{ "foo@@bar=1,bar=2", false, 0, "two '@'" },
	{ "foo@bar@baz=1,bar=2", false, 0, "two '@'" },
	/* key grammar, REC 2021-11-23 */
	{ "1foo=1", false, 0, "simple-key must start with lcalpha (Level 1 REC)" },
	{ "_foo=1", false, 0, "simple-key must start with lcalpha" },
	{ "a0_-*/=1", true, "a0_-*/=1", "all simple-key chars" },
	{ "fw529a3039@dt=1", true, "fw529a3039@dt=1", "tenant@system" },
	{ "1tenant@sys=1", true, "1tenant@sys=1", "tenant-id may start with a digit" },
	{ "tenant@1sys=1", false, 0, "system-id must start with lcalpha" },
	{ "=1", false, 0, "empty key" },
	{ "foo", false, 0, "member without '='" },
	/* test_tracestate_value_illegal_characters */
	{ "foo=bar=baz", false, 0, "'=' in value" },
	{ "foo=,bar=3", false, 0, "empty value: 0*255(chr) nblk-chr needs 1 char" },
	{ "foo=", false, 0, "empty value" },
	{ "foo= ", false, 0, "value of only a space (trimmed: empty)" },
	{ "foo= b", true, "foo= b", "leading spaces are part of the value" },
	{ "foo=a b", true, "foo=a b", "inner space allowed" },
	{ "foo=a\tb", false, 0, "tab in value" },
	{ "foo=a\x7f", false, 0, "DEL in value" },
	{ "foo=\xc3\xa9", false, 0, "non-ASCII in value" },
	{ "foo=bar,,x=a\x01", false, 0, "control char in a later member" },
	/* test_tracestate_duplicated_keys */
	{ "foo=1,foo=1", false, 0, "duplicate key, same value" },
	{ "foo=1,foo=2", false, 0, "duplicate key" },
	{ "foo=1,bar=2,foo=3", false, 0, "duplicate key, not adjacent" },
	{ "foo=1,foo@t=2", true, "foo=1,foo@t=2", "different keys" },
};

Test(tracestate, sanitize_table)
{
	for (size_t i = 0; i < sizeof(ts_rows) / sizeof(ts_rows[0]); i++) {
		const struct ts_row *r = &ts_rows[i];
		size_t n = strlen(r->in);
		char *in = exact(r->in, n);
		char out[RT_TRACESTATE_MAX + 1];
		bool ok;

		memset(out, 'X', sizeof(out));
		ok = rt_tracestate_sanitize(in, n, out, sizeof(out));
		cr_expect(ok == r->ok, "row %zu (%s): \"%s\" returned %d", i, r->rule, r->in, ok);
		if (ok && r->ok)
			cr_expect_str_eq(out, r->out, "row %zu (%s)", i, r->rule);
		if (!ok)
			cr_expect_str_eq(out, "", "row %zu: out is \"\" on failure", i);
		free(in);
	}
}

/* test_tracestate_all_allowed_characters */
Test(tracestate, all_allowed_characters)
{
	char key[64], in[256], out[RT_TRACESTATE_MAX + 1];
	char value[128];
	size_t v = 0;

	strcpy(key, "abcdefghijklmnopqrstuvwxyz0123456789_-*/");
	for (int c = 0x20; c <= 0x7e; c++)
		if (c != ',' && c != '=')
			value[v++] = (char)c;
	value[v] = '\0';
	snprintf(in, sizeof(in), "%s=%s", key, value);
	cr_expect(rt_tracestate_sanitize(in, strlen(in), out, sizeof(out)), "simple key");
	cr_expect_str_eq(out, in);

	strcat(key, "@a-z0-9_-*/");
	snprintf(in, sizeof(in), "%s=%s", key, value);
	cr_expect(rt_tracestate_sanitize(in, strlen(in), out, sizeof(out)), "multi-tenant key");
	cr_expect_str_eq(out, in);
}

/* test_tracestate_key_length_limit: ids at and just past their limits */
Test(tracestate, key_length_limits)
{
	struct {
		char c;
		size_t n;
		const char *suffix;
		bool ok;
		const char *rule;
	} rows[] = {
		{ 'z', 256, "=1", true, "simple-key of 256" },
		{ 'z', 257, "=1", false, "simple-key of 257" },
		{ 't', 241, "@vvvvvvvvvvvvvv=1", true, "tenant 241 + system 14" },
		{ 't', 242, "@v=1", false, "tenant 242" },
		{ 't', 1, "@vvvvvvvvvvvvvvv=1", false, "system 15" },
	};
	char out[RT_TRACESTATE_MAX + 1];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *in = rep(rows[i].c, rows[i].n, "foo=1,", rows[i].suffix);
		size_t n = strlen(in);
		char *x = exact(in, n);
		bool ok = rt_tracestate_sanitize(x, n, out, sizeof(out));

		cr_expect(ok == rows[i].ok, "row %zu (%s) returned %d", i, rows[i].rule, ok);
		if (ok)
			cr_expect(strncmp(out, "foo=1,", 6) == 0, "row %zu: foo kept", i);
		free(x);
		free(in);
	}
}

/* value length 256 is the maximum: 0*255(chr) nblk-chr */
Test(tracestate, value_length_limit)
{
	char out[RT_TRACESTATE_MAX + 1];
	char *ok = rep('v', 256, "k=", ""), *bad = rep('v', 257, "k=", "");

	cr_expect(rt_tracestate_sanitize(ok, strlen(ok), out, sizeof(out)), "256-char value");
	cr_expect_str_eq(out, ok);
	cr_expect(!rt_tracestate_sanitize(bad, strlen(bad), out, sizeof(out)), "257-char value");
	free(ok);
	free(bad);
}

/* test_tracestate_member_count_limit */
Test(tracestate, member_count_limit)
{
	char in[512], out[RT_TRACESTATE_MAX + 1];
	size_t n = 0;

	for (int i = 1; i <= 32; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%sbar%02d=%02d", i > 1 ? "," : "", i, i);
	cr_expect(rt_tracestate_sanitize(in, n, out, sizeof(out)), "32 members accepted");
	cr_expect_str_eq(out, in, "32 members kept");

	n += (size_t)snprintf(in + n, sizeof(in) - n, ",,  ,");
	cr_expect(rt_tracestate_sanitize(in, n, out, sizeof(out)), "empty members do not count");

	n += (size_t)snprintf(in + n, sizeof(in) - n, "bar33=33");
	cr_expect(!rt_tracestate_sanitize(in, n, out, sizeof(out)), "33 members rejected");
	cr_expect_str_eq(out, "", "rejected: out empty");
}

/* W3C "tracestate Limits": drop whole entries, >128 chars first, then from the end */
Test(tracestate, truncation)
{
	char *a = rep('a', 200, "a=", ""), *c = rep('c', 150, "c=", "");
	char in[1024], out[RT_TRACESTATE_MAX + 1], want[1024];
	size_t n;

	n = (size_t)snprintf(in, sizeof(in), "%s,b=1,%s,d=2", a, c);
	/* room for a,b,d exactly: the last >128 member (c) goes first */
	snprintf(want, sizeof(want), "%s,b=1,d=2", a);
	cr_expect(rt_tracestate_sanitize(in, n, out, strlen(want) + 1), "fits after dropping c");
	cr_expect_str_eq(out, want, ">128 members dropped from the end first; a (also >128) kept");

	/* one byte less: a goes too, the small members stay */
	cr_expect(rt_tracestate_sanitize(in, n, out, strlen(want)), "still valid");
	cr_expect_str_eq(out, "b=1,d=2", "then the remaining >128 member");

	cr_expect(rt_tracestate_sanitize("a=1,b=2,c=3", 11, out, 8), "no big members");
	cr_expect_str_eq(out, "a=1,b=2", "then members from the end");

	cr_expect(rt_tracestate_sanitize("a=1,b=2,c=3", 11, out, 12), "exact fit");
	cr_expect_str_eq(out, "a=1,b=2,c=3", "nothing dropped when it fits (11 chars + NUL)");

	cr_expect(rt_tracestate_sanitize("a=1", 3, out, 1), "cap 1: valid");
	cr_expect_str_eq(out, "", "cap 1: everything dropped");
	cr_expect(!rt_tracestate_sanitize("a=1", 3, out, 0), "cap 0: nothing can be written");

	/* four 202-char members into 512: the last two go */
	{
		char *m = rep('x', 200, "", "");

		n = (size_t)snprintf(in, sizeof(in), "k1=%s,k2=%s,k3=%s,k4=%s", m, m, m, m);
		cr_assert(n < sizeof(in));
		cr_expect(rt_tracestate_sanitize(in, n, out, sizeof(out)), "oversize is still valid");
		snprintf(want, sizeof(want), "k1=%s,k2=%s", m, m);
		cr_expect_str_eq(out, want, "512-char budget keeps the first two");
		free(m);
	}
	free(a);
	free(c);
}

/* ------------------------------------------------------------------ baggage */

struct bag_row {
	const char *in;
	bool ok;
	const char *out;
	const char *rule;
};

static const struct bag_row bag_rows[] = {
	{ "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
	  true, "key1=value1;property1;property2,key2=value2,key3=value3;propertyKey=propertyValue",
	  "W3C example; OWS removed, properties kept" },
	{ "SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t ValueProp \t = \t PropVal",
	  true, "SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;ValueProp=PropVal", "OWS everywhere" },
	{ "userId=alice,serverNode=DF%2028,isProduction=false", true,
	  "userId=alice,serverNode=DF%2028,isProduction=false", "percent escapes kept encoded" },
	{ "k=v=w", true, "k=v=w", "value MAY contain '='" },
	{ "k=", true, "k=", "value = *baggage-octet: may be empty" },
	{ "k=;p", true, "k=;p", "empty value with property" },
	{ "k=v;p=", true, "k=v;p=", "property with empty value" },
	{ "k=v;p1;p2=x;p3", true, "k=v;p1;p2=x;p3", "mixed properties" },
	{ "k=v ;p", true, "k=v;p", "OWS before ';'" },
	{ "!#$%&'*+-.^_`|~09AZaz=1", true, "!#$%&'*+-.^_`|~09AZaz=1", "all tchar in key" },
	{ "k=!#$&'()*+-./09:<=>?@AZ[]^_`az{|}~", true, "k=!#$&'()*+-./09:<=>?@AZ[]^_`az{|}~",
	  "all baggage-octets but '%'" },
	{ "k=%41%7e", true, "k=%41%7e", "escapes of either case" },
	{ ",,,a=1,,", true, "a=1", "empty members dropped" },
	{ "a=1,bad,b=2", true, "a=1,b=2", "member without '=' dropped, rest kept" },
	{ "a=1,k=%zz,b=2", true, "a=1,b=2", "bad escape drops the member" },
	{ "a=1,k=%2,b=2", true, "a=1,b=2", "truncated escape" },
	{ "a=1,k=%2G", true, "a=1", "second escape digit not hex" },
	{ "a=1,k=%G2", true, "a=1", "first escape digit not hex" },
	{ "a=1,k=%", true, "a=1", "lone '%' at the end" },
	{ "a=1,k=v;p=%G0", true, "a=1", "bad escape in a property value" },
	{ "k=%zz", false, "", "nothing valid remains" },
	{ "", false, "", "empty header" },
	{ "   ", false, "", "only OWS" },
	{ "=v", false, "", "empty key" },
	{ "k", false, "", "key without '='" },
	{ "a=1,k", true, "a=1", "last member without '='" },
	{ "k v=1", false, "", "space inside key" },
	{ "k=a b", false, "", "space inside value" },
	{ "k=v p", false, "", "text after value without ';'" },
	{ "k=\"q\"", false, "", "DQUOTE not a baggage-octet" },
	{ "k=a\\b", false, "", "backslash not a baggage-octet" },
	{ "k=v;", false, "", "empty property key" },
	{ "k=v;;p", false, "", "empty property" },
	{ "k=\xc3\xa9", false, "", "raw UTF-8 must be percent-encoded" },
	{ "k\xc3\xa9=v", false, "", "non-token key" },
	{ "k(=v", false, "", "'(' not a tchar" },
	{ "k=v\x01", false, "", "control char" },
};

Test(baggage, sanitize_table)
{
	for (size_t i = 0; i < sizeof(bag_rows) / sizeof(bag_rows[0]); i++) {
		const struct bag_row *r = &bag_rows[i];
		size_t n = strlen(r->in);
		char *in = exact(r->in, n);
		static char out[RT_BAGGAGE_MAX + 1];
		bool ok;

		memset(out, 'X', sizeof(out));
		ok = rt_baggage_sanitize(in, n, out, sizeof(out));
		cr_expect(ok == r->ok, "row %zu (%s): \"%s\" returned %d", i, r->rule, r->in, ok);
		cr_expect_str_eq(out, r->out, "row %zu (%s)", i, r->rule);
		free(in);
	}
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

Test(baggage, limits)
{
	static char in[20000], out[RT_BAGGAGE_MAX + 1];
	size_t n = 0;
	char *m;

	/* 65 members: at most 64 are kept, whole members */
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%sk%d=v", i ? "," : "", i);
	cr_expect(rt_baggage_sanitize(in, n, out, sizeof(out)), "65 members");
	cr_expect(count_char(out, ',') == 63, "64 members kept, got %zu commas", count_char(out, ','));
	cr_expect(strstr(out, "k63=v") != NULL && strstr(out, "k64=v") == NULL, "the 65th dropped");

	/* 8192 bytes exactly is kept (w3c/baggage test_serialize_long_entry) */
	m = rep('0', 8190, "a=", "");
	cr_expect(rt_baggage_sanitize(m, strlen(m), out, sizeof(out)), "8192-byte member");
	cr_expect(strlen(out) == 8192, "kept whole");
	free(m);
	m = rep('0', 8191, "a=", "");
	cr_expect(!rt_baggage_sanitize(m, strlen(m), out, sizeof(out)), "8193 bytes: dropped");
	cr_expect_str_eq(out, "");
	free(m);

	/* a larger buffer does not raise the 8192-byte limit */
	{
		static char big[10000];

		m = rep('0', 8191, "a=", "");
		cr_expect(!rt_baggage_sanitize(m, strlen(m), big, sizeof(big)), "8193 bytes, cap 10000");
		free(m);
	}

	/* >8192 total: whole members dropped, a later short one still fits */
	m = rep('x', 2998, "", "");
	n = (size_t)snprintf(in, sizeof(in), "a=%s,b=%s,c=%s,z=1", m, m, m);
	cr_expect(rt_baggage_sanitize(in, n, out, sizeof(out)), "oversize list");
	cr_expect(strlen(out) <= RT_BAGGAGE_MAX, "within 8192");
	cr_expect(strncmp(out, "a=", 2) == 0 && strstr(out, ",b=") && !strstr(out, ",c=") &&
		  strstr(out, ",z=1"), "a and b kept, c dropped, z fits");
	free(m);

	/* a small cap bounds the output the same way */
	cr_expect(rt_baggage_sanitize("abc=12345678,b=2", 16, out, 10), "cap 10");
	cr_expect_str_eq(out, "b=2", "member longer than cap-1 dropped");
	cr_expect(!rt_baggage_sanitize("a=1", 3, out, 0), "cap 0");
	{
		char *small = malloc(4);	/* exact: ASan sees any write past it */

		cr_assert(small != NULL);
		cr_expect(rt_baggage_sanitize("a=1,b=2", 7, small, 4), "first member fills cap");
		cr_expect_str_eq(small, "a=1", "no room left for ',' and more");
		free(small);
	}
	cr_expect(!rt_baggage_sanitize("a=1", 3, out, 1), "cap 1: nothing fits");
	cr_expect_str_eq(out, "");
}

/* ------------------------------------------------------------------ B3 single */

#define B3T "80f198ee56343ba864fe8b2a57d3eff7"
#define B3S "e457b5a2e4d86bd1"
#define B3P "05e3ac9a4f6e3b90"

struct b3_row {
	const char *in;
	bool ok;
	const char *trace;
	const char *span;
	uint8_t flags;
	const char *rule;
};

static const struct b3_row b3_rows[] = {
	{ B3T "-" B3S "-1-" B3P, true, B3T, B3S, 1, "all four fields" },
	{ B3T "-" B3S "-1", true, B3T, B3S, 1, "sampled" },
	{ B3T "-" B3S "-0", true, B3T, B3S, 0, "not sampled" },
	{ B3T "-" B3S "-d", true, B3T, B3S, 1, "debug implies sampled (OTel)" },
	{ B3T "-" B3S "-0-" B3P, true, B3T, B3S, 0, "deny with parent" },
	{ B3T "-" B3S, true, B3T, B3S, 1, "no sampling: deferred, treated as sampled" },
	{ "64fe8b2a57d3eff7-" B3S "-1", true, "000000000000000064fe8b2a57d3eff7", B3S, 1,
	  "16-hex trace id left-padded" },
	{ " " B3T "-" B3S "-1 ", true, B3T, B3S, 1, "OWS around the value" },
	{ "0", false, 0, 0, 0, "lone deny carries no ids" },
	{ "1", false, 0, 0, 0, "lone accept carries no ids" },
	{ "d", false, 0, 0, 0, "lone debug carries no ids" },
	{ "", false, 0, 0, 0, "empty" },
	{ "80F198EE56343BA864FE8B2A57D3EFF7-" B3S "-1", false, 0, 0, 0, "uppercase trace id" },
	{ B3T "-E457B5A2E4D86BD1-1", false, 0, 0, 0, "uppercase span id" },
	{ "0f198ee56343ba864fe8b2a57d3eff7-" B3S "-1", false, 0, 0, 0, "31-hex trace id" },
	{ "880f198ee56343ba864fe8b2a57d3eff7-" B3S "-1", false, 0, 0, 0, "33-hex trace id" },
	{ "4fe8b2a57d3eff7-" B3S "-1", false, 0, 0, 0, "15-hex trace id" },
	{ B3T "-457b5a2e4d86bd1-1", false, 0, 0, 0, "15-hex span id" },
	{ B3T "-e457b5a2e4d86bd11-1", false, 0, 0, 0, "17-hex span id" },
	{ B3T "-" B3S "-2", false, 0, 0, 0, "unknown sampling state" },
	{ B3T "-" B3S "-true", false, 0, 0, 0, "'true' is not a single-header state" },
	{ B3T "-" B3S "-", false, 0, 0, 0, "empty sampling state" },
	{ B3T "-" B3S "-1-", false, 0, 0, 0, "empty parent span id" },
	{ B3T "-" B3S "-1-5e3ac9a4f6e3b90", false, 0, 0, 0, "15-hex parent span id" },
	{ B3T "-" B3S "-1-05E3AC9A4F6E3B90", false, 0, 0, 0, "uppercase parent span id" },
	{ B3T "-" B3S "-1-" B3P "-x", false, 0, 0, 0, "a fifth field" },
	{ B3T "_" B3S "-1", false, 0, 0, 0, "wrong separator" },
	{ B3T "-" B3S "_1", false, 0, 0, 0, "wrong separator before sampling" },
	{ B3T "-" B3S "-1_" B3P, false, 0, 0, 0, "wrong separator before parent" },
	{ "00000000000000000000000000000000-" B3S "-1", false, 0, 0, 0, "zero trace id" },
	{ "0000000000000000-" B3S "-1", false, 0, 0, 0, "zero 16-hex trace id" },
	{ B3T "-0000000000000000-1", false, 0, 0, 0, "zero span id" },
};

Test(b3, single_parse_table)
{
	for (size_t i = 0; i < sizeof(b3_rows) / sizeof(b3_rows[0]); i++) {
		const struct b3_row *r = &b3_rows[i];
		size_t n = strlen(r->in);
		char *in = exact(r->in, n);
		struct rt_ctx ctx;
		bool ok;

		memset(&ctx, 0, sizeof(ctx));
		ctx.valid = true;
		ok = rt_b3_single_parse(in, n, &ctx);
		cr_expect(ok == r->ok, "row %zu (%s): \"%s\" returned %d", i, r->rule, r->in, ok);
		cr_expect(ctx.valid == r->ok, "row %zu (%s): valid", i, r->rule);
		if (ok && r->ok) {
			char t[33], s[17];

			hex_of(ctx.trace_id, 16, t);
			hex_of(ctx.span_id, 8, s);
			cr_expect_str_eq(t, r->trace, "row %zu (%s)", i, r->rule);
			cr_expect_str_eq(s, r->span, "row %zu (%s)", i, r->rule);
			cr_expect(ctx.flags == r->flags, "row %zu (%s): flags %d", i, r->rule, ctx.flags);
			cr_expect(ctx.remote, "row %zu: remote", i);
		}
		free(in);
	}
}

Test(b3, single_format)
{
	struct rt_ctx ctx;
	char out[52];

	memset(&ctx, 0, sizeof(ctx));
	cr_assert(rt_hex_decode_lower(B3T, 16, ctx.trace_id));
	cr_assert(rt_hex_decode_lower(B3S, 8, ctx.span_id));
	ctx.flags = RT_FLAG_SAMPLED | RT_FLAG_RANDOM;
	cr_expect(rt_b3_single_format(&ctx, out, sizeof(out)) == 51, "length 51");
	cr_expect_str_eq(out, B3T "-" B3S "-1", "{32hex}-{16hex}-1, never the parent");
	ctx.flags = 0;
	rt_b3_single_format(&ctx, out, sizeof(out));
	cr_expect_str_eq(out, B3T "-" B3S "-0", "not sampled");
	cr_expect(rt_b3_single_format(&ctx, out, 51) == 0, "cap 51 is too small");
	cr_expect_str_eq(out, "", "empty on failure");
}

/* ------------------------------------------------------------------ carriers */

struct field {
	const char *name;
	const char *value;
};

struct carrier {
	struct field f[12];
	size_t n;
	char *copies[12];		/* exact-size copies handed out by the getter */
};

static int ci_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* rt_getter over a carrier: case-insensitive name, count, first value. */
static int get_field(void *carrier, const char *key, const char **val, size_t *len)
{
	struct carrier *c = carrier;
	int count = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (!ci_eq(c->f[i].name, key))
			continue;
		if (count++ == 0) {
			size_t n = strlen(c->f[i].value);

			if (!c->copies[i])
				c->copies[i] = exact(c->f[i].value, n);
			*val = c->copies[i];
			*len = n;
		}
	}
	return count;
}

static void carrier_free(struct carrier *c)
{
	for (size_t i = 0; i < 12; i++)
		free(c->copies[i]);
}

#define PROPS(...) { .n = sizeof((uint8_t[]){ __VA_ARGS__ }), .list = { __VA_ARGS__ } }

struct ex_row {
	struct rt_props props;
	struct field f[8];
	size_t nf;
	bool valid;
	const char *trace;
	const char *span;
	uint8_t flags;
	const char *tracestate;
	const char *baggage;
	const char *rule;
};

#define TPV "00-" TID "-" SID "-01"
#define TID2 "abcdefabcdefabcdefabcdefabcdef12"
#define SID2 "abcdefabcdef1234"
#define TC RT_PROP_TRACECONTEXT
#define BG RT_PROP_BAGGAGE

static const struct ex_row ex_rows[] = {
	{ PROPS(TC, BG), { { "traceparent", TPV }, { "tracestate", "foo=1,bar=2" } }, 2,
	  true, TID, SID, 1, "foo=1,bar=2", "", "test_tracestate_included_traceparent_included" },
	{ PROPS(TC, BG), { { "TraceParent", TPV } }, 1,
	  true, TID, SID, 1, "", "", "no tracestate field: empty tracestate" },
	{ PROPS(TC, BG), { { "traceparent", TPV }, { "traceparent", "00-" TID2 "-" SID "-01" } }, 2,
	  false, 0, 0, 0, "", "", "test_traceparent_duplicated: two fields are invalid" },
	{ PROPS(TC, BG), { { "traceparent", TPV }, { "tracestate", "foo=1,foo=2" } }, 2,
	  true, TID, SID, 1, "", "", "invalid tracestate does not void traceparent" },
	{ PROPS(TC, BG), { { "tracestate", "foo=1" } }, 1,
	  false, 0, 0, 0, "", "", "test_tracestate_included_traceparent_missing" },
	{ PROPS(TC, BG), { { "traceparent", "00-" TID "-" SID "-01." }, { "tracestate", "foo=1" } }, 2,
	  false, 0, 0, 0, "", "", "invalid traceparent: tracestate ignored" },
	{ PROPS(TC, BG), { { "trace-parent", TPV } }, 1,
	  false, 0, 0, 0, "", "", "test_traceparent_header_name" },
	{ PROPS(TC, BG), { { "baggage", "a=1, b = 2;p ,bad" } }, 1,
	  false, 0, 0, 0, "", "a=1,b=2;p", "baggage extracted without a span context" },
	{ PROPS(TC), { { "traceparent", TPV }, { "baggage", "a=1" } }, 2,
	  true, TID, SID, 1, "", "", "baggage not configured: not extracted" },
	{ PROPS(RT_PROP_B3), { { "b3", B3T "-" B3S "-0" } }, 1,
	  true, B3T, B3S, 0, "", "", "b3 single" },
	{ PROPS(RT_PROP_B3), { { "x-b3-traceid", B3T }, { "x-b3-spanid", B3S }, { "x-b3-sampled", "1" } }, 3,
	  true, B3T, B3S, 1, "", "", "b3 falls back to multi headers (OTel B3 Extract)" },
	{ PROPS(RT_PROP_B3MULTI), { { "b3", B3T "-" B3S "-1" } }, 1,
	  true, B3T, B3S, 1, "", "", "b3multi also reads the single header" },
	{ PROPS(RT_PROP_B3MULTI), { { "b3", B3T "-" B3S "-1" }, { "x-b3-traceid", TID2 },
	  { "x-b3-spanid", SID2 } }, 3,
	  true, B3T, B3S, 1, "", "", "single header takes precedence over multi" },
	{ PROPS(RT_PROP_B3), { { "b3", "0" }, { "x-b3-traceid", TID2 }, { "x-b3-spanid", SID2 },
	  { "x-b3-sampled", "0" } }, 4,
	  true, TID2, SID2, 0, "", "", "single without ids: multi used" },
	{ PROPS(RT_PROP_B3MULTI), { { "X-B3-TraceId", "64fe8b2a57d3eff7" }, { "X-B3-SpanId", B3S } }, 2,
	  true, "000000000000000064fe8b2a57d3eff7", B3S, 1, "", "",
	  "multi: 16-hex trace id padded, no sampled header: deferred -> sampled" },
	{ PROPS(RT_PROP_B3MULTI), { { "x-b3-traceid", B3T }, { "x-b3-spanid", B3S },
	  { "x-b3-sampled", "true" } }, 3,
	  true, B3T, B3S, 1, "", "", "multi: legacy 'true'" },
	{ PROPS(RT_PROP_B3MULTI), { { "x-b3-traceid", B3T }, { "x-b3-spanid", B3S },
	  { "x-b3-sampled", "false" } }, 3,
	  true, B3T, B3S, 0, "", "", "multi: legacy 'false'" },
	{ PROPS(RT_PROP_B3MULTI), { { "x-b3-traceid", B3T }, { "x-b3-spanid", B3S },
	  { "x-b3-sampled", "0" }, { "x-b3-flags", "1" } }, 4,
	  true, B3T, B3S, 1, "", "", "multi: debug flag implies sampled" },
	{ PROPS(RT_PROP_B3MULTI), { { "x-b3-traceid", B3T }, { "x-b3-spanid", B3S },
	  { "x-b3-sampled", "yes" } }, 3,
	  false, 0, 0, 0, "", "", "multi: invalid sampled value" },
	{ PROPS(RT_PROP_B3MULTI), { { "x-b3-traceid", B3T } }, 1,
	  false, 0, 0, 0, "", "", "multi: span id required" },
	{ PROPS(RT_PROP_B3MULTI), { { "x-b3-traceid", "80F198EE56343BA864FE8B2A57D3EFF7" },
	  { "x-b3-spanid", B3S } }, 2,
	  false, 0, 0, 0, "", "", "multi: uppercase trace id" },
	{ PROPS(TC, RT_PROP_B3), { { "traceparent", TPV }, { "b3", B3T "-" B3S "-0" } }, 2,
	  true, B3T, B3S, 0, "", "", "composite: the later propagator wins" },
	{ PROPS(RT_PROP_B3, TC), { { "traceparent", TPV }, { "tracestate", "k=v" },
	  { "b3", B3T "-" B3S "-0" } }, 3,
	  true, TID, SID, 1, "k=v", "", "composite: order reversed" },
	{ PROPS(TC, RT_PROP_B3), { { "traceparent", TPV }, { "tracestate", "k=v" },
	  { "b3", "garbage" } }, 3,
	  true, TID, SID, 1, "k=v", "", "composite: a failing later propagator keeps the result" },
	{ { .n = 0 }, { { "traceparent", TPV }, { "baggage", "a=1" } }, 2,
	  false, 0, 0, 0, "", "", "no propagators: nothing extracted" },
};

Test(composite, extract_table)
{
	for (size_t i = 0; i < sizeof(ex_rows) / sizeof(ex_rows[0]); i++) {
		const struct ex_row *r = &ex_rows[i];
		struct carrier c = { .n = r->nf };
		struct rt_ctx ctx;
		static char bag[RT_BAGGAGE_MAX + 1];

		memcpy(c.f, r->f, sizeof(r->f));
		memset(&ctx, 0xa5, sizeof(ctx));
		memset(bag, 'X', sizeof(bag));
		rt_prop_extract(&r->props, &c, get_field, &ctx, bag, sizeof(bag));
		cr_expect(ctx.valid == r->valid, "row %zu (%s): valid %d", i, r->rule, ctx.valid);
		if (ctx.valid && r->valid) {
			char t[33], s[17];

			hex_of(ctx.trace_id, 16, t);
			hex_of(ctx.span_id, 8, s);
			cr_expect_str_eq(t, r->trace, "row %zu (%s)", i, r->rule);
			cr_expect_str_eq(s, r->span, "row %zu (%s)", i, r->rule);
			cr_expect(ctx.flags == r->flags, "row %zu (%s): flags %d", i, r->rule, ctx.flags);
			cr_expect(ctx.remote, "row %zu: remote", i);
			cr_expect_str_eq(ctx.tracestate, r->tracestate, "row %zu (%s)", i, r->rule);
		}
		cr_expect_str_eq(bag, r->baggage, "row %zu (%s): baggage", i, r->rule);
		carrier_free(&c);
	}
}

Test(composite, extract_null_baggage)
{
	struct rt_props p = PROPS(TC, BG);
	struct carrier c = { .f = { { "traceparent", TPV }, { "baggage", "a=1" } }, .n = 2 };
	struct rt_ctx ctx;

	rt_prop_extract(&p, &c, get_field, &ctx, NULL, 0);
	cr_expect(ctx.valid, "baggage out param may be NULL");
	carrier_free(&c);
}

/* rt_setter recording into a flat "name: value\n" transcript. */
struct rec {
	char buf[RT_BAGGAGE_MAX + 1024];
	size_t n;
};

static void set_field(void *carrier, const char *key, const char *val, size_t len)
{
	struct rec *r = carrier;
	int w = snprintf(r->buf + r->n, sizeof(r->buf) - r->n, "%s: %.*s\n", key, (int)len, val);

	cr_assert(w > 0 && (size_t)w < sizeof(r->buf) - r->n);
	r->n += (size_t)w;
}

Test(composite, inject)
{
	struct rt_ctx ctx;
	struct rec r;
	struct rt_props all = PROPS(TC, BG, RT_PROP_B3, RT_PROP_B3MULTI);
	struct rt_props tc = PROPS(TC);
	struct rt_props b3 = PROPS(RT_PROP_B3);

	memset(&ctx, 0, sizeof(ctx));
	cr_assert(rt_hex_decode_lower(TID, 16, ctx.trace_id));
	cr_assert(rt_hex_decode_lower(SID, 8, ctx.span_id));
	ctx.flags = RT_FLAG_SAMPLED;
	ctx.valid = true;
	strcpy(ctx.tracestate, "foo=1");

	r.n = 0;
	r.buf[0] = '\0';
	rt_prop_inject(&all, &ctx, "a=1", &r, set_field);
	cr_expect_str_eq(r.buf,
			 "traceparent: 00-" TID "-" SID "-01\n"
			 "tracestate: foo=1\n"
			 "baggage: a=1\n"
			 "b3: " TID "-" SID "-1\n"
			 "x-b3-traceid: " TID "\n"
			 "x-b3-spanid: " SID "\n"
			 "x-b3-sampled: 1\n",
			 "every propagator, in configured order; b3 emits only 'b3'");

	r.n = 0;
	r.buf[0] = '\0';
	ctx.tracestate[0] = '\0';
	ctx.flags = 0;
	rt_prop_inject(&tc, &ctx, "a=1", &r, set_field);
	cr_expect_str_eq(r.buf, "traceparent: 00-" TID "-" SID "-00\n",
			 "no tracestate when empty; baggage not configured");

	r.n = 0;
	r.buf[0] = '\0';
	rt_prop_inject(&b3, &ctx, NULL, &r, set_field);
	cr_expect_str_eq(r.buf, "b3: " TID "-" SID "-0\n", "b3 not sampled");

	r.n = 0;
	r.buf[0] = '\0';
	ctx.valid = false;
	rt_prop_inject(&all, &ctx, "a=1", &r, set_field);
	cr_expect_str_eq(r.buf, "baggage: a=1\n", "invalid ctx: only baggage");

	r.n = 0;
	r.buf[0] = '\0';
	rt_prop_inject(&all, &ctx, "", &r, set_field);
	cr_expect_str_eq(r.buf, "", "invalid ctx, empty baggage: nothing");

	{
		char *big = rep('0', RT_BAGGAGE_MAX - 2, "a=", "");	/* 8192 bytes */

		r.n = 0;
		r.buf[0] = '\0';
		rt_prop_inject(&all, &ctx, big, &r, set_field);
		cr_expect(r.n == strlen("baggage: \n") + RT_BAGGAGE_MAX, "8192-byte baggage sent");
		free(big);
		big = rep('0', RT_BAGGAGE_MAX - 1, "a=", "");	/* 8193 bytes */
		r.n = 0;
		r.buf[0] = '\0';
		rt_prop_inject(&all, &ctx, big, &r, set_field);
		cr_expect_str_eq(r.buf, "", "over 8192 bytes: not ours, not sent");
		free(big);
	}
}

/* Extract what inject wrote: the context survives both B3 forms and W3C. */
Test(composite, round_trip)
{
	uint8_t kinds[] = { TC, RT_PROP_B3, RT_PROP_B3MULTI };

	for (size_t k = 0; k < sizeof(kinds); k++) {
		struct rt_props p = { .n = 1, .list = { kinds[k] } };
		struct rt_ctx in, out;
		struct rec r = { .n = 0 };
		struct carrier c = { .n = 0 };
		char *line, *save = NULL;

		memset(&in, 0, sizeof(in));
		cr_assert(rt_hex_decode_lower(B3T, 16, in.trace_id));
		cr_assert(rt_hex_decode_lower(B3S, 8, in.span_id));
		in.flags = RT_FLAG_SAMPLED;
		in.valid = true;
		rt_prop_inject(&p, &in, NULL, &r, set_field);
		for (line = strtok_r(r.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *colon = strchr(line, ':');

			cr_assert(colon && c.n < 12);
			*colon = '\0';
			c.f[c.n].name = line;
			c.f[c.n].value = colon + 2;
			c.n++;
		}
		rt_prop_extract(&p, &c, get_field, &out, NULL, 0);
		cr_expect(out.valid, "kind %zu: round trip valid", k);
		cr_expect(memcmp(out.trace_id, in.trace_id, 16) == 0 &&
			  memcmp(out.span_id, in.span_id, 8) == 0 && out.flags == in.flags,
			  "kind %zu: same ids and flags", k);
		carrier_free(&c);
	}
}

/* ------------------------------------------------------------------ OTEL_PROPAGATORS */

struct pp_row {
	const char *in;
	bool ok;
	uint8_t n;
	uint8_t list[RT_PROP_MAX];
	int unknown_at;			/* offset of *unknown in in, -1 for NULL */
	const char *rule;
};

static const struct pp_row pp_rows[] = {
	{ "", true, 2, { TC, BG }, -1, "empty means unset: default tracecontext,baggage" },
	{ " , ,", true, 2, { TC, BG }, -1, "no names at all: default" },
	{ "tracecontext,baggage", true, 2, { TC, BG }, -1, "the default spelled out" },
	{ "b3multi", true, 1, { RT_PROP_B3MULTI }, -1, "single name" },
	{ "b3", true, 1, { RT_PROP_B3 }, -1, "b3 is the single header" },
	{ "none", true, 0, { 0 }, -1, "none alone: no propagator" },
	{ " b3 ,\ttracecontext ", true, 2, { RT_PROP_B3, TC }, -1, "whitespace trimmed, order kept" },
	{ "tracecontext,tracecontext,baggage,tracecontext", true, 2, { TC, BG }, -1,
	  "spec: values MUST be deduplicated" },
	{ "TraceContext,B3MULTI", true, 2, { TC, RT_PROP_B3MULTI }, -1,
	  "spec: enum values SHOULD be case-insensitive" },
	{ "none,b3", true, 1, { RT_PROP_B3 }, -1, "none next to names contributes nothing" },
	{ "xray", false, 0, { 0 }, 0, "unknown only: empty list, reported" },
	{ "tracecontext,jaeger,ottrace,b3", false, 2, { TC, RT_PROP_B3 }, 13,
	  "unknown names skipped, the first reported" },
	{ "b3multix", false, 0, { 0 }, 0, "no prefix match" },
	{ "b3 multi", false, 0, { 0 }, 0, "inner space is part of the name" },
	{ "baggage, xray ", false, 1, { BG }, 9, "*unknown points at the trimmed name" },
};

Test(props, parse_table)
{
	for (size_t i = 0; i < sizeof(pp_rows) / sizeof(pp_rows[0]); i++) {
		const struct pp_row *r = &pp_rows[i];
		struct rt_props p;
		const char *unk = (const char *)1;
		bool ok;

		memset(&p, 0xee, sizeof(p));
		ok = rt_props_parse(r->in, &p, &unk);
		cr_expect(ok == r->ok, "row %zu (%s): \"%s\" returned %d", i, r->rule, r->in, ok);
		cr_expect(p.n == r->n, "row %zu (%s): n %u", i, r->rule, p.n);
		if (p.n == r->n)
			cr_expect(memcmp(p.list, r->list, r->n) == 0, "row %zu (%s): list", i, r->rule);
		if (r->unknown_at < 0)
			cr_expect(unk == NULL, "row %zu (%s): *unknown NULL", i, r->rule);
		else
			cr_expect(unk == r->in + r->unknown_at, "row %zu (%s): *unknown at %d",
				  i, r->rule, r->unknown_at);
	}
}

Test(props, null_and_no_unknown_out)
{
	struct rt_props p;

	cr_expect(rt_props_parse(NULL, &p, NULL), "NULL is unset");
	cr_expect(p.n == 2 && p.list[0] == TC && p.list[1] == BG, "default list");
	cr_expect(!rt_props_parse("xray", &p, NULL), "unknown out param may be NULL");
}
