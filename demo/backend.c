/*
 * backend.c - the back end service of `make demo`: a small HTTP/1.1 server
 * written with plain sockets that analyses a book kept in PostgreSQL (libpq)
 * and looks its edition up at an HTTPS service (libcurl).
 *
 * It contains no tracing code at all: run it with libotelpreload.so in
 * LD_PRELOAD and its requests, queries and HTTPS calls become spans.
 *
 *   GET /analysis/<id>   200  a JSON object: title, author, word counts,
 *                             the edition (from the isbn service) and how
 *                             this book's length ranks among its author's
 *   GET /health          200  "ok"
 *   anything else        404
 *
 * Errors: 404 for an unknown book, 502 when the isbn lookup fails, 500 when
 * a query fails (the reply names the function and the server's message).
 *
 * usage: backend --port-file FILE --db CONNINFO --isbn-url URL [--cainfo PEM]
 *
 * It listens on 127.0.0.1 on a port the kernel picks and writes that port
 * to FILE once it accepts connections. One connection at a time, one
 * request per connection (Connection: close), every read and write bounded
 * by a 5 s socket timeout. SIGTERM or SIGINT: it finishes the request in
 * hand, closes the database connection and returns from main, so atexit
 * handlers (the library's span flush among them) run.
 *
 * The functions that issue queries are not static: linked with -rdynamic
 * their names are in the dynamic symbol table, so a stack trace resolved
 * with dladdr() names them (the demo's failing query is in one of them).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#define HEAD_MAX 8192    /* longest request head accepted */
#define BODY_MAX 16384   /* longest response body we build */
#define EDITION_MAX 2048 /* longest isbn service reply kept */
#define WORDS_MAX 4096   /* distinct words counted per book */
#define WORD_LEN 32      /* longer words are cut */
#define IO_TIMEOUT_S 5

static volatile sig_atomic_t stop_requested;

static struct {
	const char *port_file;
	const char *conninfo;
	const char *isbn_url;
	const char *cainfo;
} cfg;

static PGconn *db;

struct book {
	char title[256];
	char author[128];
	char isbn[32];
	char *body; /* malloc'ed */
};

struct word_stats {
	long words;
	long distinct;
	char top[3][WORD_LEN]; /* most frequent words of 5 letters or more */
	long top_n[3];
};

/* A response being built: status line, then a body of at most BODY_MAX. */
struct reply {
	int status;
	size_t len;
	char body[BODY_MAX];
};

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* reply_printf: append to the body; the text is cut at BODY_MAX. */
static void reply_printf(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len >= sizeof r->body - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->body + r->len, sizeof r->body - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < sizeof r->body - r->len ? (size_t)n : sizeof r->body - r->len - 1;
}

/* reply_json_str: append S as a JSON string literal. */
static void reply_json_str(struct reply *r, const char *s)
{
	reply_printf(r, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			reply_printf(r, "\\%c", c);
		else if (c < 0x20)
			reply_printf(r, "\\u%04x", c);
		else
			reply_printf(r, "%c", c);
	}
	reply_printf(r, "\"");
}

static void reply_error(struct reply *r, int status, const char *where, const char *msg)
{
	size_t n = strlen(msg);

	r->status = status;
	r->len = 0;
	/* libpq's messages end with a newline; JSON does not need it */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	reply_printf(r, "{\"error\": ");
	reply_json_str(r, where);
	reply_printf(r, ", \"message\": \"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c == '"' || c == '\\')
			reply_printf(r, "\\%c", c);
		else if (c < 0x20)
			reply_printf(r, " ");
		else
			reply_printf(r, "%c", c);
	}
	reply_printf(r, "\"}\n");
}

/* ---- PostgreSQL --------------------------------------------------------- */

/*
 * load_book: the book with this id. 0 found, 1 no such book, -1 the query
 * failed (ERR says why).
 */
int load_book(const char *id, struct book *b, const char **err)
{
	const char *params[1] = {id};
	PGresult *res;
	int rc = 1;

	res = PQexecParams(db, "SELECT title, author, isbn, body FROM books WHERE id = $1::int",
			   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*err = PQerrorMessage(db);
		rc = -1;
	} else if (PQntuples(res) == 1) {
		snprintf(b->title, sizeof b->title, "%s", PQgetvalue(res, 0, 0));
		snprintf(b->author, sizeof b->author, "%s", PQgetvalue(res, 0, 1));
		snprintf(b->isbn, sizeof b->isbn, "%s", PQgetvalue(res, 0, 2));
		b->body = strdup(PQgetvalue(res, 0, 3));
		rc = b->body ? 0 : -1;
		if (!b->body)
			*err = "out of memory";
	}
	PQclear(res);
	return rc;
}

/*
 * rank_among_author_books: how many percent of the author's other books are
 * shorter than this one. 0 done, -1 the query failed.
 *
 * The query has a latent bug the demo is about: for an author with a single
 * book there are no other books, count(*) - 1 is 0, and PostgreSQL answers
 * "division by zero" (SQLSTATE 22012).
 */
int rank_among_author_books(const char *id, long *percent, const char **err)
{
	const char *params[1] = {id};
	PGresult *res;
	int rc = 0;

	res = PQexecParams(db,
			   "SELECT 100 * count(*) FILTER (WHERE length(b.body) < length(me.body))"
			   " / (count(*) - 1)"
			   " FROM books b JOIN books me ON me.author = b.author"
			   " WHERE me.id = $1::int",
			   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		*err = PQerrorMessage(db);
		rc = -1;
	} else {
		*percent = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	}
	PQclear(res);
	return rc;
}

/* save_analysis: remember the counts in table analyses. 0 or -1. */
int save_analysis(const char *id, const struct word_stats *ws, const char **err)
{
	char words[24], distinct[24];
	const char *params[4] = {id, words, distinct, ws->top[0]};
	PGresult *res;
	int rc = 0;

	snprintf(words, sizeof words, "%ld", ws->words);
	snprintf(distinct, sizeof distinct, "%ld", ws->distinct);
	res = PQexecParams(db,
			   "INSERT INTO analyses (book_id, words, distinct_words, top_word)"
			   " VALUES ($1::int, $2::int, $3::int, $4)"
			   " ON CONFLICT (book_id) DO UPDATE SET words = EXCLUDED.words,"
			   " distinct_words = EXCLUDED.distinct_words, top_word = EXCLUDED.top_word,"
			   " analysed_at = now()",
			   4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*err = PQerrorMessage(db);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* ---- word counting (no I/O) ---------------------------------------------- */

struct counter {
	char word[WORD_LEN];
	long n;
};

/* count_words: words (runs of letters, lowercased) in TEXT. */
static void count_words(const char *text, struct word_stats *ws)
{
	static struct counter tab[WORDS_MAX]; /* one request at a time */
	char w[WORD_LEN];

	memset(tab, 0, sizeof tab);
	memset(ws, 0, sizeof *ws);
	for (const char *p = text; *p;) {
		size_t len = 0;

		while (*p && !isalpha((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (isalpha((unsigned char)*p)) {
			if (len < WORD_LEN - 1)
				w[len++] = (char)tolower((unsigned char)*p);
			p++;
		}
		w[len] = '\0';
		ws->words++;
		/* linear probing in a table that is never full: bounded */
		unsigned h = 5381;
		for (size_t i = 0; i < len; i++)
			h = h * 33 + (unsigned char)w[i];
		for (unsigned i = 0; i < WORDS_MAX; i++) {
			struct counter *c = &tab[(h + i) % WORDS_MAX];
			if (c->n == 0) {
				if (ws->distinct >= WORDS_MAX - 1)
					break; /* table nearly full: stop counting new words */
				memcpy(c->word, w, len + 1);
				c->n = 1;
				ws->distinct++;
				break;
			}
			if (strcmp(c->word, w) == 0) {
				c->n++;
				break;
			}
		}
	}
	/* the three most frequent words of five letters or more */
	for (unsigned i = 0; i < WORDS_MAX; i++) {
		const struct counter *c = &tab[i];
		if (c->n == 0 || strlen(c->word) < 5)
			continue;
		for (int k = 0; k < 3; k++) {
			if (c->n > ws->top_n[k] ||
			    (c->n == ws->top_n[k] && strcmp(c->word, ws->top[k]) < 0)) {
				for (int j = 2; j > k; j--) {
					ws->top_n[j] = ws->top_n[j - 1];
					memcpy(ws->top[j], ws->top[j - 1], WORD_LEN);
				}
				ws->top_n[k] = c->n;
				memcpy(ws->top[k], c->word, WORD_LEN);
				break;
			}
		}
	}
}

/* ---- the isbn service, over HTTPS with libcurl --------------------------- */

struct sink {
	char buf[EDITION_MAX];
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n, room = sizeof s->buf - 1 - s->len;

	if (len > room)
		return 0; /* too long: libcurl fails the transfer (CURLE_WRITE_ERROR) */
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return len;
}

/*
 * lookup_edition: GET <isbn-url>/isbn/<isbn>. 0 with the JSON object the
 * service sent in OUT, -1 with a reason in ERR (a static buffer).
 */
static int lookup_edition(const char *isbn, struct sink *out, const char **err)
{
	static char why[CURL_ERROR_SIZE + 64];
	char url[512], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	long status = 0;
	CURLcode rc;
	CURL *h;

	h = curl_easy_init();
	if (!h) {
		*err = "curl_easy_init failed";
		return -1;
	}
	snprintf(url, sizeof url, "%s/isbn/%s", cfg.isbn_url, isbn);
	headers = curl_slist_append(headers, "Accept: application/json");
	out->len = 0;
	out->buf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)IO_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	if (cfg.cainfo)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg.cainfo);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		snprintf(why, sizeof why, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		*err = why;
		return -1;
	}
	if (status != 200 || out->buf[0] != '{') {
		snprintf(why, sizeof why, "isbn service answered %ld", status);
		*err = why;
		return -1;
	}
	while (out->len > 0 && isspace((unsigned char)out->buf[out->len - 1]))
		out->buf[--out->len] = '\0';
	return 0;
}

/* ---- requests ---------------------------------------------------------- */

/* analyse: GET /analysis/<id>, ID all digits. */
static void analyse(const char *id, struct reply *r)
{
	struct book b = {0};
	struct word_stats ws;
	struct sink edition;
	const char *err = "";
	long percent = 0;
	int rc;

	rc = load_book(id, &b, &err);
	if (rc != 0) {
		if (rc > 0)
			reply_error(r, 404, "load_book", "no such book");
		else
			reply_error(r, 500, "load_book", err);
		return;
	}
	count_words(b.body, &ws);
	if (lookup_edition(b.isbn, &edition, &err) != 0) {
		reply_error(r, 502, "lookup_edition", err);
		goto out;
	}
	if (rank_among_author_books(id, &percent, &err) != 0) {
		reply_error(r, 500, "rank_among_author_books", err);
		goto out;
	}
	if (save_analysis(id, &ws, &err) != 0) {
		reply_error(r, 500, "save_analysis", err);
		goto out;
	}
	r->status = 200;
	reply_printf(r, "{\"id\": %s, \"title\": ", id);
	reply_json_str(r, b.title);
	reply_printf(r, ", \"author\": ");
	reply_json_str(r, b.author);
	reply_printf(r, ", \"words\": %ld, \"distinct_words\": %ld, \"top_words\": [", ws.words,
		     ws.distinct);
	for (int k = 0; k < 3 && ws.top_n[k] > 0; k++) {
		reply_printf(r, "%s[", k ? ", " : "");
		reply_json_str(r, ws.top[k]);
		reply_printf(r, ", %ld]", ws.top_n[k]);
	}
	reply_printf(r, "], \"longer_than_percent_of_author\": %ld, \"edition\": %s}\n", percent,
		     edition.buf);
out:
	free(b.body);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	default: return "Unknown";
	}
}

/* write_all: the whole buffer, or -1 (timeout, peer gone). */
static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * read_head: read until the blank line that ends the request head. Returns
 * its length, or -1 (closed, timeout, longer than HEAD_MAX). Requests have
 * no body here (GET only), so nothing after the head matters.
 */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void serve(int fd)
{
	static struct reply r; /* one request at a time */
	char head[HEAD_MAX], out[256], method[8], path[256];
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	const char *id;
	int n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (read_head(fd, head, sizeof head) < 0)
		return;
	r.status = 0;
	r.len = 0;
	r.body[0] = '\0';
	if (sscanf(head, "%7s %255s HTTP/1.", method, path) != 2) {
		reply_error(&r, 400, "serve", "not an HTTP/1.x request");
	} else if (strcmp(method, "GET") != 0) {
		reply_error(&r, 405, "serve", "only GET");
	} else if (strcmp(path, "/health") == 0) {
		r.status = 200;
		reply_printf(&r, "ok\n");
	} else if (strncmp(path, "/analysis/", 10) == 0 && (id = path + 10)[0] &&
		   strlen(id) < 10 && strspn(id, "0123456789") == strlen(id)) {
		analyse(id, &r);
	} else {
		reply_error(&r, 404, "serve", "no such path");
	}
	n = snprintf(out, sizeof out,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     r.status, reason(r.status),
		     r.body[0] == '{' ? "application/json" : "text/plain", r.len);
	/* head and body in one write: the response is complete when it returns */
	if (n > 0 && (size_t)n + r.len <= sizeof head) {
		memcpy(head, out, (size_t)n);
		memcpy(head + n, r.body, r.len);
		write_all(fd, head, (size_t)n + r.len);
	} else if (n > 0 && write_all(fd, out, (size_t)n) == 0) {
		write_all(fd, r.body, r.len);
	}
}

/* ---- start-up ---------------------------------------------------------- */

static int listen_local(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* write_port_file: PORT into FILE, atomically (a reader never sees half). */
static int write_port_file(int fd)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	char tmp[4096];
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	snprintf(tmp, sizeof tmp, "%s.tmp", cfg.port_file);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", ntohs(a.sin_port));
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, cfg.port_file);
}

static void usage(void)
{
	fprintf(stderr, "usage: backend --port-file FILE --db CONNINFO --isbn-url URL"
			" [--cainfo PEM]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port-file", required_argument, NULL, 'p'},
		{"db", required_argument, NULL, 'd'},
		{"isbn-url", required_argument, NULL, 'i'},
		{"cainfo", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
	sigset_t term, unblocked;
	int opt, lfd, rc = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': cfg.port_file = optarg; break;
		case 'd': cfg.conninfo = optarg; break;
		case 'i': cfg.isbn_url = optarg; break;
		case 'c': cfg.cainfo = optarg; break;
		default: usage();
		}
	}
	if (!cfg.port_file || !cfg.conninfo || !cfg.isbn_url || optind != argc)
		usage();

	/*
	 * SIGTERM/SIGINT are blocked except while waiting in ppoll: a signal
	 * never interrupts a request, and one that arrives between two requests
	 * is seen by the next ppoll (no lost wake-up).
	 */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &unblocked);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "backend: curl_global_init failed\n");
		return 1;
	}
	db = PQconnectdb(cfg.conninfo);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "backend: database: %s", PQerrorMessage(db));
		rc = 1;
		goto out;
	}
	lfd = listen_local();
	if (lfd < 0 || write_port_file(lfd) < 0) {
		perror("backend: listen");
		rc = 1;
		goto out;
	}

	while (!stop_requested) {
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		int cfd;

		if (ppoll(&pfd, 1, NULL, &unblocked) <= 0)
			continue; /* EINTR: a signal; the loop condition decides */
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		serve(cfd);
		close(cfd);
	}
	close(lfd);
out:
	PQfinish(db);
	curl_global_cleanup();
	return rc;
}
