/*
 * http_parse.c - the incremental HTTP/1.x tracker declared in http_parse.h:
 * start lines, header lines and the framing of the body (Content-Length,
 * chunked, until close) for one direction of one connection.
 *
 * DESIGN: one state byte plus a few counters; each call walks the caller's
 * bytes and stops right after an event. Bytes that only need to be
 * classified or counted (request-targets, header values, reason phrases,
 * chunk extensions, bodies) are taken as runs: 16 bytes at a time, or one
 * subtraction for a whole body slice. Everything a later byte depends on
 * lives in the struct, never in the position of a feed boundary, so any
 * split of the input gives the same events at the same offsets and the
 * same captured fields (the fuzz target checks exactly this, struct bytes
 * included).
 *
 * This runs inside every read and write of a traced server, so the usual
 * head is taken by fast paths: a start line or a field line that is here
 * whole and well-formed is checked first, then taken at once, leaving the
 * struct exactly as the byte-wise states would (fast_fields() takes the
 * field lines one after the other). Anything else (a line cut by the end
 * of the buffer, an error, a value that needs the general code) is left
 * to the byte-wise states, which also report errors. A byte is looked at
 * by at most one fast path and the byte-wise states: O(1) per byte.
 *
 * Where RFC 9112 leaves a choice the stricter one is taken, because the
 * answer decides whether header lines are inserted into a program's bytes:
 * obsolete line folding, whitespace before a colon or before the first
 * header, a bare CR, conflicting Content-Length values and a request whose
 * Transfer-Encoding does not end in chunked all make the direction
 * NOT_HTTP rather than being repaired.
 *
 * THREADS: none of its own; see http_parse.h.
 */
#include <stddef.h>
#include <string.h>

#include "http_parse.h"

/* ------------------------------------------------------------------ bytes */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

#define C_T 0x01	/* tchar (RFC 9110 5.6.2) */
#define C_V 0x02	/* field-vchar: VCHAR / obs-text (also request-target bytes) */
#define C_W 0x04	/* SP / HTAB */
#define C_H 0x08	/* HEXDIG */

/* Byte classes; 0 is a CTL or DEL (CR and LF included: they end lines). */
static const uint8_t cls[256] = {
	['\t'] = C_W,
	[' '] = C_W,
	['!'] = C_T | C_V,
	['"'] = C_V,
	['#' ... '\''] = C_T | C_V,
	['(' ... ')'] = C_V,
	['*' ... '+'] = C_T | C_V,
	[','] = C_V,
	['-' ... '.'] = C_T | C_V,
	['/'] = C_V,
	['0' ... '9'] = C_T | C_V | C_H,
	[':' ... '@'] = C_V,
	['A' ... 'F'] = C_T | C_V | C_H,
	['G' ... 'Z'] = C_T | C_V,
	['[' ... ']'] = C_V,
	['^' ... '`'] = C_T | C_V,
	['a' ... 'f'] = C_T | C_V | C_H,
	['g' ... 'z'] = C_T | C_V,
	['{'] = C_V,
	['|'] = C_T | C_V,
	['}'] = C_V,
	['~'] = C_T | C_V,
	[0x80 ... 0xff] = C_V,
};

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)(c | ((unsigned int)(c - 'A') < 26u) << 5);
}

static inline bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* ------------------------------------------------------------------ states */

enum {
	S_IDLE,			/* between messages; empty lines are skipped */
	S_IDLE_LF,		/* a CR of an empty line before a head */
	S_METHOD,
	S_TARGET0,		/* first byte of the request-target */
	S_TARGET,
	S_VERSION,		/* "HTTP/1." matched up to substate */
	S_VMINOR,		/* the DIGIT of HTTP/1.x */
	S_SL_END,		/* request line: CR or LF after the version */
	S_SL_LF,		/* start line: LF after CR */
	S_RSP,			/* status line: SP after the version */
	S_STATUS,		/* status code digit number substate */
	S_RSP2,			/* status line: SP, CR or LF after the code */
	S_REASON,
	S_HDR,			/* start of a header (or trailer) line */
	S_NAME,
	S_OWS,			/* after the colon, before the value */
	S_VALUE,
	S_VALUE_LF,		/* LF after the CR ending a field line */
	S_BLANK,		/* BLANK_LINE reported; its CR or LF is next */
	S_BLANK_LF,		/* LF after the blank line's CR */
	S_TRAILER_LF,		/* LF after the CR of the blank line ending trailers */
	S_BODY_CL,		/* remaining bytes of a Content-Length body */
	S_BODY_EOF,		/* body until the close: everything is body */
	S_CHUNK_SIZE,		/* hex digit number substate of a chunk-size */
	S_CHUNK_EXT,		/* the rest of a chunk-size line */
	S_CHUNK_SIZE_LF,
	S_CHUNK_DATA,		/* remaining bytes of chunk data */
	S_CHUNK_DATA_CR,	/* the CRLF after chunk data */
	S_CHUNK_DATA_LF,
	S_DONE_PENDING,		/* HEAD_DONE of a bodiless message reported;
				 * the next call reports MSG_DONE */
	S_NOT_HTTP,		/* for good (also a tunnel after 101/CONNECT) */
};

/* flags: per-message facts that are not result fields */
#define F_TRAILER 0x01		/* S_HDR..S_VALUE_LF read a trailer section */
#define F_HAS_TE 0x02		/* a Transfer-Encoding field was seen */
#define F_KEEPALIVE 0x04	/* Connection: keep-alive */
#define F_TUNNEL 0x08		/* after MSG_DONE the bytes are a tunnel */

/* Header fields of interest (hdr_id). H_HOST..H_XB3_FLAGS are captured. */
enum {
	H_NONE,
	H_HOST,
	H_UA,
	H_TP,
	H_TS,
	H_BAGGAGE,
	H_B3,
	H_XB3_TRACEID,
	H_XB3_SPANID,
	H_XB3_SAMPLED,
	H_XB3_FLAGS,
	H_CL,
	H_TE,
	H_CONN,
	H_UPGRADE,
};

/* Unaligned loads, for comparing names a word at a time (with a string
 * literal as s they fold to constants). */
static inline uint64_t ld8(const void *s)
{
	uint64_t x;

	memcpy(&x, s, 8);
	return x;
}

static inline uint32_t ld4(const void *s)
{
	uint32_t x;

	memcpy(&x, s, 4);
	return x;
}

static inline uint16_t ld2(const void *s)
{
	uint16_t x;

	memcpy(&x, s, 2);
	return x;
}

/*
 * d[0..n) = the tchars s[0..n) with bit 5 set: lower case for letters,
 * unchanged for digits and most symbols; '^' and '_' become '~' and DEL,
 * which no name lookup() knows contains, so lookup() stays exact. Words
 * at a time, the last one overlapping: writes exactly d[0..n).
 */
static inline void name_copy(char *d, const uint8_t *s, size_t n)
{
	uint64_t x;
	uint32_t y;
	size_t i;

	if (n >= 8) {
		for (i = 0; n - i > 16; i += 8) {
			x = ld8(s + i) | ONES * 0x20;
			memcpy(d + i, &x, 8);
		}
		x = ld8(s + i) | ONES * 0x20;
		memcpy(d + i, &x, 8);
		x = ld8(s + n - 8) | ONES * 0x20;
		memcpy(d + n - 8, &x, 8);
	} else if (n >= 4) {
		y = ld4(s) | 0x20202020u;
		memcpy(d, &y, 4);
		y = ld4(s + n - 4) | 0x20202020u;
		memcpy(d + n - 4, &y, 4);
	} else {
		for (i = 0; i < n; i++)
			d[i] = (char)(s[i] | 0x20);
	}
}

/* memcpy(d, s, n) for the short copies of heads: words at a time, the
 * last one overlapping; writes exactly d[0..n). */
static inline void copy_short(void *d, const void *s, size_t n)
{
	char *dc = d;
	const char *sc = s;
	uint64_t x;
	uint32_t y;
	size_t i;

	if (n >= 8) {
		for (i = 0; n - i > 16; i += 8) {
			memcpy(&x, sc + i, 8);
			memcpy(dc + i, &x, 8);
		}
		memcpy(&x, sc + i, 8);
		memcpy(dc + i, &x, 8);
		memcpy(&x, sc + n - 8, 8);
		memcpy(dc + n - 8, &x, 8);
	} else if (n >= 4) {
		memcpy(&y, sc, 4);
		memcpy(dc, &y, 4);
		memcpy(&y, sc + n - 4, 4);
		memcpy(dc + n - 4, &y, 4);
	} else {
		for (i = 0; i < n; i++)
			dc[i] = sc[i];
	}
}

/*
 * The header id of the lowercase name s[0..n), or H_NONE: b3, host,
 * baggage, upgrade, user-agent, tracestate, x-b3-flags, connection,
 * traceparent, x-b3-spanid, x-b3-traceid, x-b3-sampled, content-length,
 * transfer-encoding. By length, each name compared as a few (overlapping)
 * words that cover exactly s[0..n). Can't fail.
 */
static inline __attribute__((always_inline)) uint8_t lookup(const char *s, size_t n)
{
	uint64_t a, b;

	switch (n) {
	case 2:
		return ld2(s) == ld2("b3") ? H_B3 : H_NONE;
	case 4:
		return ld4(s) == ld4("host") ? H_HOST : H_NONE;
	case 7:
		a = ld4(s);
		b = ld4(s + 3);
		if (a == ld4("bagg") && b == ld4("gage"))
			return H_BAGGAGE;
		if (a == ld4("upgr") && b == ld4("rade"))
			return H_UPGRADE;
		return H_NONE;
	case 10:
		a = ld8(s);
		b = ld2(s + 8);
		if (a == ld8("user-age") && b == ld2("nt"))
			return H_UA;
		if (a == ld8("tracesta") && b == ld2("te"))
			return H_TS;
		if (a == ld8("x-b3-fla") && b == ld2("gs"))
			return H_XB3_FLAGS;
		if (a == ld8("connecti") && b == ld2("on"))
			return H_CONN;
		return H_NONE;
	case 11:
		a = ld8(s);
		b = ld4(s + 7);
		if (a == ld8("tracepar") && b == ld4("rent"))
			return H_TP;
		if (a == ld8("x-b3-spa") && b == ld4("anid"))
			return H_XB3_SPANID;
		return H_NONE;
	case 12:
		a = ld8(s);
		b = ld4(s + 8);
		if (a == ld8("x-b3-tra") && b == ld4("ceid"))
			return H_XB3_TRACEID;
		if (a == ld8("x-b3-sam") && b == ld4("pled"))
			return H_XB3_SAMPLED;
		return H_NONE;
	case 14:
		return ld8(s) == ld8("content-") && ld8(s + 6) == ld8("t-length") ? H_CL : H_NONE;
	case 17:
		return ld8(s) == ld8("transfer") && ld8(s + 8) == ld8("-encodin") && s[16] == 'g'
			       ? H_TE
			       : H_NONE;
	default:
		return H_NONE;
	}
}

static inline bool is_captured(uint8_t id)
{
	return id >= H_HOST && id <= H_XB3_FLAGS;
}

static inline bool is_joined(uint8_t id)
{
	return id == H_TS || id == H_BAGGAGE;
}

/* ------------------------------------------------------------------ captured fields */

/* A view of one HK_HTTP_FIELD (their types differ only in the capacity). */
struct fref {
	uint16_t *len;
	bool *truncated;
	char *s;
	size_t cap;			/* sizeof(s): room for cap - 1 bytes + NUL */
};

#define FREF(f) ((struct fref){ &(f).len, &(f).truncated, (f).s, sizeof((f).s) })

/* Where each captured field lives: offsets into struct hk_http. */
#define FIELD_AT(f)                                                                      \
	{ offsetof(struct hk_http, f.len), offsetof(struct hk_http, f.truncated),        \
	  offsetof(struct hk_http, f.s), sizeof(((struct hk_http *)0)->f.s) }

static const struct {
	uint16_t len, truncated, s, cap;
} fields[] = {
	[H_HOST] = FIELD_AT(host),
	[H_UA] = FIELD_AT(user_agent),
	[H_TP] = FIELD_AT(traceparent),
	[H_TS] = FIELD_AT(tracestate),
	[H_BAGGAGE] = FIELD_AT(baggage),
	[H_B3] = FIELD_AT(b3),
	[H_XB3_TRACEID] = FIELD_AT(x_b3_traceid),
	[H_XB3_SPANID] = FIELD_AT(x_b3_spanid),
	[H_XB3_SAMPLED] = FIELD_AT(x_b3_sampled),
	[H_XB3_FLAGS] = FIELD_AT(x_b3_flags),
};

/* The field that captured header id fills. id must satisfy is_captured(). */
static inline struct fref field_of(struct hk_http *p, uint8_t id)
{
	char *b = (char *)p;

	return (struct fref){ (uint16_t *)(void *)(b + fields[id].len), (bool *)(b + fields[id].truncated),
			      b + fields[id].s, fields[id].cap };
}

static void field_clear(struct fref f)
{
	*f.len = 0;
	*f.truncated = false;
	f.s[0] = 0;
}

/*
 * The value does not fit: mark f truncated at l bytes. For a joined list
 * (tracestate, baggage) the partial list member is dropped too, by cutting
 * back to the last ',' unless the byte that did not fit, c, is itself the
 * ',' ending a complete member: what stays is a list of whole members.
 */
static void field_truncate(struct fref f, size_t l, uint8_t c, bool joined)
{
	*f.truncated = true;
	if (joined && c != ',') {
		while (l && f.s[l - 1] != ',')
			l--;
		if (l)
			l--;
	}
	*f.len = (uint16_t)l;
	f.s[l] = 0;
}

/*
 * Appends value bytes s[0..n) (field-vchar, SP, HTAB) to the field of
 * p->hdr_id. Whitespace that does not fit is dropped: it is trailing OWS
 * unless a visible byte follows, and only that byte truncates the value.
 * Keeps the field NUL-terminated. Can't fail.
 */
static void capture(struct hk_http *p, const uint8_t *s, size_t n)
{
	struct fref f = field_of(p, p->hdr_id);
	size_t l = *f.len, k, i;

	if (*f.truncated)
		return;
	k = f.cap - 1 - l;
	if (k > n)
		k = n;
	memcpy(f.s + l, s, k);
	l += k;
	f.s[l] = 0;
	*f.len = (uint16_t)l;
	for (i = k; i < n; i++) {
		if (!is_ws(s[i])) {
			field_truncate(f, l, s[i], is_joined(p->hdr_id));
			return;
		}
	}
}

/* The first visible byte of a value is next: a joined field gets its ','
 * separator when it already holds something. Can't fail. */
static void value_start(struct hk_http *p)
{
	struct fref f;

	if (!is_joined(p->hdr_id))
		return;
	f = field_of(p, p->hdr_id);
	if (*f.truncated || !*f.len)
		return;
	if (*f.len + 1u < f.cap) {
		f.s[(*f.len)++] = ',';
		f.s[*f.len] = 0;
	} else {
		*f.truncated = true;	/* what it holds is whole members */
	}
}

/* End of a captured field line: trailing OWS goes. Can't fail. */
static void capture_end(struct hk_http *p)
{
	struct fref f = field_of(p, p->hdr_id);
	size_t l = *f.len;

	while (l && is_ws((uint8_t)f.s[l - 1]))
		l--;
	*f.len = (uint16_t)l;
	f.s[l] = 0;
}

/* ------------------------------------------------------------------ Content-Length */

/* substate while reading a Content-Length value (accumulated in remaining) */
enum { CL_PRE, CL_DIGITS, CL_POST };

/* One list element of Content-Length ended: it must equal any earlier one. */
static bool cl_elem_end(struct hk_http *p)
{
	if (p->has_content_length)
		return p->content_length == p->remaining;
	p->has_content_length = true;
	p->content_length = p->remaining;
	return true;
}

/*
 * Content-Length value bytes: 1*DIGIT, or a list of identical values
 * ("5, 5"). Returns n, or the index of the first byte that makes the value
 * invalid (a non-digit, an empty element, a value over UINT64_MAX, a value
 * different from an earlier one).
 */
static size_t cl_bytes(struct hk_http *p, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c >= '0' && c <= '9') {
			uint64_t d = (uint64_t)(c - '0');

			if (p->substate == CL_POST || p->remaining > (UINT64_MAX - d) / 10)
				return i;
			p->remaining = p->remaining * 10 + d;
			p->substate = CL_DIGITS;
		} else if (is_ws(c)) {
			if (p->substate == CL_DIGITS)
				p->substate = CL_POST;
		} else if (c == ',' && p->substate != CL_PRE) {
			if (!cl_elem_end(p))
				return i;
			p->remaining = 0;
			p->substate = CL_PRE;
		} else {
			return i;
		}
	}
	return n;
}

/* ------------------------------------------------------------------ token lists */

/* substate while reading Transfer-Encoding or Connection */
enum {
	TK_PRE,			/* before an element */
	TK_TOKEN,		/* in its leading token (copied to name_buf) */
	TK_AFTER,		/* after it: parameters, until ',' */
	TK_QUOTE,		/* in a quoted-string */
	TK_QESC,		/* after a backslash in a quoted-string */
};

static bool tok_is(const struct hk_http *p, const char *s, size_t n)
{
	return p->name_len == n && !memcmp(p->name_buf, s, n);
}

/* One element of a Transfer-Encoding or Connection list ended. */
static void tok_elem_end(struct hk_http *p)
{
	if (p->hdr_id == H_TE) {
		p->chunked = tok_is(p, "chunked", 7);	/* the last coding counts */
	} else if (tok_is(p, "close", 5)) {
		p->conn_close = true;
	} else if (tok_is(p, "keep-alive", 10)) {
		p->flags |= F_KEEPALIVE;
	}
}

/*
 * Transfer-Encoding / Connection value bytes: a comma-separated list whose
 * elements start with a token (lowercased into name_buf; a longer one than
 * name_buf holds matches nothing) optionally followed by parameters, in
 * which quoted strings may hide commas. Never fails.
 */
static void tok_bytes(struct hk_http *p, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		switch (p->substate) {
		case TK_PRE:
			if (c == ',' || is_ws(c))
				break;
			p->name_len = 0;
			p->substate = TK_AFTER;
			if (cls[c] & C_T) {
				p->name_buf[p->name_len++] = (char)lower(c);
				p->substate = TK_TOKEN;
			} else if (c == '"') {
				p->substate = TK_QUOTE;
			}
			break;
		case TK_TOKEN:
			if (cls[c] & C_T) {
				if (p->name_len < sizeof(p->name_buf))
					p->name_buf[p->name_len++] = (char)lower(c);
				break;
			}
			p->substate = TK_AFTER;
			__attribute__((fallthrough));
		case TK_AFTER:
			if (c == ',') {
				tok_elem_end(p);
				p->substate = TK_PRE;
			} else if (c == '"') {
				p->substate = TK_QUOTE;
			}
			break;
		case TK_QUOTE:
			if (c == '"')
				p->substate = TK_AFTER;
			else if (c == '\\')
				p->substate = TK_QESC;
			break;
		default:		/* TK_QESC */
			p->substate = TK_QUOTE;
			break;
		}
	}
}

/* ------------------------------------------------------------------ field lines */

/* The header id of the name in name_buf (none in a trailer section). */
static inline __attribute__((always_inline)) uint8_t name_id(const struct hk_http *p)
{
	return p->flags & F_TRAILER ? H_NONE : lookup(p->name_buf, p->name_len);
}

/*
 * What the value of a field line with header id feeds: only the first
 * host, user-agent, traceparent and b3 family field is captured; Upgrade
 * only sets a flag. Changes nothing.
 */
static inline uint8_t value_id(const struct hk_http *p, uint8_t id)
{
	switch (id) {
	case H_TP:
		return p->traceparent_count ? H_NONE : id;
	case H_HOST:
	case H_UA:
	case H_B3:
	case H_XB3_TRACEID:
	case H_XB3_SPANID:
	case H_XB3_SAMPLED:
	case H_XB3_FLAGS:
		return p->seen & (1u << id) ? H_NONE : id;
	case H_UPGRADE:
		return H_NONE;
	default:
		return id;
	}
}

/* A field line of header id: every traceparent and tracestate field is
 * counted; the others of interest leave their marks. Can't fail. */
static inline void name_count(struct hk_http *p, uint8_t id)
{
	switch (id) {
	case H_TP:
		if (p->traceparent_count < UINT8_MAX)
			p->traceparent_count++;
		break;
	case H_TS:
		if (p->tracestate_count < UINT8_MAX)
			p->tracestate_count++;
		break;
	case H_B3:
	case H_XB3_TRACEID:
	case H_XB3_SPANID:
	case H_XB3_SAMPLED:
	case H_XB3_FLAGS:
		p->has_b3_headers = true;
		__attribute__((fallthrough));
	case H_HOST:
	case H_UA:
	case H_BAGGAGE:
		p->seen |= (uint16_t)(1u << id);
		break;
	case H_TE:
		p->flags |= F_HAS_TE;
		break;
	case H_UPGRADE:
		p->upgrade = true;
		break;
	}
}

/* The colon after a field name was read, name_id() found id: count it,
 * and its value feeds value_id(). Can't fail. */
static void name_done_id(struct hk_http *p, uint8_t id)
{
	p->hdr_id = value_id(p, id);
	name_count(p, id);
	p->substate = 0;
	p->remaining = 0;
}

/* The colon after a field name was read. Can't fail. */
static void name_done(struct hk_http *p)
{
	name_done_id(p, name_id(p));
}

/*
 * Value bytes s[0..n) (field-vchar, SP, HTAB) of the current field line.
 * Returns n, or the index of the byte that makes the head NOT_HTTP.
 */
static size_t value_bytes(struct hk_http *p, const uint8_t *s, size_t n)
{
	switch (p->hdr_id) {
	case H_NONE:
		return n;
	case H_CL:
		return cl_bytes(p, s, n);
	case H_TE:
	case H_CONN:
		tok_bytes(p, s, n);
		return n;
	default:
		capture(p, s, n);
		return n;
	}
}

/*
 * The common cases of a field line that is here whole: its value s[0..n)
 * (trailing OWS included) feeds id = value_id() (not H_NONE) and is a
 * captured single value that fits, a Content-Length of digits equal to
 * any earlier one, or a Connection or Transfer-Encoding of one usual
 * token. Does what value_start(), value_bytes() and field_end() would do
 * with it (hdr_id stays H_NONE; substate, remaining and name_len are set
 * as they would leave them) and returns true; else changes nothing and
 * returns false.
 */
static inline bool value_whole(struct hk_http *p, uint8_t id, const uint8_t *s, size_t n)
{
	struct fref f;
	uint64_t x;
	size_t t;

	switch (id) {
	case H_CONN:
	case H_TE:
		/* Bit 5 set, these bytes can only have been the letters (or
		 * '-') of the token, in either case. */
		if (id == H_CONN && n == 10 && (ld8(s) | ONES * 0x20) == ld8("keep-ali") &&
		    (ld2(s + 8) | 0x2020) == ld2("ve"))
			p->flags |= F_KEEPALIVE;
		else if (id == H_CONN && n == 5 && (ld4(s) | 0x20202020u) == ld4("clos") &&
			 (s[4] | 0x20) == 'e')
			p->conn_close = true;
		else if (id == H_TE && n == 7 && (ld4(s) | 0x20202020u) == ld4("chun") &&
			 (ld4(s + 3) | 0x20202020u) == ld4("nked"))
			p->chunked = true;
		else
			return false;
		name_copy(p->name_buf, s, n);	/* tok_bytes() lower-cases it */
		p->name_len = (uint8_t)n;
		p->substate = TK_TOKEN;
		return true;
	case H_CL:
		/* 1 to 19 digits: no overflow */
		if (n - 1 >= 19)
			return false;
		for (x = 0, t = 0; t < n; t++) {
			if ((unsigned int)(s[t] - '0') > 9u)
				return false;
			x = x * 10 + (uint64_t)(s[t] - '0');
		}
		if (p->has_content_length && p->content_length != x)
			return false;
		p->has_content_length = true;
		p->content_length = x;
		p->remaining = x;
		p->substate = CL_DIGITS;
		return true;
	case H_TS:
	case H_BAGGAGE:
		return false;
	default:
		f = field_of(p, id);
		if (n >= f.cap || *f.len || *f.truncated)
			return false;
		copy_short(f.s, s, n);
		f.s[n] = 0;
		for (t = n; t && is_ws(s[t - 1]); t--)
			;
		f.s[t] = 0;
		*f.len = (uint16_t)t;
		return true;
	}
}

/* The LF ending a field line was read. Returns false when the line makes
 * the head NOT_HTTP (an empty or conflicting Content-Length). */
static bool field_end(struct hk_http *p)
{
	switch (p->hdr_id) {
	case H_NONE:
		break;
	case H_CL:
		if (p->substate == CL_PRE || !cl_elem_end(p))
			return false;
		break;
	case H_TE:
	case H_CONN:
		if (p->substate != TK_PRE)
			tok_elem_end(p);
		break;
	default:
		capture_end(p);
		break;
	}
	p->hdr_id = H_NONE;
	p->state = S_HDR;
	return true;
}

/* ------------------------------------------------------------------ messages */

#define CLEAR_END (offsetof(struct hk_http, host.s) + 1)
#define AFTER(a, b) (offsetof(struct hk_http, a) < offsetof(struct hk_http, b))
_Static_assert(AFTER(req_was_connect, version_minor) && AFTER(version_minor, status) &&
		       AFTER(status, has_content_length) && AFTER(has_content_length, chunked) &&
		       AFTER(chunked, conn_close) && AFTER(conn_close, upgrade) &&
		       AFTER(upgrade, until_close) && AFTER(until_close, content_length) &&
		       AFTER(content_length, traceparent_count) &&
		       AFTER(traceparent_count, tracestate_count) && AFTER(tracestate_count, host),
	       "begin_message() clears version_minor .. host.s[0] at once");

/* A new head starts: forget everything about the previous message. */
static void begin_message(struct hk_http *p)
{
	p->flags = 0;
	p->seen = 0;
	p->nheaders = 0;
	p->line_len = 0;
	p->remaining = 0;
	p->hdr_id = H_NONE;
	p->method[0] = 0;
	field_clear(FREF(p->target));
	/* version_minor .. host.s[0] in one go: status, the flags,
	 * content_length, the counts, host's len and truncated (and
	 * padding, which is zero anyway) */
	memset(&p->version_minor, 0, CLEAR_END - offsetof(struct hk_http, version_minor));
	field_clear(FREF(p->user_agent));
	field_clear(FREF(p->traceparent));
	field_clear(FREF(p->tracestate));
	field_clear(FREF(p->baggage));
	field_clear(FREF(p->b3));
	field_clear(FREF(p->x_b3_traceid));
	field_clear(FREF(p->x_b3_spanid));
	field_clear(FREF(p->x_b3_sampled));
	field_clear(FREF(p->x_b3_flags));
	p->has_b3_headers = false;
}

/*
 * The head is complete: decide how the body is delimited (RFC 9112 6.3)
 * and set the state that reads it. Returns false when a request's
 * Transfer-Encoding does not end in chunked (its length cannot be known).
 */
static bool framing(struct hk_http *p)
{
	bool te = p->flags & F_HAS_TE;
	uint64_t n = 0;

	if (p->version_minor == 0 && !(p->flags & F_KEEPALIVE))
		p->conn_close = true;
	if (p->kind == HK_HTTP_REQUEST) {
		if (te && !p->chunked)
			return false;
		if (!te && p->has_content_length)
			n = p->content_length;
	} else {
		unsigned int sc = p->status / 100;

		if (p->status == 101 || (p->req_was_connect && sc == 2)) {
			p->flags |= F_TUNNEL;
			p->state = S_DONE_PENDING;
			return true;
		}
		if (sc == 1 || p->req_was_head || p->status == 204 || p->status == 304) {
			p->state = S_DONE_PENDING;
			return true;
		}
		if ((te && !p->chunked) || (!te && !p->has_content_length)) {
			p->until_close = true;
			p->conn_close = true;
			p->state = S_BODY_EOF;
			return true;
		}
		if (!te)
			n = p->content_length;
	}
	if (p->chunked) {
		p->state = S_CHUNK_SIZE;
		p->substate = 0;
		p->remaining = 0;
		p->line_len = 0;
	} else if (n) {
		p->state = S_BODY_CL;
		p->remaining = n;
	} else {
		p->state = S_DONE_PENDING;
	}
	return true;
}

/* ------------------------------------------------------------------ API */

void hk_http_init(struct hk_http *p, enum hk_http_kind kind)
{
	memset(p, 0, sizeof(*p));
	p->kind = (uint8_t)kind;
	p->state = S_IDLE;
	p->report = HK_EV_ALL;
}

/* One more byte on the current line; false when the line is now too long. */
#define LINE_OK(p) (++(p)->line_len <= HK_HTTP_LINE_MAX)

/* How many of len - i bytes may still join the current line. */
static inline size_t line_room(const struct hk_http *p, size_t i, size_t len)
{
	size_t room = HK_HTTP_LINE_MAX - p->line_len;

	return len - i < room ? len - i : room;
}

/* How many bytes from s[0..n) are in class mask. */
static inline size_t span(const uint8_t *s, size_t n, uint8_t mask)
{
	size_t j = 0;

	while (n - j >= 4) {
		if (!(cls[s[j]] & mask))
			return j;
		if (!(cls[s[j + 1]] & mask))
			return j + 1;
		if (!(cls[s[j + 2]] & mask))
			return j + 2;
		if (!(cls[s[j + 3]] & mask))
			return j + 3;
		j += 4;
	}
	while (j < n && (cls[s[j]] & mask))
		j++;
	return j;
}

/*
 * Runs are classified 16 bytes at a time (GCC vector extensions: SSE2 on
 * x86-64, NEON on arm64, plain words elsewhere), one bit per byte.
 */
typedef uint8_t v16 __attribute__((vector_size(16)));
typedef int8_t v16s __attribute__((vector_size(16)));	/* also compare results: 0 or -1 */

#define SPLAT(c) ((v16){ c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c })

static inline v16 ld16(const uint8_t *s)
{
	v16 x;

	memcpy(&x, s, 16);
	return x;
}

/* Bit k set when lane k of m is set. */
static inline unsigned int lanes(v16s m)
{
#if defined(__SSE2__)
	return (unsigned int)__builtin_ia32_pmovmskb128((__attribute__((vector_size(16))) char)m);
#else
	uint64_t lo, hi;

	memcpy(&lo, &m, 8);
	memcpy(&hi, (char *)&m + 8, 8);
	return (unsigned int)(((lo & HIGHS) * 0x0002040810204081ull) >> 56) |
	       (unsigned int)(((hi & HIGHS) * 0x0002040810204081ull) >> 56) << 8;
#endif
}

/* Bytes of x outside the class of runs: below lo, or DEL. */
static inline unsigned int run_stops(v16 x, uint8_t lo)
{
	return lanes((v16s)((x < SPLAT(lo)) | (x == SPLAT(0x7f))));
}

/* Bytes of x that are not a letter, a digit or '-': the tchars of usual
 * field names, the others are looked up when met. (A range [a, b] is one
 * signed compare once a maps to -128.) */
static inline unsigned int name_stops(v16 x)
{
	v16s ok = ((v16s)((x | SPLAT(0x20)) + SPLAT(0x80 - 'a')) < (v16s)SPLAT(0x80 + 26)) |
		  ((v16s)(x + SPLAT(0x80 - '0')) < (v16s)SPLAT(0x80 + 10)) | (v16s)(x == SPLAT('-'));

	return lanes(ok) ^ 0xffff;
}

/*
 * The end of a run that starts at s[j]: the index of the first byte of
 * s[j..n) that is not in the class, or n. The classes: request-target
 * bytes (C_V: lo 0x21) and values, reason phrases, chunk extensions
 * (C_V | C_W: lo 0x20; an HTAB costs one more step). 16 bytes at a time;
 * fewer than 16 left are read as the 16 bytes that end at s[n], so reads
 * stay within s[0..n): n >= 16, and all of s[0..n) may be read. O(1) per
 * byte.
 */
static inline size_t run_end16(const uint8_t *s, size_t j, size_t n, uint8_t lo)
{
	unsigned int m;

	for (;;) {
		if (n - j > 16) {
			m = run_stops(ld16(s + j), lo);
			if (!m) {
				j += 16;
				continue;
			}
		} else {
			if (j == n)
				return n;
			m = run_stops(ld16(s + n - 16), lo) >> (16 - (n - j));
			if (!m)
				return n;
		}
		j += (size_t)__builtin_ctz(m);
		if (lo != 0x20 || s[j] != '\t')
			return j;
		j++;			/* HTAB is in the class of values */
	}
}

/* run_end16() for any n: shorter buffers byte by byte. */
static inline size_t run_end(const uint8_t *s, size_t j, size_t n, uint8_t lo)
{
	uint8_t mask = lo == 0x20 ? C_V | C_W : C_V;

	if (n >= 16)
		return run_end16(s, j, n, lo);
	while (j < n && (cls[s[j]] & mask))
		j++;
	return j;
}

/* run_end16() for tchars (C_T): field names. */
static inline size_t name_end16(const uint8_t *s, size_t j, size_t n)
{
	unsigned int m;

	for (;;) {
		if (n - j > 16) {
			m = name_stops(ld16(s + j));
			if (!m) {
				j += 16;
				continue;
			}
		} else {
			if (j == n)
				return n;
			m = name_stops(ld16(s + n - 16)) >> (16 - (n - j));
			if (!m)
				return n;
		}
		j += (size_t)__builtin_ctz(m);
		if (!(cls[s[j]] & C_T))
			return j;
		j++;			/* a tchar of the rarer kind */
	}
}

/* Request-target bytes s[0..n): captured while they fit. Can't fail. */
static inline void target_bytes(struct hk_http *p, const uint8_t *s, size_t n)
{
	size_t k = sizeof(p->target.s) - 1 - p->target.len;

	if (k > n)
		k = n;
	else if (k < n)
		p->target.truncated = true;
	copy_short(p->target.s + p->target.len, s, k);
	p->target.len = (uint16_t)(p->target.len + k);
	p->target.s[p->target.len] = 0;
}

/*
 * Field lines from buf[i] (S_HDR, i < len), as long as each is here whole
 * (up to its LF, within the line limit), well-formed, and its value feeds
 * nothing or is one value_whole() takes: each is taken at once, leaving
 * what the byte-wise states would leave. Returns where those go on: the
 * end of buf, a blank line, or a line for them to take (and report, if it
 * is wrong). Checks come before changes, or the changes are ones the
 * byte-wise states make again.
 */
static size_t fast_fields(struct hk_http *p, const uint8_t *buf, size_t i, size_t len)
{
	/* lengths of the names lookup() knows */
	const uint64_t lens = 1u << 2 | 1u << 4 | 1u << 7 | 1u << 10 | 1u << 11 | 1u << 12 | 1u << 14 | 1u << 17;
	unsigned int nh = p->nheaders;
	size_t j, v, e, k, n;
	uint8_t id, vid;

	if (len < 16)
		return i;	/* (too short for run_end16()) */
	/* a byte up to CR (the blank line's, or a CTL) cannot start a name */
	while (nh < HK_HTTP_HEADERS_MAX && buf[i] > '\r') {
		j = name_end16(buf, i, len);
		if (j == i || j == len || buf[j] != ':')
			break;		/* also SP/HTAB first: obs-fold */
		/* OWS and value are one run: the value is what OWS leaves */
		e = run_end16(buf, j + 1, len, 0x20);
		if (e == len || e - i > HK_HTTP_LINE_MAX)
			break;
		k = e + (buf[e] == '\r');	/* the LF */
		if (k == len || buf[k] != '\n')
			break;
		n = j - i < sizeof(p->name_buf) ? j - i : sizeof(p->name_buf);
		name_copy(p->name_buf, buf + i, n);
		p->name_len = (uint8_t)n;
		p->substate = 0;
		p->remaining = 0;
		if ((lens >> n & 1) && (id = name_id(p)) != H_NONE) {
			vid = value_id(p, id);
			if (vid != H_NONE) {
				for (v = j + 1; cls[buf[v]] & C_W; v++)
					;	/* ends at buf[e] (CR or LF) at the latest */
				if (!value_whole(p, vid, buf + v, e - v))
					break;
			}
			name_count(p, id);
		}
		p->line_len = (uint32_t)(e - i);
		nh++;
		i = k + 1;
		if (i == len)
			break;
	}
	p->nheaders = (uint16_t)nh;
	return i;
}

/*
 * Between messages (S_IDLE, S_IDLE_LF), len > 0: skip empty lines; the
 * first byte of a head starts the message (HK_EV_HEAD_START).
 */
static size_t parse_idle(struct hk_http *p, const uint8_t *buf, size_t len, enum hk_http_event *ev)
{
	size_t i;
	uint8_t c;

	for (i = 0; i < len; i++) {
		c = buf[i];
		if (p->state == S_IDLE_LF) {
			if (c != '\n')
				goto not_http;
			p->state = S_IDLE;
			continue;
		}
		if (c == '\n')
			continue;
		if (c == '\r') {
			p->state = S_IDLE_LF;
			continue;
		}
		if (p->kind == HK_HTTP_REQUEST ? !(cls[c] & C_T) : c != 'H')
			goto not_http;
		begin_message(p);
		p->line_len = 1;
		if (p->kind == HK_HTTP_REQUEST) {
			p->method[0] = (char)c;
			p->method[1] = 0;
			p->name_len = 1;
			p->state = S_METHOD;
		} else {
			p->substate = 1;
			p->state = S_VERSION;
		}
		*ev = HK_EV_HEAD_START;
		return i + 1;
	}
	*ev = HK_EV_NONE;
	return len;

not_http:
	p->state = S_NOT_HTTP;
	*ev = HK_EV_NOT_HTTP;
	return i + 1;
}

/* The blank line after BLANK_LINE (S_BLANK, S_BLANK_LF), len > 0: its LF
 * ends the head (HK_EV_HEAD_DONE) and framing() decides the body. */
static size_t parse_blank(struct hk_http *p, const uint8_t *buf, size_t len, enum hk_http_event *ev)
{
	size_t i = 0;
	uint8_t c = buf[0];

	if (p->state == S_BLANK && c == '\r') {
		if (len == 1) {
			p->state = S_BLANK_LF;
			*ev = HK_EV_NONE;
			return 1;
		}
		c = buf[i = 1];
	}
	if (c != '\n' || !framing(p)) {
		p->state = S_NOT_HTTP;
		*ev = HK_EV_NOT_HTTP;
		return i + 1;
	}
	*ev = HK_EV_HEAD_DONE;
	return i + 1;
}

#define WANTS(p, e) ((p)->report & (1u << (e)))

/*
 * HK_EV_HEAD_DONE was reached after buf[0..i). When the caller does not ask
 * for it and the message has no body, go on to its HK_EV_MSG_DONE (at the
 * same offset, as the next call would report it), and when that is not
 * asked for either, to what follows: the next head or the end of buf.
 * Returns the bytes consumed with *ev set as hk_http_feed() reports.
 */
static size_t head_done(struct hk_http *p, const uint8_t *buf, size_t i, size_t len,
			enum hk_http_event *ev)
{
	if (WANTS(p, HK_EV_HEAD_DONE) || p->state != S_DONE_PENDING)
		return i;
	p->state = (p->flags & F_TUNNEL) ? S_NOT_HTTP : S_IDLE;
	*ev = HK_EV_MSG_DONE;
	if (WANTS(p, HK_EV_MSG_DONE))
		return i;
	*ev = HK_EV_NONE;
	if (i == len || p->state == S_NOT_HTTP)
		return len;
	return i + parse_idle(p, buf + i, len - i, ev);
}

/* Everything else: heads after their first byte, chunked bodies. len > 0. */
static __attribute__((noinline)) size_t parse_rest(struct hk_http *p, const uint8_t *buf, size_t len,
						   enum hk_http_event *ev)
{
	size_t i = 0, j, k, e, lim;
	uint8_t c;

	*ev = HK_EV_NONE;
	while (i < len) {
		c = buf[i];
		switch (p->state) {
		case S_METHOD:
			/* The common case: the rest of the request line is here
			 * (within the line limit) and well-formed: taken at once.
			 * Anything else is left, unchanged, to the byte-wise
			 * states below, which also report what is wrong. */
			lim = i + line_room(p, i, len);
			j = i + span(buf + i, lim - i, C_T);	/* method end */
			if (j - i + p->name_len > HK_HTTP_METHOD_MAX || j + 1 >= lim || buf[j] != ' ' ||
			    !(cls[buf[j + 1]] & C_V))
				goto method;
			e = run_end(buf, j + 1, lim, 0x21);	/* target end */
			if (lim - e < 10 || ld8(buf + e) != ld8(" HTTP/1.") ||
			    (unsigned int)(buf[e + 8] - '0') > 9u)
				goto method;
			k = e + 9;
			if (buf[k] == '\r' && ++k == len)
				goto method;
			if (buf[k] != '\n')
				goto method;
			copy_short(p->method + p->name_len, buf + i, j - i);
			p->name_len = (uint8_t)(p->name_len + (j - i));
			p->method[p->name_len] = 0;
			target_bytes(p, buf + j + 1, e - (j + 1));
			p->version_minor = (uint8_t)(buf[e + 8] - '0');
			p->substate = 7;
			p->line_len += (uint32_t)(e + 9 - i);
			p->state = S_HDR;
			i = k + 1;
			if (i == len)
				return i;
			c = buf[i];
			goto hdr;
method:
			while (cls[c] & C_T) {
				if (p->name_len >= HK_HTTP_METHOD_MAX)
					goto not_http;
				p->method[p->name_len++] = (char)c;
				p->method[p->name_len] = 0;
				p->line_len++;
				if (++i == len)
					return i;
				c = buf[i];
			}
			if (c != ' ' || !LINE_OK(p))
				goto not_http;
			p->state = S_TARGET0;
			i++;
			break;
		case S_TARGET0:
			if (!(cls[c] & C_V))
				goto not_http;
			p->state = S_TARGET;
			__attribute__((fallthrough));
		case S_TARGET:
			j = run_end(buf, i, i + line_room(p, i, len), 0x21) - i;
			target_bytes(p, buf + i, j);
			p->line_len += (uint32_t)j;
			i += j;
			if (i == len)
				break;
			if (buf[i] != ' ' || !LINE_OK(p))
				goto not_http;	/* also a C_V byte past the line limit */
			p->state = S_VERSION;
			p->substate = 0;
			i++;
			break;
		case S_VERSION:
			/* The common case, as for the request line: the status
			 * line after its 'H' is here and well-formed. */
			lim = i + line_room(p, i, len);
			if (p->substate != 1 || p->kind != HK_HTTP_RESPONSE || lim - i < 12)
				goto version;
			if ((ld8(buf + i) & 0xffffffffffffull) != (ld8("TTP/1.  ") & 0xffffffffffffull) ||
			    (unsigned int)(buf[i + 6] - '0') > 9u || buf[i + 7] != ' ' ||
			    (unsigned int)(buf[i + 8] - '1') > 8u || (unsigned int)(buf[i + 9] - '0') > 9u ||
			    (unsigned int)(buf[i + 10] - '0') > 9u)
				goto version;
			e = i + 11;		/* reason end */
			if (buf[e] == ' ')
				e = run_end(buf, e + 1, lim, 0x20);
			if (e == lim)
				goto version;
			k = e;
			if (buf[k] == '\r' && ++k == len)
				goto version;
			if (buf[k] != '\n')
				goto version;
			p->version_minor = (uint8_t)(buf[i + 6] - '0');
			p->status = (uint16_t)(buf[i + 8] * 100 + buf[i + 9] * 10 + buf[i + 10] - '0' * 111);
			p->substate = 3;
			p->line_len += (uint32_t)(e - i);
			p->state = S_HDR;
			i = k + 1;
			if (i == len)
				return i;
			c = buf[i];
			goto hdr;
version:
			for (;;) {
				if (c != (uint8_t)"HTTP/1."[p->substate] || !LINE_OK(p))
					goto not_http;
				i++;
				if (++p->substate == 7) {
					p->state = S_VMINOR;
					break;
				}
				if (i == len)
					return i;
				c = buf[i];
			}
			break;
		case S_VMINOR:
			if (c < '0' || c > '9' || !LINE_OK(p))
				goto not_http;
			p->version_minor = (uint8_t)(c - '0');
			p->state = p->kind == HK_HTTP_REQUEST ? S_SL_END : S_RSP;
			i++;
			break;
		case S_SL_END:
start_line_end:
			if (c == '\r') {
				p->state = S_SL_LF;
				if (++i == len)
					return i;
				c = buf[i];
			}
			__attribute__((fallthrough));
		case S_SL_LF:
			if (c != '\n')
				goto not_http;
			p->state = S_HDR;
			if (++i == len)
				return i;
			c = buf[i];
			goto hdr;
		case S_RSP:
			if (c != ' ' || !LINE_OK(p))
				goto not_http;
			p->state = S_STATUS;
			p->substate = 0;
			i++;
			break;
		case S_STATUS:
			for (;;) {
				if (c < '0' || c > '9' || (!p->substate && c == '0') || !LINE_OK(p))
					goto not_http;
				p->status = (uint16_t)(p->status * 10 + (c - '0'));
				i++;
				if (++p->substate == 3) {
					p->state = S_RSP2;
					break;
				}
				if (i == len)
					return i;
				c = buf[i];
			}
			break;
		case S_RSP2:
			if (c == ' ') {
				if (!LINE_OK(p))
					goto not_http;
				p->state = S_REASON;
				i++;
				break;
			}
			if (c == '\r' || c == '\n')
				goto start_line_end;
			goto not_http;
		case S_REASON:
			i += j = run_end(buf, i, i + line_room(p, i, len), 0x20) - i;
			p->line_len += (uint32_t)j;
			if (i == len)
				break;
			c = buf[i];
			if (c == '\r' || c == '\n')
				goto start_line_end;
			goto not_http;
		case S_HDR:
hdr:
			i = fast_fields(p, buf, i, len);
			if (i == len)
				return i;
			c = buf[i];
			if (c == '\r' || c == '\n') {
				if (p->flags & F_TRAILER) {
					if (c == '\n')
						goto msg_done;
					p->state = S_TRAILER_LF;
					i++;
					break;
				}
				p->state = S_BLANK;
				*ev = HK_EV_BLANK_LINE;
				if (WANTS(p, HK_EV_BLANK_LINE))
					return i;
				/* Not asked for: the blank line itself, here. */
				i += parse_blank(p, buf + i, len - i, ev);
				return *ev == HK_EV_HEAD_DONE ? head_done(p, buf, i, len, ev) : i;
			}
			/* SP/HTAB here is obs-fold (or space before the first field) */
			if (!(cls[c] & C_T) || ++p->nheaders > HK_HTTP_HEADERS_MAX)
				goto not_http;
			p->name_len = 0;
			p->line_len = 0;
			p->state = S_NAME;
			__attribute__((fallthrough));
		case S_NAME:
			j = span(buf + i, line_room(p, i, len), C_T);
			k = sizeof(p->name_buf) - p->name_len;
			if (k > j)
				k = j;
			name_copy(p->name_buf + p->name_len, buf + i, k);
			p->name_len = (uint8_t)(p->name_len + k);
			p->line_len += (uint32_t)j;
			i += j;
			if (i == len)
				break;
			c = buf[i];
			if (c != ':' || !LINE_OK(p))
				goto not_http;	/* also a tchar past the line limit */
			name_done(p);
			p->state = S_OWS;
			if (++i == len)
				return i;
			c = buf[i];
			__attribute__((fallthrough));
		case S_OWS:
			while (is_ws(c)) {
				if (!LINE_OK(p))
					goto not_http;
				if (++i == len)
					return i;
				c = buf[i];
			}
			if (c == '\r' || c == '\n')
				goto value_end;
			if (!(cls[c] & C_V))
				goto not_http;
			value_start(p);
			p->state = S_VALUE;
			__attribute__((fallthrough));
		case S_VALUE:
			j = run_end(buf, i, i + line_room(p, i, len), 0x20) - i;
			k = value_bytes(p, buf + i, j);
			if (k < j) {
				p->line_len += (uint32_t)k;
				i += k;
				goto not_http;
			}
			p->line_len += (uint32_t)j;
			i += j;
			if (i == len)
				break;
			c = buf[i];
value_end:
			if (c == '\r') {
				p->state = S_VALUE_LF;
				if (++i == len)
					return i;
				c = buf[i];
			}
			__attribute__((fallthrough));	/* LF, a CTL, or a byte past the line limit */
		case S_VALUE_LF:
			if (c != '\n' || !field_end(p))
				goto not_http;
			if (++i == len)
				return i;
			c = buf[i];
			goto hdr;
		case S_TRAILER_LF:
			if (c != '\n')
				goto not_http;
			goto msg_done;
		case S_CHUNK_SIZE:
			if (cls[c] & C_H) {
				if (p->substate == 16 || !LINE_OK(p))
					goto not_http;	/* more than 64 bits */
				p->remaining = p->remaining << 4 |
					       (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
				p->substate++;
				i++;
				break;
			}
			if (!p->substate)
				goto not_http;
			if (c == ';' || is_ws(c)) {
				p->state = S_CHUNK_EXT;
				break;
			}
			if (c == '\r') {
				p->state = S_CHUNK_SIZE_LF;
				i++;
				break;
			}
			if (c != '\n')
				goto not_http;
			goto chunk_line_done;
		case S_CHUNK_EXT:
			i += j = run_end(buf, i, i + line_room(p, i, len), 0x20) - i;
			p->line_len += (uint32_t)j;
			if (i == len)
				break;
			if (buf[i] == '\r') {
				p->state = S_CHUNK_SIZE_LF;
				i++;
				break;
			}
			if (buf[i] != '\n')
				goto not_http;
			goto chunk_line_done;
		case S_CHUNK_SIZE_LF:
			if (c != '\n')
				goto not_http;
chunk_line_done:
			i++;
			if (p->remaining) {
				p->state = S_CHUNK_DATA;
			} else {
				p->flags |= F_TRAILER;
				p->nheaders = 0;
				p->state = S_HDR;
			}
			break;
		case S_CHUNK_DATA:
			k = len - i;
			if (k > p->remaining)
				k = (size_t)p->remaining;
			i += k;
			p->remaining -= k;
			if (!p->remaining)
				p->state = S_CHUNK_DATA_CR;
			break;
		case S_CHUNK_DATA_CR:
			if (c == '\r') {
				p->state = S_CHUNK_DATA_LF;
				i++;
				break;
			}
			__attribute__((fallthrough));
		case S_CHUNK_DATA_LF:
			if (c != '\n')
				goto not_http;
			p->state = S_CHUNK_SIZE;
			p->substate = 0;
			p->remaining = 0;
			p->line_len = 0;
			i++;
			break;
		default:		/* the states of hk_http_feed(): not reached */
			return len;
		}
	}
	return i;

msg_done:
	p->state = S_IDLE;
	*ev = HK_EV_MSG_DONE;
	return i + 1;
not_http:
	p->state = S_NOT_HTTP;
	*ev = HK_EV_NOT_HTTP;
	return i + 1;
}

/*
 * The states a call can only start in (each ends its call, or was entered
 * when a call ended) are taken here, without parse_rest(): four of the five
 * calls of a typical message are short.
 */
size_t hk_http_feed(struct hk_http *p, const uint8_t *buf, size_t len, enum hk_http_event *ev)
{
	uint64_t k;

	if (p->state == S_DONE_PENDING) {
		p->state = (p->flags & F_TUNNEL) ? S_NOT_HTTP : S_IDLE;
		*ev = HK_EV_MSG_DONE;
		if (WANTS(p, HK_EV_MSG_DONE))
			return 0;
	}
	*ev = HK_EV_NONE;
	if (!len)
		return 0;
	switch (p->state) {
	case S_NOT_HTTP:
	case S_BODY_EOF:
		return len;
	case S_IDLE:
	case S_IDLE_LF:
		return parse_idle(p, buf, len, ev);
	case S_BLANK:
	case S_BLANK_LF:
		k = parse_blank(p, buf, len, ev);
		return *ev == HK_EV_HEAD_DONE ? head_done(p, buf, (size_t)k, len, ev) : (size_t)k;
	case S_BODY_CL:
		k = len < p->remaining ? len : p->remaining;
		p->remaining -= k;
		if (!p->remaining) {
			p->state = S_IDLE;
			*ev = HK_EV_MSG_DONE;
		}
		return (size_t)k;
	default:
		return parse_rest(p, buf, len, ev);
	}
}

uint64_t hk_http_skip(struct hk_http *p, uint64_t n, enum hk_http_event *ev)
{
	uint64_t k;

	*ev = HK_EV_NONE;
	switch (p->state) {
	case S_BODY_EOF:
		return n;
	case S_BODY_CL:
		k = n < p->remaining ? n : p->remaining;
		p->remaining -= k;
		if (!p->remaining) {
			p->state = S_IDLE;
			*ev = HK_EV_MSG_DONE;
		}
		return k;
	case S_CHUNK_DATA:
		if (n <= p->remaining) {
			p->remaining -= n;
			if (!p->remaining)
				p->state = S_CHUNK_DATA_CR;
			return n;
		}
		break;			/* would cross chunk framing: unseen */
	default:
		break;
	}
	p->state = S_NOT_HTTP;
	*ev = HK_EV_NOT_HTTP;
	return n;
}

bool hk_http_eof(struct hk_http *p)
{
	switch (p->state) {
	case S_BODY_EOF:
		p->state = S_IDLE;
		return true;
	case S_DONE_PENDING:
		p->state = (p->flags & F_TUNNEL) ? S_NOT_HTTP : S_IDLE;
		return true;
	default:
		return false;
	}
}

bool hk_http_in_start_line(const struct hk_http *p)
{
	return p->state >= S_METHOD && p->state < S_HDR;
}

bool hk_http_idle(const struct hk_http *p)
{
	return p->state == S_IDLE || p->state == S_IDLE_LF;
}

bool hk_http_not_http(const struct hk_http *p)
{
	return p->state == S_NOT_HTTP;
}

int hk_http_get(void *carrier, const char *key, const char **val, size_t *len)
{
	struct hk_http *p = carrier;
	char name[sizeof(p->name_buf)];
	size_t n = 0;
	struct fref f;
	uint8_t id;
	int count;

	*val = NULL;
	*len = 0;
	while (key[n]) {
		if (n == sizeof(name))
			return 0;
		name[n] = (char)lower((uint8_t)key[n]);
		n++;
	}
	id = lookup(name, n);
	if (!is_captured(id))
		return 0;
	if (id == H_TP)
		count = p->traceparent_count;
	else if (id == H_TS)
		count = p->tracestate_count;
	else
		count = (p->seen >> id) & 1;
	if (!count)
		return 0;
	f = field_of(p, id);
	*val = f.s;
	*len = *f.truncated && !is_joined(id) ? 0 : *f.len;
	return count;
}
