/*
 * http_parse.c - the incremental HTTP/1.x tracker declared in http_parse.h:
 * start lines, header lines and the framing of the body (Content-Length,
 * chunked, until close) for one direction of one connection.
 *
 * DESIGN: one state byte plus a few counters; each call walks the caller's
 * bytes once and stops right after an event. Bytes that only need to be
 * classified or counted (request-targets, header values, reason phrases,
 * chunk extensions, bodies) are taken as runs: one table lookup per byte,
 * or one subtraction for a whole body slice. Everything a later byte
 * depends on lives in the struct, never in the position of a feed boundary,
 * so any split of the input gives the same events at the same offsets and
 * the same captured fields (the fuzz target checks exactly this).
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
#include <string.h>

#include "http_parse.h"

/* ------------------------------------------------------------------ bytes */

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

/* Names of interest, grouped by length for lookup(). */
static const struct {
	const char *name;
	uint8_t len;
	uint8_t id;
} names[] = {
	{ "b3", 2, H_B3 },
	{ "host", 4, H_HOST },
	{ "baggage", 7, H_BAGGAGE },
	{ "upgrade", 7, H_UPGRADE },
	{ "user-agent", 10, H_UA },
	{ "tracestate", 10, H_TS },
	{ "x-b3-flags", 10, H_XB3_FLAGS },
	{ "connection", 10, H_CONN },
	{ "traceparent", 11, H_TP },
	{ "x-b3-spanid", 11, H_XB3_SPANID },
	{ "x-b3-traceid", 12, H_XB3_TRACEID },
	{ "x-b3-sampled", 12, H_XB3_SAMPLED },
	{ "content-length", 14, H_CL },
	{ "transfer-encoding", 17, H_TE },
};
#define NAMES_N (sizeof(names) / sizeof(names[0]))

/* The header id of the lowercase name s[0..n), or H_NONE. Can't fail. */
static uint8_t lookup(const char *s, size_t n)
{
	/* first index in names[] of each length (0..17), NAMES_N: none */
	static const uint8_t first[18] = {
		NAMES_N, NAMES_N, 0, NAMES_N, 1, NAMES_N, NAMES_N, 2, NAMES_N, NAMES_N,
		4, 8, 10, NAMES_N, 12, NAMES_N, NAMES_N, 13,
	};
	size_t i;

	if (n >= sizeof(first))
		return H_NONE;
	for (i = first[n]; i < NAMES_N && names[i].len == n; i++)
		if (names[i].name[0] == s[0] && !memcmp(names[i].name, s, n))
			return names[i].id;
	return H_NONE;
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

/* The field that captured header id fills. id must satisfy is_captured(). */
static struct fref field_of(struct hk_http *p, uint8_t id)
{
	switch (id) {
	case H_HOST:
		return FREF(p->host);
	case H_UA:
		return FREF(p->user_agent);
	case H_TP:
		return FREF(p->traceparent);
	case H_TS:
		return FREF(p->tracestate);
	case H_BAGGAGE:
		return FREF(p->baggage);
	case H_B3:
		return FREF(p->b3);
	case H_XB3_TRACEID:
		return FREF(p->x_b3_traceid);
	case H_XB3_SPANID:
		return FREF(p->x_b3_spanid);
	case H_XB3_SAMPLED:
		return FREF(p->x_b3_sampled);
	default:
		return FREF(p->x_b3_flags);
	}
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

/*
 * The colon after a field name was read: decide what the value feeds.
 * Only the first host, user-agent, traceparent and b3 family field is
 * captured; every traceparent and tracestate field is counted. Can't fail.
 */
static void name_done(struct hk_http *p)
{
	uint8_t id = H_NONE;

	if (!(p->flags & F_TRAILER))
		id = lookup(p->name_buf, p->name_len);
	switch (id) {
	case H_TP:
		if (p->traceparent_count < UINT8_MAX)
			p->traceparent_count++;
		if (p->traceparent_count > 1)
			id = H_NONE;
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
		if ((p->seen & (1u << id)) && id != H_BAGGAGE)
			id = H_NONE;
		else
			p->seen |= (uint16_t)(1u << id);
		break;
	case H_TE:
		p->flags |= F_HAS_TE;
		break;
	case H_UPGRADE:
		p->upgrade = true;
		id = H_NONE;
		break;
	}
	p->hdr_id = id;
	p->substate = 0;
	p->remaining = 0;
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
	p->version_minor = 0;
	p->status = 0;
	p->has_content_length = false;
	p->chunked = false;
	p->conn_close = false;
	p->upgrade = false;
	p->until_close = false;
	p->content_length = 0;
	p->traceparent_count = 0;
	p->tracestate_count = 0;
	field_clear(FREF(p->host));
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
}

/* One more byte on the current line; false when the line is now too long. */
#define LINE_OK(p) (++(p)->line_len <= HK_HTTP_LINE_MAX)

/* How many of len - i bytes may still join the current line. */
static inline size_t line_room(const struct hk_http *p, size_t i, size_t len)
{
	size_t room = HK_HTTP_LINE_MAX - p->line_len;

	return len - i < room ? len - i : room;
}

/*
 * d[0..n) = the tchars s[0..n) with bit 5 set: lower case for letters,
 * unchanged for digits and most symbols; '^' and '_' become '~' and DEL,
 * which no name in names[] contains, so lookup() stays exact.
 */
static inline void name_copy(char *d, const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint64_t x;

	for (; n - i >= 8; i += 8) {
		memcpy(&x, s + i, 8);
		x |= 0x2020202020202020ull;
		memcpy(d + i, &x, 8);
	}
	for (; i < n; i++)
		d[i] = (char)(s[i] | 0x20);
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

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Non-zero when some byte of x is below v (v <= 128): the classic
 * "hasless" word trick, exact as a yes/no answer. */
static inline uint64_t has_less(uint64_t x, uint8_t v)
{
	return (x - ONES * v) & ~x & HIGHS;
}

/*
 * span() for the long runs: request-targets (mask C_V, lo 0x21) and
 * values, reason phrases, chunk extensions (mask C_V | C_W, lo 0x20).
 * Whole 8-byte words with no byte below lo and no DEL are in the class
 * and skipped at once; a word with such a byte (the end of the run, or an
 * HTAB) is classified byte by byte. Reads only s[0..n).
 */
static inline size_t span_long(const uint8_t *s, size_t n, uint8_t mask, uint8_t lo)
{
	size_t j = 0, end;
	uint64_t x;

	for (;;) {
		while (n - j >= 8) {
			memcpy(&x, s + j, 8);
			if (has_less(x, lo) | has_less(x ^ (ONES * 0x7f), 1))
				break;
			j += 8;
		}
		end = n - j >= 8 ? j + 8 : n;
		while (j < end && (cls[s[j]] & mask))
			j++;
		if (j < end || j == n)
			return j;
	}
}

size_t hk_http_feed(struct hk_http *p, const uint8_t *buf, size_t len, enum hk_http_event *ev)
{
	size_t i = 0, j, k;
	uint8_t c;

	*ev = HK_EV_NONE;
	switch (p->state) {
	case S_NOT_HTTP:
	case S_BODY_EOF:
		return len;
	case S_DONE_PENDING:
		p->state = (p->flags & F_TUNNEL) ? S_NOT_HTTP : S_IDLE;
		*ev = HK_EV_MSG_DONE;
		return 0;
	}
	while (i < len) {
		c = buf[i];
		switch (p->state) {
		case S_IDLE:
			if (c == '\n') {
				i++;
				break;
			}
			if (c == '\r') {
				p->state = S_IDLE_LF;
				i++;
				break;
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
		case S_IDLE_LF:
			if (c != '\n')
				goto not_http;
			p->state = S_IDLE;
			i++;
			break;
		case S_METHOD:
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
			j = span_long(buf + i, line_room(p, i, len), C_V, 0x21);
			k = sizeof(p->target.s) - 1 - p->target.len;
			if (k > j)
				k = j;
			else if (k < j)
				p->target.truncated = true;
			memcpy(p->target.s + p->target.len, buf + i, k);
			p->target.len = (uint16_t)(p->target.len + k);
			p->target.s[p->target.len] = 0;
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
			i += j = span_long(buf + i, line_room(p, i, len), C_V | C_W, 0x20);
			p->line_len += (uint32_t)j;
			if (i == len)
				break;
			c = buf[i];
			if (c == '\r' || c == '\n')
				goto start_line_end;
			goto not_http;
		case S_HDR:
hdr:
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
				return i;
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
			j = span_long(buf + i, line_room(p, i, len), C_V | C_W, 0x20);
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
		case S_BLANK:
			if (c == '\r') {
				p->state = S_BLANK_LF;
				i++;
				break;
			}
			__attribute__((fallthrough));
		case S_BLANK_LF:
			if (c != '\n' || !framing(p))
				goto not_http;
			*ev = HK_EV_HEAD_DONE;
			return i + 1;
		case S_TRAILER_LF:
			if (c != '\n')
				goto not_http;
			goto msg_done;
		case S_BODY_CL:
			k = len - i;
			if (k > p->remaining)
				k = (size_t)p->remaining;
			i += k;
			p->remaining -= k;
			if (!p->remaining) {
				p->state = S_IDLE;
				*ev = HK_EV_MSG_DONE;
				return i;
			}
			break;
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
			i += j = span_long(buf + i, line_room(p, i, len), C_V | C_W, 0x20);
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
		default:		/* S_NOT_HTTP, S_BODY_EOF, S_DONE_PENDING: not reached */
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
