/*
 * http_attrs.h - span names, attributes and status for HTTP server and
 * client spans, per the OpenTelemetry HTTP semantic conventions (stable):
 * https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 *
 * Pure functions of the parsed heads (hooks/http_parse.h) and the
 * connection's addresses; they write through the span API (runtime/span.h)
 * and never allocate. Only user_agent.original is taken from a header value
 * (besides Host for server.address); no other header is recorded.
 */
#ifndef HK_HTTP_ATTRS_H
#define HK_HTTP_ATTRS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../runtime/span.h"
#include "http_parse.h"

/* A socket address as the attributes record it: numeric text and port.
 * A connection converts its addresses once (hooks/conn.h) for all the
 * requests it carries. */
struct hk_sa_text {
	bool ip;			/* AF_INET or AF_INET6 and converted: the
					 * fields below are set */
	bool v6;
	uint8_t len;			/* bytes in s */
	uint16_t port;
	char s[INET6_ADDRSTRLEN];	/* "192.0.2.1", "2001:db8::1" (NUL-terminated) */
};

/* Convert sa (NULL, or any family: then out->ip is false). Addresses are
 * recorded as the socket reports them: an IPv4 client of a dual-stack
 * socket stays "::ffff:192.0.2.1". Can't fail. */
void hk_sa_text(const struct sockaddr *sa, struct hk_sa_text *out);

/*
 * Server span, when the request head is complete (req at HK_EV_HEAD_DONE):
 * name "{method}" (or "HTTP" for a method outside the known set),
 * http.request.method (_OTHER + http.request.method_original for unknown
 * methods), url.path, url.query (sensitive values redacted), url.scheme
 * (or the scheme of an absolute-form target), server.address/server.port
 * from an absolute-form target, else from Host, else the local address
 * (a Host without port gives 80; an invalid Host counts as absent),
 * client.address and network.peer.address/port from peer (client.port is
 * Opt-In in the semconv and not recorded), network.protocol.version
 * ("1.0"/"1.1"), user_agent.original when the header was present.
 * peer and local may be NULL or of a family other than AF_INET/AF_INET6
 * (then those attributes are left out). sp NULL or req NULL: no-op.
 */
void hk_http_server_request(struct rt_span *sp, const struct hk_http *req,
			    const struct sockaddr *peer, const struct sockaddr *local);

/*
 * What the requests of one connection share: server.*, network.peer.*,
 * client.address and network.protocol.version, prepared for the Host value
 * and version they were made from (hk_http_server_attrs).
 */
struct hk_server_cache {
	bool valid;
	bool host_truncated;
	uint8_t version_minor;
	uint16_t host_len;
	char host[HK_HTTP_HOST_MAX];
	struct rt_attr_pack pack;
};

/* The same with the addresses already converted (NULL or !ip: left out),
 * and with the connection's cache (zeroed when the connection starts; NULL:
 * none), which must always come with the same peer and local. */
void hk_http_server_attrs(struct rt_span *sp, const struct hk_http *req,
			  const struct hk_sa_text *peer, const struct hk_sa_text *local,
			  struct hk_server_cache *cache);

/*
 * Server span, at its end: http.response.status_code from resp (NULL when
 * no response head was written); status Error and error.type = the status
 * code as a string for 5xx and for codes outside 100..599 (4xx leaves the
 * status unset on a server span);
 * when error_type is not NULL (the connection closed before the response
 * was complete, for example) error.type = error_type and status Error.
 */
void hk_http_server_response(struct rt_span *sp, const struct hk_http *resp,
			     const char *error_type);

/*
 * Client span, when the request head it wrote is complete: name "{method}"
 * (or "HTTP"), http.request.method (+ _OTHER/method_original),
 * server.address/server.port (from an absolute-form target, else Host,
 * else the peer; a missing port is the scheme's default), url.full
 * ("http://host[:port]/target"; an absolute-form target is used as is;
 * credentials replaced by "REDACTED:REDACTED@", and the values of the query
 * parameters AWSAccessKeyId, Signature, sig, X-Goog-Signature replaced by
 * "REDACTED"), network.peer.address/port from peer,
 * network.protocol.version. user_agent.original and url.scheme are Opt-In
 * on client spans in the semconv and not recorded. Without a valid Host
 * header the authority of url.full and server.* come from peer.
 */
void hk_http_client_request(struct rt_span *sp, const struct hk_http *req,
			    const struct sockaddr *peer);

/* The same with the peer's address already converted. */
void hk_http_client_attrs(struct rt_span *sp, const struct hk_http *req,
			  const struct hk_sa_text *peer);

/*
 * Client span, at its end: http.response.status_code; status Error and
 * error.type = the status code as a string for 4xx, 5xx and codes outside
 * 100..599; error_type (a
 * transport failure such as "ECONNRESET", or "response_incomplete" when the
 * connection closed mid-response) sets error.type (in place of the code)
 * and status Error. No status description in either case.
 */
void hk_http_client_response(struct rt_span *sp, const struct hk_http *resp,
			     const char *error_type);

/*
 * Copy the URL query q[0..len) (without '?') into out (cap bytes incl the
 * NUL) with the values of the sensitive parameters above replaced by
 * "REDACTED" (keys matched exactly and case-sensitively, as sent, without
 * percent-decoding); everything else is kept byte for byte. Returns the
 * length written, out NUL-terminated; a result that does not fit is cut at
 * a UTF-8 character boundary. cap 0 writes nothing. Can't fail.
 */
size_t hk_http_redact_query(const char *q, size_t len, char *out, size_t cap);

/* True when method is one of the semconv's known methods (RFC 9110 + PATCH),
 * compared case-sensitively as HTTP methods are. */
bool hk_http_known_method(const char *method);

#endif
