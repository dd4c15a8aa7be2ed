#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the test suite: initdb in a temp
# dir, its own free port, trust auth on 127.0.0.1, as the `postgres` user
# when run as root. Prints the admin URL; `.ci/postgres.sh stop DIR` stops it.
set -euo pipefail

if [ "${1:-}" = stop ]; then
  dir=$2
  pgbin=$(cat "$dir/bin")
  run=""; [ "$(id -u)" = 0 ] && run="setpriv --reuid=postgres --regid=postgres --init-groups"
  $run "$pgbin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/authd-ci-pg.XXXXXX)
echo "$pgbin" > "$dir/bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run=""
if [ "$(id -u)" = 0 ]; then
  chown -R postgres "$dir"
  run="setpriv --reuid=postgres --regid=postgres --init-groups"
fi
$run "$pgbin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
$run "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/postgres $dir"
