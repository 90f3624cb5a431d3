#!/usr/bin/env python3
"""
tp_client.py - http.client requests that carry the program's own
traceparent (the program under test in test_http.sh 4, preloaded).

For each header spelling in NAMES, one GET on its own connection to the
recording peer (recorder.py, HTTP mode) with "NAME: 00-TRACE-PARENT-01";
then one plain GET without it (the control: the library does inject).
Prints "LOCALPORT NAME" per connection ("LOCALPORT -" for the control).

usage: tp_client.py PORT TRACE PARENT
"""

import http.client
import sys

NAMES = ("traceparent", "Traceparent", "TRACEPARENT")


def get(port, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.connect()
    lport = c.sock.getsockname()[1]
    c.request("GET", "/own", headers=headers)
    r = c.getresponse()
    r.read()
    c.close()
    return lport


def main():
    port, trace, parent = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    for name in NAMES:
        lport = get(port, {name: "00-%s-%s-01" % (trace, parent)})
        print(lport, name)
    print(get(port, {}), "-")


if __name__ == "__main__":
    main()
