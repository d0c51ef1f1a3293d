#!/usr/bin/env bash
# Installs what the training tests need (Debian's torch is for /usr/bin/python3, not pyenv's python3) and runs them.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
missing=()
$PY -c 'import torch' 2>/dev/null || missing+=(python3-torch)
$PY -c 'import pytest' 2>/dev/null || missing+=(python3-pytest)
$PY -c 'import numpy' 2>/dev/null || missing+=(python3-numpy)
$PY -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
# Debian's torch otherwise runs on the reference BLAS (~40x slower matmuls).
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # another process may hold the dpkg lock for a while: retry
  for i in 1 2 3 4 5 6; do apt-get install -y -q "${missing[@]}" && break; sleep 20; done
fi
# The tokenizers package (for the FIM-token test and the real pipeline) lives in a venv over the system torch.
if [ ! -x .venv/bin/python ]; then
  $PY -m venv --system-site-packages .venv
fi
.venv/bin/python -c 'import tokenizers' 2>/dev/null || .venv/bin/pip install -q tokenizers==0.23.3 \
  || echo "check.sh: tokenizers not installable, its test will be skipped"
exec .venv/bin/python -m pytest -q tests "$@"
