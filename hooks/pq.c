/*
 * pq.c - libpq: a CLIENT span per command and per connection attempt.
 *
 * Commands. The synchronous calls (PQexec, PQexecParams, PQprepare,
 * PQexecPrepared, PQdescribePrepared, PQdescribePortal) are one span each,
 * covering the call. The asynchronous ones (PQsendQuery, PQsendQueryParams,
 * PQsendPrepare, PQsendQueryPrepared, PQsendDescribe*) push a span on a
 * per-connection FIFO; PQgetResult records errors on the span at the head
 * and ends it on the NULL that closes the command's results. That one
 * model covers pipeline mode too (FIELD-NOTES 4): each queued command's
 * results end with a NULL, PGRES_PIPELINE_SYNC carries no command (and no
 * NULL follows it), commands after an error come back
 * PGRES_PIPELINE_ABORTED. So PQpipelineSync & co. need no hook.
 *
 * Connections. PQconnectdb, PQconnectdbParams, PQsetdbLogin and PQreset
 * are one "pg.connect" span each; PQconnectStart(Params) / PQresetStart
 * start one that PQconnectPoll / PQresetPoll end on OK or FAILED. The span
 * is the thread's current context while libpq works inside those calls,
 * so the TCP connect and DNS spans are its children. Once connected, the
 * socket is taken off the HTTP watch list (never sniffed as HTTP).
 *
 * libpq calls its own exports (PQexec runs PQsendQuery and PQgetResult):
 * one depth guard for the family, only depth-0 calls are the
 * application's (FIELD-NOTES 1). These hooks skip the vfork-child check
 * (a syscall): a vfork child may only exec or _exit, never run queries.
 *
 * Attributes (semantic conventions, PostgreSQL): db.system.name,
 * db.namespace (the database name: the schema would cost a query),
 * server.address (host as given; for a Unix socket the socket file
 * <dir>/.s.PGSQL.<port>), server.port (TCP, when not 5432),
 * db.query.text (literals replaced by ? unless the statement is
 * parameterised: pq_sql.c), db.query.summary and the span name from it,
 * db.operation.name when the text is one statement. Errors:
 * db.response.status_code = SQLSTATE; class 02 and up is an error with
 * error.type = SQLSTATE; "_OTHER" when libpq failed without one;
 * "pipeline_aborted" for a command skipped after a pipeline error. The
 * status description is never the server's message: it can quote
 * literals from the query.
 *
 * The real functions: RTLD_NEXT, else the libpq.so.5 already loaded
 * RTLD_LOCAL by a plugin (psycopg2). A hook whose real function cannot be
 * found fails the way libpq fails on a NULL connection.
 *
 * THREADS: a PGconn is used by one thread at a time (libpq's rule), so a
 * connection's record is touched only by that thread; the table that maps
 * PGconn pointers to records (ptab.c) is behind a spin lock that is
 * never held across a call into libpq.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../runtime/config.h"
#include "../runtime/context.h"
#include "../runtime/propagation.h"
#include "../runtime/runtime.h"
#include "../runtime/span.h"
#include "conn.h"
#include "hook.h"
#include "pq.h"
#include "ptab.h"
#include "pq_sql.h"

#define PQ_FIFO_MAX 128		/* commands in flight per connection */
#define PQ_STMTS 32			/* remembered prepared statements per connection */
#define PQ_STMT_TEXT_MAX 2048		/* bytes of a prepared statement's text kept */
#define PQ_TEXT_MAX 2048		/* db.query.text bytes */
#define PQ_ADDR_MAX 256
#define PQ_NS_MAX 128
#define PQ_QCACHE 4			/* analysed statements remembered per connection */

/* ---- the real functions ------------------------------------------------ */

static void *pq_lookup(const char *name, void *self)
{
	void *p = pl_real_lookup(name, self), *h;

	if (!p && (h = dlopen("libpq.so.5", RTLD_NOLOAD | RTLD_LAZY))) {
		p = dlsym(h, name);
		dlclose(h);
		if (p == self)
			p = NULL;
	}
	return p;
}

static inline void *pq_get(void **slot, const char *name, void *self)
{
	void *p = __atomic_load_n(slot, __ATOMIC_RELAXED);

	if (__builtin_expect(!p, 0) && (p = pq_lookup(name, self)))
		__atomic_store_n(slot, p, __ATOMIC_RELAXED);
	return p;
}

/* Hooked functions: self is our hook. The others (PQdb, ...) must not be
 * named as values here: that would make the library need libpq. */
#define PQ_HOOKED(X)								\
	X(PQexec) X(PQexecParams) X(PQprepare) X(PQexecPrepared)		\
	X(PQdescribePrepared) X(PQdescribePortal) X(PQsendQuery)		\
	X(PQsendQueryParams) X(PQsendPrepare) X(PQsendQueryPrepared)		\
	X(PQsendDescribePrepared) X(PQsendDescribePortal) X(PQgetResult)	\
	X(PQconnectdb) X(PQconnectdbParams) X(PQsetdbLogin) X(PQconnectStart)	\
	X(PQconnectStartParams) X(PQconnectPoll) X(PQreset) X(PQresetStart)	\
	X(PQresetPoll) X(PQfinish)
#define PQ_HELPERS(X)								\
	X(PQdb) X(PQhost) X(PQport) X(PQsocket) X(PQstatus) X(PQresultStatus)	\
	X(PQresultErrorField) X(PQerrorMessage) X(PQpipelineStatus)

#define PQ_FIELD(fn) __typeof__(&fn) fn;
static struct {
	PQ_HOOKED(PQ_FIELD)
	PQ_HELPERS(PQ_FIELD)
} pq_real;

#define REAL(fn) ((__typeof__(&fn))pq_get((void **)&pq_real.fn, #fn, (void *)fn))
#define HELPER(fn) ((__typeof__(&fn))pq_get((void **)&pq_real.fn, #fn, NULL))

/* ---- per-connection records --------------------------------------------- */

struct pq_stmt {
	char *name;			/* malloc'ed; NULL when the slot is free */
	char *text;			/* malloc'ed, at most PQ_STMT_TEXT_MAX bytes */
	size_t len;
	bool params;			/* prepared with nParams > 0 */
};

/* A statement analysed before on this connection: applications repeat
 * the same few texts, and comparing is cheaper than analysing. */
struct pq_qcache {
	char *q;			/* malloc'ed copy of the statement, NUL-terminated */
	size_t qlen;
	char *text;			/* malloc'ed sanitised text (PQ_TEXT_MAX) */
	struct pq_sql m;
};

struct pq_conn {
	struct hk_pnode node;			/* key: the PGconn */
	struct rt_span *fifo[PQ_FIFO_MAX];	/* commands in flight, oldest first */
	unsigned head, count;
	struct rt_span *connect;		/* PQconnectStart/PQresetStart until polled out */
	bool attrs;				/* ns/addr/port below are filled */
	bool unix_socket;
	int port;				/* 0: none to record */
	char ns[PQ_NS_MAX];
	char addr[PQ_ADDR_MAX];
	struct pq_stmt stmts[PQ_STMTS];
	unsigned stmt_next;			/* round-robin victim when full */
	struct pq_qcache qc[PQ_QCACHE];
	unsigned qc_next;			/* round-robin victim */
};

static struct hk_ptab pq_tab;

/* The record of c; created when create is set (NULL when out of memory). */
static struct pq_conn *conn_get(const PGconn *c, bool create)
{
	return hk_ptab_get(&pq_tab, c, create ? sizeof(struct pq_conn) : 0);
}

static void conn_free(struct pq_conn *r)
{
	for (unsigned i = 0; i < PQ_STMTS; i++) {
		free(r->stmts[i].name);
		free(r->stmts[i].text);
	}
	for (unsigned i = 0; i < PQ_QCACHE; i++) {
		free(r->qc[i].q);
		free(r->qc[i].text);
	}
	free(r);
}

void hk_pq_fork_prepare(void)
{
	hk_spin_lock(&pq_tab.lock);
}

void hk_pq_fork_parent(void)
{
	hk_spin_unlock(&pq_tab.lock);
}

static void forget_in_flight(void *rec)
{
	struct pq_conn *r = rec;

	r->head = r->count = 0;
	r->connect = NULL;
}

/* The child keeps the records (its PGconn copies are the same pointers) but
 * not the spans in flight: they belong to the parent's export. */
void hk_pq_fork_child(void)
{
	hk_ptab_each_locked(&pq_tab, forget_in_flight);
	hk_spin_unlock(&pq_tab.lock);
}

/* ---- attributes -------------------------------------------------------- */

/* Fill the connection attributes (what libpq says it connected, or last
 * tried to connect, to). */
static void conn_attrs_now(struct pq_conn *r, const PGconn *c)
{
	const char *db, *host, *port;
	int p = 0;

	db = HELPER(PQdb) ? HELPER(PQdb)(c) : NULL;
	host = HELPER(PQhost) ? HELPER(PQhost)(c) : NULL;
	port = HELPER(PQport) ? HELPER(PQport)(c) : NULL;
	snprintf(r->ns, sizeof(r->ns), "%s", db ? db : "");
	if (port && *port)
		p = atoi(port);
	if (p <= 0 || p > 65535)
		p = 5432;
	r->unix_socket = host && (host[0] == '/' || host[0] == '@');
	if (r->unix_socket) {
		snprintf(r->addr, sizeof(r->addr), "%s/.s.PGSQL.%d", host, p);
		r->port = 0;
	} else {
		snprintf(r->addr, sizeof(r->addr), "%s", host ? host : "");
		r->port = p == 5432 ? 0 : p;
	}
	r->attrs = true;
}

/* Once the connection is up: then they stay as they are. */
static void conn_attrs(struct pq_conn *r, const PGconn *c)
{
	if (!r->attrs && HELPER(PQstatus) && HELPER(PQstatus)(c) == CONNECTION_OK)
		conn_attrs_now(r, c);
}

static void set_conn_attrs(struct rt_span *sp, const struct pq_conn *r)
{
	rt_span_set_cstr(sp, "db.system.name", "postgresql");
	if (!r || !r->attrs)
		return;
	if (r->ns[0])
		rt_span_set_cstr(sp, "db.namespace", r->ns);
	if (r->addr[0]) {
		rt_span_set_cstr(sp, "server.address", r->addr);
		if (r->port)
			rt_span_set_int(sp, "server.port", r->port);
	}
}

/* Keep at most max bytes of s without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

enum pq_op {
	OP_QUERY,			/* text executed */
	OP_PREPARE,			/* text prepared */
	OP_EXECUTE,			/* a prepared statement executed */
	OP_DESCRIBE,
};

/*
 * The analysis of text (pq_sql.c): from r's cache when the connection ran
 * this text before, else analysed into the caller's buffers (and cached).
 * Returns the sanitised text; *m points at its analysis.
 */
static const char *analyse(struct pq_conn *r, const char *text, size_t tlen, char *out,
			   struct pq_sql *mbuf, const struct pq_sql **m)
{
	struct pq_qcache *e;
	char *q, *t;

	for (unsigned i = 0; r && i < PQ_QCACHE; i++) {
		e = &r->qc[i];
		if (e->q && e->qlen == tlen && memcmp(e->q, text, tlen) == 0) {
			*m = &e->m;
			return e->text;
		}
	}
	pq_sql_analyse(text, tlen, out, PQ_TEXT_MAX, mbuf);
	*m = mbuf;
	if (!r || tlen > PQ_STMT_TEXT_MAX)
		return out;
	/* Remember it (best effort: no memory, no cache). */
	q = malloc(tlen + 1);
	t = malloc(mbuf->text_len + 1);
	if (!q || !t) {
		free(q);
		free(t);
		return out;
	}
	memcpy(q, text, tlen);
	q[tlen] = 0;
	memcpy(t, out, mbuf->text_len + 1);
	e = &r->qc[r->qc_next++ % PQ_QCACHE];
	free(e->q);
	free(e->text);
	e->q = q;
	e->qlen = tlen;
	e->text = t;
	e->m = *mbuf;
	return out;
}

/*
 * Start the span of one command on connection c. text: the statement (NULL
 * for describe, or an execute of a statement we did not see prepared);
 * params: the call passed parameters (then the text is kept as written).
 */
static struct rt_span *command_span(const PGconn *c, struct pq_conn *r, enum pq_op op,
				    const char *text, size_t tlen, bool params)
{
	char out[PQ_TEXT_MAX];
	char name[PQ_SQL_SUMMARY_MAX + 16];
	const struct pq_sql *m;
	struct pq_sql mbuf;
	const char *san;
	struct rt_span *sp;

	sp = rt_span_start("postgresql", RT_KIND_CLIENT, NULL, 0);
	if (!sp || !sp->recording)
		return sp;
	if (r)
		conn_attrs(r, c);
	set_conn_attrs(sp, r);
	if (op == OP_DESCRIBE) {
		rt_span_set_name(sp, "DESCRIBE", 8);
		rt_span_set_cstr(sp, "db.operation.name", "DESCRIBE");
		return sp;
	}
	if (!text) {
		rt_span_set_name(sp, "EXECUTE", 7);
		rt_span_set_cstr(sp, "db.operation.name", "EXECUTE");
		return sp;
	}
	san = analyse(r, text, tlen, out, &mbuf, &m);
	if (params || m->parameterised)
		rt_span_set_str(sp, "db.query.text", text, utf8_cut(text, tlen, PQ_TEXT_MAX - 1));
	else
		rt_span_set_str(sp, "db.query.text", san, m->text_len);
	if (op == OP_PREPARE) {
		int n = snprintf(name, sizeof(name), m->summary_len ? "PREPARE %s" : "PREPARE",
				 m->summary);

		rt_span_set_str(sp, "db.query.summary", name, (size_t)n);
		rt_span_set_name(sp, name, (size_t)n);
		rt_span_set_cstr(sp, "db.operation.name", "PREPARE");
		return sp;
	}
	if (m->summary_len) {
		rt_span_set_str(sp, "db.query.summary", m->summary, m->summary_len);
		rt_span_set_name(sp, m->summary, m->summary_len);
	} else if (m->op_len) {
		rt_span_set_name(sp, m->op, m->op_len);
	}
	if (m->op_len)
		rt_span_set_str(sp, "db.operation.name", m->op, m->op_len);
	return sp;
}

static void span_error(struct rt_span *sp, const char *type)
{
	if (rt_span_attr(sp, "error.type"))
		return;			/* the first error of a command wins */
	rt_span_set_cstr(sp, "error.type", type);
	rt_span_set_status(sp, RT_STATUS_ERROR, NULL);
}

/* Record what one result says about the command. NULL: libpq failed. */
static void note_result(struct rt_span *sp, const PGresult *res)
{
	const char *state;

	if (!sp || !sp->recording)
		return;
	if (!res) {
		span_error(sp, "_OTHER");
		return;
	}
	switch (HELPER(PQresultStatus) ? HELPER(PQresultStatus)(res) : PGRES_COMMAND_OK) {
	case PGRES_FATAL_ERROR:
	case PGRES_NONFATAL_ERROR:
	case PGRES_BAD_RESPONSE:
		state = HELPER(PQresultErrorField) ? HELPER(PQresultErrorField)(res, PG_DIAG_SQLSTATE)
						   : NULL;
		if (state && strlen(state) == 5) {
			if (!rt_span_attr(sp, "db.response.status_code"))
				rt_span_set_str(sp, "db.response.status_code", state, 5);
			/* Class 00 is success, 01 a warning. */
			if (!(state[0] == '0' && (state[1] == '0' || state[1] == '1')))
				span_error(sp, state);
		} else {
			span_error(sp, "_OTHER");
		}
		break;
	case PGRES_PIPELINE_ABORTED:
		span_error(sp, "pipeline_aborted");
		break;
	default:
		break;
	}
}

/* ---- the FIFO of commands in flight ------------------------------------- */

static void fifo_push(struct pq_conn *r, struct rt_span *sp)
{
	if (!r || r->count == PQ_FIFO_MAX) {
		rt_span_end(sp, 0);	/* cannot follow it: end it now */
		return;
	}
	r->fifo[(r->head + r->count) % PQ_FIFO_MAX] = sp;
	r->count++;
}

static struct rt_span *fifo_head(struct pq_conn *r)
{
	return r && r->count ? r->fifo[r->head] : NULL;
}

static void fifo_pop_end(struct pq_conn *r)
{
	struct rt_span *sp = r->fifo[r->head];

	r->head = (r->head + 1) % PQ_FIFO_MAX;
	r->count--;
	rt_span_end(sp, 0);
}

/* End every command in flight (the application moved on without reading
 * their last results, or the connection is going away). */
static void fifo_flush(struct pq_conn *r)
{
	while (r && r->count)
		fifo_pop_end(r);
}

static bool in_pipeline(const PGconn *c)
{
	return HELPER(PQpipelineStatus) && HELPER(PQpipelineStatus)(c) != PQ_PIPELINE_OFF;
}

/* Before a new command outside pipeline mode: libpq accepted it, so the
 * earlier ones are complete even if their final NULL was never read. */
static void before_command(const PGconn *c, struct pq_conn *r)
{
	if (r && r->count && !in_pipeline(c))
		fifo_flush(r);
}

/* ---- prepared statements ----------------------------------------------- */

static struct pq_stmt *stmt_find(struct pq_conn *r, const char *name)
{
	if (!r)
		return NULL;
	if (!name)
		name = "";
	for (unsigned i = 0; i < PQ_STMTS; i++)
		if (r->stmts[i].name && strcmp(r->stmts[i].name, name) == 0)
			return &r->stmts[i];
	return NULL;
}

static void stmt_remember(struct pq_conn *r, const char *name, const char *text, bool params)
{
	struct pq_stmt *s;
	size_t len;
	char *n, *t;

	if (!r || !text)
		return;
	if (!name)
		name = "";
	if (!(s = stmt_find(r, name))) {
		for (unsigned i = 0; i < PQ_STMTS && !s; i++)
			if (!r->stmts[i].name)
				s = &r->stmts[i];
		if (!s)
			s = &r->stmts[r->stmt_next++ % PQ_STMTS];
	}
	len = utf8_cut(text, strnlen(text, PQ_STMT_TEXT_MAX + 1), PQ_STMT_TEXT_MAX);
	n = strdup(name);
	t = malloc(len + 1);
	if (!n || !t) {
		free(n);
		free(t);
		return;
	}
	memcpy(t, text, len);
	t[len] = 0;
	free(s->name);
	free(s->text);
	s->name = n;
	s->text = t;
	s->len = len;
	s->params = params;
}

static struct rt_span *execute_span(const PGconn *c, struct pq_conn *r, const char *stmt)
{
	const struct pq_stmt *s = stmt_find(r, stmt);

	if (!s)
		return command_span(c, r, OP_EXECUTE, NULL, 0, true);
	return command_span(c, r, OP_QUERY, s->text, s->len, s->params);
}

/* ---- sqlcommenter ------------------------------------------------------- */

/* The text to send: q, or (opt-in) q with the span's traceparent appended
 * in a comment, in a buffer the caller frees. */
static const char *commented(const char *q, struct rt_span *sp, char **to_free)
{
	char tp[56];
	struct rt_ctx ctx;
	size_t len, cap;
	char *buf;

	*to_free = NULL;
	if (!rt_cfg.pg_sqlcommenter || !sp || !q)
		return q;
	rt_span_ctx(sp, &ctx);
	rt_traceparent_format(&ctx, tp);
	len = strlen(q);
	cap = len + 2 * sizeof(ctx.tracestate) * 3 + 128;
	if (!(buf = malloc(cap)))
		return q;
	if (!pq_sql_comment(q, len, tp, ctx.tracestate, buf, cap)) {
		free(buf);
		return q;
	}
	*to_free = buf;
	return buf;
}

/* ---- connection spans -------------------------------------------------- */

static struct rt_span *connect_start(void)
{
	struct rt_span *sp = rt_span_start("pg.connect", RT_KIND_CLIENT, NULL, 0);
	struct rt_ctx ctx;

	rt_span_set_cstr(sp, "db.system.name", "postgresql");
	if (sp) {
		rt_span_ctx(sp, &ctx);
		rt_ctx_push(&ctx);
	}
	return sp;
}

/* While libpq works on an asynchronous connection attempt. */
static void connect_resume(struct rt_span *sp)
{
	struct rt_ctx ctx;

	if (sp) {
		rt_span_ctx(sp, &ctx);
		rt_ctx_push(&ctx);
	}
}

static void connect_pause(struct rt_span *sp)
{
	if (sp)
		rt_ctx_pop(sp->span_id);
}

/* The socket is PostgreSQL's: stop watching it for HTTP. */
static void unwatch(const PGconn *c)
{
	int fd = HELPER(PQsocket) ? HELPER(PQsocket)(c) : -1;

	if (fd >= 0)
		hk_conn_detach(fd, NULL);
}

/* End a connection span: ok, or the attempt failed. c may be NULL. */
static void connect_end(struct rt_span *sp, const PGconn *c, bool ok)
{
	struct pq_conn *r;
	char msg[200];
	const char *e;
	size_t n;

	if (!sp)
		return;
	if (c && (r = conn_get(c, true))) {
		conn_attrs_now(r, c);
		set_conn_attrs(sp, r);
		r->attrs = ok;		/* a failed attempt's target is not cached */
	}
	if (c && ok)
		unwatch(c);
	if (!ok && sp->recording) {
		rt_span_set_cstr(sp, "error.type", "connection_failed");
		/* libpq's own words (which server, which port, refused, timed
		 * out), never the server's message (cut at its severity). */
		e = c && HELPER(PQerrorMessage) ? HELPER(PQerrorMessage)(c) : NULL;
		if (e && *e) {
			const char *srv = strstr(e, "FATAL:");

			n = strcspn(e, "\n");
			if (!srv || (size_t)(srv - e) > n)
				srv = strstr(e, "ERROR:");
			if (srv && (size_t)(srv - e) < n)
				n = (size_t)(srv - e);
			while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == ':'))
				n--;
			if (n >= sizeof(msg))
				n = sizeof(msg) - 1;
			memcpy(msg, e, n);
			msg[n] = 0;
			rt_span_set_status(sp, RT_STATUS_ERROR, msg);
		} else {
			rt_span_set_status(sp, RT_STATUS_ERROR, NULL);
		}
	}
	rt_span_end(sp, 0);
}

static bool conn_ok(const PGconn *c)
{
	return c && HELPER(PQstatus) && HELPER(PQstatus)(c) == CONNECTION_OK;
}

HK_EXPORT PGconn *PQconnectdb(const char *conninfo)
{
	struct rt_span *sp;
	PGconn *c;
	int err;

	if (!REAL(PQconnectdb))
		return NULL;
	if (!hk_enter(PL_FAM_PQ))
		return REAL(PQconnectdb)(conninfo);
	sp = connect_start();
	c = REAL(PQconnectdb)(conninfo);
	err = errno;
	connect_pause(sp);
	connect_end(sp, c, conn_ok(c));
	hk_leave(PL_FAM_PQ);
	errno = err;
	return c;
}

HK_EXPORT PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values,
				    int expand_dbname)
{
	struct rt_span *sp;
	PGconn *c;
	int err;

	if (!REAL(PQconnectdbParams))
		return NULL;
	if (!hk_enter(PL_FAM_PQ))
		return REAL(PQconnectdbParams)(keywords, values, expand_dbname);
	sp = connect_start();
	c = REAL(PQconnectdbParams)(keywords, values, expand_dbname);
	err = errno;
	connect_pause(sp);
	connect_end(sp, c, conn_ok(c));
	hk_leave(PL_FAM_PQ);
	errno = err;
	return c;
}

HK_EXPORT PGconn *PQsetdbLogin(const char *pghost, const char *pgport, const char *pgoptions,
			       const char *pgtty, const char *dbName, const char *login,
			       const char *pwd)
{
	struct rt_span *sp;
	PGconn *c;
	int err;

	if (!REAL(PQsetdbLogin))
		return NULL;
	if (!hk_enter(PL_FAM_PQ))
		return REAL(PQsetdbLogin)(pghost, pgport, pgoptions, pgtty, dbName, login, pwd);
	sp = connect_start();
	c = REAL(PQsetdbLogin)(pghost, pgport, pgoptions, pgtty, dbName, login, pwd);
	err = errno;
	connect_pause(sp);
	connect_end(sp, c, conn_ok(c));
	hk_leave(PL_FAM_PQ);
	errno = err;
	return c;
}

/* After PQconnectStart(Params) or PQresetStart: keep the span on the connection
 * until polling ends, or end it now when the start already failed. */
static void connect_started(struct rt_span *sp, const PGconn *c, bool started)
{
	struct pq_conn *r;

	connect_pause(sp);
	if (!sp)
		return;
	if (!started || !c || (HELPER(PQstatus) && HELPER(PQstatus)(c) == CONNECTION_BAD)) {
		connect_end(sp, c, false);
		return;
	}
	if (!(r = conn_get(c, true))) {
		connect_end(sp, c, conn_ok(c));
		return;
	}
	if (r->connect)
		rt_span_end(r->connect, 0);
	r->connect = sp;
}

HK_EXPORT PGconn *PQconnectStart(const char *conninfo)
{
	struct rt_span *sp;
	PGconn *c;
	int err;

	if (!REAL(PQconnectStart))
		return NULL;
	if (!hk_enter(PL_FAM_PQ))
		return REAL(PQconnectStart)(conninfo);
	sp = connect_start();
	c = REAL(PQconnectStart)(conninfo);
	err = errno;
	connect_started(sp, c, c != NULL);
	hk_leave(PL_FAM_PQ);
	errno = err;
	return c;
}

HK_EXPORT PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values,
				       int expand_dbname)
{
	struct rt_span *sp;
	PGconn *c;
	int err;

	if (!REAL(PQconnectStartParams))
		return NULL;
	if (!hk_enter(PL_FAM_PQ))
		return REAL(PQconnectStartParams)(keywords, values, expand_dbname);
	sp = connect_start();
	c = REAL(PQconnectStartParams)(keywords, values, expand_dbname);
	err = errno;
	connect_started(sp, c, c != NULL);
	hk_leave(PL_FAM_PQ);
	errno = err;
	return c;
}

static PostgresPollingStatusType poll_common(PGconn *c, bool reset)
{
	struct pq_conn *r = conn_get(c, false);
	struct rt_span *sp = r ? r->connect : NULL;
	PostgresPollingStatusType st;
	int err;

	connect_resume(sp);
	st = reset ? REAL(PQresetPoll)(c) : REAL(PQconnectPoll)(c);
	err = errno;
	connect_pause(sp);
	if (sp && (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED)) {
		r->connect = NULL;
		connect_end(sp, c, st == PGRES_POLLING_OK);
	}
	errno = err;
	return st;
}

HK_EXPORT PostgresPollingStatusType PQconnectPoll(PGconn *c)
{
	PostgresPollingStatusType st;

	if (!REAL(PQconnectPoll))
		return PGRES_POLLING_FAILED;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQconnectPoll)(c);
	st = poll_common(c, false);
	hk_leave(PL_FAM_PQ);
	return st;
}

HK_EXPORT PostgresPollingStatusType PQresetPoll(PGconn *c)
{
	PostgresPollingStatusType st;

	if (!REAL(PQresetPoll))
		return PGRES_POLLING_FAILED;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQresetPoll)(c);
	st = poll_common(c, true);
	hk_leave(PL_FAM_PQ);
	return st;
}

HK_EXPORT int PQresetStart(PGconn *c)
{
	struct rt_span *sp;
	int rc, err;

	if (!REAL(PQresetStart))
		return 0;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQresetStart)(c);
	fifo_flush(conn_get(c, false));
	sp = connect_start();
	rc = REAL(PQresetStart)(c);
	err = errno;
	connect_started(sp, c, rc != 0);
	hk_leave(PL_FAM_PQ);
	errno = err;
	return rc;
}

HK_EXPORT void PQreset(PGconn *c)
{
	struct rt_span *sp;
	int err;

	if (!REAL(PQreset))
		return;
	if (!c || !hk_enter(PL_FAM_PQ)) {
		REAL(PQreset)(c);
		return;
	}
	fifo_flush(conn_get(c, false));
	sp = connect_start();
	REAL(PQreset)(c);
	err = errno;
	connect_pause(sp);
	connect_end(sp, c, conn_ok(c));
	hk_leave(PL_FAM_PQ);
	errno = err;
}

HK_EXPORT void PQfinish(PGconn *c)
{
	struct pq_conn *r;
	int err;

	if (!REAL(PQfinish))
		return;
	if (!c || !hk_enter(PL_FAM_PQ)) {
		REAL(PQfinish)(c);
		return;
	}
	/* Forget the record first: the pointer may be reused by the next
	 * PQconnect* as soon as libpq freed it. */
	if (!(r = hk_ptab_take(&pq_tab, c))) {
		REAL(PQfinish)(c);
		hk_leave(PL_FAM_PQ);
		return;
	}
	fifo_flush(r);
	if (r->connect)
		rt_span_end(r->connect, 0);
	conn_free(r);
	REAL(PQfinish)(c);
	err = errno;
	hk_leave(PL_FAM_PQ);
	errno = err;
}

/* ---- synchronous commands ---------------------------------------------- */

/* The end of a synchronous command: record its result, end its span. */
static PGresult *sync_done(struct rt_span *sp, PGresult *res, int err)
{
	note_result(sp, res);
	rt_span_end(sp, 0);
	hk_leave(PL_FAM_PQ);
	errno = err;
	return res;
}

/* Common entry of a synchronous command at depth 0; NULL record is fine. */
static struct pq_conn *sync_begin(const PGconn *c)
{
	struct pq_conn *r = conn_get(c, true);

	before_command(c, r);
	return r;
}

HK_EXPORT PGresult *PQexec(PGconn *c, const char *query)
{
	struct pq_conn *r;
	struct rt_span *sp;
	PGresult *res;
	char *buf;
	int err;

	if (!REAL(PQexec))
		return NULL;
	if (!c || !query || !hk_enter(PL_FAM_PQ))
		return REAL(PQexec)(c, query);
	r = sync_begin(c);
	sp = command_span(c, r, OP_QUERY, query, strlen(query), false);
	res = REAL(PQexec)(c, commented(query, sp, &buf));
	err = errno;
	free(buf);
	return sync_done(sp, res, err);
}

HK_EXPORT PGresult *PQexecParams(PGconn *c, const char *command, int nParams,
				 const Oid *paramTypes, const char *const *paramValues,
				 const int *paramLengths, const int *paramFormats, int resultFormat)
{
	struct pq_conn *r;
	struct rt_span *sp;
	PGresult *res;
	char *buf;
	int err;

	if (!REAL(PQexecParams))
		return NULL;
	if (!c || !command || !hk_enter(PL_FAM_PQ))
		return REAL(PQexecParams)(c, command, nParams, paramTypes, paramValues,
					  paramLengths, paramFormats, resultFormat);
	r = sync_begin(c);
	sp = command_span(c, r, OP_QUERY, command, strlen(command), nParams > 0);
	res = REAL(PQexecParams)(c, commented(command, sp, &buf), nParams, paramTypes,
				 paramValues, paramLengths, paramFormats, resultFormat);
	err = errno;
	free(buf);
	return sync_done(sp, res, err);
}

HK_EXPORT PGresult *PQprepare(PGconn *c, const char *stmtName, const char *query, int nParams,
			      const Oid *paramTypes)
{
	struct pq_conn *r;
	struct rt_span *sp;
	PGresult *res;
	int err;

	if (!REAL(PQprepare))
		return NULL;
	if (!c || !query || !hk_enter(PL_FAM_PQ))
		return REAL(PQprepare)(c, stmtName, query, nParams, paramTypes);
	r = sync_begin(c);
	sp = command_span(c, r, OP_PREPARE, query, strlen(query), nParams > 0);
	res = REAL(PQprepare)(c, stmtName, query, nParams, paramTypes);
	err = errno;
	if (res && HELPER(PQresultStatus) && HELPER(PQresultStatus)(res) == PGRES_COMMAND_OK)
		stmt_remember(r, stmtName, query, nParams > 0);
	return sync_done(sp, res, err);
}

HK_EXPORT PGresult *PQexecPrepared(PGconn *c, const char *stmtName, int nParams,
				   const char *const *paramValues, const int *paramLengths,
				   const int *paramFormats, int resultFormat)
{
	struct pq_conn *r;
	struct rt_span *sp;
	PGresult *res;
	int err;

	if (!REAL(PQexecPrepared))
		return NULL;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQexecPrepared)(c, stmtName, nParams, paramValues, paramLengths,
					    paramFormats, resultFormat);
	r = sync_begin(c);
	sp = execute_span(c, r, stmtName);
	res = REAL(PQexecPrepared)(c, stmtName, nParams, paramValues, paramLengths, paramFormats,
				   resultFormat);
	err = errno;
	return sync_done(sp, res, err);
}

HK_EXPORT PGresult *PQdescribePrepared(PGconn *c, const char *stmt)
{
	struct pq_conn *r;
	struct rt_span *sp;
	PGresult *res;
	int err;

	if (!REAL(PQdescribePrepared))
		return NULL;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQdescribePrepared)(c, stmt);
	r = sync_begin(c);
	sp = command_span(c, r, OP_DESCRIBE, NULL, 0, false);
	res = REAL(PQdescribePrepared)(c, stmt);
	err = errno;
	return sync_done(sp, res, err);
}

HK_EXPORT PGresult *PQdescribePortal(PGconn *c, const char *portal)
{
	struct pq_conn *r;
	struct rt_span *sp;
	PGresult *res;
	int err;

	if (!REAL(PQdescribePortal))
		return NULL;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQdescribePortal)(c, portal);
	r = sync_begin(c);
	sp = command_span(c, r, OP_DESCRIBE, NULL, 0, false);
	res = REAL(PQdescribePortal)(c, portal);
	err = errno;
	return sync_done(sp, res, err);
}

/* ---- asynchronous commands --------------------------------------------- */

/* After a PQsend*: queue the span when libpq accepted the command. */
static int async_done(struct pq_conn *r, struct rt_span *sp, int ok, int err)
{
	if (ok)
		fifo_push(r, sp);
	else if (sp)
		rt_span_discard(sp);	/* nothing was sent */
	hk_leave(PL_FAM_PQ);
	errno = err;
	return ok;
}

HK_EXPORT int PQsendQuery(PGconn *c, const char *query)
{
	struct pq_conn *r;
	struct rt_span *sp;
	char *buf;
	int ok, err;

	if (!REAL(PQsendQuery))
		return 0;
	if (!c || !query || !hk_enter(PL_FAM_PQ))
		return REAL(PQsendQuery)(c, query);
	r = sync_begin(c);
	sp = command_span(c, r, OP_QUERY, query, strlen(query), false);
	ok = REAL(PQsendQuery)(c, commented(query, sp, &buf));
	err = errno;
	free(buf);
	return async_done(r, sp, ok, err);
}

HK_EXPORT int PQsendQueryParams(PGconn *c, const char *command, int nParams,
				const Oid *paramTypes, const char *const *paramValues,
				const int *paramLengths, const int *paramFormats, int resultFormat)
{
	struct pq_conn *r;
	struct rt_span *sp;
	char *buf;
	int ok, err;

	if (!REAL(PQsendQueryParams))
		return 0;
	if (!c || !command || !hk_enter(PL_FAM_PQ))
		return REAL(PQsendQueryParams)(c, command, nParams, paramTypes, paramValues,
					       paramLengths, paramFormats, resultFormat);
	r = sync_begin(c);
	sp = command_span(c, r, OP_QUERY, command, strlen(command), nParams > 0);
	ok = REAL(PQsendQueryParams)(c, commented(command, sp, &buf), nParams, paramTypes,
				     paramValues, paramLengths, paramFormats, resultFormat);
	err = errno;
	free(buf);
	return async_done(r, sp, ok, err);
}

HK_EXPORT int PQsendPrepare(PGconn *c, const char *stmtName, const char *query, int nParams,
			    const Oid *paramTypes)
{
	struct pq_conn *r;
	struct rt_span *sp;
	int ok, err;

	if (!REAL(PQsendPrepare))
		return 0;
	if (!c || !query || !hk_enter(PL_FAM_PQ))
		return REAL(PQsendPrepare)(c, stmtName, query, nParams, paramTypes);
	r = sync_begin(c);
	sp = command_span(c, r, OP_PREPARE, query, strlen(query), nParams > 0);
	ok = REAL(PQsendPrepare)(c, stmtName, query, nParams, paramTypes);
	err = errno;
	/* Remembered now: in a pipeline the execute may be queued before the
	 * prepare's result is read. */
	if (ok)
		stmt_remember(r, stmtName, query, nParams > 0);
	return async_done(r, sp, ok, err);
}

HK_EXPORT int PQsendQueryPrepared(PGconn *c, const char *stmtName, int nParams,
				  const char *const *paramValues, const int *paramLengths,
				  const int *paramFormats, int resultFormat)
{
	struct pq_conn *r;
	struct rt_span *sp;
	int ok, err;

	if (!REAL(PQsendQueryPrepared))
		return 0;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQsendQueryPrepared)(c, stmtName, nParams, paramValues, paramLengths,
						 paramFormats, resultFormat);
	r = sync_begin(c);
	sp = execute_span(c, r, stmtName);
	ok = REAL(PQsendQueryPrepared)(c, stmtName, nParams, paramValues, paramLengths,
				       paramFormats, resultFormat);
	err = errno;
	return async_done(r, sp, ok, err);
}

HK_EXPORT int PQsendDescribePrepared(PGconn *c, const char *stmt)
{
	struct pq_conn *r;
	struct rt_span *sp;
	int ok, err;

	if (!REAL(PQsendDescribePrepared))
		return 0;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQsendDescribePrepared)(c, stmt);
	r = sync_begin(c);
	sp = command_span(c, r, OP_DESCRIBE, NULL, 0, false);
	ok = REAL(PQsendDescribePrepared)(c, stmt);
	err = errno;
	return async_done(r, sp, ok, err);
}

HK_EXPORT int PQsendDescribePortal(PGconn *c, const char *portal)
{
	struct pq_conn *r;
	struct rt_span *sp;
	int ok, err;

	if (!REAL(PQsendDescribePortal))
		return 0;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQsendDescribePortal)(c, portal);
	r = sync_begin(c);
	sp = command_span(c, r, OP_DESCRIBE, NULL, 0, false);
	ok = REAL(PQsendDescribePortal)(c, portal);
	err = errno;
	return async_done(r, sp, ok, err);
}

HK_EXPORT PGresult *PQgetResult(PGconn *c)
{
	struct pq_conn *r;
	PGresult *res;
	int err;

	if (!REAL(PQgetResult))
		return NULL;
	if (!c || !hk_enter(PL_FAM_PQ))
		return REAL(PQgetResult)(c);
	res = REAL(PQgetResult)(c);
	err = errno;
	/* No record: nothing of ours in flight (and none is created here). */
	if ((r = conn_get(c, false)) && r->count) {
		if (!res)
			fifo_pop_end(r);
		else if (!HELPER(PQresultStatus) ||
			 HELPER(PQresultStatus)(res) != PGRES_PIPELINE_SYNC)
			note_result(fifo_head(r), res);
	}
	hk_leave(PL_FAM_PQ);
	errno = err;
	return res;
}
