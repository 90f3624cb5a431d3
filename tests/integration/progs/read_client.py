#!/usr/bin/env python3
"""
read_client.py - drives read_server.py (test_http.sh 6; never preloaded):
several connections in parallel, each sending requests GET (no body), POST
with Content-Length or POST chunked (bodies of 0-20000 random bytes that
contain things looking like HTTP heads), in random pieces, sometimes
pipelined; each response's status is checked. The exact bytes sent on each
connection go to DIR/exp-LOCALPORT.bin.

Prints one JSON object per request: {"conn", "lport", "method", "path",
"status"}; exit 1 when any response was wrong.

usage: read_client.py PORT DIR [--conns 4] [--requests 30]
"""

import argparse
import json
import os
import random
import re
import socket
import sys
import threading

STATUSES = (200, 201, 404, 500)
TRAP = b"\r\n\r\nGET /trap HTTP/1.1\r\nHost: x\r\n\r\n"


def body_bytes(rng, n):
    b = bytearray(rng.randbytes(n))
    if n > len(TRAP) and rng.random() < 0.5:
        at = rng.randrange(n - len(TRAP))
        b[at:at + len(TRAP)] = TRAP
    return bytes(b)


def request(rng, ci, n):
    st = STATUSES[(ci + n) % len(STATUSES)]
    path = "/rd/%d/%d/%d" % (ci, n, st)
    kind = rng.randrange(3)
    if kind == 0:
        return "GET", path, st, b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode()
    body = body_bytes(rng, rng.randint(0, 20000))
    if kind == 1:
        return "POST", path, st, (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n"
                                  % (path.encode(), len(body)) + body)
    chunks = b""
    pos = 0
    while pos < len(body):
        k = rng.randint(1, 5000)
        chunks += b"%x\r\n%s\r\n" % (len(body[pos:pos + k]), body[pos:pos + k])
        pos += k
    return "POST", path, st, (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              % path.encode() + chunks + b"0\r\n\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("dir")
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--requests", type=int, default=30)
    a = ap.parse_args()
    lock = threading.Lock()
    results, errors = [], []

    def run(ci):
        rng = random.Random(100 + ci)
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        lport = s.getsockname()[1]
        exp = open(os.path.join(a.dir, "exp-%d.bin" % lport), "wb")
        buf = b""
        n = 0
        try:
            while n < a.requests:
                k = min(rng.choice((1, 1, 2, 3)), a.requests - n)
                reqs = [request(rng, ci, n + j) for j in range(k)]
                data = b"".join(r[3] for r in reqs)
                exp.write(data)
                pos = 0
                while pos < len(data):
                    step = rng.choice((1, 5, 50, 700, 9000))
                    s.sendall(data[pos:pos + step])
                    pos += step
                for method, path, st, _ in reqs:
                    while b"\r\n\r\n" not in buf:
                        d = s.recv(65536)
                        if not d:
                            raise EOFError("closed")
                        buf += d
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
                    got = int(m.group(1)) if m else None
                    if got != st:
                        with lock:
                            errors.append("%s: status %r, want %d" % (path, got, st))
                    with lock:
                        results.append({"conn": ci, "lport": lport, "method": method,
                                        "path": path, "status": st})
                n += k
        except (OSError, EOFError) as e:
            with lock:
                errors.append("conn %d: %s" % (ci, e))
        exp.close()
        s.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(a.conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for r in results:
        print(json.dumps(r))
    for e in errors:
        print("read_client: %s" % e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
