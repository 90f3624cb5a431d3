#!/usr/bin/env python3
"""
sendfile_client.py - request bodies sent with sendfile() (test_http.sh 8,
preloaded). The library never sees those bytes, only their count; it must
still find every following head, insert exactly one traceparent into each,
and never into a body (the bodies contain request-like text).

Two connections to the recording peer (recorder.py, HTTP mode):
  blocking      POST heads by send(), bodies by os.sendfile() in one call
  non-blocking  SO_SNDBUF 4096: bodies by os.sendfile() in a poll loop
                (partial counts), heads by send()/sendall
Some requests are pipelined (the next head goes out before the responses
are read). Files for blast_check.py: exp-PORT.bin, idx-PORT.txt.

usage: sendfile_client.py PORT DIR
"""

import os
import random
import select
import socket
import sys
import tempfile

TRAP = b"\r\n\r\nGET /trap HTTP/1.1\r\nHost: trap\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def body(rng, n):
    b = bytearray(rng.randbytes(n))
    for _ in range(n // 20000):
        at = rng.randrange(max(1, n - len(TRAP)))
        b[at:at + len(TRAP)] = TRAP[:n - at]
    return bytes(b)


def send_all(s, data):
    pos = 0
    while pos < len(data):
        try:
            pos += s.send(data[pos:])
        except BlockingIOError:
            select.select([], [s], [], 10)


def sendfile_all(s, f, n):
    off = 0
    while off < n:
        try:
            k = os.sendfile(s.fileno(), f.fileno(), off, n - off)
        except BlockingIOError:
            select.select([], [s], [], 10)
            continue
        if k <= 0:
            raise OSError("sendfile returned %d" % k)
        off += k


def read_responses(s, k):
    want = RESP * k
    got = b""
    while len(got) < len(want):
        select.select([s], [], [], 10)
        try:
            d = s.recv(len(want) - len(got))
        except BlockingIOError:
            continue
        if not d:
            raise EOFError("peer closed")
        got += d
    if got != want:
        raise ValueError("unexpected responses %r" % got[:80])


def run(port, d, nonblocking, rng, nreq):
    s = socket.create_connection(("127.0.0.1", port))
    if nonblocking:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        s.setblocking(False)
    lport = s.getsockname()[1]
    exp = open(os.path.join(d, "exp-%d.bin" % lport), "wb")
    idx = open(os.path.join(d, "idx-%d.txt" % lport), "w")
    off = 0
    pending = 0
    for i in range(nreq):
        n = rng.choice((0, 1, 17, 4096, 70000, 300000))
        data = body(rng, n)
        head = b"POST /sf/%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (i, n)
        idx.write("%d %d %d 0\n" % (off, len(head), len(head) + n))
        exp.write(head + data)
        off += len(head) + n
        send_all(s, head)
        if n:
            with tempfile.TemporaryFile() as f:
                f.write(data)
                f.flush()
                sendfile_all(s, f, n)
        pending += 1
        if rng.random() < 0.6:          # else pipeline the next request first
            read_responses(s, pending)
            pending = 0
    if pending:
        read_responses(s, pending)
    exp.close()
    idx.close()
    s.close()


def main():
    port, d = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(9)
    run(port, d, False, rng, 25)
    run(port, d, True, rng, 25)


if __name__ == "__main__":
    main()
