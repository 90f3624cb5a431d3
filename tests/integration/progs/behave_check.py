#!/usr/bin/env python3
"""
behave_check.py - compares the SERVER spans of behave_server.py with the
responses behave_client.py got (test_http.sh 6; never preloaded).

  behave_check.py SPANS RESPONSES --script default|exclude|traceresponse
                  [--trace T --parent P] [--traceresponse on|off]

Prints "ok - ..." / "not ok - ..." lines (details as "#" lines); exit 1
when any failed.
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import spans as spansmod  # noqa: E402

# What each request must get: (method, target) -> (status, body)
WANT_BODY = {
    ("GET", "/ok"): (200, "ok"), ("HEAD", "/ok"): (200, ""), ("GET", "/empty"): (204, ""),
    ("GET", "/missing"): (404, "missing"), ("GET", "/fail"): (500, "fail"),
    ("GET", "/chunked"): (200, "alphabetagamma"),
}
TR = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

failed = 0


def report(desc, problems):
    global failed
    if problems:
        failed += 1
        print("not ok - %s" % desc)
        for p in problems[:20]:
            print("#   %s" % p)
    else:
        print("ok - %s" % desc)


def want_status(r):
    m, t = r["method"], r["target"]
    if (m, t) in WANT_BODY:
        return WANT_BODY[(m, t)][0]
    if t == "/etag":
        return 304 if r["sent_if_none_match"] else 200
    return 200


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spans")
    ap.add_argument("responses")
    ap.add_argument("--script", required=True)
    ap.add_argument("--trace", default="")
    ap.add_argument("--parent", default="")
    ap.add_argument("--traceresponse", choices=("on", "off"), default="off")
    a = ap.parse_args()

    with open(a.responses) as f:
        resps = [json.loads(x) for x in f if x.strip()]
    for r in resps:
        r["path"] = r["target"].split("?", 1)[0]
        r["sent_if_none_match"] = any(n.lower() == "if-none-match" for n, _v in r["sent_headers"])

    try:
        allspans = spansmod.load_spans(a.spans) if os.path.exists(a.spans) else []
    except spansmod.Bad as e:
        report("%s: spans readable" % a.script, [str(e)])
        return 1
    servers = [s for s in allspans if s["kind"] == 2]

    # 1. the client saw the right statuses and bodies (the library changed nothing)
    probs = []
    for r in resps:
        ws = want_status(r)
        if r["status"] != ws:
            probs.append("%s %s: status %d, want %d" % (r["method"], r["target"], r["status"], ws))
        wb = WANT_BODY.get((r["method"], r["target"]))
        if wb and r["body"] != wb[1]:
            probs.append("%s %s: body %r, want %r" % (r["method"], r["target"], r["body"], wb[1]))
        if r["target"] == "/echo" and r["body"] not in ("hello-echo", "pipelined-echo"):
            probs.append("POST /echo: body %r" % r["body"])
        if r["target"].startswith(("/p", "/with", "/other", "/tr/")) and \
                r["body"] != "path=" + r["target"]:
            probs.append("%s: body %r" % (r["target"], r["body"]))
    report("%s: the client got every response intact (%d on one connection, some pipelined)"
           % (a.script, len(resps)), probs)

    # 2. one SERVER span per (non-excluded) request, with method/path/status
    excluded = {"/health"} if a.script == "exclude" else set()
    want = sorted((r["method"], r["path"], r["status"]) for r in resps if r["path"] not in excluded)
    got = sorted((s["attributes"].get("http.request.method"), s["attributes"].get("url.path"),
                  s["attributes"].get("http.response.status_code")) for s in servers)
    probs = []
    if want != got:
        probs.append("want %d span(s) %r" % (len(want), want))
        probs.append("got  %d span(s) %r" % (len(got), got))
    report("%s: one SERVER span per request, each with its method, url.path and status code"
           % a.script, probs)

    ids = [s["spanId"] for s in servers]
    report("%s: no span reused (%d distinct span ids)" % (a.script, len(set(ids))),
           [] if len(set(ids)) == len(ids) else ["duplicate span ids: %r" % ids])

    if a.script == "default":
        probs = []
        for s in servers:
            code = s["attributes"].get("http.response.status_code")
            st = s["status"]["code"]
            if isinstance(code, int) and code >= 500:
                if st != 2 or s["attributes"].get("error.type") != str(code):
                    probs.append("%s %s: status %s error.type %r, want ERROR and %r"
                                 % (s["name"], s["attributes"].get("url.path"), st,
                                    s["attributes"].get("error.type"), str(code)))
            elif st == 2:
                probs.append("%s %s (%s): ERROR status, want unset"
                             % (s["name"], s["attributes"].get("url.path"), code))
        report("default: 5xx server spans are ERROR with error.type, 2xx/3xx/4xx are not", probs)
        probs = []
        for s in servers:
            if s["start"] > s["end"]:
                probs.append("%s ends before it starts" % s["attributes"].get("url.path"))
            if s["attributes"].get("url.scheme") != "http":
                probs.append("%s: url.scheme %r" % (s["attributes"].get("url.path"),
                                                    s["attributes"].get("url.scheme")))
        report("default: server spans have url.scheme=http and start <= end", probs)

    if a.trace:
        sp = [s for s in servers if s["attributes"].get("url.path") in ("/withparent", "/tr/5")]
        probs = []
        if len(sp) != 1:
            probs.append("%d span(s) for the request with a traceparent" % len(sp))
        elif sp[0]["traceId"] != a.trace or sp[0]["parentSpanId"] != a.parent:
            probs.append("trace %s parent %s, want %s %s" % (sp[0]["traceId"], sp[0]["parentSpanId"],
                                                            a.trace, a.parent))
        report("%s: the request with a traceparent makes a child of it" % a.script, probs)
        others = {s["traceId"] for s in servers if s not in sp}
        report("%s: requests without a traceparent are not in the incoming trace" % a.script,
               [] if a.trace not in others else ["a span without a traceparent has trace %s" % a.trace])

    # 3. traceresponse
    probs = []
    for r in resps:
        trs = [v for n, v in r["headers"] if n.lower() == "traceresponse"]
        if a.traceresponse == "off":
            if trs:
                probs.append("%s: traceresponse %r without the variable" % (r["target"], trs))
            continue
        if len(trs) != 1:
            probs.append("%s: %d traceresponse header(s), want 1" % (r["target"], len(trs)))
            continue
        m = TR.match(trs[0])
        if not m:
            probs.append("%s: traceresponse %r is not 00-<32 hex>-<16 hex>-<2 hex>" % (r["target"], trs[0]))
            continue
        sp = [s for s in servers if s["attributes"].get("url.path") == r["path"]]
        if len(sp) != 1:
            probs.append("%s: %d server span(s)" % (r["target"], len(sp)))
            continue
        if (m.group(1), m.group(2)) != (sp[0]["traceId"], sp[0]["spanId"]):
            probs.append("%s: traceresponse %s, server span %s-%s"
                         % (r["target"], trs[0], sp[0]["traceId"], sp[0]["spanId"]))
        # the sampled bit agrees with the span's W3C flags (low byte of flags)
        if sp[0]["flags"] and (int(m.group(3), 16) & 1) != (sp[0]["flags"] & 1):
            probs.append("%s: traceresponse flags %s, span flags %x"
                         % (r["target"], m.group(3), sp[0]["flags"]))
    if a.traceresponse == "off":
        report("%s: no traceresponse header without OTELPRELOAD_HTTP_TRACERESPONSE" % a.script, probs)
    else:
        report("%s: every response carries one traceresponse naming its server span" % a.script, probs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
