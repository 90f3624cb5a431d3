/*
 * http.c - HTTP/1.x spans and trace-context insertion on watched sockets.
 *
 * DESIGN
 * Outgoing bytes are parsed once, ahead of the system call (hk_http_feed on
 * the connection's outgoing parser); the parser finds where a head's blank
 * line starts, and header lines are inserted right there. The kernel may
 * accept fewer bytes than offered: "ahead" counts the bytes parsed but not
 * yet sent, which the program will offer again (a stream socket's program
 * resends the unsent remainder), so they are never parsed twice. Insertions
 * that are due but not reached carry over with their offsets; an insertion
 * the kernel cut in the middle is "owed" (its exact text is kept) and goes
 * out before any further byte of the program. The program only ever sees
 * counts of its own bytes (FIELD-NOTES section 2).
 *
 * Incoming bytes are fed to the other parser after the read returned,
 * exactly the bytes returned (MSG_PEEK reads are not fed).
 *
 * Client (we connected): a CLIENT span starts at the first byte of a
 * request head; it goes into the connection's queue when the head is
 * complete and ends when its response is complete (responses come in
 * request order). Server (we accepted): a SERVER span starts when a request
 * head has been read (its start time is when the head's first byte was
 * read), becomes the serving context of the reading thread, and ends when
 * its response has been written completely.
 *
 * THREADS: callers hold no lock; the connection lock is taken around
 * bookkeeping only, never across the system call.
 */
#include "http.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../preload/real.h"
#include "../runtime/config.h"
#include "../runtime/context.h"
#include "../runtime/propagation.h"
#include "../runtime/runtime.h"
#include "hook.h"
#include "http_attrs.h"

#define TEXT_STACK 4096			/* insertion texts rendered for one write */
#define MAX_SEGS 64			/* pieces of one rewritten write (stack) */
#define MAX_ENDS HK_PIPELINE_MAX

/* Spans whose end waits until after the system call (an insertion in the
 * same write may still need their context). */
struct ends {
	int n;
	struct {
		struct rt_span *sp;
		bool server;
	} e[MAX_ENDS];
};

/* Is the head's method m (a literal)? The method field is longer than any
 * literal here, so the compare (NUL included) is a couple of loads. */
#define METHOD_IS(h, m) (memcmp((h)->method, m, sizeof(m)) == 0)

/* ------------------------------------------------------------------ */
/* The request queue */

static struct hk_req *q_head(struct hk_conn *c)
{
	return c->qlen ? &c->q[c->qhead] : NULL;
}

static struct hk_req *q_push(struct hk_conn *c)
{
	struct hk_req *r;

	if (c->qlen >= HK_PIPELINE_MAX)
		return NULL;
	r = &c->q[(c->qhead + c->qlen) % HK_PIPELINE_MAX];
	c->qlen++;
	r->sp = NULL;
	r->head = r->connect = false;
	r->start_ns = 0;
	return r;
}

static void q_pop(struct hk_conn *c)
{
	struct hk_req *r = q_head(c);

	if (!r)
		return;
	/* Release: a thread whose serving slot points at r->seq sees the
	 * request as over. */
	__atomic_fetch_add(&r->seq, 1, __ATOMIC_RELEASE);
	r->sp = NULL;
	c->qhead = (uint8_t)((c->qhead + 1) % HK_PIPELINE_MAX);
	c->qlen--;
}

/* Forget insertions that carry sp's context (sp is ending). */
static void drop_injections(struct hk_conn *c, const struct rt_span *sp)
{
	uint8_t k = 0;

	for (uint8_t i = 0; i < c->ninject; i++)
		if (c->inject[i].sp != sp)
			c->inject[k++] = c->inject[i];
	c->ninject = k;
}

static void end_span(struct hk_conn *c, struct rt_span *sp, bool server,
		     const struct hk_http *resp, const char *error_type)
{
	if (!sp)
		return;
	drop_injections(c, sp);
	if (server)
		hk_http_server_response(sp, resp, error_type);
	else
		hk_http_client_response(sp, resp, error_type);
	rt_span_end(sp, 0);
}

/* ------------------------------------------------------------------ */
/* Starting spans */

static bool path_excluded(const struct hk_http *req)
{
	const char *list = rt_cfg.http_exclude, *t = req->target.s;
	size_t plen = strcspn(t, "?#");

	while (*list) {
		size_t n = strcspn(list, ",");
		const char *s = list;

		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n && n == plen && memcmp(s, t, n) == 0)
			return true;
		list += strcspn(list, ",");
		if (*list)
			list++;
	}
	return false;
}

/* A request head was read completely on a server connection. */
static void server_request(struct hk_conn *c)
{
	struct rt_ctx parent, ctx;
	struct hk_req *r = q_push(c);
	struct rt_span *sp = NULL;

	if (!r) {
		hk_conn_ignore(c);	/* deeper pipelining than we follow */
		return;
	}
	r->head = METHOD_IS(&c->in, "HEAD");
	r->connect = METHOD_IS(&c->in, "CONNECT");
	r->start_ns = c->in_start_ns;
	memset(&parent, 0, offsetof(struct rt_ctx, tracestate) + 1);
	/* Extraction only when the head carries a context at all. */
	if (rt_cfg.props.n && (c->in.traceparent_count || c->in.has_b3_headers))
		rt_prop_extract(&rt_cfg.props, &c->in, hk_http_get, &parent, NULL, 0);
	if (!parent.valid)
		memset(&parent, 0, offsetof(struct rt_ctx, tracestate) + 1);	/* a new trace */
	if (!rt_cfg.http_exclude[0] || !path_excluded(&c->in)) {
		sp = rt_span_start("HTTP", RT_KIND_SERVER, &parent, r->start_ns);
		if (!c->peer_ok)
			hk_conn_addrs(c);	/* once, at the first request */
		hk_http_server_attrs(sp, &c->in, &c->peer, &c->local, &c->attrs);
	}
	r->sp = sp;
	if (sp)
		rt_span_ctx(sp, &ctx);
	else
		rt_ctx_copy(&ctx, &parent);
	/* Outgoing calls this thread makes now belong to this request. */
	if (ctx.valid)
		rt_ctx_set_serving(&ctx, &r->seq, __atomic_load_n(&r->seq, __ATOMIC_RELAXED));
}

/*
 * A request head the program wrote with its own traceparent gets nothing
 * injected (plan_client_injection). When this thread had no context of its
 * own (the CLIENT span is a root: a proxy such as nginx forwarding a
 * request that reached it over TLS, where no SERVER span could be seen),
 * the span joins the trace the program propagates, as a child of the
 * context it sends, rather than starting a trace of its own that no other
 * span links to. The next hop's SERVER span is then its sibling: the
 * program named the parent, not us.
 */
static void adopt_program_context(struct hk_conn *c)
{
	struct rt_ctx ctx;

	if (!rt_cfg.props.n)
		return;
	memset(&ctx, 0, offsetof(struct rt_ctx, tracestate) + 1);
	rt_prop_extract(&rt_cfg.props, &c->out, hk_http_get, &ctx, NULL, 0);
	rt_span_adopt_parent(c->writing, &ctx);	/* nothing when ctx is invalid */
}

/* Should the head being written get trace context lines? */
static void plan_client_injection(struct hk_conn *c, uint32_t off)
{
	struct hk_inject *in;

	if (!c->writing || c->out.traceparent_count || c->out.upgrade ||
	    METHOD_IS(&c->out, "CONNECT") || !rt_cfg.props.n)
		return;
	if (c->ninject >= HK_INJECT_MAX)
		return;
	in = &c->inject[c->ninject++];
	in->off = off;
	in->sp = c->writing;
	in->traceresponse = false;
}

/* ------------------------------------------------------------------ */
/* Rendering the inserted lines */

struct text {
	char *p;
	size_t len;
	size_t cap;
	const struct hk_http *head;	/* what the program's head already has */
};

static void put_line(void *arg, const char *key, const char *val, size_t vlen)
{
	struct text *t = arg;
	size_t klen = strlen(key);

	/* The program's own headers win: never a second one of a name. */
	if ((strcmp(key, "tracestate") == 0 && t->head->tracestate_count) ||
	    (strcmp(key, "baggage") == 0 && t->head->baggage.len) ||
	    (key[0] == 'b' && key[1] == '3' && t->head->has_b3_headers) ||
	    (strncmp(key, "x-b3-", 5) == 0 && t->head->has_b3_headers))
		return;
	if (klen + vlen + 4 > t->cap - t->len)
		return;			/* does not fit: that line is left out */
	memcpy(t->p + t->len, key, klen);
	t->len += klen;
	t->p[t->len++] = ':';
	t->p[t->len++] = ' ';
	memcpy(t->p + t->len, val, vlen);
	t->len += vlen;
	t->p[t->len++] = '\r';
	t->p[t->len++] = '\n';
}

/* The lines for insertion in into out (cap bytes); returns their length. */
static size_t render(const struct hk_conn *c, const struct hk_inject *in, char *out, size_t cap)
{
	struct text t = { out, 0, cap < HK_INJECT_TEXT_MAX ? cap : HK_INJECT_TEXT_MAX, &c->out };
	struct rt_ctx ctx;

	rt_span_ctx(in->sp, &ctx);
	if (in->traceresponse) {
		char tp[56];

		rt_traceparent_format(&ctx, tp);
		put_line(&t, "traceresponse", tp, 55);
		return t.len;
	}
	rt_prop_inject(&rt_cfg.props, &ctx, rt_process_baggage(), &t, put_line);
	return t.len;
}

/* ------------------------------------------------------------------ */
/* Parsing outgoing bytes */

static void out_event(struct hk_conn *c, enum hk_http_event ev, uint32_t off, struct ends *ends)
{
	struct hk_req *r;

	if (c->role == HK_ROLE_CLIENT) {
		switch (ev) {
		case HK_EV_HEAD_START:
			c->writing = rt_span_start("HTTP", RT_KIND_CLIENT, NULL, 0);
			break;
		case HK_EV_BLANK_LINE:
			plan_client_injection(c, off);
			break;
		case HK_EV_HEAD_DONE:
			r = q_push(c);
			if (!r) {
				end_span(c, c->writing, false, NULL, "pipeline_overflow");
				c->writing = NULL;
				hk_conn_ignore(c);
				break;
			}
			if (c->out.traceparent_count == 1 && c->writing && !c->writing->has_parent)
				adopt_program_context(c);
			if (!c->peer_ok)
				hk_conn_addrs(c);
			hk_http_client_attrs(c->writing, &c->out, &c->peer);
			r->sp = c->writing;
			r->head = METHOD_IS(&c->out, "HEAD");
			r->connect = METHOD_IS(&c->out, "CONNECT");
			c->writing = NULL;
			break;
		case HK_EV_NOT_HTTP:
			if (c->writing) {
				drop_injections(c, c->writing);
				rt_span_discard(c->writing);
				c->writing = NULL;
			}
			hk_conn_ignore(c);
			break;
		default:
			break;
		}
		return;
	}
	/* Server: the responses, in request order. */
	r = q_head(c);
	switch (ev) {
	case HK_EV_HEAD_START:
		c->out.req_was_head = r && r->head;
		c->out.req_was_connect = r && r->connect;
		break;
	case HK_EV_BLANK_LINE:
		if (rt_cfg.http_traceresponse && r && r->sp && c->ninject < HK_INJECT_MAX) {
			struct hk_inject *in = &c->inject[c->ninject++];

			in->off = off;
			in->sp = r->sp;
			in->traceresponse = true;
		}
		break;
	case HK_EV_MSG_DONE:
		if (c->out.status >= 100 && c->out.status < 200 && c->out.status != 101)
			break;		/* an interim response: the final one follows */
		if (r) {
			if (r->sp) {
				/* The status goes on now; the end waits for the
				 * system call (a traceresponse may be due). */
				hk_http_server_response(r->sp, &c->out, NULL);
				if (ends->n < MAX_ENDS) {
					ends->e[ends->n].sp = r->sp;
					ends->e[ends->n].server = true;
					ends->n++;
				} else {
					end_span(c, r->sp, true, NULL, NULL);
				}
			}
			q_pop(c);
		}
		break;
	case HK_EV_NOT_HTTP:
		hk_conn_ignore(c);
		break;
	default:
		break;
	}
}

/*
 * Feed the outgoing parser the program's bytes [from, to) of iov. Returns
 * where parsing stopped (to, unless the connection turned out not to be
 * HTTP).
 */
static size_t out_parse(struct hk_conn *c, const struct iovec *iov, int iovcnt, size_t from,
			size_t to, struct ends *ends)
{
	size_t base = 0;

	for (int i = 0; i < iovcnt && base < to; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t l = iov[i].iov_len, s, e;

		if (base + l <= from) {
			base += l;
			continue;
		}
		s = from > base ? from - base : 0;
		e = to - base < l ? to - base : l;
		/* Until HK_EV_NONE: a bodiless message's MSG_DONE comes from a
		 * call that consumes nothing, after its HEAD_DONE. */
		for (;;) {
			enum hk_http_event ev;
			size_t n = hk_http_feed(&c->out, p + s, e - s, &ev);

			s += n;
			if (ev == HK_EV_NONE)
				break;
			out_event(c, ev, (uint32_t)(base + s), ends);
			if (hk_conn_ignored(c))
				return base + s;
		}
		base += l;
	}
	return to;
}

/* ------------------------------------------------------------------ */
/* Writing */

struct seg {
	const char *p;
	size_t len;
	int8_t kind;			/* 0 program bytes, 1 owed, 2 insertion */
	int8_t inj;			/* index into c->inject for kind 2 */
};

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > SSIZE_MAX - t)
			return SSIZE_MAX;
		t += iov[i].iov_len;
	}
	return t;
}

/* Append program bytes [from, to) of iov to segs. */
static int add_app(struct seg *segs, int ns, const struct iovec *iov, int iovcnt, size_t from,
		   size_t to)
{
	size_t base = 0;

	for (int i = 0; i < iovcnt && base < to && ns < MAX_SEGS; i++) {
		size_t l = iov[i].iov_len, s, e;

		if (base + l <= from || !l) {
			base += l;
			continue;
		}
		s = from > base ? from - base : 0;
		e = to - base < l ? to - base : l;
		if (e > s) {
			segs[ns].p = (const char *)iov[i].iov_base + s;
			segs[ns].len = e - s;
			segs[ns].kind = 0;
			ns++;
		}
		base += l;
	}
	return ns;
}

static bool nonblocking(const struct hk_out_call *call)
{
	int fl;

	if (call->is_send && (call->flags & MSG_DONTWAIT))
		return true;
	fl = fcntl(call->fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

/* How many of the first r bytes of segs are the program's own. */
static size_t app_bytes(const struct seg *segs, int ns, ssize_t r)
{
	size_t left = r > 0 ? (size_t)r : 0, n = 0;

	for (int i = 0; i < ns && left; i++) {
		size_t take = left < segs[i].len ? left : segs[i].len;

		if (segs[i].kind == 0)
			n += take;
		left -= take;
	}
	return n;
}

static ssize_t send_segs(const struct hk_out_call *call, const struct seg *segs, int ns)
{
	struct iovec v[MAX_SEGS];

	for (int i = 0; i < ns; i++) {
		v[i].iov_base = (void *)segs[i].p;
		v[i].iov_len = segs[i].len;
	}
	if (call->is_send) {
		struct msghdr m;

		memset(&m, 0, sizeof(m));
		if (call->msg) {
			m.msg_name = call->msg->msg_name;
			m.msg_namelen = call->msg->msg_namelen;
			m.msg_control = call->msg->msg_control;
			m.msg_controllen = call->msg->msg_controllen;
		} else if (call->to) {
			m.msg_name = (void *)call->to;
			m.msg_namelen = call->tolen;
		}
		m.msg_iov = v;
		m.msg_iovlen = (size_t)ns;
		return PL_REAL(sendmsg)(call->fd, &m, call->flags);
	}
	return PL_REAL(writev)(call->fd, v, ns);
}

static void finish_ends(struct hk_conn *c, struct ends *ends)
{
	for (int i = 0; i < ends->n; i++) {
		drop_injections(c, ends->e[i].sp);
		rt_span_end(ends->e[i].sp, 0);
	}
	ends->n = 0;
}

/* After the kernel took app_sent program bytes: shift what is pending. */
static void advance(struct hk_conn *c, size_t parsed_end, size_t app_sent)
{
	c->ahead = parsed_end > app_sent ? (uint32_t)(parsed_end - app_sent) : 0;
	for (uint8_t i = 0; i < c->ninject; i++)
		c->inject[i].off = c->inject[i].off > app_sent ? (uint32_t)(c->inject[i].off - app_sent) : 0;
}

/* Nothing to insert in this write: the program's own call, then the
 * bookkeeping. Called with c locked; returns unlocked. */
static ssize_t own_call(struct hk_conn *c, uint32_t gen, const struct hk_out_call *call,
			size_t parsed_end, struct ends *ends)
{
	ssize_t r;
	int err;

	hk_conn_unlock(c);
	r = hk_out_orig(call);
	err = errno;
	if (hk_conn_lock(c)) {
		if (c->gen == gen) {
			advance(c, parsed_end, r > 0 ? (size_t)r : 0);
			finish_ends(c, ends);
		}
		hk_conn_unlock(c);
	}
	errno = err;
	return r;
}

ssize_t hk_http_write(struct hk_conn *c, uint32_t gen, const struct hk_out_call *call)
{
	struct seg segs[MAX_SEGS];
	char text[TEXT_STACK];
	struct ends ends;
	size_t len = iov_total(call->iov, call->iovcnt), parsed_end, app_sent;
	ssize_t r;
	int err, ns, tries = 0;

	ends.n = 0;		/* (the entries are written before they are read) */
again:
	if (!hk_conn_lock(c))
		return hk_out_orig(call);
	if (c->gen != gen || (hk_conn_ignored(c) && !c->owed_len && !c->ninject)) {
		hk_conn_unlock(c);
		return hk_out_orig(call);
	}
	parsed_end = c->ahead > len ? c->ahead : len;
	if (!hk_conn_ignored(c) && len > c->ahead)
		parsed_end = out_parse(c, call->iov, call->iovcnt, c->ahead, len, &ends);
	if (parsed_end < c->ahead)
		parsed_end = c->ahead;

	/* The usual case: nothing owed, nothing to insert, and too few
	 * buffers to overflow the plan below (which then gives up). */
	if (!c->owed_len && !c->ninject && call->iovcnt < MAX_SEGS - 2)
		return own_call(c, gen, call, parsed_end, &ends);

	/* The plan: owed insertion text, then program bytes split at every
	 * insertion due inside this write. Insertions are kept in stream
	 * order; one whose text does not fit is skipped (never half made). */
	ns = 0;
	if (c->owed_len) {
		segs[ns].p = c->owed + c->owed_done;
		segs[ns].len = c->owed_len - c->owed_done;
		segs[ns].kind = 1;
		ns++;
	}
	{
		size_t pos = 0, used = 0;
		uint8_t k = 0;
		bool due = false;

		for (uint8_t i = 0; i < c->ninject; i++) {
			struct hk_inject *in = &c->inject[i];
			size_t tl;

			if (in->off >= len) {
				c->inject[k++] = *in;	/* for a later write */
				continue;
			}
			tl = render(c, in, text + used, sizeof(text) - used);
			if (!tl)
				continue;		/* skipped: dropped */
			ns = add_app(segs, ns, call->iov, call->iovcnt, pos, in->off);
			if (ns >= MAX_SEGS - 2)
				break;
			pos = in->off;
			segs[ns].p = text + used;
			segs[ns].len = tl;
			segs[ns].kind = 2;
			segs[ns].inj = (int8_t)k;
			ns++;
			used += tl;
			c->inject[k++] = *in;
			due = true;
		}
		c->ninject = k;
		if (ns < MAX_SEGS - 2)
			ns = add_app(segs, ns, call->iov, call->iovcnt, pos, len);
		if (ns >= MAX_SEGS - 2) {
			/* More pieces than fit on the stack (a writev of dozens
			 * of buffers): give up on this connection, insert
			 * nothing more, and send the program's call as it is. */
			c->ninject = 0;
			c->owed_len = c->owed_done = 0;
			hk_conn_ignore(c);
			finish_ends(c, &ends);
			hk_conn_unlock(c);
			return hk_out_orig(call);
		}
		if (!due && !c->owed_len)
			return own_call(c, gen, call, parsed_end, &ends);
	}
	hk_conn_unlock(c);

	r = send_segs(call, segs, ns);
	err = errno;
	/* Whatever happens to c meanwhile, the program is told its own
	 * bytes only (r counts the inserted ones too). */
	app_sent = app_bytes(segs, ns, r);

	if (!hk_conn_lock(c)) {
		/* Cannot account: stop watching rather than guess. */
		__atomic_store_n(&c->ignored, true, __ATOMIC_RELEASE);
		errno = err;
		return r < 0 ? r : (ssize_t)app_sent;
	}
	if (c->gen != gen) {
		/* The fd was closed (and the record reused) meanwhile. */
		hk_conn_unlock(c);
		errno = err;
		return r < 0 ? r : (ssize_t)app_sent;
	}
	if (r > 0) {
		size_t left = (size_t)r;
		bool done_inj[HK_INJECT_MAX] = { false };
		int cut = -1;		/* insertion cut in the middle */

		for (int i = 0; i < ns && left; i++) {
			size_t take = left < segs[i].len ? left : segs[i].len;

			if (segs[i].kind == 1) {
				c->owed_done += (uint16_t)take;
				if (c->owed_done >= c->owed_len)
					c->owed_len = c->owed_done = 0;
			} else if (segs[i].kind == 0) {
				/* the program's: app_sent */
			} else if (take == segs[i].len) {
				done_inj[(int)segs[i].inj] = true;
			} else {
				cut = segs[i].inj;
				memcpy(c->owed, segs[i].p, segs[i].len);
				c->owed_len = (uint16_t)segs[i].len;
				c->owed_done = (uint16_t)take;
			}
			left -= take;
		}
		if (cut >= 0)
			done_inj[cut] = true;
		{
			uint8_t k = 0;

			for (uint8_t i = 0; i < c->ninject; i++)
				if (!done_inj[i])
					c->inject[k++] = c->inject[i];
			c->ninject = k;
		}
		advance(c, parsed_end, app_sent);
	} else {
		advance(c, parsed_end, 0);
	}
	finish_ends(c, &ends);
	hk_conn_unlock(c);

	if (r > 0 && app_sent == 0 && len > 0) {
		/* Only inserted bytes went out. A blocking program expects its
		 * own bytes to be written: go on. A non-blocking one is told to
		 * try again, with none of its bytes consumed. */
		if (nonblocking(call) || ++tries > 64) {
			errno = EAGAIN;
			return -1;
		}
		goto again;
	}
	errno = err;
	return r < 0 ? r : (ssize_t)app_sent;
}

/* ------------------------------------------------------------------ */
/* Reading */

static void in_event(struct hk_conn *c, enum hk_http_event ev)
{
	struct hk_req *r = q_head(c);

	if (c->role == HK_ROLE_SERVER) {
		switch (ev) {
		case HK_EV_HEAD_START:
			c->in_start_ns = rt_now_ns();
			break;
		case HK_EV_HEAD_DONE:
			server_request(c);
			break;
		case HK_EV_NOT_HTTP:
			hk_conn_ignore(c);
			break;
		default:
			break;
		}
		return;
	}
	switch (ev) {
	case HK_EV_HEAD_START:
		c->in.req_was_head = r && r->head;
		c->in.req_was_connect = r && r->connect;
		break;
	case HK_EV_MSG_DONE:
		if (c->in.status >= 100 && c->in.status < 200 && c->in.status != 101)
			break;		/* interim */
		if (r) {
			end_span(c, r->sp, false, &c->in, NULL);
			q_pop(c);
		}
		break;
	case HK_EV_NOT_HTTP:
		hk_conn_ignore(c);
		while ((r = q_head(c))) {
			end_span(c, r->sp, false, NULL, "invalid_response");
			q_pop(c);
		}
		break;
	default:
		break;
	}
}

void hk_http_read(struct hk_conn *c, uint32_t gen, const struct iovec *iov, int iovcnt,
		  ssize_t n, int err)
{
	struct hk_req *r;

	if (!hk_conn_lock(c)) {
		__atomic_store_n(&c->ignored, true, __ATOMIC_RELEASE);
		return;
	}
	if (c->gen != gen || hk_conn_ignored(c))
		goto out;
	if (n > 0) {
		size_t left = (size_t)n;

		for (int i = 0; i < iovcnt && left && !hk_conn_ignored(c); i++) {
			const uint8_t *p = iov[i].iov_base;
			size_t l = iov[i].iov_len < left ? iov[i].iov_len : left;

			left -= l;
			while (!hk_conn_ignored(c)) {
				enum hk_http_event ev;
				size_t k = hk_http_feed(&c->in, p, l, &ev);

				p += k;
				l -= k;
				if (ev == HK_EV_NONE)
					break;
				in_event(c, ev);
			}
		}
		goto out;
	}
	if (n == 0) {
		/* The peer closed its side. */
		if (c->role == HK_ROLE_CLIENT) {
			if (hk_http_eof(&c->in) && (r = q_head(c))) {
				end_span(c, r->sp, false, &c->in, NULL);
				q_pop(c);
			}
			while ((r = q_head(c))) {
				end_span(c, r->sp, false, NULL, "connection_closed");
				q_pop(c);
			}
		}
		goto out;
	}
	if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && c->role == HK_ROLE_CLIENT) {
		while ((r = q_head(c))) {
			end_span(c, r->sp, false, NULL, hk_errno_name(err));
			q_pop(c);
		}
	}
out:
	hk_conn_unlock(c);
}

void hk_http_sent_unseen(struct hk_conn *c, uint32_t gen, uint64_t n)
{
	struct ends ends;

	ends.n = 0;
	if (!hk_conn_lock(c))
		return;
	if (c->gen != gen || hk_conn_ignored(c)) {
		hk_conn_unlock(c);
		return;
	}
	if (c->ahead || c->ninject || c->owed_len) {
		/* Bytes of ours or the program's are still due before these:
		 * the stream cannot be followed any more. */
		hk_conn_ignore(c);
	}
	while (n && !hk_conn_ignored(c)) {
		enum hk_http_event ev;
		uint64_t k = hk_http_skip(&c->out, n, &ev);

		n -= k;
		if (ev != HK_EV_NONE)
			out_event(c, ev, 0, &ends);
		/* A bodiless follow-up cannot be in unseen bytes: the rest,
		 * if any, would be a head, which skip refuses. */
		while (ev == HK_EV_MSG_DONE || ev == HK_EV_HEAD_DONE) {
			hk_http_feed(&c->out, NULL, 0, &ev);
			if (ev == HK_EV_NONE)
				break;
			out_event(c, ev, 0, &ends);
		}
	}
	finish_ends(c, &ends);
	hk_conn_unlock(c);
}

void hk_http_shutdown_write(struct hk_conn *c, uint32_t gen)
{
	struct hk_req *r;

	if (!hk_conn_lock(c))
		return;
	if (c->gen == gen && c->role == HK_ROLE_SERVER && hk_http_eof(&c->out) &&
	    (r = q_head(c))) {
		end_span(c, r->sp, true, &c->out, NULL);
		q_pop(c);
	}
	hk_conn_unlock(c);
}

void hk_http_close(struct hk_conn *c, const char *error_type)
{
	struct hk_req *r;
	bool server = c->role == HK_ROLE_SERVER;
	struct hk_http *resp = server ? &c->out : &c->in;

	/* Closed before the program looked at its connect's outcome: the span
	 * ends now, its status unset (nothing says how it went). */
	hk_connect_settle(c, -1);
	if (c->writing && hk_http_in_start_line(&c->out)) {
		/* Closed inside the first line: never shown to be HTTP. */
		drop_injections(c, c->writing);
		rt_span_discard(c->writing);
		c->writing = NULL;
	}
	if (c->writing) {
		end_span(c, c->writing, false, NULL, error_type ? error_type : "connection_closed");
		c->writing = NULL;
	}
	/* A response delimited by the close is complete now. */
	if (hk_http_eof(resp) && (r = q_head(c))) {
		end_span(c, r->sp, server, resp, NULL);
		q_pop(c);
	}
	while ((r = q_head(c))) {
		end_span(c, r->sp, server, NULL, error_type ? error_type : "connection_closed");
		q_pop(c);
	}
	c->ninject = 0;
	c->owed_len = c->owed_done = 0;
}
