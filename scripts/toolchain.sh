# shellcheck shell=bash
# Setup stages for the Pulumi toolchain. Sourced by setup.sh after lib.sh.
# Each stage prints nothing when everything is already in place.

PULUMI_VERSION=$(pulumi_sdk_version)
TOOLCHAIN_BIN="$BERTH_CACHE/toolchain/pulumi-v$PULUMI_VERSION/bin"

ensure_node_modules() {
  # npm writes node_modules/.package-lock.json last, so its presence and age tell a finished install.
  local marker="$BERTH_ROOT/node_modules/.package-lock.json"
  if [ -f "$marker" ] && [ "$marker" -nt "$BERTH_ROOT/package-lock.json" ]; then return 0; fi
  echo "installing npm dependencies from package-lock.json"
  (cd "$BERTH_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
}

installed_pulumi_matches() { # BINARY
  [ -x "$1" ] && [ "$("$1" version 2>/dev/null)" = "v$PULUMI_VERSION" ]
}

ensure_pulumi_cli() {
  if installed_pulumi_matches "$TOOLCHAIN_BIN/pulumi"; then return 0; fi
  local staging
  staging=$(mktemp -d "$BERTH_CACHE/toolchain/.staging.XXXXXX")
  local found
  found=$(command -v pulumi || true)
  if [ -n "$found" ] && installed_pulumi_matches "$found"; then
    echo "using the installed $found (v$PULUMI_VERSION)"
    cp -a "$(dirname "$(readlink -f "$found")")/." "$staging/"
  elif curl -fsS --max-time 5 -o "$staging/install.sh" https://get.pulumi.com/ 2>/dev/null; then
    echo "installing Pulumi v$PULUMI_VERSION with the official installer"
    sh "$staging/install.sh" --version "$PULUMI_VERSION" --install-root "$staging/root" --no-edit-path
    mv "$staging/root/bin/"* "$staging/" && rm -rf "$staging/root" "$staging/install.sh"
  else
    rm -f "$staging/install.sh"
    echo "no Pulumi v$PULUMI_VERSION installed and get.pulumi.com unreachable: building it from Go modules"
    build_pulumi_from_go "$staging/pulumi"
  fi
  # Publish atomically: a half-built toolchain never looks finished.
  rm -rf "$TOOLCHAIN_BIN"
  mkdir -p "$(dirname "$TOOLCHAIN_BIN")"
  mv "$staging" "$TOOLCHAIN_BIN"
  installed_pulumi_matches "$TOOLCHAIN_BIN/pulumi" || { echo "built CLI does not report v$PULUMI_VERSION"; return 1; }
}

# The CLI's module (pkg/v3) replaces sdk/v3 with a sibling folder, so 'go install pkg@version' refuses it.
# Build it from a generated wrapper module that requires pkg and sdk at the same release and repeats
# pkg's non-local replaces.
build_pulumi_from_go() { # OUTPUT_BINARY
  command -v go >/dev/null || { echo "Go is needed to build the Pulumi CLI here (apt-get install golang, or install Pulumi normally)"; return 1; }
  local out=$1 work="$BERTH_CACHE/go-build/pulumi-v$PULUMI_VERSION" pkg=github.com/pulumi/pulumi/pkg/v3
  rm -rf "$work" && mkdir -p "$work"
  (
    set -e
    cd "$work"
    export GOFLAGS=-mod=mod
    go mod init berth.local/pulumi-cli >/dev/null 2>&1
    go mod edit -require="$pkg@v$PULUMI_VERSION" -require="github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/pulumi"\n' "$pkg" >tools.go
    # The checksum database is not reachable from every network that reaches the module proxy.
    if ! go mod download "$pkg@v$PULUMI_VERSION" 2>/dev/null; then
      echo "checksum database unreachable: verifying modules against go.sum only (GOSUMDB=off)"
      export GOSUMDB=off
      go mod download "$pkg@v$PULUMI_VERSION"
    fi
    local pkgmod
    pkgmod=$(go mod download -json "$pkg@v$PULUMI_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).GoMod))')
    go mod edit -json "$pkgmod" | node -e '
      let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
        for (const r of JSON.parse(s).Replace ?? []) if (r.New.Version) console.log(`${r.Old.Path}=${r.New.Path}@${r.New.Version}`);
      })' | while read -r rep; do go mod edit -replace="$rep"; done
    echo "downloading modules (cold: a few minutes)"
    go mod tidy >tidy.log 2>&1 || { tail -20 tidy.log; exit 1; }
    echo "compiling the Pulumi CLI (cold: about 5 minutes on 2 cores)"
    go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$out" "$pkg/cmd/pulumi"
  )
}

# install_go_programs DIR PACKAGE@VERSION...: Go programs built from the module proxy into DIR (cached outside the
# clone), published atomically; nothing to do when DIR holds them all.
install_go_programs() {
  local dir=$1 pkg missing=0; shift
  for pkg in "$@"; do [ -x "$dir/$(basename "${pkg%@*}")" ] || missing=1; done
  [ "$missing" = 0 ] && return 0
  command -v go >/dev/null || { echo "Go is needed to build $* here (apt-get install golang)"; return 1; }
  echo "building $* from the Go module proxy (cold: up to a few minutes)"
  local staging
  staging=$(mktemp -d "$BERTH_CACHE/toolchain/.staging.XXXXXX")
  GOBIN="$staging" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" "$@" || { rm -rf "$staging"; return 1; }
  rm -rf "$dir" && mv "$staging" "$dir"
}

# Caddy, berth's ingress (front door): the module proxy's release, not Debian's 2.6.2, whose ACME client cannot
# finish an order with current ACME servers (measured against pebble: it rejects an HTTP-date Retry-After).
CADDY_VERSION=$(sed -n "s/^ARG CADDY_VERSION=//p" "$BERTH_ROOT/images/ingress/Dockerfile")
CADDY_DIR="$BERTH_CACHE/toolchain/caddy-v$CADDY_VERSION"
ensure_caddy() {
  install_go_programs "$CADDY_DIR" "github.com/caddyserver/caddy/v2/cmd/caddy@v$CADDY_VERSION"
}

# Plugins the engine looks for next to the CLI (placed there, they count as bundled, not ambient):
# - pulumi-resource-pulumi-nodejs serves berth's Docker resources (dynamic providers): berth's copy of the shim
#   @pulumi/pulumi ships (tools/), which defers loading the TypeScript compiler.
# - pulumi-language-nodejs: an official CLI brings its own; a CLI built from Go modules gets berth's stand-in
#   (tools/pulumi-language-nodejs), because the language host's Go module is not on every module proxy.
# - pulumi-analyzer-policy starts nodejs policy packs (pulumi preview --policy-pack) where no language host does;
#   official releases ship it, a CLI built from Go modules does not.
ensure_plugin_shims() {
  local shim="$TOOLCHAIN_BIN/pulumi-analyzer-policy"
  if [ ! -e "$shim" ] || grep -q "berth's copy" "$shim"; then
    install_if_changed "$BERTH_ROOT/tools/pulumi-analyzer-policy" "$shim"
  fi
  install_if_changed "$BERTH_ROOT/tools/pulumi-resource-pulumi-nodejs" "$TOOLCHAIN_BIN/pulumi-resource-pulumi-nodejs"
  local lang="$TOOLCHAIN_BIN/pulumi-language-nodejs"
  if [ ! -e "$lang" ] || grep -q "berth's stand-in" "$lang"; then
    install_if_changed "$BERTH_ROOT/tools/pulumi-language-nodejs" "$lang"
  fi
}

install_if_changed() { # SOURCE TARGET
  cmp -s "$1" "$2" && return 0
  echo "installing $(basename "$2") next to the CLI"
  install -m 0755 "$1" "$2.tmp" && mv "$2.tmp" "$2"
}
