#!/usr/bin/env bash
#
# test_demo.sh - `make demo` (scripts/demo.sh) as a user runs it, then its
# files: the demo starts PostgreSQL, nginx (TLS), the isbn, backend
# (demo/backend.c) and front services and two curl requests, all under the
# library, stops them, and prints the waterfalls. Here it runs with the
# library under test (DEMO_LIB), without the package check (DEMO_DEPS=0),
# and keeps its work directory in $OUT/demo (DEMO_OUT).
#
# Run by tests/run-tests.sh with LIB and OUT set; prints "ok - ..." /
# "not ok - ..." lines and exits 1 when any failed. Skipped (with the
# reason) when a program the demo needs is not installed.
#
#  1 the demo exits 0 within 90 s; both curl bodies; the waterfalls printed
#  2 the spans (progs/demo_check.py): the trace of each request holds spans
#    of curl, front, backend and isbn with the expected parent links; the
#    failing request's query span has status Error, error.type = SQLSTATE
#  3 code.stacktrace on the failing query, first frame the back end's own
#    function (skipped while the library has no code.stacktrace)
#  4 no process of the demo left running; no otelpreload: warning

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
. "$INTEG_DIR/pg_lib.sh"

ROOT=$(cd "$INTEG_DIR/../.." && pwd)
DEMO=$OUT/demo

PLAN=(
	"1 demo exits 0"
	"1 the two curl bodies"
	"1 the waterfalls printed"
	"2 spans checked"
	"3 code.stacktrace on the failing query"
	"4 no demo process left running"
	"4 no otelpreload: warning from any program"
)
skip_all() {
	local d
	for d in "${PLAN[@]}"; do
		skip "$d" "$1"
	done
	finish
}

pg_available || skip_all "$PG_MISSING"
missing=$(require gcc curl openssl ss timeout "$PY") || skip_all "$missing not installed"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || skip_all "nginx not installed"
PG_INC=$(pg_config --includedir 2>/dev/null) || PG_INC=/usr/include/postgresql
[ -f "$PG_INC/libpq-fe.h" ] || skip_all "libpq-dev not installed (no libpq-fe.h)"
[ -f /usr/include/curl/curl.h ] || [ -f /usr/include/x86_64-linux-gnu/curl/curl.h ] ||
	echo '#include <curl/curl.h>' | gcc -E -x c - >/dev/null 2>&1 ||
	skip_all "libcurl4-openssl-dev not installed (no curl/curl.h)"
if [ ! -f "$LIB" ]; then
	not_ok "library built" "no $LIB"
	finish
fi

# 1. the demo, as make demo runs it
t0=$(now_ms)
DEMO_OUT=$DEMO DEMO_LIB=$LIB DEMO_PRELOAD_FIRST=${PRELOAD_FIRST:-} DEMO_DEPS=0 DEMO_TIMEOUT=90 \
	bash "$ROOT/scripts/demo.sh" >"$OUT/demo.out" 2>"$OUT/demo.err"
rc=$?
ms=$(($(now_ms) - t0))
if [ "$rc" -eq 0 ]; then
	ok "1 demo exits 0 ($ms ms)"
else
	not_ok "1 demo exits 0" "exit status $rc after $ms ms" "stderr:" "$(tail -n 20 "$OUT/demo.err")" \
		"stdout:" "$(tail -n 20 "$OUT/demo.out")"
fi
if grep -q '^Pride and Prejudice by Jane Austen, first published by T. Egerton in 1813' \
	"$OUT/demo.out" && grep -q '^(HTTP 200)$' "$OUT/demo.out" &&
	grep -q '^analysis failed: back end answered 500 (rank_among_author_books: ' "$OUT/demo.out" &&
	grep -q '^(HTTP 502)$' "$OUT/demo.out"; then
	ok "1 the two curl bodies: the analysis of book 1 (200), the failure of book 4 (502)"
else
	not_ok "1 the two curl bodies" "$(head -n 40 "$OUT/demo.out")"
fi
# The viewer's layout is its own business (scripts/waterfall.py): only ask
# that each request's waterfall names the four services and the queries.
w1=$(sed -n '/^GET \/books\/1\/analysis:$/,/^GET \/books\/4\/analysis, the failing one:$/p' \
	"$OUT/demo.out")
w2=$(sed -n '/^GET \/books\/4\/analysis, the failing one:$/,/^where the error started/p' \
	"$OUT/demo.out")
wf_ok=1
for w in "$w1" "$w2"; do
	for word in curl front backend isbn SELECT /isbn/; do
		grep -qF -- "$word" <<<"$w" || wf_ok=0
	done
done
grep -qi error <<<"$w2" || wf_ok=0
if [ "$wf_ok" -eq 1 ]; then
	ok "1 the waterfalls printed: each request's names curl, front, backend, isbn and the queries"
else
	not_ok "1 the waterfalls printed" "$(sed -n '/^== the traces/,$p' "$OUT/demo.out" | head -n 40)"
fi

# 2, 3. the spans
T1=$DEMO/traces/trace-1.jsonl
T2=$DEMO/traces/trace-2.jsonl
stack=
if grep -q 'code\.stacktrace' "$LIB"; then
	stack=--stack
fi
if [ -s "$T1" ] && [ -s "$T2" ]; then
	out=$(env -u LD_PRELOAD "$PY" "$INTEG_DIR/progs/demo_check.py" "$T1" "$T2" $stack 2>&1)
	crc=$?
	n=0
	pending=
	details=()
	while IFS= read -r line; do
		case $line in
		"ok - "* | "not ok - "*)
			[ -n "$pending" ] && not_ok "2 $pending" "${details[@]}"
			pending=
			details=()
			n=$((n + 1))
			case $line in
			"ok - "*) ok "2 ${line#ok - }" ;;
			*) pending=${line#not ok - } ;;
			esac
			;;
		"#"*) [ -n "$pending" ] && details+=("${line#\#}") ;;
		esac
	done <<<"$out"
	[ -n "$pending" ] && not_ok "2 $pending" "${details[@]}"
	if [ "$n" -eq 0 ] || { [ "$crc" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; }; then
		not_ok "2 spans checked (demo_check.py ran)" "exit status $crc" "$out"
	fi
	[ -z "$stack" ] && skip "3 code.stacktrace on the failing query" \
		"the library has no code.stacktrace support (yet)"
else
	not_ok "2 spans checked" "no $T1 or $T2" "$(ls -l "$DEMO" "$DEMO/traces" 2>&1)"
	skip "3 code.stacktrace on the failing query" "no traces"
fi

# 4. nothing left behind. The pids file lists every process the demo
# started (postgres, its watchdog, nginx's master and worker, the services);
# anything whose command line names the work directory would be ours too.
left=()
if [ -s "$DEMO/pids" ]; then
	while read -r name pid; do
		kill -0 "$pid" 2>/dev/null && left+=("$name:$pid $(ps -o args= -p "$pid")")
	done <"$DEMO/pids"
	while read -r pid args; do
		[ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
		case $args in *"$DEMO/"*) left+=("$pid $args") ;; esac
	done < <(ps -eo pid=,args=)
	if [ ${#left[@]} -eq 0 ]; then
		ok "4 no demo process left running ($(wc -l <"$DEMO/pids") started, by pid: $(
			awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$DEMO/pids"))"
	else
		not_ok "4 no demo process left running" "${left[@]}"
	fi
else
	not_ok "4 no demo process left running" "no $DEMO/pids"
fi
warned=$(grep -H '^otelpreload:' "$DEMO"/*.log "$OUT/demo.err" 2>/dev/null | head -n 20)
if [ -z "$warned" ]; then
	ok "4 no otelpreload: warning from any program"
else
	not_ok "4 no otelpreload: warning from any program" "$warned"
fi
finish
