#!/usr/bin/env bash
# The seed posts' deploy, as teams write it by hand: build, tag, push, stop, rm, run. berth's benchmark runs it
# against the same app, images, services and load as berth, for a side-by-side comparison.
# Usage: stop-rm-run.sh CONTEXT IMAGE NAME NETWORK HOST_PORT ENV_FILE
set -euo pipefail
context=$1 image=$2 name=$3 network=$4 port=$5 env_file=$6

export DOCKER_CONFIG; DOCKER_CONFIG=$(mktemp -d)
trap 'rm -rf "$DOCKER_CONFIG"' EXIT
docker login "${image%%/*}" --username "$BERTH_REGISTRY_USER" --password-stdin <"$BERTH_REGISTRY_PASSWORD_FILE" >/dev/null 2>&1
docker build -q --build-arg "APP_VERSION=${image##*:}" --build-arg "EXTRA_CA_CERTS=$(cat "$BERTH_EXTRA_CA_CERTS_FILE" 2>/dev/null || true)" -t "$image" "$context" >/dev/null 2>&1
docker push -q "$image" >/dev/null
docker stop "$name" >/dev/null 2>&1 || true
docker rm "$name" >/dev/null 2>&1 || true
docker run -d --name "$name" --restart unless-stopped --network "$network" -p "127.0.0.1:$port:8080" --env-file "$env_file" "$image" >/dev/null
