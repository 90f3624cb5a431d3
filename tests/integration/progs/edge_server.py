#!/usr/bin/env python3
"""
edge_server.py - a scripted HTTP/1.x peer for the client-side response
framing cases of test_http.sh 8 (never preloaded). Keep-alive; each
request head is read, its Content-Length body consumed, and the reply
chosen by the path:

  /close-delimited  "HTTP/1.0 200 OK" without Content-Length, body "hello",
                    then the connection is closed (the body ends at close)
  /truncated        Content-Length: 100 but only 5 bytes, then close
  /continue         "100 Continue" first, then 201 "ok"
  /early-hints      "103 Early Hints" (with a Link header), then 200 "ok"
  /head             Content-Length: 5 and no body (for HEAD), keep-alive
  /s/<code>         <code> with body "x" (none for 204/304)
  anything else     200 "ok"

Every received byte goes to DIR/got-PEERPORT.bin.

--rst: close every accepted connection at once with a reset (SO_LINGER 0),
reading nothing.

usage: edge_server.py --dir DIR --port-file F [--rst]
"""

import argparse
import os
import re
import signal
import socket
import struct
import sys
import threading


def serve(conn, peer_port, directory):
    buf = b""
    out = open(os.path.join(directory, "got-%d.bin" % peer_port), "wb")

    def more():
        nonlocal buf
        d = conn.recv(65536)
        if not d:
            raise EOFError
        out.write(d)
        out.flush()
        buf += d

    try:
        while True:
            while b"\r\n\r\n" not in buf:
                more()
            head, buf = buf.split(b"\r\n\r\n", 1)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target = line.split(" ")[:2]
            m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            n = int(m.group(1)) if m else 0
            if target == "/continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            while len(buf) < n:
                more()
            buf = buf[n:]
            if target == "/close-delimited":
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello")
                break
            if target == "/truncated":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
                break
            if target == "/continue":
                conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
            elif target == "/early-hints":
                conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                             b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            elif target == "/head":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            elif target.startswith("/s/"):
                code = int(target[3:])
                if code in (204, 304):
                    conn.sendall(b"HTTP/1.1 %d X\r\n\r\n" % code)
                else:
                    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: 1\r\n\r\nx" % code)
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    except (EOFError, OSError, ValueError):
        pass
    finally:
        out.close()
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--rst", action="store_true")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    while True:
        conn, addr = ls.accept()
        if a.rst:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            continue
        threading.Thread(target=serve, args=(conn, addr[1], a.dir), daemon=True).start()


if __name__ == "__main__":
    main()
