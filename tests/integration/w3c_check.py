#!/usr/bin/env python3
"""
w3c_check.py - W3C Trace Context conformance, checked from outside (never
preloaded). Our own checker, written from the specification (Trace Context
Level 1, and Level 2's random trace-id flag), not from the W3C test suite.

The service under test (progs/w3c_service.py, preloaded, with no tracing
code of its own) accepts POST with a JSON body [{"url": U, "arguments": A}]
and POSTs json.dumps(A) to each U. This checker:

  - runs a callback server that keeps the exact header lines of every
    request it receives, keyed by the case name in the URL path;
  - per case, sends the service a request with chosen traceparent /
    tracestate header lines (raw bytes over a socket: exact whitespace,
    duplicated headers, odd spellings), asking it to call back;
  - compares the callback's traceparent/tracestate with what the spec says
    the service must send on.

Rules (spec sections in brackets):
  traceparent = version "-" trace-id "-" parent-id "-" trace-flags,
  lowercase hex only [traceparent Header Field Values]; version ff invalid;
  all-zero trace-id or parent-id invalid; version 00 is exactly 55 chars;
  a higher version is parsed by position: at least 55 chars, and after the
  flags either the end or "-" [Versioning of traceparent]; the service
  re-emits version 00. Header names in any case; HTTP strips OWS around a
  field value. Two traceparent fields: invalid.
  Valid traceparent: the callback keeps the trace-id, has a new parent-id
  [Mutating the traceparent Field], keeps the sampled flag, keeps the
  random flag (Level 2, 0x02) and sets no other flag bit ("Vendors MUST set
  those to zero"), and forwards tracestate [Mutating the tracestate Field]
  with the same members in the same order.
  Invalid traceparent: a restarted trace (a new trace-id), no tracestate
  ("MUST NOT attempt to parse tracestate"; "SHOULD clean up tracestate").
  A trace-id the service mints is random, so it sets the random flag.
  tracestate: list of at most 32 members, OWS around members ignored,
  empty members allowed, multiple fields combined in order; keys tested
  are valid (or invalid) under both Level 1 (simple-key / tenant "@"
  system) and Level 2 ([a-z0-9][a-z0-9_\\-*/@]{0,255}); value 1-256 chars
  of 0x20-0x7e without "," and "=", not ending in a space; one entry per
  key. Anything invalid: the whole tracestate is dropped (the trace itself
  continues). For a version above 00 only the sampled bit is asserted
  ("Parse the sampled bit of flags").
  Every callback carries exactly one traceparent.

Prints one "ok - ..." / "not ok - ..." line per case (with "# ..." detail
lines after a failure) and a summary; exit 1 when any case failed.

usage: w3c_check.py --service-port PORT [--timeout SECONDS]
"""

import argparse
import json
import random
import re
import socket
import socketserver
import sys
import threading
import time

TP00 = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
OWS = " \t"


# ---------------------------------------------------------------------------
# The callback server: records raw header lines per request.

class Captured:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_case = {}

    def put(self, case, headers):
        with self.lock:
            self.by_case.setdefault(case, []).append(headers)

    def get(self, case):
        with self.lock:
            return list(self.by_case.get(case, []))


CAPTURED = Captured()


class CallbackHandler(socketserver.StreamRequestHandler):
    """A minimal HTTP/1.x server: keeps every header line as (name, value)
    exactly as received (value without the OWS around it, per RFC 9110
    5.5), answers 200 and closes."""

    def handle(self):
        self.connection.settimeout(10)
        line = self.rfile.readline(65537)
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            return
        path = parts[1]
        headers = []
        length = 0
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            text = h.decode("latin-1").rstrip("\r\n")
            name, _, value = text.partition(":")
            headers.append((name, value.strip(OWS)))
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length:
            self.rfile.read(length)
        m = re.match(r"^/cb/([A-Za-z0-9_.-]+)$", path)
        if m:
            CAPTURED.put(m.group(1), headers)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class CallbackServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---------------------------------------------------------------------------
# Talking to the service.

def ask_service(port, cb_port, case, header_lines, timeout):
    """POST one call-back request to the service with the given raw header
    lines (str, without CRLF). Returns the response status code."""
    body = json.dumps([{"url": "http://127.0.0.1:%d/cb/%s" % (cb_port, case),
                        "arguments": [case]}]).encode()
    head = ["POST /test HTTP/1.1", "Host: 127.0.0.1:%d" % port,
            "Content-Type: application/json", "Content-Length: %d" % len(body)]
    head += header_lines
    head += ["Connection: close", "", ""]
    data = "\r\n".join(head).encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------
# Our reading of what the callback carries.

def field_values(headers, name):
    return [v for n, v in headers if n.strip().lower() == name]


def tracestate_members(headers):
    """Combined tracestate members (RFC 9110 5.3 field order), OWS around
    each member trimmed, empty members left out. None when absent."""
    vals = field_values(headers, "tracestate")
    if not vals:
        return None
    out = []
    for v in vals:
        for m in v.split(","):
            m = m.strip(OWS)
            if m:
                out.append(m)
    return out


class Case:
    """expect: "continue" (keep the trace) or "restart" (new trace).
    trace: the trace-id sent (or ids that must not come back).
    sampled/random: the flag bits the callback must carry (None: either).
    tracestate: the member list the callback must carry (None: absent or
    empty)."""

    def __init__(self, name, lines, expect, trace=(), parent=(), sampled=None,
                 random_flag=None, tracestate=None, level=1):
        self.name = name
        self.lines = lines
        self.expect = expect
        self.trace = (trace,) if isinstance(trace, str) else tuple(trace)
        self.parent = (parent,) if isinstance(parent, str) else tuple(parent)
        self.sampled = sampled
        self.random_flag = random_flag
        self.tracestate = tracestate
        self.level = level


def judge(case, captured):
    """Returns a list of problems (empty: conformant) and the callback's
    trace-id (or None)."""
    if len(captured) != 1:
        return ["the service made %d callback(s), want 1" % len(captured)], None
    hdrs = captured[0]
    tps = field_values(hdrs, "traceparent")
    problems = []
    if len(tps) != 1:
        return ["callback carries %d traceparent field(s), want exactly 1: %r" % (len(tps), tps)], None
    m = TP00.match(tps[0])
    if not m:
        return ["callback traceparent %r is not version 00 lowercase hex" % tps[0]], None
    tid, pid, flags = m.group(1), m.group(2), int(m.group(3), 16)
    if tid == "0" * 32 or pid == "0" * 16:
        problems.append("callback traceparent %r has an all-zero id" % tps[0])
    if pid in case.parent:
        problems.append("callback parent-id %s is the incoming one: not a new span" % pid)
    if flags & ~0x03:
        problems.append("callback flags %02x set bits other than sampled/random" % flags)
    if case.expect == "continue":
        if tid != case.trace[0]:
            problems.append("trace-id %s, want the incoming %s" % (tid, case.trace[0]))
    else:
        if tid in case.trace:
            problems.append("trace-id %s is the invalid incoming one: want a new trace" % tid)
    if case.sampled is not None and bool(flags & 1) != case.sampled:
        problems.append("sampled flag %d, want %d (flags %02x)" % (flags & 1, case.sampled, flags))
    if case.random_flag is not None and bool(flags & 2) != case.random_flag:
        problems.append("random flag %d, want %d (flags %02x)" % ((flags >> 1) & 1, case.random_flag, flags))
    ts = tracestate_members(hdrs)
    want = case.tracestate
    if want is None:
        if ts:
            problems.append("tracestate %r forwarded, want none" % (ts,))
    elif ts != want:
        problems.append("tracestate members %r, want %r" % (ts, want))
    return problems, tid


# ---------------------------------------------------------------------------
# The cases.

def rand_hex(rng, n):
    while True:
        s = "".join(rng.choice("0123456789abcdef") for _ in range(n))
        if s.strip("0") and re.search("[a-f]", s):
            return s


def build_cases(rng):
    T = rand_hex(rng, 32)
    P = rand_hex(rng, 16)
    T2 = rand_hex(rng, 32)
    P2 = rand_hex(rng, 16)
    ok_tp = "00-%s-%s-01" % (T, P)
    cases = []

    def cont(name, lines, **kw):
        kw.setdefault("sampled", True)
        kw.setdefault("random_flag", False)
        cases.append(Case(name, lines, "continue", trace=T, parent=(P, P2), **kw))

    def restart(name, tp_lines, **kw):
        # a tracestate rides along: it must be dropped with the traceparent
        lines = list(tp_lines) + ["tracestate: foo=1"]
        kw.setdefault("random_flag", True)
        cases.append(Case(name, lines, "restart", trace=(T, T2), parent=(P, P2), **kw))

    # --- traceparent, valid
    cont("tp_valid_sampled", ["traceparent: " + ok_tp])
    cont("tp_valid_unsampled", ["traceparent: 00-%s-%s-00" % (T, P)], sampled=False)
    cont("tp_header_name_mixed_case", ["TraceParent: " + ok_tp])
    cont("tp_header_name_upper_case", ["TRACEPARENT: " + ok_tp])
    cont("tp_leading_trailing_spaces", ["traceparent:   %s   " % ok_tp])
    cont("tp_leading_trailing_tabs", ["traceparent:\t%s\t" % ok_tp])
    cont("tp_no_space_after_colon", ["traceparent:" + ok_tp])
    cont("tp_unknown_flag_bits_zeroed", ["traceparent: 00-%s-%s-09" % (T, P)])
    cont("tp_future_version_cc", ["traceparent: cc-%s-%s-01" % (T, P)])
    cont("tp_future_version_cc_extra_fields",
         ["traceparent: cc-%s-%s-01-what-the-future-will-be-like" % (T, P)])
    cont("tp_future_version_01_unsampled_extra", ["traceparent: 01-%s-%s-00-xyz" % (T, P)],
         sampled=False)

    # --- traceparent, invalid: restart
    restart("tp_version_ff", ["traceparent: ff-%s-%s-01" % (T, P)])
    restart("tp_uppercase_trace_id", ["traceparent: 00-%s-%s-01" % (T.upper(), P)])
    restart("tp_uppercase_parent_id", ["traceparent: 00-%s-%s-01" % (T, P.upper())])
    restart("tp_uppercase_flags", ["traceparent: 00-%s-%s-0A" % (T, P)])
    restart("tp_zero_trace_id", ["traceparent: 00-%s-%s-01" % ("0" * 32, P)])
    restart("tp_zero_parent_id", ["traceparent: 00-%s-%s-01" % (T, "0" * 16)])
    restart("tp_trace_id_31", ["traceparent: 00-%s-%s-01" % (T[:31], P)])
    restart("tp_trace_id_33", ["traceparent: 00-%s0-%s-01" % (T, P)])
    restart("tp_parent_id_15", ["traceparent: 00-%s-%s-01" % (T, P[:15])])
    restart("tp_parent_id_17", ["traceparent: 00-%s-%s0-01" % (T, P)])
    restart("tp_flags_1_char", ["traceparent: 00-%s-%s-1" % (T, P)])
    restart("tp_flags_3_chars", ["traceparent: 00-%s-%s-011" % (T, P)])
    restart("tp_version_1_char", ["traceparent: 0-%s-%s-01" % (T, P)])
    restart("tp_version_3_chars", ["traceparent: 000-%s-%s-01" % (T, P)])
    restart("tp_version_00_extra_field", ["traceparent: 00-%s-%s-01-extra" % (T, P)])
    restart("tp_version_00_trailing_dot", ["traceparent: 00-%s-%s-01." % (T, P)])
    restart("tp_illegal_char_trace_id", ["traceparent: 00-%sg-%s-01" % (T[:31], P)])
    restart("tp_illegal_char_parent_id", ["traceparent: 00-%s-%s.-01" % (T, P[:15])])
    restart("tp_illegal_char_flags", ["traceparent: 00-%s-%s-0g" % (T, P)])
    restart("tp_illegal_char_version", ["traceparent: 0g-%s-%s-01" % (T, P)])
    restart("tp_wrong_delimiter", ["traceparent: 00_%s_%s_01" % (T, P)])
    restart("tp_inner_space", ["traceparent: 00-%s -%s-01" % (T, P)])
    restart("tp_empty_value", ["traceparent: "])
    restart("tp_garbage", ["traceparent: hello-world"])
    restart("tp_future_version_short", ["traceparent: cc-%s-%s-0" % (T, P)])
    restart("tp_future_version_bad_after_flags", ["traceparent: cc-%s-%s-01.what" % (T, P)])
    restart("tp_future_version_uppercase", ["traceparent: cc-%s-%s-01" % (T.upper(), P)])
    restart("tp_future_version_zero_trace_id", ["traceparent: cc-%s-%s-01" % ("0" * 32, P)])
    restart("tp_two_headers", ["traceparent: " + ok_tp, "traceparent: 00-%s-%s-01" % (T2, P2)])
    restart("tp_two_identical_headers", ["traceparent: " + ok_tp, "traceparent: " + ok_tp])

    # --- tracestate, with a valid traceparent
    tp = ["traceparent: " + ok_tp]
    cont("ts_forwarded", tp + ["tracestate: foo=1,bar=2"], tracestate=["foo=1", "bar=2"])
    cont("ts_forwarded_unsampled", ["traceparent: 00-%s-%s-00" % (T, P), "tracestate: foo=1"],
         sampled=False, tracestate=["foo=1"])
    cont("ts_header_name_mixed_case", tp + ["TraceState: foo=1"], tracestate=["foo=1"])
    m32 = ["k%d=v%d" % (i, i) for i in range(32)]
    cont("ts_32_members_kept", tp + ["tracestate: " + ",".join(m32)], tracestate=m32)
    m33 = ["k%d=v%d" % (i, i) for i in range(33)]
    cont("ts_33_members_dropped", tp + ["tracestate: " + ",".join(m33)])
    cont("ts_multiple_headers_combined", tp + ["tracestate: foo=1", "tracestate: bar=2,baz=3"],
         tracestate=["foo=1", "bar=2", "baz=3"])
    cont("ts_ows_trimmed", tp + ["tracestate:  foo=1 ,\tbar=2 \t, baz=3"],
         tracestate=["foo=1", "bar=2", "baz=3"])
    cont("ts_empty_members_allowed", tp + ["tracestate: foo=1,,bar=2, ,"],
         tracestate=["foo=1", "bar=2"])
    cont("ts_empty_header", tp + ["tracestate: "])
    # Keys valid under both the Level 1 grammar (simple key starting with a
    # letter, or tenant@system with a system-id of at most 14 chars starting
    # with a letter) and Level 2's single rule (lcalpha / DIGIT) 0*255
    # keychar. Where the two disagree ("0key", "a@b@c", "foo@0bar", a
    # 15-char system-id) nothing is asserted: Level 2 is a draft, and
    # accepting or refusing such keys both conform to one of them.
    cont("ts_key_charset", tp + ["tracestate: a1_-*/@z=1,foo@bar=3,x*y/z_w-v=2"],
         tracestate=["a1_-*/@z=1", "foo@bar=3", "x*y/z_w-v=2"])
    k256 = "k" * 256
    cont("ts_key_256_kept", tp + ["tracestate: %s=1" % k256], tracestate=["%s=1" % k256])
    v256 = "v" * 256
    cont("ts_value_256_kept", tp + ["tracestate: foo=" + v256], tracestate=["foo=" + v256])
    cont("ts_value_printable_kept", tp + ["tracestate: foo=a b!~\"#;:", "tracestate: bar=x"],
         tracestate=["foo=a b!~\"#;:", "bar=x"])
    big = ["m%d=%s" % (i, "x" * 58) for i in range(8)]     # 8 * 61 + 7 = 495 chars
    cont("ts_495_chars_kept", tp + ["tracestate: " + ",".join(big)], tracestate=big)
    cont("ts_key_uppercase_dropped", tp + ["tracestate: Foo=1,bar=2"])
    cont("ts_key_leading_underscore_dropped", tp + ["tracestate: _foo=1,bar=2"])
    cont("ts_key_illegal_char_dropped", tp + ["tracestate: foo.bar=1,bar=2"])
    cont("ts_key_257_dropped", tp + ["tracestate: %s=1,bar=2" % ("k" * 257)])
    cont("ts_key_empty_dropped", tp + ["tracestate: =1,bar=2"])
    cont("ts_value_with_equals_dropped", tp + ["tracestate: foo=a=b,bar=2"])
    cont("ts_value_empty_dropped", tp + ["tracestate: foo=,bar=2"])
    cont("ts_value_257_dropped", tp + ["tracestate: foo=%s,bar=2" % ("v" * 257)])
    cont("ts_value_with_tab_dropped", tp + ["tracestate: foo=a\tb,bar=2"])
    cont("ts_value_non_ascii_dropped", tp + ["tracestate: foo=caf\xe9,bar=2"])
    cont("ts_member_without_equals_dropped", tp + ["tracestate: foo,bar=2"])
    cont("ts_duplicate_keys_dropped", tp + ["tracestate: foo=1,bar=2,foo=3"])
    cont("ts_duplicate_keys_across_headers_dropped", tp + ["tracestate: foo=1", "tracestate: foo=2"])
    cases.append(Case("ts_without_traceparent_dropped", ["tracestate: foo=1"], "restart",
                      trace=(T, T2), parent=(P, P2), random_flag=True))

    # --- Level 2: the random trace-id flag
    cont("l2_random_flag_kept_sampled", ["traceparent: 00-%s-%s-03" % (T, P)],
         random_flag=True, level=2)
    cont("l2_random_flag_kept_unsampled", ["traceparent: 00-%s-%s-02" % (T, P)],
         sampled=False, random_flag=True, level=2)
    cont("l2_random_flag_not_invented", ["traceparent: " + ok_tp], random_flag=False, level=2)
    cases.append(Case("l2_new_trace_sets_random_and_sampled", [], "restart", trace=(T, T2),
                      sampled=True, random_flag=True, level=2))
    cases.append(Case("l2_restarted_trace_sets_random", ["traceparent: ff-%s-%s-01" % (T, P)],
                      "restart", trace=(T, T2), parent=(P,), random_flag=True, level=2))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--service-port", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()

    srv = CallbackServer(("127.0.0.1", 0), CallbackHandler)
    cb_port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    rng = random.Random(a.seed if a.seed is not None else time.time_ns())
    cases = build_cases(rng)
    failed = 0
    restarted = {}
    for case in cases:
        try:
            status = ask_service(a.service_port, cb_port, case.name, case.lines, a.timeout)
        except OSError as e:
            status = "error: %s" % e
        if status != 200:
            problems, tid = ["the service answered %r, want 200" % (status,)], None
        else:
            problems, tid = judge(case, CAPTURED.get(case.name))
        if case.expect == "restart" and tid:
            restarted[case.name] = tid
        label = "L%d %s" % (case.level, case.name)
        if problems:
            failed += 1
            print("not ok - %s" % label)
            print("#   sent: %r" % (case.lines,))
            got = CAPTURED.get(case.name)
            print("#   callback trace headers: %r" % (
                [(n, v) for h in got for n, v in h if n.strip().lower() in ("traceparent", "tracestate")],))
            for p in problems:
                print("#   %s" % p)
        else:
            print("ok - %s" % label)

    # Every restart is its own new trace: no trace-id shared between requests.
    label = "L1 restarted traces are all distinct (%d requests)" % len(restarted)
    ids = list(restarted.values())
    if len(ids) >= 2 and len(set(ids)) == len(ids):
        print("ok - %s" % label)
    else:
        failed += 1
        dup = sorted({t for t in ids if ids.count(t) > 1})
        print("not ok - %s" % label)
        print("#   shared trace-ids: %r" % dup)
    print("# w3c_check: %d case(s), %d failed" % (len(cases) + 1, failed))
    srv.shutdown()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
