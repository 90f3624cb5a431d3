#!/usr/bin/env python3
"""
raw_client.py - sends non-HTTP byte streams to a recording peer
(recorder.py --raw), one connection per stream (the program under test in
test_http.sh 3, preloaded).

Streams (deterministic, seed 3):
  redis   Redis inline commands "GET key\\r\\n", "SET k v\\r\\n", ... and
          then an HTTP request head on the same connection (the connection
          was found not to be HTTP, so it must stay untouched)
  tls     0x16 0x03 0x01, a record length, random bytes, then an HTTP head
  binary  1 MiB of random bytes (first byte 0x00)
  h2      the HTTP/2 connection preface, then binary frames and an HTTP head
  http    the control: one plain HTTP request head (this one is traced)

Each stream is written with send() in random pieces to its own connection;
the exact bytes go to DIR/exp-LOCALPORT.bin and the stream's name to
DIR/name-LOCALPORT.txt. Then the write side is shut down and the client
waits for the peer to close.

usage: raw_client.py PORT DIR
"""

import os
import random
import socket
import sys

HTTP_TAIL = b"GET /late HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def streams(rng):
    redis = (b"GET key\r\n" b"SET k v\r\n" b"GET k\r\n" b"PING\r\n"
             b"SET counter 10\r\nINCR counter\r\n" + HTTP_TAIL)
    tls = bytes([0x16, 0x03, 0x01, 0x02, 0x00]) + rng.randbytes(512) + HTTP_TAIL
    binary = b"\x00" + rng.randbytes((1 << 20) - 1)
    h2 = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
          + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # empty SETTINGS frame
          + rng.randbytes(4096) + HTTP_TAIL)
    control = b"GET /control HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    return [("redis", redis), ("tls", tls), ("binary", binary), ("h2", h2), ("http", control)]


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(3)
    for name, data in streams(rng):
        s = socket.create_connection(("127.0.0.1", port))
        lport = s.getsockname()[1]
        with open(os.path.join(directory, "exp-%d.bin" % lport), "wb") as f:
            f.write(data)
        with open(os.path.join(directory, "name-%d.txt" % lport), "w") as f:
            f.write(name + "\n")
        pos = 0
        while pos < len(data):
            n = min(len(data) - pos, rng.choice((1, 7, 100, 4096, 65536)))
            pos += s.send(data[pos:pos + n])
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        s.close()
    print("sent %d streams" % len(streams(random.Random(3))))


if __name__ == "__main__":
    main()
