#!/usr/bin/env bash
# Installs what the end-to-end tests and `npm start` need, outside the extension's own dependencies:
#   - Debian packages: chromium (the browser playwright-core drives), ripgrep, libkrb5-dev (+ build tools) for
#     code-server's native modules. Installed with apt-get when running as root, else the command is printed.
#   - code-server 4.100.3 (VS Code 1.100.3; the newest that runs on Node 20) and playwright-core into .e2e/.
# Idempotent: a second run with everything in place returns in well under a second.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_CORE_VERSION=1.65.1
# code-server 4.100.3 bundles @vscode/ripgrep 1.15.11, whose postinstall downloads rg from GitHub unless this
# cached tarball exists (we fill it with Debian's rg so no host outside npm/Debian is needed).
RIPGREP_CACHE_VERSION=1.15.11
RIPGREP_TARBALL=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E_DIR="${LAYERSKIP_E2E_DIR:-$ROOT/.e2e}"
APT_PACKAGES=(chromium ripgrep libkrb5-dev g++ make python3 ca-certificates)

log() { printf '[setup-e2e] %s\n' "$*" >&2; }

installed_version() { # $1 = package name inside $E2E_DIR
  node -p "try { require('$E2E_DIR/node_modules/$1/package.json').version } catch { '' }"
}

ensure_apt_packages() {
  if command -v chromium >/dev/null && command -v rg >/dev/null && [ -e /usr/include/gssapi/gssapi.h ]; then
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages; run: sudo apt-get install -y ${APT_PACKAGES[*]}"
    exit 1
  fi
  log "apt-get install ${APT_PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Other processes may hold the dpkg lock for a while on shared machines: wait instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
}

ensure_ripgrep_cache() {
  [ "$(uname -m)" = x86_64 ] || return 0 # other architectures: let @vscode/ripgrep download its own binary
  local cache_dir
  cache_dir="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-$RIPGREP_CACHE_VERSION"
  [ -s "$cache_dir/$RIPGREP_TARBALL" ] && return
  local staging
  staging="$(mktemp -d)"
  cp "$(command -v rg)" "$staging/rg"
  mkdir -p "$cache_dir"
  tar -czf "$cache_dir/$RIPGREP_TARBALL" -C "$staging" rg
  rm -rf "$staging"
}

ensure_node_packages() {
  if [ "$(installed_version code-server)" = "$CODE_SERVER_VERSION" ] &&
    [ "$(installed_version playwright-core)" = "$PLAYWRIGHT_CORE_VERSION" ] &&
    [ -x "$E2E_DIR/node_modules/.bin/code-server" ]; then
    return
  fi
  mkdir -p "$E2E_DIR"
  [ -f "$E2E_DIR/package.json" ] || echo '{ "name": "layerskip-e2e-tools", "private": true }' >"$E2E_DIR/package.json"
  log "npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_CORE_VERSION into $E2E_DIR (~2 min)"
  # yes=true: node-pty's postinstall runs `npx node-gyp`. --unsafe-perm: code-server's postinstall refuses root.
  (cd "$E2E_DIR" && npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm --save-exact \
    --loglevel=error "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_CORE_VERSION" >&2)
}

ensure_apt_packages
ensure_ripgrep_cache
ensure_node_packages
log "ready: $E2E_DIR/node_modules/.bin/code-server, $(command -v chromium)"
