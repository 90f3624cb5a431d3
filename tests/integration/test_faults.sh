#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $ belongs to wait_for
#
# test_faults.sh - the collector fails while a traced server is under steady
# load: the server must not notice (latency, CPU, memory), the library must
# stay bounded, count what it drops and say so exactly once.
#
# Run by tests/run-tests.sh with LIB and OUT set; prints "ok - ..." /
# "not ok - ..." lines and exits 1 when any failed.
#
# The traced program: progs/fault_server.c (a threaded keep-alive HTTP
# server; one SERVER span per request), preloaded, exporting OTLP/HTTP with
# a small queue so that a failing collector makes it drop:
#   OTEL_BSP_MAX_QUEUE_SIZE=256, batch 128, schedule delay 100 ms,
#   OTEL_BSP_EXPORT_TIMEOUT=3000, OTELPRELOAD_EXIT_TIMEOUT_MS=2000.
# The load: progs/loadgen.c, never preloaded: one keep-alive connection,
# 2000 requests on a fixed schedule of one per millisecond (open loop), after
# 50 warm-up requests; per-request latency measured in the client; it also
# samples the server's VmRSS every 20 ms and its CPU time before and after.
#
# Collector modes (otlp_receiver.py, never preloaded):
#   down   nothing listens on the port
#   slow   answers 200, but 300 ms late (--delay-ms 300)
#   500    always 500 (final: never retried)
#   429    always 429 with Retry-After: 3600 (longer than any deadline)
#   503    always 503, no Retry-After (backoff)
#   reset  accepts, reads the request, closes with RST
#   hang   reads the request, never answers (OTEL_EXPORTER_OTLP_TIMEOUT=1000)
# Runs alternate healthy and faulty: H0 down H1 slow H2 500 H3 429 H4 503 H5
# reset H6 hang H7, each with a fresh server and receiver.
#
# What each faulty run asserts:
#  a. all 2000 requests answered "200 hello" (bytes exact), the server's
#     own count agrees, it exits 0;
#  b. p99 latency: "within 5% of the collector-healthy run" is the goal;
#     on a shared 2-core VM a p99 of ~100 us moves by a millisecond or more
#     between identical runs, so the assertion is
#        p99(fault) <= 1.05 * max(p99 of the two healthy runs beside it)
#                      + 1 ms + spread
#     where spread = max - min of all healthy p99s (capped at 20 ms). A
#     near miss (under 10 x the bound) is measured again (the fault run and
#     a fresh healthy run) up to two more times; it passes when one attempt
#     does.
#     Still able to fail: an exporter that blocked or slowed the program's
#     threads would add the collector's delay (300 ms, 1 s, seconds of
#     backoff) to requests, hundreds of times the allowance;
#  c. CPU: the server's CPU time during the load <= 2 x the healthy
#     runs' maximum + 200 ms (an exporter spinning on a failing collector
#     would burn the whole load time, 2000 ms);
#  d. memory: VmRSS during the load (max of the samples) and at its end
#     <= the healthy runs' maximum + 4 MiB (the queue is preallocated and
#     bounded; a leak per failed attempt or an unbounded buffer grows);
#  e. exit: SIGTERM to process end <= OTELPRELOAD_EXIT_TIMEOUT_MS + 1.5 s;
#  f. stderr: exactly one line starting "otelpreload:", for the whole
#     process lifetime under the sustained fault, saying what failed
#     ("(HTTP 500)", ...); for "slow" (nothing fails, spans overflow the
#     queue) it is the exit report "N span(s) were dropped and M not
#     exported before exit", and the accounting must be exact: distinct
#     spans received + N + M = requests served, N > 0. (When an export
#     failed, that failure's warning is the one line and the exit report
#     with the count is not printed: the library warns once per process);
#  g. the collector is not hammered: 500 and 429 (Retry-After 3600) are
#     never retried (no span id in two requests) but later batches are
#     still sent (>= 3 requests: a Retry-After of an hour does not stall the
#     exporter); 503 and reset are retried (some span id in >= 2 requests)
#     with backoff (<= 12 requests over the run and the exit); hang: <= 8.
# Healthy runs assert a, zero warning lines, and every span received
# (SERVER spans at the receiver = requests served).
# Retry-After being honoured (503/429 then 200) and the bounded exit of a
# short process with the collector down/500/hang/reset are in
# test_foundation.sh (6, 7); here the short-process exit is checked for
# the two faults it does not cover: a collector slower than the exit budget,
# and one that throttles every request. Last, fork() while an export hangs
# stays fast (it waits for one libcurl step at most, <= 250 ms asserted).

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PROGS=$INTEG_DIR/progs
missing=$(require cc "$PY" getent) || {
	skip "fault suite" "$missing not installed"
	exit 0
}
BIN=$OUT/bin
mkdir -p "$BIN"
for p in fault_server loadgen; do
	if ! cc -std=gnu11 -O2 -Wall -Wextra -Werror "$PROGS/$p.c" -o "$BIN/$p" -lpthread \
		2>"$OUT/cc-$p.err"; then
		not_ok "$p.c compiles" "$(cat "$OUT/cc-$p.err")"
		finish
	fi
done

N=2000
EXIT_MS=2000
SERVER_ENV=(OTEL_SERVICE_NAME=faultsrv OTEL_BSP_MAX_QUEUE_SIZE=256
	OTEL_BSP_MAX_EXPORT_BATCH_SIZE=128 OTEL_BSP_SCHEDULE_DELAY=100
	OTEL_BSP_EXPORT_TIMEOUT=3000 "OTELPRELOAD_EXIT_TIMEOUT_MS=$EXIT_MS")

# field LINE KEY: the value of KEY=... in a loadgen line.
field() {
	sed -nE "s/.*(^| )$2=([0-9-]+).*/\\2/p" <<<"$1"
}

# run_server NAME ENDPOINT [VAR=VALUE...]: start the traced server, load it,
# stop it. Sets LOAD (loadgen's line), SERVED, SRV_RC, EXIT_ELAPSED.
run_server() {
	local name=$1 ep=$2 pf pid t0
	shift 2
	pf=$OUT/$name.port
	rm -f "$pf"
	LOAD="" SERVED="" SRV_RC="" EXIT_ELAPSED=""
	env LD_PRELOAD="$PRELOAD" "${SERVER_ENV[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$ep" "$@" \
		"$BIN/fault_server" "$pf" >"$OUT/$name.out" 2>"$OUT/$name.err" &
	pid=$!
	track_pid "$pid"
	if ! wait_for "test -s '$pf'" 10; then
		not_ok "$name: server started" "$(cat "$OUT/$name.err")"
		end_pid "$pid"
		return 1
	fi
	"$BIN/loadgen" -p "$(cat "$pf")" -n 50 -k -b $'hello\n' >/dev/null 2>&1
	LOAD=$("$BIN/loadgen" -p "$(cat "$pf")" -n "$N" -i 1000 -k -b $'hello\n' -m "$pid" 2>&1)
	t0=$(now_ms)
	kill -TERM "$pid"
	wait "$pid"
	SRV_RC=$?
	EXIT_ELAPSED=$(($(now_ms) - t0))
	SERVED=$(awk '$1 == "served" { print $2 }' "$OUT/$name.out")
	echo "# $name: $LOAD exit_ms=$EXIT_ELAPSED served=$SERVED"
	return 0
}

# The per-run checks every run gets (a).
check_run() {
	local name=$1
	if [ "$(field "$LOAD" ok)" = "$N" ] && [ "$(field "$LOAD" fail)" = 0 ] &&
		[ "$SRV_RC" = 0 ] && [ "$SERVED" = $((N + 50)) ]; then
		ok "$name: $N requests answered exactly, server served $SERVED and exited 0"
	else
		not_ok "$name: $N requests answered exactly, server served $((N + 50)) and exited 0" \
			"load: $LOAD" "server status $SRV_RC, served '$SERVED'" \
			"stderr: $(head -n 5 "$OUT/$name.err")"
	fi
}

declare -A P99 CPU RSSMAX RSSLAST
HEALTHY=()

healthy() {
	local name=h$1 n
	if ! start_receiver "$name"; then
		not_ok "$name: receiver started"
		return
	fi
	run_server "$name" "$RECEIVER_URL" || { stop_receiver; return; }
	check_run "$name (healthy)"
	n=$(spans count "$RECEIVER_DIR" --kind 2 2>&1)
	expect_eq "$name (healthy): every request's SERVER span reached the collector" "$SERVED" "$n"
	expect_eq "$name (healthy): no otelpreload: line on stderr" 0 "$(warn_lines "$OUT/$name.err")" \
		"$(head -n 5 "$OUT/$name.err")"
	stop_receiver
	P99[$name]=$(field "$LOAD" p99_us)
	CPU[$name]=$(field "$LOAD" cpu_ms)
	RSSMAX[$name]=$(field "$LOAD" rss_max_kb)
	RSSLAST[$name]=$(field "$LOAD" rss_last_kb)
	HEALTHY+=("$name")
}

# fault MODE INDEX: one faulty run; the mode-specific checks (f, g) here,
# the comparisons with the healthy runs (b, c, d) at the end.
fault() {
	local mode=$1 name=f-$1${2:+-$2} ep extra=() url line want n total rx reqs dup d m
	case $mode in
	down) ep="http://127.0.0.1:$(free_port)" ;;
	slow) start_receiver "$name" --delay-ms 300 || { not_ok "$name: receiver"; return; } ;;
	500) start_receiver "$name" --responses 500 || { not_ok "$name: receiver"; return; } ;;
	429) start_receiver "$name" --responses 429 --retry-after 3600 ||
		{ not_ok "$name: receiver"; return; } ;;
	503) start_receiver "$name" --responses 503 || { not_ok "$name: receiver"; return; } ;;
	reset) start_receiver "$name" --reset || { not_ok "$name: receiver"; return; } ;;
	hang) start_receiver "$name" --hang || { not_ok "$name: receiver"; return; }
		extra=(OTEL_EXPORTER_OTLP_TIMEOUT=1000) ;;
	esac
	[ "$mode" = down ] || ep=$RECEIVER_URL
	run_server "$name" "$ep" "${extra[@]}" || { stop_receiver; return; }
	check_run "$name"
	P99[$name]=$(field "$LOAD" p99_us)
	CPU[$name]=$(field "$LOAD" cpu_ms)
	RSSMAX[$name]=$(field "$LOAD" rss_max_kb)
	RSSLAST[$name]=$(field "$LOAD" rss_last_kb)
	if [ "$EXIT_ELAPSED" -le $((EXIT_MS + 1500)) ]; then
		ok "$name: exit after SIGTERM took $EXIT_ELAPSED ms (<= $EXIT_MS + 1500)"
	else
		not_ok "$name: exit after SIGTERM bounded by $EXIT_MS + 1500 ms" "took $EXIT_ELAPSED ms"
	fi
	[ -n "${2:-}" ] && { stop_receiver; return; }	# a re-measurement: b, c, d only

	# f. exactly one line, saying what happened.
	url="$ep/v1/traces"
	line=$(grep '^otelpreload:' "$OUT/$name.err")
	n=$(warn_lines "$OUT/$name.err")
	case $mode in
	slow) want='^otelpreload: [0-9]+ span\(s\) were dropped and [0-9]+ not exported before exit$' ;;
	500 | 429 | 503) want="^otelpreload: exporting spans to ${url//./\\.} failed \\(HTTP $mode\\); spans are being dropped" ;;
	*) want="^otelpreload: exporting spans to ${url//./\\.} failed \\(.+\\); spans are being dropped" ;;
	esac
	if [ "$n" = 1 ] && grep -Eq "$want" <<<"$line"; then
		ok "$name: exactly one otelpreload: line over the whole run: $line"
	else
		not_ok "$name: exactly one otelpreload: line matching /$want/" "got $n:" \
			"$(head -n 5 "$OUT/$name.err")"
	fi

	# g. what the collector saw.
	if [ "$mode" != down ]; then
		reqs=$(request_count)
		dup=$(spans get "$RECEIVER_DIR" --field spanId 2>/dev/null | sort | uniq -d | wc -l)
		echo "# $name: collector requests=$reqs span ids sent more than once=$dup"
	fi
	case $mode in
	slow)
		rx=$(spans get "$RECEIVER_DIR" --field spanId --kind 2 2>/dev/null | sort -u | wc -l)
		read -r d m < <(sed -nE 's/.* ([0-9]+) span\(s\) were dropped and ([0-9]+) not exported.*/\1 \2/p' \
			"$OUT/$name.err")
		total=$((rx + ${d:-0} + ${m:-0}))
		if [ -n "${d:-}" ] && [ "$d" -gt 0 ] && [ "$total" = "$SERVED" ] && [ "$dup" = 0 ]; then
			ok "$name: dropped spans counted exactly: received $rx + dropped $d + unsent $m = served $SERVED"
		else
			not_ok "$name: received + dropped + unsent = served, dropped > 0, no duplicates" \
				"received $rx, dropped ${d:-?}, unsent ${m:-?}, served $SERVED, duplicated $dup"
		fi
		;;
	500 | 429)
		if [ "$reqs" -ge 3 ] && [ "$dup" = 0 ]; then
			ok "$name: never retried (no span sent twice), later batches still sent ($reqs requests)"
		else
			not_ok "$name: never retried, later batches still sent (>= 3 requests)" \
				"requests $reqs, span ids sent more than once: $dup"
		fi
		;;
	503 | reset)
		if [ "$dup" -gt 0 ] && [ "$reqs" -le 12 ]; then
			ok "$name: retried with backoff: $reqs requests over the run (<= 12), $dup span(s) re-sent"
		else
			not_ok "$name: retried (a span re-sent) with backoff (<= 12 requests)" \
				"requests $reqs, span ids sent more than once: $dup"
		fi
		;;
	hang)
		if [ "$reqs" -ge 1 ] && [ "$reqs" -le 8 ]; then
			ok "$name: $reqs request(s) over the run (1 s timeout each, <= 8)"
		else
			not_ok "$name: between 1 and 8 requests over the run" "requests $reqs"
		fi
		;;
	esac
	stop_receiver
}

MODES=(down slow 500 429 503 reset hang)
healthy 0
for i in "${!MODES[@]}"; do
	fault "${MODES[$i]}"
	healthy $((i + 1))
done

# b, c, d: the comparisons with the healthy runs.
hmax() { # hmax ARRAYNAME: max over the healthy runs
	local -n a=$1
	local h m=0
	for h in "${HEALTHY[@]}"; do [ "${a[$h]:-0}" -gt "$m" ] && m=${a[$h]}; done
	echo "$m"
}
hmin_p99() {
	local h m=999999999
	for h in "${HEALTHY[@]}"; do [ "${P99[$h]}" -lt "$m" ] && m=${P99[$h]}; done
	echo "$m"
}
# p99_limit I: the bound for the fault run between healthy runs I and I+1
# (or the latest healthy run for a re-measurement).
p99_limit() {
	local a=${P99[h$1]:-0} b=${P99[h$2]:-0} spread m
	spread=$(($(hmax P99) - $(hmin_p99)))
	[ "$spread" -gt 20000 ] && spread=20000
	m=$((a > b ? a : b))
	echo $((m * 105 / 100 + 1000 + spread))
}

if [ "${#HEALTHY[@]}" -ge 2 ]; then
	cpu_lim=$(($(hmax CPU) * 2 + 200))
	rss_lim=$(($(hmax RSSMAX) + 4096))
	echo "# healthy p99s (us): $(for h in "${HEALTHY[@]}"; do printf '%s ' "${P99[$h]}"; done)"
	nextra=0
	for i in "${!MODES[@]}"; do
		mode=${MODES[$i]}
		name=f-$mode
		[ -n "${P99[$name]:-}" ] || continue
		lim=$(p99_limit "$i" $((i + 1)))
		tries="${P99[$name]}<=$lim"
		got=${P99[$name]}
		for attempt in 2 3; do
			# Measured again only after a near miss: a gross one (over
			# 10 x the bound) is no scheduling accident.
			[ "$got" -le "$lim" ] || [ "$got" -gt $((lim * 10)) ] && break
			fault "$mode" "$attempt"
			nextra=$((nextra + 1))
			healthy "x$nextra"
			lim=$(p99_limit "x$nextra" "x$nextra")
			got=${P99[$name-$attempt]:-999999999}
			tries="$tries, ${got}<=$lim"
		done
		if [ "$got" -le "$lim" ]; then
			ok "$name: p99 latency ${got} us within the healthy bound $lim us (tries: $tries)"
		else
			not_ok "$name: p99 latency within 1.05 x healthy + 1 ms + spread" "tries: $tries"
		fi
		if [ "${CPU[$name]}" -le "$cpu_lim" ]; then
			ok "$name: server CPU during the load ${CPU[$name]} ms (healthy max $(hmax CPU), limit $cpu_lim)"
		else
			not_ok "$name: server CPU during the load <= $cpu_lim ms" "got ${CPU[$name]} ms"
		fi
		if [ "${RSSMAX[$name]}" -le "$rss_lim" ] && [ "${RSSLAST[$name]}" -le "$rss_lim" ]; then
			ok "$name: VmRSS max ${RSSMAX[$name]} KiB, at the end ${RSSLAST[$name]} KiB (healthy max $(hmax RSSMAX), limit $rss_lim)"
		else
			not_ok "$name: VmRSS bounded by the healthy max + 4 MiB ($rss_lim KiB)" \
				"max ${RSSMAX[$name]} KiB, end ${RSSLAST[$name]} KiB"
		fi
	done
else
	not_ok "at least two healthy runs to compare with"
fi

###########################################################################
# Short processes: the exit stays bounded by OTELPRELOAD_EXIT_TIMEOUT_MS
# with a collector slower than the budget, and with one that throttles
# every request (429 + Retry-After: 1 is retried within the bound, then
# given up).

short() {
	local name=$1 limit=2500
	shift
	if ! start_receiver "$name" "$@"; then
		not_ok "$name: receiver started"
		return
	fi
	traced "$name" OTEL_SERVICE_NAME=probe OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" \
		OTELPRELOAD_EXIT_TIMEOUT_MS=1000 -- getent ahosts localhost
	if [ "$RC" = 0 ] && [ "$ELAPSED_MS" -lt "$limit" ] && [ "$(warn_lines "$OUT/$name.err")" = 1 ] &&
		grep -q '127.0.0.1' "$OUT/$name.out"; then
		ok "$name: getent exited 0 in $ELAPSED_MS ms (< 1000 + 1500), output intact, one warning"
	else
		not_ok "$name: getent exits 0 within 1000 + 1500 ms with one warning" \
			"status $RC, $ELAPSED_MS ms" "stderr: $(head -n 5 "$OUT/$name.err")"
	fi
	stop_receiver
}
short short-slow --delay-ms 5000
short short-429 --responses 429 --retry-after 1

###########################################################################
# fork() while an export hangs: a fork waits for the exporter's current
# libcurl step (so that libcurl and OpenSSL are not copied locked), which
# is at most 50 ms long; never for the request itself.

FORK_PY='
import os, socket, sys, time
socket.getaddrinfo("localhost", None)
d = sys.argv[1]
for _ in range(200):                  # until the exporter is in its request
    if os.path.exists(os.path.join(d, "1.json")):
        break
    time.sleep(0.05)
else:
    sys.exit(3)
worst = 0.0
for _ in range(20):
    t = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    worst = max(worst, time.monotonic() - t)
    os.waitpid(pid, 0)
print(int(worst * 1000))
'
if start_receiver fork-hang --hang; then
	traced fork-hang OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" OTEL_BSP_SCHEDULE_DELAY=50 \
		OTELPRELOAD_EXIT_TIMEOUT_MS=1000 -- "$PY" -c "$FORK_PY" "$RECEIVER_DIR"
	worst=$(cat "$OUT/fork-hang.out")
	if [ "$RC" = 0 ] && [ -n "$worst" ] && [ "$worst" -le 250 ] && [ "$ELAPSED_MS" -lt 3500 ]; then
		ok "fork while the export hangs: 20 forks, slowest ${worst} ms (<= 250), exit after ${ELAPSED_MS} ms"
	else
		not_ok "fork while the export hangs: forks <= 250 ms each, bounded exit" \
			"status $RC, slowest fork '${worst}' ms, run ${ELAPSED_MS} ms" \
			"stderr: $(head -n 5 "$OUT/fork-hang.err")"
	fi
	stop_receiver
else
	not_ok "fork-hang: receiver started"
fi

finish
