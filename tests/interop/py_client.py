#!/usr/bin/env python3
"""
py_client.py - a keep-alive HTTP/1.1 client (python's http.client) for the
interop tests; run with or without the library preloaded:

    python3 py_client.py HOST PORT PATH...

GETs each PATH in turn on one HTTPConnection (it reconnects by itself only
when the server closed the connection). Prints one line per response:
"<status> <local port> <body length>"; the local port shows whether the
connection was reused. Exits 0 when every request got a response.
"""

import http.client
import sys


def main():
    host, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for path in paths:
        conn.request("GET", path, headers={"User-Agent": "interop-py-client/1"})
        resp = conn.getresponse()
        body = resp.read()
        print("%d %d %d" % (resp.status, conn.sock.getsockname()[1] if conn.sock else 0,
                            len(body)), flush=True)
    conn.close()


if __name__ == "__main__":
    main()
