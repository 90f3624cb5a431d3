#!/usr/bin/env bash
#
# setup.sh - install what the interop tests and the HTTP bench need, only
# what is missing; quick and silent when everything is there.
#
#   Debian packages: nginx-light, wrk (checked with dpkg -s);
#                    nodejs + npm only when no `node` is on PATH
#   npm packages:    tests/interop/node_modules from package-lock.json
#                    (npm ci; npm install only when there is no lockfile yet)
#
# Exit status 0 when everything is in place. Uses sudo when not root. The
# packages' service scripts are kept from starting a system nginx (a
# policy-rc.d for the duration of the install, removed afterwards when it
# was ours).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

pkgs=(nginx-light wrk)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "interop setup: installing ${missing[*]}" >&2
	policy=/usr/sbin/policy-rc.d
	ours=0
	if [ ! -e "$policy" ]; then
		# exit 101: "action forbidden"; invoke-rc.d then starts no service
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
		$SUDO chmod 0755 "$policy"
		ours=1
	fi
	rc=0
	{ $SUDO apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
	[ "$ours" -eq 1 ] && $SUDO rm -f "$policy"
	[ "$rc" -eq 0 ] || exit "$rc"
fi

# npm: node_modules is never committed; the lockfile is.
cd "$HERE"
stamp=node_modules/.package-lock.json
if [ ! -f package-lock.json ]; then
	npm install --no-audit --no-fund --loglevel=error >&2
elif [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
	npm ci --no-audit --no-fund --loglevel=error >&2
fi
