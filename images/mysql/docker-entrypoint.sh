#!/bin/bash
# The official mysql image's env contract: MYSQL_ROOT_PASSWORD (or MYSQL_ALLOW_EMPTY_PASSWORD /
# MYSQL_RANDOM_ROOT_PASSWORD), MYSQL_ROOT_HOST, MYSQL_DATABASE, MYSQL_USER + MYSQL_PASSWORD and
# MYSQL_INITDB_SKIP_TZINFO. Initialises an empty data directory once; an existing one (e.g. a volume kept from an
# old container) is started as it is, whatever the env vars say now.
set -euo pipefail

DATADIR=/var/lib/mysql
INIT_SOCKET=/run/mysqld/init.sock
# Present only while a first-start initialisation runs; left behind if it died half-way.
INIT_MARKER="$DATADIR/.berth-init-incomplete"

# `docker run berth/mysql:8 --max-connections=500` passes flags to the server, as with the official image.
if [ "${1#-}" != "$1" ]; then
  set -- mysqld "$@"
fi

# SQL literals for values from the environment (quotes and backslashes escaped; NO_BACKSLASH_ESCAPES is cleared).
sql_string() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\\\'}"
}
sql_ident() {
  # shellcheck disable=SC2016 # backticks quote SQL identifiers; nothing to expand
  printf '`%s`' "${1//\`/\`\`}"
}

random_password() {
  head -c 24 /dev/urandom | base64
}

check_env() {
  if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] \
    && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    echo >&2 "error: database is uninitialized and password option is not specified"
    echo >&2 "  set one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
    exit 1
  fi
  if [ "${MYSQL_USER:-}" = root ]; then
    echo >&2 'error: MYSQL_USER="root"; MYSQL_USER and MYSQL_PASSWORD are for a regular user, not for root'
    exit 1
  fi
  if [ ! -w "$DATADIR" ]; then
    echo >&2 "error: $DATADIR is not writable by $(id -un) (uid $(id -u)); give the volume to that uid"
    exit 1
  fi
}

# The statements run once, as root over the socket of the temporary server.
init_sql() {
  local root_password=$1 health_password=$2 root_host=${MYSQL_ROOT_HOST:-%}
  echo "SET @@SESSION.SQL_LOG_BIN=0;"
  echo "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
  # mariadb-install-db also makes password-less root accounts for 127.0.0.1 and ::1.
  echo "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';"
  echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
  if [ "$root_host" != localhost ]; then
    echo "CREATE USER 'root'@$(sql_string "$root_host") IDENTIFIED BY $(sql_string "$root_password");"
    echo "GRANT ALL ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
  fi
  echo "CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY $(sql_string "$health_password");"
  if [ -n "${MYSQL_DATABASE:-}" ]; then
    echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$MYSQL_DATABASE");"
  fi
  if [ -n "${MYSQL_USER:-}" ] && [ -n "${MYSQL_PASSWORD:-}" ]; then
    echo "CREATE USER $(sql_string "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
    if [ -n "${MYSQL_DATABASE:-}" ]; then
      echo "GRANT ALL ON $(sql_ident "$MYSQL_DATABASE").* TO $(sql_string "$MYSQL_USER")@'%';"
    fi
  fi
}

init_datadir() {
  check_env
  echo "initialising a new data directory in $DATADIR"
  : >"$INIT_MARKER"

  local out
  if ! out=$(mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --cross-bootstrap 2>&1); then
    echo >&2 "$out"
    exit 1
  fi

  # A temporary server on its own socket, no TCP: nothing connects (or looks healthy) before setup is done.
  "$@" --skip-networking --socket="$INIT_SOCKET" --pid-file=/run/mysqld/init.pid &
  local pid=$!
  local tries=0
  until mariadb-admin --socket="$INIT_SOCKET" -uroot --silent ping >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || [ $((tries += 1)) -gt 60 ]; then
      echo >&2 "error: the temporary server did not start"
      exit 1
    fi
    sleep 0.5
  done

  local client=(mariadb --protocol=socket --socket="$INIT_SOCKET" -uroot --batch)
  if [ -z "${MYSQL_INITDB_SKIP_TZINFO:-}" ]; then
    # Named time zones (CONVERT_TZ, time_zone='Europe/Berlin'), as in the official image; warnings about
    # non-zone files in /usr/share/zoneinfo are dropped.
    mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null | "${client[@]}" mysql
  fi

  local root_password=${MYSQL_ROOT_PASSWORD:-}
  if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    root_password=$(random_password)
    echo "GENERATED ROOT PASSWORD: $root_password"
  fi
  if [ -n "${MYSQL_USER:-}" ] && [ -z "${MYSQL_PASSWORD:-}" ]; then
    echo >&2 "warning: MYSQL_USER is set but MYSQL_PASSWORD is not; the user is not created"
  fi
  local health_password
  health_password=$(random_password)
  # Passwords go to the client on stdin, never in argv.
  init_sql "$root_password" "$health_password" | "${client[@]}"
  (
    umask 077
    printf '[client]\nuser=healthcheck\npassword=%s\n' "$health_password" >"$DATADIR/.my-healthcheck.cnf"
  )

  # SIGTERM: a clean shutdown, as for the real server later.
  kill "$pid"
  wait "$pid"
  rm -f "$INIT_MARKER"
  echo "data directory initialised"
}

if [ "$1" = mysqld ] || [ "$1" = mariadbd ]; then
  if [ -e "$INIT_MARKER" ]; then
    echo >&2 "error: an earlier first-start initialisation of $DATADIR did not finish;"
    echo >&2 "  start again with an empty volume (nothing has been served from this one)"
    exit 1
  fi
  if [ ! -d "$DATADIR/mysql" ]; then
    init_datadir "$@"
  fi
fi

# exec: the server becomes PID 1 and gets docker stop's SIGTERM (a clean shutdown).
exec "$@"
