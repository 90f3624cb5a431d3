#!/usr/bin/env python3
"""
loop_server.py - a small keep-alive HTTP/1.1 server (preloaded): in the
event-loop modes (test_http.sh 7) every connection is served by one
thread, interleaved.

  --mode asyncio    asyncio streams (epoll; recv/send on non-blocking sockets)
  --mode selectors  a hand-written selectors loop (recv/send, own buffers)
  --mode sendfile   not an event loop: a thread per connection whose
                    response bodies go out by os.sendfile() (test_http.sh 8)

GET /r/<conn>/<n>/<status> answers <status> with body "r<conn>-<n>" (no
body for 204), keep-alive; anything else 404. Requests have no bodies.

Binds 127.0.0.1:0, writes the port to --port-file once listening, exits
cleanly on SIGTERM.

usage: loop_server.py --mode asyncio|selectors|sendfile --port-file F
"""

import argparse
import asyncio
import os
import re
import selectors
import signal
import socket
import sys
import tempfile
import threading

REASON = {200: "OK", 201: "Created", 204: "No Content", 404: "Not Found", 500: "Internal Server Error"}


def respond(head):
    """The response bytes for one request head (bytes up to the blank line)."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    m = re.match(r"^GET /r/(\d+)/(\d+)/(\d{3}) HTTP/1\.1$", line)
    if m:
        status = int(m.group(3))
        body = b"" if status == 204 else ("r%s-%s" % (m.group(1), m.group(2))).encode()
    else:
        status, body = 404, b"no"
    out = "HTTP/1.1 %d %s\r\n" % (status, REASON.get(status, "X"))
    if status != 204:
        out += "Content-Length: %d\r\n" % len(body)
    return (out + "\r\n").encode() + body


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


async def serve_asyncio(port_file):
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(respond(head))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    write_port(port_file, srv.sockets[0].getsockname()[1])
    async with srv:
        await srv.serve_forever()


def serve_selectors(port_file):
    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, None)
    write_port(port_file, ls.getsockname()[1])
    state = {}  # sock -> [inbuf, outbuf]
    while True:
        for key, ev in sel.select():
            s = key.fileobj
            if s is ls:
                c, _ = ls.accept()
                c.setblocking(False)
                state[c] = [b"", b""]
                sel.register(c, selectors.EVENT_READ, None)
                continue
            st = state[s]
            if ev & selectors.EVENT_READ:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    d = None
                if d == b"":
                    sel.unregister(s)
                    s.close()
                    del state[s]
                    continue
                if d:
                    st[0] += d
                    while b"\r\n\r\n" in st[0]:
                        head, st[0] = st[0].split(b"\r\n\r\n", 1)
                        st[1] += respond(head + b"\r\n\r\n")
            if st[1]:
                try:
                    n = s.send(st[1])
                    st[1] = st[1][n:]
                except BlockingIOError:
                    pass
                sel.modify(s, selectors.EVENT_READ | (selectors.EVENT_WRITE if st[1] else 0), None)


def serve_sendfile(port_file):
    """Thread per connection, blocking; each response's head by sendall()
    and its body by os.sendfile() from a temporary file."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    write_port(port_file, ls.getsockname()[1])

    def conn_thread(c):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                out = respond(head + b"\r\n\r\n")
                h, body = out.split(b"\r\n\r\n", 1)
                c.sendall(h + b"\r\n\r\n")
                if body:
                    with tempfile.TemporaryFile() as f:
                        f.write(body)
                        f.flush()
                        off = 0
                        while off < len(body):
                            off += os.sendfile(c.fileno(), f.fileno(), off, len(body) - off)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=conn_thread, args=(c,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("asyncio", "selectors", "sendfile"), required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.mode == "asyncio":
        asyncio.run(serve_asyncio(a.port_file))
    elif a.mode == "selectors":
        serve_selectors(a.port_file)
    else:
        serve_sendfile(a.port_file)


if __name__ == "__main__":
    main()
