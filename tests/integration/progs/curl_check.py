#!/usr/bin/env python3
"""
curl_check.py - compares what a recording server saw (progs/curl_server.py
or curl_h2_server.js JSON lines) with the CLIENT spans the library exported
for the same requests (test_curl.sh); never preloaded.

  curl_check.py SPANS LOG --label L --path-re RE [--expect N]
                [--url-prefix U] [--own TRACEPARENT]

SPANS: the file exporter's output or an otlp_receiver.py directory. The
requests considered are the LOG lines whose path (without the query)
matches RE (re.search);
the spans considered are the CLIENT spans (kind 3) with
http.request.method whose url.full starts with U (when given) and whose
URL path matches RE.

Checks, each one "ok - L: ..." / "not ok - L: ..." line:
  - N requests reached the server (--expect)
  - each request carried exactly one traceparent, W3C-formed
    (00-<32 hex>-<16 hex>-<2 hex>, ids not all zero); with --own, exactly
    one and it is TRACEPARENT (the application's own)
  - without --own: each request's traceparent names one CLIENT span (its
    traceId and spanId, the span's trace flags), a different span for each
    request, and that span's url.full has the request's path; as many
    spans as requests
Exit 1 when any check failed.
"""

import argparse
import json
import os
import re
import sys
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import spans as spansmod  # noqa: E402

TP = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def url_path(u):
    try:
        return urlsplit(u).path or "/"
    except ValueError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spans")
    ap.add_argument("log")
    ap.add_argument("--label", required=True)
    ap.add_argument("--path-re", required=True)
    ap.add_argument("--expect", type=int)
    ap.add_argument("--url-prefix", default="")
    ap.add_argument("--own")
    a = ap.parse_args()
    rx = re.compile(a.path_re)
    failed = 0

    def report(desc, probs, context=()):
        nonlocal failed
        if probs:
            failed += 1
            print("not ok - %s: %s" % (a.label, desc))
            for p in list(probs)[:12] + list(context)[:8]:
                print("#   %s" % p)
        else:
            print("ok - %s: %s" % (a.label, desc))

    reqs = []
    try:
        with open(a.log) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    if rx.search(urlsplit(r["path"]).path):
                        reqs.append(r)
    except (OSError, ValueError) as e:
        report("server log readable", [str(e)])
        return 1
    try:
        allspans = spansmod.load_spans(a.spans) if os.path.exists(a.spans) else []
    except spansmod.Bad as e:
        report("spans readable", [str(e)])
        return 1
    clients = []
    for s in allspans:
        u = s["attributes"].get("url.full")
        if s["kind"] != 3 or "http.request.method" not in s["attributes"] or not isinstance(u, str):
            continue
        if not u.startswith(a.url_prefix):
            continue
        p = url_path(u)
        if p is not None and rx.search(p):
            clients.append(s)

    def span_line(s):
        return "span %s/%s %s %s" % (s["traceId"], s["spanId"], s["name"],
                                     s["attributes"].get("url.full"))

    ctx = ["server saw: %s %s traceparents=%s" % (r["method"], r["path"], r["traceparents"])
           for r in reqs[:4]] + [span_line(s) for s in clients[:4]]

    if a.expect is not None:
        report("%d request(s) reached the server" % a.expect,
               [] if len(reqs) == a.expect else ["got %d" % len(reqs)], ctx)

    probs = []
    for r in reqs:
        tps = r["traceparents"]
        if len(tps) != 1:
            probs.append("%s %s: %d traceparent headers %s" % (r["method"], r["path"], len(tps), tps))
            continue
        if a.own is not None:
            if tps[0] != a.own:
                probs.append("%s: traceparent %s, not the application's %s" % (r["path"], tps[0], a.own))
            continue
        m = TP.match(tps[0])
        if not m or set(m.group(1)) == {"0"} or set(m.group(2)) == {"0"}:
            probs.append("%s: malformed traceparent %r" % (r["path"], tps[0]))
    if a.own is not None:
        report("each request carried exactly one traceparent, the application's own", probs, ctx)
        return 1 if failed else 0
    report("each request carried exactly one W3C traceparent", probs, ctx)

    by_id = {}
    for s in clients:
        by_id.setdefault((s["traceId"], s["spanId"]), []).append(s)
    probs = []
    used = set()
    for r in reqs:
        if len(r["traceparents"]) != 1:
            continue
        m = TP.match(r["traceparents"][0])
        if not m:
            continue
        key = (m.group(1), m.group(2))
        hit = by_id.get(key, [])
        if len(hit) != 1:
            probs.append("%s: traceparent %s names %d CLIENT span(s)" % (r["path"], r["traceparents"][0], len(hit)))
            continue
        s = hit[0]
        if key in used:
            probs.append("%s: span %s already named by another request" % (r["path"], key[1]))
        used.add(key)
        want_path = urlsplit(r["path"]).path
        if url_path(s["attributes"].get("url.full")) != want_path:
            probs.append("%s: its span has url.full %s" % (r["path"], s["attributes"].get("url.full")))
        flags = "%02x" % (s["flags"] & 0xFF)
        if m.group(3) != flags:
            probs.append("%s: trace flags %s, span flags %s" % (r["path"], m.group(3), flags))
    report("each traceparent names its own CLIENT span (traceId, spanId, flags, url path)", probs, ctx)
    report("as many CLIENT spans as requests (%d)" % len(reqs),
           [] if len(clients) == len(reqs) else ["%d CLIENT spans" % len(clients)], ctx)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
