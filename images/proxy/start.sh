#!/bin/sh
# Set by berth in the container's environment:
# - BERTH_FORWARD="LISTEN TARGET": a service's port (forward.conf): listen on LISTEN (the host's private address and
#   port, on the host's network) and pass each TCP connection to TARGET (the service's container).
# - Otherwise the web proxy, listening where BERTH_LISTEN and BERTH_LISTEN_HTTPS say (the stack's own address and
#   ports on the host's network), elsewhere on the image's 80 and 443; with BERTH_TRUST_GATEWAY=1 (a swarm's proxy
#   behind the nodes' front doors) trusting the scheme its gateway forwards.
set -e
if [ -n "${BERTH_FORWARD:-}" ]; then
  set -- $BERTH_FORWARD
  [ $# -eq 2 ] || { echo "BERTH_FORWARD must be 'LISTEN TARGET', got '$BERTH_FORWARD'" >&2; exit 2; }
  # reuseport: a new forwarder binds beside the old one before it goes, so a replacement refuses nothing.
  printf 'server {\n    listen %s reuseport so_keepalive=on;\n    proxy_pass %s;\n}\n' "$1" "$2" > /etc/nginx/berth/forward-server.conf
  exec nginx -c /etc/nginx/forward.conf -g 'daemon off;'
fi
if [ "${BERTH_TRUST_GATEWAY:-}" = 1 ]; then
  # A swarm's proxy behind the nodes' front doors: what the node itself sends to the published port arrives from the
  # container's default gateway (docker_gwbridge's address), which no outside client can be; the scheme that address
  # forwards (X-Forwarded-Proto) is passed on to the app. /proc/net/route has it in hex, least significant byte first.
  gw=$(awk '$2 == "00000000" { print $3; exit }' /proc/net/route)
  byte() { printf '%d' "0x$(printf '%s' "$gw" | cut -c"$1"-"$(( $1 + 1 ))")"; }
  printf '%s.%s.%s.%s $http_x_forwarded_proto;\n' "$(byte 7)" "$(byte 5)" "$(byte 3)" "$(byte 1)" > /etc/nginx/berth/trusted-proxy.conf
fi
printf 'listen %s;\n' "${BERTH_LISTEN:-80}" > /etc/nginx/berth/listen.conf
printf 'listen %s ssl;\n' "${BERTH_LISTEN_HTTPS:-443}" > /etc/nginx/berth/listen-https.conf
exec nginx -g 'daemon off;'
