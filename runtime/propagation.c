/*
 * propagation.c - context carrier codecs: W3C traceparent/tracestate, W3C
 * baggage, B3 single and multi header, and the composite extract/inject
 * that OTEL_PROPAGATORS configures.
 *
 * DESIGN: every parser works in place on the caller's bytes, which are NOT
 * NUL-terminated: each one takes (s, len) and never reads s[len] or beyond.
 * Output goes to caller buffers with an explicit capacity; nothing is
 * allocated. Parsers validate completely before they write a context, so a
 * rejected header never leaves half an id behind.
 *
 * THREADS: no global mutable state, no I/O, errno untouched: safe from any
 * thread and from a signal handler that interrupted a hook. The getter and
 * setter callbacks inherit whatever guarantees their implementations give.
 *
 * SPECS, and the choices made where they leave room:
 *   - traceparent: W3C Trace Context, REC 2021-11-23 section 3.2
 *     (https://www.w3.org/TR/2021/REC-trace-context-1-20211123/) and the
 *     Level 2 draft, which agree on it. For a version above 00 only the
 *     sampled bit of trace-flags is kept ("parse the sampled bit"): what the
 *     other bits mean in a future version is unknown. We always emit 00.
 *   - tracestate keys follow the current W3C *Recommendation* (Level 1, REC
 *     2021-11-23, section 3.3.1.3.1):
 *         key = simple-key / multi-tenant-key
 *         simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 *         multi-tenant-key = tenant-id "@" system-id
 *         tenant-id = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 *         system-id = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 *     Trace Context Level 2 (a Candidate Recommendation Draft, not yet a
 *     Recommendation) relaxes this to ( lcalpha / DIGIT ) 0*255( keychar )
 *     with '@' anywhere; the public W3C test suite (test/test.py,
 *     STRICT_LEVEL 2) still rejects "foo@=1", "foo@@bar=1", a 242-char
 *     tenant and a 15-char system, so Level 1 is also what passes it.
 *   - tracestate value = 0*255(chr) nblk-chr: 1..256 chars of 0x20-0x7E
 *     without ',' and '=', not ending in a space. Empty members are skipped;
 *     an invalid member, a duplicate key or a 33rd member invalidates all.
 *   - baggage: W3C Baggage (https://www.w3.org/TR/baggage/): list-member =
 *     key OWS "=" OWS value *( OWS ";" OWS property ); key is an RFC 7230
 *     token; value is *baggage-octet and every '%' must start a %XX escape
 *     (values are "URL encoded"; property values are checked the same way).
 *     Members are kept as text (not decoded), with OWS removed.
 *   - B3: https://github.com/openzipkin/b3-propagation and the OTel spec
 *     "B3 Requirements" (context/api-propagators.md): both b3 and b3multi
 *     extract the single header first and fall back to the multi headers;
 *     b3 injects only "b3", b3multi only the X-B3-* headers; ParentSpanId
 *     is never propagated; debug implies sampled.
 *     A missing sampling state means "defer" in B3. rt_ctx has no deferred
 *     (or debug) bit, and neither the OTel spec nor B3 says how to map it,
 *     so we treat deferred as SAMPLED (B3_DEFERRED_FLAGS below): the receiver
 *     decides, and our default root sampler (always_on) would record it.
 *     Note that the OTel Java, Go and JS propagators effectively map it to
 *     not-sampled; flip B3_DEFERRED_FLAGS to 0 to match them.
 *     An X-B3-Sampled value other than 1/0/true/false rejects the multi
 *     headers, like an invalid sampling state rejects the single header.
 */
#include <string.h>

#include "propagation.h"

#define TP_LEN 55			/* version 00 traceparent length */
#define TS_MAX_MEMBERS 32		/* W3C: at most 32 list-members */
#define TS_MAX_KEY 256			/* simple-key: 1 + 255 */
#define TS_MAX_TENANT 241		/* tenant-id: 1 + 240 */
#define TS_MAX_SYSTEM 14		/* system-id: 1 + 13 */
#define TS_MAX_VALUE 256		/* value: 255 chr + 1 nblk-chr */
#define TS_BIG_MEMBER 128		/* truncation drops members longer than this first */
#define BAG_MAX_MEMBERS 64		/* W3C baggage: propagate at least 64 */
#define B3_DEFERRED_FLAGS RT_FLAG_SAMPLED	/* B3 "defer": see the file comment */
#define FLAGS_KNOWN (RT_FLAG_SAMPLED | RT_FLAG_RANDOM)	/* version 00 defines these */

/* OWS of RFC 7230: space or horizontal tab. */
static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Narrows (*s, *len) to exclude leading and trailing OWS. */
static void trim_ows(const char **s, size_t *len)
{
	while (*len && is_ows(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_ows((*s)[*len - 1]))
		(*len)--;
}

/* True for a hex digit of either case (percent escapes are not lowercase-only). */
static bool is_xdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* True when s[0..len) equals the NUL-terminated lit exactly. */
static bool eq_lit(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* ---------------------------------------------------------------- traceparent */

/*
 * Parses a traceparent value (see the header). Returns true and fills ctx
 * (ids, flags, valid, remote, tracestate "") on success. On failure returns
 * false and sets ctx->valid = false, touching nothing else.
 */
bool rt_traceparent_parse(const char *s, size_t len, struct rt_ctx *ctx)
{
	uint8_t ver, tid[16], sid[8], flags;

	ctx->valid = false;
	trim_ows(&s, &len);
	if (len < TP_LEN)
		return false;
	if (!rt_hex_decode_lower(s, 1, &ver) || ver == 0xff)
		return false;
	if (ver == 0x00 && len != TP_LEN)
		return false;			/* 00 is exactly 55 chars */
	if (len > TP_LEN && s[TP_LEN] != '-')
		return false;			/* future: flags end or a '-' follows */
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!rt_hex_decode_lower(s + 3, 16, tid) || !rt_hex_decode_lower(s + 36, 8, sid) ||
	    !rt_hex_decode_lower(s + 53, 1, &flags))
		return false;
	if (rt_id_is_zero(tid, 16) || rt_id_is_zero(sid, 8))
		return false;
	if (ver != 0x00)
		flags &= RT_FLAG_SAMPLED;	/* only the sampled bit is defined for us */

	memcpy(ctx->trace_id, tid, 16);
	memcpy(ctx->span_id, sid, 8);
	ctx->flags = flags;
	ctx->remote = true;
	ctx->tracestate[0] = '\0';
	ctx->valid = true;
	return true;
}

/*
 * Writes "00-<32 hex>-<16 hex>-<2 hex>" and a NUL into out (56 bytes).
 * Flag bits that version 00 does not define are written as zero (W3C:
 * "Vendors MUST set those to zero"). Returns 55. Can't fail.
 */
size_t rt_traceparent_format(const struct rt_ctx *ctx, char *out)
{
	uint8_t flags = ctx->flags & FLAGS_KNOWN;

	out[0] = '0';
	out[1] = '0';
	out[2] = '-';
	rt_hex_encode(ctx->trace_id, 16, out + 3);
	out[35] = '-';
	rt_hex_encode(ctx->span_id, 8, out + 36);
	out[52] = '-';
	rt_hex_encode(&flags, 1, out + 53);
	return TP_LEN;
}

/* ---------------------------------------------------------------- tracestate */

/* keychar of the Level 1 grammar, without '@'. */
static bool ts_keychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '*' || c == '/';
}

/* One identifier: 1..max chars, first lcalpha (or DIGIT if digit_first), rest keychar. */
static bool ts_ident(const char *s, size_t n, size_t max, bool digit_first)
{
	if (n == 0 || n > max)
		return false;
	if (!(s[0] >= 'a' && s[0] <= 'z') && !(digit_first && s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!ts_keychar(s[i]))
			return false;
	return true;
}

/* simple-key / tenant-id "@" system-id (W3C REC 2021-11-23 3.3.1.3.1). */
static bool ts_key_valid(const char *k, size_t n)
{
	const char *at = memchr(k, '@', n);
	size_t t;

	if (!at)
		return ts_ident(k, n, TS_MAX_KEY, false);
	t = (size_t)(at - k);
	return ts_ident(k, t, TS_MAX_TENANT, true) &&
	       ts_ident(at + 1, n - t - 1, TS_MAX_SYSTEM, false);
}

/*
 * value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr excludes ','
 * and '='. The caller has trimmed OWS off the member, so v never ends in a
 * space ("trailing spaces are considered to be optional whitespace").
 */
static bool ts_value_valid(const char *v, size_t n)
{
	if (n == 0 || n > TS_MAX_VALUE)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
			return false;
	}
	return true;
}

struct ts_member {
	const char *p;			/* "key=value", OWS trimmed, points into the input */
	size_t len;			/* length of p */
	size_t klen;			/* length of the key part */
	bool keep;			/* still in the output after truncation */
};

/* Output length of the kept members joined by ','. */
static size_t ts_joined_len(const struct ts_member *m, size_t n)
{
	size_t total = 0, kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (m[i].keep) {
			total += m[i].len;
			kept++;
		}
	}
	return kept ? total + kept - 1 : 0;
}

/*
 * Validates a tracestate value (several header fields may be joined with
 * ','), see the header. On success writes the members joined by ',' into
 * out (cap bytes incl NUL) and returns true; when they do not fit, whole
 * members are dropped: those over 128 chars first, last first, then from
 * the end. The result may be "" (empty input, or nothing fit). Returns false
 * (out "" when cap > 0) for an invalid member, a duplicate key, more than 32
 * members, or cap == 0.
 */
bool rt_tracestate_sanitize(const char *s, size_t len, char *out, size_t cap)
{
	struct ts_member m[TS_MAX_MEMBERS];
	size_t n = 0, pos = 0;

	if (cap == 0)
		return false;
	out[0] = '\0';
	for (;;) {
		size_t end = pos, mlen, klen;
		const char *mp = s + pos, *eq;

		while (end < len && s[end] != ',')
			end++;
		mlen = end - pos;
		trim_ows(&mp, &mlen);
		if (mlen) {
			if (n == TS_MAX_MEMBERS)
				return false;
			eq = memchr(mp, '=', mlen);
			if (!eq)
				return false;
			klen = (size_t)(eq - mp);
			if (!ts_key_valid(mp, klen) || !ts_value_valid(eq + 1, mlen - klen - 1))
				return false;
			for (size_t j = 0; j < n; j++)
				if (m[j].klen == klen && memcmp(m[j].p, mp, klen) == 0)
					return false;	/* duplicate key */
			m[n].p = mp;
			m[n].len = mlen;
			m[n].klen = klen;
			m[n].keep = true;
			n++;
		}
		if (end >= len)
			break;
		pos = end + 1;
	}

	/* W3C "tracestate Limits": drop >128-char entries first, then from the end. */
	while (ts_joined_len(m, n) > cap - 1) {
		size_t pick = n, j;

		for (j = n; j-- > 0;) {
			if (m[j].keep && m[j].len > TS_BIG_MEMBER) {
				pick = j;
				break;
			}
		}
		if (pick == n) {
			for (j = n; j-- > 0;) {
				if (m[j].keep) {
					pick = j;
					break;
				}
			}
		}
		m[pick].keep = false;
	}

	pos = 0;
	for (size_t i = 0; i < n; i++) {
		if (!m[i].keep)
			continue;
		if (pos)
			out[pos++] = ',';
		memcpy(out + pos, m[i].p, m[i].len);
		pos += m[i].len;
	}
	out[pos] = '\0';
	return true;
}

/* ---------------------------------------------------------------- baggage */

/* RFC 7230 tchar. */
static bool is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static bool is_bag_octet(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
	       (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/* A bounded writer: counts everything, stores only what fits in room. */
struct sink {
	char *buf;
	size_t room;
	size_t n;
};

/* Appends p[0..n) to k: counted always, stored only up to k->room. */
static void put(struct sink *k, const char *p, size_t n)
{
	if (k->n < k->room) {
		size_t c = k->room - k->n < n ? k->room - k->n : n;

		memcpy(k->buf + k->n, p, c);
	}
	k->n += n;
}

/* Index of the first non-OWS byte of m at or after i (n if none). */
static size_t skip_ows(const char *m, size_t n, size_t i)
{
	while (i < n && is_ows(m[i]))
		i++;
	return i;
}

/* Scans a token at m[*i], copies it to k. False if empty. */
static bool bag_token(const char *m, size_t n, size_t *i, struct sink *k)
{
	size_t b = *i;

	while (*i < n && is_tchar(m[*i]))
		(*i)++;
	put(k, m + b, *i - b);
	return *i > b;
}

/* Scans *baggage-octet at m[*i], checking %XX escapes; copies it to k. */
static bool bag_value(const char *m, size_t n, size_t *i, struct sink *k)
{
	size_t b = *i;

	while (*i < n && is_bag_octet(m[*i])) {
		if (m[*i] == '%') {
			if (n - *i < 3 || !is_xdigit(m[*i + 1]) || !is_xdigit(m[*i + 2]))
				return false;
			*i += 3;
		} else {
			(*i)++;
		}
	}
	put(k, m + b, *i - b);
	return true;
}

/*
 * Parses one list-member m[0..n) (the text between two commas) and writes
 * its normalised form (no OWS) to k. Returns false when it is malformed.
 */
static bool bag_member(const char *m, size_t n, struct sink *k)
{
	size_t i = skip_ows(m, n, 0);

	if (!bag_token(m, n, &i, k))
		return false;
	i = skip_ows(m, n, i);
	if (i >= n || m[i] != '=')
		return false;
	put(k, "=", 1);
	i = skip_ows(m, n, i + 1);
	if (!bag_value(m, n, &i, k))
		return false;
	for (;;) {
		i = skip_ows(m, n, i);
		if (i == n)
			return true;
		if (m[i] != ';')
			return false;
		put(k, ";", 1);
		i = skip_ows(m, n, i + 1);
		if (!bag_token(m, n, &i, k))
			return false;
		i = skip_ows(m, n, i);
		if (i < n && m[i] == '=') {
			put(k, "=", 1);
			i = skip_ows(m, n, i + 1);
			if (!bag_value(m, n, &i, k))
				return false;
		}
	}
}

/*
 * Validates a baggage value (several fields may be joined with ',') and
 * writes the valid members, normalised and joined by ',', into out (cap
 * bytes incl NUL). Invalid members are dropped; so are members past the
 * 64th kept one and members that would take the output past
 * min(8192, cap - 1) bytes (a later, shorter member may still fit). Returns
 * true when at least one member was written; false (out "" when cap > 0)
 * when none was.
 */
bool rt_baggage_sanitize(const char *s, size_t len, char *out, size_t cap)
{
	size_t budget, used = 0, kept = 0, pos = 0;

	if (cap == 0)
		return false;
	out[0] = '\0';
	budget = cap - 1 < RT_BAGGAGE_MAX ? cap - 1 : RT_BAGGAGE_MAX;
	for (;;) {
		size_t end = pos, sep = used ? 1 : 0;
		struct sink k = { NULL, 0, 0 };

		while (end < len && s[end] != ',')
			end++;
		if (kept < BAG_MAX_MEMBERS && used + sep < budget) {
			k.buf = out + used + sep;
			k.room = budget - used - sep;
			if (bag_member(s + pos, end - pos, &k) && k.n <= k.room) {
				if (sep)
					out[used] = ',';
				used += sep + k.n;
				kept++;
			}
		}
		if (end >= len)
			break;
		pos = end + 1;
	}
	out[used] = '\0';
	return used > 0;
}

/* ---------------------------------------------------------------- B3 */

/* Fills ctx from validated ids. False (ctx untouched) when an id is zero. */
static bool b3_fill(const uint8_t tid[16], const uint8_t sid[8], uint8_t flags, struct rt_ctx *ctx)
{
	if (rt_id_is_zero(tid, 16) || rt_id_is_zero(sid, 8))
		return false;
	memcpy(ctx->trace_id, tid, 16);
	memcpy(ctx->span_id, sid, 8);
	ctx->flags = flags;
	ctx->remote = true;
	ctx->tracestate[0] = '\0';
	ctx->valid = true;
	return true;
}

/*
 * Parses "{traceid}-{spanid}[-{sampling}[-{parentspanid}]]" (OWS around it
 * allowed). traceid is 16 or 32 lowercase hex (16 is left-padded with
 * zeros), spanid and parentspanid 16; sampling is '1', '0' or 'd' (debug,
 * which implies sampled); absent sampling is deferred (B3_DEFERRED_FLAGS).
 * The parent span id is validated and then ignored. A lone "0"/"1"/"d"
 * carries no ids and returns false. On failure ctx->valid is false and
 * nothing else changes.
 */
bool rt_b3_single_parse(const char *s, size_t len, struct rt_ctx *ctx)
{
	uint8_t tid[16] = { 0 }, sid[8], pid[8], flags = B3_DEFERRED_FLAGS;
	size_t tl, i;

	ctx->valid = false;
	trim_ows(&s, &len);
	if (len > 16 && s[16] == '-')
		tl = 16;
	else if (len > 32 && s[32] == '-')
		tl = 32;
	else
		return false;
	if (!rt_hex_decode_lower(s, tl / 2, tid + 16 - tl / 2))
		return false;
	i = tl + 1;
	if (len - i < 16 || !rt_hex_decode_lower(s + i, 8, sid))
		return false;
	i += 16;
	if (i < len) {
		if (s[i] != '-' || len - i < 2)
			return false;
		switch (s[i + 1]) {
		case '1':
		case 'd':
			flags = RT_FLAG_SAMPLED;
			break;
		case '0':
			flags = 0;
			break;
		default:
			return false;
		}
		i += 2;
		if (i < len) {
			if (s[i] != '-' || len - i != 17 || !rt_hex_decode_lower(s + i + 1, 8, pid))
				return false;
		}
	}
	return b3_fill(tid, sid, flags, ctx);
}

/*
 * Writes "{32 hex}-{16 hex}-{1|0}" and a NUL into out. Returns 51, or 0
 * (out "" when cap > 0) when cap < 52.
 */
size_t rt_b3_single_format(const struct rt_ctx *ctx, char *out, size_t cap)
{
	if (cap < 52) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	rt_hex_encode(ctx->trace_id, 16, out);
	out[32] = '-';
	rt_hex_encode(ctx->span_id, 8, out + 33);
	out[49] = '-';
	out[50] = (ctx->flags & RT_FLAG_SAMPLED) ? '1' : '0';
	out[51] = '\0';
	return 51;
}

/* Looks up one field; returns its trimmed value through v/n, false if absent. */
static bool get_one(void *carrier, rt_getter get, const char *key, const char **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (get(carrier, key, v, n) < 1 || !*v)
		return false;
	trim_ows(v, n);
	return true;
}

/* X-B3-TraceId, X-B3-SpanId, X-B3-Sampled, X-B3-Flags into ctx. */
static bool b3_multi_extract(void *carrier, rt_getter get, struct rt_ctx *ctx)
{
	uint8_t tid[16] = { 0 }, sid[8], flags = B3_DEFERRED_FLAGS;
	const char *v;
	size_t n;

	if (!get_one(carrier, get, "x-b3-traceid", &v, &n))
		return false;
	if (n == 32) {
		if (!rt_hex_decode_lower(v, 16, tid))
			return false;
	} else if (n == 16) {
		if (!rt_hex_decode_lower(v, 8, tid + 8))
			return false;
	} else {
		return false;
	}
	if (!get_one(carrier, get, "x-b3-spanid", &v, &n) || n != 16 ||
	    !rt_hex_decode_lower(v, 8, sid))
		return false;
	if (get_one(carrier, get, "x-b3-sampled", &v, &n)) {
		if (eq_lit(v, n, "1") || eq_lit(v, n, "true"))
			flags = RT_FLAG_SAMPLED;
		else if (eq_lit(v, n, "0") || eq_lit(v, n, "false"))
			flags = 0;
		else
			return false;
	}
	if (get_one(carrier, get, "x-b3-flags", &v, &n) && eq_lit(v, n, "1"))
		flags = RT_FLAG_SAMPLED;	/* debug implies accept */
	return b3_fill(tid, sid, flags, ctx);
}

/* OTel B3 extract: single header first, the multi headers if that fails. */
static bool b3_extract(void *carrier, rt_getter get, struct rt_ctx *ctx)
{
	const char *v;
	size_t n;

	ctx->valid = false;
	if (get_one(carrier, get, "b3", &v, &n) && rt_b3_single_parse(v, n, ctx))
		return true;
	return b3_multi_extract(carrier, get, ctx);
}

/* ---------------------------------------------------------------- composite */

/* traceparent (exactly one field) then tracestate into ctx. */
static bool tc_extract(void *carrier, rt_getter get, struct rt_ctx *ctx)
{
	const char *v = NULL;
	size_t n = 0;

	ctx->valid = false;
	if (get(carrier, "traceparent", &v, &n) != 1 || !v)
		return false;			/* absent, or two fields: invalid */
	if (!rt_traceparent_parse(v, n, ctx))
		return false;
	v = NULL;
	n = 0;
	if (get(carrier, "tracestate", &v, &n) >= 1 && v &&
	    !rt_tracestate_sanitize(v, n, ctx->tracestate, sizeof(ctx->tracestate)))
		ctx->tracestate[0] = '\0';	/* bad tracestate never voids traceparent */
	return true;
}

/*
 * Runs the propagators of props in order (see the header). ctx is cleared
 * first; each propagator that yields a valid context replaces it whole
 * (tracestate included). baggage, when not NULL and cap > 0, receives the
 * sanitised baggage or "". A NULL props or get extracts nothing.
 */
void rt_prop_extract(const struct rt_props *props, void *carrier, rt_getter get,
		     struct rt_ctx *ctx, char *baggage, size_t baggage_cap)
{
	struct rt_ctx tmp;

	memset(ctx, 0, sizeof(*ctx));
	if (baggage && baggage_cap)
		baggage[0] = '\0';
	if (!props || !get)
		return;
	for (size_t i = 0; i < props->n && i < RT_PROP_MAX; i++) {
		const char *v;
		size_t n;

		memset(&tmp, 0, sizeof(tmp));
		switch (props->list[i]) {
		case RT_PROP_TRACECONTEXT:
			if (tc_extract(carrier, get, &tmp))
				*ctx = tmp;
			break;
		case RT_PROP_BAGGAGE:
			if (baggage && baggage_cap && get_one(carrier, get, "baggage", &v, &n))
				rt_baggage_sanitize(v, n, baggage, baggage_cap);
			break;
		case RT_PROP_B3:
		case RT_PROP_B3MULTI:
			if (b3_extract(carrier, get, &tmp))
				*ctx = tmp;
			break;
		default:
			break;
		}
	}
}

/*
 * Emits the fields of each configured propagator through set (see the
 * header). Span-context fields only for a valid ctx with non-zero ids;
 * "baggage" whenever baggage is non-empty and at most RT_BAGGAGE_MAX bytes
 * (longer text was not produced by rt_baggage_sanitize and is not sent).
 */
void rt_prop_inject(const struct rt_props *props, const struct rt_ctx *ctx,
		    const char *baggage, void *carrier, rt_setter set)
{
	bool ok;
	char buf[64];

	if (!props || !set)
		return;
	ok = ctx && ctx->valid && !rt_id_is_zero(ctx->trace_id, 16) &&
	     !rt_id_is_zero(ctx->span_id, 8);
	for (size_t i = 0; i < props->n && i < RT_PROP_MAX; i++) {
		size_t n;

		switch (props->list[i]) {
		case RT_PROP_TRACECONTEXT:
			if (!ok)
				break;
			n = rt_traceparent_format(ctx, buf);
			set(carrier, "traceparent", buf, n);
			n = strnlen(ctx->tracestate, RT_TRACESTATE_MAX);
			if (n)
				set(carrier, "tracestate", ctx->tracestate, n);
			break;
		case RT_PROP_BAGGAGE:
			if (!baggage)
				break;
			n = strnlen(baggage, RT_BAGGAGE_MAX + 1);
			if (n && n <= RT_BAGGAGE_MAX)
				set(carrier, "baggage", baggage, n);
			break;
		case RT_PROP_B3:
			if (!ok)
				break;
			n = rt_b3_single_format(ctx, buf, sizeof(buf));
			set(carrier, "b3", buf, n);
			break;
		case RT_PROP_B3MULTI:
			if (!ok)
				break;
			rt_hex_encode(ctx->trace_id, 16, buf);
			set(carrier, "x-b3-traceid", buf, 32);
			rt_hex_encode(ctx->span_id, 8, buf);
			set(carrier, "x-b3-spanid", buf, 16);
			set(carrier, "x-b3-sampled", (ctx->flags & RT_FLAG_SAMPLED) ? "1" : "0", 1);
			break;
		default:
			break;
		}
	}
}

/* ---------------------------------------------------------------- OTEL_PROPAGATORS */

/* Whitespace around list items in an environment value (C-locale isspace). */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* ASCII case-insensitive: p[0..n) equals the lowercase NUL-terminated name. */
static bool name_eq(const char *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (name[i] == '\0' || c != name[i])
			return false;
	}
	return name[i] == '\0';
}

/* Appends p to out unless it is already there or out is full. */
static void props_add(struct rt_props *out, uint8_t p)
{
	for (size_t i = 0; i < out->n; i++)
		if (out->list[i] == p)
			return;			/* spec: deduplicate */
	if (out->n < RT_PROP_MAX)
		out->list[out->n++] = p;
}

/*
 * Parses a NUL-terminated OTEL_PROPAGATORS value into out (see the header).
 * Names are matched ASCII case-insensitively (OTel env spec: "Enum values
 * SHOULD be interpreted in a case-insensitive manner"), duplicates are
 * dropped, "none" contributes nothing (so "none" alone gives an empty list;
 * next to other names it is ignored). NULL, "" or a value without any name
 * gives the default tracecontext,baggage (the spec treats empty as unset).
 * Unknown names are skipped; when unknown is not NULL, *unknown is set to the
 * start of the first one inside s (it is NOT NUL-terminated at the end of
 * the name: the rest of s follows) or to NULL. Returns false when there was
 * an unknown name; out is still the usable list of known ones.
 */
bool rt_props_parse(const char *s, struct rt_props *out, const char **unknown)
{
	const char *p = s, *first_unknown = NULL;
	bool any = false;

	out->n = 0;
	if (unknown)
		*unknown = NULL;
	while (p && *p) {
		const char *b = p, *e = p;
		size_t n;

		while (*e && *e != ',')
			e++;
		p = *e ? e + 1 : e;
		while (b < e && is_ws(*b))
			b++;
		while (e > b && is_ws(e[-1]))
			e--;
		n = (size_t)(e - b);
		if (!n)
			continue;
		any = true;
		if (name_eq(b, n, "tracecontext"))
			props_add(out, RT_PROP_TRACECONTEXT);
		else if (name_eq(b, n, "baggage"))
			props_add(out, RT_PROP_BAGGAGE);
		else if (name_eq(b, n, "b3"))
			props_add(out, RT_PROP_B3);
		else if (name_eq(b, n, "b3multi"))
			props_add(out, RT_PROP_B3MULTI);
		else if (!name_eq(b, n, "none") && !first_unknown)
			first_unknown = b;
	}
	if (!any) {
		props_add(out, RT_PROP_TRACECONTEXT);
		props_add(out, RT_PROP_BAGGAGE);
	}
	if (unknown)
		*unknown = first_unknown;
	return first_unknown == NULL;
}
