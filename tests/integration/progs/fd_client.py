#!/usr/bin/env python3
"""
fd_client.py - per-fd state must follow the fd (test_http.sh 4, preloaded;
peer: recorder.py --raw). Writes exp-LOCALPORT.bin and case-LOCALPORT.txt
like odd_client.py.

  partial_then_close  a head cut in the middle of a header line, then
                      close(): the peer gets exactly that, nothing inserted
  reused_fd           a new connection that got the same fd number: its
                      request gets exactly one traceparent, in its own head
  partial_then_dup2   a head cut mid-line, then dup2() of another connected
                      socket over that fd number (the old connection ends)
  written_via_dup2    a full request written through the dup2'ed fd number:
                      traced or not ("any"), but never shifted or corrupted

usage: fd_client.py PORT DIR
"""

import os
import socket
import sys


def record(directory, s, name, expect, data):
    lport = s.getsockname()[1]
    with open(os.path.join(directory, "exp-%d.bin" % lport), "ab") as f:
        f.write(data)
    with open(os.path.join(directory, "case-%d.txt" % lport), "w") as f:
        f.write("%s %s\n" % (name, expect))


def finish(s):
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()


def main():
    port, d = int(sys.argv[1]), sys.argv[2]
    addr = ("127.0.0.1", port)

    a = socket.create_connection(addr)
    part = b"GET /a HTTP/1.1\r\nHost: x\r\nX-Partial: abc"
    record(d, a, "partial_then_close", "0", part)
    a.sendall(part)
    fd_a = a.fileno()
    a.close()

    b = socket.create_connection(addr)
    full = b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    record(d, b, "reused_fd" if b.fileno() == fd_a else "reused_fd(other_fd)", "1", full)
    b.sendall(full)
    finish(b)

    c = socket.create_connection(addr)
    part = b"GET /c HTTP/1.1\r\nHo"
    record(d, c, "partial_then_dup2", "0", part)
    c.sendall(part)
    e = socket.create_connection(addr)
    record(d, e, "written_via_dup2", "any", full)
    os.dup2(e.fileno(), c.fileno())     # c's connection is closed by this
    os.write(c.fileno(), full)
    c.close()
    finish(e)


if __name__ == "__main__":
    main()
