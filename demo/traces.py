#!/usr/bin/env python3
"""
traces.py - pick the demo's request traces out of the file exporter's output
(one OTLP/JSON ExportTraceServiceRequest per line, written by every process
of the demo), so that the waterfall shows those and not, say, the back end's
start-up (its database connection is a trace of its own).

  traces.py split SRC DIR SERVICE
      one file DIR/trace-N.jsonl per trace that holds a span of SERVICE
      (the demo's curl commands), N = 1, 2, ... in the order the traces
      started; the lines keep their resource and scope, with only that
      trace's spans. Prints the files' paths, one per line.

  traces.py errors FILE
      where the errors of FILE started: the spans whose status is Error and
      that have no child with status Error. For each: service, kind, name,
      error.type, db.response.status_code, db.query.text, and the first
      lines of code.stacktrace when the span has one.

Standard library only; never run with the library preloaded.
"""

import json
import os
import sys

STACK_LINES = 6


def requests(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def each_span(req):
    for rs in req.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                yield rs, s


def attr(obj, key):
    for a in obj.get("attributes", []):
        if a.get("key") == key:
            v = a.get("value", {})
            return next(iter(v.values()), None)
    return None


def split(src, outdir, service):
    reqs = list(requests(src))
    start = {}   # trace id -> earliest start
    wanted = set()
    for req in reqs:
        for rs, s in each_span(req):
            tid = s.get("traceId", "")
            t = int(s.get("startTimeUnixNano", 0))
            start[tid] = min(start.get(tid, t), t)
            if attr(rs.get("resource", {}), "service.name") == service:
                wanted.add(tid)
    order = sorted(wanted, key=lambda t: start[t])
    os.makedirs(outdir, exist_ok=True)
    for n, tid in enumerate(order, 1):
        path = os.path.join(outdir, "trace-%d.jsonl" % n)
        with open(path, "w") as out:
            for req in reqs:
                keep = []
                for rs in req.get("resourceSpans", []):
                    scopes = []
                    for ss in rs.get("scopeSpans", []):
                        spans = [s for s in ss.get("spans", []) if s.get("traceId") == tid]
                        if spans:
                            scopes.append(dict(ss, spans=spans))
                    if scopes:
                        keep.append(dict(rs, scopeSpans=scopes))
                if keep:
                    out.write(json.dumps({"resourceSpans": keep}) + "\n")
        print(path)


def errors(src):
    kinds = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
    failed = []
    for req in requests(src):
        for rs, s in each_span(req):
            if s.get("status", {}).get("code") in (2, "STATUS_CODE_ERROR"):
                failed.append((attr(rs.get("resource", {}), "service.name") or "?", s))
    parents = {s.get("parentSpanId") for _, s in failed}
    for svc, s in sorted(failed, key=lambda x: int(x[1].get("startTimeUnixNano", 0))):
        if s.get("spanId") in parents:
            continue
        print("  %s %s %s" % (svc, kinds.get(s.get("kind"), "?"), s.get("name", "?")))
        for key in ("error.type", "db.response.status_code", "http.response.status_code",
                    "db.query.text"):
            v = attr(s, key)
            if v is not None:
                print("    %s: %s" % (key, v))
        stack = attr(s, "code.stacktrace")
        if stack:
            lines = str(stack).splitlines()
            print("    code.stacktrace:")
            for line in lines[:STACK_LINES]:
                print("      " + line)
            if len(lines) > STACK_LINES:
                print("      ... (%d more)" % (len(lines) - STACK_LINES))


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "split":
        split(a[1], a[2], a[3])
    elif len(a) == 2 and a[0] == "errors":
        errors(a[1])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
