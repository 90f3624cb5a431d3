#!/usr/bin/env bash
#
# bench_http.sh - HTTP figures for `make bench`: what the library costs a
# real server under keep-alive load, and what it costs a socket it must
# leave alone.
#
#   tests/bench/bench_http.sh [BUILD_DIR]        (default: build)
#
# Prints "key value" lines on stdout (progress and notes go to stderr; a
# figure that could not be measured is printed as "-"):
#
#   nginx_wrk_native_rps / nginx_wrk_lib100_rps / nginx_wrk_lib10_rps
#       nginx (Debian nginx-light, 1 worker, `return 204`) under
#       `wrk -t2 -c16 -d5s` keep-alive, requests/s, median of 3 runs taken
#       alternately (native, lib100, lib10, native, ...). lib100: the
#       library with every request sampled; lib10: traceidratio 0.1. Spans
#       go where a user sends them: OTLP/HTTP protobuf, default batching,
#       to a local sink that reads and discards the body and answers 200
#       (a collector that never becomes the bottleneck).
#   nginx_ratio_100 / nginx_ratio_10        lib rps / native rps
#   nginx_lib100_dropped_pct                spans the library reported as
#       dropped at exit, % of wrk's requests, over the lib100 runs
#   node_native_rps / node_lib_rps / node_sdk_rps
#       tests/interop/http_server.js (keep-alive, 200 "hello"): no tracing;
#       the library (OTLP to the sink, as above); the OpenTelemetry JS SDK's
#       http auto-instrumentation with a BatchSpanProcessor (the SDK's spans
#       serialised as JSON lines to a file: tests/interop/sdk_tracing.js).
#       Same wrk load, medians of 3 alternating runs.
#   node_ratio_lib / node_ratio_sdk        rps / native rps
#   passthrough_instructions_per_call
#       tests/bench/passthrough.c (64-byte binary ping-pong on TCP
#       loopback, send/recv then write/read: 8 calls per iteration) under
#       callgrind at N1 and N2 iterations, without and with the library:
#       ((Ir_lib(N2) - Ir_lib(N1)) - (Ir_nat(N2) - Ir_nat(N1))) / ((N2 - N1) * 8)
#       = instructions the library adds to one call on a non-HTTP socket,
#       start-up and teardown cancelled out. Target: <= 50. The native
#       baseline starts (and joins) one thread first, as the library's
#       exporter thread does, so both pay libc's multi-threaded cancellation
#       points and the figure is what the hooks add;
#   passthrough_vs_single_thread_instructions_per_call
#       the same against a single-threaded native run (adds ~30: libc's
#       cancellation points, switched on by any second thread);
#   passthrough_native_instructions_per_call   libc's own cost per call.
#
# Environment: BENCH_HTTP_RUNS (3), BENCH_HTTP_SECONDS (5) for the wrk
# runs; BENCH_HTTP_ONLY=nginx|node|passthrough runs one part.
# On 2 cores nothing is pinned; wrk keeps 2 threads and nginx 1 worker.
# Everything listens on 127.0.0.1 and every process started here is ended
# here, by pid.

set -uo pipefail
unset LD_PRELOAD

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
LIB=$BUILD/libotelpreload.so
OUT=$BUILD/bench/http
INTEROP=$ROOT/tests/interop
RUNS=${BENCH_HTTP_RUNS:-3}
SECS=${BENCH_HTTP_SECONDS:-5}
ONLY=${BENCH_HTTP_ONLY:-}
WRK_THREADS=2
WRK_CONNS=16
mkdir -p "$OUT"

for v in $(compgen -e); do
	case $v in OTEL_* | OTELPRELOAD_* | TRACEPARENT | TRACESTATE | BAGGAGE) unset "$v" ;; esac
done

note() { printf 'bench_http: %s\n' "$*" >&2; }
kv() { printf '%s %s\n' "$1" "$2"; }

if [ ! -f "$LIB" ]; then
	note "no $LIB (run make first)"
	exit 1
fi
"$INTEROP/setup.sh" >"$OUT/setup.log" 2>&1 || note "tests/interop/setup.sh failed (see $OUT/setup.log)"

PY=$(command -v python3)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

# wrk_rps URL LOG: requests/s of one wrk run (empty when it failed).
wrk_rps() {
	wrk -t$WRK_THREADS -c$WRK_CONNS -d"${SECS}s" "$1" >"$2" 2>&1
	if grep -q 'Non-2xx\|Socket errors' "$2"; then
		note "wrk reported errors: $(grep 'Non-2xx\|Socket errors' "$2")"
	fi
	awk '/^Requests\/sec:/ { printf "%d", $2 }' "$2"
}

# The OTLP sink (tests/bench/sink.c): a single-threaded epoll program that
# reads each request, discards the body and answers 200. It stands in for a
# collector on another machine, so it must cost next to no CPU here: a
# python sink took a sixth of nginx's throughput at 100% sampling on 2 cores.
# Never preloaded.
SINK_PID=
SINK_URL=
start_sink() {
	local pf=$OUT/sink.port
	rm -f "$pf"
	"${CC:-cc}" -O2 -o "$OUT/sink" "$ROOT/tests/bench/sink.c" || return 1
	env -u LD_PRELOAD "$OUT/sink" >"$pf" 2>"$OUT/sink.log" &
	SINK_PID=$!
	PIDS+=("$SINK_PID")
	wait_for "test -s '$pf'" 10 || return 1
	SINK_URL=http://127.0.0.1:$(head -n 1 "$pf")
}

###########################################################################
# nginx

NGINX_PID=
NGINX_PORT=
NGINX_DIR=
# start_nginx NAME [VAR=VALUE...]: preloaded when LD_PRELOAD is among them.
start_nginx() {
	local name=$1 user_line=
	shift
	NGINX_DIR=$OUT/$name
	rm -rf "$NGINX_DIR"
	mkdir -p "$NGINX_DIR/tmp" "$NGINX_DIR/www/static"
	NGINX_PORT=$(free_port)
	[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
	sed -e "s|@OUT@|$NGINX_DIR|g" -e "s|@PORT@|$NGINX_PORT|g" \
		-e "s|@BACKEND_PORT@|9|g" -e "s|@USER_LINE@|$user_line|" \
		"$INTEROP/nginx.conf.in" >"$NGINX_DIR/nginx.conf"
	env "$@" "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e stderr \
		>"$NGINX_DIR/stdout" 2>"$NGINX_DIR/stderr" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	wait_for "test -s '$NGINX_DIR/nginx.pid' && listening $NGINX_PORT" 10
}

# "otelpreload: N span(s) were dropped and M not exported before exit"
dropped_in() {
	sed -nE 's/.* ([0-9]+) span\(s\) were dropped and ([0-9]+) not exported.*/\1 \2/p' "$1" |
		awk '{ s += $1 + $2 } END { print s + 0 }'
}

bench_nginx() {
	local mode run rps req drop drops=0 reqs=0 env_lib
	if ! command -v wrk >/dev/null || ! [ -x "$NGINX" ]; then
		note "nginx or wrk missing: nginx figures skipped"
		for k in nginx_wrk_native_rps nginx_wrk_lib100_rps nginx_wrk_lib10_rps nginx_ratio_100 \
			nginx_ratio_10 nginx_lib100_dropped_pct; do kv "$k" -; done
		return
	fi
	env_lib=(LD_PRELOAD="$LIB" OTEL_SERVICE_NAME=nginx-bench OTEL_TRACES_EXPORTER=otlp
		OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_URL")
	: >"$OUT/nginx_native.rps"
	: >"$OUT/nginx_lib100.rps"
	: >"$OUT/nginx_lib10.rps"
	for ((run = 1; run <= RUNS; run++)); do
		for mode in native lib100 lib10; do
			case $mode in
			native) start_nginx "nginx-$mode-$run" ;;
			lib100) start_nginx "nginx-$mode-$run" "${env_lib[@]}" ;;
			lib10) start_nginx "nginx-$mode-$run" "${env_lib[@]}" \
				OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 ;;
			esac || { note "nginx ($mode) did not start: $(head -c 300 "$NGINX_DIR/stderr")"; continue; }
			rps=$(wrk_rps "http://127.0.0.1:$NGINX_PORT/empty" "$NGINX_DIR/wrk.out")
			stop "$NGINX_PID" QUIT
			[ -n "$rps" ] && echo "$rps" >>"$OUT/nginx_$mode.rps"
			note "nginx $mode run $run: ${rps:-failed} req/s"
			if [ "$mode" = lib100 ]; then
				req=$(awk '/requests in/ { print $1 }' "$NGINX_DIR/wrk.out")
				drop=$(dropped_in "$NGINX_DIR/stderr")
				reqs=$((reqs + ${req:-0}))
				drops=$((drops + drop))
			fi
			rm -rf "$NGINX_DIR/tmp"
		done
	done
	local nat l100 l10
	nat=$(median <"$OUT/nginx_native.rps")
	l100=$(median <"$OUT/nginx_lib100.rps")
	l10=$(median <"$OUT/nginx_lib10.rps")
	kv nginx_wrk_native_rps "$nat"
	kv nginx_wrk_lib100_rps "$l100"
	kv nginx_wrk_lib10_rps "$l10"
	kv nginx_ratio_100 "$(ratio "$nat" "$l100")"
	kv nginx_ratio_10 "$(ratio "$nat" "$l10")"
	kv nginx_lib100_dropped_pct "$(awk -v d="$drops" -v r="$reqs" \
		'BEGIN { if (r > 0) printf "%.2f", 100 * d / r; else print "-" }')"
}

###########################################################################
# node

NODE_PID=
NODE_PORT=
# start_node NAME [VAR=VALUE...] -- [node args...]
start_node() {
	local name=$1 envs=() pf
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	pf=$OUT/$name.port
	rm -f "$pf"
	env "${envs[@]}" node "$@" "$INTEROP/http_server.js" "$pf" >"$OUT/$name.out" 2>"$OUT/$name.err" &
	NODE_PID=$!
	PIDS+=("$NODE_PID")
	wait_for "test -s '$pf'" 10 || return 1
	NODE_PORT=$(cat "$pf")
}

bench_node() {
	local mode run rps
	if ! command -v wrk >/dev/null || ! command -v node >/dev/null ||
		[ ! -d "$INTEROP/node_modules/@opentelemetry/sdk-trace-node" ]; then
		note "node, wrk or the JS SDK missing: node figures skipped"
		for k in node_native_rps node_lib_rps node_sdk_rps node_ratio_lib node_ratio_sdk; do kv "$k" -; done
		return
	fi
	for mode in native lib sdk; do : >"$OUT/node_$mode.rps"; done
	for ((run = 1; run <= RUNS; run++)); do
		for mode in native lib sdk; do
			case $mode in
			native) start_node "node-$mode-$run" -- ;;
			lib) start_node "node-$mode-$run" LD_PRELOAD="$LIB" OTEL_SERVICE_NAME=node-bench \
				OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_URL" -- ;;
			sdk) rm -f "$OUT/node-sdk.jsonl"
				start_node "node-$mode-$run" OTEL_SERVICE_NAME=node-bench INTEROP_SDK_BATCH=1 \
				INTEROP_SDK_SPANS="$OUT/node-sdk.jsonl" -- -r "$INTEROP/sdk_tracing.js" ;;
			esac || { note "node ($mode) did not start: $(head -c 300 "$OUT/node-$mode-$run.err")"; continue; }
			rps=$(wrk_rps "http://127.0.0.1:$NODE_PORT/" "$OUT/node-$mode-$run.wrk")
			stop "$NODE_PID" TERM
			[ -n "$rps" ] && echo "$rps" >>"$OUT/node_$mode.rps"
			note "node $mode run $run: ${rps:-failed} req/s"
		done
	done
	rm -f "$OUT/node-sdk.jsonl"
	local nat lib sdk
	nat=$(median <"$OUT/node_native.rps")
	lib=$(median <"$OUT/node_lib.rps")
	sdk=$(median <"$OUT/node_sdk.rps")
	kv node_native_rps "$nat"
	kv node_lib_rps "$lib"
	kv node_sdk_rps "$sdk"
	kv node_ratio_lib "$(ratio "$nat" "$lib")"
	kv node_ratio_sdk "$(ratio "$nat" "$sdk")"
}

###########################################################################
# passthrough instructions per call (callgrind)

# ir N lib|native|mt: total instructions (Ir) callgrind counted for one run
# (mt: native, with libc in its multi-threaded mode; see passthrough.c).
ir() {
	local n=$1 mode=$2 f=$OUT/callgrind.$2.$1.out envs=() args=("$1")
	rm -f "$f"
	case $mode in
	lib) envs=(LD_PRELOAD="$LIB" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$OUT/passthrough.jsonl") ;;
	mt) args+=(mt) ;;
	esac
	env "${envs[@]}" valgrind --tool=callgrind --callgrind-out-file="$f" \
		"$OUT/passthrough" "${args[@]}" >"$OUT/callgrind.$mode.$n.log" 2>&1 || return 1
	awk '/^(summary|totals):/ { print $2; exit }' "$f"
}

# per_call A1 A2 B1 B2: ((B2 - B1) - (A2 - A1)) / ((N2 - N1) * calls)
per_call() {
	awk -v a1="$1" -v a2="$2" -v b1="$3" -v b2="$4" -v n1="$N1" -v n2="$N2" -v c="$CALLS" \
		'BEGIN { printf "%.1f", ((b2 - b1) - (a2 - a1)) / ((n2 - n1) * c) }'
}

N1=2000
N2=12000
CALLS=8
bench_passthrough() {
	local a1 a2 m1 m2 b1 b2
	if ! command -v valgrind >/dev/null; then
		note "valgrind missing: passthrough figures skipped"
		kv passthrough_instructions_per_call -
		kv passthrough_vs_single_thread_instructions_per_call -
		return
	fi
	if ! ${CC:-gcc} -std=gnu11 -O2 -g -pthread "$ROOT/tests/bench/passthrough.c" \
		-o "$OUT/passthrough"; then
		kv passthrough_instructions_per_call -
		kv passthrough_vs_single_thread_instructions_per_call -
		return
	fi
	if ! { a1=$(ir $N1 native) && a2=$(ir $N2 native) && m1=$(ir $N1 mt) &&
		m2=$(ir $N2 mt) && b1=$(ir $N1 lib) && b2=$(ir $N2 lib); }; then
		note "callgrind failed: $(tail -n 5 "$OUT"/callgrind.*.log)"
		kv passthrough_instructions_per_call -
		kv passthrough_vs_single_thread_instructions_per_call -
		return
	fi
	note "callgrind Ir: native $N1=$a1 $N2=$a2; native+thread $N1=$m1 $N2=$m2; lib $N1=$b1 $N2=$b2"
	# What the hooks add to a call on a non-HTTP socket (both sides in
	# libc's multi-threaded mode: the exporter thread makes it so anyway).
	kv passthrough_instructions_per_call "$(per_call "$m1" "$m2" "$b1" "$b2")"
	# The same against a single-threaded native process: adds the cost of
	# the libc cancellation points that any second thread switches on.
	kv passthrough_vs_single_thread_instructions_per_call "$(per_call "$a1" "$a2" "$b1" "$b2")"
	kv passthrough_native_instructions_per_call "$(per_call 0 0 "$a1" "$a2")"
}

###########################################################################

case ${ONLY:-all} in
all | nginx | node)
	if ! start_sink; then
		note "the OTLP sink did not start: $(cat "$OUT/sink.log")"
		exit 1
	fi
	note "OTLP sink at $SINK_URL"
	;;
esac
case ${ONLY:-all} in all | nginx) bench_nginx ;; esac
case ${ONLY:-all} in all | node) bench_node ;; esac
case ${ONLY:-all} in all | passthrough) bench_passthrough ;; esac
[ -n "$SINK_PID" ] && stop "$SINK_PID" TERM
exit 0
