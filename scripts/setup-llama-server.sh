#!/usr/bin/env bash
# llama.cpp's OpenAI-compatible server for the remote-backend tests and `npm run bench:remote` (docs/team-server.md):
# llama-cpp-python[server] from PyPI, which compiles llama.cpp at install (~10 minutes on 2 cores), so it goes once
# into a cached venv outside the extension's dependencies and is reused until the pinned version changes.
#   LAYERSKIP_LLAMA_SERVER_VENV  where the venv lives (default: ~/.cache/layerskip/llama-server-venv)
# Prints the venv's python on stdout; `python -m llama_cpp.server --model X.gguf --port N` starts a server.
set -euo pipefail
log() { printf '[setup-llama-server] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

VERSION=0.3.36
VENV="${LAYERSKIP_LLAMA_SERVER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/layerskip/llama-server-venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.layerskip-stamp"
WANT="llama-cpp-python[server]==$VERSION"
# x86-64 with AVX2, not GGML_NATIVE: on these VMs the CPU reports AMX, which a native build uses and the kernel then
# refuses ("Illegal instruction" at the first matrix product). Elsewhere (ARM) llama.cpp's defaults apply.
if [ "$(uname -m)" = x86_64 ]; then
  CMAKE_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
  grep -qw avx2 /proc/cpuinfo || die "this CPU has no AVX2, which the llama.cpp build here assumes"
else
  CMAKE_FLAGS=""
fi
WANT_STAMP="$WANT cmake $CMAKE_FLAGS"

if [ -x "$PY" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT_STAMP" ] && "$PY" -c 'import llama_cpp.server' 2>/dev/null; then
  echo "$PY"; exit 0
fi
log "installing $WANT into $VENV (compiles llama.cpp: ~10 minutes on 2 cores, once)"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV" || die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "$PY" -m pip install --quiet --disable-pip-version-check --no-cache-dir "$WANT" </dev/null \
  || die "pip install $WANT failed (needs a C++ compiler and cmake: apt-get install build-essential cmake)"
"$PY" -c 'import llama_cpp.server' || die "llama_cpp.server does not import after the install"
echo "$WANT_STAMP" > "$STAMP"
echo "$PY"
