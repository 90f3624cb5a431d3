#!/usr/bin/python3
"""
pq_http_server.py - a ThreadingHTTPServer (no tracing code; the test
preloads the library into it) whose do_GET runs a psycopg2 query on a
connection of its own and answers with the result. The libpq spans of the
request must be children of its SERVER span. Run with /usr/bin/python3
(Debian's psycopg2).

usage: pq_http_server.py --port-file FILE --dsn CONNINFO
"""
import argparse
import http.server
import os
import signal
import sys

import psycopg2

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--dsn", required=True)
args = ap.parse_args()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        conn = psycopg2.connect(args.dsn)
        try:
            cur = conn.cursor()
            cur.execute("SELECT count(*) AS http_q FROM pg_class WHERE relname <> %s",
                        ("SECREThttp",))
            n = cur.fetchone()[0]
            conn.rollback()
        finally:
            conn.close()
        body = ("rows=%s\n" % ("many" if n > 10 else "few")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
