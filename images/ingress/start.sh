#!/bin/sh
# BERTH_INGRESS_CONFIG (set by berth): the config a new ingress starts with (its admin socket, the listening server,
# no routes). From then on Caddy resumes from its own autosave on the volume, with every stack's routes.
set -e
mkdir -p /run/caddy
printf '%s' "$BERTH_INGRESS_CONFIG" > /run/caddy/initial.json
exec caddy run --resume --config /run/caddy/initial.json
