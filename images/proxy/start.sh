#!/bin/sh
# Where nginx listens, from the container's environment (set by berth): on the host's network, the stack's own
# address and ports (BERTH_LISTEN, BERTH_LISTEN_HTTPS); elsewhere the image's 80 and 443.
set -e
printf 'listen %s;\n' "${BERTH_LISTEN:-80}" > /etc/nginx/berth/listen.conf
printf 'listen %s ssl;\n' "${BERTH_LISTEN_HTTPS:-443}" > /etc/nginx/berth/listen-https.conf
exec nginx -g 'daemon off;'
