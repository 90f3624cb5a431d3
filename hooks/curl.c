/*
 * curl.c - libcurl: one HTTP CLIENT span per transfer, and propagation
 * through the transfer's header list (so HTTPS and HTTP/2 carry it too).
 *
 * Transfers. curl_easy_perform is one span covering the call; the span is
 * the thread's current context meanwhile, so the connect span (and the
 * DNS span, when libcurl resolves on this thread) are its children. A
 * handle added to a multi handle starts its span in
 * curl_multi_add_handle; the span ends when curl_multi_info_read hands
 * out its CURLMSG_DONE (or the handle is removed or cleaned up first).
 * curl_multi_perform and curl_multi_socket_action only raise the family's
 * depth: everything libcurl does inside them is its own business.
 * Only http:// and https:// URLs (or URLs without a scheme, which libcurl
 * takes as HTTP) are traced.
 *
 * Propagation. For the transfer, the handle's CURLOPT_HTTPHEADER is
 * replaced by a copy of the application's list plus traceparent (and
 * tracestate, baggage, B3 per OTEL_PROPAGATORS); the application's list
 * is put back when the transfer ends. A list that already has a
 * traceparent is left alone. The socket-level HTTP injector stays quiet
 * inside libcurl (connect.c does not watch sockets connected at libcurl
 * depth), so a plain-HTTP request carries exactly one traceparent.
 *
 * Attributes (HTTP client semantic conventions): name and
 * http.request.method from CURLINFO_EFFECTIVE_METHOD, url.full (the URL the
 * application set, credentials and sensitive query values redacted),
 * server.address/server.port from it, http.response.status_code,
 * network.peer.address/port (CURLINFO_PRIMARY_IP/PORT),
 * network.protocol.version, http.request.resend_count (redirects
 * followed). error.type: the CURLcode's name (CURLE_COULDNT_CONNECT, ...)
 * for a failed transfer, else the status code for 4xx/5xx; status Error.
 *
 * Which libcurl. libcurl calls its own exports through the PLT, and those
 * calls reach these hooks too (one depth guard for the family: only
 * depth-0 calls are the application's). A process can hold two libcurls:
 * the application's (libcurl-gnutls for git) and the one the exporter
 * loaded RTLD_LOCAL. Calls on the exporter's thread go to the exporter's
 * copy; others to the next definition in search order (RTLD_NEXT), else —
 * a plugin loaded libcurl RTLD_LOCAL (pycurl) — to the libcurl the calling
 * object depends on (dladdr on the return address, then dlsym in that
 * object's own scope), remembered per libcurl copy.
 *
 * THREADS: an easy handle is used by one thread at a time (libcurl's
 * rule); the table mapping handles to records is behind a spin lock never
 * held across a call into libcurl.
 */
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "../export/curl_dl.h"
#include "../runtime/config.h"
#include "../runtime/context.h"
#include "../runtime/propagation.h"
#include "../runtime/runtime.h"
#include "../runtime/span.h"
#include "curl_hk.h"
#include "hook.h"
#include "http_attrs.h"
#include "ptab.h"

#define CU_URL_MAX 2048			/* url.full bytes */
#define CU_LOCALS 4			/* libcurl copies found per caller */

/* ---- the real functions, per libcurl copy ------------------------------ */

/* Hooked: the slot must never hold the hook itself. The helpers are not
 * named as values anywhere (that would make the library need libcurl). */
#define CU_HOOKED(X)								\
	X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_reset)		\
	X(curl_easy_duphandle) X(curl_easy_cleanup) X(curl_multi_add_handle)	\
	X(curl_multi_remove_handle) X(curl_multi_info_read)			\
	X(curl_multi_perform) X(curl_multi_socket_action)
#define CU_HELPERS(X) X(curl_easy_getinfo) X(curl_slist_append) X(curl_slist_free_all)

#define CU_FIELD(fn) __typeof__(&fn) fn;
struct cu_api {
	CU_HOOKED(CU_FIELD)
	CU_HELPERS(CU_FIELD)
	int ready;			/* 1 resolved, -1 not available */
};

static struct cu_api cu_next;		/* RTLD_NEXT */
static struct cu_api cu_export;	/* the exporter's copy */
static struct cu_api cu_local[CU_LOCALS];	/* per calling object */
static int cu_api_lock;

/* Fill api from handle h (NULL: RTLD_NEXT). The hooks themselves are
 * never what a slot holds. */
static void api_fill(struct cu_api *api, void *h)
{
#define CU_SYM(fn)								\
	*(void **)&api->fn = h ? dlsym(h, #fn) : pl_real_lookup(#fn, NULL);	\
	if ((void *)api->fn == (void *)fn)					\
		api->fn = NULL;
#define CU_HELPER(fn) *(void **)&api->fn = h ? dlsym(h, #fn) : dlsym(RTLD_NEXT, #fn);
	CU_HOOKED(CU_SYM)
	CU_HELPERS(CU_HELPER)
#undef CU_SYM
#undef CU_HELPER
	__atomic_store_n(&api->ready, api->curl_easy_perform ? 1 : -1, __ATOMIC_RELEASE);
}

/* The libcurl copy that code at return address ra uses. Slow path. */
static __attribute__((noinline, cold)) const struct cu_api *api_slow(void *ra)
{
	struct cu_api *api = NULL;
	Dl_info di;
	void *h, *perform;

	hk_spin_lock(&cu_api_lock);
	if (!__atomic_load_n(&cu_next.ready, __ATOMIC_ACQUIRE))
		api_fill(&cu_next, NULL);
	if (cu_next.ready > 0) {
		hk_spin_unlock(&cu_api_lock);
		return &cu_next;
	}
	/* RTLD_LOCAL: the libcurl in the calling object's own scope. */
	if (dladdr(ra, &di) && di.dli_fname && di.dli_fname[0] &&
	    (h = dlopen(di.dli_fname, RTLD_LAZY | RTLD_NOLOAD))) {
		perform = dlsym(h, "curl_easy_perform");
		for (int i = 0; i < CU_LOCALS && !api; i++) {
			if (cu_local[i].ready > 0 && (void *)cu_local[i].curl_easy_perform == perform)
				api = &cu_local[i];
		}
		for (int i = 0; i < CU_LOCALS && !api && perform; i++) {
			if (!cu_local[i].ready) {
				api_fill(&cu_local[i], h);
				if (cu_local[i].ready > 0)
					api = &cu_local[i];
			}
		}
		/* h stays open: the copy it names is in use. */
	}
	hk_spin_unlock(&cu_api_lock);
	return api;
}

static __attribute__((noinline)) const struct cu_api *api_export(void)
{
	void *h = __atomic_load_n(&ex_curl_handle, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&cu_export.ready, __ATOMIC_ACQUIRE) > 0)
		return &cu_export;
	if (!h)
		return NULL;
	hk_spin_lock(&cu_api_lock);
	if (!cu_export.ready)
		api_fill(&cu_export, h);
	hk_spin_unlock(&cu_api_lock);
	return cu_export.ready > 0 ? &cu_export : NULL;
}

/* The libcurl copy for a call from ra on this thread; NULL when there is
 * none (the hook then fails as libcurl fails on bad arguments). */
static inline const struct cu_api *api_for(void *ra)
{
	if (__builtin_expect(pl_tls.exporter, 0))
		return api_export();
	if (__builtin_expect(__atomic_load_n(&cu_next.ready, __ATOMIC_ACQUIRE) > 0, 1))
		return &cu_next;
	return api_slow(ra);
}

/* ---- per-handle records ------------------------------------------------ */

struct cu_easy {
	struct hk_pnode node;		/* key: the easy handle */
	const struct cu_api *api;	/* the copy the handle belongs to */
	char *url;			/* CURLOPT_URL as set (malloc'ed) */
	struct curl_slist *app_headers;	/* CURLOPT_HTTPHEADER as set */
	struct curl_slist *ours;	/* our copy, installed during a transfer */
	struct rt_span *span;		/* the transfer in flight */
	uint64_t gen;
};

static struct hk_ptab cu_tab;

static struct cu_easy *easy_get(const CURL *h, bool create)
{
	return hk_ptab_get(&cu_tab, h, create ? sizeof(struct cu_easy) : 0);
}

void hk_curl_fork_prepare(void)
{
	hk_spin_lock(&cu_api_lock);
	hk_spin_lock(&cu_tab.lock);
}

void hk_curl_fork_parent(void)
{
	hk_spin_unlock(&cu_tab.lock);
	hk_spin_unlock(&cu_api_lock);
}

static void forget_in_flight(void *rec)
{
	((struct cu_easy *)rec)->span = NULL;
}

/* The child keeps its handles' records but not the parent's transfers in
 * flight (their spans belong to the parent's export). */
void hk_curl_fork_child(void)
{
	hk_ptab_each_locked(&cu_tab, forget_in_flight);
	hk_spin_unlock(&cu_tab.lock);
	hk_spin_unlock(&cu_api_lock);
}

/* ---- transfers resolving on libcurl's resolver thread ------------------ */

/*
 * libcurl's threaded resolver calls getaddrinfo on a thread of its own,
 * which has no context: the transfers in flight are listed here by host
 * name, so that the DNS span can still be the transfer's child
 * (hk_curl_dns_parent, called by dns.c).
 */
#define CU_RESOLVING 64
static struct {
	const struct rt_span *span;	/* NULL: free */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;
	char host[256];
} cu_resolving[CU_RESOLVING];
static int cu_resolving_lock;

static void resolving_add(const struct rt_span *sp, const char *host, size_t hl)
{
	if (hl == 0 || hl >= sizeof(cu_resolving[0].host))
		return;
	hk_spin_lock(&cu_resolving_lock);
	for (int i = 0; i < CU_RESOLVING; i++) {
		if (!cu_resolving[i].span) {
			cu_resolving[i].span = sp;
			memcpy(cu_resolving[i].trace_id, sp->trace_id, 16);
			memcpy(cu_resolving[i].span_id, sp->span_id, 8);
			cu_resolving[i].flags = sp->flags;
			memcpy(cu_resolving[i].host, host, hl);
			cu_resolving[i].host[hl] = 0;
			break;
		}
	}
	hk_spin_unlock(&cu_resolving_lock);
}

static void resolving_del(const struct rt_span *sp)
{
	hk_spin_lock(&cu_resolving_lock);
	for (int i = 0; i < CU_RESOLVING; i++)
		if (cu_resolving[i].span == sp)
			cu_resolving[i].span = NULL;
	hk_spin_unlock(&cu_resolving_lock);
}

bool hk_curl_dns_parent(const char *node, struct rt_ctx *out)
{
	bool found = false;

	if (!node)
		return false;
	hk_spin_lock(&cu_resolving_lock);
	for (int i = 0; i < CU_RESOLVING && !found; i++) {
		if (cu_resolving[i].span && strcasecmp(cu_resolving[i].host, node) == 0) {
			memcpy(out->trace_id, cu_resolving[i].trace_id, 16);
			memcpy(out->span_id, cu_resolving[i].span_id, 8);
			out->flags = cu_resolving[i].flags;
			out->valid = true;
			out->remote = false;
			out->tracestate[0] = 0;
			found = true;
		}
	}
	hk_spin_unlock(&cu_resolving_lock);
	return found;
}

/* ---- URL -> attributes ------------------------------------------------- */

/* Whether url is traced: http, https, or no scheme (libcurl's default). */
static bool url_is_http(const char *url, const char **rest, bool *tls)
{
	const char *p = strstr(url, "://");

	*tls = false;
	if (!p) {
		*rest = url;
		return true;
	}
	*rest = p + 3;
	if ((size_t)(p - url) == 4 && strncasecmp(url, "http", 4) == 0)
		return true;
	if ((size_t)(p - url) == 5 && strncasecmp(url, "https", 5) == 0) {
		*tls = true;
		return true;
	}
	return false;
}

/* url.full, server.address and server.port from the application's URL. */
static void url_attrs(struct rt_span *sp, const char *url)
{
	char out[CU_URL_MAX], host[256];
	const char *rest, *auth_end, *at, *hs, *he, *port_s = NULL, *q, *frag;
	size_t n = 0, hl;
	bool tls;
	long port;

	if (!url_is_http(url, &rest, &tls))
		return;
	auth_end = rest + strcspn(rest, "/?#");
	/* userinfo: the last '@' of the authority */
	at = NULL;
	for (const char *p = rest; p < auth_end; p++)
		if (*p == '@')
			at = p;
	hs = at ? at + 1 : rest;
	if (*hs == '[') {
		he = memchr(hs, ']', (size_t)(auth_end - hs));
		he = he ? he + 1 : auth_end;
	} else {
		he = memchr(hs, ':', (size_t)(auth_end - hs));
		if (!he)
			he = auth_end;
	}
	if (he < auth_end && *he == ':')
		port_s = he + 1;
	hl = (size_t)(he - hs);
	if (*hs == '[' && hl >= 2) {	/* server.address without brackets */
		hs++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return;
	memcpy(host, hs, hl);
	host[hl] = 0;
	port = port_s && port_s < auth_end ? strtol(port_s, NULL, 10) : 0;
	if (port <= 0 || port > 65535)
		port = tls ? 443 : 80;
	rt_span_set_str(sp, "server.address", host, hl);
	rt_span_set_int(sp, "server.port", port);
	resolving_add(sp, host, hl);

	/* url.full: scheme (http when absent), redacted userinfo, the rest
	 * with the sensitive query values redacted. */
	n = tls ? 8 : 7;
	memcpy(out, tls ? "https://" : "http://", n);
	if (at) {
		memcpy(out + n, "REDACTED:REDACTED@", 18);
		n += 18;
	}
	{
		size_t alen = (size_t)(auth_end - (at ? at + 1 : rest));

		if (n + alen >= sizeof(out))
			return;
		memcpy(out + n, at ? at + 1 : rest, alen);
		n += alen;
	}
	q = strchr(auth_end, '?');
	frag = strchr(auth_end, '#');
	if (q && frag && frag < q)
		q = NULL;
	{
		const char *path_end = q ? q : (frag ? frag : auth_end + strlen(auth_end));
		size_t plen = (size_t)(path_end - auth_end);

		if (n + plen >= sizeof(out))
			plen = sizeof(out) - 1 - n;
		memcpy(out + n, auth_end, plen);
		n += plen;
		if (q && n + 1 < sizeof(out)) {
			size_t qlen = frag ? (size_t)(frag - q - 1) : strlen(q + 1);

			out[n++] = '?';
			n += hk_http_redact_query(q + 1, qlen, out + n, sizeof(out) - n);
		}
		if (frag && n + strlen(frag) < sizeof(out)) {
			memcpy(out + n, frag, strlen(frag));
			n += strlen(frag);
		}
	}
	rt_span_set_str(sp, "url.full", out, n);
}

/* CURLcode names for error.type (values from curl.h). */
#define CE(x) [x] = #x
static const char *const curle_names[] = {
	CE(CURLE_UNSUPPORTED_PROTOCOL), CE(CURLE_FAILED_INIT), CE(CURLE_URL_MALFORMAT),
	CE(CURLE_NOT_BUILT_IN), CE(CURLE_COULDNT_RESOLVE_PROXY), CE(CURLE_COULDNT_RESOLVE_HOST),
	CE(CURLE_COULDNT_CONNECT), CE(CURLE_WEIRD_SERVER_REPLY), CE(CURLE_REMOTE_ACCESS_DENIED),
	CE(CURLE_HTTP2), CE(CURLE_PARTIAL_FILE), CE(CURLE_QUOTE_ERROR),
	CE(CURLE_HTTP_RETURNED_ERROR), CE(CURLE_WRITE_ERROR), CE(CURLE_UPLOAD_FAILED),
	CE(CURLE_READ_ERROR), CE(CURLE_OUT_OF_MEMORY), CE(CURLE_OPERATION_TIMEDOUT),
	CE(CURLE_RANGE_ERROR), CE(CURLE_SSL_CONNECT_ERROR), CE(CURLE_BAD_DOWNLOAD_RESUME),
	CE(CURLE_FILE_COULDNT_READ_FILE), CE(CURLE_FUNCTION_NOT_FOUND),
	CE(CURLE_ABORTED_BY_CALLBACK), CE(CURLE_BAD_FUNCTION_ARGUMENT), CE(CURLE_INTERFACE_FAILED),
	CE(CURLE_TOO_MANY_REDIRECTS), CE(CURLE_UNKNOWN_OPTION), CE(CURLE_SETOPT_OPTION_SYNTAX),
	CE(CURLE_GOT_NOTHING), CE(CURLE_SSL_ENGINE_NOTFOUND), CE(CURLE_SSL_ENGINE_SETFAILED),
	CE(CURLE_SEND_ERROR), CE(CURLE_RECV_ERROR), CE(CURLE_SSL_CERTPROBLEM), CE(CURLE_SSL_CIPHER),
	CE(CURLE_PEER_FAILED_VERIFICATION), CE(CURLE_BAD_CONTENT_ENCODING),
	CE(CURLE_FILESIZE_EXCEEDED), CE(CURLE_USE_SSL_FAILED), CE(CURLE_SEND_FAIL_REWIND),
	CE(CURLE_SSL_ENGINE_INITFAILED), CE(CURLE_LOGIN_DENIED), CE(CURLE_SSL_CACERT_BADFILE),
	CE(CURLE_REMOTE_FILE_NOT_FOUND), CE(CURLE_SSL_SHUTDOWN_FAILED), CE(CURLE_AGAIN),
	CE(CURLE_SSL_CRL_BADFILE), CE(CURLE_SSL_ISSUER_ERROR), CE(CURLE_CHUNK_FAILED),
	CE(CURLE_NO_CONNECTION_AVAILABLE), CE(CURLE_SSL_PINNEDPUBKEYNOTMATCH),
	CE(CURLE_SSL_INVALIDCERTSTATUS), CE(CURLE_HTTP2_STREAM), CE(CURLE_RECURSIVE_API_CALL),
	CE(CURLE_AUTH_ERROR), CE(CURLE_HTTP3), CE(CURLE_QUIC_CONNECT_ERROR), CE(CURLE_PROXY),
	CE(CURLE_SSL_CLIENTCERT), CE(CURLE_UNRECOVERABLE_POLL),
};
#undef CE

static const char *curle_name(CURLcode rc)
{
	size_t i = (size_t)rc;

	if (i < sizeof(curle_names) / sizeof(curle_names[0]) && curle_names[i])
		return curle_names[i];
	return "_OTHER";
}

/* The end of a transfer: what CURLINFO says, then the span ends. */
static void transfer_attrs(struct rt_span *sp, const struct cu_api *api, CURL *h, CURLcode rc)
{
	char *method = NULL, *ip = NULL;
	long code = 0, port = 0, ver = 0, redirects = 0;
	char codebuf[24];

	if (!sp || !sp->recording || !api->curl_easy_getinfo)
		return;
	if (api->curl_easy_getinfo(h, CURLINFO_EFFECTIVE_METHOD, &method) != CURLE_OK || !method)
		method = "GET";
	if (hk_http_known_method(method)) {
		rt_span_set_name(sp, method, strlen(method));
		rt_span_set_cstr(sp, "http.request.method", method);
	} else {
		rt_span_set_name(sp, "HTTP", 4);
		rt_span_set_cstr(sp, "http.request.method", "_OTHER");
		rt_span_set_cstr(sp, "http.request.method_original", method);
	}
	if (api->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	if (code > 0)
		rt_span_set_int(sp, "http.response.status_code", code);
	if (api->curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && *ip) {
		rt_span_set_cstr(sp, "network.peer.address", ip);
		if (api->curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK &&
		    port > 0)
			rt_span_set_int(sp, "network.peer.port", port);
	}
	if (api->curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &ver) == CURLE_OK) {
		switch (ver) {
		case CURL_HTTP_VERSION_1_0: rt_span_set_cstr(sp, "network.protocol.version", "1.0"); break;
		case CURL_HTTP_VERSION_1_1: rt_span_set_cstr(sp, "network.protocol.version", "1.1"); break;
		case CURL_HTTP_VERSION_2_0: rt_span_set_cstr(sp, "network.protocol.version", "2"); break;
		case CURL_HTTP_VERSION_3: rt_span_set_cstr(sp, "network.protocol.version", "3"); break;
		default: break;
		}
	}
	if (api->curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects) == CURLE_OK &&
	    redirects > 0)
		rt_span_set_int(sp, "http.request.resend_count", redirects);
	/* CURLOPT_FAILONERROR turns a 4xx/5xx into CURLE_HTTP_RETURNED_ERROR:
	 * the status code says more, as for any other HTTP client. */
	if (rc != CURLE_OK && !(rc == CURLE_HTTP_RETURNED_ERROR && code >= 400)) {
		rt_span_set_cstr(sp, "error.type", curle_name(rc));
		rt_span_set_status(sp, RT_STATUS_ERROR, NULL);
	} else if (code >= 400) {
		snprintf(codebuf, sizeof(codebuf), "%ld", code);
		rt_span_set_cstr(sp, "error.type", codebuf);
		rt_span_set_status(sp, RT_STATUS_ERROR, NULL);
	}
}

/* ---- the header list --------------------------------------------------- */

static bool has_traceparent(const struct curl_slist *l)
{
	for (; l; l = l->next) {
		const char *s = l->data;

		if (s && strncasecmp(s, "traceparent", 11) == 0 &&
		    (s[11] == ':' || s[11] == ';' || s[11] == ' ' || s[11] == '\t'))
			return true;
	}
	return false;
}

struct list_build {
	const struct cu_api *api;
	struct curl_slist *list;
	bool failed;
};

static void add_header(void *arg, const char *key, const char *val, size_t vlen)
{
	struct list_build *b = arg;
	char line[RT_BAGGAGE_MAX + 64];
	struct curl_slist *n;
	size_t klen;

	if (b->failed)
		return;
	klen = strlen(key);
	if (klen + 2 + vlen >= sizeof(line))
		return;			/* does not fit: that header is left out */
	memcpy(line, key, klen);
	line[klen] = ':';
	line[klen + 1] = ' ';
	memcpy(line + klen + 2, val, vlen);
	line[klen + 2 + vlen] = 0;
	if (!(n = b->api->curl_slist_append(b->list, line)))
		b->failed = true;
	else
		b->list = n;
}

/* Install the application's headers plus the span's context on h. */
static void install_headers(const struct cu_api *api, CURL *h, struct cu_easy *e,
			    struct rt_span *sp)
{
	struct list_build b = {.api = api};
	struct rt_ctx ctx;

	if (!api->curl_slist_append || !api->curl_slist_free_all || !api->curl_easy_setopt ||
	    has_traceparent(e->app_headers))
		return;
	for (const struct curl_slist *l = e->app_headers; l && !b.failed; l = l->next) {
		struct curl_slist *n = api->curl_slist_append(b.list, l->data ? l->data : "");

		if (!n)
			b.failed = true;
		else
			b.list = n;
	}
	rt_span_ctx(sp, &ctx);
	rt_prop_inject(&rt_cfg.props, &ctx, rt_process_baggage(), &b, add_header);
	if (b.failed || !b.list ||
	    api->curl_easy_setopt(h, CURLOPT_HTTPHEADER, b.list) != CURLE_OK) {
		if (b.list)
			api->curl_slist_free_all(b.list);
		return;
	}
	e->ours = b.list;
}

/* Put the application's list back. */
static void restore_headers(const struct cu_api *api, CURL *h, struct cu_easy *e)
{
	if (!e->ours)
		return;
	api->curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->app_headers);
	api->curl_slist_free_all(e->ours);
	e->ours = NULL;
}

/* ---- transfers --------------------------------------------------------- */

static void transfer_end(const struct cu_api *api, CURL *h, struct cu_easy *e, CURLcode rc,
			 bool done);

/* Start the span of a transfer on h (NULL when it is not traced). */
static struct rt_span *transfer_start(const struct cu_api *api, CURL *h, struct cu_easy *e)
{
	const char *rest;
	struct rt_span *sp;
	bool tls;

	if (!e || !e->url || !url_is_http(e->url, &rest, &tls))
		return NULL;
	if (e->span)			/* a transfer we never saw end */
		transfer_end(api, h, e, CURLE_OK, false);
	sp = rt_span_start("HTTP", RT_KIND_CLIENT, NULL, 0);
	if (!sp)
		return NULL;
	if (sp->recording)
		url_attrs(sp, e->url);
	install_headers(api, h, e, sp);
	e->api = api;
	e->span = sp;
	return sp;
}

static void transfer_end(const struct cu_api *api, CURL *h, struct cu_easy *e, CURLcode rc,
			 bool done)
{
	struct rt_span *sp = e->span;

	if (!sp)
		return;
	e->span = NULL;
	resolving_del(sp);
	if (done)
		transfer_attrs(sp, api, h, rc);
	restore_headers(api, h, e);
	rt_span_end(sp, 0);
}

/* ---- hooks ------------------------------------------------------------- */

/*
 * curl_easy_setopt's third argument is a long, an object or function
 * pointer, or a curl_off_t. On x86-64 (System V) and AArch64 (AAPCS64) each
 * of these travels in the same general register as a named integer
 * argument in that position would, so the hook takes it as a named
 * intptr_t and forwards it the same way: no va_list, whose register save
 * area was half of the hook's cost (the curl command sets ~170 options per
 * transfer). Elsewhere the portable variadic form below is used.
 */
#if (defined(__x86_64__) || (defined(__aarch64__) && !defined(__APPLE__))) && !defined(CU_SETOPT_VARIADIC)
#define CU_SETOPT_NAMED 1
static_assert(sizeof(intptr_t) == sizeof(long) && sizeof(curl_off_t) == sizeof(long),
	      "setopt's argument classes");
#endif

/* CURLOPT_URL and CURLOPT_HTTPHEADER: set, and remembered on success. Out
 * of line, so that every other option is a plain tail call. */
static __attribute__((noinline)) CURLcode setopt_remember(const struct cu_api *api, CURL *h,
							  CURLoption opt, intptr_t arg)
{
	struct cu_easy *e;
	CURLcode rc;
	int err;

	if (!hk_enter(PL_FAM_CURL))
		return api->curl_easy_setopt(h, opt, arg);
	rc = api->curl_easy_setopt(h, opt, arg);
	err = errno;
	if (rc == CURLE_OK && (e = easy_get(h, true))) {
		if (opt == CURLOPT_URL) {
			free(e->url);
			e->url = arg ? strdup((const char *)arg) : NULL;
		} else {
			e->app_headers = (struct curl_slist *)arg;
		}
	}
	hk_leave(PL_FAM_CURL);
	errno = err;
	return rc;
}

/* The one argument, whatever its type. */
static inline CURLcode setopt_fwd(const struct cu_api *api, CURL *h, CURLoption opt, intptr_t arg)
{
	if (opt != CURLOPT_URL && opt != CURLOPT_HTTPHEADER)
		return api->curl_easy_setopt(h, opt, arg);
	return setopt_remember(api, h, opt, arg);
}

#ifdef CU_SETOPT_NAMED
static __attribute__((used)) CURLcode setopt_named(CURL *h, CURLoption opt, intptr_t arg)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));

	if (__builtin_expect(!api || !api->curl_easy_setopt, 0))
		return CURLE_FAILED_INIT;
	return setopt_fwd(api, h, opt, arg);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattribute-alias"
HK_EXPORT CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...) __attribute__((alias("setopt_named")));
#pragma GCC diagnostic pop
#else
HK_EXPORT CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	va_list ap;
	intptr_t arg;

	if (!api || !api->curl_easy_setopt)
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB) {
		curl_off_t o = va_arg(ap, curl_off_t);

		va_end(ap);
		return api->curl_easy_setopt(h, opt, o);
	}
	if (opt < CURLOPTTYPE_OBJECTPOINT) {
		long l = va_arg(ap, long);

		va_end(ap);
		return api->curl_easy_setopt(h, opt, l);
	}
	arg = (intptr_t)va_arg(ap, void *);
	va_end(ap);
	return setopt_fwd(api, h, opt, arg);
}
#endif

HK_EXPORT CURLcode curl_easy_perform(CURL *h)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	struct rt_span *sp;
	struct cu_easy *e;
	struct rt_ctx ctx;
	CURLcode rc;
	int err;

	if (!api || !api->curl_easy_perform)
		return CURLE_FAILED_INIT;
	if (!h || !hk_enter(PL_FAM_CURL))
		return api->curl_easy_perform(h);
	e = easy_get(h, false);
	sp = transfer_start(api, h, e);
	if (sp) {
		rt_span_ctx(sp, &ctx);
		rt_ctx_push(&ctx);
	}
	rc = api->curl_easy_perform(h);
	err = errno;
	if (sp) {
		rt_ctx_pop(sp->span_id);
		transfer_end(api, h, e, rc, true);
	}
	hk_leave(PL_FAM_CURL);
	errno = err;
	return rc;
}

HK_EXPORT void curl_easy_reset(CURL *h)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	struct cu_easy *e;

	if (!api || !api->curl_easy_reset)
		return;
	if (!h || !hk_enter(PL_FAM_CURL)) {
		api->curl_easy_reset(h);
		return;
	}
	e = easy_get(h, false);
	if (e)
		transfer_end(api, h, e, CURLE_OK, false);
	api->curl_easy_reset(h);
	if (e) {
		free(e->url);
		e->url = NULL;
		e->app_headers = NULL;
	}
	hk_leave(PL_FAM_CURL);
}

HK_EXPORT CURL *curl_easy_duphandle(CURL *h)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	struct cu_easy *e, *d;
	CURL *n;
	int err;

	if (!api || !api->curl_easy_duphandle)
		return NULL;
	if (!h || !hk_enter(PL_FAM_CURL))
		return api->curl_easy_duphandle(h);
	n = api->curl_easy_duphandle(h);
	err = errno;
	e = easy_get(h, false);
	if (n && e && (d = easy_get(n, true))) {
		free(d->url);
		d->url = e->url ? strdup(e->url) : NULL;
		d->app_headers = e->app_headers;
		/* Duplicated during our transfer: the copy got our list. */
		if (e->ours && api->curl_easy_setopt)
			api->curl_easy_setopt(n, CURLOPT_HTTPHEADER, e->app_headers);
	}
	hk_leave(PL_FAM_CURL);
	errno = err;
	return n;
}

HK_EXPORT void curl_easy_cleanup(CURL *h)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	struct cu_easy *e;
	int err;

	if (!api || !api->curl_easy_cleanup)
		return;
	if (!h || !hk_enter(PL_FAM_CURL)) {
		api->curl_easy_cleanup(h);
		return;
	}
	e = hk_ptab_take(&cu_tab, h);
	if (e && e->span) {
		resolving_del(e->span);
		rt_span_end(e->span, 0);
		e->span = NULL;
	}
	api->curl_easy_cleanup(h);
	err = errno;
	if (e) {
		/* Our list is freed only now: the handle used it until here. */
		if (e->ours && api->curl_slist_free_all)
			api->curl_slist_free_all(e->ours);
		free(e->url);
		free(e);
	}
	hk_leave(PL_FAM_CURL);
	errno = err;
}

HK_EXPORT CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	struct rt_span *sp;
	struct cu_easy *e;
	CURLMcode rc;
	int err;

	if (!api || !api->curl_multi_add_handle)
		return CURLM_INTERNAL_ERROR;
	if (!h || !hk_enter(PL_FAM_CURL))
		return api->curl_multi_add_handle(m, h);
	e = easy_get(h, false);
	sp = transfer_start(api, h, e);
	rc = api->curl_multi_add_handle(m, h);
	err = errno;
	if (sp && rc != CURLM_OK) {
		e->span = NULL;
		resolving_del(sp);
		restore_headers(api, h, e);
		rt_span_discard(sp);
	}
	hk_leave(PL_FAM_CURL);
	errno = err;
	return rc;
}

HK_EXPORT CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	struct cu_easy *e;
	CURLMcode rc;
	int err;

	if (!api || !api->curl_multi_remove_handle)
		return CURLM_INTERNAL_ERROR;
	if (!h || !hk_enter(PL_FAM_CURL))
		return api->curl_multi_remove_handle(m, h);
	rc = api->curl_multi_remove_handle(m, h);
	err = errno;
	/* Removed before it was done: the transfer was abandoned. */
	if ((e = easy_get(h, false)) && e->span)
		transfer_end(api, h, e, CURLE_OK, false);
	hk_leave(PL_FAM_CURL);
	errno = err;
	return rc;
}

HK_EXPORT CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	struct cu_easy *e;
	CURLMsg *msg;
	int err;

	if (!api || !api->curl_multi_info_read)
		return NULL;
	if (!hk_enter(PL_FAM_CURL))
		return api->curl_multi_info_read(m, left);
	msg = api->curl_multi_info_read(m, left);
	err = errno;
	if (msg && msg->msg == CURLMSG_DONE && (e = easy_get(msg->easy_handle, false)) && e->span)
		transfer_end(api, msg->easy_handle, e, msg->data.result, true);
	hk_leave(PL_FAM_CURL);
	errno = err;
	return msg;
}

HK_EXPORT CURLMcode curl_multi_perform(CURLM *m, int *running)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	CURLMcode rc;

	if (!api || !api->curl_multi_perform)
		return CURLM_INTERNAL_ERROR;
	if (!hk_enter(PL_FAM_CURL))
		return api->curl_multi_perform(m, running);
	rc = api->curl_multi_perform(m, running);
	hk_leave(PL_FAM_CURL);
	return rc;
}

HK_EXPORT CURLMcode curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev, int *running)
{
	const struct cu_api *api = api_for(__builtin_return_address(0));
	CURLMcode rc;

	if (!api || !api->curl_multi_socket_action)
		return CURLM_INTERNAL_ERROR;
	if (!hk_enter(PL_FAM_CURL))
		return api->curl_multi_socket_action(m, s, ev, running);
	rc = api->curl_multi_socket_action(m, s, ev, running);
	hk_leave(PL_FAM_CURL);
	return rc;
}
