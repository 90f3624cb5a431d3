/*
 * test_encode.c - Criterion tests for the encoders (export/otlp_proto.c,
 * otlp_json.c, zipkin.c, console.c), the capped buffer (export/buf.c) and
 * the shared text helpers (export/cjson_dl.c).
 *
 * The protobuf output is judged by protoc itself, against the schema in
 * tests/proto: it must decode, contain the expected fields, contain no
 * field protoc does not know (printed as bare numbers), and re-encode from
 * protoc's text form to exactly our bytes (so our encoding is canonical:
 * field order, minimal varints, defaults left out). The JSON output is
 * parsed back with cJSON (loaded through our module) and, when python3's
 * protobuf is installed, also by protobuf's own JSON parser, which rejects
 * unknown keys and wrongly typed values.
 *
 * Spans are built by filling struct rt_span directly; no runtime code is
 * linked. Run from the project root (tests/proto is found relative to
 * this file's path, or through OTELPRELOAD_PROTO_DIR).
 *
 * Build: gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -g \
 *   tests/unit/test_encode.c export/{buf,cjson_dl,otlp_proto,otlp_json,zipkin,console}.c \
 *   -lcriterion -ldl -lpthread -o /tmp/te && /tmp/te
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../export/cjson_dl.h"
#include "../../export/encode.h"

#define REQ "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
#define REQ_PROTO "opentelemetry/proto/collector/trace/v1/trace_service.proto"
#define BIG (64u << 20)

#define T0 1700000000000000000ull	/* start of the test spans, ns */

/* ---------------------------------------------------------------- helpers */

static const uint8_t TRACE_A[16] = "0123456789abcdef";	/* printable: protoc shows it as is */
static const uint8_t SPAN_A[8] = "ABCDEFGH";
static const uint8_t PARENT_A[8] = "parent01";
#define TRACE_A_HEX "30313233343536373839616263646566"
#define SPAN_A_HEX "4142434445464748"
#define PARENT_A_HEX "706172656e743031"

static struct rt_span *new_span(const char *name, uint8_t kind)
{
	struct rt_span *sp = calloc(1, sizeof(*sp));

	cr_assert(sp);
	memcpy(sp->trace_id, TRACE_A, 16);
	memcpy(sp->span_id, SPAN_A, 8);
	sp->name = name;
	sp->kind = kind;
	sp->flags = 0x01;
	sp->recording = true;
	sp->start_ns = T0;
	sp->end_ns = T0 + 1234567;	/* 1.234567 ms */
	return sp;
}

static void set_parent(struct rt_span *sp, bool remote)
{
	memcpy(sp->parent_id, PARENT_A, 8);
	sp->has_parent = true;
	sp->parent_remote = remote;
}

static struct rt_attr *add_attr(struct rt_span *sp, uint8_t owner, const char *key, uint8_t type)
{
	struct rt_attr *a;

	cr_assert(sp->nattrs < RT_SPAN_MAX_ATTRS);
	a = &sp->attrs[sp->nattrs++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	a->type = type;
	a->owner = owner;
	if (owner == RT_OWNER_SPAN)
		sp->nspan_attrs++;
	return a;
}

static void add_str(struct rt_span *sp, uint8_t owner, const char *key, const char *v)
{
	struct rt_attr *a = add_attr(sp, owner, key, RT_V_STR);

	a->s = v;
	a->len = (uint16_t)strlen(v);
}

static void add_int(struct rt_span *sp, uint8_t owner, const char *key, int64_t v)
{
	add_attr(sp, owner, key, RT_V_INT)->v.i = v;
}

static void add_bool(struct rt_span *sp, uint8_t owner, const char *key, bool v)
{
	add_attr(sp, owner, key, RT_V_BOOL)->v.b = v;
}

static void add_double(struct rt_span *sp, uint8_t owner, const char *key, double v)
{
	add_attr(sp, owner, key, RT_V_DOUBLE)->v.d = v;
}

/* vals: count NUL-terminated strings back to back, len bytes in all. */
static void add_strarr(struct rt_span *sp, uint8_t owner, const char *key,
		       const char *vals, size_t len, uint16_t count)
{
	struct rt_attr *a = add_attr(sp, owner, key, RT_V_STRARR);

	a->s = vals;
	a->len = (uint16_t)len;
	a->count = count;
}

static int add_event(struct rt_span *sp, const char *name, uint64_t t)
{
	cr_assert(sp->nevents < RT_SPAN_MAX_EVENTS);
	sp->events[sp->nevents].name = name;
	sp->events[sp->nevents].time_ns = t;
	return sp->nevents++;
}

static int add_link(struct rt_span *sp, uint8_t fill, bool remote, const char *ts)
{
	struct rt_link *l;

	cr_assert(sp->nlinks < RT_SPAN_MAX_LINKS);
	l = &sp->links[sp->nlinks];
	memset(l->trace_id, fill, 16);
	memset(l->span_id, fill, 8);
	l->flags = 0x01;
	l->remote = remote;
	l->tracestate = ts;
	return sp->nlinks++;
}

/* A span with one attribute of every type, an event and a link, each with
 * attributes, an error status and a tracestate. */
static struct rt_span *rich_span(void)
{
	struct rt_span *sp = new_span("getaddrinfo", RT_KIND_CLIENT);
	int ev, ln;

	set_parent(sp, true);
	sp->tracestate = "vendor=abc,other=1";
	add_str(sp, RT_OWNER_SPAN, "dns.question.name", "localhost");
	add_int(sp, RT_OWNER_SPAN, "neg", -42);
	add_int(sp, RT_OWNER_SPAN, "network.peer.port", 53);
	add_bool(sp, RT_OWNER_SPAN, "flag.true", true);
	add_bool(sp, RT_OWNER_SPAN, "flag.false", false);
	add_double(sp, RT_OWNER_SPAN, "ratio", 1.5);
	add_strarr(sp, RT_OWNER_SPAN, "dns.answers", "127.0.0.1\0::1\0", 14, 2);
	add_str(sp, RT_OWNER_SPAN, "network.peer.address", "127.0.0.1");
	add_str(sp, RT_OWNER_SPAN, "utf8", "h\xc3\xa9llo \xe2\x9c\x93");
	ev = add_event(sp, "exception", T0 + 1000000);
	add_str(sp, RT_OWNER_EVENT(ev), "exception.message", "boom");
	add_int(sp, RT_OWNER_EVENT(ev), "attempt", 2);
	ln = add_link(sp, 0x11, true, "k=v");
	add_str(sp, RT_OWNER_LINK(ln), "link.kind", "follows");
	sp->status = RT_STATUS_ERROR;
	sp->status_msg = "boom";
	return sp;
}

static struct rt_resource *new_resource(void)
{
	struct rt_resource *res = calloc(1, sizeof(*res));
	struct rt_attr *a;

	cr_assert(res);
	a = &res->attrs[res->nattrs++];
	a->key = "service.name";
	a->s = "probe";
	a->len = 5;
	a->type = RT_V_STR;
	a = &res->attrs[res->nattrs++];
	a->key = "process.pid";
	a->v.i = 1234;
	a->type = RT_V_INT;
	return res;
}

/* Write b's bytes to a new temporary file; returns its path (static). */
static const char *to_file(const void *p, size_t n, const char *suffix)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/te_XXXXXX%s", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	cr_assert(fd >= 0);
	f = fdopen(fd, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
	return path;
}

/* Run cmd; its stdout as a malloc'ed string, exit status in *rc. */
static char *run(const char *cmd, int *rc)
{
	struct ex_buf out;
	char chunk[4096];
	size_t n;
	FILE *f = popen(cmd, "r");

	cr_assert(f, "popen %s", cmd);
	ex_buf_init(&out, BIG);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ex_buf_append(&out, chunk, n);
	ex_buf_putc(&out, '\0');
	*rc = pclose(f);
	cr_assert(!out.failed);
	return (char *)out.p;
}

static const char *proto_dir(void)
{
	static char dir[512];
	const char *env = getenv("OTELPRELOAD_PROTO_DIR");
	const char *slash;

	if (env)
		return env;
	/* __FILE__ is .../tests/unit/test_encode.c: use .../tests/proto */
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	slash = strstr(dir, "unit/test_encode.c");
	if (!slash)
		return "tests/proto";
	snprintf(dir + (slash - dir), sizeof(dir) - (size_t)(slash - dir), "proto");
	return dir;
}

static bool have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* protoc --decode of a payload; fails the test when protoc rejects it. */
static char *protoc_decode(const struct ex_buf *b)
{
	char cmd[1024], path[64];
	char *txt;
	int rc;

	if (!have("protoc"))
		cr_skip_test("protoc not installed");
	snprintf(path, sizeof(path), "%s", to_file(b->p, b->len, ".pb"));
	snprintf(cmd, sizeof(cmd), "protoc --decode " REQ " -I %s " REQ_PROTO " < %s",
		 proto_dir(), path);
	txt = run(cmd, &rc);
	cr_assert_eq(rc, 0, "protoc could not decode the payload (kept in %s)", path);
	unlink(path);
	return txt;
}

/* No line of protoc's text starts with a field number: protoc prints fields
 * the schema does not define as `17: 5` or `17 {`. */
static void assert_no_unknown_fields(const char *txt)
{
	const char *line = txt;

	while (*line) {
		const char *p = line;

		while (*p == ' ')
			p++;
		cr_assert(!(*p >= '0' && *p <= '9'), "unknown field in: %.60s", p);
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
}

/* protoc's text form, encoded again by protoc, must be our exact bytes. */
static void assert_canonical(const struct ex_buf *b, const char *txt)
{
	char cmd[1024], path[64];
	struct ex_buf out;
	char chunk[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s", to_file(txt, strlen(txt), ".txt"));
	snprintf(cmd, sizeof(cmd), "protoc --encode " REQ " -I %s " REQ_PROTO " < %s",
		 proto_dir(), path);
	f = popen(cmd, "r");
	cr_assert(f);
	ex_buf_init(&out, BIG);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ex_buf_append(&out, chunk, n);
	cr_assert_eq(pclose(f), 0);
	unlink(path);
	cr_assert_eq(out.len, b->len, "protoc re-encodes to %zu bytes, we wrote %zu", out.len, b->len);
	cr_assert(memcmp(out.p, b->p, b->len) == 0, "protoc re-encodes to different bytes");
	ex_buf_free(&out);
}

/* Occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#define assert_has(txt, s) cr_assert(strstr((txt), (s)), "missing <%s> in:\n%s", (s), (txt))
#define assert_hasnt(txt, s) cr_assert(!strstr((txt), (s)), "unexpected <%s> in:\n%s", (s), (txt))

/* Remove the indentation of every line, in place, so expectations need
 * not count spaces: "key: \"k\"\nvalue {\nint_value: 1". */
static void unindent(char *txt)
{
	char *w = txt;
	bool bol = true;

	for (const char *r = txt; *r; r++) {
		if (bol && *r == ' ')
			continue;
		bol = *r == '\n';
		*w++ = *r;
	}
	*w = '\0';
}

/* Encode, decode with protoc, check for unknown fields and canonical
 * bytes; returns protoc's text, unindented. */
static char *encode_proto_text(struct rt_span **spans, size_t n, const struct rt_resource *res,
			       struct ex_buf *b)
{
	char *txt;

	ex_buf_init(b, BIG);
	cr_assert_eq(ex_otlp_proto_encode(b, res, spans, n), 0);
	txt = protoc_decode(b);
	assert_no_unknown_fields(txt);
	assert_canonical(b, txt);
	unindent(txt);
	return txt;
}

/* ------------------------------------------------------------- ex_buf */

Test(buf, grows_by_doubling_up_to_the_cap)
{
	struct ex_buf b;
	char chunk[1000];

	memset(chunk, 'x', sizeof(chunk));
	ex_buf_init(&b, 10000);
	ex_buf_append(&b, chunk, 1000);
	cr_assert_eq(b.len, 1000);
	cr_assert_geq(b.cap, 1000);
	for (int i = 0; i < 9; i++)
		ex_buf_append(&b, chunk, 1000);
	cr_assert_eq(b.len, 10000);
	cr_assert_eq(b.cap, 10000, "cap is clamped to max");
	cr_assert(!b.failed);
	ex_buf_putc(&b, 'y');			/* one byte past the cap */
	cr_assert(b.failed);
	cr_assert_eq(b.len, 10000);
	ex_buf_append(&b, "z", 1);		/* ignored after failure */
	cr_assert_eq(b.len, 10000);
	ex_buf_reset(&b);
	cr_assert(!b.failed);
	cr_assert_eq(b.len, 0);
	ex_buf_puts(&b, "again");
	cr_assert_eq(b.len, 5);
	cr_assert(memcmp(b.p, "again", 5) == 0);
	ex_buf_free(&b);
	cr_assert_null(b.p);
}

Test(buf, printf_fits_exactly_at_the_cap)
{
	struct ex_buf b;

	ex_buf_init(&b, 10);
	ex_buf_printf(&b, "%s-%d", "abc", 12345);	/* 9 bytes */
	cr_assert(!b.failed);
	ex_buf_printf(&b, "%d", 7);			/* the 10th: no room for a NUL */
	cr_assert(!b.failed);
	cr_assert_eq(b.len, 10);
	cr_assert(memcmp(b.p, "abc-123457", 10) == 0);
	ex_buf_printf(&b, "%d", 8);
	cr_assert(b.failed);
	ex_buf_free(&b);
}

Test(buf, zero_cap_fails_every_append)
{
	struct ex_buf b;

	ex_buf_init(&b, 0);
	ex_buf_append(&b, "", 0);		/* nothing to add: not a failure */
	cr_assert(!b.failed);
	ex_buf_putc(&b, 'a');
	cr_assert(b.failed);
	ex_buf_free(&b);
}

/* ------------------------------------------------------------- UTF-8 */

/* Unicode 15, section 3.9, "U+FFFD Substitution of Maximal Subparts". */
static const struct {
	const char *in;
	const char *out;
	const char *rule;
} utf8_cases[] = {
	{ "plain", "plain", "ASCII passes" },
	{ "h\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80", "h\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80", "2, 3, 4 byte forms pass" },
	{ "a\xff" "b", "a\xef\xbf\xbd" "b", "FF never appears" },
	{ "\x80\xbf", "\xef\xbf\xbd\xef\xbf\xbd", "each stray continuation byte" },
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "C0 is never a lead: overlong '/'" },
	{ "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "E0 needs A0..BF next" },
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "surrogates are ill-formed" },
	{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "past U+10FFFF" },
	{ "\xe2\x9c", "\xef\xbf\xbd", "truncated 3-byte form: one maximal subpart" },
	{ "x\xf0\x9f\x98y", "x\xef\xbf\xbdy", "truncated 4-byte form then ASCII" },
	{ "\xe2\x9cz\xe2\x9c\x93", "\xef\xbf\xbdz\xe2\x9c\x93", "recovery at the next lead byte" },
};

Test(utf8, repair_follows_maximal_subparts)
{
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const uint8_t *in = (const uint8_t *)utf8_cases[i].in;
		size_t n = strlen(utf8_cases[i].in), want = strlen(utf8_cases[i].out);
		uint8_t out[64];
		size_t got;

		cr_assert_eq(ex_utf8_valid(in, n), strcmp(utf8_cases[i].in, utf8_cases[i].out) == 0,
			     "%s", utf8_cases[i].rule);
		cr_assert_eq(ex_utf8_repaired_len(in, n), want, "%s", utf8_cases[i].rule);
		got = ex_utf8_repair(out, in, n);
		cr_assert_eq(got, want, "%s", utf8_cases[i].rule);
		cr_assert(memcmp(out, utf8_cases[i].out, want) == 0, "%s", utf8_cases[i].rule);
	}
}

Test(utf8, json_escaping)
{
	struct ex_buf b;

	ex_buf_init(&b, 1024);
	ex_json_put_str(&b, "a\"b\\c\n\x01\x7f\xff", 9);
	ex_buf_putc(&b, 0);
	cr_assert_str_eq((char *)b.p, "\"a\\\"b\\\\c\\n\\u0001\x7f\xef\xbf\xbd\"");
	ex_buf_reset(&b);
	ex_json_put_str(&b, "a\0b", 3);		/* NUL kept, escaped */
	ex_buf_putc(&b, 0);
	cr_assert_str_eq((char *)b.p, "\"a\\u0000b\"");
	ex_buf_free(&b);
}

Test(utf8, doubles_print_shortest_and_in_c_locale)
{
	char out[32];

	ex_fmt_double(out, 1.5);
	cr_assert_str_eq(out, "1.5");
	ex_fmt_double(out, 0.1);
	cr_assert_str_eq(out, "0.1");
	ex_fmt_double(out, -2.0);
	cr_assert_str_eq(out, "-2");
	ex_fmt_double(out, 1e300);
	cr_assert_str_eq(out, "1e+300");
	ex_fmt_double(out, NAN);
	cr_assert_str_eq(out, "NaN");
	ex_fmt_double(out, -INFINITY);
	cr_assert_str_eq(out, "-Infinity");
	ex_fmt_double(out, 0.30000000000000004);
	cr_assert_eq(strtod(out, NULL), 0.30000000000000004);
}

/* ------------------------------------------------------------- protobuf */

Test(proto, child_span_with_every_attribute_type)
{
	struct rt_resource *res = new_resource();
	struct rt_span *sp = rich_span();
	struct ex_buf b;
	char *txt = encode_proto_text(&sp, 1, res, &b);

	/* resource, scope */
	assert_has(txt, "key: \"service.name\"\nvalue {\nstring_value: \"probe\"");
	assert_has(txt, "int_value: 1234");
	assert_has(txt, "scope {\nname: \"otelpreload\"\nversion: \"" RT_SCOPE_VERSION "\"");
	/* ids and identity */
	assert_has(txt, "trace_id: \"0123456789abcdef\"");
	assert_has(txt, "span_id: \"ABCDEFGH\"");
	assert_has(txt, "parent_span_id: \"parent01\"");
	assert_has(txt, "trace_state: \"vendor=abc,other=1\"");
	assert_has(txt, "name: \"getaddrinfo\"");
	assert_has(txt, "kind: SPAN_KIND_CLIENT");
	assert_has(txt, "start_time_unix_nano: 1700000000000000000");
	assert_has(txt, "end_time_unix_nano: 1700000000001234567");
	/* sampled (0x1) | has-is-remote (0x100) | parent remote (0x200) */
	assert_has(txt, "flags: 769");
	/* attribute types */
	assert_has(txt, "key: \"dns.question.name\"\nvalue {\nstring_value: \"localhost\"");
	assert_has(txt, "key: \"neg\"\nvalue {\nint_value: -42");
	assert_has(txt, "key: \"flag.true\"\nvalue {\nbool_value: true");
	assert_has(txt, "key: \"flag.false\"\nvalue {\nbool_value: false");
	assert_has(txt, "key: \"ratio\"\nvalue {\ndouble_value: 1.5");
	assert_has(txt, "array_value {\nvalues {\nstring_value: \"127.0.0.1\"\n"
		   "}\nvalues {\nstring_value: \"::1\"");
	assert_has(txt, "string_value: \"h\\303\\251llo \\342\\234\\223\"");
	/* event, link, status */
	assert_has(txt, "events {\ntime_unix_nano: 1700000000001000000\nname: \"exception\"");
	assert_has(txt, "key: \"exception.message\"");
	assert_has(txt, "key: \"attempt\"\nvalue {\nint_value: 2");
	assert_has(txt, "links {\ntrace_id: \"\\021\\021");
	assert_has(txt, "trace_state: \"k=v\"");
	assert_has(txt, "key: \"link.kind\"");
	cr_assert_eq(count(txt, "\nflags: 769\n"), 2);	/* span and link: sampled, remote */
	assert_has(txt, "status {\nmessage: \"boom\"\ncode: STATUS_CODE_ERROR");
	cr_assert_eq(count(txt, "\nspans {"), 1);
	ex_buf_free(&b);
	free(txt);
	free(sp);
	free(res);
}

Test(proto, root_span_leaves_defaults_out)
{
	struct rt_span *sp = new_span("root", RT_KIND_INTERNAL);
	struct ex_buf b;
	char *txt;

	sp->flags = 0;				/* not sampled: 0 flags */
	txt = encode_proto_text(&sp, 1, NULL, &b);
	assert_hasnt(txt, "parent_span_id");
	assert_hasnt(txt, "trace_state");
	assert_hasnt(txt, "status");
	assert_hasnt(txt, "dropped");
	assert_hasnt(txt, "attributes");
	/* bit 8 set: the parent's remoteness is known (there is none) */
	assert_has(txt, "flags: 256");
	assert_has(txt, "kind: SPAN_KIND_INTERNAL");
	ex_buf_free(&b);
	free(txt);
	free(sp);
}

Test(proto, local_parent_and_ok_status)
{
	struct rt_span *sp = new_span("child", RT_KIND_SERVER);
	struct ex_buf b;
	char *txt;

	set_parent(sp, false);
	sp->status = RT_STATUS_OK;
	txt = encode_proto_text(&sp, 1, NULL, &b);
	assert_has(txt, "flags: 257");		/* known, not remote */
	assert_has(txt, "status {\ncode: STATUS_CODE_OK\n}");
	ex_buf_free(&b);
	free(txt);
	free(sp);
}

Test(proto, dropped_counts_and_empty_strings)
{
	struct rt_span *sp = new_span(NULL, RT_KIND_UNSPECIFIED);
	struct ex_buf b;
	char *txt;
	int ev, ln;

	sp->dropped_attrs = 3;
	sp->dropped_events = 4;
	sp->dropped_links = 5;
	ev = add_event(sp, NULL, 0);
	sp->events[ev].dropped_attrs = 6;
	ln = add_link(sp, 0x22, false, "");
	sp->links[ln].dropped_attrs = 7;
	add_str(sp, RT_OWNER_SPAN, "empty", "");
	add_attr(sp, RT_OWNER_SPAN, "nullstr", RT_V_STR);	/* s NULL, len 0 */
	add_strarr(sp, RT_OWNER_SPAN, "noarr", NULL, 0, 0);
	add_attr(sp, RT_OWNER_SPAN, "", RT_V_INT);		/* empty key, value 0 */
	sp->status_msg = "";
	txt = encode_proto_text(&sp, 1, NULL, &b);
	assert_has(txt, "dropped_attributes_count: 3");
	assert_has(txt, "dropped_events_count: 4");
	assert_has(txt, "dropped_links_count: 5");
	assert_has(txt, "dropped_attributes_count: 6");
	assert_has(txt, "dropped_attributes_count: 7");
	assert_has(txt, "key: \"empty\"\nvalue {\nstring_value: \"\"");
	assert_has(txt, "key: \"nullstr\"\nvalue {\nstring_value: \"\"");
	assert_has(txt, "key: \"noarr\"\nvalue {\narray_value {\n}");
	assert_has(txt, "value {\nint_value: 0");
	cr_assert_eq(count(txt, "\nname:"), 1, "only the scope has a name");
	assert_hasnt(txt, "kind:");
	assert_hasnt(txt, "status");
	assert_has(txt, "flags: 257");		/* link: sampled, known not remote */
	ex_buf_free(&b);
	free(txt);
	free(sp);
}

Test(proto, invalid_utf8_is_repaired)
{
	struct rt_span *sp = new_span("bad\xff", RT_KIND_CLIENT);
	struct ex_buf b;
	char *txt;

	add_str(sp, RT_OWNER_SPAN, "k\xc0", "v\xed\xa0\x80!");
	add_strarr(sp, RT_OWNER_SPAN, "arr", "\xe2\x9c\0ok\0", 6, 2);
	sp->status = RT_STATUS_ERROR;
	sp->status_msg = "\x80";
	/* protoc refuses invalid UTF-8 in `string` fields: decoding at all is
	 * the first check. */
	txt = encode_proto_text(&sp, 1, NULL, &b);
	assert_has(txt, "name: \"bad\\357\\277\\275\"");
	assert_has(txt, "key: \"k\\357\\277\\275\"");
	assert_has(txt, "string_value: \"v\\357\\277\\275\\357\\277\\275\\357\\277\\275!\"");
	assert_has(txt, "string_value: \"\\357\\277\\275\"\n");
	assert_has(txt, "string_value: \"ok\"");
	assert_has(txt, "message: \"\\357\\277\\275\"");
	ex_buf_free(&b);
	free(txt);
	free(sp);
}

Test(proto, string_array_without_final_nul_stays_in_bounds)
{
	struct rt_span *sp = new_span("s", RT_KIND_CLIENT);
	char vals[5] = { 'a', 0, 'b', 'c', 'X' };	/* "bc" has no NUL within len */
	struct ex_buf b;
	char *txt;

	add_strarr(sp, RT_OWNER_SPAN, "arr", vals, 4, 3);	/* count larger than present */
	txt = encode_proto_text(&sp, 1, NULL, &b);
	assert_has(txt, "string_value: \"a\"");
	assert_has(txt, "string_value: \"bc\"");
	assert_hasnt(txt, "X");
	cr_assert_eq(count(txt, "string_value"), 3);	/* the third is empty */
	ex_buf_free(&b);
	free(txt);
	free(sp);
}

Test(proto, long_values_need_multibyte_lengths)
{
	static char big[3000];
	struct rt_span *sp = new_span("long", RT_KIND_CLIENT);
	struct ex_buf b;
	char *txt;

	memset(big, 'q', sizeof(big) - 1);
	add_str(sp, RT_OWNER_SPAN, "big", big);			/* KeyValue > 127 bytes */
	for (int i = 0; i < RT_SPAN_MAX_EVENTS; i++) {
		int ev = add_event(sp, "e", T0 + (uint64_t)i);

		add_str(sp, RT_OWNER_EVENT(ev), "payload", big + 2800);	/* Event > 127 */
	}
	txt = encode_proto_text(&sp, 1, NULL, &b);
	cr_assert_eq(count(txt, "events {"), RT_SPAN_MAX_EVENTS);
	ex_buf_free(&b);
	free(txt);
	free(sp);
}

Test(proto, batch_of_many_spans)
{
	enum { N = 10000 };
	struct rt_span **spans = calloc(N, sizeof(*spans));
	struct rt_resource *res = new_resource();
	struct ex_buf b;
	char *txt;

	for (int i = 0; i < N; i++) {
		spans[i] = new_span("GET", RT_KIND_CLIENT);
		spans[i]->span_id[0] = (uint8_t)i;
		add_str(spans[i], RT_OWNER_SPAN, "http.request.method", "GET");
		add_int(spans[i], RT_OWNER_SPAN, "http.response.status_code", 200 + i % 300);
	}
	txt = encode_proto_text(spans, N, res, &b);
	cr_assert_eq(count(txt, "\nspans {"), N);
	free(txt);

	/* The same batch against a small cap: -ENOMEM, buffer marked failed. */
	ex_buf_free(&b);
	ex_buf_init(&b, 64 * 1024);
	cr_assert_eq(ex_otlp_proto_encode(&b, res, spans, N), -ENOMEM);
	cr_assert(b.failed);
	ex_buf_reset(&b);
	cr_assert_eq(ex_otlp_json_encode(&b, res, spans, N), -ENOMEM);
	ex_buf_reset(&b);
	cr_assert_eq(ex_zipkin_encode(&b, res, spans, N), -ENOMEM);
	ex_buf_reset(&b);
	cr_assert_eq(ex_console_encode(&b, res, spans, N), -ENOMEM);
	ex_buf_free(&b);
	for (int i = 0; i < N; i++)
		free(spans[i]);
	free(spans);
	free(res);
}

Test(proto, null_entries_are_skipped)
{
	struct rt_span *spans[3] = { NULL, new_span("only", RT_KIND_CLIENT), NULL };
	struct ex_buf b;
	char *txt = encode_proto_text(spans, 3, NULL, &b);

	cr_assert_eq(count(txt, "\nspans {"), 1);
	ex_buf_free(&b);
	free(txt);
	free(spans[1]);
}

/* ------------------------------------------------------------- OTLP/JSON */

static cJSON *jget(const cJSON *o, const char *path)
{
	char key[64];
	const char *p = path;
	const cJSON *cur = o;

	while (cur && *p) {
		size_t n = strcspn(p, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		if (key[0] >= '0' && key[0] <= '9')
			cur = ex_cj.get_array_item(cur, atoi(key));
		else
			cur = ex_cj.get_object_item(cur, key);
		p += n;
		if (*p == '.')
			p++;
	}
	return (cJSON *)cur;
}

static const char *jstr_at(const cJSON *o, const char *path)
{
	cJSON *it = jget(o, path);

	cr_assert(it && ex_cj.is_string(it), "no string at %s", path);
	return ex_cj.get_string_value(it);
}

static double jnum_at(const cJSON *o, const char *path)
{
	cJSON *it = jget(o, path);

	cr_assert(it && ex_cj.is_number(it), "no number at %s", path);
	return ex_cj.get_number_value(it);
}

/* The attribute object with this key in an attributes array. */
static cJSON *jattr(const cJSON *attrs, const char *key)
{
	for (int i = 0; i < ex_cj.get_array_size(attrs); i++) {
		cJSON *kv = ex_cj.get_array_item(attrs, i);

		if (strcmp(jstr_at(kv, "key"), key) == 0)
			return ex_cj.get_object_item(kv, "value");
	}
	cr_assert_fail("no attribute %s", key);
	return NULL;
}

/* Every key of every object is an OTLP/JSON field name. */
static void assert_known_keys(const cJSON *it)
{
	static const char *const known[] = {
		"resourceSpans", "resource", "scopeSpans", "schemaUrl", "attributes",
		"droppedAttributesCount", "scope", "name", "version", "spans", "traceId",
		"spanId", "traceState", "parentSpanId", "flags", "kind", "startTimeUnixNano",
		"endTimeUnixNano", "events", "droppedEventsCount", "links", "droppedLinksCount",
		"status", "timeUnixNano", "message", "code", "key", "value", "stringValue",
		"boolValue", "intValue", "doubleValue", "arrayValue", "values",
	};

	for (const cJSON *c = it->child; c; c = c->next) {
		if (ex_cj.is_object(it)) {
			bool ok = false;

			for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
				ok |= strcmp(c->string, known[i]) == 0;
			cr_assert(ok, "unknown key %s", c->string);
		}
		assert_known_keys(c);
	}
}

static cJSON *encode_json(struct rt_span **spans, size_t n, const struct rt_resource *res,
			  struct ex_buf *b)
{
	cJSON *root;

	cr_assert(ex_cjson_load(), "libcjson.so.1 not loadable");
	ex_buf_init(b, BIG);
	cr_assert_eq(ex_otlp_json_encode(b, res, spans, n), 0);
	cr_assert(ex_utf8_valid(b->p, b->len), "output is not UTF-8");
	cr_assert_null(memchr(b->p, '\n', b->len), "output is not one line");
	cr_assert(ex_cj.parse_with_length);
	root = ex_cj.parse_with_length((const char *)b->p, b->len);
	cr_assert(root, "cJSON cannot parse: %.*s", (int)b->len, b->p);
	assert_known_keys(root);
	return root;
}

/* A python3 that can import google.protobuf (the distribution's, which
 * python3-protobuf installs into, may not be first in PATH), or NULL. */
static const char *python_with_protobuf(void)
{
	static const char *const cands[] = { "/usr/bin/python3", "python3" };
	char cmd[256];

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s -c 'import google.protobuf' >/dev/null 2>&1", cands[i]);
		if (system(cmd) == 0)
			return cands[i];
	}
	return NULL;
}

/* protobuf's own JSON parser (python3-protobuf), when available, must
 * accept the payload as an ExportTraceServiceRequest: no unknown fields,
 * right value types. (It reads the hex ids as base64; they are checked
 * separately.) */
static void assert_protobuf_json_parses(const struct ex_buf *b, size_t nspans)
{
	char cmd[2048], dir[] = "/tmp/te_pyXXXXXX", want[32];
	const char *path;
	char *out;
	int rc;

	const char *py = python_with_protobuf();

	if (!py || !have("protoc")) {
		cr_log_warn("no python3 with protobuf: JSON not checked by protobuf's parser");
		return;
	}
	cr_assert(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "protoc -I %s --python_out=%s " REQ_PROTO
		 " opentelemetry/proto/trace/v1/trace.proto opentelemetry/proto/resource/v1/resource.proto"
		 " opentelemetry/proto/common/v1/common.proto", proto_dir(), dir);
	cr_assert_eq(system(cmd), 0);
	path = to_file(b->p, b->len, ".json");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && %s -c 'import sys\n"
		 "from google.protobuf import json_format\n"
		 "from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as t\n"
		 "m = json_format.Parse(open(sys.argv[1]).read(), t.ExportTraceServiceRequest())\n"
		 "print(sum(len(s.spans) for r in m.resource_spans for s in r.scope_spans))' %s 2>&1",
		 dir, py, path);
	out = run(cmd, &rc);
	snprintf(want, sizeof(want), "%zu\n", nspans);
	cr_assert_eq(rc, 0, "protobuf's JSON parser rejects the payload: %s", out);
	cr_assert_str_eq(out, want);
	free(out);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(json, rich_span_follows_the_otlp_json_mapping)
{
	struct rt_resource *res = new_resource();
	struct rt_span *sp = rich_span();
	struct ex_buf b;
	cJSON *root = encode_json(&sp, 1, res, &b), *s, *attrs, *v;

	cr_assert_str_eq(jstr_at(root, "resourceSpans.0.resource.attributes.0.value.stringValue"), "probe");
	cr_assert_str_eq(jstr_at(root, "resourceSpans.0.resource.attributes.1.value.intValue"), "1234");
	cr_assert_str_eq(jstr_at(root, "resourceSpans.0.scopeSpans.0.scope.name"), RT_SCOPE_NAME);
	cr_assert_str_eq(jstr_at(root, "resourceSpans.0.scopeSpans.0.scope.version"), RT_SCOPE_VERSION);
	s = jget(root, "resourceSpans.0.scopeSpans.0.spans.0");
	cr_assert(s);
	cr_assert_str_eq(jstr_at(s, "traceId"), TRACE_A_HEX);
	cr_assert_str_eq(jstr_at(s, "spanId"), SPAN_A_HEX);
	cr_assert_str_eq(jstr_at(s, "parentSpanId"), PARENT_A_HEX);
	cr_assert_str_eq(jstr_at(s, "traceState"), "vendor=abc,other=1");
	cr_assert_str_eq(jstr_at(s, "name"), "getaddrinfo");
	cr_assert_eq(jnum_at(s, "kind"), 3);			/* enum as integer */
	cr_assert_eq(jnum_at(s, "flags"), 769);
	cr_assert_str_eq(jstr_at(s, "startTimeUnixNano"), "1700000000000000000");
	cr_assert_str_eq(jstr_at(s, "endTimeUnixNano"), "1700000000001234567");
	attrs = jget(s, "attributes");
	cr_assert_str_eq(jstr_at(jattr(attrs, "dns.question.name"), "stringValue"), "localhost");
	cr_assert_str_eq(jstr_at(jattr(attrs, "neg"), "intValue"), "-42");	/* int64 as string */
	cr_assert(ex_cj.is_true(jget(jattr(attrs, "flag.true"), "boolValue")));
	v = jget(jattr(attrs, "flag.false"), "boolValue");
	cr_assert(v && ex_cj.is_bool(v) && !ex_cj.is_true(v));
	cr_assert_eq(jnum_at(jattr(attrs, "ratio"), "doubleValue"), 1.5);
	cr_assert_str_eq(jstr_at(jattr(attrs, "dns.answers"), "arrayValue.values.1.stringValue"), "::1");
	cr_assert_str_eq(jstr_at(jattr(attrs, "utf8"), "stringValue"), "h\xc3\xa9llo \xe2\x9c\x93");
	cr_assert_str_eq(jstr_at(s, "events.0.timeUnixNano"), "1700000000001000000");
	cr_assert_str_eq(jstr_at(s, "events.0.name"), "exception");
	cr_assert_str_eq(jstr_at(jattr(jget(s, "events.0.attributes"), "attempt"), "intValue"), "2");
	cr_assert_str_eq(jstr_at(s, "links.0.traceId"), "11111111111111111111111111111111");
	cr_assert_str_eq(jstr_at(s, "links.0.spanId"), "1111111111111111");
	cr_assert_str_eq(jstr_at(s, "links.0.traceState"), "k=v");
	cr_assert_eq(jnum_at(s, "links.0.flags"), 769);
	cr_assert_str_eq(jstr_at(jattr(jget(s, "links.0.attributes"), "link.kind"), "stringValue"), "follows");
	cr_assert_str_eq(jstr_at(s, "status.message"), "boom");
	cr_assert_eq(jnum_at(s, "status.code"), 2);
	assert_protobuf_json_parses(&b, 1);
	ex_cj.delete_item(root);
	ex_buf_free(&b);
	free(sp);
	free(res);
}

Test(json, defaults_are_left_out)
{
	struct rt_span *sp = new_span("root", RT_KIND_UNSPECIFIED);
	struct ex_buf b;
	cJSON *root, *s;

	sp->start_ns = 0;
	sp->end_ns = 0;
	root = encode_json(&sp, 1, NULL, &b);
	s = jget(root, "resourceSpans.0.scopeSpans.0.spans.0");
	cr_assert(s);
	for (const char *const *k = (const char *const[]){ "parentSpanId", "traceState", "kind",
			"startTimeUnixNano", "endTimeUnixNano", "attributes", "events", "links",
			"status", "droppedAttributesCount", NULL }; *k; k++)
		cr_assert_null(jget(s, *k), "%s should be absent", *k);
	cr_assert_eq(jnum_at(s, "flags"), 257);
	cr_assert(jget(root, "resourceSpans.0.resource"), "resource is present, empty");
	assert_protobuf_json_parses(&b, 1);
	ex_cj.delete_item(root);
	ex_buf_free(&b);
	free(sp);
}

Test(json, non_finite_doubles_and_bad_utf8)
{
	struct rt_span *sp = new_span("x\xff", RT_KIND_CLIENT);
	struct ex_buf b;
	cJSON *root, *attrs;

	add_double(sp, RT_OWNER_SPAN, "nan", NAN);
	add_double(sp, RT_OWNER_SPAN, "inf", INFINITY);
	add_double(sp, RT_OWNER_SPAN, "ninf", -INFINITY);
	add_double(sp, RT_OWNER_SPAN, "big", 1e300);
	add_int(sp, RT_OWNER_SPAN, "min", INT64_MIN);
	add_str(sp, RT_OWNER_SPAN, "ctl", "a\"\n\x01");
	add_attr(sp, RT_OWNER_SPAN, "nul", RT_V_STR)->s = "a\0b";
	sp->attrs[sp->nattrs - 1].len = 3;
	root = encode_json(&sp, 1, NULL, &b);
	attrs = jget(root, "resourceSpans.0.scopeSpans.0.spans.0.attributes");
	cr_assert_str_eq(jstr_at(jattr(attrs, "nan"), "doubleValue"), "NaN");
	cr_assert_str_eq(jstr_at(jattr(attrs, "inf"), "doubleValue"), "Infinity");
	cr_assert_str_eq(jstr_at(jattr(attrs, "ninf"), "doubleValue"), "-Infinity");
	cr_assert_eq(jnum_at(jattr(attrs, "big"), "doubleValue"), 1e300);
	cr_assert_str_eq(jstr_at(jattr(attrs, "min"), "intValue"), "-9223372036854775808");
	cr_assert_str_eq(jstr_at(jattr(attrs, "ctl"), "stringValue"), "a\"\n\x01");
	cr_assert_str_eq(jstr_at(root, "resourceSpans.0.scopeSpans.0.spans.0.name"), "x\xef\xbf\xbd");
	assert_has((char *)b.p, "\"a\\u0000b\"");
	assert_protobuf_json_parses(&b, 1);
	ex_cj.delete_item(root);
	ex_buf_free(&b);
	free(sp);
}

/* ------------------------------------------------------------- Zipkin */

/* tags[key] of a Zipkin span (keys contain dots, so not through jget). */
static const char *ztag(const cJSON *span, const char *key)
{
	cJSON *t = ex_cj.get_object_item(ex_cj.get_object_item(span, "tags"), key);

	return t ? ex_cj.get_string_value(t) : NULL;
}

static cJSON *encode_zipkin(struct rt_span **spans, size_t n, const struct rt_resource *res,
			    struct ex_buf *b)
{
	cJSON *root;

	cr_assert(ex_cjson_load());
	ex_buf_init(b, BIG);
	cr_assert_eq(ex_zipkin_encode(b, res, spans, n), 0);
	cr_assert(ex_utf8_valid(b->p, b->len));
	root = ex_cj.parse_with_length((const char *)b->p, b->len);
	cr_assert(root, "cJSON cannot parse: %.*s", (int)b->len, b->p);
	cr_assert(ex_cj.is_array(root));
	return root;
}

Test(zipkin, client_span_shape)
{
	struct rt_resource *res = new_resource();
	struct rt_span *sp = rich_span();
	struct ex_buf b;
	cJSON *root = encode_zipkin(&sp, 1, res, &b), *s;

	cr_assert_eq(ex_cj.get_array_size(root), 1);
	s = ex_cj.get_array_item(root, 0);
	cr_assert_str_eq(jstr_at(s, "traceId"), TRACE_A_HEX);
	cr_assert_str_eq(jstr_at(s, "id"), SPAN_A_HEX);
	cr_assert_str_eq(jstr_at(s, "parentId"), PARENT_A_HEX);
	cr_assert_str_eq(jstr_at(s, "kind"), "CLIENT");
	cr_assert_str_eq(jstr_at(s, "name"), "getaddrinfo");
	cr_assert_eq(jnum_at(s, "timestamp"), 1700000000000000.0);
	cr_assert_eq(jnum_at(s, "duration"), 1234);
	assert_has((char *)b.p, "\"timestamp\":1700000000000000");	/* integer, no exponent */
	cr_assert_str_eq(jstr_at(s, "localEndpoint.serviceName"), "probe");
	cr_assert_str_eq(jstr_at(s, "remoteEndpoint.ipv4"), "127.0.0.1");
	cr_assert_eq(jnum_at(s, "remoteEndpoint.port"), 53);
	cr_assert_eq(jnum_at(s, "annotations.0.timestamp"), 1700000000001000.0);
	cr_assert_str_eq(jstr_at(s, "annotations.0.value"),
			 "\"exception\":{\"exception.message\":\"boom\",\"attempt\":2}");
	for (const cJSON *t = jget(s, "tags")->child; t; t = t->next)
		cr_assert(ex_cj.is_string(t), "tag %s is not a string", t->string);
	cr_assert_str_eq(ztag(s, "dns.question.name"), "localhost");
	cr_assert_str_eq(ztag(s, "neg"), "-42");
	cr_assert_str_eq(ztag(s, "flag.true"), "true");
	cr_assert_str_eq(ztag(s, "flag.false"), "false");
	cr_assert_str_eq(ztag(s, "ratio"), "1.5");
	cr_assert_str_eq(ztag(s, "dns.answers"), "[\"127.0.0.1\",\"::1\"]");
	cr_assert_str_eq(ztag(s, "otel.status_code"), "ERROR");
	cr_assert_str_eq(ztag(s, "error"), "boom");
	cr_assert_str_eq(ztag(s, "otel.scope.name"), RT_SCOPE_NAME);
	cr_assert_str_eq(ztag(s, "otel.library.name"), RT_SCOPE_NAME);
	cr_assert_null(jget(s, "shared"));
	cr_assert_null(jget(s, "debug"));
	ex_cj.delete_item(root);
	ex_buf_free(&b);
	free(sp);
	free(res);
}

Test(zipkin, root_internal_span_and_peer_service)
{
	struct rt_span *spans[2] = { new_span("work", RT_KIND_INTERNAL), new_span("call", RT_KIND_CLIENT) };
	struct ex_buf b;
	cJSON *root, *s;

	spans[0]->end_ns = spans[0]->start_ns + 10;		/* < 1 us */
	add_bool(spans[0], RT_OWNER_SPAN, "error", false);	/* dropped: status is not ERROR */
	spans[0]->status = RT_STATUS_OK;
	spans[0]->dropped_attrs = 2;
	add_str(spans[1], RT_OWNER_SPAN, "server.address", "db.example");
	add_int(spans[1], RT_OWNER_SPAN, "server.port", 5432);
	add_str(spans[1], RT_OWNER_SPAN, "network.peer.address", "::1");
	add_int(spans[1], RT_OWNER_SPAN, "network.peer.port", 5432);
	root = encode_zipkin(spans, 2, NULL, &b);
	s = ex_cj.get_array_item(root, 0);
	cr_assert_null(jget(s, "parentId"));
	cr_assert_null(jget(s, "kind"), "INTERNAL has no Zipkin kind");
	cr_assert_null(jget(s, "remoteEndpoint"));
	cr_assert_null(jget(s, "annotations"));
	cr_assert_eq(jnum_at(s, "duration"), 1, "under 1 us rounds up");
	cr_assert_str_eq(jstr_at(s, "localEndpoint.serviceName"), "unknown_service");
	cr_assert_null(ztag(s, "error"));
	cr_assert_str_eq(ztag(s, "otel.status_code"), "OK");
	cr_assert_str_eq(ztag(s, "otel.dropped_attributes_count"), "2");
	s = ex_cj.get_array_item(root, 1);
	cr_assert_str_eq(jstr_at(s, "remoteEndpoint.serviceName"), "db.example");
	cr_assert_str_eq(jstr_at(s, "remoteEndpoint.ipv6"), "::1");
	cr_assert_eq(jnum_at(s, "remoteEndpoint.port"), 5432);
	cr_assert_str_eq(ztag(s, "server.port"), "5432");
	ex_cj.delete_item(root);
	ex_buf_free(&b);
	free(spans[0]);
	free(spans[1]);
}

Test(zipkin, dotted_tags_and_dropped_counts)
{
	struct rt_span *sp = new_span("w", RT_KIND_SERVER);
	struct ex_buf b;
	cJSON *root, *s;

	sp->dropped_attrs = 2;
	sp->dropped_events = 3;
	add_str(sp, RT_OWNER_SPAN, "otel.status_code", "spoofed");
	add_str(sp, RT_OWNER_SPAN, "bad\xff", "v");
	sp->status = RT_STATUS_ERROR;			/* no message: error = "" */
	root = encode_zipkin(&sp, 1, NULL, &b);
	s = ex_cj.get_array_item(root, 0);
	cr_assert_str_eq(ztag(s, "otel.dropped_attributes_count"), "2");
	cr_assert_str_eq(ztag(s, "otel.dropped_events_count"), "3");
	cr_assert_null(ztag(s, "otel.dropped_links_count"));
	cr_assert_str_eq(ztag(s, "otel.status_code"), "ERROR", "the status wins over an attribute");
	cr_assert_str_eq(ztag(s, "error"), "");
	cr_assert_str_eq(ztag(s, "bad\xef\xbf\xbd"), "v");
	cr_assert_str_eq(jstr_at(s, "kind"), "SERVER");
	ex_cj.delete_item(root);
	ex_buf_free(&b);
	free(sp);
}

/* ------------------------------------------------------------- console */

Test(console, readable_block_per_span)
{
	struct rt_resource *res = new_resource();
	struct rt_span *spans[2] = { rich_span(), new_span("root", RT_KIND_INTERNAL) };
	struct ex_buf b;
	char *txt;

	ex_buf_init(&b, BIG);
	cr_assert_eq(ex_console_encode(&b, res, spans, 2), 0);
	ex_buf_putc(&b, 0);
	txt = (char *)b.p;
	assert_has(txt, "[otelpreload] span getaddrinfo kind=CLIENT trace=" TRACE_A_HEX
		   " span=" SPAN_A_HEX " parent=" PARENT_A_HEX " service=probe"
		   " duration=1.234ms status=ERROR \"boom\" remote_parent\n");
	assert_has(txt, "\n  dns.question.name = \"localhost\"\n");
	assert_has(txt, "\n  neg = -42\n");
	assert_has(txt, "\n  flag.true = true\n");
	assert_has(txt, "\n  ratio = 1.5\n");
	assert_has(txt, "\n  dns.answers = [\"127.0.0.1\", \"::1\"]\n");
	assert_has(txt, "\n  tracestate = \"vendor=abc,other=1\"\n");
	assert_has(txt, "\n  event exception +1.000ms\n    exception.message = \"boom\"\n    attempt = 2\n");
	assert_has(txt, "\n  link trace=11111111111111111111111111111111 span=1111111111111111 remote=yes"
		   " tracestate=\"k=v\"\n    link.kind = \"follows\"\n");
	assert_has(txt, "[otelpreload] span root kind=INTERNAL trace=" TRACE_A_HEX " span=" SPAN_A_HEX
		   " parent=- service=probe duration=1.234ms status=UNSET\n");
	cr_assert_eq(txt[b.len - 2], '\n');
	ex_buf_free(&b);
	free(spans[0]);
	free(spans[1]);
	free(res);
}

Test(console, control_characters_do_not_reach_the_terminal)
{
	struct rt_span *sp = new_span("evil\x1b[2J", RT_KIND_CLIENT);
	struct ex_buf b;

	add_str(sp, RT_OWNER_SPAN, "k", "\x1b]0;title\x07");
	ex_buf_init(&b, BIG);
	cr_assert_eq(ex_console_encode(&b, NULL, &sp, 1), 0);
	cr_assert_null(memchr(b.p, 0x1b, b.len));
	cr_assert_null(memchr(b.p, 0x07, b.len));
	ex_buf_free(&b);
	free(sp);
}
