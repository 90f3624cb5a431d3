#!/usr/bin/env bash
# Installs, only when missing, the Debian 12 packages otelpreload needs to
# build, test and run its demo. Uses sudo when not root.
set -euo pipefail
# postgresql (server + psql), libpq-dev and python3-psycopg2 (Debian's, for
# /usr/bin/python3): tests/integration/test_pq.sh and the PQexec bench row.
# openssl (certificates), git and python3-pycurl: tests/integration/test_curl.sh.
# make demo (scripts/demo.sh) needs build-essential, postgresql, libpq-dev,
# libcurl4-openssl-dev (its C back end), nginx-light (its TLS terminator),
# openssl, curl, iproute2 (ss) and procps, all in the list below.
PKGS=(build-essential pkg-config libcriterion-dev libcurl4-openssl-dev libcjson-dev libcjson1
      zlib1g-dev protobuf-compiler python3 curl wget iproute2 procps file binutils
      nginx-light wrk valgrind
      postgresql libpq-dev python3-psycopg2
      openssl git python3-pycurl)
# libunwind8: stack traces (runtime/stack.c dlopens libunwind.so.8 when the
# OTELPRELOAD_STACK_* or OTELPRELOAD_CODE_ATTRIBUTES variables ask for them;
# no headers needed) and tests/integration/test_stack.sh.
PKGS+=(libunwind8)
# The interop tests and the HTTP bench run node (tests/interop); a node that
# is already on PATH (e.g. a newer one from elsewhere) is used as it is.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
# chromium: tests/integration/test_view.sh renders the `otelpreload view --html`
# page headless (--dump-dom, --screenshot); without it those checks are skipped.
PKGS+=(chromium)
missing=()
for p in "${PKGS[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "otelpreload: installing ${missing[*]}"
# nginx-light must not start a system nginx: a policy-rc.d that forbids
# service starts for the duration of the install (removed if it was ours).
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 0755 "$policy"
	ours=1
fi
rc=0
$SUDO apt-get update -qq || rc=$?
[ $rc -eq 0 ] && { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	--no-install-recommends "${missing[@]}" || rc=$?; }
[ $ours -eq 1 ] && $SUDO rm -f "$policy"
exit $rc
