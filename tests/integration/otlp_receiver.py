#!/usr/bin/env python3
"""
otlp_receiver.py - a capture receiver for integration tests: accepts HTTP POSTs
on any path and stores every request for later assertions.

Run it WITHOUT the library preloaded:

    env -u LD_PRELOAD python3 otlp_receiver.py --dir DIR --port 0 --port-file F \
        [--responses 503,503,200] [--retry-after 1] [--hang] [--reset] \
        [--delay-ms MS]

Listens on 127.0.0.1 only. With --port 0 the kernel picks the port; it is
written to --port-file (atomically: the file appears complete, and only once
the socket is listening).

Each request N (1, 2, ...) is stored as two files in DIR:
  N.body  the body, gunzipped when Content-Encoding is gzip
  N.json  sidecar: seq, method, path, headers, content_type, content_encoding,
          gzip (bool), time (arrival of the request head, epoch seconds,
          float), body_len, action (what the receiver answered)
The body is written first and the sidecar last, both by rename, so a sidecar
that exists always describes a complete request. Requests are stored before
they are answered: once a client has its response, the files exist.

Behaviour (--responses): a comma list, one item per request in arrival
order, the last repeating: an HTTP status code, "hang" (never answer; the
connection stays open until the receiver is killed) or "reset" (close the
connection with RST without answering). --hang and --reset are shorthands
for --responses hang / reset. --retry-after N adds "Retry-After: N" to every
non-2xx answer. --delay-ms MS holds every answer (a status code, or the
reset) MS milliseconds after the request was stored: a slow collector. The
default is 200 with an empty ExportTraceServiceResponse
(empty protobuf body, or "{}" for JSON).

Exits on SIGTERM or SIGINT at once, even with hanging connections.
"""

import argparse
import gzip
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024 * 1024  # refuse anything larger: a test bug, not a load test


def write_atomic(path, data):
    tmp = "%s.tmp.%d" % (path, threading.get_ident())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def parse_responses(text):
    items = []
    for item in text.split(","):
        item = item.strip()
        if item in ("hang", "reset"):
            items.append(item)
            continue
        try:
            code = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError("bad response item %r" % item)
        if not 100 <= code <= 599:
            raise argparse.ArgumentTypeError("bad status code %r" % item)
        items.append(code)
    if not items:
        raise argparse.ArgumentTypeError("empty --responses")
    return items


class State:
    def __init__(self, directory, responses, retry_after, delay_ms=0):
        self.dir = directory
        self.responses = responses
        self.retry_after = retry_after
        self.delay = delay_ms / 1000.0
        self.lock = threading.Lock()
        self.count = 0
        self.stop = threading.Event()

    def next_seq(self):
        with self.lock:
            self.count += 1
            seq = self.count
        idx = min(seq - 1, len(self.responses) - 1)
        return seq, self.responses[idx]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real collector does
    server_version = "otlp-receiver/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("otlp_receiver: %s %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ValueError("truncated chunked body")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    # trailers until an empty line
                    for _ in range(100):
                        t = self.rfile.readline(8192)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)  # CRLF after the chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length %d" % length)
        body = self.rfile.read(length)
        if len(body) != length:
            raise ValueError("truncated body: %d of %d bytes" % (len(body), length))
        return body

    def store(self, seq, arrival, raw, action):
        st = self.server.state
        enc = (self.headers.get("Content-Encoding") or "").strip().lower()
        was_gzip = enc == "gzip"
        body = raw
        error = None
        if was_gzip:
            try:
                body = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as e:
                error = "gzip: %s" % e
        side = {
            "seq": seq,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "content_type": self.headers.get("Content-Type"),
            "content_encoding": self.headers.get("Content-Encoding"),
            "gzip": was_gzip,
            "time": arrival,
            "body_len": len(body),
            "raw_len": len(raw),
            "action": action,
        }
        if error:
            side["error"] = error
        write_atomic(os.path.join(st.dir, "%d.body" % seq), body)
        write_atomic(os.path.join(st.dir, "%d.json" % seq),
                     (json.dumps(side, sort_keys=True) + "\n").encode())

    def answer(self, code, ctype):
        st = self.server.state
        if 200 <= code < 300:
            body = b"{}" if ctype.startswith("application/json") else b""
            out_type = "application/json" if body else "application/x-protobuf"
        else:
            body = ("status %d from otlp_receiver\n" % code).encode()
            out_type = "text/plain"
        self.send_response(code)
        self.send_header("Content-Type", out_type)
        self.send_header("Content-Length", str(len(body)))
        if st.retry_after is not None and not 200 <= code < 300:
            self.send_header("Retry-After", st.retry_after)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_POST(self):
        arrival = time.time()
        st = self.server.state
        seq, action = st.next_seq()
        try:
            raw = self.read_body()
        except ValueError as e:
            self.log_message("bad request %d: %s", seq, e)
            self.close_connection = True
            self.send_error(400, str(e))
            return
        self.store(seq, arrival, raw, action)
        if action == "hang":
            self.close_connection = True
            st.stop.wait()  # until the process is killed
            return
        if st.delay > 0:
            time.sleep(st.delay)
        if action == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()  # RST: linger on, timeout 0
            except OSError:
                pass
            return
        self.answer(action, self.headers.get("Content-Type") or "")

    def do_GET(self):
        body = b"otlp_receiver: POST only\n"
        self.send_response(405)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        self.do_POST()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # Clients of the tests reset connections on purpose; keep stderr short.
        exc = sys.exc_info()[1]
        sys.stderr.write("otlp_receiver: %s: %r\n" % (client_address, exc))


def main():
    ap = argparse.ArgumentParser(description="capture receiver for OTLP/HTTP tests")
    ap.add_argument("--dir", required=True, help="where requests are stored")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the listening port here")
    ap.add_argument("--responses", type=parse_responses, default=[200])
    ap.add_argument("--retry-after", default=None, help="Retry-After value on non-2xx")
    ap.add_argument("--hang", action="store_true", help="never answer")
    ap.add_argument("--reset", action="store_true", help="reset every connection")
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="hold every answer this long (a slow collector)")
    args = ap.parse_args()
    if args.hang and args.reset:
        ap.error("--hang and --reset exclude each other")
    responses = args.responses
    if args.hang:
        responses = ["hang"]
    elif args.reset:
        responses = ["reset"]

    os.makedirs(args.dir, exist_ok=True)

    def on_signal(signum, frame):
        sys.stderr.flush()
        os._exit(0)  # hanging handler threads must not keep us alive

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    srv = Server(("127.0.0.1", args.port), Handler)  # binds and listens
    if args.delay_ms < 0:
        ap.error("--delay-ms must be >= 0")
    srv.state = State(args.dir, responses, args.retry_after, args.delay_ms)
    port = srv.server_address[1]
    if args.port_file:
        write_atomic(args.port_file, ("%d\n" % port).encode())
    sys.stderr.write("otlp_receiver: listening on 127.0.0.1:%d, responses %s, delay %d ms\n"
                     % (port, ",".join(str(r) for r in responses), args.delay_ms))
    sys.stderr.flush()
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
