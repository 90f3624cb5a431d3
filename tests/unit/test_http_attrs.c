/*
 * test_http_attrs.c - HTTP span names, attributes and status against the
 * OpenTelemetry HTTP semantic conventions (docs/http/http-spans.md, stable)
 * and the url.* registry notes. Each table row carries the rule it checks.
 *
 * hooks/ is not in libcore.a, so the unit under test is included here.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../../runtime/config.h"
#include "../../runtime/queue.h"
#include "../../runtime/runtime.h"
#include "../../runtime/span.h"
#include "../../hooks/http_attrs.c"

static const char *no_env(const char *n)
{
	(void)n;
	return NULL;
}

static void setup(void)
{
	rt_config_load(&rt_cfg, no_env);
	rt_init(no_env);
	rt_queue_reset_for_tests();
}

static void teardown(void)
{
	rt_queue_reset_for_tests();
}

TestSuite(http_attrs, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------ */

#define FIELD_SET(f, v)							\
	do {								\
		size_t n_ = strlen(v);					\
		if (n_ > sizeof((f).s) - 1)				\
			n_ = sizeof((f).s) - 1;				\
		memcpy((f).s, (v), n_);					\
		(f).s[n_] = 0;						\
		(f).len = (uint16_t)n_;					\
	} while (0)

/* A request head as the parser would leave it. host/ua NULL: absent. */
static void req_fill(struct hk_http *h, const char *method, const char *target,
		     const char *host, const char *ua)
{
	memset(h, 0, sizeof(*h));
	h->kind = HK_HTTP_REQUEST;
	snprintf(h->method, sizeof(h->method), "%s", method);
	FIELD_SET(h->target, target);
	h->version_minor = 1;
	if (host)
		FIELD_SET(h->host, host);
	if (ua)
		FIELD_SET(h->user_agent, ua);
}

static struct sockaddr_storage sa_of(const char *ip, int port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static struct rt_span *new_span(enum rt_kind kind)
{
	struct rt_span *sp = rt_span_start("placeholder", kind, NULL, 0);

	cr_assert_not_null(sp);
	cr_assert(sp->recording);
	return sp;
}

static void done(struct rt_span *sp)
{
	rt_span_end(sp, 0);
	rt_queue_reset_for_tests();
}

/* The string attribute key as a NUL-terminated copy in out; false when
 * absent. Fails the test when the attribute has another type. */
static bool get_str(struct rt_span *sp, const char *key, char *out, size_t cap)
{
	const struct rt_attr *a = rt_span_attr(sp, key);

	if (!a)
		return false;
	cr_assert_eq(a->type, RT_V_STR, "%s is not a string", key);
	cr_assert_lt(a->len, cap);
	memcpy(out, a->s, a->len);
	out[a->len] = 0;
	return true;
}

/* want NULL: the attribute must be absent. */
static void expect_str(struct rt_span *sp, const char *key, const char *want, const char *row)
{
	char got[4096];
	bool have = get_str(sp, key, got, sizeof(got));

	if (!want) {
		cr_expect(!have, "[%s] %s should be absent, is \"%s\"", row, key, have ? got : "");
		return;
	}
	cr_expect(have, "[%s] %s missing, want \"%s\"", row, key, want);
	if (have)
		cr_expect_str_eq(got, want, "[%s] %s = \"%s\", want \"%s\"", row, key, got, want);
}

/* want -1: the attribute must be absent. */
static void expect_int(struct rt_span *sp, const char *key, long want, const char *row)
{
	const struct rt_attr *a = rt_span_attr(sp, key);

	if (want < 0) {
		cr_expect_null(a, "[%s] %s should be absent", row, key);
		return;
	}
	cr_expect_not_null(a, "[%s] %s missing, want %ld", row, key, want);
	if (!a)
		return;
	cr_expect_eq(a->type, RT_V_INT, "[%s] %s is not an int", row, key);
	cr_expect_eq(a->v.i, want, "[%s] %s = %ld, want %ld", row, key, (long)a->v.i, want);
}

/* ---- methods and names ------------------------------------------- */

/*
 * semconv http.request.method [1]: known methods are RFC 9110's and PATCH;
 * "HTTP method names are case-sensitive"; unknown → "_OTHER";
 * http.request.method_original "If and only if it's different than
 * http.request.method". Name: "{method}" (no route or template known);
 * "when {http.request.method} is set to _OTHER, {method} MUST be HTTP".
 */
static const struct {
	const char *method, *want_method, *want_original, *want_name;
} method_rows[] = {
	{ "GET", "GET", NULL, "GET" },
	{ "HEAD", "HEAD", NULL, "HEAD" },
	{ "POST", "POST", NULL, "POST" },
	{ "PUT", "PUT", NULL, "PUT" },
	{ "DELETE", "DELETE", NULL, "DELETE" },
	{ "CONNECT", "CONNECT", NULL, "CONNECT" },
	{ "OPTIONS", "OPTIONS", NULL, "OPTIONS" },
	{ "TRACE", "TRACE", NULL, "TRACE" },
	{ "PATCH", "PATCH", NULL, "PATCH" },
	{ "get", "_OTHER", "get", "HTTP" },		/* case-sensitive */
	{ "GeT", "_OTHER", "GeT", "HTTP" },
	{ "PROPFIND", "_OTHER", "PROPFIND", "HTTP" },	/* WebDAV: not in the default set */
	{ "QUERY", "_OTHER", "QUERY", "HTTP" },
	{ "_OTHER", "_OTHER", NULL, "HTTP" },		/* original equal: not set */
	{ "GETX", "_OTHER", "GETX", "HTTP" },		/* no prefix match */
};

Test(http_attrs, method_and_name_on_server_and_client_spans)
{
	for (size_t i = 0; i < sizeof(method_rows) / sizeof(method_rows[0]); i++) {
		struct hk_http req;

		req_fill(&req, method_rows[i].method, "/", "h", NULL);
		for (int client = 0; client < 2; client++) {
			struct rt_span *sp = new_span(client ? RT_KIND_CLIENT : RT_KIND_SERVER);

			if (client)
				hk_http_client_request(sp, &req, NULL);
			else
				hk_http_server_request(sp, &req, NULL, NULL);
			expect_str(sp, "http.request.method", method_rows[i].want_method,
				   method_rows[i].method);
			expect_str(sp, "http.request.method_original", method_rows[i].want_original,
				   method_rows[i].method);
			cr_expect_str_eq(sp->name, method_rows[i].want_name, "[%s] name %s",
					 method_rows[i].method, sp->name);
			done(sp);
		}
	}
}

Test(http_attrs, known_method_predicate)
{
	cr_expect(hk_http_known_method("GET"));
	cr_expect(hk_http_known_method("PATCH"));
	cr_expect(!hk_http_known_method("get"));
	cr_expect(!hk_http_known_method("GET "));
	cr_expect(!hk_http_known_method(""));
	cr_expect(!hk_http_known_method(NULL));
}

/* ---- query redaction --------------------------------------------- */

/*
 * url.query / url.full notes: values of AWSAccessKeyId, Signature, sig,
 * X-Goog-Signature "SHOULD be redacted by default and replaced by the value
 * REDACTED"; "the query string key SHOULD still be preserved"; "Matching of
 * query parameter keys against the sensitive list SHOULD be case-sensitive".
 */
static const struct {
	const char *in, *want, *rule;
} redact_rows[] = {
	{ "q=OpenTelemetry&sig=REDACTED", "q=OpenTelemetry&sig=REDACTED", "semconv example" },
	{ "q=OpenTelemetry&sig=abc123", "q=OpenTelemetry&sig=REDACTED", "sig redacted, key kept" },
	{ "AWSAccessKeyId=AKIA&Signature=s%2Fx&X-Goog-Signature=ff",
	  "AWSAccessKeyId=REDACTED&Signature=REDACTED&X-Goog-Signature=REDACTED", "all four keys" },
	{ "a=1&sig=xyz&b", "a=1&sig=REDACTED&b", "order kept, key without '=' kept" },
	{ "sig=", "sig=REDACTED", "empty value is still the value" },
	{ "sig", "sig", "no '=': no value to redact" },
	{ "sig=a=b", "sig=REDACTED", "value runs to the next '&'" },
	{ "SIG=x&signature=y&Sig=z", "SIG=x&signature=y&Sig=z", "case-sensitive matching" },
	{ "si%67=x", "si%67=x", "percent-encoded keys compared as they are" },
	{ "xsig=1&sigx=2&sig_=3", "xsig=1&sigx=2&sig_=3", "whole-key match only" },
	{ "&&sig=x&", "&&sig=REDACTED&", "empty parameters kept" },
	{ "=x&=", "=x&=", "empty key" },
	{ "a=b;sig=c", "a=b;sig=c", "only '&' separates" },
	{ "a=\xff\xfe&sig=\xc3\xa9", "a=\xff\xfe&sig=REDACTED", "non-UTF-8 bytes pass" },
	{ "", "", "empty query" },
};

Test(http_attrs, redact_query_table)
{
	for (size_t i = 0; i < sizeof(redact_rows) / sizeof(redact_rows[0]); i++) {
		char out[256];
		size_t n = hk_http_redact_query(redact_rows[i].in, strlen(redact_rows[i].in), out,
						sizeof(out));

		cr_expect_eq(n, strlen(out), "[%s] length", redact_rows[i].rule);
		cr_expect_str_eq(out, redact_rows[i].want, "[%s] \"%s\" -> \"%s\"",
				 redact_rows[i].rule, redact_rows[i].in, out);
	}
}

Test(http_attrs, redact_query_reads_only_len_bytes)
{
	char out[64];
	size_t n = hk_http_redact_query("sig=abc&x=1", 7, out, sizeof(out));

	cr_expect_eq(n, 12);
	cr_expect_str_eq(out, "sig=REDACTED");
}

/* The header's contract: at most cap bytes incl. the NUL, truncated at a
 * character boundary; a truncated result never holds a secret. */
static const struct {
	const char *in;
	size_t cap;
	const char *want;
} redact_cap_rows[] = {
	{ "abc", 2, "a" },
	{ "abc", 1, "" },
	{ "a\xc3\xa9", 3, "a" },		/* 'é' does not fit whole: cut before it */
	{ "a\xc3\xa9", 4, "a\xc3\xa9" },
	{ "\xe2\x82\xac\xe2\x82\xac", 6, "\xe2\x82\xac" },	/* '€' is 3 bytes */
	{ "\xf0\x9f\x98\x80x", 4, "" },		/* 4-byte emoji, 3 bytes of room */
	{ "x\xff\xff", 3, "x\xff" },		/* not UTF-8: bytes kept as they are */
	{ "sig=secret", 6, "sig=R" },
	{ "a=1&Signature=topsecret", 20, "a=1&Signature=REDAC" },
};

Test(http_attrs, redact_query_truncates_at_character_boundary)
{
	for (size_t i = 0; i < sizeof(redact_cap_rows) / sizeof(redact_cap_rows[0]); i++) {
		char out[64];
		size_t n;

		memset(out, 'Z', sizeof(out));
		n = hk_http_redact_query(redact_cap_rows[i].in, strlen(redact_cap_rows[i].in), out,
					 redact_cap_rows[i].cap);
		cr_expect_str_eq(out, redact_cap_rows[i].want, "row %zu: \"%s\"", i, out);
		cr_expect_eq(n, strlen(redact_cap_rows[i].want), "row %zu: n=%zu", i, n);
		cr_expect_eq(out[redact_cap_rows[i].cap], 'Z', "row %zu wrote past cap", i);
	}
}

Test(http_attrs, redact_query_cap_zero_and_null)
{
	char out[4] = "ZZZ";

	cr_expect_eq(hk_http_redact_query("abc", 3, out, 0), 0);
	cr_expect_eq(out[0], 'Z');
	cr_expect_eq(hk_http_redact_query(NULL, 5, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "");
}

/* ---- server: url.* ----------------------------------------------- */

/*
 * url.path Required ("The URI path component"), url.query "Conditionally
 * Required If and only if one was received", url.scheme Required ("the
 * scheme of the immediate peer request" unless the original is known).
 */
static const struct {
	const char *method, *target, *path, *query, *scheme, *rule;
} server_url_rows[] = {
	{ "GET", "/search?q=OpenTelemetry", "/search", "q=OpenTelemetry", "http", "semconv example" },
	{ "GET", "/webshop/articles/4?s=1&t=2", "/webshop/articles/4", "s=1&t=2", "http", "example" },
	{ "GET", "/a/b", "/a/b", NULL, "http", "no '?': no url.query" },
	{ "GET", "/p?", "/p", NULL, "http", "empty query left out" },
	{ "GET", "/p?x=1&sig=abc", "/p", "x=1&sig=REDACTED", "http", "url.query redacted" },
	{ "GET", "/p?x#frag", "/p", "x", "http", "fragment is not query" },
	{ "GET", "/p#f?x", "/p", NULL, "http", "'?' after '#' is fragment" },
	{ "OPTIONS", "*", "*", NULL, "http", "asterisk-form recorded as *" },
	{ "GET", "http://h:8080/p?q=1", "/p", "q=1", "http", "absolute-form: its path" },
	{ "GET", "http://h", "/", NULL, "http", "absolute-form, empty path is /" },
	{ "GET", "http://u:p@h/x?sig=1", "/x", "sig=REDACTED", "http", "absolute-form with userinfo" },
	{ "GET", "HTTP://h/x", "/x", NULL, "http", "scheme lowercased" },
	{ "GET", "https://h/x", "/x", NULL, "https", "original scheme when known" },
	{ "CONNECT", "h.example:443", NULL, NULL, "http", "authority-form has no path" },
	{ "GET", "", NULL, NULL, "http", "empty target" },
	{ "GET", "foo?x=1", "foo", "x=1", "http", "target without '/'" },
	{ "GET", "?x=1", NULL, "x=1", "http", "query only" },
	{ "GET", "/\xc3\xa9\xff?\xfe=1", "/\xc3\xa9\xff", "\xfe=1", "http", "bytes pass" },
	{ "GET", "h.example:443", "h.example:443", NULL, "http", "authority-form only for CONNECT" },
};

Test(http_attrs, server_url_attributes)
{
	for (size_t i = 0; i < sizeof(server_url_rows) / sizeof(server_url_rows[0]); i++) {
		struct hk_http req;
		struct rt_span *sp = new_span(RT_KIND_SERVER);

		req_fill(&req, server_url_rows[i].method, server_url_rows[i].target, "h", NULL);
		hk_http_server_request(sp, &req, NULL, NULL);
		expect_str(sp, "url.path", server_url_rows[i].path, server_url_rows[i].rule);
		expect_str(sp, "url.query", server_url_rows[i].query, server_url_rows[i].rule);
		expect_str(sp, "url.scheme", server_url_rows[i].scheme, server_url_rows[i].rule);
		expect_str(sp, "url.full", NULL, server_url_rows[i].rule);
		done(sp);
	}
}

/* A target cut by the parser: what was captured is recorded, never half a
 * character. */
Test(http_attrs, server_truncated_target_keeps_whole_characters)
{
	struct hk_http req;
	struct rt_span *sp = new_span(RT_KIND_SERVER);

	req_fill(&req, "GET", "/a?q=\xc3\xa9\xc3", "h", NULL);
	req.target.truncated = true;
	hk_http_server_request(sp, &req, NULL, NULL);
	expect_str(sp, "url.path", "/a", "truncated");
	expect_str(sp, "url.query", "q=\xc3\xa9", "truncated");
	done(sp);

	sp = new_span(RT_KIND_SERVER);
	req_fill(&req, "GET", "/a?sig=sec", "h", NULL);	/* "sig=secret..." cut */
	req.target.truncated = true;
	hk_http_server_request(sp, &req, NULL, NULL);
	expect_str(sp, "url.query", "sig=REDACTED", "truncated secret");
	done(sp);
}

/* ---- server: server.address / server.port ------------------------ */

/*
 * "Setting server.address and server.port": from the Host header,
 * "Instrumentations SHOULD populate both server.address and server.port
 * attributes by parsing the value"; absolute-form target wins (RFC 9112
 * 3.2.2); invalid Host = absent (RFC 9112 3.3) → local address; no port in
 * the authority → the scheme's default (same value as the client records).
 */
static const struct {
	const char *host;	/* NULL: no Host header */
	const char *target;
	const char *addr;
	long port;
	const char *rule;
} server_host_rows[] = {
	{ "example.com", "/", "example.com", 80, "Host without port: http default" },
	{ "example.com:8080", "/", "example.com", 8080, "Host with port" },
	{ "Example.COM:80", "/", "Example.COM", 80, "recorded as sent" },
	{ "[::1]:8443", "/", "::1", 8443, "IPv6 literal, brackets removed" },
	{ "[2001:db8::1]", "/", "2001:db8::1", 80, "IPv6 literal without port" },
	{ "10.1.2.80:65535", "/", "10.1.2.80", 65535, "largest port" },
	{ "example.com:", "/", "example.com", 80, "empty port is the default" },
	{ "h:abc", "/", "10.0.0.1", 8000, "bad port: local address" },
	{ "h:99999", "/", "10.0.0.1", 8000, "port out of range: local address" },
	{ "h:123456", "/", "10.0.0.1", 8000, "too many digits: local address" },
	{ "h:0", "/", "10.0.0.1", 8000, "port 0: local address" },
	{ "h:000080", "/", "h", 80, "port = *DIGIT: leading zeros" },
	{ "h:4294967376", "/", "10.0.0.1", 8000, "2^32 + 80 must not wrap to 80" },
	{ "h:-1", "/", "10.0.0.1", 8000, "signed port: local address" },
	{ "[::1", "/", "10.0.0.1", 8000, "unclosed bracket: local address" },
	{ "[::1]x", "/", "10.0.0.1", 8000, "junk after bracket: local address" },
	{ "[]:80", "/", "10.0.0.1", 8000, "empty literal: local address" },
	{ "", "/", "10.0.0.1", 8000, "empty Host: local address" },
	{ ":80", "/", "10.0.0.1", 8000, "no host: local address" },
	{ "a b", "/", "10.0.0.1", 8000, "space: local address" },
	{ "u@h", "/", "10.0.0.1", 8000, "userinfo is not a Host: local address" },
	{ NULL, "/", "10.0.0.1", 8000, "no Host (HTTP/1.0): local address" },
	{ "other", "http://proxy.example:81/p", "proxy.example", 81, "absolute-form wins" },
	{ "other", "https://s.example/p", "s.example", 443, "absolute https: default 443" },
	{ "other", "http://u:p@s.example/p", "s.example", 80, "absolute-form userinfo skipped" },
	{ "other", "http://:99/p", "other", 80, "invalid absolute authority: Host" },
	{ "h\xc3\xa9.example", "/", "h\xc3\xa9.example", 80, "raw UTF-8 name passes" },
};

Test(http_attrs, server_address_and_port)
{
	struct sockaddr_storage local = sa_of("10.0.0.1", 8000);

	for (size_t i = 0; i < sizeof(server_host_rows) / sizeof(server_host_rows[0]); i++) {
		struct hk_http req;
		struct rt_span *sp = new_span(RT_KIND_SERVER);

		req_fill(&req, "GET", server_host_rows[i].target, server_host_rows[i].host, NULL);
		hk_http_server_request(sp, &req, NULL, SA(local));
		expect_str(sp, "server.address", server_host_rows[i].addr, server_host_rows[i].rule);
		expect_int(sp, "server.port", server_host_rows[i].port, server_host_rows[i].rule);
		done(sp);
	}
}

Test(http_attrs, server_truncated_host_is_not_used)
{
	struct sockaddr_storage local = sa_of("::1", 8080);
	struct hk_http req;
	struct rt_span *sp = new_span(RT_KIND_SERVER);

	req_fill(&req, "GET", "/", "example.com:80", NULL);
	req.host.truncated = true;
	hk_http_server_request(sp, &req, NULL, SA(local));
	expect_str(sp, "server.address", "::1", "truncated Host");
	expect_int(sp, "server.port", 8080, "truncated Host");
	done(sp);
}

Test(http_attrs, server_without_host_or_local_has_no_server_attributes)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/tmp/s.sock" };
	struct hk_http req;
	struct rt_span *sp = new_span(RT_KIND_SERVER);

	req_fill(&req, "GET", "/", NULL, NULL);
	hk_http_server_request(sp, &req, (const struct sockaddr *)&un, NULL);
	expect_str(sp, "server.address", NULL, "no Host, no local");
	expect_int(sp, "server.port", -1, "no Host, no local");
	/* peer of a family other than IP: left out */
	expect_str(sp, "client.address", NULL, "AF_UNIX peer");
	expect_str(sp, "network.peer.address", NULL, "AF_UNIX peer");
	done(sp);
}

/* ---- server: peer, version, user agent --------------------------- */

/*
 * client.address Recommended ("Otherwise, the immediate client peer
 * address"), network.peer.address/port Recommended, client.port Opt-In
 * (not recorded).
 */
static const struct {
	const char *ip;
	int port;
} peer_rows[] = {
	{ "192.0.2.4", 65123 },
	{ "2001:db8::4", 1 },
	{ "::ffff:192.0.2.4", 40000 },	/* kept as the socket reports it */
};

Test(http_attrs, server_peer_attributes)
{
	for (size_t i = 0; i < sizeof(peer_rows) / sizeof(peer_rows[0]); i++) {
		struct sockaddr_storage peer = sa_of(peer_rows[i].ip, peer_rows[i].port);
		struct hk_http req;
		struct rt_span *sp = new_span(RT_KIND_SERVER);

		req_fill(&req, "GET", "/", "h", NULL);
		hk_http_server_request(sp, &req, SA(peer), NULL);
		expect_str(sp, "client.address", peer_rows[i].ip, peer_rows[i].ip);
		expect_str(sp, "network.peer.address", peer_rows[i].ip, peer_rows[i].ip);
		expect_int(sp, "network.peer.port", peer_rows[i].port, peer_rows[i].ip);
		expect_int(sp, "client.port", -1, "client.port is Opt-In");
		done(sp);
	}
}

/* network.protocol.version "1.0"/"1.1"; "If the actual protocol version is
 * not known, this attribute SHOULD NOT be set." */
static const struct {
	uint8_t minor;
	const char *want;
} version_rows[] = {
	{ 0, "1.0" },
	{ 1, "1.1" },
	{ 9, "1.9" },
	{ 10, NULL },
	{ 255, NULL },
};

Test(http_attrs, protocol_version_on_both_sides)
{
	for (size_t i = 0; i < sizeof(version_rows) / sizeof(version_rows[0]); i++) {
		struct hk_http req;

		req_fill(&req, "GET", "/", "h", NULL);
		req.version_minor = version_rows[i].minor;
		for (int client = 0; client < 2; client++) {
			struct rt_span *sp = new_span(client ? RT_KIND_CLIENT : RT_KIND_SERVER);

			if (client)
				hk_http_client_request(sp, &req, NULL);
			else
				hk_http_server_request(sp, &req, NULL, NULL);
			expect_str(sp, "network.protocol.version", version_rows[i].want, "version");
			expect_str(sp, "network.protocol.name", NULL, "name is only set when not http");
			done(sp);
		}
	}
}

/* user_agent.original: Recommended on server spans, Opt-In on client spans. */
Test(http_attrs, user_agent_only_on_server_and_only_when_present)
{
	struct hk_http req;
	struct rt_span *sp;

	req_fill(&req, "GET", "/", "h", "curl/8.5.0");
	sp = new_span(RT_KIND_SERVER);
	hk_http_server_request(sp, &req, NULL, NULL);
	expect_str(sp, "user_agent.original", "curl/8.5.0", "server, present");
	done(sp);

	sp = new_span(RT_KIND_CLIENT);
	hk_http_client_request(sp, &req, NULL);
	expect_str(sp, "user_agent.original", NULL, "client: Opt-In");
	expect_str(sp, "url.scheme", NULL, "client: Opt-In");
	done(sp);

	req_fill(&req, "GET", "/", "h", NULL);
	sp = new_span(RT_KIND_SERVER);
	hk_http_server_request(sp, &req, NULL, NULL);
	expect_str(sp, "user_agent.original", NULL, "server, absent");
	done(sp);

	/* captured prefix of a longer value, cut at a character boundary */
	req_fill(&req, "GET", "/", "h", "Agent/\xe2\x82\xac\xe2\x82");
	req.user_agent.truncated = true;
	sp = new_span(RT_KIND_SERVER);
	hk_http_server_request(sp, &req, NULL, NULL);
	expect_str(sp, "user_agent.original", "Agent/\xe2\x82\xac", "server, truncated");
	done(sp);
}

/* ---- server and client: status ----------------------------------- */

/*
 * Status: 1xx-3xx unset; "For HTTP status codes in the 4xx range span
 * status MUST be left unset in case of SpanKind.SERVER and SHOULD be set to
 * Error in case of SpanKind.CLIENT"; 5xx and "any other code the client
 * failed to interpret" Error. error.type "SHOULD be set to the status code
 * number (represented as a string)" then, or to the component-specific
 * identifier of a failure; "If the request has completed successfully,
 * instrumentations SHOULD NOT set error.type". No status description
 * ("Don't set the span status description if the reason can be inferred").
 */
static const struct {
	int status;		/* -1: no response head */
	const char *error_type;	/* the argument */
	const char *srv_err;	/* expected error.type on a server span */
	uint8_t srv_st;
	const char *cli_err;	/* expected error.type on a client span */
	uint8_t cli_st;
} status_rows[] = {
	{ 200, NULL, NULL, RT_STATUS_UNSET, NULL, RT_STATUS_UNSET },
	{ 101, NULL, NULL, RT_STATUS_UNSET, NULL, RT_STATUS_UNSET },
	{ 204, NULL, NULL, RT_STATUS_UNSET, NULL, RT_STATUS_UNSET },
	{ 302, NULL, NULL, RT_STATUS_UNSET, NULL, RT_STATUS_UNSET },
	{ 399, NULL, NULL, RT_STATUS_UNSET, NULL, RT_STATUS_UNSET },
	{ 400, NULL, NULL, RT_STATUS_UNSET, "400", RT_STATUS_ERROR },
	{ 404, NULL, NULL, RT_STATUS_UNSET, "404", RT_STATUS_ERROR },
	{ 499, NULL, NULL, RT_STATUS_UNSET, "499", RT_STATUS_ERROR },
	{ 500, NULL, "500", RT_STATUS_ERROR, "500", RT_STATUS_ERROR },
	{ 503, NULL, "503", RT_STATUS_ERROR, "503", RT_STATUS_ERROR },
	{ 599, NULL, "599", RT_STATUS_ERROR, "599", RT_STATUS_ERROR },
	{ 600, NULL, "600", RT_STATUS_ERROR, "600", RT_STATUS_ERROR },	/* not interpretable */
	{ 99, NULL, "99", RT_STATUS_ERROR, "99", RT_STATUS_ERROR },
	{ -1, NULL, NULL, RT_STATUS_UNSET, NULL, RT_STATUS_UNSET },
	{ -1, "response_incomplete", "response_incomplete", RT_STATUS_ERROR,
	  "response_incomplete", RT_STATUS_ERROR },
	{ 200, "ECONNRESET", "ECONNRESET", RT_STATUS_ERROR, "ECONNRESET", RT_STATUS_ERROR },
	{ 404, "ECONNRESET", "ECONNRESET", RT_STATUS_ERROR, "ECONNRESET", RT_STATUS_ERROR },
	{ 500, "response_incomplete", "response_incomplete", RT_STATUS_ERROR,
	  "response_incomplete", RT_STATUS_ERROR },
};

Test(http_attrs, response_status_and_error_type)
{
	for (size_t i = 0; i < sizeof(status_rows) / sizeof(status_rows[0]); i++) {
		struct hk_http resp;
		char row[64];

		memset(&resp, 0, sizeof(resp));
		resp.kind = HK_HTTP_RESPONSE;
		resp.version_minor = 1;
		resp.status = (uint16_t)(status_rows[i].status < 0 ? 0 : status_rows[i].status);
		for (int client = 0; client < 2; client++) {
			struct rt_span *sp = new_span(client ? RT_KIND_CLIENT : RT_KIND_SERVER);
			const struct hk_http *rp = status_rows[i].status < 0 ? NULL : &resp;

			snprintf(row, sizeof(row), "%s %d %s", client ? "client" : "server",
				 status_rows[i].status,
				 status_rows[i].error_type ? status_rows[i].error_type : "-");
			if (client)
				hk_http_client_response(sp, rp, status_rows[i].error_type);
			else
				hk_http_server_response(sp, rp, status_rows[i].error_type);
			expect_int(sp, "http.response.status_code", status_rows[i].status, row);
			expect_str(sp, "error.type",
				   client ? status_rows[i].cli_err : status_rows[i].srv_err, row);
			cr_expect_eq(sp->status, client ? status_rows[i].cli_st : status_rows[i].srv_st,
				     "[%s] status %d", row, sp->status);
			cr_expect_null(sp->status_msg, "[%s] no status description", row);
			done(sp);
		}
	}
}

/* ---- client: url.full, server.address/port ----------------------- */

/*
 * url.full Required: absolute URL, reconstructed per RFC 9112 3.3 from the
 * Host header (or the peer), absolute-form used as is; "MUST NOT contain
 * credentials" → "REDACTED:REDACTED@"; sensitive query values REDACTED.
 * server.address/port Required: from the absolute-form target, else from
 * Host, else the peer; a missing port is the scheme's default.
 */
static const struct {
	const char *method, *target, *host, *peer_ip;
	int peer_port;
	const char *url, *addr;
	long port;
	const char *rule;
} client_rows[] = {
	{ "GET", "/search?q=1", "example.com", "192.0.2.5", 80,
	  "http://example.com/search?q=1", "example.com", 80, "origin-form + Host" },
	{ "GET", "/x", "example.com:8080", "192.0.2.5", 8080,
	  "http://example.com:8080/x", "example.com", 8080, "Host with port" },
	{ "GET", "/x", "[2001:db8::1]:8080", "2001:db8::1", 8080,
	  "http://[2001:db8::1]:8080/x", "2001:db8::1", 8080, "IPv6 Host" },
	{ "GET", "/x", NULL, "192.0.2.5", 8080,
	  "http://192.0.2.5:8080/x", "192.0.2.5", 8080, "no Host: peer" },
	{ "GET", "/x", NULL, "192.0.2.5", 80,
	  "http://192.0.2.5/x", "192.0.2.5", 80, "no Host: peer, :80 left out" },
	{ "GET", "/x", NULL, "2001:db8::5", 8080,
	  "http://[2001:db8::5]:8080/x", "2001:db8::5", 8080, "no Host: IPv6 peer in brackets" },
	{ "GET", "/x", "h:abc", "192.0.2.5", 8080,
	  "http://192.0.2.5:8080/x", "192.0.2.5", 8080, "invalid Host: peer" },
	{ "GET", "/x", "", "192.0.2.5", 81,
	  "http://192.0.2.5:81/x", "192.0.2.5", 81, "empty Host: peer" },
	{ "GET", "http://user:pass@h.example:81/p?sig=s", "h.example:81", "192.0.2.9", 3128,
	  "http://REDACTED:REDACTED@h.example:81/p?sig=REDACTED", "h.example", 81,
	  "absolute-form, credentials and sig redacted" },
	{ "GET", "http://tok@h.example/p", "h.example", "192.0.2.9", 3128,
	  "http://REDACTED:REDACTED@h.example/p", "h.example", 80, "user name alone redacted" },
	{ "GET", "http://a@b@h.example/p", NULL, "192.0.2.9", 3128,
	  "http://REDACTED:REDACTED@h.example/p", "h.example", 80, "last '@' ends userinfo" },
	{ "GET", "http://h.example/p@x", NULL, "192.0.2.9", 3128,
	  "http://h.example/p@x", "h.example", 80, "'@' in the path is not userinfo" },
	{ "GET", "https://h.example/p", "h.example", "192.0.2.9", 3128,
	  "https://h.example/p", "h.example", 443, "absolute https: 443" },
	{ "GET", "http://target.example/p", "other.example", "192.0.2.9", 3128,
	  "http://target.example/p", "target.example", 80, "absolute-form wins over Host" },
	{ "GET", "ftp://h.example/f", NULL, "192.0.2.9", 3128,
	  "ftp://h.example/f", "h.example", -1, "unknown scheme: no default port" },
	{ "CONNECT", "h.example:443", "h.example:443", "192.0.2.9", 3128,
	  "http://h.example:443", "h.example", 443, "authority-form: no path" },
	{ "OPTIONS", "*", "h.example", "192.0.2.5", 80,
	  "http://h.example", "h.example", 80, "asterisk-form: no path" },
	{ "GET", "/p?a=1&X-Goog-Signature=zz#frag", "h", "192.0.2.5", 80,
	  "http://h/p?a=1&X-Goog-Signature=REDACTED#frag", "h", 80, "query redacted, fragment kept" },
	{ "GET", "/p?", "h", "192.0.2.5", 80, "http://h/p?", "h", 80, "empty query kept as sent" },
	{ "GET", "foo", "h", "192.0.2.5", 80, "http://h/foo", "h", 80, "no leading '/'" },
	{ "GET", "", "h", "192.0.2.5", 80, "http://h", "h", 80, "empty target" },
	{ "GET", "/\xc3\xa9\xff", "h", "192.0.2.5", 80, "http://h/\xc3\xa9\xff", "h", 80, "bytes pass" },
	{ "GET", "/x", NULL, NULL, 0, "http:///x", NULL, -1, "no Host, no IP peer" },
};

Test(http_attrs, client_url_full_and_server_attributes)
{
	for (size_t i = 0; i < sizeof(client_rows) / sizeof(client_rows[0]); i++) {
		struct sockaddr_storage peer;
		const struct sockaddr *pp = NULL;
		struct hk_http req;
		struct rt_span *sp = new_span(RT_KIND_CLIENT);

		if (client_rows[i].peer_ip) {
			peer = sa_of(client_rows[i].peer_ip, client_rows[i].peer_port);
			pp = SA(peer);
		}
		req_fill(&req, client_rows[i].method, client_rows[i].target, client_rows[i].host,
			 "ua/1");
		hk_http_client_request(sp, &req, pp);
		expect_str(sp, "url.full", client_rows[i].url, client_rows[i].rule);
		expect_str(sp, "server.address", client_rows[i].addr, client_rows[i].rule);
		expect_int(sp, "server.port", client_rows[i].port, client_rows[i].rule);
		expect_str(sp, "network.peer.address", client_rows[i].peer_ip, client_rows[i].rule);
		expect_int(sp, "network.peer.port",
			   client_rows[i].peer_ip ? client_rows[i].peer_port : -1, client_rows[i].rule);
		expect_str(sp, "client.address", NULL, client_rows[i].rule);
		expect_str(sp, "url.path", NULL, client_rows[i].rule);
		done(sp);
	}
}

/* url.full longer than the buffer (redaction grows the query): cut to fit,
 * never showing a secret. */
Test(http_attrs, client_url_full_is_bounded)
{
	char target[HK_HTTP_TARGET_MAX + 1], want[8192], got[4096];
	struct hk_http req;
	struct rt_span *sp = new_span(RT_KIND_CLIENT);
	size_t n = 0, w;

	n += (size_t)snprintf(target, sizeof(target), "/?");
	w = (size_t)snprintf(want, sizeof(want), "http://h/?");
	while (n + 6 < sizeof(target) - 1) {
		memcpy(target + n, "sig=s&", 6), n += 6;
		memcpy(want + w, "sig=REDACTED&", 13), w += 13;
	}
	target[n] = 0;
	want[w] = 0;
	req_fill(&req, "GET", target, "h", NULL);
	hk_http_client_request(sp, &req, NULL);
	cr_assert(get_str(sp, "url.full", got, sizeof(got)));
	cr_expect_eq(strlen(got), HK_URL_MAX - 1);
	cr_expect_eq(strncmp(got, want, strlen(got)), 0, "a prefix of the redacted URL");
	cr_expect_null(strstr(got, "sig=s&"));
	done(sp);
}

/* ---- robustness --------------------------------------------------- */

/* Every function accepts a NULL span (a dropped span) and a NULL head. */
Test(http_attrs, null_span_and_null_head)
{
	struct hk_http req;
	struct rt_span *sp = new_span(RT_KIND_SERVER);

	req_fill(&req, "GET", "/", "h", NULL);
	hk_http_server_request(NULL, &req, NULL, NULL);
	hk_http_client_request(NULL, &req, NULL);
	hk_http_server_response(NULL, &req, "x");
	hk_http_client_response(NULL, NULL, NULL);
	hk_http_server_request(sp, NULL, NULL, NULL);
	hk_http_client_request(sp, NULL, NULL);
	cr_expect_eq(sp->nattrs, 0);
	cr_expect_str_eq(sp->name, "placeholder");
	done(sp);
}

/*
 * A connection keeps the attributes its requests share (server.*,
 * network.peer.*, client.address, network.protocol.version) for the Host
 * value and version they came from. Requests in a row on one connection,
 * with the Host changing, missing, invalid, truncated, and the version and
 * target form changing: each span must be exactly the one made without the
 * cache (same attributes, order, values, arena).
 */
Test(http_attrs, connection_cache_changes_nothing)
{
	static const struct {
		const char *target, *host;	/* host NULL: absent */
		uint8_t minor;
		bool host_truncated;
	} reqs[] = {
		{ "/a", "example.com:8080", 1, false },
		{ "/b?q=1", "example.com:8080", 1, false },	/* same Host: from the cache */
		{ "/c", "example.com:8081", 1, false },		/* port differs */
		{ "/d", "example.com:8081", 0, false },		/* version differs */
		{ "/e", NULL, 1, false },			/* no Host: local address */
		{ "/f", "[::1]:9", 1, false },
		{ "/g", "bad host", 1, false },			/* invalid: local address */
		{ "/h", "[::1]:9", 1, true },			/* truncated: invalid */
		{ "http://abs.example:81/i", "[::1]:9", 1, false },	/* absolute form wins */
		{ "/j", "[::1]:9", 1, false },
	};
	struct sockaddr_storage peer = sa_of("192.0.2.7", 40000), local = sa_of("2001:db8::2", 8080);
	struct hk_sa_text pt, lt;
	struct hk_server_cache cache;

	memset(&cache, 0, sizeof(cache));
	hk_sa_text(SA(peer), &pt);
	hk_sa_text(SA(local), &lt);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct rt_span *a = new_span(RT_KIND_SERVER), *b = new_span(RT_KIND_SERVER);
		struct hk_http req;

		req_fill(&req, "GET", reqs[i].target, reqs[i].host, "ua/1");
		req.version_minor = reqs[i].minor;
		req.host.truncated = reqs[i].host_truncated;
		hk_http_server_request(a, &req, SA(peer), SA(local));
		hk_http_server_attrs(b, &req, &pt, &lt, &cache);
		cr_assert_eq(a->nattrs, b->nattrs, "request %zu", i);
		cr_assert_eq(a->arena_used, b->arena_used, "request %zu", i);
		cr_assert_str_eq(a->name, b->name);
		for (int j = 0; j < a->nattrs; j++) {
			const struct rt_attr *x = &a->attrs[j], *y = &b->attrs[j];

			cr_assert_eq(x->key, y->key, "request %zu attr %d", i, j);
			cr_assert_eq(x->type, y->type, "request %zu attr %d", i, j);
			if (x->type == RT_V_STR) {
				cr_assert_eq(x->len, y->len, "request %zu %s", i, x->key);
				cr_assert_eq(memcmp(x->s, y->s, x->len + 1), 0, "request %zu %s", i, x->key);
				cr_assert_eq(x->s - a->arena, y->s - b->arena, "request %zu %s", i, x->key);
			} else {
				cr_assert_eq(x->v.i, y->v.i, "request %zu %s", i, x->key);
			}
		}
		rt_span_end(a, 0);
		done(b);
	}
}

/*
 * Random heads (fixed seed): any bytes in method, target, Host and
 * User-Agent, at any length up to the field caps, truncated or not. Must
 * not crash, must always name the span and set http.request.method, and
 * url.full must stay within its buffer. Run it under ASan (make check).
 */
static unsigned rnd_state = 12345;

/* A small LCG: reproducible, and a function so calls are sequenced. */
static unsigned rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) & 0x7fff;
}

Test(http_attrs, random_heads_never_crash)
{
	static const char alphabet[] = "/?#&=:@[]%.*aGs ig\xc3\xa9\xff\x80\xe2";
	struct sockaddr_storage p4 = sa_of("192.0.2.1", 1234), p6 = sa_of("2001:db8::1", 80);

	for (int it = 0; it < 3000; it++) {
		const struct sockaddr *peer, *local;
		const struct hk_http *rp;
		struct hk_http req;
		struct rt_span *sp;
		char got[4096];
		size_t n;

		memset(&req, 0, sizeof(req));
#define RND() rnd()
#define FILL(f, max)							\
		do {							\
			n = RND() % 4 ? RND() % 40 : RND() % (max);	\
			for (size_t k = 0; k < n; k++)			\
				(f).s[k] = RND() % 3 ? alphabet[RND() % (sizeof(alphabet) - 1)] \
						     : (char)(1 + RND() % 255); \
			(f).s[n] = 0;					\
			(f).len = (uint16_t)n;				\
			(f).truncated = RND() % 8 == 0;			\
		} while (0)
		FILL(req.target, sizeof(req.target.s));
		FILL(req.host, sizeof(req.host.s));
		FILL(req.user_agent, sizeof(req.user_agent.s));
		n = RND() % 5;
		strcpy(req.method, (const char *[]){ "GET", "CONNECT", "OPTIONS", "x", "" }[n]);
		req.version_minor = (uint8_t)RND();
		req.status = (uint16_t)(RND() % 1000);

		sp = new_span(RT_KIND_SERVER);
		peer = RND() % 2 ? SA(p4) : NULL;
		local = RND() % 2 ? SA(p6) : NULL;
		hk_http_server_request(sp, &req, peer, local);
		rp = RND() % 2 ? &req : NULL;
		hk_http_server_response(sp, rp, RND() % 2 ? "e" : NULL);
		cr_assert_not_null(rt_span_attr(sp, "http.request.method"), "iteration %d", it);
		cr_assert(strcmp(sp->name, "placeholder") != 0);
		done(sp);

		sp = new_span(RT_KIND_CLIENT);
		hk_http_client_request(sp, &req, RND() % 2 ? SA(p6) : SA(p4));
		hk_http_client_response(sp, &req, NULL);
		cr_assert(get_str(sp, "url.full", got, sizeof(got)), "iteration %d", it);
		cr_assert_lt(strlen(got), (size_t)HK_URL_MAX);
		cr_assert_not_null(rt_span_attr(sp, "http.request.method"));
		done(sp);
#undef FILL
#undef RND
	}
}
