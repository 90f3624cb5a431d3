#!/usr/bin/env python3
"""
py_server.py - a python3 ThreadingHTTPServer for the interop tests, run
with the library preloaded (it is the program under test):

    python3 py_server.py PORT_FILE [HEADERS_LOG]

Listens on 127.0.0.1 (kernel-chosen port, written to PORT_FILE atomically
once listening). HTTP/1.1 with keep-alive and Content-Length on every answer.
  GET /status/NNN   answers NNN, body "status NNN\\n" (none for 204/304)
  anything else     200 "hello from python <path>\\n"
Each request appends "<method> <path> <traceparent or ->" to HEADERS_LOG:
the header bytes the server really received.
SIGTERM exits through sys.exit, so atexit handlers (the library's span
flush) run.
"""

import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE = sys.argv[1]
HEADERS_LOG = sys.argv[2] if len(sys.argv) > 2 else None
LOG_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if HEADERS_LOG:
            with LOG_LOCK, open(HEADERS_LOG, "a") as f:
                f.write("%s %s %s\n" % (self.command, self.path,
                                        self.headers.get("traceparent", "-")))
        m = re.fullmatch(r"/status/(\d{3})", self.path)
        code = int(m.group(1)) if m else 200
        body = b"" if code in (204, 304) else (
            ("status %d\n" % code) if m else "hello from python %s\n" % self.path).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        if code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = PORT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, PORT_FILE)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
