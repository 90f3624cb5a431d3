/*
 * stack_client.c - a small "back end" for tests/integration/test_stack.sh:
 * database and HTTP client calls made from functions of its own, so that
 * code.stacktrace and code.function.name can be checked against names the
 * test knows. No tracing code: its stdout must be the same with and
 * without the library.
 *
 * usage: stack_client pq CONNINFO
 *          query_ok(): SELECT 1 (fast, succeeds), then
 *          load_missing_report(): SELECT from a table that does not exist
 *          (fails, SQLSTATE 42P01)
 *        stack_client http PORT
 *          fetch_slow_page(): GET /slow over a plain socket (the server
 *          answers late), then fetch_fast_page(): GET /fast
 *        stack_client curl URL
 *          curl_fetch_report(): curl_easy_perform on URL
 *
 * stdout: one line per call, nothing that changes between runs. Exit 0 when
 * every call ended as expected. The functions are noinline and use the
 * result after the call, so even the -O2 build keeps their frames (a tail
 * call would leave no frame of the caller: see the README).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

NOINLINE static int query_ok(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT 1");
	int good = PQresultStatus(r) == PGRES_TUPLES_OK;

	printf("query_ok status=%s\n", PQresStatus(PQresultStatus(r)));
	PQclear(r);
	return good;
}

NOINLINE int load_missing_report(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT total FROM no_such_report_table");
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int failed = PQresultStatus(r) == PGRES_FATAL_ERROR;

	printf("load_missing_report status=%s sqlstate=%s\n", PQresStatus(PQresultStatus(r)),
	       st ? st : "-");
	PQclear(r);
	return failed;
}

static int run_pq(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "stack_client: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	ok = query_ok(c);
	ok = load_missing_report(c) && ok;
	PQfinish(c);
	return ok ? 0 : 1;
}

/* One GET over a fresh connection: returns the status code, -1 on error. */
NOINLINE static int http_get(int port, const char *path)
{
	struct sockaddr_in a;
	char req[256], resp[4096];
	size_t got = 0;
	ssize_t n;
	int fd, code = -1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto out;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
	if (send(fd, req, (size_t)n, 0) != n)
		goto out;
	/* Connection: close: read to the end. */
	while (got < sizeof(resp) - 1 && (n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
		got += (size_t)n;
	resp[got] = 0;
	if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
		code = -1;
out:
	close(fd);
	return code;
}

NOINLINE int fetch_slow_page(int port)
{
	int code = http_get(port, "/slow");

	printf("fetch_slow_page status=%d\n", code);
	return code == 200;
}

NOINLINE int fetch_fast_page(int port)
{
	int code = http_get(port, "/fast");

	printf("fetch_fast_page status=%d\n", code);
	return code == 200;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

NOINLINE int curl_fetch_report(const char *url)
{
	CURL *h = curl_easy_init();
	long code = 0;
	CURLcode rc;

	if (!h)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	printf("curl_fetch_report rc=%d status=%ld\n", (int)rc, code);
	curl_easy_cleanup(h);
	return rc == CURLE_OK;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "pq") == 0)
		return run_pq(argv[2]);
	if (argc == 3 && strcmp(argv[1], "http") == 0) {
		int port = atoi(argv[2]), ok;

		ok = fetch_slow_page(port);
		ok = fetch_fast_page(port) && ok;
		return ok ? 0 : 1;
	}
	if (argc == 3 && strcmp(argv[1], "curl") == 0)
		return curl_fetch_report(argv[2]) ? 0 : 1;
	fprintf(stderr, "usage: stack_client pq CONNINFO | http PORT | curl URL\n");
	return 2;
}
