#!/usr/bin/env python3
"""
waterfall.py - print the traces in OTLP/JSON lines files (the file
exporter's format) as indented trees with time bars. A first, plain
version of `otelpreload view`.

usage: waterfall.py FILE...
"""
import json
import sys


def spans(paths):
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                req = json.loads(line)
                for rs in req.get("resourceSpans", []):
                    svc = "?"
                    for a in rs.get("resource", {}).get("attributes", []):
                        if a["key"] == "service.name":
                            svc = a["value"].get("stringValue", "?")
                    for ss in rs.get("scopeSpans", []):
                        for s in ss.get("spans", []):
                            s["_svc"] = svc
                            yield s


def attr(s, key):
    for a in s.get("attributes", []):
        if a["key"] == key:
            v = a["value"]
            return next(iter(v.values()))
    return None


def main():
    all_spans = list(spans(sys.argv[1:]))
    by_trace = {}
    for s in all_spans:
        by_trace.setdefault(s["traceId"], []).append(s)
    kinds = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
    for tid, ss in by_trace.items():
        t0 = min(int(s["startTimeUnixNano"]) for s in ss)
        t1 = max(int(s["endTimeUnixNano"]) for s in ss)
        width = max(t1 - t0, 1)
        ids = {s["spanId"] for s in ss}
        children = {}
        for s in ss:
            p = s.get("parentSpanId") or ""
            children.setdefault(p if p in ids else "", []).append(s)
        print("trace %s  %.3f ms, %d spans" % (tid, (t1 - t0) / 1e6, len(ss)))

        def show(s, depth):
            st, en = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
            a = int(40 * (st - t0) / width)
            b = max(a + 1, int(40 * (en - t0) / width))
            bar = " " * a + "#" * (b - a) + " " * (40 - b)
            what = attr(s, "url.path") or attr(s, "url.full") or attr(s, "dns.question.name") \
                or attr(s, "network.peer.address") or ""
            code = attr(s, "http.response.status_code")
            err = " ERROR" if s.get("status", {}).get("code") == 2 else ""
            label = "%s%s %s %s %s" % ("  " * depth, s["_svc"], kinds.get(s.get("kind"), "?"),
                                       s["name"], what)
            print("  |%s| %-58s %8.3f ms%s%s" % (bar, label[:58], (en - st) / 1e6,
                                               " %s" % code if code else "", err))
            for c in sorted(children.get(s["spanId"], []), key=lambda x: int(x["startTimeUnixNano"])):
                show(c, depth + 1)

        for r in sorted(children.get("", []), key=lambda x: int(x["startTimeUnixNano"])):
            show(r, 0)
        print()


if __name__ == "__main__":
    main()
