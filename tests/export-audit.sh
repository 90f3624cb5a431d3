#!/usr/bin/env bash
#
# export-audit.sh - the library exports nothing but its interposed symbols and
# loads no heavy dependency eagerly.
#
#   tests/export-audit.sh LIB MAP
#
# MAP is the anonymous version script the library is linked with:
#   { global: send; recv; ...; local: *; };
# Fails (exit 1, one message per problem) when
#   - `nm -D --defined-only LIB` shows a defined symbol MAP does not list
#     under global: (names may be glob patterns, as in a version script);
#   - MAP is a named version node (it would silently stop interposition);
#   - `readelf -d LIB` has a NEEDED entry on libpq, libcurl, libunwind, libcjson,
#     libssl, libcrypto or libz (these are dlopen'ed when first needed).
# Exit 2 on a usage error or a missing tool.

set -uo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 LIB MAP" >&2
	exit 2
fi
lib=$1
map=$2
for tool in nm readelf; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "export-audit: $tool not found (binutils)" >&2
		exit 2
	}
done
[ -f "$lib" ] || { echo "export-audit: $lib: no such file" >&2; exit 2; }
[ -f "$map" ] || { echo "export-audit: $map: no such file" >&2; exit 2; }

problems=0
problem() {
	echo "export-audit: $*" >&2
	problems=$((problems + 1))
}

# The version script without comments (/* */ across lines, # and // to the
# end of a line), on one line.
script=$(sed -e 's|#.*$||' -e 's|//.*$||' "$map" | tr '\n' ' ' |
	sed -e 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/| |g')

# Anonymous: the first non-blank character is "{".
first=${script#"${script%%[![:space:]]*}"}
first=${first:0:1}
if [ "$first" != "{" ]; then
	problem "$map is not an anonymous version script (starts with a node name?): interposition would stop working"
fi

# The names between "global:" and "local:" (or the closing brace).
globals=$(sed -n -e 's/.*global:\(.*\)/\1/p' <<<"$script" |
	sed -e 's/local:.*//' -e 's/}.*//' | tr ';' '\n' |
	sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' |
	grep -v '^$' | grep -v '^extern ')
if [ -z "$globals" ]; then
	problem "$map lists no global: symbols"
fi
if ! grep -q 'local:[[:space:]]*\*[[:space:]]*;' <<<"$script"; then
	problem "$map has no 'local: *;': everything else would be exported"
fi

# Defined dynamic symbols, version suffixes removed.
if ! syms=$(nm -D --defined-only "$lib" 2>&1); then
	problem "nm -D --defined-only $lib failed: $syms"
	syms=
fi
nsyms=0
while read -r _addr type name; do
	[ -n "${name:-}" ] || continue
	name=${name%%@*}
	nsyms=$((nsyms + 1))
	listed=0
	while IFS= read -r pat; do
		# shellcheck disable=SC2053  # pat is a glob on purpose
		if [[ $name == $pat ]]; then
			listed=1
			break
		fi
	done <<<"$globals"
	if [ "$listed" -eq 0 ]; then
		problem "exported symbol not in $map: $name (type $type)"
	fi
done <<<"$syms"

# Eager dependencies that must stay dlopen'ed.
needed=$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
while IFS= read -r dep; do
	[ -n "$dep" ] || continue
	case $dep in
	libcurl.so* | libcurl-*.so* | libunwind.so* | libunwind-*.so* | \
		libcjson.so* | libcjson_*.so* | libssl.so* | libcrypto.so* | libz.so*)
		problem "$lib has NEEDED $dep: it must be dlopen'ed when first needed"
		;;
	libpq.so*)
		problem "$lib has NEEDED $dep: the libpq hooks forward to the application's own libpq"
		;;
	esac
done <<<"$needed"

if [ "$problems" -gt 0 ]; then
	echo "export-audit: FAILED ($problems problem(s))" >&2
	exit 1
fi
deps=$(grep -v '^$' <<<"$needed" | tr '\n' ' ' | sed 's/ $//')
echo "export-audit: ok ($nsyms exported symbols, all listed in $map; NEEDED: ${deps:-none})"
exit 0
