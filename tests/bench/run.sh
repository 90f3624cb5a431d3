#!/usr/bin/env bash
# make bench: figures measured in one run, each a ratio against the same
# work without the library where there is a "without". Prints a table.
set -euo pipefail
BUILD=${1:-build}
LIB=$(cd "$BUILD" && pwd)/libotelpreload.so
OUT=$BUILD/bench
mkdir -p "$OUT"
CC=${CC:-gcc}
CF="-std=gnu11 -D_GNU_SOURCE -O2 -g"

$CC $CF tests/bench/spawn_bench.c -o "$OUT/spawn_bench"
$CC $CF tests/bench/bench_span.c "$BUILD/libcore.a" -ldl -lpthread -lm -o "$OUT/bench_span"
if [ -f tests/bench/bench_encode.c ]; then
	$CC $CF tests/bench/bench_encode.c "$BUILD/libcore.a" -ldl -lpthread -lm -o "$OUT/bench_encode"
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo

# Start-up of /bin/true, alternating runs, medians.
"$OUT/spawn_bench" "$LIB" "${BENCH_STARTUP_RUNS:-500}" /bin/true > "$OUT/startup.txt"

# RSS of an idle traced process (no span made): sleep, read its VmRSS.
rss() {
	local pid kb
	env "$@" sleep 2 & pid=$!
	kb=
	# Read it once sleep itself runs (env, preloaded too, comes first) and
	# has settled: the library mapped when it is preloaded.
	for _ in $(seq 1 50); do
		if [ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ] &&
			{ [ "$#" -eq 0 ] || grep -q libotelpreload /proc/$pid/maps 2>/dev/null; }; then
			sleep 0.2
			kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || true)
			break
		fi
		sleep 0.02
	done
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
	echo "${kb:-0}"
}
rss_native=$(rss)
rss_pre=$(rss LD_PRELOAD="$LIB")

"$OUT/bench_span" > "$OUT/span.txt"
if [ -x "$OUT/bench_encode" ]; then "$OUT/bench_encode" > "$OUT/encode.txt"; else : > "$OUT/encode.txt"; fi
# HTTP: nginx and node under wrk, pass-through instructions (callgrind).
bash tests/bench/bench_http.sh "$BUILD" 2>"$OUT/http.log" | grep -E '^[a-z0-9_]+ [0-9.]+$' > "$OUT/http.txt" || true

# PostgreSQL: PQexec("SELECT 1") round trips/s over the Unix socket of a
# private server (tests/integration/pg_lib.sh, never preloaded), without and
# with the library, alternating, median of 5 runs of 20000 each; spans go to
# the OTLP sink (tests/bench/sink.c). Skipped when PostgreSQL is missing.
# Then the same with OTELPRELOAD_CODE_ATTRIBUTES=true (a stack walk per
# query span for code.function.name: runtime/stack.c), keys pq_code_*.
: > "$OUT/pq.txt"
# pq_rows OUTDIR: the figures as "key value" lines (a subshell: its EXIT
# trap stops the server and the sink).
pq_rows() (
	set +eu
	PG_OUT=$1
	mkdir -p "$PG_OUT"
	. tests/integration/pg_lib.sh
	pg_start || { echo "pq bench: $PG_ERROR" >&2; exit 1; }
	env -u LD_PRELOAD "$PG_OUT/../pq_sink" >"$PG_OUT/sink.port" 2>/dev/null &
	sink=$!
	trap 'kill $sink 2>/dev/null; wait $sink 2>/dev/null; pg_stop' EXIT
	wait_for "test -s '$PG_OUT/sink.port'" 10 || exit 1
	env OTEL_TRACES_EXPORTER=otlp OTEL_SERVICE_NAME=pq-bench \
		OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(head -n 1 "$PG_OUT/sink.port")" \
		timeout 300 "$PG_OUT/../pq_bench" "$LIB" "$PG_DSN_UNIX" 5 20000 || exit 1
	env OTEL_TRACES_EXPORTER=otlp OTEL_SERVICE_NAME=pq-bench OTELPRELOAD_CODE_ATTRIBUTES=true \
		OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(head -n 1 "$PG_OUT/sink.port")" \
		timeout 300 "$PG_OUT/../pq_bench" "$LIB" "$PG_DSN_UNIX" 5 20000 | sed 's/^pq_/pq_code_/'
)
PG_INC=$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
if [ -f "$PG_INC/libpq-fe.h" ] && $CC $CF tests/bench/pq_bench.c -I"$PG_INC" -lpq -o "$OUT/pq_bench" &&
	$CC -O2 tests/bench/sink.c -o "$OUT/pq_sink"; then
	pq_rows "$(cd "$OUT" && pwd)/pq" > "$OUT/pq.txt" 2> "$OUT/pq.log" || : > "$OUT/pq.txt"
fi

# libcurl: the curl command per run and per transfer (bench_curl.sh).
bash tests/bench/bench_curl.sh "$BUILD" 2>"$OUT/curl.log" | grep -E '^[a-z0-9_]+ [0-9.-]+$' > "$OUT/curl.txt" || true

val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
printf '%-52s %14s %14s %10s\n' "figure" "without" "with" "ratio"
printf '%-52s %14s %14s %10s\n' "/bin/true start-up, median us (500 runs each)" \
	"$(val startup_native_us_median "$OUT/startup.txt")" "$(val startup_preload_us_median "$OUT/startup.txt")" \
	"$(val startup_ratio "$OUT/startup.txt")"
printf '%-52s %14s %14s %10s\n' "idle process RSS, KiB" "$rss_native" "$rss_pre" \
	"$(awk -v a="$rss_native" -v b="$rss_pre" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "-" }')"
printf '%-52s %14s %14s %10s\n' "span start->enqueue on the app thread, ns median" "-" \
	"$(val span_start_to_enqueue_ns_median "$OUT/span.txt")" "-"
printf '%-52s %14s %14s %10s\n' "span start->enqueue, ns p99" "-" \
	"$(val span_start_to_enqueue_ns_p99 "$OUT/span.txt")" "-"
if [ -s "$OUT/encode.txt" ]; then
	while read -r k v; do
		printf '%-52s %14s %14s %10s\n' "$k" "-" "$v" "-"
	done < "$OUT/encode.txt"
fi
if [ -s "$OUT/pq.txt" ]; then
	printf '%-52s %14s %14s %10s\n' 'PQexec("SELECT 1") round trips/s, Unix socket' \
		"$(val pq_native_rps_median "$OUT/pq.txt")" "$(val pq_preload_rps_median "$OUT/pq.txt")" \
		"$(val pq_ratio "$OUT/pq.txt")"
	if [ -n "$(val pq_code_ratio "$OUT/pq.txt")" ]; then
		printf '%-52s %14s %14s %10s\n' "  same, OTELPRELOAD_CODE_ATTRIBUTES=true" \
			"$(val pq_code_native_rps_median "$OUT/pq.txt")" \
			"$(val pq_code_preload_rps_median "$OUT/pq.txt")" "$(val pq_code_ratio "$OUT/pq.txt")"
	fi
else
	echo "(PQexec figures: see $OUT/pq.log)"
fi
if [ -s "$OUT/curl.txt" ]; then
	printf '%-52s %14s %14s %10s\n' "curl command runs/s (one transfer each)" \
		"$(val curl_native_runs_per_s "$OUT/curl.txt")" "$(val curl_lib_runs_per_s "$OUT/curl.txt")" \
		"$(val curl_ratio "$OUT/curl.txt")"
	printf '%-52s %14s %14s %10s\n' "  same, OTEL_SDK_DISABLED=true (preload start-up)" \
		"$(val curl_native_runs_per_s "$OUT/curl.txt")" "$(val curl_disabled_runs_per_s "$OUT/curl.txt")" \
		"$(val curl_ratio_disabled "$OUT/curl.txt")"
	printf '%-52s %14s %14s %10s\n' "curl transfers/s, 200 in one process" \
		"$(val curl_transfers_native_per_s "$OUT/curl.txt")" "$(val curl_transfers_lib_per_s "$OUT/curl.txt")" \
		"$(val curl_transfers_ratio "$OUT/curl.txt")"
else
	echo "(curl figures: see $OUT/curl.log)"
fi
h() { val "$1" "$OUT/http.txt"; }
if [ -s "$OUT/http.txt" ]; then
	printf '%-52s %14s %14s %10s\n' "nginx + wrk keep-alive, req/s, 100% sampling" \
		"$(h nginx_wrk_native_rps)" "$(h nginx_wrk_lib100_rps)" "$(h nginx_ratio_100)"
	printf '%-52s %14s %14s %10s\n' "nginx + wrk keep-alive, req/s, 10% sampling" \
		"$(h nginx_wrk_native_rps)" "$(h nginx_wrk_lib10_rps)" "$(h nginx_ratio_10)"
	printf '%-52s %14s %14s %10s\n' "node http server + wrk, req/s, library" \
		"$(h node_native_rps)" "$(h node_lib_rps)" "$(h node_ratio_lib)"
	printf '%-52s %14s %14s %10s\n' "node http server + wrk, req/s, OTel JS SDK instead" \
		"$(h node_native_rps)" "$(h node_sdk_rps)" "$(h node_ratio_sdk)"
	printf '%-52s %14s %14s %10s\n' "send/recv on a non-HTTP socket, instructions/call" \
		"$(h passthrough_native_instructions_per_call)" "+$(h passthrough_instructions_per_call)" "-"
else
	echo "(HTTP figures: see $OUT/http.log)"
fi
