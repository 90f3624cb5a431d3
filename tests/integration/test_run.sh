#!/usr/bin/env bash
# test_run.sh - `otelpreload run -- CMD`: with no collector configured CMD
# runs as a child writing spans to $TMPDIR/otelpreload-PID.jsonl (its own
# children too), signals sent to otelpreload reach CMD, the waterfall of
# CMD's traces follows CMD's own output on stderr, CMD's stdout is
# untouched and its exit status (or 128+signal) is otelpreload's; with a
# collector configured otelpreload execs CMD and the spans go there.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$INTEG_DIR/../.." && pwd)
OP=$ROOT/scripts/otelpreload
CHECK=$INTEG_DIR/progs/view_check.py
export OTELPRELOAD_LIB=$LIB
export TMPDIR=$OUT/tmp
export COLUMNS=150
rm -rf "$TMPDIR" "$OUT/www"
mkdir -p "$TMPDIR" "$OUT/www"


# run NAME ARGS...: `otelpreload run ARGS...`, stdout/stderr to
# $OUT/NAME.out/.err; sets RC. SPANFILE: the file it named on stderr.
# Every start of the wrapper goes through WRAPPER_ENV (lib.sh).
run() {
	local name=$1
	shift
	"${WRAPPER_ENV[@]}" bash "$OP" run "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	RC=$?
	SPANFILE=$(sed -n 's/^otelpreload: no collector configured: spans go to //p' "$OUT/$name.err")
}

# a web server that is not traced, with a file whose bytes must pass
head -c 3000 /dev/urandom >"$OUT/www/blob.bin"
printf 'hello from the server\n' >"$OUT/www/hello.txt"
port=$(free_port)
env -u LD_PRELOAD "$PY" -m http.server "$port" --bind 127.0.0.1 --directory "$OUT/www" \
	>"$OUT/www.log" 2>&1 &
track_pid $!
URL=http://127.0.0.1:$port
wait_for "curl -s -o /dev/null $URL/hello.txt" 10 || not_ok "web server started" "$(cat "$OUT/www.log")"

# 1. one command: its stdout intact, the waterfall after its own stderr
run one -- sh -c "curl -s $URL/blob.bin; curl -s $URL/hello.txt; echo cmd-stderr-line >&2"
curl -s "$URL/blob.bin" >"$OUT/direct.out"
curl -s "$URL/hello.txt" >>"$OUT/direct.out"
expect_eq "run: exit status 0" 0 "$RC" "$(cat "$OUT/one.err")"
if cmp -s "$OUT/one.out" "$OUT/direct.out"; then
	ok "run: CMD's stdout is byte for byte what it prints untraced"
else
	not_ok "run: CMD's stdout is byte for byte what it prints untraced" "$(cmp "$OUT/one.out" "$OUT/direct.out")"
fi
case $SPANFILE in
"$TMPDIR"/otelpreload-[0-9]*.jsonl) ok "run: says on stderr that spans go to \$TMPDIR/otelpreload-PID.jsonl ($SPANFILE)" ;;
*) not_ok "run: says where the spans go" "$(head -n 3 "$OUT/one.err")" ;;
esac
if [ -n "$SPANFILE" ] && [ -s "$SPANFILE" ] && [ "$(stat -c %a "$SPANFILE")" = 600 ] &&
	grep -qxF "otelpreload: spans kept in $SPANFILE (draw them again: otelpreload view $SPANFILE)" "$OUT/one.err"; then
	ok "run: the span file is kept (mode 600) and named at the end"
else
	not_ok "run: the span file is kept (mode 600) and named at the end" "$(tail -n 2 "$OUT/one.err")"
fi
l_cmd=$(grep -n '^cmd-stderr-line$' "$OUT/one.err" | cut -d: -f1)
l_trace=$(grep -n '^trace ' "$OUT/one.err" | head -n 1 | cut -d: -f1)
if [ -n "$l_cmd" ] && [ -n "$l_trace" ] && [ "$l_cmd" -lt "$l_trace" ]; then
	ok "run: the waterfall comes on stderr after CMD's own output"
else
	not_ok "run: the waterfall comes on stderr after CMD's own output" "$(cat "$OUT/one.err")"
fi
n=$(grep -c '^trace ' "$OUT/one.err")
pids=$(spans get "$SPANFILE" --field resource.process.pid 2>/dev/null | sort -u | grep -c .)
if [ "$n" -eq 2 ] && [ "$pids" -ge 2 ]; then
	ok "run: CMD's children (two curls) wrote to the same file, two traces drawn"
else
	not_ok "run: CMD's children wrote to the same file" "traces drawn: $n, processes: $pids" "$(cat "$OUT/one.err")"
fi
if grep -qE '^ +sh +GET  http://127\.0\.0\.1:[0-9]+/blob\.bin +[0-9.]+ [mµ]?s +200 ' "$OUT/one.err"; then
	ok "run: the rows name the service after CMD (sh), the URL, duration and status"
else
	not_ok "run: rows with service, URL, duration, status" "$(cat "$OUT/one.err")"
fi
count_verdicts env -u LD_PRELOAD "$PY" "$CHECK" text --label "run: the waterfall on stderr" --width 150 \
	--render "$OUT/one.err" "$SPANFILE"
out=$(COLUMNS=150 bash "$OP" view --color never "$SPANFILE" 2>&1)
if [ -n "$SPANFILE" ] && grep -qF -- "$(grep -m1 '^   sh ' "$OUT/one.err")" <<<"$out"; then
	ok "run: otelpreload view FILE draws the kept file again"
else
	not_ok "run: otelpreload view FILE draws the kept file again" "$out"
fi

# --service
run svc --service shop -- curl -s -o /dev/null "$URL/hello.txt"
if [ "$RC" -eq 0 ] && grep -qE '^ +shop +GET ' "$OUT/svc.err"; then
	ok "run --service shop: the spans' service is shop"
else
	not_ok "run --service shop" "exit $RC" "$(cat "$OUT/svc.err")"
fi

# 2. exit statuses
run three -- sh -c 'exit 3'
if [ "$RC" -eq 3 ] && grep -qx 'no spans' "$OUT/three.err" && [ -n "$SPANFILE" ] && [ ! -e "$SPANFILE" ]; then
	ok "run: exit 3 passed on; 'no spans'; the empty file removed"
else
	not_ok "run: exit 3 passed on; 'no spans'; the empty file removed" "exit $RC" "$(cat "$OUT/three.err")"
fi
run three2 -- sh -c "curl -s -o /dev/null $URL/hello.txt; exit 3"
if [ "$RC" -eq 3 ] && grep -q '^trace ' "$OUT/three2.err"; then
	ok "run: exit 3 after making spans: status 3, waterfall drawn"
else
	not_ok "run: exit 3 after making spans" "exit $RC" "$(cat "$OUT/three2.err")"
fi
run term -- sh -c 'kill -TERM $$'
expect_eq "run: CMD killed by SIGTERM: exit 143" 143 "$RC" "$(cat "$OUT/term.err")"
run kill9 -- sh -c "curl -s -o /dev/null $URL/hello.txt; kill -KILL \$\$"
if [ "$RC" -eq 137 ] && grep -q '^trace ' "$OUT/kill9.err"; then
	ok "run: CMD killed by SIGKILL: exit 137, the child's spans still drawn"
else
	not_ok "run: CMD killed by SIGKILL: exit 137" "exit $RC" "$(cat "$OUT/kill9.err")"
fi
run nf -- ./no-such-command-here
expect_eq "run: CMD not found: exit 127" 127 "$RC" "$(cat "$OUT/nf.err")"

# 3. signals sent to otelpreload reach CMD (once); the runner is not traced.
cat >"$OUT/sig.py" <<'PY'
import os, signal, sys, time, urllib.request
out, ready, url = sys.argv[1:4]
got = []
def on(sig, frame):
    got.append(signal.Signals(sig).name)
signal.signal(signal.SIGTERM, on)
signal.signal(signal.SIGINT, on)
urllib.request.urlopen(url).read()
open(ready, "w").write("%d\n" % os.getpid())
deadline = time.time() + 30
while not got and time.time() < deadline:
    time.sleep(0.02)
time.sleep(0.3)      # a second copy of the signal would arrive meanwhile
open(out, "w").write(" ".join(got) + "\n")
sys.exit(7)
PY
# sig_case SIG: otelpreload run started with default signal dispositions
# (a background job of this shell would have SIGINT ignored).
sig_case() {
	local sig=$1 pid cpid rc
	rm -f "$OUT/sig.ready" "$OUT/sig.got"
	env -u LD_PRELOAD "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "${WRAPPER_ENV[@]}" bash "$OP" run -- "$PY" "$OUT/sig.py" "$OUT/sig.got" \
		"$OUT/sig.ready" "$URL/hello.txt" >"$OUT/sig-$sig.out" 2>"$OUT/sig-$sig.err" &
	pid=$!
	track_pid "$pid"
	if ! wait_for "test -s '$OUT/sig.ready'" 15; then
		not_ok "run: SIG$sig reaches CMD" "CMD never got ready" "$(cat "$OUT/sig-$sig.err")"
		return
	fi
	cpid=$(cat "$OUT/sig.ready")
	if [ "$sig" = TERM ]; then
		# what runs where: the runner (this pid, exec'ed from the wrapper)
		# has no LD_PRELOAD and no library mapped; CMD has both (under
		# make check, the wrapper keeps PRELOAD_FIRST after the library).
		if ! tr '\0' '\n' <"/proc/$pid/environ" | grep -q '^LD_PRELOAD=' &&
			! grep -q libotelpreload "/proc/$pid/maps" &&
			tr '\0' '\n' <"/proc/$cpid/environ" | grep -qxF "LD_PRELOAD=$LIB${PRELOAD_FIRST:+:$PRELOAD_FIRST}" &&
			grep -q libotelpreload "/proc/$cpid/maps" &&
			[ "$(ps -o ppid= -p "$cpid" | tr -d ' ')" = "$pid" ]; then
			ok "run: the runner is not traced, CMD (its child) is"
		else
			not_ok "run: the runner is not traced, CMD (its child) is" \
				"runner $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")" \
				"runner env LD_PRELOAD: $(tr '\0' '\n' <"/proc/$pid/environ" | grep LD_PRELOAD)" \
				"CMD $cpid parent: $(ps -o ppid= -p "$cpid")"
		fi
	fi
	kill "-$sig" "$pid"
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 7 ] && [ "$(cat "$OUT/sig.got" 2>/dev/null)" = "SIG$sig" ] &&
		grep -q '^trace ' "$OUT/sig-$sig.err"; then
		ok "run: SIG$sig sent to otelpreload reaches CMD once; CMD's exit 7 passed on; waterfall drawn"
	else
		not_ok "run: SIG$sig sent to otelpreload reaches CMD once" "exit $rc (want 7)" \
			"CMD got: $(cat "$OUT/sig.got" 2>/dev/null)" "$(cat "$OUT/sig-$sig.err")"
	fi
}
sig_case TERM
sig_case INT
# Ctrl-C on a terminal: the terminal sends SIGINT to the whole foreground
# process group. CMD takes its SIGINTs with sigtimedwait and notes who sent
# each: "kernel" (the terminal) or "user" (kill(), i.e. otelpreload).
#  - CMD in otelpreload's group got the terminal's SIGINT: otelpreload
#    must not send a second one. (A second SIGINT that arrived before CMD
#    took the first would merge with it, so this catches a wrong forward
#    only when it comes late; the right code never sends one.)
#  - CMD that made its own process group (as `timeout` does) did not get
#    it: otelpreload must pass it on.
cat >"$OUT/ctrlc_cmd.py" <<'PY'
import os, signal, sys, urllib.request
out, ready, url, own = sys.argv[1:5]
if own == "own":
    os.setpgid(0, 0)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
urllib.request.urlopen(url).read()
open(ready, "w").write("%d\n" % os.getpid())
got = []
info = signal.sigtimedwait([signal.SIGINT], 15)
while info:
    got.append("kernel" if info.si_code == 0x80 else "user")
    info = signal.sigtimedwait([signal.SIGINT], 0.5)
open(out, "w").write(" ".join(got) + "\n")
sys.exit(7)
PY
cat >"$OUT/drive_pty.py" <<'PY'
import os, pty, signal, sys, time
ready, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()        # the child leads a new session on the pty
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(argv[0], argv)
deadline = time.time() + 15
while not os.path.exists(ready) and time.time() < deadline:
    time.sleep(0.05)
time.sleep(0.1)
os.write(fd, b"\x03")         # Ctrl-C, as typed
out = b""
while True:
    try:
        b = os.read(fd, 65536)
    except OSError:
        break
    if not b:
        break
    out += b
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
print("exit", os.waitstatus_to_exitcode(status))
PY
for grp in same own; do
	rm -f "$OUT/sig.ready" "$OUT/sig.got"
	env -u LD_PRELOAD "$PY" "$OUT/drive_pty.py" "$OUT/sig.ready" "${WRAPPER_ENV[@]}" bash "$OP" run -- "$PY" "$OUT/ctrlc_cmd.py" \
		"$OUT/sig.got" "$OUT/sig.ready" "$URL/hello.txt" "$grp" >"$OUT/tty-$grp.log" 2>&1
	want=kernel desc="Ctrl-C reaches CMD once, from the terminal"
	[ $grp = own ] && want=user desc="CMD in a process group of its own: Ctrl-C passed on"
	if [ "$(cat "$OUT/sig.got" 2>/dev/null)" = $want ] && grep -q '^exit 7' "$OUT/tty-$grp.log" &&
		grep -q 'trace [0-9a-f]\{32\}' "$OUT/tty-$grp.log"; then
		ok "run on a terminal: $desc; exit 7; waterfall drawn"
	else
		not_ok "run on a terminal: $desc" "CMD got: $(cat "$OUT/sig.got" 2>/dev/null) (want $want)" \
			"$(tail -n 20 "$OUT/tty-$grp.log")"
	fi
done
# a signal ignored by otelpreload's caller stays ignored for CMD, as with
# CMD run directly (here: SIGINT of a background job of this shell)
probe='import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)'
"$PY" -c "$probe" >"$OUT/ign-direct.out" 2>&1 &
wait $!
"${WRAPPER_ENV[@]}" bash "$OP" run -- "$PY" -c "$probe" >"$OUT/ign-run.out" 2>"$OUT/ign-run.err" &
wait $!
expect_eq "run: SIGINT ignored by the caller stays ignored for CMD (as without otelpreload)" \
	"$(cat "$OUT/ign-direct.out")" "$(cat "$OUT/ign-run.out")" "$(cat "$OUT/ign-run.err")"

# 4. a collector configured: exec, spans there, no file, no waterfall
if start_receiver recv; then
	before=$(find "$TMPDIR" -name 'otelpreload-*' | wc -l)
	"${WRAPPER_ENV[@]}" bash "$OP" run --endpoint "$RECEIVER_URL" -- sh -c "echo \$\$; curl -s -o /dev/null $URL/hello.txt" \
		>"$OUT/ep.out" 2>"$OUT/ep.err" &
	pid=$!
	wait "$pid"
	rc=$?
	after=$(find "$TMPDIR" -name 'otelpreload-*' | wc -l)
	if [ "$rc" -eq 0 ] && [ "$(cat "$OUT/ep.out")" = "$pid" ] && [ "$before" = "$after" ] &&
		! grep -q 'no collector\|^trace ' "$OUT/ep.err"; then
		ok "run --endpoint: otelpreload execs CMD (same pid), no span file, no waterfall"
	else
		not_ok "run --endpoint: exec" "exit $rc, CMD pid $(cat "$OUT/ep.out") vs $pid, files $before -> $after" \
			"$(cat "$OUT/ep.err")"
	fi
	if wait_for "[ \$(request_count) -ge 1 ]" 10 &&
		[ "$(spans count "$RECEIVER_DIR" --kind 3 --attr "url.full=$URL/hello.txt")" -ge 1 ]; then
		ok "run --endpoint: the CLIENT span reached the collector"
	else
		not_ok "run --endpoint: the CLIENT span reached the collector" "$(cat "$RECEIVER_DIR"/*.json 2>/dev/null | head -c 600)"
	fi
	OTEL_EXPORTER_OTLP_ENDPOINT=$RECEIVER_URL "${WRAPPER_ENV[@]}" bash "$OP" run -- sh -c 'echo $$' >"$OUT/ep2.out" 2>"$OUT/ep2.err" &
	pid=$!
	wait "$pid"
	if [ "$(cat "$OUT/ep2.out")" = "$pid" ] && ! grep -q 'no collector' "$OUT/ep2.err"; then
		ok "run with OTEL_EXPORTER_OTLP_ENDPOINT set: exec"
	else
		not_ok "run with OTEL_EXPORTER_OTLP_ENDPOINT set: exec" "$(cat "$OUT/ep2.err")"
	fi
	stop_receiver
else
	not_ok "run --endpoint: the capture receiver started"
fi
run file --file "$OUT/given.jsonl" -- curl -s -o /dev/null "$URL/hello.txt"
if [ "$RC" -eq 0 ] && [ -z "$SPANFILE" ] && [ -s "$OUT/given.jsonl" ] && ! grep -q '^trace ' "$OUT/file.err"; then
	ok "run --file PATH: spans in PATH, exec, no waterfall"
else
	not_ok "run --file PATH" "exit $RC" "$(cat "$OUT/file.err")"
fi
bash "$OP" run --service 2>"$OUT/usage.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'needs a value' "$OUT/usage.err"; then
	ok "run --service without a value: usage, exit 2"
else
	not_ok "run --service without a value: usage, exit 2" "exit $rc" "$(cat "$OUT/usage.err")"
fi

finish
