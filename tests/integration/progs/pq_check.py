#!/usr/bin/env python3
"""
pq_check.py - checks the spans of one pq_client run against the span
contract of the libpq hooks, operation by operation. Prints "ok - X" /
"not ok - X" lines with "# " details (relayed by test_pq.sh).

usage: pq_check.py SPANS CLIENT_STDOUT --address A [--port P] --bad-port P
                   [--bad-address 127.0.0.1] [--db books]

SPANS is the file exporter's output of the run. CLIENT_STDOUT is
pq_client's "op=... span=... tag=... status=... sqlstate=..." lines.
Operations and spans are paired by order: the client is single-threaded
and prints its lines in the order its commands start, so the query spans
sorted by start time line up with its span=query lines, and the pg.connect
spans with its span=connect lines.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import spans as spanlib  # noqa: E402  tests/integration/spans.py

CLIENT = 3
ERROR = 2
UNSET = 0
ABSENT = object()

# tag -> expected fields. name / op (db.operation.name) / text
# (db.query.text) / etype (error.type) / code (db.response.status_code) /
# status (status.code: Unset when left out, None: not checked). ABSENT: the
# attribute must not be there; another key left out is not checked.
Q = {
    "drop": dict(text="DROP TABLE IF EXISTS books"),
    "create": dict(name="CREATE TABLE books",
                   text="CREATE TABLE books (id integer PRIMARY KEY, title text NOT NULL, "
                        "n bigint)"),
    "insert": dict(name="INSERT books", op="INSERT",
                   text="INSERT INTO books (id, title, n) VALUES (?, ?, ?), (?, ?, ?), "
                        "(?, ?, ?)"),
    "select": dict(name="SELECT books", op="SELECT",
                   text="SELECT id, title FROM books WHERE n = ? OR title = ? ORDER BY id"),
    "syntax_error": dict(text="SELEC ?", etype="42601", code="42601", status=ERROR),
    "echo_error": dict(name="SELECT", op="SELECT", text="SELECT ?::integer", etype="22P02",
                       code="22P02", status=ERROR),
    "multi": dict(op=ABSENT, text="SELECT ?; SELECT ?"),
    "exec_params": dict(name="SELECT books", op="SELECT",
                        text="SELECT title FROM books WHERE id = $1 AND title <> $2"),
    # the contract gives no status for an error without SQLSTATE: unchecked
    "client_error": dict(etype="_OTHER", code=ABSENT, text="SELECT $1", status=None),
    "prepare": dict(name="PREPARE SELECT books", op="PREPARE",
                    text="SELECT title FROM books WHERE id = $1"),
    "exec_prepared": dict(name="SELECT books", op="SELECT",
                          text="SELECT title FROM books WHERE id = $1"),
    "describe_prepared": dict(name="DESCRIBE", op="DESCRIBE"),
    "sql_prepare": dict(text="PREPARE sql_prep AS SELECT count(*) FROM books"),
    "exec_unknown": dict(name="EXECUTE"),
    "begin": dict(text="BEGIN"),
    "declare": dict(text="DECLARE book_cur CURSOR FOR SELECT id, title FROM books ORDER BY id"),
    "describe_portal": dict(name="DESCRIBE", op="DESCRIBE"),
    "send_describe_portal": dict(name="DESCRIBE", op="DESCRIBE"),
    "close": dict(text="CLOSE book_cur"),
    "commit": dict(text="COMMIT"),
    "send_query": dict(name="SELECT books", op="SELECT",
                       text="SELECT count(*) FROM books WHERE title <> ?"),
    "send_query_params": dict(name="SELECT books", op="SELECT",
                              text="SELECT n FROM books WHERE id = $1"),
    "send_prepare": dict(name="PREPARE INSERT books", op="PREPARE",
                         text="INSERT INTO books (id, title, n) VALUES ($1, $2, $3)"),
    "send_query_prepared": dict(name="INSERT books", op="INSERT",
                                text="INSERT INTO books (id, title, n) VALUES ($1, $2, $3)"),
    "send_describe_prepared": dict(name="DESCRIBE", op="DESCRIBE"),
    "send_error": dict(name="INSERT books", op="INSERT",
                       text="INSERT INTO books (id, title) VALUES (?, ?)", etype="23505",
                       code="23505", status=ERROR),
    "pipe_ok": dict(name="SELECT", op="SELECT", text="SELECT $1::integer + 1"),
    "pipe_error": dict(name="SELECT", op="SELECT", text="SELECT ?/?", etype="22012",
                       code="22012", status=ERROR),
    "pipe_aborted": dict(etype="pipeline_aborted", status=ERROR,
                         text="SELECT $1::text"),
    "pipe_flushed": dict(name="SELECT", op="SELECT", text="SELECT $1::integer * 2"),
    "after_reset": dict(name="SELECT books", op="SELECT", text="SELECT count(*) FROM books"),
}

# Server error text that must never be a status description (the contract:
# it could echo literals).
SERVER_TEXT = ("syntax error", "invalid input syntax", "division by zero", "duplicate key",
               "SECRET", "already exists", "ERROR:", "FATAL", "does not exist")

out = []


def ok(desc):
    out.append("ok - %s" % desc)


def not_ok(desc, *details):
    out.append("not ok - %s" % desc)
    for d in details:
        for ln in str(d).splitlines()[:30]:
            out.append("# %s" % ln)


def brief(sp):
    return json.dumps({k: sp[k] for k in ("name", "kind", "attributes", "status",
                                         "parentSpanId", "spanId")}, sort_keys=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spans")
    ap.add_argument("client_out")
    ap.add_argument("--address", required=True)
    ap.add_argument("--port", type=int)
    ap.add_argument("--bad-port", type=int, required=True)
    ap.add_argument("--bad-address", default="127.0.0.1")
    ap.add_argument("--db", default="books")
    a = ap.parse_args()

    ops = []
    with open(a.client_out) as f:
        for ln in f:
            d = dict(kv.split("=", 1) for kv in ln.split())
            ops.append(d)
    qops = [o for o in ops if o["span"] == "query"]
    cops = [o for o in ops if o["span"] == "connect"]

    try:
        allsp = spanlib.load_spans(a.spans)
    except (spanlib.Bad, OSError) as e:
        not_ok("span file readable", e)
        allsp = []
    pg = [s for s in allsp if s["attributes"].get("db.system.name") == "postgresql"]
    qsp = sorted((s for s in pg if s["name"] != "pg.connect"), key=lambda s: (s["start"], s["end"]))
    csp = sorted((s for s in pg if s["name"] == "pg.connect"), key=lambda s: (s["start"], s["end"]))

    def counted(desc, want, got, spans_):
        if want == got:
            ok(desc)
        else:
            not_ok(desc, "want %d, got %d" % (want, got),
                   *[brief(s) for s in spans_[:12]])

    counted("one query span per query operation (%d)" % len(qops), len(qops), len(qsp), qsp)
    counted("one pg.connect span per connection operation (%d)" % len(cops), len(cops),
            len(csp), csp)

    bad = [s for s in pg if s["kind"] != CLIENT]
    if pg and not bad:
        ok("every postgresql span is kind CLIENT")
    else:
        not_ok("every postgresql span is kind CLIENT", *[brief(s) for s in bad[:5]] or ["no spans"])

    traces = {s["traceId"] for s in allsp}
    if len(traces) == 1:
        ok("all spans of the run share one trace (one trace per process)")
    else:
        not_ok("all spans of the run share one trace (one trace per process)",
               "trace ids: %s" % sorted(traces))

    leaked = [s for s in pg if any(t.lower() in s["status"]["message"].lower()
                                   for t in SERVER_TEXT)]
    if not leaked:
        ok("no status description carries server error text")
    else:
        not_ok("no status description carries server error text",
               *[brief(s) for s in leaked[:5]])

    def common(sp, port, address, db=a.db):
        errs = []
        at = sp["attributes"]
        if sp["kind"] != CLIENT:
            errs.append("kind %s, want %d" % (sp["kind"], CLIENT))
        if at.get("db.namespace") != db:
            errs.append("db.namespace %r, want %r" % (at.get("db.namespace"), db))
        if at.get("server.address") != address:
            errs.append("server.address %r, want %r" % (at.get("server.address"), address))
        if port is None or port == 5432:
            if "server.port" in at:
                errs.append("server.port %r present, want none" % at["server.port"])
        elif at.get("server.port") != port:
            errs.append("server.port %r, want %d" % (at.get("server.port"), port))
        return errs

    # query spans, pairwise
    for i, o in enumerate(qops):
        tag = o["tag"]
        desc = "%s (%s) span" % (tag, o["op"])
        if i >= len(qsp):
            not_ok(desc, "no span for it")
            continue
        sp = qsp[i]
        at = sp["attributes"]
        want = Q.get(tag, {})
        errs = common(sp, a.port, a.address)
        if sp["parentSpanId"]:
            errs.append("parentSpanId %s: a CLI's span has no current context, want a root"
                        % sp["parentSpanId"])
        for key, attr in (("op", "db.operation.name"), ("text", "db.query.text"),
                          ("etype", "error.type"), ("code", "db.response.status_code")):
            if key not in want:
                continue
            w = want[key]
            if w is ABSENT:
                if attr in at:
                    errs.append("%s %r present, want none" % (attr, at[attr]))
            elif attr not in at or spanlib.value_text(at[attr]) != w:
                errs.append("%s %r, want %r" % (attr, at.get(attr), w))
        code = at.get("db.response.status_code")
        if code is not None and not isinstance(code, str):
            errs.append("db.response.status_code %r is not a string" % (code,))
        if "name" in want and sp["name"] != want["name"]:
            errs.append("name %r, want %r" % (sp["name"], want["name"]))
        st = want.get("status", UNSET)
        if st is not None and sp["status"]["code"] != st:
            errs.append("status code %d, want %d" % (sp["status"]["code"], st))
        if st == UNSET and "error.type" in at:
            errs.append("error.type %r on a successful command" % at["error.type"])
        # name = db.query.summary, else db.operation.name, else postgresql
        # (PREPARE/EXECUTE/DESCRIBE names have their own rules)
        if o["op"] in ("PQexec", "PQexecParams", "PQsendQuery", "PQsendQueryParams"):
            rule = at.get("db.query.summary") or at.get("db.operation.name") or "postgresql"
            if sp["name"] != rule:
                errs.append("name %r, but summary/operation rule gives %r" % (sp["name"], rule))
        if errs:
            not_ok(desc, *errs, brief(sp))
        else:
            ok(desc)

    # connection spans, pairwise
    conn_ids = {}
    for i, o in enumerate(cops):
        tag = o["tag"]
        desc = "%s (%s) pg.connect span" % (tag, o["op"])
        if i >= len(csp):
            not_ok(desc, "no span for it")
            continue
        sp = csp[i]
        at = sp["attributes"]
        conn_ids[tag] = sp
        fail = o["status"] != "CONNECTION_OK"
        if tag == "connect_fail":
            errs = common(sp, a.bad_port, a.bad_address)
        elif tag == "connect_fail_db":
            errs = common(sp, a.port, a.address, "no_such_db")
        else:
            errs = common(sp, a.port, a.address)
        if sp["parentSpanId"]:
            errs.append("parentSpanId %s, want a root" % sp["parentSpanId"])
        if fail:
            if sp["status"]["code"] != ERROR:
                errs.append("status code %d, want %d" % (sp["status"]["code"], ERROR))
            if at.get("error.type") != "connection_failed":
                errs.append("error.type %r, want 'connection_failed'" % at.get("error.type"))
        else:
            if sp["status"]["code"] != UNSET or "error.type" in at:
                errs.append("status %s / error.type %r on a connection that worked"
                            % (sp["status"], at.get("error.type")))
        if errs:
            not_ok(desc, *errs, brief(sp))
        else:
            ok(desc)

    # the library's TCP connect spans: children of the pg.connect span
    tcp = [s for s in allsp if s["name"] == "connect"]
    fail = conn_ids.get("connect_fail")
    # (libpq connects non-blocking: the connect span itself ends at
    # EINPROGRESS, without error)
    desc = "failed connection: the TCP connect span to the closed port is a child of pg.connect"
    kids = [s for s in tcp if fail and s["parentSpanId"] == fail["spanId"]
            and s["attributes"].get("network.peer.port") == a.bad_port]
    if kids:
        ok(desc)
    else:
        not_ok(desc, "pg.connect: %s" % (brief(fail) if fail else "none"),
               *[brief(s) for s in tcp if s["attributes"].get("network.peer.port") == a.bad_port])
    if a.port is not None:
        desc = "TCP connect spans of the working connections are children of pg.connect"
        ids = {s["spanId"] for s in csp}
        good = [s for s in tcp if s["attributes"].get("network.peer.port") == a.port]
        orphans = [s for s in good if s["parentSpanId"] not in ids]
        if good and not orphans:
            ok(desc)
        else:
            not_ok(desc, "%d TCP connect span(s) to port %d, %d not under a pg.connect"
                   % (len(good), a.port, len(orphans)), *[brief(s) for s in orphans[:4]])

    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
