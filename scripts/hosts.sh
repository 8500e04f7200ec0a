#!/usr/bin/env bash
# `npm run hosts -- up [N] [--swarm] [--disk MB]`: makes exactly N local test hosts exist (h1…hN), each behaving
# like a server reached over SSH: its own network namespace with an address on a private test bridge, its own
# mount view of /run and /etc/docker, its own dockerd (data root, exec root, bridge) and its own sshd with key-only
# login for the non-root user `deploy` (in the docker group). Prints one `ssh://deploy@<address>` line per host
# as its last lines. `npm run hosts -- down` removes them all. Idempotent; cleans what killed runs left.
# --swarm: dockerd without live-restore (the two exclude each other). --disk MB: the size of each host's data root,
# a filesystem of its own (default 8192, sparse: a disk-full test fills it with one fallocate'd file, never the
# machine's own disk). `npm run hosts -- stop|start|cut|join|fill|unfill <host>`: stop/start a host's dockerd,
# cut/restore its network link, fill its data root up to its last 16 MB or empty it again.
# --acme: also the test ACME server (scripts/acme-host.sh), printing `acme: <directory URL>` and
# `acme-roots: <PEM bundle>` before the hosts' lines; --acme-validity SECONDS: how long its certificates last.
# `npm run hosts -- dns <name> <host>`: its DNS answers <name> with that host's address (default: h1's).
# The hosts' registry runs on a test host of its own (its namespace's address, REGISTRY below) over TLS with a
# certificate from a CA made here, trusted by every host's dockerd and by the local engine (certs.d, no
# insecure-registries), with the local registry's login; berth's service stand-ins are pushed there.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/engine.sh"   # SERVICE_IMAGES, write_registry_config
source "$(dirname "$0")/toolchain.sh"   # install_go_programs
export_berth_env

HOSTS_DIR="$BERTH_CACHE/hosts"            # per host: data root, run dir, sshd config and keys, logs
BRIDGE=berth-test0
SUBNET=192.168.240                        # outside 10.0.0.0/8, which Swarm takes for its own pools
GATEWAY="$SUBNET.1"
REGISTRY_ADDRESS="$SUBNET.2"
REGISTRY="$REGISTRY_ADDRESS:5000"
REGISTRY_DIR="$HOSTS_DIR/registry"    # CA, certificate, config and data (kept: pushed layers are reused)
SSH_DIR="$HOME/.ssh"
CLIENT_KEY="$SSH_DIR/berth_test_hosts"
KNOWN_HOSTS="$SSH_DIR/berth_known_hosts"
SSH_INCLUDE="$SSH_DIR/berth_config"
source "$(dirname "$0")/acme-host.sh"  # ensure_acme_host, cmd_dns, stop_acme_host

address_of() { echo "$SUBNET.$((10 + ${1#h}))"; }
# A fixed MAC per address: a host or the registry made again keeps its MAC, so ARP entries its peers cached stay right.
mac_of() { printf '02:b0:c0:a8:f0:%02x' "${1##*.}"; }
netns_of() { echo "berth-$1"; }
host_dirs() { local d; for d in "$HOSTS_DIR"/h[0-9]*; do [ -d "$d" ] && basename "$d"; done; }
existing_hosts() { ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^berth-\(h[0-9]\+\)$/\1/p' | sort -V; }

need() { # COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "$1 is missing and installing $2 needs root"
  say "installing Debian's $2"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

ensure_tools() {
  [ "$(id -u)" = 0 ] || die "test hosts need root (network namespaces, a dockerd each)" "run as root"
  need ip iproute2
  need sshd openssh-server
  need ssh openssh-client
  need dockerd docker.io
  getent group docker >/dev/null || groupadd docker
  id deploy >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups docker deploy
  usermod --append --groups docker deploy
  usermod --password '*' deploy   # key-only: no password matches '*' (a locked '!' account would refuse keys too)
}

ensure_client_access() {
  mkdir -p "$SSH_DIR" && chmod 700 "$SSH_DIR"
  [ -s "$CLIENT_KEY" ] || ssh-keygen -q -t ed25519 -N "" -C "berth test hosts" -f "$CLIENT_KEY"
  install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
  install -m 600 -o deploy -g deploy "$CLIENT_KEY.pub" /home/deploy/.ssh/authorized_keys
  # The way a user's machine has it: a config file (included from ~/.ssh/config) that the plain ssh command reads.
  cat >"$SSH_INCLUDE" <<EOF
# Written by berth's npm run hosts: the local test hosts. Host keys are checked against $KNOWN_HOSTS.
Host $SUBNET.*
  User deploy
  IdentityFile $CLIENT_KEY
  IdentitiesOnly yes
  UserKnownHostsFile $KNOWN_HOSTS
  StrictHostKeyChecking yes
  # One connection per host, reused by every docker call of a run.
  ControlMaster auto
  ControlPath $SSH_DIR/berth-cm-%C
  ControlPersist 120s
EOF
  touch "$SSH_DIR/config"
  grep -qxF "Include $SSH_INCLUDE" "$SSH_DIR/config" || { printf 'Include %s\n\n' "$SSH_INCLUDE" | cat - "$SSH_DIR/config" >"$SSH_DIR/config.new" && mv "$SSH_DIR/config.new" "$SSH_DIR/config"; }
  chmod 600 "$SSH_DIR/config"
}

ensure_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  [[ "$(ip addr show "$BRIDGE")" == *"$GATEWAY/24"* ]] || ip addr add "$GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Host to host over the bridge (a swarm's nodes, apps to another host's services, pulls from the registry host):
  # bridged traffic passes the FORWARD chain, whose policy dockerd sets to DROP.
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
}

# A host's processes: its init (sshd, holding the namespaces) and its current dockerd (`start` may have replaced it).
pids_of() { cat "$HOSTS_DIR/$1/pids" "$HOSTS_DIR/$1/dockerd.pid" 2>/dev/null || true; }

# Removes a host and everything of it: its containers, daemons, mounts, link, namespace, directory.
remove_host() {
  local host=$1 dir="$HOSTS_DIR/$1" ns
  ns=$(netns_of "$host")
  # Its containers (in its cgroup parent, each in a network namespace of its own), then its daemons (in its own).
  local procs
  procs=$(find "/sys/fs/cgroup/pids/berth-$host" -name cgroup.procs -exec cat {} + 2>/dev/null || true)
  [ -z "$procs" ] || echo "$procs" | xargs kill -KILL 2>/dev/null || true
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  for pid in $(pids_of "$host"); do kill -KILL "$pid" 2>/dev/null || true; done
  sleep 0.2
  # dockerd bind-mounts its data root (and containers their layers): unmount everything under the host's dir.
  awk -v d="$dir" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
  find /sys/fs/cgroup/*/"berth-$host" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  ip link del "bh${host#h}" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
  [ ! -f "$KNOWN_HOSTS" ] || sed -i "/^$(address_of "$host") /d" "$KNOWN_HOSTS"
}

# The host's own world, run inside its network namespace and private mount and UTS namespaces: /run and /etc/docker
# are its own, then dockerd and sshd start there (an ssh session's docker CLI finds this host's socket).
write_init() { # HOST SWARM DISK_MB
  local host=$1 swarm=$2 disk=$3 dir="$HOSTS_DIR/$1"
  local live_restore=true
  [ "$swarm" = 1 ] && live_restore=false
  mkdir -p "$dir"/{run,etc-docker,data,log}
  if [ "$disk" -gt 0 ]; then
    [ -f "$dir/disk.img" ] || { truncate -s "${disk}M" "$dir/disk.img" && mkfs.ext4 -q "$dir/disk.img"; }
  fi
  trust_registry "$dir/etc-docker"
  cat >"$dir/etc-docker/daemon.json" <<EOF
{
  "data-root": "$dir/data",
  "exec-root": "/run/docker-exec",
  "pidfile": "/run/docker.pid",
  "hosts": ["unix:///run/docker.sock"],
  "group": "docker",
  "bip": "172.31.$((${host#h} + 100)).1/24",
  "cgroup-parent": "berth-$host",
  "live-restore": $live_restore,
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "3" }
}
EOF
  [ -s "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -C "berth test host $host" -f "$dir/ssh_host_ed25519_key"
  cat >"$dir/sshd_config" <<EOF
ListenAddress $(address_of "$host")
HostKey $dir/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile /home/%u/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers deploy
UsePAM no
MaxSessions 64
MaxStartups 64:30:128
# A backup repository over SFTP (berth:backups) may live on a test host.
Subsystem sftp internal-sftp
EOF
  cat >"$dir/init.sh" <<EOF
#!/bin/bash
set -e
mount --make-rprivate /
hostname $host
$( [ "$disk" -gt 0 ] && echo "mount -o loop $dir/disk.img $dir/data" )
mount --bind $dir/run /run
mount --bind $dir/etc-docker /etc/docker
mkdir -p /run/sshd
dockerd --config-file /etc/docker/daemon.json >>$dir/log/dockerd.log 2>&1 &
echo \$! >$dir/dockerd.pid
exec /usr/sbin/sshd -D -f $dir/sshd_config -E $dir/log/sshd.log
EOF
  chmod +x "$dir/init.sh"
}

start_host() { # HOST SWARM DISK_MB
  local host=$1 dir="$HOSTS_DIR/$1" ns address
  ns=$(netns_of "$host")
  address=$(address_of "$host")
  write_init "$@"
  make_network_host "$ns" "bh${host#h}" "$address"
  ip -n "$ns" route add default via "$GATEWAY"
  # nsenter (not `ip netns exec`, which remounts /sys and hides the cgroups dockerd needs).
  setsid nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation private "$dir/init.sh" </dev/null >>"$dir/log/init.log" 2>&1 &
  echo $! >"$dir/pids"
  local deadline=$(( $(date +%s) + 60 ))
  until [ -s "$dir/dockerd.pid" ] && bash -c "exec 3<>/dev/tcp/$address/22" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 5 "$dir/log/"*.log >&2; die "test host $host did not start within 60s"; }
    sleep 0.2
  done
  # Its host key, as an operator would record it on first contact with a new server.
  sed -i "/^$address /d" "$KNOWN_HOSTS" 2>/dev/null || true
  echo "$address $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >>"$KNOWN_HOSTS"
  until ssh -o BatchMode=yes "deploy@$address" docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 5 "$dir/log/"*.log >&2; die "the docker engine of test host $host does not answer over SSH"; }
    sleep 0.3
  done
}

# A host is healthy when its processes live and its engine answers over SSH.
host_ok() {
  local host=$1 pid
  [ -s "$HOSTS_DIR/$host/pids" ] || return 1
  for pid in $(pids_of "$host"); do kill -0 "$pid" 2>/dev/null || return 1; done
  ssh -o BatchMode=yes -o ConnectTimeout=3 "deploy@$(address_of "$host")" docker info >/dev/null 2>&1
}

# make_network_host NAMESPACE LINK ADDRESS: a network namespace (made again if it was there) with ADDRESS on the
# test bridge through a veth pair (LINK on this side): a test host's, the registry's, the ACME server's.
make_network_host() {
  local ns=$1 link=$2 address=$3
  ip link del "$link" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip link add "$link" type veth peer name eth0 netns "$ns"
  ip link set "$link" master "$BRIDGE" up
  ip -n "$ns" link set eth0 address "$(mac_of "$address")"
  ip -n "$ns" addr add "$address/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  # As berth's front door asks of a server (docs/guide.md, "HTTPS"): a listener closing in a SO_REUSEPORT group hands the
  # connections it has not accepted yet to the others instead of resetting them (an ingress upgrade).
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_migrate_req=1
}

# The CA the hosts trust, made once.
ensure_ca() {
  local dir="$REGISTRY_DIR/tls"
  mkdir -p "$dir"
  [ -s "$dir/ca.crt" ] && [ -s "$dir/ca.key" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=berth test hosts CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
}

# issue_certificate NAME IP: NAME.crt and NAME.key (beside the CA) for a server at IP, made once.
issue_certificate() {
  local name=$1 ip=$2 dir="$REGISTRY_DIR/tls"
  ensure_ca
  [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ip" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
    -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
}

# Where an engine's dockerd looks for the CAs it trusts for one registry.
trust_registry() { # ETC_DOCKER_DIR
  install -D -m 644 "$REGISTRY_DIR/tls/ca.crt" "$1/certs.d/$REGISTRY/ca.crt"
}

registry_answers() {
  curl -fsS --max-time 2 --cacert "$REGISTRY_DIR/tls/ca.crt" -u "$BERTH_REGISTRY_USER:$(cat "$BERTH_REGISTRY_PASSWORD_FILE")" "https://$REGISTRY/v2/" >/dev/null 2>&1
}

ensure_registry_host() {
  issue_certificate registry "$REGISTRY_ADDRESS"
  trust_registry /etc/docker
  registry_answers && return 0
  local ns=berth-registry
  [ -s "$BERTH_REGISTRY_PASSWORD_FILE" ] || die "the local registry's password is missing" "run npm run setup first"
  kill -KILL "$(cat "$REGISTRY_DIR/pid" 2>/dev/null)" 2>/dev/null || true
  make_network_host "$ns" bhreg "$REGISTRY_ADDRESS"
  mkdir -p "$REGISTRY_DIR/data" "$REGISTRY_DIR/log"
  write_registry_config "$REGISTRY_DIR" "$REGISTRY" "$REGISTRY_DIR/tls/registry.crt" "$REGISTRY_DIR/tls/registry.key"
  setsid nsenter --net="/run/netns/$ns" docker-registry serve "$REGISTRY_DIR/config.yml" </dev/null >>"$REGISTRY_DIR/log/registry.log" 2>&1 &
  echo $! >"$REGISTRY_DIR/pid"
  local deadline=$(( $(date +%s) + 30 ))
  until registry_answers; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 5 "$REGISTRY_DIR/log/registry.log" >&2; die "the test hosts' registry did not answer within 30s"; }
    sleep 0.2
  done
}

# berth's service stand-ins, where the hosts pull them (nothing can be pulled from Docker Hub here).
push_service_images() {
  local entry image config
  config=$(mktemp -d)
  DOCKER_CONFIG=$config docker login "$REGISTRY" --username "$BERTH_REGISTRY_USER" --password-stdin <"$BERTH_REGISTRY_PASSWORD_FILE" >"$config/login.log" 2>&1 ||
    { cat "$config/login.log" >&2; die "cannot log in to the hosts' registry $REGISTRY"; }
  for entry in "${SERVICE_IMAGES[@]}"; do
    image=${entry%%=*}
    docker image inspect "$image" >/dev/null 2>&1 || continue
    docker tag "$image" "$REGISTRY/$image"
    DOCKER_CONFIG=$config docker push -q "$REGISTRY/$image" >/dev/null
  done
  rm -rf "$config"
}

cmd_up() {
  local count=3 swarm=0 disk=8192 acme=0 validity=7776000
  while [ $# -gt 0 ]; do
    case "$1" in
      --swarm) swarm=1 ;;
      --disk) disk=$2; shift ;;
      --acme) acme=1 ;;
      --acme-validity) acme=1; validity=$2; shift ;;
      [0-9]*) count=$1 ;;
      *) die "unknown argument $1" "usage: npm run hosts -- up [N] [--swarm] [--disk MB] [--acme [--acme-validity SECONDS]]" ;;
    esac
    shift
  done
  ensure_tools
  ensure_client_access
  ensure_bridge
  mkdir -p "$HOSTS_DIR"
  ensure_registry_host
  push_service_images
  local host wanted mode
  # What a host is made with (its sshd config's revision too): a host made otherwise is made again.
  mode="swarm=$swarm disk=$disk sshd=2"
  for host in $(existing_hosts) $(host_dirs); do
    wanted=0
    [ "${host#h}" -le "$count" ] 2>/dev/null && wanted=1
    if [ $wanted = 0 ] || [ "$(cat "$HOSTS_DIR/$host/mode" 2>/dev/null)" != "$mode" ] || ! host_ok "$host"; then
      remove_host "$host"
    fi
  done
  for i in $(seq "$count"); do
    host="h$i"
    host_ok "$host" && continue
    remove_host "$host"
    start_host "$host" "$swarm" "$disk"
    echo "$mode" >"$HOSTS_DIR/$host/mode"
    say "test host $host: dockerd and sshd at $(address_of "$host")"
  done
  say "the hosts' registry: $REGISTRY (TLS, CA $REGISTRY_DIR/tls/ca.crt)"
  [ "$acme" = 0 ] || ensure_acme_host "$validity"
  # What a stack on these hosts gets when it leaves berth:registry unset (components/config.ts, readTestHosts).
  local engines
  engines=$(for i in $(seq "$count"); do printf '"ssh://deploy@%s"\n' "$(address_of "h$i")"; done | paste -sd, -)
  printf '{"hosts": [%s], "registry": "%s"}\n' "$engines" "$REGISTRY" >"$HOSTS_DIR/environment.json.partial"
  mv "$HOSTS_DIR/environment.json.partial" "$HOSTS_DIR/environment.json"
  for i in $(seq "$count"); do echo "ssh://deploy@$(address_of "h$i")"; done
}

cmd_down() {
  local host
  for host in $(existing_hosts) $(host_dirs); do remove_host "$host"; done
  stop_acme_host
  kill -KILL "$(cat "$REGISTRY_DIR/pid" 2>/dev/null)" 2>/dev/null || true
  ip link del bhreg 2>/dev/null || true
  ip netns del berth-registry 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -f "$HOSTS_DIR/environment.json"
  # berth's connections to the hosts end with them (tools/ssh/ssh would otherwise find their sockets for a while).
  local socket
  for socket in "$SSH_DIR"/berth-mux-*@"$SUBNET".*; do
    [ -S "$socket" ] && ssh -o ControlPath="$socket" -O exit unused 2>/dev/null
    rm -f "$socket"
  done
  rm -f "$SSH_DIR"/berth-docker-*@"$SUBNET".*
}

# Failure tests: a host's engine stopped or started again, its link cut or restored.
cmd_fault() { # ACTION HOST
  local action=$1 host=$2 dir="$HOSTS_DIR/$2"
  case "$action" in
    stop) kill -TERM "$(cat "$dir/dockerd.pid")" ;;
    start) nsenter --target "$(sed -n 1p "$dir/pids")" --net --mount --uts bash -c \
      "setsid dockerd --config-file /etc/docker/daemon.json >>$dir/log/dockerd.log 2>&1 </dev/null & echo \$! >$dir/dockerd.pid" ;;
    cut) ip link set "bh${host#h}" down ;;
    join) ip link set "bh${host#h}" up ;;
    # Its data root's filesystem filled up to the last 16 MB, or emptied again (seen from its own mount namespace).
    # root (dockerd) may use the blocks ext4 reserves: free blocks, not `df`'s available ones, are what it has. Two
    # steps, as a file's own extent blocks take room too.
    fill) nsenter --target "$(sed -n 1p "$dir/pids")" --mount bash -c "for margin in 64 16; do
        fallocate -l \$(( \$(stat -f -c '%f * %S' $dir/data) - margin*1024*1024 )) $dir/data/berth-disk-filler-\$margin || true
      done; df -h $dir/data | tail -1" ;;
    unfill) nsenter --target "$(sed -n 1p "$dir/pids")" --mount bash -c "rm -f $dir/data/berth-disk-filler-*" ;;
  esac
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  stop|start|cut|join|fill|unfill) [ -n "${2:-}" ] || die "usage: npm run hosts -- $1 <host>"; cmd_fault "$1" "$2" ;;
  dns) [ -n "${3:-}" ] || die "usage: npm run hosts -- dns <name> <host>"; cmd_dns "$2" "$3" ;;
  *) die "usage: npm run hosts -- up [N] [--swarm] [--disk MB] [--acme [--acme-validity SECONDS]] | down | stop|start|cut|join|fill|unfill <host> | dns <name> <host>" ;;
esac
