#!/bin/sh
# Non-root PostgreSQL entrypoint: on the first start (no $PGDATA/PG_VERSION) run initdb
# with the superuser from POSTGRES_USER (default postgres) and the password from
# POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/*.sql and *.sh, then exec the server.
set -eu

if [ "${1:-postgres}" != postgres ]; then
    exec "$@"
fi
[ "$#" -gt 0 ] && shift

: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
export PGDATA

file_env() {
    # file_env VAR: VAR from the environment or from the file named by VAR_FILE.
    eval "value=\${$1:-}"
    eval "file=\${$1_FILE:-}"
    if [ -n "$value" ] && [ -n "$file" ]; then
        echo "gt-postgres: both $1 and $1_FILE are set; use one" >&2
        exit 1
    fi
    if [ -n "$file" ]; then
        value=$(cat "$file")
    fi
    eval "$1=\$value"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER
    file_env POSTGRES_DB
    POSTGRES_USER=${POSTGRES_USER:-postgres}
    POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
        echo "gt-postgres: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
        exit 1
    fi
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    pwfile=$(mktemp)
    trap 'rm -f "$pwfile"' EXIT
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host="$auth" --encoding=UTF8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    # A temporary server on the socket only, for the database and init scripts.
    pg_ctl --wait --silent --options="-c listen_addresses=''" start
    export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
    if [ "$POSTGRES_DB" != postgres ]; then
        psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --dbname=postgres -v db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --dbname="$POSTGRES_DB" -f "$f" ;;
            *.sh) . "$f" ;;
            *) ;;
        esac
    done
    pg_ctl --wait --silent --mode=fast stop
    unset PGUSER PGHOST
    echo "gt-postgres: initialised $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
fi

exec postgres -c listen_addresses='*' "$@"
