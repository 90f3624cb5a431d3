#!/usr/bin/env python3
"""
recorder.py - a recording TCP peer (never preloaded).

Every accepted connection gets a thread that appends every byte it
receives to DIR/got-PEERPORT.bin (PEERPORT = the client's local port, so a
client names its own expected file after getsockname()). When the client
closes its side, DIR/got-PEERPORT.done is written (the number of requests
seen, or "raw") and the connection is closed.

HTTP mode (default): the stream is framed as HTTP/1.x requests
(httpframe.py: Content-Length and chunked) and each complete request is
answered with "HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n". A framing
error is written to DIR/got-PEERPORT.err and the connection is closed.

--raw: record only, never answer.
--hold-ms MS: wait MS ms after accepting before reading anything (the
client's writes then meet a full connection).

usage: recorder.py --dir DIR --port-file FILE [--raw] [--hold-ms MS]
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpframe import FramingError, RequestFramer  # noqa: E402

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def serve(conn, peer_port, directory, raw, hold_ms):
    if hold_ms:
        time.sleep(hold_ms / 1000.0)
    base = os.path.join(directory, "got-%d" % peer_port)
    framer = None if raw else RequestFramer()
    count = 0
    try:
        with open(base + ".bin", "wb") as out:
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    break
                out.write(data)
                if framer is not None:
                    try:
                        n = len(framer.feed(data))
                    except FramingError as e:
                        out.flush()
                        write_atomic(base + ".err", "%s\n" % e)
                        return
                    if n:
                        count += n
                        conn.sendall(RESPONSE * n)
        write_atomic(base + ".done", "raw\n" if raw else "%d\n" % count)
    except OSError as e:
        write_atomic(base + ".err", "socket error: %s\n" % e)
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--hold-ms", type=int, default=0)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.makedirs(a.dir, exist_ok=True)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    write_atomic(a.port_file, "%d\n" % ls.getsockname()[1])
    while True:
        conn, addr = ls.accept()
        threading.Thread(target=serve, args=(conn, addr[1], a.dir, a.raw, a.hold_ms),
                         daemon=True).start()


if __name__ == "__main__":
    main()
