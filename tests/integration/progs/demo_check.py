#!/usr/bin/env python3
"""
demo_check.py - checks the two request traces `make demo` wrote (relayed by
test_demo.sh). Prints "ok - X" / "not ok - X" lines with "# " details.

usage: demo_check.py TRACE_OK TRACE_FAIL [--stack]

TRACE_OK is the trace of GET /books/1/analysis, TRACE_FAIL the trace of
GET /books/4/analysis (scripts/demo.sh writes them as traces/trace-1.jsonl
and traces/trace-2.jsonl). The chain expected in each:

  curl CLIENT GET (root)
    front SERVER GET /books/N/analysis
      front CLIENT GET http://.../analysis/N
        backend SERVER GET /analysis/N
          backend CLIENT db spans (db.system.name=postgresql)
          backend CLIENT GET https://.../isbn/... (libcurl)
            isbn SERVER GET /isbn/...   (behind nginx, which forwards the
                                         traceparent libcurl sent)

In TRACE_FAIL the rank query fails: a db span with status Error,
error.type and db.response.status_code = SQLSTATE 22012. With --stack that
span must carry code.stacktrace whose first frame names the back end's
rank_among_author_books.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import spans as spanlib  # noqa: E402  tests/integration/spans.py

SERVER, CLIENT = 2, 3
UNSET, ERROR = 0, 2
SLACK_NS = 1_000_000  # clocks are one host's; 1 ms for rounding


def svc(s):
    return s["resource"].get("service.name", "?")


def brief(s):
    return "%s kind=%s %s span=%s parent=%s status=%s attrs=%s" % (
        svc(s), s["kind"], s["name"], s["spanId"], s["parentSpanId"] or "-",
        s["status"].get("code"), {k: v for k, v in s["attributes"].items()
                                  if k != "code.stacktrace"})


class Checker:
    def __init__(self):
        self.failed = 0

    def ok(self, cond, desc, details=()):
        if cond:
            print("ok - " + desc)
        else:
            self.failed += 1
            print("not ok - " + desc)
            for d in details:
                for line in str(d).splitlines()[:40]:
                    print("# " + line)
        return cond

    def one(self, desc, spans, pred):
        """The single span that satisfies PRED, or None (reported)."""
        hits = [s for s in spans if pred(s)]
        if len(hits) == 1:
            return hits[0]
        self.ok(False, desc, ["want exactly one such span, got %d; spans:" % len(hits)]
                + [brief(s) for s in spans])
        return None


def chain(c, label, spans, book, want_ok):
    """Checks the request chain; returns the spans by role (None: missing)."""
    a = lambda s, k: s["attributes"].get(k)  # noqa: E731
    r = {}
    r["curl"] = c.one("%s: one curl CLIENT GET .../books/%s/analysis" % (label, book), spans,
                      lambda s: svc(s) == "curl" and s["kind"] == CLIENT and s["name"] == "GET"
                      and str(a(s, "url.full")).endswith("/books/%s/analysis" % book))
    r["front_srv"] = c.one("%s: one front SERVER GET /books/%s/analysis" % (label, book), spans,
                           lambda s: svc(s) == "front" and s["kind"] == SERVER
                           and a(s, "url.path") == "/books/%s/analysis" % book)
    r["front_cli"] = c.one("%s: one front CLIENT GET .../analysis/%s" % (label, book), spans,
                           lambda s: svc(s) == "front" and s["kind"] == CLIENT
                           and s["name"] == "GET"
                           and str(a(s, "url.full")).endswith("/analysis/%s" % book))
    r["be_srv"] = c.one("%s: one backend SERVER GET /analysis/%s" % (label, book), spans,
                        lambda s: svc(s) == "backend" and s["kind"] == SERVER
                        and a(s, "url.path") == "/analysis/%s" % book)
    r["https"] = c.one("%s: one backend CLIENT GET https://.../isbn/... (libcurl)" % label, spans,
                       lambda s: svc(s) == "backend" and s["kind"] == CLIENT
                       and str(a(s, "url.full")).startswith("https://127.0.0.1:")
                       and "/isbn/" in str(a(s, "url.full")))
    r["isbn"] = c.one("%s: one isbn SERVER GET /isbn/..." % label, spans,
                      lambda s: svc(s) == "isbn" and s["kind"] == SERVER
                      and str(a(s, "url.path")).startswith("/isbn/"))
    r["db"] = [s for s in spans if svc(s) == "backend" and s["kind"] == CLIENT
               and a(s, "db.system.name") == "postgresql"]
    names = {svc(s) for s in spans}
    c.ok(len({s["traceId"] for s in spans}) == 1 and len(names) >= 4
         and {"curl", "front", "backend", "isbn"} <= names,
         "%s: one trace, spans from %d services (%s)" % (label, len(names),
                                                       " ".join(sorted(names))),
         [brief(s) for s in spans])

    def link(child, parent, desc):
        if r.get(child) is None or r.get(parent) is None:
            c.ok(False, "%s: %s (span missing)" % (label, desc))
            return
        c.ok(r[child]["parentSpanId"] == r[parent]["spanId"], "%s: %s" % (label, desc),
             [brief(r[child]), brief(r[parent])])

    if r["curl"] is not None:
        c.ok(r["curl"]["parentSpanId"] == "", "%s: curl's GET is the root" % label,
             [brief(r["curl"])])
    link("front_srv", "curl", "curl CLIENT -> front SERVER")
    link("front_cli", "front_srv", "front SERVER -> front CLIENT")
    link("be_srv", "front_cli", "front CLIENT -> backend SERVER")
    link("https", "be_srv", "backend SERVER -> backend libcurl CLIENT (HTTPS)")
    link("isbn", "https", "backend libcurl CLIENT -> isbn SERVER (through nginx's TLS)")
    want_db = 3 if want_ok else 2
    be = r["be_srv"]
    c.ok(len(r["db"]) == want_db and be is not None
         and all(s["parentSpanId"] == be["spanId"] for s in r["db"])
         and all(a(s, "db.query.text") for s in r["db"]),
         "%s: %d db spans, children of backend SERVER, with db.query.text" % (label, want_db),
         [brief(s) for s in r["db"]] + ([brief(be)] if be else []))

    # A child starts after its parent (a server reads the request after its
    # client began writing it). Only in one process must it also end before
    # it: across processes the server's span ends when its write returns,
    # which may be after the client has read the reply (scheduling).
    by_id = {s["spanId"]: s for s in spans}
    bad = []
    for s in spans:
        p = by_id.get(s["parentSpanId"])
        if not p:
            continue
        same = s["resource"].get("process.pid") == p["resource"].get("process.pid")
        if s["start"] < p["start"] - SLACK_NS or (same and s["end"] > p["end"] + SLACK_NS):
            bad.append("%s outside its parent %s" % (brief(s), brief(p)))
    c.ok(not bad, "%s: every span starts after its parent, and ends before it "
         "in the same process" % label, bad)
    return r


def main():
    args = sys.argv[1:]
    stack = "--stack" in args
    args = [x for x in args if x != "--stack"]
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    c = Checker()
    t_ok = spanlib.load_spans(args[0])
    t_fail = spanlib.load_spans(args[1])

    r = chain(c, "GET /books/1", t_ok, "1", True)
    errs = [s for s in t_ok if s["status"].get("code") == ERROR]
    c.ok(not errs, "GET /books/1: no span with status Error", [brief(s) for s in errs])
    if r["isbn"] is not None:
        c.ok(r["isbn"]["attributes"].get("http.response.status_code") == 200,
             "GET /books/1: isbn answered 200", [brief(r["isbn"])])

    r = chain(c, "GET /books/4", t_fail, "4", False)
    for role, code in (("curl", 502), ("front_srv", 502), ("front_cli", 500), ("be_srv", 500)):
        s = r[role]
        if s is not None:
            c.ok(s["status"].get("code") == ERROR
                 and s["attributes"].get("http.response.status_code") == code,
                 "GET /books/4: %s span status Error, HTTP %d" % (role, code), [brief(s)])
    failed = [s for s in r["db"] if s["status"].get("code") == ERROR]
    q = failed[0] if len(failed) == 1 else None
    c.ok(q is not None, "GET /books/4: exactly one db span with status Error",
         [brief(s) for s in r["db"]])
    if q is not None:
        at = q["attributes"]
        c.ok(re.fullmatch(r"[0-9A-Z]{5}", str(at.get("error.type"))) is not None
             and at.get("error.type") == "22012" and at.get("db.response.status_code") == "22012"
             and "count(*) - 1" in str(at.get("db.query.text")),
             "GET /books/4: the rank query failed with error.type = SQLSTATE 22012",
             [brief(q)])
        if stack:
            st = at.get("code.stacktrace")
            lines = [x for x in str(st or "").splitlines() if x.strip()]
            c.ok(bool(lines) and "rank_among_author_books" in lines[0],
                 "GET /books/4: code.stacktrace's first frame is the back end's "
                 "rank_among_author_books", ["code.stacktrace: %r" % st])
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
