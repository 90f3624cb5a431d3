#!/usr/bin/env python3
"""
isbn.py - the edition lookup service of `make demo` (standard library only,
no tracing code). It speaks plain HTTP on 127.0.0.1; the demo puts nginx in
front of it to terminate TLS, so its clients call it over HTTPS.

  GET /isbn/<isbn>   200 {"isbn", "publisher", "first_published"}, or 404

Writes its port to --port-file once it accepts connections; exits cleanly
on SIGTERM.

usage: isbn.py --port-file FILE
"""

import argparse
import http.server
import json
import os
import signal
import sys

EDITIONS = {
    "9780000000011": ("T. Egerton", 1813),
    "9780000000028": ("John Murray", 1815),
    "9780000000035": ("John Murray", 1817),
    "9780000000042": ("Richard Bentley", 1851),
    "9780000000059": ("Chapman & Hall", 1859),
    "9780000000066": ("Chapman & Hall", 1861),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        isbn = self.path[len("/isbn/"):] if self.path.startswith("/isbn/") else ""
        if isbn in EDITIONS:
            publisher, year = EDITIONS[isbn]
            code = 200
            body = json.dumps({"isbn": isbn, "publisher": publisher, "first_published": year})
        else:
            code, body = 404, json.dumps({"error": "unknown isbn"})
        data = body.encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
