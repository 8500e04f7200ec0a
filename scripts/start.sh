#!/usr/bin/env bash
# `npm start`: deploys the local `dev` stack on this machine's engine and prints the app's URL.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$BERTH_ROOT/scripts/env.sh"
export_berth_env
cd "$BERTH_ROOT"

pulumi stack select dev --create --non-interactive >/dev/null
# First, before its secrets are read: a passphrase that does not open them stops here, naming the stack.
node "$BERTH_ROOT/tools/register-typescript.js" "$BERTH_ROOT/scripts/recover.ts" dev

# This machine's secrets go into the dev stack's config as Pulumi secrets (encrypted with the local passphrase).
# The config is read once (each pulumi process costs ~0.5 s), values compared in memory, never on a command line.
config=$(pulumi config --stack dev --show-secrets --json)
set_secret_if_changed() { # KEY VALUE_FILE
  if ! node -e 'const [key, file] = process.argv.slice(1); const current = JSON.parse(require("fs").readFileSync(0, "utf8"))[key]?.value;
    process.exit(current === require("fs").readFileSync(file, "utf8").trim() ? 0 : 1)' "$1" "$2" <<<"$config"; then
    pulumi config set --secret "$1" --stack dev <"$2" >/dev/null
  fi
}
postgres_password="$BERTH_CACHE/secrets/dev-postgres.password"
[ -s "$postgres_password" ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$postgres_password")
set_secret_if_changed berth:registryPassword "$BERTH_REGISTRY_PASSWORD_FILE"
set_secret_if_changed berth:postgresPassword "$postgres_password"

BERTH_RECOVERED=dev bash "$BERTH_ROOT/scripts/pulumi.sh" up --stack dev --yes --skip-preview --non-interactive --suppress-progress
url=$(pulumi stack output url --stack dev)
# The URL is printed only once a real request to it was answered.
if ! why=$(node "$BERTH_ROOT/scripts/answers.js" "$url/" 15); then
  down=$(docker ps --all --filter label=berth.stack=dev --filter status=exited --filter status=dead --format '{{.Names}} ({{.Status}})' | paste -sd, -)
  die "the dev stack does not answer at $url ($why)${down:+; not running: $down}" \
    "see 'docker logs <container>' for why; 'npm start' again repairs stopped or changed containers"
fi
say "the dev stack answers at $url"
echo "$url"
