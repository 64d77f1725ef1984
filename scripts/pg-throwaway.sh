#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, benchmarks and the dev run command.
#
#   pg-throwaway.sh start DIR   initdb under DIR, start on a free loopback port, create the
#                               database `zeva`, print its DATABASE_URL on stdout
#   pg-throwaway.sh stop DIR    stop the server started under DIR (DIR itself is left)
#   pg-throwaway.sh resume DIR  start a stopped server again on the same port (outage tests)
#   pg-throwaway.sh replace DIR stop it and start a fresh cluster (initdb, database `zeva`) on
#                               the same port: another server behind the same URL (failover)
#
# As root, the server runs as the `postgres` user (initdb refuses root). Durability is off
# (fsync, synchronous_commit): the data is thrown away anyway. PG_EXTRA_OPTIONS adds server
# options (e.g. "-c shared_preload_libraries=pg_stat_statements"). Fails loudly, never silently.
set -euo pipefail

usage() { echo "usage: $0 start|stop|resume|replace DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(realpath -m "$2")

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg-throwaway: PostgreSQL server binaries not found; run scripts/install-deps.sh" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_server() {
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $1 -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500 ${PG_EXTRA_OPTIONS:-}" \
    start >/dev/null 2>&1
}

init_cluster() {
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U zeva --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    echo "pg-throwaway: initdb failed:" >&2; cat "$dir/initdb.log" >&2; exit 1
  fi
}

create_database() {
  if ! "$bindir/createdb" -h 127.0.0.1 -p "$1" -U zeva zeva >&2; then
    echo "pg-throwaway: createdb failed" >&2; exit 1
  fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$dir"
      # mktemp -d makes 0700 folders: let the postgres user through the parent.
      parent=$(dirname "$dir")
      as_owner test -x "$parent" || chmod o+x "$parent"
      if ! as_owner test -w "$dir"; then
        echo "pg-throwaway: user postgres cannot reach $dir; choose a folder it can enter" >&2
        exit 1
      fi
    fi
    init_cluster
    # A port picked at random and retried when taken: no race with a port probe.
    for _ in $(seq 1 20); do
      port=$((20000 + RANDOM % 40000))
      if start_server "$port"; then
        create_database "$port"
        echo "$port" >"$dir/port"
        echo "postgresql://zeva@127.0.0.1:$port/zeva"
        exit 0
      fi
    done
    echo "pg-throwaway: PostgreSQL did not start; its log:" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
  resume)
    if ! start_server "$(cat "$dir/port")"; then
      echo "pg-throwaway: PostgreSQL did not start again; its log:" >&2
      tail -n 20 "$dir/server.log" >&2 || true
      exit 1
    fi
    ;;
  replace)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    rm -rf "$dir/data"
    init_cluster
    port=$(cat "$dir/port")
    if ! start_server "$port"; then
      echo "pg-throwaway: the fresh cluster did not start on port $port; its log:" >&2
      tail -n 20 "$dir/server.log" >&2 || true
      exit 1
    fi
    create_database "$port"
    ;;
  *) usage ;;
esac
