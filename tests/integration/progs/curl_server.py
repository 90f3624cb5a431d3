#!/usr/bin/env python3
"""
curl_server.py - a header-recording HTTP/1.1 server for test_curl.sh, never
preloaded (it is the peer, not the program under test).

    curl_server.py --port-file F --log LOG [--root DIR] [--tls CERT KEY]

Listens on 127.0.0.1 (kernel-chosen port, written to F atomically once it
listens). Threaded, keep-alive, Content-Length on every answer. For every
request, before answering, one JSON line is appended to LOG:

    {"method": "GET", "path": "/x?a=1", "version": "HTTP/1.1",
     "headers": [["Host", "..."], ...],        (every header, in order)
     "traceparents": ["00-...", ...]}          (every traceparent, any case)

Answers (GET, HEAD, POST, PUT, DELETE, any other method alike; a request
body is read by Content-Length and discarded):
  /status/NNN      NNN, body "status NNN\\n"
  /big             200, 1 MiB of a fixed byte pattern
  /redirect/N      302 to /redirect/N-1, /redirect/0 (and /redirect/1) to /x
  /slow            waits 3 s, then 200 (a client's timeout fires first)
  --root DIR       the file DIR/<path without query>, 404 when absent
                   (how a dumb git repository is served)
  anything else    200, "hello <method> <path>\\n"

An HTTP/1.0 request is answered in HTTP/1.0 (and the connection closed).
--tls CERT KEY: HTTPS (TLS, ALPN http/1.1 only). SIGTERM exits at once.
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ARGS = None
LOG_LOCK = threading.Lock()
BIG = bytes((i * 7 + 3) & 0xFF for i in range(256)) * 4096


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 50 transfers connect at once


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self):
        headers = [[k, v] for k, v in self.headers.items()]
        tps = [v for k, v in headers if k.lower() == "traceparent"]
        line = json.dumps({"method": self.command, "path": self.path,
                           "version": self.request_version, "headers": headers,
                           "traceparents": tps}, sort_keys=True)
        with LOG_LOCK, open(ARGS.log, "a") as f:
            f.write(line + "\n")

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            self.rfile.read(n)
        self.record()
        path = urlsplit(self.path).path
        ctype = "text/plain"
        extra = []
        if path.startswith("/redirect/") and path[10:].isdigit():
            n = int(path[10:])
            code, body = 302, b"redirect\n"
            extra.append(("Location", "/redirect/%d" % (n - 1) if n > 1 else "/x"))
        elif path == "/slow":
            time.sleep(3)
            code, body = 200, b"slow\n"
        elif path.startswith("/status/") and path[8:].isdigit():
            code = int(path[8:])
            body = ("status %d\n" % code).encode()
        elif path == "/big":
            code, body = 200, BIG
            ctype = "application/octet-stream"
        elif ARGS.root:
            rel = os.path.normpath(unquote(path)).lstrip("/")
            full = os.path.join(ARGS.root, rel)
            if rel.startswith("..") or not os.path.isfile(full):
                code, body = 404, b"not found\n"
            else:
                with open(full, "rb") as f:
                    code, body = 200, f.read()
                ctype = "application/octet-stream"
        else:
            code = 200
            body = ("hello %s %s\n" % (self.command, self.path)).encode()
        # an HTTP/1.0 request gets an HTTP/1.0 answer (no version ambiguity)
        self.protocol_version = "HTTP/1.0" if self.request_version == "HTTP/1.0" else "HTTP/1.1"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name):
        # do_GET, do_POST, do_FOO...: every method is answered alike
        if name.startswith("do_"):
            return self.answer
        raise AttributeError(name)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--root")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ARGS = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = Server(("127.0.0.1", 0), Handler)
    if ARGS.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls[0], ARGS.tls[1])
        ctx.set_alpn_protocols(["http/1.1"])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    open(ARGS.log, "a").close()
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, ARGS.port_file)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    sys.exit(main())
