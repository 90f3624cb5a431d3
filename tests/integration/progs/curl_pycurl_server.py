#!/usr/bin/python3
"""
curl_pycurl_server.py - the program under test of test_curl.sh test 6: a
ThreadingHTTPServer (run by /usr/bin/python3, Debian's python3-pycurl, with
the library preloaded) whose every GET makes one pycurl request to a
backend before answering:

    /usr/bin/python3 curl_pycurl_server.py PORT_FILE BACKEND_PORT

GET <path> -> pycurl GET http://127.0.0.1:BACKEND_PORT/backend<path>, then
answers 200 "front <path> -> <backend status> <backend body>". Listens on
127.0.0.1 (kernel-chosen port, written to PORT_FILE atomically). SIGTERM
exits through sys.exit, so the library's atexit flush runs.
"""

import io
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pycurl

PORT_FILE = sys.argv[1]
BACKEND = int(sys.argv[2])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        buf = io.BytesIO()
        c = pycurl.Curl()
        try:
            c.setopt(pycurl.URL, "http://127.0.0.1:%d/backend%s" % (BACKEND, self.path))
            c.setopt(pycurl.WRITEDATA, buf)
            c.setopt(pycurl.TIMEOUT, 20)
            c.setopt(pycurl.NOSIGNAL, 1)
            c.perform()
            status = c.getinfo(pycurl.RESPONSE_CODE)
        except pycurl.error as e:
            status = "error %s" % (e.args,)
        finally:
            c.close()
        body = ("front %s -> %s %s" % (self.path, status,
                                       buf.getvalue().decode(errors="replace"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
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
