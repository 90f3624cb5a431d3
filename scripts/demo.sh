#!/usr/bin/env bash
# demo.sh - `make demo`: a small book-analysing system of unmodified programs,
# every one of them started with libotelpreload.so in LD_PRELOAD, and the
# waterfalls of the traces two requests make across them.
#
#   curl ─> front (python3) ─> backend (C: sockets, libpq) ─> PostgreSQL
#                                  └─ HTTPS (libcurl) ─> nginx (TLS) ─> isbn (python3)
#
# front, isbn and backend are in demo/ (backend.c is compiled here, -g, not
# stripped); none has tracing code. All spans go to one file through the
# file exporter: no collector. The second request asks for a book whose
# analysis runs a query that fails in the back end (division by zero).
#
# Steps: install missing Debian packages (scripts/deps.sh), build the
# library (make), compile the back end, start a private PostgreSQL
# (tests/integration/pg_lib.sh) and the services (each waited for by its
# port file or listening socket), run the two requests, stop every process
# it started by its pid, check none is left, print the waterfalls.
#
# Environment:
#   DEMO_OUT=DIR     keep the work directory (traces.jsonl, logs, pids) in DIR
#                    instead of a temporary one removed at the end
#   DEMO_LIB=PATH    use this built library instead of running make
#   DEMO_PRELOAD_FIRST=LIST  put LIST (colon-separated) before the library in
#                    LD_PRELOAD (make check: the ASan runtime, which must be first)
#   DEMO_DEPS=0      do not run scripts/deps.sh
#   DEMO_TIMEOUT=S   the run (after install and build) is ended after S
#                    seconds (default 120); everything is stopped all the same
#
# Files in the work directory: traces.jsonl (every span), traces/trace-N.jsonl
# (one request's trace each), pids ("NAME PID" of every process started,
# postgres and nginx workers included), *.log (each program's output).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { printf '\n== %s\n' "$*"; }

# --- phase 1: install and build (no time limit: apt may be slow) ----------
if [ "${1:-}" != --run ]; then
	cat <<'EOF'
otelpreload demo: a book-analysing system of unmodified programs, each one
started with libotelpreload.so in LD_PRELOAD, spans to one file, no collector

  curl -> front (python3) -> backend (C: sockets, libpq) -> PostgreSQL
                                 `- HTTPS (libcurl) -> nginx (TLS) -> isbn (python3)

EOF
	if [ "${DEMO_DEPS:-1}" != 0 ]; then
		echo "== scripts/deps.sh: the Debian packages the demo needs (installs what is missing)"
		scripts/deps.sh
	fi
	if [ -z "${DEMO_LIB:-}" ]; then
		echo "== make build/libotelpreload.so"
		make -s --no-print-directory -j2 build/libotelpreload.so
		export DEMO_LIB=$ROOT/build/libotelpreload.so
	fi
	# the run, bounded in time: on expiry the script gets SIGTERM and its
	# EXIT trap stops what it started
	exec timeout --foreground -k 60 "${DEMO_TIMEOUT:-120}" bash "$0" --run
fi

# --- phase 2: the run -------------------------------------------------------
LIB=$DEMO_LIB
case $LIB in /*) ;; *) LIB=$ROOT/$LIB ;; esac
[ -f "$LIB" ] || { echo "demo: no library at $LIB" >&2; exit 1; }
unset LD_PRELOAD
for _v in $(compgen -e); do
	case $_v in OTEL_* | OTELPRELOAD_* | TRACEPARENT | TRACESTATE | BAGGAGE) unset "$_v" ;; esac
done

if [ -n "${DEMO_OUT:-}" ]; then
	mkdir -p "$DEMO_OUT"
	WORK=$(cd "$DEMO_OUT" && pwd)
	# what an earlier run left there
	rm -rf "${WORK:?}"/{traces,traces.jsonl,pids,bin,tls,nginx-tmp,nginx.conf,nginx.pid} \
		"$WORK"/*.port "$WORK"/*.log "$WORK"/pg.*
	KEEP=1
else
	WORK=$(mktemp -d /tmp/otelpreload-demo.XXXXXX)
	KEEP=0
fi
TRACES=$WORK/traces.jsonl
: >"$TRACES"
: >"$WORK/pids"
# python3 itself, not a pyenv shim script in front of it
PY=$(python3 -c 'import sys; print(sys.executable)')

die() {
	echo "demo: $*" >&2
	exit 1
}

# wait_for "CMD" SECONDS: poll the shell string CMD every 50 ms until it
# succeeds (0) or the time is up (1). pg_lib.sh uses it too.
wait_for() {
	local cmd=$1 n i
	n=$(awk -v t="${2:-10}" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i <= n; i++)); do
		eval "$cmd" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

listening() { # PORT: something listens on 127.0.0.1:PORT
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

PIDS=() # our children, in start order
NAMES=()

# The environment of every program of the demo (plus OTEL_SERVICE_NAME):
# spans to one file; a stack trace (code.stacktrace) on spans slower than
# 200 ms and on spans that end in error.
TRACED_ENV=(LD_PRELOAD="${DEMO_PRELOAD_FIRST:+$DEMO_PRELOAD_FIRST:}$LIB" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$TRACES"
	OTELPRELOAD_STACK_THRESHOLD_MS=200 OTELPRELOAD_CODE_ATTRIBUTES=true)

# traced NAME CMD...: CMD in the background under the library, service NAME.
traced() {
	local name=$1
	shift
	env "${TRACED_ENV[@]}" OTEL_SERVICE_NAME="$name" "$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	NAMES+=("$name")
	echo "$name $!" >>"$WORK/pids"
}

# started NAME PORTFILE: wait until the last started program wrote its port
# file; its port on stdout. Fails (with its log) when it died or took 15 s.
started() {
	local name=$1 pf=$2 pid=${PIDS[-1]}
	wait_for "test -s '$pf' || ! kill -0 $pid" 15
	if ! [ -s "$pf" ]; then
		echo "demo: $name did not start; its log:" >&2
		cat "$WORK/$name.log" >&2
		return 1
	fi
	cat "$pf"
}

# stop PID SIGNAL: send SIGNAL, wait up to 10 s for the exit, then SIGKILL.
stop() {
	local pid=$1 sig=$2
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill "-$sig" "$pid" 2>/dev/null || true
	if ! wait_for "! kill -0 $pid || [ \"\$(ps -o stat= -p $pid)\" = Z ]" 10; then
		echo "demo: pid $pid did not exit on SIG$sig; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# stop_all: every program we started, newest first (the front end before
# the back end it calls), then PostgreSQL. Idempotent.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		case ${NAMES[i]} in
		nginx) stop "${PIDS[i]}" QUIT ;; # graceful: the worker exits normally
		*) stop "${PIDS[i]}" TERM ;;
		esac
	done
	if declare -F pg_stop >/dev/null; then
		pg_stop || true
		# its watchdog notices the data directory is gone within a second
		[ -n "${PG_WATCHDOG_PID:-}" ] && wait_for "! kill -0 $PG_WATCHDOG_PID" 5
	fi
	return 0
}

cleanup() {
	local rc=$?
	trap - EXIT
	stop_all
	if [ "$KEEP" -eq 0 ]; then
		rm -rf "$WORK"
	fi
	exit "$rc"
}
# The EXIT trap's text names pg_stop so that pg_start (pg_lib.sh) leaves it
# as it is rather than putting pg_stop in front of it, which would lose the
# exit status; cleanup calls pg_stop itself, after stopping the services.
trap 'cleanup # and pg_stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL -------------------------------------------------------------
say "starting a private PostgreSQL server and loading demo/books.sql"
# pg_lib.sh makes its server directory in $PG_OUT (or /tmp when the
# postgres user cannot enter it) and reads $OUT
export OUT=$WORK PG_OUT=$WORK
# shellcheck source=tests/integration/pg_lib.sh
. "$ROOT/tests/integration/pg_lib.sh"
pg_available || die "$PG_MISSING"
pg_start || die "PostgreSQL: $PG_ERROR"
echo "postgres $(head -n 1 "$PG_DATA/postmaster.pid")" >>"$WORK/pids"
echo "pg-watchdog $PG_WATCHDOG_PID" >>"$WORK/pids"
env -u LD_PRELOAD "$PG_PSQL" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" \
	-U "$PG_USER" -d "$PG_DB" -f demo/books.sql >"$WORK/psql.log" 2>&1 ||
	die "loading demo/books.sql: $(cat "$WORK/psql.log")"
echo "PostgreSQL $("$PG_BINDIR/postgres" -V | awk '{print $3}') on 127.0.0.1:$PG_PORT, database $PG_DB: $(
	env -u LD_PRELOAD "$PG_PSQL" -X -A -t -h "$PG_SOCKDIR" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
		-c 'SELECT count(*) FROM books') books"

# --- the back end, compiled from source ------------------------------------
say "compiling demo/backend.c (gcc -g, not stripped, -lpq -lcurl)"
mkdir -p "$WORK/bin"
PG_INC=$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
gcc -std=gnu11 -Wall -Wextra -Wshadow -Werror -g -O0 -rdynamic -I"$PG_INC" \
	demo/backend.c -o "$WORK/bin/backend" -lpq -lcurl
echo "$WORK/bin/backend"

# --- the services ----------------------------------------------------------
say "starting the services, each as: LD_PRELOAD=${LIB#"$ROOT"/} OTEL_SERVICE_NAME=<name> OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE=traces.jsonl <program>"
traced isbn "$PY" demo/isbn.py --port-file "$WORK/isbn.port"
ISBN_PORT=$(started isbn "$WORK/isbn.port")
echo "isbn      python3 http.server       http://127.0.0.1:$ISBN_PORT"

mkdir -p "$WORK/tls" "$WORK/nginx-tmp"
env -u LD_PRELOAD openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" >"$WORK/openssl.log" 2>&1 ||
	die "openssl: $(cat "$WORK/openssl.log")"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NGINX_PORT=$(free_port)
user_line=
# a master started as root would switch its worker to "nobody", who could
# not append to the spans file
[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
sed -e "s|@DIR@|$WORK|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@ISBN_PORT@|$ISBN_PORT|g" \
	-e "s|@USER_LINE@|$user_line|" demo/nginx.conf.in >"$WORK/nginx.conf"
traced nginx "$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e stderr
wait_for "listening $NGINX_PORT || ! kill -0 ${PIDS[-1]}" 15
listening "$NGINX_PORT" || die "nginx did not start: $(cat "$WORK/nginx.log")"
wait_for "[ -n \"\$(ps -o pid= --ppid ${PIDS[-1]})\" ]" 10 || die "nginx started no worker"
for w in $(ps -o pid= --ppid "${PIDS[-1]}"); do echo "nginx-worker $w" >>"$WORK/pids"; done
echo "nginx     TLS terminator            https://127.0.0.1:$NGINX_PORT -> isbn"

traced backend "$WORK/bin/backend" --port-file "$WORK/backend.port" --db "$PG_DSN_TCP" \
	--isbn-url "https://127.0.0.1:$NGINX_PORT" --cainfo "$WORK/tls/cert.pem"
BACKEND_PORT=$(started backend "$WORK/backend.port")
echo "backend   C, sockets+libpq+libcurl  http://127.0.0.1:$BACKEND_PORT"

traced front "$PY" demo/front.py --port-file "$WORK/front.port" --backend-port "$BACKEND_PORT"
FRONT_PORT=$(started front "$WORK/front.port")
echo "front     python3 http.server       http://127.0.0.1:$FRONT_PORT"

# --- the requests ------------------------------------------------------------
# curl under the library too: its span is the root of each trace
ask() { # PATH
	env "${TRACED_ENV[@]}" OTEL_SERVICE_NAME=curl \
		curl -sS --max-time 20 -w '(HTTP %{http_code})\n' "http://127.0.0.1:$FRONT_PORT$1" || true
}
say "curl http://127.0.0.1:$FRONT_PORT/books/1/analysis"
ask /books/1/analysis
say "curl http://127.0.0.1:$FRONT_PORT/books/4/analysis   (a book whose analysis fails)"
ask /books/4/analysis

# --- stop everything ---------------------------------------------------------
say "stopping every process the demo started, by pid"
stop_all
left=()
all=()
while read -r name pid; do
	all+=("$name")
	kill -0 "$pid" 2>/dev/null && left+=("$name:$pid")
done <"$WORK/pids"
[ ${#left[@]} -eq 0 ] || die "still running: ${left[*]}"
echo "${all[*]}: stopped, none left running"

# --- the waterfalls ----------------------------------------------------------
if [ "$KEEP" -eq 1 ]; then
	say "the traces: every process appended its spans to $TRACES"
else
	say "the traces: every process appended its spans to one file (DEMO_OUT=DIR keeps it)"
fi
mapfile -t files < <("$PY" demo/traces.py split "$TRACES" "$WORK/traces" curl)
[ ${#files[@]} -ge 2 ] || die "expected two request traces in $TRACES, found ${#files[@]}"
echo
echo "GET /books/1/analysis:"
"$PY" scripts/waterfall.py "${files[0]}"
echo "GET /books/4/analysis, the failing one:"
"$PY" scripts/waterfall.py "${files[1]}"
echo "where the error started (the spans with status Error and no Error child):"
"$PY" demo/traces.py errors "${files[1]}"
if [ "$KEEP" -eq 1 ]; then
	echo
	echo "files kept in $WORK"
fi
