#!/usr/bin/env bash
# test_exec.sh - the current span reaches programs started while a request
# is served: subprocess (vfork + exec) gets TRACEPARENT of the server span.
#
# Run by tests/run-tests.sh with LIB and OUT set.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PROGS=$INTEG_DIR/progs
rm -f "$OUT/spawn.port" "$OUT/spawn.jsonl"
env LD_PRELOAD="$PRELOAD" OTEL_SERVICE_NAME=spawner OTEL_TRACES_EXPORTER=file \
	OTELPRELOAD_FILE="$OUT/spawn.jsonl" "$PY" "$PROGS/spawn_server.py" "$OUT/spawn.port" \
	2>"$OUT/spawn.err" &
SRV=$!
track_pid "$SRV"
if wait_for "test -s '$OUT/spawn.port'" 10; then
	got=$(env -u LD_PRELOAD "$PY" -c '
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("GET", "/x", headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
print(c.getresponse().read().decode())' "$(cat "$OUT/spawn.port")")
	kill -TERM "$SRV"
	wait "$SRV" 2>/dev/null
	case $got in
	00-4bf92f3577b34da6a3ce929d0e0e4736-*-0[13])
		ok "subprocess child sees TRACEPARENT in the request's trace ($got)" ;;
	*)
		not_ok "subprocess child sees TRACEPARENT in the request's trace" "got: '$got'" ;;
	esac
	sid=${got:36:16}
	server_ids=$(spans get "$OUT/spawn.jsonl" --field spanId --kind 2 2>/dev/null | tr '\n' ' ')
	case " $server_ids " in
	*" $sid "*) ok "the child's parent id is the server span's id" ;;
	*) not_ok "the child's parent id is the server span's id" "child: $sid, server spans: $server_ids" ;;
	esac
else
	not_ok "spawn server started" "$(cat "$OUT/spawn.err")"
fi
finish
