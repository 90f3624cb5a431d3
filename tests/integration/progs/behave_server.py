#!/usr/bin/env python3
"""
behave_server.py - a keep-alive HTTP/1.1 server (ThreadingHTTPServer,
protocol_version HTTP/1.1) for test_http.sh 6 (preloaded).

  GET/HEAD /ok        200 "ok" (Content-Length: 2; HEAD sends no body)
  GET /empty          204, no body
  GET /etag           304 (no body) when If-None-Match is "v1", else 200 "etag-body"
                      with ETag "v1"
  GET /missing        404 "missing"
  GET /fail           500 "fail"
  GET /chunked        200, Transfer-Encoding: chunked, three chunks
                      ("alpha", "beta", "gamma")
  POST /echo          200 with the request body
  GET anything else   200 "path=<path>"

Binds 127.0.0.1:0, writes the port to --port-file once listening, exits
cleanly on SIGTERM.

usage: behave_server.py --port-file F
"""

import argparse
import http.server
import os
import signal
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body, extra=(), send_body=True):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        if code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and code not in (204, 304):
            self.wfile.write(body)

    def route(self, send_body):
        p = self.path
        if p == "/ok":
            self.reply(200, b"ok", send_body=send_body)
        elif p == "/empty":
            self.reply(204, b"")
        elif p == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self.reply(304, b"", [("ETag", '"v1"')])
            else:
                self.reply(200, b"etag-body", [("ETag", '"v1"')], send_body=send_body)
        elif p == "/missing":
            self.reply(404, b"missing", send_body=send_body)
        elif p == "/fail":
            self.reply(500, b"fail", send_body=send_body)
        elif p == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if send_body:
                for part in (b"alpha", b"beta", b"gamma"):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.reply(200, b"path=" + p.encode(), send_body=send_body)

    def do_GET(self):
        self.route(True)

    def do_HEAD(self):
        self.route(False)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.reply(200, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
