# shellcheck shell=bash
# Setup stages for the Docker side: engine, private registry, base and service images. Sourced by setup.sh.

BERTH_LOGS="$BERTH_CACHE/logs"
SERVICE_IMAGES=("berth/redis:7=images/redis" "berth/postgres:15=images/postgres" "berth/mysql:8=images/mysql" "berth/rabbitmq:3=images/rabbitmq")
BASE_IMAGES=("debian:bookworm-slim")

apt_install() { # PACKAGE...
  [ "$(id -u)" = 0 ] || { echo "need root to apt-get install $*"; return 1; }
  echo "installing Debian's $*"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

wait_until() { # SECONDS COMMAND...
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

ensure_docker_engine() {
  # The docker CLI reaches ssh:// engines (berth:hosts) through the system's ssh client (berth's tools/ssh first).
  command -v ssh >/dev/null || { [ "${BERTH_SETUP:-}" != remote ] && apt_install openssh-client; } || { echo "no ssh client: install OpenSSH's client"; return 1; }
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ "${BERTH_SETUP:-}" = remote ]; then
    echo "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}); berth builds the app image on one: start Docker, or point DOCKER_HOST at an engine. Remote-only setup (BERTH_SETUP=remote) installs and starts none (that needs root)"
    return 1
  fi
  case "${DOCKER_HOST:-unix://}" in
    unix://*) ;;
    *) echo "the Docker engine at DOCKER_HOST=$DOCKER_HOST does not answer"; return 1 ;;
  esac
  command -v dockerd >/dev/null || apt_install docker.io
  mkdir -p "$BERTH_LOGS"
  echo "starting dockerd in the background (no systemd here); log: $BERTH_LOGS/dockerd.log"
  # live-restore: a restart of dockerd (an upgrade, a crash) leaves the containers running, the app answering.
  # No userland proxy: published ports, 127.0.0.1 ones included, go through the kernel's NAT rules, which outlive
  # dockerd, instead of docker-proxy processes, which die with it (a restart dropped ~6 s of loopback traffic).
  setsid nohup dockerd --live-restore --userland-proxy=false >>"$BERTH_LOGS/dockerd.log" 2>&1 </dev/null &
  wait_until 60 docker info || { tail -20 "$BERTH_LOGS/dockerd.log"; echo "dockerd did not answer within 60s"; return 1; }
  echo "Docker engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})') answers"
}

# A docker-registry config in DIR serving ADDRESS with the registry user's htpasswd login; with a TLS certificate
# and key when given (CERT KEY).
write_registry_config() { # DIR ADDRESS [CERT KEY]
  local dir=$1 address=$2 tls=""
  [ -z "${3:-}" ] || tls="
  tls: { certificate: $3, key: $4 }"
  mkdir -p "$dir/data"
  htpasswd -Bbn "$BERTH_REGISTRY_USER" "$(cat "$BERTH_REGISTRY_PASSWORD_FILE")" >"$dir/htpasswd"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $dir/data }
  delete: { enabled: true }
http:
  addr: $address$tls
auth:
  htpasswd: { realm: berth, path: $dir/htpasswd }
YAML
}

registry_answers() {
  curl -fsS --max-time 2 -u "$BERTH_REGISTRY_USER:$(cat "$BERTH_REGISTRY_PASSWORD_FILE")" "http://$BERTH_REGISTRY/v2/" >/dev/null 2>&1
}

ensure_registry() {
  local dir="$BERTH_CACHE/registry"
  mkdir -p "$dir/data" "$(dirname "$BERTH_REGISTRY_PASSWORD_FILE")"
  if [ ! -s "$BERTH_REGISTRY_PASSWORD_FILE" ]; then
    echo "generating the local registry's password (kept in $BERTH_REGISTRY_PASSWORD_FILE, never in git)"
    (umask 077; head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$BERTH_REGISTRY_PASSWORD_FILE")
  fi
  if registry_answers; then return 0; fi
  command -v docker-registry >/dev/null || apt_install docker-registry
  command -v htpasswd >/dev/null || apt_install apache2-utils
  write_registry_config "$dir" "$BERTH_REGISTRY"
  mkdir -p "$BERTH_LOGS"
  echo "starting Debian's docker-registry on $BERTH_REGISTRY with htpasswd auth; log: $BERTH_LOGS/registry.log"
  setsid nohup docker-registry serve "$dir/config.yml" >>"$BERTH_LOGS/registry.log" 2>&1 </dev/null &
  wait_until 30 registry_answers || { tail -20 "$BERTH_LOGS/registry.log"; echo "registry did not answer within 30s"; return 1; }
}

# Real users pull base images; this machine cannot, so a missing one is seeded from Debian's mirror.
seed_debian_image() { # IMAGE
  command -v debootstrap >/dev/null || apt_install debootstrap
  local root
  root=$(mktemp -d)
  echo "seeding $1 with debootstrap --variant=minbase bookworm + docker import (nothing can be pulled here)"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
  tar -C "$root" -c . | docker import -c 'CMD ["bash"]' -c 'LABEL berth.seeded-by=debootstrap' - "$1" >/dev/null
  rm -rf "$root"
}

ensure_base_images() {
  local image
  for image in "${BASE_IMAGES[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 && continue
    if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then echo "pulled $image"; continue; fi
    seed_debian_image "$image"
  done
}

context_hash() { # DIR
  tar -C "$1" -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner . | sha256sum | cut -c1-16
}

# Stand-ins for the official redis/postgres images, built from Debian's packages (see images/).
ensure_service_images() {
  local entry image dir
  for entry in "${SERVICE_IMAGES[@]}"; do
    image=${entry%%=*} dir="$BERTH_ROOT/${entry#*=}"
    build_unless_current "$image" "$dir" "$(context_hash "$dir")" || return 1
  done
}

# build_unless_current IMAGE CONTEXT HASH: builds IMAGE from CONTEXT unless the one here carries HASH (its label).
build_unless_current() {
  local image=$1 context=$2 hash=$3
  [ "$(docker image inspect -f '{{index .Config.Labels "berth.context-hash"}}' "$image" 2>/dev/null)" = "$hash" ] && return 0
  echo "building $image"
  mkdir -p "$BERTH_LOGS"
  # The legacy builder warns that it is deprecated on every build; show its output only when it fails.
  docker build -q --label "berth.context-hash=$hash" -t "$image" "$context" >"$BERTH_LOGS/build.log" 2>&1 || { cat "$BERTH_LOGS/build.log"; return 1; }
}

# berth/caddy:<version>, what berth's ingress image builds on: images/caddy with the Caddy that ensure_caddy built.
ensure_caddy_image() {
  local context rc=0
  context=$(mktemp -d)
  cp -a "$BERTH_ROOT/images/caddy/." "$CADDY_DIR/caddy" "$context/"
  build_unless_current "berth/caddy:$CADDY_VERSION" "$context" "$(context_hash "$context")" || rc=$?
  rm -rf "$context"
  return "$rc"
}

# Networks that re-sign TLS add their CA to the host (Debian: /usr/local/share/ca-certificates); builds inside
# containers need it too, or npm and friends fail with SELF_SIGNED_CERT_IN_CHAIN. Collected once for AppImage.
ensure_extra_ca_certs() {
  local found=(/usr/local/share/ca-certificates/*.crt)
  [ -e "${found[0]}" ] || { rm -f "$BERTH_EXTRA_CA_CERTS_FILE"; return 0; }
  local collected
  collected=$(cat "${found[@]}")
  [ "$collected" = "$(cat "$BERTH_EXTRA_CA_CERTS_FILE" 2>/dev/null)" ] && return 0
  echo "passing this host's extra CA certificates (${#found[@]}) to image builds"
  printf '%s\n' "$collected" >"$BERTH_EXTRA_CA_CERTS_FILE"
}
