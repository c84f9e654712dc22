#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster on 127.0.0.1:${HUIFANG_PG_PORT:-54329} for the tests and print its URL.
# Runs the server as the `postgres` system user (initdb refuses root). Idempotent: reuses a running cluster.
set -euo pipefail
port="${HUIFANG_PG_PORT:-54329}"
dir="${HUIFANG_PG_DIR:-/tmp/huifang-pg-$port}"
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
if ! as_pg "$bindir/pg_ctl -D $dir status" >/dev/null 2>&1; then
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bindir/initdb -D $dir -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
  as_pg "$bindir/pg_ctl -D $dir -l $dir/server.log -o '-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off' -w start" >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
