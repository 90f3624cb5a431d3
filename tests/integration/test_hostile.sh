#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $ belongs to wait_for
#
# test_hostile.sh - programs that are hard on an in-process tracer: they
# close every fd, take a signal every millisecond, run 200 threads, fork,
# exec, spawn and daemonize. The library must not change what they see
# and must still trace them.
#
# Run by tests/run-tests.sh with LIB and OUT set; prints "ok - ..." /
# "not ok - ..." lines and exits 1 when any failed. C programs in progs/
# are compiled here with cc; the span checks are progs/hostile_check.py.
#
#  1 closing every fd while the exporter has a request in flight
#    (progs/closefd.c; collector answers 500 ms late): close(3..1023),
#    close_range(3, ~0U, 0), closefrom(3), then the freed numbers are taken
#    again at once (socketpairs with a marker in each end; or HTTP
#    connections). Asserts: every fd the program made is still its own
#    (same inode), holds exactly its marker, nothing foreign was read from
#    or written into it; no byte of the exporter's reached the program's
#    backend; spans from before and after the close-all are exported; the
#    program exits 0. (With an exporter sharing the program's fd table,
#    libcurl closed two of the program's new fds -- its wake-up pair -- and
#    read the marker out of a third.) Run twice more (close_range, and HTTP
#    connections) under progs/nounshare.c, a seccomp filter that refuses
#    unshare and pidfd_getfd like a container's default profile: the
#    exporter then shares the program's table and must still keep off the
#    program's fds.
#  2 a 1 ms SIGALRM whose handler writes to a watched TCP socket, during
#    6000 HTTP requests (progs/sigprog.c, no SA_RESTART: EINTR everywhere):
#    same stdout with and without the library (answers exact, no anomaly,
#    errno untouched by a successful write in the handler, every handler
#    byte received), no hang (timeout 60 s), one CLIENT and one SERVER span
#    per request with the right parent, the right number of connect spans.
#  3 200 threads on one listener, each serving fronts that call a back on
#    the same server (progs/pool_server.c), 2000 fronts from 100 parallel
#    clients (progs/loadgen.c, not preloaded): every answer exact, (nearly)
#    every thread both served and called, 4 x 2000 spans with every back
#    call the child of the front its thread serves.
#  4 process chains while serving one request (progs/chain.c): fork (the
#    child's span exported by the child, under the server span), fork+exec
#    and an exec from the exec'd image (TRACEPARENT), vfork+exec,
#    posix_spawn (documented as unseen: a trace of its own), daemon()
#    (spans made just before it are flushed; the daemon's spans are
#    exported, under the server span).

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PROGS=$INTEG_DIR/progs
missing=$(require cc "$PY" curl) || {
	skip "hostile programs suite" "$missing not installed"
	exit 0
}
BIN=$OUT/bin
mkdir -p "$BIN"
for p in closefd sigprog pool_server chain loadgen nounshare; do
	if ! cc -std=gnu11 -O2 -Wall -Wextra -Werror "$PROGS/$p.c" -o "$BIN/$p" -lpthread \
		2>"$OUT/cc-$p.err"; then
		not_ok "$p.c compiles" "$(cat "$OUT/cc-$p.err")"
		finish
	fi
done
# hcheck ARGS...: run the checker and count its "ok -" / "not ok -" lines
# here (its "#" lines are the details of the "not ok" before them).
hcheck() {
	local line desc="" details=() out
	out=$(env -u LD_PRELOAD "$PY" "$PROGS/hostile_check.py" "$@" 2>&1)
	flush_not_ok() {
		[ -n "$desc" ] && not_ok "$desc" "${details[@]}"
		desc=
		details=()
	}
	while IFS= read -r line; do
		case $line in
		"ok - "*) flush_not_ok; ok "${line#ok - }" ;;
		"not ok - "*) flush_not_ok; desc=${line#not ok - } ;;
		"#"*) details+=("${line#\#   }") ;;
		*) flush_not_ok; not_ok "hostile_check.py $1: unexpected output" "$line" ;;
		esac
	done <<<"$out"
	flush_not_ok
}

# A recording backend for the programs' HTTP calls (never preloaded).
BACKEND_DIR=$OUT/backend
mkdir -p "$BACKEND_DIR"
env -u LD_PRELOAD "$PY" "$PROGS/recorder.py" --dir "$BACKEND_DIR" --port-file "$OUT/backend.port" \
	2>"$OUT/backend.log" &
track_pid $!
if ! wait_for "test -s '$OUT/backend.port'" 10; then
	not_ok "backend started" "$(cat "$OUT/backend.log")"
	finish
fi
BACKEND=$(cat "$OUT/backend.port")

###########################################################################
# 1. Closing every fd while the exporter has a request in flight.

# The container case: a seccomp filter refusing unshare and pidfd_getfd
# (as Docker's default profile does) keeps the exporter in the program's
# fd table; its sockets are then guarded instead (runtime/exfd.h).
"$BIN/nounshare" true 2>/dev/null && shared=(shared-range shared-tcp) || shared=()
for mode in loop range from tcp "${shared[@]}"; do
	name=t1-$mode
	wrap=()
	case $mode in shared-*) wrap=("$BIN/nounshare") ;; esac
	if ! start_receiver "$name" --delay-ms 500; then
		not_ok "1 $mode: receiver started"
		continue
	fi
	traced "$name" OTEL_SERVICE_NAME=closer OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" \
		OTEL_BSP_SCHEDULE_DELAY=50 OTELPRELOAD_EXIT_TIMEOUT_MS=3000 -- \
		timeout 60 "${wrap[@]}" "$BIN/closefd" "${mode#shared-}" "$BACKEND" "$RECEIVER_DIR"
	desc="1 $mode: every fd the program took back after closing all is intact ($(grep -E '^(held|intact)' "$OUT/$name.out" | tr '\n' ' '))"
	if [ "$RC" = 0 ] && grep -q '^result ok$' "$OUT/$name.out"; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $RC" "stdout: $(cat "$OUT/$name.out")" \
			"stderr: $(head -n 5 "$OUT/$name.err")"
	fi
	hcheck closefd "$RECEIVER_DIR" "1 $mode"
	stop_receiver
done
[ "${#shared[@]}" -gt 0 ] || skip "1 shared fd table (seccomp refusing unshare)" "seccomp filter unavailable"
# Nothing of an exporter's request ever reached a program connection.
foreign=$(grep -l -a -E 'POST /v1/traces|otelpreload/' "$BACKEND_DIR"/*.bin 2>/dev/null | wc -l)
expect_eq "1 no byte of the exporter's reached the program's connections" 0 "$foreign"

###########################################################################
# 2. A 1 ms timer signal whose handler writes to a socket, during HTTP.

REQS=6000
env -u LD_PRELOAD timeout 60 "$BIN/sigprog" "$REQS" >"$OUT/t2-native.out" 2>"$OUT/t2-native.err"
nrc=$?
rm -f "$OUT/t2.jsonl"
traced t2 OTEL_SERVICE_NAME=sig OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$OUT/t2.jsonl" \
	OTEL_BSP_MAX_QUEUE_SIZE=32768 -- timeout 60 "$BIN/sigprog" "$REQS"
echo "# 2 native: $(cat "$OUT/t2-native.err"); traced: $(grep -v '^otelpreload' "$OUT/t2.err")"
if [ "$nrc" = 0 ] && [ "$RC" = 0 ] && cmp -s "$OUT/t2-native.out" "$OUT/t2.out"; then
	ok "2 signals: same output with and without the library, exit 0 ($(head -n 1 "$OUT/t2.out"), ${ELAPSED_MS} ms)"
else
	not_ok "2 signals: same output with and without the library, exit 0" \
		"native (exit $nrc): $(cat "$OUT/t2-native.out")" "traced (exit $RC): $(cat "$OUT/t2.out")" \
		"stderr: $(head -n 5 "$OUT/t2.err")"
fi
expect_eq "2 signals: no otelpreload: line" 0 "$(warn_lines "$OUT/t2.err")" "$(head -n 5 "$OUT/t2.err")"
hcheck sig "$OUT/t2.jsonl" "$REQS" $((1 + 2 * (REQS / 2 / 10)))

###########################################################################
# 3. 200 threads, each serving and calling.

FRONTS=2000
rm -f "$OUT/t3.jsonl" "$OUT/t3.port"
env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME=pool OTEL_TRACES_EXPORTER=file \
	OTELPRELOAD_FILE="$OUT/t3.jsonl" OTEL_BSP_MAX_QUEUE_SIZE=32768 \
	"$BIN/pool_server" "$OUT/t3.port" 200 >"$OUT/t3.out" 2>"$OUT/t3.err" &
pid=$!
track_pid "$pid"
if wait_for "test -s '$OUT/t3.port'" 10; then
	load=$("$BIN/loadgen" -p "$(cat "$OUT/t3.port")" -n "$FRONTS" -c 100 -P /front -x 2>&1)
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	echo "# 3: $load; $(cat "$OUT/t3.out")"
	expect_eq "3 200 threads: $FRONTS fronts from 100 clients answered exactly" \
		"ok=$FRONTS fail=0" "$(grep -oE 'ok=[0-9]+ fail=[0-9]+' <<<"$load")"
	both=$(sed -nE 's/.*threads-both ([0-9]+).*/\1/p' "$OUT/t3.out")
	if [ "$rc" = 0 ] && grep -q "^fronts $FRONTS backs $FRONTS bad 0 " "$OUT/t3.out" &&
		[ "${both:-0}" -ge 150 ]; then
		ok "3 200 threads: server exited 0; $FRONTS fronts, $FRONTS backs, none bad; $both threads both served and called"
	else
		not_ok "3 200 threads: server exited 0, all backs right, >= 150 threads both served and called" \
			"exit $rc: $(cat "$OUT/t3.out")" "stderr: $(head -n 5 "$OUT/t3.err")"
	fi
	expect_eq "3 200 threads: no otelpreload: line" 0 "$(warn_lines "$OUT/t3.err")" \
		"$(head -n 5 "$OUT/t3.err")"
	hcheck pool "$OUT/t3.jsonl" "$FRONTS"
else
	not_ok "3 200 threads: server started" "$(cat "$OUT/t3.err")"
fi

###########################################################################
# 4. fork, fork+exec, exec again, vfork+exec, posix_spawn, daemon().

CH=$OUT/t4
rm -rf "$CH" "$OUT/t4.jsonl"
mkdir -p "$CH"
TRACE=4bf92f3577b34da6a3ce929d0e0e4736
env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME=chain OTEL_TRACES_EXPORTER=file \
	OTELPRELOAD_FILE="$OUT/t4.jsonl" \
	timeout 60 "$BIN/chain" serve "$CH/port" "$BACKEND" "$CH" >"$OUT/t4.out" 2>"$OUT/t4.err" &
pid=$!
track_pid "$pid"
if wait_for "test -s '$CH/port'" 10; then
	curl -s -m 40 -H "traceparent: 00-$TRACE-00f067aa0ba902b7-01" \
		"http://127.0.0.1:$(cat "$CH/port")/chain" >"$CH/steps" 2>"$OUT/t4-curl.err"
	wait "$pid"
	rc=$?
	echo "# 4 steps: $(tr '\n' ';' <"$CH/steps")"
	if [ "$rc" = 0 ] && [ "$(awk '$3 == 0' "$CH/steps" | wc -l)" = 5 ]; then
		ok "4 chains: five steps (fork exec vfork spawn daemon) exited 0, server exited 0"
	else
		not_ok "4 chains: five steps exited 0, server exited 0" "server exit $rc" \
			"steps: $(cat "$CH/steps")" "stderr: $(head -n 5 "$OUT/t4.err")"
	fi
	if wait_for "test -s '$CH/daemon.pid'" 10; then
		dpid=$(awk '{ print $1 }' "$CH/daemon.pid")
		# The daemon exports its span at its exit: wait for it to be gone.
		if wait_for "! kill -0 $dpid" 10; then
			ok "4 chains: the daemon ($dpid) made its call and exited"
		else
			not_ok "4 chains: the daemon ($dpid) exited within 10 s"
		fi
		hcheck chain "$OUT/t4.jsonl" "$TRACE" "$CH/steps" "$CH/daemon.pid"
	else
		not_ok "4 chains: the daemon wrote its pid" "$(ls "$CH")"
	fi
else
	not_ok "4 chains: server started" "$(cat "$OUT/t4.err")"
fi

finish
