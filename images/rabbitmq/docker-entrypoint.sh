#!/bin/sh
set -eu

# `docker run berth/rabbitmq:3 -rabbit heartbeat 30` passes flags to the server, as with the official image.
if [ "${1#-}" != "$1" ]; then
  set -- rabbitmq-server "$@"
fi

if [ "$1" = rabbitmq-server ]; then
  if [ ! -w /var/lib/rabbitmq ]; then
    echo >&2 "error: /var/lib/rabbitmq is not writable by $(id -un) (uid $(id -u)); give the volume to that uid"
    exit 1
  fi
  # One random cookie per data volume, made before the broker or a healthcheck's CLI could race to create it.
  cookie="$HOME/.erlang.cookie"
  if [ -z "${RABBITMQ_ERLANG_COOKIE:-}" ] && [ ! -e "$cookie" ]; then
    (umask 077 && head -c 42 /dev/urandom | base64 -w0 >"$cookie")
    chmod 400 "$cookie"
  fi
fi

# exec: rabbitmq-server's script becomes PID 1; it turns docker stop's SIGTERM into a clean broker shutdown.
exec "$@"
