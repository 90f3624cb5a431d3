#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $ belongs to wait_for / SQL
#
# test_pq.sh - PostgreSQL client spans from the libpq hooks, seen from
# outside: unmodified libpq programs (psql, progs/pq_client.c, psycopg2 in
# /usr/bin/python3, a python HTTP server that queries inside its handler)
# run with the library preloaded against a private server (pg_lib.sh, never
# preloaded); the spans come back through the file exporter and are checked
# against the span contract of the hooks (db.system.name=postgresql, query
# spans, pg.connect spans, sanitised db.query.text, SQLSTATE errors,
# pipeline, parenting, sqlcommenter).
#
# Run by tests/run-tests.sh with LIB and OUT set; prints "ok - ..." /
# "not ok - ..." lines and exits 1 when any failed. Every test is skipped
# (with the reason) when PostgreSQL or libpq-dev is not installed.
#
#  1 psql -c "SELECT 42" over TCP and over the Unix socket
#  2 pq_client: every libpq entry point, TCP and Unix socket; output the
#    same with and without the library (progs/pq_check.py pairs each
#    operation with its span)
#  3 psycopg2 (libpq loaded RTLD_LOCAL by python)
#  4 psycopg2 inside a traced ThreadingHTTPServer's do_GET: query spans are
#    children of the SERVER span
#  5 OTELPRELOAD_PG_SQLCOMMENTER: the traceparent comment in the server log
#  6 no literal of any query in any exported span; no HTTP span from libpq

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
. "$INTEG_DIR/pg_lib.sh"

PROGS=$INTEG_DIR/progs
# psycopg2 is Debian's: /usr/bin/python3 only (python3 on PATH may be
# pyenv's). A PYTHONHOME/PYTHONPATH meant for another python would break it.
SYSPY=/usr/bin/python3
unset PYTHONPATH PYTHONHOME
TP_TRACE=4bf92f3577b34da6a3ce929d0e0e4736
TP_PARENT=00f067aa0ba902b7
# Literals of the programs' queries (and parameter values): none may appear
# in any exported span.
MARKERS='SECRET[A-Za-z]*|987654321|4242424242|DOLLARzz|APEDqq|PARAMsecret|PIPEPARAMzz|41999917'

PLAN=(
	"private PostgreSQL server ready"
	"psql over TCP: SELECT 42 span"
	"psql over the Unix socket: SELECT 42 span"
	"pq_client: every libpq entry point, spans per the contract"
	"pq_client: output unchanged by the library"
	"psycopg2 (libpq loaded RTLD_LOCAL): spans"
	"psycopg2 in a traced HTTP server: query spans under the SERVER span"
	"sqlcommenter: traceparent comment in the server log"
	"no query literal in any exported span"
	"libpq sockets never sniffed as HTTP"
)
skip_all() {
	local d
	for d in "${PLAN[@]}"; do
		skip "$d" "$1"
	done
	finish
}

pg_available || skip_all "$PG_MISSING"
missing=$(require cc "$PY") || skip_all "$missing not installed"
PG_INC=$(pg_config --includedir 2>/dev/null) || PG_INC=/usr/include/postgresql
[ -f "$PG_INC/libpq-fe.h" ] || skip_all "libpq-dev not installed (no libpq-fe.h)"
if [ ! -f "$LIB" ]; then
	not_ok "library built" "no $LIB"
	finish
fi

# relay PREFIX CMD...: a checker's "ok - X" / "not ok - X" lines (with "#"
# details) counted here as "PREFIX X". A checker with no verdict fails.
relay() {
	local prefix=$1 out rc line pending="" n=0
	local details=()
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "* | "not ok - "*)
			[ -n "$pending" ] && not_ok "$prefix $pending" "${details[@]}"
			pending=
			details=()
			n=$((n + 1))
			if [ "${line#ok - }" != "$line" ]; then
				ok "$prefix ${line#ok - }"
			else
				pending=${line#not ok - }
			fi
			;;
		"#"*) [ -n "$pending" ] && details+=("${line#\#}") ;;
		esac
	done <<<"$out"
	[ -n "$pending" ] && not_ok "$prefix $pending" "${details[@]}"
	if [ "$n" -eq 0 ] || [ "$rc" -ne 0 ]; then
		not_ok "$prefix checker ran" "exit status $rc: $*" "$out"
	fi
}

# pq_traced NAME [VAR=VALUE...] -- CMD...: traced, spans to $OUT/NAME.jsonl
# (emptied first, so a run that exported nothing reads as 0 spans).
pq_traced() {
	local name=$1
	shift
	: >"$OUT/$name.jsonl"
	traced "$name" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$OUT/$name.jsonl" \
		OTEL_SERVICE_NAME="$name" "$@"
}

# one_field FILE FIELD [filters...]: FIELD of the single matching span, or
# "none" when there is not exactly one.
one_field() {
	local src=$1 field=$2 v
	shift 2
	v=$(spans get "$src" --field "$field" "$@" 2>/dev/null)
	if [ -n "$v" ] && [ "$(grep -c . <<<"$v")" -eq 1 ]; then
		echo "$v"
	else
		echo none
	fi
}

if pg_start; then
	ok "private PostgreSQL server ready (127.0.0.1:$PG_PORT, socket $PG_SOCKFILE)"
else
	not_ok "private PostgreSQL server ready" "$PG_ERROR"
	finish
fi
DB_COMMON=(--kind 3 --attr db.system.name=postgresql --attr db.namespace="$PG_DB")
TCP_ATTRS=(--attr server.address="$PG_HOST" --attr server.port="$PG_PORT")
UNIX_ATTRS=(--attr server.address="$PG_SOCKFILE" --no-attr server.port)

###########################################################################
# 1. psql

for transport in tcp unix; do
	if [ $transport = tcp ]; then
		dsn=$PG_DSN_TCP
		where=("${TCP_ATTRS[@]}")
		label="over TCP"
	else
		dsn=$PG_DSN_UNIX
		where=("${UNIX_ATTRS[@]}")
		label="over the Unix socket"
	fi
	f=$OUT/psql-$transport.jsonl
	pq_traced "psql-$transport" -- "$PG_PSQL" -X -A -t -d "$dsn" -c "SELECT 42"
	expect_eq "psql $label: exit 0, prints 42 under the library" "0 42" \
		"$RC $(cat "$OUT/psql-$transport.out")" "$(cat "$OUT/psql-$transport.err")"
	expect_count "psql $label: one SELECT span, db.query.text 'SELECT ?', server.address/port" \
		1 "$f" "${DB_COMMON[@]}" "${where[@]}" --name SELECT --attr db.query.text='SELECT ?' \
		--attr db.operation.name=SELECT --status 0 --no-attr error.type
	expect_count "psql $label: one pg.connect span, server.address/port, status unset" 1 "$f" \
		"${DB_COMMON[@]}" "${where[@]}" --name pg.connect --status 0
	expect_count "psql $label: no HTTP span (libpq bytes never sniffed as HTTP)" 0 "$f" \
		--has-attr http.request.method
done

###########################################################################
# 2. pq_client: every libpq entry point

PQC=$OUT/pq_client
if check "pq_client compiles (gcc -I$PG_INC -lpq)" \
	cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g "$PROGS/pq_client.c" \
	-I"$PG_INC" -lpq -o "$PQC"; then
	BAD_PORT=$(free_port)
	BAD="host=127.0.0.1 port=$BAD_PORT dbname=$PG_DB user=$PG_USER connect_timeout=5"
	for transport in tcp unix; do
		if [ $transport = tcp ]; then
			dsn=$PG_DSN_TCP
			where=(--address "$PG_HOST" --port "$PG_PORT")
			label="TCP"
		else
			dsn=$PG_DSN_UNIX
			where=(--address "$PG_SOCKFILE")
			label="Unix socket"
		fi
		env -u LD_PRELOAD "$PQC" all "$dsn" "$BAD" >"$OUT/pq-native-$transport.out" \
			2>"$OUT/pq-native-$transport.err"
		expect_eq "pq_client ($label) without the library: every operation as expected" 0 "$?" \
			"$(cat "$OUT/pq-native-$transport.err")"
		pq_traced "pq-$transport" -- "$PQC" all "$dsn" "$BAD"
		expect_eq "pq_client ($label) under the library: every operation as expected" 0 "$RC" \
			"$(cat "$OUT/pq-$transport.err")"
		if cmp -s "$OUT/pq-native-$transport.out" "$OUT/pq-$transport.out"; then
			ok "pq_client ($label): stdout the same with and without the library ($(grep -c . "$OUT/pq-$transport.out") lines)"
		else
			not_ok "pq_client ($label): stdout the same with and without the library" \
				"$(diff "$OUT/pq-native-$transport.out" "$OUT/pq-$transport.out")"
		fi
		if cmp -s "$OUT/pq-native-$transport.err" "$OUT/pq-$transport.err"; then
			ok "pq_client ($label): stderr the same (no otelpreload: warning)"
		else
			not_ok "pq_client ($label): stderr the same (no otelpreload: warning)" \
				"$(diff "$OUT/pq-native-$transport.err" "$OUT/pq-$transport.err")"
		fi
		relay "pq_client ($label):" env -u LD_PRELOAD "$PY" "$PROGS/pq_check.py" \
			"$OUT/pq-$transport.jsonl" "$OUT/pq-$transport.out" "${where[@]}" \
			--bad-port "$BAD_PORT" --db "$PG_DB"
		expect_count "pq_client ($label): no HTTP span (libpq bytes never sniffed as HTTP)" 0 \
			"$OUT/pq-$transport.jsonl" --has-attr http.request.method
	done
	check "pq_client span file is well-formed OTLP/JSON" spans check-json-shape "$OUT/pq-tcp.jsonl"
fi

###########################################################################
# 3. psycopg2: libpq comes with an extension module python dlopens
#    RTLD_LOCAL

if ! env -u LD_PRELOAD "$SYSPY" -c 'import psycopg2' >/dev/null 2>&1; then
	skip "psycopg2 (libpq loaded RTLD_LOCAL): spans" "python3-psycopg2 not installed for $SYSPY"
	skip "psycopg2 in a traced HTTP server: query spans under the SERVER span" \
		"python3-psycopg2 not installed for $SYSPY"
else
	f=$OUT/py.jsonl
	pq_traced py -- "$SYSPY" "$PROGS/pq_psycopg.py" "$PG_DSN_TCP"
	expect_eq "psycopg2: exit 0 and its usual output under the library" \
		"0 tag=py_count result=many tag=py_sum result=41999918" \
		"$RC $(tr '\n' ' ' <"$OUT/py.out" | sed 's/ $//')" "$(cat "$OUT/py.err")"
	expect_count "psycopg2: one pg.connect span (TCP attributes)" 1 "$f" "${DB_COMMON[@]}" \
		"${TCP_ATTRS[@]}" --name pg.connect --status 0
	expect_count "psycopg2: client-side interpolated literal sanitised ('SELECT pg_class' span)" \
		1 "$f" "${DB_COMMON[@]}" "${TCP_ATTRS[@]}" --name "SELECT pg_class" \
		--attr db.query.text='SELECT count(*) FROM pg_class WHERE relname <> ?'
	expect_count "psycopg2: second query span" 1 "$f" "${DB_COMMON[@]}" "${TCP_ATTRS[@]}" \
		--attr db.query.text='SELECT ?::integer + ? AS py_sum'

	###########################################################################
	# 4. psycopg2 inside a traced HTTP server's handler

	f=$OUT/pq-http.jsonl
	: >"$f"
	rm -f "$OUT/pq-http.port"
	env LD_PRELOAD="$PRELOAD" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$f" \
		OTEL_SERVICE_NAME=pq-http "$SYSPY" "$PROGS/pq_http_server.py" \
		--port-file "$OUT/pq-http.port" --dsn "$PG_DSN_UNIX" \
		>"$OUT/pq-http.out" 2>"$OUT/pq-http.err" &
	SRV=$!
	track_pid "$SRV"
	if wait_for "test -s '$OUT/pq-http.port'" 10; then
		port=$(cat "$OUT/pq-http.port")
		if command -v curl >/dev/null 2>&1; then
			body=$(env -u LD_PRELOAD curl -sS -m 20 \
				-H "traceparent: 00-$TP_TRACE-$TP_PARENT-01" "http://127.0.0.1:$port/books" 2>&1)
		else
			body=$(env -u LD_PRELOAD "$PY" -c '
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
c.request("GET", "/books", headers={"traceparent": sys.argv[2]})
sys.stdout.write(c.getresponse().read().decode())' "$port" "00-$TP_TRACE-$TP_PARENT-01" 2>&1)
		fi
		kill -TERM "$SRV" 2>/dev/null
		wait "$SRV" 2>/dev/null
		expect_eq "HTTP server: GET answered from a psycopg2 query" "rows=many" "$body" \
			"$(cat "$OUT/pq-http.err")"
		sid=$(one_field "$f" spanId --kind 2 --trace "$TP_TRACE" --parent "$TP_PARENT")
		expect_count "HTTP server: one SERVER span, continuing the caller's trace" 1 "$f" \
			--kind 2 --trace "$TP_TRACE" --parent "$TP_PARENT"
		expect_count "HTTP server: the query span's parent is the SERVER span, same trace" 1 "$f" \
			"${DB_COMMON[@]}" "${UNIX_ATTRS[@]}" --trace "$TP_TRACE" --parent "$sid" \
			--name "SELECT pg_class" \
			--attr db.query.text='SELECT count(*) AS http_q FROM pg_class WHERE relname <> ?'
		expect_count "HTTP server: the pg.connect span's parent is the SERVER span" 1 "$f" \
			"${DB_COMMON[@]}" "${UNIX_ATTRS[@]}" --trace "$TP_TRACE" --parent "$sid" \
			--name pg.connect
		all=$(spans count "$f" --attr db.system.name=postgresql 2>&1)
		under=$(spans count "$f" --attr db.system.name=postgresql --trace "$TP_TRACE" \
			--parent "$sid" 2>&1)
		if [ "$all" = "$under" ] && [ "$all" -ge 3 ] 2>/dev/null; then
			ok "HTTP server: all $all postgresql spans (connect, BEGIN, SELECT, ROLLBACK) under the SERVER span"
		else
			not_ok "HTTP server: all postgresql spans under the SERVER span" \
				"$under of $all under $sid" "$(spans dump "$f" 2>&1 | head -n 8)"
		fi
	else
		not_ok "HTTP server started" "$(cat "$OUT/pq-http.err")"
	fi
fi

###########################################################################
# 5. sqlcommenter: the server logs every statement (log_statement=all)

# log_since OFFSET: the server log after byte OFFSET
log_since() {
	tail -c +$(($1 + 1)) "$PG_LOG"
}
log_size() {
	stat -c %s "$PG_LOG"
}
# comment_of FILE TEXT: the /*traceparent=...*/ the span whose db.query.text
# is TEXT should have put at the end of the statement ("none" when there is
# not exactly one such span). The trace flags are the span's own (the low
# byte of its OTLP flags): 01 sampled, 03 with the W3C Level 2 random bit.
comment_of() {
	local t s fl
	t=$(one_field "$1" traceId --attr db.query.text="$2")
	s=$(one_field "$1" spanId --attr db.query.text="$2")
	fl=$(one_field "$1" flags --attr db.query.text="$2")
	if [ "$t" = none ] || [ "$s" = none ] || [ "$fl" = none ]; then
		echo none
	else
		printf "/*traceparent='00-%s-%s-%02x'*/\n" "$t" "$s" $((fl & 255))
	fi
}
# ends_with DESC LINE SUFFIX
ends_with() {
	if [ "$3" != none ] && [ "${2%"$3"}" != "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "log line: $2" "wanted at its end: $3"
	fi
}
# no_comment DESC LINE
no_comment() {
	if [ -n "$2" ] && [ "${2#*traceparent}" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "log line: ${2:-(none found)}"
	fi
}

off=$(log_size)
pq_traced sqlc-psql OTELPRELOAD_PG_SQLCOMMENTER=true -- "$PG_PSQL" -X -A -t -d "$PG_DSN_UNIX" \
	-c "SELECT 7 AS sqlc_psql"
expect_eq "sqlcommenter: psql runs, prints 7" "0 7" "$RC $(cat "$OUT/sqlc-psql.out")" \
	"$(cat "$OUT/sqlc-psql.err")"
wait_for "log_since $off | grep -q 'statement: .*sqlc_psql'" 5
line=$(log_since "$off" | grep 'statement: .*sqlc_psql' | tail -n 1)
ends_with "sqlcommenter: psql statement logged with /*traceparent='00-<trace>-<span>-<flags>'*/ of its span" \
	"$line" "$(comment_of "$OUT/sqlc-psql.jsonl" 'SELECT ? AS sqlc_psql')"

if [ -x "$PQC" ]; then
	off=$(log_size)
	pq_traced sqlc-c OTELPRELOAD_PG_SQLCOMMENTER=true -- "$PQC" sqlcomment "$PG_DSN_UNIX"
	expect_eq "sqlcommenter: pq_client sqlcomment runs" 0 "$RC" "$(cat "$OUT/sqlc-c.err")"
	wait_for "log_since $off | grep -q 'sqlc_lead'" 5
	log_since "$off" >"$OUT/sqlc-c.log"
	ends_with "sqlcommenter: PQexec statement gets its span's traceparent comment" \
		"$(grep 'statement: .*sqlc_plain' "$OUT/sqlc-c.log" | tail -n 1)" \
		"$(comment_of "$OUT/sqlc-c.jsonl" 'SELECT ? AS sqlc_plain')"
	no_comment "sqlcommenter: a named prepared statement gets no comment" \
		"$(grep 'execute sqlc_named: ' "$OUT/sqlc-c.log" | tail -n 1)"
	no_comment "sqlcommenter: a statement with its own trailing comment gets none" \
		"$(grep 'statement: .*sqlc_commented' "$OUT/sqlc-c.log" | tail -n 1)"
	no_comment "sqlcommenter: a statement with a leading comment gets none" \
		"$(grep 'statement: .*sqlc_lead' "$OUT/sqlc-c.log" | tail -n 1)"
	expect_eq "sqlcommenter: program output unchanged" "$(cat "$OUT/sqlc-c.out")" \
		"$(env -u LD_PRELOAD "$PQC" sqlcomment "$PG_DSN_UNIX" 2>&1)"
fi

off=$(log_size)
pq_traced sqlc-off-psql -- "$PG_PSQL" -X -A -t -d "$PG_DSN_UNIX" -c "SELECT 8 AS sqlc_off"
[ -x "$PQC" ] && pq_traced sqlc-off-c -- "$PQC" sqlcomment "$PG_DSN_UNIX"
wait_for "log_since $off | grep -q 'sqlc_off'" 5
n=$(log_since "$off" | grep -c 'statement: \|execute ')
if [ "$n" -gt 0 ] && ! log_since "$off" | grep -q traceparent; then
	ok "sqlcommenter: without OTELPRELOAD_PG_SQLCOMMENTER nothing is appended ($n statements)"
else
	not_ok "sqlcommenter: without OTELPRELOAD_PG_SQLCOMMENTER nothing is appended" \
		"$(log_since "$off" | grep 'traceparent\|statement: ' | head -n 10)"
fi
expect_count "sqlcommenter off: the span is still there" 1 "$OUT/sqlc-off-psql.jsonl" \
	"${DB_COMMON[@]}" --attr db.query.text='SELECT ? AS sqlc_off'

###########################################################################
# 6. across every span file of the suite

files=("$OUT"/*.jsonl)
leaks=$(grep -o -E "$MARKERS" "${files[@]}" 2>/dev/null | sort | uniq -c | head -n 20)
if [ -z "$leaks" ]; then
	ok "no query literal or parameter value in any exported span (${#files[@]} span files)"
else
	not_ok "no query literal or parameter value in any exported span" "$leaks"
fi
nhttp=0
for f in "$OUT"/psql-*.jsonl "$OUT"/pq-tcp.jsonl "$OUT"/pq-unix.jsonl "$OUT"/py.jsonl \
	"$OUT"/sqlc-*.jsonl; do
	[ -f "$f" ] || continue
	c=$(spans count "$f" --has-attr http.request.method 2>/dev/null) || c=1
	nhttp=$((nhttp + c))
done
expect_eq "no HTTP span in any non-HTTP run (psql, pq_client, psycopg2)" 0 "$nhttp"

pg_stop
if [ -n "${PG_DIR:-}" ] && pgrep -f "postgres -D $PG_DIR/data" >/dev/null 2>&1; then
	not_ok "server stopped" "$(pgrep -af "postgres -D $PG_DIR/data")"
else
	ok "server stopped, no postgres process left"
fi
finish
