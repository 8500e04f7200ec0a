# shellcheck shell=bash
# Sourced by ssh and docker-socket. The host keys trusted besides the user's known_hosts: the berth:knownHosts of
# the stack being deployed (BERTH_KNOWN_HOSTS, set by berth), never another stack's. Connections (and the sockets
# forwarded over them) are shared only between calls that trust the same keys: trust_id names that set.
trust_file="" trust_id=user
if [ -n "${BERTH_KNOWN_HOSTS:-}" ] && [ -s "$BERTH_KNOWN_HOSTS" ]; then
  trust_file=$BERTH_KNOWN_HOSTS
  trust_id=$(sha256sum <"$trust_file" | cut -c1-12)
fi
