#!/usr/bin/env python3
"""
loop_check.py - compares a server's SERVER spans with the requests its
client made: loop_server.py/loop_client.py (test_http.sh 7, and 8 for the
sendfile mode) and read_server.py/read_client.py (test_http.sh 6); never
preloaded.

  loop_check.py SPANS REQUESTS LABEL

Checks: exactly one SERVER span per request (by url.path, each path is
unique), no other SERVER span; each with its http.response.status_code and
method (the request's "method", GET when absent); each span's
network.peer.port is the port of the connection that sent that request
(spans are correct per connection); all span ids distinct. Prints
"ok - ..." / "not ok - ..." lines; exit 1 when any failed.
"""

import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import spans as spansmod  # noqa: E402


def main():
    src, reqfile, label = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(reqfile) as f:
        reqs = [json.loads(x) for x in f if x.strip()]
    try:
        allspans = spansmod.load_spans(src) if os.path.exists(src) else []
    except spansmod.Bad as e:
        print("not ok - %s: spans readable\n#   %s" % (label, e))
        return 1
    servers = [s for s in allspans if s["kind"] == 2]
    by_path = collections.defaultdict(list)
    for s in servers:
        by_path[s["attributes"].get("url.path")].append(s)
    failed = 0

    def report(desc, probs):
        nonlocal failed
        if probs:
            failed += 1
            print("not ok - %s: %s" % (label, desc))
            for p in probs[:15]:
                print("#   %s" % p)
        else:
            print("ok - %s: %s" % (label, desc))

    probs = []
    if len(servers) != len(reqs):
        probs.append("%d SERVER spans for %d requests" % (len(servers), len(reqs)))
    for r in reqs:
        n = len(by_path.get(r["path"], []))
        if n != 1:
            probs.append("%s: %d span(s)" % (r["path"], n))
    known = {r["path"] for r in reqs}
    for p in by_path:
        if p not in known:
            probs.append("a span for %r, which no client requested" % (p,))
    report("exactly one SERVER span per request (%d requests on %d connections)"
           % (len(reqs), len({r["conn"] for r in reqs})), probs)

    probs = []
    for r in reqs:
        for s in by_path.get(r["path"], []):
            a = s["attributes"]
            want_m = r.get("method", "GET")
            if a.get("http.response.status_code") != r["status"] or a.get("http.request.method") != want_m:
                probs.append("%s: %s %r, want %s %d" % (r["path"], a.get("http.request.method"),
                                                        a.get("http.response.status_code"), want_m,
                                                        r["status"]))
    report("each span has its request's method and status code", probs)

    probs = []
    for r in reqs:
        for s in by_path.get(r["path"], []):
            pp = s["attributes"].get("network.peer.port")
            if pp != r["lport"]:
                probs.append("%s: network.peer.port %r, the request came from port %d"
                             % (r["path"], pp, r["lport"]))
    report("each span belongs to the connection that sent the request (network.peer.port)", probs)

    ids = [s["spanId"] for s in servers]
    report("no span reused (distinct span ids)",
           [] if len(ids) == len(set(ids)) else ["%d ids, %d distinct" % (len(ids), len(set(ids)))])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
