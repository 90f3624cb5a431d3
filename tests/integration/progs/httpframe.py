"""
httpframe.py - HTTP/1.x request framing for the recording peer and the
byte checkers (stdlib only, never preloaded).

RequestFramer is fed the bytes of one connection in any split and reports
each complete request: where its head starts and ends in the stream and
where its body ends. Framing per RFC 9112 section 6: Transfer-Encoding
whose last coding is "chunked" wins, then Content-Length, else no body.
Chunked bodies: chunk-size [; ext] CRLF data CRLF ... 0 CRLF trailers CRLF.
"""

import re

HEAD_MAX = 1 << 20


class FramingError(Exception):
    pass


def head_framing(head):
    """('chunked', None) / ('length', n) for a request head (bytes, CRLF
    separated, including the blank line)."""
    te = None
    cl = None
    for line in head.split(b"\r\n")[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise FramingError("header line without a colon: %r" % line[:80])
        name = name.strip().lower()
        value = value.strip()
        if name == b"transfer-encoding":
            te = value.lower()
        elif name == b"content-length":
            if not re.fullmatch(rb"[0-9]+", value):
                raise FramingError("bad Content-Length %r" % value)
            cl = int(value)
    if te is not None and te.split(b",")[-1].strip() == b"chunked":
        return "chunked", None
    return "length", cl or 0


class RequestFramer:
    """Incremental request framing for one connection.

    feed(data) returns a list of (head_start, head_end, message_end) stream
    offsets, one per request completed by these bytes."""

    def __init__(self):
        self.buf = bytearray()
        self.base = 0           # stream offset of buf[0]
        self.state = "head"
        self.msg_start = 0
        self.head_end = 0
        self.remaining = 0      # body / chunk bytes still to skip
        self.search_from = 0

    def _take(self, n):
        del self.buf[:n]
        self.base += n
        self.search_from = max(0, self.search_from - n)

    def feed(self, data):
        self.buf += data
        done = []
        while True:
            st = self.state
            if st == "head":
                i = self.buf.find(b"\r\n\r\n", self.search_from)
                if i < 0:
                    if len(self.buf) > HEAD_MAX:
                        raise FramingError("no end of head within %d bytes" % HEAD_MAX)
                    self.search_from = max(0, len(self.buf) - 3)
                    return done
                head = bytes(self.buf[:i + 4])
                self.msg_start = self.base
                self.head_end = self.base + i + 4
                kind, n = head_framing(head)
                self._take(i + 4)
                self.search_from = 0
                if kind == "chunked":
                    self.state = "chunk-size"
                elif n:
                    self.state = "body"
                    self.remaining = n
                else:
                    done.append((self.msg_start, self.head_end, self.base))
                    self.state = "head"
            elif st in ("body", "chunk-data"):
                k = min(self.remaining, len(self.buf))
                self._take(k)
                self.remaining -= k
                if self.remaining:
                    return done
                if st == "body":
                    done.append((self.msg_start, self.head_end, self.base))
                    self.state = "head"
                else:
                    self.state = "chunk-crlf"
            elif st == "chunk-crlf":
                if len(self.buf) < 2:
                    return done
                if self.buf[:2] != b"\r\n":
                    raise FramingError("no CRLF after chunk data at %d" % self.base)
                self._take(2)
                self.state = "chunk-size"
            elif st in ("chunk-size", "trailer"):
                i = self.buf.find(b"\r\n", self.search_from)
                if i < 0:
                    if len(self.buf) > HEAD_MAX:
                        raise FramingError("chunk-size/trailer line too long")
                    self.search_from = max(0, len(self.buf) - 1)
                    return done
                line = bytes(self.buf[:i])
                self._take(i + 2)
                self.search_from = 0
                if st == "chunk-size":
                    size = line.split(b";", 1)[0].strip()
                    if not re.fullmatch(rb"[0-9a-fA-F]+", size):
                        raise FramingError("bad chunk size %r" % line[:40])
                    n = int(size, 16)
                    if n == 0:
                        self.state = "trailer"
                    else:
                        self.remaining = n
                        self.state = "chunk-data"
                elif line == b"":
                    done.append((self.msg_start, self.head_end, self.base))
                    self.state = "head"
            else:
                raise AssertionError(st)

    def idle(self):
        """True between requests (nothing of a next request seen)."""
        return self.state == "head" and not self.buf
