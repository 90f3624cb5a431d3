#!/usr/bin/env python3
"""
burst_client.py - the process's very first connections, opened by many
threads at the same instant (test_http.sh 2, preloaded): each thread
connects to the recording peer (recorder.py, HTTP mode) right after a
barrier and sends one GET; every one of them must be traced, including
those that race with the library's lazy initialisation.

Prints the number of requests answered; exit 1 on any error.

usage: burst_client.py PORT [THREADS]
"""

import socket
import sys
import threading


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    barrier = threading.Barrier(n)
    done = []
    lock = threading.Lock()

    def run(i):
        s = socket.socket()
        barrier.wait()
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /burst/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        r = b""
        while not r.endswith(b"\r\n\r\n"):
            d = s.recv(100)
            if not d:
                break
            r += d
        s.close()
        with lock:
            done.append(r.startswith(b"HTTP/1.1 200"))

    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sum(done))
    return 0 if sum(done) == n else 1


if __name__ == "__main__":
    sys.exit(main())
