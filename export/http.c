/*
 * http.c - POST over libcurl with the OTLP retry policy (see http.h).
 *
 * DESIGN: each attempt runs a fresh easy handle through a fresh multi
 * handle, stepped with curl_multi_wait in steps of at most 50 ms, so an exit
 * flush can cut a hung request off at its deadline; both are cleaned up
 * after the attempt, so between exports the exporter holds no fd at all.
 * The application may close or dup2 over any fd at any time (daemons do).
 * Normally that cannot touch ours: the exporter thread has an fd table of
 * its own (exporter.c). Where it shares the program's, connections are
 * never kept alive (CURLOPT_FORBID_REUSE), our sockets are created
 * close-on-exec, curl_multi_wait never reads the multi's wake-up pair
 * (curl_multi_poll would, and the app may own that number by now), a
 * socket is closed only if it is still the one we opened, and before every
 * libcurl step all sockets of the attempt are checked to be still ours
 * (runtime/exfd.h): if the program closed one, the attempt is abandoned
 * without another read or write on it (and with TLS, whose shutdown would
 * read and write, without touching its handles again: they are leaked).
 *
 * Every libcurl call runs under ex_curl_lock: a fork (ex_fork_prepare)
 * waits for the current step rather than leave libcurl or OpenSSL locked
 * in the child, and the exit path (ex_http_shutdown) stops the exporter
 * from calling into libcurl again before OpenSSL's own cleanup runs. The collector's host name is
 * resolved here, on the exporter thread, and handed to curl with
 * CURLOPT_RESOLVE, so curl's resolver threads never call getaddrinfo (the
 * hooks could not tell those calls from the application's). Proxies from
 * the environment are not used for the same reason.
 *
 * THREADS: exporter thread only.
 */
#include "http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../runtime/exfd.h"
#include "../runtime/kvlist.h"
#include "../runtime/log.h"
#include "../runtime/resource.h"
#include "../runtime/runtime.h"
#include "cjson_dl.h"
#include "curl_dl.h"
#include "internal.h"
#include "otlp_response.h"

#define RESP_MAX 65536
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define MAX_ATTEMPTS 8

struct resp {
	char body[RESP_MAX];
	size_t len;
	long retry_after_ms;		/* -1 when absent */
};

static pthread_mutex_t curl_lock = PTHREAD_MUTEX_INITIALIZER;
static int lock_waiters;		/* threads waiting for curl_lock */
static bool curl_dead;			/* exit: never call libcurl again */

/* The socket of the current attempt, to close only if it is still ours. */
static struct {
	int fd;
	dev_t dev;
	ino_t ino;
} sock = { -1, 0, 0 };

/* The collector's addresses for CURLOPT_RESOLVE, refreshed every 30 s. */
static struct {
	char url[1024];
	char entry[1024];		/* "host:port:addr,addr" or "" */
	uint64_t at_ns;
} dns;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n, room = RESP_MAX - r->len;

	memcpy(r->body + r->len, p, len < room ? len : room);
	r->len += len < room ? len : room;
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	char v[128];
	time_t t;

	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		size_t vl = len - 12;
		const char *s = p + 12;

		while (vl && (*s == ' ' || *s == '\t'))
			s++, vl--;
		while (vl && (s[vl - 1] == '\r' || s[vl - 1] == '\n' || s[vl - 1] == ' '))
			vl--;
		if (vl >= sizeof(v))
			return len;
		memcpy(v, s, vl);
		v[vl] = 0;
		/* Clamped to an hour: the export deadline bounds it anyway. */
		if (vl && strspn(v, "0123456789") == vl) {
			r->retry_after_ms = vl > 4 ? 3600000L : atol(v) * 1000L;
		} else if ((t = ex_curl.getdate(v, NULL)) > 0) {
			long d = (long)(t - time(NULL));

			r->retry_after_ms = d <= 0 ? 0 : d > 3600 ? 3600000L : d * 1000L;
		}
		if (r->retry_after_ms > 3600000L)
			r->retry_after_ms = 3600000L;
	}
	return len;
}

/* Fill dns.entry for url. False when the host does not resolve. */
static bool resolve(const char *url)
{
	char *host = NULL, *port = NULL;
	struct addrinfo hints, *res = NULL, *ai;
	unsigned char tmp[16];
	CURLU *u;
	bool ok = false;
	size_t off;
	uint64_t now = rt_now_ns();

	if (strcmp(dns.url, url) == 0 && now - dns.at_ns < 30000000000ull)
		return true;
	dns.entry[0] = 0;
	u = ex_curl.url();
	if (!u)
		return true;
	if (ex_curl.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    ex_curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    ex_curl.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		ok = true;		/* let curl report the malformed URL */
		goto out;
	}
	if (host[0] == '[' || inet_pton(AF_INET, host, tmp) == 1) {
		ok = true;		/* an address: nothing to resolve */
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	/* The exporter thread: this lookup passes through the hooks. */
	if (getaddrinfo(host, port, &hints, &res) != 0)
		goto out;
	off = (size_t)snprintf(dns.entry, sizeof(dns.entry), "%s:%s:", host, port);
	for (ai = res; ai && off < sizeof(dns.entry) - 48; ai = ai->ai_next) {
		char a[INET6_ADDRSTRLEN];
		const void *p = ai->ai_family == AF_INET
			? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (!inet_ntop(ai->ai_family, p, a, sizeof(a)) || strstr(dns.entry + off - 1, a))
			continue;
		off += (size_t)snprintf(dns.entry + off, sizeof(dns.entry) - off, "%s%s%s%s",
					dns.entry[off - 1] == ':' ? "" : ",",
					ai->ai_family == AF_INET6 ? "[" : "", a,
					ai->ai_family == AF_INET6 ? "]" : "");
	}
	freeaddrinfo(res);
	ok = true;
out:
	ex_curl.free(host);
	ex_curl.free(port);
	ex_curl.url_cleanup(u);
	if (ok) {
		snprintf(dns.url, sizeof(dns.url), "%s", url);
		dns.at_ns = now;
	} else {
		dns.url[0] = 0;		/* never reuse an entry for a failed name */
	}
	return ok;
}

struct hdr_ctx {
	struct curl_slist *list;
	bool ok;
};

static void add_header(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	struct hdr_ctx *h = arg;
	char line[4200];
	struct curl_slist *l;

	/* A decoded CR or LF would start a new request line: refuse it. */
	if (klen + vlen + 3 > sizeof(line) || memchr(key, '\r', klen) || memchr(key, '\n', klen) ||
	    memchr(val, '\r', vlen) || memchr(val, '\n', vlen) || memchr(key, ':', klen))
		return;
	snprintf(line, sizeof(line), "%.*s: %.*s", (int)klen, key, (int)vlen, val);
	l = ex_curl.slist_append(h->list, line);
	if (l)
		h->list = l;
	else
		h->ok = false;
}

static struct curl_slist *build_headers(const struct ex_http_req *r)
{
	static bool warned;
	struct hdr_ctx h = { NULL, true };
	char line[256], scratch[4096];

	snprintf(line, sizeof(line), "Content-Type: %s", r->content_type);
	h.list = ex_curl.slist_append(NULL, line);
	if (r->gzip && h.list)
		ex_curl.slist_append(h.list, "Content-Encoding: gzip");
	/* No "Expect: 100-continue" round trip for large bodies. */
	if (h.list)
		ex_curl.slist_append(h.list, "Expect:");
	if (h.list && r->headers && *r->headers &&
	    !rt_kvlist_parse(r->headers, scratch, sizeof(scratch), add_header, &h))
		rt_warn_once(&warned, "OTEL_EXPORTER_OTLP_HEADERS is malformed; ignored");
	return h.list;
}

/* Log a partial success (OTLP: 200 with rejected spans); never retried. */
static void partial_success(const struct ex_http_req *r, const struct resp *rs)
{
	static bool warned;
	long long rejected = 0;
	char msg[256] = "";

	if (r->resp == EX_RESP_OTLP_PROTO) {
		if (ex_otlp_partial_success_proto((const uint8_t *)rs->body, rs->len, &rejected,
						  msg, sizeof(msg)) != 0)
			return;
	} else if (r->resp == EX_RESP_OTLP_JSON && rs->len && ex_cjson_load()) {
		char body[RESP_MAX + 1];
		cJSON *root, *ps, *it;

		memcpy(body, rs->body, rs->len);
		body[rs->len] = 0;
		root = ex_cj.parse(body);
		ps = root ? ex_cj.get_object_item(root, "partialSuccess") : NULL;
		if (ps) {
			it = ex_cj.get_object_item(ps, "rejectedSpans");
			if (it && ex_cj.is_string(it))
				rejected = atoll(ex_cj.get_string_value(it));
			else if (it && ex_cj.is_number(it))
				rejected = (long long)ex_cj.get_number_value(it);
			it = ex_cj.get_object_item(ps, "errorMessage");
			if (it && ex_cj.is_string(it))
				snprintf(msg, sizeof(msg), "%s", ex_cj.get_string_value(it));
		}
		if (root)
			ex_cj.delete_item(root);
	}
	if (rejected > 0 || msg[0])
		rt_warn_once(&warned, "the collector rejected %lld span(s): %s", rejected, msg);
}

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct stat st;
	int fd;

	(void)arg;
	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	sock.fd = fd;
	if (fstat(fd, &st) == 0) {
		sock.dev = st.st_dev;
		sock.ino = st.st_ino;
	}
	return fd;
}

static int close_socket(void *arg, curl_socket_t fd)
{
	struct stat st;

	(void)arg;
	/* The application may have closed our fd and reused the number. */
	if (fd == sock.fd && fstat(fd, &st) == 0 && st.st_dev == sock.dev && st.st_ino == sock.ino)
		close(fd);
	if (fd == sock.fd)
		sock.fd = -1;
	return 0;
}

static void lock_curl(void)
{
	pthread_mutex_lock(&curl_lock);
}

/* Between two steps: let a waiting fork or exit take the lock first. */
static void yield_curl(void)
{
	pthread_mutex_unlock(&curl_lock);
	for (int i = 0; i < 100 && __atomic_load_n(&lock_waiters, __ATOMIC_ACQUIRE); i++)
		sched_yield();
	pthread_mutex_lock(&curl_lock);
}

static void set_options(CURL *easy, const struct ex_http_req *r, struct resp *rs, long timeout,
			struct curl_slist *hdrs, struct curl_slist *resolve_list)
{
	ex_curl.easy_setopt(easy, CURLOPT_URL, r->url);
	ex_curl.easy_setopt(easy, CURLOPT_POST, 1L);
	ex_curl.easy_setopt(easy, CURLOPT_POSTFIELDS, (const char *)r->body);
	ex_curl.easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	ex_curl.easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
	ex_curl.easy_setopt(easy, CURLOPT_USERAGENT, "otelpreload/" RT_SDK_VERSION);
	ex_curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	ex_curl.easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
	ex_curl.easy_setopt(easy, CURLOPT_PROXY, "");
	ex_curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout);
	ex_curl.easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	ex_curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	ex_curl.easy_setopt(easy, CURLOPT_WRITEDATA, rs);
	ex_curl.easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	ex_curl.easy_setopt(easy, CURLOPT_HEADERDATA, rs);
	ex_curl.easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	ex_curl.easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
	ex_curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (resolve_list)
		ex_curl.easy_setopt(easy, CURLOPT_RESOLVE, resolve_list);
	if (r->ca_file && *r->ca_file)
		ex_curl.easy_setopt(easy, CURLOPT_CAINFO, r->ca_file);
	if (r->cert_file && *r->cert_file)
		ex_curl.easy_setopt(easy, CURLOPT_SSLCERT, r->cert_file);
	if (r->key_file && *r->key_file)
		ex_curl.easy_setopt(easy, CURLOPT_SSLKEY, r->key_file);
}

/*
 * One attempt. Returns the HTTP status, 0 for a transport failure
 * (reason in err), -1 when cut off by the deadline or the exit.
 */
static long attempt(const struct ex_http_req *r, struct resp *rs, uint64_t deadline,
		    struct curl_slist *hdrs, struct curl_slist *resolve_list,
		    char *err, size_t errcap)
{
	uint64_t now = rt_now_ns();
	long timeout = (long)r->timeout_ms, status = -1;
	CURLcode cc = CURLE_OK;
	int running = 1, left;
	CURLMsg *m;
	CURL *easy;
	CURLM *multi;

	if (now >= deadline)
		return -1;
	if ((uint64_t)timeout * 1000000ull > deadline - now)
		timeout = (long)((deadline - now) / 1000000ull) + 1;
	rs->len = 0;
	rs->retry_after_ms = -1;
	lock_curl();
	if (curl_dead) {
		pthread_mutex_unlock(&curl_lock);
		return -1;
	}
	easy = ex_curl.easy_init();
	multi = ex_curl.multi_init();
	if (!easy || !multi || (set_options(easy, r, rs, timeout, hdrs, resolve_list),
				ex_curl.multi_add_handle(multi, easy) != CURLM_OK)) {
		snprintf(err, errcap, "libcurl could not be initialised");
		status = 0;
		goto out;
	}
	for (;;) {
		uint64_t cut = deadline < ex_cutoff_ns() ? deadline : ex_cutoff_ns();
		uint64_t step;

		if (!rt_exfd_intact())
			goto stolen;
		if (ex_curl.multi_perform(multi, &running) != CURLM_OK || !running)
			break;
		now = rt_now_ns();
		if (now >= cut) {
			snprintf(err, errcap, "no answer before the deadline");
			goto out;		/* status -1 */
		}
		step = (cut - now) / 1000000ull;
		ex_curl.multi_wait(multi, NULL, 0, (int)(step < 50 ? step + 1 : 50), NULL);
		yield_curl();
		if (curl_dead)
			goto dead;
	}
	status = 0;
	while ((m = ex_curl.multi_info_read(multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == easy)
			cc = m->data.result;
	if (cc != CURLE_OK) {
		snprintf(err, errcap, "%s", ex_curl.easy_strerror(cc));
	} else {
		ex_curl.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 0)
			snprintf(err, errcap, "no HTTP status");
	}
out:
	if (multi && easy)
		ex_curl.multi_remove_handle(multi, easy);
	if (multi)
		ex_curl.multi_cleanup(multi);
	if (easy)
		ex_curl.easy_cleanup(easy);
	/* Every socket of the attempt is closed now, or was taken over by the
	 * program (and then left alone): no record outlives its attempt. */
	rt_exfd_abandon();
	pthread_mutex_unlock(&curl_lock);
	return status;
dead:
	/* The process is exiting and OpenSSL may be gone: leave the handles
	 * as they are, never call libcurl again. */
	pthread_mutex_unlock(&curl_lock);
	snprintf(err, errcap, "the program exited first");
	return -1;
stolen:
	/* The program closed one of our sockets (and may own the number now).
	 * Plain HTTP: cleaning up only closes, and closes of numbers that are
	 * no longer ours are skipped. TLS would read and write at shutdown:
	 * abandon the handles. Retried with new sockets. */
	snprintf(err, errcap, "the program closed the exporter's socket");
	status = 0;
	if (strncasecmp(r->url, "https:", 6) != 0)
		goto out;
	rt_exfd_abandon();
	sock.fd = -1;
	pthread_mutex_unlock(&curl_lock);
	return status;
}

static bool retryable(long status)
{
	return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

int ex_http_post(const struct ex_http_req *r, char *err, size_t errcap)
{
	static struct resp rs;			/* exporter thread only */
	struct curl_slist *hdrs = NULL, *res_list = NULL;
	uint32_t backoff = BACKOFF_FIRST_MS;
	int rc = -1;

	err[0] = 0;
	if (!ex_curl_load()) {
		snprintf(err, errcap, "libcurl is not available");
		return -1;
	}
	if (__atomic_load_n(&curl_dead, __ATOMIC_ACQUIRE)) {
		snprintf(err, errcap, "the program exited first");
		return -1;
	}
	hdrs = build_headers(r);
	for (int i = 0; i < MAX_ATTEMPTS; i++) {
		uint64_t deadline = r->deadline_ns < ex_cutoff_ns() ? r->deadline_ns : ex_cutoff_ns();
		uint64_t now, wait_ms;
		long status;

		if (!resolve(r->url)) {
			snprintf(err, errcap, "cannot resolve the host of %s", r->url);
			status = 0;
		} else {
			if (res_list) {
				ex_curl.slist_free_all(res_list);
				res_list = NULL;
			}
			if (dns.entry[0])
				res_list = ex_curl.slist_append(NULL, dns.entry);
			status = attempt(r, &rs, deadline, hdrs, res_list, err, errcap);
		}
		if (status < 0)
			break;			/* deadline or exit */
		if (status >= 200 && status < 300) {
			partial_success(r, &rs);
			rc = 0;
			break;
		}
		if (status > 0)
			snprintf(err, errcap, "HTTP %ld", status);
		if (!retryable(status))
			break;
		/* While the process is exiting, a collector that is not there
		 * (no connection) is not waited for: a CLI tool run with no
		 * collector must not pay the exit bound every time. Throttling
		 * answers (429/503...) are still retried within the bound. */
		if (status == 0 && ex_flushing())
			break;
		/* Backoff with jitter in [0.5, 1.5) of the step; Retry-After
		 * wins when the server gave one. */
		if (rs.retry_after_ms >= 0 && status > 0) {
			wait_ms = (uint64_t)rs.retry_after_ms;
		} else {
			uint8_t rnd[8];
			uint64_t x;

			rt_new_span_id(rnd);
			memcpy(&x, rnd, sizeof(x));
			wait_ms = backoff / 2 + x % backoff;
		}
		rs.retry_after_ms = -1;
		now = rt_now_ns();
		if (now >= deadline || wait_ms >= (deadline - now) / 1000000ull)
			break;
		ex_sleep_ms((uint32_t)wait_ms);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	if (res_list)
		ex_curl.slist_free_all(res_list);
	ex_curl.slist_free_all(hdrs);
	return rc;
}

void ex_http_shutdown(uint64_t deadline_ns)
{
	struct timespec ts = { (time_t)(deadline_ns / 1000000000ull),
			       (long)(deadline_ns % 1000000000ull) };

	/* Wait (bounded) for the current libcurl step to end, then forbid the
	 * next: at exit OpenSSL's cleanup runs after us. */
	__atomic_fetch_add(&lock_waiters, 1, __ATOMIC_ACQ_REL);
	bool locked = pthread_mutex_timedlock(&curl_lock, &ts) == 0;

	__atomic_store_n(&curl_dead, true, __ATOMIC_RELEASE);
	if (locked)
		pthread_mutex_unlock(&curl_lock);
	__atomic_fetch_sub(&lock_waiters, 1, __ATOMIC_ACQ_REL);
}

void ex_http_fork_prepare(void)
{
	__atomic_fetch_add(&lock_waiters, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&curl_lock);
}

void ex_http_fork_parent(void)
{
	pthread_mutex_unlock(&curl_lock);
	__atomic_fetch_sub(&lock_waiters, 1, __ATOMIC_ACQ_REL);
}

void ex_http_fork_child(void)
{
	struct stat st;

	/* Only this thread exists now; the lock is ours. The socket of an
	 * export in flight was inherited: close it if it is still ours. */
	pthread_mutex_unlock(&curl_lock);
	lock_waiters = 0;
	rt_exfd_fork_child();
	if (sock.fd >= 0 && fstat(sock.fd, &st) == 0 && st.st_dev == sock.dev &&
	    st.st_ino == sock.ino)
		close(sock.fd);
	sock.fd = -1;
	dns.url[0] = 0;
}
