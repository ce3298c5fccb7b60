# shellcheck shell=bash
# Sourced by .ci/run: a throwaway PostgreSQL cluster for the ledger store contract tests.
#
# Installs the distribution's `postgresql` package when no initdb/pg_ctl is found (running
# `apt-get update` only then), initdb's a cluster into a temporary directory as an unprivileged
# user (PostgreSQL refuses to run as root), starts it on 127.0.0.1:$CUSTODY_PG_PORT (default
# 54329), creates the `custody` role and the `custody_test` database, exports
# CUSTODY_TEST_POSTGRES and stops and deletes the cluster when the calling shell exits (a cluster
# of ours left on that port by a killed run is stopped and deleted first).
# A CUSTODY_TEST_POSTGRES that is already set is used as it is (nothing is installed or started).

custody_pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    return 1
  fi
}

custody_pg_as() {
  # run a PostgreSQL program as the cluster's owner, from a directory that owner can read
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u "$CUSTODY_PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

custody_pg_stop() {
  if [ -n "${CUSTODY_PG_DATA:-}" ] && [ -d "$CUSTODY_PG_DATA" ]; then
    custody_pg_as "$CUSTODY_PG_BIN/pg_ctl" -D "$CUSTODY_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$CUSTODY_PG_DATA"
  fi
}

custody_pg_start() {
  local port="${CUSTODY_PG_PORT:-54329}"
  if [ -n "${CUSTODY_TEST_POSTGRES:-}" ]; then
    echo "postgres: using CUSTODY_TEST_POSTGRES from the environment"
    return 0
  fi
  if ! CUSTODY_PG_BIN=$(custody_pg_bindir); then
    if [ "$(id -u)" != 0 ]; then
      echo "postgres: initdb/pg_ctl not found; install postgresql or set CUSTODY_TEST_POSTGRES" >&2
      return 1
    fi
    echo "postgres: installing the distribution's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    CUSTODY_PG_BIN=$(custody_pg_bindir)
  fi
  if [ "$(id -u)" = 0 ]; then
    if getent passwd postgres >/dev/null; then
      CUSTODY_PG_OS_USER=postgres
    else
      getent passwd custody-pg >/dev/null || useradd -r -M -s /usr/sbin/nologin custody-pg
      CUSTODY_PG_OS_USER=custody-pg
    fi
  else
    CUSTODY_PG_OS_USER=$(id -un)
  fi
  local stale
  for stale in /tmp/custody-pg.*; do
    # a cluster of ours left on this port by a run that was killed before its trap ran
    if [ -f "$stale/postmaster.pid" ] && [ "$(sed -n 4p "$stale/postmaster.pid")" = "$port" ]; then
      custody_pg_as "$CUSTODY_PG_BIN/pg_ctl" -D "$stale" -m immediate -w stop >/dev/null 2>&1 || true
      rm -rf "$stale"
    fi
  done
  if "$CUSTODY_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
    echo "postgres: port $port is already in use; set CUSTODY_PG_PORT or CUSTODY_TEST_POSTGRES" >&2
    return 1
  fi
  CUSTODY_PG_DATA=$(mktemp -d /tmp/custody-pg.XXXXXX)
  trap custody_pg_stop EXIT
  chown "$CUSTODY_PG_OS_USER" "$CUSTODY_PG_DATA"
  custody_pg_as "$CUSTODY_PG_BIN/initdb" -D "$CUSTODY_PG_DATA" -U pgadmin -A trust -E UTF8 --no-sync >/dev/null
  custody_pg_as "$CUSTODY_PG_BIN/pg_ctl" -D "$CUSTODY_PG_DATA" -l "$CUSTODY_PG_DATA/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp" start >/dev/null
  custody_pg_as "$CUSTODY_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U pgadmin -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE custody LOGIN" -c "CREATE DATABASE custody_test OWNER custody"
  export CUSTODY_TEST_POSTGRES="postgresql://custody@127.0.0.1:$port/custody_test"
  echo "postgres: $("$CUSTODY_PG_BIN/postgres" --version) running, CUSTODY_TEST_POSTGRES=$CUSTODY_TEST_POSTGRES"
}

custody_pg_start
