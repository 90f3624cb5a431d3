#!/usr/bin/env python3
"""
waterfall.py - `otelpreload view`: draw the traces in OTLP/JSON lines files
(the file exporter's format) as waterfalls, on the terminal or as one
self-contained HTML page.

usage: waterfall.py [--html OUT.html] [--color auto|always|never]
                    [--last N] [--missing-ok] FILE...

Input: each line of each FILE ("-" is stdin) is one ExportTraceServiceRequest
in OTLP/JSON. Lines that are not (invalid JSON, wrong shape, bad UTF-8) are
skipped, counted and reported once on stderr; a span seen twice (same trace
and span id, e.g. a file given twice) is shown once.

DESIGN: the files are read line by line and each span is reduced to one
small record (class Span); memory is linear in the number of spans and no
step is worse than sorting siblings, so large files stay fast. A trace's tree
comes from parentSpanId alone: a span whose parent is not in the files (or
whose links form a loop) is a root of its trace and is marked. Siblings are
ordered by start time, then span id; traces by their first start time.

Terminal (default): one row per span, grouped per trace, indented by depth:

  !^ SERVICE TREE NAME  DETAILS        DURATION  STATUS  |   BAR   |

  "!" marks an error span (status code ERROR), "^" a root whose parent is
  not in the files (or whose parent links loop). DETAILS is the one
  attribute that says what the span touched (db.query.summary or a
  shortened db.query.text, url.full or url.path, dns.question.name, server
  or peer address; left out when the name says it). STATUS is the HTTP status code
  and, on errors, "ERROR" and error.type. A span with a code.stacktrace gets
  a second line with its first frame. Colours (errors red, bars by service)
  only when the output is a terminal and NO_COLOR is unset, or with
  --color always. Width: $COLUMNS, else the terminal's, else (a pipe or a
  file) 160; never less than 60. Names are shown with control and bidi characters escaped.

--html OUT.html: the same rows in one page with inline CSS and JS, no
network access (a Content-Security-Policy allows only the page's own
script and style, by hash); span data travels as JSON in a non-executed
<script type="application/json"> block with <, >, & escaped, and the
script builds the rows with textContent only. Clicking a row shows its
attributes, events and resource; "#expand" in the URL opens them all.

--last N draws only the N traces that started last (otelpreload run uses
50). --missing-ok (for scripts/runner.py): a FILE that does not exist holds
no spans rather than being an error.

Exit status: 0; 1 when a FILE could not be read; 2 on bad usage.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import shutil
import sys
import unicodedata

KINDS = {0: "", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
KIND_NAMES = {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
              "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}
STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
MIN_WIDTH = 60
PIPE_WIDTH = 160         # the width when the output is not a terminal
MAX_INDENT = 24          # deeper levels are drawn at this depth, with "+N"
MAX_TEXT = 4096          # longest attribute value kept (the rest is cut)


class Span:
    """One span, reduced to what the views need."""
    __slots__ = ("tid", "sid", "pid", "name", "kind", "start", "end", "svc",
                 "code", "msg", "attrs", "events", "res", "orphan")

    def __init__(self):
        self.orphan = False


# ---------------------------------------------------------------- reading

def _int(v):
    """An OTLP/JSON int64 (a decimal string or a number), or None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v == v:
        return int(v)
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return None
    return None


def _id(v):
    """A trace/span id as lowercase hex: hex as OTLP/JSON says, or base64 as
    some protobuf JSON encoders write it."""
    if not isinstance(v, str) or not v:
        return ""
    s = v.strip().lower()
    if s and all(c in "0123456789abcdef" for c in s):
        return "" if s.strip("0") == "" else s
    try:
        b = base64.b64decode(v, validate=True)
    except ValueError:
        return v
    return b.hex() if b and any(b) else ""


def _clip(s):
    return s if len(s) <= MAX_TEXT else s[:MAX_TEXT] + "…"


def value(v, depth=0):
    """AnyValue -> a display string."""
    if not isinstance(v, dict) or depth > 8:
        return ""
    if "stringValue" in v:
        s = v["stringValue"]
        return _clip(s) if isinstance(s, str) else str(s)
    if "intValue" in v:
        return str(_int(v["intValue"]))
    if "doubleValue" in v:
        return str(v["doubleValue"])
    if "boolValue" in v:
        return "true" if v["boolValue"] is True else "false"
    if "bytesValue" in v:
        return "b64:" + _clip(str(v["bytesValue"]))
    if "arrayValue" in v:
        vals = v["arrayValue"].get("values", []) if isinstance(v["arrayValue"], dict) else []
        if not isinstance(vals, list):
            return "[]"
        return _clip("[" + ", ".join(value(x, depth + 1) for x in vals[:64]) + "]")
    if "kvlistValue" in v:
        kv = v["kvlistValue"].get("values", []) if isinstance(v["kvlistValue"], dict) else []
        return _clip("{" + ", ".join("%s=%s" % (k, x) for k, x in attributes(kv, depth + 1)) + "}")
    return ""


def attributes(lst, depth=0):
    """A KeyValue list -> [(key, display string)], skipping malformed items."""
    out = []
    if not isinstance(lst, list):
        return out
    for a in lst:
        if isinstance(a, dict) and isinstance(a.get("key"), str):
            out.append((_clip(a["key"]), value(a.get("value"), depth)))
    return out


class Reader:
    """Accumulates the spans of many files, grouped by trace id."""

    def __init__(self):
        self.traces = {}        # trace id -> [Span]
        self.bad_lines = 0
        self.first_bad = None   # "file:line"
        self.bad_spans = 0
        self.dups = 0
        self.unreadable = []    # (path, reason)
        self.resources = {}     # interned resource attribute tuples

    def read(self, path, missing_ok=False):
        try:
            f = sys.stdin.buffer if path == "-" else open(path, "rb")
        except OSError as e:
            if not (missing_ok and isinstance(e, FileNotFoundError)):
                self.unreadable.append((path, e.strerror or str(e)))
            return
        try:
            for n, line in enumerate(f, 1):
                if line.strip():
                    self._line(line, path, n)
        except OSError as e:
            self.unreadable.append((path, e.strerror or str(e)))
        finally:
            if f is not sys.stdin.buffer:
                f.close()

    def _bad(self, path, n):
        self.bad_lines += 1
        if self.first_bad is None:
            self.first_bad = "%s:%d" % (path, n)

    def _line(self, line, path, n):
        try:
            req = json.loads(line)
        except (ValueError, RecursionError):
            self._bad(path, n)
            return
        rss = req.get("resourceSpans") if isinstance(req, dict) else None
        if not isinstance(rss, list):
            self._bad(path, n)
            return
        for rs in rss:
            if not isinstance(rs, dict):
                continue
            res = rs.get("resource")
            rattrs = tuple(attributes(res.get("attributes") if isinstance(res, dict) else None))
            rattrs = self.resources.setdefault(rattrs, rattrs)
            svc = next((v for k, v in rattrs if k == "service.name"), "") or "?"
            sss = rs.get("scopeSpans")
            for ss in sss if isinstance(sss, list) else ():
                spans = ss.get("spans") if isinstance(ss, dict) else None
                for s in spans if isinstance(spans, list) else ():
                    self._span(s, svc, rattrs)

    def _span(self, s, svc, rattrs):
        if not isinstance(s, dict):
            self.bad_spans += 1
            return
        tid, sid = _id(s.get("traceId")), _id(s.get("spanId"))
        if not tid or not sid:
            self.bad_spans += 1
            return
        sp = Span()
        sp.tid, sp.sid, sp.pid = tid, sid, _id(s.get("parentSpanId"))
        name = s.get("name")
        sp.name = _clip(name) if isinstance(name, str) else ""
        kind = s.get("kind")
        sp.kind = KIND_NAMES.get(kind, 0) if isinstance(kind, str) else (_int(kind) or 0)
        st, en = _int(s.get("startTimeUnixNano")), _int(s.get("endTimeUnixNano"))
        sp.start = st if st else None
        sp.end = en if en and st and en >= st else None
        sp.svc = svc
        status = s.get("status")
        status = status if isinstance(status, dict) else {}
        code = status.get("code")
        sp.code = STATUS_NAMES.get(code, 0) if isinstance(code, str) else (_int(code) or 0)
        msg = status.get("message")
        sp.msg = _clip(msg) if isinstance(msg, str) else ""
        sp.attrs = attributes(s.get("attributes"))
        evs = s.get("events")
        sp.events = []
        for e in evs if isinstance(evs, list) else ():
            if isinstance(e, dict):
                en_ = e.get("name")
                sp.events.append((_int(e.get("timeUnixNano")), en_ if isinstance(en_, str) else "",
                                  attributes(e.get("attributes"))))
        sp.res = rattrs
        self.traces.setdefault(tid, []).append(sp)

    def warn(self, err):
        if self.unreadable:
            for path, why in self.unreadable:
                err.write("otelpreload view: cannot read %s: %s\n" % (path, why))
        if self.bad_lines:
            err.write("otelpreload view: skipped %d line(s) that are not OTLP/JSON "
                      "(the first at %s)\n" % (self.bad_lines, self.first_bad))
        if self.bad_spans:
            err.write("otelpreload view: skipped %d span(s) without a trace or span id\n"
                      % self.bad_spans)
        if self.dups:
            err.write("otelpreload view: %d span(s) seen more than once were shown once\n"
                      % self.dups)


# ---------------------------------------------------------------- trees

def _key(s):
    return (s.start if s.start is not None else -1, s.sid)


class Trace:
    """A trace's spans in display order: rows of (span, depth, lasts), where
    lasts[i] tells whether the ancestor at depth i+1 (or the span itself,
    last item) is the last of its siblings; it drives the tree glyphs and is
    kept only up to MAX_INDENT levels."""

    def __init__(self, tid, spans):
        self.tid = tid
        byid = {}
        for s in spans:
            byid.setdefault(s.sid, s)
        if len(byid) < len(spans):
            # the same span twice (a file given twice): keep the first
            self.dups = len(spans) - len(byid)
            keep = set(map(id, byid.values()))
            spans = [s for s in spans if id(s) in keep]
        else:
            self.dups = 0
        starts = [s.start for s in spans if s.start is not None]
        ends = [s.end for s in spans if s.end is not None]
        self.t0 = min(starts) if starts else 0
        self.t1 = max(starts + ends) if starts else 0
        self.nspans = len(spans)
        self.services = sorted({s.svc for s in spans})
        kids = {}
        roots = []
        for s in spans:
            if s.pid and s.pid in byid and s.pid != s.sid:
                kids.setdefault(s.pid, []).append(s)
            else:
                s.orphan = "missing" if s.pid else False
                roots.append(s)
        for k in kids.values():
            k.sort(key=_key)
        roots.sort(key=_key)
        self.rows = []
        done = set()
        self._walk(roots, kids, done)
        if len(done) < len(spans):
            # Parent links that form a loop: no span of the loop is reached
            # from a root. Each loop is entered at its earliest span.
            rest = sorted((s for s in spans if s.sid not in done), key=_key)
            for s in rest:
                if s.sid not in done:
                    s.orphan = "loop"
                    self._walk([s], kids, done)

    def _walk(self, roots, kids, done):
        stack = [(s, 0, (i == len(roots) - 1,)) for i, s in reversed(list(enumerate(roots)))]
        while stack:
            s, depth, lasts = stack.pop()
            if s.sid in done:
                continue
            done.add(s.sid)
            self.rows.append((s, depth, lasts))
            ch = [c for c in kids.get(s.sid, ()) if c.sid not in done]
            for i in range(len(ch) - 1, -1, -1):
                cl = lasts + (i == len(ch) - 1,) if len(lasts) <= MAX_INDENT else lasts
                stack.append((ch[i], depth + 1, cl))


def build(reader):
    traces = [Trace(tid, ss) for tid, ss in reader.traces.items()]
    traces.sort(key=lambda t: (t.t0, t.tid))
    reader.dups = sum(t.dups for t in traces)
    return traces


# ---------------------------------------------------------------- text

BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean(s, limit=None):
    """s with control, bidi, separator and surrogate characters escaped
    (\\xNN, \\uNNNN), so a span name cannot move the cursor, recolour the
    terminal or reorder the line. Only the first `limit` characters are
    looked at."""
    if limit is not None and len(s) > limit:
        s = s[:limit]
    if s.isprintable() and not (BIDI & set(s)):
        return s
    out = []
    for ch in s:
        o = ord(ch)
        if ch in BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp", "Co", "Cn"):
            out.append("\\x%02x" % o if o < 0x100 else "\\u%04x" % o if o < 0x10000
                       else "\\U%08x" % o)
        else:
            out.append(ch)
    return "".join(out)


def cwidth(ch):
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def dwidth(s):
    if s.isascii():
        return len(s)
    return sum(cwidth(c) for c in s)


def fit(s, w, ell="…"):
    """s cut to display width w (ending in ell when cut), padded to w."""
    if w <= 0:
        return ""
    if s.isascii() and len(s) <= w:
        return s + " " * (w - len(s))
    if dwidth(s) <= w:
        return s + " " * (w - dwidth(s))
    out, used, lim = [], 0, w - dwidth(ell)
    for ch in s:
        cw = cwidth(ch)
        if used + cw > lim:
            break
        out.append(ch)
        used += cw
    return "".join(out) + ell + " " * (lim - used)


def fmt_dur(ns, micro="µs"):
    if ns is None:
        return "?"
    if ns < 1000:
        return "%d ns" % ns
    if ns < 999950:
        return "%.1f %s" % (ns / 1e3, micro)
    if ns < 999999500:
        return "%.3f ms" % (ns / 1e6)
    if ns < 60e9:
        return "%.3f s" % (ns / 1e9)
    m, sec = divmod(int(round(ns / 1e9)), 60)
    h, m = divmod(m, 60)
    return "%dh%02dm%02ds" % (h, m, sec) if h else "%dm%02ds" % (m, sec)


def fmt_time(ns):
    if not ns:
        return "time unknown"
    try:
        t = datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return "time unknown"
    return t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d UTC" % (t.microsecond // 1000)


def attr(s, key):
    for k, v in s.attrs:
        if k == key:
            return v
    return None


def shorten(q, n=60):
    q = " ".join(q.split())
    return q if len(q) <= n else q[:n - 1] + "…"


def details(s):
    """The one thing a row says the span touched."""
    a = dict(s.attrs)
    if "db.query.summary" in a:
        return a["db.query.summary"]
    if "db.query.text" in a:
        return shorten(a["db.query.text"])
    if "url.full" in a:
        return a["url.full"]
    if "url.path" in a:
        q = a.get("url.query")
        return a["url.path"] + ("?" + q if q else "")
    if "dns.question.name" in a:
        return a["dns.question.name"]
    for host, port in (("server.address", "server.port"),
                       ("network.peer.address", "network.peer.port")):
        if host in a:
            return a[host] + (":" + a[port] if a.get(port) else "")
    return ""


def _det(s):
    d = details(s)
    return "" if d and d in s.name else d


def status_text(s):
    parts = []
    code = attr(s, "http.response.status_code")
    if code:
        parts.append(code)
    if s.code == 2:
        parts.append("ERROR")
        et = attr(s, "error.type")
        if et and et != code:
            parts.append(et)
        elif not et and s.msg and not code:
            parts.append(s.msg)
    return " ".join(parts)


def first_frame(s):
    st = attr(s, "code.stacktrace")
    if not st:
        return ""
    for line in st.splitlines():
        if line.strip():
            return line.strip()
    return ""


class Style:
    """Glyphs and colours for one output stream."""

    def __init__(self, stream, color):
        enc = (getattr(stream, "encoding", None) or "ascii").lower().replace("-", "")
        self.uni = enc in ("utf8", "utf_8")
        if self.uni:
            self.mid, self.last, self.pipe, self.blank = "├─ ", "└─ ", "│  ", "   "
            self.bar, self.open, self.sep, self.frame, self.ell = "█", "░", " · ", "↳ ", "…"
            self.micro = "µs"
        else:
            self.mid, self.last, self.pipe, self.blank = "|- ", "`- ", "|  ", "   "
            self.bar, self.open, self.sep, self.frame, self.ell = "#", "?", " - ", "-> ", "~"
            self.micro = "us"
        self.color = color

    def c(self, code, s):
        return "\x1b[%sm%s\x1b[0m" % (code, s) if self.color and s else s


SVC_COLORS = ("36", "33", "35", "32", "34", "96", "93", "95", "92", "94")


def term_width(stream):
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    try:
        if stream.isatty():
            return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        pass
    # a pipe or a file does not wrap: wide enough to keep URLs readable
    return PIPE_WIDTH


def layout(width, svc_w, st_w):
    """Column widths (svc, name, status, bar) for a row of `width` cells:
    2 markers, 1, svc, 1, name, 1, duration 10, 1, status, 1, |bar|."""
    bar = max(10, min(60, width // 4))
    svc_w = min(svc_w, 16)
    st_w = min(max(st_w, 6), 28)
    fixed = lambda: 3 + svc_w + 1 + 1 + 10 + 1 + st_w + 1 + bar + 2
    # the name column gets at least a third of the row: narrow the status
    # column to 12, then the bar to 12, then both to 6, then the services
    want = max(16, width // 3)
    for col, floor in (("st", 12), ("bar", 12), ("st", 6), ("bar", 6), ("svc", 6)):
        while width - fixed() < want:
            if col == "st" and st_w > floor:
                st_w -= 1
            elif col == "bar" and bar > floor:
                bar -= 1
            elif col == "svc" and svc_w > floor:
                svc_w -= 1
            else:
                break
    return svc_w, max(8, width - fixed()), st_w, bar


def tree_prefix(st, depth, lasts):
    if depth == 0:
        return ""
    p = []
    for lst in lasts[1:-1]:
        p.append(st.blank if lst else st.pipe)
    p.append(st.last if lasts[-1] else st.mid)
    if depth > MAX_INDENT:
        p.append("+%d " % (depth - MAX_INDENT))
    return "".join(p)


def render_trace(t, out, width, st, svc_color):
    span = max(t.t1 - t.t0, 1)
    dur = t.t1 - t.t0
    sep = st.sep
    head = "trace %s%s%d span%s%s%s%s%s%s" % (
        clean(t.tid, 64), sep, t.nspans, "" if t.nspans == 1 else "s", sep,
        ", ".join(clean(x, 40) for x in t.services), sep, fmt_dur(dur, st.micro), sep)
    head += fmt_time(t.t0)
    out.write(st.c("1", fit(head, width, st.ell).rstrip()) + "\n")
    rows = t.rows
    svc_w = max([7] + [dwidth(clean(s.svc, 40)) for s, _, _ in rows])
    stats = [status_text(s) for s, _, _ in rows]
    st_w = max([6] + [dwidth(clean(x, 40)) for x in stats])
    sw, nw, stw, bw = layout(width, svc_w, st_w)
    scale_l, scale_r = "0", fmt_dur(dur, st.micro)
    if len(scale_l) + 1 + dwidth(scale_r) <= bw:
        scale = scale_l + " " * (bw - len(scale_l) - dwidth(scale_r)) + scale_r
    else:
        scale = " " * max(0, bw - dwidth(scale_r)) + scale_r
    out.write(st.c("2", "   %s %s %10s %s |%s|" % (fit("service", sw), fit("span", nw), "duration",
                                                   fit("status", stw), fit(scale, bw))) + "\n")
    orphans = {"missing": 0, "loop": 0}
    for (s, depth, lasts), stat in zip(rows, stats):
        err = s.code == 2
        if s.orphan:
            orphans[s.orphan] += 1
        mark = ("!" if err else " ") + ("^" if s.orphan else " ")
        prefix = tree_prefix(st, depth, lasts)
        name = clean(s.name, 4 * nw) or "(no name)"
        det = clean(_det(s), 4 * nw)
        label = prefix + name + ("  " + det if det else "")
        label = fit(label, nw, st.ell)
        if st.color and det and not err:
            # dim the details only when they were not cut into the name
            cut = dwidth(prefix + name) + 2
            if cut < nw:
                pos = _cell_index(label, cut)
                label = label[:pos] + st.c("2", label[pos:].rstrip()) + " " * (
                    nw - dwidth(label.rstrip()))
        d = None if s.end is None or s.start is None else s.end - s.start
        if s.start is None:
            a, b, ch = 0, bw, st.open
        else:
            a = min(bw - 1, int((s.start - t.t0) * bw / span))
            if s.end is None:
                b, ch = bw, st.open
            else:
                b = max(a + 1, min(bw, int(round((s.end - t.t0) * bw / span))))
                ch = st.bar
        bar = " " * a + ch * (b - a) + " " * (bw - b)
        durs = fmt_dur(d, st.micro) if d is not None else "?"
        svc = fit(clean(s.svc, 40), sw, st.ell)
        statf = fit(clean(stat, 80), stw, st.ell)
        if st.color:
            col = "31" if err else svc_color(s.svc)
            bar = bar.replace(bar.strip(), st.c(col, bar.strip()), 1) if bar.strip() else bar
            svc = st.c(svc_color(s.svc), svc)
            if err:
                mark, label, statf = st.c("1;31", mark), st.c("31", label), st.c("1;31", statf)
        out.write("%s %s %s %10s %s |%s|\n" % (mark, svc, label, durs, statf, bar))
        fr = first_frame(s)
        if fr:
            ind = dwidth(prefix) + 3
            out.write("   %s %s\n" % (" " * sw, st.c("2", fit(" " * ind + st.frame + clean(fr, 4 * nw),
                                                             nw + 11 + stw, st.ell).rstrip())))
    if orphans["missing"]:
        n = orphans["missing"]
        out.write(st.c("2", fit("   ^ parent not in these files (%d span%s)" % (
            n, "" if n == 1 else "s"), width).rstrip()) + "\n")
    if orphans["loop"]:
        out.write(st.c("2", fit("   ^ parent links that form a loop, drawn from their earliest span",
                                width).rstrip()) + "\n")
    out.write("\n")


def _cell_index(s, cells):
    """Index into s where display column `cells` starts."""
    used = 0
    for i, ch in enumerate(s):
        if used >= cells:
            return i
        used += cwidth(ch)
    return len(s)


def render_text(traces, out, color, shown_from=0):
    st = Style(out, color)
    width = term_width(out)
    colors = {}

    def svc_color(name):
        if name not in colors:
            colors[name] = SVC_COLORS[len(colors) % len(SVC_COLORS)]
        return colors[name]

    if not traces:
        out.write("no spans\n")
        return
    if shown_from:
        out.write(st.c("2", "(%d earlier trace%s not shown)" % (
            shown_from, "" if shown_from == 1 else "s")) + "\n\n")
    for t in traces[shown_from:]:
        render_trace(t, out, width, st, svc_color)
    nsp = sum(t.nspans for t in traces)
    out.write("%d trace%s, %d span%s\n" % (len(traces), "" if len(traces) == 1 else "s",
                                           nsp, "" if nsp == 1 else "s"))


# ---------------------------------------------------------------- HTML

CSS = r"""
:root{--fg:#1d232b;--mute:#6b7480;--line:#e3e6ea;--err:#c62828;--errbg:#fdecec;--sel:#eef4ff}
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
header{padding:12px 16px;border-bottom:1px solid var(--line);position:sticky;top:0;background:#fff;z-index:2}
h1{font-size:16px;margin:0 0 4px}
.sub{color:var(--mute);margin:0 0 6px}
#legend{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center}
#legend .sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-2px}
button{font:inherit;padding:2px 8px;border:1px solid #c9ced4;background:#f6f7f8;border-radius:4px;cursor:pointer}
.trace{margin:14px 16px 22px;border:1px solid var(--line);border-radius:6px;overflow:hidden}
.thead{padding:6px 10px;background:#f6f7f9;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:4px 16px}
.thead .tid{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:600}
.thead .info{color:var(--mute)}
.axis,.row{display:grid;grid-template-columns:18px minmax(240px,38%) 96px 200px 1fr;align-items:center}
.axis{color:var(--mute);font-size:11px;border-bottom:1px solid var(--line);height:20px}
.axis .ticks{position:relative;height:100%;margin:0 10px}
.axis .ticks span{position:absolute;top:3px;transform:translateX(-50%);white-space:nowrap}
.axis .ticks span:first-child{transform:none}
.axis .ticks span:last-child{transform:translateX(-100%)}
.row{min-height:22px;border-bottom:1px solid #f1f2f4;cursor:pointer}
.row:hover,.row:focus{background:var(--sel);outline:none}
.row.err{background:var(--errbg)}
.row.err .name,.row.err .st{color:var(--err);font-weight:600}
.mark{text-align:center;font-weight:700;color:var(--err)}
.label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:8px}
.tw{display:inline-block;width:14px;color:var(--mute);text-align:center}
.svc{font-weight:600;margin-right:6px}
.orph{color:var(--mute);margin-right:4px}
.det{color:var(--mute);margin-left:6px}
.dur{text-align:right;padding-right:10px;white-space:nowrap;font-variant-numeric:tabular-nums}
.st{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:8px}
.lane{position:relative;height:14px;margin:0 10px}
.bar{position:absolute;top:1px;height:12px;min-width:2px;border-radius:2px}
.bar.open{opacity:.45}
.row.err .bar{background:var(--err)!important}
.detail{padding:8px 12px 10px 40px;background:#fafbfc;border-bottom:1px solid var(--line)}
.detail table{border-collapse:collapse;font-size:12px;max-width:100%}
.detail td{padding:1px 12px 1px 0;vertical-align:top}
.detail td:first-child{color:var(--mute);white-space:nowrap}
.detail td:last-child{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
.detail h4{margin:8px 0 2px;font-size:12px}
.empty{margin:20px 16px;color:var(--mute)}
"""

JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("otelpreload-data").textContent);
  var palette = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
                 "#9c755f", "#ff9da7", "#bab0ac", "#86bcb6", "#8cd17d", "#d4a6c8"];
  var kinds = ["", "internal", "server", "client", "producer", "consumer"];
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function color(i) { return palette[i % palette.length]; }
  function dur(ns) {
    if (ns === null || ns === undefined) return "?";
    if (ns < 1e3) return ns + " ns";
    if (ns < 999950) return (ns / 1e3).toFixed(1) + " \u00b5s";
    if (ns < 999999500) return (ns / 1e6).toFixed(3) + " ms";
    if (ns < 60e9) return (ns / 1e9).toFixed(3) + " s";
    var s = Math.round(ns / 1e9), m = Math.floor(s / 60), h = Math.floor(m / 60);
    function p(x) { return (x < 10 ? "0" : "") + x; }
    return h ? h + "h" + p(m % 60) + "m" + p(s % 60) + "s" : m + "m" + p(s % 60) + "s";
  }
  function table(parent, title, pairs) {
    if (!pairs || !pairs.length) return;
    parent.appendChild(el("h4", null, title));
    var t = el("table");
    pairs.forEach(function (kv) {
      var tr = el("tr");
      tr.appendChild(el("td", null, kv[0]));
      tr.appendChild(el("td", null, kv[1]));
      t.appendChild(tr);
    });
    parent.appendChild(t);
  }
  function detail(tr, s) {
    var d = el("div", "detail");
    d.setAttribute("data-span-id", s.id);
    var head = [["name", s.name], ["service", data.services[s.svc]], ["kind", kinds[s.kind] || String(s.kind)],
                ["span id", s.id], ["parent span id", s.parent || "(none)"], ["trace id", tr.id],
                ["start", "+" + dur(s.off) + " (" + s.startText + ")"], ["duration", dur(s.dur)]];
    if (s.code) head.push(["status", ["UNSET", "OK", "ERROR"][s.code] || String(s.code)]);
    if (s.msg) head.push(["status message", s.msg]);
    if (s.orphan) head.push(["note", s.orphan === "loop" ? "the parent links form a loop; drawn from here"
                                                         : "the parent span is not in these files"]);
    table(d, "span", head);
    table(d, "attributes", s.attrs);
    (s.events || []).forEach(function (ev) {
      table(d, "event: " + ev[1] + (ev[0] === null ? "" : " at +" + dur(ev[0])), ev[2].length ? ev[2] : [["", ""]]);
    });
    table(d, "resource", data.resources[s.res]);
    return d;
  }
  function toggleDetail(row, tr, s) {
    var next = row.nextSibling;
    if (next && next.classList && next.classList.contains("detail")) {
      next.parentNode.removeChild(next);
      row.setAttribute("aria-expanded", "false");
    } else {
      row.parentNode.insertBefore(detail(tr, s), row.nextSibling);
      row.setAttribute("aria-expanded", "true");
    }
  }
  function toggleChildren(row) {
    var depth = +row.getAttribute("data-depth"), hide = row.getAttribute("data-collapsed") !== "1";
    row.setAttribute("data-collapsed", hide ? "1" : "0");
    row.querySelector(".tw").textContent = hide ? "\u25b8" : "\u25be";
    for (var n = row.nextSibling; n; n = n.nextSibling) {
      if (n.classList.contains("row")) {
        if (+n.getAttribute("data-depth") <= depth) break;
        n.hidden = hide;
        if (!hide) { n.setAttribute("data-collapsed", "0"); var w = n.querySelector(".tw"); if (w.textContent) w.textContent = "\u25be"; }
      } else if (n.classList.contains("detail")) {
        n.hidden = hide;
      }
    }
  }
  var legend = document.getElementById("legend");
  data.services.forEach(function (name, i) {
    var item = el("span", "lg");
    var sw = el("span", "sw");
    sw.style.background = color(i);
    item.appendChild(sw);
    item.appendChild(document.createTextNode(name));
    item.setAttribute("data-service", name);
    legend.appendChild(item);
  });
  var main = document.getElementById("traces");
  if (!data.traces.length) main.appendChild(el("p", "empty", "no spans"));
  data.traces.forEach(function (tr, ti) {
    var box = el("section", "trace");
    box.setAttribute("data-ti", ti);
    box.setAttribute("data-trace-id", tr.id);
    var th = el("div", "thead");
    th.appendChild(el("span", "tid", "trace " + tr.id));
    th.appendChild(el("span", "info", tr.spans.length + (tr.spans.length === 1 ? " span" : " spans") +
                      " \u00b7 " + dur(tr.dur) + " \u00b7 " + tr.startText));
    box.appendChild(th);
    var axis = el("div", "axis");
    axis.appendChild(el("span"));
    axis.appendChild(el("span", null, "span"));
    axis.appendChild(el("span", "dur", "duration"));
    axis.appendChild(el("span", null, "status"));
    var ticks = el("div", "ticks");
    (tr.dur > 0 ? [0, 0.25, 0.5, 0.75, 1] : [0]).forEach(function (f) {
      var t = el("span", null, f === 0 ? "0" : dur(Math.round(tr.dur * f)));
      t.style.left = (f * 100) + "%";
      ticks.appendChild(t);
    });
    axis.appendChild(ticks);
    box.appendChild(axis);
    var span = Math.max(tr.dur, 1), frag = document.createDocumentFragment();
    tr.spans.forEach(function (s, i) {
      var row = el("div", "row" + (s.code === 2 ? " err" : ""));
      row.setAttribute("data-depth", s.depth);
      row.setAttribute("data-span-id", s.id);
      row.setAttribute("data-parent-id", s.parent);
      row.setAttribute("data-service", data.services[s.svc]);
      row.setAttribute("data-name", s.name);
      row.setAttribute("data-duration", dur(s.dur));
      if (s.code === 2) row.setAttribute("data-error", "1");
      if (s.orphan) row.setAttribute("data-orphan", "1");
      row.tabIndex = 0;
      row.setAttribute("role", "button");
      row.setAttribute("aria-expanded", "false");
      row.appendChild(el("span", "mark", s.code === 2 ? "!" : ""));
      var label = el("span", "label");
      label.style.paddingLeft = (Math.min(s.depth, 40) * 16) + "px";
      var next = tr.spans[i + 1];
      var tw = el("span", "tw", next && next.depth > s.depth ? "\u25be" : "");
      label.appendChild(tw);
      var sv = el("span", "svc", data.services[s.svc]);
      sv.style.color = color(s.svc);
      label.appendChild(sv);
      if (s.orphan) {
        var o = el("span", "orph", "^");
        o.title = s.orphan === "loop" ? "parent links form a loop" : "parent span not in these files";
        label.appendChild(o);
      }
      label.appendChild(el("span", "name", s.name || "(no name)"));
      if (s.det) label.appendChild(el("span", "det", s.det));
      label.title = s.name + (s.det ? "  " + s.det : "");
      row.appendChild(label);
      row.appendChild(el("span", "dur", dur(s.dur)));
      var stc = el("span", "st", s.status);
      stc.title = s.status;
      row.appendChild(stc);
      var lane = el("span", "lane");
      var bar = el("span", "bar" + (s.dur === null ? " open" : ""));
      var left = s.off === null ? 0 : s.off / span * 100;
      var width = s.dur === null ? 100 - left : Math.max(s.dur / span * 100, 0);
      bar.style.left = left + "%";
      bar.style.width = width + "%";
      bar.style.background = color(s.svc);
      lane.appendChild(bar);
      row.appendChild(lane);
      row.setAttribute("data-i", i);
      frag.appendChild(row);
    });
    box.appendChild(frag);
    main.appendChild(box);
  });
  // One listener for all rows: the row's trace and span come from its
  // data-ti (section) and data-i attributes.
  function spanOf(row) {
    var tr = data.traces[+row.parentNode.getAttribute("data-ti")];
    return [tr, tr.spans[+row.getAttribute("data-i")]];
  }
  function onRow(ev, row) {
    var ts = spanOf(row);
    toggleDetail(row, ts[0], ts[1]);
  }
  main.addEventListener("click", function (ev) {
    var t = ev.target, row = t.closest ? t.closest(".row") : null;
    if (!row) return;
    if (t.classList.contains("tw") && t.textContent) toggleChildren(row);
    else onRow(ev, row);
  });
  main.addEventListener("keydown", function (ev) {
    var row = ev.target;
    if (row.classList && row.classList.contains("row") && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      onRow(ev, row);
    }
  });
  function expandAll(open) {
    Array.prototype.forEach.call(document.querySelectorAll(".row"), function (row) {
      var next = row.nextSibling, isOpen = next && next.classList && next.classList.contains("detail");
      if (open !== !!isOpen) onRow(null, row);
    });
  }
  document.getElementById("expand").addEventListener("click", function () { expandAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { expandAll(false); });
  if (location.hash === "#expand") expandAll(true);
  document.body.setAttribute("data-rendered", String(document.querySelectorAll(".row").length));
})();
"""


def _json_for_script(obj):
    """JSON that is safe inside a <script> element: ASCII only (so lone
    surrogates and line separators are escapes too) and no <, > or &, so no
    string can close the element or open a comment."""
    s = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    return s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _b64sha256(s):
    return base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii")


def _safe_str(s):
    """Lone surrogates cannot be written as UTF-8: replace them."""
    return s.encode("utf-8", "replace").decode("utf-8") if not s.isascii() else s


def html_page(traces, paths):
    services = sorted({s.svc for t in traces for s, _, _ in t.rows})
    sidx = {n: i for i, n in enumerate(services)}
    res_list, res_idx = [], {}
    out_traces = []
    for t in traces:
        spans = []
        for s, depth, _ in t.rows:
            if s.res not in res_idx:
                res_idx[s.res] = len(res_list)
                res_list.append([[k, v] for k, v in s.res])
            d = None if s.end is None or s.start is None else s.end - s.start
            spans.append({
                "depth": depth, "id": s.sid, "parent": s.pid, "svc": sidx[s.svc],
                "name": s.name, "kind": s.kind,
                "off": None if s.start is None else s.start - t.t0, "dur": d,
                "startText": fmt_time(s.start), "code": s.code, "msg": s.msg,
                "orphan": s.orphan, "det": _det(s),
                "status": status_text(s),
                "attrs": [[k, v] for k, v in s.attrs],
                "events": [[None if tm is None or t.t0 == 0 else tm - t.t0, n,
                            [[k, v] for k, v in ea]]
                           for tm, n, ea in s.events],
                "res": res_idx[s.res],
            })
        out_traces.append({"id": t.tid, "dur": t.t1 - t.t0, "startText": fmt_time(t.t0),
                           "spans": spans})
    data = _json_for_script({"services": [x for x in services],
                             "resources": res_list, "traces": out_traces})
    nsp = sum(t.nspans for t in traces)
    sub = "%d trace%s, %d span%s from %s" % (
        len(traces), "" if len(traces) == 1 else "s", nsp, "" if nsp == 1 else "s",
        ", ".join(os.path.basename(p) if p != "-" else "stdin" for p in paths))
    csp = ("default-src 'none'; style-src 'sha256-%s'; script-src 'sha256-%s'; "
           "img-src data:; base-uri 'none'; form-action 'none'" % (_b64sha256(CSS), _b64sha256(JS)))
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n" % csp,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<title>otelpreload traces</title>\n<style>", CSS, "</style>\n</head>\n<body>\n",
        "<header><h1>otelpreload traces</h1><p class=\"sub\">", _esc(_safe_str(sub)),
        " &middot; click a row for its attributes "
        "<button id=\"expand\" type=\"button\">expand all</button> "
        "<button id=\"collapse\" type=\"button\">collapse all</button></p>",
        "<div id=\"legend\"></div></header>\n<main id=\"traces\"></main>\n",
        "<noscript><p class=\"empty\">This page draws the traces with JavaScript.</p></noscript>\n",
        "<script type=\"application/json\" id=\"otelpreload-data\">", data, "</script>\n",
        "<script>", JS, "</script>\n</body>\n</html>\n"])


# ---------------------------------------------------------------- main

def want_color(mode, stream):
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def view(paths, out=None, err=None, html=None, color="auto", last=0, missing_ok=False):
    """Read paths and draw them on out (a text stream) or into html (a
    path). Returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    r = Reader()
    for p in paths:
        r.read(p, missing_ok)
    traces = build(r)
    r.warn(err)
    if html:
        page = html_page(traces, paths)
        tmp = html + ".tmp%d" % os.getpid()
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(page)
            os.replace(tmp, html)
        except OSError as e:
            err.write("otelpreload view: cannot write %s: %s\n" % (html, e.strerror or e))
            return 1
        nsp = sum(t.nspans for t in traces)
        err.write("otelpreload view: wrote %s (%d trace%s, %d span%s)\n" % (
            html, len(traces), "" if len(traces) == 1 else "s", nsp, "" if nsp == 1 else "s"))
    else:
        skip = max(0, len(traces) - last) if last > 0 else 0
        render_text(traces, out, want_color(color, out), skip)
        out.flush()
    return 1 if r.unreadable else 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="otelpreload view",
                                 description="Draw the traces in OTLP/JSON lines files.")
    ap.add_argument("--html", metavar="OUT.html", help="write one self-contained HTML page")
    ap.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                    help="auto (the default): on a terminal, unless NO_COLOR is set")
    ap.add_argument("--last", type=int, default=0, metavar="N",
                    help="only the N traces that started last")
    ap.add_argument("--missing-ok", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="+", metavar="FILE",
                    help='OTLP/JSON lines, as the file exporter writes them ("-": stdin)')
    a = ap.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    try:
        return view(a.files, html=a.html, color=a.color, last=a.last, missing_ok=a.missing_ok)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
