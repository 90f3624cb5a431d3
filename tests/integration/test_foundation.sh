#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $ belongs to the inner sh/python/wait_for
#
# test_foundation.sh - the foundation of otelpreload, seen from outside:
# unmodified programs (getent, python3, sh) run with the library preloaded
# into them and nothing else; the spans they produce are read back from the
# file exporter, the console, or a capture receiver (otlp_receiver.py), and
# compared with the specification, never with what the code happens to do.
#
# Run by tests/run-tests.sh with LIB and OUT set; prints "ok - ..." /
# "not ok - ..." lines and exits 1 when any failed.
#
#  1 exporters: console, file, OTLP protobuf/JSON/gzip; resource; app unchanged
#  2 TRACEPARENT from the environment; an invalid one is ignored
#  3 one process without a request context = one trace
#  4 no span: no thread, no libcurl; the first span starts one thread
#  5 connect spans: success, ECONNREFUSED, non-blocking, UDP, IPv6
#  6 collector down / 500 / hanging / resetting: bounded exit, one warning
#  7 retries on 503 and 429 honour Retry-After
#  8 fork: each process exports its own spans exactly once
#  9 OTEL_SDK_DISABLED
# 10 OTEL_TRACES_EXPORTER=none; invalid settings warn once each
# 11 samplers: always_off, parentbased_always_on with an unsampled parent
# 12 concurrent processes appending to one file

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

missing=$(require getent "$PY" awk) || {
	skip "foundation suite" "$missing not installed"
	exit 0
}
if [ ! -f "$LIB" ]; then
	not_ok "library built" "no $LIB"
	finish
fi

TP_TRACE=4bf92f3577b34da6a3ce929d0e0e4736
TP_PARENT=00f067aa0ba902b7

# getent's own behaviour, without the library: the reference for "unchanged".
getent ahosts localhost >"$OUT/base.out" 2>"$OUT/base.err"
BASE_RC=$?

# same_as_base DESC NAME: NAME.out and RC equal getent's untraced run.
same_as_base() {
	if cmp -s "$OUT/base.out" "$OUT/$2.out" && [ "$RC" -eq "$BASE_RC" ]; then
		ok "$1"
	else
		not_ok "$1" "exit status $RC, untraced $BASE_RC" \
			"stdout diff:" "$(diff "$OUT/base.out" "$OUT/$2.out")" \
			"stderr:" "$(head -n 20 "$OUT/$2.err")"
	fi
}

# no_warning DESC NAME: NAME.err has no "otelpreload:" line.
no_warning() {
	local n
	n=$(warn_lines "$OUT/$2.err")
	if [ "$n" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1" "stderr:" "$(head -n 20 "$OUT/$2.err")"
	fi
}

# request_field_set FIELD: the distinct values of a sidecar field over all
# requests of the current receiver, space separated.
request_field_set() {
	spans requests "$RECEIVER_DIR" --field "$1" | sed 's/;.*//' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

###########################################################################
# 1. Exporters. getent ahosts localhost does exactly one getaddrinfo().

traced t1-console OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=console -- \
	getent ahosts localhost
same_as_base "1 console: getent stdout and exit status unchanged" t1-console
if grep -q '^\[otelpreload\] span getaddrinfo' "$OUT/t1-console.err" &&
	grep -q 'probe' "$OUT/t1-console.err" &&
	grep -Eq 'dns\.question\.name.*localhost' "$OUT/t1-console.err"; then
	ok "1 console: stderr shows the getaddrinfo span, service probe, dns.question.name localhost"
else
	not_ok "1 console: stderr shows the getaddrinfo span, service probe, dns.question.name localhost" \
		"stderr:" "$(head -n 30 "$OUT/t1-console.err")"
fi

F=$OUT/t1.jsonl
rm -f "$F"
# sh records the pid, then execs env which execs getent: one pid throughout.
traced t1-file -- sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$OUT/t1-file.pid" \
	env OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
	getent ahosts localhost
GETENT_PID=$(cat "$OUT/t1-file.pid" 2>/dev/null)
same_as_base "1 file: getent stdout and exit status unchanged" t1-file
expect_count "1 file: one CLIENT getaddrinfo span, dns.question.name=localhost, service.name=probe" 1 "$F" \
	--name getaddrinfo --kind 3 --attr dns.question.name=localhost --res service.name=probe
expect_count "1 file: dns.answers holds 127.0.0.1, no error.type" 1 "$F" \
	--name getaddrinfo --attr-contains dns.answers=127.0.0.1 --no-attr error.type
expect_count "1 file: resource telemetry.sdk.*, process.pid, process.executable.name, host.name" 1 "$F" \
	--name getaddrinfo --res telemetry.sdk.name=otelpreload --res telemetry.sdk.language=c \
	--res process.pid="$GETENT_PID" --res process.executable.name=getent \
	--res host.name="$(uname -n)"
sdkver=$(spans get "$F" --field resource.telemetry.sdk.version 2>/dev/null | head -n 1)
if [ -n "$sdkver" ]; then
	ok "1 file: resource telemetry.sdk.version is set ($sdkver)"
else
	not_ok "1 file: resource telemetry.sdk.version is set"
fi
check "1 file: every line is an OTLP/JSON ExportTraceServiceRequest (shape check)" \
	spans check-json-shape "$F"
no_warning "1 file: no otelpreload: warning" t1-file

if start_receiver t1-proto; then
	traced t1-proto OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=otlp \
		OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" -- getent ahosts localhost
	same_as_base "1 otlp/protobuf: getent stdout and exit status unchanged" t1-proto
	wait_for '[ "$(request_count)" -ge 1 ]' 3
	expect_eq "1 otlp/protobuf: POST to /v1/traces" "POST /v1/traces" \
		"$(request_field_set method) $(request_field_set path)"
	expect_eq "1 otlp/protobuf: Content-Type application/x-protobuf" \
		"application/x-protobuf" "$(request_field_set content_type)"
	expect_count "1 otlp/protobuf: body decodes; one getaddrinfo span, localhost, service probe" 1 \
		"$RECEIVER_DIR" --name getaddrinfo --kind 3 --attr dns.question.name=localhost \
		--res service.name=probe --res telemetry.sdk.name=otelpreload
	if [ "$(request_count)" -ge 1 ]; then
		expect_count "1 otlp/protobuf: the exporter's own connections make no connect span" 0 \
			"$RECEIVER_DIR" --name connect
	else
		not_ok "1 otlp/protobuf: the exporter's own connections make no connect span" "no request received"
	fi
	no_warning "1 otlp/protobuf: no otelpreload: warning" t1-proto
	stop_receiver
else
	not_ok "1 otlp/protobuf: receiver started"
fi

if start_receiver t1-json; then
	traced t1-json OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=otlp \
		OTEL_EXPORTER_OTLP_PROTOCOL=http/json OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL/" -- \
		getent ahosts localhost
	same_as_base "1 otlp/json: getent stdout and exit status unchanged" t1-json
	wait_for '[ "$(request_count)" -ge 1 ]' 3
	expect_eq "1 otlp/json: POST to /v1/traces (endpoint with a trailing slash)" \
		"POST /v1/traces" "$(request_field_set method) $(request_field_set path)"
	expect_eq "1 otlp/json: Content-Type application/json" \
		"application/json" "$(request_field_set content_type)"
	check "1 otlp/json: body passes the OTLP/JSON shape check" \
		spans check-json-shape "$RECEIVER_DIR"
	expect_count "1 otlp/json: one getaddrinfo span, localhost, service probe" 1 \
		"$RECEIVER_DIR" --name getaddrinfo --kind 3 --attr dns.question.name=localhost \
		--res service.name=probe
	no_warning "1 otlp/json: no otelpreload: warning" t1-json
	stop_receiver
else
	not_ok "1 otlp/json: receiver started"
fi

if start_receiver t1-tep; then
	traced t1-tep OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=otlp \
		OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9/never \
		OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="$RECEIVER_URL/custom/traces" -- \
		getent ahosts localhost
	wait_for '[ "$(request_count)" -ge 1 ]' 3
	expect_eq "1 otlp: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is and wins" \
		"/custom/traces" "$(request_field_set path)"
	expect_count "1 otlp: the span arrives at the traces endpoint" 1 "$RECEIVER_DIR" \
		--name getaddrinfo --attr dns.question.name=localhost
	stop_receiver
else
	not_ok "1 otlp traces endpoint: receiver started"
fi

if start_receiver t1-gzip; then
	traced t1-gzip OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=otlp \
		OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" -- \
		getent ahosts localhost
	wait_for '[ "$(request_count)" -ge 1 ]' 3
	expect_eq "1 otlp gzip: Content-Encoding: gzip on every request" "gzip" \
		"$(request_field_set content_encoding)"
	expect_count "1 otlp gzip: the gunzipped body decodes; one getaddrinfo span" 1 "$RECEIVER_DIR" \
		--name getaddrinfo --attr dns.question.name=localhost --res service.name=probe
	stop_receiver
else
	not_ok "1 otlp gzip: receiver started"
fi

# Resource: OTEL_RESOURCE_ATTRIBUTES is merged (values percent-decoded) and
# OTEL_SERVICE_NAME wins over its service.name; without either, the service
# is unknown_service:<executable>.
F=$OUT/t1-res.jsonl
rm -f "$F"
traced t1-res OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" OTEL_SERVICE_NAME=probe \
	OTEL_RESOURCE_ATTRIBUTES='deployment.environment.name=test,team=a%20b,service.name=ignored' -- \
	getent ahosts localhost
expect_count "1 OTEL_RESOURCE_ATTRIBUTES merged, percent-decoded; OTEL_SERVICE_NAME wins" 1 "$F" \
	--name getaddrinfo --res deployment.environment.name=test --res 'team=a b' \
	--res service.name=probe --res telemetry.sdk.name=otelpreload

F=$OUT/t1-unknown.jsonl
rm -f "$F"
traced t1-unknown OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- getent ahosts localhost
expect_count "1 no OTEL_SERVICE_NAME: service.name=unknown_service:getent" 1 "$F" \
	--name getaddrinfo --res service.name=unknown_service:getent

###########################################################################
# 2. TRACEPARENT in the environment.

F=$OUT/t2.jsonl
rm -f "$F"
traced t2 OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
	TRACEPARENT="00-$TP_TRACE-$TP_PARENT-01" -- getent ahosts localhost
n=$(spans count "$F" 2>/dev/null || echo 0)
if [ "$n" -ge 1 ]; then
	expect_count "2 TRACEPARENT: all $n span(s) have its trace id and parent span id" "$n" "$F" \
		--trace "$TP_TRACE" --parent "$TP_PARENT"
else
	not_ok "2 TRACEPARENT: spans exported" "$(cat "$OUT/t2.err")"
fi

F=$OUT/t2-invalid.jsonl
rm -f "$F"
traced t2-invalid OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
	TRACEPARENT="00-${TP_TRACE^^}-${TP_PARENT^^}-01" -- getent ahosts localhost
same_as_base "2 invalid TRACEPARENT: getent unchanged" t2-invalid
n=$(spans count "$F" 2>/dev/null || echo 0)
if [ "$n" -ge 1 ]; then
	expect_count "2 invalid (uppercase) TRACEPARENT: spans have no parent" "$n" "$F" --parent ""
	tids=$(spans get "$F" --field traceId | sort -u)
	if [ -n "$tids" ] && ! grep -qi "^$TP_TRACE\$" <<<"$tids" &&
		grep -Eq '^[0-9a-f]{32}$' <<<"$tids"; then
		ok "2 invalid (uppercase) TRACEPARENT: a new trace id, not the given one"
	else
		not_ok "2 invalid (uppercase) TRACEPARENT: a new trace id, not the given one" "trace ids: $tids"
	fi
else
	not_ok "2 invalid TRACEPARENT: spans still exported" "$(cat "$OUT/t2-invalid.err")"
fi

###########################################################################
# 3. Two lookups in one process without a request context: one trace.

F=$OUT/t3.jsonl
rm -f "$F"
traced t3 OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- "$PY" -c '
import socket
socket.getaddrinfo("localhost", 80)
socket.getaddrinfo("localhost", 443)
'
expect_count "3 two lookups: two getaddrinfo spans" 2 "$F" --name getaddrinfo \
	--attr dns.question.name=localhost
expect_eq "3 two lookups: one trace id" 1 "$(distinct "$F" traceId --name getaddrinfo)"
expect_eq "3 two lookups: two distinct span ids" 2 "$(distinct "$F" spanId --name getaddrinfo)"

###########################################################################
# 4. Cost of a process that makes no span; the exporter thread is lazy.

closed=$(free_port)
traced t4-nospan OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$closed" -- \
	sh -c 'ls /proc/$$/task | wc -l; grep -c libcurl /proc/$$/maps || true'
expect_eq "4 no span: 1 thread and no libcurl mapped (default otlp exporter)" \
	"1 0" "$(tr -s ' \n' ' ' <"$OUT/t4-nospan.out" | sed 's/^ //; s/ $//')" \
	"stderr: $(head -n 5 "$OUT/t4-nospan.err")"
expect_eq "4 no span: nothing on stderr" "" "$(cat "$OUT/t4-nospan.err")"

F=$OUT/t4.jsonl
rm -f "$F"
traced t4-span OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- "$PY" -c '
import os, socket
socket.getaddrinfo("localhost", None)
print(len(os.listdir("/proc/self/task")))
'
expect_eq "4 one getaddrinfo: the exporter thread exists (2 threads)" 2 \
	"$(cat "$OUT/t4-span.out")" "stderr: $(head -n 5 "$OUT/t4-span.err")"

###########################################################################
# 5. connect spans.

CONNECT_PY='
import errno, select, socket, sys
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
typ = socket.SOCK_DGRAM if mode == "udp" else socket.SOCK_STREAM
s = socket.socket(fam, typ)
if mode == "ok":
    s.connect((host, port))
    print("connected")
elif mode == "udp":
    # UDP "connect" to port, then a TCP connect to sys.argv[4]: the control
    s.connect((host, port))
    t = socket.create_connection((host, int(sys.argv[4])))
    t.close()
    print("connected")
elif mode == "refused":
    try:
        s.connect((host, port))
        print("connected?!")
    except ConnectionRefusedError as e:
        print("ConnectionRefusedError", e.errno)
    except OSError as e:
        print("OSError", errno.errorcode.get(e.errno, e.errno))
elif mode == "nonblock":
    s.setblocking(False)
    r = s.connect_ex((host, port))
    print("connect_ex", errno.errorcode.get(r, r))
    select.select([], [s], [], 5)
    print("so_error", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
s.close()
'

if start_receiver t5; then
	closed=$(free_port)

	F=$OUT/t5-ok.jsonl
	rm -f "$F"
	env -u LD_PRELOAD "$PY" -c "$CONNECT_PY" ok 127.0.0.1 "$RECEIVER_PORT" >"$OUT/t5-ok.base" 2>&1
	traced t5-ok OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- \
		"$PY" -c "$CONNECT_PY" ok 127.0.0.1 "$RECEIVER_PORT"
	expect_eq "5 connect ok: python's result unchanged" "$(cat "$OUT/t5-ok.base")" \
		"$(cat "$OUT/t5-ok.out")" "stderr: $(head -n 10 "$OUT/t5-ok.err")"
	expect_count "5 connect ok: CLIENT connect span, 127.0.0.1:$RECEIVER_PORT, tcp, ipv4" 1 "$F" \
		--name connect --kind 3 --attr network.peer.address=127.0.0.1 \
		--attr network.peer.port="$RECEIVER_PORT" --attr network.transport=tcp \
		--attr network.type=ipv4
	expect_count "5 connect ok: not an error" 0 "$F" --name connect --status 2

	F=$OUT/t5-refused.jsonl
	rm -f "$F"
	env -u LD_PRELOAD "$PY" -c "$CONNECT_PY" refused 127.0.0.1 "$closed" >"$OUT/t5-refused.base" 2>&1
	traced t5-refused OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- \
		"$PY" -c "$CONNECT_PY" refused 127.0.0.1 "$closed"
	expect_eq "5 connect refused: python still sees ConnectionRefusedError, same errno" \
		"ConnectionRefusedError 111" "$(cat "$OUT/t5-refused.out")" \
		"untraced: $(cat "$OUT/t5-refused.base")" "stderr: $(head -n 10 "$OUT/t5-refused.err")"
	expect_count "5 connect refused: ERROR span, error.type=ECONNREFUSED, port $closed" 1 "$F" \
		--name connect --status 2 --attr error.type=ECONNREFUSED \
		--attr network.peer.port="$closed" --attr network.peer.address=127.0.0.1

	F=$OUT/t5-nonblock.jsonl
	rm -f "$F"
	traced t5-nonblock OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- \
		"$PY" -c "$CONNECT_PY" nonblock 127.0.0.1 "$RECEIVER_PORT"
	nb=$(tr '\n' ' ' <"$OUT/t5-nonblock.out")
	case $nb in
	"connect_ex EINPROGRESS so_error 0 ") ok "5 non-blocking connect: EINPROGRESS, then connected" ;;
	"connect_ex None so_error 0 ") ok "5 non-blocking connect: connected at once (EINPROGRESS path not exercised)" ;;
	*) not_ok "5 non-blocking connect: EINPROGRESS, then connected" "got: $nb" \
		"stderr: $(head -n 10 "$OUT/t5-nonblock.err")" ;;
	esac
	expect_count "5 non-blocking connect: one connect span to port $RECEIVER_PORT" 1 "$F" \
		--name connect --attr network.peer.port="$RECEIVER_PORT"
	expect_count "5 non-blocking connect: EINPROGRESS is not an error (no ERROR status, no error.type)" 0 "$F" \
		--name connect --status 2
	expect_count "5 non-blocking connect: no error.type" 1 "$F" --name connect --no-attr error.type

	# Non-blocking connects in C, the outcome learned each usual way: the
	# span lasts until the program looks (it waits 80 ms first) and says
	# how it went.
	F=$OUT/t5-nbc.jsonl
	rm -f "$F"
	if cc -O1 -o "$OUT/nb_connect" "$INTEG_DIR/progs/nb_connect.c" 2>"$OUT/t5-nbc.cc"; then
		env -u LD_PRELOAD "$OUT/nb_connect" 0 | awk '{ print $1, $3 }' >"$OUT/t5-nbc.base"
		traced t5-nbc OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- "$OUT/nb_connect" 80
		expect_eq "5 non-blocking connects in C: results as without the library" \
			"$(cat "$OUT/t5-nbc.base")" "$(awk '{ print $1, $3 }' "$OUT/t5-nbc.out")" \
			"stderr: $(head -n 5 "$OUT/t5-nbc.err")"
		nbc_port() { awk -v n="$1" '$1 == n { print $2 }' "$OUT/t5-nbc.out"; }
		for sc in sockopt_ok again_ok write_first; do
			expect_count "5 non-blocking ($sc): one connect span, no error" 1 "$F" --name connect \
				--attr network.peer.port="$(nbc_port $sc)" --no-attr error.type
		done
		for sc in sockopt_refused again_refused; do
			expect_count "5 non-blocking ($sc): ERROR span, error.type=ECONNREFUSED" 1 "$F" \
				--name connect --status 2 --attr error.type=ECONNREFUSED \
				--attr network.peer.port="$(nbc_port $sc)"
		done
		expect_count "5 non-blocking (closed_early): the span ends at the close, status unset" 1 "$F" \
			--name connect --status 0 --attr network.peer.port="$(nbc_port closed_early)"
		short=$(spans dump "$F" --name connect | env -u LD_PRELOAD "$PY" -c '
import json, sys
print(sum(1 for l in sys.stdin if json.loads(l)["end"] - json.loads(l)["start"] < 80_000_000))')
		expect_eq "5 non-blocking: every connect span lasts until the program looked (>= 80 ms)" 0 "$short"
		expect_count "5 non-blocking: 4 bytes written after a connect and a close make no HTTP span" 0 "$F" \
			--kind 3 --name HTTP
	else
		not_ok "5 nb_connect.c compiles" "$(head -n 5 "$OUT/t5-nbc.cc")"
	fi

	F=$OUT/t5-udp.jsonl
	rm -f "$F"
	traced t5-udp OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- \
		"$PY" -c "$CONNECT_PY" udp 127.0.0.1 "$closed" "$RECEIVER_PORT"
	expect_count "5 UDP connect then TCP connect: only the TCP one makes a connect span" 1 "$F" \
		--name connect
	expect_count "5 UDP connect: no connect span to the UDP port" 0 "$F" \
		--name connect --attr network.peer.port="$closed"

	F=$OUT/t5-v6.jsonl
	rm -f "$F"
	traced t5-v6 OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- \
		"$PY" -c "$CONNECT_PY" refused ::1 "$closed"
	# Whatever the kernel says (ECONNREFUSED, or EADDRNOTAVAIL without IPv6),
	# the span says the same.
	v6=$(cat "$OUT/t5-v6.out")
	case $v6 in
	"ConnectionRefusedError 111") v6err=ECONNREFUSED ;;
	"OSError "*) v6err=${v6#OSError } ;;
	*) v6err="?" ;;
	esac
	expect_count "5 IPv6 connect (::1, $v6): ERROR span, network.type=ipv6, error.type=$v6err" 1 "$F" \
		--name connect --status 2 --attr network.type=ipv6 --attr network.peer.address=::1 \
		--attr network.peer.port="$closed" --attr error.type="$v6err"
	stop_receiver
else
	not_ok "5 connect: receiver started"
fi

###########################################################################
# 6. The collector fails: the exit stays bounded, one warning, own status.

EXIT7_PY='
import socket, sys
socket.getaddrinfo("localhost", None)
sys.exit(7)
'
# t6 NAME ENDPOINT: run the exit-7 program against ENDPOINT with a 1000 ms
# exit budget and assert status, warning count and elapsed time.
t6() {
	local name=$1 endpoint=$2 limit=2500
	traced "$name" OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=otlp \
		OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" OTELPRELOAD_EXIT_TIMEOUT_MS=1000 -- \
		"$PY" -c "$EXIT7_PY"
	expect_eq "6 $name: exit status is the program's own (7)" 7 "$RC" \
		"stderr: $(head -n 10 "$OUT/$name.err")"
	expect_eq "6 $name: exactly one otelpreload: warning line" 1 \
		"$(warn_lines "$OUT/$name.err")" "stderr:" "$(head -n 20 "$OUT/$name.err")"
	if [ "$ELAPSED_MS" -lt "$limit" ]; then
		ok "6 $name: exit took ${ELAPSED_MS} ms (< 1000 + 1500)"
	else
		not_ok "6 $name: exit bounded by OTELPRELOAD_EXIT_TIMEOUT_MS=1000 + 1.5 s" \
			"took ${ELAPSED_MS} ms"
	fi
}

t6 t6-down "http://127.0.0.1:$(free_port)"

if start_receiver t6-500 --responses 500; then
	t6 t6-500 "$RECEIVER_URL"
	expect_eq "6 t6-500: 500 is final: exactly 1 request, no retry" 1 "$(request_count)"
	expect_count "6 t6-500: the request carried the span" 1 "$RECEIVER_DIR" \
		--name getaddrinfo --attr dns.question.name=localhost
	stop_receiver
else
	not_ok "6 500: receiver started"
fi

if start_receiver t6-hang --hang; then
	t6 t6-hang "$RECEIVER_URL"
	stop_receiver
else
	not_ok "6 hang: receiver started"
fi

if start_receiver t6-reset --reset; then
	t6 t6-reset "$RECEIVER_URL"
	stop_receiver
else
	not_ok "6 reset: receiver started"
fi

###########################################################################
# 7. Retry on 503 / 429 honouring Retry-After.

t7() {
	local name=$1 first=$2 gap
	if ! start_receiver "$name" --responses "$first,200" --retry-after 1; then
		not_ok "7 $first: receiver started"
		return
	fi
	traced "$name" OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=otlp \
		OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" OTELPRELOAD_EXIT_TIMEOUT_MS=5000 -- \
		getent ahosts localhost
	same_as_base "7 $first then 200: getent unchanged" "$name"
	wait_for '[ "$(request_count)" -ge 2 ]' 3
	expect_eq "7 $first then 200: exactly 2 requests" 2 "$(request_count)" \
		"stderr: $(head -n 10 "$OUT/$name.err")"
	expect_count "7 $first then 200: the retry carries the getaddrinfo span" 1 "$RECEIVER_DIR" \
		--request 2 --name getaddrinfo --attr dns.question.name=localhost --res service.name=probe
	ids1=$(spans get "$RECEIVER_DIR" --request 1 --field spanId 2>&1 | sort | tr '\n' ' ')
	ids2=$(spans get "$RECEIVER_DIR" --request 2 --field spanId 2>&1 | sort | tr '\n' ' ')
	if [ -n "$ids1" ] && [ "$ids1" = "$ids2" ]; then
		ok "7 $first then 200: the retry re-sends the same spans"
	else
		not_ok "7 $first then 200: the retry re-sends the same spans" \
			"request 1 span ids: $ids1" "request 2 span ids: $ids2"
	fi
	gap=$(spans requests "$RECEIVER_DIR" --field time | awk 'NR == 1 { a = $1 } NR == 2 { printf "%.3f", $1 - a }')
	if [ -n "$gap" ] && awk -v g="$gap" 'BEGIN { exit !(g >= 0.8) }'; then
		ok "7 $first then 200: Retry-After: 1 honoured (${gap} s between requests)"
	else
		not_ok "7 $first then 200: Retry-After: 1 honoured (>= 0.8 s between requests)" \
			"gap: ${gap:-none} s"
	fi
	no_warning "7 $first then 200: no warning (the export succeeded)" "$name"
	stop_receiver
}

t7 t7-503 503
t7 t7-429 429

###########################################################################
# 8. fork: the child does not re-export the parent's queued spans.

F=$OUT/t8.jsonl
rm -f "$F"
# The child leaves with sys.exit() so that the atexit flush runs (os._exit
# skips atexit handlers, and would lose the child's spans by design). It
# looks up "LOCALHOST": a real name lookup (files match case-insensitively)
# that tells its span from the parent's; an IP literal such as 127.0.0.1
# makes no getaddrinfo span (hooks/dns.c), and ip6-localhost is not in every
# /etc/hosts.
traced t8 OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- "$PY" -c '
import os, socket, sys
socket.getaddrinfo("localhost", None)
pid = os.fork()
if pid == 0:
    socket.getaddrinfo("LOCALHOST", None)
    print("child", os.getpid(), flush=True)
    sys.exit(0)
_, status = os.waitpid(pid, 0)
print("parent", os.getpid(), status, flush=True)
'
ppid=$(awk '$1 == "parent" { print $2 }' "$OUT/t8.out")
cpid=$(awk '$1 == "child" { print $2 }' "$OUT/t8.out")
if [ -n "$ppid" ] && [ -n "$cpid" ] && grep -q "^parent $ppid 0\$" "$OUT/t8.out"; then
	ok "8 fork: parent and child ran and exited 0"
else
	not_ok "8 fork: parent and child ran and exited 0" "stdout: $(cat "$OUT/t8.out")" \
		"stderr: $(head -n 10 "$OUT/t8.err")"
fi
expect_count "8 fork: the parent's span exactly once" 1 "$F" --name getaddrinfo \
	--attr dns.question.name=localhost
expect_count "8 fork: ... exported by the parent (process.pid $ppid)" 1 "$F" --name getaddrinfo \
	--attr dns.question.name=localhost --res process.pid="${ppid:-none}"
expect_count "8 fork: the child's span exactly once, exported by the child (process.pid $cpid)" 1 "$F" \
	--name getaddrinfo --attr dns.question.name=LOCALHOST --res process.pid="${cpid:-none}"
total=$(spans count "$F" 2>/dev/null || echo error)
expect_eq "8 fork: all span ids distinct" "$total" "$(distinct "$F" spanId)"
expect_eq "8 fork: two batches' process.pid values" \
	"$(printf '%s\n' "$ppid" "$cpid" | sort -u | tr '\n' ' ')" \
	"$(spans get "$F" --field resource.process.pid | sort -u | tr '\n' ' ')"

###########################################################################
# 9. OTEL_SDK_DISABLED=true: the library stays out of the way entirely.

F=$OUT/t9.jsonl
rm -f "$F"
traced t9 OTEL_SDK_DISABLED=true OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- "$PY" -c '
import os, socket
socket.getaddrinfo("localhost", None)
print(len(os.listdir("/proc/self/task")))
'
expect_eq "9 OTEL_SDK_DISABLED=true: no thread started" 1 "$(cat "$OUT/t9.out")" \
	"stderr: $(head -n 5 "$OUT/t9.err")"
if [ ! -e "$F" ]; then
	ok "9 OTEL_SDK_DISABLED=true: no file written"
else
	not_ok "9 OTEL_SDK_DISABLED=true: no file written" "$(head -c 500 "$F")"
fi

###########################################################################
# 10. OTEL_TRACES_EXPORTER=none; invalid values warn once each.

F=$OUT/t10.jsonl
rm -f "$F"
traced t10-none OTEL_TRACES_EXPORTER=none OTELPRELOAD_FILE="$F" -- getent ahosts localhost
same_as_base "10 exporter none: getent unchanged" t10-none
expect_eq "10 exporter none: nothing on stderr" "" "$(cat "$OUT/t10-none.err")"
if [ ! -e "$F" ]; then
	ok "10 exporter none: no file written"
else
	not_ok "10 exporter none: no file written" "$(head -c 500 "$F")"
fi

F=$OUT/t10-garbage.jsonl
rm -f "$F"
traced t10-garbage OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
	OTEL_BSP_MAX_QUEUE_SIZE=abc OTEL_TRACES_SAMPLER=bogus -- getent ahosts localhost
same_as_base "10 invalid settings: getent unchanged" t10-garbage
w=$OUT/t10-garbage.err
if [ "$(warn_lines "$w")" -eq 2 ] &&
	[ "$(grep '^otelpreload:' "$w" | grep -c OTEL_BSP_MAX_QUEUE_SIZE)" -eq 1 ] &&
	[ "$(grep '^otelpreload:' "$w" | grep -c OTEL_TRACES_SAMPLER)" -eq 1 ]; then
	ok "10 invalid settings: one warning each, naming the variable"
else
	not_ok "10 invalid settings: one warning each (OTEL_BSP_MAX_QUEUE_SIZE, OTEL_TRACES_SAMPLER)" \
		"stderr:" "$(head -n 20 "$w")"
fi
expect_count "10 invalid settings: defaults used, the span is exported" 1 "$F" \
	--name getaddrinfo --attr dns.question.name=localhost

###########################################################################
# 11. Samplers.

# no_spans DESC FILE: FILE is absent, or holds no span.
no_spans() {
	local n
	if [ ! -e "$2" ]; then
		ok "$1"
		return
	fi
	n=$(spans count "$2" 2>&1)
	expect_eq "$1" 0 "$n"
}

F=$OUT/t11-off.jsonl
rm -f "$F"
traced t11-off OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" OTEL_TRACES_SAMPLER=always_off -- \
	getent ahosts localhost
same_as_base "11 always_off: getent unchanged" t11-off
no_spans "11 always_off: no spans exported" "$F"
no_warning "11 always_off: no warning" t11-off

F=$OUT/t11-pb.jsonl
rm -f "$F"
traced t11-pb OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
	OTEL_TRACES_SAMPLER=parentbased_always_on TRACEPARENT="00-$TP_TRACE-$TP_PARENT-00" -- \
	getent ahosts localhost
same_as_base "11 parentbased_always_on, unsampled parent: getent unchanged" t11-pb
no_spans "11 parentbased_always_on with TRACEPARENT flags 00: no spans exported" "$F"

###########################################################################
# 12. Eight processes append to one file at once.

F=$OUT/t12.jsonl
GO=$OUT/t12.go
rm -f "$F" "$GO"
NPROC=8
NLOOK=25
LOOKUP_PY='
import os, socket, sys, time
go, n = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 20
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.005)
for i in range(n):
    socket.getaddrinfo("localhost", 1000 + i)
print("done")
'
t12_pids=()
for ((i = 1; i <= NPROC; i++)); do
	env LD_PRELOAD="$PRELOAD" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
		OTEL_BSP_SCHEDULE_DELAY=5 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=3 \
		"$PY" -c "$LOOKUP_PY" "$GO" "$NLOOK" >"$OUT/t12-$i.out" 2>"$OUT/t12-$i.err" &
	t12_pids+=($!)
	track_pid "$!"
done
touch "$GO"
t12_bad=0
for pid in "${t12_pids[@]}"; do
	wait "$pid" || t12_bad=$((t12_bad + 1))
done
done_count=$(cat "$OUT"/t12-*.out | grep -c '^done$')
expect_eq "12 concurrent: all $NPROC processes ran and exited 0" "$NPROC 0" "$done_count $t12_bad" \
	"stderr: $(cat "$OUT"/t12-*.err | head -n 10)"
check "12 concurrent: every line is one complete OTLP/JSON request (shape check)" \
	spans check-json-shape "$F"
expect_count "12 concurrent: exactly $NPROC x $NLOOK getaddrinfo spans" $((NPROC * NLOOK)) "$F" \
	--name getaddrinfo --attr dns.question.name=localhost
expect_eq "12 concurrent: all span ids distinct" $((NPROC * NLOOK)) "$(distinct "$F" spanId)"
expect_eq "12 concurrent: spans from $NPROC processes" "$NPROC" "$(distinct "$F" resource.process.pid)"
maxper=$(spans get "$F" --field line | uniq -c | awk '$1 > m { m = $1 } END { print m + 0 }')
lines=$(grep -c . "$F" 2>/dev/null)
if [ "$maxper" -ge 1 ] && [ "$maxper" -le 3 ]; then
	ok "12 concurrent: OTEL_BSP_MAX_EXPORT_BATCH_SIZE=3 honoured ($lines lines, at most $maxper spans each)"
else
	not_ok "12 concurrent: OTEL_BSP_MAX_EXPORT_BATCH_SIZE=3 honoured (at most 3 spans per line)" \
		"largest line holds $maxper spans; $lines lines"
fi

finish
