#!/bin/bash
# The official postgres image's env contract: POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB,
# POSTGRES_HOST_AUTH_METHOD, POSTGRES_INITDB_ARGS and PGDATA. Initialises an empty PGDATA once; an existing
# cluster (e.g. a volume kept from an old container) is started as it is.
set -euo pipefail

export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
auth_method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

# `docker run berth/postgres:15 -c shared_buffers=256MB` passes flags to postgres, as with the official image.
if [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi

init_cluster() {
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth_method" != trust ]; then
    echo >&2 "error: database is uninitialized and POSTGRES_PASSWORD is not set;"
    echo >&2 "  set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one)"
    exit 1
  fi
  if [ ! -w "$PGDATA" ]; then
    echo >&2 "error: $PGDATA is not writable by $(id -un) (uid $(id -u)); give the volume to that uid"
    exit 1
  fi
  echo "initialising a new cluster in $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"

  # initdb sets the superuser's password from a file; the password never appears in argv.
  # Local (Unix socket) connections stay trusted: only processes inside this container can use them.
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    --auth-local=trust --auth-host="$auth_method" ${POSTGRES_INITDB_ARGS:-}
  {
    echo
    echo "# berth: clients on the Docker network"
    echo "host all all 0.0.0.0/0 $auth_method"
    echo "host all all ::/0 $auth_method"
  } >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"

  if [ "$POSTGRES_DB" != postgres ]; then
    # A temporary server on the Unix socket only, so nothing connects (or looks healthy) before setup is done.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres --set db="$POSTGRES_DB" \
      <<<'CREATE DATABASE :"db";'
    pg_ctl -D "$PGDATA" -m fast -w stop
  fi
  echo "cluster initialised"
}

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  init_cluster
fi

# exec: postgres becomes PID 1 and receives docker stop's signal directly.
exec "$@"
