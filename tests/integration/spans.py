#!/usr/bin/env python3
"""
spans.py - read the spans a test produced and answer questions about them.

Sources (SRC):
  a file    the file exporter's output: one OTLP/JSON ExportTraceServiceRequest
            per line
  a dir     otlp_receiver.py's capture directory: N.json sidecars + N.body
            bodies, JSON (application/json) or protobuf
            (application/x-protobuf, decoded by the stdlib wire-format decoder
            below, which fails loudly on any field number OTLP does not define)

Every span is normalised to one dict:
  traceId spanId parentSpanId (lowercase hex, "" when absent) traceState name
  kind (int) start end (int ns) attributes (key -> value; arrays as lists)
  status {code, message} flags (int) droppedAttributesCount events
  [{name, time, attributes}] links [{traceId, spanId, traceState, attributes,
  flags}] resource (key -> value) scope scopeVersion
  batch (index of the request in SRC, from 0) line (JSONL line number) or
  request (receiver seq)

Commands:
  dump SRC [filters]                 one JSON object per matching span
  count SRC [filters]                number of matching spans
  get SRC --field F [filters]        F of each matching span, one per line
                                     (dotted: status.code, resource.service.name,
                                     attributes.dns.question.name)
  check-json-shape SRC               OTLP/JSON mapping rules on every JSON body
  requests DIR [--field F]           receiver sidecars, one per line (or F)

Filters (all must hold): --name N, --kind K, --status CODE, --trace ID,
  --parent ID, --attr k=v (v compared with the value's JSON-ish text: 80,
  true, tcp), --attr-contains k=v (v is an element of the array k),
  --has-attr k, --no-attr k, --res k=v, --request SEQ.

A missing source, a line that is not JSON, an unknown protobuf field: exit 2
with a message on stderr, never a silent 0.
"""

import argparse
import base64
import json
import math
import os
import re
import struct
import sys


class Bad(Exception):
    """Input that is not what OTLP says it is."""


# ---------------------------------------------------------------------------
# Protobuf wire format, OTLP schema (field numbers: FIELD-NOTES section 5,
# checked against tests/proto: trace/v1, common/v1, resource/v1).
# type: "msg:<Name>", string, bytes, uint32, int64, enum, fixed64, fixed32,
#       double, bool. Repeated fields: flag True.

SCHEMA = {
    "ExportTraceServiceRequest": {1: ("resourceSpans", "msg:ResourceSpans", True)},
    "ResourceSpans": {
        1: ("resource", "msg:Resource", False),
        2: ("scopeSpans", "msg:ScopeSpans", True),
        3: ("schemaUrl", "string", False),
    },
    "Resource": {
        1: ("attributes", "msg:KeyValue", True),
        2: ("droppedAttributesCount", "uint32", False),
        3: ("entityRefs", "msg:EntityRef", True),
    },
    "EntityRef": {
        1: ("schemaUrl", "string", False),
        2: ("type", "string", False),
        3: ("idKeys", "string", True),
        4: ("descriptionKeys", "string", True),
    },
    "ScopeSpans": {
        1: ("scope", "msg:InstrumentationScope", False),
        2: ("spans", "msg:Span", True),
        3: ("schemaUrl", "string", False),
    },
    "InstrumentationScope": {
        1: ("name", "string", False),
        2: ("version", "string", False),
        3: ("attributes", "msg:KeyValue", True),
        4: ("droppedAttributesCount", "uint32", False),
    },
    "Span": {
        1: ("traceId", "bytes", False),
        2: ("spanId", "bytes", False),
        3: ("traceState", "string", False),
        4: ("parentSpanId", "bytes", False),
        5: ("name", "string", False),
        6: ("kind", "enum", False),
        7: ("startTimeUnixNano", "fixed64", False),
        8: ("endTimeUnixNano", "fixed64", False),
        9: ("attributes", "msg:KeyValue", True),
        10: ("droppedAttributesCount", "uint32", False),
        11: ("events", "msg:Event", True),
        12: ("droppedEventsCount", "uint32", False),
        13: ("links", "msg:Link", True),
        14: ("droppedLinksCount", "uint32", False),
        15: ("status", "msg:Status", False),
        16: ("flags", "fixed32", False),
    },
    "Event": {
        1: ("timeUnixNano", "fixed64", False),
        2: ("name", "string", False),
        3: ("attributes", "msg:KeyValue", True),
        4: ("droppedAttributesCount", "uint32", False),
    },
    "Link": {
        1: ("traceId", "bytes", False),
        2: ("spanId", "bytes", False),
        3: ("traceState", "string", False),
        4: ("attributes", "msg:KeyValue", True),
        5: ("droppedAttributesCount", "uint32", False),
        6: ("flags", "fixed32", False),
    },
    "Status": {
        2: ("message", "string", False),
        3: ("code", "enum", False),
    },
    "KeyValue": {
        1: ("key", "string", False),
        2: ("value", "msg:AnyValue", False),
    },
    "AnyValue": {
        1: ("stringValue", "string", False),
        2: ("boolValue", "bool", False),
        3: ("intValue", "int64", False),
        4: ("doubleValue", "double", False),
        5: ("arrayValue", "msg:ArrayValue", False),
        6: ("kvlistValue", "msg:KeyValueList", False),
        7: ("bytesValue", "bytes", False),
    },
    "ArrayValue": {1: ("values", "msg:AnyValue", True)},
    "KeyValueList": {1: ("values", "msg:KeyValue", True)},
}

WIRE_OF = {
    "uint32": 0, "int64": 0, "enum": 0, "bool": 0,
    "fixed64": 1, "double": 1,
    "string": 2, "bytes": 2,
    "fixed32": 5,
}
ONEOF = {"AnyValue"}


def read_varint(buf, pos, end):
    result = 0
    shift = 0
    for _ in range(10):
        if pos >= end:
            raise Bad("truncated varint at offset %d" % pos)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    raise Bad("varint longer than 10 bytes at offset %d" % pos)


def decode_message(buf, pos, end, mtype, path):
    """Decode buf[pos:end] as mtype into a dict shaped like the OTLP/JSON
    mapping (hex ids, 64-bit integers as strings, base64 for other bytes)."""
    fields = SCHEMA[mtype]
    out = {}
    while pos < end:
        key, pos = read_varint(buf, pos, end)
        num, wire = key >> 3, key & 7
        if num not in fields:
            raise Bad("%s: unknown field number %d (wire type %d) in %s"
                      % (path, num, wire, mtype))
        name, ftype, repeated = fields[num]
        want = 2 if ftype.startswith("msg:") else WIRE_OF[ftype]
        if wire != want:
            raise Bad("%s.%s: wire type %d, expected %d" % (path, name, wire, want))
        if wire == 0:
            v, pos = read_varint(buf, pos, end)
            if ftype == "int64":
                if v >= 1 << 63:
                    v -= 1 << 64
                v = str(v)
            elif ftype == "bool":
                if v > 1:
                    raise Bad("%s.%s: bool value %d" % (path, name, v))
                v = bool(v)
            elif ftype == "uint32":
                if v >= 1 << 32:
                    raise Bad("%s.%s: uint32 overflow" % (path, name))
            elif ftype == "enum":
                if v >= 1 << 63:
                    v -= 1 << 64
        elif wire == 1:
            if pos + 8 > end:
                raise Bad("%s.%s: truncated fixed64" % (path, name))
            if ftype == "double":
                v = struct.unpack_from("<d", buf, pos)[0]
            else:
                v = str(struct.unpack_from("<Q", buf, pos)[0])
            pos += 8
        elif wire == 5:
            if pos + 4 > end:
                raise Bad("%s.%s: truncated fixed32" % (path, name))
            v = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            ln, pos = read_varint(buf, pos, end)
            if pos + ln > end:
                raise Bad("%s.%s: length %d runs past the end" % (path, name, ln))
            sub_end = pos + ln
            if ftype.startswith("msg:"):
                v = decode_message(buf, pos, sub_end, ftype[4:], "%s.%s" % (path, name))
            elif ftype == "string":
                try:
                    v = bytes(buf[pos:sub_end]).decode("utf-8")
                except UnicodeDecodeError as e:
                    raise Bad("%s.%s: invalid UTF-8: %s" % (path, name, e))
            else:
                raw = bytes(buf[pos:sub_end])
                if name in ("traceId", "spanId", "parentSpanId"):
                    v = raw.hex()
                else:
                    v = base64.b64encode(raw).decode()
            pos = sub_end
        if repeated:
            out.setdefault(name, []).append(v)
        else:
            if name in out and mtype not in ONEOF:
                # proto3 allows "last one wins", but an encoder that repeats a
                # singular field is almost certainly broken.
                raise Bad("%s.%s: singular field appears twice" % (path, name))
            if mtype in ONEOF and out:
                raise Bad("%s: AnyValue with more than one value set" % path)
            out[name] = v
    if pos != end:
        raise Bad("%s: message overruns its length" % path)
    return out


def decode_proto(body):
    return decode_message(memoryview(body), 0, len(body), "ExportTraceServiceRequest", "req")


# ---------------------------------------------------------------------------
# OTLP/JSON shape rules.

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
UINT_STR = re.compile(r"^(0|[1-9][0-9]*)$")
INT_STR = re.compile(r"^-?(0|[1-9][0-9]*)$")
B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")

KEYS = {
    "ExportTraceServiceRequest": {"resourceSpans"},
    "ResourceSpans": {"resource", "scopeSpans", "schemaUrl"},
    "Resource": {"attributes", "droppedAttributesCount", "entityRefs"},
    "EntityRef": {"schemaUrl", "type", "idKeys", "descriptionKeys"},
    "ScopeSpans": {"scope", "spans", "schemaUrl"},
    "InstrumentationScope": {"name", "version", "attributes", "droppedAttributesCount"},
    "Span": {"traceId", "spanId", "traceState", "parentSpanId", "name", "kind",
             "startTimeUnixNano", "endTimeUnixNano", "attributes",
             "droppedAttributesCount", "events", "droppedEventsCount", "links",
             "droppedLinksCount", "status", "flags"},
    "Event": {"timeUnixNano", "name", "attributes", "droppedAttributesCount"},
    "Link": {"traceId", "spanId", "traceState", "attributes",
             "droppedAttributesCount", "flags"},
    "Status": {"message", "code"},
    "KeyValue": {"key", "value"},
    "AnyValue": {"stringValue", "boolValue", "intValue", "doubleValue",
                 "arrayValue", "kvlistValue", "bytesValue"},
    "ArrayValue": {"values"},
    "KeyValueList": {"values"},
}


class Shape:
    def __init__(self, where):
        self.where = where
        self.errors = []

    def err(self, path, msg):
        self.errors.append("%s: %s: %s" % (self.where, path, msg))

    def obj(self, v, mtype, path):
        if not isinstance(v, dict):
            self.err(path, "%s is %s, not an object" % (mtype, type(v).__name__))
            return False
        for k in v:
            if k not in KEYS[mtype]:
                self.err(path, "unknown key %r in %s" % (k, mtype))
        return True

    def is_int(self, v):
        return isinstance(v, int) and not isinstance(v, bool)

    def uint(self, v, path):
        if not self.is_int(v) or v < 0 or v >= 1 << 32:
            self.err(path, "must be a JSON integer 0..2^32-1, got %r" % (v,))

    def time_ns(self, v, path):
        if not isinstance(v, str) or not UINT_STR.match(v):
            self.err(path, "must be a string of decimal digits, got %r" % (v,))
            return None
        n = int(v)
        if n >= 1 << 64:
            self.err(path, "does not fit in fixed64")
        return n

    def string(self, v, path):
        if not isinstance(v, str):
            self.err(path, "must be a string, got %r" % (v,))

    def id_hex(self, v, path, rx, allow_empty):
        if allow_empty and v == "":
            return
        if not isinstance(v, str) or not rx.match(v):
            self.err(path, "must be %d lowercase hex digits, got %r"
                     % (32 if rx is HEX32 else 16, v))
        elif set(v) == {"0"}:
            self.err(path, "all-zero id")

    def request(self, v):
        if not self.obj(v, "ExportTraceServiceRequest", "$"):
            return
        rs = v.get("resourceSpans")
        if not isinstance(rs, list):
            self.err("$.resourceSpans", "must be an array")
            return
        for i, r in enumerate(rs):
            self.resource_spans(r, "$.resourceSpans[%d]" % i)

    def resource_spans(self, v, path):
        if not self.obj(v, "ResourceSpans", path):
            return
        if "resource" in v and self.obj(v["resource"], "Resource", path + ".resource"):
            self.attrs(v["resource"].get("attributes", []), path + ".resource.attributes")
            if "droppedAttributesCount" in v["resource"]:
                self.uint(v["resource"]["droppedAttributesCount"],
                          path + ".resource.droppedAttributesCount")
            refs = v["resource"].get("entityRefs", [])
            if not isinstance(refs, list):
                self.err(path + ".resource.entityRefs", "must be an array")
                refs = []
            for i, ref in enumerate(refs):
                rp = "%s.resource.entityRefs[%d]" % (path, i)
                if self.obj(ref, "EntityRef", rp):
                    for k in ("schemaUrl", "type"):
                        if k in ref:
                            self.string(ref[k], "%s.%s" % (rp, k))
                    for k in ("idKeys", "descriptionKeys"):
                        if k in ref and (not isinstance(ref[k], list) or not all(
                                isinstance(x, str) for x in ref[k])):
                            self.err("%s.%s" % (rp, k), "must be an array of strings")
        if "schemaUrl" in v:
            self.string(v["schemaUrl"], path + ".schemaUrl")
        ss = v.get("scopeSpans", [])
        if not isinstance(ss, list):
            self.err(path + ".scopeSpans", "must be an array")
            return
        for i, s in enumerate(ss):
            self.scope_spans(s, "%s.scopeSpans[%d]" % (path, i))

    def scope_spans(self, v, path):
        if not self.obj(v, "ScopeSpans", path):
            return
        if "scope" in v and self.obj(v["scope"], "InstrumentationScope", path + ".scope"):
            sc = v["scope"]
            for k in ("name", "version"):
                if k in sc:
                    self.string(sc[k], "%s.scope.%s" % (path, k))
            self.attrs(sc.get("attributes", []), path + ".scope.attributes")
            if "droppedAttributesCount" in sc:
                self.uint(sc["droppedAttributesCount"], path + ".scope.droppedAttributesCount")
        if "schemaUrl" in v:
            self.string(v["schemaUrl"], path + ".schemaUrl")
        spans = v.get("spans", [])
        if not isinstance(spans, list):
            self.err(path + ".spans", "must be an array")
            return
        for i, s in enumerate(spans):
            self.span(s, "%s.spans[%d]" % (path, i))

    def span(self, v, path):
        if not self.obj(v, "Span", path):
            return
        for k in ("traceId", "spanId", "name", "kind", "startTimeUnixNano",
                  "endTimeUnixNano"):
            if k not in v:
                self.err(path, "missing %s" % k)
        if "traceId" in v:
            self.id_hex(v["traceId"], path + ".traceId", HEX32, False)
        if "spanId" in v:
            self.id_hex(v["spanId"], path + ".spanId", HEX16, False)
        if "parentSpanId" in v:
            self.id_hex(v["parentSpanId"], path + ".parentSpanId", HEX16, True)
        if "traceState" in v:
            self.string(v["traceState"], path + ".traceState")
        if "name" in v:
            self.string(v["name"], path + ".name")
            if v["name"] == "":
                self.err(path + ".name", "empty span name")
        if "kind" in v and (not self.is_int(v["kind"]) or not 0 <= v["kind"] <= 5):
            self.err(path + ".kind", "must be an integer 0..5, got %r" % (v["kind"],))
        start = self.time_ns(v["startTimeUnixNano"], path + ".startTimeUnixNano") \
            if "startTimeUnixNano" in v else None
        end = self.time_ns(v["endTimeUnixNano"], path + ".endTimeUnixNano") \
            if "endTimeUnixNano" in v else None
        if start is not None and end is not None:
            if start == 0:
                self.err(path, "startTimeUnixNano is 0")
            if end < start:
                self.err(path, "endTimeUnixNano %d before startTimeUnixNano %d" % (end, start))
        self.attrs(v.get("attributes", []), path + ".attributes")
        for k in ("droppedAttributesCount", "droppedEventsCount", "droppedLinksCount", "flags"):
            if k in v:
                self.uint(v[k], "%s.%s" % (path, k))
        if "status" in v and self.obj(v["status"], "Status", path + ".status"):
            st = v["status"]
            if "code" in st and (not self.is_int(st["code"]) or not 0 <= st["code"] <= 2):
                self.err(path + ".status.code", "must be an integer 0..2, got %r" % (st["code"],))
            if "message" in st:
                self.string(st["message"], path + ".status.message")
        events = v.get("events", [])
        if not isinstance(events, list):
            self.err(path + ".events", "must be an array")
            events = []
        for i, e in enumerate(events):
            ep = "%s.events[%d]" % (path, i)
            if self.obj(e, "Event", ep):
                if "timeUnixNano" in e:
                    self.time_ns(e["timeUnixNano"], ep + ".timeUnixNano")
                if "name" in e:
                    self.string(e["name"], ep + ".name")
                self.attrs(e.get("attributes", []), ep + ".attributes")
                if "droppedAttributesCount" in e:
                    self.uint(e["droppedAttributesCount"], ep + ".droppedAttributesCount")
        links = v.get("links", [])
        if not isinstance(links, list):
            self.err(path + ".links", "must be an array")
            links = []
        for i, ln in enumerate(links):
            lp = "%s.links[%d]" % (path, i)
            if self.obj(ln, "Link", lp):
                self.id_hex(ln.get("traceId"), lp + ".traceId", HEX32, False)
                self.id_hex(ln.get("spanId"), lp + ".spanId", HEX16, False)
                if "traceState" in ln:
                    self.string(ln["traceState"], lp + ".traceState")
                self.attrs(ln.get("attributes", []), lp + ".attributes")
                for k in ("droppedAttributesCount", "flags"):
                    if k in ln:
                        self.uint(ln[k], "%s.%s" % (lp, k))

    def attrs(self, v, path):
        if not isinstance(v, list):
            self.err(path, "must be an array of KeyValue")
            return
        seen = set()
        for i, kv in enumerate(v):
            p = "%s[%d]" % (path, i)
            if not self.obj(kv, "KeyValue", p):
                continue
            key = kv.get("key")
            if not isinstance(key, str) or key == "":
                self.err(p + ".key", "must be a non-empty string, got %r" % (key,))
            elif key in seen:
                self.err(p + ".key", "duplicate key %r" % key)
            else:
                seen.add(key)
            if "value" not in kv:
                self.err(p, "missing value")
            else:
                self.any_value(kv["value"], p + ".value")

    def any_value(self, v, path):
        if not self.obj(v, "AnyValue", path):
            return
        if len(v) > 1:
            self.err(path, "more than one value in AnyValue: %s" % sorted(v))
        for k, x in v.items():
            if k == "stringValue":
                self.string(x, path + ".stringValue")
            elif k == "boolValue":
                if not isinstance(x, bool):
                    self.err(path + ".boolValue", "must be true/false, got %r" % (x,))
            elif k == "intValue":
                if not isinstance(x, str) or not INT_STR.match(x):
                    self.err(path + ".intValue", "must be a string of decimal digits, got %r" % (x,))
                elif not -(1 << 63) <= int(x) < 1 << 63:
                    self.err(path + ".intValue", "does not fit in int64")
            elif k == "doubleValue":
                if isinstance(x, bool) or not (isinstance(x, (int, float))
                                               or x in ("NaN", "Infinity", "-Infinity")):
                    self.err(path + ".doubleValue", "must be a number, got %r" % (x,))
            elif k == "bytesValue":
                if not isinstance(x, str) or len(x) % 4 or not B64.match(x):
                    self.err(path + ".bytesValue", "must be base64, got %r" % (x,))
            elif k == "arrayValue":
                if self.obj(x, "ArrayValue", path + ".arrayValue"):
                    vals = x.get("values", [])
                    if not isinstance(vals, list):
                        self.err(path + ".arrayValue.values", "must be an array")
                    else:
                        for i, e in enumerate(vals):
                            self.any_value(e, "%s.arrayValue.values[%d]" % (path, i))
            elif k == "kvlistValue":
                if self.obj(x, "KeyValueList", path + ".kvlistValue"):
                    self.attrs(x.get("values", []), path + ".kvlistValue.values")


# ---------------------------------------------------------------------------
# Sources and normalisation.

def any_value(v):
    if not isinstance(v, dict) or not v:
        return None
    k, x = next(iter(v.items()))
    if k == "stringValue":
        return x
    if k == "boolValue":
        return bool(x)
    if k == "intValue":
        return int(x)
    if k == "doubleValue":
        return float(x)
    if k == "bytesValue":
        return base64.b64decode(x).hex()
    if k == "arrayValue":
        return [any_value(e) for e in (x or {}).get("values", [])]
    if k == "kvlistValue":
        return attributes((x or {}).get("values", []))
    raise Bad("unknown AnyValue key %r" % k)


def attributes(kvs):
    return {kv.get("key"): any_value(kv.get("value")) for kv in kvs or []}


def as_int(v):
    if v is None or v == "":
        return 0
    return int(v)


def normalise(req, origin):
    out = []
    for rs in req.get("resourceSpans") or []:
        res = attributes((rs.get("resource") or {}).get("attributes"))
        for ss in rs.get("scopeSpans") or []:
            scope = ss.get("scope") or {}
            for sp in ss.get("spans") or []:
                st = sp.get("status") or {}
                d = {
                    "traceId": (sp.get("traceId") or "").lower(),
                    "spanId": (sp.get("spanId") or "").lower(),
                    "parentSpanId": (sp.get("parentSpanId") or "").lower(),
                    "traceState": sp.get("traceState") or "",
                    "name": sp.get("name") or "",
                    "kind": as_int(sp.get("kind")),
                    "start": as_int(sp.get("startTimeUnixNano")),
                    "end": as_int(sp.get("endTimeUnixNano")),
                    "attributes": attributes(sp.get("attributes")),
                    "droppedAttributesCount": as_int(sp.get("droppedAttributesCount")),
                    "status": {"code": as_int(st.get("code")),
                               "message": st.get("message") or ""},
                    "flags": as_int(sp.get("flags")),
                    "events": [{"name": e.get("name") or "",
                                "time": as_int(e.get("timeUnixNano")),
                                "attributes": attributes(e.get("attributes"))}
                               for e in sp.get("events") or []],
                    "links": [{"traceId": (ln.get("traceId") or "").lower(),
                               "spanId": (ln.get("spanId") or "").lower(),
                               "traceState": ln.get("traceState") or "",
                               "attributes": attributes(ln.get("attributes")),
                               "flags": as_int(ln.get("flags"))}
                              for ln in sp.get("links") or []],
                    "resource": res,
                    "scope": scope.get("name") or "",
                    "scopeVersion": scope.get("version") or "",
                }
                d.update(origin)
                out.append(d)
    return out


def receiver_requests(directory):
    reqs = []
    for fn in os.listdir(directory):
        m = re.match(r"^(\d+)\.json$", fn)
        if not m:
            continue
        with open(os.path.join(directory, fn)) as f:
            side = json.load(f)
        side["body_file"] = os.path.join(directory, "%s.body" % m.group(1))
        reqs.append(side)
    reqs.sort(key=lambda r: r["seq"])
    return reqs


def request_bodies(src):
    """Yield (origin dict, kind, parsed-or-bytes, where) for every request."""
    if os.path.isdir(src):
        for i, side in enumerate(receiver_requests(src)):
            with open(side["body_file"], "rb") as f:
                body = f.read()
            ctype = (side.get("content_type") or "").split(";")[0].strip().lower()
            where = "%s request %d" % (src, side["seq"])
            origin = {"batch": i, "request": side["seq"]}
            if ctype == "application/json":
                try:
                    yield origin, "json", json.loads(body.decode("utf-8")), where
                except (UnicodeDecodeError, ValueError) as e:
                    raise Bad("%s: body is not JSON: %s" % (where, e))
            elif ctype == "application/x-protobuf":
                yield origin, "proto", body, where
            else:
                raise Bad("%s: unexpected Content-Type %r" % (where, side.get("content_type")))
        return
    if not os.path.exists(src):
        raise Bad("%s: no such file" % src)
    with open(src, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise Bad("%s: last line is not terminated by a newline (torn write?)" % src)
    for n, line in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        where = "%s line %d" % (src, n)
        try:
            v = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise Bad("%s: not JSON (%s): %.200r" % (where, e, line))
        if not isinstance(v, dict):
            raise Bad("%s: not a JSON object" % where)
        yield {"batch": n - 1, "line": n}, "json", v, where


def load_spans(src):
    spans = []
    for origin, kind, body, where in request_bodies(src):
        if kind == "proto":
            try:
                req = decode_proto(body)
            except Bad as e:
                raise Bad("%s: %s" % (where, e))
        else:
            req = body
        spans.extend(normalise(req, origin))
    return spans


def value_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return json.dumps(v, sort_keys=True)


def split_kv(text, opt):
    if "=" not in text:
        raise Bad("%s wants key=value, got %r" % (opt, text))
    return text.split("=", 1)


def matches(sp, a):
    if a.name is not None and sp["name"] != a.name:
        return False
    if a.kind is not None and sp["kind"] != a.kind:
        return False
    if a.status is not None and sp["status"]["code"] != a.status:
        return False
    if a.trace is not None and sp["traceId"] != a.trace:
        return False
    if a.parent is not None and sp["parentSpanId"] != a.parent:
        return False
    if a.request is not None and sp.get("request") != a.request:
        return False
    for kv in a.attr or []:
        k, v = split_kv(kv, "--attr")
        if k not in sp["attributes"] or value_text(sp["attributes"][k]) != v:
            return False
    for kv in a.attr_contains or []:
        k, v = split_kv(kv, "--attr-contains")
        x = sp["attributes"].get(k)
        if not isinstance(x, list) or v not in [value_text(e) for e in x]:
            return False
    for k in a.has_attr or []:
        if k not in sp["attributes"]:
            return False
    for k in a.no_attr or []:
        if k in sp["attributes"]:
            return False
    for kv in a.res or []:
        k, v = split_kv(kv, "--res")
        if k not in sp["resource"] or value_text(sp["resource"][k]) != v:
            return False
    return True


def field(sp, path):
    """Dotted lookup; attribute and resource keys contain dots themselves, so
    everything after 'attributes.'/'resource.' is one key."""
    for prefix in ("attributes.", "resource."):
        if path.startswith(prefix):
            d = sp[prefix[:-1]]
            key = path[len(prefix):]
            if key not in d:
                return None
            return d[key]
    cur = sp
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def main(argv):
    ap = argparse.ArgumentParser(description="read OTLP spans written by tests")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def filters(p):
        p.add_argument("src")
        p.add_argument("--name")
        p.add_argument("--kind", type=int)
        p.add_argument("--status", type=int)
        p.add_argument("--trace")
        p.add_argument("--parent")
        p.add_argument("--request", type=int)
        p.add_argument("--attr", action="append")
        p.add_argument("--attr-contains", action="append")
        p.add_argument("--has-attr", action="append")
        p.add_argument("--no-attr", action="append")
        p.add_argument("--res", action="append")

    filters(sub.add_parser("dump"))
    filters(sub.add_parser("count"))
    g = sub.add_parser("get")
    filters(g)
    g.add_argument("--field", required=True)
    c = sub.add_parser("check-json-shape")
    c.add_argument("src")
    r = sub.add_parser("requests")
    r.add_argument("src")
    r.add_argument("--field")
    a = ap.parse_args(argv)

    try:
        if a.cmd == "check-json-shape":
            n = 0
            errors = []
            for _origin, kind, body, where in request_bodies(a.src):
                if kind != "json":
                    continue
                n += 1
                sh = Shape(where)
                sh.request(body)
                errors.extend(sh.errors)
            if n == 0:
                raise Bad("%s: no JSON request to check" % a.src)
            for e in errors[:50]:
                sys.stderr.write("shape: %s\n" % e)
            if errors:
                sys.stderr.write("shape: %d error(s) in %d request(s)\n" % (len(errors), n))
                return 1
            return 0
        if a.cmd == "requests":
            if not os.path.isdir(a.src):
                raise Bad("%s: not a receiver directory" % a.src)
            for side in receiver_requests(a.src):
                if a.field:
                    v = side.get(a.field)
                    print(value_text(v) if v is not None else "")
                else:
                    print(json.dumps(side, sort_keys=True))
            return 0
        spans = [s for s in load_spans(a.src) if matches(s, a)]
        if a.cmd == "count":
            print(len(spans))
        elif a.cmd == "dump":
            for s in spans:
                print(json.dumps(s, sort_keys=True))
        elif a.cmd == "get":
            for s in spans:
                v = field(s, a.field)
                print("" if v is None else value_text(v))
        return 0
    except Bad as e:
        sys.stderr.write("spans.py: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
