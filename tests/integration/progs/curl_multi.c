/*
 * curl_multi.c - libcurl transfers of every shape for test_curl.sh:
 *
 *   curl_multi PORT CLOSED_PORT
 *
 * PORT is the recording server (progs/curl_server.py), CLOSED_PORT a port
 * nobody listens on. In order:
 *  1 multi: 50 transfers http://127.0.0.1:PORT/multi/<i> added to one multi
 *    handle at once, driven by curl_multi_perform + curl_multi_poll (bounded:
 *    30 s), each finished one read with curl_multi_info_read, then
 *    curl_multi_remove_handle + curl_easy_cleanup
 *  2 closed: curl_easy_perform of http://127.0.0.1:CLOSED_PORT/closed
 *  3 reset: one handle, POST /reset/1 with the header "X-Reset: 1", then
 *    curl_easy_reset, then GET /reset/2 (no header of its own)
 *  4 dup: a handle configured for /dup/orig with the header "X-Dup: 1",
 *    performed; curl_easy_duphandle of it, URL set to /dup/copy, performed
 *    once
 * Prints one line per transfer, in a fixed order, with nothing that changes
 * from run to run (no time, no port): "<what> <CURLcode> <status> <bytes>".
 * Exit status 0 when everything ran as expected, 1 otherwise.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NMULTI 50

struct xfer {
	CURL *h;
	size_t bytes;
	int done;
	CURLcode rc;
	long status;
};

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	((struct xfer *)ud)->bytes += sz * n;
	return sz * n;
}

static void common(CURL *h, struct xfer *x)
{
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
}

static void show(const char *what, struct xfer *x)
{
	printf("%s %d %ld %zu\n", what, (int)x->rc, x->status, x->bytes);
}

static int easy(const char *what, CURL *h, struct xfer *x)
{
	x->rc = curl_easy_perform(h);
	x->status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
	show(what, x);
	return x->rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct xfer xs[NMULTI];
	struct xfer x = {0};
	char url[256], what[32];
	struct curl_slist *hdr;
	CURLM *m;
	CURLMsg *msg;
	CURL *h, *d;
	int running = 0, left, i, done = 0, bad = 0;
	double deadline;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PORT CLOSED_PORT\n", argv[0]);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;

	/* 1 multi */
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	for (i = 0; i < NMULTI; i++) {
		xs[i].h = curl_easy_init();
		snprintf(url, sizeof(url), "http://127.0.0.1:%s/multi/%d", argv[1], i);
		curl_easy_setopt(xs[i].h, CURLOPT_URL, url);
		curl_easy_setopt(xs[i].h, CURLOPT_PRIVATE, &xs[i]);
		common(xs[i].h, &xs[i]);
		if (curl_multi_add_handle(m, xs[i].h) != CURLM_OK)
			bad = 1;
	}
	deadline = now_s() + 30;
	do {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(m, &left))) {
			struct xfer *p = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&p);
			if (!p || p->done)
				continue;
			p->done = 1;
			p->rc = msg->data.result;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &p->status);
			curl_multi_remove_handle(m, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			p->h = NULL;
			done++;
		}
		if (done == NMULTI)
			break;
		if (curl_multi_poll(m, NULL, 0, 200, NULL) != CURLM_OK)
			break;
	} while (now_s() < deadline);
	for (i = 0; i < NMULTI; i++) {
		snprintf(what, sizeof(what), "multi/%d", i);
		if (!xs[i].done) {
			fprintf(stderr, "multi/%d did not finish\n", i);
			curl_multi_remove_handle(m, xs[i].h);
			curl_easy_cleanup(xs[i].h);
			bad = 1;
		}
		show(what, &xs[i]);
		if (xs[i].rc != CURLE_OK || xs[i].status != 200)
			bad = 1;
	}
	curl_multi_cleanup(m);

	/* 2 closed port */
	h = curl_easy_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/closed", argv[2]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	memset(&x, 0, sizeof(x));
	common(h, &x);
	if (easy("closed", h, &x) != CURLE_COULDNT_CONNECT)
		bad = 1;
	curl_easy_cleanup(h);

	/* 3 one handle, reset between two transfers */
	h = curl_easy_init();
	hdr = curl_slist_append(NULL, "X-Reset: 1");
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/reset/1", argv[1]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, "a=1");
	memset(&x, 0, sizeof(x));
	common(h, &x);
	if (easy("reset/1", h, &x) != CURLE_OK || x.status != 200)
		bad = 1;
	curl_easy_reset(h);
	curl_slist_free_all(hdr);
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/reset/2", argv[1]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	memset(&x, 0, sizeof(x));
	common(h, &x);
	if (easy("reset/2", h, &x) != CURLE_OK || x.status != 200)
		bad = 1;
	curl_easy_cleanup(h);

	/* 4 duphandle of a configured (and used) handle */
	h = curl_easy_init();
	hdr = curl_slist_append(NULL, "X-Dup: 1");
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/dup/orig", argv[1]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	memset(&x, 0, sizeof(x));
	common(h, &x);
	if (easy("dup/orig", h, &x) != CURLE_OK || x.status != 200)
		bad = 1;
	d = curl_easy_duphandle(h);
	if (!d) {
		bad = 1;
	} else {
		struct xfer y = {0};

		snprintf(url, sizeof(url), "http://127.0.0.1:%s/dup/copy", argv[1]);
		curl_easy_setopt(d, CURLOPT_URL, url);
		common(d, &y);
		if (easy("dup/copy", d, &y) != CURLE_OK || y.status != 200)
			bad = 1;
		curl_easy_cleanup(d);
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);

	curl_global_cleanup();
	return bad;
}
