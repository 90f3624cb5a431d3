#!/usr/bin/env python3
"""
odd_check.py - what the peer received from odd_client.py or fd_client.py,
against what it sent (test_http.sh 4; never preloaded). Per connection: the received bytes
equal the sent ones with exactly EXPECT lines "traceparent: 00-<32 hex>-
<16 hex>-0[0-3]" (CRLF, or LF in a bare-LF head) inserted right before the
first head's blank line ("any": zero or one), and nothing else changed.
Prints "ok - NAME ..." / "not ok - NAME ..." lines; exit 1 when any failed.

usage: odd_check.py DIR [NUMBER_OF_CASES]
"""

import glob
import os
import re
import sys

LINE = re.compile(rb"traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3](\r\n|\n)")


def blank_line_at(data):
    """Offset of the first head's blank line (its CRLF or LF); the end when
    there is none (a head cut short)."""
    crlf = data.find(b"\r\n\r\n", 1)
    lf = data.find(b"\n\n")
    cands = [x for x in (crlf + 2 if crlf >= 0 else -1, lf + 1 if lf >= 0 else -1) if x >= 0]
    return min(cands) if cands else len(data)


def main():
    d = sys.argv[1]
    failed = 0
    exps = sorted(glob.glob(os.path.join(d, "exp-*.bin")))
    for e in exps:
        port = re.search(r"exp-(\d+)\.bin$", e).group(1)
        name, expect = open(os.path.join(d, "case-%s.txt" % port)).read().split()
        exp = open(e, "rb").read()
        gotf = os.path.join(d, "got-%s.bin" % port)
        got = open(gotf, "rb").read() if os.path.exists(gotf) else None
        k = blank_line_at(exp)
        m = LINE.match(got, k) if got is not None else None
        inserted = 1 if (m and got[:k] == exp[:k] and got[m.end():] == exp[k:]) else None
        if got == exp:
            inserted = 0
        allowed = {"0": (0,), "1": (1,), "any": (0, 1)}[expect]
        desc = "%s: %s inserted traceparent line(s), every other byte as sent" % (
            name, {"0": "no", "1": "exactly one", "any": "zero or one"}[expect])
        if inserted in allowed:
            print("ok - %s" % desc)
        else:
            failed += 1
            print("not ok - %s" % desc)
            print("#   sent:     %r" % exp[:300])
            print("#   received: %r" % (got[:400] if got is not None else None))
    want = int(sys.argv[2]) if len(sys.argv) > 2 else len(exps)
    if len(exps) != want:
        failed += 1
        print("not ok - all %d cases were sent (%d found)" % (want, len(exps)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
