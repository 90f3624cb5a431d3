#!/usr/bin/env bash
#
# bench_curl.sh - what the library costs a short-lived libcurl program: runs
# per second of the unmodified curl command fetching a small static file from
# a local nginx (Debian nginx-light, tests/interop/nginx.conf.in,
# /static/index.html: 200, 28 bytes), one process per request.
#
#   tests/bench/bench_curl.sh [BUILD_DIR]        (default: build)
#
# Prints "key value" lines on stdout (progress and notes on stderr; a figure
# that could not be measured is "-"):
#
#   curl_native_runs_per_s     without the library
#   curl_lib_runs_per_s        LD_PRELOAD, every transfer sampled, spans sent
#                              as OTLP/HTTP protobuf to a local sink
#                              (tests/bench/sink.c, compiled here): the
#                              span, the export and the flush at exit
#   curl_disabled_runs_per_s   LD_PRELOAD with OTEL_SDK_DISABLED=true: the
#                              start-up cost of the preload alone
#   curl_ratio / curl_ratio_disabled          lib (disabled) / native
#   curl_lib_extra_us_per_run / curl_disabled_extra_us_per_run
#                              1e6/runs_per_s difference against native
#   curl_lib_warnings          "otelpreload:" lines on curl's stderr over
#                              all lib runs (dropped spans, export errors)
#   curl_transfers_native_per_s / curl_transfers_lib_per_s / curl_transfers_ratio
#                              one curl process making BENCH_CURL_TRANSFERS
#                              (200) transfers over a keep-alive connection:
#                              the per-transfer cost with the fixed
#                              per-process costs spread out
#
# Method: BENCH_CURL_BATCHES (5) rounds; each round runs one batch of
# BENCH_CURL_RUNS (200) sequential `curl -s -o /dev/null URL` per mode,
# alternating native, lib, disabled, so machine noise hits all three alike
# (after an uncounted warm-up batch of 20 runs per mode);
# each figure is the median over the rounds. The loop is the same shell loop
# in every mode (the variables are exported in a subshell, no extra exec).
# Bounded: every curl has --max-time 5, every batch stops after 60 s (the
# figure is then "-"). Everything listens on 127.0.0.1; every process
# started here is ended here, by pid. Nothing but curl is preloaded.

# shellcheck disable=SC2317  # cleanup and listening are called through trap and eval
set -uo pipefail
unset LD_PRELOAD

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
LIB=$BUILD/libotelpreload.so
OUT=$BUILD/bench/curl
BATCHES=${BENCH_CURL_BATCHES:-5}
RUNS=${BENCH_CURL_RUNS:-200}
BATCH_LIMIT_MS=60000
mkdir -p "$OUT"

for v in $(compgen -e); do
	case $v in OTEL_* | OTELPRELOAD_* | TRACEPARENT | TRACESTATE | BAGGAGE) unset "$v" ;; esac
done

note() { printf 'bench_curl: %s\n' "$*" >&2; }
kv() { printf '%s %s\n' "$1" "$2"; }
KEYS=(curl_native_runs_per_s curl_lib_runs_per_s curl_disabled_runs_per_s curl_ratio
	curl_ratio_disabled curl_lib_extra_us_per_run curl_disabled_extra_us_per_run curl_lib_warnings
	curl_transfers_native_per_s curl_transfers_lib_per_s curl_transfers_ratio)
all_dash() {
	local k
	for k in "${KEYS[@]}"; do kv "$k" -; done
}

if [ ! -f "$LIB" ]; then
	note "no $LIB (run make first)"
	all_dash
	exit 1
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PY=$(command -v python3)
if ! command -v curl >/dev/null || [ ! -x "$NGINX" ] || [ -z "$PY" ]; then
	note "curl, nginx (nginx-light) or python3 missing"
	all_dash
	exit 1
fi

. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

# extra_us NATIVE OTHER: microseconds per run that OTHER adds.
extra_us() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && a + 0 > 0 && b != "-" && b + 0 > 0) printf "%.0f", 1e6 / b - 1e6 / a; else print "-" }'
}

# --- the OTLP sink (never preloaded)
if ! "${CC:-cc}" -O2 -o "$OUT/sink" "$ROOT/tests/bench/sink.c" 2>"$OUT/sink-cc.log"; then
	note "sink.c did not compile: $(head -c 300 "$OUT/sink-cc.log")"
	all_dash
	exit 1
fi
rm -f "$OUT/sink.port"
env -u LD_PRELOAD "$OUT/sink" >"$OUT/sink.port" 2>"$OUT/sink.log" &
SINK_PID=$!
PIDS+=("$SINK_PID")
if ! wait_for "test -s '$OUT/sink.port'" 10; then
	note "the OTLP sink did not start: $(cat "$OUT/sink.log")"
	all_dash
	exit 1
fi
SINK_URL=http://127.0.0.1:$(head -n 1 "$OUT/sink.port")

# --- nginx (never preloaded), one worker, static file
NGINX_DIR=$OUT/nginx
rm -rf "$NGINX_DIR"
mkdir -p "$NGINX_DIR/tmp" "$NGINX_DIR/www/static"
printf 'static file served by nginx\n' >"$NGINX_DIR/www/static/index.html"
NGINX_PORT=$(free_port)
user_line=
[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
sed -e "s|@OUT@|$NGINX_DIR|g" -e "s|@PORT@|$NGINX_PORT|g" \
	-e "s|@BACKEND_PORT@|9|g" -e "s|@USER_LINE@|$user_line|" \
	"$ROOT/tests/interop/nginx.conf.in" >"$NGINX_DIR/nginx.conf"
env -u LD_PRELOAD "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e stderr \
	>"$NGINX_DIR/stdout" 2>"$NGINX_DIR/stderr" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
if ! wait_for "test -s '$NGINX_DIR/nginx.pid' && listening $NGINX_PORT" 10; then
	note "nginx did not start: $(head -c 300 "$NGINX_DIR/stderr")"
	all_dash
	exit 1
fi
URL=http://127.0.0.1:$NGINX_PORT/static/index.html
got=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$URL")
if [ "$got" != 200 ]; then
	note "nginx answered '$got' to $URL, not 200"
	all_dash
	exit 1
fi

# One control run with the file exporter: the preloaded curl makes its span.
rm -f "$OUT/control.jsonl"
env LD_PRELOAD="$LIB" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$OUT/control.jsonl" \
	curl -s --max-time 5 -o /dev/null "$URL"
if grep -q '"http.request.method"' "$OUT/control.jsonl" 2>/dev/null; then
	note "control: the preloaded curl exported its HTTP CLIENT span"
else
	note "control: no HTTP CLIENT span from the preloaded curl (hooks missing?)"
fi

# batch MODE: RUNS curl runs; prints "runs_per_s failures" ("- N" when
# the batch hit its time limit).
batch() (
	local mode=$1 t0 t1 i fails=0
	case $mode in
	lib) export LD_PRELOAD="$LIB" OTEL_SERVICE_NAME=curl-bench OTEL_TRACES_EXPORTER=otlp \
		OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_URL" ;;
	disabled) export LD_PRELOAD="$LIB" OTEL_SDK_DISABLED=true OTEL_SERVICE_NAME=curl-bench \
		OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_URL" ;;
	esac
	t0=$(now_ms)
	for ((i = 0; i < RUNS; i++)); do
		curl -s --max-time 5 -o /dev/null "$URL" 2>>"$OUT/$mode.stderr" || fails=$((fails + 1))
		if [ $((i % 20)) -eq 19 ] && [ $(($(now_ms) - t0)) -gt "$BATCH_LIMIT_MS" ]; then
			echo "- $fails"
			return
		fi
	done
	t1=$(now_ms)
	awk -v n="$RUNS" -v ms=$((t1 - t0)) -v f="$fails" 'BEGIN { printf "%.1f %d\n", n * 1000 / (ms > 0 ? ms : 1), f }'
)

for m in native lib disabled; do
	: >"$OUT/$m.rps"
	: >"$OUT/$m.stderr"
done
# Warm-up (not counted): page cache, nginx's first connections, the sink.
for m in native lib disabled; do
	RUNS=20 batch "$m" >/dev/null
done
: >"$OUT/lib.stderr"
for ((b = 1; b <= BATCHES; b++)); do
	for m in native lib disabled; do
		read -r rps fails < <(batch "$m")
		note "round $b $m: ${rps:--} runs/s ($RUNS runs, $fails failed)"
		if [ "${fails:-1}" -ne 0 ] || [ "${rps:--}" = - ]; then
			note "round $b $m: not counted"
			continue
		fi
		echo "$rps" >>"$OUT/$m.rps"
	done
done
# Per transfer, the fixed per-process costs (start-up, the export at exit)
# spread out: one curl process fetching the file TRANSFERS times over one
# keep-alive connection (a -K config of url/output pairs), native and lib
# alternating, median of BATCHES.
TRANSFERS=${BENCH_CURL_TRANSFERS:-200}
: >"$OUT/many.cfg"
for ((i = 0; i < TRANSFERS; i++)); do
	printf 'url = "%s"\noutput = "/dev/null"\n' "$URL" >>"$OUT/many.cfg"
done
many() (
	local t0 t1
	[ "$1" = lib ] && export LD_PRELOAD="$LIB" OTEL_SERVICE_NAME=curl-bench \
		OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_URL"
	t0=$(now_ms)
	curl -s --max-time 30 -K "$OUT/many.cfg" 2>>"$OUT/many-$1.stderr" || { echo -; return; }
	t1=$(now_ms)
	awk -v n="$TRANSFERS" -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f\n", n * 1000 / (ms > 0 ? ms : 1) }'
)
: >"$OUT/many-native.tps"
: >"$OUT/many-lib.tps"
many native >/dev/null
many lib >/dev/null
for ((b = 1; b <= BATCHES; b++)); do
	for m in native lib; do
		tps=$(many "$m")
		note "one process, $TRANSFERS transfers, round $b $m: $tps transfers/s"
		[ "$tps" != - ] && echo "$tps" >>"$OUT/many-$m.tps"
	done
done
stop "$NGINX_PID" QUIT
stop "$SINK_PID" TERM
many_nat=$(median <"$OUT/many-native.tps")
many_lib=$(median <"$OUT/many-lib.tps")
kv curl_transfers_native_per_s "$many_nat"
kv curl_transfers_lib_per_s "$many_lib"
kv curl_transfers_ratio "$(ratio "$many_nat" "$many_lib")"

nat=$(median <"$OUT/native.rps")
lib=$(median <"$OUT/lib.rps")
dis=$(median <"$OUT/disabled.rps")
kv curl_native_runs_per_s "$nat"
kv curl_lib_runs_per_s "$lib"
kv curl_ratio "$(ratio "$nat" "$lib")"
kv curl_disabled_runs_per_s "$dis"
kv curl_ratio_disabled "$(ratio "$nat" "$dis")"
kv curl_lib_extra_us_per_run "$(extra_us "$nat" "$lib")"
kv curl_disabled_extra_us_per_run "$(extra_us "$nat" "$dis")"
kv curl_lib_warnings "$(grep -c '^otelpreload:' "$OUT/lib.stderr")"
exit 0
