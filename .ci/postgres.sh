#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the storage contract tests and print its URL.
#
# Usage (as root on Debian):  eval "export $(.ci/postgres.sh | tail -n1)"
#
# Idempotent: installs PostgreSQL only when its binaries are missing, reuses a cluster that is
# already running, and creates the role and database only once. The cluster lives under /tmp,
# listens on 127.0.0.1 only, and trades durability for speed (fsync off): it is for tests.
# Everything but the final `KEFU_TEST_DATABASE_URL=...` line goes to stderr.
# KEFU_PG_PORT (default 55432) and KEFU_PG_ROOT (default /tmp/kefu-pg) move the cluster.
set -euo pipefail

PG_PORT="${KEFU_PG_PORT:-55432}"
PG_ROOT="${KEFU_PG_ROOT:-/tmp/kefu-pg}"
PG_DATA="$PG_ROOT/data"
PG_LOG="$PG_ROOT/postgres.log"
DB_NAME=kefu_test
DB_USER=kefu
DB_PASSWORD=kefu_test

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
    if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; fi
}

as_postgres() {
    # The server refuses to run as root; run every PostgreSQL tool as the `postgres` user.
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

admin_sql() {
    as_postgres "$BINDIR/psql" -h "$PG_ROOT" -p "$PG_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -qtA -c "$1"
}

BINDIR=$(find_bindir)
if [ -z "$BINDIR" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "PostgreSQL is not installed and installing it needs root"
        exit 1
    fi
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BINDIR=$(find_bindir)
    [ -n "$BINDIR" ] || { log "postgresql installed but pg_ctl not found"; exit 1; }
fi

if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_ROOT" postgres
    install -d -o postgres -g postgres -m 700 "$PG_ROOT"
else
    install -d -m 700 "$PG_ROOT"
fi

if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    log "initialising a cluster in $PG_DATA"
    # trust on the socket is safe: the socket directory is private to the postgres user.
    as_postgres "$BINDIR/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >&2
fi

if as_postgres "$BINDIR/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "cluster already running"
else
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_postgres "$BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_ROOT -c unix_socket_permissions=0700 \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2
fi

for _ in $(seq 1 60); do
    if as_postgres "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then break; fi
    sleep 0.5
done

if [ "$(admin_sql "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
    admin_sql "CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD'"
else
    admin_sql "ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD'"
fi
if [ "$(admin_sql "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    admin_sql "CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' TEMPLATE template0"
fi

# Prove that the test user can log in over TCP with its password, as the tests will.
for attempt in $(seq 1 30); do
    if PGPASSWORD="$DB_PASSWORD" "$BINDIR/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" \
        -d "$DB_NAME" -qtA -c "SELECT 1" >/dev/null 2>&1; then
        break
    fi
    if [ "$attempt" -eq 30 ]; then
        log "PostgreSQL does not accept connections; see $PG_LOG"
        exit 1
    fi
    sleep 1
done

echo "KEFU_TEST_DATABASE_URL=postgresql+asyncpg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME"
