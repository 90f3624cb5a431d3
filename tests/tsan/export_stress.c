/*
 * export_stress.c - the exporter thread under ThreadSanitizer.
 *
 * Producers start and end spans (with attributes, a child each) on several
 * threads; the first push starts the exporter thread (rt_queue_set_starter,
 * as preload/init.c wires it), which batches them to the exporter under
 * test. Meanwhile other threads ask for flushes, as exec and exit do, with
 * deadlines short and long. At the end a last flush must leave nothing
 * queued, every span must be counted exported or dropped (never both, never
 * twice), and TSan must see no race.
 *
 *   export_stress file FILE   the file exporter (OTLP/JSON lines, cJSON
 *                             dlopen'ed); FILE (truncated first) must hold
 *                             exactly the spans counted exported
 *   export_stress otlp        OTLP/HTTP (JSON) through libcurl (dlopen'ed)
 *                             to a receiver thread in this process, which
 *                             answers 200 to every POST: it must have
 *                             received at least every span counted exported
 *                             and at most those plus the ones given up
 *                             (a flush deadline can cut a request off after
 *                             the receiver read it)
 *
 * Prints "not ok - ..." for each failed check and ends with "N passed, N
 * failed".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../export/export.h"
#include "../../runtime/config.h"
#include "../../runtime/context.h"
#include "../../runtime/queue.h"
#include "../../runtime/runtime.h"
#include "../../runtime/span.h"

#define PRODUCERS 4
#define PER_PRODUCER 3000
#define FLUSHERS 2
#define FLUSHES 40

static const char *file_path;		/* file mode */
static char endpoint[64];		/* otlp mode: the receiver's URL */
static int producers_done;
static unsigned pass, fail;

static const char *env(const char *n)
{
	if (strcmp(n, "OTEL_TRACES_EXPORTER") == 0)
		return file_path ? "file" : "otlp";
	if (strcmp(n, "OTELPRELOAD_FILE") == 0)
		return file_path;
	if (strcmp(n, "OTEL_EXPORTER_OTLP_ENDPOINT") == 0)
		return file_path ? NULL : endpoint;
	if (strcmp(n, "OTEL_EXPORTER_OTLP_PROTOCOL") == 0)
		return "http/json";
	if (strcmp(n, "OTEL_SERVICE_NAME") == 0)
		return "export-stress";
	if (strcmp(n, "OTEL_BSP_SCHEDULE_DELAY") == 0)
		return "5";
	if (strcmp(n, "OTEL_BSP_MAX_QUEUE_SIZE") == 0)
		return "512";
	if (strcmp(n, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE") == 0)
		return "64";
	return NULL;
}

static void check(int ok, const char *what, unsigned long long a, unsigned long long b)
{
	if (ok) {
		pass++;
		return;
	}
	fail++;
	printf("not ok - %s (%llu, %llu)\n", what, a, b);
}

static void *producer(void *arg)
{
	long id = (long)arg;
	struct rt_ctx c;

	for (int i = 0; i < PER_PRODUCER; i++) {
		struct rt_span *sp = rt_span_start("GET", RT_KIND_SERVER, NULL, 0);
		struct rt_span *ch;

		rt_span_set_int(sp, "producer", id);
		rt_span_set_cstr(sp, "url.path", "/stress/path");
		rt_span_ctx(sp, &c);
		rt_ctx_push(&c);
		ch = rt_span_start("connect", RT_KIND_CLIENT, NULL, 0);
		rt_span_set_int(ch, "i", i);
		rt_span_end(ch, 0);
		rt_ctx_pop(c.span_id);
		rt_span_end(sp, 0);
		/* An application is not a tight loop: let the exporter keep up
		 * (bounded; spans dropped on a full queue are counted anyway). */
		for (int k = 0; k < 200 && rt_queue_len() > 384; k++)
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
	__atomic_fetch_add(&producers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* exec and exit flush from application threads, concurrently with the
 * producers and with each other; some deadlines are already near. */
static void *flusher(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < FLUSHES; i++) {
		uint64_t ms = (uint64_t)((i + id) % 4 == 0 ? 1 : 200);

		ex_flush(rt_now_ns() + ms * 1000000ull);
		if (__atomic_load_n(&producers_done, __ATOMIC_ACQUIRE) == PRODUCERS)
			break;
	}
	return NULL;
}

/* Spans in OTLP/JSON text: one "spanId" key per span (no links here). */
static unsigned long long count_spans(const char *text)
{
	unsigned long long n = 0;

	for (const char *p = text; (p = strstr(p, "\"spanId\":\"")); p++)
		n++;
	return n;
}

static unsigned long long spans_in_file(void)
{
	FILE *f = fopen(file_path, "r");
	static char line[1 << 20];
	unsigned long long n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += count_spans(line);
	fclose(f);
	return n;
}

/* ---- otlp mode: a receiver thread, one request per connection (the
 * exporter never reuses one) ---- */

static int listen_fd;
static int receiver_stop;
static unsigned long long received_spans, received_posts;

static void serve(int fd)
{
	static char req[4 << 20];
	size_t len = 0, need = 0;
	char *body = NULL;
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: 2\r\nConnection: close\r\n\r\n{}";

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 5000) != 1)
			return;
		n = read(fd, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = 0;
		if (!body && (body = strstr(req, "\r\n\r\n"))) {
			const char *cl = strcasestr(req, "\r\ncontent-length:");

			body += 4;
			need = (size_t)(body - req) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (body && len >= need)
			break;
		if (len == sizeof(req) - 1)
			return;
	}
	received_spans += count_spans(body);
	received_posts++;
	if (write(fd, ok, sizeof(ok) - 1) < 0)
		return;
}

static void *receiver(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&receiver_stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = { listen_fd, POLLIN, 0 };
		int fd;

		if (poll(&pfd, 1, 100) != 1)
			continue;
		fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(fd);
		close(fd);
	}
	return NULL;
}

static int receiver_start(pthread_t *th)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(listen_fd, 64) || getsockname(listen_fd, (struct sockaddr *)&a, &al)) {
		perror("receiver");
		return -1;
	}
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u", ntohs(a.sin_port));
	return pthread_create(th, NULL, receiver, NULL);
}

int main(int argc, char **argv)
{
	pthread_t p[PRODUCERS], fl[FLUSHERS], recv_th;
	unsigned long long total = 2ull * PRODUCERS * PER_PRODUCER, exported, dropped, given_up;
	unsigned long long got;
	FILE *f;

	if (argc == 3 && strcmp(argv[1], "file") == 0) {
		file_path = argv[2];
		f = fopen(file_path, "w");
		if (!f) {
			perror(file_path);
			return 2;
		}
		fclose(f);
	} else if (argc == 2 && strcmp(argv[1], "otlp") == 0) {
		if (receiver_start(&recv_th))
			return 2;
	} else {
		fprintf(stderr, "usage: export_stress file FILE | export_stress otlp\n");
		return 2;
	}
	rt_config_load(&rt_cfg, env);
	rt_init(env);
	rt_queue_set_starter(ex_start);
	ex_set_hooks(NULL, NULL);
	for (long i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, (void *)i);
	for (long i = 0; i < FLUSHERS; i++)
		pthread_create(&fl[i], NULL, flusher, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (int i = 0; i < FLUSHERS; i++)
		pthread_join(fl[i], NULL);
	/* The exit flush: generous, TSan is slow. */
	ex_flush(rt_now_ns() + 20000000000ull);

	exported = __atomic_load_n(&rt_stats.exported, __ATOMIC_RELAXED);
	given_up = __atomic_load_n(&rt_stats.dropped_export, __ATOMIC_RELAXED);
	dropped = __atomic_load_n(&rt_stats.dropped_queue_full, __ATOMIC_RELAXED) +
		  __atomic_load_n(&rt_stats.dropped_pool_empty, __ATOMIC_RELAXED) + given_up;
	check(rt_queue_len() == 0, "the last flush left nothing queued", rt_queue_len(), 0);
	check(exported + dropped == total, "exported + dropped = spans ended", exported + dropped,
	      total);
	check(exported > 0, "some spans exported", exported, 0);
	if (file_path) {
		got = spans_in_file();
		check(got == exported, "spans in the file = spans counted exported", got, exported);
	} else {
		ex_shutdown(rt_now_ns() + 5000000000ull);
		__atomic_store_n(&receiver_stop, 1, __ATOMIC_RELEASE);
		pthread_join(recv_th, NULL);
		got = received_spans;
		check(got >= exported && got <= exported + given_up,
		      "spans received: at least those exported, at most those plus the ones given up",
		      got, exported);
	}
	printf("export_stress %s: %llu spans, %llu exported, %llu dropped (%llu given up); "
	       "%llu at the other end\n", file_path ? "file" : "otlp", total, exported, dropped,
	       given_up, got);
	printf("%u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}
