#!/usr/bin/env bash
# make demo: unmodified programs under the library, spans on the console
# and in a file. Starts only processes it ends itself.
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=$PWD/build/libotelpreload.so
OUT=$(mktemp -d)
trap 'kill "${SRV:-}" "${FRONT:-}" "${BACK:-}" 2>/dev/null || true; rm -rf "$OUT"' EXIT

echo "== 1. getent ahosts localhost, spans on stderr (OTEL_TRACES_EXPORTER=console)"
LD_PRELOAD=$LIB OTEL_SERVICE_NAME=probe OTEL_TRACES_EXPORTER=console getent ahosts localhost

echo
echo "== 2. a python3 client that resolves and connects, as a child of a caller's trace"
env -u LD_PRELOAD python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
sys.stdin.read()' > "$OUT/port" < <(sleep 30) & SRV=$!
for _ in $(seq 1 100); do [ -s "$OUT/port" ] && break; sleep 0.05; done
PORT=$(cat "$OUT/port")
TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \
LD_PRELOAD=$LIB OTEL_SERVICE_NAME=demo-client OTEL_TRACES_EXPORTER=console,file \
OTELPRELOAD_FILE=$OUT/traces.jsonl python3 -c "
import socket
socket.create_connection(('localhost', $PORT)).close()
try:
    socket.create_connection(('127.0.0.1', 1))
except OSError as e:
    print('connection to port 1:', e.strerror)
"
echo
echo "== the same spans as OTLP/JSON lines in the file exporter's format:"
head -c 400 "$OUT/traces.jsonl"; echo " ..."

echo
echo "== 3. three unmodified programs, one trace: wget -> front (python) -> back (python)"
PROGS=tests/integration/progs
TR=$OUT/chain.jsonl
run_svc() { # NAME ROLE PORTFILE [extra args]
	local name=$1 role=$2 pf=$3
	shift 3
	LD_PRELOAD=$LIB OTEL_SERVICE_NAME=$name OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE=$TR \
		python3 "$PROGS/chain_server.py" --role "$role" --port-file "$pf" "$@" &
}
run_svc back back "$OUT/back.port"; BACK=$!
for _ in $(seq 1 100); do [ -s "$OUT/back.port" ] && break; sleep 0.05; done
run_svc front front "$OUT/front.port" --back-port "$(cat "$OUT/back.port")"; FRONT=$!
for _ in $(seq 1 100); do [ -s "$OUT/front.port" ] && break; sleep 0.05; done
LD_PRELOAD=$LIB OTEL_SERVICE_NAME=wget OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE=$TR \
	wget -q -O - "http://127.0.0.1:$(cat "$OUT/front.port")/hello"; echo
kill "$FRONT" "$BACK"; wait "$FRONT" "$BACK" 2>/dev/null || true
python3 scripts/waterfall.py "$TR"
