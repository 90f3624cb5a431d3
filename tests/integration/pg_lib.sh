# shellcheck shell=bash
# shellcheck disable=SC2034  # the PG_* variables are read by the tests
#
# pg_lib.sh - a private PostgreSQL server for the libpq tests and the PQexec
# bench (sourced, never run). Sourced after lib.sh in a test; sourced on its
# own (tests/bench/run.sh) it brings minimal wait_for/free_port of its own.
#
#   pg_available        0 when the server programs are installed; otherwise 1
#                       and PG_MISSING says what is missing (for skip)
#   pg_start            initdb + start in a fresh directory $OUT/pg.XXXXXX
#                       ($PG_OUT/pg.XXXXXX when PG_OUT is set)
#                       (/tmp when the postgres user cannot use $OUT or the
#                       socket path would be too long): 127.0.0.1 on a free
#                       port, a Unix socket directory, trust auth, database
#                       `books`, log_statement=all into PG_LOG. Waits with
#                       pg_isready. Returns 1 with PG_ERROR set on failure.
#   pg_stop             pg_ctl stop -m fast (then SIGKILL if it must); run
#                       from the EXIT trap that pg_start installs in front of
#                       the one already there (lib.sh's _cleanup), so no
#                       server outlives the script, failed tests included.
#                       A watchdog in its own session stops the server with
#                       -m immediate should the script be SIGKILLed; its pid
#                       is PG_WATCHDOG_PID, and it ends by itself within a
#                       second of pg_stop.
#
# After pg_start: PG_PORT PG_HOST (127.0.0.1) PG_SOCKDIR PG_SOCKFILE
# (PG_SOCKDIR/.s.PGSQL.PG_PORT) PG_USER (postgres) PG_DB (books)
# PG_DSN_TCP PG_DSN_UNIX (conninfo strings) PG_LOG (server log) PG_DIR
# PG_DATA PG_BINDIR PG_PSQL (the real psql binary, not Debian's perl
# wrapper).
#
# The server and the helper programs (initdb, pg_ctl, pg_isready, createdb)
# always run without LD_PRELOAD. As root they run as the postgres user
# (initdb refuses root) through runuser.

# PG* variables of the caller's shell (PGHOST, PGPORT, PGUSER, PGDATABASE,
# PGSERVICE, PGOPTIONS, ...) would change where libpq connects.
for _v in $(compgen -e); do
	case $_v in PG*) unset "$_v" ;; esac
done
unset _v

if ! declare -F wait_for >/dev/null; then
	wait_for() {
		local cmd=$1 timeout=${2:-10} i n
		n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 }')
		for ((i = 0; i <= n; i++)); do
			eval "$cmd" >/dev/null 2>&1 && return 0
			sleep 0.05
		done
		return 1
	}
fi
if ! declare -F free_port >/dev/null; then
	free_port() {
		env -u LD_PRELOAD python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
	}
fi

PG_BINDIR=${PG_BINDIR:-}
if [ -z "$PG_BINDIR" ]; then
	if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
		PG_BINDIR=/usr/lib/postgresql/15/bin
	else
		for _d in /usr/lib/postgresql/*/bin; do
			[ -x "$_d/initdb" ] && PG_BINDIR=$_d
		done
		unset _d
		if [ -z "$PG_BINDIR" ] && command -v initdb >/dev/null 2>&1; then
			PG_BINDIR=$(dirname "$(command -v initdb)")
		fi
	fi
fi
PG_PSQL=
[ -n "$PG_BINDIR" ] && [ -x "$PG_BINDIR/psql" ] && PG_PSQL=$PG_BINDIR/psql
PG_MISSING=
PG_ERROR=
PG_DIR=
PG_DATA=
PG_PORT=
PG_HOST=127.0.0.1
PG_USER=postgres
PG_DB=books
PG_RUN=()
PG_WATCHDOG_PID=

pg_available() {
	local p
	if [ -z "$PG_BINDIR" ]; then
		PG_MISSING="PostgreSQL server not installed (no initdb; scripts/deps.sh installs postgresql)"
		return 1
	fi
	for p in initdb pg_ctl pg_isready postgres createdb psql; do
		if [ ! -x "$PG_BINDIR/$p" ]; then
			PG_MISSING="$PG_BINDIR/$p not installed"
			return 1
		fi
	done
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		PG_MISSING="running as root and there is no postgres user to run the server"
		return 1
	fi
	return 0
}

# _pg CMD...: a server-side program, as postgres when we are root.
_pg() {
	"${PG_RUN[@]}" env -u LD_PRELOAD "$@"
}

# _pg_dir: a fresh directory the server user owns; $OUT when it can be used.
_pg_dir() {
	local d=
	d=$(mktemp -d "${PG_OUT:-$OUT}/pg.XXXXXX" 2>/dev/null) || d=
	if [ -n "$d" ]; then
		[ "$(id -u)" -eq 0 ] && chown postgres: "$d"
		# every directory on the way must let the server user through,
		# and the socket path must fit in sun_path (107 bytes)
		if ! _pg test -w "$d" || [ $((${#d} + 30)) -gt 100 ]; then
			rmdir "$d"
			d=
		fi
	fi
	if [ -z "$d" ]; then
		d=$(mktemp -d /tmp/otelpreload-pg.XXXXXX) || return 1
		[ "$(id -u)" -eq 0 ] && chown postgres: "$d"
	fi
	echo "$d"
}

_pg_watchdog() {
	local me=$BASHPID	# expanded here: after "&" it is the child's
	# In its own session: a SIGKILL to the test's process group (timeout -k)
	# does not reach it. Ends when pg_stop has removed the data directory.
	# shellcheck disable=SC2016  # expanded by the watchdog's bash
	setsid env -u LD_PRELOAD bash -c '
		while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
		[ -e "$2/postmaster.pid" ] && "${@:4}" "$3/pg_ctl" -D "$2" stop -m immediate -w -t 20
		exit 0' pg-watchdog "$me" "$PG_DATA" "$PG_BINDIR" "${PG_RUN[@]}" \
		</dev/null >/dev/null 2>&1 &
	PG_WATCHDOG_PID=$!
}

# _pg_trap: pg_stop in front of the EXIT trap already set (lib.sh's _cleanup).
_pg_trap() {
	local prev
	local -a t
	prev=$(trap -p EXIT)
	case $prev in *pg_stop*) return 0 ;; esac
	if [ -n "$prev" ]; then
		eval "t=($prev)"	# trap -- 'CMD' EXIT
		# shellcheck disable=SC2064  # the old command, expanded now on purpose
		trap "pg_stop; ${t[2]}" EXIT
	else
		trap pg_stop EXIT
	fi
}

pg_start() {
	local try log
	PG_ERROR=
	pg_available || { PG_ERROR=$PG_MISSING; return 1; }
	PG_RUN=()
	[ "$(id -u)" -eq 0 ] && PG_RUN=(runuser -u postgres --)
	_pg_trap
	PG_PORT=
	for try in 1 2 3; do
		PG_DIR=$(_pg_dir) || { PG_ERROR="no directory for the server"; return 1; }
		PG_DATA=$PG_DIR/data
		PG_SOCKDIR=$PG_DIR/sock
		PG_LOG=$PG_DIR/server.log
		log=$PG_DIR/ctl.log
		_pg mkdir -p "$PG_SOCKDIR"
		if ! _pg "$PG_BINDIR/initdb" -D "$PG_DATA" -U "$PG_USER" -A trust -E UTF8 --locale=C \
			--no-sync >"$PG_DIR/initdb.log" 2>&1; then
			PG_ERROR="initdb failed: $(tail -n 5 "$PG_DIR/initdb.log")"
			return 1
		fi
		PG_PORT=$(free_port)
		_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<-EOF
			# pg_lib.sh
			listen_addresses = '127.0.0.1'
			port = $PG_PORT
			unix_socket_directories = '$PG_SOCKDIR'
			max_connections = 40
			shared_buffers = 16MB
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			logging_collector = off
			log_destination = 'stderr'
			log_line_prefix = '%m [%p] '
			log_statement = 'all'
			lc_messages = 'C'
		EOF
		_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -W start >>"$log" 2>&1
		_pg_watchdog
		if wait_for "env -u LD_PRELOAD '$PG_BINDIR/pg_isready' -q -h '$PG_SOCKDIR' -p $PG_PORT -U $PG_USER -d postgres && env -u LD_PRELOAD '$PG_BINDIR/pg_isready' -q -h 127.0.0.1 -p $PG_PORT -U $PG_USER -d postgres" 30; then
			break
		fi
		PG_ERROR="server not ready within 30 s: $(tail -n 5 "$PG_LOG" 2>/dev/null)"
		pg_stop
		PG_PORT=
		# another process took the port between free_port and bind: again
		grep -q 'could not bind\|could not create any TCP/IP sockets' "$PG_DIR/server.log" \
			2>/dev/null || return 1
	done
	[ -n "$PG_PORT" ] || return 1
	PG_SOCKFILE=$PG_SOCKDIR/.s.PGSQL.$PG_PORT
	if ! env -u LD_PRELOAD "$PG_BINDIR/createdb" -h "$PG_SOCKDIR" -p "$PG_PORT" -U "$PG_USER" \
		"$PG_DB" >>"$log" 2>&1; then
		PG_ERROR="createdb $PG_DB failed: $(tail -n 5 "$log")"
		return 1
	fi
	PG_DSN_TCP="host=$PG_HOST port=$PG_PORT dbname=$PG_DB user=$PG_USER connect_timeout=10"
	PG_DSN_UNIX="host=$PG_SOCKDIR port=$PG_PORT dbname=$PG_DB user=$PG_USER connect_timeout=10"
	export PG_PORT PG_HOST PG_SOCKDIR PG_SOCKFILE PG_USER PG_DB PG_DSN_TCP PG_DSN_UNIX PG_LOG \
		PG_DIR PG_DATA PG_BINDIR PG_PSQL
	return 0
}

pg_stop() {
	local pid=
	[ -n "$PG_DATA" ] || return 0
	if [ -e "$PG_DATA/postmaster.pid" ]; then
		pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)
		_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" stop -m fast -w -t 30 >>"$PG_DIR/ctl.log" 2>&1
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait_for "! kill -0 $pid" 5
		fi
	fi
	# keep the logs, not the 40 MB of data; a /tmp directory goes whole
	# after its log is copied to $OUT
	rm -rf "$PG_DATA"
	case $PG_DIR in
	/tmp/otelpreload-pg.*)
		cp "$PG_LOG" "${PG_OUT:-$OUT}/pg-server.log" 2>/dev/null
		rm -rf "$PG_DIR"
		;;
	esac
	PG_DATA=
	return 0
}
