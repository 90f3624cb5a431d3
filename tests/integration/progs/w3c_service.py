#!/usr/bin/env python3
"""
w3c_service.py - the service under test for the W3C Trace Context checks
(test_http.sh 5, preloaded; it has no tracing code of its own).

POST with a JSON array body [{"url": ..., "arguments": [...]}, ...]: for
each element, in order, POST json.dumps(arguments) to url with a plain
http.client connection (no headers of its own besides what http.client
always sends), then answer 200 "ok". Anything else: 400.

Binds 127.0.0.1:0, writes the port to --port-file once listening, exits
cleanly on SIGTERM.

usage: w3c_service.py --port-file F
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import sys
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
            calls = json.loads(self.rfile.read(n))
            for call in calls:
                u = urllib.parse.urlsplit(call["url"])
                c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
                body = json.dumps(call.get("arguments", [])).encode()
                c.request("POST", u.path or "/", body=body)
                c.getresponse().read()
                c.close()
        except (ValueError, KeyError, TypeError, OSError) as e:
            self.reply(400, str(e).encode())
            return
        self.reply(200, b"ok")


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
