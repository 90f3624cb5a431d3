# shellcheck shell=bash
# bench_lib.sh - helpers shared by the bench scripts (sourced, never run):
# process bookkeeping (PIDS, ended by pid at exit), bounded waiting, free
# ports, and the median/ratio arithmetic. The caller sets PY (python3).

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { date +%s%3N; }

# wait_for "CMD" SECONDS: poll every 50 ms, bounded.
wait_for() {
	local deadline=$(($(now_ms) + $2 * 1000)) i
	for ((i = 0; i < 100000; i++)); do
		eval "$1" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 1
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

listening() { ss -Hltn "sport = :$1" | grep -q .; }

# stop PID SIGNAL: send SIGNAL, wait up to 15 s for the exit, then KILL.
stop() {
	local pid=$1
	kill -"$2" "$pid" 2>/dev/null
	wait_for "! kill -0 $pid || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]" 15 ||
		kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

# ratio BASE OTHER: OTHER / BASE to 3 places, "-" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && a + 0 > 0 && b != "-" && b != "") printf "%.3f", b / a; else print "-" }'
}
