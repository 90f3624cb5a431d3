#!/usr/bin/env python3
"""
loop_client.py - 20 concurrent keep-alive connections to loop_server.py,
interleaved requests (test_http.sh 7; never preloaded).

Every connection is opened first (all 20 are open at once), then each
thread sends its requests GET /r/<conn>/<n>/<status>, one or two at a time
(pipelined pairs), with short random pauses so that requests of different
connections interleave at the server. Each response is checked (status,
body). Prints one JSON object per request: {"conn", "lport", "path",
"status"}; exit 1 when any response was wrong.

usage: loop_client.py PORT [--conns 20] [--requests 5]
"""

import argparse
import json
import random
import re
import socket
import sys
import threading
import time

STATUSES = (200, 201, 204, 404, 500)


def read_response(s, buf):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("closed")
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError("closed")
        buf += d
    return status, buf[:n], buf[n:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--requests", type=int, default=5)
    a = ap.parse_args()
    socks = [socket.create_connection(("127.0.0.1", a.port), timeout=10) for _ in range(a.conns)]
    barrier = threading.Barrier(a.conns)
    lock = threading.Lock()
    results, errors = [], []

    def run(ci):
        s = socks[ci]
        rng = random.Random(ci)
        lport = s.getsockname()[1]
        buf = b""
        barrier.wait()
        n = 0
        try:
            while n < a.requests:
                k = 2 if rng.random() < 0.3 and n + 1 < a.requests else 1
                paths = []
                for j in range(k):
                    st = STATUSES[(ci + n + j) % len(STATUSES)]
                    paths.append(("/r/%d/%d/%d" % (ci, n + j, st), st))
                s.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % p.encode()
                                   for p, _ in paths))
                for p, st in paths:
                    status, body, buf = read_response(s, buf)
                    want_body = b"" if st == 204 else ("r%d-%s" % (ci, p.split("/")[3])).encode()
                    if status != st or body != want_body:
                        with lock:
                            errors.append("%s: status %d body %r" % (p, status, body))
                    with lock:
                        results.append({"conn": ci, "lport": lport, "path": p, "status": st})
                n += k
                time.sleep(rng.random() * 0.005)
        except (OSError, EOFError) as e:
            with lock:
                errors.append("conn %d: %s" % (ci, e))
        s.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(a.conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for r in results:
        print(json.dumps(r))
    for e in errors:
        print("loop_client: %s" % e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
