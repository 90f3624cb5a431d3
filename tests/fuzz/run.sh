#!/usr/bin/env bash
#
# run.sh - what `make fuzz` runs: build every tests/fuzz/fuzz_*.c as a
# libFuzzer binary (ASan + UBSan), fuzz each for FUZZ_SECONDS, and end with
# exactly one line "N passed, N failed" (one per target). Exit 1 when any
# target failed to build, crashed, leaked, hung or ran out of memory.
#
#   tests/fuzz/run.sh [NAME...]      NAME: config, propagation, ... (default: all)
#
# Environment:
#   FUZZ_SECONDS      fuzzing time per target (default 60)
#   FUZZ_KEEP_CORPUS  1: keep the scratch corpus of the previous run
#                     (default: start again from the seeds, so runs compare)
#
# A target names the library sources it links with on one line of its own:
#   // SOURCES: runtime/propagation.c runtime/hex.c runtime/kvlist.c
#
# Per target NAME (fuzz_NAME.c), everything goes under build/fuzz/NAME/:
# the binary, build.log, fuzz.log, the scratch corpus corpus/ (seeded by
# copying tests/fuzz/corpus/NAME/; libFuzzer writes new inputs there, never
# into the seeds) and libFuzzer's artifacts (crash-*, leak-*, timeout-*,
# oom-*), each of which reproduces with `build/fuzz/NAME/fuzz_NAME <file>`.
#
# Bounded in time: libFuzzer stops itself after FUZZ_SECONDS
# (-max_total_time); a hard `timeout` of FUZZ_SECONDS + 120 s backs that up.
# clang is installed with apt-get only when `dpkg -s clang` says it is
# missing.

set -uo pipefail
unset LD_PRELOAD			# never fuzz with the library preloaded

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2

secs=${FUZZ_SECONDS:-60}
case $secs in
'' | *[!0-9]*)
	echo "run.sh: FUZZ_SECONDS must be a whole number of seconds, not '$secs'" >&2
	exit 2
	;;
esac
if [ "$secs" -lt 1 ]; then
	echo "run.sh: FUZZ_SECONDS must be at least 1" >&2
	exit 2
fi

CFLAGS_FUZZ=(-g -O1 -fno-omit-frame-pointer "-fsanitize=fuzzer,address,undefined"
	-fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE)
FUZZ_ARGS=(-max_total_time="$secs" -max_len=4096 -timeout=5 -rss_limit_mb=2048
	-print_final_stats=1)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# clang (its package brings the libFuzzer runtime): only when missing.
if ! dpkg -s clang >/dev/null 2>&1; then
	echo "run.sh: clang is not installed; installing it with apt-get" >&2
	sudo=()
	[ "$(id -u)" -ne 0 ] && sudo=(sudo -n)
	"${sudo[@]}" apt-get update -qq &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends clang >/dev/null
fi
if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not available; cannot build the fuzz targets" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# The targets: all, or the names given.
targets=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		targets+=("tests/fuzz/fuzz_$n.c")
	done
else
	for f in tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] && targets+=("$f")
	done
fi

passed=0
failed=0

# The value of a libFuzzer "stat::NAME:" line in log, or n/a.
final_stat() {
	local v
	v=$(sed -n "s/^stat::$1: *//p" "$2" | tail -n 1)
	echo "${v:-n/a}"
}

# The last "KEY: N" of libFuzzer's status lines ("cov: 123 ft: 456 ...").
status_field() {
	local v
	v=$(grep -o "$1: [0-9]*" "$2" | tail -n 1 | awk '{ print $2 }')
	echo "${v:-n/a}"
}

# What went wrong, from a crashing run's log and its reproducer.
explain() {
	local log=$1 artifact=$2

	grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:)' "$log" | head -n 5 | sed 's/^/    /'
	# The first frames outside the sanitizer and libFuzzer runtimes.
	grep -E '^ +#[0-9]+ ' "$log" | grep -vE '__sanitizer|fuzzer::|libc\.so|__asan|__ubsan| in main | in _start |libc_start' |
		head -n 8 | sed 's/^ */    /'
	if [ -n "$artifact" ]; then
		echo "    reproducer: $artifact ($(wc -c <"$artifact") bytes)"
		xxd "$artifact" | head -n 16 | sed 's/^/      /'
	fi
}

for src in "${targets[@]}"; do
	base=$(basename "$src" .c)
	name=${base#fuzz_}
	out=build/fuzz/$name
	bin=$out/$base
	log=$out/fuzz.log

	if [ ! -f "$src" ]; then
		echo "$name: FAILED: no such target $src"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$out"

	# Build: the target plus the library sources it declares.
	read -r -a sources <<<"$(sed -n 's|^// SOURCES:||p' "$src" | head -n 1)"
	missing=0
	for s in "${sources[@]}"; do
		if [ ! -f "$s" ]; then
			echo "$name: FAILED: $src names a missing source $s"
			missing=1
		fi
	done
	if [ "$missing" -ne 0 ]; then
		failed=$((failed + 1))
		continue
	fi
	if ! clang "${CFLAGS_FUZZ[@]}" "$src" "${sources[@]}" -o "$bin" >"$out/build.log" 2>&1; then
		echo "$name: FAILED to build (clang ${CFLAGS_FUZZ[*]} $src ${sources[*]}):"
		tail -n 20 "$out/build.log" | sed 's/^/    /'
		failed=$((failed + 1))
		continue
	fi

	# Scratch corpus from the seeds.
	[ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$out/corpus"
	mkdir -p "$out/corpus"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -R "tests/fuzz/corpus/$name/." "$out/corpus/"
	fi
	seeds=$(find "$out/corpus" -type f | wc -l)

	# Fuzz. Artifacts of earlier runs stay; only newer ones count.
	stamp=$out/.started
	touch "$stamp"
	timeout -k 10 $((secs + 120)) "$bin" "${FUZZ_ARGS[@]}" -artifact_prefix="$out/" \
		"$out/corpus" >"$log" 2>&1
	rc=$?
	artifact=$(find "$out" -maxdepth 1 -newer "$stamp" -type f \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) |
		head -n 1)

	execs=$(final_stat average_exec_per_sec "$log")
	runs=$(final_stat number_of_executed_units "$log")
	cov=$(status_field cov "$log")
	ft=$(status_field ft "$log")
	corp=$(find "$out/corpus" -type f | wc -l)
	summary="$execs exec/s, cov $cov, ft $ft, $runs runs, corpus $seeds -> $corp"

	if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
		echo "$name: ok: $summary"
		passed=$((passed + 1))
	else
		case $rc in
		124 | 137) why="did not stop in time (killed by timeout)" ;;
		*) why="CRASHED (exit $rc)" ;;
		esac
		echo "$name: $why: $summary; log $log"
		explain "$log" "$artifact"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
