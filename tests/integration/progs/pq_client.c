/*
 * pq_client.c - drives every libpq entry point the libpq hooks trace, for
 * tests/integration/test_pq.sh. No tracing code: it is run with and without
 * LD_PRELOAD of the library and its stdout must be the same both ways.
 *
 * usage: pq_client all CONNINFO BAD_CONNINFO
 *        pq_client sqlcomment CONNINFO
 *
 * stdout: one line per operation, when it is done, nothing that changes
 * from run to run; the span=query lines come in the order their commands
 * were sent (the order their spans start: pq_check.py pairs them so):
 *
 *   op=<libpq call> span=<query|connect|none> tag=<name> status=<S> sqlstate=<C>
 *
 *   span    query: the contract's query span (one per command: the results
 *           were drained until PQgetResult returned NULL); connect: a
 *           pg.connect span; none: no span of its own (pipeline control,
 *           PQfinish)
 *   tag     unique per line, what the test looks up
 *   status  PQresStatus of the command's result (the first error result
 *           when there are several), CONNECTION_OK/CONNECTION_BAD for
 *           connections, NULL when libpq returned no result, ok/failed for
 *           calls that return an int
 *   sqlstate  PG_DIAG_SQLSTATE of that result, "-" when there is none
 *
 * Exit status 0 when every operation ended as expected (checked here, so a
 * run without the library validates the program); otherwise 1 and a line
 * on stderr per surprise. Literals are markers (SECRETxyz, 987654321,
 * DOLLARzz, ...): the test checks that no span carries any of them.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void line(const char *op, const char *span, const char *tag, const char *status,
		 const char *sqlstate, const char *want)
{
	printf("op=%s span=%s tag=%s status=%s sqlstate=%s\n", op, span, tag, status,
	       sqlstate ? sqlstate : "-");
	if (want && strcmp(want, status) != 0) {
		fprintf(stderr, "pq_client: %s (%s): status %s, expected %s\n", tag, op, status,
			want);
		failures++;
	}
}

static const char *state_of(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s && *s ? s : "-";
}

/* A synchronous call's result: report it and free it. */
static void sync_result(const char *op, const char *tag, PGresult *r, const char *want,
			const char *want_state)
{
	const char *st = r ? PQresStatus(PQresultStatus(r)) : "NULL";
	char state[8];

	snprintf(state, sizeof(state), "%s", state_of(r));
	line(op, "query", tag, st, state, want);
	if (want_state && strcmp(want_state, state) != 0) {
		fprintf(stderr, "pq_client: %s: sqlstate %s, expected %s\n", tag, state, want_state);
		failures++;
	}
	PQclear(r);
}

/* Wait until a result can be read without blocking: PQconsumeInput and
 * PQisBusy with poll(). 0 when the socket failed or 10 s passed. */
static int wait_readable(PGconn *c)
{
	for (int i = 0; i < 1000 && PQisBusy(c); i++) {
		struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };

		if (poll(&p, 1, 10000) <= 0)
			return 0;
		if (!PQconsumeInput(c))
			return 0;
	}
	return !PQisBusy(c);
}

/* Read one command's results until PQgetResult returns NULL; report the
 * first error result, else the last one. nonblocking: poll first. */
static void drain(PGconn *c, const char *op, const char *tag, int nonblocking, const char *want,
		  const char *want_state)
{
	char status[40] = "NULL", state[8] = "-";
	int have_error = 0;
	PGresult *r;

	for (int i = 0; i < 100; i++) {
		if (nonblocking && !wait_readable(c)) {
			fprintf(stderr, "pq_client: %s: no result in time\n", tag);
			failures++;
			break;
		}
		r = PQgetResult(c);
		if (!r)
			break;
		if (!have_error) {
			ExecStatusType s = PQresultStatus(r);

			snprintf(status, sizeof(status), "%s", PQresStatus(s));
			snprintf(state, sizeof(state), "%s", state_of(r));
			have_error = s == PGRES_FATAL_ERROR || s == PGRES_PIPELINE_ABORTED ||
				     s == PGRES_BAD_RESPONSE;
		}
		PQclear(r);
	}
	line(op, "query", tag, status, state, want);
	if (want_state && strcmp(want_state, state) != 0) {
		fprintf(stderr, "pq_client: %s: sqlstate %s, expected %s\n", tag, state, want_state);
		failures++;
	}
}

static void sent(const char *op, const char *tag, int ok)
{
	if (!ok) {
		line(op, "query", tag, "failed", NULL, "sent");
	}
}

/* A PQconnectPoll / PQresetPoll loop with poll(), started as the docs say:
 * as if the last call returned PGRES_POLLING_WRITING. */
static int poll_loop(PGconn *c, PostgresPollingStatusType (*pollfn)(PGconn *))
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	for (int i = 0; i < 10000; i++) {
		struct pollfd p;

		if (st == PGRES_POLLING_OK)
			return 1;
		if (st == PGRES_POLLING_FAILED)
			return 0;
		p.fd = PQsocket(c);
		p.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		p.revents = 0;
		if (poll(&p, 1, 10000) <= 0)
			return 0;
		st = pollfn(c);
	}
	return 0;
}

static void conn_line(const char *op, const char *tag, PGconn *c, const char *want)
{
	line(op, "connect", tag, c && PQstatus(c) == CONNECTION_OK ? "CONNECTION_OK" :
				 "CONNECTION_BAD", NULL, want);
}

static int connections(const char *conninfo)
{
	const char *kw[] = { "dbname", "application_name", NULL };
	const char *val[] = { conninfo, "pq_client", NULL };
	PGconn *c;

	c = PQconnectdbParams(kw, val, 1);
	conn_line("PQconnectdbParams", "connectdb_params", c, "CONNECTION_OK");
	PQfinish(c);

	/* dbName holding a conninfo string is expanded (libpq docs) */
	c = PQsetdbLogin(NULL, NULL, NULL, NULL, conninfo, NULL, NULL);
	conn_line("PQsetdbLogin", "setdb_login", c, "CONNECTION_OK");
	PQfinish(c);

	c = PQconnectStart(conninfo);
	if (c && PQstatus(c) != CONNECTION_BAD)
		poll_loop(c, PQconnectPoll);
	conn_line("PQconnectStart", "connect_start", c, "CONNECTION_OK");
	PQfinish(c);

	c = PQconnectStartParams(kw, val, 1);
	if (c && PQstatus(c) != CONNECTION_BAD)
		poll_loop(c, PQconnectPoll);
	conn_line("PQconnectStartParams", "connect_start_params", c, "CONNECTION_OK");
	PQfinish(c);
	return 0;
}

static void sync_ops(PGconn *c)
{
	const char *p2[] = { "1", "PARAMsecret" };
	const char *p1[] = { "2" };

	sync_result("PQexec", "drop", PQexec(c, "DROP TABLE IF EXISTS books"), "PGRES_COMMAND_OK",
		    NULL);
	sync_result("PQexec", "create",
		    PQexec(c, "CREATE TABLE books (id integer PRIMARY KEY, title text NOT NULL, "
			      "n bigint)"),
		    "PGRES_COMMAND_OK", NULL);
	sync_result("PQexec", "insert",
		    PQexec(c, "INSERT INTO books (id, title, n) VALUES (1, 'SECRETxyz', 987654321), "
			      "(2, $q$DOLLARzz$q$, 55), (3, E'ESC\\'APEDqq', 4242424242)"),
		    "PGRES_COMMAND_OK", NULL);
	sync_result("PQexec", "select",
		    PQexec(c, "SELECT id, title FROM books WHERE n = 987654321 OR title = "
			      "'SECRETxyz' ORDER BY id"),
		    "PGRES_TUPLES_OK", NULL);
	sync_result("PQexec", "syntax_error", PQexec(c, "SELEC 1"), "PGRES_FATAL_ERROR", "42601");
	/* the server's message echoes the literal: invalid input syntax for
	 * type integer: "SECRETcast" */
	sync_result("PQexec", "echo_error", PQexec(c, "SELECT 'SECRETcast'::integer"),
		    "PGRES_FATAL_ERROR", "22P02");
	sync_result("PQexec", "multi", PQexec(c, "SELECT 1; SELECT 2"), "PGRES_TUPLES_OK", NULL);
	sync_result("PQexecParams", "exec_params",
		    PQexecParams(c, "SELECT title FROM books WHERE id = $1 AND title <> $2", 2, NULL,
				 p2, NULL, NULL, 0),
		    "PGRES_TUPLES_OK", NULL);
	/* refused by libpq before anything is sent: no result, no SQLSTATE */
	sync_result("PQexecParams", "client_error",
		    PQexecParams(c, "SELECT $1", 70000, NULL, NULL, NULL, NULL, 0), "NULL", NULL);
	sync_result("PQprepare", "prepare",
		    PQprepare(c, "sel_book", "SELECT title FROM books WHERE id = $1", 1, NULL),
		    "PGRES_COMMAND_OK", NULL);
	sync_result("PQexecPrepared", "exec_prepared",
		    PQexecPrepared(c, "sel_book", 1, p1, NULL, NULL, 0), "PGRES_TUPLES_OK", NULL);
	sync_result("PQdescribePrepared", "describe_prepared", PQdescribePrepared(c, "sel_book"),
		    "PGRES_COMMAND_OK", NULL);
	/* prepared in SQL: the hooks never saw its text */
	sync_result("PQexec", "sql_prepare",
		    PQexec(c, "PREPARE sql_prep AS SELECT count(*) FROM books"), "PGRES_COMMAND_OK",
		    NULL);
	sync_result("PQexecPrepared", "exec_unknown",
		    PQexecPrepared(c, "sql_prep", 0, NULL, NULL, NULL, 0), "PGRES_TUPLES_OK", NULL);
	sync_result("PQexec", "begin", PQexec(c, "BEGIN"), "PGRES_COMMAND_OK", NULL);
	sync_result("PQexec", "declare",
		    PQexec(c, "DECLARE book_cur CURSOR FOR SELECT id, title FROM books ORDER BY id"),
		    "PGRES_COMMAND_OK", NULL);
	sync_result("PQdescribePortal", "describe_portal", PQdescribePortal(c, "book_cur"),
		    "PGRES_COMMAND_OK", NULL);
	sent("PQsendDescribePortal", "send_describe_portal", PQsendDescribePortal(c, "book_cur"));
	drain(c, "PQsendDescribePortal", "send_describe_portal", 0, "PGRES_COMMAND_OK", NULL);
	sync_result("PQexec", "close", PQexec(c, "CLOSE book_cur"), "PGRES_COMMAND_OK", NULL);
	sync_result("PQexec", "commit", PQexec(c, "COMMIT"), "PGRES_COMMAND_OK", NULL);
}

static void async_ops(PGconn *c)
{
	const char *p1[] = { "3" };
	const char *p3[] = { "4", "PARAMsecret", "77" };

	sent("PQsendQuery", "send_query",
	     PQsendQuery(c, "SELECT count(*) FROM books WHERE title <> 'SECRETxyz'"));
	drain(c, "PQsendQuery", "send_query", 1, "PGRES_TUPLES_OK", NULL);
	sent("PQsendQueryParams", "send_query_params",
	     PQsendQueryParams(c, "SELECT n FROM books WHERE id = $1", 1, NULL, p1, NULL, NULL, 0));
	drain(c, "PQsendQueryParams", "send_query_params", 1, "PGRES_TUPLES_OK", NULL);
	sent("PQsendPrepare", "send_prepare",
	     PQsendPrepare(c, "ins_book", "INSERT INTO books (id, title, n) VALUES ($1, $2, $3)", 3,
			   NULL));
	drain(c, "PQsendPrepare", "send_prepare", 0, "PGRES_COMMAND_OK", NULL);
	sent("PQsendQueryPrepared", "send_query_prepared",
	     PQsendQueryPrepared(c, "ins_book", 3, p3, NULL, NULL, 0));
	drain(c, "PQsendQueryPrepared", "send_query_prepared", 0, "PGRES_COMMAND_OK", NULL);
	sent("PQsendDescribePrepared", "send_describe_prepared",
	     PQsendDescribePrepared(c, "ins_book"));
	drain(c, "PQsendDescribePrepared", "send_describe_prepared", 1, "PGRES_COMMAND_OK", NULL);
	/* duplicate key: the error comes back on the async path */
	sent("PQsendQuery", "send_error",
	     PQsendQuery(c, "INSERT INTO books (id, title) VALUES (1, 'SECRETdup')"));
	drain(c, "PQsendQuery", "send_error", 1, "PGRES_FATAL_ERROR", "23505");
}

static void pipeline_sync_result(PGconn *c, const char *tag)
{
	PGresult *r = wait_readable(c) ? PQgetResult(c) : NULL;

	line("PQgetResult", "none", tag, r ? PQresStatus(PQresultStatus(r)) : "NULL", NULL,
	     "PGRES_PIPELINE_SYNC");
	PQclear(r);
}

/* Pipeline mode: three commands, the second fails (division by zero), the
 * third is aborted by it; one sync, then every result is read. Then a
 * command whose result comes back through PQsendFlushRequest, before the
 * next sync. */
static void pipeline(PGconn *c)
{
	const char *one[] = { "41" };
	const char *txt[] = { "PIPEPARAMzz" };
	const char *two[] = { "21" };
	int ok;

	ok = PQenterPipelineMode(c);
	line("PQenterPipelineMode", "none", "pipe_enter", ok ? "ok" : "failed", NULL, "ok");
	sent("PQsendQueryParams", "pipe_ok",
	     PQsendQueryParams(c, "SELECT $1::integer + 1", 1, NULL, one, NULL, NULL, 0));
	sent("PQsendQueryParams", "pipe_error",
	     PQsendQueryParams(c, "SELECT 1/0", 0, NULL, NULL, NULL, NULL, 0));
	sent("PQsendQueryParams", "pipe_aborted",
	     PQsendQueryParams(c, "SELECT $1::text", 1, NULL, txt, NULL, NULL, 0));
	ok = PQpipelineSync(c);
	line("PQpipelineSync", "none", "pipe_sync_sent", ok ? "ok" : "failed", NULL, "ok");
	drain(c, "PQsendQueryParams", "pipe_ok", 1, "PGRES_TUPLES_OK", NULL);
	drain(c, "PQsendQueryParams", "pipe_error", 1, "PGRES_FATAL_ERROR", "22012");
	drain(c, "PQsendQueryParams", "pipe_aborted", 1, "PGRES_PIPELINE_ABORTED", NULL);
	pipeline_sync_result(c, "pipe_sync");

	sent("PQsendQueryParams", "pipe_flushed",
	     PQsendQueryParams(c, "SELECT $1::integer * 2", 1, NULL, two, NULL, NULL, 0));
	ok = PQsendFlushRequest(c) && PQflush(c) == 0;
	line("PQsendFlushRequest", "none", "pipe_flush", ok ? "ok" : "failed", NULL, "ok");
	/* the flush request makes the server send the result now, no sync */
	drain(c, "PQsendQueryParams", "pipe_flushed", 1, "PGRES_TUPLES_OK", NULL);
	ok = PQpipelineSync(c);
	line("PQpipelineSync", "none", "pipe_sync2_sent", ok ? "ok" : "failed", NULL, "ok");
	pipeline_sync_result(c, "pipe_sync2");
	ok = PQexitPipelineMode(c);
	line("PQexitPipelineMode", "none", "pipe_exit", ok ? "ok" : "failed", NULL, "ok");
}

static int all(const char *conninfo, const char *bad)
{
	char nodb[1024];
	PGconn *c;
	int ok;

	c = PQconnectdb(conninfo);
	conn_line("PQconnectdb", "connectdb", c, "CONNECTION_OK");
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pq_client: %s", PQerrorMessage(c));
		return 1;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	connections(conninfo);
	sync_ops(c);
	async_ops(c);
	pipeline(c);

	PQreset(c);
	conn_line("PQreset", "reset", c, "CONNECTION_OK");
	ok = PQresetStart(c) && poll_loop(c, PQresetPoll);
	(void)ok;
	conn_line("PQresetStart", "reset_start", c, "CONNECTION_OK");
	sync_result("PQexec", "after_reset", PQexec(c, "SELECT count(*) FROM books"),
		    "PGRES_TUPLES_OK", NULL);
	PQfinish(c);
	line("PQfinish", "none", "finish", "ok", NULL, NULL);

	c = PQconnectdb(bad);
	conn_line("PQconnectdb", "connect_fail", c, "CONNECTION_BAD");
	PQfinish(c);

	/* refused by the server: FATAL database "no_such_db" does not exist
	 * (a later keyword in a conninfo string wins) */
	snprintf(nodb, sizeof(nodb), "%s dbname=no_such_db", conninfo);
	c = PQconnectdb(nodb);
	conn_line("PQconnectdb", "connect_fail_db", c, "CONNECTION_BAD");
	PQfinish(c);
	return failures ? 1 : 0;
}

/* Statements whose server-side log lines test_pq.sh reads (sqlcommenter). */
static int sqlcomment(const char *conninfo)
{
	const char *p1[] = { "102" };
	PGconn *c = PQconnectdb(conninfo);

	conn_line("PQconnectdb", "connectdb", c, "CONNECTION_OK");
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pq_client: %s", PQerrorMessage(c));
		return 1;
	}
	sync_result("PQexec", "sqlc_plain", PQexec(c, "SELECT 101 AS sqlc_plain"),
		    "PGRES_TUPLES_OK", NULL);
	sync_result("PQprepare", "sqlc_prepare",
		    PQprepare(c, "sqlc_named", "SELECT $1::integer AS sqlc_named", 1, NULL),
		    "PGRES_COMMAND_OK", NULL);
	sync_result("PQexecPrepared", "sqlc_named",
		    PQexecPrepared(c, "sqlc_named", 1, p1, NULL, NULL, 0), "PGRES_TUPLES_OK", NULL);
	sync_result("PQexec", "sqlc_commented",
		    PQexec(c, "SELECT 103 AS sqlc_commented /* app comment */"), "PGRES_TUPLES_OK",
		    NULL);
	sync_result("PQexec", "sqlc_lead", PQexec(c, "/* leading */ SELECT 104 AS sqlc_lead"),
		    "PGRES_TUPLES_OK", NULL);
	PQfinish(c);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "all") == 0)
		return all(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "sqlcomment") == 0)
		return sqlcomment(argv[2]);
	fprintf(stderr, "usage: pq_client all CONNINFO BAD_CONNINFO | sqlcomment CONNINFO\n");
	return 2;
}
