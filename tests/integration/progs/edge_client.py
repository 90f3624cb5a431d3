#!/usr/bin/env python3
"""
edge_client.py - HTTP requests whose responses end in the less common ways
(test_http.sh 8, preloaded; plain sockets, framing done by hand):

  conn 1  GET /close-delimited          body ends when the server closes
  conn 2  GET /truncated                the server closes mid-body
  conn 3  POST /continue (Expect: 100-continue; the body is sent after the
          100), then GET /after on the same connection
  conn 4  GET /early-hints (103 then 200), then GET /after2
  conn 5  pipelined in one send: HEAD /head, GET /s/404, GET /s/204,
          GET /s/500, GET /s/200

Prints one line per request: "PATH STATUS[,STATUS...]" (interim statuses
first; "-" when no status line came), and exits 1 on a framing surprise.

usage: edge_client.py PORT
"""

import re
import socket
import sys


class Conn:
    def __init__(self, port):
        self.port = port
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def head(self, method, target, extra=b""):
        return (b"%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n"
                % (method.encode(), target.encode(), self.port, extra))

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def status_head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        h, self.buf = self.buf.split(b"\r\n\r\n", 1)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", h)
        if not m:
            raise ValueError("bad status line %r" % h[:40])
        return int(m.group(1)), h

    def response(self, method, until_close=False):
        """Statuses seen (1xx first) and the body."""
        statuses = []
        while True:
            st, h = self.status_head()
            statuses.append(st)
            if not 100 <= st < 200:
                break
        if until_close:
            try:
                while True:
                    self.fill()
            except EOFError:
                pass
            body, self.buf = self.buf, b""
            return statuses, body
        if method == "HEAD" or st in (204, 304):
            return statuses, b""
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", h)
        n = int(m.group(1)) if m else 0
        while len(self.buf) < n:
            self.fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return statuses, body


def show(path, statuses):
    print("%s %s" % (path, ",".join(str(s) for s in statuses) or "-"), flush=True)


def main():
    port = int(sys.argv[1])
    rc = 0

    c = Conn(port)
    c.send(c.head("GET", "/close-delimited"))
    st, body = c.response("GET", until_close=True)
    show("/close-delimited", st)
    if body != b"hello":
        print("close-delimited body %r" % body, file=sys.stderr)
        rc = 1
    c.s.close()

    c = Conn(port)
    c.send(c.head("GET", "/truncated"))
    st, body = c.response("GET", until_close=True)
    show("/truncated", st)
    c.s.close()

    c = Conn(port)
    c.send(c.head("POST", "/continue", b"Expect: 100-continue\r\nContent-Length: 5\r\n"))
    st, _h = c.status_head()
    if st != 100:
        print("/continue: first status %d" % st, file=sys.stderr)
        rc = 1
    c.send(b"hello")
    st2, body = c.response("POST")
    show("/continue", [st] + st2)
    c.send(c.head("GET", "/after"))
    show("/after", c.response("GET")[0])
    c.s.close()

    c = Conn(port)
    c.send(c.head("GET", "/early-hints"))
    st, body = c.response("GET")
    show("/early-hints", st)
    c.send(c.head("GET", "/after2"))
    show("/after2", c.response("GET")[0])
    c.s.close()

    c = Conn(port)
    batch = [("HEAD", "/head"), ("GET", "/s/404"), ("GET", "/s/204"), ("GET", "/s/500"),
             ("GET", "/s/200")]
    c.send(b"".join(c.head(m, t) for m, t in batch))
    for m, t in batch:
        show(t, c.response(m)[0])
    c.s.close()
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (EOFError, ValueError, OSError) as e:
        print("edge_client: %r" % e, file=sys.stderr)
        sys.exit(1)
