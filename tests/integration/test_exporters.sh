#!/usr/bin/env bash
# test_exporters.sh - the Zipkin exporter, several exporters at once, and
# the flush before exec.
#
# Run by tests/run-tests.sh with LIB and OUT set; prints "ok - ..." /
# "not ok - ..." lines and exits 1 when any failed.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Zipkin v2 JSON: POST an array of spans with lowercase-hex ids, times in
# microseconds, kind CLIENT, the service as localEndpoint.serviceName.
if start_receiver zipkin; then
	traced zipkin OTEL_SERVICE_NAME=zsvc OTEL_TRACES_EXPORTER=zipkin \
		OTEL_EXPORTER_ZIPKIN_ENDPOINT="$RECEIVER_URL/api/v2/spans" -- getent ahosts localhost
	wait_for '[ "$(request_count)" -ge 1 ]' 5
	zout=$(env -u LD_PRELOAD "$PY" - "$RECEIVER_DIR" <<'PYEOF'
import json, os, re, sys
d = sys.argv[1]
bodies = sorted(f for f in os.listdir(d) if f.endswith('.body'))
meta = json.load(open(os.path.join(d, bodies[0][:-5] + '.json')))
spans = json.load(open(os.path.join(d, bodies[0]), 'rb'))
s = [x for x in spans if x.get('name') == 'getaddrinfo'][0]
ok = (meta['path'] == '/api/v2/spans'
      and meta['content_type'] == 'application/json'
      and re.fullmatch('[0-9a-f]{32}', s['traceId'])
      and re.fullmatch('[0-9a-f]{16}', s['id'])
      and 'parentId' not in s
      and s['kind'] == 'CLIENT'
      and s['localEndpoint']['serviceName'] == 'zsvc'
      and isinstance(s['timestamp'], int) and 1e15 < s['timestamp'] < 1e17
      and isinstance(s['duration'], int) and s['duration'] >= 1
      and s['tags'].get('dns.question.name') == 'localhost')
print('good' if ok else 'bad ' + json.dumps(s))
PYEOF
)
	expect_eq "zipkin: one v2 span with hex ids, microsecond times, service and tags" good "$zout"
	stop_receiver
else
	not_ok "zipkin: receiver started"
fi

# Two exporters at once get the same spans.
rm -f "$OUT/both.jsonl"
traced both OTEL_TRACES_EXPORTER=console,file OTELPRELOAD_FILE="$OUT/both.jsonl" -- \
	getent ahosts localhost
expect_count "console,file: the file has the span" 1 "$OUT/both.jsonl" --name getaddrinfo
if grep -q '^\[otelpreload\] span getaddrinfo' "$OUT/both.err"; then
	ok "console,file: the console has the span"
else
	not_ok "console,file: the console has the span" "$(head -n 5 "$OUT/both.err")"
fi

# exec: spans made before an exec are exported by the old image, not lost.
rm -f "$OUT/exec.jsonl"
traced exec OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$OUT/exec.jsonl" -- \
	"$PY" -c 'import os, socket
socket.getaddrinfo("localhost", 80)
os.execv("/usr/bin/getent", ["getent", "ahosts", "LOCALHOST"])'
expect_eq "exec: the new image ran" 0 "$RC"
expect_count "exec: the span made before exec was flushed" 1 "$OUT/exec.jsonl" \
	--name getaddrinfo --attr dns.question.name=localhost
expect_count "exec: the new image's span is there too" 1 "$OUT/exec.jsonl" \
	--name getaddrinfo --attr dns.question.name=LOCALHOST

# A short-lived program exits while the exporter it just started is still
# loading libcurl and initialising OpenSSL. OpenSSL's cleanup must never
# run under the exporter's feet (it crashed about 1 run in 60 before).
if start_receiver race --responses 500; then
	bad=0
	for _ in $(seq 1 150); do
		env LD_PRELOAD="$PRELOAD" OTELPRELOAD_EXIT_TIMEOUT_MS=1000 \
			OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" getent ahosts localhost \
			>/dev/null 2>&1 || bad=$((bad + 1))
	done
	expect_eq "exit during exporter start-up: 150 runs, none crashed" 0 "$bad"
	stop_receiver
else
	not_ok "race: receiver started"
fi

finish
