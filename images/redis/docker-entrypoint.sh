#!/bin/sh
set -eu

# `docker run berth/redis:7 --maxmemory 64mb` adds flags to the default server, as with the official image.
if [ "${1#-}" != "$1" ]; then
  set -- redis-server /etc/redis/berth.conf "$@"
fi

if [ "$1" = redis-server ] && [ -n "${REDIS_PASSWORD:-}" ]; then
  set -- "$@" --requirepass "$REDIS_PASSWORD"
fi

# exec: redis-server becomes PID 1 and gets docker stop's SIGTERM (it then saves and exits).
exec "$@"
