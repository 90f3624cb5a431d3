#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $ belongs to wait_for
#
# test_stack.sh - code.stacktrace and code.function.name (runtime/stack.c),
# seen from outside: progs/stack_client.c, a small C "back end" built here
# (gcc -g, not stripped; -O0 and -O2; and a stripped copy), makes libpq
# queries against a private PostgreSQL server (pg_lib.sh, never preloaded)
# and HTTP calls, over a plain socket and through libcurl, to
# progs/stack_server.py (never preloaded), from functions of its own. The
# spans come back through the file exporter.
#
#  1 off by default: no code.* attribute on any span; output unchanged
#  2 OTELPRELOAD_STACK_ON_ERROR=true: the failing query carries a stack
#    whose first frame is the program's own function (-O0 and -O2), the
#    next its caller; no frame of the library or of libpq; the successful
#    query and the connection carry none; output and exit status unchanged,
#    no warning
#  3 OTELPRELOAD_CODE_ATTRIBUTES=true: code.function.name on every query
#    span and on pg.connect, the function that made the call; no stack
#  4 OTELPRELOAD_STACK_THRESHOLD_MS: a slow HTTP call over a plain socket
#    gets a stack (its first frames the program's), the fast one none
#  5 libcurl: a slow transfer and a failed one (503) get a stack whose first
#    frame is the function that called curl_easy_perform; no libcurl frame
#  6 without libunwind (OTELPRELOAD_LIBUNWIND pointing nowhere, or none):
#    one warning (none: no warning), a stack all the same (backtrace(): the
#    program's frames by address), no crash, output unchanged
#  7 a stripped program: frames by address ("at ?? (prog+0x...)"), never a
#    wrong name, no code.function.name made up

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
. "$INTEG_DIR/pg_lib.sh"

PROGS=$INTEG_DIR/progs

PLAN_PQ=(
	"private PostgreSQL server ready"
	"off: output and exit status unchanged"
	"off: no code.* attribute on any span"
	"on error (-O0): output and exit status unchanged"
	"on error (-O0): nothing on stderr"
	"on error (-O0): failing query's stack starts at load_missing_report"
	"on error (-O0): the caller's frame next (run_pq)"
	"on error (-O0): no frame of the library or of libpq"
	"on error (-O0): successful query and pg.connect carry no stack (nor code.function.name)"
	"on error (-O2): failing query's stack starts at load_missing_report"
	"on error (-O2): output and exit status unchanged"
	"code attributes: output and exit status unchanged"
	"code attributes: code.function.name on each query and pg.connect"
	"code attributes: no stack without a threshold or STACK_ON_ERROR"
	"no libunwind: output and exit status unchanged"
	"no libunwind: exactly one warning"
	"no libunwind: a stack from backtrace(), the program's frame first"
	"OTELPRELOAD_LIBUNWIND=none: no warning, a stack all the same"
	"stripped: output and exit status unchanged"
	"stripped: frames by address, no name made up"
)
skip_pq() {
	local d
	for d in "${PLAN_PQ[@]}"; do
		skip "$d" "$1"
	done
}

missing=$(require cc "$PY") && missing=
if [ -n "$missing" ]; then
	skip "stack_client compiles" "$missing not installed"
	finish
fi
if [ ! -f "$LIB" ]; then
	not_ok "library built" "no $LIB"
	finish
fi

PG_INC=$(pg_config --includedir 2>/dev/null) || PG_INC=/usr/include/postgresql
SC0=$OUT/stack_client-O0
SC2=$OUT/stack_client-O2
SCS=$OUT/stack_client-stripped
build_ok=1
for v in O0 O2; do
	check "stack_client compiles (gcc -g -$v, libpq and libcurl)" \
		cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -"$v" \
		"$PROGS/stack_client.c" -I"$PG_INC" -lpq -lcurl -o "$OUT/stack_client-$v" ||
		build_ok=0
done
if [ $build_ok -eq 0 ]; then
	finish
fi
cp "$SC0" "$SCS" && strip "$SCS"

# run NAME PROG [VAR=VALUE...] -- ARGS...: traced, spans to $OUT/NAME.jsonl
# (emptied first); RC, $OUT/NAME.out, $OUT/NAME.err as traced() gives.
run() {
	local name=$1 prog=$2
	local envs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	: >"$OUT/$name.jsonl"
	traced "$name" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$OUT/$name.jsonl" \
		OTEL_SERVICE_NAME="$name" "${envs[@]}" -- "$prog" "$@"
}

# attr_of SRC KEY [filters...]: attribute KEY of the one span matching the
# filters ("" when it has none); "<N spans>" when not exactly one matches.
attr_of() {
	local src=$1 key=$2 n
	shift 2
	n=$(spans count "$src" "$@" 2>/dev/null)
	if [ "$n" != 1 ]; then
		echo "<$n spans>"
		return
	fi
	spans get "$src" --field "attributes.$key" "$@"
}

# frame N STACK: line N (1-based) of a stack.
frame() {
	sed -n "$1p" <<<"$2"
}

# expect_frame DESC STACK N FUNCTION PROG: line N is "at FUNCTION+0x.. (PROG+0x..)".
expect_frame() {
	local desc=$1 stack=$2 n=$3 fn=$4 prog=$5 line
	line=$(frame "$n" "$stack")
	case $line in
	"at $fn+0x"[0-9a-f]*" ($prog+0x"[0-9a-f]*")") ok "$desc" ;;
	*) not_ok "$desc" "want line $n: at $fn+0x... ($prog+0x...)" "stack:" "$stack" ;;
	esac
}

# same_output DESC NAME NATIVE_OUT: stdout and exit status as without the library.
same_output() {
	local desc=$1 name=$2 native=$3 native_rc=$4
	if [ "$RC" = "$native_rc" ] && cmp -s "$native" "$OUT/$name.out"; then
		ok "$desc"
	else
		not_ok "$desc" "exit $RC (native $native_rc)" "$(diff "$native" "$OUT/$name.out")" \
			"$(cat "$OUT/$name.err")"
	fi
}

FAIL_Q=(--kind 3 --name "SELECT no_such_report_table" --status 2)
OK_Q=(--kind 3 --attr "db.query.text=SELECT ?")
CONN=(--kind 3 --name pg.connect)

###########################################################################
# 1-3, 6-7: libpq

pq_cases() {
	local stack n f
	if ! pg_start; then
		not_ok "private PostgreSQL server ready" "$PG_ERROR"
		return
	fi
	ok "private PostgreSQL server ready (socket $PG_SOCKFILE)"
	env -u LD_PRELOAD "$SC0" pq "$PG_DSN_UNIX" >"$OUT/pq-native.out" 2>"$OUT/pq-native.err"
	local native_rc=$?
	if [ $native_rc -ne 0 ]; then
		not_ok "stack_client pq runs without the library" "$(cat "$OUT/pq-native.err")"
		return
	fi

	# 1. off
	run pq-off "$SC0" -- pq "$PG_DSN_UNIX"
	same_output "off: output and exit status unchanged" pq-off "$OUT/pq-native.out" 0
	n=$(spans count "$OUT/pq-off.jsonl" --kind 3)
	if [ "$n" -ge 3 ] &&
		[ "$(spans count "$OUT/pq-off.jsonl" --has-attr code.stacktrace)" = 0 ] &&
		[ "$(spans count "$OUT/pq-off.jsonl" --has-attr code.function.name)" = 0 ]; then
		ok "off: no code.* attribute on any span ($n client spans)"
	else
		not_ok "off: no code.* attribute on any span" "$(spans dump "$OUT/pq-off.jsonl")"
	fi

	# 2. stacks on error
	run pq-err "$SC0" OTELPRELOAD_STACK_ON_ERROR=true -- pq "$PG_DSN_UNIX"
	same_output "on error (-O0): output and exit status unchanged" pq-err \
		"$OUT/pq-native.out" 0
	expect_eq "on error (-O0): nothing on stderr" "" "$(cat "$OUT/pq-err.err")"
	stack=$(attr_of "$OUT/pq-err.jsonl" code.stacktrace "${FAIL_Q[@]}")
	expect_frame "on error (-O0): failing query's stack starts at load_missing_report" \
		"$stack" 1 load_missing_report "$SC0"
	expect_frame "on error (-O0): the caller's frame next (run_pq)" "$stack" 2 run_pq "$SC0"
	if [ -n "$stack" ] && ! grep -q -e libotelpreload -e libpq -e '^at rt_' -e '^at hk_' <<<"$stack"; then
		ok "on error (-O0): no frame of the library or of libpq ($(grep -c . <<<"$stack") frames)"
	else
		not_ok "on error (-O0): no frame of the library or of libpq" "$stack"
	fi
	if [ "$(attr_of "$OUT/pq-err.jsonl" code.stacktrace "${OK_Q[@]}")" = "" ] &&
		[ "$(attr_of "$OUT/pq-err.jsonl" code.stacktrace "${CONN[@]}")" = "" ] &&
		[ "$(spans count "$OUT/pq-err.jsonl" --has-attr code.function.name)" = 0 ]; then
		ok "on error (-O0): successful query and pg.connect carry no stack (nor code.function.name)"
	else
		not_ok "on error (-O0): successful query and pg.connect carry no stack" \
			"$(spans dump "$OUT/pq-err.jsonl")"
	fi

	run pq-err2 "$SC2" OTELPRELOAD_STACK_ON_ERROR=true -- pq "$PG_DSN_UNIX"
	expect_frame "on error (-O2): failing query's stack starts at load_missing_report" \
		"$(attr_of "$OUT/pq-err2.jsonl" code.stacktrace "${FAIL_Q[@]}")" 1 \
		load_missing_report "$SC2"
	same_output "on error (-O2): output and exit status unchanged" pq-err2 "$OUT/pq-native.out" 0

	# 3. code attributes
	run pq-fn "$SC0" OTELPRELOAD_CODE_ATTRIBUTES=true -- pq "$PG_DSN_UNIX"
	same_output "code attributes: output and exit status unchanged" pq-fn "$OUT/pq-native.out" 0
	f="$(attr_of "$OUT/pq-fn.jsonl" code.function.name "${OK_Q[@]}") $(attr_of "$OUT/pq-fn.jsonl" code.function.name "${FAIL_Q[@]}") $(attr_of "$OUT/pq-fn.jsonl" code.function.name "${CONN[@]}")"
	expect_eq "code attributes: code.function.name on each query and pg.connect" \
		"query_ok load_missing_report run_pq" "$f" "$(spans dump "$OUT/pq-fn.jsonl")"
	expect_eq "code attributes: no stack without a threshold or STACK_ON_ERROR" 0 \
		"$(spans count "$OUT/pq-fn.jsonl" --has-attr code.stacktrace)"

	# 6. no libunwind
	run pq-nounw "$SC0" OTELPRELOAD_STACK_ON_ERROR=true \
		OTELPRELOAD_LIBUNWIND=/nonexistent/libunwind.so.8 -- pq "$PG_DSN_UNIX"
	same_output "no libunwind: output and exit status unchanged" pq-nounw "$OUT/pq-native.out" 0
	expect_eq "no libunwind: exactly one warning" "1 1" \
		"$(warn_lines "$OUT/pq-nounw.err") $(grep -c 'cannot load /nonexistent/libunwind.so.8' "$OUT/pq-nounw.err")" \
		"$(cat "$OUT/pq-nounw.err")"
	stack=$(attr_of "$OUT/pq-nounw.jsonl" code.stacktrace "${FAIL_Q[@]}")
	case $(frame 1 "$stack") in
	"at ?? ($SC0+0x"[0-9a-f]*")" | "at load_missing_report+0x"*) ok "no libunwind: a stack from backtrace(), the program's frame first" ;;
	*) not_ok "no libunwind: a stack from backtrace(), the program's frame first" "$stack" ;;
	esac
	run pq-none "$SC0" OTELPRELOAD_STACK_ON_ERROR=true OTELPRELOAD_LIBUNWIND=none \
		-- pq "$PG_DSN_UNIX"
	if [ "$RC" = 0 ] && [ ! -s "$OUT/pq-none.err" ] &&
		[ -n "$(attr_of "$OUT/pq-none.jsonl" code.stacktrace "${FAIL_Q[@]}")" ]; then
		ok "OTELPRELOAD_LIBUNWIND=none: no warning, a stack all the same"
	else
		not_ok "OTELPRELOAD_LIBUNWIND=none: no warning, a stack all the same" \
			"exit $RC" "$(cat "$OUT/pq-none.err")" "$(spans dump "$OUT/pq-none.jsonl")"
	fi

	# 7. stripped
	run pq-strip "$SCS" OTELPRELOAD_STACK_ON_ERROR=true OTELPRELOAD_CODE_ATTRIBUTES=true \
		-- pq "$PG_DSN_UNIX"
	same_output "stripped: output and exit status unchanged" pq-strip "$OUT/pq-native.out" 0
	stack=$(attr_of "$OUT/pq-strip.jsonl" code.stacktrace "${FAIL_Q[@]}")
	if [ -n "$stack" ] && ! grep "$SCS" <<<"$stack" | grep -qv '^at ?? ' &&
		[ "$(frame 1 "$stack" | cut -c1-7)" = "at ?? (" ] &&
		[ "$(spans count "$OUT/pq-strip.jsonl" --has-attr code.function.name)" = 0 ]; then
		ok "stripped: frames by address, no name made up"
	else
		not_ok "stripped: frames by address, no name made up" "$stack" \
			"$(spans get "$OUT/pq-strip.jsonl" --field attributes.code.function.name)"
	fi
}

if ! pg_available; then
	skip_pq "$PG_MISSING"
elif [ ! -f "$PG_INC/libpq-fe.h" ]; then
	skip_pq "libpq-dev not installed (no libpq-fe.h)"
else
	pq_cases
fi

###########################################################################
# 4-5: HTTP, over a plain socket and through libcurl

rm -f "$OUT/server.port"
env -u LD_PRELOAD "$PY" "$PROGS/stack_server.py" --port-file "$OUT/server.port" --delay-ms 300 \
	2>"$OUT/server.err" &
SRV=$!
track_pid "$SRV"
if ! wait_for "test -s '$OUT/server.port'" 10; then
	not_ok "HTTP server ready" "$(cat "$OUT/server.err")"
	finish
fi
PORT=$(cat "$OUT/server.port")
SLOW=(--kind 3 --name GET --attr "url.full=http://127.0.0.1:$PORT/slow")
FAST=(--kind 3 --name GET --attr "url.full=http://127.0.0.1:$PORT/fast")

env -u LD_PRELOAD "$SC2" http "$PORT" >"$OUT/http-native.out" 2>&1
native_rc=$?
run http "$SC2" OTELPRELOAD_STACK_THRESHOLD_MS=150 OTELPRELOAD_CODE_ATTRIBUTES=true -- http "$PORT"
same_output "plain socket: output and exit status unchanged" http "$OUT/http-native.out" "$native_rc"
stack=$(attr_of "$OUT/http.jsonl" code.stacktrace "${SLOW[@]}")
expect_frame "plain socket: slow GET (300 ms > 150 ms): stack starts at http_get" "$stack" 1 \
	http_get "$SC2"
expect_frame "plain socket: then fetch_slow_page" "$stack" 2 fetch_slow_page "$SC2"
expect_eq "plain socket: fast GET: no stack" "" "$(attr_of "$OUT/http.jsonl" code.stacktrace "${FAST[@]}")"
expect_eq "plain socket: code.function.name on both GETs" "http_get http_get" \
	"$(attr_of "$OUT/http.jsonl" code.function.name "${SLOW[@]}") $(attr_of "$OUT/http.jsonl" code.function.name "${FAST[@]}")"
expect_eq "plain socket: connect spans get neither (not slow, not failed, not HTTP)" "0 0" \
	"$(spans count "$OUT/http.jsonl" --name connect --has-attr code.stacktrace) $(spans count "$OUT/http.jsonl" --name connect --has-attr code.function.name)" \
	"$(spans dump "$OUT/http.jsonl")"

# A threshold above the call: no stack.
run http-hi "$SC2" OTELPRELOAD_STACK_THRESHOLD_MS=10000 -- http "$PORT"
expect_eq "plain socket: threshold 10 s: no stack" 0 \
	"$(spans count "$OUT/http-hi.jsonl" --has-attr code.stacktrace)"

if grep -q 'curl_easy_perform' <(nm -D "$SC0" 2>/dev/null); then
	for what in slow status/503; do
		url=http://127.0.0.1:$PORT/$what
		env -u LD_PRELOAD "$SC0" curl "$url" >"$OUT/curl-native.out" 2>&1
		native_rc=$?
		run curl "$SC0" OTELPRELOAD_STACK_THRESHOLD_MS=150 OTELPRELOAD_CODE_ATTRIBUTES=true \
			-- curl "$url"
		same_output "libcurl /$what: output and exit status unchanged" curl \
			"$OUT/curl-native.out" "$native_rc"
		stack=$(attr_of "$OUT/curl.jsonl" code.stacktrace --kind 3 --name GET --attr "url.full=$url")
		expect_frame "libcurl /$what: stack starts at curl_fetch_report" "$stack" 1 \
			curl_fetch_report "$SC0"
		if ! grep -q -e libcurl -e libotelpreload <<<"$stack"; then
			ok "libcurl /$what: no libcurl frame, no frame of ours"
		else
			not_ok "libcurl /$what: no libcurl frame, no frame of ours" "$stack"
		fi
		expect_eq "libcurl /$what: code.function.name" curl_fetch_report \
			"$(attr_of "$OUT/curl.jsonl" code.function.name --kind 3 --name GET --attr "url.full=$url")"
	done
fi

end_pid "$SRV"
finish
