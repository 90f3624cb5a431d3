#!/usr/bin/env python3
"""
stack_server.py - the HTTP peer of test_stack.sh, never preloaded.

    stack_server.py --port-file F [--delay-ms N]

Listens on 127.0.0.1 (kernel-chosen port, written to F once it listens),
threaded, Content-Length on every answer:
  /slow          waits N ms (default 300), then 200 "slow\\n"
  /status/NNN    NNN, body "status NNN\\n"
  anything else  200 "fast\\n"
SIGTERM exits at once.
"""

import argparse
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--delay-ms", type=int, default=300)
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            code, body = 200, b"fast\n"
            if self.path == "/slow":
                time.sleep(args.delay_ms / 1000.0)
                body = b"slow\n"
            elif self.path.startswith("/status/"):
                code = int(self.path[len("/status/"):])
                body = b"status %d\n" % code
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
