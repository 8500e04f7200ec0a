# The test hosts' ACME server (sourced by hosts.sh for `up --acme`, `dns` and `down`): Let's Encrypt's test CA,
# pebble, and its challenge test server's DNS (pebble-challtestsrv), on a test host of their own (ACME_ADDRESS).
# pebble validates HTTP-01 challenges on port 80 of whatever that DNS answers: every name resolves to h1 unless
# `npm run hosts -- dns <name> <host>` says otherwise. Its API is served over TLS with a certificate from the test
# hosts' CA; the roots that verify what it issues are new at each start (pebble makes them), written to ACME_ROOTS.
# Built from the Go module proxy like the Pulumi CLI, cached outside the clone.

PEBBLE_VERSION=2.10.3
PEBBLE_DIR="$BERTH_CACHE/toolchain/pebble-v$PEBBLE_VERSION"
ACME_ADDRESS="$SUBNET.3"
ACME_DIR="$HOSTS_DIR/acme"                 # its config, certificate, roots, logs and pids
ACME_DIRECTORY="https://$ACME_ADDRESS:14000/dir"
ACME_ROOTS="$ACME_DIR/roots.pem"
ACME_MANAGEMENT="https://$ACME_ADDRESS:15000"
ACME_DNS_MANAGEMENT="http://$ACME_ADDRESS:8055"

ensure_pebble() {
  install_go_programs "$PEBBLE_DIR" "github.com/letsencrypt/pebble/v2/cmd/pebble@v$PEBBLE_VERSION" \
    "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@v$PEBBLE_VERSION"
}

acme_answers() {
  curl -fsS --max-time 2 --cacert "$REGISTRY_DIR/tls/ca.crt" "$ACME_DIRECTORY" >/dev/null 2>&1 &&
    # Its management API answers 404 at / : any HTTP answer will do.
    [ "$(curl -sS --max-time 2 -o /dev/null -w '%{http_code}' "$ACME_DNS_MANAGEMENT/" 2>/dev/null)" != 000 ]
}

# The mode pebble runs in; a different one starts it again.
acme_mode() { echo "validity=$1 pebble=$PEBBLE_VERSION"; }

stop_acme_host() {
  local pid
  for pid in $(cat "$ACME_DIR/pids" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip link del bhacme 2>/dev/null || true
  ip netns del berth-acme 2>/dev/null || true
  rm -f "$ACME_DIR/pids" "$ACME_DIR/mode"
}

# ensure_acme_host VALIDITY_SECONDS: pebble and its DNS answering, the roots written; prints the two lines tests read.
ensure_acme_host() {
  local validity=$1
  ensure_pebble
  mkdir -p "$ACME_DIR/log"
  issue_certificate acme "$ACME_ADDRESS"
  if ! acme_answers || [ "$(cat "$ACME_DIR/mode" 2>/dev/null)" != "$(acme_mode "$validity")" ]; then
    stop_acme_host
    local ns=berth-acme
    make_network_host "$ns" bhacme "$ACME_ADDRESS"
    cat >"$ACME_DIR/pebble.json" <<EOF
{
  "pebble": {
    "listenAddress": "$ACME_ADDRESS:14000",
    "managementListenAddress": "$ACME_ADDRESS:15000",
    "certificate": "$REGISTRY_DIR/tls/acme.crt",
    "privateKey": "$REGISTRY_DIR/tls/acme.key",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "retryAfter": { "authz": 1, "order": 1 },
    "profiles": { "default": { "description": "berth's test hosts", "validityPeriod": $validity } }
  }
}
EOF
    # Every name to h1 unless told otherwise; no AAAA answers (the test bridge is IPv4).
    setsid nsenter --net="/run/netns/$ns" "$PEBBLE_DIR/pebble-challtestsrv" -defaultIPv4 "$(address_of h1)" -defaultIPv6 "" \
      -dnsserver "$ACME_ADDRESS:8053" -management "$ACME_ADDRESS:8055" -http01 "" -https01 "" -tlsalpn01 "" -doh "" \
      </dev/null >>"$ACME_DIR/log/challtestsrv.log" 2>&1 &
    echo $! >"$ACME_DIR/pids"
    # No artificial sleeps before validation, no nonces rejected at random: a test's issuance takes seconds, always.
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 setsid nsenter --net="/run/netns/$ns" "$PEBBLE_DIR/pebble" \
      -config "$ACME_DIR/pebble.json" -dnsserver "$ACME_ADDRESS:8053" </dev/null >>"$ACME_DIR/log/pebble.log" 2>&1 &
    echo $! >>"$ACME_DIR/pids"
    local deadline=$(( $(date +%s) + 30 ))
    until acme_answers; do
      [ "$(date +%s)" -lt "$deadline" ] || { tail -n 5 "$ACME_DIR/log/"*.log >&2; die "the test ACME server did not answer within 30s"; }
      sleep 0.2
    done
    acme_mode "$validity" >"$ACME_DIR/mode"
    say "test ACME server: pebble v$PEBBLE_VERSION at $ACME_ADDRESS, certificates valid ${validity}s, DNS at $ACME_ADDRESS:8053"
  fi
  # The root and intermediate pebble signs with: what verifies the certificates it issues.
  { curl -fsS --max-time 5 --cacert "$REGISTRY_DIR/tls/ca.crt" "$ACME_MANAGEMENT/roots/0"
    curl -fsS --max-time 5 --cacert "$REGISTRY_DIR/tls/ca.crt" "$ACME_MANAGEMENT/intermediates/0"; } >"$ACME_ROOTS.partial"
  mv "$ACME_ROOTS.partial" "$ACME_ROOTS"
  echo "acme: $ACME_DIRECTORY"
  echo "acme-roots: $ACME_ROOTS"
}

# `npm run hosts -- dns <name> <host>`: the test DNS answers <name> with a test host's address (h2) or an IP.
cmd_dns() { # NAME HOST
  local name=$1 target=$2 address
  case "$target" in
    h[0-9]*) address=$(address_of "$target") ;;
    *) address=$target ;;
  esac
  [[ "$name" =~ ^[a-z0-9*]([a-z0-9.-]*[a-z0-9])?$ ]] || die "not a DNS name: $name"
  [[ "$address" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a test host or an IPv4 address: $target" "usage: npm run hosts -- dns <name> <h1|h2|…|IP>"
  acme_answers || die "the test ACME server is not running" "run npm run hosts -- up N --acme"
  curl -fsS --max-time 5 -X POST -d "{\"host\": \"$name.\", \"addresses\": [\"$address\"]}" "$ACME_DNS_MANAGEMENT/add-a" >/dev/null
  say "test DNS: $name -> $address"
}
