#!/usr/bin/env python3
"""
chain_server.py - the two services of test_http.sh 1 (preloaded; no
tracing code of their own).

  --role back   GET /hello -> 200 "hello"; GET /nf -> 404 "not found";
                GET /boom -> 500 "boom"; anything else 404.
  --role front  GET PATH -> GET PATH from the back service with
                http.client, then 200 with the back service's body.

Binds 127.0.0.1:0, writes the port to --port-file once listening, exits
cleanly (atexit handlers run) on SIGTERM.

usage: chain_server.py --role back|front --port-file F [--back-port P]
"""

import argparse
import http.client
import http.server
import os
import signal
import sys

BACK = {"/hello": (200, b"hello"), "/nf": (404, b"not found"), "/boom": (500, b"boom")}


class Handler(http.server.BaseHTTPRequestHandler):
    role = "back"
    back_port = 0

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.role == "back":
            code, body = BACK.get(self.path, (404, b"no such path"))
            self.reply(code, body)
            return
        c = http.client.HTTPConnection("127.0.0.1", self.back_port, timeout=10)
        c.request("GET", self.path)
        r = c.getresponse()
        body = r.read()
        c.close()
        self.reply(200, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("front", "back"), required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--back-port", type=int, default=0)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Handler.role = a.role
    Handler.back_port = a.back_port
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
