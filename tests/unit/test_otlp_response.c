/*
 * test_otlp_response.c - the OTLP partial-success decoder
 * (ExportTraceServiceResponse { partial_success = 1 { rejected_spans = 1,
 * error_message = 2 } }) against protobuf encoding rules: one table row per
 * body, the expected result beside it. Every body is placed right before an
 * unreadable page, so a read past its end crashes the test.
 *
 *   gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
 *     tests/unit/test_otlp_response.c export/otlp_response.c -lcriterion
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../export/otlp_response.h"

#define MAXBODY 256

struct row {
	const char *what;	/* the rule exercised */
	const char *body;	/* bytes (may hold NULs) */
	size_t len;
	size_t msgcap;		/* 0 here means 256 */
	int rc;
	long long rejected;
	const char *msg;
};

/* B("...") : a byte string and its length, NULs included. */
#define B(s) s, sizeof(s) - 1

static const struct row rows[] = {
	/* Basics. */
	{ "empty body: every field absent", B(""), 0, 0, 0, "" },
	{ "empty partial_success", B("\x0a\x00"), 0, 0, 0, "" },
	{ "protoc: rejected 2, message", B("\x0a\x0c\x08\x02\x12\x08too many"), 0, 0, 2, "too many" },
	{ "message only", B("\x0a\x04\x12\x02hi"), 0, 0, 0, "hi" },
	{ "protoc: int64 -1 is a 10-byte varint",
	  B("\x0a\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), 0, 0, -1, "" },
	{ "protoc: INT64_MAX, UTF-8 message",
	  B("\x0a\x15\x08\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x12\x09\xc3\x9cn\xc3\xaf" "code"),
	  0, 0, LLONG_MAX, "\xc3\x9cn\xc3\xaf" "code" },
	{ "INT64_MIN", B("\x0a\x0b\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"), 0, 0,
	  LLONG_MIN, "" },
	{ "non-canonical varint (0x85 0x00 = 5) is accepted", B("\x0a\x03\x08\x85\x00"), 0, 0, 5, "" },
	{ "bits past 64 in the 10th varint byte are dropped",
	  B("\x0a\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"), 0, 0, -1, "" },

	/* Merging: a repeated field's last value wins; messages merge. */
	{ "partial_success twice: fields merge",
	  B("\x0a\x02\x08\x03\x0a\x04\x12\x02hi"), 0, 0, 3, "hi" },
	{ "rejected twice: last wins", B("\x0a\x04\x08\x03\x08\x04"), 0, 0, 4, "" },
	{ "message twice: last wins, shorter", B("\x0a\x08\x12\x03" "abc\x12\x01z"), 0, 0, 0, "z" },

	/* Unknown fields of every wire type are skipped. */
	{ "unknown top-level fields of wire types 0, 1, 2, 3, 5",
	  B("\x10\x96\x01"				/* 2: varint 150 */
	    "\x19\x01\x02\x03\x04\x05\x06\x07\x08"	/* 3: fixed64 */
	    "\x22\x02\x0a\x02"				/* 4: bytes (look like field 1) */
	    "\x2b\x08\x01\x12\x01x\x2c"			/* 5: group holding 1 and 2 */
	    "\x35\x01\x02\x03\x04"			/* 6: fixed32 */
	    "\x0a\x02\x08\x07"),
	  0, 0, 7, "" },
	{ "unknown fields inside partial_success",
	  B("\x0a\x17"
	    "\x18\x01"					/* 3: varint */
	    "\x21\x00\x00\x00\x00\x00\x00\x00\x00"	/* 4: fixed64 */
	    "\x2a\x01q"					/* 5: bytes */
	    "\x33\x08\x09\x34"				/* 6: group */
	    "\x08\x09\x12\x01m"),
	  0, 0, 9, "m" },
	{ "highest field number (2^29-1) is a valid unknown field",
	  B("\xf8\xff\xff\xff\x0f\x00\x0a\x02\x08\x01"), 0, 0, 1, "" },
	{ "groups nest (3 deep) and are skipped whole",
	  B("\x0b\x13\x1b\x08\x05\x1c\x14\x0c\x0a\x02\x08\x02"), 0, 0, 2, "" },

	/* A known field with an unexpected wire type is skipped. */
	{ "partial_success as a varint", B("\x08\x05"), 0, 0, 0, "" },
	{ "rejected_spans as fixed64 / message as varint",
	  B("\x0a\x0b\x09\x01\x00\x00\x00\x00\x00\x00\x00\x10\x01"), 0, 0, 0, "" },
	{ "rejected_spans as a length (not packed: singular)", B("\x0a\x04\x0a\x02\x08\x05"), 0, 0, 0, "" },

	/* Malformed: the whole answer is dropped. */
	{ "varint of 11 bytes", B("\x0a\x0c\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), 0, -1, 0, "" },
	{ "truncated varint at the end", B("\x0a\x02\x08\x85"), 0, -1, 0, "" },
	{ "truncated key", B("\x0a\x02\x08\x01\x80"), 0, -1, 0, "" },
	{ "key wider than 32 bits", B("\x80\x80\x80\x80\x10\x00"), 0, -1, 0, "" },
	{ "field number 0 (varint)", B("\x00\x01"), 0, -1, 0, "" },
	{ "field number 0 (length)", B("\x02\x00"), 0, -1, 0, "" },
	{ "wire type 6", B("\x0e\x00"), 0, -1, 0, "" },
	{ "wire type 7", B("\x0f\x00"), 0, -1, 0, "" },
	{ "partial_success longer than the body", B("\x0a\x05\x08\x01"), 0, -1, 0, "" },
	{ "length that does not fit size_t-wise",
	  B("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), 0, -1, 0, "" },
	{ "message past the end of partial_success (bytes exist after it)",
	  B("\x0a\x03\x12\x05" "abcde"), 0, -1, 0, "" },
	{ "fixed64 cut short", B("\x19\x01\x02\x03"), 0, -1, 0, "" },
	{ "fixed32 cut short", B("\x0a\x03\x0d\x01\x02"), 0, -1, 0, "" },
	{ "end group with no open group", B("\x0c"), 0, -1, 0, "" },
	{ "end group of another field", B("\x0b\x14"), 0, -1, 0, "" },
	{ "group never closed", B("\x0b\x08\x01"), 0, -1, 0, "" },
	{ "group open across the end of partial_success", B("\x0a\x01\x1b\x1c"), 0, -1, 0, "" },
	{ "garbage after good fields resets the output", B("\x0a\x04\x08\x05\x12\x00\xff"), 0, -1, 0, "" },
	{ "text, not protobuf", B("{\"partialSuccess\":{}}"), 0, -1, 0, "" },

	/* The message as text safe to log: cut, never mid-character; one line
	 * of valid UTF-8 (RFC 3629), anything else as '?'. */
	{ "cut to msgcap - 1", B("\x0a\x08\x12\x06" "abcdef"), 4, 0, 0, "abc" },
	{ "msgcap 1: empty string", B("\x0a\x08\x12\x06" "abcdef"), 1, 0, 0, "" },
	{ "exact fit", B("\x0a\x05\x12\x03" "abc"), 4, 0, 0, "abc" },
	{ "cut before a 2-byte character", B("\x0a\x05\x12\x03" "a\xc3\xa9"), 3, 0, 0, "a" },
	{ "cut before a 4-byte character", B("\x0a\x06\x12\x04\xf0\x9f\x98\x80"), 3, 0, 0, "" },
	{ "2-byte character fits", B("\x0a\x05\x12\x03" "a\xc3\xa9"), 4, 0, 0, "a\xc3\xa9" },
	{ "a '?' for a bad byte is cut like a character",
	  B("\x0a\x05\x12\x03" "ab\x80"), 3, 0, 0, "ab" },
	{ "control bytes and NUL become '?'",
	  B("\x0a\x08\x12\x06" "a\nb\x00" "c\x7f"), 0, 0, 0, "a?b?c?" },
	{ "C1 control (U+0085) is one '?'; U+00A0 is kept",
	  B("\x0a\x06\x12\x04\xc2\x85\xc2\xa0"), 0, 0, 0, "?\xc2\xa0" },
	{ "stray continuation bytes", B("\x0a\x06\x12\x04" "ab\x80\xbf"), 0, 0, 0, "ab??" },
	{ "overlong '/' (C0 AF)", B("\x0a\x04\x12\x02\xc0\xaf"), 0, 0, 0, "??" },
	{ "overlong 3-byte (E0 80 AF)", B("\x0a\x05\x12\x03\xe0\x80\xaf"), 0, 0, 0, "???" },
	{ "surrogate U+D800 (ED A0 80)", B("\x0a\x05\x12\x03\xed\xa0\x80"), 0, 0, 0, "???" },
	{ "above U+10FFFF (F4 90 80 80)", B("\x0a\x06\x12\x04\xf4\x90\x80\x80"), 0, 0, 0,
	  "????" },
	{ "U+10FFFF is kept", B("\x0a\x06\x12\x04\xf4\x8f\xbf\xbf"), 0, 0, 0,
	  "\xf4\x8f\xbf\xbf" },
	{ "sequence cut by the end of the field", B("\x0a\x05\x12\x03" "a\xe2\x82"), 0, 0, 0,
	  "a??" },
};

/* The body at the very end of a readable page, an unreadable page after. */
static const uint8_t *guarded(const void *body, size_t len)
{
	static uint8_t *pages;
	long ps = sysconf(_SC_PAGESIZE);

	if (!pages) {
		pages = mmap(NULL, 2 * (size_t)ps, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(pages, MAP_FAILED);
		cr_assert_eq(mprotect(pages + ps, (size_t)ps, PROT_NONE), 0);
	}
	cr_assert_leq(len, MAXBODY);
	memcpy(pages + ps - len, body, len);
	return pages + ps - len;
}

Test(otlp_response, table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t cap = r->msgcap ? r->msgcap : 256;
		char msg[257];
		long long rej = 12345;
		int rc;

		memset(msg, 'X', sizeof(msg));
		rc = ex_otlp_partial_success_proto(guarded(r->body, r->len), r->len, &rej, msg, cap);
		cr_expect_eq(rc, r->rc, "%s: rc %d, want %d", r->what, rc, r->rc);
		cr_expect_eq(rej, r->rejected, "%s: rejected %lld, want %lld", r->what, rej,
			     r->rejected);
		cr_expect_str_eq(msg, r->msg, "%s: msg \"%s\"", r->what, msg);
		cr_expect_eq(msg[cap], 'X', "%s: wrote past msgcap", r->what);
	}
}

Test(otlp_response, null_body_with_zero_length)
{
	long long rej = 1;
	char msg[4] = "zz";

	cr_assert_eq(ex_otlp_partial_success_proto(NULL, 0, &rej, msg, sizeof(msg)), 0);
	cr_assert_eq(rej, 0);
	cr_assert_str_eq(msg, "");
}

Test(otlp_response, no_message_buffer)
{
	static const char body[] = "\x0a\x06\x08\x03\x12\x02hi";
	long long rej = 0;

	cr_assert_eq(ex_otlp_partial_success_proto(guarded(body, sizeof(body) - 1),
						   sizeof(body) - 1, &rej, NULL, 0), 0);
	cr_assert_eq(rej, 3);
}

/* depth nested unknown groups (field 3), then partial_success { 1: 6 }. */
static size_t nested_groups(uint8_t *out, size_t depth)
{
	size_t n = 0;

	for (size_t i = 0; i < depth; i++)
		out[n++] = 0x1b;	/* field 3, start group */
	for (size_t i = 0; i < depth; i++)
		out[n++] = 0x1c;	/* field 3, end group */
	memcpy(out + n, "\x0a\x02\x08\x06", 4);
	return n + 4;
}

Test(otlp_response, group_nesting_is_bounded)
{
	uint8_t body[2 * (EX_OTLP_MAX_DEPTH + 1) + 4];
	long long rej;
	char msg[8];
	size_t n;

	n = nested_groups(body, EX_OTLP_MAX_DEPTH);
	cr_assert_eq(ex_otlp_partial_success_proto(guarded(body, n), n, &rej, msg, sizeof(msg)), 0);
	cr_assert_eq(rej, 6);
	n = nested_groups(body, EX_OTLP_MAX_DEPTH + 1);
	cr_assert_eq(ex_otlp_partial_success_proto(guarded(body, n), n, &rej, msg, sizeof(msg)), -1);
	cr_assert_eq(rej, 0);
}

/* Every strict prefix of a well-formed body that ends inside a field is
 * malformed; no prefix reads past its own end (the guard page). */
Test(otlp_response, every_prefix_is_safe)
{
	static const char body[] = "\x0a\x0c\x08\x02\x12\x08too many";
	long long rej;
	char msg[16];

	for (size_t n = 1; n < sizeof(body) - 1; n++)
		cr_expect_eq(ex_otlp_partial_success_proto(guarded(body, n), n, &rej, msg,
							   sizeof(msg)), -1, "prefix %zu", n);
}
