/*
 * http.h - one HTTP POST with the OTLP retry policy, over libcurl.
 *
 * Retry (OTLP/HTTP spec): only 429, 502, 503, 504 and failures to connect
 * or transfer, with exponential backoff (1 s, 2 s, 4 s ... capped at 30 s)
 * and +-50% jitter, honouring Retry-After (seconds or HTTP-date), and never
 * past deadline_ns. Every other status is final. During an exit or exec
 * flush a connection failure is final too (see ex_http_post).
 */
#ifndef EX_HTTP_H
#define EX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ex_resp { EX_RESP_NONE, EX_RESP_OTLP_PROTO, EX_RESP_OTLP_JSON };

struct ex_http_req {
	const char *url;
	const char *content_type;
	bool gzip;			/* body is gzip: send Content-Encoding */
	const char *headers;		/* "k=v,k2=v2" (percent-encoded) or NULL */
	const char *ca_file;		/* may be "" */
	const char *cert_file;
	const char *key_file;
	const uint8_t *body;
	size_t len;
	uint32_t timeout_ms;		/* per attempt */
	uint64_t deadline_ns;		/* for all attempts */
	enum ex_resp resp;		/* how to read partial_success */
};

/* Returns 0 when delivered, else -1 with a one-line reason in err. */
int ex_http_post(const struct ex_http_req *r, char *err, size_t errcap);

/* At exit, after the last flush: wait (until deadline_ns at most) for the
 * libcurl step in progress, then never call libcurl again. */
void ex_http_shutdown(uint64_t deadline_ns);

/* Fork handlers: no fork while the exporter is inside libcurl, so the
 * child never inherits libcurl's or OpenSSL's locks held. */
void ex_http_fork_prepare(void);
void ex_http_fork_parent(void);
void ex_http_fork_child(void);

#endif
