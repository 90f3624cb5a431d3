#!/usr/bin/env python3
"""
front.py - the web front end of `make demo` (standard library only, no
tracing code: its spans come from libotelpreload.so when it is preloaded).

  GET /books/<id>/analysis   asks the back end (GET /analysis/<id>) and
                             renders its JSON as a short text report
  GET /health                200 "ok"

A back end error becomes a 502 whose body says what the back end said.

Listens on 127.0.0.1 on a port the kernel picks and writes it to
--port-file once it accepts connections. SIGTERM: a clean exit (atexit
handlers, the library's span flush among them, run).

usage: front.py --port-file FILE --backend-port PORT
"""

import argparse
import http.client
import http.server
import json
import os
import re
import signal
import sys

BACKEND_TIMEOUT_S = 10


def render(a):
    """The back end's analysis as a few lines of text."""
    ed = a.get("edition", {})
    top = ", ".join('"%s" (%d)' % (w, n) for w, n in a.get("top_words", []))
    return (
        "%s by %s, first published by %s in %s (ISBN %s)\n"
        "  %d words, %d distinct; most frequent long words: %s\n"
        "  longer than %d%% of the author's other books\n"
        % (a["title"], a["author"], ed.get("publisher", "?"), ed.get("first_published", "?"),
           ed.get("isbn", "?"), a["words"], a["distinct_words"], top or "-",
           a["longer_than_percent_of_author"]))


class Handler(http.server.BaseHTTPRequestHandler):
    backend_port = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, "ok\n")
            return
        m = re.fullmatch(r"/books/(\d{1,9})/analysis", self.path)
        if not m:
            self.reply(404, "no such page\n")
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.backend_port,
                                          timeout=BACKEND_TIMEOUT_S)
        try:
            conn.request("GET", "/analysis/" + m.group(1))
            r = conn.getresponse()
            body = r.read().decode("utf-8", "replace")
        except OSError as e:
            self.reply(502, "back end unreachable: %s\n" % e)
            return
        finally:
            conn.close()
        if r.status == 404:
            self.reply(404, "no such book\n")
        elif r.status != 200:
            try:
                err = json.loads(body)
                why = "%s: %s" % (err["error"], err["message"])
            except (ValueError, KeyError, TypeError):
                why = body.strip()
            self.reply(502, "analysis failed: back end answered %d (%s)\n" % (r.status, why))
        else:
            self.reply(200, render(json.loads(body)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--backend-port", type=int, required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Handler.backend_port = a.backend_port
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
