#!/usr/bin/env bash
# doctor.sh - can this program be traced by libotelpreload.so, and what will
# be seen? (`otelpreload doctor CMD|PATH`)
#
#   doctor.sh [--lib LIB] CMD|PATH
#
# Prints one verdict per line, "ok:", "no:" or "info:" first, each with its
# reason; the last line is the overall verdict ("traceable: yes/no"). Exit
# status 0 when the program can be traced, 1 when it cannot, 2 on a usage
# error. Reads the ELF headers (readelf) and the libraries the loader would
# map (ldd, which runs nothing of the program for a dynamic ELF with the
# system's loader); never runs the program itself.
set -uo pipefail

lib=
if [ "${1:-}" = --lib ]; then
	lib=$2
	shift 2
fi
[ $# -eq 1 ] || { echo "usage: otelpreload doctor CMD|PATH" >&2; exit 2; }
for t in readelf ldd; do
	command -v "$t" >/dev/null 2>&1 || { echo "otelpreload doctor: $t not found (binutils, libc-bin)" >&2; exit 2; }
done

arg=$1
case $arg in
*/*) path=$arg ;;
*) path=$(command -v -- "$arg" 2>/dev/null || true) ;;
esac
if [ -z "$path" ] || [ ! -e "$path" ]; then
	echo "no: '$arg' not found (not a file, not on PATH)"
	echo "traceable: no"
	exit 1
fi
real=$(readlink -f -- "$path")
[ "$real" = "$path" ] || echo "info: $path is $real"
path=$real

verdict=yes
no() { echo "no: $*"; verdict=no; }
ok() { echo "ok: $*"; }
info() { echo "info: $*"; }

# Wrappers that exec the real program: Debian's pg_wrapper (psql, pg_dump,
# ...) runs /usr/lib/postgresql/<version>/bin/<name>; a version manager's
# shim (pyenv) is a shell script ahead of the real program on PATH.
if [ "$(head -c 2 -- "$path" 2>/dev/null)" = "#!" ]; then
	name=$(basename -- "$arg")
	target=
	if [ "$path" = /usr/share/postgresql-common/pg_wrapper ]; then
		target=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1)
	elif [ "$arg" = "$name" ] && [[ $path == */.pyenv/shims/* ]] && command -v pyenv >/dev/null 2>&1; then
		target=$(readlink -f -- "$(pyenv which "$name" 2>/dev/null)" 2>/dev/null || true)
	elif [ "$arg" = "$name" ] && head -n 1 -- "$path" | grep -qE '(^#![[:space:]]*/bin/(ba|da)?sh|env[[:space:]]+(ba|da)?sh)([[:space:]]|$)'; then
		for cand in $(type -a -P -- "$name" 2>/dev/null); do
			c=$(readlink -f -- "$cand")
			if [ "$c" != "$path" ] && [ "$(head -c 4 -- "$c" 2>/dev/null)" = $'\x7fELF' ]; then
				target=$c
				break
			fi
		done
	fi
	if [ -n "$target" ]; then
		info "$path is a wrapper script; the program it runs is $target"
		exec "$0" ${lib:+--lib "$lib"} "$target"
	fi
fi

# A script: the interpreter is what gets preloaded.
if [ "$(head -c 2 -- "$path" 2>/dev/null)" = "#!" ]; then
	interp=$(head -n 1 -- "$path" | sed -e 's/^#![[:space:]]*//')
	set -- $interp
	if [ "$(basename "$1")" = env ] && [ $# -ge 2 ]; then
		shift
		while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
		ipath=$(command -v -- "${1:-}" 2>/dev/null || true)
	else
		ipath=$1
	fi
	info "a script for ${ipath:-$interp}: the interpreter is what gets traced"
	if [ -z "${ipath:-}" ] || [ ! -e "$ipath" ]; then
		no "its interpreter '${interp}' was not found"
		echo "traceable: no"
		exit 1
	fi
	# A pyenv-style shim is itself a script: follow to the real binary.
	exec "$0" ${lib:+--lib "$lib"} "$ipath"
fi

if ! readelf -h -- "$path" >/dev/null 2>&1; then
	no "$path is not an ELF executable"
	echo "traceable: no"
	exit 1
fi

# setuid / setgid / file capabilities: the loader runs them in secure-execution
# mode, which ignores LD_PRELOAD paths with a slash.
mode=$(stat -c %A -- "$path")
case ${mode:3:1} in s | S) no "setuid ($mode): the loader ignores LD_PRELOAD for it (secure-execution mode)" ;; esac
case ${mode:6:1} in s | S) no "setgid ($mode): the loader ignores LD_PRELOAD for it (secure-execution mode)" ;; esac
if command -v getcap >/dev/null 2>&1; then
	caps=$(getcap -- "$path" 2>/dev/null | sed -e "s|^$path[[:space:]]*||")
	[ -n "$caps" ] && no "file capabilities ($caps): the loader ignores LD_PRELOAD for it (secure-execution mode)"
fi

go=0
# grep reads all of readelf's output (no -q): with pipefail, a grep that
# stopped early would fail the pipeline through readelf's SIGPIPE.
if readelf -S -W -- "$path" 2>/dev/null | grep -E '\.go\.buildinfo|\.note\.go\.buildid|\.gopclntab' >/dev/null; then
	go=1
fi
interp=$(readelf -l -W -- "$path" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
if [ -z "$interp" ]; then
	if [ $go -eq 1 ]; then
		no "a statically linked Go program: it makes system calls itself, LD_PRELOAD is never consulted"
	else
		no "statically linked: there is no dynamic loader to preload anything"
	fi
	echo "traceable: no"
	exit 1
fi
case $interp in
*musl*) no "built for musl libc ($interp): the library is built for glibc and will not load" ;;
*ld-linux*) ok "dynamically linked against glibc ($interp)" ;;
*) info "unusual program interpreter $interp" ;;
esac
if [ $go -eq 1 ]; then
	no "a Go program: Go makes its network system calls directly, not through libc (only cgo code, e.g. its DNS resolver in some builds, goes through libc)"
fi
machine=$(readelf -h -- "$path" | sed -n 's/.*Machine:[[:space:]]*//p')
case $machine in
*X86-64* | *x86-64*) ;;
*) info "machine: $machine (the library is built for $(uname -m))" ;;
esac

# What the program and the libraries it loads import.
libs=$(ldd -- "$path" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p')
imports() {
	readelf --dyn-syms -W -- "$1" 2>/dev/null | awk '$7 == "UND" { sub(/@.*/, "", $8); print $8 }'
}
all=$( { imports "$path"; for l in $libs; do case $l in */libc.so.*) ;; *) imports "$l" ;; esac; done; } | sort -u)
has() { grep -qx -- "$1" <<<"$all"; }
pick() {
	local out=() s
	for s in "$@"; do has "$s" && out+=("$s"); done
	echo "${out[*]}"
}

net=$(pick socket connect accept accept4 read readv recv recvfrom recvmsg write writev send sendto sendmsg)
fort=$(pick __read_chk __recv_chk __recvfrom_chk)
if [ -n "$net$fort" ]; then
	ok "libc socket calls: $net${fort:+ (FORTIFY: $fort)}: HTTP/1.x client and server spans, connect spans"
else
	info "no libc socket calls imported by the program or its libraries (plugins it loads at run time may still make them)"
fi
has getaddrinfo && ok "getaddrinfo: DNS spans"
pq=$(grep -m1 -E '/libpq\.so' <<<"$libs" || true)
if [ -n "$pq" ]; then
	ok "libpq ($pq): PostgreSQL query and connect spans"
elif has PQexec || has PQsendQuery; then
	ok "libpq calls: PostgreSQL query and connect spans"
fi
cu=$(grep -m1 -E '/libcurl(-gnutls)?\.so' <<<"$libs" || true)
[ -n "$cu" ] && ok "libcurl ($cu): HTTP(S) client spans with propagation, HTTP/2 included"
for p in libpython libruby libperl libnode libphp; do
	l=$(grep -m1 "/$p" <<<"$libs" || true)
	[ -n "$l" ] && info "$p ($l): its network modules are loaded at run time; sockets they use are traced"
done
has io_uring_setup && info "io_uring: traffic through io_uring is not seen"

# The collector, as the library would be configured in this environment.
exporters=${OTEL_TRACES_EXPORTER:-otlp}
case ",$exporters," in
*,otlp,*)
	ep=${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:-}
	[ -n "$ep" ] || ep=${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4318}/v1/traces
	ep=${ep/\/\/v1/\/v1}
	if command -v curl >/dev/null 2>&1; then
		code=$(env -u LD_PRELOAD curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
			-X POST -H 'Content-Type: application/x-protobuf' --data-binary '' "$ep" 2>/dev/null)
		if [ -n "$code" ] && [ "$code" != 000 ]; then
			ok "the OTLP endpoint $ep answers (HTTP $code)"
		else
			info "the OTLP endpoint $ep does not answer: spans would be dropped (start a collector, or set OTEL_TRACES_EXPORTER=file/console)"
		fi
	else
		info "curl not found: the OTLP endpoint $ep was not checked"
	fi
	;;
esac
case ",$exporters," in *,file,*) ok "file exporter: spans go to ${OTELPRELOAD_FILE:-./otelpreload-traces.jsonl}" ;; esac
case ",$exporters," in *,console,*) ok "console exporter: spans go to stderr" ;; esac
if [ -n "$lib" ]; then
	[ -f "$lib" ] && ok "library: $lib" || no "library $lib not found (make, or make install)"
fi

echo "traceable: $verdict"
[ "$verdict" = yes ]
