# shellcheck shell=bash
# shellcheck disable=SC2034  # RC, ELAPSED_MS, RECEIVER_URL are read by the tests
#
# lib.sh - shared helpers for the integration tests (sourced, never run).
#
# Environment in: LIB (absolute path of libotelpreload.so), OUT (a directory
# of this suite's own; tests/run-tests.sh gives build/test-out/<suite>);
# PRELOAD_FIRST (optional, `make check`): a colon list of objects that go
# before the library in every LD_PRELOAD (the ASan runtime, which must be
# first). LIB stays the library's file path either way.
#
# What a test gets:
#   ok DESC / not_ok DESC [DETAIL...] / skip DESC REASON   TAP-like lines
#   check DESC CMD...           ok when CMD exits 0, else not ok + its output
#   wait_for "CMD" TIMEOUT_S    poll CMD (a shell string) until it succeeds
#   free_port                   a 127.0.0.1 TCP port nobody listens on now
#   start_receiver NAME [receiver args...] / stop_receiver
#                               otlp_receiver.py in the background, never
#                               preloaded; sets RECEIVER_PID RECEIVER_PORT
#                               RECEIVER_DIR RECEIVER_URL
#   spans ARGS...               tests/integration/spans.py, never preloaded
#   now_ms                      wall clock in milliseconds
#   track_pid PID               end PID (by pid) when the script exits
#   count_verdicts CMD...       run a checker that prints ok/not ok lines;
#                               count them as this script's
#   finish                      exit status: 1 when any not ok was printed
#   PRELOAD                     the LD_PRELOAD value for a command under test
#   WRAPPER_ENV                 a prefix for commands that start
#                               scripts/otelpreload (empty unless PRELOAD_FIRST)
#
# The library is never in this shell's LD_PRELOAD: a test preloads it into
# the one command under test, e.g.  env LD_PRELOAD="$PRELOAD" getent ahosts x
#
# Every OTEL_* / OTELPRELOAD_* / TRACEPARENT variable inherited from the
# caller is unset here, so a developer's shell cannot change the results.

INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export INTEG_DIR

unset LD_PRELOAD
for _v in $(compgen -e); do
	case $_v in
	OTEL_* | OTELPRELOAD_* | TRACEPARENT | TRACESTATE | BAGGAGE) unset "$_v" ;;
	esac
done
unset _v

: "${LIB:?LIB must name the built libotelpreload.so}"
: "${OUT:?OUT must name the suite output directory}"
case $LIB in /*) ;; *) LIB=$(pwd)/$LIB ;; esac
mkdir -p "$OUT"
export LIB OUT

# Under `make check` the library is the ASan build: PRELOAD_FIRST (the ASan
# runtime) comes first in LD_PRELOAD. scripts/otelpreload puts the library
# first and keeps what LD_PRELOAD held after it, so a test starting the
# wrapper gives it PRELOAD_FIRST in LD_PRELOAD (the runner sets
# verify_asan_link_order=0 for that order).
PRELOAD=${PRELOAD_FIRST:+$PRELOAD_FIRST:}$LIB
WRAPPER_ENV=()
[ -n "${PRELOAD_FIRST:-}" ] && WRAPPER_ENV=(env LD_PRELOAD="$PRELOAD_FIRST")
export PRELOAD

# The real python3 executable: a pyenv/virtualenv shim is a shell script,
# and the library must be preloaded into python itself, not into a chain of
# shims.
PY=$(env -u LD_PRELOAD python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=
[ -n "$PY" ] && [ -x "$PY" ] || PY=$(command -v python3 || true)
export PY

_TESTS_FAILED=0
_TESTS_RUN=0
_PIDS=()

ok() {
	_TESTS_RUN=$((_TESTS_RUN + 1))
	printf 'ok - %s\n' "$1"
}

# not_ok DESC [DETAIL...]: the details go to stdout as "# " comment lines.
not_ok() {
	local desc=$1 line
	shift
	_TESTS_RUN=$((_TESTS_RUN + 1))
	_TESTS_FAILED=$((_TESTS_FAILED + 1))
	printf 'not ok - %s\n' "$desc"
	for line in "$@"; do
		printf '%s\n' "$line" | head -n 40 | sed 's/^/#   /'
	done
}

# skip DESC REASON: only for a required program that is absent.
skip() {
	_TESTS_RUN=$((_TESTS_RUN + 1))
	printf 'ok - %s # SKIP %s\n' "$1" "$2"
}

# check DESC CMD...: ok when CMD exits 0; otherwise not ok with CMD's output.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "command failed (exit $rc): $*" "$out"
	fi
}

# expect_eq DESC WANT GOT [CONTEXT...]: ok when the two strings are equal.
expect_eq() {
	local desc=$1 want=$2 got=$3
	shift 3
	if [ "$want" = "$got" ]; then
		ok "$desc"
	else
		not_ok "$desc" "want: $want" "got:  $got" "$@"
	fi
}

now_ms() {
	date +%s%3N
}

# wait_for "CMD" TIMEOUT_S: run the shell string CMD every 50 ms until it
# succeeds (return 0) or TIMEOUT_S seconds (may be fractional) have passed
# (return 1). Bounded in time and in count.
wait_for() {
	local cmd=$1 timeout=${2:-10} deadline i
	deadline=$(($(now_ms) + $(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }')))
	for ((i = 0; i < 100000; i++)); do
		if eval "$cmd" >/dev/null 2>&1; then
			return 0
		fi
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 1
}

# free_port: a port on 127.0.0.1 that was free a moment ago (also the way to
# get a "closed port": nothing listens there).
free_port() {
	env -u LD_PRELOAD "$PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

spans() {
	env -u LD_PRELOAD "$PY" "$INTEG_DIR/spans.py" "$@"
}

track_pid() {
	_PIDS+=("$1")
}

# end_pid PID: TERM, wait up to 5 s, then KILL; reaps it if it is our child.
end_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie child answers kill -0: reap it when it is done
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
			break
		fi
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

RECEIVER_PID=
RECEIVER_PORT=
RECEIVER_DIR=
RECEIVER_URL=

# start_receiver NAME [otlp_receiver.py args...]: requests go to
# $OUT/NAME.d (emptied first), its stderr to $OUT/NAME.log. Returns 1 when
# it is not listening within 10 s.
start_receiver() {
	local name=$1 portfile
	shift
	[ -z "$RECEIVER_PID" ] || stop_receiver
	RECEIVER_DIR=$OUT/$name.d
	portfile=$OUT/$name.port
	rm -rf "$RECEIVER_DIR" "$portfile"
	mkdir -p "$RECEIVER_DIR"
	env -u LD_PRELOAD "$PY" "$INTEG_DIR/otlp_receiver.py" --dir "$RECEIVER_DIR" \
		--port 0 --port-file "$portfile" "$@" 2>"$OUT/$name.log" &
	RECEIVER_PID=$!
	track_pid "$RECEIVER_PID"
	if ! wait_for "test -s '$portfile'" 10; then
		echo "lib.sh: receiver $name did not start; log:" >&2
		cat "$OUT/$name.log" >&2
		stop_receiver
		return 1
	fi
	RECEIVER_PORT=$(cat "$portfile")
	RECEIVER_URL=http://127.0.0.1:$RECEIVER_PORT
	return 0
}

stop_receiver() {
	[ -n "$RECEIVER_PID" ] && end_pid "$RECEIVER_PID"
	RECEIVER_PID=
}

# request_count: how many requests the current receiver has stored.
request_count() {
	local n
	n=$(find "$RECEIVER_DIR" -maxdepth 1 -name '[0-9]*.json' 2>/dev/null | wc -l)
	echo $((n))
}

_cleanup() {
	local pid
	for pid in "${_PIDS[@]}"; do
		end_pid "$pid"
	done
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# traced NAME [VAR=VALUE...] -- CMD...: run CMD with the library preloaded
# (into CMD only) and the variables set. stdout goes to $OUT/NAME.out,
# stderr to $OUT/NAME.err; sets RC (CMD's exit status) and ELAPSED_MS.
traced() {
	local name=$1 t0
	local envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	t0=$(now_ms)
	env LD_PRELOAD="$PRELOAD" "${envs[@]}" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	RC=$?
	ELAPSED_MS=$(($(now_ms) - t0))
}

# warn_lines FILE: how many lines of FILE start with "otelpreload:".
warn_lines() {
	local n
	n=$(grep -c '^otelpreload:' "$1" 2>/dev/null)
	echo $((n))
}

# expect_count DESC WANT SRC [spans.py filters...]: ok when exactly WANT
# spans of SRC match; otherwise not ok with the spans that are there.
expect_count() {
	local desc=$1 want=$2 src=$3 got errf
	shift 3
	errf=$OUT/.spans-count.err
	got=$(spans count "$src" "$@" 2>"$errf") || got="error"
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "want $want matching span(s), got $got: spans.py count $src $*" \
			"$(cat "$errf")" "spans in $src:" "$(spans dump "$src" 2>&1 | head -n 12)"
	fi
}

# distinct SRC FIELD [filters...]: number of distinct values of FIELD.
distinct() {
	local src=$1 field=$2
	shift 2
	spans get "$src" --field "$field" "$@" | sort -u | grep -c .
}

# require PROG...: returns 1 (and says which) when a program is missing.
require() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || { echo "$p"; return 1; }
	done
	return 0
}

# count_verdicts CMD...: run a checker that prints its own "ok - ..." /
# "not ok - ..." lines (other lines pass through) and count them as this
# script's.
count_verdicts() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) _TESTS_RUN=$((_TESTS_RUN + 1)); printf '%s\n' "$line" ;;
		"not ok - "*) _TESTS_RUN=$((_TESTS_RUN + 1)); _TESTS_FAILED=$((_TESTS_FAILED + 1))
			printf '%s\n' "$line" ;;
		*) printf '%s\n' "$line" ;;
		esac
	done < <("$@" 2>&1)
}

finish() {
	printf '# %d test(s), %d failed\n' "$_TESTS_RUN" "$_TESTS_FAILED"
	[ "$_TESTS_FAILED" -eq 0 ]
	exit $?
}
