#!/usr/bin/env python3
"""
pipe_client.py - writes HTTP request heads into a connection the peer has
reset (edge_server.py --rst), and reports how that ended (test_http.sh 8;
run with and without the library: the two must agree, FIELD-NOTES 2 on
MSG_NOSIGNAL).

  MODE = SIGPIPE disposition "dfl" (default: the process dies) or "ign",
         then the call: write (os.write), send (flags 0), send-nosignal
         (MSG_NOSIGNAL), sendmsg-nosignal; with "-shut" appended the
         client first shuts down its own write side (EPIPE at once).
Prints "error ERRNONAME" for each failed call (an ECONNRESET is followed
by more writes, until another error), and nothing more when the process
was killed by SIGPIPE (the exit status tells).

usage: pipe_client.py PORT MODE
"""

import errno
import os
import signal
import socket
import sys
import time


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    shut = mode.endswith("-shut")
    disp, call = mode[:-5 if shut else None].split("-", 1)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL if disp == "dfl" else signal.SIG_IGN)
    s = socket.create_connection(("127.0.0.1", port))
    time.sleep(0.05)          # the reset arrives
    head = b"GET /pipe HTTP/1.1\r\nHost: x\r\n\r\n"
    if shut:
        s.shutdown(socket.SHUT_WR)
    seen = []
    for _ in range(100):
        try:
            if call == "write":
                os.write(s.fileno(), head)
            elif call == "send":
                s.send(head)
            elif call == "send-nosignal":
                s.send(head, socket.MSG_NOSIGNAL)
            else:
                s.sendmsg([head], [], socket.MSG_NOSIGNAL)
        except OSError as e:
            seen.append(errno.errorcode.get(e.errno, str(e.errno)))
            print("error %s" % seen[-1], flush=True)
            if e.errno != errno.ECONNRESET:
                return 0
        time.sleep(0.01)
    print("no error after 100 writes")
    return 1


if __name__ == "__main__":
    sys.exit(main())
