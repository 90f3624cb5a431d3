#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $ belongs to wait_for / python
#
# test_interop.sh - otelpreload against real servers and against the
# OpenTelemetry JS SDK: unmodified nginx (Debian's nginx-light), a plain
# node http server, python3's http.server/http.client, and node programs
# instrumented by @opentelemetry/sdk-trace-node + instrumentation-http
# (tests/interop). The library is preloaded only into the program under
# test; curl, wrk and the SDK peers run without it. Spans come back from the
# file exporter; the SDK's own spans from tests/interop/sdk_tracing.js's
# JSON-lines exporter.
#
#  1 nginx: static file (write and sendfile), return 204, return 404, a
#    keep-alive pair, proxy_pass to a preloaded python backend:
#    nginx SERVER -> nginx CLIENT -> backend SERVER
#  2 nginx under wrk keep-alive load: spans + reported drops = requests
#  3 a plain node http server: one SERVER span per request, keep-alive
#  4 JS SDK interop: (a) SDK client -> library server, (b) library client
#    -> SDK server: one trace, the right parent on each side
#
# Run by tests/run-tests.sh with LIB and OUT set. Installs what it needs
# (tests/interop/setup.sh) when missing.

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$INTEG_DIR/../.." && pwd)
INTEROP=$ROOT/tests/interop

if [ ! -f "$LIB" ]; then
	not_ok "library built" "no $LIB"
	finish
fi

if ! "$INTEROP/setup.sh" >"$OUT/setup.log" 2>&1; then
	echo "# tests/interop/setup.sh failed:" && sed 's/^/#   /' "$OUT/setup.log" | tail -n 20
fi
HAVE_NGINX=1
HAVE_WRK=1
HAVE_NODE=1
HAVE_SDK=1
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || HAVE_NGINX=0
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v wrk >/dev/null 2>&1 || HAVE_WRK=0
command -v node >/dev/null 2>&1 || HAVE_NODE=0
[ -d "$INTEROP/node_modules/@opentelemetry/sdk-trace-node" ] || HAVE_SDK=0
missing=$(require curl "$PY" ss) || {
	skip "interop suite" "$missing not installed"
	finish
}

# ---------------------------------------------------------------------------
# helpers

# wait_port PORT TIMEOUT: something listens on 127.0.0.1:PORT.
wait_port() {
	wait_for "ss -Hltn 'sport = :$1' | grep -q ." "$2"
}

# wait_exit PID TIMEOUT: PID (our child) has exited; reaps it. 1 on timeout.
wait_exit() {
	local pid=$1
	if wait_for "! kill -0 $pid 2>/dev/null || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]" "$2"; then
		wait "$pid" 2>/dev/null
		return 0
	fi
	return 1
}

# port_of FILE: the port a server wrote to FILE (waits up to 10 s for it).
port_of() {
	wait_for "test -s '$1'" 10 && cat "$1"
}

# start_py NAME SPANS_FILE: the python backend, preloaded, service NAME.
# Sets PY_PID PY_PORT; headers it received go to $OUT/NAME.headers.
start_py() {
	local name=$1 file=$2
	rm -f "$OUT/$name.port" "$OUT/$name.headers"
	env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME="$name" OTEL_TRACES_EXPORTER=file \
		OTELPRELOAD_FILE="$file" OTEL_BSP_SCHEDULE_DELAY=200 \
		"$PY" "$INTEROP/py_server.py" "$OUT/$name.port" "$OUT/$name.headers" \
		>"$OUT/$name.out" 2>"$OUT/$name.err" &
	PY_PID=$!
	track_pid "$PY_PID"
	PY_PORT=$(port_of "$OUT/$name.port") || PY_PORT=
	[ -n "$PY_PORT" ]
}

# stop_term PID: SIGTERM and wait (10 s) for a clean exit (spans flushed).
stop_term() {
	kill -TERM "$1" 2>/dev/null
	wait_exit "$1" 10 || end_pid "$1"
}

# start_nginx NAME BACKEND_PORT [VAR=VALUE...]: nginx from
# tests/interop/nginx.conf.in under $OUT/NAME, preloaded with the given
# variables. Sets NGINX_PID NGINX_PORT NGINX_DIR. 1 when it does not listen.
start_nginx() {
	local name=$1 backend=$2 user_line=
	shift 2
	NGINX_DIR=$OUT/$name
	rm -rf "$NGINX_DIR"
	mkdir -p "$NGINX_DIR/tmp" "$NGINX_DIR/www/static"
	printf 'static file served by nginx\n' >"$NGINX_DIR/www/static/index.html"
	NGINX_PORT=$(free_port)
	# a master started as root switches its worker to "nobody" unless told
	[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
	sed -e "s|@OUT@|$NGINX_DIR|g" -e "s|@PORT@|$NGINX_PORT|g" \
		-e "s|@BACKEND_PORT@|$backend|g" -e "s|@USER_LINE@|$user_line|" \
		"$INTEROP/nginx.conf.in" >"$NGINX_DIR/nginx.conf"
	env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME=nginx "$@" \
		"$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e stderr \
		>"$NGINX_DIR/stdout" 2>"$NGINX_DIR/stderr" &
	NGINX_PID=$!
	track_pid "$NGINX_PID"
	wait_for "test -s '$NGINX_DIR/nginx.pid'" 10 && wait_port "$NGINX_PORT" 10
}

# stop_nginx: graceful stop (SIGQUIT to the master), wait for the exit.
stop_nginx() {
	kill -QUIT "$NGINX_PID" 2>/dev/null
	wait_exit "$NGINX_PID" 15 || end_pid "$NGINX_PID"
}

# sdk FILE [--kind K] [--field F]: fields of the JS SDK's spans (JSON
# lines written by tests/interop/sdk_tracing.js), one per line.
sdk() {
	env -u LD_PRELOAD "$PY" - "$@" <<'PYEOF'
import json, sys
args = sys.argv[1:]
path, kind, field = args[0], None, None
i = 1
while i < len(args):
    if args[i] == "--kind":
        kind = int(args[i + 1]); i += 2
    elif args[i] == "--field":
        field = args[i + 1]; i += 2
    else:
        sys.exit("sdk: unknown argument " + args[i])
try:
    lines = open(path).read().splitlines()
except OSError as e:
    sys.exit("sdk: %s" % e)
for line in lines:
    if not line.strip():
        continue
    sp = json.loads(line)
    if kind is not None and sp["kind"] != kind:
        continue
    if field is None:
        print(json.dumps(sp, sort_keys=True))
    else:
        v = sp
        for part in field.split(".", 1) if field.startswith("attributes.") else [field]:
            v = v.get(part, "") if isinstance(v, dict) else ""
        print(v)
PYEOF
}

# span_field SRC FIELD [filters...]: the FIELD of the single span matching.
span_field() {
	local src=$1 field=$2
	shift 2
	spans get "$src" --field "$field" "$@" 2>/dev/null | head -n 1
}

# trace_flags OTLP_FLAGS: the W3C trace-flags byte (the low 8 bits of an
# OTLP span's flags) as two hex digits, "??" when unknown.
trace_flags() {
	case $1 in
	'' | *[!0-9]*) echo "??" ;;
	*) printf '%02x' $(($1 & 255)) ;;
	esac
}

# no_warning DESC FILE: FILE has no "otelpreload:" line.
no_warning() {
	if [ "$(warn_lines "$2")" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1" "$(grep '^otelpreload:' "$2" | head -n 5)"
	fi
}

###########################################################################
# 1. nginx serving static files, return, and proxy_pass to python.

t1() {
	local F=$OUT/t1.jsonl base sid cid ctid cflags got want codes
	rm -f "$F"
	if ! start_py t1-backend "$F"; then
		not_ok "1 nginx: python backend started" "$(cat "$OUT/t1-backend.err")"
		return
	fi
	if ! start_nginx t1-nginx "$PY_PORT" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
		OTEL_BSP_SCHEDULE_DELAY=200; then
		not_ok "1 nginx: started preloaded, listening" "$(cat "$NGINX_DIR/stderr")"
		stop_term "$PY_PID"
		return
	fi
	ok "1 nginx: started preloaded (master + 1 worker), listening on 127.0.0.1:$NGINX_PORT"
	base=http://127.0.0.1:$NGINX_PORT

	# One connection per request (separate curl runs), then a keep-alive pair.
	codes=""
	for path in /static/index.html /sf/index.html /empty /missing /api/hello; do
		got=$(curl -s -o "$OUT/t1-body$(tr / _ <<<"$path")" -w '%{http_code}' "$base$path")
		codes="$codes $got"
	done
	got=$(curl -s -o /dev/null -o /dev/null -w '%{http_code}%{num_connects} ' \
		"$base/empty?ka=1" "$base/missing?ka=2")
	codes="$codes $got"
	expect_eq "1 nginx: curl got 200 200 204 404 200, keep-alive pair 204 404 on one connection" \
		" 200 200 204 404 200 2041 4040 " "$codes" "nginx stderr: $(head -n 5 "$NGINX_DIR/stderr")"
	expect_eq "1 nginx: static bodies unchanged (write and sendfile)" \
		"static file served by nginx|static file served by nginx" \
		"$(cat "$OUT/t1-body_static_index.html")|$(cat "$OUT/t1-body_sf_index.html")"
	expect_eq "1 nginx: proxied body unchanged" "hello from python /api/hello" \
		"$(cat "$OUT/t1-body_api_hello")"

	stop_nginx
	stop_term "$PY_PID"
	no_warning "1 nginx: no otelpreload: warning from nginx" "$NGINX_DIR/stderr"
	no_warning "1 nginx: no otelpreload: warning from the backend" "$OUT/t1-backend.err"

	expect_count "1 nginx: 7 SERVER spans, one per request" 7 "$F" --kind 2 --res service.name=nginx
	expect_count "1 nginx: static (write): SERVER GET /static/index.html 200, url.scheme http" 1 "$F" \
		--kind 2 --res service.name=nginx --name GET --attr http.request.method=GET \
		--attr url.path=/static/index.html --attr http.response.status_code=200 --attr url.scheme=http
	expect_count "1 nginx: static (sendfile body): SERVER /sf/index.html 200" 1 "$F" \
		--kind 2 --res service.name=nginx --attr url.path=/sf/index.html \
		--attr http.response.status_code=200
	expect_count "1 nginx: return 204: SERVER /empty 204" 1 "$F" --kind 2 --res service.name=nginx \
		--attr url.path=/empty --attr http.response.status_code=204 --no-attr url.query
	expect_count "1 nginx: return 404: SERVER /missing 404, status unset (4xx on a server)" 1 "$F" \
		--kind 2 --res service.name=nginx --attr url.path=/missing --attr http.response.status_code=404 \
		--status 0 --no-attr url.query
	expect_count "1 nginx: keep-alive: /empty url.query=ka=1 204" 1 "$F" --kind 2 \
		--res service.name=nginx --attr url.path=/empty --attr url.query=ka=1 \
		--attr http.response.status_code=204
	expect_count "1 nginx: keep-alive: /missing url.query=ka=2 404" 1 "$F" --kind 2 \
		--res service.name=nginx --attr url.path=/missing --attr url.query=ka=2 \
		--attr http.response.status_code=404
	expect_eq "1 nginx: the keep-alive pair: one client port, two span ids" "1 2" \
		"$({ spans get "$F" --field attributes.network.peer.port --kind 2 --attr url.query=ka=1
			spans get "$F" --field attributes.network.peer.port --kind 2 --attr url.query=ka=2; } \
			2>/dev/null | sort -u | grep -c .) $({ spans get "$F" --field spanId --kind 2 \
			--attr url.query=ka=1; spans get "$F" --field spanId --kind 2 --attr url.query=ka=2; } \
			2>/dev/null | sort -u | grep -c .)"

	# The proxied request: nginx SERVER -> nginx CLIENT -> backend SERVER.
	expect_count "1 proxy: nginx SERVER /api/hello 200" 1 "$F" --kind 2 --res service.name=nginx \
		--attr url.path=/api/hello --attr http.response.status_code=200
	sid=$(span_field "$F" spanId --kind 2 --res service.name=nginx --attr url.path=/api/hello)
	ctid=$(span_field "$F" traceId --kind 2 --res service.name=nginx --attr url.path=/api/hello)
	expect_count "1 proxy: nginx CLIENT span GET, 200, peer port $PY_PORT" 1 "$F" --kind 3 \
		--res service.name=nginx --name GET --attr http.request.method=GET \
		--attr http.response.status_code=200 --attr network.peer.port="$PY_PORT"
	expect_count "1 proxy: nginx CLIENT GET is the child of nginx SERVER /api/hello (same trace)" 1 "$F" \
		--kind 3 --name GET --res service.name=nginx --trace "${ctid:-none}" --parent "${sid:-none}"
	cid=$(span_field "$F" spanId --kind 3 --name GET --res service.name=nginx \
		--attr network.peer.port="$PY_PORT")
	cflags=$(span_field "$F" flags --kind 3 --name GET --res service.name=nginx \
		--attr network.peer.port="$PY_PORT")
	expect_count "1 proxy: backend SERVER /api/hello is the child of nginx CLIENT (same trace)" 1 "$F" \
		--kind 2 --res service.name=t1-backend --attr url.path=/api/hello \
		--attr http.response.status_code=200 --trace "${ctid:-none}" --parent "${cid:-none}"
	expect_count "1 proxy: the backend made exactly one SERVER span" 1 "$F" --kind 2 \
		--res service.name=t1-backend
	want="GET /api/hello 00-${ctid:-none}-${cid:-none}-$(trace_flags "$cflags")"
	expect_eq "1 proxy: the backend received traceparent = nginx CLIENT span (its trace flags)" \
		"$want" "$(cat "$OUT/t1-backend.headers" 2>/dev/null)"
	expect_eq "1 proxy: the trace holds the 3 HTTP spans (SERVER, CLIENT, backend SERVER)" 3 \
		"$(spans count "$F" --trace "${ctid:-none}" --name GET 2>/dev/null)"
}

###########################################################################
# 2. nginx under wrk: every request accounted for.

t2() {
	local F=$OUT/t2.jsonl req n n204 dropped lost conns=16 warn
	rm -f "$F"
	if ! start_nginx t2-nginx 9 OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" \
		OTEL_BSP_MAX_QUEUE_SIZE=65536 OTEL_BSP_SCHEDULE_DELAY=200; then
		not_ok "2 wrk: nginx started" "$(cat "$NGINX_DIR/stderr")"
		return
	fi
	wrk -t2 -c$conns -d5s "http://127.0.0.1:$NGINX_PORT/empty" >"$OUT/t2-wrk.out" 2>&1
	req=$(awk '/requests in/ { print $1 }' "$OUT/t2-wrk.out")
	stop_nginx
	if [ -z "$req" ] || [ "$req" -lt 1000 ]; then
		not_ok "2 wrk: wrk ran (at least 1000 requests)" "$(cat "$OUT/t2-wrk.out")"
		return
	fi
	ok "2 wrk: wrk -t2 -c$conns -d5s completed $req requests"
	if grep -q 'Non-2xx' "$OUT/t2-wrk.out"; then
		not_ok "2 wrk: wrk saw only 2xx responses" "$(cat "$OUT/t2-wrk.out")"
	else
		ok "2 wrk: wrk saw only 2xx responses"
	fi
	n=$(spans count "$F" --kind 2 2>/dev/null) || n=0
	n204=$(spans count "$F" --kind 2 --attr http.response.status_code=204 --attr url.path=/empty \
		2>/dev/null) || n204=0
	# "otelpreload: N span(s) were dropped and M not exported before exit"
	warn=$(grep '^otelpreload:' "$NGINX_DIR/stderr" | head -n 3)
	dropped=$(sed -nE 's/.* ([0-9]+) span\(s\) were dropped and ([0-9]+) not exported.*/\1 \2/p' \
		<<<"$warn" | awk '{ s += $1 + $2 } END { print s + 0 }')
	lost=$((n + dropped))
	# wrk counts completed responses; up to one request per connection may
	# have been served after wrk stopped counting.
	if [ "$lost" -ge "$req" ] && [ "$lost" -le $((req + conns)) ]; then
		ok "2 wrk: SERVER spans ($n) + reported drops ($dropped) = wrk's requests ($req, +$conns in flight)"
	else
		not_ok "2 wrk: SERVER spans + reported drops = wrk's requests" \
			"spans $n, drops $dropped, wrk requests $req" "stderr: $warn"
	fi
	if [ "$n" -gt 0 ] && [ "$n" = "$n204" ]; then
		ok "2 wrk: every SERVER span ($n) is GET /empty with status 204"
	else
		not_ok "2 wrk: every SERVER span is GET /empty with status 204" "spans $n, of which 204: $n204"
	fi
	if [ "$n" -gt 0 ] && [ "$n" = "$(distinct "$F" spanId --kind 2)" ]; then
		ok "2 wrk: no span id reused"
	else
		not_ok "2 wrk: no span id reused" "spans $n, distinct ids $(distinct "$F" spanId --kind 2)"
	fi
}

###########################################################################
# 3. A plain node http server (no SDK), keep-alive client.

t3() {
	local F=$OUT/t3.jsonl pid port paths=() i out ports
	rm -f "$F" "$OUT/t3.port"
	env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME=node-plain OTEL_TRACES_EXPORTER=file \
		OTELPRELOAD_FILE="$F" OTEL_BSP_SCHEDULE_DELAY=200 \
		node "$INTEROP/http_server.js" "$OUT/t3.port" >"$OUT/t3-node.out" 2>"$OUT/t3-node.err" &
	pid=$!
	track_pid "$pid"
	if ! port=$(port_of "$OUT/t3.port"); then
		not_ok "3 node: plain http server started preloaded" "$(cat "$OUT/t3-node.err")"
		return
	fi
	for ((i = 0; i < 16; i++)); do paths+=("/item/$i"); done
	paths+=(/status/204 /status/404 /status/500 /status/201)
	env -u LD_PRELOAD "$PY" "$INTEROP/py_client.py" 127.0.0.1 "$port" "${paths[@]}" \
		>"$OUT/t3-client.out" 2>"$OUT/t3-client.err"
	out=$(awk '{ print $1 }' "$OUT/t3-client.out" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
	ports=$(awk '{ print $2 }' "$OUT/t3-client.out" | sort -u | grep -c .)
	expect_eq "3 node: 20 responses (16x200 201 204 404 500) on one keep-alive connection" \
		"200:16 201:1 204:1 404:1 500:1 |1" "$out|$ports" "$(cat "$OUT/t3-client.err")"
	stop_term "$pid"
	no_warning "3 node: no otelpreload: warning" "$OUT/t3-node.err"
	expect_count "3 node: 20 SERVER spans" 20 "$F" --kind 2 --res service.name=node-plain
	expect_eq "3 node: 20 distinct span ids (never reused on keep-alive)" 20 \
		"$(distinct "$F" spanId --kind 2)"
	expect_count "3 node: 16 x GET /item/N 200" 16 "$F" --kind 2 --name GET \
		--attr http.response.status_code=200
	expect_count "3 node: /item/7 has its own span with url.path" 1 "$F" --kind 2 \
		--attr url.path=/item/7 --attr http.response.status_code=200
	expect_count "3 node: /status/204 -> 204" 1 "$F" --kind 2 --attr url.path=/status/204 \
		--attr http.response.status_code=204
	expect_count "3 node: /status/201 -> 201" 1 "$F" --kind 2 --attr url.path=/status/201 \
		--attr http.response.status_code=201
	expect_count "3 node: /status/404 -> 404, status unset" 1 "$F" --kind 2 \
		--attr url.path=/status/404 --attr http.response.status_code=404 --status 0
	expect_count "3 node: /status/500 -> 500, status ERROR, error.type 500" 1 "$F" --kind 2 \
		--attr url.path=/status/500 --attr http.response.status_code=500 --status 2 \
		--attr error.type=500
	expect_eq "3 node: one client connection seen (one network.peer.port)" 1 \
		"$(distinct "$F" attributes.network.peer.port --kind 2)"
}

###########################################################################
# 4. The OpenTelemetry JS SDK on the other end.

t4a() {
	local F=$OUT/t4a.jsonl S=$OUT/t4a-sdk.jsonl tids sids i bad=0 tid sid
	rm -f "$F" "$S"
	if ! start_py t4a-server "$F"; then
		not_ok "4a SDK client -> library server: python server started" "$(cat "$OUT/t4a-server.err")"
		return
	fi
	env -u LD_PRELOAD INTEROP_SDK_SPANS="$S" OTEL_SERVICE_NAME=sdk-client \
		node -r "$INTEROP/sdk_tracing.js" "$INTEROP/sdk_client.js" \
		"http://127.0.0.1:$PY_PORT/from-sdk?x=1" 2 >"$OUT/t4a-client.out" 2>"$OUT/t4a-client.err"
	expect_eq "4a SDK client: two responses 200" "status 200 hello from python /from-sdk?x=1
status 200 hello from python /from-sdk?x=1" "$(cat "$OUT/t4a-client.out")" \
		"$(cat "$OUT/t4a-client.err")"
	stop_term "$PY_PID"
	tids=$(sdk "$S" --kind 3 --field traceId)
	sids=$(sdk "$S" --kind 3 --field spanId)
	expect_eq "4a SDK client: the SDK exported 2 CLIENT spans (JSON lines exporter)" 2 \
		"$(grep -c . <<<"$sids")" "$(head -c 600 "$S" 2>/dev/null)"
	expect_count "4a library server: 2 SERVER spans /from-sdk, query x=1" 2 "$F" --kind 2 \
		--attr url.path=/from-sdk --attr url.query=x=1 --attr http.response.status_code=200
	for ((i = 1; i <= 2; i++)); do
		tid=$(sed -n "${i}p" <<<"$tids")
		sid=$(sed -n "${i}p" <<<"$sids")
		[ "$(spans count "$F" --kind 2 --trace "${tid:-none}" --parent "${sid:-none}" \
			2>/dev/null)" = 1 ] || bad=$((bad + 1))
	done
	if [ "$bad" -eq 0 ] && [ -n "$tids" ]; then
		ok "4a each library SERVER span: traceId = SDK CLIENT traceId, parentSpanId = its spanId"
	else
		not_ok "4a each library SERVER span: traceId = SDK CLIENT traceId, parentSpanId = its spanId" \
			"SDK client spans:" "$(sdk "$S" --kind 3)" "library spans:" \
			"$(spans dump "$F" --kind 2 2>&1 | head -n 4)"
	fi
	expect_eq "4a python received the SDK's traceparent unchanged (no second one)" \
		"$(for ((i = 1; i <= 2; i++)); do
			echo "GET /from-sdk?x=1 00-$(sed -n "${i}p" <<<"$tids")-$(sed -n "${i}p" <<<"$sids")-01"
		done)" "$(cat "$OUT/t4a-server.headers" 2>/dev/null)"
}

t4b() {
	local F=$OUT/t4b.jsonl S=$OUT/t4b-sdk.jsonl H=$OUT/t4b.headers pid port cids ctids cflags bad=0 i
	rm -f "$F" "$S" "$H" "$OUT/t4b.port"
	env -u LD_PRELOAD INTEROP_SDK_SPANS="$S" INTEROP_HEADERS_LOG="$H" OTEL_SERVICE_NAME=sdk-server \
		node -r "$INTEROP/sdk_tracing.js" "$INTEROP/http_server.js" "$OUT/t4b.port" \
		>"$OUT/t4b-node.out" 2>"$OUT/t4b-node.err" &
	pid=$!
	track_pid "$pid"
	if ! port=$(port_of "$OUT/t4b.port"); then
		not_ok "4b SDK server started" "$(cat "$OUT/t4b-node.err")"
		return
	fi
	traced t4b-client OTEL_SERVICE_NAME=lib-client OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- \
		"$PY" "$INTEROP/py_client.py" 127.0.0.1 "$port" /to-sdk/1 /to-sdk/2
	expect_eq "4b library client (python http.client): two responses 200, one connection" "200 200 |1" \
		"$(awk '{ printf "%s ", $1 }' "$OUT/t4b-client.out")|$(awk '{ print $2 }' \
			"$OUT/t4b-client.out" | sort -u | grep -c .)" "$(cat "$OUT/t4b-client.err")"
	no_warning "4b library client: no otelpreload: warning" "$OUT/t4b-client.err"
	stop_term "$pid"
	expect_count "4b library client: 2 CLIENT GET spans, 200" 2 "$F" --kind 3 --name GET \
		--attr http.response.status_code=200 --attr network.peer.port="$port"
	cids=$(spans get "$F" --field spanId --kind 3 --name GET 2>/dev/null)
	ctids=$(spans get "$F" --field traceId --kind 3 --name GET 2>/dev/null)
	cflags=$(spans get "$F" --field flags --kind 3 --name GET 2>/dev/null)
	expect_eq "4b SDK server: 2 SERVER spans exported" 2 "$(sdk "$S" --kind 2 --field spanId | grep -c .)" \
		"$(head -c 600 "$S" 2>/dev/null)" "$(cat "$OUT/t4b-node.err")"
	for ((i = 1; i <= 2; i++)); do
		sdk "$S" --kind 2 | grep -F "\"parentSpanId\": \"$(sed -n "${i}p" <<<"$cids")\"" |
			grep -qF "\"traceId\": \"$(sed -n "${i}p" <<<"$ctids")\"" || bad=$((bad + 1))
	done
	if [ "$bad" -eq 0 ] && [ -n "$cids" ]; then
		ok "4b each SDK SERVER span: parentSpanId = library CLIENT spanId, same traceId"
	else
		not_ok "4b each SDK SERVER span: parentSpanId = library CLIENT spanId, same traceId" \
			"library CLIENT spans: $cids / $ctids" "SDK spans:" "$(sdk "$S" --kind 2)"
	fi
	expect_eq "4b the SDK server received the library's traceparent (its ids and trace flags)" \
		"$(for ((i = 1; i <= 2; i++)); do
			echo "GET /to-sdk/$i 00-$(sed -n "${i}p" <<<"$ctids")-$(sed -n "${i}p" <<<"$cids")-$(
				trace_flags "$(sed -n "${i}p" <<<"$cflags")")"
		done)" "$(cat "$H" 2>/dev/null)"
}

if [ "$HAVE_NGINX" -eq 1 ]; then
	t1
	if [ "$HAVE_WRK" -eq 1 ]; then t2; else skip "2 nginx under wrk" "wrk could not be installed"; fi
else
	skip "1 nginx" "nginx-light could not be installed"
	skip "2 nginx under wrk" "nginx-light could not be installed"
fi
if [ "$HAVE_NODE" -eq 1 ]; then t3; else skip "3 plain node server" "node could not be installed"; fi
if [ "$HAVE_NODE" -eq 1 ] && [ "$HAVE_SDK" -eq 1 ]; then
	t4a
	t4b
else
	skip "4 JS SDK interop" "node or the @opentelemetry packages could not be installed"
fi

finish
