/*
 * http_attrs.c - span names, attributes and status for HTTP/1.x server and
 * client spans, from parsed heads (http_parse.h) and socket addresses.
 *
 * Reference: OpenTelemetry semantic conventions, "Semantic conventions for
 * HTTP spans" (docs/http/http-spans.md, Stable) and the attribute registry
 * (docs/registry/attributes/url.md, server.md). Quotations below are from
 * those texts; "semconv" means them. Where the semconv leaves room, the
 * choice made is written beside the code as DECISION.
 *
 * DESIGN: pure functions. Nothing is allocated; the only buffers are on the
 * stack and bounded (HK_URL_MAX): url.full and url.query are composed there.
 * A span's attributes are gathered in order and set with one
 * rt_span_set_attrs() call, which copies them into the span's arena. Any input is
 * accepted: odd targets, invalid Host values and bytes that are not UTF-8
 * never crash and never read past a field's len (the encoders repair UTF-8
 * later; we only avoid cutting a valid multi-byte character in half when
 * we truncate).
 *
 * Recorded by default, per the requirement levels of the semconv tables:
 *   server: http.request.method (+ _original), url.path, url.scheme,
 *           url.query, server.address, server.port, client.address,
 *           network.peer.address/port, network.protocol.version,
 *           user_agent.original, http.response.status_code, error.type.
 *   client: http.request.method (+ _original), server.address, server.port,
 *           url.full, network.peer.address/port, network.protocol.version,
 *           http.response.status_code, error.type.
 * Not recorded, because the semconv marks them Opt-In: client.port on
 * server spans, url.scheme and user_agent.original on client spans,
 * network.transport, headers, sizes. network.protocol.name is only
 * "Conditionally Required ... If not `http`", and it is always http here.
 *
 * THREADS: none of its own; called by the thread that owns the span.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "http_attrs.h"

/* Bytes for a composed url.full or a redacted url.query, incl. the NUL.
 * The span arena (RT_SPAN_ARENA) holds all of a span's strings in 3 KiB,
 * so a longer value could not be kept anyway. */
#define HK_URL_MAX 2048

/* ------------------------------------------------------------------ */
/* Bounded string building                                             */
/* ------------------------------------------------------------------ */

/* An output buffer: p[0..len) written, cap bytes incl. the NUL. Once a put
 * does not fit, full is set and later puts are ignored. */
struct sbuf {
	char *p;
	size_t cap;
	size_t len;
	bool full;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	size_t room;

	if (b->full || b->cap == 0 || n == 0)
		return;
	room = b->cap - 1 - b->len;
	if (n > room) {
		n = room;
		b->full = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/*
 * The length of s[0..n) without a trailing multi-byte UTF-8 sequence that
 * was cut short. Only a sequence whose lead byte announces more bytes than
 * remain is removed; bytes that are not UTF-8 at all are kept (the
 * encoders repair them). Can't fail.
 */
static size_t utf8_trim(const char *s, size_t n)
{
	size_t i = n, need;
	unsigned char c;

	while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return n;
	c = (unsigned char)s[i - 1];
	if (c >= 0xF0 && c <= 0xF7)
		need = 4;
	else if (c >= 0xE0)
		need = c <= 0xEF ? 3 : 1;
	else if (c >= 0xC0)
		need = 2;
	else
		need = 1;
	return n - (i - 1) < need ? i - 1 : n;
}

/* NUL-terminate (trimming a character cut by truncation); returns len. */
static size_t sb_finish(struct sbuf *b)
{
	if (b->cap == 0)
		return 0;
	if (b->full)
		b->len = utf8_trim(b->p, b->len);
	b->p[b->len] = 0;
	return b->len;
}

/* Decimal digits of v (>= 0) into buf; returns the length. */
static size_t fmt_uint(char *buf, unsigned v)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* The attributes of one span, gathered in order                       */
/* ------------------------------------------------------------------ */

/*
 * A span's attributes are collected here in the order the semconv tables
 * give, then set with one rt_span_set_attrs() call (which, for a span that
 * has room, costs a fraction of one call per attribute). Values are not
 * copied here: they must stay valid until that call, so every value points
 * into the request head, the caller's buffers or static strings.
 */
#define KV_MAX 16		/* more than any span here gets (12) */

struct kvs {
	struct rt_attr a[KV_MAX];
	size_t n;
};

static void kv_str(struct kvs *k, const char *key, const char *s, size_t len)
{
	struct rt_attr *a;

	if (k->n >= KV_MAX)
		return;
	a = &k->a[k->n++];
	a->key = key;
	a->type = RT_V_STR;
	a->s = s;
	a->len = (uint16_t)len;	/* every value here is < HK_URL_MAX */
}

static void kv_cstr(struct kvs *k, const char *key, const char *s)
{
	kv_str(k, key, s, strlen(s));
}

static void kv_int(struct kvs *k, const char *key, int64_t v)
{
	struct rt_attr *a;

	if (k->n >= KV_MAX)
		return;
	a = &k->a[k->n++];
	a->key = key;
	a->type = RT_V_INT;
	a->v.i = v;
}

/* ------------------------------------------------------------------ */
/* Query redaction                                                     */
/* ------------------------------------------------------------------ */

/*
 * semconv, url.query and url.full: "Query string values for the following
 * keys SHOULD be redacted by default and replaced by the value REDACTED:
 * AWSAccessKeyId, Signature, sig, X-Goog-Signature ... When a query string
 * value is redacted, the query string key SHOULD still be preserved, e.g.
 * q=OpenTelemetry&sig=REDACTED." Later revisions of the same note add:
 * "Matching of query parameter keys against the sensitive list SHOULD be
 * case-sensitive." So: exact, case-sensitive byte comparison.
 */
static const char *const sensitive_keys[] = {
	"AWSAccessKeyId",
	"Signature",
	"sig",
	"X-Goog-Signature",
};

static bool sensitive_key(const char *k, size_t n)
{
	for (size_t i = 0; i < sizeof(sensitive_keys) / sizeof(sensitive_keys[0]); i++)
		if (strlen(sensitive_keys[i]) == n && memcmp(sensitive_keys[i], k, n) == 0)
			return true;
	return false;
}

/*
 * Append q[0..len) to b with sensitive values replaced. Parameters are
 * split on '&' only; the key is everything before the first '='.
 * DECISION: keys are compared as they appear (a percent-encoded key such as
 * "si%67" is not decoded and so not matched): decoding would need a buffer
 * and the listed keys are plain ASCII that signing services never encode.
 * DECISION: a present but empty value ("sig=") is replaced as well (it is
 * still "the value" of a listed key); a key without '=' has no value and is
 * kept as is.
 */
static void redact_into(struct sbuf *b, const char *q, size_t len)
{
	size_t i = 0;

	while (!b->full) {
		const char *seg = q + i;
		const char *amp = memchr(seg, '&', len - i);
		size_t sn = amp ? (size_t)(amp - seg) : len - i;
		const char *eq = memchr(seg, '=', sn);

		if (eq && sensitive_key(seg, (size_t)(eq - seg))) {
			sb_put(b, seg, (size_t)(eq - seg) + 1);
			sb_puts(b, "REDACTED");
		} else {
			sb_put(b, seg, sn);
		}
		if (!amp)
			break;
		sb_put(b, "&", 1);
		i += sn + 1;
	}
}

size_t hk_http_redact_query(const char *q, size_t len, char *out, size_t cap)
{
	struct sbuf b = { out, cap, 0, false };

	if (!q)
		len = 0;
	if (len)
		redact_into(&b, q, len);
	return sb_finish(&b);
}

/* ------------------------------------------------------------------ */
/* Methods                                                             */
/* ------------------------------------------------------------------ */

/*
 * semconv [1] http.request.method: "By default, this convention defines
 * 'known' methods as the ones listed in RFC9110 and the PATCH method
 * defined in RFC5789." and "HTTP method names are case-sensitive".
 * DECISION: the override list (OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS) is
 * not implemented yet; the semconv requires it when valid methods can end
 * up as _OTHER, so it is a known gap to report, not an oversight.
 */
/* method[0..n) is one of the known methods: GET, HEAD, POST, PUT, DELETE,
 * CONNECT, OPTIONS, TRACE, PATCH (by length first: this runs for every
 * request). */
static bool known_method_n(const char *m, size_t n)
{
	switch (n) {
	case 3:
		return memcmp(m, "GET", 3) == 0 || memcmp(m, "PUT", 3) == 0;
	case 4:
		return memcmp(m, "POST", 4) == 0 || memcmp(m, "HEAD", 4) == 0;
	case 5:
		return memcmp(m, "PATCH", 5) == 0 || memcmp(m, "TRACE", 5) == 0;
	case 6:
		return memcmp(m, "DELETE", 6) == 0;
	case 7:
		return memcmp(m, "OPTIONS", 7) == 0 || memcmp(m, "CONNECT", 7) == 0;
	default:
		return false;
	}
}

bool hk_http_known_method(const char *method)
{
	return method && known_method_n(method, strlen(method));
}

/*
 * Name and method attributes. semconv "Name": "HTTP span names SHOULD be
 * {method} {target} if there is a (low-cardinality) target available. If
 * there is no (low-cardinality) {target} available, HTTP span names SHOULD
 * be {method}." and "{method} MUST be {http.request.method} if the method
 * represents the original method known to the instrumentation. In other
 * cases (when {http.request.method} is set to _OTHER), {method} MUST be
 * HTTP." We never know http.route (a server framework's notion) nor
 * url.template, and "Instrumentation MUST NOT default to using URI path as
 * a {target}", so the name is the method alone.
 * "If the HTTP request method is not known to instrumentation, it MUST set
 * the http.request.method attribute to _OTHER"; http.request.method_original
 * is set "If and only if it's different than http.request.method".
 */
static void set_method(struct rt_span *sp, struct kvs *k, const struct hk_http *req)
{
	const char *m = req->method;
	size_t n = 0;

	while (n < sizeof(req->method) && m[n])
		n++;
	/* The name goes into the span's arena before the attributes' values,
	 * as it always has: limits are reached at the same point. */
	if (known_method_n(m, n)) {
		rt_span_set_name(sp, m, n);
		kv_str(k, "http.request.method", m, n);
		return;
	}
	rt_span_set_name(sp, "HTTP", 4);
	kv_str(k, "http.request.method", "_OTHER", 6);
	if (n != 6 || memcmp(m, "_OTHER", 6) != 0)
		kv_str(k, "http.request.method_original", m, n);
}

/* semconv network.protocol.version: "1.0", "1.1". The version comes from
 * the request line, which is what both sides speak for this exchange. */
static void set_version(struct kvs *k, const struct hk_http *req)
{
	static const char versions[10][4] = { "1.0", "1.1", "1.2", "1.3", "1.4",
					       "1.5", "1.6", "1.7", "1.8", "1.9" };

	if (req->version_minor > 9)
		return;		/* not a version we know: "SHOULD NOT be set" */
	kv_str(k, "network.protocol.version", versions[req->version_minor], 3);
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/*
 * hk_sa_text: the numeric address and port of an AF_INET/AF_INET6 sockaddr.
 * Addresses are recorded as the socket reports them: an IPv4 client of a
 * dual-stack socket stays "::ffff:192.0.2.1" (DECISION: the same as the
 * connect span's network.peer.address, so the two can be joined).
 */
/* Dotted decimal without printf (glibc's inet_ntop formats IPv4 with
 * sprintf, which showed in profiles of every request). */
static void ipv4_text(const uint8_t b[4], char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

void hk_sa_text(const struct sockaddr *sa, struct hk_sa_text *out)
{
	const void *a;

	out->ip = false;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		out->port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		out->v6 = false;
		ipv4_text(a, out->s);
	} else if (sa->sa_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		out->port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		out->v6 = true;
		if (!inet_ntop(AF_INET6, a, out->s, sizeof(out->s)))
			return;
	} else {
		return;
	}
	out->len = (uint8_t)strlen(out->s);
	out->ip = true;
}

/* network.peer.address/port ("Peer address of the network connection - IP
 * address or Unix domain socket name"); and client.address on a server
 * ("Otherwise, the immediate client peer address": we see no
 * X-Forwarded-For). Nothing when peer is not IP. */
static void set_peer(struct kvs *k, const struct hk_sa_text *peer, bool server)
{
	if (!peer || !peer->ip)
		return;
	kv_str(k, "network.peer.address", peer->s, peer->len);
	kv_int(k, "network.peer.port", peer->port);
	if (server)
		kv_str(k, "client.address", peer->s, peer->len);
}

/* A host and optional port (RFC 3986 authority without userinfo). */
struct hostport {
	const char *host;	/* without the brackets of an IP-literal */
	size_t host_len;
	int port;		/* -1 when absent or empty ("h" or "h:") */
};

static bool host_byte_ok(unsigned char c)
{
	/* Controls, space and the delimiters that cannot be part of a host.
	 * Bytes >= 0x80 pass: raw UTF-8 names are seen in the wild and the
	 * encoders repair what is not UTF-8. */
	/* Not strchr: this runs for every byte of every Host header. */
	switch (c) {
	case '/': case '?': case '#': case '@': case '[': case ']': case ',': case '\\':
		return false;
	default:
		return c > 0x20 && c != 0x7f;
	}
}

/*
 * Parse "host", "host:port", "[v6]" or "[v6]:port" (RFC 9110 7.2 Host =
 * uri-host [ ":" port ]). The port is *DIGIT with a value in 1..65535
 * (leading zeros allowed); an empty port ("h:") is the scheme's default
 * (RFC 3986 3.2.3). False for anything else: "", ":80", "h:abc",
 * "h:99999", "h:0", "[::1", "a b".
 */
static bool parse_hostport(const char *s, size_t n, struct hostport *hp)
{
	const char *p, *end = s + n;
	unsigned port = 0;
	size_t digits = 0;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb || rb == s + 1)
			return false;
		for (p = s + 1; p < rb; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '/' || *p == '?' ||
			    *p == '#' || *p == '@' || *p == '[')
				return false;
		hp->host = s + 1;
		hp->host_len = (size_t)(rb - s - 1);
		p = rb + 1;
		if (p < end && *p != ':')
			return false;
	} else {
		for (p = s; p < end && *p != ':'; p++)
			if (!host_byte_ok((unsigned char)*p))
				return false;
		if (p == s)
			return false;
		hp->host = s;
		hp->host_len = (size_t)(p - s);
	}
	hp->port = -1;
	if (p == end)
		return true;
	for (p++; p < end; p++, digits++) {
		if (*p < '0' || *p > '9')
			return false;
		if (port <= 65535)	/* stays far from overflow, any length */
			port = port * 10 + (unsigned)(*p - '0');
	}
	if (digits == 0)
		return true;
	if (port == 0 || port > 65535)
		return false;
	hp->port = (int)port;
	return true;
}

/* The Host header as a hostport; false when absent or invalid. A value the
 * parser truncated (longer than any DNS name) is invalid too. */
static bool host_header(const struct hk_http *req, struct hostport *hp)
{
	size_t n = req->host.len;

	if (req->host.truncated || n == 0)
		return false;
	if (n > sizeof(req->host.s) - 1)
		n = sizeof(req->host.s) - 1;
	return parse_hostport(req->host.s, n, hp);
}

/* The scheme's default port (RFC 9110 4.2.1, 4.2.2); -1 when unknown. */
static int default_port(const char *scheme)
{
	if (strcmp(scheme, "http") == 0)
		return 80;
	if (strcmp(scheme, "https") == 0)
		return 443;
	return -1;
}

/*
 * server.address and server.port. DECISION: when the authority names no
 * port, server.port is the scheme's default (80 for http). The semconv
 * requires server.port on client spans ("Required") and asks that "They
 * are intended, whenever possible, to be the same on the client and server
 * sides", so the server records the same 80 the client must. IPv6
 * literals are recorded without their brackets (an address, like
 * network.peer.address).
 */
static void set_server_hp(struct kvs *k, const struct hostport *hp, const char *scheme)
{
	int port = hp->port >= 0 ? hp->port : default_port(scheme);

	kv_str(k, "server.address", hp->host, hp->host_len);
	if (port > 0)
		kv_int(k, "server.port", port);
}

/* server.address/port from a socket address; nothing when not IP. */
static void set_server_sa(struct kvs *k, const struct hk_sa_text *sa)
{
	if (!sa || !sa->ip)
		return;
	kv_str(k, "server.address", sa->s, sa->len);
	kv_int(k, "server.port", sa->port);
}

/* ------------------------------------------------------------------ */
/* Request targets (RFC 9112 3.2)                                      */
/* ------------------------------------------------------------------ */

enum target_form {
	T_ORIGIN,	/* "/path?query" */
	T_ABSOLUTE,	/* "http://host/path?query" (to proxies) */
	T_AUTHORITY,	/* "host:port" (CONNECT) */
	T_ASTERISK,	/* "*" (OPTIONS) */
	T_OTHER,	/* anything else a lenient parser let through */
};

struct target {
	enum target_form form;
	const char *s;		/* the whole target, n bytes */
	size_t n;
	char scheme[16];	/* T_ABSOLUTE: lowercased */
	const char *auth;	/* T_ABSOLUTE: authority incl. userinfo */
	size_t auth_len;
	const char *hostport;	/* T_ABSOLUTE: authority without userinfo */
	size_t hostport_len;
	bool userinfo;		/* T_ABSOLUTE: "user[:pass]@" present */
	const char *path;	/* up to '?' or '#' */
	size_t path_len;
	const char *query;	/* after '?', up to '#'; NULL when no '?' */
	size_t query_len;
	const char *frag;	/* from '#' (included); NULL when none */
	size_t frag_len;
};

/* "scheme://" (RFC 3986 3.1 scheme, case-insensitive): its length, 0 when
 * s does not start with one. out gets the scheme lowercased. */
static size_t scheme_prefix(const char *s, size_t n, char out[16])
{
	size_t i;

	if (n == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	for (i = 0; i < n && i < 15; i++) {
		char c = s[i];

		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			out[i] = (char)(c | 0x20);
		else if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')
			out[i] = c;
		else
			break;
	}
	if (i + 3 > n || memcmp(s + i, "://", 3) != 0)
		return 0;
	out[i] = 0;
	return i + 3;
}

/*
 * Split a request-target. A target the parser truncated is first cut back
 * to a character boundary; what was captured is then used as if it were
 * the whole target (DECISION: the attributes show a prefix of the real
 * target rather than nothing; a sensitive value cut short is still
 * redacted, and a sensitive key cut short has no value left to leak).
 */
static void split_target(const struct hk_http *req, struct target *t)
{
	const char *s = req->target.s, *rest, *end, *q, *h;
	size_t n = req->target.len, skip;

	if (n > sizeof(req->target.s) - 1)
		n = sizeof(req->target.s) - 1;
	if (req->target.truncated)
		n = utf8_trim(s, n);
	memset(t, 0, sizeof(*t));
	t->s = s;
	t->n = n;
	end = s + n;
	rest = s;
	if (n == 1 && s[0] == '*') {
		t->form = T_ASTERISK;
		return;
	}
	if (n > 0 && s[0] == '/') {
		t->form = T_ORIGIN;
	} else if ((skip = scheme_prefix(s, n, t->scheme)) != 0) {
		t->form = T_ABSOLUTE;
		t->auth = s + skip;
		for (rest = t->auth; rest < end && *rest != '/' && *rest != '?' && *rest != '#'; rest++)
			;
		t->auth_len = (size_t)(rest - t->auth);
		t->hostport = t->auth;
		t->hostport_len = t->auth_len;
		/* userinfo ends at the last '@' of the authority (RFC 3986 3.2.1) */
		for (h = rest; h > t->auth; h--) {
			if (h[-1] == '@') {
				t->userinfo = true;
				t->hostport = h;
				t->hostport_len = (size_t)(rest - h);
				break;
			}
		}
	} else if (strncmp(req->method, "CONNECT", sizeof(req->method)) == 0) {
		t->form = T_AUTHORITY;
		return;
	} else {
		t->form = T_OTHER;
	}
	for (q = rest; q < end && *q != '?' && *q != '#'; q++)
		;
	t->path = rest;
	t->path_len = (size_t)(q - rest);
	if (q < end && *q == '?') {
		t->query = ++q;
		while (q < end && *q != '#')
			q++;
		t->query_len = (size_t)(q - t->query);
	}
	if (q < end) {
		t->frag = q;
		t->frag_len = (size_t)(end - q);
	}
}

/* ------------------------------------------------------------------ */
/* Server spans                                                        */
/* ------------------------------------------------------------------ */

/*
 * url.path (Required, "The URI path component"), url.query ("Conditionally
 * Required If and only if one was received/sent", redacted) and url.scheme
 * (Required; "The scheme of the original client request, if known ...
 * Otherwise, the scheme of the immediate peer request").
 */
static void server_url(struct kvs *k, const struct target *t, char buf[HK_URL_MAX])
{
	size_t n;

	if (t->form == T_ABSOLUTE)
		kv_cstr(k, "url.scheme", t->scheme);
	else
		kv_str(k, "url.scheme", "http", 4);
	switch (t->form) {
	case T_ASTERISK:
		/* DECISION: "OPTIONS *" has no URI path (RFC 9112 3.3 makes the
		 * reconstructed path empty), but url.path is Required and an
		 * empty value would hide what was asked: record "*". */
		kv_str(k, "url.path", "*", 1);
		return;
	case T_AUTHORITY:
		/* DECISION: a CONNECT target names a tunnel endpoint and has no
		 * path or query at all; url.path is left out rather than made up. */
		return;
	case T_ABSOLUTE:
		/* RFC 9110 4.2.3: an empty path is equivalent to "/". */
		if (t->path_len == 0)
			kv_str(k, "url.path", "/", 1);
		else
			kv_str(k, "url.path", t->path, t->path_len);
		break;
	case T_ORIGIN:
	case T_OTHER:
		/* DECISION: an empty path (an empty target, or one starting
		 * with '?') is left out rather than recorded as "". */
		if (t->path_len)
			kv_str(k, "url.path", t->path, t->path_len);
		break;
	}
	/* DECISION: "/p?" carries an empty query; an empty url.query says
	 * nothing, so it is left out. A fragment is not part of the query. */
	if (t->query && t->query_len) {
		n = hk_http_redact_query(t->query, t->query_len, buf, HK_URL_MAX);
		kv_str(k, "url.query", buf, n);
	}
}

/*
 * server.address/port, "Setting server.address and server.port": the
 * first of Forwarded#host / X-Forwarded-Host (not captured), :authority
 * (HTTP/2, not seen), "The Host header"; "Instrumentations SHOULD
 * populate both server.address and server.port attributes by parsing
 * the value of corresponding header." An absolute-form target wins over
 * Host: RFC 9112 3.2.2, "the origin server MUST ignore the received
 * Host header field (if any) and instead use the host information of
 * the request-target" (as semconv note [2] says for clients).
 * DECISION: an invalid Host (bad port, unclosed bracket, empty) is
 * treated as absent (RFC 9112 3.3: "If there is no Host header field
 * or if its field value is empty or invalid, the target URI's authority
 * component is empty"); then, and with no Host at all (HTTP/1.0), the
 * local socket address names the server ("otherwise, IP address").
 *
 * Then client.address (Recommended) and network.peer.*; client.port is
 * Opt-In on server spans and not recorded (network.peer.port has the
 * same value here); and network.protocol.version. On a connection these
 * depend only on the Host value and the version (and the target, when it
 * is in absolute form).
 */
static void server_conn_attrs(struct kvs *k, const struct hk_http *req, const struct target *t,
			      const struct hk_sa_text *peer, const struct hk_sa_text *local)
{
	struct hostport hp;

	if (t->form == T_ABSOLUTE && parse_hostport(t->hostport, t->hostport_len, &hp))
		set_server_hp(k, &hp, t->scheme);
	else if (host_header(req, &hp))
		set_server_hp(k, &hp, "http");
	else
		set_server_sa(k, local);
	set_peer(k, peer, true);
	set_version(k, req);
}

/* Does the cache hold server_conn_attrs() for req (not an absolute-form
 * target)? Else fill it; false when it cannot hold them. */
static bool conn_attrs_cached(struct hk_server_cache *cache, const struct hk_http *req,
			      const struct target *t, const struct hk_sa_text *peer,
			      const struct hk_sa_text *local)
{
	size_t n = req->host.len;
	struct kvs k;

	if (n > sizeof(req->host.s) - 1)
		n = sizeof(req->host.s) - 1;
	if (cache->valid && cache->version_minor == req->version_minor &&
	    cache->host_len == req->host.len && cache->host_truncated == req->host.truncated &&
	    memcmp(cache->host, req->host.s, n) == 0)
		return true;
	k.n = 0;
	server_conn_attrs(&k, req, t, peer, local);
	cache->valid = rt_attr_pack_make(&cache->pack, k.a, k.n);
	cache->version_minor = req->version_minor;
	cache->host_len = req->host.len;
	cache->host_truncated = req->host.truncated;
	memcpy(cache->host, req->host.s, n);
	return cache->valid;
}

void hk_http_server_attrs(struct rt_span *sp, const struct hk_http *req,
			  const struct hk_sa_text *peer, const struct hk_sa_text *local,
			  struct hk_server_cache *cache)
{
	char buf[HK_URL_MAX];
	struct kvs k;
	struct target t;
	size_t n;

	/* An unsampled span records nothing: skip the work. */
	if (!sp || !req || !sp->recording)
		return;
	k.n = 0;
	set_method(sp, &k, req);
	split_target(req, &t);
	server_url(&k, &t, buf);
	if (cache && t.form != T_ABSOLUTE && conn_attrs_cached(cache, req, &t, peer, local)) {
		/* The same list, set in three parts. */
		rt_span_set_attrs(sp, k.a, k.n);
		rt_span_set_pack(sp, &cache->pack);
		k.n = 0;
	} else {
		server_conn_attrs(&k, req, &t, peer, local);
	}

	/* user_agent.original (Recommended on servers): "Value of the HTTP
	 * User-Agent header sent by the client". An empty value cannot be told
	 * from an absent header and is left out; a value longer than the
	 * capture is recorded as captured (cut at a character boundary). */
	n = req->user_agent.len;
	if (n > sizeof(req->user_agent.s) - 1)
		n = sizeof(req->user_agent.s) - 1;
	if (req->user_agent.truncated)
		n = utf8_trim(req->user_agent.s, n);
	if (n)
		kv_str(&k, "user_agent.original", req->user_agent.s, n);
	if (k.n)
		rt_span_set_attrs(sp, k.a, k.n);
}

void hk_http_server_request(struct rt_span *sp, const struct hk_http *req,
			    const struct sockaddr *peer, const struct sockaddr *local)
{
	struct hk_sa_text p, l;

	if (!sp || !req || !sp->recording)
		return;
	hk_sa_text(peer, &p);
	hk_sa_text(local, &l);
	hk_http_server_attrs(sp, req, &p, &l, NULL);
}

/*
 * error.type and status Error. semconv [5] error.type: "If response status
 * code was sent or received and status indicates an error ... error.type
 * SHOULD be set to the status code number (represented as a string)", and
 * "If the request fails with an error before response status code was sent
 * or received, error.type SHOULD be set to ... a component-specific low
 * cardinality error identifier". An explicit error_type wins over the
 * status code. The status description stays empty: "Don't set the span
 * status description if the reason can be inferred from
 * http.response.status_code", and recording-errors.md: "It's NOT
 * RECOMMENDED to duplicate status code or error.type in span status
 * description".
 */
static void end_common(struct rt_span *sp, const struct hk_http *resp, const char *error_type,
		       bool client)
{
	char code[12];
	unsigned st;

	if (resp) {
		/* "Conditionally Required If and only if one was received/sent." */
		st = resp->status;
		rt_span_set_int(sp, "http.response.status_code", st);
		/*
		 * Status: "MUST be left unset if HTTP status code was in the 1xx,
		 * 2xx or 3xx ranges"; "For HTTP status codes in the 4xx range span
		 * status MUST be left unset in case of SpanKind.SERVER and SHOULD
		 * be set to Error in case of SpanKind.CLIENT"; "For HTTP status
		 * codes in the 5xx range, as well as any other code the client
		 * failed to interpret, span status SHOULD be set to Error."
		 * DECISION: a code outside 100..599 is "any other code" on both
		 * sides (a server that sent one has failed too).
		 */
		if (st < 100 || st >= 500 || (client && st >= 400)) {
			fmt_uint(code, st);
			rt_span_set_cstr(sp, "error.type", code);
			rt_span_set_status(sp, RT_STATUS_ERROR, NULL);
		}
	}
	/* "HTTP request may fail if it was cancelled or an error occurred
	 * preventing the client or server from sending/receiving the
	 * request/response fully. When instrumentation detects such errors it
	 * SHOULD set span status to Error and SHOULD set the error.type
	 * attribute." The status code received, if any, is kept. */
	if (error_type) {
		rt_span_set_cstr(sp, "error.type", error_type);
		rt_span_set_status(sp, RT_STATUS_ERROR, NULL);
	}
}

void hk_http_server_response(struct rt_span *sp, const struct hk_http *resp,
			     const char *error_type)
{
	if (sp && sp->recording)
		end_common(sp, resp, error_type, false);
}

/* ------------------------------------------------------------------ */
/* Client spans                                                        */
/* ------------------------------------------------------------------ */

/* "[v6]:port" / "v4:port", the port left out when it is http's 80; false
 * when peer is not IP. */
static bool peer_authority(struct sbuf *b, const struct hk_sa_text *peer)
{
	char p[12];

	if (!peer || !peer->ip)
		return false;
	if (peer->v6)
		sb_put(b, "[", 1);
	sb_put(b, peer->s, peer->len);
	if (peer->v6)
		sb_put(b, "]", 1);
	if (peer->port != 80) {
		sb_put(b, ":", 1);
		sb_put(b, p, fmt_uint(p, peer->port));
	}
	return true;
}

/* path, '?' + redacted query, fragment of t into b. */
static void put_path_query(struct sbuf *b, const struct target *t)
{
	sb_put(b, t->path, t->path_len);
	if (t->query) {
		sb_put(b, "?", 1);
		redact_into(b, t->query, t->query_len);
	}
	if (t->frag)
		sb_put(b, t->frag, t->frag_len);
}

/*
 * url.full (Required): "Absolute URL describing a network resource
 * according to RFC3986"; "url.full MUST NOT contain credentials passed via
 * URL in form of https://username:password@www.example.com/. In such case
 * username and password SHOULD be redacted and attribute's value SHOULD be
 * https://REDACTED:REDACTED@www.example.com/"; "url.full SHOULD capture the
 * absolute URL when it is available (or can be reconstructed)"; query
 * values of the sensitive keys redacted as for url.query.
 *
 * Reconstruction follows RFC 9112 3.3: an absolute-form target is the URL;
 * otherwise "http" "://" authority path-and-query, where the authority is
 * the Host header (for CONNECT, the authority-form target itself), and
 * path-and-query is empty for the authority and asterisk forms.
 * DECISIONS: without a (valid) Host header the authority is the peer's
 * address (RFC 9112 would leave it empty; the address is the best
 * "reconstruction" we have), and with no IP peer either it stays empty.
 * Any userinfo, even a user name alone (tokens travel there), becomes
 * "REDACTED:REDACTED@". A target that is none of the RFC forms (no leading
 * '/') gets a '/' before it so it cannot merge into the host name.
 */
static void client_url(struct kvs *k, const struct target *t, const struct hk_http *req,
		       const struct hk_sa_text *peer, char buf[HK_URL_MAX])
{
	struct sbuf b = { buf, HK_URL_MAX, 0, false };
	struct hostport hp;
	size_t n;

	if (t->form == T_ABSOLUTE) {
		/* The scheme as sent: "used as is" apart from redaction. */
		sb_put(&b, t->s, (size_t)(t->auth - t->s));
		if (t->userinfo)
			sb_puts(&b, "REDACTED:REDACTED@");
		sb_put(&b, t->hostport, t->hostport_len);
		put_path_query(&b, t);
	} else {
		sb_puts(&b, "http://");
		if (t->form == T_AUTHORITY) {
			sb_put(&b, t->s, t->n);
		} else {
			n = req->host.len;
			if (n > sizeof(req->host.s) - 1)
				n = sizeof(req->host.s) - 1;
			if (host_header(req, &hp))
				sb_put(&b, req->host.s, n);
			else
				peer_authority(&b, peer);
			if (t->form == T_OTHER && t->n)
				sb_put(&b, "/", 1);
			put_path_query(&b, t);	/* nothing for "*" */
		}
	}
	n = sb_finish(&b);
	kv_str(k, "url.full", buf, n);
}

void hk_http_client_attrs(struct rt_span *sp, const struct hk_http *req,
			  const struct hk_sa_text *peer)
{
	char buf[HK_URL_MAX];
	struct kvs k;
	struct target t;
	struct hostport hp;

	/* An unsampled span records nothing: skip the work. */
	if (!sp || !req || !sp->recording)
		return;
	k.n = 0;
	set_method(sp, &k, req);
	split_target(req, &t);

	/*
	 * server.address and server.port, both Required on client spans.
	 * semconv [2]/[3]: "when the request target is passed in its
	 * absolute-form, the server.address SHOULD match the host component
	 * of the request target. In all other cases, server.address SHOULD
	 * match the host component of the Host header" (port likewise). With
	 * no usable Host (invalid values count as absent, see the server side)
	 * the peer's address is the server ("otherwise, IP address").
	 * server.port falls back to the scheme's default when the authority
	 * has none (see set_server_hp).
	 */
	if (t.form == T_ABSOLUTE && parse_hostport(t.hostport, t.hostport_len, &hp))
		set_server_hp(&k, &hp, t.scheme);
	else if (host_header(req, &hp))
		set_server_hp(&k, &hp, "http");
	else
		set_server_sa(&k, peer);

	client_url(&k, &t, req, peer, buf);
	set_peer(&k, peer, false);
	set_version(&k, req);
	/* user_agent.original and url.scheme are Opt-In on client spans. */
	rt_span_set_attrs(sp, k.a, k.n);
}

void hk_http_client_request(struct rt_span *sp, const struct hk_http *req,
			    const struct sockaddr *peer)
{
	struct hk_sa_text p;

	if (!sp || !req || !sp->recording)
		return;
	hk_sa_text(peer, &p);
	hk_http_client_attrs(sp, req, &p);
}

void hk_http_client_response(struct rt_span *sp, const struct hk_http *resp,
			     const char *error_type)
{
	if (sp && sp->recording)
		end_common(sp, resp, error_type, true);
}
