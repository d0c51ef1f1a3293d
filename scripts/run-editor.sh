#!/usr/bin/env bash
# `npm start`: builds and packages the extension, then runs it in a real editor.
#   - `code` on PATH (and LAYERSKIP_EDITOR is not code-server): installs the .vsix into it and opens the workspace.
#   - otherwise: code-server 4.100.3 (installed by scripts/setup-e2e.sh) on 127.0.0.1:${LAYERSKIP_PORT:-8080} with
#     the .vsix installed; prints the URL and runs in the foreground until Ctrl+C.
# Usage: npm start [-- <folder to open>]   (default: a small sample workspace in .e2e/editor/workspace)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[start] %s\n' "$*" >&2; }

# The bundled default model (media/models/default, packed into the .vsix); idempotent, seconds when up to date.
npm run setup-model

npm run package --silent
VSIX="$(node --import tsx -e 'console.log(require("./scripts/package.ts").vsixPath())')"

EDITOR_DIR="$ROOT/.e2e/editor"
WORKSPACE="${1:-$EDITOR_DIR/workspace}"
if [ $# -eq 0 ] && [ ! -d "$WORKSPACE" ]; then
  mkdir -p "$WORKSPACE"
  printf 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n' >"$WORKSPACE/example.py"
  printf 'export function isPrime(n: number): boolean {\n' >"$WORKSPACE/example.ts"
fi
WORKSPACE="$(cd "$WORKSPACE" && pwd)"

if command -v code >/dev/null && [ "${LAYERSKIP_EDITOR:-}" != code-server ]; then
  log "installing $VSIX into VS Code (code) and opening $WORKSPACE"
  code --install-extension "$VSIX" --force
  exec code "$WORKSPACE"
fi

bash "$ROOT/scripts/setup-e2e.sh"
CODE_SERVER="$ROOT/.e2e/node_modules/.bin/code-server"
PORT="${LAYERSKIP_PORT:-8080}"
mkdir -p "$EDITOR_DIR/data/User" "$EDITOR_DIR/extensions"
SETTINGS="$EDITOR_DIR/data/User/settings.json"
[ -f "$SETTINGS" ] || cat >"$SETTINGS" <<'EOF'
{
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "extensions.autoCheckUpdates": false,
  "update.mode": "none"
}
EOF
DIRS=(--extensions-dir "$EDITOR_DIR/extensions" --user-data-dir "$EDITOR_DIR/data")
export XDG_CONFIG_HOME="$EDITOR_DIR/xdg" XDG_DATA_HOME="$EDITOR_DIR/xdg-data"
"$CODE_SERVER" "${DIRS[@]}" --install-extension "$VSIX" --force >&2

URL="http://127.0.0.1:$PORT/?folder=$(node -p 'encodeURIComponent(process.argv[1])' "$WORKSPACE")"
log "code-server with LayerSkip installed; open in a browser on this machine:"
printf '\n    %s\n\n' "$URL"
log "(Ctrl+C stops it; LAYERSKIP_PORT=<port> npm start picks another port)"
exec "$CODE_SERVER" "${DIRS[@]}" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust --disable-getting-started-override "$WORKSPACE"
