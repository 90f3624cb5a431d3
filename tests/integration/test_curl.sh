#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $ belongs to wait_for
#
# test_curl.sh - libcurl transfers seen from outside: unmodified programs
# that use libcurl (the curl command, git's git-remote-http, a C program on
# the multi interface, python3-pycurl inside a traced server) run with the
# library preloaded; every transfer must give one CLIENT span and carry
# exactly one traceparent naming it. The peers record the headers they
# really received (progs/curl_server.py, progs/curl_h2_server.js) and are
# never preloaded; spans come back from the file exporter (git: OTLP to the
# test receiver).
#
# Run by tests/run-tests.sh with LIB and OUT set; prints "ok - ..." /
# "not ok - ..." lines and exits 1 when any failed.
#
#  1 curl over plain HTTP: GET (every contract attribute), POST, the
#    application's own traceparent, credentials and a signed query (both
#    redacted in url.full), a 404 (status Error, error.type "404"); a
#    non-standard method (_OTHER), HTTP/1.0, redirects (resend_count), a
#    timeout (CURLE_OPERATION_TIMEDOUT)
#  2 HTTPS (python ssl server, self-signed certificate): curl -k
#  3 HTTP/2 over TLS (node http2): curl -k --http2, protocol version "2"
#  4 git ls-remote over HTTP (dumb protocol): git-remote-http loads
#    libcurl-gnutls while the exporter loads libcurl.so.4; same output,
#    spans for its requests, traceparents that name them
#  5 progs/curl_multi.c: 50 concurrent multi transfers, a closed port
#    (CURLE_COULDNT_CONNECT), curl_easy_reset between two transfers,
#    curl_easy_duphandle; output unchanged
#  6 a traced python3 server calling a backend with pycurl: the pycurl
#    span is the child of the SERVER span; the backend's traceparent
#    names the pycurl span
#  7 no double injection: one traceparent, one HTTP CLIENT span per curl
#    run (the socket-level HTTP injector stays quiet inside libcurl)
#  8 curl's output and exit status unchanged (a body, a 1 MiB body, a
#    closed port: exit 7 both ways)

set -u
set -o pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PROGS=$INTEG_DIR/progs
SYS_PY=/usr/bin/python3

missing=$(require curl "$PY") || {
	skip "curl suite" "$missing not installed"
	finish
}
if [ ! -f "$LIB" ]; then
	not_ok "library built" "no $LIB"
	finish
fi

# A trace context an application might set itself.
TP_TRACE=4bf92f3577b34da6a3ce929d0e0e4736
TP_PARENT=00f067aa0ba902b7

# ---------------------------------------------------------------------------
# helpers

# start_rec NAME [curl_server.py args...]: the recording server, never
# preloaded. Sets SRV_PID SRV_PORT SRV_LOG ($OUT/NAME.log, JSON lines).
SRV_PID=
SRV_PORT=
SRV_LOG=
start_rec() {
	local name=$1 pf=$OUT/$1.port
	shift
	SRV_LOG=$OUT/$name.log
	rm -f "$pf" "$SRV_LOG"
	env -u LD_PRELOAD "$PY" "$PROGS/curl_server.py" --port-file "$pf" --log "$SRV_LOG" "$@" \
		>"$OUT/$name.out" 2>"$OUT/$name.err" &
	SRV_PID=$!
	track_pid "$SRV_PID"
	SRV_PORT=
	wait_for "test -s '$pf'" 10 || return 1
	SRV_PORT=$(cat "$pf")
}

# stop_term PID: SIGTERM, wait (10 s) for a clean exit (spans flushed).
stop_term() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	if wait_for "! kill -0 $pid 2>/dev/null || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]" 10; then
		wait "$pid" 2>/dev/null
	else
		end_pid "$pid"
	fi
	return 0
}

# span_field SRC FIELD [filters...]: FIELD of the first matching span.
span_field() {
	local src=$1 field=$2
	shift 2
	spans get "$src" --field "$field" "$@" 2>/dev/null | head -n 1
}

# match LABEL SPANS LOG [curl_check.py options...]: server-side
# traceparents against the CLIENT spans (progs/curl_check.py).
match() {
	local label=$1 src=$2 log=$3
	shift 3
	count_verdicts env -u LD_PRELOAD "$PY" "$PROGS/curl_check.py" "$src" "$log" --label "$label" "$@"
}

# tp_count LOG: traceparent headers in all requests of LOG.
tp_count() {
	env -u LD_PRELOAD "$PY" -c '
import json, sys
print(sum(len(json.loads(l)["traceparents"]) for l in open(sys.argv[1]) if l.strip()))' "$1" 2>/dev/null ||
		echo "unreadable"
}

# header_seen LOG PATH NAME: the value(s) of header NAME in the request(s)
# to PATH, one per line ("-" when absent).
header_seen() {
	env -u LD_PRELOAD "$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    if not l.strip():
        continue
    r = json.loads(l)
    if r["path"] != sys.argv[2]:
        continue
    v = [h[1] for h in r["headers"] if h[0].lower() == sys.argv[3].lower()]
    print(",".join(v) if v else "-")' "$1" "$2" "$3" 2>/dev/null
}

# ccurl NAME SPANS CURL-ARGS...: curl under the library, file exporter.
# The server log is emptied first and copied to $OUT/NAME.srv afterwards,
# so each run has the requests it made and nothing else.
ccurl() {
	local name=$1 f=$2
	shift 2
	rm -f "$f"
	: >"$SRV_LOG"
	traced "$name" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$f" -- curl --max-time 20 "$@"
	cp "$SRV_LOG" "$OUT/$name.srv"
}

###########################################################################
# 1 / 7 / 8. curl over plain HTTP.

t1() {
	local P F U sid cid cp n
	if ! start_rec t1-srv; then
		not_ok "1 recording server started" "$(cat "$OUT/t1-srv.err")"
		return
	fi
	P=$SRV_PORT
	U=http://127.0.0.1:$P

	# GET: every attribute of the contract.
	F=$OUT/t1-get.jsonl
	ccurl t1-get "$F" -s "$U/x"
	expect_eq "1 GET: curl exits 0, body as sent" "0|hello GET /x" "$RC|$(cat "$OUT/t1-get.out")" \
		"$(head -n 5 "$OUT/t1-get.err")"
	match "1 GET" "$F" "$OUT/t1-get.srv" --path-re '^/x$' --expect 1
	expect_count "1 GET: CLIENT span GET with method, status 200, server.address/port, url.full, peer, protocol 1.1" \
		1 "$F" --kind 3 --name GET --status 0 --attr http.request.method=GET \
		--attr http.response.status_code=200 --attr server.address=127.0.0.1 --attr server.port="$P" \
		--attr url.full="$U/x" --attr network.peer.address=127.0.0.1 --attr network.peer.port="$P" \
		--attr network.protocol.version=1.1 --no-attr error.type --no-attr http.request.resend_count
	sid=$(span_field "$F" spanId --kind 3 --name GET)
	cid=$(span_field "$F" parentSpanId --kind 3 --name connect)
	expect_eq "1 GET: the TCP connect span is the child of the transfer's span" "${sid:-no GET span}" \
		"${cid:-no connect span, or no parent}" "$(spans dump "$F" 2>&1 | head -n 4)"
	expect_count "1 GET: no DNS span for an IP literal" 0 "$F" --has-attr dns.question.name
	# 7: no double injection on the same run
	expect_eq "7 plain HTTP: the server saw one traceparent in all (no second one from the socket-level injector)" \
		1 "$(tp_count "$OUT/t1-get.srv")" "$(cat "$OUT/t1-get.srv")"
	expect_count "7 plain HTTP: exactly one HTTP CLIENT span for the curl run (none from the socket layer)" \
		1 "$F" --kind 3 --has-attr http.request.method
	expect_count "7 plain HTTP: exactly one CLIENT span named GET" 1 "$F" --kind 3 --name GET

	# POST
	F=$OUT/t1-post.jsonl
	ccurl t1-post "$F" -s -X POST -d data "$U/post"
	expect_eq "1 POST: curl exits 0, body as sent" "0|hello POST /post" "$RC|$(cat "$OUT/t1-post.out")" \
		"$(head -n 5 "$OUT/t1-post.err")"
	match "1 POST" "$F" "$OUT/t1-post.srv" --path-re '^/post$' --expect 1
	expect_count "1 POST: CLIENT span POST, http.request.method POST, 200" 1 "$F" --kind 3 --name POST \
		--attr http.request.method=POST --attr http.response.status_code=200 --attr url.full="$U/post" --status 0
	expect_count "1 POST: one HTTP CLIENT span" 1 "$F" --kind 3 --has-attr http.request.method

	# The application's own traceparent.
	F=$OUT/t1-own.jsonl
	ccurl t1-own "$F" -s -H "traceparent: 00-$TP_TRACE-$TP_PARENT-01" "$U/own"
	expect_eq "1 own traceparent: curl exits 0" 0 "$RC" "$(head -n 5 "$OUT/t1-own.err")"
	match "1 own traceparent" "$F" "$OUT/t1-own.srv" --path-re '^/own$' --expect 1 \
		--own "00-$TP_TRACE-$TP_PARENT-01"
	expect_count "1 own traceparent: the transfer still has its one CLIENT span GET 200" 1 "$F" --kind 3 \
		--name GET --attr url.full="$U/own" --attr http.response.status_code=200
	expect_count "1 own traceparent: one HTTP CLIENT span" 1 "$F" --kind 3 --has-attr http.request.method

	# Credentials in the URL, a signed query.
	F=$OUT/t1-cred.jsonl
	ccurl t1-cred "$F" -s "http://user:pw@127.0.0.1:$P/x?sig=abc"
	expect_eq "1 credentials: curl exits 0, the server got Basic auth" "0|Basic dXNlcjpwdw==" \
		"$RC|$(header_seen "$OUT/t1-cred.srv" '/x?sig=abc' Authorization)" "$(head -n 5 "$OUT/t1-cred.err")"
	match "1 credentials" "$F" "$OUT/t1-cred.srv" --path-re '^/x$' --expect 1
	expect_count "1 credentials: url.full http://REDACTED:REDACTED@127.0.0.1:$P/x?sig=REDACTED, server.address 127.0.0.1" \
		1 "$F" --kind 3 --name GET --attr url.full="http://REDACTED:REDACTED@127.0.0.1:$P/x?sig=REDACTED" \
		--attr server.address=127.0.0.1 --attr server.port="$P"
	if [ -f "$F" ] && ! grep -qE 'user:pw|:pw@|sig=abc' "$F"; then
		ok "1 credentials: neither the password nor the signature is anywhere in the export"
	else
		not_ok "1 credentials: neither the password nor the signature is anywhere in the export" \
			"$(grep -oE '.{40}(user:pw|:pw@|sig=abc).{20}' "$F" 2>/dev/null | head -n 3)"
	fi

	# 404
	F=$OUT/t1-404.jsonl
	ccurl t1-404 "$F" -s "$U/status/404"
	expect_eq "1 404: curl exits 0 (no -f), body as sent" "0|status 404" "$RC|$(cat "$OUT/t1-404.out")"
	match "1 404" "$F" "$OUT/t1-404.srv" --path-re '^/status/404$' --expect 1
	expect_count "1 404: CLIENT span GET, status Error, error.type 404, http.response.status_code 404" 1 "$F" \
		--kind 3 --name GET --status 2 --attr error.type=404 --attr http.response.status_code=404

	# More of the contract: a method that is not standard, HTTP/1.0,
	# redirects followed (one transfer, one span), a timeout.
	F=$OUT/t1-other.jsonl
	ccurl t1-other "$F" -s -X FOO "$U/other"
	match "1 method FOO" "$F" "$OUT/t1-other.srv" --path-re '^/other$' --expect 1
	expect_count "1 method FOO: span HTTP, http.request.method _OTHER, http.request.method_original FOO" 1 "$F" \
		--kind 3 --name HTTP --attr http.request.method=_OTHER --attr http.request.method_original=FOO \
		--attr http.response.status_code=200
	F=$OUT/t1-http10.jsonl
	ccurl t1-http10 "$F" -s --http1.0 "$U/old"
	match "1 HTTP/1.0" "$F" "$OUT/t1-http10.srv" --path-re '^/old$' --expect 1
	expect_count "1 HTTP/1.0: network.protocol.version 1.0" 1 "$F" --kind 3 --name GET \
		--attr network.protocol.version=1.0 --attr url.full="$U/old" --attr http.response.status_code=200
	F=$OUT/t1-redir.jsonl
	ccurl t1-redir "$F" -s -L "$U/redirect/2"
	expect_eq "1 redirects: curl -L followed 2 redirects to /x" "0|hello GET /x" "$RC|$(cat "$OUT/t1-redir.out")"
	expect_count "1 redirects: one CLIENT span for the transfer, 200, http.request.resend_count 2" 1 "$F" \
		--kind 3 --name GET --attr http.request.resend_count=2 --attr http.response.status_code=200 --status 0
	expect_count "1 redirects: no other HTTP CLIENT span" 1 "$F" --kind 3 --has-attr http.request.method
	sid=$(span_field "$F" spanId --kind 3 --name GET)
	expect_eq "1 redirects: each of the 3 requests carried exactly one traceparent, naming the transfer's span" \
		"3 1 ${sid:-no span}" "$(tp_count "$OUT/t1-redir.srv") $(env -u LD_PRELOAD "$PY" -c '
import json, sys
tps = [t for l in open(sys.argv[1]) if l.strip() for t in json.loads(l)["traceparents"]]
p = {t.split("-")[2] for t in tps if t.count("-") == 3}
print(len(p), " ".join(sorted(p)))' "$OUT/t1-redir.srv")" "$(cat "$OUT/t1-redir.srv")"
	F=$OUT/t1-slow.jsonl
	ccurl t1-slow "$F" -s --max-time 1 "$U/slow"
	expect_eq "1 timeout: curl --max-time 1 exits 28" 28 "$RC"
	expect_count "1 timeout: span status Error, error.type CURLE_OPERATION_TIMEDOUT, no status code" 1 "$F" \
		--kind 3 --name GET --status 2 --attr error.type=CURLE_OPERATION_TIMEDOUT --attr url.full="$U/slow" \
		--no-attr http.response.status_code

	# DNS: "localhost" gets no DNS span; a name resolved by getaddrinfo (this
	# machine's host name, when it resolves to 127.0.0.1 only) gets one, the
	# child of the transfer's span.
	F=$OUT/t1-localhost.jsonl
	ccurl t1-localhost "$F" -s "http://localhost:$P/lh"
	expect_eq "1 localhost: CLIENT span GET 200, server.address localhost, no DNS span" "1 0" \
		"$(spans count "$F" --kind 3 --name GET --attr server.address=localhost \
			--attr http.response.status_code=200 2>&1) $(spans count "$F" --name getaddrinfo 2>&1)"
	local hn addrs
	hn=$(hostname 2>/dev/null)
	addrs=$(getent ahosts "$hn" 2>/dev/null | awk '{ print $1 }' | sort -u | paste -sd' ')
	if [ -n "$hn" ] && [ "$addrs" = 127.0.0.1 ]; then
		F=$OUT/t1-dns.jsonl
		ccurl t1-dns "$F" -s "http://$hn:$P/dns"
		sid=$(span_field "$F" spanId --kind 3 --name GET --attr server.address="$hn")
		expect_count "1 DNS: the getaddrinfo span for $hn is the child of the transfer's span" 1 "$F" \
			--name getaddrinfo --attr dns.question.name="$hn" --parent "${sid:-no GET span}"
		expect_count "1 DNS: the connect span too" 1 "$F" --name connect --parent "${sid:-no GET span}"
	else
		skip "1 DNS: getaddrinfo span under the transfer's span" "host name '$hn' resolves to '$addrs', not 127.0.0.1 alone"
	fi

	# 8: output and exit status unchanged.
	local base got
	for path in /x /big; do
		: >"$SRV_LOG"
		env -u LD_PRELOAD curl --max-time 20 -s "$U$path" >"$OUT/t8-native$(tr / _ <<<"$path").body" 2>&1
		n=$?
		F=$OUT/t8$(tr / _ <<<"$path").jsonl
		ccurl "t8$(tr / _ <<<"$path")" "$F" -s "$U$path"
		if [ "$n" = "$RC" ] && cmp -s "$OUT/t8-native$(tr / _ <<<"$path").body" "$OUT/t8$(tr / _ <<<"$path").out" &&
			[ ! -s "$OUT/t8$(tr / _ <<<"$path").err" ]; then
			ok "8 curl -s $path: the same bytes on stdout ($(wc -c <"$OUT/t8$(tr / _ <<<"$path").out") B), nothing on stderr, exit $RC both ways"
		else
			not_ok "8 curl -s $path: the same bytes on stdout, nothing on stderr, the same exit status" \
				"exit native $n, with library $RC" \
				"$(cmp "$OUT/t8-native$(tr / _ <<<"$path").body" "$OUT/t8$(tr / _ <<<"$path").out" 2>&1)" \
				"$(head -n 5 "$OUT/t8$(tr / _ <<<"$path").err")"
		fi
	done
	cp=$(free_port)
	base=$(env -u LD_PRELOAD curl --max-time 20 -s "http://127.0.0.1:$cp/" 2>&1; echo "exit $?")
	F=$OUT/t8-closed.jsonl
	ccurl t8-closed "$F" -s "http://127.0.0.1:$cp/"
	got=$(cat "$OUT/t8-closed.out" "$OUT/t8-closed.err"; echo "exit $RC")
	expect_eq "8 closed port: curl -s prints nothing and exits 7, with and without the library" \
		"exit 7|exit 7" "$base|$got"
	expect_count "8 closed port: CLIENT span GET, status Error, error.type CURLE_COULDNT_CONNECT, no status code" \
		1 "$F" --kind 3 --name GET --status 2 --attr error.type=CURLE_COULDNT_CONNECT \
		--attr url.full="http://127.0.0.1:$cp/" --no-attr http.response.status_code
	expect_count "8 closed port: curl's connect span is an Error, error.type ECONNREFUSED" \
		1 "$F" --kind 3 --name connect --status 2 --attr error.type=ECONNREFUSED \
		--attr network.peer.port="$cp"
	end_pid "$SRV_PID"
}

###########################################################################
# 2. HTTPS (HTTP/1.1 over TLS).

CERT=$OUT/tls/cert.pem
KEY=$OUT/tls/key.pem
make_cert() {
	mkdir -p "$OUT/tls"
	[ -s "$CERT" ] && [ -s "$KEY" ] && return 0
	env -u LD_PRELOAD openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$KEY" -out "$CERT" >"$OUT/tls/openssl.log" 2>&1
}

t2() {
	local P F
	if ! make_cert; then
		not_ok "2 self-signed certificate made with openssl" "$(cat "$OUT/tls/openssl.log")"
		return
	fi
	if ! start_rec t2-srv --tls "$CERT" "$KEY"; then
		not_ok "2 TLS recording server started" "$(cat "$OUT/t2-srv.err")"
		return
	fi
	P=$SRV_PORT
	F=$OUT/t2.jsonl
	ccurl t2 "$F" -s -k "https://127.0.0.1:$P/"
	expect_eq "2 HTTPS: curl -k exits 0, body as sent" "0|hello GET /" "$RC|$(cat "$OUT/t2.out")" \
		"$(head -n 5 "$OUT/t2.err")" "server: $(tail -n 5 "$OUT/t2-srv.err")"
	match "2 HTTPS" "$F" "$OUT/t2.srv" --path-re '^/$' --expect 1 --url-prefix "https://"
	expect_count "2 HTTPS: CLIENT span GET, url.full https://127.0.0.1:$P/, server.port $P, 200, protocol 1.1" 1 "$F" \
		--kind 3 --name GET --status 0 --attr http.request.method=GET --attr url.full="https://127.0.0.1:$P/" \
		--attr server.address=127.0.0.1 --attr server.port="$P" --attr http.response.status_code=200 \
		--attr network.protocol.version=1.1 --attr network.peer.address=127.0.0.1 \
		--attr network.peer.port="$P"
	expect_count "2 HTTPS: one HTTP CLIENT span" 1 "$F" --kind 3 --has-attr http.request.method
	end_pid "$SRV_PID"
}

###########################################################################
# 3. HTTP/2 over TLS (node's built-in http2 module).

t3() {
	local P F pid pf=$OUT/t3-srv.port log=$OUT/t3-srv.log
	if ! make_cert; then
		not_ok "3 self-signed certificate made with openssl" "$(cat "$OUT/tls/openssl.log")"
		return
	fi
	rm -f "$pf" "$log"
	: >"$log"
	env -u LD_PRELOAD node "$PROGS/curl_h2_server.js" "$pf" "$log" "$CERT" "$KEY" \
		>"$OUT/t3-srv.out" 2>"$OUT/t3-srv.err" &
	pid=$!
	track_pid "$pid"
	if ! wait_for "test -s '$pf'" 10; then
		not_ok "3 node http2 server started" "$(cat "$OUT/t3-srv.err")"
		return
	fi
	P=$(cat "$pf")
	F=$OUT/t3.jsonl
	rm -f "$F"
	traced t3 OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" -- \
		curl --max-time 20 -s -k --http2 -w '|%{http_version}' "https://127.0.0.1:$P/h2"
	expect_eq "3 HTTP/2: curl exits 0 over HTTP/2, body as sent" "0|hello h2 /h2
|2" "$RC|$(cat "$OUT/t3.out")" "$(head -n 5 "$OUT/t3.err")" "server: $(tail -n 5 "$OUT/t3-srv.err")"
	match "3 HTTP/2" "$F" "$log" --path-re '^/h2$' --expect 1 --url-prefix "https://"
	expect_count "3 HTTP/2: CLIENT span GET, url.full, server.port $P, 200, network.protocol.version 2" 1 "$F" \
		--kind 3 --name GET --status 0 --attr http.request.method=GET --attr url.full="https://127.0.0.1:$P/h2" \
		--attr server.port="$P" --attr http.response.status_code=200 --attr network.protocol.version=2
	expect_count "3 HTTP/2: one HTTP CLIENT span" 1 "$F" --kind 3 --has-attr http.request.method
	end_pid "$pid"
}

###########################################################################
# 4. git ls-remote over HTTP (dumb protocol), OTLP to the test receiver.

t4() {
	local G=$OUT/git P base R n
	rm -rf "$G"
	mkdir -p "$G/home"
	# git never reads the developer's configuration here
	local genv=(HOME="$G/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
		GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t
		GIT_COMMITTER_EMAIL=t@example.invalid)
	if ! env -u LD_PRELOAD "${genv[@]}" bash -c '
		set -e
		git init -q -b main "$1/work"
		cd "$1/work"
		echo one >f && git add f && git commit -q -m one
		git tag v1
		git checkout -q -b side && echo two >f && git commit -q -am two
		git init -q --bare "$1/repo.git"
		git push -q "$1/repo.git" main side v1
		git -C "$1/repo.git" symbolic-ref HEAD refs/heads/main
		git -C "$1/repo.git" update-server-info' _ "$G" >"$OUT/t4-setup.log" 2>&1; then
		not_ok "4 git: bare repository made" "$(cat "$OUT/t4-setup.log")"
		return
	fi
	if ! start_rec t4-srv --root "$G"; then
		not_ok "4 git: recording server started" "$(cat "$OUT/t4-srv.err")"
		return
	fi
	P=$SRV_PORT
	R=http://127.0.0.1:$P/repo.git
	base=$(env -u LD_PRELOAD "${genv[@]}" timeout 60 git ls-remote "$R" 2>&1; echo "exit $?")
	if ! start_receiver t4-recv; then
		not_ok "4 git: OTLP receiver started"
		end_pid "$SRV_PID"
		return
	fi
	: >"$SRV_LOG"
	traced t4 "${genv[@]}" OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT="$RECEIVER_URL" \
		OTEL_SERVICE_NAME=git -- timeout -k 5 60 git ls-remote "$R"
	cp "$SRV_LOG" "$OUT/t4.srv"
	expect_eq "4 git: ls-remote exits 0 under the library (no crash, no hang: ${ELAPSED_MS} ms)" 0 "$RC" \
		"$(head -n 10 "$OUT/t4.err")"
	expect_eq "4 git: the same output as without the library" "$base" "$(cat "$OUT/t4.out" "$OUT/t4.err"; echo "exit $RC")"
	if grep -q 'refs/heads/side' <<<"$base"; then
		ok "4 git: (control) ls-remote without the library lists refs/heads/side"
	else
		not_ok "4 git: (control) ls-remote without the library lists refs/heads/side" "$base"
	fi
	n=$(grep -c . "$OUT/t4.srv")
	# every span is flushed at exit; give the receiver a moment to store them
	wait_for "[ \$(spans count '$RECEIVER_DIR' --kind 3 --has-attr http.request.method 2>/dev/null || echo 0) -ge $n ]" 10
	if [ "$n" -ge 1 ]; then
		ok "4 git: git-remote-http made $n request(s) to the server"
	else
		not_ok "4 git: git-remote-http made requests to the server"
	fi
	match "4 git" "$RECEIVER_DIR" "$OUT/t4.srv" --path-re '^/repo\.git/' --expect "$n" \
		--url-prefix "http://127.0.0.1:$P/repo.git/"
	expect_count "4 git: the info/refs span is GET 200 (process git-remote-http)" 1 "$RECEIVER_DIR" --kind 3 \
		--name GET --attr http.response.status_code=200 \
		--attr url.full="http://127.0.0.1:$P/repo.git/info/refs?service=git-upload-pack" \
		--res process.executable.name=git-remote-http
	local w
	w=$(warn_lines "$OUT/t4.err")
	expect_eq "4 git: no otelpreload: warning" 0 "$w" "$(grep '^otelpreload:' "$OUT/t4.err" | head -n 3)"
	stop_receiver
	end_pid "$SRV_PID"
}

###########################################################################
# 5. The multi interface, a closed port, reset, duphandle (progs/curl_multi.c).

t5() {
	local BIN=$OUT/curl_multi P F cp U base sid
	if [ ! -f /usr/include/curl/curl.h ] && [ ! -f /usr/include/x86_64-linux-gnu/curl/curl.h ]; then
		skip "5 curl_multi.c" "curl/curl.h not installed (libcurl4-openssl-dev)"
		return
	fi
	if ! cc -std=gnu11 -O2 -Wall -Wextra -Werror "$PROGS/curl_multi.c" -o "$BIN" -lcurl \
		>"$OUT/t5-cc.log" 2>&1; then
		not_ok "5 curl_multi.c compiled" "$(cat "$OUT/t5-cc.log")"
		return
	fi
	if ! start_rec t5-srv; then
		not_ok "5 recording server started" "$(cat "$OUT/t5-srv.err")"
		return
	fi
	P=$SRV_PORT
	U=http://127.0.0.1:$P
	cp=$(free_port)
	env -u LD_PRELOAD timeout 60 "$BIN" "$P" "$cp" >"$OUT/t5-native.out" 2>"$OUT/t5-native.err"
	base=$?
	F=$OUT/t5.jsonl
	rm -f "$F"
	: >"$SRV_LOG"
	traced t5 OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" OTEL_BSP_MAX_QUEUE_SIZE=4096 -- \
		timeout -k 5 60 "$BIN" "$P" "$cp"
	cp "$SRV_LOG" "$OUT/t5.srv"
	expect_eq "5 (control) the program succeeds without the library" 0 "$base" "$(head -n 5 "$OUT/t5-native.err")"
	expect_eq "5 the program exits 0 under the library" 0 "$RC" "$(head -n 10 "$OUT/t5.err")"
	if cmp -s "$OUT/t5-native.out" "$OUT/t5.out" && [ -s "$OUT/t5.out" ]; then
		ok "5 the program's output is identical with and without the library ($(grep -c . "$OUT/t5.out") lines)"
	else
		not_ok "5 the program's output is identical with and without the library" \
			"$(diff "$OUT/t5-native.out" "$OUT/t5.out" 2>&1 | head -n 10)"
	fi

	# multi: 50 transfers, 50 spans, one-to-one with the traceparents
	match "5 multi" "$F" "$OUT/t5.srv" --path-re '^/multi/' --expect 50 --url-prefix "$U/multi/"
	local nmulti ids
	nmulti=$(spans get "$F" --field attributes.url.full --kind 3 --name GET --status 0 \
		--attr http.response.status_code=200 --attr http.request.method=GET 2>/dev/null | grep -c "^$U/multi/")
	expect_eq "5 multi: 50 CLIENT spans GET, status code 200, not an error" 50 "$nmulti"
	ids=$(spans dump "$F" --kind 3 2>/dev/null | env -u LD_PRELOAD "$PY" -c '
import json, sys
u = sys.argv[1]
print(len({s["spanId"] for s in map(json.loads, sys.stdin) if str(s["attributes"].get("url.full", "")).startswith(u)}))' "$U/multi/")
	expect_eq "5 multi: 50 distinct span ids" 50 "$ids"

	# closed port
	expect_count "5 closed port: CLIENT span GET, status Error, error.type CURLE_COULDNT_CONNECT, no status code" 1 "$F" \
		--kind 3 --name GET --status 2 --attr error.type=CURLE_COULDNT_CONNECT \
		--attr url.full="http://127.0.0.1:$cp/closed" --attr server.port="$cp" --no-attr http.response.status_code
	sid=$(span_field "$F" spanId --kind 3 --attr url.full="http://127.0.0.1:$cp/closed")
	expect_count "5 closed port: the failed connect span is the child of the transfer's span" 1 "$F" --kind 3 \
		--name connect --attr network.peer.port="$cp" --parent "${sid:-no transfer span}"
	# libcurl connects without blocking and learns the outcome with
	# getsockopt(SO_ERROR): the span says how it went.
	expect_count "5 closed port: that connect span is an Error, error.type ECONNREFUSED" 1 "$F" --kind 3 \
		--name connect --attr network.peer.port="$cp" --status 2 --attr error.type=ECONNREFUSED

	# reset
	match "5 reset/1" "$F" "$OUT/t5.srv" --path-re '^/reset/1$' --expect 1
	match "5 reset/2" "$F" "$OUT/t5.srv" --path-re '^/reset/2$' --expect 1
	expect_count "5 reset/1: CLIENT span POST 200" 1 "$F" --kind 3 --name POST --attr http.request.method=POST \
		--attr url.full="$U/reset/1" --attr http.response.status_code=200 --status 0
	expect_count "5 reset/2 (after curl_easy_reset): CLIENT span GET 200" 1 "$F" --kind 3 --name GET \
		--attr http.request.method=GET --attr url.full="$U/reset/2" --attr http.response.status_code=200 --status 0
	expect_eq "5 reset: X-Reset sent before curl_easy_reset only (the application's header list as it set it)" \
		"1|-" "$(header_seen "$OUT/t5.srv" /reset/1 X-Reset)|$(header_seen "$OUT/t5.srv" /reset/2 X-Reset)"

	# duphandle
	match "5 dup/orig" "$F" "$OUT/t5.srv" --path-re '^/dup/orig$' --expect 1
	match "5 dup/copy" "$F" "$OUT/t5.srv" --path-re '^/dup/copy$' --expect 1
	expect_count "5 dup: the original's CLIENT span GET 200" 1 "$F" --kind 3 --name GET \
		--attr url.full="$U/dup/orig" --attr http.response.status_code=200 --status 0
	expect_count "5 dup: the duplicate's CLIENT span GET 200" 1 "$F" --kind 3 --name GET \
		--attr url.full="$U/dup/copy" --attr http.response.status_code=200 --status 0
	expect_eq "5 dup: both sent the header list X-Dup: 1 (inherited by the duplicate)" "1|1" \
		"$(header_seen "$OUT/t5.srv" /dup/orig X-Dup)|$(header_seen "$OUT/t5.srv" /dup/copy X-Dup)"
	expect_count "5 55 HTTP CLIENT spans in all (50 multi, 1 closed port, 2 reset, 2 dup), none more" 55 "$F" \
		--kind 3 --has-attr http.request.method
	end_pid "$SRV_PID"
}

###########################################################################
# 6. pycurl inside a traced python3 server.

t6() {
	local BP FP F pid pf=$OUT/t6-front.port r1 r2 sid1 sid2 tid2
	if [ ! -x "$SYS_PY" ] || ! env -u LD_PRELOAD "$SYS_PY" -c 'import pycurl' >/dev/null 2>&1; then
		skip "6 pycurl" "/usr/bin/python3 with pycurl (python3-pycurl) not installed"
		return
	fi
	if ! start_rec t6-back; then
		not_ok "6 recording backend started" "$(cat "$OUT/t6-back.err")"
		return
	fi
	BP=$SRV_PORT
	F=$OUT/t6.jsonl
	rm -f "$F" "$pf"
	env LD_PRELOAD="$PRELOAD" OTEL_TRACES_EXPORTER=file OTELPRELOAD_FILE="$F" OTEL_SERVICE_NAME=pyfront \
		OTEL_BSP_SCHEDULE_DELAY=100 "$SYS_PY" "$PROGS/curl_pycurl_server.py" "$pf" "$BP" >"$OUT/t6-front.out" 2>"$OUT/t6-front.err" &
	pid=$!
	track_pid "$pid"
	if ! wait_for "test -s '$pf'" 10; then
		not_ok "6 traced pycurl server started" "$(cat "$OUT/t6-front.err")"
		return
	fi
	FP=$(cat "$pf")
	r1=$(env -u LD_PRELOAD curl --max-time 20 -s -H "traceparent: 00-$TP_TRACE-$TP_PARENT-01" \
		"http://127.0.0.1:$FP/front/1")
	r2=$(env -u LD_PRELOAD curl --max-time 20 -s "http://127.0.0.1:$FP/front/2")
	# The handler thread ends its SERVER span just after its last write
	# returns, so the answer can reach curl first: a SIGTERM sent at once
	# could end the process in between (on a busy machine that was seen
	# once in five runs). Stop only when both SERVER spans are exported.
	wait_for "[ \"\$(spans count '$F' --kind 2 2>/dev/null)\" = 2 ]" 15 || true
	stop_term "$pid"
	expect_eq "6 the front answered both requests after its pycurl call" \
		"front /front/1 -> 200 hello GET /backend/front/1|front /front/2 -> 200 hello GET /backend/front/2" \
		"$r1|$r2" "$(tail -n 5 "$OUT/t6-front.err")"
	expect_count "6 SERVER span /front/1 continues the caller's trace (traceId, parent)" 1 "$F" --kind 2 \
		--attr url.path=/front/1 --trace "$TP_TRACE" --parent "$TP_PARENT"
	sid1=$(span_field "$F" spanId --kind 2 --attr url.path=/front/1)
	sid2=$(span_field "$F" spanId --kind 2 --attr url.path=/front/2)
	tid2=$(span_field "$F" traceId --kind 2 --attr url.path=/front/2)
	expect_count "6 /front/1: the pycurl CLIENT span's parent is the SERVER span, same trace" 1 "$F" --kind 3 \
		--name GET --attr url.full="http://127.0.0.1:$BP/backend/front/1" --attr http.response.status_code=200 \
		--trace "$TP_TRACE" --parent "${sid1:-no SERVER span}"
	expect_count "6 /front/2 (no incoming context): the pycurl CLIENT span's parent is the SERVER span, same trace" 1 \
		"$F" --kind 3 --name GET --attr url.full="http://127.0.0.1:$BP/backend/front/2" \
		--trace "${tid2:-no SERVER span}" --parent "${sid2:-no SERVER span}"
	match "6 backend" "$F" "$SRV_LOG" --path-re '^/backend/' --expect 2
	expect_count "6 two HTTP CLIENT spans in all (no second one from the socket layer)" 2 "$F" --kind 3 \
		--has-attr http.request.method
	expect_eq "6 no otelpreload: warning from the server" 0 "$(warn_lines "$OUT/t6-front.err")" \
		"$(grep '^otelpreload:' "$OUT/t6-front.err" | head -n 3)"
	end_pid "$SRV_PID"
}

t1
if missing=$(require openssl); then t2; else skip "2 HTTPS" "$missing not installed"; fi
if missing=$(require openssl node); then t3; else skip "3 HTTP/2" "$missing not installed"; fi
if missing=$(require git); then t4; else skip "4 git" "$missing not installed"; fi
if missing=$(require cc); then t5; else skip "5 curl_multi.c" "$missing not installed"; fi
t6

finish
