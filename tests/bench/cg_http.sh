#!/usr/bin/env bash
#
# cg_http.sh - instructions the library adds to one HTTP request served by
# nginx, counted by callgrind (reproducible, unlike wall-clock figures on a
# shared machine).
#
#   tests/bench/cg_http.sh [BUILD_DIR]          (default: build)
#
# nginx (Debian nginx-light; tests/interop/nginx.conf.in with master_process
# off: one process serves, so callgrind sees all of it) runs under
# `valgrind --tool=callgrind` three ways: native; with the library,
# every request sampled (the default parentbased_always_on: the requests
# carry no traceparent); with the library and OTEL_TRACES_SAMPLER=always_off.
# The library exports nowhere (OTEL_TRACES_EXPORTER=none: the exporter thread
# still drains the queue and returns span records to the pool, but the
# encoders and transports, not the request path, are left out); a fourth
# way, lib_otlp, exports OTLP/HTTP protobuf to tests/bench/sink.c as
# `make bench` does, so the exporter thread's share (encoding, libcurl) is
# counted too: on two cores it competes with the program for CPU. A small
# client sends N keep-alive requests on one connection, each
# "GET /empty HTTP/1.1" + Host (what wrk sends), answered by `return 204`.
# Each way runs at N1 and N2 requests; start-up and shutdown cancel out:
#
#   per request = (Ir(N2) - Ir(N1)) / (N2 - N1)
#
# Prints "key value" lines on stdout:
#   cg_native_ir_per_req, cg_lib_ir_per_req, cg_lib_off_ir_per_req,
#   cg_lib_otlp_ir_per_req
#   cg_lib_added_ir_per_req, cg_lib_off_added_ir_per_req,
#   cg_lib_otlp_added_ir_per_req   (minus native)
# The callgrind files stay in BUILD/bench/cg/callgrind.MODE.N.out for
# callgrind_annotate (--inclusive=yes, --tree=caller).
#
# Environment: CG_N1 (1000), CG_N2 (3000), CG_ONLY=native|lib|lib_off|lib_otlp
# (one way only), CG_EXTRA_ENV ("VAR=VALUE ..." added to the library's runs),
# CG_VALGRIND_ARGS (more callgrind options, e.g. --dump-instr=yes or
# --cache-sim=yes; the figures printed are Ir either way).
# Everything listens on 127.0.0.1; every process started here is stopped
# here, by pid; every wait is bounded.

set -uo pipefail
unset LD_PRELOAD

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
LIB=$BUILD/libotelpreload.so
OUT=$BUILD/bench/cg
N1=${CG_N1:-1000}
N2=${CG_N2:-3000}
ONLY=${CG_ONLY:-}
mkdir -p "$OUT"

for v in $(compgen -e); do
	case $v in OTEL_* | OTELPRELOAD_* | TRACEPARENT | TRACESTATE | BAGGAGE) unset "$v" ;; esac
done

note() { printf 'cg_http: %s\n' "$*" >&2; }
kv() { printf '%s %s\n' "$1" "$2"; }

[ -f "$LIB" ] || { note "no $LIB (run make first)"; exit 1; }
command -v valgrind >/dev/null || { note "valgrind missing"; exit 1; }
PY=$(command -v python3)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { note "nginx missing"; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

# The client: N keep-alive requests on one connection, each answer read to
# the end of its head (a 204 has no body). Exits non-zero on anything odd.
CLIENT=$OUT/client.py
cat >"$CLIENT" <<'EOF'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
req = ("GET /empty HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port).encode()
s = socket.create_connection(("127.0.0.1", port), timeout=60)
buf = b""
for i in range(n):
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("connection closed after %d responses" % i)
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 204"):
        sys.exit("unexpected response: %r" % head[:80])
s.close()
EOF

# ir MODE N: total instructions callgrind counted for nginx serving N
# requests in MODE (native, lib, lib_off).
ir() {
	local mode=$1 n=$2 dir=$OUT/$1.$2 port pid envs=() f i
	f=$OUT/callgrind.$mode.$n.out
	rm -rf "$dir" "$f"
	mkdir -p "$dir/tmp" "$dir/www"
	port=$(free_port)
	sed -e "s|@OUT@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@BACKEND_PORT@|9|g" \
		-e "s|@USER_LINE@||" -e 's|^master_process on;|master_process off;|' \
		"$ROOT/tests/interop/nginx.conf.in" >"$dir/nginx.conf"
	case $mode in
	lib) envs=(LD_PRELOAD="$LIB" OTEL_SERVICE_NAME=cg OTEL_TRACES_EXPORTER=none ${CG_EXTRA_ENV:-}) ;;
	lib_off) envs=(LD_PRELOAD="$LIB" OTEL_SERVICE_NAME=cg OTEL_TRACES_EXPORTER=none
		OTEL_TRACES_SAMPLER=always_off ${CG_EXTRA_ENV:-}) ;;
	lib_otlp) envs=(LD_PRELOAD="$LIB" OTEL_SERVICE_NAME=cg OTEL_TRACES_EXPORTER=otlp
		OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_URL" ${CG_EXTRA_ENV:-}) ;;
	esac
	env "${envs[@]}" valgrind --tool=callgrind ${CG_VALGRIND_ARGS:-} --callgrind-out-file="$f" \
		"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e stderr >"$dir/stdout" 2>"$dir/stderr" &
	pid=$!
	PIDS+=("$pid")
	if ! wait_for "listening $port" 60; then
		note "nginx ($mode) did not start: $(tail -n 3 "$dir/stderr")"
		return 1
	fi
	if ! "$PY" "$CLIENT" "$port" "$n" 2>"$dir/client.err"; then
		note "client ($mode, $n) failed: $(cat "$dir/client.err")"
		kill -KILL "$pid" 2>/dev/null
		return 1
	fi
	kill -QUIT "$pid" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		note "nginx ($mode) did not exit"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	awk '/^(summary|totals):/ { print $2; exit }' "$f"
}

per_req() {
	awk -v a="$1" -v b="$2" -v n1="$N1" -v n2="$N2" 'BEGIN { printf "%.0f", (b - a) / (n2 - n1) }'
}

# The OTLP sink for lib_otlp (never under callgrind, never preloaded).
SINK_URL=
start_sink() {
	local pf=$OUT/sink.port
	rm -f "$pf"
	"${CC:-cc}" -O2 -o "$OUT/sink" "$ROOT/tests/bench/sink.c" || return 1
	env -u LD_PRELOAD "$OUT/sink" >"$pf" 2>"$OUT/sink.log" &
	PIDS+=($!)
	wait_for "test -s '$pf'" 10 || return 1
	SINK_URL=http://127.0.0.1:$(head -n 1 "$pf")
}

declare -A PER
for mode in native lib lib_off lib_otlp; do
	[ -n "$ONLY" ] && [ "$ONLY" != "$mode" ] && continue
	if [ "$mode" = lib_otlp ] && ! start_sink; then
		note "the OTLP sink did not start"
		kv cg_lib_otlp_ir_per_req -
		continue
	fi
	a=$(ir "$mode" "$N1") && b=$(ir "$mode" "$N2") || { kv "cg_${mode}_ir_per_req" -; continue; }
	note "$mode: Ir($N1)=$a Ir($N2)=$b"
	PER[$mode]=$(per_req "$a" "$b")
	kv "cg_${mode}_ir_per_req" "${PER[$mode]}"
done
if [ -n "${PER[native]:-}" ]; then
	[ -n "${PER[lib]:-}" ] && kv cg_lib_added_ir_per_req $((PER[lib] - PER[native]))
	[ -n "${PER[lib_off]:-}" ] && kv cg_lib_off_added_ir_per_req $((PER[lib_off] - PER[native]))
	[ -n "${PER[lib_otlp]:-}" ] && kv cg_lib_otlp_added_ir_per_req $((PER[lib_otlp] - PER[native]))
fi
exit 0
