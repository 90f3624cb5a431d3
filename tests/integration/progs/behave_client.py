#!/usr/bin/env python3
"""
behave_client.py - drives behave_server.py over ONE keep-alive connection
(test_http.sh 6; never preloaded). Some requests are sent one at a time,
some pipelined (several heads in one send). Responses are framed by hand:
HEAD, 1xx, 204 and 304 have no body; else chunked or Content-Length.

Script (--script):
  default        every route: 200, HEAD, 204, 304 via If-None-Match, 404,
                 500, chunked, a POST with a body, a request carrying a
                 traceparent; then a pipelined batch of the same kinds
  exclude        /health, /other, /health?probe=1, /other2
  traceresponse  /tr/1 .. /tr/4 (two pipelined), /tr/5 with a traceparent

Prints one JSON object per response: {"n", "method", "target",
"sent_headers": [[name, value]...], "status", "headers": [[name, value]...], "body"},
and exits 1 when a response is malformed or the connection ends early.

usage: behave_client.py PORT --script NAME [--trace T --parent P]
"""

import argparse
import json
import socket
import sys


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed by the server")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def response(self, method):
        status_line = self.line().decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ValueError("bad status line %r" % status_line)
        status = int(parts[1])
        headers = []
        while True:
            ln = self.line()
            if not ln:
                break
            name, _, value = ln.decode("latin-1").partition(":")
            headers.append([name, value.strip(" \t")])
        lower = {n.lower(): v for n, v in headers}
        body = b""
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in lower.get("transfer-encoding", "").lower():
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    break
                body += self.exactly(size)
                if self.exactly(2) != b"\r\n":
                    raise ValueError("no CRLF after a chunk")
        else:
            body = self.exactly(int(lower.get("content-length", "0")))
        return status, headers, body


def req(method, target, headers=(), body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1"]
    lines += ["%s: %s" % h for h in headers]
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def script(name, tp):
    """A list of batches; a batch is a list of (method, target, headers,
    body); each batch is sent with one sendall()."""
    inm = [("If-None-Match", '"v1"')]
    tph = [("traceparent", tp)] if tp else []
    if name == "default":
        one = [("GET", "/ok", [], b""), ("HEAD", "/ok", [], b""), ("GET", "/empty", [], b""),
               ("GET", "/etag", [], b""), ("GET", "/etag", inm, b""),
               ("GET", "/missing", [], b""), ("GET", "/fail", [], b""),
               ("GET", "/chunked", [], b""), ("POST", "/echo", [], b"hello-echo"),
               ("GET", "/withparent", tph, b"")]
        batch = [("GET", "/p1", [], b""), ("HEAD", "/ok", [], b""), ("GET", "/empty", [], b""),
                 ("GET", "/etag", inm, b""), ("GET", "/chunked", [], b""),
                 ("POST", "/echo", [], b"pipelined-echo"), ("GET", "/missing", [], b""),
                 ("GET", "/p2", [], b"")]
        return [[r] for r in one] + [batch]
    if name == "exclude":
        return [[("GET", "/health", [], b"")], [("GET", "/other", [], b"")],
                [("GET", "/health?probe=1", [], b""), ("GET", "/other2", [], b"")]]
    if name == "traceresponse":
        return [[("GET", "/tr/1", [], b"")], [("GET", "/tr/2", [], b"")],
                [("GET", "/tr/3", [], b""), ("GET", "/tr/4", [], b"")],
                [("GET", "/tr/5", tph, b"")]]
    raise SystemExit("unknown script %s" % name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--script", required=True)
    ap.add_argument("--trace", default="")
    ap.add_argument("--parent", default="")
    a = ap.parse_args()
    tp = "00-%s-%s-01" % (a.trace, a.parent) if a.trace else ""
    c = Conn(a.port)
    n = 0
    try:
        for batch in script(a.script, tp):
            c.s.sendall(b"".join(req(m, t, h, b) for m, t, h, b in batch))
            for m, t, h, _b in batch:
                status, headers, body = c.response(m)
                print(json.dumps({"n": n, "method": m, "target": t,
                                  "sent_headers": [list(x) for x in h],
                                  "status": status, "headers": headers,
                                  "body": body.decode("latin-1")}), flush=True)
                n += 1
    except (EOFError, ValueError, OSError) as e:
        print("behave_client: after %d response(s): %s" % (n, e), file=sys.stderr)
        return 1
    c.s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
