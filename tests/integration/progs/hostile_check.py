#!/usr/bin/env python3
"""
hostile_check.py - the span checks of test_hostile.sh; never preloaded.

  hostile_check.py sig SPANS REQUESTS CONNECTIONS
      progs/sigprog.c: exactly REQUESTS CLIENT spans "GET" and REQUESTS
      SERVER spans "GET", one per target /sig/C/K; each SERVER span's
      parent is the CLIENT span of the same target (the traceparent the
      client's hook inserted), in the same trace; every CLIENT span has
      status code 200; exactly CONNECTIONS "connect" spans.

  hostile_check.py pool SPANS FRONTS
      progs/pool_server.c: FRONTS SERVER spans /front/X, FRONTS CLIENT spans
      GET .../back/X, FRONTS SERVER spans /back/X and FRONTS "connect"
      spans; for every X: the CLIENT span is a child of the /front/X SERVER
      span, the /back/X SERVER span a child of that CLIENT span, all three
      in one trace; every connect span is a child of a /front SERVER span;
      all span ids distinct.

  hostile_check.py chain SPANS SERVER_TRACE_ID STEPS_FILE DAEMON_PID_FILE
      progs/chain.c: one SERVER span /chain in SERVER_TRACE_ID; every step's
      CLIENT span "GET .../NAME" exactly once, made by the pid the step
      reported (resource process.pid), and its parent:
        fork, exec, exec2, vfork, predaemon, daemon: the SERVER span
        spawn: none, in a trace of its own (posix_spawn execs inside glibc,
               unseen: README "What cannot be traced")

  hostile_check.py closefd DIR LABEL
      progs/closefd.c's spans at the receiver: CLIENT spans GET /before-0..3
      and /after-0..3 each present (exactly once by span id).

Prints "ok - ..." / "not ok - ..." lines; exit 1 when any failed.
"""

import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import spans as spansmod  # noqa: E402

failed = 0


def report(label, desc, probs):
    global failed
    if probs:
        failed += 1
        print("not ok - %s: %s" % (label, desc))
        for p in probs[:15]:
            print("#   %s" % p)
        if len(probs) > 15:
            print("#   ... %d more" % (len(probs) - 15))
    else:
        print("ok - %s: %s" % (label, desc))


def load(src, label):
    try:
        return spansmod.load_spans(src) if os.path.exists(src) else []
    except spansmod.Bad as e:
        report(label, "spans readable", [str(e)])
        return None


def path_of(sp):
    a = sp["attributes"]
    p = a.get("url.path")
    if p is None and a.get("url.full"):
        full = a["url.full"]
        i = full.find("/", full.find("//") + 2)
        p = full[i:] if i >= 0 else "/"
    return p


def by_kind_path(all_spans, kind, name="GET"):
    out = collections.defaultdict(list)
    for s in all_spans:
        if s["kind"] == kind and s["name"] == name:
            out[path_of(s)].append(s)
    return out


def check_sig(src, n, conns):
    label = "2 signals"
    all_spans = load(src, label)
    if all_spans is None:
        return
    want = ["/sig/%d/%d" % (c, k) for c in range(2) for k in range(n // 2 + (c < n % 2))]
    cl = by_kind_path(all_spans, 3)
    sv = by_kind_path(all_spans, 2)
    probs = []
    for p in want:
        if len(cl.get(p, [])) != 1 or len(sv.get(p, [])) != 1:
            probs.append("%s: %d CLIENT, %d SERVER span(s)" % (p, len(cl.get(p, [])), len(sv.get(p, []))))
    extra = (sum(len(v) for v in cl.values()) - len(want), sum(len(v) for v in sv.values()) - len(want))
    if extra != (0, 0):
        probs.append("extra GET spans: %d CLIENT, %d SERVER" % extra)
    report(label, "one CLIENT and one SERVER span per request (%d each)" % len(want), probs)
    probs = []
    for p in want:
        if len(cl.get(p, [])) == 1 and len(sv.get(p, [])) == 1:
            c, s = cl[p][0], sv[p][0]
            if s["parentSpanId"] != c["spanId"] or s["traceId"] != c["traceId"]:
                probs.append("%s: SERVER parent %s/%s, CLIENT %s/%s" % (
                    p, s["traceId"], s["parentSpanId"], c["traceId"], c["spanId"]))
            if c["attributes"].get("http.response.status_code") != 200:
                probs.append("%s: CLIENT status code %r" % (p, c["attributes"].get("http.response.status_code")))
    report(label, "every SERVER span is the child of its request's CLIENT span; status 200", probs)
    nconn = sum(1 for s in all_spans if s["name"] == "connect")
    report(label, "%d connect spans" % conns,
           [] if nconn == conns else ["%d connect spans" % nconn])


def check_pool(src, fronts):
    label = "3 200 threads"
    all_spans = load(src, label)
    if all_spans is None:
        return
    fs = {p[len("/front/"):]: v for p, v in by_kind_path(all_spans, 2).items() if p.startswith("/front/")}
    bs = {p[len("/back/"):]: v for p, v in by_kind_path(all_spans, 2).items() if p.startswith("/back/")}
    cs = {p[len("/back/"):]: v for p, v in by_kind_path(all_spans, 3).items() if p.startswith("/back/")}
    conn = [s for s in all_spans if s["name"] == "connect"]
    counts = (sum(map(len, fs.values())), sum(map(len, cs.values())), sum(map(len, bs.values())), len(conn))
    report(label, "%d front SERVER, back CLIENT, back SERVER and connect spans" % fronts,
           [] if counts == (fronts,) * 4 and len(all_spans) == 4 * fronts else
           ["front SERVER %d, back CLIENT %d, back SERVER %d, connect %d; %d spans in all" % (counts + (len(all_spans),))])
    probs = []
    for x, f in fs.items():
        c, b = cs.get(x, []), bs.get(x, [])
        if len(f) != 1 or len(c) != 1 or len(b) != 1:
            probs.append("%s: %d front, %d client, %d back spans" % (x, len(f), len(c), len(b)))
            continue
        f, c, b = f[0], c[0], b[0]
        if c["parentSpanId"] != f["spanId"] or c["traceId"] != f["traceId"]:
            probs.append("%s: CLIENT parent %s, front SERVER span %s" % (x, c["parentSpanId"], f["spanId"]))
        if b["parentSpanId"] != c["spanId"] or b["traceId"] != c["traceId"]:
            probs.append("%s: back SERVER parent %s, CLIENT span %s" % (x, b["parentSpanId"], c["spanId"]))
        if f["parentSpanId"]:
            probs.append("%s: front SERVER span has a parent %s" % (x, f["parentSpanId"]))
    report(label, "each back call is the child of the front request its thread serves, "
           "each back SERVER span the child of that call", probs)
    front_ids = {s[0]["spanId"] for s in fs.values() if len(s) == 1}
    bad = [s["spanId"] for s in conn if s["parentSpanId"] not in front_ids]
    report(label, "every connect span is a child of a front SERVER span",
           ["%d connect span(s) elsewhere, e.g. %s" % (len(bad), bad[:3])] if bad else [])
    ids = [s["spanId"] for s in all_spans]
    report(label, "all %d span ids distinct" % len(ids),
           [] if len(set(ids)) == len(ids) else ["%d duplicates" % (len(ids) - len(set(ids)))])


def check_chain(src, trace, steps_file, daemon_file):
    label = "4 chains"
    all_spans = load(src, label)
    if all_spans is None:
        return
    steps = {}
    with open(steps_file) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                steps[parts[0]] = (int(parts[1]), int(parts[2]))
    with open(daemon_file) as f:
        dpid = int(f.read().split()[0])
    srv = [s for s in all_spans if s["kind"] == 2]
    probs = []
    if len(srv) != 1 or path_of(srv[0]) != "/chain" or srv[0]["traceId"] != trace:
        probs.append("SERVER spans: %s" % [(path_of(s), s["traceId"]) for s in srv])
    report(label, "one SERVER span /chain in the caller's trace", probs)
    if len(srv) != 1:
        return
    s_id = srv[0]["spanId"]
    cl = by_kind_path(all_spans, 3)
    pid_of = {
        "fork": steps.get("fork", (0,))[0],
        "exec": steps.get("exec", (0,))[0],
        "exec2": steps.get("exec", (0,))[0],     # exec keeps the pid
        "vfork": steps.get("vfork", (0,))[0],
        "spawn": steps.get("spawn", (0,))[0],
        "predaemon": steps.get("daemon-parent", (0,))[0],
        "daemon": dpid,
    }
    what = {
        "fork": "fork child, its own exporter",
        "exec": "fork + exec, TRACEPARENT",
        "exec2": "exec of the exec'd image: TRACEPARENT passed on",
        "vfork": "vfork + exec",
        "predaemon": "made just before daemon() (flushed before the process _exits inside it)",
        "daemon": "the daemon after daemon()",
    }
    for name, pid in pid_of.items():
        got = cl.get("/" + name, [])
        probs = []
        if len(got) != 1:
            probs.append("%d CLIENT span(s) GET /%s" % (len(got), name))
        else:
            sp = got[0]
            if sp["resource"].get("process.pid") != pid:
                probs.append("process.pid %r, want %d" % (sp["resource"].get("process.pid"), pid))
            if name == "spawn":
                if sp["parentSpanId"] or sp["traceId"] == trace:
                    probs.append("parent %r trace %s: posix_spawn was expected to be unseen "
                                 "(update this check and the README if it is now traced)"
                                 % (sp["parentSpanId"], sp["traceId"]))
            elif sp["parentSpanId"] != s_id or sp["traceId"] != trace:
                probs.append("parent %s trace %s, want %s in %s" % (sp["parentSpanId"], sp["traceId"], s_id, trace))
        desc = ("spawn: posix_spawn's child is a trace of its own (documented: glibc execs unseen)"
                if name == "spawn" else "%s: GET /%s is a child of the SERVER span (%s)" % (name, name, what[name]))
        report(label, desc, probs)


def check_closefd(src, label):
    all_spans = load(src, label)
    if all_spans is None:
        return
    cl = collections.defaultdict(set)
    for s in all_spans:
        if s["kind"] == 3 and s["name"] == "GET":
            cl[path_of(s)].add(s["spanId"])
    probs = []
    for name in ["before-%d" % i for i in range(4)] + ["after-%d" % i for i in range(4)]:
        if len(cl.get("/" + name, ())) != 1:
            probs.append("/%s: %d span(s)" % (name, len(cl.get("/" + name, ()))))
    report(label, "spans from before and after the close-all all exported", probs)


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "sig" and len(argv) == 5:
        check_sig(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "pool" and len(argv) == 4:
        check_pool(argv[2], int(argv[3]))
    elif cmd == "chain" and len(argv) == 6:
        check_chain(argv[2], argv[3], argv[4], argv[5])
    elif cmd == "closefd" and len(argv) == 4:
        check_closefd(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
