#!/usr/bin/env python3
"""
spawn_server.py - a python3 HTTP server (preloaded; no tracing code) whose
handler starts a child with subprocess (vfork + exec on Linux) and answers
with what the child saw in TRACEPARENT.

usage: spawn_server.py PORT_FILE
"""
import http.server
import os
import signal
import subprocess
import sys


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        out = subprocess.run(["/bin/sh", "-c", 'printf "%s" "$TRACEPARENT"'],
                             capture_output=True).stdout
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
