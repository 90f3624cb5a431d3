#!/usr/bin/env bash
# test_doctor.sh - `otelpreload doctor` gives the right verdict, with its
# reason, for the kinds of program the README names.
. "$(dirname "$0")/lib.sh"

OP=$INTEG_DIR/../../scripts/otelpreload
export OTELPRELOAD_LIB=$LIB
# No collector is asked: the file exporter needs none.
export OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE=$OUT/unused.jsonl

# doctor_case DESC EXPECTED_RC PATTERN... -- TARGET: run the doctor on
# TARGET; its exit status is EXPECTED_RC and every PATTERN (an ERE) matches
# some line of its output.
doctor_case() {
	local desc=$1 want=$2 out rc p missing=()
	shift 2
	local pats=()
	while [ "$1" != -- ]; do pats+=("$1"); shift; done
	shift
	out=$(bash "$OP" doctor "$1" 2>&1)
	rc=$?
	for p in "${pats[@]}"; do
		grep -qE -- "$p" <<<"$out" || missing+=("$p")
	done
	if [ "$rc" -eq "$want" ] && [ ${#missing[@]} -eq 0 ]; then
		ok "doctor: $desc"
	else
		not_ok "doctor: $desc" "exit $rc (want $want); missing: ${missing[*]}" "$out"
	fi
}

cat >"$OUT/net.c" <<'C'
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
	char b[16];
	(void)argv;
	if (argc > 5 && connect(fd, (void *)&a, sizeof(a)) == 0)
		return (int)read(fd, b, sizeof(b));
	return 0;
}
C
if cc -O2 -D_FORTIFY_SOURCE=2 -o "$OUT/net_dyn" "$OUT/net.c" 2>"$OUT/cc.err"; then
	doctor_case "a dynamic C program with socket calls" 0 \
		'^ok: dynamically linked against glibc' '^ok: libc socket calls: .*socket.*connect' \
		'^traceable: yes$' -- "$OUT/net_dyn"
else
	not_ok "doctor: compile the dynamic test program" "$(cat "$OUT/cc.err")"
fi
if cc -O2 -static -o "$OUT/net_static" "$OUT/net.c" 2>"$OUT/cc-static.err"; then
	doctor_case "a static C program" 1 '^no: statically linked' '^traceable: no$' -- "$OUT/net_static"
else
	skip "doctor: a static C program" "no static libc (libc6-dev's libc.a)"
fi
# setuid: a copy of the dynamic program with the bit set (never run).
if [ -f "$OUT/net_dyn" ]; then
	cp "$OUT/net_dyn" "$OUT/net_setuid"
	chmod u+s "$OUT/net_setuid"
	doctor_case "a setuid program" 1 '^no: setuid' '^traceable: no$' -- "$OUT/net_setuid"
	cp "$OUT/net_dyn" "$OUT/net_setgid"
	chmod g+s "$OUT/net_setgid"
	doctor_case "a setgid program" 1 '^no: setgid' '^traceable: no$' -- "$OUT/net_setgid"
fi
[ -e /usr/bin/passwd ] && [ -u /usr/bin/passwd ] &&
	doctor_case "passwd (setuid root)" 1 '^no: setuid' -- /usr/bin/passwd
doctor_case "python3 (through a PATH shim, if any)" 0 '^ok: dynamically linked' \
	'^ok: libc socket calls' '^traceable: yes$' -- "$PY"
doctor_case "python3 by name" 0 '^ok: libc socket calls' '^traceable: yes$' -- python3
if command -v psql >/dev/null 2>&1; then
	doctor_case "psql (Debian's pg_wrapper followed to the real psql)" 0 \
		'^ok: libpq \(.*libpq\.so' '^traceable: yes$' -- psql
else
	skip "doctor: psql" "postgresql-client not installed"
fi
doctor_case "curl" 0 '^ok: libcurl \(.*libcurl\.so' '^traceable: yes$' -- curl
if [ -x /usr/lib/git-core/git-remote-http ]; then
	doctor_case "git-remote-http (libcurl-gnutls)" 0 '^ok: libcurl \(.*libcurl-gnutls\.so' \
		'^traceable: yes$' -- /usr/lib/git-core/git-remote-http
else
	skip "doctor: git-remote-http" "git not installed"
fi
doctor_case "a missing program" 1 "^no: 'no-such-program-xyz' not found" -- no-such-program-xyz
printf '#!/no/such/interpreter\n' >"$OUT/badscript"
chmod +x "$OUT/badscript"
doctor_case "a script whose interpreter is missing" 1 '^no: its interpreter' -- "$OUT/badscript"
# A Go-built binary: the go tool itself, else any Go program at hand (the
# docker CLI is one); readelf must find a .go.buildinfo section in it.
go=$(command -v go || true)
if [ -z "$go" ]; then
	for cand in docker dockerd containerd runc kubectl gh hugo; do
		cand=$(command -v "$cand" 2>/dev/null) || continue
		if readelf -S -W "$cand" 2>/dev/null | grep -E '\.go\.buildinfo' >/dev/null; then
			go=$cand
			break
		fi
	done
fi
if [ -n "$go" ]; then
	doctor_case "a Go program ($go)" 1 '^no: .*Go' -- "$go"
else
	skip "doctor: a Go program" "no Go-built binary on this machine"
fi
# The collector check: a receiver that answers, and a port nobody listens on.
start_receiver doctor
OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=$RECEIVER_URL \
	doctor_case "the configured collector answers" 0 '^ok: the OTLP endpoint .* answers' -- curl
port=$(free_port)
OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port \
	doctor_case "a collector that does not answer" 0 '^info: the OTLP endpoint .* does not answer' -- curl
stop_receiver
finish
