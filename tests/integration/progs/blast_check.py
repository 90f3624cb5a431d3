#!/usr/bin/env python3
"""
blast_check.py - compare what the recording peer received with what
http_blaster meant to send, connection by connection (never preloaded).

For every DIR/exp-PORT.bin (with idx-PORT.txt) the peer's
DIR/got-PORT.bin must equal it after removing, from each request head,
exactly one line

    traceparent: 00-<32 hex>-<16 hex>-0[0-3] CRLF

placed right before the blank line that ends the head, in every request
whose head does not carry the blaster's own traceparent, and none in the
others (--expect-injection no: none anywhere). Nothing else may differ:
no byte changed, lost, reordered or added, no header added inside a body.

The walk is lockstep over the blaster's index (offset, head length, total
length per request), whose heads are first checked to really end with
CRLF CRLF in the expected stream.

Prints one summary line per connection and a total; with --ids FILE
writes every injected "traceid parentid flags" line there. Exit 0 when all
connections match, 1 otherwise (the first mismatch is described: offset,
expected and received bytes around it).

--selftest: run the comparison on deliberately damaged copies of the
received streams (a flipped body byte, a lost last byte, a traceparent line
added inside a body, a head whose injected line is removed or doubled) and
exit 0 only when every damaged copy is rejected.

usage: blast_check.py DIR [--expect-injection yes|no] [--ids FILE] [--selftest]
"""

import argparse
import glob
import os
import re
import sys

INJ = re.compile(rb"traceparent: 00-([0-9a-f]{32})-([0-9a-f]{16})-(0[0-3])\r\n")
INJ_LEN = len("traceparent: 00-") + 32 + 1 + 16 + 1 + 2 + 2


class Mismatch(Exception):
    pass


def show(b):
    return repr(bytes(b))[:200]


def load_index(path, exp):
    reqs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            off, headlen, total, own = (int(x) for x in line.split())
            if exp[off + headlen - 4:off + headlen] != b"\r\n\r\n":
                raise Mismatch("index line %d: the expected head at %d does not end "
                               "with CRLF CRLF (blaster bug)" % (n, off))
            reqs.append((off, headlen, total, own))
    pos = 0
    for off, _h, total, _o in reqs:
        if off != pos:
            raise Mismatch("index is not contiguous at %d (blaster bug)" % off)
        pos += total
    if pos != len(exp):
        raise Mismatch("index covers %d of %d expected bytes (blaster bug)" % (pos, len(exp)))
    return reqs


def compare(exp, got, reqs, expect_injection, ids):
    """Returns (requests, injected, own). Raises Mismatch."""
    g = 0
    injected = own_n = 0
    for i, (off, headlen, total, own) in enumerate(reqs):
        pre = headlen - 2              # the head up to (not including) the blank line
        if got[g:g + pre] != exp[off:off + pre]:
            j = next(k for k in range(pre) if got[g + k:g + k + 1] != exp[off + k:off + k + 1])
            raise Mismatch("request %d: head differs at received offset %d (expected offset %d):"
                           "\n  expected %s\n  received %s"
                           % (i, g + j, off + j, show(exp[off + j:off + j + 60]),
                              show(got[g + j:g + j + 60])))
        g += pre
        m = INJ.match(got, g)
        if m:
            if own:
                raise Mismatch("request %d carries its own traceparent, yet a second one was "
                               "inserted: %s" % (i, show(m.group(0))))
            if not expect_injection:
                raise Mismatch("request %d: a traceparent line was inserted (none expected): %s"
                               % (i, show(m.group(0))))
            injected += 1
            ids.append(b" ".join(m.groups()).decode())
            g = m.end()
        elif expect_injection and not own:
            raise Mismatch("request %d%s: no traceparent line right before the blank line; "
                           "received there: %s"
                           % (i, " (none inserted on this connection so far: was it watched"
                              " at all?)" if injected == 0 else "", show(got[g:g + 80])))
        own_n += own
        rest = total - pre
        if got[g:g + rest] != exp[off + pre:off + total]:
            a = got[g:g + rest]
            b = exp[off + pre:off + total]
            j = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            raise Mismatch("request %d: blank line/body differs at received offset %d "
                           "(body byte %d of %d):\n  expected %s\n  received %s"
                           % (i, g + j, j, rest, show(b[j:j + 60]), show(a[j:j + 60])))
        g += rest
    if g != len(got):
        raise Mismatch("%d extra byte(s) received after the last request: %s"
                       % (len(got) - g, show(got[g:g + 80])))
    return len(reqs), injected, own_n


def connections(directory):
    out = []
    for exp_path in sorted(glob.glob(os.path.join(directory, "exp-*.bin"))):
        port = re.search(r"exp-(\d+)\.bin$", exp_path).group(1)
        out.append((port, exp_path, os.path.join(directory, "idx-%s.txt" % port),
                    os.path.join(directory, "got-%s" % port)))
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_dir(directory, expect_injection, ids_file):
    conns = connections(directory)
    if not conns:
        print("no exp-*.bin in %s" % directory)
        return 1
    bad = 0
    tot_req = tot_inj = tot_own = 0
    ids = []
    for port, exp_path, idx_path, got_base in conns:
        try:
            if os.path.exists(got_base + ".err"):
                raise Mismatch("the peer failed: %s" % read(got_base + ".err").decode().strip())
            if not os.path.exists(got_base + ".done"):
                raise Mismatch("the peer did not see the connection end")
            exp = read(exp_path)
            got = read(got_base + ".bin")
            reqs = load_index(idx_path, exp)
            n, inj, own = compare(exp, got, reqs, expect_injection, ids)
            print("conn %s: %d requests, %d bytes expected, %d received, %d traceparent "
                  "line(s) removed, %d own" % (port, n, len(exp), len(got), inj, own))
            tot_req += n
            tot_inj += inj
            tot_own += own
        except Mismatch as e:
            bad += 1
            print("conn %s: MISMATCH: %s" % (port, e))
    print("total: %d connection(s), %d mismatched, %d requests, %d injected, %d own"
          % (len(conns), bad, tot_req, tot_inj, tot_own))
    if ids_file:
        with open(ids_file, "w") as f:
            f.write("".join(x + "\n" for x in ids))
    return 1 if bad else 0


def selftest(directory):
    """Damage received streams in ways a broken library could, and require
    that each damaged copy is rejected."""
    conns = connections(directory)
    if not conns:
        print("not ok - selftest: no exp-*.bin in %s" % directory)
        return 1
    port, exp_path, idx_path, got_base = conns[0]
    exp = read(exp_path)
    got = read(got_base + ".bin")
    reqs = load_index(idx_path, exp)
    # The clean run this was made from had no injection; build the
    # "correct injected" stream ourselves, then damage it.
    line = b"traceparent: 00-" + b"ab" * 16 + b"-" + b"cd" * 8 + b"-01\r\n"
    parts = []
    for off, headlen, total, own in reqs:
        parts.append(exp[off:off + headlen - 2])
        if not own:
            parts.append(line)
        parts.append(exp[off + headlen - 2:off + total])
    good = b"".join(parts)
    fails = 0

    def expect(desc, stream, injection, want_ok):
        nonlocal fails
        try:
            compare(exp, stream, reqs, injection, [])
            accepted = True
        except Mismatch:
            accepted = False
        if accepted == want_ok:
            print("ok - selftest: %s" % desc)
        else:
            fails += 1
            print("not ok - selftest: %s" % desc)

    expect("the untouched stream passes with --expect-injection no", got, False, True)
    expect("the untouched stream fails with --expect-injection yes",
           got, True, all(r[3] for r in reqs))
    expect("a correctly injected stream passes", good, True, True)
    body_req = next((r for r in reqs if r[2] - r[1] > 8), None)
    if body_req is not None:
        # the position of that body's middle byte in the good stream
        shift = sum(1 for r in reqs if r[0] < body_req[0] and not r[3]) + (0 if body_req[3] else 1)
        pos = body_req[0] + body_req[1] + (body_req[2] - body_req[1]) // 2 + shift * len(line)
        flipped = good[:pos] + bytes([good[pos] ^ 0x20]) + good[pos + 1:]
        expect("one flipped body byte is caught", flipped, True, False)
        extra = good[:pos] + line + good[pos:]
        expect("a traceparent line inside a body is caught", extra, True, False)
    expect("a lost last byte is caught", good[:-1], True, False)
    expect("an extra trailing byte is caught", good + b"x", True, False)
    first = next((i for i, r in enumerate(reqs) if not r[3]), None)
    if first is not None:
        off, headlen = reqs[first][0], reqs[first][1]
        at = off + headlen - 2 + sum(len(line) for r in reqs[:first] if not r[3])
        missing = good[:at] + good[at + len(line):]
        expect("a head without its injected line is caught", missing, True, False)
        doubled = good[:at] + line + good[at:]
        expect("a head with two injected lines is caught", doubled, True, False)
        upper = good[:at] + line.upper().replace(b"TRACEPARENT", b"traceparent") + good[at + len(line):]
        expect("an injected line with uppercase hex is caught", upper, True, False)
        last = good.rfind(b"\r\n", 0, at - 2) + 2     # start of the head's last header line
        early = good[:last] + line + good[last:at] + good[at + len(line):]
        expect("an injected line not right before the blank line is caught", early, True, False)
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--expect-injection", choices=("yes", "no"), default="yes")
    ap.add_argument("--ids")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    try:
        if a.selftest:
            return selftest(a.dir)
        return check_dir(a.dir, a.expect_injection == "yes", a.ids)
    except Mismatch as e:
        print("error: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
