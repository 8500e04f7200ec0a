#!/usr/bin/env bash
# The careful hand-written deploy, with the guarantees berth gives: build, push, start the new replicas beside the
# old, wait for their healthcheck, switch nginx to them (graceful reload), drain and remove the old ones.
# Usage: careful.sh CONTEXT IMAGE NAME NETWORK PROXY ENV_FILE REPLICAS
set -euo pipefail
context=$1 image=$2 name=$3 network=$4 proxy=$5 env_file=$6 replicas=$7

export DOCKER_CONFIG; DOCKER_CONFIG=$(mktemp -d)
trap 'rm -rf "$DOCKER_CONFIG"' EXIT
docker login "${image%%/*}" --username "$BERTH_REGISTRY_USER" --password-stdin <"$BERTH_REGISTRY_PASSWORD_FILE" >/dev/null 2>&1
docker build -q --build-arg "APP_VERSION=${image##*:}" --build-arg "EXTRA_CA_CERTS=$(cat "$BERTH_EXTRA_CA_CERTS_FILE" 2>/dev/null || true)" -t "$image" "$context" >/dev/null
docker push -q "$image" >/dev/null
mapfile -t old < <(docker ps -q --filter "label=careful=$name")
new=()
for _ in $(seq "$replicas"); do
  new+=("$(docker run -d --label "careful=$name" --restart unless-stopped --network "$network" --env-file "$env_file" "$image")")
done
for id in "${new[@]}"; do # the image's own healthcheck, polled rather than waiting an interval for the engine's verdict
  until docker exec "$id" node healthcheck.js >/dev/null 2>&1; do sleep 0.25; done
done
for id in "${new[@]}"; do echo "server $(docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$id"):8080 max_fails=1 fail_timeout=2s;"; done |
  docker exec -i "$proxy" sh -c 'cat > /etc/nginx/berth/upstream.conf && nginx -s reload'
sleep 0.5 # old workers stop accepting once the new ones run
[ "${#old[@]}" -eq 0 ] || { docker stop -t 20 "${old[@]}" >/dev/null && docker rm "${old[@]}" >/dev/null; }
