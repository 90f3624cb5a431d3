#!/usr/bin/env bash
# test_view.sh - `otelpreload view` draws the trees the parent links in span
# files describe: on the terminal (row order, indentation, durations, error
# and missing-parent marks, widths, escaping, colour) and as an HTML page
# (rendered in headless Chromium: the rows the script builds, escaping, no
# network), for a hand-written fixture and for files real programs wrote
# under the library; and the same from a `make install` tree.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$INTEG_DIR/../.." && pwd)
OP=$ROOT/scripts/otelpreload
PROGS=$INTEG_DIR/progs
CHECK=$PROGS/view_check.py
export OTELPRELOAD_LIB=$LIB

vcheck() {
	count_verdicts env -u LD_PRELOAD "$PY" "$CHECK" "$@"
}
# view ARGS...: `otelpreload view` as a user runs it (stderr to $OUT/view.err).
view() {
	bash "$OP" view "$@" 2>"$OUT/view.err"
}

# ---------------------------------------------------------------- fixture
FX=$OUT/fx
rm -rf "$FX"
mkdir -p "$FX"
env -u LD_PRELOAD "$PY" "$CHECK" fixture "$FX"
FA=$FX/fixture-a.jsonl
FB=$FX/fixture-b.jsonl

COLUMNS=300 view --color never "$FA" "$FB" >"$FX/r300.txt"
rc=$?
expect_eq "fixture: exit status 0 with bad lines in the files" 0 "$rc" "$(cat "$OUT/view.err")"
n=$(grep -c 'skipped 4 line(s) that are not OTLP/JSON (the first at .*fixture-a.jsonl:2)' "$OUT/view.err")
expect_eq "fixture: the 4 bad lines (not JSON, wrong shape, truncated, not UTF-8) reported once" \
	1 "$n" "$(cat "$OUT/view.err")"
vcheck text --label "fixture, 300 columns" --fixture --width 300 --render "$FX/r300.txt" "$FA" "$FB"
for w in 100 80 60; do
	COLUMNS=$w view --color never "$FB" "$FA" >"$FX/r$w.txt"
	vcheck text --label "fixture, $w columns" --width "$w" --render "$FX/r$w.txt" "$FA" "$FB"
done
COLUMNS=12 view --color never "$FA" "$FB" >"$FX/r12.txt"
vcheck text --label "fixture, COLUMNS=12 (drawn at the 60 minimum)" --width 60 \
	--render "$FX/r12.txt" "$FA" "$FB"

# the same file twice: every span once
COLUMNS=300 view --color never "$FA" "$FB" "$FA" >"$FX/twice.txt"
if cmp -s "$FX/r300.txt" "$FX/twice.txt" && grep -q 'seen more than once' "$OUT/view.err"; then
	ok "fixture: a file given twice draws each span once"
else
	not_ok "fixture: a file given twice draws each span once" "$(diff "$FX/r300.txt" "$FX/twice.txt" | head)"
fi
# stdin, and exact text of the error row (the format README shows)
COLUMNS=120 view --color never - <"$FB" >"$FX/stdin.txt"
row=$(grep -F 'connect' "$FX/stdin.txt" | head -n 1)
if [[ $row == "!  back "*"└─ connect  127.0.0.1:5432"*"500.0 µs ERROR ECONNREFUSED |"*"█"*"|" ]]; then
	ok "fixture: '-' reads stdin; the error row reads '!  back ... └─ connect  127.0.0.1:5432 ... 500.0 µs ERROR ECONNREFUSED |bar|'"
else
	not_ok "fixture: '-' reads stdin; the error row" "$row"
fi
# colours: --color always marks errors red, never adds none; a terminal and NO_COLOR
COLUMNS=100 view --color always "$FA" "$FB" >"$FX/color.txt"
if grep -q $'\e\\[1;31m!' "$FX/color.txt" && [ "$(grep -c $'\e\\[1;31m!' "$FX/color.txt")" -eq 1 ]; then
	ok "fixture: --color always: the one error row is red"
else
	not_ok "fixture: --color always: the one error row is red" "$(grep -F connect "$FX/color.txt" | cat -v)"
fi
vcheck pty --label "fixture on a terminal" --viewer "$ROOT/scripts/waterfall.py" "$FA" "$FB"
# ASCII output (a C locale without UTF-8 mode): plain glyphs, names escaped
PYTHONIOENCODING=ascii COLUMNS=120 view --color never "$FA" "$FB" >"$FX/ascii.txt"
if LC_ALL=C grep -q '[^ -~]' "$FX/ascii.txt"; then
	not_ok "fixture: ASCII output has only ASCII" "$(LC_ALL=C grep -n '[^ -~]' "$FX/ascii.txt" | head -3)"
elif grep -q '^!  back    |     `- connect' "$FX/ascii.txt"; then
	ok "fixture: ASCII output has only ASCII, tree drawn with |- and \`-"
else
	not_ok "fixture: ASCII output draws the tree" "$(head -8 "$FX/ascii.txt")"
fi
# unreadable file: said, exit 1, the others still drawn
view --color never "$FA" "$FX/absent.jsonl" >"$FX/absent.txt"
rc=$?
if [ $rc -eq 1 ] && grep -q 'cannot read .*absent.jsonl' "$OUT/view.err" && grep -q '^trace 1111' "$FX/absent.txt"; then
	ok "a missing file: reported, exit 1, the other files drawn"
else
	not_ok "a missing file: reported, exit 1, the other files drawn" "exit $rc" "$(cat "$OUT/view.err")"
fi
printf 'not json\n' >"$FX/junk.jsonl"
out=$(view "$FX/junk.jsonl")
expect_eq "a file without spans: 'no spans'" "no spans" "$out" "$(cat "$OUT/view.err")"

# ---------------------------------------------------------------- real programs
# curl -> python3 http.server, both preloaded; then curl -> front -> back
# (tests/integration/progs/chain_server.py), a 200 and a 500.
REAL=$OUT/real.jsonl
rm -f "$REAL"
port=$(free_port)
env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME=srv OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$REAL" \
	OTEL_BSP_SCHEDULE_DELAY=100 "$PY" -m http.server "$port" --bind 127.0.0.1 --directory "$FX" \
	>"$OUT/srv.out" 2>&1 &
SRV=$!
track_pid "$SRV"
if wait_for "curl -s -o /dev/null http://127.0.0.1:$port/" 10; then
	# the probe above made server spans too: start the file afresh
	wait_for "grep -q '\"kind\":2' '$REAL'" 5
	: >"$REAL"
	traced curl OTEL_SERVICE_NAME=cli OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$REAL" -- \
		curl -s -o /dev/null "http://127.0.0.1:$port/fixture-a.jsonl"
	traced curl404 OTEL_SERVICE_NAME=cli OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$REAL" -- \
		curl -s -o /dev/null "http://127.0.0.1:$port/nothing-here"
	wait_for "[ \$(grep -o '\"kind\":2' '$REAL' | wc -l) -ge 2 ]" 10 ||
		not_ok "real: http.server exported its two SERVER spans" "$(cat "$OUT/srv.out")"
else
	not_ok "real: python3 http.server started preloaded" "$(cat "$OUT/srv.out")"
fi
end_pid "$SRV"

CHAIN=$OUT/chain.jsonl
rm -f "$CHAIN" "$OUT"/back.port "$OUT"/front.port
svc() { # NAME ROLE [args]
	local name=$1 role=$2
	shift 2
	env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME="$name" OTEL_TRACES_EXPORTER=file \
		OTELPRELOAD_FILE="$CHAIN" "$PY" "$PROGS/chain_server.py" --role "$role" \
		--port-file "$OUT/$name.port" "$@" 2>"$OUT/$name.err" &
}
svc back back
BACK=$!
track_pid "$BACK"
if wait_for "test -s '$OUT/back.port'" 10; then
	svc front front --back-port "$(cat "$OUT/back.port")"
	FRONT=$!
	track_pid "$FRONT"
	if wait_for "test -s '$OUT/front.port'" 10; then
		fp=$(cat "$OUT/front.port")
		traced c1 OTEL_SERVICE_NAME=curl OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$CHAIN" -- \
			curl -s "http://127.0.0.1:$fp/hello"
		traced c2 OTEL_SERVICE_NAME=curl OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$CHAIN" -- \
			curl -s "http://127.0.0.1:$fp/boom"
	fi
	kill -TERM "$FRONT" 2>/dev/null
	wait_for "! kill -0 $FRONT" 10
fi
kill -TERM "$BACK" 2>/dev/null
wait_for "! kill -0 $BACK" 10

COLUMNS=160 view --color never "$REAL" >"$OUT/real.txt"
vcheck text --label "real: curl -> python3 http.server" --width 160 --min-depth 1 --services 2 \
	--render "$OUT/real.txt" "$REAL"
COLUMNS=160 view --color never "$CHAIN" >"$OUT/chain.txt"
vcheck text --label "real: curl -> front -> back" --width 160 --min-depth 2 --services 3 \
	--render "$OUT/chain.txt" "$CHAIN"
if grep -q '^!' "$OUT/chain.txt"; then
	ok "real: the 500 from back is marked as an error"
else
	not_ok "real: the 500 from back is marked as an error" "$(cat "$OUT/chain.txt")"
fi

# ---------------------------------------------------------------- large files
vcheck linear --label "large files" --viewer "$ROOT/scripts/waterfall.py" --dir "$OUT"
rm -f "$OUT"/lin-*.jsonl

# ---------------------------------------------------------------- HTML
PAGE=$OUT/view.html
view --html "$PAGE" "$FA" "$FB" "$REAL" "$CHAIN" >"$OUT/html.out"
rc=$?
if [ $rc -eq 0 ] && [ -s "$PAGE" ] && [ ! -s "$OUT/html.out" ] && grep -q "wrote $PAGE" "$OUT/view.err"; then
	ok "html: --html writes the page (nothing on stdout)"
else
	not_ok "html: --html writes the page" "exit $rc" "$(cat "$OUT/view.err")"
fi
vcheck static --label "html" "$PAGE"
if grep -qF '<script>document.body.dataset' "$PAGE" || grep -qF "'q' &amp;" "$PAGE"; then
	not_ok "html: the hostile name appears nowhere unescaped"
else
	ok "html: the hostile name appears nowhere unescaped"
fi

# chromium NAME ARGS... -> $OUT/NAME.{out,err}; returns chromium's status.
chromium_run() {
	local name=$1
	shift
	timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$OUT/chromium-profile" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
}
why=
if ! command -v chromium >/dev/null 2>&1; then
	why="chromium not installed (scripts/deps.sh)"
else
	printf '<!DOCTYPE html><title>t</title><p id="p">probe</p>' >"$OUT/probe.html"
	chromium_run probe --dump-dom "file://$OUT/probe.html" && grep -q 'id="p"' "$OUT/probe.out" ||
		why="chromium cannot start here: $(tail -n 1 "$OUT/probe.err")"
fi
if [ -n "$why" ]; then
	for t in "the rows the script builds" "rows expanded" "screenshot"; do
		skip "html in Chromium: $t" "$why"
	done
else
	chromium_run dom --dump-dom "file://$PAGE"
	vcheck dom --label "html in Chromium" --hostile --dom "$OUT/dom.out" "$FA" "$FB" "$REAL" "$CHAIN"
	chromium_run dom-expanded --dump-dom "file://$PAGE#expand"
	vcheck dom --label "html in Chromium, #expand" --expanded --dom "$OUT/dom-expanded.out" \
		"$FA" "$FB" "$REAL" "$CHAIN"
	if grep -q 'Content.Security.Policy' "$OUT/dom.err"; then
		not_ok "html in Chromium: no Content-Security-Policy violation" "$(grep 'Security' "$OUT/dom.err" | head -3)"
	else
		ok "html in Chromium: no Content-Security-Policy violation"
	fi
	rm -f "$OUT/view.png"
	chromium_run shot --screenshot="$OUT/view.png" --window-size=1400,900 "file://$PAGE"
	if [ "$(head -c 8 "$OUT/view.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(stat -c %s "$OUT/view.png")" -gt 20000 ]; then
		ok "html in Chromium: screenshot $OUT/view.png"
	else
		not_ok "html in Chromium: screenshot" "$(tail -n 3 "$OUT/shot.err")"
	fi
fi
rm -rf "$OUT/chromium-profile"

# ---------------------------------------------------------------- make install
INST=$OUT/inst
rm -rf "$INST"
if make --no-print-directory -C "$ROOT" -o "$LIB" install BUILD="$(dirname "$LIB")" \
	DESTDIR="$INST" PREFIX=/usr >"$OUT/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
	(cd / && env -u OTELPRELOAD_LIB COLUMNS=300 "$INST/usr/bin/otelpreload" view --color never \
		"$FA" "$FB" >"$OUT/inst-view.txt" 2>"$OUT/inst-view.err")
	if cmp -s "$OUT/inst-view.txt" "$FX/r300.txt"; then
		ok "installed: otelpreload view draws the fixture as the source tree does"
	else
		not_ok "installed: otelpreload view" "$(cat "$OUT/inst-view.err")" "$(diff "$FX/r300.txt" "$OUT/inst-view.txt" | head)"
	fi
	mkdir -p "$OUT/inst-tmp"
	(cd / && "${WRAPPER_ENV[@]}" env -u OTELPRELOAD_LIB TMPDIR="$OUT/inst-tmp" "$INST/usr/bin/otelpreload" run -- \
		sh -c 'getent ahosts localhost >/dev/null; exit 4' >"$OUT/inst-run.out" 2>"$OUT/inst-run.err")
	rc=$?
	if [ $rc -eq 4 ] && grep -q 'getaddrinfo\|localhost' "$OUT/inst-run.err" &&
		grep -q "^otelpreload: spans kept in $OUT/inst-tmp/" "$OUT/inst-run.err"; then
		ok "installed: otelpreload run finds the library, prints the waterfall, exit 4 passed on"
	else
		not_ok "installed: otelpreload run" "exit $rc" "$(cat "$OUT/inst-run.err")"
	fi
else
	not_ok "make install DESTDIR=... PREFIX=/usr" "$(tail -n 5 "$OUT/install.log")"
fi

finish
