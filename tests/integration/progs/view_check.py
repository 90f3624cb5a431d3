#!/usr/bin/env python3
"""
view_check.py - checks `otelpreload view` (scripts/waterfall.py) against
the parent links in the span files it drew (test_view.sh, test_run.sh);
never preloaded. Each check prints one "ok - L: ..." / "not ok - L: ..."
line; exit 1 when any failed.

  view_check.py fixture DIR
      writes DIR/fixture-a.jsonl and DIR/fixture-b.jsonl: a 4-level trace
      across three services split over both files and out of order, an
      error span with error.type and code.stacktrace, a span whose parent
      is in no file, a span without an end time, a hostile name (markup,
      quotes, an escape sequence), non-ASCII and wide names, a
      zero-duration trace, a parent loop, and lines that are not OTLP/JSON.

  view_check.py text --label L --render OUT.txt [--width W] [--fixture]
                [--min-depth D] [--services N] FILE...
      OUT.txt is `view FILE...` with --color never. Per trace, the rows'
      order, depth (the tree glyphs: 3 columns a level), service and name
      are exactly the depth-first walk of the tree the parent links give
      (roots: no parent, a parent in no file, or a loop's earliest span;
      siblings by start time, then span id; traces by first start);
      durations are shown; "!" and "ERROR" exactly on error spans, with
      error.type; "^" exactly on roots whose parent is missing; no line
      wider than W display columns; each trace's bars start and end in the
      same column on every row; no ESC or other C0 byte in the output.
      --fixture adds the fixture's own expectations (exact durations, the
      escaped hostile name, the stacktrace's first frame, a shortened
      query). --min-depth/--services: the files hold a trace at least D
      deep with N services in it (so the check is not vacuous).

  view_check.py dom --label L --dom DUMP.html [--expanded] FILE...
      DUMP.html is Chromium's --dump-dom of the --html page: rows
      (div.row, data-depth, data-service, data-name) in the same order per
      trace (section data-trace-id) as above; data-error and data-orphan
      exactly where due; the hostile name is text (no element or attribute
      the name would have injected); with --expanded, one attribute table
      per row after it, holding the span's attributes.

  view_check.py static --label L PAGE.html
      the page loads nothing: no src/href/srcset/action attributes, no
      url(), @import, <link>, <iframe>, <object>, <embed>, <base>; http(s)://
      only inside the JSON data block; a CSP with default-src 'none'; the
      data block contains no literal "<" and exactly two <script> elements.

  view_check.py linear --label L --viewer WATERFALL.PY --dir D
      CPU time of drawing 4N spans is under 8 times that of N (a quadratic
      step would make it 16), and a 20000-deep chain and a 20000-wide trace
      draw without error.

  view_check.py pty --label L --viewer WATERFALL.PY FILE
      on a terminal: error rows red; NO_COLOR set: no colour at all.
"""

import argparse
import html.parser
import json
import os
import re
import resource
import subprocess
import sys
import unicodedata

FAILED = 0
LABEL = ""


def ok(desc):
    print("ok - %s: %s" % (LABEL, desc))


def not_ok(desc, *details):
    global FAILED
    FAILED += 1
    print("not ok - %s: %s" % (LABEL, desc))
    for d in details:
        for line in str(d).splitlines()[:30]:
            print("#   " + line)


def check(cond, desc, *details):
    if cond:
        ok(desc)
    else:
        not_ok(desc, *details)
    return cond


# ------------------------------------------------------------ expectations

def load(paths):
    """All spans of the files: dicts with tid sid pid name svc start end
    code etype attrs; duplicates (same trace and span id) dropped."""
    out, seen = [], set()
    for p in paths:
        with open(p, "rb") as f:
            for line in f:
                try:
                    req = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(req, dict) or not isinstance(req.get("resourceSpans"), list):
                    continue
                for rs in req["resourceSpans"]:
                    svc = "?"
                    for a in rs.get("resource", {}).get("attributes", []):
                        if a["key"] == "service.name":
                            svc = a["value"]["stringValue"]
                    for ss in rs.get("scopeSpans", []):
                        for s in ss.get("spans", []):
                            key = (s["traceId"], s["spanId"])
                            if key in seen:
                                continue
                            seen.add(key)
                            attrs = {a["key"]: next(iter(a["value"].values()))
                                     for a in s.get("attributes", [])}
                            end = int(s.get("endTimeUnixNano") or 0) or None
                            out.append({
                                "tid": s["traceId"], "sid": s["spanId"],
                                "pid": s.get("parentSpanId", ""), "name": s["name"],
                                "svc": svc, "start": int(s["startTimeUnixNano"]), "end": end,
                                "code": s.get("status", {}).get("code", 0),
                                "etype": attrs.get("error.type"), "attrs": attrs})
    return out


def expected(spans):
    """[(trace id, [(depth, span, orphan)])] in display order."""
    traces = {}
    for s in spans:
        traces.setdefault(s["tid"], []).append(s)
    result = []
    for tid, ss in traces.items():
        ids = {s["sid"]: s for s in ss}
        kids = {}
        roots = []
        for s in ss:
            if s["pid"] in ids and s["pid"] != s["sid"]:
                kids.setdefault(s["pid"], []).append(s)
            else:
                roots.append((s, bool(s["pid"])))
        key = lambda s: (s["start"], s["sid"])
        rows, done = [], set()

        def walk(s, depth, orphan):
            done.add(s["sid"])
            rows.append((depth, s, orphan))
            for c in sorted(kids.get(s["sid"], []), key=key):
                if c["sid"] not in done:
                    walk(c, depth + 1, False)

        for s, orphan in sorted(roots, key=lambda r: key(r[0])):
            walk(s, 0, orphan)
        for s in sorted(ss, key=key):      # loops: entered at the earliest span
            if s["sid"] not in done:
                walk(s, 0, True)
        result.append((min(s["start"] for s in ss), tid, rows))
    result.sort(key=lambda r: (r[0], r[1]))
    return [(tid, rows) for _, tid, rows in result]


def esc(s):
    """The escaping the terminal view promises for control characters."""
    return "".join("\\x%02x" % ord(c) if ord(c) < 32 or ord(c) == 127 else c for c in s)


def dur_text(ns):
    if ns is None:
        return "?"
    if ns < 1000:
        return "%d ns" % ns
    if ns < 999950:
        return "%.1f µs" % (ns / 1e3)
    if ns < 999999500:
        return "%.3f ms" % (ns / 1e6)
    return "%.3f s" % (ns / 1e9)


def dwidth(s):
    w = 0
    for c in s:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return w


# ------------------------------------------------------------ fixture

T1 = "1" * 32
T2 = "2" * 32
T3 = "3" * 32
MS = 1000000
BASE = 1700000000000000000
HOSTILE = ('<script>document.body.dataset.pwned=1</script>'
           '<img src=x onerror="document.body.dataset.pwned=2"> '
           "'q' &amp; \x1b[31mred\x1b[0m")
WIDE = "render naïve 日本語 ✓"


def kv(d):
    out = []
    for k, v in d.items():
        if isinstance(v, int):
            out.append({"key": k, "value": {"intValue": str(v)}})
        else:
            out.append({"key": k, "value": {"stringValue": v}})
    return out


def span(tid, sid, pid, name, kind, start_ms, end_ms, attrs=None, error=False):
    s = {"traceId": tid, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(BASE + int(start_ms * MS)), "attributes": kv(attrs or {})}
    if pid:
        s["parentSpanId"] = pid
    if end_ms is not None:
        s["endTimeUnixNano"] = str(BASE + int(end_ms * MS))
    if error:
        s["status"] = {"code": 2, "message": "refused"}
    return s


def request(svc, spans):
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": kv({"service.name": svc})},
        "scopeSpans": [{"scope": {"name": "otelpreload"}, "spans": spans}]}]},
        ensure_ascii=False)


def fixture(d):
    # trace 1:                                       ms
    #  a1 front  GET /checkout (server)              0 .. 100
    #    a2 front  GET /stock (client)              10 .. 60
    #      b1 back   GET /stock (server)            12 .. 58
    #        c1 db     SELECT (client)              20 .. 30
    #        b2 back   connect (error)              35 .. 35.5
    #    a3 front  WIDE (internal)                  70 .. 95
    #    a4 front  HOSTILE (client)                 96 .. 99
    #    a5 front  open span (no end)               97 .. -
    #  o1 back   GET /orphan (parent in no file)     5 .. 8
    a1, a2, a3, a4, a5 = "a100000000000001", "a200000000000002", "a300000000000003", \
        "a400000000000004", "a500000000000005"
    b1, b2, c1, o1 = "b100000000000001", "b200000000000002", "c100000000000001", "0100000000000001"
    fa = [
        request("front", [span(T1, a3, a1, WIDE, 1, 70, 95),
                          span(T1, a1, "", "GET /checkout", 2, 0, 100,
                               {"http.response.status_code": 200, "url.path": "/checkout"})]),
        "this line is not JSON",
        request("db", [span(T1, c1, b1, "SELECT shop.stock", 3, 20, 30,
                            {"db.query.text": "SELECT *\n   FROM stock   WHERE id = ?"})]),
        '{"resourceSpans": 5}',
        request("front", [span(T1, a4, a1, HOSTILE, 3, 96, 99),
                          span(T1, a2, a1, "GET /stock", 3, 10, 60,
                               {"url.full": "http://127.0.0.1:9/stock",
                                "http.response.status_code": 200})]),
    ]
    fb = [
        request("back", [span(T1, b2, b1, "connect", 3, 35, 35.5,
                              {"network.peer.address": "127.0.0.1", "network.peer.port": 5432,
                               "error.type": "ECONNREFUSED",
                               "code.stacktrace": "fetch_stock (app.c:42)\nmain (main.c:10)"},
                              error=True),
                         span(T1, o1, "deadbeefdeadbeef", "GET /orphan", 2, 5, 8),
                         span(T1, b1, a2, "GET /stock", 2, 12, 58,
                              {"http.response.status_code": 200})]),
        '{"truncated": ',
        request("front", [span(T1, a5, a1, "open span", 1, 97, None)]),
        # trace 2: one span, zero duration; trace 3: a parent loop
        request("lone", [span(T2, "d100000000000001", "", "instant", 1, 200, 200)]),
        request("loop", [span(T3, "e100000000000001", "e200000000000002", "loop one", 1, 300, 310),
                         span(T3, "e200000000000002", "e100000000000001", "loop two", 1, 301, 309)]),
    ]
    with open(os.path.join(d, "fixture-a.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(fa) + "\n")
    with open(os.path.join(d, "fixture-b.jsonl"), "wb") as f:
        f.write(("\n".join(fb) + "\n").encode("utf-8") + b"\xff\xfe not utf-8\n")


# ------------------------------------------------------------ text

GLYPHS = set("│├└─ |`-")


def parse_text(text):
    """[(trace id, header, [row dict])] from a --color never rendering."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("trace "):
            tid = line.split()[1]
            head = lines[i + 1]
            rows = []
            blocks.append((tid, head, rows, line))
            ncol = head.index(" span ") + 1
            dcol = len(head) - (head.index("duration") - 2)
            scol = len(head) - head.index("status ")
            bcol = len(head) - head.index("|")
            i += 2
            while i < len(lines) and lines[i].strip():
                r = lines[i]
                if r.endswith("|"):
                    n = len(r)
                    body = r[ncol:n - dcol]
                    pre = len(body) - len(body.lstrip("".join(GLYPHS)))
                    rows.append({
                        "line": r, "mark": r[0], "orph": r[1], "svc": r[2:ncol].strip(),
                        "depth": pre // 3, "pre": body[:pre], "name": body[pre:].rstrip(),
                        "dur": r[n - dcol:n - dcol + 10].strip(),
                        "status": r[n - scol:n - bcol].strip(),
                        "bar": r[n - bcol:], "cont": []})
                elif rows and not r.startswith("  ^ parent"):
                    rows[-1]["cont"].append(r)
                i += 1
        else:
            i += 1
    return blocks


def shown(name, cell):
    """The name column `cell` (name, two spaces, details; cut with "…" when
    too long) shows `name`."""
    if cell.endswith("…"):
        head = cell[:-1].rstrip()
        return len(head) >= 4 and (head.startswith(name) or name.startswith(head))
    return cell == name or cell.startswith(name + "  ")


def cmd_text(a):
    text = open(a.render, encoding="utf-8", errors="replace").read()
    raw = open(a.render, "rb").read()
    want = expected(load(a.files))
    got = parse_text(text)
    check(want, "the files hold spans", a.files)
    if a.min_depth:
        deep = [t for t, rows in want if max(r[0] for r in rows) >= a.min_depth
                and len({r[1]["svc"] for r in rows}) >= a.services]
        check(deep, "a trace %d+ levels deep across %d services is in the files" % (
            a.min_depth, a.services), [(t, [(r[0], r[1]["svc"], r[1]["name"]) for r in rows])
                                       for t, rows in want])
    check([t for t, _ in want] == [t for t, _, _, _ in got],
          "one block per trace, traces ordered by first start",
          "want %s" % [t for t, _ in want], "got  %s" % [t for t, _, _, _ in got])
    gotmap = {t: rows for t, _, rows, _ in got}
    tree_ok, dur_ok, err_ok, orph_ok, align_ok = True, True, True, True, True
    details = []
    for tid, rows in want:
        g = gotmap.get(tid, [])
        w = [(d, s["svc"], esc(s["name"])) for d, s, _ in rows]
        h = [(r["depth"], r["svc"], r["name"]) for r in g]
        same = len(w) == len(h) and all(
            x[0] == y[0] and x[1] == y[1] and shown(x[2] or "(no name)", y[2])
            for x, y in zip(w, h))
        if not same:
            tree_ok = False
            details += ["trace %s" % tid, "want: %s" % w, "got:  %s" % h]
            continue
        for (d, s, orphan), r in zip(rows, g):
            if not r["dur"] or (a.fixture and r["dur"] != dur_text(
                    None if s["end"] is None else s["end"] - s["start"])):
                dur_ok = False
                details.append("duration of %s: %r" % (s["name"], r["dur"]))
            is_err = s["code"] == 2
            shows = r["mark"] == "!" and "ERROR" in r["status"]
            if is_err != shows or (r["mark"] == "!") != is_err or (
                    is_err and s["etype"] and s["etype"] not in r["status"]
                    and not r["status"].endswith("…")):
                err_ok = False
                details.append("error marking of %s: %r" % (s["name"], r["line"]))
            if (r["orph"] == "^") != orphan:
                orph_ok = False
                details.append("orphan marking of %s: %r" % (s["name"], r["line"]))
        starts = {(dwidth(r["line"]) - dwidth(r["bar"])) for r in g}
        if len(starts) != 1 or len({len(r["bar"]) for r in g}) != 1:
            align_ok = False
            details.append("bars of %s at columns %s" % (tid, sorted(starts)))
    check(tree_ok, "rows in tree order with the depth of the parent links", *details)
    check(dur_ok, "every row shows its duration", *details)
    check(err_ok, "error spans, and only they, are marked ! and ERROR with error.type", *details)
    check(orph_ok, "spans whose parent is missing, and only they, are marked ^", *details)
    check(align_ok, "bars aligned in every trace", *details)
    # The waterfall's own lines; the wrapper's "otelpreload: ..." notes
    # (which name a file path of any length) are not drawn to a width.
    wide = [line for line in text.split("\n")
            if dwidth(line) > a.width and not line.startswith("otelpreload: ")]
    check(not wide, "no line wider than %d columns" % a.width, *wide[:3])
    ctl = [b for b in set(raw) if b < 32 and b != 10]
    check(not ctl, "no control bytes in the output", "bytes: %s" % ctl)
    if not a.fixture:
        return
    rows = {r["name"].split("  ")[0]: r for _, _, g, _ in got for r in g}
    rows.update((r["name"].split("  ")[0][:12], r) for _, _, g, _ in got for r in g)
    hostile = esc(HOSTILE)
    check(any(n.startswith(hostile) for n in rows), "the hostile name shown escaped",
          "want prefix %r" % hostile, list(rows))
    wide_rows = [r for n, r in rows.items() if n.startswith(WIDE)]
    check(wide_rows, "the non-ASCII name shown", list(rows))
    conn = rows.get("connect")
    check(conn and any("fetch_stock (app.c:42)" in c for c in conn["cont"])
          and not any("main.c" in c for c in conn["cont"]),
          "the first frame of code.stacktrace under its row", conn)
    q = [r for n, r in rows.items() if n.startswith("SELECT shop.stock")]
    check(q and "SELECT * FROM stock WHERE id = ?" in q[0]["name"],
          "db.query.text shown shortened", q)
    check(rows.get("open span", {}).get("dur") == "?", "a span without end shows ? as duration",
          rows.get("open span"))


# ------------------------------------------------------------ dom

class DomRows(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.traces = []        # [(tid, [row attrs])]
        self.details = []       # [(span id, [attribute keys])]
        self.body = {}
        self.elements = []      # (tag, attrs) of every element
        self._in_detail = 0
        self._stack = []
        self._td = None

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        self.elements.append((tag, at))
        cls = (at.get("class") or "").split()
        if tag == "body":
            self.body = at
        if tag == "section" and "trace" in cls:
            self.traces.append((at.get("data-trace-id"), []))
        if tag == "div" and "row" in cls and self.traces:
            self.traces[-1][1].append(at)
        if tag == "div" and "detail" in cls:
            self.details.append((at.get("data-span-id"), []))
        if tag == "td" and self.details:
            self._td = []

    def handle_data(self, data):
        if self._td is not None:
            self._td.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._td is not None and self.details:
            self.details[-1][1].append("".join(self._td))
            self._td = None


def cmd_dom(a):
    dom = open(a.dom, encoding="utf-8", errors="replace").read()
    p = DomRows()
    p.feed(dom)
    want = expected(load(a.files))
    check(p.body.get("data-rendered") == str(sum(len(r) for _, r in want)),
          "the script ran and drew every span", "data-rendered=%r" % p.body.get("data-rendered"))
    check([t for t, _ in want] == [t for t, _ in p.traces], "one section per trace, in order",
          [t for t, _ in want], [t for t, _ in p.traces])
    got = {t: rows for t, rows in p.traces}
    bad = []
    for tid, rows in want:
        w = [(str(d), s["svc"], s["name"], "1" if s["code"] == 2 else None,
              "1" if o else None) for d, s, o in rows]
        h = [(r.get("data-depth"), r.get("data-service"), r.get("data-name"), r.get("data-error"),
              r.get("data-orphan")) for r in got.get(tid, [])]
        if w != h:
            bad += ["trace %s" % tid, "want %s" % w, "got  %s" % h]
    check(not bad, "rows in tree order: depth, service, name, error and orphan flags", *bad)
    pwned = [e for e in p.elements if "data-pwned" in e[1]
             or (e[0] == "img" and e[1].get("src") == "x")]
    check(not pwned and "data-pwned" not in p.body, "the hostile name did not inject markup",
          pwned)
    if a.hostile:
        check(any(r.get("data-name") == HOSTILE for _, rows in p.traces for r in rows),
              "the hostile name kept as text, unchanged")
    if a.expanded:
        spans = {(s["sid"]): s for s in load(a.files)}
        miss = []
        for sid, cells in p.details:
            s = spans.get(sid)
            if s is None:
                miss.append("detail for unknown span %s" % sid)
                continue
            for k, v in s["attrs"].items():
                if k not in cells:
                    miss.append("%s: attribute %s not shown" % (s["name"], k))
        check(len(p.details) == sum(len(r) for _, r in want) and not miss,
              "every row expanded shows its attributes",
              "%d detail blocks" % len(p.details), *miss[:10])


# ------------------------------------------------------------ static

def cmd_static(a):
    page = open(a.page, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="otelpreload-data">(.*?)</script>', page,
                  re.S)
    check(m is not None, "the page carries its data in a JSON block")
    data = m.group(1) if m else ""
    rest = page.replace(data, "") if m else page
    scripts = "".join(re.findall(r"(?is)<script>(.*?)</script>", rest))
    styles = "".join(re.findall(r"(?is)<style>(.*?)</style>", rest))
    markup = re.sub(r"(?is)<(script|style)\b[^>]*>.*?</\1>", "", rest)
    loads = re.findall(r"(?i)\b(?:src|href|srcset|action|formaction|poster|data|background)\s*="
                       r"|<\s*(?:link|iframe|frame|object|embed|base|img|audio|video|source"
                       r"|track|svg|image)\b|http-equiv=\"refresh", markup)
    check(not loads, "the markup loads nothing", loads)
    loads = re.findall(r"(?i)url\(|@import|image-set|@font-face", styles)
    check(not loads, "the style loads nothing", loads)
    loads = re.findall(r"(?i)fetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|import\(|"
                       r"\.src\b|href|innerHTML|outerHTML|insertAdjacentHTML|document\.write|"
                       r"\beval\(|new Function|https?:", scripts)
    check(not loads, "the script loads nothing and never parses text as HTML", loads)
    check(not re.search(r"(?i)https?:|//[a-z0-9]", markup + styles),
          "no http(s) reference outside the data block")
    check("<" not in data and ">" not in data and "&" not in data,
          "the data block has no literal <, > or &")
    check(len(re.findall(r"(?i)<script", page)) == 2, "exactly two script elements")
    check(re.search(r"""<meta http-equiv="Content-Security-Policy" content="default-src 'none';""",
                    page) is not None, "a Content-Security-Policy with default-src 'none'")
    check("data-pwned" not in rest and "<img" not in page, "no hostile markup outside the data")


# ------------------------------------------------------------ linear

def gen(path, nspans, shape="mixed"):
    """nspans spans: traces of 500 in a random-ish tree, or one chain, or
    one wide trace."""
    with open(path, "w") as f:
        batch = []
        for i in range(nspans):
            if shape == "chain":
                tid, pid = "c" * 32, ("%016x" % i if i else "")
            elif shape == "wide":
                tid, pid = "d" * 32, ("%016x" % 1 if i else "")
            else:
                t, j = divmod(i, 500)
                tid = "%032x" % (t + 1)
                pid = "%016x" % (t * 500 + (j * 7919 + 13) % j + 1) if j else ""
            sid = "%016x" % (i + 1)
            batch.append(span(tid, sid, pid, "span %d" % i, 3, i * 0.01, i * 0.01 + 0.5,
                              {"url.full": "http://127.0.0.1/x"}))
            if len(batch) == 100:
                f.write(request("svc", batch) + "\n")
                batch = []
        if batch:
            f.write(request("svc", batch) + "\n")


def cpu_of(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       env=dict(os.environ, COLUMNS="120"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            p.returncode, p.stderr.decode(errors="replace"))


def cmd_linear(a):
    small, big = os.path.join(a.dir, "lin-small.jsonl"), os.path.join(a.dir, "lin-big.jsonl")
    gen(small, 5000)
    gen(big, 20000)
    py = sys.executable
    t1, rc1, e1 = cpu_of([py, a.viewer, small])
    t4, rc4, e4 = cpu_of([py, a.viewer, big])
    base, _, _ = cpu_of([py, "-c", "pass"])
    check(rc1 == 0 and rc4 == 0, "large files drawn", e1, e4)
    r = (t4 - base) / max(t1 - base, 0.01)
    check(r < 8, "4x the spans cost %.1fx the CPU (%.2fs, %.2fs)" % (r, t1, t4))
    for shape in ("chain", "wide"):
        pth = os.path.join(a.dir, "lin-%s.jsonl" % shape)
        gen(pth, 20000, shape)
        t, rc, e = cpu_of([py, a.viewer, pth])
        check(rc == 0 and not e.strip(), "a 20000-span %s trace drawn (%.2fs)" % (shape, t), e)


# ------------------------------------------------------------ pty

def on_pty(argv, env):
    import pty
    m, s = pty.openpty()
    p = subprocess.Popen(argv, stdout=s, stderr=subprocess.DEVNULL, env=env)
    os.close(s)
    chunks = []
    while True:
        try:
            b = os.read(m, 65536)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    p.wait()
    os.close(m)
    return b"".join(chunks).decode("utf-8", "replace")


def cmd_pty(a):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(COLUMNS="120", TERM="xterm")
    out = on_pty([sys.executable, a.viewer] + a.files, env)
    red = [line for line in out.splitlines() if "\x1b[1;31m!" in line or "\x1b[31m" in line]
    check(red and all("ERROR" in line for line in red), "on a terminal, error rows are red",
          repr(out[:400]))
    out = on_pty([sys.executable, a.viewer] + a.files, dict(env, NO_COLOR="1"))
    check("\x1b" not in out and "ERROR" in out, "NO_COLOR: no colour, errors still marked",
          repr(out[:400]))


def main():
    global LABEL
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixture")
    f.add_argument("dir")
    t = sub.add_parser("text")
    t.add_argument("--render", required=True)
    t.add_argument("--width", type=int, default=200)
    t.add_argument("--fixture", action="store_true")
    t.add_argument("--min-depth", type=int, default=0)
    t.add_argument("--services", type=int, default=1)
    d = sub.add_parser("dom")
    d.add_argument("--dom", required=True)
    d.add_argument("--expanded", action="store_true")
    d.add_argument("--hostile", action="store_true")
    s = sub.add_parser("static")
    s.add_argument("page")
    li = sub.add_parser("linear")
    li.add_argument("--viewer", required=True)
    li.add_argument("--dir", required=True)
    pt = sub.add_parser("pty")
    pt.add_argument("--viewer", required=True)
    for p in (t, d, s, li, pt):
        p.add_argument("--label", default="view")
    for p in (t, d, pt):
        p.add_argument("files", nargs="+")
    a = ap.parse_args()
    LABEL = getattr(a, "label", "")
    {"fixture": lambda: fixture(a.dir), "text": lambda: cmd_text(a), "dom": lambda: cmd_dom(a),
     "static": lambda: cmd_static(a), "linear": lambda: cmd_linear(a),
     "pty": lambda: cmd_pty(a)}[a.cmd]()
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
