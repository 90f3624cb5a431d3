#!/usr/bin/env bash
#
# run-tests.sh - run the unit suites (Criterion binaries) and the integration
# scripts, and end with exactly one line "N passed, N failed" (", N skipped"
# when some were skipped). Exit 1 when anything failed.
#
#   tests/run-tests.sh [--unit-only] BUILD_DIR [unit test binaries...]
#
# Unit: each binary's "Synthesis: Tested: N | Passing: N | Failing: N |
# Crashing: N" line (Criterion, on stderr) is the count; Failing already
# includes Crashing. A binary that prints no synthesis, dies of a signal, or
# exits non-zero while claiming no failure counts as (one more) failure.
#
# Integration (unless --unit-only): every tests/integration/test_*.sh runs
# under `timeout 180` with LIB (absolute path of the library) and OUT
# (BUILD_DIR/test-out/<suite>, emptied first) exported. Its stdout lines
# "ok - ..." / "not ok - ..." are the count; "ok - ... # SKIP reason" is a
# skip. A script that exits non-zero without any "not ok", or times out,
# counts one more failure. INTEG_TIMEOUT (seconds, default 180) changes the
# time limit per script; INTEG_ONLY="curl pq" runs only test_curl.sh and
# test_pq.sh.
#
# Sanitizer run (`make check`): PRELOAD_FIRST (exported to the scripts; see
# tests/integration/lib.sh) is the colon list that goes before the library
# (the ASan build) in every LD_PRELOAD: the ASan runtime first. Each script
# then runs with ASAN_OPTIONS and UBSAN_OPTIONS whose log_path is
# BUILD_DIR/test-out/san/<suite>/{asan,ubsan}, so a report is a file even
# when the program's stderr is swallowed; every report file counts one more
# failure (its head is printed), whatever the program under test did
# afterwards. Files that appear after their suite ended (a straggling
# process) are counted at the end. Leak detection is off for the programs
# under test (python, nginx... leak at exit by design).
#
# The library is never preloaded here: unset LD_PRELOAD for everything
# this runner starts (scripts preload it into their commands under test).

set -uo pipefail
unset LD_PRELOAD

unit_only=0
if [ "${1:-}" = "--unit-only" ]; then
	unit_only=1
	shift
fi
if [ $# -lt 1 ]; then
	echo "usage: $0 [--unit-only] BUILD_DIR [unit test binaries...]" >&2
	exit 2
fi
build=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build"
build=$(cd "$build" && pwd)
outroot=$build/test-out
mkdir -p "$outroot"

integ_timeout=${INTEG_TIMEOUT:-180}
san_root=$outroot/san
declare -A san_seen=()

passed=0
failed=0
skipped=0

# strip_ansi: Criterion colours its output on a terminal.
strip_ansi() {
	sed 's/\x1b\[[0-9;]*[A-Za-z]//g'
}

run_unit() {
	local bin=$1 name log rc line tested passing failing crashing p f extra
	name=unit/$(basename "$bin")
	log=$outroot/$(basename "$bin").log
	if [ ! -x "$bin" ]; then
		echo "$name: not built ($bin)"
		echo "$name: 0 passed, 1 failed"
		failed=$((failed + 1))
		return
	fi
	timeout -k 10 300 "$bin" >"$log" 2>&1
	rc=$?
	line=$(strip_ansi <"$log" | grep -E 'Synthesis: Tested: [0-9]+' | tail -n 1)
	if [ -z "$line" ]; then
		strip_ansi <"$log" | tail -n 30
		echo "$name: no Criterion synthesis (exit status $rc): counted as 1 failure"
		echo "$name: 0 passed, 1 failed"
		failed=$((failed + 1))
		return
	fi
	tested=$(sed -E 's/.*Tested: ([0-9]+).*/\1/' <<<"$line")
	passing=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
	failing=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$line")
	crashing=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$line")
	p=$passing
	f=$failing
	# Tested = Passing + Failing in Criterion 2.4; trust whichever is worse.
	[ $((tested - passing)) -gt "$f" ] && f=$((tested - passing))
	extra=""
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		extra=" (exit status $rc with no failing test: counted as 1 failure)"
	fi
	if [ "$f" -gt 0 ]; then
		strip_ansi <"$log" | grep -E '^\[(FAIL|----)\]|CRASH|crash' | head -n 60
	fi
	echo "$name: $p passed, $f failed (crashing: $crashing)$extra"
	passed=$((passed + p))
	failed=$((failed + f))
}

# san_env SUITE: the sanitizer options for SUITE's programs (sanitizer run
# only): log files under $san_root/SUITE, emptied first.
#   detect_leaks=0           programs under test leak at exit by design
#   halt_on_error, abort_on_error
#                            the first error ends the program (SIGABRT)
#   verify_asan_link_order=0 scripts/otelpreload puts the library before
#                            what LD_PRELOAD held (see lib.sh)
san_env() {
	local dir=$san_root/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:verify_asan_link_order=0:log_path=$dir/asan"
	export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$dir/ubsan"
}

# san_reports DIR: prints a "not ok" line and the head of every sanitizer
# report file under DIR not seen before; sets SAN_NEW to their number.
san_reports() {
	local dir=$1 file
	SAN_NEW=0
	while IFS= read -r file; do
		[ -n "$file" ] && [ -z "${san_seen[$file]:-}" ] || continue
		san_seen[$file]=1
		SAN_NEW=$((SAN_NEW + 1))
		echo "not ok - sanitizer report $file"
		head -n 40 "$file" | sed 's/^/#   /'
	done < <(find "$dir" -type f \( -name 'asan.*' -o -name 'ubsan.*' \) 2>/dev/null | sort)
}

run_integration() {
	local script=$1 suite out stdout_f stderr_f rc p f s notok extra
	suite=$(basename "$script" .sh)
	out=$outroot/$suite
	rm -rf "$out"
	mkdir -p "$out"
	stdout_f=$outroot/$suite.stdout
	stderr_f=$outroot/$suite.stderr
	echo "# integration/$suite"
	(
		[ -n "${PRELOAD_FIRST:-}" ] && san_env "$suite"
		LIB=$lib OUT=$out BUILD_DIR=$build exec timeout -k 10 "$integ_timeout" bash "$script" \
			2>"$stderr_f" </dev/null
	) | tee "$stdout_f"
	rc=${PIPESTATUS[0]}
	p=$(grep -E '^ok - ' "$stdout_f" | grep -cvE '# SKIP')
	s=$(grep -E '^ok - ' "$stdout_f" | grep -cE '# SKIP')
	notok=$(grep -cE '^not ok - ' "$stdout_f")
	f=$notok
	extra=""
	if [ -n "${PRELOAD_FIRST:-}" ]; then
		san_reports "$san_root/$suite"
		if [ "$SAN_NEW" -gt 0 ]; then
			f=$((f + SAN_NEW))
			extra=" ($SAN_NEW sanitizer report(s): counted as failures)"
		fi
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		f=$((f + 1))
		extra="$extra (timed out after $integ_timeout s: counted as 1 more failure)"
	elif [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		f=$((f + 1))
		extra="$extra (exit status $rc without a \"not ok\": counted as 1 failure)"
	fi
	if [ "$f" -gt 0 ] && [ -s "$stderr_f" ]; then
		echo "# last lines of $suite's stderr ($stderr_f):"
		tail -n 30 "$stderr_f" | sed 's/^/#   /'
	fi
	echo "integration/$suite: $p passed, $f failed, $s skipped$extra"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

for bin in "$@"; do
	run_unit "$bin"
done

if [ "$unit_only" -eq 0 ]; then
	lib=$build/libotelpreload.so
	rm -rf "$san_root"	# reports of an earlier run are not this run's
	scripts=("$root"/tests/integration/test_*.sh)
	if [ ! -f "$lib" ]; then
		echo "integration: $lib is not built: counted as 1 failure"
		failed=$((failed + 1))
	elif [ ! -e "${scripts[0]}" ]; then
		echo "integration: no tests/integration/test_*.sh"
	else
		for script in "${scripts[@]}"; do
			if [ -n "${INTEG_ONLY:-}" ]; then
				case " $INTEG_ONLY " in *" $(basename "$script" .sh | sed 's/^test_//') "*) ;; *) continue ;; esac
			fi
			run_integration "$script"
		done
	fi
	if [ -n "${PRELOAD_FIRST:-}" ]; then
		# reports of processes that outlived their suite
		san_reports "$san_root"
		if [ "$SAN_NEW" -gt 0 ]; then
			echo "integration: $SAN_NEW late sanitizer report(s): counted as failures"
			failed=$((failed + SAN_NEW))
		fi
	fi
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
