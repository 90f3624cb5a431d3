#!/usr/bin/env python3
"""
odd_client.py - request heads at the edges of HTTP/1.x (test_http.sh 4,
preloaded), each on its own connection to a recording peer
(recorder.py --raw: it never answers, so nothing but the request goes out).

For each case it writes DIR/exp-LOCALPORT.bin (the exact bytes) and
DIR/case-LOCALPORT.txt ("NAME EXPECT": EXPECT is how many traceparent lines
the library must insert right before the first head's blank line: 0, 1, or
"any" where the spec leaves the library free to give up on the connection).
The bytes are sent in random pieces; then the write side is shut down and
the client waits for the peer to close.

usage: odd_client.py PORT DIR
"""

import os
import random
import socket
import sys

TP = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def cases(rng):
    frames = rng.randbytes(300)
    inner = b"GET /inner HTTP/1.1\r\nHost: x\r\n\r\n"
    return [
        # the program's own header in every spelling the spec allows
        ("own_empty_traceparent", b"GET /e HTTP/1.1\r\nHost: x\r\ntraceparent:\r\n\r\n", "0"),
        # look-alikes that are not a traceparent header: insert
        ("traceparent_lookalikes", b"GET /xtp HTTP/1.1\r\nHost: x\r\nX-Traceparent: " + TP
         + b"\r\nX-Note: traceparent: " + TP + b"\r\ntraceparentx: 1\r\n\r\n", "1"),
        ("unknown_method", b"FOO /x HTTP/1.1\r\nHost: x\r\n\r\n", "1"),
        ("http_1_0_no_headers", b"GET /v10 HTTP/1.0\r\n\r\n", "1"),
        # no insertion: Upgrade, CONNECT; what follows is not HTTP any more
        ("upgrade_then_frames", b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
         b"Connection: Upgrade\r\n\r\n" + frames + inner, "0"),
        ("connect_then_tunnel", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
         + b"\x16\x03\x01\x02\x00" + frames + inner, "0"),
        # limits and rarely seen syntax: the library may give up, never corrupt
        ("header_line_20000", b"GET /long HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20000
         + b"\r\n\r\n", "any"),
        ("headers_300", b"GET /many HTTP/1.1\r\nHost: x\r\n"
         + b"".join(b"X-H-%d: v\r\n" % i for i in range(300)) + b"\r\n", "any"),
        ("bare_lf", b"GET /lf HTTP/1.1\nHost: x\n\n", "any"),
        ("obs_fold", b"GET /fold HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", "any"),
        ("leading_empty_line", b"\r\nGET /lead HTTP/1.1\r\nHost: x\r\n\r\n", "any"),
    ]


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(5)
    for name, data, expect in cases(rng):
        s = socket.create_connection(("127.0.0.1", port))
        lport = s.getsockname()[1]
        with open(os.path.join(directory, "exp-%d.bin" % lport), "wb") as f:
            f.write(data)
        with open(os.path.join(directory, "case-%d.txt" % lport), "w") as f:
            f.write("%s %s\n" % (name, expect))
        pos = 0
        while pos < len(data):
            n = rng.choice((1, 3, 40, 5000))
            pos += s.send(data[pos:pos + n])
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        s.close()


if __name__ == "__main__":
    main()
