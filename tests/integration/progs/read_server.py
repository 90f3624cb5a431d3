#!/usr/bin/env python3
"""
read_server.py - an HTTP/1.1 server that reads its requests in every way a
program can (test_http.sh 6, preloaded): recv, recv with MSG_PEEK first
(then a different amount for real), recv_into, recvfrom, recvmsg, os.read,
os.readv into two buffers; sizes from 1 byte to 64 KiB, chosen at random.
The server frames requests itself (httpframe.py: Content-Length, chunked)
and answers each "POST|GET /rd/<conn>/<n>/<status>" with <status> and an
empty body, keep-alive. Every byte it consumed goes to
DIR/got-PEERPORT.bin (what a server reads must be exactly what the client
sent: the library never changes incoming bytes).

Binds 127.0.0.1:0, writes the port to --port-file once listening, exits
cleanly on SIGTERM.

usage: read_server.py --dir DIR --port-file F
"""

import argparse
import os
import random
import re
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpframe import FramingError, RequestFramer  # noqa: E402

SIZES = (1, 2, 3, 7, 64, 1000, 65536)


def read_some(s, rng):
    """Consume some bytes from s in a randomly chosen way; b"" at EOF."""
    n = rng.choice(SIZES)
    how = rng.randrange(7)
    if how == 0:
        return s.recv(n)
    if how == 1:
        peeked = s.recv(n, socket.MSG_PEEK)
        if not peeked:
            return b""
        return s.recv(rng.randint(1, len(peeked) + 3))
    if how == 2:
        buf = bytearray(n)
        k = s.recv_into(buf, n)
        return bytes(buf[:k])
    if how == 3:
        return s.recvfrom(n)[0]
    if how == 4:
        return s.recvmsg(n)[0]
    if how == 5:
        return os.read(s.fileno(), n)
    a, b = bytearray(rng.randint(0, n)), bytearray(n)
    k = os.readv(s.fileno(), [a, b])
    return (bytes(a) + bytes(b))[:k]


def serve(conn, peer_port, directory, seed):
    rng = random.Random(seed)
    framer = RequestFramer()
    stream = bytearray()
    try:
        with open(os.path.join(directory, "got-%d.bin" % peer_port), "wb") as out:
            while True:
                data = read_some(conn, rng)
                if not data:
                    break
                out.write(data)
                stream += data
                for hs, he, _end in framer.feed(data):
                    line = bytes(stream[hs:he]).split(b"\r\n", 1)[0].decode("latin-1")
                    m = re.match(r"^(GET|POST) /rd/\d+/\d+/(\d{3}) HTTP/1\.1$", line)
                    status = int(m.group(2)) if m else 400
                    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % status)
    except (OSError, FramingError) as e:
        with open(os.path.join(directory, "got-%d.err" % peer_port), "w") as f:
            f.write("%s\n" % e)
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    n = 0
    while True:
        conn, addr = ls.accept()
        n += 1
        threading.Thread(target=serve, args=(conn, addr[1], a.dir, n), daemon=True).start()


if __name__ == "__main__":
    main()
